/*
 * hit_text: a hit as one line for people (qw-search --format text), as
 * grep prints a match: the timestamp, then the chosen fields' values, or
 * else the body, or else the rest of the document as compact JSON.
 *
 * Values are separated by a space; a string is written as it is, any other
 * value as JSON; a missing field is "-". Line breaks and other control
 * characters in a value are written as \n, \r, \t, \xHH, so that one hit is
 * always one line (a multi-line event stays greppable). Fields are dotted
 * paths into the document ("attrs.color").
 */
#ifndef QW_HIT_TEXT_H
#define QW_HIT_TEXT_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"

struct hit_text {
	const char *ts_field;             /* NULL: no timestamp column */
	const char *body_field;           /* "body" when NULL */
	const char *const *fields;        /* --fields, or NULL */
	size_t n_fields;
};

/* Append the line of hit, without the final newline. */
void hit_text_line(const struct hit_text *t, json_t *hit, struct buf *out);

#endif
