/*
 * metastore_splits: split records out of the index document (see the
 * "split records" part of metastore.h). Built on the public metastore
 * calls only, so every backend gets them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "base/xalloc.h"

const char *split_state_name(enum split_state state)
{
	switch (state) {
	case SPLIT_STATE_STAGED:
		return SPLIT_STAGED;
	case SPLIT_STATE_PUBLISHED:
		return SPLIT_PUBLISHED;
	case SPLIT_STATE_MARKED:
		return SPLIT_MARKED;
	case SPLIT_STATE_OTHER:
		break;
	}
	return NULL;
}

enum split_state split_state_parse(const char *name)
{
	if (!name)
		return SPLIT_STATE_OTHER;
	if (!strcmp(name, SPLIT_STAGED))
		return SPLIT_STATE_STAGED;
	if (!strcmp(name, SPLIT_PUBLISHED))
		return SPLIT_STATE_PUBLISHED;
	if (!strcmp(name, SPLIT_MARKED))
		return SPLIT_STATE_MARKED;
	return SPLIT_STATE_OTHER;
}

static bool is_current_token(json_t *doc, const char *token)
{
	json_t *tokens = json_object_get(doc, "publish_tokens");
	const char *k;
	json_t *v;

	if (!token)
		return false;
	json_object_foreach(tokens, k, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), token))
			return true;
	return false;
}

/* An integer member: true and *out set when present and an integer. */
static bool get_int(json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

static void decode_split(json_t *doc, const char *id, json_t *rec, enum split_state state,
			 struct split_record *r)
{
	json_t *meta = json_object_get(rec, "metadata");
	json_t *range = json_object_get(meta, "time_range");
	json_t *tags = json_object_get(meta, "tags");
	const char *token = json_string_value(json_object_get(rec, "publish_token"));
	size_t i;
	json_t *t;

	memset(r, 0, sizeof(*r));
	r->split_id = xstrdup(id);
	r->state = state;
	r->publish_token = token ? xstrdup(token) : NULL;
	r->token_is_current = is_current_token(doc, token);
	/* Absent counts are 0, as the summaries have always counted them. */
	get_int(meta, "num_docs", &r->num_docs);
	get_int(meta, "uncompressed_docs_size_in_bytes", &r->uncompressed_docs_size_in_bytes);
	r->has_size = get_int(meta, "split_size_bytes", &r->size_bytes);
	r->has_time_range = json_is_object(range) && get_int(range, "start", &r->time_start) &&
			    get_int(range, "end", &r->time_end);
	if (json_is_array(tags)) {
		r->tags = xcalloc(json_array_size(tags) + 1, sizeof(*r->tags));
		json_array_foreach(tags, i, t)
			if (json_is_string(t))
				r->tags[r->n_tags++] = xstrdup(json_string_value(t));
	}
	r->has_create_timestamp = get_int(meta, "create_timestamp", &r->create_timestamp);
	r->has_update_timestamp = get_int(rec, "update_timestamp", &r->update_timestamp);
	r->has_publish_timestamp = get_int(rec, "publish_timestamp", &r->publish_timestamp);
	r->delete_opstamp = metastore_split_delete_opstamp(meta);
}

static int cmp_record(const void *a, const void *b)
{
	return strcmp(((const struct split_record *)a)->split_id,
		      ((const struct split_record *)b)->split_id);
}

void metastore_split_records(json_t *index_meta, unsigned states, struct split_record **recs,
			     size_t *n)
{
	json_t *splits = json_object_get(index_meta, "splits");
	struct split_record *out = NULL;
	size_t count = 0;
	const char *id;
	json_t *rec;

	if (json_object_size(splits) > 0)
		out = xcalloc(json_object_size(splits), sizeof(*out));
	json_object_foreach(splits, id, rec) {
		enum split_state state =
			split_state_parse(json_string_value(json_object_get(rec, "split_state")));

		if (!(state & states))
			continue;
		decode_split(index_meta, id, rec, state, &out[count++]);
	}
	if (count > 1)
		qsort(out, count, sizeof(*out), cmp_record);
	*recs = out;
	*n = count;
}

int metastore_list_splits(struct metastore *ms, const char *index_id, unsigned states,
			  struct split_record **recs, size_t *n, struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err);

	*recs = NULL;
	*n = 0;
	if (!doc)
		return -1;
	metastore_split_records(doc, states, recs, n);
	json_decref(doc);
	return 0;
}

void metastore_free_splits(struct split_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < recs[i].n_tags; j++)
			free(recs[i].tags[j]);
		free(recs[i].tags);
		free(recs[i].publish_token);
		free(recs[i].split_id);
	}
	free(recs);
}

struct unpublished_ctx {
	const char *const *split_ids;
	size_t n;
	bool *marked;
};

static int mark_unpublished_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct unpublished_ctx *c = vctx;
	json_t *splits = json_object_get(doc, "splits");
	json_int_t now = (json_int_t)clock_wall_s();

	for (size_t i = 0; i < c->n; i++) {
		json_t *rec = json_object_get(splits, c->split_ids[i]);
		enum split_state state =
			split_state_parse(json_string_value(json_object_get(rec, "split_state")));

		c->marked[i] = state == SPLIT_STATE_MARKED;
		if (state != SPLIT_STATE_STAGED)
			continue;
		if (json_object_set_new(rec, "split_state", json_string(SPLIT_MARKED)) < 0 ||
		    json_object_set_new(rec, "update_timestamp", json_integer(now)) < 0)
			return err_set(err, EX_SOFTWARE, "cannot update split '%s'",
				       c->split_ids[i]);
		c->marked[i] = true;
	}
	return 0;
}

int metastore_mark_unpublished_for_deletion(struct metastore *ms, const char *index_id,
					    const char *const *split_ids, size_t n, bool *marked,
					    struct qw_err *err)
{
	struct unpublished_ctx c = { split_ids, n, marked };
	int ret = -1;

	memset(marked, 0, n * sizeof(*marked));
	if (ids_check_index(index_id, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!ids_is_ulid(split_ids[i])) {
			err_set(err, EX_USAGE, "invalid split id '%.64s': not a ULID",
				split_ids[i] ? split_ids[i] : "");
			goto out;
		}
	if (metastore_update(ms, index_id, mark_unpublished_tx, &c, err) < 0) {
		/* aborted: nothing was written, whatever the transaction saw */
		memset(marked, 0, n * sizeof(*marked));
		goto out;
	}
	ret = 0;
out:
	return ret;
}
