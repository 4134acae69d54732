#include <string.h>

#include "base/clock.h"
#include "mapping/config.h"
#include "lifecycle/retention.h"

struct retention_ctx {
	int64_t cutoff_us;       /* a split whose newest doc is before this expires */
	bool dry_run;
	json_t *report;
};

/* Is this split record past the cutoff? */
static bool expired(json_t *rec, int64_t cutoff_us)
{
	json_t *meta = json_object_get(rec, "metadata");
	json_t *tr_us = json_object_get(meta, "time_range_us");
	json_t *tr = json_object_get(meta, "time_range");

	if (json_is_integer(json_object_get(tr_us, "end")))
		return json_integer_value(json_object_get(tr_us, "end")) < cutoff_us;
	/* seconds, truncated: the newest doc is before end + 1 */
	if (json_is_integer(json_object_get(tr, "end")))
		return (json_integer_value(json_object_get(tr, "end")) + 1) * 1000000 <= cutoff_us;
	return false;
}

static int retention_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct retention_ctx *c = vctx;
	json_int_t now = (json_int_t)clock_wall_s();
	const char *id;
	json_t *rec;

	json_array_clear(c->report);
	json_object_foreach(json_object_get(doc, "splits"), id, rec) {
		const char *state = json_string_value(json_object_get(rec, "split_state"));

		if (!state || strcmp(state, SPLIT_PUBLISHED) != 0 || !expired(rec, c->cutoff_us))
			continue;
		json_array_append_new(c->report, json_pack("{s:s,s:s}", "split_id", id, "reason",
							   "retention"));
		if (c->dry_run)
			continue;
		if (json_object_set_new(rec, "split_state", json_string(SPLIT_MARKED)) < 0 ||
		    json_object_set_new(rec, "update_timestamp", json_integer(now)) < 0)
			return err_set(err, EX_SOFTWARE, "cannot update split '%s'", id);
	}
	if (c->dry_run || json_array_size(c->report) == 0)
		return err_set(err, 0, "nothing to write"); /* abort: no change, no write */
	return 0;
}

int retention_apply(struct metastore *ms, const char *index_id, int64_t now_s, bool dry_run,
		    json_t *report, struct qw_err *err)
{
	struct index_config *cfg = metastore_index_config(ms, index_id, err);
	json_t *found = json_array();
	struct retention_ctx c = { 0, dry_run, found };
	int ret = -1;

	if (!cfg)
		goto out;
	if (cfg->retention_period_s <= 0) {
		ret = 0;
		goto out;
	}
	c.cutoff_us = (now_s - cfg->retention_period_s) * 1000000;
	if (metastore_update(ms, index_id, retention_tx, &c, err) < 0 && err->code != 0)
		goto out;
	err_clear(err);
	json_array_extend(report, found);
	ret = 0;
out:
	json_decref(found);
	config_free(cfg);
	return ret;
}
