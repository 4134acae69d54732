/*
 * config_tokenizers: the entries of doc_mapping.tokenizers (see config.h,
 * config_parse_custom_tokenizer). Kept apart from config.c: it is also how
 * a split records a custom tokenizer, so the searcher reads it back with
 * the very same rules.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "mapping/config.h"
#include "mapping/config_int.h"
#include "base/xalloc.h"

static const char *const type_names[] = {
	[CTOK_SIMPLE] = "simple",
	[CTOK_REGEX] = "regex",
	[CTOK_NGRAM] = "ngram",
	[CTOK_SOURCE_CODE] = "source_code",
	NULL,
};

static const char *const filter_names[] = {
	[TF_REMOVE_LONG] = "remove_long",
	[TF_LOWER_CASER] = "lower_caser",
	[TF_ASCII_FOLDING] = "ascii_folding",
	[TF_STEMMER] = "stemmer",
	NULL,
};

static const char *const stem_names[] = {
	[STEM_ARABIC] = "arabic", [STEM_DANISH] = "danish", [STEM_DUTCH] = "dutch",
	[STEM_ENGLISH] = "english", [STEM_FINNISH] = "finnish", [STEM_FRENCH] = "french",
	[STEM_GERMAN] = "german", [STEM_GREEK] = "greek", [STEM_HUNGARIAN] = "hungarian",
	[STEM_ITALIAN] = "italian", [STEM_NORWEGIAN] = "norwegian",
	[STEM_PORTUGUESE] = "portuguese", [STEM_ROMANIAN] = "romanian",
	[STEM_RUSSIAN] = "russian", [STEM_SPANISH] = "spanish", [STEM_SWEDISH] = "swedish",
	[STEM_TAMIL] = "tamil", [STEM_TURKISH] = "turkish", NULL,
};

const char *config_stem_language_name(enum stem_language l)
{
	return stem_names[l];
}

/* tantivy writes its Language capitalized ("English"): any case is taken. */
static int find_stem_language(const char *s)
{
	for (int i = 0; stem_names[i]; i++)
		if (!strcasecmp(stem_names[i], s))
			return i;
	return -1;
}

/* Built-in names a custom tokenizer may not take (Quickwit's, implemented or not). */
static const char *const builtin_names[] = {
	"default", "raw", "raw_lowercase", "lowercase", "whitespace", "en_stem",
	"chinese_compatible", "source_code_default", "source_code_with_hex", "multilang",
	"multilang_default", "lowercase_whitespace", "unicode_segmenter", "datadog", NULL,
};

static int want_string(json_t *o, const char *path, const char *key, const char **out,
		       struct qw_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return config_fail(err, path, key, "missing");
	if (!json_is_string(v))
		return config_fail(err, path, key, "expected a string, got %s", config_json_type_name(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return config_fail(err, path, key, "string contains a NUL byte");
	*out = json_string_value(v);
	return 0;
}

static int want_gram(json_t *o, const char *path, const char *key, uint32_t *out,
		     struct qw_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return config_fail(err, path, key, "missing");
	if (!json_is_integer(v))
		return config_fail(err, path, key, "expected an integer, got %s", config_json_type_name(v));
	/* a gram longer than the longest kept token could never be a term */
	if (json_integer_value(v) < 1 || json_integer_value(v) > 254)
		return config_fail(err, path, key, "%lld is out of range [1, 254]",
			    (long long)json_integer_value(v));
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* The keys an entry of this type may have: Quickwit denies unknown fields. */
static int check_keys(json_t *o, const char *path, enum custom_tokenizer_type type,
		      struct qw_err *err)
{
	static const char *const common[] = { "name", "type", "filters", NULL };
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		if (config_find_name(common, key) >= 0)
			continue;
		if (type == CTOK_REGEX && !strcmp(key, "pattern"))
			continue;
		if (type == CTOK_NGRAM && (!strcmp(key, "min_gram") || !strcmp(key, "max_gram") ||
					   !strcmp(key, "prefix_only")))
			continue;
		return config_fail(err, path, key, "unknown key for a %s tokenizer", type_names[type]);
	}
	return 0;
}

static int check_pattern(const char *pattern, const char *path, struct qw_err *err)
{
	PCRE2_SIZE erroff = 0;
	int errcode = 0;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errcode,
				       &erroff, NULL);
	PCRE2_UCHAR msg[256];

	if (re) {
		pcre2_code_free(re);
		return 0;
	}
	if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", errcode);
	return config_fail(err, path, "pattern", "invalid regex at offset %zu: %s", (size_t)erroff,
		    (const char *)msg);
}

/*
 * One filter: its name, or a mapping {type: NAME} where only stemmer has
 * an option, language (default english, as tantivy's Stemmer::default).
 */
static int parse_filter(json_t *v, const char *path, const char *sub,
			struct custom_tokenizer *t, struct qw_err *err)
{
	const char *name, *key;
	json_t *x;
	int k, lang = STEM_ENGLISH;
	char sub2[96];

	if (json_is_object(v)) {
		x = json_object_get(v, "type");
		if (!x || !json_is_string(x))
			return config_fail(err, path, sub, "a filter mapping needs a string type");
		name = json_string_value(x);
	} else if (json_is_string(v)) {
		name = json_string_value(v);
	} else {
		return config_fail(err, path, sub,
			    "expected a filter name (remove_long, lower_caser, ascii_folding, stemmer), got %s",
			    config_json_type_name(v));
	}
	k = config_find_name(filter_names, name);
	if (k < 0)
		return config_fail(err, path, sub,
			    "unknown filter \"%.64s\" (qw supports remove_long, lower_caser, ascii_folding, stemmer)",
			    name);
	if (json_is_object(v)) {
		json_object_foreach(v, key, x) {
			if (!strcmp(key, "type"))
				continue;
			snprintf(sub2, sizeof(sub2), "%s.%s", sub, key);
			if (k != TF_STEMMER || strcmp(key, "language"))
				return config_fail(err, path, sub2, "unknown option of the %s filter", name);
			if (!json_is_string(x))
				return config_fail(err, path, sub2, "expected a string, got %s",
					    config_json_type_name(x));
			lang = find_stem_language(json_string_value(x));
			if (lang < 0)
				return config_fail(err, path, sub2,
					    "unsupported stemmer language \"%.64s\" (arabic, danish, dutch, english, finnish, french, german, greek, hungarian, italian, norwegian, portuguese, romanian, russian, spanish, swedish, tamil, turkish)",
					    json_string_value(x));
		}
	}
	t->filter_lang[t->n_filters] = (enum stem_language)lang;
	t->filters[t->n_filters++] = (enum token_filter)k;
	return 0;
}

static int parse_filters(json_t *o, const char *path, struct custom_tokenizer *t,
			 struct qw_err *err)
{
	json_t *a = json_object_get(o, "filters"), *v;
	size_t i;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return config_fail(err, path, "filters", "expected a sequence, got %s", config_json_type_name(a));
	if (json_array_size(a) > CUSTOM_TOKENIZER_MAX_FILTERS)
		return config_fail(err, path, "filters", "at most %d filters", CUSTOM_TOKENIZER_MAX_FILTERS);
	json_array_foreach(a, i, v) {
		char sub[64];

		snprintf(sub, sizeof(sub), "filters[%zu]", i);
		if (parse_filter(v, path, sub, t, err))
			return -1;
	}
	return 0;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int config_parse_custom_tokenizer(json_t *o, const char *path, struct custom_tokenizer *out,
				  struct qw_err *err)
{
	struct custom_tokenizer t = { 0 };
	const char *name = NULL, *type = NULL, *pattern = NULL;
	json_t *v;
	int k;

	if (!json_is_object(o))
		return config_fail(err, path, NULL, "expected a mapping, got %s", config_json_type_name(o));
	if (want_string(o, path, "name", &name, err) || want_string(o, path, "type", &type, err))
		return -1;
	if (!valid_name(name) || strlen(name) > 255)
		return config_fail(err, path, "name",
			    "tokenizer name \"%.64s\" must be 1 to 255 letters, digits, '_' or '-'",
			    name);
	if (config_find_name(builtin_names, name) >= 0)
		return config_fail(err, path, "name", "\"%s\" is the name of a built-in tokenizer", name);
	k = config_find_name(type_names, type);
	if (k < 0) {
		if (!strcmp(type, "multilang"))
			return config_fail(err, path, "type", "unsupported tokenizer type \"multilang\"");
		return config_fail(err, path, "type",
			    "unknown tokenizer type \"%.64s\" (qw supports: simple, regex, ngram, source_code)",
			    type);
	}
	t.type = (enum custom_tokenizer_type)k;
	if (check_keys(o, path, t.type, err))
		return -1;
	if (t.type == CTOK_REGEX) {
		if (want_string(o, path, "pattern", &pattern, err) ||
		    check_pattern(pattern, path, err))
			return -1;
	}
	if (t.type == CTOK_NGRAM) {
		if (want_gram(o, path, "min_gram", &t.min_gram, err) ||
		    want_gram(o, path, "max_gram", &t.max_gram, err))
			return -1;
		if (t.min_gram > t.max_gram)
			return config_fail(err, path, "max_gram", "max_gram %u is less than min_gram %u",
				    t.max_gram, t.min_gram);
		v = json_object_get(o, "prefix_only");
		if (v && !json_is_boolean(v))
			return config_fail(err, path, "prefix_only", "expected a boolean, got %s",
				    config_json_type_name(v));
		t.prefix_only = v && json_is_true(v);
	}
	if (parse_filters(o, path, &t, err))
		return -1;
	t.name = xstrdup(name);
	t.pattern = pattern ? xstrdup(pattern) : NULL;
	*out = t;
	return 0;
}

json_t *config_custom_tokenizer_json(const struct custom_tokenizer *t)
{
	json_t *o = json_object(), *f = json_array();

	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "type", json_string(type_names[t->type]));
	if (t->type == CTOK_REGEX)
		json_object_set_new(o, "pattern", json_string(t->pattern));
	if (t->type == CTOK_NGRAM) {
		json_object_set_new(o, "min_gram", json_integer(t->min_gram));
		json_object_set_new(o, "max_gram", json_integer(t->max_gram));
		json_object_set_new(o, "prefix_only", json_boolean(t->prefix_only));
	}
	for (size_t i = 0; i < t->n_filters; i++) {
		json_t *x = json_string(filter_names[t->filters[i]]);

		if (t->filters[i] == TF_STEMMER) {
			json_t *m = json_object();

			json_object_set_new(m, "type", x);
			json_object_set_new(m, "language",
					    json_string(stem_names[t->filter_lang[i]]));
			x = m;
		}
		json_array_append_new(f, x);
	}
	json_object_set_new(o, "filters", f);
	return o;
}

void config_custom_tokenizer_free(struct custom_tokenizer *t)
{
	free(t->name);
	free(t->pattern);
	memset(t, 0, sizeof(*t));
}

const char *config_tokenizer_ref_name(struct tokenizer_ref t)
{
	if (t.kind == TOK_CUSTOM)
		return t.custom ? t.custom->name : "?";
	return config_tokenizer_name(t.kind);
}
