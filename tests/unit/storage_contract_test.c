/*
 * storage_contract_test: the contract of storage.h, run against one
 * backend named by its root URI, so that every backend passes the same
 * checks: $QW_TEST_STORAGE_URI (or argv[1]), by default a fresh file://
 * directory. Object names carry a per-run prefix, so a shared root (a
 * bucket) can be used; every object written is deleted at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "store/storage.h"
#include "tap.h"
#include "base/xalloc.h"

static int write_file(const char *path, const char *s)
{
	return fsutil_write_atomic(path, s, strlen(s), NULL);
}

static bool file_is(const char *path, const char *s)
{
	struct buf b = BUF_INIT;
	bool same = fsutil_read_all(path, &b, NULL) == 0 && strcmp(buf_str(&b), s) == 0;

	buf_free(&b);
	return same;
}

static char *name_of(const char *prefix, const char *what)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s%s", prefix, what);
	return buf_detach(&b, NULL);
}

/* The entry of a listing with that name, NULL when absent. */
static const struct storage_entry *find_entry(const struct storage_entry *v, size_t n,
					      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void test_objects(struct storage *s, const char *prefix, const char *tmp)
{
	struct qw_err err = QW_ERR_INIT;
	char *a = name_of(prefix, "a.split"), *b = name_of(prefix, "b.split");
	char *src = fsutil_join(tmp, "src"), *dst = fsutil_join(tmp, "dst");
	char *uri = NULL;
	struct storage_entry *v = NULL;
	size_t n = 0;
	time_t now = time(NULL);

	ok(storage_exists(s, a, &err) == 0, "a missing object does not exist");
	err_clear(&err);
	ok(storage_get_file(s, a, dst, &err) < 0 && err.code == EX_NOINPUT,
	   "get of a missing object is EX_NOINPUT");
	err_clear(&err);
	ok(storage_delete(s, a, &err) == 0, "delete of a missing object is not an error");

	write_file(src, "first content\n");
	ok(storage_put_file(s, a, src, false, &err) == 0, "put (copy): %s", err.msg);
	ok(access(src, F_OK) == 0, "a copy leaves the source");
	ok(storage_exists(s, a, &err) == 1, "the object exists after put");
	ok(storage_get_file(s, a, dst, &err) == 0 && file_is(dst, "first content\n"),
	   "get returns the bytes put");

	write_file(src, "second, longer content\n");
	ok(storage_put_file(s, a, src, true, &err) == 0, "put (move) over an object: %s",
	   err.msg);
	ok(access(src, F_OK) != 0, "a move removes the source");
	ok(storage_get_file(s, a, dst, &err) == 0 && file_is(dst, "second, longer content\n"),
	   "a put replaces the object whole");

	write_file(src, "b\n");
	ok(storage_put_file(s, b, src, false, &err) == 0, "put of a second object");
	ok(storage_list(s, prefix, &v, &n, &err) == 0, "list: %s", err.msg);
	ok(n == 2, "list by prefix gives the 2 objects put (%zu)", n);
	ok(find_entry(v, n, a) && find_entry(v, n, a)->size == 23, "a listed with its size");
	ok(find_entry(v, n, b) && find_entry(v, n, b)->size == 2, "b listed with its size");
	ok(find_entry(v, n, a) && llabs((long long)(find_entry(v, n, a)->mtime_s - now)) < 3600,
	   "the modification time is the wall clock's");
	storage_free_entries(v, n);
	{
		char *other = name_of(prefix, "c");

		ok(storage_list(s, other, &v, &n, &err) == 0 && n == 0,
		   "a prefix that names nothing lists nothing");
		storage_free_entries(v, n);
		free(other);
	}

	uri = storage_uri(s, a, &err);
	{
		struct buf want = BUF_INIT;

		buf_addf(&want, "%s/%s", storage_root_uri(s), a);
		ok(uri && !strcmp(uri, buf_str(&want)), "storage_uri is root/name (%s)",
		   uri ? uri : "NULL");
		buf_free(&want);
	}

	ok(storage_delete(s, a, &err) == 0 && storage_exists(s, a, &err) == 0,
	   "delete removes the object");
	ok(storage_delete(s, b, &err) == 0, "delete of b");
	ok(storage_list(s, prefix, &v, &n, &err) == 0 && n == 0, "nothing left listed");
	storage_free_entries(v, n);
	free(uri);
	free(dst);
	free(src);
	free(b);
	free(a);
}

static void test_names(struct storage *s, const char *tmp)
{
	static const char *const bad[] = { "", ".hidden", "a/b", "../x", "." };
	char *src = fsutil_join(tmp, "src");

	write_file(src, "x");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct qw_err e1 = QW_ERR_INIT, e2 = QW_ERR_INIT, e3 = QW_ERR_INIT;
		struct qw_err e4 = QW_ERR_INIT;

		ok(storage_put_file(s, bad[i], src, false, &e1) < 0 && e1.code == EX_DATAERR &&
		   storage_get_file(s, bad[i], src, &e2) < 0 && e2.code == EX_DATAERR &&
		   storage_delete(s, bad[i], &e3) < 0 && e3.code == EX_DATAERR &&
		   storage_exists(s, bad[i], &e4) < 0 && e4.code == EX_DATAERR,
		   "the name '%s' is refused by every call", bad[i]);
	}
	free(src);
}

static void test_missing_root(const char *root_uri)
{
	struct qw_err err = QW_ERR_INIT;
	struct buf uri = BUF_INIT;
	struct storage *s;
	struct storage_entry *v = NULL;
	size_t n = 1;

	buf_addf(&uri, "%s/not-created-yet-%ld", root_uri, (long)getpid());
	s = storage_open(buf_str(&uri), &err);
	ok(s && storage_list(s, "", &v, &n, &err) == 0 && n == 0,
	   "a root that does not exist yet lists no object");
	storage_free_entries(v, n);
	storage_close(s);
	buf_free(&uri);
}

int main(int argc, char **argv)
{
	struct qw_err err = QW_ERR_INIT;
	char tmp[] = "/tmp/qw-storage-contract-XXXXXX";
	const char *uri = argc > 1 ? argv[1] : getenv("QW_TEST_STORAGE_URI");
	char *local_root = NULL;
	char prefix[ULID_LEN + 2];
	struct storage *s;

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	if (!uri || !*uri) {
		struct buf b = BUF_INIT;

		buf_addf(&b, "file://%s/root", tmp);
		local_root = buf_detach(&b, NULL);
		uri = local_root;
	}
	tap_diag("backend %s", uri);
	ids_ulid_new(prefix, NULL);
	strcat(prefix, "-");
	s = storage_open(uri, &err);
	if (!ok(s != NULL, "open '%s': %s", uri, err.msg))
		return tap_done();
	test_objects(s, prefix, tmp);
	test_names(s, tmp);
	test_missing_root(uri);
	storage_close(s);
	{
		struct qw_err e = QW_ERR_INIT;

		fsutil_rm_rf(tmp, &e);
	}
	free(local_root);
	return tap_done();
}
