#!/usr/bin/env bats
# qw split list/describe on splits made by the real pipeline.
# Oracles: the input line count, stat(1) of the split file, jq.
load helpers

# Index once for the whole file (each pipeline run takes seconds); the
# tests only read.
setup_file() {
	export QW_DATA_DIR=$BATS_FILE_TMPDIR/qwdata
	T=$BATS_FILE_TMPDIR
	cat >"$T/gh.yaml" <<'EOF2'
version: 0.8
index_id: gh-events
doc_mapping:
  mode: dynamic
  field_mappings:
    - name: created_at
      type: datetime
      fast: true
      input_formats: [rfc3339]
    - name: type
      type: text
      tokenizer: raw
  timestamp_field: created_at
EOF2
	awk 'NR <= 60' "$QW_SRCDIR/examples/gharchive.ndjson" >"$T/a.ndjson"
	awk 'NR > 60 && NR <= 100' "$QW_SRCDIR/examples/gharchive.ndjson" >"$T/b.ndjson"
	qw index create --index-config "$T/gh.yaml" >/dev/null
	qw pipeline --index gh-events --once --quiet "$T/a.ndjson" >/dev/null 2>&1 3>&-
	qw pipeline --index gh-events --once --quiet "$T/b.ndjson" >/dev/null 2>&1 3>&-
}

setup() {
	export QW_DATA_DIR=$BATS_FILE_TMPDIR/qwdata
	T=$BATS_FILE_TMPDIR
}

@test "split list shows every published split with its documents and file size" {
	run --separate-stderr qw --format json split list --index gh-events --state published
	[ "$status" -eq 0 ]
	list=$output
	[ "$(jq length <<<"$list")" -ge 2 ]
	[ "$(jq 'map(.num_docs) | add' <<<"$list")" -eq $(cat "$T/a.ndjson" "$T/b.ndjson" | wc -l) ]
	for id in $(jq -r '.[].split_id' <<<"$list"); do
		f=$QW_DATA_DIR/indexes/gh-events/splits/$id.split
		[ "$(jq --arg id "$id" '.[] | select(.split_id == $id) | .size_bytes' <<<"$list")" -eq "$(stat -c %s "$f")" ]
	done
	# the time range is that of the created_at values
	first=$(jq -r .created_at "$T/a.ndjson" "$T/b.ndjson" | sort | head -1 | cut -c1-19)
	[ "$(jq 'map(.time_range.start) | min | todate' <<<"$list")" = "\"${first}Z\"" ]
	run --separate-stderr qw --format json index describe gh-events
	[ "$(jq .num_published_docs <<<"$output")" -eq 100 ]
	[ "$(jq -c '.checkpoints.files | map_values(. > 0) | length' <<<"$output")" -eq 2 ]
}

@test "split describe prints the metadata and sections of a split, by path or by id" {
	id=$(qw --format json split list --index gh-events | jq -r '.[0].split_id')
	f=$QW_DATA_DIR/indexes/gh-events/splits/$id.split
	run --separate-stderr qw --format json split describe --index gh-events "$id" --verify
	[ "$status" -eq 0 ]
	d=$output
	[ "$(jq -r .metadata.split_id <<<"$d")" = "$id" ]
	[ "$(jq -r .split_state <<<"$d")" = Published ]
	[ "$(jq .file_size <<<"$d")" -eq "$(stat -c %s "$f")" ]
	# the sections tile the file
	[ "$(jq '.sections | map(.size) | add' <<<"$d")" -eq "$(stat -c %s "$f")" ]
	run --separate-stderr qw --format json split describe "$f"
	[ "$status" -eq 0 ]
	[ "$(jq -c .metadata <<<"$output")" = "$(jq -c .metadata <<<"$d")" ]
	run --separate-stderr qw split describe "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Sections:"* ]]
	[[ "$output" == *"split_id:"*"$id"* ]]
}

@test "split describe fails clearly on a missing or damaged split" {
	run --separate-stderr qw split describe --index gh-events 01HZZZZZZZZZZZZZZZZZZZZZZ1
	[ "$status" -eq 66 ]
	[[ "$stderr" == *"split '01HZZZZZZZZZZZZZZZZZZZZZZ1' does not exist in index 'gh-events'"* ]]
	run --separate-stderr qw split describe "$T/none.split"
	[ "$status" -eq 66 ]
	id=$(qw --format json split list --index gh-events | jq -r '.[0].split_id')
	f=$QW_DATA_DIR/indexes/gh-events/splits/$id.split
	head -c 1000 "$f" >"$BATS_TEST_TMPDIR/cut.split"
	run --separate-stderr qw split describe "$BATS_TEST_TMPDIR/cut.split"
	[ "$status" -eq 65 ]
	[[ "$stderr" == "qw: "*"cut.split"* ]]
}
