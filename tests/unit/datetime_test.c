/* datetime: expected values computed with `date -u -d ... +%s` (GNU date). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "mapping/datetime.h"
#include "tap.h"

static void parses(const char *fmt, const char *s, int64_t want, const char *what)
{
	int64_t us = 0;
	bool r = datetime_parse(fmt, s, strlen(s), &us);

	if (!ok(r && us == want, "%s: %s '%s'", what, fmt, s))
		tap_diag("got %d %lld, want %lld", r, (long long)us, (long long)want);
}

static void rejects(const char *fmt, const char *s, const char *what)
{
	int64_t us = 0;

	ok(!datetime_parse(fmt, s, strlen(s), &us), "%s: %s rejects '%s'", what, fmt, s);
}

static void formats(int64_t us, const char *want)
{
	struct buf b = BUF_INIT;

	datetime_format_rfc3339(us, &b);
	if (!ok(strcmp(b.data, want) == 0, "rfc3339 of %lld is %s", (long long)us, want))
		tap_diag("got %s", b.data);
	buf_free(&b);
}

static void formats_json(int64_t us, const char *fmt, const char *want)
{
	struct buf b = BUF_INIT;

	datetime_format_json(us, fmt, &b);
	if (!ok(strcmp(b.data, want) == 0, "%s of %lld is %s", fmt, (long long)us, want))
		tap_diag("got %s", b.data);
	buf_free(&b);
}

/*
 * datetime_parse_canonical() against its oracle, the formatter: every
 * instant's canonical string reads back as that instant, and a string it
 * accepts (canonical strings with one byte changed, most of them not) is
 * one the formatter writes and the rfc3339 parser reads the same way.
 */
static void canonical_agrees(void)
{
	int64_t scratch_us;
	const char alphabet[] = "0123456789-T:.Zz +";
	uint64_t x = 88172645463325252u;
	int wrong = 0, accepted = 0, mutants = 0;

	for (int i = 0; i < 20000; i++) {
		char t[DATETIME_RFC3339_MAX], m[DATETIME_RFC3339_MAX], again[DATETIME_RFC3339_MAX];
		int64_t us, got = 0, parsed = 0;
		size_t n;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* years 0000 to 9999; every third with a whole second, every third in millis */
		us = (int64_t)(x % 315537897600000000u) - 62167219200000000;
		if (i % 3 == 0)
			us -= us % 1000000 + (us % 1000000 < 0 ? 1000000 : 0);
		else if (i % 3 == 1)
			us -= us % 1000 + (us % 1000 < 0 ? 1000 : 0);
		n = datetime_rfc3339_chars(us, t);
		if (!datetime_parse_canonical(t, n, &got) || got != us)
			wrong++;
		memcpy(m, t, n);
		m[x % n] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
		if (memcmp(m, t, n) == 0)
			continue;
		mutants++;
		if (!datetime_parse_canonical(m, n, &got))
			continue;
		accepted++;
		if (datetime_rfc3339_chars(got, again) != n || memcmp(again, m, n) != 0 ||
		    !datetime_parse("rfc3339", m, n, &parsed) || parsed != got)
			wrong++;
	}
	ok(wrong == 0 && accepted > 0 && accepted < mutants,
	   "canonical rfc3339 fast path agrees with the formatter (%d of %d changed strings taken)",
	   accepted, mutants);
	ok(!datetime_parse_canonical("2020-06-10T02:50:56.500Z", 24, &scratch_us) &&
	   !datetime_parse_canonical("2020-06-10T02:50:60Z", 20, &scratch_us) &&
	   !datetime_parse_canonical("2023-02-29T12:00:00Z", 20, &scratch_us) &&
	   !datetime_parse_canonical("2020-06-10T02:50:56.Z", 21, &scratch_us) &&
	   !datetime_parse_canonical("2020-06-10T02:50:56.1234567Z", 28, &scratch_us) &&
	   !datetime_parse_canonical("2020-06-10t02:50:56Z", 20, &scratch_us),
	   "canonical rfc3339 fast path refuses trailing zeros, second 60, 29 February 2023, "
	   "an empty or 7-digit fraction, a lower-case t");
}

int main(void)
{
	int64_t us;
	const int64_t S = 1000000;

	parses("rfc3339", "2020-06-10T02:50:56.537Z", 1591757456 * S + 537000, "millis");
	parses("rfc3339", "2020-06-10T02:50:56Z", 1591757456 * S, "no fraction");
	parses("rfc3339", "2020-06-10t02:50:56z", 1591757456 * S, "lower case t and z");
	parses("rfc3339", "2003-07-01T10:52:37+02:00", 1057049557 * S, "positive offset");
	parses("rfc3339", "2003-07-01T06:52:37.000001-02:00", 1057049557 * S + 1, "negative offset, micros");
	parses("rfc3339", "2020-06-10T02:50:56.123456789Z", 1591757456 * S + 123456, "nanos truncate to micros");
	parses("rfc3339", "1969-12-31T23:59:59Z", -1 * S, "before the epoch");
	parses("rfc3339", "2024-02-29T12:00:00Z", 1709208000 * S, "leap day");
	parses("rfc3339", "0001-01-01T00:00:00Z", -62135596800 * S, "year 1");
	parses("rfc3339", "9999-12-31T23:59:59Z", 253402300799 * S, "year 9999");
	rejects("rfc3339", "2023-02-29T12:00:00Z", "not a leap year");
	rejects("rfc3339", "2020-06-10T02:50:56", "offset required");
	rejects("rfc3339", "2020-06-10", "time required");
	rejects("rfc3339", "2020-13-10T02:50:56Z", "month 13");
	rejects("rfc3339", "2020-06-10T24:00:00Z", "hour 24");
	rejects("rfc3339", "2020-06-10T02:50:56Zjunk", "trailing garbage");
	rejects("rfc3339", "", "empty");

	parses("iso8601", "2020-06-10", 1591747200 * S, "date only");
	parses("iso8601", "2020-06-10T02:50:56", 1591757456 * S, "no offset is UTC");
	parses("iso8601", "20200610T025056Z", 1591757456 * S, "basic form");
	parses("iso8601", "2020-06-10T02:50", 1591757400 * S, "no seconds");
	parses("iso8601", "2020-06-10T04:50:56,5+0200", 1591757456 * S + 500000, "comma fraction, +HHMM");
	rejects("iso8601", "2020/06/10", "slashes");

	parses("rfc2822", "Tue, 1 Jul 2003 10:52:37 +0200", 1057049557 * S, "with weekday");
	parses("rfc2822", "1 Jul 2003 08:52:37 GMT", 1057049557 * S, "GMT, no weekday");
	parses("rfc2822", "Tue, 01 Jul 2003 04:52:37 EDT", 1057049557 * S, "EDT");
	rejects("rfc2822", "Tue, 1 Jul 2003 10:52:37", "zone required");

	parses("unix_timestamp", "1591757456", 1591757456 * S, "seconds");
	parses("unix_timestamp", "1591757456537", 1591757456537000LL, "millis inferred");
	parses("unix_timestamp", "1591757456537123", 1591757456537123LL, "micros inferred");
	parses("unix_timestamp", "1591757456537123456", 1591757456537123LL, "nanos inferred");
	parses("unix_timestamp", "1591757456.5", 1591757456 * S + 500000, "fractional seconds");
	parses("unix_timestamp", "-1", -1 * S, "negative");
	rejects("unix_timestamp", "12ab", "not a number");
	rejects("unix_timestamp", "", "empty");
	ok(datetime_from_number(1591757456.0, &us) && us == 1591757456 * S, "number: seconds");
	ok(datetime_from_number(1591757456537.0, &us) && us == 1591757456537000LL, "number: millis");
	ok(datetime_from_number(1591757456.25, &us) && us == 1591757456250000LL, "number: fractional seconds");
	ok(!datetime_from_number(1e300, &us), "number: out of range");
	/* years 0000 to 9999 only: a canonical (RFC 3339) value must parse again */
	ok(!datetime_from_number(544444444444444444440.0, &us), "number: year 19222 is out of range");
	ok(datetime_from_number(253402300799.0 * 1e9, &us) && us / S == 253402300799LL,
	   "number: 9999-12-31T23:59:59 in nanos is in range");
	ok(!datetime_from_number(253402300800.0 * 1e9, &us), "number: 10000-01-01 in nanos is out of range");
	{
		unsigned ns;

		ok(datetime_from_i64_ns(1420898400000000001LL, &us, &ns) && us == 1420898400 * S &&
		   ns == 1, "i64 nanos: the nanosecond below the microsecond kept");
		ok(datetime_from_i64_ns(-1420898400000000001LL, &us, &ns) &&
		   us == -1420898400 * S - 1 && ns == 999, "i64 nanos before 1970: floored");
		ok(datetime_from_i64_ns(INT64_MIN + 2, &us, &ns) && us == INT64_MIN / 1000 - 1 &&
		   ns == 194, "i64 nanos near INT64_MIN: no overflow");
		ok(datetime_from_i64_ns(1420898400123456LL, &us, &ns) && ns == 0,
		   "i64 micros: no nanoseconds");
	}
	ok(!datetime_from_number(-62167219201.0 * 1e9, &us), "number: before 0000-01-01 is out of range");
	parses("rfc3339", "0000-01-01T00:00:00Z", -62167219200LL * S, "rfc3339 year 0");
	rejects("rfc3339", "9999-12-31T23:00:00-05:00", "rfc3339 that is year 10000 in UTC");
	rejects("unix_timestamp", "544444444444444444440.0", "unix_timestamp of year 19222");
	rejects("%Y-%m-%d", "-0001-01-01", "strptime before year 0");

	parses("%Y-%m-%d %H:%M:%S", "2015-10-18 18:01:47", 1445191307 * S, "strptime basic");
	parses("%Y-%m-%d %H:%M:%S,%f", "2015-10-18 18:01:47,978", 1445191307 * S + 978000, "comma millis (Hadoop)");
	parses("%Y-%m-%d %H:%M:%S.%3f", "2015-10-18 18:01:47.978", 1445191307 * S + 978000, "%3f");
	rejects("%Y-%m-%d %H:%M:%S.%3f", "2015-10-18 18:01:47.97", "%3f needs 3 digits");
	parses("%y%m%d %H%M%S", "151018 180147", 1445191307 * S, "YYMMDD HHMMSS (HDFS)");
	parses("%y/%m/%d %H:%M:%S", "15/10/18 18:01:47", 1445191307 * S, "YY/MM/DD (Spark)");
	parses("%Y%m%d-%H:%M:%S:%f", "20151018-18:01:47:978", 1445191307 * S + 978000, "HealthApp");
	parses("[%a %b %d %H:%M:%S %Y]", "[Sun Dec 04 04:47:44 2005]", 1133671664 * S, "Apache");
	parses("%d/%b/%Y:%H:%M:%S %z", "04/Dec/2005:06:47:44 +0200", 1133671664 * S, "nginx with offset");
	parses("%Y-%m-%dT%H:%M:%S%z", "2005-12-04T04:47:44Z", 1133671664 * S, "%z accepts Z");
	parses("%Y-%m-%d %I:%M:%S %p", "2005-12-04 04:47:44 AM", 1133671664 * S, "12-hour clock AM");
	parses("%Y-%m-%d %I:%M:%S %p", "2005-12-04 04:47:44 PM", (1133671664 + 12 * 3600) * S, "12-hour clock PM");
	parses("%s", "1133671664", 1133671664 * S, "%s");
	parses("%F %T", "2005-12-04 04:47:44", 1133671664 * S, "%F %T");
	parses("%Y %j", "2005 338", 1133654400 * S, "day of year");
	rejects("%Y-%m-%d", "2005-12-04 extra", "trailing text");
	rejects("%Y-%m-%d", "2005-12", "missing day");
	rejects("%Q", "x", "unknown directive");
	parses("%Y-%m-%d %H:%M:%S %Z", "2005-12-04 05:47:44 CET", 1133671664 * S, "%Z named zone CET");
	parses("%Y-%m-%d %H:%M:%S %Z", "2005-12-03 23:47:44 EST", 1133671664 * S, "%Z named zone EST");
	parses("%Y-%m-%d %H:%M:%S %Z", "2005-12-04 13:47:44 JST", 1133671664 * S, "%Z named zone JST");
	parses("%Y-%m-%d %H:%M:%S %Z", "2005-12-04 06:47:44 +02:00", 1133671664 * S, "%Z offset");
	rejects("%Y-%m-%d %H:%M:%S %Z", "2005-12-04 05:47:44 CETX", "%Z: a zone name is a whole word");
	parses("iso8601", "2015-10-18 18:01:47,978", 1445191307 * S + 978000, "iso8601 space and comma");
	{
		char bad = 'x';

		ok(datetime_check_strptime("%Y-%m-%d %H:%M:%S,%3f %z %%", &bad), "known directives pass");
		ok(!datetime_check_strptime("%Y-%m-%d %Q", &bad) && bad == 'Q', "%%Q is refused");
		ok(!datetime_check_strptime("%Y %", &bad) && bad == '\0', "a lone %% is refused");
	}
	{
		/* year-less: this year unless more than a day ahead, then last year */
		time_t now = time(NULL);
		struct tm tm, ahead, behind;
		time_t t_ahead = now + 10 * 86400, t_behind = now - 10 * 86400;
		char a[32], b[32];
		int64_t got = 0;

		gmtime_r(&now, &tm);
		gmtime_r(&t_ahead, &ahead);
		gmtime_r(&t_behind, &behind);
		strftime(a, sizeof(a), "%m-%d %H:%M:%S", &ahead);
		strftime(b, sizeof(b), "%m-%d %H:%M:%S", &behind);
		/* 10 days ahead: last year (this year when that crosses New Year) */
		{
			int64_t y = tm.tm_year + 1900 - (ahead.tm_year == tm.tm_year ? 1 : 0);
			int64_t want = (datetime_days_from_civil(y, (unsigned)ahead.tm_mon + 1,
								 (unsigned)ahead.tm_mday) * 86400 +
					ahead.tm_hour * 3600 + ahead.tm_min * 60 + ahead.tm_sec) * S;

			ok(datetime_parse("%m-%d %H:%M:%S", a, strlen(a), &got) && got == want,
			   "10 days ahead without a year is last year");
		}
		/* 10 days ago: that very date (last year's when it crosses New Year) */
		ok(datetime_parse("%m-%d %H:%M:%S", b, strlen(b), &got) && got == (int64_t)t_behind * S,
		   "10 days ago without a year is that date");
	}

	{
		struct { const char *fmt, *line; size_t want_len; int64_t want; } pc[] = {
			{ "%Y-%m-%d %H:%M:%S,%f", "2015-10-18 18:01:47,978 INFO [main]", 23, 1445191307 * S + 978000 },
			{ "rfc3339", "2020-06-10T02:50:56Z GET /", 20, 1591757456 * S },
			{ "iso8601", "2020-06-10 rest", 10, 1591747200 * S },
			{ "unix_timestamp", "1117838570 2005.06.03 R02", 10, 1117838570 * S },
			{ "[%a %b %d %H:%M:%S %Y]", "[Sun Dec 04 04:47:44 2005] [notice]", 26, 1133671664 * S },
		};
		const char *no[][2] = {
			{ "unix_timestamp", "081109 203615 148 INFO" },   /* too few digits for an epoch */
			{ "unix_timestamp", "1117838570abc" },
			{ "%Y-%m-%d", "Oct 18 2015" },
			{ "rfc3339", "" },
		};

		for (size_t i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
			int64_t got = 0;
			size_t n = datetime_parse_prefix(pc[i].fmt, pc[i].line, strlen(pc[i].line), &got);

			if (!ok(n == pc[i].want_len && got == pc[i].want, "prefix %s of '%s'", pc[i].fmt, pc[i].line))
				tap_diag("got %zu %lld", n, (long long)got);
		}
		for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
			int64_t got;

			ok(datetime_parse_prefix(no[i][0], no[i][1], strlen(no[i][1]), &got) == 0,
			   "no prefix %s in '%s'", no[i][0], no[i][1]);
		}
	}
	formats(1591757456 * S + 537000, "2020-06-10T02:50:56.537Z");
	formats(1591757456 * S, "2020-06-10T02:50:56Z");
	formats(1591757456 * S + 1, "2020-06-10T02:50:56.000001Z");
	formats(1591757456 * S + 500000, "2020-06-10T02:50:56.5Z");
	formats(-1, "1969-12-31T23:59:59.999999Z");
	formats(-62135596800 * S, "0001-01-01T00:00:00Z");
	{
		struct buf b = BUF_INIT;
		int64_t back = 0;

		datetime_format_rfc3339(-1234567891, &b);
		ok(datetime_parse("rfc3339", b.data, b.len, &back) && back == -1234567891,
		   "format then parse round-trips before the epoch");
		buf_free(&b);
	}
	formats_json(1591757456 * S + 537000, "rfc3339", "\"2020-06-10T02:50:56.537Z\"");
	formats_json(1591757456 * S + 537000, "unix_timestamp_secs", "1591757456");
	formats_json(1591757456 * S + 537000, "unix_timestamp_millis", "1591757456537");
	formats_json(1591757456 * S + 537000, "unix_timestamp_micros", "1591757456537000");
	formats_json(1591757456 * S + 537000, "unix_timestamp_nanos", "1591757456537000000");
	formats_json(1133671664 * S, "%Y-%m-%d %H:%M:%S", "\"2005-12-04 04:47:44\"");
	formats_json(1133671664 * S, "%a %b %e", "\"Sun Dec  4\"");
	/* the nanoseconds below the microsecond of what the text gives */
	{
		unsigned ns = 99;

		ok(datetime_parse_ns("%Y-%m-%d %H:%M:%S.%f", "2015-01-10 14:00:00.123456789", 29, &us, &ns) &&
		   us == 1420898400 * S + 123456 && ns == 789, "strptime %%f of 9 digits keeps the nanoseconds");
		ok(datetime_parse_ns("iso8601", "2015-01-10T14:00:00,000000001", 29, &us, &ns) &&
		   us == 1420898400 * S && ns == 1, "iso8601 comma fraction of 9 digits");
		ok(datetime_parse_ns("unix_timestamp", "1420898400000000001", 19, &us, &ns) &&
		   us == 1420898400 * S && ns == 1, "a unix nanos string");
		ok(datetime_parse_ns("unix_timestamp", "1420898400.123456789", 20, &us, &ns) &&
		   us == 1420898400 * S + 123456 && ns == 789, "unix seconds with 9 fraction digits, exactly");
		ok(datetime_parse_ns("unix_timestamp", "-1.000000001", 12, &us, &ns) && us == -1000001 &&
		   ns == 999, "before the epoch: the floor and the nanoseconds up from it");
		ok(datetime_parse_ns("rfc3339", "2015-01-10T14:00:00.5Z", 22, &us, &ns) &&
		   us == 1420898400 * S + 500000 && ns == 0, "no nanoseconds below a tenth");
		ok(datetime_parse("%Y-%m-%d %H:%M:%S.%f", "2015-01-10 14:00:00.123456789", 29, &us) &&
		   us == 1420898400 * S + 123456, "datetime_parse: the microsecond floor");
	}
	/* nanoseconds below the microsecond kept from an RFC 3339 string (the doc store's) */
	ok(datetime_rfc3339_sub_us("2015-01-10T14:00:00.000000001Z", 30) == 1, "sub-us nanos of .000000001");
	ok(datetime_rfc3339_sub_us("2015-01-10T14:00:00.1234567Z", 28) == 700, "sub-us nanos of 7 digits");
	ok(datetime_rfc3339_sub_us("2015-01-10T14:00:00.123456Z", 27) == 0, "no sub-us nanos in micros");
	ok(datetime_rfc3339_sub_us("2015-01-10T14:00:00Z", 20) == 0, "no sub-us nanos without fraction");
	{
		struct buf b = BUF_INIT;

		datetime_format_rfc3339_ns(1420898400 * S, 1, &b);
		ok(strcmp(b.data, "2015-01-10T14:00:00.000000001Z") == 0, "rfc3339 with nanos");
		buf_reset(&b);
		datetime_format_rfc3339_ns(1420898400 * S + 123456, 780, &b);
		ok(strcmp(b.data, "2015-01-10T14:00:00.12345678Z") == 0, "rfc3339 nanos, trailing zeros cut");
		buf_reset(&b);
		datetime_format_json_ns(1420898400 * S + 5, 7, "unix_timestamp_nanos", &b);
		ok(strcmp(b.data, "1420898400000005007") == 0, "unix_timestamp_nanos with nanos");
		buf_reset(&b);
		datetime_format_json_ns(-1, 5, "unix_timestamp_nanos", &b);
		ok(strcmp(b.data, "-995") == 0, "unix_timestamp_nanos before the epoch");
		buf_reset(&b);
		/* below INT64_MIN nanos (year 1677): written without overflow */
		datetime_format_json_ns(-62135596800 * S, 5, "unix_timestamp_nanos", &b);
		ok(strcmp(b.data, "-62135596799999999995") == 0, "unix_timestamp_nanos of year 1");
		buf_free(&b);
	}
	ok(datetime_us_to_s(0) == 0 && datetime_us_to_s(999999) == 0 && datetime_us_to_s(-1) == -1 &&
	   datetime_us_to_s(-1000000) == -1 && datetime_us_to_s(-1000001) == -2 &&
	   datetime_us_to_s(INT64_MIN) == -9223372036855LL, "microseconds to the floor second");
	ok(datetime_days_from_civil(1970, 1, 1) == 0 && datetime_days_from_civil(2000, 3, 1) == 11017,
	   "days from civil");
	canonical_agrees();
	return tap_done();
}
