/*
 * qw-parse: read log files (plain or NDJSON, compressed, archives), apply
 * the index's doc mapping and write documents and checkpoint records for
 * qw-index (man/qw-parse.1).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "store/metastore.h"
#include "pipeline/parse.h"
#include "app/prog.h"

static const char *prog = "qw-parse";

enum { OPT_NO_RESUME_FROM = 256, OPT_MULTILINE_START, OPT_GROWING };

static volatile sig_atomic_t commit_flag;
static volatile sig_atomic_t stop_flag;

static void on_usr1(int sig)
{
	(void)sig;
	commit_flag = 1;
}

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... FILE|GLOB|DIR|-...\n"
		"Read log files, apply the doc mapping and write documents for qw-index.\n"
		"\n"
		"Options:\n"
		"  -i, --index ID            use the config and checkpoint of index ID\n"
		"      --index-snapshot FILE with --index: take them from FILE, an index\n"
		"                            snapshot qw-pipeline wrote, not the metastore\n"
		"  -c, --index-config FILE   use the index config in FILE (no resume)\n"
		"  -d, --data-dir DIR        data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI   metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"  -s, --source ID           source id for checkpoints (default files)\n"
		"  -f, --format FORMAT       ndjson, plain, regex or auto (default auto)\n"
		"  -p, --pattern RE          fields of a plain line: the named groups of RE\n"
		"                            (PCRE2), or apache_combined, nginx_combined,\n"
		"                            syslog_rfc3164, syslog_rfc5424\n"
		"      --multiline-start RE  a plain line RE does not match joins the event\n"
		"                            before it (a stack trace)\n"
		"  -b, --body-field NAME     field of a plain text line (default body)\n"
		"  -D, --dead-letter FILE    append rejected lines with the reason to FILE\n"
		"  -m, --max-line-bytes N    longer lines are invalid (default 10485760)\n"
		"  -n, --checkpoint-every N  checkpoint record every N lines (default 10000)\n"
		"  -F, --follow              keep reading files as they grow\n"
		"      --growing             read to the end once, but the files are still\n"
		"                            written to: a last line without its newline is\n"
		"                            left for the next run\n"
		"  -R, --no-resume           read files from the start, ignoring their stored\n"
		"                            positions (may index documents again)\n"
		"      --no-resume-from FILE as --no-resume, ignoring the positions in FILE\n"
		"                            (a checkpoint as JSON) instead of the stored ones\n"
		"  -q, --quiet               no summary and no notices: errors only\n"
		"  -h, --help                show this help and exit\n"
		"  -V, --version             show the version and exit\n",
		prog);
}

/* ctx: --quiet (a bool): notices (code 0) are not shown, errors are. */
static void warn_cb(void *ctx, const struct qw_err *e)
{
	const bool *quiet = ctx;

	if (*quiet && e->code == 0)
		return;
	err_print(prog, e);
}

/* A checkpoint saved as JSON ({"partition": position}) for --no-resume-from. */
static json_t *load_checkpoint(const char *path, struct qw_err *err)
{
	struct buf b = BUF_INIT;
	json_error_t je;
	json_t *cp = NULL;

	if (fsutil_read_all(path, &b, err) < 0)
		goto out;
	cp = json_loadb(b.data ? b.data : "", b.len, 0, &je);
	if (!cp) {
		err_set(err, EX_DATAERR, "cannot read checkpoint '%s': %s", path, je.text);
		goto out;
	}
	if (!json_is_object(cp)) {
		err_set(err, EX_DATAERR, "cannot read checkpoint '%s': not a JSON object", path);
		json_decref(cp);
		cp = NULL;
	}
out:
	buf_free(&b);
	return cp;
}

static int install_signals(struct qw_err *err)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return err_errno(err, EX_OSERR, "cannot install a SIGUSR1 handler");
	sa.sa_handler = on_stop;
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return err_errno(err, EX_OSERR, "cannot install a SIGTERM handler");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		PROG_INDEX_SNAPSHOT_OPTION,
		{ "index-config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "source", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "multiline-start", required_argument, NULL, OPT_MULTILINE_START },
		{ "body-field", required_argument, NULL, 'b' },
		{ "dead-letter", required_argument, NULL, 'D' },
		{ "max-line-bytes", required_argument, NULL, 'm' },
		{ "checkpoint-every", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'F' },
		{ "growing", no_argument, NULL, OPT_GROWING },
		{ "no-resume", no_argument, NULL, 'R' },
		{ "no-resume-from", required_argument, NULL, OPT_NO_RESUME_FROM },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT;
	struct parse_opts po;
	struct parse_stats st;
	struct index_config *cfg = NULL;
	json_t *index_meta = NULL;
	const char *index_id = NULL, *config_file = NULL, *data_dir = NULL, *no_resume_from = NULL;
	const char *snapshot = NULL;
	bool no_resume = false, quiet = false;
	uint64_t u;
	int code = 0;
	int c;

	memset(&po, 0, sizeof(po));
	po.format = PARSE_AUTO;
	po.max_line = 10u << 20;
	po.checkpoint_every = 10000;
	po.out_fd = STDOUT_FILENO;
	while ((c = getopt_long(argc, argv, "i:c:d:s:f:p:b:D:m:n:FRqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			index_id = optarg;
			break;
		case PROG_OPT_INDEX_SNAPSHOT:
			snapshot = optarg;
			break;
		case 'c':
			config_file = optarg;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case 's':
			po.source_id = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "ndjson") == 0 || strcmp(optarg, "json") == 0)
				po.format = PARSE_NDJSON;
			else if (strcmp(optarg, "plain") == 0 || strcmp(optarg, "plain_text") == 0)
				po.format = PARSE_PLAIN;
			else if (strcmp(optarg, "regex") == 0)
				po.format = PARSE_REGEX;
			else if (strcmp(optarg, "auto") == 0)
				po.format = PARSE_AUTO;
			else {
				err_set(&err, EX_USAGE, "unknown format '%s' (ndjson, plain, regex or auto)",
					optarg);
				goto out;
			}
			break;
		case 'p':
			po.pattern = optarg;
			break;
		case OPT_MULTILINE_START:
			po.multiline_start = optarg;
			break;
		case 'b':
			po.body_field = optarg;
			break;
		case 'D':
			po.dead_letter = optarg;
			break;
		case 'm':
			if (prog_parse_u64("--max-line-bytes", optarg, 1, SIZE_MAX / 2, &u, &err))
				goto out;
			po.max_line = (size_t)u;
			break;
		case 'n':
			if (prog_parse_u64("--checkpoint-every", optarg, 1, UINT64_MAX, &u, &err))
				goto out;
			po.checkpoint_every = u;
			break;
		case 'F':
			po.follow = true;
			break;
		case OPT_GROWING:
			po.growing = true;
			break;
		case 'R':
			no_resume = true;
			break;
		case OPT_NO_RESUME_FROM:
			no_resume_from = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default: /* -h, -V or a usage error */
			return prog_getopt_tail(prog, c, usage);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (index_id && config_file) {
		err_set(&err, EX_USAGE, "--index and --index-config cannot be used together");
		goto out;
	}
	if (po.growing && po.follow) {
		err_set(&err, EX_USAGE, "--growing and --follow cannot be used together");
		goto out;
	}
	if (snapshot && !index_id) {
		err_set(&err, EX_USAGE, "--index-snapshot needs --index");
		goto out;
	}
	if (index_id) {
		/* config and checkpoint from one read: a consistent pair */
		index_meta = prog_index_meta(data_dir, index_id, snapshot, &err);
		if (!index_meta)
			goto out;
		cfg = metastore_doc_config(index_meta, index_id, &err);
		if (!cfg)
			goto out;
		/* also with --no-resume: a stream's offsets go on from its stored position */
		po.checkpoint = metastore_doc_checkpoint(index_meta,
							 po.source_id ? po.source_id : "files",
							 &po.checkpoint_heads, &err);
		if (!po.checkpoint)
			goto out;
		if (no_resume_from) {
			po.no_resume = load_checkpoint(no_resume_from, &err);
			if (!po.no_resume)
				goto out;
		} else if (no_resume) {
			po.no_resume = json_incref(po.checkpoint);
		}
	} else if (config_file) {
		cfg = config_load_file(config_file, &err);
		if (!cfg)
			goto out;
	}
	if (install_signals(&err))
		goto out;
	po.cfg = cfg;
	po.inputs = (const char *const *)argv + optind;
	po.n_inputs = (size_t)(argc - optind);
	po.commit_flag = &commit_flag;
	po.stop_flag = &stop_flag;
	po.warn = warn_cb;
	po.warn_ctx = &quiet;
	code = parse_run(&po, &st, &err);
	{
		struct buf sum = BUF_INIT;

		parse_summary(&st, &sum);
		/* a run that could not start (a bad --pattern) has nothing to sum up */
		if (!quiet && (code >= 0 || st.docs_read))
			fprintf(stderr, "%s: %s\n", prog, sum.data);
		buf_free(&sum);
	}
	if (code > 0)
		goto done;        /* input problems were reported as they happened */
out:
	code = err.code;
	if (code)
		err_print(prog, &err);
done:
	json_decref(po.checkpoint);
	json_decref(po.checkpoint_heads);
	json_decref(po.no_resume);
	config_free(cfg);
	json_decref(index_meta);
	return prog_finish(prog, code);
}
