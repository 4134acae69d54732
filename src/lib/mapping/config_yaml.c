/*
 * config_yaml: YAML text -> jansson tree, for config.c (see config.h,
 * config_yaml_to_json). libyaml's event parser; scalars typed with the
 * YAML 1.2 core schema (null, bool, int, float; quoted scalars and
 * !!str stay strings). Anchors, aliases, several documents and duplicate
 * keys are rejected. Every error says "NAME: line L, column C: why".
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "mapping/config.h"
#include "base/xalloc.h"

#define YAML_MAX_DEPTH 64

struct frame {
	json_t *node;      /* object or array */
	char *key;         /* pending key in a mapping, NULL when a key is expected */
};

static bool is_null(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int is_bool(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

static bool all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* YAML 1.2 core schema integer: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
static json_t *parse_int(const char *s)
{
	const char *p = s;
	unsigned long long uv;
	long long v;
	char *end;
	int base = 0;

	if (!strncmp(s, "0o", 2) && all_in(s + 2, "01234567"))
		base = 8;
	else if (!strncmp(s, "0x", 2) && all_in(s + 2, "0123456789abcdefABCDEF"))
		base = 16;
	if (base) {
		errno = 0;
		uv = strtoull(s + 2, &end, base);
		if (errno || *end || uv > (unsigned long long)INT64_MAX)
			return json_real((double)uv);
		return json_integer((json_int_t)uv);
	}
	if (*p == '-' || *p == '+')
		p++;
	if (!all_in(p, "0123456789"))
		return NULL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return json_real(strtod(s, NULL)); /* beyond int64: a real, as JSON parsers do */
	return json_integer(v);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and .inf/.nan */
static json_t *parse_float(const char *s)
{
	const char *p = s;
	bool digits = false;
	char *end;
	double d;

	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF") ||
	    !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return NULL; /* not representable in JSON: keep as a string */
	while (*p >= '0' && *p <= '9') {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return NULL;
	errno = 0;
	d = strtod(s, &end);
	if (*end || !isfinite(d))
		return NULL;
	return json_real(d);
}

static json_t *scalar_to_json(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	json_t *v;
	int b;

	if ((tag && !strcmp(tag, YAML_STR_TAG)) || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    strlen(s) != len)
		return json_stringn(s, len);
	if (is_null(s))
		return json_null();
	b = is_bool(s);
	if (b >= 0)
		return json_boolean(b);
	v = parse_int(s);
	if (v)
		return v;
	v = parse_float(s);
	if (v)
		return v;
	return json_stringn(s, len);
}

__attribute__((format(printf, 4, 5)))
static int at(struct qw_err *err, const char *name, const yaml_mark_t *m, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(err, EX_DATAERR, "%s: line %zu, column %zu: %s", name,
		       (size_t)m->line + 1, (size_t)m->column + 1, what);
}

/* Attach v to the top frame (steals v). */
static int attach(struct frame *top, json_t *v, const yaml_mark_t *m, const char *name,
		  struct qw_err *err)
{
	int rc = -1;

	if (json_is_array(top->node)) {
		if (json_array_append_new(top->node, v))
			return at(err, name, m, "%s", "cannot build the tree");
		return 0;
	}
	if (!top->key) {
		/* a key: only scalars are keys */
		if (!json_is_string(v)) {
			const char *s = json_is_null(v) ? "null" : json_is_boolean(v) ? "bool" :
					json_is_number(v) ? "number" : "complex";

			if (json_is_number(v) || json_is_boolean(v) || json_is_null(v)) {
				/* plain scalar key typed as non-string: keep its text */
				json_decref(v);
				return 1; /* caller uses the raw text */
			}
			json_decref(v);
			return at(err, name, m, "mapping keys must be scalars, not %s", s);
		}
		if (json_object_get(top->node, json_string_value(v))) {
			at(err, name, m, "duplicate key \"%s\"", json_string_value(v));
			json_decref(v);
			return -1;
		}
		top->key = xstrdup(json_string_value(v));
		json_decref(v);
		return 0;
	}
	rc = json_object_set_new(top->node, top->key, v);
	free(top->key);
	top->key = NULL;
	if (rc)
		return at(err, name, m, "%s", "invalid key (not UTF-8?)");
	return 0;
}

/* The tree being built: the root and the collections still open above the
 * next event. */
struct builder {
	const char *name;                   /* for messages */
	json_t *root;                       /* owned; NULL until the first node */
	struct frame stack[YAML_MAX_DEPTH]; /* nodes borrowed: owned by their parent or root */
	size_t depth;
	bool have_doc;
};

/* libyaml's reason for refusing the text, with where it was and, if it
 * says, where the construct it was in started. */
static int parse_error(const yaml_parser_t *parser, const char *name, struct qw_err *err)
{
	const char *problem = parser->problem ? parser->problem : "invalid YAML";

	if (parser->context)
		return err_set(err, EX_DATAERR,
			       "%s: line %zu, column %zu: %s %s started at line %zu, column %zu",
			       name, (size_t)parser->problem_mark.line + 1,
			       (size_t)parser->problem_mark.column + 1, problem, parser->context,
			       (size_t)parser->context_mark.line + 1,
			       (size_t)parser->context_mark.column + 1);
	return err_set(err, EX_DATAERR, "%s: line %zu, column %zu: %s", name,
		       (size_t)parser->problem_mark.line + 1,
		       (size_t)parser->problem_mark.column + 1, problem);
}

/* Attach v (stolen) to the innermost open node; a plain scalar key such as
 * 123 or true is attached as its text. */
static int attach_to_parent(struct builder *b, const yaml_event_t *ev, json_t *v,
			    struct qw_err *err)
{
	struct frame *top = &b->stack[b->depth - 1];
	const yaml_mark_t *mark = &ev->start_mark;
	json_t *k;
	int rc;

	rc = attach(top, v, mark, b->name, err);
	if (rc != 1)
		return rc;
	k = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
	if (!k)
		return at(err, b->name, mark, "%s", "invalid key");
	return attach(top, k, mark, b->name, err);
}

/* A scalar, sequence or mapping starts: the root, or attached to the open
 * node above; a sequence or mapping is then open itself. */
static int add_node(struct builder *b, const yaml_event_t *ev, struct qw_err *err)
{
	const yaml_mark_t *mark = &ev->start_mark;
	bool scalar = ev->type == YAML_SCALAR_EVENT;
	const unsigned char *anchor = scalar ? ev->data.scalar.anchor :
		ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor :
		ev->data.mapping_start.anchor;
	json_t *v;

	if (anchor)
		return at(err, b->name, mark, "%s", "YAML anchors are not supported");
	if (scalar)
		v = scalar_to_json(ev);
	else if (ev->type == YAML_SEQUENCE_START_EVENT)
		v = json_array();
	else
		v = json_object();
	if (!v)
		return at(err, b->name, mark, "%s", "invalid scalar (not UTF-8?)");
	if (b->depth == 0) {
		b->root = v;
	} else if (attach_to_parent(b, ev, scalar ? v : json_incref(v), err)) {
		/* a collection's own reference, taken for its frame */
		if (!scalar)
			json_decref(v);
		return -1;
	}
	if (scalar)
		return 0;
	if (b->depth == YAML_MAX_DEPTH) {
		if (b->root != v)
			json_decref(v);
		return at(err, b->name, mark, "%s", "nested too deeply");
	}
	b->stack[b->depth].node = v;
	b->stack[b->depth].key = NULL;
	if (b->root != v)
		json_decref(v);
	b->depth++;
	return 0;
}

/* One parser event into the tree; *done at the end of the stream. */
static int take_event(struct builder *b, const yaml_event_t *ev, bool *done, struct qw_err *err)
{
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (b->have_doc)
			return at(err, b->name, &ev->start_mark, "%s", "only one YAML document is allowed");
		b->have_doc = true;
		return 0;
	case YAML_ALIAS_EVENT:
		return at(err, b->name, &ev->start_mark, "%s", "YAML aliases are not supported");
	case YAML_SCALAR_EVENT:
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return add_node(b, ev, err);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0) {
			b->depth--;
			free(b->stack[b->depth].key);
			b->stack[b->depth].key = NULL;
		}
		return 0;
	default:
		return 0;
	}
}

json_t *config_yaml_to_json(const char *text, size_t len, const char *name, struct qw_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b = { .name = name ? name : "<yaml>" };
	bool done = false, ok = false;

	if (!yaml_parser_initialize(&parser)) {
		err_set(err, EX_SOFTWARE, "%s: cannot initialize the YAML parser", b.name);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		int rc;

		if (!yaml_parser_parse(&parser, &ev)) {
			parse_error(&parser, b.name, err);
			goto out;
		}
		rc = take_event(&b, &ev, &done, err);
		yaml_event_delete(&ev);
		if (rc)
			goto out;
	}
	if (!b.root)
		b.root = json_null();
	ok = true;
out:
	while (b.depth > 0) {
		b.depth--;
		free(b.stack[b.depth].key);
	}
	yaml_parser_delete(&parser);
	if (!ok) {
		json_decref(b.root);
		b.root = NULL;
	}
	return b.root;
}
