/* split_encode: see split_encode.h; the bytes are described in qw-split(5). */
#include "split/split_encode.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "base/bitpack.h"
#include "base/buf.h"
#include "base/checksum.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "split/split_format.h"
#include "split/termkey.h"

/* A buffered section file. */
struct sfile {
	int fd;
	const char *name;
	uint64_t off;            /* bytes written so far (flushed + buffered) */
	struct buf b;
};

static int sfile_open(struct sfile *sf, const char *dir, const char *name, struct qw_err *err)
{
	char *p = fsutil_join(dir, name);

	memset(sf, 0, sizeof(*sf));
	sf->name = name;
	sf->fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (sf->fd < 0) {
		err_errno(err, EX_CANTCREAT, "cannot create '%s'", p);
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

static int sfile_flush(struct sfile *sf, struct qw_err *err)
{
	if (sf->b.len && fsutil_write_full(sf->fd, sf->b.data, sf->b.len) < 0)
		return err_errno(err, EX_IOERR, "cannot write section '%s'", sf->name);
	buf_reset(&sf->b);
	return 0;
}

static int sfile_add(struct sfile *sf, const void *p, size_t n, struct qw_err *err)
{
	buf_add(&sf->b, p, n);
	sf->off += n;
	if (sf->b.len >= (1u << 20))
		return sfile_flush(sf, err);
	return 0;
}

static int sfile_close(struct sfile *sf, struct qw_err *err)
{
	int ret = 0;

	if (sf->fd >= 0) {
		/* no fsync: scratch files are made durable by split_bundle's fsync of the
		 * .split file; after a crash the pipeline re-indexes from the checkpoint */
		if (sfile_flush(sf, err) < 0)
			ret = -1;
		if (close(sf->fd) < 0 && ret == 0)
			ret = err_errno(err, EX_IOERR, "cannot close section '%s'", sf->name);
		sf->fd = -1;
	}
	buf_free(&sf->b);
	return ret;
}


/* The stored postings lists of a field so far, to store identical ones once
 * (the first PLIST_ARENA_MAX bytes of them: memory stays bounded). */
#define PLIST_ARENA_MAX (32u << 20)
struct plist {
	uint64_t off, len, raw, arena_off;
	uint32_t hash;
};

struct plists {
	struct plist *v;
	size_t n, cap;
	uint32_t *slots;         /* index + 1, open addressing */
	size_t nslots;
	struct buf arena;        /* the stored bytes, to compare */
};

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

static void plist_add(struct plists *pl, const void *p, size_t len, uint64_t raw, uint64_t off)
{
	struct plist *e;

	if ((pl->n + 1) * 2 > pl->nslots) {
		size_t nn = pl->nslots ? pl->nslots * 2 : 64;
		uint32_t *ns = xcalloc(nn, sizeof(*ns));

		for (size_t i = 0; i < pl->n; i++) {
			size_t j = pl->v[i].hash & (nn - 1);

			while (ns[j])
				j = (j + 1) & (nn - 1);
			ns[j] = (uint32_t)i + 1;
		}
		free(pl->slots);
		pl->slots = ns;
		pl->nslots = nn;
	}
	XGROW(pl->v, pl->n + 1, pl->cap);
	e = &pl->v[pl->n];
	e->off = off;
	e->len = len;
	e->raw = raw;
	e->arena_off = pl->arena.len;
	e->hash = plist_hash(p, len, raw);
	buf_add(&pl->arena, p, len);
	{
		size_t j = e->hash & (pl->nslots - 1);

		while (pl->slots[j])
			j = (j + 1) & (pl->nslots - 1);
		pl->slots[j] = (uint32_t)pl->n + 1;
	}
	pl->n++;
}

static void plists_free(struct plists *pl)
{
	free(pl->v);
	free(pl->slots);
	buf_free(&pl->arena);
}



struct split_enc {
	const struct index_config *cfg;
	char *dir;
	struct sfile sec[SEC_COUNT];
	struct buf fields;       /* hotcache: the field entries written so far */
	struct buf fhot, chot;   /* the current field's terms/norms and column entries */
	struct split_enc_field f;
	bool in_terms;
	/* the current field's dictionary */
	struct plists pl;
	struct buf first;
	uint64_t dict_off, post_base, pos_base, blk_post, blk_pos, nblocks, prev_key;
	uint32_t in_blk, prev_first;
	/* doc store */
	struct buf ds_idx;       /* hotcache: block entries */
	uint64_t ds_nblocks;
	struct buf ds_raw;       /* the current block's docs */
	uint32_t *ds_lens;
	size_t ds_nlens, ds_lens_cap;
	struct buf tmp, blk, idx, prev, pk, z;
	ZSTD_CCtx *zc, *own_zc;
	uint64_t *u64s;
	size_t u64s_cap;
};

/*
 * Compress p[0..n) into s->z when that saves at least a tenth (zstd level
 * 3); returns the bytes to store and sets *raw_len to n, or to 0 when the
 * bytes are stored as they are.
 */
static const void *maybe_compress(struct split_enc *s, const void *p, size_t n, size_t *out_len,
				  uint64_t *raw_len)
{
	size_t bound, k;

	*raw_len = 0;
	*out_len = n;
	if (n < 128)
		return p;
	bound = ZSTD_compressBound(n);
	buf_reset(&s->z);
	buf_grow(&s->z, bound + 1);
	k = ZSTD_compressCCtx(s->zc, s->z.data, bound, p, n, 3);
	if (ZSTD_isError(k) || k > n - n / 10)
		return p;
	s->z.len = k;
	*raw_len = n;
	*out_len = k;
	return s->z.data;
}

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
	const void *bp = maybe_compress(s, s->blk.data, s->blk.len, &blen, &raw);

	buf_add_varint(&s->idx, first_len);
	buf_add(&s->idx, first, first_len);
	buf_add_varint(&s->idx, blen);
	buf_add_varint(&s->idx, raw);
	buf_add_u32le(&s->idx, checksum_crc32c(0, bp, blen));
	buf_add_varint(&s->idx, post_off);
	buf_add_varint(&s->idx, pos_off);
	buf_add_varint(&s->idx, nterms);
	if (sfile_add(tf, bp, blen, err) < 0)
		return -1;
	buf_reset(&s->blk);
	return 0;
}


static unsigned varint_len(uint64_t v)
{
	unsigned n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The sorted distinct values of v[0..n) into a new array (*nt of them), or
 * NULL when there are too many for a table to pay (indexes would not be at
 * least 2 bits narrower than the values): one pass with a hash set.
 */
static uint64_t *distinct_values(const uint64_t *v, size_t n, unsigned bits, uint64_t *nt)
{
	size_t limit = (size_t)1 << (bits - 2 < 20 ? bits - 2 : 20), nslots = 64, cnt = 0;
	uint64_t *slots, *out = NULL;
	bool *used;

	if (limit > n)
		limit = n;
	while (nslots < 2 * limit)
		nslots *= 2;
	slots = xcalloc(nslots, sizeof(*slots));
	used = xcalloc(nslots, sizeof(*used));
	for (size_t i = 0; i < n; i++) {
		size_t j = (size_t)((v[i] * 0x9e3779b97f4a7c15ULL) >> 32) & (nslots - 1);

		while (used[j] && slots[j] != v[i])
			j = (j + 1) & (nslots - 1);
		if (used[j])
			continue;
		if (++cnt > limit)
			goto out;
		used[j] = true;
		slots[j] = v[i];
	}
	out = xreallocarray(NULL, cnt ? cnt : 1, sizeof(*out));
	cnt = 0;
	for (size_t j = 0; j < nslots; j++)
		if (used[j])
			out[cnt++] = slots[j];
	qsort(out, cnt, sizeof(*out), cmp_u64);
	*nt = cnt;
out:
	free(slots);
	free(used);
	return out;
}

/*
 * The values of a column, already (value - min) / gcd, all <= vmax, with
 * the smallest of three codecs (qw-split(5)): one bit width for all,
 * a table of the distinct values plus bit-packed indexes, or blocks of
 * COL_VAL_BLOCK values each with its own base and width.
 */
static void write_values(struct split_enc *s, uint64_t *v, size_t n, uint64_t vmax)
{
	unsigned bits = bitpack_width(vmax);
	uint64_t packed_sz = bitpack_bytes(n, bits), blocks_sz = varint_len(n / COL_VAL_BLOCK + 1);
	uint64_t table_sz = UINT64_MAX, nt = 0;
	uint64_t *tab = NULL;

	for (size_t b = 0; b < n; b += COL_VAL_BLOCK) {
		size_t e = n - b < COL_VAL_BLOCK ? n : b + COL_VAL_BLOCK;
		uint64_t lo = UINT64_MAX, hi = 0;

		for (size_t i = b; i < e; i++) {
			if (v[i] < lo)
				lo = v[i];
			if (v[i] > hi)
				hi = v[i];
		}
		blocks_sz += varint_len(lo) + 1 + bitpack_bytes(e - b, bitpack_width(hi - lo));
	}
	if (n > 0 && bits > 1)
		tab = distinct_values(v, n, bits, &nt);
	if (tab)
		table_sz = varint_len(nt) + 1 + bitpack_bytes(nt, bits) + BITPACK_PAD +
			   bitpack_bytes(n, bitpack_width(nt - 1));
	if (table_sz < packed_sz && table_sz < blocks_sz) {
		unsigned ib = bitpack_width(nt - 1);

		buf_add_u8(&s->tmp, COL_VALS_TABLE);
		buf_add_varint(&s->tmp, nt);
		buf_add_u8(&s->tmp, (uint8_t)bits);
		bitpack_write(&s->tmp, tab, nt, bits);
		for (size_t i = 0; i < n; i++) {
			size_t lo = 0, hi = nt;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (tab[mid] < v[i])
					lo = mid + 1;
				else
					hi = mid;
			}
			v[i] = lo;
		}
		buf_add_u8(&s->tmp, (uint8_t)ib);
		bitpack_write(&s->tmp, v, n, ib);
	} else if (blocks_sz < packed_sz) {
		struct buf *d = &s->pk;

		buf_reset(d);
		buf_add_u8(&s->tmp, COL_VALS_BLOCKS);
		buf_add_varint(&s->tmp, (n + COL_VAL_BLOCK - 1) / COL_VAL_BLOCK);
		for (size_t b = 0; b < n; b += COL_VAL_BLOCK) {
			size_t e = n - b < COL_VAL_BLOCK ? n : b + COL_VAL_BLOCK;
			uint64_t lo = UINT64_MAX, hi = 0;
			unsigned w;

			for (size_t i = b; i < e; i++) {
				if (v[i] < lo)
					lo = v[i];
				if (v[i] > hi)
					hi = v[i];
			}
			w = bitpack_width(hi - lo);
			buf_add_varint(&s->tmp, lo);
			buf_add_u8(&s->tmp, (uint8_t)w);
			for (size_t i = b; i < e; i++)
				v[i] -= lo;
			/* bitpack_write pads: drop the padding between blocks */
			bitpack_write(d, v + b, e - b, w);
			d->len -= BITPACK_PAD;
		}
		buf_add(&s->tmp, d->data ? d->data : "", d->len);
		for (int i = 0; i < BITPACK_PAD; i++)
			buf_add_u8(&s->tmp, 0);
	} else {
		buf_add_u8(&s->tmp, COL_VALS_PACKED);
		buf_add_u8(&s->tmp, (uint8_t)bits);
		bitpack_write(&s->tmp, v, n, bits);
	}
	free(tab);
}


static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}


/* ------------------------------------------------------------ open, fields */

struct split_enc *split_enc_open(const char *dir, const struct index_config *cfg, void *zc,
				 struct qw_err *err)
{
	struct split_enc *e = xcalloc(1, sizeof(*e));
	int i;

	e->cfg = cfg;
	e->dir = xstrdup(dir);
	for (i = 0; i < SEC_COUNT; i++)
		e->sec[i].fd = -1;
	for (i = 0; i < SEC_COUNT; i++)
		if (sfile_open(&e->sec[i], dir, split_section_names[i], err) < 0)
			goto fail;
	e->zc = zc;
	if (!e->zc) {
		e->own_zc = ZSTD_createCCtx();
		if (!e->own_zc) {
			err_set(err, EX_SOFTWARE, "cannot create a zstd context");
			goto fail;
		}
		e->zc = e->own_zc;
	}
	return e;
fail:
	split_enc_free(e);
	return NULL;
}

void split_enc_free(struct split_enc *e)
{
	if (!e)
		return;
	for (int i = SEC_COUNT - 1; i >= 0; i--) {
		if (e->sec[i].fd >= 0)
			close(e->sec[i].fd);
		buf_free(&e->sec[i].b);
	}
	buf_free(&e->fields);
	buf_free(&e->fhot);
	buf_free(&e->chot);
	plists_free(&e->pl);
	buf_free(&e->first);
	buf_free(&e->ds_idx);
	buf_free(&e->ds_raw);
	free(e->ds_lens);
	buf_free(&e->tmp);
	buf_free(&e->blk);
	buf_free(&e->idx);
	buf_free(&e->prev);
	buf_free(&e->pk);
	buf_free(&e->z);
	ZSTD_freeCCtx(e->own_zc);
	free(e->u64s);
	free(e->dir);
	free(e);
}

void split_enc_field_begin(struct split_enc *e, const struct split_enc_field *f)
{
	e->f = *f;
	buf_reset(&e->fhot);
	buf_reset(&e->chot);
}

void split_enc_field_end(struct split_enc *e, uint64_t num_terms, uint64_t docs_with_value)
{
	const struct split_enc_field *f = &e->f;
	bool indexed = num_terms > 0, fast = e->chot.len > 0;
	struct buf *h = &e->fields;

	buf_add_varint(h, f->path_len);
	buf_add(h, f->path, f->path_len);
	buf_add_u8(h, (uint8_t)f->kind);
	buf_add_u8(h, (uint8_t)((indexed ? SF_INDEXED : 0) | (fast ? SF_FAST : 0) |
				(f->stored ? SF_STORED : 0)));
	buf_add_u8(h, (uint8_t)f->tok.kind);
	buf_add_u8(h, (uint8_t)f->rec);
	buf_add_u8(h, (uint8_t)f->fnorm);
	if (f->tok.kind == TOK_CUSTOM) {
		/* the definition itself: the searcher tokenizes queries with it */
		json_t *def = config_custom_tokenizer_json(f->tok.custom);
		char *js = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);

		json_decref(def);
		if (!js)
			xalloc_die();
		buf_add_varint(h, strlen(js));
		buf_adds(h, js);
		free(js);
	}
	buf_add_varint(h, num_terms);
	buf_add_varint(h, docs_with_value);
	if (indexed)
		buf_add(h, e->fhot.data, e->fhot.len);
	if (fast)
		buf_add(h, e->chot.data, e->chot.len);
	buf_reset(&e->fhot);
	buf_reset(&e->chot);
}

/* ------------------------------------------------------------ terms */

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

void split_enc_terms_begin(struct split_enc *e)
{
	struct sfile *tf = &e->sec[SEC_TERMS];

	plists_free(&e->pl);
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
	struct sfile *pf = &s->sec[SEC_POSTINGS], *xf = &s->sec[SEC_POSITIONS];
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
		pp = maybe_compress(s, s->tmp.data, s->tmp.len, &plen, &raw);
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
			if (sfile_add(pf, pp, plen, err) < 0)
				return -1;
		}
		if (rec == RECORD_POSITION) {
			uint32_t crc;
			uint8_t c4[4];

			pp = maybe_compress(s, pos, pos_len, &plen, &raw);
			crc = checksum_crc32c(0, pp, plen);
			c4[0] = (uint8_t)crc;
			c4[1] = (uint8_t)(crc >> 8);
			c4[2] = (uint8_t)(crc >> 16);
			c4[3] = (uint8_t)(crc >> 24);
			buf_add_varint(&s->blk, (uint64_t)plen + 4);
			buf_add_varint(&s->blk, raw);
			if (sfile_add(xf, pp, plen, err) < 0 || sfile_add(xf, c4, 4, err) < 0)
				return -1;
		}
	}
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
	plists_free(&s->pl);
	memset(&s->pl, 0, sizeof(s->pl));
	return sfile_add(tf, s->idx.data, s->idx.len, err);
}

/* Hotcache: total tokens, then the field norms unit when kept (qw-split(5)). */
int split_enc_norms(struct split_enc *s, uint64_t total_tokens, const uint8_t *ids,
		    uint32_t num_docs, struct qw_err *err)
{
	struct sfile *nf = &s->sec[SEC_FIELDNORMS];
	uint64_t off = nf->off, raw;
	size_t clen;
	const void *cp;

	buf_add_varint(&s->fhot, total_tokens);
	buf_add_u8(&s->fhot, ids ? 1 : 0);
	if (!ids)
		return 0;
	cp = maybe_compress(s, ids, num_docs, &clen, &raw);
	buf_add_varint(&s->fhot, off);
	buf_add_varint(&s->fhot, clen);
	buf_add_varint(&s->fhot, raw);
	buf_add_u32le(&s->fhot, checksum_crc32c(0, cp, clen));
	return sfile_add(nf, cp, clen, err);
}

/* ------------------------------------------------------------ columns */

/* Presence (which docs have values) and, when multi-valued, where each doc's values start. */
static void column_presence(struct split_enc *s, const struct split_enc_column *c)
{
	uint64_t npres = 0;
	bool multi = false;
	uint32_t nd = c->num_docs;
	unsigned dbits = bitpack_width(nd), bits;

	if (s->u64s_cap < c->n + 2) {
		s->u64s_cap = c->n + 2;
		s->u64s = xreallocarray(s->u64s, s->u64s_cap, sizeof(*s->u64s));
	}
	for (size_t i = 0; i < c->n; i++) {
		if (i == 0 || c->docs[i] != c->docs[i - 1])
			s->u64s[npres++] = c->docs[i];
		else
			multi = true;
	}
	buf_add_varint(&s->tmp, npres);
	if (npres == nd) {
		buf_add_u8(&s->tmp, COL_PRES_FULL);
	} else if (npres * dbits < nd + nd / 8) {
		buf_add_u8(&s->tmp, COL_PRES_SPARSE);
		buf_add_u8(&s->tmp, (uint8_t)dbits);
		bitpack_write(&s->tmp, s->u64s, npres, dbits);
	} else {
		uint64_t nwords = ((uint64_t)nd + 63) / 64, cnt = 0;
		uint64_t *words = xcalloc(nwords ? nwords : 1, sizeof(*words));

		for (uint64_t i = 0; i < npres; i++)
			words[s->u64s[i] >> 6] |= 1ULL << (s->u64s[i] & 63);
		buf_add_u8(&s->tmp, COL_PRES_DENSE);
		for (uint64_t w = 0; w < nwords; w++)
			buf_add_u64le(&s->tmp, words[w]);
		for (uint64_t w = 0; w < nwords; w++) {
			if (w % 8 == 0)
				buf_add_u32le(&s->tmp, (uint32_t)cnt);
			cnt += (uint64_t)__builtin_popcountll(words[w]);
		}
		free(words);
	}
	buf_add_u8(&s->tmp, multi ? 1 : 0);
	if (multi) {
		/* start of each present doc's values, npres + 1 entries */
		uint64_t k = 0;

		for (size_t i = 0; i < c->n; i++)
			if (i == 0 || c->docs[i] != c->docs[i - 1])
				s->u64s[k++] = i;
		s->u64s[k] = c->n;
		bits = bitpack_width(c->n);
		buf_add_u8(&s->tmp, (uint8_t)bits);
		bitpack_write(&s->tmp, s->u64s, npres + 1, bits);
	}
}

int split_enc_column(struct split_enc *s, const struct split_enc_column *c, struct qw_err *err)
{
	struct sfile *ff = &s->sec[SEC_FAST];
	uint64_t off = ff->off, min = UINT64_MAX, max = 0, g = 0, raw;
	uint64_t *v = c->vals;
	size_t clen;
	const void *cp;

	buf_reset(&s->tmp);
	buf_add_u8(&s->tmp, c->is_dict ? COL_DICT : COL_KEYS);
	buf_add_varint(&s->tmp, c->num_docs);
	buf_add_varint(&s->tmp, c->n);
	column_presence(s, c);
	for (size_t i = 0; i < c->n; i++) {
		if (v[i] < min)
			min = v[i];
		if (v[i] > max)
			max = v[i];
	}
	if (c->n == 0)
		min = max = 0;
	for (size_t i = 0; i < c->n && g != 1; i++)
		g = gcd64(g, v[i] - min);
	if (g == 0)
		g = 1;
	for (size_t i = 0; i < c->n; i++)
		v[i] = (v[i] - min) / g;
	buf_add_varint(&s->tmp, min);
	buf_add_varint(&s->tmp, max);
	buf_add_varint(&s->tmp, g);
	write_values(s, v, c->n, (max - min) / g);
	if (c->is_dict && c->dict_is_terms) {
		/* the ordinals are those of the field's term dictionary: no copy */
		buf_add_u8(&s->tmp, COL_DICT_TERMS);
		buf_add_varint(&s->tmp, c->ndict);
	} else if (c->is_dict) {
		uint64_t total = 0;
		unsigned bits;

		buf_add_u8(&s->tmp, COL_DICT_OWN);
		if (s->u64s_cap < c->ndict + 1) {
			s->u64s_cap = c->ndict + 1;
			s->u64s = xreallocarray(s->u64s, s->u64s_cap, sizeof(*s->u64s));
		}
		for (uint64_t i = 0; i < c->ndict; i++) {
			s->u64s[i] = total;
			total += c->dict_len[i];
		}
		s->u64s[c->ndict] = total;
		buf_add_varint(&s->tmp, c->ndict);
		bits = bitpack_width(total);
		buf_add_u8(&s->tmp, (uint8_t)bits);
		bitpack_write(&s->tmp, s->u64s, c->ndict + 1, bits);
		buf_add_varint(&s->tmp, total);
		for (uint64_t i = 0; i < c->ndict; i++)
			buf_add(&s->tmp, c->dict[i], c->dict_len[i]);
	}
	/* the timestamp column stays raw: sorting by it reads it on most searches,
	 * decompressing would cost more than it saves; others compress when it pays */
	if (c->raw) {
		cp = s->tmp.data;
		clen = s->tmp.len;
		raw = 0;
	} else {
		cp = maybe_compress(s, s->tmp.data, s->tmp.len, &clen, &raw);
	}
	buf_add_varint(&s->chot, off);
	buf_add_varint(&s->chot, clen);
	buf_add_varint(&s->chot, raw);
	buf_add_u32le(&s->chot, checksum_crc32c(0, cp, clen));
	return sfile_add(ff, cp, clen, err);
}

/* ------------------------------------------------------------ doc store */

static int ds_add_block(struct split_enc *e, uint32_t num_docs, uint64_t raw_len,
			const void *comp, size_t comp_len, uint32_t crc, struct qw_err *err)
{
	buf_add_varint(&e->ds_idx, num_docs);
	buf_add_varint(&e->ds_idx, raw_len);
	buf_add_varint(&e->ds_idx, comp_len);
	buf_add_u32le(&e->ds_idx, crc);
	e->ds_nblocks++;
	return sfile_add(&e->sec[SEC_DOCSTORE], comp, comp_len, err);
}

/*
 * One doc store block (qw-split(5)): varint count, varint length of each
 * doc, the docs, compressed as one zstd frame without copying the docs
 * next to their header (tmp: scratch), appended to out; *raw_len the
 * frame's content size.
 */
int split_enc_ds_compress(void *vzc, int level, struct buf *tmp, const struct buf *raw,
			  const uint32_t *lens, size_t nlens, struct buf *out_buf,
			  uint64_t *raw_len, struct qw_err *err)
{
	ZSTD_CCtx *zc = vzc;
	size_t bound, total, rem;
	ZSTD_inBuffer in;
	ZSTD_outBuffer out;

	buf_reset(tmp);
	buf_add_varint(tmp, nlens);
	for (size_t i = 0; i < nlens; i++)
		buf_add_varint(tmp, lens[i]);
	total = tmp->len + raw->len;
	bound = ZSTD_compressBound(total);
	buf_grow(out_buf, bound + 1);
	out.dst = out_buf->data + out_buf->len;
	out.size = bound;
	out.pos = 0;
	rem = ZSTD_CCtx_reset(zc, ZSTD_reset_session_only);
	if (!ZSTD_isError(rem))
		rem = ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(rem))
		rem = ZSTD_CCtx_setPledgedSrcSize(zc, total);
	in.src = tmp->data;
	in.size = tmp->len;
	in.pos = 0;
	while (!ZSTD_isError(rem) && in.pos < in.size && out.pos < out.size)
		rem = ZSTD_compressStream2(zc, &out, &in, ZSTD_e_continue);
	in.src = raw->data ? raw->data : "";
	in.size = raw->len;
	in.pos = 0;
	if (!ZSTD_isError(rem)) {
		do
			rem = ZSTD_compressStream2(zc, &out, &in, ZSTD_e_end);
		while (!ZSTD_isError(rem) && rem != 0 && out.pos < out.size);
	}
	if (ZSTD_isError(rem))
		return err_set(err, EX_SOFTWARE, "doc store: zstd compression failed: %s",
			       ZSTD_getErrorName(rem));
	if (rem != 0)
		return err_set(err, EX_SOFTWARE, "doc store: zstd output overflow");
	out_buf->len += out.pos;
	*raw_len = total;
	return 0;
}

/* Compress the current block and add it. */
static int ds_flush(struct split_enc *e, struct qw_err *err)
{
	uint64_t raw_len;

	if (e->ds_nlens == 0)
		return 0;
	buf_reset(&e->z);
	if (split_enc_ds_compress(e->zc, e->cfg->docstore_compression_level, &e->tmp, &e->ds_raw,
				  e->ds_lens, e->ds_nlens, &e->z, &raw_len, err) < 0 ||
	    ds_add_block(e, (uint32_t)e->ds_nlens, raw_len, e->z.data, e->z.len,
			 checksum_crc32c(0, e->z.data, e->z.len), err) < 0)
		return -1;
	e->ds_nlens = 0;
	buf_reset(&e->ds_raw);
	return 0;
}

int split_enc_ds_block(struct split_enc *e, uint32_t num_docs, uint64_t raw_len,
		       const void *comp, size_t comp_len, uint32_t crc, struct qw_err *err)
{
	/* the documents before it first: doc ids stay in order */
	if (ds_flush(e, err) < 0)
		return -1;
	return ds_add_block(e, num_docs, raw_len, comp, comp_len, crc, err);
}

int split_enc_ds_doc(struct split_enc *e, const void *doc, size_t len, struct qw_err *err)
{
	XGROW(e->ds_lens, e->ds_nlens + 1, e->ds_lens_cap);
	e->ds_lens[e->ds_nlens++] = (uint32_t)len;
	buf_add(&e->ds_raw, doc, len);
	if (e->ds_raw.len >= e->cfg->docstore_blocksize)
		return ds_flush(e, err);
	return 0;
}

static int write_json_file(const char *dir, const char *name, json_t *j, struct qw_err *err)
{
	char *p = fsutil_join(dir, name);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	int ret = -1;

	if (!text) {
		err_set(err, EX_SOFTWARE, "cannot serialize '%s'", p);
		goto out;
	}
	ret = fsutil_write_atomic(p, text, strlen(text), err);
out:
	free(text);
	free(p);
	return ret;
}

void split_enc_meta(json_t *meta, uint32_t num_docs, uint64_t uncompressed, bool has_time,
		    int64_t tmin, int64_t tmax)
{
	json_t *tr;

	json_object_set_new(meta, "num_docs", json_integer(num_docs));
	json_object_set_new(meta, "uncompressed_docs_size_in_bytes",
			    json_integer((json_int_t)uncompressed));
	if (!has_time) {
		json_object_set_new(meta, "time_range", json_null());
		return;
	}
	tr = json_object();

	json_object_set_new(tr, "start", json_integer(tmin));
	json_object_set_new(tr, "end", json_integer(tmax));
	json_object_set_new(meta, "time_range_us", tr);
	tr = json_object();
	/* Quickwit's time_range is in seconds */
	json_object_set_new(tr, "start", json_integer(tmin >= 0 ? tmin / 1000000 :
						      -((-tmin + 999999) / 1000000)));
	json_object_set_new(tr, "end", json_integer(tmax >= 0 ? tmax / 1000000 :
						    -((-tmax + 999999) / 1000000)));
	json_object_set_new(meta, "time_range", tr);
}

int split_enc_finish(struct split_enc *e, uint32_t num_docs, size_t nfields, json_t *meta,
		     struct qw_err *err)
{
	struct buf hot = BUF_INIT;
	char *hp = NULL;
	int ret = -1;

	if (ds_flush(e, err) < 0)
		goto out;
	for (int i = 0; i < SEC_COUNT; i++)
		if (sfile_close(&e->sec[i], err) < 0)
			goto out;
	buf_add_varint(&hot, num_docs);
	buf_add_varint(&hot, nfields);
	buf_add(&hot, e->fields.data, e->fields.len);
	buf_add_varint(&hot, e->ds_nblocks);
	buf_add(&hot, e->ds_idx.data, e->ds_idx.len);
	hp = fsutil_join(e->dir, "hotcache");
	if (fsutil_write_atomic(hp, hot.data ? hot.data : "", hot.len, err) < 0)
		goto out;
	json_object_set_new(meta, "num_fields", json_integer((json_int_t)nfields));
	ret = write_json_file(e->dir, "segment.json", meta, err);
out:
	free(hp);
	buf_free(&hot);
	return ret;
}
