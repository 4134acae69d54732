/*
 * split_reader: read one .split file (format: man/qw-split.5).
 *
 * split_reader_open() reads only the end of the file (trailer, footer:
 * metadata JSON, section table, hotcache with the field table and the
 * doc store block index) with one pread (two when the footer is longer
 * than SPLIT_TAIL_READ), checks its checksum, and keeps the fd open. An
 * s3:// split is read the same way by range GETs (store/split_cache.h),
 * its footer from QW_SPLIT_CACHE_DIR when cached there. Everything else is read on demand by offset with pread
 * into buffers owned by the object that asked (a postings iterator, a
 * term iterator, a column), and every unit read is bounds-checked and
 * checksummed (term dictionary blocks and index, postings and positions
 * lists, columns, doc store blocks). A truncated or corrupted split gives
 * an error (EX_DATAERR) naming the file, the section and the offset; the
 * reader never reads out of bounds.
 *
 * Fields are (path, kind) pairs: a json or dynamic path can appear with
 * several value kinds (e.g. "status" as text and as i64). Field indexes
 * are 0..split_reader_num_fields()-1, sorted by path then kind.
 *
 * Terms: text terms are the tokenizer's output bytes; numeric and
 * datetime terms are 8-byte big-endian keys (termkey.h: termkey_put of
 * termkey_from_*); bool terms are 1 byte (0 or 1); ip terms are 16 bytes.
 * Dictionaries are sorted by memcmp.
 *
 * Ownership and threads: a split_reader owns its fd and footer; postings,
 * term iterators and columns are objects that borrow the reader (free them
 * before split_reader_close). The reader caches per-field dictionary
 * indexes, a zstd context and the last decompressed doc store block, so a
 * reader and everything opened from it must be used by one thread at a
 * time; use one reader per thread (opening is cheap).
 */
#ifndef QW_SPLIT_READER_H
#define QW_SPLIT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mapping/config.h"
#include "mapping/docmap.h"
#include "base/err.h"
#include "store/s3.h"

#define SPLIT_DOC_END UINT32_MAX

struct split_reader;

struct split_field_info {
	const char *path;            /* full dotted path, owned by the reader */
	enum value_kind kind;
	bool indexed;                /* has a term dictionary and postings */
	bool fast;                   /* has a fast column */
	bool stored;
	struct tokenizer_ref tokenizer; /* text: how values were tokenized (a custom
				      * one's definition is owned by the reader) */
	enum record_option record;   /* basic: no freqs, freq: freqs, position: + positions */
	enum fast_normalizer fast_normalizer;
	uint64_t num_terms;          /* distinct terms in the dictionary */
	uint64_t num_docs_with_value;/* docs in which the field has a value */
};

/* Where a term's postings are; filled by lookup and term iteration. */
struct split_term_info {
	uint32_t doc_freq;           /* number of docs containing the term */
	uint64_t total_freq;         /* sum of term freqs (== doc_freq when not recorded) */
	/* private to the reader */
	uint32_t field;
	uint64_t inline_blk;         /* doc_freq < 128: postings inside dictionary block */
	uint32_t inline_first;       /* their first doc */
	uint64_t inline_off, inline_len, inline_pos_off, inline_pos_len;
	uint64_t postings_off, postings_len, postings_raw;
	uint64_t positions_off, positions_len, positions_raw;
};

struct split_reader *split_reader_open(const char *path, struct qw_err *err);

/* How to open an s3:// split (split_cache.h); ignored for a local file. */
struct split_open_opts {
	struct s3_client *s3;    /* shared by the readers of a search; NULL: its own */
	uint64_t size;           /* the file's size when known (no HEAD); 0: unknown */
	/* a warm process's copies of footers and ranges, shared by its
	 * searches (store/split_memcache.h); NULL: none */
	struct split_memcache *mem;
	/* a zstd decompression context the reader borrows (the caller's, used
	 * on one thread at a time, outliving the reader unless it is given up
	 * with split_reader_own_zstd()); NULL: the reader makes its own when it
	 * first needs one. Making one faults in ~100 KB of fresh memory, which
	 * over many small splits costs more than reading them. */
	struct ZSTD_DCtx_s *zstd;
};
struct split_reader *split_reader_open_opts(const char *path, const struct split_open_opts *o,
					    struct qw_err *err);
void split_reader_close(struct split_reader *r);
/* Stop using a borrowed zstd context (before the reader moves to another
 * thread or outlives the lender): it makes its own when next needed. */
void split_reader_own_zstd(struct split_reader *r);

/* What reading a split has cost so far. */
struct split_io {
	bool remote;             /* an s3:// split */
	bool footer_cached;      /* its footer came from QW_SPLIT_CACHE_DIR or memory */
	uint64_t requests;       /* s3: HTTP requests, retries included; local: reads */
	uint64_t bytes;          /* s3: response bytes; local: bytes read */
};
void split_reader_io(const struct split_reader *r, struct split_io *out);
/* Start counting anew, for a reader kept open for the next search (a warm
 * process's): its footer then counts as cached (nothing read for it). */
void split_reader_io_reset(struct split_reader *r);
/*
 * Whether the footer's split_id is id (the metastore's name for this
 * file): 0, or -1 with an EX_DATAERR naming both ids.
 */
int split_reader_check_id(const struct split_reader *r, const char *id, struct qw_err *err);
/* The footer metadata (num_docs, time_range, tags, split_id, ...), parsed on
 * first use; borrowed; NULL when the footer holds no JSON object. */
json_t *split_reader_metadata(const struct split_reader *r);
uint32_t split_reader_num_docs(const struct split_reader *r);
/* Timestamp field range (microseconds); false when none. */
bool split_reader_time_range(const struct split_reader *r, int64_t *min_us, int64_t *max_us);

size_t split_reader_num_fields(const struct split_reader *r);
const struct split_field_info *split_reader_field(const struct split_reader *r, size_t i);
/* Index of field (path, kind), or -1. */
int split_reader_find_field(const struct split_reader *r, const char *path, enum value_kind kind);
/* Indexes of every field with this path (any kind) into out[max]; returns how many exist. */
size_t split_reader_find_path(const struct split_reader *r, const char *path, int *out, size_t max);

/* ---- terms */

/* 1 found (ti filled), 0 not found, -1 error. */
int split_reader_term_lookup(struct split_reader *r, int field, const void *term, size_t len,
			     struct split_term_info *ti, struct qw_err *err);

/* Iterate a field's dictionary in order from the first term >= lower
 * (lower NULL or lower_len 0: from the start). */
struct split_terms;
struct split_terms *split_terms_open(struct split_reader *r, int field, const void *lower,
				     size_t lower_len, struct qw_err *err);
/* 1: term and len (valid until the next call) and ti filled; 0: end; -1: error. */
int split_terms_next(struct split_terms *it, const uint8_t **term, size_t *len,
		     struct split_term_info *ti, struct qw_err *err);
void split_terms_free(struct split_terms *it);

/* ---- postings */

struct split_postings;
/* want_positions: only for fields recorded with positions (else error). */
struct split_postings *split_postings_open(struct split_reader *r, const struct split_term_info *ti,
					   bool want_positions, struct qw_err *err);
/* Move to the next doc: *doc = its id, or SPLIT_DOC_END. 0 ok, -1 error. */
int split_postings_next(struct split_postings *p, uint32_t *doc, struct qw_err *err);
/* Move to the first doc >= target (never backwards). 0 ok, -1 error. */
int split_postings_advance(struct split_postings *p, uint32_t target, uint32_t *doc,
			   struct qw_err *err);
/*
 * For a reader that wants only the doc set (a bitset): the rest of the
 * current block's docs, then each next block's, *n ascending doc ids in
 * *docs (borrowed until the next call on p), *n == 0 at the end. Term
 * frequencies are not decoded (a third of a common term's reading): once
 * it is called, split_postings_freq() gives 0. Not for postings opened with
 * positions (EX_SOFTWARE). 0 ok, -1 error.
 */
int split_postings_next_docs(struct split_postings *p, const uint32_t **docs, uint32_t *n,
			     struct qw_err *err);
/* Current doc (SPLIT_DOC_END before the first next() and at the end). */
uint32_t split_postings_doc(const struct split_postings *p);
/* Term frequency in the current doc (1 when freqs are not recorded; 0 after
 * split_postings_next_docs()). */
uint32_t split_postings_freq(const struct split_postings *p);
/* Positions of the term in the current doc (ascending); *pos valid until the next move. */
int split_postings_positions(struct split_postings *p, const uint32_t **pos, uint32_t *n,
			     struct qw_err *err);
void split_postings_free(struct split_postings *p);

/* ---- fast fields */

/*
 * A column has, for each doc, a (possibly empty) run of values. Numeric,
 * bool and datetime columns hold termkey keys (decode with termkey_to_*);
 * text, ip and bytes columns hold ordinals into the column's own sorted
 * dictionary of distinct values (fast_normalizer applied for text).
 * Values of one doc are in insertion order.
 */
struct split_column;
struct split_column *split_column_open(struct split_reader *r, int field, struct qw_err *err);
void split_column_free(struct split_column *c);
bool split_column_is_dict(const struct split_column *c);      /* ordinals, not keys */
uint32_t split_column_num_docs(const struct split_column *c);
bool split_column_single_valued(const struct split_column *c); /* exactly one value per doc */
/* Values of doc are the value indexes [*start, *end). */
void split_column_doc_range(const struct split_column *c, uint32_t doc, uint64_t *start,
			    uint64_t *end);
uint64_t split_column_value(const struct split_column *c, uint64_t idx);
/*
 * Scans that can skip: the values are in split_column_num_blocks() blocks of
 * COL_VAL_BLOCK values; block b covers the value indexes [*first, *end), and
 * every value in it lies in [*vmin, *vmax] (a bound from the block's base and
 * bit width; the whole column's min and max when its codec has no blocks).
 * split_column_values() decodes n values from start into out, each equal to
 * split_column_value() of its index.
 */
uint64_t split_column_num_blocks(const struct split_column *c);
void split_column_block(const struct split_column *c, uint64_t b, uint64_t *first, uint64_t *end,
			uint64_t *vmin, uint64_t *vmax);
void split_column_values(const struct split_column *c, uint64_t start, size_t n, uint64_t *out);
/* First value of doc; false when the doc has none. */
bool split_column_first(const struct split_column *c, uint32_t doc, uint64_t *v);
/* Min and max key/ordinal over all values; false when the column is empty. */
bool split_column_min_max(const struct split_column *c, uint64_t *min, uint64_t *max);
/* Dictionary columns: number of distinct values and ordinal -> bytes (owned by the column). */
uint64_t split_column_dict_size(const struct split_column *c);
int split_column_dict_term(const struct split_column *c, uint64_t ord, const uint8_t **term,
			   size_t *len);

/* ---- field norms (BM25) */

/*
 * Indexed text fields: *total_tokens = the field's tokens over all docs
 * (tantivy's total_num_tokens); *ids = num_docs bytes, the fieldnorm id of
 * each doc (fieldnorm_decode() in split_format.h gives its token count, 0
 * when the doc has no value), or NULL when the split keeps no norms for the
 * field (its mapping does not say `fieldnorms: true`, Quickwit's default):
 * scoring then takes a norm of 1 for every doc, as tantivy does
 * (FieldNormReader::constant), with the average length still
 * total_tokens / num_docs. *ids is owned by
 * the reader. 0 ok, -1 error (corrupted split).
 */
int split_reader_field_norms(struct split_reader *r, int field, const uint8_t **ids,
			     uint64_t *total_tokens, struct qw_err *err);

/* ---- doc store */

/* The stored JSON text of doc (no newline); *json valid until the next call on r. */
int split_reader_doc(struct split_reader *r, uint32_t doc, const char **json, size_t *len,
		     struct qw_err *err);

/*
 * The doc store's blocks as stored, for a merge that copies them whole
 * (split_encode.h): *n blocks; block i's docs, raw length and crc, and its
 * stored bytes in *comp (malloc'ed, checksum and frame header checked;
 * comp NULL: the block's description only). With comp, *comp is the
 * block as split_enc_ds_block takes it (version 4: the zstd frame, then
 * its seek table in a skippable frame) and len and crc describe those
 * bytes; without, the frame as stored.
 */
struct split_ds_block {
	uint32_t first_doc, num_docs;
	uint64_t raw_len, len;
	uint32_t crc;
};
int split_reader_ds_blocks(struct split_reader *r, size_t *n, struct qw_err *err);
/* The file's format version: a block of an older version than SPLIT_VERSION
 * must be rewritten doc by doc, never copied into a new split. */
uint32_t split_reader_format_version(const struct split_reader *r);
int split_reader_ds_block(struct split_reader *r, size_t i, struct split_ds_block *out,
			  uint8_t **comp, struct qw_err *err);

/* ---- describe (qw split describe) */

/* {"path", "file_size", "metadata": {...}, "sections": [{"name","offset","size"}...],
 *  "fields": [...], "verified": bool}. verify: check every checksum in the file.
 * id: the split_id the footer must carry, or NULL. */
json_t *split_reader_describe(const char *path, bool verify, const char *id, struct qw_err *err);

#endif
