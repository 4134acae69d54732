#include <stdlib.h>

#include "lifecycle/janitor.h"
#include "lifecycle/retention.h"
#include "lifecycle/schedule.h"
#include "mapping/config.h"

int janitor_pass(struct janitor *j, int64_t now_s, json_t *report, struct qw_err *err)
{
	struct index_config *cfg = metastore_index_config(j->ms, j->index_id, err);
	json_t *gc = NULL;
	int ret = -1;

	if (!cfg)
		return -1;
	if (cfg->retention_period_s <= 0) {
		j->next_retention_s = 0;
	} else if (!j->started || (j->next_retention_s > 0 && now_s >= j->next_retention_s)) {
		if (retention_apply(j->ms, j->index_id, now_s, j->gc.dry_run, report, err) < 0)
			goto out;
		if (schedule_next(cfg->retention_schedule ? cfg->retention_schedule : "hourly",
				  now_s, &j->next_retention_s, err) < 0) {
			err_prefix(err, "index '%s': retention", j->index_id);
			goto out;
		}
	} else if (j->next_retention_s == 0) {
		/* retention added since the last pass: from now on, by schedule */
		if (schedule_next(cfg->retention_schedule ? cfg->retention_schedule : "hourly",
				  now_s, &j->next_retention_s, err) < 0)
			goto out;
	}
	j->started = true;
	if (gc_run(j->ms, j->index_id, &j->gc, &gc, err) < 0)
		goto out;
	json_array_extend(report, gc);
	ret = 0;
out:
	json_decref(gc);
	config_free(cfg);
	return ret;
}
