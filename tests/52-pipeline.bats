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
	# what a background pipeline said (shown when the test fails)
	if [ -s "$T/err" ]; then
		echo "--- qw-pipeline's stderr:" >&2
		cat "$T/err" >&2
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
	run -0 --separate-stderr qw-pipeline --index logs --once "$hdfs" "$apache"
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

@test "qw-pipeline --once --growing leaves a last line without its newline to the next run, which reads it whole" {
	make_index grow
	printf '{"n": 1, "msg": "one"}\n{"n": 2, "msg": "two"}\n{"n": 3, "msg": "thr' >"$T/live.ndjson"
	whole=$(awk '{ n += length($0) + 1 } END { print n - length($0) - 1 }' "$T/live.ndjson")
	run -0 qw-pipeline --index grow --once --growing --quiet "$T/live.ndjson"
	[ "$(published_docs grow)" = 2 ]
	[ "$(checkpoint grow files "$(realpath "$T/live.ndjson")")" = "$whole" ]
	printf 'ee"}\n' >>"$T/live.ndjson"
	run -0 qw-pipeline --index grow --once --growing --quiet "$T/live.ndjson"
	[ "$(published_docs grow)" = 3 ]
	[ "$(checkpoint grow files "$(realpath "$T/live.ndjson")")" = "$(stat -c %s "$T/live.ndjson")" ]
	diff <(qw-search --index grow --format ndjson --max-hits 10 '*' | jq -cS . | sort) \
		<(jq -cS . "$T/live.ndjson" | sort)
	# with --follow it means nothing: refused
	run -64 qw-pipeline --index grow --follow --growing "$T/live.ndjson"
}

@test "qw-pipeline --once --growing --multiline-start holds the last event until the line after it starts another" {
	make_index growml
	printf '2024-01-01 one\n  at a\n2024-01-02 two\n  at b\n' >"$T/live.log"
	ml='^\d{4}-\d\d-\d\d '
	run -0 qw-pipeline --index growml --once --growing --quiet --multiline-start "$ml" "$T/live.log"
	[ "$(published_docs growml)" = 1 ]
	# the position stays at the start of the open event (awk's offset)
	[ "$(checkpoint growml files "$(realpath "$T/live.log")")" = \
		"$(awk '/^2024-01-02 / { print off } { off += length($0) + 1 }' "$T/live.log")" ]
	# the open event goes on, then another starts: it is indexed whole
	printf '  at c\n2024-01-03 three\n' >>"$T/live.log"
	run -0 qw-pipeline --index growml --once --growing --quiet --multiline-start "$ml" "$T/live.log"
	[ "$(published_docs growml)" = 2 ]
	# each body whole, as one JSON string: the events but the last (Python)
	diff <(qw-search --index growml --format ndjson --max-hits 10 '*' | jq -c .body | sort) \
		<(python3 -c 'import json, re, sys
ev = re.split(r"\n(?=\d{4}-\d\d-\d\d )", open(sys.argv[1]).read().rstrip("\n"))
print("\n".join(json.dumps(e) for e in ev[:-1]))' "$T/live.log" | sort)
}

@test "qw-pipeline --quiet says nothing on success, and only the error on a failure (for cron)" {
	make_index cron
	printf '{"n":1}\n{"n":2}\n' >"$T/in.ndjson"
	run -0 --separate-stderr qw-pipeline --index cron --once --quiet "$T/in.ndjson"
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(published_docs cron)" = 2 ]
	run -66 --separate-stderr qw-pipeline --index cron --once --quiet "$T/nosuch.log"
	[ -z "$output" ]
	[[ "$stderr" == *"cannot open '$T/nosuch.log'"* ]]
	# without --quiet: the records on stdout and the summaries on stderr
	printf '{"n":3}\n' >>"$T/in.ndjson"
	run -0 --separate-stderr qw-pipeline --index cron --once "$T/in.ndjson"
	[ "$(echo "$output" | tr -d '\036' | jq -s '[.[] | select(.type == "published") | .num_docs] | add')" = 1 ]
	[[ "$stderr" == *"qw-parse: 1 docs read"* ]]
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
	# every upload after the first waits for the hold file: the chain is busy
	touch "$T/hold"
	QW_TEST_UPLOAD_HOLD="$T/hold" start_pipeline "$T/out" "$T/err" --index kill9 --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --backoff-initial 0.1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_at_least kill9 1
	# qw-upload, held in the middle of an upload (a split staged, not stored)
	wait_until 120 staged_at_least kill9 1
	victim=qw-upload
	pid=$(wait_until 60 stage_pid "$PIPE_PID" qw-upload)
	kill -KILL "$pid"
	wait_until 120 status_at_least "$T/status.json" restarts 1
	rm "$T/hold"
	wait "$PIPE_PID"
	cat "$T/err" >&2
	status_at_least "$T/status.json" restarts 1
	grep -q "$victim killed by signal 9" "$T/err"
	[ "$(published_docs kill9)" = 800 ]
	# the multiset of published documents is the multiset of input lines
	diff <(qw-search --index kill9 --format ndjson --max-hits 2000 '*' | jq -cS . | sort) \
		<(jq -cS . "$T/in.ndjson" | sort)
	[ "$(checkpoint kill9 files "$T/in.ndjson")" = "$(stat -c %s "$T/in.ndjson")" ]
	# the killed generation's staged split is garbage
	[ "$(count_state kill9 Staged)" -ge 1 ]
	qw-gc --index kill9 | grep -q ' dead_generation$'
	[ "$(count_state kill9 Staged)" = 0 ]
	[ "$(published_docs kill9)" = 800 ]
}

@test "qw-pipeline kills a stalled generation and restarts it" {
	require_shared_data
	make_index stall 100
	otrf_slice 500 "$T/all.ndjson"
	head -n 200 "$T/all.ndjson" >"$T/in.ndjson"
	# --follow: the chain never ends by itself, its stages stay to be looked at
	start_pipeline "$T/out" "$T/err" --index stall --follow --quiet --checkpoint-every 50 \
		--stall-timeout 1 --backoff-initial 0.1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_are stall 200
	up=$(wait_until 60 stage_pid "$PIPE_PID" qw-upload)
	kill -STOP "$up"
	# work for the stopped stage: splits of the new lines wait at its input
	tail -n 300 "$T/all.ndjson" >>"$T/in.ndjson"
	wait_until 120 status_at_least "$T/status.json" restarts 1
	wait_until 120 docs_are stall 500
	# the killed generation is reaped: no zombie among the children
	wait_until 30 no_zombies "$PIPE_PID"
	# five stages, and the merge pipeline beside them
	[ "$(pgrep -P "$PIPE_PID" | wc -l)" = 6 ]
	[ "$(pgrep -P "$PIPE_PID" -x qw-merge | wc -l)" = 1 ]
	kill -TERM "$PIPE_PID"
	rc=0
	wait "$PIPE_PID" || rc=$?
	cat "$T/err" >&2
	[ "$rc" = 0 ]
	grep -q "generation 1 failed: qw-upload made no progress for .* s with work pending (stalled)" "$T/err"
	run ! kill -0 "$up"
	[ "$(checkpoint stall files "$T/in.ndjson")" = "$(stat -c %s "$T/in.ndjson")" ]
	diff <(qw-search --index stall --format ndjson --max-hits 2000 '*' | jq -cS . | sort) \
		<(jq -cS . "$T/in.ndjson" | sort)
}

@test "a stage idle with no work pending is not a stall" {
	require_shared_data
	make_index idle
	otrf_slice 100 "$T/in.ndjson"
	start_pipeline "$T/out" "$T/err" --index idle --follow --quiet --stall-timeout 1 \
		--status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_are idle 100
	# idle for several stall timeouts (bounded by the status file's clock)
	t0=$(jq .updated_at "$T/status.json")
	wait_until 60 eval '[ $(jq .updated_at "$T/status.json") -ge $((t0 + 4)) ]'
	status_is "$T/status.json" running
	[ "$(jq .restarts "$T/status.json")" = 0 ]
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID"
	run ! grep -q stalled "$T/err"
}

@test "qw-pipeline gives its stages no inherited descriptor but their pipes" {
	require_shared_data
	make_index fds 50
	otrf_slice 400 "$T/in.ndjson"
	# hold the chain still while we look at it: uploads after the first wait
	touch "$T/hold"
	QW_TEST_UPLOAD_HOLD="$T/hold" start_pipeline "$T/out" "$T/err" --index fds --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_at_least fds 1
	up=$(wait_until 60 stage_pid "$PIPE_PID" qw-upload)
	pub=$(wait_until 60 stage_pid "$PIPE_PID" qw-publish)
	# pipe inodes held at fd >= 3 by each process of the tree
	procs="$PIPE_PID $(pgrep -P "$PIPE_PID")"
	for p in $procs; do
		for fd in /proc/$p/fd/*; do
			n=${fd##*/}
			l=$(readlink "$fd") || continue
			case $l in pipe:*) echo "$p $n $l" ;; esac
		done
	done >"$T/pipes"
	rm "$T/hold"
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
	[ "$(published_docs fds)" = 400 ]
}

@test "qw-pipeline gives up after --max-restarts failed generations and exits 75" {
	make_index giveup
	printf '{"a":1}\n' >"$T/in.ndjson"
	# the split directory is a file: every upload fails
	rm -rf "$QW_DATA_DIR/indexes/giveup/splits"
	echo x >"$QW_DATA_DIR/indexes/giveup/splits"
	# 1 s doubling up to 3 s, a hundred times faster
	QW_TIME_SCALE=100 run -75 --separate-stderr qw-pipeline --index giveup --once --quiet \
		--max-restarts 3 --backoff-initial 1 --backoff-max 3 "$T/in.ndjson"
	# the last failure, with the stage's own error message
	giveup=$(echo "$stderr" | grep '^qw-pipeline: giving up')
	[[ $giveup == "qw-pipeline: giving up after 4 failed generations without progress: qw-upload exited with status "*" (qw-upload: "*"splits"*")" ]]
	[ "$(echo "$stderr" | grep -c "generation . failed")" = 4 ]
	[ "$(echo "$stderr" | grep -o 'restarting in [0-9.]* s' | paste -sd,)" = \
	  "restarting in 1.0 s,restarting in 2.0 s,restarting in 3.0 s" ]
	[ "$(published_docs giveup)" = 0 ]
}

@test "qw-pipeline does not restart a generation that failed for a missing input (66)" {
	make_index missing
	# a generous backoff: a restart would show up as a "restarting in" line
	run -66 --separate-stderr qw-pipeline --index missing --once --quiet \
		--max-restarts 5 "$T/no-such-file.ndjson"
	echo "$stderr"
	[[ $stderr == *"no-such-file.ndjson"* ]]
	# the failure is reported by its cause, the first error line of the stage
	grep -q "^qw-pipeline: .*failed: qw-parse exited with status 66 (qw-parse: .*no-such-file.ndjson.*)$" <<<"$stderr"
	[ "$(echo "$stderr" | grep -c 'restarting in')" = 0 ]
	[ "$(published_docs missing)" = 0 ]
}

@test "qw-pipeline stops on SIGTERM, publishes what it read and exits 0" {
	require_shared_data
	make_index term 100
	otrf_slice 600 "$T/in.ndjson"
	touch "$T/hold"
	QW_TEST_UPLOAD_HOLD="$T/hold" start_pipeline "$T/out" "$T/err" --index term --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_at_least term 1
	kill -TERM "$PIPE_PID"
	wait_until 60 status_is "$T/status.json" stopping
	rm "$T/hold"
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

@test "a second --once pipeline is refused; --takeover fences the first, which exits 75; no document twice" {
	require_shared_data
	make_index fence 100
	otrf_slice 700 "$T/in.ndjson"
	touch "$T/hold"
	QW_TEST_UPLOAD_HOLD="$T/hold" start_pipeline "$T/out" "$T/err" --index fence --once \
		--quiet --checkpoint-every 50 --max-concurrent-uploads 1 --max-restarts 0 --status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 docs_at_least fence 1
	# the next split is staged and held in its upload: the takeover must fence it
	wait_until 120 staged_at_least fence 1
	# a second pipeline is refused while the first lives
	run -75 --separate-stderr qw-pipeline --index fence --once --quiet "$T/in.ndjson"
	[[ "$stderr" == *"is owned by pipeline "*"(pid $PIPE_PID on host "*"(--takeover fences it)" ]]
	# --takeover takes a new token and indexes the rest
	run -0 qw-pipeline --index fence --once --quiet --takeover "$T/in.ndjson"
	rm "$T/hold"
	# the older one (--once) sees it was fenced and exits 75, naming who
	rc=0
	wait "$PIPE_PID" || rc=$?
	[ "$rc" = 75 ]
	grep -q "^qw-pipeline: fenced by pipeline .*: the publish token of source 'files' of index 'fence' is not ours any more" "$T/err"
	[ "$(published_docs fence)" = 700 ]
	[ "$(checkpoint fence files "$T/in.ndjson")" = "$(stat -c %s "$T/in.ndjson")" ]
	# what the fenced generation staged is garbage: listed, then gc removes it
	staged=$(count_state fence Staged)
	[ "$staged" -ge 1 ]
	[ "$(qw split list --index fence --state staged --format json | jq length)" = "$staged" ]
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
		run ! kill -0 "$p"
	done
}

@test "qw-pipeline stops on SIGINT like on SIGTERM, committing what it holds" {
	require_shared_data
	# no trigger of its own: 10M docs per split, commit after an hour, never drained
	make_index int 10000000 3600
	otrf_slice 100 "$T/in.ndjson"
	# (a shell starts background jobs with SIGINT ignored: qw-pipeline still stops)
	start_pipeline "$T/out" "$T/err" --index int --follow --drain-ms 0 \
		--status-file "$T/status.json" "$T/in.ndjson"
	# qw-parse has read the whole file; nothing can be published yet
	wait_until 60 read_to_end "$PIPE_PID" qw-parse "$T/in.ndjson"
	[ "$(published_docs int)" = 0 ]
	kill -INT "$PIPE_PID"
	# bounded: an ignored SIGINT would leave it running
	wait_until 60 status_is "$T/status.json" done
	rc=0
	wait "$PIPE_PID" || rc=$?
	[ "$rc" = 0 ]
	# what was read is committed (end of input) and published, and only that
	pos=$(checkpoint int files "$T/in.ndjson")
	[ "$(published_docs int)" -gt 0 ]
	[ "$(published_docs int)" = "$(head -c "$pos" "$T/in.ndjson" | jq -c . | wc -l)" ]
	[ "$(records "$T/out" | jq -r 'select(.type == "published") | .trigger' | sort -u)" = no_more_docs ]
}

@test "SIGUSR1 makes qw-pipeline commit what it holds" {
	require_shared_data
	# no trigger of its own: 10M docs per split, commit after an hour, never drained
	make_index usr1 10000000 3600
	otrf_slice 100 "$T/in.ndjson"
	start_pipeline "$T/out" "$T/err" --index usr1 --follow --drain-ms 0 \
		--status-file "$T/status.json" "$T/in.ndjson"
	wait_until 60 status_is "$T/status.json" running
	# a signal before qw-index holds the documents commits nothing: repeat
	usr1_commits() {
		kill -USR1 "$PIPE_PID"
		wait_until 1 docs_are usr1 100
	}
	wait_until 120 usr1_commits
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID"
	[ "$(published_docs usr1)" = 100 ]
	[ "$(records "$T/out" | jq -r 'select(.type == "published") | .trigger' | sort -u)" = force ]
	[ "$(jq .restarts "$T/status.json")" = 0 ]
}

@test "qw-pipeline --progress prints progress on stderr, --quiet and a non-terminal do not" {
	require_shared_data
	make_index prog
	otrf_slice 300 "$T/in.ndjson"
	run -0 --separate-stderr qw-pipeline --index prog --once --progress "$T/in.ndjson"
	line=$(echo "$stderr" | grep '^qw-pipeline: ' | tail -1)
	n=$(wc -l <"$T/in.ndjson")
	valid=$(jq -c 'select(type == "object")' "$T/in.ndjson" | wc -l)
	[[ $line == "qw-pipeline: read $n, parsed $valid, indexed $valid, published $valid docs ("*" docs/s), "*" MB ("*" MB/s), 1 splits published, 0 invalid, 0 restarts" ]]
	run -0 --separate-stderr qw-pipeline --index prog --once --quiet "$T/in.ndjson"
	[ "$(echo "$stderr" | grep -c '^qw-pipeline: .* docs (')" = 0 ]
	# stderr is not a terminal: no progress by default
	run -0 --separate-stderr qw-pipeline --index prog --once "$T/in.ndjson"
	[ "$(echo "$stderr" | grep -c '^qw-pipeline: .* docs (')" = 0 ]
}

@test "qw-pipeline shows its progress when stderr is a terminal" {
	require_shared_data
	command -v script >/dev/null || skip "script(1) not available"
	make_index tty
	otrf_slice 300 "$T/in.ndjson"
	# script(1) gives the command a terminal
	script -qec "qw-pipeline --index tty --once '$T/in.ndjson' >/dev/null" /dev/null >"$T/tty"
	[ "$(published_docs tty)" = 300 ]
	# the final figures, on a line of their own
	n=$(wc -l <"$T/in.ndjson")
	tr '\r' '\n' <"$T/tty" | grep -qx "qw-pipeline: read $n, parsed $n, indexed $n, published $n docs (.* docs/s), .* MB (.* MB/s), 1 splits published, 0 invalid, 0 restarts"
}

@test "the status file is always whole JSON and rewritten every second" {
	require_shared_data
	make_index stat
	otrf_slice 100 "$T/in.ndjson"
	start_pipeline "$T/out" "$T/err" --index stat --follow --quiet \
		--status-file "$T/status.json" "$T/in.ndjson"
	wait_until 120 status_at_least "$T/status.json" docs 100
	t0=$(jq -e .updated_at "$T/status.json")
	for i in $(seq 200); do
		jq -e '.state == "running" and .docs == 100' "$T/status.json" >/dev/null
	done
	wait_until 30 eval '[ "$(jq .updated_at "$T/status.json")" -ge $((t0 + 2)) ]'
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID"
	# no temporary file left beside it
	[ "$(ls "$T" | grep -c status)" = 1 ]
}

@test "a generation killed while reading stdin: the next one is fed again what was not published" {
	make_index spool 100
	# an earlier run on stdin: this run's bytes count on from its checkpoint
	seq 1 5 | sed 's/.*/{"n":&}/' >"$T/in.ndjson"
	qw-pipeline --index spool --once --quiet - <"$T/in.ndjson" >/dev/null
	mkfifo "$T/fifo"
	exec 7<>"$T/fifo" # opened both ways: neither open below blocks
	touch "$T/hold"
	# started here, not by start_pipeline: a background job's stdin is
	# /dev/null unless the job itself redirects it
	QW_TEST_UPLOAD_HOLD="$T/hold" qw-pipeline --index spool --once --quiet \
		--checkpoint-every 50 --max-concurrent-uploads 1 --backoff-initial 0.1 \
		--status-file "$T/status.json" - <"$T/fifo" >"$T/out" 2>"$T/err" 3>&- 7>&- &
	PIPE_PID=$!
	seq 6 400 | sed 's/.*/{"n":&}/' | tee -a "$T/in.ndjson" >&7
	# one split published, the next held in qw-upload: qw-parse read past
	# what is published
	wait_until 120 docs_at_least spool 105
	wait_until 120 staged_at_least spool 1
	kill -KILL "$(wait_until 60 stage_pid "$PIPE_PID" qw-parse)"
	wait_until 120 status_at_least "$T/status.json" restarts 1
	rm "$T/hold"
	seq 401 600 | sed 's/.*/{"n":&}/' | tee -a "$T/in.ndjson" >&7
	exec 7>&-
	wait "$PIPE_PID"
	grep -q "qw-parse killed by signal 9" "$T/err"
	[ "$(published_docs spool)" = 600 ]
	# every line once: the multiset of published documents is the input's
	diff <(qw-search --index spool --format ndjson --max-hits 1000 '*' | jq -c .n | sort -n) \
		<(jq -c .n "$T/in.ndjson" | sort -n)
	[ "$(checkpoint spool files -)" = "$(stat -c %s "$T/in.ndjson")" ]
	# the spool went with the run
	[ -z "$(find "$QW_DATA_DIR" -name stdin.spool)" ]
}

@test "a stage that dies is not taken for one that finished: the next one sees no end of input" {
	make_index died 10000000 3600
	mkfifo "$T/fifo"
	# documents on stdin, no checkpoint record before the end of the input
	qw-pipeline --index died --once --quiet --checkpoint-every 100000 --drain-ms 0 \
		--max-restarts 0 --status-file "$T/status.json" - <"$T/fifo" >"$T/out" 2>"$T/err" 3>&- &
	PIPE_PID=$!
	exec 7>"$T/fifo"
	seq 100 | sed 's/.*/{"n":&}/' >&7
	parse=$(wait_until 60 stage_pid "$PIPE_PID" qw-parse)
	index=$(wait_until 60 stage_pid "$PIPE_PID" qw-index)
	# qw-parse dies while the supervisor cannot react
	kill -STOP "$PIPE_PID"
	kill -KILL "$parse"
	# qw-index must not see the end of its input: it would cut the documents
	# it holds, that no checkpoint covers, and the chain would publish them
	ended_or_published() {
		[ "$(published_docs died)" -gt 0 ] || [ -z "$(ps -o stat= -p "$index" | grep -v Z)" ]
	}
	run ! wait_until 5 ended_or_published
	kill -CONT "$PIPE_PID"
	exec 7>&-
	rc=0
	wait "$PIPE_PID" || rc=$?
	cat "$T/err" >&2
	[ "$rc" = 75 ]
	grep -q "generation 1 failed: qw-parse killed by signal 9" "$T/err"
	[ "$(published_docs died)" = 0 ]
	[ "$(count_state died Staged)" = 0 ]
}

@test "qw-pipeline's status file has each stage's counters, checked against the input" {
	make_index stg 1000
	awk 'BEGIN { for (i = 1; i <= 3000; i++) printf "{\"n\":%d,\"s\":\"x%d\"}\n", i, i }' >"$T/in.ndjson"
	{ echo 'not json'; echo '[1,2]'; } >>"$T/in.ndjson"
	run -0 --separate-stderr qw-pipeline --index stg --once --quiet --status-file "$T/status.json" "$T/in.ndjson"
	[ -z "$output" ] && [ -z "$stderr" ]
	lines=$(wc -l <"$T/in.ndjson")
	valid=$(python3 -c 'import json,sys
n=0
for l in open(sys.argv[1]):
    try:
        n += isinstance(json.loads(l), dict)
    except ValueError:
        pass
print(n)' "$T/in.ndjson")
	st() { jq -r --arg s "$1" ".stages[] | select(.stage == \$s) | .$2" "$T/status.json"; }
	[ "$(st qw-parse docs_in)" = "$lines" ]
	[ "$(st qw-parse bytes_in)" = "$(stat -c %s "$T/in.ndjson")" ]
	[ "$(st qw-parse docs_out)" = "$valid" ]
	[ "$(st qw-index docs_in)" = "$valid" ]
	[ "$(st qw-index bytes_in)" = "$(st qw-parse bytes_out)" ]
	[ "$(st qw-package bytes_in)" = "$(st qw-index bytes_out)" ]
	[ "$(st qw-publish docs_out)" = "$(published_docs stg)" ]
	[ "$(published_docs stg)" = "$valid" ]
	jq -e '[.stages[] | .wait_input_us >= 0 and .blocked_output_us >= 0 and .busy_ratio >= 0 and .busy_ratio <= 1] | all' "$T/status.json"
	# qw-upload idles until qw-package hands it the first split: that is input wait
	[ "$(st qw-upload wait_input_us)" -gt 0 ]
	b=$(jq -r .bottleneck "$T/status.json")
	[[ " qw-parse qw-index qw-package qw-upload qw-publish " == *" $b "* ]]
}

@test "qw-pipeline --metrics-file writes a valid Prometheus text file whose counters match the input" {
	make_index prom 1000
	awk 'BEGIN { for (i = 1; i <= 2500; i++) printf "{\"n\":%d}\n", i }' >"$T/in.ndjson"
	echo 'not json' >>"$T/in.ndjson"
	run -0 --separate-stderr qw-pipeline --index prom --once --quiet --metrics-file "$T/m.prom" "$T/in.ndjson"
	[ -z "$output" ] && [ -z "$stderr" ]
	python3 "$BATS_TEST_DIRNAME/prom-check.py" "$T/m.prom" >"$T/samples"
	val() { jq -r --arg n "$1" --arg s "${2:-}" \
		'select(.name == $n and (.labels.stage // "") == $s and .labels.index == "prom" and .labels.source == "files") | .value' "$T/samples"; }
	[ "$(val qw_pipeline_docs_published_total)" = 2500 ]
	[ "$(val qw_pipeline_invalid_docs_total)" = 1 ]
	[ "$(val qw_pipeline_bytes_published_total)" = "$(stat -c %s "$T/in.ndjson")" ]
	[ "$(val qw_stage_docs_in_total qw-parse)" = "$(wc -l <"$T/in.ndjson")" ]
	[ "$(val qw_stage_bytes_in_total qw-parse)" = "$(stat -c %s "$T/in.ndjson")" ]
	[ "$(val qw_stage_docs_out_total qw-publish)" = 2500 ]
	for s in qw-parse qw-index qw-package qw-upload qw-publish; do
		[ -n "$(val qw_stage_output_blocked_seconds_total $s)" ]
		[ -n "$(val qw_stage_input_wait_seconds_total $s)" ]
	done
	# the checker can fail: a sample without its TYPE line
	grep -v '^# TYPE qw_pipeline_restarts_total' "$T/m.prom" >"$T/bad.prom"
	run ! python3 "$BATS_TEST_DIRNAME/prom-check.py" "$T/bad.prom"
}

@test "qw pipeline status: the status file as a table, each figure checked against its JSON" {
	make_index pst 1000
	awk 'BEGIN { for (i = 1; i <= 4000; i++) printf "{\"n\":%d,\"s\":\"x%d\"}\n", i, i }' >"$T/in.ndjson"
	echo 'not json' >>"$T/in.ndjson"
	run -0 --separate-stderr qw-pipeline --index pst --once --quiet --status-file "$T/status.json" "$T/in.ndjson"
	run -0 --separate-stderr qw pipeline status --status-file "$T/status.json"
	[ -z "$stderr" ]
	printf '%s\n' "$output" >"$T/table"
	# the oracle: the file's numbers formatted by awk's printf, per stage
	jq -r --arg b "$(jq -r .bottleneck "$T/status.json")" '.stages[] | [.stage, .docs_in, .docs_out,
		.bytes_in, .bytes_out, .wait_input_us, .blocked_output_us, .elapsed_us, .busy_ratio,
		(if .stage == $b then "yes" else "" end)] | @tsv' "$T/status.json" |
		awk -F'\t' '{ printf "%s %d %d %.1f %.1f %.1f %.1f %.1f %s\n", $1, $2, $3, $4 / 1e6, $5 / 1e6,
			100 * $6 / $8, 100 * $7 / $8, 100 * $9, $10 }' | sed 's/ *$//' >"$T/expected"
	[ "$(wc -l <"$T/expected")" -eq 5 ]
	# the table's rows: between the header and the blank line, spaces squeezed
	awk 'NR == 1 { next } /^$/ { exit } { $1 = $1; print }' "$T/table" >"$T/rows"
	diff "$T/expected" "$T/rows"
	[ "$(head -1 "$T/table" | tr -s ' ')" = "STAGE DOCS IN DOCS OUT MB IN MB OUT WAIT INPUT % BLOCKED OUTPUT % BUSY % BOTTLENECK" ]
	# exactly one stage is marked, the file's bottleneck
	[ "$(grep -c ' yes *$' "$T/rows")" -eq 1 ]
	grep -qx "bottleneck: $(jq -r .bottleneck "$T/status.json") (the busiest stage)" "$T/table"
	# the totals
	expected=$(jq -r '"state \(.state), generation \(.generation), pid \(.pid), updated \(.updated_at | todate)"' "$T/status.json")
	grep -qxF "$expected" "$T/table"
	expected=$(jq -r '[.docs, .bytes, .splits_published, .invalid_docs, .restarts] | @tsv' "$T/status.json" |
		awk -F'\t' '{ printf "published: %d docs, %.1f MB, %d splits; %d invalid docs, %d restarts\n", $1, $2 / 1e6, $3, $4, $5 }')
	grep -qxF "$expected" "$T/table"
	[ "$(jq -r .invalid_docs "$T/status.json")" -eq 1 ]
	# --json and --format json: the file as it is
	run -0 qw pipeline status --json --status-file "$T/status.json"
	[ "$output" = "$(cat "$T/status.json")" ]
	run -0 qw --format json pipeline status --status-file "$T/status.json"
	[ "$output" = "$(cat "$T/status.json")" ]
}

@test "qw pipeline status --index: qw-pipeline's default status file in the data dir, one per source" {
	make_index pdef 1000
	awk 'BEGIN { for (i = 1; i <= 3000; i++) printf "{\"n\":%d}\n", i }' >"$T/a.ndjson"
	awk 'BEGIN { for (i = 1; i <= 700; i++) printf "{\"n\":%d}\n", i }' >"$T/b.ndjson"
	# before any run: said, with the data dir and what to do
	run -66 --separate-stderr qw pipeline status --index pdef
	[ -z "$output" ]
	[[ $stderr == *"no pipeline of index 'pdef' has run with data dir '$QW_DATA_DIR'"*"qw-pipeline --index pdef"* ]]
	run -0 --separate-stderr qw-pipeline --index pdef --once --quiet "$T/a.ndjson"
	st="$QW_DATA_DIR/pipelines/pdef/files.status.json"
	[ "$(jq -r '.state, .docs' "$st")" = "$(printf 'done\n3000')" ]
	# the only source: found without --source; the same view as --status-file
	run -0 --separate-stderr qw pipeline status --index pdef
	[ -z "$stderr" ]
	[ "$output" = "$(qw pipeline status --status-file "$st")" ]
	run -0 qw pipeline status --index pdef --json
	[ "$output" = "$(cat "$st")" ]
	# a second source: each its own file, and --source picks one
	run -0 --separate-stderr qw-pipeline --index pdef --source backfill --once --quiet "$T/b.ndjson"
	[ "$(jq -r .docs "$QW_DATA_DIR/pipelines/pdef/backfill.status.json")" = "$(wc -l <"$T/b.ndjson")" ]
	[ "$(jq -r .docs "$st")" = 3000 ]
	run -64 --separate-stderr qw pipeline status --index pdef
	[[ $stderr == *"index 'pdef' has run pipelines for 2 sources (backfill, files): give --source ID"* ]]
	run -0 qw pipeline status --index pdef --source backfill --json
	[ "$(jq -r .docs <<<"$output")" = 700 ]
	run -66 --separate-stderr qw pipeline status --index pdef --source nosuch
	[[ $stderr == *"no pipeline of index 'pdef' for source 'nosuch'"* ]]
	# --status-file writes there instead, and the two ways are exclusive
	run -0 --separate-stderr qw-pipeline --index pdef --source other --once --quiet --status-file "$T/o.json" "$T/b.ndjson"
	[ -f "$T/o.json" ] && [ ! -e "$QW_DATA_DIR/pipelines/pdef/other.status.json" ]
	run -64 --separate-stderr qw pipeline status --index pdef --status-file "$T/o.json"
	[[ $stderr == *"not both"* ]]
	run -64 qw pipeline status --index 'bad/id'
	# deleting the index takes its status files along
	run -0 qw index delete pdef --yes
	[ ! -e "$QW_DATA_DIR/pipelines/pdef" ]
}

@test "qw pipeline status: a missing or bad file says so (66, 65); neither --index nor --status-file is a usage error" {
	run -66 --separate-stderr qw pipeline status --status-file "$T/nosuch.json"
	[ -z "$output" ]
	[[ $stderr == *"cannot open '$T/nosuch.json'"*"--status-file"* ]]
	echo '{"state":' >"$T/bad.json"
	run -65 --separate-stderr qw pipeline status --status-file "$T/bad.json"
	[ -z "$output" ]
	[[ $stderr == *"'$T/bad.json' is not a qw-pipeline status file"* ]]
	echo '[1,2]' >"$T/arr.json"
	run -65 qw pipeline status --status-file "$T/arr.json"
	echo '{"state":"running","stages":[{"stage":"qw-parse","docs_in":"x"}]}' >"$T/st.json"
	run -65 --separate-stderr qw pipeline status --status-file "$T/st.json"
	[[ $stderr == *"stage 'qw-parse'"*"docs_in"* ]]
	# no stage reported yet: said, not an empty table
	echo '{"state":"running","docs":0,"bytes":0,"splits_published":0,"invalid_docs":0,"restarts":0,"generation":1,"pid":1,"updated_at":0}' >"$T/early.json"
	run -0 qw pipeline status --status-file "$T/early.json"
	[ "${lines[0]}" = "no stage has reported yet" ]
	run -64 --separate-stderr qw pipeline status
	[[ $stderr == *"missing --index ID (or --status-file PATH)"* ]]
	# other pipeline commands still run qw-pipeline
	run -0 qw pipeline --help
	[[ ${lines[0]} == "Usage: qw-pipeline "* ]]
	run -0 qw help pipeline status
	[[ ${lines[0]} == "Usage: qw pipeline status "* ]]
}

@test "on a terminal (tmux): the progress line counts read, parsed, indexed, published as python3 counts, and no stdout record is glued to it" {
	command -v tmux >/dev/null || { [ "${CI:-}" != true ] || false; skip "tmux not installed"; }
	make_index term 700
	python3 -c '
import json
for i in range(3000):
    print(json.dumps({"ts": 1700000000 + i, "n": i, "msg": "event %d" % i}))
    if i % 500 == 7:
        print("{not json")' >"$T/in.ndjson"
	read -r lines valid < <(python3 -c '
import json, sys
n = v = 0
for l in open(sys.argv[1]):
    n += 1
    try:
        json.loads(l); v += 1
    except ValueError:
        pass
print(n, v)' "$T/in.ndjson")
	sock=$T/tmux.sock
	# the pane is the terminal of both stdout and stderr; wait-for says when it is done
	tmux -S "$sock" new-session -d -x 400 -y 60 \
		"cd '$T' && qw-pipeline --index term --once in.ndjson; echo EXIT=\$?; tmux -S '$sock' wait-for -S piped; sleep 60" 3>&-
	timeout 60 tmux -S "$sock" wait-for piped
	tmux -S "$sock" capture-pane -p -J -S -200 -t 0 >"$T/screen"
	tmux -S "$sock" kill-server
	grep -qx 'EXIT=0' "$T/screen"
	# every stdout record starts a line of its own: none is glued to progress text
	! grep -E '.\{"type":' "$T/screen"
	[ "$(grep -c '^{"type":"published"' "$T/screen")" -ge 4 ]
	# the last progress line: read = every line, parsed = indexed = published = the valid ones
	last=$(grep -o 'qw-pipeline: read [0-9]*, parsed [0-9]*, indexed [0-9]*, published [0-9]* docs' "$T/screen" | tail -1)
	[ "$last" = "qw-pipeline: read $lines, parsed $valid, indexed $valid, published $valid docs" ]
}
