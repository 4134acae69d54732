/*
 * search: run a query over the published splits of one or more indexes.
 *
 * search_run() reads the metastore, checks the query against each index's
 * config (unknown fields, unfielded terms without default search fields,
 * phrases on fields without positions: EX_DATAERR naming the column),
 * prunes splits by time range and tag values before opening them, searches
 * the remaining splits in parallel (req->threads worker threads, one
 * split_reader per split), counts every hit exactly, keeps the top
 * start_offset + max_hits by the sort fields (read from fast columns) and
 * only then loads the stored documents it returns. Aggregations are
 * collected per split over fast columns and merged (aggs.h).
 *
 * The response is Quickwit's: {"num_hits", "hits", "snippets" (only when
 * snippet_fields are asked: one {field: [html fragments]} per hit, in the
 * order of hits; snippet.h), "elapsed_time_micros", "errors",
 * "aggregations" (only when asked), "stats" (only when asked)}. A split that cannot be read
 * is named in "errors" and the others are still searched; *partial is then
 * true. Sort: "field" is descending (newest/largest first), "-field"
 * ascending, two fields at most, comma-separated; without sort_by, the
 * index's timestamp field descending, else split then doc order. Docs
 * without a sort value come last; ties go by split id, then doc.
 *
 * Stats (req->stats): what the query read from storage, counted by the
 * split readers themselves (split_reader_io): {"splits", "requests",
 * "bytes" (totals), "local": {...}, "s3": {...} (the same three for each
 * kind of storage), "per_split": [{"split_id", "index_id", "storage"
 * ("local" or "s3"), "requests", "bytes", "footer_cached"}]}. For s3://
 * splits requests are HTTP requests (HEAD and retries included) and bytes
 * the response bytes; for local files, reads and bytes read (the page
 * cache may have served them). Splits pruned before opening cost nothing
 * and are not listed.
 *
 * Paging: a response with hits has "search_after", the sort values of its
 * last hit (one per sort key, null for a doc without a value) and a last
 * element "SPLIT_ID:DOC" that breaks ties. A request with search_after (that
 * array, or only its sort values, as Quickwit's) returns the hits that rank
 * strictly after it; num_hits still counts every match.
 */
#ifndef QW_SEARCH_H
#define QW_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"

struct s3_client;

/*
 * What a process that answers search after search keeps between them
 * (qw-lambda's warm function): the metastore, opened once; each index's
 * document with its validator, revalidated by every search
 * (metastore_read_changed(): a read and compare for the file metastore, one
 * conditional GET for an s3:// one, a query for PostgreSQL), so that a
 * split published, merged or deleted meanwhile is seen by the next
 * search; the footers, hotcaches and ranges read from s3:// splits, in
 * memory up to cache_bytes with LRU eviction (store/split_memcache.h:
 * keyed by the split's URI, size and range, so a split merged away is
 * never asked for again); and the readers of the last s3:// splits
 * searched (a few dozen), open, with their parsed hotcaches. Used by one
 * search at a time; that search's threads share it.
 */
struct search_warm;
struct search_warm *search_warm_new(uint64_t cache_bytes);
void search_warm_free(struct search_warm *w);

struct search_request {
	const char *const *indexes;         /* index ids */
	size_t n_indexes;
	const char *query;                  /* Quickwit query string; NULL means "*" */
	bool has_start, has_end;
	int64_t start_ts, end_ts;           /* seconds, start inclusive, end exclusive */
	uint64_t max_hits;
	uint64_t start_offset;
	const char *sort_by;                /* NULL: default order */
	const char *const *search_fields;   /* NULL: the config's default_search_fields */
	size_t n_search_fields;
	json_t *aggs;                       /* borrowed; NULL: no aggregations */
	const char *const *snippet_fields;  /* text fields to highlight ("snippets"); NULL: none */
	size_t n_snippet_fields;
	json_t *search_after;               /* borrowed; NULL: from the first hit */
	unsigned threads;                   /* 0: the number of online cores (at least
					     * 8 for s3:// splits, which wait on the network) */
	bool stats;                         /* add "stats" to the response */
	/*
	 * Borrowed: an S3 client kept across searches (qw-lambda's warm
	 * process), whose pooled connections then serve the next search
	 * instead of a new connect (and TLS handshake). NULL: a search of
	 * s3:// splits makes its own client and frees it.
	 */
	struct s3_client *s3;
	/* Borrowed: the state kept across searches (above); NULL: none, the
	 * search opens the metastore and reads every split anew. Its metastore
	 * borrows s3, which must outlive it. */
	struct search_warm *warm;
	/*
	 * NULL: the hits are the response's "hits". Else each hit is handed to
	 * on_hit in rank order as soon as it is fetched (borrowed for the call)
	 * and "hits" stays empty; on_hit returns 0 to go on, -1 to stop fetching
	 * (its output is gone). Snippets are not streamed.
	 */
	int (*on_hit)(void *ctx, json_t *hit);
	void *on_hit_ctx;
	/* the response also has "hit_indexes": the index id of each hit, in the
	 * order of hits (not with on_hit; not when *partial) */
	bool hit_indexes;
	/*
	 * Elasticsearch's lenient: a field the query names that an index does
	 * not have, or a value that cannot be of its field's type, matches
	 * nothing instead of being an error.
	 */
	bool lenient;
	/*
	 * One view of the indexes for a search made of several calls (pages
	 * that follow each other by search_after): with keep_snapshot, the
	 * call sets *keep_snapshot (new reference) to the indexes it searched
	 * with their metastore documents, their splits and delete tasks; a
	 * later call given it as snapshot (borrowed) searches those again,
	 * whatever was published, merged or deleted meanwhile, so that no hit
	 * is streamed twice or missed. A split of the snapshot whose file gc
	 * has removed since (after the deletion grace period) fails that
	 * call's answer as partial, naming it.
	 */
	json_t *snapshot;
	json_t **keep_snapshot;
};

/*
 * Run req on the metastore of data_dir (NULL: default). On success returns
 * 0 and *response (new reference); *partial says some split failed.
 * Errors: EX_USAGE bad request, EX_DATAERR bad query/aggs, EX_NOINPUT
 * unknown index, EX_IOERR/EX_DATAERR unreadable metastore.
 */
int search_run(const char *data_dir, const struct search_request *req, json_t **response,
	       bool *partial, struct qw_err *err);

/*
 * Delete tasks (metastore.h, "delete tasks"): a search hides the docs a
 * task's query matches within its time range in every split whose
 * delete_opstamp is below the task's opstamp (exact counts, aggregations
 * and hits alike).
 */
struct index_config;
struct split_reader;

/* Check a delete task's query against an index, as a search checks its
 * query (EX_DATAERR naming the column). */
int search_check_delete_query(json_t *index_meta, const char *index_id, const char *query,
			      const char *const *search_fields, size_t n_search_fields,
			      struct qw_err *err);
/*
 * The docs of split r that the delete tasks of index_meta above
 * after_opstamp hide: *deleted (malloc'ed, one byte per doc, 1 = hidden)
 * and *n_deleted; *deleted is NULL when none is. cfg is index_meta's.
 */
int search_deleted_docs(json_t *index_meta, const char *index_id,
			const struct index_config *cfg, struct split_reader *r,
			uint64_t after_opstamp, uint8_t **deleted, uint64_t *n_deleted,
			struct qw_err *err);

#endif
