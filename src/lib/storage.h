/*
 * storage: where split files live, addressed by URI.
 *
 * A storage is opened on a root URI ("file:///abs/dir", or a plain path,
 * which means file://). Objects are named by one path component
 * ("<split_id>.split"); a name with '/', a leading '.', or empty is refused
 * (EX_DATAERR), so nothing derived from input escapes the root. Roots
 * "s3://bucket/prefix" go to the S3 backend (storage_s3.h, configured from
 * the environment as s3.h says); storage_root_uri() is then the s3:// URI
 * and the root is not a local directory.
 *
 * storage_put_file() stores a local file under a name atomically: readers
 * see the whole object or none. With move=true the source may be renamed
 * into place (same filesystem) and is gone afterwards in every case of
 * success; with move=false it is copied. storage_delete() of a missing
 * object is not an error. A struct storage is immutable after open and
 * may be shared by threads.
 */
#ifndef QW_STORAGE_H
#define QW_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "metastore.h"

struct storage;

struct storage *storage_open(const char *uri, struct qw_err *err);
/* The storage of an index's splits: metastore_splits_dir() of its metadata
 * (its index_uri, or the default directory). */
struct storage *storage_open_index(struct metastore *ms, const char *index_id,
				   struct qw_err *err);
/*
 * Check an index_uri for a new index: a file:// URI or a plain path, of an
 * absolute path without '..', or an s3://bucket/prefix URI (any other
 * scheme is EX_DATAERR: "scheme 'x' is not supported yet"). norm receives
 * the URI to store ("file:///abs" or "s3://bucket/prefix", no trailing
 * slash), malloc'ed.
 */
int storage_check_index_uri(const char *uri, char **norm, struct qw_err *err);
void storage_close(struct storage *s);

/* "file:///root" */
const char *storage_root_uri(const struct storage *s);
/* URI of one object (malloc'ed), NULL when the name is invalid. */
char *storage_uri(const struct storage *s, const char *name, struct qw_err *err);

int storage_put_file(struct storage *s, const char *name, const char *src_path, bool move,
		     struct qw_err *err);
/* Copy an object to a local path, atomically. EX_NOINPUT when missing. */
int storage_get_file(struct storage *s, const char *name, const char *dst_path,
		     struct qw_err *err);
int storage_delete(struct storage *s, const char *name, struct qw_err *err);
/* 1 when present, 0 when absent, -1 on error. */
int storage_exists(struct storage *s, const char *name, struct qw_err *err);

/*
 * Each object directly under the root: its name and modification time
 * (epoch seconds), in no particular order; fn returning non-zero stops
 * (and is returned). A missing root lists nothing.
 */
typedef int (*storage_list_fn)(void *ctx, const char *name, int64_t mtime_s);
int storage_list(struct storage *s, storage_list_fn fn, void *ctx, struct qw_err *err);

/* "<split_id>.split" into out (ULID_LEN + 7 bytes). */
void storage_split_name(const char *split_id, char out[40]);

#endif
