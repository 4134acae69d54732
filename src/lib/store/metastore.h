/*
 * metastore: the record of indexes, their splits and source checkpoints.
 *
 * An interface (store/metastore_backend.h) with backends chosen by URI
 * (metastore_open_uri()). Each stores the per-index document below. The
 * file backend: one JSON file per index,
 * qwdata/indexes/<index-id>/metastore.json. Every change is
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
 *   "publish_tokens": { "<source_id>": "<current token>" },
 *   "publish_owners": { "<source_id>": {      (optional; see below)
 *        "token": "<the token it took>", "pipeline_id": "<ULID>",
 *        "pid": <pid>, "host": "<hostname>", "start_timestamp": <s>,
 *        "lease_until": <s> } }
 * }
 * The owner record says which qw-pipeline holds a source's token. It is
 * the current owner only while its "token" is the current token. A live
 * owner on this host holds the flock of <data_dir>/scratch/<pipeline_id>/lock
 * for as long as it runs, so its death is seen at once; an owner on another
 * host lives while its lease runs (it renews "lease_until", and sets it to 0
 * when it exits).
 * Returned json_t trees are new references owned by the caller.
 * Errors: EX_NOINPUT unknown index, EX_DATAERR corrupt file, EX_IOERR and
 * EX_CANTCREAT on I/O, EX_TEMPFAIL when a publish is refused (stale token,
 * checkpoint mismatch, split not staged).
 */
#ifndef QW_METASTORE_H
#define QW_METASTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "base/err.h"

#define SPLIT_STAGED "Staged"
#define SPLIT_PUBLISHED "Published"
#define SPLIT_MARKED "MarkedForDeletion"

struct metastore;

/* Called inside a transaction with the current index metadata; modify it in
 * place and return 0 to commit, -1 (with err set) to abort with no change.
 * Change a value by replacing it in its object or array (json_object_set_new,
 * json_array_append...), never a scalar in place (json_integer_set & co): a
 * backend may share scalars with the copy it compares against (PostgreSQL). */
typedef int (*metastore_tx_fn)(json_t *index_meta, void *ctx, struct qw_err *err);

/*
 * Open the metastore: the one $QW_METASTORE_URI names when it is set
 * (prog_metastore_uri() sets it from --metastore-uri, so that the
 * programs a program runs see it too), else the file metastore of the data
 * dir. data_dir (default "./qwdata", or $QW_DATA_DIR when NULL) is where
 * what stays on this machine goes whatever the backend: scratch dirs, and
 * the split files of an index without an index_uri. Does not create
 * anything until a write.
 */
struct metastore *metastore_open(const char *data_dir, struct qw_err *err);
struct s3_client;
/* metastore_open() whose s3:// backend borrows s3 (NULL: makes its own),
 * so that a warm process's searches reuse that client's connections. */
struct metastore *metastore_open_s3(const char *data_dir, struct s3_client *s3,
				    struct qw_err *err);
/* The data dir: data_dir when given (non-empty), else $QW_DATA_DIR, else
 * "./qwdata" (the rule of prog_data_dir(), which calls this). */
const char *metastore_resolve_data_dir(const char *data_dir);
/*
 * Open the metastore a URI names (Quickwit's metastore URIs):
 *   file:///abs/dir or a plain path  the file metastore of that data dir;
 *   postgresql://... or postgres://  PostgreSQL (a libpq connection URI);
 *   s3://bucket/prefix               one metastore.json per index under
 *                                    the prefix (one writer per index).
 * Another scheme is EX_USAGE. Each backend passes
 * tests/unit/metastore_contract_test.c; the database or bucket down is
 * retried a bounded time, then EX_TEMPFAIL with the server's message.
 */
struct metastore *metastore_open_uri(const char *uri, struct qw_err *err);
void metastore_close(struct metastore *ms);
const char *metastore_data_dir(const struct metastore *ms);
/* The URI (or data dir) the metastore was opened on, for messages. */
const char *metastore_uri(const struct metastore *ms);

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
/* Sets err to EX_NOINPUT "index 'ID' does not exist in data dir 'DIR' (...)",
 * the one wording for a missing index; returns -1. */
int metastore_no_index(const struct metastore *ms, const char *index_id, struct qw_err *err);

/*
 * metastore_read() for a process that keeps the document across calls (a
 * warm qw-lambda): *tag names the copy the caller holds (malloc'ed by an
 * earlier call; NULL: none). 1 with *doc (new reference, checked as
 * metastore_read's) and *tag replaced when the stored document is not
 * that copy (the old *doc released); 0 when it is (*doc untouched): for the file backend a
 * read of the file compared with the text of the copy (no parse; inode,
 * size and mtime could all come back the same), for s3:// one conditional
 * GET (If-None-Match: its ETag; 304 without a body); PostgreSQL reads.
 * -1 with err as metastore_read (EX_NOINPUT when the index is gone).
 */
int metastore_read_changed(struct metastore *ms, const char *index_id, char **tag, json_t **doc,
			   struct qw_err *err);
/* A consistent snapshot of the index metadata. */
json_t *metastore_read(struct metastore *ms, const char *index_id, struct qw_err *err);
/*
 * metastore_read() for a reader that wants the splits only as
 * metastore_split_records() gives them (a search): the same document and
 * the same errors, but each split record keeps only split_state,
 * publish_token, update_timestamp, publish_timestamp and of its metadata
 * num_docs, uncompressed_docs_size_in_bytes, split_size_bytes, time_range,
 * tags, create_timestamp and delete_opstamp. For the file backend it skips
 * the tree of everything else (the bulk of a document of many splits: a
 * third of the instructions of a search over 100 splits); the other
 * backends read the whole document. Never write such a document back.
 */
json_t *metastore_read_splits_view(struct metastore *ms, const char *index_id,
				   struct qw_err *err);
/* The index config, parsed. */
struct index_config *metastore_index_config(struct metastore *ms, const char *index_id,
					    struct qw_err *err);
/* The same from an index document (metastore_read() or a snapshot). */
struct index_config *metastore_doc_config(json_t *index_meta, const char *index_id,
					  struct qw_err *err);

/*
 * An index snapshot: index_id's document as it stands, without its split
 * records, written atomically to path. qw-pipeline writes one for each
 * generation right after it takes the source's publish token, and gives it
 * to the stages that only read the index (qw-parse, qw-index, qw-package,
 * option --index-snapshot): they take their config, index_uid and
 * checkpoint from it instead of each opening the metastore, which for
 * PostgreSQL is a connection (a process start and 5-8 ms of the server's
 * CPU) per stage and generation. Taken after the token, the snapshot's
 * checkpoint is the one the generation must resume from: only a holder of
 * that token can move it.
 */
int metastore_write_snapshot(struct metastore *ms, const char *index_id, const char *path,
			     struct qw_err *err);
/* A snapshot read back: NULL with EX_NOINPUT when path is missing, EX_DATAERR
 * when it is not an index document (metastore_check_doc()) or not index_id's. */
json_t *metastore_load_snapshot(const char *path, const char *index_id, struct qw_err *err);
int metastore_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
		     struct qw_err *err);

/* Take a new publish token for (index, source): every older token is fenced
 * (by hand, qw-publish --new-token: the token has no owner record). */
char *metastore_new_publish_token(struct metastore *ms, const char *index_id,
				  const char *source_id, struct qw_err *err);

/* Who takes a token (the owner record, see above). */
struct metastore_owner {
	const char *pipeline_id;   /* a ULID */
	long pid;
	const char *host;
	int64_t start_timestamp;   /* wall s */
	int64_t lease_until;       /* wall s */
};

enum metastore_take {
	TAKE_FIRST,  /* refused while another owner lives */
	TAKE_NEXT,   /* a restarted generation: only while prev_token is current */
	TAKE_OVER,   /* always: the current owner is fenced on purpose */
};

/*
 * Take a new publish token for (index, source) as owner me, in one
 * transaction with the check of how. Refused (EX_TEMPFAIL, the owner named:
 * "source 'S' of index 'I' is owned by pipeline ...") for TAKE_FIRST while
 * another owner lives, for TAKE_NEXT when prev_token is not the current
 * token any more ("fenced: ..."). *fenced (may be NULL) gets a description
 * of the live owner fenced by TAKE_OVER, NULL when none (free it).
 */
char *metastore_take_publish_token(struct metastore *ms, const char *index_id,
				   const char *source_id, const struct metastore_owner *me,
				   enum metastore_take how, const char *prev_token,
				   char **fenced, struct qw_err *err);
/* Read only: 0 while token is the current token of the source, else -1 with
 * EX_TEMPFAIL "fenced: ..." naming who holds the current one. */
int metastore_check_publish_token(struct metastore *ms, const char *index_id,
				  const char *source_id, const char *token, struct qw_err *err);
/* Renew the lease of the owner of token (lease_until; 0 when it exits: the
 * record stays, to name who fenced a late publish, but is dead); refused
 * as metastore_check_publish_token when token is not current. */
int metastore_renew_owner(struct metastore *ms, const char *index_id, const char *source_id,
			  const char *token, int64_t lease_until, struct qw_err *err);
/* "pipeline ULID (pid N on host 'H', started T)" for the owner record of
 * source in an index document, or "no pipeline (a token taken by hand)"
 * when the current token has no owner record; appended to b. */
void metastore_describe_owner(json_t *index_meta, const char *source_id, struct buf *b);
/* Record splits as Staged (metadata objects with "split_id"), with token.
 * A split whose metadata names its "source_id" is refused (EX_TEMPFAIL,
 * "fenced by ...", nothing changed) when token is not that source's current
 * token: a generation fenced before it stages stores nothing. One fenced
 * after (while its upload runs) has its publish refused, and qw-gc
 * removes the staged splits it leaves. */
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
/*
 * Mark those of the splits that are not Published for deletion, in one
 * transaction: a Staged split becomes MarkedForDeletion (update_timestamp
 * now), a split already marked stays as it is. A split that was published
 * meanwhile, or that is gone, is left alone. marked[i] (n entries) says
 * whether split_ids[i] is marked when the call returns: only those may have
 * their files deleted. For a collector that decided from an older snapshot.
 */
int metastore_mark_unpublished_for_deletion(struct metastore *ms, const char *index_id,
					    const char *const *split_ids, size_t n, bool *marked,
					    struct qw_err *err);
/* Remove split records (and their files) entirely. */
int metastore_delete_splits(struct metastore *ms, const char *index_id,
			    const char *const *split_ids, size_t n, struct qw_err *err);
/* ------------------------------------------------------------ split records */

/* A split's state, as a bit so that a set of states is a mask. */
enum split_state {
	SPLIT_STATE_STAGED = 1u << 0,
	SPLIT_STATE_PUBLISHED = 1u << 1,
	SPLIT_STATE_MARKED = 1u << 2,
	/* A state this version does not know (a newer writer's, or damage):
	 * listed when asked for, so that its file is never taken for an orphan. */
	SPLIT_STATE_OTHER = 1u << 3,
};
#define SPLIT_STATES_ALL (SPLIT_STATE_STAGED | SPLIT_STATE_PUBLISHED | SPLIT_STATE_MARKED | \
			  SPLIT_STATE_OTHER)

/* SPLIT_STAGED... for a state, NULL for anything else. */
const char *split_state_name(enum split_state state);
/* The state named (exactly), SPLIT_STATE_OTHER for any other name or NULL. */
enum split_state split_state_parse(const char *name);

/*
 * One split as the metastore records it. Optional values come with a has_
 * flag (a record staged by an older version may lack them). Strings and
 * tags are owned by the record (metastore_free_splits()).
 */
struct split_record {
	char *split_id;
	enum split_state state;
	char *publish_token;            /* the token that staged it, NULL if none */
	bool token_is_current;          /* publish_token is a source's current token */
	int64_t num_docs;
	int64_t uncompressed_docs_size_in_bytes;
	bool has_size;                  /* split_size_bytes was recorded */
	int64_t size_bytes;
	bool has_time_range;            /* [time_start, time_end], seconds */
	int64_t time_start, time_end;
	char **tags;                    /* "field:value" strings, see qw-split(5) */
	size_t n_tags;
	bool has_create_timestamp, has_update_timestamp, has_publish_timestamp;
	int64_t create_timestamp, update_timestamp, publish_timestamp;   /* wall s */
	uint64_t delete_opstamp;        /* see "delete tasks" below; 0 when absent */
};

/*
 * The splits of an index whose state is in the mask states, sorted by
 * split id, in one consistent snapshot. *recs is malloc'ed (may be NULL
 * when *n is 0).
 */
int metastore_list_splits(struct metastore *ms, const char *index_id, unsigned states,
			  struct split_record **recs, size_t *n, struct qw_err *err);
/* The same from a snapshot already read (metastore_read()), so that the
 * caller's config and splits come from one read. */
void metastore_split_records(json_t *index_meta, unsigned states, struct split_record **recs,
			     size_t *n);
void metastore_free_splits(struct split_record *recs, size_t n);

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
/* The same from an index document (metastore_read() or a snapshot). */
json_t *metastore_doc_checkpoint(json_t *index_meta, const char *source_id, json_t **heads,
				 struct qw_err *err);

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
/*
 * Create the scratch dir of owner_id (a pipeline or a merger) with its
 * "lock" file locked (flock, held for as long as the returned fd is open):
 * qw gc removes the scratch dirs whose lock it can take. The lock is taken
 * before the file gets its name, so gc never finds the unlocked lock of a
 * live owner. Returns the fd (and *dir, malloc'ed, when dir is not NULL);
 * -1 with err set.
 */
int metastore_lock_scratch(struct metastore *ms, const char *owner_id, char **dir,
			   struct qw_err *err);

/* ------------------------------------------------------------ delete tasks */

/*
 * Delete tasks, as Quickwit's. The index document holds
 *   "delete_tasks": [ {"create_timestamp": <s>, "opstamp": <n>,
 *        "delete_query": {"index_uid", "query": "<query string>",
 *             "search_fields": [default search fields when created],
 *             "start_timestamp": <s or null>, "end_timestamp": <s or null>}} ]
 *        (opstamp order; opstamps 1, 2, ... never reused)
 *   "last_delete_opstamp": <n>   (0, or absent, when none was ever created)
 * and every split's metadata a "delete_opstamp": the tasks up to it are
 * applied to its documents (or do not concern them). The rule, one place:
 * metastore_publish_splits() sets delete_opstamp to last_delete_opstamp in
 * the publish transaction, so a task concerns exactly the documents
 * published before it; a split whose delete_opstamp is below a task's
 * opstamp still holds documents the task hides (search) until a merge or
 * a delete pass rewrites it (qw-merge) with the new delete_opstamp.
 * start_timestamp is inclusive, end_timestamp exclusive, as in search.
 * A backend stores the same records; the calls below are its contract.
 */
struct delete_query {
	const char *query;                 /* checked by the caller (search.h) */
	const char *const *search_fields;  /* for unfielded terms */
	size_t n_search_fields;
	bool has_start, has_end;
	int64_t start_timestamp, end_timestamp;   /* seconds */
};

/* Append a task with the next opstamp, in one transaction; *task (may be
 * NULL) gets it (new reference). */
int metastore_create_delete_task(struct metastore *ms, const char *index_id,
				 const struct delete_query *q, json_t **task, struct qw_err *err);
/* The tasks of an index in opstamp order (new reference: an array). */
json_t *metastore_list_delete_tasks(struct metastore *ms, const char *index_id,
				    struct qw_err *err);
/* The same from a snapshot (borrowed; an empty array is returned as NULL). */
json_t *metastore_delete_tasks_doc(json_t *index_meta);
/* last_delete_opstamp of a snapshot (0 when none). */
uint64_t metastore_last_delete_opstamp(json_t *index_meta);
/* delete_opstamp of a split's metadata object (0 when absent). */
uint64_t metastore_split_delete_opstamp(json_t *split_metadata);
/*
 * Raise the delete_opstamp of a Published split to opstamp (never lowers
 * it), for a delete pass that found none of the split's documents
 * concerned. EX_TEMPFAIL, no change, when the split is not Published.
 */
int metastore_raise_delete_opstamp(struct metastore *ms, const char *index_id,
				   const char *split_id, uint64_t opstamp, struct qw_err *err);

#endif
