/* spool: a stream kept on disk so that a restarted chain reads it again. */
#include "pipeline/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "base/xalloc.h"

#define SPOOL_CHUNK (64u << 10)
/* Releasing costs a system call: only in steps of this much. */
#define SPOOL_RELEASE_STEP (1u << 20)

struct spool {
	char *path;
	int fd;             /* the spool file */
	int in_fd;          /* the stream */
	int feed_fd;        /* write end of the first stage's stdin, -1 */
	bool in_eof;
	uint64_t size;      /* bytes spooled */
	uint64_t fed;       /* next offset to feed */
	uint64_t released;  /* bytes before this are freed */
	char buf[SPOOL_CHUNK];
};

struct spool *spool_open(const char *path, int in_fd, struct qw_err *err)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));

	sp->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (sp->fd < 0) {
		err_errno(err, EX_CANTCREAT, "cannot create the stdin spool '%s'", path);
		free(sp);
		return NULL;
	}
	sp->path = xstrdup(path);
	sp->in_fd = in_fd;
	sp->feed_fd = -1;
	return sp;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	spool_unfeed(sp);
	close(sp->fd);
	unlink(sp->path);
	free(sp->path);
	free(sp);
}

int spool_input_fd(const struct spool *sp)
{
	return sp->in_fd;
}

bool spool_wants_input(const struct spool *sp)
{
	return !sp->in_eof && sp->size - sp->fed < SPOOL_AHEAD_MAX;
}

static int write_all_at(int fd, const char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int spool_read_input(struct spool *sp, struct qw_err *err)
{
	ssize_t n = read(sp->in_fd, sp->buf, sizeof(sp->buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		return err_errno(err, EX_IOERR, "cannot read stdin");
	if (n == 0) {
		sp->in_eof = true;
		if (sp->fed == sp->size)
			spool_unfeed(sp); /* all fed: the stage reads its end */
		return 0;
	}
	if (write_all_at(sp->fd, sp->buf, (size_t)n, sp->size) < 0)
		return err_errno(err, EX_IOERR, "cannot write the stdin spool '%s'", sp->path);
	sp->size += (uint64_t)n;
	return 0;
}

int spool_feed(struct spool *sp, uint64_t from, int feed_fd, struct qw_err *err)
{
	int fl;

	spool_unfeed(sp);
	if (from > sp->size) {
		close(feed_fd);
		return err_set(err, EX_SOFTWARE,
			       "stdin was published up to byte %llu but only %llu bytes were read",
			       (unsigned long long)from, (unsigned long long)sp->size);
	}
	fl = fcntl(feed_fd, F_GETFL);
	if (fl < 0 || fcntl(feed_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(feed_fd);
		return err_errno(err, EX_OSERR, "cannot make the stdin feed non-blocking");
	}
	sp->feed_fd = feed_fd;
	sp->fed = from;
	spool_release(sp, from);
	if (sp->in_eof && sp->fed == sp->size)
		spool_unfeed(sp); /* nothing left: the stage reads its end at once */
	return 0;
}

int spool_feed_fd(const struct spool *sp)
{
	return sp->feed_fd;
}

bool spool_wants_output(const struct spool *sp)
{
	return sp->feed_fd >= 0 && sp->fed < sp->size;
}

int spool_write_output(struct spool *sp, struct qw_err *err)
{
	while (sp->feed_fd >= 0 && sp->fed < sp->size) {
		uint64_t left = sp->size - sp->fed;
		size_t want = left < sizeof(sp->buf) ? (size_t)left : sizeof(sp->buf);
		ssize_t n = pread(sp->fd, sp->buf, want, (off_t)sp->fed);
		ssize_t w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_errno(err, EX_IOERR, "cannot read the stdin spool '%s'", sp->path);
		w = write(sp->feed_fd, sp->buf, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0) {
			/* the stage is gone (EPIPE): its end is the supervisor's news */
			spool_unfeed(sp);
			return 0;
		}
		sp->fed += (uint64_t)w;
		if (w < n)
			return 0; /* the pipe is full */
	}
	if (sp->feed_fd >= 0 && sp->in_eof && sp->fed == sp->size)
		spool_unfeed(sp);
	return 0;
}

void spool_unfeed(struct spool *sp)
{
	if (sp->feed_fd >= 0)
		close(sp->feed_fd);
	sp->feed_fd = -1;
}

void spool_release(struct spool *sp, uint64_t published)
{
	uint64_t upto = published & ~(uint64_t)(SPOOL_RELEASE_STEP - 1);

	if (upto > sp->size)
		upto = sp->size & ~(uint64_t)(SPOOL_RELEASE_STEP - 1);
	if (upto <= sp->released)
		return;
	/* Best effort: a filesystem without holes keeps the bytes (the spool
	 * is removed at the end of the run anyway). */
	(void)!fallocate(sp->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)sp->released,
			 (off_t)(upto - sp->released));
	sp->released = upto;
}

uint64_t spool_unfed(const struct spool *sp)
{
	return sp->size - sp->fed;
}

uint64_t spool_size(const struct spool *sp)
{
	return sp->size;
}
