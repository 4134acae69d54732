/*
 * merger: the library side of qw-merge (Quickwit's merge planner, merge
 * executor and merge publisher in one process).
 *
 * merger_pass() reads the index metadata, plans with merge_policy.h on the
 * Published splits and executes every operation of the plan:
 *   1. the sources are merged section by section into one new segment
 *      under scratch_dir (split_merge.h: dictionaries merged in order,
 *      postings, positions, columns and norms concatenated with doc ids
 *      remapped by concatenation, source k's doc d becoming sum(alive docs
 *      of sources < k) + (alive docs of k before d); doc store blocks
 *      copied as stored unless a doc is dropped), with bounded memory
 *      (split_merge.h says the bound), whatever the fields' stored option;
 *   2. the segment is bundled straight into the index's split storage as
 *      <new split id>.split (atomicfile: whole or absent);
 *   3. one metastore transaction publishes it: refused (EX_TEMPFAIL, the
 *      file removed) unless every source is still Published, else the new
 *      split is recorded Published and every source MarkedForDeletion.
 * Killed anywhere, a merge leaves at most a split file that no record
 * names and a scratch dir: qw gc removes both (orphan_file, dead_pipeline)
 * and the sources stay Published, so nothing is lost nor counted twice.
 * Search keeps reading sources that were marked until gc deletes them
 * after the deletion grace period.
 *
 * Fallback (said on stderr, counted in reindexed): when the sources give
 * the same field different options (tokenizer, record, fast normalizer,
 * stored), step 1 indexes their stored documents again instead, which
 * needs every field stored (else the merge is refused, EX_DATAERR). The
 * merged split's num_docs is checked against the sum of its sources
 * before anything is published.
 *
 * Delete tasks (metastore.h): each source's documents that the tasks above
 * its delete_opstamp drop (search_deleted_docs()) are left out, and the
 * merged split gets the snapshot's last_delete_opstamp. After the plan, a
 * delete pass rewrites every mature Published split that no operation
 * took and that tasks concern (one source, num_merge_ops and
 * create_timestamp kept), or raises its delete_opstamp when they drop
 * none of its documents; a rewrite or merge that leaves no document
 * publishes no split and marks its sources. Splits of the overflow
 * partition are no merge candidates and get no delete pass either (search
 * hides their deleted documents).
 *
 * Merged split metadata: num_merge_ops = 1 + the max of the sources',
 * delete_opstamp as above, time range and tags of the merged documents
 * (their union, tags recomputed from the merged dictionaries), create_timestamp now, maturity
 * from the policy, "merged_from" the sorted source split ids.
 *
 * Not thread-safe; one merger per process is the intended use.
 */
#ifndef QW_MERGER_H
#define QW_MERGER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "store/metastore.h"

struct merger_opts {
	struct metastore *ms;
	const char *index_id;
	const char *scratch_dir;   /* this process's own, created when missing */
	const char *prog;          /* for verbose lines */
	bool verbose;              /* one line per merge on stderr */
	bool dry_run;              /* plan and report, execute nothing */
};

struct merger_stats {
	uint64_t merges;           /* operations published */
	uint64_t splits_in;        /* sources consumed */
	uint64_t docs;             /* documents written into merged splits */
	uint64_t bytes_in;         /* sum of the sources' split file sizes */
	uint64_t refused;          /* publishes refused (a source was taken meanwhile) */
	uint64_t delete_rewrites;  /* splits rewritten by the delete pass */
	uint64_t docs_deleted;     /* documents dropped by delete tasks */
	uint64_t reindexed;        /* operations that fell back to indexing the stored docs again */
};

/*
 * A fresh scratch dir for this process, <data dir>/scratch/<ULID>, with its
 * "lock" file flock()ed for as long as the returned fd stays open (qw gc
 * removes the scratch dirs whose lock it can take). *dir is malloc'ed.
 * Returns the fd, or -1.
 */
int merger_scratch_open(struct metastore *ms, char **dir, struct qw_err *err);

/*
 * One plan and its execution. report (may be NULL) receives a JSON array
 * of {"split_id" (null when no document is left), "merged_from": [...],
 * "num_docs", "deleted_docs", "delete_pass"} (planned ones under dry_run). A refused publish is counted, not an error.
 */
int merger_pass(const struct merger_opts *o, struct merger_stats *st, json_t *report,
		struct qw_err *err);
/*
 * The merge state of an index document (qw index describe): {"policy",
 * "mature_splits", "immature_splits", "splits_by_merge_ops": {"0": n, ...},
 * "delete_tasks": {"num_delete_tasks", "last_delete_opstamp",
 * "splits_with_pending_deletes" (Published splits whose delete_opstamp is
 * below the last: their deleted documents are hidden, not yet dropped)}}
 * over its Published splits, maturity as merge_policy.h says at now_s.
 * A new reference; NULL when the config cannot be read (err set).
 */
json_t *merger_describe(json_t *doc, int64_t now_s, struct qw_err *err);

/* merger_pass() until a pass has nothing to merge (qw-merge --once). */
int merger_run_until_done(const struct merger_opts *o, struct merger_stats *st, json_t *report,
			  struct qw_err *err);

#endif
