/*
 * metastore_bench: publish and merge-publish latency of one metastore
 * backend (bench/metastore runs it on the file backend and on PostgreSQL).
 *
 *   metastore_bench URI N [PRELOAD]
 *
 * Creates an index, stages and publishes PRELOAD splits (default 0) so
 * that the index has a realistic size, then times N rounds of: stage one
 * split, publish it with a checkpoint delta (one transaction each), and
 * every 10th round a merge publish (the last 10 splits marked, one new
 * split published, in one transaction, as qw-merge does). Prints one JSON
 * object: the backend, the counts, and p50/p90/p99 in milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/ids.h"
#include "mapping/config.h"
#include "store/metastore.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n ? v[i] : 0;
}

struct merge_ctx {
	char (*ids)[ULID_LEN + 1];
	size_t n;
	const char *new_id;
};

/* As lifecycle/merger.c's publish_merge_tx: sources marked, one published. */
static int merge_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct merge_ctx *c = vctx;
	json_t *splits = json_object_get(doc, "splits");
	json_int_t now = (json_int_t)clock_wall_s();

	for (size_t i = 0; i < c->n; i++) {
		json_t *rec = json_object_get(splits, c->ids[i]);

		if (!rec)
			return err_set(err, EX_TEMPFAIL, "split '%s' gone", c->ids[i]);
		json_object_set_new(rec, "split_state", json_string(SPLIT_MARKED));
		json_object_set_new(rec, "update_timestamp", json_integer(now));
	}
	return json_object_set_new(splits, c->new_id,
				   json_pack("{s:s, s:I, s:I, s:n, s:{s:s, s:i}}", "split_state",
					     SPLIT_PUBLISHED, "update_timestamp", now,
					     "publish_timestamp", now, "publish_token",
					     "metadata", "split_id", c->new_id, "num_docs", 10));
}

int main(int argc, char **argv)
{
	struct qw_err err = QW_ERR_INIT;
	struct metastore *ms = NULL;
	struct index_config *cfg = NULL;
	char index_id[64], run[ULID_LEN + 1], *token = NULL;
	char (*recent)[ULID_LEN + 1] = NULL;
	double *pub = NULL, *stg = NULL, *mrg = NULL;
	size_t n, preload, n_mrg = 0;
	long long pos = 0;
	json_t *j;
	int ret = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: metastore_bench URI N [PRELOAD]\n");
		return 64;
	}
	n = strtoul(argv[2], NULL, 10);
	preload = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	pub = calloc(n + 1, sizeof(*pub));
	stg = calloc(n + 1, sizeof(*stg));
	mrg = calloc(n / 10 + 1, sizeof(*mrg));
	recent = calloc(10, sizeof(*recent));
	if (ids_ulid_new(run, &err) < 0)
		goto out;
	for (char *p = run; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	snprintf(index_id, sizeof(index_id), "bench-%s", run);
	j = json_pack("{s:s, s:s, s:{s:s}}", "version", "0.8", "index_id", index_id,
		      "doc_mapping", "mode", "dynamic");
	cfg = config_from_json(j, &err);
	json_decref(j);
	ms = cfg ? metastore_open_uri(argv[1], &err) : NULL;
	if (!ms || metastore_create_index(ms, cfg, false, &err) < 0)
		goto out;
	token = metastore_new_publish_token(ms, index_id, "src", &err);
	if (!token)
		goto out;
	for (size_t i = 0; i < preload + n; i++) {
		char id[ULID_LEN + 1];
		const char *ids[] = { id };
		json_t *metas, *delta;
		double t0, t1, t2;
		int r;

		if (ids_ulid_new(id, &err) < 0)
			goto out;
		metas = json_pack("[{s:s, s:i, s:I, s:{s:i, s:i}, s:[s]}]", "split_id", id,
				  "num_docs", 1000, "split_size_bytes", (json_int_t)123456,
				  "time_range", "start", 1000, "end", 2000, "tags", "tenant:a");
		delta = json_pack("{s:{s:I, s:I}}", "/in.log", "from", (json_int_t)pos, "to",
				  (json_int_t)(pos + 100));
		t0 = now_ms();
		r = metastore_stage_splits(ms, index_id, token, metas, &err);
		t1 = now_ms();
		if (r == 0)
			r = metastore_publish_splits(ms, index_id, "src", token, ids, 1, delta, &err);
		t2 = now_ms();
		json_decref(metas);
		json_decref(delta);
		if (r < 0)
			goto out;
		pos += 100;
		memcpy(recent[i % 10], id, sizeof(id));
		if (i < preload)
			continue;
		stg[i - preload] = t1 - t0;
		pub[i - preload] = t2 - t1;
		if ((i - preload) % 10 == 9) {
			char nid[ULID_LEN + 1];
			struct merge_ctx c = { recent, 10, nid };

			if (ids_ulid_new(nid, &err) < 0)
				goto out;
			t0 = now_ms();
			if (metastore_update(ms, index_id, merge_tx, &c, &err) < 0)
				goto out;
			mrg[n_mrg++] = now_ms() - t0;
		}
	}
	qsort(stg, n, sizeof(*stg), cmp_d);
	qsort(pub, n, sizeof(*pub), cmp_d);
	qsort(mrg, n_mrg, sizeof(*mrg), cmp_d);
	printf("{\"backend\": \"%.*s\", \"preload_splits\": %zu, \"publishes\": %zu, "
	       "\"stage_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f}, "
	       "\"publish_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f}, "
	       "\"merge_publish_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f}}\n",
	       (int)strcspn(argv[1], ":"), argv[1], preload, n, pct(stg, n, .5), pct(stg, n, .9),
	       pct(stg, n, .99), pct(pub, n, .5), pct(pub, n, .9), pct(pub, n, .99),
	       pct(mrg, n_mrg, .5), pct(mrg, n_mrg, .9), pct(mrg, n_mrg, .99));
	if (metastore_delete_index(ms, index_id, &err) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "metastore_bench: %s\n", err.msg);
	free(token);
	metastore_close(ms);
	config_free(cfg);
	free(recent);
	free(mrg);
	free(stg);
	free(pub);
	return ret;
}
