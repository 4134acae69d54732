/*
 * bitset: a set of ids in [0, n), one bit each, in 64-bit words.
 *
 * bs_init() makes an empty set of n ids (allocation failure aborts, as
 * xalloc.h), bs_free() releases it. The binary operations (and, or,
 * andnot) take two sets of the same n; bits past n stay clear (bs_fill
 * and bs_not keep them so, bs_count counts only ids). bs_next(a, i) is the
 * first id >= i in a, bs_prev(a, i) the last id <= i, UINT32_MAX when
 * there is none. All are inline: the searcher calls them once per doc.
 */
#ifndef QW_BITSET_H
#define QW_BITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct bitset {
	uint64_t *w;
	size_t nw;
	uint32_t n;
};

static inline void bs_init(struct bitset *b, uint32_t n)
{
	b->n = n;
	b->nw = ((size_t)n + 63) / 64;
	b->w = xcalloc(b->nw ? b->nw : 1, sizeof(uint64_t));
}

static inline void bs_free(struct bitset *b)
{
	free(b->w);
	b->w = NULL;
}

static inline void bs_fill(struct bitset *b)
{
	size_t i;

	for (i = 0; i < b->nw; i++)
		b->w[i] = ~0ULL;
	if (b->n % 64)
		b->w[b->nw - 1] = (1ULL << (b->n % 64)) - 1;
}

static inline void bs_clear(struct bitset *b)
{
	memset(b->w, 0, b->nw * sizeof(uint64_t));
}

static inline void bs_set(struct bitset *b, uint32_t i)
{
	if (i < b->n)
		b->w[i / 64] |= 1ULL << (i % 64);
}

/* Sets [from, to) (clipped to the set's size). */
static inline void bs_set_range(struct bitset *b, uint64_t from, uint64_t to)
{
	if (to > b->n)
		to = b->n;
	for (; from < to && from % 64; from++)
		bs_set(b, (uint32_t)from);
	for (; from + 64 <= to; from += 64)
		b->w[from / 64] = ~0ULL;
	for (; from < to; from++)
		bs_set(b, (uint32_t)from);
}

static inline bool bs_get(const struct bitset *b, uint32_t i)
{
	return (b->w[i / 64] >> (i % 64)) & 1;
}

static inline void bs_and(struct bitset *a, const struct bitset *b)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] &= b->w[i];
}

static inline void bs_or(struct bitset *a, const struct bitset *b)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] |= b->w[i];
}

static inline void bs_andnot(struct bitset *a, const struct bitset *b)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] &= ~b->w[i];
}

static inline void bs_not(struct bitset *a)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] = ~a->w[i];
	if (a->n % 64)
		a->w[a->nw - 1] &= (1ULL << (a->n % 64)) - 1;
}

static inline uint64_t bs_count(const struct bitset *a)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < a->nw; i++)
		c += (uint64_t)__builtin_popcountll(a->w[i]);
	return c;
}

/* Next set bit at or after i, or UINT32_MAX. */
static inline uint32_t bs_next(const struct bitset *a, uint32_t i)
{
	size_t wi = i / 64;
	uint64_t w;

	if (i >= a->n)
		return UINT32_MAX;
	w = a->w[wi] & (~0ULL << (i % 64));
	for (;;) {
		if (w)
			return (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(w));
		if (++wi >= a->nw)
			return UINT32_MAX;
		w = a->w[wi];
	}
}

/* Last set bit at or before i, or UINT32_MAX. */
static inline uint32_t bs_prev(const struct bitset *a, uint32_t i)
{
	size_t wi;
	uint64_t w;

	if (a->n == 0)
		return UINT32_MAX;
	if (i >= a->n)
		i = a->n - 1;
	wi = i / 64;
	w = a->w[wi] & (~0ULL >> (63 - i % 64));
	for (;;) {
		if (w)
			return (uint32_t)(wi * 64 + 63 - (size_t)__builtin_clzll(w));
		if (wi-- == 0)
			return UINT32_MAX;
		w = a->w[wi];
	}
}

#endif
