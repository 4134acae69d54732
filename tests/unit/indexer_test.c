/* Unit tests for indexer.c: triggers, partitions, checkpoint delta, cuts. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapping/config.h"
#include "base/fsutil.h"
#include "pipeline/indexer.h"
#include "mapping/partition.h"
#include "tap.h"

static struct index_config *make_config(const char *extra_doc_mapping, const char *settings)
{
	struct qw_err err = QW_ERR_INIT;
	json_error_t je;
	char text[2048];
	json_t *root;
	struct index_config *cfg;

	snprintf(text, sizeof(text),
		 "{\"version\":\"0.8\",\"index_id\":\"test-index\","
		 "\"doc_mapping\":{\"mode\":\"dynamic\",\"field_mappings\":["
		 "{\"name\":\"ts\",\"type\":\"datetime\",\"fast\":true,"
		 "\"input_formats\":[\"unix_timestamp\"]},"
		 "{\"name\":\"tenant\",\"type\":\"text\",\"tokenizer\":\"raw\"},"
		 "{\"name\":\"msg\",\"type\":\"text\"}],"
		 "\"timestamp_field\":\"ts\"%s},"
		 "\"indexing_settings\":{%s}}",
		 extra_doc_mapping, settings);
	root = json_loads(text, 0, &je);
	if (!root) {
		fprintf(stderr, "bad test config json: %s\n", je.text);
		exit(2);
	}
	cfg = config_from_json(root, &err);
	json_decref(root);
	if (!cfg) {
		fprintf(stderr, "test config rejected: %s\n", err.msg);
		exit(2);
	}
	return cfg;
}

static struct indexer *make_indexer(struct index_config *cfg, const char *scratch)
{
	struct qw_err err = QW_ERR_INIT;
	struct indexer_opts o;
	struct indexer *ix;

	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.scratch_dir = scratch;
	o.publish_token = "tok1";
	ix = indexer_new(&o, &err);
	if (!ix) {
		fprintf(stderr, "indexer_new: %s\n", err.msg);
		exit(2);
	}
	return ix;
}

static enum indexer_trigger add(struct indexer *ix, const char *line)
{
	struct qw_err err = QW_ERR_INIT;
	enum indexer_trigger t = TRIGGER_NONE;

	if (indexer_add_line(ix, line, strlen(line), &t, &err) < 0) {
		fprintf(stderr, "indexer_add_line: %s\n", err.msg);
		exit(2);
	}
	return t;
}

static int checkpoint(struct indexer *ix, const char *part, long long from, long long to,
		      struct qw_err *err)
{
	json_t *rec = json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", "checkpoint", "source", "src1",
				"partition", part, "from", (json_int_t)from, "to", (json_int_t)to);
	int ret = indexer_checkpoint(ix, rec, err);

	json_decref(rec);
	return ret;
}

static json_t *cut(struct indexer *ix, enum indexer_trigger t)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *rec = NULL;

	if (indexer_cut(ix, t, &rec, &err) < 0) {
		fprintf(stderr, "indexer_cut: %s\n", err.msg);
		exit(2);
	}
	return rec;
}

static json_int_t geti(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static int dir_has_segment(json_t *split)
{
	const char *dir = json_string_value(json_object_get(split, "dir"));
	struct stat st;

	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
	char tmpl[] = "/tmp/indexer_test.XXXXXX";
	char *scratch = mkdtemp(tmpl);
	struct qw_err err = QW_ERR_INIT;
	struct index_config *cfg;
	struct indexer *ix;
	json_t *rec, *sp, *delta;
	int fired_at[3], n_fired = 0;

	if (!scratch) {
		perror("mkdtemp");
		return 2;
	}

	/* num_docs: split_num_docs_target 3 fires on the 3rd and 6th doc */
	cfg = make_config("", "\"split_num_docs_target\":3");
	ix = make_indexer(cfg, scratch);
	for (int i = 1; i <= 7; i++) {
		char line[128];

		snprintf(line, sizeof(line), "{\"ts\":%d,\"tenant\":\"a\",\"msg\":\"hello %d\"}",
			 1600000000 + i, i);
		if (add(ix, line) == TRIGGER_NUM_DOCS) {
			if (n_fired < 3)
				fired_at[n_fired] = i;
			n_fired++;
			json_decref(cut(ix, TRIGGER_NUM_DOCS));
		}
	}
	ok(n_fired == 2 && fired_at[0] == 3 && fired_at[1] == 6,
	   "num_docs fires on the 3rd and the 6th document (fired %d times)", n_fired);
	ok(indexer_num_docs(ix) == 1, "one document left in the workbench");

	/* invalid lines are counted, not fatal */
	ok(add(ix, "this is not json") == TRIGGER_NONE, "a line that is not JSON is no trigger");
	ok(add(ix, "{\"tenant\":\"a\"}") == TRIGGER_NONE, "a doc without timestamp is no trigger");
	ok(add(ix, "   ") == TRIGGER_NONE, "a blank line is ignored");
	ok(indexer_num_docs(ix) == 1, "invalid lines are not indexed");

	/* checkpoint delta: merged per partition, contiguous */
	ok(checkpoint(ix, "/f1", 0, 100, &err) == 0, "first checkpoint of /f1");
	ok(checkpoint(ix, "/f1", 100, 250, &err) == 0, "contiguous checkpoint of /f1");
	ok(checkpoint(ix, "/f2", 10, 20, &err) == 0, "checkpoint of /f2");
	ok(checkpoint(ix, "/f1", 300, 400, &err) < 0 && err.code == EX_DATAERR,
	   "a gap in /f1 is refused: %s", err.msg);
	err_clear(&err);
	ok(checkpoint(ix, "/f2", 20, 19, &err) < 0 && err.code == EX_DATAERR,
	   "to before from is refused");
	err_clear(&err);
	{
		json_t *bad = json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", "checkpoint", "source",
					"other", "partition", "/f3", "from", (json_int_t)0, "to",
					(json_int_t)1);

		ok(indexer_checkpoint(ix, bad, &err) < 0 && err.code == EX_DATAERR,
		   "a checkpoint of another source is refused");
		err_clear(&err);
		json_decref(bad);
	}
	{
		/* the head of the last record of a partition goes into its delta entry */
		json_t *h = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "type", "checkpoint", "source",
				      "src1", "partition", "/f1", "from", (json_int_t)250, "to",
				      (json_int_t)250, "head", "250:0123456789abcdef");

		ok(indexer_checkpoint(ix, h, &err) == 0, "a checkpoint with a head");
		json_decref(h);
	}
	rec = cut(ix, TRIGGER_FORCE);
	ok(rec != NULL, "force cut gives a record");
	ok(strcmp(json_string_value(json_object_get(rec, "trigger")), "force") == 0,
	   "the record names its trigger");
	ok(strcmp(json_string_value(json_object_get(rec, "type")), "split") == 0 &&
	   strcmp(json_string_value(json_object_get(rec, "index")), "test-index") == 0 &&
	   strcmp(json_string_value(json_object_get(rec, "source")), "src1") == 0 &&
	   strcmp(json_string_value(json_object_get(rec, "publish_token")), "tok1") == 0,
	   "type, index, source (from the checkpoints) and publish token");
	ok(geti(rec, "num_docs") == 1 && geti(rec, "docs_invalid") == 2,
	   "1 doc, 2 invalid lines in the cut");
	delta = json_object_get(rec, "checkpoint_delta");
	ok(json_object_size(delta) == 2 &&
	   geti(json_object_get(delta, "/f1"), "from") == 0 &&
	   geti(json_object_get(delta, "/f1"), "to") == 250 &&
	   geti(json_object_get(delta, "/f2"), "from") == 10 &&
	   geti(json_object_get(delta, "/f2"), "to") == 20,
	   "checkpoint delta merged: /f1 0..250, /f2 10..20");
	ok(json_is_string(json_object_get(json_object_get(delta, "/f1"), "head")) &&
	   strcmp(json_string_value(json_object_get(json_object_get(delta, "/f1"), "head")),
		  "250:0123456789abcdef") == 0 &&
	   !json_object_get(json_object_get(delta, "/f2"), "head"),
	   "the delta carries the head of the last checkpoint of /f1, none for /f2");
	sp = json_array_get(json_object_get(rec, "splits"), 0);
	ok(json_array_size(json_object_get(rec, "splits")) == 1 && dir_has_segment(sp),
	   "one split, serialized to its directory");
	ok(geti(json_object_get(sp, "time_range"), "start") == (json_int_t)1600000007 * 1000000 &&
	   geti(json_object_get(sp, "time_range"), "end") == (json_int_t)1600000007 * 1000000,
	   "time range of the split in microseconds");
	ok(geti(sp, "partition_id") == 0, "no partition key: partition 0");
	json_decref(rec);

	/* nothing pending: no record; a delta alone: splits [] */
	ok(cut(ix, TRIGGER_NO_MORE_DOCS) == NULL, "an empty workbench cuts to nothing");
	ok(indexer_timeout_deadline(ix) == -1, "no timeout deadline when empty");
	checkpoint(ix, "/f1", 250, 260, &err);
	ok(indexer_timeout_deadline(ix) >= 0, "a checkpoint starts the timeout clock");
	add(ix, "not json either");
	rec = cut(ix, TRIGGER_TIMEOUT);
	ok(rec && json_array_size(json_object_get(rec, "splits")) == 0 &&
	   geti(json_object_get(json_object_get(rec, "checkpoint_delta"), "/f1"), "to") == 260 &&
	   geti(rec, "docs_invalid") == 1,
	   "only invalid docs: a record with no split that still carries the delta");
	json_decref(rec);
	indexer_free(ix);
	config_free(cfg);

	/* partitions: max_num_partitions 2, tenants a b c d -> a, b, other(c, d) */
	cfg = make_config(",\"partition_key\":\"tenant\",\"max_num_partitions\":2",
			  "\"commit_timeout_secs\":30");
	ix = make_indexer(cfg, scratch);
	{
		const char *tenants[] = { "a", "b", "c", "d", "a", "c", "b", "d", "d" };
		int other_docs = 0, a_docs = 0;
		size_t i;
		json_t *s;

		for (i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++) {
			char line[128];

			snprintf(line, sizeof(line), "{\"ts\":%zu,\"tenant\":\"%s\"}",
				 1600000000 + i, tenants[i]);
			add(ix, line);
		}
		ok(indexer_num_partitions(ix) == 3, "2 partitions + the overflow one (%zu)",
		   indexer_num_partitions(ix));
		ok(indexer_timeout_deadline(ix) > 0, "timeout deadline set by the first doc");
		rec = cut(ix, TRIGGER_NO_MORE_DOCS);
		ok(json_array_size(json_object_get(rec, "splits")) == 3, "a cut takes every partition");
		json_array_foreach(json_object_get(rec, "splits"), i, s) {
			if ((uint64_t)geti(s, "partition_id") == PARTITION_OTHER_ID)
				other_docs = (int)geti(s, "num_docs");
			if (i == 0)
				a_docs = (int)geti(s, "num_docs");
		}
		ok(other_docs == 5, "the overflow partition holds the 5 docs of c and d (%d)",
		   other_docs);
		ok(a_docs == 2, "partition of 'a' holds its 2 docs");
		ok(geti(rec, "num_docs") == 9, "9 docs in all");
		json_decref(rec);
	}
	indexer_free(ix);
	config_free(cfg);

	/* memory: a tiny heap budget fires at once */
	cfg = make_config("", "\"split_num_docs_target\":1000000");
	cfg->heap_size = 1;
	ix = make_indexer(cfg, scratch);
	ok(add(ix, "{\"ts\":1600000000,\"msg\":\"x\"}") == TRIGGER_MEMORY,
	   "memory fires when the segments reach heap_size");
	indexer_free(ix);
	config_free(cfg);

	ok(strcmp(indexer_trigger_name(TRIGGER_DRAINED), "drained") == 0 &&
	   strcmp(indexer_trigger_name(TRIGGER_NO_MORE_DOCS), "no_more_docs") == 0,
	   "trigger names");

	fsutil_rm_rf(scratch, NULL);
	return tap_done();
}
