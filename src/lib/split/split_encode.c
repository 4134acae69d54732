/* split_encode: see split_encode.h; the bytes are described in qw-split(5).
 * This file drives the encoders: the section files, the field table of the
 * hotcache and the finish; each section's bytes are in its own file
 * (split_internal.h). */
#include "split/split_encode.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "mapping/datetime.h"
#include "split/split_internal.h"

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

int split_sfile_add(struct sfile *sf, const void *p, size_t n, struct qw_err *err)
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

/* See split_internal.h. */
const void *split_enc_maybe_compress(struct split_enc *s, const void *p, size_t n,
				     size_t *out_len, uint64_t *raw_len)
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

/* ------------------------------------------------------------ open, fields */

struct split_enc *split_enc_open(const char *dir, const struct index_config *cfg, void *zc,
				 struct qw_err *err)
{
	struct split_enc *e = xcalloc(1, sizeof(*e));
	int i;

	e->cfg = cfg;
	e->dir = xstrdup(dir);
	for (i = 0; i < SEC_COUNT; i++)
		e->sec[i].fd = -1;
	for (i = 0; i < SEC_COUNT; i++)
		if (sfile_open(&e->sec[i], dir, split_section_names[i], err) < 0)
			goto fail;
	e->zc = zc;
	if (!e->zc) {
		e->own_zc = ZSTD_createCCtx();
		if (!e->own_zc) {
			err_set(err, EX_SOFTWARE, "cannot create a zstd context");
			goto fail;
		}
		e->zc = e->own_zc;
	}
	return e;
fail:
	split_enc_free(e);
	return NULL;
}

void split_enc_free(struct split_enc *e)
{
	if (!e)
		return;
	for (int i = SEC_COUNT - 1; i >= 0; i--) {
		if (e->sec[i].fd >= 0)
			close(e->sec[i].fd);
		buf_free(&e->sec[i].b);
	}
	buf_free(&e->fields);
	buf_free(&e->fhot);
	buf_free(&e->chot);
	split_plists_free(&e->pl);
	buf_free(&e->first);
	buf_free(&e->ds_idx);
	buf_free(&e->ds_raw);
	free(e->ds_lens);
	buf_free(&e->tmp);
	buf_free(&e->blk);
	buf_free(&e->idx);
	buf_free(&e->prev);
	buf_free(&e->pk);
	buf_free(&e->z);
	ZSTD_freeCCtx(e->own_zc);
	free(e->u64s);
	free(e->dir);
	free(e);
}

void split_enc_field_begin(struct split_enc *e, const struct split_enc_field *f)
{
	e->f = *f;
	buf_reset(&e->fhot);
	buf_reset(&e->chot);
}

void split_enc_field_end(struct split_enc *e, uint64_t num_terms, uint64_t docs_with_value)
{
	const struct split_enc_field *f = &e->f;
	bool indexed = num_terms > 0, fast = e->chot.len > 0;
	struct buf *h = &e->fields;

	buf_add_varint(h, f->path_len);
	buf_add(h, f->path, f->path_len);
	buf_add_u8(h, (uint8_t)f->kind);
	buf_add_u8(h, (uint8_t)((indexed ? SF_INDEXED : 0) | (fast ? SF_FAST : 0) |
				(f->stored ? SF_STORED : 0)));
	buf_add_u8(h, (uint8_t)f->tok.kind);
	buf_add_u8(h, (uint8_t)f->rec);
	buf_add_u8(h, (uint8_t)f->fnorm);
	if (f->tok.kind == TOK_CUSTOM) {
		/* the definition itself: the searcher tokenizes queries with it */
		json_t *def = config_custom_tokenizer_json(f->tok.custom);
		char *js = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);

		json_decref(def);
		if (!js)
			xalloc_die();
		buf_add_varint(h, strlen(js));
		buf_adds(h, js);
		free(js);
	}
	buf_add_varint(h, num_terms);
	buf_add_varint(h, docs_with_value);
	if (indexed)
		buf_add(h, e->fhot.data, e->fhot.len);
	if (fast)
		buf_add(h, e->chot.data, e->chot.len);
	buf_reset(&e->fhot);
	buf_reset(&e->chot);
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

void split_enc_meta(json_t *meta, uint32_t num_docs, uint64_t uncompressed, bool has_time,
		    int64_t tmin, int64_t tmax)
{
	json_t *tr;

	json_object_set_new(meta, "num_docs", json_integer(num_docs));
	json_object_set_new(meta, "uncompressed_docs_size_in_bytes",
			    json_integer((json_int_t)uncompressed));
	if (!has_time) {
		json_object_set_new(meta, "time_range", json_null());
		return;
	}
	tr = json_object();

	json_object_set_new(tr, "start", json_integer(tmin));
	json_object_set_new(tr, "end", json_integer(tmax));
	json_object_set_new(meta, "time_range_us", tr);
	tr = json_object();
	/* Quickwit's time_range is in seconds */
	json_object_set_new(tr, "start", json_integer(datetime_us_to_s(tmin)));
	json_object_set_new(tr, "end", json_integer(datetime_us_to_s(tmax)));
	json_object_set_new(meta, "time_range", tr);
}

int split_enc_finish(struct split_enc *e, uint32_t num_docs, size_t nfields, json_t *meta,
		     struct qw_err *err)
{
	struct buf hot = BUF_INIT;
	char *hp = NULL;
	int ret = -1;

	if (split_docstore_flush(e, err) < 0)
		goto out;
	for (int i = 0; i < SEC_COUNT; i++)
		if (sfile_close(&e->sec[i], err) < 0)
			goto out;
	buf_add_varint(&hot, num_docs);
	buf_add_varint(&hot, nfields);
	buf_add(&hot, e->fields.data, e->fields.len);
	buf_add_varint(&hot, e->ds_nblocks);
	buf_add(&hot, e->ds_idx.data, e->ds_idx.len);
	hp = fsutil_join(e->dir, "hotcache");
	if (fsutil_write_atomic(hp, hot.data ? hot.data : "", hot.len, err) < 0)
		goto out;
	json_object_set_new(meta, "num_fields", json_integer((json_int_t)nfields));
	ret = write_json_file(e->dir, "segment.json", meta, err);
out:
	free(hp);
	buf_free(&hot);
	return ret;
}
