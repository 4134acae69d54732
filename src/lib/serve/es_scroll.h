/*
 * es_scroll: the server-side state of Elasticsearch scrolls, as Quickwit
 * keeps it: a bounded cache, keyed by an opaque random scroll id, of the
 * search to resume (a JSON object the caller shapes: the index
 * expression, the request, the offset of the next page), each entry
 * expiring after its keep-alive (`scroll=30m`, at most
 * ES_SCROLL_MAX_TTL seconds, as Quickwit). A page of a scroll is the same
 * search with from = the offset of that page: the pages are those of
 * from/size.
 *
 * A full cache drops the entry that expires first. Thread safe: one cache
 * serves the router's concurrent requests (one mutex, held only to copy
 * an entry in or out).
 */
#ifndef QW_ES_SCROLL_H
#define QW_ES_SCROLL_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"

#define ES_SCROLL_ID_LEN 32      /* hex digits */
#define ES_SCROLL_MAX_TTL 1800   /* seconds: Quickwit's limit */
#define ES_SCROLL_CAPACITY 1024  /* live scrolls */

struct es_scroll;

/* NULL with err set when the lock cannot be made. */
struct es_scroll *es_scroll_new(size_t capacity, struct qw_err *err);
void es_scroll_free(struct es_scroll *c);

/*
 * A keep-alive ("30m", "90s", "1h", "500ms", "1d") in seconds, rounded up;
 * -1 with EX_USAGE when it does not parse or is above ES_SCROLL_MAX_TTL
 * (Quickwit's message).
 */
int es_scroll_ttl(const char *s, unsigned *seconds, struct qw_err *err);

/* Store a copy of state for ttl seconds under a new id (NUL-terminated). */
int es_scroll_put(struct es_scroll *c, json_t *state, unsigned ttl,
		  char id[ES_SCROLL_ID_LEN + 1], struct qw_err *err);
/*
 * A copy of the live state of id (*state, the caller's), or -1 with
 * EX_NOINPUT when id is unknown or expired.
 */
int es_scroll_get(struct es_scroll *c, const char *id, json_t **state, struct qw_err *err);
/* Replace the state of id and renew its keep-alive; -1 (EX_NOINPUT) when gone. */
int es_scroll_update(struct es_scroll *c, const char *id, json_t *state, unsigned ttl,
		     struct qw_err *err);

#endif
