/*
 * search_topk: the top-K of a split (search_int.h): sort keys read from fast
 * columns, a bounded heap of the best hits over the matching docs, and the
 * total order of hits (sort keys, then split id, then doc).
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "search/search_int.h"
#include "split/split_format.h"
#include "split/termkey.h"

/* ------------------------------------------------------------------ sort keys */

struct sort_col {
	struct split_column *c[MAX_KINDS];
	enum value_kind kind[MAX_KINDS];
	size_t n;
};

static int sort_col_open(struct split_ctx *split, const char *path, struct sort_col *sc_out)
{
	int ids[MAX_KINDS];
	size_t n = split_reader_find_path(split->r, path, ids, MAX_KINDS), i;

	memset(sc_out, 0, sizeof(*sc_out));
	if (n > MAX_KINDS)
		n = MAX_KINDS;
	for (i = 0; i < n; i++) {
		const struct split_field_info *fi = split_reader_field(split->r, (size_t)ids[i]);

		if (!fi->fast || fi->kind == VK_TEXT || fi->kind == VK_IP || fi->kind == VK_BYTES)
			continue;
		sc_out->c[sc_out->n] = split_column_open(split->r, ids[i], split->err);
		if (!sc_out->c[sc_out->n])
			return -1;
		sc_out->kind[sc_out->n++] = fi->kind;
	}
	return 0;
}

static void sort_col_free(struct sort_col *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		split_column_free(s->c[i]);
	s->n = 0;
}

static double key_to_double(enum value_kind kind, uint64_t k)
{
	switch (kind) {
	case VK_I64:
	case VK_DATETIME:
		return (double)termkey_to_i64(k);
	case VK_F64:
		return termkey_to_f64(k);
	default:
		return (double)k;
	}
}

static bool sort_value(const struct sort_col *s, uint32_t doc, double *v)
{
	size_t i;
	uint64_t k;

	for (i = 0; i < s->n; i++)
		if (split_column_first(s->c[i], doc, &k)) {
			*v = key_to_double(s->kind[i], k);
			return true;
		}
	return false;
}

static int keys_cmp(const struct query_run *run, const struct hit *a, const struct hit *b);

/* <0 when a ranks before b: by the sort keys, then split id, then doc. */
int hit_cmp(const struct query_run *run, const struct hit *a, const struct hit *b)
{
	int c = keys_cmp(run, a, b);

	if (c)
		return c;
	if (a->task != b->task) {
		c = strcmp(run->tasks[a->task].split_id, run->tasks[b->task].split_id);
		c = c ? (c < 0 ? -1 : 1) : (a->task < b->task ? -1 : 1);
	} else {
		c = a->doc < b->doc ? -1 : a->doc > b->doc;
	}
	return run->doc_desc ? -c : c;
}

/* The sort keys of a against those of b alone: <0, 0, >0 as hit_cmp. */
static int keys_cmp(const struct query_run *run, const struct hit *a, const struct hit *b)
{
	for (size_t i = 0; i < run->n_sort; i++) {
		if (run->sort[i].by_doc)
			break;
		if (a->has[i] != b->has[i])
			return a->has[i] ? -1 : 1;
		if (a->has[i] && a->k[i] != b->k[i]) {
			bool less = a->k[i] < b->k[i];

			return run->sort[i].desc ? (less ? 1 : -1) : (less ? -1 : 1);
		}
	}
	return 0;
}

/* search_after: h ranks strictly after the request's hit. */
static bool after_point(const struct query_run *run, const struct hit *h)
{
	int c = keys_cmp(run, h, &run->after);

	if (c)
		return c > 0;
	if (!run->after_split)
		return false;
	c = strcmp(run->tasks[h->task].split_id, run->after_split);
	if (c)
		return run->doc_desc ? c < 0 : c > 0;
	return run->doc_desc ? h->doc < run->after_doc : h->doc > run->after_doc;
}

/*
 * True when a ranks strictly after b on the first sort key alone (then it
 * ranks after b whatever the other keys): the top-K loop skips such docs
 * without reading their other keys or touching the heap.
 */
static inline bool worse_first_key(const struct query_run *run, const struct hit *a,
				   const struct hit *b)
{
	if (run->n_sort == 0 || run->sort[0].by_doc)
		return false;
	if (a->has[0] != b->has[0])
		return b->has[0];
	if (!a->has[0] || a->k[0] == b->k[0])
		return false;
	return run->sort[0].desc ? a->k[0] < b->k[0] : a->k[0] > b->k[0];
}

/* Bounded max-heap (worst hit at the root) of the k best hits. */
static void heap_push(const struct query_run *run, struct task *t, const struct hit *h)
{
	size_t i, parent, child;
	struct hit tmp;

	if (run->k == 0)
		return;
	if (t->n_hits == run->k) {
		if (hit_cmp(run, h, &t->hits[0]) >= 0)
			return;
		t->hits[0] = *h;
		i = 0;
		for (;;) {
			size_t worst = i;

			child = 2 * i + 1;
			if (child < t->n_hits && hit_cmp(run, &t->hits[child], &t->hits[worst]) > 0)
				worst = child;
			if (child + 1 < t->n_hits && hit_cmp(run, &t->hits[child + 1], &t->hits[worst]) > 0)
				worst = child + 1;
			if (worst == i)
				break;
			tmp = t->hits[i];
			t->hits[i] = t->hits[worst];
			t->hits[worst] = tmp;
			i = worst;
		}
		return;
	}
	XGROW(t->hits, t->n_hits + 1, t->cap_hits);
	i = t->n_hits++;
	t->hits[i] = *h;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (hit_cmp(run, &t->hits[i], &t->hits[parent]) <= 0)
			break;
		tmp = t->hits[i];
		t->hits[i] = t->hits[parent];
		t->hits[parent] = tmp;
		i = parent;
	}
}

/*
 * The column whose blocks' bounds may skip docs by the first sort key: one
 * column of one value per doc (value i is doc i), in blocks; NULL when the
 * first key is another (score, doc, a path of several kinds).
 */
static const struct split_column *prune_column(const struct query_run *run,
					       const struct sort_col *first)
{
	const struct split_column *c = first->n == 1 ? first->c[0] : NULL;

	if (run->n_sort == 0 || run->sort[0].by_doc || run->sort[0].by_score || !c ||
	    !split_column_single_valued(c) || split_column_num_blocks(c) < 2)
		return NULL;
	return c;
}

/*
 * Whether every doc of doc's column block ranks after the heap's worst hit
 * on the first key (the heap full): then none of them can enter, and *s,
 * *e are the block's docs [s, e) to skip.
 */
static bool block_ranks_after(const struct query_run *run, const struct task *t,
			      const struct split_column *c, enum value_kind kind, uint32_t doc,
			      uint64_t *s, uint64_t *e)
{
	const struct hit *worst = &t->hits[0];
	uint64_t b = doc / COL_VAL_BLOCK, vmin, vmax;

	if (t->n_hits != run->k || !worst->has[0] || b >= split_column_num_blocks(c))
		return false;
	split_column_block(c, b, s, e, &vmin, &vmax);
	if (doc < *s || doc >= *e)
		return false;
	/* strictly: a tie on the first key is decided by the next keys */
	return run->sort[0].desc ? key_to_double(kind, vmax) < worst->k[0]
				 : key_to_double(kind, vmin) > worst->k[0];
}

/* The merge order of all the splits' hits (qsort_r over struct hit). */
int cmp_hits(const void *a, const void *b, void *run)
{
	return hit_cmp(run, a, b);
}

/*
 * Put in split->t's heap the best run->k of the docs in bits, by the run's
 * sort: scores computed and sort columns opened once for the split.
 */
int top_k_collect(struct split_ctx *split, const struct bitset *bits)
{
	struct query_run *run = split->run;
	struct task *t = split->t;
	struct sort_col cols[MAX_SORT];
	float *scores = NULL;
	bool by_doc = run->n_sort == 0 || run->sort[0].by_doc;
	size_t i;
	uint32_t doc;
	int rc = -1;

	memset(cols, 0, sizeof(cols));
	for (i = 0; i < run->n_sort && !by_doc; i++) {
		if (run->sort[i].by_score && !scores) {
			scores = xcalloc(split->num_docs ? split->num_docs : 1, sizeof(*scores));
			if (score_node(split, run->q, scores) < 0)
				goto out;
		}
		if (!run->sort[i].by_doc && !run->sort[i].by_score &&
		    sort_col_open(split, run->sort[i].field, &cols[i]) < 0)
			goto out;
	}
	/*
	 * Any order gives the same top-K (hit_cmp is a total order), but
	 * docs are mostly in time order: when sorting largest first, from
	 * the last doc the heap fills with the best early and most docs
	 * are skipped on their first key.
	 */
	bool rev = by_doc ? run->doc_desc : run->sort[0].desc;
	/* and whole blocks of 128 docs are skipped by the column's bounds */
	const struct split_column *prune = by_doc ? NULL : prune_column(run, &cols[0]);

	for (doc = rev ? bs_prev(bits, UINT32_MAX) : bs_next(bits, 0); doc != UINT32_MAX;
	     doc = rev ? (doc ? bs_prev(bits, doc - 1) : UINT32_MAX) : bs_next(bits, doc + 1)) {
		struct hit h;
		uint64_t bs, be;

		if (prune && block_ranks_after(run, t, prune, cols[0].kind[0], doc, &bs, &be)) {
			/* on to the doc before the block (or after it) */
			doc = rev ? (uint32_t)bs : (uint32_t)(be - 1);
			continue;
		}

		memset(&h, 0, sizeof(h));
		h.task = (uint32_t)(t - run->tasks);
		h.doc = doc;
		for (i = 0; i < run->n_sort && !by_doc; i++) {
			if (run->sort[i].by_doc)
				continue;
			if (run->sort[i].by_score) {
				h.k[i] = scores[doc];
				h.has[i] = true;
			} else {
				h.has[i] = sort_value(&cols[i], doc, &h.k[i]);
			}
			/* the heap is full and this doc ranks after its worst: skip it */
			if (i == 0 && t->n_hits == run->k && worse_first_key(run, &h, &t->hits[0]))
				break;
		}
		if (i < run->n_sort && !by_doc)
			continue;
		if (run->has_after && !after_point(run, &h))
			continue;
		heap_push(run, t, &h);
		if (by_doc && t->n_hits == run->k)
			break;
	}
	rc = 0;
out:
	free(scores);
	for (i = 0; i < MAX_SORT; i++)
		sort_col_free(&cols[i]);
	return rc;
}
