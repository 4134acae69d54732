/* hit_text: see hit_text.h */
#include "search/hit_text.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mapping/docmap.h"


/* The value at a dotted path, or NULL. A key with dots in it ("a.b" as one
 * key) is tried first, as the doc mapping allows both. */
static json_t *at_path(json_t *doc, const char *path)
{
	json_t *v = json_object_get(doc, path);
	const char *dot;

	if (v || !json_is_object(doc))
		return v;
	dot = strchr(path, '.');
	while (dot) {
		char key[256];
		size_t n = (size_t)(dot - path);

		if (n < sizeof(key)) {
			memcpy(key, path, n);
			key[n] = '\0';
			v = json_object_get(doc, key);
			if (json_is_object(v)) {
				v = at_path(v, dot + 1);
				if (v)
					return v;
			}
		}
		dot = strchr(dot + 1, '.');
	}
	return NULL;
}

static void add_clean(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			buf_add(out, "\\n", 2);
		else if (c == '\r')
			buf_add(out, "\\r", 2);
		else if (c == '\t')
			buf_add(out, "\\t", 2);
		else if (c < 0x20 || c == 0x7f)
			buf_addf(out, "\\x%02x", c);
		else
			buf_addc(out, (char)c);
	}
}

static void add_value(struct buf *out, json_t *v)
{
	struct buf text = BUF_INIT;

	if (!v) {
		buf_addc(out, '-');
		return;
	}
	if (json_is_string(v)) {
		add_clean(out, json_string_value(v), json_string_length(v));
		return;
	}
	docmap_serialize(v, &text);
	add_clean(out, text.data ? text.data : "", text.len);
	buf_free(&text);
}

void hit_text_line(const struct hit_text *t, json_t *hit, struct buf *out)
{
	const char *body = t->body_field ? t->body_field : "body";
	bool first = true;
	json_t *v;

	if (t->ts_field) {
		add_value(out, at_path(hit, t->ts_field));
		first = false;
	}
	if (t->n_fields) {
		for (size_t i = 0; i < t->n_fields; i++) {
			if (!first)
				buf_addc(out, ' ');
			add_value(out, at_path(hit, t->fields[i]));
			first = false;
		}
		return;
	}
	if (!first)
		buf_addc(out, ' ');
	v = json_object_get(hit, body);
	if (v) {
		add_value(out, v);
		return;
	}
	/* no body: the document without its timestamp, compact */
	{
		json_t *rest = json_copy(hit);

		if (rest && t->ts_field)
			json_object_del(rest, t->ts_field);
		add_value(out, rest ? rest : hit);
		json_decref(rest);
	}
}
