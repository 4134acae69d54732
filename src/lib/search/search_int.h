/*
 * search_int: what the phases of search_run() share (private to
 * src/lib/search/search*.c; callers use search.h).
 *
 * A search goes one way through these files:
 *   search_plan.c    check the query against each index's config, parse the
 *                    sort and search_after, resolve index patterns, prune
 *                    splits by time and tags into one task per split (plan)
 *   search_split.c   one split: open its reader, evaluate, filter by time
 *                    and by delete tasks, then top-K and aggregations
 *   search_eval.c    a query tree into a bitset of the split's docs: terms,
 *                    phrases, ranges, patterns, exists (evaluate)
 *   search_score.c   BM25 _score of the docs of a split (score)
 *   search_topk.c    sort keys from fast columns, the bounded heap of the
 *                    best hits and the order of hits (top-K)
 *   search_aggsrc.c  the agg_source (aggs.h) over a split's fast columns
 *   search_delete.c  where delete tasks meet search: the docs they hide
 *   search_fetch.c   the stored documents of the returned hits, their
 *                    output formats and snippets (fetch documents)
 *   search.c         search_run(): the phases above, the worker threads,
 *                    the merge of the splits' results and the response
 * and the doc-id bitset is base/bitset.h.
 */
#ifndef QW_SEARCH_INT_H
#define QW_SEARCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/bitset.h"
#include "base/err.h"
#include "mapping/config.h"
#include "mapping/tokenizer.h"
#include "search/aggs.h"
#include "search/query.h"
#include "search/search.h"
#include "split/split_reader.h"
#include "store/metastore.h"
#include "store/s3.h"

#define MAX_KINDS 8            /* fields of one path (one per value kind) */
#define MAX_SORT 2
/* as tantivy's regex query: the regex matches a whole term, never a part */
#define REGEX_OPTIONS (PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)


struct sort_spec {
	char *field;
	bool desc;
	bool by_doc;                 /* split then doc order (no field) */
	bool by_score;               /* BM25 relevance (_score) */
};

struct index_ctx {
	char *index_id;
	json_t *meta;                /* the metastore snapshot: config and splits */
	struct index_config *cfg;
	char **search_fields;        /* borrowed from req or cfg */
	size_t n_search_fields;
	bool lenient;                /* req->lenient */
};

struct hit {
	double k[MAX_SORT];
	bool has[MAX_SORT];
	uint32_t task, doc;
};

struct task {
	struct index_ctx *ix;
	char *split_id;
	char *path;
	uint64_t delete_opstamp;     /* the split's: delete tasks above it hide docs */
	uint64_t size;               /* the split's bytes from its record, 0: unknown */
	struct split_reader *r;      /* kept open for fetch_docs when it has hits */
	struct split_io io;          /* what the readers closed so far have read */
	bool read_failed;            /* a fetch read failed: its reader is not kept */
	/* results */
	uint64_t num_hits;
	struct hit *hits;
	size_t n_hits, cap_hits;
	struct agg_result *aggs;
	bool failed;
	struct qw_err err;
};

struct query_run {
	const struct search_request *req;
	struct query_node *q;
	struct agg_req *aggs;
	struct sort_spec sort[MAX_SORT];
	size_t n_sort;
	size_t k;                    /* start_offset + max_hits */
	struct task *tasks;
	size_t n_tasks;
	struct s3_client *s3;        /* shared by the readers of s3:// splits, or NULL */
	struct s3_client *own_s3;    /* s3 when this run made it (else req->s3, borrowed) */
	size_t next_task;            /* atomically incremented by workers */
	bool keep_readers;           /* tasks with hits keep their reader for fetch_docs */
	bool has_after;              /* search_after: only hits ranking after this one */
	struct hit after;            /* its sort values (task and doc unused) */
	char *after_split;           /* its tie breaker, NULL: ties are not after */
	uint32_t after_doc;
	bool doc_desc;               /* -_doc: split then doc order, reversed */
};

/* Per split evaluation state (one thread). */
struct split_ctx {
	struct query_run *run;
	struct task *t;
	struct split_reader *r;
	const struct index_config *cfg;
	uint32_t num_docs;
	struct tokenizer_state ts;
	struct qw_err *err;
};

/* The tokens of a text, with their positions (tokenize() into tok_emit). */
struct toks {
	char **t;
	size_t *tl;
	uint32_t *pos;
	size_t n, cap;
};

/* search_plan.c */
int check_query(const struct index_ctx *ix, const struct index_ctx *all, size_t n_all,
		const struct query_node *n, struct qw_err *err);
int parse_sort(struct query_run *run, const char *sort_by, const struct index_ctx *ixs, size_t n_ix,
	       struct qw_err *err);
int check_agg_fields(const struct agg_req *aggs, const struct index_ctx *ixs, size_t n_ix,
		     struct qw_err *err);
int check_snippet_fields(const struct search_request *req, const struct index_ctx *ix,
			 struct qw_err *err);
int parse_after(struct query_run *run, json_t *sa, struct qw_err *err);
json_t *after_json(const struct query_run *run, const struct hit *h);
int resolve_indexes(struct metastore *ms, const struct search_request *req, char ***ids,
		    size_t *n_ids, struct qw_err *err);
int plan_index(struct query_run *run, struct metastore *ms, struct index_ctx *ix,
	       struct qw_err *err);

/* search_eval.c */
bool parse_datetime(const struct index_config *cfg, const char *path, const char *s, int64_t *us);
void tok_emit(void *ctx, const char *tok, size_t len, uint32_t pos);
void toks_free(struct toks *tk);
int match_text(struct split_ctx *split, int field, const char *text, bool phrase, uint32_t slop,
	       struct bitset *out);
int match_value(struct split_ctx *split, int field, const char *path, const char *text, bool phrase,
		uint32_t slop, struct bitset *out);
int scan_column_keys(struct split_ctx *split, int field, uint64_t lo, uint64_t hi,
		     struct bitset *out);
int eval(struct split_ctx *split, const struct query_node *n, struct bitset *out);

/* search_score.c */
int score_node(struct split_ctx *split, const struct query_node *n, float *scores);

/* search_topk.c */
int hit_cmp(const struct query_run *run, const struct hit *a, const struct hit *b);
int cmp_hits(const void *a, const void *b, void *run);
int top_k_collect(struct split_ctx *split, const struct bitset *bits);

/* search_aggsrc.c */
int aggs_collect_split(struct split_ctx *split, const struct bitset *bits);

/* search_split.c */
int time_range_filter(struct split_ctx *split, bool has_start, int64_t start, bool has_end,
		      int64_t end, struct bitset *bits);
/* Done with reader r of t: its reads added to t's count, then kept for
 * the next search (a warm one's s3:// split, reusable: no error seen) or
 * closed. NULL: nothing. */
void task_close(const struct query_run *run, struct task *t, struct split_reader *r,
		bool reusable);
/* zd: a zstd context a new reader borrows (the calling worker's), or NULL */
struct split_reader *task_open(const struct query_run *run, const struct task *t,
			       struct ZSTD_DCtx_s *zd, struct qw_err *err);
void *worker(void *arg);

/* search_warm.c: the warm state's parts a search uses (search.h). */
struct split_memcache *warm_splits(const struct search_warm *w);
/* The metastore of data_dir, kept open (reopened when data_dir or s3 is
 * not what it was opened on); owned by w, NULL with err. */
struct metastore *warm_metastore(struct search_warm *w, const char *data_dir,
				 struct s3_client *s3, struct qw_err *err);
/* The document of index_id (new reference), revalidated against the
 * metastore warm_metastore() opened; NULL with err (EX_NOINPUT: gone). */
json_t *warm_index_meta(struct search_warm *w, const char *index_id, struct qw_err *err);
/* A reader of the split at path (requests through s3) kept by an earlier
 * search, now the caller's; NULL when none is kept. Thread-safe. */
struct split_reader *warm_reader_take(struct search_warm *w, const char *path,
				      struct s3_client *s3);
/* Keep r (its io counters reset) for the next search; thread-safe. */
void warm_reader_give(struct search_warm *w, const char *path, struct s3_client *s3,
		      struct split_reader *r);

/* search_delete.c */
int delete_filter(struct split_ctx *split, struct bitset *bits);

/* search_fetch.c */
void stream_docs(struct query_run *run, const struct hit *sel, size_t n, json_t *errors,
		 bool *partial);
int fetch_docs(struct query_run *run, const struct hit *sel, size_t n, json_t *hits,
	       json_t *snippets, json_t *errors, bool *partial);

#endif
