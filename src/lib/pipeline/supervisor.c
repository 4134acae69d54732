/*
 * supervisor: the qw-pipeline state machine (see supervisor.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "pipeline/protocol.h"
#include "pipeline/spool.h"
#include "pipeline/stage_stats.h"
#include "pipeline/supervisor.h"
#include "base/xalloc.h"

enum state { S_DOWN, S_UP, S_STOPPING, S_KILLING, S_DONE, S_N };
enum event { E_TIMER, E_EXIT_OK, E_FAIL, E_STALL, E_ALL_DOWN, E_TERM, E_USR1, E_N };

static const char *const state_names[S_N] = {
	"down", "running", "stopping", "killing", "done",
};

struct child {
	pid_t pid;          /* 0 once reaped */
	int status;
	uint64_t activity;  /* I/O and CPU figures at the last tick */
	int64_t idle_since; /* scaled ms: last activity, or work not pending */
	int err_fd;         /* read end of the stage's stderr, -1 at its EOF */
	int out_hold;       /* a write end of the stage's stdout pipe, -1 */
	char line[1024];    /* partial stderr line */
	size_t line_len;
	char first[256];    /* first stderr line: the stage's first error */
	json_t *stats;      /* the stage's last stats record (stage_stats.h), NULL */
	int64_t started_ms; /* unscaled ms: when it was started */
	int64_t stats_ms;   /* unscaled ms: when its last stats record came */
};

struct sup {
	const struct supervisor_opts *o;
	struct clock clock;        /* the time scale, read once at the start */
	enum state state;
	struct supervisor_gen gen;
	struct child *kids;
	size_t running;            /* children not reaped yet */
	pid_t pgid;
	int sigfd;
	int out_fd;                /* read end of the last stage's stdout, -1 */
	int *peek_fds;             /* read ends of inter-stage pipes (FIONREAD) */
	size_t npeek;
	struct spool *spool;       /* the spooled input, NULL */
	int feed_peek;             /* read end of the first stage's stdin from the spool, -1 */
	int64_t next_release;      /* scaled ms: when to release published spool bytes */
	struct protocol_reader out_r;
	bool out_r_live;
	unsigned generation;
	unsigned fails_in_row;     /* failed generations without progress */
	unsigned restarts;
	bool gen_progress;         /* a publish in this generation */
	bool stop_requested;
	int stop_signal;           /* the first stop signal */
	int exit_code;             /* when DONE */
	bool have_error;
	struct qw_err *err;        /* run's error (set when DONE with -1) */
	char last_failure[512];
	int64_t next_start;        /* scaled ms deadline in DOWN */
	int64_t next_tick;
	unsigned ticks;
	/* figures */
	int64_t t0;
	uint64_t docs, bytes, splits, invalid;
	json_t *stages;            /* the last stages' figures (status file), NULL */
	char *bottleneck;          /* ... and the busiest of them, NULL */
	/* the failing event's detail */
	char detail[512];
	int detail_signal;
	int permanent_code; /* sysexits code of a failure a restart would repeat */
};

typedef void action_fn(struct sup *s);

/* stderr pipes polled at once (more stages share the tick's reads) */
#define MAX_STAGES 16

/* ------------------------------------------------------------- helpers */

void supervisor_stages_free(struct supervisor_gen *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct supervisor_stage *st = &g->stages[i];

		if (st->argv)
			for (char **a = st->argv; *a; a++)
				free(*a);
		free(st->argv);
		free(st->name);
		free(st->path);
	}
	free(g->stages);
	g->stages = NULL;
	g->n = 0;
}

static void fail_now(struct sup *s, int code, const char *msg)
{
	if (!s->have_error) {
		err_set(s->err, code, "%s", msg);
		s->have_error = true;
	}
}

static void kill_group(struct sup *s)
{
	if (s->running > 0 && s->pgid > 0)
		kill(-s->pgid, SIGKILL);
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Keep the figures of the generation's stages (their last stats records)
 * and the bottleneck: the stage busy (neither waiting for input nor blocked
 * on output) for the largest share of its time, up to its last report. */
static void snapshot_stages(struct sup *s)
{
	json_t *arr = json_array();
	const char *bottleneck = NULL;
	double worst = -1;

	for (size_t i = 0; arr && s->kids && i < s->gen.n; i++) {
		struct child *k = &s->kids[i];
		json_t *o;
		double el, busy;

		if (!k->stats)
			continue;
		o = json_deep_copy(k->stats);
		if (!o)
			continue;
		json_object_del(o, "type");
		/* busy: neither waiting for input nor blocked on output,
		 * over the time up to its last report */
		el = (double)(k->stats_ms - k->started_ms) * 1000.0;
		busy = el - (double)json_integer_value(json_object_get(o, "wait_input_us")) -
		       (double)json_integer_value(json_object_get(o, "blocked_output_us"));
		if (el <= 0 || busy < 0)
			busy = 0;
		json_object_set_new(o, "elapsed_us", json_integer((json_int_t)(el > 0 ? el : 0)));
		json_object_set_new(o, "busy_ratio", json_real(el > 0 ? busy / el : 0));
		if (el > 0 && busy / el > worst) {
			worst = busy / el;
			bottleneck = s->gen.stages[i].name;
		}
		json_array_append_new(arr, o);
	}
	/* between generations: the figures of the last one */
	if (arr && json_array_size(arr) > 0) {
		json_decref(s->stages);
		s->stages = arr;
		free(s->bottleneck);
		s->bottleneck = bottleneck ? xstrdup(bottleneck) : NULL;
	} else {
		json_decref(arr);
	}
}

/* A label value in the text exposition format: \\, \" and \n escaped. */
static void label_value(struct buf *b, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_addc(b, '\\');
		if (*v == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *v);
	}
}

/* A metric's "# HELP" and "# TYPE" lines in the Prometheus text format. */
static void metric_header(struct buf *b, const char *name, const char *help, const char *type)
{
	buf_adds(b, "# HELP ");
	buf_adds(b, name);
	buf_addc(b, ' ');
	buf_adds(b, help);
	buf_adds(b, "\n# TYPE ");
	buf_adds(b, name);
	buf_addc(b, ' ');
	buf_adds(b, type);
	buf_addc(b, '\n');
}

static void metric_labels(struct buf *b, const struct sup *s, const char *stage)
{
	buf_adds(b, "{index=\"");
	label_value(b, s->o->metrics_index);
	buf_adds(b, "\",source=\"");
	label_value(b, s->o->metrics_source);
	if (stage) {
		buf_adds(b, "\",stage=\"");
		label_value(b, stage);
	}
	buf_adds(b, "\"}");
}

/* The Prometheus text file (node_exporter's textfile collector). */
static void write_metrics(struct sup *s)
{
	static const struct {
		const char *name, *key, *help;
		double div;
	} per_stage[] = {
		{ "qw_stage_docs_in_total", "docs_in", "Documents a stage read.", 1 },
		{ "qw_stage_docs_out_total", "docs_out", "Documents a stage wrote.", 1 },
		{ "qw_stage_bytes_in_total", "bytes_in", "Bytes a stage read.", 1 },
		{ "qw_stage_bytes_out_total", "bytes_out", "Bytes a stage wrote.", 1 },
		{ "qw_stage_input_wait_seconds_total", "wait_input_us",
		  "Time a stage waited for input.", 1e6 },
		{ "qw_stage_output_blocked_seconds_total", "blocked_output_us",
		  "Time a stage was blocked writing its output (backpressure).", 1e6 },
		{ "qw_stage_busy_ratio", "busy_ratio",
		  "Share of a stage's time neither waiting for input nor blocked on output.", 1 },
	};
	const struct {
		const char *name, *help;
		uint64_t v;
	} totals[] = {
		{ "qw_pipeline_docs_published_total", "Documents published.", s->docs },
		{ "qw_pipeline_bytes_published_total", "Input bytes published.", s->bytes },
		{ "qw_pipeline_splits_published_total", "Splits published.", s->splits },
		{ "qw_pipeline_invalid_docs_total", "Invalid documents dropped.", s->invalid },
		{ "qw_pipeline_restarts_total", "Generations restarted.", s->restarts },
	};
	struct buf b = BUF_INIT;
	struct qw_err e = QW_ERR_INIT;
	char num[64];

	if (!s->o->metrics_file)
		return;
	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		metric_header(&b, totals[i].name, totals[i].help, "counter");
		buf_adds(&b, totals[i].name);
		metric_labels(&b, s, NULL);
		snprintf(num, sizeof(num), " %" PRIu64 "\n", totals[i].v);
		buf_adds(&b, num);
	}
	for (size_t i = 0; s->stages && i < sizeof(per_stage) / sizeof(per_stage[0]); i++) {
		size_t j;
		json_t *o;

		metric_header(&b, per_stage[i].name, per_stage[i].help,
			      i + 1 == sizeof(per_stage) / sizeof(per_stage[0]) ? "gauge" : "counter");
		json_array_foreach(s->stages, j, o) {
			json_t *v = json_object_get(o, per_stage[i].key);

			buf_adds(&b, per_stage[i].name);
			metric_labels(&b, s, json_string_value(json_object_get(o, "stage")));
			snprintf(num, sizeof(num), " %.17g\n", json_number_value(v) / per_stage[i].div);
			buf_adds(&b, num);
		}
	}
	if (fsutil_write_atomic(s->o->metrics_file, b.data, b.len, &e) < 0)
		err_warn(s->o->prog, "%s", e.msg);
	buf_free(&b);
}

static void write_status(struct sup *s)
{
	json_t *st;
	char *txt;
	struct qw_err e = QW_ERR_INIT;

	snapshot_stages(s);
	write_metrics(s);
	if (!s->o->status_file)
		return;
	st = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		       "state", state_names[s->state],
		       "docs", (json_int_t)s->docs,
		       "bytes", (json_int_t)s->bytes,
		       "splits_published", (json_int_t)s->splits,
		       "invalid_docs", (json_int_t)s->invalid,
		       "restarts", (json_int_t)s->restarts,
		       "generation", (json_int_t)s->generation,
		       "pid", (json_int_t)getpid(),
		       "updated_at", (json_int_t)clock_wall_s());
	if (!st)
		return;
	if (s->stages)
		json_object_set(st, "stages", s->stages);
	if (s->bottleneck)
		json_object_set_new(st, "bottleneck", json_string(s->bottleneck));
	txt = json_dumps(st, JSON_COMPACT);
	if (txt) {
		struct buf b = BUF_INIT;

		buf_adds(&b, txt);
		buf_addc(&b, '\n');
		if (fsutil_write_atomic(s->o->status_file, b.data, b.len, &e) < 0)
			err_warn(s->o->prog, "%s", e.msg);
		buf_free(&b);
		free(txt);
	}
	json_decref(st);
}

/* A counter of a stage in the last snapshot (this generation's, 0 before it reported). */
static int64_t stage_count(const struct sup *s, const char *stage, const char *key)
{
	size_t i;
	json_t *o;

	json_array_foreach(s->stages, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "stage")), stage))
			return (int64_t)json_integer_value(json_object_get(o, key));
	return 0;
}

static void print_progress(struct sup *s, bool final)
{
	double secs = (double)(clock_ms(&s->clock) - s->t0) / 1000.0 / s->clock.scale;
	bool tty = isatty(STDERR_FILENO);

	if (!s->o->progress)
		return;
	/* A terminal line is redrawn every tick; a log gets one every 10. */
	if (!final && !tty && s->ticks++ % 10 != 0)
		return;
	if (secs <= 0)
		secs = 0.001;
	snapshot_stages(s);
	fprintf(stderr, "%s%s: read %" PRId64 ", parsed %" PRId64 ", indexed %" PRId64
		", published %" PRIu64 " docs (%.0f docs/s), %.1f MB (%.1f MB/s), %" PRIu64
		" splits published, %" PRIu64 " invalid, %u restarts%s",
		tty ? "\r" : "", s->o->prog, stage_count(s, "qw-parse", "docs_in"),
		stage_count(s, "qw-parse", "docs_out"), stage_count(s, "qw-index", "docs_in"),
		s->docs, (double)s->docs / secs,
		(double)s->bytes / 1e6, (double)s->bytes / 1e6 / secs, s->splits, s->invalid,
		s->restarts, tty && !final ? "\033[K" : "\n");
	fflush(stderr);
}

/* Read the figures of one line of the chain's output. */
static void account(struct sup *s, const char *line, size_t len)
{
	json_t *rec = protocol_parse_control(line, len, NULL);
	const char *type;

	if (!rec)
		return;
	type = protocol_type(rec);
	if (!strcmp(type, REC_PUBLISHED)) {
		json_t *d = json_object_get(rec, "checkpoint_delta");
		const char *k;
		json_t *v;

		s->docs += (uint64_t)json_integer_value(json_object_get(rec, "num_docs"));
		s->splits += json_array_size(json_object_get(rec, "split_ids"));
		json_object_foreach(d, k, v) {
			json_int_t from = json_integer_value(json_object_get(v, "from"));
			json_int_t to = json_integer_value(json_object_get(v, "to"));

			if (to > from)
				s->bytes += (uint64_t)(to - from);
		}
		/* documents qw-index dropped */
		s->invalid += (uint64_t)json_integer_value(json_object_get(rec, "docs_invalid"));
		s->gen_progress = true;
	} else if (!strcmp(type, REC_EOF)) {
		/* documents qw-parse dropped */
		s->invalid += (uint64_t)json_integer_value(json_object_get(rec, "docs_invalid"));
	}
	json_decref(rec);
}

/* Drain what the last stage wrote; at_end: read to EOF (writers are gone). */
static void read_output(struct sup *s, bool at_end)
{
	if (!s->out_r_live)
		return;
	if (at_end) {
		int fl = fcntl(s->out_fd, F_GETFL);

		if (fl >= 0)
			fcntl(s->out_fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	for (;;) {
		const char *line;
		size_t len;
		struct qw_err e = QW_ERR_INIT;
		enum line_kind k = protocol_read_line(&s->out_r, &line, &len, &e);

		if (k == LINE_AGAIN)
			return;
		if (k == LINE_EOF || k == LINE_ERROR) {
			s->out_r_live = false;
			return;
		}
		if (k == LINE_TOO_LONG)
			continue;
		if (s->o->output_fd >= 0 && s->o->progress && isatty(STDERR_FILENO) &&
		    isatty(s->o->output_fd)) {
			/* one terminal: the line goes where the progress was,
			 * which the next tick draws again below it */
			fputs("\r\033[K", stderr);
			fflush(stderr);
		}
		if (s->o->output_fd >= 0 &&
		    protocol_write_line(s->o->output_fd, line, len, k == LINE_CONTROL, &e) < 0) {
			err_warn(s->o->prog, "%s", e.msg);
			fail_now(s, EX_IOERR, "cannot write to standard output");
		}
		if (k == LINE_CONTROL)
			account(s, line, len);
	}
}

/* Copy a stage's stderr line to ours (over the progress line on a
 * terminal), remember the first one: the cause when the stage fails. */
static void err_line(struct child *k, bool add_nl, bool clear)
{
	static const char clr[] = "\r\033[K";
	size_t n = k->line_len;

	if (n == 0)
		return;
	if (k->line[0] == PROTOCOL_RS) {
		/* the stage's counters, not a message */
		json_t *rec = protocol_parse_control(k->line + 1, n - 1, NULL);

		if (rec && !strcmp(protocol_type(rec), "stats")) {
			json_decref(k->stats);
			k->stats = rec;
			k->stats_ms = (int64_t)(stage_stats_now_us() / 1000);
		} else {
			json_decref(rec);
		}
		k->line_len = 0;
		return;
	}
	if (add_nl && n < sizeof(k->line))
		k->line[n++] = '\n';
	if ((clear && write(STDERR_FILENO, clr, sizeof(clr) - 1) < 0) ||
	    write(STDERR_FILENO, k->line, n) < 0) {
		/* nowhere to say it */
	}
	n = k->line_len;
	while (n > 0 && (k->line[n - 1] == '\n' || k->line[n - 1] == '\r'))
		n--;
	if (n > 0 && !k->first[0]) {
		if (n >= sizeof(k->first))
			n = sizeof(k->first) - 1;
		memcpy(k->first, k->line, n);
		k->first[n] = '\0';
	}
	k->line_len = 0;
}

/* Relay what stage k wrote on stderr, line by line (never half a line of
 * two stages mixed); at EOF, close the pipe. */
static void read_stderr(const struct sup *s, struct child *k)
{
	bool clear = s->o->progress && isatty(STDERR_FILENO);

	while (k->err_fd >= 0) {
		char chunk[4096];
		ssize_t n = read(k->err_fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			err_line(k, true, clear);
			close_fd(&k->err_fd);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			k->line[k->line_len++] = chunk[i];
			if (chunk[i] == '\n')
				err_line(k, false, clear);
			else if (k->line_len == sizeof(k->line))
				err_line(k, true, clear);
		}
	}
}

/* The stage's stderr to its end once it was reaped: what it wrote is all in
 * the pipe (never block: a helper it started might still hold the pipe). */
static void drain_stderr(const struct sup *s, struct child *k)
{
	if (k->err_fd < 0)
		return;
	read_stderr(s, k);
	if (k->err_fd >= 0) {
		err_line(k, true, s->o->progress && isatty(STDERR_FILENO));
		close_fd(&k->err_fd);
	}
}

static void end_generation(struct sup *s)
{
	for (size_t i = 0; s->kids && i < s->gen.n; i++)
		close_fd(&s->kids[i].out_hold);
	read_output(s, true);
	for (size_t i = 0; s->kids && i < s->gen.n; i++)
		drain_stderr(s, &s->kids[i]);
	snapshot_stages(s);
	if (s->out_r_live || s->out_fd >= 0) {
		protocol_reader_free(&s->out_r);
		s->out_r_live = false;
	}
	close_fd(&s->out_fd);
	for (size_t i = 0; i < s->npeek; i++)
		close_fd(&s->peek_fds[i]);
	if (s->spool)
		spool_unfeed(s->spool);
	close_fd(&s->feed_peek);
	free(s->peek_fds);
	s->peek_fds = NULL;
	s->npeek = 0;
	for (size_t i = 0; s->kids && i < s->gen.n; i++)
		json_decref(s->kids[i].stats);
	free(s->kids);
	s->kids = NULL;
	supervisor_stages_free(&s->gen);
	s->pgid = 0;
	if (s->o->end)
		s->o->end(s->o->ctx, s->generation);
}

/* ------------------------------------------------------------- spawning */

static void child_exec(const struct supervisor_stage *st, int in, int out, int errfd,
		       pid_t pgid, pid_t parent, const char *stats_ms)
{
	sigset_t none;
	static const char m1[] = ": cannot execute '";
	static const char m2[] = "'\n";

	setpgid(0, pgid);
	signal(SIGPIPE, SIG_DFL);
	/* A SIGUSR1 forwarded before the stage installs its handler is lost
	 * rather than fatal (exec keeps SIG_IGN; a handler replaces it). */
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (in != STDIN_FILENO && dup2(in, STDIN_FILENO) < 0)
		_exit(127);
	if (out != STDOUT_FILENO && dup2(out, STDOUT_FILENO) < 0)
		_exit(127);
	if (errfd >= 0 && errfd != STDERR_FILENO && dup2(errfd, STDERR_FILENO) < 0)
		_exit(127);
	/* its counters on stderr every second (the supervisor's tick) */
	if (setenv(STAGE_STATS_ENV, stats_ms, 1) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	if (strchr(st->path, '/'))
		execv(st->path, st->argv);
	else
		execvp(st->path, st->argv);
	if (write(STDERR_FILENO, st->name, strlen(st->name)) >= 0 &&
	    write(STDERR_FILENO, m1, sizeof(m1) - 1) >= 0 &&
	    write(STDERR_FILENO, st->path, strlen(st->path)) >= 0 &&
	    write(STDERR_FILENO, m2, sizeof(m2) - 1) >= 0)
		_exit(127);
	_exit(127);
}

/* Start every stage of the generation; -1 on a system error (err set). */
static int start_chain(struct sup *s, struct qw_err *err)
{
	size_t n = s->gen.n;
	int prev_read = -1;       /* read end feeding the next stage */
	int null_fd = -1;
	int ret = -1;
	char stats_ms[32];
	int64_t every = (int64_t)(1000 / s->clock.scale);

	snprintf(stats_ms, sizeof(stats_ms), "%lld", (long long)(every > 0 ? every : 1));
	s->kids = xcalloc(n, sizeof(*s->kids));
	s->peek_fds = xcalloc(n, sizeof(*s->peek_fds));
	for (size_t i = 0; i < n; i++) {
		s->peek_fds[i] = -1;
		s->kids[i].err_fd = -1;
		s->kids[i].out_hold = -1;
	}
	if (s->spool) {
		int fp[2];
		uint64_t from = 0;

		if (s->o->input_published(s->o->ctx, &from, err) < 0)
			goto out;
		if (pipe2(fp, O_CLOEXEC) < 0) {
			err_errno(err, EX_OSERR, "cannot create a pipe");
			goto out;
		}
		prev_read = fp[0];
		if (spool_feed(s->spool, from, fp[1], err) < 0)
			goto out;
	} else if (s->o->input_fd >= 0) {
		prev_read = s->o->input_fd;
	} else {
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null_fd < 0) {
			err_errno(err, EX_OSERR, "cannot open '/dev/null'");
			goto out;
		}
		prev_read = null_fd;
	}
	for (size_t i = 0; i < n; i++) {
		int p[2], e[2];
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0) {
			err_errno(err, EX_OSERR, "cannot create a pipe");
			goto out;
		}
		if (pipe2(e, O_CLOEXEC) < 0) {
			err_errno(err, EX_OSERR, "cannot create a pipe");
			close(p[0]);
			close(p[1]);
			goto out;
		}
		pid = fork();
		if (pid < 0) {
			err_errno(err, EX_OSERR, "cannot fork");
			close(p[0]);
			close(p[1]);
			close(e[0]);
			close(e[1]);
			goto out;
		}
		if (pid == 0)
			child_exec(&s->gen.stages[i], prev_read, p[1], e[1], s->pgid, getppid(),
				   stats_ms);
		close(e[1]);
		s->kids[i].err_fd = e[0];
		{
			int fl = fcntl(e[0], F_GETFL);

			if (fl >= 0)
				fcntl(e[0], F_SETFL, fl | O_NONBLOCK);
		}
		if (s->pgid == 0)
			s->pgid = pid;
		setpgid(pid, s->pgid); /* both sides, no race */
		s->kids[i].pid = pid;
		s->kids[i].started_ms = (int64_t)(stage_stats_now_us() / 1000);
		s->kids[i].stats_ms = s->kids[i].started_ms;
		s->kids[i].idle_since = clock_ms(&s->clock);
		s->running++;
		/* Keep a write end of the stage's stdout until it is reaped:
		 * the next stage sees the end of its input only after we know
		 * how the stage ended, so a stage that died is never taken for
		 * one that finished (its reader would cut and publish documents
		 * no checkpoint covers before the group is killed). */
		s->kids[i].out_hold = p[1];
		if (i == 0 && s->spool) {
			/* keep a reader of the feed for FIONREAD (and no EPIPE
			 * while the stage lives) */
			s->feed_peek = prev_read;
		} else if (prev_read != s->o->input_fd && prev_read != null_fd) {
			/* keep a reader of the inter-stage pipe for FIONREAD */
			s->peek_fds[s->npeek++] = prev_read;
		}
		prev_read = p[0];
	}
	s->out_fd = prev_read;
	prev_read = -1;
	{
		int fl = fcntl(s->out_fd, F_GETFL);

		if (fl < 0 || fcntl(s->out_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			err_errno(err, EX_OSERR, "cannot make the output pipe non-blocking");
			goto out;
		}
	}
	protocol_reader_init(&s->out_r, s->out_fd, "the chain's output", PROTOCOL_MAX_CONTROL);
	s->out_r_live = true;
	ret = 0;
out:
	if (prev_read >= 0 && prev_read != s->o->input_fd && prev_read != null_fd)
		close(prev_read);
	if (null_fd >= 0)
		close(null_fd);
	return ret;
}

/* ------------------------------------------------------------- actions */

static void a_nop(struct sup *s)
{
	(void)s;
}

static void a_start(struct sup *s)
{
	struct qw_err e = QW_ERR_INIT;

	s->generation++;
	s->gen_progress = false;
	memset(&s->gen, 0, sizeof(s->gen));
	if (s->o->start(s->o->ctx, s->generation, &s->gen, &e) < 0) {
		*s->err = e;
		s->have_error = true;
		s->state = S_DONE;
		return;
	}
	if (start_chain(s, &e) < 0) {
		snprintf(s->last_failure, sizeof(s->last_failure), "%.400s", e.msg);
		kill_group(s);
		s->state = S_KILLING;
		return;
	}
	s->state = S_UP;
}

static void a_check_done(struct sup *s)
{
	if (s->running > 0)
		return;
	/* Every stage exited 0: the chain ran to its end. */
	end_generation(s);
	s->exit_code = 0;
	s->state = S_DONE;
}

/*
 * A usage, data, missing-input, permission or configuration error (a bad
 * option, a broken index config, a file that is not there) fails the same
 * way in every generation: restarting would only delay the message.
 */
static bool is_permanent(int code)
{
	return code == EX_USAGE || code == EX_DATAERR || code == EX_NOINPUT ||
	       code == EX_NOPERM || code == EX_CONFIG;
}

static void a_fail(struct sup *s)
{
	snprintf(s->last_failure, sizeof(s->last_failure), "%s", s->detail);
	err_warn(s->o->prog, "generation %u failed: %s", s->generation, s->detail);
	kill_group(s);
	s->state = S_KILLING;
}

static void a_stop(struct sup *s)
{
	pid_t pid = s->o->stop_stage < s->gen.n ? s->kids[s->o->stop_stage].pid : 0;

	s->stop_requested = true;
	if (pid > 0)
		kill(pid, SIGTERM);
	s->state = S_STOPPING;
}

static void a_stop_fail(struct sup *s)
{
	/* The stop stage dying of our SIGTERM is a stop, not a failure. */
	if (s->detail_signal == SIGTERM) {
		s->exit_code = 0;
	} else {
		snprintf(s->last_failure, sizeof(s->last_failure), "%s", s->detail);
		err_warn(s->o->prog, "while stopping: %s", s->detail);
		s->exit_code = EX_TEMPFAIL;
	}
	kill_group(s);
	s->state = S_KILLING;
}

static void a_kill_now(struct sup *s)
{
	s->exit_code = 128 + (s->stop_signal ? s->stop_signal : SIGTERM);
	kill_group(s);
	s->state = S_KILLING;
}

static void a_usr1(struct sup *s)
{
	pid_t pid = s->o->commit_stage < s->gen.n ? s->kids[s->o->commit_stage].pid : 0;

	if (pid > 0)
		kill(pid, SIGUSR1);
}

static void a_term_down(struct sup *s)
{
	s->stop_requested = true;
	s->exit_code = 0;
	s->state = S_DONE;
}

static void a_term_killing(struct sup *s)
{
	if (!s->stop_requested)
		s->exit_code = 0;
	s->stop_requested = true;
}

static int64_t backoff_ms(const struct supervisor_opts *o, unsigned fails)
{
	int64_t d = o->backoff_initial_ms;

	for (unsigned i = 1; i < fails && d < o->backoff_max_ms; i++)
		d *= 2;
	return d > o->backoff_max_ms ? o->backoff_max_ms : d;
}

static void a_all_down(struct sup *s)
{
	int64_t delay;

	end_generation(s);
	if (s->stop_requested) {
		s->state = S_DONE;
		return;
	}
	if (s->permanent_code) {
		fail_now(s, s->permanent_code, s->last_failure);
		s->state = S_DONE;
		return;
	}
	if (s->gen_progress)
		s->fails_in_row = 0;
	s->fails_in_row++;
	if (s->fails_in_row > s->o->max_restarts) {
		char msg[QW_ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "giving up after %u failed generations without progress: %s",
			 s->fails_in_row, s->last_failure);
		fail_now(s, EX_TEMPFAIL, msg);
		s->state = S_DONE;
		return;
	}
	delay = backoff_ms(s->o, s->fails_in_row);
	s->restarts++;
	err_warn(s->o->prog, "restarting in %.1f s (restart %u)", (double)delay / 1000.0,
		 s->restarts);
	s->next_start = clock_ms(&s->clock) + delay;
	s->state = S_DOWN;
}

/* s6-supervise style: what each event does in each state. */
static action_fn *const table[S_N][E_N] = {
	/*            TIMER    EXIT_OK       FAIL         STALL        ALL_DOWN    TERM            USR1 */
	[S_DOWN]     = { a_start, a_nop,        a_nop,       a_nop,       a_nop,      a_term_down,    a_nop },
	[S_UP]       = { a_nop,   a_check_done, a_fail,      a_fail,      a_nop,      a_stop,         a_usr1 },
	[S_STOPPING] = { a_nop,   a_check_done, a_stop_fail, a_stop_fail, a_nop,      a_kill_now,     a_usr1 },
	[S_KILLING]  = { a_nop,   a_nop,        a_nop,       a_nop,       a_all_down, a_term_killing, a_nop },
	[S_DONE]     = { a_nop,   a_nop,        a_nop,       a_nop,       a_nop,      a_nop,          a_nop },
};

static void dispatch(struct sup *s, enum event ev)
{
	enum state before = s->state;

	table[s->state][ev](s);
	/* A state reached with nothing left to reap moves on at once. */
	if (s->state == S_KILLING && s->running == 0)
		table[S_KILLING][E_ALL_DOWN](s);
	if (s->state != before)
		write_status(s);
}

/* The tick callback's error ends the run: kill the group, reap, done. */
static void fatal(struct sup *s, const struct qw_err *e)
{
	if (!s->have_error) {
		*s->err = *e;
		s->have_error = true;
	}
	s->stop_requested = true;
	if (s->state == S_DOWN || s->state == S_DONE) {
		s->state = S_DONE;
		return;
	}
	kill_group(s);
	s->state = S_KILLING;
	if (s->running == 0)
		table[S_KILLING][E_ALL_DOWN](s);
}

/* ------------------------------------------------------------- events */

static void reap(struct sup *s)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		size_t i;

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		for (i = 0; i < s->gen.n && s->kids; i++)
			if (s->kids[i].pid == pid)
				break;
		if (!s->kids || i == s->gen.n) {
			/* not a stage (any more): a sibling's end goes to its owner */
			if (s->o->other_exit)
				s->o->other_exit(s->o->ctx, pid, st);
			continue;
		}
		s->kids[i].pid = 0;
		s->kids[i].status = st;
		s->running--;
		drain_stderr(s, &s->kids[i]);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			/* a clean end: now the next stage may see it */
			close_fd(&s->kids[i].out_hold);
			dispatch(s, E_EXIT_OK);
			continue;
		}
		/* A failure keeps the hold: the group is killed before the next
		 * stage could see an end of input (end_generation closes it). */
		s->detail_signal = 0;
		if (s->state == S_UP && WIFEXITED(st) && is_permanent(WEXITSTATUS(st)))
			s->permanent_code = WEXITSTATUS(st);
		if (WIFSIGNALED(st)) {
			s->detail_signal = WTERMSIG(st);
			snprintf(s->detail, sizeof(s->detail), "%s killed by signal %d",
				 s->gen.stages[i].name, WTERMSIG(st));
		} else if (s->kids[i].first[0]) {
			snprintf(s->detail, sizeof(s->detail), "%s exited with status %d (%s)",
				 s->gen.stages[i].name, WEXITSTATUS(st), s->kids[i].first);
		} else {
			snprintf(s->detail, sizeof(s->detail), "%s exited with status %d",
				 s->gen.stages[i].name, WEXITSTATUS(st));
		}
		dispatch(s, E_FAIL);
		if (s->state == S_DONE || s->state == S_DOWN)
			return;
	}
}

/* Read /proc/PID/NAME into data as a string; false when it cannot be read
 * (the process is gone, or /proc is not mounted). */
static bool read_proc_file(pid_t pid, const char *name, char *data, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, data, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	data[n] = '\0';
	return true;
}

/* The bytes a process read and wrote, from its /proc/PID/io text. */
static uint64_t io_chars(const char *io)
{
	uint64_t sum = 0;
	const char *p;

	if ((p = strstr(io, "rchar: ")))
		sum += strtoull(p + 7, NULL, 10);
	if ((p = strstr(io, "wchar: ")))
		sum += strtoull(p + 7, NULL, 10);
	return sum;
}

/* The CPU ticks a process used (utime + stime), from its /proc/PID/stat text. */
static uint64_t cpu_ticks(const char *stat)
{
	const char *p = strrchr(stat, ')');
	uint64_t sum = 0;
	int field = 2;

	/* fields after comm: 3 state ... 14 utime 15 stime */
	while (p && *p && field < 14) {
		p = strchr(p + 1, ' ');
		if (p)
			field++;
	}
	if (p) {
		char *end;

		sum += strtoull(p + 1, &end, 10);
		sum += strtoull(end, NULL, 10);
	}
	return sum;
}

/* A number that grows while a process does anything: its I/O bytes plus its
 * CPU ticks (0 for what cannot be read). */
static uint64_t proc_field_sum(pid_t pid)
{
	char data[2048];
	uint64_t sum = 0;

	if (read_proc_file(pid, "io", data, sizeof(data)))
		sum += io_chars(data);
	if (read_proc_file(pid, "stat", data, sizeof(data)))
		sum += cpu_ticks(data);
	return sum;
}

static size_t pipe_bytes(int fd)
{
	int avail = 0;

	if (fd < 0 || ioctl(fd, FIONREAD, &avail) < 0 || avail < 0)
		return 0;
	return (size_t)avail;
}

/* Stage i has input waiting: bytes in the pipe feeding it, or for the first
 * stage, bytes on the supervisor's input, or files to read in --once mode. */
static bool stage_has_work(const struct sup *s, size_t i)
{
	if (i > 0)
		return i - 1 < s->npeek && pipe_bytes(s->peek_fds[i - 1]) > 0;
	if (s->spool)
		return spool_unfed(s->spool) > 0 || pipe_bytes(s->feed_peek) > 0;
	if (s->o->input_fd >= 0)
		return pipe_bytes(s->o->input_fd) > 0;
	return s->o->once;
}

/* Stage i cannot write: the pipe to the next stage is (nearly) full, so the
 * next stage is the one to watch. */
static bool stage_blocked_on_output(const struct sup *s, size_t i)
{
	int fd = i < s->npeek ? s->peek_fds[i] : -1;
	int cap;

	if (fd < 0)
		return false; /* the last stage: the supervisor always reads */
	cap = fcntl(fd, F_GETPIPE_SZ);
	if (cap <= 0)
		return false;
	/* a blocked writer of n <= PIPE_BUF bytes leaves at most n free; pages
	 * partly read or written can hide one more PIPE_BUF */
	return pipe_bytes(fd) + 2 * PIPE_BUF >= (size_t)cap;
}

/*
 * A stage stalls when it has work waiting, is not held back by the next
 * stage, and shows no activity (read or written bytes, CPU time) for
 * stall_timeout. Judging each stage on its own keeps a busy neighbour, or an
 * idle one polling its input, from hiding a stuck stage.
 */
static void check_stall(struct sup *s, int64_t now)
{
	if (s->state != S_UP && s->state != S_STOPPING)
		return;
	for (size_t i = 0; i < s->gen.n; i++) {
		struct child *k = &s->kids[i];
		uint64_t act;

		if (k->pid <= 0)
			continue;
		act = proc_field_sum(k->pid);
		if (act != k->activity || !stage_has_work(s, i) || stage_blocked_on_output(s, i)) {
			k->activity = act;
			k->idle_since = now;
			continue;
		}
		if (s->o->stall_timeout_ms > 0 && now - k->idle_since >= s->o->stall_timeout_ms) {
			s->detail_signal = 0;
			snprintf(s->detail, sizeof(s->detail),
				 "%s made no progress for %.1f s with work pending (stalled)",
				 s->gen.stages[i].name, (double)(now - k->idle_since) / 1000.0);
			dispatch(s, E_STALL);
			return;
		}
	}
}

/* Every few seconds: free the spooled bytes that are published already. A
 * metastore that cannot be read now is tried again later. */
static void release_spool(struct sup *s, int64_t now)
{
	struct qw_err e = QW_ERR_INIT;
	uint64_t published = 0;

	if (!s->spool || now < s->next_release)
		return;
	s->next_release = now + 10000;
	if (spool_size(s->spool) < (1u << 20))
		return;
	if (s->o->input_published(s->o->ctx, &published, &e) == 0)
		spool_release(s->spool, published);
}

static int setup_signals(struct sup *s, sigset_t *old, struct qw_err *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return err_errno(err, EX_OSERR, "cannot block signals");
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sigfd < 0) {
		sigprocmask(SIG_SETMASK, old, NULL);
		return err_errno(err, EX_OSERR, "cannot create a signalfd");
	}
	signal(SIGPIPE, SIG_IGN);
	/* A shell starts background jobs with SIGINT ignored. Linux keeps a
	 * blocked signal pending even when ignored, POSIX does not promise it:
	 * with the default action (blocked, so never taken) SIGINT and SIGTERM
	 * surely reach the signalfd. An ignored SIGHUP stays ignored (nohup). */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	return 0;
}

static void handle_signals(struct sup *s)
{
	struct signalfd_siginfo si;
	bool child = false;

	for (;;) {
		ssize_t n = read(s->sigfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break;
		switch (si.ssi_signo) {
		case SIGCHLD:
			child = true;
			break;
		case SIGUSR1:
			dispatch(s, E_USR1);
			break;
		default:
			if (!s->stop_signal)
				s->stop_signal = (int)si.ssi_signo;
			dispatch(s, E_TERM);
			break;
		}
	}
	if (child)
		reap(s);
}

/* The descriptors one turn of the event loop waits on; an index of 0 means
 * "not polled" (slot 0 is always the signalfd). */
struct poll_set {
	struct pollfd pfd[4 + MAX_STAGES];
	size_t err_kid[MAX_STAGES];     /* child of each stderr slot, the last nerr */
	nfds_t nfd, nerr, out_i, in_i, feed_i;
};

/* The once-a-second work: the caller's tick hook, releasing the spool, the
 * stall check, the status file and the progress line. */
static void run_tick(struct sup *s, int64_t now)
{
	const struct supervisor_opts *o = s->o;
	struct qw_err te = QW_ERR_INIT;

	if (o->tick && o->tick(o->ctx, &te) < 0) {
		fatal(s, &te);
		write_status(s);
		if (s->state == S_DONE)
			return;
	}
	release_spool(s, now);
	check_stall(s, now);
	write_status(s);
	print_progress(s, false);
	s->next_tick = now + 1000;
}

/* Fill ps with the signalfd, the chain's output, the spool's two ends as
 * they want and every child's stderr, in that order. */
static void fill_poll_set(const struct sup *s, struct poll_set *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->pfd[ps->nfd].fd = s->sigfd;
	ps->pfd[ps->nfd++].events = POLLIN;
	if (s->out_r_live) {
		ps->out_i = ps->nfd;
		ps->pfd[ps->nfd].fd = s->out_fd;
		ps->pfd[ps->nfd++].events = POLLIN;
	}
	if (s->spool && spool_wants_input(s->spool)) {
		ps->in_i = ps->nfd;
		ps->pfd[ps->nfd].fd = spool_input_fd(s->spool);
		ps->pfd[ps->nfd++].events = POLLIN;
	}
	if (s->spool && spool_wants_output(s->spool)) {
		ps->feed_i = ps->nfd;
		ps->pfd[ps->nfd].fd = spool_feed_fd(s->spool);
		ps->pfd[ps->nfd++].events = POLLOUT;
	}
	for (size_t i = 0; s->kids && i < s->gen.n && ps->nerr < MAX_STAGES; i++) {
		if (s->kids[i].err_fd < 0)
			continue;
		ps->err_kid[ps->nerr++] = i;
		ps->pfd[ps->nfd].fd = s->kids[i].err_fd;
		ps->pfd[ps->nfd++].events = POLLIN;
	}
}

/* Act on what poll reported: children's stderr, the spool, the chain's
 * output, then signals. Returns -1 when the spool failed (error in s->err). */
static int handle_poll_events(struct sup *s, const struct poll_set *ps)
{
	const struct pollfd *pfd = ps->pfd;

	for (nfds_t j = 0; j < ps->nerr; j++)
		if (pfd[ps->nfd - ps->nerr + j].revents)
			read_stderr(s, &s->kids[ps->err_kid[j]]);
	if (ps->in_i && pfd[ps->in_i].revents && spool_read_input(s->spool, s->err) < 0)
		return -1;
	/* also right after a read: the new bytes go on at once */
	if ((ps->feed_i && pfd[ps->feed_i].revents) || (ps->in_i && spool_wants_output(s->spool))) {
		if (spool_write_output(s->spool, s->err) < 0)
			return -1;
	}
	if (ps->out_i && pfd[ps->out_i].revents)
		read_output(s, false);
	if (pfd[0].revents)
		handle_signals(s);
	return 0;
}

/* Reap anything left after a fatal error (the group is already killed). */
static void reap_leftovers(struct sup *s)
{
	while (s->running > 0) {
		int st;
		pid_t pid = waitpid(-s->pgid, &st, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		s->running--;
	}
}

int supervisor_run(const struct supervisor_opts *o, struct qw_err *err)
{
	struct sup s;
	sigset_t old;
	struct qw_err local = QW_ERR_INIT;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.err = err ? err : &local;
	s.sigfd = -1;
	s.out_fd = -1;
	s.feed_peek = -1;
	s.state = S_DOWN;
	if (o->input_fd >= 0 && o->spool_path) {
		s.spool = spool_open(o->spool_path, o->input_fd, s.err);
		if (!s.spool)
			return -1;
	}
	if (setup_signals(&s, &old, s.err) < 0) {
		spool_close(s.spool);
		return -1;
	}
	clock_init(&s.clock);
	s.t0 = clock_ms(&s.clock);
	s.next_start = s.t0;
	s.next_tick = s.t0;
	while (s.state != S_DONE) {
		int64_t now = clock_ms(&s.clock);
		int64_t wait;
		struct poll_set ps;

		if (s.state == S_DOWN && now >= s.next_start) {
			dispatch(&s, E_TIMER);
			continue;
		}
		if (now >= s.next_tick) {
			run_tick(&s, now);
			if (s.state == S_DONE)
				break;
		}
		wait = s.next_tick - now;
		if (s.state == S_DOWN && s.next_start - now < wait)
			wait = s.next_start - now;
		fill_poll_set(&s, &ps);
		if (poll(ps.pfd, ps.nfd, clock_wait_ms(&s.clock, wait)) < 0) {
			if (errno == EINTR)
				continue;
			err_errno(s.err, EX_OSERR, "poll");
			s.have_error = true;
			kill_group(&s);
			break;
		}
		if (handle_poll_events(&s, &ps) < 0) {
			s.have_error = true;
			kill_group(&s);
			break;
		}
	}
	reap_leftovers(&s);
	if (s.kids)
		end_generation(&s);
	write_status(&s);
	print_progress(&s, true);
	json_decref(s.stages);
	free(s.bottleneck);
	close_fd(&s.sigfd);
	spool_close(s.spool);
	sigprocmask(SIG_SETMASK, &old, NULL);
	ret = s.have_error ? -1 : s.exit_code;
	return ret;
}
