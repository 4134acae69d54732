/* metastore_pg: not implemented yet (see metastore_backend.h). */
#include "store/metastore_backend.h"

int metastore_pg_open(struct metastore *ms, const char *uri, struct qw_err *err)
{
	(void)ms;
	return err_set(err, EX_UNAVAILABLE, "metastore '%s': backend not implemented yet", uri);
}
