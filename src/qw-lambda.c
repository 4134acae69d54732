/*
 * qw-lambda: qw-serve's API as an AWS Lambda function (the zip's bootstrap).
 *
 * A loop over the Lambda Runtime API (lambda_runtime.h): take the next
 * invocation, turn its event into a router request (lambda_event.h), let
 * http_router_handle() answer it as it answers qw-serve's requests, post
 * the payload back. The process lives across warm invocations, and with it
 * the router and the split cache: QW_SPLIT_CACHE_DIR, by default
 * $TMPDIR/qw-split-cache (/tmp on Lambda), where the footers and every
 * range read are kept, so that a warm search reads only what no earlier
 * one did (split_cache.h); and so does one S3 client, made at the first
 * invocation and lent to the router, whose pooled connections serve the
 * next invocations without a new connect or TLS handshake; and so does
 * the search state (search.h, struct search_warm): the metastore kept
 * open, each index document revalidated by one stat or one conditional
 * GET instead of read again, and the footers, hotcaches and ranges of
 * s3:// splits in memory (QW_WARM_CACHE_MAX_BYTES, default 64 MiB, 0:
 * none), so that a warm search opens its splits without a file read. An
 * unusable configuration is reported to .../init/error before exiting; a
 * malformed event to that invocation's .../error, and the loop goes on.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/prog.h"
#include "base/buf.h"
#include "base/err.h"
#include "serve/http_router.h"
#include "serve/lambda_event.h"
#include "serve/lambda_runtime.h"
#include "search/search.h"
#include "store/s3.h"

static const char *prog = "qw-lambda";

#define DEBIAN_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define AL2023_CA_BUNDLE "/etc/pki/tls/certs/ca-bundle.crt"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Answer AWS Lambda invocations (API Gateway, function URL or direct search\n"
		"requests) with qw-serve's API, through the Lambda Runtime API.\n"
		"\n"
		"Options:\n"
		"  -r, --runtime-api HOST:PORT  the Runtime API (default $AWS_LAMBDA_RUNTIME_API)\n"
		"  -d, --data-dir DIR           data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"  -i, --index ID               index of direct invocations without an index_id\n"
		"                               (default $QW_LAMBDA_INDEX_ID)\n"
		"  -j, --search-threads N       splits searched in parallel per request\n"
		"                               (default: number of cores)\n"
		"      --max-invocations N      exit after N invocations (default: never)\n"
		"  -h, --help                   show this help and exit\n"
		"  -V, --version                show the version and exit\n",
		prog);
}

enum {
	OPT_MAX_INVOCATIONS = 256,
};

/*
 * The S3 client the warm process keeps for its searches, or NULL when the
 * environment configures none (no credentials, no libcurl, a bad
 * setting): each search then makes its own and reports why it cannot, as
 * it would have anyway.
 */
static struct s3_client *warm_s3_client(void)
{
	struct qw_err ignore = QW_ERR_INIT;
	struct s3_client *c = s3_client_new(&ignore);

	err_clear(&ignore);
	return c;
}

#define WARM_CACHE_DEFAULT (64ull << 20)

/*
 * The bound of the warm search state's split memory: QW_WARM_CACHE_MAX_BYTES,
 * else 64 MiB (a small share of the smallest sensible function's memory).
 */
static int warm_cache_bytes(uint64_t *out, struct qw_err *err)
{
	const char *v = getenv("QW_WARM_CACHE_MAX_BYTES");

	*out = WARM_CACHE_DEFAULT;
	if (!v || !*v)
		return 0;
	return prog_parse_u64("QW_WARM_CACHE_MAX_BYTES", v, 0, UINT64_MAX, out, err);
}

/* Answer one event; a failure to talk to the Runtime API is the only error. */
static int invoke(struct lambda_runtime *rt, struct http_router *router, const char *index,
		  const char *id, const struct buf *event, struct qw_err *err)
{
	struct lambda_event ev;
	struct http_response resp = { 0, NULL, BUF_INIT };
	struct qw_err perr = QW_ERR_INIT;
	struct buf out = BUF_INIT;
	int rc;

	if (lambda_event_parse(event->data ? event->data : "", event->len, index, &ev, &perr) < 0) {
		err_warn(prog, "invocation %s: %s", id, perr.msg);
		lambda_error_doc("InvalidEvent", perr.msg, &out);
		rc = lambda_runtime_error(rt, id, "InvalidEvent", buf_str(&out), err);
		goto out;
	}
	http_router_handle(router, &ev.req, &resp);
	if (lambda_response_encode(&ev, &resp, &out) == 1)
		rc = lambda_runtime_error(rt, id, "SearchError", buf_str(&out), err);
	else
		rc = lambda_runtime_respond(rt, id, out.data, out.len, err);
	http_response_free(&resp);
	lambda_event_free(&ev);
out:
	buf_free(&out);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runtime-api", required_argument, NULL, 'r' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "index", required_argument, NULL, 'i' },
		{ "search-threads", required_argument, NULL, 'j' },
		{ "max-invocations", required_argument, NULL, OPT_MAX_INVOCATIONS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT, ierr = QW_ERR_INIT;
	struct http_router_config rcfg = { NULL, NULL, 0, 0 };
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API"), *index = getenv("QW_LAMBDA_INDEX_ID");
	struct lambda_runtime *rt = NULL;
	struct http_router *router = NULL;
	struct s3_client *s3 = NULL;   /* made at the first invocation, not in init's time */
	struct search_warm *warm = NULL;  /* likewise; freed before s3, which its metastore borrows */
	struct buf event = BUF_INIT, doc = BUF_INIT;
	uint64_t max_inv = 0, u, n, warm_bytes;
	const char *dir;
	struct stat st;
	char *id = NULL;
	int code = 0, c;

	while ((c = getopt_long(argc, argv, "r:d:i:j:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			api = optarg;
			break;
		case 'd':
			rcfg.data_dir = optarg;
			break;
		case 'i':
			index = optarg;
			break;
		case 'j':
			if (prog_parse_u64("--search-threads", optarg, 1, 256, &u, &err) < 0)
				goto fail;
			rcfg.search_threads = (unsigned)u;
			break;
		case OPT_MAX_INVOCATIONS:
			if (prog_parse_u64("--max-invocations", optarg, 1, UINT64_MAX, &max_inv, &err) < 0)
				goto fail;
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
	if (!api || !*api) {
		err_set(&err, EX_USAGE, "no Runtime API: set AWS_LAMBDA_RUNTIME_API or --runtime-api");
		goto fail;
	}
	/* a warm function keeps what it read in /tmp unless told otherwise ("": none) */
	if (!getenv("QW_SPLIT_CACHE_DIR")) {
		const char *tmp = getenv("TMPDIR");

		buf_addf(&doc, "%s/qw-split-cache", tmp && *tmp ? tmp : "/tmp");
		setenv("QW_SPLIT_CACHE_DIR", buf_str(&doc), 1);
		buf_reset(&doc);
	}
	/* libpq looks for ~/.pgpass and ~/.postgresql/ under $HOME, else in
	 * the passwd entry, which a static glibc reads through NSS modules of
	 * another glibc (Amazon Linux's): without a HOME, the temp dir */
	{
		const char *home = getenv("HOME"), *tmp = getenv("TMPDIR");

		if (!home || !*home)
			setenv("HOME", tmp && *tmp ? tmp : "/tmp", 1);
	}
	/* the static bootstrap's libcurl knows Debian's CA path; Amazon Linux's is this */
	if (!getenv("CURL_CA_BUNDLE") && access(DEBIAN_CA_BUNDLE, R_OK) != 0 &&
	    access(AL2023_CA_BUNDLE, R_OK) == 0)
		setenv("CURL_CA_BUNDLE", AL2023_CA_BUNDLE, 1);
	rt = lambda_runtime_new(api, &err);
	if (!rt)
		goto fail;
	/* from here on a configuration error is also Lambda's init error */
	dir = prog_data_dir(rcfg.data_dir);
	if (warm_cache_bytes(&warm_bytes, &ierr) < 0) {
		router = NULL;   /* ierr says why */
	} else if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err_errno(&ierr, EX_NOINPUT, "data directory '%s'", dir);
	} else {
		rcfg.data_dir = dir;
		router = http_router_new(&rcfg, &ierr);
	}
	if (!router) {
		err = ierr;
		lambda_error_doc("Runtime.InitError", ierr.msg, &doc);
		if (lambda_runtime_error(rt, NULL, "Runtime.InitError", buf_str(&doc), &ierr) < 0)
			err_warn(prog, "%s", ierr.msg);
		goto fail;
	}
	for (n = 0; !max_inv || n < max_inv; n++) {
		if (lambda_runtime_next(rt, &event, &id, &err) < 0)
			goto fail;
		if (n == 0) {
			s3 = warm_s3_client();
			http_router_set_s3(router, s3);
			warm = search_warm_new(warm_bytes);
			http_router_set_warm(router, warm);   /* NULL (no memory): searches as cold */
		}
		if (invoke(rt, router, index, id, &event, &err) < 0)
			goto fail;
		free(id);
		id = NULL;
	}
	goto out;
fail:
	err_print(prog, &err);
	code = err.code ? err.code : EX_SOFTWARE;
out:
	free(id);
	buf_free(&doc);
	buf_free(&event);
	http_router_free(router);
	search_warm_free(warm);
	s3_client_free(s3);
	lambda_runtime_free(rt);
	return prog_finish(prog, code);
}
