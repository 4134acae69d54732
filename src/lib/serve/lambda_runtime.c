/* lambda_runtime: Lambda Runtime API client over libcurl (see lambda_runtime.h). */
#include "serve/lambda_runtime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "store/curl_api.h"

#define API_PREFIX "/2018-06-01/runtime"

struct lambda_runtime {
	struct curl_api curl;
	CURL *h;
	char *base;    /* "http://host:port/2018-06-01/runtime" */
};

/* What one exchange collects. */
struct exchange {
	struct buf *body;
	char *request_id;
	char *trace_id;
};

static size_t body_cb(char *p, size_t size, size_t n, void *cls)
{
	struct exchange *x = cls;

	buf_add(x->body, p, size * n);
	return size * n;
}

/* A header's value, trimmed, when the line is "name: value". */
static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	line += nl + 1;
	len -= nl + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	return xstrndup(line, len);
}

static size_t header_cb(char *p, size_t size, size_t n, void *cls)
{
	struct exchange *x = cls;
	char *v;

	if ((v = header_value(p, size * n, "Lambda-Runtime-Aws-Request-Id"))) {
		free(x->request_id);
		x->request_id = v;
	} else if ((v = header_value(p, size * n, "Lambda-Runtime-Trace-Id"))) {
		free(x->trace_id);
		x->trace_id = v;
	}
	return size * n;
}

struct lambda_runtime *lambda_runtime_new(const char *api, struct qw_err *err)
{
	struct lambda_runtime *rt = xcalloc(1, sizeof(*rt));
	struct buf b = BUF_INIT;

	if (!api || !*api || strchr(api, '/')) {
		err_set(err, EX_USAGE, "AWS_LAMBDA_RUNTIME_API: expected host:port, got '%s'", api ? api : "");
		goto fail;
	}
	if (curl_api_load(&rt->curl, err) < 0)
		goto fail;
	rt->h = rt->curl.easy_init();
	if (!rt->h) {
		err_set(err, EX_SOFTWARE, "lambda runtime: cannot make a libcurl handle");
		goto fail;
	}
	buf_addf(&b, "http://%s" API_PREFIX, api);
	rt->base = buf_detach(&b, NULL);
	return rt;
fail:
	lambda_runtime_free(rt);
	return NULL;
}

void lambda_runtime_free(struct lambda_runtime *rt)
{
	if (!rt)
		return;
	free(rt->base);
	if (rt->h)
		rt->curl.easy_cleanup(rt->h);
	curl_api_close(&rt->curl);
	free(rt);
}

/* One request to base+path: a POST of body when body is not NULL. */
static int exchange(struct lambda_runtime *rt, const char *path, const char *body, size_t len,
		    const char *error_type, struct exchange *x, struct qw_err *err)
{
	struct curl_api *c = &rt->curl;
	struct curl_slist *hdrs = NULL, *t;
	struct buf url = BUF_INIT, line = BUF_INIT;
	long status = 0;
	CURLcode rc;
	int ret = -1;

	buf_addf(&url, "%s%s", rt->base, path);
	c->easy_reset(rt->h);
	c->easy_setopt(rt->h, CURLOPT_URL, buf_str(&url));
	c->easy_setopt(rt->h, CURLOPT_PROTOCOLS_STR, "http");
	c->easy_setopt(rt->h, CURLOPT_NOSIGNAL, 1L);
	c->easy_setopt(rt->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	c->easy_setopt(rt->h, CURLOPT_WRITEFUNCTION, body_cb);
	c->easy_setopt(rt->h, CURLOPT_WRITEDATA, x);
	c->easy_setopt(rt->h, CURLOPT_HEADERFUNCTION, header_cb);
	c->easy_setopt(rt->h, CURLOPT_HEADERDATA, x);
	/* the next invocation may be hours away: no timeout but the connect's */
	c->easy_setopt(rt->h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	if (body) {
		t = c->slist_append(hdrs, "Content-Type: application/json");
		if (t)
			hdrs = t;
		t = c->slist_append(hdrs, "Expect:");
		if (t)
			hdrs = t;
		if (error_type) {
			buf_addf(&line, "Lambda-Runtime-Function-Error-Type: %s", error_type);
			t = c->slist_append(hdrs, buf_str(&line));
			if (t)
				hdrs = t;
		}
		c->easy_setopt(rt->h, CURLOPT_POST, 1L);
		c->easy_setopt(rt->h, CURLOPT_POSTFIELDS, body);
		c->easy_setopt(rt->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		c->easy_setopt(rt->h, CURLOPT_HTTPHEADER, hdrs);
	}
	rc = c->easy_perform(rt->h);
	if (rc != CURLE_OK) {
		err_set(err, EX_UNAVAILABLE, "lambda runtime: %s: %s", buf_str(&url), c->easy_strerror(rc));
		goto out;
	}
	c->easy_getinfo(rt->h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		err_set(err, EX_UNAVAILABLE, "lambda runtime: %s: HTTP %ld", buf_str(&url), status);
		goto out;
	}
	ret = 0;
out:
	c->easy_setopt(rt->h, CURLOPT_HTTPHEADER, NULL);
	c->slist_free_all(hdrs);
	buf_free(&line);
	buf_free(&url);
	return ret;
}

int lambda_runtime_next(struct lambda_runtime *rt, struct buf *event, char **id, struct qw_err *err)
{
	struct exchange x = { event, NULL, NULL };

	buf_reset(event);
	*id = NULL;
	if (exchange(rt, "/invocation/next", NULL, 0, NULL, &x, err) < 0)
		goto fail;
	if (!x.request_id || !*x.request_id || strchr(x.request_id, '/')) {
		err_set(err, EX_UNAVAILABLE, "lambda runtime: invocation/next without a usable "
			"Lambda-Runtime-Aws-Request-Id");
		goto fail;
	}
	/* X-Ray's convention: the trace id of the invocation in flight */
	if (x.trace_id)
		setenv("_X_AMZN_TRACE_ID", x.trace_id, 1);
	else
		unsetenv("_X_AMZN_TRACE_ID");
	free(x.trace_id);
	*id = x.request_id;
	return 0;
fail:
	free(x.trace_id);
	free(x.request_id);
	return -1;
}

int lambda_runtime_respond(struct lambda_runtime *rt, const char *id, const char *payload,
			   size_t len, struct qw_err *err)
{
	struct buf path = BUF_INIT, sink = BUF_INIT;
	struct exchange x = { &sink, NULL, NULL };
	int rc;

	buf_addf(&path, "/invocation/%s/response", id);
	rc = exchange(rt, buf_str(&path), payload ? payload : "", len, NULL, &x, err);
	free(x.request_id);
	free(x.trace_id);
	buf_free(&sink);
	buf_free(&path);
	return rc;
}

int lambda_runtime_error(struct lambda_runtime *rt, const char *id, const char *type,
			 const char *doc, struct qw_err *err)
{
	struct buf path = BUF_INIT, sink = BUF_INIT;
	struct exchange x = { &sink, NULL, NULL };
	int rc;

	if (id)
		buf_addf(&path, "/invocation/%s/error", id);
	else
		buf_adds(&path, "/init/error");
	rc = exchange(rt, buf_str(&path), doc, strlen(doc), type, &x, err);
	free(x.request_id);
	free(x.trace_id);
	buf_free(&sink);
	buf_free(&path);
	return rc;
}
