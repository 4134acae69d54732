/*
 * config_test: the index config reader. Expected values come from the
 * config files themselves (Quickwit's tutorial configs, copied unchanged
 * into tests/data/configs/) and from Quickwit's documented defaults.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "mapping/config.h"
#include "tap.h"

static char datadir[4096];

static const char *data(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	return path;
}

static struct index_config *from_yaml(const char *yaml, struct qw_err *e)
{
	json_t *root = config_yaml_to_json(yaml, strlen(yaml), "test.yaml", e);
	struct index_config *cfg;

	if (!root)
		return NULL;
	cfg = config_from_json(root, e);
	json_decref(root);
	return cfg;
}

/* The config must be rejected with EX_DATAERR and a message containing want. */
static void rejects(const char *yaml, const char *want, const char *what)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = from_yaml(yaml, &e);

	if (!ok(cfg == NULL && e.code == EX_DATAERR && strstr(e.msg, want) != NULL,
		"rejects %s", what))
		tap_diag("code %d, message: %s (wanted: %s)", e.code, e.msg, want);
	config_free(cfg);
}

static void accepts(const char *yaml, const char *what)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = from_yaml(yaml, &e);

	if (!ok(cfg != NULL, "accepts %s", what))
		tap_diag("message: %s", e.msg);
	config_free(cfg);
}

/* A minimal valid config with the given doc_mapping body and extra sections. */
static char *cfg_text(const char *doc_mapping, const char *extra)
{
	static char text[8192];

	snprintf(text, sizeof(text), "version: 0.8\nindex_id: test-index\ndoc_mapping:\n%s\n%s\n",
		 doc_mapping, extra ? extra : "");
	return text;
}

#define FIELDS_BASIC \
	"  mode: lenient\n" \
	"  field_mappings:\n" \
	"    - name: ts\n" \
	"      type: datetime\n" \
	"      fast: true\n" \
	"    - name: level\n" \
	"      type: text\n" \
	"      tokenizer: raw\n" \
	"    - name: msg\n" \
	"      type: text\n" \
	"    - name: n\n" \
	"      type: f64\n" \
	"    - name: tags\n" \
	"      type: array<text>\n" \
	"      tokenizer: raw\n" \
	"    - name: hidden\n" \
	"      type: text\n" \
	"      indexed: false\n" \
	"    - name: attrs\n" \
	"      type: json\n" \
	"    - name: when\n" \
	"      type: array<datetime>\n" \
	"      fast: true\n" \
	"    - name: slow_ts\n" \
	"      type: datetime\n" \
	"    - name: count\n" \
	"      type: i64\n" \
	"    - name: obj\n" \
	"      type: object\n" \
	"      field_mappings:\n" \
	"        - name: inner\n" \
	"          type: u64\n"

static bool strv_is(char **v, size_t n, const char *a, const char *b)
{
	if (b)
		return n == 2 && !strcmp(v[0], a) && !strcmp(v[1], b);
	return n == 1 && !strcmp(v[0], a);
}

static void test_round_trip(const struct index_config *cfg, const char *name)
{
	struct qw_err e = QW_ERR_INIT;
	json_t *j1 = config_to_json(cfg), *j2 = NULL;
	struct index_config *back = config_from_json(j1, &e);

	if (!ok(back != NULL, "%s: config_to_json output is accepted back", name)) {
		tap_diag("%s", e.msg);
		json_decref(j1);
		return;
	}
	j2 = config_to_json(back);
	ok(json_equal(j1, j2), "%s: round trip gives the same config", name);
	ok(back->n_leaves == cfg->n_leaves && back->heap_size == cfg->heap_size &&
	   back->retention_period_s == cfg->retention_period_s &&
	   back->merge_policy.maturation_period_s == cfg->merge_policy.maturation_period_s,
	   "%s: round trip keeps leaves, heap size, retention and maturation", name);
	json_decref(j1);
	json_decref(j2);
	config_free(back);
}

static void test_hdfs_logs(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = config_load_file(data("hdfs-logs.yaml"), &e);
	const struct field_mapping *f;

	if (!ok(cfg != NULL, "hdfs-logs tutorial config loads")) {
		tap_diag("%s", e.msg);
		return;
	}
	ok(!strcmp(cfg->version, "0.7") && !strcmp(cfg->index_id, "hdfs-logs") && !cfg->index_uri,
	   "hdfs-logs: version 0.7, index id, no index uri");
	ok(cfg->n_fields == 5 && cfg->n_leaves == 5, "hdfs-logs: 5 field mappings, 5 leaves");
	f = config_find_field(cfg, "timestamp");
	ok(f && f->type == FT_DATETIME && f->opts.fast && !f->is_array && f->opts.stored && f->opts.indexed,
	   "hdfs-logs: timestamp is a fast datetime");
	ok(f && strv_is(f->input_formats, f->n_input_formats, "unix_timestamp", NULL) &&
	   !strcmp(f->output_format, "unix_timestamp_secs") && f->fast_precision == DT_SECONDS,
	   "hdfs-logs: timestamp formats and precision");
	f = config_find_field(cfg, "tenant_id");
	ok(f && f->type == FT_U64 && !f->opts.fast && f->coerce && !f->output_format_string,
	   "hdfs-logs: tenant_id is u64 with defaults");
	f = config_find_field(cfg, "severity_text");
	ok(f && f->type == FT_TEXT && f->opts.tokenizer.kind == TOK_RAW && f->opts.record == RECORD_BASIC &&
	   !f->opts.fieldnorms && !f->opts.fast, "hdfs-logs: severity_text is raw text");
	f = config_find_field(cfg, "body");
	ok(f && f->opts.tokenizer.kind == TOK_DEFAULT && f->opts.record == RECORD_POSITION,
	   "hdfs-logs: body records positions");
	f = config_find_field(cfg, "resource");
	ok(f && f->type == FT_JSON && f->opts.tokenizer.kind == TOK_RAW && f->expand_dots && !f->opts.fast,
	   "hdfs-logs: resource is a raw json field");
	f = config_find_field(cfg, "resource");
	ok(cfg->timestamp_field && !strcmp(cfg->timestamp_field, "timestamp"),
	   "hdfs-logs: timestamp_field");
	ok(strv_is(cfg->tag_fields, cfg->n_tag_fields, "tenant_id", NULL), "hdfs-logs: tag_fields");
	ok(strv_is(cfg->default_search_fields, cfg->n_default_search_fields, "severity_text", "body"),
	   "hdfs-logs: default_search_fields");
	/* Quickwit's defaults */
	ok(cfg->mode == MODE_DYNAMIC, "default mode is dynamic");
	ok(cfg->dynamic.opts.stored && cfg->dynamic.opts.indexed && cfg->dynamic.opts.fast &&
	   cfg->dynamic.opts.tokenizer.kind == TOK_RAW && cfg->dynamic.opts.record == RECORD_BASIC &&
	   cfg->dynamic.expand_dots && cfg->dynamic.opts.fast_normalizer == FAST_NORM_RAW,
	   "default dynamic mapping: stored, indexed, fast, raw, basic, expand_dots");
	ok(cfg->commit_timeout_secs == 60, "default commit_timeout_secs is 60");
	ok(cfg->split_num_docs_target == 10000000, "default split_num_docs_target is 10000000");
	ok(cfg->heap_size == 2000000000ULL, "default heap_size is 2GB");
	ok(cfg->docstore_compression_level == 8 && cfg->docstore_blocksize == 1000000,
	   "default docstore level 8, blocksize 1000000");
	ok(cfg->merge_policy.type == MERGE_STABLE_LOG && cfg->merge_policy.merge_factor == 10 &&
	   cfg->merge_policy.max_merge_factor == 12 &&
	   cfg->merge_policy.min_level_num_docs == 100000 &&
	   cfg->merge_policy.maturation_period_s == 48 * 3600,
	   "default merge policy is stable_log 10/12, 100000 docs, 48h");
	ok(cfg->max_num_partitions == 200 && !cfg->partition_key, "default max_num_partitions 200");
	ok(!cfg->store_source && !cfg->index_field_presence && !cfg->store_document_size &&
	   !cfg->doc_mapping_uid, "default store_source/index_field_presence/store_document_size false");
	ok(cfg->retention_period_s == 0 && !cfg->retention_schedule, "no retention by default");
	test_round_trip(cfg, "hdfs-logs");
	config_free(cfg);
}

static void test_hdfs_variants(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = config_load_file(data("hdfs-logs-partitioned.yaml"), &e);

	if (ok(cfg != NULL, "hdfs-logs partitioned tutorial config loads")) {
		ok(cfg->partition_key && !strcmp(cfg->partition_key, "tenant_id") &&
		   cfg->max_num_partitions == 1000, "partitioned: partition_key and max_num_partitions");
		ok(cfg->commit_timeout_secs == 30 && cfg->split_num_docs_target == 10000000,
		   "partitioned: indexing settings");
		ok(cfg->merge_policy.type == MERGE_LIMIT_MERGE && cfg->merge_policy.merge_factor == 10 &&
		   cfg->merge_policy.max_merge_ops == 3 &&
		   cfg->merge_policy.maturation_period_s == 48 * 3600,
		   "partitioned: limit_merge policy 10, 3 ops, 48 hours");
		ok(cfg->heap_size == 2000000000ULL, "partitioned: heap size keeps its default");
		test_round_trip(cfg, "partitioned");
		config_free(cfg);
	} else {
		tap_diag("%s", e.msg);
	}
	cfg = config_load_file(data("hdfs-logs-retention.yaml"), &e);
	if (ok(cfg != NULL, "hdfs-logs retention tutorial config loads")) {
		ok(cfg->retention_period_s == 90 * 86400 && cfg->retention_schedule &&
		   !strcmp(cfg->retention_schedule, "daily"), "retention: 90 days, daily");
		ok(cfg->commit_timeout_secs == 10, "retention: commit_timeout_secs 10");
		test_round_trip(cfg, "retention");
		config_free(cfg);
	} else {
		tap_diag("%s", e.msg);
	}
}

static void test_docs_example(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = config_load_file(data("docs-example.yaml"), &e);
	const struct field_mapping *f;
	const char *sub = NULL;

	if (!ok(cfg != NULL, "the index-config documentation example loads")) {
		tap_diag("%s", e.msg);
		return;
	}
	ok(!strcmp(cfg->index_id, "hdfs") && cfg->index_uri &&
	   !strcmp(cfg->index_uri, "s3://my-bucket/hdfs"), "docs: index id and uri");
	ok(cfg->mode == MODE_LENIENT, "docs: lenient mode");
	ok(cfg->n_fields == 4 && cfg->n_leaves == 4, "docs: 4 top-level mappings, 4 leaves");
	f = config_find_field(cfg, "resource.service");
	ok(f && f->type == FT_TEXT && !strcmp(f->name, "service") && f->opts.tokenizer.kind == TOK_RAW,
	   "docs: nested resource.service leaf with its full path");
	ok(config_find_field(cfg, "resource") == NULL, "docs: an object is not a leaf");
	ok(cfg->leaves[3] == f, "docs: leaves are depth-first in config order");
	f = config_find_field(cfg, "severity_text");
	ok(f && f->opts.fast && f->opts.fast_normalizer == FAST_NORM_LOWERCASE,
	   "docs: severity_text fast with the lowercase normalizer");
	ok(strv_is(cfg->tag_fields, cfg->n_tag_fields, "resource.service", NULL),
	   "docs: tag field inside an object");
	ok(cfg->index_field_presence, "docs: index_field_presence");
	ok(cfg->retention_period_s == 90 * 86400, "docs: retention 90 days");
	f = config_resolve_field(cfg, "resource.service", &sub);
	ok(f && sub && *sub == '\0', "resolve: an exact leaf has an empty subpath");
	ok(config_resolve_field(cfg, "resource.other", &sub) == NULL,
	   "resolve: an unmapped path under an object resolves to nothing");
	test_round_trip(cfg, "docs");
	config_free(cfg);
}

static void test_other_tutorials(void)
{
	static const char *const files[] = { "gh-archive.yaml", "otel-logs-v0.5.yaml",
		"minimal.json", "stackoverflow.yaml", "fluentbit-logs.yaml", "otel-traces.yaml", NULL };

	for (int i = 0; files[i]; i++) {
		struct qw_err e = QW_ERR_INIT;
		struct index_config *cfg = config_load_file(data(files[i]), &e);

		if (!ok(cfg != NULL, "%s loads", files[i])) {
			tap_diag("%s", e.msg);
			continue;
		}
		test_round_trip(cfg, files[i]);
		if (i == 0) {
			const struct field_mapping *f;
			const char *sub = NULL;

			f = config_resolve_field(cfg, "payload.commits.message", &sub);
			ok(f && !strcmp(f->path, "payload") && sub && !strcmp(sub, "commits.message"),
			   "gh-archive: a path under a json field resolves to it with the subpath");
			ok(!strcmp(cfg->timestamp_field, "created_at") &&
			   config_find_field(cfg, "created_at")->fast_precision == DT_SECONDS,
			   "gh-archive: created_at with the old 'precision' key");
		}
		if (i == 2)
			ok(!strcmp(cfg->index_id, "minimal-json") && cfg->n_fields == 2 &&
			   cfg->mode == MODE_STRICT, "minimal.json: a JSON config file");
		if (i == 3) {
			const struct field_mapping *f = config_find_field(cfg, "tags");

			ok(f && f->is_array && f->type == FT_TEXT && f->opts.fast && f->opts.tokenizer.kind == TOK_RAW &&
			   cfg->n_leaves == 9, "stackoverflow: fast array<text> tags, 9 fields");
		}
		if (i == 4)
			ok(cfg->mode == MODE_DYNAMIC && cfg->dynamic.opts.fast && cfg->n_fields == 1,
			   "fluentbit: dynamic mode with the default dynamic mapping");
		if (i == 5) {
			const struct field_mapping *f = config_find_field(cfg, "events");
			const struct field_mapping *g = config_find_field(cfg, "span_status");
			const struct field_mapping *b = config_find_field(cfg, "trace_id");

			ok(cfg->n_leaves == 20 && f && f->type == FT_JSON && f->is_array &&
			   g && !g->opts.indexed && b && b->type == FT_BYTES && !b->bytes_input_hex &&
			   cfg->n_default_search_fields == 0 && cfg->max_num_partitions == 100 &&
			   !strcmp(cfg->partition_key, "service_name"),
			   "otel-traces: bytes, array<json>, non-indexed json, partitions");
		}
		config_free(cfg);
	}
}

static void test_files(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = config_load_file(data("no-such-file.yaml"), &e);

	ok(cfg == NULL && e.code == EX_NOINPUT, "a missing file is EX_NOINPUT");
	err_clear(&e);
	cfg = config_load_file(data("bad-syntax.yaml"), &e);
	if (!ok(cfg == NULL && e.code == EX_DATAERR && strstr(e.msg, "line 8, column 16") &&
		strstr(e.msg, "bad-syntax.yaml"), "bad YAML: the message has the file, line and column"))
		tap_diag("%s", e.msg);
	if (!ok(cfg == NULL && strstr(e.msg, "flow sequence started at line 7, column 15"),
		"bad YAML: the message says where the unclosed construct started"))
		tap_diag("%s", e.msg);
	err_clear(&e);
	cfg = config_load_file(data("bad-syntax.json"), &e);
	if (!ok(cfg == NULL && e.code == EX_DATAERR && strstr(e.msg, "line 4") &&
		strstr(e.msg, "column"), "bad JSON: the message has line and column"))
		tap_diag("%s", e.msg);
	err_clear(&e);
	cfg = config_load_file(data("bad-tokenizer.yaml"), &e);
	if (!ok(cfg == NULL && e.code == EX_DATAERR &&
		strstr(e.msg, "bad-tokenizer.yaml: doc_mapping.field_mappings[3].tokenizer: unknown tokenizer \"foo\""),
		"a bad value in a file names the file and the key path"))
		tap_diag("%s", e.msg);
}

static void test_stdin(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg;
	int saved = dup(0), fd = open(data("minimal.json"), O_RDONLY);

	if (!ok(saved >= 0 && fd >= 0 && dup2(fd, 0) == 0, "stdin redirected to minimal.json"))
		return;
	close(fd);
	cfg = config_load_file("-", &e);
	ok(cfg && !strcmp(cfg->index_id, "minimal-json"), "the path \"-\" reads the config from stdin");
	config_free(cfg);
	dup2(saved, 0);
	close(saved);
}

static void test_yaml(void)
{
	struct qw_err e = QW_ERR_INIT;
	const char *y = "a: 1\nb: 1.5\nc: true\nd: null\ne: '1'\nf: ~\ng: 0x1F\nh: yes\ni: -7\n"
			"j: \"true\"\nk: 1e3\nl:\nm: [1, two, 3.0]\nn: {x: 0o17}\no: 0.7\np: False\n"
			"q: !!str 12\nr: .inf\n";
	json_t *j = config_yaml_to_json(y, strlen(y), "t", &e);

	if (!ok(j != NULL, "YAML scalars parse")) {
		tap_diag("%s", e.msg);
		return;
	}
	ok(json_integer_value(json_object_get(j, "a")) == 1 && json_is_integer(json_object_get(j, "a")),
	   "1 is an integer");
	ok(json_is_real(json_object_get(j, "b")) && json_real_value(json_object_get(j, "b")) == 1.5,
	   "1.5 is a float");
	ok(json_is_true(json_object_get(j, "c")) && json_is_false(json_object_get(j, "p")),
	   "true and False are booleans");
	ok(json_is_null(json_object_get(j, "d")) && json_is_null(json_object_get(j, "f")) &&
	   json_is_null(json_object_get(j, "l")), "null, ~ and empty are null");
	ok(json_is_string(json_object_get(j, "e")) && json_is_string(json_object_get(j, "j")),
	   "quoted scalars stay strings");
	ok(json_integer_value(json_object_get(j, "g")) == 31, "0x1F is 31");
	ok(json_is_string(json_object_get(j, "h")), "yes is a string (YAML 1.2)");
	ok(json_integer_value(json_object_get(j, "i")) == -7, "-7 is an integer");
	ok(json_is_real(json_object_get(j, "k")) && json_real_value(json_object_get(j, "k")) == 1000,
	   "1e3 is a float");
	ok(json_array_size(json_object_get(j, "m")) == 3 &&
	   json_is_string(json_array_get(json_object_get(j, "m"), 1)), "flow sequences");
	ok(json_integer_value(json_object_get(json_object_get(j, "n"), "x")) == 15,
	   "flow mappings and 0o17");
	ok(json_is_real(json_object_get(j, "o")), "0.7 is a float (the version is converted later)");
	ok(json_is_string(json_object_get(j, "q")) &&
	   !strcmp(json_string_value(json_object_get(j, "q")), "12"), "!!str keeps a string");
	ok(json_is_string(json_object_get(j, "r")), ".inf is kept as a string (not JSON)");
	json_decref(j);

	j = config_yaml_to_json("a: &x 1\nb: *x\n", 14, "t", &e);
	ok(!j && e.code == EX_DATAERR && strstr(e.msg, "anchors"), "anchors are rejected");
	json_decref(j);
	j = config_yaml_to_json("a: 1\na: 2\n", 10, "t", &e);
	ok(!j && strstr(e.msg, "line 2, column 1") && strstr(e.msg, "duplicate key \"a\""),
	   "duplicate keys are rejected with their position");
	json_decref(j);
	j = config_yaml_to_json("a: 1\n---\nb: 2\n", 14, "t", &e);
	ok(!j && strstr(e.msg, "one YAML document"), "several documents are rejected");
	json_decref(j);
	j = config_yaml_to_json("a: [1, 2\nb: 3\n", 14, "t", &e);
	ok(!j && strstr(e.msg, "t: line ") && strstr(e.msg, "column"),
	   "unclosed flow sequence: line and column");
	json_decref(j);
	j = config_yaml_to_json("a:\n  - b\n c: 1\n", 15, "t", &e);
	ok(!j && e.code == EX_DATAERR && strstr(e.msg, "line 3"), "bad indentation: line 3");
	json_decref(j);
	j = config_yaml_to_json("", 0, "t", &e);
	ok(j && json_is_null(j), "an empty document is null");
	json_decref(j);
	e.code = 0;
	j = config_yaml_to_json("1: a\ntrue: b\n", 13, "t", &e);
	ok(j && json_is_string(json_object_get(j, "1")) && json_object_get(j, "true"),
	   "plain scalar keys keep their text");
	json_decref(j);
	rejects("", "expected a mapping at the top level", "an empty config");
	rejects("- a\n- b\n", "expected a mapping at the top level", "a sequence config");
}

static void test_sizes_durations(void)
{
	static const struct { const char *s; uint64_t v; } sizes[] = {
		{ "500MB", 500000000ULL }, { "2GB", 2000000000ULL }, { "1GiB", 1073741824ULL },
		{ "1000", 1000 }, { "1.5GiB", 1610612736ULL }, { "100mb", 100000000ULL },
		{ "10 KB", 10000 }, { "4KiB", 4096 }, { "3 b", 3 }, { "1TB", 1000000000000ULL },
		{ "2k", 2000 }, { "0", 0 },
	};
	static const char *const bad_sizes[] = { "", "MB", "-1", "1XB", "1 2", "1..5MB",
		"99999999999999999999PB", " ", NULL };
	static const struct { const char *s; int64_t v; } durs[] = {
		{ "90 days", 7776000 }, { "48h", 172800 }, { "1 hour", 3600 }, { "30 secs", 30 },
		{ "1h 30m", 5400 }, { "2 weeks", 1209600 }, { "48 hours", 172800 }, { "10s", 10 },
		{ "1 day", 86400 }, { "5min", 300 }, { "1year", 31557600 },
	};
	static const char *const bad_durs[] = { "", "90", "ten days", "5 parsecs", "1 hour ago",
		"-5s", "1.5h", NULL };
	struct qw_err e = QW_ERR_INIT;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t v = 1;

		ok(config_parse_size(sizes[i].s, &v, &e) == 0 && v == sizes[i].v, "size \"%s\" = %llu",
		   sizes[i].s, (unsigned long long)sizes[i].v);
	}
	for (int i = 0; bad_sizes[i]; i++) {
		uint64_t v;

		err_clear(&e);
		ok(config_parse_size(bad_sizes[i], &v, &e) < 0 && e.code == EX_DATAERR &&
		   strstr(e.msg, "invalid size"), "bad size \"%s\" is rejected", bad_sizes[i]);
	}
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		int64_t v = -1;

		ok(config_parse_duration(durs[i].s, &v, &e) == 0 && v == durs[i].v,
		   "duration \"%s\" = %lld s", durs[i].s, (long long)durs[i].v);
	}
	for (int i = 0; bad_durs[i]; i++) {
		int64_t v;

		err_clear(&e);
		ok(config_parse_duration(bad_durs[i], &v, &e) < 0 && e.code == EX_DATAERR &&
		   strstr(e.msg, "invalid duration"), "bad duration \"%s\" is rejected", bad_durs[i]);
	}
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  resources:\n    heap_size: 2XB\n"),
		"indexing_settings.resources.heap_size: invalid size \"2XB\"", "a bad heap size");
	rejects(cfg_text(FIELDS_BASIC, "retention:\n  period: 90 dayz\n"),
		"retention.period: invalid duration \"90 dayz\"", "a bad retention period");
	rejects(cfg_text(FIELDS_BASIC,
			 "indexing_settings:\n  merge_policy:\n    type: stable_log\n    maturation_period: soon\n"),
		"indexing_settings.merge_policy.maturation_period: invalid duration",
		"a bad maturation period");
	{
		struct index_config *cfg = from_yaml(cfg_text(FIELDS_BASIC "  timestamp_field: ts\n",
			"indexing_settings:\n  resources:\n    heap_size: 1GiB\n"
			"retention:\n  period: 1 week\n  schedule: \"0 0 * * * *\"\n"), &e);

		ok(cfg && cfg->heap_size == 1073741824ULL && cfg->retention_period_s == 604800 &&
		   !strcmp(cfg->retention_schedule, "0 0 * * * *"),
		   "heap_size 1GiB, a one-week retention with a cron schedule");
		if (cfg)
			test_round_trip(cfg, "1GiB heap, cron retention");
		config_free(cfg);
		cfg = from_yaml(cfg_text(FIELDS_BASIC "  timestamp_field: ts\n",
					 "retention:\n  period: 30 days\n"), &e);
		ok(cfg && !strcmp(cfg->retention_schedule, "hourly"), "retention schedule defaults to hourly");
		config_free(cfg);
	}
	rejects(cfg_text(FIELDS_BASIC, "retention:\n  period: 30 days\n"),
		"retention: a retention policy needs a timestamp field", "a retention without timestamp field");
	rejects(cfg_text(FIELDS_BASIC, "retention:\n  schedule: daily\n"),
		"retention.period: missing", "a retention without period");
	accepts(cfg_text(FIELDS_BASIC "  timestamp_field: ts\n",
			 "retention:\n  period: 1 day\n  evaluation_schedule_jitter: 5m\n"),
		"a retention evaluation_schedule_jitter");
	rejects(cfg_text(FIELDS_BASIC "  timestamp_field: ts\n",
			 "retention:\n  period: 1 day\n  evaluation_schedule_jitter: soon\n"),
		"retention.evaluation_schedule_jitter: invalid duration", "a bad evaluation_schedule_jitter");
	rejects(cfg_text(FIELDS_BASIC, "retention:\n  period: 1 day\n  schedule: \"0 * * * *\"\n"),
		"retention.schedule: invalid schedule", "a 5-field cron schedule (Quickwit's cron wants seconds)");
	accepts(cfg_text(FIELDS_BASIC "  timestamp_field: ts\n", "retention:\n  period: 1 day\n  schedule: \"@weekly\"\n"),
		"the @weekly schedule");
	rejects(cfg_text(FIELDS_BASIC, "retention:\n  period: 1 day\n  schedule: sometimes\n"),
		"retention.schedule: invalid schedule", "a bad retention schedule");
}

static void test_ids_and_top(void)
{
	char y[1024], longid[301];

	rejects("version: 0.8\nindex_id: ../x\ndoc_mapping: {}\n", "index_id: invalid index id",
		"index id ../x");
	rejects("version: 0.8\nindex_id: ''\ndoc_mapping: {}\n", "index_id: invalid index id",
		"an empty index id");
	memset(longid, 'a', 300);
	longid[300] = '\0';
	snprintf(y, sizeof(y), "version: 0.8\nindex_id: %s\ndoc_mapping: {}\n", longid);
	rejects(y, "index_id: invalid index id", "a 300-character index id");
	rejects("version: 0.8\ndoc_mapping: {}\n", "index_id: missing", "a missing index id");
	rejects("version: 0.8\nindex_id: 12\ndoc_mapping: {}\n", "index_id: expected a string",
		"a numeric index id");
	rejects("index_id: abc\ndoc_mapping: {}\n", "version: missing", "a missing version");
	rejects("version: 0.1\nindex_id: abc\ndoc_mapping: {}\n", "version: unsupported",
		"an unsupported version");
	accepts("version: \"0.8\"\nindex_id: abc\ndoc_mapping: {}\n", "a version given as a string");
	rejects("version: 0.8\nindex_id: abc\n", "doc_mapping: missing", "a missing doc_mapping");
	rejects("version: 0.8\nindex_id: abc\ndoc_mapping: {}\nsources: []\n",
		"sources: unknown key", "an unknown top-level key");
	rejects("version: 0.8\nindex_id: abc\nindex_uri: ftp://x/y\ndoc_mapping: {}\n",
		"index_uri: unsupported URI scheme", "an ftp index uri");
	accepts("version: 0.8\nindex_id: abc\nindex_uri: file:///tmp/x\ndoc_mapping: {}\n",
		"a file:// index uri");
	rejects("version: 0.8\nindex_id: abc\ndoc_mapping: []\n", "doc_mapping: expected a mapping",
		"a doc_mapping that is a sequence");
}

static void test_fields(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg = from_yaml(cfg_text(FIELDS_BASIC, NULL), &e);
	const struct field_mapping *f;

	if (ok(cfg != NULL, "the basic test mapping loads")) {
		ok(cfg->n_fields == 11 && cfg->n_leaves == 11, "11 mappings, 11 leaves (object counted by its child)");
		f = config_find_field(cfg, "obj.inner");
		ok(f && f->type == FT_U64 && !strcmp(f->path, "obj.inner"), "obj.inner is a u64 leaf");
		f = config_find_field(cfg, "attrs");
		ok(f && f->type == FT_JSON && f->opts.tokenizer.kind == TOK_RAW && f->opts.record == RECORD_BASIC &&
		   f->opts.indexed && f->opts.stored && !f->opts.fast && f->expand_dots,
		   "a json field defaults to the raw tokenizer (as Quickwit)");
		f = config_find_field(cfg, "msg");
		ok(f && f->opts.tokenizer.kind == TOK_DEFAULT && !f->opts.fast && f->opts.stored && f->opts.indexed,
		   "a text field defaults to the default tokenizer");
		f = config_find_field(cfg, "tags");
		ok(f && f->is_array && f->type == FT_TEXT, "array<text> is an array of text");
		f = config_find_field(cfg, "ts");
		ok(f && strv_is(f->input_formats, f->n_input_formats, "rfc3339", "unix_timestamp") &&
		   !strcmp(f->output_format, "rfc3339"), "datetime input formats default");
		test_round_trip(cfg, "basic mapping");
	} else {
		tap_diag("%s", e.msg);
	}
	config_free(cfg);

	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n    - name: b\n      type: text\n"
			 "    - name: c\n      type: text\n    - name: d\n      type: text\n      tokenizer: foo\n", NULL),
		"doc_mapping.field_mappings[3].tokenizer: unknown tokenizer \"foo\"", "an unknown tokenizer");
	accepts(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      tokenizer: source_code_default\n      record: position\n", NULL),
		"the source_code_default tokenizer");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      tokenizer: source_code_with_hex\n", NULL),
		"unsupported tokenizer \"source_code_with_hex\"", "an unsupported tokenizer");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: i64\n      tokenizer: raw\n", NULL),
		"doc_mapping.field_mappings[0].tokenizer: unknown key", "a tokenizer on an i64 field");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      stored: yes\n", NULL),
		"doc_mapping.field_mappings[0].stored: expected a boolean, got a string",
		"stored: yes (a string in YAML 1.2)");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      record: all\n", NULL),
		"doc_mapping.field_mappings[0].record: invalid value \"all\"", "a bad record option");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      colour: red\n", NULL),
		"doc_mapping.field_mappings[0].colour: unknown key", "an unknown field key");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: string\n", NULL),
		"doc_mapping.field_mappings[0].type: unknown field type \"string\"", "an unknown type");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: array<foo>\n", NULL),
		"unknown field type \"array<foo>\"", "an unknown array type");
	rejects(cfg_text("  field_mappings:\n    - name: a\n", NULL),
		"doc_mapping.field_mappings[0].type: missing", "a missing type");
	rejects(cfg_text("  field_mappings:\n    - type: text\n", NULL),
		"doc_mapping.field_mappings[0].name: missing", "a missing name");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n    - name: a\n      type: i64\n", NULL),
		"doc_mapping.field_mappings[1].name: duplicate field name \"a\"", "duplicate names");
	rejects(cfg_text("  field_mappings:\n    - name: a.b\n      type: text\n    - name: a\n      type: object\n"
			 "      field_mappings:\n        - name: b\n          type: text\n", NULL),
		"duplicate field path \"a.b\"", "two mappings with the same path");
	rejects(cfg_text("  field_mappings:\n    - name: 1abc\n      type: text\n", NULL),
		"field name \"1abc\" must start with", "a name starting with a digit");
	rejects(cfg_text("  field_mappings:\n    - name: a b\n      type: text\n", NULL),
		"contains illegal characters", "a name with a space");
	rejects(cfg_text("  field_mappings:\n    - name: .a\n      type: text\n", NULL),
		"must not start with a dot", "a name starting with a dot");
	rejects(cfg_text("  field_mappings:\n    - name: ''\n      type: text\n", NULL),
		"field name is empty", "an empty name");
	rejects(cfg_text("  field_mappings:\n    - name: _source\n      type: text\n", NULL),
		"is reserved", "the reserved name _source");
	accepts(cfg_text("  field_mappings:\n    - name: '@timestamp'\n      type: datetime\n"
			 "    - name: $meta/x-y_z.w\n      type: text\n", NULL),
		"names with @, $, /, -, _ and .");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      indexed: false\n"
			 "      tokenizer: raw\n", NULL),
		"only allowed when indexed is true", "a tokenizer on a non-indexed text field");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: object\n", NULL),
		"needs field_mappings", "an object without field_mappings");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: object\n      field_mappings: []\n", NULL),
		"doc_mapping.field_mappings[0].field_mappings: an object field needs at least one field mapping",
		"an object with empty field_mappings");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: array<bytes>\n      fast: true\n", NULL),
		"fast is not allowed on array<bytes>", "a fast array<bytes>");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: json\n      fieldnorms: true\n", NULL),
		"doc_mapping.field_mappings[0].fieldnorms: unknown key", "fieldnorms on a json field");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      indexed: false\n"
			 "      fieldnorms: true\n", NULL),
		"only allowed when indexed is true", "fieldnorms on a non-indexed text field");
	accepts(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      indexed: false\n"
			 "      fieldnorms: false\n", NULL),
		"fieldnorms: false on a non-indexed text field");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: object\n      field_mappings:\n"
			 "        - name: b\n          type: text\n          tokenizer: nope\n", NULL),
		"doc_mapping.field_mappings[0].field_mappings[0].tokenizer: unknown tokenizer \"nope\"",
		"a bad nested mapping names the nested path");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: array<object>\n", NULL),
		"array<object> is not supported", "array<object>");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: datetime\n      input_formats: [rfc9999]\n", NULL),
		"doc_mapping.field_mappings[0].input_formats[0]: unknown date format \"rfc9999\"",
		"an unknown input format");
	accepts(cfg_text("  field_mappings:\n    - name: a\n      type: datetime\n"
			 "      input_formats: [\"%Y-%m-%d %H:%M:%S\", iso8601, rfc2822]\n"
			 "      output_format: unix_timestamp_millis\n      fast_precision: milliseconds\n", NULL),
		"strptime, iso8601 and rfc2822 input formats");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: datetime\n      fast_precision: hours\n", NULL),
		"fast_precision: invalid value \"hours\"", "a bad fast precision");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: u64\n      output_format: hex\n", NULL),
		"output_format: invalid value \"hex\"", "a bad numeric output format");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      fast:\n        normalizer: upper\n", NULL),
		"doc_mapping.field_mappings[0].fast.normalizer: invalid value \"upper\"", "a bad normalizer");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: i64\n      fast: {normalizer: raw}\n", NULL),
		"fast: expected a boolean", "a normalizer on an i64");
	rejects(cfg_text("  field_mappings: {a: 1}\n", NULL),
		"doc_mapping.field_mappings: expected a sequence", "field_mappings as a mapping");
	rejects(cfg_text("  field_mappings:\n    - name: o\n      type: object\n      field_mappings:\n"
			 "        - name: a\n          type: concatenate\n", NULL),
		"doc_mapping.field_mappings[0].field_mappings[0].type: a concatenate field must be a top-level field mapping",
		"a concatenate field in an object");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: concatenate\n      fast: true\n", NULL),
		"doc_mapping.field_mappings[0].fast: unknown key", "a fast concatenate field");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: concatenate\n      concatenate_fields: [b]\n"
			 "    - name: b\n      type: concatenate\n", NULL),
		"concatenate_fields[0]: \"b\" is a concatenate field", "a concatenate field of a concatenate field");
	rejects(cfg_text("  field_mappings:\n    - name: a\n      type: text\n      tokenizer: raw\n"
			 "    - name: all\n      type: concatenate\n      concatenate_fields: [a]\n      tokenizer: raw\n"
			 "  tag_fields: [all]\n", NULL),
		"doc_mapping.tag_fields[0]: tag field \"all\": tags are not allowed on concatenate fields",
		"a concatenate tag field");
	{
		struct index_config *c = from_yaml(cfg_text(
			"  field_mappings:\n    - name: a\n      type: text\n"
			"    - name: all\n      type: concatenate\n      concatenate_fields: [a]\n"
			"      tokenizer: raw\n      include_dynamic_fields: true\n", NULL), &e);

		if (ok(c && c->n_fields == 1 && c->n_concats == 1 && c->n_leaves == 1,
		       "a concatenate field is kept apart from the fields and leaves")) {
			const struct field_mapping *m = config_find_field(c, "all");

			ok(m && m->is_concat && m->type == FT_TEXT && m->opts.tokenizer.kind == TOK_RAW &&
			   m->concat_dynamic && m->n_concat_of == 1 && m->concat_of[0] == c->leaves[0],
			   "a concatenate field is found by name with its resolved fields");
			test_round_trip(c, "concatenate");
		} else {
			tap_diag("%s", e.msg);
		}
		config_free(c);
	}
	{
		struct index_config *c = from_yaml(cfg_text(
			"  field_mappings:\n    - name: b\n      type: bytes\n      input_format: hex\n"
			"    - name: ip\n      type: ip\n      fast: true\n"
			"    - name: j\n      type: json\n      expand_dots: true\n      fast: {normalizer: lowercase}\n"
			"    - name: n\n      type: i64\n      coerce: false\n      output_format: string\n"
			"    - name: t\n      type: text\n      indexed: false\n      stored: false\n", NULL), &e);

		if (ok(c != NULL, "bytes, ip, json, numeric and non-indexed text options load")) {
			ok(c->fields[0].bytes_input_hex && !c->fields[0].bytes_output_hex, "bytes input hex");
			ok(c->fields[1].type == FT_IP && c->fields[1].opts.fast, "ip fast");
			ok(c->fields[2].expand_dots && c->fields[2].opts.fast &&
			   c->fields[2].opts.fast_normalizer == FAST_NORM_LOWERCASE, "json expand_dots, fast lowercase");
			ok(!c->fields[3].coerce && c->fields[3].output_format_string, "i64 coerce, output_format");
			ok(!c->fields[4].opts.indexed && !c->fields[4].opts.stored, "text not indexed, not stored");
			test_round_trip(c, "options");
		} else {
			tap_diag("%s", e.msg);
		}
		config_free(c);
	}
}

/* {"name":"o","type":"object","field_mappings":[ ... depth times ... ]} */
static void test_deep_objects(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct buf b = BUF_INIT;
	int depth = 40;
	json_t *root;
	struct index_config *cfg;

	buf_adds(&b, "{\"version\":\"0.8\",\"index_id\":\"deep\",\"doc_mapping\":{\"field_mappings\":[");
	for (int i = 0; i < depth; i++)
		buf_adds(&b, "{\"name\":\"o\",\"type\":\"object\",\"field_mappings\":[");
	buf_adds(&b, "{\"name\":\"x\",\"type\":\"i64\"}");
	for (int i = 0; i < depth; i++)
		buf_adds(&b, "]}");
	buf_adds(&b, "]}}");
	root = json_loadb(buf_str(&b), b.len, 0, NULL);
	cfg = config_from_json(root, &e);
	ok(root && !cfg && strstr(e.msg, "objects nested more than 32 deep"),
	   "objects nested 40 deep are refused, not a deep recursion");
	config_free(cfg);
	json_decref(root);
	buf_free(&b);
}

static void test_doc_mapping_rules(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg;

	/* timestamp_field */
	accepts(cfg_text(FIELDS_BASIC "  timestamp_field: ts\n", NULL), "a fast datetime timestamp field");
	rejects(cfg_text(FIELDS_BASIC "  timestamp_field: nope\n", NULL),
		"doc_mapping.timestamp_field: unknown timestamp field \"nope\"", "an unknown timestamp field");
	rejects(cfg_text(FIELDS_BASIC "  timestamp_field: count\n", NULL),
		"must be of type datetime, not i64", "an i64 timestamp field");
	rejects(cfg_text(FIELDS_BASIC "  timestamp_field: slow_ts\n", NULL),
		"must be a fast field", "a timestamp field that is not fast");
	rejects(cfg_text(FIELDS_BASIC "  timestamp_field: when\n", NULL),
		"must be single-valued", "an array<datetime> timestamp field");
	rejects(cfg_text(FIELDS_BASIC "  timestamp_field: obj\n", NULL),
		"unknown timestamp field \"obj\"", "an object timestamp field");
	/* tag_fields */
	accepts(cfg_text(FIELDS_BASIC "  tag_fields: [level, count, obj.inner, tags]\n", NULL),
		"tags on raw text, i64, u64 and array<text raw>");
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: [nope]\n", NULL),
		"doc_mapping.tag_fields[0]: unknown tag field \"nope\"", "an unknown tag field");
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: [level, msg]\n", NULL),
		"doc_mapping.tag_fields[1]: tag field \"msg\": tags are only allowed on text fields with the raw tokenizer",
		"a tag on default-tokenized text");
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: [n]\n", NULL),
		"tags are not allowed on f64 fields", "a tag on f64");
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: [ts]\n", NULL),
		"tags are not allowed on datetime fields", "a tag on datetime");
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: [attrs]\n", NULL),
		"tags are not allowed on json fields", "a tag on json");
	rejects(cfg_text("  field_mappings:\n    - name: b\n      type: bool\n  tag_fields: [b]\n", NULL),
		"tags are not allowed on bool fields", "a tag on bool");
	rejects(cfg_text("  field_mappings:\n    - name: c\n      type: u64\n      indexed: false\n"
			 "  tag_fields: [c]\n", NULL),
		"tag field \"c\" must be indexed", "a tag on a non-indexed u64");
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: [level.]\n", NULL),
		"must not start or end with a dot", "a tag field ending with a dot");
	cfg = from_yaml(cfg_text(FIELDS_BASIC "  tag_fields: [level, count, level]\n", NULL), &e);
	ok(cfg && strv_is(cfg->tag_fields, cfg->n_tag_fields, "level", "count"),
	   "a repeated tag field is kept once (Quickwit keeps a set)");
	config_free(cfg);
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: [attrs]\n", NULL),
		"tags are not allowed on json fields", "a tag on json");
	rejects(cfg_text(FIELDS_BASIC "  tag_fields: level\n", NULL),
		"doc_mapping.tag_fields: expected a sequence of strings", "tag_fields as a string");
	/* default_search_fields */
	accepts(cfg_text(FIELDS_BASIC, "search_settings:\n  default_search_fields: [msg, level, attrs.color, obj.inner]\n"),
		"default search fields: text, json subpath, nested leaf");
	rejects(cfg_text(FIELDS_BASIC, "search_settings:\n  default_search_fields: [msg, nope]\n"),
		"search_settings.default_search_fields[1]: unknown default search field `nope`",
		"an unknown default search field in lenient mode");
	rejects(cfg_text(FIELDS_BASIC, "search_settings:\n  default_search_fields: [msg, level, msg]\n"),
		"search_settings.default_search_fields[2]: duplicate default search field \"msg\"",
		"a repeated default search field");
	rejects(cfg_text(FIELDS_BASIC, "search_settings:\n  default_search_fields: [hidden]\n"),
		"default search field `hidden` is not indexed", "a non-indexed default search field");
	accepts(cfg_text("  mode: dynamic\n", "search_settings:\n  default_search_fields: [anything.goes]\n"),
		"an unmapped default search field in dynamic mode");
	rejects(cfg_text("  mode: dynamic\n  dynamic_mapping:\n    indexed: false\n",
			 "search_settings:\n  default_search_fields: [x]\n"),
		"default search field `x` is not indexed", "an unmapped default search field when dynamic is not indexed");
	rejects(cfg_text(FIELDS_BASIC, "search_settings:\n  default_fields: [msg]\n"),
		"search_settings.default_fields: unknown key", "an unknown search_settings key");
	/* mode and dynamic mapping */
	rejects(cfg_text("  mode: loose\n", NULL), "doc_mapping.mode: invalid value \"loose\"", "a bad mode");
	rejects(cfg_text("  mode: strict\n  dynamic_mapping:\n    stored: false\n", NULL),
		"doc_mapping.dynamic_mapping: dynamic_mapping is only allowed with mode: dynamic",
		"dynamic_mapping in strict mode");
	rejects(cfg_text("  dynamic_mapping:\n    tokenizer: foo\n", NULL),
		"doc_mapping.dynamic_mapping.tokenizer: unknown tokenizer \"foo\"", "a bad dynamic tokenizer");
	cfg = from_yaml(cfg_text("  dynamic_mapping:\n    tokenizer: default\n    fast: false\n"
				 "    record: position\n    expand_dots: true\n    stored: false\n", NULL), &e);
	ok(cfg && cfg->dynamic.opts.tokenizer.kind == TOK_DEFAULT && !cfg->dynamic.opts.fast &&
	   cfg->dynamic.opts.indexed &&
	   cfg->dynamic.opts.record == RECORD_POSITION && cfg->dynamic.expand_dots && !cfg->dynamic.opts.stored,
	   "dynamic_mapping options are read");
	if (cfg)
		test_round_trip(cfg, "dynamic mapping");
	config_free(cfg);
	cfg = from_yaml(cfg_text("  dynamic_mapping:\n    stored: false\n", NULL), &e);
	ok(cfg && !cfg->dynamic.opts.fast && cfg->dynamic.opts.tokenizer.kind == TOK_RAW && cfg->dynamic.opts.indexed,
	   "a given dynamic_mapping has fast false unless it says so (Quickwit's json defaults)");
	config_free(cfg);
	/* other doc_mapping keys */
	rejects(cfg_text("  sort_by: ts\n", NULL), "doc_mapping.sort_by: unknown key", "an unknown doc_mapping key");
	rejects(cfg_text("  max_num_partitions: 0\n", NULL), "doc_mapping.max_num_partitions: 0 is out of range",
		"zero max_num_partitions");
	rejects(cfg_text("  store_source: 1\n", NULL), "doc_mapping.store_source: expected a boolean, got an integer",
		"store_source: 1");
	rejects(cfg_text("  doc_mapping_uid: abc\n", NULL), "invalid doc mapping uid", "a bad doc_mapping_uid");
	cfg = from_yaml(cfg_text("  doc_mapping_uid: 01HAV29D4XY3D462FS3D8K5Q2H\n  store_source: true\n"
				 "  store_document_size: true\n  partition_key: hash_mod(tenant, 10)\n", NULL), &e);
	ok(cfg && cfg->doc_mapping_uid && cfg->store_source && cfg->store_document_size &&
	   !strcmp(cfg->partition_key, "hash_mod(tenant, 10)"),
	   "doc_mapping_uid, store_source, store_document_size, partition_key are read");
	if (cfg)
		test_round_trip(cfg, "doc mapping keys");
	config_free(cfg);
	rejects(cfg_text("  partition_key: hash_mod(tenant,\n", NULL), "doc_mapping.partition_key: ",
		"a partition key that does not parse");
	rejects(cfg_text("  partition_key: frobnicate(tenant, 3)\n", NULL), "doc_mapping.partition_key: ",
		"a partition key with an unknown function");
	cfg = from_yaml(cfg_text("  partition_key: \"  \"\n", NULL), &e);
	ok(cfg && cfg->partition_key == NULL, "a blank partition key means no partitioning");
	config_free(cfg);
}

#define TOKENIZERS \
	"  tokenizers:\n" \
	"    - name: my_regex\n" \
	"      type: regex\n" \
	"      pattern: \"[a-z]+\"\n" \
	"      filters: [remove_long, lower_caser]\n" \
	"    - name: grams\n" \
	"      type: ngram\n" \
	"      min_gram: 2\n" \
	"      max_gram: 4\n" \
	"      prefix_only: true\n" \
	"    - name: plain\n" \
	"      type: simple\n" \
	"      filters: [ascii_folding]\n" \
	"    - name: code\n" \
	"      type: source_code\n"

/* doc_mapping.tokenizers: Quickwit's custom tokenizers, and what qw refuses in them. */
static void test_custom_tokenizers(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg, *back = NULL;
	const struct field_mapping *f;
	json_t *j;

	cfg = from_yaml(cfg_text(TOKENIZERS "  field_mappings:\n    - name: a\n      type: text\n"
				 "      tokenizer: grams\n    - name: b\n      type: text\n"
				 "      tokenizer: my_regex\n      record: position\n", NULL), &e);
	if (!ok(cfg && cfg->n_tokenizers == 4, "four custom tokenizers"))
		tap_diag("%s", e.msg);
	f = cfg ? config_find_field(cfg, "a") : NULL;
	ok(f && f->opts.tokenizer.kind == TOK_CUSTOM && f->opts.tokenizer.custom == &cfg->tokenizers[1] &&
	   f->opts.tokenizer.custom->type == CTOK_NGRAM && f->opts.tokenizer.custom->min_gram == 2 &&
	   f->opts.tokenizer.custom->max_gram == 4 && f->opts.tokenizer.custom->prefix_only,
	   "a text field's tokenizer names a custom ngram tokenizer");
	f = cfg ? config_find_field(cfg, "b") : NULL;
	ok(f && f->opts.tokenizer.kind == TOK_CUSTOM && !strcmp(f->opts.tokenizer.custom->pattern, "[a-z]+") &&
	   f->opts.tokenizer.custom->n_filters == 2 && f->opts.tokenizer.custom->filters[0] == TF_REMOVE_LONG &&
	   f->opts.tokenizer.custom->filters[1] == TF_LOWER_CASER,
	   "regex pattern and filters in order");
	ok(cfg && cfg->tokenizers[3].type == CTOK_SOURCE_CODE && cfg->tokenizers[2].type == CTOK_SIMPLE &&
	   cfg->tokenizers[2].filters[0] == TF_ASCII_FOLDING, "simple and source_code types");
	j = cfg ? config_to_json(cfg) : NULL;
	back = j ? config_from_json(j, &e) : NULL;
	f = back ? config_find_field(back, "b") : NULL;
	ok(back && back->n_tokenizers == 4 && f && f->opts.tokenizer.kind == TOK_CUSTOM &&
	   !strcmp(f->opts.tokenizer.custom->name, "my_regex") && back->tokenizers[1].prefix_only &&
	   !strcmp(config_tokenizer_ref_name(f->opts.tokenizer), "my_regex"),
	   "custom tokenizers survive config_to_json and back");
	json_decref(j);
	config_free(back);
	config_free(cfg);
	accepts(cfg_text("  tokenizers: []\n  field_mappings:\n    - name: a\n      type: text\n", NULL),
		"an empty tokenizers list");
	accepts(cfg_text(TOKENIZERS "  mode: dynamic\n  dynamic_mapping:\n    tokenizer: plain\n", NULL),
		"a custom tokenizer for the dynamic mapping");

	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: multilang\n", NULL),
		"doc_mapping.tokenizers[0].type: unsupported tokenizer type \"multilang\"", "multilang");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: whitespace\n", NULL),
		"doc_mapping.tokenizers[0].type: unknown tokenizer type \"whitespace\"", "an unknown type");
	rejects(cfg_text("  tokenizers:\n    - type: simple\n", NULL),
		"doc_mapping.tokenizers[0].name: missing", "a tokenizer without a name");
	rejects(cfg_text("  tokenizers:\n    - name: x\n", NULL),
		"doc_mapping.tokenizers[0].type: missing", "a tokenizer without a type");
	rejects(cfg_text("  tokenizers:\n    - name: raw\n      type: simple\n", NULL),
		"doc_mapping.tokenizers[0].name: \"raw\" is the name of a built-in tokenizer",
		"a custom tokenizer named as a built-in one");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n    - name: x\n      type: simple\n", NULL),
		"doc_mapping.tokenizers[1].name: duplicate tokenizer name \"x\"", "two tokenizers of one name");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n      filters: [snowball]\n", NULL),
		"doc_mapping.tokenizers[0].filters[0]: unknown filter \"snowball\"", "an unknown filter");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n      filters: [{remove_long: 10}]\n", NULL),
		"doc_mapping.tokenizers[0].filters[0]: a filter mapping needs a string type", "a filter mapping without type");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n      filters: [{type: remove_long, length_limit: 10}]\n", NULL),
		"doc_mapping.tokenizers[0].filters[0].length_limit: unknown option of the remove_long filter", "a filter option qw lacks");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n      filters: [{type: stemmer, language: klingon}]\n", NULL),
		"doc_mapping.tokenizers[0].filters[0].language: unsupported stemmer language \"klingon\"", "a stemmer language qw lacks");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n      filters: [{type: stemmer, language: 3}]\n", NULL),
		"doc_mapping.tokenizers[0].filters[0].language: expected a string, got an integer", "a stemmer language not a string");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n      pattern: a\n", NULL),
		"doc_mapping.tokenizers[0].pattern: unknown key for a simple tokenizer", "pattern on simple");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: regex\n", NULL),
		"doc_mapping.tokenizers[0].pattern: missing", "a regex without a pattern");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: regex\n      pattern: \"a(b\"\n", NULL),
		"doc_mapping.tokenizers[0].pattern: invalid regex at offset 3", "a regex that does not compile");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: ngram\n      min_gram: 3\n      max_gram: 2\n", NULL),
		"doc_mapping.tokenizers[0].max_gram: max_gram 2 is less than min_gram 3", "max_gram < min_gram");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: ngram\n      min_gram: 0\n      max_gram: 2\n", NULL),
		"doc_mapping.tokenizers[0].min_gram: 0 is out of range [1, 254]", "min_gram 0");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: ngram\n      max_gram: 2\n", NULL),
		"doc_mapping.tokenizers[0].min_gram: missing", "ngram without min_gram");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: ngram\n      min_gram: 1\n      max_gram: 2\n      prefix_only: 1\n", NULL),
		"doc_mapping.tokenizers[0].prefix_only: expected a boolean", "a non-boolean prefix_only");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: ngram\n      min_gram: 1\n      max_gram: 2\n      token_chars: [letter]\n", NULL),
		"doc_mapping.tokenizers[0].token_chars: unknown key for a ngram tokenizer", "an option Quickwit does not have");
	rejects(cfg_text("  tokenizers: {name: x}\n", NULL),
		"doc_mapping.tokenizers: expected a sequence", "tokenizers as a mapping");
	rejects(cfg_text("  tokenizers:\n    - name: x\n      type: simple\n  field_mappings:\n    - name: a\n      type: text\n      tokenizer: y\n", NULL),
		"doc_mapping.field_mappings[0].tokenizer: unknown tokenizer \"y\"", "a tokenizer name that is not defined");
}

static void test_indexing_settings(void)
{
	struct qw_err e = QW_ERR_INIT;
	struct index_config *cfg;

	cfg = from_yaml(cfg_text(FIELDS_BASIC,
		"indexing_settings:\n  commit_timeout_secs: 5\n  split_num_docs_target: 1000\n"
		"  docstore_compression_level: 3\n  docstore_blocksize: 500000\n"
		"  merge_policy:\n    type: stable_log\n    min_level_num_docs: 10\n    merge_factor: 3\n"
		"    max_merge_factor: 5\n    maturation_period: 1h\n"
		"  resources:\n    heap_size: 500MB\n"), &e);
	if (ok(cfg != NULL, "indexing settings load")) {
		ok(cfg->commit_timeout_secs == 5 && cfg->split_num_docs_target == 1000 &&
		   cfg->docstore_compression_level == 3 && cfg->docstore_blocksize == 500000,
		   "commit timeout, split target, docstore settings");
		ok(cfg->merge_policy.min_level_num_docs == 10 && cfg->merge_policy.merge_factor == 3 &&
		   cfg->merge_policy.max_merge_factor == 5 && cfg->merge_policy.maturation_period_s == 3600,
		   "stable_log settings");
		ok(cfg->heap_size == 500000000ULL, "heap_size 500MB");
		test_round_trip(cfg, "indexing settings");
	} else {
		tap_diag("%s", e.msg);
	}
	config_free(cfg);
	cfg = from_yaml(cfg_text(FIELDS_BASIC, "indexing_settings:\n  merge_policy:\n    type: no_merge\n"), &e);
	ok(cfg && cfg->merge_policy.type == MERGE_NO_MERGE, "no_merge policy");
	if (cfg)
		test_round_trip(cfg, "no_merge");
	config_free(cfg);
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  merge_policy:\n    type: no_merge\n    merge_factor: 3\n"),
		"indexing_settings.merge_policy.merge_factor: unknown key", "merge_factor on no_merge");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  merge_policy:\n    type: limit_merge\n    min_level_num_docs: 3\n"),
		"indexing_settings.merge_policy.min_level_num_docs: unknown key", "min_level_num_docs on limit_merge");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  merge_policy:\n    type: tiered\n"),
		"indexing_settings.merge_policy.type: invalid value \"tiered\"", "an unknown merge policy");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  merge_policy:\n    merge_factor: 3\n"),
		"indexing_settings.merge_policy.type: missing", "a merge policy without type");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  merge_policy:\n    type: stable_log\n    merge_factor: 20\n"),
		"must be greater than or equal to merge_factor", "max_merge_factor below merge_factor");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  commit_timeout_secs: ten\n"),
		"indexing_settings.commit_timeout_secs: expected an integer, got a string", "a string commit timeout");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  commit_timeout_secs: 1.5\n"),
		"indexing_settings.commit_timeout_secs: expected an integer, got a float", "a float commit timeout");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  split_num_docs_target: 0\n"),
		"indexing_settings.split_num_docs_target: 0 is out of range", "a zero split target");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  docstore_compression_level: 99\n"),
		"docstore_compression_level: 99 is out of range", "compression level 99");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  resources:\n    cpu: 2\n"),
		"indexing_settings.resources.cpu: unknown key", "an unknown resources key");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  resources:\n    heap_size: 0MB\n"),
		"indexing_settings.resources.heap_size: must be greater than 0", "a zero heap size");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  sort_fields: [ts]\n"),
		"indexing_settings.sort_fields: sorting documents inside splits is not supported",
		"indexing_settings.sort_fields");
	accepts(cfg_text(FIELDS_BASIC, "ingest_settings:\n  min_shards: 12\n  validate_docs: true\n"),
		"ingest_settings (Quickwit's ingest API settings)");
	/* accepted by Quickwit, not implemented by qw: refused, never ignored */
	rejects(cfg_text(FIELDS_BASIC, "ingest_settings:\n  validate_docs: false\n"),
		"ingest_settings.validate_docs: validate_docs: false is not supported", "validate_docs: false");
	rejects(cfg_text("  field_mappings:\n    - name: j\n      type: json\n      expand_dots: false\n", NULL),
		"doc_mapping.field_mappings[0].expand_dots: expand_dots: false is not supported",
		"a json field with expand_dots: false");
	rejects(cfg_text("  dynamic_mapping:\n    expand_dots: false\n", NULL),
		"doc_mapping.dynamic_mapping.expand_dots: expand_dots: false is not supported",
		"dynamic_mapping with expand_dots: false");
	rejects(cfg_text(FIELDS_BASIC, "ingest_settings:\n  min_shards: 0\n"),
		"ingest_settings.min_shards: 0 is out of range", "zero min_shards");
	rejects(cfg_text(FIELDS_BASIC, "ingest_settings:\n  shards: 3\n"),
		"ingest_settings.shards: unknown key", "an unknown ingest_settings key");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings:\n  timestamp_field: ts\n"),
		"indexing_settings.timestamp_field: unknown key", "the pre-0.4 timestamp_field location");
	rejects(cfg_text(FIELDS_BASIC, "indexing_settings: 5\n"),
		"indexing_settings: expected a mapping, got an integer", "indexing_settings as a number");
	accepts(cfg_text(FIELDS_BASIC, "indexing_settings:\n  merge_policy:\n    type: default\n"),
		"merge policy type default (Quickwit's alias of stable_log)");
}

int main(void)
{
	const char *src = getenv("QW_SRCDIR");

	snprintf(datadir, sizeof(datadir), "%s/tests/data/configs", src ? src : ".");
	test_hdfs_logs();
	test_hdfs_variants();
	test_docs_example();
	test_other_tutorials();
	test_files();
	test_stdin();
	test_yaml();
	test_sizes_durations();
	test_ids_and_top();
	test_fields();
	test_doc_mapping_rules();
	test_deep_objects();
	test_indexing_settings();
	test_custom_tokenizers();
	ok(!strcmp(config_tokenizer_name(TOK_RAW_LOWERCASE), "raw_lowercase") &&
	   !strcmp(config_field_type_name(FT_DATETIME), "datetime"), "name helpers");
	return tap_done();
}
