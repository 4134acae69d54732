/* split_reader: see split_reader.h; layout in qw-split(5). This file opens
 * a split and reads its field table; each section's decoder is in its own
 * file (split_internal.h). */
#include "split/split_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "base/bitpack.h"
#include "base/checksum.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "split/split_internal.h"
#include "store/split_cache.h"

int split_corrupt(const struct split_reader *r, struct qw_err *err, int sec, uint64_t off,
		   const char *what)
{
	return err_set(err, EX_DATAERR, "corrupted split '%s': section '%s' at offset %llu: %s",
		       r->path, sec >= 0 ? split_section_names[sec] : "footer",
		       (unsigned long long)off, what);
}

/* len bytes at the absolute offset off: from the fd or by a range GET. */
int split_rread(const struct split_reader *r, void *buf, size_t len, uint64_t off,
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
uint8_t *split_rd(const struct split_reader *r, int sec, uint64_t off, uint64_t len,
		   struct qw_err *err)
{
	uint8_t *p;

	if (off > r->sec_len[sec] || len > r->sec_len[sec] - off || len > MAX_UNIT) {
		split_corrupt(r, err, sec, off, "unit out of bounds");
		return NULL;
	}
	p = xmalloc(len + BITPACK_PAD + 1);
	memset(p + len, 0, BITPACK_PAD + 1);
	if (len && split_rread(r, p, len, r->sec_off[sec] + off, err) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* split_rd() plus a CRC32C check against crc. */
uint8_t *split_rd_crc(const struct split_reader *r, int sec, uint64_t off, uint64_t len,
		       uint32_t crc, struct qw_err *err)
{
	uint8_t *p = split_rd(r, sec, off, len, err);

	if (p && !crc_ok(checksum_crc32c(0, p, len), crc)) {
		free(p);
		split_corrupt(r, err, sec, off, "checksum mismatch");
		return NULL;
	}
	return p;
}

ZSTD_DCtx *split_rd_zstd(struct split_reader *r)
{
	/* one context per reader at most: creating one per unit costs page faults */
	if (!r->zd) {
		r->zd = ZSTD_createDCtx();
		r->zd_borrowed = false;
	}
	return r->zd;
}

void split_reader_own_zstd(struct split_reader *r)
{
	if (r && r->zd_borrowed) {
		r->zd = NULL;
		r->zd_borrowed = false;
	}
}

/* Replace *p (len bytes of zstd) by its raw_len decompressed bytes (+ padding). */
int split_inflate_unit(struct split_reader *r, int sec, uint64_t off, uint8_t **p,
			uint64_t len, uint64_t raw_len, struct qw_err *err)
{
	uint8_t *out;
	size_t n;

	if (!split_rd_zstd(r))
		return err_set(err, EX_OSERR, "cannot create a zstd context");

	/* never allocate what the frame does not claim itself */
	if (raw_len / 4096 > len || ZSTD_getFrameContentSize(*p, len) != raw_len)
		return split_corrupt(r, err, sec, off, "bad compressed unit");
	out = xmalloc(raw_len + BITPACK_PAD + 1);
	n = ZSTD_decompressDCtx(r->zd, out, raw_len, *p, len);

	if (ZSTD_isError(n) || n != raw_len) {
		free(out);
		return split_corrupt(r, err, sec, off, "cannot decompress");
	}
	memset(out + raw_len, 0, BITPACK_PAD + 1);
	free(*p);
	*p = out;
	return 0;
}

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

/*
 * The field table of the hotcache; the doc store block index after it is
 * only located (split_docstore_load_index parses it when a document is first read: a
 * query that returns no document never pays for it).
 */
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
		/* each section's entry, in the order split_enc_field_end() writes them */
		if (f->info.indexed && (!split_dict_read_hot(&c, r, f) ||
					(kind == VK_TEXT && !split_fieldnorms_read_hot(&c, r, f))))
			goto bad;
		if (f->info.fast && !split_columns_read_hot(&c, r, f))
			goto bad;
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
	return split_corrupt(r, err, -1, r->hot_off + (uint64_t)(c.p - p), "bad hotcache");
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
	free(r->ds_pts);
	free(r->dc_data);
	if (!r->zd_borrowed)
		ZSTD_freeDCtx(r->zd);
	if (r->meta)
		json_decref(*r->meta);
	free(r->meta);
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

void split_reader_io_reset(struct split_reader *r)
{
	memset(r->io, 0, sizeof(*r->io));
	r->io->remote = r->remote != NULL;
	r->io->footer_cached = true;
	if (r->remote)
		split_remote_io_reset(r->remote);
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
	struct split_trailer t;
	uint64_t start;

	r->path = xstrdup(path);
	r->io = xcalloc(1, sizeof(*r->io));
	r->meta = xcalloc(1, sizeof(*r->meta));
	r->ds_cached = -1;
	r->fd = -1;
	if (o && o->zstd) {
		r->zd = o->zstd;
		r->zd_borrowed = true;
	}
	if (split_cache_is_remote(path)) {
		/* an s3:// split read by range GETs (split_cache.h) */
		r->io->remote = true;
		r->remote = split_remote_open(path, o ? o->s3 : NULL, o ? o->size : 0, &r->size, err);
		if (!r->remote)
			goto fail;
		split_remote_set_memcache(r->remote, o ? o->mem : NULL);
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
		split_corrupt(r, err, -1, 0, "file too short for a split");
		goto fail;
	}
	if (split_footer_load(r, &t, err) < 0 || split_footer_read_table(r, &t, err) < 0)
		goto fail;
	start = r->size - t.footer_len;
	r->hot_off = start;
	r->hot_len = t.hot_len;
	r->meta_text = (const char *)r->footer + t.hot_len;
	r->meta_len = t.meta_len;
	if (r->meta_len < 2 || r->meta_text[0] != '{') {
		split_corrupt(r, err, -1, r->hot_off + r->hot_len, "bad metadata JSON");
		goto fail;
	}
	if (parse_hotcache(r, r->footer, t.hot_len, err) < 0)
		goto fail;
	return r;
fail:
	split_reader_close(r);
	return NULL;
}

static bool json_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/*
 * The value of the last member key of the top-level object of JSON text
 * s when it is a string without escapes (what the split writer gives):
 * true with *v, *vn pointing into s; false otherwise (not found, a key or
 * the value escaped, not a string, text after the object: the caller
 * parses the text instead, which says what is wrong).
 */
static bool top_level_string(const char *s, size_t n, const char *key, const char **v,
			     size_t *vn)
{
	size_t klen = strlen(key), i = 0;
	bool found = false;
	int depth = 0;

	while (i < n) {
		size_t start, end, j;
		bool escaped = false;

		if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if (s[i] == '}' || s[i] == ']') {
			if (--depth < 0)
				return false;
			if (depth == 0) {
				/* the end of the object: only spaces may follow, as a parse wants */
				for (j = i + 1; j < n && json_space(s[j]); j++)
					;
				return j == n && found;
			}
		}
		if (s[i] != '"') {
			i++;
			continue;
		}
		start = ++i;
		while (i < n && s[i] != '"') {
			escaped |= s[i] == '\\';
			i += s[i] == '\\' ? 2 : 1;
		}
		if (i >= n)
			return false;
		end = i++;
		if (depth != 1)
			continue;
		for (j = i; j < n && json_space(s[j]); j++)
			;
		if (j >= n || s[j] != ':')
			continue;
		/* a member's key: escaped, it could spell the key another way */
		if (escaped)
			return false;
		if (end - start != klen || memcmp(s + start, key, klen) != 0)
			continue;
		/* the member's value: a string without escapes, or give up */
		for (j++; j < n && json_space(s[j]); j++)
			;
		if (j >= n || s[j] != '"')
			return false;
		*v = s + ++j;
		while (j < n && s[j] != '"' && s[j] != '\\')
			j++;
		if (j >= n || s[j] != '"')
			return false;
		*vn = (size_t)(s + j - *v);
		found = true;       /* and on: a later duplicate wins, as when parsed */
		i = j + 1;
	}
	return false;           /* the object does not end */
}

json_t *split_rd_meta(const struct split_reader *r)
{
	json_t *m;

	if (*r->meta)
		return *r->meta;
	m = json_loadb(r->meta_text, r->meta_len, 0, NULL);
	if (!json_is_object(m)) {
		json_decref(m);
		return NULL;
	}
	*r->meta = m;
	return m;
}

int split_reader_check_id(const struct split_reader *r, const char *id, struct qw_err *err)
{
	const char *got = NULL;
	size_t n = 0;

	if (!*r->meta && top_level_string(r->meta_text, r->meta_len, "split_id", &got, &n) &&
	    n == strlen(id) && memcmp(got, id, n) == 0)
		return 0;
	if (!split_rd_meta(r))
		return split_corrupt(r, err, -1, r->hot_off + r->hot_len, "bad metadata JSON");
	got = json_string_value(json_object_get(*r->meta, "split_id"));
	if (got && strcmp(got, id) == 0)
		return 0;
	return err_set(err, EX_DATAERR, "split '%s': file holds split '%.64s', not '%s'", r->path,
		       got ? got : "(none)", id);
}

json_t *split_reader_metadata(const struct split_reader *r)
{
	return split_rd_meta(r);
}

uint32_t split_reader_num_docs(const struct split_reader *r)
{
	return r->num_docs;
}

bool split_reader_time_range(const struct split_reader *r, int64_t *min_us, int64_t *max_us)
{
	json_t *tr = json_object_get(split_rd_meta(r), "time_range_us");
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

struct rfield *split_field_at(struct split_reader *r, int field, struct qw_err *err)
{
	if (field < 0 || (size_t)field >= r->nfields) {
		err_set(err, EX_SOFTWARE, "split '%s': no field %d", r->path, field);
		return NULL;
	}
	return &r->fields[field];
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

		if (split_rread(r, chunk, n, r->sec_off[sec] + done, err) < 0)
			goto out;
		crc = checksum_crc32c(crc, chunk, n);
		done += n;
	}
	if (!crc_ok(crc, r->sec_crc[sec])) {
		split_corrupt(r, err, sec, 0, "section checksum mismatch");
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
		if (split_docstore_load_index(r, err) < 0)
			goto out;
		for (size_t i = 0; i < r->nfields; i++) {
			struct rfield *f = &r->fields[i];
			const uint8_t *ids;
			uint64_t tokens;

			if (f->info.indexed && split_dict_load_index(r, f, err) < 0)
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
	json_object_set_new(out, "metadata", json_deep_copy(split_rd_meta(r)));
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
