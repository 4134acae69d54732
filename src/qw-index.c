/*
 * qw-index: the indexer stage. Reads documents and control records
 * (man/qw-protocol.7) on stdin, builds one in-memory split per partition,
 * cuts them on the commit triggers and writes `split` records on stdout.
 *
 * Thin: options, the index config (metastore or file), the SIGUSR1 flag,
 * then indexer_run() (src/lib/pipeline/indexer.c) does the work.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapping/config.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "pipeline/indexer.h"
#include "store/metastore.h"
#include "app/prog.h"
#include "base/xalloc.h"

static const char *prog = "qw-index";

static volatile sig_atomic_t force_commit;

static void on_usr1(int sig)
{
	(void)sig;
	force_commit = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s (--index ID [--data-dir DIR] [--index-snapshot FILE] | --index-config FILE)\n"
		"          [--scratch-dir DIR] [--source ID] [--publish-token TOKEN] [--drain-ms N]\n"
		"          [--max-line-bytes N]\n"
		"Index documents from stdin into splits; write split records on stdout.\n"
		"\n"
		"Options:\n"
		"  -i, --index ID             index whose config is read from the metastore\n"
		"  -d, --data-dir DIR         data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI    metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"      --index-snapshot FILE  with --index: read it from FILE, an index snapshot\n"
		"                             qw-pipeline wrote, not from the metastore\n"
		"  -c, --index-config FILE    read the index config from FILE instead\n"
		"  -s, --scratch-dir DIR      where serialized splits go\n"
		"                             (default DATA-DIR/scratch/INDEX-PID)\n"
		"      --source ID            source id written in split records\n"
		"      --publish-token TOKEN  publish token written in split records\n"
		"      --drain-ms N           cut when input is idle for N ms (default 1000, 0: never)\n"
		"      --max-line-bytes N     count longer lines as invalid (default 10485760)\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n",
		prog);
}

enum { OPT_SOURCE = 256, OPT_TOKEN, OPT_DRAIN, OPT_MAXLINE };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		PROG_INDEX_SNAPSHOT_OPTION,
		{ "index-config", required_argument, NULL, 'c' },
		{ "scratch-dir", required_argument, NULL, 's' },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "publish-token", required_argument, NULL, OPT_TOKEN },
		{ "drain-ms", required_argument, NULL, OPT_DRAIN },
		{ "max-line-bytes", required_argument, NULL, OPT_MAXLINE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT;
	const char *index = NULL, *data_dir_opt = NULL, *config_file = NULL;
	const char *scratch_opt = NULL;
	struct indexer_opts io;
	struct index_config *cfg = NULL;
	const char *snapshot = NULL;
	json_t *index_meta = NULL;
	struct indexer *ix = NULL;
	struct sigaction sa;
	char *scratch = NULL;
	uint64_t drain_ms = 1000, max_line = 10 << 20;
	int code = 0;
	int c;

	/* first thing: an early SIGUSR1 must not kill us */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		err_errno(&err, EX_OSERR, "cannot handle SIGUSR1");
		err_print(prog, &err);
		return prog_finish(prog, EX_OSERR);
	}
	memset(&io, 0, sizeof(io));
	while ((c = getopt_long(argc, argv, "i:d:c:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			index = optarg;
			break;
		case 'd':
			data_dir_opt = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case PROG_OPT_INDEX_SNAPSHOT:
			snapshot = optarg;
			break;
		case 'c':
			config_file = optarg;
			break;
		case 's':
			scratch_opt = optarg;
			break;
		case OPT_SOURCE:
			io.source_id = optarg;
			break;
		case OPT_TOKEN:
			io.publish_token = optarg;
			break;
		case OPT_DRAIN:
			if (prog_parse_u64("--drain-ms", optarg, 0, UINT64_C(1) << 40, &drain_ms,
					   &err) < 0)
				goto usage_err;
			break;
		case OPT_MAXLINE:
			if (prog_parse_u64("--max-line-bytes", optarg, 1, UINT64_C(1) << 32,
					   &max_line, &err) < 0)
				goto usage_err;
			break;
		default: /* -h, -V or a usage error */
			return prog_getopt_tail(prog, c, usage);
		}
	}
	if (snapshot && !index) {
		err_set(&err, EX_USAGE, "--index-snapshot needs --index");
		goto usage_err;
	}
	if (optind < argc || (!index == !config_file)) {
		err_set(&err, EX_USAGE, optind < argc ? "unexpected argument '%s'"
			: "give one of --index or --index-config%s", optind < argc ? argv[optind] : "");
		goto usage_err;
	}

	if (index) {
		index_meta = prog_index_meta(data_dir_opt, index, snapshot, &err);
		if (!index_meta)
			goto out;
		cfg = metastore_doc_config(index_meta, index, &err);
	} else {
		cfg = config_load_file(config_file, &err);
	}
	if (!cfg)
		goto out;
	if (!index)
		index = cfg->index_id;
	if (scratch_opt) {
		scratch = xstrdup(scratch_opt);
	} else {
		char name[300];
		char *dir = fsutil_join(prog_data_dir(data_dir_opt), "scratch");

		snprintf(name, sizeof(name), "%s-%ld", index, (long)getpid());
		scratch = fsutil_join(dir, name);
		free(dir);
	}
	io.cfg = cfg;
	io.index_id = index;
	io.scratch_dir = scratch;
	io.drain_ms = (int64_t)drain_ms;
	io.max_line = (size_t)max_line;
	ix = indexer_new(&io, &err);
	if (!ix)
		goto out;

	indexer_run(ix, STDIN_FILENO, STDOUT_FILENO, &force_commit, &err);
	goto out;

usage_err:
	err_print(prog, &err);
	usage(stderr);
	code = EX_USAGE;
	err_clear(&err);
out:
	if (err.code) {
		code = err.code;
		err_print(prog, &err);
	}
	indexer_free(ix);
	free(scratch);
	if (cfg)
		config_free(cfg);
	json_decref(index_meta);
	return prog_finish(prog, code);
}
