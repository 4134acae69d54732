/*
 * datetime: parsing and formatting of the datetime formats of Quickwit's
 * doc mapping: rfc3339, iso8601, rfc2822, unix_timestamp (precision
 * inferred from the number of digits, as Quickwit does: seconds up to
 * 10^10, then millis, micros, nanos), and strptime-style patterns
 * ("%Y-%m-%d %H:%M:%S", with %f/%z/%Z extensions as in Quickwit's docs).
 * All values are microseconds since the epoch, UTC, within the years 0000
 * to 9999 (a value outside does not parse: RFC 3339 could not write it
 * back).
 *
 * Rules users see (man/qw-config.5): a value without a zone or offset is
 * UTC (the default zone); %z reads +HH:MM, +HHMM, +HH or Z, %Z also a zone
 * name with a fixed offset (UTC, GMT, EST, CET, CEST, JST, ...); ISO 8601
 * takes a space or T between date and time and a fraction after "." or
 * ","; a format without a year (%b %e %H:%M:%S) gives the current UTC year,
 * or last year when that is more than a day in the future. Pure functions
 * but for the clock read for year-less dates, thread-safe, never touch the
 * process time zone.
 */
#ifndef QW_DATETIME_H
#define QW_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Parse a string with one named format ("rfc3339", "iso8601", "rfc2822",
 * "unix_timestamp" or a strptime pattern). Returns false when it does not match. */
bool datetime_parse(const char *format, const char *s, size_t len, int64_t *us);
/* The same, with *ns the nanoseconds below *us (0..999) that the text
 * gives (a fraction of more than 6 digits, a unix timestamp in nanoseconds),
 * which the doc store keeps (datetime_format_rfc3339_ns below). */
bool datetime_parse_ns(const char *format, const char *s, size_t len, int64_t *us,
		       unsigned *ns);
/* Parse a leading datetime of s (a log line) with one format; returns the
 * number of bytes it spans, 0 when s does not start with one. unix_timestamp
 * needs 9 to 19 digits here, not followed by a word character. */
size_t datetime_parse_prefix(const char *format, const char *s, size_t len, int64_t *us);
/* Whether every % directive of a strptime pattern is one the parser reads;
 * when not, *bad is the first unknown directive's letter ('\0': a '%' ends
 * the pattern). */
bool datetime_check_strptime(const char *fmt, char *bad);
/* A JSON number as unix_timestamp (precision inferred from magnitude). */
bool datetime_from_number(double v, int64_t *us);
/* A JSON integer as unix_timestamp, exactly (no double rounding of nanos):
 * *us the floor of the instant in microseconds; datetime_from_i64_ns also
 * gives *ns, the nanoseconds below it (0..999; 0 unless v is in
 * nanoseconds), which the doc store keeps (below). */
bool datetime_from_i64(int64_t v, int64_t *us);
bool datetime_from_i64_ns(int64_t v, int64_t *us, unsigned *ns);
/* Format as RFC 3339 UTC with as many sub-second digits as needed. */
void datetime_format_rfc3339(int64_t us, struct buf *out);
/* Nanoseconds: values are microseconds, but an RFC 3339 source value with
 * more than 6 fraction digits keeps its nanoseconds below the microsecond
 * (ns, 0..999) in the doc store, as Quickwit's doc store does: they are
 * read back from the stored string (datetime_rfc3339_sub_us: digits 7-9 of
 * the fraction of YYYY-MM-DDTHH:MM:SS.f..., 0 when none) and written by the
 * _ns formatters. Columns, sort values and ranges stay in microseconds. */
void datetime_format_rfc3339_ns(int64_t us, unsigned ns, struct buf *out);
unsigned datetime_rfc3339_sub_us(const char *s, size_t len);
/* The same characters into t (no NUL), their count returned. */
#define DATETIME_RFC3339_MAX 48
size_t datetime_rfc3339_chars(int64_t us, char t[DATETIME_RFC3339_MAX]);
/* Whether s (len bytes) is exactly what datetime_rfc3339_chars() writes
 * for some instant, with it in *us: the fast path for values already
 * canonical (a false answer says nothing: parse them the usual way). */
bool datetime_parse_canonical(const char *s, size_t len, int64_t *us);
/* Format in an output_format: rfc3339, unix_timestamp_secs/millis/micros/nanos,
 * or a strptime pattern. Appends a JSON value (a string or a number) to out. */
void datetime_format_json(int64_t us, const char *output_format, struct buf *out);
void datetime_format_json_ns(int64_t us, unsigned ns, const char *output_format, struct buf *out);
/* The unix second an instant in microseconds falls in: the floor, before
 * the epoch too (-1 us is second -1), without overflow at INT64_MIN. */
int64_t datetime_us_to_s(int64_t us);
/* Days since the epoch for a civil date, and back (proleptic Gregorian). */
int64_t datetime_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
