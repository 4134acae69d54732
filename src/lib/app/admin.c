/*
 * admin: index and split reports for the front end (see admin.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "app/admin.h"
#include "app/prog.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "base/strlist.h"
#include "split/split_reader.h"
#include "base/xalloc.h"

/* The recorded size, else the file's (splits staged before sizes were
 * recorded), else 0. */
static int64_t split_size(struct metastore *ms, const char *index_id, json_t *doc,
			  const struct split_record *r)
{
	struct stat st;
	char *path;
	int64_t n = 0;

	if (r->has_size)
		return r->size_bytes;
	if (!ids_is_ulid(r->split_id))
		return 0;
	path = metastore_split_path_doc(ms, index_id, doc, r->split_id);
	if (stat(path, &st) == 0)
		n = (int64_t)st.st_size;
	free(path);
	return n;
}

static char *index_uri(struct metastore *ms, const char *index_id, json_t *doc)
{
	const char *uri = json_string_value(json_object_get(json_object_get(doc, "index_config"),
							   "index_uri"));
	char *dir, *abs;
	struct buf b = BUF_INIT;

	if (uri)
		return xstrdup(uri);
	dir = metastore_index_dir(ms, index_id);
	abs = realpath(dir, NULL);
	buf_addf(&b, "file://%s", abs ? abs : dir);
	free(abs);
	free(dir);
	return buf_detach(&b, NULL);
}

/* A member of doc, or null when absent (a new reference). */
static json_t *member_or_null(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	return json_incref(v ? v : json_null());
}

static json_t *summarize(struct metastore *ms, const char *index_id, json_t *doc)
{
	json_t *cfg = json_object_get(doc, "index_config");
	json_int_t n_staged = 0, n_pub = 0, n_marked = 0, docs = 0, bytes = 0, ubytes = 0;
	int64_t tmin = 0, tmax = 0;
	bool have_time = false;
	json_t *out, *tr = json_null();
	const char *tsf = json_string_value(json_object_get(json_object_get(cfg, "doc_mapping"),
							   "timestamp_field"));
	char *uri = index_uri(ms, index_id, doc);
	struct split_record *recs;
	size_t n;

	metastore_split_records(doc, SPLIT_STATE_STAGED | SPLIT_STATE_PUBLISHED |
				SPLIT_STATE_MARKED, &recs, &n);
	for (size_t i = 0; i < n; i++) {
		const struct split_record *r = &recs[i];

		if (r->state == SPLIT_STATE_STAGED) {
			n_staged++;
			continue;
		}
		if (r->state == SPLIT_STATE_MARKED) {
			n_marked++;
			continue;
		}
		n_pub++;
		docs += r->num_docs;
		ubytes += r->uncompressed_docs_size_in_bytes;
		bytes += split_size(ms, index_id, doc, r);
		if (r->has_time_range) {
			if (!have_time || r->time_start < tmin)
				tmin = r->time_start;
			if (!have_time || r->time_end > tmax)
				tmax = r->time_end;
			have_time = true;
		}
	}
	metastore_free_splits(recs, n);
	if (have_time)
		tr = json_pack("{s:I, s:I}", "start", (json_int_t)tmin, "end", (json_int_t)tmax);
	out = json_pack("{s:s, s:O, s:s, s:o, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:O}",
			"index_id", index_id,
			"index_uid", json_object_get(doc, "index_uid"),
			"index_uri", uri,
			"create_timestamp", member_or_null(doc, "create_timestamp"),
			"timestamp_field", tsf,
			"num_published_splits", n_pub,
			"num_staged_splits", n_staged,
			"num_marked_splits", n_marked,
			"num_published_docs", docs,
			"size_published_splits", bytes,
			"size_published_docs_uncompressed", ubytes,
			"timestamp_range", tr,
			"checkpoints", json_object_get(doc, "checkpoints"));
	if (out && !tsf)
		json_object_set_new(out, "timestamp_field", json_null());
	free(uri);
	return out;
}

json_t *admin_index_summary(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err);
	json_t *out = NULL;

	if (!doc)
		goto out;
	out = summarize(ms, index_id, doc);
	if (!out)
		err_set(err, EX_SOFTWARE, "cannot summarize index '%s'", index_id);
out:
	json_decref(doc);
	return out;
}

int admin_parse_states(const char *list, unsigned *states, struct qw_err *err)
{
	const char *p = list;

	*states = 0;
	if (!list)
		return 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if ((n == 6 && !strncasecmp(p, "staged", n)))
			*states |= SPLIT_STATE_STAGED;
		else if (n == 9 && !strncasecmp(p, "published", n))
			*states |= SPLIT_STATE_PUBLISHED;
		else if ((n == 6 && !strncasecmp(p, "marked", n)) ||
			 (n == 17 && !strncasecmp(p, "MarkedForDeletion", n)) ||
			 (n == 19 && !strncasecmp(p, "marked_for_deletion", n)))
			*states |= SPLIT_STATE_MARKED;
		else
			return err_set(err, EX_USAGE,
				       "invalid --state '%.*s' (expected staged, published or marked)",
				       (int)n, p);
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* An optional integer as JSON: null when absent. */
static json_t *int_or_null(bool has, int64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

json_t *admin_split_list(struct metastore *ms, const char *index_id, unsigned states,
			 struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err);
	json_t *arr = NULL;
	struct split_record *recs = NULL;
	size_t n = 0;

	if (!doc)
		goto out;
	metastore_split_records(doc, states ? states : SPLIT_STATES_ALL, &recs, &n);
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct split_record *r = &recs[i];
		json_t *range = r->has_time_range ?
			json_pack("{s:I, s:I}", "start", (json_int_t)r->time_start, "end",
				  (json_int_t)r->time_end) : json_null();
		json_t *o = json_pack("{s:s, s:s?, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
				      "split_id", r->split_id,
				      "split_state", split_state_name(r->state),
				      "num_docs", (json_int_t)r->num_docs,
				      "size_bytes", (json_int_t)split_size(ms, index_id, doc, r),
				      "uncompressed_docs_size_in_bytes",
				      (json_int_t)r->uncompressed_docs_size_in_bytes,
				      "time_range", range,
				      "create_timestamp",
				      int_or_null(r->has_create_timestamp, r->create_timestamp),
				      "update_timestamp",
				      int_or_null(r->has_update_timestamp, r->update_timestamp),
				      "publish_timestamp",
				      int_or_null(r->has_publish_timestamp, r->publish_timestamp));

		if (!o || json_array_append_new(arr, o) < 0) {
			err_set(err, EX_SOFTWARE, "cannot list the splits of index '%s'", index_id);
			json_decref(arr);
			arr = NULL;
			goto out;
		}
	}
out:
	metastore_free_splits(recs, n);
	json_decref(doc);
	return arr;
}

/* 0 when the index document has a record of split_id (*state: its name,
 * NULL for a state this version does not know), else -1. */
static int find_split(json_t *doc, const char *split_id, const char **state)
{
	struct split_record *recs;
	size_t n;
	int ret = -1;

	metastore_split_records(doc, SPLIT_STATES_ALL, &recs, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(recs[i].split_id, split_id)) {
			*state = split_state_name(recs[i].state);
			ret = 0;
		}
	metastore_free_splits(recs, n);
	return ret;
}

json_t *admin_split_describe(struct metastore *ms, const char *index_id, const char *arg,
			     bool verify, struct qw_err *err)
{
	json_t *doc = NULL, *d = NULL;
	const char *state = NULL;
	char *path = NULL;

	if (index_id) {
		if (ids_check_index(index_id, err) < 0)
			goto out;
		if (!ids_is_ulid(arg)) {
			err_set(err, EX_USAGE, "invalid split id '%.64s': not a ULID", arg);
			goto out;
		}
		doc = metastore_read(ms, index_id, err);
		if (!doc)
			goto out;
		if (find_split(doc, arg, &state) < 0) {
			err_set(err, EX_NOINPUT, "split '%s' does not exist in index '%s'", arg,
				index_id);
			goto out;
		}
		path = metastore_split_path_doc(ms, index_id, doc, arg);
	} else {
		path = xstrdup(arg);
	}
	d = split_reader_describe(path, verify, index_id ? arg : NULL, err);
	if (!d)
		goto out;
	if (state)
		json_object_set_new(d, "split_state", json_string(state));
	if (verify)
		json_object_set_new(d, "verified", json_true());
out:
	free(path);
	json_decref(doc);
	return d;
}

json_t *admin_pipeline_status(const char *path, char **raw, struct qw_err *err)
{
	static const char *const counters[] = { "docs_in", "docs_out", "bytes_in", "bytes_out",
						 "wait_input_us", "blocked_output_us" };
	struct buf b = BUF_INIT;
	struct qw_err re = QW_ERR_INIT;
	json_error_t je;
	json_t *st = NULL, *stages, *o;
	size_t i;
	bool ok = false;

	if (fsutil_read_all(path, &b, &re) < 0) {
		err_set(err, re.code, "%s (give the path passed to qw-pipeline --status-file; it "
			"is written once the pipeline has started)", re.msg);
		goto out;
	}
	st = json_loadb(b.data ? b.data : "", b.len, 0, &je);
	if (!st) {
		err_set(err, EX_DATAERR,
			"'%s' is not a qw-pipeline status file: line %d: %s (give the path passed "
			"to qw-pipeline --status-file)", path, je.line, je.text);
		goto out;
	}
	if (!json_is_object(st) || !json_is_string(json_object_get(st, "state"))) {
		err_set(err, EX_DATAERR,
			"'%s' is not a qw-pipeline status file: no \"state\" (give the path passed "
			"to qw-pipeline --status-file)", path);
		goto out;
	}
	stages = json_object_get(st, "stages");
	if (stages && !json_is_array(stages)) {
		err_set(err, EX_DATAERR, "'%s': \"stages\" is not an array", path);
		goto out;
	}
	json_array_foreach(stages, i, o) {
		if (!json_is_object(o) || !json_is_string(json_object_get(o, "stage"))) {
			err_set(err, EX_DATAERR, "'%s': stage %zu has no name", path, i + 1);
			goto out;
		}
		for (size_t j = 0; j < sizeof(counters) / sizeof(counters[0]); j++)
			if (!json_is_integer(json_object_get(o, counters[j])) ||
			    json_integer_value(json_object_get(o, counters[j])) < 0) {
				err_set(err, EX_DATAERR, "'%s': stage '%s': \"%s\" is not a count",
					path, json_string_value(json_object_get(o, "stage")),
					counters[j]);
				goto out;
			}
	}
	if (raw) {
		*raw = xmalloc(b.len + 1);
		memcpy(*raw, b.data ? b.data : "", b.len);
		(*raw)[b.len] = '\0';
	}
	ok = true;
out:
	if (!ok) {
		json_decref(st);
		st = NULL;
	}
	buf_free(&b);
	return st;
}

/* The sources of the status files in dir (sorted): names ending in
 * PROG_STATUS_SUFFIX, not hidden (an atomic write's temporary file is). */
static int status_sources(const char *dir, struct strlist *sources, struct qw_err *err)
{
	size_t suffix = strlen(PROG_STATUS_SUFFIX);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return err_errno(err, EX_IOERR, "cannot read '%s'", dir);
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n <= suffix ||
		    strcmp(de->d_name + n - suffix, PROG_STATUS_SUFFIX) != 0)
			continue;
		strlist_add(sources, de->d_name, n - suffix);
	}
	closedir(d);
	if (sources->n > 1)
		qsort(sources->v, sources->n, sizeof(*sources->v), strlist_cmp);
	return 0;
}

int admin_find_status_file(const char *data_dir, const char *index_id, const char *source_id,
			   char **path, struct qw_err *err)
{
	struct strlist sources = STRLIST_INIT;
	char *dir = prog_status_dir(data_dir, index_id);
	struct buf names = BUF_INIT;
	int ret = -1;

	*path = NULL;
	if (source_id) {
		*path = prog_status_file(data_dir, index_id, source_id);
		if (access(*path, F_OK) < 0 && errno == ENOENT) {
			err_set(err, EX_NOINPUT,
				"no pipeline of index '%s' for source '%s' has run with data dir "
				"'%s' (no '%s'); run qw-pipeline --index %s --source %s there, or "
				"give --status-file PATH", index_id, source_id, data_dir, *path,
				index_id, source_id);
			free(*path);
			*path = NULL;
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (status_sources(dir, &sources, err) < 0)
		goto out;
	if (sources.n == 0) {
		err_set(err, EX_NOINPUT,
			"no pipeline of index '%s' has run with data dir '%s' (no status file in "
			"'%s'); run qw-pipeline --index %s there, or give --status-file PATH",
			index_id, data_dir, dir, index_id);
		goto out;
	}
	if (sources.n > 1) {
		for (size_t i = 0; i < sources.n; i++)
			buf_addf(&names, "%s%s", i ? ", " : "", sources.v[i]);
		err_set(err, EX_USAGE,
			"index '%s' has run pipelines for %zu sources (%s): give --source ID",
			index_id, sources.n, names.data);
		goto out;
	}
	*path = prog_status_file(data_dir, index_id, sources.v[0]);
	ret = 0;
out:
	buf_free(&names);
	strlist_free(&sources);
	free(dir);
	return ret;
}
