/*
 * search_split: the search of one split (search_int.h): open its reader,
 * evaluate the query, filter by time range and delete tasks, then its
 * top-K and aggregations; worker() takes splits until none is left.
 */
#include <string.h>

#include <zstd.h>

#include "search/search_int.h"
#include "split/termkey.h"
#include "store/split_cache.h"

/* ------------------------------------------------------------------ one split */

/* Keep in bits the docs in [start, end) seconds (either side optional). */
int time_range_filter(struct split_ctx *split, bool has_start, int64_t start, bool has_end,
			     int64_t end, struct bitset *bits)
{
	const char *tsf = split->cfg->timestamp_field;
	int64_t lo = has_start ? start * 1000000 : INT64_MIN;
	int64_t hi = has_end ? end * 1000000 - 1 : INT64_MAX;
	int64_t smin, smax;
	struct bitset keep;
	int field, rc;

	if (!tsf || (!has_start && !has_end))
		return 0;
	if (split_reader_time_range(split->r, &smin, &smax) && smin >= lo && smax <= hi)
		return 0;
	field = split_reader_find_field(split->r, tsf, VK_DATETIME);
	if (field < 0) {
		bs_clear(bits);
		return 0;
	}
	bs_init(&keep, split->num_docs);
	rc = scan_column_keys(split, field, termkey_from_i64(lo), termkey_from_i64(hi), &keep);
	bs_and(bits, &keep);
	bs_free(&keep);
	return rc;
}

static int time_filter(struct split_ctx *split, struct bitset *bits)
{
	const struct search_request *req = split->run->req;

	return time_range_filter(split, req->has_start, req->start_ts, req->has_end, req->end_ts, bits);
}

/*
 * Whether t's readers outlive the run: a warm process's s3:// split read
 * through the S3 client it keeps (not one this run made and frees).
 */
static bool task_keeps_reader(const struct query_run *run, const struct task *t)
{
	return run->req->warm && run->s3 && !run->own_s3 && split_cache_is_remote(t->path);
}

/* A reader of t's split, sharing the run's S3 client (its connections):
 * the one a warm process kept, else a new one borrowing zd. */
struct split_reader *task_open(const struct query_run *run, const struct task *t, ZSTD_DCtx *zd,
			       struct qw_err *err)
{
	struct split_open_opts o = { run->s3, t->size, warm_splits(run->req->warm), zd };
	struct split_reader *r = NULL;

	if (task_keeps_reader(run, t))
		r = warm_reader_take(run->req->warm, t->path, run->s3);
	return r ? r : split_reader_open_opts(t->path, &o, err);
}

/* Add what reader r of t has read to t's count (once per reader). */
static void task_io_add(struct task *t, const struct split_reader *r)
{
	struct split_io io;

	split_reader_io(r, &io);
	t->io.remote |= io.remote;
	t->io.footer_cached |= io.footer_cached;
	t->io.requests += io.requests;
	t->io.bytes += io.bytes;
}

void task_close(const struct query_run *run, struct task *t, struct split_reader *r,
		bool reusable)
{
	if (!r)
		return;
	task_io_add(t, r);
	if (reusable && !t->read_failed && task_keeps_reader(run, t)) {
		split_reader_own_zstd(r);       /* it outlives the worker lending one */
		split_reader_io_reset(r);
		warm_reader_give(run->req->warm, t->path, run->s3, r);
	} else {
		split_reader_close(r);
	}
}

/* Search t's split; zd is the worker's zstd context, lent to its reader. */
static int search_split(struct query_run *run, struct task *t, ZSTD_DCtx *zd)
{
	struct split_ctx split;
	struct bitset bits = { NULL, 0, 0 };
	int rc = -1;

	memset(&split, 0, sizeof(split));
	split.run = run;
	split.t = t;
	split.cfg = t->ix->cfg;
	split.err = &t->err;
	tokenizer_init(&split.ts);
	split.r = task_open(run, t, zd, &t->err);
	if (!split.r || split_reader_check_id(split.r, t->split_id, &t->err) < 0)
		goto out;
	split.num_docs = split_reader_num_docs(split.r);
	bs_init(&bits, split.num_docs);
	if (eval(&split, run->q, &bits) < 0 || time_filter(&split, &bits) < 0 ||
	    delete_filter(&split, &bits) < 0)
		goto out;
	t->num_hits = bs_count(&bits);
	if (run->k > 0 && t->num_hits > 0 && top_k_collect(&split, &bits) < 0)
		goto out;
	if (run->aggs && aggs_collect_split(&split, &bits) < 0)
		goto out;
	rc = 0;
out:
	bs_free(&bits);
	tokenizer_free(&split.ts);
	if (rc == 0 && run->keep_readers && t->n_hits > 0) {
		/* fetch_docs reads the returned docs from it, after this worker */
		split_reader_own_zstd(split.r);
		t->r = split.r;
	} else {
		task_close(run, t, split.r, rc == 0);
	}
	if (rc < 0) {
		t->failed = true;
		t->num_hits = 0;
		t->n_hits = 0;
		aggs_result_free(t->aggs);
		t->aggs = NULL;
	}
	return rc;
}

void *worker(void *arg)
{
	struct query_run *run = arg;
	/* one decompression context for every split this worker reads (NULL
	 * when none can be made: each reader then tries to make its own) */
	ZSTD_DCtx *zd = ZSTD_createDCtx();

	for (;;) {
		size_t i = __atomic_fetch_add(&run->next_task, 1, __ATOMIC_RELAXED);

		if (i >= run->n_tasks)
			break;
		search_split(run, &run->tasks[i], zd);
	}
	ZSTD_freeDCtx(zd);
	return NULL;
}
