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
 */
#ifndef QW_MERGE_SIBLING_H
#define QW_MERGE_SIBLING_H

#include <sys/types.h>

#include "base/err.h"

pid_t merge_sibling_start(const char *path, char *const argv[], struct qw_err *err);
void merge_sibling_stop(pid_t pid);
int merge_sibling_run(const char *path, char *const argv[], struct qw_err *err);

#endif
