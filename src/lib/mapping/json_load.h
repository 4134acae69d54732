/*
 * json_load: a fast reader of JSON text into a jansson tree, for the
 * documents qw reads back by the thousand (the doc store's, at every
 * search that returns hits) and the lines qw-parse maps one by one.
 * jansson's parser takes about 150 instructions a byte; this one scans
 * strings a run at a time and builds the tree with jansson's own
 * constructors.
 *
 * The contract: json_load_fast(text, len, flags) either returns exactly
 * the tree json_loadb(text, len, flags, ...) returns (same types, values,
 * key order, duplicate keys resolved the same way: the last value in the
 * first key's place), or NULL. NULL means "ask jansson": the text is
 * invalid, or holds what the fast path leaves to jansson (a \u0000
 * escape, an integer beyond int64, a real that overflows, nesting deeper
 * than JSON_LOAD_FAST_DEPTH, flags other than JSON_DECODE_ANY). It never
 * accepts a text jansson refuses; tests/fuzz/json_load_fuzz checks the
 * contract against jansson on any input.
 */
#ifndef QW_JSON_LOAD_H
#define QW_JSON_LOAD_H

#include <jansson.h>
#include <stddef.h>

#define JSON_LOAD_FAST_DEPTH 64

json_t *json_load_fast(const char *text, size_t len, size_t flags);

#endif
