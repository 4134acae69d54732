/*
 * search_warm: the state a warm process keeps across searches (search.h):
 * its metastore, each index's document with the validator that
 * metastore_read_changed() checks, and the memory copies of s3:// splits.
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "search/search_int.h"
#include "store/split_memcache.h"

struct warm_index {
	char *index_id;
	char *tag;           /* the validator of doc (metastore_read_changed) */
	json_t *doc;
};

struct search_warm {
	struct split_memcache *splits;
	struct metastore *ms;
	char *data_dir;              /* what ms was opened on */
	struct s3_client *ms_s3;     /* the client ms borrows */
	struct warm_index *ix;
	size_t n_ix, cap_ix;
};

struct search_warm *search_warm_new(uint64_t cache_bytes)
{
	struct search_warm *w = xcalloc(1, sizeof(*w));

	w->splits = split_memcache_new(cache_bytes);
	if (!w->splits) {
		free(w);
		return NULL;
	}
	return w;
}

static void forget_indexes(struct search_warm *w)
{
	for (size_t i = 0; i < w->n_ix; i++) {
		free(w->ix[i].index_id);
		free(w->ix[i].tag);
		json_decref(w->ix[i].doc);
	}
	w->n_ix = 0;
}

void search_warm_free(struct search_warm *w)
{
	if (!w)
		return;
	forget_indexes(w);
	free(w->ix);
	metastore_close(w->ms);
	free(w->data_dir);
	split_memcache_free(w->splits);
	free(w);
}

void search_warm_stats(const struct search_warm *w, struct search_warm_stats *out)
{
	struct split_memcache_stats mc;

	memset(out, 0, sizeof(*out));
	if (!w)
		return;
	split_memcache_stats(w->splits, &mc);
	out->indexes = w->n_ix;
	out->entries = mc.entries;
	out->bytes = mc.bytes;
	out->hits = mc.hits;
	out->misses = mc.misses;
}

struct split_memcache *warm_splits(const struct search_warm *w)
{
	return w ? w->splits : NULL;
}

struct metastore *warm_metastore(struct search_warm *w, const char *data_dir,
				 struct s3_client *s3, struct qw_err *err)
{
	const char *dir = metastore_resolve_data_dir(data_dir);

	if (w->ms && w->ms_s3 == s3 && !strcmp(w->data_dir, dir))
		return w->ms;
	/* another data dir or client: what was kept described another metastore */
	forget_indexes(w);
	metastore_close(w->ms);
	free(w->data_dir);
	w->data_dir = xstrdup(dir);
	w->ms_s3 = s3;
	w->ms = metastore_open_s3(dir, s3, err);
	return w->ms;
}

json_t *warm_index_meta(struct search_warm *w, const char *index_id, struct qw_err *err)
{
	struct warm_index *e = NULL;
	size_t i;

	for (i = 0; i < w->n_ix && !e; i++)
		if (!strcmp(w->ix[i].index_id, index_id))
			e = &w->ix[i];
	if (!e) {
		XGROW(w->ix, w->n_ix + 1, w->cap_ix);
		e = &w->ix[w->n_ix++];
		memset(e, 0, sizeof(*e));
		e->index_id = xstrdup(index_id);
	}
	if (metastore_read_changed(w->ms, index_id, &e->tag, &e->doc, err) < 0) {
		/* gone or unreadable: the next search reads it anew */
		free(e->index_id);
		free(e->tag);
		json_decref(e->doc);
		*e = w->ix[--w->n_ix];
		return NULL;
	}
	return json_incref(e->doc);
}
