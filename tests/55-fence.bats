#!/usr/bin/env bats
# qw-pipeline: one owner per (index, source); a fenced or duplicate pipeline
# stops with 75 and names the other; a stage failure quotes its cause.
load helpers
load pipeline-helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
	make_index own
	# N documents whose ids the oracle (seq) knows
	seq 1 200 | awk '{ printf "{\"n\":%d}\n", $1 }' >"$T/in.ndjson"
}

teardown() {
	local p
	for p in ${PIDS:-}; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for f in "$T"/*.err; do
		[ -s "$f" ] || continue
		echo "--- $f:" >&2
		cat "$f" >&2
	done
}

# bg NAME ARGS...: qw-pipeline in the background, its pid in $NAME_PID
bg() {
	local name=$1
	shift
	qw-pipeline "$@" >"$T/$name.out" 2>"$T/$name.err" 3>&- &
	printf -v "${name}_PID" '%s' "$!"
	PIDS="${PIDS:-} $!"
}

# The published documents' n values, sorted (from the split files by
# qw-search, compared with seq: each exactly once).
published_ns() {
	qw-search --index own --max-hits 100000 --format ndjson '*' | jq -r .n | sort -n
}

@test "two pipelines started at once: exactly one runs, the other exits 75 naming it" {
	RANDOM=${QW_TEST_SEED:-4242}
	# which one starts first and by how much is drawn from the seed
	first=$((RANDOM % 2))
	delay=0.0$((RANDOM % 10))
	if [ "$first" = 0 ]; then
		bg A --index own --follow --quiet "$T/in.ndjson"
		sleep "$delay"
		bg B --index own --follow --quiet "$T/in.ndjson"
	else
		bg B --index own --follow --quiet "$T/in.ndjson"
		sleep "$delay"
		bg A --index own --follow --quiet "$T/in.ndjson"
	fi
	# the loser stops by itself
	wait_until 60 bash -c "! kill -0 $A_PID 2>/dev/null || ! kill -0 $B_PID 2>/dev/null"
	if kill -0 "$A_PID" 2>/dev/null; then win=A loser=B; else win=B loser=A; fi
	wpid=${win}_PID lpid=${loser}_PID
	rc=0
	wait "${!lpid}" || rc=$?
	[ "$rc" = 75 ]
	grep -q "^qw-pipeline: source 'files' of index 'own' is owned by pipeline [0-9A-Z]* (pid ${!wpid} on host '$(hostname)', started .*) (--takeover fences it)$" "$T/$loser.err"
	wait_until 60 docs_are own 200
	kill -TERM "${!wpid}"
	rc=0
	wait "${!wpid}" || rc=$?
	[ "$rc" = 0 ]
	[ "$(published_ns)" = "$(seq 1 200)" ]
	# a clean exit ends the lease: the source is free
	[ "$(jq '.publish_owners.files.lease_until' "$(meta own)")" = 0 ]
	[ "$(jq '.publish_owners.files.pid' "$(meta own)")" = "${!wpid}" ]
}

@test "a fenced --follow pipeline exits 75 naming the pipeline that took over" {
	bg A --index own --follow --quiet "$T/in.ndjson"
	wait_until 60 docs_are own 200
	bg B --index own --follow --quiet --takeover "$T/in.ndjson"
	rc=0
	wait "$A_PID" || rc=$?
	[ "$rc" = 75 ]
	grep -q "^qw-pipeline: fenced by pipeline [0-9A-Z]* (pid $B_PID on host '$(hostname)', started .*): the publish token of source 'files' of index 'own' is not ours any more$" "$T/A.err"
	grep -q "^qw-pipeline: took source 'files' of index 'own' over from pipeline [0-9A-Z]* (pid $A_PID on host " "$T/B.err"
	# the new owner indexes what is appended, once
	seq 201 260 | awk '{ printf "{\"n\":%d}\n", $1 }' >>"$T/in.ndjson"
	wait_until 60 docs_are own 260
	kill -TERM "$B_PID"
	rc=0
	wait "$B_PID" || rc=$?
	[ "$rc" = 0 ]
	[ "$(published_ns)" = "$(seq 1 260)" ]
}

@test "a token taken by hand fences a running pipeline: it exits 75 and says so" {
	bg A --index own --follow --quiet "$T/in.ndjson"
	wait_until 60 docs_are own 200
	qw-publish --new-token --index own --source files >/dev/null
	rc=0
	wait "$A_PID" || rc=$?
	[ "$rc" = 75 ]
	grep -q "^qw-pipeline: fenced by a publish token taken by no pipeline (qw-publish --new-token): " "$T/A.err"
}

@test "the owner of a pipeline killed with -9 is seen dead at once: the next one starts" {
	bg A --index own --follow --quiet "$T/in.ndjson"
	wait_until 60 docs_are own 200
	kill -KILL "$A_PID"
	wait "$A_PID" || true
	# the record of the dead owner is still there
	[ "$(jq -r .publish_owners.files.pid "$(meta own)")" = "$A_PID" ]
	seq 201 230 | awk '{ printf "{\"n\":%d}\n", $1 }' >>"$T/in.ndjson"
	run -0 qw-pipeline --index own --once --quiet "$T/in.ndjson"
	[ "$(published_ns)" = "$(seq 1 230)" ]
}

# own_record HOST LEASE_UNTIL: an owner record of the current token
own_record() {
	local m tok
	m=$(meta own)
	tok=$(qw-publish --new-token --index own --source files)
	jq --arg t "$tok" --arg h "$1" --argjson l "$2" \
		'.publish_owners = {files: {token: $t, pipeline_id: "01JZZZZZZZZZZZZZZZZZZZZZZZ",
		  pid: 4242, host: $h, start_timestamp: 1700000000, lease_until: $l}}' "$m" >"$m.new"
	mv "$m.new" "$m"
}

@test "an owner record of this host whose pipeline is gone is taken over at once" {
	own_record "$(hostname)" $(($(date +%s) + 3600))
	run -0 qw-pipeline --index own --once --quiet "$T/in.ndjson"
	[ "$(published_ns)" = "$(seq 1 200)" ]
}

@test "an owner on another host is refused while its lease runs, taken once it expired" {
	own_record other-host.example $(($(date +%s) + 3600))
	run -75 --separate-stderr qw-pipeline --index own --once --quiet "$T/in.ndjson"
	[ "$stderr" = "qw-pipeline: source 'files' of index 'own' is owned by pipeline 01JZZZZZZZZZZZZZZZZZZZZZZZ (pid 4242 on host 'other-host.example', started 2023-11-14T22:13:20Z) (--takeover fences it)" ]
	[ "$(published_docs own)" = 0 ]
	own_record other-host.example $(($(date +%s) - 1))
	run -0 qw-pipeline --index own --once --quiet "$T/in.ndjson"
	[ "$(published_ns)" = "$(seq 1 200)" ]
}

@test "--takeover fences a live owner on purpose" {
	own_record other-host.example $(($(date +%s) + 3600))
	run -0 --separate-stderr qw-pipeline --index own --once --quiet --takeover "$T/in.ndjson"
	[[ "$stderr" == *"took source 'files' of index 'own' over from pipeline 01JZZZZZZZZZZZZZZZZZZZZZZZ (pid 4242 on host 'other-host.example'"* ]]
	[ "$(published_ns)" = "$(seq 1 200)" ]
}

@test "a failing stage is reported by its cause, not its summary line" {
	run -66 --separate-stderr qw-pipeline --index own --once --quiet "$T/nosuch.log"
	last=$(tail -n 1 <<<"$stderr")
	[ "$last" = "qw-pipeline: qw-parse exited with status 66 (qw-parse: cannot open '$T/nosuch.log': No such file or directory)" ]
	grep -qx "qw-pipeline: generation 1 failed: qw-parse exited with status 66 (qw-parse: cannot open '$T/nosuch.log': No such file or directory)" <<<"$stderr"
}
