/* docmap: see docmap.h */
#include "mapping/docmap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "mapping/datetime.h"
#include "mapping/json_lex.h"
#include "mapping/json_load.h"

#define DOCMAP_MAX_DEPTH 100
#define KEY_HINTS 128
#define KEY_HINT_LEN 40

struct docmap {
	const struct index_config *cfg;
	struct buf path;         /* dotted path of the value being mapped or walked */
	struct buf scratch;      /* rewritten strings, decoded bytes (leaf_rule) */
	struct buf cstr;         /* long string tokens as C strings (tok_cstr) */
	struct buf tokbuf;       /* decoded strings of the canonical fast path */
	const struct field_mapping *ts_field;
	bool ts_top;      /* ts_field is one of cfg->fields (a top-level key names it) */
	const char **unstored;   /* paths of the fields with stored: false */
	size_t n_unstored;
	/* the mapping of the key met at each place of an object in the last
	 * line (logs repeat their keys in the same order): see child_hinted() */
	struct key_hint {
		const struct field_mapping *fields;   /* the siblings looked in */
		const struct field_mapping *m;        /* what config_child() said */
		size_t ord, n;
		char key[KEY_HINT_LEN];
	} hints[KEY_HINTS];
};

static const char *const reason_names[DOC_REASON_COUNT] = {
	[DOC_OK] = "ok",
	[DOC_NOT_JSON] = "not_json",
	[DOC_NOT_OBJECT] = "not_object",
	[DOC_WRONG_TYPE] = "wrong_type",
	[DOC_UNKNOWN_FIELD] = "unknown_field",
	[DOC_NO_TIMESTAMP] = "missing_timestamp",
	[DOC_BAD_TIMESTAMP] = "bad_timestamp",
	[DOC_TOO_LONG] = "too_long",
	[DOC_TOO_DEEP] = "too_deep",
	[DOC_NO_MATCH] = "no_match",
};

const char *docmap_reason_name(enum docmap_reason r)
{
	if ((unsigned)r >= DOC_REASON_COUNT)
		return "unknown";
	return reason_names[r];
}

struct docmap *docmap_new(const struct index_config *cfg)
{
	struct docmap *dm = xcalloc(1, sizeof(*dm));

	dm->cfg = cfg;
	if (cfg && cfg->timestamp_field)
		dm->ts_field = config_find_field(cfg, cfg->timestamp_field);
	for (size_t i = 0; dm->ts_field && i < cfg->n_fields; i++)
		dm->ts_top |= dm->ts_field == &cfg->fields[i];
	for (size_t i = 0; cfg && i < cfg->n_leaves; i++) {
		if (!cfg->leaves[i]->opts.stored) {
			dm->unstored = xreallocarray(dm->unstored, dm->n_unstored + 1,
						     sizeof(*dm->unstored));
			dm->unstored[dm->n_unstored++] = cfg->leaves[i]->path;
		}
	}
	return dm;
}

void docmap_free(struct docmap *dm)
{
	if (!dm)
		return;
	buf_free(&dm->path);
	buf_free(&dm->scratch);
	buf_free(&dm->cstr);
	buf_free(&dm->tokbuf);
	free(dm->unstored);
	free(dm);
}

/* ---------------------------------------------------------------- helpers */

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_NULL: return "null";
	}
	return "value";
}

static const char *type_label(const struct field_mapping *f)
{
	return config_field_type_name(f->type);
}

/*
 * Integers above INT64_MAX (json_int_t) that fit in uint64 are held in the
 * tree as a string of a NUL then their decimal digits (see big_rewrite()).
 * A document's own strings may hold a NUL (a "\u0000" escape, see
 * docmap_load()), but never that shape: docmap_load() refuses it.
 */
#define BIG_U64_MAX "18446744073709551615"

static bool big_u64(const json_t *v, uint64_t *u)
{
	const char *s;
	size_t n;
	uint64_t x = 0;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n < 2 || n > 21 || s[0] != '\0')
		return false;
	for (size_t i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*u = x;
	return true;
}

static json_t *big_u64_new(uint64_t u)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%c%llu", 0, (unsigned long long)u);

	return json_stringn(tmp, (size_t)n);
}

/* Short printable rendering of a value for messages. */
static void describe(const json_t *v, char *out, size_t n)
{
	uint64_t u;

	if (big_u64(v, &u))
		snprintf(out, n, "integer %llu", (unsigned long long)u);
	else if (json_is_string(v))
		snprintf(out, n, "string \"%.40s\"", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, n, "integer %lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, n, "number %g", json_real_value(v));
	else
		snprintf(out, n, "%s", json_kind(v));
}

static int wrong_type(struct docmap *dm, const struct field_mapping *f, const json_t *v,
		      enum docmap_reason r, enum docmap_reason *reason, struct qw_err *err)
{
	char what[96];

	describe(v, what, sizeof(what));
	*reason = r;
	return err_set(err, EX_DATAERR, "field '%s': expected %s%s%s, got %s", buf_str(&dm->path),
		       f->is_array ? "array<" : "", type_label(f), f->is_array ? ">" : "", what);
}

/* buf_add without a call while the buffer has room. */
static inline void out_n(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n) {
		buf_add(b, p, n);
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static size_t path_push(struct buf *p, const char *key, size_t klen)
{
	size_t old = p->len;

	if (old)
		out_n(p, ".", 1);
	out_n(p, key, klen);
	return old;
}

static const struct field_mapping *find_mapping(const struct docmap *dm,
						const struct field_mapping *fields, size_t n,
						const char *key)
{
	return config_child(dm->cfg, fields, n, key, strlen(key));
}

/* memcmp(a, b, n) == 0 without a call, for short keys: a word at a time,
 * never reading past either end. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;

	for (; n >= 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * config_child() for the key s (n bytes) at place ord of an object whose
 * mappings are fields: when the same place of the same object held the
 * same key in the last line, the answer then, without hashing (sibling
 * names are unique, so the answer is the same).
 */
static const struct field_mapping *child_unhinted(struct docmap *dm, struct key_hint *h,
						  const struct field_mapping *fields, size_t nf,
						  const char *s, size_t n, size_t ord)
{
	const struct field_mapping *m = config_child(dm->cfg, fields, nf, s, n);

	if (n <= KEY_HINT_LEN) {
		h->fields = fields;
		h->ord = ord;
		h->n = n;
		h->m = m;
		memcpy(h->key, s, n);
	}
	return m;
}

/* Inlined, the miss (child_unhinted) not: a hit costs no call. */
static inline const struct field_mapping *
child_hinted(struct docmap *dm, const struct field_mapping *fields, size_t nf, const char *s,
	     size_t n, size_t ord)
{
	size_t slot = (ord + ((uintptr_t)fields >> 4) * 31) % KEY_HINTS;
	struct key_hint *h = &dm->hints[slot];

	if (h->fields == fields && h->ord == ord && h->n == n && same_bytes(h->key, s, n))
		return h->m;
	return child_unhinted(dm, h, fields, nf, s, n, ord);
}

/*
 * The duplicate check of the one-pass paths for a key that maps to m among
 * fields: names of sibling fields are unique, so the keys of the first 64
 * fields are told apart by their field, a bit each in *mapped. 1 when m's
 * key was seen in this object, 0 when not (now it is), -1 when the key must
 * be compared with the others (unmapped, or a later field).
 */
static inline int mapped_key_seen(uint64_t *mapped, const struct field_mapping *fields,
				  const struct field_mapping *m)
{
	uint64_t bit;

	if (!m || (size_t)(m - fields) >= 64)
		return -1;
	bit = UINT64_C(1) << (m - fields);
	if (*mapped & bit)
		return 1;
	*mapped |= bit;
	return 0;
}

/* Nesting depth check for subtrees kept as they are (json fields, dynamic). */
static bool too_deep(const json_t *v, int depth)
{
	const char *key;
	json_t *child;
	size_t i;

	if (depth > DOCMAP_MAX_DEPTH)
		return true;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child)
			if ((json_is_object(child) || json_is_array(child)) && too_deep(child, depth + 1))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			if ((json_is_object(child) || json_is_array(child)) && too_deep(child, depth + 1))
				return true;
	}
	return false;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static bool hex_decode(const char *s, size_t len, struct buf *out)
{
	buf_reset(out);
	if (len % 2)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_val((unsigned char)s[i]), lo = hex_val((unsigned char)s[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		buf_addc(out, (char)(hi << 4 | lo));
	}
	return true;
}

/* Standard base64 (padding optional); decoded bytes into out. */
static bool b64_decode(const char *s, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0;

	buf_reset(out);
	while (len && s[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64_val((unsigned char)s[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)((acc >> bits) & 0xff));
		}
	}
	return bits < 6;
}

bool docmap_bytes_decode(const struct field_mapping *f, const char *s, size_t len,
			 struct buf *out)
{
	return f && f->bytes_input_hex ? hex_decode(s, len, out) : b64_decode(s, len, out);
}

void docmap_bytes_encode(bool hex, const uint8_t *p, size_t len, struct buf *out)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	if (hex) {
		for (i = 0; i < len; i++)
			buf_addf(out, "%02x", p[i]);
		return;
	}
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		buf_addc(out, b64[v >> 18]);
		buf_addc(out, b64[(v >> 12) & 63]);
		buf_addc(out, b64[(v >> 6) & 63]);
		buf_addc(out, b64[v & 63]);
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);

		buf_addc(out, b64[v >> 18]);
		buf_addc(out, b64[(v >> 12) & 63]);
		buf_addc(out, i + 1 < len ? b64[(v >> 6) & 63] : '=');
		buf_addc(out, '=');
	}
}

/* ---------------------------------------------------------------- type rules */

/*
 * The type rules of the mapping, once, for every path: the tree path
 * (map_leaf and visit_leaf over jansson values) and the one-pass line
 * paths (the canonical writer fx_* and the scan sc_*) each turn the scalar
 * they read into a struct tok and ask leaf_rule() what the field's type
 * makes of it: kept as it is, rewritten (the token that replaces it), or
 * rejected (the reason). The typed value a kept token indexes comes with
 * the verdict. Containers (objects, arrays, json fields' subtrees) are the
 * walkers' business; a rule only ever sees a scalar.
 */
enum tok_kind { TK_NULL, TK_STR, TK_INT, TK_BIG, TK_REAL, TK_BOOL };

struct tok {
	enum tok_kind kind;
	const char *s;           /* TK_STR: the decoded bytes (may hold a NUL) */
	size_t n;
	int64_t i;               /* TK_INT */
	uint64_t u;              /* TK_BIG: an integer above INT64_MAX */
	double d;                /* TK_REAL */
	bool b;                  /* TK_BOOL */
};

enum rule_verdict { RULE_KEEP, RULE_REWRITE, RULE_REJECT };

struct rule_out {
	struct tok nt;               /* RULE_REWRITE: the token written instead */
	enum docmap_reason reason;   /* RULE_REJECT */
	/* the value indexed (docmap_walk), with fv.mapping/kind/v set: every
	 * kept token but null, and the rewrites the tree walk has always read
	 * (a big integer as an f64, any datetime the field parses) */
	bool has_value;
	struct field_value fv;
};

/* A string token as a C string (in tmp or dm->cstr), NULL when it holds a
 * NUL (a "\u0000"): then it is no number, address or date. */
static const char *tok_cstr(struct docmap *dm, const struct tok *t, char tmp[64])
{
	if (memchr(t->s, '\0', t->n))
		return NULL;
	if (t->n < 64) {
		memcpy(tmp, t->s, t->n);
		tmp[t->n] = '\0';
		return tmp;
	}
	buf_reset(&dm->cstr);
	buf_add(&dm->cstr, t->s, t->n);
	return buf_str(&dm->cstr);
}

static enum rule_verdict keep(struct rule_out *o, enum value_kind kind)
{
	o->has_value = true;
	o->fv.kind = kind;
	return RULE_KEEP;
}

static enum rule_verdict reject(struct rule_out *o, enum docmap_reason reason)
{
	o->reason = reason;
	return RULE_REJECT;
}

static enum rule_verdict rewrite_int(struct rule_out *o, int64_t i)
{
	o->nt.kind = TK_INT;
	o->nt.i = i;
	return RULE_REWRITE;
}

static enum rule_verdict rewrite_real(struct rule_out *o, double d)
{
	o->nt.kind = TK_REAL;
	o->nt.d = d;
	return RULE_REWRITE;
}

/* A rewritten string: the bytes of dm->scratch. */
static enum rule_verdict rewrite_scratch(struct docmap *dm, struct rule_out *o)
{
	o->nt.kind = TK_STR;
	o->nt.s = buf_str(&dm->scratch);
	o->nt.n = dm->scratch.len;
	return RULE_REWRITE;
}

/* Whether f's rule looks at a string's bytes: text keeps any string as it
 * is (the canonical writer need not decode its escapes for it). */
static bool rule_reads_string(const struct field_mapping *f)
{
	return f->type != FT_TEXT;
}

/* text, what is not a string: numbers and bools become their JSON text
 * (reals as jansson prints them with 17 digits) */
static __attribute__((noinline)) enum rule_verdict
rule_text_other(struct docmap *dm, const struct tok *t, struct rule_out *o)
{
	char *s;
	json_t *r;

	buf_reset(&dm->scratch);
	switch (t->kind) {
	case TK_STR:
		break;
	case TK_INT:
		buf_addf(&dm->scratch, "%lld", (long long)t->i);
		return rewrite_scratch(dm, o);
	case TK_BIG:
		buf_addf(&dm->scratch, "%llu", (unsigned long long)t->u);
		return rewrite_scratch(dm, o);
	case TK_BOOL:
		buf_adds(&dm->scratch, t->b ? "true" : "false");
		return rewrite_scratch(dm, o);
	case TK_REAL:
		r = json_real(t->d);
		s = r ? json_dumps(r, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) : NULL;
		json_decref(r);
		if (!s)
			return reject(o, DOC_WRONG_TYPE);
		buf_adds(&dm->scratch, s);
		free(s);
		return rewrite_scratch(dm, o);
	case TK_NULL:
		break;
	}
	return reject(o, DOC_WRONG_TYPE);
}

/* text: strings, kept (the commonest rule of all: inlined) */
static inline enum rule_verdict rule_text(struct docmap *dm, const struct tok *t,
					  struct rule_out *o)
{
	if (t->kind != TK_STR)
		return rule_text_other(dm, t, o);
	o->fv.v.text.s = t->s;
	o->fv.v.text.len = t->n;
	return keep(o, VK_TEXT);
}

/* i64 and u64: integers in range; integral reals and (coerce) numeric
 * strings become integers */
static __attribute__((noinline)) enum rule_verdict
rule_int(struct docmap *dm, const struct field_mapping *f, const struct tok *t, struct rule_out *o)
{
	bool is_u = f->type == FT_U64;
	const char *c;
	char tmp[64];
	int64_t i;
	uint64_t u;

	switch (t->kind) {
	case TK_INT:
		if (is_u && t->i < 0)
			break;
		if (is_u)
			o->fv.v.u64 = (uint64_t)t->i;
		else
			o->fv.v.i64 = t->i;
		return keep(o, is_u ? VK_U64 : VK_I64);
	case TK_BIG:
		if (!is_u)
			break;
		o->fv.v.u64 = t->u;
		return keep(o, VK_U64);
	case TK_REAL:
		if (t->d == floor(t->d) && t->d >= (is_u ? 0 : -9.2e18) && t->d <= 9.2e18)
			return rewrite_int(o, (int64_t)t->d);
		break;
	case TK_STR:
		if (!f->coerce || !(c = tok_cstr(dm, t, tmp)))
			break;
		if (!is_u && value_parse_i64(c, &i))
			return rewrite_int(o, i);
		if (is_u && value_parse_u64(c, &u)) {
			if (u <= INT64_MAX)
				return rewrite_int(o, (int64_t)u);
			o->nt.kind = TK_BIG;
			o->nt.u = u;
			return RULE_REWRITE;
		}
		break;
	case TK_BOOL:
	case TK_NULL:
		break;
	}
	return reject(o, DOC_WRONG_TYPE);
}

/* f64: numbers; a big integer and (coerce) a numeric string become reals */
static __attribute__((noinline)) enum rule_verdict
rule_f64(struct docmap *dm, const struct field_mapping *f, const struct tok *t, struct rule_out *o)
{
	const char *c;
	char tmp[64];
	double d;

	switch (t->kind) {
	case TK_INT:
		o->fv.v.f64 = (double)t->i;
		return keep(o, VK_F64);
	case TK_REAL:
		o->fv.v.f64 = t->d;
		return keep(o, VK_F64);
	case TK_BIG:
		o->has_value = true;
		o->fv.kind = VK_F64;
		o->fv.v.f64 = (double)t->u;
		return rewrite_real(o, (double)t->u);
	case TK_STR:
		if (f->coerce && (c = tok_cstr(dm, t, tmp)) && value_parse_f64(c, &d))
			return rewrite_real(o, d);
		break;
	case TK_BOOL:
	case TK_NULL:
		break;
	}
	return reject(o, DOC_WRONG_TYPE);
}

static bool has_format(const struct field_mapping *f, const char *name)
{
	for (size_t i = 0; i < f->n_input_formats; i++)
		if (strcmp(f->input_formats[i], name) == 0)
			return true;
	return false;
}

/* datetime: a string in the field's input formats, or a number when
 * unix_timestamp is allowed, always written as its canonical RFC 3339
 * string (kept when it is that already) */
static __attribute__((noinline)) enum rule_verdict
rule_datetime(struct docmap *dm, const struct field_mapping *f, const struct tok *t,
	      struct rule_out *o)
{
	char tmp[64], canon[DATETIME_RFC3339_MAX];
	const char *c = NULL;
	int64_t us;
	unsigned ns = 0;  /* below the microsecond, kept in the stored string */
	bool ok = false;
	size_t n;

	if (t->kind == TK_STR && datetime_parse_canonical(t->s, t->n, &us)) {
		/* what value_parse_datetime() reads first, kept as it is */
		o->has_value = true;
		o->fv.kind = VK_DATETIME;
		o->fv.v.dt_us = us;
		return RULE_KEEP;
	}
	switch (t->kind) {
	case TK_STR:
		ok = (c = tok_cstr(dm, t, tmp)) &&
		     value_parse_datetime_ns(f->input_formats, f->n_input_formats, c, t->n, &us, &ns);
		break;
	case TK_INT:
	case TK_REAL:
		ok = (!f->n_input_formats || has_format(f, "unix_timestamp")) &&
		     (t->kind == TK_INT ? datetime_from_i64_ns(t->i, &us, &ns)
					: datetime_from_number(t->d, &us));
		break;
	case TK_BIG:
		break;
	case TK_BOOL:
	case TK_NULL:
		return reject(o, DOC_WRONG_TYPE);
	}
	if (!ok)
		return reject(o, DOC_BAD_TIMESTAMP);
	o->has_value = true;
	o->fv.kind = VK_DATETIME;
	o->fv.v.dt_us = us;
	if (ns) {
		buf_reset(&dm->scratch);
		datetime_format_rfc3339_ns(us, ns, &dm->scratch);
		if (t->n == dm->scratch.len && memcmp(t->s, dm->scratch.data, t->n) == 0)
			return RULE_KEEP;
		return rewrite_scratch(dm, o);
	}
	n = datetime_rfc3339_chars(us, canon);
	if (t->kind == TK_STR && t->n == n && memcmp(t->s, canon, n) == 0)
		return RULE_KEEP;
	buf_reset(&dm->scratch);
	buf_add(&dm->scratch, canon, n);
	return rewrite_scratch(dm, o);
}

/*
 * An IPv4 address in its plainest dotted form (four parts of 1 to 3 digits,
 * no leading zero, each at most 255) as value_parse_ip() stores it (mapped
 * into IPv6): every such string is one inet_pton() reads the same way, so
 * this is its fast path; false leaves the string to value_parse_ip().
 */
static bool ipv4_plain(const char *s, size_t n, uint8_t out[16])
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	for (int part = 0; part < 4; part++) {
		unsigned v, d;

		if (part && (p >= end || *p++ != '.'))
			return false;
		if (p >= end || (v = (unsigned)*p - '0') > 9)
			return false;
		p++;
		/* a second and a third digit, none after a leading zero */
		if (p < end && (d = (unsigned)*p - '0') <= 9) {
			if (!v)
				return false;
			v = v * 10 + d;
			p++;
			if (p < end && (d = (unsigned)*p - '0') <= 9) {
				v = v * 10 + d;
				p++;
				if (v > 255)
					return false;
			}
		}
		out[12 + part] = (uint8_t)v;
	}
	if (p != end)
		return false;
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	return true;
}

/* ip: a string holding an IPv4 or IPv6 address */
static __attribute__((noinline)) enum rule_verdict
rule_ip(struct docmap *dm, const struct tok *t, struct rule_out *o)
{
	const char *c;
	char tmp[64];

	if (t->kind == TK_STR && ipv4_plain(t->s, t->n, o->fv.v.ip))
		return keep(o, VK_IP);
	if (t->kind == TK_STR && (c = tok_cstr(dm, t, tmp)) && value_parse_ip(c, o->fv.v.ip))
		return keep(o, VK_IP);
	return reject(o, DOC_WRONG_TYPE);
}

/* bytes: a string in the field's input_format (base64 or hex); the
 * decoded bytes are in dm->scratch */
static __attribute__((noinline)) enum rule_verdict
rule_bytes(struct docmap *dm, const struct field_mapping *f, const struct tok *t,
	   struct rule_out *o)
{
	if (t->kind != TK_STR || !docmap_bytes_decode(f, t->s, t->n, &dm->scratch))
		return reject(o, DOC_WRONG_TYPE);
	o->fv.v.bytes.p = (const uint8_t *)buf_str(&dm->scratch);
	o->fv.v.bytes.len = dm->scratch.len;
	return keep(o, VK_BYTES);
}

/* What field f's type makes of the scalar t (null is kept by every type).
 * Inlined into each path (the rules of the rarer types are calls). */
static inline __attribute__((always_inline)) enum rule_verdict
leaf_rule(struct docmap *dm, const struct field_mapping *f, const struct tok *t, struct rule_out *o)
{
	o->has_value = false;
	o->fv.path = NULL;
	o->fv.path_len = 0;
	o->fv.mapping = f;
	o->fv.array_index = 0;
	if (t->kind == TK_NULL)
		return RULE_KEEP;
	switch (f->type) {
	case FT_TEXT:
		return rule_text(dm, t, o);
	case FT_I64:
	case FT_U64:
		return rule_int(dm, f, t, o);
	case FT_F64:
		return rule_f64(dm, f, t, o);
	case FT_BOOL:
		if (t->kind != TK_BOOL)
			break;
		o->fv.v.b = t->b;
		return keep(o, VK_BOOL);
	case FT_DATETIME:
		return rule_datetime(dm, f, t, o);
	case FT_IP:
		return rule_ip(dm, t, o);
	case FT_BYTES:
		return rule_bytes(dm, f, t, o);
	case FT_JSON:                   /* objects only: the walkers' */
	case FT_OBJECT:
		break;
	}
	return reject(o, DOC_WRONG_TYPE);
}

/*
 * The type a value under a json field or unmapped in dynamic mode gets
 * from its JSON token (string -> text, integer -> i64 or u64, real -> f64,
 * bool -> bool, as Quickwit infers): false for null, which gives none.
 */
static bool infer_value(const struct tok *t, struct field_value *fv)
{
	switch (t->kind) {
	case TK_STR:
		fv->kind = VK_TEXT;
		fv->v.text.s = t->s;
		fv->v.text.len = t->n;
		return true;
	case TK_INT:
		fv->kind = VK_I64;
		fv->v.i64 = t->i;
		return true;
	case TK_BIG:
		fv->kind = VK_U64;
		fv->v.u64 = t->u;
		return true;
	case TK_REAL:
		fv->kind = VK_F64;
		fv->v.f64 = t->d;
		return true;
	case TK_BOOL:
		fv->kind = VK_BOOL;
		fv->v.b = t->b;
		return true;
	case TK_NULL:
		break;
	}
	return false;
}

/* A jansson scalar as a token; false for an object or an array. */
static bool tok_of_json(const json_t *v, struct tok *t)
{
	memset(t, 0, sizeof(*t));
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (big_u64(v, &t->u)) {
			t->kind = TK_BIG;
			return true;
		}
		t->kind = TK_STR;
		t->s = json_string_value(v);
		t->n = json_string_length(v);
		return true;
	case JSON_INTEGER:
		t->kind = TK_INT;
		t->i = json_integer_value(v);
		return true;
	case JSON_REAL:
		t->kind = TK_REAL;
		t->d = json_real_value(v);
		return true;
	case JSON_TRUE:
	case JSON_FALSE:
		t->kind = TK_BOOL;
		t->b = json_is_true(v);
		return true;
	case JSON_NULL:
		t->kind = TK_NULL;
		return true;
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	return false;
}

/* The jansson value of a rewritten token (a new reference). */
static json_t *json_of_tok(const struct tok *t)
{
	switch (t->kind) {
	case TK_STR:
		return json_stringn(t->s, t->n);
	case TK_INT:
		return json_integer((json_int_t)t->i);
	case TK_BIG:
		return big_u64_new(t->u);
	case TK_REAL:
		return json_real(t->d);
	case TK_BOOL:
		return json_boolean(t->b);
	case TK_NULL:
		break;
	}
	return json_null();
}

/* ---------------------------------------------------------------- mapping */

/*
 * Map one leaf value (not an array element list): leaf_rule() on its token.
 * Returns 0 with *nv set to a replacement (new reference) or NULL when the
 * value stays as it is.
 */
static int map_leaf(struct docmap *dm, const struct field_mapping *f, json_t *v, json_t **nv,
		    enum docmap_reason *reason, struct qw_err *err)
{
	struct tok t;
	struct rule_out o;
	char what[96];

	*nv = NULL;
	if (f->type == FT_JSON && json_is_object(v))
		return 0;
	if (!tok_of_json(v, &t))
		return wrong_type(dm, f, v, DOC_WRONG_TYPE, reason, err);
	switch (leaf_rule(dm, f, &t, &o)) {
	case RULE_KEEP:
		return 0;
	case RULE_REWRITE:
		*nv = json_of_tok(&o.nt);
		if (!*nv)
			return err_set(err, EX_SOFTWARE, "cannot update field '%s'", buf_str(&dm->path));
		return 0;
	case RULE_REJECT:
		break;
	}
	if (o.reason != DOC_BAD_TIMESTAMP)
		return wrong_type(dm, f, v, o.reason, reason, err);
	describe(v, what, sizeof(what));
	*reason = DOC_BAD_TIMESTAMP;
	return err_set(err, EX_DATAERR, "field '%s': cannot parse datetime from %s",
		       buf_str(&dm->path), what);
}

static int map_object(struct docmap *dm, const struct field_mapping *fields, size_t n, json_t *obj,
		      int depth, enum docmap_reason *reason, struct qw_err *err);

/* Map the value of a mapped field; may replace it in obj[key]. */
static int map_field(struct docmap *dm, const struct field_mapping *f, json_t *obj,
		     const char *key, json_t *v, int depth, enum docmap_reason *reason,
		     struct qw_err *err)
{
	json_t *nv = NULL;

	if (f->type == FT_OBJECT) {
		if (json_is_null(v))
			return 0;
		if (!json_is_object(v))
			return wrong_type(dm, f, v, DOC_WRONG_TYPE, reason, err);
		return map_object(dm, f->fields, f->n_fields, v, depth + 1, reason, err);
	}
	if (f->type == FT_JSON && json_is_object(v) && too_deep(v, depth + 1)) {
		*reason = DOC_TOO_DEEP;
		return err_set(err, EX_DATAERR, "field '%s': nested deeper than %d levels",
			       buf_str(&dm->path), DOCMAP_MAX_DEPTH);
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *el;

		if (!f->is_array) {
			*reason = DOC_WRONG_TYPE;
			return err_set(err, EX_DATAERR,
				       "field '%s': expected a single %s value, got an array",
				       buf_str(&dm->path), type_label(f));
		}
		if (f->type == FT_JSON && too_deep(v, depth + 1)) {
			*reason = DOC_TOO_DEEP;
			return err_set(err, EX_DATAERR, "field '%s': nested deeper than %d levels",
				       buf_str(&dm->path), DOCMAP_MAX_DEPTH);
		}
		json_array_foreach(v, i, el) {
			if (json_is_array(el))
				return wrong_type(dm, f, el, DOC_WRONG_TYPE, reason, err);
			if (map_leaf(dm, f, el, &nv, reason, err))
				return -1;
			if (nv && json_array_set_new(v, i, nv))
				return err_set(err, EX_SOFTWARE, "cannot update array");
		}
		return 0;
	}
	if (map_leaf(dm, f, v, &nv, reason, err))
		return -1;
	if (nv && json_object_set_new(obj, key, nv))
		return err_set(err, EX_SOFTWARE, "cannot update field '%s'", buf_str(&dm->path));
	return 0;
}

static int map_object(struct docmap *dm, const struct field_mapping *fields, size_t n, json_t *obj,
		      int depth, enum docmap_reason *reason, struct qw_err *err)
{
	enum mapping_mode mode = dm->cfg ? dm->cfg->mode : MODE_DYNAMIC;
	const char *key;
	json_t *v;
	void *tmp;

	if (depth > DOCMAP_MAX_DEPTH) {
		*reason = DOC_TOO_DEEP;
		return err_set(err, EX_DATAERR, "field '%s': nested deeper than %d levels",
			       buf_str(&dm->path), DOCMAP_MAX_DEPTH);
	}
	json_object_foreach_safe(obj, tmp, key, v) {
		const struct field_mapping *f = find_mapping(dm, fields, n, key);
		size_t old = path_push(&dm->path, key, strlen(key));
		int r = 0;

		if (f) {
			r = map_field(dm, f, obj, key, v, depth, reason, err);
		} else if (mode == MODE_STRICT) {
			*reason = DOC_UNKNOWN_FIELD;
			r = err_set(err, EX_DATAERR, "field '%s': unknown field (strict mode)",
				    buf_str(&dm->path));
		} else if (mode == MODE_LENIENT) {
			if (json_object_del(obj, key))
				r = err_set(err, EX_SOFTWARE, "cannot drop field '%s'", buf_str(&dm->path));
		} else if ((json_is_object(v) || json_is_array(v)) && too_deep(v, depth + 1)) {
			*reason = DOC_TOO_DEEP;
			r = err_set(err, EX_DATAERR, "field '%s': nested deeper than %d levels",
				    buf_str(&dm->path), DOCMAP_MAX_DEPTH);
		}
		buf_truncate(&dm->path, old);
		if (r)
			return -1;
	}
	return 0;
}

/* Value at a dotted path of mapped objects (NULL when missing). */
static json_t *lookup_path(json_t *doc, const char *path)
{
	json_t *cur = doc;
	const char *p = path;

	while (cur && json_is_object(cur)) {
		const char *dot = strchr(p, '.');
		json_t *direct = json_object_get(cur, p);

		if (direct || !dot)
			return direct;
		cur = json_object_getn(cur, p, (size_t)(dot - p));
		p = dot + 1;
	}
	return NULL;
}

/* Map doc in place (doc is owned by the caller and may be modified). */
/* The verdict on a document whose timestamp field is missing or null. */
static int no_timestamp(const struct index_config *cfg, enum docmap_reason *reason,
			struct qw_err *err)
{
	*reason = DOC_NO_TIMESTAMP;
	return err_set(err, EX_DATAERR, "timestamp field '%s' is missing", cfg->timestamp_field);
}

static int map_inplace(struct docmap *dm, json_t *doc, enum docmap_reason *reason,
		       struct qw_err *err)
{
	const struct index_config *cfg = dm->cfg;

	if (!json_is_object(doc)) {
		*reason = DOC_NOT_OBJECT;
		return err_set(err, EX_DATAERR, "document is a JSON %s, not an object",
			       json_kind(doc));
	}
	buf_reset(&dm->path);
	if (map_object(dm, cfg ? cfg->fields : NULL, cfg ? cfg->n_fields : 0, doc, 1, reason, err))
		return -1;
	if (cfg && cfg->timestamp_field) {
		json_t *ts = lookup_path(doc, cfg->timestamp_field);

		if (!ts || json_is_null(ts))
			return no_timestamp(cfg, reason, err);
	}
	return 0;
}

int docmap_map(struct docmap *dm, json_t *doc, json_t **out, enum docmap_reason *reason,
	       struct qw_err *err)
{
	json_t *copy;

	*out = NULL;
	*reason = DOC_OK;
	if (!json_is_object(doc)) {
		*reason = DOC_NOT_OBJECT;
		return err_set(err, EX_DATAERR, "document is a JSON %s, not an object",
			       doc ? json_kind(doc) : "nothing");
	}
	copy = json_deep_copy(doc);
	if (!copy) {
		*reason = DOC_TOO_DEEP;
		return err_set(err, EX_DATAERR, "cannot copy document");
	}
	if (map_inplace(dm, copy, reason, err)) {
		json_decref(copy);
		return -1;
	}
	*out = copy;
	return 0;
}

static bool big_rewrite(const char *line, size_t len, struct buf *out);

/* A string of the document that reads as big_u64()'s marker, somewhere in v. */
static bool has_big_marker(const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;
	uint64_t u;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, m)
			if (has_big_marker(m))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (has_big_marker(m))
				return true;
	}
	return big_u64(v, &u);
}

json_t *docmap_load(const char *text, size_t len, size_t flags, json_error_t *jerr)
{
	json_error_t local;
	json_t *doc;

	if (!jerr)
		jerr = &local;
	/* the fast reader gives jansson's tree or leaves the text to jansson */
	doc = json_load_fast(text, len, flags);
	if (doc)
		return doc;
	doc = json_loadb(text, len, flags, jerr);
	if (!doc && json_error_code(jerr) == json_error_null_character &&
	    !(flags & JSON_ALLOW_NUL)) {
		/* a "\u0000" escape in a string is valid JSON: the string holds a
		 * NUL (its length says where it ends); one that is a NUL and
		 * digits only would read as a big integer: refused */
		doc = json_loadb(text, len, flags | JSON_ALLOW_NUL, jerr);
		if (doc && has_big_marker(doc)) {
			json_decref(doc);
			doc = NULL;
			jerr->line = jerr->column = -1;
			jerr->position = 0;
			snprintf(jerr->text, sizeof(jerr->text), "%s",
				 "a string of \\u0000 then only digits is not supported");
		}
		/* numeric_overflow then: big integers and \u0000 escapes in one
		 * document are not supported (big_rewrite()) */
	}
	if (!doc && json_error_code(jerr) == json_error_numeric_overflow) {
		/* integers beyond int64: parse a copy with them rewritten (big_rewrite) */
		struct buf copy = BUF_INIT;

		if (big_rewrite(text, len, &copy))
			doc = json_loadb(copy.data, copy.len, flags | JSON_ALLOW_NUL, jerr);
		buf_free(&copy);
	}
	return doc;
}

int docmap_dumpf(const json_t *v, FILE *f)
{
	struct buf text = BUF_INIT;
	int ret = 0;

	docmap_serialize((json_t *)v, &text);
	if (text.len && fwrite(text.data, 1, text.len, f) != text.len)
		ret = -1;
	buf_free(&text);
	return ret;
}

int docmap_map_line(struct docmap *dm, const char *line, size_t len, json_t **out,
		    enum docmap_reason *reason, struct qw_err *err)
{
	json_error_t jerr;
	json_t *doc;

	*out = NULL;
	*reason = DOC_OK;
	doc = docmap_load(line, len, JSON_DECODE_ANY, &jerr);
	if (!doc) {
		if (json_error_code(&jerr) == json_error_stack_overflow) {
			*reason = DOC_TOO_DEEP;
			return err_set(err, EX_DATAERR, "document nested too deeply");
		}
		*reason = DOC_NOT_JSON;
		if (jerr.column < 0)
			return err_set(err, EX_DATAERR, "cannot read the document: %s", jerr.text);
		return err_set(err, EX_DATAERR, "invalid JSON at column %d: %s", jerr.column,
			       jerr.text);
	}
	if (map_inplace(dm, doc, reason, err)) {
		json_decref(doc);
		return -1;
	}
	*out = doc;
	return 0;
}

/* ---------------------------------------------------------------- walking */

struct walker {
	struct docmap *dm;
	docmap_visit_fn visit;
	void *ctx;
};

static int visit_inferred(struct walker *w, const struct field_mapping *gov, json_t *v,
			  uint32_t idx, int depth);

static int emit(struct walker *w, struct field_value *fv)
{
	fv->path = w->dm->path.data ? w->dm->path.data : "";
	fv->path_len = w->dm->path.len;
	return w->visit(w->ctx, fv);
}

/* A value under a json field or unmapped (dynamic): type from JSON. */
static int visit_inferred(struct walker *w, const struct field_mapping *gov, json_t *v,
			  uint32_t idx, int depth)
{
	struct field_value fv;
	struct tok t;
	const char *key;
	json_t *child;
	size_t i;
	int r;

	if (depth > DOCMAP_MAX_DEPTH + 1)
		return 0;
	memset(&fv, 0, sizeof(fv));
	fv.mapping = gov;
	fv.array_index = idx;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, key, child) {
			size_t old = path_push(&w->dm->path, key, strlen(key));

			r = visit_inferred(w, gov, child, 0, depth + 1);
			buf_truncate(&w->dm->path, old);
			if (r)
				return r;
		}
		return 0;
	case JSON_ARRAY:
		json_array_foreach(v, i, child) {
			r = visit_inferred(w, gov, child, (uint32_t)i, depth + 1);
			if (r)
				return r;
		}
		return 0;
	default:
		break;
	}
	if (!tok_of_json(v, &t) || !infer_value(&t, &fv))
		return 0;
	return emit(w, &fv);
}

/* One typed leaf value of a mapped field: what leaf_rule() reads from it
 * (values that do not convert are skipped). */
static int visit_leaf(struct walker *w, const struct field_mapping *f, json_t *v, uint32_t idx,
		      int depth)
{
	struct tok t;
	struct rule_out o;

	if (f->type == FT_JSON)
		return json_is_null(v) ? 0 : visit_inferred(w, f, v, idx, depth);
	if (!tok_of_json(v, &t) || leaf_rule(w->dm, f, &t, &o) == RULE_REJECT || !o.has_value)
		return 0;
	o.fv.array_index = idx;
	return emit(w, &o.fv);
}

static int walk_object(struct walker *w, const struct field_mapping *fields, size_t n, json_t *obj,
		       int depth)
{
	enum mapping_mode mode = w->dm->cfg ? w->dm->cfg->mode : MODE_DYNAMIC;
	const char *key;
	json_t *v;
	int r = 0;

	if (depth > DOCMAP_MAX_DEPTH + 1)
		return 0;
	json_object_foreach(obj, key, v) {
		const struct field_mapping *f = find_mapping(w->dm, fields, n, key);
		size_t old = path_push(&w->dm->path, key, strlen(key));

		if (!f) {
			if (mode == MODE_DYNAMIC)
				r = visit_inferred(w, NULL, v, 0, depth + 1);
		} else if (f->type == FT_OBJECT) {
			if (json_is_object(v))
				r = walk_object(w, f->fields, f->n_fields, v, depth + 1);
		} else if (json_is_array(v) && f->type != FT_JSON) {
			size_t i;
			json_t *el;

			json_array_foreach(v, i, el) {
				r = visit_leaf(w, f, el, (uint32_t)i, depth + 1);
				if (r)
					break;
			}
		} else if (json_is_array(v)) {
			size_t i;
			json_t *el;

			json_array_foreach(v, i, el) {
				r = visit_inferred(w, f, el, (uint32_t)i, depth + 1);
				if (r)
					break;
			}
		} else {
			r = visit_leaf(w, f, v, 0, depth);
		}
		buf_truncate(&w->dm->path, old);
		if (r)
			return r;
	}
	return 0;
}

int docmap_walk(struct docmap *dm, json_t *canonical, docmap_visit_fn visit, void *ctx)
{
	struct walker w = { dm, visit, ctx };

	if (!json_is_object(canonical))
		return 0;
	buf_reset(&dm->path);
	return walk_object(&w, dm->cfg ? dm->cfg->fields : NULL, dm->cfg ? dm->cfg->n_fields : 0,
			   canonical, 1);
}

bool docmap_timestamp(struct docmap *dm, json_t *canonical, int64_t *us)
{
	struct rule_out o;
	struct tok t;
	json_t *v;

	if (!dm->cfg || !dm->cfg->timestamp_field || !dm->ts_field)
		return false;
	v = lookup_path(canonical, dm->cfg->timestamp_field);
	if (!v || json_is_null(v) || !tok_of_json(v, &t) ||
	    rule_datetime(dm, dm->ts_field, &t, &o) == RULE_REJECT)
		return false;
	*us = o.fv.v.dt_us;
	return true;
}

/* ---------------------------------------------------------------- serializing */

void docmap_json_string(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	buf_grow(out, len + 2);
	buf_addc(out, '"');
	while (i < len) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			run++;
			continue;
		}
		if (run)
			buf_add(out, s + i - run, run);
		run = 0;
		if (c < 0x80) {
			switch (c) {
			case '"': buf_add(out, "\\\"", 2); break;
			case '\\': buf_add(out, "\\\\", 2); break;
			case '\n': buf_add(out, "\\n", 2); break;
			case '\r': buf_add(out, "\\r", 2); break;
			case '\t': buf_add(out, "\\t", 2); break;
			case '\b': buf_add(out, "\\b", 2); break;
			case '\f': buf_add(out, "\\f", 2); break;
			default: buf_addf(out, "\\u%04x", c); break;
			}
			i++;
			continue;
		}
		{
			uint32_t cp;
			size_t n = utf8_decode(p + i, len - i, &cp);

			if (n) {
				buf_add(out, s + i, n);
				i += n;
			} else {
				buf_add(out, "\\ufffd", 6);
				i++;
			}
		}
	}
	if (run)
		buf_add(out, s + i - run, run);
	buf_addc(out, '"');
}

static void add_real(struct buf *out, double d)
{
	char tmp[40];

	if (!isfinite(d)) {
		buf_adds(out, "null");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	buf_adds(out, tmp);
	if (!strpbrk(tmp, ".eE"))
		buf_add(out, ".0", 2);
}

void docmap_serialize(json_t *v, struct buf *out)
{
	const char *key;
	json_t *child;
	size_t i;
	bool first = true;
	uint64_t big;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		buf_addc(out, '{');
		json_object_foreach(v, key, child) {
			if (!first)
				buf_addc(out, ',');
			first = false;
			docmap_json_string(out, key, strlen(key));
			buf_addc(out, ':');
			docmap_serialize(child, out);
		}
		buf_addc(out, '}');
		break;
	case JSON_ARRAY:
		buf_addc(out, '[');
		json_array_foreach(v, i, child) {
			if (i)
				buf_addc(out, ',');
			docmap_serialize(child, out);
		}
		buf_addc(out, ']');
		break;
	case JSON_STRING:
		if (json_string_length(v) && json_string_value(v)[0] == '\0' && big_u64(v, &big))
			buf_addf(out, "%llu", (unsigned long long)big);
		else
			docmap_json_string(out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_addf(out, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		add_real(out, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_add(out, "true", 4);
		break;
	case JSON_FALSE:
		buf_add(out, "false", 5);
		break;
	case JSON_NULL:
		buf_add(out, "null", 4);
		break;
	}
}

/* ---------------------------------------------------------------- JSON lexing: mapping/json_lex.h */

/*
 * The hash of a key (n bytes at s) that the one-pass scan's duplicate check
 * files it under: a word at a time; its top byte picks the filter's bit.
 */
static inline uint32_t json_key_hash(const unsigned char *s, size_t n)
{
	uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15u, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		h = (h ^ (a | (uint64_t)b << 32)) * 0xff51afd7ed558ccdu;
	} else if (n) {
		w = s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
		h = (h ^ w) * 0xff51afd7ed558ccdu;
	}
	h ^= h >> 29;
	return (uint32_t)((h * 0xc4ceb9fe1a85ec53u) >> 32);
}

/*
 * Whether the escape [p, p + k) of code point cp is the one
 * docmap_json_string() writes: the short form for '"', '\\', \b \f \n \r \t,
 * \u00xx in lower-case hex for the other control characters, and no escape
 * at all for anything else.
 */
static inline bool json_escape_canonical(const unsigned char *p, size_t k, unsigned cp)
{
	static const char hex[] = "0123456789abcdef";

	if (k == 2)
		return p[1] != '/';
	return k == 6 && cp < 0x20 && cp != '\b' && cp != '\f' && cp != '\n' && cp != '\r' &&
	       cp != '\t' && p[2] == '0' && p[3] == '0' && p[4] == hex[cp >> 4] && p[5] == hex[cp & 15];
}

/* ---------------------------------------------------------------- one-pass mapping */

/*
 * The fast path of docmap_canonical_line(): a JSON scanner that writes the
 * canonical form while it reads, for documents where that is easy: strings
 * already in canonical escaping, integers that fit, reals already in their
 * shortest form, the rewrites leaf_rule() names written in place, unknown
 * fields dropped in lenient mode. Anything else (errors included) makes it
 * give up, and the tree-based path decides: so it never accepts what that
 * path would reject, nor writes anything else than what it would write.
 */
struct fast {
	struct docmap *dm;
	const char *p, *end;
	struct buf *out;
	bool ts_seen;
	/* What it writes is mostly the line's own bytes, in order: the output
	 * is out followed by the line's [copy_from, copy_to), which grows while
	 * the bytes written are the next ones of the line (a canonical line is
	 * copied once, at the end). */
	const char *copy_from, *copy_to;
	const char *comma;   /* the last ',' read between items */
};

/* Where the output stands, to go back to (a member dropped in lenient mode). */
struct fx_mark {
	size_t len;
	const char *copy_from, *copy_to;
};

#define FAST_MAX_DEPTH 64
#define FAST_MAX_KEYS 64

enum fast_ctx { FX_DYN, FX_LEAF, FX_OBJ };

static inline void fx_ws(struct fast *fx)
{
	fx->p = json_ws(fx->p, fx->end);
}

/* The pending bytes of the line written to out. */
static inline void fx_flush(struct fast *fx)
{
	if (fx->copy_to != fx->copy_from)
		out_n(fx->out, fx->copy_from, (size_t)(fx->copy_to - fx->copy_from));
	fx->copy_from = fx->copy_to = NULL;
}

/* Output the line's bytes [s, s + n). */
static inline void fx_copy(struct fast *fx, const char *s, size_t n)
{
	if (s != fx->copy_to) {
		fx_flush(fx);
		fx->copy_from = s;
	}
	fx->copy_to = s + n;
}

static inline struct fx_mark fx_mark(const struct fast *fx)
{
	return (struct fx_mark){ fx->out->len, fx->copy_from, fx->copy_to };
}

/* Forget what was output since m (out only grew since then). */
static inline void fx_back_to(struct fast *fx, struct fx_mark m)
{
	buf_truncate(fx->out, m.len);
	fx->copy_from = m.copy_from;
	fx->copy_to = m.copy_to;
}

/* Whether the output so far ends with null. */
static bool fx_wrote_null(const struct fast *fx)
{
	size_t pend = (size_t)(fx->copy_to - fx->copy_from), old;
	char tail[4];

	if (pend >= 4)
		return memcmp(fx->copy_to - 4, "null", 4) == 0;
	old = 4 - pend;
	if (fx->out->len < old)
		return false;
	memcpy(tail, fx->out->data + fx->out->len - old, old);
	if (pend)
		memcpy(tail + old, fx->copy_from, pend);
	return memcmp(tail, "null", 4) == 0;
}

/* A string token at fx->p in canonical escaping: its span (quotes included).
 * Inlined: it runs for every key and string of every line. */
static inline __attribute__((always_inline)) bool fx_string(struct fast *fx, const char **s,
							    size_t *n, bool *plain)
{
	const unsigned char *p = (const unsigned char *)fx->p + 1;
	const unsigned char *end = (const unsigned char *)fx->end;

	*plain = true;
	for (;;) {
		unsigned cp;
		size_t k;

		p = json_str_run(p, end);
		if (p >= end || *p != '\\')
			break;
		*plain = false;
		k = json_escape(p, end, &cp);
		if (!k || !json_escape_canonical(p, k, cp))
			return false;
		p += k;
	}
	if (p >= end || *p != '"')
		return false;
	*s = fx->p;
	*n = (size_t)((const char *)p + 1 - fx->p);
	fx->p = (const char *)p + 1;
	return true;
}

/*
 * A copy of a line jansson rejected for an integer beyond int64, for
 * docmap_map_line() to parse with JSON_ALLOW_NUL: each such integer that
 * fits in uint64 becomes the string big_u64() reads, each other one (below
 * INT64_MIN or above UINT64_MAX) a real, as Quickwit's JSON parser reads
 * them. False (the line stays rejected) when the line holds a "\u0000"
 * escape, which the copy would then accept, or a token that is not a number.
 */
static bool big_rewrite(const char *line, size_t len, struct buf *out)
{
	const char *p = line, *end = line + len, *run = line;

	buf_reset(out);
	while (p < end) {
		struct json_num num;

		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p != '\\' || p + 1 >= end)
					continue;
				/* a NUL of the line's own: our marker would be ambiguous */
				if (end - p >= 6 && memcmp(p, "\\u0000", 6) == 0)
					return false;
				p++;
			}
			if (p < end)
				p++;
			continue;
		}
		if (*p != '-' && (*p < '0' || *p > '9')) {
			p++;
			continue;
		}
		if (!lex_number(p, end, &num))
			return false;
		if (num.is_int && !json_num_fits_i64(&num)) {
			buf_add(out, run, (size_t)(p - run));
			if (!num.neg && (num.digits < 20 ||
					 (num.digits == 20 && memcmp(p, BIG_U64_MAX, 20) <= 0))) {
				buf_add(out, "\"\\u0000", 7);
				buf_add(out, p, (size_t)(num.end - p));
				buf_addc(out, '"');
			} else {
				buf_add(out, p, (size_t)(num.end - p));
				buf_add(out, ".0", 2);
			}
			run = num.end;
		}
		p = num.end;
	}
	buf_add(out, run, (size_t)(end - run));
	return true;
}

/*
 * A number token at fx->p as leaf_rule() reads it. *verbatim when its text
 * is what the tree path writes for its value: an integer but "-0", a real
 * already in its shortest round-trip form. Gives up on integers beyond
 * int64 and on reals out of range (the tree path decides those).
 */
static bool fx_num_tok(struct fast *fx, struct tok *t, bool *verbatim)
{
	const char *start = fx->p;
	struct json_num num;
	char tmp[64];
	struct buf b = BUF_INIT;
	size_t n;

	if (!lex_number(fx->p, fx->end, &num))
		return false;
	fx->p = num.end;
	n = (size_t)(num.end - start);
	if (num.is_int) {
		if (!json_num_fits_i64(&num))
			return false;
		t->kind = TK_INT;
		t->i = !num.neg ? (int64_t)num.mag
		       : num.mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)num.mag;
		*verbatim = !(num.neg && num.mag == 0);
		return true;
	}
	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, start, n);
	tmp[n] = '\0';
	errno = 0;
	t->kind = TK_REAL;
	t->d = strtod(tmp, NULL);
	if (errno || !isfinite(t->d))
		return false;
	add_real(&b, t->d);
	*verbatim = b.len == n && memcmp(b.data, start, n) == 0;
	buf_free(&b);
	return true;
}

/* The decoded bytes of a string token whose escapes fx_string() checked. */
static void fx_decode(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	buf_reset(out);
	while (p < end) {
		const unsigned char *run = json_str_run(p, end);
		unsigned cp = 0;
		size_t k;

		buf_add(out, p, (size_t)(run - p));
		if (run >= end)
			break;
		k = json_escape(run, end, &cp);
		if (!k)
			break;          /* not reached: fx_string() checked them */
		buf_add_utf8(out, cp);
		p = run + k;
	}
}

/* A scalar token at fx->p (after whitespace): see fx_num_tok() for
 * *verbatim. A string with escapes is decoded when decode says so (else
 * t->s is its JSON text between the quotes). */
static bool fx_token(struct fast *fx, struct tok *t, bool *verbatim, bool decode)
{
	const char *s;
	size_t n;
	bool plain;

	memset(t, 0, sizeof(*t));
	*verbatim = true;
	switch (*fx->p) {
	case '"':
		if (!fx_string(fx, &s, &n, &plain))
			return false;
		t->kind = TK_STR;
		if (plain || !decode) {
			t->s = s + 1;
			t->n = n - 2;
		} else {
			fx_decode(&fx->dm->tokbuf, s + 1, n - 2);
			t->s = buf_str(&fx->dm->tokbuf);
			t->n = fx->dm->tokbuf.len;
		}
		return true;
	case 't':
	case 'f':
	case 'n':
		t->kind = *fx->p == 'n' ? TK_NULL : TK_BOOL;
		t->b = *fx->p == 't';
		n = *fx->p == 'f' ? 5 : 4;
		if (!json_lit(fx->p, fx->end, *fx->p == 't' ? "true" : *fx->p == 'f' ? "false" : "null", n))
			return false;
		fx->p += n;
		return true;
	case '{':
	case '[':
		return false;
	default:
		return fx_num_tok(fx, t, verbatim);
	}
}

/* A rewritten token as docmap_serialize() writes its jansson value (json_of_tok). */
static void fx_put(struct buf *out, const struct tok *t)
{
	switch (t->kind) {
	case TK_STR:
		docmap_json_string(out, t->s, t->n);
		break;
	case TK_INT:
		buf_addf(out, "%lld", (long long)t->i);
		break;
	case TK_BIG:
		buf_addf(out, "%llu", (unsigned long long)t->u);
		break;
	case TK_REAL:
		add_real(out, t->d);
		break;
	case TK_BOOL:
		out_n(out, t->b ? "true" : "false", t->b ? 4 : 5);
		break;
	case TK_NULL:
		out_n(out, "null", 4);
		break;
	}
}

static bool fx_lit(struct fast *fx, const char *lit, size_t n)
{
	if (!json_lit(fx->p, fx->end, lit, n))
		return false;
	fx_copy(fx, fx->p, n);
	fx->p += n;
	return true;
}

static bool fx_value(struct fast *fx, enum fast_ctx ctx, const struct field_mapping *f,
		     const struct field_mapping *fields, size_t nf, int depth, bool top);

/* A scalar of a mapped field (or a json field's object): leaf_rule() says
 * what the tree path would write; the token's own text when it keeps it. */
static bool fx_leaf_scalar(struct fast *fx, const struct field_mapping *f, int depth)
{
	const char *start = fx->p;
	struct rule_out o;
	struct tok t;
	bool verbatim;

	if (f->type == FT_JSON)
		return *fx->p == 'n' ? fx_lit(fx, "null", 4)
		       : *fx->p == '{' && fx_value(fx, FX_DYN, NULL, NULL, 0, depth, false);
	if (!fx_token(fx, &t, &verbatim, rule_reads_string(f)))
		return false;
	switch (leaf_rule(fx->dm, f, &t, &o)) {
	case RULE_KEEP:
		if (!verbatim)
			return false;
		fx_copy(fx, start, (size_t)(fx->p - start));
		return true;
	case RULE_REWRITE:
		fx_flush(fx);
		fx_put(fx->out, &o.nt);
		return true;
	case RULE_REJECT:
		break;
	}
	return false;
}

/* Past the opening byte of an object or array (copied to out); true when
 * the closing byte follows at once (copied too). */
static inline bool fx_open_empty(struct fast *fx, char close)
{
	fx_copy(fx, fx->p++, 1);
	fx_ws(fx);
	if (fx->p < fx->end && *fx->p == close) {
		fx_copy(fx, fx->p++, 1);
		return true;
	}
	return false;
}

/* After an element or member: a ',' (*more, fx->comma), or the closing byte
 * (copied); anything else is false. */
static inline bool fx_after_item(struct fast *fx, char close, bool *more)
{
	fx_ws(fx);
	if (fx->p >= fx->end)
		return false;
	*more = *fx->p == ',';
	if (!*more && *fx->p != close)
		return false;
	if (*more)
		fx->comma = fx->p;
	else
		fx_copy(fx, fx->p, 1);
	fx->p++;
	return true;
}

/* The array of an array<T> field: leaf scalars, no nested arrays. */
static inline bool fx_leaf_array(struct fast *fx, const struct field_mapping *f, int depth)
{
	bool more = true;

	if (!f->is_array || f->type == FT_JSON)
		return false;
	if (fx_open_empty(fx, ']'))
		return true;
	for (size_t count = 0; more; count++) {
		fx_ws(fx);
		if (fx->p >= fx->end || *fx->p == '[')
			return false;
		if (count)
			fx_copy(fx, fx->comma, 1);
		if (!fx_leaf_scalar(fx, f, depth + 1) || !fx_after_item(fx, ']', &more))
			return false;
	}
	return true;
}

/* An array outside mapped fields: any values, copied. */
static inline bool fx_dyn_array(struct fast *fx, int depth)
{
	bool more = true;

	if (fx_open_empty(fx, ']'))
		return true;
	for (size_t count = 0; more; count++) {
		if (count)
			fx_copy(fx, fx->comma, 1);
		if (!fx_value(fx, FX_DYN, NULL, NULL, 0, depth + 1, false) ||
		    !fx_after_item(fx, ']', &more))
			return false;
	}
	return true;
}

/* The value of mapped field f (fx_value() with FX_LEAF, without its call). */
static inline bool fx_leaf_value(struct fast *fx, const struct field_mapping *f, int depth)
{
	if (depth > FAST_MAX_DEPTH)
		return false;
	fx_ws(fx);
	if (fx->p >= fx->end)
		return false;
	return *fx->p == '[' ? fx_leaf_array(fx, f, depth) : fx_leaf_scalar(fx, f, depth);
}

/* The keys of one object so far. */
struct fx_keys {
	const char *s[FAST_MAX_KEYS];
	size_t n[FAST_MAX_KEYS];
	size_t count;
	uint64_t seen;   /* bits picked by the keys' length and last byte */
};

/* Records a key (quotes included); false for a duplicate (the tree decides
 * which wins) or one key too many for the fast path. */
static inline bool fx_key_new(struct fx_keys *k, const char *s, size_t n)
{
	uint64_t bit;

	if (k->count >= FAST_MAX_KEYS)
		return false;
	/* only keys sharing a bit of seen are compared */
	bit = UINT64_C(1) << ((n * 7 + (unsigned char)s[n - 2]) & 63);
	for (size_t i = 0; (k->seen & bit) && i < k->count; i++)
		if (k->n[i] == n && memcmp(k->s[i], s, n) == 0)
			return false;
	k->seen |= bit;
	k->s[k->count] = s;
	k->n[k->count++] = n;
	return true;
}

/* Records the key s (n bytes, quotes included) that maps to m (NULL:
 * unmapped) in an object of the given fields; false for a duplicate. */
static inline bool fx_key_unique(struct fx_keys *k, uint64_t *mapped,
				 const struct field_mapping *fields, const struct field_mapping *m,
				 const char *s, size_t n)
{
	int seen = mapped_key_seen(mapped, fields, m);

	return seen < 0 ? fx_key_new(k, s, n) : !seen;
}

/* The value of one member whose "key": is written (from mark on, with its
 * comma): an object field's object, a mapped field's value, or an unmapped
 * value as the mode says (strict: refused, lenient: read and dropped, then
 * *kept is false). */
static inline bool fx_member_value(struct fast *fx, enum fast_ctx ctx,
				   const struct field_mapping *m, int depth, bool top,
				   struct fx_mark mark, bool *kept)
{
	enum mapping_mode mode = fx->dm->cfg ? fx->dm->cfg->mode : MODE_DYNAMIC;
	bool ok;

	*kept = true;
	if (m && m->type == FT_OBJECT) {
		fx_ws(fx);
		if (fx->p < fx->end && *fx->p == 'n')
			return fx_lit(fx, "null", 4);
		return fx->p < fx->end && *fx->p == '{' &&
		       fx_value(fx, FX_OBJ, NULL, m->fields, m->n_fields, depth + 1, false);
	}
	if (m) {
		if (!fx_leaf_value(fx, m, depth + 1))
			return false;
		if (top && m == fx->dm->ts_field)
			fx->ts_seen = !fx_wrote_null(fx);
		return true;
	}
	if (ctx == FX_OBJ && mode == MODE_STRICT)
		return false;
	ok = fx_value(fx, FX_DYN, NULL, NULL, 0, depth + 1, false);
	if (ctx == FX_OBJ && mode == MODE_LENIENT) {
		fx_back_to(fx, mark);
		*kept = false;
	}
	return ok;
}

/* An object: each member's key copied and its value by its field mapping
 * (ctx FX_OBJ: fields) or copied (FX_DYN). */
static inline bool fx_object(struct fast *fx, enum fast_ctx ctx, const struct field_mapping *fields,
			     size_t nf, int depth, bool top)
{
	struct fx_keys keys;
	size_t written = 0, ord = 0;
	uint64_t mapped = 0;
	bool more = true;

	keys.count = 0;
	keys.seen = 0;
	if (fx_open_empty(fx, '}'))
		return true;
	while (more) {
		const struct field_mapping *m = NULL;
		struct fx_mark mark = fx_mark(fx);
		const char *s, *colon;
		size_t n;
		bool b, kept;

		fx_ws(fx);
		if (fx->p >= fx->end || *fx->p != '"' || !fx_string(fx, &s, &n, &b) || !b)
			return false;
		if (ctx == FX_OBJ)
			m = child_hinted(fx->dm, fields, nf, s + 1, n - 2, ord);
		ord++;
		if (!fx_key_unique(&keys, &mapped, fields, m, s, n))
			return false;
		fx_ws(fx);
		if (fx->p >= fx->end || *fx->p != ':')
			return false;
		colon = fx->p++;
		if (written)
			fx_copy(fx, fx->comma, 1);
		fx_copy(fx, s, n);
		fx_copy(fx, colon, 1);
		if (!fx_member_value(fx, ctx, m, depth, top, mark, &kept) ||
		    !fx_after_item(fx, '}', &more))
			return false;
		written += kept;
	}
	return true;
}

/* A number outside mapped fields: copied when its text is canonical. */
static inline bool fx_dyn_number(struct fast *fx)
{
	const char *start = fx->p;
	struct tok t;
	bool verbatim;

	if (!fx_num_tok(fx, &t, &verbatim) || !verbatim)
		return false;
	fx_copy(fx, start, (size_t)(fx->p - start));
	return true;
}

/* One JSON value copied to out as the tree path would write it: ctx
 * FX_LEAF for mapped field f, FX_OBJ for an object of the given fields,
 * FX_DYN for anything unmapped; false when only the tree path can tell. */
static bool fx_value(struct fast *fx, enum fast_ctx ctx, const struct field_mapping *f,
		     const struct field_mapping *fields, size_t nf, int depth, bool top)
{
	const char *s;
	size_t n;
	bool b;

	if (depth > FAST_MAX_DEPTH)
		return false;
	fx_ws(fx);
	if (fx->p >= fx->end)
		return false;
	if (ctx == FX_LEAF)
		return fx_leaf_value(fx, f, depth);
	switch (*fx->p) {
	case '{':
		return fx_object(fx, ctx, fields, nf, depth, top);
	case '[':
		return fx_dyn_array(fx, depth);
	case '"':
		if (!fx_string(fx, &s, &n, &b))
			return false;
		fx_copy(fx, s, n);
		return true;
	case 't':
		return fx_lit(fx, "true", 4);
	case 'f':
		return fx_lit(fx, "false", 5);
	case 'n':
		return fx_lit(fx, "null", 4);
	default:
		return fx_dyn_number(fx);
	}
}

int docmap_canonical_line(struct docmap *dm, const char *line, size_t len, struct buf *out,
			  enum docmap_reason *reason, struct qw_err *err)
{
	const struct index_config *cfg = dm->cfg;
	size_t mark = out->len;
	json_t *doc = NULL;

	*reason = DOC_OK;
	if (!cfg || !cfg->timestamp_field || !strchr(cfg->timestamp_field, '.')) {
		struct fast fx = { dm, line, line + len, out, false, NULL, NULL, NULL };
		bool ok;

		fx_ws(&fx);
		ok = fx.p < fx.end && *fx.p == '{' &&
		     fx_value(&fx, cfg ? FX_OBJ : FX_DYN, NULL, cfg ? cfg->fields : NULL,
			      cfg ? cfg->n_fields : 0, 1, true);
		if (ok) {
			fx_ws(&fx);
			ok = fx.p == fx.end;
		}
		if (ok && cfg && cfg->timestamp_field && !fx.ts_seen && dm->ts_top) {
			/* read to its end, all its fields kept: only map_inplace()'s
			 * timestamp check is left, and the mapped top-level field
			 * is absent or null */
			buf_truncate(out, mark);
			return no_timestamp(cfg, reason, err);
		}
		if (ok && (!cfg || !cfg->timestamp_field || fx.ts_seen)) {
			fx_flush(&fx);
			return 0;
		}
		buf_truncate(out, mark);
	}
	if (docmap_map_line(dm, line, len, &doc, reason, err))
		return -1;
	docmap_serialize(doc, out);
	json_decref(doc);
	return 0;
}

/* ---------------------------------------------------------------- one-pass walking */

/*
 * docmap_scan_line(): a JSON scanner that checks, value by value, that the
 * mapping would leave the document as it is (map_object/map_field/map_leaf)
 * and collects what docmap_walk() would visit on the tree (walk_object,
 * visit_leaf, visit_inferred), without building the tree. What jansson
 * would reject, what the mapping would reject or rewrite, and whatever is
 * unusual makes it give up (false): the tree path then decides, so both
 * paths always index the same values.
 */
struct scan {
	struct docmap *dm;
	const char *p, *end;
	struct docmap_values *dv;
	bool ts_seen;
	/* the path of a top-level leaf's values, its key in the line (NULL:
	 * dm->path), so that the commonest path is not copied twice */
	const char *key;
	size_t key_len;
};

#define SCAN_MAX_DEPTH 32

void docmap_values_free(struct docmap_values *dv)
{
	free(dv->v);
	free(dv->fix);
	free(dv->keys);
	free(dv->kslots);
	free(dv->captured);
	buf_free(&dv->paths);
	buf_free(&dv->text);
	memset(dv, 0, sizeof(*dv));
}

static inline void sc_ws(struct scan *sc)
{
	sc->p = json_ws(sc->p, sc->end);
}

/*
 * A string at sc->p (on its '"'), decoded as jansson decodes it. Plain
 * strings: (*s, *n) is the span between the quotes and *off is SIZE_MAX;
 * strings with escapes are decoded at the end of dv->text, *off is their
 * offset there (and *s meaningless until the buffer stops moving).
 * Gives up on what jansson rejects (control characters, invalid UTF-8,
 * \u0000, lone surrogates, bad escapes).
 */
static inline __attribute__((always_inline)) bool sc_string(struct scan *sc, const char **s,
							    size_t *n, size_t *off)
{
	const unsigned char *q = (const unsigned char *)sc->p;
	const unsigned char *p = json_string_decode(q, (const unsigned char *)sc->end,
						    &sc->dv->text, off);

	if (!p)
		return false;
	if (*off == SIZE_MAX) {
		*s = (const char *)q + 1;
		*n = (size_t)(p - q - 1);
	} else {
		*s = NULL;
		*n = sc->dv->text.len - *off;
	}
	sc->p = (const char *)p + 1;
	return true;
}

/* An object key at sc->p: plain (no escape). Inlined, as sc_string(): they
 * run for every key and string of every line. */
static inline __attribute__((always_inline)) bool sc_key(struct scan *sc, const char **s, size_t *n)
{
	const unsigned char *start = (const unsigned char *)sc->p + 1;
	const unsigned char *end = (const unsigned char *)sc->end;
	const unsigned char *p;

	p = json_str_run(start, end);
	if (p >= end || *p != '"')
		return false;
	*s = (const char *)start;
	*n = (size_t)(p - start);
	sc->p = (const char *)p + 1;
	return true;
}

/* A number token, as jansson reads it: an integer (json_int_t) or a real. */
static bool sc_number(struct scan *sc, bool *is_int, int64_t *i, double *d)
{
	const char *start = sc->p, *p;
	struct json_num num;

	/* more than 19 digits before the point: left to the tree path */
	if (!lex_number(sc->p, sc->end, &num) || num.digits > 19)
		return false;
	p = sc->p = num.end;
	*is_int = num.is_int;
	if (*is_int) {
		if (!json_num_fits_i64(&num))
			return false;
		*i = !num.neg ? (int64_t)num.mag
		     : num.mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)num.mag;
		return true;
	}
	{
		char tmp[64];
		size_t n = (size_t)(p - start);

		if (n >= sizeof(tmp))
			return false;
		memcpy(tmp, start, n);
		tmp[n] = '\0';
		*d = strtod(tmp, NULL);
		return isfinite(*d);
	}
}

static bool sc_lit(struct scan *sc, const char *lit, size_t n)
{
	if (!json_lit(sc->p, sc->end, lit, n))
		return false;
	sc->p += n;
	return true;
}

/* A scalar token at sc->p (after whitespace) as leaf_rule() reads it;
 * *off as sc_string() sets it (SIZE_MAX but for a decoded string). */
static bool sc_token(struct scan *sc, struct tok *t, size_t *off)
{
	bool is_int;

	memset(t, 0, sizeof(*t));
	*off = SIZE_MAX;
	switch (*sc->p) {
	case '"':
		if (!sc_string(sc, &t->s, &t->n, off))
			return false;
		if (*off != SIZE_MAX)
			t->s = sc->dv->text.data + *off;
		t->kind = TK_STR;
		return true;
	case 't':
	case 'f':
		t->kind = TK_BOOL;
		t->b = *sc->p == 't';
		return t->b ? sc_lit(sc, "true", 4) : sc_lit(sc, "false", 5);
	case 'n':
		t->kind = TK_NULL;
		return sc_lit(sc, "null", 4);
	case '{':
	case '[':
		return false;
	default:
		if (!sc_number(sc, &is_int, &t->i, &t->d))
			return false;
		t->kind = is_int ? TK_INT : TK_REAL;
		return true;
	}
}

/* Append a value with its path; text_off: its string (or bytes) in dv->text, or SIZE_MAX. */
static void dv_push(struct docmap_values *dv, const char *path, size_t path_len,
		    const struct field_value *fv, size_t text_off)
{
	if (dv->n + 1 > dv->cap) {
		XGROW(dv->v, dv->n + 1, dv->cap);
		dv->fix = xreallocarray(dv->fix, dv->cap, sizeof(*dv->fix));
	}
	dv->fix[dv->n].path_off = dv->paths.len;
	dv->fix[dv->n].text_off = text_off;
	out_n(&dv->paths, path, path_len);
	dv->v[dv->n] = *fv;
	dv->v[dv->n++].path_len = path_len;
}

/* The values' pointers into dv's buffers, once these stop moving. */
static void dv_finish(struct docmap_values *dv)
{
	for (size_t i = 0; i < dv->n; i++) {
		size_t off = dv->fix[i].text_off;

		dv->v[i].path = dv->paths.data ? dv->paths.data + dv->fix[i].path_off : "";
		if (off != SIZE_MAX && dv->v[i].kind == VK_BYTES)
			dv->v[i].v.bytes.p = (const uint8_t *)dv->text.data + off;
		else if (off != SIZE_MAX)
			dv->v[i].v.text.s = dv->text.data + off;
	}
}

/* Append a value with the current path (see dv_push). */
static void sc_push(struct scan *sc, struct field_value *fv, size_t text_off)
{
	struct buf *path = &sc->dm->path;

	if (sc->key)
		dv_push(sc->dv, sc->key, sc->key_len, fv, text_off);
	else
		dv_push(sc->dv, path->data ? path->data : "", path->len, fv, text_off);
}

/* One scalar string/number/bool/null value under a json field or unmapped (visit_inferred). */
static bool sc_inferred(struct scan *sc, const struct field_mapping *gov, uint32_t idx, int depth);

/* Keys of one object: gives up on a duplicate (jansson keeps the last value in the first place). */
/*
 * After an object member: 1 when a ',' says another follows, 0 when the
 * object ends with '}' (its keys leave the duplicate check), -1 otherwise.
 */
static int sc_member_end(struct scan *sc, size_t base)
{
	sc_ws(sc);
	if (sc->p < sc->end && *sc->p == ',') {
		sc->p++;
		return 1;
	}
	if (sc->p >= sc->end || *sc->p != '}')
		return -1;
	sc->p++;
	sc->dv->nkeys = base;
	return 0;
}

/*
 * Objects of up to KEYS_LINEAR keys look for a duplicate by a linear scan
 * behind a 256-bit filter; wider ones through dv->kslots, an open-addressing
 * hash of indexes into dv->keys, so that a document of n keys costs O(n),
 * not O(n^2). A slot's entry counts for an object only when its index lies
 * in the object's keys[base, nkeys) and names the same key: entries left by
 * closed objects (sc_member_end truncates keys) need no removal.
 */
#define KEYS_LINEAR 32

static void kslot_put(struct docmap_values *dv, size_t i)
{
	size_t mask = dv->kslots_cap - 1, j = dv->keys[i].h & mask;

	while (dv->kslots[j].gen == dv->kgen)
		j = (j + 1) & mask;
	dv->kslots[j].idx = (uint32_t)i;
	dv->kslots[j].gen = dv->kgen;
	dv->kslots_used++;
}

/* Add keys[i] to the hash, growing it (with keys[0, i) again) at half load. */
static void kslot_add(struct docmap_values *dv, size_t i)
{
	if ((dv->kslots_used + 1) * 2 > dv->kslots_cap) {
		size_t cap = dv->kslots_cap ? dv->kslots_cap : 64;

		while ((i + 1) * 2 > cap)
			cap *= 2;
		free(dv->kslots);
		dv->kslots = xcalloc(cap, sizeof(*dv->kslots));
		dv->kslots_cap = cap;
		dv->kslots_used = 0;
		dv->kgen = 1;
		for (size_t k = 0; k < i; k++)
			kslot_put(dv, k);
	}
	kslot_put(dv, i);
}

static bool kslot_has(const struct docmap_values *dv, size_t base, const char *s, size_t n,
		      uint32_t h)
{
	size_t mask = dv->kslots_cap - 1, j = h & mask;

	for (; dv->kslots[j].gen == dv->kgen; j = (j + 1) & mask) {
		const struct docmap_key *k = &dv->keys[dv->kslots[j].idx];

		if (dv->kslots[j].idx >= base && dv->kslots[j].idx < dv->nkeys && k->h == h &&
		    k->n == n && memcmp(k->s, s, n) == 0)
			return true;
	}
	return false;
}

static bool sc_key_new(struct scan *sc, size_t base, uint64_t mask[4], const char *s, size_t n,
		       uint32_t h)
{
	struct docmap_values *dv = sc->dv;
	size_t count = dv->nkeys - base;
	uint32_t bit = h >> 24;

	if (count < KEYS_LINEAR) {
		if (mask[bit >> 6] & (UINT64_C(1) << (bit & 63))) {
			for (size_t i = base; i < dv->nkeys; i++)
				if (dv->keys[i].h == h && dv->keys[i].n == n &&
				    memcmp(dv->keys[i].s, s, n) == 0)
					return false;
		}
		mask[bit >> 6] |= UINT64_C(1) << (bit & 63);
	} else {
		if (count == KEYS_LINEAR)
			for (size_t i = base; i < dv->nkeys; i++)
				kslot_add(dv, i);
		if (kslot_has(dv, base, s, n, h))
			return false;
	}
	if (dv->nkeys >= UINT32_MAX)
		return false;
	XGROW(dv->keys, dv->nkeys + 1, dv->keys_cap);
	dv->keys[dv->nkeys].s = s;
	dv->keys[dv->nkeys].n = n;
	dv->keys[dv->nkeys].h = h;
	dv->nkeys++;
	if (count >= KEYS_LINEAR)
		kslot_add(dv, dv->nkeys - 1);
	return true;
}

/* sc_key_new() for a key of an object of mapped fields (m: its field, or NULL). */
static inline bool sc_key_unique(struct scan *sc, size_t base, uint64_t mask[4], uint64_t *mapped,
				 const struct field_mapping *fields,
				 const struct field_mapping *m, const char *s, size_t n)
{
	int seen = mapped_key_seen(mapped, fields, m);

	if (seen >= 0)
		return !seen;
	return sc_key_new(sc, base, mask, s, n, json_key_hash((const unsigned char *)s, n));
}

static bool sc_inferred(struct scan *sc, const struct field_mapping *gov, uint32_t idx, int depth)
{
	struct field_value fv;
	struct tok t;
	const char *s;
	size_t n, off;

	if (depth > SCAN_MAX_DEPTH)
		return false;
	sc_ws(sc);
	if (sc->p >= sc->end)
		return false;
	memset(&fv, 0, sizeof(fv));
	fv.mapping = gov;
	fv.array_index = idx;
	switch (*sc->p) {
	case '{': {
		size_t base = sc->dv->nkeys;
		uint64_t mask[4] = { 0, 0, 0, 0 };
		int more;

		sc->p++;
		sc_ws(sc);
		if (sc->p < sc->end && *sc->p == '}') {
			sc->p++;
			return true;
		}
		for (;;) {
			size_t old;
			bool ok;

			sc_ws(sc);
			if (sc->p >= sc->end || *sc->p != '"' || !sc_key(sc, &s, &n) ||
			    !sc_key_new(sc, base, mask, s, n,
					json_key_hash((const unsigned char *)s, n)))
				return false;
			sc_ws(sc);
			if (sc->p >= sc->end || *sc->p != ':')
				return false;
			sc->p++;
			old = path_push(&sc->dm->path, s, n);
			ok = sc_inferred(sc, gov, 0, depth + 1);
			buf_truncate(&sc->dm->path, old);
			if (!ok)
				return false;
			if ((more = sc_member_end(sc, base)) <= 0)
				return more == 0;
		}
	}
	case '[': {
		uint32_t i = 0;

		sc->p++;
		sc_ws(sc);
		if (sc->p < sc->end && *sc->p == ']') {
			sc->p++;
			return true;
		}
		for (;; i++) {
			if (!sc_inferred(sc, gov, i, depth + 1))
				return false;
			sc_ws(sc);
			if (sc->p < sc->end && *sc->p == ',') {
				sc->p++;
				continue;
			}
			if (sc->p >= sc->end || *sc->p != ']')
				return false;
			sc->p++;
			return true;
		}
	}
	default:
		if (!sc_token(sc, &t, &off))
			return false;
		if (infer_value(&t, &fv))
			sc_push(sc, &fv, fv.kind == VK_TEXT ? off : SIZE_MAX);
		return true;
	}
}

/* One leaf value of a mapped field (not an array): what leaf_rule() keeps
 * (map_leaf) and reads (visit_leaf); a rewrite or a rejection gives up. */
static bool sc_leaf(struct scan *sc, const struct field_mapping *f, uint32_t idx, int depth,
		    int64_t *dt)
{
	struct rule_out o;
	struct tok t;
	size_t off;

	sc_ws(sc);
	if (sc->p >= sc->end)
		return false;
	if (f->type == FT_JSON)
		return *sc->p == 'n' ? sc_lit(sc, "null", 4)
		       : *sc->p == '{' && sc_inferred(sc, f, idx, depth);
	if (!sc_token(sc, &t, &off) || leaf_rule(sc->dm, f, &t, &o) != RULE_KEEP)
		return false;
	if (!o.has_value)
		return true;                 /* null */
	if (o.fv.kind == VK_BYTES)
		return false;                /* decoded in dm->scratch: left to the tree path */
	o.fv.array_index = idx;
	if (dt && o.fv.kind == VK_DATETIME)
		*dt = o.fv.v.dt_us;
	sc_push(sc, &o.fv, o.fv.kind == VK_TEXT ? off : SIZE_MAX);
	return true;
}

/* An object of mapped fields (map_object + walk_object). */
static bool sc_object(struct scan *sc, const struct field_mapping *fields, size_t nf, int depth,
		      bool top)
{
	const struct index_config *cfg = sc->dm->cfg;
	const char *tsf = top ? cfg->timestamp_field : NULL;
	size_t base = sc->dv->nkeys, tsf_len = tsf ? strlen(tsf) : 0, ord = 0;
	uint64_t mask[4] = { 0, 0, 0, 0 }, mapped = 0;
	const char *s;
	size_t n;
	int more;

	if (depth > SCAN_MAX_DEPTH)
		return false;
	sc->p++; /* { */
	sc_ws(sc);
	if (sc->p < sc->end && *sc->p == '}') {
		sc->p++;
		return true;
	}
	for (;;) {
		const struct field_mapping *m;
		const char *vstart;
		bool ok, is_ts = false;
		int64_t dt = 0;
		size_t old, before;

		sc_ws(sc);
		if (sc->p >= sc->end || *sc->p != '"' || !sc_key(sc, &s, &n))
			return false;
		/* keys hold no NUL (sc_key) */
		m = child_hinted(sc->dm, fields, nf, s, n, ord++);
		if (!sc_key_unique(sc, base, mask, &mapped, fields, m, s, n))
			return false;
		sc_ws(sc);
		if (sc->p >= sc->end || *sc->p != ':')
			return false;
		sc->p++;
		sc_ws(sc);
		if (sc->p >= sc->end)
			return false;
		if (top && m && m->type != FT_OBJECT && m->type != FT_JSON) {
			sc->key = s;
			sc->key_len = n;
			old = 0;
		} else {
			old = path_push(&sc->dm->path, s, n);
		}
		if (tsf && tsf_len == n && memcmp(tsf, s, n) == 0)
			is_ts = true;
		vstart = sc->p;
		before = sc->dv->n;
		if (!m) {
			ok = cfg->mode == MODE_DYNAMIC && sc_inferred(sc, NULL, 0, depth + 1);
		} else if (m->type == FT_OBJECT) {
			if (*sc->p == 'n')
				ok = sc_lit(sc, "null", 4);
			else
				ok = *sc->p == '{' && sc_object(sc, m->fields, m->n_fields, depth + 1, false);
		} else if (*sc->p == '[') {
			uint32_t i = 0;

			ok = m->is_array && !is_ts;
			sc->p++;
			sc_ws(sc);
			if (ok && sc->p < sc->end && *sc->p == ']') {
				sc->p++;
			} else {
				for (; ok; i++) {
					sc_ws(sc);
					if (sc->p >= sc->end || *sc->p == '[') {
						ok = false;
						break;
					}
					if (m->type == FT_JSON)
						ok = *sc->p == 'n' ? sc_lit(sc, "null", 4)
							: *sc->p == '{' && sc_inferred(sc, m, i, depth + 1);
					else
						ok = sc_leaf(sc, m, i, depth + 1, NULL);
					if (!ok)
						break;
					sc_ws(sc);
					if (sc->p < sc->end && *sc->p == ',') {
						sc->p++;
						continue;
					}
					ok = sc->p < sc->end && *sc->p == ']';
					if (ok)
						sc->p++;
					break;
				}
			}
		} else {
			ok = sc_leaf(sc, m, 0, depth, &dt);
		}
		if (sc->key)
			sc->key = NULL;
		else
			buf_truncate(&sc->dm->path, old);
		if (!ok)
			return false;
		for (size_t i = 0; top && i < sc->dv->n_cap; i++) {
			if (strlen(sc->dv->cap_keys[i]) == n && memcmp(sc->dv->cap_keys[i], s, n) == 0) {
				sc->dv->captured[i].s = vstart;
				sc->dv->captured[i].n = (size_t)(sc->p - vstart);
			}
		}
		if (is_ts) {
			/* map_inplace: present and not null; docmap_timestamp: its value */
			if (sc->dv->n == before || m != sc->dm->ts_field || m->type != FT_DATETIME)
				return false;
			sc->ts_seen = true;
			sc->dv->has_ts = true;
			sc->dv->ts_us = dt;
		}
		if ((more = sc_member_end(sc, base)) <= 0)
			return more == 0;
	}
}

bool docmap_scan_line(struct docmap *dm, const char *line, size_t len, struct docmap_values *dv)
{
	const struct index_config *cfg = dm->cfg;
	struct scan sc = { dm, line, line + len, dv, false, NULL, 0 };

	dv->n = 0;
	dv->nkeys = 0;
	dv->kslots_used = 0;
	if (++dv->kgen == 0) {
		if (dv->kslots)
			memset(dv->kslots, 0, dv->kslots_cap * sizeof(*dv->kslots));
		dv->kgen = 1;
	}
	if (dv->n_cap) {
		dv->captured = xreallocarray(dv->captured, dv->n_cap, sizeof(*dv->captured));
		memset(dv->captured, 0, dv->n_cap * sizeof(*dv->captured));
	}
	dv->has_ts = false;
	dv->ts_us = 0;
	buf_reset(&dv->paths);
	buf_reset(&dv->text);
	if (!cfg || (cfg->timestamp_field && (strchr(cfg->timestamp_field, '.') || !dm->ts_field)))
		return false;
	buf_reset(&dm->path);
	sc_ws(&sc);
	if (sc.p >= sc.end || *sc.p != '{' || !sc_object(&sc, cfg->fields, cfg->n_fields, 1, true))
		return false;
	sc_ws(&sc);
	if (sc.p != sc.end || (cfg->timestamp_field && !sc.ts_seen))
		return false;
	dv_finish(dv);
	return true;
}

/* ---------------------------------------------------------------- collecting */

static int collect_visit(void *ctx, const struct field_value *fv)
{
	struct docmap_values *dv = ctx;
	size_t off = SIZE_MAX;

	if (fv->kind == VK_BYTES) {      /* decoded in dm->scratch: copied */
		off = dv->text.len;
		buf_add(&dv->text, fv->v.bytes.p, fv->v.bytes.len);
	}
	dv_push(dv, fv->path, fv->path_len, fv, off);
	return 0;
}

void docmap_collect(struct docmap *dm, json_t *canonical, struct docmap_values *dv)
{
	dv->n = 0;
	dv->has_ts = false;
	dv->ts_us = 0;
	buf_reset(&dv->paths);
	buf_reset(&dv->text);
	docmap_walk(dm, canonical, collect_visit, dv);
	dv->has_ts = docmap_timestamp(dm, canonical, &dv->ts_us);
	dv_finish(dv);
}

bool docmap_stores_all(const struct docmap *dm)
{
	return dm->n_unstored == 0;
}

/* Remove a dotted path from an object (only object nesting). */
static void remove_path(json_t *obj, const char *path)
{
	const char *dot = strchr(path, '.');
	json_t *child;

	if (!json_is_object(obj))
		return;
	if (!dot) {
		json_object_del(obj, path);
		return;
	}
	{
		char *head = xstrndup(path, (size_t)(dot - path));

		child = json_object_get(obj, head);
		free(head);
	}
	if (json_is_array(child)) {
		size_t i;
		json_t *el;

		json_array_foreach(child, i, el)
			remove_path(el, dot + 1);
	} else {
		remove_path(child, dot + 1);
	}
}

bool docmap_stored_text(struct docmap *dm, json_t *canonical, struct buf *out)
{
	json_t *copy;

	if (!dm->n_unstored)
		return false;
	copy = json_deep_copy(canonical);
	if (!copy)
		xalloc_die();
	for (size_t i = 0; i < dm->n_unstored; i++)
		remove_path(copy, dm->unstored[i]);
	buf_reset(out);
	/* docmap_serialize: integers over int64 are held as docmap_map_line() reads them */
	docmap_serialize(copy, out);
	json_decref(copy);
	return true;
}
