/* value_test: the literal rules shared by documents and queries (value.h). */
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "mapping/value.h"

static void i64(const char *s, bool good, int64_t want)
{
	int64_t v = 12345;
	bool got = value_parse_i64(s, &v);

	ok(got == good && (!good || v == want), "i64 '%s' %s", s, good ? "reads" : "is refused");
}

static void u64(const char *s, bool good, uint64_t want)
{
	uint64_t v = 12345;
	bool got = value_parse_u64(s, &v);

	ok(got == good && (!good || v == want), "u64 '%s' %s", s, good ? "reads" : "is refused");
}

static void f64(const char *s, bool good, double want)
{
	double v = 0.5;
	bool got = value_parse_f64(s, &v);

	ok(got == good && (!good || v == want), "f64 '%s' %s", s, good ? "reads" : "is refused");
}

static void ip(const char *s, bool good, const char *want16)
{
	uint8_t v[16];
	bool got = value_parse_ip(s, v);

	ok(got == good && (!good || memcmp(v, want16, 16) == 0), "ip '%s' %s", s,
	   good ? "reads" : "is refused");
}

int main(void)
{
	double d = 0;
	bool b = false;
	int64_t us = 0;
	char *formats[] = { "%Y-%m-%d" };

	i64("0", true, 0);
	i64("-9223372036854775808", true, INT64_MIN);
	i64("9223372036854775807", true, INT64_MAX);
	i64("9223372036854775808", false, 0);
	i64("+5", false, 0);
	i64(" 5", false, 0);
	i64("5 ", false, 0);
	i64("5x", false, 0);
	i64("", false, 0);
	i64("1.0", false, 0);
	u64("18446744073709551615", true, UINT64_MAX);
	u64("18446744073709551616", false, 0);
	u64("-1", false, 0);
	u64("-0", false, 0);
	u64("abc", false, 0);
	f64("1e3", true, 1000);
	f64("-0.25", true, -0.25);
	f64(".5", true, 0.5);
	f64("1e400", false, 0);
	f64("inf", false, 0);
	f64("nan", false, 0);
	f64("+1", false, 0);
	ok(value_parse_f64_saturating("1e400", &d) && d > 1e308, "1e400 saturates to +inf for a bound");
	ok(value_parse_f64_saturating("-1e400", &d) && d < -1e308, "-1e400 saturates to -inf");
	ok(!value_parse_f64_saturating("inf", &d), "the word inf is no bound");
	ok(!value_parse_f64_saturating("abc", &d), "abc is no bound");
	ok(value_parse_bool("true", &b) && b, "bool true");
	ok(value_parse_bool("false", &b) && !b, "bool false");
	ok(!value_parse_bool("True", &b) && !value_parse_bool("1", &b), "bool True and 1 are refused");
	ip("10.0.0.1", true, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01");
	ip("::1", true, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01");
	ip("300.1.1.1", false, NULL);
	ip("10.0.0", false, NULL);
	ip("2001:db8::g", false, NULL);
	ip("", false, NULL);
	ok(value_parse_datetime(NULL, 0, "2024-01-01T00:00:01Z", 20, &us) && us == 1704067201000000,
	   "datetime: RFC 3339");
	ok(!value_parse_datetime(NULL, 0, "2024-01-01", 10, &us), "datetime: a date alone is no document value without its format");
	ok(value_parse_datetime(formats, 1, "2024-01-01", 10, &us) && us == 1704067200000000,
	   "datetime: the field's input format");
	ok(value_parse_datetime_literal(NULL, 0, "2024-01-01", &us) && us == 1704067200000000,
	   "datetime literal: a date alone in a query");
	ok(value_parse_datetime_literal(NULL, 0, "1704067200", &us) && us == 1704067200000000,
	   "datetime literal: unix seconds");
	ok(!value_parse_datetime_literal(NULL, 0, "yesterday", &us), "datetime literal: yesterday is refused");
	ok(strcmp(value_kind_name(VK_DATETIME), "datetime") == 0 && strcmp(value_kind_name(VK_U64), "u64") == 0,
	   "kind names as in the config");
	return tap_done();
}
