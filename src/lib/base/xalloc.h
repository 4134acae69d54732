/*
 * xalloc: allocation that cannot return NULL.
 *
 * Running out of memory is not a condition qw recovers from: these print
 * "qw: out of memory" and exit with EX_OSERR (71), as git's xmalloc does.
 * Array growth is overflow-checked.
 */
#ifndef QW_XALLOC_H
#define QW_XALLOC_H

#include <stddef.h>

/* Print "qw: out of memory" and exit 71 (for allocators of other libraries). */
_Noreturn void xalloc_die(void);
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

/* Grow array a (of *cap elements) so that it holds at least need elements. */
#define XGROW(a, need, cap) do { \
	if ((size_t)(need) > (cap)) { \
		size_t xg_new_ = (cap) ? (cap) * 2 : 8; \
		while (xg_new_ < (size_t)(need)) xg_new_ *= 2; \
		(a) = xreallocarray((a), xg_new_, sizeof(*(a))); \
		(cap) = xg_new_; \
	} \
} while (0)

#endif
