/*
 * aggs: aggregation requests, collection, merge and output (aggs.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/aggs.h"
#include "base/buf.h"
#include "mapping/datetime.h"
#include "base/xalloc.h"

#define AGG_MAX_VALUES 64      /* values of one doc looked at per field */
#define AGG_MAX_DEPTH 8
#define AGG_MAX_BUCKETS 65000  /* histogram gap filling limit, as Quickwit's max_buckets */

enum agg_type {
	AG_TERMS,
	AG_HISTOGRAM,
	AG_DATE_HISTOGRAM,
	AG_RANGE,
	AG_MIN,
	AG_MAX,
	AG_AVG,
	AG_SUM,
	AG_STATS,
	AG_EXT_STATS,
	AG_VALUE_COUNT,
	AG_CARDINALITY,
	AG_PERCENTILES,
	AG_MULTI_TERMS,
	AG_COMPOSITE,
	AG_TOP_HITS,
};

static const char *const agg_type_names[] = {
	"terms", "histogram", "date_histogram", "range", "min", "max", "avg", "sum",
	"stats", "extended_stats", "value_count", "cardinality", "percentiles", "multi_terms",
	"composite", "top_hits",
};

/* The options each type takes ("field" for those that read one); anything else is an error. */
static const char *const agg_type_keys[][12] = {
	[AG_TERMS] = { "field", "size", "min_doc_count", "shard_size", "split_size",
		       "segment_size", "order", "missing", NULL },
	[AG_HISTOGRAM] = { "field", "interval", "offset", "min_doc_count", "extended_bounds",
			   "hard_bounds", "keyed", NULL },
	[AG_DATE_HISTOGRAM] = { "field", "fixed_interval", "offset", "min_doc_count",
				"extended_bounds", "hard_bounds", "keyed", NULL },
	[AG_RANGE] = { "field", "ranges", "keyed", NULL },
	[AG_MIN] = { "field", "missing", NULL },
	[AG_MAX] = { "field", "missing", NULL },
	[AG_AVG] = { "field", "missing", NULL },
	[AG_SUM] = { "field", "missing", NULL },
	[AG_STATS] = { "field", "missing", NULL },
	[AG_EXT_STATS] = { "field", "missing", "sigma", NULL },
	[AG_VALUE_COUNT] = { "field", "missing", NULL },
	[AG_CARDINALITY] = { "field", "missing", NULL },
	[AG_PERCENTILES] = { "field", "percents", "keyed", "missing", NULL },
	[AG_MULTI_TERMS] = { "terms", "size", "min_doc_count", "shard_size", "split_size",
			     "segment_size", "order", NULL },
	[AG_COMPOSITE] = { "sources", "size", "after", NULL },
	[AG_TOP_HITS] = { "size", "from", "sort", "docvalue_fields", NULL },
};

#define AGG_MAX_SORT 4               /* sort fields of top_hits */

/*
 * A bucket key: one value, or (AK_TUPLE, for multi_terms and composite)
 * the values of several fields encoded in s: per value a tag byte (0
 * null, else 1 + enum agg_value_kind) and for strings a 4-byte length and
 * the bytes, for the others 8 bytes.
 */
#define AK_TUPLE 100

struct akey {
	int kind;                     /* enum agg_value_kind or AK_TUPLE */
	union {
		int64_t i;
		uint64_t u;
		double f;
	} v;
	char *s;
	size_t len;
};

/* One source of a composite aggregation, or one field of multi_terms. */
struct agg_src_def {
	char *name;
	char *field;
	enum agg_type type;          /* AG_TERMS, AG_HISTOGRAM or AG_DATE_HISTOGRAM */
	double interval;             /* date: milliseconds */
	bool missing_bucket, desc;
	size_t id;                   /* binding slot */
};

struct agg_range {
	bool has_from, has_to;
	double from, to;
	char *key;
};

struct agg_node {
	char *name;
	enum agg_type type;
	char *field;
	size_t id;                   /* index in the whole tree, for per-split bindings */
	/* terms */
	uint64_t size, split_size, min_doc_count;
	bool order_by_key, order_asc;
	/* histogram, date_histogram (date: in milliseconds) */
	double interval, offset;
	bool has_ext, has_hard;
	double ext_min, ext_max, hard_min, hard_max;
	/* range */
	struct agg_range *ranges;
	size_t n_ranges;
	/* percentiles */
	double *percents;
	size_t n_percents;
	bool keyed;
	/* missing: the value of a doc without one (s in missing_s) */
	bool has_missing;
	struct agg_value missing;
	char *missing_s;
	/* terms order by a metric sub-aggregation: its index and metric (NULL: "value") */
	bool order_by_sub;
	size_t order_sub;
	char *order_metric;
	/* extended_stats */
	double sigma;
	/* multi_terms, composite */
	struct agg_src_def *srcs;
	size_t n_srcs;
	bool has_after;
	struct akey after;           /* AK_TUPLE */
	/* top_hits: srcs are the sort fields; dvs the docvalue_fields */
	uint64_t from;
	struct agg_src_def *dvs;
	size_t n_dvs;
	struct agg_req *sub;
};

struct agg_req {
	struct agg_node *nodes;
	size_t n;
	size_t total_nodes;          /* only meaningful at the root */
};

/* ------------------------------------------------------------------ parse */

static int parse_level(json_t *obj, const char *path, unsigned depth, size_t *next_id,
		       struct agg_req **out, struct qw_err *err);

/* "a.b" into out; a path too long for messages is cut, never overflows. */
static void path_join(char *out, size_t n, const char *a, const char *b)
{
	int w = snprintf(out, n, "%s.%s", a, b);

	if (w < 0 || (size_t)w >= n)
		out[n - 1] = '\0';
}

static void node_free(struct agg_node *n)
{
	size_t i;

	free(n->name);
	free(n->field);
	for (i = 0; i < n->n_ranges; i++)
		free(n->ranges[i].key);
	free(n->ranges);
	free(n->percents);
	free(n->missing_s);
	free(n->order_metric);
	for (i = 0; i < n->n_srcs; i++) {
		free(n->srcs[i].name);
		free(n->srcs[i].field);
	}
	free(n->srcs);
	for (i = 0; i < n->n_dvs; i++)
		free(n->dvs[i].field);
	free(n->dvs);
	free(n->after.s);
	aggs_req_free(n->sub);
}

void aggs_req_free(struct agg_req *req)
{
	size_t i;

	if (!req)
		return;
	for (i = 0; i < req->n; i++)
		node_free(&req->nodes[i]);
	free(req->nodes);
	free(req);
}

static bool json_to_double(json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (json_is_string(v)) {
		char *end;
		const char *s = json_string_value(v);

		*out = strtod(s, &end);
		return end != s && *end == '\0';
	}
	return false;
}

static int get_u64(json_t *body, const char *key, const char *path, uint64_t *out,
		   struct qw_err *err)
{
	json_t *v = json_object_get(body, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return err_set(err, EX_DATAERR, "%s.%s: expected a non-negative integer", path, key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* "30d", "1h", "10m", "15s", "500ms", "2w"? -> milliseconds; leading '-' allowed. */
static bool parse_interval_ms(const char *s, double *ms)
{
	char *end;
	double v = strtod(s, &end);
	double unit;

	if (end == s)
		return false;
	if (strcmp(end, "ms") == 0)
		unit = 1;
	else if (strcmp(end, "s") == 0)
		unit = 1000;
	else if (strcmp(end, "m") == 0)
		unit = 60000;
	else if (strcmp(end, "h") == 0)
		unit = 3600000;
	else if (strcmp(end, "d") == 0)
		unit = 86400000;
	else if (strcmp(end, "w") == 0)
		unit = 7 * 86400000.0;
	else
		return false;
	*ms = v * unit;
	return true;
}

static bool json_to_ms(json_t *v, double *ms)
{
	int64_t us;

	if (json_is_number(v)) {
		*ms = json_number_value(v);
		return true;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (datetime_parse("rfc3339", s, strlen(s), &us)) {
			*ms = (double)us / 1000.0;
			return true;
		}
		return json_to_double(v, ms);
	}
	return false;
}

static int parse_bounds(json_t *body, const char *key, const char *path, bool date, bool *has,
			double *min, double *max, struct qw_err *err)
{
	json_t *b = json_object_get(body, key);
	json_t *lo, *hi;

	if (!b)
		return 0;
	lo = json_object_get(b, "min");
	hi = json_object_get(b, "max");
	if (!json_is_object(b) || !lo || !hi ||
	    !(date ? json_to_ms(lo, min) : json_to_double(lo, min)) ||
	    !(date ? json_to_ms(hi, max) : json_to_double(hi, max)))
		return err_set(err, EX_DATAERR, "%s.%s: expected {\"min\": number, \"max\": number}",
			       path, key);
	*has = true;
	return 0;
}

/* Append one value (NULL: null) of a tuple key. */
static void tuple_add(struct buf *b, const struct akey *k)
{
	unsigned char tag = k ? (unsigned char)(1 + k->kind) : 0;

	buf_add(b, &tag, 1);
	if (!k)
		return;
	if (k->kind == AV_STR) {
		uint32_t len = (uint32_t)k->len;

		buf_add(b, &len, sizeof(len));
		buf_add(b, k->s, k->len);
	} else {
		buf_add(b, &k->v, sizeof(k->v));
	}
}

/* The value of t at *off into out (false: null), *off moved past it. */
static bool tuple_next(const struct akey *t, size_t *off, struct akey *out)
{
	unsigned char tag = (unsigned char)t->s[*off];
	uint32_t len;

	(*off)++;
	memset(out, 0, sizeof(*out));
	if (tag == 0)
		return false;
	out->kind = tag - 1;
	if (out->kind == AV_STR) {
		memcpy(&len, t->s + *off, sizeof(len));
		*off += sizeof(len);
		out->s = t->s + *off;
		out->len = len;
		*off += len;
	} else {
		memcpy(&out->v, t->s + *off, sizeof(out->v));
		*off += sizeof(out->v);
	}
	return true;
}

static bool is_key(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(k, *list) == 0)
			return true;
	return false;
}

static int check_keys(json_t *body, const char *path, const char *const *ok, struct qw_err *err)
{
	const char *k;
	json_t *v;

	json_object_foreach(body, k, v) {
		if (is_key(k, ok))
			continue;
		/* Elasticsearch's calendar intervals (months of 28 to 31 days)
		 * are not Quickwit's: say which key to use instead */
		if (strcmp(k, "calendar_interval") == 0 && is_key("fixed_interval", ok))
			return err_set(err, EX_DATAERR,
				       "%s.calendar_interval: calendar intervals are not supported; use "
				       "fixed_interval with a duration (\"1d\", \"7d\", \"1h\")", path);
		return err_set(err, EX_DATAERR, "%s: unsupported option '%s'", path, k);
	}
	return 0;
}

static int parse_missing(struct agg_node *n, json_t *body, const char *path, struct qw_err *err)
{
	json_t *m = json_object_get(body, "missing");
	struct agg_value *v = &n->missing;
	double d;

	if (!m)
		return 0;
	memset(v, 0, sizeof(*v));
	v->dict = -1;
	if (n->type == AG_TERMS && json_is_string(m)) {
		n->missing_s = xstrdup(json_string_value(m));
		v->kind = AV_STR;
		v->s = n->missing_s;
		v->len = json_string_length(m);
	} else if (n->type == AG_TERMS && json_is_boolean(m)) {
		v->kind = AV_BOOL;
		v->v.u = json_is_true(m);
	} else if (json_is_integer(m)) {
		v->kind = json_integer_value(m) < 0 ? AV_I64 : AV_U64;
		v->v.i = json_integer_value(m);
	} else if (n->type != AG_TERMS && json_to_double(m, &d)) {
		v->kind = AV_F64;
		v->v.f = d;
	} else if (json_is_real(m)) {
		v->kind = AV_F64;
		v->v.f = json_real_value(m);
	} else {
		return err_set(err, EX_DATAERR, "%s.missing: expected %s", path,
			       n->type == AG_TERMS ? "a string, a number or a boolean" : "a number");
	}
	n->has_missing = true;
	return 0;
}

/* "order": {"_count"|"_key"|"sub"|"sub.metric": "asc"|"desc"}; a sub name is checked later. */
static int parse_order(struct agg_node *n, json_t *body, const char *path, struct qw_err *err)
{
	json_t *order = json_object_get(body, "order"), *ov;
	const char *ok_, *dir;

	n->order_asc = false;
	if (!order)
		return 0;
	if (json_is_array(order) && json_array_size(order) == 1)
		order = json_array_get(order, 0);
	if (!json_is_object(order) || json_object_size(order) != 1)
		return err_set(err, EX_DATAERR,
			       "%s.order: expected {\"_count\"|\"_key\"|\"<sub-aggregation>\": \"asc\"|\"desc\"}",
			       path);
	json_object_foreach(order, ok_, ov) {
		dir = json_string_value(ov);
		if (!dir || (strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0))
			return err_set(err, EX_DATAERR, "%s.order.%s: expected \"asc\" or \"desc\"", path,
				       ok_);
		n->order_asc = strcmp(dir, "asc") == 0;
		if (strcmp(ok_, "_key") == 0 || strcmp(ok_, "_term") == 0) {
			n->order_by_key = true;
		} else if (strcmp(ok_, "_count") != 0) {
			n->order_by_sub = true;
			n->order_metric = xstrdup(ok_);   /* "sub" or "sub.metric", resolved later */
		}
	}
	return 0;
}

static const char *const stats_metrics[] = {
	"count", "min", "max", "avg", "sum", NULL,
};
static const char *const ext_metrics[] = {
	"count", "min", "max", "avg", "sum", "sum_of_squares", "variance", "variance_population",
	"variance_sampling", "std_deviation", "std_deviation_population", "std_deviation_sampling",
	NULL,
};

/* Bind "sub.metric" of the order to a metric sub-aggregation. */
static int resolve_order(struct agg_node *n, const char *path, struct qw_err *err)
{
	char *name = n->order_metric, *dot = strchr(name, '.');
	const char *metric = dot ? dot + 1 : NULL;
	const struct agg_node *m = NULL;
	size_t i;

	if (dot)
		*dot = '\0';
	for (i = 0; n->sub && i < n->sub->n; i++)
		if (strcmp(n->sub->nodes[i].name, name) == 0)
			m = &n->sub->nodes[i];
	if (!m)
		return err_set(err, EX_DATAERR, "%s.order: no sub-aggregation named '%s'", path, name);
	n->order_sub = (size_t)(m - n->sub->nodes);
	switch (m->type) {
	case AG_MIN:
	case AG_MAX:
	case AG_AVG:
	case AG_SUM:
	case AG_VALUE_COUNT:
	case AG_CARDINALITY:
		if (metric && strcmp(metric, "value") != 0)
			return err_set(err, EX_DATAERR, "%s.order: '%s' has no metric '%s'", path, name,
				       metric);
		break;
	case AG_STATS:
	case AG_EXT_STATS:
		if (!metric || !is_key(metric, m->type == AG_STATS ? stats_metrics : ext_metrics))
			return err_set(err, EX_DATAERR, "%s.order: '%s' needs a metric ('%s.avg')",
				       path, name, name);
		break;
	default:
		return err_set(err, EX_DATAERR,
			       "%s.order: '%s' is not a single-value or stats metric aggregation",
			       path, name);
	}
	memmove(n->order_metric, metric ? metric : "value", strlen(metric ? metric : "value") + 1);
	return 0;
}

static int parse_sizes(struct agg_node *n, json_t *body, const char *path, struct qw_err *err)
{
	uint64_t shard = 0;

	n->size = 10;
	n->min_doc_count = 1;
	if (get_u64(body, "size", path, &n->size, err) < 0 ||
	    get_u64(body, "min_doc_count", path, &n->min_doc_count, err) < 0 ||
	    get_u64(body, "shard_size", path, &shard, err) < 0 ||
	    get_u64(body, "split_size", path, &shard, err) < 0 ||
	    get_u64(body, "segment_size", path, &shard, err) < 0)
		return -1;
	if (n->size == 0)
		return err_set(err, EX_DATAERR, "%s.size: must be at least 1", path);
	n->split_size = shard ? shard : n->size + n->size / 2 + 10;
	if (n->split_size < n->size)
		n->split_size = n->size;
	return parse_order(n, body, path, err);
}

static int parse_multi_terms(struct agg_node *n, json_t *body, const char *path, size_t *next_id,
			     struct qw_err *err)
{
	static const char *const keys[] = { "field", NULL };
	json_t *terms = json_object_get(body, "terms"), *t, *f;
	char p[600];
	size_t i;

	if (!json_is_array(terms) || json_array_size(terms) < 2)
		return err_set(err, EX_DATAERR, "%s.terms: expected an array of at least 2 {\"field\": name}",
			       path);
	n->srcs = xcalloc(json_array_size(terms), sizeof(*n->srcs));
	json_array_foreach(terms, i, t) {
		snprintf(p, sizeof(p), "%s.terms[%zu]", path, i);
		if (!json_is_object(t))
			return err_set(err, EX_DATAERR, "%s: expected {\"field\": name}", p);
		if (check_keys(t, p, keys, err) < 0)
			return -1;
		f = json_object_get(t, "field");
		if (!json_is_string(f))
			return err_set(err, EX_DATAERR, "%s.field: expected a field name", p);
		n->srcs[i].field = xstrdup(json_string_value(f));
		n->srcs[i].type = AG_TERMS;
		n->srcs[i].id = (*next_id)++;
		n->n_srcs++;
	}
	return parse_sizes(n, body, path, err);
}

/* An "after" value of a composite source: Quickwit's "str:", "f64:"... forms or plain JSON. */
static bool after_value(json_t *v, struct akey *k, bool *null)
{
	const char *s;

	memset(k, 0, sizeof(*k));
	*null = json_is_null(v);
	if (*null)
		return true;
	if (json_is_integer(v)) {
		k->kind = json_integer_value(v) < 0 ? AV_I64 : AV_U64;
		k->v.i = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		k->kind = AV_F64;
		k->v.f = json_real_value(v);
		return true;
	}
	if (json_is_boolean(v)) {
		k->kind = AV_BOOL;
		k->v.u = json_is_true(v);
		return true;
	}
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (strncmp(s, "i64:", 4) == 0 || strncmp(s, "u64:", 4) == 0 || strncmp(s, "f64:", 4) == 0) {
		char *end;

		k->kind = AV_F64;
		k->v.f = strtod(s + 4, &end);
		return end != s + 4 && *end == '\0';
	}
	if (strncmp(s, "str:", 4) == 0)
		s += 4;
	k->kind = AV_STR;
	k->s = (char *)s;
	k->len = strlen(s);
	return true;
}

static int parse_composite(struct agg_node *n, json_t *body, const char *path, size_t *next_id,
			   struct qw_err *err)
{
	static const char *const terms_keys[] = { "field", "missing_bucket", "order", NULL };
	static const char *const hist_keys[] = { "field", "interval", "missing_bucket", "order", NULL };
	static const char *const date_keys[] = { "field", "fixed_interval", "missing_bucket", "order",
						 NULL };
	json_t *sources = json_object_get(body, "sources"), *after = json_object_get(body, "after");
	json_t *src, *def, *v;
	const char *name, *tname;
	char p[600];
	size_t i;

	n->size = 10;
	if (get_u64(body, "size", path, &n->size, err) < 0)
		return -1;
	if (n->size == 0)
		return err_set(err, EX_DATAERR, "%s.size: must be at least 1", path);
	if (!json_is_array(sources) || json_array_size(sources) == 0)
		return err_set(err, EX_DATAERR, "%s.sources: expected a non-empty array", path);
	n->srcs = xcalloc(json_array_size(sources), sizeof(*n->srcs));
	json_array_foreach(sources, i, src) {
		struct agg_src_def *d = &n->srcs[i];

		snprintf(p, sizeof(p), "%s.sources[%zu]", path, i);
		if (!json_is_object(src) || json_object_size(src) != 1)
			return err_set(err, EX_DATAERR, "%s: expected {\"name\": {\"terms\": {...}}}", p);
		json_object_foreach(src, name, def) {
			d->name = xstrdup(name);
			d->id = (*next_id)++;
			n->n_srcs++;
			snprintf(p, sizeof(p), "%s.sources[%zu].%s", path, i, name);
			if (!json_is_object(def) || json_object_size(def) != 1)
				return err_set(err, EX_DATAERR,
					       "%s: expected {\"terms\"|\"histogram\"|\"date_histogram\": {...}}", p);
			json_object_foreach(def, tname, v) {
				const char *const *keys;

				if (strcmp(tname, "terms") == 0) {
					d->type = AG_TERMS;
					keys = terms_keys;
				} else if (strcmp(tname, "histogram") == 0) {
					d->type = AG_HISTOGRAM;
					keys = hist_keys;
				} else if (strcmp(tname, "date_histogram") == 0) {
					d->type = AG_DATE_HISTOGRAM;
					keys = date_keys;
				} else {
					return err_set(err, EX_DATAERR, "%s: unsupported source type '%s'", p,
						       tname);
				}
				snprintf(p, sizeof(p), "%s.sources[%zu].%s.%s", path, i, name, tname);
				if (!json_is_object(v))
					return err_set(err, EX_DATAERR, "%s: expected an object", p);
				if (check_keys(v, p, keys, err) < 0)
					return -1;
				if (!json_is_string(json_object_get(v, "field")))
					return err_set(err, EX_DATAERR, "%s.field: expected a field name", p);
				d->field = xstrdup(json_string_value(json_object_get(v, "field")));
				if (json_object_get(v, "missing_bucket") &&
				    !json_is_boolean(json_object_get(v, "missing_bucket")))
					return err_set(err, EX_DATAERR, "%s.missing_bucket: expected a boolean", p);
				d->missing_bucket = json_is_true(json_object_get(v, "missing_bucket"));
				if (json_object_get(v, "order")) {
					const char *o = json_string_value(json_object_get(v, "order"));

					if (!o || (strcmp(o, "asc") != 0 && strcmp(o, "desc") != 0))
						return err_set(err, EX_DATAERR, "%s.order: expected \"asc\" or \"desc\"",
							       p);
					d->desc = strcmp(o, "desc") == 0;
				}
				if (d->type == AG_HISTOGRAM &&
				    (!json_to_double(json_object_get(v, "interval"), &d->interval) ||
				     !(d->interval > 0)))
					return err_set(err, EX_DATAERR, "%s.interval: expected a positive number", p);
				if (d->type == AG_DATE_HISTOGRAM &&
				    (!json_is_string(json_object_get(v, "fixed_interval")) ||
				     !parse_interval_ms(json_string_value(json_object_get(v, "fixed_interval")),
							&d->interval) ||
				     !(d->interval > 0)))
					return err_set(err, EX_DATAERR,
						       "%s.fixed_interval: expected a duration like \"1h\"", p);
			}
		}
	}
	if (after) {
		struct buf b = BUF_INIT;

		if (!json_is_object(after) || json_object_size(after) != n->n_srcs) {
			buf_free(&b);
			return err_set(err, EX_DATAERR, "%s.after: expected a value for each source", path);
		}
		for (i = 0; i < n->n_srcs; i++) {
			struct akey k;
			bool null;

			if (!json_object_get(after, n->srcs[i].name) ||
			    !after_value(json_object_get(after, n->srcs[i].name), &k, &null)) {
				buf_free(&b);
				return err_set(err, EX_DATAERR, "%s.after.%s: expected a key of source '%s'",
					       path, n->srcs[i].name, n->srcs[i].name);
			}
			tuple_add(&b, null ? NULL : &k);
		}
		n->has_after = true;
		n->after.kind = AK_TUPLE;
		n->after.s = buf_detach(&b, &n->after.len);
	}
	return 0;
}

/* top_hits: size, from, sort [{"f": {"order": "desc"}} | {"f": "asc"} | "f"], docvalue_fields [names]. */
static int parse_top_hits(struct agg_node *n, json_t *body, const char *path, size_t *next_id,
			  struct qw_err *err)
{
	json_t *sort = json_object_get(body, "sort"), *dv = json_object_get(body, "docvalue_fields");
	json_t *e, *v;
	const char *f;
	size_t i;

	n->size = 3;
	if (get_u64(body, "size", path, &n->size, err) < 0 ||
	    get_u64(body, "from", path, &n->from, err) < 0)
		return -1;
	if (n->size == 0 || n->size + n->from > 10000)
		return err_set(err, EX_DATAERR, "%s.size: expected 1 to 10000 hits (from + size)", path);
	if (sort && (!json_is_array(sort) || json_array_size(sort) > AGG_MAX_SORT))
		return err_set(err, EX_DATAERR, "%s.sort: expected an array of at most %d fields", path,
			       AGG_MAX_SORT);
	n->srcs = xcalloc(AGG_MAX_SORT, sizeof(*n->srcs));
	json_array_foreach(sort, i, e) {
		struct agg_src_def *d = &n->srcs[n->n_srcs];
		const char *dir = "desc";

		if (json_is_string(e)) {
			f = json_string_value(e);
		} else if (json_is_object(e) && json_object_size(e) == 1) {
			f = json_object_iter_key(json_object_iter(e));
			v = json_object_iter_value(json_object_iter(e));
			if (json_is_object(v)) {
				const char *k;
				json_t *o;

				json_object_foreach(v, k, o)
					if (strcmp(k, "order") != 0)
						return err_set(err, EX_DATAERR,
							       "%s.sort[%zu].%s: unsupported option '%s'", path, i, f, k);
				v = json_object_get(v, "order");
			}
			dir = v ? json_string_value(v) : "desc";
			if (!dir || (strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0))
				return err_set(err, EX_DATAERR, "%s.sort[%zu].%s: expected \"asc\" or \"desc\"",
					       path, i, f);
		} else {
			return err_set(err, EX_DATAERR, "%s.sort[%zu]: expected {\"field\": {\"order\": \"desc\"}}",
				       path, i);
		}
		if (f[0] == '_')
			return err_set(err, EX_DATAERR, "%s.sort[%zu]: cannot sort on '%s'", path, i, f);
		d->field = xstrdup(f);
		d->desc = strcmp(dir, "desc") == 0;
		d->id = (*next_id)++;
		n->n_srcs++;
	}
	if (dv && !json_is_array(dv))
		return err_set(err, EX_DATAERR, "%s.docvalue_fields: expected an array of field names", path);
	n->dvs = xcalloc(json_array_size(dv) ? json_array_size(dv) : 1, sizeof(*n->dvs));
	json_array_foreach(dv, i, e) {
		if (json_is_object(e) && json_is_string(json_object_get(e, "field")) && json_object_size(e) == 1)
			e = json_object_get(e, "field");
		if (!json_is_string(e))
			return err_set(err, EX_DATAERR, "%s.docvalue_fields[%zu]: expected a field name",
				       path, i);
		n->dvs[n->n_dvs].field = xstrdup(json_string_value(e));
		n->dvs[n->n_dvs].id = (*next_id)++;
		n->n_dvs++;
	}
	return 0;
}

/*
 * The one aggregation type key of def (an object): n->type, *body its
 * options; *subs its sub-aggregations ("aggs" or "aggregations"), if any.
 */
static int parse_type(struct agg_node *n, json_t *def, const char *path, json_t **body,
		      json_t **subs, struct qw_err *err)
{
	const char *key;
	json_t *val;
	size_t t;
	bool found = false;

	json_object_foreach(def, key, val) {
		if (strcmp(key, "aggs") == 0 || strcmp(key, "aggregations") == 0) {
			*subs = val;
			continue;
		}
		if (strcmp(key, "meta") == 0)
			continue;
		if (found)
			return err_set(err, EX_DATAERR, "%s: more than one aggregation type ('%s')",
				       path, key);
		for (t = 0; t < sizeof(agg_type_names) / sizeof(agg_type_names[0]); t++)
			if (strcmp(key, agg_type_names[t]) == 0)
				break;
		if (t == sizeof(agg_type_names) / sizeof(agg_type_names[0]))
			return err_set(err, EX_DATAERR, "%s: unknown aggregation type '%s'", path, key);
		n->type = (enum agg_type)t;
		*body = val;
		found = true;
	}
	if (!found)
		return err_set(err, EX_DATAERR, "%s: missing the aggregation type", path);
	return 0;
}

/* The options every single-field aggregation shares: field, missing, keyed. */
static int parse_field_options(struct agg_node *n, json_t *body, const char *path,
			       struct qw_err *err)
{
	json_t *val = json_object_get(body, "field");

	if (!json_is_string(val))
		return err_set(err, EX_DATAERR, "%s.field: expected a field name", path);
	n->field = xstrdup(json_string_value(val));
	if (parse_missing(n, body, path, err) < 0)
		return -1;
	val = json_object_get(body, "keyed");
	/* percentiles are keyed unless told otherwise: parse_percentiles decides */
	if (val && n->type != AG_PERCENTILES) {
		if (!json_is_boolean(val))
			return err_set(err, EX_DATAERR, "%s.keyed: expected a boolean", path);
		n->keyed = json_is_true(val);
	}
	return 0;
}

/* extended_stats' sigma, the width of its std_deviation_bounds (2 unless given). */
static int parse_ext_stats(struct agg_node *n, json_t *body, const char *path, struct qw_err *err)
{
	json_t *val = json_object_get(body, "sigma");

	n->sigma = 2;
	if (val && (!json_to_double(val, &n->sigma) || n->sigma < 0))
		return err_set(err, EX_DATAERR, "%s.sigma: expected a non-negative number", path);
	return 0;
}

/*
 * histogram's and date_histogram's options: the interval (a number, or a
 * duration in ms for dates) and offset, min_doc_count, the bounds.
 */
static int parse_histogram(struct agg_node *n, json_t *body, const char *path, struct qw_err *err)
{
	bool date = n->type == AG_DATE_HISTOGRAM;
	json_t *iv = json_object_get(body, date ? "fixed_interval" : "interval");
	json_t *off = json_object_get(body, "offset");

	if (date) {
		if (!json_is_string(iv) || !parse_interval_ms(json_string_value(iv), &n->interval))
			return err_set(err, EX_DATAERR,
				       "%s.fixed_interval: expected a duration like \"30d\", \"1h\", \"10m\"",
				       path);
		if (off && (!json_is_string(off) ||
			    !parse_interval_ms(json_string_value(off), &n->offset)))
			return err_set(err, EX_DATAERR, "%s.offset: expected a duration like \"-4d\"",
				       path);
	} else {
		if (!iv || !json_to_double(iv, &n->interval))
			return err_set(err, EX_DATAERR, "%s.interval: expected a number", path);
		if (off && !json_to_double(off, &n->offset))
			return err_set(err, EX_DATAERR, "%s.offset: expected a number", path);
	}
	if (!(n->interval > 0))
		return err_set(err, EX_DATAERR, "%s: the interval must be positive", path);
	n->min_doc_count = 0;
	if (get_u64(body, "min_doc_count", path, &n->min_doc_count, err) < 0 ||
	    parse_bounds(body, "extended_bounds", path, date, &n->has_ext, &n->ext_min,
			 &n->ext_max, err) < 0 ||
	    parse_bounds(body, "hard_bounds", path, date, &n->has_hard, &n->hard_min,
			 &n->hard_max, err) < 0)
		return -1;
	return 0;
}

/* The key of a range that names none: "from-to", "*" for an open end. */
static char *range_default_key(const struct agg_range *ar)
{
	struct buf b = BUF_INIT;

	if (ar->has_from)
		buf_addf(&b, "%.1f", ar->from);
	else
		buf_addc(&b, '*');
	buf_addc(&b, '-');
	if (ar->has_to)
		buf_addf(&b, "%.1f", ar->to);
	else
		buf_addc(&b, '*');
	return buf_detach(&b, NULL);
}

/* range's ranges, each {"from": n, "to": n, "key": s}, every member optional. */
static int parse_range(struct agg_node *n, json_t *body, const char *path, struct qw_err *err)
{
	json_t *ranges = json_object_get(body, "ranges");
	size_t i;

	if (!json_is_array(ranges))
		return err_set(err, EX_DATAERR, "%s.ranges: expected an array", path);
	n->n_ranges = json_array_size(ranges);
	n->ranges = xcalloc(n->n_ranges ? n->n_ranges : 1, sizeof(*n->ranges));
	for (i = 0; i < n->n_ranges; i++) {
		json_t *r = json_array_get(ranges, i), *f, *to, *k;
		struct agg_range *ar = &n->ranges[i];

		f = json_object_get(r, "from");
		to = json_object_get(r, "to");
		k = json_object_get(r, "key");
		if (!json_is_object(r) || (f && !json_is_null(f) && !json_to_double(f, &ar->from)) ||
		    (to && !json_is_null(to) && !json_to_double(to, &ar->to)) ||
		    (k && !json_is_string(k)))
			return err_set(err, EX_DATAERR,
				       "%s.ranges[%zu]: expected {\"from\": n, \"to\": n, \"key\": s}",
				       path, i);
		ar->has_from = f && !json_is_null(f);
		ar->has_to = to && !json_is_null(to);
		ar->key = k ? xstrdup(json_string_value(k)) : range_default_key(ar);
	}
	return 0;
}

/* percentiles' options: keyed (true unless given), the percents (Elasticsearch's defaults). */
static int parse_percentiles(struct agg_node *n, json_t *body, const char *path,
			     struct qw_err *err)
{
	static const double defaults[] = { 1, 5, 25, 50, 75, 95, 99 };
	json_t *p = json_object_get(body, "percents");
	json_t *k = json_object_get(body, "keyed");
	size_t i;

	n->keyed = !k || json_is_true(k);
	if (k && !json_is_boolean(k))
		return err_set(err, EX_DATAERR, "%s.keyed: expected a boolean", path);
	if (!p) {
		n->n_percents = sizeof(defaults) / sizeof(defaults[0]);
		n->percents = xmemdup(defaults, sizeof(defaults));
		return 0;
	}
	if (!json_is_array(p) || json_array_size(p) == 0)
		return err_set(err, EX_DATAERR, "%s.percents: expected an array of numbers", path);
	n->n_percents = json_array_size(p);
	n->percents = xcalloc(n->n_percents, sizeof(double));
	for (i = 0; i < n->n_percents; i++) {
		if (!json_is_number(json_array_get(p, i)) ||
		    json_number_value(json_array_get(p, i)) < 0 ||
		    json_number_value(json_array_get(p, i)) > 100)
			return err_set(err, EX_DATAERR, "%s.percents[%zu]: expected a number in [0, 100]",
				       path, i);
		n->percents[i] = json_number_value(json_array_get(p, i));
	}
	return 0;
}

/* The parser of the options of a single-field kind beyond the shared ones (NULL: none). */
typedef int (*field_kind_parser)(struct agg_node *n, json_t *body, const char *path,
				 struct qw_err *err);

static const field_kind_parser field_kind_parsers[AG_TOP_HITS + 1] = {
	[AG_TERMS] = parse_sizes,
	[AG_HISTOGRAM] = parse_histogram,
	[AG_DATE_HISTOGRAM] = parse_histogram,
	[AG_RANGE] = parse_range,
	[AG_EXT_STATS] = parse_ext_stats,
	[AG_PERCENTILES] = parse_percentiles,
};

/* The options of n's aggregation kind, from body (its keys already checked). */
static int parse_body(struct agg_node *n, json_t *body, const char *path, size_t *next_id,
		      struct qw_err *err)
{
	if (n->type == AG_MULTI_TERMS)
		return parse_multi_terms(n, body, path, next_id, err);
	if (n->type == AG_COMPOSITE)
		return parse_composite(n, body, path, next_id, err);
	if (n->type == AG_TOP_HITS)
		return parse_top_hits(n, body, path, next_id, err);
	if (parse_field_options(n, body, path, err) < 0)
		return -1;
	return field_kind_parsers[n->type] ? field_kind_parsers[n->type](n, body, path, err) : 0;
}

/*
 * n's sub-aggregations (subs, may be NULL; only bucket aggregations have
 * them), then its order by one of them, which needs them parsed.
 */
static int parse_subs(struct agg_node *n, json_t *subs, const char *path, unsigned depth,
		      size_t *next_id, struct qw_err *err)
{
	char sub_path[512];

	if (subs) {
		if (n->type != AG_TERMS && n->type != AG_HISTOGRAM && n->type != AG_DATE_HISTOGRAM &&
		    n->type != AG_RANGE && n->type != AG_MULTI_TERMS && n->type != AG_COMPOSITE)
			return err_set(err, EX_DATAERR,
				       "%s: a metric aggregation cannot have sub-aggregations", path);
		path_join(sub_path, sizeof(sub_path), path, "aggs");
		if (parse_level(subs, sub_path, depth + 1, next_id, &n->sub, err) < 0)
			return -1;
	}
	if (n->order_by_sub) {
		path_join(sub_path, sizeof(sub_path), path, agg_type_names[n->type]);
		if (resolve_order(n, sub_path, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_node(struct agg_node *n, const char *name, json_t *def, const char *path,
		      unsigned depth, size_t *next_id, struct qw_err *err)
{
	json_t *body = NULL, *subs = NULL;
	char sub_path[512];

	n->name = xstrdup(name);
	n->id = (*next_id)++;
	if (!json_is_object(def))
		return err_set(err, EX_DATAERR, "%s: expected an object", path);
	if (parse_type(n, def, path, &body, &subs, err) < 0)
		return -1;
	path_join(sub_path, sizeof(sub_path), path, agg_type_names[n->type]);
	if (!json_is_object(body))
		return err_set(err, EX_DATAERR, "%s: expected an object", sub_path);
	if (check_keys(body, sub_path, agg_type_keys[n->type], err) < 0 ||
	    parse_body(n, body, sub_path, next_id, err) < 0)
		return -1;
	return parse_subs(n, subs, path, depth, next_id, err);
}

static int parse_level(json_t *obj, const char *path, unsigned depth, size_t *next_id,
		       struct agg_req **out, struct qw_err *err)
{
	struct agg_req *req = xcalloc(1, sizeof(*req));
	const char *name;
	json_t *def;
	char node_path[512];

	*out = req;
	if (depth > AGG_MAX_DEPTH)
		return err_set(err, EX_DATAERR, "%s: aggregations nested too deeply", path);
	if (!json_is_object(obj))
		return err_set(err, EX_DATAERR, "%s: expected an object", path);
	req->nodes = xcalloc(json_object_size(obj) ? json_object_size(obj) : 1, sizeof(*req->nodes));
	json_object_foreach(obj, name, def) {
		path_join(node_path, sizeof(node_path), path, name);
		req->n++;
		if (parse_node(&req->nodes[req->n - 1], name, def, node_path, depth, next_id, err) < 0)
			return -1;
	}
	return 0;
}

struct agg_req *aggs_parse(json_t *aggs, struct qw_err *err)
{
	struct agg_req *req = NULL;
	size_t next_id = 0;

	if (parse_level(aggs, "aggs", 0, &next_id, &req, err) < 0) {
		aggs_req_free(req);
		return NULL;
	}
	req->total_nodes = next_id;
	return req;
}

static size_t fields_rec(const struct agg_req *req, const char **out, size_t max, size_t n)
{
	size_t i;

	for (i = 0; req && i < req->n; i++) {
		const struct agg_node *nd = &req->nodes[i];
		size_t j;

		if (nd->field) {
			if (n < max)
				out[n] = nd->field;
			n++;
		}
		for (j = 0; j < nd->n_srcs; j++) {
			if (n < max)
				out[n] = nd->srcs[j].field;
			n++;
		}
		for (j = 0; j < nd->n_dvs; j++) {
			if (n < max)
				out[n] = nd->dvs[j].field;
			n++;
		}
		n = fields_rec(req->nodes[i].sub, out, max, n);
	}
	return n;
}

size_t aggs_fields(const struct agg_req *req, const char **out, size_t max)
{
	return fields_rec(req, out, max, 0);
}

/* ------------------------------------------------------------------ results */

struct bucket {
	struct akey key;
	uint64_t count;
	struct agg_result *sub;
};

/* Per-split binding shared by a result tree during collection. */
struct binding {
	const struct agg_source *src;
	int *handles;                 /* by node id; -2: not bound yet */
};

struct ordmap {
	int dict;
	uint32_t *idx;                /* ordinal -> bucket index + 1 (0: none) */
	size_t cap;
};

/*
 * Integer keys of one split's collection -> bucket index + 1 (0: none),
 * for q in [base, base + cap): the integer terms (status codes, small
 * u64/i64 ranges) and the bucket numbers of a histogram, which cover the
 * split's (narrow) value range. A key outside AGG_DENSE_MAX of the others
 * goes through the hash table instead. Dropped with the ordmaps at the end
 * of collection, before buckets move.
 */
#define AGG_DENSE_MAX (1u << 18)

struct densemap {
	int64_t base;
	uint32_t *idx;
	size_t cap;
};

/* One hit of top_hits: its sort values and docvalue_fields (read when it enters the top). */
struct top_entry {
	double k[AGG_MAX_SORT];
	bool has[AGG_MAX_SORT];
	json_t *dv;
};

struct node_state {
	/* top_hits, best first */
	struct top_entry *top;
	size_t n_top;
	/* metrics */
	uint64_t count;
	double sum, sumsq, min, max;
	/* cardinality */
	uint64_t *hs;
	size_t hs_cap, hs_n;
	/* percentiles */
	double *vals;
	size_t n_vals, cap_vals;
	/* buckets */
	struct bucket *b;
	size_t nb, capb;
	uint32_t *ht;                 /* bucket index + 1; 0: empty */
	size_t ht_cap;
	struct ordmap *om;
	size_t n_om;
	struct densemap dense;
	uint64_t err_bound, total;
	/* histograms: the last bucket hit (consecutive docs are often in it)
	 * and the values [last_lo, last_hi) that fall in it (NaN: unknown) */
	bool has_last;
	double last_key, last_lo, last_hi;
	size_t last_bi;
};

struct agg_result {
	const struct agg_req *req;
	struct binding *bind;
	bool owns_bind;
	struct node_state *st;
};

static struct agg_result *result_new(const struct agg_req *req, struct binding *bind)
{
	struct agg_result *r = xcalloc(1, sizeof(*r));
	size_t i;

	r->req = req;
	r->bind = bind;
	r->st = xcalloc(req->n ? req->n : 1, sizeof(*r->st));
	for (i = 0; i < req->n; i++) {
		r->st[i].min = INFINITY;
		r->st[i].max = -INFINITY;
	}
	return r;
}

static void state_free_om(struct node_state *s)
{
	size_t i;

	for (i = 0; i < s->n_om; i++)
		free(s->om[i].idx);
	free(s->om);
	s->om = NULL;
	s->n_om = 0;
	free(s->dense.idx);
	memset(&s->dense, 0, sizeof(s->dense));
}

/* The slot of q in m, grown to hold it; NULL when q is too far from the keys already there. */
static uint32_t *dense_slot(struct densemap *m, int64_t q)
{
	int64_t lo, hi;
	uint64_t span;
	size_t cap;
	uint32_t *idx;

	if (m->cap && q >= m->base && (uint64_t)q - (uint64_t)m->base < m->cap)
		return &m->idx[(uint64_t)q - (uint64_t)m->base];
	if (q < INT64_MIN / 4 || q > INT64_MAX / 4)
		return NULL;
	if (!m->cap) {
		lo = q;
		hi = q + 1;
	} else {
		lo = q < m->base ? q : m->base;
		hi = q >= m->base + (int64_t)m->cap ? q + 1 : m->base + (int64_t)m->cap;
	}
	span = (uint64_t)(hi - lo);
	if (span > AGG_DENSE_MAX)
		return NULL;
	cap = m->cap ? m->cap * 2 : 64;
	while (cap < span)
		cap *= 2;
	if (cap > AGG_DENSE_MAX)
		cap = AGG_DENSE_MAX;
	idx = xcalloc(cap, sizeof(*idx));
	/* room on the side q went past: keys grow and shrink from where they start */
	if (m->cap && q < m->base)
		lo = hi - (int64_t)cap;
	if (m->cap)
		memcpy(idx + (m->base - lo), m->idx, m->cap * sizeof(*idx));
	free(m->idx);
	m->idx = idx;
	m->cap = cap;
	m->base = lo;
	return &m->idx[q - m->base];
}

void aggs_result_free(struct agg_result *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->req->n; i++) {
		struct node_state *s = &r->st[i];

		for (j = 0; j < s->n_top; j++)
			json_decref(s->top[j].dv);
		free(s->top);
		free(s->hs);
		free(s->vals);
		for (j = 0; j < s->nb; j++) {
			free(s->b[j].key.s);
			aggs_result_free(s->b[j].sub);
		}
		free(s->b);
		free(s->ht);
		state_free_om(s);
	}
	free(r->st);
	if (r->owns_bind && r->bind) {
		free(r->bind->handles);
		free(r->bind);
	}
	free(r);
}

struct agg_result *aggs_collect_begin(const struct agg_req *req, const struct agg_source *src)
{
	struct binding *b = xcalloc(1, sizeof(*b));
	struct agg_result *r;
	size_t i;

	b->src = src;
	b->handles = xcalloc(req->total_nodes ? req->total_nodes : 1, sizeof(int));
	for (i = 0; i < req->total_nodes; i++)
		b->handles[i] = -2;
	r = result_new(req, b);
	r->owns_bind = true;
	return r;
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static bool kind_numeric(int kind)
{
	return kind == AV_I64 || kind == AV_U64 || kind == AV_F64;
}

/* i64, u64 and f64 keys of one value are one key (a "missing" number and a column's value). */
static uint64_t key_hash(const struct akey *k)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)k->kind;

	if (k->kind == AV_STR || k->kind == AK_TUPLE)
		return hash_bytes(k->s, k->len, h);
	if (kind_numeric(k->kind)) {
		h = 0xcbf29ce484222325ULL;
		if (k->kind == AV_F64 && k->v.f == trunc(k->v.f) && fabs(k->v.f) < 9.2e18)
			return mix64((uint64_t)(int64_t)k->v.f ^ (h * 0x9e3779b97f4a7c15ULL));
		if (k->kind == AV_F64)
			return mix64(k->v.u ^ 0x5bd1e995ULL ^ (h * 0x9e3779b97f4a7c15ULL));
	}
	return mix64(k->v.u ^ (h * 0x9e3779b97f4a7c15ULL));
}

static double key_num(const struct akey *k)
{
	switch (k->kind) {
	case AV_I64:
	case AV_DATETIME:
		return (double)k->v.i;
	case AV_U64:
	case AV_BOOL:
		return (double)k->v.u;
	case AV_F64:
		return k->v.f;
	default:
		return 0;
	}
}

static int tuple_cmp(const struct akey *a, const struct akey *b, const struct agg_src_def *srcs);

/* Order of keys: numbers before strings, numbers by value, strings by bytes. */
static int key_cmp(const struct akey *a, const struct akey *b)
{
	if (a->kind == AK_TUPLE && b->kind == AK_TUPLE)
		return tuple_cmp(a, b, NULL);
	if ((a->kind == AV_STR) != (b->kind == AV_STR))
		return a->kind == AV_STR ? 1 : -1;
	if (a->kind == AV_STR) {
		size_t n = a->len < b->len ? a->len : b->len;
		int c = memcmp(a->s, b->s, n);

		if (c)
			return c;
		return a->len < b->len ? -1 : a->len > b->len;
	}
	if (a->kind == AV_U64 && b->kind == AV_U64)
		return a->v.u < b->v.u ? -1 : a->v.u > b->v.u;
	if ((a->kind == AV_I64 || a->kind == AV_DATETIME) && a->kind == b->kind)
		return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
	if (a->kind == AV_I64 && b->kind == AV_U64)
		return a->v.i < 0 || (uint64_t)a->v.i < b->v.u ? -1 : (uint64_t)a->v.i > b->v.u;
	/* a datetime against a plain number (a composite "after" value): in milliseconds, as its key */
	if ((a->kind == AV_DATETIME) != (b->kind == AV_DATETIME)) {
		double x = a->kind == AV_DATETIME ? (double)a->v.i / 1000.0 : key_num(a);
		double y = b->kind == AV_DATETIME ? (double)b->v.i / 1000.0 : key_num(b);

		return x < y ? -1 : x > y;
	}
	if (a->kind == AV_U64 && b->kind == AV_I64)
		return -key_cmp(b, a);
	return key_num(a) < key_num(b) ? -1 : key_num(a) > key_num(b);
}

/* Tuples value by value, null first; srcs (may be NULL) gives each value's direction. */
static int tuple_cmp(const struct akey *a, const struct akey *b, const struct agg_src_def *srcs)
{
	size_t oa = 0, ob = 0, i;
	int c;

	for (i = 0; oa < a->len && ob < b->len; i++) {
		struct akey x, y;
		bool hx = tuple_next(a, &oa, &x), hy = tuple_next(b, &ob, &y);

		if (hx != hy)
			c = hx ? 1 : -1;
		else
			c = hx ? key_cmp(&x, &y) : 0;
		if (c)
			return srcs && srcs[i].desc ? -c : c;
	}
	return 0;
}

static bool key_eq(const struct akey *a, const struct akey *b)
{
	if (kind_numeric(a->kind) && kind_numeric(b->kind))
		return key_cmp(a, b) == 0;
	if (a->kind != b->kind)
		return false;
	if (a->kind == AV_STR || a->kind == AK_TUPLE)
		return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
	if (a->kind == AV_F64)
		return a->v.f == b->v.f;
	return a->v.u == b->v.u;
}

static void ht_rebuild(struct node_state *s)
{
	size_t i;

	free(s->ht);
	s->ht_cap = s->ht_cap ? s->ht_cap * 2 : 64;
	/* after a reset (ht_cap 0) with many buckets: at most half full, never full */
	while (s->ht_cap < (s->nb + 1) * 2)
		s->ht_cap *= 2;
	s->ht = xcalloc(s->ht_cap, sizeof(*s->ht));
	for (i = 0; i < s->nb; i++) {
		size_t h = (size_t)key_hash(&s->b[i].key) & (s->ht_cap - 1);

		while (s->ht[h])
			h = (h + 1) & (s->ht_cap - 1);
		s->ht[h] = (uint32_t)(i + 1);
	}
}

/* The bucket for key (copied when new). */
static size_t bucket_get(struct agg_result *r, size_t node, const struct akey *key)
{
	struct node_state *s = &r->st[node];
	const struct agg_node *n = &r->req->nodes[node];
	size_t h;

	if ((s->nb + 1) * 2 > s->ht_cap)
		ht_rebuild(s);
	h = (size_t)key_hash(key) & (s->ht_cap - 1);
	while (s->ht[h]) {
		if (key_eq(&s->b[s->ht[h] - 1].key, key))
			return s->ht[h] - 1;
		h = (h + 1) & (s->ht_cap - 1);
	}
	XGROW(s->b, s->nb + 1, s->capb);
	memset(&s->b[s->nb], 0, sizeof(s->b[s->nb]));
	s->b[s->nb].key = *key;
	if (key->kind == AV_STR || key->kind == AK_TUPLE)
		s->b[s->nb].key.s = xmemdup(key->s ? key->s : "", key->len + 1);
	if (n->sub)
		s->b[s->nb].sub = result_new(n->sub, r->bind);
	s->ht[h] = (uint32_t)(s->nb + 1);
	return s->nb++;
}

static void hs_add(struct node_state *s, uint64_t h)
{
	size_t i;

	if ((s->hs_n + 1) * 2 > s->hs_cap) {
		uint64_t *old = s->hs;
		size_t oc = s->hs_cap;

		s->hs_cap = oc ? oc * 2 : 64;
		s->hs = xcalloc(s->hs_cap, sizeof(*s->hs));
		s->hs_n = 0;
		for (i = 0; i < oc; i++)
			if (old[i])
				hs_add(s, old[i]);
		free(old);
	}
	if (h == 0)
		h = 1;
	i = (size_t)h & (s->hs_cap - 1);
	while (s->hs[i]) {
		if (s->hs[i] == h)
			return;
		i = (i + 1) & (s->hs_cap - 1);
	}
	s->hs[i] = h;
	s->hs_n++;
}

static bool value_num(const struct agg_value *v, double *d)
{
	switch (v->kind) {
	case AV_I64:
		*d = (double)v->v.i;
		return true;
	case AV_U64:
	case AV_BOOL:
		*d = (double)v->v.u;
		return true;
	case AV_F64:
		*d = v->v.f;
		return true;
	case AV_DATETIME:
		*d = (double)v->v.i / 1000.0; /* milliseconds, as Elasticsearch */
		return true;
	default:
		return false;
	}
}

static void collect_node(struct agg_result *r, size_t node, uint32_t doc);
static void add_values(struct agg_result *r, size_t node, uint32_t doc, const struct agg_value *vals,
		       size_t nv);

static void collect_sub(struct agg_result *sub, uint32_t doc)
{
	size_t i;

	for (i = 0; i < sub->req->n; i++)
		collect_node(sub, i, doc);
}

static size_t term_bucket(struct agg_result *r, size_t node, const struct agg_value *v)
{
	struct node_state *s = &r->st[node];
	const struct agg_source *src = r->bind->src;
	struct akey key;
	struct ordmap *om = NULL;
	uint32_t *slot = NULL;
	size_t i, bi;

	if (v->kind == AV_STR && v->dict >= 0) {
		for (i = 0; i < s->n_om; i++)
			if (s->om[i].dict == v->dict)
				om = &s->om[i];
		if (!om) {
			s->om = xreallocarray(s->om, s->n_om + 1, sizeof(*s->om));
			om = &s->om[s->n_om++];
			memset(om, 0, sizeof(*om));
			om->dict = v->dict;
		}
		if (v->ord < om->cap && om->idx[v->ord])
			return om->idx[v->ord] - 1;
	} else if ((v->kind == AV_U64 && v->v.u <= (uint64_t)INT64_MAX) || v->kind == AV_I64) {
		/* u64 and i64 of one value are one key (key_eq): one slot */
		slot = dense_slot(&s->dense, v->kind == AV_U64 ? (int64_t)v->v.u : v->v.i);
		if (slot && *slot)
			return *slot - 1;
	}
	memset(&key, 0, sizeof(key));
	key.kind = v->kind;
	if (v->kind == AV_STR) {
		key.s = (char *)v->s;
		key.len = v->len;
		if (!key.s && v->dict >= 0 && src->dict_term) {
			const char *ts = NULL;
			size_t tl = 0;

			if (src->dict_term(src->ctx, v->dict, v->ord, &ts, &tl) == 0) {
				key.s = (char *)ts;
				key.len = tl;
			}
		}
	} else {
		key.v.u = v->v.u;
		if (v->kind == AV_F64)
			key.v.f = v->v.f;
	}
	bi = bucket_get(r, node, &key);
	if (slot)
		*slot = (uint32_t)(bi + 1);
	if (om) {
		if (v->ord >= om->cap) {
			size_t nc = om->cap ? om->cap : 64;

			while (nc <= v->ord)
				nc *= 2;
			om->idx = xreallocarray(om->idx, nc, sizeof(*om->idx));
			memset(om->idx + om->cap, 0, (nc - om->cap) * sizeof(*om->idx));
			om->cap = nc;
		}
		om->idx[v->ord] = (uint32_t)(bi + 1);
	}
	return bi;
}

/* The bucket number of value d: the one rule of histogram keys (key = q * interval + offset). */
static double histogram_q(const struct agg_node *n, double d)
{
	return floor((d - n->offset) / n->interval);
}

/*
 * The least value whose bucket number is q or more, NaN when not found
 * near q * interval + offset. histogram_q() is monotonic in d (each
 * rounded operation is, the interval is positive), so the values of
 * bucket q are exactly [lower(q), lower(q + 1)): a value in there needs no
 * division, and gets the very bucket histogram_q() would give it.
 */
static double histogram_lower(const struct agg_node *n, double q)
{
	double c = q * n->interval + n->offset;
	int i;

	if (!isfinite(c))
		return NAN;
	for (i = 0; i < 64 && histogram_q(n, c) >= q; i++)
		c = nextafter(c, -INFINITY);
	if (histogram_q(n, c) >= q)
		return NAN;
	for (i = 0; i < 64 && histogram_q(n, c) < q; i++)
		c = nextafter(c, INFINITY);
	return histogram_q(n, c) >= q ? c : NAN;
}

/* The histogram bucket of value d (within the hard bounds). */
static size_t histogram_bucket(struct agg_result *r, size_t node, double d)
{
	const struct agg_node *n = &r->req->nodes[node];
	struct node_state *s = &r->st[node];
	double q;
	uint32_t *slot = NULL;
	struct akey key;
	size_t bi;

	if (s->has_last && d >= s->last_lo && d < s->last_hi)
		return s->last_bi;
	q = histogram_q(n, d);
	memset(&key, 0, sizeof(key));
	key.kind = AV_F64;
	key.v.f = q * n->interval + n->offset;
	if (s->has_last && s->last_key == key.v.f)
		return s->last_bi;
	/* the bucket number q names the key: a dense slot for it */
	if (fabs(q) < 9.0e15) {
		slot = dense_slot(&s->dense, (int64_t)q);
		if (slot && *slot) {
			bi = *slot - 1;
			goto out;
		}
	}
	bi = bucket_get(r, node, &key);
	if (slot)
		*slot = (uint32_t)(bi + 1);
out:
	s->has_last = true;
	s->last_key = key.v.f;
	s->last_bi = bi;
	s->last_lo = s->last_hi = NAN;
	if (fabs(q) < 9.0e15) {
		s->last_lo = histogram_lower(n, q);
		s->last_hi = histogram_lower(n, q + 1);
	}
	return bi;
}

#define AGG_MAX_TUPLES 4096     /* value combinations of one doc looked at by multi_terms */

/* The key value of v for a source: the term, or its histogram bucket. */
static bool source_key(const struct agg_src_def *d, const struct agg_source *src,
		       const struct agg_value *v, struct akey *k)
{
	double x;

	memset(k, 0, sizeof(*k));
	if (d->type != AG_TERMS) {
		if (!value_num(v, &x))
			return false;
		k->kind = AV_F64;
		k->v.f = floor(x / d->interval) * d->interval;
		return true;
	}
	k->kind = v->kind;
	if (v->kind != AV_STR) {
		k->v.u = v->v.u;
		if (v->kind == AV_F64)
			k->v.f = v->v.f;
		return true;
	}
	k->s = (char *)v->s;
	k->len = v->len;
	if (!k->s && v->dict >= 0 && src->dict_term) {
		const char *ts = NULL;
		size_t tl = 0;

		if (src->dict_term(src->ctx, v->dict, v->ord, &ts, &tl) < 0)
			return false;
		k->s = (char *)ts;
		k->len = tl;
	}
	return k->s != NULL || k->len == 0;
}

/* The source's handle of field in binding slot id, bound on first use
 * (-1: no doc of the split has it). */
static int bind_slot(struct agg_result *r, size_t id, const char *field)
{
	int *handle = &r->bind->handles[id];

	if (*handle == -2)
		*handle = r->bind->src->bind(r->bind->src->ctx, field);
	return *handle;
}

static int bind_src(struct agg_result *r, const struct agg_src_def *d)
{
	return bind_slot(r, d->id, d->field);
}

static int node_handle(struct agg_result *r, size_t node)
{
	const struct agg_node *n = &r->req->nodes[node];

	return bind_slot(r, n->id, n->field);
}

/* multi_terms, composite: one bucket per combination of the values of the doc's fields. */
static void collect_tuple(struct agg_result *r, size_t node, uint32_t doc)
{
	const struct agg_node *n = &r->req->nodes[node];
	struct node_state *s = &r->st[node];
	const struct agg_source *src = r->bind->src;
	struct agg_value vals[AGG_MAX_VALUES];
	struct buf enc = BUF_INIT, key = BUF_INIT;
	size_t *off = xcalloc(n->n_srcs * (AGG_MAX_VALUES + 1), sizeof(*off));
	size_t *cnt = xcalloc(n->n_srcs, sizeof(*cnt)), *pos = xcalloc(n->n_srcs, sizeof(*pos));
	size_t i, j, nv, combos = 0;

	for (j = 0; j < n->n_srcs; j++) {
		int handle = bind_src(r, &n->srcs[j]);
		size_t *o = off + j * (AGG_MAX_VALUES + 1);

		nv = handle < 0 ? 0 : src->values(src->ctx, handle, doc, vals, AGG_MAX_VALUES);
		if (nv > AGG_MAX_VALUES)
			nv = AGG_MAX_VALUES;
		for (i = 0; i < nv; i++) {
			struct akey k;

			if (!source_key(&n->srcs[j], src, &vals[i], &k))
				continue;
			o[cnt[j]++] = enc.len;
			tuple_add(&enc, &k);
		}
		if (cnt[j] == 0 && n->srcs[j].missing_bucket) {
			o[cnt[j]++] = enc.len;
			tuple_add(&enc, NULL);
		}
		if (cnt[j] == 0)
			goto out;
		o[cnt[j]] = enc.len;
	}
	/* every combination, first source slowest */
	for (;;) {
		struct akey k;
		size_t bi;

		buf_reset(&key);
		for (j = 0; j < n->n_srcs; j++) {
			size_t *o = off + j * (AGG_MAX_VALUES + 1);

			buf_add(&key, enc.data + o[pos[j]], o[pos[j] + 1] - o[pos[j]]);
		}
		memset(&k, 0, sizeof(k));
		k.kind = AK_TUPLE;
		k.s = key.data;
		k.len = key.len;
		if (!n->has_after || tuple_cmp(&k, &n->after, n->srcs) > 0) {
			bi = bucket_get(r, node, &k);
			s->b[bi].count++;
			s->total++;
			if (s->b[bi].sub)
				collect_sub(s->b[bi].sub, doc);
		}
		if (++combos >= AGG_MAX_TUPLES)
			break;
		for (j = n->n_srcs; j-- > 0;) {
			if (++pos[j] < cnt[j])
				break;
			pos[j] = 0;
		}
		if (j == (size_t)-1)
			break;
	}
out:
	buf_free(&key);
	buf_free(&enc);
	free(pos);
	free(cnt);
	free(off);
}

/* a ranks before b (< 0): by each sort field, docs without a value last. */
static int top_cmp(const struct agg_node *n, const struct top_entry *a, const struct top_entry *b)
{
	size_t i;

	for (i = 0; i < n->n_srcs; i++) {
		if (a->has[i] != b->has[i])
			return a->has[i] ? -1 : 1;
		if (a->has[i] && a->k[i] != b->k[i])
			return (a->k[i] < b->k[i]) != n->srcs[i].desc ? -1 : 1;
	}
	return 0;
}

/* Whether e would be kept, and where (after the entries that rank with it). */
static bool top_pos(const struct node_state *s, const struct agg_node *n, const struct top_entry *e,
		    size_t *pos)
{
	size_t keep = n->size + n->from, i = s->n_top;

	while (i > 0 && top_cmp(n, e, &s->top[i - 1]) < 0)
		i--;
	*pos = i;
	return i < keep;
}

/* Insert e (its dv is taken) at pos, dropping the last entry when full. */
static void top_insert(struct node_state *s, const struct agg_node *n, struct top_entry *e, size_t pos)
{
	size_t keep = n->size + n->from;

	if (!s->top)
		s->top = xcalloc(keep, sizeof(*s->top));
	if (s->n_top == keep) {
		json_decref(s->top[keep - 1].dv);
		s->n_top--;
	}
	memmove(s->top + pos + 1, s->top + pos, (s->n_top - pos) * sizeof(*s->top));
	s->top[pos] = *e;
	s->n_top++;
}

static json_t *value_json(const struct agg_source *src, const struct agg_value *v)
{
	struct buf b = BUF_INIT;
	json_t *j;

	switch (v->kind) {
	case AV_STR: {
		const char *ts = v->s;
		size_t tl = v->len;

		if (!ts && (v->dict < 0 || !src->dict_term ||
			    src->dict_term(src->ctx, v->dict, v->ord, &ts, &tl) < 0))
			return json_null();
		return json_stringn(ts ? ts : "", tl);
	}
	case AV_I64:
		return json_integer(v->v.i);
	case AV_U64:
		return v->v.u <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v->v.u)
						     : json_real((double)v->v.u);
	case AV_F64:
		return json_real(v->v.f);
	case AV_BOOL:
		return json_boolean(v->v.u);
	case AV_DATETIME:
		datetime_format_rfc3339(v->v.i, &b);
		j = json_string(buf_str(&b));
		buf_free(&b);
		return j;
	}
	return json_null();
}


static void collect_top(struct agg_result *r, size_t node, uint32_t doc)
{
	const struct agg_node *n = &r->req->nodes[node];
	struct node_state *s = &r->st[node];
	const struct agg_source *src = r->bind->src;
	struct agg_value vals[AGG_MAX_VALUES];
	struct top_entry e;
	size_t i, j, nv, pos;
	int h;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < n->n_srcs; i++) {
		h = bind_src(r, &n->srcs[i]);
		nv = h < 0 ? 0 : src->values(src->ctx, h, doc, vals, AGG_MAX_VALUES);
		if (nv > AGG_MAX_VALUES)
			nv = AGG_MAX_VALUES;
		/* a multi-valued field sorts by its smallest value ascending, its largest descending */
		for (j = 0; j < nv; j++) {
			double d;

			if (!value_num(&vals[j], &d))
				continue;
			if (!e.has[i] || (n->srcs[i].desc ? d > e.k[i] : d < e.k[i]))
				e.k[i] = d;
			e.has[i] = true;
		}
	}
	if (!top_pos(s, n, &e, &pos))
		return;
	e.dv = json_object();
	for (i = 0; i < n->n_dvs; i++) {
		json_t *arr;

		h = bind_src(r, &n->dvs[i]);
		nv = h < 0 ? 0 : src->values(src->ctx, h, doc, vals, AGG_MAX_VALUES);
		if (nv > AGG_MAX_VALUES)
			nv = AGG_MAX_VALUES;
		if (nv == 1) {
			json_object_set_new(e.dv, n->dvs[i].field, value_json(src, &vals[0]));
		} else if (nv > 1) {
			arr = json_array();
			for (j = 0; j < nv; j++)
				json_array_append_new(arr, value_json(src, &vals[j]));
			json_object_set_new(e.dv, n->dvs[i].field, arr);
		}
	}
	top_insert(s, n, &e, pos);
}



static void collect_node(struct agg_result *r, size_t node, uint32_t doc)
{
	const struct agg_node *n = &r->req->nodes[node];
	const struct agg_source *src = r->bind->src;
	struct agg_value vals[AGG_MAX_VALUES];
	int handle;
	size_t nv;

	if (n->type == AG_MULTI_TERMS || n->type == AG_COMPOSITE) {
		collect_tuple(r, node, doc);
		return;
	}
	if (n->type == AG_TOP_HITS) {
		collect_top(r, node, doc);
		return;
	}
	handle = node_handle(r, node);
	if (handle < 0 && n->type != AG_RANGE && !n->has_missing)
		return;
	nv = handle < 0 ? 0 : src->values(src->ctx, handle, doc, vals, AGG_MAX_VALUES);
	if (nv > AGG_MAX_VALUES)
		nv = AGG_MAX_VALUES;
	if (nv == 0 && n->has_missing) {
		vals[0] = n->missing;
		nv = 1;
	}
	add_values(r, node, doc, vals, nv);
}

/* Counts the nv values of doc into node (collect_node's and
 * aggs_collect_docs()'s one rule, whichever way the values were read). */
static void add_values(struct agg_result *r, size_t node, uint32_t doc, const struct agg_value *vals,
		       size_t nv)
{
	const struct agg_node *n = &r->req->nodes[node];
	struct node_state *s = &r->st[node];
	const struct agg_source *src = r->bind->src;
	size_t i, j;
	double d;

	switch (n->type) {
	case AG_TERMS:
		for (i = 0; i < nv; i++) {
			size_t bi = term_bucket(r, node, &vals[i]);

			s->b[bi].count++;
			s->total++;
			if (s->b[bi].sub)
				collect_sub(s->b[bi].sub, doc);
		}
		break;
	case AG_HISTOGRAM:
	case AG_DATE_HISTOGRAM:
		for (i = 0; i < nv; i++) {
			size_t bi;

			if (!value_num(&vals[i], &d))
				continue;
			if (n->has_hard && (d < n->hard_min || d > n->hard_max))
				continue;
			bi = histogram_bucket(r, node, d);
			s->b[bi].count++;
			if (s->b[bi].sub)
				collect_sub(s->b[bi].sub, doc);
		}
		break;
	case AG_RANGE:
		if (s->nb == 0) {
			for (j = 0; j < n->n_ranges; j++) {
				struct akey key;

				memset(&key, 0, sizeof(key));
				key.kind = AV_U64;
				key.v.u = j;
				bucket_get(r, node, &key);
			}
		}
		for (i = 0; i < nv; i++) {
			if (!value_num(&vals[i], &d))
				continue;
			for (j = 0; j < n->n_ranges; j++) {
				const struct agg_range *ar = &n->ranges[j];

				if ((ar->has_from && d < ar->from) || (ar->has_to && d >= ar->to))
					continue;
				s->b[j].count++;
				if (s->b[j].sub)
					collect_sub(s->b[j].sub, doc);
			}
		}
		break;
	case AG_CARDINALITY:
		for (i = 0; i < nv; i++) {
			uint64_t h = 0xcbf29ce484222325ULL;

			if (vals[i].kind == AV_STR) {
				const char *ts = vals[i].s;
				size_t tl = vals[i].len;

				if (!ts && vals[i].dict >= 0 && src->dict_term)
					if (src->dict_term(src->ctx, vals[i].dict, vals[i].ord, &ts, &tl) < 0)
						continue;
				h = hash_bytes(ts, tl, h);
			} else {
				h = mix64(hash_bytes(&vals[i].v, sizeof(vals[i].v), h ^ vals[i].kind));
			}
			hs_add(s, h);
		}
		break;
	case AG_PERCENTILES:
		for (i = 0; i < nv; i++) {
			if (!value_num(&vals[i], &d))
				continue;
			XGROW(s->vals, s->n_vals + 1, s->cap_vals);
			s->vals[s->n_vals++] = d;
		}
		break;
	default:
		for (i = 0; i < nv; i++) {
			if (!value_num(&vals[i], &d))
				continue;
			s->count++;
			s->sum += d;
			s->sumsq += d * d;
			if (d < s->min)
				s->min = d;
			if (d > s->max)
				s->max = d;
		}
		break;
	}
}

/* aggs_collect_docs()'s count of one value per doc: add_values() of each,
 * with the loop inside the terms and histograms without sub-aggregations. */
static void add_batch(struct agg_result *r, size_t node, const uint32_t *docs,
		      const struct agg_value *vals, size_t n)
{
	const struct agg_node *nd = &r->req->nodes[node];
	struct node_state *s = &r->st[node];
	size_t j, bi;
	double d;

	if (nd->sub || (nd->type != AG_TERMS && nd->type != AG_HISTOGRAM &&
			nd->type != AG_DATE_HISTOGRAM)) {
		for (j = 0; j < n; j++)
			add_values(r, node, docs[j], &vals[j], 1);
		return;
	}
	if (nd->type == AG_TERMS) {
		for (j = 0; j < n; j++) {
			const struct agg_value *v = &vals[j];
			uint64_t off = v->v.u - (uint64_t)s->dense.base;

			/* term_bucket()'s dense slot, looked up here for a key seen before */
			if (v->kind == AV_U64 && v->v.u <= (uint64_t)INT64_MAX && s->dense.cap &&
			    (int64_t)v->v.u >= s->dense.base && off < s->dense.cap && s->dense.idx[off])
				bi = s->dense.idx[off] - 1;
			else
				bi = term_bucket(r, node, v);
			s->b[bi].count++;
			s->total++;
		}
		return;
	}
	for (j = 0; j < n; j++) {
		if (!value_num(&vals[j], &d))
			continue;
		if (nd->has_hard && (d < nd->hard_min || d > nd->hard_max))
			continue;
		bi = histogram_bucket(r, node, d);
		s->b[bi].count++;
	}
}

void aggs_collect_doc(struct agg_result *res, uint32_t doc)
{
	collect_sub(res, doc);
}

void aggs_collect_docs(struct agg_result *res, const uint32_t *docs, size_t n)
{
	const struct agg_source *src = res->bind->src;
	struct agg_value vals[AGGS_BATCH];
	size_t i, j;

	if (n > AGGS_BATCH) {
		for (j = 0; j < n; j += AGGS_BATCH)
			aggs_collect_docs(res, docs + j, n - j < AGGS_BATCH ? n - j : AGGS_BATCH);
		return;
	}
	for (i = 0; i < res->req->n; i++) {
		const struct agg_node *nd = &res->req->nodes[i];
		bool batch = false;
		int handle;

		/* one value per doc, read for the whole batch at once */
		if (src->values_one && nd->type != AG_MULTI_TERMS && nd->type != AG_COMPOSITE &&
		    nd->type != AG_TOP_HITS) {
			handle = node_handle(res, i);
			batch = handle >= 0 && src->values_one(src->ctx, handle, docs, n, vals);
		}
		if (batch)
			add_batch(res, i, docs, vals, n);
		else
			for (j = 0; j < n; j++)
				collect_node(res, i, docs[j]);
	}
}

static int cmp_count_desc(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return key_cmp(&x->key, &y->key);
}

/* Keep the best keep buckets by count; returns the largest dropped count. */
static uint64_t cut_buckets(struct node_state *s, size_t keep)
{
	uint64_t dropped_max = 0;
	size_t i;

	if (s->nb <= keep)
		return 0;
	qsort(s->b, s->nb, sizeof(*s->b), cmp_count_desc);
	for (i = keep; i < s->nb; i++) {
		if (s->b[i].count > dropped_max)
			dropped_max = s->b[i].count;
		free(s->b[i].key.s);
		aggs_result_free(s->b[i].sub);
	}
	s->nb = keep;
	s->ht_cap = 0;
	s->has_last = false;
	ht_rebuild(s);
	return dropped_max;
}

/* Terms-like nodes ordered by count, largest first, keep split_size buckets per split (as Quickwit). */
static bool by_count_desc(const struct agg_node *n)
{
	return (n->type == AG_TERMS || n->type == AG_MULTI_TERMS) && !n->order_by_key &&
	       !n->order_by_sub && !n->order_asc;
}

static int cmp_composite(const void *a, const void *b, void *ctx)
{
	const struct agg_node *n = ctx;

	return tuple_cmp(&((const struct bucket *)a)->key, &((const struct bucket *)b)->key, n->srcs);
}

/* Keep the size first composite buckets: exactly the ones that can be among the size first overall. */
static void cut_composite(struct node_state *s, const struct agg_node *n)
{
	size_t i;

	if (s->nb > 1)
		qsort_r(s->b, s->nb, sizeof(*s->b), cmp_composite, (void *)n);
	for (i = n->size; i < s->nb; i++) {
		free(s->b[i].key.s);
		aggs_result_free(s->b[i].sub);
	}
	if (s->nb > n->size)
		s->nb = n->size;
	/* the buckets moved: the hash table is rebuilt for the merge */
	s->ht_cap = 0;
	ht_rebuild(s);
}

static void end_rec(struct agg_result *r)
{
	size_t i, j;

	for (i = 0; i < r->req->n; i++) {
		struct node_state *s = &r->st[i];

		state_free_om(s);
		if (by_count_desc(&r->req->nodes[i]))
			s->err_bound += cut_buckets(s, r->req->nodes[i].split_size);
		else if (r->req->nodes[i].type == AG_COMPOSITE)
			cut_composite(s, &r->req->nodes[i]);
		for (j = 0; j < s->nb; j++)
			if (s->b[j].sub)
				end_rec(s->b[j].sub);
	}
	r->bind = NULL;
}

void aggs_collect_end(struct agg_result *res)
{
	struct binding *b = res->bind;

	end_rec(res);
	if (res->owns_bind && b) {
		free(b->handles);
		free(b);
	}
	res->owns_bind = false;
}

static void merge_rec(struct agg_result *into, struct agg_result *from)
{
	size_t i, j, k;

	for (i = 0; i < into->req->n; i++) {
		struct node_state *a = &into->st[i], *b = &from->st[i];

		a->count += b->count;
		a->sum += b->sum;
		a->sumsq += b->sumsq;
		if (b->min < a->min)
			a->min = b->min;
		if (b->max > a->max)
			a->max = b->max;
		a->err_bound += b->err_bound;
		a->total += b->total;
		for (k = 0; k < b->n_top; k++) {
			size_t pos;

			if (top_pos(a, &into->req->nodes[i], &b->top[k], &pos))
				top_insert(a, &into->req->nodes[i], &b->top[k], pos);
			else
				json_decref(b->top[k].dv);
		}
		b->n_top = 0;
		for (k = 0; k < b->hs_cap; k++)
			if (b->hs[k])
				hs_add(a, b->hs[k]);
		for (k = 0; k < b->n_vals; k++) {
			XGROW(a->vals, a->n_vals + 1, a->cap_vals);
			a->vals[a->n_vals++] = b->vals[k];
		}
		for (j = 0; j < b->nb; j++) {
			struct bucket *bb = &b->b[j];
			size_t bi = bucket_get(into, i, &bb->key);

			into->st[i].b[bi].count += bb->count;
			if (bb->sub) {
				if (into->st[i].b[bi].sub)
					merge_rec(into->st[i].b[bi].sub, bb->sub);
			}
		}
	}
}

void aggs_merge(struct agg_result *into, struct agg_result *from)
{
	if (!from)
		return;
	merge_rec(into, from);
	aggs_result_free(from);
}

/* ------------------------------------------------------------------ output */

static json_t *num_or_null(double v, bool has)
{
	return has ? json_real(v) : json_null();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The value DDSketch (relative accuracy 1%, as tantivy) reports for v. */
static double ddsketch_value(double v)
{
	const double gamma = 1.01 / 0.99;
	double lg = log(gamma);
	double a = fabs(v);
	double key;

	if (a < 1e-9)
		return 0;
	key = ceil(log(a) / lg);
	a = exp(key * lg) * (2.0 / (1.0 + gamma));
	return v < 0 ? -a : a;
}

static json_t *key_json(const struct akey *k)
{
	switch (k->kind) {
	case AV_STR:
		return json_stringn(k->s ? k->s : "", k->len);
	case AV_I64:
		return json_integer(k->v.i);
	case AV_U64:
		return k->v.u <= (uint64_t)INT64_MAX ? json_integer((json_int_t)k->v.u)
						     : json_real((double)k->v.u);
	case AV_BOOL:
		return json_integer((json_int_t)k->v.u);
	case AV_DATETIME:
		return json_integer(k->v.i / 1000);
	case AV_F64:
	default:
		return json_real(k->v.f);
	}
}

static json_t *result_json(const struct agg_req *req, struct agg_result *r);
static void num_key(double v, char *out, size_t n);

/* Copy the results of a bucket's sub-aggregations (sub_res NULL: empty ones) into bucket. */
static void add_sub_results(json_t *bucket, const struct agg_req *sub, struct agg_result *sub_res)
{
	json_t *subs = result_json(sub, sub_res);
	const char *k;
	json_t *v;

	json_object_foreach(subs, k, v)
		json_object_set(bucket, k, v);
	json_decref(subs);
}

static json_t *bucket_json(const struct agg_node *n, struct bucket *b)
{
	json_t *o = json_object();

	if (b->key.kind == AK_TUPLE) {
		json_t *key = n->type == AG_COMPOSITE ? json_object() : json_array();
		struct buf str = BUF_INIT;
		size_t off = 0, j;
		struct akey c;

		for (j = 0; j < n->n_srcs && off < b->key.len; j++) {
			json_t *cv;

			if (!tuple_next(&b->key, &off, &c))
				cv = json_null();
			else if (n->srcs[j].type == AG_DATE_HISTOGRAM)
				cv = json_integer((json_int_t)llround(c.v.f));
			else
				cv = key_json(&c);
			if (j)
				buf_addc(&str, '|');
			if (json_is_string(cv))
				buf_add(&str, json_string_value(cv), json_string_length(cv));
			else if (json_is_integer(cv))
				buf_addf(&str, "%" JSON_INTEGER_FORMAT, json_integer_value(cv));
			else if (json_is_real(cv)) {
				char kb[64];

				num_key(json_real_value(cv), kb, sizeof(kb));
				buf_adds(&str, kb);
			}
			if (n->type == AG_COMPOSITE)
				json_object_set_new(key, n->srcs[j].name, cv);
			else
				json_array_append_new(key, cv);
		}
		json_object_set_new(o, "key", key);
		if (n->type == AG_MULTI_TERMS)
			json_object_set_new(o, "key_as_string", json_string(buf_str(&str)));
		buf_free(&str);
	} else {
		json_object_set_new(o, "key", key_json(&b->key));
	}
	if (n->type == AG_TERMS && b->key.kind == AV_DATETIME) {
		struct buf s = BUF_INIT;

		datetime_format_rfc3339(b->key.v.i, &s);
		json_object_set_new(o, "key_as_string", json_string(buf_str(&s)));
		buf_free(&s);
	} else if (n->type == AG_TERMS && b->key.kind == AV_BOOL) {
		json_object_set_new(o, "key_as_string", json_string(b->key.v.u ? "true" : "false"));
	}
	if (n->type == AG_DATE_HISTOGRAM) {
		struct buf s = BUF_INIT;

		datetime_format_rfc3339((int64_t)llround(b->key.v.f * 1000.0), &s);
		json_object_set_new(o, "key_as_string", json_string(buf_str(&s)));
		buf_free(&s);
	}
	json_object_set_new(o, "doc_count", json_integer((json_int_t)b->count));
	if (n->sub)
		add_sub_results(o, n->sub, b->sub);
	return o;
}

static int cmp_key_asc(const void *a, const void *b)
{
	return key_cmp(&((const struct bucket *)a)->key, &((const struct bucket *)b)->key);
}

/* Variance of the values seen, population and sample (ES's "variance" is the population one). */
struct ext_stats {
	bool has, has_sampling;
	double avg, var_pop, var_samp;
};

static struct ext_stats ext_of(const struct node_state *s)
{
	struct ext_stats e = { false, false, 0, 0, 0 };
	double n;

	if (!s || s->count == 0)
		return e;
	n = (double)s->count;
	e.has = true;
	e.avg = s->sum / n;
	e.var_pop = s->sumsq / n - e.avg * e.avg;
	if (e.var_pop < 0)
		e.var_pop = 0;
	if (s->count > 1) {
		e.has_sampling = true;
		e.var_samp = e.var_pop * n / (n - 1);
	}
	return e;
}

/* The value of metric of the metric aggregation m (false: none, as an empty bucket's min). */
static bool metric_value(const struct agg_node *m, const struct node_state *s, const char *metric,
			 double *out)
{
	struct ext_stats e = ext_of(s);
	bool has = s && s->count > 0;

	switch (m->type) {
	case AG_VALUE_COUNT:
		*out = s ? (double)s->count : 0;
		return true;
	case AG_CARDINALITY:
		*out = s ? (double)s->hs_n : 0;
		return true;
	case AG_SUM:
		*out = s ? s->sum : 0;
		return true;
	case AG_MIN:
		*out = has ? s->min : 0;
		return has;
	case AG_MAX:
		*out = has ? s->max : 0;
		return has;
	case AG_AVG:
		*out = e.avg;
		return has;
	default:
		break;
	}
	if (strcmp(metric, "count") == 0 || strcmp(metric, "sum") == 0) {
		*out = !s ? 0 : metric[1] == 'o' ? (double)s->count : s->sum;
		return true;
	}
	if (strcmp(metric, "min") == 0)
		*out = has ? s->min : 0;
	else if (strcmp(metric, "max") == 0)
		*out = has ? s->max : 0;
	else if (strcmp(metric, "avg") == 0)
		*out = e.avg;
	else if (strcmp(metric, "sum_of_squares") == 0)
		*out = has ? s->sumsq : 0;
	else if (strcmp(metric, "variance") == 0 || strcmp(metric, "variance_population") == 0)
		*out = e.var_pop;
	else if (strcmp(metric, "std_deviation") == 0 ||
		 strcmp(metric, "std_deviation_population") == 0)
		*out = sqrt(e.var_pop);
	else if (strcmp(metric, "variance_sampling") == 0)
		*out = e.var_samp;
	else if (strcmp(metric, "std_deviation_sampling") == 0)
		*out = sqrt(e.var_samp);
	if (strstr(metric, "sampling"))
		return e.has_sampling;
	return has;
}

static bool bucket_metric(const struct agg_node *n, const struct bucket *b, double *v)
{
	const struct node_state *s = b->sub ? &b->sub->st[n->order_sub] : NULL;

	return metric_value(&n->sub->nodes[n->order_sub], s, n->order_metric, v);
}

/* The order the request asks for; ties by count, largest first, then key. */
static int cmp_bucket_order(const void *a, const void *b, void *ctx)
{
	const struct agg_node *n = ctx;
	const struct bucket *x = a, *y = b;
	int c;

	if (n->type == AG_COMPOSITE)
		return tuple_cmp(&x->key, &y->key, n->srcs);
	if (n->order_by_key) {
		c = key_cmp(&x->key, &y->key);
		return n->order_asc ? c : -c;
	}
	if (n->order_by_sub) {
		double vx, vy;
		bool hx = bucket_metric(n, x, &vx), hy = bucket_metric(n, y, &vy);

		if (hx != hy)
			return hx ? -1 : 1;     /* buckets without the metric last */
		if (hx && vx != vy)
			return (vx < vy) == n->order_asc ? -1 : 1;
		if (x->count != y->count)
			return x->count > y->count ? -1 : 1;
		return key_cmp(&x->key, &y->key);
	}
	if (x->count != y->count)
		return (x->count < y->count) == n->order_asc ? -1 : 1;
	return key_cmp(&x->key, &y->key);
}

static void sort_buckets(struct node_state *s, const struct agg_node *n)
{
	if (s->nb > 1) {
		qsort_r(s->b, s->nb, sizeof(*s->b), cmp_bucket_order, (void *)n);
		s->ht_cap = 0;
		s->has_last = false;
		ht_rebuild(s);
	}
}

static json_t *terms_json(const struct agg_node *n, struct agg_result *r, size_t i)
{
	struct node_state *s = &r->st[i];
	json_t *o = json_object(), *arr = json_array();
	uint64_t err = s->err_bound, returned = 0;
	size_t j, shown = 0;

	if (by_count_desc(n))
		err += cut_buckets(s, n->split_size);
	sort_buckets(s, n);
	for (j = 0; j < s->nb && shown < n->size; j++) {
		if (s->b[j].count < n->min_doc_count)
			continue;
		json_array_append_new(arr, bucket_json(n, &s->b[j]));
		returned += s->b[j].count;
		shown++;
	}
	json_object_set_new(o, "doc_count_error_upper_bound", json_integer((json_int_t)err));
	json_object_set_new(o, "sum_other_doc_count",
			    json_integer((json_int_t)(s->total > returned ? s->total - returned : 0)));
	json_object_set_new(o, "buckets", arr);
	return o;
}

static json_t *composite_json(const struct agg_node *n, struct agg_result *r, size_t i)
{
	struct node_state *s = r ? &r->st[i] : NULL;
	json_t *o = json_object(), *arr = json_array();
	size_t j, nb = s ? s->nb : 0;

	if (s)
		sort_buckets(s, n);
	if (nb > n->size)
		nb = n->size;
	for (j = 0; j < nb; j++)
		json_array_append_new(arr, bucket_json(n, &s->b[j]));
	if (nb > 0)
		json_object_set_new(o, "after_key", json_object_get(json_array_get(arr, nb - 1), "key") ?
				    json_deep_copy(json_object_get(json_array_get(arr, nb - 1), "key")) :
				    json_null());
	json_object_set_new(o, "buckets", arr);
	return o;
}

/* Rust's shortest form of a number, as Quickwit's keyed histogram keys ("100", "2.5"). */
static void num_key(double v, char *out, size_t n)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, n, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	if (strchr(out, 'e') && fabs(v) < 1e300 && v == trunc(v))
		snprintf(out, n, "%.0f", v);
}

/* Buckets as an array, or (keyed) an object by key string. */
static void add_bucket(json_t *arr, bool keyed, json_t *b)
{
	json_t *k = json_object_get(b, "key_as_string");
	char kb[64];

	if (!keyed) {
		json_array_append_new(arr, b);
		return;
	}
	if (k) {
		json_object_set_new(arr, json_string_value(k), b);
		return;
	}
	k = json_object_get(b, "key");
	if (json_is_string(k)) {
		json_object_set_new(arr, json_string_value(k), b);
		return;
	}
	num_key(json_number_value(k), kb, sizeof(kb));
	json_object_set_new(arr, kb, b);
}

static json_t *histogram_json(const struct agg_node *n, struct agg_result *r, size_t i)
{
	struct node_state *s = &r->st[i];
	json_t *o = json_object(), *arr = n->keyed ? json_object() : json_array();
	double lo = INFINITY, hi = -INFINITY, k;
	size_t j, idx;

	for (j = 0; j < s->nb; j++) {
		if (s->b[j].key.v.f < lo)
			lo = s->b[j].key.v.f;
		if (s->b[j].key.v.f > hi)
			hi = s->b[j].key.v.f;
	}
	if (n->min_doc_count == 0 && n->has_ext) {
		double elo = floor((n->ext_min - n->offset) / n->interval) * n->interval + n->offset;
		double ehi = floor((n->ext_max - n->offset) / n->interval) * n->interval + n->offset;

		if (n->has_hard) {
			if (elo < n->hard_min)
				elo = floor((n->hard_min - n->offset) / n->interval) * n->interval + n->offset;
			if (ehi > n->hard_max)
				ehi = floor((n->hard_max - n->offset) / n->interval) * n->interval + n->offset;
		}
		if (elo < lo)
			lo = elo;
		if (ehi > hi)
			hi = ehi;
	}
	if (n->min_doc_count == 0 && lo <= hi && (hi - lo) / n->interval < AGG_MAX_BUCKETS) {
		/* the keys collected, sorted: one pass snaps each filled key to them */
		size_t nold = s->nb, p = 0;
		double *old = xcalloc(nold ? nold : 1, sizeof(*old)), eps = n->interval * 1e-9;

		for (j = 0; j < nold; j++)
			old[j] = s->b[j].key.v.f;
		qsort(old, nold, sizeof(*old), cmp_double);
		for (idx = 0;; idx++) {
			struct akey key;

			k = lo + (double)idx * n->interval;
			if (k > hi + n->interval / 2)
				break;
			memset(&key, 0, sizeof(key));
			key.kind = AV_F64;
			key.v.f = k;
			/* snap to an existing bucket key despite rounding */
			while (p < nold && old[p] <= k - eps)
				p++;
			if (p < nold && fabs(old[p] - k) < eps)
				key.v.f = old[p];
			bucket_get(r, i, &key);
		}
		free(old);
	}
	if (s->nb > 1)
		qsort(s->b, s->nb, sizeof(*s->b), cmp_key_asc);
	s->ht_cap = 0;
	s->has_last = false;
	ht_rebuild(s);
	for (j = 0; j < s->nb; j++) {
		if (s->b[j].count < n->min_doc_count)
			continue;
		add_bucket(arr, n->keyed, bucket_json(n, &s->b[j]));
	}
	json_object_set_new(o, "buckets", arr);
	return o;
}

/* A terms or multi_terms result with no documents: no bucket, no error. */
static json_t *empty_terms_json(void)
{
	json_t *o = json_object();

	json_object_set_new(o, "doc_count_error_upper_bound", json_integer(0));
	json_object_set_new(o, "sum_other_doc_count", json_integer(0));
	json_object_set_new(o, "buckets", json_array());
	return o;
}

/* range's buckets, one per range requested, in their order, empty ones too. */
static json_t *range_json(const struct agg_node *n, const struct node_state *s)
{
	json_t *o = json_object(), *arr = n->keyed ? json_object() : json_array();
	size_t j;

	for (j = 0; j < n->n_ranges; j++) {
		const struct agg_range *ar = &n->ranges[j];
		bool filled = s && j < s->nb;
		json_t *b = json_object();

		json_object_set_new(b, "key", json_string(ar->key));
		if (ar->has_from)
			json_object_set_new(b, "from", json_real(ar->from));
		if (ar->has_to)
			json_object_set_new(b, "to", json_real(ar->to));
		json_object_set_new(b, "doc_count",
				    json_integer(filled ? (json_int_t)s->b[j].count : 0));
		if (n->sub)
			add_sub_results(b, n->sub, filled ? s->b[j].sub : NULL);
		add_bucket(arr, n->keyed, b);
	}
	json_object_set_new(o, "buckets", arr);
	return o;
}

/* A single-value metric's result: {"value": v}. */
static json_t *single_value_json(json_t *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "value", v);
	return o;
}

/* What extended_stats adds to stats: squares, variances, deviations and their bounds. */
static void add_ext_stats(json_t *o, const struct agg_node *n, const struct node_state *s)
{
	bool has = s && s->count > 0;
	struct ext_stats e = ext_of(s);
	double sd = sqrt(e.var_pop), ss = sqrt(e.var_samp);
	json_t *bounds = json_object();

	json_object_set_new(o, "sum_of_squares", num_or_null(has ? s->sumsq : 0, has));
	json_object_set_new(o, "variance", num_or_null(e.var_pop, has));
	json_object_set_new(o, "variance_population", num_or_null(e.var_pop, has));
	json_object_set_new(o, "variance_sampling", num_or_null(e.var_samp, e.has_sampling));
	json_object_set_new(o, "std_deviation", num_or_null(sd, has));
	json_object_set_new(o, "std_deviation_population", num_or_null(sd, has));
	json_object_set_new(o, "std_deviation_sampling", num_or_null(ss, e.has_sampling));
	json_object_set_new(bounds, "upper", num_or_null(e.avg + n->sigma * sd, has));
	json_object_set_new(bounds, "lower", num_or_null(e.avg - n->sigma * sd, has));
	json_object_set_new(bounds, "upper_population", num_or_null(e.avg + n->sigma * sd, has));
	json_object_set_new(bounds, "lower_population", num_or_null(e.avg - n->sigma * sd, has));
	json_object_set_new(bounds, "upper_sampling",
			    num_or_null(e.avg + n->sigma * ss, e.has_sampling));
	json_object_set_new(bounds, "lower_sampling",
			    num_or_null(e.avg - n->sigma * ss, e.has_sampling));
	json_object_set_new(o, "std_deviation_bounds", bounds);
}

/* stats' result, and extended_stats' (stats and more). */
static json_t *stats_json(const struct agg_node *n, const struct node_state *s)
{
	bool has = s && s->count > 0;
	json_t *o = json_object();

	json_object_set_new(o, "count", json_integer(s ? (json_int_t)s->count : 0));
	json_object_set_new(o, "min", num_or_null(has ? s->min : 0, has));
	json_object_set_new(o, "max", num_or_null(has ? s->max : 0, has));
	json_object_set_new(o, "avg", num_or_null(has ? s->sum / (double)s->count : 0, has));
	json_object_set_new(o, "sum", json_real(s ? s->sum : 0));
	if (n->type == AG_EXT_STATS)
		add_ext_stats(o, n, s);
	return o;
}

/* top_hits' hits from n->from on: each its sort values and its docvalue_fields. */
static json_t *top_hits_json(const struct agg_node *n, const struct node_state *s)
{
	json_t *o = json_object(), *hits = json_array();
	size_t j;

	for (j = n->from; s && j < s->n_top; j++) {
		json_t *h = json_object(), *sv = json_array();
		size_t k;

		for (k = 0; k < n->n_srcs; k++) {
			double d = s->top[j].k[k];

			if (!s->top[j].has[k])
				json_array_append_new(sv, json_null());
			else if (d == trunc(d) && fabs(d) < 9e15)
				json_array_append_new(sv, json_integer((json_int_t)d));
			else
				json_array_append_new(sv, json_real(d));
		}
		json_object_set_new(h, "sort", sv);
		json_object_set(h, "docvalue_fields", s->top[j].dv);
		json_array_append_new(hits, h);
	}
	json_object_set_new(o, "hits", hits);
	return o;
}

/* percentiles' values, keyed by "%.1f" of the percent or as {key, value} pairs (sorts s->vals). */
static json_t *percentiles_json(const struct agg_node *n, struct node_state *s)
{
	json_t *o = json_object(), *vals = n->keyed ? json_object() : json_array();
	size_t j;

	if (s && s->n_vals)
		qsort(s->vals, s->n_vals, sizeof(double), cmp_double);
	for (j = 0; j < n->n_percents; j++) {
		double q = n->percents[j] / 100.0;
		json_t *v = json_null();

		if (s && s->n_vals) {
			size_t rank = (size_t)(q * (double)(s->n_vals - 1));

			json_decref(v);
			v = json_real(ddsketch_value(s->vals[rank]));
		}
		if (n->keyed) {
			char kbuf[64];

			snprintf(kbuf, sizeof(kbuf), "%.1f", n->percents[j]);
			json_object_set_new(vals, kbuf, v);
		} else {
			json_t *e = json_object();

			json_object_set_new(e, "key", json_real(n->percents[j]));
			json_object_set_new(e, "value", v);
			json_array_append_new(vals, e);
		}
	}
	json_object_set_new(o, "values", vals);
	return o;
}

static json_t *node_json(const struct agg_node *n, struct agg_result *r, size_t i)
{
	struct node_state *s = r ? &r->st[i] : NULL;
	bool has = s && s->count > 0;
	json_t *o;

	switch (n->type) {
	case AG_COMPOSITE:
		return composite_json(n, r, i);
	case AG_MULTI_TERMS:
	case AG_TERMS:
		return r ? terms_json(n, r, i) : empty_terms_json();
	case AG_HISTOGRAM:
	case AG_DATE_HISTOGRAM:
		if (r)
			return histogram_json(n, r, i);
		o = json_object();
		json_object_set_new(o, "buckets", n->keyed ? json_object() : json_array());
		return o;
	case AG_RANGE:
		return range_json(n, s);
	case AG_MIN:
		return single_value_json(num_or_null(has ? s->min : 0, has));
	case AG_MAX:
		return single_value_json(num_or_null(has ? s->max : 0, has));
	case AG_AVG:
		return single_value_json(num_or_null(has ? s->sum / (double)s->count : 0, has));
	case AG_SUM:
		return single_value_json(json_real(s ? s->sum : 0));
	case AG_VALUE_COUNT:
		return single_value_json(json_real(s ? (double)s->count : 0));
	case AG_CARDINALITY:
		return single_value_json(json_real(s ? (double)s->hs_n : 0));
	case AG_STATS:
	case AG_EXT_STATS:
		return stats_json(n, s);
	case AG_TOP_HITS:
		return top_hits_json(n, s);
	case AG_PERCENTILES:
		return percentiles_json(n, s);
	}
	return json_object();
}

static json_t *result_json(const struct agg_req *req, struct agg_result *r)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < req->n; i++)
		json_object_set_new(o, req->nodes[i].name, node_json(&req->nodes[i], r, i));
	return o;
}

json_t *aggs_to_json(const struct agg_req *req, struct agg_result *res)
{
	return result_json(req, res);
}
