/*
 * api_es: the Elasticsearch-compatible routes under /api/v1/_elastic
 * (see http_router.h). Errors are shaped as Elasticsearch's, as Quickwit
 * sends them: {"error": {"type", "reason"}, "status": N}.
 *
 * What is served: "/" (cluster info), _cluster/health. A route that is not
 * served answers 501 with a message that says so, never an empty success.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api_internal.h"

static void es_error(struct http_response *resp, int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void es_error(struct http_response *resp, int status, const char *type, const char *fmt, ...)
{
	char msg[QW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_json(resp, status,
		 json_pack("{s:{s:[{s:s, s:s}], s:s, s:s}, s:i}", "error", "root_cause", "type",
			   type, "reason", msg, "type", type, "reason", msg, "status", status));
}

void api_es(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
	    struct http_response *resp)
{
	(void)r;
	if (nseg == 0 && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)) {
		api_json(resp, 200,
			 json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s}", "name", "qw",
				   "cluster_name", "qw-cluster", "cluster_uuid", "qw",
				   "version", "distribution", "quickwit", "number", "7.17.0",
				   "build_hash", "unknown", "lucene_version", "none", "tagline",
				   "You Know, for Search"));
		return;
	}
	if (nseg == 2 && strcmp(seg[0], "_cluster") == 0 && strcmp(seg[1], "health") == 0) {
		api_json(resp, 200, json_pack("{s:s, s:s, s:b}", "cluster_name", "qw-cluster",
					      "status", "green", "timed_out", 0));
		return;
	}
	es_error(resp, 501, "not_implemented", "%s %s is not served by qw-serve yet", req->method,
		 req->path);
}
