#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/strlist.h"
#include "base/clock.h"
#include "mapping/config.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "pipeline/indexer.h"
#include "search/search.h"
#include "lifecycle/merge_policy.h"
#include "lifecycle/merger.h"
#include "mapping/partition.h"
#include "split/split_merge.h"
#include "split/split_reader.h"
#include "split/split_bundle.h"
#include "store/split_cache.h"
#include "store/storage.h"
#include "base/xalloc.h"

/* Can the doc store give every document back whole? */
static bool stores_everything(const struct index_config *cfg)
{
	if (cfg->mode == MODE_DYNAMIC && !cfg->dynamic.opts.stored)
		return false;
	for (size_t i = 0; i < cfg->n_leaves; i++)
		if (!cfg->leaves[i]->opts.stored)
			return false;
	return true;
}

static int64_t json_int_or(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/*
 * The Published splits of doc as merge candidates (strings borrowed from
 * doc). The overflow partition is left out: its documents belong to many
 * partitions, and an empty workbench would spread them again.
 */
static struct merge_split *candidates(json_t *doc, const struct index_config *cfg, size_t *n)
{
	json_t *splits = json_object_get(doc, "splits");
	struct merge_split *arr = NULL;
	size_t cap = 0;
	const char *id;
	json_t *rec;

	*n = 0;
	json_object_foreach(splits, id, rec) {
		json_t *meta = json_object_get(rec, "metadata");
		json_t *tr = json_object_get(meta, "time_range");
		struct merge_split *s;
		const char *state = json_string_value(json_object_get(rec, "split_state"));

		if (!state || strcmp(state, SPLIT_PUBLISHED) != 0)
			continue;
		if (cfg->partition_key &&
		    (uint64_t)json_int_or(meta, "partition_id", 0) == PARTITION_OTHER_ID)
			continue;
		XGROW(arr, *n + 1, cap);
		s = &arr[(*n)++];
		memset(s, 0, sizeof(*s));
		s->split_id = id;
		s->source_id = json_string_value(json_object_get(meta, "source_id"));
		s->partition_id = json_int_or(meta, "partition_id", 0);
		s->doc_mapping_uid = json_string_value(json_object_get(meta, "doc_mapping_uid"));
		s->num_docs = (uint64_t)json_int_or(meta, "num_docs", 0);
		s->num_merge_ops = (uint32_t)json_int_or(meta, "num_merge_ops", 0);
		s->create_timestamp = json_int_or(meta, "create_timestamp", 0);
		if (json_is_object(tr) && json_is_integer(json_object_get(tr, "end"))) {
			s->has_time_range = true;
			s->time_end = json_int_or(tr, "end", 0);
		}
	}
	return arr;
}

struct publish_merge_ctx {
	const char *index_id;
	const char *new_id;
	json_t *meta;
	const char *const *sources;
	size_t n;
};

/* The merge publish transaction: all or nothing. */
static int publish_merge_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct publish_merge_ctx *c = vctx;
	json_t *splits = json_object_get(doc, "splits");
	json_int_t now = (json_int_t)clock_wall_s();
	json_t *rec;

	if (!json_is_object(splits))
		return err_set(err, EX_DATAERR, "index '%s' has no split table", c->index_id);
	for (size_t i = 0; i < c->n; i++) {
		const char *state;

		rec = json_object_get(splits, c->sources[i]);
		state = json_string_value(json_object_get(rec, "split_state"));
		if (!state || strcmp(state, SPLIT_PUBLISHED) != 0)
			return err_set(err, EX_TEMPFAIL,
				       "merge publish refused: split '%s' is %s, not %s",
				       c->sources[i], state ? state : "gone", SPLIT_PUBLISHED);
	}
	if (c->new_id && json_object_get(splits, c->new_id))
		return err_set(err, EX_SOFTWARE, "split '%s' already exists", c->new_id);
	for (size_t i = 0; i < c->n; i++) {
		rec = json_object_get(splits, c->sources[i]);
		if (json_object_set_new(rec, "split_state", json_string(SPLIT_MARKED)) < 0 ||
		    json_object_set_new(rec, "update_timestamp", json_integer(now)) < 0)
			return err_set(err, EX_SOFTWARE, "cannot update split '%s'", c->sources[i]);
	}
	if (!c->new_id)
		return 0;        /* a delete pass left no document: the sources go, nothing comes */
	rec = json_pack("{s:s,s:I,s:I,s:n,s:O}", "split_state", SPLIT_PUBLISHED,
			"update_timestamp", now, "publish_timestamp", now, "publish_token",
			"metadata", c->meta);
	if (!rec || json_object_set_new(splits, c->new_id, rec) < 0)
		return err_set(err, EX_SOFTWARE, "cannot record split '%s'", c->new_id);
	return 0;
}

static json_t *maturity_of(const struct index_config *cfg, const struct merge_split *s,
			   int64_t now)
{
	const struct merge_policy *mp = &cfg->merge_policy;

	if (merge_policy_is_mature(mp, cfg->split_num_docs_target, s, now))
		return json_pack("{s:s}", "type", "mature");
	return json_pack("{s:s,s:I}", "type", "immature", "maturation_period_millis",
			 (json_int_t)mp->maturation_period_s * 1000);
}

/* The source being fed: where it is, and the delete tasks it has seen. */
struct feed_src {
	json_t *doc;                 /* the index snapshot the plan was made on */
	const char *index_id;
	const struct index_config *cfg;
	const char *path, *split_id;
	uint64_t delete_opstamp;     /* tasks above it drop documents */
};

/* Feed every document of one source split that no delete task drops to
 * the indexer; *in counts the split's documents, *dropped those left out. */
static int feed_split(struct indexer *ix, const struct feed_src *fs, uint64_t *docs,
		      uint64_t *in, uint64_t *dropped, uint64_t *bytes, struct qw_err *err)
{
	const char *split_id = fs->split_id;
	struct split_reader *r = split_reader_open(fs->path, err);
	struct stat stt;
	uint8_t *deleted = NULL;
	uint64_t n_deleted = 0;
	uint32_t n;
	int ret = -1;

	if (!r)
		return -1;
	if (split_reader_check_id(r, split_id, err) < 0)
		goto out;
	if (search_deleted_docs(fs->doc, fs->index_id, fs->cfg, r, fs->delete_opstamp, &deleted,
				&n_deleted, err) < 0)
		goto out;
	if (stat(fs->path, &stt) == 0)
		*bytes += (uint64_t)stt.st_size;
	n = split_reader_num_docs(r);
	for (uint32_t d = 0; d < n; d++) {
		enum indexer_trigger fired;
		const char *json;
		size_t len;

		if (deleted && deleted[d])
			continue;
		if (split_reader_doc(r, d, &json, &len, err) < 0)
			goto out;
		/* the num_docs and memory triggers are advisory here: a merge
		 * makes one split whatever its size */
		if (indexer_add_line(ix, json, len, &fired, err) < 0)
			goto out;
	}
	*docs += n - n_deleted;
	*in += n;
	*dropped += n_deleted;
	ret = 0;
out:
	if (ret < 0)
		err_prefix(err, "cannot read split '%s'", split_id);
	free(deleted);
	split_reader_close(r);
	return ret;
}

/*
 * Test knob (test builds only): QW_TEST_MERGE_HOLD=PATH holds every merge
 * between writing its split and publishing it while PATH exists, after
 * creating PATH.waiting (so that a test knows it is there).
 */
static void test_hold_before_publish(void)
{
#ifdef QW_TEST_KNOBS
	const char *hold = getenv("QW_TEST_MERGE_HOLD");
	char *waiting;
	FILE *f;

	if (!hold || !*hold || access(hold, F_OK) != 0)
		return;
	waiting = xmalloc(strlen(hold) + 9);
	memcpy(waiting, hold, strlen(hold));
	memcpy(waiting + strlen(hold), ".waiting", 9);
	f = fopen(waiting, "w");
	if (f)
		fclose(f);
	while (access(hold, F_OK) == 0) {
		struct timespec ts = { 0, 10 * 1000000L };

		nanosleep(&ts, NULL);
	}
	free(waiting);
#endif
}

/*
 * The merged segment of op's sources, section by section (split_merge.h),
 * into *seg_dir under the scratch dir; *in counts the sources' documents,
 * *dropped those delete tasks drop, *docs those written. Returns 1 (err
 * says why, *seg_dir NULL) when the sources cannot be merged this way.
 */
static int stream_sources(const struct merger_opts *o, json_t *doc, const struct index_config *cfg,
			  const struct merge_split *splits, const struct merge_op *op,
			  const char *new_id, char **seg_dir, uint64_t *docs, uint64_t *in,
			  uint64_t *dropped, uint64_t *bytes, uint64_t *unc, struct qw_err *err)
{
	struct split_merge_src *src = xcalloc(op->n, sizeof(*src));
	uint8_t **del = xcalloc(op->n, sizeof(*del));
	struct split_merge_stats ms;
	const char *failed = NULL;
	int ret = -1, rc;

	for (size_t k = 0; k < op->n; k++) {
		const struct merge_split *s = &splits[op->splits[k]];
		json_t *m = json_object_get(json_object_get(json_object_get(doc, "splits"),
							    s->split_id), "metadata");
		char *path = metastore_split_path_doc(o->ms, o->index_id, doc, s->split_id);
		uint64_t n_deleted = 0;
		struct stat stt;

		failed = s->split_id;
		src[k].r = split_reader_open(path, err);
		if (src[k].r && stat(path, &stt) == 0)
			*bytes += (uint64_t)stt.st_size;
		free(path);
		if (!src[k].r || split_reader_check_id(src[k].r, s->split_id, err) < 0 ||
		    search_deleted_docs(doc, o->index_id, cfg, src[k].r,
					metastore_split_delete_opstamp(m), &del[k], &n_deleted,
					err) < 0)
			goto out;
		src[k].deleted = del[k];
		*in += split_reader_num_docs(src[k].r);
		*dropped += n_deleted;
	}
	failed = NULL;
	if (*in == *dropped) {
		*docs = 0;
		ret = 0;
		goto out;
	}
	{
		char name[ULID_LEN + 7];

		snprintf(name, sizeof(name), "merge-%s", new_id);
		*seg_dir = fsutil_join(o->scratch_dir, name);
	}
	if (fsutil_mkdir_p(*seg_dir, 0755, err) < 0)
		goto out;
	rc = split_merge(cfg, src, op->n, *seg_dir, &ms, err);
	if (rc != 0) {
		if (rc == 1) {
			fsutil_rm_rf(*seg_dir, NULL);
			free(*seg_dir);
			*seg_dir = NULL;
			ret = 1;
		}
		goto out;
	}
	if (ms.num_docs != *in - *dropped) {
		err_set(err, EX_SOFTWARE, "merge refused: merged segment has %u documents, not %llu",
			ms.num_docs, (unsigned long long)(*in - *dropped));
		goto out;
	}
	*docs = ms.num_docs;
	*unc = ms.uncompressed;
	ret = 0;
out:
	if (ret < 0 && failed)
		err_prefix(err, "cannot read split '%s'", failed);
	for (size_t k = op->n; k-- > 0;) {
		split_reader_close(src[k].r);
		free(del[k]);
	}
	free(del);
	free(src);
	return ret;
}

/*
 * The fallback: the sources' stored documents indexed again into one
 * segment (*seg_dir, in *ix's scratch space; *rec its cut record).
 */
static int reindex_sources(const struct merger_opts *o, json_t *doc, const struct index_config *cfg,
			   const struct merge_split *splits, const struct merge_op *op,
			   struct indexer **ix, json_t **rec, char **seg_dir, uint64_t *docs,
			   uint64_t *in, uint64_t *dropped, uint64_t *bytes, uint64_t *unc,
			   struct qw_err *err)
{
	struct indexer_opts io = { .cfg = cfg, .index_id = o->index_id,
				   .scratch_dir = o->scratch_dir };
	struct indexer_stats is;
	json_t *entry;

	if (!stores_everything(cfg))
		return err_set(err, EX_DATAERR,
			       "cannot merge index '%s' that way: a field is not stored (stored: "
			       "false), and the doc store cannot give its documents back whole",
			       o->index_id);
	*ix = indexer_new(&io, err);
	if (!*ix)
		return -1;
	for (size_t k = 0; k < op->n; k++) {
		const struct merge_split *s = &splits[op->splits[k]];
		json_t *m = json_object_get(json_object_get(json_object_get(doc, "splits"),
							    s->split_id), "metadata");
		char *path = metastore_split_path_doc(o->ms, o->index_id, doc, s->split_id);
		struct feed_src fs = { doc, o->index_id, cfg, path, s->split_id,
				       metastore_split_delete_opstamp(m) };
		int r = feed_split(*ix, &fs, docs, in, dropped, bytes, err);

		free(path);
		if (r < 0)
			return -1;
	}
	indexer_get_stats(*ix, &is);
	if (is.docs_valid != *docs || is.docs_invalid != 0)
		return err_set(err, EX_DATAERR,
			       "merge refused: %llu documents in the sources (%llu of them deleted), "
			       "%llu indexed again and %llu rejected: it would lose data",
			       (unsigned long long)*in, (unsigned long long)*dropped,
			       (unsigned long long)is.docs_valid,
			       (unsigned long long)is.docs_invalid);
	if (*docs == 0)
		return 0;
	if (indexer_cut(*ix, TRIGGER_FORCE, rec, err) < 0)
		return -1;
	if (!*rec || json_array_size(json_object_get(*rec, "splits")) != 1)
		return err_set(err, EX_SOFTWARE,
			       "merge refused: the documents of one partition made %zu splits",
			       *rec ? json_array_size(json_object_get(*rec, "splits")) : 0);
	entry = json_array_get(json_object_get(*rec, "splits"), 0);
	*seg_dir = xstrdup(json_string_value(json_object_get(entry, "dir")));
	if ((uint64_t)json_int_or(entry, "num_docs", -1) != *docs)
		return err_set(err, EX_SOFTWARE,
			       "merge refused: merged segment has %lld documents, not %llu",
			       (long long)json_int_or(entry, "num_docs", -1),
			       (unsigned long long)*docs);
	*unc = (uint64_t)json_int_or(entry, "uncompressed_bytes", 0);
	return 0;
}

/* What building one merged segment counted (stream_sources, reindex_sources). */
struct merge_counts {
	uint64_t docs;    /* written to the merged segment */
	uint64_t in;      /* in the sources */
	uint64_t dropped; /* left out: delete tasks drop them */
	uint64_t bytes;   /* the sources' bytes read */
	uint64_t unc;     /* the merged documents' uncompressed size */
};

/* The ids of op's sources, sorted (borrowed from splits); *max_ops the most merge ops among them. */
static const char **sorted_source_ids(const struct merge_split *splits, const struct merge_op *op,
				      uint64_t *max_ops)
{
	const char **ids = xcalloc(op->n, sizeof(*ids));

	*max_ops = 0;
	for (size_t k = 0; k < op->n; k++) {
		const struct merge_split *s = &splits[op->splits[k]];

		ids[k] = s->split_id;
		if (s->num_merge_ops > *max_ops)
			*max_ops = s->num_merge_ops;
	}
	qsort(ids, op->n, sizeof(*ids), strlist_cmp);
	return ids;
}

/*
 * The merged segment of op's sources (*seg_dir), streamed section by
 * section or, when the sources cannot be merged that way, by indexing
 * their stored documents again (*ix, *rec: that indexer and its cut).
 * Refused when the sources hold another number of documents than op records.
 */
static int build_merged_segment(const struct merger_opts *o, json_t *doc,
				const struct index_config *cfg, const struct merge_split *splits,
				const struct merge_op *op, const char *new_id, const char *first_id,
				struct indexer **ix, json_t **rec, char **seg_dir,
				struct merge_counts *c, struct merger_stats *st, struct qw_err *err)
{
	int rc = stream_sources(o, doc, cfg, splits, op, new_id, seg_dir, &c->docs, &c->in,
				&c->dropped, &c->bytes, &c->unc, err);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		/* said, not hidden: this merge indexes the stored documents again */
		fprintf(stderr, "%s: %s; merging split %s by indexing its stored documents again\n",
			o->prog ? o->prog : "qw-merge", err->msg, first_id);
		err_clear(err);
		c->docs = c->in = c->dropped = c->bytes = 0;
		if (reindex_sources(o, doc, cfg, splits, op, ix, rec, seg_dir, &c->docs, &c->in,
				    &c->dropped, &c->bytes, &c->unc, err) < 0)
			return -1;
		st->reindexed++;
	}
	if (c->in != op->num_docs)
		return err_set(err, EX_DATAERR,
			       "merge refused: %llu documents in the sources, %llu recorded: it would "
			       "lose data", (unsigned long long)c->in,
			       (unsigned long long)op->num_docs);
	return 0;
}

/*
 * The metadata of merged, the split that new_id will be (NULL on error):
 * c->unc its documents' size, from the sources it replaces.
 */
static json_t *merged_split_metadata(const struct merger_opts *o, json_t *doc,
				     const struct index_config *cfg,
				     const struct merge_split *merged, const char *new_id,
				     uint64_t last_opstamp, int64_t now, const struct merge_counts *c,
				     json_t *from, struct qw_err *err)
{
	json_t *extra = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:I,s:I,s:o,s:I,s:I,s:O}",
				  "split_id", new_id,
				  "index_uid", json_string_value(json_object_get(doc, "index_uid")),
				  "index_id", o->index_id,
				  "source_id", merged->source_id,
				  "partition_id", (json_int_t)merged->partition_id,
				  "num_docs", (json_int_t)c->docs,
				  "create_timestamp", (json_int_t)merged->create_timestamp,
				  "maturity", maturity_of(cfg, merged, now),
				  "num_merge_ops", (json_int_t)merged->num_merge_ops,
				  /* every task of the snapshot is applied: later ones are not */
				  "delete_opstamp", (json_int_t)last_opstamp,
				  "merged_from", from);

	if (!extra) {
		err_set(err, EX_SOFTWARE, "cannot build the merged split's metadata");
		return NULL;
	}
	json_object_set_new(extra, "uncompressed_docs_size_in_bytes", json_integer((json_int_t)c->unc));
	if (merged->doc_mapping_uid)
		json_object_set_new(extra, "doc_mapping_uid", json_string(merged->doc_mapping_uid));
	return extra;
}

/*
 * Bundle seg_dir and extra into the split file new_id (*dst its path,
 * set once known, for the caller to free; *meta the split's metadata).
 * An index on object storage (s3://) gets the split bundled in the
 * scratch dir, then uploaded: only a local directory can be written.
 */
static int write_merged_split(const struct merger_opts *o, json_t *doc, const char *seg_dir,
			      const char *new_id, json_t *extra, char **dst, json_t **meta,
			      struct qw_err *err)
{
	char *sdir = metastore_splits_dir(o->ms, o->index_id, doc);
	char name[40], *local = NULL;
	struct storage *st = NULL;
	int ret = -1;

	*dst = metastore_split_path_doc(o->ms, o->index_id, doc, new_id);
	if (!split_cache_is_remote(sdir)) {
		if (fsutil_mkdir_p(sdir, 0755, err) < 0)
			goto out;
		if (split_bundle(seg_dir, *dst, extra, meta, err) < 0) {
			err_prefix(err, "cannot write merged split '%s'", new_id);
			goto out;
		}
		ret = 0;
		goto out;
	}
	storage_split_name(new_id, name);
	local = fsutil_join(o->scratch_dir, name);
	if (split_bundle(seg_dir, local, extra, meta, err) < 0) {
		err_prefix(err, "cannot write merged split '%s'", new_id);
		goto out;
	}
	st = storage_open_index(o->ms, o->index_id, err);
	if (!st || storage_put_file(st, name, local, true, err) < 0) {
		err_prefix(err, "cannot upload merged split '%s'", new_id);
		goto out;
	}
	ret = 0;
out:
	if (local && ret < 0)
		unlink(local);
	storage_close(st);
	free(local);
	free(sdir);
	return ret;
}

/* Remove the merged split new_id written at dst that no record names. */
static void remove_merged_split(const struct merger_opts *o, const char *new_id, const char *dst)
{
	struct qw_err err = QW_ERR_INIT;
	struct storage *st;
	char name[40];

	if (!split_cache_is_remote(dst)) {
		unlink(dst);
		return;
	}
	/* an upload nothing names: when this fails, qw gc removes the orphan */
	storage_split_name(new_id, name);
	st = storage_open_index(o->ms, o->index_id, &err);
	if (!st || storage_delete(st, name, &err) < 0)
		err_clear(&err);
	storage_close(st);
}

/*
 * Publish the merge of the sources ids into new_id (NULL, meta NULL: no
 * split comes): 0 done, 1 refused because another merge (or qw split
 * mark-for-deletion) took a source (said and counted: the next pass plans
 * again), -1 on any other error.
 */
static int publish_merge(const struct merger_opts *o, const char *new_id, json_t *meta,
			 const char *const *ids, size_t n, struct merger_stats *st,
			 struct qw_err *err)
{
	struct publish_merge_ctx c = { o->index_id, new_id, meta, ids, n };

	if (metastore_update(o->ms, o->index_id, publish_merge_tx, &c, err) >= 0)
		return 0;
	if (err->code != EX_TEMPFAIL)
		return -1;
	err_print(o->prog ? o->prog : "qw-merge", err);
	err_clear(err);
	st->refused++;
	return 1;
}

/* A published operation: counted in *st, listed in report, said when verbose (new_id "": no split). */
static void account_published(const struct merger_opts *o, const struct merge_op *op,
			      bool delete_pass, const char *new_id, json_t *from,
			      const struct merge_counts *c, struct merger_stats *st, json_t *report)
{
	if (delete_pass)
		st->delete_rewrites++;
	else
		st->merges++;
	st->splits_in += op->n;
	st->docs += c->docs;
	st->docs_deleted += c->dropped;
	st->bytes_in += c->bytes;
	if (report)
		json_array_append_new(report, json_pack("{s:s?,s:O,s:I,s:I,s:b}", "split_id",
							new_id[0] ? new_id : NULL,
							"merged_from", from, "num_docs",
							(json_int_t)c->docs, "deleted_docs",
							(json_int_t)c->dropped, "delete_pass",
							delete_pass));
	if (o->verbose)
		fprintf(stderr, "%s: %s %zu split%s (%llu documents, %llu deleted) into %s\n",
			o->prog ? o->prog : "qw-merge", delete_pass ? "rewrote" : "merged", op->n,
			op->n == 1 ? "" : "s", (unsigned long long)c->docs,
			(unsigned long long)c->dropped, new_id[0] ? new_id : "nothing");
}

/*
 * Run one operation: a merge of op's sources, or (delete_pass, one source)
 * the rewrite of a split without the documents delete tasks drop, which
 * keeps its num_merge_ops and create_timestamp (its maturity).
 */
static int execute(const struct merger_opts *o, json_t *doc, const struct index_config *cfg,
		   const struct merge_split *splits, const struct merge_op *op, bool delete_pass,
		   struct merger_stats *st, json_t *report, struct qw_err *err)
{
	struct indexer *ix = NULL;
	uint64_t max_ops;
	const char **ids = sorted_source_ids(splits, op, &max_ops);
	char new_id[ULID_LEN + 1];
	char *dst = NULL, *seg_dir = NULL;
	json_t *rec = NULL, *extra = NULL, *meta = NULL, *from = json_array();
	struct merge_split merged = splits[op->splits[0]];
	struct merge_counts c = { 0, 0, 0, 0, 0 };
	uint64_t last_opstamp = metastore_last_delete_opstamp(doc);
	int64_t now = clock_wall_s();
	bool written = false;
	int ret = -1, rc;

	for (size_t k = 0; k < op->n; k++)
		json_array_append_new(from, json_string(ids[k]));
	if (o->dry_run) {
		if (report)
			json_array_append_new(report, json_pack("{s:n,s:O,s:I}", "split_id",
								"merged_from", from, "num_docs",
								(json_int_t)op->num_docs));
		ret = 0;
		goto out;
	}
	if (ids_ulid_new(new_id, err) < 0 ||
	    build_merged_segment(o, doc, cfg, splits, op, new_id, ids[0], &ix, &rec, &seg_dir, &c,
				 st, err) < 0)
		goto out;
	if (c.docs == 0) {
		/* every document was deleted: the sources go, no split comes */
		new_id[0] = '\0';
	} else {
		merged.num_docs = c.docs;
		merged.num_merge_ops = (uint32_t)max_ops + (delete_pass ? 0 : 1);
		if (!delete_pass)
			merged.create_timestamp = now;
		extra = merged_split_metadata(o, doc, cfg, &merged, new_id, last_opstamp, now, &c,
					      from, err);
		if (!extra || write_merged_split(o, doc, seg_dir, new_id, extra, &dst, &meta, err) < 0)
			goto out;
		written = true;
		test_hold_before_publish();
	}
	rc = publish_merge(o, new_id[0] ? new_id : NULL, meta, ids, op->n, st, err);
	if (rc < 0) {
		/* the transaction may have happened (an error after the
		 * rename): keep the file; if no record names it, qw gc
		 * removes it as an orphan */
		written = false;
		goto out;
	}
	if (rc == 1) {
		/* refused: the file goes, nothing names it */
		ret = 0;
		goto out;
	}
	written = false;
	account_published(o, op, delete_pass, new_id, from, &c, st, report);
	ret = 0;
out:
	if (written)
		remove_merged_split(o, new_id, dst);
	if (seg_dir)
		fsutil_rm_rf(seg_dir, NULL);
	json_decref(meta);
	json_decref(extra);
	json_decref(rec);
	json_decref(from);
	indexer_free(ix);
	free(dst);
	free(seg_dir);
	free(ids);
	return ret;
}

/*
 * The delete pass: every mature candidate (no merge will touch it) that
 * is in no operation of plan and has delete tasks above its
 * delete_opstamp is rewritten without the documents they drop, or, when
 * they drop none, gets its delete_opstamp raised. Immature splits wait
 * for their merge, which drops the documents (search hides them meanwhile).
 */
static int delete_pass(const struct merger_opts *o, json_t *doc, const struct index_config *cfg,
		       const struct merge_split *splits, size_t n, const struct merge_plan *plan,
		       struct merger_stats *st, json_t *report, size_t *n_ops, struct qw_err *err)
{
	uint64_t last = metastore_last_delete_opstamp(doc);
	int64_t now = clock_wall_s();
	bool *planned;
	int ret = -1;

	if (last == 0)
		return 0;
	planned = xcalloc(n ? n : 1, sizeof(*planned));
	for (size_t i = 0; i < plan->n; i++)
		for (size_t k = 0; k < plan->ops[i].n; k++)
			planned[plan->ops[i].splits[k]] = true;
	for (size_t i = 0; i < n; i++) {
		const struct merge_split *s = &splits[i];
		json_t *m = json_object_get(json_object_get(json_object_get(doc, "splits"),
							    s->split_id), "metadata");
		uint64_t opstamp = metastore_split_delete_opstamp(m);
		char *path;
		struct split_reader *r;
		uint8_t *deleted = NULL;
		uint64_t n_deleted = 0;
		int rc;

		if (planned[i] || opstamp >= last ||
		    !merge_policy_is_mature(&cfg->merge_policy, cfg->split_num_docs_target, s, now))
			continue;
		path = metastore_split_path_doc(o->ms, o->index_id, doc, s->split_id);
		r = split_reader_open(path, err);
		free(path);
		rc = r && split_reader_check_id(r, s->split_id, err) == 0 ? 0 : -1;
		if (rc == 0)
			rc = search_deleted_docs(doc, o->index_id, cfg, r, opstamp, &deleted,
						 &n_deleted, err);
		split_reader_close(r);
		free(deleted);
		if (rc < 0) {
			err_prefix(err, "delete pass: split '%s'", s->split_id);
			goto out;
		}
		if (o->dry_run) {
			if (report && n_deleted > 0)
				json_array_append_new(report, json_pack(
					"{s:n,s:[s],s:I,s:I,s:b}", "split_id", "merged_from",
					s->split_id, "num_docs", (json_int_t)(s->num_docs - n_deleted),
					"deleted_docs", (json_int_t)n_deleted, "delete_pass", 1));
			continue;
		}
		if (n_deleted == 0) {
			if (metastore_raise_delete_opstamp(o->ms, o->index_id, s->split_id, last,
							   err) < 0) {
				if (err->code != EX_TEMPFAIL)
					goto out;
				err_clear(err);   /* merged or marked meanwhile */
			}
			continue;
		}
		{
			size_t one = i;
			struct merge_op op = { &one, 1, s->num_docs };

			if (fsutil_mkdir_p(o->scratch_dir, 0755, err) < 0 ||
			    execute(o, doc, cfg, splits, &op, true, st, report, err) < 0)
				goto out;
			(*n_ops)++;
		}
	}
	ret = 0;
out:
	free(planned);
	return ret;
}

static int pass(const struct merger_opts *o, struct merger_stats *st, json_t *report,
		size_t *n_ops, struct qw_err *err)
{
	json_t *doc = NULL;
	struct index_config *cfg = NULL;
	struct merge_split *splits = NULL;
	struct merge_plan plan = { NULL, 0 };
	size_t n = 0;
	int ret = -1;

	*n_ops = 0;
	doc = metastore_read(o->ms, o->index_id, err);
	if (!doc)
		goto out;
	cfg = config_from_json(json_object_get(doc, "index_config"), err);
	if (!cfg) {
		err_prefix(err, "index '%s': config", o->index_id);
		goto out;
	}
	splits = candidates(doc, cfg, &n);
	merge_policy_plan(&cfg->merge_policy, cfg->split_num_docs_target, splits, n, clock_wall_s(),
			  &plan);
	if (plan.n > 0 && fsutil_mkdir_p(o->scratch_dir, 0755, err) < 0)
		goto out;
	for (size_t i = 0; i < plan.n; i++)
		if (execute(o, doc, cfg, splits, &plan.ops[i], false, st, report, err) < 0)
			goto out;
	*n_ops = plan.n;
	if (delete_pass(o, doc, cfg, splits, n, &plan, st, report, n_ops, err) < 0)
		goto out;
	ret = 0;
out:
	merge_plan_free(&plan);
	free(splits);
	config_free(cfg);
	json_decref(doc);
	return ret;
}

int merger_pass(const struct merger_opts *o, struct merger_stats *st, json_t *report,
		struct qw_err *err)
{
	size_t n_ops;

	return pass(o, st, report, &n_ops, err);
}

int merger_run_until_done(const struct merger_opts *o, struct merger_stats *st, json_t *report,
			  struct qw_err *err)
{
	int retries = 0;

	for (;;) {
		uint64_t merges = st->merges + st->delete_rewrites, refused = st->refused;
		size_t n_ops;

		if (pass(o, st, report, &n_ops, err) < 0)
			return -1;
		if (o->dry_run || n_ops == 0)
			return 0;
		/* a pass whose publishes were all refused plans again on the new
		 * state, a few times */
		if (st->merges + st->delete_rewrites == merges && (st->refused == refused || ++retries >= 3))
			return 0;
	}
}

int merger_scratch_open(struct metastore *ms, char **dir, struct qw_err *err)
{
	char id[ULID_LEN + 1];

	*dir = NULL;
	if (ids_ulid_new(id, err) < 0)
		return -1;
	return metastore_lock_scratch(ms, id, dir, err);
}

json_t *merger_describe(json_t *doc, int64_t now_s, struct qw_err *err)
{
	struct index_config *cfg = config_from_json(json_object_get(doc, "index_config"), err);
	struct merge_split *splits = NULL;
	json_t *by_ops = NULL, *out = NULL;
	size_t n = 0, mature = 0;

	if (!cfg)
		return NULL;
	/* every Published split, the overflow partition's too */
	{
		char *saved = cfg->partition_key;

		cfg->partition_key = NULL;
		splits = candidates(doc, cfg, &n);
		cfg->partition_key = saved;
	}
	by_ops = json_object();
	for (size_t i = 0; i < n; i++) {
		char key[16];
		json_t *v;

		if (merge_policy_is_mature(&cfg->merge_policy, cfg->split_num_docs_target, &splits[i],
					   now_s))
			mature++;
		snprintf(key, sizeof(key), "%u", splits[i].num_merge_ops);
		v = json_object_get(by_ops, key);
		json_object_set_new(by_ops, key, json_integer(v ? json_integer_value(v) + 1 : 1));
	}
	{
		uint64_t last = metastore_last_delete_opstamp(doc);
		json_t *tasks = metastore_delete_tasks_doc(doc);
		size_t pending = 0;

		for (size_t i = 0; i < n; i++) {
			json_t *m = json_object_get(json_object_get(json_object_get(doc, "splits"),
								    splits[i].split_id), "metadata");

			if (metastore_split_delete_opstamp(m) < last)
				pending++;
		}
		out = json_pack("{s:s,s:I,s:I,s:o,s:{s:I,s:I,s:I}}", "policy",
				merge_policy_name(&cfg->merge_policy), "mature_splits",
				(json_int_t)mature, "immature_splits", (json_int_t)(n - mature),
				"splits_by_merge_ops", by_ops, "delete_tasks",
				"num_delete_tasks", (json_int_t)(tasks ? json_array_size(tasks) : 0),
				"last_delete_opstamp", (json_int_t)last,
				"splits_with_pending_deletes", (json_int_t)pending);
	}
	if (!out)
		err_set(err, EX_SOFTWARE, "cannot describe the merge state");
	free(splits);
	config_free(cfg);
	return out;
}
