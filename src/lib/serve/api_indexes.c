/*
 * api_indexes: Quickwit's /api/v1/indexes, /api/v1/<index>/search,
 * /api/v1/<index>/ingest and /api/v1/<index>/delete-tasks routes (see
 * http_router.h).
 *
 * Every request opens the metastore afresh: the file backend's
 * transactions (flock) keep concurrent requests and other qw programs
 * consistent, and nothing is cached that could go stale.
 *
 * Ingest: the body (NDJSON) is appended to the index's write-ahead file
 * <data_dir>/ingest/<index_id>.ndjson and fsynced before anything else;
 * then `qw-pipeline --once` over that file indexes what its checkpoint has
 * not covered yet, and the request is answered when it has published.
 * The pipeline's checkpoint (a byte position in the file, published with
 * the split) gives exactly-once: a crash after the fsync leaves documents
 * that the next ingest (or any qw-pipeline run over the file) indexes, a
 * crash after the publish leaves nothing to redo. Appends of one index are
 * serialized, so the file only grows by whole bodies; one pipeline run at
 * a time covers every body appended before it (group commit, see
 * struct api_ingest_slot).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve/api_internal.h"
#include "mapping/config.h"
#include "mapping/datetime.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "search/search.h"
#include "lifecycle/delete_task.h"
#include "base/strlist.h"
#include "base/xalloc.h"

extern char **environ;

/* Quickwit's answer for one index: its metadata. */
static json_t *index_metadata(json_t *doc)
{
	json_t *cp = json_object_get(doc, "checkpoints");

	return json_pack("{s:s, s:O, s:O, s:O, s:O, s:[]}", "version", "0.8", "index_uid",
			 json_object_get(doc, "index_uid"), "index_config",
			 json_object_get(doc, "index_config"), "checkpoint",
			 cp ? cp : json_object(), "create_timestamp",
			 json_object_get(doc, "create_timestamp"), "sources");
}

static bool body_is_yaml(const struct http_request *req)
{
	const char *ct = req->content_type;

	return ct && (strstr(ct, "yaml") != NULL);
}

static void create_index(struct metastore *ms, const struct http_request *req,
			 struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	struct index_config *cfg = NULL;
	const char *overwrite = http_params_get(&req->params, "overwrite");
	json_t *root = NULL, *doc = NULL;

	if (body_is_yaml(req)) {
		if (!req->body || req->body_len == 0) {
			api_error(resp, 400, "the request has no body: an index config is expected");
			goto out;
		}
		root = config_yaml_to_json(req->body, req->body_len, "request body", &err);
		if (!root) {
			api_error_from(resp, &err);
			goto out;
		}
	} else {
		root = api_body_json(req, resp);
		if (!root)
			goto out;
	}
	cfg = config_from_json(root, &err);
	if (!cfg) {
		api_error(resp, 400, "invalid index config: %s", err.msg);
		goto out;
	}
	if (metastore_create_index(ms, cfg, overwrite && strcmp(overwrite, "true") == 0, &err) < 0) {
		api_error(resp, metastore_index_exists(ms, cfg->index_id) ? 400 : api_status_of(err.code),
			  "%s", err.msg);
		goto out;
	}
	doc = metastore_read(ms, cfg->index_id, &err);
	if (!doc) {
		api_error_from(resp, &err);
		goto out;
	}
	api_json(resp, 200, index_metadata(doc));
out:
	json_decref(doc);
	config_free(cfg);
	json_decref(root);
}

static void list_indexes(struct metastore *ms, struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *arr = json_array();
	char **ids = NULL;
	size_t n = 0, i;

	if (metastore_list_indexes(ms, &ids, &n, &err) < 0) {
		api_error_from(resp, &err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_t *doc = metastore_read(ms, ids[i], &err);

		if (!doc) {
			/* deleted between the listing and the read: not an index any more */
			if (err.code == EX_NOINPUT) {
				err_clear(&err);
				continue;
			}
			api_error_from(resp, &err);
			goto out;
		}
		json_array_append_new(arr, index_metadata(doc));
		json_decref(doc);
	}
	api_json(resp, 200, arr);
	arr = NULL;
out:
	json_decref(arr);
	metastore_free_list(ids, n);
}

/* Quickwit's describe: counts and sizes of the published splits. */
static json_t *index_stats(const char *id, json_t *doc)
{
	json_t *splits = json_object_get(doc, "splits"), *s, *tr_min = json_null(),
	       *tr_max = json_null();
	json_int_t nsplits = 0, ndocs = 0, bytes = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	const char *sid;

	json_object_foreach(splits, sid, s) {
		json_t *meta = json_object_get(s, "metadata"), *tr;

		if (strcmp(json_string_value(json_object_get(s, "split_state")) ?: "",
			   SPLIT_PUBLISHED) != 0)
			continue;
		nsplits++;
		ndocs += json_integer_value(json_object_get(meta, "num_docs"));
		bytes += json_integer_value(json_object_get(meta, "uncompressed_docs_size_in_bytes"));
		tr = json_object_get(meta, "time_range");
		if (json_is_object(tr)) {
			int64_t a = json_integer_value(json_object_get(tr, "start"));
			int64_t b = json_integer_value(json_object_get(tr, "end"));

			lo = a < lo ? a : lo;
			hi = b > hi ? b : hi;
		}
	}
	if (lo <= hi) {
		tr_min = json_integer(lo);
		tr_max = json_integer(hi);
	}
	return json_pack("{s:s, s:O, s:I, s:I, s:I, s:o, s:o, s:O}", "index_id", id, "index_uri",
			 json_object_get(json_object_get(doc, "index_config"), "index_uri") ?: json_null(),
			 "num_published_splits", nsplits, "num_published_docs", ndocs,
			 "size_published_docs_uncompressed", bytes, "min_timestamp", tr_min,
			 "max_timestamp", tr_max, "timestamp_field_name",
			 json_object_get(json_object_get(json_object_get(doc, "index_config"),
							 "doc_mapping"),
					 "timestamp_field") ?: json_null());
}

static json_t *split_list(json_t *doc)
{
	json_t *arr = json_array(), *s;
	const char *sid;

	json_object_foreach(json_object_get(doc, "splits"), sid, s) {
		json_t *meta = json_object_get(s, "metadata");
		json_t *one = json_is_object(meta) ? json_deep_copy(meta) : json_object();

		json_object_set_new(one, "split_id", json_string(sid));
		json_object_set(one, "split_state", json_object_get(s, "split_state"));
		json_object_set(one, "update_timestamp", json_object_get(s, "update_timestamp"));
		json_object_set(one, "publish_timestamp", json_object_get(s, "publish_timestamp"));
		json_array_append_new(arr, one);
	}
	return json_pack("{s:I, s:o}", "size", (json_int_t)json_array_size(arr), "splits", arr);
}

/* The files a delete or clear removes, as Quickwit lists them. */
static json_t *split_files(json_t *doc)
{
	json_t *arr = json_array(), *s;
	const char *sid;

	json_object_foreach(json_object_get(doc, "splits"), sid, s) {
		json_t *meta = json_object_get(s, "metadata");
		char name[256];

		snprintf(name, sizeof(name), "%s.split", sid);
		json_array_append_new(arr, json_pack("{s:s, s:I}", "file_name", name, "file_size_bytes",
						     json_integer_value(json_object_get(
							     meta, "split_size_bytes"))));
	}
	return arr;
}

static void one_index(struct http_router *r, struct metastore *ms, const struct http_request *req,
		      const char *id, const char *action, struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	bool get = strcmp(req->method, "GET") == 0;
	json_t *doc = NULL;

	if (ids_check_index(id, &err) < 0) {
		api_error(resp, 400, "%s", err.msg);
		goto out;
	}
	doc = metastore_read(ms, id, &err);
	if (!doc) {
		if (err.code == EX_NOINPUT)
			api_error(resp, 404, "index `%s` not found", id);
		else
			api_error_from(resp, &err);
		goto out;
	}
	if (!action && get) {
		api_json(resp, 200, index_metadata(doc));
	} else if (action && strcmp(action, "describe") == 0 && get) {
		api_json(resp, 200, index_stats(id, doc));
	} else if (action && strcmp(action, "splits") == 0 && get) {
		api_json(resp, 200, split_list(doc));
	} else if (!action && strcmp(req->method, "DELETE") == 0) {
		json_t *files = split_files(doc);

		if (api_ingest_forget(r, id, &err) < 0 || metastore_delete_index(ms, id, &err) < 0) {
			json_decref(files);
			api_error_from(resp, &err);
			goto out;
		}
		api_json(resp, 200, files);
	} else if (action && strcmp(action, "clear") == 0 && strcmp(req->method, "PUT") == 0) {
		if (api_ingest_forget(r, id, &err) < 0 || metastore_clear_index(ms, id, &err) < 0) {
			api_error_from(resp, &err);
			goto out;
		}
		api_json(resp, 200, NULL);
	} else {
		api_error(resp, 405, "method not allowed: %s %s", req->method, req->path);
	}
out:
	json_decref(doc);
}

void api_indexes(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
		 struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	struct metastore *ms = metastore_open(api_data_dir(r), &err);

	if (!ms) {
		api_error_from(resp, &err);
		return;
	}
	if (nseg == 0 && strcmp(req->method, "POST") == 0)
		create_index(ms, req, resp);
	else if (nseg == 0 && strcmp(req->method, "GET") == 0)
		list_indexes(ms, resp);
	else if (nseg == 1 || nseg == 2)
		one_index(r, ms, req, seg[0], nseg == 2 ? seg[1] : NULL, resp);
	else
		api_error(resp, 404, "route not found: %s %s", req->method, req->path);
	metastore_close(ms);
}

/* ---------------------------------------------------------------- search */

/* A string, or an array of strings, into l. */
static int strlist_add_json(struct strlist *l, json_t *v)
{
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		strlist_add_csv(l, json_string_value(v));
		return 0;
	}
	if (!json_is_array(v))
		return -1;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return -1;
		strlist_add_csv(l, json_string_value(e));
	}
	return 0;
}

/* The search parameters as strings or JSON values, from GET params or a POST body. */
struct search_params {
	json_t *body; /* POST: the body; GET: an object built from the parameters */
};

static int parse_u64_value(json_t *v, const char *name, uint64_t max, uint64_t *out,
			   struct qw_err *err)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) <= max) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long x;

		errno = 0;
		x = strtoull(s, &end, 10);
		if (*s && *s != '-' && !*end && errno == 0 && x <= max) {
			*out = x;
			return 0;
		}
	}
	return err_set(err, EX_USAGE, "%s: expected an integer between 0 and %llu", name,
		       (unsigned long long)max);
}

static int parse_ts_value(json_t *v, const char *name, int64_t *out, struct qw_err *err)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		int64_t us;
		char *end;
		long long x;

		if (datetime_parse("rfc3339", s, strlen(s), &us)) {
			*out = datetime_us_to_s(us);
			return 0;
		}
		errno = 0;
		x = strtoll(s, &end, 10);
		if (*s && !*end && errno == 0) {
			*out = x;
			return 0;
		}
	}
	return err_set(err, EX_USAGE, "%s: expected unix seconds or an RFC 3339 date", name);
}

/* GET parameters into the object a POST would have sent. */
static json_t *params_to_body(const struct http_params *p, struct qw_err *err)
{
	json_t *body = json_object();
	size_t i;

	for (i = 0; i < p->n; i++) {
		const char *k = p->names[i], *v = p->values[i];

		if (strcmp(k, "aggs") == 0 || strcmp(k, "search_after") == 0) {
			json_error_t jerr;
			json_t *j = json_loads(v, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

			if (!j) {
				err_set(err, EX_USAGE, "%s: invalid JSON: %s", k, jerr.text);
				json_decref(body);
				return NULL;
			}
			json_object_set_new(body, k, j);
		} else if (strcmp(k, "search_field") == 0 || strcmp(k, "snippet_fields") == 0) {
			json_t *arr = json_object_get(body, k);

			if (!arr) {
				arr = json_array();
				json_object_set_new(body, k, arr);
			}
			json_array_append_new(arr, json_string(v));
		} else {
			json_object_set_new(body, k, json_string(v));
		}
	}
	return body;
}

/* The strings a search_request made by search_request_of points to, and their owner. */
struct search_strings {
	struct strlist fields;
	struct strlist snippet;
	struct strlist sort;
	char *sort_by;
};

/*
 * The query of a search into sreq: its string, its page of hits
 * (max_hits, start_offset) and its time range.
 */
static int search_query_of(json_t *body, struct search_request *sreq, struct qw_err *err)
{
	json_t *v;

	if ((v = json_object_get(body, "query"))) {
		if (!json_is_string(v))
			return err_set(err, EX_USAGE, "query: expected a string");
		sreq->query = json_string_value(v);
	}
	if ((v = json_object_get(body, "max_hits")) &&
	    parse_u64_value(v, "max_hits", 100000000, &sreq->max_hits, err) < 0)
		return -1;
	if ((v = json_object_get(body, "start_offset")) &&
	    parse_u64_value(v, "start_offset", 100000000, &sreq->start_offset, err) < 0)
		return -1;
	if ((v = json_object_get(body, "start_timestamp"))) {
		if (parse_ts_value(v, "start_timestamp", &sreq->start_ts, err) < 0)
			return -1;
		sreq->has_start = true;
	}
	if ((v = json_object_get(body, "end_timestamp"))) {
		if (parse_ts_value(v, "end_timestamp", &sreq->end_ts, err) < 0)
			return -1;
		sreq->has_end = true;
	}
	return 0;
}

/* sort_by (or sort_by_field, Quickwit's other name for it), a string or a list, as one string. */
static int search_sort_of(json_t *body, struct search_request *sreq, struct search_strings *own,
			  struct qw_err *err)
{
	json_t *v = json_object_get(body, "sort_by");
	struct buf b = BUF_INIT;

	if (!v)
		v = json_object_get(body, "sort_by_field");
	if (!v)
		return 0;
	if (strlist_add_json(&own->sort, v) < 0)
		return err_set(err, EX_USAGE, "sort_by: expected a string or a list of strings");
	for (size_t i = 0; i < own->sort.n; i++)
		buf_addf(&b, "%s%s", i ? "," : "", own->sort.v[i]);
	own->sort_by = buf_detach(&b, NULL);
	if (own->sort_by && *own->sort_by)
		sreq->sort_by = own->sort_by;
	return 0;
}

/* stats: true in a POST body, "true" as a GET parameter (qw-search --stats). */
static int search_stats_of(json_t *v, bool *stats, struct qw_err *err)
{
	const char *sv = json_string_value(v);

	if (json_is_boolean(v))
		*stats = json_is_true(v);
	else if (sv && (!strcmp(sv, "true") || !strcmp(sv, "false")))
		*stats = !strcmp(sv, "true");
	else
		return err_set(err, EX_USAGE, "stats: expected true or false");
	return 0;
}

/*
 * The search that body (a POST's, or the GET parameters as one) asks for
 * into sreq, all but its indexes: sreq points into body and own.
 */
static int search_request_of(json_t *body, struct search_request *sreq,
			     struct search_strings *own, struct qw_err *err)
{
	json_t *v;

	if (search_query_of(body, sreq, err) < 0 || search_sort_of(body, sreq, own, err) < 0)
		return -1;
	if ((v = json_object_get(body, "search_field")) && strlist_add_json(&own->fields, v) < 0)
		return err_set(err, EX_USAGE, "search_field: expected a string or a list of strings");
	if ((v = json_object_get(body, "snippet_fields")) && strlist_add_json(&own->snippet, v) < 0)
		return err_set(err, EX_USAGE, "snippet_fields: expected a string or a list of strings");
	if ((v = json_object_get(body, "format")) &&
	    (!json_is_string(v) || (strcmp(json_string_value(v), "json") != 0 &&
				    strcmp(json_string_value(v), "pretty_json") != 0)))
		return err_set(err, EX_USAGE, "format: expected json or pretty_json");
	if ((v = json_object_get(body, "stats")) && search_stats_of(v, &sreq->stats, err) < 0)
		return -1;
	sreq->aggs = json_object_get(body, "aggs");
	sreq->search_after = json_object_get(body, "search_after");
	if (own->fields.n) {
		sreq->search_fields = (const char *const *)own->fields.v;
		sreq->n_search_fields = own->fields.n;
	}
	sreq->snippet_fields = (const char *const *)own->snippet.v;
	sreq->n_snippet_fields = own->snippet.n;
	return 0;
}

void api_search(struct http_router *r, const struct http_request *req, const char *index_expr,
		struct http_response *resp)
{
	static const char *const known[] = {
		"query", "max_hits", "start_offset", "sort_by", "sort_by_field", "start_timestamp",
		"end_timestamp", "search_field", "snippet_fields", "aggs", "search_after", "format",
		"count_all", "stats", NULL,
	};
	struct qw_err err = QW_ERR_INIT;
	struct strlist indexes = { NULL, 0 };
	struct search_strings own = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, NULL };
	struct search_request sreq;
	json_t *body = NULL, *out = NULL;
	const char *unknown;
	bool partial = false;

	memset(&sreq, 0, sizeof(sreq));
	sreq.max_hits = 20;
	if (strcmp(req->method, "POST") == 0) {
		body = api_body_json(req, resp);
		if (!body)
			goto out;
	} else {
		body = params_to_body(&req->params, &err);
		if (!body)
			goto fail;
	}
	if ((unknown = api_unknown_key(body, known))) {
		err_set(&err, EX_USAGE, "unknown search parameter `%s`", unknown);
		goto fail;
	}
	strlist_add_csv(&indexes, index_expr);
	if (api_check_index_patterns(&indexes, &err) < 0 ||
	    search_request_of(body, &sreq, &own, &err) < 0)
		goto fail;
	sreq.indexes = (const char *const *)indexes.v;
	sreq.n_indexes = indexes.n;
	sreq.threads = r->search_threads;
	sreq.s3 = r->s3;
	sreq.warm = r->warm;
	if (search_run(api_data_dir(r), &sreq, &out, &partial, &err) < 0)
		goto fail;
	/* a partial answer says so in "errors", as Quickwit's; the status stays 200 */
	api_json(resp, 200, out);
	out = NULL;
	goto out;
fail:
	api_error_from(resp, &err);
out:
	json_decref(out);
	free(own.sort_by);
	strlist_free(&own.sort);
	strlist_free(&own.snippet);
	strlist_free(&own.fields);
	strlist_free(&indexes);
	json_decref(body);
}

/* ---------------------------------------------------------------- ingest */

static char *wal_path(struct http_router *r, const char *index_id)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/ingest/%s.ndjson", api_data_dir(r), index_id);
	return buf_detach(&b, NULL);
}

static struct api_ingest_slot *ingest_slot(struct http_router *r, const char *index_id)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = index_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &r->ingest[h % API_INGEST_SLOTS];
}

/*
 * Does the file end without a newline? A body cut by a crash (never
 * acknowledged) does: the next one must not be glued to it.
 */
static int wal_torn_end(int fd, bool *torn)
{
	struct stat st;
	char last;

	*torn = false;
	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size == 0)
		return 0;
	if (pread(fd, &last, 1, st.st_size - 1) != 1) {
		errno = errno ? errno : EIO;
		return -1;
	}
	*torn = last != '\n';
	return 0;
}

/*
 * Append body (plus a final newline when missing) to path and fsync; *st
 * gets the file (its size: the end of this body). A torn end left by a
 * crash is closed with a newline first: it becomes one invalid line, and
 * the body stays whole.
 */
static int wal_append(const char *path, const char *body, size_t len, struct stat *st,
		      struct qw_err *err)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd = -1, ret = -1;
	bool torn;

	*slash = '\0';
	if (fsutil_mkdir_p(dir, 0777, err) < 0)
		goto out;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd >= 0) {
		/* a new file: its directory entry must survive a crash too */
		if (fsutil_fsync_dir(dir, err) < 0)
			goto out;
	} else if (errno == EEXIST) {
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	}
	if (fd < 0) {
		err_errno(err, EX_CANTCREAT, "cannot open '%s'", path);
		goto out;
	}
	if (wal_torn_end(fd, &torn) < 0 || (torn && fsutil_write_full(fd, "\n", 1) < 0) ||
	    fsutil_write_full(fd, body, len) < 0 ||
	    (len && body[len - 1] != '\n' && fsutil_write_full(fd, "\n", 1) < 0) || fsync(fd) < 0 ||
	    fstat(fd, st) < 0) {
		err_errno(err, EX_IOERR, "cannot write '%s'", path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = err_errno(err, EX_IOERR, "cannot close '%s'", path);
	free(dir);
	return ret;
}

/* Run qw-pipeline --once over the write-ahead file; wait for it. */
static int run_pipeline(struct http_router *r, const char *index_id, const char *path,
			struct qw_err *err)
{
	const char *data_dir = api_data_dir(r);
	char *const argv[] = {
		r->pipeline_prog, "--index", (char *)index_id, "--data-dir", (char *)data_dir,
		"--source", "ingest-api", "--once", "--quiet", "--drain-ms", "0",
		/* NDJSON only, as Quickwit's: a line that is not JSON is an invalid
		 * document, never a reason to read the rest as plain text. Growing:
		 * appends go on while the run reads, and a body caught half-written
		 * (a reader can see a write() cut at a page boundary) is left for
		 * the next run, not indexed as two broken halves. */
		"--growing", "--format", "ndjson", (char *)path, NULL,
	};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	pid_t pid;
	int st, rc;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return err_set(err, EX_OSERR, "cannot spawn qw-pipeline");
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return err_set(err, EX_OSERR, "cannot spawn qw-pipeline");
	}
	/* the server blocks SIGTERM and ignores SIGPIPE: the child gets neither */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	rc = posix_spawnattr_setsigmask(&attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&attr, &dfl);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/* its stdout is not ours to write on */
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (rc == 0)
		rc = posix_spawnp(&pid, r->pipeline_prog, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return err_errno(err, EX_OSERR, "cannot run '%s'", r->pipeline_prog);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return err_errno(err, EX_OSERR, "cannot wait for qw-pipeline");
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return err_set(err, WEXITSTATUS(st) == EX_USAGE ? EX_SOFTWARE : EX_TEMPFAIL,
			       "qw-pipeline failed (exit %d): the documents are kept and indexed by "
			       "the next ingest",
			       WEXITSTATUS(st));
	return err_set(err, EX_TEMPFAIL,
		       "qw-pipeline died of signal %d: the documents are kept and indexed by the next "
		       "ingest",
		       WTERMSIG(st));
}

/* Documents in an NDJSON body: its non-blank lines. */
static size_t count_docs(const char *body, size_t len)
{
	size_t n = 0, i = 0;

	while (i < len) {
		bool blank = true;

		for (; i < len && body[i] != '\n'; i++)
			if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r')
				blank = false;
		n += !blank;
		i++;
	}
	return n;
}

int api_ingest_body(struct http_router *r, const char *index_id, const char *body, size_t len,
		    struct qw_err *err)
{
	struct api_ingest_slot *slot = ingest_slot(r, index_id);
	char *path = wal_path(r, index_id);
	struct stat mine, before;
	int ret = -1, rc;

	if (count_docs(body ? body : "", len) == 0) {
		ret = 0;
		goto out;
	}
	pthread_mutex_lock(&slot->append_lock);
	ret = wal_append(path, body, len, &mine, err);
	pthread_mutex_unlock(&slot->append_lock);
	if (ret < 0)
		goto out;
	ret = -1;
	/*
	 * Every commit mode indexes before it answers (auto waits as
	 * wait_for does): the response then never promises what a search
	 * would not show.
	 */
	pthread_mutex_lock(&slot->run_lock);
	if (strcmp(slot->index_id, index_id) == 0 && slot->dev == mine.st_dev &&
	    slot->ino == mine.st_ino && slot->covered >= mine.st_size) {
		ret = 0; /* a run that started after our append published it */
		goto unlock;
	}
	/*
	 * What the run covers: every body appended so far, whole (the size is
	 * taken between appends). Later appends may go on beside the run: it
	 * reads what of them is whole and leaves the rest to the next run.
	 */
	pthread_mutex_lock(&slot->append_lock);
	rc = stat(path, &before);
	pthread_mutex_unlock(&slot->append_lock);
	if (rc < 0 || before.st_ino != mine.st_ino || before.st_dev != mine.st_dev) {
		err_set(err, EX_TEMPFAIL, "index '%s' was cleared or deleted during the ingest",
			index_id);
		goto unlock;
	}
	if (run_pipeline(r, index_id, path, err) < 0)
		goto unlock;
	snprintf(slot->index_id, sizeof(slot->index_id), "%s", index_id);
	slot->dev = before.st_dev;
	slot->ino = before.st_ino;
	slot->covered = before.st_size;
	ret = 0;
unlock:
	pthread_mutex_unlock(&slot->run_lock);
out:
	free(path);
	return ret;
}

void api_ingest(struct http_router *r, const struct http_request *req, const char *index_id,
		struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	const char *commit = http_params_get(&req->params, "commit");
	struct metastore *ms = NULL;
	size_t ndocs;

	if (ids_check_index(index_id, &err) < 0) {
		api_error(resp, 400, "%s", err.msg);
		return;
	}
	if (commit && strcmp(commit, "auto") != 0 && strcmp(commit, "wait_for") != 0 &&
	    strcmp(commit, "force") != 0) {
		api_error(resp, 400, "commit: expected auto, wait_for or force, got `%s`", commit);
		return;
	}
	ms = metastore_open(api_data_dir(r), &err);
	if (!ms) {
		api_error_from(resp, &err);
		return;
	}
	if (!metastore_index_exists(ms, index_id)) {
		api_error(resp, 404, "index `%s` not found", index_id);
		goto out;
	}
	ndocs = count_docs(req->body ? req->body : "", req->body_len);
	if (api_ingest_body(r, index_id, req->body, req->body_len, &err) < 0) {
		api_error(resp, api_ingest_status(&err), "%s", err.msg);
		goto out;
	}
	api_json(resp, 200, json_pack("{s:I}", "num_docs_for_processing", (json_int_t)ndocs));
out:
	metastore_close(ms);
}

int api_ingest_status(const struct qw_err *err)
{
	return err->code == EX_SOFTWARE ? 500 : 503;
}

int api_ingest_forget(struct http_router *r, const char *index_id, struct qw_err *err)
{
	struct api_ingest_slot *slot = ingest_slot(r, index_id);
	char *path = wal_path(r, index_id);
	int ret = 0;

	pthread_mutex_lock(&slot->run_lock);
	pthread_mutex_lock(&slot->append_lock);
	if (unlink(path) < 0 && errno != ENOENT)
		ret = err_errno(err, EX_IOERR, "cannot remove '%s'", path);
	slot->index_id[0] = '\0';
	pthread_mutex_unlock(&slot->append_lock);
	pthread_mutex_unlock(&slot->run_lock);
	free(path);
	return ret;
}

/* ---------------------------------------------------------------- delete tasks */

/* POST: {"query", "search_field" (string or list), "start_timestamp",
 * "end_timestamp"} as Quickwit's DeleteQuery; GET: the tasks. */
void api_delete_tasks(struct http_router *r, const struct http_request *req, const char *index_id,
		      struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	struct metastore *ms = NULL;
	struct strlist fields = STRLIST_INIT;
	struct delete_task_request rq = { 0 };
	json_t *body = NULL, *task = NULL, *v;
	const char *k;

	if (ids_check_index(index_id, &err) < 0) {
		api_error(resp, 400, "%s", err.msg);
		goto out;
	}
	ms = metastore_open(api_data_dir(r), &err);
	if (!ms) {
		api_error_from(resp, &err);
		goto out;
	}
	if (strcmp(req->method, "GET") == 0) {
		task = metastore_list_delete_tasks(ms, index_id, &err);
		if (!task) {
			if (err.code == EX_NOINPUT)
				api_error(resp, 404, "index `%s` not found", index_id);
			else
				api_error_from(resp, &err);
			goto out;
		}
		api_json(resp, 200, task);
		task = NULL;
		goto out;
	}
	body = api_body_json(req, resp);
	if (!body)
		goto out;
	json_object_foreach(body, k, v) {
		if (strcmp(k, "query") == 0 && json_is_string(v)) {
			rq.query = json_string_value(v);
		} else if (strcmp(k, "search_field") == 0 && strlist_add_json(&fields, v) == 0) {
			rq.search_fields = (const char *const *)fields.v;
			rq.n_search_fields = fields.n;
		} else if (strcmp(k, "start_timestamp") == 0 && !json_is_null(v)) {
			if (parse_ts_value(v, k, &rq.start_timestamp, &err) < 0)
				break;
			rq.has_start = true;
		} else if (strcmp(k, "end_timestamp") == 0 && !json_is_null(v)) {
			if (parse_ts_value(v, k, &rq.end_timestamp, &err) < 0)
				break;
			rq.has_end = true;
		} else if (!json_is_null(v) || (strcmp(k, "start_timestamp") != 0 &&
						strcmp(k, "end_timestamp") != 0)) {
			err_set(&err, EX_USAGE, "delete query: unknown or invalid field `%s`", k);
			break;
		}
	}
	if (err.code) {
		api_error(resp, 400, "%s", err.msg);
		goto out;
	}
	if (!rq.query) {
		api_error(resp, 400, "delete query: missing field `query`");
		goto out;
	}
	if (delete_task_create(ms, index_id, &rq, &task, &err) < 0) {
		if (err.code == EX_NOINPUT)
			api_error(resp, 404, "index `%s` not found", index_id);
		else if (err.code == EX_USAGE || err.code == EX_DATAERR)
			api_error(resp, 400, "%s", err.msg);
		else
			api_error_from(resp, &err);
		goto out;
	}
	api_json(resp, 200, task);
	task = NULL;
out:
	json_decref(task);
	json_decref(body);
	strlist_free(&fields);
	if (ms)
		metastore_close(ms);
}
