/*
 * qw-publish: publish uploaded splits and their checkpoint delta, one
 * metastore transaction per `uploaded` record (publisher).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "store/metastore.h"
#include "app/prog.h"
#include "pipeline/publisher.h"

static const char *prog = "qw-publish";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [--data-dir DIR] [--index ID] [--source ID] [--publish-token TOKEN]\n"
		"       %s --new-token --index ID [--data-dir DIR] [--source ID]\n"
		"Publish the splits of `uploaded` records (stdin) with their checkpoint delta\n"
		"and write `published` records (stdout).\n"
		"\n"
		"Options:\n"
		"  -d, --data-dir DIR         data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI    metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"  -i, --index ID             index of records that name none\n"
		"  -s, --source ID            source of records that name none\n"
		"  -t, --publish-token TOKEN  token of records that carry none\n"
		"      --new-token            take a new publish token for (index, source),\n"
		"                             fencing every older one, print it and exit\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n",
		prog, prog);
}

enum { OPT_NEW_TOKEN = 256 };

/* --new-token: what qw-pipeline does at each generation, for use by hand. */
static int new_token(const struct publisher_opts *o, struct qw_err *err)
{
	struct metastore *ms = NULL;
	char *token = NULL;
	int ret = -1;

	if (!o->target.index_id || !o->target.source_id) {
		err_set(err, EX_USAGE, "--new-token needs --index and --source");
		goto out;
	}
	ms = metastore_open(o->target.data_dir, err);
	if (!ms)
		goto out;
	token = metastore_new_publish_token(ms, o->target.index_id, o->target.source_id, err);
	if (!token)
		goto out;
	printf("%s\n", token);
	ret = 0;
out:
	free(token);
	if (ms)
		metastore_close(ms);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "index", required_argument, NULL, 'i' },
		{ "source", required_argument, NULL, 's' },
		{ "publish-token", required_argument, NULL, 't' },
		{ "new-token", no_argument, NULL, OPT_NEW_TOKEN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct publisher_opts o = { 0 };
	struct qw_err err = QW_ERR_INIT;
	const char *data_dir = NULL;
	bool want_token = false;
	int code = 0;
	int c;

	while ((c = getopt_long(argc, argv, "d:i:s:t:hV", opts, NULL)) != -1) {
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
		case OPT_NEW_TOKEN:
			want_token = true;
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
	if (want_token) {
		if (new_token(&o, &err) < 0)
			code = err.code ? err.code : EX_SOFTWARE;
	} else if (publisher_run(&o, STDIN_FILENO, STDOUT_FILENO, &err) < 0)
		code = err.code ? err.code : EX_SOFTWARE;
	if (code)
		err_print(prog, &err);
	return prog_finish(prog, code);
}
