/*
 * split_internal: what the section files of the split format share, private
 * to src/lib/split/. Each section keeps its encoder and its decoder side by
 * side in one file, so that a change to its bytes is one change:
 *
 *   split_dict.c       term dictionary blocks and their index ("terms")
 *   split_postings.c   postings and positions lists, inline or in their
 *                      sections ("postings", "positions")
 *   split_fieldnorms.c field norms ("fieldnorms")
 *   split_columns.c    fast columns ("fast")
 *   split_docstore.c   doc store blocks and their index ("docstore")
 *   split_footer.c     hotcache, metadata, section table and trailer
 *
 * split_encode.c drives the encoders (struct split_enc: the section files,
 * the field table, the finish) and split_reader.c opens a split and
 * dispatches to the decoders (struct split_reader: the file, the footer,
 * the field table). Both structs are defined here for the section files;
 * nobody outside this folder sees them. Not thread-safe, as their owners.
 */
#ifndef QW_SPLIT_INTERNAL_H
#define QW_SPLIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "split/split_encode.h"
#include "split/split_format.h"
#include "split/split_reader.h"

/* ------------------------------------------------------------ writing */

/* A buffered section file. */
struct sfile {
	int fd;
	const char *name;
	uint64_t off;            /* bytes written so far (flushed + buffered) */
	struct buf b;
};

/* Append n bytes to a section file (flushed by MiB). */
int split_sfile_add(struct sfile *sf, const void *p, size_t n, struct qw_err *err);

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
const void *split_enc_maybe_compress(struct split_enc *s, const void *p, size_t n,
				     size_t *out_len, uint64_t *raw_len);

/* split_postings.c: forget the current field's postings lists (a new field). */
void split_plists_free(struct plists *pl);
/*
 * split_postings.c: the postings (and positions) of the term whose
 * dictionary entry split_enc_term() is writing, into the entry (s->blk)
 * and the postings and positions sections.
 */
int split_postings_write_entry(struct split_enc *s, uint32_t df, const uint32_t *docs,
			       const uint32_t *tfs, const uint8_t *pos, size_t pos_len,
			       struct qw_err *err);
/* split_docstore.c: compress the doc store's current block and add it. */
int split_docstore_flush(struct split_enc *e, struct qw_err *err);
/*
 * split_footer.c: the footer of a split whose sections are at off[i],
 * len[i] bytes with crc[i]: hotcache, metadata text, section table and
 * trailer, into footer.
 */
int split_footer_encode(struct buf *footer, const struct buf *hot, const char *meta_text,
			const uint64_t *off, const uint64_t *len, const uint32_t *crc,
			struct qw_err *err);

/* ------------------------------------------------------------ reading */

#define MAX_UNIT (1ULL << 30)    /* no single unit (block, list, column) is larger */

/* Fuzzing builds skip checksums so that the fuzzer reaches the decoders. */
static inline bool crc_ok(uint32_t got, uint32_t want)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)got;
	(void)want;
	return true;
#else
	return got == want;
#endif
}

/* A term dictionary block, as the field's block index describes it. */
struct dblk {
	const uint8_t *first;
	uint32_t first_len;
	uint64_t off, len;       /* within the field's dictionary blocks */
	uint64_t raw_len;        /* 0: stored raw, else zstd of that many bytes */
	uint32_t crc;
	uint64_t post_off, pos_off;
	uint32_t nterms;
};

struct rfield {
	struct split_field_info info;
	uint64_t dict_off, dict_len, idx_off, idx_len, nblocks;
	uint32_t idx_crc;
	uint64_t post_base, post_len, pos_base, pos_len;
	uint64_t col_off, col_len, col_raw;
	uint32_t col_crc;
	uint64_t total_tokens;   /* indexed text: tokens over all docs */
	bool has_norms;
	uint64_t norm_off, norm_len, norm_raw;
	uint32_t norm_crc;
	uint8_t *norms;          /* loaded field norms (lazily), num_docs bytes */
	uint8_t *idx_buf;        /* loaded block index (lazily) */
	struct custom_tokenizer *custom; /* TOK_CUSTOM: the definition the split records */
	struct dblk *blocks;
};

/*
 * A doc store block, as the block index describes it. Its seek points
 * are ds_pts[pt0 .. pt0 + npts): the last is the frame's end (every doc);
 * a version 2 or 3 block has only that one.
 */
struct dsb {
	uint32_t first_doc, num_docs;
	uint64_t raw_len, off, len;
	uint32_t crc;
	uint32_t npts;
	size_t pt0;
};

/* A seek point: the compressed prefix of len bytes, whose crc is crc,
 * decodes to the block's first docs docs of its stream. */
struct dspt {
	uint32_t docs;
	uint64_t len;
	uint32_t crc;
};

struct split_reader {
	char *path;
	int fd;
	struct split_remote *remote;  /* an s3:// split read by ranges, or NULL */
	struct split_io *io;          /* reads so far: mutable under a const reader */
	uint64_t size;
	uint32_t version;        /* format version of the file (SPLIT_VERSION_MIN..SPLIT_VERSION) */
	uint8_t *footer;
	size_t footer_len;
	/* the footer's metadata JSON, parsed on first use (split_rd_meta):
	 * a search needs only its split_id, which split_reader_check_id reads
	 * from the text; over many small splits parsing it cost more than
	 * their postings. The footer checksum covers it. */
	const char *meta_text;
	size_t meta_len;
	json_t **meta;                /* *meta: NULL until parsed; mutable under a const reader */
	uint64_t sec_off[SEC_COUNT], sec_len[SEC_COUNT];
	uint32_t sec_crc[SEC_COUNT];
	uint64_t hot_off, hot_len;  /* absolute */
	uint32_t num_docs;
	struct rfield *fields;
	size_t nfields;
	char *paths;             /* every field path, NUL-terminated, one allocation */
	struct dsb *ds;          /* doc store block index: parsed on first doc read */
	size_t nds;
	size_t ds_at;            /* where it starts in the hotcache; SIZE_MAX once parsed */
	/* doc store cache */
	int64_t ds_cached;
	uint32_t ds_ndec;        /* docs of block ds_cached decoded (its stream's first) */
	struct dspt *ds_pts;     /* every block's seek points (struct dsb) */
	size_t ds_npts;
	uint8_t *ds_raw;
	uint64_t ds_raw_cap;
	uint64_t *ds_offs;       /* num_docs + 1 offsets into ds_raw */
	ZSTD_DCtx *zd;           /* through split_rd_zstd(); borrowed when zd_borrowed */
	bool zd_borrowed;
	/* last dictionary block read for inline postings */
	const struct rfield *dc_field;
	uint64_t dc_bi, dc_len;
	uint8_t *dc_data;
};

/* The footer metadata, parsed on first use; NULL when it is no JSON object. */
json_t *split_rd_meta(const struct split_reader *r);
/* An EX_DATAERR naming the split, the section (-1: the footer) and the offset; returns -1. */
int split_corrupt(const struct split_reader *r, struct qw_err *err, int sec, uint64_t off,
		  const char *what);
/* len bytes at the absolute offset off: from the fd or by a range GET. */
int split_rread(const struct split_reader *r, void *buf, size_t len, uint64_t off,
		struct qw_err *err);
/* Read len bytes at off (relative to section sec) into a new buffer (+ padding). */
uint8_t *split_rd(const struct split_reader *r, int sec, uint64_t off, uint64_t len,
		  struct qw_err *err);
/* split_rd() plus a CRC32C check against crc. */
uint8_t *split_rd_crc(const struct split_reader *r, int sec, uint64_t off, uint64_t len,
		      uint32_t crc, struct qw_err *err);
/* The reader's zstd decompression context (the borrowed one, else its own,
 * made on first use); NULL when one cannot be made. */
ZSTD_DCtx *split_rd_zstd(struct split_reader *r);
/* Replace *p (len bytes of zstd) by its raw_len decompressed bytes (+ padding). */
int split_inflate_unit(struct split_reader *r, int sec, uint64_t off, uint8_t **p,
		       uint64_t len, uint64_t raw_len, struct qw_err *err);
/* Field number field of the reader, or NULL (EX_SOFTWARE) when there is none. */
struct rfield *split_field_at(struct split_reader *r, int field, struct qw_err *err);

/* Decoder of one dictionary block (split_dict.c). */
struct blkdec {
	struct split_reader *r;
	const struct rfield *f;
	uint32_t field;
	uint8_t *data;
	struct cur c;
	uint64_t blk_off, bi;
	uint32_t left;
	struct buf term;
	uint64_t post_off, pos_off;
	bool numkey;             /* 8-byte keys coded as differences */
	uint64_t prev_key;
	uint32_t prev_first;     /* first doc of the previous inline postings */
};

/* split_dict.c: a field's dictionary entry of the hotcache; false when malformed. */
bool split_dict_read_hot(struct cur *c, const struct split_reader *r, struct rfield *f);
/* split_dict.c: load and check a field's dictionary block index (once). */
int split_dict_load_index(struct split_reader *r, struct rfield *f, struct qw_err *err);
/*
 * split_dict.c: the raw bytes of dictionary block bi of field f, through a
 * one-block cache of the reader (postings of rare terms live in their
 * dictionary block). Valid until the next call.
 */
int split_dict_block_raw(struct split_reader *r, const struct rfield *f, uint64_t bi,
			 const uint8_t **data, uint64_t *len, struct qw_err *err);
/*
 * split_postings.c: the postings part of the dictionary entry being
 * decoded by d (after doc_freq and total_freq) into ti; false when
 * malformed.
 */
bool split_postings_read_entry(struct blkdec *d, struct split_term_info *ti);
/* split_fieldnorms.c: a text field's norms entry of the hotcache; false when malformed. */
bool split_fieldnorms_read_hot(struct cur *c, const struct split_reader *r, struct rfield *f);
/* split_columns.c: a fast field's column entry of the hotcache; false when malformed. */
bool split_columns_read_hot(struct cur *c, const struct split_reader *r, struct rfield *f);
/* split_docstore.c: parse the doc store block index at the end of the hotcache (once). */
int split_docstore_load_index(struct split_reader *r, struct qw_err *err);

/* split_footer.c: the trailer, the last SPLIT_TRAILER_LEN bytes of a split. */
struct split_trailer {
	uint64_t footer_len;
	uint32_t hot_len, meta_len, table_len, fcrc;
	uint32_t version;        /* SPLIT_VERSION_MIN..SPLIT_VERSION */
};
/* split_footer.c: the footer into r->footer, from the file or (s3://) the local cache. */
int split_footer_load(struct split_reader *r, struct split_trailer *t, struct qw_err *err);
/* split_footer.c: the section table of the loaded footer into r->sec_*. */
int split_footer_read_table(struct split_reader *r, const struct split_trailer *t,
			    struct qw_err *err);

#endif
