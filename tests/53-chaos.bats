#!/usr/bin/env bats
# Chaos: random SIGKILLs of pipeline stages and of qw-pipeline, two
# pipelines on one source (refused, taken over), exactly-once checked by an
# oracle (tests/chaos.sh; `make chaos` runs it with 200 kills).
load helpers

@test "qw-pipeline publishes every document exactly once through 20 random kills, of itself and rivals too" {
	require_shared_data
	# a hang fails the test in bounded time: timeout kills chaos.sh and
	# every pipeline of its process group, which would otherwise hold the
	# output `run` reads
	run --separate-stderr timeout -k 10 480 "$QW_SRCDIR/tests/chaos.sh" --kills 20 --seed 7 --mb 12 --split-docs 50 \
		--kill-pipeline --two --dir "$BATS_TEST_TMPDIR/chaos"
	# chaos.sh's diagnostics, whatever the outcome
	echo "$stderr" >&2
	echo "chaos.sh exited with $status" >&2
	[ "$status" = 0 ]
	[[ $stderr == *"chaos: ok: "*"through 20 kills"* ]]
	# qw-pipeline itself was killed, rivals were refused, takeovers fenced
	[[ $stderr == *"kill "*": qw-pipeline ("* ]]
	[[ $stderr == *"takeover 1: "* ]]
}
