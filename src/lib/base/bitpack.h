/*
 * bitpack: fixed-width bit packing of integers (little-endian bit order),
 * as used by postings blocks and fast-field columns (man/qw-split.5).
 *
 * n values of `bits` bits (0..64) take bitpack_bytes(n, bits) bytes.
 * bitpack_write() appends them plus BITPACK_PAD zero bytes, so that
 * bitpack_get() may load 8 bytes at any value's offset; a reader must
 * check that the region holds bitpack_bytes(n, bits) + BITPACK_PAD bytes.
 * bitpack_pack32()/bitpack_unpack32() handle blocks of u32 without padding
 * (exactly bitpack_bytes(n, bits) bytes, bits <= 32). Pure functions.
 */
#ifndef QW_BITPACK_H
#define QW_BITPACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"

#define BITPACK_PAD 8

static inline uint64_t bitpack_bytes(uint64_t n, unsigned bits)
{
	return (n * bits + 7) / 8;
}

/* Number of bits needed for v (0 for 0). */
static inline unsigned bitpack_width(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

static inline uint64_t bitpack_get(const uint8_t *p, unsigned bits, uint64_t i)
{
	uint64_t off, w;
	unsigned shift;

	if (bits == 0)
		return 0;
	off = i * bits;
	shift = (unsigned)(off & 7);
	memcpy(&w, p + (off >> 3), 8);
	w >>= shift;
	if (bits + shift > 64)
		w |= (uint64_t)p[(off >> 3) + 8] << (64 - shift);
	return bits == 64 ? w : (w & ((1ULL << bits) - 1));
}

void bitpack_write(struct buf *out, const uint64_t *v, size_t n, unsigned bits);
void bitpack_pack32(struct buf *out, const uint32_t *v, size_t n, unsigned bits);
void bitpack_unpack32(const uint8_t *p, unsigned bits, uint32_t *out, size_t n);

#endif
