#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "pipeline/packager.h"
#include "pipeline/protocol.h"
#include "split/split_bundle.h"
#include "base/xalloc.h"

/* The segment directory of a split entry, checked: its last component must
 * be "seg-<ULID>" (what qw-index makes). Returns the parent in *parent. */
static int check_segment_dir(const char *dir, char **parent, struct qw_err *err)
{
	const char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : dir;

	if (strncmp(base, "seg-", 4) != 0 || !ids_is_ulid(base + 4))
		return err_set(err, EX_DATAERR,
			       "split record: '%s' is not a segment directory made by qw-index", dir);
	if (!slash)
		*parent = xstrdup(".");
	else if (slash == dir)
		*parent = xstrdup("/");
	else
		*parent = xstrndup(dir, (size_t)(slash - dir));
	return 0;
}

static json_t *maturity(const struct index_config *cfg, json_int_t num_docs)
{
	if (!cfg || cfg->merge_policy.type == MERGE_NO_MERGE ||
	    (uint64_t)num_docs >= cfg->split_num_docs_target)
		return json_pack("{s:s}", "type", "mature");
	return json_pack("{s:s,s:I}", "type", "immature", "maturation_period_millis",
			 (json_int_t)cfg->merge_policy.maturation_period_s * 1000);
}

/* Is the record's generation dead? Sets *index_uid (borrowed from *meta). */
static int check_fence(const struct packager_opts *o, const char *index, const char *source,
		       const char *token, json_t **meta, const char **index_uid, bool *dead,
		       struct qw_err *err)
{
	const char *cur;

	*dead = false;
	*index_uid = index;
	if (!o->ms && !o->index_meta)
		return 0;
	*meta = o->ms ? metastore_read(o->ms, index, err) : json_incref(o->index_meta);
	if (!*meta)
		return -1;
	if (json_is_string(json_object_get(*meta, "index_uid")))
		*index_uid = json_string_value(json_object_get(*meta, "index_uid"));
	if (!token || !source)
		return 0;
	cur = json_string_value(json_object_get(json_object_get(*meta, "publish_tokens"), source));
	*dead = cur && strcmp(cur, token) != 0;
	return 0;
}

static void remove_segments(json_t *splits)
{
	size_t i;
	json_t *s;

	json_array_foreach(splits, i, s) {
		const char *dir = json_string_value(json_object_get(s, "dir"));
		char *parent = NULL;

		if (dir && check_segment_dir(dir, &parent, NULL) == 0)
			fsutil_rm_rf(dir, NULL);
		free(parent);
	}
}

static int package_one(const struct packager_opts *o, const struct index_config *cfg,
		       json_t *rec, json_t *entry, const char *index_uid, json_t *out_splits,
		       struct buf *written, struct qw_err *err)
{
	const char *dir = json_string_value(json_object_get(entry, "dir"));
	json_t *pid = json_object_get(entry, "partition_id");
	json_t *nd = json_object_get(entry, "num_docs");
	char split_id[ULID_LEN + 1];
	char name[ULID_LEN + 8];
	char *parent = NULL, *path = NULL;
	json_t *extra = NULL, *meta = NULL;
	json_int_t size;
	int ret = -1;

	if (!dir || !json_is_integer(nd))
		return err_set(err, EX_DATAERR, "split record: a split without \"dir\" or \"num_docs\"");
	if (check_segment_dir(dir, &parent, err) < 0)
		goto out;
	if (ids_ulid_new(split_id, err) < 0)
		goto out;
	snprintf(name, sizeof(name), "%s.split", split_id);
	path = fsutil_join(o->scratch_dir ? o->scratch_dir : parent, name);
	extra = json_pack("{s:s,s:s,s:s,s:O?,s:I,s:O,s:I,s:o,s:I,s:I}",
			  "split_id", split_id,
			  "index_uid", index_uid,
			  "index_id", json_string_value(json_object_get(rec, "index")),
			  "source_id", json_object_get(rec, "source"),
			  "partition_id", json_integer_value(pid),
			  "num_docs", nd,
			  "create_timestamp", (json_int_t)clock_wall_s(),
			  "maturity", maturity(cfg, json_integer_value(nd)),
			  "num_merge_ops", (json_int_t)0,
			  "delete_opstamp", (json_int_t)0);
	if (!extra) {
		err_set(err, EX_SOFTWARE, "cannot build split metadata");
		goto out;
	}
	if (json_is_integer(json_object_get(entry, "uncompressed_bytes")))
		json_object_set(extra, "uncompressed_docs_size_in_bytes",
				json_object_get(entry, "uncompressed_bytes"));
	{
		char host[256];

		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			json_object_set_new(extra, "node_id", json_string(host));
		}
	}
	if (cfg && cfg->doc_mapping_uid)
		json_object_set_new(extra, "doc_mapping_uid", json_string(cfg->doc_mapping_uid));
	if (split_bundle(dir, path, extra, &meta, err) < 0) {
		err_prefix(err, "cannot bundle '%s'", dir);
		goto out;
	}
	buf_adds(written, path);
	buf_addc(written, '\n');
	size = json_integer_value(json_object_get(meta, "split_size_bytes"));
	if (size <= 0) {
		struct stat st;

		size = stat(path, &st) == 0 ? (json_int_t)st.st_size : 0;
	}
	json_array_append_new(out_splits, json_pack("{s:s,s:s,s:O,s:I}",
						    "split_id", split_id,
						    "path", path,
						    "metadata", meta,
						    "size", size));
	if (fsutil_rm_rf(dir, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(meta);
	json_decref(extra);
	free(path);
	free(parent);
	return ret;
}

/* Remove the files listed one per line in written. */
static void unlink_written(struct buf *written)
{
	char *p = written->data;

	while (p && *p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		unlink(p);
		if (!nl)
			break;
		p = nl + 1;
	}
	buf_reset(written);
}

int packager_package(const struct packager_opts *o, json_t *rec, json_t **packaged,
		     struct buf *notice, struct qw_err *err)
{
	const char *index = json_string_value(json_object_get(rec, "index"));
	const char *source = json_string_value(json_object_get(rec, "source"));
	const char *token = json_string_value(json_object_get(rec, "publish_token"));
	json_t *splits = json_object_get(rec, "splits");
	json_t *delta = json_object_get(rec, "checkpoint_delta");
	json_t *meta = NULL, *out_splits = NULL, *out = NULL;
	struct buf written = BUF_INIT;
	const struct index_config *cfg = o->cfg;
	struct index_config *own_cfg = NULL;
	const char *index_uid;
	bool dead;
	size_t i;
	json_t *entry;
	int ret = -1;

	*packaged = NULL;
	if (!index) {
		err_set(err, EX_DATAERR, "split record: no \"index\"");
		goto out;
	}
	if (ids_check_index(index, err) < 0) {
		if (err)
			err->code = EX_DATAERR;
		err_prefix(err, "split record");
		goto out;
	}
	if (!json_is_array(splits) || (delta && !json_is_object(delta))) {
		err_set(err, EX_DATAERR, "split record: \"splits\" must be an array and "
			"\"checkpoint_delta\" an object");
		goto out;
	}
	if (o->index_id && strcmp(o->index_id, index) != 0) {
		err_set(err, EX_DATAERR, "split record of index '%s' given to the packager of '%s'",
			index, o->index_id);
		goto out;
	}
	if (check_fence(o, index, source, token, &meta, &index_uid, &dead, err) < 0)
		goto out;
	if (dead) {
		remove_segments(splits);
		buf_addf(notice, "dropped %zu split(s) of index '%s' source '%s': publish token '%s' "
			 "is not the current one (dead generation, fenced by ",
			 json_array_size(splits), index, source, token);
		metastore_describe_owner(meta, source, notice);
		buf_addc(notice, ')');
		ret = 0;
		goto out;
	}
	/* no config given: the metastore's, when there is one */
	if (!cfg && o->ms && json_array_size(splits) > 0) {
		own_cfg = metastore_index_config(o->ms, index, err);
		if (!own_cfg)
			goto out;
		cfg = own_cfg;
	}
	out_splits = json_array();
	json_array_foreach(splits, i, entry) {
		if (package_one(o, cfg, rec, entry, index_uid, out_splits, &written, err) < 0) {
			unlink_written(&written);
			goto out;
		}
	}
	out = json_pack("{s:s,s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:O,s:O}",
			"type", REC_PACKAGED,
			"index", index,
			"source", json_object_get(rec, "source"),
			"publish_token", json_object_get(rec, "publish_token"),
			"trigger", json_object_get(rec, "trigger"),
			"num_docs", json_object_get(rec, "num_docs"),
			"docs_invalid", json_object_get(rec, "docs_invalid"),
			"splits", out_splits,
			"checkpoint_delta", delta ? delta : json_object());
	if (!out) {
		unlink_written(&written);
		err_set(err, EX_SOFTWARE, "cannot build the packaged record");
		goto out;
	}
	*packaged = out;
	ret = 0;
out:
	if (own_cfg)
		config_free(own_cfg);
	buf_free(&written);
	json_decref(out_splits);
	json_decref(meta);
	return ret;
}

int packager_run(const struct packager_opts *o, int in_fd, int out_fd, packager_notice_fn notice,
		 void *ctx, struct qw_err *err)
{
	struct protocol_reader r;
	struct stage_stats stats;
	struct protocol_writer w;
	struct buf msg = BUF_INIT;
	uint64_t lineno = 0;
	int ret = -1;

	if (o->scratch_dir && fsutil_mkdir_p(o->scratch_dir, 0755, err) < 0)
		return -1;
	protocol_reader_init(&r, in_fd, "standard input", PROTOCOL_MAX_CONTROL);
	protocol_writer_init(&w, out_fd, "standard output");
	stage_stats_init(&stats, "qw-package");
	r.stats = &stats;
	w.stats = &stats;
	for (;;) {
		const char *line;
		size_t len;
		json_t *rec, *out = NULL;
		enum line_kind kind = protocol_read_control(&r, &lineno, &line, &len, &rec, err);
		int rc;

		if (kind == LINE_EOF)
			break;
		if (kind == LINE_AGAIN)
			err_set(err, EX_SOFTWARE, "standard input is non-blocking");
		if (kind != LINE_CONTROL)
			goto out;
		if (strcmp(protocol_type(rec), REC_SPLIT) == 0) {
			buf_reset(&msg);
			rc = packager_package(o, rec, &out, &msg, err);
			if (rc == 0 && out)
				rc = protocol_writer_control(&w, out, err);
			if (rc == 0 && msg.len && notice)
				notice(ctx, msg.data);
		} else {
			rc = protocol_writer_control_line(&w, line, len, err);
		}
		json_decref(out);
		json_decref(rec);
		if (rc == 0)
			rc = protocol_writer_flush(&w, err);
		if (rc < 0)
			goto out;
	}
	ret = protocol_writer_flush(&w, err);
	if (ret == 0)
		stage_stats_final(&stats);
out:
	buf_free(&msg);
	protocol_writer_free(&w);
	protocol_reader_free(&r);
	return ret;
}
