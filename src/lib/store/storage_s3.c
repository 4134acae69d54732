/*
 * storage_s3: s3:// storage over the S3 client (see storage_s3.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "store/s3.h"
#include "store/storage_s3.h"
#include "base/xalloc.h"

struct storage_s3 {
	struct s3_client *client;
	char *bucket;
	char *prefix;    /* "" or "a/b" */
};

int storage_s3_check_uri(const char *uri, char **norm, struct qw_err *err)
{
	char *bucket = NULL, *prefix = NULL;
	struct buf b = BUF_INIT;

	*norm = NULL;
	if (s3_parse_uri(uri, &bucket, &prefix, err) < 0)
		return -1;
	buf_addf(&b, "s3://%s", bucket);
	if (*prefix)
		buf_addf(&b, "/%s", prefix);
	*norm = buf_detach(&b, NULL);
	free(prefix);
	free(bucket);
	return 0;
}

struct storage_s3 *storage_s3_open(const char *uri, struct qw_err *err)
{
	struct storage_s3 *s = xcalloc(1, sizeof(*s));

	if (s3_parse_uri(uri, &s->bucket, &s->prefix, err) < 0)
		goto fail;
	s->client = s3_client_new(err);
	if (!s->client)
		goto fail;
	return s;
fail:
	storage_s3_close(s);
	return NULL;
}

void storage_s3_close(struct storage_s3 *s)
{
	if (!s)
		return;
	s3_client_free(s->client);
	free(s->prefix);
	free(s->bucket);
	free(s);
}

static char *key_of(const struct storage_s3 *s, const char *name)
{
	struct buf b = BUF_INIT;

	if (*s->prefix)
		buf_addf(&b, "%s/", s->prefix);
	buf_adds(&b, name);
	return buf_detach(&b, NULL);
}

int storage_s3_put_file(struct storage_s3 *s, const char *name, const char *src_path,
			bool move, struct qw_err *err)
{
	char *key = key_of(s, name);
	int ret = -1;

	if (s3_put_file(s->client, s->bucket, key, src_path, err) < 0)
		goto out;
	if (move && unlink(src_path) < 0 && errno != ENOENT) {
		err_errno(err, EX_IOERR, "cannot remove '%s'", src_path);
		goto out;
	}
	ret = 0;
out:
	free(key);
	return ret;
}

int storage_s3_get_file(struct storage_s3 *s, const char *name, const char *dst_path,
			struct qw_err *err)
{
	char *key = key_of(s, name);
	int ret = s3_get_file(s->client, s->bucket, key, dst_path, err);

	free(key);
	return ret;
}

int storage_s3_delete(struct storage_s3 *s, const char *name, struct qw_err *err)
{
	char *key = key_of(s, name);
	int ret = s3_delete(s->client, s->bucket, key, err);

	free(key);
	return ret;
}

int storage_s3_exists(struct storage_s3 *s, const char *name, struct qw_err *err)
{
	char *key = key_of(s, name);
	int ret = s3_head(s->client, s->bucket, key, NULL, err);

	free(key);
	return ret;
}

struct list_ctx {
	size_t skip;     /* bytes of "<prefix>/" */
	int (*fn)(void *ctx, const char *name, int64_t size, int64_t mtime_s);
	void *ctx;
};

static int list_one(void *vctx, const char *key, uint64_t size, int64_t mtime)
{
	struct list_ctx *c = vctx;
	const char *name = key + c->skip;

	if (strlen(key) <= c->skip || strchr(name, '/'))
		return 0; /* deeper: another index's prefix, not ours */
	return c->fn(c->ctx, name, size > INT64_MAX ? INT64_MAX : (int64_t)size, mtime);
}

int storage_s3_list(struct storage_s3 *s, int (*fn)(void *ctx, const char *name, int64_t size, int64_t mtime_s),
		    void *ctx, struct qw_err *err)
{
	char *prefix = key_of(s, "");
	struct list_ctx c = { strlen(prefix), fn, ctx };
	int ret = s3_list(s->client, s->bucket, prefix, list_one, &c, err);

	free(prefix);
	return ret;
}
