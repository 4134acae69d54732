/*
 * protocol: the records that flow between the pipeline stages
 * (man/qw-protocol.7).
 *
 * One record per line. A document is a line of JSON (an object). A control
 * record is a line that starts with 0x1E (RFC 7464's record separator)
 * followed by one JSON object whose "type" names it. A stage passes
 * through, unchanged and in order, the control records it does not own.
 *
 * protocol_reader reads lines from an fd with a reused buffer (no line
 * length limit besides max_line; a longer line is reported, then skipped).
 * protocol_write_* write one record with a single write() when it fits in
 * PIPE_BUF, so records from one writer are never torn.
 */
#ifndef QW_PROTOCOL_H
#define QW_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "pipeline/stage_stats.h"

#define PROTOCOL_RS '\x1e'

/* Control record types. */
#define REC_CHECKPOINT "checkpoint"  /* qw-parse: source, partition, from, to */
#define REC_COMMIT     "commit"      /* force a commit */
#define REC_EOF        "eof"         /* end of input (batch mode), with counters */
#define REC_SPLIT      "split"       /* qw-index -> qw-package */
#define REC_PACKAGED   "packaged"    /* qw-package -> qw-upload */
#define REC_UPLOADED   "uploaded"    /* qw-upload -> qw-publish */
#define REC_PUBLISHED  "published"   /* qw-publish -> stdout */

enum line_kind {
	LINE_DOC,        /* a document (or anything not starting with RS) */
	LINE_CONTROL,    /* RS + JSON object with a string "type" */
	LINE_TOO_LONG,   /* longer than max_line: content dropped, length known */
	LINE_EOF,
	LINE_AGAIN,      /* non-blocking fd with no complete line yet */
	LINE_ERROR,
};

struct protocol_reader {
	int fd;
	const char *name;        /* for messages */
	struct buf in;           /* bytes read, not yet returned */
	size_t start;            /* offset of the next line in in */
	size_t max_line;         /* 0 = unlimited */
	bool eof;
	bool skipping;           /* inside a line longer than max_line */
	uint64_t bytes_consumed; /* bytes of whole lines returned so far */
	struct stage_stats *stats; /* NULL: not counted (stage_stats.h) */
};

void protocol_reader_init(struct protocol_reader *r, int fd, const char *name, size_t max_line);
void protocol_reader_free(struct protocol_reader *r);
/*
 * Next line, without its '\n' (and without the RS for control records).
 * line and len point into the reader's buffer, valid until the next call.
 * A final line without '\n' is returned at EOF.
 */
enum line_kind protocol_read_line(struct protocol_reader *r, const char **line, size_t *len,
				  struct qw_err *err);
/*
 * The longest control record a stage accepts (a `packaged` record of
 * max_num_partitions splits with their metadata is far smaller).
 */
#define PROTOCOL_MAX_CONTROL ((size_t)16 << 20)

/*
 * The one input rule of the stages after qw-index (qw-package, qw-upload,
 * qw-publish), which read control records only: the next control record,
 * parsed into *rec (a new reference), its line (without RS) in line/len,
 * and *lineno counting every line read. Blank lines are skipped; a
 * document, a line longer than the reader's max_line and an invalid control
 * record are data errors naming the line (EX_DATAERR): after qw-index no
 * document flows, so one here means a broken chain, and dropping it would
 * lose it silently. Returns LINE_CONTROL, LINE_EOF, LINE_AGAIN (a
 * non-blocking fd with no whole line yet) or LINE_ERROR with err set.
 */
enum line_kind protocol_read_control(struct protocol_reader *r, uint64_t *lineno, const char **line,
				     size_t *len, json_t **rec, struct qw_err *err);
/* Parse a control line (without RS); returns NULL and sets err when invalid. */
json_t *protocol_parse_control(const char *line, size_t len, struct qw_err *err);
/* The "type" of a parsed control record ("" when missing). */
const char *protocol_type(json_t *rec);

/* Write one raw line (a document or a control line passed through) + '\n'. */
int protocol_write_line(int fd, const char *line, size_t len, bool control, struct qw_err *err);
/* Build a control record {"type": type} to fill in. */
json_t *protocol_new(const char *type);


/*
 * A buffered writer for a stage's stdout: documents and control records
 * are appended to one buffer and written in large chunks (one syscall per
 * ~64 KiB, not per line). protocol_writer_flush() before blocking on input,
 * so a downstream stage never waits on data sitting in our buffer.
 */
struct protocol_writer {
	int fd;
	const char *name;
	struct buf out;
	struct stage_stats *stats; /* NULL: not counted (stage_stats.h) */
};

void protocol_writer_init(struct protocol_writer *w, int fd, const char *name);
int protocol_writer_doc(struct protocol_writer *w, const char *line, size_t len, struct qw_err *err);
int protocol_writer_control(struct protocol_writer *w, json_t *rec, struct qw_err *err);
/* Pass a control line (without RS) through unchanged. */
int protocol_writer_control_line(struct protocol_writer *w, const char *line, size_t len, struct qw_err *err);
int protocol_writer_flush(struct protocol_writer *w, struct qw_err *err);
void protocol_writer_free(struct protocol_writer *w);

#endif
