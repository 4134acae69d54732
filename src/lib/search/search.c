/*
 * search: query execution over splits, top-K, merge, response (search.h).
 *
 * Per split, the query tree is evaluated into bitsets of doc ids (one bit
 * per doc): terms and phrases from postings, ranges by a fast-column scan
 * or a dictionary walk, exists from columns or postings. AND/OR/NOT are
 * word-wise operations. Hits are counted with popcount, the top-K is a
 * bounded heap over sort keys read from fast columns, and aggregations
 * read the same columns through an agg_source. The phases live in the
 * files search_int.h lists; this one runs them and builds the response.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "search/search_int.h"
#include "store/split_cache.h"

#define SEARCH_S3_PARALLEL 8    /* s3:// splits read at once by default */

/* ------------------------------------------------------------------ entry */

static void io_json_add(json_t *o, const struct split_io *io)
{
	json_t *s = json_object_get(o, "splits");

	json_object_set_new(o, "splits", json_integer(json_integer_value(s) + 1));
	json_object_set_new(o, "requests", json_integer(json_integer_value(
		json_object_get(o, "requests")) + (json_int_t)io->requests));
	json_object_set_new(o, "bytes", json_integer(json_integer_value(
		json_object_get(o, "bytes")) + (json_int_t)io->bytes));
}

/* The response's "stats" (search.h): what each split searched has cost. */
static json_t *stats_json(const struct query_run *run)
{
	json_t *st = json_object(), *per = json_array(), *local = json_object(),
	       *s3 = json_object(), *total = json_object();

	json_object_set_new(total, "splits", json_integer(0));
	json_object_set_new(total, "requests", json_integer(0));
	json_object_set_new(total, "bytes", json_integer(0));
	json_object_update(local, total);
	json_object_update(s3, total);
	for (size_t i = 0; i < run->n_tasks; i++) {
		const struct task *t = &run->tasks[i];

		io_json_add(total, &t->io);
		io_json_add(t->io.remote ? s3 : local, &t->io);
		json_array_append_new(per, json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}",
						     "split_id", t->split_id,
						     "index_id", t->ix->index_id,
						     "storage", t->io.remote ? "s3" : "local",
						     "requests", (json_int_t)t->io.requests,
						     "bytes", (json_int_t)t->io.bytes,
						     "footer_cached", t->io.footer_cached));
	}
	json_object_update(st, total);
	json_decref(total);
	json_object_set_new(st, "local", local);
	json_object_set_new(st, "s3", s3);
	json_object_set_new(st, "per_split", per);
	return st;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static long online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

/*
 * The indexes of the request, each with its metastore snapshot, config and
 * search fields, into *ixs (*n_ix of them, freed by run_free() even on
 * error).
 */
static int open_indexes(struct metastore *ms, const struct search_request *req,
			struct index_ctx **ixs, size_t *n_ix, struct qw_err *err)
{
	char **ids = NULL;
	size_t n_ids = 0, i;
	int rc = -1;

	if (req->snapshot) {
		n_ids = json_array_size(req->snapshot);
		ids = xcalloc(n_ids + 1, sizeof(*ids));
		for (i = 0; i < n_ids; i++)
			ids[i] = xstrdup(json_string_value(
				json_object_get(json_array_get(req->snapshot, i), "index_id")));
	} else if (resolve_indexes(ms, req, &ids, &n_ids, err) < 0) {
		goto out;
	}
	*ixs = xcalloc(n_ids ? n_ids : 1, sizeof(**ixs));
	for (i = 0; i < n_ids; i++) {
		struct index_ctx *ix = &(*ixs)[*n_ix];

		ix->index_id = xstrdup(ids[i]);
		(*n_ix)++;
		if (req->snapshot)
			ix->meta = json_incref(json_object_get(json_array_get(req->snapshot, i),
							       "metastore"));
		else if (req->warm)
			ix->meta = warm_index_meta(req->warm, ix->index_id, err);
		else
			ix->meta = metastore_read_splits_view(ms, ix->index_id, err);
		if (!ix->meta) {
			if (req->snapshot)
				err_set(err, EX_SOFTWARE, "index '%s': not in the snapshot",
					ix->index_id);
			goto out;
		}
		ix->cfg = config_from_json(json_object_get(ix->meta, "index_config"), err);
		if (!ix->cfg) {
			err_prefix(err, "index '%s': stored config", ix->index_id);
			goto out;
		}
		if (req->search_fields) {
			ix->search_fields = (char **)req->search_fields;
			ix->n_search_fields = req->n_search_fields;
		} else {
			ix->search_fields = ix->cfg->default_search_fields;
			ix->n_search_fields = ix->cfg->n_default_search_fields;
		}
		ix->lenient = req->lenient;
		if (check_snippet_fields(req, ix, err) < 0)
			goto out;
	}
	rc = 0;
out:
	metastore_free_list(ids, n_ids);
	return rc;
}

/*
 * The plan: the query, sort, aggregations and search_after checked against
 * every index, k set, and one task per split left after pruning.
 */
static int plan_run(struct query_run *run, struct metastore *ms, struct index_ctx *ixs, size_t n_ix,
		    struct qw_err *err)
{
	const struct search_request *req = run->req;
	size_t i;

	for (i = 0; i < n_ix; i++)
		if (check_query(&ixs[i], ixs, n_ix, run->q, err) < 0)
			return -1;
	if (parse_sort(run, req->sort_by, ixs, n_ix, err) < 0 ||
	    (run->aggs && check_agg_fields(run->aggs, ixs, n_ix, err) < 0))
		return -1;
	if (req->search_after && !json_is_null(req->search_after) &&
	    parse_after(run, req->search_after, err) < 0)
		return -1;
	if (req->max_hits > 100000000 || req->start_offset > 100000000)
		return err_set(err, EX_USAGE, "--max-hits and --start-offset must be at most 100000000");
	run->k = (size_t)(req->start_offset + req->max_hits);
	if (req->max_hits == 0)
		run->k = 0;
	for (i = 0; i < n_ix; i++)
		if (plan_index(run, ms, &ixs[i], err) < 0)
			return -1;
	return 0;
}

/* Search every task of the run, on worker threads when it pays. */
static int run_tasks(struct query_run *run, struct qw_err *err)
{
	const struct search_request *req = run->req;
	pthread_t *th = NULL;
	size_t n_threads, i;
	bool remote = false;

	for (i = 0; i < run->n_tasks && !remote; i++)
		remote = split_cache_is_remote(run->tasks[i].path);
	if (remote) {
		if (split_cache_check_config(err) < 0)
			return -1;
		run->s3 = req->s3;
		if (!run->s3) {
			run->s3 = run->own_s3 = s3_client_new(err);
			if (!run->s3)
				return -1;
		}
	}

	/* few enough readers (a file descriptor and ~100 KB each) stay open for fetch_docs */
	run->keep_readers = run->k > 0 && run->n_tasks <= 64;
	n_threads = req->threads ? req->threads : run->n_tasks > 1 ? (size_t)online_cpus() : 1;
	/*
	 * s3:// splits wait on the network, not on a core: more of them are
	 * read at once (each thread takes a pooled connection, s3.h).
	 */
	if (remote && !req->threads && n_threads < SEARCH_S3_PARALLEL)
		n_threads = SEARCH_S3_PARALLEL;
	if (n_threads > run->n_tasks)
		n_threads = run->n_tasks;
	if (n_threads > 64)
		n_threads = 64;
	/*
	 * A thread costs about as much as opening a split and looking a term
	 * up: unless asked for, one or two splits with nothing but counting to
	 * do get one thread, which answers sooner.
	 */
	if (!req->threads && run->n_tasks <= 2 && run->k == 0 && !run->aggs && !remote)
		n_threads = 1;
	if (n_threads <= 1) {
		worker(run);
	} else {
		size_t started = 0;

		/* this thread is one of the workers */
		th = xcalloc(n_threads - 1, sizeof(*th));
		for (i = 0; i + 1 < n_threads; i++)
			if (pthread_create(&th[i], NULL, worker, run) == 0)
				started++;
			else
				break;
		worker(run);
		for (i = 0; i < started; i++)
			pthread_join(th[i], NULL);
	}
	free(th);
	return 0;
}

/* What the splits found, merged: hits in rank order, counts, aggregations. */
struct merged {
	struct hit *all;
	size_t n_all, cap_all;
	uint64_t num_hits;
	struct agg_result *aggs;
	json_t *errors;
};

/*
 * The tasks' results into m: a failed split is named in m->errors and
 * makes the answer partial (*gone when its file was missing).
 */
static void merge_tasks(struct query_run *run, struct merged *m, bool *partial, bool *gone)
{
	size_t i, j;

	m->errors = json_array();
	for (i = 0; i < run->n_tasks; i++) {
		struct task *t = &run->tasks[i];

		if (t->failed) {
			json_array_append_new(m->errors, json_sprintf("split %s of index %s: %s",
								      t->split_id, t->ix->index_id,
								      t->err.msg));
			*partial = true;
			if (t->err.code == EX_NOINPUT)
				*gone = true;
			continue;
		}
		m->num_hits += t->num_hits;
		for (j = 0; j < t->n_hits; j++) {
			XGROW(m->all, m->n_all + 1, m->cap_all);
			m->all[m->n_all++] = t->hits[j];
		}
		if (t->aggs) {
			if (!m->aggs)
				m->aggs = t->aggs;
			else
				aggs_merge(m->aggs, t->aggs);
			t->aggs = NULL;
		}
	}
	if (m->n_all > 1)
		qsort_r(m->all, m->n_all, sizeof(*m->all), cmp_hits, run);
}

/* The response (search.h) of a run whose results are merged in m. */
static json_t *respond(struct query_run *run, struct merged *m, uint64_t start_us, bool *partial)
{
	const struct search_request *req = run->req;
	json_t *out, *hits = json_array(), *snippets = NULL, *last_json = NULL, *hit_ix = NULL;
	size_t i, j;

	if (req->n_snippet_fields > 0)
		snippets = json_array();
	if (req->start_offset < m->n_all) {
		size_t from = (size_t)req->start_offset;
		size_t cnt = m->n_all - from;

		if (cnt > req->max_hits)
			cnt = (size_t)req->max_hits;
		if (req->on_hit)
			stream_docs(run, m->all + from, cnt, m->errors, partial);
		else
			fetch_docs(run, m->all + from, cnt, hits, snippets, m->errors, partial);
		if (cnt > 0)
			last_json = after_json(run, &m->all[from + cnt - 1]);
		if (req->hit_indexes && !req->on_hit && !*partial) {
			hit_ix = json_array();
			for (j = 0; j < cnt; j++)
				json_array_append_new(
					hit_ix, json_string(run->tasks[m->all[from + j].task].ix->index_id));
		}
	}
	out = json_object();
	if (hit_ix)
		json_object_set_new(out, "hit_indexes", hit_ix);
	json_object_set_new(out, "num_hits", json_integer((json_int_t)m->num_hits));
	json_object_set_new(out, "hits", hits);
	if (snippets)
		json_object_set_new(out, "snippets", snippets);
	json_object_set_new(out, "elapsed_time_micros",
			    json_integer((json_int_t)(mono_us() - start_us)));
	json_object_set_new(out, "errors", m->errors);
	m->errors = NULL;
	if (run->aggs)
		json_object_set_new(out, "aggregations", aggs_to_json(run->aggs, m->aggs));
	if (last_json)
		json_object_set_new(out, "search_after", last_json);
	if (req->stats) {
		for (i = 0; i < run->n_tasks; i++) {
			/* kept readers are closed below: count them now, once */
			task_close(run, &run->tasks[i], run->tasks[i].r, true);
			run->tasks[i].r = NULL;
		}
		json_object_set_new(out, "stats", stats_json(run));
	}
	return out;
}

static void run_free(struct query_run *run, struct index_ctx *ixs, size_t n_ix)
{
	size_t i;

	free(run->after_split);
	for (i = 0; i < run->n_tasks; i++) {
		task_close(run, &run->tasks[i], run->tasks[i].r, true);
		free(run->tasks[i].split_id);
		free(run->tasks[i].path);
		free(run->tasks[i].hits);
		aggs_result_free(run->tasks[i].aggs);
	}
	free(run->tasks);
	s3_client_free(run->own_s3);
	for (i = 0; i < run->n_sort; i++)
		free(run->sort[i].field);
	for (i = 0; i < n_ix; i++) {
		free(ixs[i].index_id);
		config_free(ixs[i].cfg);
		json_decref(ixs[i].meta);
	}
	free(ixs);
	aggs_req_free(run->aggs);
	query_free(run->q);
}

/* An index's metastore document with only its Published splits: what a
 * search plans from (the rest would only make a kept snapshot bigger). */
static json_t *published_view(json_t *meta)
{
	json_t *view = json_copy(meta), *splits = json_object(), *rec;
	const char *id;

	json_object_foreach(json_object_get(meta, "splits"), id, rec)
		if (split_state_parse(json_string_value(json_object_get(rec, "split_state"))) ==
		    SPLIT_STATE_PUBLISHED)
			json_object_set(splits, id, rec);
	json_object_set_new(view, "splits", splits);
	return view;
}

/* The view of the indexes this run searched (search_request.snapshot). */
static json_t *snapshot_of(const struct index_ctx *ixs, size_t n_ix)
{
	json_t *snap = json_array();

	for (size_t i = 0; i < n_ix; i++)
		json_array_append_new(snap, json_pack("{s:s, s:o}", "index_id", ixs[i].index_id,
						      "metastore", published_view(ixs[i].meta)));
	return snap;
}

/* One search on one snapshot of the metastore; *gone: a split file of the
 * snapshot was missing (a merge published and gc removed it meanwhile). */
static int search_run_once(const char *data_dir, const struct search_request *req,
			   json_t **response, bool *partial, bool *gone, struct qw_err *err)
{
	struct query_run run;
	struct merged m;
	struct metastore *ms = NULL;
	struct index_ctx *ixs = NULL;
	size_t n_ix = 0;
	uint64_t start_us = mono_us();
	int rc = -1;

	memset(&run, 0, sizeof(run));
	memset(&m, 0, sizeof(m));
	*response = NULL;
	*partial = false;
	run.req = req;
	if (req->n_indexes == 0) {
		err_set(err, EX_USAGE, "no index given (--index)");
		goto out;
	}
	run.q = query_parse(req->query && *req->query ? req->query : "*", err);
	if (!run.q)
		goto out;
	if (req->aggs && !json_is_null(req->aggs)) {
		run.aggs = aggs_parse(req->aggs, err);
		if (!run.aggs)
			goto out;
	}
	/* a warm process keeps its metastore open (search.h, struct search_warm) */
	ms = req->warm ? warm_metastore(req->warm, data_dir, req->s3, err) :
			 metastore_open_s3(data_dir, req->s3, err);
	if (!ms || open_indexes(ms, req, &ixs, &n_ix, err) < 0 ||
	    plan_run(&run, ms, ixs, n_ix, err) < 0 || run_tasks(&run, err) < 0)
		goto out;
	merge_tasks(&run, &m, partial, gone);
	*response = respond(&run, &m, start_us, partial);
	if (req->keep_snapshot && !req->snapshot)
		*req->keep_snapshot = snapshot_of(ixs, n_ix);
	rc = 0;
out:
	json_decref(m.errors);
	aggs_result_free(m.aggs);
	free(m.all);
	run_free(&run, ixs, n_ix);
	if (!req->warm)
		metastore_close(ms);
	return rc;
}

/*
 * A split file that is gone was removed by qw gc after a merge or a
 * retention marked it: the split is not Published any more, and a new
 * snapshot of the metastore names the splits that hold its documents now.
 * So search again (a few times, each on a fresh snapshot) rather than
 * answer without them.
 */
int search_run(const char *data_dir, const struct search_request *req, json_t **response,
	       bool *partial, struct qw_err *err)
{
	for (int attempt = 0;; attempt++) {
		bool gone = false;
		int rc = search_run_once(data_dir, req, response, partial, &gone, err);

		/* a given snapshot is searched as it is: its answer says what is gone */
		if (rc < 0 || !gone || attempt == 4 || req->snapshot)
			return rc;
		json_decref(*response);
		*response = NULL;
	}
}
