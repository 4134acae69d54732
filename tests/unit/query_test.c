/* query_test: the query-string parser (query.h). */
#include <stdlib.h>
#include <string.h>

#include "search/query.h"
#include "tap.h"

static void check(const char *q, const char *want)
{
	struct qw_err err = QW_ERR_INIT;
	struct query_node *n = query_parse(q, &err);
	struct buf b = BUF_INIT;

	if (!n) {
		ok(0, "parse '%s': %s", q, err.msg);
		return;
	}
	query_dump(n, &b);
	if (!ok(strcmp(buf_str(&b), want) == 0, "parse '%s'", q))
		tap_diag("got  %s\n# want %s", buf_str(&b), want);
	buf_free(&b);
	query_free(n);
}

static void check_err(const char *q, const char *want)
{
	struct qw_err err = QW_ERR_INIT;
	struct query_node *n = query_parse(q, &err);

	if (!ok(!n && err.code == 65 && strcmp(err.msg, want) == 0, "error for '%s'", q))
		tap_diag("got '%s' (code %d), want '%s'", err.msg, err.code, want);
	query_free(n);
}

int main(void)
{
	check("hello", "TERM(_,hello)");
	check("*", "ALL");
	check("  title:foo  ", "TERM(title,foo)");
	check("a b c", "AND(TERM(_,a), TERM(_,b), TERM(_,c))");
	check("a AND b", "AND(TERM(_,a), TERM(_,b))");
	check("a OR b", "OR(TERM(_,a), TERM(_,b))");
	check("a b OR c", "OR(AND(TERM(_,a), TERM(_,b)), TERM(_,c))");
	check("a OR b AND c", "OR(TERM(_,a), AND(TERM(_,b), TERM(_,c)))");
	check("a AND (b OR c)", "AND(TERM(_,a), OR(TERM(_,b), TERM(_,c)))");
	check("NOT a", "NOT(TERM(_,a))");
	check("-a +b", "AND(NOT(TERM(_,a)), TERM(_,b))");
	check("-ts:1234567890 AND NOT ts:1234567891",
	      "AND(NOT(TERM(ts,1234567890)), NOT(TERM(ts,1234567891)))");
	check("NOTE", "TERM(_,NOTE)");
	check("ORANGE ANDROID", "AND(TERM(_,ORANGE), TERM(_,ANDROID))");
	check("title:\"hello world\"", "PHRASE(title,\"hello world\"~0)");
	check("\"a b\"~2", "PHRASE(_,\"a b\"~2)");
	check("jour*", "PREFIX(_,jour)");
	/* boosts: clause^N scales the score */
	check("msg:hello^2", "BOOST(2,TERM(msg,hello))");
	check("\"a b\"~1^1.5 c", "AND(BOOST(1.5,PHRASE(_,\"a b\"~1)), TERM(_,c))");
	check("(a OR b)^0.5", "BOOST(0.5,OR(TERM(_,a), TERM(_,b)))");
	check("-a^3", "NOT(BOOST(3,TERM(_,a)))");
	check("a^b", "TERM(_,a^b)");
	check_err("a^1.2.3", "query: col 3: expected a number after '^'");
	check("f:jour\\*", "TERM(f,jour*)");
	check("Jou*al AND unix", "AND(WILDCARD(_,Jou*al), TERM(_,unix))");
	check("f:Jour?al", "WILDCARD(f,Jour?al)");
	check("f:a\\?b*", "PREFIX(f,a?b)");
	check("f:*x", "WILDCARD(f,*x)");
	check("f:*", "EXISTS(f)");
	check("attributes.color:red", "TERM(attributes.color,red)");
	check("k8s\\.pod:x", "TERM(k8s.pod,x)");
	check("f:[1 TO 10]", "RANGE(f,[1,10])");
	check("f:{1 TO 10]", "RANGE(f,{1,10])");
	check("f:[* TO 10}", "RANGE(f,[*,10})");
	check("f:[a TO *]", "RANGE(f,[a,*])");
	check("ts:>=2023/05/25", "RANGE(ts,[2023/05/25,*})");
	check("ts:>1", "RANGE(ts,{1,*})");
	check("ts:<=2022-12-16T10:00:57.000Z", "RANGE(ts,{*,2022-12-16T10:00:57.000Z])");
	check("ts:<1", "RANGE(ts,{*,1})");
	check(">=10791466", "RANGE(_,[10791466,*})");
	check("severity:IN [error warn]", "SET(severity,error|warn)");
	check("severity:IN []", "SET(severity)");
	check("f:IN", "TERM(f,IN)");
	check("text_raw:indexed-with-raw-tokenizer-dashes", "TERM(text_raw,indexed-with-raw-tokenizer-dashes)");
	check("url:http://x/y", "TERM(url,http://x/y)");
	check("(a)", "TERM(_,a)");
	check("((a OR b) c)", "AND(OR(TERM(_,a), TERM(_,b)), TERM(_,c))");
	check("NOT(a)", "NOT(TERM(_,a))");
	check("a -b", "AND(TERM(_,a), NOT(TERM(_,b)))");
	check("x:a\\ b", "TERM(x,a b)");

	/* as Quickwit's REST API: no query (empty or blank) is every document */
	check("", "ALL");
	check("   ", "ALL");
	check(" \t\n", "ALL");
	/* single quotes make a phrase too, as in tantivy's grammar */
	check("f:'a b'", "PHRASE(f,\"a b\"~0)");
	check("f:'a \\' b'", "PHRASE(f,\"a ' b\"~0)");
	check("f:it's", "TERM(f,it's)");
	check("'a:b c'", "PHRASE(_,\"a:b c\"~0)");
	check("f:'abc", "TERM(f,'abc)");
	check("'x y'* z", "AND(PHRASE_PREFIX(_,\"x y\"), TERM(_,z))");
	/* phrase prefix */
	check("msg:\"thanks for your contrib\"*", "PHRASE_PREFIX(msg,\"thanks for your contrib\")");
	check("\"a b\"* c", "AND(PHRASE_PREFIX(_,\"a b\"), TERM(_,c))");
	/* regex */
	check("msg:/hel.*/", "REGEX(msg,/hel.*/)");
	check("msg:/a\\/b/", "REGEX(msg,/a/b/)");
	check("msg:/a\\.b/", "REGEX(msg,/a\\.b/)");
	check("msg:/hel.*/^2", "BOOST(2,REGEX(msg,/hel.*/))");
	check("(msg:/x+/)", "REGEX(msg,/x+/)");
	check("msg://", "REGEX(msg,//)");
	check("g:(//)", "REGEX(g,//)");
	check("path:/var/log", "TERM(path,/var/log)");
	check("path:/var/log/x", "TERM(path,/var/log/x)");
	check("/abc/", "TERM(_,/abc/)");
	/* field grouping */
	check("f:(a OR b)", "OR(TERM(f,a), TERM(f,b))");
	check("f:(a b)", "AND(TERM(f,a), TERM(f,b))");
	check("f:(a -b)", "AND(TERM(f,a), NOT(TERM(f,b)))");
	check("f:(a g:b)", "AND(TERM(f,a), TERM(g,b))");
	check("f:(a OR b)^2 c", "AND(BOOST(2,OR(TERM(f,a), TERM(f,b))), TERM(_,c))");
	check("f:(a^3 OR \"b c\")", "OR(BOOST(3,TERM(f,a)), PHRASE(f,\"b c\"~0))");
	check("f:(g:(a) b)", "AND(TERM(g,a), TERM(f,b))");
	check("f:([1 TO 2] OR >5)", "OR(RANGE(f,[1,2]), RANGE(f,{5,*}))");
	check("f:(*)", "EXISTS(f)");
	check("NOT f:(a OR b)", "NOT(OR(TERM(f,a), TERM(f,b)))");
	check_err("f:(a OR b", "query: col 10: expected ')' to close the field group");
	check_err("f:()", "query: col 4: expected a term");
	check_err("IN [a b]", "query: col 1: a set 'IN [...]' needs a field: write field:IN [a b]");
	check_err("x AND IN [a]", "query: col 7: a set 'IN [...]' needs a field: write field:IN [a b]");
	check_err("type:PushEvent OR", "query: col 18: expected a term");
	check_err("f:[1 TO 10", "query: col 11: expected ']' or '}'");
	check_err("f:[1 10]", "query: col 6: expected 'TO'");
	check_err("(a OR b", "query: col 8: expected ')'");
	check_err("a)", "query: col 2: unbalanced ')'");
	check_err("f:\"abc", "query: col 3: expected '\"' to close the phrase");
	check_err("f: x", "query: col 3: expected a value after ':'");
	check_err("f:IN [a b", "query: col 10: expected ']'");
	check_err("\"a\"~x", "query: col 5: expected a number after '~'");
	check_err("f:[\"a b\" TO c]", "query: col 4: expected a range bound (a word: quoted bounds are not supported)");
	check_err("f:[a\\ b TO c]", "query: col 4: a range bound cannot contain whitespace");
	check_err("a AND", "query: col 6: expected a term");
	check_err("f:>", "query: col 4: expected a value after the comparison");
	{
		char deep[400];
		memset(deep, '(', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\0';
		struct qw_err err = QW_ERR_INIT;
		struct query_node *n = query_parse(deep, &err);
		ok(!n && strstr(err.msg, "too deeply nested"), "deep nesting is an error: %s", err.msg);
		query_free(n);
	}
	return tap_done();
}
