/*
 * qw-merge: merge the small splits of an index as its merge policy says
 * (Quickwit's merge pipeline), once (cron) or for as long as it runs.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "lifecycle/merger.h"
#include "store/metastore.h"
#include "app/prog.h"

static const char *prog = "qw-merge";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --index ID [--data-dir DIR] [--once] [--interval SECS]\n"
		"                [--scratch-dir DIR] [--dry-run] [--verbose]\n"
		"Merge the published splits of an index as its merge policy says; print one\n"
		"line per merge: the new split id, its number of documents and its sources.\n"
		"\n"
		"Options:\n"
		"  -i, --index ID        the index (required)\n"
		"  -d, --data-dir DIR    data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI\n"
		"                        metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"  -1, --once            merge until the policy has nothing to merge, then exit\n"
		"      --interval SECS   without --once, seconds between two plans (default 10)\n"
		"      --scratch-dir DIR where merged splits are built (default: a new locked\n"
		"                        dir under DIR/scratch, removed at exit)\n"
		"  -n, --dry-run         print the planned merges, merge nothing\n"
		"  -v, --verbose         one line per merge and a summary on stderr\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n",
		prog);
}

enum { OPT_INTERVAL = 256, OPT_SCRATCH };

static void print_report(json_t *report)
{
	size_t i, k;
	json_t *m, *s;

	json_array_foreach(report, i, m) {
		const char *id = json_string_value(json_object_get(m, "split_id"));

		printf("%s %lld ", id ? id : "-",
		       (long long)json_integer_value(json_object_get(m, "num_docs")));
		json_array_foreach(json_object_get(m, "merged_from"), k, s)
			printf("%s%s", k ? "," : "", json_string_value(s));
		printf("\n");
	}
	fflush(stdout);
	json_array_clear(report);
}

/* Wait up to secs for SIGTERM/SIGINT (blocked by the caller): 1 when one came. */
static int wait_stop(const sigset_t *stop, uint64_t secs)
{
	struct timespec ts = { (time_t)secs, 0 };

	for (;;) {
		int sig = sigtimedwait(stop, NULL, &ts);

		if (sig > 0)
			return 1;
		if (errno == EAGAIN)
			return 0;
		/* EINTR: another signal; waiting less is harmless */
		return 0;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "once", no_argument, NULL, '1' },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "scratch-dir", required_argument, NULL, OPT_SCRATCH },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct merger_opts o = { .prog = prog };
	struct merger_stats st = { 0 };
	struct qw_err err = QW_ERR_INIT;
	const char *data_dir = NULL;
	struct metastore *ms = NULL;
	json_t *report = json_array();
	char *scratch = NULL;
	uint64_t interval = 10;
	bool once = false;
	sigset_t stop;
	int lock_fd = -1;
	int code = 0;
	int c;

	while ((c = getopt_long(argc, argv, "i:d:1nvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.index_id = optarg;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case '1':
			once = true;
			break;
		case OPT_INTERVAL:
			if (prog_parse_u64("--interval", optarg, 1, 86400, &interval, &err) < 0) {
				err_print(prog, &err);
				usage(stderr);
				json_decref(report);
				return EX_USAGE;
			}
			break;
		case OPT_SCRATCH:
			o.scratch_dir = optarg;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		default: /* -h, -V or a usage error */
			json_decref(report);
			return prog_getopt_tail(prog, c, usage);
		}
	}
	if (!o.index_id || optind < argc) {
		if (o.index_id)
			err_warn(prog, "unexpected argument '%s'", argv[optind]);
		else
			err_warn(prog, "--index is required");
		usage(stderr);
		json_decref(report);
		return EX_USAGE;
	}
	/* SIGTERM and SIGINT end the long-running mode between two merges; a
	 * merge is never cut in half by them (SIGKILL loses nothing either) */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if (ids_check_index(o.index_id, &err) < 0)
		goto fail;
	ms = metastore_open(prog_data_dir(data_dir), &err);
	if (!ms)
		goto fail;
	if (!metastore_index_exists(ms, o.index_id)) {
		metastore_no_index(ms, o.index_id, &err);
		goto fail;
	}
	o.ms = ms;
	if (!o.scratch_dir) {
		lock_fd = merger_scratch_open(ms, &scratch, &err);
		if (lock_fd < 0)
			goto fail;
		o.scratch_dir = scratch;
	}
	for (;;) {
		int r = merger_run_until_done(&o, &st, report, &err);

		print_report(report);
		if (r < 0) {
			/* long-running: a failed plan or merge is said and tried
			 * again at the next interval (the restart of a merge
			 * pipeline), unless it can never work: bad data, an index
			 * gone */
			if (once || err.code == EX_DATAERR || err.code == EX_NOINPUT ||
			    err.code == EX_USAGE || err.code == EX_SOFTWARE)
				goto fail;
			err_print(prog, &err);
			err_clear(&err);
		}
		if (once || wait_stop(&stop, interval))
			break;
	}
	goto out;
fail:
	code = err.code ? err.code : EX_SOFTWARE;
	err_print(prog, &err);
out:
	if (o.verbose)
		fprintf(stderr, "%s: %llu merges, %llu delete rewrites, %llu splits in, %llu "
			"documents, %llu deleted, %llu bytes read, %llu refused\n", prog,
			(unsigned long long)st.merges, (unsigned long long)st.delete_rewrites,
			(unsigned long long)st.splits_in, (unsigned long long)st.docs,
			(unsigned long long)st.docs_deleted, (unsigned long long)st.bytes_in,
			(unsigned long long)st.refused);
	if (scratch)
		fsutil_rm_rf(scratch, NULL);
	if (lock_fd >= 0)
		close(lock_fd); /* after the removal: gc never races it */
	free(scratch);
	json_decref(report);
	if (ms)
		metastore_close(ms);
	return prog_finish(prog, code);
}
