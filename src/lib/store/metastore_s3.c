/*
 * metastore_s3: the file metastore on object storage (s3://bucket/prefix,
 * Quickwit's file-backed metastore): one object per index,
 * <prefix>/<index_id>/metastore.json, holding the same document as the
 * data dir's metastore.json (metastore.h), so that a searcher with only
 * the bucket sees every index. See metastore_backend.h for the contract.
 *
 * Every change replaces the object with one PUT, which S3 applies whole:
 * readers see the old document or the new one, never a part. There is no
 * lock across machines: ONE WRITER PER INDEX at a time (one pipeline, or
 * qw-merge, qw gc and qw index commands run when nothing else writes);
 * two writers at once may lose an update. Several writers need the
 * PostgreSQL metastore (metastore_pg.c). Within one machine, writers that
 * share a data dir are serialized by a flock on
 * <data_dir>/indexes/<index_id>/metastore.lock, as with the file backend.
 * Faults (5xx, SlowDown, resets) are retried by the S3 client (s3.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/strlist.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "base/xalloc.h"
#include "store/metastore_backend.h"
#include "store/s3.h"

#define OBJECT_NAME "metastore.json"

struct ms3 {
	struct s3_client *client;
	struct s3_client *own_client; /* client when this backend made it, else NULL (borrowed) */
	char *bucket;
	char *prefix;       /* without leading or trailing '/', maybe "" */
};

static struct ms3 *ms3_of(struct metastore *ms)
{
	return ms->be;
}

static char *object_key(const struct ms3 *m, const char *index_id)
{
	struct buf b = BUF_INIT;

	if (*m->prefix)
		buf_addf(&b, "%s/", m->prefix);
	buf_addf(&b, "%s/" OBJECT_NAME, index_id);
	return buf_detach(&b, NULL);
}

static char *where(const struct ms3 *m, const char *key)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "s3://%s/%s", m->bucket, key);
	return buf_detach(&b, NULL);
}

static json_t *s3_load(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	struct ms3 *m = ms3_of(ms);
	char *key = object_key(m, index_id);
	char *loc = where(m, key);
	struct buf b = BUF_INIT;
	json_t *doc = NULL;

	if (s3_get(m->client, m->bucket, key, 0, 0, &b, err) < 0) {
		if (err && err->code == EX_NOINPUT)
			metastore_no_index(ms, index_id, err);
		goto out;
	}
	doc = metastore_parse_doc(buf_str(&b), b.len, loc, err);
out:
	buf_free(&b);
	free(loc);
	free(key);
	return doc;
}

static int s3_save(struct ms3 *m, const char *index_id, json_t *doc, struct qw_err *err)
{
	char *key = object_key(m, index_id);
	char *text = json_dumps(doc, JSON_INDENT(2));
	int ret;

	if (!text) {
		free(key);
		return err_set(err, EX_SOFTWARE, "cannot serialize the metastore of index '%s'",
			       index_id);
	}
	ret = s3_put(m->client, m->bucket, key, text, strlen(text), err);
	free(text);
	free(key);
	return ret;
}

static json_t *ms3_read(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	return s3_load(ms, index_id, err);
}

/* The document again only when its ETag is not *tag (one conditional GET). */
static int ms3_read_changed(struct metastore *ms, const char *index_id, char **tag, json_t **doc,
			    struct qw_err *err)
{
	struct ms3 *m = ms3_of(ms);
	char *key = object_key(m, index_id), *loc = where(m, key), *etag = NULL;
	struct buf b = BUF_INIT;
	json_t *fresh;
	int ret = s3_get_changed(m->client, m->bucket, key, *tag, &b, &etag, err);

	if (ret < 0 && err && err->code == EX_NOINPUT)
		metastore_no_index(ms, index_id, err);
	if (ret <= 0)
		goto out;
	fresh = metastore_parse_doc(buf_str(&b), b.len, loc, err);
	if (!fresh) {
		ret = -1;
		goto out;
	}
	/* no ETag (NULL): the next call reads again */
	ret = metastore_replace_copy(doc, fresh, tag, etag);
	etag = NULL;
out:
	free(etag);
	buf_free(&b);
	free(loc);
	free(key);
	return ret;
}

static bool ms3_exists(struct metastore *ms, const char *index_id)
{
	struct ms3 *m = ms3_of(ms);
	char *key = object_key(m, index_id);
	int r = s3_head(m->client, m->bucket, key, NULL, NULL);

	free(key);
	return r == 1;
}

static int ms3_create(struct metastore *ms, const char *index_id, json_t *doc, bool overwrite,
		      struct qw_err *err)
{
	struct ms3 *m = ms3_of(ms);
	char *key = object_key(m, index_id);
	json_t *old = NULL;
	int fd, present, ret = -1;

	fd = metastore_lock_index(ms, index_id, true, err);
	if (fd < 0)
		goto out;
	present = s3_head(m->client, m->bucket, key, NULL, err);
	if (present < 0)
		goto out;
	if (present) {
		if (!overwrite) {
			err_set(err, EX_CANTCREAT,
				"index '%s' already exists (use --overwrite to replace it)", index_id);
			goto out;
		}
		old = s3_load(ms, index_id, err);
		if (!old)
			goto out;
	}
	if (s3_save(m, index_id, doc, err) < 0)
		goto out;
	/* the old records are gone: their files are orphans now */
	if (old && metastore_remove_external_splits(ms, index_id, old, err) < 0)
		goto out;
	if (metastore_make_split_dirs(ms, index_id, doc, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(old);
	if (fd >= 0)
		close(fd);
	free(key);
	return ret;
}

static int ms3_remove(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	struct ms3 *m = ms3_of(ms);
	char *key = object_key(m, index_id);
	json_t *doc = NULL;
	int fd, present, ret = -1;

	fd = metastore_lock_index(ms, index_id, true, err);
	if (fd < 0)
		goto out;
	present = s3_head(m->client, m->bucket, key, NULL, err);
	if (present <= 0) {
		if (present == 0)
			metastore_no_index(ms, index_id, err);
		goto out;
	}
	doc = s3_load(ms, index_id, NULL);     /* a broken one does not keep the index */
	if (s3_delete(m->client, m->bucket, key, err) < 0)
		goto out;
	if (doc && metastore_remove_external_splits(ms, index_id, doc, err) < 0)
		goto out;
	close(fd);
	fd = -1;
	if (metastore_remove_local_dir(ms, index_id, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(doc);
	if (fd >= 0)
		close(fd);
	free(key);
	return ret;
}

static int s3_save_index(struct metastore *ms, const char *index_id, json_t *doc,
			 struct qw_err *err)
{
	return s3_save(ms3_of(ms), index_id, doc, err);
}

static int ms3_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
		      struct qw_err *err)
{
	static const struct metastore_doc_io io = { true, s3_load, s3_save_index };

	/* an unknown index must not leave a lock dir behind */
	if (!ms3_exists(ms, index_id)) {
		json_decref(s3_load(ms, index_id, err));     /* says why: missing or unreachable */
		return -1;
	}
	return metastore_update_locked(ms, &io, index_id, fn, ctx, err);
}

struct list_ctx {
	size_t skip;        /* length of "<prefix>/" */
	char **ids;
	size_t n, cap;
};

static int list_one(void *vctx, const char *key, uint64_t size, int64_t mtime)
{
	struct list_ctx *c = vctx;
	const char *rest = key + c->skip;
	const char *slash = strchr(rest, '/');
	char id[256];

	(void)size, (void)mtime;
	if (!slash || strcmp(slash + 1, OBJECT_NAME) != 0 || (size_t)(slash - rest) >= sizeof(id))
		return 0;
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	if (ids_check_index(id, NULL) < 0)
		return 0;
	XGROW(c->ids, c->n + 1, c->cap);
	c->ids[c->n++] = xstrdup(id);
	return 0;
}

static int ms3_list(struct metastore *ms, char ***ids, size_t *n, struct qw_err *err)
{
	struct ms3 *m = ms3_of(ms);
	struct buf p = BUF_INIT;
	struct list_ctx c = { 0, NULL, 0, 0 };
	int ret;

	*ids = NULL;
	*n = 0;
	if (*m->prefix)
		buf_addf(&p, "%s/", m->prefix);
	c.skip = p.len;
	ret = s3_list(m->client, m->bucket, buf_str(&p), list_one, &c, err);
	buf_free(&p);
	if (ret < 0) {
		metastore_free_list(c.ids, c.n);
		return -1;
	}
	if (c.n > 1)
		qsort(c.ids, c.n, sizeof(*c.ids), strlist_cmp);
	*ids = c.ids;
	*n = c.n;
	return 0;
}

static void ms3_close(struct metastore *ms)
{
	struct ms3 *m = ms3_of(ms);

	if (!m)
		return;
	s3_client_free(m->own_client);
	free(m->prefix);
	free(m->bucket);
	free(m);
	ms->be = NULL;
}

static const struct metastore_ops s3_ops = {
	.read = ms3_read,
	.read_changed = ms3_read_changed,
	.create = ms3_create,
	.remove = ms3_remove,
	.update = ms3_update,
	.list = ms3_list,
	.exists = ms3_exists,
	.close = ms3_close,
};

int metastore_s3_open(struct metastore *ms, const char *uri, struct s3_client *client,
		      struct qw_err *err)
{
	struct ms3 *m = xcalloc(1, sizeof(*m));

	if (s3_parse_uri(uri, &m->bucket, &m->prefix, err) < 0)
		goto fail;
	m->client = client;
	if (!m->client) {
		m->client = m->own_client = s3_client_new(err);
		if (!m->client)
			goto fail;
	}
	ms->be = m;
	ms->ops = &s3_ops;
	return 0;
fail:
	free(m->prefix);
	free(m->bucket);
	free(m);
	return -1;
}
