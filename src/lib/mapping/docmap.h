/*
 * docmap: applies an index's doc mapping to one JSON document.
 *
 * docmap_map() validates a parsed document against the config (mode
 * strict/lenient/dynamic, types, coercion, datetime input formats, the
 * timestamp field, arrays, objects, json fields) and builds its canonical
 * form: the JSON that travels on the pipe and that qw-index stores.
 * Canonical form: the document as given, except
 *   - datetime values are RFC 3339 strings in UTC ("2020-06-10T02:50:56.537Z",
 *     sub-second digits only as needed), whatever input format they had;
 *   - numbers given as strings and coerced are JSON numbers;
 *   - in lenient mode, unmapped fields are dropped;
 *   - numbers and bools given for a text field are strings (nulls are kept);
 *   - integers beyond int64 (which jansson cannot hold) are accepted as
 *     Quickwit's JSON parser reads them: up to 2^64-1 they are u64 values
 *     written back digit for digit (in the tree, a string of a NUL and the
 *     digits: serialize it with docmap_serialize(), never json_dumps());
 *     beyond uint64 or below int64 they are reals. A u64 field takes them,
 *     an f64 field as reals, a text field as strings, an i64 field not.
 * Strings may hold a NUL (a "\u0000" escape; the tree's lengths say where
 * they end), except in keys and in the shape of a big integer (a NUL then
 * digits only): those documents are not_json, as are the rare ones with
 * both a big integer and a "\u0000". A string with a NUL is no number, ip
 * or datetime. The one-pass paths leave every "\u0000" to the tree path.
 * A datetime string already in that canonical form is read as RFC 3339
 * before the field's input formats are tried, so that mapping is idempotent.
 * A canonical document maps to itself (docmap_map is idempotent).
 *
 * docmap_walk() visits every indexable value of a canonical document with
 * its full dotted path and typed value, so qw-index never re-implements the
 * mapping rules. Values under a json field or unmapped in dynamic mode are
 * visited with the type inferred from JSON (string -> text, integer -> i64
 * or u64, real -> f64, bool -> bool; Quickwit infers the same way).
 *
 * The type rules (what each field type keeps, rewrites or rejects, and the
 * value it indexes) are written once, in docmap.c's leaf_rule(): the tree
 * path (docmap_map, docmap_walk), the one-pass canonical writer
 * (docmap_canonical_line) and the one-pass scan (docmap_scan_line) only
 * read tokens and ask it; tests/fuzz/docmap_fuzz checks that they agree.
 *
 * A struct docmap is read-only after docmap_new() except for its scratch
 * buffers: use one per thread.
 */
#ifndef QW_DOCMAP_H
#define QW_DOCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "base/err.h"
#include "mapping/value.h"

struct field_value {
	const char *path;                    /* full dotted path, e.g. "attributes.color" */
	size_t path_len;
	/* The mapping that governs the value: its leaf, its json field, or NULL
	 * for a dynamic field (then the config's dynamic mapping applies). */
	const struct field_mapping *mapping;
	enum value_kind kind;
	union {
		struct { const char *s; size_t len; } text;
		int64_t i64;
		uint64_t u64;
		double f64;
		bool b;
		int64_t dt_us;
		uint8_t ip[16];
		struct { const uint8_t *p; size_t len; } bytes;
	} v;
	uint32_t array_index;                /* index within an array, 0 otherwise */
};

/* Why a document was rejected: stable short codes for counters and dead letters. */
enum docmap_reason {
	DOC_OK = 0,
	DOC_NOT_JSON,        /* "not_json" */
	DOC_NOT_OBJECT,      /* "not_object" */
	DOC_WRONG_TYPE,      /* "wrong_type" */
	DOC_UNKNOWN_FIELD,   /* "unknown_field" (strict mode) */
	DOC_NO_TIMESTAMP,    /* "missing_timestamp" */
	DOC_BAD_TIMESTAMP,   /* "bad_timestamp" (unparsable datetime anywhere) */
	DOC_TOO_LONG,        /* "too_long" (set by qw-parse) */
	DOC_TOO_DEEP,        /* "too_deep" */
	DOC_NO_MATCH,        /* "no_match" (set by qw-parse: a plain line its --pattern does not match) */
	DOC_REASON_COUNT,
};

typedef int (*docmap_visit_fn)(void *ctx, const struct field_value *fv);

struct docmap;

struct docmap *docmap_new(const struct index_config *cfg);
void docmap_free(struct docmap *dm);
/*
 * Map one document. On success returns 0 and *out holds the canonical
 * document (a new reference). On rejection returns -1, *reason says why and
 * err holds a message naming the field ("field 'status': expected i64, got
 * string \"abc\"").
 */
int docmap_map(struct docmap *dm, json_t *doc, json_t **out, enum docmap_reason *reason,
	       struct qw_err *err);
/* Parse a line of JSON and map it (convenience for qw-parse/qw-index). */
int docmap_map_line(struct docmap *dm, const char *line, size_t len, json_t **out,
		    enum docmap_reason *reason, struct qw_err *err);
/* Visit every indexable value of a canonical document. Stops at the first visit returning non-zero. */
int docmap_walk(struct docmap *dm, json_t *canonical, docmap_visit_fn visit, void *ctx);
/* The document's timestamp (microseconds) when the config has a timestamp field. */
bool docmap_timestamp(struct docmap *dm, json_t *canonical, int64_t *us);
const char *docmap_reason_name(enum docmap_reason r);
/*
 * Map one line and append its canonical serialized form to out (what
 * docmap_map_line() + docmap_serialize() give, byte for byte). Lines that
 * need no tree (the common case) are transformed in one pass without
 * building one. On rejection returns -1 with *reason and err set, out unchanged.
 */
int docmap_canonical_line(struct docmap *dm, const char *line, size_t len, struct buf *out,
			  enum docmap_reason *reason, struct qw_err *err);
/*
 * The values of one document collected by docmap_scan_line(), in the order
 * docmap_walk() visits them. Zero-initialize; reuse across calls (the
 * values point into the scanned line and into this struct, valid until the
 * next call); docmap_values_free() at the end.
 */
struct docmap_values {
	struct field_value *v;
	size_t n, cap;
	bool has_ts;                 /* what docmap_timestamp() would return */
	int64_t ts_us;
	/* set by the caller: top-level keys whose JSON text to capture */
	char **cap_keys;
	size_t n_cap;
	/* out: the JSON text of each captured key's value (s NULL: absent) */
	struct docmap_span { const char *s; size_t n; } *captured;
	/* internal */
	struct docmap_fix { size_t path_off; size_t text_off; } *fix;
	size_t fix_cap;
	struct buf paths;            /* the paths of the values, one after another */
	struct buf text;             /* unescaped strings */
	struct docmap_key { const char *s; size_t n; uint32_t h; } *keys;
	size_t nkeys, keys_cap;
	/* hash of keys[] indexes for wide objects (slots of an older gen are empty) */
	struct docmap_kslot { uint32_t idx, gen; } *kslots;
	size_t kslots_cap, kslots_used;
	uint32_t kgen;
};
void docmap_values_free(struct docmap_values *dv);
/*
 * The fast path of docmap_map_line() + docmap_walk() + docmap_timestamp(),
 * for lines the mapping leaves as they are (qw-parse's canonical lines):
 * one pass over the JSON text, no tree. Returns true when the line is a
 * document the mapping accepts unchanged, with dv holding exactly the
 * values docmap_walk() would visit on docmap_map_line()'s result (same
 * order, paths, mappings, kinds, values, array indexes) and its timestamp.
 * Returns false (dv unusable) whenever the line needs the tree path: not
 * JSON, rejected or rewritten by the mapping, or merely unusual (escaped
 * or duplicate keys, deep nesting, bytes fields, dotted timestamp field);
 * the caller then uses docmap_map_line(), which decides. The JSON text of
 * the values of the top-level keys dv->cap_keys[0..n_cap) (set by the
 * caller) is captured in dv->captured (for partition_expr_eval()).
 */
bool docmap_scan_line(struct docmap *dm, const char *line, size_t len, struct docmap_values *dv);
/*
 * docmap_walk() and docmap_timestamp() of a canonical tree into dv (what
 * docmap_scan_line() gives from its line): the values point into canonical
 * and into dv, valid while both are (until dv's next use).
 */
void docmap_collect(struct docmap *dm, json_t *canonical, struct docmap_values *dv);
/* Whether every field is stored (a canonical line is then stored as it is). */
bool docmap_stores_all(const struct docmap *dm);
/*
 * The stored form of a canonical document, the fields with stored: false
 * removed, serialized into out (reset first); false, out untouched, when
 * every field is stored (store the canonical text itself).
 */
bool docmap_stored_text(struct docmap *dm, json_t *canonical, struct buf *out);
/* json_loadb() that also takes integers above INT64_MAX (held as in
 * docmap_map_line()'s trees): for stored documents read back. */
json_t *docmap_load(const char *text, size_t len, size_t flags, json_error_t *jerr);
/* Append the compact canonical JSON of v to out (object keys in document
 * order, reals in their shortest round-trip form, UTF-8 kept, no '\n').
 * The one writer of JSON that users read (qw-search, qw-serve, qw-lambda,
 * the text formats): big integers from docmap_load() are printed as their
 * digits, where json_dumps() would print the "\u0000DIGITS" string that
 * holds them, and 18.048 stays 18.048 (json_dumps() writes 17 digits). */
void docmap_serialize(json_t *v, struct buf *out);
/* docmap_serialize() of v written to f. 0, or -1 on a write error. */
int docmap_dumpf(const json_t *v, FILE *f);
/*
 * A bytes field's value: decode s in the mapping's input_format (base64,
 * padding optional, or hex) into out; false when it does not decode. The
 * indexer and the query parser both read values through it.
 */
bool docmap_bytes_decode(const struct field_mapping *f, const char *s, size_t len,
			 struct buf *out);
/* Append p as lowercase hex or as standard padded base64 (an output_format). */
void docmap_bytes_encode(bool hex, const uint8_t *p, size_t len, struct buf *out);
/* Append bytes as a JSON string; invalid UTF-8 becomes U+FFFD, NUL is escaped. */
void docmap_json_string(struct buf *out, const char *s, size_t len);

#endif
