/*
 * stage_target: open the metastore of a stage's target (see stage_target.h).
 */
#include <stddef.h>

#include "base/ids.h"
#include "store/metastore.h"
#include "pipeline/stage_target.h"

struct metastore *stage_target_open(const struct stage_target *t, struct qw_err *err)
{
	struct metastore *ms = metastore_open(t->data_dir, err);
	struct metastore *ret = NULL;

	if (!ms)
		goto out;
	if (t->index_id) {
		if (ids_check_index(t->index_id, err) < 0) {
			err->code = EX_USAGE;
			goto out;
		}
		if (!metastore_index_exists(ms, t->index_id)) {
			metastore_no_index(ms, t->index_id, err);
			goto out;
		}
	}
	ret = ms;
	ms = NULL;
out:
	if (ms)
		metastore_close(ms);
	return ret;
}
