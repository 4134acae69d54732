/*
 * metastore_delete_tasks: the delete tasks of an index and the
 * delete_opstamp of its splits (the "delete tasks" part of metastore.h).
 * Built on metastore_read() and metastore_update() only, so a backend
 * that stores the index document gets them; one that stores records in
 * tables ports these calls with the same contract.
 */
#include <string.h>

#include "base/clock.h"
#include "store/metastore.h"

static uint64_t json_u64(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

uint64_t metastore_last_delete_opstamp(json_t *index_meta)
{
	uint64_t last = json_u64(json_object_get(index_meta, "last_delete_opstamp"));
	json_t *tasks = json_object_get(index_meta, "delete_tasks");
	size_t i;
	json_t *t;

	/* never below a recorded task, whatever wrote the file */
	json_array_foreach(tasks, i, t)
		if (json_u64(json_object_get(t, "opstamp")) > last)
			last = json_u64(json_object_get(t, "opstamp"));
	return last;
}

uint64_t metastore_split_delete_opstamp(json_t *split_metadata)
{
	return json_u64(json_object_get(split_metadata, "delete_opstamp"));
}

json_t *metastore_delete_tasks_doc(json_t *index_meta)
{
	json_t *tasks = json_object_get(index_meta, "delete_tasks");

	return json_is_array(tasks) && json_array_size(tasks) > 0 ? tasks : NULL;
}

struct create_ctx {
	const struct delete_query *q;
	json_t *task;
};

static json_t *opt_ts(bool has, int64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

static int create_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct create_ctx *c = vctx;
	const struct delete_query *q = c->q;
	json_t *tasks = json_object_get(doc, "delete_tasks");
	json_t *fields = json_array(), *task;
	uint64_t opstamp = metastore_last_delete_opstamp(doc) + 1;

	for (size_t i = 0; i < q->n_search_fields; i++)
		json_array_append_new(fields, json_string(q->search_fields[i]));
	task = json_pack("{s:I,s:I,s:{s:s?,s:s,s:o,s:o,s:o}}",
			 "create_timestamp", (json_int_t)clock_wall_s(),
			 "opstamp", (json_int_t)opstamp,
			 "delete_query",
			 "index_uid", json_string_value(json_object_get(doc, "index_uid")),
			 "query", q->query,
			 "search_fields", fields,
			 "start_timestamp", opt_ts(q->has_start, q->start_timestamp),
			 "end_timestamp", opt_ts(q->has_end, q->end_timestamp));
	if (!task)
		return err_set(err, EX_SOFTWARE, "cannot build the delete task");
	if (!json_is_array(tasks)) {
		tasks = json_array();
		if (json_object_set_new(doc, "delete_tasks", tasks) < 0) {
			json_decref(task);
			return err_set(err, EX_SOFTWARE, "cannot record the delete task");
		}
	}
	if (json_array_append(tasks, task) < 0 ||
	    json_object_set_new(doc, "last_delete_opstamp", json_integer((json_int_t)opstamp)) < 0) {
		json_decref(task);
		return err_set(err, EX_SOFTWARE, "cannot record the delete task");
	}
	c->task = task;
	return 0;
}

int metastore_create_delete_task(struct metastore *ms, const char *index_id,
				 const struct delete_query *q, json_t **task, struct qw_err *err)
{
	struct create_ctx c = { q, NULL };

	if (task)
		*task = NULL;
	if (metastore_update(ms, index_id, create_tx, &c, err) < 0) {
		json_decref(c.task);
		return -1;
	}
	if (task)
		*task = c.task;
	else
		json_decref(c.task);
	return 0;
}

json_t *metastore_list_delete_tasks(struct metastore *ms, const char *index_id,
				    struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err), *tasks, *out;

	if (!doc)
		return NULL;
	tasks = metastore_delete_tasks_doc(doc);
	out = tasks ? json_deep_copy(tasks) : json_array();
	json_decref(doc);
	if (!out)
		err_set(err, EX_SOFTWARE, "cannot copy the delete tasks");
	return out;
}

struct raise_ctx {
	const char *split_id;
	uint64_t opstamp;
};

static int raise_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct raise_ctx *c = vctx;
	json_t *rec = json_object_get(json_object_get(doc, "splits"), c->split_id);
	json_t *meta = json_object_get(rec, "metadata");
	const char *state = json_string_value(json_object_get(rec, "split_state"));

	if (!state || strcmp(state, SPLIT_PUBLISHED) != 0 || !json_is_object(meta))
		return err_set(err, EX_TEMPFAIL, "split '%s' is %s, not %s", c->split_id,
			       state ? state : "gone", SPLIT_PUBLISHED);
	if (metastore_split_delete_opstamp(meta) >= c->opstamp)
		return 0;
	if (json_object_set_new(meta, "delete_opstamp", json_integer((json_int_t)c->opstamp)) < 0)
		return err_set(err, EX_SOFTWARE, "cannot update split '%s'", c->split_id);
	return 0;
}

int metastore_raise_delete_opstamp(struct metastore *ms, const char *index_id,
				   const char *split_id, uint64_t opstamp, struct qw_err *err)
{
	struct raise_ctx c = { split_id, opstamp };

	return metastore_update(ms, index_id, raise_tx, &c, err);
}
