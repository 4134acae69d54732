/*
 * es_dsl: Elasticsearch query DSL -> Quickwit query string (see es_dsl.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve/es_dsl.h"
#include "mapping/datetime.h"
#include "base/xalloc.h"

/* Nesting deeper than this is refused (a bool in a bool in a bool...). */
#define MAX_DEPTH 64

static int to_query(json_t *q, struct buf *out, json_t **fields, int depth, struct qw_err *err);

/* Characters that mean something in the query grammar: escaped in values. */
static bool is_special(unsigned char c)
{
	return c <= ' ' || strchr("\\:()[]{}\"'*?^~+-!<>=&|/,", c) != NULL;
}

/* A value as one word of the grammar; wildcards kept when keep_wild. */
static void add_word(struct buf *out, const char *s, bool keep_wild)
{
	if (!*s) {
		buf_adds(out, "\"\"");
		return;
	}
	for (; *s; s++) {
		if (is_special((unsigned char)*s) && !(keep_wild && (*s == '*' || *s == '?')))
			buf_addc(out, '\\');
		buf_addc(out, *s);
	}
}

/* "field:"; nothing for NULL (the default search fields). */
static void add_field(struct buf *out, const char *field)
{
	const char *s;

	if (!field)
		return;
	for (s = field; *s; s++) {
		/* '-' and '+' only read as operators where a clause starts */
		if (is_special((unsigned char)*s) && *s != '.' && *s != '@' &&
		    (*s != '-' || s == field))
			buf_addc(out, '\\');
		buf_addc(out, *s);
	}
	buf_addc(out, ':');
}

/*
 * A term as Elasticsearch's term query means it: the value exactly as
 * given, never tokenized nor lowercased. The grammar's term set
 * (field:IN [v]) is that raw term (search_eval.c's match_set_value).
 */
static void add_raw_term(struct buf *out, const char *field, const char *value)
{
	add_field(out, field);
	buf_adds(out, "IN [");
	add_word(out, value, false);
	buf_addc(out, ']');
}

/*
 * case_insensitive on term/prefix, as Quickwit: a regex `(?i)value` (with
 * ".*" for a prefix) over the terms of the field, the value's regex
 * metacharacters escaped. '/' is escaped for the grammar's /re/.
 */
static void add_ci_regex(struct buf *out, const char *field, const char *value, bool prefix)
{
	add_field(out, field);
	buf_adds(out, "/(?i)");
	for (; *value; value++) {
		if (strchr("\\^$.|?*+()[]{}/", *value))
			buf_addc(out, '\\');
		buf_addc(out, *value);
	}
	if (prefix)
		buf_adds(out, ".*");
	buf_addc(out, '/');
}

/* An Elasticsearch regexp value as the grammar's /re/ ('/' escaped). */
static void add_regex(struct buf *out, const char *field, const char *re, bool ci)
{
	add_field(out, field);
	buf_addc(out, '/');
	if (ci)
		buf_adds(out, "(?i)");
	for (; *re; re++) {
		if (*re == '/')
			buf_addc(out, '\\');
		buf_addc(out, *re);
	}
	buf_addc(out, '/');
}

/* The boolean "case_insensitive" of term/prefix/regexp params. */
static bool case_insensitive(json_t *params)
{
	return json_is_object(params) && json_is_true(json_object_get(params, "case_insensitive"));
}

/* A scalar (string, number, bool) as text; -1 for anything else. */
static int scalar_text(json_t *v, char *tmp, size_t n, const char **out)
{
	if (json_is_string(v)) {
		*out = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(tmp, n, "%lld", (long long)json_integer_value(v));
		*out = tmp;
	} else if (json_is_real(v)) {
		snprintf(tmp, n, "%.17g", json_real_value(v));
		*out = tmp;
	} else if (json_is_boolean(v)) {
		*out = json_is_true(v) ? "true" : "false";
	} else {
		return -1;
	}
	return 0;
}

/* An empty name would write ":value", which is no query: every query
 * kind that names a field checks it here. */
static int field_named(const char *kind, const char *field, struct qw_err *err)
{
	if (!*field)
		return err_set(err, EX_USAGE, "%s query: the field name is empty", kind);
	return 0;
}

/* The single "field": params pair of a leaf query; -1 unless exactly one. */
static int one_field(json_t *body, const char *kind, const char **field, json_t **params,
		     struct qw_err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(body) || json_object_size(body) != 1)
		return err_set(err, EX_USAGE, "%s query: expected {\"FIELD\": ...} with one field", kind);
	json_object_foreach(body, k, v) {
		*field = k;
		*params = v;
	}
	return field_named(kind, *field, err);
}

/* params of term/prefix/wildcard: a scalar, or {"value": scalar, ...}. */
static int value_of(json_t *params, const char *kind, const char *key, char *tmp, size_t n,
		    const char **out, struct qw_err *err)
{
	json_t *v = json_is_object(params) ? json_object_get(params, key) : params;

	if (!v || scalar_text(v, tmp, n, out) < 0)
		return err_set(err, EX_USAGE, "%s query: expected a value", kind);
	return 0;
}

/* The words of a match text: split on white space. */
static size_t split_words(const char *s, const char **starts, size_t *lens, size_t max)
{
	size_t n = 0;

	while (*s) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (n == max)
			return max + 1;
		starts[n] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		lens[n] = (size_t)(s - starts[n]);
		n++;
	}
	return n;
}

/* A word with no letter or digit: the default tokenizer makes no term of it. */
static bool no_term(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (isalnum((unsigned char)w[i]) || (unsigned char)w[i] >= 0x80)
			return false;
	return true;
}

#define MAX_WORDS 256

/*
 * match / match_bool_prefix over one field: the words joined by op, the
 * last one a prefix when last_prefix. A text with no term is a zero-terms
 * query: nothing, or everything with zero_terms_query "all".
 */
static int match_words(struct buf *out, const char *field, const char *text, const char *op,
		       bool last_prefix, bool zero_all, struct qw_err *err)
{
	const char *starts[MAX_WORDS];
	size_t lens[MAX_WORDS], n, i, kept = 0;
	char word[1024];

	n = split_words(text, starts, lens, MAX_WORDS);
	if (n > MAX_WORDS)
		return err_set(err, EX_USAGE, "match query: more than %d words", MAX_WORDS);
	for (i = 0; i < n; i++)
		kept += !no_term(starts[i], lens[i]);
	if (kept == 0) {
		buf_adds(out, zero_all ? "*" : "(NOT *)");
		return 0;
	}
	buf_addc(out, '(');
	kept = 0;
	for (i = 0; i < n; i++) {
		if (no_term(starts[i], lens[i]))
			continue;
		if (lens[i] >= sizeof(word))
			return err_set(err, EX_USAGE, "match query: a word is too long");
		memcpy(word, starts[i], lens[i]);
		word[lens[i]] = '\0';
		if (kept++)
			buf_addf(out, " %s ", op);
		add_field(out, field);
		add_word(out, word, false);
		if (last_prefix && i + 1 == n)
			buf_addc(out, '*');
	}
	buf_addc(out, ')');
	return 0;
}

static void add_phrase(struct buf *out, const char *field, const char *text, json_int_t slop)
{
	const char *s;

	add_field(out, field);
	buf_addc(out, '"');
	for (s = text; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(out, '\\');
		buf_addc(out, *s);
	}
	buf_addc(out, '"');
	if (slop > 0)
		buf_addf(out, "~%lld", (long long)slop);
}

/* match, match_phrase, match_phrase_prefix, match_bool_prefix on one field. */
static int match_kind(const char *kind, const char *field, json_t *params, struct buf *out,
		      struct qw_err *err)
{
	json_t *qv = json_is_object(params) ? json_object_get(params, "query") : params;
	const char *op = "OR", *text;
	bool zero_all = false;
	char tmp[64];

	if (field_named(kind, field, err) < 0)
		return -1;
	if (!qv || scalar_text(qv, tmp, sizeof(tmp), &text) < 0)
		return err_set(err, EX_USAGE, "%s query: expected a query text", kind);
	if (json_is_object(params)) {
		json_t *o = json_object_get(params, "operator"), *z;

		if (json_object_get(params, "fuzziness"))
			return err_set(err, EX_USAGE, "%s query: fuzziness is not supported", kind);
		if (o && json_is_string(o) && strcasecmp(json_string_value(o), "and") == 0)
			op = "AND";
		else if (o && !(json_is_string(o) && strcasecmp(json_string_value(o), "or") == 0))
			return err_set(err, EX_USAGE, "%s query: operator must be and or or", kind);
		z = json_object_get(params, "zero_terms_query");
		zero_all = z && json_is_string(z) && strcasecmp(json_string_value(z), "all") == 0;
	}
	if (strcmp(kind, "match") == 0)
		return match_words(out, field, text, op, false, zero_all, err);
	if (strcmp(kind, "match_bool_prefix") == 0)
		return match_words(out, field, text, op, true, zero_all, err);
	if (strcmp(kind, "match_phrase") == 0) {
		json_t *slop = json_is_object(params) ? json_object_get(params, "slop") : NULL;

		add_phrase(out, field, text, slop ? json_integer_value(slop) : 0);
		return 0;
	}
	/* match_phrase_prefix: a phrase whose last word is a prefix ("a b"*) */
	{
		const char *starts[2];
		size_t lens[2];

		if (split_words(text, starts, lens, 1) <= 1)
			return match_words(out, field, text, "OR", true, zero_all, err);
		add_phrase(out, field, text, 0);
		buf_addc(out, '*');
		return 0;
	}
}

/*
 * An Elasticsearch (Java DateTimeFormatter) date pattern as a strptime one
 * (datetime.h), as Quickwit translates them: yyyy/uuuu, yy, MM, dd, HH,
 * mm, ss, S... (a fraction), 'quoted text', other punctuation as is.
 * -1 on a letter it does not know: a date it cannot read exactly.
 */
static int java_to_strptime(const char *j, struct buf *out)
{
	static const struct {
		const char *java, *c;
	} tok[] = { { "yyyy", "%Y" }, { "uuuu", "%Y" }, { "yy", "%y" }, { "MM", "%m" },
		    { "dd", "%d" },   { "HH", "%H" },   { "mm", "%M" }, { "ss", "%S" } };
	size_t i, n;

	while (*j) {
		if (*j == '\'') {
			for (j++; *j && *j != '\''; j++)
				buf_adds(out, *j == '%' ? "%%" : (char[]){ *j, 0 });
			if (!*j)
				return -1;
			j++;
			continue;
		}
		if (*j == 'S') {
			while (*j == 'S')
				j++;
			buf_adds(out, "%f");
			continue;
		}
		for (i = 0; i < sizeof(tok) / sizeof(tok[0]); i++) {
			n = strlen(tok[i].java);
			if (strncmp(j, tok[i].java, n) == 0 && j[n] != j[0])
				break;
		}
		if (i < sizeof(tok) / sizeof(tok[0])) {
			buf_adds(out, tok[i].c);
			j += strlen(tok[i].java);
			continue;
		}
		if (isalpha((unsigned char)*j))
			return -1;
		buf_adds(out, *j == '%' ? "%%" : (char[]){ *j, 0 });
		j++;
	}
	return 0;
}

/*
 * A range bound with the query's "format" ("f1||f2": the first that
 * reads it): as RFC 3339, which qw's grammar reads for any datetime field.
 * epoch_millis and epoch_second are numbers; named formats other than
 * those and strict_date_optional_time (RFC 3339 already) are refused.
 */
static int format_bound(const char *v, const char *format, struct buf *out, struct qw_err *err)
{
	char *copy = xstrdup(format), *f, *next;
	int64_t us;
	bool done = false;
	int ret = 0;

	for (f = copy; f && !done && ret == 0; f = next) {
		struct buf pat = BUF_INIT;
		char *end;

		next = strstr(f, "||");
		if (next) {
			*next = '\0';
			next += 2;
		}
		if (strcmp(f, "epoch_millis") == 0 || strcmp(f, "epoch_second") == 0) {
			bool ms = strcmp(f, "epoch_millis") == 0;
			long long x = strtoll(v, &end, 10), lim = ms ? 253402300800000LL : 253402300800LL;

			/* within the years datetime.h writes back */
			if (*v && !*end && x > -lim && x < lim) {
				us = ms ? x * 1000 : x * 1000000;
				done = true;
			}
		} else if (strcmp(f, "strict_date_optional_time") == 0 ||
			   strcmp(f, "date_optional_time") == 0) {
			done = datetime_parse("rfc3339", v, strlen(v), &us);
		} else if (java_to_strptime(f, &pat) < 0) {
			ret = err_set(err, EX_USAGE, "range query: date format `%s` is not supported", f);
		} else {
			done = datetime_parse(buf_str(&pat), v, strlen(v), &us);
		}
		buf_free(&pat);
	}
	free(copy);
	if (ret < 0)
		return -1;
	if (!done)
		return err_set(err, EX_USAGE, "range query: `%s` does not match the format `%s`", v,
			       format);
	datetime_format_rfc3339(us, out);
	return 0;
}

static int range_query(json_t *body, struct buf *out, struct qw_err *err)
{
	const char *field, *lo = "*", *hi = "*";
	char tlo[64], thi[64];
	struct buf flo = BUF_INIT, fhi = BUF_INIT;
	bool lo_incl = true, hi_incl = true;
	json_t *params, *v;

	if (one_field(body, "range", &field, &params, err) < 0)
		return -1;
	if (!json_is_object(params))
		return err_set(err, EX_USAGE, "range query: expected {\"gte\": ..., \"lt\": ...}");
	if ((v = json_object_get(params, "gte")) || (v = json_object_get(params, "gt"))) {
		lo_incl = json_object_get(params, "gte") != NULL;
		if (scalar_text(v, tlo, sizeof(tlo), &lo) < 0)
			return err_set(err, EX_USAGE, "range query: bad lower bound");
	}
	if ((v = json_object_get(params, "lte")) || (v = json_object_get(params, "lt"))) {
		hi_incl = json_object_get(params, "lte") != NULL;
		if (scalar_text(v, thi, sizeof(thi), &hi) < 0)
			return err_set(err, EX_USAGE, "range query: bad upper bound");
	}
	if ((v = json_object_get(params, "format")) && !json_is_string(v))
		return err_set(err, EX_USAGE, "range query: format must be a string");
	if (v && strcmp(lo, "*") != 0 && format_bound(lo, json_string_value(v), &flo, err) < 0)
		goto fail;
	if (v && strcmp(hi, "*") != 0 && format_bound(hi, json_string_value(v), &fhi, err) < 0)
		goto fail;
	if (flo.len)
		lo = buf_str(&flo);
	if (fhi.len)
		hi = buf_str(&fhi);
	add_field(out, field);
	buf_addc(out, lo_incl ? '[' : '{');
	if (strcmp(lo, "*") == 0)
		buf_addc(out, '*');
	else
		add_word(out, lo, false);
	buf_adds(out, " TO ");
	if (strcmp(hi, "*") == 0)
		buf_addc(out, '*');
	else
		add_word(out, hi, false);
	buf_addc(out, hi_incl ? ']' : '}');
	buf_free(&flo);
	buf_free(&fhi);
	return 0;
fail:
	buf_free(&flo);
	buf_free(&fhi);
	return -1;
}

/* The clauses of a bool occurrence: one object or an array of them. */
static int bool_clauses(json_t *v, const char *op, const char *prefix, struct buf *out,
			json_t **fields, size_t *count, int depth, struct qw_err *err)
{
	json_t *one;
	size_t i;

	if (!v)
		return 0;
	if (json_is_object(v)) {
		if ((*count)++)
			buf_addf(out, " %s ", op);
		buf_adds(out, prefix);
		return to_query(v, out, fields, depth + 1, err);
	}
	if (!json_is_array(v))
		return err_set(err, EX_USAGE, "bool query: expected a query or a list of queries");
	json_array_foreach(v, i, one) {
		if ((*count)++)
			buf_addf(out, " %s ", op);
		buf_adds(out, prefix);
		if (to_query(one, out, fields, depth + 1, err) < 0)
			return -1;
	}
	return 0;
}

static int bool_query(json_t *body, struct buf *out, json_t **fields, int depth,
		      struct qw_err *err)
{
	json_t *must = json_object_get(body, "must"), *filter = json_object_get(body, "filter");
	json_t *should = json_object_get(body, "should"), *not = json_object_get(body, "must_not");
	json_t *msm = json_object_get(body, "minimum_should_match");
	const char *k;
	json_t *v;
	size_t n = 0, ns = 0;
	bool use_should;

	if (!json_is_object(body))
		return err_set(err, EX_USAGE, "bool query: expected an object");
	json_object_foreach(body, k, v) {
		if (strcmp(k, "must") && strcmp(k, "filter") && strcmp(k, "should") &&
		    strcmp(k, "must_not") && strcmp(k, "minimum_should_match") && strcmp(k, "boost"))
			return err_set(err, EX_USAGE, "bool query: unknown key `%s`", k);
	}
	if (msm && !(json_is_integer(msm) && json_integer_value(msm) <= 1))
		return err_set(err, EX_USAGE, "bool query: minimum_should_match above 1 is not supported");
	use_should = should && (json_array_size(should) || json_is_object(should)) &&
		     (!(must || filter) || (msm && json_integer_value(msm) == 1));
	buf_addc(out, '(');
	if (bool_clauses(must, "AND", "", out, fields, &n, depth, err) < 0 ||
	    bool_clauses(filter, "AND", "", out, fields, &n, depth, err) < 0)
		return -1;
	if (use_should) {
		if (n++)
			buf_adds(out, " AND ");
		buf_addc(out, '(');
		if (bool_clauses(should, "OR", "", out, fields, &ns, depth, err) < 0)
			return -1;
		buf_addc(out, ')');
	}
	if (!n && not)
		n++, buf_addc(out, '*');
	if (bool_clauses(not, "AND", "NOT ", out, fields, &n, depth, err) < 0)
		return -1;
	if (!n)
		buf_addc(out, '*');
	buf_addc(out, ')');
	return 0;
}

/*
 * Append the field names of a query_string's default_field (a string) or
 * fields (a list of strings) to *fields. A name that is not a non-empty
 * string is refused: dropping it would search other fields than asked.
 */
static int add_search_fields(json_t **fields, json_t *v, const char *what, struct qw_err *err)
{
	size_t i;
	json_t *e;

	if (!*fields && !(*fields = json_array()))
		return err_set(err, EX_SOFTWARE, "query_string query: out of memory");
	if (json_is_string(v)) {
		if (!json_string_length(v))
			return err_set(err, EX_USAGE, "query_string query: %s is an empty field name", what);
		return json_array_append(*fields, v) < 0
			       ? err_set(err, EX_SOFTWARE, "query_string query: out of memory")
			       : 0;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !json_string_length(e))
			return err_set(err, EX_USAGE,
				       "query_string query: %s[%zu] must be a non-empty field name", what, i);
		if (json_array_append(*fields, e) < 0)
			return err_set(err, EX_SOFTWARE, "query_string query: out of memory");
	}
	return 0;
}

static int query_string(json_t *body, struct buf *out, json_t **fields, struct qw_err *err)
{
	json_t *q = json_object_get(body, "query"), *op = json_object_get(body, "default_operator");
	json_t *df = json_object_get(body, "default_field"), *fs = json_object_get(body, "fields");

	if (!json_is_string(q))
		return err_set(err, EX_USAGE, "query_string query: expected a \"query\" string");
	if (op && !(json_is_string(op) && strcasecmp(json_string_value(op), "and") == 0))
		return err_set(err, EX_USAGE,
			       "query_string query: only default_operator AND is supported");
	if (df && !json_is_string(df))
		return err_set(err, EX_USAGE, "query_string query: default_field must be a string");
	if (fs && !json_is_array(fs))
		return err_set(err, EX_USAGE, "query_string query: fields must be a list");
	if (df && fs && json_array_size(fs))
		return err_set(err, EX_USAGE,
			       "query_string query: default_field and fields are mutually exclusive");
	if ((df && add_search_fields(fields, df, "default_field", err) < 0) ||
	    (fs && add_search_fields(fields, fs, "fields", err) < 0))
		return -1;
	/* the space: "a OR" ends with an operator, an error, not the word OR */
	buf_addf(out, "(%s )", json_string_value(q));
	return 0;
}

static int multi_match(json_t *body, struct buf *out, struct qw_err *err)
{
	json_t *fs = json_object_get(body, "fields"), *f, *type = json_object_get(body, "type");
	const char *kind = "match";
	size_t i;
	json_t *params;
	int ret = 0;

	json_t *one_fs = NULL;

	/* as Elasticsearch, one field may be given as a string */
	if (json_is_string(fs)) {
		one_fs = json_pack("[O]", fs);
		fs = one_fs;
	}
	if (!json_is_array(fs) || json_array_size(fs) == 0) {
		json_decref(one_fs);
		return err_set(err, EX_USAGE, "multi_match query: expected a list of fields");
	}
	if (type && json_is_string(type)) {
		const char *t = json_string_value(type);

		if (strcmp(t, "phrase") == 0)
			kind = "match_phrase";
		else if (strcmp(t, "phrase_prefix") == 0)
			kind = "match_phrase_prefix";
		else if (strcmp(t, "bool_prefix") == 0)
			kind = "match_bool_prefix";
		else if (strcmp(t, "best_fields") != 0 && strcmp(t, "most_fields") != 0) {
			json_decref(one_fs);
			return err_set(err, EX_USAGE, "multi_match query: type `%s` is not supported", t);
		}
	}
	params = json_deep_copy(body);
	json_object_del(params, "fields");
	json_object_del(params, "type");
	json_object_del(params, "tie_breaker");
	json_object_del(params, "lenient");
	buf_addc(out, '(');
	json_array_foreach(fs, i, f) {
		if (!json_is_string(f)) {
			ret = err_set(err, EX_USAGE, "multi_match query: fields must be strings");
			break;
		}
		if (i)
			buf_adds(out, " OR ");
		if (match_kind(kind, json_string_value(f), params, out, err) < 0) {
			ret = -1;
			break;
		}
	}
	buf_addc(out, ')');
	json_decref(params);
	json_decref(one_fs);
	return ret;
}

static int to_query(json_t *q, struct buf *out, json_t **fields, int depth, struct qw_err *err)
{
	const char *kind = NULL, *field, *value;
	json_t *body = NULL, *params, *v;
	char tmp[64];
	size_t i;

	if (depth > MAX_DEPTH)
		return err_set(err, EX_USAGE, "query nested deeper than %d", MAX_DEPTH);
	if (!json_is_object(q) || json_object_size(q) != 1)
		return err_set(err, EX_USAGE, "a query is an object with one key, its type");
	json_object_foreach(q, field, body) {
		kind = field;
	}
	if (strcmp(kind, "match_all") == 0) {
		buf_addc(out, '*');
	} else if (strcmp(kind, "match_none") == 0) {
		buf_adds(out, "(NOT *)");
	} else if (strcmp(kind, "bool") == 0) {
		return bool_query(body, out, fields, depth, err);
	} else if (strcmp(kind, "query_string") == 0) {
		return query_string(body, out, fields, err);
	} else if (strcmp(kind, "multi_match") == 0) {
		return multi_match(body, out, err);
	} else if (strcmp(kind, "range") == 0) {
		return range_query(body, out, err);
	} else if (strcmp(kind, "exists") == 0) {
		v = json_object_get(body, "field");
		if (!json_is_string(v))
			return err_set(err, EX_USAGE, "exists query: expected {\"field\": NAME}");
		if (field_named(kind, json_string_value(v), err) < 0)
			return -1;
		add_field(out, json_string_value(v));
		buf_addc(out, '*');
	} else if (strcmp(kind, "term") == 0 || strcmp(kind, "prefix") == 0 ||
		   strcmp(kind, "wildcard") == 0) {
		if (one_field(body, kind, &field, &params, err) < 0 ||
		    value_of(params, kind, "value", tmp, sizeof(tmp), &value, err) < 0)
			return -1;
		if (strcmp(kind, "wildcard") != 0 && case_insensitive(params)) {
			add_ci_regex(out, field, value, strcmp(kind, "prefix") == 0);
		} else if (strcmp(kind, "term") == 0) {
			add_raw_term(out, field, value);
		} else {
			add_field(out, field);
			add_word(out, value, strcmp(kind, "wildcard") == 0);
			if (strcmp(kind, "prefix") == 0)
				buf_addc(out, '*');
		}
	} else if (strcmp(kind, "regexp") == 0) {
		if (one_field(body, kind, &field, &params, err) < 0 ||
		    value_of(params, kind, "value", tmp, sizeof(tmp), &value, err) < 0)
			return -1;
		add_regex(out, field, value, case_insensitive(params));
	} else if (strcmp(kind, "terms") == 0) {
		json_t *vals = NULL;
		const char *k;

		json_object_foreach(body, k, v) {
			if (strcmp(k, "boost") == 0)
				continue;
			if (vals)
				return err_set(err, EX_USAGE, "terms query: expected one field");
			field = k;
			vals = v;
		}
		if (!json_is_array(vals))
			return err_set(err, EX_USAGE, "terms query: expected {\"FIELD\": [values]}");
		if (field_named("terms", field, err) < 0)
			return -1;
		add_field(out, field);
		buf_adds(out, "IN [");
		json_array_foreach(vals, i, v) {
			if (scalar_text(v, tmp, sizeof(tmp), &value) < 0)
				return err_set(err, EX_USAGE, "terms query: values must be scalars");
			if (i)
				buf_addc(out, ' ');
			add_word(out, value, false);
		}
		buf_addc(out, ']');
	} else if (strcmp(kind, "match") == 0 || strcmp(kind, "match_phrase") == 0 ||
		   strcmp(kind, "match_phrase_prefix") == 0 || strcmp(kind, "match_bool_prefix") == 0) {
		if (one_field(body, kind, &field, &params, err) < 0)
			return -1;
		return match_kind(kind, field, params, out, err);
	} else if (strcmp(kind, "fuzzy") == 0) {
		return err_set(err, EX_USAGE, "%s queries are not supported", kind);
	} else {
		return err_set(err, EX_USAGE, "unknown query type `%s`", kind);
	}
	return 0;
}

int es_dsl_to_query(json_t *query, struct buf *out, json_t **search_fields, struct qw_err *err)
{
	if (!query) {
		buf_addc(out, '*');
		return 0;
	}
	return to_query(query, out, search_fields, 0, err);
}

bool es_dsl_lenient(json_t *query)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(query)) {
		json_array_foreach(query, i, v)
			if (es_dsl_lenient(v))
				return true;
		return false;
	}
	/* the params of query_string, multi_match, match...: beside a "query" */
	if (json_is_true(json_object_get(query, "lenient")) && json_object_get(query, "query"))
		return true;
	json_object_foreach(query, k, v) {
		if (es_dsl_lenient(v))
			return true;
	}
	return false;
}
