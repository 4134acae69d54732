/*
 * json_load_fuzz: libFuzzer target for json_load_fast(), against jansson
 * itself as the oracle. On any input, under each flag set docmap uses: when
 * the fast reader gives a tree, json_loadb() must give one too, and the two
 * must serialize to the same bytes (types, values, key order, the way a
 * duplicate key resolves; reals in 17 digits, so any difference of value
 * shows). When the fast reader gives up, nothing is checked: jansson decides.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapping/json_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *text, size_t len, size_t flags)
{
	json_error_t jerr;
	json_t *fast = json_load_fast(text, len, flags), *ref;
	char *a, *b;

	if (!fast)
		return;
	ref = json_loadb(text, len, flags, &jerr);
	if (!ref)
		abort();        /* the fast reader accepted what jansson refuses */
	a = json_dumps(fast, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
	b = json_dumps(ref, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (!a || !b || strcmp(a, b) != 0 || !json_equal(fast, ref))
		abort();
	free(a);
	free(b);
	json_decref(ref);
	json_decref(fast);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check((const char *)data, size, 0);
	check((const char *)data, size, JSON_DECODE_ANY);
	return 0;
}
