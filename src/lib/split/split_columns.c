/*
 * split_columns: the fast column of a field ("fast" section), encoder and
 * decoder side by side (qw-split(5)): presence, the values with the
 * smallest of three codecs, and a dictionary column's terms.
 */
#include "split/split_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/bitpack.h"
#include "base/buf.h"
#include "base/checksum.h"
#include "base/xalloc.h"

/* ------------------------------------------------------------ encoding */

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
		cp = split_enc_maybe_compress(s, s->tmp.data, s->tmp.len, &clen, &raw);
	}
	buf_add_varint(&s->chot, off);
	buf_add_varint(&s->chot, clen);
	buf_add_varint(&s->chot, raw);
	buf_add_u32le(&s->chot, checksum_crc32c(0, cp, clen));
	return split_sfile_add(ff, cp, clen, err);
}

/* ------------------------------------------------------------ decoding */

/* A fast field's column entry of the hotcache, as split_enc_column() writes it. */
bool split_columns_read_hot(struct cur *c, const struct split_reader *r, struct rfield *f)
{
	f->col_off = cur_varint(c);
	f->col_len = cur_varint(c);
	f->col_raw = cur_varint(c);
	f->col_crc = cur_u32le(c);
	return !(f->col_off > r->sec_len[SEC_FAST] ||
		 f->col_len > r->sec_len[SEC_FAST] - f->col_off || f->col_raw > MAX_UNIT);
}

struct split_column {
	uint8_t *buf;
	uint64_t len;
	bool dict, multi;
	uint8_t pres;
	uint32_t nd;
	uint64_t nv, npres, nwords;
	unsigned row_bits, bits, off_bits, doc_bits, tab_bits;
	const uint8_t *rows, *vals, *offs, *blob, *words, *ranks, *pdocs, *tab;
	uint32_t *wrank;         /* dense presence: docs present before each word */
	uint64_t min, max, gcd;
	uint64_t nterms, blob_len;
	uint8_t vcodec;          /* COL_VALS_* */
	uint64_t ntab;           /* table codec: distinct values */
	uint64_t nblk;           /* blocks codec: per block base, width, data offset */
	uint64_t *blk_base, *blk_off;
	uint8_t *blk_w;
	/* COL_DICT_TERMS: the terms, read from the term dictionary on first use */
	struct split_reader *r;
	int field;
	bool terms_dict, terms_loaded, terms_failed;
	uint8_t *tblob;
	uint64_t *toffs;
};

static const uint8_t *packed(struct cur *c, uint64_t n, unsigned *bits);

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/*
 * Dense presence: the rank of the first doc of each 64-doc word, so that a
 * doc's rank is one popcount (the file's ranks every 512 docs would need up
 * to 8). False when the bitset does not hold npres docs below nd or
 * disagrees with the file's ranks.
 */
static bool column_word_ranks(struct split_column *col)
{
	uint64_t cnt = 0, last;

	col->wrank = xreallocarray(NULL, col->nwords ? col->nwords : 1, sizeof(*col->wrank));
	for (uint64_t w = 0; w < col->nwords; w++) {
		if (w % 8 == 0) {
			const uint8_t *rp = col->ranks + (w / 8) * 4;

			if (((uint64_t)rp[0] | (uint64_t)rp[1] << 8 | (uint64_t)rp[2] << 16 |
			     (uint64_t)rp[3] << 24) != cnt)
				return false;
		}
		col->wrank[w] = (uint32_t)cnt;
		cnt += (uint64_t)__builtin_popcountll(le64(col->words + w * 8));
	}
	if (col->nwords && col->nd % 64) {
		last = le64(col->words + (col->nwords - 1) * 8);
		if (last >> (col->nd % 64))
			return false;
	}
	return cnt == col->npres;
}

/* The values part of a column (qw-split(5)); false when malformed. */
static bool column_values(struct cur *c, struct split_column *col)
{
	uint64_t data = 0;

	col->vcodec = cur_u8(c);
	switch (col->vcodec) {
	case COL_VALS_PACKED:
		col->vals = packed(c, col->nv, &col->bits);
		return !c->bad;
	case COL_VALS_TABLE:
		col->ntab = cur_varint(c);
		if (c->bad || col->ntab == 0 || col->ntab > col->nv)
			return false;
		col->tab = packed(c, col->ntab, &col->tab_bits);
		col->vals = packed(c, col->nv, &col->bits);
		return !c->bad;
	case COL_VALS_BLOCKS:
		col->nblk = cur_varint(c);
		/*
		 * nv is bounded as packed() bounds it, nblk computed without the
		 * wrap of nv + 127, and each block takes at least two bytes (a
		 * base varint and a width), so a corrupt count cannot make us
		 * allocate more than the column's size.
		 */
		if (c->bad || col->nv > (1ULL << 40) ||
		    col->nblk != col->nv / COL_VAL_BLOCK + (col->nv % COL_VAL_BLOCK != 0) ||
		    col->nblk > cur_left(c) / 2)
			return false;
		col->blk_base = xcalloc(col->nblk ? col->nblk : 1, sizeof(*col->blk_base));
		col->blk_off = xcalloc(col->nblk ? col->nblk : 1, sizeof(*col->blk_off));
		col->blk_w = xcalloc(col->nblk ? col->nblk : 1, 1);
		for (uint64_t b = 0; b < col->nblk; b++) {
			uint64_t cnt = b + 1 < col->nblk ? COL_VAL_BLOCK : col->nv - b * COL_VAL_BLOCK;

			col->blk_base[b] = cur_varint(c);
			col->blk_w[b] = cur_u8(c);
			if (c->bad || col->blk_w[b] > 64)
				return false;
			col->blk_off[b] = data;
			data += bitpack_bytes(cnt, col->blk_w[b]);
		}
		col->vals = cur_bytes(c, data + BITPACK_PAD);
		return !c->bad;
	default:
		return false;
	}
}

/* Check a bit-packed region of n values and skip it. */
static const uint8_t *packed(struct cur *c, uint64_t n, unsigned *bits)
{
	*bits = cur_u8(c);
	if (c->bad || *bits > 64 || n > (1ULL << 40))
		return c->bad = true, NULL;
	return cur_bytes(c, bitpack_bytes(n, *bits) + BITPACK_PAD);
}

struct split_column *split_column_open(struct split_reader *r, int field, struct qw_err *err)
{
	struct rfield *f = split_field_at(r, field, err);
	struct split_column *col;
	struct cur c;

	if (!f)
		return NULL;
	if (!f->info.fast) {
		err_set(err, EX_USAGE, "field '%s' is not a fast field", f->info.path);
		return NULL;
	}
	col = xcalloc(1, sizeof(*col));
	col->buf = split_rd_crc(r, SEC_FAST, f->col_off, f->col_len, f->col_crc, err);
	if (!col->buf)
		goto fail;
	col->len = f->col_len;
	if (f->col_raw) {
		if (split_inflate_unit(r, SEC_FAST, f->col_off, &col->buf, f->col_len, f->col_raw, err) < 0)
			goto fail;
		col->len = f->col_raw;
	}
	cur_init(&c, col->buf, col->len);
	col->dict = cur_u8(&c) == COL_DICT;
	col->nd = cur_varint32(&c);
	col->nv = cur_varint(&c);
	col->npres = cur_varint(&c);
	col->pres = cur_u8(&c);
	if (c.bad || col->nd != r->num_docs || col->npres > col->nd || col->npres > col->nv ||
	    (col->nv > 0 && col->npres == 0))
		goto bad;
	switch (col->pres) {
	case COL_PRES_FULL:
		if (col->npres != col->nd)
			goto bad;
		break;
	case COL_PRES_SPARSE:
		col->pdocs = packed(&c, col->npres, &col->doc_bits);
		break;
	case COL_PRES_DENSE:
		col->nwords = ((uint64_t)col->nd + 63) / 64;
		col->words = cur_bytes(&c, col->nwords * 8);
		col->ranks = cur_bytes(&c, (col->nwords + 7) / 8 * 4);
		if (c.bad || !column_word_ranks(col))
			goto bad;
		break;
	default:
		goto bad;
	}
	col->multi = cur_u8(&c) == 1;
	if (col->multi)
		col->rows = packed(&c, col->npres + 1, &col->row_bits);
	else if (col->nv != col->npres)
		goto bad;
	col->min = cur_varint(&c);
	col->max = cur_varint(&c);
	col->gcd = cur_varint(&c);
	if (c.bad || !column_values(&c, col) || col->gcd == 0 || col->min > col->max)
		goto bad;
	if (col->dict) {
		uint8_t src = cur_u8(&c);

		col->nterms = cur_varint(&c);
		if (src == COL_DICT_TERMS) {
			if (!f->info.indexed || col->nterms != f->info.num_terms)
				goto bad;
			col->terms_dict = true;
			col->r = r;
			col->field = field;
		} else if (src == COL_DICT_OWN) {
			col->offs = packed(&c, col->nterms + 1, &col->off_bits);
			col->blob_len = cur_varint(&c);
			col->blob = cur_bytes(&c, col->blob_len);
		} else {
			goto bad;
		}
		if (c.bad || (col->nv && col->max >= col->nterms))
			goto bad;
	}
	if (c.bad || cur_left(&c) != 0)
		goto bad;
	return col;
bad:
	split_corrupt(r, err, SEC_FAST, f->col_off + (uint64_t)(c.p - col->buf), "bad fast column");
fail:
	split_column_free(col);
	return NULL;
}

void split_column_free(struct split_column *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c->blk_base);
	free(c->blk_off);
	free(c->blk_w);
	free(c->tblob);
	free(c->toffs);
	free(c->wrank);
	free(c);
}

bool split_column_is_dict(const struct split_column *c)
{
	return c->dict;
}

uint32_t split_column_num_docs(const struct split_column *c)
{
	return c->nd;
}

bool split_column_single_valued(const struct split_column *c)
{
	return c->pres == COL_PRES_FULL && !c->multi;
}

/* Rank of doc among the docs with values; false when doc has none. */
static bool column_rank(const struct split_column *c, uint32_t doc, uint64_t *rank)
{
	switch (c->pres) {
	case COL_PRES_FULL:
		*rank = doc;
		return true;
	case COL_PRES_SPARSE: {
		uint64_t lo = 0, hi = c->npres;

		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (bitpack_get(c->pdocs, c->doc_bits, mid) < doc)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->npres && bitpack_get(c->pdocs, c->doc_bits, lo) == doc) {
			*rank = lo;
			return true;
		}
		return false;
	}
	default: {
		uint64_t w = doc >> 6, word = le64(c->words + w * 8);

		if (!(word & (1ULL << (doc & 63))))
			return false;
		*rank = c->wrank[w] + (uint64_t)__builtin_popcountll(word & ((1ULL << (doc & 63)) - 1));
		return true;
	}
	}
}

void split_column_doc_range(const struct split_column *c, uint32_t doc, uint64_t *start,
			    uint64_t *end)
{
	uint64_t r;

	*start = *end = 0;
	if (doc >= c->nd || !column_rank(c, doc, &r) || r >= c->npres)
		return;
	if (!c->multi) {
		*start = r;
		*end = r + 1;
		return;
	}
	*start = bitpack_get(c->rows, c->row_bits, r);
	*end = bitpack_get(c->rows, c->row_bits, r + 1);
	/* never trust the file beyond the values we have */
	if (*end > c->nv)
		*end = c->nv;
	if (*start > *end)
		*start = *end;
}

static inline uint64_t column_value(const struct split_column *c, uint64_t idx)
{
	uint64_t v;

	if (idx >= c->nv)
		return c->min;
	switch (c->vcodec) {
	case COL_VALS_TABLE:
		v = bitpack_get(c->vals, c->bits, idx);
		v = bitpack_get(c->tab, c->tab_bits, v < c->ntab ? v : c->ntab - 1);
		break;
	case COL_VALS_BLOCKS: {
		uint64_t b = idx / COL_VAL_BLOCK;

		v = c->blk_base[b] + bitpack_get(c->vals + c->blk_off[b], c->blk_w[b], idx % COL_VAL_BLOCK);
		break;
	}
	default:
		v = bitpack_get(c->vals, c->bits, idx);
		break;
	}
	v = c->min + c->gcd * v;
	if (v > c->max || v < c->min)
		v = c->max;
	return v;
}

uint64_t split_column_value(const struct split_column *c, uint64_t idx)
{
	return column_value(c, idx);
}

uint64_t split_column_num_blocks(const struct split_column *c)
{
	return (c->nv + COL_VAL_BLOCK - 1) / COL_VAL_BLOCK;
}

void split_column_block(const struct split_column *c, uint64_t b, uint64_t *first, uint64_t *end,
			uint64_t *vmin, uint64_t *vmax)
{
	*first = b * COL_VAL_BLOCK;
	*end = *first + COL_VAL_BLOCK < c->nv ? *first + COL_VAL_BLOCK : c->nv;
	*vmin = c->min;
	*vmax = c->max;
	if (c->vcodec == COL_VALS_BLOCKS && b < c->nblk && c->gcd) {
		/* values are min + gcd * (base + x), x < 2^width; out-of-range
		 * ones read as max (column_value), so max stays a bound */
		uint64_t span = c->blk_w[b] >= 64 ? UINT64_MAX : (1ULL << c->blk_w[b]) - 1;
		uint64_t lo = c->blk_base[b], hi = lo + span < lo ? UINT64_MAX : lo + span;
		uint64_t steps = (c->max - c->min) / c->gcd;

		*vmin = lo <= steps ? c->min + c->gcd * lo : c->max;
		if (hi <= steps)
			*vmax = c->min + c->gcd * hi;
	}
}

#define UNPACK_RUN 256

/*
 * The packed values [start, start + n) of the region p (bits each, as
 * bitpack_get() reads them), into out: a run at a time through
 * bitpack_unpack32() from the multiple of 8 at or below start, where the
 * bits are byte aligned; bitpack_get() one by one above 32 bits.
 */
static void unpack_values(const uint8_t *p, unsigned bits, uint64_t start, size_t n, uint64_t *out)
{
	uint32_t tmp[UNPACK_RUN + 8];

	if (bits > 32) {
		for (size_t i = 0; i < n; i++)
			out[i] = bitpack_get(p, bits, start + i);
		return;
	}
	while (n > 0) {
		uint64_t at = start & ~(uint64_t)7;
		size_t skip = (size_t)(start - at), m = n < UNPACK_RUN ? n : UNPACK_RUN;

		bitpack_unpack32(p + at / 8 * bits, bits, tmp, skip + m);
		for (size_t i = 0; i < m; i++)
			out[i] = tmp[skip + i];
		start += m;
		n -= m;
		out += m;
	}
}

/*
 * column_value() of [start, start + n) in bulk, each codec's loop apart:
 * the aggregations read a batch of docs' values at once.
 */
void split_column_values(const struct split_column *c, uint64_t start, size_t n, uint64_t *out)
{
	size_t m = start < c->nv ? (n < c->nv - start ? n : (size_t)(c->nv - start)) : 0, i;

	switch (c->vcodec) {
	case COL_VALS_TABLE:
		unpack_values(c->vals, c->bits, start, m, out);
		for (i = 0; i < m; i++)
			out[i] = bitpack_get(c->tab, c->tab_bits, out[i] < c->ntab ? out[i] : c->ntab - 1);
		break;
	case COL_VALS_BLOCKS:
		for (i = 0; i < m;) {
			uint64_t idx = start + i, b = idx / COL_VAL_BLOCK, in = idx % COL_VAL_BLOCK;
			size_t k = COL_VAL_BLOCK - in < m - i ? (size_t)(COL_VAL_BLOCK - in) : m - i;

			unpack_values(c->vals + c->blk_off[b], c->blk_w[b], in, k, out + i);
			for (size_t j = i; j < i + k; j++)
				out[j] += c->blk_base[b];
			i += k;
		}
		break;
	default:
		unpack_values(c->vals, c->bits, start, m, out);
		break;
	}
	for (i = 0; i < m; i++) {
		uint64_t v = c->min + c->gcd * out[i];

		out[i] = v > c->max || v < c->min ? c->max : v;
	}
	/* past the values: what column_value() gives there */
	for (i = m; i < n; i++)
		out[i] = column_value(c, start + i);
}

bool split_column_first(const struct split_column *c, uint32_t doc, uint64_t *v)
{
	uint64_t s, e;

	split_column_doc_range(c, doc, &s, &e);
	if (s == e)
		return false;
	*v = split_column_value(c, s);
	return true;
}

bool split_column_min_max(const struct split_column *c, uint64_t *min, uint64_t *max)
{
	if (c->nv == 0)
		return false;
	*min = c->min;
	*max = c->max;
	return true;
}

uint64_t split_column_dict_size(const struct split_column *c)
{
	return c->nterms;
}

/* A column whose terms are the field's term dictionary: read them all once. */
static int column_load_terms(struct split_column *c)
{
	struct qw_err err = { 0 };
	struct split_terms *it;
	struct buf blob = BUF_INIT;
	uint64_t n = 0;
	const uint8_t *t;
	size_t tl;
	struct split_term_info ti;
	int k = -1;

	c->terms_failed = true;
	c->toffs = xreallocarray(NULL, c->nterms + 1, sizeof(*c->toffs));
	it = split_terms_open(c->r, c->field, NULL, 0, &err);
	if (it) {
		while ((k = split_terms_next(it, &t, &tl, &ti, &err)) == 1 && n < c->nterms) {
			c->toffs[n++] = blob.len;
			buf_add(&blob, t, tl);
		}
		split_terms_free(it);
	}
	if (k != 0 || n != c->nterms) {
		buf_free(&blob);
		return -1;
	}
	c->toffs[n] = blob.len;
	c->blob_len = blob.len;
	c->tblob = (uint8_t *)(blob.data ? blob.data : xcalloc(1, 1));
	c->blob = c->tblob;
	c->terms_loaded = true;
	c->terms_failed = false;
	return 0;
}

int split_column_dict_term(const struct split_column *c, uint64_t ord, const uint8_t **term,
			   size_t *len)
{
	uint64_t s, e;

	*term = (const uint8_t *)"";
	*len = 0;
	if (!c->dict || ord >= c->nterms)
		return -1;
	if (c->terms_dict) {
		/* lazily filled cache: a column is used by one thread (split_reader.h) */
		struct split_column *mc = (struct split_column *)c;

		if (!c->terms_loaded && (c->terms_failed || column_load_terms(mc) < 0))
			return -1;
		*term = c->tblob + c->toffs[ord];
		*len = c->toffs[ord + 1] - c->toffs[ord];
		return 0;
	}
	s = bitpack_get(c->offs, c->off_bits, ord);
	e = bitpack_get(c->offs, c->off_bits, ord + 1);
	if (s > e || e > c->blob_len)
		return -1;
	*term = c->blob + s;
	*len = e - s;
	return 0;
}

