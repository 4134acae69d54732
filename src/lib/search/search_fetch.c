/*
 * search_fetch: the documents of the returned hits (search_int.h): loaded
 * from the splits' doc stores in split order, their output formats applied,
 * their snippets made, or streamed to req->on_hit.
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "mapping/datetime.h"
#include "search/search_int.h"
#include "search/snippet.h"

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
static json_t *doc_snippets(struct query_run *run, const struct task *t, struct split_reader *r,
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
			snippet_query_terms(run->q, t->ix, path, m->opts.tokenizer, &ts, &tk);
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
			    snippet_html(&ts, m->opts.tokenizer, json_string_value(s), json_string_length(s), st,
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
static json_t *load_doc(struct task *t, struct split_reader *r, uint32_t doc, json_t *errors,
			bool *partial)
{
	struct qw_err e = QW_ERR_INIT;
	const char *json;
	size_t len;

	if (split_reader_doc(r, doc, &json, &len, &e) < 0) {
		json_array_append_new(errors, json_sprintf("split %s: %s", t->split_id, e.msg));
		*partial = true;
		t->read_failed = true;          /* its reader is closed, not kept */
		return NULL;
	}
	return docmap_load(json, len, 0, NULL);
}

/* A reader for the fetch phase of a split whose search did not keep one. */
static struct split_reader *fetch_reader(const struct query_run *run, struct task *t,
					 struct qw_err *err)
{
	struct split_reader *r = task_open(run, t, NULL, err);

	if (r && split_reader_check_id(r, t->split_id, err) < 0) {
		task_close(run, t, r, false);
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
void stream_docs(struct query_run *run, const struct hit *sel, size_t n, json_t *errors,
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
		task_close(run, &run->tasks[i], opened[i], true);
	free(failed);
	free(opened);
}

int fetch_docs(struct query_run *run, const struct hit *sel, size_t n, json_t *hits,
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
			if (cur_task != UINT32_MAX && !run->tasks[cur_task].r)
				task_close(run, &run->tasks[cur_task], r, true);
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
	if (cur_task != UINT32_MAX && !run->tasks[cur_task].r)
		task_close(run, &run->tasks[cur_task], r, true);
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
