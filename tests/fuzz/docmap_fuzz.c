/*
 * docmap_fuzz: libFuzzer target for the document mapper. The input is one
 * line of NDJSON; it is mapped under a strict, a lenient and a dynamic
 * mapping (and without a config). Whatever it is, docmap must accept it or
 * reject it with a reason and a message, never crash. An accepted document
 * must be idempotent: its serialized canonical form parses and maps to the
 * same JSON, serialized byte for byte the same; docmap_walk must visit it.
 * docmap_canonical_line() (the one-pass path) must agree with docmap_map_line()
 * + docmap_serialize() on every input, byte for byte. docmap_scan_line() (the
 * one-pass value scan qw-index uses) either falls back or gives exactly the
 * values docmap_walk() visits on the mapped tree, in order, and its timestamp.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "mapping/docmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *cfg_text =
	"{\"version\":\"0.8\",\"index_id\":\"fuzz\",\"doc_mapping\":{"
	"\"mode\":\"strict\",\"timestamp_field\":\"ts\",\"field_mappings\":["
	"{\"name\":\"ts\",\"type\":\"datetime\",\"fast\":true,"
	" \"input_formats\":[\"rfc3339\",\"unix_timestamp\",\"%Y-%m-%d %H:%M:%S\",\"rfc2822\",\"iso8601\"]},"
	"{\"name\":\"i\",\"type\":\"i64\"},{\"name\":\"u\",\"type\":\"u64\"},"
	"{\"name\":\"f\",\"type\":\"f64\"},{\"name\":\"t\",\"type\":\"text\"},"
	"{\"name\":\"b\",\"type\":\"bool\"},{\"name\":\"ip\",\"type\":\"ip\"},"
	"{\"name\":\"by\",\"type\":\"bytes\"},{\"name\":\"a\",\"type\":\"array<i64>\"},"
	"{\"name\":\"d\",\"type\":\"array<datetime>\"},{\"name\":\"j\",\"type\":\"json\"},"
	"{\"name\":\"o\",\"type\":\"object\",\"field_mappings\":[{\"name\":\"x\",\"type\":\"u64\"}]}"
	"]}}";

static int count_visit(void *ctx, const struct field_value *fv)
{
	size_t *n = ctx;

	if (fv->path_len != strlen(fv->path))
		abort();
	(*n)++;
	return 0;
}

/* The walk's values, kept for comparison (paths and texts copied). */
struct walked {
	struct field_value *v;
	size_t n, cap;
	struct buf store;
	size_t *text_off, *path_off;
};

static int keep_visit(void *ctx, const struct field_value *fv)
{
	struct walked *w = ctx;

	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->v = realloc(w->v, w->cap * sizeof(*w->v));
		w->text_off = realloc(w->text_off, w->cap * sizeof(size_t));
		w->path_off = realloc(w->path_off, w->cap * sizeof(size_t));
		if (!w->v || !w->text_off || !w->path_off)
			abort();
	}
	w->v[w->n] = *fv;
	w->path_off[w->n] = w->store.len;
	buf_add(&w->store, fv->path, fv->path_len);
	w->text_off[w->n] = w->store.len;
	if (fv->kind == VK_TEXT)
		buf_add(&w->store, fv->v.text.s, fv->v.text.len);
	else if (fv->kind == VK_BYTES)
		buf_add(&w->store, fv->v.bytes.p, fv->v.bytes.len);
	w->n++;
	return 0;
}

static bool same_value(const struct walked *w, size_t i, const struct field_value *b)
{
	const struct field_value *a = &w->v[i];

	if (a->path_len != b->path_len || memcmp(w->store.data + w->path_off[i], b->path, b->path_len) ||
	    a->mapping != b->mapping || a->kind != b->kind || a->array_index != b->array_index)
		return false;
	switch (a->kind) {
	case VK_TEXT:
		return a->v.text.len == b->v.text.len &&
		       !memcmp(w->store.data + w->text_off[i], b->v.text.s, b->v.text.len);
	case VK_BYTES:
		return a->v.bytes.len == b->v.bytes.len &&
		       !memcmp(w->store.data + w->text_off[i], b->v.bytes.p, b->v.bytes.len);
	case VK_I64:
	case VK_DATETIME:
		return a->v.i64 == b->v.i64;
	case VK_U64:
		return a->v.u64 == b->v.u64;
	case VK_F64:
		return !memcmp(&a->v.f64, &b->v.f64, sizeof(double));
	case VK_BOOL:
		return a->v.b == b->v.b;
	case VK_IP:
		return !memcmp(a->v.ip, b->v.ip, 16);
	}
	return false;
}

/* docmap_scan_line() on an accepted line: fall back, or agree with the walk. */
static void check_scan(struct docmap *dm, const uint8_t *data, size_t size, json_t *mapped)
{
	struct docmap_values dv;
	struct walked w;
	int64_t ts = 0;
	bool has_ts;

	memset(&dv, 0, sizeof(dv));
	memset(&w, 0, sizeof(w));
	if (docmap_scan_line(dm, (const char *)data, size, &dv)) {
		docmap_walk(dm, mapped, keep_visit, &w);
		if (dv.n != w.n)
			abort();
		for (size_t i = 0; i < w.n; i++)
			if (!same_value(&w, i, &dv.v[i]))
				abort();
		has_ts = docmap_timestamp(dm, mapped, &ts);
		if (dv.has_ts != has_ts || (has_ts && dv.ts_us != ts))
			abort();
	}
	docmap_values_free(&dv);
	free(w.v);
	free(w.text_off);
	free(w.path_off);
	buf_free(&w.store);
}

static void check(struct docmap *dm, const uint8_t *data, size_t size)
{
	struct qw_err e = QW_ERR_INIT;
	enum docmap_reason reason = DOC_OK;
	json_t *out = NULL, *again = NULL;
	struct buf s1 = BUF_INIT, s2 = BUF_INIT;
	size_t visits = 0;

	struct buf fast = BUF_INIT;
	enum docmap_reason fast_reason = DOC_OK;
	struct qw_err fe = QW_ERR_INIT;
	int fr = docmap_canonical_line(dm, (const char *)data, size, &fast, &fast_reason, &fe);

	if (docmap_map_line(dm, (const char *)data, size, &out, &reason, &e)) {
		if (reason == DOC_OK || reason >= DOC_REASON_COUNT || e.msg[0] == '\0' || out)
			abort();
		/* the one-pass path must reject the same way, its output untouched */
		if (fr == 0 || fast_reason != reason || strcmp(fe.msg, e.msg) != 0 || fast.len != 0)
			abort();
		buf_free(&fast);
		return;
	}
	check_scan(dm, data, size, out);
	docmap_serialize(out, &s1);
	if (fr != 0 || fast.len != s1.len || memcmp(fast.data, s1.data, s1.len) != 0)
		abort();                 /* the one-pass path must write the same bytes */
	buf_free(&fast);
	if (memchr(s1.data, '\n', s1.len))
		abort();
	if (docmap_map_line(dm, s1.data, s1.len, &again, &reason, &e))
		abort();                 /* the canonical form must map */
	docmap_serialize(again, &s2);
	if (s1.len != s2.len || memcmp(s1.data, s2.data, s1.len) != 0)
		abort();                 /* idempotent */
	docmap_walk(dm, again, count_visit, &visits);
	json_decref(out);
	json_decref(again);
	buf_free(&s1);
	buf_free(&s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct index_config *cfgs[3];
	static struct docmap *dms[4];
	static const char *modes[3] = { "strict", "lenient", "dynamic" };

	if (!dms[0]) {
		for (int i = 0; i < 3; i++) {
			struct qw_err e = QW_ERR_INIT;
			json_t *root = json_loads(cfg_text, 0, NULL);

			json_object_set_new(json_object_get(root, "doc_mapping"), "mode",
					    json_string(modes[i]));
			cfgs[i] = config_from_json(root, &e);
			json_decref(root);
			if (!cfgs[i])
				abort();
			dms[i] = docmap_new(cfgs[i]);
		}
		dms[3] = docmap_new(NULL);
	}
	for (int i = 0; i < 4; i++)
		check(dms[i], data, size);
	return 0;
}
