/*
 * lambda_event_fuzz: a Lambda event must parse or be refused with
 * EX_DATAERR, never crash, leak or read out of bounds; a parsed one's
 * answer (the input itself as the router's body, so large, binary and
 * non-UTF-8 bodies come up) must always encode as a JSON payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "serve/lambda_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qw_err err = QW_ERR_INIT;
	struct lambda_event ev;
	struct http_response resp = { 200, NULL, BUF_INIT };
	struct buf out = BUF_INIT;
	json_t *j;
	int rc;

	if (lambda_event_parse((const char *)data, size, "idx", &ev, &err) < 0) {
		if (err.code != 65)
			abort();
		return 0;
	}
	if (!ev.req.method || !ev.req.path || ev.req.path[0] != '/')
		abort();
	if (ev.req.body_len && !ev.req.body)
		abort();
	resp.status = size % 2 ? 200 : 404;
	/* an answer past LAMBDA_GZIP_MIN when the event asks for gzip */
	for (size_t i = 0; i < (ev.accept_gzip ? LAMBDA_GZIP_MIN / (size + 1) + 1 : 1); i++)
		buf_add(&resp.body, data, size);
	rc = lambda_response_encode(&ev, &resp, &out);
	if (rc < 0 || rc > 1 || (rc == 1 && ev.kind != LAMBDA_EVENT_DIRECT))
		abort();
	/* a proxy payload and an error document are JSON; a direct answer is the body */
	if (ev.kind != LAMBDA_EVENT_DIRECT || rc == 1) {
		/* "\u0000" is valid JSON, which jansson only reads when asked */
		j = json_loadb(out.data, out.len, JSON_ALLOW_NUL, NULL);
		if (!j)
			abort();
		json_decref(j);
	}
	buf_free(&out);
	buf_free(&resp.body);
	lambda_event_free(&ev);
	return 0;
}
