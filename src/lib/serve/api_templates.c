/*
 * api_templates: Quickwit's index templates, /api/v1/templates (see
 * api_internal.h), and the index they create on first use.
 *
 * A template is an index config without index_id, plus template_id,
 * index_id_patterns (globs, "-glob" excludes), priority and description.
 * It is checked when stored (its config must be one qw accepts for an
 * index) and kept as DATA_DIR/templates/TEMPLATE_ID.json, written
 * atomically. An Elasticsearch _bulk to an index that does not exist
 * creates it from the matching template of highest priority (ties: the
 * smallest template id), as Quickwit does.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/api_internal.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "base/xalloc.h"
#include "mapping/config.h"
#include "store/metastore.h"

static char *templates_dir(struct http_router *r)
{
	char *dir;

	if (asprintf(&dir, "%s/templates", metastore_resolve_data_dir(api_data_dir(r))) < 0)
		abort();
	return dir;
}

static char *template_path(struct http_router *r, const char *id)
{
	char *dir = templates_dir(r), *path;

	if (asprintf(&path, "%s/%s.json", dir, id) < 0)
		abort();
	free(dir);
	return path;
}

/* The index config a template gives index_id (new reference). */
static json_t *template_index_config(json_t *tpl, const char *index_id)
{
	json_t *cfg = json_deep_copy(tpl);

	json_object_del(cfg, "template_id");
	json_object_del(cfg, "index_id_patterns");
	json_object_del(cfg, "priority");
	json_object_del(cfg, "description");
	json_object_set_new(cfg, "index_id", json_string(index_id));
	return cfg;
}

/* A template body: its id, patterns and config checked. 0 or -1 (EX_USAGE). */
static int template_check(json_t *tpl, struct qw_err *err)
{
	json_t *id = json_object_get(tpl, "template_id"), *pats = json_object_get(tpl, "index_id_patterns");
	json_t *prio = json_object_get(tpl, "priority"), *p, *cfg;
	struct index_config *c;
	size_t i;

	if (!json_is_string(id))
		return err_set(err, EX_USAGE, "invalid template: template_id must be a string");
	if (ids_check_index(json_string_value(id), err) < 0)
		return err_prefix(err, "invalid template");
	if (!json_is_array(pats) || json_array_size(pats) == 0)
		return err_set(err, EX_USAGE,
			       "invalid template: index_id_patterns must be a non-empty list");
	json_array_foreach(pats, i, p)
		if (!json_is_string(p) || !json_string_length(p))
			return err_set(err, EX_USAGE,
				       "invalid template: index_id_patterns must be strings");
	if (prio && !(json_is_integer(prio) && json_integer_value(prio) >= 0))
		return err_set(err, EX_USAGE, "invalid template: priority must be a non-negative integer");
	if (json_object_get(tpl, "index_id"))
		return err_set(err, EX_USAGE, "invalid template: a template has no index_id");
	cfg = template_index_config(tpl, "template-check");
	c = config_from_json(cfg, err);
	json_decref(cfg);
	if (!c)
		return err_prefix(err, "invalid template");
	config_free(c);
	return 0;
}

static json_t *template_read(struct http_router *r, const char *id, struct qw_err *err)
{
	char *path = template_path(r, id);
	struct buf b = BUF_INIT;
	json_t *tpl = NULL;

	if (fsutil_read_all(path, &b, err) < 0) {
		if (err->code == EX_NOINPUT)
			err_set(err, EX_NOINPUT, "index template `%s` not found", id);
		goto out;
	}
	tpl = json_loadb(b.data, b.len, 0, NULL);
	if (!json_is_object(tpl)) {
		json_decref(tpl);
		tpl = NULL;
		err_set(err, EX_DATAERR, "%s: not a JSON object", path);
	}
out:
	buf_free(&b);
	free(path);
	return tpl;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every stored template, sorted by id (new reference); NULL on error. */
static json_t *template_list(struct http_router *r, struct qw_err *err)
{
	char *dir = templates_dir(r);
	DIR *d = opendir(dir);
	struct dirent *de;
	json_t *all = json_array(), *tpl;
	char **names = NULL;
	size_t n = 0, i;

	if (!d) {
		if (errno != ENOENT) {
			err_set(err, EX_IOERR, "%s: %s", dir, strerror(errno));
			json_decref(all);
			all = NULL;
		}
		free(dir);
		return all;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrndup(de->d_name, len - 5);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && all; i++) {
		tpl = template_read(r, names[i], err);
		if (!tpl && err->code != EX_NOINPUT) {
			json_decref(all);
			all = NULL;
		} else if (tpl) {
			json_array_append_new(all, tpl);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return all;
}

/* Does index_id match the patterns (one glob matching, no "-glob" matching)? */
static bool patterns_match(json_t *pats, const char *index_id)
{
	json_t *p;
	size_t i;
	bool in = false;

	json_array_foreach(pats, i, p) {
		const char *g = json_string_value(p);

		if (g[0] == '-') {
			if (fnmatch(g + 1, index_id, 0) == 0)
				return false;
		} else if (fnmatch(g, index_id, 0) == 0) {
			in = true;
		}
	}
	return in;
}

int api_template_create_index(struct http_router *r, struct metastore *ms, const char *index_id,
			      struct qw_err *err)
{
	json_t *all = template_list(r, err), *tpl, *best = NULL, *cfgj = NULL;
	struct index_config *cfg = NULL;
	size_t i;
	int ret = -1;

	if (!all)
		return -1;
	json_array_foreach(all, i, tpl) {
		json_int_t prio = json_integer_value(json_object_get(tpl, "priority"));

		if (patterns_match(json_object_get(tpl, "index_id_patterns"), index_id) &&
		    (!best || prio > json_integer_value(json_object_get(best, "priority"))))
			best = tpl;
	}
	if (!best) {
		ret = 0;
		goto out;
	}
	cfgj = template_index_config(best, index_id);
	cfg = config_from_json(cfgj, err);
	if (!cfg)
		goto out;
	/* a concurrent request may have created it first: then it is there */
	if (metastore_create_index(ms, cfg, false, err) < 0 && !metastore_index_exists(ms, index_id))
		goto out;
	err_clear(err);
	ret = 1;
out:
	config_free(cfg);
	json_decref(cfgj);
	json_decref(all);
	return ret;
}

static void put_template(struct http_router *r, const struct http_request *req, const char *id,
			 struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	json_t *tpl = api_body_json(req, resp);
	char *dir = NULL, *path = NULL, *text = NULL;
	const char *tid;

	if (!tpl)
		return;
	if (template_check(tpl, &err) < 0) {
		api_error(resp, 400, "%s", err.msg);
		goto out;
	}
	tid = json_string_value(json_object_get(tpl, "template_id"));
	if (id && strcmp(id, tid) != 0) {
		api_error(resp, 400, "template_id `%s` differs from the template of the path `%s`", tid, id);
		goto out;
	}
	path = template_path(r, tid);
	if (!id && access(path, F_OK) == 0) {
		api_error(resp, 400, "index template `%s` already exists", tid);
		goto out;
	}
	if (id && access(path, F_OK) != 0) {
		api_error(resp, 404, "index template `%s` not found", tid);
		goto out;
	}
	dir = templates_dir(r);
	text = json_dumps(tpl, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		api_error(resp, 500, "cannot encode the template");
		goto out;
	}
	if (fsutil_mkdir_p(dir, 0755, &err) < 0 ||
	    fsutil_write_atomic(path, text, strlen(text), &err) < 0) {
		api_error_from(resp, &err);
		goto out;
	}
	api_json(resp, 200, json_incref(tpl));
out:
	free(text);
	free(dir);
	free(path);
	json_decref(tpl);
}

void api_templates(struct http_router *r, const struct http_request *req, char **seg, size_t nseg,
		   struct http_response *resp)
{
	struct qw_err err = QW_ERR_INIT;
	const char *m = req->method;
	json_t *v;

	if (nseg == 1 && ids_check_index(seg[0], &err) < 0) {
		api_error(resp, 400, "%s", err.msg);
		return;
	}
	if (nseg == 0 && strcmp(m, "POST") == 0) {
		put_template(r, req, NULL, resp);
	} else if (nseg == 0 && strcmp(m, "GET") == 0) {
		v = template_list(r, &err);
		if (v)
			api_json(resp, 200, v);
		else
			api_error_from(resp, &err);
	} else if (nseg == 1 && strcmp(m, "GET") == 0) {
		v = template_read(r, seg[0], &err);
		if (v)
			api_json(resp, 200, v);
		else
			api_error_from(resp, &err);
	} else if (nseg == 1 && strcmp(m, "PUT") == 0) {
		put_template(r, req, seg[0], resp);
	} else if (nseg == 1 && strcmp(m, "DELETE") == 0) {
		char *path = template_path(r, seg[0]);

		v = template_read(r, seg[0], &err);
		if (!v) {
			api_error_from(resp, &err);
		} else if (unlink(path) < 0) {
			api_error(resp, 500, "%s: %s", path, strerror(errno));
			json_decref(v);
		} else {
			api_json(resp, 200, v);
		}
		free(path);
	} else if (nseg <= 1) {
		api_error(resp, 405, "method not allowed: %s %s", m, req->path);
	} else {
		api_error(resp, 404, "route not found: %s %s", m, req->path);
	}
}
