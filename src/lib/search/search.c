/*
 * search: query execution over splits, top-K, merge, response (search.h).
 *
 * Per split, the query tree is evaluated into bitsets of doc ids (one bit
 * per doc): terms and phrases from postings, ranges by a fast-column scan
 * or a dictionary walk, exists from columns or postings. AND/OR/NOT are
 * word-wise operations. Hits are counted with popcount, the top-K is a
 * bounded heap over sort keys read from fast columns, and aggregations
 * read the same columns through an agg_source.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "search/aggs.h"
#include "mapping/config.h"
#include "mapping/datetime.h"
#include "mapping/docmap.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "store/s3.h"
#include "store/split_cache.h"
#include "search/query.h"
#include "search/search.h"
#include "search/snippet.h"
#include "split/split_format.h"
#include "split/split_reader.h"
#include "split/termkey.h"
#include "mapping/tokenizer.h"
#include "mapping/value.h"
#include "base/xalloc.h"

#define MAX_KINDS 8            /* fields of one path (one per value kind) */
#define MAX_SORT 2
#define SEARCH_S3_PARALLEL 8    /* s3:// splits read at once by default */
/* as tantivy's regex query: the regex matches a whole term, never a part */
#define REGEX_OPTIONS (PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)
/* as Quickwit's phrase prefix query: the first 50 terms of the prefix, in dictionary order */
#define PHRASE_PREFIX_MAX_EXPANSIONS 50

/* ------------------------------------------------------------------ bitsets */

struct bitset {
	uint64_t *w;
	size_t nw;
	uint32_t n;
};

static void bs_init(struct bitset *b, uint32_t n)
{
	b->n = n;
	b->nw = ((size_t)n + 63) / 64;
	b->w = xcalloc(b->nw ? b->nw : 1, sizeof(uint64_t));
}

static void bs_free(struct bitset *b)
{
	free(b->w);
	b->w = NULL;
}

static void bs_fill(struct bitset *b)
{
	size_t i;

	for (i = 0; i < b->nw; i++)
		b->w[i] = ~0ULL;
	if (b->n % 64)
		b->w[b->nw - 1] = (1ULL << (b->n % 64)) - 1;
}

static void bs_clear(struct bitset *b)
{
	memset(b->w, 0, b->nw * sizeof(uint64_t));
}

static inline void bs_set(struct bitset *b, uint32_t i)
{
	if (i < b->n)
		b->w[i / 64] |= 1ULL << (i % 64);
}

/* Sets [from, to) (clipped to the set's size). */
static void bs_set_range(struct bitset *b, uint64_t from, uint64_t to)
{
	if (to > b->n)
		to = b->n;
	for (; from < to && from % 64; from++)
		bs_set(b, (uint32_t)from);
	for (; from + 64 <= to; from += 64)
		b->w[from / 64] = ~0ULL;
	for (; from < to; from++)
		bs_set(b, (uint32_t)from);
}

static inline bool bs_get(const struct bitset *b, uint32_t i)
{
	return (b->w[i / 64] >> (i % 64)) & 1;
}

static void bs_and(struct bitset *a, const struct bitset *b)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] &= b->w[i];
}

static void bs_or(struct bitset *a, const struct bitset *b)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] |= b->w[i];
}

static void bs_andnot(struct bitset *a, const struct bitset *b)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] &= ~b->w[i];
}

static void bs_not(struct bitset *a)
{
	size_t i;

	for (i = 0; i < a->nw; i++)
		a->w[i] = ~a->w[i];
	if (a->n % 64)
		a->w[a->nw - 1] &= (1ULL << (a->n % 64)) - 1;
}

static uint64_t bs_count(const struct bitset *a)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < a->nw; i++)
		c += (uint64_t)__builtin_popcountll(a->w[i]);
	return c;
}

/* Next set bit at or after i, or UINT32_MAX. */
static uint32_t bs_next(const struct bitset *a, uint32_t i)
{
	size_t wi = i / 64;
	uint64_t w;

	if (i >= a->n)
		return UINT32_MAX;
	w = a->w[wi] & (~0ULL << (i % 64));
	for (;;) {
		if (w)
			return (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(w));
		if (++wi >= a->nw)
			return UINT32_MAX;
		w = a->w[wi];
	}
}

/* Last set bit at or before i, or UINT32_MAX. */
static uint32_t bs_prev(const struct bitset *a, uint32_t i)
{
	size_t wi;
	uint64_t w;

	if (a->n == 0)
		return UINT32_MAX;
	if (i >= a->n)
		i = a->n - 1;
	wi = i / 64;
	w = a->w[wi] & (~0ULL >> (63 - i % 64));
	for (;;) {
		if (w)
			return (uint32_t)(wi * 64 + 63 - (size_t)__builtin_clzll(w));
		if (wi-- == 0)
			return UINT32_MAX;
		w = a->w[wi];
	}
}

/* ------------------------------------------------------------------ contexts */

struct sort_spec {
	char *field;
	bool desc;
	bool by_doc;                 /* split then doc order (no field) */
	bool by_score;               /* BM25 relevance (_score) */
};

struct index_ctx {
	char *index_id;
	json_t *meta;                /* the metastore snapshot: config and splits */
	struct index_config *cfg;
	char **search_fields;        /* borrowed from req or cfg */
	size_t n_search_fields;
	bool lenient;                /* req->lenient */
};

struct hit {
	double k[MAX_SORT];
	bool has[MAX_SORT];
	uint32_t task, doc;
};

struct task {
	struct index_ctx *ix;
	char *split_id;
	char *path;
	uint64_t delete_opstamp;     /* the split's: delete tasks above it hide docs */
	uint64_t size;               /* the split's bytes from its record, 0: unknown */
	struct split_reader *r;      /* kept open for fetch_docs when it has hits */
	struct split_io io;          /* what the readers closed so far have read */
	/* results */
	uint64_t num_hits;
	struct hit *hits;
	size_t n_hits, cap_hits;
	struct agg_result *aggs;
	bool failed;
	struct qw_err err;
};

struct run {
	const struct search_request *req;
	struct query_node *q;
	struct agg_req *aggs;
	struct sort_spec sort[MAX_SORT];
	size_t n_sort;
	size_t k;                    /* start_offset + max_hits */
	struct task *tasks;
	size_t n_tasks;
	struct s3_client *s3;        /* shared by the readers of s3:// splits, or NULL */
	size_t next_task;            /* atomically incremented by workers */
	bool keep_readers;           /* tasks with hits keep their reader for fetch_docs */
	bool has_after;              /* search_after: only hits ranking after this one */
	struct hit after;            /* its sort values (task and doc unused) */
	char *after_split;           /* its tie breaker, NULL: ties are not after */
	uint32_t after_doc;
	bool doc_desc;               /* -_doc: split then doc order, reversed */
};

/* Per split evaluation state (one thread). */
struct split_ctx {
	struct run *run;
	struct task *t;
	struct split_reader *r;
	const struct index_config *cfg;
	uint32_t num_docs;
	struct tokenizer_state ts;
	struct qw_err *err;
};

/* ------------------------------------------------------------------ query checks */

static bool path_is_object_prefix(const struct index_config *cfg, const char *path)
{
	size_t n = strlen(path), i;

	for (i = 0; i < cfg->n_leaves; i++)
		if (strncmp(cfg->leaves[i]->path, path, n) == 0 && cfg->leaves[i]->path[n] == '.')
			return true;
	return false;
}

/* The field exists in index ix (mapped, an object prefix, or any path of a dynamic index). */
static bool field_known(const struct index_ctx *ix, const char *path)
{
	return config_resolve_field(ix->cfg, path, NULL) || ix->cfg->mode == MODE_DYNAMIC ||
	       path_is_object_prefix(ix->cfg, path);
}

/*
 * Searching several indexes, a field that exists in some of them only is no
 * error (as Quickwit): it matches nothing, sorts last and aggregates nothing
 * in the others. Unknown in all of them, it is.
 */
static bool field_known_in_some(const struct index_ctx *all, size_t n_all, const char *path)
{
	for (size_t i = 0; i < n_all; i++)
		if (field_known(&all[i], path))
			return true;
	return false;
}

static bool parse_datetime(const struct index_config *cfg, const char *path, const char *s,
			   int64_t *us);

/*
 * Could s be a literal of the field's type? Any number is fine on numeric
 * and datetime fields: a range bound is clamped (`u:>-1`, `i:<2.5`,
 * `ts:<1e30`) and a term that is no value of the type (`u:1.5`) matches
 * nothing, an exact answer. Words that are no number are errors.
 */
static bool literal_fits(const struct index_config *cfg, const char *path,
			 enum field_type type, const char *s)
{
	double d;
	int64_t us;
	uint8_t ip[16];
	bool b;

	switch (type) {
	case FT_I64:
	case FT_U64:
	case FT_F64:
		return value_parse_f64_saturating(s, &d);
	case FT_DATETIME:
		return parse_datetime(cfg, path, s, &us) || value_parse_f64_saturating(s, &d);
	case FT_BOOL:
		return value_parse_bool(s, &b);
	case FT_IP:
		return value_parse_ip(s, ip);
	default:
		return true;
	}
}

/* Values of a term, range or set that cannot be of a typed field's type: an error (Quickwit: 400). */
static int check_literals(const struct index_ctx *ix, const struct query_node *n,
			  const struct field_mapping *m, const char *path, struct qw_err *err)
{
	const char *bad = NULL;
	unsigned col = n->col;
	size_t i;

	switch (n->kind) {
	case QN_TERM:
	case QN_PHRASE:
		if (!literal_fits(ix->cfg, path, m->type, n->text)) {
			bad = n->text;
			col = n->text_col;
		}
		break;
	case QN_RANGE:
		if (n->lower && !literal_fits(ix->cfg, path, m->type, n->lower)) {
			bad = n->lower;
			col = n->lower_col;
		} else if (n->upper && !literal_fits(ix->cfg, path, m->type, n->upper)) {
			bad = n->upper;
			col = n->upper_col;
		}
		break;
	case QN_SET:
		for (i = 0; i < n->n_values && !bad; i++)
			if (!literal_fits(ix->cfg, path, m->type, n->values[i])) {
				bad = n->values[i];
				col = n->value_cols[i];
			}
		break;
	default:
		break;
	}
	if (!bad)
		return 0;
	return err_set(err, EX_DATAERR, "query: col %u: '%s' is not a valid %s for field '%s'",
		       col ? col : n->col, bad, config_field_type_name(m->type), path);
}

/* A regex that PCRE2 cannot compile is an error, with its position in the query. */
static int check_regex(const struct query_node *n, struct qw_err *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)n->text, strlen(n->text), REGEX_OPTIONS,
				       &code, &off, NULL);

	if (re) {
		pcre2_code_free(re);
		return 0;
	}
	if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", code);
	/* off counts bytes of the unescaped regex: near enough for a "\/" or two */
	return err_set(err, EX_DATAERR, "query: col %zu: invalid regex '%s': %s",
		       (size_t)n->text_col + off, n->text, (const char *)msg);
}

static int check_field(const struct index_ctx *ix, const struct index_ctx *all, size_t n_all,
		       const struct query_node *n, const char *path, struct qw_err *err)
{
	const struct field_mapping *m = config_resolve_field(ix->cfg, path, NULL);

	if (!m && n_all > 1 && !field_known(ix, path) && field_known_in_some(all, n_all, path))
		return 0;
	/* lenient: a field the index does not have matches nothing (no split has it) */
	if (!m && ix->lenient)
		return 0;
	if (!m) {
		size_t i, len;

		/* a path below a mapped leaf that is not json is no field, even in dynamic mode */
		for (i = 0; i < ix->cfg->n_leaves; i++) {
			len = strlen(ix->cfg->leaves[i]->path);
			if (strncmp(ix->cfg->leaves[i]->path, path, len) == 0 && path[len] == '.')
				return err_set(err, EX_DATAERR,
					       "query: col %u: unknown field '%s' in index '%s' ('%s' is a %s field)",
					       n->col, path, ix->index_id, ix->cfg->leaves[i]->path,
					       config_field_type_name(ix->cfg->leaves[i]->type));
		}
		if (ix->cfg->mode == MODE_DYNAMIC || n->kind == QN_EXISTS ||
		    path_is_object_prefix(ix->cfg, path))
			return 0;
		return err_set(err, EX_DATAERR, "query: col %u: unknown field '%s' in index '%s'",
			       n->col, path, ix->index_id);
	}
	if (!ix->lenient && check_literals(ix, n, m, path, err) < 0)
		return -1;
	if (n->kind == QN_REGEX && m->type != FT_TEXT && m->type != FT_JSON)
		return err_set(err, EX_DATAERR,
			       "query: col %u: regex on field '%s' which is a %s field (regexes match text terms)",
			       n->col, path, config_field_type_name(m->type));
	if ((n->kind == QN_PHRASE || n->kind == QN_PHRASE_PREFIX) && m->type == FT_TEXT &&
	    m->record != RECORD_POSITION) {
		struct tokenizer_state ts;
		uint32_t npos;

		/* a phrase of one token is a term: fine without positions */
		tokenizer_init(&ts);
		npos = tokenize(&ts, m->tokenizer, n->text, strlen(n->text), NULL, NULL);
		tokenizer_free(&ts);
		if (npos > 1)
			return err_set(err, EX_DATAERR,
				       "query: col %u: phrase query on field '%s' which is not indexed with positions (record: position)",
				       n->col, path);
	}
	if (!m->indexed && !m->fast && n->kind != QN_EXISTS)
		return err_set(err, EX_DATAERR, "query: col %u: field '%s' is neither indexed nor fast",
			       n->col, path);
	if (m->type == FT_BYTES && (n->kind == QN_TERM || n->kind == QN_PHRASE)) {
		struct buf b = BUF_INIT;
		bool good = docmap_bytes_decode(m, n->text, strlen(n->text), &b);

		buf_free(&b);
		if (!good)
			return err_set(err, EX_DATAERR,
				       "query: col %u: cannot parse '%s' as bytes for field '%s' (%s)",
				       n->col, n->text, path, m->bytes_input_hex ? "hex" : "base64");
	}
	return 0;
}

static int check_query(const struct index_ctx *ix, const struct index_ctx *all, size_t n_all,
		       const struct query_node *n, struct qw_err *err)
{
	size_t i;

	if (n->kind == QN_AND || n->kind == QN_OR || n->kind == QN_NOT) {
		for (i = 0; i < n->n_kids; i++)
			if (check_query(ix, all, n_all, n->kids[i], err) < 0)
				return -1;
		return 0;
	}
	if (n->kind == QN_ALL)
		return 0;
	if (n->kind == QN_REGEX && check_regex(n, err) < 0)
		return -1;
	if (!n->field) {
		if (ix->n_search_fields == 0)
			return err_set(err, EX_DATAERR,
				       "query: col %u: no field given and index '%s' has no default_search_fields",
				       n->col, ix->index_id);
		for (i = 0; i < ix->n_search_fields; i++)
			if (check_field(ix, all, n_all, n, ix->search_fields[i], err) < 0)
				return -1;
		return 0;
	}
	return check_field(ix, all, n_all, n, n->field, err);
}

/* ------------------------------------------------------------------ value encoding */

/* A datetime literal of the query for the field at path (value.h's rule, its input formats). */
static bool parse_datetime(const struct index_config *cfg, const char *path, const char *s,
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
static bool encode_key(struct split_ctx *sc, const char *path, enum value_kind kind, const char *s,
		       uint64_t *key)
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
		if (!parse_datetime(sc->cfg, path, s, &i))
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
static int add_postings(struct split_ctx *sc, const struct split_term_info *ti, struct bitset *out)
{
	struct split_postings *p = split_postings_open(sc->r, ti, false, sc->err);
	uint32_t doc;

	if (!p)
		return -1;
	for (;;) {
		if (split_postings_next(p, &doc, sc->err) < 0) {
			split_postings_free(p);
			return -1;
		}
		if (doc == SPLIT_DOC_END)
			break;
		bs_set(out, doc);
	}
	split_postings_free(p);
	return 0;
}

static int add_term(struct split_ctx *sc, int field, const void *term, size_t len,
		    struct bitset *out)
{
	struct split_term_info ti;
	int rc = split_reader_term_lookup(sc->r, field, term, len, &ti, sc->err);

	if (rc <= 0)
		return rc;
	return add_postings(sc, &ti, out);
}

struct toks {
	char **t;
	size_t *tl;
	uint32_t *pos;
	size_t n, cap;
};

static void tok_emit(void *ctx, const char *tok, size_t len, uint32_t pos)
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

static void toks_free(struct toks *tk)
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
 * Docs where the tokens appear in order (positions relative, within slop).
 * With n_alts > 0 the last token is any of the terms alts (a phrase
 * prefix's expansions): the union of the phrases, each doc tested once.
 */
static int match_phrase_alts(struct split_ctx *sc, int field, const struct toks *tk,
			     uint32_t slop, char *const *alts, const size_t *alt_len,
			     size_t n_alts, struct bitset *out)
{
	struct phrase_slot *sl = xcalloc(tk->n, sizeof(*sl));
	size_t *order = xcalloc(tk->n, sizeof(*order));
	const uint32_t **pos = xcalloc(tk->n, sizeof(*pos));
	uint32_t *npos = xcalloc(tk->n, sizeof(*npos));
	size_t *at = xcalloc(tk->n, sizeof(*at));
	struct split_term_info ti;
	uint32_t doc = 0;
	size_t i, j, k, a, b;
	int rc = -1, found;

	for (i = 0; i < tk->n; i++) {
		bool multi = n_alts > 0 && i == tk->n - 1;
		size_t n = multi ? n_alts : 1;

		sl[i].ps = xcalloc(n, sizeof(*sl[i].ps));
		sl[i].cur = xcalloc(n, sizeof(*sl[i].cur));
		sl[i].rank = xcalloc(n, sizeof(*sl[i].rank));
		sl[i].df_of = xcalloc(n, sizeof(*sl[i].df_of));
		for (k = 0; k < n; k++) {
			const char *t = multi ? alts[k] : tk->t[i];
			size_t tl = multi ? alt_len[k] : tk->tl[i];

			found = split_reader_term_lookup(sc->r, field, t, tl, &ti, sc->err);
			if (found < 0)
				goto out;
			if (found == 0)
				continue;
			sl[i].ps[sl[i].n] = split_postings_open(sc->r, &ti, true, sc->err);
			if (!sl[i].ps[sl[i].n])
				goto out;
			/* on its first doc, which is where the slot's order starts */
			if (split_postings_next(sl[i].ps[sl[i].n], &sl[i].cur[sl[i].n], sc->err) < 0) {
				sl[i].n++;
				goto out;
			}
			/* rank by doc freq: the lists before it that are rarer move down */
			sl[i].rank[sl[i].n] = 0;
			for (j = 0; j < sl[i].n; j++) {
				if (sl[i].df_of[j] >= ti.doc_freq)
					sl[i].rank[sl[i].n]++;
				else
					sl[i].rank[j]++;
			}
			sl[i].df_of[sl[i].n] = ti.doc_freq;
			sl[i].n++;
			sl[i].df += ti.doc_freq;
		}
		/* insertion sort by first doc */
		for (k = 1; k < sl[i].n; k++) {
			struct split_postings *p = sl[i].ps[k];
			uint32_t d = sl[i].cur[k], r = sl[i].rank[k];

			for (j = k; j > 0 && sl[i].cur[j - 1] > d; j--) {
				sl[i].ps[j] = sl[i].ps[j - 1];
				sl[i].cur[j] = sl[i].cur[j - 1];
				sl[i].rank[j] = sl[i].rank[j - 1];
			}
			sl[i].ps[j] = p;
			sl[i].cur[j] = d;
			sl[i].rank[j] = r;
		}
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

			if (slot_advance(s, doc, sc->err) < 0)
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
				if (slot_positions(&sl[i], &pos[i], &npos[i], sc->err) < 0)
					goto out;
			hit = slot_any_exact(s, tk, pos, npos, at, sc->err);
			if (hit < 0)
				goto out;
			if (hit)
				bs_set(out, doc);
			goto next;
		}
		for (i = 0; i < tk->n; i++)
			if (slot_positions(&sl[i], &pos[i], &npos[i], sc->err) < 0)
				goto out;
		if (slop == 0) {
			if (exact_phrase_at(tk, pos, npos, at))
				bs_set(out, doc);
			goto next;
		}
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
			if (all) {
				bs_set(out, doc);
				break;
			}
		}
next:
		doc++;
		if (doc == 0 || doc >= sc->num_docs) {
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

static int match_phrase(struct split_ctx *sc, int field, const struct toks *tk, uint32_t slop,
			struct bitset *out)
{
	return match_phrase_alts(sc, field, tk, slop, NULL, NULL, 0, out);
}

/* A text value on a text field: tokenized; several tokens make a phrase. */
static int match_text(struct split_ctx *sc, int field, const char *text, bool phrase,
		      uint32_t slop, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
	struct toks tk;
	struct bitset tmp;
	size_t i;
	int rc = 0;

	memset(&tk, 0, sizeof(tk));
	tokenize(&sc->ts, fi->tokenizer, text, strlen(text), tok_emit, &tk);
	if (tk.n == 1) {
		rc = add_term(sc, field, tk.t[0], tk.tl[0], out);
	} else if (tk.n > 1 && fi->record == RECORD_POSITION) {
		rc = match_phrase(sc, field, &tk, phrase ? slop : 0, out);
	} else if (tk.n > 1) {
		/* no positions: every token must be there */
		bs_init(&tmp, sc->num_docs);
		struct bitset acc;

		bs_init(&acc, sc->num_docs);
		bs_fill(&acc);
		for (i = 0; i < tk.n && rc == 0; i++) {
			bs_clear(&tmp);
			rc = add_term(sc, field, tk.t[i], tk.tl[i], &tmp);
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

static int scan_column_keys(struct split_ctx *sc, int field, uint64_t lo, uint64_t hi,
			    struct bitset *out);

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
static int fast_text_range(struct split_ctx *sc, int field, const char *lower, bool lower_incl,
			   const char *upper, bool upper_incl, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
	struct split_column *c = split_column_open(sc->r, field, sc->err);
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
		rc = scan_column_keys(sc, field, olo, ohi - 1, out);
	buf_free(&lo);
	buf_free(&hi);
	return rc;
}

/* A term value on one split field of any kind. */
static int match_value(struct split_ctx *sc, int field, const char *path, const char *text,
		       bool phrase, uint32_t slop, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
	uint8_t key[16];
	uint64_t k;

	if (!fi->indexed) {
		/* a fast field without a term dictionary: its exact values */
		if (!fi->fast)
			return 0;
		if (fi->kind == VK_TEXT)
			return fast_text_range(sc, field, text, true, text, true, out);
		if (fi->kind == VK_IP || fi->kind == VK_BYTES ||
		    !encode_key(sc, path, fi->kind, text, &k))
			return 0;
		return scan_column_keys(sc, field, k, k, out);
	}
	switch (fi->kind) {
	case VK_TEXT:
		return match_text(sc, field, text, phrase, slop, out);
	case VK_BOOL:
		if (!encode_key(sc, path, fi->kind, text, &k))
			return 0;
		key[0] = (uint8_t)k;
		return add_term(sc, field, key, 1, out) < 0 ? -1 : 0;
	case VK_IP:
		if (!value_parse_ip(text, key))
			return 0;
		return add_term(sc, field, key, 16, out) < 0 ? -1 : 0;
	case VK_BYTES: {
		/* the value in the field's input_format, as the indexer read it */
		const struct field_mapping *m = config_find_field(sc->cfg, path);
		struct buf b = BUF_INIT;
		int rc;

		if (!docmap_bytes_decode(m, text, strlen(text), &b)) {
			buf_free(&b);
			return err_set(sc->err, EX_DATAERR,
				       "field '%s': cannot parse '%s' as bytes (%s)", path, text,
				       m && m->bytes_input_hex ? "hex" : "base64");
		}
		rc = add_term(sc, field, b.data ? b.data : "", b.len, out) < 0 ? -1 : 0;
		buf_free(&b);
		return rc;
	}
	default:
		if (!encode_key(sc, path, fi->kind, text, &k))
			return 0;
		termkey_put(k, key);
		return add_term(sc, field, key, 8, out) < 0 ? -1 : 0;
	}
}

/* Walk a dictionary from lower while keep(term) says so; union postings. */
static int walk_terms(struct split_ctx *sc, int field, const void *lower, size_t lower_len,
		      const void *upper, size_t upper_len, bool upper_incl, bool prefix,
		      struct bitset *out)
{
	struct split_terms *it = split_terms_open(sc->r, field, lower, lower_len, sc->err);
	struct split_term_info ti;
	const uint8_t *t;
	size_t len;
	int rc;

	if (!it)
		return -1;
	for (;;) {
		rc = split_terms_next(it, &t, &len, &ti, sc->err);
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
		rc = add_postings(sc, &ti, out);
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
static bool range_keys(struct split_ctx *sc, const char *path, enum value_kind kind,
		       const struct query_node *n, uint64_t *lo, uint64_t *hi, bool *bad)
{
	int64_t us;
	double d;

	*lo = 0;
	*hi = UINT64_MAX;
	*bad = false;
	if (n->lower) {
		if (!encode_key(sc, path, kind, n->lower, lo)) {
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
		if (!encode_key(sc, path, kind, n->upper, hi)) {
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

static int scan_column_keys(struct split_ctx *sc, int field, uint64_t lo, uint64_t hi,
			    struct bitset *out)
{
	struct split_column *c = split_column_open(sc->r, field, sc->err);
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

static int match_range(struct split_ctx *sc, int field, const char *path,
		       const struct query_node *n, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
	uint8_t lk[16], hk[16];
	uint64_t lo, hi;
	bool bad;

	switch (fi->kind) {
	case VK_TEXT:
	case VK_BYTES:
		/* as Quickwit: a text range reads the fast column (normalized values) */
		if (!fi->indexed || (fi->fast && fi->kind == VK_TEXT))
			return fi->fast && fi->kind == VK_TEXT
				? fast_text_range(sc, field, n->lower, n->lower_incl, n->upper,
						  n->upper_incl, out)
				: 0;
		if (n->lower && !n->lower_incl) {
			/* first term strictly greater: lower + "\0" */
			struct buf b = BUF_INIT;
			int rc;

			buf_add(&b, n->lower, strlen(n->lower) + 1);
			rc = walk_terms(sc, field, b.data, b.len, n->upper,
					n->upper ? strlen(n->upper) : 0, n->upper_incl, false, out);
			buf_free(&b);
			return rc;
		}
		return walk_terms(sc, field, n->lower, n->lower ? strlen(n->lower) : 0, n->upper,
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
		return walk_terms(sc, field, l16, 16, h16, 16, true, false, out);
	}
	default:
		if (!range_keys(sc, path, fi->kind, n, &lo, &hi, &bad))
			return 0;
		if (fi->fast && fi->kind == VK_DATETIME) {
			/* columns hold datetimes truncated to fast_precision: so do the bounds */
			const struct field_mapping *m = config_find_field(sc->cfg, path);
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
			return scan_column_keys(sc, field, lo, hi, out);
		if (!fi->indexed)
			return 0;
		if (fi->kind == VK_BOOL) {
			lk[0] = (uint8_t)(lo > 1 ? 1 : lo);
			hk[0] = (uint8_t)(hi > 1 ? 1 : hi);
			return walk_terms(sc, field, lk, 1, hk, 1, true, false, out);
		}
		termkey_put(lo, lk);
		termkey_put(hi, hk);
		return walk_terms(sc, field, lk, 8, hk, 8, true, false, out);
	}
}

static int match_prefix(struct split_ctx *sc, int field, const char *text, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
	struct buf low = BUF_INIT;
	int rc;

	if (fi->kind != VK_TEXT || !fi->indexed)
		return 0;
	tokenizer_normalize_pattern(fi->tokenizer, text, strlen(text), &low);
	if (low.len == 0) {
		buf_free(&low);
		return split_reader_field(sc->r, (size_t)field)->num_docs_with_value
			? walk_terms(sc, field, NULL, 0, NULL, 0, true, false, out) : 0;
	}
	rc = walk_terms(sc, field, low.data, low.len, NULL, 0, true, true, out);
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

static int match_wildcard(struct split_ctx *sc, int field, const char *text, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
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
	it = split_terms_open(sc->r, field, pre.data, pre.len, sc->err);
	if (!it) {
		rc = -1;
		goto out;
	}
	for (;;) {
		rc = split_terms_next(it, &t, &len, &ti, sc->err);
		if (rc <= 0)
			break;
		if (len < pre.len || memcmp(t, pre.data ? pre.data : "", pre.len) != 0)
			break;
		if (glob_match(buf_str(&pat), t, len) && add_postings(sc, &ti, out) < 0) {
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
static int match_regex(struct split_ctx *sc, int field, const char *text, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
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
		rc = err_set(sc->err, EX_DATAERR, "query: invalid regex '%s'", text);
		goto out;
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	plen = regex_literal_prefix(text);
	it = split_terms_open(sc->r, field, text, plen, sc->err);
	if (!md || !it) {
		rc = md ? -1 : err_set(sc->err, EX_SOFTWARE, "query: out of memory for a regex");
		goto out;
	}
	for (;;) {
		rc = split_terms_next(it, &t, &len, &ti, sc->err);
		if (rc <= 0 || len < plen || memcmp(t, text, plen) != 0)
			break;
		if (pcre2_match(re, (PCRE2_SPTR)t, len, 0, 0, md, NULL) >= 0 &&
		    add_postings(sc, &ti, out) < 0) {
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
static int match_phrase_prefix(struct split_ctx *sc, int field, const char *text,
			       struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
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
	tokenize(&sc->ts, fi->tokenizer, text, strlen(text), tok_emit, &tk);
	if (tk.n == 0)
		goto out;
	if (tk.n == 1) {
		rc = walk_terms(sc, field, tk.t[0], tk.tl[0], NULL, 0, true, true, out);
		goto out;
	}
	if (fi->record != RECORD_POSITION)
		goto out; /* refused by check_field: no positions, no phrase */
	prefix = tk.t[tk.n - 1];
	plen = tk.tl[tk.n - 1];
	it = split_terms_open(sc->r, field, prefix, plen, sc->err);
	if (!it) {
		rc = -1;
		goto out;
	}
	while (n_exp < PHRASE_PREFIX_MAX_EXPANSIONS) {
		rc = split_terms_next(it, &t, &len, &ti, sc->err);
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
		rc = match_phrase_alts(sc, field, &tk, 0, exp, exp_len, n_exp, out);
out:
	for (i = 0; i < n_exp; i++)
		free(exp[i]);
	split_terms_free(it);
	toks_free(&tk);
	return rc < 0 ? -1 : 0;
}

static int match_exists(struct split_ctx *sc, int field, bool exact, struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
	struct split_column *c;
	uint64_t s, e;
	uint32_t doc, nd;

	if (fi->num_docs_with_value >= sc->num_docs) {
		bs_fill(out);
		return 0;
	}
	/* text: present when it has a token (as Quickwit's field presence: "" is absent) */
	if (exact && fi->kind == VK_TEXT && fi->indexed)
		return walk_terms(sc, field, NULL, 0, NULL, 0, true, false, out);
	if (fi->fast) {
		c = split_column_open(sc->r, field, sc->err);
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
		return walk_terms(sc, field, NULL, 0, NULL, 0, true, false, out);
	return 0;
}

/*
 * exists: a doc has the path when it has a value at the path or at any path
 * below it (an object exists when one of its leaves does, so `{}` and an
 * object of nulls do not). Every field is looked at: an object may have
 * hundreds of sub-paths.
 */
static int match_exists_path(struct split_ctx *sc, const char *path, struct bitset *out)
{
	size_t plen = strlen(path), i;
	int rc = 0;

	for (i = 0; i < split_reader_num_fields(sc->r) && rc == 0; i++) {
		const struct split_field_info *fi = split_reader_field(sc->r, i);
		bool exact = strcmp(fi->path, path) == 0;

		if (!exact && (strncmp(fi->path, path, plen) != 0 || fi->path[plen] != '.'))
			continue;
		if (fi->num_docs_with_value == 0)
			continue;
		rc = match_exists(sc, (int)i, exact, out);
	}
	return rc;
}

/*
 * A value of field:IN [...]: on an indexed text field the term exactly as
 * given, never tokenized nor lowercased (Quickwit's term set query:
 * `IN [HELLO]` does not match "hello"); any other kind as a term query.
 */
static int match_set_value(struct split_ctx *sc, int field, const char *path, const char *value,
			   struct bitset *out)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);

	if (fi->kind == VK_TEXT && fi->indexed)
		return add_term(sc, field, value, strlen(value), out) < 0 ? -1 : 0;
	return match_value(sc, field, path, value, false, 0, out);
}

static int eval_leaf_path(struct split_ctx *sc, const struct query_node *n, const char *path,
			  struct bitset *out)
{
	int ids[64];
	size_t nf, i, j;
	int rc = 0;

	if (n->kind == QN_EXISTS)
		return match_exists_path(sc, path, out);
	nf = split_reader_find_path(sc->r, path, ids, 64);
	if (nf > 64)
		nf = 64;

	for (i = 0; i < nf && rc == 0; i++) {
		switch (n->kind) {
		case QN_TERM:
			rc = match_value(sc, ids[i], path, n->text, false, 0, out);
			break;
		case QN_PHRASE:
			rc = match_value(sc, ids[i], path, n->text, true, n->slop, out);
			break;
		case QN_PREFIX:
			rc = match_prefix(sc, ids[i], n->text, out);
			break;
		case QN_WILDCARD:
			rc = match_wildcard(sc, ids[i], n->text, out);
			break;
		case QN_REGEX:
			rc = match_regex(sc, ids[i], n->text, out);
			break;
		case QN_PHRASE_PREFIX:
			rc = match_phrase_prefix(sc, ids[i], n->text, out);
			break;
		case QN_RANGE:
			rc = match_range(sc, ids[i], path, n, out);
			break;
		case QN_SET:
			for (j = 0; j < n->n_values && rc == 0; j++)
				rc = match_set_value(sc, ids[i], path, n->values[j], out);
			break;
		default:
			break;
		}
	}
	return rc;
}

static int eval(struct split_ctx *sc, const struct query_node *n, struct bitset *out)
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
		bs_init(&tmp, sc->num_docs);
		for (i = 0; i < n->n_kids && rc == 0; i++) {
			const struct query_node *k = n->kids[i];

			if (k->kind == QN_NOT)
				continue;
			if (first) {
				rc = eval(sc, k, out);
				first = false;
			} else {
				bs_clear(&tmp);
				rc = eval(sc, k, &tmp);
				bs_and(out, &tmp);
			}
		}
		if (first)
			bs_fill(out);
		for (i = 0; i < n->n_kids && rc == 0; i++) {
			if (n->kids[i]->kind != QN_NOT)
				continue;
			bs_clear(&tmp);
			rc = eval(sc, n->kids[i]->kids[0], &tmp);
			bs_andnot(out, &tmp);
		}
		bs_free(&tmp);
		return rc;
	case QN_OR:
		bs_init(&tmp, sc->num_docs);
		for (i = 0; i < n->n_kids && rc == 0; i++) {
			bs_clear(&tmp);
			rc = eval(sc, n->kids[i], &tmp);
			bs_or(out, &tmp);
		}
		bs_free(&tmp);
		return rc;
	case QN_NOT:
		rc = eval(sc, n->kids[0], out);
		bs_not(out);
		return rc;
	default:
		break;
	}
	if (n->field)
		return eval_leaf_path(sc, n, n->field, out);
	for (i = 0; i < sc->t->ix->n_search_fields && rc == 0; i++)
		rc = eval_leaf_path(sc, n, sc->t->ix->search_fields[i], out);
	return rc;
}

/* ------------------------------------------------------------------ scoring */

/*
 * _score as tantivy computes it (per split, as Quickwit's leaf search does):
 * a term on a text field scores BM25 with k1 = 1.2, b = 0.75,
 * idf = ln(1 + (N - n + 0.5) / (n + 0.5)) (N docs of the split, n of them
 * with the term), weight = idf * (1 + k1),
 * score = weight * tf / (tf + k1 * (1 - b + b * dl / avgdl)), dl the doc's
 * field norm (1 when the split keeps none for the field), avgdl the field's
 * tokens / N; in single precision. Several tokens (a phrase) score like one
 * term with the sum of their idf and tf 1. AND and OR add their clauses'
 * scores, NOT adds nothing; any other clause (range, prefix, set, exists,
 * a term on a non-text field, *) adds 1 to the docs it matches.
 */
#define BM25_K1 1.2f
#define BM25_B 0.75f

struct bm25 {
	float weight;
	float cache[256];
	const uint8_t *norms;
};

static int bm25_init(struct split_ctx *sc, int field, float idf, struct bm25 *w)
{
	uint64_t total;
	float avg;

	if (split_reader_field_norms(sc->r, field, &w->norms, &total, sc->err) < 0)
		return -1;
	avg = sc->num_docs ? (float)total / (float)sc->num_docs : 0.0f;
	w->weight = idf * (1.0f + BM25_K1);
	for (int id = 0; id < 256; id++)
		w->cache[id] = BM25_K1 * (1.0f - BM25_B +
					  BM25_B * (float)fieldnorm_decode((uint8_t)id) / avg);
	return 0;
}

static float bm25_idf(uint64_t n, uint64_t N)
{
	float x = ((float)(N - (n < N ? n : N)) + 0.5f) / ((float)n + 0.5f);

	return logf(1.0f + x);
}

static float bm25_doc(const struct bm25 *w, uint32_t doc, uint32_t tf)
{
	uint8_t id = w->norms ? w->norms[doc] : 1;

	return w->weight * (float)tf / ((float)tf + w->cache[id]);
}

/* Add 1 to the docs a clause matches. */
static int score_const(struct split_ctx *sc, const struct query_node *n, float *scores)
{
	struct bitset tmp;
	uint32_t doc;
	int rc;

	bs_init(&tmp, sc->num_docs);
	rc = eval(sc, n, &tmp);
	for (doc = bs_next(&tmp, 0); rc == 0 && doc != UINT32_MAX; doc = bs_next(&tmp, doc + 1))
		scores[doc] += 1.0f;
	bs_free(&tmp);
	return rc;
}

/* A term or phrase on one indexed text field of the split. */
static int score_text(struct split_ctx *sc, int field, const struct query_node *n, float *scores)
{
	const struct split_field_info *fi = split_reader_field(sc->r, (size_t)field);
	struct toks tk;
	struct split_term_info ti;
	struct bm25 w;
	struct bitset tmp;
	float idf = 0.0f;
	uint32_t doc;
	size_t i;
	int rc = 0, found;

	memset(&tk, 0, sizeof(tk));
	tokenize(&sc->ts, fi->tokenizer, n->text, strlen(n->text), tok_emit, &tk);
	if (tk.n == 1) {
		struct split_postings *p;

		found = split_reader_term_lookup(sc->r, field, tk.t[0], tk.tl[0], &ti, sc->err);
		if (found <= 0) {
			rc = found;
			goto out;
		}
		if (bm25_init(sc, field, bm25_idf(ti.doc_freq, sc->num_docs), &w) < 0) {
			rc = -1;
			goto out;
		}
		p = split_postings_open(sc->r, &ti, false, sc->err);
		if (!p) {
			rc = -1;
			goto out;
		}
		while ((rc = split_postings_next(p, &doc, sc->err)) == 0 && doc != SPLIT_DOC_END)
			scores[doc] += bm25_doc(&w, doc, split_postings_freq(p));
		split_postings_free(p);
		goto out;
	}
	for (i = 0; i < tk.n; i++) {
		found = split_reader_term_lookup(sc->r, field, tk.t[i], tk.tl[i], &ti, sc->err);
		if (found <= 0) {
			rc = found;
			goto out;
		}
		idf += bm25_idf(ti.doc_freq, sc->num_docs);
	}
	if (tk.n == 0 || bm25_init(sc, field, idf, &w) < 0) {
		rc = tk.n == 0 ? 0 : -1;
		goto out;
	}
	bs_init(&tmp, sc->num_docs);
	rc = match_text(sc, field, n->text, n->kind == QN_PHRASE, n->slop, &tmp);
	for (doc = bs_next(&tmp, 0); rc == 0 && doc != UINT32_MAX; doc = bs_next(&tmp, doc + 1))
		scores[doc] += bm25_doc(&w, doc, 1);
	bs_free(&tmp);
out:
	toks_free(&tk);
	return rc < 0 ? -1 : 0;
}

static int score_path(struct split_ctx *sc, const struct query_node *n, const char *path,
		      float *scores)
{
	int ids[64];
	size_t nf = split_reader_find_path(sc->r, path, ids, 64), i;

	if (nf > 64)
		nf = 64;

	for (i = 0; i < nf; i++) {
		const struct split_field_info *fi = split_reader_field(sc->r, (size_t)ids[i]);
		struct bitset a;
		uint32_t doc;
		int rc;

		if (fi->kind == VK_TEXT && fi->indexed) {
			if (score_text(sc, ids[i], n, scores) < 0)
				return -1;
			continue;
		}
		/* the other kinds of the path (numbers, fast-only text...): constant */
		bs_init(&a, sc->num_docs);
		rc = match_value(sc, ids[i], path, n->text, n->kind == QN_PHRASE, n->slop, &a);
		for (doc = bs_next(&a, 0); rc == 0 && doc != UINT32_MAX; doc = bs_next(&a, doc + 1))
			scores[doc] += 1.0f;
		bs_free(&a);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int score_node(struct split_ctx *sc, const struct query_node *n, float *scores)
{
	size_t i;

	if (n->boost != 1) {
		/* clause^N: its own scores, scaled, added to the others' */
		float *own = xcalloc(sc->num_docs ? sc->num_docs : 1, sizeof(*own));
		struct query_node plain = *n;
		int rc;

		plain.boost = 1;
		rc = score_node(sc, &plain, own);
		for (i = 0; rc == 0 && i < sc->num_docs; i++)
			scores[i] += n->boost * own[i];
		free(own);
		return rc;
	}
	switch (n->kind) {
	case QN_AND:
	case QN_OR:
		for (i = 0; i < n->n_kids; i++)
			if (n->kids[i]->kind != QN_NOT && score_node(sc, n->kids[i], scores) < 0)
				return -1;
		return 0;
	case QN_NOT:
		return 0;
	case QN_TERM:
	case QN_PHRASE:
		if (n->field)
			return score_path(sc, n, n->field, scores);
		for (i = 0; i < sc->t->ix->n_search_fields; i++)
			if (score_path(sc, n, sc->t->ix->search_fields[i], scores) < 0)
				return -1;
		return 0;
	default:
		return score_const(sc, n, scores);
	}
}

/* ------------------------------------------------------------------ sort keys */

struct sort_col {
	struct split_column *c[MAX_KINDS];
	enum value_kind kind[MAX_KINDS];
	size_t n;
};

static int sort_col_open(struct split_ctx *sc, const char *path, struct sort_col *sc_out)
{
	int ids[MAX_KINDS];
	size_t n = split_reader_find_path(sc->r, path, ids, MAX_KINDS), i;

	memset(sc_out, 0, sizeof(*sc_out));
	if (n > MAX_KINDS)
		n = MAX_KINDS;
	for (i = 0; i < n; i++) {
		const struct split_field_info *fi = split_reader_field(sc->r, (size_t)ids[i]);

		if (!fi->fast || fi->kind == VK_TEXT || fi->kind == VK_IP || fi->kind == VK_BYTES)
			continue;
		sc_out->c[sc_out->n] = split_column_open(sc->r, ids[i], sc->err);
		if (!sc_out->c[sc_out->n])
			return -1;
		sc_out->kind[sc_out->n++] = fi->kind;
	}
	return 0;
}

static void sort_col_free(struct sort_col *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		split_column_free(s->c[i]);
	s->n = 0;
}

static double key_to_double(enum value_kind kind, uint64_t k)
{
	switch (kind) {
	case VK_I64:
	case VK_DATETIME:
		return (double)termkey_to_i64(k);
	case VK_F64:
		return termkey_to_f64(k);
	default:
		return (double)k;
	}
}

static bool sort_value(const struct sort_col *s, uint32_t doc, double *v)
{
	size_t i;
	uint64_t k;

	for (i = 0; i < s->n; i++)
		if (split_column_first(s->c[i], doc, &k)) {
			*v = key_to_double(s->kind[i], k);
			return true;
		}
	return false;
}

static int keys_cmp(const struct run *run, const struct hit *a, const struct hit *b);

/* <0 when a ranks before b: by the sort keys, then split id, then doc. */
static int hit_cmp(const struct run *run, const struct hit *a, const struct hit *b)
{
	int c = keys_cmp(run, a, b);

	if (c)
		return c;
	if (a->task != b->task) {
		c = strcmp(run->tasks[a->task].split_id, run->tasks[b->task].split_id);
		c = c ? (c < 0 ? -1 : 1) : (a->task < b->task ? -1 : 1);
	} else {
		c = a->doc < b->doc ? -1 : a->doc > b->doc;
	}
	return run->doc_desc ? -c : c;
}

/* The sort keys of a against those of b alone: <0, 0, >0 as hit_cmp. */
static int keys_cmp(const struct run *run, const struct hit *a, const struct hit *b)
{
	for (size_t i = 0; i < run->n_sort; i++) {
		if (run->sort[i].by_doc)
			break;
		if (a->has[i] != b->has[i])
			return a->has[i] ? -1 : 1;
		if (a->has[i] && a->k[i] != b->k[i]) {
			bool less = a->k[i] < b->k[i];

			return run->sort[i].desc ? (less ? 1 : -1) : (less ? -1 : 1);
		}
	}
	return 0;
}

/* search_after: h ranks strictly after the request's hit. */
static bool after_point(const struct run *run, const struct hit *h)
{
	int c = keys_cmp(run, h, &run->after);

	if (c)
		return c > 0;
	if (!run->after_split)
		return false;
	c = strcmp(run->tasks[h->task].split_id, run->after_split);
	if (c)
		return run->doc_desc ? c < 0 : c > 0;
	return run->doc_desc ? h->doc < run->after_doc : h->doc > run->after_doc;
}

/*
 * True when a ranks strictly after b on the first sort key alone (then it
 * ranks after b whatever the other keys): the top-K loop skips such docs
 * without reading their other keys or touching the heap.
 */
static inline bool worse_first_key(const struct run *run, const struct hit *a, const struct hit *b)
{
	if (run->n_sort == 0 || run->sort[0].by_doc)
		return false;
	if (a->has[0] != b->has[0])
		return b->has[0];
	if (!a->has[0] || a->k[0] == b->k[0])
		return false;
	return run->sort[0].desc ? a->k[0] < b->k[0] : a->k[0] > b->k[0];
}

/* Bounded max-heap (worst hit at the root) of the k best hits. */
static void heap_push(const struct run *run, struct task *t, const struct hit *h)
{
	size_t i, parent, child;
	struct hit tmp;

	if (run->k == 0)
		return;
	if (t->n_hits == run->k) {
		if (hit_cmp(run, h, &t->hits[0]) >= 0)
			return;
		t->hits[0] = *h;
		i = 0;
		for (;;) {
			size_t worst = i;

			child = 2 * i + 1;
			if (child < t->n_hits && hit_cmp(run, &t->hits[child], &t->hits[worst]) > 0)
				worst = child;
			if (child + 1 < t->n_hits && hit_cmp(run, &t->hits[child + 1], &t->hits[worst]) > 0)
				worst = child + 1;
			if (worst == i)
				break;
			tmp = t->hits[i];
			t->hits[i] = t->hits[worst];
			t->hits[worst] = tmp;
			i = worst;
		}
		return;
	}
	XGROW(t->hits, t->n_hits + 1, t->cap_hits);
	i = t->n_hits++;
	t->hits[i] = *h;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (hit_cmp(run, &t->hits[i], &t->hits[parent]) <= 0)
			break;
		tmp = t->hits[i];
		t->hits[i] = t->hits[parent];
		t->hits[parent] = tmp;
		i = parent;
	}
}

/* ------------------------------------------------------------------ agg source */

struct agg_bind {
	struct split_column *c[MAX_KINDS];
	enum value_kind kind[MAX_KINDS];
	int dict[MAX_KINDS];
	size_t n;
};

struct agg_src_ctx {
	struct split_ctx *sc;
	struct agg_bind *binds;
	size_t n_binds;
	struct split_column **dicts;   /* dict id -> column */
	enum value_kind *dict_kind;
	size_t n_dicts;
	char ipbuf[64];
	bool failed;
};

static int asrc_bind(void *ctx, const char *path)
{
	struct agg_src_ctx *a = ctx;
	int ids[MAX_KINDS];
	size_t n = split_reader_find_path(a->sc->r, path, ids, MAX_KINDS), i;
	struct agg_bind *b;

	if (n > MAX_KINDS)
		n = MAX_KINDS;
	a->binds = xreallocarray(a->binds, a->n_binds + 1, sizeof(*a->binds));
	b = &a->binds[a->n_binds];
	memset(b, 0, sizeof(*b));
	for (i = 0; i < n; i++) {
		const struct split_field_info *fi = split_reader_field(a->sc->r, (size_t)ids[i]);
		struct split_column *c;

		if (!fi->fast)
			continue;
		c = split_column_open(a->sc->r, ids[i], a->sc->err);
		if (!c) {
			a->failed = true;
			continue;
		}
		b->c[b->n] = c;
		b->kind[b->n] = fi->kind;
		b->dict[b->n] = -1;
		if (split_column_is_dict(c)) {
			a->dicts = xreallocarray(a->dicts, a->n_dicts + 1, sizeof(*a->dicts));
			a->dict_kind = xreallocarray(a->dict_kind, a->n_dicts + 1, sizeof(*a->dict_kind));
			a->dicts[a->n_dicts] = c;
			a->dict_kind[a->n_dicts] = fi->kind;
			b->dict[b->n] = (int)a->n_dicts++;
		}
		b->n++;
	}
	if (b->n == 0)
		return -1;
	return (int)a->n_binds++;
}

/* A column key of a field kind as an aggregation value. */
static void agg_value_of(struct agg_value *v, enum value_kind kind, int dict, uint64_t k)
{
	v->s = NULL;
	v->len = 0;
	v->dict = -1;
	v->v.u = 0;
	switch (kind) {
	case VK_TEXT:
	case VK_IP:
	case VK_BYTES:
		v->kind = AV_STR;
		v->dict = dict;
		v->ord = k;
		break;
	case VK_I64:
		v->kind = AV_I64;
		v->v.i = termkey_to_i64(k);
		break;
	case VK_U64:
		v->kind = AV_U64;
		v->v.u = k;
		break;
	case VK_F64:
		v->kind = AV_F64;
		v->v.f = termkey_to_f64(k);
		break;
	case VK_DATETIME:
		v->kind = AV_DATETIME;
		v->v.i = termkey_to_i64(k);
		break;
	case VK_BOOL:
		v->kind = AV_BOOL;
		v->v.u = k;
		break;
	}
}

static size_t asrc_values(void *ctx, int handle, uint32_t doc, struct agg_value *out, size_t max)
{
	struct agg_src_ctx *a = ctx;
	struct agg_bind *b = &a->binds[handle];
	size_t n = 0, i;
	uint64_t s, e;

	for (i = 0; i < b->n; i++) {
		split_column_doc_range(b->c[i], doc, &s, &e);
		for (; s < e; s++, n++)
			if (n < max)
				agg_value_of(&out[n], b->kind[i], b->dict[i], split_column_value(b->c[i], s));
	}
	return n;
}

/* One column with one value per doc: value i is doc i's, read in bulk. */
static bool asrc_values_one(void *ctx, int handle, const uint32_t *docs, size_t n,
			    struct agg_value *out)
{
	struct agg_src_ctx *a = ctx;
	struct agg_bind *b = &a->binds[handle];
	uint64_t keys[AGGS_BATCH];
	size_t i;

	if (b->n != 1 || !split_column_single_valued(b->c[0]) || n == 0 || n > AGGS_BATCH)
		return false;
	if (docs[n - 1] - docs[0] == n - 1) {
		split_column_values(b->c[0], docs[0], n, keys);
	} else {
		for (i = 0; i < n; i++)
			keys[i] = split_column_value(b->c[0], docs[i]);
	}
	for (i = 0; i < n; i++)
		agg_value_of(&out[i], b->kind[0], b->dict[0], keys[i]);
	return true;
}

static int asrc_dict_term(void *ctx, int dict, uint64_t ord, const char **s, size_t *len)
{
	struct agg_src_ctx *a = ctx;
	const uint8_t *t;

	if (dict < 0 || (size_t)dict >= a->n_dicts)
		return -1;
	if (split_column_dict_term(a->dicts[dict], ord, &t, len) < 0)
		return -1;
	*s = (const char *)t;
	if (a->dict_kind[dict] == VK_IP && *len == 16) {
		static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(t, v4, 12) == 0)
			inet_ntop(AF_INET, t + 12, a->ipbuf, sizeof(a->ipbuf));
		else
			inet_ntop(AF_INET6, t, a->ipbuf, sizeof(a->ipbuf));
		*s = a->ipbuf;
		*len = strlen(a->ipbuf);
	}
	return 0;
}

static void asrc_free(struct agg_src_ctx *a)
{
	size_t i, j;

	for (i = 0; i < a->n_binds; i++)
		for (j = 0; j < a->binds[i].n; j++)
			split_column_free(a->binds[i].c[j]);
	free(a->binds);
	free(a->dicts);
	free(a->dict_kind);
}

/* ------------------------------------------------------------------ one split */

/* Keep in bits the docs in [start, end) seconds (either side optional). */
static int time_range_filter(struct split_ctx *sc, bool has_start, int64_t start, bool has_end,
			     int64_t end, struct bitset *bits)
{
	const char *tsf = sc->cfg->timestamp_field;
	int64_t lo = has_start ? start * 1000000 : INT64_MIN;
	int64_t hi = has_end ? end * 1000000 - 1 : INT64_MAX;
	int64_t smin, smax;
	struct bitset keep;
	int field, rc;

	if (!tsf || (!has_start && !has_end))
		return 0;
	if (split_reader_time_range(sc->r, &smin, &smax) && smin >= lo && smax <= hi)
		return 0;
	field = split_reader_find_field(sc->r, tsf, VK_DATETIME);
	if (field < 0) {
		bs_clear(bits);
		return 0;
	}
	bs_init(&keep, sc->num_docs);
	rc = scan_column_keys(sc, field, termkey_from_i64(lo), termkey_from_i64(hi), &keep);
	bs_and(bits, &keep);
	bs_free(&keep);
	return rc;
}

static int time_filter(struct split_ctx *sc, struct bitset *bits)
{
	const struct search_request *req = sc->run->req;

	return time_range_filter(sc, req->has_start, req->start_ts, req->has_end, req->end_ts, bits);
}

static bool task_ts(json_t *dq, const char *key, int64_t *v)
{
	json_t *j = json_object_get(dq, key);

	if (!json_is_integer(j))
		return false;
	*v = (int64_t)json_integer_value(j);
	return true;
}

/*
 * OR into del the docs of the split that the delete tasks of tasks with an
 * opstamp above after hide (metastore.h, "delete tasks"): each task's
 * query, with its own search fields, within its time range. The one
 * place where deletes meet search: search_split() and search_deleted_docs().
 */
static int deleted_docs(struct split_ctx *sc, const char *index_id, json_t *tasks,
			uint64_t after, struct bitset *del)
{
	struct task *saved = sc->t;
	struct bitset one;
	size_t i;
	json_t *t;
	int rc = 0;

	bs_init(&one, sc->num_docs);
	json_array_foreach(tasks, i, t) {
		json_t *dq = json_object_get(t, "delete_query"), *jf = json_object_get(dq, "search_fields");
		json_int_t opstamp = json_integer_value(json_object_get(t, "opstamp"));
		const char *qs = json_string_value(json_object_get(dq, "query"));
		struct index_ctx dix;
		struct task dt;
		struct query_node *q;
		int64_t start = 0, end = 0;
		bool has_start = task_ts(dq, "start_timestamp", &start);
		bool has_end = task_ts(dq, "end_timestamp", &end);
		size_t j;

		if (opstamp <= 0 || (uint64_t)opstamp <= after)
			continue;
		if (!qs) {
			rc = err_set(sc->err, EX_DATAERR, "delete task %lld has no query",
				     (long long)opstamp);
			break;
		}
		q = query_parse(qs, sc->err);
		if (!q) {
			err_prefix(sc->err, "delete task %lld", (long long)opstamp);
			rc = -1;
			break;
		}
		memset(&dix, 0, sizeof(dix));
		memset(&dt, 0, sizeof(dt));
		dix.index_id = (char *)index_id;
		dix.cfg = (struct index_config *)sc->cfg;
		dix.search_fields = xcalloc(json_array_size(jf) + 1, sizeof(*dix.search_fields));
		for (j = 0; j < json_array_size(jf); j++)
			if (json_is_string(json_array_get(jf, j)))
				dix.search_fields[dix.n_search_fields++] =
					(char *)json_string_value(json_array_get(jf, j));
		dt.ix = &dix;
		sc->t = &dt;
		bs_clear(&one);
		rc = check_query(&dix, &dix, 1, q, sc->err);
		if (rc == 0)
			rc = eval(sc, q, &one);
		if (rc == 0)
			rc = time_range_filter(sc, has_start, start, has_end, end, &one);
		sc->t = saved;
		free(dix.search_fields);
		query_free(q);
		if (rc < 0) {
			err_prefix(sc->err, "delete task %lld", (long long)opstamp);
			break;
		}
		bs_or(del, &one);
	}
	bs_free(&one);
	return rc;
}

/* Take from bits the docs hidden by delete tasks not yet applied to the split. */
static int delete_filter(struct split_ctx *sc, struct bitset *bits)
{
	json_t *tasks = metastore_delete_tasks_doc(sc->t->ix->meta);
	struct bitset del;
	int rc;

	if (!tasks || sc->t->delete_opstamp >= metastore_last_delete_opstamp(sc->t->ix->meta))
		return 0;
	bs_init(&del, sc->num_docs);
	rc = deleted_docs(sc, sc->t->ix->index_id, tasks, sc->t->delete_opstamp, &del);
	bs_andnot(bits, &del);
	bs_free(&del);
	return rc;
}

/* A reader of t's split, sharing the run's S3 client (its connections). */
static struct split_reader *task_open(const struct run *run, const struct task *t,
				      struct qw_err *err)
{
	struct split_open_opts o = { run->s3, t->size };

	return split_reader_open_opts(t->path, &o, err);
}

/* Add what reader r of t has read to t's count (once per reader). */
static void task_io_add(struct task *t, const struct split_reader *r)
{
	struct split_io io;

	if (!r)
		return;
	split_reader_io(r, &io);
	t->io.remote |= io.remote;
	t->io.footer_cached |= io.footer_cached;
	t->io.requests += io.requests;
	t->io.bytes += io.bytes;
}

static int search_split(struct run *run, struct task *t)
{
	struct split_ctx sc;
	struct bitset bits = { NULL, 0, 0 };
	struct sort_col cols[MAX_SORT];
	struct agg_src_ctx actx;
	struct agg_source asrc;
	size_t i;
	uint32_t doc;
	int rc = -1;
	float *scores = NULL;

	memset(&sc, 0, sizeof(sc));
	memset(cols, 0, sizeof(cols));
	memset(&actx, 0, sizeof(actx));
	sc.run = run;
	sc.t = t;
	sc.cfg = t->ix->cfg;
	sc.err = &t->err;
	tokenizer_init(&sc.ts);
	sc.r = task_open(run, t, &t->err);
	if (!sc.r || split_reader_check_id(sc.r, t->split_id, &t->err) < 0)
		goto out;
	sc.num_docs = split_reader_num_docs(sc.r);
	bs_init(&bits, sc.num_docs);
	if (eval(&sc, run->q, &bits) < 0 || time_filter(&sc, &bits) < 0 ||
	    delete_filter(&sc, &bits) < 0)
		goto out;
	t->num_hits = bs_count(&bits);
	if (run->k > 0 && t->num_hits > 0) {
		bool by_doc = run->n_sort == 0 || run->sort[0].by_doc;

		for (i = 0; i < run->n_sort && !by_doc; i++) {
			if (run->sort[i].by_score && !scores) {
				scores = xcalloc(sc.num_docs ? sc.num_docs : 1, sizeof(*scores));
				if (score_node(&sc, run->q, scores) < 0)
					goto out;
			}
			if (!run->sort[i].by_doc && !run->sort[i].by_score &&
			    sort_col_open(&sc, run->sort[i].field, &cols[i]) < 0)
				goto out;
		}
		/*
		 * Any order gives the same top-K (hit_cmp is a total order), but
		 * docs are mostly in time order: when sorting largest first, from
		 * the last doc the heap fills with the best early and most docs
		 * are skipped on their first key.
		 */
		bool rev = by_doc ? run->doc_desc : run->sort[0].desc;

		for (doc = rev ? bs_prev(&bits, UINT32_MAX) : bs_next(&bits, 0); doc != UINT32_MAX;
		     doc = rev ? (doc ? bs_prev(&bits, doc - 1) : UINT32_MAX) : bs_next(&bits, doc + 1)) {
			struct hit h;

			memset(&h, 0, sizeof(h));
			h.task = (uint32_t)(t - run->tasks);
			h.doc = doc;
			for (i = 0; i < run->n_sort && !by_doc; i++) {
				if (run->sort[i].by_doc)
					continue;
				if (run->sort[i].by_score) {
					h.k[i] = scores[doc];
					h.has[i] = true;
				} else {
					h.has[i] = sort_value(&cols[i], doc, &h.k[i]);
				}
				/* the heap is full and this doc ranks after its worst: skip it */
				if (i == 0 && t->n_hits == run->k && worse_first_key(run, &h, &t->hits[0]))
					break;
			}
			if (i < run->n_sort && !by_doc)
				continue;
			if (run->has_after && !after_point(run, &h))
				continue;
			heap_push(run, t, &h);
			if (by_doc && t->n_hits == run->k)
				break;
		}
	}
	if (run->aggs) {
		actx.sc = &sc;
		asrc.ctx = &actx;
		asrc.bind = asrc_bind;
		asrc.values = asrc_values;
		asrc.values_one = asrc_values_one;
		asrc.dict_term = asrc_dict_term;
		t->aggs = aggs_collect_begin(run->aggs, &asrc);
		{
			uint32_t batch[AGGS_BATCH];
			size_t nb = 0;

			for (doc = bs_next(&bits, 0); doc != UINT32_MAX; doc = bs_next(&bits, doc + 1)) {
				batch[nb++] = doc;
				if (nb == AGGS_BATCH) {
					aggs_collect_docs(t->aggs, batch, nb);
					nb = 0;
				}
			}
			if (nb)
				aggs_collect_docs(t->aggs, batch, nb);
		}
		aggs_collect_end(t->aggs);
		if (actx.failed)
			goto out;
	}
	rc = 0;
out:
	free(scores);
	asrc_free(&actx);
	for (i = 0; i < MAX_SORT; i++)
		sort_col_free(&cols[i]);
	bs_free(&bits);
	tokenizer_free(&sc.ts);
	if (rc == 0 && run->keep_readers && t->n_hits > 0)
		t->r = sc.r;                 /* fetch_docs reads the returned docs from it */
	else {
		task_io_add(t, sc.r);
		split_reader_close(sc.r);
	}
	if (rc < 0) {
		t->failed = true;
		t->num_hits = 0;
		t->n_hits = 0;
		aggs_result_free(t->aggs);
		t->aggs = NULL;
	}
	return rc;
}

static void *worker(void *arg)
{
	struct run *run = arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&run->next_task, 1, __ATOMIC_RELAXED);

		if (i >= run->n_tasks)
			break;
		search_split(run, &run->tasks[i]);
	}
	return NULL;
}

/* ------------------------------------------------------------------ planning */

static int parse_sort(struct run *run, const char *sort_by, const struct index_ctx *ixs,
		      size_t n_ix, struct qw_err *err)
{
	char *copy, *p, *tok;
	int rc = -1;

	if (!sort_by || !*sort_by) {
		const char *ts = n_ix ? ixs[0].cfg->timestamp_field : NULL;
		size_t i;

		for (i = 1; i < n_ix && ts; i++)
			if (!ixs[i].cfg->timestamp_field || strcmp(ixs[i].cfg->timestamp_field, ts) != 0)
				ts = NULL;
		if (ts) {
			run->sort[0].field = xstrdup(ts);
			run->sort[0].desc = true;
		} else {
			run->sort[0].by_doc = true;
		}
		run->n_sort = 1;
		return 0;
	}
	copy = xstrdup(sort_by);
	p = copy;
	while (p) {
		tok = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (run->n_sort == MAX_SORT) {
			err_set(err, EX_USAGE, "--sort-by: at most %d fields", MAX_SORT);
			goto out;
		}
		if (strcmp(tok, "_score") == 0 || strcmp(tok, "-_score") == 0) {
			/* relevance: best first ("_score"), ties in split and doc order */
			run->sort[run->n_sort].by_score = true;
			run->sort[run->n_sort++].desc = tok[0] != '-';
			continue;
		}
		if (strcmp(tok, "_doc") == 0 || strcmp(tok, "-_doc") == 0) {
			/* split then doc order; -_doc the reverse (it breaks the
			 * ties of the keys before it, and ends the list) */
			run->doc_desc = tok[0] == '-';
			run->sort[run->n_sort++].by_doc = true;
			break;
		}
		run->sort[run->n_sort].desc = tok[0] != '-';
		if (tok[0] == '-' || tok[0] == '+')
			tok++;
		if (!*tok) {
			err_set(err, EX_USAGE, "--sort-by: empty field name");
			goto out;
		}
		for (size_t i = 0; i < n_ix; i++) {
			const struct field_mapping *m = config_find_field(ixs[i].cfg, tok);

			if (m && !m->fast) {
				err_set(err, EX_DATAERR,
					"--sort-by: field '%s' of index '%s' is not a fast field", tok,
					ixs[i].index_id);
				goto out;
			}
			if (m && (m->type == FT_TEXT || m->type == FT_IP || m->type == FT_BYTES ||
				  m->type == FT_JSON)) {
				err_set(err, EX_DATAERR,
					"--sort-by: field '%s' is not numeric, bool or datetime", tok);
				goto out;
			}
			if (!m && ixs[i].cfg->mode != MODE_DYNAMIC &&
			    !config_resolve_field(ixs[i].cfg, tok, NULL) &&
			    !(n_ix > 1 && field_known_in_some(ixs, n_ix, tok))) {
				err_set(err, EX_DATAERR, "--sort-by: unknown field '%s' in index '%s'", tok,
					ixs[i].index_id);
				goto out;
			}
		}
		run->sort[run->n_sort++].field = xstrdup(tok);
	}
	if (run->n_sort == 0)
		run->sort[run->n_sort++].by_doc = true;
	rc = 0;
out:
	free(copy);
	return rc;
}

/* Aggregations read fast columns: a mapped field that is not fast is an error. */
static int check_agg_fields(const struct agg_req *aggs, const struct index_ctx *ixs, size_t n_ix,
			    struct qw_err *err)
{
	size_t n = aggs_fields(aggs, NULL, 0), i, j;
	const char **fields = xcalloc(n ? n : 1, sizeof(*fields));
	int rc = -1;

	aggs_fields(aggs, fields, n);
	for (i = 0; i < n; i++)
		for (j = 0; j < n_ix; j++) {
			const struct field_mapping *m = config_resolve_field(ixs[j].cfg, fields[i], NULL);

			if (m && !m->fast) {
				err_set(err, EX_DATAERR, "aggs: field '%s' of index '%s' is not a fast field",
					fields[i], ixs[j].index_id);
				goto out;
			}
			if (!m && ixs[j].cfg->mode != MODE_DYNAMIC &&
			    !(n_ix > 1 && field_known_in_some(ixs, n_ix, fields[i]))) {
				err_set(err, EX_DATAERR, "aggs: unknown field '%s' in index '%s'", fields[i],
					ixs[j].index_id);
				goto out;
			}
		}
	rc = 0;
out:
	free(fields);
	return rc;
}

/* snippet_fields: stored text fields of the index config. */
static int check_snippet_fields(const struct search_request *req, const struct index_ctx *ix,
				struct qw_err *err)
{
	size_t i;

	for (i = 0; i < req->n_snippet_fields; i++) {
		const struct field_mapping *m =
			config_resolve_field(ix->cfg, req->snippet_fields[i], NULL);

		if (!m || m->type != FT_TEXT)
			return err_set(err, EX_DATAERR,
				       "snippet_fields: field '%s' of index '%s' is not a text field",
				       req->snippet_fields[i], ix->index_id);
		if (!m->stored || !m->indexed)
			return err_set(err, EX_DATAERR,
				       "snippet_fields: field '%s' of index '%s' is not stored and indexed",
				       req->snippet_fields[i], ix->index_id);
	}
	return 0;
}

/* Tag pruning: a required term on a tag field whose value the split does not have. */
static bool tag_excludes(const struct index_ctx *ix, const struct query_node *n,
			 const char *const *tags, size_t n_tags)
{
	const struct field_mapping *m;
	struct tokenizer_state ts;
	struct toks tk;
	bool has_field = false, found = false;
	size_t i, j, plen;

	if (n->kind == QN_AND) {
		for (i = 0; i < n->n_kids; i++)
			if (tag_excludes(ix, n->kids[i], tags, n_tags))
				return true;
		return false;
	}
	if ((n->kind != QN_TERM && n->kind != QN_SET) || !n->field || !tags)
		return false;
	for (i = 0; i < ix->cfg->n_tag_fields; i++)
		if (strcmp(ix->cfg->tag_fields[i], n->field) == 0)
			break;
	if (i == ix->cfg->n_tag_fields)
		return false;
	m = config_find_field(ix->cfg, n->field);
	if (!m || (m->type != FT_TEXT && m->type != FT_I64 && m->type != FT_U64))
		return false;
	plen = strlen(n->field);
	for (i = 0; i < n_tags; i++)
		if (strncmp(tags[i], n->field, plen) == 0 && tags[i][plen] == ':')
			has_field = true;
	if (!has_field)
		return false;  /* no values listed: too many distinct values, or none */
	tokenizer_init(&ts);
	for (j = 0; j < (n->kind == QN_SET ? n->n_values : 1) && !found; j++) {
		const char *val = n->kind == QN_SET ? n->values[j] : n->text;
		struct buf want = BUF_INIT;

		memset(&tk, 0, sizeof(tk));
		if (m->type == FT_TEXT) {
			tokenize(&ts, m->tokenizer, val, strlen(val), tok_emit, &tk);
			if (tk.n != 1) {
				found = true; /* cannot tell: keep the split */
				toks_free(&tk);
				continue;
			}
			buf_addf(&want, "%s:%s", n->field, tk.t[0]);
		} else {
			int64_t iv;
			uint64_t uv;

			if (m->type == FT_I64 && value_parse_i64(val, &iv))
				buf_addf(&want, "%s:%lld", n->field, (long long)iv);
			else if (m->type == FT_U64 && value_parse_u64(val, &uv))
				buf_addf(&want, "%s:%llu", n->field, (unsigned long long)uv);
			else
				found = true;
		}
		toks_free(&tk);
		if (want.len)
			for (i = 0; i < n_tags; i++)
				if (strcmp(tags[i], buf_str(&want)) == 0)
					found = true;
		buf_free(&want);
	}
	tokenizer_free(&ts);
	return !found;
}

/* ------------------------------------------------------------------ search_after */

/* A sort value as JSON: an integer when it is one, null when absent. */
static json_t *sort_value_json(bool has, double k)
{
	if (!has)
		return json_null();
	if (k == floor(k) && fabs(k) < 9007199254740992.0)
		return json_integer((json_int_t)k);
	return json_real(k);
}

/* The search_after array of hit h (see search.h). */
static json_t *after_json(const struct run *run, const struct hit *h)
{
	json_t *a = json_array();

	for (size_t i = 0; i < run->n_sort; i++)
		if (!run->sort[i].by_doc)
			json_array_append_new(a, sort_value_json(h->has[i], h->k[i]));
	json_array_append_new(a, json_sprintf("%s:%u", run->tasks[h->task].split_id, h->doc));
	return a;
}

static int parse_after(struct run *run, json_t *sa, struct qw_err *err)
{
	size_t n_keys = 0, i, k = 0, n;
	json_t *v;

	for (i = 0; i < run->n_sort; i++)
		n_keys += !run->sort[i].by_doc;
	if (!json_is_array(sa))
		return err_set(err, EX_USAGE, "search_after: expected an array of sort values");
	n = json_array_size(sa);
	if (n != n_keys && n != n_keys + 1)
		return err_set(err, EX_USAGE,
			       "search_after: expected %zu sort value(s) and an optional \"SPLIT_ID:DOC\", got %zu element(s)",
			       n_keys, n);
	memset(&run->after, 0, sizeof(run->after));
	for (i = 0; i < run->n_sort; i++) {
		if (run->sort[i].by_doc)
			continue;
		v = json_array_get(sa, k);
		if (json_is_number(v)) {
			run->after.k[i] = json_number_value(v);
			run->after.has[i] = true;
		} else if (!json_is_null(v)) {
			return err_set(err, EX_USAGE,
				       "search_after: element %zu: expected a number or null (the sort value of '%s')",
				       k, run->sort[i].field ? run->sort[i].field : "_score");
		}
		k++;
	}
	if (n == n_keys + 1) {
		const char *t = json_string_value(json_array_get(sa, n_keys));
		const char *colon = t ? strchr(t, ':') : NULL;
		uint64_t doc;

		if (!colon || (size_t)(colon - t) != ULID_LEN || !value_parse_u64(colon + 1, &doc) ||
		    doc > UINT32_MAX)
			return err_set(err, EX_USAGE,
				       "search_after: element %zu: expected \"SPLIT_ID:DOC\" as a response gives it",
				       n_keys);
		run->after_split = xstrndup(t, ULID_LEN);
		if (!ids_is_ulid(run->after_split))
			return err_set(err, EX_USAGE, "search_after: '%.64s': not a split id", t);
		run->after_doc = (uint32_t)doc;
	}
	run->has_after = true;
	return 0;
}

/* ------------------------------------------------------------------ indexes */

/* A pattern: an index id with '*' wildcards (one at a time), or an exclusion "-PATTERN". */
static bool is_pattern(const char *s)
{
	return s[0] == '-' || strchr(s, '*');
}

/* Quickwit's rule: ^-?[a-zA-Z*][a-zA-Z0-9-_.*]{0,254}$, and no "**". */
static int check_pattern(const char *s, struct qw_err *err)
{
	const char *p = s[0] == '-' ? s + 1 : s;
	size_t n = strlen(p);

	if (n == 0 || n > 255 || !(isalpha((unsigned char)p[0]) || p[0] == '*'))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && !strchr("-_.*", p[i]))
			goto bad;
	if (strstr(p, "**"))
		return err_set(err, EX_USAGE, "invalid index pattern '%.64s': '**' is not allowed", s);
	return 0;
bad:
	return err_set(err, EX_USAGE,
		       "invalid index pattern '%.64s': must match ^-?[a-zA-Z*][a-zA-Z0-9-_.*]{0,254}$",
		       s);
}

static bool in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/*
 * The indexes of the request, as Quickwit resolves index_id_patterns: an id
 * must exist (EX_NOINPUT when searched); a pattern ('*' matches any run of
 * characters) that matches nothing is no error; "-PATTERN" removes what it
 * matches. Ids come first in the order given, then the matches, sorted.
 * *ids is a metastore_free_list() list.
 */
static int resolve_indexes(struct metastore *ms, const struct search_request *req, char ***ids,
			   size_t *n_ids, struct qw_err *err)
{
	char **v = xcalloc(req->n_indexes + 1, sizeof(*v)), **names = NULL;
	size_t n = 0, cap = req->n_indexes + 1, n_names = 0, i, j;
	bool patterns = false, positive = false;
	int ret = -1;

	for (i = 0; i < req->n_indexes; i++) {
		const char *s = req->indexes[i];

		if (is_pattern(s)) {
			if (check_pattern(s, err) < 0)
				goto out;
			patterns = true;
			positive = positive || s[0] != '-';
			continue;
		}
		if (ids_check_index(s, err) < 0)
			goto out;
		positive = true;
		if (!in_list(v, n, s))
			v[n++] = xstrdup(s);
	}
	if (!positive) {
		err_set(err, EX_USAGE, "index patterns: only exclusions ('-PATTERN') given");
		goto out;
	}
	if (patterns && metastore_list_indexes(ms, &names, &n_names, err) < 0)
		goto out;
	for (i = 0; i < n_names; i++) {
		bool take = false;

		for (j = 0; j < req->n_indexes && !take; j++) {
			const char *s = req->indexes[j];

			take = s[0] != '-' && strchr(s, '*') && fnmatch(s, names[i], 0) == 0;
		}
		if (take && !in_list(v, n, names[i])) {
			XGROW(v, n + 2, cap);
			v[n++] = xstrdup(names[i]);
		}
	}
	for (j = 0; j < req->n_indexes; j++) {
		const char *s = req->indexes[j];

		if (s[0] != '-')
			continue;
		for (i = 0; i < n; ) {
			if (fnmatch(s + 1, v[i], 0) == 0) {
				free(v[i]);
				memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
				n--;
			} else {
				i++;
			}
		}
	}
	v[n] = NULL;
	*ids = v;
	*n_ids = n;
	v = NULL;
	ret = 0;
out:
	metastore_free_list(names, n_names);
	if (v)
		metastore_free_list(v, n);
	return ret;
}

/* Add the published splits of one index that survive pruning as tasks. */
static int plan_index(struct run *run, struct metastore *ms, struct index_ctx *ix,
		      struct qw_err *err)
{
	const struct search_request *req = run->req;
	struct split_record *recs;
	size_t n_recs, cap = run->n_tasks;

	(void)err;
	metastore_split_records(ix->meta, SPLIT_STATE_PUBLISHED, &recs, &n_recs);
	for (size_t i = 0; i < n_recs; i++) {
		const struct split_record *r = &recs[i];
		const char *sid = r->split_id;
		struct task *t;

		if (r->has_time_range && ix->cfg->timestamp_field) {
			if (req->has_end && r->time_start >= req->end_ts)
				continue;
			if (req->has_start && r->time_end < req->start_ts)
				continue;
		}
		if (r->tags && tag_excludes(ix, run->q, (const char *const *)r->tags, r->n_tags))
			continue;
		if (!*sid || strchr(sid, '/') || sid[0] == '.')
			continue; /* never a path from an unchecked id */
		cap = run->n_tasks + 1;
		run->tasks = xreallocarray(run->tasks, cap, sizeof(*run->tasks));
		t = &run->tasks[run->n_tasks++];
		memset(t, 0, sizeof(*t));
		t->ix = ix;
		t->split_id = xstrdup(sid);
		t->delete_opstamp = r->delete_opstamp;
		t->path = metastore_split_path_doc(ms, ix->index_id, ix->meta, sid);
		t->size = r->has_size && r->size_bytes > 0 ? (uint64_t)r->size_bytes : 0;
	}
	metastore_free_splits(recs, n_recs);
	return 0;
}

/* ------------------------------------------------------------------ output */

/* The value at a dotted path of doc, with its parent object and last key. */
static json_t *json_path_get(json_t *doc, const char *path, json_t **parent, const char **last)
{
	const char *seg = path, *dot;
	json_t *cur = doc, *v;

	*parent = NULL;
	*last = "";
	for (;;) {
		if (!json_is_object(cur))
			return NULL;
		dot = strchr(seg, '.');
		if (!dot) {
			v = json_object_get(cur, seg);
			if (v) {
				*parent = cur;
				*last = seg;
			}
			return v;
		}
		cur = json_object_getn(cur, seg, (size_t)(dot - seg));
		seg = dot + 1;
	}
}

static json_t *reformat_dt(json_t *v, const char *fmt)
{
	int64_t us;
	struct buf b = BUF_INIT;
	json_t *out;

	if (!json_is_string(v) ||
	    !datetime_parse("rfc3339", json_string_value(v), json_string_length(v), &us))
		return json_incref(v);
	datetime_format_json_ns(us, datetime_rfc3339_sub_us(json_string_value(v), json_string_length(v)),
				fmt, &b);
	out = json_loadb(b.data ? b.data : "", b.len, JSON_DECODE_ANY, NULL);
	buf_free(&b);
	return out ? out : json_incref(v);
}

/* A bytes value from its input_format to its output_format. */
static json_t *reformat_bytes(json_t *v, const struct field_mapping *m)
{
	struct buf raw = BUF_INIT, b = BUF_INIT;
	json_t *out = NULL;

	if (json_is_string(v) &&
	    docmap_bytes_decode(m, json_string_value(v), json_string_length(v), &raw)) {
		docmap_bytes_encode(m->bytes_output_hex, (const uint8_t *)raw.data, raw.len, &b);
		out = json_stringn(b.data ? b.data : "", b.len);
	}
	buf_free(&raw);
	buf_free(&b);
	return out ? out : json_incref(v);
}

/* A number of a field with output_format: string, as its JSON digits. */
static json_t *reformat_number(json_t *v)
{
	struct buf b = BUF_INIT;
	json_t *out;

	/* integers over INT64_MAX are held as "\u0000DIGITS" (docmap_load) */
	if (json_is_string(v) && json_string_length(v) > 1 && json_string_value(v)[0] == '\0')
		return json_stringn(json_string_value(v) + 1, json_string_length(v) - 1);
	if (!json_is_number(v))
		return json_incref(v);
	docmap_serialize(v, &b);
	out = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return out ? out : json_incref(v);
}

static json_t *reformat(json_t *v, const struct field_mapping *m)
{
	if (m->type == FT_DATETIME)
		return reformat_dt(v, m->output_format);
	if (m->type == FT_BYTES)
		return reformat_bytes(v, m);
	return reformat_number(v);
}

/*
 * Stored values in their field's output_format: datetimes (stored as RFC
 * 3339), bytes (stored in their input_format) and numbers with
 * output_format: string.
 */
static void apply_output_formats(const struct index_config *cfg, json_t *doc)
{
	size_t i, j;

	for (i = 0; i < cfg->n_leaves; i++) {
		const struct field_mapping *m = cfg->leaves[i];
		json_t *parent, *v, *nv;
		const char *last;

		if (m->type == FT_DATETIME) {
			if (!m->output_format || strcmp(m->output_format, "rfc3339") == 0)
				continue;
		} else if (m->type == FT_BYTES) {
			if (m->bytes_input_hex == m->bytes_output_hex)
				continue;
		} else if (!((m->type == FT_I64 || m->type == FT_U64 || m->type == FT_F64) &&
			     m->output_format_string)) {
			continue;
		}
		v = json_path_get(doc, m->path, &parent, &last);
		if (!v)
			continue;
		if (json_is_array(v)) {
			for (j = 0; j < json_array_size(v); j++) {
				nv = reformat(json_array_get(v, j), m);
				json_array_set_new(v, j, nv);
			}
		} else {
			nv = reformat(v, m);
			json_object_set_new(parent, last, nv);
		}
	}
}

struct hit_ref {
	struct hit h;
	size_t out_idx;
};

static int cmp_ref_loc(const void *a, const void *b)
{
	const struct hit_ref *x = a, *y = b;

	if (x->h.task != y->h.task)
		return x->h.task < y->h.task ? -1 : 1;
	return x->h.doc < y->h.doc ? -1 : x->h.doc > y->h.doc;
}

static int cmp_hits(const void *a, const void *b, void *run)
{
	return hit_cmp(run, a, b);
}

/* The tokens of the query's term and phrase clauses on path (as tantivy's query_terms). */
static void snippet_query_terms(const struct query_node *n, const struct index_ctx *ix,
				const char *path, struct tokenizer_ref tok, struct tokenizer_state *ts,
				struct toks *out)
{
	size_t i;
	bool on = false;

	if ((n->kind == QN_TERM || n->kind == QN_PHRASE) && n->text) {
		if (n->field)
			on = strcmp(n->field, path) == 0;
		for (i = 0; !n->field && i < ix->n_search_fields; i++)
			on = on || strcmp(ix->search_fields[i], path) == 0;
		if (on)
			tokenize(ts, tok, n->text, strlen(n->text), tok_emit, out);
	}
	for (i = 0; i < n->n_kids; i++)
		snippet_query_terms(n->kids[i], ix, path, tok, ts, out);
}

/* {field: [snippet of each value where a query term occurs]} of one doc of split r. */
static json_t *doc_snippets(struct run *run, const struct task *t, struct split_reader *r,
			    json_t *doc)
{
	const struct search_request *req = run->req;
	struct tokenizer_state ts;
	struct buf html = BUF_INIT;
	json_t *o = json_object();
	size_t i, j, k;

	tokenizer_init(&ts);
	for (i = 0; i < req->n_snippet_fields; i++) {
		const char *path = req->snippet_fields[i], *last;
		const struct field_mapping *m = config_resolve_field(t->ix->cfg, path, NULL);
		int field = split_reader_find_field(r, path, VK_TEXT);
		struct snippet_term *st;
		struct toks tk;
		size_t nst = 0;
		json_t *arr = json_array(), *v, *parent;

		memset(&tk, 0, sizeof(tk));
		if (m)
			snippet_query_terms(run->q, t->ix, path, m->tokenizer, &ts, &tk);
		st = xcalloc(tk.n ? tk.n : 1, sizeof(*st));
		for (j = 0; j < tk.n && field >= 0; j++) {
			struct split_term_info ti;
			struct qw_err e = QW_ERR_INIT;

			/* tantivy's weight: 1 / (1 + doc_freq in the split); absent terms are left out */
			if (split_reader_term_lookup(r, field, tk.t[j], tk.tl[j], &ti, &e) > 0) {
				st[nst].term = tk.t[j];
				st[nst].len = tk.tl[j];
				st[nst].score = 1.0 / (1.0 + (double)ti.doc_freq);
				nst++;
			}
		}
		v = json_path_get(doc, path, &parent, &last);
		for (k = 0; m && nst > 0 && v && k < (json_is_array(v) ? json_array_size(v) : 1); k++) {
			json_t *s = json_is_array(v) ? json_array_get(v, k) : v;

			if (json_is_string(s) &&
			    snippet_html(&ts, m->tokenizer, json_string_value(s), json_string_length(s), st,
					 nst, SNIPPET_MAX_CHARS, &html))
				json_array_append_new(arr, json_stringn(html.data, html.len));
		}
		json_object_set_new(o, path, arr);
		free(st);
		toks_free(&tk);
	}
	buf_free(&html);
	tokenizer_free(&ts);
	return o;
}

/* Load the returned docs, split by split, into hits[] in rank order (and their snippets). */
/*
 * Document doc of t's split as JSON (new reference); NULL when it cannot be
 * read (named in errors, *partial set) or does not load.
 */
static json_t *load_doc(const struct task *t, struct split_reader *r, uint32_t doc, json_t *errors,
			bool *partial)
{
	struct qw_err e = QW_ERR_INIT;
	const char *json;
	size_t len;

	if (split_reader_doc(r, doc, &json, &len, &e) < 0) {
		json_array_append_new(errors, json_sprintf("split %s: %s", t->split_id, e.msg));
		*partial = true;
		return NULL;
	}
	return docmap_load(json, len, 0, NULL);
}

/* A reader for the fetch phase of a split whose search did not keep one. */
static struct split_reader *fetch_reader(const struct run *run, struct task *t,
					 struct qw_err *err)
{
	struct split_reader *r = task_open(run, t, err);

	if (r && split_reader_check_id(r, t->split_id, err) < 0) {
		task_io_add(t, r);
		split_reader_close(r);
		r = NULL;
	}
	return r;
}

/*
 * The fetch phase for req->on_hit: hits go out one at a time in rank order,
 * so that a reader of the first lines (`| head -1`) has them before the last
 * document is read. Readers the search did not keep are opened once each and
 * closed at the end. Stops when on_hit says the output is gone.
 */
static void stream_docs(struct run *run, const struct hit *sel, size_t n, json_t *errors,
			bool *partial)
{
	size_t n_tasks = run->n_tasks ? run->n_tasks : 1, i;
	struct split_reader **opened = xcalloc(n_tasks, sizeof(*opened));
	bool *failed = xcalloc(n_tasks, sizeof(*failed));
	struct qw_err e = QW_ERR_INIT;

	for (i = 0; i < n; i++) {
		uint32_t ti = sel[i].task;
		struct task *t = &run->tasks[ti];
		struct split_reader *r = t->r ? t->r : opened[ti];
		json_t *doc;
		int rc;

		if (!r && !failed[ti]) {
			err_clear(&e);
			r = opened[ti] = fetch_reader(run, t, &e);
			if (!r) {
				json_array_append_new(errors, json_sprintf("split %s: %s", t->split_id, e.msg));
				*partial = failed[ti] = true;
			}
		}
		if (!r)
			continue;
		doc = load_doc(t, r, sel[i].doc, errors, partial);
		if (!doc)
			continue;
		apply_output_formats(t->ix->cfg, doc);
		rc = run->req->on_hit(run->req->on_hit_ctx, doc);
		json_decref(doc);
		if (rc < 0)
			break;
	}
	for (i = 0; i < n_tasks; i++)
		if (opened[i]) {
			task_io_add(&run->tasks[i], opened[i]);
			split_reader_close(opened[i]);
		}
	free(failed);
	free(opened);
}

static int fetch_docs(struct run *run, const struct hit *sel, size_t n, json_t *hits,
		      json_t *snippets, json_t *errors, bool *partial)
{
	struct hit_ref *refs = xcalloc(n ? n : 1, sizeof(*refs));
	json_t **docs = xcalloc(n ? n : 1, sizeof(*docs));
	json_t **snips = xcalloc(n ? n : 1, sizeof(*snips));
	struct split_reader *r = NULL;
	uint32_t cur_task = UINT32_MAX;
	struct qw_err e = QW_ERR_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		refs[i].h = sel[i];
		refs[i].out_idx = i;
	}
	qsort(refs, n, sizeof(*refs), cmp_ref_loc);
	for (i = 0; i < n; i++) {
		struct task *t = &run->tasks[refs[i].h.task];

		if (refs[i].h.task != cur_task) {
			if (cur_task != UINT32_MAX && !run->tasks[cur_task].r) {
				task_io_add(&run->tasks[cur_task], r);
				split_reader_close(r);
			}
			cur_task = refs[i].h.task;
			err_clear(&e);
			r = t->r ? t->r : fetch_reader(run, t, &e);
			if (!r) {
				json_array_append_new(errors, json_sprintf("split %s: %s", t->split_id, e.msg));
				*partial = true;
			}
		}
		if (!r)
			continue;
		docs[refs[i].out_idx] = load_doc(t, r, refs[i].h.doc, errors, partial);
		if (docs[refs[i].out_idx]) {
			if (snippets)
				snips[refs[i].out_idx] = doc_snippets(run, t, r, docs[refs[i].out_idx]);
			apply_output_formats(t->ix->cfg, docs[refs[i].out_idx]);
		}
	}
	if (cur_task != UINT32_MAX && !run->tasks[cur_task].r) {
		task_io_add(&run->tasks[cur_task], r);
		split_reader_close(r);
	}
	for (i = 0; i < n; i++)
		if (docs[i]) {
			json_array_append_new(hits, docs[i]);
			if (snippets)
				json_array_append_new(snippets, snips[i]);
		}
	free(snips);
	free(docs);
	free(refs);
	return 0;
}

/* ------------------------------------------------------------------ entry */

static void io_json_add(json_t *o, const struct split_io *io)
{
	json_t *s = json_object_get(o, "splits");

	json_object_set_new(o, "splits", json_integer(json_integer_value(s) + 1));
	json_object_set_new(o, "requests", json_integer(json_integer_value(
		json_object_get(o, "requests")) + (json_int_t)io->requests));
	json_object_set_new(o, "bytes", json_integer(json_integer_value(
		json_object_get(o, "bytes")) + (json_int_t)io->bytes));
}

/* The response's "stats" (search.h): what each split searched has cost. */
static json_t *stats_json(const struct run *run)
{
	json_t *st = json_object(), *per = json_array(), *local = json_object(),
	       *s3 = json_object(), *total = json_object();

	json_object_set_new(total, "splits", json_integer(0));
	json_object_set_new(total, "requests", json_integer(0));
	json_object_set_new(total, "bytes", json_integer(0));
	json_object_update(local, total);
	json_object_update(s3, total);
	for (size_t i = 0; i < run->n_tasks; i++) {
		const struct task *t = &run->tasks[i];

		io_json_add(total, &t->io);
		io_json_add(t->io.remote ? s3 : local, &t->io);
		json_array_append_new(per, json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}",
						     "split_id", t->split_id,
						     "index_id", t->ix->index_id,
						     "storage", t->io.remote ? "s3" : "local",
						     "requests", (json_int_t)t->io.requests,
						     "bytes", (json_int_t)t->io.bytes,
						     "footer_cached", t->io.footer_cached));
	}
	json_object_update(st, total);
	json_decref(total);
	json_object_set_new(st, "local", local);
	json_object_set_new(st, "s3", s3);
	json_object_set_new(st, "per_split", per);
	return st;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static long online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

/* One search on one snapshot of the metastore; *gone: a split file of the
 * snapshot was missing (a merge published and gc removed it meanwhile). */
static int search_run_once(const char *data_dir, const struct search_request *req,
			   json_t **response, bool *partial, bool *gone, struct qw_err *err)
{
	struct run run;
	struct metastore *ms = NULL;
	struct index_ctx *ixs = NULL;
	char **ids = NULL;
	size_t n_ids = 0;
	struct hit *all = NULL;
	size_t n_all = 0, cap_all = 0, i, j, n_ix = 0;
	uint64_t num_hits = 0, start_us = mono_us();
	json_t *out = NULL, *hits = NULL, *errors = NULL, *snippets = NULL, *last_json = NULL;
	json_t *hit_ix = NULL;
	struct agg_result *agg_total = NULL;
	pthread_t *th = NULL;
	size_t n_threads = 0;
	bool remote = false;
	int rc = -1;

	memset(&run, 0, sizeof(run));
	*response = NULL;
	*partial = false;
	run.req = req;
	if (req->n_indexes == 0) {
		err_set(err, EX_USAGE, "no index given (--index)");
		goto out;
	}
	run.q = query_parse(req->query && *req->query ? req->query : "*", err);
	if (!run.q)
		goto out;
	if (req->aggs && !json_is_null(req->aggs)) {
		run.aggs = aggs_parse(req->aggs, err);
		if (!run.aggs)
			goto out;
	}
	ms = metastore_open(data_dir, err);
	if (!ms)
		goto out;
	if (resolve_indexes(ms, req, &ids, &n_ids, err) < 0)
		goto out;
	ixs = xcalloc(n_ids ? n_ids : 1, sizeof(*ixs));
	for (i = 0; i < n_ids; i++) {
		struct index_ctx *ix = &ixs[n_ix];

		ix->index_id = xstrdup(ids[i]);
		n_ix++;
		ix->meta = metastore_read(ms, ix->index_id, err);
		if (!ix->meta)
			goto out;
		ix->cfg = config_from_json(json_object_get(ix->meta, "index_config"), err);
		if (!ix->cfg) {
			err_prefix(err, "index '%s': stored config", ix->index_id);
			goto out;
		}
		if (req->search_fields) {
			ix->search_fields = (char **)req->search_fields;
			ix->n_search_fields = req->n_search_fields;
		} else {
			ix->search_fields = ix->cfg->default_search_fields;
			ix->n_search_fields = ix->cfg->n_default_search_fields;
		}
		ix->lenient = req->lenient;
		if (check_snippet_fields(req, ix, err) < 0)
			goto out;
	}
	for (i = 0; i < n_ix; i++)
		if (check_query(&ixs[i], ixs, n_ix, run.q, err) < 0)
			goto out;
	if (parse_sort(&run, req->sort_by, ixs, n_ix, err) < 0 ||
	    (run.aggs && check_agg_fields(run.aggs, ixs, n_ix, err) < 0))
		goto out;
	if (req->search_after && !json_is_null(req->search_after) &&
	    parse_after(&run, req->search_after, err) < 0)
		goto out;
	if (req->max_hits > 100000000 || req->start_offset > 100000000) {
		err_set(err, EX_USAGE, "--max-hits and --start-offset must be at most 100000000");
		goto out;
	}
	run.k = (size_t)(req->start_offset + req->max_hits);
	if (req->max_hits == 0)
		run.k = 0;
	for (i = 0; i < n_ix; i++)
		if (plan_index(&run, ms, &ixs[i], err) < 0)
			goto out;

	for (i = 0; i < run.n_tasks && !remote; i++)
		remote = split_cache_is_remote(run.tasks[i].path);
	if (remote) {
		if (split_cache_check_config(err) < 0)
			goto out;
		run.s3 = s3_client_new(err);
		if (!run.s3)
			goto out;
	}

	/* few enough readers (a file descriptor and ~100 KB each) stay open for fetch_docs */
	run.keep_readers = run.k > 0 && run.n_tasks <= 64;
	n_threads = req->threads ? req->threads : run.n_tasks > 1 ? (size_t)online_cpus() : 1;
	/*
	 * s3:// splits wait on the network, not on a core: more of them are
	 * read at once (each thread takes a pooled connection, s3.h).
	 */
	if (remote && !req->threads && n_threads < SEARCH_S3_PARALLEL)
		n_threads = SEARCH_S3_PARALLEL;
	if (n_threads > run.n_tasks)
		n_threads = run.n_tasks;
	if (n_threads > 64)
		n_threads = 64;
	/*
	 * A thread costs about as much as opening a split and looking a term
	 * up: unless asked for, one or two splits with nothing but counting to
	 * do get one thread, which answers sooner.
	 */
	if (!req->threads && run.n_tasks <= 2 && run.k == 0 && !run.aggs && !remote)
		n_threads = 1;
	if (n_threads <= 1) {
		worker(&run);
	} else {
		size_t started = 0;

		/* this thread is one of the workers */
		th = xcalloc(n_threads - 1, sizeof(*th));
		for (i = 0; i + 1 < n_threads; i++)
			if (pthread_create(&th[i], NULL, worker, &run) == 0)
				started++;
			else
				break;
		worker(&run);
		for (i = 0; i < started; i++)
			pthread_join(th[i], NULL);
	}

	errors = json_array();
	for (i = 0; i < run.n_tasks; i++) {
		struct task *t = &run.tasks[i];

		if (t->failed) {
			json_array_append_new(errors, json_sprintf("split %s of index %s: %s", t->split_id,
								   t->ix->index_id, t->err.msg));
			*partial = true;
			if (t->err.code == EX_NOINPUT)
				*gone = true;
			continue;
		}
		num_hits += t->num_hits;
		for (j = 0; j < t->n_hits; j++) {
			XGROW(all, n_all + 1, cap_all);
			all[n_all++] = t->hits[j];
		}
		if (t->aggs) {
			if (!agg_total)
				agg_total = t->aggs;
			else
				aggs_merge(agg_total, t->aggs);
			t->aggs = NULL;
		}
	}
	if (n_all > 1)
		qsort_r(all, n_all, sizeof(*all), cmp_hits, &run);
	hits = json_array();
	if (req->n_snippet_fields > 0)
		snippets = json_array();
	if (req->start_offset < n_all) {
		size_t from = (size_t)req->start_offset;
		size_t cnt = n_all - from;

		if (cnt > req->max_hits)
			cnt = (size_t)req->max_hits;
		if (req->on_hit)
			stream_docs(&run, all + from, cnt, errors, partial);
		else
			fetch_docs(&run, all + from, cnt, hits, snippets, errors, partial);
		if (cnt > 0)
			last_json = after_json(&run, &all[from + cnt - 1]);
		if (req->hit_indexes && !req->on_hit && !*partial) {
			hit_ix = json_array();
			for (j = 0; j < cnt; j++)
				json_array_append_new(
					hit_ix, json_string(run.tasks[all[from + j].task].ix->index_id));
		}
	}
	out = json_object();
	if (hit_ix)
		json_object_set_new(out, "hit_indexes", hit_ix);
	hit_ix = NULL;
	json_object_set_new(out, "num_hits", json_integer((json_int_t)num_hits));
	json_object_set_new(out, "hits", hits);
	hits = NULL;
	if (snippets)
		json_object_set_new(out, "snippets", snippets);
	snippets = NULL;
	json_object_set_new(out, "elapsed_time_micros",
			    json_integer((json_int_t)(mono_us() - start_us)));
	json_object_set_new(out, "errors", errors);
	errors = NULL;
	if (run.aggs)
		json_object_set_new(out, "aggregations", aggs_to_json(run.aggs, agg_total));
	if (last_json) {
		json_object_set_new(out, "search_after", last_json);
		last_json = NULL;
	}
	if (req->stats) {
		for (i = 0; i < run.n_tasks; i++) {
			/* kept readers are closed below: count them now, once */
			task_io_add(&run.tasks[i], run.tasks[i].r);
			split_reader_close(run.tasks[i].r);
			run.tasks[i].r = NULL;
		}
		json_object_set_new(out, "stats", stats_json(&run));
	}
	*response = out;
	rc = 0;
out:
	json_decref(hit_ix);
	json_decref(last_json);
	free(run.after_split);
	json_decref(hits);
	json_decref(snippets);
	json_decref(errors);
	aggs_result_free(agg_total);
	free(th);
	free(all);
	for (i = 0; i < run.n_tasks; i++) {
		split_reader_close(run.tasks[i].r);
		free(run.tasks[i].split_id);
		free(run.tasks[i].path);
		free(run.tasks[i].hits);
		aggs_result_free(run.tasks[i].aggs);
	}
	free(run.tasks);
	s3_client_free(run.s3);
	for (i = 0; i < run.n_sort; i++)
		free(run.sort[i].field);
	for (i = 0; i < n_ix; i++) {
		free(ixs[i].index_id);
		config_free(ixs[i].cfg);
		json_decref(ixs[i].meta);
	}
	free(ixs);
	metastore_free_list(ids, n_ids);
	metastore_close(ms);
	aggs_req_free(run.aggs);
	query_free(run.q);
	return rc;
}

/*
 * A split file that is gone was removed by qw gc after a merge or a
 * retention marked it: the split is not Published any more, and a new
 * snapshot of the metastore names the splits that hold its documents now.
 * So search again (a few times, each on a fresh snapshot) rather than
 * answer without them.
 */
int search_run(const char *data_dir, const struct search_request *req, json_t **response,
	       bool *partial, struct qw_err *err)
{
	for (int attempt = 0;; attempt++) {
		bool gone = false;
		int rc = search_run_once(data_dir, req, response, partial, &gone, err);

		if (rc < 0 || !gone || attempt == 4)
			return rc;
		json_decref(*response);
		*response = NULL;
	}
}

int search_check_delete_query(json_t *index_meta, const char *index_id, const char *query,
			      const char *const *search_fields, size_t n_search_fields,
			      struct qw_err *err)
{
	struct index_ctx ix;
	struct query_node *q = NULL;
	int rc = -1;

	memset(&ix, 0, sizeof(ix));
	ix.index_id = (char *)index_id;
	ix.meta = index_meta;
	ix.cfg = config_from_json(json_object_get(index_meta, "index_config"), err);
	if (!ix.cfg) {
		err_prefix(err, "index '%s': stored config", index_id);
		goto out;
	}
	ix.search_fields = (char **)search_fields;
	ix.n_search_fields = n_search_fields;
	q = query_parse(query && *query ? query : "*", err);
	if (!q)
		goto out;
	rc = check_query(&ix, &ix, 1, q, err);
out:
	query_free(q);
	config_free(ix.cfg);
	return rc;
}

int search_deleted_docs(json_t *index_meta, const char *index_id,
			const struct index_config *cfg, struct split_reader *r,
			uint64_t after_opstamp, uint8_t **deleted, uint64_t *n_deleted,
			struct qw_err *err)
{
	struct split_ctx sc;
	struct bitset del;
	json_t *tasks = metastore_delete_tasks_doc(index_meta);
	uint32_t doc;
	int rc = 0;

	*deleted = NULL;
	*n_deleted = 0;
	if (!tasks || after_opstamp >= metastore_last_delete_opstamp(index_meta))
		return 0;
	memset(&sc, 0, sizeof(sc));
	sc.r = r;
	sc.cfg = cfg;
	sc.err = err;
	sc.num_docs = split_reader_num_docs(r);
	tokenizer_init(&sc.ts);
	bs_init(&del, sc.num_docs);
	rc = deleted_docs(&sc, index_id, tasks, after_opstamp, &del);
	if (rc == 0 && bs_count(&del) > 0) {
		*deleted = xcalloc(sc.num_docs, 1);
		for (doc = bs_next(&del, 0); doc != UINT32_MAX; doc = bs_next(&del, doc + 1))
			(*deleted)[doc] = 1;
		*n_deleted = bs_count(&del);
	}
	bs_free(&del);
	tokenizer_free(&sc.ts);
	return rc;
}
