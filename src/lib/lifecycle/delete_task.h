/*
 * delete_task: create a delete task the way every front end does (qw
 * delete-task create, qw-serve's POST /api/v1/<index>/delete-tasks).
 *
 * delete_task_create() checks the request against the index (the query as
 * a search checks it, with the index's default search fields unless
 * search_fields is given; a time range needs a timestamp field and start
 * before end) and records the task (metastore.h, "delete tasks"): *task
 * gets it as Quickwit shows it (new reference). Errors: EX_USAGE a bad
 * time range, EX_DATAERR a bad query, EX_NOINPUT no such index, and the
 * metastore's.
 */
#ifndef QW_DELETE_TASK_H
#define QW_DELETE_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "store/metastore.h"

struct delete_task_request {
	const char *query;
	const char *const *search_fields;   /* NULL: the index's default search fields */
	size_t n_search_fields;
	bool has_start, has_end;
	int64_t start_timestamp, end_timestamp;   /* seconds, end excluded */
};

int delete_task_create(struct metastore *ms, const char *index_id,
		       const struct delete_task_request *rq, json_t **task, struct qw_err *err);

#endif
