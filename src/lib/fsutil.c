#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "xalloc.h"

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

char *fsutil_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(dir);

	buf_adds(&b, dir);
	if (n && dir[n - 1] != '/')
		buf_addc(&b, '/');
	buf_adds(&b, name);
	return buf_detach(&b, NULL);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
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

int fsutil_write_atomic(const char *path, const void *data, size_t len,
			struct qw_err *err)
{
	struct buf tmp = BUF_INIT;
	char *dir = NULL;
	int fd = -1;
	int ret = -1;

	buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_errno(err, EX_CANTCREAT, "cannot create '%s'", tmp.data);
		goto out;
	}
	if (fsutil_write_full(fd, data, len) < 0) {
		err_errno(err, EX_IOERR, "cannot write '%s'", tmp.data);
		goto out_unlink;
	}
	if (fsync(fd) < 0) {
		err_errno(err, EX_IOERR, "cannot fsync '%s'", tmp.data);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_errno(err, EX_IOERR, "cannot close '%s'", tmp.data);
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp.data, path) < 0) {
		err_errno(err, EX_IOERR, "cannot rename '%s' to '%s'", tmp.data, path);
		goto out_unlink;
	}
	dir = dir_of(path);
	if (fsutil_fsync_dir(dir, err) < 0)
		goto out;
	ret = 0;
	goto out;
out_unlink:
	unlink(tmp.data);
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	buf_free(&tmp);
	return ret;
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

int fsutil_copy_atomic(const char *src, const char *dst, struct qw_err *err)
{
	struct buf tmp = BUF_INIT;
	char *dir = NULL;
	char block[1 << 16];
	int in = -1, out = -1;
	int ret = -1;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot open '%s'", src);
		goto done;
	}
	buf_addf(&tmp, "%s.tmp.%ld", dst, (long)getpid());
	out = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		err_errno(err, EX_CANTCREAT, "cannot create '%s'", tmp.data);
		goto done;
	}
	for (;;) {
		ssize_t n = read(in, block, sizeof(block));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_errno(err, EX_IOERR, "cannot read '%s'", src);
			goto unlink_tmp;
		}
		if (n == 0)
			break;
		if (fsutil_write_full(out, block, (size_t)n) < 0) {
			err_errno(err, EX_IOERR, "cannot write '%s'", tmp.data);
			goto unlink_tmp;
		}
	}
	if (fsync(out) < 0) {
		err_errno(err, EX_IOERR, "cannot fsync '%s'", tmp.data);
		goto unlink_tmp;
	}
	if (close(out) < 0) {
		out = -1;
		err_errno(err, EX_IOERR, "cannot close '%s'", tmp.data);
		goto unlink_tmp;
	}
	out = -1;
	if (rename(tmp.data, dst) < 0) {
		err_errno(err, EX_IOERR, "cannot rename '%s' to '%s'", tmp.data, dst);
		goto unlink_tmp;
	}
	dir = dir_of(dst);
	ret = fsutil_fsync_dir(dir, err);
	goto done;
unlink_tmp:
	unlink(tmp.data);
done:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	free(dir);
	buf_free(&tmp);
	return ret;
}
