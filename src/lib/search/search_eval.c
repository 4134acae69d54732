/*
 * search_eval: a query tree into the bitset of a split's docs it matches
 * (search_int.h): terms and phrases from postings, ranges by a fast-column
 * scan or a dictionary walk, prefixes, wildcards and regexes over the
 * dictionary, exists from columns or postings; AND/OR/NOT word-wise.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/xalloc.h"
#include "mapping/datetime.h"
#include "mapping/value.h"
#include "search/search_int.h"
#include "split/split_format.h"
#include "split/termkey.h"

/* as Quickwit's phrase prefix query: the first 50 terms of the prefix, in dictionary order */
#define PHRASE_PREFIX_MAX_EXPANSIONS 50

/* ------------------------------------------------------------------ value encoding */

/* A datetime literal of the query for the field at path (value.h's rule, its input formats). */
bool parse_datetime(const struct index_config *cfg, const char *path, const char *s,
			   int64_t *us)
{
	const struct field_mapping *m = config_find_field(cfg, path);

	return m ? value_parse_datetime_literal(m->input_formats, m->n_input_formats, s, us)
		 : value_parse_datetime_literal(NULL, 0, s, us);
}

/*
 * The 8-byte key of a numeric-like value of kind for a term query: false
 * when s is not a value of that kind.
 */
static bool encode_key(struct split_ctx *split, const char *path, enum value_kind kind,
		       const char *s, uint64_t *key)
{
	int64_t i;
	uint64_t u;
	double d;

	switch (kind) {
	case VK_I64:
		if (value_parse_i64(s, &i)) {
			*key = termkey_from_i64(i);
			return true;
		}
		if (value_parse_f64_saturating(s, &d) && d == floor(d) && fabs(d) < 9.2e18) {
			*key = termkey_from_i64((int64_t)d);
			return true;
		}
		return false;
	case VK_U64:
		if (value_parse_u64(s, &u)) {
			*key = u;
			return true;
		}
		if (value_parse_f64_saturating(s, &d) && d >= 0 && d == floor(d) && d < 1.8e19) {
			*key = (uint64_t)d;
			return true;
		}
		return false;
	case VK_F64:
		if (!value_parse_f64_saturating(s, &d))
			return false;
		*key = termkey_from_f64(d);
		return true;
	case VK_DATETIME:
		if (!parse_datetime(split->cfg, path, s, &i))
			return false;
		*key = termkey_from_i64(i);
		return true;
	case VK_BOOL: {
		bool b;

		if (!value_parse_bool(s, &b))
			return false;
		*key = b;
		return true;
	}
	default:
		return false;
	}
}

/*
 * The 16-byte address a plus dir (1 or -1), big-endian; false when it
 * would wrap past the last or first address.
 */
static bool ip_step(uint8_t a[16], int dir)
{
	uint8_t edge = dir > 0 ? 0xff : 0x00;
	int i;

	for (i = 15; i >= 0 && a[i] == edge; i--)
		;
	if (i < 0)
		return false;
	a[i] = (uint8_t)(a[i] + dir);
	for (i++; i < 16; i++)
		a[i] = (uint8_t)(0xff - edge);
	return true;
}

/* ------------------------------------------------------------------ leaves */

/* Set the docs of one term's postings. 0 ok, -1 error. */
static int add_postings(struct split_ctx *split, const struct split_term_info *ti,
			struct bitset *out)
{
	struct split_postings *p = split_postings_open(split->r, ti, false, split->err);
	const uint32_t *docs;
	uint32_t n;

	if (!p)
		return -1;
	for (;;) {
		if (split_postings_next_docs(p, &docs, &n, split->err) < 0) {
			split_postings_free(p);
			return -1;
		}
		if (n == 0)
			break;
		for (uint32_t i = 0; i < n; i++)
			bs_set(out, docs[i]);
	}
	split_postings_free(p);
	return 0;
}

static int add_term(struct split_ctx *split, int field, const void *term, size_t len,
		    struct bitset *out)
{
	struct split_term_info ti;
	int rc = split_reader_term_lookup(split->r, field, term, len, &ti, split->err);

	if (rc <= 0)
		return rc;
	return add_postings(split, &ti, out);
}

void tok_emit(void *ctx, const char *tok, size_t len, uint32_t pos)
{
	struct toks *tk = ctx;

	if (tk->n == tk->cap) {
		tk->cap = tk->cap ? tk->cap * 2 : 8;
		tk->t = xreallocarray(tk->t, tk->cap, sizeof(*tk->t));
		tk->tl = xreallocarray(tk->tl, tk->cap, sizeof(*tk->tl));
		tk->pos = xreallocarray(tk->pos, tk->cap, sizeof(*tk->pos));
	}
	tk->t[tk->n] = xmemdup(tok, len + 1);
	tk->t[tk->n][len] = '\0';
	tk->tl[tk->n] = len;
	tk->pos[tk->n] = pos;
	tk->n++;
}

void toks_free(struct toks *tk)
{
	size_t i;

	for (i = 0; i < tk->n; i++)
		free(tk->t[i]);
	free(tk->t);
	free(tk->tl);
	free(tk->pos);
	memset(tk, 0, sizeof(*tk));
}

/*
 * One token of a phrase: the postings of its term, or the union of those
 * of several terms (the expansions of a phrase prefix's last token, read
 * in one pass instead of one phrase each).
 */
struct phrase_slot {
	struct split_postings **ps; /* by current doc, ascending (an ordered union) */
	uint32_t *cur;     /* the current doc of each of ps */
	uint32_t *rank;    /* of each of ps: its rank by doc freq, most frequent 0 */
	uint32_t *df_of;   /* the doc freq of each list as opened (ranks are made of them) */
	size_t n;
	uint64_t df;       /* sum of doc freqs: the rarest slot leads the intersection */
	uint32_t *pos;     /* the positions of the terms in the slot's doc, when n > 1 */
	uint32_t npos, cap;
};

/* Put ps[0] back in its place after its doc moved forward. */
static void slot_sift(struct phrase_slot *s)
{
	struct split_postings *p = s->ps[0];
	uint32_t d = s->cur[0], r = s->rank[0];
	size_t i;

	for (i = 1; i < s->n && s->cur[i] < d; i++) {
		s->ps[i - 1] = s->ps[i];
		s->cur[i - 1] = s->cur[i];
		s->rank[i - 1] = s->rank[i];
	}
	s->ps[i - 1] = p;
	s->cur[i - 1] = d;
	s->rank[i - 1] = r;
}

/*
 * Move the slot to its first doc >= target (its least doc, in s->cur[0]):
 * only the lists behind target move, so 50 expansions cost no more per
 * doc than the few that are there.
 */
static inline int slot_advance(struct phrase_slot *s, uint32_t target, struct qw_err *err)
{
	if (s->n == 1)
		return split_postings_advance(s->ps[0], target, &s->cur[0], err);
	while (s->cur[0] < target) {
		if (split_postings_advance(s->ps[0], target, &s->cur[0], err) < 0)
			return -1;
		slot_sift(s);
	}
	return 0;
}

/* The positions of the slot's terms in its current doc, ascending. */
static int slot_merge_positions(struct phrase_slot *s, const uint32_t **pos, uint32_t *npos,
				struct qw_err *err)
{
	s->npos = 0;
	for (size_t i = 0; i < s->n && s->cur[i] == s->cur[0]; i++) {
		const uint32_t *p;
		uint32_t n;

		if (split_postings_positions(s->ps[i], &p, &n, err) < 0)
			return -1;
		if (s->npos + n > s->cap) {
			s->cap = (s->npos + n) * 2;
			s->pos = xreallocarray(s->pos, s->cap, sizeof(*s->pos));
		}
		memcpy(s->pos + s->npos, p, n * sizeof(*p));
		s->npos += n;
	}
	/* ascending, as one term's are (a few, mostly from one term: insertion) */
	for (uint32_t i = 1; i < s->npos; i++) {
		uint32_t v = s->pos[i], j = i;

		for (; j > 0 && s->pos[j - 1] > v; j--)
			s->pos[j] = s->pos[j - 1];
		s->pos[j] = v;
	}
	*pos = s->pos;
	*npos = s->npos;
	return 0;
}

/* The slot's positions: a term's own, or the merge of the union's (per doc: inline). */
static inline __attribute__((always_inline)) int
slot_positions(struct phrase_slot *s, const uint32_t **pos, uint32_t *npos, struct qw_err *err)
{
	if (s->n == 1)
		return split_postings_positions(s->ps[0], pos, npos, err);
	return slot_merge_positions(s, pos, npos, err);
}

/*
 * Whether the tokens are at their relative positions from one position of
 * the first (slop 0): every list ascending, so one merge pass (at: a
 * cursor per token) instead of a scan of each list for each position.
 */
static inline __attribute__((always_inline)) bool exact_phrase_at(const struct toks *tk, const uint32_t *const *pos,
				   const uint32_t *npos, size_t *at)
{
	if (tk->n == 2) {
		/* the common case, as one merge of two lists */
		uint64_t off = tk->pos[1] - tk->pos[0];
		uint32_t i = 0, j = 0;

		while (i < npos[0] && j < npos[1]) {
			uint64_t want = (uint64_t)pos[0][i] + off;

			if (pos[1][j] < want)
				j++;
			else if (pos[1][j] == want)
				return true;
			else
				i++;
		}
		return false;
	}
	for (size_t j = 1; j < tk->n; j++)
		at[j] = 0;
	for (uint32_t a = 0; a < npos[0]; a++) {
		bool all = true;

		for (size_t j = 1; j < tk->n && all; j++) {
			uint64_t want = (uint64_t)pos[0][a] + tk->pos[j] - tk->pos[0];

			while (at[j] < npos[j] && pos[j][at[j]] < want)
				at[j]++;
			if (at[j] == npos[j])
				return false; /* no later first position can match either */
			all = pos[j][at[j]] == want;
		}
		if (all)
			return true;
	}
	return false;
}

/*
 * Slop 0, the last slot a union: whether one of its terms in the slot's
 * doc ends the phrase of the others (pos, npos of the other slots filled).
 * The terms go most frequent first and only until one does, so the
 * positions of the others are mostly never decoded.
 */
static int slot_any_exact(struct phrase_slot *s, const struct toks *tk, const uint32_t **pos,
			  uint32_t *npos, size_t *at, struct qw_err *err)
{
	size_t last = tk->n - 1, m = 1, i, j;

	while (m < s->n && s->cur[m] == s->cur[0])
		m++;
	/* the lists at the doc by rank (they share their doc: the order by doc holds) */
	for (i = 1; i < m; i++) {
		struct split_postings *p = s->ps[i];
		uint32_t r = s->rank[i];

		for (j = i; j > 0 && s->rank[j - 1] > r; j--) {
			s->ps[j] = s->ps[j - 1];
			s->rank[j] = s->rank[j - 1];
		}
		s->ps[j] = p;
		s->rank[j] = r;
	}
	for (i = 0; i < m; i++) {
		if (split_postings_positions(s->ps[i], &pos[last], &npos[last], err) < 0)
			return -1;
		if (exact_phrase_at(tk, pos, npos, at))
			return 1;
	}
	return 0;
}

/*
 * Open in s the postings of the n terms (those the doc index has), each on
 * its first doc, ranked by doc freq and ordered by first doc.
 */
static int slot_open(struct split_ctx *split, int field, struct phrase_slot *s,
		     char *const *terms, const size_t *lens, size_t n)
{
	struct split_term_info ti;
	size_t j, k;
	int found;

	s->ps = xcalloc(n, sizeof(*s->ps));
	s->cur = xcalloc(n, sizeof(*s->cur));
	s->rank = xcalloc(n, sizeof(*s->rank));
	s->df_of = xcalloc(n, sizeof(*s->df_of));
	for (k = 0; k < n; k++) {
		const char *t = terms[k];
		size_t tl = lens[k];

		found = split_reader_term_lookup(split->r, field, t, tl, &ti, split->err);
		if (found < 0)
			return -1;
		if (found == 0)
			continue;
		s->ps[s->n] = split_postings_open(split->r, &ti, true, split->err);
		if (!s->ps[s->n])
			return -1;
		/* on its first doc, which is where the slot's order starts */
		if (split_postings_next(s->ps[s->n], &s->cur[s->n], split->err) < 0) {
			s->n++;
			return -1;
		}
		/* rank by doc freq: the lists before it that are rarer move down */
		s->rank[s->n] = 0;
		for (j = 0; j < s->n; j++) {
			if (s->df_of[j] >= ti.doc_freq)
				s->rank[s->n]++;
			else
				s->rank[j]++;
		}
		s->df_of[s->n] = ti.doc_freq;
		s->n++;
		s->df += ti.doc_freq;
	}
	/* insertion sort by first doc */
	for (k = 1; k < s->n; k++) {
		struct split_postings *p = s->ps[k];
		uint32_t d = s->cur[k], r = s->rank[k];

		for (j = k; j > 0 && s->cur[j - 1] > d; j--) {
			s->ps[j] = s->ps[j - 1];
			s->cur[j] = s->cur[j - 1];
			s->rank[j] = s->rank[j - 1];
		}
		s->ps[j] = p;
		s->cur[j] = d;
		s->rank[j] = r;
	}
	return 0;
}

/* Some position of the first token has each other token within slop of its place. */
static bool sloppy_phrase_at(const struct toks *tk, const uint32_t *const *pos,
			     const uint32_t *npos, uint32_t slop)
{
	size_t a, b, j;

	for (a = 0; a < npos[0]; a++) {
		bool all = true;

		for (j = 1; j < tk->n && all; j++) {
			int64_t want = (int64_t)pos[0][a] + (int64_t)tk->pos[j] - (int64_t)tk->pos[0];
			bool hit = false;

			for (b = 0; b < npos[j]; b++) {
				int64_t delta = (int64_t)pos[j][b] - want;

				if (delta >= -(int64_t)slop && delta <= (int64_t)slop &&
				    (slop > 0 || delta == 0)) {
					hit = true;
					break;
				}
			}
			all = hit;
		}
		if (all)
			return true;
	}
	return false;
}

/*
 * Docs where the tokens appear in order (positions relative, within slop).
 * With n_alts > 0 the last token is any of the terms alts (a phrase
 * prefix's expansions): the union of the phrases, each doc tested once.
 */
static int match_phrase_alts(struct split_ctx *split, int field, const struct toks *tk,
			     uint32_t slop, char *const *alts, const size_t *alt_len,
			     size_t n_alts, struct bitset *out)
{
	struct phrase_slot *sl = xcalloc(tk->n, sizeof(*sl));
	size_t *order = xcalloc(tk->n, sizeof(*order));
	const uint32_t **pos = xcalloc(tk->n, sizeof(*pos));
	uint32_t *npos = xcalloc(tk->n, sizeof(*npos));
	size_t *at = xcalloc(tk->n, sizeof(*at));
	uint32_t doc = 0;
	size_t i, j, k;
	int rc = -1;

	for (i = 0; i < tk->n; i++) {
		bool multi = n_alts > 0 && i == tk->n - 1;

		if (slot_open(split, field, &sl[i], multi ? alts : &tk->t[i],
			      multi ? alt_len : &tk->tl[i], multi ? n_alts : 1) < 0)
			goto out;
		if (sl[i].n == 0) {
			rc = 0;
			goto out;
		}
		/* insertion by doc freq */
		for (j = i; j > 0 && sl[order[j - 1]].df > sl[i].df; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	/* leapfrog intersection, led by the rarest slot */
	for (;;) {
		bool agree = true;

		for (k = 0; k < tk->n; k++) {
			struct phrase_slot *s = &sl[order[k]];

			if (slot_advance(s, doc, split->err) < 0)
				goto out;
			if (s->cur[0] == SPLIT_DOC_END) {
				rc = 0;
				goto out;
			}
			if (s->cur[0] != doc) {
				doc = s->cur[0];
				agree = false;
				break;
			}
		}
		if (!agree)
			continue;
		if (slop == 0 && n_alts > 0) {
			/* each term of the last slot in turn, most frequent first, until one makes the phrase */
			struct phrase_slot *s = &sl[tk->n - 1];
			int hit;

			for (i = 0; i + 1 < tk->n; i++)
				if (slot_positions(&sl[i], &pos[i], &npos[i], split->err) < 0)
					goto out;
			hit = slot_any_exact(s, tk, pos, npos, at, split->err);
			if (hit < 0)
				goto out;
			if (hit)
				bs_set(out, doc);
			goto next;
		}
		for (i = 0; i < tk->n; i++)
			if (slot_positions(&sl[i], &pos[i], &npos[i], split->err) < 0)
				goto out;
		if (slop == 0) {
			if (exact_phrase_at(tk, pos, npos, at))
				bs_set(out, doc);
			goto next;
		}
		if (sloppy_phrase_at(tk, pos, npos, slop))
			bs_set(out, doc);
next:
		doc++;
		if (doc == 0 || doc >= split->num_docs) {
			rc = 0;
			goto out;
		}
	}
out:
	for (i = tk->n; i-- > 0;) {
		for (k = 0; k < sl[i].n; k++)
			split_postings_free(sl[i].ps[k]);
		free(sl[i].ps);
		free(sl[i].cur);
		free(sl[i].rank);
		free(sl[i].df_of);
		free(sl[i].pos);
	}
	free(at);
	free(npos);
	free(pos);
	free(order);
	free(sl);
	return rc;
}

static int match_phrase(struct split_ctx *split, int field, const struct toks *tk, uint32_t slop,
			struct bitset *out)
{
	return match_phrase_alts(split, field, tk, slop, NULL, NULL, 0, out);
}

/* A text value on a text field: tokenized; several tokens make a phrase. */
int match_text(struct split_ctx *split, int field, const char *text, bool phrase,
		      uint32_t slop, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	struct toks tk;
	struct bitset tmp;
	size_t i;
	int rc = 0;

	memset(&tk, 0, sizeof(tk));
	tokenize(&split->ts, fi->tokenizer, text, strlen(text), tok_emit, &tk);
	if (tk.n == 1) {
		rc = add_term(split, field, tk.t[0], tk.tl[0], out);
	} else if (tk.n > 1 && fi->record == RECORD_POSITION) {
		rc = match_phrase(split, field, &tk, phrase ? slop : 0, out);
	} else if (tk.n > 1) {
		/* no positions: every token must be there */
		bs_init(&tmp, split->num_docs);
		struct bitset acc;

		bs_init(&acc, split->num_docs);
		bs_fill(&acc);
		for (i = 0; i < tk.n && rc == 0; i++) {
			bs_clear(&tmp);
			rc = add_term(split, field, tk.t[i], tk.tl[i], &tmp);
			bs_and(&acc, &tmp);
		}
		if (rc == 0)
			bs_or(out, &acc);
		bs_free(&acc);
		bs_free(&tmp);
	}
	toks_free(&tk);
	return rc < 0 ? -1 : 0;
}

static int bytes_cmp(const uint8_t *a, size_t al, const void *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* First ordinal of a dictionary column whose term is >= (or > when strict) t. */
static uint64_t dict_lower_bound(struct split_column *c, const void *t, size_t len, bool strict)
{
	uint64_t lo = 0, hi = split_column_dict_size(c);

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		const uint8_t *mt;
		size_t ml;
		int cmp;

		if (split_column_dict_term(c, mid, &mt, &ml) < 0)
			return hi;
		cmp = bytes_cmp(mt, ml, t, len);
		if (cmp < 0 || (strict && cmp == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A text range (or a single value when lower == upper, both inclusive) on a
 * fast field without a term dictionary: ordinals of the column's dictionary,
 * then a column scan.
 */
static int fast_text_range(struct split_ctx *split, int field, const char *lower, bool lower_incl,
			   const char *upper, bool upper_incl, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	struct split_column *c = split_column_open(split->r, field, split->err);
	struct buf lo = BUF_INIT, hi = BUF_INIT;
	uint64_t olo, ohi;
	int rc = -1;

	if (!c)
		return -1;
	if (fi->fast_normalizer == FAST_NORM_LOWERCASE) {
		if (lower)
			tokenizer_lowercase(lower, strlen(lower), &lo);
		if (upper)
			tokenizer_lowercase(upper, strlen(upper), &hi);
	} else {
		if (lower)
			buf_adds(&lo, lower);
		if (upper)
			buf_adds(&hi, upper);
	}
	olo = lower ? dict_lower_bound(c, buf_str(&lo), lo.len, !lower_incl) : 0;
	ohi = upper ? dict_lower_bound(c, buf_str(&hi), hi.len, upper_incl)
		    : split_column_dict_size(c);
	split_column_free(c);
	c = NULL;
	rc = 0;
	if (olo < ohi)
		rc = scan_column_keys(split, field, olo, ohi - 1, out);
	buf_free(&lo);
	buf_free(&hi);
	return rc;
}

/* A term value on one split field of any kind. */
int match_value(struct split_ctx *split, int field, const char *path, const char *text,
		       bool phrase, uint32_t slop, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	uint8_t key[16];
	uint64_t k;

	if (!fi->indexed) {
		/* a fast field without a term dictionary: its exact values */
		if (!fi->fast)
			return 0;
		if (fi->kind == VK_TEXT)
			return fast_text_range(split, field, text, true, text, true, out);
		if (fi->kind == VK_IP || fi->kind == VK_BYTES ||
		    !encode_key(split, path, fi->kind, text, &k))
			return 0;
		return scan_column_keys(split, field, k, k, out);
	}
	switch (fi->kind) {
	case VK_TEXT:
		return match_text(split, field, text, phrase, slop, out);
	case VK_BOOL:
		if (!encode_key(split, path, fi->kind, text, &k))
			return 0;
		key[0] = (uint8_t)k;
		return add_term(split, field, key, 1, out) < 0 ? -1 : 0;
	case VK_IP:
		if (!value_parse_ip(text, key))
			return 0;
		return add_term(split, field, key, 16, out) < 0 ? -1 : 0;
	case VK_BYTES: {
		/* the value in the field's input_format, as the indexer read it */
		const struct field_mapping *m = config_find_field(split->cfg, path);
		struct buf b = BUF_INIT;
		int rc;

		if (!docmap_bytes_decode(m, text, strlen(text), &b)) {
			buf_free(&b);
			return err_set(split->err, EX_DATAERR,
				       "field '%s': cannot parse '%s' as bytes (%s)", path, text,
				       m && m->bytes_input_hex ? "hex" : "base64");
		}
		rc = add_term(split, field, b.data ? b.data : "", b.len, out) < 0 ? -1 : 0;
		buf_free(&b);
		return rc;
	}
	default:
		if (!encode_key(split, path, fi->kind, text, &k))
			return 0;
		termkey_put(k, key);
		return add_term(split, field, key, 8, out) < 0 ? -1 : 0;
	}
}

/* Walk a dictionary from lower while keep(term) says so; union postings. */
static int walk_terms(struct split_ctx *split, int field, const void *lower, size_t lower_len,
		      const void *upper, size_t upper_len, bool upper_incl, bool prefix,
		      struct bitset *out)
{
	struct split_terms *it = split_terms_open(split->r, field, lower, lower_len, split->err);
	struct split_term_info ti;
	const uint8_t *t;
	size_t len;
	int rc;

	if (!it)
		return -1;
	for (;;) {
		rc = split_terms_next(it, &t, &len, &ti, split->err);
		if (rc <= 0)
			break;
		if (prefix) {
			if (len < lower_len || memcmp(t, lower, lower_len) != 0)
				break;
		} else if (upper) {
			size_t n = len < upper_len ? len : upper_len;
			int c = memcmp(t, upper, n);

			if (c == 0)
				c = len < upper_len ? -1 : len > upper_len;
			if (c > 0 || (c == 0 && !upper_incl))
				break;
		}
		rc = add_postings(split, &ti, out);
		if (rc < 0)
			break;
	}
	split_terms_free(it);
	return rc < 0 ? -1 : 0;
}

/*
 * The inclusive key of a numeric bound d that encode_key refused (a
 * fraction, or past the kind's limits) on an i64, u64 or datetime field:
 * rounded inward, clamped to the kind's range; false when no value of the
 * kind can satisfy it.
 */
static bool clamp_bound(enum value_kind kind, double d, bool lower, bool incl, uint64_t *key)
{
	double r = lower ? ceil(d) : floor(d);
	bool step = !incl && r == d; /* an exclusive integral bound moves by one */

	if (kind == VK_DATETIME) {
		/* only bounds past every representable datetime get here */
		*key = lower ? 0 : UINT64_MAX;
		return lower ? d < 0 : d > 0;
	}
	if (kind == VK_I64) {
		int64_t v;

		if (r < -9223372036854775808.0) {
			*key = termkey_from_i64(INT64_MIN);
			return lower;
		}
		if (r >= 9223372036854775808.0) {
			*key = termkey_from_i64(INT64_MAX);
			return !lower;
		}
		v = (int64_t)r;
		if (step) {
			if (lower ? v == INT64_MAX : v == INT64_MIN)
				return false;
			v += lower ? 1 : -1;
		}
		*key = termkey_from_i64(v);
		return true;
	}
	/* VK_U64 */
	if (r < 0) {
		*key = 0;
		return lower;
	}
	if (r >= 18446744073709551616.0) {
		*key = UINT64_MAX;
		return !lower;
	}
	*key = (uint64_t)r;
	if (step) {
		if (lower ? *key == UINT64_MAX : *key == 0)
			return false;
		*key += lower ? 1 : (uint64_t)-1;
	}
	return true;
}

/* Numeric range bounds as inclusive keys [lo, hi]; false when empty. */
static bool range_keys(struct split_ctx *split, const char *path, enum value_kind kind,
		       const struct query_node *n, uint64_t *lo, uint64_t *hi, bool *bad)
{
	int64_t us;
	double d;

	*lo = 0;
	*hi = UINT64_MAX;
	*bad = false;
	if (n->lower) {
		if (!encode_key(split, path, kind, n->lower, lo)) {
			if ((kind != VK_I64 && kind != VK_U64 && kind != VK_DATETIME) ||
			    !value_parse_f64_saturating(n->lower, &d) ||
			    (kind == VK_DATETIME && datetime_from_number(d, &us))) {
				*bad = true;
				return false;
			}
			if (!clamp_bound(kind, d, true, n->lower_incl, lo))
				return false;
		} else if (!n->lower_incl) {
			if (*lo == UINT64_MAX)
				return false;
			(*lo)++;
		}
	}
	if (n->upper) {
		if (!encode_key(split, path, kind, n->upper, hi)) {
			if ((kind != VK_I64 && kind != VK_U64 && kind != VK_DATETIME) ||
			    !value_parse_f64_saturating(n->upper, &d) ||
			    (kind == VK_DATETIME && datetime_from_number(d, &us))) {
				*bad = true;
				return false;
			}
			if (!clamp_bound(kind, d, false, n->upper_incl, hi))
				return false;
		} else if (!n->upper_incl) {
			if (*hi == 0)
				return false;
			(*hi)--;
		}
	}
	return *lo <= *hi;
}

int scan_column_keys(struct split_ctx *split, int field, uint64_t lo, uint64_t hi,
			    struct bitset *out)
{
	struct split_column *c = split_column_open(split->r, field, split->err);
	uint64_t s, e, v;
	uint32_t doc, nd;

	if (!c)
		return -1;
	nd = split_column_num_docs(c);
	if (split_column_single_valued(c)) {
		/* value i is doc i: whole blocks in or out of the range by their
		 * bounds (logs arrive nearly in time order, so a timestamp range
		 * decodes only the blocks at its edges) */
		uint64_t nb = split_column_num_blocks(c), b, i, vmin, vmax, vals[COL_VAL_BLOCK];

		for (b = 0; b < nb; b++) {
			split_column_block(c, b, &s, &e, &vmin, &vmax);
			if (vmax < lo || vmin > hi)
				continue;
			if (vmin >= lo && vmax <= hi) {
				bs_set_range(out, s, e);
				continue;
			}
			split_column_values(c, s, (size_t)(e - s), vals);
			for (i = 0; i < e - s; i++)
				if (vals[i] >= lo && vals[i] <= hi)
					bs_set(out, (uint32_t)(s + i));
		}
	} else {
		for (doc = 0; doc < nd; doc++) {
			split_column_doc_range(c, doc, &s, &e);
			for (; s < e; s++) {
				v = split_column_value(c, s);
				if (v >= lo && v <= hi) {
					bs_set(out, doc);
					break;
				}
			}
		}
	}
	split_column_free(c);
	return 0;
}

static int match_range(struct split_ctx *split, int field, const char *path,
		       const struct query_node *n, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	uint8_t lk[16], hk[16];
	uint64_t lo, hi;
	bool bad;

	switch (fi->kind) {
	case VK_TEXT:
	case VK_BYTES:
		/* as Quickwit: a text range reads the fast column (normalized values) */
		if (!fi->indexed || (fi->fast && fi->kind == VK_TEXT))
			return fi->fast && fi->kind == VK_TEXT
				? fast_text_range(split, field, n->lower, n->lower_incl, n->upper,
						  n->upper_incl, out)
				: 0;
		if (n->lower && !n->lower_incl) {
			/* first term strictly greater: lower + "\0" */
			struct buf b = BUF_INIT;
			int rc;

			buf_add(&b, n->lower, strlen(n->lower) + 1);
			rc = walk_terms(split, field, b.data, b.len, n->upper,
					n->upper ? strlen(n->upper) : 0, n->upper_incl, false, out);
			buf_free(&b);
			return rc;
		}
		return walk_terms(split, field, n->lower, n->lower ? strlen(n->lower) : 0, n->upper,
				  n->upper ? strlen(n->upper) : 0, n->upper_incl, false, out);
	case VK_IP: {
		uint8_t l16[16], h16[16];

		memset(l16, 0, 16);
		memset(h16, 0xff, 16);
		if ((n->lower && !value_parse_ip(n->lower, l16)) || (n->upper && !value_parse_ip(n->upper, h16)))
			return 0;
		/* exclusive bounds: the next address up, the previous one down */
		if (n->lower && !n->lower_incl && !ip_step(l16, 1))
			return 0;
		if (n->upper && !n->upper_incl && !ip_step(h16, -1))
			return 0;
		if (memcmp(l16, h16, 16) > 0)
			return 0;
		return walk_terms(split, field, l16, 16, h16, 16, true, false, out);
	}
	default:
		if (!range_keys(split, path, fi->kind, n, &lo, &hi, &bad))
			return 0;
		if (fi->fast && fi->kind == VK_DATETIME) {
			/* columns hold datetimes truncated to fast_precision: so do the bounds */
			const struct field_mapping *m = config_find_field(split->cfg, path);
			int64_t unit = !m ? 1 : m->fast_precision == DT_SECONDS ? 1000000 :
				m->fast_precision == DT_MILLISECONDS ? 1000 : 1;
			int64_t l = termkey_to_i64(lo), h = termkey_to_i64(hi);

			if (unit > 1) {
				/*
				 * as tantivy: truncate the bounds to the unit, then apply
				 * exclusivity (range_keys stepped by 1us: undo it first);
				 * unbounded ends stay unbounded
				 */
				bool lx = n->lower && !n->lower_incl, hx = n->upper && !n->upper_incl;

				if (l > INT64_MIN + unit) {
					l -= lx;
					l = (l >= 0 ? l / unit : -((-l + unit - 1) / unit)) * unit;
					if (lx && l > INT64_MAX - unit)
						return 0;
					l += lx ? unit : 0;
				}
				if (h > INT64_MIN + unit && h < INT64_MAX) {
					h += hx;
					h = (h >= 0 ? h / unit : -((-h + unit - 1) / unit)) * unit;
					h -= hx ? unit : 0;
				}
				lo = termkey_from_i64(l);
				hi = termkey_from_i64(h);
			}
		}
		if (fi->fast)
			return scan_column_keys(split, field, lo, hi, out);
		if (!fi->indexed)
			return 0;
		if (fi->kind == VK_BOOL) {
			lk[0] = (uint8_t)(lo > 1 ? 1 : lo);
			hk[0] = (uint8_t)(hi > 1 ? 1 : hi);
			return walk_terms(split, field, lk, 1, hk, 1, true, false, out);
		}
		termkey_put(lo, lk);
		termkey_put(hi, hk);
		return walk_terms(split, field, lk, 8, hk, 8, true, false, out);
	}
}

static int match_prefix(struct split_ctx *split, int field, const char *text, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	struct buf low = BUF_INIT;
	int rc;

	if (fi->kind != VK_TEXT || !fi->indexed)
		return 0;
	tokenizer_normalize_pattern(fi->tokenizer, text, strlen(text), &low);
	if (low.len == 0) {
		buf_free(&low);
		return split_reader_field(split->r, (size_t)field)->num_docs_with_value
			? walk_terms(split, field, NULL, 0, NULL, 0, true, false, out) : 0;
	}
	rc = walk_terms(split, field, low.data, low.len, NULL, 0, true, true, out);
	buf_free(&low);
	return rc;
}

/* Glob match of a term against a pattern with '*', '?' and backslash escapes. */
static bool glob_match(const char *pat, const uint8_t *t, size_t len)
{
	size_t ti = 0, star_p = (size_t)-1, star_t = 0, pi = 0;
	size_t plen = strlen(pat);

	while (ti < len) {
		if (pi < plen && pat[pi] == '*') {
			star_p = ++pi;
			star_t = ti;
			continue;
		}
		if (pi < plen && pat[pi] == '?') {
			pi++;
			ti++;
			while (ti < len && (t[ti] & 0xc0) == 0x80)
				ti++; /* one code point */
			continue;
		}
		if (pi < plen) {
			char c = pat[pi];
			size_t adv = 1;

			if (c == '\\' && pi + 1 < plen) {
				c = pat[pi + 1];
				adv = 2;
			}
			if ((uint8_t)c == t[ti]) {
				pi += adv;
				ti++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return false;
		pi = star_p;
		ti = ++star_t;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

static int match_wildcard(struct split_ctx *split, int field, const char *text, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	struct buf pat = BUF_INIT, pre = BUF_INIT;
	struct split_terms *it;
	struct split_term_info ti;
	const uint8_t *t;
	size_t len, i;
	int rc = 0;

	if (fi->kind != VK_TEXT || !fi->indexed)
		return 0;
	tokenizer_normalize_pattern(fi->tokenizer, text, strlen(text), &pat);
	/* the literal prefix before the first wildcard */
	for (i = 0; i < pat.len; i++) {
		char c = pat.data[i];

		if (c == '*' || c == '?')
			break;
		if (c == '\\' && i + 1 < pat.len)
			c = pat.data[++i];
		buf_addc(&pre, c);
	}
	it = split_terms_open(split->r, field, pre.data, pre.len, split->err);
	if (!it) {
		rc = -1;
		goto out;
	}
	for (;;) {
		rc = split_terms_next(it, &t, &len, &ti, split->err);
		if (rc <= 0)
			break;
		if (len < pre.len || memcmp(t, pre.data ? pre.data : "", pre.len) != 0)
			break;
		if (glob_match(buf_str(&pat), t, len) && add_postings(split, &ti, out) < 0) {
			rc = -1;
			break;
		}
	}
	split_terms_free(it);
out:
	buf_free(&pat);
	buf_free(&pre);
	return rc < 0 ? -1 : 0;
}

/*
 * The literal start every match of the regex re has: its characters up to
 * the first metacharacter, less the last one when a quantifier follows it
 * (`ab?`); none when re has an alternation anywhere (`ab|cd`). The terms of
 * a match lie in the dictionary range that starts with it.
 */
static size_t regex_literal_prefix(const char *re)
{
	size_t n = 0;

	if (strchr(re, '|'))
		return 0;
	while (re[n] && !strchr("\\^$.|?*+()[]{}", re[n]))
		n++;
	if (n > 0 && re[n] && strchr("?*{", re[n]))
		n--;
	return n;
}

/* field:/re/: the docs of every dictionary term the regex matches whole. */
static int match_regex(struct split_ctx *split, int field, const char *text, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	pcre2_code *re = NULL;
	pcre2_match_data *md = NULL;
	struct split_terms *it = NULL;
	struct split_term_info ti;
	const uint8_t *t;
	PCRE2_SIZE off;
	size_t len, plen;
	int code, rc = 0;

	if (fi->kind != VK_TEXT || !fi->indexed)
		return 0;
	re = pcre2_compile((PCRE2_SPTR)text, strlen(text), REGEX_OPTIONS, &code, &off, NULL);
	if (!re) {
		rc = err_set(split->err, EX_DATAERR, "query: invalid regex '%s'", text);
		goto out;
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	plen = regex_literal_prefix(text);
	it = split_terms_open(split->r, field, text, plen, split->err);
	if (!md || !it) {
		rc = md ? -1 : err_set(split->err, EX_SOFTWARE, "query: out of memory for a regex");
		goto out;
	}
	for (;;) {
		rc = split_terms_next(it, &t, &len, &ti, split->err);
		if (rc <= 0 || len < plen || memcmp(t, text, plen) != 0)
			break;
		if (pcre2_match(re, (PCRE2_SPTR)t, len, 0, 0, md, NULL) >= 0 &&
		    add_postings(split, &ti, out) < 0) {
			rc = -1;
			break;
		}
	}
out:
	split_terms_free(it);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc < 0 ? -1 : 0;
}

/*
 * field:"a b c"*: the phrase "a b c'" for c' each of the first 50 terms
 * (dictionary order) that start with c, as tantivy's PhrasePrefixQuery.
 * One token only: every term with the prefix (tantivy: a prefix range).
 */
static int match_phrase_prefix(struct split_ctx *split, int field, const char *text,
			       struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	struct split_terms *it = NULL;
	struct split_term_info ti;
	struct toks tk;
	char *prefix = NULL, *exp[PHRASE_PREFIX_MAX_EXPANSIONS];
	size_t exp_len[PHRASE_PREFIX_MAX_EXPANSIONS], n_exp = 0, plen, i, len;
	const uint8_t *t;
	int rc = 0;

	memset(&tk, 0, sizeof(tk));
	if (fi->kind != VK_TEXT || !fi->indexed)
		return 0;
	tokenize(&split->ts, fi->tokenizer, text, strlen(text), tok_emit, &tk);
	if (tk.n == 0)
		goto out;
	if (tk.n == 1) {
		rc = walk_terms(split, field, tk.t[0], tk.tl[0], NULL, 0, true, true, out);
		goto out;
	}
	if (fi->record != RECORD_POSITION)
		goto out; /* refused by check_field: no positions, no phrase */
	prefix = tk.t[tk.n - 1];
	plen = tk.tl[tk.n - 1];
	it = split_terms_open(split->r, field, prefix, plen, split->err);
	if (!it) {
		rc = -1;
		goto out;
	}
	while (n_exp < PHRASE_PREFIX_MAX_EXPANSIONS) {
		rc = split_terms_next(it, &t, &len, &ti, split->err);
		if (rc <= 0 || len < plen || memcmp(t, prefix, plen) != 0)
			break;
		exp[n_exp] = xmemdup(t, len + 1);
		exp[n_exp][len] = '\0';
		exp_len[n_exp++] = len;
	}
	if (rc < 0)
		goto out;
	rc = 0;
	if (n_exp > 0)
		rc = match_phrase_alts(split, field, &tk, 0, exp, exp_len, n_exp, out);
out:
	for (i = 0; i < n_exp; i++)
		free(exp[i]);
	split_terms_free(it);
	toks_free(&tk);
	return rc < 0 ? -1 : 0;
}

static int match_exists(struct split_ctx *split, int field, bool exact, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);
	struct split_column *c;
	uint64_t s, e;
	uint32_t doc, nd;

	if (fi->num_docs_with_value >= split->num_docs) {
		bs_fill(out);
		return 0;
	}
	/* text: present when it has a token (as Quickwit's field presence: "" is absent) */
	if (exact && fi->kind == VK_TEXT && fi->indexed)
		return walk_terms(split, field, NULL, 0, NULL, 0, true, false, out);
	if (fi->fast) {
		c = split_column_open(split->r, field, split->err);
		if (!c)
			return -1;
		nd = split_column_num_docs(c);
		for (doc = 0; doc < nd; doc++) {
			split_column_doc_range(c, doc, &s, &e);
			if (e > s)
				bs_set(out, doc);
		}
		split_column_free(c);
		return 0;
	}
	if (fi->indexed)
		return walk_terms(split, field, NULL, 0, NULL, 0, true, false, out);
	return 0;
}

/*
 * exists: a doc has the path when it has a value at the path or at any path
 * below it (an object exists when one of its leaves does, so `{}` and an
 * object of nulls do not). Every field is looked at: an object may have
 * hundreds of sub-paths.
 */
static int match_exists_path(struct split_ctx *split, const char *path, struct bitset *out)
{
	size_t plen = strlen(path), i;
	int rc = 0;

	for (i = 0; i < split_reader_num_fields(split->r) && rc == 0; i++) {
		const struct split_field_info *fi = split_reader_field(split->r, i);
		bool exact = strcmp(fi->path, path) == 0;

		if (!exact && (strncmp(fi->path, path, plen) != 0 || fi->path[plen] != '.'))
			continue;
		if (fi->num_docs_with_value == 0)
			continue;
		rc = match_exists(split, (int)i, exact, out);
	}
	return rc;
}

/*
 * A value of field:IN [...]: on an indexed text field the term exactly as
 * given, never tokenized nor lowercased (Quickwit's term set query:
 * `IN [HELLO]` does not match "hello"); any other kind as a term query.
 */
static int match_set_value(struct split_ctx *split, int field, const char *path, const char *value,
			   struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(split->r, (size_t)field);

	if (fi->kind == VK_TEXT && fi->indexed)
		return add_term(split, field, value, strlen(value), out) < 0 ? -1 : 0;
	return match_value(split, field, path, value, false, 0, out);
}

static int eval_leaf_path(struct split_ctx *split, const struct query_node *n, const char *path,
			  struct bitset *out)
{
	int ids[64];
	size_t nf, i, j;
	int rc = 0;

	if (n->kind == QN_EXISTS)
		return match_exists_path(split, path, out);
	nf = split_reader_find_path(split->r, path, ids, 64);
	if (nf > 64)
		nf = 64;

	for (i = 0; i < nf && rc == 0; i++) {
		switch (n->kind) {
		case QN_TERM:
			rc = match_value(split, ids[i], path, n->text, false, 0, out);
			break;
		case QN_PHRASE:
			rc = match_value(split, ids[i], path, n->text, true, n->slop, out);
			break;
		case QN_PREFIX:
			rc = match_prefix(split, ids[i], n->text, out);
			break;
		case QN_WILDCARD:
			rc = match_wildcard(split, ids[i], n->text, out);
			break;
		case QN_REGEX:
			rc = match_regex(split, ids[i], n->text, out);
			break;
		case QN_PHRASE_PREFIX:
			rc = match_phrase_prefix(split, ids[i], n->text, out);
			break;
		case QN_RANGE:
			rc = match_range(split, ids[i], path, n, out);
			break;
		case QN_SET:
			for (j = 0; j < n->n_values && rc == 0; j++)
				rc = match_set_value(split, ids[i], path, n->values[j], out);
			break;
		default:
			break;
		}
	}
	return rc;
}

int eval(struct split_ctx *split, const struct query_node *n, struct bitset *out)
{
	struct bitset tmp;
	size_t i;
	bool first = true;
	int rc = 0;

	switch (n->kind) {
	case QN_ALL:
		bs_fill(out);
		return 0;
	case QN_AND:
		bs_init(&tmp, split->num_docs);
		for (i = 0; i < n->n_kids && rc == 0; i++) {
			const struct query_node *k = n->kids[i];

			if (k->kind == QN_NOT)
				continue;
			if (first) {
				rc = eval(split, k, out);
				first = false;
			} else {
				bs_clear(&tmp);
				rc = eval(split, k, &tmp);
				bs_and(out, &tmp);
			}
		}
		if (first)
			bs_fill(out);
		for (i = 0; i < n->n_kids && rc == 0; i++) {
			if (n->kids[i]->kind != QN_NOT)
				continue;
			bs_clear(&tmp);
			rc = eval(split, n->kids[i]->kids[0], &tmp);
			bs_andnot(out, &tmp);
		}
		bs_free(&tmp);
		return rc;
	case QN_OR:
		bs_init(&tmp, split->num_docs);
		for (i = 0; i < n->n_kids && rc == 0; i++) {
			bs_clear(&tmp);
			rc = eval(split, n->kids[i], &tmp);
			bs_or(out, &tmp);
		}
		bs_free(&tmp);
		return rc;
	case QN_NOT:
		rc = eval(split, n->kids[0], out);
		bs_not(out);
		return rc;
	default:
		break;
	}
	if (n->field)
		return eval_leaf_path(split, n, n->field, out);
	for (i = 0; i < split->t->ix->n_search_fields && rc == 0; i++)
		rc = eval_leaf_path(split, n, split->t->ix->search_fields[i], out);
	return rc;
}
