/*
 * http_router: dispatch of a request to its route (see http_router.h), the
 * query-parameter codec and the response helpers every api_*.c uses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <archive.h>

#include "serve/api_internal.h"
#include "mapping/config.h"
#include "mapping/docmap.h"
#include "app/prog.h"
#include "base/ids.h"
#include "base/strlist.h"
#include "base/xalloc.h"

/* No path this API serves has more segments than this. */
#define MAX_SEGMENTS 16

struct http_router *http_router_new(const struct http_router_config *cfg, struct qw_err *err)
{
	struct http_router *r = xcalloc(1, sizeof(*r));
	size_t i;

	r->data_dir = cfg->data_dir ? xstrdup(cfg->data_dir) : NULL;
	r->pipeline_prog = xstrdup(cfg->pipeline_prog ? cfg->pipeline_prog : "qw-pipeline");
	r->search_threads = cfg->search_threads;
	r->max_body = cfg->max_body ? cfg->max_body : (size_t)100 << 20;
	for (i = 0; i < API_INGEST_SLOTS; i++) {
		if (pthread_mutex_init(&r->ingest[i].append_lock, NULL) != 0 ||
		    pthread_mutex_init(&r->ingest[i].run_lock, NULL) != 0) {
			/* a half-initialized slot: only glibc-style static mutexes left to skip */
			while (i-- > 0) {
				pthread_mutex_destroy(&r->ingest[i].run_lock);
				pthread_mutex_destroy(&r->ingest[i].append_lock);
			}
			free(r->pipeline_prog);
			free(r->data_dir);
			free(r);
			err_set(err, EX_OSERR, "cannot create the ingest locks");
			return NULL;
		}
	}
	r->scrolls = es_scroll_new(ES_SCROLL_CAPACITY, err);
	if (!r->scrolls) {
		http_router_free(r);
		return NULL;
	}
	return r;
}

void http_router_free(struct http_router *r)
{
	size_t i;

	if (!r)
		return;
	es_scroll_free(r->scrolls);
	for (i = 0; i < API_INGEST_SLOTS; i++) {
		pthread_mutex_destroy(&r->ingest[i].run_lock);
		pthread_mutex_destroy(&r->ingest[i].append_lock);
	}
	free(r->pipeline_prog);
	free(r->data_dir);
	free(r);
}

void http_router_set_s3(struct http_router *r, struct s3_client *s3)
{
	r->s3 = s3;
}

void http_router_set_warm(struct http_router *r, struct search_warm *warm)
{
	r->warm = warm;
}

const char *api_data_dir(const struct http_router *r)
{
	return prog_data_dir(r->data_dir);
}

void http_response_free(struct http_response *resp)
{
	buf_free(&resp->body);
	resp->status = 0;
	resp->content_type = NULL;
}

void api_json(struct http_response *resp, int status, json_t *json)
{
	buf_reset(&resp->body);
	if (json)
		docmap_serialize(json, &resp->body);
	else
		buf_adds(&resp->body, "{}");
	resp->status = status;
	resp->content_type = "application/json";
	json_decref(json);
}

void api_error(struct http_response *resp, int status, const char *fmt, ...)
{
	char msg[QW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_json(resp, status, json_pack("{s:s}", "message", msg));
}

int api_status_of(int code)
{
	switch (code) {
	case EX_NOINPUT:
		return 404;
	case EX_USAGE:
	case EX_DATAERR:
		return 400;
	case EX_TEMPFAIL:
		return 429;
	default:
		return 500;
	}
}

void api_error_from(struct http_response *resp, const struct qw_err *err)
{
	api_error(resp, api_status_of(err->code), "%s", err->msg[0] ? err->msg : "internal error");
}

json_t *api_body_json(const struct http_request *req, struct http_response *resp)
{
	json_error_t jerr;
	json_t *root;

	if (!req->body || req->body_len == 0) {
		api_error(resp, 400, "the request has no body: a JSON object is expected");
		return NULL;
	}
	root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		api_error(resp, 400, "invalid JSON body: line %d col %d: %s", jerr.line, jerr.column,
			  jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		api_error(resp, 400, "invalid JSON body: an object is expected");
		return NULL;
	}
	return root;
}

const char *api_unknown_key(json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
			;
		if (!known[i])
			return key;
	}
	return NULL;
}

int api_check_index_patterns(const struct strlist *indexes, struct qw_err *err)
{
	for (size_t i = 0; i < indexes->n; i++) {
		/* patterns may have '*' and a leading '-': check what is left */
		const char *id = indexes->v[i][0] == '-' ? indexes->v[i] + 1 : indexes->v[i];

		if (!strchr(id, '*') && ids_check_index(id, err) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- params */

void http_params_add(struct http_params *p, const char *name, const char *value)
{
	p->names = xreallocarray(p->names, p->n + 1, sizeof(*p->names));
	p->values = xreallocarray(p->values, p->n + 1, sizeof(*p->values));
	p->names[p->n] = xstrdup(name);
	p->values[p->n] = xstrdup(value ? value : "");
	p->n++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..n) ('+' and %XX) into out. */
static int url_decode(const char *s, size_t n, struct buf *out, struct qw_err *err)
{
	size_t i;

	buf_reset(out);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return err_set(err, EX_USAGE, "bad %%-escape in the query string");
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return err_set(err, EX_USAGE, "NUL byte in the query string");
		buf_addc(out, c);
	}
	return 0;
}

int http_params_parse(struct http_params *p, const char *raw, size_t len, struct qw_err *err)
{
	struct buf name = BUF_INIT, value = BUF_INIT;
	size_t i = 0;
	int ret = -1;

	while (i < len) {
		size_t end = i, eq;

		while (end < len && raw[end] != '&')
			end++;
		eq = i;
		while (eq < end && raw[eq] != '=')
			eq++;
		if (end > i) {
			if (url_decode(raw + i, eq - i, &name, err) < 0)
				goto out;
			if (url_decode(raw + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0,
				       &value, err) < 0)
				goto out;
			http_params_add(p, buf_str(&name), buf_str(&value));
		}
		i = end + 1;
	}
	ret = 0;
out:
	buf_free(&value);
	buf_free(&name);
	return ret;
}

const char *http_params_get(const struct http_params *p, const char *name)
{
	size_t i = p->n;

	while (i-- > 0)
		if (strcmp(p->names[i], name) == 0)
			return p->values[i];
	return NULL;
}

void http_params_free(struct http_params *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->names[i]);
		free(p->values[i]);
	}
	free(p->names);
	free(p->values);
	memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------------- dispatch */

/* Split path on '/', dropping empty segments. -1 when there are too many. */
static int split_path(char *path, char **seg, size_t *nseg)
{
	char *p = path;

	*nseg = 0;
	while (*p) {
		char *slash;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		if (*nseg == MAX_SEGMENTS)
			return -1;
		seg[(*nseg)++] = p;
		slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return 0;
}

static bool is_method(const struct http_request *req, const char *m)
{
	return strcmp(req->method, m) == 0;
}

static void route(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
		  struct http_response *resp)
{
	if (nseg == 2 && strcmp(seg[0], "health") == 0 &&
	    (strcmp(seg[1], "livez") == 0 || strcmp(seg[1], "readyz") == 0)) {
		if (!is_method(req, "GET") && !is_method(req, "HEAD"))
			goto bad_method;
		api_json(resp, 200, json_true());
		return;
	}
	if (nseg < 2 || strcmp(seg[0], "api") != 0 || strcmp(seg[1], "v1") != 0)
		goto not_found;
	seg += 2;
	nseg -= 2;
	if (nseg >= 1 && strcmp(seg[0], "indexes") == 0) {
		api_indexes(r, req, seg + 1, nseg - 1, resp);
		return;
	}
	if (nseg >= 1 && strcmp(seg[0], "templates") == 0) {
		api_templates(r, req, seg + 1, nseg - 1, resp);
		return;
	}
	if (nseg >= 1 && strcmp(seg[0], "_elastic") == 0) {
		api_es(r, req, seg + 1, nseg - 1, resp);
		return;
	}
	if (nseg == 2 && strcmp(seg[1], "search") == 0) {
		if (!is_method(req, "GET") && !is_method(req, "POST"))
			goto bad_method;
		api_search(r, req, seg[0], resp);
		return;
	}
	if (nseg == 2 && strcmp(seg[1], "delete-tasks") == 0) {
		if (!is_method(req, "GET") && !is_method(req, "POST"))
			goto bad_method;
		api_delete_tasks(r, req, seg[0], resp);
		return;
	}
	if (nseg == 2 && strcmp(seg[1], "ingest") == 0) {
		if (!is_method(req, "POST"))
			goto bad_method;
		api_ingest(r, req, seg[0], resp);
		return;
	}
not_found:
	api_error(resp, 404, "route not found: %s %s", req->method, req->path);
	return;
bad_method:
	api_error(resp, 405, "method not allowed: %s %s", req->method, req->path);
}

/* Inflate a gzip body into out, at most max bytes. */
static int gunzip(const char *data, size_t len, size_t max, struct buf *out, struct qw_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char chunk[65536];
	la_ssize_t n;
	int ret = -1;

	if (!a)
		return err_set(err, EX_OSERR, "cannot inflate the body: out of memory");
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_format_raw(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, data, len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		err_set(err, EX_DATAERR, "cannot inflate the gzip body: %s",
			archive_error_string(a) ? archive_error_string(a) : "not gzip");
		goto out;
	}
	if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
		err_set(err, EX_DATAERR, "the body is not gzip although Content-Encoding says so");
		goto out;
	}
	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)n > max) {
			err_set(err, EX_DATAERR, "the inflated body is larger than %zu bytes", max);
			goto out;
		}
		buf_add(out, chunk, (size_t)n);
	}
	if (n < 0) {
		err_set(err, EX_DATAERR, "cannot inflate the gzip body: %s", archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_read_free(a);
	return ret;
}

void http_router_handle(struct http_router *r, const struct http_request *req,
			struct http_response *resp)
{
	char *path = xstrdup(req->path ? req->path : "/");
	struct buf inflated = BUF_INIT;
	struct qw_err err = QW_ERR_INIT;
	char *seg[MAX_SEGMENTS];
	size_t nseg;

	buf_reset(&resp->body);
	if (!req->method || split_path(path, seg, &nseg) < 0) {
		api_error(resp, 404, "route not found");
	} else if (req->content_encoding && strcasecmp(req->content_encoding, "identity") != 0) {
		struct http_request plain = *req;

		if (strcasecmp(req->content_encoding, "gzip") != 0)
			api_error(resp, 415, "unsupported Content-Encoding `%s`", req->content_encoding);
		else if (req->body_len && gunzip(req->body, req->body_len, r->max_body, &inflated, &err) < 0)
			api_error(resp, 400, "%s", err.msg);
		else {
			plain.content_encoding = NULL;
			plain.body = inflated.len ? inflated.data : NULL;
			plain.body_len = inflated.len;
			route(r, &plain, seg, nseg, resp);
		}
	} else {
		route(r, req, seg, nseg, resp);
	}
	buf_free(&inflated);
	free(path);
}
