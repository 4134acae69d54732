/*
 * publisher: one metastore transaction per uploaded record (see publisher.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/ids.h"
#include "store/metastore.h"
#include "pipeline/protocol.h"
#include "pipeline/publisher.h"
#include "base/xalloc.h"

#define DEFAULT_SOURCE "files"

static const char *rec_str(json_t *rec, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v ? v : dflt;
}

static int publish_one(struct metastore *ms, const struct publisher_opts *o, json_t *rec,
		       struct protocol_writer *w, struct qw_err *err)
{
	const char *index_id = rec_str(rec, "index", o->target.index_id);
	const char *source_id = rec_str(rec, "source", o->target.source_id);
	const char *token = rec_str(rec, "publish_token", o->target.publish_token);
	json_t *splits = json_object_get(rec, "splits");
	json_t *delta = json_object_get(rec, "checkpoint_delta");
	const char **ids = NULL;
	json_t *out = NULL, *jids, *sp;
	json_int_t num_docs = 0;
	size_t n, i;
	int ret = -1;

	if (!source_id)
		source_id = DEFAULT_SOURCE;
	if (!index_id) {
		err_set(err, EX_DATAERR, "uploaded record without \"index\" (and no --index)");
		goto out;
	}
	if (!token) {
		err_set(err, EX_DATAERR,
			"uploaded record without \"publish_token\" (and no --publish-token)");
		goto out;
	}
	if (splits && !json_is_array(splits)) {
		err_set(err, EX_DATAERR, "uploaded record: \"splits\" is not an array");
		goto out;
	}
	if (delta && !json_is_null(delta) && !json_is_object(delta)) {
		err_set(err, EX_DATAERR, "uploaded record: \"checkpoint_delta\" is not an object");
		goto out;
	}
	if (ids_check_index(index_id, err) < 0 || ids_check_source(source_id, err) < 0)
		goto out;
	n = json_array_size(splits);
	ids = xcalloc(n ? n : 1, sizeof(*ids));
	jids = json_array();
	out = json_pack("{s:s, s:s, s:s, s:o}", "type", REC_PUBLISHED, "index", index_id,
			"source", source_id, "split_ids", jids);
	json_array_foreach(splits, i, sp) {
		const char *id = rec_str(sp, "split_id", NULL);
		json_t *nd = json_object_get(json_object_get(sp, "metadata"), "num_docs");

		if (!id || !ids_is_ulid(id)) {
			err_set(err, EX_DATAERR, "uploaded split %zu: bad or missing \"split_id\"", i);
			goto out;
		}
		ids[i] = id;
		json_array_append_new(jids, json_string(id));
		if (json_is_integer(nd))
			num_docs += json_integer_value(nd);
	}
	if (!delta || json_is_null(delta))
		delta = NULL;
	{
		json_t *d = delta ? json_incref(delta) : json_object();

		ret = metastore_publish_splits(ms, index_id, source_id, token, ids, n, d, err);
		json_object_set_new(out, "checkpoint_delta", d);
	}
	if (ret < 0)
		goto out;
	json_object_set_new(out, "num_docs", json_integer(num_docs));
	if (json_is_integer(json_object_get(rec, "docs_invalid")))
		json_object_set(out, "docs_invalid", json_object_get(rec, "docs_invalid"));
	if (json_is_string(json_object_get(rec, "trigger")))
		json_object_set(out, "trigger", json_object_get(rec, "trigger"));
	ret = protocol_writer_control(w, out, err);
	if (ret == 0)
		ret = protocol_writer_flush(w, err);
out:
	json_decref(out);
	free(ids);
	return ret;
}

int publisher_run(const struct publisher_opts *o, int in_fd, int out_fd, struct qw_err *err)
{
	struct protocol_reader r;
	struct stage_stats stats;
	struct protocol_writer w;
	struct metastore *ms = NULL;
	uint64_t lineno = 0;
	json_t *rec = NULL;
	int ret = -1;

	protocol_reader_init(&r, in_fd, "standard input", PROTOCOL_MAX_CONTROL);
	protocol_writer_init(&w, out_fd, "standard output");
	stage_stats_init(&stats, "qw-publish");
	r.stats = &stats;
	w.stats = &stats;
	ms = stage_target_open(&o->target, err);
	if (!ms)
		goto out;
	for (;;) {
		const char *line;
		size_t len;
		enum line_kind k = protocol_read_control(&r, &lineno, &line, &len, &rec, err);

		if (k == LINE_EOF)
			break;
		if (k == LINE_AGAIN)
			err_set(err, EX_SOFTWARE, "standard input is non-blocking");
		if (k != LINE_CONTROL)
			goto out;
		if (!strcmp(protocol_type(rec), REC_UPLOADED)) {
			if (publish_one(ms, o, rec, &w, err) < 0) {
				err_prefix(err, "line %" PRIu64, lineno);
				goto out;
			}
		} else {
			if (protocol_writer_control_line(&w, line, len, err) < 0 ||
			    protocol_writer_flush(&w, err) < 0)
				goto out;
		}
		json_decref(rec);
		rec = NULL;
	}
	ret = protocol_writer_flush(&w, err);
	if (ret == 0)
		stage_stats_final(&stats);
out:
	json_decref(rec);
	if (ms)
		metastore_close(ms);
	protocol_writer_free(&w);
	protocol_reader_free(&r);
	return ret;
}
