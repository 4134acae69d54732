#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/ids.h"
#include "mapping/datetime.h"
#include "store/metastore.h"
#include "app/prog.h"

void prog_version(const char *prog)
{
	printf("%s (qw) %s\n", prog, PACKAGE_VERSION);
}

int prog_finish(const char *prog, int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write to standard output: %s\n", prog, strerror(errno));
		return code ? code : EX_IOERR;
	}
	return code;
}

int prog_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out,
		   struct qw_err *err)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-')
		return err_set(err, EX_USAGE, "invalid value for %s: '%s'", opt, s ? s : "");
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return err_set(err, EX_USAGE, "invalid value for %s: '%s' (expected %" PRIu64
			       " to %" PRIu64 ")", opt, s, min, max);
	*out = v;
	return 0;
}

int prog_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out,
		   struct qw_err *err)
{
	char *end;
	long long v;

	errno = 0;
	if (!s || !*s)
		return err_set(err, EX_USAGE, "invalid value for %s: ''", opt);
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return err_set(err, EX_USAGE, "invalid value for %s: '%s' (expected %" PRId64
			       " to %" PRId64 ")", opt, s, min, max);
	*out = v;
	return 0;
}

const char *prog_data_dir(const char *opt)
{
	return metastore_resolve_data_dir(opt);
}

int prog_metastore_uri(const char *prog, const char *uri)
{
	if (setenv("QW_METASTORE_URI", uri, 1) < 0) {
		err_warn(prog, "cannot set QW_METASTORE_URI: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int prog_getopt_tail(const char *prog, int opt, void (*usage)(FILE *out))
{
	switch (opt) {
	case 'h':
		usage(stdout);
		return prog_finish(prog, 0);
	case 'V':
		prog_version(prog);
		return prog_finish(prog, 0);
	default:
		usage(stderr);
		return EX_USAGE;
	}
}

int prog_parse_timestamp(const char *opt, const char *s, int64_t *out, struct qw_err *err)
{
	struct qw_err e = QW_ERR_INIT;
	int64_t us;

	if (datetime_parse("rfc3339", s, strlen(s), &us) ||
	    datetime_parse("iso8601", s, strlen(s), &us)) {
		*out = datetime_us_to_s(us);
		return 0;
	}
	if (prog_parse_i64(opt, s, INT64_MIN / 1000000, INT64_MAX / 1000000, out, &e) == 0)
		return 0;
	return err_set(err, EX_USAGE, "%s '%s': expected unix seconds, a date (2026-03-27) or an "
		       "RFC 3339 datetime (2026-03-27T13:00:00Z)", opt, s);
}

char *prog_status_dir(const char *data_dir, const char *index_id)
{
	return fsutil_joinf(data_dir, "pipelines/%s", index_id);
}

char *prog_status_file(const char *data_dir, const char *index_id, const char *source_id)
{
	return fsutil_joinf(data_dir, "pipelines/%s/%s" PROG_STATUS_SUFFIX, index_id, source_id);
}

json_t *prog_index_meta(const char *data_dir_opt, const char *index_id, const char *snapshot,
			struct qw_err *err)
{
	struct metastore *ms = NULL;
	json_t *doc = NULL;

	if (ids_check_index(index_id, err) < 0)
		goto out;
	if (snapshot) {
		doc = metastore_load_snapshot(snapshot, index_id, err);
		goto out;
	}
	ms = metastore_open(prog_data_dir(data_dir_opt), err);
	if (ms)
		doc = metastore_read(ms, index_id, err);
out:
	metastore_close(ms);
	return doc;
}
