/*
 * snippet: highlighted fragments for snippet_fields (snippet.h).
 */
#include <stdlib.h>
#include <string.h>

#include "search/snippet.h"
#include "base/xalloc.h"

struct range {
	size_t from, to;
};

struct fragment {
	size_t start, stop;
	double score;
	struct range *hl;
	size_t n_hl, cap_hl;
};

struct gen {
	struct tokenizer_state *ts;
	const struct snippet_term *terms;
	size_t n_terms, max_chars;
	struct fragment cur, best;
	bool has_best;
};

static void fragment_close(struct gen *g)
{
	struct fragment tmp;

	if (g->cur.score > 0 && (!g->has_best || g->cur.score > g->best.score)) {
		tmp = g->best;
		g->best = g->cur;
		g->cur = tmp;
		g->has_best = true;
	}
	g->cur.n_hl = 0;
	g->cur.score = 0;
}

static void on_token(void *ctx, const char *tok, size_t len, uint32_t pos)
{
	struct gen *g = ctx;
	size_t from = g->ts->tok_from, to = g->ts->tok_to, i;

	(void)pos;
	if (to - g->cur.start > g->max_chars) {
		fragment_close(g);
		g->cur.start = from;
	}
	g->cur.stop = to;
	for (i = 0; i < g->n_terms; i++) {
		if (g->terms[i].len != len || memcmp(g->terms[i].term, tok, len) != 0)
			continue;
		g->cur.score += g->terms[i].score;
		XGROW(g->cur.hl, g->cur.n_hl + 1, g->cur.cap_hl);
		g->cur.hl[g->cur.n_hl].from = from;
		g->cur.hl[g->cur.n_hl].to = to;
		g->cur.n_hl++;
		break;
	}
}

static void add_escaped(struct buf *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#x27;");
			break;
		default:
			buf_addc(out, s[i]);
		}
	}
}

bool snippet_html(struct tokenizer_state *ts, struct tokenizer_ref tok, const char *text, size_t len,
		  const struct snippet_term *terms, size_t n_terms, size_t max_chars, struct buf *out)
{
	struct gen g;
	size_t at, i;

	memset(&g, 0, sizeof(g));
	g.ts = ts;
	g.terms = terms;
	g.n_terms = n_terms;
	g.max_chars = max_chars;
	buf_reset(out);
	tokenize(ts, tok, text, len, on_token, &g);
	fragment_close(&g);
	if (g.has_best) {
		at = g.best.start;
		for (i = 0; i < g.best.n_hl; i++) {
			if (g.best.hl[i].from < at)
				continue;    /* overlapping ranges collapse into the first */
			add_escaped(out, text + at, g.best.hl[i].from - at);
			buf_adds(out, "<b>");
			add_escaped(out, text + g.best.hl[i].from, g.best.hl[i].to - g.best.hl[i].from);
			buf_adds(out, "</b>");
			at = g.best.hl[i].to;
		}
		add_escaped(out, text + at, g.best.stop - at);
	}
	free(g.cur.hl);
	free(g.best.hl);
	return g.has_best;
}
