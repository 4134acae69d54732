/* segment: see segment.h; the bytes it writes are described in qw-split(5). */
#include "split/segment.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "base/bitpack.h"
#include "base/buf.h"
#include "base/checksum.h"
#include "mapping/datetime.h"
#include "base/fsutil.h"
#include "split/split_format.h"
#include "split/termkey.h"
#include "mapping/tokenizer.h"
#include "base/xalloc.h"

#define NO_DOC UINT32_MAX
#define MAX_TAG_VALUES 1000

/* ------------------------------------------------------------ strtab */

/* A hash set of byte strings, ids 0.. in insertion order, bytes in one arena. */
struct strent {
	uint64_t off;
	uint32_t len;
	uint32_t hash;
};

struct strtab {
	uint32_t *slots;         /* id + 1; 0 = empty */
	size_t nslots;           /* power of two */
	struct strent *ents;
	size_t n, cap;
	struct buf arena;
};

static uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;

	while (n >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;

		memcpy(&w, s, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	}
	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(h >> 32);
}

static size_t strtab_mem(const struct strtab *t)
{
	return t->nslots * sizeof(uint32_t) + t->cap * sizeof(struct strent) + t->arena.cap;
}

static void strtab_rehash(struct strtab *t)
{
	size_t nn = t->nslots ? t->nslots * 2 : 64;
	uint32_t *s = xcalloc(nn, sizeof(*s));

	for (size_t i = 0; i < t->n; i++) {
		size_t j = t->ents[i].hash & (nn - 1);

		while (s[j])
			j = (j + 1) & (nn - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = nn;
}

static const uint8_t *strtab_get(const struct strtab *t, uint32_t id, size_t *len)
{
	*len = t->ents[id].len;
	return (const uint8_t *)t->arena.data + t->ents[id].off;
}

/* The id of the string, adding it when new (*is_new). */
static uint32_t strtab_intern(struct strtab *t, const void *p, size_t len, bool *is_new)
{
	uint32_t h = hash_bytes(p, len);
	size_t j;

	if ((t->n + 1) * 2 > t->nslots)
		strtab_rehash(t);
	j = h & (t->nslots - 1);
	while (t->slots[j]) {
		const struct strent *e = &t->ents[t->slots[j] - 1];

		if (e->hash == h && e->len == len &&
		    memcmp(t->arena.data + e->off, p, len) == 0) {
			*is_new = false;
			return t->slots[j] - 1;
		}
		j = (j + 1) & (t->nslots - 1);
	}
	XGROW(t->ents, t->n + 1, t->cap);
	t->ents[t->n].off = t->arena.len;
	t->ents[t->n].len = (uint32_t)len;
	t->ents[t->n].hash = h;
	buf_add(&t->arena, p, len);
	t->slots[j] = (uint32_t)t->n + 1;
	*is_new = true;
	return (uint32_t)t->n++;
}

static void strtab_free(struct strtab *t)
{
	free(t->slots);
	free(t->ents);
	buf_free(&t->arena);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ segment */

struct bvec {
	uint8_t *p;
	uint32_t len, cap;
};

struct sterm {
	uint32_t df, last_doc, cur_tf, last_pos;
	uint64_t total_tf;
	struct bvec post;        /* per doc: varint doc delta [, varint tf when freqs] */
	struct bvec pos;         /* per occurrence: varint position delta within the doc */
};

struct sfield {
	char *path;
	size_t path_len;
	enum value_kind kind;
	bool indexed, fast, stored;
	struct tokenizer_ref tok;
	enum record_option rec;
	enum fast_normalizer fnorm;
	uint32_t last_doc;       /* last doc with a value */
	uint32_t pos_base;       /* next free position in last_doc */
	uint64_t docs_with_value;
	/* inverted index */
	struct strtab terms;
	struct sterm *tinfo;
	size_t tinfo_cap;
	/* fast column: (doc, value) pairs in doc order */
	uint32_t *fdocs;
	uint64_t *fvals;
	size_t fn, fcap;
	struct strtab fdict;     /* dictionary columns: value -> insertion id */
	/* field norms (text): tokens of the current value, of all values; per doc counts */
	bool norms;
	uint32_t ntok;
	uint64_t total_tokens;
	uint32_t *norm_docs, *norm_cnt;
	size_t norm_n, norm_cap;
	/* the last text value and what it gave (logs repeat a field's value
	 * from one document to the next: agents, referrers, methods): its
	 * tokens' term ids and positions, its position count, its fast id */
	struct buf last_text;
	bool last_valid, last_fast_valid, recording;
	uint32_t *last_ids, *last_pos;
	size_t last_n, last_cap;
	uint32_t last_npos, last_fast_id;
};

struct dsblock {
	uint32_t first_doc, num_docs;
	uint64_t raw_len, comp_len;
	uint32_t crc;
};

/*
 * The doc store's background compression (segment_compress_in_background):
 * one worker thread and one block in flight. While has_job, the worker owns
 * the job's fields and seg->ds_comp/ds_blocks/ds_nblocks; the caller's
 * thread touches them only after ds_wait().
 */
struct dsworker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, has_job, stop;
	struct qw_err err;       /* the first compression error */
	ZSTD_CCtx *zc;
	/* the job */
	struct buf raw;
	uint32_t *lens;
	size_t nlens, lens_cap;
	uint32_t first_doc;
	struct buf tmp;
	/* the caller's thread only: memory seen at the last ds_wait(), and the job's bound */
	size_t mem_seen, inflight;
};

struct segment {
	const struct index_config *cfg;
	struct sfield *fields;
	size_t nfields, fields_cap;
	uint32_t *fslots;        /* field index + 1 */
	size_t nfslots;
	uint32_t num_docs;
	uint64_t uncompressed;
	bool has_time;
	int64_t tmin, tmax;
	size_t mem;              /* bytes held by postings vectors and columns (incremental) */
	struct tokenizer_state ts;
	struct buf concat_text;  /* a value as the text of a concatenate field */
	/* doc store */
	struct buf ds_raw;       /* current block's docs */
	uint32_t *ds_lens;
	size_t ds_nlens, ds_lens_cap;
	uint32_t ds_first_doc;
	struct buf ds_comp;      /* compressed blocks */
	struct dsblock *ds_blocks;
	size_t ds_nblocks, ds_blocks_cap;
	struct buf ds_tmp;
	ZSTD_CCtx *zc;
	struct dsworker *bg;     /* NULL: blocks are compressed inline */
	/* fields to remove from stored docs */
	/* current add_doc */
	uint32_t cur_doc;
	struct sfield *cur_field;
};

static void ds_worker_free(struct segment *seg);

/* strtab_intern() keeping the segment's memory count (seg->mem) up to date. */
static uint32_t seg_intern(struct segment *seg, struct strtab *t, const void *p, size_t len,
			   bool *is_new)
{
	size_t before = strtab_mem(t);
	uint32_t id = strtab_intern(t, p, len, is_new);

	if (*is_new)
		seg->mem += strtab_mem(t) - before;
	return id;
}

struct segment *segment_new(const struct index_config *cfg)
{
	struct segment *seg = xcalloc(1, sizeof(*seg));

	seg->cfg = cfg;
	tokenizer_init(&seg->ts);
	seg->zc = ZSTD_createCCtx();
	if (!seg->zc) {
		free(seg);
		return NULL;
	}
	return seg;
}

static void sfield_free(struct sfield *f)
{
	for (size_t i = 0; i < f->terms.n; i++) {
		free(f->tinfo[i].post.p);
		free(f->tinfo[i].pos.p);
	}
	free(f->tinfo);
	strtab_free(&f->terms);
	free(f->fdocs);
	free(f->fvals);
	free(f->norm_docs);
	free(f->norm_cnt);
	strtab_free(&f->fdict);
	buf_free(&f->last_text);
	free(f->last_ids);
	free(f->last_pos);
	free(f->path);
}

void segment_free(struct segment *seg)
{
	if (!seg)
		return;
	for (size_t i = 0; i < seg->nfields; i++)
		sfield_free(&seg->fields[i]);
	free(seg->fields);
	free(seg->fslots);
	tokenizer_free(&seg->ts);
	ds_worker_free(seg);
	buf_free(&seg->ds_raw);
	free(seg->ds_lens);
	buf_free(&seg->ds_comp);
	free(seg->ds_blocks);
	buf_free(&seg->ds_tmp);
	buf_free(&seg->concat_text);
	ZSTD_freeCCtx(seg->zc);
	free(seg);
}

uint32_t segment_num_docs(const struct segment *seg)
{
	return seg->num_docs;
}

size_t segment_mem_bytes(const struct segment *seg)
{
	/* seg->mem counts the fields, dictionaries, postings and columns as they grow */
	size_t m = seg->mem + sizeof(*seg) + ZSTD_sizeof_CCtx(seg->zc);

	m += seg->ds_raw.cap + seg->ds_tmp.cap + seg->ds_lens_cap * sizeof(uint32_t);
	if (seg->bg)
		m += sizeof(*seg->bg) + seg->bg->mem_seen + seg->bg->inflight;
	else
		m += seg->ds_comp.cap + seg->ds_blocks_cap * sizeof(struct dsblock);
	return m;
}

uint64_t segment_uncompressed_bytes(const struct segment *seg)
{
	return seg->uncompressed;
}

bool segment_time_range(const struct segment *seg, int64_t *min_us, int64_t *max_us)
{
	if (!seg->has_time)
		return false;
	*min_us = seg->tmin;
	*max_us = seg->tmax;
	return true;
}

static void bvec_varint(struct segment *seg, struct bvec *v, uint64_t x)
{
	if (v->len + 10 > v->cap) {
		uint32_t nc = v->cap ? v->cap * 2 : 8;

		while (nc < v->len + 10)
			nc *= 2;
		v->p = xrealloc(v->p, nc);
		seg->mem += nc - v->cap + (v->cap ? 0 : 16);  /* + malloc's own header */
		v->cap = nc;
	}
	while (x >= 0x80) {
		v->p[v->len++] = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	v->p[v->len++] = (uint8_t)x;
}

static void field_options(const struct segment *seg, const struct field_mapping *m,
			  enum value_kind kind, struct sfield *f)
{
	if (m) {
		f->indexed = m->indexed;
		f->fast = m->fast;
		f->stored = m->stored;
		f->tok = m->tokenizer;
		f->rec = m->record;
		f->fnorm = m->fast_normalizer;
		f->norms = m->fieldnorms;
	} else {
		const struct dynamic_mapping *d = &seg->cfg->dynamic;

		f->indexed = d->indexed;
		f->fast = d->fast;
		f->stored = d->stored;
		f->tok = d->tokenizer;
		f->rec = d->record;
		f->fnorm = d->fast_normalizer;
		f->norms = d->fieldnorms;
	}
	if (seg->cfg->timestamp_field && kind == VK_DATETIME &&
	    strcmp(seg->cfg->timestamp_field, f->path) == 0)
		f->fast = true;
	if (kind != VK_TEXT) {
		f->tok = TOKENIZER(TOK_RAW);
		f->rec = RECORD_BASIC;
	}
	/*
	 * Each doc's token count, only with `fieldnorms: true` (Quickwit's
	 * default is false: tantivy then scores BM25 with a norm of 1).
	 */
	f->norms = kind == VK_TEXT && f->indexed && f->norms;
}

static uint32_t field_hash(const char *path, size_t len, enum value_kind kind)
{
	return hash_bytes(path, len) ^ ((uint32_t)kind * 0x9e3779b9u);
}

static void fields_rehash(struct segment *seg)
{
	size_t nn = seg->nfslots ? seg->nfslots * 2 : 64;
	uint32_t *s = xcalloc(nn, sizeof(*s));

	for (size_t i = 0; i < seg->nfields; i++) {
		struct sfield *f = &seg->fields[i];
		size_t j = field_hash(f->path, f->path_len, f->kind) & (nn - 1);

		while (s[j])
			j = (j + 1) & (nn - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(seg->fslots);
	seg->fslots = s;
	seg->nfslots = nn;
}

static struct sfield *field_get(struct segment *seg, const struct field_value *fv)
{
	size_t j;
	struct sfield *f;

	if ((seg->nfields + 1) * 2 > seg->nfslots) {
		seg->mem -= seg->nfslots * sizeof(uint32_t);
		fields_rehash(seg);
		seg->mem += seg->nfslots * sizeof(uint32_t);
	}
	j = field_hash(fv->path, fv->path_len, fv->kind) & (seg->nfslots - 1);
	while (seg->fslots[j]) {
		f = &seg->fields[seg->fslots[j] - 1];
		if (f->kind == fv->kind && f->path_len == fv->path_len &&
		    memcmp(f->path, fv->path, fv->path_len) == 0)
			return f;
		j = (j + 1) & (seg->nfslots - 1);
	}
	seg->mem -= seg->fields_cap * sizeof(struct sfield);
	XGROW(seg->fields, seg->nfields + 1, seg->fields_cap);
	seg->mem += seg->fields_cap * sizeof(struct sfield) + fv->path_len + 1;
	f = &seg->fields[seg->nfields];
	memset(f, 0, sizeof(*f));
	f->path = xstrndup(fv->path, fv->path_len);
	f->path_len = fv->path_len;
	f->kind = fv->kind;
	f->last_doc = NO_DOC;
	field_options(seg, fv->mapping, fv->kind, f);
	seg->fslots[j] = (uint32_t)seg->nfields + 1;
	seg->nfields++;
	return f;
}

/* One more occurrence, at pos in the current doc, of the field's term id. */
static void add_term_id(struct segment *seg, struct sfield *f, uint32_t id, uint32_t pos)
{
	uint32_t doc = seg->cur_doc;
	struct sterm *t = &f->tinfo[id];

	if (t->df == 0 || t->last_doc != doc) {
		if (t->df > 0 && f->rec >= RECORD_FREQ)
			bvec_varint(seg, &t->post, t->cur_tf);
		bvec_varint(seg, &t->post, t->df == 0 ? doc : doc - t->last_doc);
		t->df++;
		t->last_doc = doc;
		t->cur_tf = 0;
		t->last_pos = 0;
	}
	t->cur_tf++;
	t->total_tf++;
	if (f->rec == RECORD_POSITION) {
		bvec_varint(seg, &t->pos, pos - t->last_pos);
		t->last_pos = pos;
	}
}

/* Intern a term of the field and add an occurrence at pos; its id. */
static uint32_t add_term(struct segment *seg, struct sfield *f, const void *term, size_t len,
			 uint32_t pos)
{
	bool is_new;
	uint32_t id = seg_intern(seg, &f->terms, term, len, &is_new);

	if (is_new) {
		seg->mem -= f->tinfo_cap * sizeof(struct sterm);
		XGROW(f->tinfo, f->terms.n, f->tinfo_cap);
		seg->mem += f->tinfo_cap * sizeof(struct sterm);
		memset(&f->tinfo[id], 0, sizeof(f->tinfo[id]));
	}
	add_term_id(seg, f, id, pos);
	return id;
}

static void add_fast(struct segment *seg, struct sfield *f, uint64_t v)
{
	if (f->fn + 1 > f->fcap) {
		size_t old = f->fcap;

		XGROW(f->fdocs, f->fn + 1, f->fcap);
		f->fvals = xreallocarray(f->fvals, f->fcap, sizeof(*f->fvals));
		seg->mem += (f->fcap - old) * (sizeof(uint32_t) + sizeof(uint64_t));
	}
	f->fdocs[f->fn] = seg->cur_doc;
	f->fvals[f->fn] = v;
	f->fn++;
}

static void emit_token(void *ctx, const char *tok, size_t len, uint32_t pos)
{
	struct segment *seg = ctx;
	struct sfield *f = seg->cur_field;

	uint32_t id = add_term(seg, f, tok, len, f->pos_base + pos);

	f->ntok++;
	if (f->recording) {
		if (f->last_n + 1 > f->last_cap) {
			XGROW(f->last_ids, f->last_n + 1, f->last_cap);
			f->last_pos = xreallocarray(f->last_pos, f->last_cap, sizeof(*f->last_pos));
		}
		f->last_ids[f->last_n] = id;
		f->last_pos[f->last_n++] = pos;
	}
}

/*
 * Tokenize and index a text value; the same text as the field's last value
 * replays that value's term ids (the same tokens, so the same terms at the
 * same positions) without tokenizing or hashing again. Returns its
 * position count.
 */
static uint32_t index_text(struct segment *seg, struct sfield *f, const char *s, size_t n)
{
	uint32_t npos;

	if (f->last_valid && f->last_text.len == n && memcmp(f->last_text.data, s, n) == 0) {
		for (size_t i = 0; i < f->last_n; i++)
			add_term_id(seg, f, f->last_ids[i], f->pos_base + f->last_pos[i]);
		f->ntok = (uint32_t)f->last_n;
		return f->last_npos;
	}
	f->last_valid = f->last_fast_valid = false;
	f->last_n = 0;
	f->recording = true;
	seg->cur_field = f;
	npos = tokenize(&seg->ts, f->tok, s, n, emit_token, seg);
	f->recording = false;
	buf_reset(&f->last_text);
	buf_add(&f->last_text, s, n);
	f->last_npos = npos;
	f->last_valid = true;
	return npos;
}

/* Count ntok more tokens of the field in the current doc (field norms). */
static void add_norm(struct segment *seg, struct sfield *f, uint32_t ntok)
{
	if (f->norm_n == 0 || f->norm_docs[f->norm_n - 1] != seg->cur_doc) {
		if (f->norm_n + 1 > f->norm_cap) {
			size_t old = f->norm_cap;

			XGROW(f->norm_docs, f->norm_n + 1, f->norm_cap);
			f->norm_cnt = xreallocarray(f->norm_cnt, f->norm_cap, sizeof(*f->norm_cnt));
			seg->mem += (f->norm_cap - old) * 2 * sizeof(uint32_t);
		}
		f->norm_docs[f->norm_n] = seg->cur_doc;
		f->norm_cnt[f->norm_n++] = 0;
	}
	f->norm_cnt[f->norm_n - 1] += ntok;
}

static int index_value(struct segment *seg, const struct field_value *fv)
{
	struct sfield *f = field_get(seg, fv);
	uint8_t key[16];
	size_t klen = 8;
	uint64_t k = 0;
	bool dict = false, is_new;

	if (!f->indexed && !f->fast)
		return 0;
	if (f->last_doc != seg->cur_doc) {
		f->last_doc = seg->cur_doc;
		f->pos_base = 0;
		f->docs_with_value++;
	}
	switch (fv->kind) {
	case VK_TEXT:
		if (f->indexed) {
			uint32_t npos;

			f->ntok = 0;
			npos = index_text(seg, f, fv->v.text.s, fv->v.text.len);
			f->pos_base += npos + 1;
			f->total_tokens += f->ntok;
			if (f->norms)
				add_norm(seg, f, f->ntok);
		}
		if (f->fast) {
			const void *p = fv->v.text.s;
			size_t n = fv->v.text.len;

			if (f->fnorm == FAST_NORM_LOWERCASE) {
				tokenizer_lowercase(fv->v.text.s, fv->v.text.len, &seg->ts.scratch);
				p = seg->ts.scratch.data ? seg->ts.scratch.data : "";
				n = seg->ts.scratch.len;
			}
			/* index_text() just saw this text: the same as the last one
			 * when last_fast_valid survived it */
			if (!f->indexed || !f->last_fast_valid) {
				f->last_fast_id = seg_intern(seg, &f->fdict, p, n, &is_new);
				f->last_fast_valid = f->indexed;
			}
			add_fast(seg, f, f->last_fast_id);
		}
		return 0;
	case VK_I64: k = termkey_from_i64(fv->v.i64); break;
	case VK_U64: k = termkey_from_u64(fv->v.u64); break;
	case VK_F64: k = termkey_from_f64(fv->v.f64); break;
	case VK_DATETIME: k = termkey_from_i64(fv->v.dt_us); break;
	case VK_BOOL: k = termkey_from_bool(fv->v.b); break;
	case VK_IP:
		memcpy(key, fv->v.ip, 16);
		klen = 16;
		dict = true;
		break;
	case VK_BYTES:
		if (f->indexed)
			add_term(seg, f, fv->v.bytes.p, fv->v.bytes.len, f->pos_base);
		if (f->fast)
			add_fast(seg, f, seg_intern(seg, &f->fdict, fv->v.bytes.p, fv->v.bytes.len, &is_new));
		f->pos_base++;
		return 0;
	}
	if (!dict) {
		if (fv->kind == VK_BOOL) {
			key[0] = (uint8_t)k;
			klen = 1;
		} else {
			termkey_put(k, key);
		}
	}
	if (f->indexed)
		add_term(seg, f, key, klen, f->pos_base);
	if (f->fast)
		add_fast(seg, f, dict ? seg_intern(seg, &f->fdict, key, klen, &is_new) : k);
	f->pos_base++;
	return 0;
}

/* A value as concatenate fields index it; false for bytes (no text). */
static bool value_text(const struct field_value *fv, struct buf *out)
{
	char ip[INET6_ADDRSTRLEN];
	json_t *real;

	buf_reset(out);
	switch (fv->kind) {
	case VK_TEXT:
		buf_add(out, fv->v.text.s, fv->v.text.len);
		return true;
	case VK_I64:
		buf_addf(out, "%lld", (long long)fv->v.i64);
		return true;
	case VK_U64:
		buf_addf(out, "%llu", (unsigned long long)fv->v.u64);
		return true;
	case VK_F64:
		/* the shortest round-trip form, as the stored document has it */
		real = json_real(fv->v.f64);
		if (!real)
			xalloc_die();
		docmap_serialize(real, out);
		json_decref(real);
		return true;
	case VK_BOOL:
		buf_adds(out, fv->v.b ? "true" : "false");
		return true;
	case VK_DATETIME:
		datetime_format_rfc3339(fv->v.dt_us, out);
		return true;
	case VK_IP: {
		static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		bool is4 = memcmp(fv->v.ip, v4, 12) == 0;

		if (!inet_ntop(is4 ? AF_INET : AF_INET6, is4 ? fv->v.ip + 12 : fv->v.ip, ip,
			       sizeof(ip)))
			return false;
		buf_adds(out, ip);
		return true;
	}
	case VK_BYTES:
		return false;
	}
	return false;
}

/*
 * Index fv, and its text into every concatenate field that takes it: its
 * leaf (or json field) is named in concatenate_fields, or it is an unmapped
 * value and the field has include_dynamic_fields.
 */
static int visit(void *ctx, const struct field_value *fv)
{
	struct segment *seg = ctx;
	const struct index_config *cfg = seg->cfg;

	for (size_t i = 0; i < cfg->n_concats; i++) {
		const struct field_mapping *c = &cfg->concats[i];
		struct field_value cv;
		bool in = !fv->mapping && c->concat_dynamic;

		for (size_t j = 0; !in && fv->mapping && j < c->n_concat_of; j++)
			in = c->concat_of[j] == fv->mapping;
		if (!in || !value_text(fv, &seg->concat_text))
			continue;
		memset(&cv, 0, sizeof(cv));
		cv.path = c->path;
		cv.path_len = strlen(c->path);
		cv.mapping = c;
		cv.kind = VK_TEXT;
		cv.v.text.s = seg->concat_text.data ? seg->concat_text.data : "";
		cv.v.text.len = seg->concat_text.len;
		cv.array_index = fv->array_index;
		index_value(seg, &cv);
	}
	return index_value(seg, fv);
}

/*
 * Compress one block (the docs in raw, their lengths) and append it to the
 * doc store (seg->ds_comp, seg->ds_blocks). Runs in the worker thread when
 * the compression is in the background: it touches nothing else of seg.
 */
static int ds_compress(struct segment *seg, ZSTD_CCtx *zc, struct buf *tmp, const struct buf *raw,
		       const uint32_t *lens, size_t nlens, uint32_t first_doc, struct qw_err *err)
{
	struct dsblock *b;
	size_t bound, total, rem;
	ZSTD_inBuffer in;
	ZSTD_outBuffer out;

	/* block = header (count, lengths) + the docs, compressed as one frame
	 * without copying the docs next to their header */
	buf_reset(tmp);
	buf_add_varint(tmp, nlens);
	for (size_t i = 0; i < nlens; i++)
		buf_add_varint(tmp, lens[i]);
	total = tmp->len + raw->len;
	bound = ZSTD_compressBound(total);
	buf_grow(&seg->ds_comp, bound + 1);
	out.dst = seg->ds_comp.data + seg->ds_comp.len;
	out.size = bound;
	out.pos = 0;
	rem = ZSTD_CCtx_reset(zc, ZSTD_reset_session_only);
	if (!ZSTD_isError(rem))
		rem = ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel,
					     seg->cfg->docstore_compression_level);
	if (!ZSTD_isError(rem))
		rem = ZSTD_CCtx_setPledgedSrcSize(zc, total);
	in.src = tmp->data;
	in.size = tmp->len;
	in.pos = 0;
	while (!ZSTD_isError(rem) && in.pos < in.size && out.pos < out.size)
		rem = ZSTD_compressStream2(zc, &out, &in, ZSTD_e_continue);
	in.src = raw->data ? raw->data : "";
	in.size = raw->len;
	in.pos = 0;
	if (!ZSTD_isError(rem)) {
		do
			rem = ZSTD_compressStream2(zc, &out, &in, ZSTD_e_end);
		while (!ZSTD_isError(rem) && rem != 0 && out.pos < out.size);
	}
	if (ZSTD_isError(rem))
		return err_set(err, EX_SOFTWARE, "doc store: zstd compression failed: %s",
			       ZSTD_getErrorName(rem));
	if (rem != 0)
		return err_set(err, EX_SOFTWARE, "doc store: zstd output overflow");
	XGROW(seg->ds_blocks, seg->ds_nblocks + 1, seg->ds_blocks_cap);
	b = &seg->ds_blocks[seg->ds_nblocks++];
	b->first_doc = first_doc;
	b->num_docs = (uint32_t)nlens;
	b->raw_len = total;
	b->comp_len = out.pos;
	b->crc = checksum_crc32c(0, seg->ds_comp.data + seg->ds_comp.len, out.pos);
	seg->ds_comp.len += out.pos;
	return 0;
}

static void *ds_main(void *arg)
{
	struct segment *seg = arg;
	struct dsworker *w = seg->bg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct qw_err e = QW_ERR_INIT;
		int r = 0;

		while (!w->has_job && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->has_job)
			break;
		pthread_mutex_unlock(&w->mu);
		if (!w->err.code)
			r = ds_compress(seg, w->zc, &w->tmp, &w->raw, w->lens, w->nlens, w->first_doc, &e);
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->err.code)
			w->err = e;
		w->has_job = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Wait for the block in flight; the worker's error, if any, is ours. */
static int ds_wait(struct segment *seg, struct qw_err *err)
{
	struct dsworker *w = seg->bg;
	struct qw_err e;

	if (!w || !w->running)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (w->has_job)
		pthread_cond_wait(&w->cv, &w->mu);
	e = w->err;
	w->mem_seen = seg->ds_comp.cap + seg->ds_blocks_cap * sizeof(struct dsblock) +
		      w->raw.cap + w->lens_cap * sizeof(uint32_t) + w->tmp.cap + ZSTD_sizeof_CCtx(w->zc);
	w->inflight = 0;
	pthread_mutex_unlock(&w->mu);
	if (e.code) {
		*err = e;
		return -1;
	}
	return 0;
}

static void ds_worker_free(struct segment *seg)
{
	struct dsworker *w = seg->bg;

	if (!w)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	ZSTD_freeCCtx(w->zc);
	buf_free(&w->raw);
	free(w->lens);
	buf_free(&w->tmp);
	free(w);
	seg->bg = NULL;
}

void segment_compress_in_background(struct segment *seg)
{
	struct dsworker *w;

	if (seg->bg || seg->num_docs)
		return;
	w = xcalloc(1, sizeof(*w));
	w->zc = ZSTD_createCCtx();
	if (!w->zc || pthread_mutex_init(&w->mu, NULL) != 0) {
		ZSTD_freeCCtx(w->zc);
		free(w);
		return;
	}
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		ZSTD_freeCCtx(w->zc);
		free(w);
		return;
	}
	seg->bg = w;
}

/* Compress the current block now, after the one in flight. */
static int ds_flush(struct segment *seg, struct qw_err *err)
{
	if (ds_wait(seg, err) < 0)
		return -1;
	if (seg->ds_nlens == 0)
		return 0;
	if (ds_compress(seg, seg->zc, &seg->ds_tmp, &seg->ds_raw, seg->ds_lens, seg->ds_nlens,
			seg->ds_first_doc, err) < 0)
		return -1;
	seg->ds_first_doc += (uint32_t)seg->ds_nlens;
	seg->ds_nlens = 0;
	buf_reset(&seg->ds_raw);
	return 0;
}

/* The current block is full: hand it to the worker (started on the first block), or compress it now. */
static int ds_block_full(struct segment *seg, struct qw_err *err)
{
	struct dsworker *w = seg->bg;
	struct buf tb;
	uint32_t *tl;
	size_t tc;

	if (!w)
		return ds_flush(seg, err);
	if (ds_wait(seg, err) < 0)
		return -1;
	if (!w->running) {
		if (pthread_create(&w->th, NULL, ds_main, seg) != 0) {
			ds_worker_free(seg);
			return ds_flush(seg, err);
		}
		w->running = true;
	}
	/* swap the buffers: the worker's (already compressed) become the next block's */
	tb = w->raw;
	w->raw = seg->ds_raw;
	seg->ds_raw = tb;
	buf_reset(&seg->ds_raw);
	tl = w->lens;
	tc = w->lens_cap;
	w->lens = seg->ds_lens;
	w->lens_cap = seg->ds_lens_cap;
	seg->ds_lens = tl;
	seg->ds_lens_cap = tc;
	w->nlens = seg->ds_nlens;
	w->first_doc = seg->ds_first_doc;
	seg->ds_first_doc += (uint32_t)seg->ds_nlens;
	seg->ds_nlens = 0;
	/* what the job may add: its compressed block */
	w->inflight = ZSTD_compressBound(w->raw.len + 10 * (w->nlens + 1)) + 64;
	pthread_mutex_lock(&w->mu);
	w->has_job = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static void note_time(struct segment *seg, int64_t ts)
{
	if (!seg->has_time || ts < seg->tmin)
		seg->tmin = ts;
	if (!seg->has_time || ts > seg->tmax)
		seg->tmax = ts;
	seg->has_time = true;
}

/* Append the stored text of the current document to the doc store;
 * doc_len: the length of its canonical text (the split's uncompressed size). */
/* store_document_size: `_doc_length` gets the length of the canonical line. */
static int store_doc(struct segment *seg, const char *line, size_t len, size_t doc_len,
		     struct qw_err *err)
{
	const struct field_mapping *dl = config_doc_length_field(seg->cfg);

	if (dl) {
		struct field_value fv;

		memset(&fv, 0, sizeof(fv));
		fv.path = dl->path;
		fv.path_len = strlen(fv.path);
		fv.mapping = dl;
		fv.kind = VK_U64;
		fv.v.u64 = doc_len;
		visit(seg, &fv);
	}
	seg->uncompressed += doc_len;
	XGROW(seg->ds_lens, seg->ds_nlens + 1, seg->ds_lens_cap);
	seg->ds_lens[seg->ds_nlens++] = (uint32_t)len;
	buf_add(&seg->ds_raw, line, len);
	seg->num_docs++;
	if (seg->ds_raw.len >= seg->cfg->docstore_blocksize && ds_block_full(seg, err) < 0)
		return -1;
	return 0;
}

int segment_add_values(struct segment *seg, const struct docmap_values *dv, const char *stored,
		       size_t stored_len, size_t doc_len, struct qw_err *err)
{
	if (seg->num_docs == NO_DOC - 1)
		return err_set(err, EX_SOFTWARE, "segment is full (%u docs)", seg->num_docs);
	seg->cur_doc = seg->num_docs;
	for (size_t i = 0; i < dv->n; i++)
		visit(seg, &dv->v[i]);
	if (seg->cfg->timestamp_field && dv->has_ts)
		note_time(seg, dv->ts_us);
	return store_doc(seg, stored, stored_len, doc_len, err);
}

/* ------------------------------------------------------------ tags */

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void term_to_string(enum value_kind kind, const uint8_t *t, size_t len, struct buf *out)
{
	buf_reset(out);
	switch (kind) {
	case VK_TEXT:
		buf_add(out, t, len);
		return;
	case VK_I64:
	case VK_DATETIME:
		if (len == 8)
			buf_addf(out, "%lld", (long long)termkey_to_i64(termkey_get(t)));
		return;
	case VK_U64:
		if (len == 8)
			buf_addf(out, "%llu", (unsigned long long)termkey_get(t));
		return;
	case VK_F64:
		if (len == 8)
			buf_addf(out, "%.17g", termkey_to_f64(termkey_get(t)));
		return;
	case VK_BOOL:
		buf_adds(out, len == 1 && t[0] ? "true" : "false");
		return;
	default:
		for (size_t i = 0; i < len; i++)
			buf_addf(out, "%02x", t[i]);
		return;
	}
}

json_t *segment_tags(const struct segment *seg)
{
	json_t *arr = json_array();
	struct buf s = BUF_INIT, tag = BUF_INIT;
	char **list = NULL;
	size_t nlist = 0, cap = 0;

	for (size_t i = 0; i < seg->cfg->n_tag_fields; i++) {
		const char *name = seg->cfg->tag_fields[i];
		size_t distinct = 0, start = nlist;

		buf_reset(&tag);
		buf_addf(&tag, "%s!", name);
		XGROW(list, nlist + 1, cap);
		list[nlist++] = xstrdup(buf_str(&tag));
		for (size_t j = 0; j < seg->nfields; j++) {
			const struct sfield *f = &seg->fields[j];

			if (strcmp(f->path, name) != 0)
				continue;
			for (uint32_t id = 0; id < f->terms.n; id++) {
				size_t len;
				const uint8_t *t = strtab_get(&f->terms, id, &len);

				term_to_string(f->kind, t, len, &s);
				buf_reset(&tag);
				buf_addf(&tag, "%s:%s", name, buf_str(&s));
				XGROW(list, nlist + 1, cap);
				list[nlist++] = xstrdup(buf_str(&tag));
				distinct++;
			}
		}
		if (distinct > MAX_TAG_VALUES) {
			for (size_t k = start + 1; k < nlist; k++)
				free(list[k]);
			nlist = start + 1;
		}
	}
	if (nlist)
		qsort(list, nlist, sizeof(*list), cmp_json_str);
	for (size_t i = 0; i < nlist; i++) {
		if (i == 0 || strcmp(list[i], list[i - 1]) != 0)
			json_array_append_new(arr, json_string(list[i]));
	}
	for (size_t i = 0; i < nlist; i++)
		free(list[i]);
	free(list);
	buf_free(&s);
	buf_free(&tag);
	return arr;
}

/* ------------------------------------------------------------ serialize */

/* A buffered section file. */
struct sfile {
	int fd;
	const char *name;
	uint64_t off;            /* bytes written so far (flushed + buffered) */
	struct buf b;
};

static int sfile_open(struct sfile *sf, const char *dir, const char *name, struct qw_err *err)
{
	char *p = fsutil_join(dir, name);

	memset(sf, 0, sizeof(*sf));
	sf->name = name;
	sf->fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (sf->fd < 0) {
		err_errno(err, EX_CANTCREAT, "cannot create '%s'", p);
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

static int sfile_flush(struct sfile *sf, struct qw_err *err)
{
	if (sf->b.len && fsutil_write_full(sf->fd, sf->b.data, sf->b.len) < 0)
		return err_errno(err, EX_IOERR, "cannot write section '%s'", sf->name);
	buf_reset(&sf->b);
	return 0;
}

static int sfile_add(struct sfile *sf, const void *p, size_t n, struct qw_err *err)
{
	buf_add(&sf->b, p, n);
	sf->off += n;
	if (sf->b.len >= (1u << 20))
		return sfile_flush(sf, err);
	return 0;
}

static int sfile_close(struct sfile *sf, struct qw_err *err)
{
	int ret = 0;

	if (sf->fd >= 0) {
		/* no fsync: scratch files are made durable by split_bundle's fsync of the
		 * .split file; after a crash the pipeline re-indexes from the checkpoint */
		if (sfile_flush(sf, err) < 0)
			ret = -1;
		if (close(sf->fd) < 0 && ret == 0)
			ret = err_errno(err, EX_IOERR, "cannot close section '%s'", sf->name);
		sf->fd = -1;
	}
	buf_free(&sf->b);
	return ret;
}

struct ser {
	struct sfile sec[SEC_COUNT];
	struct buf hot;          /* hotcache */
	struct buf tmp, blk, idx, prev, pk, z;
	ZSTD_CCtx *zc;
	uint32_t *docs, *tfs;
	size_t docs_cap;
	uint64_t *u64s;
	size_t u64s_cap;
};

static int cmp_field(const void *a, const void *b)
{
	const struct sfield *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	return (int)x->kind - (int)y->kind;
}

static int cmp_term_ids(const void *a, const void *b, void *ctx)
{
	const struct strtab *t = ctx;
	const struct strent *x = &t->ents[*(const uint32_t *)a];
	const struct strent *y = &t->ents[*(const uint32_t *)b];
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(t->arena.data + x->off, t->arena.data + y->off, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : (x->len > y->len);
}

static uint32_t *sorted_ids(const struct strtab *t)
{
	uint32_t *ids = xreallocarray(NULL, t->n ? t->n : 1, sizeof(*ids));

	for (uint32_t i = 0; i < t->n; i++)
		ids[i] = i;
	qsort_r(ids, t->n, sizeof(*ids), cmp_term_ids, (void *)t);
	return ids;
}

/* Decode a term's in-memory postings into s->docs / s->tfs. */
static void decode_post(struct ser *s, const struct sfield *f, const struct sterm *t)
{
	struct cur c;
	uint32_t doc = 0;

	if (t->df > s->docs_cap) {
		s->docs_cap = t->df;
		s->docs = xreallocarray(s->docs, s->docs_cap, sizeof(*s->docs));
		s->tfs = xreallocarray(s->tfs, s->docs_cap, sizeof(*s->tfs));
	}
	cur_init(&c, t->post.p, t->post.len);
	for (uint32_t i = 0; i < t->df; i++) {
		uint32_t d = cur_varint32(&c);

		doc = i == 0 ? d : doc + d;
		s->docs[i] = doc;
		if (f->rec >= RECORD_FREQ)
			s->tfs[i] = i + 1 < t->df ? cur_varint32(&c) : t->cur_tf;
		else
			s->tfs[i] = 1;
	}
}

/* Postings blob of one term with df > 1 into s->tmp (see qw-split(5)). */
static void encode_postings(struct ser *s, const struct sfield *f, const struct sterm *t)
{
	uint32_t n = t->df, nfull = n / SPLIT_BLOCK;
	bool freqs = f->rec >= RECORD_FREQ, positions = f->rec == RECORD_POSITION;
	uint32_t deltas[SPLIT_BLOCK], fr[SPLIT_BLOCK];
	int64_t prev = -1;
	struct cur pc;

	buf_reset(&s->tmp);
	buf_reset(&s->pk);
	cur_init(&pc, t->pos.p, t->pos.len);
	for (uint32_t b = 0; b < nfull; b++) {
		uint32_t maxd = 0, maxf = 0;
		unsigned wd, wf = 0;
		int64_t first_prev = prev;

		for (uint32_t i = 0; i < SPLIT_BLOCK; i++) {
			uint32_t d = s->docs[b * SPLIT_BLOCK + i];

			deltas[i] = (uint32_t)((int64_t)d - prev - 1);
			prev = d;
			if (deltas[i] > maxd)
				maxd = deltas[i];
			fr[i] = s->tfs[b * SPLIT_BLOCK + i] - 1;
			if (fr[i] > maxf)
				maxf = fr[i];
		}
		wd = bitpack_width(maxd);
		/* skip entry: last doc delta, widths, positions bytes of the block */
		buf_add_varint(&s->tmp, (uint64_t)(prev - first_prev));
		buf_add_u8(&s->tmp, (uint8_t)wd);
		if (freqs) {
			wf = bitpack_width(maxf);
			buf_add_u8(&s->tmp, (uint8_t)wf);
		}
		if (positions) {
			const uint8_t *start = pc.p;
			uint64_t np = 0;

			for (uint32_t i = 0; i < SPLIT_BLOCK; i++)
				np += s->tfs[b * SPLIT_BLOCK + i];
			for (uint64_t k = 0; k < np; k++)
				(void)cur_varint(&pc);
			buf_add_varint(&s->tmp, (uint64_t)(pc.p - start));
		}
		bitpack_pack32(&s->pk, deltas, SPLIT_BLOCK, wd);
		if (freqs)
			bitpack_pack32(&s->pk, fr, SPLIT_BLOCK, wf);
	}
	buf_add(&s->tmp, s->pk.data, s->pk.len);
	for (uint32_t i = nfull * SPLIT_BLOCK; i < n; i++) {
		buf_add_varint(&s->tmp, (uint64_t)((int64_t)s->docs[i] - prev - 1));
		prev = s->docs[i];
		if (freqs)
			buf_add_varint(&s->tmp, s->tfs[i] - 1);
	}
	buf_add_u32le(&s->tmp, checksum_crc32c(0, s->tmp.data, s->tmp.len));
}

/*
 * Compress p[0..n) into s->z when that saves at least a tenth (zstd level
 * 3); returns the bytes to store and sets *raw_len to n, or to 0 when the
 * bytes are stored as they are.
 */
static const void *maybe_compress(struct ser *s, const void *p, size_t n, size_t *out_len,
				  uint64_t *raw_len)
{
	size_t bound, k;

	*raw_len = 0;
	*out_len = n;
	if (n < 128)
		return p;
	bound = ZSTD_compressBound(n);
	buf_reset(&s->z);
	buf_grow(&s->z, bound + 1);
	k = ZSTD_compressCCtx(s->zc, s->z.data, bound, p, n, 3);
	if (ZSTD_isError(k) || k > n - n / 10)
		return p;
	s->z.len = k;
	*raw_len = n;
	*out_len = k;
	return s->z.data;
}

static size_t shared_prefix(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl, i = 0;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static int write_dict_block(struct ser *s, uint32_t nterms, uint64_t post_off,
			    uint64_t pos_off, const uint8_t *first, size_t first_len,
			    struct qw_err *err)
{
	struct sfile *tf = &s->sec[SEC_TERMS];
	uint64_t raw;
	size_t blen;
	const void *bp = maybe_compress(s, s->blk.data, s->blk.len, &blen, &raw);

	buf_add_varint(&s->idx, first_len);
	buf_add(&s->idx, first, first_len);
	buf_add_varint(&s->idx, blen);
	buf_add_varint(&s->idx, raw);
	buf_add_u32le(&s->idx, checksum_crc32c(0, bp, blen));
	buf_add_varint(&s->idx, post_off);
	buf_add_varint(&s->idx, pos_off);
	buf_add_varint(&s->idx, nterms);
	if (sfile_add(tf, bp, blen, err) < 0)
		return -1;
	buf_reset(&s->blk);
	return 0;
}

/* The stored postings lists of a field so far, to store identical ones once. */
struct plist {
	uint64_t off, len, raw, arena_off;
	uint32_t hash;
};

struct plists {
	struct plist *v;
	size_t n, cap;
	uint32_t *slots;         /* index + 1, open addressing */
	size_t nslots;
	struct buf arena;        /* the stored bytes, to compare */
};

static uint32_t plist_hash(const void *p, size_t len, uint64_t raw)
{
	return hash_bytes(p, len) ^ (uint32_t)(raw * 0x9e3779b97f4a7c15ULL >> 32);
}

/* Index of an earlier list with these stored bytes and raw length, or -1. */
static int64_t plist_find(const struct plists *pl, const void *p, size_t len, uint64_t raw)
{
	uint32_t h;

	if (!pl->nslots)
		return -1;
	h = plist_hash(p, len, raw);
	for (size_t j = h & (pl->nslots - 1); pl->slots[j]; j = (j + 1) & (pl->nslots - 1)) {
		const struct plist *e = &pl->v[pl->slots[j] - 1];

		if (e->hash == h && e->len == len && e->raw == raw &&
		    memcmp(pl->arena.data + e->arena_off, p, len) == 0)
			return (int64_t)(pl->slots[j] - 1);
	}
	return -1;
}

static void plist_add(struct plists *pl, const void *p, size_t len, uint64_t raw, uint64_t off)
{
	struct plist *e;

	if ((pl->n + 1) * 2 > pl->nslots) {
		size_t nn = pl->nslots ? pl->nslots * 2 : 64;
		uint32_t *ns = xcalloc(nn, sizeof(*ns));

		for (size_t i = 0; i < pl->n; i++) {
			size_t j = pl->v[i].hash & (nn - 1);

			while (ns[j])
				j = (j + 1) & (nn - 1);
			ns[j] = (uint32_t)i + 1;
		}
		free(pl->slots);
		pl->slots = ns;
		pl->nslots = nn;
	}
	XGROW(pl->v, pl->n + 1, pl->cap);
	e = &pl->v[pl->n];
	e->off = off;
	e->len = len;
	e->raw = raw;
	e->arena_off = pl->arena.len;
	e->hash = plist_hash(p, len, raw);
	buf_add(&pl->arena, p, len);
	{
		size_t j = e->hash & (pl->nslots - 1);

		while (pl->slots[j])
			j = (j + 1) & (pl->nslots - 1);
		pl->slots[j] = (uint32_t)pl->n + 1;
	}
	pl->n++;
}

static void plists_free(struct plists *pl)
{
	free(pl->v);
	free(pl->slots);
	buf_free(&pl->arena);
}

static int serialize_terms(struct segment *seg, struct ser *s, struct sfield *f, struct qw_err *err)
{
	struct sfile *tf = &s->sec[SEC_TERMS], *pf = &s->sec[SEC_POSTINGS], *xf = &s->sec[SEC_POSITIONS];
	uint32_t *ids = sorted_ids(&f->terms);
	uint64_t dict_off = tf->off, post_base = pf->off, pos_base = xf->off;
	uint64_t blk_post = 0, blk_pos = 0, nblocks = 0, prev_key = 0;
	uint32_t in_blk = 0, prev_first = 0;
	bool numkey = f->kind == VK_I64 || f->kind == VK_U64 || f->kind == VK_F64 ||
		      f->kind == VK_DATETIME;
	struct buf first = BUF_INIT;
	struct plists pl;
	int ret = -1;

	memset(&pl, 0, sizeof(pl));
	buf_reset(&s->idx);
	buf_reset(&s->prev);
	buf_reset(&s->blk);
	for (uint64_t k = 0; k < f->terms.n; k++) {
		struct sterm *t = &f->tinfo[ids[k]];
		size_t len, sh;
		const uint8_t *term = strtab_get(&f->terms, ids[k], &len);

		if (in_blk == 0) {
			blk_post = pf->off - post_base;
			blk_pos = xf->off - pos_base;
			buf_reset(&first);
			buf_add(&first, term, len);
			buf_reset(&s->prev);
			prev_key = 0;
			prev_first = 0;
		}
		if (numkey) {
			/* 8-byte keys: the difference from the previous key of the block */
			uint64_t key = termkey_get(term);

			buf_add_varint(&s->blk, key - prev_key);
			prev_key = key;
		} else {
			sh = shared_prefix((const uint8_t *)s->prev.data, s->prev.len, term, len);
			buf_add_varint(&s->blk, sh);
			buf_add_varint(&s->blk, len - sh);
			buf_add(&s->blk, term + sh, len - sh);
		}
		buf_add_varint(&s->blk, t->df);
		if (f->rec >= RECORD_FREQ)
			buf_add_varint(&s->blk, t->total_tf - t->df);
		decode_post(s, f, t);
		if (t->df < SPLIT_BLOCK) {
			/* few docs: postings (and positions) inline, in the block's frame */
			int64_t prev = -1, d0 = (int64_t)s->docs[0] - (int64_t)prev_first;

			buf_reset(&s->tmp);
			/* the first doc from the previous inline term's first doc, zigzag */
			buf_add_varint(&s->tmp, d0 >= 0 ? (uint64_t)d0 << 1 : ((uint64_t)-d0 << 1) - 1);
			prev_first = s->docs[0];
			for (uint32_t i = 0; i < t->df; i++) {
				if (i > 0)
					buf_add_varint(&s->tmp, (uint64_t)((int64_t)s->docs[i] - prev - 1));
				prev = s->docs[i];
				if (f->rec >= RECORD_FREQ)
					buf_add_varint(&s->tmp, s->tfs[i] - 1);
			}
			buf_add_varint(&s->blk, s->tmp.len);
			buf_add(&s->blk, s->tmp.data, s->tmp.len);
			if (f->rec == RECORD_POSITION) {
				buf_add_varint(&s->blk, t->pos.len);
				buf_add(&s->blk, t->pos.p ? (const char *)t->pos.p : "", t->pos.len);
			}
		} else {
			uint64_t raw;
			size_t plen;
			const void *pp;

			int64_t same;

			encode_postings(s, f, t);
			pp = maybe_compress(s, s->tmp.data, s->tmp.len, &plen, &raw);
			same = plist_find(&pl, pp, plen, raw);
			if (same >= 0) {
				/* the same list as an earlier term of the field: refer to it */
				buf_add_varint(&s->blk, 0);
				buf_add_varint(&s->blk, pl.v[same].off);
				buf_add_varint(&s->blk, plen);
				buf_add_varint(&s->blk, raw);
			} else {
				plist_add(&pl, pp, plen, raw, pf->off - post_base);
				buf_add_varint(&s->blk, plen);
				buf_add_varint(&s->blk, raw);
				if (sfile_add(pf, pp, plen, err) < 0)
					goto out;
			}
		}
		if (f->rec == RECORD_POSITION && t->df >= SPLIT_BLOCK) {
			uint64_t raw;
			size_t plen;
			const void *pp = maybe_compress(s, t->pos.p, t->pos.len, &plen, &raw);
			uint32_t crc = checksum_crc32c(0, pp, plen);
			uint8_t c4[4] = { (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
					  (uint8_t)(crc >> 24) };

			buf_add_varint(&s->blk, (uint64_t)plen + 4);
			buf_add_varint(&s->blk, raw);
			if (sfile_add(xf, pp, plen, err) < 0 || sfile_add(xf, c4, 4, err) < 0)
				goto out;
		}
		/* the segment is only freed after serialize: release memory early */
		free(t->post.p);
		free(t->pos.p);
		t->post.p = t->pos.p = NULL;
		t->post.len = t->pos.len = 0;
		buf_reset(&s->prev);
		buf_add(&s->prev, term, len);
		if (++in_blk == SPLIT_DICT_BLOCK_TERMS || s->blk.len >= SPLIT_DICT_BLOCK_BYTES) {
			if (write_dict_block(s, in_blk, blk_post, blk_pos, (const uint8_t *)first.data,
					     first.len, err) < 0)
				goto out;
			nblocks++;
			in_blk = 0;
		}
	}
	if (in_blk) {
		if (write_dict_block(s, in_blk, blk_post, blk_pos, (const uint8_t *)first.data,
				     first.len, err) < 0)
			goto out;
		nblocks++;
	}
	/* hotcache entry: dict blocks, block index, bases */
	buf_add_varint(&s->hot, dict_off);
	buf_add_varint(&s->hot, tf->off - dict_off);
	buf_add_varint(&s->hot, tf->off);
	buf_add_varint(&s->hot, s->idx.len);
	buf_add_u32le(&s->hot, checksum_crc32c(0, s->idx.data, s->idx.len));
	buf_add_varint(&s->hot, nblocks);
	buf_add_varint(&s->hot, post_base);
	buf_add_varint(&s->hot, pf->off - post_base);
	buf_add_varint(&s->hot, pos_base);
	buf_add_varint(&s->hot, xf->off - pos_base);
	if (sfile_add(tf, s->idx.data, s->idx.len, err) < 0)
		goto out;
	ret = 0;
out:
	plists_free(&pl);
	buf_free(&first);
	free(ids);
	return ret;
}

static unsigned varint_len(uint64_t v)
{
	unsigned n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The sorted distinct values of v[0..n) into a new array (*nt of them), or
 * NULL when there are too many for a table to pay (indexes would not be at
 * least 2 bits narrower than the values): one pass with a hash set.
 */
static uint64_t *distinct_values(const uint64_t *v, size_t n, unsigned bits, uint64_t *nt)
{
	size_t limit = (size_t)1 << (bits - 2 < 20 ? bits - 2 : 20), nslots = 64, cnt = 0;
	uint64_t *slots, *out = NULL;
	bool *used;

	if (limit > n)
		limit = n;
	while (nslots < 2 * limit)
		nslots *= 2;
	slots = xcalloc(nslots, sizeof(*slots));
	used = xcalloc(nslots, sizeof(*used));
	for (size_t i = 0; i < n; i++) {
		size_t j = (size_t)((v[i] * 0x9e3779b97f4a7c15ULL) >> 32) & (nslots - 1);

		while (used[j] && slots[j] != v[i])
			j = (j + 1) & (nslots - 1);
		if (used[j])
			continue;
		if (++cnt > limit)
			goto out;
		used[j] = true;
		slots[j] = v[i];
	}
	out = xreallocarray(NULL, cnt ? cnt : 1, sizeof(*out));
	cnt = 0;
	for (size_t j = 0; j < nslots; j++)
		if (used[j])
			out[cnt++] = slots[j];
	qsort(out, cnt, sizeof(*out), cmp_u64);
	*nt = cnt;
out:
	free(slots);
	free(used);
	return out;
}

/*
 * The values of a column, already (value - min) / gcd, all <= vmax, with
 * the smallest of three codecs (qw-split(5)): one bit width for all,
 * a table of the distinct values plus bit-packed indexes, or blocks of
 * COL_VAL_BLOCK values each with its own base and width.
 */
static void write_values(struct ser *s, uint64_t *v, size_t n, uint64_t vmax)
{
	unsigned bits = bitpack_width(vmax);
	uint64_t packed_sz = bitpack_bytes(n, bits), blocks_sz = varint_len(n / COL_VAL_BLOCK + 1);
	uint64_t table_sz = UINT64_MAX, nt = 0;
	uint64_t *tab = NULL;

	for (size_t b = 0; b < n; b += COL_VAL_BLOCK) {
		size_t e = n - b < COL_VAL_BLOCK ? n : b + COL_VAL_BLOCK;
		uint64_t lo = UINT64_MAX, hi = 0;

		for (size_t i = b; i < e; i++) {
			if (v[i] < lo)
				lo = v[i];
			if (v[i] > hi)
				hi = v[i];
		}
		blocks_sz += varint_len(lo) + 1 + bitpack_bytes(e - b, bitpack_width(hi - lo));
	}
	if (n > 0 && bits > 1)
		tab = distinct_values(v, n, bits, &nt);
	if (tab)
		table_sz = varint_len(nt) + 1 + bitpack_bytes(nt, bits) + BITPACK_PAD +
			   bitpack_bytes(n, bitpack_width(nt - 1));
	if (table_sz < packed_sz && table_sz < blocks_sz) {
		unsigned ib = bitpack_width(nt - 1);

		buf_add_u8(&s->tmp, COL_VALS_TABLE);
		buf_add_varint(&s->tmp, nt);
		buf_add_u8(&s->tmp, (uint8_t)bits);
		bitpack_write(&s->tmp, tab, nt, bits);
		for (size_t i = 0; i < n; i++) {
			size_t lo = 0, hi = nt;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (tab[mid] < v[i])
					lo = mid + 1;
				else
					hi = mid;
			}
			v[i] = lo;
		}
		buf_add_u8(&s->tmp, (uint8_t)ib);
		bitpack_write(&s->tmp, v, n, ib);
	} else if (blocks_sz < packed_sz) {
		struct buf *d = &s->pk;

		buf_reset(d);
		buf_add_u8(&s->tmp, COL_VALS_BLOCKS);
		buf_add_varint(&s->tmp, (n + COL_VAL_BLOCK - 1) / COL_VAL_BLOCK);
		for (size_t b = 0; b < n; b += COL_VAL_BLOCK) {
			size_t e = n - b < COL_VAL_BLOCK ? n : b + COL_VAL_BLOCK;
			uint64_t lo = UINT64_MAX, hi = 0;
			unsigned w;

			for (size_t i = b; i < e; i++) {
				if (v[i] < lo)
					lo = v[i];
				if (v[i] > hi)
					hi = v[i];
			}
			w = bitpack_width(hi - lo);
			buf_add_varint(&s->tmp, lo);
			buf_add_u8(&s->tmp, (uint8_t)w);
			for (size_t i = b; i < e; i++)
				v[i] -= lo;
			/* bitpack_write pads: drop the padding between blocks */
			bitpack_write(d, v + b, e - b, w);
			d->len -= BITPACK_PAD;
		}
		buf_add(&s->tmp, d->data ? d->data : "", d->len);
		for (int i = 0; i < BITPACK_PAD; i++)
			buf_add_u8(&s->tmp, 0);
	} else {
		buf_add_u8(&s->tmp, COL_VALS_PACKED);
		buf_add_u8(&s->tmp, (uint8_t)bits);
		bitpack_write(&s->tmp, v, n, bits);
	}
	free(tab);
}

/* Whether the string is in the table (no insertion). */
static bool strtab_has(const struct strtab *t, const void *p, size_t len)
{
	uint32_t h = hash_bytes(p, len);
	size_t j;

	if (!t->nslots)
		return false;
	for (j = h & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1)) {
		const struct strent *e = &t->ents[t->slots[j] - 1];

		if (e->hash == h && e->len == len && memcmp(t->arena.data + e->off, p, len) == 0)
			return true;
	}
	return false;
}

/* Whether a dictionary column's values are exactly the field's indexed terms
 * (raw tokenizer, no normalizer): then ordinals are term dictionary ordinals. */
static bool same_dict(const struct sfield *f)
{
	if (!f->indexed || f->terms.n == 0 || f->terms.n != f->fdict.n)
		return false;
	for (uint32_t i = 0; i < f->fdict.n; i++) {
		size_t len;
		const uint8_t *t = strtab_get(&f->fdict, i, &len);

		if (!strtab_has(&f->terms, t, len))
			return false;
	}
	return true;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static int serialize_column(struct segment *seg, struct ser *s, struct sfield *f, struct qw_err *err)
{
	struct sfile *ff = &s->sec[SEC_FAST];
	bool dict = f->kind == VK_TEXT || f->kind == VK_IP || f->kind == VK_BYTES;
	uint32_t nd = seg->num_docs;
	uint64_t off = ff->off, min = UINT64_MAX, max = 0, g = 0;
	uint32_t *ids = NULL, *rank = NULL;
	unsigned bits;

	buf_reset(&s->tmp);
	if (dict) {
		/* ordinals: the rank of each value in sorted order */
		ids = sorted_ids(&f->fdict);
		rank = xreallocarray(NULL, f->fdict.n ? f->fdict.n : 1, sizeof(*rank));
		for (uint32_t i = 0; i < f->fdict.n; i++)
			rank[ids[i]] = i;
		for (size_t i = 0; i < f->fn; i++)
			f->fvals[i] = rank[f->fvals[i]];
	}
	buf_add_u8(&s->tmp, dict ? COL_DICT : COL_KEYS);
	buf_add_varint(&s->tmp, nd);
	buf_add_varint(&s->tmp, f->fn);
	{
		/* presence: which docs have values; then where each present doc's values start */
		uint64_t npres = 0;
		bool multi = false;
		unsigned dbits = bitpack_width(nd);

		if (s->u64s_cap < f->fn + 2) {
			s->u64s_cap = f->fn + 2;
			s->u64s = xreallocarray(s->u64s, s->u64s_cap, sizeof(*s->u64s));
		}
		for (size_t i = 0; i < f->fn; i++) {
			if (i == 0 || f->fdocs[i] != f->fdocs[i - 1])
				s->u64s[npres++] = f->fdocs[i];
			else
				multi = true;
		}
		buf_add_varint(&s->tmp, npres);
		if (npres == nd) {
			buf_add_u8(&s->tmp, COL_PRES_FULL);
		} else if (npres * dbits < nd + nd / 8) {
			buf_add_u8(&s->tmp, COL_PRES_SPARSE);
			buf_add_u8(&s->tmp, (uint8_t)dbits);
			bitpack_write(&s->tmp, s->u64s, npres, dbits);
		} else {
			uint64_t nwords = ((uint64_t)nd + 63) / 64, cnt = 0;
			uint64_t *words = xcalloc(nwords ? nwords : 1, sizeof(*words));

			for (uint64_t i = 0; i < npres; i++)
				words[s->u64s[i] >> 6] |= 1ULL << (s->u64s[i] & 63);
			buf_add_u8(&s->tmp, COL_PRES_DENSE);
			for (uint64_t w = 0; w < nwords; w++)
				buf_add_u64le(&s->tmp, words[w]);
			for (uint64_t w = 0; w < nwords; w++) {
				if (w % 8 == 0)
					buf_add_u32le(&s->tmp, (uint32_t)cnt);
				cnt += (uint64_t)__builtin_popcountll(words[w]);
			}
			free(words);
		}
		buf_add_u8(&s->tmp, multi ? 1 : 0);
		if (multi) {
			/* start of each present doc's values, npres + 1 entries */
			uint64_t k = 0;

			for (size_t i = 0; i < f->fn; i++)
				if (i == 0 || f->fdocs[i] != f->fdocs[i - 1])
					s->u64s[k++] = i;
			s->u64s[k] = f->fn;
			bits = bitpack_width(f->fn);
			buf_add_u8(&s->tmp, (uint8_t)bits);
			bitpack_write(&s->tmp, s->u64s, npres + 1, bits);
		}
	}
	for (size_t i = 0; i < f->fn; i++) {
		if (f->fvals[i] < min)
			min = f->fvals[i];
		if (f->fvals[i] > max)
			max = f->fvals[i];
	}
	if (f->fn == 0)
		min = max = 0;
	for (size_t i = 0; i < f->fn && g != 1; i++)
		g = gcd64(g, f->fvals[i] - min);
	if (g == 0)
		g = 1;
	for (size_t i = 0; i < f->fn; i++)
		f->fvals[i] = (f->fvals[i] - min) / g;
	buf_add_varint(&s->tmp, min);
	buf_add_varint(&s->tmp, max);
	buf_add_varint(&s->tmp, g);
	write_values(s, f->fvals, f->fn, (max - min) / g);
	if (dict && same_dict(f)) {
		/* the ordinals are those of the field's term dictionary: no copy */
		buf_add_u8(&s->tmp, COL_DICT_TERMS);
		buf_add_varint(&s->tmp, f->fdict.n);
	} else if (dict) {
		uint64_t total = 0;

		buf_add_u8(&s->tmp, COL_DICT_OWN);
		if (s->u64s_cap < f->fdict.n + 1) {
			s->u64s_cap = f->fdict.n + 1;
			s->u64s = xreallocarray(s->u64s, s->u64s_cap, sizeof(*s->u64s));
		}
		for (uint32_t i = 0; i < f->fdict.n; i++) {
			s->u64s[i] = total;
			total += f->fdict.ents[ids[i]].len;
		}
		s->u64s[f->fdict.n] = total;
		buf_add_varint(&s->tmp, f->fdict.n);
		bits = bitpack_width(total);
		buf_add_u8(&s->tmp, (uint8_t)bits);
		bitpack_write(&s->tmp, s->u64s, f->fdict.n + 1, bits);
		buf_add_varint(&s->tmp, total);
		for (uint32_t i = 0; i < f->fdict.n; i++) {
			size_t len;
			const uint8_t *t = strtab_get(&f->fdict, ids[i], &len);

			buf_add(&s->tmp, t, len);
		}
	}
	free(ids);
	free(rank);
	{
		uint64_t raw;
		size_t clen;
		/* the timestamp column stays raw: sorting by it reads it on most searches,
		 * decompressing would cost more than it saves; others compress when it pays */
		bool ts = seg->cfg->timestamp_field && f->kind == VK_DATETIME &&
			  strcmp(seg->cfg->timestamp_field, f->path) == 0;
		const void *cp = !ts ? maybe_compress(s, s->tmp.data, s->tmp.len, &clen, &raw)
				     : s->tmp.data;

		if (ts) {
			clen = s->tmp.len;
			raw = 0;
		}

		buf_add_varint(&s->hot, off);
		buf_add_varint(&s->hot, clen);
		buf_add_varint(&s->hot, raw);
		buf_add_u32le(&s->hot, checksum_crc32c(0, cp, clen));
		return sfile_add(ff, cp, clen, err);
	}
}

/* Hotcache: total tokens, then the field norms unit when kept (qw-split(5)). */
static int serialize_norms(struct segment *seg, struct ser *s, struct sfield *f,
			   struct qw_err *err)
{
	struct sfile *nf = &s->sec[SEC_FIELDNORMS];
	uint64_t off = nf->off, raw;
	size_t clen;
	const void *cp;

	buf_add_varint(&s->hot, f->total_tokens);
	buf_add_u8(&s->hot, f->norms ? 1 : 0);
	if (!f->norms)
		return 0;
	buf_reset(&s->tmp);
	buf_grow(&s->tmp, (size_t)seg->num_docs + 1);
	memset(s->tmp.data, 0, (size_t)seg->num_docs);
	s->tmp.len = seg->num_docs;
	for (size_t i = 0; i < f->norm_n; i++)
		if (f->norm_docs[i] < seg->num_docs)
			s->tmp.data[f->norm_docs[i]] = (char)fieldnorm_encode(f->norm_cnt[i]);
	cp = maybe_compress(s, s->tmp.data, s->tmp.len, &clen, &raw);
	buf_add_varint(&s->hot, off);
	buf_add_varint(&s->hot, clen);
	buf_add_varint(&s->hot, raw);
	buf_add_u32le(&s->hot, checksum_crc32c(0, cp, clen));
	return sfile_add(nf, cp, clen, err);
}

static int write_json_file(const char *dir, const char *name, json_t *j, struct qw_err *err)
{
	char *p = fsutil_join(dir, name);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	int ret = -1;

	if (!text) {
		err_set(err, EX_SOFTWARE, "cannot serialize '%s'", p);
		goto out;
	}
	ret = fsutil_write_atomic(p, text, strlen(text), err);
out:
	free(text);
	free(p);
	return ret;
}

int segment_serialize(struct segment *seg, const char *dir, struct qw_err *err)
{
	struct ser s;
	json_t *meta = NULL;
	int ret = -1;
	size_t opened = 0;
	char *hp = NULL;

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < SEC_COUNT; i++)
		s.sec[i].fd = -1;
	s.zc = seg->zc;
	if (ds_flush(seg, err) < 0)
		goto out;
	for (int i = 0; i < SEC_COUNT; i++, opened++)
		if (sfile_open(&s.sec[i], dir, split_section_names[i], err) < 0)
			goto out;
	/* tags need the term ids before serialization frees postings; compute now */
	meta = json_object();
	json_object_set_new(meta, "tags", segment_tags(seg));
	qsort(seg->fields, seg->nfields, sizeof(*seg->fields), cmp_field);
	free(seg->fslots);
	seg->fslots = NULL;
	seg->nfslots = 0;

	buf_add_varint(&s.hot, seg->num_docs);
	buf_add_varint(&s.hot, seg->nfields);
	for (size_t i = 0; i < seg->nfields; i++) {
		struct sfield *f = &seg->fields[i];
		bool indexed = f->indexed && f->terms.n > 0, fast = f->fast && f->fn > 0;

		buf_add_varint(&s.hot, f->path_len);
		buf_add(&s.hot, f->path, f->path_len);
		buf_add_u8(&s.hot, (uint8_t)f->kind);
		buf_add_u8(&s.hot, (uint8_t)((indexed ? SF_INDEXED : 0) | (fast ? SF_FAST : 0) |
					     (f->stored ? SF_STORED : 0)));
		buf_add_u8(&s.hot, (uint8_t)f->tok.kind);
		buf_add_u8(&s.hot, (uint8_t)f->rec);
		buf_add_u8(&s.hot, (uint8_t)f->fnorm);
		if (f->tok.kind == TOK_CUSTOM) {
			/* the definition itself: the searcher tokenizes queries with it */
			json_t *def = config_custom_tokenizer_json(f->tok.custom);
			char *js = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);

			json_decref(def);
			if (!js)
				xalloc_die();
			buf_add_varint(&s.hot, strlen(js));
			buf_adds(&s.hot, js);
			free(js);
		}
		buf_add_varint(&s.hot, indexed ? f->terms.n : 0);
		buf_add_varint(&s.hot, f->docs_with_value);
		if (indexed && serialize_terms(seg, &s, f, err) < 0)
			goto out;
		if (indexed && f->kind == VK_TEXT && serialize_norms(seg, &s, f, err) < 0)
			goto out;
		if (fast && serialize_column(seg, &s, f, err) < 0)
			goto out;
	}
	/* doc store: block index in the hotcache, blocks in the section */
	buf_add_varint(&s.hot, seg->ds_nblocks);
	for (size_t i = 0; i < seg->ds_nblocks; i++) {
		buf_add_varint(&s.hot, seg->ds_blocks[i].num_docs);
		buf_add_varint(&s.hot, seg->ds_blocks[i].raw_len);
		buf_add_varint(&s.hot, seg->ds_blocks[i].comp_len);
		buf_add_u32le(&s.hot, seg->ds_blocks[i].crc);
	}
	if (sfile_add(&s.sec[SEC_DOCSTORE], seg->ds_comp.data, seg->ds_comp.len, err) < 0)
		goto out;
	for (int i = 0; i < SEC_COUNT; i++)
		if (sfile_close(&s.sec[i], err) < 0)
			goto out;
	hp = fsutil_join(dir, "hotcache");
	if (fsutil_write_atomic(hp, s.hot.data ? s.hot.data : "", s.hot.len, err) < 0)
		goto out;
	json_object_set_new(meta, "num_docs", json_integer(seg->num_docs));
	json_object_set_new(meta, "uncompressed_docs_size_in_bytes",
			    json_integer((json_int_t)seg->uncompressed));
	if (seg->has_time) {
		json_t *tr = json_object();

		json_object_set_new(tr, "start", json_integer(seg->tmin));
		json_object_set_new(tr, "end", json_integer(seg->tmax));
		json_object_set_new(meta, "time_range_us", tr);
		tr = json_object();
		/* Quickwit's time_range is in seconds */
		json_object_set_new(tr, "start", json_integer(seg->tmin >= 0 ? seg->tmin / 1000000 :
							      -((-seg->tmin + 999999) / 1000000)));
		json_object_set_new(tr, "end", json_integer(seg->tmax >= 0 ? seg->tmax / 1000000 :
							    -((-seg->tmax + 999999) / 1000000)));
		json_object_set_new(meta, "time_range", tr);
	} else {
		json_object_set_new(meta, "time_range", json_null());
	}
	json_object_set_new(meta, "num_fields", json_integer((json_int_t)seg->nfields));
	if (write_json_file(dir, "segment.json", meta, err) < 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; i < opened && i < SEC_COUNT; i++)
		if (s.sec[i].fd >= 0) {
			close(s.sec[i].fd);
			s.sec[i].fd = -1;
		}
	for (int i = 0; i < SEC_COUNT; i++)
		buf_free(&s.sec[i].b);
	free(hp);
	json_decref(meta);
	buf_free(&s.hot);
	buf_free(&s.tmp);
	buf_free(&s.blk);
	buf_free(&s.pk);
	buf_free(&s.z);
	buf_free(&s.idx);
	buf_free(&s.prev);
	free(s.docs);
	free(s.tfs);
	free(s.u64s);
	return ret;
}
