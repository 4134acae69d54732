/*
 * gc: garbage collection of an index's splits.
 *
 * gc_run() finds
 *   - Staged splits whose publish token is no longer the current token of
 *     any source (their generation is dead: they can never be published),
 *     at once;
 *   - Staged splits of a live token older than staged_grace_s (by
 *     update_timestamp);
 *   - MarkedForDeletion splits older than marked_grace_s;
 *   - split files in the index's storage that no split record names and
 *     that are older than marked_grace_s (left by a crash between the two
 *     steps below);
 *   - temp files of atomic writes whose writer died ("<split>.split.tmp-*"
 *     in the split storage, "metastore.json.tmp-*" in the index dir), older
 *     than marked_grace_s;
 *   - scratch dirs of dead pipelines (any index: the scratch dir belongs to
 *     the data dir): scratch/<pipeline-id>/ whose lock file no live
 *     qw-pipeline holds (flock), or without a lock file and older than
 *     marked_grace_s;
 * and, unless dry_run, first marks the Staged ones MarkedForDeletion in one
 * transaction (so a late publish of them is refused; one published since
 * they were read is left alone: metastore_mark_unpublished_for_deletion()),
 * then deletes their files, then their records, then the dead scratch
 * dirs. Split files are listed and deleted through storage.h. report receives a
 * new JSON array of {"split_id", "reason"} (reason: dead_generation,
 * staged_expired, marked_expired, orphan_file) and {"scratch_dir",
 * "reason": "dead_pipeline"} and {"temp_file": path, "reason": "stale_temp"}, owned by the caller.
 */
#ifndef QW_GC_H
#define QW_GC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "store/metastore.h"

struct gc_opts {
	int64_t staged_grace_s;   /* Staged splits of the live token */
	int64_t marked_grace_s;   /* MarkedForDeletion splits and orphan files */
	bool dry_run;
};

int gc_run(struct metastore *ms, const char *index_id, const struct gc_opts *o, json_t **report,
	   struct qw_err *err);

#endif
