/*
 * search_aggsrc: aggregations over one split (search_int.h): the agg_source
 * of aggs.h read from the split's fast columns, fed the matching docs.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "search/search_int.h"
#include "split/termkey.h"

/* ------------------------------------------------------------------ agg source */

struct agg_bind {
	struct split_column *c[MAX_KINDS];
	enum value_kind kind[MAX_KINDS];
	int dict[MAX_KINDS];
	size_t n;
};

struct agg_src_ctx {
	struct split_ctx *split;
	struct agg_bind *binds;
	size_t n_binds;
	struct split_column **dicts;   /* dict id -> column */
	enum value_kind *dict_kind;
	size_t n_dicts;
	char ipbuf[64];
	bool failed;
};

static int asrc_bind(void *ctx, const char *path)
{
	struct agg_src_ctx *a = ctx;
	int ids[MAX_KINDS];
	size_t n = split_reader_find_path(a->split->r, path, ids, MAX_KINDS), i;
	struct agg_bind *b;

	if (n > MAX_KINDS)
		n = MAX_KINDS;
	a->binds = xreallocarray(a->binds, a->n_binds + 1, sizeof(*a->binds));
	b = &a->binds[a->n_binds];
	memset(b, 0, sizeof(*b));
	for (i = 0; i < n; i++) {
		const struct split_field_info *fi = split_reader_field(a->split->r, (size_t)ids[i]);
		struct split_column *c;

		if (!fi->fast)
			continue;
		c = split_column_open(a->split->r, ids[i], a->split->err);
		if (!c) {
			a->failed = true;
			continue;
		}
		b->c[b->n] = c;
		b->kind[b->n] = fi->kind;
		b->dict[b->n] = -1;
		if (split_column_is_dict(c)) {
			a->dicts = xreallocarray(a->dicts, a->n_dicts + 1, sizeof(*a->dicts));
			a->dict_kind = xreallocarray(a->dict_kind, a->n_dicts + 1, sizeof(*a->dict_kind));
			a->dicts[a->n_dicts] = c;
			a->dict_kind[a->n_dicts] = fi->kind;
			b->dict[b->n] = (int)a->n_dicts++;
		}
		b->n++;
	}
	if (b->n == 0)
		return -1;
	return (int)a->n_binds++;
}

/* A column key of a field kind as an aggregation value. */
static void agg_value_of(struct agg_value *v, enum value_kind kind, int dict, uint64_t k)
{
	v->s = NULL;
	v->len = 0;
	v->dict = -1;
	v->v.u = 0;
	switch (kind) {
	case VK_TEXT:
	case VK_IP:
	case VK_BYTES:
		v->kind = AV_STR;
		v->dict = dict;
		v->ord = k;
		break;
	case VK_I64:
		v->kind = AV_I64;
		v->v.i = termkey_to_i64(k);
		break;
	case VK_U64:
		v->kind = AV_U64;
		v->v.u = k;
		break;
	case VK_F64:
		v->kind = AV_F64;
		v->v.f = termkey_to_f64(k);
		break;
	case VK_DATETIME:
		v->kind = AV_DATETIME;
		v->v.i = termkey_to_i64(k);
		break;
	case VK_BOOL:
		v->kind = AV_BOOL;
		v->v.u = k;
		break;
	}
}

static size_t asrc_values(void *ctx, int handle, uint32_t doc, struct agg_value *out, size_t max)
{
	struct agg_src_ctx *a = ctx;
	struct agg_bind *b = &a->binds[handle];
	size_t n = 0, i;
	uint64_t s, e;

	for (i = 0; i < b->n; i++) {
		split_column_doc_range(b->c[i], doc, &s, &e);
		for (; s < e; s++, n++)
			if (n < max)
				agg_value_of(&out[n], b->kind[i], b->dict[i], split_column_value(b->c[i], s));
	}
	return n;
}

/* One column with one value per doc: value i is doc i's, read in bulk. */
static bool asrc_values_one(void *ctx, int handle, const uint32_t *docs, size_t n,
			    struct agg_value *out)
{
	struct agg_src_ctx *a = ctx;
	struct agg_bind *b = &a->binds[handle];
	uint64_t keys[AGGS_BATCH];
	size_t i;

	if (b->n != 1 || !split_column_single_valued(b->c[0]) || n == 0 || n > AGGS_BATCH)
		return false;
	if (docs[n - 1] - docs[0] == n - 1) {
		split_column_values(b->c[0], docs[0], n, keys);
	} else {
		for (i = 0; i < n; i++)
			keys[i] = split_column_value(b->c[0], docs[i]);
	}
	for (i = 0; i < n; i++)
		agg_value_of(&out[i], b->kind[0], b->dict[0], keys[i]);
	return true;
}

static int asrc_dict_term(void *ctx, int dict, uint64_t ord, const char **s, size_t *len)
{
	struct agg_src_ctx *a = ctx;
	const uint8_t *t;

	if (dict < 0 || (size_t)dict >= a->n_dicts)
		return -1;
	if (split_column_dict_term(a->dicts[dict], ord, &t, len) < 0)
		return -1;
	*s = (const char *)t;
	if (a->dict_kind[dict] == VK_IP && *len == 16) {
		static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(t, v4, 12) == 0)
			inet_ntop(AF_INET, t + 12, a->ipbuf, sizeof(a->ipbuf));
		else
			inet_ntop(AF_INET6, t, a->ipbuf, sizeof(a->ipbuf));
		*s = a->ipbuf;
		*len = strlen(a->ipbuf);
	}
	return 0;
}

static void asrc_free(struct agg_src_ctx *a)
{
	size_t i, j;

	for (i = 0; i < a->n_binds; i++)
		for (j = 0; j < a->binds[i].n; j++)
			split_column_free(a->binds[i].c[j]);
	free(a->binds);
	free(a->dicts);
	free(a->dict_kind);
}

/* Collect into split->t->aggs the run's aggregations over the docs in bits. */
int aggs_collect_split(struct split_ctx *split, const struct bitset *bits)
{
	struct task *t = split->t;
	struct agg_src_ctx actx;
	struct agg_source asrc;
	uint32_t batch[AGGS_BATCH];
	size_t nb = 0;
	uint32_t doc;
	int rc;

	memset(&actx, 0, sizeof(actx));
	actx.split = split;
	asrc.ctx = &actx;
	asrc.bind = asrc_bind;
	asrc.values = asrc_values;
	asrc.values_one = asrc_values_one;
	asrc.dict_term = asrc_dict_term;
	t->aggs = aggs_collect_begin(split->run->aggs, &asrc);
	for (doc = bs_next(bits, 0); doc != UINT32_MAX; doc = bs_next(bits, doc + 1)) {
		batch[nb++] = doc;
		if (nb == AGGS_BATCH) {
			aggs_collect_docs(t->aggs, batch, nb);
			nb = 0;
		}
	}
	if (nb)
		aggs_collect_docs(t->aggs, batch, nb);
	aggs_collect_end(t->aggs);
	rc = actx.failed ? -1 : 0;
	asrc_free(&actx);
	return rc;
}
