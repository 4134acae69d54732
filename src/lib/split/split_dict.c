/*
 * split_dict: a field's term dictionary ("terms" section: blocks of terms,
 * then their index) and its hotcache entry, encoder and decoder side by
 * side (qw-split(5)). A term's postings are split_postings.c's.
 */
#include "split/split_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/checksum.h"
#include "base/xalloc.h"
#include "split/termkey.h"

/* ------------------------------------------------------------ encoding */

static size_t shared_prefix(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl, i = 0;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static int write_dict_block(struct split_enc *s, uint32_t nterms, uint64_t post_off,
			    uint64_t pos_off, const uint8_t *first, size_t first_len,
			    struct qw_err *err)
{
	struct sfile *tf = &s->sec[SEC_TERMS];
	uint64_t raw;
	size_t blen;
	const void *bp = split_enc_maybe_compress(s, s->blk.data, s->blk.len, &blen, &raw);

	buf_add_varint(&s->idx, first_len);
	buf_add(&s->idx, first, first_len);
	buf_add_varint(&s->idx, blen);
	buf_add_varint(&s->idx, raw);
	buf_add_u32le(&s->idx, checksum_crc32c(0, bp, blen));
	buf_add_varint(&s->idx, post_off);
	buf_add_varint(&s->idx, pos_off);
	buf_add_varint(&s->idx, nterms);
	if (split_sfile_add(tf, bp, blen, err) < 0)
		return -1;
	buf_reset(&s->blk);
	return 0;
}

void split_enc_terms_begin(struct split_enc *e)
{
	struct sfile *tf = &e->sec[SEC_TERMS];

	split_plists_free(&e->pl);
	memset(&e->pl, 0, sizeof(e->pl));
	buf_reset(&e->idx);
	buf_reset(&e->prev);
	buf_reset(&e->blk);
	e->dict_off = tf->off;
	e->post_base = e->sec[SEC_POSTINGS].off;
	e->pos_base = e->sec[SEC_POSITIONS].off;
	e->blk_post = e->blk_pos = e->nblocks = e->prev_key = 0;
	e->in_blk = e->prev_first = 0;
	e->in_terms = true;
}

int split_enc_term(struct split_enc *s, const uint8_t *term, size_t len, uint32_t df,
		   uint64_t total_tf, const uint32_t *docs, const uint32_t *tfs,
		   const uint8_t *pos, size_t pos_len, struct qw_err *err)
{
	const struct sfile *pf = &s->sec[SEC_POSTINGS], *xf = &s->sec[SEC_POSITIONS];
	enum value_kind kind = s->f.kind;
	bool numkey = kind == VK_I64 || kind == VK_U64 || kind == VK_F64 || kind == VK_DATETIME;
	enum record_option rec = s->f.rec;

	if (df == 0)
		return err_set(err, EX_SOFTWARE, "split_enc_term: a term without docs");
	if (s->in_blk == 0) {
		s->blk_post = pf->off - s->post_base;
		s->blk_pos = xf->off - s->pos_base;
		buf_reset(&s->first);
		buf_add(&s->first, term, len);
		buf_reset(&s->prev);
		s->prev_key = 0;
		s->prev_first = 0;
	}
	if (numkey) {
		/* 8-byte keys: the difference from the previous key of the block */
		uint64_t key = termkey_get(term);

		buf_add_varint(&s->blk, key - s->prev_key);
		s->prev_key = key;
	} else {
		size_t sh = shared_prefix((const uint8_t *)s->prev.data, s->prev.len, term, len);

		buf_add_varint(&s->blk, sh);
		buf_add_varint(&s->blk, len - sh);
		buf_add(&s->blk, term + sh, len - sh);
	}
	buf_add_varint(&s->blk, df);
	if (rec >= RECORD_FREQ)
		buf_add_varint(&s->blk, total_tf - df);
	if (split_postings_write_entry(s, df, docs, tfs, pos, pos_len, err) < 0)
		return -1;
	buf_reset(&s->prev);
	buf_add(&s->prev, term, len);
	if (++s->in_blk == SPLIT_DICT_BLOCK_TERMS || s->blk.len >= SPLIT_DICT_BLOCK_BYTES) {
		if (write_dict_block(s, s->in_blk, s->blk_post, s->blk_pos,
				     (const uint8_t *)s->first.data, s->first.len, err) < 0)
			return -1;
		s->nblocks++;
		s->in_blk = 0;
	}
	return 0;
}

int split_enc_terms_end(struct split_enc *s, struct qw_err *err)
{
	struct sfile *tf = &s->sec[SEC_TERMS], *pf = &s->sec[SEC_POSTINGS];
	struct sfile *xf = &s->sec[SEC_POSITIONS];

	s->in_terms = false;
	if (s->in_blk) {
		if (write_dict_block(s, s->in_blk, s->blk_post, s->blk_pos,
				     (const uint8_t *)s->first.data, s->first.len, err) < 0)
			return -1;
		s->nblocks++;
		s->in_blk = 0;
	}
	/* hotcache entry: dict blocks, block index, bases */
	buf_add_varint(&s->fhot, s->dict_off);
	buf_add_varint(&s->fhot, tf->off - s->dict_off);
	buf_add_varint(&s->fhot, tf->off);
	buf_add_varint(&s->fhot, s->idx.len);
	buf_add_u32le(&s->fhot, checksum_crc32c(0, s->idx.data, s->idx.len));
	buf_add_varint(&s->fhot, s->nblocks);
	buf_add_varint(&s->fhot, s->post_base);
	buf_add_varint(&s->fhot, pf->off - s->post_base);
	buf_add_varint(&s->fhot, s->pos_base);
	buf_add_varint(&s->fhot, xf->off - s->pos_base);
	split_plists_free(&s->pl);
	memset(&s->pl, 0, sizeof(s->pl));
	return split_sfile_add(tf, s->idx.data, s->idx.len, err);
}

/* ------------------------------------------------------------ decoding */

/* A field's dictionary entry of the hotcache, as split_enc_terms_end() writes it. */
bool split_dict_read_hot(struct cur *c, const struct split_reader *r, struct rfield *f)
{
	f->dict_off = cur_varint(c);
	f->dict_len = cur_varint(c);
	f->idx_off = cur_varint(c);
	f->idx_len = cur_varint(c);
	f->idx_crc = cur_u32le(c);
	f->nblocks = cur_varint(c);
	f->post_base = cur_varint(c);
	f->post_len = cur_varint(c);
	f->pos_base = cur_varint(c);
	f->pos_len = cur_varint(c);
	return !(f->dict_off > r->sec_len[SEC_TERMS] ||
		 f->dict_len > r->sec_len[SEC_TERMS] - f->dict_off ||
		 f->idx_off > r->sec_len[SEC_TERMS] ||
		 f->idx_len > r->sec_len[SEC_TERMS] - f->idx_off ||
		 f->post_base > r->sec_len[SEC_POSTINGS] ||
		 f->post_len > r->sec_len[SEC_POSTINGS] - f->post_base ||
		 f->pos_base > r->sec_len[SEC_POSITIONS] ||
		 f->pos_len > r->sec_len[SEC_POSITIONS] - f->pos_base ||
		 f->nblocks > f->idx_len || f->nblocks == 0);
}
int split_dict_load_index(struct split_reader *r, struct rfield *f, struct qw_err *err)
{
	struct cur c;
	uint64_t off = 0, nterms = 0;
	bool bad = false;

	if (f->blocks)
		return 0;
	f->idx_buf = split_rd_crc(r, SEC_TERMS, f->idx_off, f->idx_len, f->idx_crc, err);
	if (!f->idx_buf)
		return -1;
	f->blocks = xcalloc(f->nblocks, sizeof(*f->blocks));
	cur_init(&c, f->idx_buf, f->idx_len);
	for (uint64_t i = 0; i < f->nblocks; i++) {
		struct dblk *b = &f->blocks[i];
		uint64_t fl = cur_varint(&c);

		b->first = cur_bytes(&c, fl);
		b->first_len = (uint32_t)fl;
		b->len = cur_varint(&c);
		b->raw_len = cur_varint(&c);
		b->crc = cur_u32le(&c);
		b->post_off = cur_varint(&c);
		b->pos_off = cur_varint(&c);
		b->nterms = cur_varint32(&c);
		b->off = off;
		off += b->len;
		nterms += b->nterms;
		if (c.bad || b->len > f->dict_len || off > f->dict_len || b->nterms == 0 ||
		    b->post_off > f->post_len || b->pos_off > f->pos_len || b->raw_len > MAX_UNIT) {
			bad = true;
			break;
		}
	}
	if (bad || c.bad || off != f->dict_len || nterms != f->info.num_terms || cur_left(&c) != 0) {
		free(f->blocks);
		free(f->idx_buf);
		f->blocks = NULL;
		f->idx_buf = NULL;
		return split_corrupt(r, err, SEC_TERMS, f->idx_off, "bad term dictionary index");
	}
	return 0;
}

static int cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return al < bl ? -1 : (al > bl);
}

static int blkdec_load(struct blkdec *d, uint64_t bi, struct qw_err *err)
{
	const struct dblk *b = &d->f->blocks[bi];

	free(d->data);
	d->data = split_rd_crc(d->r, SEC_TERMS, d->f->dict_off + b->off, b->len, b->crc, err);
	if (!d->data)
		return -1;
	if (b->raw_len && split_inflate_unit(d->r, SEC_TERMS, d->f->dict_off + b->off, &d->data, b->len,
				       b->raw_len, err) < 0) {
		free(d->data);
		d->data = NULL;
		return -1;
	}
	cur_init(&d->c, d->data, b->raw_len ? b->raw_len : b->len);
	d->blk_off = d->f->dict_off + b->off;
	d->bi = bi;
	d->left = b->nterms;
	d->numkey = d->f->info.kind == VK_I64 || d->f->info.kind == VK_U64 ||
		    d->f->info.kind == VK_F64 || d->f->info.kind == VK_DATETIME;
	d->prev_key = 0;
	d->prev_first = 0;
	buf_reset(&d->term);
	d->post_off = b->post_off;
	d->pos_off = b->pos_off;
	return 0;
}

/* 1 term decoded, 0 block done, -1 error. */
static int blkdec_next(struct blkdec *d, struct split_term_info *ti, struct qw_err *err)
{
	struct cur *c = &d->c;
	const struct rfield *f = d->f;
	uint64_t sh, sl;
	const uint8_t *suf;

	if (d->left == 0)
		return 0;
	if (d->numkey) {
		uint64_t dk = cur_varint(c);
		uint8_t kb[8];

		if (c->bad || dk > UINT64_MAX - d->prev_key)
			goto bad;
		d->prev_key += dk;
		termkey_put(d->prev_key, kb);
		buf_reset(&d->term);
		buf_add(&d->term, kb, 8);
	} else {
		sh = cur_varint(c);
		sl = cur_varint(c);
		if (c->bad || sh > d->term.len)
			goto bad;
		suf = cur_bytes(c, sl);
		if (c->bad)
			goto bad;
		buf_truncate(&d->term, sh);
		buf_add(&d->term, suf, sl);
	}
	memset(ti, 0, sizeof(*ti));
	ti->field = d->field;
	ti->doc_freq = cur_varint32(c);
	ti->total_freq = ti->doc_freq;
	if (f->info.record >= RECORD_FREQ)
		ti->total_freq += cur_varint(c);
	if (ti->doc_freq == 0 || ti->doc_freq > d->r->num_docs)
		goto bad;
	if (!split_postings_read_entry(d, ti))
		goto bad;
	if (c->bad)
		goto bad;
	d->left--;
	if (d->left == 0 && cur_left(c) != 0)
		goto bad;
	return 1;
bad:
	return split_corrupt(d->r, err, SEC_TERMS, d->blk_off + (uint64_t)(c->p - d->data),
		       "bad term dictionary block");
}

static void blkdec_free(struct blkdec *d)
{
	free(d->data);
	buf_free(&d->term);
}

/* Index of the last block whose first term <= term, or -1. */
static int64_t find_block(const struct rfield *f, const uint8_t *term, size_t len)
{
	uint64_t lo = 0, hi = f->nblocks;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (cmp_bytes(f->blocks[mid].first, f->blocks[mid].first_len, term, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int64_t)lo - 1;
}

int split_reader_term_lookup(struct split_reader *r, int field, const void *term, size_t len,
			     struct split_term_info *ti, struct qw_err *err)
{
	struct rfield *f = split_field_at(r, field, err);
	struct blkdec d;
	int64_t bi;
	int ret = -1, k;

	if (!f)
		return -1;
	if (!f->info.indexed)
		return 0;
	if (split_dict_load_index(r, f, err) < 0)
		return -1;
	bi = find_block(f, term, len);
	if (bi < 0)
		return 0;
	memset(&d, 0, sizeof(d));
	d.r = r;
	d.f = f;
	d.field = (uint32_t)field;
	if (blkdec_load(&d, (uint64_t)bi, err) < 0)
		goto out;
	ret = 0;
	while ((k = blkdec_next(&d, ti, err)) == 1) {
		int c = cmp_bytes((const uint8_t *)d.term.data, d.term.len, term, len);

		if (c == 0) {
			ret = 1;
			break;
		}
		if (c > 0)
			break;
	}
	if (k < 0)
		ret = -1;
	if (ret == 1 && ti->doc_freq < SPLIT_BLOCK && d.data) {
		/* the postings are in this block: keep it for split_postings_open */
		free(r->dc_data);
		r->dc_data = d.data;
		r->dc_len = (uint64_t)(d.c.end - d.data);
		r->dc_field = f;
		r->dc_bi = (uint64_t)bi;
		d.data = NULL;
	}
out:
	blkdec_free(&d);
	return ret;
}

struct split_terms {
	struct blkdec d;
	uint64_t bi;             /* block being decoded */
	bool done;
};

struct split_terms *split_terms_open(struct split_reader *r, int field, const void *lower,
				     size_t lower_len, struct qw_err *err)
{
	struct rfield *f = split_field_at(r, field, err);
	struct split_terms *it;
	int64_t bi = 0;

	if (!f)
		return NULL;
	it = xcalloc(1, sizeof(*it));
	it->d.r = r;
	it->d.f = f;
	it->d.field = (uint32_t)field;
	if (!f->info.indexed) {
		it->done = true;
		return it;
	}
	if (split_dict_load_index(r, f, err) < 0)
		goto fail;
	if (lower && lower_len) {
		bi = find_block(f, lower, lower_len);
		if (bi < 0)
			bi = 0;
	}
	it->bi = (uint64_t)bi;
	if (blkdec_load(&it->d, it->bi, err) < 0)
		goto fail;
	if (lower && lower_len) {
		/* position before the first term >= lower: decode into a scratch copy */
		for (;;) {
			struct cur save = it->d.c;
			uint32_t left = it->d.left, pf = it->d.prev_first;
			uint64_t pk = it->d.prev_key;
			uint64_t po = it->d.post_off, xo = it->d.pos_off;
			size_t tl = it->d.term.len;
			struct split_term_info ti;
			int k = blkdec_next(&it->d, &ti, err);

			if (k < 0)
				goto fail;
			if (k == 0) {
				if (it->bi + 1 >= f->nblocks) {
					it->done = true;
					break;
				}
				it->bi++;
				if (blkdec_load(&it->d, it->bi, err) < 0)
					goto fail;
				continue;
			}
			if (cmp_bytes((const uint8_t *)it->d.term.data, it->d.term.len, lower,
				      lower_len) >= 0) {
				/* rewind this one term; term bytes before it are a prefix we keep */
				it->d.c = save;
				it->d.left = left;
				it->d.prev_first = pf;
				it->d.prev_key = pk;
				it->d.post_off = po;
				it->d.pos_off = xo;
				buf_truncate(&it->d.term, tl);
				/* the truncated term must hold the previous term: re-decode keeps it
				 * valid because shared prefixes only read its first bytes */
				break;
			}
		}
	}
	return it;
fail:
	split_terms_free(it);
	return NULL;
}

int split_terms_next(struct split_terms *it, const uint8_t **term, size_t *len,
		     struct split_term_info *ti, struct qw_err *err)
{
	for (;;) {
		int k;

		if (it->done)
			return 0;
		k = blkdec_next(&it->d, ti, err);
		if (k < 0)
			return -1;
		if (k == 1) {
			*term = (const uint8_t *)(it->d.term.data ? it->d.term.data : "");
			*len = it->d.term.len;
			return 1;
		}
		if (it->bi + 1 >= it->d.f->nblocks) {
			it->done = true;
			return 0;
		}
		it->bi++;
		if (blkdec_load(&it->d, it->bi, err) < 0)
			return -1;
	}
}

void split_terms_free(struct split_terms *it)
{
	if (!it)
		return;
	blkdec_free(&it->d);
	free(it);
}

/*
 * The raw bytes of dictionary block bi of field f, through a one-block cache
 * of the reader (postings of rare terms live in their dictionary block).
 * Valid until the next call.
 */
int split_dict_block_raw(struct split_reader *r, const struct rfield *f, uint64_t bi,
			  const uint8_t **data, uint64_t *len, struct qw_err *err)
{
	const struct dblk *b;
	uint8_t *p;

	if (!f->blocks || bi >= f->nblocks)
		return split_corrupt(r, err, SEC_TERMS, f->dict_off, "bad term info");
	b = &f->blocks[bi];
	if (r->dc_data && r->dc_field == f && r->dc_bi == bi) {
		*data = r->dc_data;
		*len = r->dc_len;
		return 0;
	}
	p = split_rd_crc(r, SEC_TERMS, f->dict_off + b->off, b->len, b->crc, err);
	if (!p)
		return -1;
	if (b->raw_len && split_inflate_unit(r, SEC_TERMS, f->dict_off + b->off, &p, b->len, b->raw_len,
				       err) < 0) {
		free(p);
		return -1;
	}
	free(r->dc_data);
	r->dc_data = p;
	r->dc_len = b->raw_len ? b->raw_len : b->len;
	r->dc_field = f;
	r->dc_bi = bi;
	*data = p;
	*len = r->dc_len;
	return 0;
}

