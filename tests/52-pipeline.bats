#!/usr/bin/env bats
# qw-pipeline: end to end, supervision, restarts, fencing, signals.
load helpers
load pipeline-helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
}

teardown() {
	# never leave a pipeline behind (its stages die with it)
	if [ -n "${PIPE_PID:-}" ] && kill -0 "$PIPE_PID" 2>/dev/null; then
		kill -KILL "$PIPE_PID" 2>/dev/null || true
	fi
}

# start_pipeline OUT ERR ARGS...: in the background, PIPE_PID set
start_pipeline() {
	local out=$1 err=$2
	shift 2
	qw-pipeline "$@" >"$out" 2>"$err" 3>&- &
	PIPE_PID=$!
}

@test "qw-pipeline --help prints the usage on stdout and exits 0" {
	run -0 qw-pipeline --help
	[[ $output == "Usage: qw-pipeline"* ]]
}

@test "qw-pipeline needs --index, one of --once and --follow, and an input" {
	run -64 qw-pipeline --once x
	run -64 qw-pipeline --index abc x
	run -64 qw-pipeline --index abc --once --follow x
	run -64 qw-pipeline --index abc --once
	run -64 --separate-stderr qw-pipeline --bogus
	[[ $stderr == *"Usage: qw-pipeline"* ]]
}

@test "qw-pipeline fails with 66 on an unknown index" {
	run -66 --separate-stderr qw-pipeline --index no-such --once /dev/null
	[[ $stderr == "qw-pipeline: "*"no-such"* ]]
}

@test "qw-pipeline --once indexes plain logs: one document per line, checkpoint at the file size" {
	require_shared_data
	make_index logs
	hdfs=$QW_SHARED_DATA/loghub/HDFS_2k.log
	apache=$QW_SHARED_DATA/loghub/Apache_2k.log
	run -0 --separate-stderr qw-pipeline --index logs --once --quiet "$hdfs" "$apache"
	records=$(( $(awk 'END {print NR}' "$hdfs") + $(awk 'END {print NR}' "$apache") ))
	[ "$(published_docs logs)" = "$records" ]
	[ "$(checkpoint logs files "$hdfs")" = "$(stat -c %s "$hdfs")" ]
	[ "$(checkpoint logs files "$apache")" = "$(stat -c %s "$apache")" ]
	[ "$(count_state logs Staged)" = 0 ]
	# stdout: the published records, then eof
	[ "$(echo "$output" | tr -d '\036' | jq -s '[.[] | select(.type == "published") | .num_docs] | add')" = "$records" ]
	# no scratch left behind
	[ -z "$(ls -A "$QW_DATA_DIR/scratch" 2>/dev/null)" ]
}

@test "qw-pipeline --once again indexes nothing new, then only appended lines" {
	require_shared_data
	make_index again 300
	otrf_slice 600 "$T/in.ndjson"
	run -0 qw-pipeline --index again --once --quiet "$T/in.ndjson"
	[ "$(published_docs again)" = "$(valid_lines "$T/in.ndjson")" ]
	before=$(jq -c .splits "$(meta again)")
	run -0 qw-pipeline --index again --once --quiet "$T/in.ndjson"
	[ "$(jq -c .splits "$(meta again)" | jq 'map(select(.split_state == "Published")) | length')" = \
	  "$(echo "$before" | jq 'map(select(.split_state == "Published")) | length')" ]
	[ "$(published_docs again)" = "$(valid_lines "$T/in.ndjson")" ]
	zstd -dc "$QW_SHARED_DATA/otrf/otrf-windows-events.ndjson.zst" | sed -n '601,650p' >>"$T/in.ndjson"
	run -0 qw-pipeline --index again --once --quiet "$T/in.ndjson"
	[ "$(published_docs again)" = "$(valid_lines "$T/in.ndjson")" ]
	[ "$(valid_lines "$T/in.ndjson")" = 650 ]
	[ "$(checkpoint again files "$T/in.ndjson")" = "$(stat -c %s "$T/in.ndjson")" ]
}

@test "qw-pipeline counts invalid lines and writes the status file" {
	require_shared_data
	make_index inv
	otrf_slice 300 "$T/in.ndjson"
	{ echo 'not json'; echo '[1,2]'; } >>"$T/in.ndjson"
	run -0 qw-pipeline --index inv --once --quiet --status-file "$T/status.json" "$T/in.ndjson"
	[ "$(published_docs inv)" = 300 ]
	[ "$(jq -c '[.state, .docs, .invalid_docs, .bytes]' "$T/status.json")" = \
	  "[\"done\",300,2,$(stat -c %s "$T/in.ndjson")]" ]
}

@test "qw-pipeline restarts after kill -9 of a stage and publishes every document once" {
	require_shared_data
	make_index kill9 100
	otrf_slice 800 "$T/in.ndjson"
	QW_TEST_UPLOAD_DELAY_MS=150 start_pipeline "$T/out" "$T/err" --index kill9 --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --backoff-initial 0.1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 status_at_least "$T/status.json" splits_published 1
	# qw-index when it still runs (it holds documents), else the slow qw-upload
	victim=qw-index
	pid=$(stage_pid "$PIPE_PID" qw-index) || { victim=qw-upload; pid=$(stage_pid "$PIPE_PID" qw-upload); }
	kill -KILL "$pid"
	wait "$PIPE_PID"
	cat "$T/err" >&2
	status_at_least "$T/status.json" restarts 1
	grep -q "$victim killed by signal 9" "$T/err"
	[ "$(published_docs kill9)" = 800 ]
	# the multiset of published documents is the multiset of input lines
	diff <(qw-search --index kill9 --format ndjson --max-hits 2000 '*' | jq -cS . | sort) \
		<(jq -cS . "$T/in.ndjson" | sort)
	[ "$(checkpoint kill9 files "$T/in.ndjson")" = "$(stat -c %s "$T/in.ndjson")" ]
}

@test "qw-pipeline kills a stalled generation and restarts it" {
	require_shared_data
	make_index stall 100
	otrf_slice 500 "$T/in.ndjson"
	QW_TEST_UPLOAD_DELAY_MS=150 start_pipeline "$T/out" "$T/err" --index stall --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --stall-timeout 1 --backoff-initial 0.1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 status_at_least "$T/status.json" splits_published 1
	kill -STOP "$(stage_pid "$PIPE_PID" qw-upload)"
	wait "$PIPE_PID"
	grep -q "stalled" "$T/err"
	status_at_least "$T/status.json" restarts 1
	[ "$(published_docs stall)" = 500 ]
}

@test "qw-pipeline gives its stages no inherited descriptor but their pipes" {
	require_shared_data
	make_index fds 50
	otrf_slice 400 "$T/in.ndjson"
	QW_TEST_UPLOAD_DELAY_MS=300 start_pipeline "$T/out" "$T/err" --index fds --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 status_at_least "$T/status.json" splits_published 1
	# hold the chain still while we look at it
	up=$(stage_pid "$PIPE_PID" qw-upload)
	pub=$(stage_pid "$PIPE_PID" qw-publish)
	kill -STOP "$up"
	# pipe inodes held at fd >= 3 by each process of the tree
	procs="$PIPE_PID $(pgrep -P "$PIPE_PID")"
	for p in $procs; do
		for fd in /proc/$p/fd/*; do
			n=${fd##*/}
			l=$(readlink "$fd") || continue
			case $l in pipe:*) echo "$p $n $l" ;; esac
		done
	done >"$T/pipes"
	kill -CONT "$up"
	cat "$T/pipes" >&2
	# a stage's pipe at fd >= 3 that another process also holds is a leak
	leaks=$(awk -v pp="$PIPE_PID" '
		{ holders[$3] = holders[$3] " " $1; if ($2 >= 3 && $1 != pp) high[$1 " " $3] = 1 }
		END {
			for (k in high) {
				split(k, a, " ")
				n = split(holders[a[2]], h, " ")
				for (i = 1; i <= n; i++) if (h[i] != a[1]) { print k; break }
			}
		}' "$T/pipes")
	[ -z "$leaks" ]
	# qw-upload and qw-publish read and write pipes on 0 and 1
	for p in $up $pub; do
		grep -q "^$p 0 pipe:" "$T/pipes"
		grep -q "^$p 1 pipe:" "$T/pipes"
	done
	wait "$PIPE_PID"
}

@test "qw-pipeline gives up after --max-restarts failed generations and exits 75" {
	make_index giveup
	printf '{"a":1}\n' >"$T/in.ndjson"
	# the split directory is a file: every upload fails
	rm -rf "$QW_DATA_DIR/indexes/giveup/splits"
	echo x >"$QW_DATA_DIR/indexes/giveup/splits"
	run -75 --separate-stderr qw-pipeline --index giveup --once --quiet --max-restarts 2 \
		--backoff-initial 0.05 "$T/in.ndjson"
	[[ $stderr == *"qw-pipeline: giving up after 3 failed generations"*"qw-upload exited with status"* ]]
	[ "$(echo "$stderr" | grep -c "generation . failed")" = 3 ]
	[ "$(published_docs giveup)" = 0 ]
}

@test "qw-pipeline stops on SIGTERM, publishes what it read and exits 0" {
	require_shared_data
	make_index term 100
	otrf_slice 600 "$T/in.ndjson"
	QW_TEST_UPLOAD_DELAY_MS=200 start_pipeline "$T/out" "$T/err" --index term --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 status_at_least "$T/status.json" splits_published 1
	kill -TERM "$PIPE_PID"
	rc=0
	wait "$PIPE_PID" || rc=$?
	[ "$rc" = 0 ]
	pos=$(checkpoint term files "$T/in.ndjson")
	[ "$(published_docs term)" = "$(head -c "$pos" "$T/in.ndjson" | jq -c . | wc -l)" ]
	[ "$(count_state term Staged)" = 0 ] || qw-gc --index term >/dev/null
	# the next run finishes the job, without a duplicate
	run -0 qw-pipeline --index term --once --quiet "$T/in.ndjson"
	[ "$(published_docs term)" = 600 ]
}

@test "a newer pipeline fences an older one: its publishes are refused, no document twice" {
	require_shared_data
	make_index fence 100
	otrf_slice 700 "$T/in.ndjson"
	QW_TEST_UPLOAD_DELAY_MS=300 start_pipeline "$T/out" "$T/err" --index fence --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --max-restarts 0 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 status_at_least "$T/status.json" splits_published 1
	# the newer pipeline takes a new token and indexes the rest
	run -0 qw-pipeline --index fence --once --quiet "$T/in.ndjson"
	# the older one is refused at its next publish and gives up
	rc=0
	wait "$PIPE_PID" || rc=$?
	[ "$rc" = 75 ]
	grep -q "stale" "$T/err"
	[ "$(published_docs fence)" = 700 ]
	[ "$(checkpoint fence files "$T/in.ndjson")" = "$(stat -c %s "$T/in.ndjson")" ]
	# what the fenced generation staged is garbage: gc removes it
	qw-gc --index fence >/dev/null
	[ "$(count_state fence Staged)" = 0 ]
	[ "$(published_docs fence)" = 700 ]
}

@test "qw-pipeline --follow publishes appended lines, then stops on SIGTERM with 0" {
	require_shared_data
	make_index follow
	otrf_slice 150 "$T/all.ndjson"
	head -n 100 "$T/all.ndjson" >"$T/in.ndjson"
	start_pipeline "$T/out" "$T/err" --index follow --follow --quiet \
		--status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_are follow 100
	tail -n 50 "$T/all.ndjson" >>"$T/in.ndjson"
	wait_until 120 docs_are follow 150
	kill -TERM "$PIPE_PID"
	rc=0
	wait "$PIPE_PID" || rc=$?
	[ "$rc" = 0 ]
	[ "$(jq -r .state "$T/status.json")" = done ]
	[ "$(checkpoint follow files "$T/in.ndjson")" = "$(stat -c %s "$T/in.ndjson")" ]
	[ "$(published_docs follow)" = 150 ]
}

@test "a second SIGTERM kills the group at once and exits 143" {
	require_shared_data
	make_index twice
	otrf_slice 100 "$T/in.ndjson"
	start_pipeline "$T/out" "$T/err" --index twice --follow --quiet \
		--status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_are twice 100
	stages=$(pgrep -P "$PIPE_PID")
	# a stuck last stage: the first signal cannot finish the run
	kill -STOP "$(stage_pid "$PIPE_PID" qw-publish)"
	kill -TERM "$PIPE_PID"
	wait_until 60 status_is "$T/status.json" stopping
	kill -TERM "$PIPE_PID"
	rc=0
	wait "$PIPE_PID" || rc=$?
	[ "$rc" = 143 ]
	# no stage survives
	for p in $stages; do
		! kill -0 "$p" 2>/dev/null
	done
}
