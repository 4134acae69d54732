/*
 * supervisor_test: the chain runner of qw-pipeline (src/lib/pipeline/supervisor.h)
 * with /bin/sh stages: a --once chain copies the last stage's output and
 * ends with 0 after one generation; a failing stage is retried
 * max_restarts times with its first stderr line in the final error; an
 * error of the start callback ends the run with it. The oracle is the
 * shell commands' own effect (what tr(1) makes of the input) and the
 * counts of the callbacks.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "pipeline/supervisor.h"
#include "tap.h"
#include "base/xalloc.h"

struct chain {
	const char *const *scripts;  /* one sh -c script per stage */
	size_t n;
	unsigned starts, ends;
	bool fail_start;
};

static int start_chain(void *ctx, unsigned gen, struct supervisor_gen *g, struct qw_err *err)
{
	struct chain *c = ctx;

	c->starts++;
	if (c->fail_start)
		return err_set(err, EX_CANTCREAT, "cannot prepare generation %u", gen);
	g->stages = xcalloc(c->n, sizeof(*g->stages));
	g->n = c->n;
	for (size_t i = 0; i < c->n; i++) {
		struct supervisor_stage *st = &g->stages[i];

		st->name = xstrdup("sh-stage");
		st->path = xstrdup("/bin/sh");
		st->argv = xcalloc(4, sizeof(*st->argv));
		st->argv[0] = xstrdup("sh");
		st->argv[1] = xstrdup("-c");
		st->argv[2] = xstrdup(c->scripts[i]);
	}
	return 0;
}

static void end_chain(void *ctx, unsigned gen)
{
	struct chain *c = ctx;

	(void)gen;
	c->ends++;
}

static void init_opts(struct supervisor_opts *o, struct chain *c, int out_fd)
{
	memset(o, 0, sizeof(*o));
	o->prog = "supervisor_test";
	o->once = true;
	o->max_restarts = 2;
	o->stall_timeout_ms = 0;
	o->backoff_initial_ms = 10;
	o->backoff_max_ms = 20;
	o->input_fd = -1;
	o->output_fd = out_fd;
	o->start = start_chain;
	o->end = end_chain;
	o->ctx = c;
}

static void test_once(const char *dir)
{
	static const char *const scripts[] = { "printf 'alpha\\nbeta\\n'", "tr a-z A-Z" };
	struct chain c = { scripts, 2, 0, 0, false };
	char *out = fsutil_join(dir, "out");
	struct qw_err err = QW_ERR_INIT;
	struct supervisor_opts o;
	struct buf got = BUF_INIT;
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc;

	init_opts(&o, &c, fd);
	rc = supervisor_run(&o, &err);
	close(fd);
	ok(rc == 0, "a --once chain that ends well returns 0 (%d: %s)", rc, err.msg);
	ok(c.starts == 1 && c.ends == 1, "one generation, started and ended (%u, %u)", c.starts,
	   c.ends);
	ok(fsutil_read_all(out, &got, NULL) == 0 && !strcmp(buf_str(&got), "ALPHA\nBETA\n"),
	   "the last stage's output is copied through the chain (%s)", buf_str(&got));
	buf_free(&got);
	free(out);
}

static void test_failing(void)
{
	static const char *const scripts[] = { "echo boom-first >&2; echo second >&2; exit 3",
		"cat" };
	struct chain c = { scripts, 2, 0, 0, false };
	struct qw_err err = QW_ERR_INIT;
	struct supervisor_opts o;
	int rc;

	init_opts(&o, &c, -1);
	rc = supervisor_run(&o, &err);
	ok(rc == -1 && err.code == EX_TEMPFAIL, "a stage failing every time: EX_TEMPFAIL (%d)",
	   err.code);
	ok(c.starts == 3 && c.ends == 3, "max_restarts 2: three generations (%u started, %u ended)",
	   c.starts, c.ends);
	ok(strstr(err.msg, "boom-first") != NULL,
	   "the error names the stage's first stderr line (%s)", err.msg);
}

static void test_start_error(void)
{
	static const char *const scripts[] = { "true" };
	struct chain c = { scripts, 1, 0, 0, true };
	struct qw_err err = QW_ERR_INIT;
	struct supervisor_opts o;
	int rc;

	init_opts(&o, &c, -1);
	rc = supervisor_run(&o, &err);
	ok(rc == -1 && err.code == EX_CANTCREAT && strstr(err.msg, "generation 1"),
	   "the start callback's error ends the run with it (%s)", err.msg);
	ok(c.starts == 1 && c.ends == 0, "and nothing is started after it");
}

int main(void)
{
	char dir[] = "/tmp/qw-supervisor-test-XXXXXX";
	struct qw_err err = QW_ERR_INIT;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_once(dir);
	test_failing();
	test_start_error();
	fsutil_rm_rf(dir, &err);
	return tap_done();
}
