/*
 * indexer: the library side of qw-index (Quickwit's indexer + serializer).
 *
 * An indexer owns a workbench: one in-memory segment (segment.h) per index
 * partition (partition.h: the config's partition_key), at most
 * max_num_partitions of them plus one overflow partition
 * (PARTITION_OTHER_ID) that takes the documents of every further
 * partition. It also owns the checkpoint delta of the documents in the
 * workbench: the `checkpoint` records received since the last cut, merged
 * per source partition ({"from": first from, "to": last to}; a record whose
 * "from" is not the previous "to" of its partition is an error, since it
 * would lose or repeat documents).
 *
 * A cut serializes every non-empty segment into a fresh directory under the
 * scratch dir and yields ONE `split` record for the whole workbench (every
 * partition is cut together, as Quickwit flushes its whole workbench), so
 * that the checkpoint delta travels with all the splits that hold its
 * documents (man/qw-protocol.7). A cut with no document but a non-empty
 * delta yields a record with "splits": [] so that the checkpoint still
 * advances past invalid documents.
 *
 * Commit triggers (the record's "trigger"): num_docs (documents in the
 * workbench >= split_num_docs_target), memory (sum of segment_mem_bytes >=
 * heap_size), timeout (commit_timeout_secs after the first document or
 * checkpoint of the workbench, scaled clock), force (`commit` record or the
 * force flag, SIGUSR1 in qw-index), drained (documents waiting and no input
 * for drain_ms scaled ms), no_more_docs (`eof` record or end of input).
 * indexer_run() holds a cut back until the documents are covered by a
 * checkpoint record (see indexer_cut_ready()).
 *
 * Not thread-safe: one indexer per thread. The config is borrowed and must
 * outlive the indexer.
 */
#ifndef QW_INDEXER_H
#define QW_INDEXER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mapping/config.h"
#include "base/err.h"

enum indexer_trigger {
	TRIGGER_NONE = 0,
	TRIGGER_NUM_DOCS,
	TRIGGER_MEMORY,
	TRIGGER_TIMEOUT,
	TRIGGER_FORCE,
	TRIGGER_DRAINED,
	TRIGGER_NO_MORE_DOCS,
};

struct indexer_opts {
	const struct index_config *cfg; /* borrowed */
	const char *index_id;           /* NULL: cfg->index_id */
	const char *source_id;          /* NULL: adopted from the first checkpoint record */
	const char *publish_token;      /* NULL: "publish_token": null in the records */
	const char *scratch_dir;        /* created when missing */
	int64_t drain_ms;               /* scaled ms of idle input before a drained cut; 0: never */
	size_t max_line;                /* longest document line accepted; 0: unlimited */
};

struct indexer_stats {
	uint64_t docs_valid;            /* documents indexed since the start */
	uint64_t docs_invalid;          /* documents rejected since the start */
	uint64_t splits;                /* splits serialized */
	uint64_t cuts;                  /* split records emitted */
};

struct indexer;

struct indexer *indexer_new(const struct indexer_opts *opts, struct qw_err *err);
void indexer_free(struct indexer *ix);

/*
 * Map one document line (docmap_map_line) and add it to its partition's
 * segment. The stored text is the line itself when the input is
 * checkpointed (qw-parse writes canonical lines), else the mapped document
 * in canonical form (docmap_serialize). Lines the mapping leaves unchanged
 * take the one-pass path (docmap_scan_line, no JSON tree; the same values
 * are indexed, in the same partition). Without a partition_key, the
 * segment's doc store is compressed by a second thread
 * (segment_compress_in_background).
 * A document the mapping rejects is counted, never an error.
 * *fired is set to TRIGGER_NUM_DOCS or TRIGGER_MEMORY when the workbench
 * reached a limit (the caller then cuts), TRIGGER_NONE otherwise.
 */
int indexer_add_line(struct indexer *ix, const char *line, size_t len,
		     enum indexer_trigger *fired, struct qw_err *err);
/* Count a line that was not even read as a document (too long, bad record). */
void indexer_count_invalid(struct indexer *ix);
/* Merge a `checkpoint` record into the workbench's delta (EX_DATAERR on a gap). */
int indexer_checkpoint(struct indexer *ix, json_t *rec, struct qw_err *err);
/* Documents in the workbench. */
uint64_t indexer_num_docs(const struct indexer *ix);
/* Partitions (segments) in the workbench, the overflow one included. */
size_t indexer_num_partitions(const struct indexer *ix);
/*
 * True when every document of the workbench is covered by a checkpoint
 * record, or the input is not checkpointed (no source known: no --source
 * and no checkpoint record seen). indexer_run() holds back a cut until then
 * (except no_more_docs), so that a split's documents are all covered by its
 * record's delta: a crash between two publishes then loses or repeats none.
 */
bool indexer_cut_ready(const struct indexer *ix);
/* True when a cut would emit something (documents or a checkpoint delta). */
bool indexer_pending(const struct indexer *ix);
/* Scaled clock_ms() deadline of the timeout trigger; -1 when none. */
int64_t indexer_timeout_deadline(const struct indexer *ix);
/*
 * Cut the workbench: serialize every non-empty segment and return the
 * `split` record (a new reference) in *rec, or NULL when there was nothing
 * to emit. On failure the directories made by this cut are removed.
 */
int indexer_cut(struct indexer *ix, enum indexer_trigger trigger, json_t **rec,
		struct qw_err *err);
const char *indexer_trigger_name(enum indexer_trigger t);
/* Documents taken and refused so far (qw-merge checks none was lost). */
void indexer_get_stats(const struct indexer *ix, struct indexer_stats *st);

/*
 * The qw-index loop: read the pipe protocol from in_fd (made non-blocking
 * for the duration, restored at the end), index documents, consume
 * `checkpoint` and `commit` records, pass every other control record
 * through to out_fd in order, cut on every trigger, and on `eof` (or end of
 * input) cut, pass the `eof` through and return 0. When force is not NULL,
 * SIGUSR1 is blocked outside the waits and *force (set by the caller's
 * SIGUSR1 handler) forces a cut; it is reset to 0.
 */
int indexer_run(struct indexer *ix, int in_fd, int out_fd, volatile sig_atomic_t *force,
		struct qw_err *err);

#endif
