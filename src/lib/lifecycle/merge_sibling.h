/*
 * merge_sibling: how qw-pipeline runs qw-merge beside its indexing stages.
 *
 * merge_sibling_start() forks and execs path with argv (a long-running
 * qw-merge) with a clean signal mask and SIGTERM as its parent-death
 * signal, so that it never outlives the pipeline, even one killed by
 * SIGKILL. qw-merge retries failed plans itself at every interval.
 * merge_sibling_stop() sends SIGTERM (qw-merge ends between two merges)
 * and reaps it; a child already reaped by the pipeline's supervisor
 * (waitpid(-1)) is not an error. merge_sibling_run() runs argv to its end
 * (qw-merge --once after a qw-pipeline --once) and returns its exit code,
 * 128+signal when it died of one, -1 when it could not be started.
 *
 * struct merge_sibling supervises a long-running qw-merge as Quickwit's
 * merge pipeline is supervised beside an indexing pipeline: its own
 * process, so its failure never stops indexing; restarted with an
 * exponential backoff (backoff_initial_ms doubling up to backoff_max_ms,
 * scaled by QW_TIME_SCALE) when it exits; a failure after it ran for
 * backoff_max_ms counts as the first one again. The kill switch: after
 * max_restarts failures in a row, or at once when it exits with a status
 * that no restart can change (64 usage, 65 data, 66 no index, 70
 * software), it is switched off for the rest of the run and that is said
 * on stderr. The caller hands it every reaped pid (merge_sibling_exited())
 * and calls merge_sibling_tick() often (the supervisor's tick).
 */
#ifndef QW_MERGE_SIBLING_H
#define QW_MERGE_SIBLING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/clock.h"

#include "base/err.h"

pid_t merge_sibling_start(const char *path, char *const argv[], struct qw_err *err);
void merge_sibling_stop(pid_t pid);
int merge_sibling_run(const char *path, char *const argv[], struct qw_err *err);

struct merge_sibling {
	/* set by the caller; borrowed */
	const char *prog;              /* message prefix */
	const char *path;
	char *const *argv;
	int64_t backoff_initial_ms, backoff_max_ms;   /* scaled ms */
	unsigned max_restarts;         /* failures in a row before the kill switch */
	/* state */
	struct clock clock;
	pid_t pid;                     /* 0 when not running */
	unsigned fails;                /* in a row */
	unsigned restarts;
	int64_t started_ms, restart_at_ms;
	bool off;                      /* the kill switch: never started again */
};

/* Start it (fields above set). A start that fails is a failure like any. */
void merge_sibling_begin(struct merge_sibling *m);
/* pid was reaped with wait status status: ours or not. */
void merge_sibling_exited(struct merge_sibling *m, pid_t pid, int status);
/* Restart it when its backoff is over. */
void merge_sibling_tick(struct merge_sibling *m);
/* Stop it (SIGTERM, reaped) for good. */
void merge_sibling_end(struct merge_sibling *m);

#endif
