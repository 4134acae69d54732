/* pq_api: libpq loaded with dlopen, only where postgresql:// needs it. */
#include "store/pq_api.h"

#include <dlfcn.h>
#include <string.h>

#define LOAD(field, name) do { \
		*(void **)&api->field = dlsym(api->lib, name); \
		if (!api->field) { \
			err_set(err, EX_UNAVAILABLE, "postgresql: libpq has no '%s': %s", name, \
				dlerror()); \
			goto fail; \
		} \
	} while (0)

int pq_api_load(struct pq_api *api, struct qw_err *err)
{
	memset(api, 0, sizeof(*api));
	/* never unloaded (RTLD_NODELETE): OpenSSL and Kerberos, which it loads,
	 * leave exit handlers and thread keys behind that must stay mapped.
	 * RTLD_LAZY: binding every function of libpq, OpenSSL, Kerberos and
	 * LDAP at load was 15M instructions, 90% of a short process's (every
	 * stage of a pipeline opens the metastore), for the few it calls */
	api->lib = dlopen("libpq.so.5", RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE);
	if (!api->lib)
		return err_set(err, EX_UNAVAILABLE,
			       "postgresql: cannot load libpq (install Debian's libpq5): %s", dlerror());
	LOAD(connectdb_params, "PQconnectdbParams");
	LOAD(status, "PQstatus");
	LOAD(error_message, "PQerrorMessage");
	LOAD(finish, "PQfinish");
	LOAD(exec, "PQexec");
	LOAD(exec_params, "PQexecParams");
	LOAD(result_status, "PQresultStatus");
	LOAD(result_error_field, "PQresultErrorField");
	LOAD(result_error_message, "PQresultErrorMessage");
	LOAD(clear, "PQclear");
	LOAD(ntuples, "PQntuples");
	LOAD(getvalue, "PQgetvalue");
	LOAD(getisnull, "PQgetisnull");
	LOAD(transaction_status, "PQtransactionStatus");
	return 0;
fail:
	pq_api_close(api);
	return -1;
}

void pq_api_close(struct pq_api *api)
{
	if (api->lib)
		dlclose(api->lib);
	memset(api, 0, sizeof(*api));
}
