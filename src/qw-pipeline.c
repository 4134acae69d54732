/*
 * qw-pipeline: run qw-parse | qw-index | qw-package | qw-upload |
 * qw-publish on an index and keep the chain running (supervisor).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "lifecycle/merge_sibling.h"
#include "store/metastore.h"
#include "app/prog.h"
#include "pipeline/supervisor.h"
#include "base/xalloc.h"

static const char *prog = "qw-pipeline";

#define DEFAULT_SOURCE "files"
/* The owner record's lease (wall seconds), renewed every third of it; the
 * fencing check runs at most every FENCE_CHECK_US of real time. */
#define LEASE_S 30
#define FENCE_CHECK_US 500000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --index ID [--data-dir DIR] [--source ID] (--once [--growing]|--follow)\n"
		"                   [--format FORMAT] [--pattern RE] [--multiline-start RE]\n"
		"                   [--dead-letter FILE] [--max-restarts N]\n"
		"                   [--stall-timeout SECS] [--backoff-initial SECS] [--backoff-max SECS]\n"
		"                   [--progress|--quiet] [--status-file PATH]\n"
		"                   [--metrics-file PATH]\n"
		"                   [--max-concurrent-uploads N] [--checkpoint-every N] [--drain-ms N]\n"
		"                   [--no-resume] [--takeover] [--no-merge]\n"
		"                   FILE|GLOB|DIR|-...\n"
		"Index files into an index with the five qw stages, supervised: restart on\n"
		"failure, exactly-once publishing from the checkpoint.\n"
		"\n"
		"Options:\n"
		"  -i, --index ID                  the index (required)\n"
		"  -d, --data-dir DIR              data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI         metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"  -s, --source ID                 source id of the checkpoint (default \"" DEFAULT_SOURCE "\")\n"
		"      --once                      index to the end of the inputs and exit\n"
		"      --growing                   with --once, the inputs are still written to:\n"
		"                                  a last line without its newline waits for the\n"
		"                                  next run\n"
		"      --follow                    keep tailing the inputs\n"
		"  -f, --format FORMAT             input format for qw-parse (ndjson, plain, regex,\n"
		"                                  auto)\n"
		"  -p, --pattern RE                qw-parse --pattern: the fields of a plain line\n"
		"                                  (named groups, or apache_combined, nginx_combined,\n"
		"                                  syslog_rfc3164, syslog_rfc5424)\n"
		"      --multiline-start RE        qw-parse --multiline-start: a line RE does not\n"
		"                                  match joins the event before it\n"
		"      --dead-letter FILE          where qw-parse writes invalid documents\n"
		"      --max-restarts N            give up after N failed generations in a row\n"
		"                                  without progress (default 10)\n"
		"      --stall-timeout SECS        no activity for SECS while work is pending is a\n"
		"                                  failure (default 60, 0 = never)\n"
		"      --backoff-initial SECS      first restart delay (default 1)\n"
		"      --backoff-max SECS          longest restart delay (default 60)\n"
		"      --progress                  progress on stderr even when not a terminal\n"
		"  -q, --quiet                     errors only: no progress, no records on\n"
		"                                  stdout, no summaries (for cron)\n"
		"      --status-file PATH          JSON status, rewritten atomically every second\n"
		"      --metrics-file PATH         the same figures per stage as a Prometheus text\n"
		"                                  file (node_exporter textfile), rewritten atomically\n"
		"  -j, --max-concurrent-uploads N  uploads in flight (default 4)\n"
		"      --checkpoint-every N        qw-parse's checkpoint period in documents\n"
		"                                  (splits are cut only at checkpoints)\n"
		"      --drain-ms N                qw-index cuts a split when its input is idle\n"
		"                                  for N ms (default 1000, 0 = never)\n"
		"      --no-resume                 read files from the start, ignoring the positions\n"
		"                                  stored before this run (may index documents again)\n"
		"      --takeover                  fence the pipeline that owns the source and\n"
		"                                  take it over (else refused while it lives)\n"
		"      --no-merge                  do not run qw-merge (after --once, beside --follow)\n"
		"  -h, --help                      show this help and exit\n"
		"  -V, --version                   show the version and exit\n",
		prog);
}

/* argv builder */
struct args {
	char **v;
	size_t n, cap;
};

struct pipeline {
	struct metastore *ms;
	const char *data_dir;
	const char *index_id;
	const char *source_id;
	const char *format;
	const char *pattern;         /* qw-parse --pattern */
	const char *multiline_start; /* qw-parse --multiline-start */
	const char *dead_letter;
	const char *checkpoint_every;
	const char *drain_ms;
	bool follow;
	bool growing;                /* qw-parse --growing */
	unsigned max_uploads;
	char **inputs;
	size_t ninputs;
	char *exe_dir;          /* directory of this executable */
	char pipeline_id[ULID_LEN + 1];
	char *scratch;          /* scratch dir of the running generation */
	char *no_resume_from;   /* --no-resume: the checkpoint this run started with */
	bool takeover;
	bool quiet;             /* errors only */
	bool no_merge;
	struct merge_sibling merge;   /* the long-running qw-merge of --follow */
	struct args merge_args;
	char *merge_path;
	char host[256];
	int64_t start_s;        /* wall */
	char *token;            /* the publish token of the last generation */
	int64_t next_renew_s;   /* wall */
	int64_t next_check_us;  /* wall */
	bool stdin_base_known;
	uint64_t stdin_base;    /* stdin's checkpoint when this run took the source */
};


static void arg(struct args *a, const char *s)
{
	XGROW(a->v, a->n + 2, a->cap);
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void common_args(struct args *a, const char *name, const struct pipeline *p)
{
	arg(a, name);
	arg(a, "--data-dir");
	arg(a, p->data_dir);
	arg(a, "--index");
	arg(a, p->index_id);
	arg(a, "--source");
	arg(a, p->source_id);
}

static char *stage_path(const struct pipeline *p, const char *name)
{
	if (p->exe_dir) {
		char *path = fsutil_join(p->exe_dir, name);

		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return xstrdup(name); /* execvp searches PATH */
}

static void add_stage(struct supervisor_gen *g, const struct pipeline *p, const char *name,
		      struct args *a)
{
	struct supervisor_stage *st;

	g->stages = xreallocarray(g->stages, g->n + 1, sizeof(*g->stages));
	st = &g->stages[g->n++];
	st->name = xstrdup(name);
	st->path = stage_path(p, name);
	st->argv = a->v;
	memset(a, 0, sizeof(*a));
}

static int start_gen(void *ctx, unsigned gen, struct supervisor_gen *g, struct qw_err *err)
{
	struct pipeline *p = ctx;
	char *token = NULL, *base = NULL, *snapshot = NULL;
	struct args a = { 0 };
	struct buf b = BUF_INIT;
	int ret = -1;

	{
		/* The first generation takes the source (refused while another
		 * pipeline owns it, unless --takeover); a restarted one only
		 * while the token of the last one is still current. */
		struct metastore_owner me = {
			p->pipeline_id, (long)getpid(), p->host, p->start_s, clock_wall_s() + LEASE_S,
		};
		enum metastore_take how = p->token ? TAKE_NEXT : p->takeover ? TAKE_OVER : TAKE_FIRST;
		char *fenced = NULL;

		token = metastore_take_publish_token(p->ms, p->index_id, p->source_id, &me, how,
						     p->token, &fenced, err);
		if (!token) {
			if (how == TAKE_FIRST && err->code == EX_TEMPFAIL) {
				char msg[QW_ERR_MSG_MAX];

				snprintf(msg, sizeof(msg), "%s", err->msg);
				err_set(err, EX_TEMPFAIL, "%.900s (--takeover fences it)", msg);
			}
			else if (err->code != EX_TEMPFAIL)
				err_prefix(err, "cannot take a publish token");
			goto out;
		}
		if (fenced)
			err_warn(prog, "took source '%s' of index '%s' over from %s", p->source_id,
				 p->index_id, fenced);
		free(fenced);
		free(p->token);
		p->token = xstrdup(token);
		p->next_renew_s = me.lease_until - LEASE_S + LEASE_S / 3;
	}
	base = metastore_scratch_dir(p->ms, p->pipeline_id);
	buf_addf(&b, "%s/g%u", base, gen);
	free(p->scratch);
	p->scratch = buf_detach(&b, NULL);
	if (fsutil_mkdir_p(p->scratch, 0755, err) < 0)
		goto out;
	/* after the token: the checkpoint this generation resumes from */
	snapshot = fsutil_join(p->scratch, "index-snapshot.json");
	if (metastore_write_snapshot(p->ms, p->index_id, snapshot, err) < 0)
		goto out;

	common_args(&a, "qw-parse", p);
	arg(&a, "--index-snapshot");
	arg(&a, snapshot);
	if (p->format) {
		arg(&a, "--format");
		arg(&a, p->format);
	}
	if (p->pattern) {
		arg(&a, "--pattern");
		arg(&a, p->pattern);
	}
	if (p->multiline_start) {
		arg(&a, "--multiline-start");
		arg(&a, p->multiline_start);
	}
	if (p->dead_letter) {
		arg(&a, "--dead-letter");
		arg(&a, p->dead_letter);
	}
	if (p->checkpoint_every) {
		arg(&a, "--checkpoint-every");
		arg(&a, p->checkpoint_every);
	}
	if (p->follow)
		arg(&a, "--follow");
	if (p->growing)
		arg(&a, "--growing");
	if (p->quiet)
		arg(&a, "--quiet");
	if (p->no_resume_from) {
		/* every generation ignores the same positions: a restarted one
		 * resumes what this run published, not what was there before it */
		arg(&a, "--no-resume-from");
		arg(&a, p->no_resume_from);
	}
	arg(&a, "--");
	for (size_t i = 0; i < p->ninputs; i++)
		arg(&a, p->inputs[i]);
	add_stage(g, p, "qw-parse", &a);

	common_args(&a, "qw-index", p);
	arg(&a, "--index-snapshot");
	arg(&a, snapshot);
	arg(&a, "--publish-token");
	arg(&a, token);
	arg(&a, "--scratch-dir");
	arg(&a, p->scratch);
	if (p->drain_ms) {
		arg(&a, "--drain-ms");
		arg(&a, p->drain_ms);
	}
	add_stage(g, p, "qw-index", &a);

	/* qw-package takes its token and source from the split records. */
	arg(&a, "qw-package");
	arg(&a, "--data-dir");
	arg(&a, p->data_dir);
	arg(&a, "--index");
	arg(&a, p->index_id);
	arg(&a, "--index-snapshot");
	arg(&a, snapshot);
	arg(&a, "--scratch-dir");
	arg(&a, p->scratch);
	add_stage(g, p, "qw-package", &a);

	common_args(&a, "qw-upload", p);
	arg(&a, "--publish-token");
	arg(&a, token);
	{
		char n[32];

		snprintf(n, sizeof(n), "%u", p->max_uploads);
		arg(&a, "--max-concurrent-uploads");
		arg(&a, n);
	}
	add_stage(g, p, "qw-upload", &a);

	common_args(&a, "qw-publish", p);
	arg(&a, "--publish-token");
	arg(&a, token);
	add_stage(g, p, "qw-publish", &a);
	ret = 0;
out:
	free(snapshot);
	free(base);
	free(token);
	return ret;
}

/*
 * Every tick: is the token still ours? (Another pipeline took the source
 * over, or a token was taken by hand: fenced, the run ends with 75 naming
 * who.) Renew the lease every third of it. A metastore that cannot be read
 * for a moment is not a fence: said, and tried again at the next tick.
 */
static int tick(void *ctx, struct qw_err *err)
{
	struct pipeline *p = ctx;
	int64_t now_us = clock_wall_us();
	int64_t now = clock_wall_s();
	int rc;

	merge_sibling_tick(&p->merge);
	if (!p->token || now_us < p->next_check_us)
		return 0;
	p->next_check_us = now_us + FENCE_CHECK_US;
	if (now >= p->next_renew_s) {
		rc = metastore_renew_owner(p->ms, p->index_id, p->source_id, p->token,
					   now + LEASE_S, err);
		if (rc == 0)
			p->next_renew_s = now + LEASE_S / 3;
	} else {
		rc = metastore_check_publish_token(p->ms, p->index_id, p->source_id, p->token, err);
	}
	if (rc < 0 && err->code != EX_TEMPFAIL) {
		err_print(prog, err);
		err_clear(err);
		return 0;
	}
	return rc;
}

/*
 * The spool offset of stdin that is published: its checkpoint counts the
 * bytes of every run (a stream is never resumed), so this run's bytes are
 * those past the checkpoint it found when it took the source.
 */
static int stdin_published(void *ctx, uint64_t *offset, struct qw_err *err)
{
	struct pipeline *p = ctx;
	json_t *cp, *v;
	uint64_t pos = 0;

	*offset = 0;
	if (!p->token)
		return 0; /* the source is not ours yet: nothing of this run is published */
	cp = metastore_checkpoint(p->ms, p->index_id, p->source_id, err);
	if (!cp)
		return -1;
	v = json_object_get(cp, "-");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		pos = (uint64_t)json_integer_value(v);
	json_decref(cp);
	if (!p->stdin_base_known) {
		p->stdin_base = pos;
		p->stdin_base_known = true;
	}
	if (pos < p->stdin_base)
		return err_set(err, EX_SOFTWARE, "the checkpoint of stdin went back from %llu to %llu",
			       (unsigned long long)p->stdin_base, (unsigned long long)pos);
	*offset = pos - p->stdin_base;
	return 0;
}

/* A FIFO among the inputs is read by qw-parse itself: what a failed
 * generation read from it is gone. Given as stdin it is spooled. */
static void warn_fifos(const struct pipeline *p)
{
	for (size_t i = 0; i < p->ninputs; i++) {
		struct stat st;

		if (strcmp(p->inputs[i], "-") && stat(p->inputs[i], &st) == 0 && S_ISFIFO(st.st_mode))
			err_warn(prog, "'%s' is a FIFO: lines a failed generation read from it are lost; "
				 "give it as stdin ('- < %s') to have it spooled", p->inputs[i], p->inputs[i]);
	}
}

static void end_gen(void *ctx, unsigned gen)
{
	struct pipeline *p = ctx;
	struct qw_err e = QW_ERR_INIT;

	(void)gen;
	if (p->scratch && fsutil_rm_rf(p->scratch, &e) < 0)
		err_print(prog, &e);
}

/*
 * The scratch dir of this pipeline, with its lock held for as long as the
 * pipeline lives: qw-gc removes the scratch dirs whose lock it can take
 * (their pipeline died, e.g. of kill -9). Returns the lock's fd.
 */
static int lock_scratch(struct pipeline *p, struct qw_err *err)
{
	return metastore_lock_scratch(p->ms, p->pipeline_id, NULL, err);
}

static char *exe_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xstrdup(path[0] ? path : "/");
}

static int parse_secs(const char *opt, const char *s, int64_t *ms, struct qw_err *err)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0) || v > 86400.0 * 365)
		return err_set(err, EX_USAGE, "invalid value for %s: '%s' (expected seconds)", opt, s);
	*ms = (int64_t)(v * 1000.0);
	return 0;
}

enum {
	OPT_ONCE = 256, OPT_FOLLOW, OPT_DEAD, OPT_MAXR, OPT_STALL, OPT_BINIT, OPT_BMAX,
	OPT_PROGRESS, OPT_STATUS, OPT_METRICS, OPT_CKPT, OPT_DRAIN, OPT_NO_RESUME,
	OPT_TAKEOVER, OPT_NO_MERGE, OPT_MULTILINE, OPT_GROWING,
};

static void merge_exited(void *ctx, pid_t pid, int status)
{
	struct pipeline *p = ctx;

	merge_sibling_exited(&p->merge, pid, status);
}

/*
 * The merge pipeline beside the indexing one (unless --no-merge): qw-merge
 * --once after a --once run, a long-running qw-merge during --follow,
 * supervised by p->merge (merge_sibling.h: restarts with backoff, the
 * kill switch). A merge that cannot run is said, never a failure of the
 * indexing: the documents are published either way.
 */
static void start_merge(struct pipeline *p, const struct supervisor_opts *so, bool once,
			struct qw_err *err)
{
	struct args a = { 0 };
	char *path = stage_path(p, "qw-merge");
	char *base = metastore_scratch_dir(p->ms, p->pipeline_id);
	char *scratch = fsutil_join(base, "merge");
	int rc;

	/* in the pipeline's own scratch dir, under its lock */
	arg(&a, "qw-merge");
	arg(&a, "--data-dir");
	arg(&a, p->data_dir);
	arg(&a, "--index");
	arg(&a, p->index_id);
	arg(&a, "--scratch-dir");
	arg(&a, scratch);
	if (once)
		arg(&a, "--once");
	if (!once) {
		/* kept for the run (restarts); freed by stop_merge() */
		p->merge_args = a;
		p->merge_path = path;
		a = (struct args){ 0 };
		path = NULL;
		p->merge.prog = prog;
		p->merge.path = p->merge_path;
		p->merge.argv = p->merge_args.v;
		p->merge.backoff_initial_ms = so->backoff_initial_ms;
		p->merge.backoff_max_ms = so->backoff_max_ms;
		p->merge.max_restarts = so->max_restarts;
		merge_sibling_begin(&p->merge);
	} else if ((rc = merge_sibling_run(path, a.v, err)) != 0 && rc != -1) {
		err_warn(prog, "qw-merge exited with %d: splits were published, not merged", rc);
	}
	if (err->code) {
		err_print(prog, err);
		err_clear(err);
	}
	for (size_t i = 0; i < a.n; i++)
		free(a.v[i]);
	free(a.v);
	free(scratch);
	free(base);
	free(path);
}

static void stop_merge(struct pipeline *p)
{
	merge_sibling_end(&p->merge);
	for (size_t i = 0; i < p->merge_args.n; i++)
		free(p->merge_args.v[i]);
	free(p->merge_args.v);
	p->merge_args = (struct args){ 0 };
	free(p->merge_path);
	p->merge_path = NULL;
}

/* --no-resume: save the checkpoint as it is before the first generation. */
static int save_no_resume(struct pipeline *p, struct qw_err *err)
{
	char *base = metastore_scratch_dir(p->ms, p->pipeline_id);
	json_t *cp = metastore_checkpoint(p->ms, p->index_id, p->source_id, err);
	char *text = NULL;
	int ret = -1;

	if (!cp)
		goto out;
	text = json_dumps(cp, JSON_COMPACT);
	if (!text) {
		err_set(err, EX_SOFTWARE, "cannot serialize the checkpoint");
		goto out;
	}
	p->no_resume_from = fsutil_join(base, "no-resume-checkpoint.json");
	ret = fsutil_write_atomic(p->no_resume_from, text, strlen(text), err);
out:
	free(text);
	json_decref(cp);
	free(base);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "source", required_argument, NULL, 's' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "growing", no_argument, NULL, OPT_GROWING },
		{ "format", required_argument, NULL, 'f' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "multiline-start", required_argument, NULL, OPT_MULTILINE },
		{ "dead-letter", required_argument, NULL, OPT_DEAD },
		{ "max-restarts", required_argument, NULL, OPT_MAXR },
		{ "stall-timeout", required_argument, NULL, OPT_STALL },
		{ "backoff-initial", required_argument, NULL, OPT_BINIT },
		{ "backoff-max", required_argument, NULL, OPT_BMAX },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "status-file", required_argument, NULL, OPT_STATUS },
		{ "metrics-file", required_argument, NULL, OPT_METRICS },
		{ "max-concurrent-uploads", required_argument, NULL, 'j' },
		{ "checkpoint-every", required_argument, NULL, OPT_CKPT },
		{ "drain-ms", required_argument, NULL, OPT_DRAIN },
		{ "no-resume", no_argument, NULL, OPT_NO_RESUME },
		{ "takeover", no_argument, NULL, OPT_TAKEOVER },
		{ "no-merge", no_argument, NULL, OPT_NO_MERGE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pipeline p = { .source_id = DEFAULT_SOURCE, .max_uploads = 4 };
	struct supervisor_opts so = {
		.prog = "qw-pipeline", .max_restarts = 10, .stall_timeout_ms = 60000,
		.backoff_initial_ms = 1000, .backoff_max_ms = 60000, .input_fd = -1,
		.output_fd = STDOUT_FILENO, .stop_stage = 0, .commit_stage = 1,
		.start = start_gen, .end = end_gen, .tick = tick, .other_exit = merge_exited,
	};
	struct qw_err err = QW_ERR_INIT;
	const char *data_dir = NULL;
	int lock_fd = -1;
	int once = 0, follow = 0, progress = -1, no_resume = 0;
	char *spool_path = NULL, *default_status = NULL;
	uint64_t v;
	int code = 0;
	int c;

	while ((c = getopt_long(argc, argv, "i:d:s:f:p:qj:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			p.index_id = optarg;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case 's':
			p.source_id = optarg;
			break;
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_FOLLOW:
			follow = 1;
			break;
		case 'f':
			p.format = optarg;
			break;
		case 'p':
			p.pattern = optarg;
			break;
		case OPT_MULTILINE:
			p.multiline_start = optarg;
			break;
		case OPT_DEAD:
			p.dead_letter = optarg;
			break;
		case OPT_MAXR:
			if (prog_parse_u64("--max-restarts", optarg, 0, 1000000, &v, &err) < 0)
				goto usage_err;
			so.max_restarts = (unsigned)v;
			break;
		case OPT_STALL:
			if (parse_secs("--stall-timeout", optarg, &so.stall_timeout_ms, &err) < 0)
				goto usage_err;
			break;
		case OPT_BINIT:
			if (parse_secs("--backoff-initial", optarg, &so.backoff_initial_ms, &err) < 0)
				goto usage_err;
			break;
		case OPT_BMAX:
			if (parse_secs("--backoff-max", optarg, &so.backoff_max_ms, &err) < 0)
				goto usage_err;
			break;
		case OPT_PROGRESS:
			progress = 1;
			break;
		case 'q':
			progress = 0;
			p.quiet = true;
			so.output_fd = -1; /* for cron: nothing on success */
			break;
		case OPT_STATUS:
			so.status_file = optarg;
			break;
		case OPT_METRICS:
			so.metrics_file = optarg;
			break;
		case 'j':
			if (prog_parse_u64("--max-concurrent-uploads", optarg, 1, 256, &v, &err) < 0)
				goto usage_err;
			p.max_uploads = (unsigned)v;
			break;
		case OPT_CKPT:
			if (prog_parse_u64("--checkpoint-every", optarg, 1, UINT64_MAX, &v, &err) < 0)
				goto usage_err;
			p.checkpoint_every = optarg;
			break;
		case OPT_DRAIN:
			if (prog_parse_u64("--drain-ms", optarg, 0, UINT64_C(1) << 40, &v, &err) < 0)
				goto usage_err;
			p.drain_ms = optarg;
			break;
		case OPT_NO_RESUME:
			no_resume = 1;
			break;
		case OPT_TAKEOVER:
			p.takeover = true;
			break;
		case OPT_GROWING:
			p.growing = true;
			break;
		case OPT_NO_MERGE:
			p.no_merge = true;
			break;
		default: /* -h, -V or a usage error */
			return prog_getopt_tail(prog, c, usage);
		}
	}
	if (!p.index_id) {
		err_set(&err, EX_USAGE, "--index is required");
		goto usage_err;
	}
	if (once + follow != 1) {
		err_set(&err, EX_USAGE, "exactly one of --once and --follow is required");
		goto usage_err;
	}
	if (p.growing && follow) {
		err_set(&err, EX_USAGE, "--growing goes with --once (--follow waits for newlines anyway)");
		goto usage_err;
	}
	if (optind >= argc) {
		err_set(&err, EX_USAGE, "no input (give FILE, GLOB, DIR or -)");
		goto usage_err;
	}
	if (ids_check_index(p.index_id, &err) < 0 || ids_check_source(p.source_id, &err) < 0)
		goto usage_err;
	if (so.backoff_max_ms < so.backoff_initial_ms)
		so.backoff_max_ms = so.backoff_initial_ms;
	if (so.backoff_initial_ms <= 0)
		so.backoff_initial_ms = 1;
	p.follow = follow;
	so.once = once;
	so.progress = progress < 0 ? isatty(STDERR_FILENO) : progress;
	so.metrics_index = p.index_id;
	so.metrics_source = p.source_id;
	p.inputs = argv + optind;
	p.ninputs = (size_t)(argc - optind);
	for (size_t i = 0; i < p.ninputs; i++)
		if (!strcmp(p.inputs[i], "-"))
			so.input_fd = STDIN_FILENO;
	p.data_dir = prog_data_dir(data_dir);
	p.exe_dir = exe_dir();
	so.ctx = &p;

	p.ms = metastore_open(p.data_dir, &err);
	if (!p.ms)
		goto fail;
	if (!metastore_index_exists(p.ms, p.index_id)) {
		metastore_no_index(p.ms, p.index_id, &err);
		goto fail;
	}
	if (!so.status_file) {
		/* where `qw pipeline status --index ID` looks */
		char *dir = prog_status_dir(p.data_dir, p.index_id);

		if (fsutil_mkdir_p(dir, 0755, &err) < 0) {
			free(dir);
			goto fail;
		}
		free(dir);
		default_status = prog_status_file(p.data_dir, p.index_id, p.source_id);
		so.status_file = default_status;
	}
	if (ids_ulid_new(p.pipeline_id, &err) < 0)
		goto fail;
	if (gethostname(p.host, sizeof(p.host) - 1) < 0) {
		err_errno(&err, EX_OSERR, "cannot get the host name");
		goto fail;
	}
	p.start_s = clock_wall_s();
	lock_fd = lock_scratch(&p, &err);
	if (lock_fd < 0)
		goto fail;
	if (no_resume && save_no_resume(&p, &err) < 0)
		goto fail;
	if (so.input_fd >= 0) {
		char *base = metastore_scratch_dir(p.ms, p.pipeline_id);

		spool_path = fsutil_join(base, "stdin.spool");
		free(base);
		so.spool_path = spool_path;
		so.input_published = stdin_published;
	}
	warn_fifos(&p);
	if (follow && !p.no_merge)
		start_merge(&p, &so, false, &err);
	code = supervisor_run(&so, &err);
	stop_merge(&p);
	if (code == 0 && once && !p.no_merge)
		start_merge(&p, &so, true, &err);
	if (code < 0 && err.code == EX_TEMPFAIL && p.token) {
		/* a refused publish, and then giving up: fenced says more */
		struct qw_err fe = QW_ERR_INIT;

		if (metastore_check_publish_token(p.ms, p.index_id, p.source_id, p.token, &fe) < 0 &&
		    fe.code == EX_TEMPFAIL)
			err = fe;
	}
	if (code < 0)
		goto fail;
	/* Fenced at the very end (--once) is fenced too: what it did after
	 * was dropped. Otherwise the lease ends: the source is free. */
	if (p.token && metastore_renew_owner(p.ms, p.index_id, p.source_id, p.token, 0, &err) < 0)
		goto fail;
	goto out;
usage_err:
	err_print(prog, &err);
	usage(stderr);
	return EX_USAGE;
fail:
	code = err.code ? err.code : EX_SOFTWARE;
	err_print(prog, &err);
	if (p.token) {
		/* a failed run does not own the source any more (refused
		 * without a change when it was fenced) */
		struct qw_err e2 = QW_ERR_INIT;

		metastore_renew_owner(p.ms, p.index_id, p.source_id, p.token, 0, &e2);
	}
out:
	if (p.ms) {
		char *base = metastore_scratch_dir(p.ms, p.pipeline_id);
		struct qw_err e2 = QW_ERR_INIT;

		if (p.pipeline_id[0] && base && lock_fd >= 0)
			fsutil_rm_rf(base, &e2);
		free(base);
		metastore_close(p.ms);
	}
	if (lock_fd >= 0)
		close(lock_fd); /* after the removal: gc never races it */
	free(p.scratch);
	free(p.no_resume_from);
	free(spool_path);
	free(default_status);
	free(p.token);
	free(p.exe_dir);
	return prog_finish(prog, code);
}
