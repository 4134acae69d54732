/*
 * split_memcache: an LRU map of byte copies bounded by bytes (see
 * split_memcache.h). A chained hash table over a fixed number of buckets
 * finds an entry; a doubly-linked list orders the entries from the most
 * to the least recently used.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "store/split_memcache.h"

#define MEMCACHE_BUCKETS 1024   /* a power of two; a few thousand entries at most */

struct mc_entry {
	struct mc_entry *next_in_bucket;
	struct mc_entry *newer, *older;  /* the LRU list */
	uint32_t hash;
	size_t len;
	char *key;
	uint8_t *data;
};

struct split_memcache {
	pthread_mutex_t lock;
	uint64_t max_bytes, bytes;
	struct mc_entry *buckets[MEMCACHE_BUCKETS];
	struct mc_entry *newest, *oldest;
	struct split_memcache_stats stats;
};

static uint32_t key_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

/* What an entry costs against the bound: its bytes, its key and its record. */
static uint64_t entry_cost(const char *key, size_t len)
{
	return (uint64_t)len + strlen(key) + 1 + sizeof(struct mc_entry);
}

struct split_memcache *split_memcache_new(uint64_t max_bytes)
{
	struct split_memcache *c = xcalloc(1, sizeof(*c));

	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->max_bytes = max_bytes;
	return c;
}

static void lru_unlink(struct split_memcache *c, struct mc_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push_newest(struct split_memcache *c, struct mc_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

/* The entry of key, or NULL; *link: where the bucket chain points at it. */
static struct mc_entry *find(struct split_memcache *c, const char *key, uint32_t h,
			     struct mc_entry ***link)
{
	struct mc_entry **l = &c->buckets[h & (MEMCACHE_BUCKETS - 1)];

	for (; *l; l = &(*l)->next_in_bucket)
		if ((*l)->hash == h && !strcmp((*l)->key, key))
			break;
	if (link)
		*link = l;
	return *l;
}

/* Unlink entry e (found at *link) from both structures and free it. */
static void remove_entry(struct split_memcache *c, struct mc_entry **link, struct mc_entry *e)
{
	*link = e->next_in_bucket;
	lru_unlink(c, e);
	c->bytes -= entry_cost(e->key, e->len);
	c->stats.entries--;
	free(e->key);
	free(e->data);
	free(e);
}

static void remove_key(struct split_memcache *c, const char *key)
{
	struct mc_entry **link;
	struct mc_entry *e = find(c, key, key_hash(key), &link);

	if (e)
		remove_entry(c, link, e);
}

void split_memcache_free(struct split_memcache *c)
{
	if (!c)
		return;
	while (c->oldest)
		remove_key(c, c->oldest->key);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The entry of key made the most recent (counted as a hit or a miss). */
static struct mc_entry *lookup(struct split_memcache *c, const char *key)
{
	struct mc_entry *e = find(c, key, key_hash(key), NULL);

	if (!e) {
		c->stats.misses++;
		return NULL;
	}
	c->stats.hits++;
	lru_unlink(c, e);
	lru_push_newest(c, e);
	return e;
}

/*
 * A hit of key copied out under the lock: into buf when it holds exactly
 * want bytes (buf non-NULL), else into a new *data of *len bytes.
 */
static int fetch(struct split_memcache *c, const char *key, void *buf, size_t want,
		 uint8_t **data, size_t *len)
{
	struct mc_entry *e;
	int hit = 0;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	e = lookup(c, key);
	if (e && buf && e->len == want) {
		memcpy(buf, e->data, want);
		hit = 1;
	} else if (e && !buf) {
		*data = xmalloc(e->len ? e->len : 1);
		memcpy(*data, e->data, e->len);
		*len = e->len;
		hit = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

int split_memcache_get(struct split_memcache *c, const char *key, uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	return fetch(c, key, NULL, 0, data, len);
}

int split_memcache_read(struct split_memcache *c, const char *key, void *buf, size_t len)
{
	return fetch(c, key, buf, len, NULL, NULL);
}

void split_memcache_put(struct split_memcache *c, const char *key, const void *data, size_t len)
{
	uint64_t cost;
	struct mc_entry *e;

	if (!c)
		return;
	cost = entry_cost(key, len);
	pthread_mutex_lock(&c->lock);
	remove_key(c, key);
	if (cost <= c->max_bytes / 8) {
		while (c->oldest && c->bytes + cost > c->max_bytes) {
			remove_key(c, c->oldest->key);
			c->stats.evictions++;
		}
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->hash = key_hash(key);
		e->len = len;
		e->data = xmalloc(len ? len : 1);
		memcpy(e->data, data, len);
		e->next_in_bucket = c->buckets[e->hash & (MEMCACHE_BUCKETS - 1)];
		c->buckets[e->hash & (MEMCACHE_BUCKETS - 1)] = e;
		lru_push_newest(c, e);
		c->bytes += cost;
		c->stats.entries++;
	}
	pthread_mutex_unlock(&c->lock);
}

void split_memcache_drop(struct split_memcache *c, const char *key)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	remove_key(c, key);
	pthread_mutex_unlock(&c->lock);
}

void split_memcache_stats(struct split_memcache *c, struct split_memcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
}
