/*
 * pq_api: libpq, loaded when a postgresql:// metastore is opened (dlopen
 * of libpq.so.5), called through a table of its entry points.
 *
 * Why: as for libcurl (curl_api.h), linked in, libpq brings OpenSSL,
 * Kerberos and LDAP into every program of libqw and their load time into
 * every process start, while only a PostgreSQL metastore needs it. The
 * header comes from libpq-dev (configure checks it); at run time
 * libpq.so.5 (Debian's libpq5) must be there for postgresql:// only, and
 * its absence is said then (EX_UNAVAILABLE).
 *
 * Built with -DQW_PQ_LINKED (qw-lambda-pg.zip's static bootstrap, make
 * lambda-pg), libpq is linked in instead: one built by
 * src/lambda/build-libpq. With -DQW_PQ_NONE (qw-lambda.zip's) there is
 * none, and loading says which zip has it (EX_UNAVAILABLE).
 *
 * A table is owned by its loader (the metastore) and closed with it.
 */
#ifndef QW_PQ_API_H
#define QW_PQ_API_H

#include <libpq-fe.h>

#include "base/err.h"

struct pq_api {
	void *lib;      /* the dlopen handle */
	PGconn *(*connectdb_params)(const char *const *keywords, const char *const *values,
				    int expand_dbname);
	ConnStatusType (*status)(const PGconn *conn);
	char *(*error_message)(const PGconn *conn);
	void (*finish)(PGconn *conn);
	PGresult *(*exec)(PGconn *conn, const char *query);
	PGresult *(*exec_params)(PGconn *conn, const char *command, int n_params,
				 const Oid *param_types, const char *const *param_values,
				 const int *param_lengths, const int *param_formats,
				 int result_format);
	ExecStatusType (*result_status)(const PGresult *res);
	char *(*result_error_field)(const PGresult *res, int fieldcode);
	char *(*result_error_message)(const PGresult *res);
	void (*clear)(PGresult *res);
	int (*ntuples)(const PGresult *res);
	char *(*getvalue)(const PGresult *res, int tup, int field);
	int (*getisnull)(const PGresult *res, int tup, int field);
	PGTransactionStatusType (*transaction_status)(const PGconn *conn);
	int (*connection_needs_password)(const PGconn *conn);
};

/* Load libpq into api; -1 with err set. */
int pq_api_load(struct pq_api *api, struct qw_err *err);
/* Close what pq_api_load() opened (a zeroed table is a no-op). */
void pq_api_close(struct pq_api *api);

#endif
