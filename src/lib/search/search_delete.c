/*
 * search_delete: where delete tasks meet search (search_int.h, search.h):
 * the docs of a split that the delete tasks not yet applied to it hide.
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "search/search_int.h"

static bool task_ts(json_t *dq, const char *key, int64_t *v)
{
	json_t *j = json_object_get(dq, key);

	if (!json_is_integer(j))
		return false;
	*v = (int64_t)json_integer_value(j);
	return true;
}

/*
 * OR into del the docs of the split that the delete tasks of tasks with an
 * opstamp above after hide (metastore.h, "delete tasks"): each task's
 * query, with its own search fields, within its time range. The one
 * place where deletes meet search: search_split() and search_deleted_docs().
 */
static int deleted_docs(struct split_ctx *split, const char *index_id, json_t *tasks,
			uint64_t after, struct bitset *del)
{
	struct task *saved = split->t;
	struct bitset one;
	size_t i;
	json_t *t;
	int rc = 0;

	bs_init(&one, split->num_docs);
	json_array_foreach(tasks, i, t) {
		json_t *dq = json_object_get(t, "delete_query"), *jf = json_object_get(dq, "search_fields");
		json_int_t opstamp = json_integer_value(json_object_get(t, "opstamp"));
		const char *qs = json_string_value(json_object_get(dq, "query"));
		struct index_ctx dix;
		struct task dt;
		struct query_node *q;
		int64_t start = 0, end = 0;
		bool has_start = task_ts(dq, "start_timestamp", &start);
		bool has_end = task_ts(dq, "end_timestamp", &end);
		size_t j;

		if (opstamp <= 0 || (uint64_t)opstamp <= after)
			continue;
		if (!qs) {
			rc = err_set(split->err, EX_DATAERR, "delete task %lld has no query",
				     (long long)opstamp);
			break;
		}
		q = query_parse(qs, split->err);
		if (!q) {
			err_prefix(split->err, "delete task %lld", (long long)opstamp);
			rc = -1;
			break;
		}
		memset(&dix, 0, sizeof(dix));
		memset(&dt, 0, sizeof(dt));
		dix.index_id = (char *)index_id;
		dix.cfg = (struct index_config *)split->cfg;
		dix.search_fields = xcalloc(json_array_size(jf) + 1, sizeof(*dix.search_fields));
		for (j = 0; j < json_array_size(jf); j++)
			if (json_is_string(json_array_get(jf, j)))
				dix.search_fields[dix.n_search_fields++] =
					(char *)json_string_value(json_array_get(jf, j));
		dt.ix = &dix;
		split->t = &dt;
		bs_clear(&one);
		rc = check_query(&dix, &dix, 1, q, split->err);
		if (rc == 0)
			rc = eval(split, q, &one);
		if (rc == 0)
			rc = time_range_filter(split, has_start, start, has_end, end, &one);
		split->t = saved;
		free(dix.search_fields);
		query_free(q);
		if (rc < 0) {
			err_prefix(split->err, "delete task %lld", (long long)opstamp);
			break;
		}
		bs_or(del, &one);
	}
	bs_free(&one);
	return rc;
}

/* Take from bits the docs hidden by delete tasks not yet applied to the split. */
int delete_filter(struct split_ctx *split, struct bitset *bits)
{
	json_t *tasks = metastore_delete_tasks_doc(split->t->ix->meta);
	struct bitset del;
	int rc;

	if (!tasks || split->t->delete_opstamp >= metastore_last_delete_opstamp(split->t->ix->meta))
		return 0;
	bs_init(&del, split->num_docs);
	rc = deleted_docs(split, split->t->ix->index_id, tasks, split->t->delete_opstamp, &del);
	bs_andnot(bits, &del);
	bs_free(&del);
	return rc;
}

int search_check_delete_query(json_t *index_meta, const char *index_id, const char *query,
			      const char *const *search_fields, size_t n_search_fields,
			      struct qw_err *err)
{
	struct index_ctx ix;
	struct query_node *q = NULL;
	int rc = -1;

	memset(&ix, 0, sizeof(ix));
	ix.index_id = (char *)index_id;
	ix.meta = index_meta;
	ix.cfg = config_from_json(json_object_get(index_meta, "index_config"), err);
	if (!ix.cfg) {
		err_prefix(err, "index '%s': stored config", index_id);
		goto out;
	}
	ix.search_fields = (char **)search_fields;
	ix.n_search_fields = n_search_fields;
	q = query_parse(query && *query ? query : "*", err);
	if (!q)
		goto out;
	rc = check_query(&ix, &ix, 1, q, err);
out:
	query_free(q);
	config_free(ix.cfg);
	return rc;
}

int search_deleted_docs(json_t *index_meta, const char *index_id,
			const struct index_config *cfg, struct split_reader *r,
			uint64_t after_opstamp, uint8_t **deleted, uint64_t *n_deleted,
			struct qw_err *err)
{
	struct split_ctx split;
	struct bitset del;
	json_t *tasks = metastore_delete_tasks_doc(index_meta);
	uint32_t doc;
	int rc = 0;

	*deleted = NULL;
	*n_deleted = 0;
	if (!tasks || after_opstamp >= metastore_last_delete_opstamp(index_meta))
		return 0;
	memset(&split, 0, sizeof(split));
	split.r = r;
	split.cfg = cfg;
	split.err = err;
	split.num_docs = split_reader_num_docs(r);
	tokenizer_init(&split.ts);
	bs_init(&del, split.num_docs);
	rc = deleted_docs(&split, index_id, tasks, after_opstamp, &del);
	if (rc == 0 && bs_count(&del) > 0) {
		*deleted = xcalloc(split.num_docs, 1);
		for (doc = bs_next(&del, 0); doc != UINT32_MAX; doc = bs_next(&del, doc + 1))
			(*deleted)[doc] = 1;
		*n_deleted = bs_count(&del);
	}
	bs_free(&del);
	tokenizer_free(&split.ts);
	return rc;
}
