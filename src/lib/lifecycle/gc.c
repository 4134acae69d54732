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

#include "base/atomicfile.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "lifecycle/gc.h"
#include "base/ids.h"
#include "store/storage.h"
#include "base/xalloc.h"

struct gc_ctx {
	const struct gc_opts *o;
	int64_t now;
	json_t *found;      /* [{"split_id","reason"}] */
};

/* Why the split is to be removed, NULL when it stays. */
static const char *removal_reason(const struct split_record *r, const struct gc_ctx *c)
{
	int64_t ts = r->has_update_timestamp ? r->update_timestamp : 0;

	if (r->state == SPLIT_STATE_STAGED) {
		if (!r->token_is_current)
			return "dead_generation";
		if (c->now - ts >= c->o->staged_grace_s)
			return "staged_expired";
	} else if (r->state == SPLIT_STATE_MARKED) {
		if (c->now - ts >= c->o->marked_grace_s)
			return "marked_expired";
	}
	return NULL;
}

static int collect(struct metastore *ms, const char *index_id, struct gc_ctx *c,
		   struct qw_err *err)
{
	struct split_record *recs;
	size_t n;

	if (metastore_list_splits(ms, index_id, SPLIT_STATE_STAGED | SPLIT_STATE_MARKED, &recs,
				  &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *reason = removal_reason(&recs[i], c);

		if (reason)
			json_array_append_new(c->found, json_pack("{s:s, s:s}", "split_id",
								  recs[i].split_id, "reason",
								  reason));
	}
	metastore_free_splits(recs, n);
	return 0;
}

/*
 * Mark the collected splits MarkedForDeletion (fences late publishes) and
 * keep in c->found only those that are marked now: a split published since
 * the snapshot (or removed by another gc) is not ours to delete.
 */
static int mark_found(struct metastore *ms, const char *index_id, struct gc_ctx *c,
		      struct qw_err *err)
{
	size_t n = json_array_size(c->found), i;
	const char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	bool *marked = xcalloc(n ? n : 1, sizeof(*marked));
	json_t *kept = NULL;
	int ret = -1;

	for (i = 0; i < n; i++)
		ids[i] = json_string_value(json_object_get(json_array_get(c->found, i), "split_id"));
	if (metastore_mark_unpublished_for_deletion(ms, index_id, ids, n, marked, err) < 0)
		goto out;
	kept = json_array();
	for (i = 0; i < n; i++)
		if (marked[i])
			json_array_append(kept, json_array_get(c->found, i));
	json_decref(c->found);
	c->found = kept;
	ret = 0;
out:
	free(marked);
	free(ids);
	return ret;
}

/* "<ULID>.split": the split id into id, else false. */
static bool split_file_id(const char *name, char id[ULID_LEN + 1])
{
	if (strlen(name) != ULID_LEN + 6 || strcmp(name + ULID_LEN, ".split") != 0)
		return false;
	memcpy(id, name, ULID_LEN);
	id[ULID_LEN] = '\0';
	return ids_is_ulid(id);
}

static int cmp_record_id(const void *a, const void *b)
{
	return strcmp(((const struct split_record *)a)->split_id,
		      ((const struct split_record *)b)->split_id);
}

/* Split files that no record names, older than the deletion grace period. */
static int orphans(struct metastore *ms, const char *index_id, struct storage *st,
		   struct gc_ctx *c, struct qw_err *err)
{
	struct split_record *recs = NULL;
	struct storage_entry *objs = NULL;
	size_t n_recs = 0, n_objs = 0;
	int ret = -1;

	if (metastore_list_splits(ms, index_id, SPLIT_STATES_ALL, &recs, &n_recs, err) < 0)
		goto out;
	if (storage_list(st, "", &objs, &n_objs, err) < 0)
		goto out;
	for (size_t i = 0; i < n_objs; i++) {
		char id[ULID_LEN + 1];
		struct split_record key = { .split_id = id };

		if (!split_file_id(objs[i].name, id))
			continue;
		/* recs is sorted by id; a record in another state still names its file */
		if (n_recs && bsearch(&key, recs, n_recs, sizeof(*recs), cmp_record_id))
			continue;
		if (c->now - objs[i].mtime_s >= c->o->marked_grace_s)
			json_array_append_new(c->found, json_pack("{s:s, s:s}", "split_id", id,
								  "reason", "orphan_file"));
	}
	ret = 0;
out:
	storage_free_entries(objs, n_objs);
	metastore_free_splits(recs, n_recs);
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

/* "<ULID>.split" ATOMICFILE_INFIX "..." (a split file being written). */
static bool is_split_temp(const char *name)
{
	char target[ULID_LEN + 7];

	if (strlen(name) <= ULID_LEN)
		return false;
	memcpy(target, name, ULID_LEN);
	target[ULID_LEN] = '\0';
	if (!ids_is_ulid(target))
		return false;
	memcpy(target + ULID_LEN, ".split", 7);
	return is_temp_of(name, target);
}

/*
 * Temp files of atomic writes whose writer died (kill -9 between create and
 * rename), older than the deletion grace period: "<split>.split.tmp-*" in
 * the split storage and "metastore.json.tmp-*" in the index dir. Only such
 * names are touched, even in an index_uri directory shared with other files.
 */
static int stale_split_temps(struct storage *st, struct gc_ctx *c, struct qw_err *err)
{
	struct storage_entry *objs = NULL;
	size_t n = 0;
	int ret = -1;

	if (storage_list(st, "", &objs, &n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char *where;

		if (!is_split_temp(objs[i].name) || c->now - objs[i].mtime_s < c->o->marked_grace_s)
			continue;
		if (!c->o->dry_run && storage_delete(st, objs[i].name, err) < 0)
			goto out;
		where = storage_location(st, objs[i].name);
		json_array_append_new(c->found, json_pack("{s:s, s:s}", "temp_file", where,
							  "reason", "stale_temp"));
		free(where);
	}
	ret = 0;
out:
	storage_free_entries(objs, n);
	return ret;
}

/* The index dir is the file metastore's own local directory. */
static int stale_index_temps(const char *dir, struct gc_ctx *c, struct qw_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = -1;

	if (!d)
		return errno == ENOENT ? 0 : err_errno(err, EX_IOERR, "cannot open '%s'", dir);
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		char *path;

		if (!is_temp_of(de->d_name, "metastore.json"))
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
	char *ixdir = NULL;
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
	if (collect(ms, index_id, &c, err) < 0)
		goto out;
	if (!o->dry_run && json_array_size(c.found) > 0 &&
	    mark_found(ms, index_id, &c, err) < 0) {
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
	ixdir = metastore_index_dir(ms, index_id);
	if (stale_split_temps(st, &c, err) < 0 || stale_index_temps(ixdir, &c, err) < 0)
		goto out;
	if (scratch_dirs(ms, &c, err) < 0)
		goto out;
	*report = c.found;
	c.found = NULL;
	ret = 0;
out:
	free(ixdir);
	free(ids);
	json_decref(c.found);
	storage_close(st);
	return ret;
}
