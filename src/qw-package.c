/*
 * qw-package: the packager stage. Reads `split` records (man/qw-protocol.7)
 * on stdin, bundles every serialized split into one .split file with its
 * metadata and writes `packaged` records on stdout; drops the splits of a
 * dead generation (stale publish token).
 *
 * Thin: options, the index config and metastore, then packager_run()
 * (src/lib/pipeline/packager.c) does the work.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapping/config.h"
#include "base/err.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "pipeline/packager.h"
#include "app/prog.h"

static const char *prog = "qw-package";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [--index ID] [--data-dir DIR] [--index-snapshot FILE] [--index-config FILE]\n"
		"          [--scratch-dir DIR]\n"
		"Bundle the splits of split records from stdin into .split files;\n"
		"write packaged records on stdout.\n"
		"\n"
		"Options:\n"
		"  -i, --index ID             index whose config and publish tokens are read\n"
		"                             from the metastore (fencing)\n"
		"  -d, --data-dir DIR         data directory (default $QW_DATA_DIR or ./qwdata);\n"
		"      --metastore-uri URI    metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"                             giving it turns fencing on\n"
		"      --index-snapshot FILE  with --index: read them from FILE, an index snapshot\n"
		"                             qw-pipeline wrote, not from the metastore\n"
		"  -c, --index-config FILE    read the index config from FILE\n"
		"  -s, --scratch-dir DIR      where .split files go (default: beside each\n"
		"                             serialized split)\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n",
		prog);
}

static void notice(void *ctx, const char *msg)
{
	(void)ctx;
	err_warn(prog, "%s", msg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		PROG_INDEX_SNAPSHOT_OPTION,
		{ "index-config", required_argument, NULL, 'c' },
		{ "scratch-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT;
	const char *index = NULL, *data_dir_opt = NULL, *config_file = NULL, *snapshot = NULL;
	struct packager_opts po;
	struct index_config *cfg = NULL;
	struct metastore *ms = NULL;
	json_t *index_meta = NULL;
	int code = 0;
	int c;

	memset(&po, 0, sizeof(po));
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
			po.scratch_dir = optarg;
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

	if (snapshot && !index) {
		err_warn(prog, "--index-snapshot needs --index");
		usage(stderr);
		return EX_USAGE;
	}
	if (index && ids_check_index(index, &err) < 0)
		goto out;
	if (snapshot) {
		index_meta = prog_index_meta(data_dir_opt, index, snapshot, &err);
		if (!index_meta)
			goto out;
	} else if (index || data_dir_opt) {
		ms = metastore_open(prog_data_dir(data_dir_opt), &err);
		if (!ms)
			goto out;
	}
	if (config_file)
		cfg = config_load_file(config_file, &err);
	else if (index_meta)
		cfg = metastore_doc_config(index_meta, index, &err);
	else if (index)
		cfg = metastore_index_config(ms, index, &err);
	if ((config_file || index) && !cfg)
		goto out;
	po.cfg = cfg;
	po.ms = ms;
	po.index_meta = index_meta;
	po.index_id = index;
	packager_run(&po, STDIN_FILENO, STDOUT_FILENO, notice, NULL, &err);
out:
	if (err.code) {
		code = err.code;
		err_print(prog, &err);
	}
	if (cfg)
		config_free(cfg);
	if (ms)
		metastore_close(ms);
	json_decref(index_meta);
	return prog_finish(prog, code);
}
