#!/usr/bin/env bats
# qw-publish: token check, Staged -> Published, checkpoint delta, refusals.
load helpers
load pipeline-helpers

setup() {
	setup_datadir
	make_index pub-idx
	TOKEN=$(qw-publish --new-token --index pub-idx --source s1)
	make_packaged pub-idx s1 "$TOKEN" 3 "$BATS_TEST_TMPDIR/packaged"
	qw-upload <"$BATS_TEST_TMPDIR/packaged" >"$BATS_TEST_TMPDIR/uploaded"
}

@test "qw-publish --help prints the usage on stdout and exits 0" {
	run -0 qw-publish --help
	[[ $output == "Usage: qw-publish"* ]]
}

@test "qw-publish publishes each record and advances the checkpoint" {
	run -0 qw-publish <"$BATS_TEST_TMPDIR/uploaded"
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	diff <(split_states pub-idx) <(sed 's/$/ Published/' "$BATS_TEST_TMPDIR/ids")
	[ "$(jq -c '.checkpoints.s1' "$(meta pub-idx)")" = '{"/in.log":300}' ]
	# one published record per uploaded record, with the docs of its splits
	diff <(records "$BATS_TEST_TMPDIR/out" | jq -c '[.type, .split_ids, .num_docs]') \
		<(records "$BATS_TEST_TMPDIR/uploaded" | jq -c '["published", [.splits[].split_id], ([.splits[].metadata.num_docs] | add)]')
}

@test "qw-publish refuses a stale publish token with 75 and changes nothing" {
	qw-publish --new-token --index pub-idx --source s1 >/dev/null
	cp "$(meta pub-idx)" "$BATS_TEST_TMPDIR/before"
	run -75 --separate-stderr qw-publish <"$BATS_TEST_TMPDIR/uploaded"
	[[ $stderr == "qw-publish: "*"stale"* ]]
	[ -z "$output" ]
	cmp "$BATS_TEST_TMPDIR/before" "$(meta pub-idx)"
}

@test "qw-publish refuses a checkpoint delta that does not start at the stored position" {
	# skip the first record: the second one's from (100) is not the stored 0
	sed -n '2,$p' "$BATS_TEST_TMPDIR/uploaded" >"$BATS_TEST_TMPDIR/gap"
	cp "$(meta pub-idx)" "$BATS_TEST_TMPDIR/before"
	run -75 --separate-stderr qw-publish <"$BATS_TEST_TMPDIR/gap"
	[[ $stderr == "qw-publish: "*"checkpoint"* ]]
	cmp "$BATS_TEST_TMPDIR/before" "$(meta pub-idx)"
}

@test "qw-publish refuses to publish the same record twice" {
	run -0 qw-publish <"$BATS_TEST_TMPDIR/uploaded"
	cp "$(meta pub-idx)" "$BATS_TEST_TMPDIR/before"
	run -75 qw-publish <"$BATS_TEST_TMPDIR/uploaded"
	cmp "$BATS_TEST_TMPDIR/before" "$(meta pub-idx)"
	[ "$(jq -c '.checkpoints.s1' "$(meta pub-idx)")" = '{"/in.log":300}' ]
}

@test "qw-publish stops at the first refused record and keeps what came before" {
	# record 1 is fine, record 2 is replaced by a copy of record 1's delta
	{
		sed -n 1p "$BATS_TEST_TMPDIR/uploaded"
		sed -n 2p "$BATS_TEST_TMPDIR/uploaded" | tr -d '\036' |
			jq -c '.checkpoint_delta["/in.log"].from = 0' | sed 's/^/\x1e/'
	} >"$BATS_TEST_TMPDIR/in"
	run -75 --separate-stderr qw-publish <"$BATS_TEST_TMPDIR/in"
	[ "$(echo "$output" | tr -d '\036' | jq -r .type)" = published ]
	[ "$(jq -c '.checkpoints.s1' "$(meta pub-idx)")" = '{"/in.log":100}' ]
	[ "$(split_states pub-idx | grep -c Published)" = 1 ]
}

@test "qw-publish passes an eof record through" {
	{ cat "$BATS_TEST_TMPDIR/uploaded"; printf '\036{"type":"eof","docs_invalid":0}\n'; } >"$BATS_TEST_TMPDIR/in"
	run -0 qw-publish <"$BATS_TEST_TMPDIR/in"
	[ "$(echo "$output" | tr -d '\036' | jq -r .type | tail -1)" = eof ]
}

@test "qw-publish refuses an unknown or invalid --index even when its input is empty" {
	run -66 --separate-stderr qw-publish --index nosuch-idx </dev/null
	[[ "$stderr" == "qw-publish: index 'nosuch-idx' does not exist in data dir '"*"(qw index list shows its indexes; --data-dir or QW_DATA_DIR chooses another)" ]]
	run -64 --separate-stderr qw-publish --index x </dev/null
	[[ "$stderr" == "qw-publish: invalid index id 'x'"* ]]
	[ -z "$output" ]
}
