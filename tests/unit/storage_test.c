/*
 * storage_test: the file:// backend of src/lib/store/storage.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "store/storage.h"
#include "tap.h"

static int write_file(const char *path, const char *s)
{
	return fsutil_write_atomic(path, s, strlen(s), NULL);
}

static int file_is(const char *path, const char *s)
{
	struct buf b = BUF_INIT;
	int same = fsutil_read_all(path, &b, NULL) == 0 && strcmp(buf_str(&b), s) == 0;

	buf_free(&b);
	return same;
}

/* Entries of dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	struct buf cmd = BUF_INIT;
	int n = -1;
	FILE *f;

	buf_addf(&cmd, "ls -A '%s' | grep -c '^%s' || true", dir, prefix);
	f = popen(buf_str(&cmd), "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	buf_free(&cmd);
	return n;
}

/*
 * A symlink planted at any name a writer could pick (the old PATH.tmp.PID,
 * PIDs near ours, .tmp, .new, .lock, ~) must never be followed: the victim
 * keeps its content, the target gets the new one, the symlinks stay.
 */
static void test_planted_symlinks(const char *dir)
{
	struct buf victim = BUF_INIT, target = BUF_INIT, src = BUF_INIT, name = BUF_INIT;
	static const char *const suffixes[] = { ".tmp", ".new", ".lock", "~", ".tmp-",
		".tmp-AAAAAAAAAA" };
	struct qw_err err = QW_ERR_INIT;
	int planted = 0, intact = 0;

	buf_addf(&victim, "%s/victim", dir);
	buf_addf(&target, "%s/sym/target.json", dir);
	buf_addf(&src, "%s/sym-src", dir);
	{
		struct buf d = BUF_INIT;

		buf_addf(&d, "%s/sym", dir);
		fsutil_mkdir_p(buf_str(&d), 0755, NULL);
		buf_free(&d);
	}
	write_file(buf_str(&victim), "precious");
	write_file(buf_str(&src), "copied");
	for (long pid = (long)getpid() - 5; pid <= (long)getpid() + 64; pid++) {
		buf_reset(&name);
		buf_addf(&name, "%s.tmp.%ld", buf_str(&target), pid);
		planted += symlink(buf_str(&victim), buf_str(&name)) == 0;
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		buf_reset(&name);
		buf_addf(&name, "%s%s", buf_str(&target), suffixes[i]);
		planted += symlink(buf_str(&victim), buf_str(&name)) == 0;
	}
	ok(planted == 70 + 6, "planted %d symlinks to the victim", planted);

	ok(fsutil_write_atomic(buf_str(&target), "new", 3, &err) == 0,
	   "write_atomic beside planted symlinks: %s", err.msg);
	ok(file_is(buf_str(&target), "new"), "write_atomic: the target has the new content");
	ok(file_is(buf_str(&victim), "precious"), "write_atomic: the victim is untouched");
	ok(fsutil_copy_atomic(buf_str(&src), buf_str(&target), &err) == 0 &&
	   file_is(buf_str(&target), "copied"), "copy_atomic beside planted symlinks");
	ok(file_is(buf_str(&victim), "precious"), "copy_atomic: the victim is untouched");

	for (long pid = (long)getpid() - 5; pid <= (long)getpid() + 64; pid++) {
		struct stat st;

		buf_reset(&name);
		buf_addf(&name, "%s.tmp.%ld", buf_str(&target), pid);
		intact += lstat(buf_str(&name), &st) == 0 && S_ISLNK(st.st_mode);
	}
	ok(intact == 70, "the planted symlinks are still symlinks (%d)", intact);

	{
		struct atomicfile a = ATOMICFILE_INIT, b = ATOMICFILE_INIT;
		struct stat st;
		struct buf d = BUF_INIT;

		buf_addf(&d, "%s/sym", dir);
		ok(atomicfile_open(&a, buf_str(&target), 0600, &err) == 0 &&
		   atomicfile_open(&b, buf_str(&target), 0600, &err) == 0 &&
		   strcmp(a.tmp, b.tmp) != 0, "two opens get two temp names");
		ok(a.tmp && lstat(a.tmp, &st) == 0 && S_ISREG(st.st_mode) &&
		   (st.st_mode & 0777) == 0600, "the temp is a new regular file with the mode asked");
		ok(a.tmp && !strncmp(a.tmp, buf_str(&target), target.len) &&
		   !strncmp(a.tmp + target.len, ATOMICFILE_INFIX, strlen(ATOMICFILE_INFIX)),
		   "the temp is named next to the target: %s", a.tmp ? a.tmp : "(null)");
		{
			char *ta = a.tmp ? strdup(a.tmp) : NULL, *tb = b.tmp ? strdup(b.tmp) : NULL;

			atomicfile_rollback(&a);
			atomicfile_rollback(&a);
			atomicfile_rollback(&b);
			ok(ta && tb && lstat(ta, &st) < 0 && lstat(tb, &st) < 0 && !a.tmp && !a.path,
			   "rollback removes the temps (twice is harmless)");
			free(ta);
			free(tb);
		}
		ok(file_is(buf_str(&target), "copied"), "rollback leaves the target alone");

		/* A commit that cannot rename (the target is a directory). */
		buf_reset(&name);
		buf_addf(&name, "%s/sym/adir", dir);
		fsutil_mkdir_p(buf_str(&name), 0755, NULL);
		buf_adds(&name, "/x");
		fsutil_write_atomic(buf_str(&name), "x", 1, NULL);
		name.len -= 2;
		name.data[name.len] = '\0';
		err_clear(&err);
		ok(fsutil_write_atomic(buf_str(&name), "y", 1, &err) < 0 && err.code == EX_IOERR,
		   "a failed rename is EX_IOERR: %s", err.msg);
		ok(count_prefixed(buf_str(&d), "adir.tmp-") == 0, "and leaves no temp behind");
		buf_free(&d);
	}
	buf_free(&name);
	buf_free(&src);
	buf_free(&target);
	buf_free(&victim);
}

int main(void)
{
	char tmpl[] = "/tmp/qw-storage-test.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct qw_err err = QW_ERR_INIT;
	struct storage *st;
	struct buf root = BUF_INIT, src = BUF_INIT, obj = BUF_INIT, dst = BUF_INIT;
	char *uri;

	if (!dir) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	buf_addf(&root, "file://%s/store/", dir);
	buf_addf(&src, "%s/src.split", dir);
	buf_addf(&obj, "%s/store/01ARZ3NDEKTSV4RRFFQ69G5FAV.split", dir);
	buf_addf(&dst, "%s/back.split", dir);

	st = storage_open(buf_str(&root), &err);
	ok(st != NULL, "open a file:// root");
	ok(strstr(storage_root_uri(st), "/store") && root.data[root.len - 1] == '/' &&
	   storage_root_uri(st)[strlen(storage_root_uri(st)) - 1] != '/',
	   "the root uri has no trailing slash");

	uri = storage_uri(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", &err);
	ok(uri && !strncmp(uri, "file:///", 8) && strstr(uri, "/store/01ARZ3NDEKTSV4RRFFQ69G5FAV.split"),
	   "object uri: %s", uri ? uri : "(null)");
	free(uri);

	write_file(buf_str(&src), "hello");
	ok(storage_exists(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", &err) == 0, "absent before put");
	ok(storage_put_file(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", buf_str(&src), false, &err) == 0,
	   "put by copy (creates the root)");
	ok(file_is(buf_str(&obj), "hello") && file_is(buf_str(&src), "hello"),
	   "copy: object written, source kept");
	ok(storage_exists(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", &err) == 1, "present after put");

	write_file(buf_str(&src), "world");
	ok(storage_put_file(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", buf_str(&src), true, &err) == 0,
	   "put by move replaces the object");
	ok(file_is(buf_str(&obj), "world") && access(buf_str(&src), F_OK) != 0,
	   "move: object replaced, source gone");

	ok(storage_get_file(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", buf_str(&dst), &err) == 0 &&
	   file_is(buf_str(&dst), "world"), "get copies the object out");

	err_clear(&err);
	ok(storage_put_file(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", buf_str(&src), true, &err) < 0 &&
	   err.code == EX_NOINPUT, "put of a missing source: EX_NOINPUT (%d)", err.code);
	ok(file_is(buf_str(&obj), "world"), "a failed put leaves the object alone");

	ok(storage_delete(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", &err) == 0 &&
	   storage_exists(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", &err) == 0, "delete");
	ok(storage_delete(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", &err) == 0,
	   "delete of a missing object is not an error");
	err_clear(&err);
	ok(storage_get_file(st, "01ARZ3NDEKTSV4RRFFQ69G5FAV.split", buf_str(&dst), &err) < 0 &&
	   err.code == EX_NOINPUT, "get of a missing object: EX_NOINPUT");

	{
		static const char *const bad[] = { "", ".", "..", "../x", "a/b", ".hidden" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err_clear(&err);
			ok(storage_put_file(st, bad[i], buf_str(&dst), false, &err) < 0 &&
			   err.code == EX_DATAERR, "name '%s' refused", bad[i]);
		}
	}
	storage_close(st);

	err_clear(&err);
	ok(storage_open("s3://Bad_Bucket/x", &err) == NULL && err.code == EX_DATAERR,
	   "an s3:// root with an invalid bucket name is EX_DATAERR");
	err_clear(&err);
	ok(storage_open("", &err) == NULL && err.code == EX_USAGE, "empty uri refused");
	st = storage_open(dir, &err);
	ok(st && !strncmp(storage_root_uri(st), "file://", 7), "a plain path means file://");
	storage_close(st);

	test_planted_symlinks(dir);

	{
		static const struct { const char *in, *norm; int code; } cases[] = {
			{ "file:///data/x", "file:///data/x", 0 },
			{ "file:///data/x//", "file:///data/x", 0 },
			{ "/data/x/", "file:///data/x", 0 },
			{ "/", "file:///", 0 },
			{ "s3://bkt/x/", "s3://bkt/x", 0 },
			{ "s3://bkt", "s3://bkt", 0 },
			{ "s3://Bkt/x", NULL, EX_DATAERR },
			{ "s3://bkt/a/../x", NULL, EX_DATAERR },
			{ "azure://c/x", NULL, EX_DATAERR },
			{ "file://relative", NULL, EX_DATAERR },
			{ "relative", NULL, EX_DATAERR },
			{ "/a/../b", NULL, EX_DATAERR },
			{ "/a/..", NULL, EX_DATAERR },
			{ "/a/..b", "file:///a/..b", 0 },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char *norm = NULL;
			int r;

			err_clear(&err);
			r = storage_check_index_uri(cases[i].in, &norm, &err);
			if (cases[i].norm)
				ok(r == 0 && norm && !strcmp(norm, cases[i].norm),
				   "index_uri '%s' is '%s'", cases[i].in, norm ? norm : err.msg);
			else
				ok(r < 0 && !norm && err.code == cases[i].code,
				   "index_uri '%s' refused: %s", cases[i].in, err.msg);
			free(norm);
		}
		err_clear(&err);
		storage_check_index_uri("gs://bkt/x", &(char *){ NULL }, &err);
		ok(!strcmp(err.msg, "scheme 'gs' is not supported yet"), "the message names the scheme: %s",
		   err.msg);
	}

	fsutil_rm_rf(dir, NULL);
	buf_free(&root);
	buf_free(&src);
	buf_free(&obj);
	buf_free(&dst);
	return tap_done();
}
