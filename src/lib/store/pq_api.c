/* pq_api: libpq loaded with dlopen, only where postgresql:// needs it. */
#include "store/pq_api.h"

#include <dlfcn.h>
#include <string.h>

/* The entry points, once: the table's field and libpq's name. */
#define PQ_API_ENTRIES(X) \
	X(connectdb_params, PQconnectdbParams) \
	X(status, PQstatus) \
	X(error_message, PQerrorMessage) \
	X(finish, PQfinish) \
	X(exec, PQexec) \
	X(exec_params, PQexecParams) \
	X(result_status, PQresultStatus) \
	X(result_error_field, PQresultErrorField) \
	X(result_error_message, PQresultErrorMessage) \
	X(clear, PQclear) \
	X(ntuples, PQntuples) \
	X(getvalue, PQgetvalue) \
	X(getisnull, PQgetisnull) \
	X(transaction_status, PQtransactionStatus) \
	X(connection_needs_password, PQconnectionNeedsPassword)

#if defined(QW_PQ_NONE)
/* qw-lambda.zip's static bootstrap (make lambda) has no libpq: its static
 * glibc cannot dlopen one, and linked in with OpenSSL it would double the
 * zip. make lambda-pg builds the one that has it. */
int pq_api_load(struct pq_api *api, struct qw_err *err)
{
	memset(api, 0, sizeof(*api));
	return err_set(err, EX_UNAVAILABLE,
		       "postgresql: this build has no libpq: deploy qw-lambda-pg.zip (make lambda-pg) "
		       "for a postgresql:// metastore");
}
#elif defined(QW_PQ_LINKED)
/* qw-lambda-pg.zip's static bootstrap (make lambda-pg) links libpq in: a
 * static glibc program cannot dlopen reliably. */
#define LINK(field, name) api->field = name;

int pq_api_load(struct pq_api *api, struct qw_err *err)
{
	(void)err;
	memset(api, 0, sizeof(*api));
	PQ_API_ENTRIES(LINK)
	return 0;
}
#else
#define LOAD(field, name) \
	*(void **)&api->field = dlsym(api->lib, #name); \
	if (!api->field) { \
		err_set(err, EX_UNAVAILABLE, "postgresql: libpq has no '%s': %s", #name, dlerror()); \
		goto fail; \
	}

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
	PQ_API_ENTRIES(LOAD)
	return 0;
fail:
	pq_api_close(api);
	return -1;
}
#endif

void pq_api_close(struct pq_api *api)
{
#if !defined(QW_PQ_LINKED) && !defined(QW_PQ_NONE)
	if (api->lib)
		dlclose(api->lib);
#endif
	memset(api, 0, sizeof(*api));
}
