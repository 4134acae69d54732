/*
 * metastore_backend: what a metastore backend implements (internal to
 * store/; the public calls are in metastore.h).
 *
 * Every backend stores the same per-index document (metastore.h) and
 * keeps its contract (tests/unit/metastore_contract_test.c). The calls of
 * metastore.c check ids and build the transactions (publish, stage, mark,
 * tokens, checkpoints) as functions over the document; a backend only
 * reads, creates, removes and updates documents, so a rule lives in one
 * place whatever the backend (the fn a backend's update() gets already
 * checks the changed document's shape: metastore.c wraps every one).
 * update() runs fn in one transaction: it sees the latest committed
 * document and its change is committed whole or not at all; two writers never lose an update. A backend may run fn
 * again after a retryable failure (a lost connection before the commit, a
 * serialization failure): fn must start from its ctx's inputs each time.
 *
 * Delete tasks (store/metastore_delete_tasks.c) live in the index document
 * like everything else, so they need no op of their own; a backend that
 * wants them in a table of their own adds its ops in the slot below.
 */
#ifndef QW_METASTORE_BACKEND_H
#define QW_METASTORE_BACKEND_H

#include "store/metastore.h"

struct metastore_ops {
	/* The index document, checked for shape. */
	json_t *(*read)(struct metastore *ms, const char *index_id, struct qw_err *err);
	/*
	 * The document only when it changed since the copy *tag names (a
	 * validator this op made, malloc'ed; NULL: none): 1 with *doc (new
	 * reference, the old one released) and a new *tag, 0 when unchanged (*doc untouched), -1.
	 * It must cost less than read() when unchanged (no parse: a compare of
	 * the text, one conditional request). NULL: metastore_read_changed() reads.
	 */
	int (*read_changed)(struct metastore *ms, const char *index_id, char **tag, json_t **doc,
			    struct qw_err *err);
	/* Create (or replace when overwrite) the index with doc. */
	int (*create)(struct metastore *ms, const char *index_id, json_t *doc, bool overwrite,
		      struct qw_err *err);
	int (*remove)(struct metastore *ms, const char *index_id, struct qw_err *err);
	int (*update)(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
		      struct qw_err *err);
	/* Sorted index ids. */
	int (*list)(struct metastore *ms, char ***ids, size_t *n, struct qw_err *err);
	bool (*exists)(struct metastore *ms, const char *index_id);
	/* Free the backend's state (ms->be); NULL when it has none. */
	void (*close)(struct metastore *ms);
	/* Slot: delete-task ops, for a backend that keeps them outside the
	 * document (none does yet). */
};

struct metastore {
	char *data_dir;     /* local: scratch dirs, default split dirs, the file backend */
	char *uri;          /* the metastore URI as given, for messages */
	const struct metastore_ops *ops;
	void *be;           /* the backend's state */
};

/* The backends other than the data dir's files; each returns 0 and sets
 * ms->ops and ms->be, or -1 with err set. */
int metastore_pg_open(struct metastore *ms, const char *uri, struct qw_err *err);
/* client: borrowed (NULL: the backend makes its own and frees it) */
int metastore_s3_open(struct metastore *ms, const char *uri, struct s3_client *client,
		      struct qw_err *err);

/* Shared with the backends (metastore.c). */
/* Check the shape of an index document; EX_DATAERR naming where. */
int metastore_check_doc(json_t *doc, const char *where, struct qw_err *err);
/* An index document from its stored JSON text, checked (metastore_check_doc);
 * NULL with EX_DATAERR naming where when it is not one. */
json_t *metastore_parse_doc(const char *text, size_t len, const char *where, struct qw_err *err);
/* The same document with its split records cut to what
 * metastore_split_records() reads (metastore_read_splits_view()); the same
 * errors, since any text its fast reader does not take goes to
 * metastore_parse_doc() (metastore_splits.c). */
json_t *metastore_parse_splits_view(const char *text, size_t len, const char *where,
				    struct qw_err *err);
/* A read_changed op's new copy: *doc released and replaced by fresh, *tag
 * freed and replaced by new_tag (taken; NULL: none). Returns 1. */
int metastore_replace_copy(json_t **doc, json_t *fresh, char **tag, char *new_tag);
/* Remove the split files that doc's records name, where doc's index_uri
 * says, for an index_uri outside the index dir (the default one goes with
 * the dir, removed by the caller). */
int metastore_remove_external_splits(const struct metastore *ms, const char *index_id,
				     json_t *doc, struct qw_err *err);
/* Remove the default split dir and index dir of index_id in the data dir
 * (the local leftovers of the file layout; missing is fine). */
int metastore_remove_local_dir(const struct metastore *ms, const char *index_id,
			       struct qw_err *err);
/*
 * The write lock of index_id in the data dir (DIR/indexes/ID/metastore.lock,
 * flock()ed), which the backends that keep an index's document as one
 * object (file, s3:// file) hold around every change. create: make the
 * index directory first. The locked fd (close() releases it), or -1
 * (EX_NOINPUT, metastore_no_index(), when the directory is missing and
 * !create).
 */
int metastore_lock_index(struct metastore *ms, const char *index_id, bool create,
			 struct qw_err *err);
/*
 * The update of those backends: under the lock (created with the index
 * directory when lock_create), load the document, run fn over it, save it.
 * load says why it fails (metastore_no_index() for a missing index).
 */
struct metastore_doc_io {
	bool lock_create;
	json_t *(*load)(struct metastore *ms, const char *index_id, struct qw_err *err);
	int (*save)(struct metastore *ms, const char *index_id, json_t *doc, struct qw_err *err);
};
int metastore_update_locked(struct metastore *ms, const struct metastore_doc_io *io,
			    const char *index_id, metastore_tx_fn fn, void *ctx,
			    struct qw_err *err);
/* Make the split dirs doc needs (the default one and a file:// index_uri). */
int metastore_make_split_dirs(const struct metastore *ms, const char *index_id, json_t *doc,
			      struct qw_err *err);

#endif
