/*
 * split_memcache: bytes of s3:// splits kept in memory by a process that
 * lives across searches (qw-lambda's warm function, search.h's struct
 * search_warm), so that a warm search opens a split without reading its
 * footer and hotcache again, from S3 or from QW_SPLIT_CACHE_DIR, and
 * reads again no range an earlier search read.
 *
 * A map from a key (split_cache.c names them: the split's URI, its size,
 * and which bytes) to a copy of the bytes, bounded by max_bytes (keys
 * and bytes counted) with least-recently-used eviction: each hit makes
 * its entry the most recent, each put evicts the least recent ones until
 * the total fits. An entry larger than an eighth of the bound is not kept
 * (one big column must not flush every footer). Splits are immutable, so
 * an entry is never stale while its key names the split's id and size;
 * a reader still checks the checksums of what it gets. Thread-safe (one
 * mutex): the readers of one search share it from their threads.
 */
#ifndef QW_SPLIT_MEMCACHE_H
#define QW_SPLIT_MEMCACHE_H

#include <stddef.h>
#include <stdint.h>

struct split_memcache;

/* An empty cache of at most max_bytes (0: keeps nothing). */
struct split_memcache *split_memcache_new(uint64_t max_bytes);
void split_memcache_free(struct split_memcache *c);

/* A hit: 1 and *data, a malloc'ed copy of the entry's *len bytes. 0: a miss. */
int split_memcache_get(struct split_memcache *c, const char *key, uint8_t **data, size_t *len);
/* A hit of exactly len bytes: 1 and buf filled. 0: a miss (or another length). */
int split_memcache_read(struct split_memcache *c, const char *key, void *buf, size_t len);
/* Keep a copy of data under key (replacing an entry of that key). */
void split_memcache_put(struct split_memcache *c, const char *key, const void *data, size_t len);
/* Forget key (a copy the reader found bad). */
void split_memcache_drop(struct split_memcache *c, const char *key);

struct split_memcache_stats {
	uint64_t entries, bytes, hits, misses, evictions;
};
void split_memcache_stats(struct split_memcache *c, struct split_memcache_stats *out);

#endif
