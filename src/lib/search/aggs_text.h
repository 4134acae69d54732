/*
 * aggs_text: the aggregations of a search response as tables for people
 * (qw-search --format text).
 *
 * One table per aggregation, in the response's order, after a line with
 * its name: a bucket aggregation (terms, histogram, date_histogram, range,
 * composite) as one row per bucket, its key (key_as_string when there is
 * one) then its doc_count, columns aligned; a metric as "name: value" (a
 * JSON value). Sub-aggregations of a bucket are not shown. With bars (a
 * terminal), a date_histogram's rows also get a bar as long as the count
 * relative to the largest one (40 columns for it): a histogram of the time
 * range at a glance.
 */
#ifndef QW_AGGS_TEXT_H
#define QW_AGGS_TEXT_H

#include <stdbool.h>

#include <jansson.h>

#include "base/buf.h"

/* aggs: the response's "aggregations" object (NULL: nothing appended);
 * request: the request's aggs (for each one's type), or NULL. */
void aggs_text(json_t *aggs, json_t *request, bool bars, struct buf *out);

#endif
