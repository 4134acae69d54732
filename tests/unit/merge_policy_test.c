/*
 * merge_policy: plans checked against expectations worked out by hand from
 * the rules of Quickwit's policies (stable_log levels and candidates,
 * const_write_amplification greedy runs, maturity by size, age, merge ops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/merge_policy.h"
#include "tap.h"

#define NOW 2000000000
#define MAXS 64

static char ids[MAXS][16];
static struct merge_split sp[MAXS];

/* n splits of docs each, split i ending at time 1000 + i (so split n-1 is
 * the newest), created now, partition 0, no merge ops. */
static void make(size_t n, uint64_t docs)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "s%02zu", i);
		memset(&sp[i], 0, sizeof(sp[i]));
		sp[i].split_id = ids[i];
		sp[i].num_docs = docs;
		sp[i].create_timestamp = NOW - 10;
		sp[i].has_time_range = true;
		sp[i].time_end = 1000 + (int64_t)i;
	}
}

static struct merge_policy stable(void)
{
	struct merge_policy mp = {
		.type = MERGE_STABLE_LOG, .min_level_num_docs = 100000, .merge_factor = 10,
		.max_merge_factor = 12, .maturation_period_s = 48 * 3600, .max_merge_ops = 4,
	};
	return mp;
}

static struct merge_policy cwa(void)
{
	struct merge_policy mp = {
		.type = MERGE_LIMIT_MERGE, .merge_factor = 3, .max_merge_factor = 5,
		.maturation_period_s = 3600, .max_merge_ops = 3,
	};
	return mp;
}

/* Does op hold exactly the splits whose indexes are in want[0..n)? */
static int op_is(const struct merge_op *op, const size_t *want, size_t n)
{
	if (op->n != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int found = 0;

		for (size_t k = 0; k < op->n; k++)
			found |= op->splits[k] == want[i];
		if (!found)
			return 0;
	}
	return 1;
}

static int op_is_range(const struct merge_op *op, size_t from, size_t to)
{
	size_t want[MAXS];

	for (size_t i = from; i < to; i++)
		want[i - from] = i;
	return op_is(op, want, to - from);
}

int main(void)
{
	struct merge_policy mp = stable();
	struct merge_plan plan;

	/* stable_log */
	make(10, 1000);
	merge_policy_plan(&mp, 10000000, sp, 10, NOW, &plan);
	ok(plan.n == 1 && op_is_range(&plan.ops[0], 0, 10), "stable_log: merge_factor splits merge");
	ok(plan.n == 1 && plan.ops[0].num_docs == 10000, "stable_log: op counts its docs");
	merge_plan_free(&plan);

	make(9, 1000);
	merge_policy_plan(&mp, 10000000, sp, 9, NOW, &plan);
	ok(plan.n == 0, "stable_log: fewer than merge_factor splits do not merge");
	merge_plan_free(&plan);

	/* 13 in one level: the run at the end of the level (the 12 oldest) */
	make(13, 1000);
	merge_policy_plan(&mp, 10000000, sp, 13, NOW, &plan);
	ok(plan.n == 1 && op_is_range(&plan.ops[0], 0, 12),
	   "stable_log: at most max_merge_factor, the oldest, newest one left");
	merge_plan_free(&plan);

	/* the order of the input does not matter */
	{
		struct merge_split tmp = sp[0];

		sp[0] = sp[12];
		sp[12] = tmp;
		merge_policy_plan(&mp, 10000000, sp, 13, NOW, &plan);
		ok(plan.n == 1 && op_is_range(&plan.ops[0], 1, 13),
		   "stable_log: shuffled input, same choice by time (the newest left)");
		merge_plan_free(&plan);
	}

	/* maturity by size: one of ten is at the target */
	make(10, 1000);
	sp[3].num_docs = 5000;
	merge_policy_plan(&mp, 5000, sp, 10, NOW, &plan);
	{
		size_t want[5] = { 0, 1, 2, 4, 5 };

		ok(plan.n == 1 && op_is(&plan.ops[0], want, 5),
		   "stable_log: a split at split_num_docs_target is mature and skipped");
	}
	ok(merge_policy_is_mature(&mp, 5000, &sp[3], NOW), "mature by size");
	ok(!merge_policy_is_mature(&mp, 5000, &sp[2], NOW), "small and young: immature");
	merge_plan_free(&plan);

	/* maturity by age */
	make(10, 1000);
	sp[0].create_timestamp = NOW - 48 * 3600;
	ok(merge_policy_is_mature(&mp, 10000000, &sp[0], NOW), "mature by age at maturation_period");
	sp[1].create_timestamp = NOW - 48 * 3600 + 1;
	ok(!merge_policy_is_mature(&mp, 10000000, &sp[1], NOW), "immature one second before");
	merge_policy_plan(&mp, 10000000, sp, 10, NOW, &plan);
	ok(plan.n == 0, "stable_log: a split past maturation_period is not merged");
	merge_plan_free(&plan);

	/* the target stops a candidate: 5 x 1000 reaches 5000 */
	make(10, 1000);
	merge_policy_plan(&mp, 5000, sp, 10, NOW, &plan);
	ok(plan.n == 1 && op_is_range(&plan.ops[0], 0, 5),
	   "stable_log: a candidate reaching the target merges with fewer than merge_factor");
	merge_plan_free(&plan);

	/* levels (Quickwit's example): 100k x3 then 800k, 900k */
	mp.merge_factor = 2;
	make(5, 100000);
	sp[3].num_docs = 800000;
	sp[4].num_docs = 900000;
	for (size_t i = 0; i < 5; i++)
		sp[i].time_end = 5000;
	merge_policy_plan(&mp, 10000000, sp, 5, NOW, &plan);
	ok(plan.n == 2, "stable_log: two levels, two ops (got %zu)", plan.n);
	ok(plan.n == 2 && op_is_range(&plan.ops[0], 3, 5) && op_is_range(&plan.ops[1], 0, 3),
	   "stable_log: the big level first, then the small one");
	merge_plan_free(&plan);
	mp = stable();

	/* partitions never mix */
	make(20, 1000);
	for (size_t i = 0; i < 20; i++)
		sp[i].partition_id = (int64_t)(i % 2);
	merge_policy_plan(&mp, 10000000, sp, 20, NOW, &plan);
	ok(plan.n == 2, "stable_log: one op per partition");
	for (size_t o = 0; o < plan.n; o++) {
		int same = 1;

		for (size_t k = 1; k < plan.ops[o].n; k++)
			same &= sp[plan.ops[o].splits[k]].partition_id ==
				sp[plan.ops[o].splits[0]].partition_id;
		ok(same && plan.ops[o].n == 10, "op %zu: 10 splits of one partition", o);
	}
	merge_plan_free(&plan);

	/* doc mappings never mix */
	make(10, 1000);
	sp[4].doc_mapping_uid = "other";
	merge_policy_plan(&mp, 10000000, sp, 10, NOW, &plan);
	ok(plan.n == 0, "stable_log: 9 + 1 of another doc mapping do not merge");
	merge_plan_free(&plan);

	/* splits without a time range come last (oldest) */
	make(11, 1000);
	sp[5].has_time_range = false;
	mp.max_merge_factor = 10;
	merge_policy_plan(&mp, 10000000, sp, 11, NOW, &plan);
	{
		size_t want[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

		ok(plan.n == 1 && op_is(&plan.ops[0], want, 10),
		   "stable_log: a split without time range sorts after the oldest, newest left");
	}
	merge_plan_free(&plan);

	/* no_merge */
	mp.type = MERGE_NO_MERGE;
	make(30, 10);
	merge_policy_plan(&mp, 10000000, sp, 30, NOW, &plan);
	ok(plan.n == 0 && merge_policy_is_mature(&mp, 10000000, &sp[0], NOW),
	   "no_merge: everything is mature");
	merge_plan_free(&plan);

	/* const_write_amplification */
	mp = cwa();
	make(3, 1000);
	for (size_t i = 0; i < 3; i++)
		sp[i].num_merge_ops = 1;
	merge_policy_plan(&mp, 10000000, sp, 3, NOW, &plan);
	ok(plan.n == 1 && op_is_range(&plan.ops[0], 0, 3), "cwa: merge_factor splits merge");
	merge_plan_free(&plan);

	make(7, 1000);
	for (size_t i = 0; i < 7; i++) {
		sp[i].num_merge_ops = 1;
		sp[i].create_timestamp = NOW - 100 + (int64_t)i;
	}
	merge_policy_plan(&mp, 10000000, sp, 7, NOW, &plan);
	ok(plan.n == 1 && op_is_range(&plan.ops[0], 0, 5),
	   "cwa: max_merge_factor oldest splits, 2 left (fewer than merge_factor)");
	merge_plan_free(&plan);

	make(6, 1000);
	for (size_t i = 0; i < 6; i++)
		sp[i].num_merge_ops = i < 3 ? 0 : 1;
	sp[5].num_merge_ops = 3;
	merge_policy_plan(&mp, 10000000, sp, 6, NOW, &plan);
	ok(plan.n == 1 && op_is_range(&plan.ops[0], 0, 3),
	   "cwa: only splits of equal num_merge_ops merge");
	ok(merge_policy_is_mature(&mp, 10000000, &sp[5], NOW), "cwa: max_merge_ops makes mature");
	ok(!merge_policy_is_mature(&mp, 10000000, &sp[4], NOW), "cwa: fewer merge ops: immature");
	merge_plan_free(&plan);

	/* the target cuts runs: 2 x 3000 >= 5000 */
	make(4, 3000);
	merge_policy_plan(&mp, 5000, sp, 4, NOW, &plan);
	ok(plan.n == 2 && op_is_range(&plan.ops[0], 0, 2) && op_is_range(&plan.ops[1], 2, 4),
	   "cwa: runs cut at the target, two ops of two");
	merge_plan_free(&plan);

	make(4, 1000);
	sp[0].create_timestamp = NOW - 3600;
	merge_policy_plan(&mp, 10000000, sp, 4, NOW, &plan);
	ok(plan.n == 1 && op_is_range(&plan.ops[0], 1, 4), "cwa: a split past maturation is left");
	merge_plan_free(&plan);

	ok(!strcmp(merge_policy_name(&mp), "const_write_amplification"), "policy name");
	return tap_done();
}
