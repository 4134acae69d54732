/*
 * admin: what the `qw` front end reports about indexes and splits, as JSON
 * with stable keys (see qw(1)); qw.c only parses options and prints.
 *
 * Built on the metastore's records (metastore_split_records()) and on
 * split_reader_describe(); returned trees are new references owned by the
 * caller. Errors as metastore.h.
 */
#ifndef QW_ADMIN_H
#define QW_ADMIN_H

#include <stdbool.h>

#include <jansson.h>

#include "base/err.h"
#include "store/metastore.h"

/*
 * The summary of one index: index_id, index_uid, index_uri (the default
 * one when the config has none), create_timestamp, timestamp_field,
 * num_{published,staged,marked}_splits, num_published_docs,
 * size_published_splits, size_published_docs_uncompressed,
 * timestamp_range ({start, end} over the published splits, or null) and
 * checkpoints.
 */
json_t *admin_index_summary(struct metastore *ms, const char *index_id, struct qw_err *err);

/* A --state list ("staged,published,marked", any case; also
 * MarkedForDeletion or marked_for_deletion) as a mask of enum split_state;
 * NULL gives 0 (no filter). */
int admin_parse_states(const char *list, unsigned *states, struct qw_err *err);

/*
 * The splits of an index whose state is in states (0: every split), sorted
 * by id: [{split_id, split_state, num_docs, size_bytes,
 * uncompressed_docs_size_in_bytes, time_range, create_timestamp,
 * update_timestamp, publish_timestamp}].
 */
json_t *admin_split_list(struct metastore *ms, const char *index_id, unsigned states,
			 struct qw_err *err);

/*
 * split_reader_describe() of a split: of split_id in index_id (checked,
 * EX_NOINPUT when the index has no such split; split_state added), or of
 * the file at path arg when index_id is NULL. verified is set when verify.
 */
json_t *admin_split_describe(struct metastore *ms, const char *index_id, const char *arg,
			     bool verify, struct qw_err *err);

/*
 * A qw-pipeline status file (man/qw-pipeline.1, "Status"): read from path
 * and checked to be an object whose "stages", when present, is an array of
 * objects, each with a string "stage" and the integer counters docs_in,
 * docs_out, bytes_in, bytes_out, wait_input_us, blocked_output_us.
 * *raw (when not NULL) gets the file's bytes as they are (free()). Errors:
 * EX_NOINPUT when the file cannot be opened, EX_DATAERR when it is not
 * such JSON, EX_IOERR on a read error.
 */
json_t *admin_pipeline_status(const char *path, char **raw, struct qw_err *err);
/*
 * The status file of index_id's pipeline for source_id on this machine
 * (prog_status_file()), or, with source_id NULL, of its only one: *path
 * gets it (free()). Errors: EX_USAGE when the index has run pipelines for
 * several sources (the message names them: give --source), EX_NOINPUT
 * when none has run here (no such file), EX_IOERR when the folder cannot
 * be read.
 */
int admin_find_status_file(const char *data_dir, const char *index_id, const char *source_id,
			   char **path, struct qw_err *err);

#endif
