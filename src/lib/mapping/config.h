/*
 * config: Quickwit's index config, read from YAML or JSON.
 *
 * config_load_file() reads a .yaml/.yml/.json file (content sniffed: JSON
 * when the first non-blank byte is '{'), config_from_json() validates a
 * jansson tree (YAML is converted to the same tree first, so there is one
 * validator). Both fill Quickwit's defaults and reject unknown keys and bad
 * values with the key path in the message, e.g.
 *   doc_mapping.field_mappings[3].tokenizer: unknown tokenizer "foo"
 * and code EX_DATAERR (EX_NOINPUT when the file is missing). The path "-"
 * reads the standard input.
 *
 * The returned struct index_config is immutable and owned by the caller:
 * free with config_free(). It is safe to share between threads read-only.
 * config_to_json() gives the full config with defaults filled in, which is
 * what the metastore stores and what config_from_json() accepts back.
 */
#ifndef QW_CONFIG_H
#define QW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"

enum field_type {
	FT_TEXT,
	FT_I64,
	FT_U64,
	FT_F64,
	FT_BOOL,
	FT_DATETIME,
	FT_IP,
	FT_BYTES,
	FT_JSON,
	FT_OBJECT,
};

enum tokenizer {
	TOK_DEFAULT,     /* split on non letter/digit, drop >= 255 bytes, lowercase */
	TOK_RAW,         /* whole value is one term (dropped at >= 255 bytes) */
	TOK_RAW_LOWERCASE,
	TOK_LOWERCASE,   /* == raw_lowercase in Quickwit's docs */
	TOK_WHITESPACE,  /* split on ASCII whitespace, no lowercasing */
	TOK_EN_STEM,     /* default + Snowball English stemmer */
	TOK_CHINESE_COMPATIBLE, /* default, but each CJK character is a token */
	TOK_SOURCE_CODE_DEFAULT, /* camelCase/snake_case/digit splits, lowercase, ASCII folding */
	TOK_CUSTOM,      /* one of doc_mapping.tokenizers: see struct tokenizer_ref */
	TOK_LAST = TOK_CUSTOM,
};

/*
 * A custom tokenizer of doc_mapping.tokenizers, as Quickwit's
 * TokenizerConfig: a base tokenizer then filters in the order given.
 */
enum custom_tokenizer_type {
	CTOK_SIMPLE,      /* split on non letter/digit (default without its filters) */
	CTOK_REGEX,       /* each successive match of pattern is a token */
	CTOK_NGRAM,       /* character n-grams of min_gram..max_gram code points */
	CTOK_SOURCE_CODE, /* source_code_default without its filters */
};

enum token_filter {
	TF_REMOVE_LONG,   /* drop tokens of 255 bytes or more */
	TF_LOWER_CASER,
	TF_ASCII_FOLDING,
	TF_STEMMER,       /* Snowball stemmer of filter_lang (libstemmer) */
};

/*
 * The stemmer languages, as tantivy's Language (rust-stemmers) that
 * Quickwit's stemmer filter takes; each is a libstemmer algorithm of that
 * name. STEM_ENGLISH is en_stem's.
 */
enum stem_language {
	STEM_ARABIC, STEM_DANISH, STEM_DUTCH, STEM_ENGLISH, STEM_FINNISH, STEM_FRENCH,
	STEM_GERMAN, STEM_GREEK, STEM_HUNGARIAN, STEM_ITALIAN, STEM_NORWEGIAN,
	STEM_PORTUGUESE, STEM_ROMANIAN, STEM_RUSSIAN, STEM_SPANISH, STEM_SWEDISH,
	STEM_TAMIL, STEM_TURKISH,
	STEM_N_LANGUAGES,
};

#define CUSTOM_TOKENIZER_MAX_FILTERS 16

struct custom_tokenizer {
	char *name;
	enum custom_tokenizer_type type;
	char *pattern;               /* regex: PCRE2 pattern (checked at parse) */
	uint32_t min_gram, max_gram; /* ngram: 1 <= min_gram <= max_gram */
	bool prefix_only;            /* ngram: only the grams that start the text */
	enum token_filter filters[CUSTOM_TOKENIZER_MAX_FILTERS];
	enum stem_language filter_lang[CUSTOM_TOKENIZER_MAX_FILTERS]; /* TF_STEMMER's */
	size_t n_filters;
};

/*
 * How a text field is tokenized: a built-in tokenizer, or TOK_CUSTOM with
 * the definition (owned by the index config, or by the split reader for a
 * split's record of it). Zero-initialized, it is the default tokenizer.
 */
struct tokenizer_ref {
	enum tokenizer kind;
	const struct custom_tokenizer *custom; /* TOK_CUSTOM only */
};

#define TOKENIZER(k) ((struct tokenizer_ref){ .kind = (k), .custom = NULL })

enum record_option {
	RECORD_BASIC,    /* doc ids only */
	RECORD_FREQ,     /* + term frequencies */
	RECORD_POSITION, /* + positions (phrase queries) */
};

enum fast_normalizer {
	FAST_NORM_RAW,
	FAST_NORM_LOWERCASE,
};

enum dt_precision {
	DT_SECONDS,
	DT_MILLISECONDS,
	DT_MICROSECONDS,
	DT_NANOSECONDS,
};

enum mapping_mode {
	MODE_DYNAMIC,
	MODE_LENIENT,
	MODE_STRICT,
};

/*
 * How a field's values are kept: what a mapped field says for itself and
 * what the dynamic mapping says for every unmapped field, in one struct so
 * that the indexer takes either the same way.
 */
struct field_options {
	bool stored;
	bool indexed;
	bool fast;
	/* text and json */
	struct tokenizer_ref tokenizer;
	enum record_option record;
	bool fieldnorms;
	enum fast_normalizer fast_normalizer; /* when fast */
};

struct field_mapping {
	char *name;              /* the name as written in the config */
	char *path;              /* full dotted path from the document root */
	enum field_type type;
	bool is_array;           /* array<type> */
	char *description;       /* may be NULL */
	/* stored, indexed default true; fast default false (true for the
	 * timestamp field is required); text and json: tokenizer default
	 * TOK_DEFAULT, record RECORD_BASIC, fieldnorms false, fast_normalizer
	 * when fast */
	struct field_options opts;
	/* i64, u64, f64 */
	bool coerce;                     /* default true */
	bool output_format_string;       /* numeric output_format: "number" (false) or "string" */
	/* datetime */
	char **input_formats;            /* default {"rfc3339", "unix_timestamp"} */
	size_t n_input_formats;
	char *output_format;             /* default "rfc3339" */
	enum dt_precision fast_precision;/* default DT_SECONDS */
	/* json */
	bool expand_dots;                /* default true */
	/* bytes: input_format / output_format "base64" (default) or "hex" */
	bool bytes_input_hex;
	bool bytes_output_hex;
	/* object: nested mappings; their path is "<this path>.<name>" */
	struct field_mapping *fields;
	size_t n_fields;
	/*
	 * concatenate: a text field (type FT_TEXT, never stored nor fast) in
	 * cfg->concats, not in fields or leaves, that indexes the values of
	 * the leaves concat_of (and of unmapped fields when concat_dynamic)
	 * as text with its own tokenizer.
	 */
	bool is_concat;
	bool concat_dynamic;             /* include_dynamic_fields, default false */
	char **concat_names;             /* concatenate_fields as written */
	size_t n_concat_names;
	const struct field_mapping **concat_of; /* the leaves they name */
	size_t n_concat_of;
};

/* Options of the implicit json field that holds unmapped fields in dynamic mode. */
struct dynamic_mapping {
	/* stored, indexed, fast default true; tokenizer TOK_RAW, record
	 * RECORD_BASIC, fast_normalizer raw, fieldnorms false */
	struct field_options opts;
	bool expand_dots;        /* default true */
};

enum merge_policy_type {
	MERGE_STABLE_LOG,
	MERGE_LIMIT_MERGE,
	MERGE_NO_MERGE,
};

struct merge_policy {
	enum merge_policy_type type;
	uint64_t min_level_num_docs;     /* stable_log: 100000 */
	uint32_t merge_factor;           /* 10 */
	uint32_t max_merge_factor;       /* 12 */
	int64_t maturation_period_s;     /* 48h */
	uint32_t max_merge_ops;          /* limit_merge: 4 */
};

struct index_config {
	char *version;                   /* "0.8" etc., as given */
	char *index_id;
	char *index_uri;                 /* may be NULL: the data dir decides */

	/* doc_mapping */
	enum mapping_mode mode;
	struct field_mapping *fields;    /* top-level field_mappings, in order */
	size_t n_fields;
	struct field_mapping **leaves;   /* every non-object mapping, depth-first; points into fields */
	size_t n_leaves;
	struct field_mapping *concats;   /* the concatenate fields (top level), in order */
	size_t n_concats;
	/* internal: open-addressing hashes (slot = mapping, NULL = empty) */
	const struct field_mapping **by_path;   /* leaves by full path */
	size_t by_path_cap;
	const struct field_mapping **by_name;   /* every mapping by (its sibling array, name) */
	size_t by_name_cap;
	struct dynamic_mapping dynamic;
	struct custom_tokenizer *tokenizers; /* doc_mapping.tokenizers, in order */
	size_t n_tokenizers;
	char *timestamp_field;           /* NULL when none */
	char **tag_fields;
	size_t n_tag_fields;
	char *partition_key;             /* NULL when none; expression as in Quickwit */
	uint32_t max_num_partitions;     /* 200 */
	bool store_source;               /* false */
	bool index_field_presence;       /* false */
	bool store_document_size;        /* false */
	char *doc_mapping_uid;           /* NULL when not given */

	/* indexing_settings */
	int64_t commit_timeout_secs;     /* 60 */
	uint64_t split_num_docs_target;  /* 10000000 */
	uint64_t heap_size;              /* bytes, 2 GB */
	int docstore_compression_level;  /* 8 */
	uint64_t docstore_blocksize;     /* 1000000 bytes */
	struct merge_policy merge_policy;
	/* plain_text (qw's own): a regex or built-in name for qw-parse's
	 * field extraction (extract.h), the regex that starts a multi-line
	 * event; NULL when not given */
	char *plain_pattern;
	char *multiline_start;

	/* search_settings */
	char **default_search_fields;
	size_t n_default_search_fields;

	/* retention: period_s == 0 when no retention */
	int64_t retention_period_s;
	char *retention_schedule;        /* "hourly" by default when retention is set */
};

struct index_config *config_load_file(const char *path, struct qw_err *err);
struct index_config *config_from_json(json_t *root, struct qw_err *err);
/* Parse YAML text into a jansson tree (scalars typed as YAML 1.2 core schema). */
json_t *config_yaml_to_json(const char *text, size_t len, const char *name, struct qw_err *err);
json_t *config_to_json(const struct index_config *cfg);
void config_free(struct index_config *cfg);

/*
 * The mapping named name (n bytes, no NUL needed) among fields[0..nf), a
 * sibling array of cfg (cfg->fields or some object's fields), or NULL.
 * O(1) for wide mappings.
 */
const struct field_mapping *config_child(const struct index_config *cfg,
					 const struct field_mapping *fields, size_t nf,
					 const char *name, size_t n);
/*
 * With store_document_size: Quickwit's `_doc_length` field (u64, fast, not
 * indexed, not stored: the length of each document's JSON), which
 * config_find_field() and config_resolve_field() also give; NULL without.
 */
const struct field_mapping *config_doc_length_field(const struct index_config *cfg);
/* The leaf mapping whose path is exactly path, or NULL. */
const struct field_mapping *config_find_field(const struct index_config *cfg, const char *path);
/*
 * The mapping that governs path: an exact leaf, or the json field that is
 * a prefix of path ("attributes" for "attributes.color"). NULL when none:
 * then in dynamic mode the dynamic mapping applies. When subpath is not
 * NULL it gets the rest of path below the mapping ("color"; "" for an
 * exact match).
 */
const struct field_mapping *config_resolve_field(const struct index_config *cfg,
						 const char *path, const char **subpath);

/* "500MB", "2GB", "1.5GiB", "1000" -> bytes. */
int config_parse_size(const char *s, uint64_t *out, struct qw_err *err);
/* "90 days", "48h", "30 secs", "1 hour" -> seconds. */
int config_parse_duration(const char *s, int64_t *out, struct qw_err *err);

const char *config_tokenizer_name(enum tokenizer t);
/* The name a field's tokenizer has in the config (a custom one's own). */
const char *config_tokenizer_ref_name(struct tokenizer_ref t);
/*
 * One entry of doc_mapping.tokenizers (path names it in errors): name,
 * type and its options, filters. Anything qw does not implement is an
 * error. On success out owns its strings (config_custom_tokenizer_free).
 */
int config_parse_custom_tokenizer(json_t *o, const char *path, struct custom_tokenizer *out,
				  struct qw_err *err);
/* The entry as Quickwit writes it (what config_parse_custom_tokenizer reads). */
json_t *config_custom_tokenizer_json(const struct custom_tokenizer *t);
void config_custom_tokenizer_free(struct custom_tokenizer *t);
/* The libstemmer algorithm name of a stemmer language ("english"). */
const char *config_stem_language_name(enum stem_language l);
const char *config_field_type_name(enum field_type t);

#endif
