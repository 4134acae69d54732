/*
 * packager: the library side of qw-package (Quickwit's packager).
 *
 * packager_package() takes one `split` record from qw-index (one cut of the
 * workbench: "splits": [{dir, num_docs, ...}], one checkpoint delta) and
 * turns every serialized segment directory into one .split file
 * <scratch>/<split_id>.split (split_bundle(), written atomically) with the
 * split metadata (split_id, index_uid, source_id, partition_id,
 * doc_mapping_uid, create_timestamp, maturity, ... on top of what the
 * segment records), removes the segment directory, and builds the
 * `packaged` record (man/qw-protocol.7). A segment directory is only
 * touched when its name is "seg-<ULID>" (never an arbitrary path).
 *
 * Fencing: when opts->ms is set and the record carries a publish token that
 * is no longer the current token of (index, source) in the metastore, the
 * generation is dead: the segment directories are removed, *packaged is
 * NULL and *notice says why. A record with "splits": [] is packaged into a
 * record with "splits": [] (its checkpoint delta must still be published).
 *
 * On failure the .split files already written for the record are removed.
 * Borrowed options; not thread-safe (one packager per thread).
 */
#ifndef QW_PACKAGER_H
#define QW_PACKAGER_H

#include <jansson.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "base/err.h"
#include "store/metastore.h"

struct packager_opts {
	const struct index_config *cfg; /* may be NULL: the metastore's, else no doc_mapping_uid
	                                 * and maturity "mature" */
	struct metastore *ms;           /* may be NULL: no fencing, index_uid = index id */
	json_t *index_meta;             /* with ms NULL, may be set: the index document (a
	                                 * snapshot, metastore_write_snapshot()) read in place of
	                                 * the metastore's: index_uid, and fencing against the
	                                 * tokens it holds (a generation's own snapshot fences
	                                 * nothing: staging refuses a fenced generation,
	                                 * metastore_stage_splits()) */
	const char *index_id;           /* may be NULL: else records of another index are refused */
	const char *scratch_dir;        /* may be NULL: beside each segment directory */
};

/* Called with a one-line notice (a dropped generation) for stderr. */
typedef void (*packager_notice_fn)(void *ctx, const char *msg);

int packager_package(const struct packager_opts *o, json_t *split_rec, json_t **packaged,
		     struct buf *notice, struct qw_err *err);
/*
 * The qw-package loop: read records from in_fd until end of input, package
 * every `split` record, pass every other line through in order.
 */
int packager_run(const struct packager_opts *o, int in_fd, int out_fd, packager_notice_fn notice,
		 void *ctx, struct qw_err *err);

#endif
