#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

/* e's code and message from fmt, then ": suffix" when suffix is not NULL. */
static int set_v(struct qw_err *e, int code, const char *suffix, const char *fmt, va_list ap)
{
	size_t n;

	if (!e)
		return -1;
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	n = strlen(e->msg);
	if (suffix)
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", suffix);
	return -1;
}

int err_set(struct qw_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_v(e, code, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int err_errno(struct qw_err *e, int code, const char *fmt, ...)
{
	const char *reason = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	set_v(e, code, reason, fmt, ap);
	va_end(ap);
	return -1;
}

int err_prefix(struct qw_err *e, const char *fmt, ...)
{
	char head[QW_ERR_MSG_MAX];
	size_t hlen, mlen;
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head) - 2, fmt, ap);
	va_end(ap);
	hlen = strlen(head);
	head[hlen++] = ':';
	head[hlen++] = ' ';
	if (hlen >= sizeof(e->msg))
		hlen = sizeof(e->msg) - 1;
	mlen = strnlen(e->msg, sizeof(e->msg) - 1);
	if (hlen + mlen >= sizeof(e->msg))
		mlen = sizeof(e->msg) - 1 - hlen;
	/* the message moves right to make room for the context in front */
	memmove(e->msg + hlen, e->msg, mlen);
	memcpy(e->msg, head, hlen);
	e->msg[hlen + mlen] = '\0';
	return -1;
}

void err_clear(struct qw_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

void err_print(const char *prog, const struct qw_err *e)
{
	fprintf(stderr, "%s: %s\n", prog, e->msg[0] ? e->msg : "unknown error");
}

void err_warn(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
