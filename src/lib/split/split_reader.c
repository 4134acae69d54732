/* split_reader: see split_reader.h; layout in qw-split(5). */
#include "split/split_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "base/bitpack.h"
#include "base/buf.h"
#include "base/checksum.h"
#include "base/fsutil.h"
#include "store/split_cache.h"
#include "split/split_format.h"
#include "split/termkey.h"
#include "base/xalloc.h"

#define MAX_UNIT (1ULL << 30)    /* no single unit (block, list, column) is larger */

/* Fuzzing builds skip checksums so that the fuzzer reaches the decoders. */
static inline bool crc_ok(uint32_t got, uint32_t want)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)got;
	(void)want;
	return true;
#else
	return got == want;
#endif
}

struct dblk {
	const uint8_t *first;
	uint32_t first_len;
	uint64_t off, len;       /* within the field's dictionary blocks */
	uint64_t raw_len;        /* 0: stored raw, else zstd of that many bytes */
	uint32_t crc;
	uint64_t post_off, pos_off;
	uint32_t nterms;
};

struct rfield {
	struct split_field_info info;
	uint64_t dict_off, dict_len, idx_off, idx_len, nblocks;
	uint32_t idx_crc;
	uint64_t post_base, post_len, pos_base, pos_len;
	uint64_t col_off, col_len, col_raw;
	uint32_t col_crc;
	uint64_t total_tokens;   /* indexed text: tokens over all docs */
	bool has_norms;
	uint64_t norm_off, norm_len, norm_raw;
	uint32_t norm_crc;
	uint8_t *norms;          /* loaded field norms (lazily), num_docs bytes */
	uint8_t *idx_buf;        /* loaded block index (lazily) */
	struct custom_tokenizer *custom; /* TOK_CUSTOM: the definition the split records */
	struct dblk *blocks;
};

struct dsb {
	uint32_t first_doc, num_docs;
	uint64_t raw_len, off, len;
	uint32_t crc;
};

struct split_reader {
	char *path;
	int fd;
	struct split_remote *remote;  /* an s3:// split read by ranges, or NULL */
	struct split_io *io;          /* reads so far: mutable under a const reader */
	uint64_t size;
	uint8_t *footer;
	size_t footer_len;
	json_t *meta;
	uint64_t sec_off[SEC_COUNT], sec_len[SEC_COUNT];
	uint32_t sec_crc[SEC_COUNT];
	uint64_t hot_off, hot_len;  /* absolute */
	uint32_t num_docs;
	struct rfield *fields;
	size_t nfields;
	char *paths;             /* every field path, NUL-terminated, one allocation */
	struct dsb *ds;          /* doc store block index: parsed on first doc read */
	size_t nds;
	size_t ds_at;            /* where it starts in the hotcache; SIZE_MAX once parsed */
	/* doc store cache */
	int64_t ds_cached;
	uint8_t *ds_raw;
	uint64_t ds_raw_cap;
	uint64_t *ds_offs;       /* num_docs + 1 offsets into ds_raw */
	ZSTD_DCtx *zd;
	/* last dictionary block read for inline postings */
	const struct rfield *dc_field;
	uint64_t dc_bi, dc_len;
	uint8_t *dc_data;
};

static int corrupt(const struct split_reader *r, struct qw_err *err, int sec, uint64_t off,
		   const char *what)
{
	return err_set(err, EX_DATAERR, "corrupted split '%s': section '%s' at offset %llu: %s",
		       r->path, sec >= 0 ? split_section_names[sec] : "footer",
		       (unsigned long long)off, what);
}

/* len bytes at the absolute offset off: from the fd or by a range GET. */
static int rread(const struct split_reader *r, void *buf, size_t len, uint64_t off,
		 struct qw_err *err)
{
	r->io->requests++;
	r->io->bytes += len;
	if (r->remote)
		return split_remote_pread(r->remote, buf, len, off, err);
	if (fsutil_pread_full(r->fd, buf, len, (off_t)off) < 0)
		return err_errno(err, EX_IOERR, "cannot read split '%s' at offset %llu", r->path,
				 (unsigned long long)off);
	return 0;
}

/* Read len bytes at off (relative to section sec) into a new buffer. */
static uint8_t *rd(const struct split_reader *r, int sec, uint64_t off, uint64_t len,
		   struct qw_err *err)
{
	uint8_t *p;

	if (off > r->sec_len[sec] || len > r->sec_len[sec] - off || len > MAX_UNIT) {
		corrupt(r, err, sec, off, "unit out of bounds");
		return NULL;
	}
	p = xmalloc(len + BITPACK_PAD + 1);
	memset(p + len, 0, BITPACK_PAD + 1);
	if (len && rread(r, p, len, r->sec_off[sec] + off, err) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* rd() plus a CRC32C check against crc. */
static uint8_t *rd_crc(const struct split_reader *r, int sec, uint64_t off, uint64_t len,
		       uint32_t crc, struct qw_err *err)
{
	uint8_t *p = rd(r, sec, off, len, err);

	if (p && !crc_ok(checksum_crc32c(0, p, len), crc)) {
		free(p);
		corrupt(r, err, sec, off, "checksum mismatch");
		return NULL;
	}
	return p;
}

/* Replace *p (len bytes of zstd) by its raw_len decompressed bytes (+ padding). */
static int inflate_unit(struct split_reader *r, int sec, uint64_t off, uint8_t **p,
			uint64_t len, uint64_t raw_len, struct qw_err *err)
{
	uint8_t *out;
	size_t n;

	/* one decompression context per reader: creating one per unit costs page faults */
	if (!r->zd)
		r->zd = ZSTD_createDCtx();
	if (!r->zd)
		return err_set(err, EX_OSERR, "cannot create a zstd context");

	/* never allocate what the frame does not claim itself */
	if (raw_len / 4096 > len || ZSTD_getFrameContentSize(*p, len) != raw_len)
		return corrupt(r, err, sec, off, "bad compressed unit");
	out = xmalloc(raw_len + BITPACK_PAD + 1);
	n = ZSTD_decompressDCtx(r->zd, out, raw_len, *p, len);

	if (ZSTD_isError(n) || n != raw_len) {
		free(out);
		return corrupt(r, err, sec, off, "cannot decompress");
	}
	memset(out + raw_len, 0, BITPACK_PAD + 1);
	free(*p);
	*p = out;
	return 0;
}

/*
 * The field table of the hotcache; the doc store block index after it is
 * only located (load_ds_index parses it when a document is first read: a
 * query that returns no document never pays for it).
 */
/* A custom tokenizer's definition (JSON, as config_custom_tokenizer_json writes it). */
static int read_custom_tokenizer(struct cur *c, struct rfield *f)
{
	uint64_t n = cur_varint(c);
	const uint8_t *def;
	json_t *o;
	struct qw_err e = { 0 };
	int rc = -1;

	def = cur_bytes(c, n);
	if (c->bad || !def)
		return -1;
	o = json_loadb((const char *)def, n, JSON_REJECT_DUPLICATES, NULL);
	if (!o)
		return -1;
	f->custom = xcalloc(1, sizeof(*f->custom));
	if (config_parse_custom_tokenizer(o, "split tokenizer", f->custom, &e))
		goto out;
	f->info.tokenizer.custom = f->custom;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static int parse_hotcache(struct split_reader *r, const uint8_t *p, size_t len, struct qw_err *err)
{
	struct cur c;
	uint64_t n;
	char *pp;

	cur_init(&c, p, len);
	r->num_docs = cur_varint32(&c);
	n = cur_varint(&c);
	if (c.bad || n > len)
		goto bad;
	r->fields = xcalloc(n ? n : 1, sizeof(*r->fields));
	r->nfields = n;
	/* the paths are shorter than the hotcache that holds them */
	r->paths = xmalloc(len + 1);
	pp = r->paths;
	for (size_t i = 0; i < n; i++) {
		struct rfield *f = &r->fields[i];
		uint64_t plen = cur_varint(&c);
		const uint8_t *path = cur_bytes(&c, plen);
		uint8_t kind, flags, tok, rec, fnorm;

		kind = cur_u8(&c);
		flags = cur_u8(&c);
		tok = cur_u8(&c);
		rec = cur_u8(&c);
		fnorm = cur_u8(&c);
		if (c.bad || kind > VK_BYTES || tok > TOK_LAST || rec > RECORD_POSITION ||
		    fnorm > FAST_NORM_LOWERCASE || memchr(path, 0, plen))
			goto bad;
		memcpy(pp, path, plen);
		pp[plen] = '\0';
		f->info.path = pp;
		pp += plen + 1;
		f->info.kind = kind;
		f->info.indexed = flags & SF_INDEXED;
		f->info.fast = flags & SF_FAST;
		f->info.stored = flags & SF_STORED;
		f->info.tokenizer = TOKENIZER((enum tokenizer)tok);
		f->info.record = rec;
		f->info.fast_normalizer = fnorm;
		if (tok == TOK_CUSTOM && read_custom_tokenizer(&c, f) < 0)
			goto bad;
		f->info.num_terms = cur_varint(&c);
		f->info.num_docs_with_value = cur_varint(&c);
		if (f->info.indexed) {
			f->dict_off = cur_varint(&c);
			f->dict_len = cur_varint(&c);
			f->idx_off = cur_varint(&c);
			f->idx_len = cur_varint(&c);
			f->idx_crc = cur_u32le(&c);
			f->nblocks = cur_varint(&c);
			f->post_base = cur_varint(&c);
			f->post_len = cur_varint(&c);
			f->pos_base = cur_varint(&c);
			f->pos_len = cur_varint(&c);
			if (f->dict_off > r->sec_len[SEC_TERMS] ||
			    f->dict_len > r->sec_len[SEC_TERMS] - f->dict_off ||
			    f->idx_off > r->sec_len[SEC_TERMS] ||
			    f->idx_len > r->sec_len[SEC_TERMS] - f->idx_off ||
			    f->post_base > r->sec_len[SEC_POSTINGS] ||
			    f->post_len > r->sec_len[SEC_POSTINGS] - f->post_base ||
			    f->pos_base > r->sec_len[SEC_POSITIONS] ||
			    f->pos_len > r->sec_len[SEC_POSITIONS] - f->pos_base ||
			    f->nblocks > f->idx_len || f->nblocks == 0)
				goto bad;
			if (kind == VK_TEXT) {
				uint8_t hn;

				f->total_tokens = cur_varint(&c);
				hn = cur_u8(&c);
				if (hn > 1)
					goto bad;
				f->has_norms = hn;
				if (hn) {
					f->norm_off = cur_varint(&c);
					f->norm_len = cur_varint(&c);
					f->norm_raw = cur_varint(&c);
					f->norm_crc = cur_u32le(&c);
					if (f->norm_off > r->sec_len[SEC_FIELDNORMS] ||
					    f->norm_len > r->sec_len[SEC_FIELDNORMS] - f->norm_off ||
					    (f->norm_raw ? f->norm_raw : f->norm_len) != r->num_docs)
						goto bad;
				}
			}
		}
		if (f->info.fast) {
			f->col_off = cur_varint(&c);
			f->col_len = cur_varint(&c);
			f->col_raw = cur_varint(&c);
			f->col_crc = cur_u32le(&c);
			if (f->col_off > r->sec_len[SEC_FAST] ||
			    f->col_len > r->sec_len[SEC_FAST] - f->col_off || f->col_raw > MAX_UNIT)
				goto bad;
		}
		if (c.bad)
			goto bad;
		if (i > 0) {
			int cmp = strcmp(r->fields[i - 1].info.path, f->info.path);

			if (cmp > 0 || (cmp == 0 && r->fields[i - 1].info.kind >= f->info.kind))
				goto bad;
		}
	}
	if (c.bad || cur_left(&c) == 0)
		goto bad;
	r->ds_at = (size_t)(c.p - p);
	return 0;
bad:
	return corrupt(r, err, -1, r->hot_off + (uint64_t)(c.p - p), "bad hotcache");
}

/* The doc store block index, the end of the hotcache (r->footer). */
static int load_ds_index(struct split_reader *r, struct qw_err *err)
{
	struct cur c;
	uint64_t n, ds_off = 0, doc = 0;

	if (r->ds_at == SIZE_MAX)
		return 0;
	cur_init(&c, r->footer + r->ds_at, r->hot_len - r->ds_at);
	n = cur_varint(&c);
	if (c.bad || n > r->hot_len)
		goto bad;
	r->ds = xcalloc(n ? n : 1, sizeof(*r->ds));
	r->nds = n;
	for (size_t i = 0; i < n; i++) {
		struct dsb *b = &r->ds[i];

		b->first_doc = (uint32_t)doc;
		b->num_docs = cur_varint32(&c);
		b->raw_len = cur_varint(&c);
		b->len = cur_varint(&c);
		b->crc = cur_u32le(&c);
		b->off = ds_off;
		doc += b->num_docs;
		ds_off += b->len;
		if (c.bad || b->num_docs == 0 || doc > r->num_docs || b->len > r->sec_len[SEC_DOCSTORE] ||
		    ds_off > r->sec_len[SEC_DOCSTORE] || b->raw_len > MAX_UNIT)
			goto bad;
	}
	if (doc != r->num_docs || cur_left(&c) != 0)
		goto bad;
	r->ds_at = SIZE_MAX;
	return 0;
bad:
	free(r->ds);
	r->ds = NULL;
	r->nds = 0;
	return corrupt(r, err, -1, r->hot_off + r->ds_at + (uint64_t)(c.p - (r->footer + r->ds_at)),
		       "bad hotcache");
}

void split_reader_close(struct split_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	split_remote_close(r->remote);
	for (size_t i = 0; i < r->nfields; i++) {
		free(r->fields[i].idx_buf);
		free(r->fields[i].blocks);
		free(r->fields[i].norms);
		if (r->fields[i].custom)
			config_custom_tokenizer_free(r->fields[i].custom);
		free(r->fields[i].custom);
	}
	free(r->fields);
	free(r->paths);
	free(r->ds);
	free(r->ds_raw);
	free(r->ds_offs);
	free(r->dc_data);
	ZSTD_freeDCtx(r->zd);
	json_decref(r->meta);
	free(r->footer);
	free(r->io);
	free(r->path);
	free(r);
}

void split_reader_io(const struct split_reader *r, struct split_io *out)
{
	*out = *r->io;
	if (r->remote)
		/* HTTP requests (a HEAD, retries) and response bytes, not units */
		split_remote_io(r->remote, &out->requests, &out->bytes);
}

struct trailer {
	uint64_t footer_len;
	uint32_t hot_len, meta_len, table_len, fcrc;
};

/* The trailer at tr, the last SPLIT_TRAILER_LEN bytes of the file. */
static int parse_trailer(const struct split_reader *r, const uint8_t *tr, struct trailer *t,
			 struct qw_err *err)
{
	uint32_t version, tcrc;
	struct cur c;

	if (memcmp(tr + 32, SPLIT_MAGIC, 8) != 0)
		return corrupt(r, err, -1, r->size - 8, "bad magic (not a split file)");
	cur_init(&c, tr, 32);
	t->footer_len = cur_u64le(&c);
	t->hot_len = cur_u32le(&c);
	t->meta_len = cur_u32le(&c);
	t->table_len = cur_u32le(&c);
	t->fcrc = cur_u32le(&c);
	version = cur_u32le(&c);
	tcrc = cur_u32le(&c);
	if (!crc_ok(checksum_crc32c(0, tr, 28), tcrc))
		return corrupt(r, err, -1, r->size - SPLIT_TRAILER_LEN, "trailer checksum mismatch");
	if (version != SPLIT_VERSION)
		return err_set(err, EX_DATAERR, "split '%s': unsupported format version %u", r->path,
			       version);
	if (t->footer_len > r->size || t->footer_len < SPLIT_TRAILER_LEN ||
	    (uint64_t)t->hot_len + t->meta_len + t->table_len + SPLIT_TRAILER_LEN != t->footer_len)
		return corrupt(r, err, -1, r->size - SPLIT_TRAILER_LEN, "bad footer length");
	return 0;
}

/* The footer (hotcache, metadata, section table, trailer) from the file:
 * one read of its tail, a second one only when the footer is longer. */
static int read_footer(struct split_reader *r, struct trailer *t, struct qw_err *err)
{
	uint64_t tail = r->size < SPLIT_TAIL_READ ? r->size : SPLIT_TAIL_READ;

	r->footer = xmalloc(tail);
	if (rread(r, r->footer, tail, r->size - tail, err) < 0 ||
	    parse_trailer(r, r->footer + tail - SPLIT_TRAILER_LEN, t, err) < 0)
		return -1;
	if (t->footer_len > tail) {
		free(r->footer);
		r->footer = xmalloc(t->footer_len);
		if (rread(r, r->footer, t->footer_len, r->size - t->footer_len, err) < 0)
			return -1;
	} else {
		memmove(r->footer, r->footer + (tail - t->footer_len), t->footer_len);
	}
	r->footer_len = t->footer_len;
	if (!crc_ok(checksum_crc32c(0, r->footer, t->footer_len - SPLIT_TRAILER_LEN), t->fcrc))
		return corrupt(r, err, -1, r->size - t->footer_len, "footer checksum mismatch");
	return 0;
}

/* The footer of an s3:// split from the local cache (split_cache.h): 1 on
 * a hit, 0 on a miss (a bad copy is removed and is a miss), -1 on error. */
static int cached_footer(struct split_reader *r, struct trailer *t, struct qw_err *err)
{
	struct qw_err ignore = QW_ERR_INIT;
	uint8_t *data;
	size_t len;
	int got = split_cache_footer_get(r->path, r->size, &data, &len, err);

	if (got <= 0)
		return got;
	if (len >= SPLIT_TRAILER_LEN &&
	    parse_trailer(r, data + len - SPLIT_TRAILER_LEN, t, &ignore) == 0 &&
	    t->footer_len == len &&
	    crc_ok(checksum_crc32c(0, data, len - SPLIT_TRAILER_LEN), t->fcrc)) {
		r->footer = data;
		r->footer_len = len;
		r->io->footer_cached = true;
		return 1;
	}
	free(data);
	split_cache_footer_drop(r->path, r->size);
	return 0;
}

struct split_reader *split_reader_open(const char *path, struct qw_err *err)
{
	return split_reader_open_opts(path, NULL, err);
}

struct split_reader *split_reader_open_opts(const char *path, const struct split_open_opts *o,
					    struct qw_err *err)
{
	struct split_reader *r = xcalloc(1, sizeof(*r));
	struct stat st;
	struct trailer t;
	uint64_t start;
	struct cur c;
	json_error_t jerr;
	int cached = 0;

	r->path = xstrdup(path);
	r->io = xcalloc(1, sizeof(*r->io));
	r->ds_cached = -1;
	r->fd = -1;
	if (split_cache_is_remote(path)) {
		/* an s3:// split read by range GETs (split_cache.h) */
		r->io->remote = true;
		r->remote = split_remote_open(path, o ? o->s3 : NULL, o ? o->size : 0, &r->size, err);
		if (!r->remote)
			goto fail;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
				  "cannot open split '%s'", path);
			goto fail;
		}
		if (fstat(r->fd, &st) < 0) {
			err_errno(err, EX_IOERR, "cannot stat split '%s'", path);
			goto fail;
		}
		r->size = (uint64_t)st.st_size;
	}
	if (r->size < SPLIT_TRAILER_LEN) {
		corrupt(r, err, -1, 0, "file too short for a split");
		goto fail;
	}
	if (r->remote && (cached = cached_footer(r, &t, err)) < 0)
		goto fail;
	if (!cached) {
		if (read_footer(r, &t, err) < 0)
			goto fail;
		if (r->remote) {
			struct qw_err ignore = QW_ERR_INIT;

			/* the cache only saves requests: a full disk must not fail a search */
			if (split_cache_footer_put(path, r->size, r->footer, r->footer_len, &ignore) < 0)
				errno = 0;
		}
	}
	start = r->size - t.footer_len;
	r->hot_off = start;
	r->hot_len = t.hot_len;
	/* section table */
	cur_init(&c, r->footer + t.hot_len + t.meta_len, t.table_len);
	if (cur_u32le(&c) != SEC_COUNT) {
		corrupt(r, err, -1, start + t.hot_len + t.meta_len, "bad section table");
		goto fail;
	}
	for (int i = 0; i < SEC_COUNT; i++) {
		uint8_t nl = cur_u8(&c);
		const uint8_t *name = cur_bytes(&c, nl);

		r->sec_off[i] = cur_u64le(&c);
		r->sec_len[i] = cur_u64le(&c);
		r->sec_crc[i] = cur_u32le(&c);
		if (c.bad || nl != strlen(split_section_names[i]) ||
		    memcmp(name, split_section_names[i], nl) != 0 || r->sec_off[i] > start ||
		    r->sec_len[i] > start - r->sec_off[i]) {
			corrupt(r, err, -1, start + t.hot_len + t.meta_len, "bad section table");
			goto fail;
		}
	}
	r->meta = json_loadb((const char *)r->footer + t.hot_len, t.meta_len, 0, &jerr);
	if (!json_is_object(r->meta)) {
		corrupt(r, err, -1, start + t.hot_len, "bad metadata JSON");
		goto fail;
	}
	if (parse_hotcache(r, r->footer, t.hot_len, err) < 0)
		goto fail;
	return r;
fail:
	split_reader_close(r);
	return NULL;
}

int split_reader_check_id(const struct split_reader *r, const char *id, struct qw_err *err)
{
	const char *got = json_string_value(json_object_get(r->meta, "split_id"));

	if (got && strcmp(got, id) == 0)
		return 0;
	return err_set(err, EX_DATAERR, "split '%s': file holds split '%.64s', not '%s'", r->path,
		       got ? got : "(none)", id);
}

json_t *split_reader_metadata(const struct split_reader *r)
{
	return r->meta;
}

uint32_t split_reader_num_docs(const struct split_reader *r)
{
	return r->num_docs;
}

bool split_reader_time_range(const struct split_reader *r, int64_t *min_us, int64_t *max_us)
{
	json_t *tr = json_object_get(r->meta, "time_range_us");
	json_t *s = json_object_get(tr, "start"), *e = json_object_get(tr, "end");

	if (!json_is_integer(s) || !json_is_integer(e))
		return false;
	*min_us = json_integer_value(s);
	*max_us = json_integer_value(e);
	return true;
}

size_t split_reader_num_fields(const struct split_reader *r)
{
	return r->nfields;
}

const struct split_field_info *split_reader_field(const struct split_reader *r, size_t i)
{
	return i < r->nfields ? &r->fields[i].info : NULL;
}

/* First field index with path >= path (fields are sorted by path, kind). */
static size_t lower_path(const struct split_reader *r, const char *path)
{
	size_t lo = 0, hi = r->nfields;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(r->fields[mid].info.path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int split_reader_find_field(const struct split_reader *r, const char *path, enum value_kind kind)
{
	for (size_t i = lower_path(r, path); i < r->nfields; i++) {
		if (strcmp(r->fields[i].info.path, path) != 0)
			break;
		if (r->fields[i].info.kind == kind)
			return (int)i;
	}
	return -1;
}

size_t split_reader_find_path(const struct split_reader *r, const char *path, int *out, size_t max)
{
	size_t n = 0;

	for (size_t i = lower_path(r, path); i < r->nfields; i++) {
		if (strcmp(r->fields[i].info.path, path) != 0)
			break;
		if (n < max)
			out[n] = (int)i;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ dictionary */

static int load_index(struct split_reader *r, struct rfield *f, struct qw_err *err)
{
	struct cur c;
	uint64_t off = 0, nterms = 0;
	bool bad = false;

	if (f->blocks)
		return 0;
	f->idx_buf = rd_crc(r, SEC_TERMS, f->idx_off, f->idx_len, f->idx_crc, err);
	if (!f->idx_buf)
		return -1;
	f->blocks = xcalloc(f->nblocks, sizeof(*f->blocks));
	cur_init(&c, f->idx_buf, f->idx_len);
	for (uint64_t i = 0; i < f->nblocks; i++) {
		struct dblk *b = &f->blocks[i];
		uint64_t fl = cur_varint(&c);

		b->first = cur_bytes(&c, fl);
		b->first_len = (uint32_t)fl;
		b->len = cur_varint(&c);
		b->raw_len = cur_varint(&c);
		b->crc = cur_u32le(&c);
		b->post_off = cur_varint(&c);
		b->pos_off = cur_varint(&c);
		b->nterms = cur_varint32(&c);
		b->off = off;
		off += b->len;
		nterms += b->nterms;
		if (c.bad || b->len > f->dict_len || off > f->dict_len || b->nterms == 0 ||
		    b->post_off > f->post_len || b->pos_off > f->pos_len || b->raw_len > MAX_UNIT) {
			bad = true;
			break;
		}
	}
	if (bad || c.bad || off != f->dict_len || nterms != f->info.num_terms || cur_left(&c) != 0) {
		free(f->blocks);
		free(f->idx_buf);
		f->blocks = NULL;
		f->idx_buf = NULL;
		return corrupt(r, err, SEC_TERMS, f->idx_off, "bad term dictionary index");
	}
	return 0;
}

static int cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return al < bl ? -1 : (al > bl);
}

/* Decoder of one dictionary block. */
struct blkdec {
	struct split_reader *r;
	const struct rfield *f;
	uint32_t field;
	uint8_t *data;
	struct cur c;
	uint64_t blk_off, bi;
	uint32_t left;
	struct buf term;
	uint64_t post_off, pos_off;
	bool numkey;             /* 8-byte keys coded as differences */
	uint64_t prev_key;
	uint32_t prev_first;     /* first doc of the previous inline postings */
};

static int blkdec_load(struct blkdec *d, uint64_t bi, struct qw_err *err)
{
	const struct dblk *b = &d->f->blocks[bi];

	free(d->data);
	d->data = rd_crc(d->r, SEC_TERMS, d->f->dict_off + b->off, b->len, b->crc, err);
	if (!d->data)
		return -1;
	if (b->raw_len && inflate_unit(d->r, SEC_TERMS, d->f->dict_off + b->off, &d->data, b->len,
				       b->raw_len, err) < 0) {
		free(d->data);
		d->data = NULL;
		return -1;
	}
	cur_init(&d->c, d->data, b->raw_len ? b->raw_len : b->len);
	d->blk_off = d->f->dict_off + b->off;
	d->bi = bi;
	d->left = b->nterms;
	d->numkey = d->f->info.kind == VK_I64 || d->f->info.kind == VK_U64 ||
		    d->f->info.kind == VK_F64 || d->f->info.kind == VK_DATETIME;
	d->prev_key = 0;
	d->prev_first = 0;
	buf_reset(&d->term);
	d->post_off = b->post_off;
	d->pos_off = b->pos_off;
	return 0;
}

/* 1 term decoded, 0 block done, -1 error. */
static int blkdec_next(struct blkdec *d, struct split_term_info *ti, struct qw_err *err)
{
	struct cur *c = &d->c;
	const struct rfield *f = d->f;
	uint64_t sh, sl;
	const uint8_t *suf;

	if (d->left == 0)
		return 0;
	if (d->numkey) {
		uint64_t dk = cur_varint(c);
		uint8_t kb[8];

		if (c->bad || dk > UINT64_MAX - d->prev_key)
			goto bad;
		d->prev_key += dk;
		termkey_put(d->prev_key, kb);
		buf_reset(&d->term);
		buf_add(&d->term, kb, 8);
	} else {
		sh = cur_varint(c);
		sl = cur_varint(c);
		if (c->bad || sh > d->term.len)
			goto bad;
		suf = cur_bytes(c, sl);
		if (c->bad)
			goto bad;
		buf_truncate(&d->term, sh);
		buf_add(&d->term, suf, sl);
	}
	memset(ti, 0, sizeof(*ti));
	ti->field = d->field;
	ti->doc_freq = cur_varint32(c);
	ti->total_freq = ti->doc_freq;
	if (f->info.record >= RECORD_FREQ)
		ti->total_freq += cur_varint(c);
	if (ti->doc_freq == 0 || ti->doc_freq > d->r->num_docs)
		goto bad;
	if (ti->doc_freq < SPLIT_BLOCK) {
		/* postings (and positions) inline: where they are in the raw block */
		uint64_t n = cur_varint(c), z;
		const uint8_t *q = cur_bytes(c, n);
		struct cur ic;
		int64_t first;

		if (c->bad || n == 0)
			goto bad;
		/* the first doc: zigzag difference from the previous inline first doc */
		cur_init(&ic, q, n);
		z = cur_varint(&ic);
		/* bound z before the arithmetic: |delta| <= UINT32_MAX cannot overflow */
		if (ic.bad || z > 2ULL * UINT32_MAX)
			goto bad;
		first = (int64_t)d->prev_first + ((z & 1) ? -(int64_t)((z + 1) >> 1) : (int64_t)(z >> 1));
		if (first < 0 || first >= (int64_t)d->r->num_docs)
			goto bad;
		d->prev_first = (uint32_t)first;
		ti->inline_first = (uint32_t)first;
		ti->inline_blk = d->bi;
		ti->inline_off = (uint64_t)(ic.p - d->data);
		ti->inline_len = cur_left(&ic);
		if (f->info.record == RECORD_POSITION) {
			n = cur_varint(c);
			q = cur_bytes(c, n);
			if (c->bad)
				goto bad;
			ti->inline_pos_off = (uint64_t)(q - d->data);
			ti->inline_pos_len = n;
		}
	} else {
		uint64_t pl = cur_varint(c);

		if (pl == 0) {
			/* the same list as an earlier term of the field */
			uint64_t ro = cur_varint(c);

			pl = cur_varint(c);
			if (c->bad || ro > d->post_off || pl > d->post_off - ro || pl < 4)
				goto bad;
			ti->postings_off = f->post_base + ro;
		} else {
			if (pl > f->post_len - d->post_off || pl < 4)
				goto bad;
			ti->postings_off = f->post_base + d->post_off;
			d->post_off += pl;
		}
		ti->postings_len = pl;
		ti->postings_raw = cur_varint(c);
		if (ti->postings_raw > MAX_UNIT || (ti->postings_raw && ti->postings_raw < 4))
			goto bad;
	}
	if (f->info.record == RECORD_POSITION && ti->doc_freq >= SPLIT_BLOCK) {
		uint64_t pl = cur_varint(c);

		if (pl > f->pos_len - d->pos_off || pl < 4)
			goto bad;
		ti->positions_off = f->pos_base + d->pos_off;
		ti->positions_len = pl;
		ti->positions_raw = cur_varint(c);
		if (ti->positions_raw > MAX_UNIT)
			goto bad;
		d->pos_off += pl;
	}
	if (c->bad)
		goto bad;
	d->left--;
	if (d->left == 0 && cur_left(c) != 0)
		goto bad;
	return 1;
bad:
	return corrupt(d->r, err, SEC_TERMS, d->blk_off + (uint64_t)(c->p - d->data),
		       "bad term dictionary block");
}

static void blkdec_free(struct blkdec *d)
{
	free(d->data);
	buf_free(&d->term);
}

/* Index of the last block whose first term <= term, or -1. */
static int64_t find_block(const struct rfield *f, const uint8_t *term, size_t len)
{
	uint64_t lo = 0, hi = f->nblocks;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (cmp_bytes(f->blocks[mid].first, f->blocks[mid].first_len, term, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int64_t)lo - 1;
}

static struct rfield *indexed_field(struct split_reader *r, int field, struct qw_err *err)
{
	if (field < 0 || (size_t)field >= r->nfields) {
		err_set(err, EX_SOFTWARE, "split '%s': no field %d", r->path, field);
		return NULL;
	}
	return &r->fields[field];
}

int split_reader_term_lookup(struct split_reader *r, int field, const void *term, size_t len,
			     struct split_term_info *ti, struct qw_err *err)
{
	struct rfield *f = indexed_field(r, field, err);
	struct blkdec d;
	int64_t bi;
	int ret = -1, k;

	if (!f)
		return -1;
	if (!f->info.indexed)
		return 0;
	if (load_index(r, f, err) < 0)
		return -1;
	bi = find_block(f, term, len);
	if (bi < 0)
		return 0;
	memset(&d, 0, sizeof(d));
	d.r = r;
	d.f = f;
	d.field = (uint32_t)field;
	if (blkdec_load(&d, (uint64_t)bi, err) < 0)
		goto out;
	ret = 0;
	while ((k = blkdec_next(&d, ti, err)) == 1) {
		int c = cmp_bytes((const uint8_t *)d.term.data, d.term.len, term, len);

		if (c == 0) {
			ret = 1;
			break;
		}
		if (c > 0)
			break;
	}
	if (k < 0)
		ret = -1;
	if (ret == 1 && ti->doc_freq < SPLIT_BLOCK && d.data) {
		/* the postings are in this block: keep it for split_postings_open */
		free(r->dc_data);
		r->dc_data = d.data;
		r->dc_len = (uint64_t)(d.c.end - d.data);
		r->dc_field = f;
		r->dc_bi = (uint64_t)bi;
		d.data = NULL;
	}
out:
	blkdec_free(&d);
	return ret;
}

struct split_terms {
	struct blkdec d;
	uint64_t bi;             /* block being decoded */
	bool done;
};

struct split_terms *split_terms_open(struct split_reader *r, int field, const void *lower,
				     size_t lower_len, struct qw_err *err)
{
	struct rfield *f = indexed_field(r, field, err);
	struct split_terms *it;
	int64_t bi = 0;

	if (!f)
		return NULL;
	it = xcalloc(1, sizeof(*it));
	it->d.r = r;
	it->d.f = f;
	it->d.field = (uint32_t)field;
	if (!f->info.indexed) {
		it->done = true;
		return it;
	}
	if (load_index(r, f, err) < 0)
		goto fail;
	if (lower && lower_len) {
		bi = find_block(f, lower, lower_len);
		if (bi < 0)
			bi = 0;
	}
	it->bi = (uint64_t)bi;
	if (blkdec_load(&it->d, it->bi, err) < 0)
		goto fail;
	if (lower && lower_len) {
		/* position before the first term >= lower: decode into a scratch copy */
		for (;;) {
			struct cur save = it->d.c;
			uint32_t left = it->d.left, pf = it->d.prev_first;
			uint64_t pk = it->d.prev_key;
			uint64_t po = it->d.post_off, xo = it->d.pos_off;
			size_t tl = it->d.term.len;
			struct split_term_info ti;
			int k = blkdec_next(&it->d, &ti, err);

			if (k < 0)
				goto fail;
			if (k == 0) {
				if (it->bi + 1 >= f->nblocks) {
					it->done = true;
					break;
				}
				it->bi++;
				if (blkdec_load(&it->d, it->bi, err) < 0)
					goto fail;
				continue;
			}
			if (cmp_bytes((const uint8_t *)it->d.term.data, it->d.term.len, lower,
				      lower_len) >= 0) {
				/* rewind this one term; term bytes before it are a prefix we keep */
				it->d.c = save;
				it->d.left = left;
				it->d.prev_first = pf;
				it->d.prev_key = pk;
				it->d.post_off = po;
				it->d.pos_off = xo;
				buf_truncate(&it->d.term, tl);
				/* the truncated term must hold the previous term: re-decode keeps it
				 * valid because shared prefixes only read its first bytes */
				break;
			}
		}
	}
	return it;
fail:
	split_terms_free(it);
	return NULL;
}

int split_terms_next(struct split_terms *it, const uint8_t **term, size_t *len,
		     struct split_term_info *ti, struct qw_err *err)
{
	for (;;) {
		int k;

		if (it->done)
			return 0;
		k = blkdec_next(&it->d, ti, err);
		if (k < 0)
			return -1;
		if (k == 1) {
			*term = (const uint8_t *)(it->d.term.data ? it->d.term.data : "");
			*len = it->d.term.len;
			return 1;
		}
		if (it->bi + 1 >= it->d.f->nblocks) {
			it->done = true;
			return 0;
		}
		it->bi++;
		if (blkdec_load(&it->d, it->bi, err) < 0)
			return -1;
	}
}

void split_terms_free(struct split_terms *it)
{
	if (!it)
		return;
	blkdec_free(&it->d);
	free(it);
}

/* ------------------------------------------------------------ postings */

struct pblk {
	uint32_t last_doc;
	uint8_t wd, wf;
	uint64_t data_off;
	uint64_t pos_off;
};

struct split_postings {
	struct split_reader *r;
	uint32_t df;
	bool freqs, want_pos;
	uint8_t *buf;            /* postings list without its CRC */
	uint64_t len;
	uint64_t list_off;       /* in the postings section, for messages */
	struct pblk *blks;
	uint32_t nfull;
	uint64_t tail_off, tail_pos_off;
	uint32_t docs[SPLIT_BLOCK], tfs[SPLIT_BLOCK];
	uint32_t n_in_buf, idx;
	int64_t cur_block;       /* -1 before the first; nfull = the tail */
	uint32_t doc;
	/* positions */
	uint8_t *pbuf;
	uint64_t plen, pos_start_off;
	struct cur pc;
	uint32_t pc_idx;
	uint32_t *posv;
	uint32_t posv_cap, posv_n;
	int64_t posv_for;        /* block * 256 + idx the positions belong to, -1 */
};

void split_postings_free(struct split_postings *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p->blks);
	free(p->pbuf);
	free(p->posv);
	free(p);
}

static int pcorrupt(struct split_postings *p, struct qw_err *err, const char *what)
{
	return corrupt(p->r, err, SEC_POSTINGS, p->list_off, what);
}

/*
 * The raw bytes of dictionary block bi of field f, through a one-block cache
 * of the reader (postings of rare terms live in their dictionary block).
 * Valid until the next call.
 */
static int dict_block_raw(struct split_reader *r, const struct rfield *f, uint64_t bi,
			  const uint8_t **data, uint64_t *len, struct qw_err *err)
{
	const struct dblk *b;
	uint8_t *p;

	if (!f->blocks || bi >= f->nblocks)
		return corrupt(r, err, SEC_TERMS, f->dict_off, "bad term info");
	b = &f->blocks[bi];
	if (r->dc_data && r->dc_field == f && r->dc_bi == bi) {
		*data = r->dc_data;
		*len = r->dc_len;
		return 0;
	}
	p = rd_crc(r, SEC_TERMS, f->dict_off + b->off, b->len, b->crc, err);
	if (!p)
		return -1;
	if (b->raw_len && inflate_unit(r, SEC_TERMS, f->dict_off + b->off, &p, b->len, b->raw_len,
				       err) < 0) {
		free(p);
		return -1;
	}
	free(r->dc_data);
	r->dc_data = p;
	r->dc_len = b->raw_len ? b->raw_len : b->len;
	r->dc_field = f;
	r->dc_bi = bi;
	*data = p;
	*len = r->dc_len;
	return 0;
}

struct split_postings *split_postings_open(struct split_reader *r, const struct split_term_info *ti,
					   bool want_positions, struct qw_err *err)
{
	struct split_postings *p;
	const struct rfield *f;
	struct cur c;
	uint64_t data = 0, pos = 0;
	int64_t prev = -1;

	if (ti->field >= r->nfields) {
		err_set(err, EX_SOFTWARE, "split '%s': bad term info", r->path);
		return NULL;
	}
	f = &r->fields[ti->field];
	if (want_positions && f->info.record != RECORD_POSITION) {
		err_set(err, EX_USAGE, "field '%s' is not indexed with positions", f->info.path);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->r = r;
	p->df = ti->doc_freq;
	p->freqs = f->info.record >= RECORD_FREQ;
	p->want_pos = want_positions;
	p->cur_block = -1;
	p->doc = SPLIT_DOC_END;
	p->posv_for = -1;
	p->list_off = ti->postings_off;
	if (p->df == 0 || p->df > r->num_docs) {
		pcorrupt(p, err, "bad doc frequency");
		goto fail;
	}
	if (p->df < SPLIT_BLOCK) {
		/* inline in a dictionary block: a tail only */
		const uint8_t *blk = NULL;
		uint64_t blen = 0;

		if (dict_block_raw(r, f, ti->inline_blk, &blk, &blen, err) < 0)
			goto fail;
		if (ti->inline_off > blen || ti->inline_len > blen - ti->inline_off ||
		    (want_positions && (ti->inline_pos_off > blen ||
					ti->inline_pos_len > blen - ti->inline_pos_off))) {
			pcorrupt(p, err, "bad inline postings");
			goto fail;
		}
		/* a tail list: the first doc (from -1), then the stored rest */
		p->buf = xmalloc(ti->inline_len + 10 + BITPACK_PAD + 1);
		{
			uint32_t v = ti->inline_first;
			uint64_t k = 0;

			while (v >= 0x80) {
				p->buf[k++] = (uint8_t)(v | 0x80);
				v >>= 7;
			}
			p->buf[k++] = (uint8_t)v;
			memcpy(p->buf + k, blk + ti->inline_off, ti->inline_len);
			p->len = k + ti->inline_len;
		}
		if (want_positions) {
			p->pbuf = xmalloc(ti->inline_pos_len + BITPACK_PAD + 1);
			memcpy(p->pbuf, blk + ti->inline_pos_off, ti->inline_pos_len);
			p->plen = ti->inline_pos_len;
		}
	} else {
		if (ti->postings_len < 4) {
			pcorrupt(p, err, "postings list too short");
			goto fail;
		}
		p->buf = rd(r, SEC_POSTINGS, ti->postings_off, ti->postings_len, err);
		if (!p->buf)
			goto fail;
		p->len = ti->postings_len - 4;
		if (ti->postings_raw) {
			if (inflate_unit(r, SEC_POSTINGS, ti->postings_off, &p->buf, ti->postings_len,
					 ti->postings_raw, err) < 0)
				goto fail;
			p->len = ti->postings_raw - 4;
		}
		cur_init(&c, p->buf + p->len, 4);
		if (!crc_ok(checksum_crc32c(0, p->buf, p->len), cur_u32le(&c))) {
			pcorrupt(p, err, "checksum mismatch");
			goto fail;
		}
		p->nfull = p->df / SPLIT_BLOCK;
		p->blks = xcalloc(p->nfull ? p->nfull : 1, sizeof(*p->blks));
		cur_init(&c, p->buf, p->len);
		for (uint32_t b = 0; b < p->nfull; b++) {
			uint64_t d = cur_varint(&c);

			if (d < SPLIT_BLOCK || d > (uint64_t)r->num_docs) {
				pcorrupt(p, err, "bad skip entry");
				goto fail;
			}
			prev += (int64_t)d;
			if (prev >= (int64_t)r->num_docs) {
				pcorrupt(p, err, "bad skip entry");
				goto fail;
			}
			p->blks[b].last_doc = (uint32_t)prev;
			p->blks[b].wd = cur_u8(&c);
			if (p->freqs)
				p->blks[b].wf = cur_u8(&c);
			if (f->info.record == RECORD_POSITION) {
				p->blks[b].pos_off = pos;
				pos += cur_varint(&c);
			}
			if (p->blks[b].wd > 32 || p->blks[b].wf > 32) {
				pcorrupt(p, err, "bad bit width");
				goto fail;
			}
			p->blks[b].data_off = data;
			data += 16u * p->blks[b].wd + 16u * p->blks[b].wf;
		}
		if (c.bad || data > cur_left(&c)) {
			pcorrupt(p, err, "bad skip list");
			goto fail;
		}
		for (uint32_t b = 0; b < p->nfull; b++)
			p->blks[b].data_off += (uint64_t)(c.p - p->buf);
		p->tail_off = (uint64_t)(c.p - p->buf) + data;
		p->tail_pos_off = pos;
	}
	if (want_positions && p->df >= SPLIT_BLOCK) {
		p->pbuf = rd(r, SEC_POSITIONS, ti->positions_off, ti->positions_len, err);
		if (!p->pbuf)
			goto fail;
		if (ti->positions_len < 4) {
			corrupt(r, err, SEC_POSITIONS, ti->positions_off, "positions list too short");
			goto fail;
		}
		p->plen = ti->positions_len - 4;
		cur_init(&c, p->pbuf + p->plen, 4);
		if (!crc_ok(checksum_crc32c(0, p->pbuf, p->plen), cur_u32le(&c))) {
			corrupt(r, err, SEC_POSITIONS, ti->positions_off, "checksum mismatch");
			goto fail;
		}
		if (ti->positions_raw) {
			if (inflate_unit(r, SEC_POSITIONS, ti->positions_off, &p->pbuf, p->plen,
					 ti->positions_raw, err) < 0)
				goto fail;
			p->plen = ti->positions_raw;
		}
		if (p->tail_pos_off > p->plen) {
			corrupt(r, err, SEC_POSITIONS, ti->positions_off, "bad positions length");
			goto fail;
		}
	}
	return p;
fail:
	split_postings_free(p);
	return NULL;
}

/* Decode block b (nfull = the tail) into docs/tfs. */
static int load_block(struct split_postings *p, int64_t b, struct qw_err *err)
{
	int64_t prev = b == 0 ? -1 : (int64_t)p->blks[b - 1].last_doc;

	p->cur_block = b;
	p->idx = 0;
	if (b < p->nfull) {
		const struct pblk *k = &p->blks[b];
		const uint8_t *d = p->buf + k->data_off;

		bitpack_unpack32(d, k->wd, p->docs, SPLIT_BLOCK);
		for (int i = 0; i < SPLIT_BLOCK; i++) {
			prev += (int64_t)p->docs[i] + 1;
			p->docs[i] = (uint32_t)prev;
		}
		if (prev != k->last_doc)
			return pcorrupt(p, err, "block does not match its skip entry");
		if (p->freqs) {
			bitpack_unpack32(d + 16u * k->wd, k->wf, p->tfs, SPLIT_BLOCK);
			for (int i = 0; i < SPLIT_BLOCK; i++) {
				if (p->tfs[i] == UINT32_MAX)
					return pcorrupt(p, err, "bad term frequency");
				p->tfs[i]++;
			}
		} else {
			for (int i = 0; i < SPLIT_BLOCK; i++)
				p->tfs[i] = 1;
		}
		p->n_in_buf = SPLIT_BLOCK;
		if (p->want_pos) {
			if (k->pos_off > p->plen)
				return corrupt(p->r, err, SEC_POSITIONS, 0, "bad positions offset");
			cur_init(&p->pc, p->pbuf + k->pos_off, p->plen - k->pos_off);
		}
	} else {
		struct cur c;
		uint32_t n = p->df - p->nfull * SPLIT_BLOCK;

		cur_init(&c, p->buf + p->tail_off, p->len - p->tail_off);
		for (uint32_t i = 0; i < n; i++) {
			prev += (int64_t)cur_varint32(&c) + 1;
			p->docs[i] = (uint32_t)prev;
			p->tfs[i] = 1 + (p->freqs ? cur_varint32(&c) : 0);
			if (prev >= (int64_t)p->r->num_docs || p->tfs[i] == 0)
				return pcorrupt(p, err, "bad postings tail");
		}
		if (c.bad || cur_left(&c) != 0)
			return pcorrupt(p, err, "bad postings tail");
		p->n_in_buf = n;
		if (p->want_pos)
			cur_init(&p->pc, p->pbuf + p->tail_pos_off, p->plen - p->tail_pos_off);
	}
	if (p->n_in_buf && p->docs[p->n_in_buf - 1] >= p->r->num_docs)
		return pcorrupt(p, err, "doc id out of range");
	p->pc_idx = 0;
	p->posv_for = -1;
	return 0;
}

static int next_block(struct split_postings *p, int64_t b, uint32_t *doc, struct qw_err *err)
{
	if (b > p->nfull || (b == p->nfull && p->df % SPLIT_BLOCK == 0)) {
		p->cur_block = p->nfull + 1;
		p->n_in_buf = 0;
		p->doc = SPLIT_DOC_END;
		*doc = SPLIT_DOC_END;
		return 0;
	}
	if (load_block(p, b, err) < 0)
		return -1;
	p->doc = p->docs[0];
	*doc = p->doc;
	return 0;
}

int split_postings_next(struct split_postings *p, uint32_t *doc, struct qw_err *err)
{
	if (p->cur_block >= 0 && p->idx + 1 < p->n_in_buf) {
		p->idx++;
		p->doc = p->docs[p->idx];
		*doc = p->doc;
		return 0;
	}
	if (p->cur_block > p->nfull) {
		*doc = SPLIT_DOC_END;
		return 0;
	}
	return next_block(p, p->cur_block + 1, doc, err);
}

int split_postings_advance(struct split_postings *p, uint32_t target, uint32_t *doc,
			   struct qw_err *err)
{
	int64_t b;

	if (p->cur_block >= 0 && p->doc != SPLIT_DOC_END && p->doc >= target) {
		*doc = p->doc;
		return 0;
	}
	if (p->cur_block > p->nfull) {
		*doc = SPLIT_DOC_END;
		return 0;
	}
	/* within the current block */
	if (p->cur_block >= 0 && p->n_in_buf && p->docs[p->n_in_buf - 1] >= target) {
		while (p->docs[p->idx] < target)
			p->idx++;
		p->doc = p->docs[p->idx];
		*doc = p->doc;
		return 0;
	}
	b = p->cur_block + 1;
	while (b < p->nfull && p->blks[b].last_doc < target)
		b++;
	for (;;) {
		if (next_block(p, b, doc, err) < 0)
			return -1;
		if (*doc == SPLIT_DOC_END)
			return 0;
		if (p->docs[p->n_in_buf - 1] >= target)
			break;
		b++;
	}
	while (p->docs[p->idx] < target)
		p->idx++;
	p->doc = p->docs[p->idx];
	*doc = p->doc;
	return 0;
}

uint32_t split_postings_doc(const struct split_postings *p)
{
	return p->cur_block < 0 ? SPLIT_DOC_END : p->doc;
}

uint32_t split_postings_freq(const struct split_postings *p)
{
	if (p->cur_block < 0 || p->doc == SPLIT_DOC_END)
		return 0;
	return p->tfs[p->idx];
}

int split_postings_positions(struct split_postings *p, const uint32_t **pos, uint32_t *n,
			     struct qw_err *err)
{
	int64_t key;
	uint32_t tf, v = 0;

	*pos = NULL;
	*n = 0;
	if (!p->want_pos)
		return err_set(err, EX_SOFTWARE, "positions were not requested");
	if (p->cur_block < 0 || p->doc == SPLIT_DOC_END)
		return 0;
	key = p->cur_block * 256 + p->idx;
	if (key == p->posv_for) {
		*pos = p->posv;
		*n = p->posv_n;
		return 0;
	}
	while (p->pc_idx < p->idx && !p->pc.bad) {
		for (uint32_t k = 0; k < p->tfs[p->pc_idx] && !p->pc.bad; k++)
			(void)cur_varint(&p->pc);
		p->pc_idx++;
	}
	tf = p->tfs[p->idx];
	/* each position takes at least one byte: a corrupt tf cannot size the buffer */
	if (p->pc.bad || tf > cur_left(&p->pc))
		return corrupt(p->r, err, SEC_POSITIONS, 0, "bad positions list");
	if (tf > p->posv_cap) {
		p->posv_cap = tf;
		p->posv = xreallocarray(p->posv, tf, sizeof(*p->posv));
	}
	for (uint32_t k = 0; k < tf; k++) {
		uint64_t d = cur_varint(&p->pc);

		if (d > UINT32_MAX - v)
			p->pc.bad = true;
		v += (uint32_t)d;
		p->posv[k] = v;
	}
	p->pc_idx = p->idx + 1;
	if (p->pc.bad)
		return corrupt(p->r, err, SEC_POSITIONS, 0, "bad positions list");
	p->posv_for = key;
	p->posv_n = tf;
	*pos = p->posv;
	*n = tf;
	return 0;
}

/* ------------------------------------------------------------ fast columns */

struct split_column {
	uint8_t *buf;
	uint64_t len;
	bool dict, multi;
	uint8_t pres;
	uint32_t nd;
	uint64_t nv, npres, nwords;
	unsigned row_bits, bits, off_bits, doc_bits, tab_bits;
	const uint8_t *rows, *vals, *offs, *blob, *words, *ranks, *pdocs, *tab;
	uint32_t *wrank;         /* dense presence: docs present before each word */
	uint64_t min, max, gcd;
	uint64_t nterms, blob_len;
	uint8_t vcodec;          /* COL_VALS_* */
	uint64_t ntab;           /* table codec: distinct values */
	uint64_t nblk;           /* blocks codec: per block base, width, data offset */
	uint64_t *blk_base, *blk_off;
	uint8_t *blk_w;
	/* COL_DICT_TERMS: the terms, read from the term dictionary on first use */
	struct split_reader *r;
	int field;
	bool terms_dict, terms_loaded, terms_failed;
	uint8_t *tblob;
	uint64_t *toffs;
};

static const uint8_t *packed(struct cur *c, uint64_t n, unsigned *bits);

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/*
 * Dense presence: the rank of the first doc of each 64-doc word, so that a
 * doc's rank is one popcount (the file's ranks every 512 docs would need up
 * to 8). False when the bitset does not hold npres docs below nd or
 * disagrees with the file's ranks.
 */
static bool column_word_ranks(struct split_column *col)
{
	uint64_t cnt = 0, last;

	col->wrank = xreallocarray(NULL, col->nwords ? col->nwords : 1, sizeof(*col->wrank));
	for (uint64_t w = 0; w < col->nwords; w++) {
		if (w % 8 == 0) {
			const uint8_t *rp = col->ranks + (w / 8) * 4;

			if (((uint64_t)rp[0] | (uint64_t)rp[1] << 8 | (uint64_t)rp[2] << 16 |
			     (uint64_t)rp[3] << 24) != cnt)
				return false;
		}
		col->wrank[w] = (uint32_t)cnt;
		cnt += (uint64_t)__builtin_popcountll(le64(col->words + w * 8));
	}
	if (col->nwords && col->nd % 64) {
		last = le64(col->words + (col->nwords - 1) * 8);
		if (last >> (col->nd % 64))
			return false;
	}
	return cnt == col->npres;
}

/* The values part of a column (qw-split(5)); false when malformed. */
static bool column_values(struct cur *c, struct split_column *col)
{
	uint64_t data = 0;

	col->vcodec = cur_u8(c);
	switch (col->vcodec) {
	case COL_VALS_PACKED:
		col->vals = packed(c, col->nv, &col->bits);
		return !c->bad;
	case COL_VALS_TABLE:
		col->ntab = cur_varint(c);
		if (c->bad || col->ntab == 0 || col->ntab > col->nv)
			return false;
		col->tab = packed(c, col->ntab, &col->tab_bits);
		col->vals = packed(c, col->nv, &col->bits);
		return !c->bad;
	case COL_VALS_BLOCKS:
		col->nblk = cur_varint(c);
		/*
		 * nv is bounded as packed() bounds it, nblk computed without the
		 * wrap of nv + 127, and each block takes at least two bytes (a
		 * base varint and a width), so a corrupt count cannot make us
		 * allocate more than the column's size.
		 */
		if (c->bad || col->nv > (1ULL << 40) ||
		    col->nblk != col->nv / COL_VAL_BLOCK + (col->nv % COL_VAL_BLOCK != 0) ||
		    col->nblk > cur_left(c) / 2)
			return false;
		col->blk_base = xcalloc(col->nblk ? col->nblk : 1, sizeof(*col->blk_base));
		col->blk_off = xcalloc(col->nblk ? col->nblk : 1, sizeof(*col->blk_off));
		col->blk_w = xcalloc(col->nblk ? col->nblk : 1, 1);
		for (uint64_t b = 0; b < col->nblk; b++) {
			uint64_t cnt = b + 1 < col->nblk ? COL_VAL_BLOCK : col->nv - b * COL_VAL_BLOCK;

			col->blk_base[b] = cur_varint(c);
			col->blk_w[b] = cur_u8(c);
			if (c->bad || col->blk_w[b] > 64)
				return false;
			col->blk_off[b] = data;
			data += bitpack_bytes(cnt, col->blk_w[b]);
		}
		col->vals = cur_bytes(c, data + BITPACK_PAD);
		return !c->bad;
	default:
		return false;
	}
}

/* Check a bit-packed region of n values and skip it. */
static const uint8_t *packed(struct cur *c, uint64_t n, unsigned *bits)
{
	*bits = cur_u8(c);
	if (c->bad || *bits > 64 || n > (1ULL << 40))
		return c->bad = true, NULL;
	return cur_bytes(c, bitpack_bytes(n, *bits) + BITPACK_PAD);
}

struct split_column *split_column_open(struct split_reader *r, int field, struct qw_err *err)
{
	struct rfield *f = indexed_field(r, field, err);
	struct split_column *col;
	struct cur c;

	if (!f)
		return NULL;
	if (!f->info.fast) {
		err_set(err, EX_USAGE, "field '%s' is not a fast field", f->info.path);
		return NULL;
	}
	col = xcalloc(1, sizeof(*col));
	col->buf = rd_crc(r, SEC_FAST, f->col_off, f->col_len, f->col_crc, err);
	if (!col->buf)
		goto fail;
	col->len = f->col_len;
	if (f->col_raw) {
		if (inflate_unit(r, SEC_FAST, f->col_off, &col->buf, f->col_len, f->col_raw, err) < 0)
			goto fail;
		col->len = f->col_raw;
	}
	cur_init(&c, col->buf, col->len);
	col->dict = cur_u8(&c) == COL_DICT;
	col->nd = cur_varint32(&c);
	col->nv = cur_varint(&c);
	col->npres = cur_varint(&c);
	col->pres = cur_u8(&c);
	if (c.bad || col->nd != r->num_docs || col->npres > col->nd || col->npres > col->nv ||
	    (col->nv > 0 && col->npres == 0))
		goto bad;
	switch (col->pres) {
	case COL_PRES_FULL:
		if (col->npres != col->nd)
			goto bad;
		break;
	case COL_PRES_SPARSE:
		col->pdocs = packed(&c, col->npres, &col->doc_bits);
		break;
	case COL_PRES_DENSE:
		col->nwords = ((uint64_t)col->nd + 63) / 64;
		col->words = cur_bytes(&c, col->nwords * 8);
		col->ranks = cur_bytes(&c, (col->nwords + 7) / 8 * 4);
		if (c.bad || !column_word_ranks(col))
			goto bad;
		break;
	default:
		goto bad;
	}
	col->multi = cur_u8(&c) == 1;
	if (col->multi)
		col->rows = packed(&c, col->npres + 1, &col->row_bits);
	else if (col->nv != col->npres)
		goto bad;
	col->min = cur_varint(&c);
	col->max = cur_varint(&c);
	col->gcd = cur_varint(&c);
	if (c.bad || !column_values(&c, col) || col->gcd == 0 || col->min > col->max)
		goto bad;
	if (col->dict) {
		uint8_t src = cur_u8(&c);

		col->nterms = cur_varint(&c);
		if (src == COL_DICT_TERMS) {
			if (!f->info.indexed || col->nterms != f->info.num_terms)
				goto bad;
			col->terms_dict = true;
			col->r = r;
			col->field = field;
		} else if (src == COL_DICT_OWN) {
			col->offs = packed(&c, col->nterms + 1, &col->off_bits);
			col->blob_len = cur_varint(&c);
			col->blob = cur_bytes(&c, col->blob_len);
		} else {
			goto bad;
		}
		if (c.bad || (col->nv && col->max >= col->nterms))
			goto bad;
	}
	if (c.bad || cur_left(&c) != 0)
		goto bad;
	return col;
bad:
	corrupt(r, err, SEC_FAST, f->col_off + (uint64_t)(c.p - col->buf), "bad fast column");
fail:
	split_column_free(col);
	return NULL;
}

void split_column_free(struct split_column *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c->blk_base);
	free(c->blk_off);
	free(c->blk_w);
	free(c->tblob);
	free(c->toffs);
	free(c->wrank);
	free(c);
}

bool split_column_is_dict(const struct split_column *c)
{
	return c->dict;
}

uint32_t split_column_num_docs(const struct split_column *c)
{
	return c->nd;
}

bool split_column_single_valued(const struct split_column *c)
{
	return c->pres == COL_PRES_FULL && !c->multi;
}

/* Rank of doc among the docs with values; false when doc has none. */
static bool column_rank(const struct split_column *c, uint32_t doc, uint64_t *rank)
{
	switch (c->pres) {
	case COL_PRES_FULL:
		*rank = doc;
		return true;
	case COL_PRES_SPARSE: {
		uint64_t lo = 0, hi = c->npres;

		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (bitpack_get(c->pdocs, c->doc_bits, mid) < doc)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->npres && bitpack_get(c->pdocs, c->doc_bits, lo) == doc) {
			*rank = lo;
			return true;
		}
		return false;
	}
	default: {
		uint64_t w = doc >> 6, word = le64(c->words + w * 8);

		if (!(word & (1ULL << (doc & 63))))
			return false;
		*rank = c->wrank[w] + (uint64_t)__builtin_popcountll(word & ((1ULL << (doc & 63)) - 1));
		return true;
	}
	}
}

void split_column_doc_range(const struct split_column *c, uint32_t doc, uint64_t *start,
			    uint64_t *end)
{
	uint64_t r;

	*start = *end = 0;
	if (doc >= c->nd || !column_rank(c, doc, &r) || r >= c->npres)
		return;
	if (!c->multi) {
		*start = r;
		*end = r + 1;
		return;
	}
	*start = bitpack_get(c->rows, c->row_bits, r);
	*end = bitpack_get(c->rows, c->row_bits, r + 1);
	/* never trust the file beyond the values we have */
	if (*end > c->nv)
		*end = c->nv;
	if (*start > *end)
		*start = *end;
}

static inline uint64_t column_value(const struct split_column *c, uint64_t idx)
{
	uint64_t v;

	if (idx >= c->nv)
		return c->min;
	switch (c->vcodec) {
	case COL_VALS_TABLE:
		v = bitpack_get(c->vals, c->bits, idx);
		v = bitpack_get(c->tab, c->tab_bits, v < c->ntab ? v : c->ntab - 1);
		break;
	case COL_VALS_BLOCKS: {
		uint64_t b = idx / COL_VAL_BLOCK;

		v = c->blk_base[b] + bitpack_get(c->vals + c->blk_off[b], c->blk_w[b], idx % COL_VAL_BLOCK);
		break;
	}
	default:
		v = bitpack_get(c->vals, c->bits, idx);
		break;
	}
	v = c->min + c->gcd * v;
	if (v > c->max || v < c->min)
		v = c->max;
	return v;
}

uint64_t split_column_value(const struct split_column *c, uint64_t idx)
{
	return column_value(c, idx);
}

uint64_t split_column_num_blocks(const struct split_column *c)
{
	return (c->nv + COL_VAL_BLOCK - 1) / COL_VAL_BLOCK;
}

void split_column_block(const struct split_column *c, uint64_t b, uint64_t *first, uint64_t *end,
			uint64_t *vmin, uint64_t *vmax)
{
	*first = b * COL_VAL_BLOCK;
	*end = *first + COL_VAL_BLOCK < c->nv ? *first + COL_VAL_BLOCK : c->nv;
	*vmin = c->min;
	*vmax = c->max;
	if (c->vcodec == COL_VALS_BLOCKS && b < c->nblk && c->gcd) {
		/* values are min + gcd * (base + x), x < 2^width; out-of-range
		 * ones read as max (column_value), so max stays a bound */
		uint64_t span = c->blk_w[b] >= 64 ? UINT64_MAX : (1ULL << c->blk_w[b]) - 1;
		uint64_t lo = c->blk_base[b], hi = lo + span < lo ? UINT64_MAX : lo + span;
		uint64_t steps = (c->max - c->min) / c->gcd;

		*vmin = lo <= steps ? c->min + c->gcd * lo : c->max;
		if (hi <= steps)
			*vmax = c->min + c->gcd * hi;
	}
}

void split_column_values(const struct split_column *c, uint64_t start, size_t n, uint64_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = column_value(c, start + i);
}

bool split_column_first(const struct split_column *c, uint32_t doc, uint64_t *v)
{
	uint64_t s, e;

	split_column_doc_range(c, doc, &s, &e);
	if (s == e)
		return false;
	*v = split_column_value(c, s);
	return true;
}

bool split_column_min_max(const struct split_column *c, uint64_t *min, uint64_t *max)
{
	if (c->nv == 0)
		return false;
	*min = c->min;
	*max = c->max;
	return true;
}

uint64_t split_column_dict_size(const struct split_column *c)
{
	return c->nterms;
}

/* A column whose terms are the field's term dictionary: read them all once. */
static int column_load_terms(struct split_column *c)
{
	struct qw_err err = { 0 };
	struct split_terms *it;
	struct buf blob = BUF_INIT;
	uint64_t n = 0;
	const uint8_t *t;
	size_t tl;
	struct split_term_info ti;
	int k = -1;

	c->terms_failed = true;
	c->toffs = xreallocarray(NULL, c->nterms + 1, sizeof(*c->toffs));
	it = split_terms_open(c->r, c->field, NULL, 0, &err);
	if (it) {
		while ((k = split_terms_next(it, &t, &tl, &ti, &err)) == 1 && n < c->nterms) {
			c->toffs[n++] = blob.len;
			buf_add(&blob, t, tl);
		}
		split_terms_free(it);
	}
	if (k != 0 || n != c->nterms) {
		buf_free(&blob);
		return -1;
	}
	c->toffs[n] = blob.len;
	c->blob_len = blob.len;
	c->tblob = (uint8_t *)(blob.data ? blob.data : xcalloc(1, 1));
	c->blob = c->tblob;
	c->terms_loaded = true;
	c->terms_failed = false;
	return 0;
}

int split_column_dict_term(const struct split_column *c, uint64_t ord, const uint8_t **term,
			   size_t *len)
{
	uint64_t s, e;

	*term = (const uint8_t *)"";
	*len = 0;
	if (!c->dict || ord >= c->nterms)
		return -1;
	if (c->terms_dict) {
		/* lazily filled cache: a column is used by one thread (split_reader.h) */
		struct split_column *mc = (struct split_column *)c;

		if (!c->terms_loaded && (c->terms_failed || column_load_terms(mc) < 0))
			return -1;
		*term = c->tblob + c->toffs[ord];
		*len = c->toffs[ord + 1] - c->toffs[ord];
		return 0;
	}
	s = bitpack_get(c->offs, c->off_bits, ord);
	e = bitpack_get(c->offs, c->off_bits, ord + 1);
	if (s > e || e > c->blob_len)
		return -1;
	*term = c->blob + s;
	*len = e - s;
	return 0;
}

/* ------------------------------------------------------------ field norms */

int split_reader_field_norms(struct split_reader *r, int field, const uint8_t **ids,
			     uint64_t *total_tokens, struct qw_err *err)
{
	struct rfield *f = indexed_field(r, field, err);
	uint8_t *p;

	*ids = NULL;
	*total_tokens = 0;
	if (!f)
		return -1;
	*total_tokens = f->total_tokens;
	if (!f->has_norms)
		return 0;
	if (!f->norms) {
		p = rd_crc(r, SEC_FIELDNORMS, f->norm_off, f->norm_len, f->norm_crc, err);
		if (!p)
			return -1;
		if (f->norm_raw && inflate_unit(r, SEC_FIELDNORMS, f->norm_off, &p, f->norm_len,
						f->norm_raw, err) < 0) {
			free(p);
			return -1;
		}
		f->norms = p;
	}
	*ids = f->norms;
	return 0;
}

/* ------------------------------------------------------------ doc store */

static int load_ds_block(struct split_reader *r, size_t bi, struct qw_err *err)
{
	const struct dsb *b = &r->ds[bi];
	uint8_t *comp;
	size_t n;
	struct cur c;
	uint64_t total = 0;

	r->ds_cached = -1;
	comp = rd_crc(r, SEC_DOCSTORE, b->off, b->len, b->crc, err);
	if (!comp)
		return -1;
	if (b->raw_len / 4096 > b->len || ZSTD_getFrameContentSize(comp, b->len) != b->raw_len) {
		free(comp);
		return corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	}
	if (!r->zd)
		r->zd = ZSTD_createDCtx();
	/* reuse the block buffer: fresh large allocations fault in every page */
	if (b->raw_len + 1 > r->ds_raw_cap) {
		free(r->ds_raw);
		r->ds_raw = xmalloc(b->raw_len + 1);
		r->ds_raw_cap = b->raw_len + 1;
	}
	n = r->zd ? ZSTD_decompressDCtx(r->zd, r->ds_raw, b->raw_len, comp, b->len) : 0;
	free(comp);
	if (!r->zd || ZSTD_isError(n) || n != b->raw_len)
		return corrupt(r, err, SEC_DOCSTORE, b->off, "cannot decompress doc store block");
	cur_init(&c, r->ds_raw, b->raw_len);
	if (cur_varint(&c) != b->num_docs)
		return corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	free(r->ds_offs);
	r->ds_offs = xreallocarray(NULL, (size_t)b->num_docs + 1, sizeof(*r->ds_offs));
	for (uint32_t i = 0; i < b->num_docs; i++) {
		r->ds_offs[i] = total;
		total += cur_varint(&c);
	}
	if (c.bad || total != cur_left(&c))
		return corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	for (uint32_t i = 0; i <= b->num_docs; i++)
		r->ds_offs[i] = (i < b->num_docs ? r->ds_offs[i] : total) + (uint64_t)(c.p - r->ds_raw);
	r->ds_cached = (int64_t)bi;
	return 0;
}

int split_reader_doc(struct split_reader *r, uint32_t doc, const char **json, size_t *len,
		     struct qw_err *err)
{
	size_t lo = 0, hi;
	const struct dsb *b;

	if (doc >= r->num_docs)
		return err_set(err, EX_SOFTWARE, "split '%s': no doc %u", r->path, doc);
	if (load_ds_index(r, err) < 0)
		return -1;
	hi = r->nds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->ds[mid].first_doc <= doc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return corrupt(r, err, SEC_DOCSTORE, 0, "doc not in the block index");
	b = &r->ds[lo - 1];
	if (r->ds_cached != (int64_t)(lo - 1) && load_ds_block(r, lo - 1, err) < 0)
		return -1;
	*json = (const char *)r->ds_raw + r->ds_offs[doc - b->first_doc];
	*len = r->ds_offs[doc - b->first_doc + 1] - r->ds_offs[doc - b->first_doc];
	return 0;
}

int split_reader_ds_blocks(struct split_reader *r, size_t *n, struct qw_err *err)
{
	if (load_ds_index(r, err) < 0)
		return -1;
	*n = r->nds;
	return 0;
}

int split_reader_ds_block(struct split_reader *r, size_t i, struct split_ds_block *out,
			  uint8_t **comp, struct qw_err *err)
{
	const struct dsb *b;

	if (comp)
		*comp = NULL;
	if (load_ds_index(r, err) < 0)
		return -1;
	if (i >= r->nds)
		return err_set(err, EX_SOFTWARE, "split '%s': no doc store block %zu", r->path, i);
	b = &r->ds[i];
	out->first_doc = b->first_doc;
	out->num_docs = b->num_docs;
	out->raw_len = b->raw_len;
	out->len = b->len;
	out->crc = b->crc;
	if (!comp)
		return 0;
	*comp = rd_crc(r, SEC_DOCSTORE, b->off, b->len, b->crc, err);
	if (!*comp)
		return -1;
	if (b->raw_len / 4096 > b->len || ZSTD_getFrameContentSize(*comp, b->len) != b->raw_len) {
		free(*comp);
		*comp = NULL;
		return corrupt(r, err, SEC_DOCSTORE, b->off, "bad doc store block");
	}
	return 0;
}

/* ------------------------------------------------------------ describe */

static const char *const kind_names[] = {
	"text", "i64", "u64", "f64", "bool", "datetime", "ip", "bytes",
};
static const char *const record_names[] = { "basic", "freq", "position" };

static int verify_section(struct split_reader *r, int sec, struct qw_err *err)
{
	uint64_t done = 0, len = r->sec_len[sec];
	uint32_t crc = 0;
	uint8_t *chunk = xmalloc(len < (1u << 20) ? (size_t)len + 1 : (1u << 20));
	int ret = -1;

	while (done < len) {
		size_t n = len - done < (1u << 20) ? (size_t)(len - done) : (1u << 20);

		if (rread(r, chunk, n, r->sec_off[sec] + done, err) < 0)
			goto out;
		crc = checksum_crc32c(crc, chunk, n);
		done += n;
	}
	if (!crc_ok(crc, r->sec_crc[sec])) {
		corrupt(r, err, sec, 0, "section checksum mismatch");
		goto out;
	}
	ret = 0;
out:
	free(chunk);
	return ret;
}

json_t *split_reader_describe(const char *path, bool verify, const char *id, struct qw_err *err)
{
	struct split_reader *r = split_reader_open(path, err);
	json_t *out = NULL, *secs, *fields;

	if (!r)
		return NULL;
	if (id && split_reader_check_id(r, id, err) < 0)
		goto out;
	if (verify) {
		for (int i = 0; i < SEC_COUNT; i++)
			if (verify_section(r, i, err) < 0)
				goto out;
		/* what readers parse lazily: the doc store block index, the norms */
		if (load_ds_index(r, err) < 0)
			goto out;
		for (size_t i = 0; i < r->nfields; i++) {
			struct rfield *f = &r->fields[i];
			const uint8_t *ids;
			uint64_t tokens;

			if (f->info.indexed && load_index(r, f, err) < 0)
				goto out;
			if (f->info.indexed &&
			    split_reader_field_norms(r, (int)i, &ids, &tokens, err) < 0)
				goto out;
			if (f->info.fast) {
				struct split_column *c = split_column_open(r, (int)i, err);

				if (!c)
					goto out;
				split_column_free(c);
			}
		}
	}
	out = json_object();
	json_object_set_new(out, "path", json_string(path));
	json_object_set_new(out, "file_size", json_integer((json_int_t)r->size));
	json_object_set_new(out, "metadata", json_deep_copy(r->meta));
	secs = json_array();
	for (int i = 0; i < SEC_COUNT; i++) {
		json_t *s = json_object();

		json_object_set_new(s, "name", json_string(split_section_names[i]));
		json_object_set_new(s, "offset", json_integer((json_int_t)r->sec_off[i]));
		json_object_set_new(s, "size", json_integer((json_int_t)r->sec_len[i]));
		json_array_append_new(secs, s);
	}
	{
		json_t *s = json_object();

		json_object_set_new(s, "name", json_string("footer"));
		json_object_set_new(s, "offset", json_integer((json_int_t)(r->size - r->footer_len)));
		json_object_set_new(s, "size", json_integer((json_int_t)r->footer_len));
		json_object_set_new(s, "hotcache_size", json_integer((json_int_t)r->hot_len));
		json_array_append_new(secs, s);
	}
	json_object_set_new(out, "sections", secs);
	fields = json_array();
	for (size_t i = 0; i < r->nfields; i++) {
		const struct split_field_info *fi = &r->fields[i].info;
		json_t *f = json_object();

		json_object_set_new(f, "path", json_string(fi->path));
		json_object_set_new(f, "kind", json_string(kind_names[fi->kind]));
		json_object_set_new(f, "indexed", json_boolean(fi->indexed));
		json_object_set_new(f, "fast", json_boolean(fi->fast));
		json_object_set_new(f, "stored", json_boolean(fi->stored));
		if (fi->kind == VK_TEXT) {
			json_object_set_new(f, "tokenizer", json_string(config_tokenizer_ref_name(fi->tokenizer)));
			json_object_set_new(f, "record", json_string(record_names[fi->record]));
		}
		json_object_set_new(f, "num_terms", json_integer((json_int_t)fi->num_terms));
		json_object_set_new(f, "num_docs", json_integer((json_int_t)fi->num_docs_with_value));
		if (fi->indexed) {
			const struct rfield *rf = &r->fields[i];

			json_object_set_new(f, "terms_bytes",
					    json_integer((json_int_t)(rf->dict_len + rf->idx_len)));
			json_object_set_new(f, "postings_bytes", json_integer((json_int_t)rf->post_len));
			json_object_set_new(f, "positions_bytes", json_integer((json_int_t)rf->pos_len));
		}
		if (fi->fast)
			json_object_set_new(f, "column_bytes", json_integer((json_int_t)r->fields[i].col_len));
		json_array_append_new(fields, f);
	}
	json_object_set_new(out, "fields", fields);
	json_object_set_new(out, "verified", json_boolean(verify));
out:
	split_reader_close(r);
	return out;
}
