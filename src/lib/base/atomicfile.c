/*
 * atomicfile: temp + fsync + rename + fsync(dir), see atomicfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "base/xalloc.h"

#define NAME_CHARS 10
#define MAX_TRIES 100

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int atomicfile_open(struct atomicfile *af, const char *path, mode_t mode, struct qw_err *err)
{
	struct buf tmp = BUF_INIT;
	int ret = -1;

	af->fd = -1;
	af->path = NULL;
	af->tmp = NULL;
	for (int tries = 0; tries < MAX_TRIES; tries++) {
		unsigned char rnd[NAME_CHARS];

		if (ids_random(rnd, sizeof(rnd), err) < 0)
			goto out;
		buf_reset(&tmp);
		buf_adds(&tmp, path);
		buf_adds(&tmp, ATOMICFILE_INFIX);
		for (size_t i = 0; i < sizeof(rnd); i++)
			buf_addc(&tmp, alphabet[rnd[i] % (sizeof(alphabet) - 1)]);
		af->fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (af->fd >= 0)
			break;
		if (errno != EEXIST && errno != ELOOP) {
			/* A full disk or a failing one is an I/O error, not a bad name. */
			int code = errno == ENOSPC || errno == EDQUOT || errno == EIO ?
				   EX_IOERR : EX_CANTCREAT;

			err_errno(err, code, "cannot create '%s'", tmp.data);
			goto out;
		}
	}
	if (af->fd < 0) {
		err_set(err, EX_CANTCREAT, "cannot create a temp file for '%s': %d names taken",
			path, MAX_TRIES);
		goto out;
	}
	af->path = xstrdup(path);
	af->tmp = buf_detach(&tmp, NULL);
	ret = 0;
out:
	buf_free(&tmp);
	return ret;
}

/* fsync, rename, fsync(dir); the fd stays open. */
static int commit(struct atomicfile *af, struct qw_err *err)
{
	char *dir = NULL;
	int ret = -1;

	if (af->fd < 0 || !af->tmp) {
		err_set(err, EX_SOFTWARE, "atomic file '%s' is not open",
			af->path ? af->path : "");
		goto out;
	}
	if (fsync(af->fd) < 0) {
		err_errno(err, EX_IOERR, "cannot fsync '%s'", af->tmp);
		goto out;
	}
	if (rename(af->tmp, af->path) < 0) {
		err_errno(err, EX_IOERR, "cannot rename '%s' to '%s'", af->tmp, af->path);
		goto out;
	}
	free(af->tmp);
	af->tmp = NULL;
	dir = dir_of(af->path);
	if (fsutil_fsync_dir(dir, err) < 0)
		goto out;
	ret = 0;
out:
	free(dir);
	return ret;
}

int atomicfile_commit(struct atomicfile *af, struct qw_err *err)
{
	int ret = commit(af, err);

	if (ret == 0 && close(af->fd) < 0)
		ret = err_errno(err, EX_IOERR, "cannot close '%s'", af->path);
	af->fd = -1;
	atomicfile_rollback(af);
	return ret;
}

int atomicfile_commit_keep(struct atomicfile *af, struct qw_err *err)
{
	int fd = -1;

	if (commit(af, err) == 0) {
		fd = af->fd;
		af->fd = -1;
	}
	atomicfile_rollback(af);
	return fd;
}

void atomicfile_rollback(struct atomicfile *af)
{
	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	if (af->tmp)
		unlink(af->tmp);
	free(af->tmp);
	af->tmp = NULL;
	free(af->path);
	af->path = NULL;
}

int atomicfile_fill(const char *path, mode_t mode, atomicfile_fill_fn fill, void *ctx,
		    struct qw_err *err)
{
	struct atomicfile af = ATOMICFILE_INIT;
	int ret = -1;

	if (atomicfile_open(&af, path, mode, err) < 0 || fill(af.fd, af.tmp, ctx, err) < 0 ||
	    atomicfile_commit(&af, err) < 0)
		goto out;
	ret = 0;
out:
	atomicfile_rollback(&af);
	return ret;
}
