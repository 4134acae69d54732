/*
 * schedule: when a retention `schedule` fires next (Quickwit's janitor
 * evaluates retention policies on it).
 *
 * A schedule is hourly, daily, weekly, monthly, yearly or annually (with
 * or without a leading '@'), or a cron expression as Quickwit's cron crate
 * reads it: 6 or 7 space-separated fields, seconds first
 *   sec(0-59) min(0-59) hour(0-23) day-of-month(1-31) month(1-12 or JAN..)
 *   day-of-week(1-7, 1 = Sunday, or SUN..) [year(1970-2225)]
 * each field '*' (or '?'), N, N-M, a comma list of them, with an optional
 * /STEP; a time matches when every field matches (day of month and day of
 * week both). Times are UTC seconds. The named ones are the cron crate's:
 * hourly "0 0 * * * *", daily "0 0 0 * * *", weekly "0 0 0 * * 1",
 * monthly "0 0 0 1 * *", yearly "0 0 0 1 1 *".
 */
#ifndef QW_SCHEDULE_H
#define QW_SCHEDULE_H

#include <stdint.h>

#include "base/err.h"

/* The first time strictly after after_s that matches sched: 0 and *next_s,
 * or -1 with err set (EX_DATAERR: a schedule this reader cannot parse, or
 * none in the next 5 years). */
int schedule_next(const char *sched, int64_t after_s, int64_t *next_s, struct qw_err *err);

#endif
