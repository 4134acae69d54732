/* split_merge: see split_merge.h. */
#include "split/split_merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "split/split_encode.h"
#include "split/split_format.h"
#include "split/split_tags.h"
#include "split/termkey.h"

#define NO_DOC UINT32_MAX

struct msrc {
	struct split_reader *r;
	const uint8_t *deleted;
	uint32_t nd;             /* the source's docs */
	uint32_t base;           /* merged id of its first alive doc */
	uint32_t alive;
	uint32_t *map;           /* with deleted docs: doc -> merged id or NO_DOC; else base + doc */
};

static uint32_t remap(const struct msrc *s, uint32_t d)
{
	return s->map ? s->map[d] : s->base + d;
}

struct mfield {
	const char *path;
	enum value_kind kind;
	int *idx;                /* per source: field index, or -1 */
};

static int cmp_mfield(const void *a, const void *b)
{
	const struct mfield *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (int)x->kind - (int)y->kind;
}

/* The merge of one field, state shared by its steps. */
struct mctx {
	const struct index_config *cfg;
	struct msrc *src;
	size_t n;
	uint32_t num_docs;
	struct split_enc *enc;
	struct split_tags *tags;
	/* the current field */
	const struct mfield *f;
	const struct split_field_info *info;
	uint64_t *seen;          /* merged docs with a value, from sources with deleted docs */
	uint64_t *alive_tokens;  /* per source: term frequencies of alive docs */
	/* its column, built before the terms */
	bool has_col, is_dict;
	uint32_t *cdocs;
	uint64_t *cvals;
	size_t cn, ccap;
	const uint8_t **dict;
	size_t *dict_len;
	uint64_t ndict;
	struct split_column **cols;
	uint64_t dict_match;     /* merged terms equal to dict[] so far, in order */
	bool dict_same;
	/* time range */
	bool has_time;
	int64_t tmin, tmax;
	/* one term */
	uint32_t *docs, *tfs;
	size_t docs_cap;
	struct buf pos, term;
};

static void mark_seen(struct mctx *m, size_t k, uint32_t doc)
{
	if (m->src[k].map)
		m->seen[doc >> 6] |= 1ULL << (doc & 63);
}

/* Options of the same (path, kind) must agree in every source. */
static bool same_options(const struct split_field_info *a, const struct split_field_info *b)
{
	bool same = a->tokenizer.kind == b->tokenizer.kind && a->record == b->record &&
		    a->fast_normalizer == b->fast_normalizer && a->stored == b->stored;

	if (same && a->tokenizer.kind == TOK_CUSTOM) {
		json_t *x = config_custom_tokenizer_json(a->tokenizer.custom);
		json_t *y = config_custom_tokenizer_json(b->tokenizer.custom);

		same = json_equal(x, y);
		json_decref(x);
		json_decref(y);
	}
	return same;
}

/* ------------------------------------------------------------ columns */

static void col_add(struct mctx *m, uint32_t doc, uint64_t v)
{
	if (m->cn + 1 > m->ccap) {
		XGROW(m->cdocs, m->cn + 1, m->ccap);
		m->cvals = xreallocarray(m->cvals, m->ccap, sizeof(*m->cvals));
	}
	m->cdocs[m->cn] = doc;
	m->cvals[m->cn++] = v;
}

static int cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al < bl ? -1 : al > bl);
}

/*
 * The union of the sources' column dictionaries (each sorted) into
 * m->dict, and per source the map of its ordinals (ords[k]).
 */
static int merge_dicts(struct mctx *m, uint64_t **ords, struct qw_err *err)
{
	uint64_t *at = xcalloc(m->n, sizeof(*at)), *sz = xcalloc(m->n, sizeof(*sz)), cap = 0;
	const uint8_t **cur = xcalloc(m->n, sizeof(*cur));
	size_t *clen = xcalloc(m->n, sizeof(*clen));
	int ret = -1;

	m->ndict = 0;
	for (size_t k = 0; k < m->n; k++) {
		if (!m->cols[k])
			continue;
		sz[k] = split_column_dict_size(m->cols[k]);
		ords[k] = xreallocarray(NULL, sz[k] ? sz[k] : 1, sizeof(**ords));
		if (sz[k] && split_column_dict_term(m->cols[k], 0, &cur[k], &clen[k]) < 0)
			goto bad;
	}
	for (;;) {
		const uint8_t *best = NULL;
		size_t blen = 0;

		for (size_t k = 0; k < m->n; k++)
			if (at[k] < sz[k] && (!best || cmp_bytes(cur[k], clen[k], best, blen) < 0)) {
				best = cur[k];
				blen = clen[k];
			}
		if (!best)
			break;
		if (m->ndict + 1 > cap) {
			XGROW(m->dict, m->ndict + 1, cap);
			m->dict_len = xreallocarray(m->dict_len, cap, sizeof(*m->dict_len));
		}
		m->dict[m->ndict] = best;
		m->dict_len[m->ndict] = blen;
		for (size_t k = 0; k < m->n; k++) {
			/* best points into one of the columns, which stay open: it stays valid */
			if (at[k] >= sz[k] || clen[k] != blen || memcmp(cur[k], best, blen) != 0)
				continue;
			ords[k][at[k]++] = m->ndict;
			if (at[k] < sz[k] &&
			    split_column_dict_term(m->cols[k], at[k], &cur[k], &clen[k]) < 0)
				goto bad;
		}
		m->ndict++;
	}
	ret = 0;
	goto out;
bad:
	err_set(err, EX_DATAERR, "bad column dictionary of field '%s'", m->f->path);
out:
	free(clen);
	free(cur);
	free(sz);
	free(at);
	return ret;
}

/* Ordinals of no alive doc go: the dictionary keeps the used values only. */
static void compact_dict(struct mctx *m)
{
	uint64_t *nw = xcalloc(m->ndict ? m->ndict : 1, sizeof(*nw)), k = 0;

	for (size_t i = 0; i < m->cn; i++)
		nw[m->cvals[i]] = 1;
	for (uint64_t i = 0; i < m->ndict; i++) {
		if (!nw[i])
			continue;
		m->dict[k] = m->dict[i];
		m->dict_len[k] = m->dict_len[i];
		nw[i] = k++;
	}
	for (size_t i = 0; i < m->cn; i++)
		m->cvals[i] = nw[m->cvals[i]];
	m->ndict = k;
	free(nw);
}

/* The merged column of the field in memory (m->cdocs, m->cvals, m->dict). */
static int build_column(struct mctx *m, struct qw_err *err)
{
	uint64_t **ords = xcalloc(m->n, sizeof(*ords));
	bool is_ts = m->cfg->timestamp_field && m->f->kind == VK_DATETIME &&
		     strcmp(m->cfg->timestamp_field, m->f->path) == 0;
	int ret = -1;

	m->is_dict = m->f->kind == VK_TEXT || m->f->kind == VK_IP || m->f->kind == VK_BYTES;
	for (size_t k = 0; k < m->n; k++) {
		int fi = m->f->idx[k];

		if (fi < 0 || !split_reader_field(m->src[k].r, (size_t)fi)->fast)
			continue;
		m->cols[k] = split_column_open(m->src[k].r, fi, err);
		if (!m->cols[k])
			goto out;
		m->has_col = true;
	}
	if (!m->has_col) {
		ret = 0;
		goto out;
	}
	if (m->is_dict && merge_dicts(m, ords, err) < 0)
		goto out;
	for (size_t k = 0; k < m->n; k++) {
		struct split_column *c = m->cols[k];
		const struct msrc *s = &m->src[k];

		if (!c)
			continue;
		for (uint32_t d = 0; d < s->nd; d++) {
			uint64_t a, e;
			uint32_t nd = remap(s, d);

			if (nd == NO_DOC)
				continue;
			split_column_doc_range(c, d, &a, &e);
			if (a == e)
				continue;
			mark_seen(m, k, nd);
			for (uint64_t i = a; i < e; i++) {
				uint64_t v = split_column_value(c, i);

				if (m->is_dict) {
					if (v >= split_column_dict_size(c)) {
						err_set(err, EX_DATAERR, "bad ordinal in column '%s'",
							m->f->path);
						goto out;
					}
					v = ords[k][v];
				} else if (is_ts) {
					int64_t t = termkey_to_i64(v);

					if (!m->has_time || t < m->tmin)
						m->tmin = t;
					if (!m->has_time || t > m->tmax)
						m->tmax = t;
					m->has_time = true;
				}
				col_add(m, nd, v);
			}
		}
	}
	if (m->is_dict)
		compact_dict(m);
	ret = 0;
out:
	for (size_t k = 0; k < m->n; k++)
		free(ords[k]);
	free(ords);
	return ret;
}

static int write_column(struct mctx *m, struct qw_err *err)
{
	struct split_enc_column c;

	memset(&c, 0, sizeof(c));
	c.num_docs = m->num_docs;
	c.docs = m->cdocs;
	c.vals = m->cvals;
	c.n = m->cn;
	c.is_dict = m->is_dict;
	c.dict_is_terms = m->is_dict && m->dict_same && m->dict_match == m->ndict && m->ndict > 0;
	c.dict = m->dict;
	c.dict_len = m->dict_len;
	c.ndict = m->ndict;
	c.raw = m->cfg->timestamp_field && m->f->kind == VK_DATETIME &&
		strcmp(m->cfg->timestamp_field, m->f->path) == 0;
	return split_enc_column(m->enc, &c, err);
}

/* ------------------------------------------------------------ terms */

/* Append source k's postings of one term (alive docs, remapped) to m->docs/tfs/pos. */
static int add_postings(struct mctx *m, size_t k, const struct split_term_info *ti,
			uint32_t *df, uint64_t *total_tf, struct qw_err *err)
{
	bool positions = m->info->record == RECORD_POSITION;
	struct split_postings *p = split_postings_open(m->src[k].r, ti, positions, err);
	uint32_t doc;
	int ret = -1;

	if (!p)
		return -1;
	if (*df + (size_t)ti->doc_freq > m->docs_cap) {
		m->docs_cap = *df + (size_t)ti->doc_freq;
		m->docs = xreallocarray(m->docs, m->docs_cap, sizeof(*m->docs));
		m->tfs = xreallocarray(m->tfs, m->docs_cap, sizeof(*m->tfs));
	}
	for (;;) {
		uint32_t nd, tf;

		if (split_postings_next(p, &doc, err) < 0)
			goto out;
		if (doc == SPLIT_DOC_END)
			break;
		if (doc >= m->src[k].nd) {
			err_set(err, EX_DATAERR, "a posting of field '%s' past the split's docs",
				m->f->path);
			goto out;
		}
		nd = remap(&m->src[k], doc);
		if (nd == NO_DOC)
			continue;
		if (*df >= m->docs_cap) {
			err_set(err, EX_DATAERR, "field '%s': more postings than the doc frequency",
				m->f->path);
			goto out;
		}
		tf = split_postings_freq(p);
		m->docs[*df] = nd;
		m->tfs[*df] = tf;
		(*df)++;
		*total_tf += tf;
		m->alive_tokens[k] += tf;
		mark_seen(m, k, nd);
		if (positions) {
			const uint32_t *pos;
			uint32_t np, prev = 0;

			if (split_postings_positions(p, &pos, &np, err) < 0)
				goto out;
			for (uint32_t i = 0; i < np; i++) {
				buf_add_varint(&m->pos, pos[i] - prev);
				prev = pos[i];
			}
		}
	}
	ret = 0;
out:
	split_postings_free(p);
	return ret;
}

/* The k-way merge of the field's dictionaries; *nterms: terms written. */
static int merge_terms(struct mctx *m, uint64_t *nterms, struct qw_err *err)
{
	struct split_terms **it = xcalloc(m->n, sizeof(*it));
	const uint8_t **cur = xcalloc(m->n, sizeof(*cur));
	size_t *clen = xcalloc(m->n, sizeof(*clen));
	struct split_term_info *ti = xcalloc(m->n, sizeof(*ti));
	bool *live = xcalloc(m->n, sizeof(*live));
	int ret = -1, rc;

	*nterms = 0;
	m->dict_match = 0;
	m->dict_same = true;
	for (size_t k = 0; k < m->n; k++) {
		int fi = m->f->idx[k];

		if (fi < 0 || !split_reader_field(m->src[k].r, (size_t)fi)->indexed)
			continue;
		it[k] = split_terms_open(m->src[k].r, fi, NULL, 0, err);
		if (!it[k])
			goto out;
		rc = split_terms_next(it[k], &cur[k], &clen[k], &ti[k], err);
		if (rc < 0)
			goto out;
		live[k] = rc == 1;
	}
	split_enc_terms_begin(m->enc);
	for (;;) {
		const uint8_t *best = NULL;
		size_t blen = 0;
		uint32_t df = 0;
		uint64_t total_tf = 0;
		struct buf *term = &m->term;

		for (size_t k = 0; k < m->n; k++)
			if (live[k] && (!best || cmp_bytes(cur[k], clen[k], best, blen) < 0)) {
				best = cur[k];
				blen = clen[k];
			}
		if (!best)
			break;
		/* the term's bytes stay valid only until its iterator moves */
		buf_reset(term);
		buf_add(term, best, blen);
		buf_reset(&m->pos);
		for (size_t k = 0; k < m->n; k++) {
			if (!live[k] || clen[k] != blen || memcmp(cur[k], term->data, blen) != 0)
				continue;
			if (add_postings(m, k, &ti[k], &df, &total_tf, err) < 0)
				goto out;
			rc = split_terms_next(it[k], &cur[k], &clen[k], &ti[k], err);
			if (rc < 0)
				goto out;
			live[k] = rc == 1;
		}
		if (df > 0) {
			const uint8_t *tb = (const uint8_t *)(term->data ? term->data : "");

			if (m->is_dict && m->dict_same) {
				if (m->dict_match < m->ndict &&
				    cmp_bytes(m->dict[m->dict_match], m->dict_len[m->dict_match], tb,
					      blen) == 0)
					m->dict_match++;
				else
					m->dict_same = false;
			}
			split_tags_add_term(m->tags, m->f->path, m->f->kind, tb, blen);
			rc = split_enc_term(m->enc, tb, blen, df, total_tf, m->docs, m->tfs,
					    (const uint8_t *)m->pos.data, m->pos.len, err);
			if (rc < 0)
				goto out;
			(*nterms)++;
		}
	}
	ret = split_enc_terms_end(m->enc, err);
out:
	for (size_t k = m->n; k-- > 0;)
		split_terms_free(it[k]);
	free(live);
	free(ti);
	free(clen);
	free(cur);
	free(it);
	return ret;
}

/* Total tokens and field norms of a text field (after merge_terms). */
static int merge_norms(struct mctx *m, struct qw_err *err)
{
	uint8_t *ids = NULL;
	uint64_t total = 0;
	int ret = -1;

	for (size_t k = 0; k < m->n; k++) {
		int fi = m->f->idx[k];
		const uint8_t *sid;
		uint64_t tt;
		const struct msrc *s = &m->src[k];

		if (fi < 0 || !split_reader_field(s->r, (size_t)fi)->indexed)
			continue;
		if (split_reader_field_norms(s->r, fi, &sid, &tt, err) < 0)
			goto out;
		total += s->map ? m->alive_tokens[k] : tt;
		if (!sid)
			continue;
		if (!ids)
			ids = xcalloc((size_t)m->num_docs + 1, 1);
		for (uint32_t d = 0; d < s->nd; d++) {
			uint32_t nd = remap(s, d);

			if (nd != NO_DOC)
				ids[nd] = sid[d];
		}
	}
	ret = split_enc_norms(m->enc, total, ids, m->num_docs, err);
out:
	free(ids);
	return ret;
}

/* Docs with a value: the sources' counts, or the docs seen for sources with deleted docs. */
static uint64_t docs_with_value(const struct mctx *m)
{
	uint64_t total = 0;

	for (size_t k = 0; k < m->n; k++) {
		const struct msrc *s = &m->src[k];
		int fi = m->f->idx[k];

		if (fi < 0)
			continue;
		if (!s->map) {
			total += split_reader_field(s->r, (size_t)fi)->num_docs_with_value;
			continue;
		}
		for (uint32_t d = s->base; d < s->base + s->alive; d++)
			if (m->seen[d >> 6] >> (d & 63) & 1)
				total++;
	}
	return total;
}

static void field_reset(struct mctx *m)
{
	for (size_t k = 0; k < m->n; k++) {
		split_column_free(m->cols[k]);
		m->cols[k] = NULL;
		m->alive_tokens[k] = 0;
	}
	m->has_col = false;
	m->cn = 0;
	m->ndict = 0;
	memset(m->seen, 0, ((size_t)m->num_docs / 64 + 1) * sizeof(*m->seen));
}

static int merge_field(struct mctx *m, const struct mfield *f, struct qw_err *err)
{
	struct split_enc_field ef;
	uint64_t nterms = 0;
	bool indexed = false;

	m->f = f;
	m->info = NULL;
	for (size_t k = 0; k < m->n; k++) {
		const struct split_field_info *fi;

		if (f->idx[k] < 0)
			continue;
		fi = split_reader_field(m->src[k].r, (size_t)f->idx[k]);
		if (!m->info)
			m->info = fi;
		indexed = indexed || fi->indexed;
	}
	field_reset(m);
	ef.path = f->path;
	ef.path_len = strlen(f->path);
	ef.kind = f->kind;
	ef.stored = m->info->stored;
	ef.tok = m->info->tokenizer;
	ef.rec = m->info->record;
	ef.fnorm = m->info->fast_normalizer;
	split_enc_field_begin(m->enc, &ef);
	if (build_column(m, err) < 0)
		return -1;
	if (indexed) {
		if (merge_terms(m, &nterms, err) < 0)
			return -1;
		if (f->kind == VK_TEXT && merge_norms(m, err) < 0)
			return -1;
	}
	if (m->has_col && m->cn > 0 && write_column(m, err) < 0)
		return -1;
	split_enc_field_end(m->enc, nterms, docs_with_value(m));
	return 0;
}

/* ------------------------------------------------------------ doc store */

static int merge_docstore(struct mctx *m, struct split_merge_stats *st, struct qw_err *err)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct msrc *s = &m->src[k];
		/* an older format's blocks hold docs in another layout */
		bool old_format = split_reader_format_version(s->r) != SPLIT_VERSION;
		size_t nb;

		if (split_reader_ds_blocks(s->r, &nb, err) < 0)
			return -1;
		for (size_t b = 0; b < nb; b++) {
			struct split_ds_block blk;
			bool drop = old_format;
			uint8_t *comp = NULL;
			int rc;

			if (split_reader_ds_block(s->r, b, &blk, NULL, err) < 0)
				return -1;
			for (uint32_t d = blk.first_doc; s->deleted && d < blk.first_doc + blk.num_docs; d++)
				drop = drop || s->deleted[d];
			if (!drop) {
				/* no doc dropped, same format: the block as it is stored */
				if (split_reader_ds_block(s->r, b, &blk, &comp, err) < 0)
					return -1;
				rc = split_enc_ds_block(m->enc, blk.num_docs, blk.raw_len, comp, blk.len,
							blk.crc, err);
				free(comp);
				if (rc < 0)
					return -1;
				st->blocks_copied++;
				continue;
			}
			for (uint32_t d = blk.first_doc; d < blk.first_doc + blk.num_docs; d++) {
				const char *json;
				size_t len;

				if (split_reader_doc(s->r, d, &json, &len, err) < 0)
					return -1;
				if (s->deleted && s->deleted[d]) {
					st->uncompressed -= st->uncompressed >= len ? len : st->uncompressed;
					continue;
				}
				if (split_enc_ds_doc(m->enc, json, len, err) < 0)
					return -1;
			}
			st->blocks_rewritten++;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ merge */

/* The union of the sources' fields, sorted; 1 when their options differ (err says which). */
static int field_union(const struct msrc *src, size_t n, struct mfield **out, size_t *nout,
		       struct qw_err *err)
{
	struct mfield *v = NULL;
	size_t nv = 0, cap = 0, w = 0;

	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < split_reader_num_fields(src[k].r); i++) {
			const struct split_field_info *fi = split_reader_field(src[k].r, i);

			XGROW(v, nv + 1, cap);
			v[nv].path = fi->path;
			v[nv].kind = fi->kind;
			v[nv].idx = NULL;
			nv++;
		}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_mfield);
	for (size_t i = 0; i < nv; i++)
		if (w == 0 || cmp_mfield(&v[w - 1], &v[i]) != 0)
			v[w++] = v[i];
	*out = v;
	*nout = w;
	for (size_t i = 0; i < w; i++) {
		const struct split_field_info *first = NULL;

		v[i].idx = xcalloc(n, sizeof(*v[i].idx));
		for (size_t k = 0; k < n; k++) {
			const struct split_field_info *fi;

			v[i].idx[k] = split_reader_find_field(src[k].r, v[i].path, v[i].kind);
			if (v[i].idx[k] < 0)
				continue;
			fi = split_reader_field(src[k].r, (size_t)v[i].idx[k]);
			if (!first) {
				first = fi;
			} else if (!same_options(first, fi)) {
				err_set(err, 0, "field '%s' has different options in the sources",
					v[i].path);
				return 1;
			}
		}
	}
	return 0;
}

static uint64_t meta_u64(json_t *meta, const char *key)
{
	json_t *v = json_object_get(meta, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

int split_merge(const struct index_config *cfg, const struct split_merge_src *in, size_t n,
		const char *dir, struct split_merge_stats *st, struct qw_err *err)
{
	struct mctx m;
	struct mfield *fields = NULL;
	size_t nfields = 0;
	uint64_t total = 0;
	json_t *meta = NULL;
	int ret = -1, rc;

	memset(&m, 0, sizeof(m));
	memset(st, 0, sizeof(*st));
	m.cfg = cfg;
	m.n = n;
	m.src = xcalloc(n ? n : 1, sizeof(*m.src));
	for (size_t k = 0; k < n; k++) {
		struct msrc *s = &m.src[k];

		s->r = in[k].r;
		s->deleted = in[k].deleted;
		s->nd = split_reader_num_docs(s->r);
		s->base = (uint32_t)total;
		s->alive = s->nd;
		if (s->deleted) {
			uint32_t a = 0;

			s->map = xreallocarray(NULL, s->nd ? s->nd : 1, sizeof(*s->map));
			for (uint32_t d = 0; d < s->nd; d++)
				s->map[d] = s->deleted[d] ? NO_DOC : s->base + a++;
			s->alive = a;
		}
		total += s->alive;
		if (total >= NO_DOC) {
			err_set(err, EX_DATAERR, "a merge of %zu splits would hold more than %u documents",
				n, NO_DOC - 1);
			goto out;
		}
		st->uncompressed += meta_u64(split_reader_metadata(s->r),
					     "uncompressed_docs_size_in_bytes");
	}
	m.num_docs = (uint32_t)total;
	rc = field_union(m.src, n, &fields, &nfields, err);
	if (rc != 0) {
		ret = rc;
		goto out;
	}
	m.enc = split_enc_open(dir, cfg, NULL, err);
	if (!m.enc)
		goto out;
	m.tags = split_tags_new(cfg);
	m.seen = xcalloc((size_t)m.num_docs / 64 + 1, sizeof(*m.seen));
	m.alive_tokens = xcalloc(n ? n : 1, sizeof(*m.alive_tokens));
	m.cols = xcalloc(n ? n : 1, sizeof(*m.cols));
	for (size_t i = 0; i < nfields; i++)
		if (merge_field(&m, &fields[i], err) < 0) {
			err_prefix(err, "field '%s'", fields[i].path);
			goto out;
		}
	field_reset(&m);
	if (merge_docstore(&m, st, err) < 0)
		goto out;
	if (!m.has_time) {
		/* no timestamp column: the sources' ranges */
		for (size_t k = 0; k < n; k++) {
			int64_t a, b;

			if (m.src[k].alive == 0 || !split_reader_time_range(m.src[k].r, &a, &b))
				continue;
			if (!m.has_time || a < m.tmin)
				m.tmin = a;
			if (!m.has_time || b > m.tmax)
				m.tmax = b;
			m.has_time = true;
		}
	}
	meta = json_object();
	json_object_set_new(meta, "tags", split_tags_json(m.tags));
	split_enc_meta(meta, m.num_docs, st->uncompressed, m.has_time, m.tmin, m.tmax);
	if (split_enc_finish(m.enc, m.num_docs, nfields, meta, err) < 0)
		goto out;
	st->num_docs = m.num_docs;
	ret = 0;
out:
	json_decref(meta);
	if (m.cols)
		field_reset(&m);
	free(m.cols);
	free(m.alive_tokens);
	free(m.seen);
	split_tags_free(m.tags);
	split_enc_free(m.enc);
	free(m.docs);
	free(m.tfs);
	buf_free(&m.pos);
	buf_free(&m.term);
	free(m.dict);
	free(m.dict_len);
	free(m.cdocs);
	free(m.cvals);
	for (size_t i = 0; i < nfields; i++)
		free(fields[i].idx);
	free(fields);
	for (size_t k = 0; k < n; k++)
		free(m.src[k].map);
	free(m.src);
	return ret;
}
