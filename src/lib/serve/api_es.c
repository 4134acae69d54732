/*
 * api_es: the Elasticsearch-compatible routes under /api/v1/_elastic
 * (see http_router.h). Errors are shaped as Elasticsearch's, as Quickwit
 * sends them: {"error": {"type", "reason"}, "status": N}.
 *
 * What is served: "/" (cluster info), _cluster/health, [INDEXES/]_search
 * (query DSL through es_dsl.h, from/size, sort, search_after, _source
 * filtering, track_total_hits, aggs, scroll=KEEPALIVE), _search/scroll
 * (the next page of a scroll, es_scroll.h), [INDEXES/]_count, [INDEX/]_msearch
 * and [INDEX/]_bulk (index and create actions, through the same
 * write-ahead ingest as /api/v1/<index>/ingest). A route that is not served
 * answers 501 with a message that says so, never an empty success.
 *
 * Hits carry their "_index" and no "_id" (qw has no document ids); the
 * last hit's "sort" is the search_after value of the next page.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve/api_internal.h"
#include "serve/es_dsl.h"
#include "serve/es_scroll.h"
#include "base/ids.h"
#include "base/strlist.h"
#include "mapping/config.h"
#include "mapping/docmap.h"
#include "store/metastore.h"
#include "search/search.h"
#include "base/xalloc.h"

static void es_error(struct http_response *resp, int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void es_error(struct http_response *resp, int status, const char *type, const char *fmt, ...)
{
	char msg[QW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_json(resp, status,
		 json_pack("{s:{s:[{s:s, s:s}], s:s, s:s}, s:i}", "error", "root_cause", "type",
			   type, "reason", msg, "type", type, "reason", msg, "status", status));
}


static json_t *shards(void)
{
	return json_pack("{s:i, s:i, s:i, s:i}", "total", 1, "successful", 1, "skipped", 0, "failed", 0);
}

/* One sort entry into qw's sort_by syntax ("f" descending, "-f" ascending). */
static int add_sort(struct buf *b, const char *field, const char *order, struct qw_err *err)
{
	bool desc;

	if (!order)
		desc = strcmp(field, "_score") == 0;
	else if (strcasecmp(order, "desc") == 0)
		desc = true;
	else if (strcasecmp(order, "asc") == 0)
		desc = false;
	else
		return err_set(err, EX_USAGE, "sort: order must be asc or desc, got `%s`", order);
	/* _doc: split then doc order, "_doc" ascending and "-_doc" reversed
	 * (the other way round from fields, whose plain name is descending) */
	if (strcmp(field, "_doc") == 0)
		buf_addf(b, "%s%s_doc", b->len ? "," : "", desc ? "-" : "");
	else
		buf_addf(b, "%s%s%s", b->len ? "," : "", desc ? "" : "-", field);
	return 0;
}

static int sort_of(json_t *sort, const char *param, struct buf *b, struct qw_err *err)
{
	json_t *e, *v;
	const char *k;
	size_t i;

	if (param) {
		/* "field:desc,other" */
		char *copy = xstrdup(param), *p = copy, *next;
		int ret = 0;

		for (; p && ret == 0; p = next) {
			char *colon;

			next = strchr(p, ',');
			if (next)
				*next++ = '\0';
			colon = strchr(p, ':');
			if (colon)
				*colon++ = '\0';
			if (*p)
				ret = add_sort(b, p, colon, err);
		}
		free(copy);
		return ret;
	}
	if (!sort)
		return 0;
	if (!json_is_array(sort)) {
		json_t *one = json_array();
		int ret;

		json_array_append(one, sort);
		ret = sort_of(one, NULL, b, err);
		json_decref(one);
		return ret;
	}
	json_array_foreach(sort, i, e) {
		if (json_is_string(e)) {
			if (add_sort(b, json_string_value(e), NULL, err) < 0)
				return -1;
			continue;
		}
		if (!json_is_object(e) || json_object_size(e) != 1)
			return err_set(err, EX_USAGE, "sort: expected FIELD or {FIELD: ORDER}");
		json_object_foreach(e, k, v) {
			const char *order = json_is_string(v) ? json_string_value(v)
				: json_string_value(json_object_get(v, "order"));

			if (add_sort(b, k, order, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* _source filtering: does path pass the include and exclude patterns? */
static bool source_keeps(const char *path, json_t *inc, json_t *exc, bool *descend)
{
	json_t *p;
	size_t i;
	bool in = !json_array_size(inc);

	*descend = false;
	json_array_foreach(exc, i, p)
		if (fnmatch(json_string_value(p), path, 0) == 0)
			return false;
	json_array_foreach(inc, i, p) {
		const char *pat = json_string_value(p);
		size_t n = strlen(path);

		if (fnmatch(pat, path, 0) == 0)
			in = true;
		else if (strncmp(pat, path, n) == 0 && pat[n] == '.')
			*descend = true;
	}
	return in;
}

static json_t *source_filter(json_t *doc, const char *prefix, json_t *inc, json_t *exc)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach(doc, k, v) {
		char path[1024];
		bool descend;

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
		if (source_keeps(path, inc, exc, &descend)) {
			if (json_is_object(v) && json_array_size(exc)) {
				/* kept whole but for the excludes: no include below */
				json_t *none = json_array();

				json_object_set_new(out, k, source_filter(v, path, none, exc));
				json_decref(none);
			} else
				json_object_set(out, k, v);
		} else if (descend && json_is_object(v)) {
			json_t *sub = source_filter(v, path, inc, exc);

			if (json_object_size(sub))
				json_object_set_new(out, k, sub);
			else
				json_decref(sub);
		}
	}
	return out;
}

/* The include and exclude lists of a _source value; *none for false. */
static int source_spec(json_t *src, json_t **inc, json_t **exc, bool *none, struct qw_err *err)
{
	*inc = json_array();
	*exc = json_array();
	*none = false;
	if (!src || json_is_true(src))
		return 0;
	if (json_is_false(src)) {
		*none = true;
		return 0;
	}
	if (json_is_string(src)) {
		json_array_append(*inc, src);
		return 0;
	}
	if (json_is_array(src)) {
		json_array_extend(*inc, src);
		return 0;
	}
	if (json_is_object(src)) {
		json_t *i = json_object_get(src, "includes") ?: json_object_get(src, "include");
		json_t *e = json_object_get(src, "excludes") ?: json_object_get(src, "exclude");

		if (json_is_string(i))
			json_array_append(*inc, i);
		else if (json_is_array(i))
			json_array_extend(*inc, i);
		if (json_is_string(e))
			json_array_append(*exc, e);
		else if (json_is_array(e))
			json_array_extend(*exc, e);
		return 0;
	}
	return err_set(err, EX_USAGE, "_source: expected a bool, a list or {includes, excludes}");
}

static int u64_of(json_t *v, const char *param, const char *name, uint64_t *out, struct qw_err *err)
{
	if (param) {
		char *end;
		unsigned long long x = strtoull(param, &end, 10);

		if (!*param || *end || *param == '-' || x > 100000000)
			return err_set(err, EX_USAGE, "%s: expected an integer, got `%s`", name, param);
		*out = x;
		return 0;
	}
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000000)
		return err_set(err, EX_USAGE, "%s: expected a non-negative integer", name);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A search body's fields are these; any other is an error. */
static int es_check_body_fields(json_t *body, struct qw_err *err)
{
	static const char *const known[] = {
		"query", "from", "size", "sort", "search_after", "_source", "track_total_hits",
		"aggs", "aggregations", "stored_fields", "docvalue_fields", "timeout",
		"track_scores", "version", "seq_no_primary_term", "highlight", NULL,
	};
	const char *unknown = api_unknown_key(body, known);

	if (unknown)
		return err_set(err, EX_USAGE, "unknown field `%s` in the search request", unknown);
	return 0;
}

/*
 * The keep-alive of scroll=KEEPALIVE in *ttl; Quickwit serves scrolls
 * only with partial results allowed, and says so.
 */
static int es_scroll_keepalive(const struct http_params *params, const char *scroll,
			       unsigned *ttl, struct qw_err *err)
{
	const char *aps = http_params_get(params, "allow_partial_search_results");

	if (aps && strcmp(aps, "false") == 0)
		return err_set(err, EX_USAGE, "Invalid argument: Quickwit only supports scroll API "
			       "with allow_partial_search_results set to true");
	return es_scroll_ttl(scroll, ttl, err);
}

/* The names and patterns of index_expr (NULL: "*") into indexes, checked. */
static int es_index_list(const char *index_expr, struct strlist *indexes, struct qw_err *err)
{
	strlist_add_csv(indexes, index_expr ? index_expr : "*");
	return api_check_index_patterns(indexes, err);
}

/* ignore_unavailable=true: names that do not exist are dropped, as Elasticsearch does. */
static int es_drop_unavailable(struct http_router *r, struct strlist *indexes, struct qw_err *err)
{
	struct metastore *ms = metastore_open(api_data_dir(r), err);
	size_t kept = 0, i;

	if (!ms)
		return -1;
	for (i = 0; i < indexes->n; i++) {
		if (indexes->v[i][0] == '-' || strchr(indexes->v[i], '*') ||
		    metastore_index_exists(ms, indexes->v[i]))
			indexes->v[kept++] = indexes->v[i];
		else
			free(indexes->v[i]);
	}
	indexes->n = kept;
	metastore_close(ms);
	return 0;
}

/* The answer of a search over no index at all: no hits, or a count of 0. */
static json_t *es_empty_response(bool count_only)
{
	if (count_only)
		return json_pack("{s:i, s:o}", "count", 0, "_shards", shards());
	return json_pack("{s:i, s:b, s:o, s:{s:n, s:[], s:{s:i, s:s}}}", "took", 0, "timed_out", 0,
			 "_shards", shards(), "hits", "max_score", "hits", "total", "value", 0,
			 "relation", "eq");
}

/*
 * The query string of a search in q: the q URL parameter, else the body's
 * query DSL (*fields: the default fields it asks for), and Quickwit's
 * extra_filters (comma-separated query strings), each ANDed to it.
 */
static int es_query_of(json_t *body, const struct http_params *params, struct buf *q,
		       json_t **fields, struct qw_err *err)
{
	const char *qparam = params ? http_params_get(params, "q") : NULL;
	const char *extra = params ? http_params_get(params, "extra_filters") : NULL;
	struct strlist filters = STRLIST_INIT;
	struct buf all = BUF_INIT;
	size_t i;

	if (qparam)
		buf_adds(q, qparam);
	else if (es_dsl_to_query(json_object_get(body, "query"), q, fields, err) < 0)
		return -1;
	if (!extra)
		return 0;
	strlist_add_csv(&filters, extra);
	buf_addf(&all, "(%s)", buf_str(q));
	for (i = 0; i < filters.n; i++)
		buf_addf(&all, " AND (%s)", filters.v[i]);
	strlist_free(&filters);
	buf_free(q);
	*q = all;
	return 0;
}

/*
 * The _source filtering of the hits: the body's _source, then the URL's
 * _source, _source_includes and _source_excludes (repeated or
 * comma-separated lists); *none when the hits carry no _source.
 */
static int es_source_of(json_t *body, const struct http_params *params, json_t **inc,
			json_t **exc, bool *none, struct qw_err *err)
{
	size_t i;

	if (source_spec(json_object_get(body, "_source"), inc, exc, none, err) < 0)
		return -1;
	for (i = 0; params && i < params->n; i++) {
		const char *name = params->names[i], *value = params->values[i];
		json_t *dst = strcmp(name, "_source_includes") == 0 || strcmp(name, "_source") == 0 ? *inc
			: strcmp(name, "_source_excludes") == 0 ? *exc : NULL;
		struct strlist patterns = STRLIST_INIT;
		size_t j;

		if (!dst)
			continue;
		if (strcmp(name, "_source") == 0 &&
		    (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
			*none = strcmp(value, "false") == 0;
			continue;
		}
		strlist_add_csv(&patterns, value);
		for (j = 0; j < patterns.n; j++)
			json_array_append_new(dst, json_string(patterns.v[j]));
		strlist_free(&patterns);
	}
	return 0;
}

/* The hits of search_run's answer resp as Elasticsearch's, their _source filtered. */
static json_t *es_hits_of(json_t *resp, json_t *inc, json_t *exc, bool no_source)
{
	json_t *hits = json_array(), *h;
	size_t i;

	json_array_foreach(json_object_get(resp, "hits"), i, h) {
		json_t *hit = json_object();

		if (json_array_get(json_object_get(resp, "hit_indexes"), i))
			json_object_set(hit, "_index", json_array_get(json_object_get(resp, "hit_indexes"), i));
		json_object_set_new(hit, "_score", json_null());
		if (!no_source)
			json_object_set_new(hit, "_source",
					    json_array_size(inc) || json_array_size(exc)
						    ? source_filter(h, "", inc, exc) : json_incref(h));
		json_array_append_new(hits, hit);
	}
	if (json_array_size(hits) && json_object_get(resp, "search_after"))
		json_object_set(json_array_get(hits, json_array_size(hits) - 1), "sort",
				json_object_get(resp, "search_after"));
	return hits;
}

/*
 * hits.total of total hits as track_total_hits asks; NULL when it is
 * false. Without it, capped at Elasticsearch's default of 10000.
 */
static json_t *es_total_of(json_t *body, const struct http_params *params, json_int_t total)
{
	const char *param = params ? http_params_get(params, "track_total_hits") : NULL;
	json_t *tth = json_object_get(body, "track_total_hits");
	json_int_t cap;
	char *end;

	if (param) {
		/* the URL's value wins over the body's: true (or bare), false or a cap */
		if (strcmp(param, "false") == 0)
			return NULL;
		errno = 0;
		cap = strtoll(param, &end, 10);
		if (!*param || *end || errno)
			cap = -1; /* true: exact */
	} else {
		if (json_is_false(tth))
			return NULL;
		cap = json_is_integer(tth) ? json_integer_value(tth) : -1;
		if (!tth)
			cap = 10000; /* Elasticsearch's default */
	}
	return cap >= 0 && total > cap ? json_pack("{s:I, s:s}", "value", cap, "relation", "gte")
		: json_pack("{s:I, s:s}", "value", total, "relation", "eq");
}

/* The Elasticsearch answer of a search from search_run's answer resp. */
static json_t *es_search_response(json_t *resp, json_t *body, const struct http_params *params,
				  json_t *inc, json_t *exc, bool no_source)
{
	json_int_t total = json_integer_value(json_object_get(resp, "num_hits"));
	json_t *hits = es_hits_of(resp, inc, exc, no_source), *out, *tracked;

	out = json_pack("{s:I, s:b, s:o, s:{s:n, s:o}}", "took",
			(json_int_t)(json_integer_value(json_object_get(resp, "elapsed_time_micros")) / 1000),
			"timed_out", 0, "_shards", shards(), "hits", "max_score", "hits", hits);
	tracked = es_total_of(body, params, total);
	if (tracked)
		json_object_set_new(json_object_get(out, "hits"), "total", tracked);
	if (json_object_get(resp, "aggregations"))
		json_object_set(out, "aggregations", json_object_get(resp, "aggregations"));
	return out;
}

/*
 * Run the search of body and params over indexes: *out is the ES
 * response; *from and *size the page it asked for (left alone if not).
 * snapshot (borrowed, may be NULL) and *keep: search_request's snapshot
 * and keep_snapshot (search.h), for the pages of a scroll.
 */
static int es_search_indexes(struct http_router *r, const struct strlist *indexes, json_t *body,
			     const struct http_params *params, bool count_only, json_t *snapshot,
			     json_t **keep, uint64_t *from, uint64_t *size, json_t **out,
			     struct qw_err *err)
{
	struct search_request sreq;
	struct buf q = BUF_INIT, sort = BUF_INIT;
	json_t *fields = NULL, *resp = NULL, *inc = NULL, *exc = NULL, *v;
	const char **search_fields = NULL;
	bool partial = false, no_source = false;
	size_t i;
	int ret = -1;

	memset(&sreq, 0, sizeof(sreq));
	if (es_query_of(body, params, &q, &fields, err) < 0)
		goto out;
	if (u64_of(json_object_get(body, "from"), params ? http_params_get(params, "from") : NULL,
		   "from", from, err) < 0 ||
	    u64_of(json_object_get(body, "size"), params ? http_params_get(params, "size") : NULL,
		   "size", size, err) < 0)
		goto out;
	if (sort_of(json_object_get(body, "sort"), params ? http_params_get(params, "sort") : NULL,
		    &sort, err) < 0)
		goto out;
	if (es_source_of(body, params, &inc, &exc, &no_source, err) < 0)
		goto out;
	if (fields && json_array_size(fields)) {
		search_fields = xcalloc(json_array_size(fields), sizeof(*search_fields));
		json_array_foreach(fields, i, v)
			search_fields[i] = json_string_value(v);
		sreq.search_fields = search_fields;
		sreq.n_search_fields = json_array_size(fields);
	}
	sreq.indexes = (const char *const *)indexes->v;
	sreq.n_indexes = indexes->n;
	sreq.query = buf_str(&q);
	sreq.max_hits = count_only ? 0 : *size;
	sreq.start_offset = *from;
	sreq.sort_by = sort.len ? buf_str(&sort) : NULL;
	sreq.aggs = count_only ? NULL : (json_object_get(body, "aggs") ?: json_object_get(body, "aggregations"));
	sreq.search_after = json_object_get(body, "search_after");
	sreq.threads = r->search_threads;
	sreq.s3 = r->s3;
	sreq.warm = r->warm;
	sreq.hit_indexes = true;
	sreq.lenient = es_dsl_lenient(json_object_get(body, "query"));
	sreq.snapshot = snapshot;
	sreq.keep_snapshot = keep;
	if (search_run(api_data_dir(r), &sreq, &resp, &partial, err) < 0)
		goto out;
	if (partial) {
		err_set(err, EX_IOERR, "some splits could not be searched: %s",
			json_string_value(json_array_get(json_object_get(resp, "errors"), 0)) ?: "?");
		goto out;
	}
	if (count_only)
		*out = json_pack("{s:I, s:o}", "count",
				 json_integer_value(json_object_get(resp, "num_hits")), "_shards", shards());
	else
		*out = es_search_response(resp, body, params, inc, exc, no_source);
	ret = 0;
out:
	free(search_fields);
	json_decref(inc);
	json_decref(exc);
	json_decref(resp);
	json_decref(fields);
	buf_free(&sort);
	buf_free(&q);
	return ret;
}

/* The URL parameters of a scroll's later pages: all but from and scroll. */
static json_t *params_json(const struct http_params *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; p && i < p->n; i++)
		if (strcmp(p->names[i], "from") != 0 && strcmp(p->names[i], "scroll") != 0)
			json_array_append_new(a, json_pack("[s, s]", p->names[i], p->values[i]));
	return a;
}

/*
 * Keep the search of a scroll=KEEPALIVE request for ttl seconds, for
 * _search/scroll: its next pages are the same request from next_from on,
 * over snapshot (the first page's view of the indexes, as Quickwit's
 * scroll context keeps its splits: a page never repeats or skips a hit
 * because a merge or a publish came in between; NULL when no index was
 * searched). out gets the scroll's "_scroll_id".
 */
static int es_scroll_open(struct http_router *r, const char *index_expr, json_t *body,
			  const struct http_params *params, uint64_t next_from, unsigned ttl,
			  json_t *snapshot, json_t *out, struct qw_err *err)
{
	json_t *again = json_deep_copy(body), *state;
	char id[ES_SCROLL_ID_LEN + 1];
	int ret = -1;

	json_object_del(again, "from");
	json_object_del(again, "aggs");
	json_object_del(again, "aggregations");
	state = json_pack("{s:o?, s:o, s:o, s:I, s:I, s:O?}", "index",
			  index_expr ? json_string(index_expr) : NULL, "body", again, "params",
			  params_json(params), "from", (json_int_t)next_from, "ttl", (json_int_t)ttl,
			  "snapshot", snapshot);
	if (!state) {
		err_set(err, EX_SOFTWARE, "out of memory for a scroll");
		goto out;
	}
	if (es_scroll_put(r->scrolls, state, ttl, id, err) < 0)
		goto out;
	json_object_set_new(out, "_scroll_id", json_string(id));
	ret = 0;
out:
	json_decref(state);
	return ret;
}

/*
 * One Elasticsearch search over index_expr ("a,b", patterns; NULL: every
 * index): *out is the ES response. count_only: {"count": N}. With
 * scroll=KEEPALIVE the search is kept for _search/scroll and *out names
 * it; *next_from (may be NULL) is where the next page starts. snapshot:
 * NULL, or a scroll's view of the indexes to search again (borrowed).
 */
static int es_search(struct http_router *r, const char *index_expr, json_t *body,
		     const struct http_params *params, bool count_only, json_t *snapshot,
		     json_t **out, uint64_t *next_from, struct qw_err *err)
{
	struct strlist indexes = STRLIST_INIT;
	const char *scroll = params && !count_only ? http_params_get(params, "scroll") : NULL;
	const char *ignore = params ? http_params_get(params, "ignore_unavailable") : NULL;
	bool none_left = false;
	uint64_t from = 0, size = 10;
	json_t *kept = NULL;
	unsigned ttl = 0;
	int ret = -1;

	if (scroll && es_scroll_keepalive(params, scroll, &ttl, err) < 0)
		goto out;
	if (es_check_body_fields(body, err) < 0 || es_index_list(index_expr, &indexes, err) < 0)
		goto out;
	if (ignore && strcmp(ignore, "true") == 0) {
		if (es_drop_unavailable(r, &indexes, err) < 0)
			goto out;
		none_left = indexes.n == 0;
	}
	if (none_left)
		*out = es_empty_response(count_only); /* a scroll over nothing is still a scroll */
	else if (es_search_indexes(r, &indexes, body, params, count_only, snapshot,
				   scroll && !snapshot ? &kept : NULL, &from, &size, out, err) < 0)
		goto out;
	if (!count_only && next_from)
		*next_from = from + size;
	if (scroll &&
	    es_scroll_open(r, index_expr, body, params, from + size, ttl, kept, *out, err) < 0) {
		json_decref(*out);
		*out = NULL;
		goto out;
	}
	ret = 0;
out:
	json_decref(kept);
	strlist_free(&indexes);
	return ret;
}

/*
 * _search/scroll: the next page of the scroll named by scroll_id (body or
 * URL), the stored search run again from the stored offset.
 */
static int es_scroll_next(struct http_router *r, const struct http_request *req, json_t *body,
			  json_t **out, struct qw_err *err)
{
	json_t *state = NULL, *sbody, *v, *idv = json_object_get(body, "scroll_id");
	const char *id = json_is_string(idv) ? json_string_value(idv)
		: http_params_get(&req->params, "scroll_id");
	const char *keep = json_is_string(json_object_get(body, "scroll"))
		? json_string_value(json_object_get(body, "scroll"))
		: http_params_get(&req->params, "scroll");
	struct http_params params = { NULL, NULL, 0 };
	uint64_t next = 0;
	unsigned ttl;
	size_t i;
	int ret = -1;

	if (!id) {
		err_set(err, EX_USAGE, "Invalid argument: a scroll request needs a scroll_id");
		goto out;
	}
	if (es_scroll_get(r->scrolls, id, &state, err) < 0)
		goto out;
	ttl = (unsigned)json_integer_value(json_object_get(state, "ttl"));
	if (keep && es_scroll_ttl(keep, &ttl, err) < 0)
		goto out;
	json_array_foreach(json_object_get(state, "params"), i, v)
		http_params_add(&params, json_string_value(json_array_get(v, 0)),
				json_string_value(json_array_get(v, 1)));
	sbody = json_object_get(state, "body");
	json_object_set(sbody, "from", json_object_get(state, "from"));
	if (es_search(r, json_string_value(json_object_get(state, "index")), sbody, &params, false,
		      json_object_get(state, "snapshot"), out, &next, err) < 0)
		goto out;
	json_object_set_new(state, "from", json_integer((json_int_t)next));
	json_object_set_new(state, "ttl", json_integer((json_int_t)ttl));
	if (es_scroll_update(r->scrolls, id, state, ttl, err) < 0) {
		json_decref(*out);
		*out = NULL;
		goto out;
	}
	json_object_set_new(*out, "_scroll_id", json_string(id));
	ret = 0;
out:
	http_params_free(&params);
	json_decref(state);
	return ret;
}

static int es_status_of(int code)
{
	return api_status_of(code);
}

static const char *es_type_of(int code)
{
	return code == EX_NOINPUT ? "index_not_found_exception"
		: code == EX_USAGE || code == EX_DATAERR ? "illegal_argument_exception"
		: "internal_error";
}

static json_t *es_error_json(const struct qw_err *err)
{
	int status = es_status_of(err->code);

	return json_pack("{s:{s:[{s:s, s:s}], s:s, s:s}, s:i}", "error", "root_cause", "type",
			 es_type_of(err->code), "reason", err->msg, "type", es_type_of(err->code),
			 "reason", err->msg, "status", status);
}

/* The request body as a JSON object, {} when empty. */
static json_t *body_or_empty(const struct http_request *req, struct qw_err *err)
{
	json_error_t jerr;
	json_t *root;

	if (!req->body || req->body_len == 0)
		return json_object();
	root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		err_set(err, EX_USAGE, "invalid JSON body: %s", root ? "an object is expected" : jerr.text);
		return NULL;
	}
	return root;
}

/* The next line of an NDJSON body, [*pos, end of line); false at the end. */
static bool next_line(const char *body, size_t len, size_t *pos, const char **line, size_t *n)
{
	while (*pos < len) {
		const char *s = body + *pos, *nl = memchr(s, '\n', len - *pos);
		size_t l = nl ? (size_t)(nl - s) : len - *pos;

		*pos += l + (nl != NULL);
		while (l && (s[l - 1] == '\r' || s[l - 1] == ' '))
			l--;
		if (l) {
			*line = s;
			*n = l;
			return true;
		}
	}
	return false;
}

static void es_msearch(struct http_router *r, const struct http_request *req, const char *index,
		       struct http_response *resp)
{
	json_t *responses = json_array();
	const char *line;
	size_t pos = 0, n;

	while (next_line(req->body, req->body_len, &pos, &line, &n)) {
		struct qw_err err = QW_ERR_INIT;
		json_t *head = json_loadb(line, n, 0, NULL), *body = NULL, *out = NULL;
		const char *bl, *ix;
		size_t bn;

		if (!json_is_object(head) || !next_line(req->body, req->body_len, &pos, &bl, &bn) ||
		    !(body = json_loadb(bl, bn, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(body)) {
			json_decref(head);
			json_decref(body);
			json_decref(responses);
			es_error(resp, 400, "illegal_argument_exception",
				 "_msearch: expected header and body lines, both JSON objects");
			return;
		}
		ix = json_string_value(json_object_get(head, "index"));
		if (!ix && json_is_array(json_object_get(head, "index")))
			ix = json_string_value(json_array_get(json_object_get(head, "index"), 0));
		if (es_search(r, ix ? ix : index, body, NULL, false, NULL, &out, NULL, &err) < 0)
			out = es_error_json(&err);
		else
			json_object_set_new(out, "status", json_integer(200));
		json_array_append_new(responses, out);
		json_decref(head);
		json_decref(body);
	}
	api_json(resp, 200, json_pack("{s:o}", "responses", responses));
}

/* Documents of one index in a _bulk request, and the items they answer. */
struct bulk_index {
	char *id;
	struct buf docs;
	json_t *items; /* borrowed items of this index, to fail together */
	int status;    /* 0 until known: 201, or an error status */
};

/* A _bulk request: its documents by index, and the items of its answer. */
struct bulk_request {
	struct bulk_index *indexes;
	size_t n_indexes;
	json_t *items; /* one an action, in the order of the request */
	bool errors;   /* some item has an error */
};

/*
 * The documents of one index of a bulk checked against its doc mapping,
 * as Quickwit does before it acknowledges them: a document the index
 * would reject gets its own 400 document_parsing_exception (bad[k] for
 * the k-th item), the others go to good. -1 when the config cannot be read.
 */
static int bulk_check_docs(struct metastore *ms, struct bulk_index *b, bool *bad, struct buf *good,
			   bool *errors, struct qw_err *err)
{
	struct index_config *cfg = metastore_index_config(ms, b->id, err);
	struct docmap *dm;
	size_t pos = 0, n, k = 0;
	const char *line;

	if (!cfg)
		return -1;
	dm = docmap_new(cfg);
	while (next_line(b->docs.data, b->docs.len, &pos, &line, &n)) {
		struct qw_err e = QW_ERR_INIT;
		enum docmap_reason why;
		json_t *doc = NULL;

		if (docmap_map_line(dm, line, n, &doc, &why, &e) < 0) {
			json_t *item = json_array_get(b->items, k);

			bad[k] = true;
			*errors = true;
			json_object_set_new(item, "status", json_integer(400));
			json_object_set_new(item, "error", json_pack("{s:s, s:s}", "type",
				"document_parsing_exception", "reason", e.msg));
		} else {
			buf_add(good, line, n);
			buf_addc(good, '\n');
		}
		json_decref(doc);
		k++;
	}
	docmap_free(dm);
	config_free(cfg);
	return 0;
}

/* The action of an action line: "index" or "create" and its metadata object; false if none. */
static bool bulk_action_of(json_t *action, const char **op, json_t **meta)
{
	const char *k;
	json_t *v;

	*op = NULL;
	*meta = NULL;
	if (json_is_object(action) && json_object_size(action) == 1) {
		json_object_foreach(action, k, v) {
			*op = k;
			*meta = v;
		}
	}
	return *op && json_is_object(*meta) &&
	       (strcmp(*op, "index") == 0 || strcmp(*op, "create") == 0);
}

/* The documents of index id in the bulk, added on first use. */
static struct bulk_index *bulk_index_of(struct bulk_request *bulk, const char *id)
{
	size_t j;

	for (j = 0; j < bulk->n_indexes && strcmp(bulk->indexes[j].id, id) != 0; j++)
		;
	if (j == bulk->n_indexes) {
		bulk->indexes = xreallocarray(bulk->indexes, j + 1, sizeof(*bulk->indexes));
		memset(&bulk->indexes[j], 0, sizeof(*bulk->indexes));
		bulk->indexes[j].id = xstrdup(id);
		bulk->indexes[j].items = json_array();
		bulk->n_indexes++;
	}
	return &bulk->indexes[j];
}

/*
 * One action op (metadata meta) on index ix and its document line into
 * bulk: a new item, and the document among its index's, unless ix is not
 * a valid index id (the item fails at once).
 */
static void bulk_add(struct bulk_request *bulk, const char *op, json_t *meta, const char *ix,
		     const char *doc, size_t n)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *item = json_object();
	struct bulk_index *bi;

	json_object_set_new(item, "_index", json_string(ix));
	if (json_object_get(meta, "_id"))
		json_object_set(item, "_id", json_object_get(meta, "_id"));
	json_array_append_new(bulk->items, json_pack("{s:o}", op, item));
	if (ids_check_index(ix, &err) < 0) {
		json_object_set_new(item, "status", json_integer(400));
		json_object_set_new(item, "error", json_pack("{s:s, s:s}", "type",
			"invalid_index_name_exception", "reason",
			err.msg));
		bulk->errors = true;
		return;
	}
	bi = bulk_index_of(bulk, ix);
	buf_add(&bi->docs, doc, n);
	buf_addc(&bi->docs, '\n');
	json_array_append(bi->items, item);
}

/*
 * The action and document lines of a _bulk body into bulk (def_index:
 * the index of actions that name none); -1 with resp answered when a line
 * is malformed or an action has no index.
 */
static int bulk_read(const struct http_request *req, const char *def_index,
		     struct bulk_request *bulk, struct http_response *resp)
{
	size_t pos = 0, n, dn;
	size_t line_no = 1; /* of the action line being read, 1-based */
	const char *line, *dl;
	json_t *action = NULL;
	int ret = -1;

	while (next_line(req->body, req->body_len, &pos, &line, &n)) {
		const char *op, *ix;
		json_t *meta;

		action = json_loadb(line, n, 0, NULL);
		if (!bulk_action_of(action, &op, &meta)) {
			/* Elasticsearch's wording, which clients match on */
			es_error(resp, 400, "illegal_argument_exception",
				 "Malformed action/metadata line [%zu], expected an index or create "
				 "action (qw-serve serves no other): %.*s",
				 line_no, (int)(n > 200 ? 200 : n), line);
			goto out;
		}
		if (!next_line(req->body, req->body_len, &pos, &dl, &dn)) {
			es_error(resp, 400, "illegal_argument_exception",
				 "_bulk: the action line has no document line after it");
			goto out;
		}
		line_no += 2;
		ix = json_string_value(json_object_get(meta, "_index"));
		if (!ix)
			ix = def_index;
		if (!ix) {
			api_json(resp, 400, json_pack("{s:{s:s, s:s}, s:i}", "error", "type",
				"action_request_validation_exception", "reason",
				"Validation Failed: 1: index is missing;", "status", 400));
			goto out;
		}
		bulk_add(bulk, op, meta, ix, dl, dn);
		json_decref(action);
		action = NULL;
	}
	ret = 0;
out:
	json_decref(action);
	return ret;
}

/*
 * Index the documents of one index of a bulk (created from a template
 * when missing) and give its items their status: 201, or the error they
 * share; a document its mapping rejects has its own (bulk_check_docs).
 */
static void bulk_ingest_index(struct http_router *r, struct metastore *ms, struct bulk_index *bi,
			      bool *errors)
{
	struct qw_err err = QW_ERR_INIT;
	struct buf good = BUF_INIT;
	bool *bad = xcalloc(json_array_size(bi->items) + 1, sizeof(*bad));
	const char *type = NULL;
	int status = 201;
	json_t *item;
	size_t j;

	if (!metastore_index_exists(ms, bi->id) &&
	    api_template_create_index(r, ms, bi->id, &err) < 0) {
		status = api_status_of(err.code);
		type = "internal_error";
	} else if (!metastore_index_exists(ms, bi->id)) {
		status = 404;
		type = "index_not_found_exception";
		err_set(&err, EX_NOINPUT, "no such index [%s]", bi->id);
	} else if (bulk_check_docs(ms, bi, bad, &good, errors, &err) < 0) {
		status = api_status_of(err.code);
		type = "internal_error";
	} else if (good.len && api_ingest_body(r, bi->id, good.data, good.len, &err) < 0) {
		status = api_ingest_status(&err);
		type = "internal_error";
	}
	json_array_foreach(bi->items, j, item) {
		if (bad[j])
			continue; /* its own error, set by bulk_check_docs */
		json_object_set_new(item, "status", json_integer(status));
		if (type) {
			json_object_set_new(item, "error", json_pack("{s:s, s:s, s:s}", "type", type,
				"reason", err.msg, "index", bi->id));
			*errors = true;
		}
	}
	free(bad);
	buf_free(&good);
}

static void es_bulk(struct http_router *r, const struct http_request *req, const char *def_index,
		    struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	struct bulk_request bulk = { NULL, 0, json_array(), false };
	struct metastore *ms = NULL;
	size_t i;

	ms = metastore_open(api_data_dir(r), &err);
	if (!ms) {
		es_error(resp, 500, "internal_error", "%s", err.msg);
		goto out;
	}
	if (bulk_read(req, def_index, &bulk, resp) < 0)
		goto out;
	for (i = 0; i < bulk.n_indexes; i++)
		bulk_ingest_index(r, ms, &bulk.indexes[i], &bulk.errors);
	api_json(resp, 200, json_pack("{s:i, s:b, s:O}", "took", 0, "errors", bulk.errors, "items",
				      bulk.items));
out:
	for (i = 0; i < bulk.n_indexes; i++) {
		free(bulk.indexes[i].id);
		buf_free(&bulk.indexes[i].docs);
		json_decref(bulk.indexes[i].items);
	}
	free(bulk.indexes);
	json_decref(bulk.items);
	metastore_close(ms);
}

/* The ids of the indexes matching a comma-separated list of patterns. */
static int matching_indexes(struct metastore *ms, const char *expr, json_t *out, bool *missing,
			    struct qw_err *err)
{
	char **ids = NULL, *copy = xstrdup(expr), *p, *next;
	size_t n = 0, i;
	int ret = -1;

	*missing = false;
	if (metastore_list_indexes(ms, &ids, &n, err) < 0)
		goto out;
	for (p = copy; p; p = next) {
		bool any = false;

		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (!*p)
			continue;
		for (i = 0; i < n; i++) {
			if (fnmatch(p, ids[i], 0) == 0) {
				any = true;
				if (!json_array_size(out) || strcmp(json_string_value(json_array_get(
						out, json_array_size(out) - 1)), ids[i]) != 0)
					json_array_append_new(out, json_string(ids[i]));
			}
		}
		/* a name without a wildcard must exist; a pattern may match nothing */
		if (!any && !strpbrk(p, "*?["))
			*missing = true;
	}
	ret = 0;
out:
	metastore_free_list(ids, n);
	free(copy);
	return ret;
}

static void es_resolve(struct http_router *r, const char *expr, struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	struct metastore *ms = metastore_open(api_data_dir(r), &err);
	json_t *ids = json_array(), *indices = json_array(), *id;
	bool missing;
	size_t i;

	if (!ms || matching_indexes(ms, expr, ids, &missing, &err) < 0) {
		api_json(resp, es_status_of(err.code), es_error_json(&err));
		goto out;
	}
	json_array_foreach(ids, i, id)
		json_array_append_new(indices, json_pack("{s:O, s:[s]}", "name", id, "attributes", "open"));
	api_json(resp, 200, json_pack("{s:O, s:[], s:[]}", "indices", indices, "aliases",
				      "data_streams"));
out:
	json_decref(indices);
	json_decref(ids);
	metastore_close(ms);
}

/* DELETE /_elastic/INDEXES: every name must exist unless ignore_unavailable. */
static void es_delete_indexes(struct http_router *r, const struct http_request *req,
			      const char *expr, struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	struct metastore *ms = metastore_open(api_data_dir(r), &err);
	const char *ignore = http_params_get(&req->params, "ignore_unavailable");
	json_t *ids = json_array(), *id;
	bool missing;
	size_t i;

	if (!ms || matching_indexes(ms, expr, ids, &missing, &err) < 0)
		goto fail;
	if (missing && !(ignore && strcmp(ignore, "true") == 0)) {
		err_set(&err, EX_NOINPUT, "no such index [%s]", expr);
		goto fail;
	}
	json_array_foreach(ids, i, id) {
		if (api_ingest_forget(r, json_string_value(id), &err) < 0 ||
		    metastore_delete_index(ms, json_string_value(id), &err) < 0)
			goto fail;
	}
	api_json(resp, 200, json_pack("{s:b}", "acknowledged", 1));
	goto out;
fail:
	api_json(resp, es_status_of(err.code), es_error_json(&err));
out:
	json_decref(ids);
	metastore_close(ms);
}

/* Elasticsearch's human sizes: "222.8kb". */
static void human_bytes(char *out, size_t n, double bytes)
{
	static const char *const units[] = { "b", "kb", "mb", "gb", "tb" };
	size_t u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%.0f%s", bytes, units[u]);
	else
		snprintf(out, n, "%.1f%s", bytes, units[u]);
}

static void es_cat_indices(struct http_router *r, const struct http_request *req, const char *expr,
			   struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	struct metastore *ms = metastore_open(api_data_dir(r), &err);
	const char *h = http_params_get(&req->params, "h"), *health = http_params_get(&req->params, "health");
	json_t *ids = json_array(), *rows = json_array(), *id;
	const char *format = http_params_get(&req->params, "format");
	bool missing;
	size_t i;

	/* as Quickwit: JSON output only, and the parameters it knows */
	if (!format || strcmp(format, "json") != 0) {
		err_set(&err, EX_USAGE, "Quickwit only supports format=json for _cat/indices");
		goto fail;
	}
	for (i = 0; i < req->params.n; i++) {
		const char *n = req->params.names[i];

		if (strcmp(n, "format") && strcmp(n, "h") && strcmp(n, "health")) {
			err_set(&err, EX_USAGE, "_cat/indices: the parameter `%s` is not supported", n);
			goto fail;
		}
	}
	if (!ms || matching_indexes(ms, expr ? expr : "*", ids, &missing, &err) < 0)
		goto fail;
	if (missing) {
		err_set(&err, EX_NOINPUT, "no such index [%s]", expr);
		goto fail;
	}
	if (health && strcmp(health, "green") != 0)
		json_array_clear(ids); /* every qw index is green */
	json_array_foreach(ids, i, id) {
		json_t *doc = metastore_read(ms, json_string_value(id), &err), *sp, *row;
		json_int_t docs = 0, bytes = 0, store = 0;
		char n1[32], n2[32], n3[32];
		const char *sid;

		if (!doc)
			goto fail;
		json_object_foreach(json_object_get(doc, "splits"), sid, sp) {
			json_t *meta = json_object_get(sp, "metadata");

			if (strcmp(json_string_value(json_object_get(sp, "split_state")) ?: "",
				   SPLIT_PUBLISHED) != 0)
				continue;
			docs += json_integer_value(json_object_get(meta, "num_docs"));
			bytes += json_integer_value(json_object_get(meta, "uncompressed_docs_size_in_bytes"));
			store += json_integer_value(json_object_get(meta, "split_size_bytes"));
		}
		snprintf(n1, sizeof(n1), "%lld", (long long)docs);
		human_bytes(n2, sizeof(n2), (double)bytes);
		human_bytes(n3, sizeof(n3), (double)store);
		row = json_pack("{s:s, s:s, s:O, s:O, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "health",
				"green", "status", "open", "index", id, "uuid",
				json_object_get(doc, "index_uid"), "pri", "1", "rep", "1", "docs.count",
				n1, "docs.deleted", "0", "store.size", n3, "pri.store.size", n3,
				"dataset.size", n2);
		json_decref(doc);
		if (h) {
			/* only the columns asked for, as Elasticsearch's h= */
			json_t *kept = json_object();
			char *cols = xstrdup(h), *c, *next;

			for (c = cols; c; c = next) {
				next = strchr(c, ',');
				if (next)
					*next++ = '\0';
				if (json_object_get(row, c))
					json_object_set(kept, c, json_object_get(row, c));
			}
			free(cols);
			json_decref(row);
			row = kept;
		}
		json_array_append_new(rows, row);
	}
	api_json(resp, 200, rows);
	rows = NULL;
	goto out;
fail:
	api_json(resp, es_status_of(err.code), es_error_json(&err));
out:
	json_decref(rows);
	json_decref(ids);
	metastore_close(ms);
}

void api_es(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
	    struct http_response *resp)
{
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	const char *last = nseg ? seg[nseg - 1] : "";
	const char *index = nseg == 2 ? seg[0] : NULL;

	if (nseg == 0 && (get || strcmp(req->method, "HEAD") == 0)) {
		api_json(resp, 200,
			 json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}, s:s}",
				   "name", "qw", "cluster_name", "qw-cluster", "cluster_uuid", "qw",
				   "version", "distribution", "quickwit", "number", "7.17.0",
				   "build_flavor", "default", "build_hash", "unknown", "build_date",
				   "unknown", "build_snapshot", 0, "lucene_version", "none",
				   "minimum_wire_compatibility_version", "7.17.0",
				   "minimum_index_compatibility_version", "7.17.0", "tagline",
				   "You Know, for Search"));
		return;
	}
	if (nseg == 3 && strcmp(seg[0], "_resolve") == 0 && strcmp(seg[1], "index") == 0 && get) {
		es_resolve(r, seg[2], resp);
		return;
	}
	if (nseg >= 2 && nseg <= 3 && strcmp(seg[0], "_cat") == 0 && strcmp(seg[1], "indices") == 0 &&
	    get) {
		es_cat_indices(r, req, nseg == 3 ? seg[2] : NULL, resp);
		return;
	}
	if (nseg == 1 && seg[0][0] != '_' && strcmp(req->method, "DELETE") == 0) {
		es_delete_indexes(r, req, seg[0], resp);
		return;
	}
	if (nseg == 2 && strcmp(seg[0], "_cluster") == 0 && strcmp(seg[1], "health") == 0) {
		api_json(resp, 200, json_pack("{s:s, s:s, s:b}", "cluster_name", "qw-cluster",
					      "status", "green", "timed_out", 0));
		return;
	}
	if ((nseg == 1 || nseg == 2) && (strcmp(last, "_search") == 0 || strcmp(last, "_count") == 0) &&
	    (get || post)) {
		struct qw_err err = QW_ERR_INIT;
		json_t *body = body_or_empty(req, &err), *out = NULL;

		if (!body || es_search(r, index, body, &req->params, strcmp(last, "_count") == 0,
				       NULL, &out, NULL, &err) < 0)
			api_json(resp, es_status_of(err.code), es_error_json(&err));
		else
			api_json(resp, 200, out);
		json_decref(body);
		return;
	}
	if (nseg == 2 && strcmp(seg[0], "_search") == 0 && strcmp(seg[1], "scroll") == 0 &&
	    (get || post)) {
		struct qw_err err = QW_ERR_INIT;
		json_t *body = body_or_empty(req, &err), *out = NULL;

		if (!body || es_scroll_next(r, req, body, &out, &err) < 0)
			api_json(resp, es_status_of(err.code), es_error_json(&err));
		else
			api_json(resp, 200, out);
		json_decref(body);
		return;
	}
	if ((nseg == 1 || nseg == 2) && strcmp(last, "_msearch") == 0 && (get || post)) {
		es_msearch(r, req, index, resp);
		return;
	}
	if ((nseg == 1 || nseg == 2) && strcmp(last, "_bulk") == 0 &&
	    (post || strcmp(req->method, "PUT") == 0)) {
		es_bulk(r, req, index, resp);
		return;
	}
	es_error(resp, 501, "not_implemented", "%s %s is not served by qw-serve yet", req->method,
		 req->path);
}
