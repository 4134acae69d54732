/*
 * split_bundle: bundle a serialized segment directory into one .split file
 * (format: man/qw-split.5).
 *
 * segment_serialize() (segment.h) leaves in a scratch directory one file
 * per section ("terms", "postings", "positions", "fast", "docstore"), the
 * binary "hotcache" and "segment.json" (num_docs, uncompressed size, time
 * range, tags, fields). split_bundle() concatenates the sections, appends
 * the footer (split_footer.c: hotcache, metadata JSON, section table
 * with a CRC32C per section, trailer with length, version and magic) and writes the result
 * to out_path atomically (temp file, fsync, rename, fsync of the
 * directory); on failure out_path is untouched and the temp is removed.
 *
 * extra (may be NULL): a JSON object merged into the footer metadata
 * (split_id, index_uid, source_id, partition_id, doc_mapping_uid,
 * create_timestamp, ...; keys of extra win). When meta_out is not NULL it
 * receives a new reference to the final metadata plus "footer_offsets"
 * {"start", "end"} and "split_size_bytes" (these two are not stored in
 * the file). Reentrant.
 */
#ifndef QW_SPLIT_BUNDLE_H
#define QW_SPLIT_BUNDLE_H

#include <jansson.h>

#include "base/err.h"

int split_bundle(const char *segment_dir, const char *out_path, json_t *extra,
		 json_t **meta_out, struct qw_err *err);

#endif
