#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lifecycle/schedule.h"

#define YEAR0 1970
#define N_YEARS 256

/* One field's allowed values, as bits (value - lo). */
struct field {
	int lo, hi;
	uint64_t bits[N_YEARS / 64];
};

static bool has(const struct field *f, int v)
{
	if (v < f->lo || v > f->hi)
		return false;
	v -= f->lo;
	return (f->bits[v / 64] >> (v % 64)) & 1;
}

static const char *const months[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
				      "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const days[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL };

/* A number or (for months and days) a name; advances *p. */
static bool value(const char **p, const char *const *names, int first, int *out)
{
	const char *s = *p;
	char *end;
	long v;

	if (names && isalpha((unsigned char)*s)) {
		for (int i = 0; names[i]; i++)
			if (strncasecmp(s, names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
				*out = first + i;
				*p = s + 3;
				return true;
			}
		return false;
	}
	if (!isdigit((unsigned char)*s))
		return false;
	v = strtol(s, &end, 10);
	if (v > 100000)
		return false;
	*out = (int)v;
	*p = end;
	return true;
}

static bool parse_field(const char *s, size_t len, struct field *f, const char *const *names,
			int first)
{
	char buf[128];
	const char *p;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(f->bits, 0, sizeof(f->bits));
	p = buf;
	for (;;) {
		int a = f->lo, b = f->hi, step = 1;

		if (*p == '*' || *p == '?') {
			p++;
		} else {
			if (!value(&p, names, first, &a))
				return false;
			b = a;
			if (*p == '-') {
				p++;
				if (!value(&p, names, first, &b))
					return false;
			}
		}
		if (*p == '/') {
			p++;
			if (!value(&p, NULL, 0, &step) || step < 1)
				return false;
			if (a == b)
				b = f->hi;   /* N/STEP: from N to the end */
		}
		if (a < f->lo || b > f->hi || a > b)
			return false;
		for (int v = a; v <= b; v += step)
			f->bits[(v - f->lo) / 64] |= 1ULL << ((v - f->lo) % 64);
		if (*p == '\0')
			return true;
		if (*p != ',')
			return false;
		p++;
	}
}

struct cron {
	struct field sec, min, hour, dom, mon, dow, year;
};

static int parse_cron(const char *sched, struct cron *c, struct qw_err *err)
{
	static const struct {
		const char *name, *expr;
	} named[] = {
		{ "hourly", "0 0 * * * *" }, { "daily", "0 0 0 * * *" }, { "weekly", "0 0 0 * * 1" },
		{ "monthly", "0 0 0 1 * *" }, { "yearly", "0 0 0 1 1 *" },
		{ "annually", "0 0 0 1 1 *" },
	};
	struct field *fs[] = { &c->sec, &c->min, &c->hour, &c->dom, &c->mon, &c->dow, &c->year };
	const int lo[] = { 0, 0, 0, 1, 1, 1, YEAR0 }, hi[] = { 59, 59, 23, 31, 12, 7,
							   YEAR0 + N_YEARS - 1 };
	const char *expr = sched, *p;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (!strcmp(sched + (sched[0] == '@'), named[i].name))
			expr = named[i].expr;
	for (size_t i = 0; i < 7; i++) {
		fs[i]->lo = lo[i];
		fs[i]->hi = hi[i];
	}
	/* the year is any unless given */
	parse_field("*", 1, &c->year, NULL, 0);
	p = expr;
	while (*p) {
		const char *start;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ' ')
			p++;
		if (n >= 7 || !parse_field(start, (size_t)(p - start), fs[n],
					   n == 4 ? months : n == 5 ? days : NULL, 1)) {
			return err_set(err, EX_DATAERR, "schedule \"%.64s\": field %zu is not one this "
				       "reader knows (N, N-M, lists, *, /STEP, names)", sched, n + 1);
		}
		n++;
	}
	if (n < 6)
		return err_set(err, EX_DATAERR, "schedule \"%.64s\": %zu fields, 6 or 7 expected",
			       sched, n);
	return 0;
}

int schedule_next(const char *sched, int64_t after_s, int64_t *next_s, struct qw_err *err)
{
	struct cron c;
	int64_t t = after_s + 1, limit = after_s + 5LL * 366 * 86400;

	if (parse_cron(sched, &c, err) < 0)
		return -1;
	while (t <= limit) {
		time_t tt = (time_t)t;
		struct tm tm;

		if (!gmtime_r(&tt, &tm))
			break;
		if (!has(&c.year, tm.tm_year + 1900) || !has(&c.mon, tm.tm_mon + 1) ||
		    !has(&c.dom, tm.tm_mday) || !has(&c.dow, tm.tm_wday + 1)) {
			/* the next day, at 00:00:00 */
			t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
			continue;
		}
		if (!has(&c.hour, tm.tm_hour)) {
			t += 3600 - (tm.tm_min * 60 + tm.tm_sec);
			continue;
		}
		if (!has(&c.min, tm.tm_min)) {
			t += 60 - tm.tm_sec;
			continue;
		}
		for (int s = tm.tm_sec; s < 60; s++)
			if (has(&c.sec, s)) {
				*next_s = t + (s - tm.tm_sec);
				return 0;
			}
		t += 60 - tm.tm_sec;
	}
	return err_set(err, EX_DATAERR, "schedule \"%.64s\" never fires in the next 5 years", sched);
}
