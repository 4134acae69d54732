/*
 * query_fuzz: the query-string parser must never crash, leak or read out
 * of bounds, and a parsed tree must render (query_dump) without error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search/query.h"
#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qw_err err = QW_ERR_INIT;
	struct query_node *n;
	struct buf b = BUF_INIT;
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	n = query_parse(s, &err);
	if (n) {
		query_dump(n, &b);
		query_free(n);
	} else if (err.code != 65) {
		abort();
	}
	buf_free(&b);
	free(s);
	return 0;
}
