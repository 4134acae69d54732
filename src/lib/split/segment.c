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
#include "base/hashslots.h"
#include "split/split_encode.h"
#include "split/split_format.h"
#include "split/split_tags.h"
#include "split/termkey.h"
#include "mapping/tokenizer.h"
#include "base/xalloc.h"

#define NO_DOC UINT32_MAX

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

/* The hash of entry i, kept with it (hashslots_grow). */
static uint32_t strtab_hash_of(const void *ctx, size_t i)
{
	const struct strtab *t = ctx;

	return t->ents[i].hash;
}

static void strtab_rehash(struct strtab *t)
{
	hashslots_grow(&t->slots, &t->nslots, t->n, strtab_hash_of, t);
}

static const uint8_t *strtab_get(const struct strtab *t, uint32_t id, size_t *len)
{
	*len = t->ents[id].len;
	return (const uint8_t *)t->arena.data + t->ents[id].off;
}

/* Whether n bytes at a and b are equal: terms are mostly short (numbers'
 * 8-byte keys, ips' 16, words), where a call to memcmp costs more than the
 * comparison; two overlapping loads cover every length from 4 to 16. */
static inline bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x, y, u, v;
	uint32_t x4, y4, u4, v4;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + n - 8, 8);
		memcpy(&v, b + n - 8, 8);
		return ((x ^ y) | (u ^ v)) == 0;
	}
	if (n >= 4) {
		memcpy(&x4, a, 4);
		memcpy(&y4, b, 4);
		memcpy(&u4, a + n - 4, 4);
		memcpy(&v4, b + n - 4, 4);
		return ((x4 ^ y4) | (u4 ^ v4)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
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
		    bytes_equal((const uint8_t *)t->arena.data + e->off, p, len)) {
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
	/* the same for the last scalar value (number, date, ip, bool): its
	 * term key and the ids it got (statuses, client ips and methods repeat
	 * from one line to the next) */
	uint8_t last_key[16];
	uint8_t last_klen;       /* 0: none yet */
	uint32_t last_key_term, last_key_fast;
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

/* Room for one more varint in v: out of line, the rare path of bvec_varint. */
static void __attribute__((noinline)) bvec_grow(struct segment *seg, struct bvec *v)
{
	uint32_t nc = v->cap ? v->cap * 2 : 8;

	while (nc < v->len + 10)
		nc *= 2;
	v->p = xrealloc(v->p, nc);
	seg->mem += nc - v->cap + (v->cap ? 0 : 16);  /* + malloc's own header */
	v->cap = nc;
}

static inline void bvec_varint(struct segment *seg, struct bvec *v, uint64_t x)
{
	if (v->len + 10 > v->cap)
		bvec_grow(seg, v);
	while (x >= 0x80) {
		v->p[v->len++] = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	v->p[v->len++] = (uint8_t)x;
}

static void field_options(const struct segment *seg, const struct field_mapping *m,
			  enum value_kind kind, struct sfield *f)
{
	/* an unmapped field takes the dynamic mapping's options */
	const struct field_options *o = m ? &m->opts : &seg->cfg->dynamic.opts;

	f->indexed = o->indexed;
	f->fast = o->fast;
	f->stored = o->stored;
	f->tok = o->tokenizer;
	f->rec = o->record;
	f->fnorm = o->fast_normalizer;
	f->norms = o->fieldnorms;
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

/* The hash of field i, from its path and kind (hashslots_grow). */
static uint32_t field_hash_of(const void *ctx, size_t i)
{
	const struct segment *seg = ctx;
	const struct sfield *f = &seg->fields[i];

	return field_hash(f->path, f->path_len, f->kind);
}

static void fields_rehash(struct segment *seg)
{
	hashslots_grow(&seg->fslots, &seg->nfslots, seg->nfields, field_hash_of, seg);
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

/*
 * Index a scalar value by its term key (klen bytes, at most 16) and, for
 * its fast column, by its dictionary id (dict) or its number k. The same
 * key as the field's last scalar value takes that value's ids again
 * without hashing it.
 */
static void index_scalar(struct segment *seg, struct sfield *f, const uint8_t *key, size_t klen,
			 bool dict, uint64_t k)
{
	bool is_new;

	if (f->last_klen == klen && bytes_equal(f->last_key, key, klen)) {
		if (f->indexed)
			add_term_id(seg, f, f->last_key_term, f->pos_base);
		if (f->fast)
			add_fast(seg, f, dict ? f->last_key_fast : k);
		f->pos_base++;
		return;
	}
	if (f->indexed)
		f->last_key_term = add_term(seg, f, key, klen, f->pos_base);
	if (f->fast && dict)
		f->last_key_fast = seg_intern(seg, &f->fdict, key, klen, &is_new);
	if (f->fast)
		add_fast(seg, f, dict ? f->last_key_fast : k);
	memcpy(f->last_key, key, klen);
	f->last_klen = (uint8_t)klen;
	f->pos_base++;
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
	index_scalar(seg, f, key, klen, dict, k);
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
	uint64_t total;
	size_t start = seg->ds_comp.len;

	if (split_enc_ds_compress(zc, seg->cfg->docstore_compression_level, tmp, raw, lens, nlens,
				  &seg->ds_comp, &total, err) < 0)
		return -1;
	XGROW(seg->ds_blocks, seg->ds_nblocks + 1, seg->ds_blocks_cap);
	b = &seg->ds_blocks[seg->ds_nblocks++];
	b->first_doc = first_doc;
	b->num_docs = (uint32_t)nlens;
	b->raw_len = total;
	b->comp_len = seg->ds_comp.len - start;
	b->crc = checksum_crc32c(0, seg->ds_comp.data + start, b->comp_len);
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

json_t *segment_tags(const struct segment *seg)
{
	struct split_tags *t = split_tags_new(seg->cfg);
	json_t *arr;

	for (size_t j = 0; j < seg->nfields; j++) {
		const struct sfield *f = &seg->fields[j];

		for (uint32_t id = 0; id < f->terms.n; id++) {
			size_t len;
			const uint8_t *term = strtab_get(&f->terms, id, &len);

			split_tags_add_term(t, f->path, f->kind, term, len);
		}
	}
	arr = split_tags_json(t);
	split_tags_free(t);
	return arr;
}

/* ------------------------------------------------------------ serialize */

/* Scratch of serialize: one term's postings decoded. */
struct ser {
	struct split_enc *enc;
	uint32_t *docs, *tfs;
	size_t docs_cap;
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

static int serialize_terms(struct ser *s, struct sfield *f, struct qw_err *err)
{
	uint32_t *ids = sorted_ids(&f->terms);
	int ret = -1;

	split_enc_terms_begin(s->enc);
	for (uint64_t k = 0; k < f->terms.n; k++) {
		struct sterm *t = &f->tinfo[ids[k]];
		size_t len;
		const uint8_t *term = strtab_get(&f->terms, ids[k], &len);

		decode_post(s, f, t);
		if (split_enc_term(s->enc, term, len, t->df, t->total_tf, s->docs, s->tfs,
				   t->pos.p, t->pos.len, err) < 0)
			goto out;
		/* the segment is only freed after serialize: release memory early */
		free(t->post.p);
		free(t->pos.p);
		t->post.p = t->pos.p = NULL;
		t->post.len = t->pos.len = 0;
	}
	ret = split_enc_terms_end(s->enc, err);
out:
	free(ids);
	return ret;
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

static int serialize_column(struct segment *seg, struct ser *s, struct sfield *f, struct qw_err *err)
{
	bool dict = f->kind == VK_TEXT || f->kind == VK_IP || f->kind == VK_BYTES;
	uint32_t *ids = NULL, *rank = NULL;
	const uint8_t **terms = NULL;
	size_t *lens = NULL;
	struct split_enc_column c;
	int ret;

	memset(&c, 0, sizeof(c));
	if (dict) {
		/* ordinals: the rank of each value in sorted order */
		ids = sorted_ids(&f->fdict);
		rank = xreallocarray(NULL, f->fdict.n ? f->fdict.n : 1, sizeof(*rank));
		for (uint32_t i = 0; i < f->fdict.n; i++)
			rank[ids[i]] = i;
		for (size_t i = 0; i < f->fn; i++)
			f->fvals[i] = rank[f->fvals[i]];
		c.dict_is_terms = same_dict(f);
		if (!c.dict_is_terms) {
			terms = xreallocarray(NULL, f->fdict.n ? f->fdict.n : 1, sizeof(*terms));
			lens = xreallocarray(NULL, f->fdict.n ? f->fdict.n : 1, sizeof(*lens));
			for (uint32_t i = 0; i < f->fdict.n; i++)
				terms[i] = strtab_get(&f->fdict, ids[i], &lens[i]);
		}
	}
	c.num_docs = seg->num_docs;
	c.docs = f->fdocs;
	c.vals = f->fvals;
	c.n = f->fn;
	c.is_dict = dict;
	c.dict = terms;
	c.dict_len = lens;
	c.ndict = dict ? f->fdict.n : 0;
	c.raw = seg->cfg->timestamp_field && f->kind == VK_DATETIME &&
		strcmp(seg->cfg->timestamp_field, f->path) == 0;
	ret = split_enc_column(s->enc, &c, err);
	free(terms);
	free(lens);
	free(ids);
	free(rank);
	return ret;
}

/* Hotcache: total tokens, then the field norms unit when kept (qw-split(5)). */
static int serialize_norms(struct segment *seg, struct ser *s, struct sfield *f,
			   struct qw_err *err)
{
	uint8_t *ids = NULL;
	int ret;

	if (f->norms) {
		ids = xcalloc((size_t)seg->num_docs + 1, 1);
		for (size_t i = 0; i < f->norm_n; i++)
			if (f->norm_docs[i] < seg->num_docs)
				ids[f->norm_docs[i]] = fieldnorm_encode(f->norm_cnt[i]);
	}
	ret = split_enc_norms(s->enc, f->total_tokens, ids, seg->num_docs, err);
	free(ids);
	return ret;
}

int segment_serialize(struct segment *seg, const char *dir, struct qw_err *err)
{
	struct ser s;
	json_t *meta = NULL;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	if (ds_flush(seg, err) < 0)
		goto out;
	s.enc = split_enc_open(dir, seg->cfg, seg->zc, err);
	if (!s.enc)
		goto out;
	/* tags need the term ids before serialization frees postings; compute now */
	meta = json_object();
	json_object_set_new(meta, "tags", segment_tags(seg));
	qsort(seg->fields, seg->nfields, sizeof(*seg->fields), cmp_field);
	free(seg->fslots);
	seg->fslots = NULL;
	seg->nfslots = 0;

	for (size_t i = 0; i < seg->nfields; i++) {
		struct sfield *f = &seg->fields[i];
		bool indexed = f->indexed && f->terms.n > 0, fast = f->fast && f->fn > 0;
		struct split_enc_field ef = { f->path, f->path_len, f->kind, f->stored, f->tok,
					      f->rec, f->fnorm };

		split_enc_field_begin(s.enc, &ef);
		if (indexed && serialize_terms(&s, f, err) < 0)
			goto out;
		if (indexed && f->kind == VK_TEXT && serialize_norms(seg, &s, f, err) < 0)
			goto out;
		if (fast && serialize_column(seg, &s, f, err) < 0)
			goto out;
		split_enc_field_end(s.enc, indexed ? f->terms.n : 0, f->docs_with_value);
	}
	/* doc store: the blocks as compressed */
	for (size_t i = 0, off = 0; i < seg->ds_nblocks; i++) {
		const struct dsblock *b = &seg->ds_blocks[i];

		if (split_enc_ds_block(s.enc, b->num_docs, b->raw_len, seg->ds_comp.data + off,
				       b->comp_len, b->crc, err) < 0)
			goto out;
		off += b->comp_len;
	}
	split_enc_meta(meta, seg->num_docs, seg->uncompressed, seg->has_time, seg->tmin,
		       seg->tmax);
	ret = split_enc_finish(s.enc, seg->num_docs, seg->nfields, meta, err);
out:
	split_enc_free(s.enc);
	json_decref(meta);
	free(s.docs);
	free(s.tfs);
	return ret;
}
