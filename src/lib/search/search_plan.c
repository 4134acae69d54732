/*
 * search_plan: the plan of a search (search_int.h): the query checked against
 * each index's config, the sort and search_after parsed, index patterns
 * resolved and each index's splits pruned by time range and tags into tasks.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/ids.h"
#include "base/xalloc.h"
#include "mapping/value.h"
#include "search/search_int.h"

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
	    m->opts.record != RECORD_POSITION) {
		struct tokenizer_state ts;
		uint32_t npos;

		/* a phrase of one token is a term: fine without positions */
		tokenizer_init(&ts);
		npos = tokenize(&ts, m->opts.tokenizer, n->text, strlen(n->text), NULL, NULL);
		tokenizer_free(&ts);
		if (npos > 1)
			return err_set(err, EX_DATAERR,
				       "query: col %u: phrase query on field '%s' which is not indexed with positions (record: position)",
				       n->col, path);
	}
	if (!m->opts.indexed && !m->opts.fast && n->kind != QN_EXISTS)
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

int check_query(const struct index_ctx *ix, const struct index_ctx *all, size_t n_all,
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

/* ------------------------------------------------------------------ planning */

int parse_sort(struct query_run *run, const char *sort_by, const struct index_ctx *ixs,
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

			if (m && !m->opts.fast) {
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
int check_agg_fields(const struct agg_req *aggs, const struct index_ctx *ixs, size_t n_ix,
			    struct qw_err *err)
{
	size_t n = aggs_fields(aggs, NULL, 0), i, j;
	const char **fields = xcalloc(n ? n : 1, sizeof(*fields));
	int rc = -1;

	aggs_fields(aggs, fields, n);
	for (i = 0; i < n; i++)
		for (j = 0; j < n_ix; j++) {
			const struct field_mapping *m = config_resolve_field(ixs[j].cfg, fields[i], NULL);

			if (m && !m->opts.fast) {
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
int check_snippet_fields(const struct search_request *req, const struct index_ctx *ix,
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
		if (!m->opts.stored || !m->opts.indexed)
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
			tokenize(&ts, m->opts.tokenizer, val, strlen(val), tok_emit, &tk);
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
json_t *after_json(const struct query_run *run, const struct hit *h)
{
	json_t *a = json_array();

	for (size_t i = 0; i < run->n_sort; i++)
		if (!run->sort[i].by_doc)
			json_array_append_new(a, sort_value_json(h->has[i], h->k[i]));
	json_array_append_new(a, json_sprintf("%s:%u", run->tasks[h->task].split_id, h->doc));
	return a;
}

int parse_after(struct query_run *run, json_t *sa, struct qw_err *err)
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
int resolve_indexes(struct metastore *ms, const struct search_request *req, char ***ids,
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
int plan_index(struct query_run *run, struct metastore *ms, struct index_ctx *ix,
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
