#!/usr/bin/env bats
# qw-pipeline --follow supervising its qw-merge (merge_sibling.h): a dead
# qw-merge is restarted with backoff, one that keeps dying is switched off
# (the kill switch), and indexing goes on whatever the merge does.
# Oracles: the raw metastore file (published documents) and /proc (which
# children run).
load helpers
load pipeline-helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
}

lines() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++) printf("{\"n\":%d,\"msg\":\"line %d\"}\n", i, i) }'
}

# A qw-merge child of the pipeline other than pid $1 (prints it).
other_merge() {
	local m
	m=$(stage_pid "$PIPE_PID" qw-merge) || return 1
	[ "$m" != "$1" ] && echo "$m"
}

start() {
	qw-pipeline "$@" >"$T/out" 2>"$T/err" 3>&- &
	PIPE_PID=$!
}

stop() {
	local rc=0
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/err"; false; }
}

@test "a qw-merge that dies is restarted with backoff; indexing never stops" {
	make_index sup 10000000 1
	lines 1 50 >"$T/in.ndjson"
	start --index sup --follow --backoff-initial 0.1 --backoff-max 5 --max-restarts 3 \
		"$T/in.ndjson"
	wait_until 60 docs_are sup 50
	wait_until 30 stage_pid "$PIPE_PID" qw-merge
	m1=$(stage_pid "$PIPE_PID" qw-merge)
	kill -9 "$m1"
	wait_until 30 other_merge "$m1"
	m2=$(other_merge "$m1")
	grep -q "qw-merge was killed by signal 9: restarting it in 100 ms; indexing goes on" "$T/err"
	# the second death waits twice as long
	kill -9 "$m2"
	wait_until 30 other_merge "$m2"
	grep -q "qw-merge was killed by signal 9: restarting it in 200 ms" "$T/err"
	lines 51 80 >>"$T/in.ndjson"
	wait_until 60 docs_are sup 80
	m3=$(stage_pid "$PIPE_PID" qw-merge)
	stop
	# the pipeline's end is the merge's end
	[ ! -e "/proc/$m3" ] || [ "$(cat "/proc/$m3/comm" 2>/dev/null)" != qw-merge ]
	[ "$(published_docs sup)" -eq 80 ]
}

@test "the kill switch: a qw-merge dying more than --max-restarts times in a row is switched off" {
	make_index kswitch 10000000 1
	lines 1 20 >"$T/in.ndjson"
	start --index kswitch --follow --backoff-initial 0.1 --backoff-max 10 --max-restarts 2 \
		"$T/in.ndjson"
	wait_until 60 docs_are kswitch 20
	wait_until 30 stage_pid "$PIPE_PID" qw-merge
	m=$(stage_pid "$PIPE_PID" qw-merge)
	for _ in 1 2; do
		kill -9 "$m"
		wait_until 30 other_merge "$m"
		m=$(other_merge "$m")
	done
	kill -9 "$m"
	wait_until 30 grep -q "merges are switched off for this run; indexing goes on" "$T/err"
	# indexing goes on, and no qw-merge is started again
	lines 21 60 >>"$T/in.ndjson"
	wait_until 60 docs_are kswitch 60
	! stage_pid "$PIPE_PID" qw-merge
	[ "$(grep -c 'restarting it' "$T/err")" -eq 2 ]
	stop
	[ "$(published_docs kswitch)" -eq 60 ]
}
