/*
 * ids: the identifiers that may become parts of paths.
 *
 * Nothing derived from user input is used as a path component before it
 * passes one of these checks. Index ids follow Quickwit:
 * [a-zA-Z][a-zA-Z0-9_.-]{2,254}. Split ids are ULIDs (26 chars of
 * Crockford base32). Source ids follow the index id rule with 1..255 chars.
 */
#ifndef QW_IDS_H
#define QW_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define ULID_LEN 26

int ids_check_index(const char *id, struct qw_err *err);
int ids_check_source(const char *id, struct qw_err *err);
bool ids_is_ulid(const char *s);
/* New ULID from the wall clock and /dev/urandom; out has ULID_LEN+1 bytes. */
int ids_ulid_new(char out[ULID_LEN + 1], struct qw_err *err);
/* Fill with random bytes from getrandom(). */
int ids_random(void *p, size_t n, struct qw_err *err);

#endif
