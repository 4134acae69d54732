/*
 * qw: the front end. Index and split administration on the metastore, and
 * `qw NAME ARGS...` runs qw-NAME (from the directory of this executable
 * first, then PATH), as git does.
 *
 * Subcommands and their options are declared once in the tables below;
 * usage(), the per-command --help, man/qw.1 and completions/qw follow them.
 * Output is a table (default) or JSON with stable keys (--format json).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/admin.h"
#include "base/buf.h"
#include "base/clock.h"
#include "mapping/config.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/ids.h"
#include "lifecycle/merger.h"
#include "lifecycle/delete_task.h"
#include "store/metastore.h"
#include "app/prog.h"
#include "split/split_reader.h"
#include "store/storage.h"
#include "base/xalloc.h"

static const char *prog = "qw";

/* ------------------------------------------------------------ options */

enum {
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_DATA_DIR = 256,
	OPT_FORMAT,
	OPT_INDEX_CONFIG,
	OPT_OVERWRITE,
	OPT_YES,
	OPT_INDEX,
	OPT_STATE,
	OPT_VERIFY,
	OPT_DEFAULT_ROOT,
	OPT_QUERY,
	OPT_START_TS,
	OPT_END_TS,
	OPT_STATUS_FILE,
	OPT_JSON,
	OPT_SOURCE,
};

#define A_INDEX_CONFIG (1u << 0)
#define A_OVERWRITE (1u << 1)
#define A_YES (1u << 2)
#define A_INDEX (1u << 3)
#define A_STATE (1u << 4)
#define A_VERIFY (1u << 5)
#define A_DEFAULT_ROOT (1u << 6)
#define A_QUERY (1u << 7)
#define A_TIME_RANGE (1u << 8)
#define A_STATUS_FILE (1u << 9)
#define A_JSON (1u << 10)
#define A_SOURCE (1u << 11)

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	PROG_METASTORE_URI_OPTION,
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "index-config", required_argument, NULL, OPT_INDEX_CONFIG },
	{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "index", required_argument, NULL, OPT_INDEX },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "default-index-root-uri", required_argument, NULL, OPT_DEFAULT_ROOT },
	{ "query", required_argument, NULL, OPT_QUERY },
	{ "start-timestamp", required_argument, NULL, OPT_START_TS },
	{ "end-timestamp", required_argument, NULL, OPT_END_TS },
	{ "status-file", required_argument, NULL, OPT_STATUS_FILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ NULL, 0, NULL, 0 },
};

/* Help lines of the options a subcommand may take, by flag. */
static const struct {
	unsigned flag;
	const char *help;
} opt_help[] = {
	{ A_INDEX_CONFIG, "      --index-config FILE  the index config (YAML or JSON, see qw-config(5))" },
	{ A_OVERWRITE, "      --overwrite      replace the index (and drop its splits) if it exists" },
	{ A_INDEX, "      --index ID       the index" },
	{ A_STATE, "      --state STATE    only splits in STATE: staged, published or marked\n"
		   "                       (a comma-separated list)" },
	{ A_VERIFY, "      --verify         check every checksum of the split file" },
	{ A_YES, "      --yes            confirm; nothing is deleted without it" },
	{ A_DEFAULT_ROOT, "      --default-index-root-uri URI  where an index without index_uri keeps\n"
			  "                       its splits: URI/INDEX_ID (default:\n"
			  "                       $QW_DEFAULT_INDEX_ROOT_URI, else the data dir)" },
	{ A_QUERY, "      --query Q        the documents to delete (qw-search(1)'s query language;\n"
		   "                       unfielded terms on the default search fields)" },
	{ A_TIME_RANGE, "      --start-timestamp S  only documents at or after S (unix seconds, a\n"
			"                       date or RFC 3339)\n"
			"      --end-timestamp E    only documents before E (unix seconds, a date\n"
			"                       or RFC 3339)" },
	{ A_SOURCE, "      --source ID      the pipeline's source (qw-pipeline --source), when the index\n"
		    "                       has run pipelines for several" },
	{ A_STATUS_FILE, "      --status-file PATH  the file given to qw-pipeline --status-file, instead of\n"
			 "                       the one it writes in the data dir by default" },
	{ A_JSON, "      --json           print the status file as it is (as --format json)" },
};

struct ctx;
typedef int (*cmd_fn)(struct ctx *c, struct qw_err *err);

struct subcmd {
	const char *group;     /* "index", "split", "delete-task" or NULL for top-level commands */
	const char *name;
	const char *args;      /* synopsis after "qw GROUP NAME" */
	const char *summary;
	unsigned allowed;
	int min_pos, max_pos;
	cmd_fn run;
};

struct ctx {
	const char *data_dir;
	const char *default_root;   /* --default-index-root-uri */
	bool json;
	struct metastore *ms;
	const struct subcmd *cmd;
	const char *index_config;
	bool overwrite;
	bool yes;
	const char *index;
	const char *state;
	bool verify;
	const char *query;
	const char *status_file;
	const char *source;
	bool has_start, has_end;
	int64_t start_ts, end_ts;
	char **pos;
	int npos;
	/* Usage to print on stderr after the error message. */
	enum { USAGE_NONE, USAGE_MAIN, USAGE_GROUP, USAGE_SUBCMD } show_usage;
	const char *group;
};

static int cmd_index_create(struct ctx *c, struct qw_err *err);
static int cmd_index_list(struct ctx *c, struct qw_err *err);
static int cmd_index_describe(struct ctx *c, struct qw_err *err);
static int cmd_index_delete(struct ctx *c, struct qw_err *err);
static int cmd_index_clear(struct ctx *c, struct qw_err *err);
static int cmd_split_list(struct ctx *c, struct qw_err *err);
static int cmd_split_describe(struct ctx *c, struct qw_err *err);
static int cmd_split_mark(struct ctx *c, struct qw_err *err);
static int cmd_delete_task_create(struct ctx *c, struct qw_err *err);
static int cmd_delete_task_list(struct ctx *c, struct qw_err *err);
static int cmd_pipeline_status(struct ctx *c, struct qw_err *err);

static const struct subcmd subcmds[] = {
	{ "index", "create", "--index-config FILE [--overwrite] [--default-index-root-uri URI]",
	  "Create an index from an index config file.",
	  A_INDEX_CONFIG | A_OVERWRITE | A_DEFAULT_ROOT, 0, 0, cmd_index_create },
	{ "index", "list", "", "List the indexes of the data directory.", 0, 0, 0, cmd_index_list },
	{ "index", "describe", "ID",
	  "Show an index: splits by state, documents, bytes, time range, timestamp field and\n"
	  "source checkpoints.", A_INDEX, 0, 1, cmd_index_describe },
	{ "index", "delete", "ID --yes", "Delete an index, its metadata and its split files.",
	  A_INDEX | A_YES, 0, 1, cmd_index_delete },
	{ "index", "clear", "ID --yes",
	  "Remove every split (and its file) and every checkpoint of an index; keep its config.",
	  A_INDEX | A_YES, 0, 1, cmd_index_clear },
	{ "split", "list", "--index ID [--state STATE]", "List the splits of an index.",
	  A_INDEX | A_STATE, 0, 0, cmd_split_list },
	{ "split", "describe", "FILE | --index ID SPLIT_ID [--verify]",
	  "Show the metadata, sections and fields of a split file.",
	  A_INDEX | A_VERIFY, 1, 1, cmd_split_describe },
	{ "split", "mark-for-deletion", "--index ID SPLIT_ID...",
	  "Mark splits for deletion: searches stop reading them, qw gc removes them after\n"
	  "the deletion grace period.", A_INDEX, 1, 1 << 20, cmd_split_mark },
	{ "delete-task", "create",
	  "--index ID --query Q [--start-timestamp S] [--end-timestamp E]",
	  "Create a delete task: searches hide the matching documents published before it at\n"
	  "once; qw-merge drops them from the splits.", A_INDEX | A_QUERY | A_TIME_RANGE, 0, 0,
	  cmd_delete_task_create },
	{ "delete-task", "list", "--index ID", "List the delete tasks of an index.", A_INDEX, 0, 0,
	  cmd_delete_task_list },
	{ "pipeline", "status", "--index ID [--source ID] | --status-file PATH [--json]",
	  "Show a qw-pipeline run from its status file: per stage, documents and megabytes in\n"
	  "and out, time waiting for input, blocked on output and busy; the bottleneck.",
	  A_STATUS_FILE | A_INDEX | A_SOURCE | A_JSON, 0, 0, cmd_pipeline_status },
};

#define N_SUBCMDS (sizeof(subcmds) / sizeof(subcmds[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [--data-dir DIR] [--metastore-uri URI] [--format table|json]\n"
		"          COMMAND [ARG]...\n"
		"Manage qw indexes and splits, and run the qw-* programs.\n"
		"\n"
		"Commands:\n", prog);
	for (size_t i = 0; i < N_SUBCMDS; i++)
		fprintf(out, "  %s %s%s%s\n", subcmds[i].group, subcmds[i].name,
			*subcmds[i].args ? " " : "", subcmds[i].args);
	fprintf(out,
		"  help [COMMAND]\n"
		"  NAME [ARG]...       run qw-NAME: parse, package, upload, publish, pipeline,\n"
		"                      search, gc, merge (the indexer stage is run as qw-index)\n"
		"\n"
		"Options (also accepted after the command):\n"
		"      --data-dir DIR   data directory (default: $QW_DATA_DIR, else ./qwdata)\n"
		"      --metastore-uri URI\n"
		"                       metastore (default: $QW_METASTORE_URI, else the data dir's)\n"
		"      --format FORMAT  output: table (default) or json\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Run 'qw COMMAND --help' for the options of a command.\n");
}

static void sub_usage(const struct subcmd *sub, FILE *out)
{
	fprintf(out, "Usage: %s %s %s%s%s [OPTION]...\n%s\n\nOptions:\n", prog, sub->group, sub->name,
		*sub->args ? " " : "", sub->args, sub->summary);
	for (size_t i = 0; i < sizeof(opt_help) / sizeof(opt_help[0]); i++)
		if (sub->allowed & opt_help[i].flag)
			fprintf(out, "%s\n", opt_help[i].help);
	fprintf(out,
		"      --data-dir DIR   data directory (default: $QW_DATA_DIR, else ./qwdata)\n"
		"      --metastore-uri URI\n"
		"                       metastore (default: $QW_METASTORE_URI, else the data dir's)\n"
		"      --format FORMAT  output: table (default) or json\n"
		"  -h, --help           show this help and exit\n");
}

static void group_usage(const char *group, FILE *out)
{
	fprintf(out, "Usage: %s %s COMMAND [ARG]...\n\nCommands:\n", prog, group);
	for (size_t i = 0; i < N_SUBCMDS; i++)
		if (!strcmp(subcmds[i].group, group))
			fprintf(out, "  %s %s%s%s\n", group, subcmds[i].name,
				*subcmds[i].args ? " " : "", subcmds[i].args);
	fprintf(out, "\nRun '%s %s COMMAND --help' for the options of a command.\n", prog, group);
}

static int set_format(struct ctx *c, const char *s, struct qw_err *err)
{
	if (!strcmp(s, "json"))
		c->json = true;
	else if (!strcmp(s, "table"))
		c->json = false;
	else
		return err_set(err, EX_USAGE, "invalid --format '%s' (expected table or json)", s);
	return 0;
}

/* ------------------------------------------------------------ output helpers */

struct table {
	size_t ncols;
	char **cells;          /* row-major */
	size_t n, cap;         /* cells */
};

static void table_add(struct table *t, const char *s)
{
	XGROW(t->cells, t->n + 1, t->cap);
	t->cells[t->n++] = xstrdup(s ? s : "");
}

static void table_addf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void table_addf(struct table *t, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_adds(&b, tmp);
	XGROW(t->cells, t->n + 1, t->cap);
	t->cells[t->n++] = buf_detach(&b, NULL);
}

static void table_print(struct table *t)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w));

	for (size_t i = 0; i < t->n; i++) {
		size_t l = strlen(t->cells[i]);

		if (l > w[i % t->ncols])
			w[i % t->ncols] = l;
	}
	for (size_t i = 0; i < t->n; i++) {
		size_t col = i % t->ncols;

		if (col + 1 == t->ncols)
			printf("%s\n", t->cells[i]);
		else
			printf("%-*s  ", (int)w[col], t->cells[i]);
	}
	free(w);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->cells[i]);
	free(t->cells);
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s) {
		printf("%s\n", s);
		free(s);
	}
}

static void human_size(char *out, size_t n, uint64_t bytes)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%" PRIu64 " B", bytes);
	else
		snprintf(out, n, "%.1f %s", v, units[u]);
}

static void fmt_time(char *out, size_t n, json_t *secs)
{
	struct tm tm;
	time_t t;

	if (!json_is_integer(secs)) {
		snprintf(out, n, "-");
		return;
	}
	t = (time_t)json_integer_value(secs);
	if (!gmtime_r(&t, &tm) || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%lld", (long long)json_integer_value(secs));
}

/* ------------------------------------------------------------ index summaries */

/* ------------------------------------------------------------ commands */

/*
 * The index_uri to store: the config's, else the default root's
 * (--default-index-root-uri, $QW_DEFAULT_INDEX_ROOT_URI) + "/" + index id,
 * else none (the data dir). Refused unless storage can honour it.
 */
static int resolve_index_uri(struct ctx *c, struct index_config *cfg, struct qw_err *err)
{
	const char *root = c->default_root ? c->default_root : getenv("QW_DEFAULT_INDEX_ROOT_URI");
	const char *what = "index_uri";
	struct buf b = BUF_INIT;
	char *norm = NULL;
	int ret = -1;

	if (cfg->index_uri) {
		buf_adds(&b, cfg->index_uri);
	} else if (root && *root) {
		size_t n = strlen(root);

		while (n > 0 && root[n - 1] == '/')
			n--;
		buf_add(&b, root, n);
		buf_addf(&b, "/%s", cfg->index_id);
		what = c->default_root ? "--default-index-root-uri" : "QW_DEFAULT_INDEX_ROOT_URI";
	} else {
		ret = 0;
		goto out;
	}
	if (storage_check_index_uri(buf_str(&b), &norm, err) < 0) {
		if (cfg->index_uri)
			err_prefix(err, "'%s': %s", c->index_config, what);
		else
			err_prefix(err, "%s", what);
		goto out;
	}
	free(cfg->index_uri);
	cfg->index_uri = norm;
	norm = NULL;
	ret = 0;
out:
	free(norm);
	buf_free(&b);
	return ret;
}

static int cmd_index_create(struct ctx *c, struct qw_err *err)
{
	struct index_config *cfg = NULL;
	json_t *summary = NULL, *out = NULL;
	const char *uri;
	int ret = -1;

	if (!c->index_config) {
		err_set(err, EX_USAGE, "index create: --index-config FILE is required");
		goto out;
	}
	cfg = config_load_file(c->index_config, err);
	if (!cfg)
		goto out;
	if (resolve_index_uri(c, cfg, err) < 0)
		goto out;
	if (metastore_create_index(c->ms, cfg, c->overwrite, err) < 0)
		goto out;
	/* the summary names the index's uid and its uri (the default one too) */
	summary = admin_index_summary(c->ms, cfg->index_id, err);
	if (!summary)
		goto out;
	uri = json_string_value(json_object_get(summary, "index_uri"));
	if (c->json) {
		out = json_pack("{s:s, s:O, s:s}", "index_id", cfg->index_id,
				"index_uid", json_object_get(summary, "index_uid"), "index_uri", uri);
		print_json(out);
	} else {
		printf("Index '%s' created at %s\n", cfg->index_id, uri);
	}
	ret = 0;
out:
	json_decref(out);
	json_decref(summary);
	config_free(cfg);
	return ret;
}

static int cmd_index_list(struct ctx *c, struct qw_err *err)
{
	char **ids = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	struct table t = { 7, NULL, 0, 0 };
	int ret = -1;

	if (metastore_list_indexes(c->ms, &ids, &n, err) < 0)
		goto out;
	table_add(&t, "INDEX ID");
	table_add(&t, "SPLITS");
	table_add(&t, "DOCS");
	table_add(&t, "SIZE");
	table_add(&t, "TIMESTAMP FIELD");
	table_add(&t, "TIME RANGE");
	table_add(&t, "URI");
	for (size_t i = 0; i < n; i++) {
		struct qw_err e = QW_ERR_INIT;
		json_t *s = admin_index_summary(c->ms, ids[i], &e);
		char size[32], t0[32], t1[32];

		if (!s) {
			/* Go on with the others; fail at the end. */
			err_print(prog, &e);
			if (!err->code)
				err_set(err, e.code, "cannot read every index");
			continue;
		}
		json_object_del(s, "checkpoints");
		human_size(size, sizeof(size),
			   (uint64_t)json_integer_value(json_object_get(s, "size_published_splits")));
		fmt_time(t0, sizeof(t0), json_object_get(json_object_get(s, "timestamp_range"), "start"));
		fmt_time(t1, sizeof(t1), json_object_get(json_object_get(s, "timestamp_range"), "end"));
		table_add(&t, ids[i]);
		table_addf(&t, "%lld", (long long)json_integer_value(
				   json_object_get(s, "num_published_splits")));
		table_addf(&t, "%lld", (long long)json_integer_value(
				   json_object_get(s, "num_published_docs")));
		table_add(&t, size);
		table_add(&t, json_string_value(json_object_get(s, "timestamp_field")) ?
			  json_string_value(json_object_get(s, "timestamp_field")) : "-");
		if (json_is_null(json_object_get(s, "timestamp_range")))
			table_add(&t, "-");
		else
			table_addf(&t, "%s..%s", t0, t1);
		table_add(&t, json_string_value(json_object_get(s, "index_uri")));
		json_array_append_new(arr, s);
	}
	if (c->json)
		print_json(arr);
	else if (n == 0)
		printf("No index in '%s'\n", metastore_data_dir(c->ms));
	else
		table_print(&t);
	ret = err->code ? -1 : 0;
out:
	table_free(&t);
	json_decref(arr);
	metastore_free_list(ids, n);
	return ret;
}

/* The index id: the positional argument or --index, checked. */
static const char *the_index(struct ctx *c, struct qw_err *err)
{
	const char *id = c->npos > 0 ? c->pos[0] : c->index;

	if (c->npos > 0 && c->index) {
		err_set(err, EX_USAGE, "%s %s: give the index once (ID or --index ID)", c->cmd->group,
			c->cmd->name);
		return NULL;
	}
	if (!id) {
		err_set(err, EX_USAGE, "%s %s: missing index id", c->cmd->group, c->cmd->name);
		return NULL;
	}
	if (ids_check_index(id, err) < 0)
		return NULL;
	return id;
}

static void print_kv(const char *k, const char *v)
{
	printf("%-44s %s\n", k, v);
}

static int cmd_index_describe(struct ctx *c, struct qw_err *err)
{
	const char *id = the_index(c, err);
	json_t *doc = NULL, *s = NULL, *merge = NULL;
	char tmp[96], t0[32], t1[32];
	const char *src;
	json_t *cp;
	int ret = -1;

	if (!id)
		goto out;
	s = admin_index_summary(c->ms, id, err);
	if (!s)
		goto out;
	doc = metastore_read(c->ms, id, err);
	if (!doc)
		goto out;
	merge = merger_describe(doc, clock_wall_s(), err);
	if (!merge)
		goto out;
	json_object_set(s, "merge", merge);
	if (c->json) {
		print_json(s);
		ret = 0;
		goto out;
	}
	print_kv("Index ID:", id);
	print_kv("Index UID:", json_string_value(json_object_get(s, "index_uid")));
	print_kv("Index URI:", json_string_value(json_object_get(s, "index_uri")));
	fmt_time(tmp, sizeof(tmp), json_object_get(s, "create_timestamp"));
	print_kv("Created:", tmp);
#define KV_INT(label, key) do { \
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(json_object_get(s, key))); \
		print_kv(label, tmp); \
	} while (0)
	KV_INT("Number of published splits:", "num_published_splits");
	KV_INT("Number of staged splits:", "num_staged_splits");
	KV_INT("Number of splits marked for deletion:", "num_marked_splits");
	KV_INT("Number of published documents:", "num_published_docs");
#undef KV_INT
	human_size(tmp, sizeof(tmp),
		   (uint64_t)json_integer_value(json_object_get(s, "size_published_splits")));
	print_kv("Size of published splits:", tmp);
	human_size(tmp, sizeof(tmp), (uint64_t)json_integer_value(
			   json_object_get(s, "size_published_docs_uncompressed")));
	print_kv("Size of published documents (uncompressed):", tmp);
	print_kv("Timestamp field:", json_string_value(json_object_get(s, "timestamp_field")) ?
		 json_string_value(json_object_get(s, "timestamp_field")) : "-");
	if (json_is_null(json_object_get(s, "timestamp_range"))) {
		print_kv("Timestamp range:", "-");
	} else {
		fmt_time(t0, sizeof(t0), json_object_get(json_object_get(s, "timestamp_range"), "start"));
		fmt_time(t1, sizeof(t1), json_object_get(json_object_get(s, "timestamp_range"), "end"));
		snprintf(tmp, sizeof(tmp), "%s .. %s", t0, t1);
		print_kv("Timestamp range:", tmp);
	}
	if (json_object_size(json_object_get(s, "checkpoints")) == 0)
		print_kv("Checkpoints:", "-");
	else
		printf("Checkpoints:\n");
	json_object_foreach(json_object_get(s, "checkpoints"), src, cp) {
		const char *part;
		json_t *pos;

		json_object_foreach(cp, part, pos)
			printf("  %s  %s  %lld\n", src, part, (long long)json_integer_value(pos));
	}
	print_kv("Merge policy:", json_string_value(json_object_get(merge, "policy")));
	snprintf(tmp, sizeof(tmp), "%lld mature, %lld immature",
		 (long long)json_integer_value(json_object_get(merge, "mature_splits")),
		 (long long)json_integer_value(json_object_get(merge, "immature_splits")));
	print_kv("Published splits by maturity:", tmp);
	printf("%-44s", "Published splits by merge ops:");
	json_object_foreach(json_object_get(merge, "splits_by_merge_ops"), src, cp)
		printf(" %s:%lld", src, (long long)json_integer_value(cp));
	printf("%s\n", json_object_size(json_object_get(merge, "splits_by_merge_ops")) ? "" : " -");
	{
		json_t *dt = json_object_get(merge, "delete_tasks");

		snprintf(tmp, sizeof(tmp), "%lld (last opstamp %lld), pending on %lld splits",
			 (long long)json_integer_value(json_object_get(dt, "num_delete_tasks")),
			 (long long)json_integer_value(json_object_get(dt, "last_delete_opstamp")),
			 (long long)json_integer_value(json_object_get(dt,
								       "splits_with_pending_deletes")));
		print_kv("Delete tasks:", tmp);
	}
	ret = 0;
out:
	json_decref(merge);
	json_decref(doc);
	json_decref(s);
	return ret;
}

static int cmd_index_delete_or_clear(struct ctx *c, bool clear, struct qw_err *err)
{
	const char *id = the_index(c, err);
	json_t *doc = NULL, *out = NULL;
	size_t nsplits;
	int ret = -1;

	if (!id)
		goto out;
	if (!metastore_index_exists(c->ms, id)) {
		metastore_no_index(c->ms, id, err);
		goto out;
	}
	if (!c->yes) {
		err_set(err, EX_USAGE, "refusing to %s index '%s' without confirmation: add --yes",
			clear ? "clear" : "delete", id);
		goto out;
	}
	/* The count is informative: read before; a corrupt file still lets delete go on. */
	doc = metastore_read(c->ms, id, clear ? err : NULL);
	if (!doc && clear)
		goto out;
	nsplits = json_object_size(json_object_get(doc, "splits"));
	if (clear ? metastore_clear_index(c->ms, id, err) : metastore_delete_index(c->ms, id, err))
		goto out;
	if (!clear) {
		/* this machine's pipeline status files of the index go with it */
		char *dir = prog_status_dir(metastore_data_dir(c->ms), id);
		struct qw_err e2 = QW_ERR_INIT;

		if (fsutil_rm_rf(dir, &e2) < 0)
			err_warn("qw", "%s", e2.msg);
		free(dir);
	}
	if (c->json) {
		out = json_pack("{s:s, s:b, s:I}", "index_id", id, clear ? "cleared" : "deleted", 1,
				"num_splits_removed", (json_int_t)nsplits);
		print_json(out);
	} else {
		printf("Index '%s' %s (%zu split%s removed)\n", id, clear ? "cleared" : "deleted",
		       nsplits, nsplits == 1 ? "" : "s");
	}
	ret = 0;
out:
	json_decref(out);
	json_decref(doc);
	return ret;
}

static int cmd_index_delete(struct ctx *c, struct qw_err *err)
{
	return cmd_index_delete_or_clear(c, false, err);
}

static int cmd_index_clear(struct ctx *c, struct qw_err *err)
{
	return cmd_index_delete_or_clear(c, true, err);
}

/* --state: a comma-separated list into a bit set of states. */
static int cmd_split_list(struct ctx *c, struct qw_err *err)
{
	const char *id = the_index(c, err);
	json_t *arr = NULL, *o;
	struct table t = { 6, NULL, 0, 0 };
	unsigned want = 0;
	size_t i;
	int ret = -1;

	if (!id || admin_parse_states(c->state, &want, err) < 0)
		goto out;
	arr = admin_split_list(c->ms, id, want, err);
	if (!arr)
		goto out;
	table_add(&t, "SPLIT ID");
	table_add(&t, "STATE");
	table_add(&t, "DOCS");
	table_add(&t, "SIZE");
	table_add(&t, "TIME RANGE");
	table_add(&t, "UPDATED");
	json_array_foreach(arr, i, o) {
		json_t *range = json_object_get(o, "time_range");
		const char *state = json_string_value(json_object_get(o, "split_state"));
		char sz[32], t0[32], t1[32], upd[32];

		human_size(sz, sizeof(sz), (uint64_t)json_integer_value(json_object_get(o, "size_bytes")));
		fmt_time(t0, sizeof(t0), json_object_get(range, "start"));
		fmt_time(t1, sizeof(t1), json_object_get(range, "end"));
		fmt_time(upd, sizeof(upd), json_object_get(o, "update_timestamp"));
		table_add(&t, json_string_value(json_object_get(o, "split_id")));
		table_add(&t, state ? state : "-");
		table_addf(&t, "%lld", (long long)json_integer_value(json_object_get(o, "num_docs")));
		table_add(&t, sz);
		if (json_is_object(range))
			table_addf(&t, "%s..%s", t0, t1);
		else
			table_add(&t, "-");
		table_add(&t, upd);
	}
	if (c->json)
		print_json(arr);
	else if (json_array_size(arr) == 0)
		printf("No split in index '%s'\n", id);
	else
		table_print(&t);
	ret = 0;
out:
	table_free(&t);
	json_decref(arr);
	return ret;
}

static void print_meta_value(const char *k, json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		print_kv(k, json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	print_kv(k, s ? s : "?");
	free(s);
}

static int cmd_split_describe(struct ctx *c, struct qw_err *err)
{
	const char *arg = c->pos[0];
	json_t *d = NULL;
	const char *k;
	json_t *v;
	size_t i;
	int ret = -1;

	d = admin_split_describe(c->ms, c->index, arg, c->verify, err);
	if (!d)
		goto out;
	if (c->json) {
		print_json(d);
		ret = 0;
		goto out;
	}
	print_kv("Path:", json_string_value(json_object_get(d, "path")));
	print_meta_value("File size:", json_object_get(d, "file_size"));
	if (json_object_get(d, "split_state"))
		print_meta_value("State:", json_object_get(d, "split_state"));
	if (c->verify)
		print_kv("Checksums:", "verified");
	printf("Metadata:\n");
	json_object_foreach(json_object_get(d, "metadata"), k, v) {
		struct buf b = BUF_INIT;

		buf_addf(&b, "  %s:", k);
		print_meta_value(buf_str(&b), v);
		buf_free(&b);
	}
	printf("Sections:\n");
	{
		struct table t = { 3, NULL, 0, 0 };

		table_add(&t, "  NAME");
		table_add(&t, "OFFSET");
		table_add(&t, "SIZE");
		json_array_foreach(json_object_get(d, "sections"), i, v) {
			table_addf(&t, "  %s", json_string_value(json_object_get(v, "name")));
			table_addf(&t, "%lld", (long long)json_integer_value(json_object_get(v, "offset")));
			table_addf(&t, "%lld", (long long)json_integer_value(json_object_get(v, "size")));
		}
		table_print(&t);
		table_free(&t);
	}
	if (json_array_size(json_object_get(d, "fields")) > 0) {
		struct table t = { 5, NULL, 0, 0 };

		printf("Fields:\n");
		table_add(&t, "  PATH");
		table_add(&t, "KIND");
		table_add(&t, "INDEXED");
		table_add(&t, "FAST");
		table_add(&t, "STORED");
		json_array_foreach(json_object_get(d, "fields"), i, v) {
			table_addf(&t, "  %s", json_string_value(json_object_get(v, "path")));
			table_add(&t, json_string_value(json_object_get(v, "kind")));
			table_add(&t, json_is_true(json_object_get(v, "indexed")) ? "yes" : "no");
			table_add(&t, json_is_true(json_object_get(v, "fast")) ? "yes" : "no");
			table_add(&t, json_is_true(json_object_get(v, "stored")) ? "yes" : "no");
		}
		table_print(&t);
		table_free(&t);
	}
	ret = 0;
out:
	json_decref(d);
	return ret;
}

/* ------------------------------------------------------------ dispatch */

static int cmd_split_mark(struct ctx *c, struct qw_err *err)
{
	if (!c->index)
		return err_set(err, EX_USAGE, "split mark-for-deletion: --index is required");
	if (ids_check_index(c->index, err) < 0)
		return -1;
	for (int i = 0; i < c->npos; i++)
		if (!ids_is_ulid(c->pos[i]))
			return err_set(err, EX_USAGE, "invalid split id '%.64s': not a ULID", c->pos[i]);
	if (metastore_mark_splits_for_deletion(c->ms, c->index, (const char *const *)c->pos,
					       (size_t)c->npos, err) < 0)
		return -1;
	for (int i = 0; i < c->npos; i++)
		printf("%s %s\n", c->pos[i], SPLIT_MARKED);
	return 0;
}

/* ------------------------------------------------------------ delete tasks */

static int cmd_delete_task_create(struct ctx *c, struct qw_err *err)
{
	struct delete_task_request rq = { c->query, NULL, 0, c->has_start, c->has_end,
					  c->start_ts, c->end_ts };
	json_t *task = NULL;

	if (!c->index || !c->query) {
		c->show_usage = USAGE_SUBCMD;
		return err_set(err, EX_USAGE, "delete-task create: --index and --query are required");
	}
	if (ids_check_index(c->index, err) < 0 ||
	    delete_task_create(c->ms, c->index, &rq, &task, err) < 0)
		return -1;
	print_json(task);
	json_decref(task);
	return 0;
}

static int cmd_delete_task_list(struct ctx *c, struct qw_err *err)
{
	struct table t = { 6, NULL, 0, 0 };
	json_t *tasks, *task;
	size_t i;

	if (!c->index) {
		c->show_usage = USAGE_SUBCMD;
		return err_set(err, EX_USAGE, "delete-task list: --index is required");
	}
	if (ids_check_index(c->index, err) < 0)
		return -1;
	tasks = metastore_list_delete_tasks(c->ms, c->index, err);
	if (!tasks)
		return -1;
	if (c->json) {
		print_json(tasks);
		json_decref(tasks);
		return 0;
	}
	table_add(&t, "OPSTAMP");
	table_add(&t, "CREATED");
	table_add(&t, "START");
	table_add(&t, "END");
	table_add(&t, "QUERY");
	table_add(&t, "SEARCH FIELDS");
	json_array_foreach(tasks, i, task) {
		json_t *dq = json_object_get(task, "delete_query"), *f;
		char tmp[32];
		struct buf b = BUF_INIT;
		size_t j;

		table_addf(&t, "%lld", (long long)json_integer_value(json_object_get(task, "opstamp")));
		fmt_time(tmp, sizeof(tmp), json_object_get(task, "create_timestamp"));
		table_add(&t, tmp);
		fmt_time(tmp, sizeof(tmp), json_object_get(dq, "start_timestamp"));
		table_add(&t, tmp);
		fmt_time(tmp, sizeof(tmp), json_object_get(dq, "end_timestamp"));
		table_add(&t, tmp);
		table_add(&t, json_string_value(json_object_get(dq, "query")));
		json_array_foreach(json_object_get(dq, "search_fields"), j, f)
			buf_addf(&b, "%s%s", j ? "," : "", json_string_value(f) ? json_string_value(f) : "");
		table_add(&t, b.len ? b.data : "-");
		buf_free(&b);
	}
	table_print(&t);
	table_free(&t);
	json_decref(tasks);
	return 0;
}

/* ------------------------------------------------------------ pipeline status */

/* 100 * num / den with one decimal, or "-" when den is not known. */
static void table_pct(struct table *t, double num, double den)
{
	if (den > 0)
		table_addf(t, "%.1f", 100.0 * num / den);
	else
		table_add(t, "-");
}

static int cmd_pipeline_status(struct ctx *c, struct qw_err *err)
{
	struct table t = { 9, NULL, 0, 0 };
	json_t *st = NULL, *stages, *o;
	const char *bottleneck;
	char *raw = NULL, *path = NULL;
	char when[32];
	size_t i;
	int ret = -1;

	if (c->status_file && (c->index || c->source)) {
		c->show_usage = USAGE_SUBCMD;
		err_set(err, EX_USAGE, "pipeline status: give either --index (and --source) or "
			"--status-file, not both");
		goto out;
	}
	if (!c->status_file && !c->index) {
		c->show_usage = USAGE_SUBCMD;
		err_set(err, EX_USAGE, "pipeline status: missing --index ID (or --status-file PATH)");
		goto out;
	}
	if (c->index) {
		if (ids_check_index(c->index, err) < 0 ||
		    (c->source && ids_check_source(c->source, err) < 0) ||
		    admin_find_status_file(prog_data_dir(c->data_dir), c->index, c->source, &path,
					   err) < 0)
			goto out;
	}
	st = admin_pipeline_status(path ? path : c->status_file, &raw, err);
	if (!st)
		goto out;
	if (c->json) {
		fputs(raw, stdout);
		ret = 0;
		goto out;
	}
	stages = json_object_get(st, "stages");
	bottleneck = json_string_value(json_object_get(st, "bottleneck"));
	if (json_array_size(stages) == 0) {
		printf("no stage has reported yet\n");
	} else {
		table_add(&t, "STAGE");
		table_add(&t, "DOCS IN");
		table_add(&t, "DOCS OUT");
		table_add(&t, "MB IN");
		table_add(&t, "MB OUT");
		table_add(&t, "WAIT INPUT %");
		table_add(&t, "BLOCKED OUTPUT %");
		table_add(&t, "BUSY %");
		table_add(&t, "BOTTLENECK");
	}
	json_array_foreach(stages, i, o) {
		const char *name = json_string_value(json_object_get(o, "stage"));
		json_t *el = json_object_get(o, "elapsed_us"), *busy = json_object_get(o, "busy_ratio");
		double den = json_is_integer(el) ? (double)json_integer_value(el) : 0;

		table_add(&t, name);
		table_addf(&t, "%lld", (long long)json_integer_value(json_object_get(o, "docs_in")));
		table_addf(&t, "%lld", (long long)json_integer_value(json_object_get(o, "docs_out")));
		table_addf(&t, "%.1f",
			   (double)json_integer_value(json_object_get(o, "bytes_in")) / 1e6);
		table_addf(&t, "%.1f",
			   (double)json_integer_value(json_object_get(o, "bytes_out")) / 1e6);
		table_pct(&t, (double)json_integer_value(json_object_get(o, "wait_input_us")), den);
		table_pct(&t, (double)json_integer_value(json_object_get(o, "blocked_output_us")),
			  den);
		table_pct(&t, json_number_value(busy), json_is_number(busy) ? 1 : 0);
		table_add(&t, bottleneck && !strcmp(bottleneck, name) ? "yes" : "");
	}
	table_print(&t);
	fmt_time(when, sizeof(when), json_object_get(st, "updated_at"));
	printf("\nstate %s, generation %lld, pid %lld, updated %s\n",
	       json_string_value(json_object_get(st, "state")),
	       (long long)json_integer_value(json_object_get(st, "generation")),
	       (long long)json_integer_value(json_object_get(st, "pid")), when);
	printf("published: %lld docs, %.1f MB, %lld splits; %lld invalid docs, %lld restarts\n",
	       (long long)json_integer_value(json_object_get(st, "docs")),
	       (double)json_integer_value(json_object_get(st, "bytes")) / 1e6,
	       (long long)json_integer_value(json_object_get(st, "splits_published")),
	       (long long)json_integer_value(json_object_get(st, "invalid_docs")),
	       (long long)json_integer_value(json_object_get(st, "restarts")));
	if (bottleneck)
		printf("bottleneck: %s (the busiest stage)\n", bottleneck);
	ret = 0;
out:
	table_free(&t);
	free(path);
	free(raw);
	json_decref(st);
	return ret;
}

static const struct subcmd *find_subcmd(const char *group, const char *name)
{
	for (size_t i = 0; i < N_SUBCMDS; i++)
		if (!strcmp(subcmds[i].group, group) && !strcmp(subcmds[i].name, name))
			return &subcmds[i];
	return NULL;
}

static bool is_group(const char *s)
{
	return !strcmp(s, "index") || !strcmp(s, "split") || !strcmp(s, "delete-task");
}

/* Parse a subcommand's arguments (argv[0] is its name) and run it. *help: --help given. */
static int run_subcmd(struct ctx *c, const struct subcmd *sub, int argc, char **argv,
		      struct qw_err *err)
{
	int opt;

	c->cmd = sub;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		unsigned need = 0;

		switch (opt) {
		case OPT_HELP:
			sub_usage(sub, stdout);
			return 0;
		case OPT_DATA_DIR:
			c->data_dir = optarg;
			continue;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return err_set(err, EX_OSERR, "cannot set QW_METASTORE_URI");
			continue;
		case OPT_FORMAT:
			if (set_format(c, optarg, err) < 0)
				return -1;
			continue;
		case OPT_INDEX_CONFIG:
			need = A_INDEX_CONFIG;
			c->index_config = optarg;
			break;
		case OPT_OVERWRITE:
			need = A_OVERWRITE;
			c->overwrite = true;
			break;
		case OPT_DEFAULT_ROOT:
			need = A_DEFAULT_ROOT;
			c->default_root = optarg;
			break;
		case OPT_YES:
			need = A_YES;
			c->yes = true;
			break;
		case OPT_INDEX:
			need = A_INDEX;
			c->index = optarg;
			break;
		case OPT_STATE:
			need = A_STATE;
			c->state = optarg;
			break;
		case OPT_VERIFY:
			need = A_VERIFY;
			c->verify = true;
			break;
		case OPT_QUERY:
			need = A_QUERY;
			c->query = optarg;
			break;
		case OPT_STATUS_FILE:
			need = A_STATUS_FILE;
			c->status_file = optarg;
			break;
		case OPT_JSON:
			need = A_JSON;
			c->json = true;
			break;
		case OPT_SOURCE:
			need = A_SOURCE;
			c->source = optarg;
			break;
		case OPT_START_TS:
		case OPT_END_TS:
			need = A_TIME_RANGE;
			if (prog_parse_timestamp(opt == OPT_START_TS ? "--start-timestamp"
								     : "--end-timestamp", optarg,
						 opt == OPT_START_TS ? &c->start_ts : &c->end_ts,
						 err) < 0) {
				c->show_usage = USAGE_SUBCMD;
				return -1;
			}
			*(opt == OPT_START_TS ? &c->has_start : &c->has_end) = true;
			break;
		case ':':
			c->show_usage = USAGE_SUBCMD;
			return err_set(err, EX_USAGE, "%s %s: option '%s' needs a value", sub->group,
				       sub->name, argv[optind - 1]);
		default:
			c->show_usage = USAGE_SUBCMD;
			return err_set(err, EX_USAGE, "%s %s: unknown option '%s'", sub->group, sub->name,
				       argv[optind - 1]);
		}
		if (!(sub->allowed & need)) {
			c->show_usage = USAGE_SUBCMD;
			return err_set(err, EX_USAGE, "%s %s: unknown option '%s'", sub->group, sub->name,
				       argv[optind - 1]);
		}
	}
	c->pos = argv + optind;
	c->npos = argc - optind;
	if (c->npos < sub->min_pos || c->npos > sub->max_pos) {
		c->show_usage = USAGE_SUBCMD;
		return err_set(err, EX_USAGE, "%s %s: %s", sub->group, sub->name,
			       c->npos < sub->min_pos ? "missing argument" : "too many arguments");
	}
	/* pipeline status reads a file, not the metastore */
	if (strcmp(sub->group, "pipeline") != 0) {
		c->ms = metastore_open(c->data_dir, err);
		if (!c->ms)
			return -1;
	}
	return sub->run(c, err);
}

/* Exec qw-NAME: from the directory of this executable first, then PATH. */
static int run_external(struct ctx *c, int argc, char **argv, struct qw_err *err)
{
	const char *name = argv[0];
	struct buf cmd = BUF_INIT;
	char self[PATH_MAX];
	ssize_t n;

	(void)argc;
	for (const char *p = name; *p; p++)
		if (!(((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')))
			return err_set(err, EX_USAGE, "'%.64s' is not a qw command (see 'qw --help')",
				       name);
	if (!*name)
		return err_set(err, EX_USAGE, "'' is not a qw command (see 'qw --help')");
	if (c->data_dir && setenv("QW_DATA_DIR", c->data_dir, 1) < 0)
		return err_errno(err, EX_OSERR, "cannot set QW_DATA_DIR");
	buf_addf(&cmd, "qw-%s", name);
	argv[0] = cmd.data;
	if (fflush(stdout) != 0)
		return err_errno(err, EX_IOERR, "cannot write to standard output");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			struct buf full = BUF_INIT;

			*slash = '\0';
			buf_addf(&full, "%s/%s", self, cmd.data);
			if (access(full.data, X_OK) == 0)
				execv(full.data, argv);
			buf_free(&full);
		}
	}
	execvp(cmd.data, argv);
	if (errno == ENOENT)
		err_set(err, EX_USAGE, "'%s' is not a qw command (see 'qw --help')", name);
	else
		err_errno(err, EX_OSERR, "cannot run '%s'", cmd.data);
	argv[0] = (char *)name;
	buf_free(&cmd);
	return -1;
}

static int run_help(struct ctx *c, int argc, char **argv, struct qw_err *err)
{
	const struct subcmd *sub;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (is_group(argv[1])) {
		if (argc < 3) {
			group_usage(argv[1], stdout);
			return 0;
		}
		sub = find_subcmd(argv[1], argv[2]);
		if (!sub)
			return err_set(err, EX_USAGE, "'%s %.64s' is not a qw command", argv[1], argv[2]);
		sub_usage(sub, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "pipeline") && argc >= 3 && !strcmp(argv[2], "status")) {
		sub_usage(find_subcmd("pipeline", "status"), stdout);
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	{
		char *args[3] = { argv[1], (char *)"--help", NULL };

		return run_external(c, 2, args, err);
	}
}

static int dispatch(struct ctx *c, int argc, char **argv, struct qw_err *err)
{
	const char *cmd = argv[0];
	const struct subcmd *sub;

	if (!strcmp(cmd, "help"))
		return run_help(c, argc, argv, err);
	/* "pipeline status" is ours; any other "pipeline ..." runs qw-pipeline */
	if (!strcmp(cmd, "pipeline") && argc >= 2 && !strcmp(argv[1], "status")) {
		c->group = cmd;
		return run_subcmd(c, find_subcmd(cmd, "status"), argc - 1, argv + 1, err);
	}
	if (!is_group(cmd))
		return run_external(c, argc, argv, err);
	c->group = cmd;
	if (argc < 2) {
		c->show_usage = USAGE_GROUP;
		return err_set(err, EX_USAGE, "%s: missing command", cmd);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		group_usage(cmd, stdout);
		return 0;
	}
	sub = find_subcmd(cmd, argv[1]);
	if (!sub) {
		c->show_usage = USAGE_GROUP;
		return err_set(err, EX_USAGE, "'%s %.64s' is not a qw command", cmd, argv[1]);
	}
	return run_subcmd(c, sub, argc - 1, argv + 1, err);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		PROG_METASTORE_URI_OPTION,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT;
	struct ctx c;
	int code = 0;
	int opt;

	memset(&c, 0, sizeof(c));
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			goto out;
		case 'V':
			prog_version(prog);
			goto out;
		case OPT_DATA_DIR:
			c.data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0) {
				err_set(&err, EX_OSERR, "cannot set QW_METASTORE_URI");
				goto out;
			}
			break;
		case OPT_FORMAT:
			if (set_format(&c, optarg, &err) < 0)
				goto out;
			break;
		case ':':
			c.show_usage = USAGE_MAIN;
			err_set(&err, EX_USAGE, "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			c.show_usage = USAGE_MAIN;
			err_set(&err, EX_USAGE, "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		c.show_usage = USAGE_MAIN;
		err_set(&err, EX_USAGE, "missing command");
		goto out;
	}
	dispatch(&c, argc - optind, argv + optind, &err);
out:
	metastore_close(c.ms);
	code = err.code;
	if (code)
		err_print(prog, &err);
	if (c.show_usage == USAGE_MAIN)
		usage(stderr);
	else if (c.show_usage == USAGE_GROUP)
		group_usage(c.group, stderr);
	else if (c.show_usage == USAGE_SUBCMD)
		sub_usage(c.cmd, stderr);
	return prog_finish(prog, code);
}
