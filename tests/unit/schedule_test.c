/*
 * schedule_test: schedule_next() against times worked out by hand (UTC,
 * checked with `date -u -d @N`).
 */
#include <stdio.h>
#include <string.h>

#include "lifecycle/schedule.h"
#include "tap.h"

/* 2023-11-14T22:13:20Z, a Tuesday */
#define T0 1700000000LL

static void expect(const char *sched, int64_t after, int64_t want)
{
	struct qw_err err = QW_ERR_INIT;
	int64_t got = -1;
	int rc = schedule_next(sched, after, &got, &err);

	ok(rc == 0 && got == want, "%s after %lld: %lld (want %lld) %s", sched, (long long)after,
	   (long long)got, (long long)want, err.msg);
}

int main(void)
{
	struct qw_err err = QW_ERR_INIT;
	int64_t t;

	expect("hourly", T0, 1700002800);                /* 23:00:00 */
	expect("@hourly", 1700002800, 1700006400);       /* strictly after */
	expect("daily", T0, 1700006400);                 /* 2023-11-15T00:00:00Z */
	expect("weekly", T0, 1700352000);                /* Sunday 2023-11-19 */
	expect("monthly", T0, 1701388800);               /* 2023-12-01 */
	expect("yearly", T0, 1704067200);                /* 2024-01-01 */
	expect("annually", T0, 1704067200);
	expect("0 */15 * * * *", T0, 1700000100);        /* 22:15:00 */
	expect("30 0 12 * * *", T0, 1700049630);         /* 2023-11-15T12:00:30Z */
	expect("0 0 0 * * MON-FRI", 1700352000, 1700438400);   /* Sunday -> Monday */
	expect("0 0 0 * * 2", T0, 1700438400);           /* 2 = Monday (1 = Sunday) */
	expect("0 0 0 * * 3", T0, 1700524800);           /* the next Tuesday */
	expect("0 0 0 29 FEB * 2024", T0, 1709164800);   /* 2024-02-29 */
	expect("0 0 6,18 * * *", T0, 1700028000);        /* 2023-11-15T06:00:00Z */
	expect("5 * * * * *", T0, 1700000045);        /* 22:14:05 */
	ok(schedule_next("0 0 0 30 2 *", T0, &t, &err) < 0 && err.code == EX_DATAERR,
	   "a schedule that never fires is EX_DATAERR: %s", err.msg);
	err_clear(&err);
	ok(schedule_next("0 0 0 L * *", T0, &t, &err) < 0 && err.code == EX_DATAERR,
	   "a field this reader does not know is EX_DATAERR: %s", err.msg);
	err_clear(&err);
	ok(schedule_next("0 0 *", T0, &t, &err) < 0, "too few fields");
	err_clear(&err);
	ok(schedule_next("0 0 0 * * * 2024 1", T0, &t, &err) < 0, "too many fields");
	err_clear(&err);
	ok(schedule_next("61 * * * * *", T0, &t, &err) < 0, "a value out of range");
	return tap_done();
}
