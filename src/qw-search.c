/*
 * qw-search: search the published splits of one or more indexes.
 *
 * Options into a struct search_request, one call to search_run() (search.h),
 * then the response printed as Quickwit's JSON, as NDJSON hits, as lines
 * for people (hit_text.h) or as a count. One exit path that checks stdout.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mapping/docmap.h"
#include "base/err.h"
#include "app/prog.h"
#include "search/aggs_text.h"
#include "search/hit_text.h"
#include "search/search.h"
#include "store/metastore.h"
#include "base/strlist.h"
#include "base/xalloc.h"

static const char *prog = "qw-search";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --index ID [OPTION]... [QUERY]\n"
		"Search the published splits of one or more indexes (Quickwit's query language).\n"
		"\n"
		"Options:\n"
		"  -i, --index ID             index to search (repeat or comma-separate for several;\n"
		"                             '*' patterns and '-PATTERN' exclusions as Quickwit)\n"
		"  -q, --query QUERY          query string (default \"*\": every document)\n"
		"      --start-timestamp T    only docs with timestamp >= T (unix seconds,\n"
		"                             a date or RFC 3339)\n"
		"      --end-timestamp T      only docs with timestamp < T (unix seconds,\n"
		"                             a date or RFC 3339)\n"
		"  -n, --max-hits N           number of hits to return (default 20); 'all': every\n"
		"                             hit, streamed (ndjson, text or count)\n"
		"      --start-offset N       skip the first N hits (default 0)\n"
		"      --search-after JSON    only hits after these sort values (the response's\n"
		"                             \"search_after\" of the previous page)\n"
		"  -s, --sort-by FIELDS       sort by FIELD (descending) or -FIELD (ascending), up to two\n"
		"      --search-field FIELD   field(s) for unfielded terms (default: default_search_fields)\n"
		"      --snippet-fields FIELDS  text fields to highlight in \"snippets\" (comma-separated)\n"
		"  -a, --aggs JSON            aggregations, as Elasticsearch's \"aggs\" object\n"
		"  -f, --format FORMAT        json (default), ndjson (one hit per line), text (a\n"
		"                             line per hit: timestamp, then fields or body) or count\n"
		"      --fields FIELDS        --format text: the fields to show (comma-separated)\n"
		"  -d, --data-dir DIR         data directory (default $QW_DATA_DIR or ./qwdata)\n"
		"      --metastore-uri URI    metastore (default $QW_METASTORE_URI, else the data dir's)\n"
		"  -j, --threads N            splits searched in parallel (default: number of cores)\n"
		"      --stats                add \"stats\": requests and bytes read, per split and\n"
		"                             total, local and s3 (to stderr with ndjson or count)\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n",
		prog);
}

enum {
	OPT_START = 256,
	OPT_END,
	OPT_OFFSET,
	OPT_AFTER,
	OPT_SEARCH_FIELD,
	OPT_SNIPPET_FIELDS,
	OPT_STATS,
	OPT_FIELDS,
};

/* What --format ndjson or text wrote: how many hits, whether stdout
 * failed; text: how to write a hit. */
struct hit_out {
	bool write_failed;
	uint64_t n;
	const struct hit_text *text;
	struct buf line;
};

/*
 * --format ndjson: each hit is written and flushed as the search fetches it,
 * so `| head -1` has its line at once and a closed pipe stops the fetch.
 */
static int print_hit_line(void *ctx, json_t *hit)
{
	struct hit_out *h = ctx;

	if (docmap_dumpf(hit, stdout) < 0 || putchar('\n') == EOF || fflush(stdout) != 0) {
		h->write_failed = true;
		return -1;
	}
	h->n++;
	return 0;
}

/* --format text: as ndjson, one line for people per hit (hit_text.h). */
static int print_hit_text(void *ctx, json_t *hit)
{
	struct hit_out *h = ctx;

	buf_reset(&h->line);
	hit_text_line(h->text, hit, &h->line);
	buf_addc(&h->line, '\n');
	if (fwrite(h->line.data, 1, h->line.len, stdout) != h->line.len || fflush(stdout) != 0) {
		h->write_failed = true;
		return -1;
	}
	h->n++;
	return 0;
}

/* The timestamp field of the index searched, for --format text; NULL when
 * several indexes or a pattern are searched, or it has none. */
static char *timestamp_field(const char *data_dir, const struct strlist *indexes)
{
	struct qw_err e = QW_ERR_INIT;
	struct metastore *ms;
	struct index_config *cfg = NULL;
	char *ts = NULL;

	if (indexes->n != 1 || strpbrk(indexes->v[0], "*-"))
		return NULL;
	ms = metastore_open(data_dir, &e);
	if (ms)
		cfg = metastore_index_config(ms, indexes->v[0], &e);
	if (cfg && cfg->timestamp_field)
		ts = xstrdup(cfg->timestamp_field);
	config_free(cfg);
	metastore_close(ms);
	return ts;
}

/* Does the long option named by the prefix name (getopt_long takes prefixes) take an argument? */
static bool long_takes_arg(const struct option *opts, const char *name)
{
	size_t n = strlen(name);

	for (; opts->name; opts++)
		if (strncmp(opts->name, name, n) == 0 && opts->has_arg == required_argument)
			return true;
	return false;
}

/*
 * A query operand starting with '-' (`qw-search -i x -status:200`) is read
 * by getopt as options: -s with "tatus:200", a silently wrong search. The
 * first operand-like word `-word:...` that is no option's argument and
 * comes before "--"; NULL when there is none. -q, -a and -d take values
 * with a ':' in them (`-qstatus:200`, JSON, paths): those are options.
 */
static const char *dash_query_operand(int argc, char **argv, const struct option *opts,
				      const char *optstring)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *o;

		if (strcmp(a, "--") == 0)
			return NULL;
		if (a[0] != '-' || a[1] == '\0')
			continue;
		if (a[1] == '-') {
			if (!strchr(a, '=') && long_takes_arg(opts, a + 2))
				i++;
			continue;
		}
		o = strchr(optstring, a[1]);
		if (o && o[1] == ':' && a[2] == '\0') {
			i++;
			continue;
		}
		if (strchr(a, ':') && a[1] != 'q' && a[1] != 'a' && a[1] != 'd')
			return a;
	}
	return NULL;
}

/* Hits per internal page of --max-hits all, unless QW_SEARCH_PAGE_HITS says
 * otherwise (a test knob: small pages make paging visible on small indexes). */
#define PAGE_HITS_DEFAULT 10000

static int page_hits(uint64_t *out, struct qw_err *err)
{
	const char *s = getenv("QW_SEARCH_PAGE_HITS");

	*out = PAGE_HITS_DEFAULT;
	if (!s)
		return 0;
	return prog_parse_u64("QW_SEARCH_PAGE_HITS", s, 1, 100000000, out, err);
}

/*
 * --max-hits all: search_run() page after page of n hits, each page asking
 * for the hits after the previous page's "search_after" (its last hit's sort
 * values and "SPLIT_ID:DOC": a total order, search.h), so every hit is
 * streamed to req->on_hit once, in the sort order, with the memory of one
 * page. Every page searches the first one's snapshot of the indexes (its
 * splits and delete tasks: search_request.snapshot), so a merge, a new
 * split or a delete task published meanwhile neither repeats nor drops a
 * hit: the stream is the answer of one moment. The first page skips
 * req->start_offset and computes num_hits and the aggregations: *resp is
 * its response, with the "errors" of a later page
 * that failed (*partial: the hits stop there). Stops after a page of fewer
 * than n hits or when the output is gone.
 */
static int search_all(const char *data_dir, struct search_request *req, uint64_t n,
		      struct hit_out *hits, json_t **resp, bool *partial, struct qw_err *err)
{
	json_t *page = NULL, *after = NULL, *snapshot = NULL;
	uint64_t before;
	int rc = -1;

	*resp = NULL;
	req->max_hits = n;
	req->keep_snapshot = &snapshot;
	for (;;) {
		before = hits->n;
		if (search_run(data_dir, req, &page, partial, err) < 0)
			goto out;
		if (!*resp) {
			*resp = page;
			req->aggs = NULL;       /* the first page's count for all */
			req->start_offset = 0;  /* search_after goes on from there */
			req->snapshot = snapshot; /* every page: the first one's splits */
		} else if (*partial) {
			json_object_set(*resp, "errors", json_object_get(page, "errors"));
		}
		if (*partial || hits->write_failed || hits->n - before < n ||
		    !json_object_get(page, "search_after"))
			break;
		json_decref(after);
		after = json_incref(json_object_get(page, "search_after"));
		req->search_after = after;
		if (page != *resp)
			json_decref(page);
		page = NULL;
	}
	rc = 0;
out:
	if (page != *resp)
		json_decref(page);
	req->search_after = NULL;
	req->snapshot = NULL;
	req->keep_snapshot = NULL;
	json_decref(snapshot);
	json_decref(after);
	return rc;
}

static int print_response(json_t *resp, const char *format, json_t *aggs, uint64_t n_hits)
{
	json_t *stats = json_object_get(resp, "stats");

	/* stdout keeps the format a pipe expects: the stats go beside it */
	if (stats && strcmp(format, "json") != 0) {
		if (docmap_dumpf(stats, stderr) < 0 || fputc('\n', stderr) == EOF)
			return -1;
	}
	if (strcmp(format, "text") == 0) {
		/* the hits went out as they were fetched; then the tables */
		json_t *a = json_object_get(resp, "aggregations");
		struct buf b = BUF_INIT;
		int rc = 0;

		if (a) {
			if (n_hits > 0)
				buf_addc(&b, '\n');
			aggs_text(a, aggs, isatty(STDOUT_FILENO), &b);
			if (b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
				rc = -1;
		}
		buf_free(&b);
		return rc;
	}
	if (strcmp(format, "count") == 0) {
		printf("%lld\n", (long long)json_integer_value(json_object_get(resp, "num_hits")));
		return 0;
	}
	if (strcmp(format, "ndjson") == 0)
		return 0; /* the hits went out as they were fetched */
	if (docmap_dumpf(resp, stdout) < 0)
		return -1;
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "query", required_argument, NULL, 'q' },
		{ "start-timestamp", required_argument, NULL, OPT_START },
		{ "end-timestamp", required_argument, NULL, OPT_END },
		{ "max-hits", required_argument, NULL, 'n' },
		{ "start-offset", required_argument, NULL, OPT_OFFSET },
		{ "search-after", required_argument, NULL, OPT_AFTER },
		{ "sort-by", required_argument, NULL, 's' },
		{ "search-field", required_argument, NULL, OPT_SEARCH_FIELD },
		{ "snippet-fields", required_argument, NULL, OPT_SNIPPET_FIELDS },
		{ "fields", required_argument, NULL, OPT_FIELDS },
		{ "aggs", required_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "data-dir", required_argument, NULL, 'd' },
		PROG_METASTORE_URI_OPTION,
		{ "threads", required_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT;
	struct search_request req;
	struct strlist indexes = { NULL, 0 }, fields = { NULL, 0 }, snippet = { NULL, 0 };
	struct strlist show = { NULL, 0 };
	struct hit_text text = { NULL, NULL, NULL, 0 };
	char *ts_field = NULL;
	const char *format = "json", *data_dir = NULL, *aggs_text = NULL, *after_text = NULL;
	const char *optstring = "i:q:n:s:a:f:d:j:hV", *dash_query;
	json_t *aggs = NULL, *after = NULL, *resp = NULL;
	json_error_t jerr;
	uint64_t u, page_n = 0, offset;
	bool partial = false, write_failed = false, all = false;
	struct hit_out hits = { false, 0, &text, BUF_INIT };
	int code = 0;
	int c;

	/*
	 * A search is one short burst of allocations (split footers, bitsets,
	 * columns, decompression contexts) freed split after split: keep the
	 * heap instead of giving it back to the kernel and faulting it in
	 * again for the next split. Best effort: mallopt failing changes no result.
	 */
	(void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
	(void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
	(void)mallopt(M_TOP_PAD, 1 << 20);
	memset(&req, 0, sizeof(req));
	req.max_hits = 20;
	dash_query = dash_query_operand(argc, argv, opts, optstring);
	if (dash_query) {
		err_set(&err, EX_USAGE,
			"'%s' would be read as options: give a query starting with '-' as --query '%s' or after '--'",
			dash_query, dash_query);
		goto fail;
	}
	while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			strlist_add_csv(&indexes, optarg);
			break;
		case 'q':
			req.query = optarg;
			break;
		case OPT_START:
			if (prog_parse_timestamp("--start-timestamp", optarg, &req.start_ts, &err) < 0)
				goto fail;
			req.has_start = true;
			break;
		case OPT_END:
			if (prog_parse_timestamp("--end-timestamp", optarg, &req.end_ts, &err) < 0)
				goto fail;
			req.has_end = true;
			break;
		case 'n':
			if (strcmp(optarg, "all") == 0) {
				all = true;
				break;
			}
			all = false;
			if (prog_parse_u64("--max-hits", optarg, 0, 100000000, &req.max_hits, &err) < 0)
				goto fail;
			break;
		case OPT_OFFSET:
			if (prog_parse_u64("--start-offset", optarg, 0, 100000000, &req.start_offset, &err) < 0)
				goto fail;
			break;
		case OPT_AFTER:
			after_text = optarg;
			break;
		case 's':
			req.sort_by = optarg;
			break;
		case OPT_SNIPPET_FIELDS:
			strlist_add_csv(&snippet, optarg);
			break;
		case OPT_FIELDS:
			strlist_add_csv(&show, optarg);
			break;
		case OPT_SEARCH_FIELD:
			strlist_add_csv(&fields, optarg);
			break;
		case 'a':
			aggs_text = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "ndjson") != 0 &&
			    strcmp(optarg, "text") != 0 && strcmp(optarg, "count") != 0) {
				err_set(&err, EX_USAGE,
					"--format: expected json, ndjson, text or count, got '%s'", optarg);
				goto fail;
			}
			format = optarg;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case PROG_OPT_METASTORE_URI:
			if (prog_metastore_uri(prog, optarg) < 0)
				return EX_OSERR;
			break;
		case 'j':
			if (prog_parse_u64("--threads", optarg, 1, 256, &u, &err) < 0)
				goto fail;
			req.threads = (unsigned)u;
			break;
		case OPT_STATS:
			req.stats = true;
			break;
		case 'h':
			usage(stdout);
			goto out;
		case 'V':
			prog_version(prog);
			goto out;
		default:
			usage(stderr);
			code = EX_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		if (req.query || optind + 1 < argc) {
			/* words of a query the shell split: say so, with the fix */
			if (req.query)
				err_set(&err, EX_USAGE, "a query given twice (--query and '%s')",
					argv[optind]);
			else
				err_set(&err, EX_USAGE, "the query is one argument: quote its words, "
					"as in '%s %s'", argv[optind], argv[optind + 1]);
			goto fail;
		}
		req.query = argv[optind];
	}
	if (indexes.n == 0) {
		err_set(&err, EX_USAGE, "no index given: use --index ID");
		goto fail;
	}
	if (aggs_text) {
		aggs = json_loads(aggs_text, JSON_REJECT_DUPLICATES, &jerr);
		if (!aggs) {
			err_set(&err, EX_DATAERR, "--aggs: col %d: %s", jerr.column, jerr.text);
			goto fail;
		}
	}
	if (after_text) {
		after = json_loads(after_text, JSON_DECODE_ANY, &jerr);
		if (!after) {
			err_set(&err, EX_USAGE, "--search-after: col %d: %s", jerr.column, jerr.text);
			goto fail;
		}
		req.search_after = after;
	}
	req.indexes = (const char *const *)indexes.v;
	req.n_indexes = indexes.n;
	req.snippet_fields = (const char *const *)snippet.v;
	req.n_snippet_fields = snippet.n;
	if (fields.n) {
		req.search_fields = (const char *const *)fields.v;
		req.n_search_fields = fields.n;
	}
	req.aggs = aggs;
	if (all && strcmp(format, "json") == 0) {
		err_set(&err, EX_USAGE, "--max-hits all streams the hits: use --format ndjson "
			"(one hit per line) or text, or page with --search-after");
		goto fail;
	}
	if (all && req.stats && strcmp(format, "count") != 0) {
		err_set(&err, EX_USAGE, "--stats reports one search: --max-hits all runs one per "
			"page of hits");
		goto fail;
	}
	if (all && strcmp(format, "count") != 0 && page_hits(&page_n, &err) < 0)
		goto fail;
	if (strcmp(format, "count") == 0) {
		req.max_hits = 0; /* no document to load */
		all = false;
	}
	if (strcmp(format, "ndjson") == 0) {
		req.on_hit = print_hit_line;
		req.on_hit_ctx = &hits;
	}
	if (show.n && strcmp(format, "text") != 0) {
		err_set(&err, EX_USAGE, "--fields is for --format text");
		goto fail;
	}
	if (strcmp(format, "text") == 0) {
		ts_field = timestamp_field(prog_data_dir(data_dir), &indexes);
		text.ts_field = ts_field;
		text.fields = (const char *const *)show.v;
		text.n_fields = show.n;
		req.on_hit = print_hit_text;
		req.on_hit_ctx = &hits;
	}
	offset = req.start_offset; /* search_all pages from there */
	if ((all ? search_all(prog_data_dir(data_dir), &req, page_n, &hits, &resp, &partial, &err)
		 : search_run(prog_data_dir(data_dir), &req, &resp, &partial, &err)) < 0) {
		write_failed = hits.write_failed;
		goto fail;
	}
	write_failed = hits.write_failed;
	if (write_failed || print_response(resp, format, aggs, hits.n) < 0 || fflush(stdout) != 0) {
		/* reported here once: prog_finish would only repeat it */
		err_errno(&err, EX_IOERR, "cannot write the response");
		write_failed = true;
		goto fail;
	}
	if (partial) {
		size_t i;
		json_t *e;

		json_array_foreach(json_object_get(resp, "errors"), i, e)
			err_warn(prog, "%s", json_string_value(e) ? json_string_value(e) : "?");
		err_set(&err, EX_IOERR, "some splits could not be searched, results are partial (see \"errors\")");
		goto fail;
	}
	{
		json_int_t total = json_integer_value(json_object_get(resp, "num_hits"));

		/* ndjson has no num_hits to read: it says when hits were left out
		 * (not when none were asked for: -n 0 with aggregations) */
		if ((strcmp(format, "ndjson") == 0 || strcmp(format, "text") == 0) && total > 0 &&
		    (uint64_t)total > offset + hits.n && (all || req.max_hits > 0))
			fprintf(stderr, "%s: %llu of %lld hits written (from offset %llu): "
				"--max-hits and --start-offset give others\n", prog,
				(unsigned long long)hits.n, (long long)total,
				(unsigned long long)offset);
		/* as grep: nothing found is exit 1 (json keeps Quickwit's 0) */
		if (total == 0 && strcmp(format, "json") != 0)
			code = 1;
	}
	goto out;
fail:
	err_print(prog, &err);
	code = err.code ? err.code : EX_SOFTWARE;
out:
	json_decref(resp);
	json_decref(after);
	json_decref(aggs);
	strlist_free(&indexes);
	strlist_free(&fields);
	strlist_free(&snippet);
	strlist_free(&show);
	buf_free(&hits.line);
	free(ts_field);
	return write_failed ? code : prog_finish(prog, code);
}
