/*
 * snippet_test: fragments and highlighting as tantivy's snippet tests
 * expect them (src/snippet/mod.rs: test_snippet, escaping, no match).
 */
#include <stdio.h>
#include <string.h>

#include "search/snippet.h"
#include "tap.h"

static const char *test_text =
	"Rust is a systems programming language sponsored by\n"
	"Mozilla which describes it as a \"safe, concurrent, practical language\", supporting functional and\n"
	"imperative-procedural paradigms. Rust is syntactically similar to C++[according to whom?],\n"
	"but its designers intend it to provide better memory safety while still maintaining\n"
	"performance.\n"
	"\n"
	"Rust is free and open-source software, released under an MIT License, or Apache License\n"
	"2.0. Its designers have refined the language through the experiences of writing the Servo\n"
	"web browser layout engine[14] and the Rust compiler. A large proportion of current commits\n"
	"to the project are from community members.[15]\n"
	"\n"
	"Rust won first place for \"most loved programming language\" in the Stack Overflow Developer\n"
	"Survey in 2016, 2017, and 2018.";

static void check(const char *text, const struct snippet_term *t, size_t n, size_t max,
		  bool want_found, const char *want, const char *name)
{
	struct tokenizer_state ts;
	struct buf out = BUF_INIT;
	bool found;

	tokenizer_init(&ts);
	found = snippet_html(&ts, TOKENIZER(TOK_DEFAULT), text, strlen(text), t, n, max, &out);
	if (!ok(found == want_found && strcmp(buf_str(&out), want) == 0, "%s", name))
		tap_diag("got '%s'", buf_str(&out));
	buf_free(&out);
	tokenizer_free(&ts);
}

int main(void)
{
	struct snippet_term rust_lang[] = { { "rust", 4, 1.0 }, { "language", 8, 0.9 } };
	struct snippet_term lang[] = { { "language", 8, 1.0 } };
	struct snippet_term mozilla[] = { { "mozilla", 7, 1.0 } };
	struct snippet_term none[] = { { "absent", 6, 1.0 } };
	struct snippet_term amp[] = { { "b", 1, 1.0 } };

	check(test_text, rust_lang, 2, 100, true,
	      "<b>Rust</b> is a systems programming <b>language</b> sponsored by\n"
	      "Mozilla which describes it as a &quot;safe", "tantivy test_snippet: first fragment wins");
	/* equal scores: the earliest fragment; a later one with two occurrences beats one */
	check(test_text, lang, 1, 100, true,
	      "Rust is a systems programming <b>language</b> sponsored by\n"
	      "Mozilla which describes it as a &quot;safe", "equal scores: the earliest fragment");
	{
		char text[400];

		snprintf(text, sizeof(text), "language%s language language",
			 " zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz"
			 " zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz"
			 " zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz zz");
		check(text, lang, 1, 40, true, "<b>language</b> <b>language</b>",
		      "the fragment with more occurrences wins");
	}
	check("a b c d", mozilla, 1, 150, false, "", "no term: no snippet");
	check(test_text, none, 1, 150, false, "", "an absent term: no snippet");
	check("x <a> & 'b' \"c\"", amp, 1, 150, true, "x &lt;a&gt; &amp; &#x27;<b>b</b>&#x27; &quot;c",
	      "html escaping as tantivy's encode_minimal");
	check("MOZILLA", mozilla, 1, 150, true, "<b>MOZILLA</b>", "terms match lowercased tokens, text as written");
	return tap_done();
}
