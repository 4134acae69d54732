/*
 * json_lex: the tokens of JSON text as jansson reads them, the one copy of
 * these rules for the readers that do not go through jansson's parser: the
 * document mapper's canonical fast path and one-pass scan (docmap.c) and
 * the tree loader (json_load.c). Each helper reads [p, end) and never past
 * end; what jansson would reject, each one refuses (0, false or NULL), so a
 * caller gives up and leaves the verdict to jansson. Header-only: they run
 * for every byte of every document.
 */
#ifndef QW_JSON_LEX_H
#define QW_JSON_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/buf.h"
#include "base/utf8.h"

static inline const char *json_ws(const char *p, const char *end)
{
	/* most tokens follow one another with no whitespace between them */
	if (p < end && (unsigned char)*p > ' ')
		return p;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Whether the literal lit (n bytes: true, false, null) starts at p. */
static inline bool json_lit(const char *p, const char *end, const char *lit, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/*
 * The bytes of v (8 bytes of a string body) that stop an unescaped run: the
 * high bit of each byte that is '"', '\\', a control character or not ASCII.
 * Above the lowest flagged byte, a borrow may flag bytes that do not stop
 * the run: only the lowest flag is exact.
 */
static inline uint64_t json_run_stops(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');

	return (v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/*
 * The unescaped run of a string body from p: printable ASCII other than '"'
 * and '\\', and well-formed UTF-8 sequences. Returns where it stops: end, a
 * '"', a '\\', or a byte no JSON string holds raw (a control character or a
 * byte of invalid UTF-8). Sixteen bytes at a time with SSE2, then eight: on
 * a little-endian machine the lowest stop flag says which byte stopped it,
 * elsewhere the bytes of the word that stopped it are looked at one by one.
 */
static inline __attribute__((always_inline)) const unsigned char *
json_str_run(const unsigned char *p, const unsigned char *end)
{
	for (;;) {
		uint32_t cp;
		size_t k;

#if defined(__SSE2__)
		/* sixteen at a time: as signed bytes, controls and non-ASCII are below ' ' */
		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
			__m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
			__m128i low = _mm_cmplt_epi8(v, _mm_set1_epi8(' '));
			unsigned bits = (unsigned)_mm_movemask_epi8(
				_mm_or_si128(low, _mm_or_si128(quote, backslash)));

			if (bits) {
				p += __builtin_ctz(bits);
				goto stopped;
			}
			p += 16;
		}
#endif
		while (end - p >= 8) {
			uint64_t v, stops;

			memcpy(&v, p, 8);
			stops = json_run_stops(v);
			if (stops) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				p += (unsigned)__builtin_ctzll(stops) >> 3;
				goto stopped;
#else
				break;
#endif
			}
			p += 8;
		}
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
#if defined(__SSE2__) || (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
	stopped:
#endif
		if (p >= end || *p < 0x80)
			break;
		k = utf8_decode(p, (size_t)(end - p), &cp);
		if (!k)
			break;
		p += k;
	}
	return p;
}

static inline int json_hex4(const unsigned char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * The escape sequence at p (on its backslash), decoded as jansson decodes it:
 * its length (2, 6, or 12 for a surrogate pair) with its code point in *cp,
 * or 0 for what jansson rejects (unknown escape, bad hex digits, \u0000, lone
 * surrogates).
 */
static inline __attribute__((always_inline)) size_t
json_escape(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
	int v, lo;

	if (end - p < 2)
		return 0;
	switch (p[1]) {
	case '"': *cp = '"'; return 2;
	case '\\': *cp = '\\'; return 2;
	case '/': *cp = '/'; return 2;
	case 'b': *cp = '\b'; return 2;
	case 'f': *cp = '\f'; return 2;
	case 'n': *cp = '\n'; return 2;
	case 'r': *cp = '\r'; return 2;
	case 't': *cp = '\t'; return 2;
	case 'u':
		if (end - p < 6 || (v = json_hex4(p + 2)) <= 0)
			return 0;
		if (v >= 0xdc00 && v <= 0xdfff)
			return 0;
		if (v >= 0xd800 && v <= 0xdbff) {
			if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
			    (lo = json_hex4(p + 8)) < 0xdc00 || lo > 0xdfff)
				return 0;
			*cp = 0x10000 + ((unsigned)(v - 0xd800) << 10) + (unsigned)(lo - 0xdc00);
			return 12;
		}
		*cp = (unsigned)v;
		return 6;
	default:
		return 0;
	}
}

/*
 * The string whose opening quote is at q, decoded as jansson decodes it:
 * returns where its closing quote is, or NULL on what jansson rejects
 * (control characters, invalid UTF-8, \u0000, lone surrogates, bad
 * escapes). With no escape *off is SIZE_MAX and the string is the bytes
 * between the quotes; else the whole string is decoded at the end of t,
 * from *off (t->len at the first backslash).
 */
static inline __attribute__((always_inline)) const unsigned char *
json_string_decode(const unsigned char *q, const unsigned char *end, struct buf *t, size_t *off)
{
	const unsigned char *p = q + 1, *start = p;

	*off = SIZE_MAX;
	for (;;) {
		unsigned cp;
		size_t k;

		p = json_str_run(p, end);
		if (p >= end)
			return NULL;
		if (*p == '"')
			break;
		if (*p != '\\')
			return NULL;
		/* a backslash: from here on, decode into t */
		if (*off == SIZE_MAX)
			*off = t->len;
		buf_add(t, start, (size_t)(p - start));
		k = json_escape(p, end, &cp);
		if (!k)
			return NULL;
		buf_add_utf8(t, cp);
		p += k;
		start = p;
	}
	if (*off != SIZE_MAX)
		buf_add(t, start, (size_t)(p - start));
	return p;
}

/*
 * The JSON number token at [p, end): false when it is not a valid JSON number. mag holds the
 * integer part's value when it has at most 19 digits (which fit in uint64).
 */
struct json_num {
	const char *end;
	bool is_int;
	bool neg;
	int digits;
	uint64_t mag;
};

static inline bool lex_number(const char *p, const char *end, struct json_num *num)
{
	num->neg = false;
	num->digits = 0;
	num->mag = 0;
	if (p < end && *p == '-') {
		num->neg = true;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return false;
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return false;
	while (p < end && *p >= '0' && *p <= '9') {
		if (++num->digits <= 19)
			num->mag = num->mag * 10 + (uint64_t)(*p - '0');
		p++;
	}
	num->is_int = true;
	if (p < end && *p == '.') {
		num->is_int = false;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		num->is_int = false;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	num->end = p;
	return true;
}

/* Whether an integer token fits in int64 (json_int_t, as jansson reads it). */
static inline bool json_num_fits_i64(const struct json_num *num)
{
	return num->digits <= 19 && num->mag <= (uint64_t)INT64_MAX + (num->neg ? 1 : 0);
}

#endif
