/*
 * metastore: the record of indexes, their splits and source checkpoints.
 *
 * An interface (struct metastore_ops) with one backend for now: one JSON
 * file per index, qwdata/indexes/<index-id>/metastore.json. Every change is
 * one transaction: flock the file, read it, modify the tree, write a temp
 * file, fsync, rename, fsync the directory, unlock. Readers never see a
 * half-written file and concurrent writers never lose an update. A file
 * that is truncated or not JSON is reported (EX_DATAERR) and never
 * overwritten.
 *
 * The per-index document (the "index metadata"):
 * {
 *   "format_version": 1,
 *   "index_uid": "<index_id>:<ULID>",
 *   "create_timestamp": <unix seconds>,
 *   "index_config": { full config, defaults filled: config_to_json() },
 *   "splits": { "<split_id>": {
 *        "split_state": "Staged" | "Published" | "MarkedForDeletion",
 *        "update_timestamp": <s>, "publish_timestamp": <s or null>,
 *        "publish_token": "<token that staged it>",
 *        "metadata": { split metadata, see qw-split(5) } } },
 *   "checkpoints": { "<source_id>": { "<partition_id>": <position u64> } },
 *   "checkpoint_heads": { "<source_id>": { "<partition_id>": "<head>" } },
 *        (optional: the "head" fingerprint of the last published checkpoint
 *        delta of the partition, see qw-protocol(7); opaque here)
 *   "publish_tokens": { "<source_id>": "<current token>" }
 * }
 * Returned json_t trees are new references owned by the caller.
 * Errors: EX_NOINPUT unknown index, EX_DATAERR corrupt file, EX_IOERR and
 * EX_CANTCREAT on I/O, EX_TEMPFAIL when a publish is refused (stale token,
 * checkpoint mismatch, split not staged).
 */
#ifndef QW_METASTORE_H
#define QW_METASTORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "err.h"

#define SPLIT_STAGED "Staged"
#define SPLIT_PUBLISHED "Published"
#define SPLIT_MARKED "MarkedForDeletion"

struct metastore;

/* Called inside a transaction with the current index metadata; modify it in
 * place and return 0 to commit, -1 (with err set) to abort with no change. */
typedef int (*metastore_tx_fn)(json_t *index_meta, void *ctx, struct qw_err *err);

/* Open the metastore of a data dir (default "./qwdata", or $QW_DATA_DIR when
 * data_dir is NULL). Does not create anything until a write. */
struct metastore *metastore_open(const char *data_dir, struct qw_err *err);
void metastore_close(struct metastore *ms);
const char *metastore_data_dir(const struct metastore *ms);

int metastore_create_index(struct metastore *ms, const struct index_config *cfg, bool overwrite,
			   struct qw_err *err);
/* Deletes the metadata and the split files. */
int metastore_delete_index(struct metastore *ms, const char *index_id, struct qw_err *err);
/* Removes every split (files too) and checkpoint; keeps the config. */
int metastore_clear_index(struct metastore *ms, const char *index_id, struct qw_err *err);
/* Sorted list of index ids. */
int metastore_list_indexes(struct metastore *ms, char ***ids, size_t *n, struct qw_err *err);
void metastore_free_list(char **ids, size_t n);
bool metastore_index_exists(struct metastore *ms, const char *index_id);

/* A consistent snapshot of the index metadata. */
json_t *metastore_read(struct metastore *ms, const char *index_id, struct qw_err *err);
/* The index config, parsed. */
struct index_config *metastore_index_config(struct metastore *ms, const char *index_id,
					    struct qw_err *err);
int metastore_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
		     struct qw_err *err);

/* Take a new publish token for (index, source): every older token is fenced. */
char *metastore_new_publish_token(struct metastore *ms, const char *index_id,
				  const char *source_id, struct qw_err *err);
/* Record splits as Staged (metadata objects with "split_id"), with token. */
int metastore_stage_splits(struct metastore *ms, const char *index_id, const char *token,
			   json_t *split_metas, struct qw_err *err);
/*
 * One transaction: check that token is the source's current token, move the
 * splits from Staged to Published and apply the checkpoint delta
 * {"<partition>": {"from": N, "to": M}, ...} only if every "from" equals the
 * stored position (0 when absent). Anything wrong: EX_TEMPFAIL, no change.
 * A delta entry with a "head" string also records it in "checkpoint_heads".
 */
int metastore_publish_splits(struct metastore *ms, const char *index_id, const char *source_id,
			     const char *token, const char *const *split_ids, size_t n_splits,
			     json_t *checkpoint_delta, struct qw_err *err);
int metastore_mark_splits_for_deletion(struct metastore *ms, const char *index_id,
				       const char *const *split_ids, size_t n, struct qw_err *err);
/* Remove split records (and their files) entirely. */
int metastore_delete_splits(struct metastore *ms, const char *index_id,
			    const char *const *split_ids, size_t n, struct qw_err *err);
/* Checkpoint of one source: {"<partition>": position}; an empty object when none. */
json_t *metastore_checkpoint(struct metastore *ms, const char *index_id, const char *source_id,
			     struct qw_err *err);
/* Heads of one source: {"<partition>": "<head>"}; an empty object when none. */
json_t *metastore_checkpoint_heads(struct metastore *ms, const char *index_id,
				   const char *source_id, struct qw_err *err);

/* Both of the above from one read of the metadata (a consistent pair, never
 * from either side of a publish): returns the positions and sets *heads. */
json_t *metastore_checkpoint_with_heads(struct metastore *ms, const char *index_id,
					const char *source_id, json_t **heads, struct qw_err *err);

/* Paths (malloc'ed); index_id must have passed ids_check_index(). */
char *metastore_index_dir(const struct metastore *ms, const char *index_id);
/* Where an index's split files live: the path of its index_uri (a
 * file:// URI, checked at index create) or <index dir>/splits. doc is the
 * index's metadata (metastore_read()); NULL means the default. */
char *metastore_splits_dir(const struct metastore *ms, const char *index_id, json_t *doc);
char *metastore_split_path_doc(const struct metastore *ms, const char *index_id, json_t *doc,
			       const char *split_id);
/* The same, reading the metadata (use the _doc form when it is at hand). */
char *metastore_split_path(struct metastore *ms, const char *index_id, const char *split_id);
char *metastore_scratch_dir(const struct metastore *ms, const char *pipeline_id);

#endif
