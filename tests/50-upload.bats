#!/usr/bin/env bats
# qw-upload: staging before storing, bounded concurrency, output order.
load helpers
load pipeline-helpers

setup() {
	setup_datadir
	make_index up-idx
	TOKEN=$(qw-publish --new-token --index up-idx --source s1)
}

@test "qw-upload --help prints the usage on stdout and exits 0" {
	run -0 qw-upload --help
	[[ $output == "Usage: qw-upload"* ]]
}

@test "qw-upload rejects an unknown option with 64" {
	run -64 --separate-stderr qw-upload --bogus
	[[ $stderr == *"Usage: qw-upload"* ]]
}

@test "qw-upload emits uploaded records in arrival order when uploads finish in reverse order" {
	make_packaged up-idx s1 "$TOKEN" 4 "$BATS_TEST_TMPDIR/in"
	QW_TEST_UPLOAD_DELAY_MS=800,600,400,200 run -0 --separate-stderr \
		qw-upload --verbose --max-concurrent-uploads 4 <"$BATS_TEST_TMPDIR/in"
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	# completion order (stderr) is the reverse of the input order...
	diff <(echo "$stderr" | awk '/uploaded/ {print $3}') <(tac "$BATS_TEST_TMPDIR/ids")
	# ...and the output keeps the input order
	diff <(records "$BATS_TEST_TMPDIR/out" | jq -r '.splits[].split_id') "$BATS_TEST_TMPDIR/ids"
	[ "$(records "$BATS_TEST_TMPDIR/out" | jq -r .type | sort -u)" = uploaded ]
}

@test "qw-upload stores every split byte for byte, removes the scratch file and leaves it Staged" {
	make_packaged up-idx s1 "$TOKEN" 3 "$BATS_TEST_TMPDIR/in"
	run -0 qw-upload <"$BATS_TEST_TMPDIR/in"
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	while read -r id; do
		cmp "$BATS_TEST_TMPDIR/scratch/$id.orig" "$QW_DATA_DIR/indexes/up-idx/splits/$id.split"
		[ ! -e "$BATS_TEST_TMPDIR/scratch/$id.split" ]
		uri=$(records "$BATS_TEST_TMPDIR/out" | jq -r --arg id "$id" '.splits[] | select(.split_id == $id) | .uri')
		[ "$uri" = "file://$QW_DATA_DIR/indexes/up-idx/splits/$id.split" ]
	done <"$BATS_TEST_TMPDIR/ids"
	diff <(split_states up-idx) <(sed 's/$/ Staged/' "$BATS_TEST_TMPDIR/ids")
	[ "$(jq -r '[.splits[].publish_token] | unique | .[]' "$(meta up-idx)")" = "$TOKEN" ]
}

@test "qw-upload with one upload at a time finishes them in input order" {
	make_packaged up-idx s1 "$TOKEN" 3 "$BATS_TEST_TMPDIR/in"
	QW_TEST_UPLOAD_DELAY_MS=600,1,1 run -0 --separate-stderr \
		qw-upload --verbose --max-concurrent-uploads 1 <"$BATS_TEST_TMPDIR/in"
	diff <(echo "$stderr" | awk '/uploaded/ {print $3}') "$BATS_TEST_TMPDIR/ids"
}

@test "qw-upload runs at most --max-concurrent-uploads uploads at once" {
	make_packaged up-idx s1 "$TOKEN" 4 "$BATS_TEST_TMPDIR/in"
	# two slow uploads, then two fast ones: with two slots, the fast ones
	# start only once a slow one is done, so a slow one finishes first
	QW_TEST_UPLOAD_DELAY_MS=600,600,1,1 run -0 --separate-stderr \
		qw-upload --verbose --max-concurrent-uploads 2 <"$BATS_TEST_TMPDIR/in"
	first=$(echo "$stderr" | awk '/uploaded/ {print $3; exit}')
	sed -n '1,2p' "$BATS_TEST_TMPDIR/ids" | grep -qx "$first"
	[ "$(echo "$stderr" | grep -c uploaded)" = 4 ]
	diff <(echo "$output" | tr -d '\036' | jq -r '.splits[].split_id') "$BATS_TEST_TMPDIR/ids"
}

@test "qw-upload handles every record it has read without waiting for more input" {
	make_packaged up-idx s1 "$TOKEN" 2 "$BATS_TEST_TMPDIR/in"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	qw-upload <"$BATS_TEST_TMPDIR/fifo" >"$BATS_TEST_TMPDIR/out" 3>&- &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/fifo"
	# both records in one write; the input stays open (a live pipeline)
	cat "$BATS_TEST_TMPDIR/in" >&7
	count_records() { [ "$(records "$BATS_TEST_TMPDIR/out" | wc -l)" = 2 ]; }
	rc=0
	wait_until 30 count_records || rc=$?
	exec 7>&-
	wait "$pid"
	[ "$rc" = 0 ]
	diff <(records "$BATS_TEST_TMPDIR/out" | jq -r '.splits[].split_id') "$BATS_TEST_TMPDIR/ids"
}

@test "qw-upload passes other control records through in their place" {
	make_packaged up-idx s1 "$TOKEN" 2 "$BATS_TEST_TMPDIR/p"
	{
		sed -n 1p "$BATS_TEST_TMPDIR/p"
		printf '\036{"type":"commit","n":1}\n'
		sed -n 2p "$BATS_TEST_TMPDIR/p"
		printf '\036{"type":"eof","docs_invalid":2}\n'
	} >"$BATS_TEST_TMPDIR/in"
	QW_TEST_UPLOAD_DELAY_MS=500,1 run -0 qw-upload <"$BATS_TEST_TMPDIR/in"
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	[ "$(records "$BATS_TEST_TMPDIR/out" | jq -r .type | paste -sd,)" = "uploaded,commit,uploaded,eof" ]
}

@test "qw-upload refuses a document line with 65" {
	printf '{"a":1}\n' >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr qw-upload --index up-idx <"$BATS_TEST_TMPDIR/in"
	[[ $stderr == "qw-upload: "*"line 1"* ]]
}

@test "qw-upload fails with 66 on a missing split file and leaves the split Staged for gc" {
	make_packaged up-idx s1 "$TOKEN" 1 "$BATS_TEST_TMPDIR/in"
	rm "$BATS_TEST_TMPDIR/scratch/$(cat "$BATS_TEST_TMPDIR/ids").split"
	run -66 --separate-stderr qw-upload <"$BATS_TEST_TMPDIR/in"
	[[ $stderr == "qw-upload: "*"$(cat "$BATS_TEST_TMPDIR/ids")"* ]]
	[ -z "$output" ]
	[ "$(split_states up-idx)" = "$(cat "$BATS_TEST_TMPDIR/ids") Staged" ]
}

@test "qw-upload refuses an unknown or invalid --index even when its input is empty" {
	run -66 --separate-stderr qw-upload --index nosuch-idx </dev/null
	[[ "$stderr" == "qw-upload: index 'nosuch-idx' does not exist in data dir '"*"(qw index list shows its indexes; --data-dir or QW_DATA_DIR chooses another)" ]]
	run -64 --separate-stderr qw-upload --index x </dev/null
	[[ "$stderr" == "qw-upload: invalid index id 'x'"* ]]
	[ -z "$output" ]
}
