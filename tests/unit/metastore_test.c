/*
 * metastore_test: the file metastore: create/list/delete/clear, id checks,
 * corrupt files, publish refusals and token fencing, and concurrent writers
 * from 8 processes that must not lose any of their 1600 updates.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "tap.h"
#include "base/xalloc.h"

#define N_PROCS 8
#define N_UPDATES 200

static struct index_config *make_config(const char *index_id)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *j = json_pack("{s:s, s:s, s:{s:[{s:s, s:s}, {s:s, s:s, s:b}], s:s}}",
			      "version", "0.8", "index_id", index_id, "doc_mapping",
			      "field_mappings", "name", "body", "type", "text",
			      "name", "ts", "type", "datetime", "fast", 1,
			      "timestamp_field", "ts");
	struct index_config *cfg = config_from_json(j, &err);

	if (!cfg)
		tap_diag("config_from_json: %s", err.msg);
	json_decref(j);
	return cfg;
}

static char *ms_file(struct metastore *ms, const char *id)
{
	char *dir = metastore_index_dir(ms, id);
	char *path = fsutil_join(dir, "metastore.json");

	free(dir);
	return path;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static bool same_content(const char *path, const struct buf *before)
{
	struct buf now = BUF_INIT;
	bool same = fsutil_read_all(path, &now, NULL) == 0 && now.len == before->len &&
		    memcmp(now.data, before->data, now.len) == 0;

	buf_free(&now);
	return same;
}

static int incr_tx(json_t *doc, void *ctx, struct qw_err *err)
{
	const char *key = ctx;
	json_t *cps = json_object_get(doc, "checkpoints");
	json_t *cp = json_object_get(cps, "concurrency");

	(void)err;
	if (!cp) {
		cp = json_object();
		json_object_set_new(cps, "concurrency", cp);
	}
	json_object_set_new(cp, key, json_integer(json_integer_value(json_object_get(cp, key)) + 1));
	json_object_set_new(cp, "total",
			    json_integer(json_integer_value(json_object_get(cp, "total")) + 1));
	return 0;
}

static int abort_tx(json_t *doc, void *ctx, struct qw_err *err)
{
	(void)ctx;
	json_object_set_new(doc, "splits", json_object());
	return err_set(err, EX_DATAERR, "aborted on purpose");
}

static void test_concurrency(struct metastore *ms, const char *id)
{
	pid_t pids[N_PROCS];
	bool all_ok = true;
	json_t *doc, *cp;
	int good = 0;

	for (int p = 0; p < N_PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			struct qw_err err = QW_ERR_INIT;
			char key[32];

			snprintf(key, sizeof(key), "proc-%d", p);
			for (int i = 0; i < N_UPDATES; i++)
				if (metastore_update(ms, id, incr_tx, key, &err) < 0) {
					fprintf(stderr, "child %d: %s\n", p, err.msg);
					_exit(1);
				}
			_exit(0);
		}
		if (pids[p] < 0)
			all_ok = false;
	}
	for (int p = 0; p < N_PROCS; p++) {
		int st;

		if (pids[p] > 0 && (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) ||
				    WEXITSTATUS(st) != 0))
			all_ok = false;
	}
	ok(all_ok, "8 processes did 200 updates each without an error");
	doc = metastore_read(ms, id, NULL);
	cp = json_object_get(json_object_get(doc, "checkpoints"), "concurrency");
	for (int p = 0; p < N_PROCS; p++) {
		char key[32];

		snprintf(key, sizeof(key), "proc-%d", p);
		if (json_integer_value(json_object_get(cp, key)) == N_UPDATES)
			good++;
	}
	ok(good == N_PROCS, "every process's 200 updates are there (%d of 8 complete)", good);
	ok(json_integer_value(json_object_get(cp, "total")) == N_PROCS * N_UPDATES,
	   "the shared counter is 1600 (got %lld)",
	   (long long)json_integer_value(json_object_get(cp, "total")));
	json_decref(doc);
}

static json_t *split_meta(const char *id)
{
	return json_pack("{s:s, s:i, s:{s:i, s:i}}", "split_id", id, "num_docs", 10,
			 "time_range", "start", 100, "end", 200);
}

static const char *state_of(json_t *doc, const char *split)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(doc, "splits"), split), "split_state"));
}

static const char *str_or_empty(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static void test_publish(struct metastore *ms, const char *id)
{
	struct qw_err err = QW_ERR_INIT;
	char a[ULID_LEN + 1], b[ULID_LEN + 1];
	char *t1, *t2;
	char *path = NULL;
	struct buf before = BUF_INIT;
	json_t *metas, *doc, *delta, *cp;
	const char *ids[1];
	int r;

	ids_ulid_new(a, NULL);
	ids_ulid_new(b, NULL);
	path = ms_file(ms, id);

	t1 = metastore_new_publish_token(ms, id, "src", &err);
	ok(t1 != NULL, "a publish token is issued (%s)", err.msg);
	metas = json_pack("[o]", split_meta(a));
	ok(metastore_stage_splits(ms, id, t1, metas, &err) == 0, "split A is staged (%s)", err.msg);
	json_decref(metas);
	doc = metastore_read(ms, id, NULL);
	ok(state_of(doc, a) && !strcmp(state_of(doc, a), SPLIT_STAGED), "split A is Staged");
	json_decref(doc);

	/* A new generation fences the old token. */
	t2 = metastore_new_publish_token(ms, id, "src", &err);
	ok(t2 && strcmp(t1, t2) != 0, "a second token differs from the first");
	fsutil_read_all(path, &before, NULL);
	ids[0] = a;
	delta = json_pack("{s:{s:i, s:i}}", "part-1", "from", 0, "to", 100);
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t1, ids, 1, delta, &err);
	ok(r < 0 && err.code == EX_TEMPFAIL, "a publish with the fenced token is refused (%d)", err.code);
	ok(strstr(err.msg, "stale") != NULL, "the message says the token is stale: %s", err.msg);
	ok(same_content(path, &before), "a refused publish changes nothing");

	/* A split staged by the old generation cannot be published by the new one. */
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, ids, 1, delta, &err);
	ok(r < 0 && err.code == EX_TEMPFAIL, "a split staged by an older generation is refused");
	ok(same_content(path, &before), "and nothing changed");

	/* Unknown split. */
	ids[0] = b;
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, ids, 1, delta, &err);
	ok(r < 0 && err.code == EX_TEMPFAIL, "publishing a split that is not staged is refused");
	ok(same_content(path, &before), "and nothing changed");

	/* Stage B with the current token and publish it. */
	metas = json_pack("[o]", split_meta(b));
	ok(metastore_stage_splits(ms, id, t2, metas, &err) == 0, "split B is staged");
	json_decref(metas);
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, ids, 1, delta, &err);
	ok(r == 0, "split B is published with the current token (%s)", err.msg);
	doc = metastore_read(ms, id, NULL);
	ok(state_of(doc, b) && !strcmp(state_of(doc, b), SPLIT_PUBLISHED), "split B is Published");
	ok(json_is_integer(json_object_get(json_object_get(doc, "splits"), b) ?
			   json_object_get(json_object_get(json_object_get(doc, "splits"), b),
					   "publish_timestamp") : NULL),
	   "split B has a publish timestamp");
	json_decref(doc);
	cp = metastore_checkpoint(ms, id, "src", NULL);
	ok(json_integer_value(json_object_get(cp, "part-1")) == 100,
	   "the checkpoint moved to 100");
	json_decref(cp);

	/* Staging again: a Staged split is updated, a Published one refused. */
	metas = json_pack("[o]", split_meta(b));
	err_clear(&err);
	ok(metastore_stage_splits(ms, id, t2, metas, &err) < 0 && err.code == EX_DATAERR,
	   "staging a published split again is refused (%s)", err.msg);
	json_decref(metas);
	metas = json_pack("[o]", split_meta(a));
	err_clear(&err);
	ok(metastore_stage_splits(ms, id, t1, metas, &err) == 0, "re-staging a staged split is allowed");
	json_decref(metas);

	/* Same delta again: from 0 no longer matches 100. */
	buf_reset(&before);
	fsutil_read_all(path, &before, NULL);
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, NULL, 0, delta, &err);
	ok(r < 0 && err.code == EX_TEMPFAIL, "a delta whose from does not match is refused");
	ok(strstr(err.msg, "starts at 0") && strstr(err.msg, "100"),
	   "the message gives both positions: %s", err.msg);
	ok(same_content(path, &before), "and nothing changed");
	json_decref(delta);

	/* Publishing an already published split. */
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, ids, 1, NULL, &err);
	ok(r < 0 && err.code == EX_TEMPFAIL, "publishing a published split again is refused");

	/* A delta that goes backwards. */
	delta = json_pack("{s:{s:i, s:i}}", "part-1", "from", 100, "to", 50);
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, NULL, 0, delta, &err);
	ok(r < 0 && err.code == EX_TEMPFAIL, "a delta with to < from is refused");
	json_decref(delta);

	/* A checkpoint-only publish that matches. */
	delta = json_pack("{s:{s:i, s:i}, s:{s:i, s:i}}", "part-1", "from", 100, "to", 150,
			  "part-2", "from", 0, "to", 7);
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, NULL, 0, delta, &err);
	ok(r == 0, "a matching checkpoint-only delta is applied (%s)", err.msg);
	json_decref(delta);
	cp = metastore_checkpoint(ms, id, "src", NULL);
	ok(json_integer_value(json_object_get(cp, "part-1")) == 150 &&
	   json_integer_value(json_object_get(cp, "part-2")) == 7, "both partitions advanced");
	json_decref(cp);
	cp = metastore_checkpoint(ms, id, "other", NULL);
	ok(json_is_object(cp) && json_object_size(cp) == 0, "an unknown source has an empty checkpoint");
	json_decref(cp);

	/* The head of a delta entry is stored with the position; none keeps the last one. */
	cp = metastore_checkpoint_heads(ms, id, "src", NULL);
	ok(json_is_object(cp) && json_object_size(cp) == 0, "no head published yet");
	json_decref(cp);
	delta = json_pack("{s:{s:i, s:i, s:s}}", "part-1", "from", 150, "to", 160, "head", "160:0123");
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, NULL, 0, delta, &err);
	json_decref(delta);
	delta = json_pack("{s:{s:i, s:i}, s:{s:i, s:i, s:s}}", "part-1", "from", 160, "to", 170,
			  "part-2", "from", 7, "to", 8, "head", "8:89ab");
	r = r || metastore_publish_splits(ms, id, "src", t2, NULL, 0, delta, &err);
	json_decref(delta);
	ok(r == 0, "deltas with heads are applied (%s)", err.msg);
	cp = metastore_checkpoint_heads(ms, id, "src", NULL);
	ok(cp && json_object_size(cp) == 2 &&
	   strcmp(str_or_empty(json_object_get(cp, "part-1")), "160:0123") == 0 &&
	   strcmp(str_or_empty(json_object_get(cp, "part-2")), "8:89ab") == 0,
	   "the heads are stored per partition, a delta without one keeps it");
	json_decref(cp);
	cp = metastore_checkpoint(ms, id, "src", NULL);
	ok(json_integer_value(json_object_get(cp, "part-1")) == 170, "positions still move with heads");
	json_decref(cp);
	{
		json_t *h = NULL;

		cp = metastore_checkpoint_with_heads(ms, id, "src", &h, NULL);
		ok(cp && h && json_integer_value(json_object_get(cp, "part-1")) == 170 &&
		   json_integer_value(json_object_get(cp, "part-2")) == 8 &&
		   strcmp(str_or_empty(json_object_get(h, "part-1")), "160:0123") == 0 &&
		   strcmp(str_or_empty(json_object_get(h, "part-2")), "8:89ab") == 0,
		   "positions and heads come together from one read");
		json_decref(cp);
		json_decref(h);
		cp = metastore_checkpoint_with_heads(ms, id, "other", &h, NULL);
		ok(cp && h && json_object_size(cp) == 0 && json_object_size(h) == 0,
		   "an unknown source has neither");
		json_decref(cp);
		json_decref(h);
	}
	delta = json_pack("{s:{s:i, s:i, s:s}}", "part-1", "from", 100, "to", 180, "head", "1:ff");
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, NULL, 0, delta, &err);
	json_decref(delta);
	cp = metastore_checkpoint_heads(ms, id, "src", NULL);
	ok(r < 0 && strcmp(str_or_empty(json_object_get(cp, "part-1")), "160:0123") == 0,
	   "a refused publish stores no head");
	json_decref(cp);

	/* A source without a token. */
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "other", t2, NULL, 0, NULL, &err);
	ok(r < 0 && err.code == EX_TEMPFAIL, "a source without a token cannot publish");

	/* Split ids must be ULIDs. */
	ids[0] = "../../etc/passwd";
	err_clear(&err);
	r = metastore_publish_splits(ms, id, "src", t2, ids, 1, NULL, &err);
	ok(r < 0 && err.code == EX_USAGE, "a split id that is not a ULID is rejected");
	metas = json_pack("[{s:s}]", "split_id", "../x");
	err_clear(&err);
	ok(metastore_stage_splits(ms, id, t2, metas, &err) < 0 && err.code == EX_USAGE,
	   "staging a split id that is not a ULID is rejected");
	json_decref(metas);

	/* Deleting: published must be marked first. */
	{
		char *split_file = metastore_split_path(ms, id, b);
		int fd = open(split_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			close(fd);
		ids[0] = b;
		err_clear(&err);
		ok(metastore_delete_splits(ms, id, ids, 1, &err) < 0,
		   "a published split cannot be deleted before it is marked");
		ok(metastore_mark_splits_for_deletion(ms, id, ids, 1, &err) == 0,
		   "a published split is marked for deletion");
		doc = metastore_read(ms, id, NULL);
		ok(state_of(doc, b) && !strcmp(state_of(doc, b), SPLIT_MARKED),
		   "it is MarkedForDeletion");
		json_decref(doc);
		ok(metastore_delete_splits(ms, id, ids, 1, &err) == 0, "then it can be deleted");
		doc = metastore_read(ms, id, NULL);
		ok(!json_object_get(json_object_get(doc, "splits"), b), "its record is gone");
		json_decref(doc);
		ok(!file_exists(split_file), "its file is gone");
		free(split_file);
	}

	buf_free(&before);
	free(t1);
	free(t2);
	free(path);
}

static void test_corrupt(struct metastore *ms, const char *id)
{
	struct qw_err err = QW_ERR_INIT;
	char *dir = metastore_index_dir(ms, id);
	char *path = fsutil_join(dir, "metastore.json");
	struct buf good = BUF_INIT, bad = BUF_INIT;
	json_t *doc;

	fsutil_read_all(path, &good, NULL);
	buf_add(&bad, good.data, good.len / 2);
	fsutil_write_atomic(path, bad.data, bad.len, NULL);

	doc = metastore_read(ms, id, &err);
	ok(!doc && err.code == EX_DATAERR, "reading a truncated metastore fails with EX_DATAERR");
	ok(strstr(err.msg, path) != NULL, "the message names the file: %s", err.msg);
	err_clear(&err);
	ok(metastore_update(ms, id, incr_tx, "x", &err) < 0 && err.code == EX_DATAERR,
	   "updating a truncated metastore fails with EX_DATAERR");
	ok(same_content(path, &bad), "the truncated file is not overwritten");
	err_clear(&err);
	ok(metastore_clear_index(ms, id, &err) < 0 && err.code == EX_DATAERR,
	   "clearing a truncated metastore fails");
	ok(same_content(path, &bad), "the truncated file is still not overwritten");

	buf_reset(&bad);
	buf_adds(&bad, "[1, 2, 3]\n");
	fsutil_write_atomic(path, bad.data, bad.len, NULL);
	err_clear(&err);
	ok(!metastore_read(ms, id, &err) && err.code == EX_DATAERR,
	   "a metastore that is JSON but not an object fails with EX_DATAERR");

	fsutil_write_atomic(path, good.data, good.len, NULL);
	buf_free(&good);
	buf_free(&bad);
	free(path);
	free(dir);
}

int main(void)
{
	struct qw_err err = QW_ERR_INIT;
	/* tmpfs when there is one: fsync is free there, the locking is the same. */
	char tmpl_shm[] = "/dev/shm/metastore_test.XXXXXX";
	char tmpl_tmp[] = "/tmp/metastore_test.XXXXXX";
	char *root = mkdtemp(tmpl_shm);
	struct metastore *ms;
	struct index_config *cfg = NULL, *cfg2 = NULL;
	char **ids = NULL;
	size_t n = 0;
	json_t *doc;
	char *dir, *long_id;
	const char *bad_ids[3];

	if (!root)
		root = mkdtemp(tmpl_tmp);
	if (!root) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	setenv("QW_DATA_DIR", "/nonexistent/from-env", 1);
	ms = metastore_open(NULL, &err);
	ok(ms && !strcmp(metastore_data_dir(ms), "/nonexistent/from-env"),
	   "without a data dir, QW_DATA_DIR is used");
	ok(ms && metastore_list_indexes(ms, &ids, &n, &err) == 0 && n == 0,
	   "a data dir that does not exist has no indexes and is not created");
	metastore_close(ms);
	unsetenv("QW_DATA_DIR");
	ms = metastore_open(NULL, &err);
	ok(ms && !strcmp(metastore_data_dir(ms), "./qwdata"), "the default is ./qwdata");
	metastore_close(ms);
	ms = metastore_open(root, &err);
	ok(ms != NULL, "metastore_open");
	ok(!strcmp(metastore_data_dir(ms), root), "the data dir is the one given");
	ok(metastore_list_indexes(ms, &ids, &n, &err) == 0 && n == 0,
	   "an empty data dir has no indexes");
	metastore_free_list(ids, n);

	cfg = make_config("logs-b");
	cfg2 = make_config("logs-a");
	if (!cfg || !cfg2) {
		ok(0, "configs");
		return tap_done();
	}
	ok(metastore_create_index(ms, cfg, false, &err) == 0, "an index is created (%s)", err.msg);
	ok(metastore_index_exists(ms, "logs-b"), "it exists");
	ok(metastore_create_index(ms, cfg, false, &err) < 0 && err.code == EX_CANTCREAT,
	   "creating it again fails with EX_CANTCREAT");
	ok(strstr(err.msg, "already exists") != NULL, "saying it already exists: %s", err.msg);
	err_clear(&err);
	ok(metastore_create_index(ms, cfg, true, &err) == 0, "overwrite replaces it");
	ok(metastore_create_index(ms, cfg2, false, &err) == 0, "a second index is created");
	ok(metastore_list_indexes(ms, &ids, &n, &err) == 0 && n == 2 &&
	   !strcmp(ids[0], "logs-a") && !strcmp(ids[1], "logs-b"), "list is sorted");
	metastore_free_list(ids, n);

	doc = metastore_read(ms, "logs-b", &err);
	ok(doc && json_integer_value(json_object_get(doc, "format_version")) == 1,
	   "the metadata has format_version 1");
	ok(!strncmp(json_string_value(json_object_get(doc, "index_uid")), "logs-b:", 7),
	   "index_uid starts with the index id");
	ok(!strcmp(json_string_value(json_object_get(
			   json_object_get(doc, "index_config"), "index_id")), "logs-b"),
	   "the stored config has the index id");
	json_decref(doc);
	{
		struct index_config *back = metastore_index_config(ms, "logs-b", &err);

		ok(back && back->timestamp_field && !strcmp(back->timestamp_field, "ts"),
		   "the stored config parses back (%s)", err.msg);
		config_free(back);
	}

	/* Invalid ids never reach the file system. */
	long_id = xmalloc(301);
	memset(long_id, 'a', 300);
	long_id[300] = '\0';
	bad_ids[0] = "../x";
	bad_ids[1] = "";
	bad_ids[2] = long_id;
	for (int i = 0; i < 3; i++) {
		err_clear(&err);
		ok(!metastore_read(ms, bad_ids[i], &err) && err.code == EX_USAGE,
		   "read rejects id #%d: %s", i, err.msg);
		err_clear(&err);
		ok(metastore_delete_index(ms, bad_ids[i], &err) < 0 && err.code == EX_USAGE,
		   "delete rejects id #%d", i);
		err_clear(&err);
		ok(metastore_clear_index(ms, bad_ids[i], &err) < 0 && err.code == EX_USAGE,
		   "clear rejects id #%d", i);
		err_clear(&err);
		ok(metastore_update(ms, bad_ids[i], incr_tx, "x", &err) < 0 && err.code == EX_USAGE,
		   "update rejects id #%d", i);
		ok(!metastore_index_exists(ms, bad_ids[i]), "exists is false for id #%d", i);
	}
	free(long_id);

	err_clear(&err);
	ok(!metastore_read(ms, "nope-index", &err) && err.code == EX_NOINPUT,
	   "an unknown index is EX_NOINPUT");
	ok(strstr(err.msg, "'nope-index' does not exist") != NULL, "message: %s", err.msg);
	err_clear(&err);
	ok(metastore_update(ms, "nope-index", incr_tx, "x", &err) < 0 && err.code == EX_NOINPUT,
	   "updating an unknown index is EX_NOINPUT");
	err_clear(&err);
	ok(metastore_delete_index(ms, "nope-index", &err) < 0 && err.code == EX_NOINPUT,
	   "deleting an unknown index is EX_NOINPUT");

	{
		struct buf before = BUF_INIT;
		char *path = ms_file(ms, "logs-b");

		fsutil_read_all(path, &before, NULL);
		err_clear(&err);
		ok(metastore_update(ms, "logs-b", abort_tx, NULL, &err) < 0 &&
		   !strcmp(err.msg, "aborted on purpose"), "an aborted transaction returns its error");
		ok(same_content(path, &before), "and changes nothing");
		buf_free(&before);
		free(path);
	}

	test_concurrency(ms, "logs-b");
	test_publish(ms, "logs-b");
	test_corrupt(ms, "logs-b");

	/* Clear keeps the config, drops splits, checkpoints and files. */
	{
		char s[ULID_LEN + 1];
		char *t = metastore_new_publish_token(ms, "logs-b", "src", NULL);
		json_t *metas;
		char *split_file;
		int fd;

		ids_ulid_new(s, NULL);
		metas = json_pack("[o]", split_meta(s));
		metastore_stage_splits(ms, "logs-b", t, metas, NULL);
		json_decref(metas);
		split_file = metastore_split_path(ms, "logs-b", s);
		fd = open(split_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			close(fd);
		err_clear(&err);
		ok(metastore_clear_index(ms, "logs-b", &err) == 0, "clear succeeds (%s)", err.msg);
		doc = metastore_read(ms, "logs-b", &err);
		ok(doc && json_object_size(json_object_get(doc, "splits")) == 0 &&
		   json_object_size(json_object_get(doc, "checkpoints")) == 0 &&
		   !json_object_get(doc, "checkpoint_heads"),
		   "clear removes splits, checkpoints and their heads");
		ok(doc && json_object_get(json_object_get(doc, "index_config"), "doc_mapping"),
		   "clear keeps the config");
		ok(!file_exists(split_file), "clear removes split files");
		json_decref(doc);
		free(split_file);
		free(t);
	}

	dir = metastore_index_dir(ms, "logs-b");
	ok(metastore_delete_index(ms, "logs-b", &err) == 0, "delete succeeds");
	ok(!file_exists(dir), "the index directory is gone");
	ok(!metastore_index_exists(ms, "logs-b"), "the index no longer exists");
	ok(metastore_list_indexes(ms, &ids, &n, &err) == 0 && n == 1 && !strcmp(ids[0], "logs-a"),
	   "list shows the remaining index");
	metastore_free_list(ids, n);
	free(dir);

	config_free(cfg);
	config_free(cfg2);
	metastore_close(ms);
	fsutil_rm_rf(root, NULL);
	return tap_done();
}
