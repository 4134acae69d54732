/*
 * split_docstore: the doc store ("docstore" section) and its block index at
 * the end of the hotcache, encoder and decoder side by side (qw-split(5)):
 * blocks of documents, each one zstd frame.
 */
#include "split/split_internal.h"

#include <stdlib.h>
#include <string.h>

/* ZSTD_d_stableOutBuffer: decode a block in place, not through zstd's window */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "base/buf.h"
#include "base/checksum.h"
#include "base/xalloc.h"

/* ------------------------------------------------------------ encoding */

/*
 * Version 4 blocks carry their seek table (where the compressed prefixes
 * that hold whole docs end) from the compressor to the block index in a
 * zstd skippable frame after the block's frame, as zstd's seekable format
 * does: segment.c and merges hand blocks over as opaque bytes, and the
 * table travels with them. It never reaches the docstore section.
 */
#define DS_SEEK_MAGIC 0x184D2A5Bu        /* ZSTD_MAGIC_SKIPPABLE_START + 11 */

/* One seek point of a seek table: docs and compressed bytes since the
 * previous point, then the crc of the compressed prefix up to it. */
static void ds_put_point(struct buf *pts, uint64_t docs, uint64_t len, uint32_t crc)
{
	buf_add_varint(pts, docs);
	buf_add_varint(pts, len);
	buf_add_u32le(pts, crc);
}

/* The skippable frame after a block's zstd frame: magic, length, the
 * number of points, then npts points as ds_put_point wrote them. */
static void ds_put_seek_frame(struct buf *out, uint64_t npts, const struct buf *pts)
{
	struct buf head = BUF_INIT;

	buf_add_varint(&head, npts);
	buf_add_u32le(out, DS_SEEK_MAGIC);
	buf_add_u32le(out, (uint32_t)(head.len + pts->len));
	buf_add(out, head.data, head.len);
	if (pts->len)
		buf_add(out, pts->data, pts->len);
	buf_free(&head);
}

/*
 * A flush point is cut after the doc that brings the raw bytes since the
 * last one to this: small enough that fetching the newest docs of a block
 * decodes a few KB, large enough that the flushes (a zstd block each) and
 * the table cost under 1% of the split.
 */
#define DS_FLUSH_BYTES 131072

/* The block index entry of one block: its frame's description, then the
 * seek points between the frame's start and its end. */
static int ds_add_block(struct split_enc *e, uint32_t num_docs, uint64_t raw_len,
			const void *comp, size_t comp_len, struct qw_err *err)
{
	size_t frame_len = ZSTD_findFrameCompressedSize(comp, comp_len);
	const uint8_t *seek = (const uint8_t *)comp + frame_len;
	struct cur c;
	uint32_t magic, seek_len;
	uint64_t npts, docs = 0, at = 0;

	if (ZSTD_isError(frame_len) || comp_len - frame_len < 8)
		goto bad;
	cur_init(&c, seek, comp_len - frame_len);
	magic = cur_u32le(&c);
	seek_len = cur_u32le(&c);
	if (magic != DS_SEEK_MAGIC || seek_len != cur_left(&c))
		goto bad;
	buf_add_varint(&e->ds_idx, num_docs);
	buf_add_varint(&e->ds_idx, raw_len);
	buf_add_varint(&e->ds_idx, frame_len);
	buf_add_u32le(&e->ds_idx, checksum_crc32c(0, comp, frame_len));
	npts = cur_varint(&c);
	buf_add_varint(&e->ds_idx, npts);
	for (uint64_t i = 0; i < npts && !c.bad; i++) {
		uint64_t d = cur_varint(&c), o = cur_varint(&c);
		uint32_t crc = cur_u32le(&c);

		docs += d;
		at += o;
		if (d == 0 || o == 0 || docs >= num_docs || at >= frame_len)
			goto bad;
		buf_add_varint(&e->ds_idx, d);
		buf_add_varint(&e->ds_idx, o);
		buf_add_u32le(&e->ds_idx, crc);
	}
	if (c.bad || cur_left(&c) != 0)
		goto bad;
	e->ds_nblocks++;
	return split_sfile_add(&e->sec[SEC_DOCSTORE], comp, frame_len, err);
bad:
	return err_set(err, EX_SOFTWARE, "doc store: block without a valid seek table");
}

/* Compress in[0, len) into out with end_op, growing out as zstd asks. */
static int ds_stream(ZSTD_CCtx *zc, const char *in, size_t len, ZSTD_EndDirective end_op,
		     struct buf *out, struct qw_err *err)
{
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t left;

	do {
		ZSTD_outBuffer ob;

		buf_grow(out, ZSTD_compressBound(len - ib.pos) + 64);
		ob = (ZSTD_outBuffer){ out->data + out->len, out->cap - out->len, 0 };
		left = ZSTD_compressStream2(zc, &ob, &ib, end_op);
		if (ZSTD_isError(left))
			return err_set(err, EX_SOFTWARE, "doc store: zstd compression failed: %s",
				       ZSTD_getErrorName(left));
		out->len += ob.pos;
	} while (left != 0 || ib.pos < len);
	return 0;
}

/*
 * Compress the framed docs of tmp (nlens docs, the last of lens first)
 * into out from out->len, flushing every DS_FLUSH_BYTES at a doc's end;
 * each flush point's docs since the last one, its compressed bytes since
 * the last one and the crc of the compressed prefix go to pts, their
 * number to *npts.
 */
static int ds_compress_points(ZSTD_CCtx *zc, const struct buf *tmp, const uint32_t *lens,
			      size_t nlens, struct buf *out, struct buf *pts, uint64_t *npts,
			      struct qw_err *err)
{
	size_t start = out->len, cut = 0, end = 0, last_docs = 0, last_at = start;
	uint32_t crc = 0;

	for (size_t i = 0; i < nlens; i++) {
		end += (size_t)lens[nlens - 1 - i] + 1;
		if (end - cut < DS_FLUSH_BYTES || i + 1 == nlens)
			continue;
		if (ds_stream(zc, tmp->data + cut, end - cut, ZSTD_e_flush, out, err) < 0)
			return -1;
		crc = checksum_crc32c(crc, out->data + last_at, out->len - last_at);
		ds_put_point(pts, i + 1 - last_docs, out->len - last_at, crc);
		(*npts)++;
		cut = end;
		last_docs = i + 1;
		last_at = out->len;
	}
	return ds_stream(zc, tmp->data + cut, tmp->len - cut, ZSTD_e_end, out, err);
}

/*
 * One doc store block (qw-split(5), version 4): every doc followed by a
 * newline, the last doc first, compressed as one zstd frame with a flush
 * every DS_FLUSH_BYTES, appended to out with its seek table; *raw_len the
 * frame's content size. Newest first because logs arrive in time order
 * and a search returns the newest hits by default: its docs are at the
 * start of the stream, and a reader decodes (and over S3 fetches) only
 * the prefix up to the flush point after them. The flushes keep the
 * window, so the ratio barely moves. The newlines replace version 2's
 * varint lengths (9% of the doc store of small access-log docs). A doc
 * holding a newline (no canonical JSON text does) is refused. tmp:
 * scratch for the framed docs.
 */
int split_enc_ds_compress(void *vzc, int level, struct buf *tmp, const struct buf *raw,
			  const uint32_t *lens, size_t nlens, struct buf *out_buf,
			  uint64_t *raw_len, struct qw_err *err)
{
	ZSTD_CCtx *zc = vzc;
	const char *src = raw->data ? raw->data : "";
	struct buf pts = BUF_INIT;
	size_t at = raw->len;
	uint64_t npts = 0;
	int ret = -1;

	buf_reset(tmp);
	buf_grow(tmp, raw->len + nlens);
	for (size_t i = nlens; i-- > 0;) {
		if (lens[i] > at || memchr(src + at - lens[i], '\n', lens[i])) {
			err_set(err, EX_SOFTWARE, "doc store: document %zu of the block %s", i,
				lens[i] > at ? "overruns it" : "holds a newline");
			goto out;
		}
		at -= lens[i];
		memcpy(tmp->data + tmp->len, src + at, lens[i]);
		tmp->len += lens[i];
		tmp->data[tmp->len++] = '\n';
	}
	if (at != 0) {
		err_set(err, EX_SOFTWARE, "doc store: the block's lengths do not add up");
		goto out;
	}
	if (ZSTD_isError(ZSTD_CCtx_reset(zc, ZSTD_reset_session_and_parameters)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(zc, tmp->len))) {
		err_set(err, EX_SOFTWARE, "doc store: cannot set up zstd");
		goto out;
	}
	if (ds_compress_points(zc, tmp, lens, nlens, out_buf, &pts, &npts, err) < 0)
		goto out;
	ds_put_seek_frame(out_buf, npts, &pts);
	*raw_len = tmp->len;
	ret = 0;
out:
	buf_free(&pts);
	return ret;
}

int split_docstore_flush(struct split_enc *e, struct qw_err *err)
{
	uint64_t raw_len;

	if (e->ds_nlens == 0)
		return 0;
	buf_reset(&e->z);
	if (split_enc_ds_compress(e->zc, e->cfg->docstore_compression_level, &e->tmp, &e->ds_raw,
				  e->ds_lens, e->ds_nlens, &e->z, &raw_len, err) < 0 ||
	    ds_add_block(e, (uint32_t)e->ds_nlens, raw_len, e->z.data, e->z.len, err) < 0)
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
	/* the crc of what segment.c or a merge hands over: checked here, since
	 * the index keeps the crc of the frame alone */
	if (checksum_crc32c(0, comp, comp_len) != crc)
		return err_set(err, EX_SOFTWARE, "doc store: block checksum mismatch");
	return ds_add_block(e, num_docs, raw_len, comp, comp_len, err);
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

/*
 * Block bi's seek points (version 4): npts of them in the index after its
 * entry, the frame's end added as the last. Version 2 and 3 blocks have
 * the end only.
 */
static bool ds_load_points(struct split_reader *r, struct cur *c, struct dsb *b, size_t *cap)
{
	uint64_t npts = r->version >= 4 ? cur_varint(c) : 0, docs = 0, len = 0;

	if (c->bad || npts >= b->num_docs)
		return false;
	b->pt0 = r->ds_npts;
	b->npts = (uint32_t)npts + 1;
	XGROW(r->ds_pts, r->ds_npts + b->npts, *cap);
	for (uint64_t i = 0; i <= npts; i++) {
		struct dspt *pt = &r->ds_pts[r->ds_npts++];
		uint64_t d = i < npts ? cur_varint(c) : b->num_docs - docs;
		uint64_t o = i < npts ? cur_varint(c) : b->len - len;

		pt->crc = i < npts ? cur_u32le(c) : b->crc;
		docs += d;
		len += o;
		if (c->bad || d == 0 || o == 0 || docs > b->num_docs || len > b->len)
			return false;
		pt->docs = (uint32_t)docs;
		pt->len = len;
	}
	return true;
}

/* The doc store block index, the end of the hotcache (r->footer). */
int split_docstore_load_index(struct split_reader *r, struct qw_err *err)
{
	struct cur c;
	uint64_t n, ds_off = 0, doc = 0;
	size_t pts_cap = 0;

	if (r->ds_at == SIZE_MAX)
		return 0;
	cur_init(&c, r->footer + r->ds_at, r->hot_len - r->ds_at);
	n = cur_varint(&c);
	if (c.bad || n > r->hot_len)
		goto bad;
	r->ds = xcalloc(n ? n : 1, sizeof(*r->ds));
	r->nds = n;
	r->ds_npts = 0;
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
		    ds_off > r->sec_len[SEC_DOCSTORE] || b->raw_len > MAX_UNIT ||
		    !ds_load_points(r, &c, b, &pts_cap))
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
	free(r->ds_pts);
	r->ds_pts = NULL;
	r->ds_npts = 0;
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

/*
 * Decode the compressed prefix comp[0, len) into r->ds_raw (room for
 * cap bytes): *n the bytes it gave. A prefix that ends at a flush point
 * gives all its docs; the frame's end must give exactly cap bytes. The
 * output is written in place (ZSTD_d_stableOutBuffer), not through
 * zstd's window buffer.
 */
static int ds_decode_prefix(struct split_reader *r, const uint8_t *comp, size_t len, bool whole,
			    uint64_t cap, size_t *n)
{
	ZSTD_DCtx *zd = split_rd_zstd(r);
	ZSTD_inBuffer ib = { comp, len, 0 };
	ZSTD_outBuffer ob = { r->ds_raw, cap, 0 };
	size_t left;

	if (!zd || ZSTD_isError(ZSTD_DCtx_reset(zd, ZSTD_reset_session_and_parameters)) ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(zd, ZSTD_d_stableOutBuffer, 1)))
		return -1;
	left = ZSTD_decompressStream(zd, &ob, &ib);
	/* the context is shared: leave it as the other units expect it */
	ZSTD_DCtx_reset(zd, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(left) || ib.pos != len || (whole && (left != 0 || ob.pos != cap)))
		return -1;
	*n = ob.pos;
	return 0;
}

/*
 * Decode block bi's stream far enough to hold its first want docs: the
 * compressed prefix up to the first seek point past them, read, checked
 * against the point's crc and decoded. A version 4 stream holds the
 * block's docs last first.
 */
static int load_ds_block(struct split_reader *r, size_t bi, uint32_t want, struct qw_err *err)
{
	const struct dsb *b = &r->ds[bi];
	const struct dspt *pt = &r->ds_pts[b->pt0];
	bool whole;
	uint8_t *comp;
	size_t n;
	int rc;

	r->ds_cached = -1;
	while (pt->docs < want)
		pt++;
	whole = pt == &r->ds_pts[b->pt0 + b->npts - 1];
	comp = split_rd_crc(r, SEC_DOCSTORE, b->off, pt->len, pt->crc, err);
	if (!comp)
		return -1;
	if (b->raw_len / 4096 > b->len || ZSTD_getFrameContentSize(comp, pt->len) != b->raw_len) {
		free(comp);
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	}
	/* reuse the block buffer: fresh large allocations fault in every page */
	if (b->raw_len + 1 > r->ds_raw_cap) {
		free(r->ds_raw);
		r->ds_raw = xmalloc(b->raw_len + 1);
		r->ds_raw_cap = b->raw_len + 1;
	}
	rc = ds_decode_prefix(r, comp, pt->len, whole, b->raw_len, &n);
	free(comp);
	if (rc < 0)
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "cannot decompress doc store block");
	free(r->ds_offs);
	r->ds_offs = xreallocarray(NULL, (size_t)pt->docs + 1, sizeof(*r->ds_offs));
	if ((r->version >= 3 ? ds_offsets_v3 : ds_offsets_v2)(r->ds_raw, n, pt->docs, r->ds_offs) < 0)
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	r->ds_cached = (int64_t)bi;
	r->ds_ndec = pt->docs;
	return 0;
}

int split_reader_doc(struct split_reader *r, uint32_t doc, const char **json, size_t *len,
		     struct qw_err *err)
{
	size_t lo = 0, hi;
	const struct dsb *b;
	uint32_t at;

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
	/* where doc is in the block's stream: version 4 holds the last doc first */
	at = r->version >= 4 ? b->first_doc + b->num_docs - 1 - doc : doc - b->first_doc;
	if (r->ds_cached != (int64_t)(lo - 1) || r->ds_ndec <= at) {
		/* a block asked again for older docs decodes at least twice as
		 * far: docs fetched newest first cost at most twice the prefix */
		uint32_t want = at + 1;

		if (r->ds_cached == (int64_t)(lo - 1) && want < 2 * (uint64_t)r->ds_ndec)
			want = 2 * r->ds_ndec < b->num_docs ? 2 * r->ds_ndec : b->num_docs;
		if (load_ds_block(r, lo - 1, want, err) < 0)
			return -1;
	}
	*json = (const char *)r->ds_raw + r->ds_offs[at];
	*len = r->ds_offs[at + 1] - r->ds_offs[at] - (r->version >= 3 ? 1 : 0);
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

/* Block b's seek table as split_enc_ds_compress writes it after the frame,
 * appended to out (its interior points: the frame's end is implied). */
static void ds_seek_table(const struct split_reader *r, const struct dsb *b, struct buf *out)
{
	struct buf pts = BUF_INIT;
	const struct dspt *pt = &r->ds_pts[b->pt0];

	for (uint32_t i = 0; i + 1 < b->npts; i++)
		ds_put_point(&pts, pt[i].docs - (i ? pt[i - 1].docs : 0),
			     pt[i].len - (i ? pt[i - 1].len : 0), pt[i].crc);
	ds_put_seek_frame(out, b->npts - 1, &pts);
	buf_free(&pts);
}

int split_reader_ds_block(struct split_reader *r, size_t i, struct split_ds_block *out,
			  uint8_t **comp, struct qw_err *err)
{
	const struct dsb *b;
	struct buf blk = BUF_INIT;
	uint8_t *frame;

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
	frame = split_rd_crc(r, SEC_DOCSTORE, b->off, b->len, b->crc, err);
	if (!frame)
		return -1;
	if (b->raw_len / 4096 > b->len || ZSTD_getFrameContentSize(frame, b->len) != b->raw_len) {
		free(frame);
		return split_corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	}
	/* the frame and its seek table, as split_enc_ds_block takes a block */
	buf_add(&blk, frame, b->len);
	free(frame);
	ds_seek_table(r, b, &blk);
	out->len = blk.len;
	out->crc = checksum_crc32c(0, blk.data, blk.len);
	*comp = (uint8_t *)blk.data;
	return 0;
}
