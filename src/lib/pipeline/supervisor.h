/*
 * supervisor: run a chain of stage processes connected by pipes, and keep
 * it running (the library side of qw-pipeline).
 *
 * One generation = one run of the chain: stage i's stdout is stage i+1's
 * stdin (pipe2, O_CLOEXEC), all stages in one new process group (the kill
 * switch), each child with a clean signal mask, default dispositions,
 * PR_SET_PDEATHSIG(SIGKILL), SIGUSR1 ignored until the stage handles it,
 * and no fd besides 0, 1, 2. The last stage's stdout comes back to the
 * supervisor, which reads the `published` and `eof` records for its
 * figures and copies every line to output_fd. Each stage's stderr is a pipe
 * too: the supervisor copies it to its own stderr line by line and keeps
 * the first line, the stage's first error (its cause; the last one is often
 * a summary), for its failure message.
 *
 * The supervisor is an explicit state machine ([state][event] table, as
 * s6-supervise): DOWN (waiting for a start deadline), UP, STOPPING
 * (graceful stop asked), KILLING (group killed, reaping), DONE. A stage
 * that exits non-zero, dies on a signal, or stalls fails the generation:
 * a stage stalls when work is pending for it (the pipe feeding it holds
 * bytes; for the first stage, its input holds bytes, or always in --once
 * mode with files), the pipe it writes to is not full, and its I/O
 * (rchar, wchar) and CPU time stay the same for stall_timeout. Then the
 * group is SIGKILLed, every child reaped, and the next
 * generation starts after an exponential backoff (deadlines in the event
 * loop via clock.h, so QW_TIME_SCALE applies). max_restarts failures in
 * a row without a publish: give up (EX_TEMPFAIL).
 *
 * A stream input (stdin) can be spooled (spool_path): the supervisor reads
 * it, keeps it in a file and feeds the first stage through a pipe of its
 * own, from the published offset in each generation (input_published());
 * the published bytes are released as checkpoints advance.
 *
 * Signals come through a signalfd (never work in a handler); SIGINT and
 * SIGTERM are reset to their default (while blocked) first, since a shell
 * starts background jobs with SIGINT ignored; an ignored SIGHUP stays
 * ignored (nohup). SIGTERM/SIGINT/SIGHUP: send
 * SIGTERM to the stop stage (qw-parse: stop reading, emit eof, exit 0)
 * and let the chain drain; if that stage dies
 * of the SIGTERM instead, the group is killed (nothing half-covered by a
 * checkpoint is published) and the run still ends with 0. A second
 * signal kills the group at once (exit 128+signal). SIGUSR1 is forwarded
 * to the commit stage.
 *
 * Not thread-safe; call from a single-threaded program (it forks).
 */
#ifndef QW_SUPERVISOR_H
#define QW_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct supervisor_stage {
	char *name;     /* for messages: "qw-index" */
	char *path;     /* what to exec: a path with '/', else looked up in PATH */
	char **argv;    /* NULL-terminated */
};

/* Filled by the start callback for each generation; freed by the supervisor
 * (supervisor_stages_free) after the generation ends. */
struct supervisor_gen {
	struct supervisor_stage *stages;
	size_t n;
};

/* Prepare generation gen (1, 2, ...): e.g. take a new publish token and
 * build the stages' argv. An error here is fatal (returned by run). */
typedef int (*supervisor_start_fn)(void *ctx, unsigned gen, struct supervisor_gen *g,
				   struct qw_err *err);
/* Called once every process of generation gen is reaped (clean scratch). */
typedef void (*supervisor_end_fn)(void *ctx, unsigned gen);
/* Called every tick (1 s, scaled) until the run is done, between
 * generations too: e.g. check that the pipeline still holds its publish
 * token. -1 (err set): the run ends with that error, the group killed. */
typedef int (*supervisor_tick_fn)(void *ctx, struct qw_err *err);

/* A child that is no stage of the chain (a sibling the caller started,
 * qw-merge) was reaped with wait status status. */
typedef void (*supervisor_other_exit_fn)(void *ctx, pid_t pid, int status);

/* With a spool: the offset of the input (bytes since the run started)
 * that is published, where the next generation starts reading. */
typedef int (*supervisor_published_fn)(void *ctx, uint64_t *offset, struct qw_err *err);

struct supervisor_opts {
	const char *prog;            /* message prefix */
	bool once;
	unsigned max_restarts;       /* failures in a row without progress */
	int64_t stall_timeout_ms;    /* scaled ms, 0 = never */
	int64_t backoff_initial_ms;  /* scaled ms */
	int64_t backoff_max_ms;      /* scaled ms */
	const char *status_file;     /* NULL: none */
	/* Prometheus text file of the same figures (node_exporter's textfile
	 * collector), rewritten atomically with the status; NULL: none.
	 * Its series carry the labels index and source given here. */
	const char *metrics_file;
	const char *metrics_index;
	const char *metrics_source;
	bool progress;               /* progress on stderr */
	int input_fd;                /* first stage's stdin; -1: /dev/null */
	/* With input_fd: spool the input to this file (see spool.h) and feed
	 * each generation from the offset input_published() gives, so that a
	 * restarted chain reads again what the failed one had not published.
	 * NULL: input_fd is the first stage's stdin itself. */
	const char *spool_path;
	supervisor_published_fn input_published;
	int output_fd;               /* copy of the last stage's output; -1: none */
	size_t stop_stage;           /* gets SIGTERM on a graceful stop */
	size_t commit_stage;         /* gets SIGUSR1 */
	supervisor_start_fn start;
	supervisor_end_fn end;
	supervisor_tick_fn tick;     /* NULL: none */
	supervisor_other_exit_fn other_exit;   /* NULL: such children are only reaped */
	void *ctx;
};

/*
 * Run until done. Returns the exit code to use: 0 when the chain finished
 * (--once) or was stopped by a signal and drained, 128+signal after a
 * second signal; -1 with err set (EX_TEMPFAIL after giving up, the start
 * callback's error, EX_OSERR) otherwise.
 */
int supervisor_run(const struct supervisor_opts *o, struct qw_err *err);

void supervisor_stages_free(struct supervisor_gen *g);

#endif
