/*
 * merge_policy: which splits of an index to merge together (Quickwit's
 * merge planner policies, from the index config's
 * indexing_settings.merge_policy).
 *
 * A split is mature, and never merged again, when its num_docs reaches
 * split_num_docs_target, or (const_write_amplification, "limit_merge" in
 * the config) its num_merge_ops reaches max_merge_ops, or its age
 * (now - create_timestamp) reaches maturation_period. no_merge makes every
 * split mature.
 *
 * merge_policy_plan() groups the immature splits by (source_id,
 * partition_id, doc_mapping_uid): only splits of one group are ever merged together.
 * Within a group:
 *   stable_log: splits sorted by time range end, newest first (no time
 *     range last), then num_docs, then split_id; cut into levels (a level
 *     starts at a split with num_docs >= 3 x the first split of the level,
 *     the first level holding at least min_level_num_docs); from the last
 *     level to the first, the candidate is the longest run at the end of the
 *     level of at most max_merge_factor splits that stops before its
 *     num_docs would reach split_num_docs_target; it is an operation when it
 *     holds >= merge_factor splits, or it reached split_num_docs_target.
 *   const_write_amplification: splits of the same num_merge_ops, oldest
 *     first (create_timestamp, split_id); greedily take up to
 *     max_merge_factor splits, stopping once their num_docs reaches
 *     split_num_docs_target; an operation when >= merge_factor splits or
 *     the target was reached; repeat.
 * An operation always has >= 2 splits; a split is in at most one.
 *
 * The caller owns the split array (strings borrowed, never freed here);
 * the plan owns its index arrays (merge_plan_free). Reentrant.
 */
#ifndef QW_MERGE_POLICY_H
#define QW_MERGE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapping/config.h"

struct merge_split {
	const char *split_id;
	const char *source_id;         /* NULL: none */
	int64_t partition_id;
	const char *doc_mapping_uid;   /* NULL: none */
	uint64_t num_docs;
	uint32_t num_merge_ops;
	int64_t create_timestamp;      /* unix s */
	bool has_time_range;
	int64_t time_end;              /* any unit, only compared */
};

struct merge_op {
	size_t *splits;                /* indexes into the caller's array */
	size_t n;
	uint64_t num_docs;             /* sum over the sources */
};

struct merge_plan {
	struct merge_op *ops;
	size_t n;
};

bool merge_policy_is_mature(const struct merge_policy *mp, uint64_t split_num_docs_target,
			    const struct merge_split *s, int64_t now_s);
/* Fills plan (empty when nothing to merge). Never fails (allocation aborts). */
void merge_policy_plan(const struct merge_policy *mp, uint64_t split_num_docs_target,
		       const struct merge_split *splits, size_t n, int64_t now_s,
		       struct merge_plan *plan);
void merge_plan_free(struct merge_plan *plan);
/* "stable_log", "const_write_amplification" or "no_merge". */
const char *merge_policy_name(const struct merge_policy *mp);

#endif
