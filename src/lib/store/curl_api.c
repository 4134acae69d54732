/* curl_api: libcurl loaded with dlopen, only where s3:// needs it. */
#include "store/curl_api.h"

#include <dlfcn.h>
#include <string.h>

#ifndef QW_CURL_LINKED
/* Debian's libcurl4 (OpenSSL) and libcurl3-gnutls name their library so. */
static const char *const curl_sonames[] = { "libcurl.so.4", "libcurl-gnutls.so.4" };
#endif

/* The entry points, once: the table's field and libcurl's name. */
#define CURL_API_ENTRIES(X) \
	X(global_init, curl_global_init) \
	X(easy_init, curl_easy_init) \
	X(easy_reset, curl_easy_reset) \
	X(easy_cleanup, curl_easy_cleanup) \
	X(easy_setopt, curl_easy_setopt) \
	X(easy_perform, curl_easy_perform) \
	X(easy_getinfo, curl_easy_getinfo) \
	X(easy_strerror, curl_easy_strerror) \
	X(slist_append, curl_slist_append) \
	X(slist_free_all, curl_slist_free_all)

#ifdef QW_CURL_LINKED
/*
 * The static bootstrap of qw-lambda (make lambda) links libcurl in: a
 * static glibc program cannot dlopen reliably. The names are taken
 * without a call, so curl.h's type-checking macros do not apply.
 */
#define LINK(field, name) api->field = name;

int curl_api_load(struct curl_api *api, struct qw_err *err)
{
	memset(api, 0, sizeof(*api));
	CURL_API_ENTRIES(LINK)
	if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(err, EX_SOFTWARE, "s3: cannot initialise libcurl");
	return 0;
}
#else
#define LOAD(field, name) \
	*(void **)&api->field = dlsym(api->lib, #name); \
	if (!api->field) { \
		err_set(err, EX_UNAVAILABLE, "s3: libcurl has no '%s': %s", #name, dlerror()); \
		goto fail; \
	}

int curl_api_load(struct curl_api *api, struct qw_err *err)
{
	const char *why = "";

	memset(api, 0, sizeof(*api));
	for (size_t i = 0; i < sizeof(curl_sonames) / sizeof(curl_sonames[0]) && !api->lib; i++) {
		/* NODELETE: unloaded, OpenSSL's thread-locals left LeakSanitizer a
		 * dangling dynamic TLS range to scan (a crash at exit, qw-lambda) */
		api->lib = dlopen(curl_sonames[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
		if (!api->lib && i == 0)
			why = dlerror();
	}
	if (!api->lib)
		return err_set(err, EX_UNAVAILABLE,
			       "s3: cannot load libcurl (install Debian's libcurl4): %s", why);
	CURL_API_ENTRIES(LOAD)
	if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(err, EX_SOFTWARE, "s3: cannot initialise libcurl");
		goto fail;
	}
	return 0;
fail:
	curl_api_close(api);
	return -1;
}
#endif

void curl_api_close(struct curl_api *api)
{
#ifndef QW_CURL_LINKED
	if (api->lib)
		dlclose(api->lib);
#endif
	memset(api, 0, sizeof(*api));
}
