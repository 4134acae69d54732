/*
 * storage_s3: the s3:// backend of storage.h ("s3://bucket/prefix").
 *
 * Objects are keys "<prefix>/<name>" of the bucket, written by one PUT (or
 * a multipart upload that S3 shows only once complete), so readers see a
 * whole object or none. The S3 client (s3.h) is configured from the
 * environment. Names are checked by storage.c before they get here.
 * A struct storage_s3 may be shared by threads (the client is).
 */
#ifndef QW_STORAGE_S3_H
#define QW_STORAGE_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct storage_s3;

struct storage_s3 *storage_s3_open(const char *uri, struct qw_err *err);
void storage_s3_close(struct storage_s3 *s);
/* "s3://bucket/prefix" normalised (no trailing '/'), malloc'ed; EX_DATAERR
 * for a bad bucket or prefix. */
int storage_s3_check_uri(const char *uri, char **norm, struct qw_err *err);

/* With move, src_path is removed once the object is stored. */
int storage_s3_put_file(struct storage_s3 *s, const char *name, const char *src_path,
			bool move, struct qw_err *err);
int storage_s3_get_file(struct storage_s3 *s, const char *name, const char *dst_path,
			struct qw_err *err);
int storage_s3_delete(struct storage_s3 *s, const char *name, struct qw_err *err);
/* Objects directly under the prefix, with size and modification time
 * (storage_list); fn returning non-zero stops and is returned. */
int storage_s3_list(struct storage_s3 *s, int (*fn)(void *ctx, const char *name, int64_t size, int64_t mtime_s),
		    void *ctx, struct qw_err *err);
int storage_s3_exists(struct storage_s3 *s, const char *name, struct qw_err *err);

#endif
