/*
 * retention: apply an index's `retention: {period}` (Quickwit's janitor
 * retention policy executor).
 *
 * retention_apply() marks for deletion, in one metastore transaction,
 * every Published split whose newest document (time_range_us end, else
 * time_range end in seconds) is older than now_s - period; qw gc then
 * removes them after the deletion grace period like any marked split.
 * Splits without a time range are kept. An index without retention does
 * nothing. report receives one {"split_id", "reason": "retention"} per
 * split (also under dry_run, which changes nothing). The schedule is for
 * whoever runs qw gc (a timer, cron): every run applies the period.
 */
#ifndef QW_RETENTION_H
#define QW_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "store/metastore.h"

int retention_apply(struct metastore *ms, const char *index_id, int64_t now_s, bool dry_run,
		    json_t *report, struct qw_err *err);

#endif
