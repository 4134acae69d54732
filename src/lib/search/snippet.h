/*
 * snippet: the highlighted fragment of a text for the terms of a query,
 * as tantivy's SnippetGenerator makes it for Quickwit's snippet_fields.
 *
 * The text is tokenized with the field's tokenizer. Fragments start at
 * byte 0, then at the first token that would make the current fragment
 * longer than max_chars bytes (from its start to the end of its last
 * token). A fragment scores the sum of the scores of the query terms it
 * holds (every occurrence); the best fragment wins, the earliest among
 * equals. Its text is HTML-escaped (& < > " ') with <b>...</b> around each
 * term. Pure: no I/O, no allocation kept; reentrant.
 */
#ifndef QW_SNIPPET_H
#define QW_SNIPPET_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "mapping/tokenizer.h"

#define SNIPPET_MAX_CHARS 150   /* tantivy's DEFAULT_MAX_NUM_CHARS */

struct snippet_term {
	const char *term;            /* a token as the tokenizer emits it */
	size_t len;
	double score;                /* tantivy: 1 / (1 + doc_freq) */
};

/* Replace out with the snippet of text; false (out empty) when no term occurs in it. */
bool snippet_html(struct tokenizer_state *ts, struct tokenizer_ref tok, const char *text, size_t len,
		  const struct snippet_term *terms, size_t n_terms, size_t max_chars, struct buf *out);

#endif
