/*
 * err: how errors flow up in libqw.
 *
 * Deep code never prints. A function that can fail takes a struct qw_err *
 * (may be NULL when the caller does not care), fills it with a sysexits
 * code and a message that says what failed and why, and returns -1 (or
 * NULL). Callers may add context in front with err_prefix(). Only a
 * program's main() prints, once, as "qw-x: message".
 */
#ifndef QW_ERR_H
#define QW_ERR_H

#include <sysexits.h>

#define QW_ERR_MSG_MAX 1024

struct qw_err {
	int code;                  /* sysexits code, 0 when no error */
	char msg[QW_ERR_MSG_MAX];
};

#define QW_ERR_INIT { 0, { 0 } }

/* Set code and message; returns -1 so callers can "return err_set(...)". */
int err_set(struct qw_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like err_set, appending ": strerror(errno)" with the errno at entry. */
int err_errno(struct qw_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Put "context: " in front of the message already set. Returns -1. */
int err_prefix(struct qw_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct qw_err *e);
/* Print "prog: msg" on stderr. */
void err_print(const char *prog, const struct qw_err *e);
/* Print "prog: formatted message" on stderr (for mains). */
void err_warn(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
