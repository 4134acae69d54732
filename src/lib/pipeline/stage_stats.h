/*
 * stage_stats: a stage's own counters, reported to its supervisor
 * (man/qw-protocol.7, "Stage statistics").
 *
 * Each stage counts the documents and bytes it read and wrote, the time it
 * spent inside read() on its input (waiting for input) and inside write()
 * on its output (blocked by backpressure: the pipe to the next stage was
 * full). The protocol reader and writer add to it when their stats pointer
 * is set; a stage adds what only it knows (qw-parse: events read from the
 * raw input; qw-index: documents indexed).
 *
 * Reporting is on only when the environment has QW_STAGE_STATS=MS (the
 * supervisor sets it for its children): then, at most every MS ms (checked
 * on each read and write) and once more at the end, the stage writes one
 * line to stderr: RS (0x1E) and a JSON object
 *   {"type":"stats","stage":"qw-index","docs_in":N,"docs_out":N,
 *    "bytes_in":N,"bytes_out":N,"wait_input_us":N,"blocked_output_us":N}
 * with a single write() (shorter than PIPE_BUF, never torn). The counters
 * are totals since the stage started. A stage run by hand writes nothing.
 */
#ifndef QW_STAGE_STATS_H
#define QW_STAGE_STATS_H

#include <stdint.h>

#define STAGE_STATS_ENV "QW_STAGE_STATS"

struct stage_stats {
	const char *stage;          /* "qw-index" */
	int64_t interval_ms;        /* 0: reporting off */
	int64_t last_ms;            /* monotonic ms of the last report */
	uint64_t docs_in, docs_out;
	uint64_t bytes_in, bytes_out;
	uint64_t wait_input_us;     /* inside read() on the input */
	uint64_t blocked_output_us; /* inside write() on the output */
};

/* Zero the counters; reporting per the environment. */
void stage_stats_init(struct stage_stats *st, const char *stage);
/* Monotonic microseconds (to time a read() or write()). */
uint64_t stage_stats_now_us(void);
/* Report if the interval has passed (NULL st: nothing). */
void stage_stats_tick(struct stage_stats *st);
/* The last report (when reporting is on). */
void stage_stats_final(struct stage_stats *st);

#endif
