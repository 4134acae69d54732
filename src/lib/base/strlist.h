/*
 * strlist: a growable list of owned strings, filled from comma-separated
 * lists ("a,b,,c" gives a, b, c: empty items are dropped), as options and
 * request parameters give index ids and field names. One owner.
 */
#ifndef QW_STRLIST_H
#define QW_STRLIST_H

#include <stddef.h>

struct strlist {
	char **v;
	size_t n;
};

#define STRLIST_INIT { NULL, 0 }

/* Append a copy of the len bytes at s. */
void strlist_add(struct strlist *l, const char *s, size_t len);
/* Append the comma-separated items of s. */
void strlist_add_csv(struct strlist *l, const char *s);
/* qsort() comparator of an array of char * (a strlist's v among them): strcmp order. */
int strlist_cmp(const void *a, const void *b);
void strlist_free(struct strlist *l);

#endif
