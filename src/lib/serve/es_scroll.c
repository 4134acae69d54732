/*
 * es_scroll: the bounded, expiring cache of scroll states (es_scroll.h).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/es_scroll.h"
#include "base/ids.h"
#include "base/xalloc.h"

struct entry {
	char id[ES_SCROLL_ID_LEN + 1]; /* "" when free */
	double expires;                /* monotonic seconds */
	json_t *state;
};

struct es_scroll {
	pthread_mutex_t lock;
	struct entry *e;
	size_t cap;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct es_scroll *es_scroll_new(size_t capacity, struct qw_err *err)
{
	struct es_scroll *c = xcalloc(1, sizeof(*c));

	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		err_set(err, EX_OSERR, "cannot create the scroll lock");
		return NULL;
	}
	c->cap = capacity ? capacity : 1;
	c->e = xcalloc(c->cap, sizeof(*c->e));
	return c;
}

void es_scroll_free(struct es_scroll *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->cap; i++)
		json_decref(c->e[i].state);
	free(c->e);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int es_scroll_ttl(const char *s, unsigned *seconds, struct qw_err *err)
{
	char *end;
	double v, unit;

	v = strtod(s, &end);
	if (end == s || !(v >= 0) || isspace((unsigned char)*s))
		return err_set(err, EX_USAGE, "Invalid argument: bad scroll keep-alive `%s`", s);
	if (strcmp(end, "ms") == 0)
		unit = 0.001;
	else if (strcmp(end, "s") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0)
		unit = 60;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "d") == 0)
		unit = 86400;
	else
		return err_set(err, EX_USAGE, "Invalid argument: bad scroll keep-alive `%s`", s);
	v *= unit;
	if (v > ES_SCROLL_MAX_TTL)
		return err_set(err, EX_USAGE,
			       "Invalid argument: Quickwit only supports scroll TTL period up to %d secs",
			       ES_SCROLL_MAX_TTL);
	*seconds = (unsigned)v + ((double)(unsigned)v < v);
	return 0;
}

/* The live entry of id, or NULL; expired entries met are freed. Locked. */
static struct entry *find(struct es_scroll *c, const char *id, double t)
{
	size_t i;

	for (i = 0; i < c->cap; i++) {
		struct entry *e = &c->e[i];

		if (!e->id[0])
			continue;
		if (e->expires < t) {
			json_decref(e->state);
			e->state = NULL;
			e->id[0] = '\0';
			continue;
		}
		if (strcmp(e->id, id) == 0)
			return e;
	}
	return NULL;
}

int es_scroll_put(struct es_scroll *c, json_t *state, unsigned ttl,
		  char id[ES_SCROLL_ID_LEN + 1], struct qw_err *err)
{
	unsigned char raw[ES_SCROLL_ID_LEN / 2];
	struct entry *slot = NULL;
	double t = now();
	size_t i;

	if (ids_random(raw, sizeof(raw), err) < 0)
		return -1;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	pthread_mutex_lock(&c->lock);
	find(c, "", t); /* drops what expired */
	for (i = 0; i < c->cap && !slot; i++)
		if (!c->e[i].id[0])
			slot = &c->e[i];
	if (!slot) {
		/* full: the entry that expires first goes */
		slot = &c->e[0];
		for (i = 1; i < c->cap; i++)
			if (c->e[i].expires < slot->expires)
				slot = &c->e[i];
		json_decref(slot->state);
	}
	memcpy(slot->id, id, ES_SCROLL_ID_LEN + 1);
	slot->expires = t + ttl;
	slot->state = json_deep_copy(state);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int es_scroll_get(struct es_scroll *c, const char *id, json_t **state, struct qw_err *err)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	e = strlen(id) == ES_SCROLL_ID_LEN ? find(c, id, now()) : NULL;
	*state = e ? json_deep_copy(e->state) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (!*state)
		return err_set(err, EX_NOINPUT, "No search context found for id [%.64s]", id);
	return 0;
}

int es_scroll_update(struct es_scroll *c, const char *id, json_t *state, unsigned ttl,
		     struct qw_err *err)
{
	struct entry *e;
	double t = now();

	pthread_mutex_lock(&c->lock);
	e = find(c, id, t);
	if (e) {
		json_decref(e->state);
		e->state = json_deep_copy(state);
		e->expires = t + ttl;
	}
	pthread_mutex_unlock(&c->lock);
	if (!e)
		return err_set(err, EX_NOINPUT, "No search context found for id [%.64s]", id);
	return 0;
}
