/*
 * source_test: the input partitions of qw-parse (src/lib/pipeline/source.h): lines
 * and positions of a plain file, CRLF and a last line without '\n' (also in
 * a file still growing), sorted
 * directory walks, a missing input reported once, over-long lines, resume
 * by skip, heads, renamed partitions and a gzip file. The oracle is the
 * bytes this test wrote (and gzip(1) for the compressed one).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "pipeline/source.h"
#include "tap.h"
#include "base/xalloc.h"

static void write_file(const char *path, const char *s, size_t n)
{
	struct qw_err err = QW_ERR_INIT;

	if (fsutil_write_atomic(path, s, n, &err) < 0)
		tap_diag("cannot write %s: %s", path, err.msg);
}

static struct source *open_one(const char *path, size_t max_line)
{
	struct source_opts o = { 0 };
	const char *in[1] = { path };

	o.max_line = max_line;
	return source_new(in, 1, &o);
}

/* The lines of the next partition joined with '|', their end positions in pos. */
static char *read_all(struct source *s, uint64_t *pos, size_t max_pos, size_t *n_lines)
{
	struct qw_err err = QW_ERR_INIT;
	struct buf b = BUF_INIT;
	struct source_part *p;
	const char *line;
	size_t len;
	enum source_line k;

	*n_lines = 0;
	if (source_next(s, &p, &err) != 1)
		return xstrdup("<no partition>");
	while ((k = source_read_line(s, &line, &len, &err)) == SRC_LINE ||
	       k == SRC_TOO_LONG) {
		if (*n_lines)
			buf_addc(&b, '|');
		if (k == SRC_TOO_LONG)
			buf_adds(&b, "<too long>");
		else
			buf_add(&b, line, len);
		if (*n_lines < max_pos)
			pos[*n_lines] = p->pos;
		(*n_lines)++;
	}
	if (k != SRC_END)
		buf_adds(&b, "<not at end>");
	return buf_detach(&b, NULL);
}

static void test_plain(const char *dir)
{
	static const char text[] = "alpha\nbeta\r\n\ngamma";
	char *path = fsutil_join(dir, "plain.log");
	struct qw_err err = QW_ERR_INIT;
	struct source *s;
	struct source_part *p = NULL;
	uint64_t pos[8];
	size_t n;
	char *got, *abs;

	write_file(path, text, sizeof(text) - 1);
	s = open_one(path, 0);
	got = read_all(s, pos, 8, &n);
	ok(!strcmp(got, "alpha|beta\r||gamma"),
	   "lines come without '\\n', a '\\r' kept, the unterminated last one too (%s)", got);
	ok(n == 4 && pos[0] == 6 && pos[1] == 12 && pos[2] == 13 && pos[3] == sizeof(text) - 1,
	   "each position is the offset after its line");
	ok(source_next(s, &p, &err) == 0, "one file is one partition");
	source_free(s);
	free(got);

	s = open_one(path, 0);
	abs = realpath(path, NULL);
	ok(source_next(s, &p, &err) == 1 && abs && !strcmp(p->id, abs) && !p->compressed &&
	   !p->stream && p->ino != 0, "the partition id is the absolute path of a regular file");
	{
		const char *h;
		size_t hn;
		const char *line;
		size_t len;

		ok(source_head(s, 8, &h, &hn, &err) == 0 && hn == 8 && !memcmp(h, text, 8),
		   "the head is the file's first bytes");
		ok(source_read_line(s, &line, &len, &err) == SRC_LINE && len == 5 &&
		   !memcmp(line, "alpha", 5), "taking the head consumes nothing");
	}
	source_rename_part(s, "renamed#1");
	ok(!strcmp(p->id, "renamed#1"), "a partition can get another id");
	source_free(s);
	free(abs);

	/* resume: skip to the position after "beta\r\n" */
	s = open_one(path, 0);
	if (source_next(s, &p, &err) == 1) {
		const char *line;
		size_t len;

		ok(source_skip(s, 12, &err) == 0 && p->pos == 12, "skip to a stored position");
		ok(source_read_line(s, &line, &len, &err) == SRC_LINE && len == 0,
		   "the next line is the one after that position");
	}
	source_free(s);
	s = open_one(path, 0);
	if (source_next(s, &p, &err) == 1) {
		const char *line;
		size_t len;

		ok(source_skip(s, 1000, &err) == 1, "a file shorter than the position says so");
		ok(source_read_line(s, &line, &len, &err) == SRC_LINE && len == 5 &&
		   !memcmp(line, "alpha", 5), "and is then read from 0");
	}
	source_free(s);
	free(path);
}

static void test_too_long(const char *dir)
{
	char *path = fsutil_join(dir, "long.log");
	struct buf text = BUF_INIT;
	struct qw_err err = QW_ERR_INIT;
	struct source_part *p;
	struct source *s;
	const char *line;
	size_t len, long_len = 3 * SOURCE_TOO_LONG_KEEP;

	buf_adds(&text, "short\n");
	for (size_t i = 0; i < long_len; i++)
		buf_addc(&text, (char)('a' + i % 26));
	buf_adds(&text, "\nafter\n");
	write_file(path, text.data, text.len);
	s = open_one(path, 100);
	ok(source_next(s, &p, &err) == 1, "open a file with a long line");
	ok(source_read_line(s, &line, &len, &err) == SRC_LINE && len == 5, "a short line");
	ok(source_read_line(s, &line, &len, &err) == SRC_TOO_LONG && len <= SOURCE_TOO_LONG_KEEP &&
	   p->line_len == long_len && !memcmp(line, text.data + 6, len),
	   "a line over max_line is reported with its first bytes and its full length");
	ok(p->pos == 6 + long_len + 1, "its position is past it");
	ok(source_read_line(s, &line, &len, &err) == SRC_LINE && len == 5 &&
	   !memcmp(line, "after", 5), "the next line is read whole");
	source_free(s);
	buf_free(&text);
	free(path);
}

static void test_walk(const char *dir)
{
	char *root = fsutil_join(dir, "walk"), *sub = fsutil_join(root, "sub");
	char *fb = fsutil_join(root, "b.log"), *fa = fsutil_join(root, "a.log");
	char *fc = fsutil_join(sub, "c.log");
	char *missing = fsutil_join(dir, "missing.log");
	const char *in[2] = { missing, root };
	struct source_opts o = { 0 };
	struct qw_err err = QW_ERR_INIT;
	struct source_part *p;
	struct source *s;
	struct buf names = BUF_INIT;
	int rc;

	mkdir(root, 0755);
	mkdir(sub, 0755);
	write_file(fb, "b\n", 2);
	write_file(fa, "a\n", 2);
	write_file(fc, "c\n", 2);
	s = source_new(in, 2, &o);
	rc = source_next(s, &p, &err);
	ok(rc == -1 && err.code == EX_NOINPUT, "a missing input is reported (EX_NOINPUT)");
	while ((rc = source_next(s, &p, &(struct qw_err)QW_ERR_INIT)) == 1) {
		const char *slash = strrchr(p->id, '/');

		buf_addf(&names, "%s ", slash ? slash + 1 : p->id);
	}
	ok(rc == 0 && !strcmp(buf_str(&names), "a.log b.log c.log "),
	   "then the directory is walked in sorted order, recursively (%s)", buf_str(&names));
	source_free(s);
	buf_free(&names);
	free(missing);
	free(fc);
	free(fa);
	free(fb);
	free(sub);
	free(root);
}

/* Growing files: a last line without '\n' is left for the next reader. */
static void test_growing(const char *dir)
{
	char *path = fsutil_join(dir, "growing.log");
	struct source_opts o = { 0 };
	const char *in[1] = { path };
	struct qw_err err = QW_ERR_INIT;
	struct source_part *p;
	struct buf text = BUF_INIT;
	struct source *s;
	const char *line;
	uint64_t pos[8];
	size_t n, len;
	char *got;

	o.growing = true;
	write_file(path, "alpha\nbeta\npart", 15);
	s = source_new(in, 1, &o);
	got = read_all(s, pos, 8, &n);
	ok(!strcmp(got, "alpha|beta") && n == 2 && pos[1] == 11,
	   "a growing file ends at its last newline (%s)", got);
	free(got);
	ok(source_next(s, &p, &err) == 0, "and that is its only partition");
	source_free(s);
	s = source_new(in, 1, &o);
	ok(source_next(s, &p, &err) == 1 &&
	   source_read_line(s, &line, &len, &err) == SRC_LINE &&
	   source_read_line(s, &line, &len, &err) == SRC_LINE &&
	   source_read_line(s, &line, &len, &err) == SRC_END && p->pos == 11 &&
	   source_read_line(s, &line, &len, &err) == SRC_END && p->pos == 11,
	   "at its end the position stays after the last whole line, also asked again");
	source_free(s);

	write_file(path, "alpha\nbeta\npartial\n", 19);
	s = source_new(in, 1, &o);
	ok(source_next(s, &p, &err) == 1 && source_skip(s, 11, &err) == 0 &&
	   source_read_line(s, &line, &len, &err) == SRC_LINE && len == 7 &&
	   !memcmp(line, "partial", 7) && p->pos == 19,
	   "the next reader, from that position, gets the line whole");
	source_free(s);

	/* an unterminated line already over max_line: its start is kept too */
	buf_adds(&text, "short\n");
	for (size_t i = 0; i < 3 * SOURCE_TOO_LONG_KEEP; i++)
		buf_addc(&text, 'x');
	write_file(path, text.data, text.len);
	o.max_line = 100;
	s = source_new(in, 1, &o);
	ok(source_next(s, &p, &err) == 1 &&
	   source_read_line(s, &line, &len, &err) == SRC_LINE && len == 5 &&
	   source_read_line(s, &line, &len, &err) == SRC_END && p->pos == 6,
	   "an unterminated long line is left whole, the position at its start");
	source_free(s);
	buf_free(&text);
	free(path);
}

static void test_gzip(const char *dir)
{
	char *path = fsutil_join(dir, "z.log"), *gz = fsutil_join(dir, "z.log.gz");
	struct buf cmd = BUF_INIT;
	uint64_t pos[4];
	struct source *s;
	size_t n;
	char *got;

	write_file(path, "one\ntwo\n", 8);
	buf_addf(&cmd, "gzip -c '%s' > '%s'", path, gz);
	if (system(buf_str(&cmd)) != 0) {
		ok(1, "# SKIP gzip not available");
		goto out;
	}
	s = open_one(gz, 0);
	got = read_all(s, pos, 4, &n);
	ok(!strcmp(got, "one|two") && n == 2 && pos[1] == 8,
	   "a gzip file is read decompressed, positions in uncompressed bytes (%s)", got);
	free(got);
	source_free(s);
	/* a compressed file is whole once it has its name: growing or not,
	 * its unterminated last line is read */
	write_file(path, "one\ntw", 6);
	if (system(buf_str(&cmd)) != 0) {
		ok(0, "gzip failed");
		goto out;
	}
	{
		struct source_opts o = { 0 };
		const char *in[1] = { gz };

		o.growing = true;
		s = source_new(in, 1, &o);
		got = read_all(s, pos, 4, &n);
		ok(!strcmp(got, "one|tw") && n == 2 && pos[1] == 6,
		   "growing leaves no last line of a gzip file (%s)", got);
		free(got);
		source_free(s);
	}
out:
	buf_free(&cmd);
	free(gz);
	free(path);
}

int main(void)
{
	char dir[] = "/tmp/qw-source-test-XXXXXX";
	struct qw_err err = QW_ERR_INIT;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_plain(dir);
	test_too_long(dir);
	test_walk(dir);
	test_growing(dir);
	test_gzip(dir);
	fsutil_rm_rf(dir, &err);
	return tap_done();
}
