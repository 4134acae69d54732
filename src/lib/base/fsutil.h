/*
 * fsutil: file operations that never leave a half-written file.
 *
 * fsutil_write_atomic() and fsutil_copy_atomic() go through atomicfile.h
 * (a unique temp name, fsync, rename, fsync of the directory); on failure
 * the temp file is removed and path is untouched. fsutil_read_all() reads a
 * whole file into a buf.
 */
#ifndef QW_FSUTIL_H
#define QW_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"

int fsutil_write_atomic(const char *path, const void *data, size_t len,
			struct qw_err *err);
/* Read a whole file; EX_NOINPUT when it does not exist, EX_IOERR otherwise. */
int fsutil_read_all(const char *path, struct buf *out, struct qw_err *err);
/* Read a whole open fd (a pipe or a file) until EOF. */
int fsutil_read_fd(int fd, const char *name, struct buf *out, struct qw_err *err);
/* mkdir -p with the given mode; EX_CANTCREAT on failure. */
int fsutil_mkdir_p(const char *path, mode_t mode, struct qw_err *err);
/* fsync the directory dir itself (callers pass the parent of what they renamed). */
int fsutil_fsync_dir(const char *dir, struct qw_err *err);
/* Remove a directory tree (like rm -rf); missing is not an error. */
int fsutil_rm_rf(const char *path, struct qw_err *err);
/* Copy src to dst atomically (atomicfile.h). */
int fsutil_copy_atomic(const char *src, const char *dst, struct qw_err *err);
/* write() all of it, retrying on EINTR and short writes; -1 with errno set. */
int fsutil_write_full(int fd, const void *data, size_t len);
/* pread() exactly len bytes; -1 with errno set (EIO on short read at EOF). */
int fsutil_pread_full(int fd, void *data, size_t len, off_t off);
/* Join dir and name into a malloc'ed path. */
char *fsutil_join(const char *dir, const char *name);
/* fsutil_join() with the name formatted as by printf. */
char *fsutil_joinf(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
