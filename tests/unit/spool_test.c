/* spool: what goes in comes out, from any fed offset, and ends once. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/spool.h"
#include "tap.h"

/* Feed until the spool closes the feed or the pipe would block; returns
 * what the reader got. */
static size_t drain(struct spool *sp, int rd, char *out, size_t cap)
{
	struct qw_err e = QW_ERR_INIT;
	size_t got = 0;

	for (;;) {
		ssize_t n;

		if (spool_write_output(sp, &e) < 0)
			return (size_t)-1;
		n = read(rd, out + got, cap - got);
		if (n <= 0)
			return got; /* end (feed closed) or nothing more (non-blocking) */
		got += (size_t)n;
	}
}

int main(void)
{
	char dir[] = "/tmp/spool_test.XXXXXX", path[64], out[1 << 16];
	struct qw_err e = QW_ERR_INIT;
	struct spool *sp;
	int in[2], feed[2];
	const char *text = "one\ntwo\nthree\n";
	size_t len = strlen(text), got;
	struct stat st;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/s", dir);
	if (pipe(in) < 0)
		return 1;
	sp = spool_open(path, in[0], &e);
	ok(sp != NULL, "a spool opens on a new path");
	ok(spool_open(path, in[0], &e) == NULL && e.code == 73, "an existing path is refused (73)");
	ok(write(in[1], text, len) == (ssize_t)len, "the stream gets its bytes");
	ok(spool_wants_input(sp) && spool_read_input(sp, &e) == 0 && spool_size(sp) == len,
	   "one read spools what the stream has");

	if (pipe(feed) < 0)
		return 1;
	fcntl(feed[0], F_SETFL, O_NONBLOCK);
	ok(spool_feed(sp, 0, feed[1], &e) == 0 && spool_wants_output(sp), "a feed from 0 has work");
	got = drain(sp, feed[0], out, sizeof(out));
	ok(got == len && !memcmp(out, text, len), "the first generation reads the stream");
	ok(spool_unfed(sp) == 0 && !spool_wants_output(sp), "nothing left to feed");
	ok(spool_feed_fd(sp) >= 0, "the feed stays open while the stream goes on");
	close(feed[0]);

	/* a new generation, fed again from a published line boundary */
	if (pipe(feed) < 0)
		return 1;
	fcntl(feed[0], F_SETFL, O_NONBLOCK);
	ok(spool_feed(sp, 4, feed[1], &e) == 0, "a feed from a published offset");
	got = drain(sp, feed[0], out, sizeof(out));
	ok(got == len - 4 && !memcmp(out, text + 4, len - 4), "the next generation reads from there again");
	close(in[1]);
	ok(spool_read_input(sp, &e) == 0 && !spool_wants_input(sp), "the end of the stream is seen");
	ok(spool_feed_fd(sp) < 0, "all fed and the stream ended: the feed is closed");
	ok(read(feed[0], out, 1) == 0, "the stage reads its end");
	close(feed[0]);

	if (pipe(feed) < 0)
		return 1;
	ok(spool_feed(sp, len + 1, feed[1], &e) < 0 && e.code == 70,
	   "a published offset past the spool is an error");
	if (pipe(feed) < 0)
		return 1;
	ok(spool_feed(sp, len, feed[1], &e) == 0 && spool_feed_fd(sp) < 0,
	   "fed from its end after the stream ended: closed at once");
	ok(read(feed[0], out, 1) == 0, "and the stage reads its end");
	close(feed[0]);
	ok(stat(path, &st) == 0, "the spool file exists while the spool lives");
	spool_close(sp);
	ok(stat(path, &st) < 0, "spool_close removes it");
	close(in[0]);
	rmdir(dir);
	return tap_done();
}
