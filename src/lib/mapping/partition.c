#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mapping/partition.h"
#include "base/xalloc.h"

enum node_kind { NODE_FIELD, NODE_COMPOSITE, NODE_MODULO };

struct node {
	enum node_kind kind;
	char *name;               /* NODE_FIELD */
	struct node **kids;       /* NODE_COMPOSITE; NODE_MODULO: kids[0] */
	size_t n_kids, cap_kids;
	uint64_t modulo;          /* NODE_MODULO */
};

struct partition_expr {
	struct node *root;        /* NULL: the empty expression */
	uint64_t salt;            /* FNV state after hashing the tree */
};

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)
#define MAX_DEPTH 32

static void h_bytes(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= c[i];
		*h *= FNV_PRIME;
	}
}

static void h_u8(uint64_t *h, uint8_t v)
{
	h_bytes(h, &v, 1);
}

static void h_u64(uint64_t *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	h_bytes(h, b, 8);
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n);
}

static void node_add(struct node *parent, struct node *kid)
{
	XGROW(parent->kids, parent->n_kids + 1, parent->cap_kids);
	parent->kids[parent->n_kids++] = kid;
}

struct parser {
	const char *src;
	size_t pos;
	int depth;
	struct qw_err *err;
};

static void skip_ws(struct parser *p)
{
	while (p->src[p->pos] && isspace((unsigned char)p->src[p->pos]))
		p->pos++;
}

static bool is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.';
}

static int fail(struct parser *p, const char *what)
{
	return err_set(p->err, EX_DATAERR, "partition_key \"%s\": %s at column %zu", p->src, what,
		       p->pos + 1);
}

static struct node *parse_expr(struct parser *p);

/* ident, or ident "(" args ")" */
static struct node *parse_sub(struct parser *p)
{
	struct node *n = NULL, *arg = NULL;
	size_t start, len;
	char *name = NULL;

	skip_ws(p);
	start = p->pos;
	while (is_ident_char(p->src[p->pos]))
		p->pos++;
	len = p->pos - start;
	if (len == 0) {
		fail(p, "expected a field name");
		goto fail;
	}
	name = xstrndup(p->src + start, len);
	skip_ws(p);
	if (p->src[p->pos] != '(') {
		n = xcalloc(1, sizeof(*n));
		n->kind = NODE_FIELD;
		n->name = name;
		return n;
	}
	if (strcmp(name, "hash_mod") != 0) {
		p->pos = start;
		fail(p, "unknown function");
		goto fail;
	}
	p->pos++; /* ( */
	skip_ws(p);
	/* first argument: "(" expr ")" or a sub expression */
	if (p->src[p->pos] == '(') {
		p->pos++;
		arg = parse_expr(p);
		if (!arg)
			goto fail;
		skip_ws(p);
		if (p->src[p->pos] != ')') {
			fail(p, "expected ')'");
			goto fail;
		}
		p->pos++;
	} else {
		arg = parse_sub(p);
		if (!arg)
			goto fail;
	}
	skip_ws(p);
	if (p->src[p->pos] != ',') {
		fail(p, "hash_mod expects 2 arguments");
		goto fail;
	}
	p->pos++;
	skip_ws(p);
	{
		const char *s = p->src + p->pos;
		char *end;
		unsigned long long v;

		if (!isdigit((unsigned char)*s)) {
			fail(p, "hash_mod: expected a number as 2nd argument");
			goto fail;
		}
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || v == 0 || is_ident_char(*end)) {
			fail(p, "hash_mod: expected a number >= 1 as 2nd argument");
			goto fail;
		}
		p->pos += (size_t)(end - s);
		n = xcalloc(1, sizeof(*n));
		n->kind = NODE_MODULO;
		n->modulo = v;
		node_add(n, arg);
		arg = NULL;
	}
	skip_ws(p);
	if (p->src[p->pos] != ')') {
		fail(p, "hash_mod expects 2 arguments and ')'");
		goto fail;
	}
	p->pos++;
	free(name);
	return n;
fail:
	node_free(arg);
	node_free(n);
	free(name);
	return NULL;
}

static struct node *parse_expr(struct parser *p)
{
	struct node *list = NULL, *sub;

	if (++p->depth > MAX_DEPTH) {
		fail(p, "expression nested too deep");
		return NULL;
	}
	list = xcalloc(1, sizeof(*list));
	list->kind = NODE_COMPOSITE;
	for (;;) {
		sub = parse_sub(p);
		if (!sub) {
			node_free(list);
			return NULL;
		}
		node_add(list, sub);
		skip_ws(p);
		if (p->src[p->pos] != ',')
			break;
		p->pos++;
	}
	p->depth--;
	if (list->n_kids == 1) {
		sub = list->kids[0];
		list->n_kids = 0;
		node_free(list);
		return sub;
	}
	return list;
}

static void tree_hash(const struct node *n, uint64_t *h)
{
	switch (n->kind) {
	case NODE_FIELD:
		h_u8(h, 0);
		h_u64(h, strlen(n->name));
		h_bytes(h, n->name, strlen(n->name));
		break;
	case NODE_COMPOSITE:
		h_u8(h, 1);
		for (size_t i = 0; i < n->n_kids; i++)
			tree_hash(n->kids[i], h);
		break;
	case NODE_MODULO:
		h_u8(h, 2);
		tree_hash(n->kids[0], h);
		h_u64(h, n->modulo);
		break;
	}
}

struct partition_expr *partition_expr_parse(const char *src, struct qw_err *err)
{
	struct partition_expr *e = xcalloc(1, sizeof(*e));
	struct parser p = { src ? src : "", 0, 0, err };

	skip_ws(&p);
	if (p.src[p.pos] == '\0')
		return e;
	e->root = parse_expr(&p);
	if (!e->root) {
		free(e);
		return NULL;
	}
	skip_ws(&p);
	if (p.src[p.pos] != '\0') {
		fail(&p, "unexpected character");
		partition_expr_free(e);
		return NULL;
	}
	e->salt = FNV_OFFSET;
	tree_hash(e->root, &e->salt);
	return e;
}

void partition_expr_free(struct partition_expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	free(e);
}

int partition_expr_is_empty(const struct partition_expr *e)
{
	return e->root == NULL;
}

static void hash_json(json_t *v, uint64_t *h, int depth)
{
	if (depth > 64) {
		h_u8(h, 6);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_NULL:
		h_u8(h, 0);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		h_u8(h, 1);
		h_u8(h, json_is_true(v) ? 1 : 0);
		break;
	case JSON_INTEGER:
		h_u8(h, 2);
		h_u8(h, 'i');
		h_u64(h, (uint64_t)json_integer_value(v));
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t bits;

		memcpy(&bits, &d, sizeof(bits));
		h_u8(h, 2);
		h_u8(h, 'f');
		h_u64(h, bits);
		break;
	}
	case JSON_STRING:
		h_u8(h, 3);
		h_u64(h, json_string_length(v));
		h_bytes(h, json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *el;

		h_u8(h, 4);
		h_u64(h, json_array_size(v));
		json_array_foreach(v, i, el)
			hash_json(el, h, depth + 1);
		break;
	}
	case JSON_OBJECT: {
		const char *key;
		json_t *el;

		h_u8(h, 5);
		h_u64(h, json_object_size(v));
		json_object_foreach(v, key, el) {
			h_u64(h, strlen(key));
			h_bytes(h, key, strlen(key));
			hash_json(el, h, depth + 1);
		}
		break;
	}
	}
}

/* The value at a field path: the literal key first, then nested objects. */
static json_t *lookup(json_t *doc, const char *path)
{
	json_t *v = json_object_get(doc, path);
	const char *seg = path;

	if (v || !strchr(path, '.'))
		return v;
	v = doc;
	while (v && json_is_object(v)) {
		const char *dot = strchr(seg, '.');
		size_t n = dot ? (size_t)(dot - seg) : strlen(seg);

		v = json_object_getn(v, seg, n);
		if (!dot)
			return v;
		seg = dot + 1;
	}
	return NULL;
}

static void eval(const struct node *n, json_t *doc, uint64_t *h)
{
	switch (n->kind) {
	case NODE_FIELD: {
		json_t *v = lookup(doc, n->name);

		h_u8(h, 0);
		if (v) {
			h_u8(h, 1);
			hash_json(v, h, 0);
		} else {
			h_u8(h, 0);
		}
		break;
	}
	case NODE_COMPOSITE:
		h_u8(h, 1);
		for (size_t i = 0; i < n->n_kids; i++)
			eval(n->kids[i], doc, h);
		break;
	case NODE_MODULO: {
		uint64_t sub = FNV_OFFSET;

		h_u8(h, 2);
		eval(n->kids[0], doc, &sub);
		h_u64(h, sub % n->modulo);
		break;
	}
	}
}

uint64_t partition_expr_eval(const struct partition_expr *e, json_t *doc)
{
	uint64_t h;

	if (!e->root)
		return 0;
	h = e->salt;
	eval(e->root, doc, &h);
	/* 63 bits, so that ids are JSON integers everywhere; and
	 * PARTITION_OTHER_ID is kept for the overflow partition */
	h &= UINT64_C(0x7fffffffffffffff);
	return h == PARTITION_OTHER_ID ? h + 1 : h;
}

static void top_keys(const struct node *n, char ***out, size_t *num, size_t *cap)
{
	if (n->kind == NODE_FIELD) {
		const char *dot = strchr(n->name, '.');

		XGROW(*out, *num + 2, *cap);
		(*out)[(*num)++] = xstrdup(n->name);
		if (dot)
			(*out)[(*num)++] = xstrndup(n->name, (size_t)(dot - n->name));
		return;
	}
	for (size_t i = 0; i < n->n_kids; i++)
		top_keys(n->kids[i], out, num, cap);
}

size_t partition_expr_top_keys(const struct partition_expr *e, char ***out, size_t *n,
			       size_t *cap)
{
	size_t before = *n;

	if (e->root)
		top_keys(e->root, out, n, cap);
	return *n - before;
}

static void format_node(const struct node *n, struct buf *out)
{
	switch (n->kind) {
	case NODE_FIELD:
		buf_adds(out, n->name);
		break;
	case NODE_COMPOSITE:
		for (size_t i = 0; i < n->n_kids; i++) {
			if (i)
				buf_addc(out, ',');
			format_node(n->kids[i], out);
		}
		break;
	case NODE_MODULO:
		buf_adds(out, "hash_mod((");
		format_node(n->kids[0], out);
		buf_addf(out, "), %llu)", (unsigned long long)n->modulo);
		break;
	}
}

void partition_expr_format(const struct partition_expr *e, struct buf *out)
{
	if (e->root)
		format_node(e->root, out);
}
