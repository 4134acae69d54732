/*
 * split_docstore: the doc store ("docstore" section) and its block index at
 * the end of the hotcache, encoder and decoder side by side (qw-split(5)):
 * blocks of documents, each one zstd frame.
 */
#include "split/split_internal.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "base/buf.h"
#include "base/checksum.h"
#include "base/xalloc.h"

/* ------------------------------------------------------------ encoding */

static int ds_add_block(struct split_enc *e, uint32_t num_docs, uint64_t raw_len,
			const void *comp, size_t comp_len, uint32_t crc, struct qw_err *err)
{
	buf_add_varint(&e->ds_idx, num_docs);
	buf_add_varint(&e->ds_idx, raw_len);
	buf_add_varint(&e->ds_idx, comp_len);
	buf_add_u32le(&e->ds_idx, crc);
	e->ds_nblocks++;
	return split_sfile_add(&e->sec[SEC_DOCSTORE], comp, comp_len, err);
}

/*
 * One doc store block (qw-split(5), version 3): every doc followed by a
 * newline, compressed as one zstd frame, appended to out; *raw_len the
 * frame's content size. The newlines replace version 2's header of varint
 * lengths: zstd predicts a newline after "}" almost for free, where the
 * lengths cost about 1.7 bytes a doc compressed (9% of the doc store of
 * small access-log docs). A doc holding a newline (no canonical JSON text
 * does) is refused. tmp: scratch for the framed docs.
 */
int split_enc_ds_compress(void *vzc, int level, struct buf *tmp, const struct buf *raw,
			  const uint32_t *lens, size_t nlens, struct buf *out_buf,
			  uint64_t *raw_len, struct qw_err *err)
{
	ZSTD_CCtx *zc = vzc;
	const char *src = raw->data ? raw->data : "";
	size_t bound, k, at = 0;

	buf_reset(tmp);
	buf_grow(tmp, raw->len + nlens);
	for (size_t i = 0; i < nlens; i++) {
		if (lens[i] > raw->len - at || memchr(src + at, '\n', lens[i]))
			return err_set(err, EX_SOFTWARE, "doc store: document %zu of the block %s", i,
				       lens[i] > raw->len - at ? "overruns it" : "holds a newline");
		memcpy(tmp->data + tmp->len, src + at, lens[i]);
		tmp->len += lens[i];
		tmp->data[tmp->len++] = '\n';
		at += lens[i];
	}
	bound = ZSTD_compressBound(tmp->len);
	buf_grow(out_buf, bound + 1);
	k = ZSTD_compressCCtx(zc, out_buf->data + out_buf->len, bound, tmp->data, tmp->len, level);
	if (ZSTD_isError(k))
		return err_set(err, EX_SOFTWARE, "doc store: zstd compression failed: %s",
			       ZSTD_getErrorName(k));
	out_buf->len += k;
	*raw_len = tmp->len;
	return 0;
}

int split_docstore_flush(struct split_enc *e, struct qw_err *err)
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
	if (split_docstore_flush(e, err) < 0)
		return -1;
	return ds_add_block(e, num_docs, raw_len, comp, comp_len, crc, err);
}

int split_enc_ds_doc(struct split_enc *e, const void *doc, size_t len, struct qw_err *err)
{
	XGROW(e->ds_lens, e->ds_nlens + 1, e->ds_lens_cap);
	e->ds_lens[e->ds_nlens++] = (uint32_t)len;
	buf_add(&e->ds_raw, doc, len);
	if (e->ds_raw.len >= e->cfg->docstore_blocksize)
		return split_docstore_flush(e, err);
	return 0;
}

/* ------------------------------------------------------------ decoding */

/* The doc store block index, the end of the hotcache (r->footer). */
int split_docstore_load_index(struct split_reader *r, struct qw_err *err)
{
	struct cur c;
	uint64_t n, ds_off = 0, doc = 0;

	if (r->ds_at == SIZE_MAX)
		return 0;
	cur_init(&c, r->footer + r->ds_at, r->hot_len - r->ds_at);
	n = cur_varint(&c);
	if (c.bad || n > r->hot_len)
		goto bad;
	r->ds = xcalloc(n ? n : 1, sizeof(*r->ds));
	r->nds = n;
	for (size_t i = 0; i < n; i++) {
		struct dsb *b = &r->ds[i];

		b->first_doc = (uint32_t)doc;
		b->num_docs = cur_varint32(&c);
		b->raw_len = cur_varint(&c);
		b->len = cur_varint(&c);
		b->crc = cur_u32le(&c);
		b->off = ds_off;
		doc += b->num_docs;
		ds_off += b->len;
		if (c.bad || b->num_docs == 0 || doc > r->num_docs || b->len > r->sec_len[SEC_DOCSTORE] ||
		    ds_off > r->sec_len[SEC_DOCSTORE] || b->raw_len > MAX_UNIT)
			goto bad;
	}
	if (doc != r->num_docs || cur_left(&c) != 0)
		goto bad;
	r->ds_at = SIZE_MAX;
	return 0;
bad:
	free(r->ds);
	r->ds = NULL;
	r->nds = 0;
	return split_corrupt(r, err, -1, r->hot_off + r->ds_at + (uint64_t)(c.p - (r->footer + r->ds_at)),
		       "bad hotcache");
}

/*
 * Where each doc of a decompressed block starts: doc i is the bytes from
 * offs[i] to offs[i + 1], less its newline in version 3. -1 when the
 * block does not hold exactly n docs.
 */
static int ds_offsets_v2(const uint8_t *raw, uint64_t len, uint32_t n, uint64_t *offs)
{
	struct cur c;
	uint64_t total = 0;

	cur_init(&c, raw, len);
	if (cur_varint(&c) != n)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		offs[i] = total;
		total += cur_varint(&c);
	}
	if (c.bad || total != cur_left(&c))
		return -1;
	for (uint32_t i = 0; i <= n; i++)
		offs[i] = (i < n ? offs[i] : total) + (uint64_t)(c.p - raw);
	return 0;
}

static int ds_offsets_v3(const uint8_t *raw, uint64_t len, uint32_t n, uint64_t *offs)
{
	uint64_t at = 0;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *nl = at < len ? memchr(raw + at, '\n', len - at) : NULL;

		if (!nl)
			return -1;
		offs[i] = at;
		at = (uint64_t)(nl - raw) + 1;
	}
	if (at != len)
		return -1;
	offs[n] = len;
	return 0;
}

static int load_ds_block(struct split_reader *r, size_t bi, struct qw_err *err)
{
	const struct dsb *b = &r->ds[bi];
	ZSTD_DCtx *zd;
	uint8_t *comp;
	size_t n;

	r->ds_cached = -1;
	comp = split_rd_crc(r, SEC_DOCSTORE, b->off, b->len, b->crc, err);
	if (!comp)
		return -1;
	if (b->raw_len / 4096 > b->len || ZSTD_getFrameContentSize(comp, b->len) != b->raw_len) {
		free(comp);
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	}
	/* reuse the block buffer: fresh large allocations fault in every page */
	if (b->raw_len + 1 > r->ds_raw_cap) {
		free(r->ds_raw);
		r->ds_raw = xmalloc(b->raw_len + 1);
		r->ds_raw_cap = b->raw_len + 1;
	}
	zd = split_rd_zstd(r);
	n = zd ? ZSTD_decompressDCtx(zd, r->ds_raw, b->raw_len, comp, b->len) : 0;
	free(comp);
	if (!zd || ZSTD_isError(n) || n != b->raw_len)
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "cannot decompress doc store block");
	free(r->ds_offs);
	r->ds_offs = xreallocarray(NULL, (size_t)b->num_docs + 1, sizeof(*r->ds_offs));
	if ((r->version >= 3 ? ds_offsets_v3 : ds_offsets_v2)(r->ds_raw, b->raw_len, b->num_docs,
							       r->ds_offs) < 0)
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	r->ds_cached = (int64_t)bi;
	return 0;
}

int split_reader_doc(struct split_reader *r, uint32_t doc, const char **json, size_t *len,
		     struct qw_err *err)
{
	size_t lo = 0, hi;
	const struct dsb *b;

	if (doc >= r->num_docs)
		return err_set(err, EX_SOFTWARE, "split '%s': no doc %u", r->path, doc);
	if (split_docstore_load_index(r, err) < 0)
		return -1;
	hi = r->nds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->ds[mid].first_doc <= doc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return split_corrupt(r, err, SEC_DOCSTORE, 0, "doc not in the block index");
	b = &r->ds[lo - 1];
	if (r->ds_cached != (int64_t)(lo - 1) && load_ds_block(r, lo - 1, err) < 0)
		return -1;
	*json = (const char *)r->ds_raw + r->ds_offs[doc - b->first_doc];
	*len = r->ds_offs[doc - b->first_doc + 1] - r->ds_offs[doc - b->first_doc] -
	       (r->version >= 3 ? 1 : 0);
	return 0;
}

int split_reader_ds_blocks(struct split_reader *r, size_t *n, struct qw_err *err)
{
	if (split_docstore_load_index(r, err) < 0)
		return -1;
	*n = r->nds;
	return 0;
}

uint32_t split_reader_format_version(const struct split_reader *r)
{
	return r->version;
}

int split_reader_ds_block(struct split_reader *r, size_t i, struct split_ds_block *out,
			  uint8_t **comp, struct qw_err *err)
{
	const struct dsb *b;

	if (comp)
		*comp = NULL;
	if (split_docstore_load_index(r, err) < 0)
		return -1;
	if (i >= r->nds)
		return err_set(err, EX_SOFTWARE, "split '%s': no doc store block %zu", r->path, i);
	b = &r->ds[i];
	out->first_doc = b->first_doc;
	out->num_docs = b->num_docs;
	out->raw_len = b->raw_len;
	out->len = b->len;
	out->crc = b->crc;
	if (!comp)
		return 0;
	*comp = split_rd_crc(r, SEC_DOCSTORE, b->off, b->len, b->crc, err);
	if (!*comp)
		return -1;
	if (b->raw_len / 4096 > b->len || ZSTD_getFrameContentSize(*comp, b->len) != b->raw_len) {
		free(*comp);
		*comp = NULL;
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	}
	return 0;
}

