#!/usr/bin/env bats
# qw-gc --interval: the long-running janitor. Retention applies when the
# index's schedule fires (and at start), marked splits go after the
# deletion grace period, each pass says what it did. Oracles: the raw
# metastore file and jq over the input lines.
load helpers
load merge-helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
}

# make_index ID SCHEDULE
make_index() {
	make_ts_index "$1" "  timestamp_field: ts" "retention:
  period: 30 days
  schedule: \"$2\""
}

# add_split INDEX AGE_SECS: one split of 10 documents that old
add_split() {
	local now
	now=$(date +%s)
	awk -v t=$((now - $2)) -v a="$2" 'BEGIN { for (j = 0; j < 10; j++)
		printf("{\"ts\":%d,\"age\":%d}\n", t + j, a) }' >"$T/b$2"
	cat "$T/b$2" >>"$T/all"
	qw-pipeline --index "$1" --once --no-merge --quiet "$T/b$2" >/dev/null 2>&1
}

split_of_age() {
	jq -r --argjson a "$2" '.splits | to_entries[] |
		select(.value.metadata.time_range.end < (now - $a + 3600)) | .key' "$(meta "$1")"
}

published() {
	jq '[.splits[] | select(.split_state == "Published")] | length' "$(meta "$1")"
}

gone() {
	! jq -e --arg id "$2" '.splits | has($id)' "$(meta "$1")" >/dev/null
}

in_output() {
	grep -q -- "$1" "$T/out"
}

# wait_for CMD...: poll a condition, bounded (30 s)
wait_for() {
	for _ in $(seq 300); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "never: $*" >&2
	return 1
}

@test "qw-gc --help names --interval; a bad interval is 64" {
	run -0 qw-gc --help
	[[ $output == *"--interval SECS"* ]]
	run -64 qw-gc --index abc --interval 0
	run -64 qw-gc --index abc --interval soon
}

@test "the janitor applies retention on its schedule, removes marked splits, says what it did, ends on SIGTERM" {
	make_index jan '* * * * * *'
	add_split jan $((60 * 86400))
	add_split jan 60
	old1=$(split_of_age jan $((60 * 86400)))
	[ -n "$old1" ]
	qw-gc --index jan --interval 1 --deletion-grace-period 0 >"$T/out" 2>"$T/err" 3>&- &
	pid=$!
	wait_for in_output "$old1 retention"
	wait_for gone jan "$old1"
	grep -q -- "$old1 marked_expired" "$T/out"
	# a split that expires while it runs: the next firing marks it
	add_split jan $((45 * 86400))
	old2=$(jq -r --arg o "$old1" '.splits | to_entries[] |
		select(.value.metadata.time_range.end < (now - 30 * 86400)) | .key' "$(meta jan)")
	[ -n "$old2" ]
	wait_for in_output "$old2 retention"
	wait_for gone jan "$old2"
	[ "$(published jan)" -eq 1 ]
	[ "$(qw-search --index jan -f count '*')" -eq 10 ]
	grep -q "entries this pass" "$T/err"
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "between two firings of the schedule the janitor collects garbage but applies no retention" {
	make_index yearly yearly
	qw-gc --index yearly --interval 1 --deletion-grace-period 0 >"$T/out" 2>"$T/err" 3>&- &
	pid=$!
	# a pass has run (a dead pipeline's scratch dir shows it) ...
	mkdir -p "$QW_DATA_DIR/scratch/01JDEADDEADDEADDEADDEADDEA"
	wait_for in_output "01JDEADDEADDEADDEADDEADDEA dead_pipeline"
	# ... before this split came, and another one after
	add_split yearly $((90 * 86400))
	old=$(split_of_age yearly $((90 * 86400)))
	[ -n "$old" ]
	mkdir -p "$QW_DATA_DIR/scratch/01JDEADDEADDEADDEADDEADDEB"
	wait_for in_output "01JDEADDEADDEADDEADDEADDEB dead_pipeline"
	# the split expired after the start, the schedule fires next New Year
	jq -e --arg id "$old" '.splits[$id].split_state == "Published"' "$(meta yearly)"
	! grep -q retention "$T/out"
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	# a one-shot qw gc always applies the period
	run -0 qw-gc --index yearly
	[[ $output == *"$old retention"* ]]
}
