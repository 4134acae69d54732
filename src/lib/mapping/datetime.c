/* datetime: see datetime.h */
#include "mapping/datetime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Quickwit's bounds for inferring a unix timestamp's precision: seconds
 * below the year 2500, then millis, micros, nanos. */
#define TS_MAX_SECONDS 16725225600LL

/* Datetimes are within the years 0000 to 9999 (UTC): what RFC 3339 can
 * write with four digits, so that every canonical value parses again. */
#define DT_MIN_US (-62167219200LL * 1000000)        /* 0000-01-01T00:00:00Z */
#define DT_MAX_US (253402300800LL * 1000000 - 1)    /* 9999-12-31T23:59:59.999999Z */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t datetime_us_to_s(int64_t us)
{
	return floor_div(us, 1000000);
}

static bool in_range(int64_t us)
{
	return us >= DT_MIN_US && us <= DT_MAX_US;
}

struct dt_parts {
	int64_t year;
	bool has_year;
	int month, day;           /* 1-based */
	int yday;                 /* 1-based, 0 = not given */
	int hour, minute, second;
	int64_t nanos;
	int64_t offset_s;         /* east of UTC */
	int pm;                   /* -1 none, 0 am, 1 pm */
	bool has_epoch;
	int64_t epoch_s;
};

static void parts_init(struct dt_parts *p)
{
	memset(p, 0, sizeof(*p));
	p->month = 1;
	p->day = 1;
	p->pm = -1;
}

int64_t datetime_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

static int64_t current_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm))
		return 1970;
	return (int64_t)tm.tm_year + 1900;
}

static bool parts_to_us_year(struct dt_parts *p, int64_t *us);

/*
 * A date without a year (syslog's "Dec 10 06:55:46") is in the current UTC
 * year unless that puts it more than a day in the future (a day: zones and
 * clocks that are a little off): then it is last year's. On 1 December,
 * "Dec 10" is 10 December of last year; on 2 January, "Dec 31" too.
 */
#define YEARLESS_FUTURE_SLACK_US (86400LL * 1000000)

/* *us, and *ns (when not NULL) the nanoseconds below it of the fraction */
static bool parts_to_us(struct dt_parts *p, int64_t *us, unsigned *ns)
{
	struct dt_parts again;
	int64_t now_us;

	if (ns)
		*ns = (unsigned)(p->nanos % 1000);

	if (p->has_year || p->has_epoch)
		return parts_to_us_year(p, us);
	again = *p;
	p->year = current_year();
	p->has_year = true;
	if (parts_to_us_year(p, us)) {
		now_us = (int64_t)time(NULL) * 1000000;
		if (*us <= now_us + YEARLESS_FUTURE_SLACK_US)
			return true;
	}
	/* in the future, or not a date this year (29 February) */
	again.year = current_year() - 1;
	again.has_year = true;
	*p = again;
	return parts_to_us_year(p, us);
}

static bool parts_to_us_year(struct dt_parts *p, int64_t *us)
{
	int64_t days, secs;

	if (p->has_epoch) {
		if (p->epoch_s > INT64_MAX / 1000000 || p->epoch_s < INT64_MIN / 1000000)
			return false;
		*us = p->epoch_s * 1000000 + p->nanos / 1000;
		return true;
	}
	if (p->year < -9999 || p->year > 9999)
		return false;
	if (p->pm >= 0) {
		if (p->hour < 1 || p->hour > 12)
			return false;
		p->hour = p->hour % 12 + (p->pm ? 12 : 0);
	}
	if (p->yday) {
		if (p->yday > (is_leap(p->year) ? 366 : 365))
			return false;
		days = datetime_days_from_civil(p->year, 1, 1) + p->yday - 1;
	} else {
		if (p->month < 1 || p->month > 12 || p->day < 1 ||
		    p->day > days_in_month(p->year, p->month))
			return false;
		days = datetime_days_from_civil(p->year, (unsigned)p->month, (unsigned)p->day);
	}
	if (p->hour > 23 || p->minute > 59 || p->second > 60)
		return false;
	secs = days * 86400 + p->hour * 3600 + p->minute * 60 + p->second - p->offset_s;
	*us = secs * 1000000 + p->nanos / 1000;
	return true;
}

/* ---------------------------------------------------------------- scanning */

struct scan {
	const char *s;
	size_t len, i;
};

static bool sc_end(const struct scan *sc)
{
	return sc->i >= sc->len;
}

static int sc_peek(const struct scan *sc)
{
	return sc->i < sc->len ? (unsigned char)sc->s[sc->i] : -1;
}

static bool sc_char(struct scan *sc, char c)
{
	if (sc->i < sc->len && sc->s[sc->i] == c) {
		sc->i++;
		return true;
	}
	return false;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Exactly n digits (n>0), or between min and max digits when min < max. */
static bool sc_num(struct scan *sc, int min, int max, int64_t *out)
{
	int64_t v = 0;
	int n = 0;

	while (n < max && sc->i < sc->len && is_digit((unsigned char)sc->s[sc->i])) {
		v = v * 10 + (sc->s[sc->i] - '0');
		sc->i++;
		n++;
	}
	if (n < min)
		return false;
	*out = v;
	return true;
}

static bool sc_int(struct scan *sc, int min, int max, int *out)
{
	int64_t v;

	if (!sc_num(sc, min, max, &v))
		return false;
	*out = (int)v;
	return true;
}

/* Fraction digits after the dot: 1..9 significant, more are ignored. */
static bool sc_frac(struct scan *sc, int64_t *nanos)
{
	int n = 0;
	int64_t v = 0;

	while (sc->i < sc->len && is_digit((unsigned char)sc->s[sc->i])) {
		if (n < 9) {
			v = v * 10 + (sc->s[sc->i] - '0');
			n++;
		}
		sc->i++;
	}
	if (n == 0)
		return false;
	while (n++ < 9)
		v *= 10;
	*nanos = v;
	return true;
}

/* The end of a whole-string parse, or (prefix mode) where the prefix ends. */
static bool sc_done(const struct scan *sc, size_t *consumed)
{
	if (consumed) {
		*consumed = sc->i;
		return sc->i > 0;
	}
	return sc_end(sc);
}

static void sc_spaces(struct scan *sc)
{
	while (sc->i < sc->len && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t'))
		sc->i++;
}

static int lower_ascii(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive match of a word at the scan position. */
static bool sc_word(struct scan *sc, const char *w)
{
	size_t n = strlen(w);

	if (sc->len - sc->i < n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (lower_ascii((unsigned char)sc->s[sc->i + k]) != lower_ascii((unsigned char)w[k]))
			return false;
	sc->i += n;
	return true;
}

static const char *const month_names[12] = {
	"january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december",
};
static const char *const day_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
};

static bool sc_name(struct scan *sc, const char *const *names, int n, int *idx)
{
	for (int k = 0; k < n; k++) {
		if (sc_word(sc, names[k])) {
			*idx = k;
			return true;
		}
	}
	for (int k = 0; k < n; k++) {
		char abbr[4];

		memcpy(abbr, names[k], 3);
		abbr[3] = '\0';
		if (sc_word(sc, abbr)) {
			*idx = k;
			return true;
		}
	}
	return false;
}

/* +HH:MM, +HHMM, +HH, Z; colon_ok/colonless allowed. */
static bool sc_offset(struct scan *sc, bool allow_z, int64_t *off)
{
	int sign, hh, mm = 0;
	int c = sc_peek(sc);

	if (allow_z && (c == 'Z' || c == 'z')) {
		sc->i++;
		*off = 0;
		return true;
	}
	if (c != '+' && c != '-')
		return false;
	sign = c == '-' ? -1 : 1;
	sc->i++;
	if (!sc_int(sc, 2, 2, &hh))
		return false;
	if (sc_char(sc, ':')) {
		if (!sc_int(sc, 2, 2, &mm))
			return false;
	} else if (is_digit(sc_peek(sc))) {
		if (!sc_int(sc, 2, 2, &mm))
			return false;
	}
	if (hh > 23 || mm > 59)
		return false;
	*off = sign * (hh * 3600 + mm * 60);
	return true;
}

/*
 * A named zone: RFC 2822's (UT, GMT, the US ones) and the few more that
 * logs write, with a fixed offset (a name says nothing about summer time
 * beyond its own: CEST is +02:00 whatever the date). Not followed by a letter.
 */
static bool sc_zone_name(struct scan *sc, int64_t *off)
{
	static const struct { const char *name; int minutes; } zones[] = {
		{ "GMT", 0 }, { "UTC", 0 }, { "UT", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
		{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
		{ "WET", 0 }, { "WEST", 60 }, { "BST", 60 }, { "CET", 60 }, { "CEST", 120 },
		{ "EET", 120 }, { "EEST", 180 }, { "MSK", 180 }, { "IST", 330 },
		{ "JST", 540 }, { "KST", 540 }, { "AEST", 600 }, { "AEDT", 660 },
		{ "NZST", 720 }, { "NZDT", 780 },
	};

	for (size_t k = 0; k < sizeof(zones) / sizeof(zones[0]); k++) {
		size_t save = sc->i;
		int c;

		if (sc_word(sc, zones[k].name)) {
			c = sc_peek(sc);
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
				*off = (int64_t)zones[k].minutes * 60;
				return true;
			}
		}
		sc->i = save;
	}
	return false;
}

/* ---------------------------------------------------------------- formats */

/* YYYY-MM-DD[Tt ]HH:MM:SS[.frac](Z|+HH:MM) */
static bool parse_rfc3339(const char *s, size_t len, int64_t *us, unsigned *ns,
			  size_t *consumed)
{
	struct scan sc = { s, len, 0 };
	struct dt_parts p;
	int c;

	parts_init(&p);
	if (!sc_num(&sc, 4, 4, &p.year) || !sc_char(&sc, '-') || !sc_int(&sc, 2, 2, &p.month) ||
	    !sc_char(&sc, '-') || !sc_int(&sc, 2, 2, &p.day))
		return false;
	p.has_year = true;
	c = sc_peek(&sc);
	if (c != 'T' && c != 't' && c != ' ')
		return false;
	sc.i++;
	if (!sc_int(&sc, 2, 2, &p.hour) || !sc_char(&sc, ':') || !sc_int(&sc, 2, 2, &p.minute) ||
	    !sc_char(&sc, ':') || !sc_int(&sc, 2, 2, &p.second))
		return false;
	if (sc_char(&sc, '.') && !sc_frac(&sc, &p.nanos))
		return false;
	if (!sc_offset(&sc, true, &p.offset_s) || !sc_done(&sc, consumed))
		return false;
	return parts_to_us(&p, us, ns);
}

/* ISO 8601: date, optional time (with optional seconds and fraction), optional offset
 * (UTC when missing); extended (2020-01-02T03:04:05) or basic (20200102T030405) form. */
static bool parse_iso8601(const char *s, size_t len, int64_t *us, unsigned *ns,
			  size_t *consumed)
{
	struct scan sc = { s, len, 0 };
	struct dt_parts p;
	bool basic;
	int c;

	parts_init(&p);
	if (!sc_num(&sc, 4, 4, &p.year))
		return false;
	p.has_year = true;
	basic = !sc_char(&sc, '-');
	if (!sc_int(&sc, 2, 2, &p.month))
		return false;
	if (!basic && !sc_char(&sc, '-'))
		return false;
	if (!sc_int(&sc, 2, 2, &p.day))
		return false;
	c = sc_peek(&sc);
	/* at the start of a line, a space is the separator only before a time
	 * ("2015-10-18 18:01:47,978 INFO"), else the date ends there */
	if (sc_end(&sc) || (consumed && c != 'T' && c != 't' &&
			    !(c == ' ' && sc.i + 3 <= len && is_digit(s[sc.i + 1]) &&
			      is_digit(s[sc.i + 2]) && (basic || (sc.i + 3 < len && s[sc.i + 3] == ':')))))
		return sc_done(&sc, consumed) && parts_to_us(&p, us, ns);
	if (c != 'T' && c != 't' && c != ' ')
		return false;
	sc.i++;
	if (!sc_int(&sc, 2, 2, &p.hour))
		return false;
	if (!basic && !sc_char(&sc, ':'))
		return false;
	if (!sc_int(&sc, 2, 2, &p.minute))
		return false;
	if ((basic && is_digit(sc_peek(&sc))) || (!basic && sc_char(&sc, ':'))) {
		if (!sc_int(&sc, 2, 2, &p.second))
			return false;
		if ((sc_char(&sc, '.') || sc_char(&sc, ',')) && !sc_frac(&sc, &p.nanos))
			return false;
	}
	if (!sc_end(&sc)) {
		size_t save = sc.i;

		if (!sc_offset(&sc, true, &p.offset_s)) {
			if (!consumed)
				return false;
			sc.i = save;
		}
	}
	if (!sc_done(&sc, consumed))
		return false;
	return parts_to_us(&p, us, ns);
}

/* [Day, ]DD Mon YYYY HH:MM[:SS] (+HHMM|GMT|UT|Z|EST...) */
static bool parse_rfc2822(const char *s, size_t len, int64_t *us, unsigned *ns,
			  size_t *consumed)
{
	struct scan sc = { s, len, 0 };
	struct dt_parts p;
	int idx;
	bool zone = false;

	parts_init(&p);
	sc_spaces(&sc);
	if (sc_name(&sc, day_names, 7, &idx)) {
		if (!sc_char(&sc, ','))
			return false;
		sc_spaces(&sc);
	}
	if (!sc_int(&sc, 1, 2, &p.day))
		return false;
	sc_spaces(&sc);
	if (!sc_name(&sc, month_names, 12, &idx))
		return false;
	p.month = idx + 1;
	sc_spaces(&sc);
	if (!sc_num(&sc, 4, 4, &p.year))
		return false;
	p.has_year = true;
	sc_spaces(&sc);
	if (!sc_int(&sc, 2, 2, &p.hour) || !sc_char(&sc, ':') || !sc_int(&sc, 2, 2, &p.minute))
		return false;
	if (sc_char(&sc, ':') && !sc_int(&sc, 2, 2, &p.second))
		return false;
	sc_spaces(&sc);
	if (sc_offset(&sc, false, &p.offset_s) || sc_zone_name(&sc, &p.offset_s))
		zone = true;
	if (!zone)
		return false;
	if (!consumed)
		sc_spaces(&sc);
	if (!sc_done(&sc, consumed))
		return false;
	return parts_to_us(&p, us, ns);
}

bool datetime_from_i64_ns(int64_t v, int64_t *us, unsigned *ns)
{
	int64_t a;

	*ns = 0;
	if (v == INT64_MIN)
		return false;
	a = v < 0 ? -v : v;
	if (a < TS_MAX_SECONDS) {
		*us = v * 1000000;
	} else if (a < TS_MAX_SECONDS * 1000) {
		*us = v * 1000;
	} else if (a < TS_MAX_SECONDS * 1000000) {
		*us = v;
	} else {
		/* the floor: ns counts up from it (v % 1000, made non-negative,
		 * not v - us * 1000, which overflows near INT64_MIN) */
		*us = floor_div(v, 1000);
		*ns = (unsigned)((v % 1000 + 1000) % 1000);
	}
	return in_range(*us);
}

bool datetime_from_i64(int64_t v, int64_t *us)
{
	unsigned ns;

	return datetime_from_i64_ns(v, us, &ns);
}

bool datetime_from_number(double v, int64_t *us)
{
	double a = fabs(v);
	double r;

	if (!isfinite(v))
		return false;
	if (a < (double)TS_MAX_SECONDS)
		r = v * 1e6;
	else if (a < (double)TS_MAX_SECONDS * 1e3)
		r = v * 1e3;
	else if (a < (double)TS_MAX_SECONDS * 1e6)
		r = v;
	else
		r = v / 1e3;
	if (r >= 9.2e18 || r <= -9.2e18)
		return false;
	*us = (int64_t)llround(r);
	return in_range(*us);
}

/* A string unix timestamp: [-]digits[.digits]. */
static bool parse_unix(const char *s, size_t len, int64_t *us, unsigned *ns,
		       size_t *consumed)
{
	struct scan sc = { s, len, 0 };
	bool neg;
	int64_t v = 0;
	size_t start;

	if (consumed) {
		/* a leading epoch in a log line: 9 to 19 digits, then not a word character */
		int c;

		while (!sc_end(&sc) && is_digit(sc_peek(&sc)) && sc.i < 19)
			v = v * 10 + (s[sc.i++] - '0');
		c = sc_peek(&sc);
		if (sc.i < 9 || is_digit(c) || c == '.' || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_')
			return false;
		*consumed = sc.i;
		return datetime_from_i64(v, us);
	}
	neg = sc_char(&sc, '-');
	start = sc.i;

	while (!sc_end(&sc) && is_digit(sc_peek(&sc))) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (sc_peek(&sc) - '0');
		sc.i++;
	}
	if (sc.i == start)
		return false;
	if (sc_end(&sc)) {
		unsigned sub;

		if (!datetime_from_i64_ns(neg ? -v : v, us, &sub))
			return false;
		if (ns)
			*ns = sub;
		return true;
	}
	if (sc_char(&sc, '.')) {
		char tmp[64];
		char *end;
		double d;
		int64_t nanos;
		size_t frac = sc.i;

		/* seconds with a fraction: exact, to the nanosecond (a double
		 * would round the microsecond and lose what is below it) */
		if (v < TS_MAX_SECONDS && sc_frac(&sc, &nanos) && sc_end(&sc)) {
			int64_t at = v * 1000000 + nanos / 1000;
			unsigned sub = (unsigned)(nanos % 1000);

			/* before the epoch: the floor, the nanoseconds counting up from it */
			*us = !neg ? at : sub ? -at - 1 : -at;
			if (ns)
				*ns = !neg || !sub ? sub : 1000 - sub;
			return in_range(*us);
		}
		sc.i = frac;
		while (!sc_end(&sc) && is_digit(sc_peek(&sc)))
			sc.i++;
		if (!sc_end(&sc) || len >= sizeof(tmp))
			return false;
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		d = strtod(tmp, &end);
		if (*end != '\0')
			return false;
		return datetime_from_number(d, us);
	}
	return false;
}

/* The directives parse_strptime() reads: scan_date_directive()'s,
 * scan_time_directive()'s and scan_directive()'s own (their switches below,
 * kept in step). */
#define STRPTIME_DATE_DIRECTIVES "YyCmdejbBhaAFD"
#define STRPTIME_TIME_DIRECTIVES "HIklMSfpPTR"
static const char strptime_directives[] =
	STRPTIME_DATE_DIRECTIVES STRPTIME_TIME_DIRECTIVES "zZsnt%";

bool datetime_check_strptime(const char *fmt, char *bad)
{
	for (const char *f = fmt; *f; f++) {
		if (*f != '%')
			continue;
		f++;
		while (*f >= '0' && *f <= '9')
			f++;
		if (*f == '-' || *f == '_')
			f++;
		if (!*f || !strchr(strptime_directives, *f)) {
			*bad = *f;
			return false;
		}
	}
	return true;
}

/* The year of a two-digit %y: 69 and below are 20xx, as POSIX says. */
static int year_of_yy(int yy)
{
	return yy < 70 ? 2000 + yy : 1900 + yy;
}

/* A date directive: %Y %y %C %m %d %e %j, the names %b %B %h %a %A, or
 * the composites %F (%Y-%m-%d) and %D (%m/%d/%y). */
static bool scan_date_directive(struct scan *sc, char d, struct dt_parts *p)
{
	int n, idx;

	switch (d) {
	case 'Y':
		if (sc_char(sc, '-')) {
			if (!sc_num(sc, 1, 5, &p->year))
				return false;
			p->year = -p->year;
		} else if (!sc_num(sc, 4, 4, &p->year)) {
			return false;
		}
		p->has_year = true;
		return true;
	case 'y':
		if (!sc_int(sc, 2, 2, &n))
			return false;
		p->year = year_of_yy(n);
		p->has_year = true;
		return true;
	case 'C':
		if (!sc_int(sc, 2, 2, &n))
			return false;
		p->year = n * 100 + p->year % 100;
		p->has_year = true;
		return true;
	case 'm':
		return sc_int(sc, 1, 2, &p->month);
	case 'e':
		sc_spaces(sc);
		return sc_int(sc, 1, 2, &p->day);
	case 'd':
		return sc_int(sc, 1, 2, &p->day);
	case 'j':
		return sc_int(sc, 1, 3, &p->yday) && p->yday >= 1;
	case 'b':
	case 'B':
	case 'h':
		if (!sc_name(sc, month_names, 12, &idx))
			return false;
		p->month = idx + 1;
		return true;
	case 'a':
	case 'A':
		return sc_name(sc, day_names, 7, &idx);
	case 'F':
		if (!sc_num(sc, 4, 4, &p->year) || !sc_char(sc, '-') ||
		    !sc_int(sc, 1, 2, &p->month) || !sc_char(sc, '-') ||
		    !sc_int(sc, 1, 2, &p->day))
			return false;
		p->has_year = true;
		return true;
	case 'D':
		if (!sc_int(sc, 1, 2, &p->month) || !sc_char(sc, '/') ||
		    !sc_int(sc, 1, 2, &p->day) || !sc_char(sc, '/') || !sc_int(sc, 2, 2, &n))
			return false;
		p->year = year_of_yy(n);
		p->has_year = true;
		return true;
	}
	return false;
}

/* A time-of-day directive: %H %I %k %l %M %S, the fraction %f (%3f %6f
 * %9f: exactly width digits), %p %P, or the composites %T and %R. */
static bool scan_time_directive(struct scan *sc, char d, int width, struct dt_parts *p)
{
	size_t frac_start;

	switch (d) {
	case 'H':
	case 'I':
	case 'k':
	case 'l':
		sc_spaces(sc);
		return sc_int(sc, 1, 2, &p->hour);
	case 'M':
		return sc_int(sc, 1, 2, &p->minute);
	case 'S':
		return sc_int(sc, 1, 2, &p->second);
	case 'f':
		frac_start = sc->i;
		if (!sc_frac(sc, &p->nanos))
			return false;
		return !width || sc->i - frac_start == (size_t)width;
	case 'p':
	case 'P':
		if (sc_word(sc, "am"))
			p->pm = 0;
		else if (sc_word(sc, "pm"))
			p->pm = 1;
		else
			return false;
		return true;
	case 'T':
		return sc_int(sc, 1, 2, &p->hour) && sc_char(sc, ':') &&
		       sc_int(sc, 1, 2, &p->minute) && sc_char(sc, ':') &&
		       sc_int(sc, 1, 2, &p->second);
	case 'R':
		return sc_int(sc, 1, 2, &p->hour) && sc_char(sc, ':') &&
		       sc_int(sc, 1, 2, &p->minute);
	}
	return false;
}

/* One % directive d (width 0 if none given); false if the text does not
 * match it or d is unknown. */
static bool scan_directive(struct scan *sc, char d, int width, struct dt_parts *p)
{
	bool neg;

	if (d && strchr(STRPTIME_DATE_DIRECTIVES, d))
		return scan_date_directive(sc, d, p);
	if (d && strchr(STRPTIME_TIME_DIRECTIVES, d))
		return scan_time_directive(sc, d, width, p);
	switch (d) {
	case 'z':
		return sc_offset(sc, true, &p->offset_s);
	case 'Z':
		return sc_zone_name(sc, &p->offset_s) || sc_offset(sc, true, &p->offset_s);
	case 's':
		neg = sc_char(sc, '-');
		if (!sc_num(sc, 1, 18, &p->epoch_s))
			return false;
		if (neg)
			p->epoch_s = -p->epoch_s;
		p->has_epoch = true;
		return true;
	case 'n':
	case 't':
		sc_spaces(sc);
		return true;
	case '%':
		return sc_char(sc, '%');
	}
	return false;   /* unknown or truncated directive */
}

/* strptime-style patterns, as in Quickwit's docs. */
static bool parse_strptime(const char *fmt, const char *s, size_t len, int64_t *us,
			   unsigned *ns, size_t *consumed)
{
	struct scan sc = { s, len, 0 };
	struct dt_parts p;

	parts_init(&p);
	for (const char *f = fmt; *f; f++) {
		int width = 0;

		if (*f == ' ') {
			sc_spaces(&sc);
			continue;
		}
		if (*f != '%') {
			if (!sc_char(&sc, *f))
				return false;
			continue;
		}
		f++;
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		if (*f == '-' || *f == '_')    /* padding modifiers: accept anything */
			f++;
		if (!scan_directive(&sc, *f, width, &p))
			return false;
	}
	if (!sc_done(&sc, consumed))
		return false;
	return parts_to_us(&p, us, ns);
}

/* One format; *ns (NULL: not wanted) the nanoseconds below *us. */
static bool parse_format(const char *format, const char *s, size_t len, int64_t *us,
			 unsigned *ns, size_t *consumed)
{
	if (ns)
		*ns = 0;
	if (strcmp(format, "rfc3339") == 0)
		return parse_rfc3339(s, len, us, ns, consumed);
	if (strcmp(format, "iso8601") == 0)
		return parse_iso8601(s, len, us, ns, consumed);
	if (strcmp(format, "rfc2822") == 0)
		return parse_rfc2822(s, len, us, ns, consumed);
	if (strcmp(format, "unix_timestamp") == 0)
		return parse_unix(s, len, us, ns, consumed);
	return parse_strptime(format, s, len, us, ns, consumed);
}

static bool parse_any(const char *format, const char *s, size_t len, int64_t *us,
		      unsigned *ns, size_t *consumed)
{
	return parse_format(format, s, len, us, ns, consumed) && in_range(*us);
}

size_t datetime_parse_prefix(const char *format, const char *s, size_t len, int64_t *us)
{
	size_t consumed = 0;

	if (!parse_any(format, s, len, us, NULL, &consumed))
		return 0;
	return consumed;
}

bool datetime_parse(const char *format, const char *s, size_t len, int64_t *us)
{
	return parse_any(format, s, len, us, NULL, NULL);
}

bool datetime_parse_ns(const char *format, const char *s, size_t len, int64_t *us,
		       unsigned *ns)
{
	return parse_any(format, s, len, us, ns, NULL);
}

/* ---------------------------------------------------------------- formatting */

struct civil {
	int64_t year;
	unsigned month, day, hour, minute, second;
	int64_t micros;
};

static void to_civil(int64_t us, struct civil *c)
{
	int64_t secs = us / 1000000, days, sod;

	c->micros = us % 1000000;
	if (c->micros < 0) {
		c->micros += 1000000;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (unsigned)(sod / 3600);
	c->minute = (unsigned)(sod / 60 % 60);
	c->second = (unsigned)(sod % 60);
}

/* v as exactly w decimal digits (v < 10^w) at t */
static void put_digits(char *t, unsigned v, int w)
{
	while (w-- > 0) {
		t[w] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Digits by hand: this runs for every datetime qw-parse reads and writes
 * (printf was a third of its CPU time on small documents). */
static size_t rfc3339_chars_ns(int64_t us, unsigned ns, char t[DATETIME_RFC3339_MAX])
{
	struct civil c;
	size_t n;

	to_civil(us, &c);
	if (ns > 999)
		ns = 999;
	if (c.year >= 0 && c.year <= 9999) {
		put_digits(t, (unsigned)c.year, 4);
		n = 4;
	} else {
		int k = snprintf(t, DATETIME_RFC3339_MAX - 24, "%+05lld", (long long)c.year);

		n = k > 0 && k < DATETIME_RFC3339_MAX - 24 ? (size_t)k : 0;
	}
	t[n] = '-';
	put_digits(t + n + 1, c.month, 2);
	t[n + 3] = '-';
	put_digits(t + n + 4, c.day, 2);
	t[n + 6] = 'T';
	put_digits(t + n + 7, c.hour, 2);
	t[n + 9] = ':';
	put_digits(t + n + 10, c.minute, 2);
	t[n + 12] = ':';
	put_digits(t + n + 13, c.second, 2);
	n += 15;
	if (c.micros || ns) {
		/* 9 fraction digits, trailing zeros dropped (at least one kept) */
		int k = 9;
		unsigned m = (unsigned)c.micros * 1000u + ns;

		while (k > 1 && m % 10 == 0) {
			m /= 10;
			k--;
		}
		t[n] = '.';
		put_digits(t + n + 1, m, k);
		n += 1 + (size_t)k;
	}
	t[n++] = 'Z';
	return n;
}

size_t datetime_rfc3339_chars(int64_t us, char t[DATETIME_RFC3339_MAX])
{
	return rfc3339_chars_ns(us, 0, t);
}

void datetime_format_rfc3339_ns(int64_t us, unsigned ns, struct buf *out)
{
	char t[DATETIME_RFC3339_MAX];

	buf_add(out, t, rfc3339_chars_ns(us, ns, t));
}

void datetime_format_rfc3339(int64_t us, struct buf *out)
{
	datetime_format_rfc3339_ns(us, 0, out);
}

unsigned datetime_rfc3339_sub_us(const char *s, size_t len)
{
	unsigned ns = 0, scale = 100;
	size_t i;

	/* YYYY-MM-DDTHH:MM:SS.f...: the fraction's digits 7 to 9 */
	if (len < 21 || s[19] != '.')
		return 0;
	for (i = 20; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (i >= 26 && i < 29) {
			ns += (unsigned)(s[i] - '0') * scale;
			scale /= 10;
		}
	}
	return ns;
}

/* The n digits at s as a number, or -1 when one of them is no digit. */
static int canonical_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return -1;
		v = v * 10 + (int)d;
	}
	return v;
}

/*
 * Reads only the one shape rfc3339_chars_ns(us, 0) writes, so that a true
 * answer means the characters are canonical without formatting them again:
 * four-digit year, a valid date and time of day (no leap second), and a
 * fraction of 1 to 6 digits without trailing zeros.
 */
bool datetime_parse_canonical(const char *s, size_t len, int64_t *us)
{
	int year, month, day, hour, minute, second, micros = 0;
	size_t frac = 0;

	if (len < 20 || len > 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[len - 1] != 'Z')
		return false;
	if (len > 20) {
		frac = len - 21;
		if (s[19] != '.' || frac == 0 || s[len - 2] == '0' ||
		    (micros = canonical_digits(s + 20, (int)frac)) < 0)
			return false;
		for (size_t i = frac; i < 6; i++)
			micros *= 10;
	}
	year = canonical_digits(s, 4);
	month = canonical_digits(s + 5, 2);
	day = canonical_digits(s + 8, 2);
	hour = canonical_digits(s + 11, 2);
	minute = canonical_digits(s + 14, 2);
	second = canonical_digits(s + 17, 2);
	if (year < 0 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
		return false;
	*us = ((datetime_days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 +
		hour * 3600 + minute * 60 + second) * 1000000) + micros;
	return true;
}

static const char *const month_abbr[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const day_abbr[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

static void format_strftime(int64_t us, const char *fmt, struct buf *out)
{
	struct civil c;
	int64_t days;
	int wday;

	to_civil(us, &c);
	days = datetime_days_from_civil(c.year, c.month, c.day);
	wday = (int)(((days % 7) + 11) % 7);    /* 1970-01-01 was a Thursday */
	for (const char *f = fmt; *f; f++) {
		int width = 0;

		if (*f != '%') {
			buf_addc(out, *f);
			continue;
		}
		f++;
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		switch (*f) {
		case 'Y': buf_addf(out, "%04lld", (long long)c.year); break;
		case 'y': buf_addf(out, "%02lld", (long long)(((c.year % 100) + 100) % 100)); break;
		case 'm': buf_addf(out, "%02u", c.month); break;
		case 'd': buf_addf(out, "%02u", c.day); break;
		case 'e': buf_addf(out, "%2u", c.day); break;
		case 'H': buf_addf(out, "%02u", c.hour); break;
		case 'I': buf_addf(out, "%02u", c.hour % 12 ? c.hour % 12 : 12); break;
		case 'M': buf_addf(out, "%02u", c.minute); break;
		case 'S': buf_addf(out, "%02u", c.second); break;
		case 'p': buf_adds(out, c.hour < 12 ? "AM" : "PM"); break;
		case 'b': case 'h': buf_adds(out, month_abbr[c.month - 1]); break;
		case 'a': buf_adds(out, day_abbr[wday]); break;
		case 'j':
			buf_addf(out, "%03lld", (long long)(days - datetime_days_from_civil(c.year, 1, 1) + 1));
			break;
		case 'f': {
			char frac[16];

			snprintf(frac, sizeof(frac), "%06lld000", (long long)c.micros);
			if (width < 1 || width > 9)
				width = 9;
			buf_add(out, frac, (size_t)width);
			break;
		}
		case 'z': buf_adds(out, "+0000"); break;
		case 'Z': buf_adds(out, "UTC"); break;
		case 's': {
			int64_t s = us / 1000000 - (us % 1000000 < 0);

			buf_addf(out, "%lld", (long long)s);
			break;
		}
		case 'T': buf_addf(out, "%02u:%02u:%02u", c.hour, c.minute, c.second); break;
		case 'F':
			buf_addf(out, "%04lld-%02u-%02u", (long long)c.year, c.month, c.day);
			break;
		case '%': buf_addc(out, '%'); break;
		case '\0': f--; break;
		default: buf_addc(out, '%'); buf_addc(out, *f); break;
		}
	}
}

static void add_json_string(struct buf *out, const char *s, size_t n)
{
	buf_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf_addc(out, '\\');
			buf_addc(out, (char)c);
		} else if (c < 0x20) {
			buf_addf(out, "\\u%04x", c);
		} else {
			buf_addc(out, (char)c);
		}
	}
	buf_addc(out, '"');
}

void datetime_format_json(int64_t us, const char *output_format, struct buf *out)
{
	datetime_format_json_ns(us, 0, output_format, out);
}

void datetime_format_json_ns(int64_t us, unsigned ns, const char *output_format, struct buf *out)
{
	struct buf tmp = BUF_INIT;

	if (ns > 999)
		ns = 999;
	if (!output_format || strcmp(output_format, "rfc3339") == 0) {
		datetime_format_rfc3339_ns(us, ns, &tmp);
		add_json_string(out, tmp.data, tmp.len);
	} else if (strcmp(output_format, "unix_timestamp_secs") == 0) {
		buf_addf(out, "%lld", (long long)datetime_us_to_s(us));
	} else if (strcmp(output_format, "unix_timestamp_millis") == 0) {
		buf_addf(out, "%lld", (long long)floor_div(us, 1000));
	} else if (strcmp(output_format, "unix_timestamp_micros") == 0) {
		buf_addf(out, "%lld", (long long)us);
	} else if (strcmp(output_format, "unix_timestamp_nanos") == 0) {
		/* us is the floor of the instant in microseconds: nanos = us * 1000 + ns */
		if (us > INT64_MAX / 1000 || (us < INT64_MIN / 1000 && ns == 0))
			buf_addf(out, "%lld%03u", (long long)us, ns);
		else if (us < INT64_MIN / 1000) /* (us + 1) * 1000 - (1000 - ns), us + 1 < 0 */
			buf_addf(out, "%lld%03u", (long long)(us + 1), 1000 - ns);
		else
			buf_addf(out, "%lld", (long long)(us * 1000 + (int64_t)ns));
	} else if (strcmp(output_format, "iso8601") == 0) {
		datetime_format_rfc3339_ns(us, ns, &tmp);
		add_json_string(out, tmp.data, tmp.len);
	} else {
		format_strftime(us, output_format, &tmp);
		add_json_string(out, tmp.data, tmp.len);
	}
	buf_free(&tmp);
}
