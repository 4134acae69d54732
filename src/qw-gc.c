/*
 * qw-gc: remove the splits no one will publish or read again
 * (garbage collection of one index).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/err.h"
#include "lifecycle/gc.h"
#include "base/ids.h"
#include "store/metastore.h"
#include "app/prog.h"
#include "lifecycle/retention.h"

static const char *prog = "qw-gc";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --index ID [--data-dir DIR] [--grace-period SECS]\n"
		"             [--deletion-grace-period SECS] [--dry-run]\n"
		"Apply the index's retention period (mark expired splits for deletion), remove\n"
		"staged splits of dead pipeline generations, staged splits older than\n"
		"the grace period, splits marked for deletion, and the scratch dirs of dead\n"
		"pipelines; print one line per split or dir.\n"
		"\n"
		"Options:\n"
		"  -i, --index ID                    the index (required)\n"
		"  -d, --data-dir DIR                data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI           metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"      --grace-period SECS           age of a staged split of a live pipeline\n"
		"                                    before removal (default 3600)\n"
		"      --deletion-grace-period SECS  age of a split marked for deletion before\n"
		"                                    removal (default 120)\n"
		"  -n, --dry-run                     print what would be removed, remove nothing\n"
		"  -h, --help                        show this help and exit\n"
		"  -V, --version                     show the version and exit\n",
		prog);
}

enum { OPT_GRACE = 256, OPT_DGRACE };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "grace-period", required_argument, NULL, OPT_GRACE },
		{ "deletion-grace-period", required_argument, NULL, OPT_DGRACE },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct gc_opts o = { .staged_grace_s = 3600, .marked_grace_s = 120 };
	struct qw_err err = QW_ERR_INIT;
	const char *data_dir = NULL, *index_id = NULL;
	struct metastore *ms = NULL;
	json_t *report = NULL, *expired = NULL, *f;
	uint64_t v;
	size_t i;
	int code = 0;
	int c;

	while ((c = getopt_long(argc, argv, "i:d:nhV", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			index_id = optarg;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case OPT_GRACE:
		case OPT_DGRACE:
			if (prog_parse_u64(c == OPT_GRACE ? "--grace-period" : "--deletion-grace-period",
					   optarg, 0, 100ULL * 365 * 86400, &v, &err) < 0) {
				err_print(prog, &err);
				usage(stderr);
				return EX_USAGE;
			}
			if (c == OPT_GRACE)
				o.staged_grace_s = (int64_t)v;
			else
				o.marked_grace_s = (int64_t)v;
			break;
		case 'n':
			o.dry_run = true;
			break;
		default: /* -h, -V or a usage error */
			return prog_getopt_tail(prog, c, usage);
		}
	}
	if (!index_id || optind < argc) {
		if (index_id)
			err_warn(prog, "unexpected argument '%s'", argv[optind]);
		else
			err_warn(prog, "--index is required");
		usage(stderr);
		return EX_USAGE;
	}
	if (ids_check_index(index_id, &err) < 0)
		goto fail;
	ms = metastore_open(prog_data_dir(data_dir), &err);
	if (!ms)
		goto fail;
	/* retention first: what it marks is removed after the grace period */
	expired = json_array();
	if (retention_apply(ms, index_id, clock_wall_s(), o.dry_run, expired, &err) < 0)
		goto fail;
	json_array_foreach(expired, i, f)
		printf("%s retention\n", json_string_value(json_object_get(f, "split_id")));
	if (gc_run(ms, index_id, &o, &report, &err) < 0)
		goto fail;
	json_array_foreach(report, i, f) {
		const char *id = json_string_value(json_object_get(f, "split_id"));

		if (!id)
			id = json_string_value(json_object_get(f, "scratch_dir"));
		if (!id)
			id = json_string_value(json_object_get(f, "temp_file"));
		printf("%s %s\n", id ? id : "?", json_string_value(json_object_get(f, "reason")));
	}
	goto out;
fail:
	code = err.code ? err.code : EX_SOFTWARE;
	err_print(prog, &err);
out:
	json_decref(expired);
	json_decref(report);
	if (ms)
		metastore_close(ms);
	return prog_finish(prog, code);
}
