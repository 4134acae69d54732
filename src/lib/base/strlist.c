/* strlist: owned strings from comma-separated lists. */
#include "base/strlist.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void strlist_add(struct strlist *l, const char *s, size_t len)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrndup(s, len);
}

int strlist_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void strlist_add_csv(struct strlist *l, const char *s)
{
	const char *p = s;

	while (*p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len)
			strlist_add(l, p, len);
		if (!c)
			break;
		p = c + 1;
	}
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
