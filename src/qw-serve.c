/*
 * qw-serve: Quickwit's REST API and its Elasticsearch-compatible API over HTTP.
 *
 * libmicrohttpd accepts and parses; each request becomes a struct
 * http_request for http_router_handle() (http_router.h), which does all the
 * work. The main thread only waits for SIGTERM/SIGINT (blocked everywhere,
 * taken with sigwait: no handler), then stops accepting, lets the requests
 * in flight finish (up to --shutdown-timeout) and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "serve/http_router.h"
#include "app/prog.h"
#include "base/xalloc.h"

static const char *prog = "qw-serve";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Serve Quickwit's REST API and its Elasticsearch-compatible API over HTTP.\n"
		"\n"
		"Options:\n"
		"  -l, --listen ADDR:PORT       address to listen on (default 127.0.0.1:7280;\n"
		"                               port 0 picks a free port)\n"
		"  -d, --data-dir DIR           data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI      metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"  -t, --threads N              request threads (default 8)\n"
		"  -j, --search-threads N       splits searched in parallel per request\n"
		"                               (default: number of cores)\n"
		"      --max-body-size BYTES    largest request body (default 10MB)\n"
		"      --timeout SECS           close a connection idle for SECS (default 60)\n"
		"      --shutdown-timeout SECS  on SIGTERM, wait this long for requests in\n"
		"                               flight (default 30)\n"
		"      --port-file FILE         write the port listened on to FILE once ready\n"
		"  -h, --help                   show this help and exit\n"
		"  -V, --version                show the version and exit\n",
		prog);
}

enum {
	OPT_MAX_BODY = 256,
	OPT_TIMEOUT,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_PORT_FILE,
};

/* What the request callbacks share; owned by main(). */
struct server {
	struct http_router *router;
	uint64_t max_body;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned in_flight; /* requests between their first callback and completion */
};

/* One request being received. */
struct request_ctx {
	struct buf body;
	bool too_large;
};

static enum MHD_Result add_param(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	http_params_add(cls, key, value);
	return MHD_YES;
}

static enum MHD_Result send_response(struct MHD_Connection *con, struct http_response *hr)
{
	size_t len;
	char *data = buf_detach(&hr->body, &len);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, data ? data : xstrdup(""), MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    hr->content_type ? hr->content_type : "application/json") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(con, (unsigned)hr->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *con, int status, const char *msg)
{
	struct http_response hr = { 0, NULL, BUF_INIT };
	json_t *j = json_pack("{s:s}", "message", msg);
	char *s = json_dumps(j, JSON_COMPACT);

	buf_adds(&hr.body, s ? s : "{}");
	hr.status = status;
	free(s);
	json_decref(j);
	return send_response(con, &hr);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct request_ctx *rc = *con_cls;
	struct http_request req;
	struct http_response hr = { 0, NULL, BUF_INIT };
	enum MHD_Result ret;

	(void)version;
	if (!rc) {
		const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		rc = xcalloc(1, sizeof(*rc));
		*con_cls = rc;
		pthread_mutex_lock(&srv->lock);
		srv->in_flight++;
		pthread_mutex_unlock(&srv->lock);
		if (cl) {
			char *end;
			unsigned long long n;

			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno || *end || n > srv->max_body)
				rc->too_large = true;
		}
		if (!rc->too_large)
			return MHD_YES;
	}
	if (*upload_data_size) {
		/* drop what comes past the limit; the answer is 413 at the end */
		if (!rc->too_large && rc->body.len + *upload_data_size > srv->max_body) {
			rc->too_large = true;
			buf_free(&rc->body);
		}
		if (!rc->too_large)
			buf_add(&rc->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rc->too_large) {
		char msg[128];

		snprintf(msg, sizeof(msg), "the request body is larger than %llu bytes",
			 (unsigned long long)srv->max_body);
		return send_error(con, 413, msg);
	}
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, add_param, &req.params);
	req.content_type = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_CONTENT_TYPE);
	req.content_encoding = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_CONTENT_ENCODING);
	req.body = rc->body.len ? rc->body.data : NULL;
	req.body_len = rc->body.len;
	http_router_handle(srv->router, &req, &hr);
	ret = send_response(con, &hr);
	http_response_free(&hr);
	http_params_free(&req.params);
	return ret;
}

/* libmicrohttpd's own messages, in our format */
static void log_httpd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	err_warn(prog, "httpd: %s", msg);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct request_ctx *rc = *con_cls;

	(void)con;
	(void)toe;
	if (!rc)
		return;
	buf_free(&rc->body);
	free(rc);
	*con_cls = NULL;
	pthread_mutex_lock(&srv->lock);
	if (--srv->in_flight == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

/* "ADDR:PORT" or "[ADDR6]:PORT" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, struct qw_err *err)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2];
	uint64_t port;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s)
		return err_set(err, EX_USAGE, "--listen: expected ADDR:PORT, got '%s'", s);
	if (prog_parse_u64("--listen port", colon + 1, 0, 65535, &port, err) < 0)
		return -1;
	hlen = (size_t)(colon - s);
	if (s[0] == '[' && hlen >= 2 && s[hlen - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (hlen - 2 >= sizeof(host))
			return err_set(err, EX_USAGE, "--listen: bad address in '%s'", s);
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return err_set(err, EX_USAGE, "--listen: bad IPv6 address '%s'", host);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	if (hlen >= sizeof(host))
		return err_set(err, EX_USAGE, "--listen: bad address in '%s'", s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return err_set(err, EX_USAGE, "--listen: bad IPv4 address '%s'", host);
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
	}
	return 0;
}

/* The qw-pipeline beside this program (as qw finds qw-NAME), else from PATH. */
static char *find_pipeline(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct buf b = BUF_INIT;
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			buf_addf(&b, "%s/qw-pipeline", self);
			if (access(buf_str(&b), X_OK) == 0)
				return buf_detach(&b, NULL);
			buf_free(&b);
		}
	}
	return xstrdup("qw-pipeline");
}

static int write_port_file(const char *path, unsigned port, struct qw_err *err)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%u\n", port);

	return fsutil_write_atomic(path, text, (size_t)n, err);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "threads", required_argument, NULL, 't' },
		{ "search-threads", required_argument, NULL, 'j' },
		{ "max-body-size", required_argument, NULL, OPT_MAX_BODY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
		{ "port-file", required_argument, NULL, OPT_PORT_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT;
	struct http_router_config rcfg = { NULL, NULL, 0, 0 };
	struct server srv = { NULL, 10u << 20, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	struct sockaddr_storage addr;
	const char *listen_on = "127.0.0.1:7280", *port_file = NULL;
	uint64_t threads = 8, timeout = 60, shutdown_timeout = 30, u;
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	char *pipeline = NULL;
	sigset_t stop_sigs;
	int code = 0, sig, c;

	while ((c = getopt_long(argc, argv, "l:d:t:j:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_on = optarg;
			break;
		case 'd':
			rcfg.data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case 't':
			if (prog_parse_u64("--threads", optarg, 1, 1024, &threads, &err) < 0)
				goto fail;
			break;
		case 'j':
			if (prog_parse_u64("--search-threads", optarg, 1, 256, &u, &err) < 0)
				goto fail;
			rcfg.search_threads = (unsigned)u;
			break;
		case OPT_MAX_BODY:
			if (config_parse_size(optarg, &srv.max_body, &err) < 0) {
				err_prefix(&err, "--max-body-size");
				goto fail;
			}
			if (0)
				goto fail;
			break;
		case OPT_TIMEOUT:
			if (prog_parse_u64("--timeout", optarg, 1, 86400, &timeout, &err) < 0)
				goto fail;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			if (prog_parse_u64("--shutdown-timeout", optarg, 0, 86400, &shutdown_timeout,
					   &err) < 0)
				goto fail;
			break;
		case OPT_PORT_FILE:
			port_file = optarg;
			break;
		default: /* -h, -V or a usage error: nothing to free yet */
			return prog_getopt_tail(prog, c, usage);
		}
	}
	if (optind < argc) {
		usage(stderr);
		code = EX_USAGE;
		goto out;
	}
	if (parse_listen(listen_on, &addr, &err) < 0)
		goto fail;
	pipeline = find_pipeline();
	rcfg.pipeline_prog = pipeline;
	/* a gzip body may inflate to ten times the limit of what is sent */
	rcfg.max_body = srv.max_body > SIZE_MAX / 10 ? SIZE_MAX : (size_t)srv.max_body * 10;
	srv.router = http_router_new(&rcfg, &err);
	if (!srv.router)
		goto fail;
	/* every thread MHD starts inherits this mask: only sigwait takes them */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		err_errno(&err, EX_OSERR, "cannot set up signals");
		goto fail;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
				     (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_request, &srv,
			     MHD_OPTION_EXTERNAL_LOGGER, log_httpd, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
			     MHD_OPTION_END);
	if (!d) {
		err_set(&err, EX_UNAVAILABLE, "cannot listen on %s", listen_on);
		goto fail;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info) {
		err_set(&err, EX_SOFTWARE, "cannot read the port listened on");
		goto fail;
	}
	if (port_file && write_port_file(port_file, info->port, &err) < 0)
		goto fail;
	err_warn(prog, "listening on %s (port %u)", listen_on, info->port);
	while (sigwait(&stop_sigs, &sig) != 0)
		;
	err_warn(prog, "signal %d: stopping", sig);
	{
		MHD_socket lfd = MHD_quiesce_daemon(d);
		struct timespec deadline;

		if (lfd != MHD_INVALID_SOCKET)
			close(lfd);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += (time_t)shutdown_timeout;
		pthread_mutex_lock(&srv.lock);
		while (srv.in_flight > 0) {
			if (pthread_cond_timedwait(&srv.idle, &srv.lock, &deadline) == ETIMEDOUT)
				break;
		}
		if (srv.in_flight > 0)
			err_warn(prog, "%u requests still in flight after %llus: closing them", srv.in_flight,
				 (unsigned long long)shutdown_timeout);
		pthread_mutex_unlock(&srv.lock);
	}
	goto out;
fail:
	err_print(prog, &err);
	code = err.code ? err.code : EX_SOFTWARE;
out:
	if (d)
		MHD_stop_daemon(d);
	http_router_free(srv.router);
	free(pipeline);
	return prog_finish(prog, code);
}
