/*
 * spool: a stream (stdin) kept on disk so that it can be read again.
 *
 * A pipe gives its bytes once. When qw-pipeline restarts its chain after a
 * failure, the bytes the dead generation read from stdin but had not
 * published would be gone. The supervisor therefore reads the stream itself,
 * appends every byte to a spool file, and feeds the first stage from the
 * spool through a pipe of its own: a new generation is fed again from the
 * offset its checkpoint says was published, so nothing is lost and nothing
 * is indexed twice.
 *
 * Offsets are spool offsets: 0 is the first byte this run read. Bytes before
 * the published offset are released (the file keeps its size, the blocks
 * are freed with FALLOC_FL_PUNCH_HOLE where the filesystem can), so an
 * endless --follow stream costs the disk only what is not published yet.
 * The input is read at most SPOOL_AHEAD_MAX bytes ahead of what was fed:
 * the writer of the stream still feels backpressure, as with a plain pipe.
 *
 * The input fd is never made non-blocking (it is shared with the shell):
 * call spool_read_input() only when poll() said it is readable. The feed fd
 * is the write end of the first stage's stdin pipe, owned by the spool from
 * spool_feed() to the end of the stream, spool_unfeed() or spool_close().
 * The spool does not outlive the run: spool_close() removes the file. Not
 * thread-safe; one owner (the supervisor's event loop).
 */
#ifndef QW_SPOOL_H
#define QW_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define SPOOL_AHEAD_MAX (8u << 20)

struct spool;

/* Create the spool file at path (it must not exist) for the stream in_fd
 * (not closed by the spool). */
struct spool *spool_open(const char *path, int in_fd, struct qw_err *err);
/* Remove the file, close the feed; NULL is a no-op. */
void spool_close(struct spool *sp);

/* The stream's fd, to poll for POLLIN while spool_wants_input(). */
int spool_input_fd(const struct spool *sp);
bool spool_wants_input(const struct spool *sp);
/* Read what the stream has (one read) into the spool; the end of the
 * stream is remembered. -1 on a read or write error (err set). */
int spool_read_input(struct spool *sp, struct qw_err *err);

/* Start feeding feed_fd (made non-blocking; the spool owns it) from offset
 * from, a line boundary published by an earlier generation: bytes before it
 * are released. EX_SOFTWARE when from is past what was spooled. */
int spool_feed(struct spool *sp, uint64_t from, int feed_fd, struct qw_err *err);
/* The feed fd, to poll for POLLOUT while spool_wants_output(), else -1. */
int spool_feed_fd(const struct spool *sp);
bool spool_wants_output(const struct spool *sp);
/* Write what the pipe takes. Once the stream has ended and all of it was
 * fed, the feed is closed (the stage reads its end). A reader gone (EPIPE)
 * stops the feed quietly: the supervisor sees the stage's end. -1 on an
 * error of the spool file. */
int spool_write_output(struct spool *sp, struct qw_err *err);
/* Stop feeding (the generation ended): the feed fd is closed. */
void spool_unfeed(struct spool *sp);

/* Release the bytes before offset published (a new checkpoint). */
void spool_release(struct spool *sp, uint64_t published);

/* Bytes spooled but not fed yet: work pending for the first stage. */
uint64_t spool_unfed(const struct spool *sp);
/* Bytes read from the stream so far. */
uint64_t spool_size(const struct spool *sp);

#endif
