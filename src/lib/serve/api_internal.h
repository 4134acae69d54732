/*
 * api_internal: what the route handlers of http_router share (private).
 *
 * Each handler gets the router, the request and the path segments after
 * its prefix, fills resp and returns nothing: errors become responses
 * through api_error()/api_error_from(). Handlers run concurrently.
 */
#ifndef QW_API_INTERNAL_H
#define QW_API_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include <jansson.h>

#include "serve/es_scroll.h"
#include "serve/http_router.h"

/*
 * The ingest state of the indexes whose id hashes to one slot. Bodies are
 * appended under append_lock; qw-pipeline runs under run_lock (with
 * --growing: a body it sees half-written is left for the next run), and a run
 * covers every body appended before it started: an ingest whose bytes a
 * run already covered (same file, covered >= its end) answers without a
 * run of its own (group commit). The covered fields are read and written
 * under run_lock; every body that ends before covered was read whole by a
 * published run (covered may lag behind the checkpoint; it may pass it
 * only by the torn end of an append that failed, which no one waits for).
 */
#define API_INGEST_SLOTS 64

struct api_ingest_slot {
	pthread_mutex_t append_lock;
	pthread_mutex_t run_lock;
	char index_id[256];      /* "" when nothing is covered */
	dev_t dev;
	ino_t ino;
	off_t covered;
};

struct http_router {
	char *data_dir;      /* NULL: prog_data_dir default */
	char *pipeline_prog;
	unsigned search_threads;
	size_t max_body;
	struct api_ingest_slot ingest[API_INGEST_SLOTS];
	struct es_scroll *scrolls; /* the live Elasticsearch scrolls (api_es.c) */
	struct s3_client *s3;      /* borrowed, for searches (http_router_set_s3); NULL: their own */
	struct search_warm *warm;  /* borrowed, for searches (http_router_set_warm); NULL: none */
};

/* The data dir to open: the configured one or the default. */
const char *api_data_dir(const struct http_router *r);

/* resp = status + json (stolen reference, may be NULL: "{}"). */
void api_json(struct http_response *resp, int status, json_t *json);
/* Quickwit's error shape: status + {"message": "..."}. */
void api_error(struct http_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The HTTP status for a sysexits code (404 no such index, 400 bad request...). */
int api_status_of(int code);
void api_error_from(struct http_response *resp, const struct qw_err *err);
/* The request body as JSON (object expected); NULL with resp filled (400). */
json_t *api_body_json(const struct http_request *req, struct http_response *resp);
/* The first key of obj that is not in known (NULL-terminated), NULL if none: a parameter not served. */
const char *api_unknown_key(json_t *obj, const char *const *known);
struct strlist;
/* Each plain index id of indexes (not a '*' pattern; a leading '-' excludes) must be valid. */
int api_check_index_patterns(const struct strlist *indexes, struct qw_err *err);

/* /api/v1/indexes[/ID[/clear|/describe|/splits]] : seg[0..nseg) after "indexes". */
void api_indexes(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
		 struct http_response *resp);
/* /api/v1/<index>/search */
void api_search(struct http_router *r, const struct http_request *req, const char *index_expr,
		struct http_response *resp);
/* /api/v1/<index>/delete-tasks: POST creates one (lifecycle/delete_task.h), GET lists them */
void api_delete_tasks(struct http_router *r, const struct http_request *req, const char *index_id,
		      struct http_response *resp);
/* /api/v1/<index>/ingest */
void api_ingest(struct http_router *r, const struct http_request *req, const char *index_id,
		struct http_response *resp);
/*
 * Append an NDJSON body to the index's write-ahead file (fsync) and index
 * it (qw-pipeline --once); the caller checked that the index exists.
 */
int api_ingest_body(struct http_router *r, const char *index_id, const char *body, size_t len,
		    struct qw_err *err);
/* The HTTP status of an api_ingest_body() failure. */
int api_ingest_status(const struct qw_err *err);
/* Remove the ingest write-ahead file of an index (delete, clear). */
int api_ingest_forget(struct http_router *r, const char *index_id, struct qw_err *err);
/* /api/v1/templates[/ID] (api_templates.c). */
void api_templates(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
		   struct http_response *resp);
struct metastore;
/*
 * Create index_id from the stored template that matches it (highest
 * priority): 1 created (or created meanwhile by another request), 0 no
 * template matches, -1 with err.
 */
int api_template_create_index(struct http_router *r, struct metastore *ms, const char *index_id,
			      struct qw_err *err);
/* /api/v1/_elastic[/...] : seg after "_elastic". */
void api_es(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
	    struct http_response *resp);

#endif
