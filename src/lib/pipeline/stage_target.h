/*
 * stage_target: what the two metastore stages (qw-upload and qw-publish)
 * act on when a record does not say: the data directory, the index, the
 * source and the publish token. The strings are borrowed: the caller owns
 * them and keeps them alive while a stage runs.
 *
 * stage_target_open() opens the target's metastore and, when the target
 * names an index, checks it before any input is read (an empty input must
 * not hide a wrong --index). It returns the metastore (the caller closes it
 * with metastore_close()) or NULL with err set: EX_USAGE for an invalid
 * index id, the metastore's code when it cannot be opened or the index does
 * not exist. Thread safety: none needed, nothing is shared.
 */
#ifndef QW_STAGE_TARGET_H
#define QW_STAGE_TARGET_H

#include "base/err.h"

struct metastore;

struct stage_target {
	const char *data_dir;       /* NULL: $QW_DATA_DIR or ./qwdata */
	const char *index_id;       /* used when a record carries no "index" */
	const char *source_id;      /* used when a record carries no "source" */
	const char *publish_token;  /* used when a record carries no "publish_token" */
};

struct metastore *stage_target_open(const struct stage_target *t, struct qw_err *err);

#endif
