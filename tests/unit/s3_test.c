/*
 * s3_test: the S3 XML scanner and URI rules offline; with QW_S3_ENDPOINT
 * and S3_BUCKET set (tests/57-s3.bats starts s3rver and runs this), the
 * client's requests against a live server. Expected values come from the
 * data the test wrote, never from the client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "store/s3.h"
#include "store/s3_xml.h"
#include "tap.h"
#include "base/xalloc.h"

static void test_uri(void)
{
	char *b = NULL, *p = NULL;
	struct qw_err err = QW_ERR_INIT;

	ok(s3_parse_uri("s3://my-bucket/a/b/", &b, &p, &err) == 0 && !strcmp(b, "my-bucket") &&
	   !strcmp(p, "a/b"), "s3://my-bucket/a/b/ is bucket my-bucket, prefix a/b");
	free(b);
	free(p);
	ok(s3_parse_uri("s3://bkt", &b, &p, &err) == 0 && !strcmp(b, "bkt") && !strcmp(p, ""),
	   "a bucket alone has an empty prefix");
	free(b);
	free(p);
	ok(s3_parse_uri("s3://Bad_Bucket/x", &b, &p, &err) < 0 && err.code == EX_DATAERR &&
	   !b && !p, "an upper-case bucket name is refused");
	ok(s3_parse_uri("s3://ab/x", &b, &p, &err) < 0, "a 2-character bucket is refused");
	ok(s3_parse_uri("s3://bkt/a/../b", &b, &p, &err) < 0 && strstr(err.msg, ".."),
	   "a '..' prefix component is refused");
	ok(s3_parse_uri("s3://bkt/a//b", &b, &p, &err) < 0, "an empty prefix component is refused");
	ok(s3_parse_uri("file:///x", &b, &p, &err) < 0, "a file:// uri is not s3");
}

static void test_xml(void)
{
	static const char list[] =
		"<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
		"<Contents><Key>a&amp;amp;b</Key><Size>12</Size>"
		"<LastModified>2026-12-02T02:03:18.000Z</LastModified></Contents>"
		"<Contents><Key>c&#233;&#x41;</Key><Size>0</Size></Contents>"
		"<NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>";
	static const char err_doc[] =
		"<Error><Code>SlowDown</Code><Message>Please &lt;slow&gt;</Message></Error>";
	struct s3_xml_object *o = NULL;
	struct qw_err err = QW_ERR_INIT;
	char *tok = NULL, *code = NULL, *msg = NULL;
	size_t n = 0;

	ok(s3_xml_list(list, sizeof(list) - 1, &o, &n, &tok, &err) == 0 && n == 2,
	   "a list page has its 2 objects");
	ok(n == 2 && !strcmp(o[0].key, "a&amp;b") && o[0].size == 12,
	   "a key is unescaped once (&amp;amp; is &amp;)");
	/* date -u -d 2026-12-02T02:03:18Z +%s */
	ok(n == 2 && o[0].mtime == 1796176998 && o[1].mtime == 0,
	   "LastModified in epoch seconds, 0 when absent");
	ok(n == 2 && !strcmp(o[1].key, "c\xc3\xa9" "A") && o[1].size == 0,
	   "numeric entities become UTF-8");
	ok(tok && !strcmp(tok, "tok/+="), "a truncated page gives its continuation token");
	s3_xml_objects_free(o, n);
	free(tok);
	ok(s3_xml_list("<IsTruncated>true</IsTruncated>", 31, &o, &n, &tok, &err) < 0 &&
	   err.code == EX_DATAERR, "truncated without a token is an error");
	ok(s3_xml_list("<Contents><Key>x</Key>", 22, &o, &n, &tok, &err) < 0,
	   "an unterminated element is an error");
	ok(s3_xml_list("<Contents><Key>x&bogus;</Key></Contents>", 40, &o, &n, &tok, &err) < 0,
	   "an unknown entity is an error");
	ok(s3_xml_list("<Contents><Key>x</Key><Size>-1</Size></Contents>", 48, &o, &n, &tok,
		       &err) < 0, "a negative size is an error");
	ok(s3_xml_list("<Contents><Key>x</Key><LastModified>yesterday</LastModified></Contents>",
		       71, &o, &n, &tok, &err) < 0, "a bad LastModified is an error");
	ok(s3_xml_error(err_doc, sizeof(err_doc) - 1, &code, &msg, &err) == 0 &&
	   !strcmp(code, "SlowDown") && !strcmp(msg, "Please <slow>"),
	   "an error document gives its code and message");
	free(code);
	free(msg);
}

static void fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
}

static int collect(void *ctx, const char *key, uint64_t size, int64_t mtime)
{
	struct buf *b = ctx;
	int64_t now = (int64_t)time(NULL);

	/* s3rver stamps objects with its clock: the same machine's */
	if (mtime < now - 600 || mtime > now + 600)
		buf_addf(b, "(bad mtime %lld) ", (long long)mtime);
	buf_addf(b, "%s=%llu\n", key, (unsigned long long)size);
	return 0;
}

static int read_all(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(b, chunk, n);
	fclose(f);
	return 0;
}

static void test_live(const char *bucket, const char *tmp)
{
	struct qw_err err = QW_ERR_INIT;
	struct s3_client *c = s3_client_new(&err);
	struct buf got = BUF_INIT, keys = BUF_INIT;
	struct s3_stats st;
	size_t big_len = (11u << 20) + 12345;
	char *big = xmalloc(big_len);
	char *src = fsutil_join(tmp, "big.bin"), *dst = fsutil_join(tmp, "back.bin");
	uint64_t size = 0;
	FILE *f;

	if (!ok(c != NULL, "client from the environment (%s)", err.msg))
		goto out;
	ok(s3_put(c, bucket, "t/one", "hello world", 11, &err) == 0, "put a small object (%s)",
	   err.msg);
	ok(s3_get(c, bucket, "t/one", 0, 0, &got, &err) == 0 && got.len == 11 &&
	   !memcmp(got.data, "hello world", 11), "get it whole");
	buf_reset(&got);
	ok(s3_get(c, bucket, "t/one", 6, 3, &got, &err) == 0 && got.len == 3 &&
	   !memcmp(got.data, "wor", 3), "a range get returns exactly the asked bytes");
	buf_reset(&got);
	ok(s3_get(c, bucket, "t/one", 6, 0, &got, &err) == 0 && got.len == 5 &&
	   !memcmp(got.data, "world", 5), "an open range runs to the end");
	buf_reset(&got);
	ok(s3_head(c, bucket, "t/one", &size, &err) == 1 && size == 11, "head gives the size");
	ok(s3_head(c, bucket, "t/none", &size, &err) == 0, "head of a missing key is 0");
	ok(s3_get(c, bucket, "t/none", 0, 0, &got, &err) < 0 && err.code == EX_NOINPUT &&
	   strstr(err.msg, "s3://") && strstr(err.msg, "t/none") && strstr(err.msg, "404"),
	   "get of a missing key is EX_NOINPUT naming bucket, key and status: %s", err.msg);
	ok(got.len == 0, "a failed get appends nothing");
	ok(s3_put(c, bucket, "t/two", "", 0, &err) == 0, "put an empty object");
	ok(s3_put(c, bucket, "u/three", "x", 1, &err) == 0, "put under another prefix");
	ok(s3_list(c, bucket, "t/", collect, &keys, &err) == 0 &&
	   !strcmp(buf_str(&keys), "t/one=11\nt/two=0\n"),
	   "list under t/ gives exactly its keys and sizes: %s", buf_str(&keys));
	ok(s3_delete(c, bucket, "t/one", &err) == 0 && s3_head(c, bucket, "t/one", NULL, &err) == 0,
	   "delete removes an object");
	ok(s3_delete(c, bucket, "t/one", &err) == 0, "deleting a missing object is no error");

	/* multipart: parts of 5 MiB for an 11 MiB file (env set by the caller) */
	fill(big, big_len, 42);
	f = fopen(src, "wb");
	ok(f && fwrite(big, 1, big_len, f) == big_len && fclose(f) == 0, "write the big file");
	ok(s3_put_file(c, bucket, "t/big", src, &err) == 0, "multipart upload (%s)", err.msg);
	ok(s3_get_file(c, bucket, "t/big", dst, &err) == 0, "get_file (%s)", err.msg);
	buf_reset(&got);
	ok(read_all(dst, &got) == 0 && got.len == big_len && !memcmp(got.data, big, big_len),
	   "the downloaded file is the uploaded bytes");
	buf_reset(&got);
	ok(s3_get(c, bucket, "t/big", (5u << 20) - 10, 20, &got, &err) == 0 && got.len == 20 &&
	   !memcmp(got.data, big + (5u << 20) - 10, 20), "a range across a part boundary");
	ok(s3_get_file(c, bucket, "t/none", dst, &err) < 0 && access(dst, F_OK) == 0,
	   "a failed get_file leaves the previous file in place");
	ok(s3_put(c, "no-such-bucket", "k", "x", 1, &err) < 0 && err.code == EX_IOERR &&
	   strstr(err.msg, "no-such-bucket") && strstr(err.msg, "NoSuchBucket"),
	   "a missing bucket is EX_IOERR naming the bucket and S3 code: %s", err.msg);
	s3_client_stats(c, &st);
	ok(st.requests >= 18 && st.bytes_out >= big_len && st.bytes_in >= big_len,
	   "stats count requests (%llu) and bytes (in %llu, out %llu)",
	   (unsigned long long)st.requests, (unsigned long long)st.bytes_in,
	   (unsigned long long)st.bytes_out);
out:
	s3_client_free(c);
	free(dst);
	free(src);
	free(big);
	buf_free(&keys);
	buf_free(&got);
}

/* A closed port: connection refused is retried, then EX_TEMPFAIL. */
static void test_refused(void)
{
	struct qw_err err = QW_ERR_INIT;
	struct s3_client *c;
	struct s3_stats st;

	setenv("QW_S3_ENDPOINT", "http://127.0.0.1:1", 1);
	setenv("QW_S3_FORCE_PATH_STYLE_ACCESS", "true", 1);
	setenv("QW_S3_MAX_ATTEMPTS", "3", 1);
	setenv("QW_S3_MAX_RETRY_MS", "2000", 1);
	setenv("AWS_ACCESS_KEY_ID", "k", 0);
	setenv("AWS_SECRET_ACCESS_KEY", "s", 0);
	c = s3_client_new(&err);
	ok(c && s3_put(c, "bkt", "k", "x", 1, &err) < 0 && err.code == EX_TEMPFAIL &&
	   strstr(err.msg, "3 attempts"), "a refused connection is retried 3 times then "
	   "EX_TEMPFAIL: %s", err.msg);
	if (c) {
		s3_client_stats(c, &st);
		ok(st.requests == 3 && st.retries == 2, "3 requests, 2 retries");
	}
	s3_client_free(c);
}

int main(void)
{
	const char *bucket = getenv("S3_BUCKET");
	const char *tmp = getenv("S3_TEST_TMPDIR");

	test_uri();
	test_xml();
	if (getenv("QW_S3_ENDPOINT") && bucket && tmp)
		test_live(bucket, tmp);
	else
		printf("# no QW_S3_ENDPOINT/S3_BUCKET/S3_TEST_TMPDIR: live tests not run\n");
	test_refused();
	return tap_done();
}
