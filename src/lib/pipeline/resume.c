/*
 * resume: see resume.h. The rules moved here from parse.c as they were;
 * heads and positions are those of the checkpoint the run was given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/resume.h"
#include "base/xalloc.h"

/* n = min(SOURCE_HEAD_MAX, position) (man/qw-protocol.7). */
void resume_head_fingerprint(const char *p, size_t n, struct buf *out)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	buf_addf(out, "%zu:%016llx", n, (unsigned long long)h);
}

/*
 * A stored head: "<n>:<hash>" then ":<inode>" when the partition was a
 * regular file. *fp_len: the length of "<n>:<hash>", *ino 0 when absent.
 */
static bool parse_head(const char *s, size_t *n, size_t *fp_len, uint64_t *ino)
{
	const char *c;
	char *end;
	unsigned long long v;

	*ino = 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end != ':' || v == 0 || v > SOURCE_HEAD_MAX)
		return false;
	*n = (size_t)v;
	c = strchr(end + 1, ':');
	if (!c) {
		*fp_len = strlen(s);
		return true;
	}
	*fp_len = (size_t)(c - s);
	errno = 0;
	v = strtoull(c + 1, &end, 10);
	if (errno || end == c + 1 || *end)
		return false;
	*ino = v;
	return true;
}

/* The checkpointed partition for id: id itself or its latest rotation "id#N". */
static const char *resume_lookup(json_t *cp, const char *id, uint64_t *pos, int *rotation)
{
	const char *key, *best = NULL;
	json_t *v;
	size_t idlen = strlen(id);

	*rotation = -1;
	if (!cp)
		return NULL;
	json_object_foreach(cp, key, v) {
		int rot = -1;

		if (!json_is_integer(v))
			continue;
		if (strcmp(key, id) == 0) {
			rot = 0;
		} else if (strncmp(key, id, idlen) == 0 && key[idlen] == '#' && key[idlen + 1]) {
			char *end;
			long n;

			errno = 0;
			n = strtol(key + idlen + 1, &end, 10);
			if (errno || *end || n < 1 || n > 1000000)
				continue;
			rot = (int)n;
		}
		if (rot > *rotation) {
			*rotation = rot;
			best = key;
			*pos = (uint64_t)json_integer_value(v);
		}
	}
	return best;
}

/*
 * Resume: does the current partition still start as it did when its
 * checkpoint `key` was taken? 0: yes (or nothing to compare with), 2: no,
 * 1: it is shorter than those first bytes, -1 on a read error (e set).
 * *ino: the inode stored with the head, 0 when none.
 */
static int head_changed(const struct resume_ctx *c, const char *key, uint64_t *ino, struct qw_err *e)
{
	const char *stored = json_string_value(json_object_get(c->heads, key));
	struct buf now = BUF_INIT;
	const char *h;
	size_t n, fp_len, got;
	int ret = 0;

	*ino = 0;
	if (!stored || !parse_head(stored, &n, &fp_len, ino))
		return 0;       /* published by an older qw-parse: only the size is checked */
	if (source_head(c->src, n, &h, &got, e) < 0)
		return -1;
	if (got < n)
		return 1;       /* shorter than the bytes it started with */
	resume_head_fingerprint(h, got, &now);
	if (now.len != fp_len || memcmp(now.data, stored, fp_len) != 0)
		ret = 2;
	buf_free(&now);
	return ret;
}

/* The path a partition was read from: its id without a "#N". */
static char *partition_path(const char *key)
{
	char *path = xstrdup(key), *hash = strrchr(path, '#');

	if (hash && hash[1] && strspn(hash + 1, "0123456789") == strlen(hash + 1))
		*hash = '\0';
	return path;
}

/*
 * Was the current partition read before under another name (rotated by
 * rename, moved, or copied before a truncation)? A checkpointed partition
 * whose head covers SOURCE_HEAD_MAX bytes and equals this file's, that no
 * other file of this run reads, and whose own path is no longer that file:
 * - same inode as stored with the head: its path is gone or is another
 *   inode (renamed); preferred over any other match;
 * - otherwise (ino_only false): its path no longer holds those bytes, and
 *   when the path is gone the stored inode (if any) must be this file's (a
 *   renamed file keeps its inode; a new file that merely starts with the
 *   same bytes, a long fixed header, is not that file).
 * Returns that partition id with its position, or NULL. The caller's skip
 * then checks that the file is at least as long as that position.
 */
static const char *renamed_lookup(const struct resume_ctx *c, const struct source_part *p, bool ino_only,
				  uint64_t *pos)
{
	json_t *heads = c->heads, *v;
	struct buf fp = BUF_INIT, other = BUF_INIT, ofp = BUF_INIT;
	struct qw_err e = QW_ERR_INIT;
	const char *key, *h, *found = NULL;
	size_t n;

	if (json_object_size(heads) == 0 || p->pipe)
		return NULL;
	if (source_head(c->src, SOURCE_HEAD_MAX, &h, &n, &e) < 0 || n < SOURCE_HEAD_MAX)
		return NULL;
	resume_head_fingerprint(h, n, &fp);
	json_object_foreach(heads, key, v) {
		json_t *cp = json_object_get(c->cp, key);
		const char *stored = json_string_value(v);
		size_t sn, fp_len;
		uint64_t sino;
		bool same_ino, ok;
		struct stat st;
		char *path;
		int rc;

		if (!stored || !parse_head(stored, &sn, &fp_len, &sino) || fp_len != fp.len ||
		    memcmp(stored, fp.data, fp_len) != 0 ||
		    !json_is_integer(cp) || json_integer_value(cp) < SOURCE_HEAD_MAX ||
		    json_object_get(c->claimed, key) || strchr(key, '!') || key[0] != '/' ||
		    strcmp(key, p->id) == 0)
			continue;
		same_ino = p->ino && sino == p->ino;
		if ((ino_only || found) && !same_ino)
			continue;
		path = partition_path(key);
		if (same_ino) {
			ok = stat(path, &st) < 0 ? errno == ENOENT : (uint64_t)st.st_ino != p->ino;
		} else {
			err_clear(&e);
			rc = source_path_head(path, &other, &e);
			buf_reset(&ofp);
			if (rc == 0)
				resume_head_fingerprint(other.data ? other.data : "", other.len, &ofp);
			ok = (rc < 0 && e.code == EX_NOINPUT && !sino) ||
			     (rc == 0 && strcmp(ofp.data, fp.data) != 0);
		}
		free(path);
		if (!ok)
			continue;
		found = key;
		*pos = (uint64_t)json_integer_value(cp);
		if (same_ino)
			break;
	}
	buf_free(&fp);
	buf_free(&other);
	buf_free(&ofp);
	return found;
}

/* plan->key = "<id>#<rot + 1>": the next rotation id of the partition. */
static void next_rotation(struct resume_plan *plan, const char *id, int rot)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s#%d", id, rot + 1);
	plan->key = buf_detach(&b, NULL);
}

/* Resume from a stored entry of the partition's own id (or rotation), key. */
static enum resume_verdict resume_own(const struct resume_ctx *c, const struct source_part *p,
				      const char *key, uint64_t pos, int rot,
				      struct resume_plan *plan, struct qw_err *err)
{
	const char *rkey = NULL;
	uint64_t rpos = 0, ino = 0;
	int rr = 1;
	/* read by another file of this run (it was renamed): this is a new file */
	int sr = json_object_get(c->claimed, key) ? 3 : head_changed(c, key, &ino, err);

	plan->stored = pos;
	plan->stored_key = xstrdup(key);
	/* same first bytes (a fixed header) but another inode: the file renamed
	 * here from another checkpointed name, when there is one */
	if (sr == 0 && ino && p->ino && ino != p->ino && (rkey = renamed_lookup(c, p, true, &rpos)))
		sr = 4;
	if (sr == 0)
		sr = source_skip(c->src, pos, err);
	if (sr < 0)
		return RESUME_FAILED;
	if (sr == 0) {
		plan->key = xstrdup(key);
		plan->pos = pos;
		return RESUME_AT;
	}
	if ((rkey || (rkey = renamed_lookup(c, p, false, &rpos))) &&
	    (rr = source_skip(c->src, rpos, err)) == 0) {
		/* numbered rotation: this path now holds a file read under another name */
		plan->key = xstrdup(rkey);
		plan->pos = rpos;
		return RESUME_RENAMED;
	}
	if (rr < 0)
		return RESUME_FAILED;
	next_rotation(plan, p->id, rot);
	switch (sr) {
	case 3:
		return RESUME_NEW_CLAIMED;
	case 2:
		return RESUME_NEW_CHANGED;
	case 4:
		return RESUME_NEW_INODE;
	default:
		return RESUME_NEW_SHORTER;
	}
}

static enum resume_verdict decide(const struct resume_ctx *c, const struct source_part *p,
				  struct resume_plan *plan, struct qw_err *err)
{
	uint64_t pos = 0;
	int rot, sr;
	const char *key = resume_lookup(c->cp, p->id, &pos, &rot);

	if (key)
		return resume_own(c, p, key, pos, rot, plan, err);
	if ((key = renamed_lookup(c, p, false, &pos))) {
		sr = source_skip(c->src, pos, err);
		if (sr < 0)
			return RESUME_FAILED;
		if (sr > 0)
			return RESUME_NONE; /* shorter than that file was: a new file after all */
		plan->key = xstrdup(key);
		plan->pos = pos;
		return RESUME_RENAMED;
	}
	if (resume_lookup(c->no_resume, p->id, &pos, &rot)) {
		/* --no-resume: from 0, as a partition past the ignored ones */
		plan->stored = pos;
		next_rotation(plan, p->id, rot);
		return RESUME_NEW_IGNORED;
	}
	return RESUME_NONE;
}

enum resume_verdict resume_partition(const struct resume_ctx *c, const struct source_part *p,
				     struct resume_plan *plan, struct qw_err *err)
{
	memset(plan, 0, sizeof(*plan));
	plan->verdict = decide(c, p, plan, err);
	if (plan->verdict == RESUME_FAILED || plan->verdict == RESUME_NONE) {
		free(plan->key);
		plan->key = NULL;
		plan->pos = 0;
	}
	/* last: it frees the string p->id points to */
	if (plan->key)
		source_rename_part(c->src, plan->key);
	return plan->verdict;
}

bool resume_notice(const struct resume_plan *plan, const struct source_part *p,
		   struct qw_err *notice)
{
	const char *id = plan->key;
	unsigned long long at = (unsigned long long)plan->pos;

	switch (plan->verdict) {
	case RESUME_RENAMED:
		err_set(notice, 0, "'%s' starts as '%s' did (renamed): resuming it at %llu", p->name,
			id, at);
		return true;
	case RESUME_NEW_CLAIMED:
		err_set(notice, 0, "'%s' is read under another name in this run: reading '%s' as a new file '%s'",
			plan->stored_key, p->name, id);
		return true;
	case RESUME_NEW_CHANGED:
		err_set(notice, 0, "the first bytes of '%s' changed since its checkpoint: reading it as a new file '%s'",
			p->name, id);
		return true;
	case RESUME_NEW_INODE:
		err_set(notice, 0, "'%s' is another file (inode) than at its checkpoint: reading it as a new file '%s'",
			p->name, id);
		return true;
	case RESUME_NEW_SHORTER:
		err_set(notice, 0, "'%s' is shorter than its checkpoint (%llu bytes): reading it as a new file '%s'",
			p->name, (unsigned long long)plan->stored, id);
		return true;
	case RESUME_NEW_IGNORED:
		err_set(notice, 0, "not resuming '%s' at %llu (--no-resume): reading it from the start as '%s'",
			p->name, (unsigned long long)plan->stored, id);
		return true;
	case RESUME_NONE:
	case RESUME_AT:
	case RESUME_FAILED:
		break;
	}
	return false;
}

void resume_plan_free(struct resume_plan *plan)
{
	free(plan->key);
	free(plan->stored_key);
	plan->key = plan->stored_key = NULL;
}
