/*
 * split_tags: a split's tags as Quickwit computes them for the config's
 * tag_fields (qw-split(5)): for each tag field always "field!", plus
 * "field:value" for every distinct indexed term of the field when there
 * are at most 1000 of them (none when there are more). Terms are given as
 * the dictionary holds them (termkey bytes for numbers); the value is
 * their text (decimal numbers, true/false, hex for ip and bytes).
 * Used by segment.c (qw-index) and split_merge.c (qw-merge): one rule.
 * Not thread-safe.
 */
#ifndef QW_SPLIT_TAGS_H
#define QW_SPLIT_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mapping/config.h"
#include "mapping/value.h"

struct split_tags;

struct split_tags *split_tags_new(const struct index_config *cfg);
void split_tags_free(struct split_tags *t);
/* A distinct term of field path (any field: those that are no tag field are ignored). */
void split_tags_add_term(struct split_tags *t, const char *path, enum value_kind kind,
			 const uint8_t *term, size_t len);
/* A new sorted JSON array of strings. */
json_t *split_tags_json(const struct split_tags *t);

#endif
