/* tokenizer: see tokenizer.h */
#include "mapping/tokenizer.h"

#include <stdbool.h>
#include <string.h>

#include <libstemmer.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "mapping/unicode_code.h"
#include "mapping/unicode_data.h"
#include "base/utf8.h"
#include "base/xalloc.h"

/* Byte classes for the ASCII fast path. */
enum { C_SEP = 0, C_LOWER = 1, C_UPPER = 2, C_HIGH = 3 };

static const uint8_t ascii_class[256] = {
	['0'] = C_LOWER, ['1'] = C_LOWER, ['2'] = C_LOWER, ['3'] = C_LOWER, ['4'] = C_LOWER,
	['5'] = C_LOWER, ['6'] = C_LOWER, ['7'] = C_LOWER, ['8'] = C_LOWER, ['9'] = C_LOWER,
	['a'] = C_LOWER, ['b'] = C_LOWER, ['c'] = C_LOWER, ['d'] = C_LOWER, ['e'] = C_LOWER,
	['f'] = C_LOWER, ['g'] = C_LOWER, ['h'] = C_LOWER, ['i'] = C_LOWER, ['j'] = C_LOWER,
	['k'] = C_LOWER, ['l'] = C_LOWER, ['m'] = C_LOWER, ['n'] = C_LOWER, ['o'] = C_LOWER,
	['p'] = C_LOWER, ['q'] = C_LOWER, ['r'] = C_LOWER, ['s'] = C_LOWER, ['t'] = C_LOWER,
	['u'] = C_LOWER, ['v'] = C_LOWER, ['w'] = C_LOWER, ['x'] = C_LOWER, ['y'] = C_LOWER,
	['z'] = C_LOWER,
	['A'] = C_UPPER, ['B'] = C_UPPER, ['C'] = C_UPPER, ['D'] = C_UPPER, ['E'] = C_UPPER,
	['F'] = C_UPPER, ['G'] = C_UPPER, ['H'] = C_UPPER, ['I'] = C_UPPER, ['J'] = C_UPPER,
	['K'] = C_UPPER, ['L'] = C_UPPER, ['M'] = C_UPPER, ['N'] = C_UPPER, ['O'] = C_UPPER,
	['P'] = C_UPPER, ['Q'] = C_UPPER, ['R'] = C_UPPER, ['S'] = C_UPPER, ['T'] = C_UPPER,
	['U'] = C_UPPER, ['V'] = C_UPPER, ['W'] = C_UPPER, ['X'] = C_UPPER, ['Y'] = C_UPPER,
	['Z'] = C_UPPER,
	[0x80 ... 0xff] = C_HIGH,
};

static bool is_word_cp(uint32_t cp)
{
	size_t lo = 0, hi = unicode_word_astral_n;

	if (cp < 0x10000)
		return (unicode_word_bmp[cp >> 5] >> (cp & 31)) & 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < unicode_word_astral[mid][0])
			hi = mid;
		else if (cp > unicode_word_astral[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static uint32_t lower_cp(uint32_t cp)
{
	size_t lo = 0, hi = unicode_lower_n;

	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < unicode_lower[mid][0])
			hi = mid;
		else if (cp > unicode_lower[mid][0])
			lo = mid + 1;
		else
			return unicode_lower[mid][1];
	}
	return cp;
}

void tokenizer_lowercase(const char *text, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	buf_reset(out);
	/* at most 4 bytes per input byte? a 2-byte char may lower to 3 bytes */
	buf_grow(out, len + len / 2 + 4);
	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			/* an ASCII run, straight into the buffer (1 byte each) */
			char *o;
			size_t k = 0;

			if (out->cap - out->len < len - i + 1)
				buf_grow(out, len - i);
			o = out->data + out->len;

			do {
				o[k++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
				i++;
			} while (i < len && (c = p[i]) < 0x80);
			out->len += k;
			out->data[out->len] = '\0';
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			buf_addc(out, (char)c);
			i++;
			continue;
		}
		{
			char enc[4];
			size_t m = utf8_encode(lower_cp(cp), enc);

			buf_add(out, enc, m);
		}
		i += n;
	}
}

void tokenizer_init(struct tokenizer_state *ts)
{
	memset(ts, 0, sizeof(*ts));
}

void tokenizer_free(struct tokenizer_state *ts)
{
	for (size_t i = 0; i < STEM_N_LANGUAGES; i++)
		if (ts->stemmers[i])
			sb_stemmer_delete(ts->stemmers[i]);
	pcre2_match_data_free(ts->re_match);
	pcre2_code_free(ts->re);
	pcre2_code_free(ts->re_invalid);
	buf_free(&ts->filtered);
	buf_free(&ts->re_pattern);
	buf_free(&ts->scratch2);
	buf_free(&ts->scratch);
}

bool tokenizer_lowercases(struct tokenizer_ref ref)
{
	enum tokenizer t = ref.kind;

	if (t == TOK_CUSTOM) {
		for (size_t i = 0; ref.custom && i < ref.custom->n_filters; i++)
			if (ref.custom->filters[i] == TF_LOWER_CASER)
				return true;
		return false;
	}
	return t == TOK_DEFAULT || t == TOK_LOWERCASE || t == TOK_RAW_LOWERCASE ||
	       t == TOK_EN_STEM || t == TOK_CHINESE_COMPATIBLE || t == TOK_SOURCE_CODE_DEFAULT;
}

static void emit_token(struct tokenizer_state *ts, const char *tok, size_t len, bool lower,
		       uint32_t pos, token_emit_fn emit, void *ctx)
{
	if (ts->raw_spans && emit) {
		/* a custom tokenizer's base: its filters decide */
		ts->tok_from = (size_t)(tok - ts->text);
		ts->tok_to = ts->tok_from + len;
		emit(ctx, tok, len, pos);
		return;
	}
	if (len >= TOKEN_MAX_BYTES || !emit)
		return;
	ts->tok_from = (size_t)(tok - ts->text);
	ts->tok_to = ts->tok_from + len;
	if (lower) {
		tokenizer_lowercase(tok, len, &ts->scratch);
		emit(ctx, ts->scratch.data, ts->scratch.len, pos);
	} else {
		emit(ctx, tok, len, pos);
	}
}

/* A word found by a word-splitting tokenizer's scan: its bytes, and whether
 * it has a letter to lowercase. */
struct word {
	size_t start, end;
	bool lower;
};

/* A word-splitting tokenizer's scan: the next word from *at on, with *at
 * moved past it; false (*at left as it is) when only separators are left. */
typedef bool next_word_fn(const unsigned char *p, size_t len, size_t *at, struct word *w);

/* The loop every word-splitting tokenizer shares: each word found by
 * next_word is one token at the next position. Inlined with a constant
 * next_word, so that each tokenizer keeps its own loop. */
static inline uint32_t tokenize_words(struct tokenizer_state *ts, const char *text, size_t len,
				      next_word_fn *next_word, token_emit_fn emit, void *ctx)
{
	const unsigned char *p = (const unsigned char *)text;
	struct word w;
	uint32_t pos = 0;
	size_t at = 0;

	while (next_word(p, len, &at, &w)) {
		emit_token(ts, text + w.start, w.end - w.start, w.lower, pos, emit, ctx);
		pos++;
	}
	return pos;
}

/* default: words are runs of letters and digits (ASCII by table, others by
 * is_word_cp); everything else separates them. */
static inline bool next_default_word(const unsigned char *p, size_t len, size_t *at,
				     struct word *w)
{
	size_t i = *at;
	bool lower = false;

	/* skip separators */
	for (;;) {
		uint32_t cp;
		size_t n;
		uint8_t cl;

		if (i >= len)
			return false;
		cl = ascii_class[p[i]];
		if (cl == C_LOWER || cl == C_UPPER)
			break;
		if (cl == C_SEP) {
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n && is_word_cp(cp))
			break;
		i += n ? n : 1;
	}
	/* a word */
	w->start = i;
	while (i < len) {
		uint8_t cl = ascii_class[p[i]];
		uint32_t cp;
		size_t n;

		if (cl == C_LOWER) {
			i++;
			continue;
		}
		if (cl == C_UPPER) {
			lower = true;
			i++;
			continue;
		}
		if (cl == C_SEP)
			break;
		n = utf8_decode(p + i, len - i, &cp);
		if (!n || !is_word_cp(cp))
			break;
		if (lower_cp(cp) != cp)
			lower = true;
		i += n;
	}
	w->end = i;
	w->lower = lower;
	*at = i;
	return true;
}

static uint32_t tokenize_default(struct tokenizer_state *ts, const char *text, size_t len,
				 token_emit_fn emit, void *ctx)
{
	return tokenize_words(ts, text, len, next_default_word, emit, ctx);
}

/* The stemmer of a language, made at its first use. */
static struct sb_stemmer *stemmer_of(struct tokenizer_state *ts, enum stem_language l)
{
	if (!ts->stemmers[l]) {
		/* every language of the table is a libstemmer algorithm: NULL is out of memory */
		ts->stemmers[l] = sb_stemmer_new(config_stem_language_name(l), "UTF_8");
		if (!ts->stemmers[l])
			xalloc_die();
	}
	return ts->stemmers[l];
}

/* The stem of tok, valid until the stemmer's next call. */
static const char *stem(struct sb_stemmer *s, const char *tok, size_t *len)
{
	const sb_symbol *r = sb_stemmer_stem(s, (const sb_symbol *)tok, (int)*len);

	/* NULL only when out of memory: as xalloc does */
	if (!r)
		xalloc_die();
	*len = (size_t)sb_stemmer_length(s);
	return (const char *)r;
}

/* en_stem: each kept (lowercased) token of the default tokenizer, stemmed. */
static void stem_emit(void *ctx, const char *tok, size_t len, uint32_t pos)
{
	struct tokenizer_state *ts = ctx;
	const char *s = stem(ts->stemmers[STEM_ENGLISH], tok, &len);

	ts->next(ts->next_ctx, s, len, pos);
}

static uint32_t tokenize_en_stem(struct tokenizer_state *ts, const char *text, size_t len,
				 token_emit_fn emit, void *ctx)
{
	if (!emit)
		return tokenize_default(ts, text, len, NULL, NULL);
	stemmer_of(ts, STEM_ENGLISH);
	ts->next = emit;
	ts->next_ctx = ctx;
	return tokenize_default(ts, text, len, stem_emit, ts);
}

static bool is_cjk(uint32_t cp)
{
	return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
	       (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x2a6df) ||
	       (cp >= 0x2a700 && cp <= 0x2ceaf) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/* chinese_compatible: each CJK character is a word of its own; other words
 * are runs of word characters, all lowercased. */
static inline bool next_chinese_word(const unsigned char *p, size_t len, size_t *at,
				     struct word *w)
{
	size_t i = *at;

	while (i < len) {
		uint32_t cp = 0;
		size_t n = utf8_decode(p + i, len - i, &cp), start = i;

		if (n == 0 || !is_word_cp(cp)) {
			i += n ? n : 1;
			continue;
		}
		i += n;
		if (!is_cjk(cp)) {
			while (i < len) {
				n = utf8_decode(p + i, len - i, &cp);
				if (!n || !is_word_cp(cp) || is_cjk(cp))
					break;
				i += n;
			}
		}
		w->start = start;
		w->end = i;
		w->lower = true;
		*at = i;
		return true;
	}
	return false;
}

/* ---------------------------------------------------- source_code_default */

static int code_class(uint32_t cp)
{
	size_t lo = 0, hi = unicode_code_class_n;

	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			return UCODE_UPPER;
		if (cp >= 'a' && cp <= 'z')
			return UCODE_LOWER;
		if (cp >= '0' && cp <= '9')
			return UCODE_NUMERIC;
		return UCODE_DELIM;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < unicode_code_class[mid][0])
			hi = mid;
		else if (cp > unicode_code_class[mid][1])
			lo = mid + 1;
		else
			return (int)unicode_code_class[mid][2];
	}
	return UCODE_DELIM;
}

static const char *ascii_fold_cp(uint32_t cp)
{
	size_t lo = 0, hi = unicode_ascii_fold_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < unicode_ascii_fold[mid].cp)
			hi = mid;
		else if (cp > unicode_ascii_fold[mid].cp)
			lo = mid + 1;
		else
			return unicode_ascii_fold[mid].ascii;
	}
	return NULL;
}

void tokenizer_ascii_fold(const char *text, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	buf_reset(out);
	buf_grow(out, len + 4);
	while (i < len) {
		uint32_t cp;
		size_t n;
		const char *f;

		if (p[i] < 0x80) {
			buf_addc(out, (char)p[i]);
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			buf_addc(out, (char)p[i]);
			i++;
			continue;
		}
		f = ascii_fold_cp(cp);
		if (f)
			buf_add(out, f, strlen(f));
		else
			buf_add(out, text + i, n);
		i += n;
	}
}

/* remove_long (on the token as cut), then lowercase, then ASCII folding. */
static void emit_code_token(struct tokenizer_state *ts, const char *tok, size_t len, uint32_t pos,
			    token_emit_fn emit, void *ctx)
{
	if (ts->raw_spans) {
		emit_token(ts, tok, len, false, pos, emit, ctx);
		return;
	}
	if (len >= TOKEN_MAX_BYTES || !emit)
		return;
	ts->tok_from = (size_t)(tok - ts->text);
	ts->tok_to = ts->tok_from + len;
	tokenizer_lowercase(tok, len, &ts->scratch);
	tokenizer_ascii_fold(ts->scratch.data, ts->scratch.len, &ts->scratch2);
	emit(ctx, ts->scratch2.data, ts->scratch2.len, pos);
}

/*
 * Quickwit's CodeTokenizer: a token is a run of characters of one class
 * (uppercase, lowercase, numeric); one uppercase letter followed by
 * lowercase ones stays one token ("Pig"), and a run of uppercase letters
 * followed by a lowercase one gives its last letter to the next token
 * ("ABCa" -> "AB", "Ca"). Delimiters end a token and are not part of any.
 */
static uint32_t tokenize_source_code(struct tokenizer_state *ts, const char *text, size_t len,
				     token_emit_fn emit, void *ctx)
{
	const unsigned char *p = (const unsigned char *)text;
	uint32_t pos = 0;
	size_t i = 0, start = 0, cur_off = 0, cur_len = 0;
	int cur_type = UCODE_DELIM;
	bool in_token = false, first = false;

	while (i < len) {
		uint32_t cp = 0;
		size_t n = utf8_decode(p + i, len - i, &cp);
		int t = n ? code_class(cp) : UCODE_DELIM;
		size_t off = i;

		if (n == 0)
			n = 1;
		i += n;
		if (!in_token) {
			if (t == UCODE_DELIM)
				continue;
			in_token = true;
			first = true;
			start = cur_off = off;
			cur_len = n;
			cur_type = t;
			continue;
		}
		if (t == UCODE_DELIM) {
			emit_code_token(ts, text + start, cur_off + cur_len - start, pos++, emit, ctx);
			in_token = false;
			continue;
		}
		if (cur_type == UCODE_UPPER && t == UCODE_LOWER) {
			if (!first) {
				/* "ABCa": "AB" ends before the last uppercase letter */
				emit_code_token(ts, text + start, cur_off - start, pos++, emit, ctx);
				start = cur_off;
			}
			first = false;
		} else if (cur_type == t) {
			first = false;
		} else {
			emit_code_token(ts, text + start, cur_off + cur_len - start, pos++, emit, ctx);
			start = off;
			first = true;
		}
		cur_off = off;
		cur_len = n;
		cur_type = t;
	}
	if (in_token)
		emit_code_token(ts, text + start, cur_off + cur_len - start, pos++, emit, ctx);
	return pos;
}

void tokenizer_normalize_pattern(struct tokenizer_ref ref, const char *text, size_t len,
				 struct buf *out)
{
	struct buf tmp = BUF_INIT;

	buf_reset(out);
	buf_add(out, text, len);
	if (ref.kind == TOK_CUSTOM) {
		for (size_t i = 0; ref.custom && i < ref.custom->n_filters; i++) {
			if (ref.custom->filters[i] == TF_LOWER_CASER)
				tokenizer_lowercase(out->data, out->len, &tmp);
			else if (ref.custom->filters[i] == TF_ASCII_FOLDING)
				tokenizer_ascii_fold(out->data, out->len, &tmp);
			else
				continue;
			buf_reset(out);
			buf_add(out, tmp.data, tmp.len);
		}
	} else if (tokenizer_lowercases(ref)) {
		tokenizer_lowercase(text, len, out);
		if (ref.kind == TOK_SOURCE_CODE_DEFAULT) {
			tokenizer_ascii_fold(out->data, out->len, &tmp);
			buf_reset(out);
			buf_add(out, tmp.data, tmp.len);
		}
	}
	buf_free(&tmp);
}

/* ------------------------------------------------------ custom tokenizers */

/* The filters of the custom tokenizer in ts->custom, in order, then the caller's emit. */
static void custom_emit(void *ctx, const char *tok, size_t len, uint32_t pos)
{
	struct tokenizer_state *ts = ctx;
	const struct custom_tokenizer *c = ts->custom;

	for (size_t i = 0; i < c->n_filters; i++) {
		switch (c->filters[i]) {
		case TF_REMOVE_LONG:
			if (len >= TOKEN_MAX_BYTES)
				return;
			break;
		case TF_LOWER_CASER:
			tokenizer_lowercase(tok, len, &ts->scratch);
			buf_reset(&ts->filtered);
			buf_add(&ts->filtered, ts->scratch.data, ts->scratch.len);
			tok = ts->filtered.data;
			len = ts->filtered.len;
			break;
		case TF_ASCII_FOLDING:
			tokenizer_ascii_fold(tok, len, &ts->scratch2);
			buf_reset(&ts->filtered);
			buf_add(&ts->filtered, ts->scratch2.data, ts->scratch2.len);
			tok = ts->filtered.data;
			len = ts->filtered.len;
			break;
		case TF_STEMMER: {
			const char *s = stem(stemmer_of(ts, c->filter_lang[i]), tok, &len);

			/* the stem is in the stemmer's memory (it copies its input) */
			buf_reset(&ts->filtered);
			buf_add(&ts->filtered, s, len);
			tok = ts->filtered.data;
			len = ts->filtered.len;
			break;
		}
		}
	}
	ts->next(ts->next_ctx, tok, len, pos);
}

/* A span [from, to) of the text as a token of the custom tokenizer. */
static void custom_span(struct tokenizer_state *ts, size_t from, size_t to, uint32_t pos)
{
	ts->tok_from = from;
	ts->tok_to = to;
	custom_emit(ts, ts->text + from, to - from, pos);
}

/*
 * As tantivy's RegexTokenizer: each match searched in the rest of the text
 * after the previous one (so ^ anchors there), until none or an empty one.
 */
static void *compile_pattern(const char *pattern, uint32_t opts)
{
	PCRE2_SIZE erroff;
	int errcode;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_UCP | opts, &errcode, &erroff, NULL);

	/* the config checked the pattern: only memory can fail here */
	if (!re)
		xalloc_die();
	return re;
}

static uint32_t tokenize_regex(struct tokenizer_state *ts, const char *text, size_t len,
			       bool emitting)
{
	size_t cursor = 0;
	uint32_t pos = 0, match_opts = 0;
	void *re;

	/* keyed by the pattern text: a definition's address may be reused by the next split's */
	if (!ts->re || strcmp(buf_str(&ts->re_pattern), ts->custom->pattern) != 0) {
		pcre2_match_data_free(ts->re_match);
		pcre2_code_free(ts->re);
		pcre2_code_free(ts->re_invalid);
		ts->re_invalid = NULL;
		ts->re = compile_pattern(ts->custom->pattern, 0);
		ts->re_match = pcre2_match_data_create_from_pattern(ts->re, NULL);
		if (!ts->re_match)
			xalloc_die();
		buf_reset(&ts->re_pattern);
		buf_adds(&ts->re_pattern, ts->custom->pattern);
	}
	/*
	 * PCRE2 checks the whole rest of the subject at each match unless told
	 * it is valid UTF-8 (each match would be O(length)): valid text is
	 * checked once here; text with invalid bytes takes the pattern compiled
	 * to never match them (and pays the per-match check).
	 */
	if (utf8_valid(text, len)) {
		re = ts->re;
		match_opts = PCRE2_NO_UTF_CHECK;
	} else {
		if (!ts->re_invalid)
			ts->re_invalid = compile_pattern(ts->custom->pattern, PCRE2_MATCH_INVALID_UTF);
		re = ts->re_invalid;
	}
	while (cursor <= len) {
		PCRE2_SIZE *ov;
		int rc = pcre2_match(re, (PCRE2_SPTR)(text + cursor), len - cursor, 0, match_opts,
				     ts->re_match, NULL);

		/* no match, or PCRE2's match limit (10 million backtracking steps):
		 * the tokens end there */
		if (rc < 0)
			break;
		ov = pcre2_get_ovector_pointer(ts->re_match);
		if (ov[1] <= ov[0])
			break;
		if (emitting)
			custom_span(ts, cursor + ov[0], cursor + ov[1], pos);
		pos++;
		cursor += ov[1];
	}
	return pos;
}

/*
 * As tantivy's NgramTokenizer: by start (code point), then by length, and
 * every gram at position 0 (so a query's grams must all be in a value, in
 * any order, as in Quickwit). Returns 1 position when there is a gram.
 */
static uint32_t tokenize_ngram(struct tokenizer_state *ts, const char *text, size_t len,
			       bool emitting)
{
	const unsigned char *p = (const unsigned char *)text;
	const struct custom_tokenizer *c = ts->custom;
	uint32_t grams = 0;

	for (size_t start = 0; start < len;) {
		size_t end = start, n;
		uint32_t cp, chars = 0;

		while (end < len && chars < c->max_gram) {
			n = utf8_decode(p + end, len - end, &cp);
			end += n ? n : 1;
			chars++;
			if (chars >= c->min_gram) {
				if (emitting)
					custom_span(ts, start, end, 0);
				grams++;
			}
		}
		if (c->prefix_only)
			break;
		n = utf8_decode(p + start, len - start, &cp);
		start += n ? n : 1;
	}
	return grams ? 1 : 0;
}

static uint32_t tokenize_custom(struct tokenizer_state *ts, const struct custom_tokenizer *c,
				const char *text, size_t len, token_emit_fn emit, void *ctx)
{
	uint32_t npos;

	ts->custom = c;
	ts->next = emit;
	ts->next_ctx = ctx;
	switch (c->type) {
	case CTOK_REGEX:
		return tokenize_regex(ts, text, len, emit != NULL);
	case CTOK_NGRAM:
		return tokenize_ngram(ts, text, len, emit != NULL);
	case CTOK_SOURCE_CODE:
		ts->raw_spans = true;
		npos = tokenize_source_code(ts, text, len, emit ? custom_emit : NULL, ts);
		break;
	case CTOK_SIMPLE:
	default:
		ts->raw_spans = true;
		npos = tokenize_default(ts, text, len, emit ? custom_emit : NULL, ts);
		break;
	}
	ts->raw_spans = false;
	return npos;
}

static bool is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* whitespace: words are runs of bytes other than ASCII white space, kept
 * as they are. */
static inline bool next_whitespace_word(const unsigned char *p, size_t len, size_t *at,
					struct word *w)
{
	size_t i = *at;

	while (i < len && is_ascii_space(p[i]))
		i++;
	if (i >= len)
		return false;
	w->start = i;
	while (i < len && !is_ascii_space(p[i]))
		i++;
	w->end = i;
	w->lower = false;
	*at = i;
	return true;
}

uint32_t tokenize(struct tokenizer_state *ts, struct tokenizer_ref ref, const char *text,
		  size_t len, token_emit_fn emit, void *ctx)
{
	ts->text = text;
	switch (ref.kind) {
	case TOK_CUSTOM:
		/* a custom reference always has its definition (config, split reader) */
		return tokenize_custom(ts, ref.custom, text, len, emit, ctx);
	case TOK_DEFAULT:
		return tokenize_default(ts, text, len, emit, ctx);
	case TOK_WHITESPACE:
		return tokenize_words(ts, text, len, next_whitespace_word, emit, ctx);
	case TOK_EN_STEM:
		return tokenize_en_stem(ts, text, len, emit, ctx);
	case TOK_CHINESE_COMPATIBLE:
		return tokenize_words(ts, text, len, next_chinese_word, emit, ctx);
	case TOK_SOURCE_CODE_DEFAULT:
		return tokenize_source_code(ts, text, len, emit, ctx);
	case TOK_RAW_LOWERCASE:
	case TOK_LOWERCASE:
		emit_token(ts, text, len, true, 0, emit, ctx);
		return 1;
	case TOK_RAW:
	default:
		emit_token(ts, text, len, false, 0, emit, ctx);
		return 1;
	}
}
