/*
 * parse: the qw-parse stage as a library call (sources, formats, doc
 * mapping, dead letters, checkpoint records).
 *
 * parse_run() reads every input through source.h, turns each line into a
 * document (NDJSON, or plain text lines as {"<body_field>": line} with a
 * leading timestamp, or with the fields a pattern captures, a multi-line
 * event's lines joined by "\n"; a UTF-8 byte order mark at the start of a partition is
 * dropped first), applies the doc mapping (docmap.h) and writes the
 * canonical documents and the control records (checkpoint, commit, eof) to
 * out_fd through a protocol_writer. Rejected lines are counted by reason and
 * appended to the dead-letter file when one is given. Problems with one
 * input (missing, unreadable, truncated) are passed to opts->warn and the
 * other inputs go on; the return value is then the worst exit code
 * (EX_IOERR over EX_NOINPUT), 0 when every input was read.
 *
 * Checkpoint records carry the "head" of their partition (a fingerprint of
 * its first bytes as they were read, and the inode of a regular file,
 * man/qw-protocol.7). On resume, a file without a checkpoint of its own, or
 * whose own checkpoint does not fit (head changed, shorter, another inode
 * with a partition of that inode checkpointed), resumes as the checkpointed
 * partition it was renamed from: same inode and its path is another file
 * now, or else same full head and its path no longer holds it (and, when
 * that path is gone, same inode if one was stored). Otherwise a file whose
 * own checkpoint does not fit is read from 0 as "id#N". Before a read that
 * would block on a pipe, the output and the dead letters are flushed.
 *
 * A multi-line event is never cut by a checkpoint record: one written while
 * an event is pending ends where the event starts. At the end of what a
 * partition holds (and while following, when no more is there yet) the
 * pending event is complete.
 *
 * Stdin, a FIFO or a device (source_part.stream) cannot be read again, so it
 * is never resumed: each run reads all of it. Its checkpoint records count
 * its bytes on from the position stored for it (all runs together), so that
 * the publisher's check of "from" against the stored position holds (also
 * for a restarted generation of the same run), and carry no head.
 */
#ifndef QW_PARSE_H
#define QW_PARSE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mapping/config.h"
#include "mapping/docmap.h"
#include "base/err.h"

enum parse_format {
	PARSE_AUTO,     /* per partition: NDJSON when the first line starts with '{' */
	PARSE_NDJSON,
	PARSE_PLAIN,
	PARSE_REGEX,    /* plain text with fields by a pattern (required then) */
};

struct parse_stats {
	uint64_t docs_read, docs_valid, docs_invalid;
	uint64_t by_reason[DOC_REASON_COUNT];
	uint64_t bytes;
};

struct parse_opts {
	const struct index_config *cfg;     /* NULL: dynamic, no timestamp */
	const char *source_id;              /* default "files" */
	json_t *checkpoint;                 /* {"partition": position} to resume from, or NULL */
	json_t *checkpoint_heads;           /* {"partition": "head"} of those positions, or NULL */
	/* --no-resume: {"partition": position} whose stored positions are ignored;
	 * a file with one is read from 0 as a new partition "id#N" past them, or
	 * NULL. A partition of checkpoint that is not in it (one this run's own
	 * earlier generation published) is resumed as usual. */
	json_t *no_resume;
	enum parse_format format;
	const char *body_field;             /* default "body" */
	/* plain lines: a regex or built-in name whose named groups are fields
	 * (extract.h), default cfg->plain_pattern; a line it does not match is
	 * rejected as "no_match". NULL: the body and a leading timestamp only. */
	const char *pattern;
	/* plain lines: a line this regex does not match joins the event before
	 * it (with a "\n"), default cfg->multiline_start; NULL: one line, one event */
	const char *multiline_start;
	const char *dead_letter;            /* NULL: none */
	size_t max_line;                    /* default 10 MB */
	uint64_t checkpoint_every;          /* default 10000 */
	bool follow;
	/* source_opts.growing; and a multi-line event open at the end of a
	 * growing partition is left to the next run, which reads it again whole */
	bool growing;
	const char *const *inputs;
	size_t n_inputs;
	int out_fd;
	/* set by signal handlers: force a commit record, stop reading */
	volatile sig_atomic_t *commit_flag;
	volatile sig_atomic_t *stop_flag;
	/* non-fatal problems and notices (an input missing, a file shorter than its checkpoint) */
	void (*warn)(void *ctx, const struct qw_err *e);
	void *warn_ctx;
};

/* Returns 0; an exit code > 0 when some input failed (already passed to
 * opts->warn; err holds the last one); -1 with err set on a fatal error
 * (stdout or the dead-letter file cannot be written). */
int parse_run(const struct parse_opts *opts, struct parse_stats *st, struct qw_err *err);
/* One line for stderr: "read N, valid V, invalid I (reason: n, ...)". */
void parse_summary(const struct parse_stats *st, struct buf *out);

#endif
