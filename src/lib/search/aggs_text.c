/* aggs_text: see aggs_text.h */
#include "search/aggs_text.h"

#include <stdlib.h>
#include <string.h>

#include "mapping/docmap.h"

#define BAR_WIDTH 40

/* The type of aggregation name in the request ("terms", ...), or "". */
static const char *agg_type(json_t *request, const char *name)
{
	json_t *body = json_object_get(request, name);
	const char *k;
	json_t *v;

	json_object_foreach(body, k, v)
		if (strcmp(k, "aggs") != 0 && strcmp(k, "aggregations") != 0)
			return k;
	return "";
}

static void add_json(struct buf *out, json_t *v)
{
	docmap_serialize(v, out);
}

/* A bucket's key as shown. */
static void key_text(json_t *b, struct buf *out)
{
	json_t *k = json_object_get(b, "key_as_string");

	if (!json_is_string(k))
		k = json_object_get(b, "key");
	if (json_is_string(k))
		buf_adds(out, json_string_value(k));
	else if (k)
		add_json(out, k);
	else
		buf_addc(out, '-');
}

static void table(json_t *buckets, bool bar, struct buf *out)
{
	size_t i, width = 3;
	json_int_t max = 0;
	json_t *b;
	struct buf k = BUF_INIT;

	/* keyed buckets come as an object: its values in order */
	if (json_is_object(buckets)) {
		json_t *arr = json_array();
		const char *name;

		json_object_foreach(buckets, name, b) {
			json_t *c = json_copy(b);

			if (c && !json_object_get(c, "key"))
				json_object_set_new(c, "key", json_string(name));
			json_array_append_new(arr, c ? c : json_null());
		}
		table(arr, bar, out);
		json_decref(arr);
		return;
	}
	json_array_foreach(buckets, i, b) {
		json_int_t n = json_integer_value(json_object_get(b, "doc_count"));

		buf_reset(&k);
		key_text(b, &k);
		if (k.len > width)
			width = k.len;
		if (n > max)
			max = n;
	}
	buf_addf(out, "%-*s  %s\n", (int)width, "key", "doc_count");
	json_array_foreach(buckets, i, b) {
		json_int_t n = json_integer_value(json_object_get(b, "doc_count"));

		buf_reset(&k);
		key_text(b, &k);
		buf_addf(out, "%-*s  %9lld", (int)width, k.data ? k.data : "", (long long)n);
		if (bar && max > 0) {
			long len = (long)((n * BAR_WIDTH + max - 1) / max);

			buf_adds(out, "  ");
			for (long j = 0; j < len; j++)
				buf_adds(out, "\xe2\x96\x88"); /* U+2588 FULL BLOCK */
		}
		buf_addc(out, '\n');
	}
	buf_free(&k);
}

void aggs_text(json_t *aggs, json_t *request, bool bars, struct buf *out)
{
	const char *name;
	json_t *v;
	bool first = true;

	json_object_foreach(aggs, name, v) {
		const char *type = agg_type(request, name);
		json_t *buckets = json_object_get(v, "buckets");

		if (!first)
			buf_addc(out, '\n');
		first = false;
		if (buckets) {
			buf_addf(out, "%s%s%s%s\n", name, *type ? " (" : "", type, *type ? ")" : "");
			table(buckets, bars && strcmp(type, "date_histogram") == 0, out);
		} else {
			json_t *val = json_object_get(v, "value");

			buf_addf(out, "%s: ", name);
			add_json(out, val && json_object_size(v) == 1 ? val : v);
			buf_addc(out, '\n');
		}
	}
}
