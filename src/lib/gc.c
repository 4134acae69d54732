/*
 * gc: mark, delete files, delete records (see gc.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "clock.h"
#include "fsutil.h"
#include "gc.h"
#include "ids.h"
#include "storage.h"
#include "xalloc.h"

struct gc_ctx {
	const struct gc_opts *o;
	int64_t now;
	json_t *found;      /* [{"split_id","reason"}] */
};

static bool is_current_token(json_t *meta, const char *token)
{
	json_t *tokens = json_object_get(meta, "publish_tokens");
	const char *k;
	json_t *v;

	if (!token)
		return false;
	json_object_foreach(tokens, k, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), token))
			return true;
	return false;
}

static void collect(json_t *meta, struct gc_ctx *c)
{
	json_t *splits = json_object_get(meta, "splits");
	const char *id;
	json_t *rec;

	json_object_foreach(splits, id, rec) {
		const char *state = json_string_value(json_object_get(rec, "split_state"));
		json_int_t ts = json_integer_value(json_object_get(rec, "update_timestamp"));
		const char *reason = NULL;

		if (!state)
			continue;
		if (!strcmp(state, SPLIT_STAGED)) {
			const char *tok = json_string_value(json_object_get(rec, "publish_token"));

			if (!is_current_token(meta, tok))
				reason = "dead_generation";
			else if (c->now - ts >= c->o->staged_grace_s)
				reason = "staged_expired";
		} else if (!strcmp(state, SPLIT_MARKED)) {
			if (c->now - ts >= c->o->marked_grace_s)
				reason = "marked_expired";
		}
		if (reason)
			json_array_append_new(c->found, json_pack("{s:s, s:s}", "split_id", id,
								  "reason", reason));
	}
}

/* Mark the collected Staged splits MarkedForDeletion (fences late publishes). */
static int mark_tx(json_t *meta, void *ctx, struct qw_err *err)
{
	struct gc_ctx *c = ctx;
	json_t *splits = json_object_get(meta, "splits");
	size_t i;
	json_t *f;

	json_array_clear(c->found);
	collect(meta, c);
	json_array_foreach(c->found, i, f) {
		json_t *rec = json_object_get(splits,
					      json_string_value(json_object_get(f, "split_id")));

		if (json_object_set_new(rec, "split_state", json_string(SPLIT_MARKED)) < 0)
			return err_set(err, EX_SOFTWARE, "cannot mark a split");
	}
	return 0;
}

struct orphan_ctx {
	struct gc_ctx *c;
	json_t *splits;
};

/* One object of an s3:// root: an orphan when no record names it and it
 * is older than the deletion grace period (as for files below). */
static int orphan_object(void *vctx, const char *name, int64_t mtime)
{
	struct orphan_ctx *oc = vctx;
	char id[ULID_LEN + 1];

	if (strlen(name) != ULID_LEN + 6 || strcmp(name + ULID_LEN, ".split"))
		return 0;
	memcpy(id, name, ULID_LEN);
	id[ULID_LEN] = '\0';
	if (!ids_is_ulid(id) || json_object_get(oc->splits, id))
		return 0;
	if (oc->c->now - mtime >= oc->c->o->marked_grace_s)
		json_array_append_new(oc->c->found, json_pack("{s:s, s:s}", "split_id", id,
							      "reason", "orphan_file"));
	return 0;
}

/* Split files that no record names, older than the deletion grace period. */
static int orphans(struct metastore *ms, const char *index_id, struct storage *st,
		   struct gc_ctx *c, struct qw_err *err)
{
	json_t *meta = metastore_read(ms, index_id, err);
	json_t *splits;
	char *root = NULL;
	DIR *d = NULL;
	struct dirent *de;
	int ret = -1;

	if (!meta)
		return -1;
	splits = json_object_get(meta, "splits");
	if (strncmp(storage_root_uri(st), "file://", 7)) {
		/* object storage: list the objects instead of the directory */
		struct orphan_ctx oc = { c, splits };

		ret = storage_list(st, orphan_object, &oc, err) < 0 ? -1 : 0;
		goto out;
	}
	root = xstrdup(storage_root_uri(st) + strlen("file://"));
	d = opendir(root);
	if (!d) {
		ret = errno == ENOENT ? 0 : err_errno(err, EX_IOERR, "cannot open '%s'", root);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char id[ULID_LEN + 1];
		struct stat sb;
		char *path;
		size_t n = strlen(de->d_name);

		if (n != ULID_LEN + 6 || strcmp(de->d_name + ULID_LEN, ".split"))
			continue;
		memcpy(id, de->d_name, ULID_LEN);
		id[ULID_LEN] = '\0';
		if (!ids_is_ulid(id) || json_object_get(splits, id))
			continue;
		path = fsutil_join(root, de->d_name);
		if (stat(path, &sb) == 0 && c->now - (int64_t)sb.st_mtime >= c->o->marked_grace_s)
			json_array_append_new(c->found, json_pack("{s:s, s:s}", "split_id", id,
								  "reason", "orphan_file"));
		free(path);
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	free(root);
	json_decref(meta);
	return ret;
}

/* name is "<target>" ATOMICFILE_INFIX and 10 letters or digits (atomicfile.h). */
static bool is_temp_of(const char *name, const char *target)
{
	size_t n = strlen(target), k = strlen(ATOMICFILE_INFIX);

	if (strncmp(name, target, n) != 0 || strncmp(name + n, ATOMICFILE_INFIX, k) != 0)
		return false;
	name += n + k;
	for (n = 0; name[n]; n++)
		if (!isalnum((unsigned char)name[n]))
			return false;
	return n == 10;
}

/*
 * Temp files of atomic writes whose writer died (kill -9 between create and
 * rename), older than the deletion grace period: "<split>.split.tmp-*" in
 * the split storage and "metastore.json.tmp-*" in the index dir. Only such
 * names are touched, even in an index_uri directory shared with other files.
 */
static int stale_temps(const char *dir, bool splits, struct gc_ctx *c, struct qw_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = -1;

	if (!d)
		return errno == ENOENT ? 0 : err_errno(err, EX_IOERR, "cannot open '%s'", dir);
	while ((de = readdir(d)) != NULL) {
		char target[ULID_LEN + 7];
		struct stat sb;
		char *path;
		bool take;

		if (splits) {
			take = strlen(de->d_name) > ULID_LEN;
			if (take) {
				memcpy(target, de->d_name, ULID_LEN);
				target[ULID_LEN] = '\0';
				take = ids_is_ulid(target);
				memcpy(target + ULID_LEN, ".split", 7);
				take = take && is_temp_of(de->d_name, target);
			}
		} else {
			take = is_temp_of(de->d_name, "metastore.json");
		}
		if (!take)
			continue;
		path = fsutil_join(dir, de->d_name);
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    c->now - (int64_t)sb.st_mtime >= c->o->marked_grace_s) {
			if (!c->o->dry_run && unlink(path) < 0 && errno != ENOENT) {
				err_errno(err, EX_IOERR, "cannot remove '%s'", path);
				free(path);
				goto out;
			}
			json_array_append_new(c->found, json_pack("{s:s, s:s}", "temp_file", path,
								  "reason", "stale_temp"));
		}
		free(path);
	}
	ret = 0;
out:
	closedir(d);
	return ret;
}

/*
 * Scratch dirs of dead pipelines: a live qw-pipeline holds an flock on
 * scratch/<pipeline-id>/lock; a dir whose lock we can take (or without a
 * lock file, older than the deletion grace period) is removed, with the
 * lock held so that no pipeline can adopt it meanwhile.
 */
static int scratch_dirs(struct metastore *ms, struct gc_ctx *c, struct qw_err *err)
{
	char *root = metastore_scratch_dir(ms, "");
	DIR *d = opendir(root);
	struct dirent *de;
	int ret = -1;

	if (!d) {
		ret = errno == ENOENT ? 0 : err_errno(err, EX_IOERR, "cannot open '%s'", root);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char *dir, *lock;
		struct stat sb;
		bool dead = false;
		int fd;

		if (!ids_is_ulid(de->d_name))
			continue;
		dir = fsutil_join(root, de->d_name);
		lock = fsutil_join(dir, "lock");
		fd = open(lock, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dead = flock(fd, LOCK_EX | LOCK_NB) == 0;
		} else if (errno == ENOENT && lstat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			dead = c->now - (int64_t)sb.st_mtime >= c->o->marked_grace_s;
		}
		if (dead) {
			struct qw_err e = QW_ERR_INIT;

			if (!c->o->dry_run && fsutil_rm_rf(dir, &e) < 0) {
				*err = e;
				if (fd >= 0)
					close(fd);
				free(lock);
				free(dir);
				goto out;
			}
			json_array_append_new(c->found, json_pack("{s:s, s:s}", "scratch_dir",
								  de->d_name, "reason",
								  "dead_pipeline"));
		}
		if (fd >= 0)
			close(fd);
		free(lock);
		free(dir);
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	free(root);
	return ret;
}

int gc_run(struct metastore *ms, const char *index_id, const struct gc_opts *o, json_t **report,
	   struct qw_err *err)
{
	struct gc_ctx c = { o, clock_wall_s(), json_array() };
	struct storage *st = NULL;
	const char **ids = NULL;
	size_t nrec = 0, i;
	json_t *f;
	int ret = -1;

	*report = NULL;
	if (ids_check_index(index_id, err) < 0)
		goto out;
	st = storage_open_index(ms, index_id, err);
	if (!st)
		goto out;
	/* Read first: the metastore is written only when there is something to
	 * mark, so that gc runs on a full disk when it has nothing to do. */
	{
		json_t *meta = metastore_read(ms, index_id, err);

		if (!meta)
			goto out;
		collect(meta, &c);
		json_decref(meta);
	}
	if (!o->dry_run && json_array_size(c.found) > 0 &&
	    metastore_update(ms, index_id, mark_tx, &c, err) < 0) {
		err_prefix(err, "cannot mark the splits to remove (nothing removed)");
		goto out;
	}
	nrec = json_array_size(c.found);
	if (orphans(ms, index_id, st, &c, err) < 0)
		goto out;
	ids = xcalloc(nrec ? nrec : 1, sizeof(*ids));
	json_array_foreach(c.found, i, f) {
		const char *id = json_string_value(json_object_get(f, "split_id"));
		char name[40];

		if (i < nrec)
			ids[i] = id;
		if (o->dry_run)
			continue;
		storage_split_name(id, name);
		if (storage_delete(st, name, err) < 0)
			goto out;
	}
	if (!o->dry_run && nrec > 0 && metastore_delete_splits(ms, index_id, ids, nrec, err) < 0)
		goto out;
	{
		/* an s3:// root has no temps: objects appear whole */
		bool local = !strncmp(storage_root_uri(st), "file://", 7);
		char *root = local ? xstrdup(storage_root_uri(st) + strlen("file://")) : NULL;
		char *ixdir = metastore_index_dir(ms, index_id);
		int r = local ? stale_temps(root, true, &c, err) : 0;

		if (r == 0)
			r = stale_temps(ixdir, false, &c, err);
		free(ixdir);
		free(root);
		if (r < 0)
			goto out;
	}
	if (scratch_dirs(ms, &c, err) < 0)
		goto out;
	*report = c.found;
	c.found = NULL;
	ret = 0;
out:
	free(ids);
	json_decref(c.found);
	storage_close(st);
	return ret;
}
