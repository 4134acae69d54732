#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/fsutil.h"
#include "base/xalloc.h"

int fsutil_write_full(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsutil_pread_full(int fd, void *data, size_t len, off_t off)
{
	char *p = data;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

char *fsutil_joinf(const char *dir, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(dir);
	va_list ap;

	buf_adds(&b, dir);
	if (n && dir[n - 1] != '/')
		buf_addc(&b, '/');
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b, NULL);
}

char *fsutil_join(const char *dir, const char *name)
{
	return fsutil_joinf(dir, "%s", name);
}

int fsutil_fsync_dir(const char *dir, struct qw_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return err_errno(err, EX_IOERR, "cannot open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = err_errno(err, EX_IOERR, "cannot fsync directory '%s'", dir);
	close(fd);
	return ret;
}

struct bytes {
	const void *data;
	size_t len;
};

static int write_bytes(int fd, const char *tmp, void *ctx, struct qw_err *err)
{
	const struct bytes *b = ctx;

	if (fsutil_write_full(fd, b->data, b->len) < 0)
		return err_errno(err, EX_IOERR, "cannot write '%s'", tmp);
	return 0;
}

int fsutil_write_atomic(const char *path, const void *data, size_t len,
			struct qw_err *err)
{
	struct bytes b = { data, len };

	return atomicfile_fill(path, 0644, write_bytes, &b, err);
}

int fsutil_read_fd(int fd, const char *name, struct buf *out, struct qw_err *err)
{
	for (;;) {
		ssize_t n;

		buf_grow(out, 65536);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(err, EX_IOERR, "cannot read '%s'", name);
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	return 0;
}

int fsutil_read_all(const char *path, struct buf *out, struct qw_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
				 "cannot open '%s'", path);
	ret = fsutil_read_fd(fd, path, out, err);
	close(fd);
	return ret;
}

int fsutil_mkdir_p(const char *path, mode_t mode, struct qw_err *err)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ret = err_errno(err, EX_CANTCREAT, "cannot create directory '%s'", p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (ret == 0) {
		struct stat st;

		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			ret = err_set(err, EX_CANTCREAT, "cannot create directory '%s': not a directory", path);
	}
	free(p);
	return ret;
}

int fsutil_rm_rf(const char *path, struct qw_err *err)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_errno(err, EX_IOERR, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return err_errno(err, EX_IOERR, "cannot remove '%s'", path);
		return 0;
	}
	d = opendir(path);
	if (!d)
		return err_errno(err, EX_IOERR, "cannot open directory '%s'", path);
	while ((de = readdir(d)) != NULL) {
		char *child;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = fsutil_join(path, de->d_name);
		ret = fsutil_rm_rf(child, err);
		free(child);
		if (ret < 0)
			break;
	}
	closedir(d);
	if (ret == 0 && rmdir(path) < 0 && errno != ENOENT)
		ret = err_errno(err, EX_IOERR, "cannot remove directory '%s'", path);
	return ret;
}

struct copy_src {
	int fd;
	const char *name;
};

/* Copy what is left of src->fd into fd. */
static int copy_rest(int fd, const char *tmp, void *ctx, struct qw_err *err)
{
	const struct copy_src *src = ctx;
	char block[1 << 16];

	for (;;) {
		ssize_t n = read(src->fd, block, sizeof(block));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(err, EX_IOERR, "cannot read '%s'", src->name);
		}
		if (n == 0)
			return 0;
		if (fsutil_write_full(fd, block, (size_t)n) < 0)
			return err_errno(err, EX_IOERR, "cannot write '%s'", tmp);
	}
}

int fsutil_copy_atomic(const char *src, const char *dst, struct qw_err *err)
{
	struct copy_src in = { open(src, O_RDONLY | O_CLOEXEC), src };
	int ret;

	if (in.fd < 0)
		return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot open '%s'",
				 src);
	ret = atomicfile_fill(dst, 0644, copy_rest, &in, err);
	close(in.fd);
	return ret;
}
