/*
 * aggs_test: aggregation parsing, collection over two "splits", merge and
 * output, on the documents of Quickwit's aggregations REST scenario, with
 * the values that scenario expects.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/aggs.h"
#include "mapping/datetime.h"
#include "tap.h"

static const char *split1[] = {
	"{\"name\": \"Albert\", \"response\": 100, \"id\": 1, \"date\": \"2015-01-01T12:10:30Z\", \"host\": \"192.168.0.10\", \"tags\": [\"nice\"]}",
	"{\"name\": \"Fred\", \"response\": 100, \"id\": 3, \"date\": \"2015-01-01T12:10:30Z\", \"host\": \"192.168.0.1\", \"tags\": [\"nice\"]}",
	"{\"name\": \"Manfred\", \"response\": 120, \"id\": 13, \"date\": \"2015-01-11T12:10:30Z\", \"host\": \"192.168.0.11\", \"tags\": [\"nice\"]}",
	"{\"name\": \"Horst\", \"id\": 2, \"date\": \"2015-01-01T11:11:30Z\", \"host\": \"192.168.0.10\", \"tags\": [\"nice\", \"cool\"]}",
	"{\"name\": \"Fritz\", \"response\": 30, \"id\": 5, \"host\": \"192.168.0.1\", \"tags\": [\"nice\", \"cool\"]}",
	NULL,
};
static const char *split2[] = {
	"{\"name\": \"Fritz\", \"high_prec_test\": 1769070189829214200, \"response\": 30, \"id\": 0}",
	"{\"name\": \"Fritz\", \"response\": 30, \"id\": 0}",
	"{\"name\": \"Holger\", \"response\": 30, \"id\": 4, \"date\": \"2015-02-06T00:00:00Z\", \"host\": \"192.168.0.10\"}",
	"{\"name\": \"Werner\", \"response\": 20, \"id\": 5, \"date\": \"2015-01-02T00:00:00Z\", \"host\": \"192.168.0.10\"}",
	"{\"name\": \"Bernhard\", \"response\": 130, \"id\": 14, \"date\": \"2015-02-16T00:00:00Z\"}",
	NULL,
};

struct jsrc {
	json_t *docs;
	const char *fields[16];
	size_t n_fields;
};

static int js_bind(void *ctx, const char *path)
{
	struct jsrc *s = ctx;
	size_t i;

	for (i = 0; i < s->n_fields; i++)
		if (strcmp(s->fields[i], path) == 0)
			return (int)i;
	s->fields[s->n_fields] = path;
	return (int)s->n_fields++;
}

static void js_one(const char *path, json_t *v, struct agg_value *out)
{
	memset(out, 0, sizeof(*out));
	out->dict = -1;
	if (json_is_string(v)) {
		int64_t us;

		if (strcmp(path, "date") == 0 &&
		    datetime_parse("rfc3339", json_string_value(v), json_string_length(v), &us)) {
			out->kind = AV_DATETIME;
			out->v.i = us;
			return;
		}
		out->kind = AV_STR;
		out->s = json_string_value(v);
		out->len = json_string_length(v);
	} else if (json_is_integer(v)) {
		out->kind = json_integer_value(v) >= 0 ? AV_U64 : AV_I64;
		out->v.i = json_integer_value(v);
	} else {
		out->kind = AV_F64;
		out->v.f = json_number_value(v);
	}
}

static size_t js_values(void *ctx, int handle, uint32_t doc, struct agg_value *out, size_t max)
{
	struct jsrc *s = ctx;
	const char *path = s->fields[handle];
	json_t *v = json_object_get(json_array_get(s->docs, doc), path);
	size_t i;

	if (!v)
		return 0;
	if (!json_is_array(v)) {
		if (max)
			js_one(path, v, out);
		return 1;
	}
	for (i = 0; i < json_array_size(v) && i < max; i++)
		js_one(path, json_array_get(v, i), &out[i]);
	return json_array_size(v);
}

/* values_one over the documents: false when a doc has not exactly one value */
static bool js_values_one(void *ctx, int handle, const uint32_t *docs, size_t n, struct agg_value *out)
{
	for (size_t i = 0; i < n; i++)
		if (js_values(ctx, handle, docs[i], &out[i], 1) != 1)
			return false;
	return true;
}

/* Collects the docs of one split, doc by doc, or in batches (aggs_collect_docs
 * with values_one: what search.c does over fast columns). */
static struct agg_result *run_split(const struct agg_req *req, const char **lines, bool batch)
{
	struct jsrc s;
	struct agg_source src = { .ctx = &s, .bind = js_bind, .values = js_values,
				  .values_one = batch ? js_values_one : NULL };
	struct agg_result *r;
	uint32_t i, docs[AGGS_BATCH];

	memset(&s, 0, sizeof(s));
	s.docs = json_array();
	for (i = 0; lines[i]; i++)
		json_array_append_new(s.docs, json_loads(lines[i], 0, NULL));
	r = aggs_collect_begin(req, &src);
	for (i = 0; lines[i]; i++) {
		if (!batch)
			aggs_collect_doc(r, i);
		docs[i] = i;
	}
	if (batch)
		aggs_collect_docs(r, docs, i);
	aggs_collect_end(r);
	json_decref(s.docs);
	return r;
}

/* Run aggs over both splits; returns the "aggregations" object. */
static json_t *run(const char *aggs_json)
{
	json_t *aggs = json_loads(aggs_json, 0, NULL);
	struct qw_err err = QW_ERR_INIT;
	struct agg_req *req = aggs_parse(aggs, &err);
	struct agg_result *r1, *r2;
	json_t *out;

	json_decref(aggs);
	if (!req) {
		tap_diag("parse failed: %s", err.msg);
		return json_object();
	}
	r1 = run_split(req, split1, false);
	r2 = run_split(req, split2, false);
	aggs_merge(r1, r2);
	out = aggs_to_json(req, r1);
	aggs_result_free(r1);
	/* the batch path must give the same answer, to the byte */
	r1 = run_split(req, split1, true);
	r2 = run_split(req, split2, true);
	aggs_merge(r1, r2);
	{
		json_t *again = aggs_to_json(req, r1);
		char *a = json_dumps(out, JSON_SORT_KEYS), *b = json_dumps(again, JSON_SORT_KEYS);

		ok(a && b && strcmp(a, b) == 0, "batch collection gives the same as doc by doc: %.200s",
		   aggs_json);
		free(a);
		free(b);
		json_decref(again);
	}
	aggs_result_free(r1);
	aggs_req_free(req);
	return out;
}

static bool num_is(json_t *v, double want)
{
	return json_is_number(v) && fabs(json_number_value(v) - want) < 1e-6;
}

static void check_bucket(json_t *buckets, size_t i, const char *key, double num_key, long count)
{
	json_t *b = json_array_get(buckets, i);
	json_t *k = json_object_get(b, "key");
	bool key_ok = key ? (json_is_string(k) && strcmp(json_string_value(k), key) == 0)
			  : num_is(k, num_key);

	ok(key_ok && json_integer_value(json_object_get(b, "doc_count")) == count,
	   "bucket %zu: key %s count %ld", i, key ? key : "(number)", count);
}

static void check_parse_error(const char *aggs_json, const char *want)
{
	json_t *aggs = json_loads(aggs_json, 0, NULL);
	struct qw_err err = QW_ERR_INIT;
	struct agg_req *req = aggs_parse(aggs, &err);

	if (!ok(!req && err.code == 65 && strstr(err.msg, want), "parse error for %s", aggs_json))
		tap_diag("got '%s'", err.msg);
	aggs_req_free(req);
	json_decref(aggs);
}

/*
 * Integer keys far apart and of mixed kinds, in an order that makes the
 * collector's dense key maps grow down, grow up and give up (keys more
 * than 2^18 apart), with u64, i64 and f64 of one value (one key), counted
 * doc by doc and in batches against counts made here.
 */
struct varr {
	struct agg_value v[2048];
	size_t n;
};

static int va_bind(void *ctx, const char *path)
{
	return 0;
}

static size_t va_values(void *ctx, int handle, uint32_t doc, struct agg_value *out, size_t max)
{
	struct varr *a = ctx;

	if (max)
		out[0] = a->v[doc];
	return 1;
}

static bool va_values_one(void *ctx, int handle, const uint32_t *docs, size_t n, struct agg_value *out)
{
	struct varr *a = ctx;

	for (size_t i = 0; i < n; i++)
		out[i] = a->v[docs[i]];
	return true;
}

static void va_add(struct varr *a, enum agg_value_kind kind, int64_t i, uint64_t u, double f)
{
	struct agg_value *v = &a->v[a->n++];

	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->dict = -1;
	if (kind == AV_I64)
		v->v.i = i;
	else if (kind == AV_U64)
		v->v.u = u;
	else
		v->v.f = f;
}

/* The value of v as a number, for the oracle and for matching keys. */
static long double va_num(const struct agg_value *v)
{
	return v->kind == AV_I64 ? (long double)v->v.i
	       : v->kind == AV_U64 ? (long double)v->v.u : (long double)v->v.f;
}

static json_t *va_run(const char *aggs_json, struct varr *a, bool batch)
{
	json_t *aggs = json_loads(aggs_json, 0, NULL), *out;
	struct qw_err err = QW_ERR_INIT;
	struct agg_req *req = aggs_parse(aggs, &err);
	struct agg_source src = { .ctx = a, .bind = va_bind, .values = va_values,
				  .values_one = batch ? va_values_one : NULL };
	struct agg_result *r;
	uint32_t docs[AGGS_BATCH];
	size_t i, j;

	json_decref(aggs);
	if (!req)
		return json_object();
	r = aggs_collect_begin(req, &src);
	for (i = 0; i < a->n; i += AGGS_BATCH) {
		size_t n = a->n - i < AGGS_BATCH ? a->n - i : AGGS_BATCH;

		for (j = 0; j < n; j++)
			docs[j] = (uint32_t)(i + j);
		if (batch)
			aggs_collect_docs(r, docs, n);
		else
			for (j = 0; j < n; j++)
				aggs_collect_doc(r, docs[j]);
	}
	aggs_collect_end(r);
	out = aggs_to_json(req, r);
	aggs_result_free(r);
	aggs_req_free(req);
	return out;
}

/* Every bucket's count is the number of values whose key (value, or its
 * histogram bucket of width interval when > 0) is the bucket's key, and
 * the buckets hold every value. */
static void check_va(const char *what, json_t *o, const struct varr *a, double interval)
{
	json_t *b = json_object_get(json_object_get(o, "a"), "buckets"), *e;
	size_t i, j, total = 0;
	bool good = json_array_size(b) > 0;

	json_array_foreach(b, i, e) {
		json_t *k = json_object_get(e, "key");
		long double key = json_is_integer(k) ? (long double)json_integer_value(k)
						      : (long double)json_real_value(k);
		json_int_t want = 0;

		for (j = 0; j < a->n; j++) {
			long double x = va_num(&a->v[j]);

			if (interval > 0)
				x = floorl(x / interval) * interval;
			if (x == key || (json_is_real(k) && fabsl(x - key) <= fabsl(key) * 1e-15L))
				want++;
		}
		if (json_integer_value(json_object_get(e, "doc_count")) != want) {
			tap_diag("%s: key %Lg: %lld docs, want %lld", what, key,
				 (long long)json_integer_value(json_object_get(e, "doc_count")), (long long)want);
			good = false;
		}
		total += (size_t)json_integer_value(json_object_get(e, "doc_count"));
	}
	ok(good && total == a->n, "%s: every bucket counts its values (%zu of %zu docs)", what, total, a->n);
}

static void test_dense_keys(void)
{
	struct varr a;
	const char *terms = "{\"a\": {\"terms\": {\"field\": \"x\", \"size\": 100}}}";
	const char *histo = "{\"a\": {\"histogram\": {\"field\": \"x\", \"interval\": 10, \"min_doc_count\": 1}}}";
	json_t *o, *p;
	size_t k;

	memset(&a, 0, sizeof(a));
	for (k = 0; k < 3; k++) {
		va_add(&a, AV_U64, 0, 200, 0);
		va_add(&a, AV_U64, 0, 100000, 0);          /* grows up */
		va_add(&a, AV_I64, -5, 0, 0);              /* grows down */
		va_add(&a, AV_I64, 200, 0, 0);             /* the u64 200's key */
		va_add(&a, AV_U64, 0, 10000000, 0);        /* too far: hashed */
		va_add(&a, AV_F64, 0, 0, 200.0);           /* 200 again */
		va_add(&a, AV_U64, 0, UINT64_MAX, 0);      /* above int64 */
		va_add(&a, AV_I64, INT64_MIN, 0, 0);
		va_add(&a, AV_I64, -200000, 0, 0);         /* more than 2^18 below 100000: hashed */
		va_add(&a, AV_U64, 0, 17, 0);
		va_add(&a, AV_U64, 0, 3, 0);
		va_add(&a, AV_I64, -262000, 0, 0);
	}
	for (k = 0; k < 2; k++) {
		o = va_run(terms, &a, k == 1);
		check_va(k ? "terms of far integer keys, batch" : "terms of far integer keys", o, &a, 0);
		p = json_object_get(json_object_get(o, "a"), "buckets");
		ok(json_array_size(p) == 10, "terms: 10 keys (u64, i64 and f64 200 are one), got %zu",
		   json_array_size(p));
		json_decref(o);
	}
	/* a run of keys rising, then keys falling below it one at a time (the
	 * map grows down under keys already in it), then all of them again */
	memset(&a, 0, sizeof(a));
	for (k = 0; k < 2; k++) {
		size_t j;

		for (j = 0; j < 100; j++)
			va_add(&a, AV_U64, 0, 1000 + j, 0);
		for (j = 0; j < 900; j++)
			va_add(&a, AV_I64, 999 - (int64_t)j, 0, 0);
	}
	for (k = 0; k < 2; k++) {
		o = va_run("{\"a\": {\"terms\": {\"field\": \"x\", \"size\": 2000}}}", &a, k == 1);
		check_va(k ? "terms of keys growing down, batch" : "terms of keys growing down", o, &a, 0);
		json_decref(o);
	}
	/* histogram: bucket numbers far apart and on both sides of 0 */
	memset(&a, 0, sizeof(a));
	for (k = 0; k < 4; k++) {
		va_add(&a, AV_U64, 0, 5, 0);
		va_add(&a, AV_U64, 0, 15 + 10 * k, 0);
		va_add(&a, AV_U64, 0, 3000000, 0);         /* bucket 300000: beyond 2^18 of bucket 0 */
		va_add(&a, AV_I64, -25, 0, 0);
		va_add(&a, AV_F64, 0, 0, 7.5);
		va_add(&a, AV_I64, -2000000, 0, 0);
		va_add(&a, AV_U64, 0, 1000, 0);
		va_add(&a, AV_F64, 0, 0, -0.5);
	}
	for (k = 0; k < 2; k++) {
		o = va_run(histo, &a, k == 1);
		check_va(k ? "histogram of far keys, batch" : "histogram of far keys", o, &a, 10);
		json_decref(o);
	}
	/* values on, just below and just above the bucket bounds of an inexact
	 * interval, rising (as logs come): each in the bucket of the rule
	 * floor((v - offset) / interval) computed here in double */
	memset(&a, 0, sizeof(a));
	for (k = 0; k < 20; k++) {
		double edge = (double)k * 0.1 + 0.05;

		va_add(&a, AV_F64, 0, 0, nextafter(edge, -INFINITY));
		va_add(&a, AV_F64, 0, 0, edge);
		va_add(&a, AV_F64, 0, 0, nextafter(edge, INFINITY));
	}
	for (k = 0; k < 2; k++) {
		json_t *e;
		size_t i, j, total = 0;
		bool good = true;

		o = va_run("{\"a\": {\"histogram\": {\"field\": \"x\", \"interval\": 0.1, \"offset\": 0.05,"
			   " \"min_doc_count\": 1}}}", &a, k == 1);
		p = json_object_get(json_object_get(o, "a"), "buckets");
		json_array_foreach(p, i, e) {
			double key = json_number_value(json_object_get(e, "key"));
			json_int_t want = 0;

			for (j = 0; j < a.n; j++)
				if (floor((a.v[j].v.f - 0.05) / 0.1) * 0.1 + 0.05 == key)
					want++;
			good = good && json_integer_value(json_object_get(e, "doc_count")) == want;
			total += (size_t)json_integer_value(json_object_get(e, "doc_count"));
		}
		ok(good && total == a.n, "histogram%s: values at bucket bounds counted by the rule (%zu of %zu)",
		   k ? ", batch" : "", total, a.n);
		json_decref(o);
	}
}

int main(void)
{
	json_t *o, *b;
	char *dump;

	test_dense_keys();
	/* date_histogram with offset, and stats sub-aggregation */
	o = run("{\"date_histo\": {\"date_histogram\": {\"field\": \"date\", \"fixed_interval\": \"30d\","
		" \"offset\": \"-4d\"}, \"aggs\": {\"response\": {\"stats\": {\"field\": \"response\"}}}}}");
	b = json_object_get(json_object_get(o, "date_histo"), "buckets");
	ok(json_array_size(b) == 2, "date_histogram: 2 buckets");
	check_bucket(b, 0, NULL, 1420070400000.0, 5);
	check_bucket(b, 1, NULL, 1422662400000.0, 2);
	ok(strcmp(json_string_value(json_object_get(json_array_get(b, 0), "key_as_string")),
		  "2015-01-01T00:00:00Z") == 0, "date_histogram: key_as_string");
	{
		json_t *st = json_object_get(json_array_get(b, 0), "response");
		ok(json_integer_value(json_object_get(st, "count")) == 4 &&
		   num_is(json_object_get(st, "avg"), 85) && num_is(json_object_get(st, "min"), 20) &&
		   num_is(json_object_get(st, "max"), 120) && num_is(json_object_get(st, "sum"), 340),
		   "stats sub-aggregation of bucket 0");
		st = json_object_get(json_array_get(b, 1), "response");
		ok(json_integer_value(json_object_get(st, "count")) == 2 &&
		   num_is(json_object_get(st, "avg"), 80), "stats sub-aggregation of bucket 1");
	}
	json_decref(o);

	/* extended bounds add an empty bucket */
	o = run("{\"h\": {\"date_histogram\": {\"field\": \"date\", \"fixed_interval\": \"30d\","
		" \"offset\": \"-4d\", \"extended_bounds\": {\"min\": 1420070400000, \"max\": 1425254400000}}}}");
	b = json_object_get(json_object_get(o, "h"), "buckets");
	ok(json_array_size(b) == 3, "extended_bounds: 3 buckets");
	check_bucket(b, 2, NULL, 1425254400000.0, 0);
	json_decref(o);

	/* range */
	o = run("{\"r\": {\"range\": {\"field\": \"response\", \"ranges\": [{\"to\": 50, \"key\": \"fast\"},"
		" {\"from\": 50, \"to\": 80, \"key\": \"medium\"}, {\"from\": 80, \"key\": \"slow\"}]}}}");
	b = json_object_get(json_object_get(o, "r"), "buckets");
	check_bucket(b, 0, "fast", 0, 5);
	check_bucket(b, 1, "medium", 0, 0);
	check_bucket(b, 2, "slow", 0, 4);
	ok(!json_object_get(json_array_get(b, 0), "from") &&
	   num_is(json_object_get(json_array_get(b, 0), "to"), 50), "range: open lower bound has no 'from'");
	json_decref(o);

	/* terms, multi-valued */
	o = run("{\"hosts\": {\"terms\": {\"field\": \"host\"}}, \"tags\": {\"terms\": {\"field\": \"tags\"}}}");
	b = json_object_get(json_object_get(o, "hosts"), "buckets");
	ok(json_array_size(b) == 3, "terms hosts: 3 buckets");
	check_bucket(b, 0, "192.168.0.10", 0, 4);
	check_bucket(b, 1, "192.168.0.1", 0, 2);
	check_bucket(b, 2, "192.168.0.11", 0, 1);
	ok(json_integer_value(json_object_get(json_object_get(o, "hosts"), "sum_other_doc_count")) == 0,
	   "terms hosts: sum_other_doc_count 0");
	b = json_object_get(json_object_get(o, "tags"), "buckets");
	check_bucket(b, 0, "nice", 0, 5);
	check_bucket(b, 1, "cool", 0, 2);
	json_decref(o);

	/* terms with split_size 1: split-level pruning, as Quickwit */
	o = run("{\"names\": {\"terms\": {\"field\": \"name\", \"size\": 1, \"split_size\": 1}}}");
	b = json_object_get(json_object_get(o, "names"), "buckets");
	check_bucket(b, 0, "Fritz", 0, 2);
	ok(json_integer_value(json_object_get(json_object_get(o, "names"), "sum_other_doc_count")) == 8,
	   "split_size 1: sum_other_doc_count 8");
	ok(json_integer_value(json_object_get(json_object_get(o, "names"), "doc_count_error_upper_bound")) == 3,
	   "split_size 1: doc_count_error_upper_bound 3");
	json_decref(o);
	o = run("{\"names\": {\"terms\": {\"field\": \"name\", \"size\": 1, \"shard_size\": 5}}}");
	b = json_object_get(json_object_get(o, "names"), "buckets");
	check_bucket(b, 0, "Fritz", 0, 3);
	ok(json_integer_value(json_object_get(json_object_get(o, "names"), "sum_other_doc_count")) == 7,
	   "shard_size 5: sum_other_doc_count 7");
	ok(json_integer_value(json_object_get(json_object_get(o, "names"), "doc_count_error_upper_bound")) == 1,
	   "shard_size 5: doc_count_error_upper_bound 1");
	json_decref(o);

	/* order by key */
	o = run("{\"n\": {\"terms\": {\"field\": \"name\", \"size\": 2, \"order\": {\"_key\": \"asc\"}}}}");
	b = json_object_get(json_object_get(o, "n"), "buckets");
	check_bucket(b, 0, "Albert", 0, 1);
	check_bucket(b, 1, "Bernhard", 0, 1);
	json_decref(o);

	/* percentiles (DDSketch values as tantivy) */
	o = run("{\"m\": {\"date_histogram\": {\"field\": \"date\", \"fixed_interval\": \"30d\", \"offset\": \"-4d\"},"
		" \"aggs\": {\"response\": {\"percentiles\": {\"field\": \"response\", \"percents\": [85], \"keyed\": false}}}}}");
	b = json_object_get(json_object_get(o, "m"), "buckets");
	{
		json_t *v0 = json_object_get(json_array_get(json_object_get(json_object_get(
			json_array_get(b, 0), "response"), "values"), 0), "value");
		json_t *v1 = json_object_get(json_array_get(json_object_get(json_object_get(
			json_array_get(b, 1), "response"), "values"), 0), "value");
		ok(json_is_number(v0) && fabs(json_number_value(v0) - 100.49456770856702) < 0.1,
		   "percentile 85 of bucket 0 is about 100.49");
		ok(json_is_number(v1) && fabs(json_number_value(v1) - 30.2617) < 0.1,
		   "percentile 85 of bucket 1 is about 30.26");
	}
	json_decref(o);

	/* histogram fills gaps */
	o = run("{\"m\": {\"histogram\": {\"field\": \"response\", \"interval\": 50}}}");
	b = json_object_get(json_object_get(o, "m"), "buckets");
	ok(json_array_size(b) == 3, "histogram: 3 buckets");
	check_bucket(b, 0, NULL, 0, 5);
	check_bucket(b, 1, NULL, 50, 0);
	check_bucket(b, 2, NULL, 100, 4);
	json_decref(o);

	/* cardinality, extended_stats, value_count, min/max/avg/sum */
	o = run("{\"n\": {\"cardinality\": {\"field\": \"name\"}}, \"r\": {\"cardinality\": {\"field\": \"response\"}},"
		" \"d\": {\"cardinality\": {\"field\": \"date\"}}, \"e\": {\"extended_stats\": {\"field\": \"response\"}},"
		" \"c\": {\"value_count\": {\"field\": \"response\"}}, \"mi\": {\"min\": {\"field\": \"response\"}},"
		" \"ma\": {\"max\": {\"field\": \"response\"}}, \"a\": {\"avg\": {\"field\": \"response\"}},"
		" \"s\": {\"sum\": {\"field\": \"response\"}}, \"none\": {\"avg\": {\"field\": \"nope\"}}}");
	ok(num_is(json_object_get(json_object_get(o, "n"), "value"), 8), "cardinality of name is 8");
	ok(num_is(json_object_get(json_object_get(o, "r"), "value"), 5), "cardinality of response is 5");
	ok(num_is(json_object_get(json_object_get(o, "d"), "value"), 6), "cardinality of date is 6");
	ok(num_is(json_object_get(json_object_get(o, "e"), "sum_of_squares"), 55300), "sum_of_squares 55300");
	ok(num_is(json_object_get(json_object_get(o, "c"), "value"), 9), "value_count 9");
	ok(num_is(json_object_get(json_object_get(o, "mi"), "value"), 20), "min 20");
	ok(num_is(json_object_get(json_object_get(o, "ma"), "value"), 130), "max 130");
	ok(num_is(json_object_get(json_object_get(o, "a"), "value"), 590.0 / 9), "avg");
	ok(num_is(json_object_get(json_object_get(o, "s"), "value"), 590), "sum 590");
	ok(json_is_null(json_object_get(json_object_get(o, "none"), "value")), "avg of a missing field is null");
	json_decref(o);

	/* big u64 keys keep their precision */
	o = run("{\"names\": {\"terms\": {\"field\": \"high_prec_test\"}}}");
	dump = json_dumps(o, JSON_COMPACT);
	ok(strstr(dump, "\"key\":1769070189829214200") != NULL, "terms key keeps u64 precision: %s", dump);
	free(dump);
	json_decref(o);

	/* extended_stats: population and sample variance, bounds at sigma (values from python's statistics) */
	o = run("{\"e\": {\"extended_stats\": {\"field\": \"response\", \"sigma\": 3}}}");
	b = json_object_get(o, "e");
	ok(num_is(json_object_get(b, "variance"), 1846.9135802469136) &&
	   num_is(json_object_get(b, "variance_population"), 1846.9135802469136) &&
	   num_is(json_object_get(b, "variance_sampling"), 2077.777777777778) &&
	   num_is(json_object_get(b, "std_deviation"), 42.97573245736381) &&
	   num_is(json_object_get(b, "std_deviation_sampling"), 45.582647770591144),
	   "extended_stats: variances as statistics.pvariance and variance");
	ok(num_is(json_object_get(json_object_get(b, "std_deviation_bounds"), "upper"), 194.48275292764697) &&
	   num_is(json_object_get(json_object_get(b, "std_deviation_bounds"), "lower"), -63.37164181653587) &&
	   num_is(json_object_get(json_object_get(b, "std_deviation_bounds"), "upper_sampling"), 202.30349886732898),
	   "extended_stats: std_deviation_bounds at sigma 3");
	json_decref(o);
	o = run("{\"e\": {\"extended_stats\": {\"field\": \"nope\"}}}");
	b = json_object_get(o, "e");
	ok(json_integer_value(json_object_get(b, "count")) == 0 && json_is_null(json_object_get(b, "variance")) &&
	   json_is_null(json_object_get(json_object_get(b, "std_deviation_bounds"), "upper")),
	   "extended_stats of a missing field: nulls");
	json_decref(o);

	/* terms over a field no doc has, and terms ordered by a sub-aggregation */
	o = run("{\"t\": {\"terms\": {\"field\": \"nope\"}}}");
	b = json_object_get(json_object_get(o, "t"), "buckets");
	ok(json_is_array(b) && json_array_size(b) == 0, "terms over an absent field: no bucket");
	json_decref(o);
	o = run("{\"n\": {\"terms\": {\"field\": \"name\", \"size\": 3, \"order\": {\"r.value\": \"desc\"}},"
		" \"aggs\": {\"r\": {\"max\": {\"field\": \"response\"}}}}}");
	b = json_object_get(json_object_get(o, "n"), "buckets");
	check_bucket(b, 0, "Bernhard", 0, 1);
	check_bucket(b, 1, "Manfred", 0, 1);
	check_bucket(b, 2, "Albert", 0, 1);
	json_decref(o);
	o = run("{\"n\": {\"terms\": {\"field\": \"name\", \"size\": 2, \"order\": {\"r.avg\": \"asc\"}},"
		" \"aggs\": {\"r\": {\"stats\": {\"field\": \"response\"}}}}}");
	b = json_object_get(json_object_get(o, "n"), "buckets");
	check_bucket(b, 0, "Werner", 0, 1);
	check_bucket(b, 1, "Fritz", 0, 3);
	json_decref(o);
	o = run("{\"n\": {\"terms\": {\"field\": \"name\", \"size\": 2, \"order\": {\"_count\": \"asc\"}}}}");
	b = json_object_get(json_object_get(o, "n"), "buckets");
	check_bucket(b, 0, "Albert", 0, 1);
	check_bucket(b, 1, "Bernhard", 0, 1);
	json_decref(o);

	/* missing: counted into the given key, and as a value of metrics */
	o = run("{\"h\": {\"terms\": {\"field\": \"host\", \"missing\": \"none\"}},"
		" \"r\": {\"terms\": {\"field\": \"response\", \"missing\": 30}},"
		" \"s\": {\"sum\": {\"field\": \"response\", \"missing\": 1000}},"
		" \"c\": {\"value_count\": {\"field\": \"date\", \"missing\": 0}}}");
	b = json_object_get(json_object_get(o, "h"), "buckets");
	check_bucket(b, 0, "192.168.0.10", 0, 4);
	check_bucket(b, 1, "none", 0, 3);
	b = json_object_get(json_object_get(o, "r"), "buckets");
	check_bucket(b, 0, NULL, 30, 5);
	ok(num_is(json_object_get(json_object_get(o, "s"), "value"), 1590), "sum with missing 1000");
	ok(num_is(json_object_get(json_object_get(o, "c"), "value"), 10), "value_count with missing");
	json_decref(o);

	o = run("{\"t\": {\"terms\": {\"field\": \"nope\", \"missing\": \"x\"}}}");
	b = json_object_get(json_object_get(o, "t"), "buckets");
	check_bucket(b, 0, "x", 0, 10);
	json_decref(o);

	/* keyed range and histogram */
	o = run("{\"r\": {\"range\": {\"field\": \"response\", \"keyed\": true, \"ranges\": [{\"to\": 50}, {\"from\": 50}]}},"
		" \"h\": {\"histogram\": {\"field\": \"response\", \"interval\": 50, \"keyed\": true}}}");
	b = json_object_get(json_object_get(o, "r"), "buckets");
	ok(json_is_object(b) && json_integer_value(json_object_get(json_object_get(b, "*-50.0"), "doc_count")) == 5 &&
	   json_integer_value(json_object_get(json_object_get(b, "50.0-*"), "doc_count")) == 4, "keyed range");
	b = json_object_get(json_object_get(o, "h"), "buckets");
	ok(json_is_object(b) && json_integer_value(json_object_get(json_object_get(b, "0"), "doc_count")) == 5 &&
	   json_integer_value(json_object_get(json_object_get(b, "50"), "doc_count")) == 0 &&
	   json_integer_value(json_object_get(json_object_get(b, "100"), "doc_count")) == 4, "keyed histogram");
	json_decref(o);

	/* multi_terms: Quickwit's scenario aggregations/0003-multi-terms */
	o = run("{\"hr\": {\"multi_terms\": {\"terms\": [{\"field\": \"host\"}, {\"field\": \"response\"}],"
		" \"order\": {\"_key\": \"asc\"}}}}");
	dump = json_dumps(json_object_get(json_object_get(o, "hr"), "buckets"), JSON_COMPACT);
	ok(strcmp(dump, "[{\"key\":[\"192.168.0.1\",30],\"key_as_string\":\"192.168.0.1|30\",\"doc_count\":1},"
		  "{\"key\":[\"192.168.0.1\",100],\"key_as_string\":\"192.168.0.1|100\",\"doc_count\":1},"
		  "{\"key\":[\"192.168.0.10\",20],\"key_as_string\":\"192.168.0.10|20\",\"doc_count\":1},"
		  "{\"key\":[\"192.168.0.10\",30],\"key_as_string\":\"192.168.0.10|30\",\"doc_count\":1},"
		  "{\"key\":[\"192.168.0.10\",100],\"key_as_string\":\"192.168.0.10|100\",\"doc_count\":1},"
		  "{\"key\":[\"192.168.0.11\",120],\"key_as_string\":\"192.168.0.11|120\",\"doc_count\":1}]") == 0,
	   "multi_terms host, response: %s", dump);
	free(dump);
	json_decref(o);
	o = run("{\"tr\": {\"multi_terms\": {\"terms\": [{\"field\": \"tags\"}, {\"field\": \"response\"}],"
		" \"order\": {\"_key\": \"asc\"}}, \"aggs\": {\"a\": {\"avg\": {\"field\": \"response\"}}}}}");
	b = json_object_get(json_object_get(o, "tr"), "buckets");
	dump = json_dumps(b, JSON_COMPACT);
	ok(json_array_size(b) == 4 &&
	   strcmp(json_string_value(json_object_get(json_array_get(b, 2), "key_as_string")), "nice|100") == 0 &&
	   json_integer_value(json_object_get(json_array_get(b, 2), "doc_count")) == 2 &&
	   num_is(json_object_get(json_object_get(json_array_get(b, 2), "a"), "value"), 100) &&
	   strcmp(json_string_value(json_object_get(json_array_get(b, 0), "key_as_string")), "cool|30") == 0,
	   "multi_terms over a multi-valued field with a sub-aggregation: %s", dump);
	free(dump);
	json_decref(o);

	/* composite: Quickwit's scenario aggregations/0001 (first page, then after its after_key) */
	o = run("{\"c\": {\"composite\": {\"size\": 5, \"sources\": [{\"host\": {\"terms\": {\"field\": \"host\","
		" \"missing_bucket\": true}}}, {\"name\": {\"terms\": {\"field\": \"name\"}}},"
		" {\"response\": {\"histogram\": {\"field\": \"response\", \"interval\": 50}}}]}}}");
	dump = json_dumps(json_object_get(o, "c"), JSON_COMPACT);
	ok(strcmp(dump, "{\"after_key\":{\"host\":\"192.168.0.10\",\"name\":\"Albert\",\"response\":100.0},"
		  "\"buckets\":[{\"key\":{\"host\":null,\"name\":\"Bernhard\",\"response\":100.0},\"doc_count\":1},"
		  "{\"key\":{\"host\":null,\"name\":\"Fritz\",\"response\":0.0},\"doc_count\":2},"
		  "{\"key\":{\"host\":\"192.168.0.1\",\"name\":\"Fred\",\"response\":100.0},\"doc_count\":1},"
		  "{\"key\":{\"host\":\"192.168.0.1\",\"name\":\"Fritz\",\"response\":0.0},\"doc_count\":1},"
		  "{\"key\":{\"host\":\"192.168.0.10\",\"name\":\"Albert\",\"response\":100.0},\"doc_count\":1}]}") == 0,
	   "composite first page: %s", dump);
	free(dump);
	json_decref(o);
	o = run("{\"c\": {\"composite\": {\"size\": 5, \"sources\": [{\"host\": {\"terms\": {\"field\": \"host\","
		" \"missing_bucket\": true}}}, {\"name\": {\"terms\": {\"field\": \"name\"}}},"
		" {\"response\": {\"histogram\": {\"field\": \"response\", \"interval\": 50}}}],"
		" \"after\": {\"host\": \"str:192.168.0.10\", \"name\": \"str:Albert\", \"response\": \"f64:100\"}}}}");
	b = json_object_get(json_object_get(o, "c"), "buckets");
	dump = json_dumps(b, JSON_COMPACT);
	ok(strcmp(dump, "[{\"key\":{\"host\":\"192.168.0.10\",\"name\":\"Holger\",\"response\":0.0},\"doc_count\":1},"
		  "{\"key\":{\"host\":\"192.168.0.10\",\"name\":\"Werner\",\"response\":0.0},\"doc_count\":1},"
		  "{\"key\":{\"host\":\"192.168.0.11\",\"name\":\"Manfred\",\"response\":100.0},\"doc_count\":1}]") == 0,
	   "composite second page: %s", dump);
	free(dump);
	json_decref(o);

	/* composite paging over a datetime terms source: after_key (milliseconds) resumes after it */
	{
		char req[512], after[128] = "";
		long total = 0, nb = 0, pages = 0;
		json_int_t last = -1;
		bool ordered = true;

		for (;;) {
			json_t *c, *ak;
			size_t k;

			snprintf(req, sizeof(req), "{\"c\": {\"composite\": {\"size\": 2, \"sources\":"
				 " [{\"d\": {\"terms\": {\"field\": \"date\"}}}]%s}}}", after);
			o = run(req);
			c = json_object_get(o, "c");
			b = json_object_get(c, "buckets");
			if (json_array_size(b) == 0 || pages++ > 10) {
				json_decref(o);
				break;
			}
			for (k = 0; k < json_array_size(b); k++) {
				json_int_t key = json_integer_value(json_object_get(json_object_get(json_array_get(b, k), "key"), "d"));

				ordered = ordered && key > last;
				last = key;
				total += (long)json_integer_value(json_object_get(json_array_get(b, k), "doc_count"));
				nb++;
			}
			ak = json_object_get(json_object_get(c, "after_key"), "d");
			snprintf(after, sizeof(after), ", \"after\": {\"d\": %" JSON_INTEGER_FORMAT "}",
				 json_integer_value(ak));
			json_decref(o);
		}
		/* the scenario's documents: 7 with a date, 6 distinct dates */
		ok(nb == 6 && total == 7 && ordered && pages == 3,
		   "composite paging over dates: %ld buckets, %ld docs, %ld pages", nb, total, pages);
	}

	check_parse_error("{\"a\": {\"terms\": {\"field\": \"x\", \"include\": \"a.*\"}}}",
			  "aggs.a.terms: unsupported option 'include'");
	check_parse_error("{\"a\": {\"histogram\": {\"field\": \"x\", \"interval\": 1, \"format\": \"x\"}}}",
			  "aggs.a.histogram: unsupported option 'format'");
	check_parse_error("{\"a\": {\"avg\": {\"field\": \"x\", \"script\": \"1\"}}}",
			  "aggs.a.avg: unsupported option 'script'");
	check_parse_error("{\"a\": {\"terms\": {\"field\": \"x\", \"order\": {\"nope\": \"asc\"}}}}",
			  "aggs.a.terms.order: no sub-aggregation named 'nope'");
	check_parse_error("{\"a\": {\"terms\": {\"field\": \"x\", \"order\": {\"s\": \"asc\"}},"
			  " \"aggs\": {\"s\": {\"stats\": {\"field\": \"y\"}}}}}", "needs a metric");
	check_parse_error("{\"a\": {\"composite\": {\"sources\": [{\"x\": {\"range\": {\"field\": \"y\"}}}]}}}",
			  "unsupported source type 'range'");
	check_parse_error("{\"a\": {\"composite\": {\"sources\": [{\"x\": {\"terms\": {\"field\": \"y\"}}}],"
			  " \"after\": {\"z\": 1}}}}", "aggs.a.composite.after.x");
	check_parse_error("{\"a\": {\"multi_terms\": {\"terms\": [{\"field\": \"y\"}]}}}", "at least 2");
	check_parse_error("{\"a\": {\"sum\": {\"field\": \"x\", \"missing\": \"abc\"}}}",
			  "aggs.a.sum.missing: expected a number");
	check_parse_error("{\"a\": {\"range\": {\"field\": \"x\", \"ranges\": [], \"keyed\": 1}}}",
			  "aggs.a.range.keyed: expected a boolean");

	check_parse_error("{\"a\": {\"bogus\": {\"field\": \"x\"}}}", "aggs.a: unknown aggregation type 'bogus'");
	check_parse_error("{\"a\": {\"terms\": {}}}", "aggs.a.terms.field: expected a field name");
	check_parse_error("{\"a\": {\"terms\": {\"field\": \"x\", \"size\": -1}}}", "aggs.a.terms.size");
	check_parse_error("{\"a\": {\"date_histogram\": {\"field\": \"x\", \"fixed_interval\": \"3 parsecs\"}}}",
			  "aggs.a.date_histogram.fixed_interval");
	check_parse_error("{\"a\": {\"avg\": {\"field\": \"x\"}, \"aggs\": {\"b\": {\"avg\": {\"field\": \"y\"}}}}}",
			  "cannot have sub-aggregations");
	check_parse_error("[]", "aggs: expected an object");
	return tap_done();
}
