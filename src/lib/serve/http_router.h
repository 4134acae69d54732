/*
 * http_router: Quickwit's REST API as a function, request in, response out.
 *
 * No socket here: qw-serve (libmicrohttpd) and a Lambda handler both turn
 * what they receive into a struct http_request and send back the struct
 * http_response that http_router_handle() fills. The routes (api_*.c,
 * api_internal.h): /health/livez, /health/readyz, /api/v1/indexes (create
 * from a JSON or YAML body, list, describe, delete, clear),
 * /api/v1/<index>/search (GET query parameters or POST JSON body, as
 * qw-search's options), /api/v1/<index>/ingest, /api/v1/<index>/delete-tasks
 * (GET lists, POST creates), and the Elasticsearch-
 * compatible subset under /api/v1/_elastic (api_es.c).
 *
 * Errors are shaped as Quickwit's: a status code and {"message": "..."}
 * (Elasticsearch routes: {"error": {...}, "status": N}). A handler never
 * crashes on a request: every input is validated, index ids before any
 * path is built (ids_check_index).
 *
 * Thread safety: one struct http_router serves concurrent requests; it
 * owns only read-only settings and the per-index ingest locks. Requests
 * and responses belong to the calling thread. The caller owns req; resp is
 * filled by the router and released with http_response_free().
 */
#ifndef QW_HTTP_ROUTER_H
#define QW_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Decoded query parameters, in request order; a name may repeat. */
struct http_params {
	char **names;
	char **values;
	size_t n;
};

struct http_request {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* decoded path, no query string: "/api/v1/indexes" */
	struct http_params params;
	const char *content_type; /* NULL when absent */
	const char *content_encoding; /* "gzip": the router inflates the body; NULL: identity */
	const char *body;         /* NULL when empty; need not be NUL-terminated */
	size_t body_len;
};

struct http_response {
	int status;
	const char *content_type; /* static string */
	struct buf body;
};

struct http_router_config {
	const char *data_dir;      /* NULL: $QW_DATA_DIR or ./qwdata */
	const char *pipeline_prog; /* the qw-pipeline to run for ingests */
	unsigned search_threads;   /* splits searched in parallel per request; 0: cores */
	size_t max_body;           /* largest inflated body of a gzip request; 0: 100 MB */
};

struct http_router;

/* The router copies cfg's strings. NULL with err set on failure. */
struct http_router *http_router_new(const struct http_router_config *cfg, struct qw_err *err);
void http_router_free(struct http_router *r);
struct s3_client;
/*
 * Lend the router an S3 client for its searches of s3:// splits (NULL:
 * each search makes its own), so that the client's pooled connections
 * outlive a request: qw-lambda's warm invocations reuse them. The caller
 * keeps it and frees it after the router.
 */
void http_router_set_s3(struct http_router *r, struct s3_client *s3);
struct search_warm;
/*
 * Lend the router the state its searches keep across requests (search.h,
 * struct search_warm: the open metastore, index documents, split bytes in
 * memory). Only for a router that answers one request at a time
 * (qw-lambda); the caller frees it after the router, before the S3 client.
 */
void http_router_set_warm(struct http_router *r, struct search_warm *warm);
/* Fill resp (zero it first, or reuse a freed one) for req. Never fails: an
 * error is an error response. */
void http_router_handle(struct http_router *r, const struct http_request *req,
			struct http_response *resp);
void http_response_free(struct http_response *resp);

/* Add a decoded name/value pair (copied). */
void http_params_add(struct http_params *p, const char *name, const char *value);
/*
 * Parse a raw query string ("a=1&b=x%20y", no '?'): '+' is a space, %XX
 * decoded. -1 with EX_USAGE on a bad escape or a NUL byte.
 */
int http_params_parse(struct http_params *p, const char *raw, size_t len, struct qw_err *err);
/* The last value of name, or NULL. */
const char *http_params_get(const struct http_params *p, const char *name);
void http_params_free(struct http_params *p);

#endif
