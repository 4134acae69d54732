/*
 * split_merge: write one split from N (qw-merge's executor), section by
 * section through split_encode.h, never re-indexing the documents.
 *
 * The sources' doc ids are concatenated in source order with the deleted
 * docs dropped and the ids compacted: source k's alive doc d becomes
 * (alive docs of the sources before k) + (alive docs of k before d).
 * Per field (the union of the sources' (path, kind) fields, hotcache
 * order): the term dictionaries are merged in memcmp order, a term's
 * postings (and positions) are the sources' lists one after the other
 * with ids remapped, terms left without docs dropped; field norms and
 * fast columns are concatenated (dictionary columns get the union of the
 * sources' dictionaries, their ordinals remapped). Doc store blocks
 * without a deleted doc are copied as they are stored; the others are
 * decompressed and their alive docs compressed again.
 *
 * Memory: one term's postings and positions, one field's column (12
 * bytes a value plus its dictionary) and norms (one byte a doc), one doc
 * store block per source, 4 bytes a doc of the sources with deleted docs
 * (their id maps) and the encoder's dedup table (bounded, split_encode.h):
 * not the sum of the sources.
 *
 * Metadata written in segment.json: num_docs, time range (from the
 * timestamp column over the alive docs), tags recomputed from the merged
 * dictionaries (split_tags.h), uncompressed size (the sources' sum, minus
 * the stored length of each deleted doc). What cannot be exact after
 * deletes, as in tantivy's merger: a text field's total tokens counts the
 * alive docs' term frequencies (docs for record: basic), and its docs
 * with a value counts the alive docs with a term or a fast value.
 *
 * Returns 0 when written, 1 when the sources cannot be merged this way
 * (the same (path, kind) with different options: err says why, the
 * caller falls back), -1 on an error.
 */
#ifndef QW_SPLIT_MERGE_H
#define QW_SPLIT_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "mapping/config.h"
#include "split/split_reader.h"

struct split_merge_src {
	struct split_reader *r;
	const uint8_t *deleted;      /* num_docs flags (1: drop), or NULL */
};

struct split_merge_stats {
	uint32_t num_docs;           /* documents written */
	uint64_t uncompressed;       /* uncompressed_docs_size_in_bytes */
	uint64_t blocks_copied;      /* doc store blocks copied as stored */
	uint64_t blocks_rewritten;   /* doc store blocks with deleted docs, compressed again */
};

int split_merge(const struct index_config *cfg, const struct split_merge_src *src, size_t n,
		const char *dir, struct split_merge_stats *st, struct qw_err *err);

#endif
