/* curl_api: libcurl loaded with dlopen, only where s3:// needs it. */
#include "store/curl_api.h"

#include <dlfcn.h>
#include <string.h>

/* Debian's libcurl4 (OpenSSL) and libcurl3-gnutls name their library so. */
static const char *const curl_sonames[] = { "libcurl.so.4", "libcurl-gnutls.so.4" };

#define LOAD(field, name) do { \
		*(void **)&api->field = dlsym(api->lib, name); \
		if (!api->field) { \
			err_set(err, EX_UNAVAILABLE, "s3: libcurl has no '%s': %s", name, dlerror()); \
			goto fail; \
		} \
	} while (0)

int curl_api_load(struct curl_api *api, struct qw_err *err)
{
	const char *why = "";

	memset(api, 0, sizeof(*api));
	for (size_t i = 0; i < sizeof(curl_sonames) / sizeof(curl_sonames[0]) && !api->lib; i++) {
		api->lib = dlopen(curl_sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (!api->lib && i == 0)
			why = dlerror();
	}
	if (!api->lib)
		return err_set(err, EX_UNAVAILABLE,
			       "s3: cannot load libcurl (install Debian's libcurl4): %s", why);
	LOAD(global_init, "curl_global_init");
	LOAD(easy_init, "curl_easy_init");
	LOAD(easy_reset, "curl_easy_reset");
	LOAD(easy_cleanup, "curl_easy_cleanup");
	LOAD(easy_setopt, "curl_easy_setopt");
	LOAD(easy_perform, "curl_easy_perform");
	LOAD(easy_getinfo, "curl_easy_getinfo");
	LOAD(easy_strerror, "curl_easy_strerror");
	LOAD(slist_append, "curl_slist_append");
	LOAD(slist_free_all, "curl_slist_free_all");
	if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(err, EX_SOFTWARE, "s3: cannot initialise libcurl");
		goto fail;
	}
	return 0;
fail:
	curl_api_close(api);
	return -1;
}

void curl_api_close(struct curl_api *api)
{
	if (api->lib)
		dlclose(api->lib);
	memset(api, 0, sizeof(*api));
}
