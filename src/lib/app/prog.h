/*
 * prog: what every qw program's main() shares.
 *
 * prog_version() prints "NAME (qw) VERSION". prog_finish() flushes stdout
 * and checks it (ENOSPC or EPIPE on stdout is an error, as in jq and
 * zstd) and returns the exit code to use. prog_parse_u64()/prog_parse_i64()
 * are strtoull/strtoll with range and trailing-garbage checks, for options.
 */
#ifndef QW_PROG_H
#define QW_PROG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/err.h"

void prog_version(const char *prog);
int prog_finish(const char *prog, int code);
/*
 * The end of every main's getopt switch: for 'h' prints usage to stdout,
 * for 'V' the version, and returns prog_finish(prog, 0); for anything else
 * prints usage to stderr and returns EX_USAGE. The caller returns it.
 */
int prog_getopt_tail(const char *prog, int opt, void (*usage)(FILE *out));
int prog_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out,
		   struct qw_err *err);
int prog_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out,
		   struct qw_err *err);
/*
 * A time option (--start-timestamp, --end-timestamp) in unix seconds: given
 * as unix seconds, an RFC 3339 datetime (2026-03-27T13:00:00Z; a fraction
 * rounds down) or an ISO 8601 date (2026-03-27: its midnight UTC).
 * EX_USAGE naming the three forms otherwise.
 */
int prog_parse_timestamp(const char *opt, const char *s, int64_t *out, struct qw_err *err);
/* The data dir: the option when given, else $QW_DATA_DIR, else "./qwdata". */
const char *prog_data_dir(const char *opt);
/*
 * Where qw-pipeline writes its status when not given --status-file, and
 * where `qw pipeline status --index ID` reads it: the status files of an
 * index's pipelines are DATA_DIR/pipelines/INDEX_ID/SOURCE_ID.status.json
 * (the data dir is each machine's own, so these are this machine's runs).
 * prog_status_dir() is the folder, prog_status_file() one source's file.
 * The ids must have passed ids_check_index()/ids_check_source(). Owned.
 */
#define PROG_STATUS_SUFFIX ".status.json"
char *prog_status_dir(const char *data_dir, const char *index_id);
char *prog_status_file(const char *data_dir, const char *index_id, const char *source_id);

/*
 * --metastore-uri URI, the same in every program that opens a metastore:
 * its getopt value, its struct option and its --help line. The option
 * sets $QW_METASTORE_URI (Quickwit's variable), which metastore_open()
 * reads, so that the programs this one runs use the same metastore.
 */
#define PROG_OPT_METASTORE_URI 0x4d55
#define PROG_METASTORE_URI_OPTION { "metastore-uri", required_argument, NULL, PROG_OPT_METASTORE_URI }
/* -1 (message printed) when the environment cannot be set. */
int prog_metastore_uri(const char *prog, const char *uri);

/*
 * The metadata of index index_id (checked with ids_check_index()) for a
 * stage that only reads it: from the snapshot file when one is given
 * (--index-snapshot FILE, metastore_write_snapshot(): no metastore is
 * opened), else read from the metastore of data_dir_opt, opened and
 * closed here. NULL with err set (metastore_read()'s or
 * metastore_load_snapshot()'s errors).
 */
#define PROG_OPT_INDEX_SNAPSHOT 0x4953
#define PROG_INDEX_SNAPSHOT_OPTION { "index-snapshot", required_argument, NULL, \
				     PROG_OPT_INDEX_SNAPSHOT }
json_t *prog_index_meta(const char *data_dir_opt, const char *index_id, const char *snapshot,
			struct qw_err *err);

#endif
