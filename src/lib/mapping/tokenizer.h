/*
 * tokenizer: text -> terms, the same way at index time and query time.
 *
 * default:    split on every code point that is not a Unicode letter or
 *             digit (so _ - . / split too), lowercase (Unicode simple
 *             case mapping), drop tokens of 255 bytes or more (a dropped
 *             token still takes a position).
 * raw:        the whole value is one term; dropped at 255 bytes or more.
 * raw_lowercase / lowercase: raw, lowercased.
 * whitespace: split on ASCII whitespace, no lowercasing, same length rule.
 * en_stem:    default, then each token stemmed by Snowball's English
 *             (Porter2) stemmer (libstemmer), as tantivy's Stemmer.
 * chinese_compatible: as Quickwit's: every CJK ideograph (U+4E00-9FFF,
 *             3400-4DBF, F900-FAFF, 20000-2A6DF, 2A700-2CEAF, 2F800-2FA1F)
 *             is a token of its own, runs of other letters and digits are
 *             tokens; then the length rule and lowercasing.
 * source_code_default: as Quickwit's CodeTokenizer: split on every
 *             character that is not a letter or a number, and where the
 *             class changes between uppercase letter, other letter and
 *             number, keeping one leading capital with the lowercase run
 *             after it ("PigCafeFactory2" -> pig cafe factory 2,
 *             "HTTPServer" -> http server, "snake_case" -> snake case);
 *             then the length rule (on the token as cut), lowercasing and
 *             ASCII folding ("Café" -> cafe). Letter, uppercase and number
 *             come from Unicode general categories L*, isupper and N*
 *             (gen_source_code.py), folding from its table.
 *
 * custom (TOK_CUSTOM, doc_mapping.tokenizers): a base tokenizer, then the
 *             filters in the order given (remove_long drops tokens of 255
 *             bytes or more as they are at that point; lower_caser;
 *             ascii_folding; stemmer: Snowball's stemmer of its language,
 *             libstemmer, as tantivy's Stemmer: the token as it is at that
 *             point, so without lower_caser before it case is kept). Bases: simple (default's split, no filter),
 *             source_code (source_code_default's split, no filter), regex
 *             (as tantivy's RegexTokenizer: each successive match of the
 *             PCRE2 pattern, UTF and Unicode properties on, searched in the
 *             text after the previous match, until no match or an empty
 *             one, or one that hits PCRE2's backtracking limit), ngram (as tantivy's NgramTokenizer: every run of
 *             min_gram..max_gram code points, by start then length; only
 *             those at the start with prefix_only), every gram at
 *             position 0 as tantivy puts them. Every regex match takes the
 *             next position.
 *
 * Invalid UTF-8 bytes are treated as separators by default and kept as
 * bytes by raw/whitespace. tokenize() calls emit once per kept token with
 * its position (0-based, counting dropped tokens). The token bytes are only
 * valid during the callback. Reentrant: all state is in the struct.
 */
#ifndef QW_TOKENIZER_H
#define QW_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "mapping/config.h"

#define TOKEN_MAX_BYTES 255  /* tokens of this length or more are dropped */

struct sb_stemmer;

typedef void (*token_emit_fn)(void *ctx, const char *tok, size_t len, uint32_t pos);

struct tokenizer_state {
	struct buf scratch;      /* reused lowercase buffer */
	struct buf scratch2;     /* reused ASCII folding buffer */
	/* during emit: the token's byte range [tok_from, tok_to) in the text (for snippets) */
	const char *text;
	size_t tok_from, tok_to;
	struct sb_stemmer *stemmers[STEM_N_LANGUAGES]; /* each made at its first use */
	token_emit_fn next;      /* en_stem, custom: the caller's emit and ctx */
	void *next_ctx;
	/* custom tokenizers */
	const struct custom_tokenizer *custom; /* the one being run */
	bool raw_spans;          /* base tokenizers emit spans as cut, unfiltered */
	struct buf filtered;     /* the token after the filters so far */
	void *re, *re_match;     /* pcre2 code and match data of re_pattern */
	void *re_invalid;        /* re_pattern compiled for text with invalid UTF-8 */
	struct buf re_pattern;
};

void tokenizer_init(struct tokenizer_state *ts);
void tokenizer_free(struct tokenizer_state *ts);
/* Tokenize text; returns the number of positions used (kept + dropped tokens).
 * emit may be NULL to count positions only. */
uint32_t tokenize(struct tokenizer_state *ts, struct tokenizer_ref t, const char *text,
		  size_t len, token_emit_fn emit, void *ctx);
/* True when the tokenizer lowercases its terms (prefix and wildcard patterns are lowercased too). */
bool tokenizer_lowercases(struct tokenizer_ref t);
/*
 * A prefix or wildcard pattern as the tokenizer's filters normalize a
 * token (lowercasing, ASCII folding, in a custom tokenizer's order), into
 * out (replacing its content). The pattern is not split.
 */
void tokenizer_normalize_pattern(struct tokenizer_ref t, const char *text, size_t len,
				 struct buf *out);
/* Lowercase UTF-8 text into out (replacing its content). */
void tokenizer_lowercase(const char *text, size_t len, struct buf *out);
/* Replace the code points that fold to ASCII (é -> e, ß -> ss, ﬁ -> fi) in
 * out (replacing its content); others, and invalid bytes, are kept. */
void tokenizer_ascii_fold(const char *text, size_t len, struct buf *out);

#endif
