/*
 * resume: where qw-parse picks up a file partition it read in an earlier
 * run, from the checkpoint it was given (positions and heads, see
 * qw-protocol(7)).
 *
 * resume_partition() is called once, when a partition is first opened at
 * position 0 with a checkpoint at hand. It finds the stored partition the
 * file continues (its own id, its latest rotation "id#N", or another name
 * the file was renamed from), checks that the file still starts with the
 * bytes it started with (the head) and is at least as long as the stored
 * position, skips to it (source_skip()), and gives the partition the id it
 * continues or a new rotation id (source_rename_part()). The verdict says
 * which, so that the caller reports it (resume_notice()) and reads from
 * plan.pos. A stream is never resumed: the caller does not call this.
 */
#ifndef QW_RESUME_H
#define QW_RESUME_H

#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "pipeline/source.h"

struct resume_ctx {
	struct source *src;
	json_t *cp;          /* {"partition": position} resumed from */
	json_t *heads;       /* {"partition": "head"}, may be NULL */
	json_t *claimed;     /* {"partition": true}: ids read in this run so far */
	json_t *no_resume;   /* --no-resume: the positions not resumed, may be NULL */
};

enum resume_verdict {
	RESUME_NONE,         /* nothing to resume: read from 0 under its own id */
	RESUME_AT,           /* the same file: read from pos under its stored id, key */
	RESUME_RENAMED,      /* the file read before as key (renamed or rotated): from pos */
	/* read from 0 as a new file, new id key ("id#N"), because ... */
	RESUME_NEW_CLAIMED,  /* ... its stored id is read under another name in this run */
	RESUME_NEW_CHANGED,  /* ... its first bytes changed since the checkpoint */
	RESUME_NEW_SHORTER,  /* ... it is shorter than the stored position (truncated) */
	RESUME_NEW_INODE,    /* ... it is another file (inode) than at the checkpoint */
	RESUME_NEW_IGNORED,  /* ... --no-resume: the stored position is ignored */
	RESUME_FAILED,       /* a read error (err set): the partition is closed */
};

struct resume_plan {
	enum resume_verdict verdict;
	uint64_t pos;        /* where to read from */
	uint64_t stored;     /* the stored position of the partition's own id */
	char *key;           /* the id the partition continues or gets; NULL for NONE */
	char *stored_key;    /* its own stored id (RESUME_NEW_CLAIMED names it) */
};

enum resume_verdict resume_partition(const struct resume_ctx *c, const struct source_part *p,
				     struct resume_plan *plan, struct qw_err *err);
/* The notice to report for plan (code 0); false for NONE, AT and FAILED. */
bool resume_notice(const struct resume_plan *plan, const struct source_part *p,
		   struct qw_err *notice);
void resume_plan_free(struct resume_plan *plan);

/*
 * The "head" of a checkpoint over the first n bytes p of a partition:
 * "<n>:<FNV-1a 64 of them, 16 hex digits>" (n <= SOURCE_HEAD_MAX),
 * appended to out.
 */
void resume_head_fingerprint(const char *p, size_t n, struct buf *out);

#endif
