/* config: see config.h. The YAML reader is in config_yaml.c. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "mapping/config_int.h"
#include "mapping/datetime.h"
#include "mapping/extract.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "mapping/partition.h"
#include "base/xalloc.h"

#define PATH_MAX_LEN 512

/* ------------------------------------------------------------------ names */

static const char *const tokenizer_names[] = {
	[TOK_DEFAULT] = "default",
	[TOK_RAW] = "raw",
	[TOK_RAW_LOWERCASE] = "raw_lowercase",
	[TOK_LOWERCASE] = "lowercase",
	[TOK_WHITESPACE] = "whitespace",
	[TOK_EN_STEM] = "en_stem",
	[TOK_CHINESE_COMPATIBLE] = "chinese_compatible",
	[TOK_SOURCE_CODE_DEFAULT] = "source_code_default",
	[TOK_CUSTOM] = NULL, /* named by its definition; also ends the list */
};

/* Quickwit tokenizers qw does not implement (yet). */
static const char *const unsupported_tokenizers[] = {
	"source_code_with_hex", "multilang",
	"multilang_default", "lowercase_whitespace", NULL,
};

static const char *const field_type_names[] = {
	[FT_TEXT] = "text",
	[FT_I64] = "i64",
	[FT_U64] = "u64",
	[FT_F64] = "f64",
	[FT_BOOL] = "bool",
	[FT_DATETIME] = "datetime",
	[FT_IP] = "ip",
	[FT_BYTES] = "bytes",
	[FT_JSON] = "json",
	[FT_OBJECT] = "object",
	NULL,
};

static const char *const record_names[] = {
	[RECORD_BASIC] = "basic",
	[RECORD_FREQ] = "freq",
	[RECORD_POSITION] = "position",
	NULL,
};

static const char *const normalizer_names[] = {
	[FAST_NORM_RAW] = "raw",
	[FAST_NORM_LOWERCASE] = "lowercase",
	NULL,
};

static const char *const precision_names[] = {
	[DT_SECONDS] = "seconds",
	[DT_MILLISECONDS] = "milliseconds",
	[DT_MICROSECONDS] = "microseconds",
	[DT_NANOSECONDS] = "nanoseconds",
	NULL,
};

static const char *const mode_names[] = {
	[MODE_DYNAMIC] = "dynamic",
	[MODE_LENIENT] = "lenient",
	[MODE_STRICT] = "strict",
	NULL,
};

static const char *const merge_policy_names[] = {
	[MERGE_STABLE_LOG] = "stable_log",
	[MERGE_LIMIT_MERGE] = "limit_merge",
	[MERGE_NO_MERGE] = "no_merge",
	NULL,
};

static const char *const num_output_names[] = { "number", "string", NULL };
static const char *const bytes_format_names[] = { "base64", "hex", NULL };

static const char *const supported_versions[] = {
	"0.4", "0.5", "0.6", "0.7", "0.8", "0.9", NULL,
};

/* Field names Quickwit keeps for itself. */
static const char *const reserved_field_names[] = {
	"_source", "_dynamic", "_field_presence", "_doc_length", NULL,
};

const char *config_tokenizer_name(enum tokenizer t)
{
	if ((unsigned)t >= TOK_CUSTOM)
		return "?";
	return tokenizer_names[t];
}

const char *config_field_type_name(enum field_type t)
{
	if ((unsigned)t > FT_OBJECT)
		return "?";
	return field_type_names[t];
}

/* ------------------------------------------------------------- helpers */

const char *config_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "a mapping";
	case JSON_ARRAY: return "a sequence";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a float";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

int config_fail(struct qw_err *err, const char *path, const char *key, const char *fmt, ...)
{
	char msg[QW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(err, EX_DATAERR, "%s%s%s: %s", path, (key && *path) ? "." : "",
		       key ? key : "", msg);
}

/* snprintf into a path buffer; a too long path is cut (it only feeds messages). */
__attribute__((format(printf, 3, 4)))
static void pathf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, n, fmt, ap);
	va_end(ap);
}

int config_find_name(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static void join_names(char *out, size_t n, const char *const *names)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; names[i]; i++) {
		int w = snprintf(out + used, n - used, "%s%s", i ? ", " : "", names[i]);

		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

static int check_keys(json_t *obj, const char *path, const char *const *allowed,
		      struct qw_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (config_find_name(allowed, key) < 0) {
			char list[512];

			join_names(list, sizeof(list), allowed);
			return config_fail(err, path, key, "unknown key (expected one of: %s)", list);
		}
	}
	return 0;
}

static int want_object(json_t *v, const char *path, const char *key, struct qw_err *err)
{
	if (!json_is_object(v))
		return config_fail(err, path, key, "expected a mapping, got %s", config_json_type_name(v));
	return 0;
}

static int opt_bool(json_t *obj, const char *path, const char *key, bool *out,
		    struct qw_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return config_fail(err, path, key, "expected a boolean, got %s", config_json_type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* A string or absent (null counts as absent). *out is borrowed from obj. */
static int opt_str(json_t *obj, const char *path, const char *key, const char **out,
		   struct qw_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return config_fail(err, path, key, "expected a string, got %s", config_json_type_name(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return config_fail(err, path, key, "string contains a NUL byte");
	*out = json_string_value(v);
	return 0;
}

static int opt_int(json_t *obj, const char *path, const char *key, int64_t min, int64_t max,
		   int64_t *out, struct qw_err *err)
{
	json_t *v = json_object_get(obj, key);
	int64_t n;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return config_fail(err, path, key, "expected an integer, got %s", config_json_type_name(v));
	n = json_integer_value(v);
	if (n < min || n > max)
		return config_fail(err, path, key, "%" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]",
			    n, min, max);
	*out = n;
	return 0;
}

static int opt_enum(json_t *obj, const char *path, const char *key, const char *const *names,
		    int *out, struct qw_err *err)
{
	const char *s = NULL;
	char list[256];
	int i;

	if (opt_str(obj, path, key, &s, err))
		return -1;
	if (!s)
		return 0;
	i = config_find_name(names, s);
	if (i < 0) {
		join_names(list, sizeof(list), names);
		return config_fail(err, path, key, "invalid value \"%.100s\" (expected one of: %s)", s, list);
	}
	*out = i;
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A sequence of strings, or absent (then *out stays NULL, *n 0). */
static int opt_strv(json_t *obj, const char *path, const char *key, char ***out, size_t *n,
		    struct qw_err *err)
{
	json_t *v = json_object_get(obj, key), *e;
	char **a = NULL;
	size_t i, len;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return config_fail(err, path, key, "expected a sequence of strings, got %s", config_json_type_name(v));
	len = json_array_size(v);
	a = xcalloc(len ? len : 1, sizeof(*a));
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
			char k[128];

			pathf(k, sizeof(k), "%s[%zu]", key, i);
			free_strv(a, i);
			return config_fail(err, path, k, "expected a string, got %s", config_json_type_name(e));
		}
		a[i] = xstrdup(json_string_value(e));
	}
	*out = a;
	*n = len;
	return 0;
}

/* ------------------------------------------------------- sizes, durations */

int config_parse_size(const char *s, uint64_t *out, struct qw_err *err)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1000ULL }, { "kb", 1000ULL }, { "ki", 1ULL << 10 }, { "kib", 1ULL << 10 },
		{ "m", 1000000ULL }, { "mb", 1000000ULL }, { "mi", 1ULL << 20 }, { "mib", 1ULL << 20 },
		{ "g", 1000000000ULL }, { "gb", 1000000000ULL }, { "gi", 1ULL << 30 },
		{ "gib", 1ULL << 30 },
		{ "t", 1000000000000ULL }, { "tb", 1000000000000ULL }, { "ti", 1ULL << 40 },
		{ "tib", 1ULL << 40 },
		{ "p", 1000000000000000ULL }, { "pb", 1000000000000000ULL }, { "pi", 1ULL << 50 },
		{ "pib", 1ULL << 50 },
	};
	const char *p = s, *num_end;
	char unit[8];
	size_t ulen = 0;
	double d;
	char *end;

	if (!s)
		return err_set(err, EX_DATAERR, "invalid size ''");
	while (*p == ' ')
		p++;
	num_end = p;
	while (isdigit((unsigned char)*num_end) || *num_end == '.')
		num_end++;
	if (num_end == p)
		goto bad;
	errno = 0;
	d = strtod(p, &end);
	if (end != num_end || errno || !isfinite(d) || d < 0)
		goto bad;
	p = num_end;
	while (*p == ' ')
		p++;
	while (*p && *p != ' ') {
		if (ulen + 1 >= sizeof(unit))
			goto bad;
		unit[ulen++] = (char)tolower((unsigned char)*p++);
	}
	unit[ulen] = '\0';
	while (*p == ' ')
		p++;
	if (*p)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(units[i].unit, unit)) {
			double bytes = d * (double)units[i].mult;

			if (bytes >= 18446744073709551615.0)
				goto bad;
			if (memchr(s, '.', (size_t)(num_end - s)) == NULL) {
				/* exact integer arithmetic when there is no fraction */
				unsigned long long n = strtoull(s, NULL, 10);

				if (units[i].mult && n > UINT64_MAX / units[i].mult)
					goto bad;
				*out = (uint64_t)n * units[i].mult;
			} else {
				*out = (uint64_t)bytes;
			}
			return 0;
		}
	}
bad:
	return err_set(err, EX_DATAERR,
		       "invalid size \"%.64s\" (expected a number with an optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)",
		       s);
}

int config_parse_duration(const char *s, int64_t *out, struct qw_err *err)
{
	static const struct { const char *unit; double secs; } units[] = {
		{ "nsec", 1e-9 }, { "ns", 1e-9 },
		{ "usec", 1e-6 }, { "us", 1e-6 },
		{ "msec", 1e-3 }, { "ms", 1e-3 },
		{ "seconds", 1 }, { "second", 1 }, { "secs", 1 }, { "sec", 1 }, { "s", 1 },
		{ "minutes", 60 }, { "minute", 60 }, { "mins", 60 }, { "min", 60 }, { "m", 60 },
		{ "hours", 3600 }, { "hour", 3600 }, { "hrs", 3600 }, { "hr", 3600 }, { "h", 3600 },
		{ "days", 86400 }, { "day", 86400 }, { "d", 86400 },
		{ "weeks", 604800 }, { "week", 604800 }, { "w", 604800 },
		{ "months", 2630016 }, { "month", 2630016 }, { "M", 2630016 },
		{ "years", 31557600 }, { "year", 31557600 }, { "y", 31557600 },
	};
	const char *p = s;
	double total = 0;
	bool any = false;

	if (!s)
		goto bad;
	for (;;) {
		unsigned long long n;
		char *end;
		const char *u;
		size_t ulen;
		bool found = false;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		n = strtoull(p, &end, 10);
		if (errno)
			goto bad;
		p = end;
		while (*p == ' ')
			p++;
		u = p;
		while (isalpha((unsigned char)*p))
			p++;
		ulen = (size_t)(p - u);
		if (ulen == 0)
			goto bad; /* humantime requires a unit */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].unit) == ulen && !memcmp(units[i].unit, u, ulen)) {
				total += (double)n * units[i].secs;
				found = true;
				break;
			}
		}
		if (!found)
			goto bad;
		any = true;
	}
	if (!any || total >= 9.2e18)
		goto bad;
	*out = (int64_t)total;
	return 0;
bad:
	return err_set(err, EX_DATAERR,
		       "invalid duration \"%.64s\" (expected e.g. \"90 days\", \"48h\", \"30 secs\")",
		       s ? s : "");
}

/* A size given as a string ("2GB") or an integer number of bytes. */
static int opt_size(json_t *obj, const char *path, const char *key, uint64_t *out,
		    struct qw_err *err)
{
	json_t *v = json_object_get(obj, key);
	struct qw_err e = QW_ERR_INIT;

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return config_fail(err, path, key, "size must not be negative");
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return config_fail(err, path, key, "expected a size like \"2GB\", got %s", config_json_type_name(v));
	if (config_parse_size(json_string_value(v), out, &e))
		return config_fail(err, path, key, "%s", e.msg);
	return 0;
}

static int opt_duration(json_t *obj, const char *path, const char *key, int64_t *out,
			struct qw_err *err)
{
	json_t *v = json_object_get(obj, key);
	struct qw_err e = QW_ERR_INIT;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return config_fail(err, path, key, "expected a duration like \"48h\", got %s",
			    config_json_type_name(v));
	if (config_parse_duration(json_string_value(v), out, &e))
		return config_fail(err, path, key, "%s", e.msg);
	return 0;
}

/* ---------------------------------------------------------- field mappings */

static void field_free(struct field_mapping *f)
{
	free(f->name);
	free(f->path);
	free(f->description);
	free_strv(f->input_formats, f->n_input_formats);
	free(f->output_format);
	for (size_t i = 0; i < f->n_fields; i++)
		field_free(&f->fields[i]);
	free(f->fields);
	free_strv(f->concat_names, f->n_concat_names);
	free(f->concat_of);
}

static int check_field_name(const char *name, const char *path, struct qw_err *err)
{
	size_t n = strlen(name);
	unsigned char c0 = (unsigned char)name[0];

	if (config_find_name(reserved_field_names, name) >= 0)
		return config_fail(err, path, "name", "field name \"%s\" is reserved for internal use", name);
	if (n == 0)
		return config_fail(err, path, "name", "field name is empty");
	if (n > 255)
		return config_fail(err, path, "name", "field name \"%.64s...\" is longer than 255 characters",
			    name);
	if (c0 == '.')
		return config_fail(err, path, "name", "field name \"%s\" must not start with a dot", name);
	if (!(isalpha(c0) || c0 == '@' || c0 == '$' || c0 == '_' || c0 == '-'))
		return config_fail(err, path, "name",
			    "field name \"%.64s\" must start with a letter, '_', '-', '@' or '$'", name);
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(isalnum(c) || c == '@' || c == '$' || c == '_' || c == '-' || c == '/' ||
		      c == '.'))
			return config_fail(err, path, "name",
				    "field name \"%.64s\" contains illegal characters (allowed: letters, digits, '_', '-', '.', '/', '@', '$')",
				    name);
	}
	return 0;
}

static int parse_tokenizer(const struct index_config *cfg, json_t *obj, const char *path,
			   struct tokenizer_ref *out, struct qw_err *err)
{
	const char *s = NULL;
	int i;

	if (opt_str(obj, path, "tokenizer", &s, err))
		return -1;
	if (!s)
		return 0;
	i = config_find_name(tokenizer_names, s);
	if (i >= 0) {
		*out = TOKENIZER((enum tokenizer)i);
		return 0;
	}
	for (size_t k = 0; k < cfg->n_tokenizers; k++)
		if (!strcmp(cfg->tokenizers[k].name, s)) {
			out->kind = TOK_CUSTOM;
			out->custom = &cfg->tokenizers[k];
			return 0;
		}
	if (config_find_name(unsupported_tokenizers, s) >= 0)
		return config_fail(err, path, "tokenizer",
			    "unsupported tokenizer \"%s\" (qw supports: default, raw, raw_lowercase, lowercase, whitespace, en_stem, chinese_compatible, source_code_default)",
			    s);
	return config_fail(err, path, "tokenizer", "unknown tokenizer \"%.100s\"", s);
}

/* fast: a boolean, or {normalizer: raw|lowercase} on text and json. */
static int parse_fast(json_t *obj, const char *path, bool allow_normalizer, bool *fast,
		      enum fast_normalizer *norm, struct qw_err *err)
{
	json_t *v = json_object_get(obj, "fast");
	static const char *const fast_keys[] = { "normalizer", NULL };
	char sub[PATH_MAX_LEN];
	int n = FAST_NORM_RAW;

	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*fast = json_is_true(v);
		return 0;
	}
	if (allow_normalizer && json_is_array(v) && json_array_size(v) == 1 &&
	    json_is_object(json_array_get(v, 0))) {
		/* Quickwit's documentation writes "fast: [{tokenizer: lowercase}]" */
		static const char *const seq_keys[] = { "normalizer", "tokenizer", NULL };
		json_t *e = json_array_get(v, 0);

		pathf(sub, sizeof(sub), "%s.fast[0]", path);
		if (check_keys(e, sub, seq_keys, err))
			return -1;
		if (json_object_size(e) != 1)
			return config_fail(err, sub, NULL, "expected {normalizer: raw|lowercase}");
		if (opt_enum(e, sub, json_object_get(e, "normalizer") ? "normalizer" : "tokenizer",
			     normalizer_names, &n, err))
			return -1;
		*fast = true;
		*norm = (enum fast_normalizer)n;
		return 0;
	}
	if (!allow_normalizer || !json_is_object(v))
		return config_fail(err, path, "fast", "expected a boolean%s, got %s",
			    allow_normalizer ? " or {normalizer: raw|lowercase}" : "",
			    config_json_type_name(v));
	pathf(sub, sizeof(sub), "%s.fast", path);
	if (check_keys(v, sub, fast_keys, err) ||
	    opt_enum(v, sub, "normalizer", normalizer_names, &n, err))
		return -1;
	*fast = true;
	*norm = (enum fast_normalizer)n;
	return 0;
}

static bool valid_date_format(const char *s, bool output)
{
	static const char *const in_formats[] = {
		"rfc3339", "rfc2822", "iso8601", "unix_timestamp", NULL,
	};
	static const char *const out_formats[] = {
		"rfc3339", "rfc2822", "iso8601", "unix_timestamp_secs", "unix_timestamp_millis",
		"unix_timestamp_micros", "unix_timestamp_nanos", NULL,
	};

	if (config_find_name(output ? out_formats : in_formats, s) >= 0)
		return true;
	/* a strptime pattern: must have at least one % directive */
	return strchr(s, '%') != NULL;
}

/* An input strptime pattern whose directives the parser does not all read
 * would reject every document: refused here, with the directive named. */
static int check_input_directives(const char *fmt, const char *path, const char *key,
				  struct qw_err *err)
{
	char bad = 0;

	if (config_find_name((const char *const[]){ "rfc3339", "rfc2822", "iso8601",
						    "unix_timestamp", NULL }, fmt) >= 0 ||
	    datetime_check_strptime(fmt, &bad))
		return 0;
	if (!bad)
		return config_fail(err, path, key, "date format \"%.64s\" ends with a lone %%", fmt);
	return config_fail(err, path, key,
		    "date format \"%.64s\": unknown directive %%%c (known: %%Y %%y %%C %%m %%d %%e %%j "
		    "%%H %%I %%k %%l %%M %%S %%f %%p %%b %%B %%h %%a %%A %%z %%Z %%s %%T %%R %%F %%D %%n %%t %%%%)",
		    fmt, bad);
}

/* tokenizer, record, fieldnorms (text only) and fast of a text or json field. */
static int parse_text_opts(const struct index_config *cfg, json_t *o, const char *path,
			   struct field_mapping *f, struct qw_err *err)
{
	int rec = RECORD_BASIC;

	if (f->type == FT_JSON)
		f->opts.tokenizer = TOKENIZER(TOK_RAW); /* Quickwit's default for json fields */
	if (parse_tokenizer(cfg, o, path, &f->opts.tokenizer, err) ||
	    opt_enum(o, path, "record", record_names, &rec, err) ||
	    opt_bool(o, path, "fieldnorms", &f->opts.fieldnorms, err) ||
	    parse_fast(o, path, true, &f->opts.fast, &f->opts.fast_normalizer, err))
		return -1;
	if (!f->opts.indexed && (json_object_get(o, "tokenizer") || json_object_get(o, "record") ||
			    f->opts.fieldnorms))
		return config_fail(err, path, NULL, f->type == FT_JSON ?
			    "`record` and `tokenizer` are only allowed when indexed is true" :
			    "`record`, `tokenizer` and `fieldnorms` are only allowed when indexed is true");
	f->opts.record = (enum record_option)rec;
	return 0;
}

/* Objects nest at most this deep (the parser recurses). */
#define MAX_OBJECT_DEPTH 32

static int parse_fields(const struct index_config *cfg, json_t *arr, const char *path,
			const char *parent_path, int depth, struct field_mapping **out, size_t *n_out,
			struct qw_err *err);

/* Quickwit's concatenate field (resolved later by split_concats()). */
static int parse_concat(const struct index_config *cfg, json_t *o, const char *path, int depth,
			struct field_mapping *f, struct qw_err *err)
{
	static const char *const keys[] = { "name", "type", "description", "concatenate_fields",
		"include_dynamic_fields", "tokenizer", "record", "fieldnorms", NULL };
	const char *desc = NULL;
	int rec = RECORD_BASIC;

	if (check_keys(o, path, keys, err))
		return -1;
	if (depth > 0)
		return config_fail(err, path, "type",
			    "a concatenate field must be a top-level field mapping");
	f->type = FT_TEXT;
	f->is_concat = true;
	f->opts.stored = false;
	if (opt_str(o, path, "description", &desc, err))
		return -1;
	if (desc)
		f->description = xstrdup(desc);
	if (parse_tokenizer(cfg, o, path, &f->opts.tokenizer, err) ||
	    opt_enum(o, path, "record", record_names, &rec, err) ||
	    opt_bool(o, path, "fieldnorms", &f->opts.fieldnorms, err) ||
	    opt_bool(o, path, "include_dynamic_fields", &f->concat_dynamic, err) ||
	    opt_strv(o, path, "concatenate_fields", &f->concat_names, &f->n_concat_names, err))
		return -1;
	f->opts.record = (enum record_option)rec;
	return 0;
}

/* The keys a field mapping of this type may have. */
static const char *const *field_keys(enum field_type type)
{
	static const char *const k_text[] = { "name", "type", "description", "stored", "indexed",
		"fast", "tokenizer", "record", "fieldnorms", NULL };
	static const char *const k_num[] = { "name", "type", "description", "stored", "indexed",
		"fast", "coerce", "output_format", NULL };
	static const char *const k_plain[] = { "name", "type", "description", "stored", "indexed",
		"fast", NULL };
	static const char *const k_date[] = { "name", "type", "description", "stored", "indexed",
		"fast", "input_formats", "output_format", "fast_precision", "precision", NULL };
	static const char *const k_bytes[] = { "name", "type", "description", "stored", "indexed",
		"fast", "input_format", "output_format", NULL };
	static const char *const k_json[] = { "name", "type", "description", "stored", "indexed",
		"fast", "tokenizer", "record", "expand_dots", NULL };
	/* "fast" on an object: Quickwit takes the key (its object options have no
	 * such setting) and so does qw; each field keeps its own fast setting */
	static const char *const k_object[] = { "name", "type", "description", "field_mappings",
		"fast", NULL };

	switch (type) {
	case FT_TEXT:
		return k_text;
	case FT_I64:
	case FT_U64:
	case FT_F64:
		return k_num;
	case FT_BOOL:
	case FT_IP:
		return k_plain;
	case FT_DATETIME:
		return k_date;
	case FT_BYTES:
		return k_bytes;
	case FT_JSON:
		return k_json;
	case FT_OBJECT:
		return k_object;
	}
	return k_plain;
}

/* name and path (parent_path.name) of a field mapping, and the defaults of
 * every option. */
static int parse_field_name(json_t *o, const char *path, const char *parent_path,
			    struct field_mapping *f, struct qw_err *err)
{
	const char *name = NULL;

	if (opt_str(o, path, "name", &name, err))
		return -1;
	if (!name)
		return config_fail(err, path, "name", "missing field name");
	if (check_field_name(name, path, err))
		return -1;
	f->name = xstrdup(name);
	if (*parent_path) {
		size_t n = strlen(parent_path) + 1 + strlen(name) + 1;

		f->path = xmalloc(n);
		snprintf(f->path, n, "%s.%s", parent_path, name);
	} else {
		f->path = xstrdup(name);
	}
	f->opts.stored = true;
	f->opts.indexed = true;
	f->opts.fast = false;
	f->opts.tokenizer = TOKENIZER(TOK_DEFAULT);
	f->opts.record = RECORD_BASIC;
	f->opts.fast_normalizer = FAST_NORM_RAW;
	f->coerce = true;
	f->fast_precision = DT_SECONDS;
	f->expand_dots = true;
	return 0;
}

/* f->type and f->is_array from a type name: T or array<T>, T not object
 * (concatenate is handled before). */
static int parse_field_type(const char *type, const char *path, struct field_mapping *f,
			    struct qw_err *err)
{
	const char *base = type;
	char inner[32];
	size_t tlen = strlen(type);
	int t;

	if (!strncmp(type, "array<", 6) && tlen > 7 && type[tlen - 1] == '>') {
		if (tlen - 7 >= sizeof(inner))
			return config_fail(err, path, "type", "unknown field type \"%.64s\"", type);
		memcpy(inner, type + 6, tlen - 7);
		inner[tlen - 7] = '\0';
		t = config_find_name(field_type_names, inner);
		if (t == FT_OBJECT)
			return config_fail(err, path, "type", "array<object> is not supported");
		f->is_array = true;
		base = inner;
	} else {
		t = config_find_name(field_type_names, type);
	}
	if (t < 0) {
		if (!strcmp(base, "concatenate"))
			return config_fail(err, path, "type", "array<concatenate> is not a field type");
		return config_fail(err, path, "type",
			    "unknown field type \"%.64s\" (expected text, i64, u64, f64, bool, datetime, ip, bytes, json, object or array<...>)",
			    type);
	}
	f->type = (enum field_type)t;
	return 0;
}

/* An object field: its field_mappings, parsed one level deeper. */
static int parse_object_field(const struct index_config *cfg, json_t *o, const char *path,
			      int depth, struct field_mapping *f, struct qw_err *err)
{
	json_t *sub = json_object_get(o, "field_mappings");
	char subpath[PATH_MAX_LEN];

	if (check_keys(o, path, field_keys(FT_OBJECT), err))
		return -1;
	pathf(subpath, sizeof(subpath), "%s.field_mappings", path);
	if (!sub)
		return config_fail(err, path, "field_mappings", "an object field needs field_mappings");
	if (depth >= MAX_OBJECT_DEPTH)
		return config_fail(err, path, "field_mappings", "objects nested more than %d deep",
			    MAX_OBJECT_DEPTH);
	if (parse_fields(cfg, sub, subpath, f->path, depth + 1, &f->fields, &f->n_fields, err))
		return -1;
	if (f->n_fields == 0)
		return config_fail(err, path, "field_mappings",
			    "an object field needs at least one field mapping");
	return 0;
}

/* fast, coerce and output_format of an i64, u64 or f64 field. */
static int parse_numeric_opts(json_t *o, const char *path, struct field_mapping *f,
			      struct qw_err *err)
{
	int of = 0;

	if (opt_bool(o, path, "fast", &f->opts.fast, err) ||
	    opt_bool(o, path, "coerce", &f->coerce, err) ||
	    opt_enum(o, path, "output_format", num_output_names, &of, err))
		return -1;
	f->output_format_string = of == 1;
	return 0;
}

/* fast, input_format and output_format (base64 or hex) of a bytes field. */
static int parse_bytes_opts(json_t *o, const char *path, struct field_mapping *f,
			    struct qw_err *err)
{
	int inf = 0, outf = 0;

	if (opt_bool(o, path, "fast", &f->opts.fast, err) ||
	    opt_enum(o, path, "input_format", bytes_format_names, &inf, err) ||
	    opt_enum(o, path, "output_format", bytes_format_names, &outf, err))
		return -1;
	f->bytes_input_hex = inf == 1;
	f->bytes_output_hex = outf == 1;
	if (f->opts.fast && f->is_array)
		return config_fail(err, path, "fast", "fast is not allowed on array<bytes>");
	return 0;
}

/* A datetime field's input_formats checked one by one, or, if it gave none,
 * the default pair rfc3339 and unix_timestamp. */
static int check_input_formats(const char *path, struct field_mapping *f, struct qw_err *err)
{
	if (!f->input_formats) {
		f->input_formats = xcalloc(2, sizeof(char *));
		f->input_formats[0] = xstrdup("rfc3339");
		f->input_formats[1] = xstrdup("unix_timestamp");
		f->n_input_formats = 2;
		return 0;
	}
	if (f->n_input_formats == 0)
		return config_fail(err, path, "input_formats", "must not be empty");
	for (size_t i = 0; i < f->n_input_formats; i++) {
		char k[64];

		pathf(k, sizeof(k), "input_formats[%zu]", i);
		if (!valid_date_format(f->input_formats[i], false))
			return config_fail(err, path, k,
				    "unknown date format \"%.64s\" (expected rfc3339, rfc2822, iso8601, unix_timestamp or a strptime pattern)",
				    f->input_formats[i]);
		if (check_input_directives(f->input_formats[i], path, k, err))
			return -1;
	}
	return 0;
}

/* fast, input_formats, output_format and fast_precision of a datetime field. */
static int parse_datetime_opts(json_t *o, const char *path, struct field_mapping *f,
			       struct qw_err *err)
{
	const char *of = NULL;
	int prec = DT_SECONDS;

	if (json_object_get(o, "fast_precision") && json_object_get(o, "precision"))
		return config_fail(err, path, "precision",
			    "give fast_precision or its old name precision, not both");
	if (opt_bool(o, path, "fast", &f->opts.fast, err) ||
	    opt_strv(o, path, "input_formats", &f->input_formats, &f->n_input_formats, err) ||
	    opt_str(o, path, "output_format", &of, err) ||
	    opt_enum(o, path, "fast_precision", precision_names, &prec, err) ||
	    opt_enum(o, path, "precision", precision_names, &prec, err))
		return -1;
	f->fast_precision = (enum dt_precision)prec;
	if (check_input_formats(path, f, err))
		return -1;
	if (of && !valid_date_format(of, true))
		return config_fail(err, path, "output_format",
			    "unknown date format \"%.64s\" (expected rfc3339, rfc2822, iso8601, unix_timestamp_secs, unix_timestamp_millis, unix_timestamp_micros, unix_timestamp_nanos or a strptime pattern)",
			    of);
	f->output_format = xstrdup(of ? of : "rfc3339");
	return 0;
}

/* The options that depend on a (non-object) field's type. */
static int parse_type_opts(const struct index_config *cfg, json_t *o, const char *path,
			   struct field_mapping *f, struct qw_err *err)
{
	switch (f->type) {
	case FT_TEXT:
		return parse_text_opts(cfg, o, path, f, err);
	case FT_JSON:
		if (parse_text_opts(cfg, o, path, f, err) ||
		    opt_bool(o, path, "expand_dots", &f->expand_dots, err))
			return -1;
		/* dotted keys are always paths in qw: accepted, it would be ignored */
		if (!f->expand_dots)
			return config_fail(err, path, "expand_dots",
				    "expand_dots: false is not supported (keys with dots are always expanded)");
		return 0;
	case FT_I64:
	case FT_U64:
	case FT_F64:
		return parse_numeric_opts(o, path, f, err);
	case FT_BOOL:
	case FT_IP:
		return opt_bool(o, path, "fast", &f->opts.fast, err);
	case FT_BYTES:
		return parse_bytes_opts(o, path, f, err);
	case FT_DATETIME:
		return parse_datetime_opts(o, path, f, err);
	case FT_OBJECT:
		break;
	}
	return 0;
}

static int parse_field(const struct index_config *cfg, json_t *o, const char *path,
		       const char *parent_path, int depth, struct field_mapping *f, struct qw_err *err)
{
	const char *type = NULL, *desc = NULL;

	if (want_object(o, path, NULL, err) ||
	    parse_field_name(o, path, parent_path, f, err) ||
	    opt_str(o, path, "type", &type, err))
		return -1;
	if (!type)
		return config_fail(err, path, "type", "missing field type");
	if (!strcmp(type, "concatenate"))
		return parse_concat(cfg, o, path, depth, f, err);
	if (parse_field_type(type, path, f, err) ||
	    opt_str(o, path, "description", &desc, err))
		return -1;
	if (desc)
		f->description = xstrdup(desc);
	if (f->type == FT_OBJECT)
		return parse_object_field(cfg, o, path, depth, f, err);
	if (check_keys(o, path, field_keys(f->type), err) ||
	    opt_bool(o, path, "stored", &f->opts.stored, err) ||
	    opt_bool(o, path, "indexed", &f->opts.indexed, err))
		return -1;
	return parse_type_opts(cfg, o, path, f, err);
}

/* ------------------------------------------------------- name hashes */

/*
 * Field lookups are hashed so that a config of n mappings is read in
 * O(n) and a document of k keys is mapped in O(k), whatever n is: a
 * linear scan per name made both quadratic (issue 11). Small sibling
 * arrays are scanned: cheaper than hashing.
 */
#define CHILD_LINEAR 8

static uint64_t name_hash(const char *s, size_t n, uint64_t seed)
{
	uint64_t h = 14695981039346656037ULL ^ seed;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static uint64_t sibling_seed(const struct field_mapping *fields)
{
	return (uint64_t)(uintptr_t)fields * 0x9e3779b97f4a7c15ULL;
}

static size_t hash_cap(size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	return cap;
}

/* Insert m into the path hash; the mapping already there on a duplicate. */
static const struct field_mapping *path_insert(struct index_config *cfg,
					       const struct field_mapping *m)
{
	size_t mask = cfg->by_path_cap - 1, n = strlen(m->path);
	size_t j = (size_t)name_hash(m->path, n, 0) & mask;

	for (; cfg->by_path[j]; j = (j + 1) & mask)
		if (!strcmp(cfg->by_path[j]->path, m->path))
			return cfg->by_path[j];
	cfg->by_path[j] = m;
	return NULL;
}

/* Insert every mapping of fields[0..n) (and below) into the sibling hash. */
static void name_insert_all(struct index_config *cfg, const struct field_mapping *fields, size_t n)
{
	size_t mask = cfg->by_name_cap - 1;

	for (size_t i = 0; i < n; i++) {
		const struct field_mapping *m = &fields[i];
		size_t j = (size_t)name_hash(m->name, strlen(m->name), sibling_seed(fields)) & mask;

		while (cfg->by_name[j])
			j = (j + 1) & mask;
		cfg->by_name[j] = m;
		if (m->type == FT_OBJECT)
			name_insert_all(cfg, m->fields, m->n_fields);
	}
}

static size_t count_mappings(const struct field_mapping *fields, size_t n)
{
	size_t c = n;

	for (size_t i = 0; i < n; i++)
		if (fields[i].type == FT_OBJECT)
			c += count_mappings(fields[i].fields, fields[i].n_fields);
	return c;
}

const struct field_mapping *config_child(const struct index_config *cfg,
					 const struct field_mapping *fields, size_t nf,
					 const char *name, size_t n)
{
	size_t mask, j;

	if (nf <= CHILD_LINEAR || !cfg || !cfg->by_name_cap) {
		for (size_t i = 0; i < nf; i++)
			if ((!n || fields[i].name[0] == name[0]) && !strncmp(fields[i].name, name, n) &&
			    fields[i].name[n] == '\0')
				return &fields[i];
		return NULL;
	}
	mask = cfg->by_name_cap - 1;
	j = (size_t)name_hash(name, n, sibling_seed(fields)) & mask;
	for (; cfg->by_name[j]; j = (j + 1) & mask) {
		const struct field_mapping *m = cfg->by_name[j];

		if (m >= fields && m < fields + nf && !strncmp(m->name, name, n) &&
		    m->name[n] == '\0')
			return m;
	}
	return NULL;
}

static const struct field_mapping *find_leaf(const struct index_config *cfg, const char *path,
					     size_t n)
{
	size_t mask, j;

	if (!cfg->by_path_cap)
		return NULL;
	mask = cfg->by_path_cap - 1;
	j = (size_t)name_hash(path, n, 0) & mask;
	for (; cfg->by_path[j]; j = (j + 1) & mask) {
		const struct field_mapping *m = cfg->by_path[j];

		if (!strncmp(m->path, path, n) && m->path[n] == '\0')
			return m;
	}
	return NULL;
}

struct name_pos {
	const char *name;
	size_t i;
};

static int name_pos_cmp(const void *a, const void *b)
{
	const struct name_pos *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/*
 * The first i whose name an earlier one has, or n (sorting: O(n log n));
 * names[i] is the name at i (a string array or a mapping's name field:
 * stride is the distance between two of them in bytes).
 */
static size_t first_duplicate(const void *names, size_t stride, size_t n)
{
	struct name_pos *v;
	size_t dup = n;

	if (n < 2)
		return n;
	v = xreallocarray(NULL, n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].name = *(const char *const *)(const void *)((const char *)names + i * stride);
		v[i].i = i;
	}
	qsort(v, n, sizeof(*v), name_pos_cmp);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i - 1].name, v[i].name) && v[i].i < dup &&
		    (i < 2 || strcmp(v[i - 2].name, v[i].name)))
			dup = v[i].i;
	free(v);
	return dup;
}

static int parse_fields(const struct index_config *cfg, json_t *arr, const char *path,
			const char *parent_path, int depth, struct field_mapping **out, size_t *n_out,
			struct qw_err *err)
{
	struct field_mapping *fields;
	size_t n, i;
	int rc = -1;

	if (!json_is_array(arr))
		return config_fail(err, path, NULL, "expected a sequence of field mappings, got %s",
			    config_json_type_name(arr));
	n = json_array_size(arr);
	fields = xcalloc(n ? n : 1, sizeof(*fields));
	for (i = 0; i < n; i++) {
		char sub[PATH_MAX_LEN];

		pathf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (parse_field(cfg, json_array_get(arr, i), sub, parent_path, depth, &fields[i], err))
			goto out;
	}
	if ((i = first_duplicate(n ? &fields[0].name : NULL, sizeof(*fields), n)) < n) {
		char sub[PATH_MAX_LEN];

		pathf(sub, sizeof(sub), "%s[%zu]", path, i);
		config_fail(err, sub, "name", "duplicate field name \"%s\"", fields[i].name);
		goto out;
	}
	rc = 0;
out:
	if (rc) {
		for (size_t j = 0; j < n; j++)
			field_free(&fields[j]);
		free(fields);
		return -1;
	}
	*out = fields;
	*n_out = n;
	return 0;
}

static void collect_leaves(struct index_config *cfg, struct field_mapping *fields, size_t n,
			   size_t *cap)
{
	for (size_t i = 0; i < n; i++) {
		if (fields[i].type == FT_OBJECT) {
			collect_leaves(cfg, fields[i].fields, fields[i].n_fields, cap);
			continue;
		}
		XGROW(cfg->leaves, cfg->n_leaves + 1, *cap);
		cfg->leaves[cfg->n_leaves++] = &fields[i];
	}
}

/*
 * Build the lookup hashes. Two mappings with the same full path (e.g. "a.b"
 * and a.{b}) collide.
 */
static int index_fields(struct index_config *cfg, struct qw_err *err)
{
	cfg->by_path_cap = hash_cap(cfg->n_leaves + cfg->n_concats);
	cfg->by_path = xcalloc(cfg->by_path_cap, sizeof(*cfg->by_path));
	for (size_t i = 0; i < cfg->n_leaves; i++)
		if (path_insert(cfg, cfg->leaves[i]))
			return config_fail(err, "doc_mapping", "field_mappings",
				    "duplicate field path \"%s\"", cfg->leaves[i]->path);
	for (size_t i = 0; i < cfg->n_concats; i++)
		if (path_insert(cfg, &cfg->concats[i]))
			return config_fail(err, "doc_mapping", "field_mappings",
				    "duplicate field path \"%s\"", cfg->concats[i].path);
	cfg->by_name_cap = hash_cap(count_mappings(cfg->fields, cfg->n_fields));
	cfg->by_name = xcalloc(cfg->by_name_cap, sizeof(*cfg->by_name));
	name_insert_all(cfg, cfg->fields, cfg->n_fields);
	return 0;
}

/* Move the concatenate fields out of cfg->fields into cfg->concats. */
static void split_concats(struct index_config *cfg)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < cfg->n_fields; i++)
		n += cfg->fields[i].is_concat;
	if (!n)
		return;
	cfg->concats = xcalloc(n, sizeof(*cfg->concats));
	for (size_t i = 0; i < cfg->n_fields; i++) {
		if (cfg->fields[i].is_concat)
			cfg->concats[cfg->n_concats++] = cfg->fields[i];
		else
			cfg->fields[k++] = cfg->fields[i];
	}
	cfg->n_fields = k;
}

/* The leaves each concatenate field names: a leaf, or every leaf of an object. */
static int resolve_concats(struct index_config *cfg, struct qw_err *err)
{
	for (size_t i = 0; i < cfg->n_concats; i++) {
		struct field_mapping *c = &cfg->concats[i];
		size_t cap = 0;
		char path[PATH_MAX_LEN];

		pathf(path, sizeof(path), "doc_mapping.field_mappings[\"%s\"]", c->name);
		for (size_t j = 0; j < c->n_concat_names; j++) {
			const char *name = c->concat_names[j];
			const struct field_mapping *m = find_leaf(cfg, name, strlen(name));
			size_t n = strlen(name), before = c->n_concat_of;
			char key[64];

			pathf(key, sizeof(key), "concatenate_fields[%zu]", j);
			if (m && m->is_concat)
				return config_fail(err, path, key,
					    "\"%s\" is a concatenate field: it cannot be concatenated",
					    name);
			if (m) {
				XGROW(c->concat_of, c->n_concat_of + 1, cap);
				c->concat_of[c->n_concat_of++] = m;
				continue;
			}
			for (size_t l = 0; l < cfg->n_leaves; l++) {
				const struct field_mapping *f = cfg->leaves[l];

				if (!strncmp(f->path, name, n) && f->path[n] == '.') {
					XGROW(c->concat_of, c->n_concat_of + 1, cap);
					c->concat_of[c->n_concat_of++] = f;
				}
			}
			if (c->n_concat_of == before)
				return config_fail(err, path, key, "unknown field \"%s\"", name);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ lookups */

static const struct field_mapping doc_length_field = {
	.name = (char *)"_doc_length",
	.path = (char *)"_doc_length",
	.type = FT_U64,
	.opts.fast = true,
	.coerce = true,
};

const struct field_mapping *config_doc_length_field(const struct index_config *cfg)
{
	return cfg && cfg->store_document_size ? &doc_length_field : NULL;
}

const struct field_mapping *config_find_field(const struct index_config *cfg, const char *path)
{
	if (!cfg || !path)
		return NULL;
	if (cfg->store_document_size && !strcmp(path, doc_length_field.path))
		return &doc_length_field;
	return find_leaf(cfg, path, strlen(path));
}

/* The longest json leaf whose path is a dotted prefix of path[0..n). */
static const struct field_mapping *json_prefix(const struct index_config *cfg, const char *path,
					       size_t n, size_t *len)
{
	for (size_t k = n; k-- > 0;) {
		const struct field_mapping *f;

		if (path[k] != '.')
			continue;
		f = find_leaf(cfg, path, k);
		if (f && f->type == FT_JSON) {
			*len = k;
			return f;
		}
	}
	return NULL;
}

const struct field_mapping *config_resolve_field(const struct index_config *cfg,
						 const char *path, const char **subpath)
{
	const struct field_mapping *f;
	size_t plen, len = 0;

	if (!cfg || !path)
		return NULL;
	plen = strlen(path);
	f = config_find_field(cfg, path);
	if (f) {
		if (subpath)
			*subpath = path + plen;
		return f;
	}
	f = json_prefix(cfg, path, plen, &len);
	if (f && subpath)
		*subpath = path + len + 1;
	return f;
}

/* ------------------------------------------------------------ sections */

static int parse_dynamic(const struct index_config *cfg, json_t *o, struct dynamic_mapping *d,
			 struct qw_err *err)
{
	static const char *const keys[] = { "description", "stored", "indexed", "fast",
		"tokenizer", "record", "expand_dots", NULL };
	const char *path = "doc_mapping.dynamic_mapping";
	int rec = RECORD_BASIC;

	if (want_object(o, path, NULL, err) || check_keys(o, path, keys, err))
		return -1;
	/* given options replace Quickwit's dynamic defaults, except fast which a
	 * json field has false by default */
	d->opts.fast = false;
	if (opt_bool(o, path, "stored", &d->opts.stored, err) ||
	    opt_bool(o, path, "indexed", &d->opts.indexed, err))
		return -1;
	if (!d->opts.indexed && (json_object_get(o, "tokenizer") || json_object_get(o, "record")))
		return config_fail(err, path, NULL,
			    "`record` and `tokenizer` are only allowed when indexed is true");
	if (parse_tokenizer(cfg, o, path, &d->opts.tokenizer, err) ||
	    opt_enum(o, path, "record", record_names, &rec, err) ||
	    parse_fast(o, path, true, &d->opts.fast, &d->opts.fast_normalizer, err) ||
	    opt_bool(o, path, "expand_dots", &d->expand_dots, err))
		return -1;
	if (!d->expand_dots)
		return config_fail(err, path, "expand_dots",
			    "expand_dots: false is not supported (keys with dots are always expanded)");
	d->opts.record = (enum record_option)rec;
	return 0;
}

static int check_timestamp_field(const struct index_config *cfg, struct qw_err *err)
{
	const struct field_mapping *f;

	if (!cfg->timestamp_field)
		return 0;
	f = config_find_field(cfg, cfg->timestamp_field);
	if (!f)
		return config_fail(err, "doc_mapping", "timestamp_field", "unknown timestamp field \"%s\"",
			    cfg->timestamp_field);
	if (f->type != FT_DATETIME)
		return config_fail(err, "doc_mapping", "timestamp_field",
			    "timestamp field \"%s\" must be of type datetime, not %s%s%s",
			    cfg->timestamp_field, f->is_array ? "array<" : "",
			    config_field_type_name(f->type), f->is_array ? ">" : "");
	if (f->is_array)
		return config_fail(err, "doc_mapping", "timestamp_field",
			    "timestamp field \"%s\" must be single-valued, not array<datetime>",
			    cfg->timestamp_field);
	if (!f->opts.fast)
		return config_fail(err, "doc_mapping", "timestamp_field",
			    "timestamp field \"%s\" must be a fast field (fast: true)",
			    cfg->timestamp_field);
	return 0;
}

/* Quickwit's rule: raw-tokenized text, i64 or u64, indexed. Quickwit keeps the
 * tag fields as a set, so a repeated name is dropped, not an error. */
static int check_tag_fields(struct index_config *cfg, struct qw_err *err)
{
	size_t out = 0;

	for (size_t i = 0; i < cfg->n_tag_fields; i++) {
		const char *name = cfg->tag_fields[i];
		const struct field_mapping *f;
		size_t n = strlen(name);
		bool dup = false;
		char key[64];

		pathf(key, sizeof(key), "tag_fields[%zu]", i);
		if (name[0] == '.' || (n > 0 && name[n - 1] == '.'))
			return config_fail(err, "doc_mapping", key,
				    "tag field \"%s\" must not start or end with a dot", name);
		f = config_find_field(cfg, name);
		if (!f)
			return config_fail(err, "doc_mapping", key, "unknown tag field \"%s\"", name);
		if (f->is_concat || f == config_doc_length_field(cfg))
			return config_fail(err, "doc_mapping", key,
				    "tag field \"%s\": tags are not allowed on %s", name,
				    f->is_concat ? "concatenate fields" : "_doc_length");
		switch (f->type) {
		case FT_TEXT:
			if (!f->opts.indexed || f->opts.tokenizer.kind != TOK_RAW)
				return config_fail(err, "doc_mapping", key,
					    "tag field \"%s\": tags are only allowed on text fields with the raw tokenizer",
					    name);
			break;
		case FT_I64:
		case FT_U64:
			if (!f->opts.indexed)
				return config_fail(err, "doc_mapping", key,
					    "tag field \"%s\" must be indexed", name);
			break;
		default:
			return config_fail(err, "doc_mapping", key,
				    "tag field \"%s\": tags are not allowed on %s fields", name,
				    config_field_type_name(f->type));
		}
		for (size_t j = 0; j < out; j++)
			if (!strcmp(cfg->tag_fields[j], name))
				dup = true;
		if (dup)
			free(cfg->tag_fields[i]);
		else
			cfg->tag_fields[out++] = cfg->tag_fields[i];
	}
	cfg->n_tag_fields = out;
	return 0;
}

static int check_default_search_fields(const struct index_config *cfg, struct qw_err *err)
{
	size_t dup = first_duplicate(cfg->default_search_fields, sizeof(char *),
				     cfg->n_default_search_fields);

	for (size_t i = 0; i < cfg->n_default_search_fields; i++) {
		const char *name = cfg->default_search_fields[i];
		const struct field_mapping *f;
		char key[64];

		pathf(key, sizeof(key), "default_search_fields[%zu]", i);
		if (i == dup)
			return config_fail(err, "search_settings", key,
				    "duplicate default search field \"%s\"", name);
		f = config_resolve_field(cfg, name, NULL);
		if (!f) {
			bool under_leaf = false;

			/* a path below a mapped non-json leaf or an object is not a field */
			for (size_t k = 0; name[k]; k++)
				if (name[k] == '.' && find_leaf(cfg, name, k))
					under_leaf = true;
			if (cfg->mode == MODE_DYNAMIC && cfg->dynamic.opts.indexed && !under_leaf &&
			    *name)
				continue;
			/* Quickwit's wording (clients and its tests match on it) */
			if (cfg->mode == MODE_DYNAMIC && !under_leaf && *name)
				return config_fail(err, "search_settings", key,
						   "default search field `%s` is not indexed", name);
			return config_fail(err, "search_settings", key, "unknown default search field `%s`",
				    name);
		}
		if (!f->opts.indexed)
			return config_fail(err, "search_settings", key,
				    "default search field `%s` is not indexed", name);
	}
	return 0;
}

static int parse_merge_policy(json_t *o, struct merge_policy *mp, struct qw_err *err)
{
	static const char *const k_stable[] = { "type", "min_level_num_docs", "merge_factor",
		"max_merge_factor", "maturation_period", "max_finalize_merge_operations",
		"max_finalize_split_num_docs", NULL };
	static const char *const k_limit[] = { "type", "max_merge_ops", "merge_factor",
		"max_merge_factor", "maturation_period", "max_finalize_merge_operations",
		"max_finalize_split_num_docs", NULL };
	static const char *const k_none[] = { "type", NULL };
	const char *path = "indexing_settings.merge_policy";
	int t = MERGE_STABLE_LOG;
	int64_t v;

	if (want_object(o, path, NULL, err))
		return -1;
	if (!json_object_get(o, "type"))
		return config_fail(err, path, "type", "missing merge policy type (stable_log, limit_merge or no_merge)");
	if (json_is_string(json_object_get(o, "type")) &&
	    !strcmp(json_string_value(json_object_get(o, "type")), "default"))
		t = MERGE_STABLE_LOG; /* Quickwit's alias of stable_log */
	else if (json_is_string(json_object_get(o, "type")) &&
		 !strcmp(json_string_value(json_object_get(o, "type")), "const_write_amplification"))
		t = MERGE_LIMIT_MERGE; /* Quickwit's newer name of limit_merge */
	else if (opt_enum(o, path, "type", merge_policy_names, &t, err))
		return -1;
	mp->type = (enum merge_policy_type)t;
	if (check_keys(o, path, t == MERGE_STABLE_LOG ? k_stable : t == MERGE_LIMIT_MERGE ?
		       k_limit : k_none, err))
		return -1;
	if (t == MERGE_NO_MERGE)
		return 0;
	v = (int64_t)mp->min_level_num_docs;
	if (opt_int(o, path, "min_level_num_docs", 0, INT64_MAX, &v, err))
		return -1;
	mp->min_level_num_docs = (uint64_t)v;
	v = mp->merge_factor;
	if (opt_int(o, path, "merge_factor", 2, UINT32_MAX, &v, err))
		return -1;
	mp->merge_factor = (uint32_t)v;
	v = mp->max_merge_factor;
	if (opt_int(o, path, "max_merge_factor", 2, UINT32_MAX, &v, err))
		return -1;
	mp->max_merge_factor = (uint32_t)v;
	if (mp->max_merge_factor < mp->merge_factor)
		return config_fail(err, path, "max_merge_factor",
			    "max_merge_factor (%u) must be greater than or equal to merge_factor (%u)",
			    mp->max_merge_factor, mp->merge_factor);
	if (opt_duration(o, path, "maturation_period", &mp->maturation_period_s, err))
		return -1;
	v = mp->max_merge_ops;
	if (opt_int(o, path, "max_merge_ops", 1, UINT32_MAX, &v, err))
		return -1;
	mp->max_merge_ops = (uint32_t)v;
	v = 0;
	if (opt_int(o, path, "max_finalize_merge_operations", 0, UINT32_MAX, &v, err) ||
	    opt_int(o, path, "max_finalize_split_num_docs", 0, INT64_MAX, &v, err))
		return -1;
	return 0;
}

/* One regex of indexing_settings.plain_text: it must compile as qw-parse
 * will use it (extract.h for the pattern). */
static int plain_regex(json_t *o, const char *key, bool fields, char **out, struct qw_err *err)
{
	const char *path = "indexing_settings.plain_text";
	json_t *v = json_object_get(o, key);
	struct qw_err e = QW_ERR_INIT;
	struct extract *x;

	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return config_fail(err, path, key, "must be a non-empty string");
	if (fields) {
		x = extract_new(json_string_value(v), &e);
		if (!x)
			return config_fail(err, path, key, "%s", e.msg);
		extract_free(x);
	} else {
		x = extract_new_plain(json_string_value(v), &e);
		if (!x)
			return config_fail(err, path, key, "%s", e.msg);
		extract_free(x);
	}
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* qw's own: how qw-parse reads plain text lines for this index, so that a
 * cron line needs no --pattern (man/qw-parse.1). */
static int parse_plain_text(json_t *o, struct index_config *cfg, struct qw_err *err)
{
	static const char *const keys[] = { "pattern", "multiline_start", NULL };
	const char *path = "indexing_settings";

	if (want_object(o, path, "plain_text", err) ||
	    check_keys(o, "indexing_settings.plain_text", keys, err) ||
	    plain_regex(o, "pattern", true, &cfg->plain_pattern, err) ||
	    plain_regex(o, "multiline_start", false, &cfg->multiline_start, err))
		return -1;
	return 0;
}

static int parse_indexing_settings(json_t *o, struct index_config *cfg, struct qw_err *err)
{
	static const char *const keys[] = { "commit_timeout_secs", "split_num_docs_target",
		"docstore_compression_level", "docstore_blocksize", "merge_policy", "resources",
		"sort_fields", "plain_text", NULL };
	static const char *const res_keys[] = { "heap_size", "max_merge_write_throughput", NULL };
	const char *path = "indexing_settings";
	json_t *v;
	int64_t n;

	if (want_object(o, path, NULL, err) || check_keys(o, path, keys, err))
		return -1;
	v = json_object_get(o, "sort_fields");
	if (v && !(json_is_array(v) && json_array_size(v) == 0))
		return config_fail(err, path, "sort_fields", "sorting documents inside splits is not supported");
	if (opt_int(o, path, "commit_timeout_secs", 1, INT32_MAX, &cfg->commit_timeout_secs, err))
		return -1;
	n = (int64_t)cfg->split_num_docs_target;
	if (opt_int(o, path, "split_num_docs_target", 1, INT64_MAX, &n, err))
		return -1;
	cfg->split_num_docs_target = (uint64_t)n;
	n = cfg->docstore_compression_level;
	if (opt_int(o, path, "docstore_compression_level", -7, 22, &n, err))
		return -1;
	cfg->docstore_compression_level = (int)n;
	if (opt_size(o, path, "docstore_blocksize", &cfg->docstore_blocksize, err))
		return -1;
	if (cfg->docstore_blocksize == 0)
		return config_fail(err, path, "docstore_blocksize", "must be greater than 0");
	v = json_object_get(o, "merge_policy");
	if (v && parse_merge_policy(v, &cfg->merge_policy, err))
		return -1;
	v = json_object_get(o, "resources");
	if (v) {
		uint64_t unused = 0;

		if (want_object(v, path, "resources", err) ||
		    check_keys(v, "indexing_settings.resources", res_keys, err) ||
		    opt_size(v, "indexing_settings.resources", "heap_size", &cfg->heap_size, err) ||
		    opt_size(v, "indexing_settings.resources", "max_merge_write_throughput", &unused,
			     err))
			return -1;
		if (cfg->heap_size == 0)
			return config_fail(err, "indexing_settings.resources", "heap_size",
				    "must be greater than 0");
	}
	v = json_object_get(o, "plain_text");
	if (v && parse_plain_text(v, cfg, err))
		return -1;
	return 0;
}

static int parse_retention(json_t *o, struct index_config *cfg, struct qw_err *err)
{
	static const char *const keys[] = { "period", "schedule", "evaluation_schedule_jitter",
		NULL };
	static const char *const schedules[] = { "hourly", "daily", "weekly", "monthly", "yearly",
		"annually", NULL };
	const char *path = "retention", *sched = NULL;

	if (want_object(o, path, NULL, err) || check_keys(o, path, keys, err))
		return -1;
	if (!json_object_get(o, "period"))
		return config_fail(err, path, "period", "missing retention period");
	if (opt_duration(o, path, "period", &cfg->retention_period_s, err))
		return -1;
	if (cfg->retention_period_s <= 0)
		return config_fail(err, path, "period", "retention period must be at least one second");
	{
		int64_t jitter = 0; /* accepted for compatibility, not used */

		if (opt_duration(o, path, "evaluation_schedule_jitter", &jitter, err))
			return -1;
	}
	if (opt_str(o, path, "schedule", &sched, err))
		return -1;
	if (!sched)
		sched = "hourly";
	if (config_find_name(schedules, sched[0] == '@' ? sched + 1 : sched) < 0) {
		/* a cron expression as Quickwit's cron crate reads it: 6 or 7
		 * space-separated fields (seconds first, optional year) */
		int fields = 0;
		bool in = false;

		for (const char *p = sched; *p; p++) {
			if (*p == ' ') {
				in = false;
				continue;
			}
			if (!isalnum((unsigned char)*p) && !strchr("*,/-?#", *p))
				return config_fail(err, path, "schedule", "invalid schedule \"%.64s\"", sched);
			if (!in)
				fields++;
			in = true;
		}
		if (fields < 6 || fields > 7)
			return config_fail(err, path, "schedule",
				    "invalid schedule \"%.64s\" (expected hourly, daily, weekly, monthly, yearly or a cron expression)",
				    sched);
	}
	cfg->retention_schedule = xstrdup(sched);
	return 0;
}

static int parse_custom_tokenizers(json_t *a, struct index_config *cfg, struct qw_err *err)
{
	const char *path = "doc_mapping.tokenizers";
	size_t n;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return config_fail(err, "doc_mapping", "tokenizers", "expected a sequence, got %s",
			    config_json_type_name(a));
	n = json_array_size(a);
	cfg->tokenizers = xcalloc(n ? n : 1, sizeof(*cfg->tokenizers));
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_MAX_LEN];

		pathf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (config_parse_custom_tokenizer(json_array_get(a, i), sub, &cfg->tokenizers[i],
						  err))
			return -1;
		cfg->n_tokenizers = i + 1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->tokenizers[j].name, cfg->tokenizers[i].name))
				return config_fail(err, sub, "name", "duplicate tokenizer name \"%s\"",
					    cfg->tokenizers[i].name);
	}
	return 0;
}

static int parse_doc_mapping(json_t *o, struct index_config *cfg, json_t *search_settings,
			     struct qw_err *err)
{
	static const char *const keys[] = { "field_mappings", "mode", "dynamic_mapping",
		"timestamp_field", "tag_fields", "partition_key", "max_num_partitions",
		"store_source", "index_field_presence", "store_document_size", "doc_mapping_uid",
		"tokenizers", NULL };
	const char *path = "doc_mapping", *s = NULL;
	size_t cap = 0;
	json_t *v;
	int mode = MODE_DYNAMIC;
	int64_t n;

	(void)search_settings;
	if (want_object(o, path, NULL, err) || check_keys(o, path, keys, err))
		return -1;
	/* before the field mappings, whose tokenizer may name one of them */
	if (parse_custom_tokenizers(json_object_get(o, "tokenizers"), cfg, err))
		return -1;
	if (opt_enum(o, path, "mode", mode_names, &mode, err))
		return -1;
	cfg->mode = (enum mapping_mode)mode;
	v = json_object_get(o, "dynamic_mapping");
	if (v && !json_is_null(v)) {
		if (cfg->mode != MODE_DYNAMIC)
			return config_fail(err, path, "dynamic_mapping",
				    "dynamic_mapping is only allowed with mode: dynamic");
		if (parse_dynamic(cfg, v, &cfg->dynamic, err))
			return -1;
	}
	v = json_object_get(o, "field_mappings");
	if (v && parse_fields(cfg, v, "doc_mapping.field_mappings", "", 0, &cfg->fields, &cfg->n_fields,
			      err))
		return -1;
	split_concats(cfg);
	collect_leaves(cfg, cfg->fields, cfg->n_fields, &cap);
	if (index_fields(cfg, err) || resolve_concats(cfg, err))
		return -1;
	if (opt_str(o, path, "timestamp_field", &s, err))
		return -1;
	if (s)
		cfg->timestamp_field = xstrdup(s);
	if (check_timestamp_field(cfg, err))
		return -1;
	if (opt_strv(o, path, "tag_fields", &cfg->tag_fields, &cfg->n_tag_fields, err) ||
	    check_tag_fields(cfg, err))
		return -1;
	s = NULL;
	if (opt_str(o, path, "partition_key", &s, err))
		return -1;
	if (s) {
		struct qw_err pe = QW_ERR_INIT;
		struct partition_expr *expr = partition_expr_parse(s, &pe);

		if (!expr)
			return config_fail(err, path, "partition_key", "%s", pe.msg);
		if (!partition_expr_is_empty(expr))
			cfg->partition_key = xstrdup(s);
		partition_expr_free(expr);
	}
	n = cfg->max_num_partitions;
	if (opt_int(o, path, "max_num_partitions", 1, UINT32_MAX, &n, err))
		return -1;
	cfg->max_num_partitions = (uint32_t)n;
	if (opt_bool(o, path, "store_source", &cfg->store_source, err) ||
	    opt_bool(o, path, "index_field_presence", &cfg->index_field_presence, err) ||
	    opt_bool(o, path, "store_document_size", &cfg->store_document_size, err))
		return -1;
	s = NULL;
	if (opt_str(o, path, "doc_mapping_uid", &s, err))
		return -1;
	if (s) {
		if (!ids_is_ulid(s))
			return config_fail(err, path, "doc_mapping_uid", "invalid doc mapping uid \"%.64s\" (expected a ULID)", s);
		cfg->doc_mapping_uid = xstrdup(s);
	}
	return 0;
}

static void set_defaults(struct index_config *cfg)
{
	cfg->mode = MODE_DYNAMIC;
	cfg->dynamic.opts.stored = true;
	cfg->dynamic.opts.indexed = true;
	cfg->dynamic.opts.fast = true;
	cfg->dynamic.opts.fast_normalizer = FAST_NORM_RAW;
	cfg->dynamic.opts.tokenizer = TOKENIZER(TOK_RAW);
	cfg->dynamic.opts.record = RECORD_BASIC;
	cfg->dynamic.opts.fieldnorms = false;
	cfg->dynamic.expand_dots = true;
	cfg->max_num_partitions = 200;
	cfg->commit_timeout_secs = 60;
	cfg->split_num_docs_target = 10000000;
	cfg->heap_size = 2000000000ULL;
	cfg->docstore_compression_level = 8;
	cfg->docstore_blocksize = 1000000;
	cfg->merge_policy.type = MERGE_STABLE_LOG;
	cfg->merge_policy.min_level_num_docs = 100000;
	cfg->merge_policy.merge_factor = 10;
	cfg->merge_policy.max_merge_factor = 12;
	cfg->merge_policy.maturation_period_s = 48 * 3600;
	cfg->merge_policy.max_merge_ops = 4;
}

static int parse_version(json_t *root, struct index_config *cfg, struct qw_err *err)
{
	json_t *v = json_object_get(root, "version");
	char buf[32];
	const char *s;

	if (!v)
		return config_fail(err, "", "version", "missing config format version (e.g. version: 0.8)");
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
		s = buf;
	} else if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = buf;
	} else {
		return config_fail(err, "", "version", "expected a version like \"0.8\", got %s",
			    config_json_type_name(v));
	}
	if (config_find_name(supported_versions, s) < 0)
		return config_fail(err, "", "version",
			    "unsupported config format version \"%.32s\" (supported: 0.4 to 0.9)", s);
	cfg->version = xstrdup(s);
	return 0;
}

struct index_config *config_from_json(json_t *root, struct qw_err *err)
{
	static const char *const keys[] = { "version", "index_id", "index_uri", "doc_mapping",
		"indexing_settings", "ingest_settings", "search_settings", "retention", NULL };
	static const char *const ingest_keys[] = { "min_shards", "validate_docs", NULL };
	static const char *const search_keys[] = { "default_search_fields", NULL };
	struct index_config *cfg = xcalloc(1, sizeof(*cfg));
	struct qw_err idErr = QW_ERR_INIT;
	const char *s = NULL;
	json_t *v, *search;
	int rc = -1;

	set_defaults(cfg);
	if (!json_is_object(root)) {
		err_set(err, EX_DATAERR, "index config: expected a mapping at the top level, got %s",
			root ? config_json_type_name(root) : "nothing");
		goto out;
	}
	if (check_keys(root, "", keys, err) || parse_version(root, cfg, err))
		goto out;
	if (opt_str(root, "", "index_id", &s, err))
		goto out;
	if (!s) {
		config_fail(err, "", "index_id", "missing index id");
		goto out;
	}
	if (ids_check_index(s, &idErr)) {
		config_fail(err, "", "index_id", "%s", idErr.msg);
		goto out;
	}
	cfg->index_id = xstrdup(s);
	s = NULL;
	if (opt_str(root, "", "index_uri", &s, err))
		goto out;
	if (s) {
		const char *colon = strstr(s, "://");

		if (!*s) {
			config_fail(err, "", "index_uri", "must not be empty");
			goto out;
		}
		if (colon) {
			static const char *const schemes[] = { "file", "s3", "azure", "gs", "ram",
				NULL };
			char scheme[16];
			size_t n = (size_t)(colon - s);

			if (n >= sizeof(scheme) || (memcpy(scheme, s, n), scheme[n] = '\0',
						    config_find_name(schemes, scheme) < 0)) {
				config_fail(err, "", "index_uri", "unsupported URI scheme in \"%.100s\"", s);
				goto out;
			}
		}
		cfg->index_uri = xstrdup(s);
	}
	search = json_object_get(root, "search_settings");
	v = json_object_get(root, "doc_mapping");
	if (!v) {
		config_fail(err, "", "doc_mapping", "missing doc mapping");
		goto out;
	}
	if (parse_doc_mapping(v, cfg, search, err))
		goto out;
	v = json_object_get(root, "indexing_settings");
	if (v && parse_indexing_settings(v, cfg, err))
		goto out;
	if (search) {
		if (want_object(search, "", "search_settings", err) ||
		    check_keys(search, "search_settings", search_keys, err) ||
		    opt_strv(search, "search_settings", "default_search_fields",
			     &cfg->default_search_fields, &cfg->n_default_search_fields, err) ||
		    check_default_search_fields(cfg, err))
			goto out;
	}
	v = json_object_get(root, "ingest_settings");
	if (v) {
		/* Quickwit's ingest API settings: checked, not used by qw */
		int64_t shards = 1;
		bool validate = true;

		if (want_object(v, "", "ingest_settings", err) ||
		    check_keys(v, "ingest_settings", ingest_keys, err) ||
		    opt_int(v, "ingest_settings", "min_shards", 1, INT64_MAX, &shards, err) ||
		    opt_bool(v, "ingest_settings", "validate_docs", &validate, err))
			goto out;
		if (!validate) {
			config_fail(err, "ingest_settings", "validate_docs",
			     "validate_docs: false is not supported (qw-parse always applies the doc mapping)");
			goto out;
		}
	}
	v = json_object_get(root, "retention");
	if (v && !json_is_null(v)) {
		if (parse_retention(v, cfg, err))
			goto out;
		if (!cfg->timestamp_field) {
			config_fail(err, "", "retention",
			     "a retention policy needs a timestamp field (doc_mapping.timestamp_field)");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* ----------------------------------------------------------- file, free */

struct index_config *config_load_file(const char *path, struct qw_err *err)
{
	struct buf b = BUF_INIT;
	struct index_config *cfg = NULL;
	json_t *root = NULL;
	const char *p;

	if (!strcmp(path, "-") ? fsutil_read_fd(0, "<stdin>", &b, err) :
				  fsutil_read_all(path, &b, err))
		goto out;
	p = buf_str(&b);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '{') {
		json_error_t je;

		root = json_loadb(buf_str(&b), b.len, JSON_REJECT_DUPLICATES, &je);
		if (!root) {
			err_set(err, EX_DATAERR, "%s: line %d, column %d: %s", path, je.line,
				je.column, je.text);
			goto out;
		}
	} else {
		root = config_yaml_to_json(buf_str(&b), b.len, path, err);
		if (!root)
			goto out;
	}
	cfg = config_from_json(root, err);
	if (!cfg)
		err_prefix(err, "%s", path);
out:
	json_decref(root);
	buf_free(&b);
	return cfg;
}

void config_free(struct index_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->version);
	free(cfg->index_id);
	free(cfg->index_uri);
	for (size_t i = 0; i < cfg->n_fields; i++)
		field_free(&cfg->fields[i]);
	for (size_t i = 0; i < cfg->n_tokenizers; i++)
		config_custom_tokenizer_free(&cfg->tokenizers[i]);
	free(cfg->tokenizers);
	free(cfg->fields);
	for (size_t i = 0; i < cfg->n_concats; i++)
		field_free(&cfg->concats[i]);
	free(cfg->concats);
	free(cfg->leaves);
	free(cfg->by_path);
	free(cfg->by_name);
	free(cfg->timestamp_field);
	free_strv(cfg->tag_fields, cfg->n_tag_fields);
	free(cfg->partition_key);
	free(cfg->doc_mapping_uid);
	free_strv(cfg->default_search_fields, cfg->n_default_search_fields);
	free(cfg->retention_schedule);
	free(cfg->plain_pattern);
	free(cfg->multiline_start);
	free(cfg);
}

/* ------------------------------------------------------------ to json */

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *fast_json(bool fast, enum fast_normalizer norm)
{
	if (!fast)
		return json_false();
	return json_pack("{s:s}", "normalizer", normalizer_names[norm]);
}

static json_t *field_json(const struct field_mapping *f)
{
	json_t *o = json_object();
	char type[32];

	json_object_set_new(o, "name", json_string(f->name));
	if (f->is_concat) {
		json_object_set_new(o, "type", json_string("concatenate"));
		if (f->description)
			json_object_set_new(o, "description", json_string(f->description));
		json_object_set_new(o, "concatenate_fields",
				    strv_json(f->concat_names, f->n_concat_names));
		json_object_set_new(o, "include_dynamic_fields", json_boolean(f->concat_dynamic));
		json_object_set_new(o, "tokenizer", json_string(config_tokenizer_ref_name(f->opts.tokenizer)));
		json_object_set_new(o, "record", json_string(record_names[f->opts.record]));
		json_object_set_new(o, "fieldnorms", json_boolean(f->opts.fieldnorms));
		return o;
	}
	snprintf(type, sizeof(type), f->is_array ? "array<%s>" : "%s",
		 config_field_type_name(f->type));
	json_object_set_new(o, "type", json_string(type));
	if (f->description)
		json_object_set_new(o, "description", json_string(f->description));
	if (f->type == FT_OBJECT) {
		json_t *a = json_array();

		for (size_t i = 0; i < f->n_fields; i++)
			json_array_append_new(a, field_json(&f->fields[i]));
		json_object_set_new(o, "field_mappings", a);
		return o;
	}
	json_object_set_new(o, "stored", json_boolean(f->opts.stored));
	json_object_set_new(o, "indexed", json_boolean(f->opts.indexed));
	switch (f->type) {
	case FT_TEXT:
	case FT_JSON:
		if (f->opts.indexed) {
			json_object_set_new(o, "tokenizer", json_string(config_tokenizer_ref_name(f->opts.tokenizer)));
			json_object_set_new(o, "record", json_string(record_names[f->opts.record]));
			if (f->type == FT_TEXT)
				json_object_set_new(o, "fieldnorms", json_boolean(f->opts.fieldnorms));
		}
		json_object_set_new(o, "fast", fast_json(f->opts.fast, f->opts.fast_normalizer));
		if (f->type == FT_JSON)
			json_object_set_new(o, "expand_dots", json_boolean(f->expand_dots));
		break;
	case FT_I64:
	case FT_U64:
	case FT_F64:
		json_object_set_new(o, "fast", json_boolean(f->opts.fast));
		json_object_set_new(o, "coerce", json_boolean(f->coerce));
		json_object_set_new(o, "output_format",
				    json_string(f->output_format_string ? "string" : "number"));
		break;
	case FT_DATETIME:
		json_object_set_new(o, "fast", json_boolean(f->opts.fast));
		json_object_set_new(o, "input_formats", strv_json(f->input_formats, f->n_input_formats));
		json_object_set_new(o, "output_format", json_string(f->output_format));
		json_object_set_new(o, "fast_precision", json_string(precision_names[f->fast_precision]));
		break;
	case FT_BYTES:
		json_object_set_new(o, "fast", json_boolean(f->opts.fast));
		json_object_set_new(o, "input_format", json_string(f->bytes_input_hex ? "hex" : "base64"));
		json_object_set_new(o, "output_format",
				    json_string(f->bytes_output_hex ? "hex" : "base64"));
		break;
	case FT_BOOL:
	case FT_IP:
	case FT_OBJECT:
		json_object_set_new(o, "fast", json_boolean(f->opts.fast));
		break;
	}
	return o;
}

/* The shortest exact form: "2GB", "1GiB", "1500B". */
static const char *size_str(uint64_t n, char *buf, size_t len)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{ "TB", 1000000000000ULL }, { "TiB", 1ULL << 40 }, { "GB", 1000000000ULL },
		{ "GiB", 1ULL << 30 }, { "MB", 1000000ULL }, { "MiB", 1ULL << 20 },
		{ "KB", 1000ULL }, { "KiB", 1ULL << 10 },
	};

	for (size_t i = 0; n && i < sizeof(units) / sizeof(units[0]); i++) {
		if (n % units[i].mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", n / units[i].mult, units[i].unit);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 "B", n);
	return buf;
}

static const char *duration_str(int64_t secs, char *buf, size_t n)
{
	if (secs % 86400 == 0)
		snprintf(buf, n, "%" PRId64 "days", secs / 86400);
	else if (secs % 3600 == 0)
		snprintf(buf, n, "%" PRId64 "h", secs / 3600);
	else
		snprintf(buf, n, "%" PRId64 "s", secs);
	return buf;
}

json_t *config_to_json(const struct index_config *cfg)
{
	json_t *root = json_object(), *dm = json_object(), *fm = json_array();
	json_t *is, *mp, *dyn;
	char tmp[64];

	json_object_set_new(root, "version", json_string(cfg->version));
	json_object_set_new(root, "index_id", json_string(cfg->index_id));
	if (cfg->index_uri)
		json_object_set_new(root, "index_uri", json_string(cfg->index_uri));

	for (size_t i = 0; i < cfg->n_fields; i++)
		json_array_append_new(fm, field_json(&cfg->fields[i]));
	for (size_t i = 0; i < cfg->n_concats; i++)
		json_array_append_new(fm, field_json(&cfg->concats[i]));
	json_object_set_new(dm, "field_mappings", fm);
	json_object_set_new(dm, "mode", json_string(mode_names[cfg->mode]));
	if (cfg->mode == MODE_DYNAMIC) {
		const struct dynamic_mapping *d = &cfg->dynamic;

		dyn = json_object();
		json_object_set_new(dyn, "stored", json_boolean(d->opts.stored));
		json_object_set_new(dyn, "indexed", json_boolean(d->opts.indexed));
		if (d->opts.indexed) {
			json_object_set_new(dyn, "tokenizer", json_string(config_tokenizer_ref_name(d->opts.tokenizer)));
			json_object_set_new(dyn, "record", json_string(record_names[d->opts.record]));
		}
		json_object_set_new(dyn, "fast", fast_json(d->opts.fast, d->opts.fast_normalizer));
		json_object_set_new(dyn, "expand_dots", json_boolean(d->expand_dots));
		json_object_set_new(dm, "dynamic_mapping", dyn);
	}
	if (cfg->timestamp_field)
		json_object_set_new(dm, "timestamp_field", json_string(cfg->timestamp_field));
	json_object_set_new(dm, "tag_fields", strv_json(cfg->tag_fields, cfg->n_tag_fields));
	if (cfg->partition_key)
		json_object_set_new(dm, "partition_key", json_string(cfg->partition_key));
	json_object_set_new(dm, "max_num_partitions", json_integer(cfg->max_num_partitions));
	json_object_set_new(dm, "store_source", json_boolean(cfg->store_source));
	json_object_set_new(dm, "index_field_presence", json_boolean(cfg->index_field_presence));
	json_object_set_new(dm, "store_document_size", json_boolean(cfg->store_document_size));
	if (cfg->n_tokenizers) {
		json_t *tz = json_array();

		for (size_t i = 0; i < cfg->n_tokenizers; i++)
			json_array_append_new(tz, config_custom_tokenizer_json(&cfg->tokenizers[i]));
		json_object_set_new(dm, "tokenizers", tz);
	}
	if (cfg->doc_mapping_uid)
		json_object_set_new(dm, "doc_mapping_uid", json_string(cfg->doc_mapping_uid));
	json_object_set_new(root, "doc_mapping", dm);

	is = json_object();
	json_object_set_new(is, "commit_timeout_secs", json_integer(cfg->commit_timeout_secs));
	json_object_set_new(is, "split_num_docs_target",
			    json_integer((json_int_t)cfg->split_num_docs_target));
	json_object_set_new(is, "docstore_compression_level",
			    json_integer(cfg->docstore_compression_level));
	json_object_set_new(is, "docstore_blocksize",
			    json_integer((json_int_t)cfg->docstore_blocksize));
	mp = json_object();
	json_object_set_new(mp, "type", json_string(merge_policy_names[cfg->merge_policy.type]));
	if (cfg->merge_policy.type != MERGE_NO_MERGE) {
		const struct merge_policy *m = &cfg->merge_policy;

		if (m->type == MERGE_STABLE_LOG)
			json_object_set_new(mp, "min_level_num_docs",
					    json_integer((json_int_t)m->min_level_num_docs));
		else
			json_object_set_new(mp, "max_merge_ops", json_integer(m->max_merge_ops));
		json_object_set_new(mp, "merge_factor", json_integer(m->merge_factor));
		json_object_set_new(mp, "max_merge_factor", json_integer(m->max_merge_factor));
		json_object_set_new(mp, "maturation_period",
				    json_string(duration_str(m->maturation_period_s, tmp, sizeof(tmp))));
	}
	json_object_set_new(is, "merge_policy", mp);
	json_object_set_new(is, "resources",
			    json_pack("{s:s}", "heap_size", size_str(cfg->heap_size, tmp, sizeof(tmp))));
	if (cfg->plain_pattern || cfg->multiline_start) {
		json_t *pt = json_object();

		if (cfg->plain_pattern)
			json_object_set_new(pt, "pattern", json_string(cfg->plain_pattern));
		if (cfg->multiline_start)
			json_object_set_new(pt, "multiline_start", json_string(cfg->multiline_start));
		json_object_set_new(is, "plain_text", pt);
	}
	json_object_set_new(root, "indexing_settings", is);

	json_object_set_new(root, "search_settings",
			    json_pack("{s:o}", "default_search_fields",
				      strv_json(cfg->default_search_fields,
						cfg->n_default_search_fields)));
	if (cfg->retention_period_s > 0)
		json_object_set_new(root, "retention",
				    json_pack("{s:s,s:s}", "period",
					      duration_str(cfg->retention_period_s, tmp, sizeof(tmp)),
					      "schedule", cfg->retention_schedule));
	return root;
}
