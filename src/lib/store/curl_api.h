/*
 * curl_api: libcurl, loaded when the first S3 client is made (dlopen of
 * libcurl.so.4), called through a table of its entry points.
 *
 * Why: linked in, libcurl brings about 30 shared libraries (OpenSSL,
 * nghttp2, libssh2, Kerberos, LDAP...) into every program of libqw, and
 * loading them costs about 6 ms at each process start, three times the
 * whole of a selective qw-search on a local index. Only s3:// needs it.
 * The header still comes from libcurl's -dev package (configure checks
 * it); at run time libcurl.so.4 (Debian's libcurl4) must be there for
 * s3:// only, and its absence is said then (EX_UNAVAILABLE).
 * Built with -DQW_CURL_LINKED (qw-lambda's static bootstrap, make lambda),
 * the table points at a libcurl linked into the program instead.
 *
 * A table is owned by its loader (the S3 client) and closed with it; it
 * may be shared by threads once loaded.
 */
#ifndef QW_CURL_API_H
#define QW_CURL_API_H

#include <curl/curl.h>

#include "base/err.h"

struct curl_api {
	void *lib;      /* the dlopen handle */
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_reset)(CURL *h);
	void (*easy_cleanup)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/* Load libcurl into api and run curl_global_init(); -1 with err set. */
int curl_api_load(struct curl_api *api, struct qw_err *err);
/* Close what curl_api_load() opened (a zeroed table is a no-op). */
void curl_api_close(struct curl_api *api);

#endif
