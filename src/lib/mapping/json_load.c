/* json_load: see json_load.h */
#include "mapping/json_load.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mapping/json_lex.h"

struct jl {
	const char *p, *end;
	struct buf str;         /* decoded strings, keys NUL-terminated */
};

static json_t *jl_value(struct jl *s, int depth);

/*
 * The string at s->p (on its '"'): its bytes at (*out, *n), in the text
 * itself when it has no escape, else decoded at the end of s->str from
 * offset *off (SIZE_MAX when in the text). A key (want_nul) is always
 * copied to s->str with a NUL after it. False on what jansson rejects
 * (json_string_decode() says what).
 */
static bool jl_string(struct jl *s, bool want_nul, const char **out, size_t *n, size_t *off)
{
	const unsigned char *q = (const unsigned char *)s->p;
	const unsigned char *p = json_string_decode(q, (const unsigned char *)s->end, &s->str, off);

	if (!p)
		return false;
	if (*off == SIZE_MAX && !want_nul) {
		*out = (const char *)q + 1;
		*n = (size_t)(p - q - 1);
	} else {
		if (*off == SIZE_MAX) {
			*off = s->str.len;
			buf_add(&s->str, q + 1, (size_t)(p - q - 1));
		}
		*n = s->str.len - *off;
		if (want_nul)
			buf_addc(&s->str, '\0');
		*out = s->str.data + *off;
	}
	s->p = (const char *)p + 1;
	return true;
}

/* A number token: an integer that fits json_int_t, or a finite real read
 * with strtod() as jansson reads it; NULL for anything else. */
static json_t *jl_number(struct jl *s)
{
	struct json_num num;
	char tmp[64];
	size_t n;
	double d;

	if (!lex_number(s->p, s->end, &num))
		return NULL;
	n = (size_t)(num.end - s->p);
	if (num.is_int) {
		if (!json_num_fits_i64(&num))
			return NULL;
		s->p = num.end;
		return json_integer(!num.neg ? (json_int_t)num.mag
				    : num.mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN
				    : -(json_int_t)num.mag);
	}
	if (n >= sizeof(tmp))
		return NULL;
	memcpy(tmp, s->p, n);
	tmp[n] = '\0';
	d = strtod(tmp, NULL);
	if (!isfinite(d))
		return NULL;
	s->p = num.end;
	return json_real(d);
}

static json_t *jl_object(struct jl *s, int depth)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	s->p = json_ws(s->p + 1, s->end);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return o;
	}
	for (;;) {
		const char *key;
		size_t klen, koff, mark = s->str.len;
		json_t *v;

		if (s->p >= s->end || *s->p != '"' || !jl_string(s, true, &key, &klen, &koff))
			goto fail;
		s->p = json_ws(s->p, s->end);
		if (s->p >= s->end || *s->p != ':')
			goto fail;
		s->p++;
		v = jl_value(s, depth);
		/* the key by its offset: the value's strings may move s->str */
		if (!v || json_object_set_new_nocheck(o, s->str.data + koff, v) < 0)
			goto fail;
		buf_truncate(&s->str, mark);
		s->p = json_ws(s->p, s->end);
		if (s->p < s->end && *s->p == ',') {
			s->p = json_ws(s->p + 1, s->end);
			continue;
		}
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			return o;
		}
		goto fail;
	}
fail:
	json_decref(o);
	return NULL;
}

static json_t *jl_array(struct jl *s, int depth)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	s->p = json_ws(s->p + 1, s->end);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return a;
	}
	for (;;) {
		json_t *v = jl_value(s, depth);

		if (!v || json_array_append_new(a, v) < 0)
			goto fail;
		s->p = json_ws(s->p, s->end);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			return a;
		}
		goto fail;
	}
fail:
	json_decref(a);
	return NULL;
}

static json_t *jl_value(struct jl *s, int depth)
{
	s->p = json_ws(s->p, s->end);
	if (s->p >= s->end)
		return NULL;
	switch (*s->p) {
	case '{':
	case '[':
		/* deeper documents are jansson's: it has the limit and its message */
		if (depth >= JSON_LOAD_FAST_DEPTH)
			return NULL;
		return *s->p == '{' ? jl_object(s, depth + 1) : jl_array(s, depth + 1);
	case '"': {
		const char *str;
		size_t n, off, mark = s->str.len;
		json_t *v;

		if (!jl_string(s, false, &str, &n, &off))
			return NULL;
		v = json_stringn_nocheck(str, n);
		buf_truncate(&s->str, mark);
		return v;
	}
	case 't':
		if (!json_lit(s->p, s->end, "true", 4))
			return NULL;
		s->p += 4;
		return json_true();
	case 'f':
		if (!json_lit(s->p, s->end, "false", 5))
			return NULL;
		s->p += 5;
		return json_false();
	case 'n':
		if (!json_lit(s->p, s->end, "null", 4))
			return NULL;
		s->p += 4;
		return json_null();
	default:
		return jl_number(s);
	}
}

json_t *json_load_fast(const char *text, size_t len, size_t flags)
{
	struct jl s = { text, text + len, BUF_INIT };
	json_t *v = NULL;

	if (!text || (flags & ~(size_t)JSON_DECODE_ANY))
		goto out;
	s.p = json_ws(s.p, s.end);
	if (!(flags & JSON_DECODE_ANY) && (s.p >= s.end || (*s.p != '{' && *s.p != '[')))
		goto out;
	v = jl_value(&s, 0);
	if (v && json_ws(s.p, s.end) != s.end) {
		json_decref(v);
		v = NULL;
	}
out:
	buf_free(&s.str);
	return v;
}
