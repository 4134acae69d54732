/*
 * s3: S3 client over libcurl (see s3.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/clock.h"
#include "store/curl_api.h"
#include "base/fsutil.h"
#include "store/s3.h"
#include "store/s3_xml.h"
#include "base/xalloc.h"

#define S3_POOL_MAX 16
#define S3_BACKOFF_BASE_MS 100
#define S3_BACKOFF_CAP_MS 5000
#define S3_MIN_PART_SIZE (5ull << 20)

struct s3_client {
	char *endpoint;          /* scheme://host[:port], no trailing '/' */
	bool path_style;
	char *sigv4;             /* "aws:amz:<region>:s3" */
	char *access_key, *secret_key, *session_token;
	char *ca_bundle;         /* $CURL_CA_BUNDLE, or NULL: libcurl's built-in path */
	int max_attempts;
	int64_t max_retry_ms;
	uint64_t multipart_threshold, part_size;

	struct curl_api curl;    /* libcurl, loaded by s3_client_new() */
	pthread_mutex_t lock;    /* guards pool and rng */
	CURL *pool[S3_POOL_MAX];
	int npool;
	uint64_t rng;

	struct s3_stats stats;   /* atomic adds */
};

/* ---- configuration ---------------------------------------------------- */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int env_u64(const char *name, uint64_t def, uint64_t min, uint64_t *out,
		   struct qw_err *err)
{
	const char *v = env(name);
	char *end;
	unsigned long long n;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min)
		return err_set(err, EX_USAGE, "%s: '%s' is not an integer >= %" PRIu64, name, v,
			       min);
	*out = n;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/* The shared credentials file's section for the profile, when there is one. */
static int read_credentials_file(struct s3_client *c, struct qw_err *err)
{
	const char *profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
	const char *file = env("AWS_SHARED_CREDENTIALS_FILE");
	char *path = NULL, *line = NULL;
	size_t cap = 0;
	bool in_section = false;
	FILE *f = NULL;
	int ret = -1;

	if (file) {
		path = xstrdup(file);
	} else if (env("HOME")) {
		path = fsutil_join(env("HOME"), ".aws/credentials");
	} else {
		ret = 0;
		goto out;
	}
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !file)
			ret = 0;
		else
			err_errno(err, EX_NOINPUT, "cannot open '%s'", path);
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		char *l = trim(line), *eq;

		if (*l == '#' || *l == ';' || !*l)
			continue;
		if (*l == '[') {
			char *close = strchr(l, ']');

			if (close)
				*close = 0;
			in_section = !strcmp(trim(l + 1), profile);
			continue;
		}
		if (!in_section || !(eq = strchr(l, '=')))
			continue;
		*eq = 0;
		l = trim(l);
		if (!strcmp(l, "aws_access_key_id") && !c->access_key)
			c->access_key = xstrdup(trim(eq + 1));
		else if (!strcmp(l, "aws_secret_access_key") && !c->secret_key)
			c->secret_key = xstrdup(trim(eq + 1));
		else if (!strcmp(l, "aws_session_token") && !c->session_token)
			c->session_token = xstrdup(trim(eq + 1));
	}
	if (ferror(f)) {
		err_errno(err, EX_IOERR, "cannot read '%s'", path);
		goto out;
	}
	ret = 0;
out:
	if (f)
		fclose(f);
	free(line);
	free(path);
	return ret;
}

static bool env_true(const char *name)
{
	const char *v = env(name);

	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

struct s3_client *s3_client_new(struct qw_err *err)
{
	struct s3_client *c = xcalloc(1, sizeof(*c));
	const char *region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
	const char *ep = env("QW_S3_ENDPOINT");
	uint64_t attempts, retry_ms;
	struct buf b = BUF_INIT;
	size_t n;

	pthread_mutex_init(&c->lock, NULL);
	if (curl_api_load(&c->curl, err) < 0)
		goto fail;
	if (!region)
		region = "us-east-1";
	if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		c->access_key = xstrdup(env("AWS_ACCESS_KEY_ID"));
		c->secret_key = xstrdup(env("AWS_SECRET_ACCESS_KEY"));
		if (env("AWS_SESSION_TOKEN"))
			c->session_token = xstrdup(env("AWS_SESSION_TOKEN"));
	} else if (read_credentials_file(c, err) < 0) {
		goto fail;
	}
	if (!c->access_key || !c->secret_key) {
		err_set(err, EX_CONFIG, "s3: no credentials (set AWS_ACCESS_KEY_ID and "
			"AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials)");
		goto fail;
	}
	if (ep) {
		if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) {
			err_set(err, EX_CONFIG, "QW_S3_ENDPOINT: '%s' is not an http:// or https:// URL",
				ep);
			goto fail;
		}
		n = strlen(ep);
		while (n > 0 && ep[n - 1] == '/')
			n--;
		c->endpoint = xstrndup(ep, n);
	} else {
		buf_addf(&b, "https://s3.%s.amazonaws.com", region);
		c->endpoint = buf_detach(&b, NULL);
	}
	c->path_style = env_true("QW_S3_FORCE_PATH_STYLE_ACCESS");
	/* libcurl's built-in CA path is Debian's; a static qw-lambda runs elsewhere */
	if (env("CURL_CA_BUNDLE"))
		c->ca_bundle = xstrdup(env("CURL_CA_BUNDLE"));
	buf_addf(&b, "aws:amz:%s:s3", region);
	c->sigv4 = buf_detach(&b, NULL);
	if (env_u64("QW_S3_MAX_ATTEMPTS", 6, 1, &attempts, err) < 0 ||
	    env_u64("QW_S3_MAX_RETRY_MS", 30000, 0, &retry_ms, err) < 0 ||
	    env_u64("QW_S3_MULTIPART_THRESHOLD", 64ull << 20, 1, &c->multipart_threshold,
		    err) < 0 ||
	    env_u64("QW_S3_PART_SIZE", 16ull << 20, S3_MIN_PART_SIZE, &c->part_size, err) < 0)
		goto fail;
	c->max_attempts = attempts > 100 ? 100 : (int)attempts;
	c->max_retry_ms = retry_ms > 3600000 ? 3600000 : (int64_t)retry_ms;
	c->rng = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)c;
	if (!c->rng)
		c->rng = 1;
	return c;
fail:
	s3_client_free(c);
	return NULL;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->npool; i++)
		c->curl.easy_cleanup(c->pool[i]);
	pthread_mutex_destroy(&c->lock);
	curl_api_close(&c->curl);
	free(c->session_token);
	free(c->ca_bundle);
	free(c->secret_key);
	free(c->access_key);
	free(c->sigv4);
	free(c->endpoint);
	free(c);
}

void s3_client_stats(const struct s3_client *c, struct s3_stats *out)
{
	out->requests = __atomic_load_n(&c->stats.requests, __ATOMIC_RELAXED);
	out->retries = __atomic_load_n(&c->stats.retries, __ATOMIC_RELAXED);
	out->bytes_in = __atomic_load_n(&c->stats.bytes_in, __ATOMIC_RELAXED);
	out->bytes_out = __atomic_load_n(&c->stats.bytes_out, __ATOMIC_RELAXED);
}

static void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* ---- URIs ------------------------------------------------------------- */

static bool bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = b[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && ch != '-' && ch != '.')
			return false;
		if ((i == 0 || i == n - 1) && !alnum)
			return false;
	}
	return true;
}

int s3_parse_uri(const char *uri, char **bucket, char **prefix, struct qw_err *err)
{
	const char *p, *slash;
	size_t n;

	*bucket = NULL;
	*prefix = NULL;
	if (strncmp(uri, "s3://", 5))
		return err_set(err, EX_DATAERR, "'%s' is not an s3:// URI", uri);
	p = uri + 5;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (!bucket_ok(p, n))
		return err_set(err, EX_DATAERR, "'%s': invalid bucket name '%.*s'", uri,
			       (int)(n > 63 ? 63 : n), p);
	p += n;
	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && p[j] != '/')
			j++;
		if (j == i || (j - i == 1 && p[i] == '.') ||
		    (j - i == 2 && p[i] == '.' && p[i + 1] == '.'))
			return err_set(err, EX_DATAERR,
				       "'%s': empty, '.' or '..' component in the prefix", uri);
		i = j + 1;
	}
	*bucket = xstrndup(uri + 5, (size_t)(strchr(uri + 5, '/') ?
			   strchr(uri + 5, '/') - (uri + 5) : (ptrdiff_t)strlen(uri + 5)));
	*prefix = xstrndup(p, n);
	return 0;
}

static void add_encoded(struct buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~' || (keep_slash && ch == '/')) {
			buf_addc(b, (char)ch);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[ch >> 4]);
			buf_addc(b, hex[ch & 15]);
		}
	}
}

/* query: already encoded and sorted by name (SigV4's canonical order). */
static char *make_url(const struct s3_client *c, const char *bucket, const char *key,
		      const char *query)
{
	struct buf b = BUF_INIT;

	if (c->path_style) {
		buf_adds(&b, c->endpoint);
		buf_addc(&b, '/');
		buf_adds(&b, bucket);
	} else {
		const char *host = strstr(c->endpoint, "://") + 3;

		buf_add(&b, c->endpoint, (size_t)(host - c->endpoint));
		buf_adds(&b, bucket);
		buf_addc(&b, '.');
		buf_adds(&b, host);
	}
	buf_addc(&b, '/');
	if (key)
		add_encoded(&b, key, true);
	if (query) {
		buf_addc(&b, '?');
		buf_adds(&b, query);
	}
	return buf_detach(&b, NULL);
}

/* ---- requests --------------------------------------------------------- */

struct req {
	const char *method;          /* GET HEAD PUT POST DELETE */
	const char *bucket, *key;    /* for messages and the URL */
	const char *query;           /* encoded, sorted; may be NULL */
	/* request body: memory, or a range of a file */
	const char *body;
	int body_fd;
	uint64_t body_off, body_len, body_pos;
	/* response body: appended to out (from out_base on), or written to out_fd */
	struct buf *out;
	size_t out_base;
	int out_fd;
	uint64_t out_written;
	uint64_t range_off, range_len; /* GET range when range_len or range_off */
	bool ranged;
	/* results */
	long status;
	struct buf errbody;          /* body of an error answer */
	char *etag;                  /* ETag response header, when asked */
	bool want_etag;
	const char *if_none_match;   /* a conditional GET's ETag, or NULL */
	uint64_t content_length;
	CURL *handle;                /* of the running attempt */
	const struct curl_api *curl; /* for the callbacks */
	bool io_failed;              /* a local read/write failed */
	int io_errno;
	struct s3_stats *acc;        /* the caller's counters of this call, or NULL */
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t want = size * nmemb;
	uint64_t left = r->body_len - r->body_pos;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (r->body) {
		memcpy(dst, r->body + r->body_pos, want);
	} else {
		ssize_t got = pread(r->body_fd, dst, want, (off_t)(r->body_off + r->body_pos));

		if (got <= 0) {
			r->io_failed = true;
			r->io_errno = got < 0 ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)got;
	}
	r->body_pos += want;
	return want;
}

/* curl rewinds a body to resend it on a fresh connection (a reused one
 * found dead); without this it fails with CURLE_SEND_FAIL_REWIND. */
static int seek_cb(void *ud, curl_off_t offset, int origin)
{
	struct req *r = ud;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->body_len)
		return CURL_SEEKFUNC_FAIL;
	r->body_pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *src, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t n = size * nmemb;
	long status = 0;

	r->curl->easy_getinfo(r->handle, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		/* error documents are small; keep the first 64 KiB */
		if (r->errbody.len < 65536)
			buf_add(&r->errbody, src, n);
		return n;
	}
	if (r->out) {
		buf_add(r->out, src, n);
	} else if (r->out_fd >= 0) {
		if (fsutil_write_full(r->out_fd, src, n) < 0) {
			r->io_failed = true;
			r->io_errno = errno ? errno : EIO;
			return 0;
		}
	}
	r->out_written += n;
	return n;
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t n = size * nmemb;

	if (r->want_etag && n > 5 && !strncasecmp(line, "ETag:", 5)) {
		const char *v = line + 5;
		size_t len = n - 5;

		while (len && (*v == ' ' || *v == '\t'))
			v++, len--;
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		free(r->etag);
		r->etag = xstrndup(v, len);
	}
	return n;
}

static CURL *handle_get(struct s3_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->npool > 0)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->lock);
	if (!h)
		h = c->curl.easy_init();
	else
		c->curl.easy_reset(h);
	return h;
}

/* Back to the pool, so that its live connection serves the next request. */
static void handle_put(struct s3_client *c, CURL *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->npool < S3_POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		c->curl.easy_cleanup(h);
}

static uint64_t rng_next(struct s3_client *c)
{
	uint64_t x;

	pthread_mutex_lock(&c->lock);
	x = c->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	c->rng = x;
	pthread_mutex_unlock(&c->lock);
	return x;
}

static bool curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool code_retryable(const char *code)
{
	return code && (!strcmp(code, "SlowDown") || !strcmp(code, "Throttling") ||
			!strcmp(code, "RequestTimeout") || !strcmp(code, "InternalError") ||
			!strcmp(code, "ServiceUnavailable"));
}

/* One attempt. Returns the curl code; r->status holds the HTTP status. */
static CURLcode attempt(struct s3_client *c, CURL *h, struct req *r, const char *url,
			struct curl_slist *headers)
{
	CURLcode rc;

	r->handle = h;
	r->curl = &c->curl;

	c->curl.easy_setopt(h, CURLOPT_URL, url);
	/* S3 is HTTP(S) only; qw-lambda's static libcurl has no other protocol */
	c->curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	c->curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* HTTP/1.1, never h2 by ALPN: qw-lambda's static libcurl has no nghttp2 */
	c->curl.easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (c->ca_bundle)
		c->curl.easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
	c->curl.easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
	c->curl.easy_setopt(h, CURLOPT_USERNAME, c->access_key);
	c->curl.easy_setopt(h, CURLOPT_PASSWORD, c->secret_key);
	c->curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	c->curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* a stalled transfer (no byte for 30 s) is a timeout, retried */
	c->curl.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	c->curl.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	c->curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	c->curl.easy_setopt(h, CURLOPT_WRITEDATA, r);
	c->curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	c->curl.easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (!strcmp(r->method, "HEAD")) {
		c->curl.easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "PUT")) {
		c->curl.easy_setopt(h, CURLOPT_UPLOAD, 1L);
		c->curl.easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		c->curl.easy_setopt(h, CURLOPT_READDATA, r);
		c->curl.easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		c->curl.easy_setopt(h, CURLOPT_SEEKDATA, r);
		c->curl.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (!strcmp(r->method, "POST")) {
		c->curl.easy_setopt(h, CURLOPT_POST, 1L);
		c->curl.easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		c->curl.easy_setopt(h, CURLOPT_READDATA, r);
		c->curl.easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		c->curl.easy_setopt(h, CURLOPT_SEEKDATA, r);
		c->curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET")) {
		c->curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	rc = c->curl.easy_perform(h);
	r->status = 0;
	c->curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	{
		curl_off_t cl = -1;

		if (c->curl.easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
		    cl >= 0)
			r->content_length = (uint64_t)cl;
	}
	stat_add(&c->stats.requests, 1);
	stat_add(&c->stats.bytes_out, r->body_pos);
	stat_add(&c->stats.bytes_in, r->out_written + r->errbody.len);
	if (r->acc) {
		r->acc->requests++;
		r->acc->bytes_out += r->body_pos;
		r->acc->bytes_in += r->out_written + r->errbody.len;
	}
	return rc;
}

/* Undo a failed attempt's partial effects before the next one. */
static int rewind_req(struct req *r, struct qw_err *err)
{
	r->body_pos = 0;
	r->out_written = 0;
	r->content_length = 0;
	buf_reset(&r->errbody);
	free(r->etag);
	r->etag = NULL;
	if (r->out)
		buf_truncate(r->out, r->out_base);
	if (r->out_fd >= 0 && (ftruncate(r->out_fd, 0) < 0 || lseek(r->out_fd, 0, SEEK_SET) < 0))
		return err_errno(err, EX_IOERR, "cannot rewind a download");
	return 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Perform with retries. Returns 0 for a 2xx answer, else -1 with err (a
 * 404 is EX_NOINPUT so that callers can tell absence from failure).
 */
/* headers with "name: value" appended; NULL (all freed) when out of
 * memory, or when headers already was NULL. */
static struct curl_slist *header_add(struct s3_client *c, struct curl_slist *headers,
				     const char *name, const char *value)
{
	struct buf b = BUF_INIT;
	struct curl_slist *more;

	if (!headers)
		return NULL;
	buf_addf(&b, "%s: %s", name, value);
	more = c->curl.slist_append(headers, buf_str(&b));
	buf_free(&b);
	if (!more)
		c->curl.slist_free_all(headers);
	return more;
}

static int perform(struct s3_client *c, struct req *r, struct qw_err *err)
{
	struct curl_slist *headers = NULL, *tmp;
	char *url = make_url(c, r->bucket, r->key, r->query);
	char rangeh[80], *code = NULL, *message = NULL;
	char curl_msg[CURL_ERROR_SIZE];
	int64_t waited = 0;
	CURL *h = NULL;
	CURLcode rc = CURLE_OK;
	int attempts = 0, ret = -1;
	bool retryable = false;

	headers = c->curl.slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	/* no "Expect: 100-continue" round trip before a PUT body */
	if (headers && (tmp = c->curl.slist_append(headers, "Expect:")))
		headers = tmp;
	if (r->ranged) {
		if (r->range_len)
			snprintf(rangeh, sizeof(rangeh), "Range: bytes=%" PRIu64 "-%" PRIu64,
				 r->range_off, r->range_off + r->range_len - 1);
		else
			snprintf(rangeh, sizeof(rangeh), "Range: bytes=%" PRIu64 "-", r->range_off);
		if (headers && (tmp = c->curl.slist_append(headers, rangeh)))
			headers = tmp;
	}
	if (r->if_none_match)
		headers = header_add(c, headers, "If-None-Match", r->if_none_match);
	if (c->session_token)
		headers = header_add(c, headers, "x-amz-security-token", c->session_token);
	if (!headers) {
		err_set(err, EX_OSERR, "s3: out of memory");
		goto out;
	}
	h = handle_get(c);
	if (!h) {
		err_set(err, EX_OSERR, "s3: cannot create a curl handle");
		goto out;
	}
	for (;;) {
		curl_msg[0] = 0;
		c->curl.easy_setopt(h, CURLOPT_ERRORBUFFER, (char *)curl_msg);
		rc = attempt(c, h, r, url, headers);
		attempts++;
		free(code);
		free(message);
		code = message = NULL;
		if (r->io_failed) {
			errno = r->io_errno;
			err_errno(err, EX_IOERR, "s3 %s s3://%s/%s: local I/O", r->method,
				  r->bucket, r->key ? r->key : "");
			goto out;
		}
		/* 304: the conditional GET's object is unchanged (s3_get_changed) */
		if (rc == CURLE_OK && ((r->status >= 200 && r->status < 300) ||
				       (r->status == 304 && r->if_none_match))) {
			ret = 0;
			goto out;
		}
		if (rc == CURLE_OK && r->errbody.len) {
			struct qw_err ignore = QW_ERR_INIT;

			s3_xml_error(r->errbody.data, r->errbody.len, &code, &message, &ignore);
		}
		retryable = rc != CURLE_OK ? curl_retryable(rc) :
			    (r->status >= 500 || r->status == 429 || code_retryable(code));
		if (!retryable || attempts >= c->max_attempts)
			break;
		{
			int64_t cap = S3_BACKOFF_BASE_MS << (attempts - 1 > 10 ? 10 : attempts - 1);
			int64_t delay;

			if (cap > S3_BACKOFF_CAP_MS)
				cap = S3_BACKOFF_CAP_MS;
			delay = (int64_t)(rng_next(c) % (uint64_t)(cap + 1));
			if (waited + delay > c->max_retry_ms)
				break;
			sleep_ms(delay);
			waited += delay;
		}
		stat_add(&c->stats.retries, 1);
		if (r->acc)
			r->acc->retries++;
		if (rewind_req(r, err) < 0)
			goto out;
	}
	{
		/* a missing bucket is a configuration error, not a missing object */
		bool missing = r->status == 404 && (!code || strcmp(code, "NoSuchBucket"));
		int ex = retryable ? EX_TEMPFAIL : missing ? EX_NOINPUT : EX_IOERR;

		if (rc != CURLE_OK)
			err_set(err, ex, "s3 %s s3://%s/%s: %s%s%s (%d attempt%s)", r->method,
				r->bucket, r->key ? r->key : "", c->curl.easy_strerror(rc),
				curl_msg[0] ? ": " : "", curl_msg, attempts, attempts > 1 ? "s" : "");
		else
			err_set(err, ex, "s3 %s s3://%s/%s: HTTP %ld%s%s%s%s (%d attempt%s)",
				r->method, r->bucket, r->key ? r->key : "", r->status,
				code ? " " : "", code ? code : "", message ? ": " : "",
				message ? message : "", attempts, attempts > 1 ? "s" : "");
	}
out:
	free(message);
	free(code);
	handle_put(c, h);
	c->curl.slist_free_all(headers);
	free(url);
	return ret;
}

static void req_init(struct req *r, const char *method, const char *bucket, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->bucket = bucket;
	r->key = key;
	r->body_fd = -1;
	r->out_fd = -1;
	r->errbody = (struct buf)BUF_INIT;
}

static void req_free(struct req *r)
{
	buf_free(&r->errbody);
	free(r->etag);
}

/* ---- operations ------------------------------------------------------- */

int s3_put(struct s3_client *c, const char *bucket, const char *key, const void *data,
	   size_t len, struct qw_err *err)
{
	struct req r;
	int ret;

	req_init(&r, "PUT", bucket, key);
	r.body = data ? data : "";
	r.body_len = len;
	ret = perform(c, &r, err);
	req_free(&r);
	return ret;
}

static int put_range(struct s3_client *c, const char *bucket, const char *key,
		     const char *query, int fd, uint64_t off, uint64_t len, char **etag,
		     struct qw_err *err)
{
	struct req r;
	int ret;

	req_init(&r, "PUT", bucket, key);
	r.query = query;
	r.body_fd = fd;
	r.body_off = off;
	r.body_len = len;
	r.want_etag = etag != NULL;
	ret = perform(c, &r, err);
	if (ret == 0 && etag) {
		if (!r.etag) {
			ret = err_set(err, EX_PROTOCOL, "s3 PUT s3://%s/%s: no ETag in the answer",
				      bucket, key);
		} else {
			*etag = r.etag;
			r.etag = NULL;
		}
	}
	req_free(&r);
	return ret;
}

static int post_xml(struct s3_client *c, const char *bucket, const char *key,
		    const char *query, const char *body, struct buf *out, struct qw_err *err)
{
	struct req r;
	int ret;

	req_init(&r, "POST", bucket, key);
	r.query = query;
	r.body = body ? body : "";
	r.body_len = strlen(r.body);
	r.out = out;
	r.out_base = out->len;
	ret = perform(c, &r, err);
	req_free(&r);
	return ret;
}

/*
 * A CompleteMultipartUpload whose answer was lost did complete: its retry
 * then finds no such upload (or a server's error for it) until the
 * attempts run out. The object being there with the size uploaded says
 * it did; the callers' keys name immutable content (a split file), so an
 * object of that key and size holds these bytes.
 */
static bool completed_anyway(struct s3_client *c, const char *bucket, const char *key,
			     uint64_t size)
{
	struct qw_err ignore = QW_ERR_INIT;
	uint64_t got = 0;

	return s3_head(c, bucket, key, &got, &ignore) == 1 && got == size;
}

static int multipart(struct s3_client *c, const char *bucket, const char *key, int fd,
		     uint64_t size, struct qw_err *err)
{
	struct buf ans = BUF_INIT, q = BUF_INIT, done = BUF_INIT;
	char *upload_id = NULL, *etag = NULL;
	uint64_t nparts = (size + c->part_size - 1) / c->part_size;
	size_t pos = 0;
	int ret = -1;

	if (nparts > 10000)
		return err_set(err, EX_DATAERR, "s3 PUT s3://%s/%s: %" PRIu64 " bytes need more "
			       "than 10000 parts of QW_S3_PART_SIZE", bucket, key, size);
	if (post_xml(c, bucket, key, "uploads=", NULL, &ans, err) < 0)
		goto out;
	if (s3_xml_text(ans.data ? ans.data : "", ans.len, &pos, "UploadId", &upload_id,
			err) < 0)
		goto out;
	if (!upload_id || !*upload_id) {
		err_set(err, EX_PROTOCOL, "s3 POST s3://%s/%s?uploads: no UploadId in the answer",
			bucket, key);
		goto out;
	}
	buf_adds(&done, "<CompleteMultipartUpload>");
	for (uint64_t i = 0; i < nparts; i++) {
		uint64_t off = i * c->part_size;
		uint64_t len = size - off < c->part_size ? size - off : c->part_size;

		buf_reset(&q);
		buf_addf(&q, "partNumber=%" PRIu64 "&uploadId=", i + 1);
		add_encoded(&q, upload_id, false);
		if (put_range(c, bucket, key, buf_str(&q), fd, off, len, &etag, err) < 0)
			goto abort;
		buf_addf(&done, "<Part><PartNumber>%" PRIu64 "</PartNumber><ETag>", i + 1);
		for (const char *e = etag; *e; e++)
			if (*e == '"')
				buf_adds(&done, "&quot;");
			else if (*e == '&')
				buf_adds(&done, "&amp;");
			else if (*e == '<')
				buf_adds(&done, "&lt;");
			else
				buf_addc(&done, *e);
		buf_adds(&done, "</ETag></Part>");
		free(etag);
		etag = NULL;
	}
	buf_adds(&done, "</CompleteMultipartUpload>");
	buf_reset(&q);
	buf_adds(&q, "uploadId=");
	add_encoded(&q, upload_id, false);
	buf_reset(&ans);
	if (post_xml(c, bucket, key, buf_str(&q), buf_str(&done), &ans, err) < 0) {
		if (completed_anyway(c, bucket, key, size)) {
			err_clear(err);
			ret = 0;
			goto out;
		}
		goto abort;
	}
	/* CompleteMultipartUpload may fail inside a 200 answer */
	if (ans.len && memmem(ans.data, ans.len, "<Error>", 7)) {
		char *code = NULL, *message = NULL;

		s3_xml_error(ans.data, ans.len, &code, &message, NULL);
		err_set(err, EX_TEMPFAIL, "s3 POST s3://%s/%s?uploadId: %s%s%s", bucket, key,
			code ? code : "error", message ? ": " : "", message ? message : "");
		free(code);
		free(message);
		goto abort;
	}
	ret = 0;
	goto out;
abort: {
	/* best effort: an upload left open is invisible, and lifecycle rules reap it */
	struct req r;
	struct qw_err ignore = QW_ERR_INIT;

	req_init(&r, "DELETE", bucket, key);
	buf_reset(&q);
	buf_adds(&q, "uploadId=");
	add_encoded(&q, upload_id, false);
	r.query = buf_str(&q);
	perform(c, &r, &ignore);
	req_free(&r);
}
out:
	free(etag);
	free(upload_id);
	buf_free(&done);
	buf_free(&q);
	buf_free(&ans);
	return ret;
}

int s3_put_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct qw_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = -1;

	if (fd < 0)
		return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
				 "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		err_errno(err, EX_IOERR, "cannot stat '%s'", path);
		goto out;
	}
	if ((uint64_t)st.st_size > c->multipart_threshold)
		ret = multipart(c, bucket, key, fd, (uint64_t)st.st_size, err);
	else
		ret = put_range(c, bucket, key, NULL, fd, 0, (uint64_t)st.st_size, NULL, err);
out:
	close(fd);
	return ret;
}

int s3_get(struct s3_client *c, const char *bucket, const char *key, uint64_t off,
	   uint64_t len, struct buf *out, struct qw_err *err)
{
	return s3_get_acc(c, bucket, key, off, len, out, NULL, err);
}

int s3_get_acc(struct s3_client *c, const char *bucket, const char *key, uint64_t off,
	       uint64_t len, struct buf *out, struct s3_stats *acc, struct qw_err *err)
{
	struct req r;
	int ret;

	req_init(&r, "GET", bucket, key);
	r.acc = acc;
	r.out = out;
	r.out_base = out->len;
	r.ranged = off > 0 || len > 0;
	r.range_off = off;
	r.range_len = len;
	ret = perform(c, &r, err);
	if (ret < 0 && r.status == 416 && err)
		err->code = EX_DATAERR;
	if (ret == 0 && r.ranged) {
		size_t got = out->len - r.out_base;

		if (r.status == 200) {
			/* the server ignored the range: keep only the asked bytes */
			if (off > got) {
				ret = err_set(err, EX_DATAERR, "s3 GET s3://%s/%s: range past the end",
					      bucket, key);
			} else {
				size_t keep = len && len < got - off ? (size_t)len : got - (size_t)off;

				memmove(out->data + r.out_base, out->data + r.out_base + off, keep);
				buf_truncate(out, r.out_base + keep);
			}
		} else if (len && got != len) {
			ret = err_set(err, EX_DATAERR, "s3 GET s3://%s/%s: asked %" PRIu64
				      " bytes at %" PRIu64 ", got %zu", bucket, key, len, off, got);
		}
	}
	if (ret < 0)
		buf_truncate(out, r.out_base);
	req_free(&r);
	return ret;
}

int s3_get_changed(struct s3_client *c, const char *bucket, const char *key, const char *etag,
		   struct buf *out, char **etag_out, struct qw_err *err)
{
	struct req r;
	int ret;

	*etag_out = NULL;
	req_init(&r, "GET", bucket, key);
	r.out = out;
	r.out_base = out->len;
	r.want_etag = true;
	r.if_none_match = etag;
	ret = perform(c, &r, err);
	if (ret == 0 && r.status == 304) {
		buf_truncate(out, r.out_base);
	} else if (ret == 0) {
		*etag_out = r.etag;
		r.etag = NULL;
		ret = 1;
	} else {
		buf_truncate(out, r.out_base);
	}
	req_free(&r);
	return ret;
}

struct get_into {
	struct s3_client *c;
	struct req r;
};

/* Perform a GET into fd (the temp of s3_get_file's atomic write). */
static int perform_into(int fd, const char *tmp, void *ctx, struct qw_err *err)
{
	struct get_into *g = ctx;

	(void)tmp;
	g->r.out_fd = fd;
	return perform(g->c, &g->r, err);
}

int s3_get_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct qw_err *err)
{
	struct get_into g = { .c = c };
	int ret;

	req_init(&g.r, "GET", bucket, key);
	ret = atomicfile_fill(path, 0644, perform_into, &g, err);
	req_free(&g.r);
	return ret;
}

int s3_get_fd(struct s3_client *c, const char *bucket, const char *key, int fd,
	      struct qw_err *err)
{
	struct req r;
	int ret;

	req_init(&r, "GET", bucket, key);
	r.out_fd = fd;
	ret = perform(c, &r, err);
	req_free(&r);
	return ret;
}

int s3_head(struct s3_client *c, const char *bucket, const char *key, uint64_t *size,
	    struct qw_err *err)
{
	return s3_head_acc(c, bucket, key, size, NULL, err);
}

int s3_head_acc(struct s3_client *c, const char *bucket, const char *key, uint64_t *size,
		struct s3_stats *acc, struct qw_err *err)
{
	struct req r;
	int ret;

	req_init(&r, "HEAD", bucket, key);
	r.acc = acc;
	ret = perform(c, &r, err);
	if (ret == 0) {
		if (size)
			*size = r.content_length;
		ret = 1;
	} else if (r.status == 404) {
		err_clear(err);
		ret = 0;
	}
	req_free(&r);
	return ret;
}

int s3_delete(struct s3_client *c, const char *bucket, const char *key, struct qw_err *err)
{
	struct req r;
	int ret;

	req_init(&r, "DELETE", bucket, key);
	ret = perform(c, &r, err);
	if (ret < 0 && r.status == 404) {
		err_clear(err);
		ret = 0;
	}
	req_free(&r);
	return ret;
}

int s3_list(struct s3_client *c, const char *bucket, const char *prefix, s3_list_fn fn,
	    void *ctx, struct qw_err *err)
{
	struct buf q = BUF_INIT, page = BUF_INIT;
	char *token = NULL;
	int ret = -1;

	do {
		struct s3_xml_object *objs = NULL;
		size_t n = 0;
		char *next = NULL;
		struct req r;
		int rc;

		buf_reset(&q);
		if (token) {
			buf_adds(&q, "continuation-token=");
			add_encoded(&q, token, false);
			buf_addc(&q, '&');
		}
		buf_adds(&q, "list-type=2&prefix=");
		add_encoded(&q, prefix ? prefix : "", false);
		buf_reset(&page);
		req_init(&r, "GET", bucket, NULL);
		r.query = buf_str(&q);
		r.out = &page;
		rc = perform(c, &r, err);
		req_free(&r);
		if (rc < 0)
			goto out;
		if (s3_xml_list(page.data ? page.data : "", page.len, &objs, &n, &next, err) < 0) {
			err_prefix(err, "s3 GET s3://%s?list-type=2", bucket);
			goto out;
		}
		free(token);
		token = next;
		for (size_t i = 0; i < n; i++) {
			rc = fn(ctx, objs[i].key, objs[i].size, objs[i].mtime);
			if (rc) {
				s3_xml_objects_free(objs, n);
				ret = rc;
				goto out;
			}
		}
		s3_xml_objects_free(objs, n);
	} while (token);
	ret = 0;
out:
	free(token);
	buf_free(&page);
	buf_free(&q);
	return ret;
}
