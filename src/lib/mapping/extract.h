/*
 * extract: fields out of a plain text line by a regular expression.
 *
 * A pattern is a PCRE2 regex (UTF-8, invalid bytes never match a
 * character) whose named groups are fields: (?<status>\d+) gives the field
 * "status" the text it captured, as a JSON string that the doc mapping then
 * types (a u64 field coerces "200" to 200, a datetime field parses it with
 * its input_formats). A group that took no part in the match gives no field.
 * The pattern may also be the name of a built-in one (extract_named()):
 * apache_combined (also Apache's common format), nginx_combined,
 * syslog_rfc3164 and syslog_rfc5424; their fields are listed in
 * man/qw-parse.1. Compiled with the JIT when PCRE2 has one.
 *
 * extract_new() fails (EX_DATAERR, "invalid regex at offset N: why") on a
 * pattern that does not compile or that names no group. One extract serves
 * one thread (it owns its match data).
 */
#ifndef QW_EXTRACT_H
#define QW_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct extract;

/* The regex of a built-in pattern called name, or NULL when there is none. */
const char *extract_named(const char *name);
/* The names of the built-in patterns, NULL-terminated. */
extern const char *const extract_names[];
/* Compile pattern (a regex or a built-in name). NULL with err set. */
struct extract *extract_new(const char *pattern, struct qw_err *err);
/* Compile a regex that is only matched (extract_matches), named groups or
 * not: the start of a multi-line event. */
struct extract *extract_new_plain(const char *regex, struct qw_err *err);
void extract_free(struct extract *x);
/* 1 when the regex matches in line, 0 when not, -1 with err set. */
int extract_matches(struct extract *x, const char *line, size_t len, struct qw_err *err);
/* Whether the pattern has a group called name. */
bool extract_has_field(const struct extract *x, const char *name);
/*
 * Match line (len bytes): anywhere in it unless the regex anchors itself
 * with ^ (the built-in ones do). On a match appends one JSON member
 * per captured group, each followed by a comma ("status":"200",) to out
 * and returns 1; 0 when the line does not match; -1 with err set when the
 * match itself fails (a PCRE2 resource limit).
 */
int extract_line(struct extract *x, const char *line, size_t len, struct buf *out,
		 struct qw_err *err);

#endif
