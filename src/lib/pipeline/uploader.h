/*
 * uploader: the library side of qw-upload (uploader + sequencer).
 *
 * uploader_run() reads `packaged` records from in_fd. For each record it
 * first stages all its splits in the metastore (Staged, with the record's
 * publish token) — before a single byte is stored, so a crash leaves a
 * record that garbage collection can find — then stores every split file
 * under the index's storage (storage.h; the scratch file is moved, so it
 * is gone after a successful upload), with at most max_concurrent uploads
 * in flight (one thread each). It writes one `uploaded` record per
 * `packaged` record to out_fd, in arrival order even when uploads finish
 * out of order: the record is the packaged one with "type":"uploaded" and
 * each split's "path" replaced by its storage "uri". Other control records
 * pass through in order; a document line is a data error.
 *
 * Test knobs (read only by a build configured with --enable-test-knobs,
 * implied by --enable-sanitizers; a release build ignores them):
 * QW_TEST_UPLOAD_DELAY_MS="a,b,c" delays the 1st, 2nd, 3rd...
 * upload (in the order they start) by that many real milliseconds; a
 * single value delays every upload.
 * Test knob: QW_TEST_UPLOAD_HOLD=PATH holds every upload but the first
 * (in start order) while PATH exists, so that a test can keep a chain busy
 * for as long as it needs, then release it by removing PATH.
 * With verbose, each finished upload is logged on stderr as
 * "PROG: uploaded SPLIT_ID" in completion order.
 *
 * Returns 0 at end of input once every upload is done and emitted; on
 * error waits for the uploads in flight, then returns -1 with err set.
 */
#ifndef QW_UPLOADER_H
#define QW_UPLOADER_H

#include <stdbool.h>

#include "base/err.h"
#include "pipeline/stage_target.h"

struct uploader_opts {
	struct stage_target target; /* what a record that does not say acts on */
	unsigned max_concurrent;    /* uploads in flight, >= 1 */
	bool verbose;
	const char *prog;           /* prefix of verbose lines */
};

int uploader_run(const struct uploader_opts *o, int in_fd, int out_fd, struct qw_err *err);

#endif
