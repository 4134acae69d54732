/*
 * qw-gc: remove the splits no one will publish or read again
 * (garbage collection of one index), once or as a janitor (--interval).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/ids.h"
#include "lifecycle/janitor.h"
#include "store/metastore.h"
#include "app/prog.h"

static const char *prog = "qw-gc";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --index ID [--data-dir DIR] [--grace-period SECS]\n"
		"             [--deletion-grace-period SECS] [--interval SECS] [--dry-run]\n"
		"Apply the index's retention period (mark expired splits for deletion), remove\n"
		"staged splits of dead pipeline generations, staged splits older than\n"
		"the grace period, splits marked for deletion, and the scratch dirs of dead\n"
		"pipelines; print one line per split or dir. With --interval, keep running as\n"
		"the index's janitor until SIGTERM or SIGINT.\n"
		"\n"
		"Options:\n"
		"  -i, --index ID                    the index (required)\n"
		"  -d, --data-dir DIR                data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI           metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"      --grace-period SECS           age of a staged split of a live pipeline\n"
		"                                    before removal (default 3600)\n"
		"      --deletion-grace-period SECS  age of a split marked for deletion before\n"
		"                                    removal (default 120)\n"
		"      --interval SECS               janitor mode: a pass every SECS seconds,\n"
		"                                    retention when its schedule fires\n"
		"  -n, --dry-run                     print what would be removed, remove nothing\n"
		"  -h, --help                        show this help and exit\n"
		"  -V, --version                     show the version and exit\n",
		prog);
}

enum { OPT_GRACE = 256, OPT_DGRACE, OPT_INTERVAL };

/* Print what a pass did, one line per entry; the number of entries. */
static size_t print_report(json_t *report)
{
	size_t i, n = json_array_size(report);
	json_t *f;

	json_array_foreach(report, i, f) {
		const char *id = json_string_value(json_object_get(f, "split_id"));

		if (!id)
			id = json_string_value(json_object_get(f, "scratch_dir"));
		if (!id)
			id = json_string_value(json_object_get(f, "temp_file"));
		printf("%s %s\n", id ? id : "?", json_string_value(json_object_get(f, "reason")));
	}
	fflush(stdout);
	json_array_clear(report);
	return n;
}

/* Wait up to secs for SIGTERM/SIGINT (blocked by the caller): 1 when one came. */
static int wait_stop(const sigset_t *stop, int64_t secs)
{
	struct timespec ts = { (time_t)(secs > 0 ? secs : 0), secs > 0 ? 0 : 1000000 };

	return sigtimedwait(stop, NULL, &ts) > 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "grace-period", required_argument, NULL, OPT_GRACE },
		{ "deletion-grace-period", required_argument, NULL, OPT_DGRACE },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct gc_opts o = { .staged_grace_s = 3600, .marked_grace_s = 120 };
	struct qw_err err = QW_ERR_INIT;
	const char *data_dir = NULL, *index_id = NULL;
	struct metastore *ms = NULL;
	struct janitor j = { 0 };
	json_t *report = NULL;
	uint64_t v, interval = 0;
	sigset_t stop;
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
		case OPT_INTERVAL:
			if (prog_parse_u64("--interval", optarg, 1, 86400, &interval, &err) < 0) {
				err_print(prog, &err);
				usage(stderr);
				return EX_USAGE;
			}
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
	/* the janitor ends on SIGTERM/SIGINT between two passes */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (interval)
		sigprocmask(SIG_BLOCK, &stop, NULL);
	if (ids_check_index(index_id, &err) < 0)
		goto fail;
	ms = metastore_open(prog_data_dir(data_dir), &err);
	if (!ms)
		goto fail;
	j.ms = ms;
	j.index_id = index_id;
	j.gc = o;
	report = json_array();
	for (;;) {
		int64_t now = clock_wall_s(), wait = (int64_t)interval;
		int r = janitor_pass(&j, now, report, &err);
		size_t n = print_report(report);

		if (r < 0) {
			/* a janitor says what failed and tries again at the next
			 * pass, unless no pass can ever work */
			if (!interval || err.code == EX_NOINPUT || err.code == EX_DATAERR ||
			    err.code == EX_USAGE || err.code == EX_SOFTWARE)
				goto fail;
			err_print(prog, &err);
			err_clear(&err);
		}
		if (!interval)
			break;
		if (n > 0)
			fprintf(stderr, "%s: %zu entr%s this pass (retention marks and removals, "
				"above)\n", prog, n, n == 1 ? "y" : "ies");
		/* wake for the retention schedule when it comes before the next pass */
		if (j.next_retention_s > 0 && j.next_retention_s - now < wait)
			wait = j.next_retention_s - now;
		if (wait_stop(&stop, wait))
			break;
	}
	goto out;
fail:
	code = err.code ? err.code : EX_SOFTWARE;
	err_print(prog, &err);
out:
	json_decref(report);
	if (ms)
		metastore_close(ms);
	return prog_finish(prog, code);
}
