/* bitpack: see bitpack.h */
#include "base/bitpack.h"

void bitpack_write(struct buf *out, const uint64_t *v, size_t n, unsigned bits)
{
	size_t nbytes = bitpack_bytes(n, bits);
	uint8_t *p;
	uint64_t bitoff = 0;

	buf_grow(out, nbytes + BITPACK_PAD + 1);
	p = (uint8_t *)out->data + out->len;
	memset(p, 0, nbytes + BITPACK_PAD + 1);
	if (bits > 0) {
		for (size_t i = 0; i < n; i++, bitoff += bits) {
			uint64_t x = bits == 64 ? v[i] : (v[i] & ((1ULL << bits) - 1));
			size_t byte = bitoff >> 3;
			unsigned shift = (unsigned)(bitoff & 7);
			uint64_t w;

			memcpy(&w, p + byte, 8);
			w |= x << shift;
			memcpy(p + byte, &w, 8);
			if (shift && bits + shift > 64)
				p[byte + 8] |= (uint8_t)(x >> (64 - shift));
		}
	}
	out->len += nbytes + BITPACK_PAD;
	out->data[out->len] = '\0';
}

void bitpack_pack32(struct buf *out, const uint32_t *v, size_t n, unsigned bits)
{
	uint64_t acc = 0;
	unsigned have = 0;

	if (bits == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		acc |= (uint64_t)v[i] << have;
		have += bits;
		while (have >= 8) {
			buf_add_u8(out, (uint8_t)acc);
			acc >>= 8;
			have -= 8;
		}
	}
	if (have)
		buf_add_u8(out, (uint8_t)acc);
}

void bitpack_unpack32(const uint8_t *p, unsigned bits, uint32_t *out, size_t n)
{
	const uint64_t mask = bits == 32 ? 0xffffffffULL : ((1ULL << bits) - 1);
	const uint64_t nbytes = bitpack_bytes(n, bits);
	uint64_t acc, off;
	unsigned have;
	size_t i = 0;

	if (bits == 0) {
		memset(out, 0, n * sizeof(*out));
		return;
	}
	/* One 8-byte load a value (it starts at most 7 bits into its first
	 * byte and is at most 32 bits long) while the load stays inside the n
	 * values' bytes: a postings block's 128 doc deltas were a third of a
	 * common term's search when read a byte at a time. */
	for (off = 0; i < n && (off >> 3) + 8 <= nbytes; i++, off += bits) {
		uint64_t w;

		memcpy(&w, p + (off >> 3), 8);   /* little-endian, as bitpack_get() */
		out[i] = (uint32_t)((w >> (off & 7)) & mask);
	}
	if (i == n)
		return;
	/* the last few: a byte at a time, never past the last byte */
	p += off >> 3;
	acc = (uint64_t)*p++ >> (off & 7);
	have = 8 - (unsigned)(off & 7);
	for (; i < n; i++) {
		while (have < bits) {
			acc |= (uint64_t)*p++ << have;
			have += 8;
		}
		out[i] = (uint32_t)(acc & mask);
		acc >>= bits;
		have -= bits;
	}
}
