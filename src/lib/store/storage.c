/*
 * storage: the public calls check names, then go through the ops table of
 * the backend the URI names (see storage.h). The file:// backend is here;
 * the s3:// one is storage_s3.c behind s3_ops; another backend is one more
 * ops table and one more branch in storage_open().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "store/storage.h"
#include "store/storage_s3.h"
#include "base/xalloc.h"

struct storage_ops {
	int (*put_file)(struct storage *s, const char *name, const char *src_path, bool move,
			struct qw_err *err);
	int (*get_file)(struct storage *s, const char *name, const char *dst_path,
			struct qw_err *err);
	int (*delete)(struct storage *s, const char *name, struct qw_err *err);
	int (*exists)(struct storage *s, const char *name, struct qw_err *err);
	int (*list)(struct storage *s, const char *prefix, struct storage_entry **entries,
		    size_t *n, struct qw_err *err);
};

struct storage {
	const struct storage_ops *ops;
	char *root;     /* file backend: absolute or relative directory */
	char *uri;      /* the root URI, "file://root" or "s3://bucket/prefix" */
	struct storage_s3 *s3;  /* the s3:// backend's state, NULL for file:// */
};

static const struct storage_ops file_ops, s3_ops;
static const char s3_scheme[] = "s3://";

static const char file_scheme[] = "file://";

static int check_name(const char *name, struct qw_err *err)
{
	if (!name || !*name || name[0] == '.' || strchr(name, '/'))
		return err_set(err, EX_DATAERR, "invalid storage object name '%s'",
			       name ? name : "");
	return 0;
}

int storage_check_index_uri(const char *uri, char **norm, struct qw_err *err)
{
	const char *sep = strstr(uri, "://");
	const char *path = uri;
	struct buf b = BUF_INIT;
	size_t n;

	*norm = NULL;
	if (!strncmp(uri, s3_scheme, sizeof(s3_scheme) - 1))
		return storage_s3_check_uri(uri, norm, err);
	if (sep && strncmp(uri, file_scheme, sizeof(file_scheme) - 1) != 0)
		return err_set(err, EX_DATAERR, "scheme '%.*s' is not supported yet",
			       (int)(sep - uri > 32 ? 32 : sep - uri), uri);
	if (sep)
		path = uri + sizeof(file_scheme) - 1;
	if (path[0] != '/')
		return err_set(err, EX_DATAERR, "'%s' is not an absolute path", uri);
	for (const char *p = path; *p; p++)
		if (p[0] == '/' && p[1] == '.' && p[2] == '.' && (p[3] == '/' || !p[3]))
			return err_set(err, EX_DATAERR, "'%s': a '..' component is not allowed",
				       uri);
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	buf_adds(&b, file_scheme);
	buf_add(&b, path, n);
	*norm = buf_detach(&b, NULL);
	return 0;
}

struct storage *storage_open(const char *uri, struct qw_err *err)
{
	struct storage *s;
	const char *root = uri;
	size_t n;

	if (!uri || !*uri) {
		err_set(err, EX_USAGE, "empty storage uri");
		return NULL;
	}
	if (!strncmp(uri, s3_scheme, sizeof(s3_scheme) - 1)) {
		char *norm = NULL;

		if (storage_s3_check_uri(uri, &norm, err) < 0)
			return NULL;
		s = xcalloc(1, sizeof(*s));
		s->ops = &s3_ops;
		s->uri = norm;
		s->s3 = storage_s3_open(uri, err);
		if (!s->s3) {
			storage_close(s);
			return NULL;
		}
		return s;
	}
	if (!strncmp(uri, file_scheme, sizeof(file_scheme) - 1)) {
		root = uri + sizeof(file_scheme) - 1;
	} else if (strstr(uri, "://")) {
		err_set(err, EX_UNAVAILABLE, "storage '%s': unsupported scheme (file:// and s3:// only)",
			uri);
		return NULL;
	}
	if (!*root) {
		err_set(err, EX_USAGE, "storage '%s': empty path", uri);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->ops = &file_ops;
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	s->root = xstrndup(root, n);
	{
		struct buf b = BUF_INIT;

		buf_adds(&b, file_scheme);
		buf_adds(&b, s->root);
		s->uri = buf_detach(&b, NULL);
	}
	return s;
}

struct storage *storage_open_index(struct metastore *ms, const char *index_id,
				   struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err);
	char *dir;
	struct storage *s;

	if (!doc)
		return NULL;
	dir = metastore_splits_dir(ms, index_id, doc);
	s = storage_open(dir, err);
	free(dir);
	json_decref(doc);
	return s;
}

void storage_close(struct storage *s)
{
	if (!s)
		return;
	storage_s3_close(s->s3);
	free(s->uri);
	free(s->root);
	free(s);
}

const char *storage_root_uri(const struct storage *s)
{
	return s->uri;
}

char *storage_uri(const struct storage *s, const char *name, struct qw_err *err)
{
	struct buf b = BUF_INIT;

	if (check_name(name, err) < 0)
		return NULL;
	buf_adds(&b, s->uri);
	buf_addc(&b, '/');
	buf_adds(&b, name);
	return buf_detach(&b, NULL);
}

void storage_split_name(const char *split_id, char out[40])
{
	snprintf(out, 40, "%.26s.split", split_id);
}

/* fsync a file by path (the producer may not have). */
static int fsync_path(const char *path, struct qw_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
				 "cannot open '%s'", path);
	if (fsync(fd) < 0)
		ret = err_errno(err, EX_IOERR, "cannot fsync '%s'", path);
	close(fd);
	return ret;
}

char *storage_location(const struct storage *s, const char *name)
{
	struct buf b = BUF_INIT;

	if (s->ops == &file_ops)
		return fsutil_join(s->root, name);
	buf_adds(&b, s->uri);
	buf_addc(&b, '/');
	buf_adds(&b, name);
	return buf_detach(&b, NULL);
}

static int file_put_file(struct storage *s, const char *name, const char *src_path, bool move,
			 struct qw_err *err)
{
	char *dst = NULL;
	int ret = -1;

	if (fsutil_mkdir_p(s->root, 0755, err) < 0)
		goto out;
	dst = fsutil_join(s->root, name);
	if (move) {
		if (fsync_path(src_path, err) < 0)
			goto out;
		if (rename(src_path, dst) == 0) {
			if (fsutil_fsync_dir(s->root, err) < 0)
				goto out;
			ret = 0;
			goto out;
		}
		if (errno != EXDEV) {
			err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
				  "cannot move '%s' to '%s'", src_path, dst);
			goto out;
		}
	}
	if (fsutil_copy_atomic(src_path, dst, err) < 0)
		goto out;
	if (move && unlink(src_path) < 0 && errno != ENOENT) {
		err_errno(err, EX_IOERR, "cannot remove '%s'", src_path);
		goto out;
	}
	ret = 0;
out:
	free(dst);
	return ret;
}

static int file_get_file(struct storage *s, const char *name, const char *dst_path,
			 struct qw_err *err)
{
	char *src = fsutil_join(s->root, name);
	int ret = fsutil_copy_atomic(src, dst_path, err);

	free(src);
	return ret;
}

static int file_delete(struct storage *s, const char *name, struct qw_err *err)
{
	char *path = fsutil_join(s->root, name);
	int ret = -1;

	if (unlink(path) < 0 && errno != ENOENT) {
		err_errno(err, EX_IOERR, "cannot delete '%s'", path);
		goto out;
	}
	ret = 0;
out:
	free(path);
	return ret;
}

static int file_exists(struct storage *s, const char *name, struct qw_err *err)
{
	char *path = fsutil_join(s->root, name);
	struct stat st;
	int ret = -1;

	if (stat(path, &st) == 0) {
		ret = 1;
	} else if (errno == ENOENT) {
		ret = 0;
	} else {
		err_errno(err, EX_IOERR, "cannot stat '%s'", path);
	}
	free(path);
	return ret;
}

/* Regular files only (lstat): a directory or a link is not an object. */
static int file_list(struct storage *s, const char *prefix, struct storage_entry **entries,
		     size_t *n, struct qw_err *err)
{
	DIR *d = opendir(s->root);
	struct storage_entry *v = NULL;
	size_t count = 0, cap = 0, plen = strlen(prefix);
	struct dirent *de;
	int ret = -1;

	if (!d) {
		ret = errno == ENOENT ? 0 : err_errno(err, EX_IOERR, "cannot open '%s'", s->root);
		goto out;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct stat sb;
		char *path;
		int r;

		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, plen) != 0)
			continue;
		path = fsutil_join(s->root, de->d_name);
		r = lstat(path, &sb);
		free(path);
		if (r < 0 || !S_ISREG(sb.st_mode))
			continue; /* gone meanwhile, or not an object */
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[count].name = xstrdup(de->d_name);
		v[count].size = (int64_t)sb.st_size;
		v[count].mtime_s = (int64_t)sb.st_mtime;
		count++;
	}
	if (errno != 0) {
		err_errno(err, EX_IOERR, "cannot read '%s'", s->root);
		goto out;
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	if (ret < 0) {
		storage_free_entries(v, count);
	} else {
		*entries = v;
		*n = count;
	}
	return ret;
}

static const struct storage_ops file_ops = {
	.put_file = file_put_file,
	.get_file = file_get_file,
	.delete = file_delete,
	.exists = file_exists,
	.list = file_list,
};

/* ------------------------------------------------------------ s3:// */

static int s3_put_file(struct storage *s, const char *name, const char *src_path, bool move,
		       struct qw_err *err)
{
	return storage_s3_put_file(s->s3, name, src_path, move, err);
}

static int s3_get_file(struct storage *s, const char *name, const char *dst_path,
		       struct qw_err *err)
{
	return storage_s3_get_file(s->s3, name, dst_path, err);
}

static int s3_delete(struct storage *s, const char *name, struct qw_err *err)
{
	return storage_s3_delete(s->s3, name, err);
}

static int s3_exists(struct storage *s, const char *name, struct qw_err *err)
{
	return storage_s3_exists(s->s3, name, err);
}

struct s3_list_ctx {
	const char *prefix;
	size_t plen;
	struct storage_entry *v;
	size_t n, cap;
};

static int s3_list_one(void *ctx, const char *name, int64_t size, int64_t mtime_s)
{
	struct s3_list_ctx *c = ctx;

	if (strncmp(name, c->prefix, c->plen) != 0)
		return 0;
	XGROW(c->v, c->n + 1, c->cap);
	c->v[c->n].name = xstrdup(name);
	c->v[c->n].size = size;
	c->v[c->n].mtime_s = mtime_s;
	c->n++;
	return 0;
}

static int s3_list(struct storage *s, const char *prefix, struct storage_entry **entries,
		   size_t *n, struct qw_err *err)
{
	struct s3_list_ctx c = { prefix, strlen(prefix), NULL, 0, 0 };

	if (storage_s3_list(s->s3, s3_list_one, &c, err) != 0) {
		storage_free_entries(c.v, c.n);
		return -1;
	}
	*entries = c.v;
	*n = c.n;
	return 0;
}

static const struct storage_ops s3_ops = {
	.put_file = s3_put_file,
	.get_file = s3_get_file,
	.delete = s3_delete,
	.exists = s3_exists,
	.list = s3_list,
};

/* ------------------------------------------------------------ the interface */

int storage_put_file(struct storage *s, const char *name, const char *src_path, bool move,
		     struct qw_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	return s->ops->put_file(s, name, src_path, move, err);
}

int storage_get_file(struct storage *s, const char *name, const char *dst_path,
		     struct qw_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	return s->ops->get_file(s, name, dst_path, err);
}

int storage_delete(struct storage *s, const char *name, struct qw_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	return s->ops->delete(s, name, err);
}

int storage_exists(struct storage *s, const char *name, struct qw_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	return s->ops->exists(s, name, err);
}

int storage_list(struct storage *s, const char *prefix, struct storage_entry **entries,
		 size_t *n, struct qw_err *err)
{
	*entries = NULL;
	*n = 0;
	return s->ops->list(s, prefix ? prefix : "", entries, n, err);
}

void storage_free_entries(struct storage_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
}
