/* lambda_event: Lambda events to router requests and back (see lambda_event.h). */
#include "serve/lambda_event.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/xalloc.h"
#include "mapping/docmap.h"

const char *lambda_event_kind_name(enum lambda_event_kind kind)
{
	switch (kind) {
	case LAMBDA_EVENT_APIGW_V1:
		return "apigw-v1";
	case LAMBDA_EVENT_APIGW_V2:
		return "apigw-v2";
	case LAMBDA_EVENT_FUNCTION_URL:
		return "function-url";
	case LAMBDA_EVENT_DIRECT:
		break;
	}
	return "direct";
}

/* A string member of obj, or NULL (also when obj is not an object). */
static const char *str_member(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

/* A header's value: HTTP header names are case-insensitive, and API
 * Gateway v1 passes them as the client spelled them. */
static const char *header(const json_t *headers, const char *name)
{
	const char *k;
	json_t *v;

	if (!json_is_object(headers))
		return NULL;
	json_object_foreach((json_t *)headers, k, v) {
		if (strcasecmp(k, name) == 0 && json_is_string(v))
			return json_string_value(v);
	}
	return NULL;
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode a raw path ('+' stays '+' in a path). */
static int path_decode(const char *s, char **out, struct qw_err *err)
{
	size_t n = strlen(s), j = 0;
	char *p = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hex_val((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_val((unsigned char)s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(p);
				return err_set(err, EX_DATAERR, "event: bad escape in path '%s'", s);
			}
			p[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			p[j++] = s[i];
		}
	}
	p[j] = '\0';
	*out = p;
	return 0;
}

/* The body, base64-decoded when the event says so. */
static int take_body(struct lambda_event *ev, struct qw_err *err)
{
	json_t *b = json_object_get(ev->root, "body");

	if (!b || json_is_null(b))
		return 0;
	if (!json_is_string(b))
		return err_set(err, EX_DATAERR, "event: 'body' is not a string");
	if (json_is_true(json_object_get(ev->root, "isBase64Encoded"))) {
		if (!docmap_bytes_decode(NULL, json_string_value(b), json_string_length(b), &ev->body))
			return err_set(err, EX_DATAERR, "event: 'body' is not valid base64");
	} else {
		buf_add(&ev->body, json_string_value(b), json_string_length(b));
	}
	return 0;
}

static int params_v1(struct lambda_event *ev, struct qw_err *err)
{
	json_t *multi = json_object_get(ev->root, "multiValueQueryStringParameters");
	json_t *single = json_object_get(ev->root, "queryStringParameters");
	const char *k;
	json_t *v;

	if (json_is_object(multi)) {
		json_object_foreach(multi, k, v) {
			size_t i;
			json_t *e;

			if (!json_is_array(v))
				return err_set(err, EX_DATAERR, "event: query parameter '%s' is not a list", k);
			json_array_foreach(v, i, e) {
				if (!json_is_string(e))
					return err_set(err, EX_DATAERR, "event: query parameter '%s' is not a string", k);
				http_params_add(&ev->req.params, k, json_string_value(e));
			}
		}
	} else if (json_is_object(single)) {
		json_object_foreach(single, k, v) {
			if (!json_is_string(v))
				return err_set(err, EX_DATAERR, "event: query parameter '%s' is not a string", k);
			http_params_add(&ev->req.params, k, json_string_value(v));
		}
	}
	return 0;
}

static int parse_proxy(struct lambda_event *ev, const json_t *headers, struct qw_err *err)
{
	const json_t *ctx = json_object_get(ev->root, "requestContext");
	const char *method, *path, *ae;

	if (json_object_get(ev->root, "httpMethod")) {
		ev->kind = LAMBDA_EVENT_APIGW_V1;
		method = str_member(ev->root, "httpMethod");
		path = str_member(ev->root, "path");
		if (!method || !path)
			return err_set(err, EX_DATAERR, "event: API Gateway v1 event without 'httpMethod' or 'path'");
		if (params_v1(ev, err) < 0)
			return -1;
		ev->path = xstrdup(path);
	} else {
		const char *stage = str_member(ctx, "stage"), *domain = str_member(ctx, "domainName");
		const char *raw_query = str_member(ev->root, "rawQueryString");
		size_t dl = domain ? strlen(domain) : 0, sl;

		ev->kind = dl > 7 && strcmp(domain + dl - 7, ".on.aws") == 0 ? LAMBDA_EVENT_FUNCTION_URL
									       : LAMBDA_EVENT_APIGW_V2;
		method = str_member(json_object_get(ctx, "http"), "method");
		path = str_member(ev->root, "rawPath");
		if (!method || !path)
			return err_set(err, EX_DATAERR,
				       "event: HTTP event without 'requestContext.http.method' or 'rawPath'");
		/* a named stage prefixes rawPath with "/<stage>" */
		if (stage && strcmp(stage, "$default") != 0 && (sl = strlen(stage)) > 0 &&
		    path[0] == '/' && strncmp(path + 1, stage, sl) == 0 &&
		    (path[sl + 1] == '/' || path[sl + 1] == '\0'))
			path += sl + 1;
		if (path_decode(*path ? path : "/", &ev->path, err) < 0)
			return -1;
		if (raw_query && http_params_parse(&ev->req.params, raw_query, strlen(raw_query), err) < 0) {
			err->code = EX_DATAERR;
			return err_prefix(err, "event: rawQueryString");
		}
	}
	if (ev->path[0] != '/')
		return err_set(err, EX_DATAERR, "event: the path '%s' does not start with '/'", ev->path);
	ev->req.method = method;
	ev->req.content_type = header(headers, "content-type");
	ev->req.content_encoding = header(headers, "content-encoding");
	ae = header(headers, "accept-encoding");
	ev->accept_gzip = ae && strstr(ae, "gzip");
	return take_body(ev, err);
}

static int parse_direct(struct lambda_event *ev, const char *default_index, struct qw_err *err)
{
	json_t *id = json_object_get(ev->root, "index_id");
	const char *index = default_index;
	struct buf path = BUF_INIT;
	char *body;

	ev->kind = LAMBDA_EVENT_DIRECT;
	if (id) {
		if (!json_is_string(id))
			return err_set(err, EX_DATAERR, "event: 'index_id' is not a string");
		index = json_string_value(id);
	}
	if (!index || !*index)
		return err_set(err, EX_DATAERR,
			       "event: a direct invocation needs an 'index_id' (or QW_LAMBDA_INDEX_ID)");
	/* the router checks the id (ids_check_index) before it builds any path */
	buf_addf(&path, "/api/v1/%s/search", index);
	ev->path = buf_detach(&path, NULL);
	json_object_del(ev->root, "index_id");
	body = json_dumps(ev->root, JSON_COMPACT);
	if (!body)
		return err_set(err, EX_DATAERR, "event: cannot serialise the search request");
	buf_adds(&ev->body, body);
	free(body);
	ev->req.method = "POST";
	ev->req.content_type = "application/json";
	return 0;
}

int lambda_event_parse(const char *json, size_t len, const char *default_index,
		       struct lambda_event *ev, struct qw_err *err)
{
	json_error_t jerr;
	json_t *headers;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!ev->root)
		return err_set(err, EX_DATAERR, "event: not JSON: %s", jerr.text);
	if (!json_is_object(ev->root)) {
		err_set(err, EX_DATAERR, "event: not a JSON object");
		goto fail;
	}
	headers = json_object_get(ev->root, "headers");
	if (json_object_get(ev->root, "httpMethod") || json_object_get(ev->root, "rawPath") ||
	    json_object_get(ev->root, "requestContext"))
		rc = parse_proxy(ev, headers, err);
	else
		rc = parse_direct(ev, default_index, err);
	if (rc < 0)
		goto fail;
	ev->req.path = ev->path;
	ev->req.body = ev->body.len ? ev->body.data : NULL;
	ev->req.body_len = ev->body.len;
	return 0;
fail:
	lambda_event_free(ev);
	return -1;
}

void lambda_event_free(struct lambda_event *ev)
{
	buf_free(&ev->body);
	free(ev->path);
	http_params_free(&ev->req.params);
	json_decref(ev->root);
	memset(ev, 0, sizeof(*ev));
}

/* ---------------------------------------------------------------- responses */

static la_ssize_t gz_write(struct archive *a, void *cls, const void *p, size_t n)
{
	(void)a;
	buf_add(cls, p, n);
	return (la_ssize_t)n;
}

/* gzip data into out with libarchive's gzip filter over its raw format. */
static int gzip_buf(const char *data, size_t len, struct buf *out)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int rc = -1;

	if (!a || !e)
		goto out;
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_raw(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, out, NULL, gz_write, NULL) != ARCHIVE_OK ||
	    archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, data, len) != (la_ssize_t)len ||
	    archive_write_close(a) != ARCHIVE_OK)
		goto out;
	rc = 0;
out:
	archive_entry_free(e);
	archive_write_free(a);
	return rc;
}

void lambda_error_doc(const char *type, const char *msg, struct buf *out)
{
	json_t *j = json_pack("{s:s, s:s}", "errorMessage", msg, "errorType", type);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	buf_reset(out);
	buf_adds(out, s ? s : "{\"errorMessage\":\"out of memory\",\"errorType\":\"Runtime.Error\"}");
	free(s);
	json_decref(j);
}

/* The message of a router error body ({"message"} or ES's {"error":{"reason"}}). */
static char *error_message(const struct http_response *resp)
{
	json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
	const char *m = str_member(j, "message");
	char *s;

	if (!m)
		m = str_member(json_object_get(j, "error"), "reason");
	if (m)
		s = xstrdup(m);
	else
		s = xstrndup(resp->body.data ? resp->body.data : "", resp->body.len);
	json_decref(j);
	return s;
}

static void proxy_doc(int status, const char *ctype, const char *encoding, json_t *body,
		      bool b64, struct buf *out)
{
	json_t *h = json_pack("{s:s}", "content-type", ctype);
	json_t *doc;
	char *s;

	if (encoding)
		json_object_set_new(h, "content-encoding", json_string(encoding));
	doc = json_pack("{s:i, s:o, s:o, s:b}", "statusCode", status, "headers", h, "body", body,
			"isBase64Encoded", b64);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	buf_reset(out);
	if (s)
		buf_adds(out, s);
	free(s);
	json_decref(doc);
}

int lambda_response_encode(const struct lambda_event *ev, const struct http_response *resp,
			   struct buf *out)
{
	const char *ctype = resp->content_type ? resp->content_type : "application/json";
	const char *data = resp->body.data ? resp->body.data : "";
	size_t len = resp->body.len;
	struct buf enc = BUF_INIT, gz = BUF_INIT;
	json_t *text = NULL;

	buf_reset(out);
	if (ev->kind == LAMBDA_EVENT_DIRECT) {
		if (resp->status >= 200 && resp->status < 300) {
			buf_add(out, data, len);
		} else {
			char *m = error_message(resp);
			char type[32];

			snprintf(type, sizeof(type), "SearchError.%d", resp->status);
			lambda_error_doc(type, m, out);
			free(m);
			return 1;
		}
		goto check;
	}
	if (ev->accept_gzip && len >= LAMBDA_GZIP_MIN && gzip_buf(data, len, &gz) == 0) {
		docmap_bytes_encode(false, (const uint8_t *)gz.data, gz.len, &enc);
		proxy_doc(resp->status, ctype, "gzip", json_stringn(enc.data, enc.len), true, out);
	} else if ((text = json_stringn(data, len))) {
		proxy_doc(resp->status, ctype, NULL, text, false, out);
	} else { /* not UTF-8: base64 keeps every byte */
		docmap_bytes_encode(false, (const uint8_t *)data, len, &enc);
		proxy_doc(resp->status, ctype, NULL, json_stringn(enc.data, enc.len), true, out);
	}
	buf_free(&enc);
	buf_free(&gz);
check:
	if (out->len > LAMBDA_PAYLOAD_MAX || out->len == 0) {
		struct buf msg = BUF_INIT;
		json_t *m;
		char *s;

		if (out->len)
			buf_addf(&msg, "the response (%zu bytes as a Lambda payload) is larger than Lambda's "
				 "%u-byte limit: ask for fewer hits%s", out->len, LAMBDA_PAYLOAD_MAX,
				 ev->accept_gzip || ev->kind == LAMBDA_EVENT_DIRECT ? "" :
				 " or send Accept-Encoding: gzip");
		else
			buf_adds(&msg, "cannot encode the response");
		if (ev->kind == LAMBDA_EVENT_DIRECT) {
			lambda_error_doc("SearchError.413", buf_str(&msg), out);
			buf_free(&msg);
			return 1;
		}
		m = json_pack("{s:s}", "message", buf_str(&msg));
		s = m ? json_dumps(m, JSON_COMPACT) : NULL;
		proxy_doc(out->len ? 413 : 500, "application/json", NULL, json_string(s ? s : "{}"), false, out);
		free(s);
		json_decref(m);
		buf_free(&msg);
	}
	return 0;
}
