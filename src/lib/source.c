/* source: see source.h */
#include "source.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "buf.h"
#include "xalloc.h"

#define READ_CHUNK (256 * 1024)
#define SNIFF_BYTES 512
#define ZSTD_SNIFF_BYTES (256 * 1024 + 512)   /* more than a whole zstd block */

/* One open input file (plain, compressed, or an archive with entries). */
struct file {
	char *path;                 /* as given or as found */
	char *abs;                  /* absolute path, "-" for stdin */
	int fd;
	bool is_stdin;
	struct archive *ar;         /* NULL: plain, read with read() */
	bool raw_format;            /* libarchive raw format: the whole file is one partition */
	bool entry_open;            /* an archive entry is being read */
	/* bytes read while sniffing, given back first */
	char *sniff;
	size_t sniff_len, sniff_off, sniff_cap;
	char *chunk;                /* libarchive read callback buffer, compressed input for zstd */
	ZSTD_DStream *zstd;         /* a zstd file (not a tar inside): decompressed directly */
	ZSTD_inBuffer zin;
	bool zstd_eof;
	bool zstd_frame_done;       /* the last frame ended: EOF here is not a truncation */
	dev_t dev;
	ino_t ino;
};

/* A followed plain file whose end was reached. */
struct watch {
	char *path;                 /* path to stat */
	char *base_id;              /* absolute path */
	int fd;
	dev_t dev;
	ino_t ino;
	int rotation;               /* 0: id is base_id, else base_id#rotation */
	char *id;
	uint64_t pos;               /* offset of the next unread byte in fd */
	struct buf partial;         /* an unterminated last line */
	bool ready;                 /* poll found something to read */
	bool dead;                  /* replaced by a newer file; drop once drained */
};

struct source {
	struct source_opts opts;
	char **inputs;
	size_t n_inputs, next_input;
	/* files of the current input (expanded glob or directory) */
	char **files;
	size_t n_files, next_file, cap_files;
	/* every file path seen (absolute), for follow mode */
	char **seen;
	size_t n_seen, cap_seen;

	struct file *file;          /* current file */
	struct source_part part;    /* current partition */
	char *part_id, *part_name;
	bool part_open;
	struct watch *cur_watch;    /* current partition is a followed file */

	struct watch **watches;
	size_t n_watches, cap_watches;

	/* line buffer of the current partition */
	struct buf in;
	size_t start, scan;
	bool eof;
	bool skipping;
	uint64_t skip_len;
	struct buf keep;
};

/* ---------------------------------------------------------------- inputs */

static char *abs_path(const char *p)
{
	char cwd[PATH_MAX];
	struct buf b = BUF_INIT;

	if (p[0] == '/')
		return xstrdup(p);
	if (!getcwd(cwd, sizeof(cwd)))
		return xstrdup(p);
	buf_adds(&b, cwd);
	if (!(p[0] == '.' && p[1] == '/'))
		buf_addc(&b, '/');
	buf_adds(&b, p[0] == '.' && p[1] == '/' ? p + 1 : p);
	return buf_detach(&b, NULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_add(struct strv *sv, char *s)
{
	XGROW(sv->v, sv->n + 1, sv->cap);
	sv->v[sv->n++] = s;
}

/* Regular files under dir, recursively. */
static int walk_dir(const char *dir, struct strv *out, int depth, struct qw_err *err)
{
	DIR *d;
	struct dirent *de;
	struct strv names = { NULL, 0, 0 };
	int rc = 0;

	if (depth > 64)
		return 0;
	d = opendir(dir);
	if (!d)
		return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
				 "cannot open directory '%s'", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
					     (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		strv_add(&names, xstrdup(de->d_name));
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		struct buf p = BUF_INIT;
		struct stat st;

		buf_adds(&p, dir);
		if (p.len && p.data[p.len - 1] != '/')
			buf_addc(&p, '/');
		buf_adds(&p, names.v[i]);
		if (stat(p.data, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (walk_dir(p.data, out, depth + 1, err))
				rc = -1;
			buf_free(&p);
		} else if (stat(p.data, &st) == 0 && S_ISREG(st.st_mode)) {
			strv_add(out, buf_detach(&p, NULL));
		} else {
			buf_free(&p);
		}
	}
	for (size_t i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	return rc;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Expand one input into files (sorted for globs and directories). */
static int expand_input(const char *in, struct strv *out, struct qw_err *err)
{
	struct stat st;

	if (strcmp(in, "-") == 0) {
		strv_add(out, xstrdup("-"));
		return 0;
	}
	if (stat(in, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return walk_dir(in, out, 0, err);
		strv_add(out, xstrdup(in));
		return 0;
	}
	if (has_glob(in)) {
		glob_t g;
		int r = glob(in, 0, NULL, &g);

		if (r == GLOB_NOMATCH)
			return err_set(err, EX_NOINPUT, "no file matches '%s'", in);
		if (r != 0)
			return err_set(err, EX_IOERR, "cannot expand '%s'", in);
		for (size_t i = 0; i < g.gl_pathc; i++) {
			if (stat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode))
				(void)walk_dir(g.gl_pathv[i], out, 0, NULL);   /* unreadable dirs are skipped */
			else
				strv_add(out, xstrdup(g.gl_pathv[i]));
		}
		globfree(&g);
		return 0;
	}
	return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot open '%s'", in);
}

static bool seen_has(struct source *s, const char *abs)
{
	for (size_t i = 0; i < s->n_seen; i++)
		if (strcmp(s->seen[i], abs) == 0)
			return true;
	return false;
}

static void seen_add(struct source *s, const char *abs)
{
	XGROW(s->seen, s->n_seen + 1, s->cap_seen);
	s->seen[s->n_seen++] = xstrdup(abs);
}

struct source *source_new(const char *const *inputs, size_t n, const struct source_opts *opts)
{
	struct source *s = xcalloc(1, sizeof(*s));

	s->opts = *opts;
	s->inputs = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		s->inputs[i] = xstrdup(inputs[i]);
	s->n_inputs = n;
	return s;
}

/* ---------------------------------------------------------------- files */

static la_ssize_t file_read_cb(struct archive *a, void *ctx, const void **out)
{
	struct file *f = ctx;
	ssize_t r;

	(void)a;
	if (f->sniff_off < f->sniff_len) {
		*out = f->sniff + f->sniff_off;
		r = (ssize_t)(f->sniff_len - f->sniff_off);
		f->sniff_off = f->sniff_len;
		return r;
	}
	do
		r = read(f->fd, f->chunk, READ_CHUNK);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		archive_set_error(a, errno, "read error: %s", strerror(errno));
		return -1;
	}
	*out = f->chunk;
	return r;
}

static void file_close(struct file *f)
{
	if (!f)
		return;
	if (f->ar)
		archive_read_free(f->ar);
	if (f->zstd)
		ZSTD_freeDStream(f->zstd);
	if (f->fd >= 0 && !f->is_stdin)
		close(f->fd);
	free(f->chunk);
	free(f->sniff);
	free(f->path);
	free(f->abs);
	free(f);
}

static bool is_compressed_or_archive(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return true;                                    /* gzip */
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return true;                                    /* zstd */
	if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
		return true;                                    /* xz */
	if (n >= 3 && memcmp(p, "BZh", 3) == 0)
		return true;                                    /* bzip2 */
	if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
		return true;                                    /* zip */
	if (n >= 4 && p[0] == 0x04 && p[1] == 0x22 && p[2] == 0x4d && p[3] == 0x18)
		return true;                                    /* lz4 */
	if (n >= 262 && memcmp(p + 257, "ustar", 5) == 0)
		return true;                                    /* tar */
	return false;
}

/* A zstd file whose first decompressed bytes are not a tar header. */
static bool zstd_plain(struct file *f)
{
	const unsigned char *p = (const unsigned char *)f->sniff;
	ZSTD_DStream *z;
	char head[512];
	ZSTD_inBuffer in = { f->sniff, f->sniff_len, 0 };
	ZSTD_outBuffer out = { head, sizeof(head), 0 };
	bool plain = false;

	if (f->sniff_len < 4 || p[0] != 0x28 || p[1] != 0xb5 || p[2] != 0x2f || p[3] != 0xfd)
		return false;
	z = ZSTD_createDStream();
	if (!z)
		return false;
	if (!ZSTD_isError(ZSTD_initDStream(z))) {
		while (in.pos < in.size && out.pos < out.size) {
			size_t r = ZSTD_decompressStream(z, &out, &in);

			if (ZSTD_isError(r) || r == 0)
				break;
		}
		/* enough to tell: a tar has "ustar" at 257 */
		plain = (out.pos >= 262 && memcmp(head + 257, "ustar", 5) != 0) ||
			(out.pos < 262 && in.pos == in.size && f->sniff_len < f->sniff_cap);
	}
	ZSTD_freeDStream(z);
	return plain;
}

static int file_open(const char *path, struct file **out, struct qw_err *err)
{
	struct file *f = xcalloc(1, sizeof(*f));
	struct stat st;
	ssize_t r;

	f->fd = -1;
	f->path = xstrdup(path);
	if (strcmp(path, "-") == 0) {
		f->is_stdin = true;
		f->fd = 0;
		f->abs = xstrdup("-");
	} else {
		f->abs = abs_path(path);
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0) {
			err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot open '%s'", path);
			goto fail;
		}
		if (fstat(f->fd, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				err_set(err, EX_NOINPUT, "'%s' is a directory", path);
				goto fail;
			}
			f->dev = st.st_dev;
			f->ino = st.st_ino;
		}
	}
	/* sniff the first bytes (for zstd, a whole first block: to look inside) */
	f->sniff_cap = SNIFF_BYTES;
	f->sniff = xmalloc(f->sniff_cap);
	while (f->sniff_len < f->sniff_cap) {
		r = read(f->fd, f->sniff + f->sniff_len, f->sniff_cap - f->sniff_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_errno(err, EX_IOERR, "cannot read '%s'", path);
			goto fail;
		}
		if (r == 0)
			break;
		f->sniff_len += (size_t)r;
		if (f->sniff_cap == SNIFF_BYTES && f->sniff_len >= 4 &&
		    memcmp(f->sniff, "\x28\xb5\x2f\xfd", 4) == 0) {
			f->sniff_cap = ZSTD_SNIFF_BYTES;
			f->sniff = xrealloc(f->sniff, f->sniff_cap);
		}
	}
	if (zstd_plain(f)) {
		/* a zstd file that is not a tar: decompressed by libzstd, without libarchive */
		f->chunk = xmalloc(READ_CHUNK);
		f->zstd = ZSTD_createDStream();
		if (!f->zstd || ZSTD_isError(ZSTD_initDStream(f->zstd))) {
			err_set(err, EX_SOFTWARE, "cannot set up zstd");
			goto fail;
		}
		f->zin.src = f->sniff;
		f->zin.size = f->sniff_len;
		f->zin.pos = 0;
		f->sniff_off = f->sniff_len;
	} else if (is_compressed_or_archive((const unsigned char *)f->sniff, f->sniff_len)) {
		f->chunk = xmalloc(READ_CHUNK);
		f->ar = archive_read_new();
		if (!f->ar) {
			err_set(err, EX_SOFTWARE, "cannot set up libarchive");
			goto fail;
		}
		archive_read_support_filter_all(f->ar);
		archive_read_support_format_tar(f->ar);
		archive_read_support_format_zip(f->ar);
		archive_read_support_format_raw(f->ar);
		if (archive_read_open(f->ar, f, NULL, file_read_cb, NULL) != ARCHIVE_OK) {
			err_set(err, EX_DATAERR, "cannot read '%s': %s", path,
				archive_error_string(f->ar) ? archive_error_string(f->ar) : "unknown format");
			goto fail;
		}
	}
	*out = f;
	return 0;
fail:
	file_close(f);
	return -1;
}

/* ---------------------------------------------------------------- partitions */

static void part_reset_buffer(struct source *s)
{
	buf_reset(&s->in);
	s->start = 0;
	s->scan = 0;
	s->eof = false;
	s->skipping = false;
	s->skip_len = 0;
}

static void set_part(struct source *s, const char *id, const char *name, uint64_t pos)
{
	free(s->part_id);
	free(s->part_name);
	s->part_id = xstrdup(id);
	s->part_name = xstrdup(name);
	memset(&s->part, 0, sizeof(s->part));
	s->part.id = s->part_id;
	s->part.name = s->part_name;
	s->part.pos = pos;
	s->part.line_start = pos;
	s->part.compressed = s->file && (s->file->ar || s->file->zstd);
	s->part_open = true;
	part_reset_buffer(s);
}

void source_rename_part(struct source *s, const char *id)
{
	free(s->part_id);
	s->part_id = xstrdup(id);
	s->part.id = s->part_id;
	if (s->cur_watch) {
		free(s->cur_watch->id);
		s->cur_watch->id = xstrdup(id);
	}
}

/* Read more bytes of the current partition into s->in. Returns bytes read, 0 at EOF, -1 on error. */
static ssize_t fill(struct source *s, struct qw_err *err)
{
	struct file *f = s->file;
	ssize_t r;
	int fd;

	/* compact */
	if (s->start > 0 && (s->start == s->in.len || s->start > s->in.len / 2)) {
		memmove(s->in.data, s->in.data + s->start, s->in.len - s->start);
		s->in.len -= s->start;
		s->scan -= s->start;
		s->start = 0;
	}
	buf_grow(&s->in, READ_CHUNK);
	if (f && f->zstd) {
		ZSTD_outBuffer zo = { s->in.data + s->in.len, READ_CHUNK, 0 };

		while (zo.pos == 0 && !f->zstd_eof) {
			size_t zr;

			if (f->zin.pos == f->zin.size) {
				do
					r = read(f->fd, f->chunk, READ_CHUNK);
				while (r < 0 && errno == EINTR);
				if (r < 0) {
					err_errno(err, EX_IOERR, "cannot read '%s' at offset %llu", s->part.name,
						  (unsigned long long)(s->part.pos + (s->in.len - s->start)));
					return -1;
				}
				if (r == 0) {
					f->zstd_eof = true;
					if (!f->zstd_frame_done) {
						err_set(err, EX_IOERR, "cannot read '%s' at offset %llu: truncated zstd input",
							s->part.name,
							(unsigned long long)(s->part.pos + (s->in.len - s->start)));
						return -1;
					}
					break;
				}
				f->zin.src = f->chunk;
				f->zin.size = (size_t)r;
				f->zin.pos = 0;
			}
			zr = ZSTD_decompressStream(f->zstd, &zo, &f->zin);
			if (ZSTD_isError(zr)) {
				err_set(err, EX_IOERR, "cannot read '%s' at offset %llu: %s", s->part.name,
					(unsigned long long)(s->part.pos + (s->in.len - s->start)),
					ZSTD_getErrorName(zr));
				return -1;
			}
			f->zstd_frame_done = zr == 0;
		}
		r = (ssize_t)zo.pos;
	} else if (f && f->ar) {
		r = archive_read_data(f->ar, s->in.data + s->in.len, READ_CHUNK);
		if (r < 0) {
			err_set(err, EX_IOERR, "cannot read '%s' at offset %llu: %s", s->part.name,
				(unsigned long long)(s->part.pos + (s->in.len - s->start)),
				archive_error_string(f->ar) ? archive_error_string(f->ar) : "read error");
			return -1;
		}
	} else {
		if (f && f->sniff_off < f->sniff_len) {
			size_t n = f->sniff_len - f->sniff_off;

			memcpy(s->in.data + s->in.len, f->sniff + f->sniff_off, n);
			f->sniff_off = f->sniff_len;
			s->in.len += n;
			s->in.data[s->in.len] = '\0';
			return (ssize_t)n;
		}
		fd = s->cur_watch ? s->cur_watch->fd : f->fd;
		do
			r = read(fd, s->in.data + s->in.len, READ_CHUNK);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			err_errno(err, EX_IOERR, "cannot read '%s' at offset %llu", s->part.name,
				  (unsigned long long)(s->part.pos + (s->in.len - s->start)));
			return -1;
		}
	}
	s->in.len += (size_t)r;
	s->in.data[s->in.len] = '\0';
	return r;
}

static void close_part(struct source *s)
{
	struct watch *w = s->cur_watch;

	s->part_open = false;
	if (w) {
		/* remember where the followed file stands, with its unterminated line */
		w->pos = s->part.pos + (s->in.len - s->start);
		buf_reset(&w->partial);
		buf_add(&w->partial, s->in.data + s->start, s->in.len - s->start);
		s->cur_watch = NULL;
	}
}

/* In follow mode, keep a plain file open to watch it once its end is reached. */
static void watch_file(struct source *s)
{
	struct watch *w;
	struct file *f = s->file;

	if (!s->opts.follow || !f || f->ar || f->zstd || f->is_stdin)
		return;
	w = xcalloc(1, sizeof(*w));
	w->path = xstrdup(f->path);
	w->base_id = xstrdup(f->abs);
	w->id = xstrdup(s->part_id);
	w->fd = f->fd;
	f->fd = -1;
	w->dev = f->dev;
	w->ino = f->ino;
	w->pos = s->part.pos + (s->in.len - s->start);
	buf_add(&w->partial, s->in.data + s->start, s->in.len - s->start);
	XGROW(s->watches, s->n_watches + 1, s->cap_watches);
	s->watches[s->n_watches++] = w;
}

static void end_file(struct source *s)
{
	file_close(s->file);
	s->file = NULL;
}

int source_next(struct source *s, struct source_part **part, struct qw_err *err)
{
	struct file *f;

	if (s->part_open) {
		close_part(s);
		if (s->file && !(s->file->ar && !s->file->raw_format)) {
			watch_file(s);
			end_file(s);
		}
	}
	for (;;) {
		/* a followed file with new bytes */
		for (size_t i = 0; i < s->n_watches; i++) {
			struct watch *w = s->watches[i];

			if (!w->ready)
				continue;
			w->ready = false;
			set_part(s, w->id, w->path, w->pos - w->partial.len);
			s->cur_watch = w;
			buf_add(&s->in, w->partial.data, w->partial.len);
			buf_reset(&w->partial);
			*part = &s->part;
			return 1;
		}
		/* the next entry of an open archive */
		if (s->file && s->file->ar) {
			struct archive_entry *e;
			int r;

			f = s->file;
			if (f->raw_format) {
				end_file(s);
				continue;
			}
			r = archive_read_next_header(f->ar, &e);
			if (r == ARCHIVE_EOF) {
				end_file(s);
				continue;
			}
			if (r < ARCHIVE_WARN) {
				err_set(err, EX_IOERR, "cannot read '%s': %s", f->path,
					archive_error_string(f->ar) ? archive_error_string(f->ar) : "bad archive");
				end_file(s);
				return -1;
			}
			if (archive_format(f->ar) == ARCHIVE_FORMAT_RAW) {
				f->raw_format = true;
				set_part(s, f->abs, f->path, 0);
			} else {
				struct buf id = BUF_INIT, name = BUF_INIT;

				if (archive_entry_filetype(e) != AE_IFREG)
					continue;
				buf_addf(&id, "%s!%s", f->abs, archive_entry_pathname(e));
				buf_addf(&name, "%s!%s", f->path, archive_entry_pathname(e));
				set_part(s, id.data, name.data, 0);
				buf_free(&id);
				buf_free(&name);
			}
			*part = &s->part;
			return 1;
		}
		if (s->file) {
			/* a plain file whose partition is done */
			end_file(s);
		}
		/* the next file of the current input */
		if (s->next_file < s->n_files) {
			const char *path = s->files[s->next_file++];
			char *abs = strcmp(path, "-") ? abs_path(path) : xstrdup("-");

			if (strcmp(abs, "-") && seen_has(s, abs)) {
				free(abs);
				continue;
			}
			seen_add(s, abs);
			free(abs);
			if (file_open(path, &f, err))
				return -1;
			s->file = f;
			if (!f->ar) {
				set_part(s, f->abs, f->path, 0);
				*part = &s->part;
				return 1;
			}
			continue;
		}
		/* the next input */
		for (size_t i = 0; i < s->n_files; i++)
			free(s->files[i]);
		free(s->files);
		s->files = NULL;
		s->n_files = s->next_file = s->cap_files = 0;
		if (s->next_input >= s->n_inputs)
			return 0;
		{
			struct strv sv = { NULL, 0, 0 };
			const char *in = s->inputs[s->next_input++];
			int r = expand_input(in, &sv, err);

			s->files = sv.v;
			s->n_files = sv.n;
			s->cap_files = sv.cap;
			if (r)
				return -1;
		}
	}
}

int source_skip(struct source *s, uint64_t pos, struct qw_err *err)
{
	struct file *f = s->file;
	struct stat st;

	if (pos == 0 || !s->part_open)
		return 0;
	if (f && !f->ar && !f->zstd && !f->is_stdin && fstat(f->fd, &st) == 0 &&
	    S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size < pos)
			return 1;
		if (lseek(f->fd, (off_t)pos, SEEK_SET) < 0)
			return err_errno(err, EX_IOERR, "cannot seek '%s'", s->part.name);
		f->sniff_off = f->sniff_len;
		part_reset_buffer(s);
		s->part.pos = s->part.line_start = pos;
		return 0;
	}
	/* compressed, archive entry or pipe: read and drop */
	while (s->part.pos + (s->in.len - s->start) < pos) {
		ssize_t r = fill(s, err);

		if (r < 0)
			return -1;
		if (r == 0)
			return err_set(err, EX_DATAERR,
				       "'%s' is shorter than its checkpoint (%llu bytes) and cannot be reread",
				       s->part.name, (unsigned long long)pos);
		if (s->part.pos + (s->in.len - s->start) <= pos) {
			s->part.pos += s->in.len - s->start;
			s->start = s->scan = s->in.len;
		} else {
			size_t drop = (size_t)(pos - s->part.pos);

			s->start += drop;
			s->scan = s->start;
			s->part.pos = pos;
		}
	}
	s->part.line_start = s->part.pos;
	return 0;
}

enum source_line source_read_line(struct source *s, const char **line, size_t *len,
				  struct qw_err *err)
{
	size_t max = s->opts.max_line;

	if (!s->part_open)
		return SRC_END;
	for (;;) {
		char *nl = NULL;

		if (s->scan < s->in.len)
			nl = memchr(s->in.data + s->scan, '\n', s->in.len - s->scan);
		if (nl) {
			size_t end = (size_t)(nl - s->in.data);
			size_t n = end - s->start;

			s->part.line_start = s->part.pos - (s->skipping ? s->skip_len : 0);
			if (s->skipping) {
				s->part.line_len = s->skip_len + n;
				s->part.pos += n + 1;
				s->start = s->scan = end + 1;
				s->skipping = false;
				*line = s->keep.data;
				*len = s->keep.len;
				return SRC_TOO_LONG;
			}
			s->part.line_len = n;
			s->part.pos += n + 1;
			s->start = s->scan = end + 1;
			if (max && n > max) {
				buf_reset(&s->keep);
				buf_add(&s->keep, s->in.data + end - n,
					n < SOURCE_TOO_LONG_KEEP ? n : SOURCE_TOO_LONG_KEEP);
				*line = s->keep.data;
				*len = s->keep.len;
				return SRC_TOO_LONG;
			}
			*line = s->in.data + end - n;
			*len = n;
			return SRC_LINE;
		}
		s->scan = s->in.len;
		/* no newline yet: a line over the limit is dropped as we go */
		if (max && s->in.len - s->start > max) {
			size_t n = s->in.len - s->start;

			if (!s->skipping) {
				s->skipping = true;
				s->skip_len = 0;
				buf_reset(&s->keep);
				buf_add(&s->keep, s->in.data + s->start,
					n < SOURCE_TOO_LONG_KEEP ? n : SOURCE_TOO_LONG_KEEP);
			}
			s->skip_len += n;
			s->part.pos += n;
			s->start = s->scan = s->in.len;
		}
		if (!s->eof) {
			ssize_t r = fill(s, err);

			if (r < 0) {
				s->part_open = false;
				return SRC_ERROR;
			}
			if (r == 0)
				s->eof = true;
			continue;
		}
		/* end of input */
		if (s->opts.follow && s->file && !s->file->ar && !s->file->zstd && !s->file->is_stdin)
			return SRC_AGAIN;
		if (s->cur_watch)
			return SRC_AGAIN;
		if (s->start < s->in.len || s->skipping) {
			size_t n = s->in.len - s->start;

			s->part.line_start = s->part.pos - (s->skipping ? s->skip_len : 0);
			s->part.pos += n;
			s->start = s->scan = s->in.len;
			if (s->skipping) {
				s->part.line_len = s->skip_len + n;
				s->skipping = false;
				*line = s->keep.data;
				*len = s->keep.len;
				return SRC_TOO_LONG;
			}
			s->part.line_len = n;
			if (max && n > max) {
				buf_reset(&s->keep);
				buf_add(&s->keep, s->in.data + s->in.len - n,
					n < SOURCE_TOO_LONG_KEEP ? n : SOURCE_TOO_LONG_KEEP);
				*line = s->keep.data;
				*len = s->keep.len;
				return SRC_TOO_LONG;
			}
			*line = s->in.data + s->in.len - n;
			*len = n;
			return SRC_LINE;
		}
		return SRC_END;
	}
}

/* ---------------------------------------------------------------- follow */

int source_poll(struct source *s, struct qw_err *err)
{
	int found = 0;
	size_t n = s->n_watches;

	(void)err;
	for (size_t i = 0; i < n; i++) {
		struct watch *w = s->watches[i];
		struct stat st, pst;

		if (w->dead || fstat(w->fd, &st) != 0)
			continue;
		if ((uint64_t)st.st_size > w->pos) {
			w->ready = true;
			found = 1;
			continue;
		}
		if (stat(w->path, &pst) != 0)
			continue;
		if (pst.st_dev != w->dev || pst.st_ino != w->ino ||
		    (uint64_t)pst.st_size < w->pos) {
			/* rotated (a new file at the path) or truncated: a new partition */
			struct watch *nw = xcalloc(1, sizeof(*nw));
			struct buf id = BUF_INIT;
			int fd = open(w->path, O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				free(nw);
				continue;
			}
			if (fstat(fd, &pst) != 0) {
				close(fd);
				free(nw);
				continue;
			}
			nw->path = xstrdup(w->path);
			nw->base_id = xstrdup(w->base_id);
			nw->rotation = w->rotation + 1;
			buf_addf(&id, "%s#%d", w->base_id, nw->rotation);
			nw->id = buf_detach(&id, NULL);
			nw->fd = fd;
			nw->dev = pst.st_dev;
			nw->ino = pst.st_ino;
			nw->ready = true;
			w->dead = true;
			XGROW(s->watches, s->n_watches + 1, s->cap_watches);
			s->watches[s->n_watches++] = nw;
			found = 1;
		}
	}
	/* new files matching the inputs */
	for (size_t i = 0; i < s->n_inputs; i++) {
		struct strv sv = { NULL, 0, 0 };

		if (strcmp(s->inputs[i], "-") == 0)
			continue;
		expand_input(s->inputs[i], &sv, NULL);
		for (size_t k = 0; k < sv.n; k++) {
			char *abs = abs_path(sv.v[k]);

			if (!seen_has(s, abs) && s->next_input >= s->n_inputs) {
				/* queue as a file of a pseudo input */
				XGROW(s->files, s->n_files + 1, s->cap_files);
				s->files[s->n_files++] = xstrdup(sv.v[k]);
				found = 1;
			}
			free(abs);
			free(sv.v[k]);
		}
		free(sv.v);
	}
	return found;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	file_close(s->file);
	for (size_t i = 0; i < s->n_inputs; i++)
		free(s->inputs[i]);
	free(s->inputs);
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i]);
	free(s->files);
	for (size_t i = 0; i < s->n_seen; i++)
		free(s->seen[i]);
	free(s->seen);
	for (size_t i = 0; i < s->n_watches; i++) {
		struct watch *w = s->watches[i];

		if (w->fd >= 0)
			close(w->fd);
		free(w->path);
		free(w->base_id);
		free(w->id);
		buf_free(&w->partial);
		free(w);
	}
	free(s->watches);
	free(s->part_id);
	free(s->part_name);
	buf_free(&s->in);
	buf_free(&s->keep);
	free(s);
}
