/*
 * es_dsl: Elasticsearch's query DSL (the "query" object of _search) into a
 * Quickwit query string (query.h's grammar), which search_run() parses and
 * checks against the index config as any other query.
 *
 * Served: match_all, match_none, query_string (query; fields and
 * default_field become search fields, not both), term and terms (raw
 * terms, not analyzed, as Elasticsearch: the grammar's field:IN [...];
 * case_insensitive as Quickwit, a (?i) regex), match (operator and/or),
 * match_phrase (slop), match_phrase_prefix (a phrase whose last word is a
 * prefix), match_bool_prefix (the last word as a prefix), multi_match (over
 * its fields, a list or one string), range (gt/gte/lt/lte; a date "format"
 * of Java pattern letters, epoch_millis or epoch_second turns the bounds
 * into RFC 3339), exists, prefix
 * (case_insensitive a regex), wildcard, regexp (the grammar's /re/), and
 * bool (must/filter AND, should OR, must_not NOT; should only filters when
 * there is no must/filter or with minimum_should_match >= 1). Values are
 * escaped so that a value is one word of the grammar. What has no exact
 * translation (fuzzy, fuzziness, an unknown query type) is refused with
 * EX_USAGE and a message that names it: never a query that silently means
 * something else.
 *
 * The output buffer is the caller's; pure and reentrant.
 */
#ifndef QW_ES_DSL_H
#define QW_ES_DSL_H

#include <stdbool.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Append the query string for query (a DSL object; NULL means match_all) to
 * out. Fields of query_string's "fields"/"default_field" are appended to
 * *search_fields (a JSON array the caller owns, created when NULL).
 * 0, or -1 with EX_USAGE.
 */
int es_dsl_to_query(json_t *query, struct buf *out, json_t **search_fields, struct qw_err *err);
/*
 * Does a clause of query say "lenient": true? Then the whole search is
 * lenient (search_request.lenient: unknown fields and values of the wrong
 * type match nothing): qw's query string has no per-clause leniency.
 */
bool es_dsl_lenient(json_t *query);

#endif
