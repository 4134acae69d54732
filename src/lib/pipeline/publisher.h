/*
 * publisher: the library side of qw-publish.
 *
 * publisher_run() reads `uploaded` records from in_fd and, for each, makes
 * one metastore transaction (metastore_publish_splits): the record's
 * publish token must be the source's current token, its splits move from
 * Staged to Published, and its checkpoint delta is applied only when every
 * "from" equals the stored position. A refused publish stops the run with
 * EX_TEMPFAIL and changes nothing. For each publish it writes
 *   {"type":"published","index":I,"source":S,"split_ids":[..],
 *    "checkpoint_delta":{..},"num_docs":N}
 * (num_docs: sum of the splits' metadata "num_docs"; the uploaded record's
 * "trigger" and "docs_invalid" when present) to out_fd, flushed at
 * once so a supervisor sees progress. Other control records pass through;
 * a document line is a data error.
 */
#ifndef QW_PUBLISHER_H
#define QW_PUBLISHER_H

#include "base/err.h"
#include "pipeline/stage_target.h"

struct publisher_opts {
	struct stage_target target; /* what a record that does not say acts on */
};

int publisher_run(const struct publisher_opts *o, int in_fd, int out_fd, struct qw_err *err);

#endif
