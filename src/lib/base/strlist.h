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

/* Append the comma-separated items of s. */
void strlist_add_csv(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

#endif
