/*
 * query: Quickwit's query language, parsed into a syntax tree.
 *
 * query_parse() turns a query string into a tree of struct query_node. It
 * knows nothing of the index: field names and values stay strings, and
 * search_plan.c and search_eval.c resolve them against the config (types,
 * tokenizers). Grammar
 * (see qw-search(1)), lowest precedence first; the implicit operator
 * between two clauses is AND, as in Quickwit:
 *
 *   query   := or
 *   or      := and ( "OR" and )*
 *   and     := unary ( "AND"? unary )*
 *   unary   := ( "NOT" | "-" | "+" ) unary | primary
 *   primary := "(" query ")" | "*" | field ":" "(" query ")" | [ field ":" ] value
 *   value   := word | word"*" | "\"phrase\"" [ "~" N ] | "\"phrase\"*" | "*"   (exists)
 *            | word with "*" or "?" inside                    (wildcard)
 *            | "/" regex "/"                                  (regex, "\/" for '/')
 *            | ( "[" | "{" ) bound "TO" bound ( "]" | "}" )
 *            | ( ">=" | ">" | "<=" | "<" ) word
 *            | "IN" "[" word* "]"
 *   primary and unary clauses take an optional boost: clause "^" N (N >= 0)
 *
 * field:(query) groups: every clause of query without a field of its own
 * takes field (Quickwit's field grouping, `f:(a OR b)`, `f:(a -b)`). An
 * empty or all-blank query is "*" (every document).
 *
 * A backslash escapes the next character in words and field names.
 * Errors: EX_DATAERR and "query: col N: expected X" (N is 1-based, in
 * bytes). The tree is owned by the caller: query_free(). Pure and
 * reentrant.
 */
#ifndef QW_QUERY_H
#define QW_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

enum query_kind {
	QN_ALL,      /* "*": every document */
	QN_TERM,     /* field:word (word may be tokenized into several terms) */
	QN_PREFIX,   /* field:word* */
	QN_PHRASE,   /* field:"a b c"~slop */
	QN_RANGE,    /* field:[a TO b], field:>=a ... */
	QN_SET,      /* field:IN [a b c] */
	QN_EXISTS,   /* field:* */
	QN_AND,      /* every child */
	QN_OR,       /* any child */
	QN_NOT,      /* one child: every document but its matches */
	QN_WILDCARD, /* field:jo*r?al: text keeps the backslash escapes of the word */
	QN_PHRASE_PREFIX, /* field:"a b c"*: the last term is a prefix */
	QN_REGEX,    /* field:/re/: text is the regex, "\/" unescaped to "/" */
};

struct query_node {
	enum query_kind kind;
	unsigned col;            /* 1-based column of the clause, for messages */
	char *field;             /* NULL: the default search fields */
	char *text;              /* TERM, PREFIX (without '*'), PHRASE (unquoted) */
	uint32_t slop;           /* PHRASE */
	/* RANGE: NULL bound = unbounded */
	char *lower, *upper;
	bool lower_incl, upper_incl;
	/* SET values; AND/OR/NOT children */
	char **values;
	size_t n_values;
	struct query_node **kids;
	size_t n_kids;
	unsigned text_col;       /* 1-based column of text (TERM ... REGEX), for messages */
	unsigned lower_col, upper_col;
	unsigned *value_cols;    /* SET: the column of each value */
	float boost;             /* clause^N: scales its score (1 when none); never the hits */
};

struct query_node *query_parse(const char *q, struct qw_err *err);
void query_free(struct query_node *n);
/* A canonical, fully parenthesized rendering (for tests and --explain). */
void query_dump(const struct query_node *n, struct buf *out);

#endif
