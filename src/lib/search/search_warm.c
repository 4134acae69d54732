/*
 * search_warm: the state a warm process keeps across searches (search.h):
 * its metastore, each index's document with the validator that
 * metastore_read_changed() checks, the memory copies of s3:// splits, and
 * the readers of the s3:// splits searched last, kept open (their parsed
 * hotcache, dictionary indexes and decompression context).
 */
#include <pthread.h>
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

/*
 * Readers kept open: a few, since each holds its parsed hotcache and what
 * it loaded (dictionary indexes, a doc store block); a search of more
 * splits opens the others from the memory copies.
 */
#define WARM_READERS_MAX 32

struct warm_reader {
	char *path;
	struct s3_client *s3;        /* the client the reader's requests go through */
	struct split_reader *r;
	uint64_t last_use;
};

struct search_warm {
	pthread_mutex_t readers_lock;   /* the searches' threads take and give readers */
	struct warm_reader readers[WARM_READERS_MAX];
	size_t n_readers;
	uint64_t uses;
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
	if (!w->splits || pthread_mutex_init(&w->readers_lock, NULL) != 0) {
		split_memcache_free(w->splits);
		free(w);
		return NULL;
	}
	return w;
}

static void close_reader(struct warm_reader *k)
{
	split_reader_close(k->r);
	free(k->path);
	memset(k, 0, sizeof(*k));
}

struct split_reader *warm_reader_take(struct search_warm *w, const char *path,
				      struct s3_client *s3)
{
	struct split_reader *r = NULL;

	pthread_mutex_lock(&w->readers_lock);
	for (size_t i = 0; i < w->n_readers && !r; i++) {
		struct warm_reader *k = &w->readers[i];

		if (k->s3 == s3 && !strcmp(k->path, path)) {
			r = k->r;
			free(k->path);
			*k = w->readers[--w->n_readers];
		}
	}
	pthread_mutex_unlock(&w->readers_lock);
	return r;
}

void warm_reader_give(struct search_warm *w, const char *path, struct s3_client *s3,
		      struct split_reader *r)
{
	struct warm_reader *slot = NULL;

	pthread_mutex_lock(&w->readers_lock);
	for (size_t i = 0; i < w->n_readers; i++)
		if (w->readers[i].s3 == s3 && !strcmp(w->readers[i].path, path)) {
			slot = &w->readers[i];   /* one kept per split is enough */
			close_reader(slot);
			break;
		}
	if (!slot && w->n_readers < WARM_READERS_MAX)
		slot = &w->readers[w->n_readers++];
	if (!slot) {
		/* full: the least recently used one goes */
		slot = &w->readers[0];
		for (size_t i = 1; i < w->n_readers; i++)
			if (w->readers[i].last_use < slot->last_use)
				slot = &w->readers[i];
		close_reader(slot);
	}
	slot->path = xstrdup(path);
	slot->s3 = s3;
	slot->r = r;
	slot->last_use = ++w->uses;
	pthread_mutex_unlock(&w->readers_lock);
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
	/* the readers first: they borrow the memory cache */
	for (size_t i = 0; i < w->n_readers; i++)
		close_reader(&w->readers[i]);
	pthread_mutex_destroy(&w->readers_lock);
	forget_indexes(w);
	free(w->ix);
	metastore_close(w->ms);
	free(w->data_dir);
	split_memcache_free(w->splits);
	free(w);
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
