/*
 * s3: a small S3 client over libcurl.
 *
 * Configuration comes from the environment, as the AWS tools and Quickwit
 * take it: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 * (or the shared credentials file ~/.aws/credentials, AWS_SHARED_
 * CREDENTIALS_FILE, section AWS_PROFILE or "default"), AWS_REGION or
 * AWS_DEFAULT_REGION (default us-east-1), QW_S3_ENDPOINT (default
 * https://s3.<region>.amazonaws.com) and QW_S3_FORCE_PATH_STYLE_ACCESS
 * (true: http://endpoint/bucket/key; otherwise bucket.endpoint/key);
 * CURL_CA_BUNDLE, when set, is the CA certificates file for https (as for
 * the curl tool; qw-lambda's static libcurl would look for Debian's).
 * Requests are signed by curl (CURLOPT_AWS_SIGV4) with an
 * x-amz-content-sha256 header (UNSIGNED-PAYLOAD).
 *
 * Faults: a request failing with a 5xx, 429, an S3 "SlowDown", a timeout
 * or a reset/refused connection is retried with exponential backoff and
 * full jitter (100 ms base, 5 s cap), at most QW_S3_MAX_ATTEMPTS attempts
 * (default 6) and QW_S3_MAX_RETRY_MS of waiting (default 30000), like the
 * AWS SDKs' standard retry mode. The final error names the method, bucket,
 * key, HTTP status and S3 error code: EX_TEMPFAIL (75) for a retryable
 * fault that outlasted the bounds, EX_NOINPUT for a missing object,
 * EX_IOERR (74) otherwise.
 *
 * Uploads of files larger than QW_S3_MULTIPART_THRESHOLD bytes (default
 * 64 MiB) use multipart upload with parts of QW_S3_PART_SIZE (default
 * 16 MiB, at least 5 MiB); a failed multipart upload is aborted, so S3
 * never shows a half object: an object is visible whole or not at all.
 * When the completion's answer is lost, its retry finds the upload gone:
 * the object is then looked up (HEAD) and, there with the size uploaded,
 * taken as done (keys are meant to name immutable content: split files).
 *
 * Threads: a client may be shared by threads; it keeps a pool of curl
 * handles (guarded by a mutex) so that connections are reused. Counters
 * (s3_stats) are updated atomically.
 */
#ifndef QW_S3_H
#define QW_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct s3_client;

struct s3_stats {
	uint64_t requests;      /* HTTP requests sent, retries included */
	uint64_t retries;       /* of which retries */
	uint64_t bytes_in;      /* response body bytes received */
	uint64_t bytes_out;     /* request body bytes sent */
};

/* A client configured from the environment (see above). */
struct s3_client *s3_client_new(struct qw_err *err);
void s3_client_free(struct s3_client *c);
void s3_client_stats(const struct s3_client *c, struct s3_stats *out);

/*
 * Split "s3://bucket/prefix/" into a malloc'ed bucket and prefix (without
 * leading or trailing '/', maybe ""). EX_DATAERR for a bad bucket name
 * (S3's rules: 3-63 of [a-z0-9.-], starting and ending alnum) or a prefix
 * with an empty, "." or ".." component.
 */
int s3_parse_uri(const char *uri, char **bucket, char **prefix, struct qw_err *err);

int s3_put(struct s3_client *c, const char *bucket, const char *key, const void *data,
	   size_t len, struct qw_err *err);
/* Upload a local file (multipart when large, see above). */
int s3_put_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct qw_err *err);
/*
 * Append bytes [off, off+len) of an object to out; len 0 means to the end.
 * A range past the end is an EX_DATAERR. EX_NOINPUT when missing.
 */
int s3_get(struct s3_client *c, const char *bucket, const char *key, uint64_t off,
	   uint64_t len, struct buf *out, struct qw_err *err);
/* s3_get and s3_head that also add this call's requests (retries
 * included) and bytes to *acc: counters of one caller (one thread), so
 * that users of a shared client can tell their own costs apart. */
int s3_get_acc(struct s3_client *c, const char *bucket, const char *key, uint64_t off,
	       uint64_t len, struct buf *out, struct s3_stats *acc, struct qw_err *err);
int s3_head_acc(struct s3_client *c, const char *bucket, const char *key, uint64_t *size,
		struct s3_stats *acc, struct qw_err *err);
/*
 * A conditional GET of a whole object: with etag (an ETag this call gave
 * before; NULL: none), 0 when the object still has it (HTTP 304, one
 * request, no body); else 1, the object appended to out and *etag_out
 * its ETag (malloc'ed; NULL when the server sent none). -1 with err
 * (EX_NOINPUT when missing).
 */
int s3_get_changed(struct s3_client *c, const char *bucket, const char *key, const char *etag,
		   struct buf *out, char **etag_out, struct qw_err *err);
/* Download an object to a local path, atomically (atomicfile.h). */
int s3_get_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct qw_err *err);
/* Write an object into fd (from its offset 0: a retry truncates it). */
int s3_get_fd(struct s3_client *c, const char *bucket, const char *key, int fd,
	      struct qw_err *err);
/* 1 present (size in *size when not NULL), 0 absent, -1 error. */
int s3_head(struct s3_client *c, const char *bucket, const char *key, uint64_t *size,
	    struct qw_err *err);
/* Deleting a missing object is not an error (S3 answers 204 either way). */
int s3_delete(struct s3_client *c, const char *bucket, const char *key, struct qw_err *err);

/* Called for each key under a prefix, in S3's (byte) order, with its size
 * and LastModified (epoch seconds); non-zero stops. */
typedef int (*s3_list_fn)(void *ctx, const char *key, uint64_t size, int64_t mtime);
/* Every object whose key starts with prefix (all pages). 0, the callback's
 * non-zero value, or -1 with err. */
int s3_list(struct s3_client *c, const char *bucket, const char *prefix, s3_list_fn fn,
	    void *ctx, struct qw_err *err);

#endif
