/*
 * storage_test: the file:// backend of src/lib/storage.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "storage.h"
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
	ok(storage_open("s3://bucket/x", &err) == NULL && err.code == EX_UNAVAILABLE,
	   "s3:// is not there yet: EX_UNAVAILABLE");
	err_clear(&err);
	ok(storage_open("", &err) == NULL && err.code == EX_USAGE, "empty uri refused");
	st = storage_open(dir, &err);
	ok(st && !strncmp(storage_root_uri(st), "file://", 7), "a plain path means file://");
	storage_close(st);

	fsutil_rm_rf(dir, NULL);
	buf_free(&root);
	buf_free(&src);
	buf_free(&obj);
	buf_free(&dst);
	return tap_done();
}
