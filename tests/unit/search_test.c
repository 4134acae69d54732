/*
 * search_test: the searcher's pieces that need no split (search_int.h,
 * base/bitset.h, search.h): the doc-id bitset against an array of bools,
 * the order of hits against the rule search.h states (sort keys, docs
 * without a value last, then split id, then doc), and a delete task's
 * query checked against an index config.
 */
#include <stdlib.h>
#include <string.h>

#include "base/bitset.h"
#include "mapping/config.h"
#include "search/search_int.h"
#include "tap.h"

static uint64_t rng = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

/* A random set of n ids (density 1 in d) into b and its oracle o. */
static void random_set(struct bitset *b, bool *o, uint32_t n, uint32_t d)
{
	bs_init(b, n);
	for (uint32_t i = 0; i < n; i++) {
		o[i] = rnd(d) == 0;
		if (o[i])
			bs_set(b, i);
	}
}

static bool same(const struct bitset *b, const bool *o, uint32_t n)
{
	uint64_t cnt = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (bs_get(b, i) != o[i])
			return false;
		cnt += o[i];
	}
	return bs_count(b) == cnt;
}

/* bs_next/bs_prev from every start against a scan of the oracle. */
static bool walks(const struct bitset *b, const bool *o, uint32_t n)
{
	for (uint32_t i = 0; i <= n; i++) {
		uint32_t want = UINT32_MAX;

		for (uint32_t j = i; j < n; j++)
			if (o[j]) {
				want = j;
				break;
			}
		if (bs_next(b, i) != want)
			return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t want = UINT32_MAX;

		for (uint32_t j = i + 1; j-- > 0;)
			if (o[j]) {
				want = j;
				break;
			}
		if (bs_prev(b, i) != want)
			return false;
	}
	return true;
}

static void test_bitset(void)
{
	static const uint32_t sizes[] = { 0, 1, 63, 64, 65, 127, 128, 200, 1000 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		uint32_t n = sizes[s];
		bool *oa = calloc(n + 1, 1), *ob = calloc(n + 1, 1);
		struct bitset a, b;
		bool good = true;

		for (int round = 0; round < 20 && good; round++) {
			uint32_t from = rnd(n + 2), to = rnd(n + 2);

			random_set(&a, oa, n, 1 + (uint32_t)round % 5);
			random_set(&b, ob, n, 2);
			good &= same(&a, oa, n) && walks(&a, oa, n);
			bs_and(&a, &b);
			for (uint32_t i = 0; i < n; i++)
				oa[i] = oa[i] && ob[i];
			good &= same(&a, oa, n);
			bs_or(&a, &b);
			for (uint32_t i = 0; i < n; i++)
				oa[i] = oa[i] || ob[i];
			good &= same(&a, oa, n);
			bs_andnot(&a, &b);
			for (uint32_t i = 0; i < n; i++)
				oa[i] = oa[i] && !ob[i];
			good &= same(&a, oa, n);
			bs_not(&a);
			for (uint32_t i = 0; i < n; i++)
				oa[i] = !oa[i];
			good &= same(&a, oa, n) && walks(&a, oa, n);
			bs_set_range(&a, from, to);
			for (uint32_t i = from; i < to && i < n; i++)
				oa[i] = true;
			good &= same(&a, oa, n);
			bs_clear(&a);
			memset(oa, 0, n);
			good &= same(&a, oa, n) && walks(&a, oa, n);
			bs_fill(&a);
			memset(oa, 1, n);
			good &= same(&a, oa, n) && walks(&a, oa, n);
			bs_free(&a);
			bs_free(&b);
		}
		ok(good, "bitset of %u ids: set, and, or, andnot, not, set_range, clear, fill, "
		   "count, next and prev agree with an array of bools", n);
		free(oa);
		free(ob);
	}
}

/* search.h's order, written again from its words: is a before b? */
static bool before(const struct query_run *run, const struct hit *a, const struct hit *b)
{
	const struct sort_spec *s = &run->sort[0];
	int c;

	if (a->has[0] != b->has[0])
		return a->has[0];           /* docs without a sort value come last */
	if (a->has[0] && a->k[0] != b->k[0])
		return s->desc ? a->k[0] > b->k[0] : a->k[0] < b->k[0];
	c = strcmp(run->tasks[a->task].split_id, run->tasks[b->task].split_id);
	if (c)
		return c < 0;
	return a->doc < b->doc;
}

static void test_hit_order(void)
{
	char *ids[] = { "split-b", "split-a", "split-c" };
	struct task tasks[3];
	struct query_run run;
	struct hit hits[300];

	memset(tasks, 0, sizeof(tasks));
	for (int i = 0; i < 3; i++)
		tasks[i].split_id = ids[i];
	for (int desc = 0; desc < 2; desc++) {
		bool good = true;

		memset(&run, 0, sizeof(run));
		run.tasks = tasks;
		run.n_tasks = 3;
		run.n_sort = 1;
		run.sort[0].desc = desc;
		for (size_t i = 0; i < 300; i++) {
			memset(&hits[i], 0, sizeof(hits[i]));
			hits[i].task = rnd(3);
			hits[i].doc = rnd(50);
			hits[i].has[0] = rnd(4) != 0;
			hits[i].k[0] = hits[i].has[0] ? (double)rnd(10) - 5 : 0;
		}
		qsort_r(hits, 300, sizeof(*hits), cmp_hits, &run);
		for (size_t i = 0; i + 1 < 300; i++) {
			bool same_hit = hits[i].task == hits[i + 1].task &&
					hits[i].doc == hits[i + 1].doc &&
					hits[i].has[0] == hits[i + 1].has[0] &&
					hits[i].k[0] == hits[i + 1].k[0];

			if (!same_hit && !before(&run, &hits[i], &hits[i + 1]))
				good = false;
			if (hit_cmp(&run, &hits[i], &hits[i + 1]) > 0)
				good = false;
		}
		ok(good, "hits sorted %s: by the key, docs without one last, then split id, then doc",
		   desc ? "largest first" : "smallest first");
	}
}

static void test_delete_query(void)
{
	const char *yaml = "version: 0.8\nindex_id: del-test\ndoc_mapping:\n  mode: strict\n  field_mappings:\n"
			   "    - name: body\n      type: text\n      record: position\n"
			   "    - name: level\n      type: text\n      tokenizer: raw\n";
	struct qw_err err = QW_ERR_INIT;
	json_t *cfg = config_yaml_to_json(yaml, strlen(yaml), "del-test.yaml", &err);
	json_t *meta = json_object();
	const char *fields[] = { "body" };

	if (!ok(cfg != NULL, "test config parses: %s", err.msg))
		return;
	json_object_set_new(meta, "index_config", cfg);
	ok(search_check_delete_query(meta, "del-test", "level:ERROR AND body:\"disk full\"", fields, 1,
				     &err) == 0, "a delete query on known fields is accepted");
	err = (struct qw_err)QW_ERR_INIT;
	ok(search_check_delete_query(meta, "del-test", "nosuch:x", fields, 1, &err) < 0 &&
	   err.code == EX_DATAERR && strstr(err.msg, "nosuch"),
	   "a delete query on an unknown field is refused with EX_DATAERR naming it (%s)", err.msg);
	err = (struct qw_err)QW_ERR_INIT;
	ok(search_check_delete_query(meta, "del-test", "level:(", fields, 1, &err) < 0 &&
	   err.code == EX_DATAERR && strstr(err.msg, "col 8"),
	   "a malformed delete query is refused with EX_DATAERR (%s)", err.msg);
	err = (struct qw_err)QW_ERR_INIT;
	ok(search_check_delete_query(meta, "del-test", "disk", NULL, 0, &err) < 0 && err.code == EX_DATAERR,
	   "an unfielded delete query without search fields is refused (%s)", err.msg);
	json_decref(meta);
}

int main(void)
{
	test_bitset();
	test_hit_order();
	test_delete_query();
	return tap_done();
}
