/*
 * qw-upload: stage packaged splits in the metastore, store them, and emit
 * `uploaded` records in arrival order (uploader + sequencer).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "app/prog.h"
#include "pipeline/uploader.h"

static const char *prog = "qw-upload";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [--data-dir DIR] [--index ID] [--source ID] [--publish-token TOKEN]\n"
		"                 [--max-concurrent-uploads N] [--verbose]\n"
		"Stage the splits of `packaged` records (stdin) in the metastore, store them,\n"
		"and write `uploaded` records (stdout) in arrival order.\n"
		"\n"
		"Options:\n"
		"  -d, --data-dir DIR              data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI         metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"  -i, --index ID                  index of records that name none\n"
		"  -s, --source ID                 source of records that name none\n"
		"  -t, --publish-token TOKEN       token of records that carry none\n"
		"  -j, --max-concurrent-uploads N  uploads in flight at once (default 4)\n"
		"  -v, --verbose                   log each finished upload on stderr\n"
		"  -h, --help                      show this help and exit\n"
		"  -V, --version                   show the version and exit\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "index", required_argument, NULL, 'i' },
		{ "source", required_argument, NULL, 's' },
		{ "publish-token", required_argument, NULL, 't' },
		{ "max-concurrent-uploads", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct uploader_opts o = { .max_concurrent = 4, .prog = "qw-upload" };
	struct qw_err err = QW_ERR_INIT;
	const char *data_dir = NULL;
	uint64_t v;
	int code = 0;
	int c;

	while ((c = getopt_long(argc, argv, "d:i:s:t:j:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case 'i':
			o.target.index_id = optarg;
			break;
		case 's':
			o.target.source_id = optarg;
			break;
		case 't':
			o.target.publish_token = optarg;
			break;
		case 'j':
			if (prog_parse_u64("--max-concurrent-uploads", optarg, 1, 256, &v, &err) < 0) {
				err_print(prog, &err);
				usage(stderr);
				return EX_USAGE;
			}
			o.max_concurrent = (unsigned)v;
			break;
		case 'v':
			o.verbose = true;
			break;
		default: /* -h, -V or a usage error */
			return prog_getopt_tail(prog, c, usage);
		}
	}
	if (optind < argc) {
		err_warn(prog, "unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	o.target.data_dir = prog_data_dir(data_dir);
	if (uploader_run(&o, STDIN_FILENO, STDOUT_FILENO, &err) < 0)
		code = err.code ? err.code : EX_SOFTWARE;
	if (code)
		err_print(prog, &err);
	return prog_finish(prog, code);
}
