/*
 * metastore_contract_test: the contract of metastore.h, run against one
 * backend named by its URI, so that every backend passes the same checks:
 * $QW_TEST_METASTORE_URI (or argv[1]), by default a fresh file:// data
 * dir. Index ids carry a per-run suffix and are deleted at the end, so a
 * shared database can be used. The oracle is the sequence of calls made
 * here: what was staged, published, marked and deleted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "tap.h"
#include "base/xalloc.h"

#define N_SPLITS 4

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

static json_t *split_meta(const char *id, int num_docs, int start, int end)
{
	return json_pack("{s:s, s:i, s:i, s:{s:i, s:i}, s:[s, s]}", "split_id", id,
			 "num_docs", num_docs, "split_size_bytes", 1000 + num_docs,
			 "time_range", "start", start, "end", end, "tags", "tenant:a", "tenant:b");
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The records in states, as "ID:STATE " joined, for comparing with what the
 * test did. */
static char *listing(struct metastore *ms, const char *index_id, unsigned states)
{
	struct qw_err err = QW_ERR_INIT;
	struct split_record *recs;
	struct buf b = BUF_INIT;
	size_t n;

	if (metastore_list_splits(ms, index_id, states, &recs, &n, &err) < 0) {
		buf_addf(&b, "error: %s", err.msg);
		return buf_detach(&b, NULL);
	}
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s:%s ", recs[i].split_id, split_state_name(recs[i].state));
	metastore_free_splits(recs, n);
	return buf_detach(&b, NULL);
}

static void expect_listing(struct metastore *ms, const char *index_id, unsigned states,
			   char ids[][ULID_LEN + 1], const char *const *state_names, size_t n,
			   const char *what)
{
	struct buf want = BUF_INIT;
	char *got = listing(ms, index_id, states);

	for (size_t i = 0; i < n; i++)
		if (state_names[i])
			buf_addf(&want, "%s:%s ", ids[i], state_names[i]);
	ok(!strcmp(got, buf_str(&want)), "%s", what);
	if (strcmp(got, buf_str(&want)))
		tap_diag("got '%s' want '%s'", got, buf_str(&want));
	free(got);
	buf_free(&want);
}

static void test_indexes(struct metastore *ms, const char *a, const char *b)
{
	struct qw_err err = QW_ERR_INIT;
	struct index_config *ca = make_config(a), *cb = make_config(b), *back;
	char **ids = NULL;
	size_t n = 0, seen = 0;
	json_t *doc;

	ok(!metastore_index_exists(ms, a), "an index not created does not exist");
	ok(metastore_read(ms, a, &err) == NULL && err.code == EX_NOINPUT,
	   "reading an unknown index is EX_NOINPUT");
	err_clear(&err);
	ok(metastore_create_index(ms, ca, false, &err) == 0, "create: %s", err.msg);
	ok(metastore_create_index(ms, cb, false, &err) == 0, "create a second index");
	ok(metastore_create_index(ms, ca, false, &err) < 0 && err.code != 0,
	   "a second create without overwrite is refused");
	err_clear(&err);
	ok(metastore_index_exists(ms, a), "the index exists after create");
	ok(metastore_list_indexes(ms, &ids, &n, &err) == 0, "list indexes");
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(ids[i], a) || !strcmp(ids[i], b))
			seen++;
		if (i > 0)
			ok(strcmp(ids[i - 1], ids[i]) < 0, "the index list is sorted");
	}
	ok(seen == 2, "both indexes are listed");
	metastore_free_list(ids, n);
	back = metastore_index_config(ms, a, &err);
	ok(back && !strcmp(back->index_id, a) && back->timestamp_field &&
	   !strcmp(back->timestamp_field, "ts"), "the stored config reads back");
	config_free(back);
	doc = metastore_read(ms, a, &err);
	ok(doc && json_object_size(json_object_get(doc, "splits")) == 0,
	   "a new index has no split");
	json_decref(doc);
	config_free(ca);
	config_free(cb);
}

static void test_splits(struct metastore *ms, const char *index_id)
{
	struct qw_err err = QW_ERR_INIT;
	char ids[N_SPLITS][ULID_LEN + 1];
	const char *states[N_SPLITS];
	const char *idp[N_SPLITS];
	bool marked[N_SPLITS];
	json_t *metas = json_array(), *delta, *cp;
	struct split_record *recs;
	size_t n;
	char *tok, *tok2;

	for (int i = 0; i < N_SPLITS; i++) {
		ids_ulid_new(ids[i], NULL);
		usleep(2000); /* distinct ULID times make no order assumption here: sorted below */
	}
	qsort(ids, N_SPLITS, sizeof(ids[0]), cmp_id);
	for (int i = 0; i < N_SPLITS; i++) {
		idp[i] = ids[i];
		json_array_append_new(metas, split_meta(ids[i], 10 * (i + 1), 100 * i, 100 * i + 50));
	}
	tok = metastore_new_publish_token(ms, index_id, "src", &err);
	ok(tok != NULL, "a publish token: %s", err.msg);
	ok(metastore_stage_splits(ms, index_id, tok, metas, &err) == 0, "stage %d splits: %s",
	   N_SPLITS, err.msg);
	for (int i = 0; i < N_SPLITS; i++)
		states[i] = SPLIT_STAGED;
	expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, states, N_SPLITS,
		       "every staged split is listed, sorted by id");

	ok(metastore_list_splits(ms, index_id, SPLIT_STATE_STAGED, &recs, &n, &err) == 0 &&
	   n == N_SPLITS, "list the staged splits");
	if (n == N_SPLITS) {
		const struct split_record *r = &recs[1];

		ok(r->num_docs == 20 && r->has_size && r->size_bytes == 1020,
		   "a record carries num_docs and size");
		ok(r->has_time_range && r->time_start == 100 && r->time_end == 150,
		   "a record carries its time range");
		ok(r->n_tags == 2 && !strcmp(r->tags[0], "tenant:a") &&
		   !strcmp(r->tags[1], "tenant:b"), "a record carries its tags");
		ok(r->publish_token && !strcmp(r->publish_token, tok) && r->token_is_current,
		   "a record names the current token that staged it");
		ok(r->has_update_timestamp && !r->has_publish_timestamp,
		   "a staged record has an update time and no publish time");
	}
	metastore_free_splits(recs, n);

	/* publish 0 and 1 with a checkpoint delta */
	delta = json_pack("{s:{s:i, s:i}}", "p0", "from", 0, "to", 42);
	ok(metastore_publish_splits(ms, index_id, "src", tok, idp, 2, delta, &err) == 0,
	   "publish 2 splits: %s", err.msg);
	json_decref(delta);
	states[0] = states[1] = SPLIT_PUBLISHED;
	expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, states, N_SPLITS,
		       "published splits are listed Published");
	{
		const char *only[N_SPLITS] = { SPLIT_PUBLISHED, SPLIT_PUBLISHED, NULL, NULL };

		expect_listing(ms, index_id, SPLIT_STATE_PUBLISHED, ids, only, N_SPLITS,
			       "the state mask filters the listing");
	}
	cp = metastore_checkpoint(ms, index_id, "src", &err);
	ok(cp && json_integer_value(json_object_get(cp, "p0")) == 42,
	   "the checkpoint moved with the publish");
	json_decref(cp);
	delta = json_pack("{s:{s:i, s:i}}", "p0", "from", 0, "to", 50);
	ok(metastore_publish_splits(ms, index_id, "src", tok, idp + 2, 1, delta, &err) < 0 &&
	   err.code == EX_TEMPFAIL, "a delta that does not start at the checkpoint is refused");
	err_clear(&err);
	json_decref(delta);
	expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, states, N_SPLITS,
		       "a refused publish changes nothing");

	/* a new token fences the old one: its staged split is of a dead generation */
	tok2 = metastore_new_publish_token(ms, index_id, "src", &err);
	ok(tok2 && metastore_check_publish_token(ms, index_id, "src", tok, &err) < 0 &&
	   err.code == EX_TEMPFAIL, "a new token fences the old one");
	err_clear(&err);
	ok(metastore_list_splits(ms, index_id, SPLIT_STATE_STAGED, &recs, &n, &err) == 0 &&
	   n == 2 && !recs[0].token_is_current, "a split staged by a fenced token says so");
	metastore_free_splits(recs, n);
	{
		/* a fenced generation cannot stage: nothing is stored for it */
		char late[ULID_LEN + 1];
		json_t *one = json_array();

		ids_ulid_new(late, NULL);
		json_array_append_new(one, split_meta(late, 1, 0, 1));
		json_object_set_new(json_array_get(one, 0), "source_id", json_string("src"));
		ok(metastore_stage_splits(ms, index_id, tok, one, &err) < 0 &&
		   err.code == EX_TEMPFAIL && strstr(err.msg, "fenced by"),
		   "a fenced token cannot stage a split of its source: %s", err.msg);
		err_clear(&err);
		expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, states, N_SPLITS,
			       "and nothing was staged");
		json_decref(one);
	}

	/* mark the unpublished: 1 is published and stays, 2 is staged and is marked */
	ok(metastore_mark_unpublished_for_deletion(ms, index_id, idp + 1, 2, marked, &err) == 0,
	   "mark unpublished: %s", err.msg);
	ok(!marked[0] && marked[1], "only the unpublished split is marked");
	states[2] = SPLIT_MARKED;
	expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, states, N_SPLITS,
		       "a published split is never marked by mark-unpublished");
	ok(metastore_mark_splits_for_deletion(ms, index_id, idp, 1, &err) == 0,
	   "mark a published split for deletion");
	states[0] = SPLIT_MARKED;
	expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, states, N_SPLITS,
		       "mark for deletion marks a published split");
	ok(metastore_delete_splits(ms, index_id, idp + 1, 1, &err) < 0 && err.code == EX_DATAERR,
	   "deleting a published split is refused");
	err_clear(&err);
	ok(metastore_delete_splits(ms, index_id, idp, 1, &err) == 0, "delete a marked split");
	states[0] = NULL;
	expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, states, N_SPLITS,
		       "a deleted split is not listed");
	ok(metastore_mark_unpublished_for_deletion(ms, index_id, idp, 1, marked, &err) == 0 &&
	   !marked[0], "a split that is gone is not marked");
	{
		const char *bad = "not-a-ulid";

		ok(metastore_delete_splits(ms, index_id, &bad, 1, &err) < 0 && err.code == EX_USAGE,
		   "a split id that is not a ULID is refused");
		err_clear(&err);
	}
	ok(metastore_clear_index(ms, index_id, &err) == 0, "clear");
	expect_listing(ms, index_id, SPLIT_STATES_ALL, ids, (const char *[N_SPLITS]){ NULL },
		       N_SPLITS, "a cleared index lists no split");
	cp = metastore_checkpoint(ms, index_id, "src", &err);
	ok(cp && json_object_size(cp) == 0, "a cleared index has no checkpoint");
	json_decref(cp);
	free(tok2);
	free(tok);
	json_decref(metas);
}

/* Delete tasks: opstamps, their records, and the delete_opstamp a publish
 * gives its splits (the tasks before it do not concern them). */
static void test_delete_tasks(struct metastore *ms, const char *index_id)
{
	struct qw_err err = QW_ERR_INIT;
	const char *fields[] = { "body" };
	struct delete_query q = { "body:secret", fields, 1, false, true, 0, 200 };
	char ids[2][ULID_LEN + 1];
	const char *idp[2];
	json_t *task = NULL, *tasks, *metas = json_array(), *doc;
	struct split_record *recs = NULL;
	size_t n = 0;
	char *tok;

	tasks = metastore_list_delete_tasks(ms, index_id, &err);
	ok(tasks && json_array_size(tasks) == 0, "a new index has no delete task: %s", err.msg);
	json_decref(tasks);
	ids_ulid_new(ids[0], NULL);
	usleep(2000);
	ids_ulid_new(ids[1], NULL);
	qsort(ids, 2, sizeof(ids[0]), cmp_id);
	idp[0] = ids[0];
	idp[1] = ids[1];
	tok = metastore_new_publish_token(ms, index_id, "dsrc", &err);
	json_array_append_new(metas, split_meta(ids[0], 5, 0, 10));
	json_array_append_new(metas, split_meta(ids[1], 5, 20, 30));
	ok(tok && metastore_stage_splits(ms, index_id, tok, metas, &err) == 0,
	   "stage 2 splits: %s", err.msg);
	ok(metastore_publish_splits(ms, index_id, "dsrc", tok, idp, 1, NULL, &err) == 0,
	   "publish the first before any task: %s", err.msg);
	ok(metastore_create_delete_task(ms, index_id, &q, &task, &err) == 0,
	   "create a delete task: %s", err.msg);
	ok(json_integer_value(json_object_get(task, "opstamp")) == 1 &&
	   json_is_integer(json_object_get(task, "create_timestamp")),
	   "the first task has opstamp 1 and a create time");
	{
		json_t *dq = json_object_get(task, "delete_query");
		const char *qs = json_string_value(json_object_get(dq, "query"));

		ok(qs && !strcmp(qs, "body:secret") &&
		   json_is_null(json_object_get(dq, "start_timestamp")) &&
		   json_integer_value(json_object_get(dq, "end_timestamp")) == 200 &&
		   json_array_size(json_object_get(dq, "search_fields")) == 1,
		   "the task records its query, fields and time range");
	}
	json_decref(task);
	q.query = "body:other";
	q.has_end = false;
	ok(metastore_create_delete_task(ms, index_id, &q, NULL, &err) == 0, "a second task: %s",
	   err.msg);
	tasks = metastore_list_delete_tasks(ms, index_id, &err);
	ok(tasks && json_array_size(tasks) == 2 &&
	   json_integer_value(json_object_get(json_array_get(tasks, 1), "opstamp")) == 2,
	   "tasks are listed in opstamp order");
	json_decref(tasks);
	ok(metastore_publish_splits(ms, index_id, "dsrc", tok, idp + 1, 1, NULL, &err) == 0,
	   "publish the second after the tasks: %s", err.msg);
	ok(metastore_list_splits(ms, index_id, SPLIT_STATE_PUBLISHED, &recs, &n, &err) == 0 &&
	   n == 2 && recs[0].delete_opstamp == 0 && recs[1].delete_opstamp == 2,
	   "a publish stamps its splits with the last opstamp");
	metastore_free_splits(recs, n);
	doc = metastore_read(ms, index_id, &err);
	ok(doc && metastore_last_delete_opstamp(doc) == 2 && metastore_delete_tasks_doc(doc),
	   "a snapshot has the tasks and the last opstamp");
	json_decref(doc);
	ok(metastore_raise_delete_opstamp(ms, index_id, ids[0], 2, &err) == 0 &&
	   metastore_raise_delete_opstamp(ms, index_id, ids[0], 1, &err) == 0,
	   "raise a split's delete_opstamp (never lowered): %s", err.msg);
	ok(metastore_list_splits(ms, index_id, SPLIT_STATE_PUBLISHED, &recs, &n, &err) == 0 &&
	   n == 2 && recs[0].delete_opstamp == 2, "the raised opstamp is recorded");
	metastore_free_splits(recs, n);
	ok(metastore_mark_splits_for_deletion(ms, index_id, idp, 1, &err) == 0 &&
	   metastore_raise_delete_opstamp(ms, index_id, ids[0], 3, &err) < 0 &&
	   err.code == EX_TEMPFAIL, "raising the opstamp of a split not Published is EX_TEMPFAIL");
	err_clear(&err);
	ok(metastore_create_delete_task(ms, "no-such-index", &q, NULL, &err) < 0 &&
	   err.code == EX_NOINPUT, "a task on an unknown index is EX_NOINPUT");
	err_clear(&err);
	free(tok);
	json_decref(metas);
}

/*
 * metastore_read_changed: the document as metastore_read gives it; 0 (the
 * copy untouched) or an equal copy while nothing changed; the new one once
 * a change is committed; EX_NOINPUT for an index that is not there.
 */
static void test_read_changed(struct metastore *ms, const char *index_id)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *doc = NULL, *kept, *now;
	char *tag = NULL, *tok;
	int rc;

	rc = metastore_read_changed(ms, index_id, &tag, &doc, &err);
	now = metastore_read(ms, index_id, &err);
	ok(rc == 1 && doc && json_equal(doc, now), "read_changed without a copy reads: %s", err.msg);
	json_decref(now);
	kept = doc;
	rc = metastore_read_changed(ms, index_id, &tag, &doc, &err);
	now = metastore_read(ms, index_id, &err);
	/* a backend without validators (PostgreSQL) reads again: an equal copy */
	ok((rc == 0 && doc == kept) || (rc == 1 && json_equal(doc, now)),
	   "unchanged: the copy kept (%d, tag %s)", rc, tag ? tag : "none");
	json_decref(now);
	tok = metastore_new_publish_token(ms, index_id, "changed", &err);
	ok(tok != NULL, "a change committed: %s", err.msg);
	free(tok);
	kept = json_deep_copy(doc);
	rc = metastore_read_changed(ms, index_id, &tag, &doc, &err);
	now = metastore_read(ms, index_id, &err);
	ok(rc == 1 && json_equal(doc, now) && !json_equal(doc, kept),
	   "changed: the new document (%d)", rc);
	json_decref(now);
	json_decref(kept);
	err_clear(&err);
	rc = metastore_read_changed(ms, "no-such-index", &tag, &doc, &err);
	ok(rc < 0 && err.code == EX_NOINPUT, "an unknown index: EX_NOINPUT (%d)", err.code);
	json_decref(doc);
	free(tag);
}

int main(int argc, char **argv)
{
	struct qw_err err = QW_ERR_INIT;
	char tmp[] = "/tmp/qw-metastore-contract-XXXXXX";
	const char *uri = argc > 1 ? argv[1] : getenv("QW_TEST_METASTORE_URI");
	char *local = NULL, a[64], b[64], run[ULID_LEN + 1];
	struct metastore *ms;

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	if (!uri || !*uri) {
		struct buf bu = BUF_INIT;

		buf_addf(&bu, "file://%s/qwdata", tmp);
		local = buf_detach(&bu, NULL);
		uri = local;
	}
	{
		/* what stays local (split dirs) goes to the temp dir whatever the backend */
		struct buf dd = BUF_INIT;

		buf_addf(&dd, "%s/qwdata", tmp);
		setenv("QW_DATA_DIR", buf_str(&dd), 1);
		buf_free(&dd);
	}
	tap_diag("backend %s", uri);
	ids_ulid_new(run, NULL);
	for (char *p = run; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(a, sizeof(a), "contract-b-%s", run);
	snprintf(b, sizeof(b), "contract-a-%s", run);
	ms = metastore_open_uri(uri, &err);
	if (!ok(ms != NULL, "open '%s': %s", uri, err.msg))
		return tap_done();
	test_indexes(ms, a, b);
	test_splits(ms, a);
	test_read_changed(ms, a);
	test_delete_tasks(ms, b);
	ok(metastore_delete_index(ms, a, &err) == 0 && metastore_delete_index(ms, b, &err) == 0,
	   "delete the indexes: %s", err.msg);
	ok(!metastore_index_exists(ms, a), "a deleted index does not exist");
	ok(metastore_delete_index(ms, a, &err) < 0 && err.code == EX_NOINPUT,
	   "deleting an unknown index is EX_NOINPUT");
	metastore_close(ms);
	{
		struct qw_err e = QW_ERR_INIT;

		fsutil_rm_rf(tmp, &e);
	}
	free(local);
	return tap_done();
}
