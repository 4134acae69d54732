/*
 * source: the input files of qw-parse, as source partitions of lines.
 *
 * Inputs are paths, globs, directories (walked recursively, in sorted order)
 * and "-" for stdin. Each input file is one partition, identified by its
 * path made absolute ("-" for stdin). Compressed files (gzip, zstd, xz,
 * bzip2: detected by content) are read through libarchive; archives (tar,
 * possibly compressed, and zip) give one partition per regular entry,
 * identified as "path!entry".
 *
 * source_next() opens the next partition; source_read_line() returns its
 * lines (without '\n' or a final '\r' kept: the caller decides). A position
 * is the uncompressed byte offset just after the last whole line returned;
 * a final line without '\n' is returned at end of input (and counts in the
 * position) unless the source follows files, where it waits for its newline,
 * or is told the files are growing, where it leaves it for the next reader.
 * Lines longer than max_line are reported as SRC_TOO_LONG with their first
 * bytes (bounded memory). Directories are walked without following a
 * symlink back to a directory on the current path (a loop), and a file
 * found under two names in one walk is read once. An input that cannot be opened or read is reported
 * once by source_next()/source_read_line() with err set, and the source goes
 * on with the next input. Not thread-safe: one owner.
 *
 * Follow mode (opts.follow): plain regular files are kept open once their end
 * is reached and source_poll() looks for growth, new files matching the
 * inputs, truncation or a rewrite of the first bytes (copy-truncate: the
 * file is read again from 0 as partition "id#N") and rotation (a new file
 * at the path becomes "id#N"; the renamed old file is still read while it
 * grows, and once it has been idle for a while its unterminated last line is
 * returned too and it is closed). A followed file that reappears under
 * another name matching the inputs is not read twice. Compressed files,
 * archives and stdin are read once, to their end.
 */
#ifndef QW_SOURCE_H
#define QW_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define SOURCE_TOO_LONG_KEEP 1024   /* bytes of a too-long line kept for messages */
#define SOURCE_HEAD_MAX 1024        /* first bytes of a partition kept for its fingerprint */

struct source_opts {
	size_t max_line;            /* 0 = unlimited */
	bool follow;                /* tail regular files, wait for newlines, pick up new files */
	/* read once, but the plain files are still written to: a final line
	 * without its '\n' may be a write in progress, so it is not returned
	 * (SRC_END before it; the position stays at its start) */
	bool growing;
	/* called before a read of a pipe (stdin, FIFO) that has nothing to read
	 * yet, i.e. before blocking: the place to flush output; may be NULL */
	void (*wait_cb)(void *ctx);
	void *wait_ctx;
	/* set by a signal handler: stop waiting for the first bytes of an input,
	 * skipping a line over max_line (then the partition is closed at the
	 * start of that line: SRC_INTR, then SRC_END) or walking a directory */
	volatile sig_atomic_t *stop_flag;
};

enum source_line {
	SRC_LINE,       /* a line */
	SRC_TOO_LONG,   /* a line over max_line: its first bytes, *len = SOURCE_TOO_LONG_KEEP at most */
	SRC_END,        /* end of this partition */
	SRC_AGAIN,      /* follow mode: no complete line yet */
	SRC_ERROR,      /* read error (err set); the partition is closed */
	SRC_INTR,       /* a signal interrupted a blocking read: call again */
};

struct source_part {
	const char *id;             /* partition id */
	const char *name;           /* for messages: the path as given, "!entry" for archive entries */
	uint64_t pos;               /* offset after the last whole line returned */
	uint64_t line_start;        /* offset where the last returned line starts */
	uint64_t line_len;          /* full length of the last line (also when too long) */
	bool compressed;            /* read through libarchive */
	bool pipe;                  /* stdin or a FIFO: a read may block */
	bool stream;                /* stdin, a FIFO or a device: its bytes cannot be read
				     * again, so it has no position to resume from */
	bool growing;               /* opts.growing and a plain file: an unterminated last
				     * line is left to the next reader */
	uint64_t ino;               /* inode of a regular file, 0 for stdin, pipes and archive entries */
};

struct source;

struct source *source_new(const char *const *inputs, size_t n, const struct source_opts *opts);
void source_free(struct source *s);
/*
 * Open the next partition. Returns 1 with *part set (valid until the next
 * call), 0 when every input is done, -1 with err set when one input cannot
 * be read (EX_NOINPUT when missing, EX_IOERR otherwise): call again to go on.
 */
int source_next(struct source *s, struct source_part **part, struct qw_err *err);
/*
 * Skip the current partition to pos (resume). Returns 0 when positioned at
 * pos, 1 when the partition is shorter than pos (then it is read from 0: a
 * new file; a compressed file is opened again for that), -1 on error (an
 * archive entry or stdin shorter than pos cannot be read again).
 */
int source_skip(struct source *s, uint64_t pos, struct qw_err *err);
/*
 * The first min(n, SOURCE_HEAD_MAX) bytes of the current partition, or fewer
 * when it is shorter (*len tells). Consumes nothing: a plain file is read
 * with pread(), a stream is read ahead into the line buffer (then only while
 * nothing past its first bytes was consumed; later calls give what was kept).
 * Each first byte is taken once (as it is read, when source_skip() passes
 * over it, or by a pread() here) and kept for the partition: a file
 * rewritten later does not change what this returns, a longer head only
 * adds the bytes after those kept.
 * -1 with err set on a read error (the partition is then closed).
 */
int source_head(struct source *s, size_t n, const char **head, size_t *len, struct qw_err *err);
/*
 * The first SOURCE_HEAD_MAX bytes of the file at path as qw-parse reads it
 * (decompressed) into out, fewer when it is shorter. Returns 0; 1 when it
 * cannot be told (an archive, stdin, not a regular file); -1 with err set
 * when it cannot be opened or read (EX_NOINPUT: it does not exist).
 */
int source_path_head(const char *path, struct buf *out, struct qw_err *err);
/* Give the current partition another id (a rotated or truncated file: "path#N"). */
void source_rename_part(struct source *s, const char *id);
enum source_line source_read_line(struct source *s, const char **line, size_t *len,
				  struct qw_err *err);
/* Follow mode: look for growth, rotation, truncation and new files; returns
 * 1 when something new can be read (call source_next), 0 when nothing. */
int source_poll(struct source *s, struct qw_err *err);

#endif
