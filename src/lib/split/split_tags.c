/* split_tags: see split_tags.h. */
#include "split/split_tags.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "split/termkey.h"

#define MAX_TAG_VALUES 1000

struct split_tags {
	const struct index_config *cfg;
	char **list;             /* "field:value" strings */
	size_t n, cap;
	size_t *distinct;        /* per tag field: values added */
	struct buf s, tag;
};

struct split_tags *split_tags_new(const struct index_config *cfg)
{
	struct split_tags *t = xcalloc(1, sizeof(*t));

	t->cfg = cfg;
	t->distinct = xcalloc(cfg->n_tag_fields ? cfg->n_tag_fields : 1, sizeof(*t->distinct));
	return t;
}

void split_tags_free(struct split_tags *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->list[i]);
	free(t->list);
	free(t->distinct);
	buf_free(&t->s);
	buf_free(&t->tag);
	free(t);
}

static void term_to_string(enum value_kind kind, const uint8_t *t, size_t len, struct buf *out)
{
	buf_reset(out);
	switch (kind) {
	case VK_TEXT:
		buf_add(out, t, len);
		return;
	case VK_I64:
	case VK_DATETIME:
		if (len == 8)
			buf_addf(out, "%lld", (long long)termkey_to_i64(termkey_get(t)));
		return;
	case VK_U64:
		if (len == 8)
			buf_addf(out, "%llu", (unsigned long long)termkey_get(t));
		return;
	case VK_F64:
		if (len == 8)
			buf_addf(out, "%.17g", termkey_to_f64(termkey_get(t)));
		return;
	case VK_BOOL:
		buf_adds(out, len == 1 && t[0] ? "true" : "false");
		return;
	default:
		for (size_t i = 0; i < len; i++)
			buf_addf(out, "%02x", t[i]);
		return;
	}
}

void split_tags_add_term(struct split_tags *t, const char *path, enum value_kind kind,
			 const uint8_t *term, size_t len)
{
	for (size_t i = 0; i < t->cfg->n_tag_fields; i++) {
		const char *name = t->cfg->tag_fields[i];

		if (strcmp(path, name) != 0)
			continue;
		/* past the limit the field gets no values: stop keeping them */
		if (++t->distinct[i] > MAX_TAG_VALUES)
			return;
		term_to_string(kind, term, len, &t->s);
		buf_reset(&t->tag);
		buf_addf(&t->tag, "%s:%s", name, buf_str(&t->s));
		XGROW(t->list, t->n + 1, t->cap);
		t->list[t->n++] = xstrdup(buf_str(&t->tag));
		return;
	}
}

json_t *split_tags_json(const struct split_tags *t)
{
	json_t *arr = json_array();
	struct buf tag = BUF_INIT;
	char **list = xreallocarray(NULL, t->n + t->cfg->n_tag_fields + 1, sizeof(*list));
	size_t n = 0, plen;

	for (size_t i = 0; i < t->cfg->n_tag_fields; i++) {
		buf_reset(&tag);
		buf_addf(&tag, "%s!", t->cfg->tag_fields[i]);
		list[n++] = xstrdup(buf_str(&tag));
	}
	for (size_t k = 0; k < t->n; k++) {
		bool over = false;

		/* the values of a field that had more than the limit are left out */
		for (size_t i = 0; i < t->cfg->n_tag_fields; i++) {
			plen = strlen(t->cfg->tag_fields[i]);
			if (t->distinct[i] > MAX_TAG_VALUES &&
			    strncmp(t->list[k], t->cfg->tag_fields[i], plen) == 0 &&
			    t->list[k][plen] == ':')
				over = true;
		}
		if (!over)
			list[n++] = xstrdup(t->list[k]);
	}
	if (n)
		qsort(list, n, sizeof(*list), strlist_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(list[i], list[i - 1]) != 0)
			json_array_append_new(arr, json_string(list[i]));
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	buf_free(&tag);
	return arr;
}
