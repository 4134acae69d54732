/*
 * storage: where split files live, addressed by URI.
 *
 * A storage is opened on a root URI ("file:///abs/dir", or a plain path,
 * which means file://). Objects are named by one path component
 * ("<split_id>.split"); a name with '/', a leading '.', or empty is refused
 * (EX_DATAERR), so nothing derived from input escapes the root. Only the
 * file:// backend exists; s3:// is refused with EX_UNAVAILABLE until it
 * lands behind the same calls.
 *
 * storage_put_file() stores a local file under a name atomically: readers
 * see the whole object or none. With move=true the source may be renamed
 * into place (same filesystem) and is gone afterwards in every case of
 * success; with move=false it is copied. storage_delete() of a missing
 * object is not an error. storage_list() lists the objects whose name
 * starts with a prefix, in no particular order (a root that does not exist
 * yet holds no object). A struct storage is immutable after open and may
 * be shared by threads.
 *
 * Each backend implements the same contract, checked by one test suite
 * (tests/unit/storage_contract_test.c) run against each backend's URI.
 */
#ifndef QW_STORAGE_H
#define QW_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/metastore.h"

struct storage;

struct storage *storage_open(const char *uri, struct qw_err *err);
/* The storage of an index's splits: metastore_splits_dir() of its metadata
 * (its index_uri, or the default directory). */
struct storage *storage_open_index(struct metastore *ms, const char *index_id,
				   struct qw_err *err);
/*
 * Check an index_uri for a new index: a file:// URI or a plain path, of an
 * absolute path without '..' (a scheme not implemented yet is EX_DATAERR:
 * "scheme 's3' is not supported yet"). norm receives the URI to store
 * ("file:///abs", no trailing slash), malloc'ed.
 */
int storage_check_index_uri(const char *uri, char **norm, struct qw_err *err);
void storage_close(struct storage *s);

/* "file:///root" */
const char *storage_root_uri(const struct storage *s);
/* URI of one object (malloc'ed), NULL when the name is invalid. */
char *storage_uri(const struct storage *s, const char *name, struct qw_err *err);

/* Where an object is, for messages: the path a user can ls for the file
 * backend, the URI for another (malloc'ed; name is not checked). */
char *storage_location(const struct storage *s, const char *name);

int storage_put_file(struct storage *s, const char *name, const char *src_path, bool move,
		     struct qw_err *err);
/* Copy an object to a local path, atomically. EX_NOINPUT when missing. */
int storage_get_file(struct storage *s, const char *name, const char *dst_path,
		     struct qw_err *err);
int storage_delete(struct storage *s, const char *name, struct qw_err *err);
/* 1 when present, 0 when absent, -1 on error. */
int storage_exists(struct storage *s, const char *name, struct qw_err *err);

/* One stored object. */
struct storage_entry {
	char *name;
	int64_t size;       /* bytes */
	int64_t mtime_s;    /* last modification, wall s */
};
/* The objects whose name starts with prefix ("" or NULL: all); *entries is
 * malloc'ed (NULL when *n is 0), freed with storage_free_entries(). */
int storage_list(struct storage *s, const char *prefix, struct storage_entry **entries,
		 size_t *n, struct qw_err *err);
void storage_free_entries(struct storage_entry *entries, size_t n);

/* "<split_id>.split" into out (ULID_LEN + 7 bytes). */
void storage_split_name(const char *split_id, char out[40]);

#endif
