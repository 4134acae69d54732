/*
 * split_cache: local copies of splits that live on object storage.
 *
 * split_reader reads a split by offset. An s3:// split is read one of two
 * ways:
 *
 * - without QW_SPLIT_CACHE_DIR, by range GETs (split_remote_*): a HEAD
 *   for the size, then one GET per unit the reader reads (its footer,
 *   then the term blocks, postings, columns and doc-store blocks a query
 *   needs), so a query costs bytes close to what it reads;
 * - with QW_SPLIT_CACHE_DIR set, split_cache_open() downloads the whole
 *   object once (one GET) and keeps it there under a name derived from
 *   the URI (splits are immutable, so a cached copy stays valid), reused
 *   by the next process; after each download the least recently used
 *   copies are removed until the directory holds at most
 *   QW_SPLIT_CACHE_MAX_BYTES (default 10 GiB). Footers and hotcaches
 *   alone are not cached yet: it is the whole split or nothing.
 *
 * Downloads are atomic (atomicfile.h), so concurrent processes sharing a
 * cache see whole copies. Thread-safe (no shared state).
 */
#ifndef QW_SPLIT_CACHE_H
#define QW_SPLIT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* True for a path split_cache_open() must serve (an s3:// URI). */
int split_cache_is_remote(const char *path);
/* Whether QW_SPLIT_CACHE_DIR is set (whole-split local copies). */
int split_cache_enabled(void);
/* A read-only fd (O_CLOEXEC) on a local copy of uri, or -1 with err. */
int split_cache_open(const char *uri, struct qw_err *err);

/* An s3:// object read by ranges; used by one thread at a time. */
struct split_remote;
/* One HEAD: the object's size in *size. EX_NOINPUT when it is missing. */
struct split_remote *split_remote_open(const char *uri, uint64_t *size, struct qw_err *err);
/* Exactly len bytes at off into buf (one range GET), or -1 with err. */
int split_remote_pread(struct split_remote *s, void *buf, size_t len, uint64_t off,
		       struct qw_err *err);
/* Requests sent (retries included) and response bytes received so far. */
void split_remote_io(const struct split_remote *s, uint64_t *requests, uint64_t *bytes);
void split_remote_close(struct split_remote *s);

#endif
