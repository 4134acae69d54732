/*
 * storage: file:// backend (see storage.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "ids.h"
#include "storage.h"
#include "storage_s3.h"
#include "xalloc.h"

struct storage {
	char *root;     /* absolute or relative directory of the file backend */
	char *uri;      /* file://root, or the s3:// root */
	struct storage_s3 *s3;  /* the s3:// backend, NULL for file:// */
};

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
		err_set(err, EX_UNAVAILABLE, "storage '%s': unsupported scheme (only file:// for now)",
			uri);
		return NULL;
	}
	if (!*root) {
		err_set(err, EX_USAGE, "storage '%s': empty path", uri);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
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

int storage_put_file(struct storage *s, const char *name, const char *src_path, bool move,
		     struct qw_err *err)
{
	char *dst = NULL;
	int ret = -1;

	if (check_name(name, err) < 0)
		goto out;
	if (s->s3) {
		ret = storage_s3_put_file(s->s3, name, src_path, move, err);
		goto out;
	}
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

int storage_get_file(struct storage *s, const char *name, const char *dst_path,
		     struct qw_err *err)
{
	char *src = NULL;
	int ret = -1;

	if (check_name(name, err) < 0)
		goto out;
	if (s->s3) {
		ret = storage_s3_get_file(s->s3, name, dst_path, err);
		goto out;
	}
	src = fsutil_join(s->root, name);
	ret = fsutil_copy_atomic(src, dst_path, err);
out:
	free(src);
	return ret;
}

int storage_delete(struct storage *s, const char *name, struct qw_err *err)
{
	char *path = NULL;
	int ret = -1;

	if (check_name(name, err) < 0)
		goto out;
	if (s->s3) {
		ret = storage_s3_delete(s->s3, name, err);
		goto out;
	}
	path = fsutil_join(s->root, name);
	if (unlink(path) < 0 && errno != ENOENT) {
		err_errno(err, EX_IOERR, "cannot delete '%s'", path);
		goto out;
	}
	ret = 0;
out:
	free(path);
	return ret;
}

int storage_exists(struct storage *s, const char *name, struct qw_err *err)
{
	char *path = NULL;
	struct stat st;
	int ret = -1;

	if (check_name(name, err) < 0)
		goto out;
	if (s->s3) {
		ret = storage_s3_exists(s->s3, name, err);
		goto out;
	}
	path = fsutil_join(s->root, name);
	if (stat(path, &st) == 0) {
		ret = 1;
	} else if (errno == ENOENT) {
		ret = 0;
	} else {
		err_errno(err, EX_IOERR, "cannot stat '%s'", path);
	}
out:
	free(path);
	return ret;
}

int storage_list(struct storage *s, storage_list_fn fn, void *ctx, struct qw_err *err)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (s->s3)
		return storage_s3_list(s->s3, fn, ctx, err);
	d = opendir(s->root);
	if (!d)
		return errno == ENOENT ? 0 : err_errno(err, EX_IOERR, "cannot open '%s'", s->root);
	while (ret == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = fsutil_join(s->root, de->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			ret = fn(ctx, de->d_name, (int64_t)st.st_mtime);
		free(path);
	}
	closedir(d);
	return ret;
}
