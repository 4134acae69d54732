/*
 * split_encode: the encoders of a split's sections (man/qw-split.5); each
 * section's encoder sits beside its decoder in the section's own file
 * (split_internal.h lists them), this file drives them. Two writers drive them: segment.c (from
 * its in-memory index, qw-index) and split_merge.c (from N split readers,
 * qw-merge), so that the bytes of a dictionary, a postings list, a column,
 * field norms or the doc store are encoded in one place.
 *
 * An encoder writes into an empty scratch directory one file per section
 * ("terms", "postings", "positions", "fieldnorms", "fast", "docstore") and,
 * at split_enc_finish(), the binary "hotcache"; split_bundle() then makes
 * the .split file. Fields are written one after the other, in hotcache
 * order (path bytes, then kind):
 *
 *   split_enc_field_begin()
 *     [split_enc_terms_begin(), split_enc_term()... in memcmp order,
 *      split_enc_terms_end(), and for text split_enc_norms()]
 *     [split_enc_column()]
 *   split_enc_field_end(num_terms, docs_with_value)
 *
 * A field whose num_terms is 0 at the end is written as not indexed, one
 * without a column as not fast (bytes already in the sections then belong
 * to no field, which the format allows). Then the doc store: whole blocks
 * (split_enc_ds_block(): compressed bytes as they are, e.g. copied from
 * another split) or documents (split_enc_ds_doc(), cut into blocks of
 * docstore_blocksize compressed at docstore_compression_level), in doc id
 * order, then split_enc_finish(). Memory: one term's postings, one
 * column, one doc store block and the table that stores a field's
 * identical long postings lists once (at most 32 MiB of them), never the
 * whole split.
 * Any error leaves the directory to be removed by the caller. Not
 * thread-safe: one encoder per thread.
 */
#ifndef QW_SPLIT_ENCODE_H
#define QW_SPLIT_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "mapping/config.h"
#include "mapping/docmap.h"

struct split_enc;

/* zc: a zstd context to use (borrowed), or NULL for the encoder's own. */
struct split_enc *split_enc_open(const char *dir, const struct index_config *cfg,
				 void *zc, struct qw_err *err);
/* Frees; removes nothing (the caller owns dir). */
void split_enc_free(struct split_enc *e);

/* The options of a field as the hotcache records them. */
struct split_enc_field {
	const char *path;
	size_t path_len;
	enum value_kind kind;
	bool stored;
	struct tokenizer_ref tok;
	enum record_option rec;
	enum fast_normalizer fnorm;
};

void split_enc_field_begin(struct split_enc *e, const struct split_enc_field *f);
void split_enc_field_end(struct split_enc *e, uint64_t num_terms, uint64_t docs_with_value);

void split_enc_terms_begin(struct split_enc *e);
/*
 * One term: df docs in ascending order, their term frequencies (ignored
 * unless freqs are recorded) and, with positions, pos[0..pos_len): per
 * occurrence, varint position delta from the previous one of the same doc
 * (the first from 0), docs in order.
 */
int split_enc_term(struct split_enc *e, const uint8_t *term, size_t len, uint32_t df,
		   uint64_t total_tf, const uint32_t *docs, const uint32_t *tfs,
		   const uint8_t *pos, size_t pos_len, struct qw_err *err);
int split_enc_terms_end(struct split_enc *e, struct qw_err *err);
/* Text fields: total tokens and, when kept, num_docs fieldnorm ids (else NULL). */
int split_enc_norms(struct split_enc *e, uint64_t total_tokens, const uint8_t *ids,
		    uint32_t num_docs, struct qw_err *err);

/*
 * A fast column of num_docs docs: n values (docs[i], vals[i]) in doc order
 * (several per doc in insertion order). Keys for numeric kinds; for text,
 * ip and bytes ordinals into dict[0..ndict) (sorted, distinct; dict_len the
 * lengths), or with dict_is_terms the ordinals of the field's term
 * dictionary (no dict given). vals is overwritten.
 */
struct split_enc_column {
	uint32_t num_docs;
	const uint32_t *docs;
	uint64_t *vals;
	size_t n;
	bool is_dict, dict_is_terms;
	const uint8_t *const *dict;
	const size_t *dict_len;
	uint64_t ndict;
	bool raw;                /* store uncompressed (the timestamp column) */
};
int split_enc_column(struct split_enc *e, const struct split_enc_column *c, struct qw_err *err);

/* A doc store block as stored: one zstd frame of raw_len bytes holding num_docs docs. */
int split_enc_ds_block(struct split_enc *e, uint32_t num_docs, uint64_t raw_len,
		       const void *comp, size_t comp_len, uint32_t crc, struct qw_err *err);
/* One document's stored text, into the current block (cut and compressed when full). */
int split_enc_ds_doc(struct split_enc *e, const void *doc, size_t len, struct qw_err *err);

/*
 * One doc store block of nlens docs (raw: their texts one after the other,
 * lens their lengths) compressed as the format says, appended to out;
 * *raw_len its uncompressed length. zc: a ZSTD_CCtx; tmp: scratch. Used
 * by segment.c's background compression too (reentrant).
 */
int split_enc_ds_compress(void *zc, int level, struct buf *tmp, const struct buf *raw,
			  const uint32_t *lens, size_t nlens, struct buf *out, uint64_t *raw_len,
			  struct qw_err *err);

/*
 * segment.json's num_docs, uncompressed_docs_size_in_bytes and time range
 * (time_range_us; time_range in seconds, null without has_time) into meta.
 */
void split_enc_meta(json_t *meta, uint32_t num_docs, uint64_t uncompressed, bool has_time,
		    int64_t tmin, int64_t tmax);
/*
 * Flushes the doc store, closes the sections, writes "hotcache" (num_docs,
 * nfields) and "segment.json" (meta, with num_fields set; tags and the
 * rest are the caller's).
 */
int split_enc_finish(struct split_enc *e, uint32_t num_docs, size_t nfields, json_t *meta,
		     struct qw_err *err);

#endif
