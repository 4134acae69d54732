/*
 * segment: the in-memory index of one split being built (qw-index).
 *
 * segment_add_values() indexes one document from its values (see
 * docmap.h): each goes to the field's term dictionary and postings (when
 * indexed), its fast-field column (when fast) and the document's stored
 * text is appended to the doc store.
 * Doc ids are assigned 0, 1, 2... in the order of addition.
 *
 * segment_mem_bytes() is the memory the segment holds, checked against the
 * heap_size budget by qw-index after every document (the memory trigger).
 *
 * segment_serialize() writes the segment's sections into an empty scratch
 * directory (one file per section plus "segment.json" describing them);
 * split_bundle() (split_bundle.h) then turns that directory into one
 * .split file. After serialize the segment may only be freed.
 * Not thread-safe: one segment per thread.
 */
#ifndef QW_SEGMENT_H
#define QW_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mapping/config.h"
#include "mapping/docmap.h"
#include "base/err.h"

struct segment;

struct segment *segment_new(const struct index_config *cfg);
void segment_free(struct segment *seg);
/*
 * Add one document: its values as docmap_scan_line() or docmap_collect()
 * give them (the segment never reads a document itself), the text to store
 * (the canonical line, or docmap_stored_text() when some fields are not
 * stored) and doc_len, the canonical line's length (the split's
 * uncompressed size and _doc_length count it).
 */
int segment_add_values(struct segment *seg, const struct docmap_values *dv, const char *stored,
		       size_t stored_len, size_t doc_len, struct qw_err *err);
/*
 * Compress the doc store's blocks in a worker thread of the segment (started
 * at the first full block, one block in flight, the same bytes as inline
 * compression), so that indexing goes on meanwhile. Call before the first
 * document; the segment's functions are still called from one thread.
 * Silently stays inline when the thread cannot be set up.
 */
void segment_compress_in_background(struct segment *seg);
uint32_t segment_num_docs(const struct segment *seg);
size_t segment_mem_bytes(const struct segment *seg);
/* Sum of the lengths of the documents added (the split's uncompressed size). */
uint64_t segment_uncompressed_bytes(const struct segment *seg);
/* Min and max of the timestamp field; false when there is none or no doc. */
bool segment_time_range(const struct segment *seg, int64_t *min_us, int64_t *max_us);
/*
 * Tags as Quickwit computes them for the config's tag_fields: for each tag
 * field always "field!" (the field is a tag field), plus "field:value" for
 * every distinct indexed term of the field when there are at most 1000 of
 * them (none when there are more). See qw-split(5).
 * Returns a new sorted JSON array of strings.
 */
json_t *segment_tags(const struct segment *seg);
int segment_serialize(struct segment *seg, const char *dir, struct qw_err *err);

#endif
