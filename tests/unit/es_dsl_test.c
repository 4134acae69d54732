/*
 * es_dsl_test: the Elasticsearch query DSL translation (es_dsl.h) and the
 * query-string codec of http_router.h. Oracle for the DSL: the syntax tree
 * of the translation equals the tree of the Quickwit query a person would
 * write for it (both through query_parse/query_dump), so the test does not
 * depend on how es_dsl spells its output.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "serve/es_dsl.h"
#include "serve/http_router.h"
#include "search/query.h"
#include "tap.h"

static char *dump_of(const char *q)
{
	struct qw_err err = QW_ERR_INIT;
	struct query_node *n = query_parse(q, &err);
	struct buf b = BUF_INIT;

	if (!n)
		return NULL;
	query_dump(n, &b);
	query_free(n);
	return buf_detach(&b, NULL);
}

static void same(const char *dsl, const char *quickwit)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *q = json_loads(dsl, 0, NULL), *fields = NULL;
	struct buf out = BUF_INIT;
	char *got = NULL, *want = dump_of(quickwit);

	if (!q || es_dsl_to_query(q, &out, &fields, &err) < 0) {
		ok(0, "%s: %s", dsl, q ? err.msg : "bad test JSON");
		goto out;
	}
	got = dump_of(buf_str(&out));
	if (!ok(got && want && strcmp(got, want) == 0, "%s means %s", dsl, quickwit))
		tap_diag("translated to %s\n# got  %s\n# want %s", buf_str(&out), got ? got : "(no parse)",
			 want ? want : "(no parse)");
out:
	free(got);
	free(want);
	buf_free(&out);
	json_decref(fields);
	json_decref(q);
}

static void refused(const char *dsl, const char *word)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *q = json_loads(dsl, 0, NULL), *fields = NULL;
	struct buf out = BUF_INIT;

	ok(q && es_dsl_to_query(q, &out, &fields, &err) < 0 && err.code == 64 &&
		   strstr(err.msg, word) != NULL,
	   "%s is refused naming '%s' (%s)", dsl, word, err.msg);
	buf_free(&out);
	json_decref(fields);
	json_decref(q);
}

static void params(const char *raw, const char *name, const char *want)
{
	struct http_params p = { NULL, NULL, 0 };
	struct qw_err err = QW_ERR_INIT;
	const char *got;

	if (http_params_parse(&p, raw, strlen(raw), &err) < 0) {
		ok(want == NULL, "'%s' is refused (%s)", raw, err.msg);
	} else {
		got = http_params_get(&p, name);
		ok(want && got && strcmp(got, want) == 0, "'%s': %s = '%s'", raw, name, want ? want : "-");
	}
	http_params_free(&p);
}

int main(void)
{
	same("{\"match_all\": {}}", "*");
	same("{\"match_none\": {}}", "NOT *");
	/* term is a raw term (not analyzed): the grammar's term set */
	same("{\"term\": {\"type\": \"PushEvent\"}}", "type:IN [PushEvent]");
	same("{\"term\": {\"type\": {\"value\": \"Push\", \"case_insensitive\": true}}}",
	     "type:/(?i)Push/");
	same("{\"term\": {\"p\": {\"value\": \"a/b.c\", \"case_insensitive\": true}}}",
	     "p:/(?i)a\\/b\\.c/");
	same("{\"prefix\": {\"p\": {\"value\": \"RU\", \"case_insensitive\": true}}}",
	     "p:/(?i)RU.*/");
	same("{\"regexp\": {\"a\": \"x.*\"}}", "a:/x.*/");
	same("{\"regexp\": {\"a\": {\"value\": \"x/y\", \"case_insensitive\": true}}}", "a:/(?i)x\\/y/");
	same("{\"match_phrase_prefix\": {\"msg\": \"zone of ex\"}}", "msg:\"zone of ex\"*");
	same("{\"multi_match\": {\"query\": \"x\", \"fields\": \"a\"}}", "a:x");
	/* a field name starting with '-' is a name, not a negation (found by
	 * the http_request fuzz target) */
	same("{\"match\": {\"-a-b\": \"x\"}}", "\\-a-b:x");
	same("{\"term\": {\"type\": {\"value\": \"a:b (c)\"}}}", "type:IN [a\\:b\\ \\(c\\)]");
	same("{\"terms\": {\"n\": [1, 2, 3]}}", "n:IN [1 2 3]");
	same("{\"match\": {\"msg\": \"hello world\"}}", "msg:hello OR msg:world");
	same("{\"match\": {\"msg\": {\"query\": \"hello world\", \"operator\": \"AND\"}}}",
	     "msg:hello AND msg:world");
	same("{\"match\": {\"msg\": \", \"}}", "NOT *");
	same("{\"match\": {\"msg\": {\"query\": \",\", \"zero_terms_query\": \"all\"}}}", "*");
	same("{\"match_phrase\": {\"msg\": {\"query\": \"a \\\"b\\\" c\", \"slop\": 2}}}",
	     "msg:\"a \\\"b\\\" c\"~2");
	same("{\"match_bool_prefix\": {\"msg\": \"quick bro\"}}", "msg:quick OR msg:bro*");
	same("{\"match_phrase_prefix\": {\"msg\": \"bro\"}}", "msg:bro*");
	same("{\"multi_match\": {\"query\": \"x\", \"fields\": [\"a\", \"b\"]}}", "a:x OR b:x");
	same("{\"range\": {\"n\": {\"gte\": 5, \"lt\": 10}}}", "n:[5 TO 10}");
	same("{\"range\": {\"ts\": {\"gt\": \"2015-01-01T00:00:00Z\"}}}",
	     "ts:{2015-01-01T00\\:00\\:00Z TO *]");
	/* a range with a date format: the bounds as RFC 3339 */
	same("{\"range\": {\"ts\": {\"gte\": \"2015|02|01 T00:00:00.001999Z\", "
	     "\"format\": \"yyyy|MM|dd 'T'HH:mm:ss.SSSSSS'Z'\"}}}",
	     "ts:[2015-02-01T00\\:00\\:00.001999Z TO *]");
	same("{\"range\": {\"ts\": {\"lt\": \"1422748800000\", \"format\": \"yyyy||epoch_millis\"}}}",
	     "ts:[* TO 2015-02-01T00\\:00\\:00Z}");
	same("{\"range\": {\"ts\": {\"lt\": \"2015\", \"format\": \"yyyy||epoch_millis\"}}}",
	     "ts:[* TO 2015-01-01T00\\:00\\:00Z}");
	refused("{\"range\": {\"ts\": {\"gte\": \"01/02/2015\", \"format\": \"dd/MM/yyyy G\"}}}",
		"not supported");
	refused("{\"range\": {\"ts\": {\"gte\": \"2015-02\", \"format\": \"yyyy/MM\"}}}",
		"does not match");
	same("{\"exists\": {\"field\": \"a.b\"}}", "a.b:*");
	same("{\"prefix\": {\"login\": \"d\"}}", "login:d*");
	same("{\"wildcard\": {\"name\": {\"value\": \"*and?oid*\"}}}", "name:*and?oid*");
	same("{\"bool\": {\"must\": [{\"term\": {\"a\": 1}}], \"filter\": {\"term\": {\"b\": 2}}, "
	     "\"must_not\": {\"term\": {\"c\": 3}}}}",
	     "a:IN [1] AND b:IN [2] AND NOT c:IN [3]");
	same("{\"bool\": {\"should\": [{\"term\": {\"a\": 1}}, {\"term\": {\"b\": 2}}]}}", "a:IN [1] OR b:IN [2]");
	/* with a must, should only scores: it does not filter */
	same("{\"bool\": {\"must\": {\"term\": {\"a\": 1}}, \"should\": {\"term\": {\"b\": 2}}}}", "a:IN [1]");
	same("{\"bool\": {\"must\": {\"term\": {\"a\": 1}}, \"should\": {\"term\": {\"b\": 2}}, "
	     "\"minimum_should_match\": 1}}",
	     "a:IN [1] AND b:IN [2]");
	same("{\"bool\": {\"must_not\": {\"term\": {\"a\": 1}}}}", "* AND NOT a:IN [1]");
	same("{\"bool\": {}}", "*");
	same("{\"query_string\": {\"query\": \"a:1 OR b:2\"}}", "a:1 OR b:2");
	refused("{\"match\": {\"a\": {\"query\": \"x\", \"fuzziness\": 1}}}", "fuzziness");
	refused("{\"query_string\": {\"query\": \"a\", \"default_field\": \"b\", \"fields\": [\"c\"]}}",
		"mutually exclusive");
	refused("{\"bool\": {\"must\": {\"nope\": {}}}}", "nope");
	refused("{\"bool\": {\"should\": [], \"minimum_should_match\": 2}}", "minimum_should_match");
	refused("{\"query_string\": {\"query\": \"a b\", \"default_operator\": \"OR\"}}", "default_operator");
	refused("{\"term\": {\"a\": 1, \"b\": 2}}", "one field");
	/* an empty field name anywhere a query names one: never ":value" */
	refused("{\"term\": {\"\": 1}}", "empty");
	refused("{\"terms\": {\"\": [\"a\"]}}", "empty");
	refused("{\"match_phrase\": {\"\": \"a b\"}}", "empty");
	refused("{\"multi_match\": {\"query\": \"a\", \"fields\": [\"xy\", \"\"], \"type\": \"phrase\"}}",
		"empty");
	refused("{\"exists\": {\"field\": \"\"}}", "empty");
	refused("{\"exists\": {\"field\": 1}}", "NAME");

	{
		json_t *l = json_loads("{\"bool\": {\"must\": [{\"query_string\": {\"query\": \"x\", "
				       "\"lenient\": true}}]}}", 0, NULL);
		json_t *n = json_loads("{\"query_string\": {\"query\": \"x\", \"lenient\": false}}", 0,
				       NULL);

		ok(l && es_dsl_lenient(l), "a lenient clause makes the search lenient");
		ok(n && !es_dsl_lenient(n), "lenient: false does not");
		json_decref(n);
		n = json_loads("{\"term\": {\"lenient\": true}}", 0, NULL);
		ok(n && !es_dsl_lenient(n), "nor a term on a field named lenient");
		json_decref(l);
		json_decref(n);
	}
	params("query=a%20b+c&max_hits=3", "query", "a b c");
	params("a=1&a=2", "a", "2");
	params("flag&x=", "flag", "");
	params("x=%7B%22k%22%3A1%7D", "x", "{\"k\":1}");
	params("x=%zz", "x", NULL);
	params("x=%4", "x", NULL);
	params("x=%00", "x", NULL);
	return tap_done();
}
