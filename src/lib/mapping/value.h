/*
 * value: the kinds of field values and the one rule for reading a literal
 * of each kind from text, shared by the document mapper (docmap.c: a
 * string coerced to a number, an address, a date) and the query engine
 * (search_eval.c: a term, a range bound, a set value).
 *
 * Every parser reads the WHOLE string (no leading or trailing blanks, no
 * '+', nothing after the value) and returns false when it is not a value
 * of the kind; out is untouched then. Integers are decimal and in range;
 * floats are finite (strtod syntax: "1e3", ".5", "-0"); booleans are
 * exactly "true" or "false"; addresses are IPv4 (mapped into IPv6, 16
 * bytes) or IPv6. Pure and reentrant.
 */
#ifndef QW_VALUE_H
#define QW_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum value_kind {
	VK_TEXT,
	VK_I64,
	VK_U64,
	VK_F64,
	VK_BOOL,
	VK_DATETIME,     /* microseconds since the epoch, UTC */
	VK_IP,           /* 16 bytes, IPv4 mapped into IPv6 */
	VK_BYTES,        /* base64 decoded */
};

/* "text", "i64", "u64", "f64", "bool", "datetime", "ip", "bytes": as in the config */
const char *value_kind_name(enum value_kind kind);

bool value_parse_i64(const char *s, int64_t *out);
bool value_parse_u64(const char *s, uint64_t *out);
bool value_parse_f64(const char *s, double *out);
/* value_parse_f64's syntax, a finite literal past the range of a double
 * ("1e400") saturating to +-infinity instead of failing: query bounds. */
bool value_parse_f64_saturating(const char *s, double *out);
bool value_parse_bool(const char *s, bool *out);
bool value_parse_ip(const char *s, uint8_t out[16]);

/*
 * A datetime string of len bytes (it need not be NUL-terminated) as
 * microseconds, as a document's value is read: the canonical form first
 * (an RFC 3339 UTC string exactly as datetime_format_rfc3339() writes it,
 * so that mapping is idempotent whatever the input formats), then the
 * field's input formats in order, then any RFC 3339 string.
 */
bool value_parse_datetime(char *const *formats, size_t n_formats, const char *s, size_t len,
			  int64_t *us);
/* The same, with *ns the nanoseconds below *us the text gives (datetime_parse_ns). */
bool value_parse_datetime_ns(char *const *formats, size_t n_formats, const char *s, size_t len,
			     int64_t *us, unsigned *ns);
/*
 * A datetime literal of a query (NUL-terminated): value_parse_datetime,
 * then a unix timestamp (seconds, millis, micros or nanos, as inferred for
 * documents), then the forms Quickwit's query parser accepts besides the
 * field's formats (ISO 8601, RFC 2822, "YYYY-MM-DD[ HH:MM:SS]" with '-' or '/').
 */
bool value_parse_datetime_literal(char *const *formats, size_t n_formats, const char *s,
				  int64_t *us);

#endif
