/*
 * termkey: order-preserving encodings of typed values, shared by the split
 * writer (term dictionaries, fast columns) and the search engine (queries).
 *
 * Numbers become a u64 "key" whose unsigned order is the value order:
 *   u64: itself; i64 and datetime (microseconds): v ^ 2^63;
 *   f64: IEEE bits, all bits flipped when negative, else sign bit set
 *        (-0.0 is normalised to +0.0, NaN sorts above +inf);
 *   bool: 0 or 1.
 * In a term dictionary a numeric term is its key as 8 bytes big-endian, so
 * memcmp order == value order and range queries walk the dictionary.
 * ip terms are the 16 bytes (IPv4 mapped into IPv6), bool terms 1 byte.
 * Fast columns of numeric kinds hold keys; decode with termkey_to_*().
 * Header-only, pure functions.
 */
#ifndef QW_TERMKEY_H
#define QW_TERMKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TERMKEY_SIGN 0x8000000000000000ULL

static inline uint64_t termkey_from_i64(int64_t v) { return (uint64_t)v ^ TERMKEY_SIGN; }
static inline int64_t termkey_to_i64(uint64_t k) { return (int64_t)(k ^ TERMKEY_SIGN); }
static inline uint64_t termkey_from_u64(uint64_t v) { return v; }
static inline uint64_t termkey_to_u64(uint64_t k) { return k; }

static inline uint64_t termkey_from_f64(double d)
{
	uint64_t b;

	if (d == 0.0)
		d = 0.0;  /* -0.0 -> +0.0 */
	memcpy(&b, &d, 8);
	return (b & TERMKEY_SIGN) ? ~b : (b | TERMKEY_SIGN);
}

static inline double termkey_to_f64(uint64_t k)
{
	uint64_t b = (k & TERMKEY_SIGN) ? (k & ~TERMKEY_SIGN) : ~k;
	double d;

	memcpy(&d, &b, 8);
	return d;
}

static inline uint64_t termkey_from_bool(bool b) { return b ? 1 : 0; }

/* 8 bytes big-endian. */
static inline void termkey_put(uint64_t k, uint8_t out[8])
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)k;
		k >>= 8;
	}
}

static inline uint64_t termkey_get(const uint8_t in[8])
{
	uint64_t k = 0;

	for (int i = 0; i < 8; i++)
		k = (k << 8) | in[i];
	return k;
}

#endif
