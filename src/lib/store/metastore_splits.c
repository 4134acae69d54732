/*
 * metastore_splits: split records out of the index document (see the
 * "split records" part of metastore.h). Built on the public metastore
 * calls only, so every backend gets them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "store/metastore_backend.h"
#include "base/xalloc.h"

const char *split_state_name(enum split_state state)
{
	switch (state) {
	case SPLIT_STATE_STAGED:
		return SPLIT_STAGED;
	case SPLIT_STATE_PUBLISHED:
		return SPLIT_PUBLISHED;
	case SPLIT_STATE_MARKED:
		return SPLIT_MARKED;
	case SPLIT_STATE_OTHER:
		break;
	}
	return NULL;
}

enum split_state split_state_parse(const char *name)
{
	if (!name)
		return SPLIT_STATE_OTHER;
	if (!strcmp(name, SPLIT_STAGED))
		return SPLIT_STATE_STAGED;
	if (!strcmp(name, SPLIT_PUBLISHED))
		return SPLIT_STATE_PUBLISHED;
	if (!strcmp(name, SPLIT_MARKED))
		return SPLIT_STATE_MARKED;
	return SPLIT_STATE_OTHER;
}

static bool is_current_token(json_t *doc, const char *token)
{
	json_t *tokens = json_object_get(doc, "publish_tokens");
	const char *k;
	json_t *v;

	if (!token)
		return false;
	json_object_foreach(tokens, k, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), token))
			return true;
	return false;
}

/* An integer member: true and *out set when present and an integer. */
static bool get_int(json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

/*
 * The members of a split record, and of its "metadata", that
 * metastore_split_records() reads: one list, read by decode_split() and
 * kept by the lean reader (member_ctx()), so that the two cannot differ.
 */
static const char rec_metadata[] = "metadata";  /* an object: meta_keys below */
enum { REC_STATE, REC_TOKEN, REC_UPDATE_TS, REC_PUBLISH_TS, REC_NKEYS };
static const char *const record_keys[REC_NKEYS + 1] = {
	[REC_STATE] = "split_state", [REC_TOKEN] = "publish_token",
	[REC_UPDATE_TS] = "update_timestamp", [REC_PUBLISH_TS] = "publish_timestamp",
};
enum { META_DOCS, META_DOCS_SIZE, META_SIZE, META_TIME_RANGE, META_TAGS, META_CREATE_TS,
       META_DELETE_OPSTAMP, META_NKEYS };
static const char *const meta_keys[META_NKEYS + 1] = {
	[META_DOCS] = "num_docs", [META_DOCS_SIZE] = "uncompressed_docs_size_in_bytes",
	[META_SIZE] = "split_size_bytes", [META_TIME_RANGE] = "time_range", [META_TAGS] = "tags",
	[META_CREATE_TS] = "create_timestamp",
	[META_DELETE_OPSTAMP] = "delete_opstamp",       /* metastore_split_delete_opstamp() */
};

static void decode_split(json_t *doc, const char *id, json_t *rec, enum split_state state,
			 struct split_record *r)
{
	json_t *meta = json_object_get(rec, rec_metadata);
	json_t *range = json_object_get(meta, meta_keys[META_TIME_RANGE]);
	json_t *tags = json_object_get(meta, meta_keys[META_TAGS]);
	const char *token = json_string_value(json_object_get(rec, record_keys[REC_TOKEN]));
	size_t i;
	json_t *t;

	memset(r, 0, sizeof(*r));
	r->split_id = xstrdup(id);
	r->state = state;
	r->publish_token = token ? xstrdup(token) : NULL;
	r->token_is_current = is_current_token(doc, token);
	/* Absent counts are 0, as the summaries have always counted them. */
	get_int(meta, meta_keys[META_DOCS], &r->num_docs);
	get_int(meta, meta_keys[META_DOCS_SIZE], &r->uncompressed_docs_size_in_bytes);
	r->has_size = get_int(meta, meta_keys[META_SIZE], &r->size_bytes);
	r->has_time_range = json_is_object(range) && get_int(range, "start", &r->time_start) &&
			    get_int(range, "end", &r->time_end);
	if (json_is_array(tags)) {
		r->tags = xcalloc(json_array_size(tags) + 1, sizeof(*r->tags));
		json_array_foreach(tags, i, t)
			if (json_is_string(t))
				r->tags[r->n_tags++] = xstrdup(json_string_value(t));
	}
	r->has_create_timestamp = get_int(meta, meta_keys[META_CREATE_TS], &r->create_timestamp);
	r->has_update_timestamp = get_int(rec, record_keys[REC_UPDATE_TS], &r->update_timestamp);
	r->has_publish_timestamp = get_int(rec, record_keys[REC_PUBLISH_TS],
					    &r->publish_timestamp);
	r->delete_opstamp = metastore_split_delete_opstamp(meta);
}

static int cmp_record(const void *a, const void *b)
{
	return strcmp(((const struct split_record *)a)->split_id,
		      ((const struct split_record *)b)->split_id);
}

void metastore_split_records(json_t *index_meta, unsigned states, struct split_record **recs,
			     size_t *n)
{
	json_t *splits = json_object_get(index_meta, "splits");
	struct split_record *out = NULL;
	size_t count = 0;
	const char *id;
	json_t *rec;

	if (json_object_size(splits) > 0)
		out = xcalloc(json_object_size(splits), sizeof(*out));
	json_object_foreach(splits, id, rec) {
		enum split_state state = split_state_parse(
			json_string_value(json_object_get(rec, record_keys[REC_STATE])));

		if (!(state & states))
			continue;
		decode_split(index_meta, id, rec, state, &out[count++]);
	}
	if (count > 1)
		qsort(out, count, sizeof(*out), cmp_record);
	*recs = out;
	*n = count;
}

int metastore_list_splits(struct metastore *ms, const char *index_id, unsigned states,
			  struct split_record **recs, size_t *n, struct qw_err *err)
{
	json_t *doc = metastore_read(ms, index_id, err);

	*recs = NULL;
	*n = 0;
	if (!doc)
		return -1;
	metastore_split_records(doc, states, recs, n);
	json_decref(doc);
	return 0;
}

void metastore_free_splits(struct split_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < recs[i].n_tags; j++)
			free(recs[i].tags[j]);
		free(recs[i].tags);
		free(recs[i].publish_token);
		free(recs[i].split_id);
	}
	free(recs);
}

struct unpublished_ctx {
	const char *const *split_ids;
	size_t n;
	bool *marked;
};

static int mark_unpublished_tx(json_t *doc, void *vctx, struct qw_err *err)
{
	struct unpublished_ctx *c = vctx;
	json_t *splits = json_object_get(doc, "splits");
	json_int_t now = (json_int_t)clock_wall_s();

	for (size_t i = 0; i < c->n; i++) {
		json_t *rec = json_object_get(splits, c->split_ids[i]);
		enum split_state state = split_state_parse(
			json_string_value(json_object_get(rec, record_keys[REC_STATE])));

		c->marked[i] = state == SPLIT_STATE_MARKED;
		if (state != SPLIT_STATE_STAGED)
			continue;
		if (json_object_set_new(rec, "split_state", json_string(SPLIT_MARKED)) < 0 ||
		    json_object_set_new(rec, "update_timestamp", json_integer(now)) < 0)
			return err_set(err, EX_SOFTWARE, "cannot update split '%s'",
				       c->split_ids[i]);
		c->marked[i] = true;
	}
	return 0;
}

int metastore_mark_unpublished_for_deletion(struct metastore *ms, const char *index_id,
					    const char *const *split_ids, size_t n, bool *marked,
					    struct qw_err *err)
{
	struct unpublished_ctx c = { split_ids, n, marked };
	int ret = -1;

	memset(marked, 0, n * sizeof(*marked));
	if (ids_check_index(index_id, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!ids_is_ulid(split_ids[i])) {
			err_set(err, EX_USAGE, "invalid split id '%.64s': not a ULID",
				split_ids[i] ? split_ids[i] : "");
			goto out;
		}
	if (metastore_update(ms, index_id, mark_unpublished_tx, &c, err) < 0) {
		/* aborted: nothing was written, whatever the transaction saw */
		memset(marked, 0, n * sizeof(*marked));
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* ------------------------------------------------- the search's lean read */

/*
 * A fast reader of the plain JSON qw writes (metastore_parse_splits_view()
 * in metastore_backend.h): strings of printable ASCII without escapes,
 * integers of at most 18 digits, true/false/null, objects whose keys repeat
 * nowhere. Anything else sets fail, and the caller parses the text with
 * jansson instead, so every document is taken or refused by jansson's rule;
 * this reader only ever takes a text that jansson takes, and builds the
 * same values for the members it keeps.
 */
struct lean {
	const char *p, *end;
	int depth;
	bool fail;
};

/* What an object's members become: the index document's own members are
 * all kept but "splits"; of a split record (and its metadata) only what
 * decode_split() reads. */
enum lean_ctx { LEAN_ALL, LEAN_TOP, LEAN_SPLITS, LEAN_RECORD, LEAN_META };

#define LEAN_MAX_DEPTH 64
#define LEAN_MAX_KEY 128     /* longer keys: jansson's parse */
#define LEAN_MAX_SKIPPED_KEYS 64

static bool in_list(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(key, *list))
			return true;
	return false;
}

/* The context of a member's value; LEAN_ALL keeps it whole, and NULL
 * *keep drops it. */
static enum lean_ctx member_ctx(enum lean_ctx ctx, const char *key, bool *keep)
{
	*keep = true;
	switch (ctx) {
	case LEAN_TOP:
		return strcmp(key, "splits") ? LEAN_ALL : LEAN_SPLITS;
	case LEAN_SPLITS:
		return LEAN_RECORD;
	case LEAN_RECORD:
		if (!strcmp(key, rec_metadata))
			return LEAN_META;
		*keep = in_list(key, record_keys);
		return LEAN_ALL;
	case LEAN_META:
		*keep = in_list(key, meta_keys);
		return LEAN_ALL;
	case LEAN_ALL:
		break;
	}
	return LEAN_ALL;
}

static void lean_ws(struct lean *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\n' || *l->p == '\t' || *l->p == '\r'))
		l->p++;
}

/* Past a string of printable ASCII without escapes; its bytes in *s, *n. */
static void lean_string(struct lean *l, const char **s, size_t *n)
{
	const char *q = ++l->p;

	while (q < l->end && *q != '"') {
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e || *q == '\\') {
			l->fail = true;
			return;
		}
		q++;
	}
	if (q == l->end) {
		l->fail = true;
		return;
	}
	*s = l->p;
	*n = (size_t)(q - l->p);
	l->p = q + 1;
}

/* An integer as jansson reads it: no leading zero, no fraction or exponent
 * (a real: jansson's parse), no "-0", at most 18 digits. */
static json_t *lean_integer(struct lean *l, bool build)
{
	bool neg = *l->p == '-';
	const char *d = l->p + neg, *q = d;
	json_int_t v = 0;

	while (q < l->end && *q >= '0' && *q <= '9') {
		if (q - d < 18) /* more digits fail below, before v is used */
			v = v * 10 + (*q - '0');
		q++;
	}
	if (q == d || q - d > 18 || (*d == '0' && (q - d > 1 || neg)) ||
	    (q < l->end && (*q == '.' || *q == 'e' || *q == 'E'))) {
		l->fail = true;
		return NULL;
	}
	l->p = q;
	return build ? json_integer(neg ? -v : v) : NULL;
}

static json_t *lean_literal(struct lean *l, bool build)
{
	static const struct {
		const char *text;
		size_t len;
	} lits[] = { { "true", 4 }, { "false", 5 }, { "null", 4 } };

	for (size_t i = 0; i < 3; i++)
		if ((size_t)(l->end - l->p) >= lits[i].len &&
		    !memcmp(l->p, lits[i].text, lits[i].len)) {
			l->p += lits[i].len;
			if (!build)
				return NULL;
			return i == 0 ? json_true() : i == 1 ? json_false() : json_null();
		}
	l->fail = true;
	return NULL;
}

static json_t *lean_value(struct lean *l, enum lean_ctx ctx, bool build);

/* After a member or element: true at the closing c, false at a comma
 * (fail set at anything else). */
static bool lean_next(struct lean *l, char close)
{
	lean_ws(l);
	if (l->p < l->end && *l->p == close) {
		l->p++;
		return true;
	}
	if (l->p < l->end && *l->p == ',') {
		l->p++;
		lean_ws(l);
		return false;
	}
	l->fail = true;
	return true;
}

/* Past the opening bracket: true when close follows (an empty one). */
static bool lean_open(struct lean *l, char close)
{
	l->p++;
	lean_ws(l);
	if (l->p < l->end && *l->p == close) {
		l->p++;
		return true;
	}
	return false;
}

static json_t *lean_array(struct lean *l, bool build)
{
	json_t *arr = build ? json_array() : NULL;

	if (lean_open(l, ']'))
		return arr;
	do {
		json_t *v = lean_value(l, LEAN_ALL, build);

		if (l->fail)
			break;
		if (build && json_array_append_new(arr, v) < 0)
			l->fail = true;
	} while (!l->fail && !lean_next(l, ']'));
	return arr;
}

/*
 * One member "key": value of an object into obj (when building), the keys
 * of the members not built in seen[] for the duplicate check.
 */
static void lean_member(struct lean *l, enum lean_ctx ctx, json_t *obj, const char **seen,
			size_t *seen_len, size_t *n_seen)
{
	char key[LEAN_MAX_KEY];
	const char *s = NULL;
	size_t n = 0;
	bool keep;
	enum lean_ctx child;
	json_t *v;

	if (l->p == l->end || *l->p != '"') {
		l->fail = true;
		return;
	}
	lean_string(l, &s, &n);
	if (l->fail || n >= sizeof(key)) {
		l->fail = true;
		return;
	}
	memcpy(key, s, n);
	key[n] = '\0';
	child = member_ctx(ctx, key, &keep);
	keep = keep && obj;
	/* jansson refuses a repeated key (JSON_REJECT_DUPLICATES): so does
	 * this reader, kept members by obj, the others by seen[] */
	if (obj && json_object_get(obj, key))
		l->fail = true;
	for (size_t i = 0; i < *n_seen && !l->fail; i++)
		if (seen_len[i] == n && !memcmp(seen[i], s, n))
			l->fail = true;
	if (!keep && *n_seen == LEAN_MAX_SKIPPED_KEYS)
		l->fail = true;
	lean_ws(l);
	if (l->fail || l->p == l->end || *l->p != ':') {
		l->fail = true;
		return;
	}
	l->p++;
	lean_ws(l);
	v = lean_value(l, child, keep);
	if (!keep && !l->fail) {
		seen[*n_seen] = s;
		seen_len[(*n_seen)++] = n;
	}
	if (keep && !l->fail && json_object_set_new_nocheck(obj, key, v) < 0)
		l->fail = true;
}

static json_t *lean_object(struct lean *l, enum lean_ctx ctx, bool build)
{
	const char *seen[LEAN_MAX_SKIPPED_KEYS];
	size_t seen_len[LEAN_MAX_SKIPPED_KEYS], n_seen = 0;
	json_t *obj = build ? json_object() : NULL;

	if (lean_open(l, '}'))
		return obj;
	do
		lean_member(l, ctx, obj, seen, seen_len, &n_seen);
	while (!l->fail && !lean_next(l, '}'));
	return obj;
}

/* A value at l->p (whitespace skipped); NULL when !build or on failure. */
static json_t *lean_value(struct lean *l, enum lean_ctx ctx, bool build)
{
	json_t *v = NULL;

	if (l->p == l->end || ++l->depth > LEAN_MAX_DEPTH) {
		l->fail = true;
		return NULL;
	}
	switch (*l->p) {
	case '{':
		v = lean_object(l, ctx, build);
		break;
	case '[':
		v = lean_array(l, build);
		break;
	case '"': {
		const char *s = NULL;
		size_t n = 0;

		lean_string(l, &s, &n);
		if (!l->fail && build)
			v = json_stringn_nocheck(s, n);
		break;
	}
	case 't':
	case 'f':
	case 'n':
		v = lean_literal(l, build);
		break;
	default:
		if (*l->p == '-' || (*l->p >= '0' && *l->p <= '9'))
			v = lean_integer(l, build);
		else
			l->fail = true;
	}
	l->depth--;
	if (l->fail) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *metastore_parse_splits_view(const char *text, size_t len, const char *where,
				    struct qw_err *err)
{
	struct lean l = { text, text + len, 0, false };
	json_t *doc = NULL;

	lean_ws(&l);
	if (l.p < l.end && *l.p == '{')
		doc = lean_value(&l, LEAN_TOP, true);
	lean_ws(&l);
	if (!doc || l.fail || l.p != l.end) {
		/* not the plain JSON qw writes: jansson's parse decides, and says why */
		json_decref(doc);
		return metastore_parse_doc(text, len, where, err);
	}
	if (metastore_check_doc(doc, where, err) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
