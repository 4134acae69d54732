/*
 * metastore_concurrency_test: N processes each doing M publishes into one
 * index of one backend ($QW_TEST_METASTORE_URI or argv[1]; by default a
 * fresh file:// data dir) lose none. Every publish stages one split and
 * publishes it with a checkpoint delta of the process's own partition
 * (from i to i + 1) under one shared publish token, so that every publish
 * is a read-modify-write of the same index. The oracle is arithmetic:
 * N * M published splits, each partition at M, no publish refused.
 * N and M: $QW_TEST_PROCS (default 4) and $QW_TEST_PUBLISHES (default 50;
 * tests/58-metastore-pg.bats runs 8 x 200 on PostgreSQL).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "mapping/config.h"
#include "store/metastore.h"
#include "tap.h"
#include "base/xalloc.h"

static int env_int(const char *name, int def)
{
	const char *s = getenv(name);

	return s && *s ? atoi(s) : def;
}

/* One child: m publishes on partition p<k>; exit 0 when all passed. */
static int child(const char *uri, const char *index_id, const char *token, int k, int m)
{
	struct qw_err err = QW_ERR_INIT;
	struct metastore *ms = metastore_open_uri(uri, &err);
	char part[16];
	int ret = 1;

	if (!ms)
		goto fail;
	snprintf(part, sizeof(part), "p%d", k);
	for (int i = 0; i < m; i++) {
		char id[ULID_LEN + 1];
		const char *ids[] = { id };
		json_t *metas, *delta;
		int r;

		if (ids_ulid_new(id, &err) < 0)
			goto fail;
		metas = json_pack("[{s:s, s:i}]", "split_id", id, "num_docs", 1);
		delta = json_pack("{s:{s:i, s:i}}", part, "from", i, "to", i + 1);
		r = metastore_stage_splits(ms, index_id, token, metas, &err);
		if (r == 0)
			r = metastore_publish_splits(ms, index_id, "src", token, ids, 1, delta, &err);
		json_decref(metas);
		json_decref(delta);
		if (r < 0)
			goto fail;
	}
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "child %d: %s\n", k, err.msg);
out:
	metastore_close(ms);
	return ret;
}

int main(int argc, char **argv)
{
	struct qw_err err = QW_ERR_INIT;
	char tmp[] = "/tmp/qw-metastore-conc-XXXXXX";
	const char *uri = argc > 1 ? argv[1] : getenv("QW_TEST_METASTORE_URI");
	int n = env_int("QW_TEST_PROCS", 4), m = env_int("QW_TEST_PUBLISHES", 50);
	char *local = NULL, index_id[64], run[ULID_LEN + 1], *token = NULL;
	struct buf dd = BUF_INIT;
	struct index_config *cfg = NULL;
	struct metastore *ms = NULL;
	struct split_record *recs = NULL;
	size_t nrec = 0;
	json_t *j, *cp = NULL;
	int failed = 0;

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	buf_addf(&dd, "%s/qwdata", tmp);
	if (!uri || !*uri) {
		struct buf bu = BUF_INIT;

		buf_addf(&bu, "file://%s", buf_str(&dd));
		local = buf_detach(&bu, NULL);
		uri = local;
	}
	/* what stays local (split dirs) goes to the temp dir whatever the backend */
	setenv("QW_DATA_DIR", buf_str(&dd), 1);
	tap_diag("backend %s, %d processes x %d publishes", uri, n, m);
	ids_ulid_new(run, NULL);
	for (char *p = run; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(index_id, sizeof(index_id), "conc-%s", run);
	j = json_pack("{s:s, s:s, s:{s:[{s:s, s:s}]}}", "version", "0.8", "index_id", index_id,
		      "doc_mapping", "field_mappings", "name", "body", "type", "text");
	cfg = config_from_json(j, &err);
	json_decref(j);
	ms = metastore_open_uri(uri, &err);
	if (!ok(ms && cfg && metastore_create_index(ms, cfg, false, &err) == 0, "create: %s",
		err.msg))
		goto out;
	token = metastore_new_publish_token(ms, index_id, "src", &err);
	if (!ok(token != NULL, "take the token: %s", err.msg))
		goto out;
	fflush(NULL);
	for (int k = 0; k < n; k++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(child(uri, index_id, token, k, m));
		if (pid < 0)
			failed++;
	}
	for (int k = 0; k < n; k++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	ok(failed == 0, "every process did its %d publishes (%d failed)", m, failed);
	/* listed first: the message must show what the listing found */
	if (metastore_list_splits(ms, index_id, SPLIT_STATE_PUBLISHED, &recs, &nrec, &err) < 0)
		tap_diag("list: %s", err.msg);
	ok(nrec == (size_t)n * (size_t)m, "%zu published splits, want %d", nrec, n * m);
	cp = metastore_checkpoint(ms, index_id, "src", &err);
	for (int k = 0; k < n; k++) {
		char part[16];

		snprintf(part, sizeof(part), "p%d", k);
		ok(json_integer_value(json_object_get(cp, part)) == m, "partition %s at %lld, want %d",
		   part, (long long)json_integer_value(json_object_get(cp, part)), m);
	}
	ok(metastore_delete_index(ms, index_id, &err) == 0, "delete: %s", err.msg);
out:
	json_decref(cp);
	metastore_free_splits(recs, nrec);
	free(token);
	metastore_close(ms);
	config_free(cfg);
	{
		struct qw_err e = QW_ERR_INIT;

		fsutil_rm_rf(tmp, &e);
	}
	buf_free(&dd);
	free(local);
	return tap_done();
}
