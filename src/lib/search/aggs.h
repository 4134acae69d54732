/*
 * aggs: Elasticsearch/Quickwit aggregations: request parsing, collection
 * per split, merging across splits, and the response in Elasticsearch's
 * shape.
 *
 * aggs_parse() validates the "aggs" JSON object (terms, multi_terms,
 * composite, date_histogram, histogram, range, min, max, avg, sum, stats,
 * extended_stats, value_count, cardinality, percentiles, top_hits; nested
 * "aggs"/"aggregations" under bucket aggregations). Errors are EX_DATAERR
 * with the path of the offending key ("aggs.hosts.terms.size: expected a
 * positive integer"); an option a type does not take is an error too
 * ("aggs.h.terms: unsupported option 'include'"), never ignored.
 *
 * Collection does not know about splits: the caller hands an agg_source
 * that binds field paths and returns the values of a doc (search_aggsrc.c does it
 * over fast-field columns; tests over arrays). One struct agg_result per
 * split (aggs_collect_*), merged into one (aggs_merge), then rendered once
 * (aggs_to_json). Terms buckets are cut to split_size/shard_size per split
 * and after the merge, counting doc_count_error_upper_bound as Quickwit
 * does, when they are ordered by count, largest first (other orders keep
 * every bucket: exact). Composite keeps its size first keys per split
 * (exact); top_hits its from + size best docs, with their docvalue_fields
 * read at collection. At most 64 values of one field are looked at per document.
 * Percentiles are exact ranks reported as DDSketch (1% relative accuracy)
 * bin values, as tantivy's. Requests are read-only after parsing (share
 * them between threads); results belong to one thread until merged.
 */
#ifndef QW_AGGS_H
#define QW_AGGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"

enum agg_value_kind {
	AV_STR,
	AV_I64,
	AV_U64,
	AV_F64,
	AV_DATETIME,   /* microseconds since the epoch */
	AV_BOOL,       /* in .u: 0 or 1 */
};

struct agg_value {
	enum agg_value_kind kind;
	union {
		int64_t i;
		uint64_t u;
		double f;
	} v;
	const char *s;        /* AV_STR (not NUL-terminated) */
	size_t len;
	int dict;             /* AV_STR from a dictionary: its id (>= 0, stable within a split), else -1 */
	uint64_t ord;         /* ordinal in that dictionary */
};

/* What a split offers to the collector. */
struct agg_source {
	void *ctx;
	/* A handle for field path (>= 0), or -1 when no doc of the split has it. */
	int (*bind)(void *ctx, const char *path);
	/* Up to max values of doc for handle; returns how many the doc has (may exceed max). */
	size_t (*values)(void *ctx, int handle, uint32_t doc, struct agg_value *out, size_t max);
	/*
	 * Optional (NULL: not offered): the one value of each of docs[0..n)
	 * (n <= AGGS_BATCH, ascending) for handle into out[0..n); false, with
	 * out undefined, when some doc has not exactly one value (the
	 * collector then asks values() doc by doc).
	 */
	bool (*values_one)(void *ctx, int handle, const uint32_t *docs, size_t n, struct agg_value *out);
	/* String of dictionary entry (for AV_STR values with dict >= 0). */
	int (*dict_term)(void *ctx, int dict, uint64_t ord, const char **s, size_t *len);
};

struct agg_req;
struct agg_result;

struct agg_req *aggs_parse(json_t *aggs, struct qw_err *err);
void aggs_req_free(struct agg_req *req);
/* Fields the request reads (for pruning and checks); borrowed strings. */
size_t aggs_fields(const struct agg_req *req, const char **out, size_t max);

/* A fresh result for one split; bind fields through src. */
struct agg_result *aggs_collect_begin(const struct agg_req *req, const struct agg_source *src);
void aggs_collect_doc(struct agg_result *res, uint32_t doc);
/* The same for docs[0..n) (ascending): one batch read per field when the
 * source offers values_one, the same counts as aggs_collect_doc() of each. */
#define AGGS_BATCH 128
void aggs_collect_docs(struct agg_result *res, const uint32_t *docs, size_t n);
/* Cut per-split term buckets; after this, the result no longer uses src. */
void aggs_collect_end(struct agg_result *res);
/* Merge from into into (from is freed). */
void aggs_merge(struct agg_result *into, struct agg_result *from);
/* The "aggregations" object. res may be NULL (no split): empty buckets. */
json_t *aggs_to_json(const struct agg_req *req, struct agg_result *res);
void aggs_result_free(struct agg_result *res);

#endif
