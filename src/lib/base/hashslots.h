/*
 * hashslots: the slot array of an open-addressing hash table whose entries
 * live in an array of their own. A slot holds an entry's index + 1 (0 is
 * empty); probing is linear; the slot count is a power of two, 64 at
 * first. The caller keeps the array at most half full (grow before adding
 * when (n + 1) * 2 > nslots), compares entries itself while probing, and
 * frees the array. Header-only; no state of its own.
 */
#ifndef QW_HASHSLOTS_H
#define QW_HASHSLOTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/xalloc.h"

/* The hash of entry i of the caller's table (ctx). */
typedef uint32_t (*hashslots_hash_fn)(const void *ctx, size_t i);

/* Store index idx in the first empty slot from hash h on. */
static inline void hashslots_put(uint32_t *slots, size_t nslots, uint32_t h, size_t idx)
{
	size_t j = h & (nslots - 1);

	while (slots[j])
		j = (j + 1) & (nslots - 1);
	slots[j] = (uint32_t)idx + 1;
}

/* Double *slots (or make its first 64) and re-insert entries 0..n-1 by hash(ctx, i). */
static inline void hashslots_grow(uint32_t **slots, size_t *nslots, size_t n,
				  hashslots_hash_fn hash, const void *ctx)
{
	size_t nn = *nslots ? *nslots * 2 : 64;
	uint32_t *s = xcalloc(nn, sizeof(*s));

	for (size_t i = 0; i < n; i++)
		hashslots_put(s, nn, hash(ctx, i), i);
	free(*slots);
	*slots = s;
	*nslots = nn;
}

#endif
