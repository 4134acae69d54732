/*
 * split_format: the constants of the .split layout (man/qw-split.5) and a
 * bounds-checked cursor to decode it. Shared by segment.c, the section
 * files (split_internal.h: each encodes and decodes one section) and
 * split_reader.c. A cursor never
 * reads outside [p, end): any overrun sets bad and returns zeros, so a
 * decoder checks cur.bad once after a run of reads. Header-only.
 */
#ifndef QW_SPLIT_FORMAT_H
#define QW_SPLIT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SPLIT_MAGIC "QWSPLIT1"           /* 8 bytes, last in the file */
#define SPLIT_VERSION 4              /* written; 4: doc store blocks newest doc first, with
				      * seek points; 3: newline-ended docs */
#define SPLIT_VERSION_MIN 2          /* the oldest still read (2: varint doc lengths) */
#define SPLIT_TRAILER_LEN 40
#define SPLIT_TAIL_READ 65536            /* first read of split_reader_open */

/* Section files of a segment directory, in file order. */
enum split_section {
	SEC_TERMS,
	SEC_POSTINGS,
	SEC_POSITIONS,
	SEC_FIELDNORMS,
	SEC_FAST,
	SEC_DOCSTORE,
	SEC_COUNT,
};

static const char *const split_section_names[SEC_COUNT] = {
	"terms", "postings", "positions", "fieldnorms", "fast", "docstore",
};

#define SPLIT_BLOCK 128                  /* docs per bit-packed postings block */
#define SPLIT_DICT_BLOCK_TERMS 4096      /* at most, terms per dictionary block */
#define SPLIT_DICT_BLOCK_BYTES 16384     /* a block is cut when its raw bytes reach this */

/* field flags in the hotcache */
#define SF_INDEXED 1u
#define SF_FAST 2u
#define SF_STORED 4u

/* fast column codecs */
#define COL_KEYS 0
#define COL_DICT 1
/* fast column presence */
#define COL_PRES_FULL 0     /* every doc has a value */
#define COL_PRES_DENSE 1    /* bitset + rank every 512 docs */
#define COL_PRES_SPARSE 2   /* sorted list of docs with values */
/* fast column value codecs */
#define COL_VALS_PACKED 0   /* one bit width for every value */
#define COL_VALS_TABLE 1    /* sorted table of distinct values + packed indexes */
#define COL_VALS_BLOCKS 2   /* blocks of COL_VAL_BLOCK values: base + own width */
#define COL_VAL_BLOCK 128
/* where a dictionary column's terms are */
#define COL_DICT_OWN 0      /* in the column */
#define COL_DICT_TERMS 1    /* the field's term dictionary (same terms, same ordinals) */

/*
 * Field norms: a doc's number of tokens in a field on one byte, the scale
 * of tantivy and Lucene (exact up to 23, then 8 steps per power of two).
 */
static inline uint32_t fieldnorm_decode(uint8_t id)
{
	unsigned b, shift;

	if (id < 24)
		return id;
	b = (unsigned)(id - 24) & 7;
	shift = (unsigned)(id - 24) >> 3;
	return 24 + (shift == 0 ? b : (b | 8u) << (shift - 1));
}

/* The largest id whose value is <= n. */
static inline uint8_t fieldnorm_encode(uint32_t n)
{
	unsigned lo = 0, hi = 256;

	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;

		if (fieldnorm_decode((uint8_t)mid) <= n)
			lo = mid;
		else
			hi = mid;
	}
	return (uint8_t)lo;
}

struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static inline void cur_init(struct cur *c, const void *p, size_t len)
{
	c->p = p;
	c->end = c->p + len;
	c->bad = false;
}

static inline size_t cur_left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

static inline uint64_t cur_varint(struct cur *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (c->p >= c->end) {
			c->bad = true;
			return 0;
		}
		b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

/* A varint that must fit in 32 bits. */
static inline uint32_t cur_varint32(struct cur *c)
{
	uint64_t v = cur_varint(c);

	if (v > UINT32_MAX) {
		c->bad = true;
		return 0;
	}
	return (uint32_t)v;
}

static inline uint8_t cur_u8(struct cur *c)
{
	if (c->p >= c->end) {
		c->bad = true;
		return 0;
	}
	return *c->p++;
}

static inline uint32_t cur_u32le(struct cur *c)
{
	uint32_t v = 0;

	if (cur_left(c) < 4) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | c->p[i];
	c->p += 4;
	return v;
}

static inline uint64_t cur_u64le(struct cur *c)
{
	uint64_t v = 0;

	if (cur_left(c) < 8) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | c->p[i];
	c->p += 8;
	return v;
}

/* n bytes: returns a pointer to them, or NULL (and bad) when short. */
static inline const uint8_t *cur_bytes(struct cur *c, uint64_t n)
{
	const uint8_t *r;

	if (n > cur_left(c)) {
		c->bad = true;
		c->p = c->end;
		return NULL;
	}
	r = c->p;
	c->p += n;
	return r;
}

#endif
