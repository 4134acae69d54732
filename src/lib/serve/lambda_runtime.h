/*
 * lambda_runtime: the client side of the Lambda Runtime API, plain HTTP
 * to $AWS_LAMBDA_RUNTIME_API ("host:port", loopback on Lambda), through
 * libcurl (curl_api.h: dlopen'ed, or linked into the static bootstrap).
 *
 *   GET  /2018-06-01/runtime/invocation/next            (blocks for the next event)
 *   POST /2018-06-01/runtime/invocation/<id>/response
 *   POST /2018-06-01/runtime/invocation/<id>/error      (Lambda-Runtime-Function-Error-Type)
 *   POST /2018-06-01/runtime/init/error
 *
 * One handle, reused across invocations (keep-alive). Not thread-safe: the
 * Runtime API hands out one invocation at a time per process.
 */
#ifndef QW_LAMBDA_RUNTIME_H
#define QW_LAMBDA_RUNTIME_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct lambda_runtime;

/* api: "host:port". NULL with err set (EX_UNAVAILABLE: libcurl missing). */
struct lambda_runtime *lambda_runtime_new(const char *api, struct qw_err *err);
void lambda_runtime_free(struct lambda_runtime *rt);
/*
 * The next invocation: its event into event (reset first) and its request
 * id (Lambda-Runtime-Aws-Request-Id, caller frees) into *id. -1 with
 * EX_UNAVAILABLE when the Runtime API cannot be reached or answers badly.
 */
int lambda_runtime_next(struct lambda_runtime *rt, struct buf *event, char **id, struct qw_err *err);
int lambda_runtime_respond(struct lambda_runtime *rt, const char *id, const char *payload,
			   size_t len, struct qw_err *err);
/* Report an invocation's error (id) or, with id NULL, the init error; doc
 * is lambda_error_doc()'s, type its errorType. */
int lambda_runtime_error(struct lambda_runtime *rt, const char *id, const char *type,
			 const char *doc, struct qw_err *err);

#endif
