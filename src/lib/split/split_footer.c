/*
 * split_footer: the end of a .split file (qw-split(5)): the hotcache, the
 * metadata JSON, the section table with a CRC32C per section and the
 * trailer (lengths, checksums, version, magic), encoder and decoder side
 * by side. split_bundle.c writes it after the sections; split_reader.c
 * reads it first.
 */
#include "split/split_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/checksum.h"
#include "base/xalloc.h"
#include "store/split_cache.h"

/* ------------------------------------------------------------ encoding */

int split_footer_encode(struct buf *footer, const struct buf *hot, const char *meta_text,
			const uint64_t *off, const uint64_t *len, const uint32_t *crc,
			struct qw_err *err)
{
	struct buf trailer = BUF_INIT;
	size_t mlen = strlen(meta_text), tstart;
	uint64_t footer_len;

	buf_add(footer, hot->data ? hot->data : "", hot->len);
	buf_add(footer, meta_text, mlen);
	tstart = footer->len;
	buf_add_u32le(footer, SEC_COUNT);
	for (int i = 0; i < SEC_COUNT; i++) {
		size_t nl = strlen(split_section_names[i]);

		buf_add_u8(footer, (uint8_t)nl);
		buf_add(footer, split_section_names[i], nl);
		buf_add_u64le(footer, off[i]);
		buf_add_u64le(footer, len[i]);
		buf_add_u32le(footer, crc[i]);
	}
	footer_len = footer->len + SPLIT_TRAILER_LEN;
	if (hot->len > UINT32_MAX || mlen > UINT32_MAX)
		return err_set(err, EX_SOFTWARE, "split footer too large");
	buf_add_u64le(&trailer, footer_len);
	buf_add_u32le(&trailer, (uint32_t)hot->len);
	buf_add_u32le(&trailer, (uint32_t)mlen);
	buf_add_u32le(&trailer, (uint32_t)(footer->len - tstart));
	buf_add_u32le(&trailer, checksum_crc32c(0, footer->data, footer->len));
	buf_add_u32le(&trailer, SPLIT_VERSION);
	buf_add_u32le(&trailer, checksum_crc32c(0, trailer.data, trailer.len));
	buf_add(&trailer, SPLIT_MAGIC, 8);
	buf_add(footer, trailer.data, trailer.len);
	buf_free(&trailer);
	return 0;
}

/* ------------------------------------------------------------ decoding */

/* The trailer at tr, the last SPLIT_TRAILER_LEN bytes of the file. */
static int parse_trailer(const struct split_reader *r, const uint8_t *tr, struct split_trailer *t,
			 struct qw_err *err)
{
	uint32_t version, tcrc;
	struct cur c;

	if (memcmp(tr + 32, SPLIT_MAGIC, 8) != 0)
		return split_corrupt(r, err, -1, r->size - 8, "bad magic (not a split file)");
	cur_init(&c, tr, 32);
	t->footer_len = cur_u64le(&c);
	t->hot_len = cur_u32le(&c);
	t->meta_len = cur_u32le(&c);
	t->table_len = cur_u32le(&c);
	t->fcrc = cur_u32le(&c);
	version = cur_u32le(&c);
	tcrc = cur_u32le(&c);
	if (!crc_ok(checksum_crc32c(0, tr, 28), tcrc))
		return split_corrupt(r, err, -1, r->size - SPLIT_TRAILER_LEN, "trailer checksum mismatch");
	if (version < SPLIT_VERSION_MIN || version > SPLIT_VERSION)
		return err_set(err, EX_DATAERR, "split '%s': unsupported format version %u", r->path,
			       version);
	t->version = version;
	if (t->footer_len > r->size || t->footer_len < SPLIT_TRAILER_LEN ||
	    (uint64_t)t->hot_len + t->meta_len + t->table_len + SPLIT_TRAILER_LEN != t->footer_len)
		return split_corrupt(r, err, -1, r->size - SPLIT_TRAILER_LEN, "bad footer length");
	return 0;
}

/* The footer (hotcache, metadata, section table, trailer) from the file:
 * one read of its tail, a second one only when the footer is longer. */
static int read_footer(struct split_reader *r, struct split_trailer *t, struct qw_err *err)
{
	uint64_t tail = r->size < SPLIT_TAIL_READ ? r->size : SPLIT_TAIL_READ;

	r->footer = xmalloc(tail);
	if (split_rread(r, r->footer, tail, r->size - tail, err) < 0 ||
	    parse_trailer(r, r->footer + tail - SPLIT_TRAILER_LEN, t, err) < 0)
		return -1;
	if (t->footer_len > tail) {
		free(r->footer);
		r->footer = xmalloc(t->footer_len);
		if (split_rread(r, r->footer, t->footer_len, r->size - t->footer_len, err) < 0)
			return -1;
	} else {
		memmove(r->footer, r->footer + (tail - t->footer_len), t->footer_len);
	}
	r->footer_len = t->footer_len;
	if (!crc_ok(checksum_crc32c(0, r->footer, t->footer_len - SPLIT_TRAILER_LEN), t->fcrc))
		return split_corrupt(r, err, -1, r->size - t->footer_len, "footer checksum mismatch");
	return 0;
}

/* The footer of an s3:// split from the local cache (split_cache.h): 1 on
 * a hit, 0 on a miss (a bad copy is removed and is a miss), -1 on error. */
static int cached_footer(struct split_reader *r, struct split_trailer *t, struct qw_err *err)
{
	struct qw_err ignore = QW_ERR_INIT;
	uint8_t *data;
	size_t len;
	int got = split_remote_footer_get(r->remote, &data, &len, err);

	if (got <= 0)
		return got;
	if (len >= SPLIT_TRAILER_LEN &&
	    parse_trailer(r, data + len - SPLIT_TRAILER_LEN, t, &ignore) == 0 &&
	    t->footer_len == len &&
	    crc_ok(checksum_crc32c(0, data, len - SPLIT_TRAILER_LEN), t->fcrc)) {
		r->footer = data;
		r->footer_len = len;
		r->io->footer_cached = true;
		return 1;
	}
	free(data);
	split_remote_footer_drop(r->remote);
	return 0;
}

int split_footer_load(struct split_reader *r, struct split_trailer *t, struct qw_err *err)
{
	int cached = 0;

	if (r->remote && (cached = cached_footer(r, t, err)) < 0)
		return -1;
	if (!cached && read_footer(r, t, err) < 0)
		return -1;
	r->version = t->version;
	if (cached)
		return 0;
	if (r->remote) {
		struct qw_err ignore = QW_ERR_INIT;

		/* the cache only saves requests: a full disk must not fail a search */
		if (split_remote_footer_put(r->remote, r->footer, r->footer_len, &ignore) < 0)
			errno = 0;
	}
	return 0;
}

int split_footer_read_table(struct split_reader *r, const struct split_trailer *t,
			    struct qw_err *err)
{
	uint64_t start = r->size - t->footer_len;
	struct cur c;

	cur_init(&c, r->footer + t->hot_len + t->meta_len, t->table_len);
	if (cur_u32le(&c) != SEC_COUNT)
		return split_corrupt(r, err, -1, start + t->hot_len + t->meta_len,
				     "bad section table");
	for (int i = 0; i < SEC_COUNT; i++) {
		uint8_t nl = cur_u8(&c);
		const uint8_t *name = cur_bytes(&c, nl);

		r->sec_off[i] = cur_u64le(&c);
		r->sec_len[i] = cur_u64le(&c);
		r->sec_crc[i] = cur_u32le(&c);
		if (c.bad || nl != strlen(split_section_names[i]) ||
		    memcmp(name, split_section_names[i], nl) != 0 || r->sec_off[i] > start ||
		    r->sec_len[i] > start - r->sec_off[i])
			return split_corrupt(r, err, -1, start + t->hot_len + t->meta_len,
					     "bad section table");
	}
	return 0;
}
