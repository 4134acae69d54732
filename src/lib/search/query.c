/*
 * query: recursive-descent parser for Quickwit's query language (query.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/query.h"
#include "base/xalloc.h"

#define QUERY_MAX_DEPTH 64

struct parser {
	const char *s;
	size_t pos;
	unsigned depth;
	const char *group_field; /* inside field:( ... ): the field of clauses without one */
	struct qw_err *err;
};

static int fail(struct parser *p, size_t pos, const char *what)
{
	return err_set(p->err, EX_DATAERR, "query: col %zu: %s", pos + 1, what);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct parser *p)
{
	while (is_ws(p->s[p->pos]))
		p->pos++;
}

static struct query_node *node_new(enum query_kind kind, size_t pos)
{
	struct query_node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->col = (unsigned)pos + 1;
	n->boost = 1;
	return n;
}

void query_free(struct query_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n_kids; i++)
		query_free(n->kids[i]);
	free(n->kids);
	for (i = 0; i < n->n_values; i++)
		free(n->values[i]);
	free(n->values);
	free(n->value_cols);
	free(n->field);
	free(n->text);
	free(n->lower);
	free(n->upper);
	free(n);
}

static void add_kid(struct query_node *n, struct query_node *kid)
{
	n->kids = xreallocarray(n->kids, n->n_kids + 1, sizeof(*n->kids));
	n->kids[n->n_kids++] = kid;
}

/* Is the keyword kw at the current position, followed by a delimiter? */
static bool at_keyword(const struct parser *p, const char *kw)
{
	size_t n = strlen(kw);
	char c;

	if (strncmp(p->s + p->pos, kw, n) != 0)
		return false;
	c = p->s[p->pos + n];
	return c == '\0' || is_ws(c) || c == '(' || c == '"' || c == '-' || c == '+';
}

/*
 * Read a word: characters up to whitespace, '(' or ')' or one of stops,
 * backslash escaping the next one. *star: the word ended with an unescaped
 * '*' (which is not kept). Returns false when the word is empty.
 */
static bool read_word(struct parser *p, const char *stops, struct buf *out, bool *star)
{
	const char *s = p->s;
	bool last_star = false;

	buf_reset(out);
	for (;;) {
		char c = s[p->pos];

		if (c == '\0' || is_ws(c) || c == '(' || c == ')' || (stops && strchr(stops, c)))
			break;
		/* "^" and a digit: the clause's boost */
		if (c == '^' && s[p->pos + 1] >= '0' && s[p->pos + 1] <= '9')
			break;
		if (c == '\\' && s[p->pos + 1] != '\0') {
			buf_addc(out, s[p->pos + 1]);
			p->pos += 2;
			last_star = false;
			continue;
		}
		buf_addc(out, c);
		last_star = c == '*';
		p->pos++;
	}
	if (star) {
		*star = last_star;
		if (last_star)
			buf_truncate(out, out->len - 1);
	}
	return out->len > 0 || last_star;
}

/* Read a quoted string starting at '"' (or '\'', as tantivy); unescapes backslashes. */
static int read_quoted(struct parser *p, struct buf *out)
{
	size_t start = p->pos;
	char quote = p->s[p->pos];

	buf_reset(out);
	p->pos++;
	for (;;) {
		char c = p->s[p->pos];

		if (c == '\0')
			return fail(p, start, quote == '"' ? "expected '\"' to close the phrase"
							   : "expected \"'\" to close the phrase");
		if (c == quote) {
			p->pos++;
			return 0;
		}
		if (c == '\\' && p->s[p->pos + 1] != '\0') {
			buf_addc(out, p->s[p->pos + 1]);
			p->pos += 2;
			continue;
		}
		buf_addc(out, c);
		p->pos++;
	}
}

/*
 * A value: a quoted string or a word ending at one of stops, as a new
 * string; NULL (failed with msg) when there is none.
 */
static char *read_value(struct parser *p, const char *stops, const char *msg)
{
	struct buf b = BUF_INIT;
	char *v = NULL;

	if (p->s[p->pos] == '"') {
		if (read_quoted(p, &b) < 0)
			goto out;
	} else if (!read_word(p, stops, &b, NULL)) {
		fail(p, p->pos, msg);
		goto out;
	}
	v = xstrdup(buf_str(&b));
out:
	buf_free(&b);
	return v;
}

/* A range bound: a quoted string or a word; "*" means unbounded (NULL). */
static int read_bound(struct parser *p, char **bound)
{
	struct buf b = BUF_INIT;
	bool star = false;
	size_t start = p->pos;
	int rc = -1;

	*bound = NULL;
	if (p->s[p->pos] == '"') {
		/* as Quickwit: range bounds are words, never phrases */
		fail(p, p->pos, "expected a range bound (a word: quoted bounds are not supported)");
		goto out;
	}
	if (!read_word(p, "[]{}", &b, &star)) {
		fail(p, p->pos, "expected a range bound");
		goto out;
	}
	if (strpbrk(buf_str(&b), " \t")) {
		fail(p, start, "a range bound cannot contain whitespace");
		goto out;
	}
	if (!(star && b.len == 0)) {
		if (star)
			buf_addc(&b, '*');
		*bound = xstrdup(buf_str(&b));
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

static struct query_node *parse_range(struct parser *p, char *field, size_t col)
{
	struct query_node *n = node_new(QN_RANGE, col);

	n->field = field;
	n->lower_incl = p->s[p->pos] == '[';
	p->pos++;
	skip_ws(p);
	n->lower_col = (unsigned)p->pos + 1;
	if (read_bound(p, &n->lower) < 0)
		goto fail;
	skip_ws(p);
	if (strncmp(p->s + p->pos, "TO", 2) != 0 || !is_ws(p->s[p->pos + 2])) {
		fail(p, p->pos, "expected 'TO'");
		goto fail;
	}
	p->pos += 2;
	skip_ws(p);
	n->upper_col = (unsigned)p->pos + 1;
	if (read_bound(p, &n->upper) < 0)
		goto fail;
	skip_ws(p);
	if (p->s[p->pos] != ']' && p->s[p->pos] != '}') {
		fail(p, p->pos, "expected ']' or '}'");
		goto fail;
	}
	n->upper_incl = p->s[p->pos] == ']';
	p->pos++;
	return n;
fail:
	query_free(n);
	return NULL;
}

static struct query_node *parse_compare(struct parser *p, char *field, size_t col)
{
	struct query_node *n = node_new(QN_RANGE, col);
	bool greater = p->s[p->pos] == '>';
	bool incl = false;
	char *v;

	n->field = field;
	p->pos++;
	if (p->s[p->pos] == '=') {
		incl = true;
		p->pos++;
	}
	n->lower_col = n->upper_col = (unsigned)p->pos + 1;
	v = read_value(p, NULL, "expected a value after the comparison");
	if (!v)
		goto fail;
	if (greater) {
		n->lower = v;
		n->lower_incl = incl;
	} else {
		n->upper = v;
		n->upper_incl = incl;
	}
	return n;
fail:
	query_free(n);
	return NULL;
}

static struct query_node *parse_set(struct parser *p, char *field, size_t col)
{
	struct query_node *n = node_new(QN_SET, col);
	char *v;

	n->field = field;
	p->pos++; /* '[' */
	for (;;) {
		skip_ws(p);
		if (p->s[p->pos] == ']') {
			p->pos++;
			break;
		}
		if (p->s[p->pos] == '\0') {
			fail(p, p->pos, "expected ']'");
			goto fail;
		}
		n->value_cols = xreallocarray(n->value_cols, n->n_values + 1, sizeof(*n->value_cols));
		n->value_cols[n->n_values] = (unsigned)p->pos + 1;
		v = read_value(p, "[]", "expected a value or ']'");
		if (!v)
			goto fail;
		n->values = xreallocarray(n->values, n->n_values + 1, sizeof(*n->values));
		n->values[n->n_values++] = v;
	}
	return n;
fail:
	query_free(n);
	return NULL;
}

/*
 * field:/re/ at p->pos ('/'): the regex up to the next unescaped '/', which
 * must end the word. NULL with no error when there is no such '/' (then
 * `path:/var/log` stays a term, as in tantivy's grammar); field is taken
 * over only when a node is returned.
 */
static struct query_node *parse_regex(struct parser *p, char *field, size_t col)
{
	const char *s = p->s;
	size_t i = p->pos + 1;
	struct query_node *n;
	struct buf re = BUF_INIT;
	char after;

	for (; s[i] != '\0' && s[i] != '/'; i++) {
		if (s[i] == '\\' && s[i + 1] == '/') {
			buf_addc(&re, '/');
			i++;
			continue;
		}
		if (s[i] == '\\' && s[i + 1] != '\0')
			buf_addc(&re, s[i++]);
		buf_addc(&re, s[i]);
	}
	after = s[i] == '/' ? s[i + 1] : '\0';
	if (s[i] != '/' || !(after == '\0' || is_ws(after) || after == ')' || after == '^')) {
		buf_free(&re);
		return NULL;
	}
	n = node_new(QN_REGEX, col);
	n->field = field;
	n->text = xstrdup(buf_str(&re)); /* "//" too: an empty regex */
	buf_free(&re);
	n->text_col = (unsigned)p->pos + 2;
	p->pos = i + 1;
	return n;
}

/* The value of a clause, at p->pos; field (may be NULL) is taken over. */
static struct query_node *parse_value(struct parser *p, char *field, size_t col)
{
	struct query_node *n = NULL;
	struct buf b = BUF_INIT;
	const char *s = p->s;
	char c = s[p->pos];
	bool star = false;
	unsigned vcol = 0;

	/* 'a b' is a phrase too, as in tantivy's grammar (a word may hold a ' inside: don't) */
	if (c == '"' || (c == '\'' && strchr(s + p->pos + 1, '\''))) {
		n = node_new(QN_PHRASE, col);
		n->field = field;
		field = NULL;
		if (read_quoted(p, &b) < 0)
			goto fail;
		n->text = xstrdup(buf_str(&b));
		n->text_col = (unsigned)col;
		if (s[p->pos] == '*') {
			/* "a b c"*: a phrase whose last term is a prefix */
			n->kind = QN_PHRASE_PREFIX;
			p->pos++;
			goto out;
		}
		if (s[p->pos] == '~') {
			uint64_t slop = 0;
			size_t start = ++p->pos;

			while (s[p->pos] >= '0' && s[p->pos] <= '9' && slop < 1000000)
				slop = slop * 10 + (uint64_t)(s[p->pos++] - '0');
			if (p->pos == start) {
				fail(p, p->pos, "expected a number after '~'");
				goto fail;
			}
			n->slop = (uint32_t)slop;
		}
		goto out;
	}
	if (c == '/' && field) {
		n = parse_regex(p, field, col);
		if (n)
			return n;
	}
	if (c == '[' || c == '{')
		return parse_range(p, field, col);
	if (c == '>' || c == '<')
		return parse_compare(p, field, col);
	if (field && strncmp(s + p->pos, "IN", 2) == 0) {
		size_t save = p->pos;

		p->pos += 2;
		skip_ws(p);
		if (s[p->pos] == '[')
			return parse_set(p, field, col);
		p->pos = save;
	}
	if (!field && strncmp(s + p->pos, "IN", 2) == 0) {
		size_t save = p->pos;

		p->pos += 2;
		skip_ws(p);
		if (s[p->pos] == '[') {
			fail(p, save, "a set 'IN [...]' needs a field: write field:IN [a b]");
			goto fail;
		}
		p->pos = save;
	}
	{
		size_t wstart = p->pos, i;
		bool wild = false;

		vcol = (unsigned)wstart + 1;
		if (!read_word(p, NULL, &b, &star)) {
			fail(p, p->pos, field ? "expected a value after ':'" : "expected a term");
			goto fail;
		}
		/* an unescaped '?', or '*' before the end: a wildcard pattern */
		for (i = wstart; i < p->pos; i++) {
			if (s[i] == '\\') {
				i++;
				continue;
			}
			if (s[i] == '?' || (s[i] == '*' && i + 1 < p->pos))
				wild = true;
		}
		if (wild) {
			n = node_new(QN_WILDCARD, col);
			n->text = xstrndup(s + wstart, p->pos - wstart);
			n->text_col = vcol;
			n->field = field;
			field = NULL;
			goto out;
		}
	}
	if (star && b.len == 0) {
		n = node_new(field ? QN_EXISTS : QN_ALL, col);
	} else {
		n = node_new(star ? QN_PREFIX : QN_TERM, col);
		n->text = xstrdup(buf_str(&b));
		n->text_col = vcol;
	}
	n->field = field;
	field = NULL;
out:
	buf_free(&b);
	return n;
fail:
	free(field);
	buf_free(&b);
	query_free(n);
	return NULL;
}

static struct query_node *parse_or(struct parser *p);

static struct query_node *parse_primary(struct parser *p)
{
	const char *s = p->s;
	size_t start = p->pos, i;
	struct buf name = BUF_INIT;
	struct query_node *n = NULL;

	if (s[start] == '(') {
		p->pos++;
		n = parse_or(p);
		if (!n)
			return NULL;
		skip_ws(p);
		if (s[p->pos] != ')') {
			fail(p, p->pos, "expected ')'");
			query_free(n);
			return NULL;
		}
		p->pos++;
		return n;
	}
	if (s[start] == ')' || s[start] == '\0') {
		fail(p, start, "expected a term");
		return NULL;
	}
	/* A field name: characters up to an unescaped ':' with no delimiter before
	 * (none in a phrase: 'a:b' is one, as "a:b") */
	for (i = start; s[i] != '\0' && s[start] != '\''; i++) {
		char c = s[i];

		if (c == '\\' && s[i + 1] != '\0') {
			buf_addc(&name, s[++i]);
			continue;
		}
		if (c == ':' || is_ws(c) || c == '(' || c == ')' || c == '"' || c == '[' ||
		    c == '{' || c == '<' || c == '>' || c == '*')
			break;
		buf_addc(&name, c);
	}
	if (s[i] == ':' && name.len > 0 && s[i + 1] == '(') {
		/* field:( query ): field grouping */
		const char *outer = p->group_field;
		char *field = buf_detach(&name, NULL);

		p->group_field = field;
		p->pos = i + 2;
		n = parse_or(p);
		p->group_field = outer;
		if (n) {
			skip_ws(p);
			if (s[p->pos] != ')') {
				fail(p, p->pos, "expected ')' to close the field group");
				query_free(n);
				n = NULL;
			} else {
				p->pos++;
			}
		}
		free(field);
		return n;
	}
	if (s[i] == ':' && name.len > 0) {
		p->pos = i + 1;
		if (s[p->pos] == '\0' || is_ws(s[p->pos]) || s[p->pos] == ')') {
			fail(p, p->pos, "expected a value after ':'");
			buf_free(&name);
			return NULL;
		}
		return parse_value(p, buf_detach(&name, NULL), start);
	}
	buf_free(&name);
	return parse_value(p, p->group_field ? xstrdup(p->group_field) : NULL, start);
}

/* "^" N after a clause: N a non-negative decimal number. */
static int parse_boost(struct parser *p, struct query_node *n)
{
	const char *s = p->s;
	size_t start = ++p->pos;
	char num[32];
	char *end;
	double v;

	while ((s[p->pos] >= '0' && s[p->pos] <= '9') || s[p->pos] == '.')
		p->pos++;
	if (p->pos == start || p->pos - start >= sizeof(num))
		return fail(p, start, "expected a number after '^'");
	memcpy(num, s + start, p->pos - start);
	num[p->pos - start] = '\0';
	v = strtod(num, &end);
	if (*end || !isfinite(v) || v > 1e30)
		return fail(p, start, "expected a number after '^'");
	n->boost *= (float)v;
	return 0;
}

static struct query_node *parse_unary(struct parser *p)
{
	size_t start;
	struct query_node *kid, *n;
	char c;

	skip_ws(p);
	start = p->pos;
	c = p->s[p->pos];
	if (++p->depth > QUERY_MAX_DEPTH) {
		fail(p, start, "query too deeply nested");
		return NULL;
	}
	if (c == '-' || c == '+' || at_keyword(p, "NOT")) {
		p->pos += c == '-' || c == '+' ? 1 : 3;
		skip_ws(p);
		kid = parse_unary(p);
		if (!kid)
			return NULL;
		p->depth--;
		if (c == '+')
			return kid;
		n = node_new(QN_NOT, start);
		add_kid(n, kid);
		return n;
	}
	n = parse_primary(p);
	p->depth--;
	if (n && p->s[p->pos] == '^' && parse_boost(p, n) < 0) {
		query_free(n);
		return NULL;
	}
	return n;
}

static bool at_clause_end(struct parser *p)
{
	char c = p->s[p->pos];

	return c == '\0' || c == ')' || at_keyword(p, "OR");
}

static struct query_node *parse_and(struct parser *p)
{
	struct query_node *first, *n = NULL, *kid;
	size_t start;

	skip_ws(p);
	start = p->pos;
	first = parse_unary(p);
	if (!first)
		return NULL;
	for (;;) {
		skip_ws(p);
		if (at_clause_end(p))
			break;
		if (at_keyword(p, "AND")) {
			p->pos += 3;
			skip_ws(p);
		}
		kid = parse_unary(p);
		if (!kid)
			goto fail;
		if (!n) {
			n = node_new(QN_AND, start);
			add_kid(n, first);
			first = NULL;
		}
		add_kid(n, kid);
	}
	return n ? n : first;
fail:
	query_free(first);
	query_free(n);
	return NULL;
}

static struct query_node *parse_or(struct parser *p)
{
	struct query_node *first, *n = NULL, *kid;
	size_t start;

	if (++p->depth > QUERY_MAX_DEPTH) {
		fail(p, p->pos, "query too deeply nested");
		return NULL;
	}
	skip_ws(p);
	start = p->pos;
	first = parse_and(p);
	if (!first)
		return NULL;
	for (;;) {
		skip_ws(p);
		if (!at_keyword(p, "OR"))
			break;
		p->pos += 2;
		kid = parse_and(p);
		if (!kid)
			goto fail;
		if (!n) {
			n = node_new(QN_OR, start);
			add_kid(n, first);
			first = NULL;
		}
		add_kid(n, kid);
	}
	p->depth--;
	return n ? n : first;
fail:
	query_free(first);
	query_free(n);
	return NULL;
}

struct query_node *query_parse(const char *q, struct qw_err *err)
{
	struct parser p = { q, 0, 0, NULL, err };
	struct query_node *n;

	skip_ws(&p);
	/* as "*": Quickwit's REST API takes an absent query as every document */
	if (q[p.pos] == '\0')
		return node_new(QN_ALL, p.pos);
	n = parse_or(&p);
	if (!n)
		return NULL;
	skip_ws(&p);
	if (q[p.pos] != '\0') {
		fail(&p, p.pos, q[p.pos] == ')' ? "unbalanced ')'" : "expected the end of the query");
		query_free(n);
		return NULL;
	}
	return n;
}

static void dump_str(struct buf *out, const char *s)
{
	buf_adds(out, s ? s : "*");
}

void query_dump(const struct query_node *n, struct buf *out)
{
	const char *f = n->field ? n->field : "_";
	size_t i;

	if (n->boost != 1) {
		buf_adds(out, "BOOST(");
		buf_addf(out, "%g,", (double)n->boost);
	}

	switch (n->kind) {
	case QN_ALL:
		buf_adds(out, "ALL");
		break;
	case QN_TERM:
		buf_addf(out, "TERM(%s,%s)", f, n->text);
		break;
	case QN_PREFIX:
		buf_addf(out, "PREFIX(%s,%s)", f, n->text);
		break;
	case QN_WILDCARD:
		buf_addf(out, "WILDCARD(%s,%s)", f, n->text);
		break;
	case QN_PHRASE:
		buf_addf(out, "PHRASE(%s,\"%s\"~%u)", f, n->text, n->slop);
		break;
	case QN_PHRASE_PREFIX:
		buf_addf(out, "PHRASE_PREFIX(%s,\"%s\")", f, n->text);
		break;
	case QN_REGEX:
		buf_addf(out, "REGEX(%s,/%s/)", f, n->text);
		break;
	case QN_RANGE:
		buf_addf(out, "RANGE(%s,%c", f, n->lower_incl ? '[' : '{');
		dump_str(out, n->lower);
		buf_addc(out, ',');
		dump_str(out, n->upper);
		buf_addf(out, "%c)", n->upper_incl ? ']' : '}');
		break;
	case QN_SET:
		buf_addf(out, "SET(%s", f);
		for (i = 0; i < n->n_values; i++)
			buf_addf(out, "%c%s", i ? '|' : ',', n->values[i]);
		buf_addc(out, ')');
		break;
	case QN_EXISTS:
		buf_addf(out, "EXISTS(%s)", f);
		break;
	case QN_AND:
	case QN_OR:
	case QN_NOT:
		buf_adds(out, n->kind == QN_AND ? "AND(" : n->kind == QN_OR ? "OR(" : "NOT(");
		for (i = 0; i < n->n_kids; i++) {
			if (i)
				buf_adds(out, ", ");
			query_dump(n->kids[i], out);
		}
		buf_addc(out, ')');
		break;
	}
	if (n->boost != 1)
		buf_addc(out, ')');
}
