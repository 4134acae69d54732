#!/usr/bin/env bats
# The postgresql:// metastore against a private cluster per test
# (tests/pg-helpers.bash: initdb in a temp dir, unix socket, stopped in
# teardown). Oracles: the metastore contract suite's own call sequence,
# arithmetic, the database's tables read with psql, and the input lines.

load helpers
load pg-helpers
load pipeline-helpers

setup() {
	T=$BATS_TEST_TMPDIR
	setup_datadir
	start_pg
	export QW_METASTORE_URI=$QW_TEST_PG_URI
}

teardown() {
	stop_pg
}

psql_q() {
	"$PG_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 "$QW_TEST_PG_URI" -c "$1"
}

make_pg_index() {
	cat >"$T/$1.yaml" <<EOF
version: 0.8
index_id: $1
index_uri: file://$T/splits-$1
doc_mapping:
  mode: dynamic
indexing_settings:
  commit_timeout_secs: 60
  split_num_docs_target: ${2:-10000000}
EOF
	qw index create --index-config "$T/$1.yaml" >/dev/null
}

@test "the metastore contract suite passes on PostgreSQL" {
	run "$QW_BUILDDIR/tests/unit/metastore_contract_test" "$QW_TEST_PG_URI"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep '^not ok' <<<"$output")" ]
	grep -q '^1\.\.' <<<"$output"
	# the schema is at its version and the suite left no index behind
	[ "$(psql_q 'SELECT version FROM qw_schema')" = 1 ]
	[ "$(psql_q 'SELECT count(*) FROM qw_indexes')" = 0 ]
}

@test "8 processes x 200 publishes into one index lose none on PostgreSQL" {
	QW_TEST_PROCS=8 QW_TEST_PUBLISHES=200 run "$QW_BUILDDIR/tests/unit/metastore_concurrency_test" \
		"$QW_TEST_PG_URI"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep '^not ok' <<<"$output")" ]
	grep -q '1600 published splits' <<<"$output"
}

@test "qw index and split commands work on PostgreSQL; the tables hold what was staged and published" {
	make_pg_index pgcli
	qw --metastore-uri "$QW_TEST_PG_URI" index list | awk 'NR > 1 { print $1 }' | grep -qx pgcli
	[ "$(qw --format json index describe --index pgcli | jq -r .index_id)" = pgcli ]
	# nothing in the data dir's file metastore: the index is in the database
	[ ! -e "$QW_DATA_DIR/indexes/pgcli/metastore.json" ]
	[ "$(psql_q "SELECT index_config->>'index_id' FROM qw_indexes WHERE index_id = 'pgcli'")" = pgcli ]
	# a pipeline through the database; the searcher sees every line once
	seq 1 500 | awk '{printf "{\"n\":%d,\"msg\":\"line %d\"}\n", $1, $1}' >"$T/in.ndjson"
	qw-pipeline --index pgcli --once --quiet --no-merge --backoff-initial 0.1 "$T/in.ndjson"
	[ "$(qw-search --index pgcli --format count '*')" = 500 ]
	diff <(qw-search --index pgcli --format ndjson --max-hits 1000 '*' | jq -r .n | sort -n) \
		<(seq 1 500)
	[ "$(psql_q "SELECT sum(num_docs) FROM qw_splits WHERE index_id = 'pgcli' AND split_state = 'Published'")" = 500 ]
	[ "$(psql_q "SELECT checkpoints->'files'->>'$T/in.ndjson' FROM qw_indexes WHERE index_id = 'pgcli'")" = \
	  "$(stat -c %s "$T/in.ndjson")" ]
	n=$(psql_q "SELECT count(*) FROM qw_splits WHERE index_id = 'pgcli'")
	[ "$(qw --format json split list --index pgcli | jq length)" = "$n" ]
	run --separate-stderr qw index delete --index pgcli --yes
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(psql_q 'SELECT count(*) FROM qw_splits')" = 0 ]
	run -66 qw index describe --index pgcli
}

@test "a pipeline's read-only stages take the index from its snapshot: no PostgreSQL connection of their own" {
	make_pg_index pgconn
	# every new connection from now on is logged with its application_name
	psql_q "ALTER SYSTEM SET log_connections = on" >/dev/null
	psql_q "SELECT pg_reload_conf()" >/dev/null
	seq 1 300 | awk '{printf "{\"n\":%d}\n", $1}' >"$T/in.ndjson"
	qw-pipeline --index pgconn --once --quiet --no-merge --backoff-initial 0.1 "$T/in.ndjson"
	diff <(qw-search --index pgconn --format ndjson --max-hits 1000 '*' | jq -r .n | sort -n) \
		<(seq 1 300)
	grep -o 'application_name=[a-z-]*' "$PG_DIR/log" | sort | uniq -c >"$T/apps"
	cat "$T/apps"
	# the stages that write connect, named by their program ...
	grep -q ' application_name=qw-pipeline$' "$T/apps"
	grep -q ' application_name=qw-upload$' "$T/apps"
	grep -q ' application_name=qw-publish$' "$T/apps"
	# ... those that only read did not
	! grep -Eq 'application_name=qw-(parse|index|package)$' "$T/apps"
}

@test "database down: bounded retries, then exit 75 with the server's message" {
	make_pg_index pgdown
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
	SECONDS=0
	QW_METASTORE_RETRY_SECS=2 run -75 --separate-stderr qw index list
	echo "$stderr"
	[ "$SECONDS" -le 15 ]
	[[ $stderr == *"postgresql metastore: cannot connect: "*"$PG_DIR"* ]]
	[[ $stderr == *"gave up after"* ]]
	# started again within the retry time: the call goes through
	QW_METASTORE_RETRY_SECS=60 qw index list >"$T/out" 2>"$T/err" 3>&- &
	pid=$!
	pg_ctl_start
	wait "$pid"
	awk 'NR > 1 { print $1 }' "$T/out" | grep -qx pgdown
}

@test "a connection refused for good is not retried: a wrong or missing password 77, an unknown database 78, at once" {
	psql_q "CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD 'right'"
	# pwuser logs in with a password, the others as before (trust)
	pg_hba_prepend "local all pwuser scram-sha-256"
	psql_q "SELECT pg_reload_conf()" >/dev/null
	base="postgresql://pwuser@/postgres?host=$PG_DIR&port=$PG_PORT"
	# the right password works (the oracle that the role can log in at all)
	PGPASSWORD=right QW_METASTORE_URI=$base run -0 --separate-stderr qw index list
	echo "$stderr"
	export QW_METASTORE_RETRY_SECS=60
	SECONDS=0
	PGPASSWORD=wrong QW_METASTORE_URI=$base run -77 --separate-stderr qw index list
	[[ $stderr == *"cannot connect: "*"password authentication failed"* ]]
	QW_METASTORE_URI=$base run -77 --separate-stderr env -u PGPASSWORD qw index list
	[[ $stderr == *"cannot connect: "* ]]
	QW_METASTORE_URI="postgresql://postgres@/nosuchdb?host=$PG_DIR&port=$PG_PORT" \
		run -78 --separate-stderr qw index list
	[[ $stderr == *'"nosuchdb" does not exist'* ]]
	# none of them waited for the 60 s of retries
	[ "$SECONDS" -lt 30 ]
	[[ $stderr != *"gave up after"* ]]
}

@test "a schema newer than this qw is refused (65), not written over" {
	make_pg_index pgschema
	psql_q 'UPDATE qw_schema SET version = 99'
	run -65 --separate-stderr qw index list
	[[ $stderr == *"schema version 99 is newer"* ]]
	[ "$(psql_q 'SELECT version FROM qw_schema')" = 99 ]
}

@test "a bad metastore uri is a usage error naming it" {
	run -64 --separate-stderr qw --metastore-uri 'mysql://x/y' index list
	[[ $stderr == *"mysql://x/y"* ]]
}

# A count the searcher saw, one per line, to check later.
search_loop() {
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -e "$T/stop" ] && return 0
		qw-search --index shared --format count '*' 2>/dev/null >>"$T/counts" || true
	done
}

@test "three pipelines on three sources into one index, one killed -9, the database restarted: every document once" {
	make_pg_index shared 300
	for k in 1 2 3; do
		seq 1 4000 | awk -v k=$k '{printf "{\"id\":\"s%d-%d\",\"k\":%d,\"msg\":\"line %d of source %d\"}\n", k, $1, k, $1, k}' \
			>"$T/in$k.ndjson"
	done
	total=12000
	search_loop 3>&- &
	spid=$!
	# the victim follows its input: alive (every stage waiting for more)
	# until told to stop, so the kill below always finds its stages, however
	# fast the others end
	victim=$((RANDOM % 3 + 1))
	for k in 1 2 3; do
		mode=--once
		[ "$k" != "$victim" ] || mode=--follow
		QW_DATA_DIR="$T/data$k" qw-pipeline --index shared --source "src$k" "$mode" --quiet \
			--checkpoint-every 100 --drain-ms 200 --backoff-initial 0.1 \
			--status-file "$T/status$k.json" "$T/in$k.ndjson" \
			>"$T/out$k" 2>"$T/err$k" 3>&- &
		eval "pid$k=$!"
	done
	count() {
		local c
		c=$(qw-search --index shared --format count '*' 2>/dev/null) || true
		echo "${c:-0}"
	}
	# once something is published: kill -9 one stage of the victim, at random
	for ((i = 0; i < 600; i++)); do
		[ "$(count)" -gt 0 ] && break
		sleep 0.1
	done
	vpid=$(eval echo "\$pid$victim")
	stages=(qw-parse qw-index qw-package qw-upload qw-publish)
	killed=
	for ((i = 0; i < 200; i++)); do
		s=${stages[RANDOM % 5]}
		if c=$(stage_pid "$vpid" "$s") && kill -KILL "$c" 2>/dev/null; then
			killed=$s
			break
		fi
		sleep 0.05
	done
	[ -n "$killed" ]
	restart_pg
	echo "# killed $killed of pipeline $victim (--follow), then restarted the database" >&3
	for k in 1 2 3; do
		[ "$k" != "$victim" ] || continue
		p=$(eval echo "\$pid$k")
		st=0
		wait "$p" || st=$?
		cat "$T/err$k" >&2
		[ "$st" -eq 0 ]
	done
	# the victim publishes the rest of its input, then stops on SIGTERM with 0
	for ((i = 0; i < 1200; i++)); do
		[ "$(count)" -ge "$total" ] && break
		sleep 0.1
	done
	kill -TERM "$vpid"
	st=0
	wait "$vpid" || st=$?
	cat "$T/err$victim" >&2
	[ "$st" -eq 0 ]
	touch "$T/stop"
	wait "$spid"
	# every document exactly once
	diff <(qw-search --index shared --format ndjson --max-hits 20000 '*' | jq -r .id | sort) \
		<(cat "$T"/in?.ndjson | jq -r .id | sort)
	[ "$(psql_q "SELECT sum(num_docs) FROM qw_splits WHERE index_id = 'shared' AND split_state = 'Published'")" = $total ]
	# the searcher never saw a count go down or past the truth
	[ -s "$T/counts" ]
	echo "# $(wc -l <"$T/counts") searches, $(sort -un "$T/counts" | wc -l) distinct counts" >&3
	awk -v t=$total '$1 > t || $1 < prev { print "count " $1 " after " prev; bad = 1 } { prev = $1 } END { exit bad }' "$T/counts"
}
