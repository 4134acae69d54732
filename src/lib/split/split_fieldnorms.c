/*
 * split_fieldnorms: a text field's norms ("fieldnorms" section) and their
 * hotcache entry, encoder and decoder side by side (qw-split(5)).
 */
#include "split/split_internal.h"

#include <stdlib.h>

#include "base/buf.h"
#include "base/checksum.h"

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
	cp = split_enc_maybe_compress(s, ids, num_docs, &clen, &raw);
	buf_add_varint(&s->fhot, off);
	buf_add_varint(&s->fhot, clen);
	buf_add_varint(&s->fhot, raw);
	buf_add_u32le(&s->fhot, checksum_crc32c(0, cp, clen));
	return split_sfile_add(nf, cp, clen, err);
}

/* A text field's norms entry of the hotcache, as split_enc_norms() writes it. */
bool split_fieldnorms_read_hot(struct cur *c, const struct split_reader *r, struct rfield *f)
{
	uint8_t hn;

	f->total_tokens = cur_varint(c);
	hn = cur_u8(c);
	if (hn > 1)
		return false;
	f->has_norms = hn;
	if (!hn)
		return true;
	f->norm_off = cur_varint(c);
	f->norm_len = cur_varint(c);
	f->norm_raw = cur_varint(c);
	f->norm_crc = cur_u32le(c);
	return !(f->norm_off > r->sec_len[SEC_FIELDNORMS] ||
		 f->norm_len > r->sec_len[SEC_FIELDNORMS] - f->norm_off ||
		 (f->norm_raw ? f->norm_raw : f->norm_len) != r->num_docs);
}

int split_reader_field_norms(struct split_reader *r, int field, const uint8_t **ids,
			     uint64_t *total_tokens, struct qw_err *err)
{
	struct rfield *f = split_field_at(r, field, err);
	uint8_t *p;

	*ids = NULL;
	*total_tokens = 0;
	if (!f)
		return -1;
	*total_tokens = f->total_tokens;
	if (!f->has_norms)
		return 0;
	if (!f->norms) {
		p = split_rd_crc(r, SEC_FIELDNORMS, f->norm_off, f->norm_len, f->norm_crc, err);
		if (!p)
			return -1;
		if (f->norm_raw && split_inflate_unit(r, SEC_FIELDNORMS, f->norm_off, &p, f->norm_len,
						f->norm_raw, err) < 0) {
			free(p);
			return -1;
		}
		f->norms = p;
	}
	*ids = f->norms;
	return 0;
}

