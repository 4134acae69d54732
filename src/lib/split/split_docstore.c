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

static int load_ds_block(struct split_reader *r, size_t bi, struct qw_err *err)
{
	const struct dsb *b = &r->ds[bi];
	ZSTD_DCtx *zd;
	uint8_t *comp;
	size_t n;
	struct cur c;
	uint64_t total = 0;

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
	cur_init(&c, r->ds_raw, b->raw_len);
	if (cur_varint(&c) != b->num_docs)
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	free(r->ds_offs);
	r->ds_offs = xreallocarray(NULL, (size_t)b->num_docs + 1, sizeof(*r->ds_offs));
	for (uint32_t i = 0; i < b->num_docs; i++) {
		r->ds_offs[i] = total;
		total += cur_varint(&c);
	}
	if (c.bad || total != cur_left(&c))
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	for (uint32_t i = 0; i <= b->num_docs; i++)
		r->ds_offs[i] = (i < b->num_docs ? r->ds_offs[i] : total) + (uint64_t)(c.p - r->ds_raw);
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
	*len = r->ds_offs[doc - b->first_doc + 1] - r->ds_offs[doc - b->first_doc];
	return 0;
}

int split_reader_ds_blocks(struct split_reader *r, size_t *n, struct qw_err *err)
{
	if (split_docstore_load_index(r, err) < 0)
		return -1;
	*n = r->nds;
	return 0;
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

