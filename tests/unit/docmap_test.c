/* docmap: expected canonical documents are written out by hand (the oracle). */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "mapping/docmap.h"
#include "mapping/json_load.h"
#include "tap.h"

static const char *strict_cfg =
	"{\"version\":\"0.8\",\"index_id\":\"logs\",\"doc_mapping\":{"
	"\"mode\":\"strict\",\"timestamp_field\":\"ts\",\"field_mappings\":["
	"{\"name\":\"ts\",\"type\":\"datetime\",\"fast\":true,"
	" \"input_formats\":[\"rfc3339\",\"unix_timestamp\",\"%Y-%m-%d %H:%M:%S\"]},"
	"{\"name\":\"status\",\"type\":\"i64\"},"
	"{\"name\":\"size\",\"type\":\"u64\"},"
	"{\"name\":\"ratio\",\"type\":\"f64\"},"
	"{\"name\":\"strict_num\",\"type\":\"i64\",\"coerce\":false},"
	"{\"name\":\"msg\",\"type\":\"text\"},"
	"{\"name\":\"ok\",\"type\":\"bool\"},"
	"{\"name\":\"ip\",\"type\":\"ip\"},"
	"{\"name\":\"blob\",\"type\":\"bytes\"},"
	"{\"name\":\"tags\",\"type\":\"array<text>\",\"tokenizer\":\"raw\"},"
	"{\"name\":\"seen\",\"type\":\"array<datetime>\"},"
	"{\"name\":\"attributes\",\"type\":\"json\"},"
	"{\"name\":\"resource\",\"type\":\"object\",\"field_mappings\":["
	"  {\"name\":\"service\",\"type\":\"text\"},"
	"  {\"name\":\"port\",\"type\":\"u64\"}]}"
	"]}}";

static struct index_config *load_cfg(const char *text, const char *mode)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	struct qw_err err = QW_ERR_INIT;
	struct index_config *cfg;

	if (!root) {
		tap_diag("bad test config: %s", jerr.text);
		return NULL;
	}
	if (mode)
		json_object_set_new(json_object_get(root, "doc_mapping"), "mode", json_string(mode));
	cfg = config_from_json(root, &err);
	if (!cfg)
		tap_diag("config: %s", err.msg);
	json_decref(root);
	return cfg;
}

static bool check_scan(struct docmap *dm, const char *line, size_t len, const char *what);

/* Map line; want NULL = expect rejection with want_reason. */
static void check_map(struct docmap *dm, const char *line, const char *want,
		      enum docmap_reason want_reason, const char *what)
{
	struct qw_err err = QW_ERR_INIT;
	enum docmap_reason reason = DOC_OK;
	json_t *out = NULL, *expect = NULL, *again = NULL;
	int r = docmap_map_line(dm, line, strlen(line), &out, &reason, &err);
	bool good;

	if (want) {
		expect = json_loads(want, 0, NULL);
		good = r == 0 && out && expect && json_equal(out, expect);
		if (good) {
			/* idempotent on its output */
			enum docmap_reason r2;

			good = docmap_map(dm, out, &again, &r2, &err) == 0 && json_equal(again, out);
		}
		if (!ok(good, "%s", what)) {
			char *s = out ? json_dumps(out, JSON_COMPACT) : NULL;

			tap_diag("got r=%d reason=%s err='%s' out=%s", r, docmap_reason_name(reason),
				 err.msg, s ? s : "(null)");
			free(s);
		}
	} else {
		good = r == -1 && out == NULL && reason == want_reason && err.msg[0];
		if (!ok(good, "%s (%s)", what, docmap_reason_name(want_reason)))
			tap_diag("got r=%d reason=%s err='%s'", r, docmap_reason_name(reason), err.msg);
	}
	{
		/* the one-pass path agrees, byte for byte */
		struct buf fast = BUF_INIT, slow = BUF_INIT;
		enum docmap_reason fr = DOC_OK;
		struct qw_err ferr = QW_ERR_INIT;
		int f = docmap_canonical_line(dm, line, strlen(line), &fast, &fr, &ferr);

		if (out)
			docmap_serialize(out, &slow);
		if (!ok(want ? (f == 0 && fast.len == slow.len && memcmp(fast.data, slow.data, slow.len) == 0)
			     : (f == -1 && fr == want_reason && fast.len == 0 &&
				strcmp(ferr.msg, err.msg) == 0),
			"%s: docmap_canonical_line agrees", what))
			tap_diag("fast r=%d reason=%s err='%s' out=%s", f, docmap_reason_name(fr),
				 ferr.msg, buf_str(&fast));
		/* the no-tree walk agrees on the line and on its canonical form */
		check_scan(dm, line, strlen(line), what);
		if (out)
			check_scan(dm, slow.data, slow.len, what);
		buf_free(&fast);
		buf_free(&slow);
	}
	json_decref(out);
	json_decref(expect);
	json_decref(again);
}

static int collect(void *ctx, const struct field_value *fv)
{
	struct buf *b = ctx;

	buf_add(b, fv->path, fv->path_len);
	buf_addc(b, '=');
	switch (fv->kind) {
	case VK_TEXT:
		buf_adds(b, "text:");
		buf_add(b, fv->v.text.s, fv->v.text.len);
		break;
	case VK_I64: buf_addf(b, "i64:%lld", (long long)fv->v.i64); break;
	case VK_U64: buf_addf(b, "u64:%llu", (unsigned long long)fv->v.u64); break;
	case VK_F64: buf_addf(b, "f64:%g", fv->v.f64); break;
	case VK_BOOL: buf_addf(b, "bool:%d", fv->v.b); break;
	case VK_DATETIME: buf_addf(b, "dt:%lld", (long long)fv->v.dt_us); break;
	case VK_IP:
		buf_adds(b, "ip:");
		for (int i = 0; i < 16; i++)
			buf_addf(b, "%02x", fv->v.ip[i]);
		break;
	case VK_BYTES:
		buf_adds(b, "bytes:");
		buf_add(b, fv->v.bytes.p, fv->v.bytes.len);
		break;
	}
	if (fv->array_index)
		buf_addf(b, "[%u]", fv->array_index);
	buf_addf(b, "%s ", fv->mapping ? "" : "(dyn)");
	return 0;
}

static void check_walk(struct docmap *dm, const char *line, const char *want, const char *what)
{
	json_t *doc = json_loads(line, 0, NULL);
	struct buf b = BUF_INIT;

	docmap_walk(dm, doc, collect, &b);
	if (!ok(strcmp(buf_str(&b), want) == 0, "%s", what))
		tap_diag("got  '%s'\nwant '%s'", buf_str(&b), want);
	buf_free(&b);
	json_decref(doc);
}

/* collect() plus the exact bits of reals and the governing mapping */
static int collect_exact(void *ctx, const struct field_value *fv)
{
	struct buf *b = ctx;

	collect(ctx, fv);
	if (fv->kind == VK_F64)
		buf_addf(b, "<%a>", fv->v.f64);
	buf_addf(b, "<%p> ", (const void *)fv->mapping);
	return 0;
}

/*
 * docmap_scan_line() against the tree (docmap_map_line + docmap_walk +
 * docmap_timestamp): when it accepts a line, the tree must accept it
 * unchanged with the same values. Returns whether it accepted.
 */
static bool check_scan(struct docmap *dm, const char *line, size_t len, const char *what)
{
	struct docmap_values dv;
	struct buf a = BUF_INIT, b = BUF_INIT, canon = BUF_INIT;
	struct qw_err err = QW_ERR_INIT;
	enum docmap_reason reason;
	json_t *doc = NULL;
	bool acc, good = true;
	int64_t ts = 0;
	bool has_ts = false;

	memset(&dv, 0, sizeof(dv));
	acc = docmap_scan_line(dm, line, len, &dv);
	if (acc) {
		for (size_t i = 0; i < dv.n; i++)
			collect_exact(&a, &dv.v[i]);
		good = docmap_map_line(dm, line, len, &doc, &reason, &err) == 0;
		if (good) {
			docmap_walk(dm, doc, collect_exact, &b);
			has_ts = docmap_timestamp(dm, doc, &ts);
			/* accepted lines are left as they are by the mapping */
			docmap_serialize(doc, &canon);
			{
				json_t *orig = json_loadb(line, len, 0, NULL);

				good = orig && json_equal(orig, doc);
				json_decref(orig);
			}
			good = good && strcmp(buf_str(&a), buf_str(&b)) == 0 && has_ts == dv.has_ts &&
			       (!has_ts || ts == dv.ts_us);
		}
	}
	if (!ok(good, "%s: docmap_scan_line %s", what, acc ? "agrees with the tree" : "gives up"))
		tap_diag("scan '%s' ts=%d/%lld\ntree '%s' ts=%d/%lld err='%s'", buf_str(&a), dv.has_ts,
			 (long long)dv.ts_us, buf_str(&b), has_ts, (long long)ts, err.msg);
	json_decref(doc);
	buf_free(&a);
	buf_free(&b);
	buf_free(&canon);
	docmap_values_free(&dv);
	return acc;
}

static void check_scan_accepts(struct docmap *dm, const char *line, bool want, const char *what)
{
	bool acc = check_scan(dm, line, strlen(line), what);

	ok(acc == want, "%s: docmap_scan_line %s", what, want ? "takes it" : "leaves it to the tree");
}

/*
 * A line with integers beyond int64 (jansson cannot read the expected
 * canonical text, so it is compared as text): its canonical form, what
 * docmap_canonical_line() gives, that form mapped again, and its values.
 */
static void check_big(struct docmap *dm, const char *line, const char *want, const char *want_walk,
		      const char *what)
{
	struct qw_err err = QW_ERR_INIT;
	enum docmap_reason reason = DOC_OK;
	json_t *out = NULL, *again = NULL;
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT, w = BUF_INIT;
	int r = docmap_map_line(dm, line, strlen(line), &out, &reason, &err);

	if (r == 0)
		docmap_serialize(out, &a);
	if (!ok(r == 0 && strcmp(buf_str(&a), want) == 0, "%s", what))
		tap_diag("got r=%d reason=%s err='%s' out=%s", r, docmap_reason_name(reason), err.msg,
			 buf_str(&a));
	ok(docmap_canonical_line(dm, line, strlen(line), &b, &reason, &err) == 0 &&
	   strcmp(buf_str(&b), want) == 0, "%s: docmap_canonical_line agrees", what);
	if (ok(docmap_map_line(dm, want, strlen(want), &again, &reason, &err) == 0,
	       "%s: the canonical form maps", what))
		docmap_serialize(again, &c);
	ok(strcmp(buf_str(&c), want) == 0, "%s: the canonical form maps to itself", what);
	if (again)
		docmap_walk(dm, again, collect, &w);
	if (!ok(strcmp(buf_str(&w), want_walk) == 0, "%s: walk", what))
		tap_diag("got  '%s'\nwant '%s'", buf_str(&w), want_walk);
	check_scan(dm, line, strlen(line), what);
	check_scan(dm, want, strlen(want), what);
	json_decref(out);
	json_decref(again);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&w);
}

static char *nested(int depth, const char *leaf_key)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "{\"ts\":1591757456,\"%s\":", leaf_key);
	for (int i = 0; i < depth; i++)
		buf_adds(&b, "{\"a\":");
	buf_adds(&b, "1");
	for (int i = 0; i < depth; i++)
		buf_addc(&b, '}');
	buf_addc(&b, '}');
	return buf_detach(&b, NULL);
}

/*
 * json_load_fast() against jansson, the oracle: where it gives a tree it is
 * jansson's, byte for byte once serialized; fast says whether it must give
 * one (the common shapes) or leave the text to jansson (NULL).
 */
static void check_fast_load(const char *text, size_t len, size_t flags, bool fast, const char *what)
{
	json_error_t jerr;
	json_t *got = json_load_fast(text, len, flags), *want = json_loadb(text, len, flags, &jerr);
	char *a = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	char *b = want ? json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;

	ok((got != NULL) == fast && (!got || (want && a && b && strcmp(a, b) == 0)),
	   "json_load_fast: %s", what);
	if (got && want && a && b && strcmp(a, b) != 0)
		tap_diag("got  '%s'\nwant '%s'", a, b);
	free(a);
	free(b);
	json_decref(got);
	json_decref(want);
}

static void test_json_load_fast(void)
{
	static const struct {
		const char *text;
		size_t flags;
		bool fast;
		const char *what;
	} cases[] = {
		{ "{\"a\":1,\"b\":\"x\",\"c\":[true,false,null],\"d\":{\"e\":-2.5e3}}", 0, true, "a document" },
		{ " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } , \"c\" : [ ] } \n", 0, true, "whitespace everywhere" },
		{ "{\"k\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\\u00e9\\u20ac\\ud83d\\ude00\"}", 0, true, "escapes" },
		{ "{\"caf\\u00e9\":1,\"\xc3\xa9t\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}", 0, true,
		  "escaped and raw UTF-8 keys" },
		{ "{\"a\":1,\"b\":2,\"a\":3}", 0, true, "a duplicate key: the last value in the first place" },
		{ "{\"i\":9223372036854775807,\"j\":-9223372036854775808,\"z\":-0}", 0, true, "int64 bounds" },
		{ "{\"r\":0.1,\"s\":1e-320,\"t\":-0.0,\"u\":1E+2,\"v\":123456789012345678901234.5}", 0, true,
		  "reals, a denormal, a negative zero" },
		{ "{\"\":\"\"}", 0, true, "empty key and value" },
		{ "\"str\"", JSON_DECODE_ANY, true, "a scalar with JSON_DECODE_ANY" },
		{ "42", JSON_DECODE_ANY, true, "a number with JSON_DECODE_ANY" },
		{ "\"str\"", 0, false, "a scalar without JSON_DECODE_ANY: jansson refuses it" },
		{ "{\"a\":\"\\u0000\"}", 0, false, "\\u0000 is jansson's (JSON_ALLOW_NUL)" },
		{ "{\"a\":9223372036854775808}", 0, false, "an integer beyond int64 is jansson's" },
		{ "{\"a\":1e400}", 0, false, "a real that overflows" },
		{ "{\"a\":01}", 0, false, "a leading zero" },
		{ "{\"a\":1.}", 0, false, "no digit after the point" },
		{ "{\"a\":-}", 0, false, "a lone minus" },
		{ "{\"a\":1,}", 0, false, "a trailing comma in an object" },
		{ "[1,]", 0, false, "a trailing comma in an array" },
		{ "{\"a\" 1}", 0, false, "no colon" },
		{ "{\"a\":\"\\ud800\"}", 0, false, "a lone high surrogate" },
		{ "{\"a\":\"\\udc00\"}", 0, false, "a lone low surrogate" },
		{ "{\"a\":\"\\x\"}", 0, false, "an unknown escape" },
		{ "{\"a\":\"tab\there\"}", 0, false, "a raw control character" },
		{ "{\"a\":\"\xc3\x28\"}", 0, false, "invalid UTF-8" },
		{ "{\"a\":\"\xed\xa0\x80\"}", 0, false, "an encoded surrogate" },
		{ "{\"a\":truex}", 0, false, "a literal run on" },
		{ "{\"a\":1} x", 0, false, "text after the value" },
		{ "{\"a\":\"unterminated}", 0, false, "an unterminated string" },
		{ "", 0, false, "empty text" },
		{ "   ", JSON_DECODE_ANY, false, "only whitespace" },
		{ "{\"a\":1}", JSON_REJECT_DUPLICATES, false, "other flags are jansson's" },
	};
	char *deep;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_fast_load(cases[i].text, strlen(cases[i].text), cases[i].flags, cases[i].fast,
				cases[i].what);
	check_fast_load("{\"a\":1}\0", 8, 0, false, "a NUL byte after the value");
	deep = nested(JSON_LOAD_FAST_DEPTH - 2, "d");
	check_fast_load(deep, strlen(deep), 0, true, "nesting just under the fast limit");
	free(deep);
	deep = nested(JSON_LOAD_FAST_DEPTH, "d");
	check_fast_load(deep, strlen(deep), 0, false, "deeper nesting is jansson's");
	free(deep);
}

int main(void)
{
	struct index_config *strict = load_cfg(strict_cfg, NULL);
	struct index_config *lenient = load_cfg(strict_cfg, "lenient");
	struct index_config *dynamic = load_cfg(strict_cfg, "dynamic");
	struct docmap *dm, *dl, *dd, *dnone;
	char *deep;

	if (!ok(strict && lenient && dynamic, "test configs load"))
		return tap_done();
	dm = docmap_new(strict);
	dl = docmap_new(lenient);
	dd = docmap_new(dynamic);
	dnone = docmap_new(NULL);
	test_json_load_fast();

	check_map(dm, "{\"ts\":\"2020-06-10T02:50:56.537Z\",\"msg\":\"hello\"}",
		  "{\"ts\":\"2020-06-10T02:50:56.537Z\",\"msg\":\"hello\"}", 0, "a valid document is kept");
	check_map(dm, "{\"ts\":1591757456,\"status\":200}",
		  "{\"ts\":\"2020-06-10T02:50:56Z\",\"status\":200}", 0, "unix seconds become RFC 3339");
	check_map(dm, "{\"ts\":1591757456537}", "{\"ts\":\"2020-06-10T02:50:56.537Z\"}", 0,
		  "unix millis are inferred");
	check_map(dm, "{\"ts\":1591757456537123456}", "{\"ts\":\"2020-06-10T02:50:56.537123456Z\"}", 0,
		  "unix nanos are inferred, the nanoseconds kept in the stored string");
	check_map(dm, "{\"ts\":\"2020-06-10 04:50:56\"}", "{\"ts\":\"2020-06-10T04:50:56Z\"}", 0,
		  "a strptime input format is used");
	check_map(dm, "{\"ts\":\"1591757456537123456\"}", "{\"ts\":\"2020-06-10T02:50:56.537123456Z\"}", 0,
		  "a unix nanos string keeps its nanoseconds in the stored string");
	check_map(dm, "{\"ts\":\"2020-06-10T04:50:56.000000007+02:00\"}",
		  "{\"ts\":\"2020-06-10T02:50:56.000000007Z\"}", 0,
		  "an RFC 3339 time with an offset keeps its nanoseconds");
	check_map(dm, "{\"ts\":\"2020-06-10T04:50:56+02:00\"}", "{\"ts\":\"2020-06-10T02:50:56Z\"}", 0,
		  "offsets are converted to UTC");
	check_map(dm, "{\"ts\":1,\"status\":\"404\",\"size\":\"12\",\"ratio\":\"0.5\"}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"status\":404,\"size\":12,\"ratio\":0.5}", 0,
		  "numbers in strings are coerced");
	check_map(dm, "{\"ts\":1,\"ratio\":3}", "{\"ts\":\"1970-01-01T00:00:01Z\",\"ratio\":3}", 0,
		  "an integer is a valid f64");
	check_map(dm, "{\"ts\":1,\"msg\":42}", "{\"ts\":\"1970-01-01T00:00:01Z\",\"msg\":\"42\"}", 0,
		  "a number in a text field becomes a string");
	check_map(dm, "{\"ts\":1,\"tags\":\"one\"}", "{\"ts\":\"1970-01-01T00:00:01Z\",\"tags\":\"one\"}", 0,
		  "a single value is accepted for an array field");
	check_map(dm, "{\"ts\":1,\"seen\":[1,\"2020-06-10T02:50:56Z\"]}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"seen\":[\"1970-01-01T00:00:01Z\",\"2020-06-10T02:50:56Z\"]}", 0,
		  "array<datetime> elements are converted");
	check_map(dm, "{\"ts\":1,\"resource\":{\"service\":\"api\",\"port\":\"80\"},\"attributes\":{\"x.y\":{\"z\":[1,2]}}}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"resource\":{\"service\":\"api\",\"port\":80},\"attributes\":{\"x.y\":{\"z\":[1,2]}}}", 0,
		  "objects and json fields are mapped");
	check_map(dm, "{\"ts\":1,\"ip\":\"10.0.0.1\",\"ok\":true,\"blob\":\"aGVsbG8=\",\"msg\":null}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"ip\":\"10.0.0.1\",\"ok\":true,\"blob\":\"aGVsbG8=\",\"msg\":null}", 0,
		  "ip, bool, bytes and null are kept");

	check_map(dm, "{\"ts\":1,\"status\":\"abc\"}", NULL, DOC_WRONG_TYPE, "a string that is not a number");
	check_map(dm, "{\"ts\":1,\"strict_num\":\"5\"}", NULL, DOC_WRONG_TYPE, "no coercion when coerce is false");
	check_map(dm, "{\"ts\":1,\"status\":1.5}", NULL, DOC_WRONG_TYPE, "a fraction in an i64");
	check_map(dm, "{\"ts\":1,\"size\":-1}", NULL, DOC_WRONG_TYPE, "a negative u64");
	check_map(dm, "{\"ts\":1,\"ok\":\"yes\"}", NULL, DOC_WRONG_TYPE, "a string in a bool");
	check_map(dm, "{\"ts\":1,\"ip\":\"999.1.1.1\"}", NULL, DOC_WRONG_TYPE, "a bad ip");
	check_map(dm, "{\"ts\":1,\"blob\":\"!!\"}", NULL, DOC_WRONG_TYPE, "bad base64");
	check_map(dm, "{\"ts\":1,\"status\":[1,2]}", NULL, DOC_WRONG_TYPE, "an array in a single-valued field");
	check_map(dm, "{\"ts\":1,\"msg\":{\"a\":1}}", NULL, DOC_WRONG_TYPE, "an object in a text field");
	check_map(dm, "{\"ts\":1,\"attributes\":\"x\"}", NULL, DOC_WRONG_TYPE, "a string in a json field");
	check_map(dm, "{\"ts\":1,\"resource\":\"x\"}", NULL, DOC_WRONG_TYPE, "a string in an object field");
	check_map(dm, "{\"ts\":1,\"nope\":1}", NULL, DOC_UNKNOWN_FIELD, "strict mode rejects an unknown field");
	check_map(dm, "{\"ts\":1,\"resource\":{\"nope\":1}}", NULL, DOC_UNKNOWN_FIELD, "strict mode rejects a nested unknown field");
	check_map(dm, "{\"msg\":\"x\"}", NULL, DOC_NO_TIMESTAMP, "the timestamp is required");
	check_map(dm, "{\"ts\":null}", NULL, DOC_NO_TIMESTAMP, "a null timestamp is missing");
	check_map(dm, "{\"ts\":\"yesterday\"}", NULL, DOC_BAD_TIMESTAMP, "an unparsable timestamp");
	check_map(dm, "{\"ts\":1,\"seen\":[\"bad\"]}", NULL, DOC_BAD_TIMESTAMP, "an unparsable datetime in another field");
	check_map(dm, "{\"ts\":true}", NULL, DOC_WRONG_TYPE, "a bool timestamp");
	check_map(dm, "not json", NULL, DOC_NOT_JSON, "not JSON");
	check_map(dm, "{\"ts\":1", NULL, DOC_NOT_JSON, "truncated JSON");
	check_map(dm, "{\"ts\":\"\xff\"}", NULL, DOC_NOT_JSON, "invalid UTF-8");
	check_map(dm, "[1,2]", NULL, DOC_NOT_OBJECT, "an array document");
	check_map(dm, "42", NULL, DOC_NOT_OBJECT, "a number document");
	check_map(dm, "", NULL, DOC_NOT_JSON, "an empty line");
	check_map(dm, " { \"ts\" : 1 , \"msg\" : \"a\\u0001\\n\\\"\u00e9\" , \"ratio\" : -0.0 } ",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"msg\":\"a\\u0001\\n\\\"\u00e9\",\"ratio\":-0.0}", 0,
		  "whitespace is dropped and escapes kept");
	check_map(dm, "{\"ts\":1,\"msg\":\"a\\/b\\u00e9\",\"ratio\":1e2}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"msg\":\"a/b\u00e9\",\"ratio\":100.0}", 0,
		  "escapes and reals are written in canonical form");
	check_map(dnone, "{\"a\":1,\"a\":2}", "{\"a\":2}", 0, "a duplicate key keeps the last value");
	check_map(dnone, "{\"a\":-0,\"b\":9223372036854775807,\"c\":0.1}",
		  "{\"a\":0,\"b\":9223372036854775807,\"c\":0.1}", 0, "integers and reals");
	check_big(dnone, "{\"a\":9223372036854775808}", "{\"a\":9223372036854775808}",
		  "a=u64:9223372036854775808(dyn) ", "an integer over int64 is a dynamic u64");
	check_big(dnone, " {\"a\" : [ 18446744073709551615 ,1],\"s\":\"x\\\" 18446744073709551615\","
		  "\"b\":{\"c\":12345678901234567890}} ",
		  "{\"a\":[18446744073709551615,1],\"s\":\"x\\\" 18446744073709551615\",\"b\":{\"c\":12345678901234567890}}",
		  "a=u64:18446744073709551615(dyn) a=i64:1[1](dyn) s=text:x\" 18446744073709551615(dyn) "
		  "b.c=u64:12345678901234567890(dyn) ", "u64 values in arrays and objects, not in strings");
	check_big(dnone, "{\"a\":18446744073709551616,\"b\":-9223372036854775809}",
		  "{\"a\":1.8446744073709552e+19,\"b\":-9.223372036854776e+18}",
		  "a=f64:1.84467e+19(dyn) b=f64:-9.22337e+18(dyn) ",
		  "integers beyond uint64 or below int64 are reals, as in Quickwit");
	check_big(dm, "{\"ts\":1,\"size\":18446744073709551615,\"ratio\":9223372036854775808,"
		  "\"msg\":10000000000000000000,\"resource\":{\"port\":\"18446744073709551614\"},"
		  "\"attributes\":{\"k\":[9223372036854775808]}}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"size\":18446744073709551615,\"ratio\":9.223372036854776e+18,"
		  "\"msg\":\"10000000000000000000\",\"resource\":{\"port\":18446744073709551614},"
		  "\"attributes\":{\"k\":[9223372036854775808]}}",
		  "ts=dt:1000000 size=u64:18446744073709551615 ratio=f64:9.22337e+18 msg=text:10000000000000000000 "
		  "resource.port=u64:18446744073709551614 attributes.k=u64:9223372036854775808 ",
		  "u64 fields, f64, text, coerced strings and json fields take integers over int64");
	check_map(dm, "{\"ts\":1,\"status\":9223372036854775808}", NULL, DOC_WRONG_TYPE,
		  "an integer over int64 in an i64");
	check_map(dm, "{\"ts\":1,\"size\":18446744073709551616}", NULL, DOC_WRONG_TYPE,
		  "an integer over uint64 in a u64");
	check_map(dm, "{\"ts\":1,\"size\":\"18446744073709551616\"}", NULL, DOC_WRONG_TYPE,
		  "a string over uint64 in a u64");
	check_map(dm, "{\"ts\":1,\"ip\":9223372036854775808}", NULL, DOC_WRONG_TYPE,
		  "an integer over int64 in an ip");
	check_map(dm, "{\"ts\":9223372036854775808}", NULL, DOC_BAD_TIMESTAMP,
		  "an integer over int64 as a timestamp");
	check_map(dm, "{\"ts\":1,\"x\":\"\\u0000\",\"size\":9223372036854775808}", NULL, DOC_NOT_JSON,
		  "a NUL escape stays invalid next to an integer over int64");
	check_map(dm, "{\"ts\":1,\"size\":9223372036854775808,}", NULL, DOC_NOT_JSON,
		  "invalid JSON after an integer over int64");
	check_map(dnone, "{\"a\":9223372036854775808", NULL, DOC_NOT_JSON,
		  "truncated JSON after an integer over int64");

	{
		/* a day-first pattern must not re-read a canonical datetime */
		const char *txt = "{\"version\":\"0.8\",\"index_id\":\"dayfirst\",\"doc_mapping\":{"
			"\"timestamp_field\":\"ts\",\"field_mappings\":[{\"name\":\"ts\",\"type\":\"datetime\","
			"\"fast\":true,\"input_formats\":[\"%Y-%d-%mT%H:%M:%S%z\"]}]}}";
		struct index_config *c = load_cfg(txt, NULL);
		struct docmap *d = c ? docmap_new(c) : NULL;

		if (ok(d != NULL, "day-first config loads")) {
			check_map(d, "{\"ts\":\"2020-10-06T01:02:03+00:00\"}", "{\"ts\":\"2020-06-10T01:02:03Z\"}", 0,
				  "a custom input format is applied and its canonical output maps to itself");
			docmap_free(d);
		}
		config_free(c);
	}
	check_map(dl, "{\"ts\":1,\"nope\":1,\"resource\":{\"service\":\"a\",\"extra\":[1]}}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"resource\":{\"service\":\"a\"}}", 0,
		  "lenient mode drops unknown fields, nested too");
	check_map(dd, "{\"ts\":1,\"nope\":{\"deep\":[1,\"x\"]}}",
		  "{\"ts\":\"1970-01-01T00:00:01Z\",\"nope\":{\"deep\":[1,\"x\"]}}", 0,
		  "dynamic mode keeps unknown fields");
	check_map(dnone, "{\"a\":1,\"b\":{\"c\":\"2020\"}}", "{\"a\":1,\"b\":{\"c\":\"2020\"}}", 0,
		  "without a config every field is dynamic");

	deep = nested(150, "attributes");
	check_map(dm, deep, NULL, DOC_TOO_DEEP, "150 levels in a json field");
	free(deep);
	deep = nested(150, "x");
	check_map(dd, deep, NULL, DOC_TOO_DEEP, "150 levels in a dynamic field");
	free(deep);
	deep = nested(50, "x");
	{
		struct qw_err err = QW_ERR_INIT;
		enum docmap_reason reason;
		json_t *out = NULL;

		ok(docmap_map_line(dd, deep, strlen(deep), &out, &reason, &err) == 0,
		   "50 levels are fine");
		json_decref(out);
	}
	free(deep);
	deep = nested(10000, "x");
	check_map(dd, deep, NULL, DOC_TOO_DEEP, "10000 levels do not crash");
	free(deep);

	check_scan_accepts(dd, " { \"ts\" : \"2020-06-10T02:50:56.537Z\", \"msg\":\"a\\u00e9\\ud83d\\ude00\\n\\\"\\/\","
			   "\"tags\":[\"x\",null,\"y\"],\"seen\":[\"2020-06-10T02:50:56Z\",null],\"resource\":{\"service\":\"s\",\"port\":8},"
			   "\"attributes\":{\"k\":[1,{\"z\":0.5}],\"e\":{}},\"u\":{\"a\":[[1,-2e3],{\"b\":null}]},\"ratio\":3,"
			   "\"ip\":\"::1\",\"ok\":true,\"status\":-9223372036854775808,\"size\":0,\"\":{\"\":1},\"\u00e9\":\"\"} ",
			   true, "a canonical document with escapes, arrays, json and dynamic values");
	check_scan_accepts(dm, "{\"ts\":\"2020-06-10T02:50:56.537Z\",\"msg\":\"a\",\"msg\":\"b\"}", false,
			   "a duplicate key");
	check_scan_accepts(dm, "{\"ts\":\"2020-06-10T02:50:56.537Z\",\"m\\u0073g\":\"a\"}", false,
			   "an escaped key");
	check_scan_accepts(dm, "{\"ts\":\"2020-06-10T02:50:56.537Z\",\"blob\":\"aGVsbG8=\"}", false,
			   "a bytes field");
	check_scan_accepts(dm, "{\"ts\":\"2020-06-10T02:50:56.5370Z\"}", false,
			   "a datetime not in canonical form");
	check_scan_accepts(dd, "{\"ts\":\"2020-06-10T02:50:56Z\",\"x\":\"\\u0000\"}", false, "an escaped NUL");
	check_scan_accepts(dd, "{\"ts\":\"2020-06-10T02:50:56Z\",\"x\":\"\\ud83d\"}", false, "a lone surrogate");
	check_scan_accepts(dd, "{\"ts\":\"2020-06-10T02:50:56Z\",\"x\":1e999}", false, "a real overflow");
	check_scan_accepts(dd, "{\"ts\":\"2020-06-10T02:50:56Z\",\"x\":01}", false, "a leading zero");
	check_scan_accepts(dd, "{\"ts\":\"2020-06-10T02:50:56Z\"} x", false, "trailing bytes");
	check_scan_accepts(dl, "{\"ts\":\"2020-06-10T02:50:56Z\",\"nope\":1}", false, "an unknown field in lenient mode");
	{
		/* wide objects: past 32 keys the duplicate check is hashed */
		struct buf w = BUF_INIT;
		size_t base;

		buf_adds(&w, "{\"ts\":\"2020-06-10T02:50:56Z\"");
		for (int i = 0; i < 300; i++)
			buf_addf(&w, ",\"k%d\":%d", i, i);
		base = w.len;
		buf_adds(&w, "}");
		check_scan_accepts(dd, buf_str(&w), true, "300 distinct keys");
		buf_truncate(&w, base);
		buf_adds(&w, ",\"k37\":1}");
		check_scan_accepts(dd, buf_str(&w), false, "a duplicate key after 300 keys");
		buf_truncate(&w, base);
		buf_adds(&w, ",\"ts\":\"2020-06-10T02:50:57Z\"}");
		check_scan_accepts(dd, buf_str(&w), false, "a duplicate of the first key after 300 keys");
		buf_truncate(&w, base);
		buf_adds(&w, ",\"o\":{");
		for (int i = 0; i < 100; i++)
			buf_addf(&w, "%s\"k%d\":%d", i ? "," : "", i, i);
		buf_adds(&w, "},\"k300\":1,\"o2\":{\"k5\":1,\"k5b\":2}}");
		check_scan_accepts(dd, buf_str(&w), true, "inner wide objects repeat outer keys");
		buf_truncate(&w, base);
		buf_adds(&w, ",\"o\":{");
		for (int i = 0; i < 100; i++)
			buf_addf(&w, "%s\"k%d\":%d", i ? "," : "", i, i);
		buf_adds(&w, "},\"o\":1}");
		check_scan_accepts(dd, buf_str(&w), false, "a duplicate key after a closed wide object");
		buf_truncate(&w, base);
		buf_adds(&w, ",\"o\":{");
		for (int i = 0; i < 100; i++)
			buf_addf(&w, "%s\"k%d\":%d", i ? "," : "", i, i);
		buf_adds(&w, ",\"k99\":1}}");
		check_scan_accepts(dd, buf_str(&w), false, "a duplicate key in an inner wide object");
		buf_free(&w);
	}
	check_walk(dm, "{\"ts\":\"2020-06-10T02:50:56.537Z\",\"status\":200,\"size\":7,\"ratio\":0.5,"
		   "\"msg\":\"hi\",\"ok\":false,\"ip\":\"10.0.0.1\",\"blob\":\"aGVsbG8=\",\"tags\":[\"a\",\"b\"],"
		   "\"resource\":{\"service\":\"api\"},\"attributes\":{\"k\":{\"n\":1.5,\"s\":[\"x\",\"y\"]}},\"msg2\":null}",
		   "ts=dt:1591757456537000 status=i64:200 size=u64:7 ratio=f64:0.5 msg=text:hi ok=bool:0 "
		   "ip=ip:00000000000000000000ffff0a000001 blob=bytes:hello tags=text:a tags=text:b[1] "
		   "resource.service=text:api attributes.k.n=f64:1.5 attributes.k.s=text:x attributes.k.s=text:y[1] ",
		   "walk visits every typed value with its dotted path");
	check_walk(dd, "{\"ts\":\"2020-06-10T02:50:56Z\",\"u\":{\"a\":\"x\",\"b\":[true,3]}}",
		   "ts=dt:1591757456000000 u.a=text:x(dyn) u.b=bool:1(dyn) u.b=i64:3[1](dyn) ",
		   "walk infers the types of dynamic fields");
	{
		json_t *doc = json_loads("{\"ts\":\"2020-06-10T02:50:56.537Z\"}", 0, NULL);
		int64_t us = 0;

		ok(docmap_timestamp(dm, doc, &us) && us == 1591757456537000LL, "docmap_timestamp");
		ok(!docmap_timestamp(dnone, doc, &us), "no timestamp without a timestamp field");
		json_decref(doc);
	}
	ok(strcmp(docmap_reason_name(DOC_NO_TIMESTAMP), "missing_timestamp") == 0 &&
	   strcmp(docmap_reason_name(DOC_TOO_LONG), "too_long") == 0, "reason names");

	docmap_free(dm);
	docmap_free(dl);
	docmap_free(dd);
	docmap_free(dnone);
	config_free(strict);
	config_free(lenient);
	config_free(dynamic);
	return tap_done();
}
