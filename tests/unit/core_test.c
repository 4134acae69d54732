/* Unit tests for the small core modules: err, ids, fsutil, clock, protocol, bitpack. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bitpack.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "pipeline/protocol.h"
#include "tap.h"
#include "base/xalloc.h"

static void test_err(void)
{
	struct qw_err e = QW_ERR_INIT;
	char big[2000];

	ok(err_set(&e, EX_DATAERR, "bad %s", "thing") == -1 && e.code == EX_DATAERR,
	   "err_set returns -1 and keeps the code");
	err_prefix(&e, "file '%s'", "x.yaml");
	ok(strcmp(e.msg, "file 'x.yaml': bad thing") == 0, "err_prefix puts context in front: %s", e.msg);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, EX_DATAERR, "%s", big);
	err_prefix(&e, "ctx");
	ok(strlen(e.msg) == QW_ERR_MSG_MAX - 1 && strncmp(e.msg, "ctx: a", 6) == 0,
	   "a long message is truncated, never overflowed");
}

static void test_ids(void)
{
	char u1[ULID_LEN + 1], u2[ULID_LEN + 1];
	char longid[301];
	struct qw_err e = QW_ERR_INIT;

	ok(ids_check_index("hdfs-logs", NULL) == 0, "hdfs-logs is a valid index id");
	ok(ids_check_index("a.b_c-d9", NULL) == 0, "letters, digits, . _ - are allowed");
	ok(ids_check_index("../x", &e) < 0 && e.code == EX_USAGE, "../x is rejected: %s", e.msg);
	ok(ids_check_index("", NULL) < 0, "the empty id is rejected");
	ok(ids_check_index("ab", NULL) < 0, "two characters are too short");
	ok(ids_check_index("1abc", NULL) < 0, "an id starting with a digit is rejected");
	ok(ids_check_index("a/b/c", NULL) < 0, "a slash is rejected");
	memset(longid, 'a', 300);
	longid[300] = '\0';
	ok(ids_check_index(longid, NULL) < 0, "300 characters are too long");
	longid[255] = '\0';
	ok(ids_check_index(longid, NULL) == 0, "255 characters are fine");
	ok(ids_ulid_new(u1, NULL) == 0 && ids_ulid_new(u2, NULL) == 0, "ULIDs are generated");
	ok(ids_is_ulid(u1) && ids_is_ulid(u2) && strcmp(u1, u2) != 0, "ULIDs are valid and distinct: %s %s", u1, u2);
	ok(!ids_is_ulid("../../etc/passwd") && !ids_is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAI"),
	   "non-ULIDs are rejected (I is not Crockford)");
}

static void test_fsutil(void)
{
	char tmpl[] = "/tmp/qw-core-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *deep, *file;
	struct buf b = BUF_INIT;
	struct qw_err e = QW_ERR_INIT;

	ok(dir != NULL, "temp dir created");
	if (!dir)
		return;
	deep = fsutil_join(dir, "a/b/c");
	ok(fsutil_mkdir_p(deep, 0755, &e) == 0, "mkdir -p creates nested dirs");
	file = fsutil_join(deep, "f.json");
	ok(fsutil_write_atomic(file, "{\"x\":1}", 7, &e) == 0, "atomic write");
	ok(fsutil_read_all(file, &b, &e) == 0 && b.len == 7 && !strcmp(b.data, "{\"x\":1}"), "read back");
	buf_reset(&b);
	ok(fsutil_read_all("/nonexistent/qw", &b, &e) < 0 && e.code == EX_NOINPUT, "missing file is EX_NOINPUT");
	{
		char *under_file = fsutil_join(file, "sub");

		ok(fsutil_mkdir_p(under_file, 0755, &e) < 0 && e.code == EX_CANTCREAT,
		   "mkdir under a regular file fails with EX_CANTCREAT: %s", e.msg);
		char *impossible = fsutil_join(under_file, "x");

		ok(fsutil_write_atomic(impossible, "", 0, &e) < 0 && e.code == EX_CANTCREAT,
		   "atomic write into an impossible dir fails with EX_CANTCREAT");
		free(impossible);
		free(under_file);
	}
	ok(fsutil_rm_rf(dir, &e) == 0 && access(dir, F_OK) < 0, "rm -rf removes the tree");
	free(file);
	free(deep);
	buf_free(&b);
}

static void test_clock(void)
{
	struct clock c;

#ifndef QW_TEST_KNOBS
	setenv("QW_TIME_SCALE", "1000", 1);
	ok(clock_scale() == 1.0, "a release build ignores QW_TIME_SCALE");
	unsetenv("QW_TIME_SCALE");
	return;
#endif
	setenv("QW_TIME_SCALE", "1e6", 1);
	ok(clock_scale() == CLOCK_SCALE_MAX, "QW_TIME_SCALE is bounded: %g", clock_scale());
	setenv("QW_TIME_SCALE", "1000", 1);
	ok(clock_scale() == 1000.0, "QW_TIME_SCALE is read");
	clock_init(&c);
	ok(clock_wait_ms(&c, 60000) == 60, "60 scaled seconds are 60 real ms at scale 1000");
	setenv("QW_TIME_SCALE", "garbage", 1);
	ok(clock_scale() == 1.0, "an invalid scale falls back to 1");
	unsetenv("QW_TIME_SCALE");
	clock_init(&c);
	ok(clock_wait_ms(&c, 0) == 0 && clock_wait_ms(&c, 1) == 1, "waits round up to 1 ms");
}

static void test_protocol(void)
{
	int fds[2];
	struct protocol_reader r;
	const char *line;
	size_t len;
	struct qw_err e = QW_ERR_INIT;
	const char input[] = "{\"a\":1}\r\n\x1e{\"type\":\"commit\"}\n" "0123456789ABCDEF0123456789\n" "{\"b\":2}";
	json_t *rec;

	ok(pipe(fds) == 0, "pipe");
	ok(write(fds[1], input, sizeof(input) - 1) == (ssize_t)(sizeof(input) - 1), "write input");
	close(fds[1]);
	protocol_reader_init(&r, fds[0], "pipe", 20);
	ok(protocol_read_line(&r, &line, &len, &e) == LINE_DOC && len == 7 && !memcmp(line, "{\"a\":1}", 7),
	   "a document line, CR stripped");
	ok(protocol_read_line(&r, &line, &len, &e) == LINE_CONTROL, "a control line");
	rec = protocol_parse_control(line, len, &e);
	ok(rec && !strcmp(protocol_type(rec), "commit"), "control record type is commit");
	json_decref(rec);
	ok(protocol_read_line(&r, &line, &len, &e) == LINE_TOO_LONG && len == 26, "a line over max_line is reported with its length");
	ok(protocol_read_line(&r, &line, &len, &e) == LINE_DOC && len == 7, "final line without newline is returned");
	ok(protocol_read_line(&r, &line, &len, &e) == LINE_EOF, "then EOF");
	ok(r.bytes_consumed == sizeof(input) - 1, "every byte is accounted for");
	protocol_reader_free(&r);
	close(fds[0]);
	ok(protocol_parse_control("[1]", 3, &e) == NULL && e.code == EX_DATAERR, "a control record must be an object with a type");
}

/* Every width 0..32 and counts around the 8-byte loads' end: the values
 * come back, read from a copy of exactly bitpack_bytes() bytes (ASan sees
 * a read past them), and agree with the packed bits read one at a time. */
static void test_bitpack(void)
{
	static const size_t counts[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 127, 128, 129, 300 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int bad = 0, cases = 0;

	for (unsigned bits = 0; bits <= 32; bits++) {
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			size_t n = counts[c], nbytes = (size_t)bitpack_bytes(n, bits);
			uint32_t *v = xcalloc(n + 1, sizeof(*v)), *got = xcalloc(n + 1, sizeof(*got));
			struct buf b = BUF_INIT;
			uint8_t *exact;

			for (size_t i = 0; i < n; i++) {
				seed ^= seed << 13;
				seed ^= seed >> 7;
				seed ^= seed << 17;
				v[i] = bits == 32 ? (uint32_t)seed : (uint32_t)(seed & ((1ULL << bits) - 1));
				if (i % 5 == 0 && bits)   /* the widest value too */
					v[i] = (uint32_t)(bits == 32 ? 0xffffffffULL : (1ULL << bits) - 1);
			}
			bitpack_pack32(&b, v, n, bits);
			bad += b.len != nbytes;
			exact = xmalloc(nbytes ? nbytes : 1);
			memcpy(exact, b.data ? b.data : "", nbytes);
			bitpack_unpack32(exact, bits, got, n);
			for (size_t i = 0; i < n; i++) {
				uint32_t one_by_one = 0;

				for (unsigned j = 0; j < bits; j++) {
					uint64_t at = (uint64_t)i * bits + j;

					one_by_one |= (uint32_t)((exact[at >> 3] >> (at & 7)) & 1u) << j;
				}
				bad += got[i] != v[i] || one_by_one != v[i];
			}
			cases++;
			free(exact);
			buf_free(&b);
			free(got);
			free(v);
		}
	}
	ok(bad == 0, "bitpack_unpack32 gives back what bitpack_pack32 packed (%d cases, %d wrong)",
	   cases, bad);
}

int main(void)
{
	test_err();
	test_ids();
	test_fsutil();
	test_clock();
	test_protocol();
	test_bitpack();
	return tap_done();
}
