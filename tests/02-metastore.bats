#!/usr/bin/env bats
# The file metastore seen through qw: a metastore.json that is truncated,
# not JSON, or not a metastore is reported (65, naming the file) and never
# overwritten. (Concurrency, publish refusals and token fencing are in
# tests/unit/metastore_test.c.)
load helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
	cat >"$T/a.yaml" <<'EOF2'
version: 0.8
index_id: idx-a
doc_mapping:
  field_mappings:
    - name: body
      type: text
EOF2
	sed 's/idx-a/idx-b/' "$T/a.yaml" >"$T/b.yaml"
	qw index create --index-config "$T/a.yaml" >/dev/null
	qw index create --index-config "$T/b.yaml" >/dev/null
	F=$QW_DATA_DIR/indexes/idx-a/metastore.json
}

# Every reading or writing command fails with 65, names the file, and leaves
# the file as it is.
check_refused() {
	cp "$F" "$T/before"
	for cmd in "index describe idx-a" "split list --index idx-a" "index clear idx-a --yes"; do
		run --separate-stderr qw $cmd
		[ "$status" -eq 65 ]
		[[ "$stderr" == "qw: '$F': "* ]]
		cmp "$F" "$T/before"
	done
	run --separate-stderr qw index create --index-config "$T/a.yaml"
	[ "$status" -eq 73 ]
	cmp "$F" "$T/before"
}

@test "a truncated metastore.json is reported with its name and left unchanged" {
	size=$(stat -c %s "$F")
	truncate -s $((size / 2)) "$F"
	check_refused
	[[ "$stderr" != *"Usage"* ]]
}

@test "a metastore.json that is not JSON is reported and left unchanged" {
	printf 'this is not json\n' >"$F"
	check_refused
	run --separate-stderr qw index describe idx-a
	[[ "$stderr" == *"not valid JSON, line 1"* ]]
}

@test "an empty metastore.json is reported and left unchanged" {
	: >"$F"
	check_refused
}

@test "JSON that is not a metastore is reported and left unchanged" {
	jq 'del(.splits)' "$F" >"$T/x" && mv "$T/x" "$F"
	check_refused
	run --separate-stderr qw index describe idx-a
	[[ "$stderr" == *"'splits' is missing or not an object"* ]]
	echo '[1, 2]' >"$F"
	check_refused
}

@test "index list shows the readable indexes and fails (65) naming the broken one" {
	truncate -s 10 "$F"
	run --separate-stderr qw --format json index list
	[ "$status" -eq 65 ]
	[ "$(jq -r '.[].index_id' <<<"$output")" = idx-b ]
	[[ "$stderr" == *"'$F'"* ]]
}

@test "a broken index can still be deleted" {
	truncate -s 10 "$F"
	run --separate-stderr qw index delete idx-a --yes
	[ "$status" -eq 0 ]
	[ ! -e "$QW_DATA_DIR/indexes/idx-a" ]
	[ -f "$QW_DATA_DIR/indexes/idx-b/metastore.json" ]
}

@test "a write leaves no temp file behind and the result is valid JSON" {
	qw index clear idx-b --yes >/dev/null
	run ls -A "$QW_DATA_DIR/indexes/idx-b"
	[ "$(echo "$output" | grep -c tmp)" -eq 0 ]
	jq -e '.format_version == 1 and (.splits | length) == 0' "$QW_DATA_DIR/indexes/idx-b/metastore.json"
}

@test "concurrent qw writers on one index all succeed and the file stays valid" {
	# wait for each writer by pid: a bare `wait` would also wait for bats's
	# own BATS_TEST_TIMEOUT watchdog
	pids=()
	for i in 1 2 3 4; do
		qw index clear idx-b --yes >/dev/null 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	jq -e '.index_config.index_id == "idx-b"' "$QW_DATA_DIR/indexes/idx-b/metastore.json"
}
