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
 * position) unless the source follows files, where it waits for its newline.
 * Lines longer than max_line are reported as SRC_TOO_LONG with their first
 * bytes (bounded memory). An input that cannot be opened or read is reported
 * once by source_next()/source_read_line() with err set, and the source goes
 * on with the next input. Not thread-safe: one owner.
 */
#ifndef QW_SOURCE_H
#define QW_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SOURCE_TOO_LONG_KEEP 1024   /* bytes of a too-long line kept for messages */

struct source_opts {
	size_t max_line;            /* 0 = unlimited */
	bool follow;                /* tail regular files, wait for newlines, pick up new files */
};

enum source_line {
	SRC_LINE,       /* a line */
	SRC_TOO_LONG,   /* a line over max_line: its first bytes, *len = SOURCE_TOO_LONG_KEEP at most */
	SRC_END,        /* end of this partition */
	SRC_AGAIN,      /* follow mode: no complete line yet */
	SRC_ERROR,      /* read error (err set); the partition is closed */
};

struct source_part {
	const char *id;             /* partition id */
	const char *name;           /* for messages: the path as given, "!entry" for archive entries */
	uint64_t pos;               /* offset after the last whole line returned */
	uint64_t line_start;        /* offset where the last returned line starts */
	uint64_t line_len;          /* full length of the last line (also when too long) */
	bool compressed;            /* read through libarchive */
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
 * new file), -1 on error.
 */
int source_skip(struct source *s, uint64_t pos, struct qw_err *err);
/* Give the current partition another id (a rotated or truncated file: "path#N"). */
void source_rename_part(struct source *s, const char *id);
enum source_line source_read_line(struct source *s, const char **line, size_t *len,
				  struct qw_err *err);
/* Follow mode: look for growth, rotation, truncation and new files; returns
 * 1 when something new can be read (call source_next), 0 when nothing. */
int source_poll(struct source *s, struct qw_err *err);

#endif
