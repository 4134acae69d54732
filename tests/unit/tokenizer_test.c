#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "tap.h"
#include "mapping/tokenizer.h"

struct collect {
	struct buf out;     /* "tok@pos tok@pos " */
	size_t n;
};

static void collect_emit(void *ctx, const char *tok, size_t len, uint32_t pos)
{
	struct collect *c = ctx;

	buf_add(&c->out, tok, len);
	buf_addf(&c->out, "@%u ", pos);
	c->n++;
}

static int check(enum tokenizer t, const char *in, const char *want, uint32_t want_pos,
		 const char *what)
{
	struct tokenizer_state ts;
	struct collect c = { BUF_INIT, 0 };
	uint32_t np;
	int r;

	tokenizer_init(&ts);
	np = tokenize(&ts, TOKENIZER(t), in, strlen(in), collect_emit, &c);
	r = ok(strcmp(buf_str(&c.out), want) == 0 && np == want_pos, "%s", what);
	if (!r)
		tap_diag("got '%s' (%u positions), want '%s' (%u)", buf_str(&c.out), np, want,
			 want_pos);
	buf_free(&c.out);
	tokenizer_free(&ts);
	return r;
}

/* As check, with a custom tokenizer. */
static int check_custom(const struct custom_tokenizer *ct, const char *in, const char *want,
			uint32_t want_pos, const char *what)
{
	struct tokenizer_state ts;
	struct collect c = { BUF_INIT, 0 };
	struct tokenizer_ref ref = { TOK_CUSTOM, ct };
	uint32_t np, np_count;
	int r;

	tokenizer_init(&ts);
	np = tokenize(&ts, ref, in, strlen(in), collect_emit, &c);
	np_count = tokenize(&ts, ref, in, strlen(in), NULL, NULL);
	r = ok(strcmp(buf_str(&c.out), want) == 0 && np == want_pos && np_count == want_pos,
	       "%s", what);
	if (!r)
		tap_diag("got '%s' (%u positions, %u counted), want '%s' (%u)", buf_str(&c.out), np,
			 np_count, want, want_pos);
	buf_free(&c.out);
	tokenizer_free(&ts);
	return r;
}

static void count_emit(void *ctx, const char *tok, size_t len, uint32_t pos)
{
	size_t *n = ctx;

	(void)tok;
	(void)len;
	(void)pos;
	(*n)++;
}

int main(void)
{
	struct buf b = BUF_INIT;
	char *longtok;

	check(TOK_DEFAULT, "Hello, World!", "hello@0 world@1 ", 2, "default splits on punctuation and lowercases");
	check(TOK_DEFAULT, "a_b-c.d/e f", "a@0 b@1 c@2 d@3 e@4 f@5 ", 6, "default splits on _ - . / and space");
	check(TOK_DEFAULT, "", "", 0, "empty text has no tokens");
	check(TOK_DEFAULT, "  ...  ", "", 0, "only separators give no tokens");
	check(TOK_DEFAULT, "ERROR 404 x2", "error@0 404@1 x2@2 ", 3, "digits are word characters");
	check(TOK_DEFAULT, "Ærøskøbing ÉTÉ", "ærøskøbing@0 été@1 ", 2, "non-ASCII letters are kept and lowercased");
	check(TOK_DEFAULT, "ΑΒΓ δ", "αβγ@0 δ@1 ", 2, "Greek lowercases");
	check(TOK_DEFAULT, "Привет Мир", "привет@0 мир@1 ", 2, "Cyrillic lowercases");
	check(TOK_DEFAULT, "東京 タワー", "東京@0 タワー@1 ", 2, "CJK letters are word characters");
	check(TOK_DEFAULT, "٣٤ ۵", "٣٤@0 ۵@1 ", 2, "Arabic-Indic digits are word characters");
	check(TOK_DEFAULT, "a\xe2\x80\x94" "b", "a@0 b@1 ", 2, "em dash separates");
	check(TOK_DEFAULT, "a\xc2\xa0" "b", "a@0 b@1 ", 2, "no-break space separates");
	check(TOK_DEFAULT, "ab\xff" "cd\xc3", "ab@0 cd@1 ", 2, "invalid UTF-8 bytes separate");
	check(TOK_DEFAULT, "x\xf0\x9d\x90\x80y", "x\xf0\x9d\x90\x80y@0 ", 1, "astral letters (math bold A) are word characters");
	check(TOK_DEFAULT, "a\xf0\x9f\x98\x80" "b", "a@0 b@1 ", 2, "emoji separate");
	check(TOK_DEFAULT, "\xc4\xb0stanbul", "istanbul@0 ", 1, "dotted capital I lowercases to i");
	check(TOK_DEFAULT, "e\xcc\x81t\xc3\xa9", "e\xcc\x81t\xc3\xa9@0 ", 1, "combining marks stay inside a word");

	/* 255-byte rule */
	longtok = malloc(300);
	memset(longtok, 'a', 254);
	longtok[254] = '\0';
	buf_adds(&b, "x ");
	buf_adds(&b, longtok);
	buf_adds(&b, " y");
	{
		struct buf want = BUF_INIT;

		buf_adds(&want, "x@0 ");
		buf_adds(&want, longtok);
		buf_adds(&want, "@1 y@2 ");
		check(TOK_DEFAULT, b.data, want.data, 3, "a 254-byte token is kept");
		buf_free(&want);
	}
	buf_reset(&b);
	memset(longtok, 'A', 255);
	longtok[255] = '\0';
	buf_adds(&b, "x ");
	buf_adds(&b, longtok);
	buf_adds(&b, " y");
	check(TOK_DEFAULT, b.data, "x@0 y@2 ", 3, "a 255-byte token is dropped but keeps its position");
	check(TOK_RAW, longtok, "", 1, "raw drops a 255-byte value");
	longtok[254] = '\0';
	{
		struct buf want = BUF_INIT;

		buf_adds(&want, longtok);
		buf_adds(&want, "@0 ");
		check(TOK_RAW, longtok, want.data, 1, "raw keeps a 254-byte value as is");
		buf_free(&want);
	}

	check(TOK_RAW, "Hello World-1", "Hello World-1@0 ", 1, "raw keeps the whole value");
	check(TOK_RAW_LOWERCASE, "Hello ÉTÉ", "hello été@0 ", 1, "raw_lowercase lowercases the whole value");
	check(TOK_LOWERCASE, "ABC", "abc@0 ", 1, "lowercase is raw_lowercase");
	check(TOK_WHITESPACE, " Foo-Bar\tbaz\n\nQ ", "Foo-Bar@0 baz@1 Q@2 ", 3, "whitespace splits on ASCII whitespace only and keeps case");

	/* en_stem: stems from the Snowball English (Porter2) sample vocabulary */
	check(TOK_EN_STEM, "consign consigned consigning consignment consist consisted consistency",
	      "consign@0 consign@1 consign@2 consign@3 consist@4 consist@5 consist@6 ", 7,
	      "en_stem stems the Snowball sample's consign/consist words");
	check(TOK_EN_STEM, "Consolation consolatory CONSOLED consolingly conspiracy conspirators constable",
	      "consol@0 consolatori@1 consol@2 consol@3 conspiraci@4 conspir@5 constabl@6 ", 7,
	      "en_stem lowercases before stemming");
	check(TOK_EN_STEM, "running_fast, generously-happiness 42",
	      "run@0 fast@1 generous@2 happi@3 42@4 ", 5, "en_stem splits as default does");
	{
		struct buf in = BUF_INIT, want = BUF_INIT;

		for (int i = 0; i < 255; i++)
			buf_addc(&in, 'a');
		buf_adds(&in, " cats");
		buf_adds(&want, "cat@1 ");
		check(TOK_EN_STEM, in.data, want.data, 2, "en_stem drops a 255-byte token before stemming");
		buf_free(&in);
		buf_free(&want);
	}
	/* chinese_compatible, as Quickwit's ChineseTokenizer */
	check(TOK_CHINESE_COMPATIBLE, "你好World 世界hello123,ÉTÉ",
	      "你@0 好@1 world@2 世@3 界@4 hello123@5 été@6 ", 7,
	      "chinese_compatible: one token per CJK ideograph, runs of other letters and digits");
	check(TOK_CHINESE_COMPATIBLE, "\xe3\x90\x80\xf0\xa0\x80\x80x-y\xff\xef\xa4\x80",
	      "\xe3\x90\x80@0 \xf0\xa0\x80\x80@1 x@2 y@3 \xef\xa4\x80@4 ", 5,
	      "chinese_compatible: extension A, B and compatibility ideographs; invalid bytes separate");
	/* source_code_default: the cases of Quickwit's CodeTokenizer tests */
	check(TOK_SOURCE_CODE_DEFAULT, "PigCaféFactory2", "pig@0 cafe@1 factory@2 2@3 ", 4,
	      "source_code_default: camelCase and digit boundaries, lowercased and ASCII-folded");
	check(TOK_SOURCE_CODE_DEFAULT, "PIG_CAFE_FACTORY", "pig@0 cafe@1 factory@2 ", 3,
	      "source_code_default: snake_case in capitals");
	check(TOK_SOURCE_CODE_DEFAULT, "TPigCafeFactory", "t@0 pig@1 cafe@2 factory@3 ", 4,
	      "source_code_default: a leading capital run gives its last letter to the next word");
	check(TOK_SOURCE_CODE_DEFAULT, "PIG# Cafe@FACTORY", "pig@0 cafe@1 factory@2 ", 3,
	      "source_code_default: punctuation and spaces split");
	check(TOK_SOURCE_CODE_DEFAULT, "HTTPServer snake_case_name x86_64 Ac ABCa", 
	      "http@0 server@1 snake@2 case@3 name@4 x@5 86@6 64@7 ac@8 ab@9 ca@10 ", 11,
	      "source_code_default: acronyms, snake_case, letters then digits");
	check(TOK_SOURCE_CODE_DEFAULT, "", "", 0, "source_code_default: empty text");
	check(TOK_SOURCE_CODE_DEFAULT, "__..--", "", 0, "source_code_default: only delimiters");
	check(TOK_SOURCE_CODE_DEFAULT, "Straße\xffÆsir", "strasse@0 aesir@1 ", 2,
	      "source_code_default: ß and Æ fold, an invalid byte is a delimiter");
	check(TOK_SOURCE_CODE_DEFAULT, "ÉTÉ été", "ete@0 ete@1 ", 2,
	      "source_code_default: non-ASCII capitals are uppercase letters");
	{
		struct buf in = BUF_INIT, want = BUF_INIT;

		for (int i = 0; i < 255; i++)
			buf_addc(&in, 'a');
		buf_adds(&in, " Ok");
		buf_adds(&want, "ok@1 ");
		check(TOK_SOURCE_CODE_DEFAULT, in.data, want.data, 2,
		      "source_code_default drops a 255-byte token, which keeps its position");
		buf_free(&in);
		buf_free(&want);
	}
	buf_reset(&b);
	tokenizer_ascii_fold("Crème brûlée ﬁn Ωx \xff", strlen("Crème brûlée ﬁn Ωx \xff"), &b);
	ok(strcmp(b.data, "Creme brulee fin Ωx \xff") == 0,
	   "tokenizer_ascii_fold folds Latin accents and ligatures, keeps Greek and invalid bytes");
	/* custom tokenizers (doc_mapping.tokenizers) */
	{
		struct custom_tokenizer simple = { .name = "s", .type = CTOK_SIMPLE };
		struct custom_tokenizer simple_lower = { .name = "sl", .type = CTOK_SIMPLE,
			.filters = { TF_LOWER_CASER, TF_ASCII_FOLDING }, .n_filters = 2 };
		struct custom_tokenizer code = { .name = "c", .type = CTOK_SOURCE_CODE };
		struct custom_tokenizer re = { .name = "r", .type = CTOK_REGEX,
			.pattern = "[A-Z][a-z]+|\\d+", .filters = { TF_LOWER_CASER }, .n_filters = 1 };
		struct custom_tokenizer re_anchor = { .name = "ra", .type = CTOK_REGEX, .pattern = "^\\w" };
		struct custom_tokenizer re_empty = { .name = "re", .type = CTOK_REGEX, .pattern = "a*" };
		struct custom_tokenizer ng = { .name = "n", .type = CTOK_NGRAM, .min_gram = 2, .max_gram = 3 };
		struct custom_tokenizer ng_prefix = { .name = "np", .type = CTOK_NGRAM, .min_gram = 1,
			.max_gram = 3, .prefix_only = true, .filters = { TF_LOWER_CASER }, .n_filters = 1 };
		struct custom_tokenizer long_then_lower = { .name = "ll", .type = CTOK_SIMPLE,
			.filters = { TF_REMOVE_LONG, TF_LOWER_CASER }, .n_filters = 2 };
		struct buf in = BUF_INIT, want = BUF_INIT;
		struct tokenizer_ref ref = { TOK_CUSTOM, &simple_lower };

		check_custom(&simple, "Hello, Wörld_x", "Hello@0 Wörld@1 x@2 ", 3,
			     "custom simple: splits as default, no filter: case kept");
		check_custom(&simple_lower, "Hello, Wörld", "hello@0 world@1 ", 2,
			     "custom simple + lower_caser + ascii_folding");
		check_custom(&code, "getHTTPResponse2", "get@0 HTTP@1 Response@2 2@3 ", 4,
			     "custom source_code: CodeTokenizer splits, no filter");
		check_custom(&re, "xx FooBar 42 baz", "foo@0 bar@1 42@2 ", 3,
			     "custom regex: successive matches, then lower_caser");
		check_custom(&re_anchor, "abc", "a@0 b@1 c@2 ", 3,
			     "custom regex: ^ anchors after the previous match, as tantivy slices the text");
		check_custom(&re_empty, "aab", "aa@0 ", 1, "custom regex: an empty match ends the tokens");
		check_custom(&re, "Ab\xff" "12Cd", "ab@0 12@1 cd@2 ", 3,
			     "custom regex: an invalid UTF-8 byte is never matched");
		check_custom(&ng, "abcd", "ab@0 abc@0 bc@0 bcd@0 cd@0 ", 1,
			     "custom ngram 2..3: by start then length, all at position 0 as tantivy");
		check_custom(&ng, "éa", "éa@0 ", 1, "custom ngram counts code points, not bytes");
		check_custom(&ng, "a", "", 0, "custom ngram: text shorter than min_gram");
		check_custom(&ng_prefix, "ABcd", "a@0 ab@0 abc@0 ", 1, "custom ngram prefix_only + lower_caser");
		for (int i = 0; i < 255; i++)
			buf_addc(&in, 'A');
		buf_adds(&in, " B");
		check_custom(&long_then_lower, in.data, "b@1 ", 2,
			     "custom remove_long drops a 255-byte token, which keeps its position");
		buf_reset(&want);
		buf_add(&want, in.data, 255);
		buf_adds(&want, "@0 B@1 ");
		check_custom(&simple, in.data, want.data, 2, "without remove_long a long token is kept");
		{
			/* stem pairs from the Snowball pages of each language (snowballstem.org) */
			struct custom_tokenizer st = { .name = "st", .type = CTOK_SIMPLE,
				.filters = { TF_LOWER_CASER, TF_STEMMER }, .n_filters = 2 };
			static const struct { enum stem_language l; const char *in, *want; uint32_t n; } pairs[] = {
				{ STEM_ENGLISH, "Consignment knightly generously", "consign@0 knight@1 generous@2 ", 3 },
				{ STEM_FRENCH, "continuellement continuation", "continuel@0 continu@1 ", 2 },
				{ STEM_GERMAN, "aufeinanderfolgenden Kategorisch", "aufeinanderfolg@0 kategor@1 ", 2 },
				{ STEM_SPANISH, "chiquillo chicharrón", "chiquill@0 chicharron@1 ", 2 },
				{ STEM_RUSSIAN, "вавилонский", "вавилонск@0 ", 1 },
				{ STEM_DUTCH, "lichamelijk", "licham@0 ", 1 },
			};

			for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
				char what[96];

				st.filter_lang[1] = pairs[i].l;
				snprintf(what, sizeof(what), "custom stemmer filter (%s)",
					 config_stem_language_name(pairs[i].l));
				check_custom(&st, pairs[i].in, pairs[i].want, pairs[i].n, what);
			}
			{
				/* one state, two languages in turn: each its own stemmer */
				struct custom_tokenizer fr = st, en = st;
				struct tokenizer_state ts;
				struct collect c = { BUF_INIT, 0 };

				fr.filter_lang[1] = STEM_FRENCH;
				en.filter_lang[1] = STEM_ENGLISH;
				tokenizer_init(&ts);
				tokenize(&ts, (struct tokenizer_ref){ TOK_CUSTOM, &fr }, "continuation", 12, collect_emit, &c);
				tokenize(&ts, (struct tokenizer_ref){ TOK_CUSTOM, &en }, "continuation", 12, collect_emit, &c);
				if (!ok(strcmp(buf_str(&c.out), "continu@0 continu@0 ") == 0,
					"a tokenizer state keeps one stemmer per language"))
					tap_diag("got '%s'", buf_str(&c.out));
				buf_free(&c.out);
				tokenizer_free(&ts);
			}
		}
		buf_free(&in);
		buf_free(&want);
		{
			/* one state, two regex tokenizers in turn: each runs its own pattern */
			struct custom_tokenizer digits = { .name = "d", .type = CTOK_REGEX, .pattern = "\\d+" };
			struct tokenizer_state ts;
			struct collect c = { BUF_INIT, 0 };

			tokenizer_init(&ts);
			tokenize(&ts, (struct tokenizer_ref){ TOK_CUSTOM, &re }, "Ab 12", 5, collect_emit, &c);
			tokenize(&ts, (struct tokenizer_ref){ TOK_CUSTOM, &digits }, "Ab 12", 5, collect_emit, &c);
			tokenize(&ts, (struct tokenizer_ref){ TOK_CUSTOM, &re }, "Cd 3", 4, collect_emit, &c);
			ok(strcmp(buf_str(&c.out), "ab@0 12@1 12@0 cd@0 3@1 ") == 0,
			   "a tokenizer state switches between regex tokenizers");
			buf_free(&c.out);
			tokenizer_free(&ts);
		}
		ok(tokenizer_lowercases(ref) && !tokenizer_lowercases((struct tokenizer_ref){ TOK_CUSTOM, &simple }),
		   "a custom tokenizer lowercases when it has lower_caser");
	}
	{
		struct custom_tokenizer fold_only = { .name = "f", .type = CTOK_SIMPLE,
			.filters = { TF_ASCII_FOLDING }, .n_filters = 1 };

		tokenizer_normalize_pattern(TOKENIZER(TOK_SOURCE_CODE_DEFAULT), "CAFÉ*", strlen("CAFÉ*"), &b);
		ok(strcmp(b.data, "cafe*") == 0, "a source_code_default pattern is lowercased and folded");
		tokenizer_normalize_pattern(TOKENIZER(TOK_DEFAULT), "CAFÉ*", strlen("CAFÉ*"), &b);
		ok(strcmp(b.data, "café*") == 0, "a default pattern is lowercased only");
		tokenizer_normalize_pattern(TOKENIZER(TOK_RAW), "CAFÉ*", strlen("CAFÉ*"), &b);
		ok(strcmp(b.data, "CAFÉ*") == 0, "a raw pattern is kept");
		tokenizer_normalize_pattern((struct tokenizer_ref){ TOK_CUSTOM, &fold_only }, "CAFÉ?", strlen("CAFÉ?"), &b);
		ok(strcmp(b.data, "CAFE?") == 0, "a custom pattern goes through its filters only");
		tokenizer_normalize_pattern(TOKENIZER(TOK_SOURCE_CODE_DEFAULT), "", 0, &b);
		ok(b.len == 0, "an empty pattern stays empty");
	}
	ok(tokenizer_lowercases(TOKENIZER(TOK_SOURCE_CODE_DEFAULT)), "source_code_default lowercases");
	ok(tokenizer_lowercases(TOKENIZER(TOK_EN_STEM)) && tokenizer_lowercases(TOKENIZER(TOK_CHINESE_COMPATIBLE)) &&
	   !tokenizer_lowercases(TOKENIZER(TOK_RAW)) && !tokenizer_lowercases(TOKENIZER(TOK_WHITESPACE)),
	   "tokenizer_lowercases");
	{
		struct tokenizer_state ts;

		tokenizer_init(&ts);
		ok(tokenize(&ts, TOKENIZER(TOK_DEFAULT), "a b-c", 5, NULL, NULL) == 3, "a NULL emit counts positions only");
		ok(tokenize(&ts, TOKENIZER(TOK_EN_STEM), "a b-c", 5, NULL, NULL) == 3, "en_stem counts positions without emit");
		tokenizer_free(&ts);
	}
	buf_reset(&b);
	tokenizer_lowercase("MiXeD ÀÉÎ Ω \xff", strlen("MiXeD ÀÉÎ Ω \xff"), &b);
	ok(strcmp(b.data, "mixed àéî ω \xff") == 0, "tokenizer_lowercase lowercases and keeps invalid bytes");

	/* speed: ASCII log text */
	{
		struct tokenizer_state ts;
		const char *line = "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for application appattempt_1445144423722_0020_000001 ";
		struct buf big = BUF_INIT;
		size_t n = 0;
		struct timespec t0, t1;
		double secs, mbs;

		while (big.len < 16u << 20)
			buf_adds(&big, line);
		tokenizer_init(&ts);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		tokenize(&ts, TOKENIZER(TOK_DEFAULT), big.data, big.len, count_emit, &n);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		mbs = (double)big.len / 1e6 / secs;
		tap_diag("default tokenizer: %.0f MB/s (sanitizers slow this down)", mbs);
		ok(n > 0, "tokenizes 16 MB of log text (%zu tokens)", n);
		{
			/* the other splitting tokenizers, on the same text */
			struct custom_tokenizer words = { .name = "w", .type = CTOK_REGEX,
				.pattern = "[A-Za-z]+|[0-9]+", .filters = { TF_LOWER_CASER }, .n_filters = 1 };
			struct tokenizer_ref others[] = { TOKENIZER(TOK_SOURCE_CODE_DEFAULT),
				{ TOK_CUSTOM, &words } };
			const char *names[] = { "source_code_default", "regex [A-Za-z]+|[0-9]+ + lower_caser" };

			for (size_t k = 0; k < 2; k++) {
				size_t m = 0;

				clock_gettime(CLOCK_MONOTONIC, &t0);
				tokenize(&ts, others[k], big.data, big.len, count_emit, &m);
				clock_gettime(CLOCK_MONOTONIC, &t1);
				secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
				tap_diag("%s tokenizer: %.0f MB/s", names[k], (double)big.len / 1e6 / secs);
				ok(m > n, "%s cuts more tokens than default here (%zu)", names[k], m);
			}
		}
		tokenizer_free(&ts);
		buf_free(&big);
	}

	free(longtok);
	buf_free(&b);
	return tap_done();
}
