/*
 * metastore_pg: the metastore in PostgreSQL (postgresql:// or postgres://,
 * a libpq connection URI), so that indexers and searchers on several
 * machines share the indexes. See metastore_backend.h for the contract.
 *
 * Tables (schema version 1; qw_schema holds the version, and the
 * migrations below are applied forward at first use under an advisory
 * lock, so that two programs starting at once do not both apply them):
 *   qw_indexes  one row per index: index_uid, create_timestamp,
 *               index_config, checkpoints, publish_tokens, and "rest",
 *               the other members of the index document (format_version,
 *               checkpoint_heads, publish_owners, delete tasks...);
 *   qw_splits   one row per split: the split record (state, timestamps,
 *               publish token, metadata) as "record", and its state, time
 *               range, tags, counts, num_merge_ops and delete opstamp in
 *               columns of their own for SQL queries.
 * A transaction (update) locks the index row FOR UPDATE, then reads the
 * document in a second statement (in READ COMMITTED, a statement that waited
 * for the lock would otherwise read the splits from before the lock
 * holder's commit), runs the caller's function over it, and writes back
 * only the rows that changed, in the same transaction: publish (token and
 * checkpoint checks, Staged -> Published) and merges (new splits in, old
 * ones marked) are atomic, and two writers never lose an update.
 *
 * Failures: a lost connection, a server shutting down or starting, a
 * serialization failure or deadlock, or a lack of resources are retried
 * with backoff (100 ms doubling to 2 s) for QW_METASTORE_RETRY_SECS
 * seconds (default 30), reconnecting; then EX_TEMPFAIL with the server's
 * message. A connection the server refused for good is not retried (a
 * wrong password or pg_hba.conf entry: EX_NOPERM; a database or role that
 * does not exist, a TLS certificate refused: EX_CONFIG), so that a cron job
 * or a supervisor is not told to try again what will fail again. A
 * transaction runs again from its start, so nothing is ever half applied;
 * a commit whose answer was lost may have been applied, and its rerun is
 * then refused (a publish finds its splits Published), which
 * the caller sees as a refused publish and recovers from by reading the
 * checkpoint, as after any fencing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "store/metastore_backend.h"
#include "store/pq_api.h"

#define RETRY_DEFAULT_S 30
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000
/* pg_advisory_xact_lock key of the schema migrations ("qwms"). */
#define MIGRATE_LOCK_KEY "1903127411"

/* Migration i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
	"CREATE TABLE qw_indexes ("
	" index_id text PRIMARY KEY,"
	" index_uid text NOT NULL,"
	" create_timestamp bigint,"
	" index_config jsonb NOT NULL,"
	" checkpoints jsonb NOT NULL DEFAULT '{}',"
	" publish_tokens jsonb NOT NULL DEFAULT '{}',"
	" rest jsonb NOT NULL DEFAULT '{}',"
	" seq bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE qw_splits ("
	" index_id text NOT NULL REFERENCES qw_indexes ON DELETE CASCADE,"
	" split_id text NOT NULL,"
	" split_state text NOT NULL,"
	" update_timestamp bigint,"
	" publish_timestamp bigint,"
	" publish_token text,"
	" num_docs bigint,"
	" time_range_start bigint,"
	" time_range_end bigint,"
	" tags text[] NOT NULL DEFAULT '{}',"
	" num_merge_ops bigint,"
	" delete_opstamp bigint,"
	" record jsonb NOT NULL,"
	" seq bigint NOT NULL DEFAULT 0,"
	" PRIMARY KEY (index_id, split_id));"
	"CREATE INDEX qw_splits_state ON qw_splits (index_id, split_state);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The members of the index document that have columns of their own. */
static const char *const doc_columns[] = { "index_uid", "create_timestamp", "index_config",
					   "checkpoints", "publish_tokens", "splits" };

/* The columns of a split row, from its record r (a jsonb). */
#define SPLIT_NUM(path) "(CASE WHEN jsonb_typeof(r#>'{" path "}') = 'number'" \
	" THEN (r#>>'{" path "}')::numeric::bigint END)"
static const char upsert_split_sql[] =
	"INSERT INTO qw_splits (index_id, split_id, split_state, update_timestamp,"
	" publish_timestamp, publish_token, num_docs, time_range_start, time_range_end, tags,"
	" num_merge_ops, delete_opstamp, record, seq)"
	" SELECT $1, $2, coalesce(r->>'split_state', ''), " SPLIT_NUM("update_timestamp") ", "
	SPLIT_NUM("publish_timestamp") ", r->>'publish_token', " SPLIT_NUM("metadata,num_docs") ", "
	SPLIT_NUM("metadata,time_range,start") ", " SPLIT_NUM("metadata,time_range,end") ","
	" ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(r#>'{metadata,tags}')"
	" = 'array' THEN r#>'{metadata,tags}' ELSE '[]' END)), "
	SPLIT_NUM("metadata,num_merge_ops") ", " SPLIT_NUM("metadata,delete_opstamp") ", r,"
	" $4::bigint"
	" FROM (SELECT $3::jsonb AS r) AS s"
	" ON CONFLICT (index_id, split_id) DO UPDATE SET split_state = EXCLUDED.split_state,"
	" update_timestamp = EXCLUDED.update_timestamp,"
	" publish_timestamp = EXCLUDED.publish_timestamp, publish_token = EXCLUDED.publish_token,"
	" num_docs = EXCLUDED.num_docs, time_range_start = EXCLUDED.time_range_start,"
	" time_range_end = EXCLUDED.time_range_end, tags = EXCLUDED.tags,"
	" num_merge_ops = EXCLUDED.num_merge_ops, delete_opstamp = EXCLUDED.delete_opstamp,"
	" record = EXCLUDED.record, seq = EXCLUDED.seq";

/* The document of one index in one statement (one snapshot), with only
 * the splits written after commit $2 (-1: all), the count of all its
 * splits and its seq: what a cached document needs to be current. */
static const char read_since_sql[] =
	"SELECT index_uid, create_timestamp, index_config::text, checkpoints::text,"
	" publish_tokens::text, rest::text,"
	" (SELECT coalesce(jsonb_object_agg(split_id, record), '{}') FROM qw_splits s"
	"  WHERE s.index_id = i.index_id AND s.seq > $2::bigint)::text,"
	" (SELECT count(*) FROM qw_splits s WHERE s.index_id = i.index_id), seq"
	" FROM qw_indexes i WHERE index_id = $1";

struct pg {
	const struct metastore *ms;   /* for messages (metastore_no_index) */
	struct pq_api api;
	PGconn *conn;
	char *conninfo;
	struct clock clk;
	int64_t retry_ms;   /* how long retryable failures are retried */
	/* The document of the last index this process updated, as of commit
	 * cache_seq: an update then reads only the splits written since (the
	 * index row's seq counts commits; a split row carries the seq of its
	 * last write), so that a publish costs the splits it changes, not all
	 * of the index's. Dropped on any failure. */
	char *cache_id;
	json_t *cache_doc;
	int64_t cache_seq;
	bool retry;         /* the last failure may pass when tried again */
};

/* ------------------------------------------------------------ connection */

static struct pg *pg_of(struct metastore *ms)
{
	return ms->be;
}

/* Whether a failure with this SQLSTATE may pass when tried again. */
static bool retryable_state(const char *st)
{
	if (!st)
		return true;           /* no server answer: the connection went */
	return !strncmp(st, "08", 2) ||        /* connection exception */
	       !strcmp(st, "40001") || !strcmp(st, "40P01") ||   /* serialization, deadlock */
	       !strncmp(st, "53", 2) ||        /* insufficient resources */
	       !strncmp(st, "57P", 3) ||       /* shutdown, crash, cannot connect now */
	       !strcmp(st, "23505");   /* a row inserted meanwhile (two creates): the
					* rerun sees it and answers as it should */
}

/*
 * How a failed connection fails: EX_TEMPFAIL (try again: the server down,
 * starting, restarting, full) unless libpq or the server said it is for
 * good. libpq gives a refused connection no SQLSTATE, so the server's and
 * OpenSSL's messages are read: in another language they are not
 * recognised, and the failure is retried as before.
 */
static int connect_failure_code(struct pg *pg)
{
	static const struct {
		const char *text;
		int code;
	} refusals[] = {
		{ "password authentication failed", EX_NOPERM },   /* 28P01 */
		{ "no pg_hba.conf entry", EX_NOPERM },             /* 28000 */
		{ "pg_hba.conf rejects connection", EX_NOPERM },   /* 28000 */
		{ "no password supplied", EX_NOPERM },
		{ "does not exist", EX_CONFIG },                   /* 3D000, 28000: database, role */
		{ "certificate verify failed", EX_CONFIG },
		{ "does not match host name", EX_CONFIG },
		{ "server does not support SSL", EX_CONFIG },
	};
	const char *msg;

	if (!pg->conn)
		return EX_TEMPFAIL;     /* out of memory */
	if (pg->api.connection_needs_password(pg->conn))
		return EX_NOPERM;
	msg = pg->api.error_message(pg->conn);
	for (size_t i = 0; msg && i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strstr(msg, refusals[i].text))
			return refusals[i].code;
	return EX_TEMPFAIL;
}

/* The first line of a libpq message (they end with a newline). */
static void set_pg_err(struct pg *pg, struct qw_err *err, int code, const char *what,
		       const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");

	err_set(err, code, "postgresql metastore: %s: %.*s", what, (int)n, msg ? msg : "");
}

/* Run sql (params as text); the result when it succeeded (PQclear it),
 * else NULL with err set and pg->retry saying whether to try again. */
static PGresult *q(struct pg *pg, const char *sql, int n, const char *const *params,
		   struct qw_err *err)
{
	PGresult *res = n ? pg->api.exec_params(pg->conn, sql, n, NULL, params, NULL, NULL, 0)
			  : pg->api.exec(pg->conn, sql);
	ExecStatusType st = res ? pg->api.result_status(res) : PGRES_FATAL_ERROR;
	const char *state;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	state = res ? pg->api.result_error_field(res, PG_DIAG_SQLSTATE) : NULL;
	pg->retry = retryable_state(state) || pg->api.status(pg->conn) != CONNECTION_OK;
	set_pg_err(pg, err, pg->retry ? EX_TEMPFAIL : EX_SOFTWARE, "query failed",
		   res ? pg->api.result_error_message(res) : pg->api.error_message(pg->conn));
	if (res)
		pg->api.clear(res);
	return NULL;
}

/* q() for a statement whose rows are not needed. */
static int run(struct pg *pg, const char *sql, int n, const char *const *params,
	       struct qw_err *err)
{
	PGresult *res = q(pg, sql, n, params, err);

	if (!res)
		return -1;
	pg->api.clear(res);
	return 0;
}

static int migrate(struct pg *pg, struct qw_err *err)
{
	static const char *const lock_param[] = { MIGRATE_LOCK_KEY };
	PGresult *res = NULL;
	int version, ret = -1;
	char vbuf[16];
	const char *vparam[] = { vbuf };

	if (run(pg, "BEGIN", 0, NULL, err) < 0 ||
	    run(pg, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lock_param, err) < 0 ||
	    run(pg, "CREATE TABLE IF NOT EXISTS qw_schema (version integer NOT NULL)", 0, NULL,
		err) < 0)
		goto out;
	res = q(pg, "SELECT coalesce(max(version), 0) FROM qw_schema", 0, NULL, err);
	if (!res)
		goto out;
	version = atoi(pg->api.getvalue(res, 0, 0));
	if (version > SCHEMA_VERSION) {
		err_set(err, EX_DATAERR,
			"postgresql metastore: schema version %d is newer than this qw knows (%d): "
			"upgrade qw", version, SCHEMA_VERSION);
		pg->retry = false;
		goto out;
	}
	for (int v = version; v < SCHEMA_VERSION; v++)
		if (run(pg, migrations[v], 0, NULL, err) < 0)
			goto out;
	if (version < SCHEMA_VERSION) {
		snprintf(vbuf, sizeof(vbuf), "%d", SCHEMA_VERSION);
		if (run(pg, "DELETE FROM qw_schema", 0, NULL, err) < 0 ||
		    run(pg, "INSERT INTO qw_schema (version) VALUES ($1::integer)", 1, vparam,
			err) < 0)
			goto out;
	}
	if (run(pg, "COMMIT", 0, NULL, err) < 0)
		goto out;
	ret = 0;
out:
	if (res)
		pg->api.clear(res);
	return ret;
}

/*
 * Whether the schema is already current, in one round trip that also
 * quiets the "already exists, skipping" notices: 1 yes, 0 no (or no
 * qw_schema yet: then migrate() says), -1 on a failure to retry.
 * Why: every process of a pipeline connects, and migrate()'s advisory lock
 * serialised them all behind each other's transactions (five statements
 * and a lock wait per connection) although the schema is current but once.
 */
static int schema_current(struct pg *pg, struct qw_err *err)
{
	PGresult *res = pg->api.exec(pg->conn,
				     "SELECT set_config('client_min_messages', 'warning', false),"
				     " (SELECT coalesce(max(version), 0) FROM qw_schema)");
	int current;

	if (res && pg->api.result_status(res) == PGRES_TUPLES_OK) {
		current = pg->api.ntuples(res) == 1 &&
			  atoi(pg->api.getvalue(res, 0, 1)) == SCHEMA_VERSION;
		pg->api.clear(res);
		return current;
	}
	if (res)
		pg->api.clear(res);
	/* no qw_schema (a new database) fails the statement: not an error */
	if (pg->api.status(pg->conn) == CONNECTION_OK)
		return 0;
	pg->retry = true;
	set_pg_err(pg, err, EX_TEMPFAIL, "query failed", pg->api.error_message(pg->conn));
	return -1;
}

/* A live connection with the schema migrated; -1 with err and pg->retry. */
static int ensure_conn(struct pg *pg, struct qw_err *err)
{
	int current;

	if (pg->conn && pg->api.status(pg->conn) == CONNECTION_OK)
		return 0;
	if (pg->conn)
		pg->api.finish(pg->conn);
	{
		/* the program's name, unless the URI names one: pg_stat_activity
		 * and the server's log then say which stage holds a connection */
		const char *const keys[] = { "fallback_application_name", "dbname", NULL };
		const char *const values[] = { program_invocation_short_name, pg->conninfo, NULL };

		pg->conn = pg->api.connectdb_params(keys, values, 1);
	}
	if (!pg->conn || pg->api.status(pg->conn) != CONNECTION_OK) {
		int code = connect_failure_code(pg);

		pg->retry = code == EX_TEMPFAIL;
		set_pg_err(pg, err, code, "cannot connect",
			   pg->conn ? pg->api.error_message(pg->conn) : "out of memory");
		return -1;
	}
	current = schema_current(pg, err);
	if (current != 0)
		return current < 0 ? -1 : 0;
	/* no "already exists, skipping" notices on stderr */
	if (run(pg, "SET client_min_messages = warning", 0, NULL, err) < 0)
		return -1;
	return migrate(pg, err);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* One transaction's body: BEGIN ... COMMIT, -1 with err on failure. */
typedef int (*pg_body)(struct metastore *ms, struct pg *pg, void *ctx, struct qw_err *err);

/* Run body, again after a retryable failure until the retry time is spent. */
static int with_retry(struct metastore *ms, pg_body body, void *ctx, struct qw_err *err)
{
	struct pg *pg = pg_of(ms);
	int64_t deadline = clock_ms(&pg->clk) + pg->retry_ms;
	int64_t backoff = BACKOFF_FIRST_MS;
	int attempts = 0;

	for (;;) {
		struct qw_err e = QW_ERR_INIT;
		int64_t left;

		pg->retry = false;
		attempts++;
		if (ensure_conn(pg, &e) == 0 && body(ms, pg, ctx, &e) == 0)
			return 0;
		/* whatever failed, leave no transaction open */
		if (pg->conn && pg->api.status(pg->conn) == CONNECTION_OK &&
		    pg->api.transaction_status(pg->conn) != PQTRANS_IDLE) {
			PGresult *res = pg->api.exec(pg->conn, "ROLLBACK");

			if (res)
				pg->api.clear(res);
		}
		left = deadline - clock_ms(&pg->clk);
		if (!pg->retry || left <= 0) {
			if (pg->retry)
				err_set(err, EX_TEMPFAIL, "%s (gave up after %d attempts in %lld s)",
					e.msg, attempts, (long long)(pg->retry_ms / 1000));
			else
				err_set(err, e.code, "%s", e.msg);
			return -1;
		}
		sleep_ms(backoff < left ? backoff : left);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

/* ------------------------------------------------------------ documents */

static json_t *parse(const char *text, const char *what, const char *index_id,
		     struct qw_err *err)
{
	json_error_t jerr;
	json_t *j = json_loads(text ? text : "null", 0, &jerr);

	if (!j)
		err_set(err, EX_DATAERR, "postgresql metastore: index '%s': %s is not JSON: %s",
			index_id, what, jerr.text);
	return j;
}

/* The document of index_id from the current snapshot; NULL with err
 * (EX_NOINPUT when there is no such index). since >= 0: only the splits
 * written after commit since, with *count (all the splits) and *seq (the
 * index's). */
static json_t *load_doc_since(struct pg *pg, const char *index_id, int64_t since,
			      int64_t *count, int64_t *seq, struct qw_err *err)
{
	static const char *const what[] = { NULL, NULL, "index_config", "checkpoints",
					    "publish_tokens", "rest", "splits" };
	char sbuf[32];
	const char *params[] = { index_id, sbuf };
	PGresult *res;
	json_t *doc = NULL, *part;
	char where[128];

	snprintf(sbuf, sizeof(sbuf), "%lld", (long long)since);
	res = q(pg, read_since_sql, 2, params, err);
	if (!res)
		return NULL;
	if (pg->api.ntuples(res) != 1) {
		pg->retry = false;
		metastore_no_index(pg->ms, index_id, err);
		goto out;
	}
	doc = parse(pg->api.getvalue(res, 0, 5), "rest", index_id, err);
	if (!doc)
		goto out;
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	if (json_object_set_new(doc, "index_uid", json_string(pg->api.getvalue(res, 0, 0))) < 0)
		goto fail;
	if (!pg->api.getisnull(res, 0, 1) &&
	    json_object_set_new(doc, "create_timestamp",
				json_integer(strtoll(pg->api.getvalue(res, 0, 1), NULL, 10))) < 0)
		goto fail;
	for (int col = 2; col <= 6; col++) {
		if (col == 5)
			continue;
		part = parse(pg->api.getvalue(res, 0, col), what[col], index_id, err);
		if (!part || json_object_set_new(doc, what[col], part) < 0)
			goto fail;
	}
	if (count)
		*count = strtoll(pg->api.getvalue(res, 0, 7), NULL, 10);
	if (seq)
		*seq = strtoll(pg->api.getvalue(res, 0, 8), NULL, 10);
	if (since >= 0)
		goto out;       /* a partial document: checked once merged */
	snprintf(where, sizeof(where), "postgresql metastore index '%s'", index_id);
	if (metastore_check_doc(doc, where, err) < 0)
		goto fail;
out:
	pg->api.clear(res);
	return doc;
fail:
	if (err && !err->code)
		err_set(err, EX_SOFTWARE, "postgresql metastore: cannot build index '%s'", index_id);
	json_decref(doc);
	doc = NULL;
	goto out;
}

static json_t *load_doc(struct pg *pg, const char *index_id, struct qw_err *err)
{
	return load_doc_since(pg, index_id, -1, NULL, NULL, err);
}

static void drop_cache(struct pg *pg)
{
	free(pg->cache_id);
	json_decref(pg->cache_doc);
	pg->cache_id = NULL;
	pg->cache_doc = NULL;
	pg->cache_seq = 0;
}

/*
 * The current document of index_id inside a transaction that holds its
 * row lock, and *seq, its commit count: the cached one brought up to date
 * when there is one (the splits written since, the head anew). A split
 * deleted since shows as a count that does not match, an index made anew
 * as another index_uid: then it is read whole.
 */
static json_t *load_locked(struct pg *pg, const char *index_id, int64_t *seq,
			   struct qw_err *err)
{
	bool cached = pg->cache_id && !strcmp(pg->cache_id, index_id) &&
		      json_is_object(json_object_get(pg->cache_doc, "splits"));
	int64_t count = -1;
	json_t *doc, *splits, *rec;
	const char *id;
	char where[128];

	doc = load_doc_since(pg, index_id, cached ? pg->cache_seq : -1, &count, seq, err);
	if (!doc)
		return NULL;
	if (cached && *seq >= pg->cache_seq &&
	    json_equal(json_object_get(doc, "index_uid"),
		       json_object_get(pg->cache_doc, "index_uid"))) {
		/* taken, not copied: the cache is replaced after the commit and
		 * dropped on failure, and the caller only reads this document */
		splits = json_incref(json_object_get(pg->cache_doc, "splits"));
		drop_cache(pg);
		json_object_foreach(json_object_get(doc, "splits"), id, rec)
			json_object_set(splits, id, rec);
		json_object_set_new(doc, "splits", splits);
	}
	if (cached && (int64_t)json_object_size(json_object_get(doc, "splits")) != count) {
		json_decref(doc);
		return load_doc(pg, index_id, err);    /* checked there */
	}
	snprintf(where, sizeof(where), "postgresql metastore index '%s'", index_id);
	if (metastore_check_doc(doc, where, err) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* doc's "rest": the members without a column, as JSON text (free it). */
static char *rest_of(json_t *doc)
{
	json_t *rest = json_copy(doc);
	char *text;

	for (size_t i = 0; i < sizeof(doc_columns) / sizeof(doc_columns[0]); i++)
		json_object_del(rest, doc_columns[i]);
	text = json_dumps(rest, JSON_COMPACT);
	json_decref(rest);
	return text;
}

static char *dump_member(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	return json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Whether doc and old agree on the members that change only when an index
 * is made anew (its uid, creation time and config). */
static bool same_identity(json_t *doc, json_t *old)
{
	static const char *const keys[] = { "index_uid", "create_timestamp", "index_config" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *a = json_object_get(doc, keys[i]), *b = json_object_get(old, keys[i]);

		if (!(a == b || (a && b && json_equal(a, b))))
			return false;
	}
	return true;
}

/*
 * Write the index row of doc: inserted when old is NULL, else updated. A
 * publish changes the checkpoints, tokens and commit count, not the config:
 * then only those columns are sent, so the server does not parse the config
 * again on every commit.
 */
static int write_index(struct pg *pg, const char *index_id, json_t *doc, json_t *old,
		       const char *seq, struct qw_err *err)
{
	bool light = old && same_identity(doc, old);
	char ts[32] = "";
	char *cfg = light ? NULL : dump_member(doc, "index_config");
	char *cps = dump_member(doc, "checkpoints");
	char *toks = dump_member(doc, "publish_tokens");
	char *rest = rest_of(doc);
	json_t *jts = json_object_get(doc, "create_timestamp");
	const char *params[] = { index_id, json_string_value(json_object_get(doc, "index_uid")),
				 json_is_integer(jts) ? ts : NULL, cfg, cps, toks, rest, seq };
	const char *light_params[] = { index_id, cps, toks, rest, seq };
	int ret;

	if (json_is_integer(jts))
		snprintf(ts, sizeof(ts), "%lld", (long long)json_integer_value(jts));
	if ((!light && !cfg) || !cps || !toks || !rest) {
		ret = err_set(err, EX_SOFTWARE, "postgresql metastore: cannot serialize index '%s'",
			      index_id);
		goto out;
	}
	if (light)
		ret = run(pg, "UPDATE qw_indexes SET checkpoints = $2::jsonb, publish_tokens = $3::jsonb,"
			  " rest = $4::jsonb, seq = $5::bigint WHERE index_id = $1", 5, light_params,
			  err);
	else
		ret = run(pg, !old ?
			  "INSERT INTO qw_indexes (index_id, index_uid, create_timestamp, index_config,"
			  " checkpoints, publish_tokens, rest, seq) VALUES ($1, $2, $3::bigint, $4::jsonb,"
			  " $5::jsonb, $6::jsonb, $7::jsonb, $8::bigint)" :
			  "UPDATE qw_indexes SET index_uid = $2, create_timestamp = $3::bigint,"
			  " index_config = $4::jsonb, checkpoints = $5::jsonb, publish_tokens = $6::jsonb,"
			  " rest = $7::jsonb, seq = $8::bigint WHERE index_id = $1", 8, params, err);
out:
	free(rest);
	free(toks);
	free(cps);
	free(cfg);
	return ret;
}

static int upsert_split(struct pg *pg, const char *index_id, const char *split_id, json_t *rec,
			const char *seq, struct qw_err *err)
{
	char *text = json_dumps(rec, JSON_COMPACT);
	const char *params[] = { index_id, split_id, text, seq };
	int ret;

	if (!text)
		return err_set(err, EX_SOFTWARE, "postgresql metastore: cannot serialize split '%s'",
			       split_id);
	ret = run(pg, upsert_split_sql, 4, params, err);
	free(text);
	return ret;
}

/* Write what changed from old to doc (old NULL: a new index) as commit
 * seq; *changed says whether anything did (nothing written otherwise). */
static int write_changes(struct pg *pg, const char *index_id, json_t *old, json_t *doc,
			 int64_t seq, bool *changed, struct qw_err *err)
{
	json_t *splits = json_object_get(doc, "splits");
	json_t *old_splits = json_object_get(old, "splits");
	bool any = !old;
	char sbuf[32];
	const char *id;
	json_t *rec;

	snprintf(sbuf, sizeof(sbuf), "%lld", (long long)seq);
	/* a new index first: its splits' rows reference it */
	if (!old && write_index(pg, index_id, doc, NULL, sbuf, err) < 0)
		return -1;
	if (!any) {
		/* the head: every member but the splits */
		json_t *a = json_copy(old), *b = json_copy(doc);

		json_object_del(a, "splits");
		json_object_del(b, "splits");
		any = !a || !b || !json_equal(a, b);
		json_decref(a);
		json_decref(b);
	}
	json_object_foreach(splits, id, rec) {
		if (json_equal(json_object_get(old_splits, id), rec))
			continue;
		any = true;
		if (upsert_split(pg, index_id, id, rec, sbuf, err) < 0)
			return -1;
	}
	json_object_foreach(old_splits, id, rec) {
		const char *params[] = { index_id, id };

		(void)rec;
		if (json_object_get(splits, id))
			continue;
		any = true;
		if (run(pg, "DELETE FROM qw_splits WHERE index_id = $1 AND split_id = $2", 2,
			params, err) < 0)
			return -1;
	}
	*changed = any;
	/* the index row carries the commit count: written whenever anything was */
	return any && old ? write_index(pg, index_id, doc, old, sbuf, err) : 0;
}

/* Lock the index row; 1 when it exists, 0 when not, -1 on error. */
static int lock_index(struct pg *pg, const char *index_id, struct qw_err *err)
{
	const char *params[] = { index_id };
	PGresult *res = q(pg, "SELECT 1 FROM qw_indexes WHERE index_id = $1 FOR UPDATE", 1,
			  params, err);
	int n;

	if (!res)
		return -1;
	n = pg->api.ntuples(res);
	pg->api.clear(res);
	return n > 0;
}

/* ------------------------------------------------------------ ops */

struct read_ctx {
	const char *index_id;
	json_t *doc;
};

static int read_body(struct metastore *ms, struct pg *pg, void *vctx, struct qw_err *err)
{
	struct read_ctx *c = vctx;

	(void)ms;
	json_decref(c->doc);
	c->doc = load_doc(pg, c->index_id, err);   /* one statement: one snapshot */
	return c->doc ? 0 : -1;
}

static json_t *pg_read(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	struct read_ctx c = { index_id, NULL };

	if (with_retry(ms, read_body, &c, err) < 0) {
		json_decref(c.doc);
		return NULL;
	}
	return c.doc;
}

static int exists_body(struct metastore *ms, struct pg *pg, void *vctx, struct qw_err *err)
{
	const char *params[] = { ((struct read_ctx *)vctx)->index_id };
	PGresult *res = q(pg, "SELECT 1 FROM qw_indexes WHERE index_id = $1", 1, params, err);

	(void)ms;
	if (!res)
		return -1;
	if (pg->api.ntuples(res) > 0)
		((struct read_ctx *)vctx)->doc = json_true();
	pg->api.clear(res);
	return 0;
}

static bool pg_exists(struct metastore *ms, const char *index_id)
{
	struct read_ctx c = { index_id, NULL };
	bool yes = with_retry(ms, exists_body, &c, NULL) == 0 && c.doc;

	json_decref(c.doc);
	return yes;
}

struct create_ctx {
	const char *index_id;
	json_t *doc;
	bool overwrite;
	json_t *old;         /* the replaced document, for its files */
};

static int create_body(struct metastore *ms, struct pg *pg, void *vctx, struct qw_err *err)
{
	struct create_ctx *c = vctx;
	const char *params[] = { c->index_id };
	bool changed;
	int found;

	(void)ms;
	json_decref(c->old);
	c->old = NULL;
	drop_cache(pg);
	if (run(pg, "BEGIN", 0, NULL, err) < 0)
		return -1;
	found = lock_index(pg, c->index_id, err);
	if (found < 0)
		return -1;
	if (found) {
		if (!c->overwrite) {
			pg->retry = false;
			return err_set(err, EX_CANTCREAT,
				       "index '%s' already exists (use --overwrite to replace it)",
				       c->index_id);
		}
		c->old = load_doc(pg, c->index_id, err);
		if (!c->old ||
		    run(pg, "DELETE FROM qw_indexes WHERE index_id = $1", 1, params, err) < 0)
			return -1;
	}
	if (write_changes(pg, c->index_id, NULL, c->doc, 1, &changed, err) < 0)
		return -1;
	return run(pg, "COMMIT", 0, NULL, err);
}

static int pg_create(struct metastore *ms, const char *index_id, json_t *doc, bool overwrite,
		     struct qw_err *err)
{
	struct create_ctx c = { index_id, doc, overwrite, NULL };
	int ret = -1;

	if (with_retry(ms, create_body, &c, err) < 0)
		goto out;
	/* the records are gone first: a file left behind is an orphan */
	if (c.old && (metastore_remove_external_splits(ms, index_id, c.old, err) < 0 ||
		      metastore_remove_local_dir(ms, index_id, err) < 0))
		goto out;
	if (metastore_make_split_dirs(ms, index_id, doc, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(c.old);
	return ret;
}

static int remove_body(struct metastore *ms, struct pg *pg, void *vctx, struct qw_err *err)
{
	struct create_ctx *c = vctx;
	const char *params[] = { c->index_id };
	int found;

	(void)ms;
	json_decref(c->old);
	c->old = NULL;
	if (run(pg, "BEGIN", 0, NULL, err) < 0)
		return -1;
	found = lock_index(pg, c->index_id, err);
	if (found <= 0) {
		if (found == 0) {
			pg->retry = false;
			metastore_no_index(pg->ms, c->index_id, err);
		}
		return -1;
	}
	drop_cache(pg);
	/* a broken document does not keep the index (its files stay) */
	c->old = load_doc(pg, c->index_id, NULL);
	if (run(pg, "DELETE FROM qw_indexes WHERE index_id = $1", 1, params, err) < 0)
		return -1;
	return run(pg, "COMMIT", 0, NULL, err);
}

static int pg_remove(struct metastore *ms, const char *index_id, struct qw_err *err)
{
	struct create_ctx c = { index_id, NULL, false, NULL };
	int ret = -1;

	if (with_retry(ms, remove_body, &c, err) < 0)
		goto out;
	if (c.old && metastore_remove_external_splits(ms, index_id, c.old, err) < 0)
		goto out;
	if (metastore_remove_local_dir(ms, index_id, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(c.old);
	return ret;
}

struct update_ctx {
	const char *index_id;
	metastore_tx_fn fn;
	void *ctx;
};

/*
 * The document a transaction's function may change: every object and
 * array copied, the scalars shared with old (a deep copy and its compare
 * were most of a publish's client time on an index of 1000 splits). An
 * unchanged split record then holds old's very values, which json_equal()
 * matches by pointer. Safe as long as no function changes a scalar in
 * place (json_integer_set() & co: none does, metastore.h asks it): they
 * replace values in their containers, which are this copy's own.
 */
static json_t *copy_containers(json_t *v)
{
	const char *key;
	json_t *c, *e;
	size_t i;

	if (json_is_object(v)) {
		c = json_object();
		json_object_foreach(v, key, e) {
			if (!c || json_object_set_new(c, key, copy_containers(e)) < 0) {
				json_decref(c);
				return NULL;
			}
		}
		return c;
	}
	if (json_is_array(v)) {
		c = json_array();
		json_array_foreach(v, i, e) {
			if (!c || json_array_append_new(c, copy_containers(e)) < 0) {
				json_decref(c);
				return NULL;
			}
		}
		return c;
	}
	return json_incref(v);
}

static int update_body(struct metastore *ms, struct pg *pg, void *vctx, struct qw_err *err)
{
	struct update_ctx *c = vctx;
	json_t *old = NULL, *doc = NULL;
	int64_t seq = 0;
	bool changed = false;
	int found, ret = -1;

	(void)ms;
	if (run(pg, "BEGIN", 0, NULL, err) < 0)
		goto out;
	found = lock_index(pg, c->index_id, err);
	if (found <= 0) {
		if (found == 0) {
			pg->retry = false;
			metastore_no_index(pg->ms, c->index_id, err);
		}
		goto out;
	}
	old = load_locked(pg, c->index_id, &seq, err);   /* after the lock: the latest commit */
	if (!old)
		goto out;
	doc = copy_containers(old);
	if (!doc) {
		err_set(err, EX_SOFTWARE, "postgresql metastore: cannot copy index '%s'", c->index_id);
		goto out;
	}
	if (c->fn(doc, c->ctx, err) < 0) {
		pg->retry = false;      /* refused by the caller's rules: final */
		goto out;
	}
	if (write_changes(pg, c->index_id, old, doc, seq + 1, &changed, err) < 0 ||
	    run(pg, "COMMIT", 0, NULL, err) < 0)
		goto out;
	/* the committed document, for the next update of this index */
	if (!pg->cache_id || strcmp(pg->cache_id, c->index_id)) {
		drop_cache(pg);
		pg->cache_id = xstrdup(c->index_id);
	}
	json_decref(pg->cache_doc);
	pg->cache_doc = changed ? doc : old;
	json_incref(pg->cache_doc);
	pg->cache_seq = changed ? seq + 1 : seq;
	ret = 0;
out:
	if (ret < 0)
		drop_cache(pg);
	json_decref(doc);
	json_decref(old);
	return ret;
}

static int pg_update(struct metastore *ms, const char *index_id, metastore_tx_fn fn, void *ctx,
		     struct qw_err *err)
{
	struct update_ctx c = { index_id, fn, ctx };

	return with_retry(ms, update_body, &c, err);
}

struct list_ctx {
	char **ids;
	size_t n;
};

static int list_body(struct metastore *ms, struct pg *pg, void *vctx, struct qw_err *err)
{
	struct list_ctx *c = vctx;
	PGresult *res = q(pg, "SELECT index_id FROM qw_indexes ORDER BY index_id COLLATE \"C\"", 0,
			  NULL, err);
	int n;

	(void)ms;
	if (!res)
		return -1;
	n = pg->api.ntuples(res);
	metastore_free_list(c->ids, c->n);
	c->ids = xcalloc((size_t)n + 1, sizeof(*c->ids));
	for (int i = 0; i < n; i++)
		c->ids[i] = xstrdup(pg->api.getvalue(res, i, 0));
	c->n = (size_t)n;
	pg->api.clear(res);
	return 0;
}

static int pg_list(struct metastore *ms, char ***ids, size_t *n, struct qw_err *err)
{
	struct list_ctx c = { NULL, 0 };

	*ids = NULL;
	*n = 0;
	if (with_retry(ms, list_body, &c, err) < 0) {
		metastore_free_list(c.ids, c.n);
		return -1;
	}
	*ids = c.ids;
	*n = c.n;
	return 0;
}

/* Nothing: with_retry() connects (and migrates) before any body. */
static int connect_body(struct metastore *ms, struct pg *pg, void *vctx, struct qw_err *err)
{
	(void)ms, (void)pg, (void)vctx, (void)err;
	return 0;
}

static void pg_close(struct metastore *ms)
{
	struct pg *pg = pg_of(ms);

	if (!pg)
		return;
	drop_cache(pg);
	if (pg->conn)
		pg->api.finish(pg->conn);
	pq_api_close(&pg->api);
	free(pg->conninfo);
	free(pg);
	ms->be = NULL;
}

static const struct metastore_ops pg_ops = {
	.read = pg_read,
	.create = pg_create,
	.remove = pg_remove,
	.update = pg_update,
	.list = pg_list,
	.exists = pg_exists,
	.close = pg_close,
};

int metastore_pg_open(struct metastore *ms, const char *uri, struct qw_err *err)
{
	const char *env = getenv("QW_METASTORE_RETRY_SECS");
	struct pg *pg = xcalloc(1, sizeof(*pg));
	long secs = RETRY_DEFAULT_S;

	if (env && *env) {
		char *end;

		secs = strtol(env, &end, 10);
		if (*end || secs < 0 || secs > 86400) {
			free(pg);
			return err_set(err, EX_USAGE,
				       "invalid QW_METASTORE_RETRY_SECS '%s' (expected 0 to 86400)", env);
		}
	}
	if (pq_api_load(&pg->api, err) < 0) {
		free(pg);
		return -1;
	}
	pg->conninfo = xstrdup(uri);
	pg->retry_ms = (int64_t)secs * 1000;
	/* retries in real time: a restarting server takes what it takes */
	pg->clk.scale = 1.0;
	pg->ms = ms;
	ms->be = pg;
	ms->ops = &pg_ops;
	/* connect now, so that a wrong URI or a server down is said at open */
	return with_retry(ms, connect_body, NULL, err);
}
