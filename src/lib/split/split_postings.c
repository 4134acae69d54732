/*
 * split_postings: the postings of a term and their positions ("postings"
 * and "positions" sections, or inline in the term's dictionary block),
 * encoder and decoder side by side (qw-split(5)).
 */
#include "split/split_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/bitpack.h"
#include "base/buf.h"
#include "base/checksum.h"
#include "base/hashslots.h"
#include "base/xalloc.h"

/* ------------------------------------------------------------ encoding */

static uint32_t plist_hash(const void *p, size_t len, uint64_t raw)
{
	return checksum_crc32c(0, p, len) ^ (uint32_t)(raw * 0x9e3779b97f4a7c15ULL >> 32);
}

/* Index of an earlier list with these stored bytes and raw length, or -1. */
static int64_t plist_find(const struct plists *pl, const void *p, size_t len, uint64_t raw)
{
	uint32_t h;

	if (!pl->nslots)
		return -1;
	h = plist_hash(p, len, raw);
	for (size_t j = h & (pl->nslots - 1); pl->slots[j]; j = (j + 1) & (pl->nslots - 1)) {
		const struct plist *e = &pl->v[pl->slots[j] - 1];

		if (e->hash == h && e->len == len && e->raw == raw &&
		    memcmp(pl->arena.data + e->arena_off, p, len) == 0)
			return (int64_t)(pl->slots[j] - 1);
	}
	return -1;
}
/* The hash of list i, kept with it (hashslots_grow). */
static uint32_t plist_hash_of(const void *ctx, size_t i)
{
	const struct plists *pl = ctx;

	return pl->v[i].hash;
}

static void plist_add(struct plists *pl, const void *p, size_t len, uint64_t raw, uint64_t off)
{
	struct plist *e;

	if ((pl->n + 1) * 2 > pl->nslots)
		hashslots_grow(&pl->slots, &pl->nslots, pl->n, plist_hash_of, pl);
	XGROW(pl->v, pl->n + 1, pl->cap);
	e = &pl->v[pl->n];
	e->off = off;
	e->len = len;
	e->raw = raw;
	e->arena_off = pl->arena.len;
	e->hash = plist_hash(p, len, raw);
	buf_add(&pl->arena, p, len);
	hashslots_put(pl->slots, pl->nslots, e->hash, pl->n);
	pl->n++;
}

void split_plists_free(struct plists *pl)
{
	free(pl->v);
	free(pl->slots);
	buf_free(&pl->arena);
}

/* Postings list of one term with df >= SPLIT_BLOCK into s->tmp (see qw-split(5)). */
static void encode_postings(struct split_enc *s, uint32_t n, const uint32_t *docs,
			    const uint32_t *tfs, const uint8_t *pos, size_t pos_len)
{
	uint32_t nfull = n / SPLIT_BLOCK;
	bool freqs = s->f.rec >= RECORD_FREQ, positions = s->f.rec == RECORD_POSITION;
	uint32_t deltas[SPLIT_BLOCK], fr[SPLIT_BLOCK];
	int64_t prev = -1;
	struct cur pc;

	buf_reset(&s->tmp);
	buf_reset(&s->pk);
	cur_init(&pc, pos, pos_len);
	for (uint32_t b = 0; b < nfull; b++) {
		uint32_t maxd = 0, maxf = 0;
		unsigned wd, wf = 0;
		int64_t first_prev = prev;

		for (uint32_t i = 0; i < SPLIT_BLOCK; i++) {
			uint32_t d = docs[b * SPLIT_BLOCK + i];

			deltas[i] = (uint32_t)((int64_t)d - prev - 1);
			prev = d;
			if (deltas[i] > maxd)
				maxd = deltas[i];
			fr[i] = freqs ? tfs[b * SPLIT_BLOCK + i] - 1 : 0;
			if (fr[i] > maxf)
				maxf = fr[i];
		}
		wd = bitpack_width(maxd);
		/* skip entry: last doc delta, widths, positions bytes of the block */
		buf_add_varint(&s->tmp, (uint64_t)(prev - first_prev));
		buf_add_u8(&s->tmp, (uint8_t)wd);
		if (freqs) {
			wf = bitpack_width(maxf);
			buf_add_u8(&s->tmp, (uint8_t)wf);
		}
		if (positions) {
			const uint8_t *start = pc.p;
			uint64_t np = 0;

			for (uint32_t i = 0; i < SPLIT_BLOCK; i++)
				np += tfs[b * SPLIT_BLOCK + i];
			for (uint64_t k = 0; k < np; k++)
				(void)cur_varint(&pc);
			buf_add_varint(&s->tmp, (uint64_t)(pc.p - start));
		}
		bitpack_pack32(&s->pk, deltas, SPLIT_BLOCK, wd);
		if (freqs)
			bitpack_pack32(&s->pk, fr, SPLIT_BLOCK, wf);
	}
	buf_add(&s->tmp, s->pk.data, s->pk.len);
	for (uint32_t i = nfull * SPLIT_BLOCK; i < n; i++) {
		buf_add_varint(&s->tmp, (uint64_t)((int64_t)docs[i] - prev - 1));
		prev = docs[i];
		if (freqs)
			buf_add_varint(&s->tmp, tfs[i] - 1);
	}
	buf_add_u32le(&s->tmp, checksum_crc32c(0, s->tmp.data, s->tmp.len));
}

/*
 * The postings of one term in its dictionary entry: fewer than SPLIT_BLOCK
 * docs inline (with their positions), else a list in the postings section
 * (one stored once per field when identical) and its positions in theirs.
 */
int split_postings_write_entry(struct split_enc *s, uint32_t df, const uint32_t *docs,
			       const uint32_t *tfs, const uint8_t *pos, size_t pos_len,
			       struct qw_err *err)
{
	struct sfile *pf = &s->sec[SEC_POSTINGS], *xf = &s->sec[SEC_POSITIONS];
	enum record_option rec = s->f.rec;

	if (df < SPLIT_BLOCK) {
		/* few docs: postings (and positions) inline, in the block's frame */
		int64_t prev = -1, d0 = (int64_t)docs[0] - (int64_t)s->prev_first;

		buf_reset(&s->tmp);
		/* the first doc from the previous inline term's first doc, zigzag */
		buf_add_varint(&s->tmp, d0 >= 0 ? (uint64_t)d0 << 1 : ((uint64_t)-d0 << 1) - 1);
		s->prev_first = docs[0];
		for (uint32_t i = 0; i < df; i++) {
			if (i > 0)
				buf_add_varint(&s->tmp, (uint64_t)((int64_t)docs[i] - prev - 1));
			prev = docs[i];
			if (rec >= RECORD_FREQ)
				buf_add_varint(&s->tmp, tfs[i] - 1);
		}
		buf_add_varint(&s->blk, s->tmp.len);
		buf_add(&s->blk, s->tmp.data, s->tmp.len);
		if (rec == RECORD_POSITION) {
			buf_add_varint(&s->blk, pos_len);
			buf_add(&s->blk, pos ? (const char *)pos : "", pos_len);
		}
	} else {
		uint64_t raw;
		size_t plen;
		const void *pp;
		int64_t same;

		encode_postings(s, df, docs, tfs, pos, pos_len);
		pp = split_enc_maybe_compress(s, s->tmp.data, s->tmp.len, &plen, &raw);
		same = plist_find(&s->pl, pp, plen, raw);
		if (same >= 0) {
			/* the same list as an earlier term of the field: refer to it */
			buf_add_varint(&s->blk, 0);
			buf_add_varint(&s->blk, s->pl.v[same].off);
			buf_add_varint(&s->blk, plen);
			buf_add_varint(&s->blk, raw);
		} else {
			if (s->pl.arena.len + plen <= PLIST_ARENA_MAX)
				plist_add(&s->pl, pp, plen, raw, pf->off - s->post_base);
			buf_add_varint(&s->blk, plen);
			buf_add_varint(&s->blk, raw);
			if (split_sfile_add(pf, pp, plen, err) < 0)
				return -1;
		}
		if (rec == RECORD_POSITION) {
			uint32_t crc;
			uint8_t c4[4];

			pp = split_enc_maybe_compress(s, pos, pos_len, &plen, &raw);
			crc = checksum_crc32c(0, pp, plen);
			c4[0] = (uint8_t)crc;
			c4[1] = (uint8_t)(crc >> 8);
			c4[2] = (uint8_t)(crc >> 16);
			c4[3] = (uint8_t)(crc >> 24);
			buf_add_varint(&s->blk, (uint64_t)plen + 4);
			buf_add_varint(&s->blk, raw);
			if (split_sfile_add(xf, pp, plen, err) < 0 || split_sfile_add(xf, c4, 4, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ decoding */

/*
 * The postings part of a dictionary entry, as split_postings_write_entry
 * wrote it: where the inline postings are in the raw block, or where the
 * list and its positions are in their sections.
 */
bool split_postings_read_entry(struct blkdec *d, struct split_term_info *ti)
{
	struct cur *c = &d->c;
	const struct rfield *f = d->f;

	if (ti->doc_freq < SPLIT_BLOCK) {
		/* postings (and positions) inline: where they are in the raw block */
		uint64_t n = cur_varint(c), z;
		const uint8_t *q = cur_bytes(c, n);
		struct cur ic;
		int64_t first;

		if (c->bad || n == 0)
			return false;
		/* the first doc: zigzag difference from the previous inline first doc */
		cur_init(&ic, q, n);
		z = cur_varint(&ic);
		/* bound z before the arithmetic: |delta| <= UINT32_MAX cannot overflow */
		if (ic.bad || z > 2ULL * UINT32_MAX)
			return false;
		first = (int64_t)d->prev_first + ((z & 1) ? -(int64_t)((z + 1) >> 1) : (int64_t)(z >> 1));
		if (first < 0 || first >= (int64_t)d->r->num_docs)
			return false;
		d->prev_first = (uint32_t)first;
		ti->inline_first = (uint32_t)first;
		ti->inline_blk = d->bi;
		ti->inline_off = (uint64_t)(ic.p - d->data);
		ti->inline_len = cur_left(&ic);
		if (f->info.record == RECORD_POSITION) {
			n = cur_varint(c);
			q = cur_bytes(c, n);
			if (c->bad)
				return false;
			ti->inline_pos_off = (uint64_t)(q - d->data);
			ti->inline_pos_len = n;
		}
	} else {
		uint64_t pl = cur_varint(c);

		if (pl == 0) {
			/* the same list as an earlier term of the field */
			uint64_t ro = cur_varint(c);

			pl = cur_varint(c);
			if (c->bad || ro > d->post_off || pl > d->post_off - ro || pl < 4)
				return false;
			ti->postings_off = f->post_base + ro;
		} else {
			if (pl > f->post_len - d->post_off || pl < 4)
				return false;
			ti->postings_off = f->post_base + d->post_off;
			d->post_off += pl;
		}
		ti->postings_len = pl;
		ti->postings_raw = cur_varint(c);
		if (ti->postings_raw > MAX_UNIT || (ti->postings_raw && ti->postings_raw < 4))
			return false;
	}
	if (f->info.record == RECORD_POSITION && ti->doc_freq >= SPLIT_BLOCK) {
		uint64_t pl = cur_varint(c);

		if (pl > f->pos_len - d->pos_off || pl < 4)
			return false;
		ti->positions_off = f->pos_base + d->pos_off;
		ti->positions_len = pl;
		ti->positions_raw = cur_varint(c);
		if (ti->positions_raw > MAX_UNIT)
			return false;
		d->pos_off += pl;
	}
	return true;
}

struct pblk {
	uint32_t last_doc;
	uint8_t wd, wf;
	uint64_t data_off;
	uint64_t pos_off;
};

struct split_postings {
	struct split_reader *r;
	uint32_t df;
	bool freqs, want_pos;
	bool docs_only;          /* split_postings_next_docs() was used: no tfs decoded */
	uint8_t *buf;            /* postings list without its CRC */
	uint64_t len;
	uint64_t list_off;       /* in the postings section, for messages */
	struct pblk *blks;
	uint32_t nfull;
	uint64_t tail_off, tail_pos_off;
	uint32_t docs[SPLIT_BLOCK], tfs[SPLIT_BLOCK];
	uint32_t n_in_buf, idx;
	int64_t cur_block;       /* -1 before the first; nfull = the tail */
	uint32_t doc;
	/* positions */
	uint8_t *pbuf;
	uint64_t plen, pos_start_off;
	struct cur pc;
	uint32_t pc_idx;
	uint32_t *posv;
	uint32_t posv_cap, posv_n;
	int64_t posv_for;        /* block * 256 + idx the positions belong to, -1 */
};

void split_postings_free(struct split_postings *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p->blks);
	free(p->pbuf);
	free(p->posv);
	free(p);
}

static int pcorrupt(struct split_postings *p, struct qw_err *err, const char *what)
{
	return split_corrupt(p->r, err, SEC_POSTINGS, p->list_off, what);
}

/* The inline postings of a rare term: copied from its dictionary block as a
 * tail list, the first doc (from -1) then the stored rest. */
static int postings_open_inline(struct split_postings *p, const struct rfield *f,
				const struct split_term_info *ti, struct qw_err *err)
{
	const uint8_t *blk = NULL;
	uint64_t blen = 0, k = 0;
	uint32_t v = ti->inline_first;

	if (split_dict_block_raw(p->r, f, ti->inline_blk, &blk, &blen, err) < 0)
		return -1;
	if (ti->inline_off > blen || ti->inline_len > blen - ti->inline_off ||
	    (p->want_pos && (ti->inline_pos_off > blen ||
			     ti->inline_pos_len > blen - ti->inline_pos_off)))
		return pcorrupt(p, err, "bad inline postings");
	p->buf = xmalloc(ti->inline_len + 10 + BITPACK_PAD + 1);
	while (v >= 0x80) {
		p->buf[k++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p->buf[k++] = (uint8_t)v;
	memcpy(p->buf + k, blk + ti->inline_off, ti->inline_len);
	p->len = k + ti->inline_len;
	if (p->want_pos) {
		p->pbuf = xmalloc(ti->inline_pos_len + BITPACK_PAD + 1);
		memcpy(p->pbuf, blk + ti->inline_pos_off, ti->inline_pos_len);
		p->plen = ti->inline_pos_len;
	}
	return 0;
}

/* A postings list from its section into p->buf, inflated, its CRC checked
 * (p->len excludes the CRC). */
static int postings_read_list(struct split_postings *p, const struct split_term_info *ti,
			      struct qw_err *err)
{
	struct cur c;

	if (ti->postings_len < 4)
		return pcorrupt(p, err, "postings list too short");
	p->buf = split_rd(p->r, SEC_POSTINGS, ti->postings_off, ti->postings_len, err);
	if (!p->buf)
		return -1;
	p->len = ti->postings_len - 4;
	if (ti->postings_raw) {
		if (split_inflate_unit(p->r, SEC_POSTINGS, ti->postings_off, &p->buf,
				       ti->postings_len, ti->postings_raw, err) < 0)
			return -1;
		p->len = ti->postings_raw - 4;
	}
	cur_init(&c, p->buf + p->len, 4);
	if (!crc_ok(checksum_crc32c(0, p->buf, p->len), cur_u32le(&c)))
		return pcorrupt(p, err, "checksum mismatch");
	return 0;
}

/* The skip entries of a list's full blocks (last doc, bit widths, positions
 * bytes) into p->blks, and where the packed blocks and the tail start. */
static int postings_read_skips(struct split_postings *p, bool positions, struct qw_err *err)
{
	uint32_t num_docs = p->r->num_docs;
	uint64_t data = 0, pos = 0;
	int64_t prev = -1;
	struct cur c;

	p->nfull = p->df / SPLIT_BLOCK;
	p->blks = xcalloc(p->nfull ? p->nfull : 1, sizeof(*p->blks));
	cur_init(&c, p->buf, p->len);
	for (uint32_t b = 0; b < p->nfull; b++) {
		uint64_t d = cur_varint(&c);

		if (d < SPLIT_BLOCK || d > (uint64_t)num_docs)
			return pcorrupt(p, err, "bad skip entry");
		prev += (int64_t)d;
		if (prev >= (int64_t)num_docs)
			return pcorrupt(p, err, "bad skip entry");
		p->blks[b].last_doc = (uint32_t)prev;
		p->blks[b].wd = cur_u8(&c);
		if (p->freqs)
			p->blks[b].wf = cur_u8(&c);
		if (positions) {
			p->blks[b].pos_off = pos;
			pos += cur_varint(&c);
		}
		if (p->blks[b].wd > 32 || p->blks[b].wf > 32)
			return pcorrupt(p, err, "bad bit width");
		p->blks[b].data_off = data;
		data += 16u * p->blks[b].wd + 16u * p->blks[b].wf;
	}
	if (c.bad || data > cur_left(&c))
		return pcorrupt(p, err, "bad skip list");
	for (uint32_t b = 0; b < p->nfull; b++)
		p->blks[b].data_off += (uint64_t)(c.p - p->buf);
	p->tail_off = (uint64_t)(c.p - p->buf) + data;
	p->tail_pos_off = pos;
	return 0;
}

/* The positions list of a frequent term from its section into p->pbuf,
 * CRC checked then inflated. */
static int postings_read_positions(struct split_postings *p, const struct split_term_info *ti,
				   struct qw_err *err)
{
	struct split_reader *r = p->r;
	struct cur c;

	p->pbuf = split_rd(r, SEC_POSITIONS, ti->positions_off, ti->positions_len, err);
	if (!p->pbuf)
		return -1;
	if (ti->positions_len < 4)
		return split_corrupt(r, err, SEC_POSITIONS, ti->positions_off,
				     "positions list too short");
	p->plen = ti->positions_len - 4;
	cur_init(&c, p->pbuf + p->plen, 4);
	if (!crc_ok(checksum_crc32c(0, p->pbuf, p->plen), cur_u32le(&c)))
		return split_corrupt(r, err, SEC_POSITIONS, ti->positions_off, "checksum mismatch");
	if (ti->positions_raw) {
		if (split_inflate_unit(r, SEC_POSITIONS, ti->positions_off, &p->pbuf, p->plen,
				       ti->positions_raw, err) < 0)
			return -1;
		p->plen = ti->positions_raw;
	}
	if (p->tail_pos_off > p->plen)
		return split_corrupt(r, err, SEC_POSITIONS, ti->positions_off,
				     "bad positions length");
	return 0;
}

struct split_postings *split_postings_open(struct split_reader *r, const struct split_term_info *ti,
					   bool want_positions, struct qw_err *err)
{
	struct split_postings *p;
	const struct rfield *f;
	int rc;

	if (ti->field >= r->nfields) {
		err_set(err, EX_SOFTWARE, "split '%s': bad term info", r->path);
		return NULL;
	}
	f = &r->fields[ti->field];
	if (want_positions && f->info.record != RECORD_POSITION) {
		err_set(err, EX_USAGE, "field '%s' is not indexed with positions", f->info.path);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->r = r;
	p->df = ti->doc_freq;
	p->freqs = f->info.record >= RECORD_FREQ;
	p->want_pos = want_positions;
	p->cur_block = -1;
	p->doc = SPLIT_DOC_END;
	p->posv_for = -1;
	p->list_off = ti->postings_off;
	if (p->df == 0 || p->df > r->num_docs)
		rc = pcorrupt(p, err, "bad doc frequency");
	else if (p->df < SPLIT_BLOCK)
		/* inline in a dictionary block: a tail only */
		rc = postings_open_inline(p, f, ti, err);
	else if ((rc = postings_read_list(p, ti, err)) == 0 &&
		 (rc = postings_read_skips(p, f->info.record == RECORD_POSITION, err)) == 0 &&
		 want_positions)
		rc = postings_read_positions(p, ti, err);
	if (rc < 0) {
		split_postings_free(p);
		return NULL;
	}
	return p;
}

/* Decode block b (nfull = the tail) into docs/tfs. */
static int load_block(struct split_postings *p, int64_t b, struct qw_err *err)
{
	int64_t prev = b == 0 ? -1 : (int64_t)p->blks[b - 1].last_doc;

	p->cur_block = b;
	p->idx = 0;
	if (b < p->nfull) {
		const struct pblk *k = &p->blks[b];
		const uint8_t *d = p->buf + k->data_off;

		bitpack_unpack32(d, k->wd, p->docs, SPLIT_BLOCK);
		for (int i = 0; i < SPLIT_BLOCK; i++) {
			prev += (int64_t)p->docs[i] + 1;
			p->docs[i] = (uint32_t)prev;
		}
		if (prev != k->last_doc)
			return pcorrupt(p, err, "block does not match its skip entry");
		if (p->docs_only) {
			/* the doc set only: the frequencies are never read */
		} else if (p->freqs) {
			bitpack_unpack32(d + 16u * k->wd, k->wf, p->tfs, SPLIT_BLOCK);
			for (int i = 0; i < SPLIT_BLOCK; i++) {
				if (p->tfs[i] == UINT32_MAX)
					return pcorrupt(p, err, "bad term frequency");
				p->tfs[i]++;
			}
		} else {
			for (int i = 0; i < SPLIT_BLOCK; i++)
				p->tfs[i] = 1;
		}
		p->n_in_buf = SPLIT_BLOCK;
		if (p->want_pos) {
			if (k->pos_off > p->plen)
				return split_corrupt(p->r, err, SEC_POSITIONS, 0, "bad positions offset");
			cur_init(&p->pc, p->pbuf + k->pos_off, p->plen - k->pos_off);
		}
	} else {
		struct cur c;
		uint32_t n = p->df - p->nfull * SPLIT_BLOCK;

		cur_init(&c, p->buf + p->tail_off, p->len - p->tail_off);
		for (uint32_t i = 0; i < n; i++) {
			prev += (int64_t)cur_varint32(&c) + 1;
			p->docs[i] = (uint32_t)prev;
			p->tfs[i] = 1 + (p->freqs ? cur_varint32(&c) : 0);
			if (prev >= (int64_t)p->r->num_docs || p->tfs[i] == 0)
				return pcorrupt(p, err, "bad postings tail");
		}
		if (c.bad || cur_left(&c) != 0)
			return pcorrupt(p, err, "bad postings tail");
		p->n_in_buf = n;
		if (p->want_pos)
			cur_init(&p->pc, p->pbuf + p->tail_pos_off, p->plen - p->tail_pos_off);
	}
	if (p->n_in_buf && p->docs[p->n_in_buf - 1] >= p->r->num_docs)
		return pcorrupt(p, err, "doc id out of range");
	p->pc_idx = 0;
	p->posv_for = -1;
	return 0;
}

static int next_block(struct split_postings *p, int64_t b, uint32_t *doc, struct qw_err *err)
{
	if (b > p->nfull || (b == p->nfull && p->df % SPLIT_BLOCK == 0)) {
		p->cur_block = p->nfull + 1;
		p->n_in_buf = 0;
		p->doc = SPLIT_DOC_END;
		*doc = SPLIT_DOC_END;
		return 0;
	}
	if (load_block(p, b, err) < 0)
		return -1;
	p->doc = p->docs[0];
	*doc = p->doc;
	return 0;
}

int split_postings_next(struct split_postings *p, uint32_t *doc, struct qw_err *err)
{
	if (p->cur_block >= 0 && p->idx + 1 < p->n_in_buf) {
		p->idx++;
		p->doc = p->docs[p->idx];
		*doc = p->doc;
		return 0;
	}
	if (p->cur_block > p->nfull) {
		*doc = SPLIT_DOC_END;
		return 0;
	}
	return next_block(p, p->cur_block + 1, doc, err);
}

int split_postings_advance(struct split_postings *p, uint32_t target, uint32_t *doc,
			   struct qw_err *err)
{
	int64_t b;

	if (p->cur_block >= 0 && p->doc != SPLIT_DOC_END && p->doc >= target) {
		*doc = p->doc;
		return 0;
	}
	if (p->cur_block > p->nfull) {
		*doc = SPLIT_DOC_END;
		return 0;
	}
	/* within the current block */
	if (p->cur_block >= 0 && p->n_in_buf && p->docs[p->n_in_buf - 1] >= target) {
		while (p->docs[p->idx] < target)
			p->idx++;
		p->doc = p->docs[p->idx];
		*doc = p->doc;
		return 0;
	}
	b = p->cur_block + 1;
	while (b < p->nfull && p->blks[b].last_doc < target)
		b++;
	for (;;) {
		if (next_block(p, b, doc, err) < 0)
			return -1;
		if (*doc == SPLIT_DOC_END)
			return 0;
		if (p->docs[p->n_in_buf - 1] >= target)
			break;
		b++;
	}
	while (p->docs[p->idx] < target)
		p->idx++;
	p->doc = p->docs[p->idx];
	*doc = p->doc;
	return 0;
}

uint32_t split_postings_doc(const struct split_postings *p)
{
	return p->cur_block < 0 ? SPLIT_DOC_END : p->doc;
}

uint32_t split_postings_freq(const struct split_postings *p)
{
	if (p->cur_block < 0 || p->doc == SPLIT_DOC_END || p->docs_only)
		return 0;
	return p->tfs[p->idx];
}

int split_postings_next_docs(struct split_postings *p, const uint32_t **docs, uint32_t *n,
			     struct qw_err *err)
{
	uint32_t doc;

	*docs = p->docs;
	*n = 0;
	if (p->want_pos)
		return err_set(err, EX_SOFTWARE, "doc blocks of postings opened with positions");
	p->docs_only = true;
	if (p->cur_block >= 0 && p->idx + 1 < p->n_in_buf) {
		/* the rest of the block a split_postings_next() started */
		*docs = p->docs + p->idx + 1;
		*n = p->n_in_buf - p->idx - 1;
	} else {
		if (p->cur_block > p->nfull)
			return 0;
		if (next_block(p, p->cur_block + 1, &doc, err) < 0)
			return -1;
		if (doc == SPLIT_DOC_END)
			return 0;
		*n = p->n_in_buf;
	}
	p->idx = p->n_in_buf - 1;
	p->doc = p->docs[p->idx];
	return 0;
}

int split_postings_positions(struct split_postings *p, const uint32_t **pos, uint32_t *n,
			     struct qw_err *err)
{
	int64_t key;
	uint32_t tf, v = 0;

	*pos = NULL;
	*n = 0;
	if (!p->want_pos)
		return err_set(err, EX_SOFTWARE, "positions were not requested");
	if (p->cur_block < 0 || p->doc == SPLIT_DOC_END)
		return 0;
	key = p->cur_block * 256 + p->idx;
	if (key == p->posv_for) {
		*pos = p->posv;
		*n = p->posv_n;
		return 0;
	}
	while (p->pc_idx < p->idx && !p->pc.bad) {
		for (uint32_t k = 0; k < p->tfs[p->pc_idx] && !p->pc.bad; k++)
			(void)cur_varint(&p->pc);
		p->pc_idx++;
	}
	tf = p->tfs[p->idx];
	/* each position takes at least one byte: a corrupt tf cannot size the buffer */
	if (p->pc.bad || tf > cur_left(&p->pc))
		return split_corrupt(p->r, err, SEC_POSITIONS, 0, "bad positions list");
	if (tf > p->posv_cap) {
		p->posv_cap = tf;
		p->posv = xreallocarray(p->posv, tf, sizeof(*p->posv));
	}
	for (uint32_t k = 0; k < tf; k++) {
		uint64_t d = cur_varint(&p->pc);

		if (d > UINT32_MAX - v)
			p->pc.bad = true;
		v += (uint32_t)d;
		p->posv[k] = v;
	}
	p->pc_idx = p->idx + 1;
	if (p->pc.bad)
		return split_corrupt(p->r, err, SEC_POSITIONS, 0, "bad positions list");
	p->posv_for = key;
	p->posv_n = tf;
	*pos = p->posv;
	*n = tf;
	return 0;
}

