/*
 * split_cache: reading splits that live on object storage.
 *
 * An s3:// split is read by range GETs (split_remote_*): one GET per unit
 * split_reader reads (the end of the file with the footer and hotcache,
 * then the term blocks, postings, columns and doc-store blocks a query
 * needs), so a query costs bytes close to what it reads. The size comes
 * from the metastore's split record when known (no HEAD), else from a
 * HEAD. A struct s3_client may be shared by the readers of one search, so
 * that their connections are reused (s3.h keeps a pool of them).
 *
 * With QW_SPLIT_CACHE_DIR set, the footer and hotcache of each split read
 * (the bytes split_reader_open() needs before any query) are kept there
 * as "<split_id>-<size>.footer", and the next process opens the split
 * without a request; so is every range a query read, as
 * "<split_id>-<size>-<off>-<len>.range", so that the same query again (a
 * warm Lambda function, a dashboard's refresh) reads no byte remotely and
 * another reads only the units it does not share with earlier ones. Splits are immutable, so id and size name a footer
 * for good; the reader still checks its checksum, and a bad copy is
 * removed and read again. After each store, the least recently used
 * copies (each hit refreshes its mtime) are removed until the copies
 * total at most QW_SPLIT_CACHE_MAX_BYTES (default 1 GiB); other files in
 * the directory are left alone (the range copies, many and small, start
 * an eviction scan at about one store in 16, so the bound may be passed by
 * a few of them until the next scan). Copies are
 * written atomically (atomicfile.h) and eviction only unlinks, so
 * processes sharing the directory see whole copies or none. Without
 * QW_SPLIT_CACHE_DIR nothing is cached (Quickwit's default). Thread-safe
 * (no shared state).
 */
#ifndef QW_SPLIT_CACHE_H
#define QW_SPLIT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/s3.h"

/* True for a path split_remote_open() must serve (an s3:// URI). */
int split_cache_is_remote(const char *path);

/* EX_USAGE for a bad QW_SPLIT_CACHE_MAX_BYTES: checked once by a search
 * before its splits are opened, so that it is an error, not per split. */
int split_cache_check_config(struct qw_err *err);
/*
 * The cached footer of the split at uri of size bytes: 1 and *data
 * (malloc'ed, *len bytes) on a hit, 0 on a miss or without a cache
 * directory, -1 with err for a bad QW_SPLIT_CACHE_MAX_BYTES.
 */
int split_cache_footer_get(const char *uri, uint64_t size, uint8_t **data, size_t *len,
			   struct qw_err *err);
/* Keep a footer (atomically), then evict down to the bound. */
int split_cache_footer_put(const char *uri, uint64_t size, const void *data, size_t len,
			   struct qw_err *err);
/* Remove a copy found bad (best effort). */
void split_cache_footer_drop(const char *uri, uint64_t size);

/* An s3:// object read by ranges; used by one thread at a time. */
struct split_remote;
/*
 * client: borrowed and shared (NULL: the reader makes its own). size: the
 * object's size when known (0: one HEAD finds it); *size_out receives it.
 * EX_NOINPUT when the object is missing.
 */
struct split_remote *split_remote_open(const char *uri, struct s3_client *client, uint64_t size,
				       uint64_t *size_out, struct qw_err *err);
/*
 * Keep and find this reader's footer and ranges in mem too (borrowed,
 * outliving the reader; NULL: none), a warm process's memory copies
 * (split_memcache.h), looked up before QW_SPLIT_CACHE_DIR and S3.
 */
struct split_memcache;
void split_remote_set_memcache(struct split_remote *s, struct split_memcache *mem);
/* split_cache_footer_get/put/drop of this reader's split, from and into
 * its memory cache first (a hit of the directory is kept in memory). */
int split_remote_footer_get(struct split_remote *s, uint8_t **data, size_t *len,
			    struct qw_err *err);
int split_remote_footer_put(struct split_remote *s, const void *data, size_t len,
			    struct qw_err *err);
void split_remote_footer_drop(struct split_remote *s);
/* Exactly len bytes at off into buf (its copy in the memory cache or in
 * QW_SPLIT_CACHE_DIR, else one range GET), or -1 with err. */
int split_remote_pread(struct split_remote *s, void *buf, size_t len, uint64_t off,
		       struct qw_err *err);
/* The requests this reader sent (retries included) and bytes received. */
void split_remote_io(const struct split_remote *s, uint64_t *requests, uint64_t *bytes);
/* Count anew from zero (a reader kept for the next search). */
void split_remote_io_reset(struct split_remote *s);
void split_remote_close(struct split_remote *s);

#endif
