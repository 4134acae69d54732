/* source: see source.h */
#include "pipeline/source.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "base/strlist.h"
#include "base/buf.h"
#include "base/xalloc.h"

#define READ_CHUNK (256 * 1024)
#define SNIFF_BYTES 512
#define ZSTD_SNIFF_BYTES (256 * 1024 + 512)   /* more than a whole zstd block */
#define ZSTD_OUT_CHUNK (256 * 1024)   /* zstd output per fill (larger measured no faster) */
#define ROTATED_IDLE_POLLS 25   /* a rotated file unchanged for this many polls is done */

/* One open input file (plain, compressed, or an archive with entries). */
struct file {
	char *path;                 /* as given or as found */
	char *abs;                  /* absolute path, "-" for stdin */
	int fd;
	bool is_stdin;
	bool regular;               /* a regular file (can be read with pread, followed) */
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
	bool zstd_more;             /* the output was full: zstd may still hold bytes */
	const char *zstd_why;       /* an error to report at the next fill (after the bytes before it) */
	int zstd_errno;             /* its errno (a read error), 0 for a zstd one */
	dev_t dev;
	ino_t ino;
	const struct source_opts *opts;     /* wait_cb: before a read that would block */
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
	struct buf head;            /* the file's first bytes read so far (SOURCE_HEAD_MAX at most) */
	bool ready;                 /* poll found something to read */
	bool rotated;               /* renamed away and replaced: read while it grows, then drop */
	bool final;                 /* rotated and idle: read the unterminated last line too */
	int idle_polls;             /* rotated: polls without growth */
};

struct done_file {
	dev_t dev;
	ino_t ino;
	uint64_t size;
	struct buf head;            /* its first bytes (to tell a reused inode) */
};

#define DONE_FILES_MAX 256

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
	/* rotated files read to their end and closed, so that a later rename of
	 * one to a name the inputs match is not read again */
	struct done_file *done;
	size_t n_done, cap_done;

	/* line buffer of the current partition */
	struct buf in;
	size_t start, scan;
	bool eof;
	bool skipping;
	uint64_t skip_len;
	struct buf keep;
	struct buf head;            /* first bytes of the current partition (SOURCE_HEAD_MAX at most) */
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

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_add(struct strv *sv, char *s)
{
	XGROW(sv->v, sv->n + 1, sv->cap);
	sv->v[sv->n++] = s;
}

/* (device, inode) pairs. */
struct devino {
	struct devino_pair { dev_t dev; ino_t ino; } *v;
	size_t n, cap;
};

static bool devino_has(const struct devino *d, const struct stat *st)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].dev == st->st_dev && d->v[i].ino == st->st_ino)
			return true;
	return false;
}

static void devino_add(struct devino *d, const struct stat *st)
{
	XGROW(d->v, d->n + 1, d->cap);
	d->v[d->n].dev = st->st_dev;
	d->v[d->n].ino = st->st_ino;
	d->n++;
}

/* One directory walk: the directories on the current path (a symlink back to
 * one of them is a loop), the files found (one file under two names is read
 * once), and the stop flag. */
struct walk {
	struct devino path, files;
	volatile sig_atomic_t *stop;
};

/* Regular files under dir (stat st), recursively, sorted by name. */
static int walk_dir(struct walk *w, const char *dir, const struct stat *dst, struct strv *out,
		    struct qw_err *err)
{
	DIR *d;
	struct dirent *de;
	struct strv names = { NULL, 0, 0 };
	int rc = 0;

	if (devino_has(&w->path, dst))
		return 0;               /* a link back to a directory being walked */
	d = opendir(dir);
	if (!d)
		return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
				 "cannot open directory '%s'", dir);
	while ((de = readdir(d))) {
		if (w->stop && *w->stop)
			break;
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
					     (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		strv_add(&names, xstrdup(de->d_name));
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), strlist_cmp);
	devino_add(&w->path, dst);
	for (size_t i = 0; i < names.n && !(w->stop && *w->stop); i++) {
		struct buf p = BUF_INIT;
		struct stat st;

		buf_adds(&p, dir);
		if (p.len && p.data[p.len - 1] != '/')
			buf_addc(&p, '/');
		buf_adds(&p, names.v[i]);
		if (stat(p.data, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (walk_dir(w, p.data, &st, out, err))
				rc = -1;
			buf_free(&p);
		} else if (stat(p.data, &st) == 0 && S_ISREG(st.st_mode) && !devino_has(&w->files, &st)) {
			devino_add(&w->files, &st);
			strv_add(out, buf_detach(&p, NULL));
		} else {
			buf_free(&p);
		}
	}
	w->path.n--;
	for (size_t i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	return rc;
}

static int walk_top(const char *dir, const struct stat *st, volatile sig_atomic_t *stop,
		    struct strv *out, struct qw_err *err)
{
	struct walk w = { { NULL, 0, 0 }, { NULL, 0, 0 }, stop };
	int rc = walk_dir(&w, dir, st, out, err);

	free(w.path.v);
	free(w.files.v);
	return rc;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Expand one input into files (sorted for globs and directories). */
static int expand_input(const char *in, volatile sig_atomic_t *stop, struct strv *out,
			struct qw_err *err)
{
	struct stat st;

	if (strcmp(in, "-") == 0) {
		strv_add(out, xstrdup("-"));
		return 0;
	}
	if (stat(in, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return walk_top(in, &st, stop, out, err);
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
				(void)walk_top(g.gl_pathv[i], &st, stop, out, NULL);   /* unreadable dirs are skipped */
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

/* read() from an input; a pipe with nothing to read yet calls wait_cb first. */
static ssize_t read_input(struct file *f, int fd, void *buf, size_t n)
{
	if (f && !f->regular && f->opts && f->opts->wait_cb) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 0) == 0)
			f->opts->wait_cb(f->opts->wait_ctx);
	}
	return read(fd, buf, n);
}

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
		r = read_input(f, f->fd, f->chunk, READ_CHUNK);
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

/* A zstd frame or a skippable frame (magic 0x184D2A50..5F) starts at p. */
static bool zstd_magic(const unsigned char *p, size_t n)
{
	return n >= 4 && ((p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) ||
			  ((p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18));
}

static bool is_compressed_or_archive(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return true;                                    /* gzip */
	if (zstd_magic(p, n))
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

/* A tar header starts at h (n bytes): "ustar" magic at 257, or a valid
 * header checksum (an old V7 header), as libarchive's tar detection. */
static bool tar_header(const char *h, size_t n)
{
	const unsigned char *u = (const unsigned char *)h;
	unsigned long sum = 0, want = 0;
	long ssum = 0;
	size_t i;

	if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0)
		return true;
	if (n < 512)
		return false;
	for (i = 0; i < 512; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : u[i];

		sum += c;
		ssum += (signed char)c;
	}
	for (i = 148; i < 156 && h[i] == ' '; i++)
		;
	if (i == 156 || h[i] < '0' || h[i] > '7')
		return false;
	for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++)
		want = want * 8 + (unsigned long)(h[i] - '0');
	return want == sum || (long)want == ssum;
}

/* A zstd file whose first decompressed bytes are not a tar header. */
static bool zstd_plain(struct file *f)
{
	ZSTD_DStream *z;
	char head[512];
	ZSTD_inBuffer in = { f->sniff, f->sniff_len, 0 };
	ZSTD_outBuffer out = { head, sizeof(head), 0 };
	bool plain = false;

	if (!zstd_magic((const unsigned char *)f->sniff, f->sniff_len))
		return false;
	z = ZSTD_createDStream();
	if (!z)
		return false;
	if (!ZSTD_isError(ZSTD_initDStream(z))) {
		/* through skippable and small frames, up to 512 bytes */
		while (in.pos < in.size && out.pos < out.size) {
			size_t r = ZSTD_decompressStream(z, &out, &in);

			if (ZSTD_isError(r))
				break;
		}
		/* enough to tell: a tar header, or a whole file too short for one */
		plain = !tar_header(head, out.pos) &&
			(out.pos >= 262 || (in.pos == in.size && f->sniff_len < f->sniff_cap));
	}
	ZSTD_freeDStream(z);
	return plain;
}

/* A plain regular file: not compressed, not an archive, not stdin or a
 * pipe. Only such a file can grow under its reader, be followed or seeked. */
static bool plain_file(const struct file *f)
{
	return f && !f->ar && !f->zstd && !f->is_stdin && f->regular;
}

static int file_open(const char *path, const struct source_opts *opts, struct file **out,
		     struct qw_err *err)
{
	struct file *f = xcalloc(1, sizeof(*f));
	struct stat st;
	ssize_t r;

	f->fd = -1;
	f->path = xstrdup(path);
	f->opts = opts;
	if (strcmp(path, "-") == 0) {
		f->is_stdin = true;
		f->fd = 0;
		f->abs = xstrdup("-");
		f->regular = fstat(0, &st) == 0 && S_ISREG(st.st_mode);
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
			f->regular = S_ISREG(st.st_mode);
		}
	}
	/* sniff the first bytes (for zstd, a whole first block: to look inside);
	 * a pipe is not waited for once it gave something */
	f->sniff_cap = SNIFF_BYTES;
	f->sniff = xmalloc(f->sniff_cap);
	while (f->sniff_len < f->sniff_cap) {
		if (opts && opts->stop_flag && *opts->stop_flag)
			break;                  /* asked to stop: do not wait for more */
		if (f->sniff_len > 0 && !f->regular) {
			struct pollfd p = { f->fd, POLLIN, 0 };

			if (poll(&p, 1, 0) == 0)
				break;
		}
		r = read_input(f, f->fd, f->sniff + f->sniff_len, f->sniff_cap - f->sniff_len);
		if (r < 0 && errno == EINTR) {
			if (opts && opts->stop_flag && *opts->stop_flag)
				break;          /* asked to stop while waiting: the caller sees it */
			continue;
		}
		if (r < 0) {
			err_errno(err, EX_IOERR, "cannot read '%s'", path);
			goto fail;
		}
		if (r == 0)
			break;
		f->sniff_len += (size_t)r;
		if (f->sniff_cap == SNIFF_BYTES &&
		    zstd_magic((const unsigned char *)f->sniff, f->sniff_len)) {
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
	s->part.pipe = s->file && !s->file->regular;
	s->part.stream = s->file && (s->file->is_stdin || !s->file->regular);
	s->part.growing = s->opts.growing && plain_file(s->file);
	s->part.ino = s->file && s->file->regular && !s->file->is_stdin ? (uint64_t)s->file->ino : 0;
	s->part_open = true;
	part_reset_buffer(s);
	buf_reset(&s->head);
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

/* Report the error a zstd file met at uncompressed offset off. */
static ssize_t zstd_fail(struct source *s, uint64_t off, struct qw_err *err)
{
	struct file *f = s->file;

	errno = f->zstd_errno;
	if (f->zstd_errno)
		err_errno(err, EX_IOERR, "cannot read '%s' at offset %llu", s->part.name,
			  (unsigned long long)off);
	else
		err_set(err, EX_IOERR, "cannot read '%s' at offset %llu: %s", s->part.name,
			(unsigned long long)off, f->zstd_why);
	return -1;
}

/* Read more bytes of the current partition into s->in. Returns bytes read, 0 at
 * EOF, -1 on error, -2 when a read of a plain input was interrupted by a signal. */
static ssize_t fill(struct source *s, struct qw_err *err)
{
	struct file *f = s->file;
	uint64_t off;
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
	off = s->part.pos + (s->in.len - s->start);
	if (f && f->zstd) {
		ZSTD_outBuffer zo = { NULL, ZSTD_OUT_CHUNK, 0 };

		if (f->zstd_why)        /* met after the bytes the last fill returned */
			return zstd_fail(s, off, err);
		/* fill the whole room (fewer, larger fills); a pipe is not waited
		 * for once something was decompressed */
		buf_grow(&s->in, ZSTD_OUT_CHUNK);
		zo.dst = s->in.data + s->in.len;
		while (zo.pos < zo.size && !f->zstd_eof) {
			size_t zr;

			if (f->zin.pos == f->zin.size && !f->zstd_more) {
				if (zo.pos > 0 && !f->regular)
					break;
				do
					r = read_input(f, f->fd, f->chunk, READ_CHUNK);
				while (r < 0 && errno == EINTR);
				if (r < 0) {
					f->zstd_errno = errno;
					f->zstd_why = "read error";
					break;
				}
				if (r == 0) {
					if (f->zstd_frame_done)
						f->zstd_eof = true;
					else
						f->zstd_why = "truncated zstd input";
					break;
				}
				f->zin.src = f->chunk;
				f->zin.size = (size_t)r;
				f->zin.pos = 0;
			}
			zr = ZSTD_decompressStream(f->zstd, &zo, &f->zin);
			if (ZSTD_isError(zr)) {
				f->zstd_why = ZSTD_getErrorName(zr);
				break;
			}
			f->zstd_frame_done = zr == 0;
			/* a full output may leave decompressed bytes inside zstd */
			f->zstd_more = zr != 0 && zo.pos == zo.size;
		}
		if (f->zstd_why && zo.pos == 0)
			return zstd_fail(s, off, err);  /* nothing before it: now */
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
			r = (ssize_t)(f->sniff_len - f->sniff_off);
			memcpy(s->in.data + s->in.len, f->sniff + f->sniff_off, (size_t)r);
			f->sniff_off = f->sniff_len;
		} else {
			fd = s->cur_watch ? s->cur_watch->fd : f->fd;
			r = read_input(s->cur_watch ? NULL : f, fd, s->in.data + s->in.len, READ_CHUNK);
			if (r < 0 && errno == EINTR)
				return -2;      /* a signal: let the caller look at its flags */
			if (r < 0) {
				err_errno(err, EX_IOERR, "cannot read '%s' at offset %llu", s->part.name,
					  (unsigned long long)(s->part.pos + (s->in.len - s->start)));
				return -1;
			}
		}
	}
	/* keep the partition's first bytes while they go by (those not kept yet) */
	if (r > 0 && s->head.len < SOURCE_HEAD_MAX && off <= s->head.len &&
	    off + (uint64_t)r > s->head.len) {
		size_t skip = s->head.len - (size_t)off, n = SOURCE_HEAD_MAX - s->head.len;

		if ((size_t)r - skip < n)
			n = (size_t)r - skip;
		buf_add(&s->head, s->in.data + s->in.len + skip, n);
	}
	s->in.len += (size_t)r;
	s->in.data[s->in.len] = '\0';
	return r;
}

static void watch_set_head(struct watch *w, const struct buf *head)
{
	if (head->len > w->head.len) {
		buf_reset(&w->head);
		buf_add(&w->head, head->data, head->len);
	}
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
		watch_set_head(w, &s->head);
		s->cur_watch = NULL;
	}
}

/* The rotation number of a partition id: 0 for base itself, N for "base#N". */
static int rotation_of(const char *id, const char *base)
{
	size_t n = strlen(base);
	char *end;
	long r;

	if (strncmp(id, base, n) != 0 || id[n] != '#')
		return 0;
	errno = 0;
	r = strtol(id + n + 1, &end, 10);
	return errno || *end || r < 1 || r > 1000000 ? 0 : (int)r;
}

/* In follow mode, keep a plain file open to watch it once its end is reached. */
static void watch_file(struct source *s)
{
	struct watch *w;
	struct file *f = s->file;

	if (!s->opts.follow || !plain_file(f))
		return;
	w = xcalloc(1, sizeof(*w));
	w->path = xstrdup(f->path);
	w->base_id = xstrdup(f->abs);
	w->id = xstrdup(s->part_id);
	w->rotation = rotation_of(w->id, w->base_id);
	w->fd = f->fd;
	f->fd = -1;
	w->dev = f->dev;
	w->ino = f->ino;
	w->pos = s->part.pos + (s->in.len - s->start);
	buf_add(&w->partial, s->in.data + s->start, s->in.len - s->start);
	watch_set_head(w, &s->head);
	XGROW(s->watches, s->n_watches + 1, s->cap_watches);
	s->watches[s->n_watches++] = w;
}

static void watch_free(struct watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w->base_id);
	free(w->id);
	buf_free(&w->partial);
	buf_free(&w->head);
	free(w);
}

static int pread_head(int fd, struct buf *head, const char *name, struct qw_err *err);

/* Remember a finished rotated file (the oldest is forgotten past DONE_FILES_MAX). */
static void done_add(struct source *s, struct watch *w)
{
	struct stat st;
	struct done_file *d;

	if (fstat(w->fd, &st) != 0)
		return;
	if (s->n_done == DONE_FILES_MAX) {
		buf_free(&s->done[0].head);
		memmove(s->done, s->done + 1, (s->n_done - 1) * sizeof(*s->done));
		s->n_done--;
	}
	XGROW(s->done, s->n_done + 1, s->cap_done);
	d = &s->done[s->n_done++];
	memset(d, 0, sizeof(*d));
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->size = (uint64_t)st.st_size;
	buf_add(&d->head, w->head.data ? w->head.data : "", w->head.len);
}

/* Is the file at path (stat st) a rotated file that was read to its end? */
static bool done_has(struct source *s, const char *path, const struct stat *st)
{
	for (size_t i = 0; i < s->n_done; i++) {
		struct done_file *d = &s->done[i];
		struct buf now = BUF_INIT;
		bool same;
		int fd;

		if (d->dev != st->st_dev || d->ino != st->st_ino || (uint64_t)st->st_size < d->size)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		same = pread_head(fd, &now, path, NULL) == 0 && now.len >= d->head.len &&
		       memcmp(now.data ? now.data : "", d->head.data ? d->head.data : "", d->head.len) == 0;
		close(fd);
		buf_free(&now);
		if (same)
			return true;
	}
	return false;
}

/* Drop the watches marked gone (a finished rotated file). */
static void watch_remove(struct source *s, struct watch *gone)
{
	size_t k = 0;

	done_add(s, gone);
	for (size_t i = 0; i < s->n_watches; i++) {
		if (s->watches[i] == gone)
			watch_free(gone);
		else
			s->watches[k++] = s->watches[i];
	}
	s->n_watches = k;
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
		struct watch *w = s->cur_watch;

		close_part(s);
		if (w && w->final)
			watch_remove(s, w);       /* a rotated file read to its very end */
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
			s->part.ino = (uint64_t)w->ino;
			s->cur_watch = w;
			buf_add(&s->head, w->head.data, w->head.len);
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
				s->part.ino = 0;        /* an entry: the inode is the archive's */
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
			if (file_open(path, &s->opts, &f, err))
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
			int r = expand_input(in, s->opts.stop_flag, &sv, err);

			s->files = sv.v;
			s->n_files = sv.n;
			s->cap_files = sv.cap;
			if (r)
				return -1;
		}
	}
}

/* The descriptor of a plain file (or the watched one), for pread/lseek. */
static int seekable_fd(struct source *s)
{
	if (s->cur_watch)
		return s->cur_watch->fd;
	if (plain_file(s->file))
		return s->file->fd;
	return -1;
}

/* Read up to SOURCE_HEAD_MAX first bytes of fd into head; the bytes head
 * already holds are kept as they are (read once: a later rewrite of the file
 * does not change them), only the ones after them are added. */
static int pread_head(int fd, struct buf *head, const char *name, struct qw_err *err)
{
	char tmp[SOURCE_HEAD_MAX];
	size_t got = head->len;

	while (got < sizeof(tmp)) {
		ssize_t r = pread(fd, tmp + got, sizeof(tmp) - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_errno(err, EX_IOERR, "cannot read '%s' at offset %zu", name, got);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > head->len)
		buf_add(head, tmp + head->len, got - head->len);
	return 0;
}

int source_head(struct source *s, size_t n, const char **head, size_t *len, struct qw_err *err)
{
	int fd;

	if (n > SOURCE_HEAD_MAX)
		n = SOURCE_HEAD_MAX;
	if (s->part_open && s->head.len < n) {
		fd = seekable_fd(s);
		if (fd >= 0) {
			if (pread_head(fd, &s->head, s->part.name, err) < 0)
				return -1;
		} else {
			/* a stream: read on (nothing is consumed) while the head is contiguous */
			while (s->head.len < n && !s->eof &&
			       s->part.pos + (s->in.len - s->start) == s->head.len) {
				ssize_t r = fill(s, err);

				if (r == -2)
					continue;
				if (r < 0) {
					s->part_open = false;
					return -1;
				}
				if (r == 0)
					s->eof = true;
			}
		}
	}
	*head = s->head.data ? s->head.data : "";
	*len = s->head.len < n ? s->head.len : n;
	return 0;
}

int source_path_head(const char *path, struct buf *out, struct qw_err *err)
{
	struct source_opts so = { 0 };
	struct source *s;
	struct source_part *p;
	struct stat st;
	const char *h;
	size_t n;
	int ret = 1;

	if (strcmp(path, "-") == 0)
		return 1;
	if (stat(path, &st) < 0)
		return err_errno(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot open '%s'", path);
	if (!S_ISREG(st.st_mode))
		return 1;
	s = source_new(&path, 1, &so);
	n = (size_t)source_next(s, &p, err);
	if (n != 1) {
		ret = n == 0 ? 1 : -1;  /* 0: an archive without entries */
		goto out;
	}
	if (s->file && s->file->ar && !s->file->raw_format)
		goto out;               /* an archive: its entries are other partitions */
	if (source_head(s, SOURCE_HEAD_MAX, &h, &n, err) < 0) {
		ret = -1;
		goto out;
	}
	buf_reset(out);
	buf_add(out, h, n);
	ret = 0;
out:
	source_free(s);
	return ret;
}

/* A compressed regular file shorter than its checkpoint: open it again to read it from 0. */
static int reopen_part(struct source *s, uint64_t pos, struct qw_err *err)
{
	struct file *f = s->file, *nf;
	struct archive_entry *e;

	if (!f || f->is_stdin || (f->ar && !f->raw_format))
		return err_set(err, EX_DATAERR,
			       "'%s' is shorter than its checkpoint (%llu bytes) and cannot be reread",
			       s->part.name, (unsigned long long)pos);
	if (file_open(f->path, &s->opts, &nf, err) < 0)
		return -1;
	if (nf->ar) {
		if (archive_read_next_header(nf->ar, &e) < ARCHIVE_WARN ||
		    archive_format(nf->ar) != ARCHIVE_FORMAT_RAW) {
			file_close(nf);
			return err_set(err, EX_IOERR, "'%s' changed while it was read", s->part.name);
		}
		nf->raw_format = true;
	}
	file_close(f);
	s->file = nf;
	part_reset_buffer(s);
	buf_reset(&s->head);
	s->part.pos = s->part.line_start = 0;
	s->part.compressed = nf->ar || nf->zstd;
	s->part.growing = s->opts.growing && plain_file(nf);
	s->part.ino = nf->regular ? (uint64_t)nf->ino : 0;
	return 1;
}

int source_skip(struct source *s, uint64_t pos, struct qw_err *err)
{
	struct file *f = s->file;
	struct stat st;
	int fd;

	if (pos == 0 || !s->part_open)
		return 0;
	fd = seekable_fd(s);
	if (fd >= 0 && !s->cur_watch && fstat(fd, &st) == 0) {
		if ((uint64_t)st.st_size < pos)
			return 1;
		/* the bytes skipped are not read: keep the head as it is now, once */
		if (s->head.len < SOURCE_HEAD_MAX && s->head.len < pos &&
		    pread_head(fd, &s->head, s->part.name, err) < 0)
			return -1;
		if (lseek(fd, (off_t)pos, SEEK_SET) < 0)
			return err_errno(err, EX_IOERR, "cannot seek '%s'", s->part.name);
		f->sniff_off = f->sniff_len;
		part_reset_buffer(s);
		s->part.pos = s->part.line_start = pos;
		return 0;
	}
	/* compressed, archive entry or pipe: read and drop (what is buffered first) */
	for (;;) {
		uint64_t end = s->part.pos + (s->in.len - s->start);
		ssize_t r = 0;

		if (end >= pos) {
			s->start += (size_t)(pos - s->part.pos);
			s->scan = s->start;
			s->part.pos = pos;
			break;
		}
		s->part.pos = end;
		s->start = s->scan = s->in.len;
		if (!s->eof) {
			r = fill(s, err);
			if (r == -2)
				continue;
			if (r < 0) {
				s->part_open = false;
				return -1;
			}
		}
		if (r == 0) {
			s->eof = true;
			return reopen_part(s, pos, err);
		}
	}
	s->part.line_start = s->part.pos;
	return 0;
}

/* The long line being skipped is not returned after all: the position goes
 * back to its start, where the next reader reads it again. */
static void unskip_line(struct source *s)
{
	s->part.pos -= s->skip_len;
	s->skipping = false;
	s->skip_len = 0;
}

/*
 * At the end of the input: wait (following), leave an unterminated last
 * line to the next reader (growing), or return it.
 */
static enum source_line read_last_line(struct source *s, const char **line, size_t *len)
{
	size_t max = s->opts.max_line;

	if (s->opts.follow && plain_file(s->file))
		return SRC_AGAIN;
	if (s->cur_watch && !s->cur_watch->final)
		return SRC_AGAIN;
	if (s->part.growing && (s->start < s->in.len || s->skipping)) {
		/* maybe a write in progress: the next run reads it whole */
		if (s->skipping)
			unskip_line(s);
		s->start = s->scan = s->in.len;
		return SRC_END;
	}
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
			if (s->opts.stop_flag && *s->opts.stop_flag) {
				/* asked to stop in the middle of a long line (/dev/zero
				 * has no end) */
				unskip_line(s);
				s->part_open = false;
				return SRC_INTR;
			}
		}
		if (!s->eof) {
			ssize_t r = fill(s, err);

			if (r == -2)
				return SRC_INTR;
			if (r < 0) {
				s->part_open = false;
				return SRC_ERROR;
			}
			if (r == 0)
				s->eof = true;
			continue;
		}
		return read_last_line(s, line, len);
	}
}

/* ---------------------------------------------------------------- follow */

/* Do the first bytes of the watched file still read as they did? */
static bool watch_head_same(struct watch *w)
{
	char tmp[SOURCE_HEAD_MAX];
	size_t got = 0;

	if (w->head.len == 0)
		return true;            /* nothing kept to compare with (an empty file) */
	while (got < w->head.len) {
		ssize_t r = pread(w->fd, tmp + got, w->head.len - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0;           /* a read error is not a proof of change */
		got += (size_t)r;
	}
	return memcmp(tmp, w->head.data, w->head.len) == 0;
}

/* The file at w->path, opened as a new partition of the same base id. */
static struct watch *watch_new_at_path(struct source *s, struct watch *w)
{
	struct watch *nw;
	struct buf id = BUF_INIT;
	struct stat st;
	int fd = open(w->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	nw = xcalloc(1, sizeof(*nw));
	nw->path = xstrdup(w->path);
	nw->base_id = xstrdup(w->base_id);
	nw->rotation = w->rotation + 1;
	buf_addf(&id, "%s#%d", w->base_id, nw->rotation);
	nw->id = buf_detach(&id, NULL);
	nw->fd = fd;
	nw->dev = st.st_dev;
	nw->ino = st.st_ino;
	nw->ready = true;
	XGROW(s->watches, s->n_watches + 1, s->cap_watches);
	s->watches[s->n_watches++] = nw;
	return nw;
}

static bool watched_inode(struct source *s, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < s->n_watches; i++)
		if (s->watches[i]->dev == dev && s->watches[i]->ino == ino)
			return true;
	return false;
}

int source_poll(struct source *s, struct qw_err *err)
{
	int found = 0;
	size_t n = s->n_watches;

	(void)err;
	for (size_t i = 0; i < n; i++) {
		struct watch *w = s->watches[i];
		struct stat st, pst;

		if (fstat(w->fd, &st) != 0)
			continue;
		if ((uint64_t)st.st_size < w->pos || !watch_head_same(w)) {
			/* truncated or rewritten in place (copy-truncate): a new partition from 0 */
			struct buf id = BUF_INIT;

			if (w->rotated) {
				/* its unterminated line is gone: end it, then drop it */
				buf_reset(&w->partial);
				w->pos = (uint64_t)st.st_size;
				w->final = w->ready = true;
				found = 1;
				continue;
			}
			if (lseek(w->fd, 0, SEEK_SET) < 0)
				continue;
			w->rotation++;
			buf_addf(&id, "%s#%d", w->base_id, w->rotation);
			free(w->id);
			w->id = buf_detach(&id, NULL);
			w->pos = 0;
			buf_reset(&w->partial);
			buf_reset(&w->head);
			w->ready = true;
			found = 1;
			continue;
		}
		if ((uint64_t)st.st_size > w->pos) {
			w->ready = true;
			w->idle_polls = 0;
			found = 1;
			continue;
		}
		if (w->rotated) {
			/* renamed away: its writer may still add a few lines, then it is done */
			if (!w->final && ++w->idle_polls >= ROTATED_IDLE_POLLS) {
				w->final = true;
				w->ready = true;        /* read its unterminated last line, then drop it */
				found = 1;
			}
			continue;
		}
		if (stat(w->path, &pst) != 0)
			continue;               /* moved away, no new file yet: keep following it */
		if (pst.st_dev != w->dev || pst.st_ino != w->ino) {
			/* rotated: a new file at the path is a new partition; the old one is
			 * still read while it grows */
			if (watched_inode(s, pst.st_dev, pst.st_ino))
				continue;
			if (watch_new_at_path(s, w)) {
				w->rotated = true;
				found = 1;
			}
		}
	}
	/* new files matching the inputs (not a followed file under a new name) */
	for (size_t i = 0; i < s->n_inputs; i++) {
		struct strv sv = { NULL, 0, 0 };

		if (strcmp(s->inputs[i], "-") == 0)
			continue;
		expand_input(s->inputs[i], s->opts.stop_flag, &sv, NULL);
		for (size_t k = 0; k < sv.n; k++) {
			char *abs = abs_path(sv.v[k]);
			struct stat st;

			if (!seen_has(s, abs) && s->next_input >= s->n_inputs) {
				if (stat(sv.v[k], &st) == 0 && (watched_inode(s, st.st_dev, st.st_ino) ||
								 done_has(s, sv.v[k], &st))) {
					seen_add(s, abs);
				} else {
					/* queue as a file of a pseudo input */
					XGROW(s->files, s->n_files + 1, s->cap_files);
					s->files[s->n_files++] = xstrdup(sv.v[k]);
					found = 1;
				}
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
	for (size_t i = 0; i < s->n_watches; i++)
		watch_free(s->watches[i]);
	for (size_t i = 0; i < s->n_done; i++)
		buf_free(&s->done[i].head);
	free(s->done);
	free(s->watches);
	free(s->part_id);
	free(s->part_name);
	buf_free(&s->in);
	buf_free(&s->keep);
	buf_free(&s->head);
	free(s);
}
