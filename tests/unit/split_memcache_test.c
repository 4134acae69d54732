/*
 * split_memcache_test: the LRU byte cache of src/lib/store/split_memcache.h
 * against a model kept here (which keys must be present after each step).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/split_memcache.h"
#include "tap.h"

/* Whether key holds n bytes of value v (each byte v). */
static int holds(struct split_memcache *c, const char *key, size_t n, int v)
{
	uint8_t *data;
	size_t len;
	int same;

	if (!split_memcache_get(c, key, &data, &len))
		return 0;
	same = len == n;
	for (size_t i = 0; same && i < n; i++)
		same = data[i] == (uint8_t)v;
	free(data);
	return same;
}

static void put(struct split_memcache *c, const char *key, size_t n, int v)
{
	uint8_t *b = malloc(n ? n : 1);

	memset(b, v, n);
	split_memcache_put(c, key, b, n);
	free(b);
}

static void *hammer(void *arg)
{
	struct split_memcache *c = arg;
	char key[32];
	uint8_t buf[100];

	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i % 50);
		if (!split_memcache_read(c, key, buf, sizeof(buf)))
			put(c, key, sizeof(buf), i % 50);
	}
	return NULL;
}

int main(void)
{
	struct split_memcache_stats st;
	struct split_memcache *c = split_memcache_new(8 * 1100);
	uint8_t buf[1000];
	pthread_t th[4];
	int all = 1;

	ok(c != NULL, "a cache of 8800 bytes");
	ok(!holds(c, "a", 1000, 1), "empty: a miss");
	put(c, "a", 1000, 1);
	put(c, "b", 1000, 2);
	ok(holds(c, "a", 1000, 1) && holds(c, "b", 1000, 2), "two entries kept, their bytes");
	ok(split_memcache_read(c, "a", buf, 1000) && buf[999] == 1, "read of the entry's length");
	ok(!split_memcache_read(c, "a", buf, 999), "read of another length: a miss");
	put(c, "a", 1000, 3);
	ok(holds(c, "a", 1000, 3), "a put replaces the entry of its key");
	/* 8 entries of ~1060 bytes do not fit 8800: the least recent go first */
	for (int i = 0; i < 7; i++) {
		char key[8];

		snprintf(key, sizeof(key), "x%d", i);
		holds(c, "a", 1000, 3);   /* a stays the most recent */
		put(c, key, 1000, 10 + i);
	}
	split_memcache_stats(c, &st);
	ok(st.bytes <= 8800, "the bound holds: %llu bytes", (unsigned long long)st.bytes);
	ok(holds(c, "a", 1000, 3), "the entry used at each step is kept");
	ok(!holds(c, "b", 1000, 2), "the least recently used is evicted");
	ok(holds(c, "x6", 1000, 16), "the newest is kept");
	ok(st.evictions > 0, "evictions counted: %llu", (unsigned long long)st.evictions);
	put(c, "big", 1200, 7);
	ok(!holds(c, "big", 1200, 7), "an entry over an eighth of the bound is not kept");
	split_memcache_drop(c, "a");
	ok(!holds(c, "a", 1000, 3), "dropped: a miss");
	split_memcache_free(c);

	c = split_memcache_new(0);
	put(c, "a", 10, 1);
	ok(!holds(c, "a", 10, 1), "a bound of 0 keeps nothing");
	split_memcache_free(c);

	c = split_memcache_new(1 << 20);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, c);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 50; i++) {
		char key[32];

		snprintf(key, sizeof(key), "k%d", i);
		all = all && holds(c, key, 100, i);
	}
	ok(all, "four threads sharing it: every entry holds its own bytes");
	split_memcache_stats(c, &st);
	ok(st.entries == 50, "50 entries (%llu)", (unsigned long long)st.entries);
	split_memcache_free(c);
	ok(!holds(NULL, "a", 1, 1) && !split_memcache_read(NULL, "a", buf, 1), "no cache: a miss");
	split_memcache_put(NULL, "a", buf, 1);   /* no cache: nothing kept, no crash */
	return tap_done();
}
