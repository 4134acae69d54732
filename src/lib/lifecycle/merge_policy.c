#include <stdlib.h>
#include <string.h>

#include "lifecycle/merge_policy.h"
#include "base/xalloc.h"

const char *merge_policy_name(const struct merge_policy *mp)
{
	switch (mp->type) {
	case MERGE_STABLE_LOG:
		return "stable_log";
	case MERGE_LIMIT_MERGE:
		return "const_write_amplification";
	case MERGE_NO_MERGE:
		break;
	}
	return "no_merge";
}

bool merge_policy_is_mature(const struct merge_policy *mp, uint64_t split_num_docs_target,
			    const struct merge_split *s, int64_t now_s)
{
	if (mp->type == MERGE_NO_MERGE)
		return true;
	if (s->num_docs >= split_num_docs_target)
		return true;
	if (mp->type == MERGE_LIMIT_MERGE && s->num_merge_ops >= mp->max_merge_ops)
		return true;
	return now_s - s->create_timestamp >= mp->maturation_period_s;
}

static int strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* qsort has no context argument: the comparators see the splits through a
 * pair (index, pointer to the array) */
struct ref {
	size_t i;
	const struct merge_split *s;
};

static int cmp_group(const struct merge_split *a, const struct merge_split *b)
{
	int c = strcmp_null(a->source_id, b->source_id);

	if (c)
		return c;
	if (a->partition_id != b->partition_id)
		return a->partition_id < b->partition_id ? -1 : 1;
	c = strcmp_null(a->doc_mapping_uid, b->doc_mapping_uid);
	return c;
}

/* Quickwit's cmp_splits_by_reverse_time_end: newest end first, a split
 * without a time range after every split with one. */
static int cmp_stable(const void *pa, const void *pb)
{
	const struct merge_split *a = ((const struct ref *)pa)->s;
	const struct merge_split *b = ((const struct ref *)pb)->s;

	if (a->has_time_range != b->has_time_range)
		return a->has_time_range ? -1 : 1;
	if (a->has_time_range && a->time_end != b->time_end)
		return a->time_end > b->time_end ? -1 : 1;
	if (a->num_docs != b->num_docs)
		return a->num_docs < b->num_docs ? -1 : 1;
	return strcmp(a->split_id, b->split_id);
}

static int cmp_cwa(const void *pa, const void *pb)
{
	const struct merge_split *a = ((const struct ref *)pa)->s;
	const struct merge_split *b = ((const struct ref *)pb)->s;

	if (a->num_merge_ops != b->num_merge_ops)
		return a->num_merge_ops < b->num_merge_ops ? -1 : 1;
	if (a->create_timestamp != b->create_timestamp)
		return a->create_timestamp < b->create_timestamp ? -1 : 1;
	return strcmp(a->split_id, b->split_id);
}

static int cmp_by_group(const void *pa, const void *pb)
{
	const struct ref *a = pa, *b = pb;
	int c = cmp_group(a->s, b->s);

	if (c)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

static void add_op(struct merge_plan *plan, size_t *cap, const struct ref *refs, size_t from,
		   size_t to)
{
	struct merge_op *op;

	XGROW(plan->ops, plan->n + 1, *cap);
	op = &plan->ops[plan->n++];
	op->n = to - from;
	op->splits = xreallocarray(NULL, op->n, sizeof(*op->splits));
	op->num_docs = 0;
	for (size_t k = from; k < to; k++) {
		op->splits[k - from] = refs[k].i;
		op->num_docs += refs[k].s->num_docs;
	}
}

enum cand_size { TOO_SMALL, VALID, ONE_MORE_TOO_BIG };

static enum cand_size candidate_size(const struct merge_policy *mp, uint64_t target,
				     const struct ref *refs, size_t from, size_t to)
{
	uint64_t docs = 0;

	if (to - from <= 1)
		return TOO_SMALL;
	if (to - from >= mp->max_merge_factor)
		return ONE_MORE_TOO_BIG;
	for (size_t k = from; k < to; k++)
		docs += refs[k].s->num_docs;
	if (docs >= target)
		return ONE_MORE_TOO_BIG;
	if (to - from < mp->merge_factor)
		return TOO_SMALL;
	return VALID;
}

/* One group of immature splits, sorted with cmp_stable in refs[0..n). */
static void plan_stable_log(const struct merge_policy *mp, uint64_t target, struct ref *refs,
			    size_t n, struct merge_plan *plan, size_t *cap)
{
	size_t *level_start = NULL, n_levels = 0, lcap = 0;
	uint64_t level_max;

	if (n < 2)
		return;
	qsort(refs, n, sizeof(*refs), cmp_stable);
	level_max = refs[0].s->num_docs * 3;
	if (level_max < mp->min_level_num_docs)
		level_max = mp->min_level_num_docs;
	XGROW(level_start, 1, lcap);
	level_start[n_levels++] = 0;
	for (size_t k = 0; k < n; k++) {
		if (refs[k].s->num_docs >= level_max) {
			XGROW(level_start, n_levels + 1, lcap);
			level_start[n_levels++] = k;
			level_max = 3 * refs[k].s->num_docs;
		}
	}
	/* the first "level" boundary at 0 can repeat when refs[0] itself is
	 * big: an empty level gives no candidate, as in Quickwit */
	for (size_t l = n_levels; l-- > 0;) {
		size_t lo = level_start[l];
		size_t hi = l + 1 < n_levels ? level_start[l + 1] : n;
		size_t start = hi;

		for (size_t k = hi; k-- > lo;) {
			if (candidate_size(mp, target, refs, start, hi) == ONE_MORE_TOO_BIG)
				break;
			start = k;
		}
		if (candidate_size(mp, target, refs, start, hi) != TOO_SMALL)
			add_op(plan, cap, refs, start, hi);
		/* levels after this one are already consumed, earlier ones are
		 * untouched: no index shifts to fix */
	}
	free(level_start);
}

/* One group of immature splits (any num_merge_ops), in refs[0..n). */
static void plan_cwa(const struct merge_policy *mp, uint64_t target, struct ref *refs, size_t n,
		     struct merge_plan *plan, size_t *cap)
{
	size_t k = 0;

	qsort(refs, n, sizeof(*refs), cmp_cwa);
	while (k < n) {
		size_t lvl_end = k;

		while (lvl_end < n && refs[lvl_end].s->num_merge_ops == refs[k].s->num_merge_ops)
			lvl_end++;
		for (;;) {
			size_t take = 0;
			uint64_t docs = 0;

			while (k + take < lvl_end && take < mp->max_merge_factor) {
				docs += refs[k + take].s->num_docs;
				take++;
				if (docs >= target)
					break;
			}
			if (take < 2 || (docs < target && take < mp->merge_factor))
				break;
			add_op(plan, cap, refs, k, k + take);
			k += take;
		}
		k = lvl_end;
	}
}

void merge_policy_plan(const struct merge_policy *mp, uint64_t split_num_docs_target,
		       const struct merge_split *splits, size_t n, int64_t now_s,
		       struct merge_plan *plan)
{
	struct ref *refs;
	size_t m = 0, cap = 0;

	plan->ops = NULL;
	plan->n = 0;
	if (mp->type == MERGE_NO_MERGE || n < 2)
		return;
	refs = xreallocarray(NULL, n, sizeof(*refs));
	for (size_t i = 0; i < n; i++) {
		if (merge_policy_is_mature(mp, split_num_docs_target, &splits[i], now_s))
			continue;
		refs[m].i = i;
		refs[m].s = &splits[i];
		m++;
	}
	qsort(refs, m, sizeof(*refs), cmp_by_group);
	for (size_t g = 0; g < m;) {
		size_t e = g + 1;

		while (e < m && cmp_group(refs[g].s, refs[e].s) == 0)
			e++;
		if (mp->type == MERGE_STABLE_LOG)
			plan_stable_log(mp, split_num_docs_target, refs + g, e - g, plan, &cap);
		else
			plan_cwa(mp, split_num_docs_target, refs + g, e - g, plan, &cap);
		g = e;
	}
	free(refs);
}

void merge_plan_free(struct merge_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		free(plan->ops[i].splits);
	free(plan->ops);
	plan->ops = NULL;
	plan->n = 0;
}
