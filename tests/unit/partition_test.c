/* Unit tests for partition.c: Quickwit's partition_key routing expressions. */
#include <stdlib.h>
#include <string.h>

#include "mapping/partition.h"
#include "tap.h"

static json_t *doc(const char *text)
{
	json_error_t je;
	json_t *d = json_loads(text, 0, &je);

	if (!d) {
		fprintf(stderr, "bad test json: %s\n", text);
		exit(2);
	}
	return d;
}

static uint64_t eval_text(const struct partition_expr *e, const char *text)
{
	json_t *d = doc(text);
	uint64_t h = partition_expr_eval(e, d);

	json_decref(d);
	return h;
}

static int parses_as(const char *src, const char *want)
{
	struct qw_err err = QW_ERR_INIT;
	struct partition_expr *e = partition_expr_parse(src, &err);
	struct buf b = BUF_INIT;
	int same;

	if (!e) {
		tap_diag("parse '%s' failed: %s", src, err.msg);
		return 0;
	}
	partition_expr_format(e, &b);
	same = strcmp(buf_str(&b), want) == 0;
	if (!same)
		tap_diag("'%s' formats as '%s', want '%s'", src, buf_str(&b), want);
	buf_free(&b);
	partition_expr_free(e);
	return same;
}

static int rejects(const char *src)
{
	struct qw_err err = QW_ERR_INIT;
	struct partition_expr *e = partition_expr_parse(src, &err);

	if (e) {
		partition_expr_free(e);
		return 0;
	}
	return err.code == EX_DATAERR && strstr(err.msg, "partition_key") != NULL;
}

int main(void)
{
	struct qw_err err = QW_ERR_INIT;
	struct partition_expr *e;

	/* grammar, as Quickwit's routing expression DSL */
	ok(parses_as("tenant_id", "tenant_id"), "a single field");
	ok(parses_as("  tenant_id , app_id ", "tenant_id,app_id"), "fields separated by commas");
	ok(parses_as("hash_mod(tenant_id, 4)", "hash_mod((tenant_id), 4)"), "hash_mod of a field");
	ok(parses_as("hash_mod((tenant_id,hash_mod(app_id, 3)), 8),cluster_id",
		     "hash_mod((tenant_id,hash_mod((app_id), 3)), 8),cluster_id"),
	   "nested hash_mod and a composite (Quickwit's own test case)");
	ok(parses_as("resource.service", "resource.service"), "a dotted path");
	ok(rejects("hash_mod(a)"), "hash_mod with one argument is rejected");
	ok(rejects("hash_mod(a, 0)"), "hash_mod modulo 0 is rejected");
	ok(rejects("hash_mod(a, x)"), "hash_mod with a non-number modulo is rejected");
	ok(rejects("foo(a, 2)"), "an unknown function is rejected");
	ok(rejects("a,,b"), "an empty element is rejected");
	ok(rejects("a b"), "trailing garbage is rejected");
	ok(rejects("hash_mod(a, 2"), "a missing parenthesis is rejected");

	/* empty expression: one partition, id 0 */
	e = partition_expr_parse(NULL, &err);
	ok(e && partition_expr_is_empty(e), "NULL is the empty expression");
	ok(e && eval_text(e, "{\"a\":1}") == 0, "the empty expression gives partition 0");
	partition_expr_free(e);
	e = partition_expr_parse("   ", &err);
	ok(e && partition_expr_is_empty(e), "blank is the empty expression");
	partition_expr_free(e);

	/* a field: equal values same id, different values different ids */
	e = partition_expr_parse("tenant", &err);
	ok(eval_text(e, "{\"tenant\":\"a\",\"x\":1}") == eval_text(e, "{\"x\":2,\"tenant\":\"a\"}"),
	   "same value, same partition, whatever the other fields");
	ok(eval_text(e, "{\"tenant\":\"a\"}") != eval_text(e, "{\"tenant\":\"b\"}"),
	   "different values, different partitions");
	ok(eval_text(e, "{\"tenant\":1}") != eval_text(e, "{\"tenant\":\"1\"}"),
	   "the value's type counts (1 vs \"1\")");
	ok(eval_text(e, "{}") != eval_text(e, "{\"tenant\":null}"), "absent differs from null");
	ok(eval_text(e, "{\"tenant\":\"a\"}") <= INT64_MAX, "ids fit in 63 bits");
	partition_expr_free(e);

	/* hash_mod(f, 4): at most 4 distinct partitions over many values */
	e = partition_expr_parse("hash_mod(user, 4)", &err);
	{
		uint64_t seen[16];
		size_t n_seen = 0;

		for (int i = 0; i < 500; i++) {
			char text[64];
			uint64_t h;
			size_t j;

			snprintf(text, sizeof(text), "{\"user\":\"u%d\"}", i);
			h = eval_text(e, text);
			for (j = 0; j < n_seen && seen[j] != h; j++)
				;
			if (j == n_seen && n_seen < 16)
				seen[n_seen++] = h;
		}
		ok(n_seen == 4, "hash_mod(user, 4) over 500 users: 4 partitions (got %zu)", n_seen);
	}
	partition_expr_free(e);

	/* composite: both fields count */
	e = partition_expr_parse("a,b", &err);
	ok(eval_text(e, "{\"a\":1,\"b\":1}") != eval_text(e, "{\"a\":1,\"b\":2}"),
	   "composite: the second field counts");
	ok(eval_text(e, "{\"a\":1,\"b\":2}") != eval_text(e, "{\"a\":2,\"b\":1}"),
	   "composite: order of values counts");
	partition_expr_free(e);

	/* the expression is part of the id */
	{
		struct partition_expr *e1 = partition_expr_parse("a", &err);
		struct partition_expr *e2 = partition_expr_parse("b", &err);

		ok(eval_text(e1, "{\"a\":1,\"b\":1}") != eval_text(e2, "{\"a\":1,\"b\":1}"),
		   "the same value under another expression is another partition");
		partition_expr_free(e1);
		partition_expr_free(e2);
	}

	/* nested paths */
	e = partition_expr_parse("res.svc", &err);
	ok(eval_text(e, "{\"res\":{\"svc\":\"x\"}}") == eval_text(e, "{\"res.svc\":\"x\"}"),
	   "a dotted path finds nested objects and literal dotted keys alike");
	ok(eval_text(e, "{\"res\":{\"svc\":\"x\"}}") != eval_text(e, "{\"res\":{\"svc\":\"y\"}}"),
	   "nested values are told apart");
	partition_expr_free(e);

	/* random expressions: never a crash; whatever parses formats to a text
	 * that parses back to the same text and the same ids */
	{
		static const char *const atoms[] = { "a", "b_1", "x.y", "hash_mod(", "(", ")",
						     ",", " ", "3", "0", "hash_mod", "99999999999999999999" };
		unsigned seed = 12345, parsed = 0, roundtrip = 0;
		json_t *d = doc("{\"a\":\"v\",\"b_1\":7,\"x\":{\"y\":[1,2]}}");

		for (int i = 0; i < 20000; i++) {
			char src[128] = "";
			size_t n = 0;
			int k = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 10;

			for (int j = 0; j < k; j++) {
				const char *at = atoms[((seed = seed * 1103515245u + 12345u) >> 16) %
						       (sizeof(atoms) / sizeof(atoms[0]))];
				size_t al = strlen(at);

				if (n + al + 1 >= sizeof(src))
					break;
				memcpy(src + n, at, al + 1);
				n += al;
			}
			e = partition_expr_parse(src, &err);
			err_clear(&err);
			if (e) {
				struct buf b1 = BUF_INIT;
				struct partition_expr *e2;

				parsed++;
				partition_expr_format(e, &b1);
				e2 = partition_expr_parse(buf_str(&b1), &err);
				if (e2) {
					struct buf b2 = BUF_INIT;

					partition_expr_format(e2, &b2);
					if (strcmp(buf_str(&b1), buf_str(&b2)) == 0 &&
					    partition_expr_eval(e, d) == partition_expr_eval(e2, d))
						roundtrip++;
					else
						tap_diag("'%s' -> '%s' -> '%s'", src, buf_str(&b1), buf_str(&b2));
					buf_free(&b2);
					partition_expr_free(e2);
				} else {
					tap_diag("'%s' formats as '%s' which does not parse", src, buf_str(&b1));
				}
				buf_free(&b1);
				partition_expr_free(e);
			}
		}
		json_decref(d);
		ok(parsed > 100, "random expressions: %u of 20000 parse", parsed);
		ok(roundtrip == parsed, "every parsed one formats and parses back the same (%u/%u)",
		   roundtrip, parsed);
	}

	return tap_done();
}
