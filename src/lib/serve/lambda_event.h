/*
 * lambda_event: a Lambda invocation's event in, the router's request out;
 * the router's response in, the invocation's payload out. No I/O here
 * (lambda_runtime.h talks to the Runtime API, qw-lambda.c joins them).
 *
 * Events understood (told apart by their shape, as AWS documents them):
 *   - API Gateway REST API proxy (payload 1.0): "httpMethod", "path",
 *     "multiValueQueryStringParameters" (else "queryStringParameters"),
 *     "headers", "body", "isBase64Encoded";
 *   - API Gateway HTTP API proxy (payload 2.0) and Lambda function URLs
 *     (the same 2.0 shape; a function URL's requestContext.domainName
 *     ends in ".on.aws"): "rawPath", "rawQueryString",
 *     "requestContext.http.method", "headers", "body", "isBase64Encoded";
 *     a named stage's "/<stage>" prefix is dropped from rawPath;
 *   - a direct invocation: any other JSON object is a Quickwit search
 *     request (the body of POST /api/v1/<index>/search), its index taken
 *     from an "index_id" member (removed) or else from default_index.
 * Anything else (not JSON, not an object, a proxy event without a method
 * or path, a body that does not decode) is refused with EX_DATAERR: the
 * caller sends it to the invocation's error route.
 *
 * Proxy responses are {"statusCode", "headers", "body", "isBase64Encoded"}.
 * A body of LAMBDA_GZIP_MIN bytes or more is gzipped and base64-encoded
 * when the request accepts gzip; one that is not valid UTF-8 is base64-
 * encoded. A payload larger than Lambda's LAMBDA_PAYLOAD_MAX is never sent:
 * it becomes a 413 whose message says why (a silently cut answer would be
 * wrong). A direct invocation answers the search response itself, or, when
 * the router answered an error, an error document for the error route.
 */
#ifndef QW_LAMBDA_EVENT_H
#define QW_LAMBDA_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "serve/http_router.h"

#define LAMBDA_GZIP_MIN (64u << 10)
/* Lambda's synchronous response payload limit */
#define LAMBDA_PAYLOAD_MAX (6u << 20)

enum lambda_event_kind {
	LAMBDA_EVENT_APIGW_V1,
	LAMBDA_EVENT_APIGW_V2,
	LAMBDA_EVENT_FUNCTION_URL,
	LAMBDA_EVENT_DIRECT,
};

struct lambda_event {
	enum lambda_event_kind kind;
	struct http_request req; /* for http_router_handle(); points into this struct */
	bool accept_gzip;
	json_t *root;            /* the event: req's method and headers live in it */
	char *path;
	struct buf body;         /* the decoded body */
};

/* Parse an event of len bytes. -1 with EX_DATAERR (ev then needs no free). */
int lambda_event_parse(const char *json, size_t len, const char *default_index,
		       struct lambda_event *ev, struct qw_err *err);
void lambda_event_free(struct lambda_event *ev);
/* "apigw-v1", "apigw-v2", "function-url", "direct" */
const char *lambda_event_kind_name(enum lambda_event_kind kind);

/*
 * The payload answering ev with resp, into out (reset first). 0: send it
 * to .../response; 1: a direct invocation's error, out is an error
 * document for .../error.
 */
int lambda_response_encode(const struct lambda_event *ev, const struct http_response *resp,
			   struct buf *out);
/* The Runtime API's error document {"errorMessage": msg, "errorType": type}. */
void lambda_error_doc(const char *type, const char *msg, struct buf *out);

#endif
