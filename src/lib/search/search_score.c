/*
 * search_score: BM25 _score of a split's docs for a query (search_int.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "search/search_int.h"
#include "split/split_format.h"

/* ------------------------------------------------------------------ scoring */

/*
 * _score as tantivy computes it (per split, as Quickwit's leaf search does):
 * a term on a text field scores BM25 with k1 = 1.2, b = 0.75,
 * idf = ln(1 + (N - n + 0.5) / (n + 0.5)) (N docs of the split, n of them
 * with the term), weight = idf * (1 + k1),
 * score = weight * tf / (tf + k1 * (1 - b + b * dl / avgdl)), dl the doc's
 * field norm (1 when the split keeps none for the field), avgdl the field's
 * tokens / N; in single precision. Several tokens (a phrase) score like one
 * term with the sum of their idf and tf 1. AND and OR add their clauses'
 * scores, NOT adds nothing; any other clause (range, prefix, set, exists,
 * a term on a non-text field, *) adds 1 to the docs it matches.
 */
#define BM25_K1 1.2f
#define BM25_B 0.75f

struct bm25 {
	float weight;
	float cache[256];
	const uint8_t *norms;
};

static int bm25_init(struct split_ctx *split, int field, float idf, struct bm25 *w)
{
	uint64_t total;
	float avg;

	if (split_reader_field_norms(split->r, field, &w->norms, &total, split->err) < 0)
		return -1;
	avg = split->num_docs ? (float)total / (float)split->num_docs : 0.0f;
	w->weight = idf * (1.0f + BM25_K1);
	for (int id = 0; id < 256; id++)
		w->cache[id] = BM25_K1 * (1.0f - BM25_B +
					  BM25_B * (float)fieldnorm_decode((uint8_t)id) / avg);
	return 0;
}

static float bm25_idf(uint64_t n, uint64_t N)
{
	float x = ((float)(N - (n < N ? n : N)) + 0.5f) / ((float)n + 0.5f);

	return logf(1.0f + x);
}

static float bm25_doc(const struct bm25 *w, uint32_t doc, uint32_t tf)
{
	uint8_t id = w->norms ? w->norms[doc] : 1;

	return w->weight * (float)tf / ((float)tf + w->cache[id]);
}

/* Add 1 to the docs a clause matches. */
static int score_const(struct split_ctx *split, const struct query_node *n, float *scores)
{
	struct bitset tmp;
	uint32_t doc;
	int rc;

	bs_init(&tmp, split->num_docs);
	rc = eval(split, n, &tmp);
	for (doc = bs_next(&tmp, 0); rc == 0 && doc != UINT32_MAX; doc = bs_next(&tmp, doc + 1))
		scores[doc] += 1.0f;
	bs_free(&tmp);
	return rc;
}

/* A term or phrase on one indexed text field of the split. */
static int score_text(struct split_ctx *split, int field, const struct query_node *n, float *scores)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	struct toks tk;
	struct split_term_info ti;
	struct bm25 w;
	struct bitset tmp;
	float idf = 0.0f;
	uint32_t doc;
	size_t i;
	int rc = 0, found;

	memset(&tk, 0, sizeof(tk));
	tokenize(&split->ts, fi->tokenizer, n->text, strlen(n->text), tok_emit, &tk);
	if (tk.n == 1) {
		struct split_postings *p;

		found = split_reader_term_lookup(split->r, field, tk.t[0], tk.tl[0], &ti, split->err);
		if (found <= 0) {
			rc = found;
			goto out;
		}
		if (bm25_init(split, field, bm25_idf(ti.doc_freq, split->num_docs), &w) < 0) {
			rc = -1;
			goto out;
		}
		p = split_postings_open(split->r, &ti, false, split->err);
		if (!p) {
			rc = -1;
			goto out;
		}
		while ((rc = split_postings_next(p, &doc, split->err)) == 0 && doc != SPLIT_DOC_END)
			scores[doc] += bm25_doc(&w, doc, split_postings_freq(p));
		split_postings_free(p);
		goto out;
	}
	for (i = 0; i < tk.n; i++) {
		found = split_reader_term_lookup(split->r, field, tk.t[i], tk.tl[i], &ti, split->err);
		if (found <= 0) {
			rc = found;
			goto out;
		}
		idf += bm25_idf(ti.doc_freq, split->num_docs);
	}
	if (tk.n == 0 || bm25_init(split, field, idf, &w) < 0) {
		rc = tk.n == 0 ? 0 : -1;
		goto out;
	}
	bs_init(&tmp, split->num_docs);
	rc = match_text(split, field, n->text, n->kind == QN_PHRASE, n->slop, &tmp);
	for (doc = bs_next(&tmp, 0); rc == 0 && doc != UINT32_MAX; doc = bs_next(&tmp, doc + 1))
		scores[doc] += bm25_doc(&w, doc, 1);
	bs_free(&tmp);
out:
	toks_free(&tk);
	return rc < 0 ? -1 : 0;
}

static int score_path(struct split_ctx *split, const struct query_node *n, const char *path,
		      float *scores)
{
	int ids[64];
	size_t nf = split_reader_find_path(split->r, path, ids, 64), i;

	if (nf > 64)
		nf = 64;

	for (i = 0; i < nf; i++) {
		const struct split_field_info *fi = split_reader_field(split->r, (size_t)ids[i]);
		struct bitset a;
		uint32_t doc;
		int rc;

		if (fi->kind == VK_TEXT && fi->indexed) {
			if (score_text(split, ids[i], n, scores) < 0)
				return -1;
			continue;
		}
		/* the other kinds of the path (numbers, fast-only text...): constant */
		bs_init(&a, split->num_docs);
		rc = match_value(split, ids[i], path, n->text, n->kind == QN_PHRASE, n->slop, &a);
		for (doc = bs_next(&a, 0); rc == 0 && doc != UINT32_MAX; doc = bs_next(&a, doc + 1))
			scores[doc] += 1.0f;
		bs_free(&a);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int score_node(struct split_ctx *split, const struct query_node *n, float *scores)
{
	size_t i;

	if (n->boost != 1) {
		/* clause^N: its own scores, scaled, added to the others' */
		float *own = xcalloc(split->num_docs ? split->num_docs : 1, sizeof(*own));
		struct query_node plain = *n;
		int rc;

		plain.boost = 1;
		rc = score_node(split, &plain, own);
		for (i = 0; rc == 0 && i < split->num_docs; i++)
			scores[i] += n->boost * own[i];
		free(own);
		return rc;
	}
	switch (n->kind) {
	case QN_AND:
	case QN_OR:
		for (i = 0; i < n->n_kids; i++)
			if (n->kids[i]->kind != QN_NOT && score_node(split, n->kids[i], scores) < 0)
				return -1;
		return 0;
	case QN_NOT:
		return 0;
	case QN_TERM:
	case QN_PHRASE:
		if (n->field)
			return score_path(split, n, n->field, scores);
		for (i = 0; i < split->t->ix->n_search_fields; i++)
			if (score_path(split, n, split->t->ix->search_fields[i], scores) < 0)
				return -1;
		return 0;
	default:
		return score_const(split, n, scores);
	}
}
