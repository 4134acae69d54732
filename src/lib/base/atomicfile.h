/*
 * atomicfile: replace a file so that readers see the old content or the
 * new one, never half of either (the shape of git's lockfile.h).
 *
 * The calling sequence:
 *
 *     struct atomicfile af = ATOMICFILE_INIT;
 *
 *     if (atomicfile_open(&af, path, 0644, err) < 0)
 *             goto out;                    // nothing was created
 *     ... write through af.fd (fsutil_write_full) ...
 *     if (atomicfile_commit(&af, err) < 0)
 *             goto out;                    // temp removed, path untouched
 *     ...
 * out:
 *     atomicfile_rollback(&af);            // no-op after a commit
 *
 * atomicfile_open() creates a temp file next to path, named
 * "<path>.tmp-<10 random characters>", with O_CREAT|O_EXCL|O_NOFOLLOW|
 * O_CLOEXEC: a name an attacker guessed and planted (a symlink, a file) is
 * never opened, another name is drawn instead. atomicfile_commit() fsyncs
 * and closes the fd, renames the temp over path and fsyncs the directory.
 * A close error after the rename is reported but the new content is in
 * place. atomicfile_rollback() closes the fd and unlinks the temp; it may be called
 * any number of times. A temp left by a process that died before either is
 * an inert file with the .tmp- infix (qw-gc removes old ones from split
 * directories). Not thread-safe per struct; distinct structs are
 * independent.
 */
#ifndef QW_ATOMICFILE_H
#define QW_ATOMICFILE_H

#include <sys/types.h>

#include "base/err.h"

struct atomicfile {
	int fd;          /* open for writing until commit or rollback; -1 after */
	char *path;      /* the target (owned) */
	char *tmp;       /* the temp name (owned), NULL once renamed or removed */
};

#define ATOMICFILE_INIT { -1, NULL, NULL }
/* The infix of every temp name, for cleanup tools. */
#define ATOMICFILE_INFIX ".tmp-"

int atomicfile_open(struct atomicfile *af, const char *path, mode_t mode, struct qw_err *err);
int atomicfile_commit(struct atomicfile *af, struct qw_err *err);
/* Commit but keep the fd open (e.g. a lock file flock()ed before it takes
 * its name); returns it, the caller closes it; -1 on failure (rolled back). */
int atomicfile_commit_keep(struct atomicfile *af, struct qw_err *err);
void atomicfile_rollback(struct atomicfile *af);

/*
 * The whole sequence for a caller that only writes: open a temp for path,
 * fill(fd, tmp name, ctx, err) writes it (0, or -1 with err set), then
 * commit, or roll back when anything failed.
 */
typedef int (*atomicfile_fill_fn)(int fd, const char *tmp, void *ctx, struct qw_err *err);
int atomicfile_fill(const char *path, mode_t mode, atomicfile_fill_fn fill, void *ctx,
		    struct qw_err *err);

#endif
