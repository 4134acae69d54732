/*
 * janitor: one index's janitor passes (qw-gc; Quickwit's janitor runs the
 * retention policy executor and the garbage collector the same way).
 *
 * janitor_pass() applies the retention period (retention.h) when it is
 * due, then collects garbage (gc.h). Retention is due at the first pass
 * (a one-shot qw-gc, or a janitor that just started: applying the period
 * again is harmless) and then whenever the index's retention schedule
 * fires (schedule.h): next_retention_s says when, 0 when the index has no
 * retention. report receives the entries of both (split_id, scratch_dir
 * or temp_file, and "reason"), retention ones first.
 */
#ifndef QW_JANITOR_H
#define QW_JANITOR_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "lifecycle/gc.h"
#include "store/metastore.h"

struct janitor {
	struct metastore *ms;     /* borrowed */
	const char *index_id;
	struct gc_opts gc;
	/* state */
	bool started;
	int64_t next_retention_s; /* 0: no retention */
};

int janitor_pass(struct janitor *j, int64_t now_s, json_t *report, struct qw_err *err);

#endif
