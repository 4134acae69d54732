/*
 * split_cache: local copies of splits that live on object storage.
 *
 * split_reader reads a split by offset from a local fd. For an s3:// split
 * split_cache_open() downloads the whole object (one GET; a reader doing
 * range GETs of the footer, hotcache and blocks is not written yet) and
 * returns a read-only fd on the local copy:
 *
 * - with QW_SPLIT_CACHE_DIR set, the copy is kept there under a name
 *   derived from the URI (splits are immutable, so a cached copy stays
 *   valid) and reused by the next process; after each download the
 *   least recently used copies are removed until the directory holds at
 *   most QW_SPLIT_CACHE_MAX_BYTES (default 10 GiB);
 * - without it, the copy is a temp file unlinked at once: the fd is the
 *   only reference and nothing is left behind.
 *
 * Downloads are atomic (atomicfile.h), so concurrent processes sharing a
 * cache see whole copies. Thread-safe (no shared state).
 */
#ifndef QW_SPLIT_CACHE_H
#define QW_SPLIT_CACHE_H

#include "err.h"

/* True for a path split_cache_open() must serve (an s3:// URI). */
int split_cache_is_remote(const char *path);
/* A read-only fd (O_CLOEXEC) on a local copy of uri, or -1 with err. */
int split_cache_open(const char *uri, struct qw_err *err);

#endif
