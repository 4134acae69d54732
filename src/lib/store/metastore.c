/*
 * metastore: see metastore.h.
 *
 * The public functions check ids, then go through the ops table of the
 * backend the metastore URI names (store/metastore_backend.h): the data
 * dir's files here, PostgreSQL in metastore_pg.c, s3:// objects in
 * metastore_s3.c. The file backend keeps one
 * JSON document per index in <data_dir>/indexes/<id>/metastore.json and
 * serializes writers with flock() on a lock file beside it
 * ("metastore.lock"), so that the rename of the data file never breaks the
 * lock. Readers do not lock: a rename is atomic, they see the old or the
 * new file, never half of one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/strlist.h"
#include "base/atomicfile.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "store/metastore_backend.h"
#include "store/storage.h"
#include "base/xalloc.h"

#define METASTORE_FILE "metastore.json"
#define METASTORE_LOCK "metastore.lock"
#define METASTORE_FORMAT_VERSION 1

/* ------------------------------------------------------------ paths */

char *metastore_index_dir(const struct metastore *ms, const char *index_id)
{
	return fsutil_joinf(ms->data_dir, "indexes/%s", index_id);
}

char *metastore_splits_dir(const struct metastore *ms, const char *index_id, json_t *doc)
{
	const char *uri = json_string_value(json_object_get(json_object_get(doc, "index_config"),
							   "index_uri"));
	struct buf b = BUF_INIT;
	char *dir;

	/* index create let through only file:// URIs of absolute paths */
	if (uri && !strncmp(uri, "file://", 7) && uri[7] == '/')
		return xstrdup(uri + 7);
	/* and s3:// ones, which storage_open() takes as they are */
	if (uri && !strncmp(uri, "s3://", 5))
		return xstrdup(uri);
	dir = metastore_index_dir(ms, index_id);
	buf_addf(&b, "%s/splits", dir);
	free(dir);
	return buf_detach(&b, NULL);
}

char *metastore_split_path_doc(const struct metastore *ms, const char *index_id, json_t *doc,
			       const char *split_id)
{
	char *dir = metastore_splits_dir(ms, index_id, doc);
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s.split", dir, split_id);
	free(dir);
	return buf_detach(&b, NULL);
}

char *metastore_split_path(struct metastore *ms, const char *index_id, const char *split_id)
{
	/* An unreadable index gives the default path: opening it fails. */
	json_t *doc = ms->ops->read(ms, index_id, NULL);
	char *path = metastore_split_path_doc(ms, index_id, doc, split_id);

	json_decref(doc);
	return path;
}

char *metastore_scratch_dir(const struct metastore *ms, const char *pipeline_id)
{
	return fsutil_joinf(ms->data_dir, "scratch/%s", pipeline_id);
}

static char *index_file(const struct metastore *ms, const char *index_id, const char *name)
{
	char *dir = metastore_index_dir(ms, index_id);
	char *path = fsutil_join(dir, name);

	free(dir);
	return path;
}

/* ------------------------------------------------------------ file backend */

/* Collect the ids of the splits, as owned strings. */
static char **split_ids_of(json_t *doc, size_t *n)
{
	json_t *splits = json_object_get(doc, "splits");
	const char *key;
	json_t *val;
	char **v = xcalloc(json_object_size(splits) + 1, sizeof(*v));
	size_t i = 0;

	json_object_foreach(splits, key, val) {
		(void)val;
		if (ids_is_ulid(key))
			v[i++] = xstrdup(key);
	}
	*n = i;
	return v;
}

/* Remove split files by id from dir, a path or an s3:// URI (after their
 * records are gone). */
static int remove_split_files(const char *dir, const char *const *split_ids, size_t n,
			      struct qw_err *err)
{
	struct storage *st = n ? storage_open(dir, err) : NULL;
	int ret = -1;

	if (n && !st)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char name[40];

		storage_split_name(split_ids[i], name);
		if (storage_delete(st, name, err) < 0) {
			err_prefix(err, "cannot remove split file");
			goto out;
		}
	}
	ret = 0;
out:
	storage_close(st);
	return ret;
}

int metastore_remove_external_splits(const struct metastore *ms, const char *index_id,
				     json_t *doc, struct qw_err *err)
{
	char *dir = metastore_splits_dir(ms, index_id, doc);
	char *def = metastore_splits_dir(ms, index_id, NULL);
	size_t n = 0;
	char **ids = NULL;
	int ret = 0;

	if (strcmp(dir, def) != 0) {
		ids = split_ids_of(doc, &n);
		ret = remove_split_files(dir, (const char *const *)ids, n, err);
		metastore_free_list(ids, n);
	}
	free(def);
	free(dir);
	return ret;
}


int metastore_make_split_dirs(const struct metastore *ms, const char *index_id, json_t *doc,
			      struct qw_err *err)
{
	char *def = metastore_splits_dir(ms, index_id, NULL);
	char *dir = metastore_splits_dir(ms, index_id, doc);
	int ret = -1;

	if (fsutil_mkdir_p(def, 0755, err) < 0)
		goto out;
	/* an s3:// root is not a directory: objects need no parent */
	if (strncmp(dir, "s3://", 5) && fsutil_mkdir_p(dir, 0755, err) < 0)
		goto out;
	ret = 0;
out:
	free(dir);
	free(def);
	return ret;
}

int metastore_remove_local_dir(const struct metastore *ms, const char *index_id,
			       struct qw_err *err)
{
	char *dir = metastore_index_dir(ms, index_id);
	int ret = fsutil_rm_rf(dir, err);

	free(dir);
	return ret;
}

/* Check the shape of an index document; EX_DATAERR naming path. */
int metastore_check_doc(json_t *doc, const char *path, struct qw_err *err)
{
	static const char *const objects[] = { "index_config", "splits", "checkpoints",
					       "publish_tokens" };

	if (!json_is_object(doc))
		return err_set(err, EX_DATAERR, "'%s': not a qw metastore file: not a JSON object",
			       path);
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (!json_is_object(json_object_get(doc, objects[i])))
			return err_set(err, EX_DATAERR,
				       "'%s': not a qw metastore file: '%s' is missing or not an object",
				       path, objects[i]);
	if (json_object_get(doc, "publish_owners") &&
	    !json_is_object(json_object_get(doc, "publish_owners")))
		return err_set(err, EX_DATAERR,
			       "'%s': not a qw metastore file: 'publish_owners' is not an object", path);
	if (!json_is_string(json_object_get(doc, "index_uid")))
		return err_set(err, EX_DATAERR,
			       "'%s': not a qw metastore file: 'index_uid' is missing or not a string",
			       path);
	return 0;
}

/* One wording for a missing index: which data dir was looked in, and how
 * to see what it holds. */
static const struct metastore_ops file_ops;
static int checked_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
			  struct qw_err *err);

int metastore_no_index(const struct metastore *ms, const char *index_id, struct qw_err *err)
{
	if (ms->ops != &file_ops)
		return err_set(err, EX_NOINPUT,
			       "index '%s' does not exist in metastore '%s' (qw index list shows its "
			       "indexes; --metastore-uri or QW_METASTORE_URI chooses another)",
			       index_id, ms->uri);
	return err_set(err, EX_NOINPUT,
		       "index '%s' does not exist in data dir '%s' (qw index list shows its indexes; "
		       "--data-dir or QW_DATA_DIR chooses another)", index_id, ms->data_dir);
}

json_t *metastore_parse_doc(const char *text, size_t len, const char *where, struct qw_err *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!doc) {
		err_set(err, EX_DATAERR,
			"'%s': corrupt metastore file (not valid JSON, line %d column %d: %s); "
			"left unchanged", where, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (metastore_check_doc(doc, where, err) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* The text of index_id's metastore file at path into b (a missing file: the
 * index does not exist). */
static int file_text(const struct metastore *ms, const char *path, const char *index_id,
		     struct buf *b, struct qw_err *err)
{
	if (fsutil_read_all(path, b, err) == 0)
		return 0;
	if (err && err->code == EX_NOINPUT)
		metastore_no_index(ms, index_id, err);
	return -1;
}

static json_t *file_load(const struct metastore *ms, const char *path, const char *index_id,
			 struct qw_err *err)
{
	struct buf b = BUF_INIT;
	json_t *doc = NULL;

	if (file_text(ms, path, index_id, &b, err) == 0)
		doc = metastore_parse_doc(buf_str(&b), b.len, path, err);
	buf_free(&b);
	return doc;
}

static int file_save(const char *path, json_t *doc, struct qw_err *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2));
	int ret;

	if (!text)
		return err_set(err, EX_SOFTWARE, "cannot serialize metastore '%s'", path);
	/* Newline at the end, so that the file is a proper text file. */
	{
		size_t n = strlen(text);
		char *t = xrealloc(text, n + 2);

		t[n] = '\n';
		t[n + 1] = '\0';
		text = t;
		ret = fsutil_write_atomic(path, text, n + 1, err);
	}
	free(text);
	return ret;
}

/*
 * Take the index's write lock. create: make the index directory first.
 * Returns the locked fd, or -1 (EX_NOINPUT when the index directory is
 * missing and !create).
 */
int metastore_lock_index(struct metastore *ms, const char *index_id, bool create,
			 struct qw_err *err)
{
	char *dir = metastore_index_dir(ms, index_id);
	char *path = fsutil_join(dir, METASTORE_LOCK);
	int fd = -1;

	if (create && fsutil_mkdir_p(dir, 0755, err) < 0)
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			metastore_no_index(ms, index_id, err);
		else
			err_errno(err, create ? EX_CANTCREAT : EX_IOERR, "cannot open '%s'", path);
		goto out;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		err_errno(err, EX_IOERR, "cannot lock '%s'", path);
		close(fd);
		fd = -1;
		goto out;
	}
out:
	free(path);
	free(dir);
	return fd;
}

static json_t *file_read(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	char *path = index_file(ms, index_id, METASTORE_FILE);
	json_t *doc = file_load(ms, path, index_id, err);

	free(path);
	return doc;
}

/* The tag is the file's text: a read and a compare cost little next to a
 * parse, and unlike (inode, size, mtime) they cannot take a new document
 * for the old one (inodes are reused, mtime moves by clock ticks). */
static int file_read_changed(struct metastore *ms, const char *index_id, char **tag,
			     json_t **doc, struct qw_err *err)
{
	char *path = index_file(ms, index_id, METASTORE_FILE);
	struct buf b = BUF_INIT;
	json_t *fresh;
	int ret = -1;

	if (file_text(ms, path, index_id, &b, err) < 0)
		goto out;
	if (*tag && strlen(*tag) == b.len && memcmp(*tag, buf_str(&b), b.len) == 0) {
		ret = 0;
		goto out;
	}
	fresh = metastore_parse_doc(buf_str(&b), b.len, path, err);
	if (fresh)
		ret = metastore_replace_copy(doc, fresh, tag, buf_detach(&b, NULL));
out:
	buf_free(&b);
	free(path);
	return ret;
}

static bool file_exists(struct metastore *ms, const char *index_id)
{
	char *path = index_file(ms, index_id, METASTORE_FILE);
	struct stat st;
	bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);

	free(path);
	return ok;
}

static int file_create(struct metastore *ms, const char *index_id, json_t *doc, bool overwrite,
		       struct qw_err *err)
{
	char *path = index_file(ms, index_id, METASTORE_FILE);
	char *splits = index_file(ms, index_id, "splits");
	int fd = -1;
	int ret = -1;

	fd = metastore_lock_index(ms, index_id, true, err);
	if (fd < 0)
		goto out;
	if (file_exists(ms, index_id)) {
		json_t *old;

		if (!overwrite) {
			err_set(err, EX_CANTCREAT,
				"index '%s' already exists (use --overwrite to replace it)", index_id);
			goto out;
		}
		old = file_load(ms, path, index_id, err);
		if (!old)
			goto out;
		ret = metastore_remove_external_splits(ms, index_id, old, err);
		json_decref(old);
		if (ret < 0 || fsutil_rm_rf(splits, err) < 0) {
			ret = -1;
			goto out;
		}
		ret = -1;
	}
	if (fsutil_mkdir_p(splits, 0755, err) < 0)
		goto out;
	free(splits);
	splits = metastore_splits_dir(ms, index_id, doc);
	/* an s3:// root is not a directory: objects need no parent */
	if (strncmp(splits, "s3://", 5) && fsutil_mkdir_p(splits, 0755, err) < 0)
		goto out;
	if (file_save(path, doc, err) < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(splits);
	free(path);
	return ret;
}

static int file_remove(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	char *dir = metastore_index_dir(ms, index_id);
	char *path = fsutil_join(dir, METASTORE_FILE);
	json_t *doc = NULL;
	int fd = -1;
	int ret = -1;

	fd = metastore_lock_index(ms, index_id, false, err);
	if (fd < 0)
		goto out;
	if (!file_exists(ms, index_id)) {
		metastore_no_index(ms, index_id, err);
		goto out;
	}
	/* A broken metadata file does not keep the index: its split files
	 * outside the index dir (index_uri) are then left where they are. */
	doc = file_load(ms, path, index_id, NULL);
	/* The index is gone once its metadata is; the rest is cleanup. */
	if (unlink(path) < 0) {
		err_errno(err, EX_IOERR, "cannot remove '%s'", path);
		goto out;
	}
	if (fsutil_fsync_dir(dir, err) < 0)
		goto out;
	if (doc && metastore_remove_external_splits(ms, index_id, doc, err) < 0)
		goto out;
	if (fsutil_rm_rf(dir, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(doc);
	if (fd >= 0)
		close(fd);
	free(path);
	free(dir);
	return ret;
}

int metastore_update_locked(struct metastore *ms, const struct metastore_doc_io *io,
			    const char *index_id, metastore_tx_fn fn, void *ctx,
			    struct qw_err *err)
{
	int fd = metastore_lock_index(ms, index_id, io->lock_create, err);
	json_t *doc = NULL;
	int ret = -1;

	if (fd < 0)
		goto out;
	doc = io->load(ms, index_id, err);
	if (!doc || fn(doc, ctx, err) < 0 || io->save(ms, index_id, doc, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(doc);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int file_save_index(struct metastore *ms, const char *index_id, json_t *doc,
			   struct qw_err *err)
{
	char *path = index_file(ms, index_id, METASTORE_FILE);
	int ret = file_save(path, doc, err);

	free(path);
	return ret;
}

static int file_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
		       struct qw_err *err)
{
	static const struct metastore_doc_io io = { false, file_read, file_save_index };

	return metastore_update_locked(ms, &io, index_id, fn, ctx, err);
}

static int file_list(struct metastore *ms, char ***ids, size_t *n, struct qw_err *err)
{
	char *dir = fsutil_join(ms->data_dir, "indexes");
	char **v = NULL;
	size_t len = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *de;
	int ret = -1;

	*ids = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) {
			ret = 0;
			goto out;
		}
		err_errno(err, EX_IOERR, "cannot open directory '%s'", dir);
		goto out;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (ids_check_index(de->d_name, NULL) < 0 || !file_exists(ms, de->d_name))
			continue;
		XGROW(v, len + 1, cap);
		v[len++] = xstrdup(de->d_name);
	}
	if (errno) {
		err_errno(err, EX_IOERR, "cannot read directory '%s'", dir);
		metastore_free_list(v, len);
		goto out;
	}
	if (len)
		qsort(v, len, sizeof(*v), strlist_cmp);
	*ids = v;
	*n = len;
	ret = 0;
out:
	if (d)
		closedir(d);
	free(dir);
	return ret;
}

static const struct metastore_ops file_ops = {
	.read = file_read,
	.read_changed = file_read_changed,
	.create = file_create,
	.remove = file_remove,
	.update = file_update,
	.list = file_list,
	.exists = file_exists,
	.close = NULL,
};

/* ------------------------------------------------------------ interface */

const char *metastore_resolve_data_dir(const char *data_dir)
{
	const char *env;

	if (data_dir && *data_dir)
		return data_dir;
	env = getenv("QW_DATA_DIR");
	if (env && *env)
		return env;
	return "./qwdata";
}

/* The file backend on a data dir (or NULL with err set: what names it). */
static struct metastore *file_open(const char *dir, const char *what, struct qw_err *err)
{
	struct metastore *ms;

	if (!dir || !*dir) {
		err_set(err, EX_USAGE, "empty %s", what);
		return NULL;
	}
	ms = xcalloc(1, sizeof(*ms));
	ms->data_dir = xstrdup(dir);
	ms->uri = xstrdup(dir);
	ms->ops = &file_ops;
	return ms;
}

static bool has_scheme(const char *uri, const char *scheme)
{
	return !strncmp(uri, scheme, strlen(scheme));
}

/* The metastore uri names, with data_dir for what stays local (scratch
 * dirs, default split dirs); an s3:// one borrows s3 when not NULL. */
static struct metastore *open_at(const char *uri, const char *data_dir, struct s3_client *s3,
				 struct qw_err *err)
{
	struct metastore *ms;
	int ret;

	if (!uri || !*uri) {
		err_set(err, EX_USAGE, "empty metastore uri");
		return NULL;
	}
	if (has_scheme(uri, "file://"))
		return file_open(uri + 7, "metastore uri", err);
	if (!strstr(uri, "://"))
		return file_open(uri, "metastore uri", err);
	if (!has_scheme(uri, "postgresql://") && !has_scheme(uri, "postgres://") &&
	    !has_scheme(uri, "s3://")) {
		err_set(err, EX_USAGE,
			"metastore uri '%s': unsupported scheme (file://, s3:// or postgresql://)",
			uri);
		return NULL;
	}
	ms = file_open(data_dir, "data directory", err);
	if (!ms)
		return NULL;
	free(ms->uri);
	ms->uri = xstrdup(uri);
	ms->ops = NULL;
	ret = has_scheme(uri, "s3://") ? metastore_s3_open(ms, uri, s3, err)
				       : metastore_pg_open(ms, uri, err);
	if (ret < 0) {
		metastore_close(ms);      /* the backend's close, when it got that far */
		return NULL;
	}
	return ms;
}

struct metastore *metastore_open(const char *data_dir, struct qw_err *err)
{
	return metastore_open_s3(data_dir, NULL, err);
}

struct metastore *metastore_open_s3(const char *data_dir, struct s3_client *s3,
				    struct qw_err *err)
{
	const char *dir = metastore_resolve_data_dir(data_dir);
	const char *uri = getenv("QW_METASTORE_URI");

	if (uri && *uri)
		return open_at(uri, dir, s3, err);
	return file_open(dir, "data directory", err);
}

struct metastore *metastore_open_uri(const char *uri, struct qw_err *err)
{
	return open_at(uri, metastore_resolve_data_dir(NULL), NULL, err);
}

void metastore_close(struct metastore *ms)
{
	if (!ms)
		return;
	if (ms->ops && ms->ops->close)
		ms->ops->close(ms);
	free(ms->uri);
	free(ms->data_dir);
	free(ms);
}

const char *metastore_data_dir(const struct metastore *ms)
{
	return ms->data_dir;
}

const char *metastore_uri(const struct metastore *ms)
{
	return ms->uri;
}

static int check_split_id(const char *split_id, struct qw_err *err)
{
	if (!ids_is_ulid(split_id))
		return err_set(err, EX_USAGE, "invalid split id '%.64s': not a ULID",
			       split_id ? split_id : "");
	return 0;
}

int metastore_create_index(struct metastore *ms, const struct index_config *cfg, bool overwrite,
			   struct qw_err *err)
{
	char ulid[ULID_LEN + 1];
	struct buf uid = BUF_INIT;
	json_t *doc = NULL;
	json_t *jcfg = NULL;
	int ret = -1;

	if (!cfg || ids_check_index(cfg->index_id, err) < 0)
		goto out;
	if (ids_ulid_new(ulid, err) < 0)
		goto out;
	jcfg = config_to_json(cfg);
	if (!jcfg) {
		err_set(err, EX_SOFTWARE, "cannot convert the config of index '%s' to JSON",
			cfg->index_id);
		goto out;
	}
	buf_addf(&uid, "%s:%s", cfg->index_id, ulid);
	doc = json_pack("{s:i, s:s, s:I, s:O, s:{}, s:{}, s:{}}",
			"format_version", METASTORE_FORMAT_VERSION,
			"index_uid", buf_str(&uid),
			"create_timestamp", (json_int_t)clock_wall_s(),
			"index_config", jcfg,
			"splits", "checkpoints", "publish_tokens");
	if (!doc) {
		err_set(err, EX_SOFTWARE, "cannot build the metadata of index '%s'", cfg->index_id);
		goto out;
	}
	ret = ms->ops->create(ms, cfg->index_id, doc, overwrite, err);
out:
	json_decref(doc);
	json_decref(jcfg);
	buf_free(&uid);
	return ret;
}

int metastore_delete_index(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	if (ids_check_index(index_id, err) < 0)
		return -1;
	return ms->ops->remove(ms, index_id, err);
}

struct clear_ctx {
	const struct metastore *ms;
	const char *index_id;
	char **ids;
	size_t n;
	char *dir;
};

static int clear_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct clear_ctx *c = vctx;

	metastore_free_list(c->ids, c->n);     /* a backend may run this again */
	free(c->dir);
	c->ids = split_ids_of(doc, &c->n);
	c->dir = metastore_splits_dir(c->ms, c->index_id, doc);
	if (json_object_set_new(doc, "splits", json_object()) < 0 ||
	    json_object_set_new(doc, "checkpoints", json_object()) < 0)
		return err_set(err, EX_SOFTWARE, "cannot clear the index metadata");
	json_object_del(doc, "checkpoint_heads");       /* optional: absent is fine */
	return 0;
}

int metastore_clear_index(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	struct clear_ctx c = { ms, index_id, NULL, 0, NULL };
	int ret = -1;

	if (ids_check_index(index_id, err) < 0)
		goto out;
	if (checked_update(ms, index_id, clear_tx, &c, err) < 0)
		goto out;
	if (remove_split_files(c.dir, (const char *const *)c.ids, c.n, err) < 0)
		goto out;
	ret = 0;
out:
	free(c.dir);
	metastore_free_list(c.ids, c.n);
	return ret;
}

int metastore_list_indexes(struct metastore *ms, char ***ids, size_t *n, struct qw_err *err)
{
	return ms->ops->list(ms, ids, n, err);
}

void metastore_free_list(char **ids, size_t n)
{
	if (!ids)
		return;
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

bool metastore_index_exists(struct metastore *ms, const char *index_id)
{
	if (ids_check_index(index_id, NULL) < 0)
		return false;
	return ms->ops->exists(ms, index_id);
}

json_t *metastore_read(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	if (ids_check_index(index_id, err) < 0)
		return NULL;
	return ms->ops->read(ms, index_id, err);
}

json_t *metastore_read_splits_view(struct metastore *ms, const char *index_id,
				   struct qw_err *err)
{
	struct buf b = BUF_INIT;
	json_t *doc = NULL;
	char *path;

	if (ids_check_index(index_id, err) < 0)
		return NULL;
	if (ms->ops != &file_ops)
		return ms->ops->read(ms, index_id, err);
	path = index_file(ms, index_id, METASTORE_FILE);
	if (file_text(ms, path, index_id, &b, err) == 0)
		doc = metastore_parse_splits_view(buf_str(&b), b.len, path, err);
	buf_free(&b);
	free(path);
	return doc;
}

int metastore_read_changed(struct metastore *ms, const char *index_id, char **tag, json_t **doc,
			   struct qw_err *err)
{
	json_t *fresh;

	if (ids_check_index(index_id, err) < 0)
		return -1;
	if (ms->ops->read_changed)
		return ms->ops->read_changed(ms, index_id, tag, doc, err);
	fresh = ms->ops->read(ms, index_id, err);
	if (!fresh)
		return -1;
	return metastore_replace_copy(doc, fresh, tag, NULL);   /* no tag: read again next time */
}

int metastore_replace_copy(json_t **doc, json_t *fresh, char **tag, char *new_tag)
{
	json_decref(*doc);   /* the copy the caller held */
	*doc = fresh;
	free(*tag);
	*tag = new_tag;
	return 1;
}

struct index_config *metastore_index_config(struct metastore *ms, const char *index_id,
					    struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err);
	struct index_config *cfg = NULL;

	if (!doc)
		return NULL;
	cfg = metastore_doc_config(doc, index_id, err);
	json_decref(doc);
	return cfg;
}

struct index_config *metastore_doc_config(json_t *index_meta, const char *index_id,
					  struct qw_err *err)
{
	struct index_config *cfg = config_from_json(json_object_get(index_meta, "index_config"),
						    err);

	if (!cfg)
		err_prefix(err, "index '%s': stored config", index_id);
	return cfg;
}

int metastore_write_snapshot(struct metastore *ms, const char *index_id, const char *path,
			     struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err);
	char *text = NULL;
	int ret = -1;

	if (!doc)
		goto out;
	/* the stages never read split records; an old index has thousands */
	if (json_object_set_new(doc, "splits", json_object()) < 0) {
		err_set(err, EX_SOFTWARE, "index '%s': cannot make its snapshot", index_id);
		goto out;
	}
	text = json_dumps(doc, JSON_COMPACT);
	if (!text) {
		err_set(err, EX_SOFTWARE, "index '%s': cannot serialise its snapshot", index_id);
		goto out;
	}
	ret = fsutil_write_atomic(path, text, strlen(text), err);
out:
	free(text);
	json_decref(doc);
	return ret;
}

json_t *metastore_load_snapshot(const char *path, const char *index_id, struct qw_err *err)
{
	struct buf b = BUF_INIT;
	json_error_t jerr;
	json_t *doc = NULL;
	const char *id;

	if (fsutil_read_all(path, &b, err) < 0)
		goto out;
	doc = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		err_set(err, EX_DATAERR, "'%s': not an index snapshot (not valid JSON, line %d "
			"column %d: %s)", path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (metastore_check_doc(doc, path, err) < 0) {
		json_decref(doc);
		doc = NULL;
		goto out;
	}
	id = json_string_value(json_object_get(json_object_get(doc, "index_config"), "index_id"));
	if (!id || strcmp(id, index_id) != 0) {
		err_set(err, EX_DATAERR, "'%s': a snapshot of index '%s', not of '%s'", path,
			id ? id : "(none)", index_id);
		json_decref(doc);
		doc = NULL;
	}
out:
	buf_free(&b);
	return doc;
}

/* The caller's change, then the shape check every backend's write needs. */
struct checked_tx {
	const struct metastore *ms;
	const char *index_id;
	metastore_tx_fn fn;
	void *ctx;
};

static int checked_tx_fn(json_t *doc, void *vctx, struct qw_err *err)
{
	struct checked_tx *c = vctx;
	char where[512];

	if (c->fn(doc, c->ctx, err) < 0)
		return -1;
	snprintf(where, sizeof(where), "index '%s' of metastore '%s'", c->index_id, c->ms->uri);
	if (metastore_check_doc(doc, where, err) < 0)
		return err_prefix(err, "refusing to write a broken metastore");
	return 0;
}

/* Every transaction goes to its backend through here. */
static int checked_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
			  struct qw_err *err)
{
	struct checked_tx c = { ms, index_id, fn, ctx };

	return ms->ops->update(ms, index_id, checked_tx_fn, &c, err);
}

int metastore_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
		     struct qw_err *err)
{
	if (ids_check_index(index_id, err) < 0)
		return -1;
	return checked_update(ms, index_id, fn, ctx, err);
}

/* ------------------------------------------------------------ tokens */

/* The owner record of the current token of a source, NULL when none. */
static json_t *current_owner(json_t *doc, const char *source_id)
{
	const char *cur = json_string_value(json_object_get(json_object_get(doc, "publish_tokens"),
							   source_id));
	json_t *o = json_object_get(json_object_get(doc, "publish_owners"), source_id);
	const char *t = json_string_value(json_object_get(o, "token"));

	if (!cur || !t || strcmp(cur, t) != 0)
		return NULL;
	return o;
}

void metastore_describe_owner(json_t *index_meta, const char *source_id, struct buf *b)
{
	json_t *o = current_owner(index_meta, source_id);
	const char *id = json_string_value(json_object_get(o, "pipeline_id"));
	const char *host = json_string_value(json_object_get(o, "host"));
	time_t t = (time_t)json_integer_value(json_object_get(o, "start_timestamp"));
	char when[32] = "?";
	struct tm tm;

	if (!o) {
		buf_adds(b, "a publish token taken by no pipeline (qw-publish --new-token)");
		return;
	}
	if (gmtime_r(&t, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		when[0] = '\0';
	buf_addf(b, "pipeline %s (pid %lld on host '%s', started %s)", id ? id : "?",
		 (long long)json_integer_value(json_object_get(o, "pid")), host ? host : "?", when);
}

/* Does the lock of pipeline_id's scratch dir have a holder (a live pipeline
 * of this host)? A missing lock file has none. */
static bool scratch_lock_held(const struct metastore *ms, const char *pipeline_id)
{
	char *dir = metastore_scratch_dir(ms, pipeline_id);
	char *path = fsutil_join(dir, "lock");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool held = false;

	if (fd >= 0) {
		while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
			if (errno != EINTR) {
				held = errno == EWOULDBLOCK;
				break;
			}
		}
		close(fd); /* drops a lock we got */
	}
	free(path);
	free(dir);
	return held;
}

/* Is owner record o alive, seen from my_host? On the same host its scratch
 * lock decides at once; on another host (or when unsure) its lease. */
static bool owner_alive(const struct metastore *ms, json_t *o, const char *my_host)
{
	const char *host = json_string_value(json_object_get(o, "host"));
	const char *id = json_string_value(json_object_get(o, "pipeline_id"));

	if (json_integer_value(json_object_get(o, "lease_until")) == 0)
		return false; /* it exited */
	if (host && my_host && !strcmp(host, my_host) && id && ids_is_ulid(id))
		return scratch_lock_held(ms, id);
	return json_integer_value(json_object_get(o, "lease_until")) > clock_wall_s();
}

static int fenced_err(json_t *doc, const char *index_id, const char *source_id,
		      struct qw_err *err)
{
	struct buf b = BUF_INIT;

	metastore_describe_owner(doc, source_id, &b);
	err_set(err, EX_TEMPFAIL,
		"fenced by %s: the publish token of source '%s' of index '%s' is not ours any more",
		buf_str(&b), source_id, index_id);
	buf_free(&b);
	return -1;
}

/* doc[key] as an object, made when missing. */
static json_t *object_member(json_t *doc, const char *key)
{
	json_t *o = json_object_get(doc, key);

	if (json_is_object(o))
		return o;
	o = json_object();
	if (!o || json_object_set_new(doc, key, o) < 0)
		return NULL;
	return o;
}

struct take_ctx {
	const struct metastore *ms;
	const char *index_id;
	const char *source_id;
	const struct metastore_owner *me;
	enum metastore_take how;
	const char *prev;
	const char *token;
	char *fenced;
};

static int take_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct take_ctx *c = vctx;
	const char *cur = json_string_value(json_object_get(json_object_get(doc, "publish_tokens"),
							   c->source_id));
	json_t *owner = current_owner(doc, c->source_id);
	bool alive = owner && owner_alive(c->ms, owner, c->me ? c->me->host : NULL);
	json_t *owners, *rec;

	free(c->fenced);        /* a backend may run this again */
	c->fenced = NULL;

	if (c->how == TAKE_FIRST && alive) {
		struct buf b = BUF_INIT;

		metastore_describe_owner(doc, c->source_id, &b);
		err_set(err, EX_TEMPFAIL, "source '%s' of index '%s' is owned by %s", c->source_id,
			c->index_id, buf_str(&b));
		buf_free(&b);
		return -1;
	}
	if (c->how == TAKE_NEXT && (!cur || !c->prev || strcmp(cur, c->prev) != 0))
		return fenced_err(doc, c->index_id, c->source_id, err);
	if (c->how == TAKE_OVER && alive) {
		struct buf b = BUF_INIT;

		metastore_describe_owner(doc, c->source_id, &b);
		free(c->fenced);
		c->fenced = buf_detach(&b, NULL);
	}
	if (json_object_set_new(json_object_get(doc, "publish_tokens"), c->source_id,
				json_string(c->token)) < 0)
		return err_set(err, EX_SOFTWARE, "cannot store the publish token");
	owners = object_member(doc, "publish_owners");
	if (!owners)
		return err_set(err, EX_SOFTWARE, "cannot store the owner of the publish token");
	if (!c->me) {
		json_object_del(owners, c->source_id);
		return 0;
	}
	rec = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "token", c->token,
			"pipeline_id", c->me->pipeline_id, "pid", (json_int_t)c->me->pid,
			"host", c->me->host, "start_timestamp", (json_int_t)c->me->start_timestamp,
			"lease_until", (json_int_t)c->me->lease_until);
	if (!rec || json_object_set_new(owners, c->source_id, rec) < 0)
		return err_set(err, EX_SOFTWARE, "cannot store the owner of the publish token");
	return 0;
}

char *metastore_take_publish_token(struct metastore *ms, const char *index_id,
				   const char *source_id, const struct metastore_owner *me,
				   enum metastore_take how, const char *prev_token,
				   char **fenced, struct qw_err *err)
{
	char ulid[ULID_LEN + 1];
	struct take_ctx c = { ms, index_id, source_id, me, how, prev_token, ulid, NULL };

	if (fenced)
		*fenced = NULL;
	if (ids_check_index(index_id, err) < 0 || ids_check_source(source_id, err) < 0)
		return NULL;
	if (me && (!me->pipeline_id || !ids_is_ulid(me->pipeline_id) || !me->host)) {
		err_set(err, EX_SOFTWARE, "an owner of a publish token needs a pipeline id and a host");
		return NULL;
	}
	if (ids_ulid_new(ulid, err) < 0)
		return NULL;
	if (checked_update(ms, index_id, take_tx, &c, err) < 0) {
		free(c.fenced);
		return NULL;
	}
	if (fenced)
		*fenced = c.fenced;
	else
		free(c.fenced);
	return xstrdup(ulid);
}

char *metastore_new_publish_token(struct metastore *ms, const char *index_id,
				  const char *source_id, struct qw_err *err)
{
	return metastore_take_publish_token(ms, index_id, source_id, NULL, TAKE_OVER, NULL, NULL,
					    err);
}

static bool token_current(json_t *doc, const char *source_id, const char *token)
{
	const char *cur = json_string_value(json_object_get(json_object_get(doc, "publish_tokens"),
							   source_id));

	return cur && token && !strcmp(cur, token);
}

int metastore_check_publish_token(struct metastore *ms, const char *index_id,
				  const char *source_id, const char *token, struct qw_err *err)
{
	json_t *doc;
	int ret = 0;

	if (ids_check_source(source_id, err) < 0)
		return -1;
	doc = metastore_read(ms, index_id, err);
	if (!doc)
		return -1;
	if (!token_current(doc, source_id, token))
		ret = fenced_err(doc, index_id, source_id, err);
	json_decref(doc);
	return ret;
}

struct renew_ctx {
	const char *index_id;
	const char *source_id;
	const char *token;
	int64_t lease_until;
};

static int renew_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct renew_ctx *c = vctx;
	json_t *owner;

	if (!token_current(doc, c->source_id, c->token))
		return fenced_err(doc, c->index_id, c->source_id, err);
	owner = current_owner(doc, c->source_id);
	if (!owner)
		return 0;
	if (json_object_set_new(owner, "lease_until", json_integer((json_int_t)c->lease_until)) < 0)
		return err_set(err, EX_SOFTWARE, "cannot renew the lease of the publish token");
	return 0;
}

int metastore_renew_owner(struct metastore *ms, const char *index_id, const char *source_id,
			  const char *token, int64_t lease_until, struct qw_err *err)
{
	struct renew_ctx c = { index_id, source_id, token, lease_until };

	if (ids_check_index(index_id, err) < 0 || ids_check_source(source_id, err) < 0)
		return -1;
	return checked_update(ms, index_id, renew_tx, &c, err);
}

/* ------------------------------------------------------------ splits */

struct stage_ctx {
	const char *index_id;
	const char *token;
	json_t *metas;
};

static int stage_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct stage_ctx *c = vctx;
	json_t *splits = json_object_get(doc, "splits");
	json_int_t now = (json_int_t)clock_wall_s();
	size_t i;
	json_t *meta;

	json_array_foreach(c->metas, i, meta) {
		const char *id = json_string_value(json_object_get(meta, "split_id"));
		json_t *old = json_object_get(splits, id ? id : "");
		const char *state = json_string_value(json_object_get(old, "split_state"));
		const char *source = json_string_value(json_object_get(meta, "source_id"));
		json_t *rec;

		/* a generation already fenced stores nothing: refused before its
		 * upload (fenced later, its publish is refused) */
		if (c->token && source && !token_current(doc, source, c->token)) {
			fenced_err(doc, c->index_id, source, err);
			return err_prefix(err, "cannot stage split '%s'", id ? id : "");
		}
		if (old && (!state || strcmp(state, SPLIT_STAGED) != 0))
			return err_set(err, EX_DATAERR, "cannot stage split '%s': it is already %s",
				       id, state ? state : "recorded");
		rec = json_pack("{s:s, s:I, s:n, s:s?, s:O}",
				"split_state", SPLIT_STAGED,
				"update_timestamp", now,
				"publish_timestamp",
				"publish_token", c->token,
				"metadata", meta);
		if (!rec || json_object_set_new(splits, id, rec) < 0)
			return err_set(err, EX_SOFTWARE, "cannot record split '%s'", id);
	}
	return 0;
}

int metastore_stage_splits(struct metastore *ms, const char *index_id, const char *token,
			   json_t *split_metas, struct qw_err *err)
{
	struct stage_ctx c = { index_id, token, split_metas };
	size_t i;
	json_t *meta;

	if (ids_check_index(index_id, err) < 0)
		return -1;
	if (!json_is_array(split_metas))
		return err_set(err, EX_DATAERR, "split metadata must be a JSON array");
	json_array_foreach(split_metas, i, meta) {
		const char *id = json_string_value(json_object_get(meta, "split_id"));

		if (!json_is_object(meta))
			return err_set(err, EX_DATAERR, "split metadata [%zu] is not an object", i);
		if (check_split_id(id, err) < 0)
			return -1;
	}
	return checked_update(ms, index_id, stage_tx, &c, err);
}

struct publish_ctx {
	const char *index_id;
	const char *source_id;
	const char *token;
	const char *const *split_ids;
	size_t n;
	json_t *delta;
};

/* doc["checkpoint_heads"][source][part] = head (objects made as needed). */
static int set_head(json_t *doc, const char *source, const char *part, json_t *head)
{
	json_t *all = json_object_get(doc, "checkpoint_heads"), *src;

	if (!json_is_object(all)) {
		all = json_object();
		if (json_object_set_new(doc, "checkpoint_heads", all) < 0)
			return -1;
	}
	src = json_object_get(all, source);
	if (!json_is_object(src)) {
		src = json_object();
		if (json_object_set_new(all, source, src) < 0)
			return -1;
	}
	return json_object_set(src, part, head);
}

static int publish_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct publish_ctx *c = vctx;
	json_t *splits = json_object_get(doc, "splits");
	json_t *cps = json_object_get(doc, "checkpoints");
	const char *current = json_string_value(json_object_get(json_object_get(doc, "publish_tokens"),
							       c->source_id));
	json_int_t now = (json_int_t)clock_wall_s();
	json_t *cp;
	const char *part;
	json_t *d;

	/* Every check first; the tree is only modified once all pass. */
	if (!current)
		return err_set(err, EX_TEMPFAIL,
			       "publish refused: source '%s' of index '%s' has no publish token",
			       c->source_id, c->index_id);
	if (!c->token || strcmp(current, c->token) != 0) {
		struct buf b = BUF_INIT;

		metastore_describe_owner(doc, c->source_id, &b);
		err_set(err, EX_TEMPFAIL,
			"publish refused: token '%s' of source '%s' is stale (fenced by %s)",
			c->token ? c->token : "", c->source_id, buf_str(&b));
		buf_free(&b);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++) {
		json_t *rec = json_object_get(splits, c->split_ids[i]);
		const char *state = json_string_value(json_object_get(rec, "split_state"));
		const char *by = json_string_value(json_object_get(rec, "publish_token"));

		if (!rec)
			return err_set(err, EX_TEMPFAIL,
				       "publish refused: split '%s' is not staged in index '%s'",
				       c->split_ids[i], c->index_id);
		if (!state || strcmp(state, SPLIT_STAGED) != 0)
			return err_set(err, EX_TEMPFAIL,
				       "publish refused: split '%s' is %s, not %s",
				       c->split_ids[i], state ? state : "in no state", SPLIT_STAGED);
		if (by && strcmp(by, c->token) != 0)
			return err_set(err, EX_TEMPFAIL,
				       "publish refused: split '%s' was staged by another pipeline generation",
				       c->split_ids[i]);
	}
	cp = json_object_get(cps, c->source_id);
	json_object_foreach(c->delta, part, d) {
		json_t *jfrom = json_object_get(d, "from");
		json_t *jto = json_object_get(d, "to");
		json_int_t stored = json_integer_value(json_object_get(cp, part));

		if (!json_is_integer(jfrom) || !json_is_integer(jto) ||
		    json_integer_value(jfrom) < 0 || json_integer_value(jto) < json_integer_value(jfrom))
			return err_set(err, EX_TEMPFAIL,
				       "publish refused: checkpoint delta of partition '%s' is not "
				       "{\"from\": N, \"to\": M} with 0 <= N <= M", part);
		if (json_integer_value(jfrom) != stored)
			return err_set(err, EX_TEMPFAIL,
				       "publish refused: checkpoint delta of source '%s' partition '%s' "
				       "starts at %lld but the published position is %lld",
				       c->source_id, part, (long long)json_integer_value(jfrom),
				       (long long)stored);
	}
	/* Apply. */
	for (size_t i = 0; i < c->n; i++) {
		json_t *rec = json_object_get(splits, c->split_ids[i]);
		json_t *meta = json_object_get(rec, "metadata");

		/* the delete tasks before this publish do not concern its documents */
		if (json_is_object(meta) &&
		    json_object_set_new(meta, "delete_opstamp",
					json_integer((json_int_t)metastore_last_delete_opstamp(doc))) < 0)
			return err_set(err, EX_SOFTWARE, "cannot update split '%s'", c->split_ids[i]);
		if (json_object_set_new(rec, "split_state", json_string(SPLIT_PUBLISHED)) < 0 ||
		    json_object_set_new(rec, "update_timestamp", json_integer(now)) < 0 ||
		    json_object_set_new(rec, "publish_timestamp", json_integer(now)) < 0)
			return err_set(err, EX_SOFTWARE, "cannot update split '%s'", c->split_ids[i]);
	}
	if (json_object_size(c->delta) > 0) {
		if (!cp) {
			cp = json_object();
			if (json_object_set_new(cps, c->source_id, cp) < 0)
				return err_set(err, EX_SOFTWARE, "cannot record the checkpoint");
		}
		json_object_foreach(c->delta, part, d) {
			json_t *head = json_object_get(d, "head");

			if (json_object_set(cp, part, json_object_get(d, "to")) < 0)
				return err_set(err, EX_SOFTWARE, "cannot record the checkpoint");
			if (json_is_string(head) && set_head(doc, c->source_id, part, head) < 0)
				return err_set(err, EX_SOFTWARE, "cannot record the checkpoint head");
		}
	}
	return 0;
}

int metastore_publish_splits(struct metastore *ms, const char *index_id, const char *source_id,
			     const char *token, const char *const *split_ids, size_t n_splits,
			     json_t *checkpoint_delta, struct qw_err *err)
{
	struct publish_ctx c = { index_id, source_id, token, split_ids, n_splits,
				 checkpoint_delta };

	if (ids_check_index(index_id, err) < 0 || ids_check_source(source_id, err) < 0)
		return -1;
	for (size_t i = 0; i < n_splits; i++)
		if (check_split_id(split_ids[i], err) < 0)
			return -1;
	if (checkpoint_delta && !json_is_object(checkpoint_delta))
		return err_set(err, EX_TEMPFAIL, "publish refused: the checkpoint delta is not an object");
	return checked_update(ms, index_id, publish_tx, &c, err);
}

struct mark_ctx {
	const struct metastore *ms;
	const char *index_id;
	const char *const *split_ids;
	size_t n;
	bool remove;
	char *dir;           /* where the split files are, from the transaction's doc */
};

static int mark_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct mark_ctx *c = vctx;
	json_t *splits = json_object_get(doc, "splits");
	json_int_t now = (json_int_t)clock_wall_s();

	free(c->dir);
	c->dir = metastore_splits_dir(c->ms, c->index_id, doc);

	for (size_t i = 0; i < c->n; i++) {
		json_t *rec = json_object_get(splits, c->split_ids[i]);
		const char *state = json_string_value(json_object_get(rec, "split_state"));

		if (!rec)
			return err_set(err, EX_NOINPUT, "split '%s' does not exist in index '%s'",
				       c->split_ids[i], c->index_id);
		if (c->remove && state && strcmp(state, SPLIT_PUBLISHED) == 0)
			return err_set(err, EX_DATAERR,
				       "cannot delete split '%s': it is published (mark it for deletion first)",
				       c->split_ids[i]);
	}
	for (size_t i = 0; i < c->n; i++) {
		json_t *rec = json_object_get(splits, c->split_ids[i]);

		if (c->remove) {
			if (json_object_del(splits, c->split_ids[i]) < 0 && rec)
				return err_set(err, EX_SOFTWARE, "cannot remove split '%s'",
					       c->split_ids[i]);
			continue;
		}
		if (json_object_set_new(rec, "split_state", json_string(SPLIT_MARKED)) < 0 ||
		    json_object_set_new(rec, "update_timestamp", json_integer(now)) < 0)
			return err_set(err, EX_SOFTWARE, "cannot update split '%s'", c->split_ids[i]);
	}
	return 0;
}

static int mark_or_delete(struct metastore *ms, const char *index_id, const char *const *split_ids,
			  size_t n, bool remove, struct qw_err *err)
{
	struct mark_ctx c = { ms, index_id, split_ids, n, remove, NULL };
	int ret = -1;

	if (ids_check_index(index_id, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (check_split_id(split_ids[i], err) < 0)
			goto out;
	if (checked_update(ms, index_id, mark_tx, &c, err) < 0)
		goto out;
	if (remove && remove_split_files(c.dir, split_ids, n, err) < 0)
		goto out;
	ret = 0;
out:
	free(c.dir);
	return ret;
}

int metastore_mark_splits_for_deletion(struct metastore *ms, const char *index_id,
				       const char *const *split_ids, size_t n, struct qw_err *err)
{
	return mark_or_delete(ms, index_id, split_ids, n, false, err);
}

int metastore_delete_splits(struct metastore *ms, const char *index_id,
			    const char *const *split_ids, size_t n, struct qw_err *err)
{
	return mark_or_delete(ms, index_id, split_ids, n, true, err);
}

/* doc[key][source_id] copied, an empty object when absent. */
static json_t *source_object(json_t *doc, const char *key, const char *source_id,
			     struct qw_err *err)
{
	json_t *o = json_object_get(json_object_get(doc, key), source_id);

	o = json_is_object(o) ? json_deep_copy(o) : json_object();
	if (!o)
		err_set(err, EX_SOFTWARE, "cannot copy the %s of source '%s'", key, source_id);
	return o;
}

json_t *metastore_checkpoint_with_heads(struct metastore *ms, const char *index_id,
					const char *source_id, json_t **heads, struct qw_err *err)
{
	json_t *doc, *cp;

	if (ids_check_source(source_id, err) < 0)
		return NULL;
	doc = metastore_read(ms, index_id, err);      /* one snapshot for both */
	if (!doc)
		return NULL;
	cp = metastore_doc_checkpoint(doc, source_id, heads, err);
	json_decref(doc);
	return cp;
}

json_t *metastore_doc_checkpoint(json_t *index_meta, const char *source_id, json_t **heads,
				 struct qw_err *err)
{
	json_t *cp, *h = NULL;

	if (ids_check_source(source_id, err) < 0)
		return NULL;
	cp = source_object(index_meta, "checkpoints", source_id, err);
	if (cp && heads) {
		h = source_object(index_meta, "checkpoint_heads", source_id, err);
		if (!h) {
			json_decref(cp);
			cp = NULL;
		}
	}
	if (heads)
		*heads = h;
	return cp;
}

json_t *metastore_checkpoint(struct metastore *ms, const char *index_id, const char *source_id,
			     struct qw_err *err)
{
	return metastore_checkpoint_with_heads(ms, index_id, source_id, NULL, err);
}

json_t *metastore_checkpoint_heads(struct metastore *ms, const char *index_id,
				   const char *source_id, struct qw_err *err)
{
	json_t *h = NULL, *cp = metastore_checkpoint_with_heads(ms, index_id, source_id, &h, err);

	json_decref(cp);
	return h;
}

int metastore_lock_scratch(struct metastore *ms, const char *owner_id, char **dir,
			   struct qw_err *err)
{
	char *base = metastore_scratch_dir(ms, owner_id);
	struct atomicfile af = ATOMICFILE_INIT;
	char *path = NULL;
	int fd = -1;

	if (dir)
		*dir = NULL;
	if (fsutil_mkdir_p(base, 0755, err) < 0)
		goto out;
	path = fsutil_join(base, "lock");
	if (atomicfile_open(&af, path, 0644, err) < 0)
		goto out;
	if (flock(af.fd, LOCK_EX | LOCK_NB) < 0) {
		err_errno(err, EX_TEMPFAIL, "cannot lock '%s'", af.tmp);
		goto out;
	}
	fd = atomicfile_commit_keep(&af, err);
out:
	atomicfile_rollback(&af);
	free(path);
	if (fd >= 0 && dir)
		*dir = base;
	else
		free(base);
	return fd;
}
