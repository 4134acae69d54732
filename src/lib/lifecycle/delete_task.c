#include "lifecycle/delete_task.h"
#include "mapping/config.h"
#include "search/search.h"

int delete_task_create(struct metastore *ms, const char *index_id,
		       const struct delete_task_request *rq, json_t **task, struct qw_err *err)
{
	struct delete_query q = { 0 };
	struct index_config *cfg = NULL;
	json_t *doc = NULL;
	int ret = -1;

	*task = NULL;
	if (!rq->query || !*rq->query) {
		err_set(err, EX_USAGE, "a delete task needs a query");
		goto out;
	}
	if (rq->has_start && rq->has_end && rq->start_timestamp >= rq->end_timestamp) {
		err_set(err, EX_USAGE, "the start timestamp of a delete task must be before its end "
			"timestamp");
		goto out;
	}
	doc = metastore_read(ms, index_id, err);
	if (!doc)
		goto out;
	cfg = config_from_json(json_object_get(doc, "index_config"), err);
	if (!cfg) {
		err_prefix(err, "index '%s': stored config", index_id);
		goto out;
	}
	if ((rq->has_start || rq->has_end) && !cfg->timestamp_field) {
		err_set(err, EX_USAGE, "index '%s' has no timestamp field: a delete task cannot "
			"have a time range", index_id);
		goto out;
	}
	q.query = rq->query;
	if (rq->search_fields) {
		q.search_fields = rq->search_fields;
		q.n_search_fields = rq->n_search_fields;
	} else {
		q.search_fields = (const char *const *)cfg->default_search_fields;
		q.n_search_fields = cfg->n_default_search_fields;
	}
	q.has_start = rq->has_start;
	q.start_timestamp = rq->start_timestamp;
	q.has_end = rq->has_end;
	q.end_timestamp = rq->end_timestamp;
	if (search_check_delete_query(doc, index_id, q.query, q.search_fields, q.n_search_fields,
				      err) < 0 ||
	    metastore_create_delete_task(ms, index_id, &q, task, err) < 0)
		goto out;
	ret = 0;
out:
	config_free(cfg);
	json_decref(doc);
	return ret;
}
