/*
 * split: build a segment from generated documents, bundle it, read it back.
 * The oracle is a model computed here from the generated values (tokens
 * split on ASCII non-alphanumerics and lowercased, counts, positions), never
 * the split code itself. Then every truncation and many byte flips of a small
 * split must give an error or the same reading, never a crash.
 *
 * `split_test --digest FILE` prints a digest of everything readable in FILE
 * (used by tests/20-split.bats) and exits 65 on a read error.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/checksum.h"
#include "mapping/config.h"
#include "mapping/docmap.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "split/segment.h"
#include "split/split_format.h"
#include "split/split_merge.h"
#include "split/split_reader.h"
#include "split/split_bundle.h"
#include "tap.h"
#include "split/termkey.h"

#define NDOCS 700
#define NWORDS 24
#define MAXTOK 16

static const char *vocab[NWORDS] = {
	"alpha", "Bravo", "charlie", "delta", "ECHO", "foxtrot", "golf", "hotel",
	"india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
	"quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray",
};
static const char *levels[3] = { "ERROR", "INFO", "WARN" };
static const char *tagv[4] = { "a", "b", "c", "d" };

struct mdoc {
	int ntok;
	int tok[MAXTOK];         /* vocab index per position */
	int level;
	long long n;
	double f;
	long long ts;            /* seconds */
	int ntags;
	int tags[3];
	int has_ip;
	int ip3;
	int has_attr;
	int attr_size_str;       /* attrs.size given as a string */
	long long attr_size;
	char *canon;             /* canonical line, as stored */
};

static struct mdoc docs[NDOCS];
static uint64_t rng = 0x1234567887654321ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *cfg_text =
	"{\"version\":\"0.8\",\"index_id\":\"splittest\",\"doc_mapping\":{"
	"\"mode\":\"lenient\",\"timestamp_field\":\"ts\",\"tag_fields\":[\"level\"],"
	"\"field_mappings\":["
	"{\"name\":\"ts\",\"type\":\"datetime\",\"fast\":true},"
	"{\"name\":\"body\",\"type\":\"text\",\"tokenizer\":\"default\",\"record\":\"position\","
	"  \"fieldnorms\":true},"
	"{\"name\":\"level\",\"type\":\"text\",\"tokenizer\":\"raw\",\"fast\":true},"
	"{\"name\":\"n\",\"type\":\"i64\",\"fast\":true},"
	"{\"name\":\"f\",\"type\":\"f64\",\"fast\":true},"
	"{\"name\":\"ok\",\"type\":\"bool\",\"fast\":true},"
	"{\"name\":\"tags\",\"type\":\"array<text>\",\"tokenizer\":\"raw\",\"fast\":true,"
	"  \"record\":\"freq\"},"
	"{\"name\":\"ip\",\"type\":\"ip\",\"fast\":true},"
	"{\"name\":\"secret\",\"type\":\"text\",\"stored\":false},"
	"{\"name\":\"attrs\",\"type\":\"json\",\"tokenizer\":\"raw\",\"fast\":true}"
	"]},\"indexing_settings\":{\"docstore_blocksize\":4000,"
	"\"docstore_compression_level\":3}}";

static struct index_config *load_cfg(void)
{
	json_error_t jerr;
	json_t *root = json_loads(cfg_text, 0, &jerr);
	struct qw_err err = QW_ERR_INIT;
	struct index_config *cfg;

	if (!root) {
		tap_diag("bad test config: %s", jerr.text);
		return NULL;
	}
	cfg = config_from_json(root, &err);
	if (!cfg)
		tap_diag("config: %s", err.msg);
	json_decref(root);
	return cfg;
}

static void gen_doc(struct mdoc *d, int i, struct buf *line)
{
	static const char *seps[] = { " ", ", ", "-", "/", "_", " (", ") ", "." };

	d->ntok = 1 + (int)rnd(MAXTOK);
	for (int k = 0; k < d->ntok; k++)
		d->tok[k] = (int)(rnd(3) ? rnd(8) : rnd(NWORDS));  /* skewed: long postings */
	d->level = (int)rnd(3);
	d->n = (long long)rnd(2001) - 1000;
	d->f = ((double)i - 350.0) * 0.5;
	d->ts = 1600000000LL + i * 7 + (i % 5 == 0 ? -3000 : 0);
	d->ntags = (int)rnd(4);
	for (int k = 0; k < d->ntags; k++)
		d->tags[k] = (int)rnd(4);
	d->has_ip = i % 9 == 0;
	d->ip3 = (int)rnd(256);
	d->has_attr = i % 4 != 3;
	d->attr_size_str = i % 8 == 1;
	d->attr_size = (long long)rnd(50);

	buf_reset(line);
	buf_addf(line, "{\"ts\":%lld,\"body\":\"", d->ts);
	for (int k = 0; k < d->ntok; k++)
		buf_addf(line, "%s%s", k ? seps[rnd(8)] : "", vocab[d->tok[k]]);
	buf_addf(line, "\",\"level\":\"%s\",\"n\":%lld,\"f\":%.1f,\"ok\":%s,\"tags\":[",
		 levels[d->level], d->n, d->f, i % 3 == 0 ? "true" : "false");
	for (int k = 0; k < d->ntags; k++)
		buf_addf(line, "%s\"%s\"", k ? "," : "", tagv[d->tags[k]]);
	buf_addf(line, "],\"secret\":\"s%d\"", i);
	if (d->has_ip)
		buf_addf(line, ",\"ip\":\"10.0.1.%d\"", d->ip3);
	if (d->has_attr) {
		if (d->attr_size_str)
			buf_addf(line, ",\"attrs\":{\"color\":\"c%d\",\"size\":\"s%lld\"}", i % 3, d->attr_size);
		else
			buf_addf(line, ",\"attrs\":{\"color\":\"c%d\",\"size\":%lld}", i % 3, d->attr_size);
	}
	buf_addc(line, '}');
}

static void lower(const char *s, char *out)
{
	size_t i = 0;

	for (; s[i]; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

/* One mapped document into seg, as qw-index adds it: its values, and its
 * stored form without the stored: false fields. */
static int add_canon(struct segment *seg, struct docmap *dm, json_t *canon, const char *text,
		     struct qw_err *err)
{
	struct docmap_values dv = { 0 };
	struct buf stored = BUF_INIT;
	size_t len = strlen(text);
	int rc;

	docmap_collect(dm, canon, &dv);
	if (docmap_stored_text(dm, canon, &stored))
		rc = segment_add_values(seg, &dv, stored.data, stored.len, len, err);
	else
		rc = segment_add_values(seg, &dv, text, len, len, err);
	buf_free(&stored);
	docmap_values_free(&dv);
	return rc;
}

/* The docs that a merge with deletions drops. */
static bool dropped_doc(int i)
{
	return i % 5 == 0 || i % 7 == 3;
}

/*
 * Generate docs 0..hi-1 (the same ones on every call: the generator
 * restarts) and index into seg those in [lo, hi) that are not dropped
 * (drop: dropped_doc()). With model, each is generated into docs[i] and
 * keeps its canonical text there, for the checks against the model.
 */
static int index_docs(struct segment *seg, struct docmap *dm, int lo, int hi, bool drop,
		      bool model, struct qw_err *err)
{
	struct buf line = BUF_INIT;
	int ret = -1;

	rng = 0x1234567887654321ULL;
	for (int i = 0; i < hi; i++) {
		json_t *canon = NULL;
		enum docmap_reason reason;
		struct mdoc scratch, *d = model ? &docs[i] : &scratch;
		char *text;
		int rc;

		if (!model)
			memset(&scratch, 0, sizeof(scratch));
		gen_doc(d, i, &line);
		if (i < lo || (drop && dropped_doc(i)))
			continue;
		if (docmap_map_line(dm, line.data, line.len, &canon, &reason, err) < 0)
			goto out;
		text = json_dumps(canon, JSON_COMPACT);
		rc = add_canon(seg, dm, canon, text, err);
		json_decref(canon);
		if (model) {
			free(d->canon);
			d->canon = text;
		} else {
			free(text);
		}
		if (rc < 0)
			goto out;
	}
	ret = 0;
out:
	buf_free(&line);
	return ret;
}

/* Serialize seg into the fresh scratch directory dir and bundle it into out. */
static int write_split(struct segment *seg, const char *dir, const char *out, struct qw_err *err)
{
	if (fsutil_rm_rf(dir, err) < 0 || fsutil_mkdir_p(dir, 0755, err) < 0 ||
	    segment_serialize(seg, dir, err) < 0 || split_bundle(dir, out, NULL, NULL, err) < 0)
		return -1;
	return 0;
}

/* Build, serialize and bundle the split of docs[0..n). */
static int build_split(struct index_config *cfg, int n, const char *dir, const char *out,
		       struct qw_err *err)
{
	struct docmap *dm = docmap_new(cfg);
	struct segment *seg = segment_new(cfg);
	int ret = -1;

	if (index_docs(seg, dm, 0, n, false, true, err) < 0)
		goto out;
	{
		uint64_t want = 0;
		int64_t a, b;
		json_t *tags = segment_tags(seg);
		char *ts = json_dumps(tags, JSON_COMPACT);

		for (int i = 0; i < n; i++)
			want += strlen(docs[i].canon);
		if (n == NDOCS) {
			ok(segment_num_docs(seg) == (uint32_t)n, "the segment counts %d docs", n);
			ok(segment_uncompressed_bytes(seg) == want,
			   "uncompressed bytes are the sum of the document lengths (%llu)",
			   (unsigned long long)want);
			ok(segment_time_range(seg, &a, &b) && a == 1599997000LL * 1000000 &&
			   b == (1600000000LL + (n - 1) * 7) * 1000000, "the segment's time range");
			ok(ts && strcmp(ts, "[\"level!\",\"level:ERROR\",\"level:INFO\",\"level:WARN\"]") == 0,
			   "segment_tags before serialization");
			ok(segment_mem_bytes(seg) > want / 2, "memory held is accounted (%zu bytes)",
			   segment_mem_bytes(seg));
		}
		free(ts);
		json_decref(tags);
	}
	if (write_split(seg, dir, out, err) < 0)
		goto out;
	ret = 0;
out:
	segment_free(seg);
	docmap_free(dm);
	return ret;
}

/* ---------------------------------------------------------------- digest */

/*
 * split_postings_next_docs() from doc start on, reached by start next()
 * calls (by_advance: one split_postings_advance() to want[start]), gives
 * the docs want[start..] that next() gave; then the cursor stays at the
 * end. -1 with err set when not.
 */
static int next_docs_from(struct split_reader *r, const struct split_term_info *ti,
			  const uint32_t *want, uint32_t n_want, uint32_t start, bool by_advance,
			  struct qw_err *err)
{
	struct split_postings *q = split_postings_open(r, ti, false, err);
	const uint32_t *block;
	uint32_t doc, got, n;
	int ret = -1;

	if (!q)
		return -1;
	if (by_advance && start > 0) {
		if (split_postings_advance(q, want[start - 1], &doc, err) < 0 || doc != want[start - 1])
			goto differ;
	} else {
		for (uint32_t i = 0; i < start; i++)  /* a block begun by next() */
			if (split_postings_next(q, &doc, err) < 0 || doc != want[i])
				goto differ;
	}
	got = start;
	for (;;) {
		if (split_postings_next_docs(q, &block, &n, err) < 0)
			goto out;
		if (n == 0)
			break;
		for (uint32_t i = 0; i < n; i++, got++)
			if (got >= n_want || block[i] != want[got])
				goto differ;
	}
	if (got != n_want || split_postings_next(q, &doc, err) < 0 || doc != SPLIT_DOC_END)
		goto differ;
	ret = 0;
	goto out;
differ:
	if (!err->code)
		err_set(err, EX_SOFTWARE, "split_postings_next_docs() after %u %s: not the %u docs "
			"of next()", start, by_advance ? "docs skipped by advance()" : "next()", n_want);
out:
	split_postings_free(q);
	return ret;
}

/* split_postings_next_docs() against split_postings_next() on one term,
 * from the start, inside the first block and at block boundaries, reached
 * by next() and by advance(); -1 with err set when they differ. */
static int check_next_docs(struct split_reader *r, const struct split_term_info *ti,
			   struct qw_err *err)
{
	struct split_postings *p = split_postings_open(r, ti, false, err);
	uint32_t *want = NULL, n_want = 0, cap = 0, doc;
	int ret = -1;

	if (!p)
		goto out;
	while (split_postings_next(p, &doc, err) == 0 && doc != SPLIT_DOC_END) {
		XGROW(want, n_want + 1, cap);
		want[n_want++] = doc;
	}
	if (err->code)
		goto out;
	{
		/* starts past want[] are skipped; the block ones only for block lists */
		const uint32_t starts[] = { 0, 1, n_want % 4, 127, 128, 129, 255, 256, n_want - 1, n_want };
		size_t nstarts = n_want >= 128 ? sizeof(starts) / sizeof(starts[0]) : 3;

		for (size_t i = 0; i < nstarts; i++) {
			uint32_t st = starts[i];

			if (st > n_want || (n_want == 0 && i > 0))
				continue;
			if (next_docs_from(r, ti, want, n_want, st, false, err) < 0 ||
			    (n_want >= 128 && next_docs_from(r, ti, want, n_want, st, true, err) < 0))
				goto out;
		}
	}
	ret = 0;
out:
	split_postings_free(p);
	free(want);
	return ret;
}

/*
 * split_column_values() in bulk against split_column_value() one by one,
 * on runs that start anywhere (unaligned, at and around block and byte
 * boundaries), cross blocks and run past the last value; -1 with err set
 * when one differs.
 */
static int check_values_bulk(const struct split_column *c, const char *name, struct qw_err *err)
{
	uint64_t nb = split_column_num_blocks(c), nv = 0, first, lo, hi, vals[700];

	/* the values' count: the end of the last block */
	if (nb > 0)
		split_column_block(c, nb - 1, &first, &nv, &lo, &hi);
	{
		const uint64_t starts[] = { 0, 1, 3, 7, 8, 9, 127, 128, 129, 200, nv / 2,
					    nv > 5 ? nv - 5 : 0, nv > 0 ? nv - 1 : 0, nv };
		const size_t lens[] = { 1, 5, 8, 130, 300, 690 };

		for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
			for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
				split_column_values(c, starts[i], lens[j], vals);
				for (size_t k = 0; k < lens[j]; k++)
					if (vals[k] != split_column_value(c, starts[i] + k))
						return err_set(err, EX_SOFTWARE, "column %s: split_column_values() "
							       "from %llu: value %zu differs", name,
							       (unsigned long long)starts[i], k);
			}
	}
	return 0;
}

/* Everything readable in a split, hashed; -1 on a read error. */
static int digest(const char *path, uint32_t *out, struct qw_err *err)
{
	struct split_reader *r = split_reader_open(path, err);
	uint32_t h = 0;
	int ret = -1;

	if (!r)
		return -1;
	h = split_reader_num_docs(r);
	for (size_t i = 0; i < split_reader_num_fields(r); i++) {
		const struct split_field_info *fi = split_reader_field(r, i);

		h = checksum_crc32c(h, fi->path, strlen(fi->path));
		if (fi->indexed && fi->kind == VK_TEXT) {
			const uint8_t *norms;
			uint64_t total;

			if (split_reader_field_norms(r, (int)i, &norms, &total, err) < 0)
				goto out;
			h = checksum_crc32c(h, &total, 8);
			if (norms)
				h = checksum_crc32c(h, norms, split_reader_num_docs(r));
		}
		if (fi->indexed) {
			struct split_terms *it = split_terms_open(r, (int)i, NULL, 0, err);
			const uint8_t *t;
			size_t tl;
			struct split_term_info ti;
			int k;

			if (!it)
				goto out;
			while ((k = split_terms_next(it, &t, &tl, &ti, err)) == 1) {
				struct split_postings *p;
				uint32_t doc;
				bool pos = fi->record == RECORD_POSITION;

				h = checksum_crc32c(h, t, tl);
				if (check_next_docs(r, &ti, err) < 0)
					break;
				p = split_postings_open(r, &ti, pos, err);
				if (!p)
					break;
				while (split_postings_next(p, &doc, err) == 0 && doc != SPLIT_DOC_END) {
					uint32_t tf = split_postings_freq(p);

					h = checksum_crc32c(h, &doc, 4);
					h = checksum_crc32c(h, &tf, 4);
					if (pos) {
						const uint32_t *pv;
						uint32_t np;

						if (split_postings_positions(p, &pv, &np, err) < 0) {
							doc = 0;
							break;
						}
						h = checksum_crc32c(h, pv, np * 4);
					}
				}
				if (err->code) {
					split_postings_free(p);
					break;
				}
				split_postings_free(p);
			}
			split_terms_free(it);
			if (k != 0 || err->code)
				goto out;
		}
		if (fi->fast) {
			struct split_column *c = split_column_open(r, (int)i, err);

			if (!c)
				goto out;
			if (check_values_bulk(c, fi->path, err) < 0) {
				split_column_free(c);
				goto out;
			}
			for (uint32_t d = 0; d < split_reader_num_docs(r); d++) {
				uint64_t s, e;

				split_column_doc_range(c, d, &s, &e);
				for (; s < e; s++) {
					uint64_t v = split_column_value(c, s);
					const uint8_t *t;
					size_t tl;

					h = checksum_crc32c(h, &v, 8);
					if (split_column_is_dict(c) && split_column_dict_term(c, v, &t, &tl) == 0)
						h = checksum_crc32c(h, t, tl);
				}
			}
			split_column_free(c);
		}
	}
	for (uint32_t d = 0; d < split_reader_num_docs(r); d++) {
		const char *j;
		size_t jl;

		if (split_reader_doc(r, d, &j, &jl, err) < 0)
			goto out;
		h = checksum_crc32c(h, j, jl);
	}
	*out = h;
	ret = 0;
out:
	split_reader_close(r);
	return ret;
}

/* ---------------------------------------------------------------- merge */

/*
 * The split of the docs i in [lo, hi) with !(drop && dropped_doc(i)),
 * generated as build_split() does (the same documents), into out.
 */
static int build_part(struct index_config *cfg, int lo, int hi, bool drop, const char *dir,
		      const char *out, struct qw_err *err)
{
	struct docmap *dm = docmap_new(cfg);
	struct segment *seg = segment_new(cfg);
	int ret = -1;

	if (index_docs(seg, dm, lo, hi, drop, false, err) < 0 ||
	    write_split(seg, dir, out, err) < 0)
		goto out;
	ret = 0;
out:
	segment_free(seg);
	docmap_free(dm);
	return ret;
}

/* Footer facts a merge must keep: fields and their counts, tags, time range, size. */
static char *facts(const char *path, bool with_size)
{
	struct qw_err err = QW_ERR_INIT;
	struct split_reader *r = split_reader_open(path, &err);
	struct buf b = BUF_INIT;
	json_t *m;
	char *tags;
	int64_t lo = 0, hi = 0;

	if (!r)
		return xstrdup(err.msg);
	for (size_t i = 0; i < split_reader_num_fields(r); i++) {
		const struct split_field_info *fi = split_reader_field(r, i);

		buf_addf(&b, "%s/%d i%d f%d s%d t%llu d%llu;", fi->path, (int)fi->kind, fi->indexed,
			 fi->fast, fi->stored, (unsigned long long)fi->num_terms,
			 (unsigned long long)fi->num_docs_with_value);
	}
	m = split_reader_metadata(r);
	tags = json_dumps(json_object_get(m, "tags"), JSON_COMPACT);
	split_reader_time_range(r, &lo, &hi);
	buf_addf(&b, "tags %s time %lld %lld", tags ? tags : "?", (long long)lo, (long long)hi);
	if (with_size)
		buf_addf(&b, " size %lld", (long long)json_integer_value(
				 json_object_get(m, "uncompressed_docs_size_in_bytes")));
	free(tags);
	split_reader_close(r);
	{
		size_t len;

		return buf_detach(&b, &len);
	}
}

/* Merge parts (with their drop flags) into out. */
static int merge_parts(struct index_config *cfg, char **parts, const int *lo, size_t n, bool drop,
		       const char *dir, const char *out, struct qw_err *err)
{
	struct split_merge_src src[4];
	uint8_t *del[4] = { NULL, NULL, NULL, NULL };
	struct split_merge_stats st;
	int ret = -1;

	memset(src, 0, sizeof(src));
	for (size_t k = 0; k < n; k++) {
		src[k].r = split_reader_open(parts[k], err);
		if (!src[k].r)
			goto out;
		if (drop) {
			uint32_t nd = split_reader_num_docs(src[k].r);

			del[k] = xcalloc(nd, 1);
			for (uint32_t d = 0; d < nd; d++)
				del[k][d] = dropped_doc(lo[k] + (int)d);
			src[k].deleted = del[k];
		}
	}
	if (fsutil_rm_rf(dir, err) < 0 || fsutil_mkdir_p(dir, 0755, err) < 0 ||
	    split_merge(cfg, src, n, dir, &st, err) != 0 ||
	    split_bundle(dir, out, NULL, NULL, err) < 0)
		goto out;
	ret = 0;
out:
	for (size_t k = 0; k < n; k++) {
		split_reader_close(src[k].r);
		free(del[k]);
	}
	return ret;
}

/*
 * The oracle of a merge: the split built in one go from the same
 * documents (without the dropped ones). Everything readable (digest) and
 * the footer facts must be equal.
 */
static void check_merge(struct index_config *cfg, const char *tmpd)
{
	struct qw_err err = QW_ERR_INIT;
	const int lo[3] = { 0, 250, 251 }, hi[3] = { 250, 251, NDOCS };
	char *parts[3], dir[300], one[300], merged[300];

	snprintf(dir, sizeof(dir), "%s/qw-merge-test-%ld", tmpd, (long)getpid());
	snprintf(one, sizeof(one), "%s/qw-merge-test-one-%ld.split", tmpd, (long)getpid());
	snprintf(merged, sizeof(merged), "%s/qw-merge-test-merged-%ld.split", tmpd, (long)getpid());
	for (int k = 0; k < 3; k++) {
		parts[k] = xmalloc(320);
		snprintf(parts[k], 320, "%s/qw-merge-test-part%d-%ld.split", tmpd, k, (long)getpid());
	}
	for (int drop = 0; drop <= 1; drop++) {
		uint32_t h1 = 0, h2 = 1;
		char *f1, *f2;
		bool built = true;

		for (int k = 0; k < 3 && built; k++)
			built = build_part(cfg, lo[k], hi[k], false, dir, parts[k], &err) == 0;
		ok(built && build_part(cfg, 0, NDOCS, drop, dir, one, &err) == 0,
		   "merge%s: build 3 parts and the one split: %s", drop ? " with deletes" : "",
		   err.msg);
		ok(merge_parts(cfg, parts, lo, 3, drop, dir, merged, &err) == 0,
		   "merge%s: split_merge of the 3 parts: %s", drop ? " with deletes" : "", err.msg);
		if (digest(one, &h1, &err) < 0 || digest(merged, &h2, &err) < 0)
			h2 = ~h1;
		ok(h1 == h2, "merge%s: every term, posting, position, norm, column value and doc as "
		   "the one split's (%08x %08x) %s", drop ? " with deletes" : "", h1, h2, err.msg);
		/* with deletes the size is the sources' minus the deleted docs' stored
		 * length: more than the canonical lines when a field is not stored */
		f1 = facts(one, !drop);
		f2 = facts(merged, !drop);
		ok(strcmp(f1, f2) == 0, "merge%s: fields, counts, tags, time range%s:\n# %s\n# %s",
		   drop ? " with deletes" : "", drop ? "" : ", size", f1, f2);
		free(f1);
		free(f2);
		err_clear(&err);
	}
	/* a merge of one part is a copy: the same digest */
	{
		uint32_t h1 = 0, h2 = 1;

		ok(merge_parts(cfg, parts, lo, 1, false, dir, merged, &err) == 0 &&
		   digest(parts[0], &h1, &err) == 0 && digest(merged, &h2, &err) == 0 && h1 == h2,
		   "a merge of one split reads the same: %s", err.msg);
	}
	/* sources that give a field other options cannot be merged this way: said, 1 */
	{
		char *text = xstrdup(cfg_text), *p = strstr(text, "\"record\":\"position\"");
		json_t *root;
		struct index_config *other = NULL;

		if (p)
			memcpy(p, "\"record\":\"freq\"    ", 19);
		root = json_loads(text, 0, NULL);
		if (root)
			other = config_from_json(root, &err);
		json_decref(root);
		free(text);
		ok(other && build_part(other, 250, 251, false, dir, parts[1], &err) == 0,
		   "a part whose body records freqs only: %s", err.msg);
		if (other) {
			struct split_merge_src src[2];
			struct split_merge_stats st;

			src[0].r = split_reader_open(parts[0], &err);
			src[1].r = split_reader_open(parts[1], &err);
			src[0].deleted = src[1].deleted = NULL;
			ok(src[0].r && src[1].r && fsutil_rm_rf(dir, &err) == 0 &&
			   fsutil_mkdir_p(dir, 0755, &err) == 0 &&
			   split_merge(cfg, src, 2, dir, &st, &err) == 1 &&
			   strstr(err.msg, "'body'") != NULL,
			   "a merge of splits that disagree on a field's options says so: %s", err.msg);
			split_reader_close(src[1].r);
			split_reader_close(src[0].r);
			config_free(other);
		}
		err_clear(&err);
	}
	for (int k = 0; k < 3; k++) {
		unlink(parts[k]);
		free(parts[k]);
	}
	unlink(one);
	unlink(merged);
	fsutil_rm_rf(dir, &err);
}

/* ---------------------------------------------------------------- checks */

static int find(struct split_reader *r, const char *path, enum value_kind k)
{
	return split_reader_find_field(r, path, k);
}

/* Field norms of body: each doc's token count (exact below 24), and the total. */
static void check_norms(struct split_reader *r, int n)
{
	struct qw_err err = QW_ERR_INIT;
	int fb = find(r, "body", VK_TEXT), fl = find(r, "level", VK_TEXT), bad = 0;
	const uint8_t *norms = NULL, *lnorms = (const uint8_t *)"x";
	uint64_t total = 0, want = 0, ltotal = 0;

	if (fb >= 0)
		split_reader_field_norms(r, fb, &norms, &total, &err);
	for (int i = 0; i < n; i++) {
		want += (uint64_t)docs[i].ntok;
		if (!norms || norms[i] != docs[i].ntok || fieldnorm_decode(norms[i]) != (uint32_t)docs[i].ntok)
			bad++;
	}
	ok(norms && bad == 0 && total == want,
	   "body field norms are each doc's token count, total %llu (%d bad)",
	   (unsigned long long)total, bad);
	/* a raw keyword recording only docs: no norms, its tokens are its values */
	ok(fl >= 0 && split_reader_field_norms(r, fl, &lnorms, &ltotal, &err) == 0 && !lnorms &&
	   ltotal == (uint64_t)n, "level keeps no norms and counts one token per value");
	/* recording freqs without `fieldnorms: true` (Quickwit's default): no norms either */
	lnorms = (const uint8_t *)"x";
	ok(find(r, "tags", VK_TEXT) >= 0 &&
	   split_reader_field_norms(r, find(r, "tags", VK_TEXT), &lnorms, &ltotal, &err) == 0 &&
	   !lnorms, "tags records freqs but keeps no norms without fieldnorms: true");
	ok(fieldnorm_encode(40) == 40 && fieldnorm_encode(41) == 40 && fieldnorm_encode(42) == 41 &&
	   fieldnorm_decode(255) == 2013265944u && fieldnorm_encode(UINT32_MAX) == 255,
	   "field norm ids are tantivy's");
}

static void check_body(struct split_reader *r, int n)
{
	struct qw_err err = QW_ERR_INIT;
	int fb = find(r, "body", VK_TEXT);
	int bad_df = 0, bad_docs = 0, bad_tf = 0, bad_pos = 0, bad_adv = 0, checked = 0;

	ok(fb >= 0, "body is a text field");
	if (fb < 0)
		return;
	ok(split_reader_field(r, (size_t)fb)->record == RECORD_POSITION, "body records positions");
	for (int w = 0; w < NWORDS; w++) {
		char term[32];
		struct split_term_info ti;
		struct split_postings *p;
		int df = 0, found;
		uint32_t doc;

		lower(vocab[w], term);
		for (int i = 0; i < n; i++)
			for (int k = 0; k < docs[i].ntok; k++)
				if (docs[i].tok[k] == w) {
					df++;
					break;
				}
		found = split_reader_term_lookup(r, fb, term, strlen(term), &ti, &err);
		if (found != (df > 0)) {
			bad_df++;
			continue;
		}
		if (!found)
			continue;
		if ((int)ti.doc_freq != df)
			bad_df++;
		p = split_postings_open(r, &ti, true, &err);
		if (!p) {
			bad_docs++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint32_t tf = 0, want[MAXTOK], nw = 0;
			const uint32_t *pv;
			uint32_t np;

			for (int k = 0; k < docs[i].ntok; k++)
				if (docs[i].tok[k] == w)
					want[nw++] = (uint32_t)k;
			tf = nw;
			if (!tf)
				continue;
			if (split_postings_next(p, &doc, &err) < 0 || doc != (uint32_t)i) {
				bad_docs++;
				break;
			}
			if (split_postings_freq(p) != tf)
				bad_tf++;
			if (split_postings_positions(p, &pv, &np, &err) < 0 || np != nw ||
			    memcmp(pv, want, nw * 4) != 0)
				bad_pos++;
			checked++;
		}
		if (split_postings_next(p, &doc, &err) < 0 || doc != SPLIT_DOC_END)
			bad_docs++;
		split_postings_free(p);

		/* advance to random targets: the first doc >= target in the model */
		p = split_postings_open(r, &ti, w % 2 == 0, &err);
		if (!p) {
			bad_adv++;
			continue;
		}
		{
			uint32_t target = 0;

			for (;;) {
				uint32_t want = SPLIT_DOC_END;

				target += rnd(60);
				for (int i = (int)target; i < n; i++) {
					int has = 0;

					for (int k = 0; k < docs[i].ntok; k++)
						has |= docs[i].tok[k] == w;
					if (has) {
						want = (uint32_t)i;
						break;
					}
				}
				if (split_postings_advance(p, target, &doc, &err) < 0 || doc != want) {
					bad_adv++;
					break;
				}
				if (w % 2 == 0 && doc != SPLIT_DOC_END) {
					const uint32_t *pv;
					uint32_t np;

					if (split_postings_positions(p, &pv, &np, &err) < 0 ||
					    (np > 0 && docs[doc].tok[pv[0]] != w))
						bad_pos++;
				}
				if (doc == SPLIT_DOC_END)
					break;
				target = doc + 1;
			}
		}
		split_postings_free(p);
	}
	ok(bad_df == 0, "doc freq of every word matches the model (%d bad)", bad_df);
	ok(bad_docs == 0, "postings of every word list exactly the docs that contain it (%d bad)", bad_docs);
	ok(bad_tf == 0, "term frequencies match (%d bad)", bad_tf);
	ok(bad_pos == 0, "positions match (%d bad)", bad_pos);
	ok(bad_adv == 0, "advance() lands on the first doc >= target (%d bad)", bad_adv);
	ok(checked > 1000, "checked %d (term, doc) pairs", checked);
	{
		struct split_term_info ti;

		ok(split_reader_term_lookup(r, fb, "zulu", 4, &ti, &err) == 0, "an absent term is not found");
		ok(split_reader_term_lookup(r, fb, "Bravo", 5, &ti, &err) == 0,
		   "terms are lowercased by the default tokenizer");
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_term_iter(struct split_reader *r, int n)
{
	struct qw_err err = QW_ERR_INIT;
	int fb = find(r, "body", VK_TEXT);
	const char *want[NWORDS];
	char low[NWORDS][32];
	int nw = 0, got = 0, bad = 0, k;
	struct split_terms *it;
	const uint8_t *t;
	size_t tl;
	struct split_term_info ti;

	for (int w = 0; w < NWORDS; w++) {
		int used = 0;

		for (int i = 0; i < n && !used; i++)
			for (int j = 0; j < docs[i].ntok; j++)
				used |= docs[i].tok[j] == w;
		lower(vocab[w], low[w]);
		if (used && strcmp(low[w], "echo") >= 0)
			want[nw++] = low[w];
	}
	qsort(want, (size_t)nw, sizeof(*want), cmp_str);
	it = split_terms_open(r, fb, "echo", 4, &err);
	while (it && (k = split_terms_next(it, &t, &tl, &ti, &err)) == 1) {
		if (got >= nw || tl != strlen(want[got]) || memcmp(t, want[got], tl) != 0)
			bad++;
		got++;
	}
	split_terms_free(it);
	ok(it && bad == 0 && got == nw, "terms from 'echo' on are the sorted model words (%d of %d)", got, nw);
	it = split_terms_open(r, fb, "ec", 2, &err);
	ok(it && split_terms_next(it, &t, &tl, &ti, &err) == 1 && tl == 4 && memcmp(t, "echo", 4) == 0,
	   "a lower bound between terms starts at the next term");
	split_terms_free(it);
}

/*
 * The block bounds that range scans skip by: blocks tile the values in
 * order, every value lies in its block's bounds, and split_column_values()
 * decodes what split_column_value() does. Returns the number of blocks
 * whose bounds are narrower than the column's.
 */
static int check_blocks(struct split_column *c, const char *name)
{
	uint64_t nb = split_column_num_blocks(c), next = 0, mn = 0, mx = 0, narrow = 0;
	int bad = 0;

	split_column_min_max(c, &mn, &mx);
	for (uint64_t b = 0; b < nb; b++) {
		uint64_t first, end, vmin, vmax, vals[COL_VAL_BLOCK];

		split_column_block(c, b, &first, &end, &vmin, &vmax);
		if (first != next || end <= first || end - first > COL_VAL_BLOCK) {
			bad++;
			break;
		}
		next = end;
		split_column_values(c, first, (size_t)(end - first), vals);
		for (uint64_t i = first; i < end; i++)
			if (vals[i - first] != split_column_value(c, i) || vals[i - first] < vmin ||
			    vals[i - first] > vmax)
				bad++;
		narrow += vmin > mn || vmax < mx;
	}
	ok(bad == 0 && nb > 0, "%s: %llu blocks tile the values, each within its bounds (%d bad)", name,
	   (unsigned long long)nb, bad);
	return (int)narrow;
}

static void check_numeric(struct split_reader *r, int n)
{
	struct qw_err err = QW_ERR_INIT;
	int fnum = find(r, "n", VK_I64), ff = find(r, "f", VK_F64), fts = find(r, "ts", VK_DATETIME);
	struct split_terms *it;
	uint8_t lo[8];
	uint64_t want = 0, got = 0;
	const uint8_t *t;
	size_t tl;
	struct split_term_info ti;
	struct split_column *c;
	int bad = 0;

	ok(fnum >= 0 && ff >= 0 && fts >= 0, "n, f and ts fields exist with their kinds");
	if (fnum < 0 || ff < 0 || fts < 0)
		return;
	for (int i = 0; i < n; i++)
		want += docs[i].n >= -100 && docs[i].n <= 100;
	termkey_put(termkey_from_i64(-100), lo);
	it = split_terms_open(r, fnum, lo, 8, &err);
	while (it && split_terms_next(it, &t, &tl, &ti, &err) == 1) {
		if (tl != 8 || termkey_to_i64(termkey_get(t)) > 100)
			break;
		got += ti.doc_freq;
	}
	split_terms_free(it);
	ok(got == want, "a range walk of n in [-100, 100] counts %llu docs (model %llu)",
	   (unsigned long long)got, (unsigned long long)want);

	c = split_column_open(r, fnum, &err);
	ok(c && split_column_single_valued(c), "n has a single-valued column");
	for (int i = 0; c && i < n; i++) {
		uint64_t v;

		if (!split_column_first(c, (uint32_t)i, &v) || termkey_to_i64(v) != docs[i].n)
			bad++;
	}
	ok(c && bad == 0, "the n column holds every doc's value (%d bad)", bad);
	if (c)
		check_blocks(c, "n");
	split_column_free(c);

	bad = 0;
	c = split_column_open(r, ff, &err);
	for (int i = 0; c && i < n; i++) {
		uint64_t v;

		if (!split_column_first(c, (uint32_t)i, &v) || termkey_to_f64(v) != docs[i].f)
			bad++;
	}
	ok(c && bad == 0, "the f column holds every doc's value (%d bad)", bad);
	split_column_free(c);

	bad = 0;
	c = split_column_open(r, fts, &err);
	for (int i = 0; c && i < n; i++) {
		uint64_t v;

		if (!split_column_first(c, (uint32_t)i, &v) ||
		    termkey_to_i64(v) != docs[i].ts * 1000000LL)
			bad++;
	}
	ok(c && bad == 0, "the ts column holds microseconds (%d bad)", bad);
	/* nearly sorted times: most blocks are narrower than the column */
	ok(c && check_blocks(c, "ts") > (int)split_column_num_blocks(c) / 2,
	   "ts: most blocks bound fewer values than the whole column");
	{
		uint64_t mn, mx;
		long long wmin = docs[0].ts, wmax = docs[0].ts;
		int64_t a, b;

		for (int i = 0; i < n; i++) {
			if (docs[i].ts < wmin)
				wmin = docs[i].ts;
			if (docs[i].ts > wmax)
				wmax = docs[i].ts;
		}
		ok(c && split_column_min_max(c, &mn, &mx) && termkey_to_i64(mn) == wmin * 1000000 &&
		   termkey_to_i64(mx) == wmax * 1000000, "column min and max are the model's");
		ok(split_reader_time_range(r, &a, &b) && a == wmin * 1000000 && b == wmax * 1000000,
		   "the split's time range is the model's");
	}
	split_column_free(c);
}

static void check_dict_columns(struct split_reader *r, int n)
{
	struct qw_err err = QW_ERR_INIT;
	int fl = find(r, "level", VK_TEXT), ft = find(r, "tags", VK_TEXT), fi = find(r, "ip", VK_IP);
	struct split_column *c;
	int bad = 0;

	c = fl >= 0 ? split_column_open(r, fl, &err) : NULL;
	ok(c && split_column_is_dict(c) && split_column_dict_size(c) == 3, "level has a dictionary column of 3 values");
	for (int i = 0; c && i < n; i++) {
		uint64_t v;
		const uint8_t *t;
		size_t tl;

		if (!split_column_first(c, (uint32_t)i, &v) || split_column_dict_term(c, v, &t, &tl) < 0 ||
		    tl != strlen(levels[docs[i].level]) || memcmp(t, levels[docs[i].level], tl) != 0)
			bad++;
	}
	ok(c && bad == 0, "level ordinals map back to each doc's level (%d bad)", bad);
	split_column_free(c);

	bad = 0;
	c = ft >= 0 ? split_column_open(r, ft, &err) : NULL;
	ok(c && !split_column_single_valued(c), "tags has a multi-valued column");
	for (int i = 0; c && i < n; i++) {
		uint64_t s, e;

		split_column_doc_range(c, (uint32_t)i, &s, &e);
		if (e - s != (uint64_t)docs[i].ntags) {
			bad++;
			continue;
		}
		for (int k = 0; k < docs[i].ntags; k++) {
			const uint8_t *t;
			size_t tl;

			if (split_column_dict_term(c, split_column_value(c, s + (uint64_t)k), &t, &tl) < 0 ||
			    tl != 1 || t[0] != tagv[docs[i].tags[k]][0])
				bad++;
		}
	}
	ok(c && bad == 0, "tags values per doc are the model's, in order (%d bad)", bad);
	split_column_free(c);

	bad = 0;
	c = fi >= 0 ? split_column_open(r, fi, &err) : NULL;
	for (int i = 0; c && i < n; i++) {
		uint64_t v;
		const uint8_t *t;
		size_t tl;
		bool has = split_column_first(c, (uint32_t)i, &v);

		if (has != (bool)docs[i].has_ip)
			bad++;
		else if (has && (split_column_dict_term(c, v, &t, &tl) < 0 || tl != 16 ||
				 t[15] != docs[i].ip3 || t[12] != 10 || t[10] != 0xff))
			bad++;
	}
	ok(c && bad == 0, "the sparse ip column has exactly the docs with an ip (%d bad)", bad);
	split_column_free(c);
	{
		int idx[4];

		ok(split_reader_find_path(r, "attrs.size", idx, 4) == 2,
		   "a json path seen as number and string is two fields");
	}
	{
		struct split_term_info ti;
		struct split_postings *p = NULL;
		int fsec = find(r, "secret", VK_TEXT);
		uint32_t d = SPLIT_DOC_END;

		if (fsec >= 0 && split_reader_term_lookup(r, fsec, "s7", 2, &ti, &err) == 1 &&
		    ti.doc_freq == 1)
			p = split_postings_open(r, &ti, false, &err);
		ok(p && split_postings_next(p, &d, &err) == 0 && d == 7,
		   "a field that is not stored is still indexed");
		split_postings_free(p);
	}
}

static void check_docs(struct split_reader *r, int n)
{
	struct qw_err err = QW_ERR_INIT;
	int bad = 0;

	for (int i = n - 1; i >= 0; i -= (i % 3 == 0 ? 1 : 2)) {
		const char *j;
		size_t jl;
		json_t *got, *want;

		if (split_reader_doc(r, (uint32_t)i, &j, &jl, &err) < 0) {
			bad++;
			continue;
		}
		got = json_loadb(j, jl, 0, NULL);
		want = json_loads(docs[i].canon, 0, NULL);
		json_object_del(want, "secret");
		if (!got || !json_equal(got, want))
			bad++;
		json_decref(got);
		json_decref(want);
	}
	ok(bad == 0, "stored docs are the canonical docs without stored:false fields (%d bad)", bad);
}

static void check_meta(struct split_reader *r, int n)
{
	json_t *m = split_reader_metadata(r), *tags = json_object_get(m, "tags");
	char *s = json_dumps(tags, JSON_COMPACT);

	ok(json_integer_value(json_object_get(m, "num_docs")) == n, "metadata num_docs is %d", n);
	ok(s && strcmp(s, "[\"level!\",\"level:ERROR\",\"level:INFO\",\"level:WARN\"]") == 0,
	   "tags are Quickwit's: field! and field:value (%s)", s ? s : "null");
	free(s);
}

/* Write a scratch file quickly (no fsync: it is read back at once). */
static int put_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ret = 0;

	if (!f)
		return -1;
	if (n && fwrite(p, 1, n, f) != n)
		ret = -1;
	if (fclose(f) != 0)
		ret = -1;
	return ret;
}

/* A scratch file name of this process (tests of several builds run at once). */
static char *tmp_path(const char *what)
{
	char name[96];

	snprintf(name, sizeof(name), "qw-split-test-%s-%ld.split", what, (long)getpid());
	return fsutil_join(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
}

static void corruption(const char *path)
{
	struct qw_err err = QW_ERR_INIT;
	struct buf orig = BUF_INIT;
	uint32_t want, got;
	char *tmp = NULL;
	int trunc_bad = 0, flip_bad = 0, errors = 0, same = 0, crashes = 0;
	size_t len;

	if (fsutil_read_all(path, &orig, &err) < 0 || digest(path, &want, &err) < 0) {
		ok(0, "read the small split: %s", err.msg);
		buf_free(&orig);
		return;
	}
	len = orig.len;
	tmp = tmp_path("corrupt");
	for (size_t cut = 0; cut < len; cut += (cut < 64 || len - cut < 160) ? 1 : 97) {
		err_clear(&err);
		if (put_file(tmp, orig.data, cut) < 0) {
			crashes++;
			break;
		}
		if (digest(tmp, &got, &err) == 0)
			trunc_bad++;     /* a truncated split must never open */
		else if (err.code != EX_DATAERR)
			trunc_bad++;
	}
	ok(trunc_bad == 0 && crashes == 0, "every truncation is a data error (%d not)", trunc_bad);
	for (size_t at = 0; at < len; at += 1 + at % 29) {
		orig.data[at] ^= (char)(1u << (at % 8));
		err_clear(&err);
		if (put_file(tmp, orig.data, len) < 0)
			crashes++;
		else if (digest(tmp, &got, &err) < 0)
			errors += err.code == EX_DATAERR, flip_bad += err.code != EX_DATAERR;
		else if (got == want)
			same++;
		else
			flip_bad++;
		orig.data[at] ^= (char)(1u << (at % 8));
	}
	ok(flip_bad == 0 && crashes == 0,
	   "every flipped byte is a data error or reads the same (%d errors, %d same, %d wrong)",
	   errors, same, flip_bad);
	unlink(tmp);
	free(tmp);
	buf_free(&orig);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Recompute the footer and trailer checksums of a split held in b[0..len). */
static void refresh_footer(uint8_t *b, size_t len)
{
	uint8_t *tr = b + len - SPLIT_TRAILER_LEN;
	uint64_t footer_len = 0;

	for (int i = 0; i < 8; i++)
		footer_len |= (uint64_t)tr[i] << (8 * i);
	put_u32le(tr + 20, checksum_crc32c(0, b + len - footer_len, footer_len - SPLIT_TRAILER_LEN));
	put_u32le(tr + 28, checksum_crc32c(0, tr, 28));
}

/*
 * describe --verify also checks what readers parse lazily: a split whose
 * section checksums all hold but whose doc store block index, or a field
 * norms unit, is corrupt still opens, and verify must refuse it.
 */
static void verify_lazy(const char *path)
{
	struct qw_err err = QW_ERR_INIT;
	struct buf b = BUF_INIT;
	char *tmp = tmp_path("lazy");
	json_t *d;

	for (int what = 0; what < 2; what++) {
		uint8_t *u, *tr;
		uint64_t footer_len = 0, start;
		uint32_t hot_len, meta_len;
		bool made = false;

		buf_reset(&b);
		err_clear(&err);
		if (fsutil_read_all(path, &b, &err) < 0 || b.len < SPLIT_TRAILER_LEN)
			goto check;
		u = (uint8_t *)b.data;
		tr = u + b.len - SPLIT_TRAILER_LEN;
		for (int i = 0; i < 8; i++)
			footer_len |= (uint64_t)tr[i] << (8 * i);
		hot_len = get_u32le(tr + 8);
		meta_len = get_u32le(tr + 12);
		start = b.len - footer_len;
		if (what == 0) {
			/*
			 * The hotcache ends with the last doc store block: varint
			 * docs, raw length, stored length, u32 crc, varint seek
			 * points (0 in a block this small, one byte). One more
			 * stored byte runs past the doc store section.
			 */
			uint8_t *last = u + start + hot_len - 6;

			if (*last < 0x7f) {
				(*last)++;
				made = true;
			}
		} else {
			/* a flipped byte in the first norms unit, under a fixed section crc */
			uint8_t *t = u + start + hot_len + meta_len + 4;

			for (int i = 0; i < SEC_COUNT; i++) {
				uint8_t nl = *t;
				uint64_t off = 0, slen = 0;

				for (int k = 0; k < 8; k++) {
					off |= (uint64_t)t[1 + nl + k] << (8 * k);
					slen |= (uint64_t)t[1 + nl + 8 + k] << (8 * k);
				}
				if (i == SEC_FIELDNORMS && slen > 0) {
					u[off] ^= 0x5a;
					put_u32le(t + 1 + nl + 16, checksum_crc32c(0, u + off, slen));
					made = true;
				}
				t += 1 + nl + 20;
			}
		}
		refresh_footer(u, b.len);
		if (made && put_file(tmp, b.data, b.len) < 0)
			made = false;
	check:
		d = made ? split_reader_describe(tmp, false, NULL, &err) : NULL;
		ok(d != NULL, "%s: the split still opens: %s",
		   what ? "bad norms" : "bad doc store index", err.msg);
		json_decref(d);
		err_clear(&err);
		d = made ? split_reader_describe(tmp, true, NULL, &err) : NULL;
		ok(made && !d && err.code == EX_DATAERR, "%s: describe --verify refuses it: %s",
		   what ? "bad norms" : "bad doc store index", err.msg);
		json_decref(d);
	}
	unlink(tmp);
	free(tmp);
	buf_free(&b);
}

/* A split of a format version outside [SPLIT_VERSION_MIN, SPLIT_VERSION] is
 * refused as a data error. */
static void other_version(const char *path, uint32_t version)
{
	struct qw_err err = QW_ERR_INIT;
	struct buf b = BUF_INIT;
	struct split_reader *r = NULL;
	char *tmp = tmp_path("version");

	if (fsutil_read_all(path, &b, &err) == 0 && b.len >= SPLIT_TRAILER_LEN) {
		uint8_t *tr = (uint8_t *)b.data + b.len - SPLIT_TRAILER_LEN;
		uint32_t crc;

		tr[24] = (uint8_t)version;  /* the version, then a valid trailer crc */
		crc = checksum_crc32c(0, tr, 28);
		for (int i = 0; i < 4; i++)
			tr[28 + i] = (uint8_t)(crc >> (8 * i));
		if (put_file(tmp, b.data, b.len) == 0)
			r = split_reader_open(tmp, &err);
	}
	ok(!r && err.code == EX_DATAERR && strstr(err.msg, "unsupported format version"),
	   "a split of format version %u is refused: %s", version, err.msg);
	split_reader_close(r);
	unlink(tmp);
	free(tmp);
	buf_free(&b);
}

/*
 * A split of format version 2 (tests/data/splits/v2-300docs.split, made by
 * `split_test --build 300` at version 2: docs after a header of varint
 * lengths) is still read, and merging it rewrites its doc store blocks in
 * the current layout instead of copying them.
 */
static void read_version_2(struct index_config *cfg, const char *dir, const char *out)
{
	struct qw_err err = QW_ERR_INIT;
	const char *src = getenv("QW_SRCDIR");
	char path[512], *parts[1] = { path };
	int lo[1] = { 0 };
	struct split_reader *r;

	snprintf(path, sizeof(path), "%s/tests/data/splits/v2-300docs.split", src ? src : ".");
	r = split_reader_open(path, &err);
	ok(r && split_reader_format_version(r) == 2 && split_reader_num_docs(r) == 300,
	   "a split of format version 2 opens: %s", err.msg);
	if (r)
		check_docs(r, 300);
	split_reader_close(r);
	ok(merge_parts(cfg, parts, lo, 1, false, dir, out, &err) == 0, "merge the version 2 split: %s",
	   err.msg);
	r = split_reader_open(out, &err);
	ok(r && split_reader_format_version(r) == SPLIT_VERSION && split_reader_num_docs(r) == 300,
	   "the merged split is of version %d: %s", SPLIT_VERSION, err.msg);
	if (r)
		check_docs(r, 300);
	split_reader_close(r);
}

int main(int argc, char **argv)
{
	struct qw_err err = QW_ERR_INIT;
	struct index_config *cfg;
	struct split_reader *r;
	char dir[256], out[256], small[256];
	const char *tmpd = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	json_t *desc;

	if (argc == 3 && strcmp(argv[1], "--digest") == 0) {
		uint32_t h;

		if (digest(argv[2], &h, &err) < 0) {
			fprintf(stderr, "split_test: %s\n", err.msg);
			return err.code ? err.code : 1;
		}
		printf("%08x\n", h);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--build") == 0) {
		/* --build N FILE: the generated split of N docs, for the bats test */
		int n = (int)strtol(argv[2], NULL, 10);

		cfg = load_cfg();
		snprintf(dir, sizeof(dir), "%s.seg", argv[3]);
		if (!cfg || n < 1 || n > NDOCS || build_split(cfg, n, dir, argv[3], &err) < 0) {
			fprintf(stderr, "split_test: %s\n", err.msg);
			return 70;
		}
		fsutil_rm_rf(dir, &err);
		config_free(cfg);
		for (int i = 0; i < NDOCS; i++)
			free(docs[i].canon);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/qw-split-test-%ld", tmpd, (long)getpid());
	snprintf(out, sizeof(out), "%s/qw-split-test-%ld.split", tmpd, (long)getpid());
	snprintf(small, sizeof(small), "%s/qw-split-test-small-%ld.split", tmpd, (long)getpid());

	cfg = load_cfg();
	ok(cfg != NULL, "test config loads");
	if (!cfg)
		return tap_done();
	ok(build_split(cfg, NDOCS, dir, out, &err) == 0, "build and bundle %d docs: %s", NDOCS, err.msg);
	r = split_reader_open(out, &err);
	ok(r != NULL, "open the split: %s", err.msg);
	if (r) {
		ok(split_reader_num_docs(r) == NDOCS, "num_docs");
		check_meta(r, NDOCS);
		check_body(r, NDOCS);
		check_norms(r, NDOCS);
		check_term_iter(r, NDOCS);
		check_numeric(r, NDOCS);
		check_dict_columns(r, NDOCS);
		check_docs(r, NDOCS);
		split_reader_close(r);
	}
	desc = split_reader_describe(out, true, NULL, &err);
	ok(desc && json_is_true(json_object_get(desc, "verified")) &&
	   json_array_size(json_object_get(desc, "sections")) == SEC_COUNT + 1,
	   "describe --verify checks every checksum: %s", err.msg);
	json_decref(desc);

	/* 512 docs: three lists of this split end on a block boundary, with no
	 * tail (df 128, 256 or 384); digest() checks next_docs() on every term */
	{
		uint32_t h512;

		ok(build_split(cfg, 512, dir, small, &err) == 0 && digest(small, &h512, &err) == 0,
		   "a split of 512 docs reads back, lists ending on a block boundary: %s", err.msg);
		unlink(small);
		err_clear(&err);
	}

	/* a split of one document: every list is inline, every column has one value */
	ok(build_split(cfg, 1, dir, small, &err) == 0, "build a one-doc split: %s", err.msg);
	r = split_reader_open(small, &err);
	ok(r && split_reader_num_docs(r) == 1, "open the one-doc split: %s", err.msg);
	if (r) {
		struct split_term_info ti;
		struct split_postings *p;
		char term[32];
		uint32_t doc = 0;
		const uint32_t *pv;
		uint32_t np = 0;
		const char *j;
		size_t jl;
		int fb = find(r, "body", VK_TEXT);

		lower(vocab[docs[0].tok[0]], term);
		p = split_reader_term_lookup(r, fb, term, strlen(term), &ti, &err) == 1 ?
			split_postings_open(r, &ti, true, &err) : NULL;
		ok(p && split_postings_next(p, &doc, &err) == 0 && doc == 0 &&
		   split_postings_positions(p, &pv, &np, &err) == 0 && np >= 1 && pv[0] == 0 &&
		   split_postings_next(p, &doc, &err) == 0 && doc == SPLIT_DOC_END,
		   "the first word of the only doc is at position 0, then the list ends");
		split_postings_free(p);
		ok(split_reader_doc(r, 0, &j, &jl, &err) == 0 && jl > 0 && j[0] == '{',
		   "the only doc is stored");
		ok(split_reader_doc(r, 1, &j, &jl, &err) < 0, "doc 1 does not exist");
		split_reader_close(r);
	}

	err_clear(&err);
	ok(build_split(cfg, 150, dir, small, &err) == 0, "build a small split: %s", err.msg);
	corruption(small);
	read_version_2(cfg, dir, out);
	other_version(small, SPLIT_VERSION_MIN - 1);
	other_version(small, SPLIT_VERSION + 1);
	verify_lazy(small);

	check_merge(cfg, tmpd);
	fsutil_rm_rf(dir, &err);
	unlink(out);
	unlink(small);
	config_free(cfg);
	for (int i = 0; i < NDOCS; i++)
		free(docs[i].canon);
	return tap_done();
}
