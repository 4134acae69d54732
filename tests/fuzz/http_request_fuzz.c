/*
 * http_request_fuzz: request parsing must never crash, leak or read out of
 * bounds. The first byte picks the parser:
 *   0: a raw query string (http_params_parse);
 *   1: an Elasticsearch query DSL object (es_dsl_to_query), whose output
 *      must then parse as a query string: the translation never emits a
 *      query the parser refuses;
 *   2: a whole request to the router, "METHOD\nPATH\nQUERY\nBODY" (bulk
 *      NDJSON, msearch, search bodies...), over a data dir under /proc
 *      that cannot exist, so nothing is ever written.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "serve/es_dsl.h"
#include "serve/http_router.h"
#include "search/query.h"
#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_params(const char *s, size_t n)
{
	struct http_params p = { NULL, NULL, 0 };
	struct qw_err err = QW_ERR_INIT;

	if (http_params_parse(&p, s, n, &err) < 0 && err.code != 64)
		abort();
	http_params_free(&p);
}

static void fuzz_dsl(const char *s, size_t n)
{
	struct qw_err err = QW_ERR_INIT;
	struct buf out = BUF_INIT;
	json_t *fields = NULL, *q = json_loadb(s, n, 0, NULL);

	if (q && json_is_object(q)) {
		if (es_dsl_to_query(q, &out, &fields, &err) == 0) {
			struct query_node *node;

			/* query_string passes its text through: only check what es_dsl built */
			if (!memmem(s, n, "query_string", 12)) {
				node = query_parse(buf_str(&out), &err);
				if (!node)
					abort();
				query_free(node);
			}
		} else if (err.code != 64) {
			abort();
		}
	}
	json_decref(fields);
	json_decref(q);
	buf_free(&out);
}

static void fuzz_router(const char *s, size_t n)
{
	static const struct http_router_config cfg = { "/proc/qw-fuzz-none", "/bin/false", 1, 1 << 20 };
	const char *parts[3] = { "GET", "/", "" };
	struct http_response resp = { 0, NULL, BUF_INIT };
	struct http_request req;
	struct http_router *r;
	struct qw_err err = QW_ERR_INIT;
	char *copy = xmalloc(n + 1), *p = copy;
	size_t i;

	memcpy(copy, s, n);
	copy[n] = '\0';
	for (i = 0; i < 3; i++) {
		char *nl = memchr(p, '\n', (size_t)(copy + n - p));

		if (!nl)
			break;
		*nl = '\0';
		parts[i] = p;
		p = nl + 1;
	}
	memset(&req, 0, sizeof(req));
	req.method = parts[0];
	req.path = parts[1];
	req.body = p;
	req.body_len = (size_t)(copy + n - p);
	r = http_router_new(&cfg, &err);
	if (!r)
		abort();
	if (http_params_parse(&req.params, parts[2], strlen(parts[2]), &err) == 0) {
		json_t *body;

		http_router_handle(r, &req, &resp);
		body = json_loads(buf_str(&resp.body), JSON_DECODE_ANY, NULL);
		/* every answer is a status and a JSON body */
		if (resp.status < 200 || resp.status > 599 || !body)
			abort();
		json_decref(body);
	}
	http_response_free(&resp);
	http_params_free(&req.params);
	http_router_free(r);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_params((const char *)data + 1, size - 1);
		break;
	case 1:
		fuzz_dsl((const char *)data + 1, size - 1);
		break;
	default:
		fuzz_router((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
