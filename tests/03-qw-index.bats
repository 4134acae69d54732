#!/usr/bin/env bats
# qw front end: index create/list/describe/delete/clear, split list, bad
# input, and `qw NAME` dispatch. Oracle: jq on the raw metastore.json.
load helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
	cat >"$T/logs.yaml" <<'EOF'
version: 0.8
index_id: app-logs
doc_mapping:
  field_mappings:
    - name: ts
      type: datetime
      fast: true
      input_formats: [unix_timestamp]
    - name: level
      type: text
      tokenizer: raw
    - name: msg
      type: text
  timestamp_field: ts
EOF
	cat >"$T/other.json" <<'EOF'
{"version": "0.8", "index_id": "other.idx",
 "doc_mapping": {"field_mappings": [{"name": "body", "type": "text"}]}}
EOF
}

ms_file() {
	echo "$QW_DATA_DIR/indexes/$1/metastore.json"
}

# Inject splits into the raw metastore (as qw-upload/qw-publish would):
# two published, one staged, one marked, and a checkpoint.
inject_splits() {
	local f
	f=$(ms_file "$1")
	jq '.splits = {
	  "01HZZZZZZZZZZZZZZZZZZZZZZ1": {"split_state": "Published", "update_timestamp": 1700000000,
	    "publish_timestamp": 1700000000, "publish_token": "t",
	    "metadata": {"split_id": "01HZZZZZZZZZZZZZZZZZZZZZZ1", "num_docs": 10,
	      "split_size_bytes": 1000, "uncompressed_docs_size_in_bytes": 5000,
	      "time_range": {"start": 1600000000, "end": 1600000100}}},
	  "01HZZZZZZZZZZZZZZZZZZZZZZ2": {"split_state": "Published", "update_timestamp": 1700000001,
	    "publish_timestamp": 1700000001, "publish_token": "t",
	    "metadata": {"split_id": "01HZZZZZZZZZZZZZZZZZZZZZZ2", "num_docs": 32,
	      "split_size_bytes": 2000, "uncompressed_docs_size_in_bytes": 7000,
	      "time_range": {"start": 1599999000, "end": 1600000050}}},
	  "01HZZZZZZZZZZZZZZZZZZZZZZ3": {"split_state": "Staged", "update_timestamp": 1700000002,
	    "publish_timestamp": null, "publish_token": "t",
	    "metadata": {"split_id": "01HZZZZZZZZZZZZZZZZZZZZZZ3", "num_docs": 5,
	      "split_size_bytes": 300, "time_range": {"start": 1500000000, "end": 1500000001}}},
	  "01HZZZZZZZZZZZZZZZZZZZZZZ4": {"split_state": "MarkedForDeletion", "update_timestamp": 1700000003,
	    "publish_timestamp": 1700000000, "publish_token": "t",
	    "metadata": {"split_id": "01HZZZZZZZZZZZZZZZZZZZZZZ4", "num_docs": 7,
	      "split_size_bytes": 400, "time_range": null}}}
	| .checkpoints = {"files": {"/var/log/a.log": 1234, "/var/log/b.log": 99}}' "$f" >"$f.new"
	mv "$f.new" "$f"
	mkdir -p "$QW_DATA_DIR/indexes/$1/splits"
	for i in 1 2 3 4; do
		echo data >"$QW_DATA_DIR/indexes/$1/splits/01HZZZZZZZZZZZZZZZZZZZZZZ$i.split"
	done
}

@test "qw --help and every command's --help print their usage on stdout" {
	run --separate-stderr qw --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: qw "* ]]
	for c in "index create" "index list" "index describe" "index delete" "index clear" \
		"split list" "split describe" "pipeline status"; do
		run --separate-stderr qw $c --help
		[ "$status" -eq 0 ]
		[[ "$output" == "Usage: qw $c"* ]]
		[ -z "$stderr" ]
		run --separate-stderr qw help $c
		[ "$status" -eq 0 ]
		[[ "$output" == "Usage: qw $c"* ]]
	done
	run --separate-stderr qw index --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: qw index COMMAND"* ]]
}

@test "qw --version prints the package version" {
	run --separate-stderr qw --version
	[ "$status" -eq 0 ]
	[[ "$output" == "qw (qw) "* ]]
}

@test "qw without a command, with a bad --format or an unknown sub-option exits 64" {
	run --separate-stderr qw
	[ "$status" -eq 64 ]
	[[ "$stderr" == "qw: missing command"* ]]
	run --separate-stderr qw --format xml index list
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"invalid --format 'xml'"* ]]
	run --separate-stderr qw index list --yes
	[ "$status" -eq 64 ]
	[[ "$stderr" == "qw: index list: unknown option '--yes'"* ]]
	[[ "$stderr" == *"Usage: qw index list"* ]]
	run --separate-stderr qw index frobnicate
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"'index frobnicate' is not a qw command"* ]]
	run --separate-stderr qw index create
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"--index-config FILE is required"* ]]
}

@test "qw index create stores the config and index list shows it" {
	run --separate-stderr qw index create --index-config "$T/logs.yaml"
	[ "$status" -eq 0 ]
	[[ "$output" == "Index 'app-logs' created"* ]]
	f=$(ms_file app-logs)
	[ "$(jq -r .index_config.index_id "$f")" = app-logs ]
	[ "$(jq -r .index_config.doc_mapping.timestamp_field "$f")" = ts ]
	[ "$(jq -r '.index_uid | startswith("app-logs:")' "$f")" = true ]
	[ "$(jq -c '[.splits, .checkpoints]' "$f")" = '[{},{}]' ]

	run --separate-stderr qw index create --index-config "$T/other.json"
	[ "$status" -eq 0 ]
	run --separate-stderr qw --format json index list
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[].index_id' | paste -sd,)" = "app-logs,other.idx" ]
	[ "$(echo "$output" | jq -r '.[0].timestamp_field')" = ts ]
	[ "$(echo "$output" | jq -r '.[1].timestamp_field')" = null ]
	# the table has a header and one line per index
	run --separate-stderr qw index list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "INDEX ID"* ]]
	[[ "${lines[1]}" == "app-logs "* ]]
}

@test "qw index create refuses an existing index (73) unless --overwrite" {
	qw index create --index-config "$T/logs.yaml"
	f=$(ms_file app-logs)
	cp "$f" "$T/before"
	run --separate-stderr qw index create --index-config "$T/logs.yaml"
	[ "$status" -eq 73 ]
	[[ "$stderr" == "qw: index 'app-logs' already exists"* ]]
	cmp "$f" "$T/before"
	inject_splits app-logs
	run --separate-stderr qw index create --index-config "$T/logs.yaml" --overwrite
	[ "$status" -eq 0 ]
	[ "$(jq -r .index_uid "$f")" != "$(jq -r .index_uid "$T/before")" ]
	[ "$(jq -c .splits "$f")" = '{}' ]
	[ -z "$(ls "$QW_DATA_DIR/indexes/app-logs/splits")" ]
}

@test "qw index describe counts splits by state, docs, bytes and the time range" {
	qw index create --index-config "$T/logs.yaml"
	inject_splits app-logs
	f=$(ms_file app-logs)
	run --separate-stderr qw --format json index describe app-logs
	[ "$status" -eq 0 ]
	d=$output
	pub='[.splits[] | select(.split_state == "Published")]'
	[ "$(jq .num_published_splits <<<"$d")" = "$(jq "$pub | length" "$f")" ]
	[ "$(jq .num_staged_splits <<<"$d")" = "$(jq '[.splits[] | select(.split_state == "Staged")] | length' "$f")" ]
	[ "$(jq .num_marked_splits <<<"$d")" = "$(jq '[.splits[] | select(.split_state == "MarkedForDeletion")] | length' "$f")" ]
	[ "$(jq .num_published_docs <<<"$d")" = "$(jq "$pub | map(.metadata.num_docs) | add" "$f")" ]
	[ "$(jq .size_published_splits <<<"$d")" = "$(jq "$pub | map(.metadata.split_size_bytes) | add" "$f")" ]
	[ "$(jq .size_published_docs_uncompressed <<<"$d")" = "$(jq "$pub | map(.metadata.uncompressed_docs_size_in_bytes) | add" "$f")" ]
	[ "$(jq .timestamp_range.start <<<"$d")" = "$(jq "$pub | map(.metadata.time_range.start) | min" "$f")" ]
	[ "$(jq .timestamp_range.end <<<"$d")" = "$(jq "$pub | map(.metadata.time_range.end) | max" "$f")" ]
	[ "$(jq -r .timestamp_field <<<"$d")" = ts ]
	[ "$(jq -c .checkpoints <<<"$d")" = "$(jq -c .checkpoints "$f")" ]
	[ "$(jq -r .index_uid <<<"$d")" = "$(jq -r .index_uid "$f")" ]
	# --index works as well as the positional id, and the table names the fields
	run --separate-stderr qw index describe --index app-logs
	[ "$status" -eq 0 ]
	[[ "$output" == *"Number of published documents:"*" 42"* ]]
	[[ "$output" == *"Timestamp range:"*"2020-09-13T12:10:00Z .. 2020-09-13T12:28:20Z"* ]]
	[[ "$output" == *"/var/log/a.log  1234"* ]]
}

@test "qw split list filters by state and reports what the metastore holds" {
	qw index create --index-config "$T/logs.yaml"
	inject_splits app-logs
	f=$(ms_file app-logs)
	run --separate-stderr qw split list --index app-logs --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[].split_id' <<<"$output" | paste -sd,)" = "$(jq -r '.splits | keys[]' "$f" | sort | paste -sd,)" ]
	[ "$(jq -c 'map({(.split_id): [.split_state, .num_docs, .size_bytes]}) | add' <<<"$output")" = \
	  "$(jq -c '.splits | with_entries(.value |= [.split_state, .metadata.num_docs, .metadata.split_size_bytes])' "$f")" ]
	for s in staged:Staged published:Published marked:MarkedForDeletion; do
		run --separate-stderr qw --format json split list --index app-logs --state "${s%%:*}"
		[ "$status" -eq 0 ]
		[ "$(jq -r '.[].split_id' <<<"$output" | paste -sd,)" = \
		  "$(jq -r --arg s "${s#*:}" '.splits | to_entries[] | select(.value.split_state == $s) | .key' "$f" | sort | paste -sd,)" ]
	done
	run --separate-stderr qw --format json split list --index app-logs --state staged,marked
	[ "$(jq length <<<"$output")" -eq 2 ]
	run --separate-stderr qw split list --index app-logs --state bogus
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"invalid --state 'bogus'"* ]]
	run --separate-stderr qw split list --index app-logs
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 5 ]
	run --separate-stderr qw split list
	[ "$status" -eq 64 ]
}

@test "qw index delete refuses without --yes, then removes everything" {
	qw index create --index-config "$T/logs.yaml"
	inject_splits app-logs
	run --separate-stderr qw index delete app-logs
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"add --yes"* ]]
	[ -f "$(ms_file app-logs)" ]
	run --separate-stderr qw --format json index delete app-logs --yes
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"index_id":"app-logs","deleted":true,"num_splits_removed":4}' ]
	[ ! -e "$QW_DATA_DIR/indexes/app-logs" ]
	run --separate-stderr qw --format json index list
	[ "$(jq length <<<"$output")" -eq 0 ]
	run --separate-stderr qw index delete app-logs --yes
	[ "$status" -eq 66 ]
	[[ "$stderr" == "qw: index 'app-logs' does not exist in data dir '"*"(qw index list shows its indexes; --data-dir or QW_DATA_DIR chooses another)" ]]
}

@test "qw index clear removes splits, split files and checkpoints but keeps the config" {
	qw index create --index-config "$T/logs.yaml"
	inject_splits app-logs
	f=$(ms_file app-logs)
	cfg_before=$(jq -c .index_config "$f")
	run --separate-stderr qw index clear app-logs
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"add --yes"* ]]
	[ "$(jq '.splits | length' "$f")" -eq 4 ]
	run --separate-stderr qw index clear app-logs --yes
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.splits, .checkpoints]' "$f")" = '[{},{}]' ]
	[ "$(jq -c .index_config "$f")" = "$cfg_before" ]
	[ -z "$(ls "$QW_DATA_DIR/indexes/app-logs/splits")" ]
}

@test "every command that takes an index id rejects invalid ids with 64" {
	long=$(printf 'a%.0s' $(seq 300))
	mkdir -p "$QW_DATA_DIR"
	for id in "../x" "" "$long" "a/b" "9abc"; do
		for cmd in "index describe" "index delete --yes" "index clear --yes"; do
			run --separate-stderr qw $cmd "$id"
			[ "$status" -eq 64 ]
			[[ "$stderr" == "qw: invalid index id"* ]]
		done
		run --separate-stderr qw split list --index "$id"
		[ "$status" -eq 64 ]
		[[ "$stderr" == "qw: invalid index id"* ]]
		run --separate-stderr qw split describe --index "$id" 01HZZZZZZZZZZZZZZZZZZZZZZ1
		[ "$status" -eq 64 ]
	done
	# nothing was created next to the data dir
	[ -z "$(ls -A "$QW_DATA_DIR")" ]
	[ ! -e "$T/x" ]
	# an index_id in a config is checked the same way
	sed 's/^index_id: .*/index_id: ..\/evil/' "$T/logs.yaml" >"$T/evil.yaml"
	run --separate-stderr qw index create --index-config "$T/evil.yaml"
	[ "$status" -ne 0 ]
	[ ! -e "$QW_DATA_DIR/evil" ]
	# split ids must be ULIDs
	qw index create --index-config "$T/logs.yaml"
	run --separate-stderr qw split describe --index app-logs ../../metastore.json
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"not a ULID"* ]]
}

@test "an unknown index is 66 on every command" {
	for cmd in "index describe nope-idx" "index delete nope-idx --yes" \
		"index clear nope-idx --yes" "split list --index nope-idx"; do
		run --separate-stderr qw $cmd
		[ "$status" -eq 66 ]
		[[ "$stderr" == "qw: index 'nope-idx' does not exist in data dir '"*"(qw index list shows its indexes; --data-dir or QW_DATA_DIR chooses another)" ]]
	done
}

@test "config errors: missing file 66, malformed YAML and JSON with line and column, unknown keys and wrong types 65" {
	run --separate-stderr qw index create --index-config "$T/missing.yaml"
	[ "$status" -eq 66 ]
	[[ "$stderr" == *"missing.yaml"* ]]

	printf 'version: 0.8\nindex_id: abc\ndoc_mapping:\n  field_mappings: [\n' >"$T/bad.yaml"
	run --separate-stderr qw index create --index-config "$T/bad.yaml"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"line "*"column "* ]]

	printf '{"version": "0.8", "index_id": "abc",\n "doc_mapping": {]}' >"$T/bad.json"
	run --separate-stderr qw index create --index-config "$T/bad.json"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"line 2"*"column"* ]]

	sed 's/^doc_mapping:/doc_mapping:\n  colour: blue/' "$T/logs.yaml" >"$T/unknown.yaml"
	run --separate-stderr qw index create --index-config "$T/unknown.yaml"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"doc_mapping.colour"* ]]

	sed 's/tokenizer: raw/tokenizer: foo/' "$T/logs.yaml" >"$T/tok.yaml"
	run --separate-stderr qw index create --index-config "$T/tok.yaml"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"doc_mapping.field_mappings[1].tokenizer"* ]]

	printf 'indexing_settings:\n  commit_timeout_secs: [1, 2]\n' | cat "$T/logs.yaml" - >"$T/type.yaml"
	run --separate-stderr qw index create --index-config "$T/type.yaml"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"indexing_settings.commit_timeout_secs"* ]]

	# nothing was created by any of them
	[ ! -e "$QW_DATA_DIR/indexes/abc" ]
	[ ! -e "$QW_DATA_DIR/indexes/app-logs" ]
}

@test "an unwritable data dir is 73" {
	touch "$T/file"
	run --separate-stderr qw --data-dir "$T/file/qwdata" index create --index-config "$T/logs.yaml"
	[ "$status" -eq 73 ]
	[[ "$stderr" == "qw: "*"$T/file/qwdata"* ]]
}

@test "the data dir comes from --data-dir, else QW_DATA_DIR, else ./qwdata" {
	qw --data-dir "$T/d1" index create --index-config "$T/logs.yaml"
	[ -f "$T/d1/indexes/app-logs/metastore.json" ]
	QW_DATA_DIR="$T/d2" qw index create --index-config "$T/logs.yaml"
	[ -f "$T/d2/indexes/app-logs/metastore.json" ]
	# the option after the command works too, and wins over the environment
	QW_DATA_DIR="$T/d2" qw index create --index-config "$T/other.json" --data-dir "$T/d1"
	[ -f "$T/d1/indexes/other.idx/metastore.json" ]
	[ ! -e "$T/d2/indexes/other.idx" ]
	mkdir "$T/cwd"
	(cd "$T/cwd" && unset QW_DATA_DIR && qw index create --index-config "$T/logs.yaml")
	[ -f "$T/cwd/qwdata/indexes/app-logs/metastore.json" ]
}

@test "a full stdout is an I/O error (74)" {
	qw index create --index-config "$T/logs.yaml"
	run --separate-stderr sh -c 'qw --format json index describe app-logs >/dev/full'
	[ "$status" -eq 74 ]
	[[ "$stderr" == "qw: cannot write to standard output"* ]]
}

@test "qw NAME runs qw-NAME from qw's own directory first, then PATH" {
	run --separate-stderr qw parse --version
	[ "$status" -eq 0 ]
	[[ "$output" == "qw-parse (qw) "* ]]

	mkdir -p "$T/own" "$T/path"
	cp "$(command -v qw)" "$T/own/qw"
	printf '#!/bin/sh\necho "own $# $1 $2 [$QW_DATA_DIR]"\n' >"$T/own/qw-hello"
	printf '#!/bin/sh\necho "path $*"\n' >"$T/path/qw-hello"
	printf '#!/bin/sh\necho "path-only $*"\n' >"$T/path/qw-other"
	chmod +x "$T/own/qw-hello" "$T/path/qw-hello" "$T/path/qw-other"
	run --separate-stderr env PATH="$T/path:$PATH" "$T/own/qw" --data-dir /some/dir hello "a b" c
	[ "$status" -eq 0 ]
	[ "$output" = "own 2 a b c [/some/dir]" ]
	run --separate-stderr env PATH="$T/path:$PATH" "$T/own/qw" other x
	[ "$status" -eq 0 ]
	[ "$output" = "path-only x" ]
	# exit status of the command is passed on
	printf '#!/bin/sh\nexit 3\n' >"$T/own/qw-fail"
	chmod +x "$T/own/qw-fail"
	run "$T/own/qw" fail
	[ "$status" -eq 3 ]
}

@test "an unknown command is 64 with a clear message" {
	run --separate-stderr qw no-such-thing arg
	[ "$status" -eq 64 ]
	[ "$stderr" = "qw: 'no-such-thing' is not a qw command (see 'qw --help')" ]
	run --separate-stderr qw ../bin/qw
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"is not a qw command"* ]]
}

@test "the options of every command's --help are in the man page and the completion" {
	for c in "" "index create" "index list" "index describe" "index delete" "index clear" \
		"split list" "split describe" "split mark-for-deletion" "delete-task create" \
		"delete-task list" "pipeline status"; do
		for o in $(qw $c --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			grep -q -- "Fl -${o#--}" "$QW_SRCDIR/man/qw.1" || { echo "man: $c $o"; false; }
			grep -q -- "$o" "$QW_SRCDIR/completions/qw" || { echo "completion: $c $o"; false; }
		done
	done
	# and the command synopses of the usage are in the man page
	qw --help | sed -n 's/^  \(index\|split\|delete-task\|pipeline\) \([a-z-]*\).*/\1 \2/p' | while read -r g s; do
		grep -q "^\.Cm $g $s" "$QW_SRCDIR/man/qw.1" || { echo "man: $g $s"; false; }
	done
}

@test "--format json keys are the documented ones, in a stable order" {
	qw index create --index-config "$T/logs.yaml"
	inject_splits app-logs
	describe='index_id,index_uid,index_uri,create_timestamp,timestamp_field,num_published_splits,num_staged_splits,num_marked_splits,num_published_docs,size_published_splits,size_published_docs_uncompressed,timestamp_range,checkpoints,merge'
	split='split_id,split_state,num_docs,size_bytes,uncompressed_docs_size_in_bytes,time_range,create_timestamp,update_timestamp,publish_timestamp'
	[ "$(qw --format json index describe app-logs | jq -r 'keys_unsorted | join(",")')" = "$describe" ]
	# index list: the same objects without the checkpoints
	[ "$(qw --format json index list | jq -r '.[0] | keys_unsorted | join(",")')" = "${describe%,checkpoints,merge}" ]
	[ "$(qw --format json split list --index app-logs | jq -r 'map(keys_unsorted | join(",")) | unique | .[]')" = "$split" ]
	[ "$(qw --format json index describe app-logs | jq -c '.timestamp_range | keys_unsorted')" = '["start","end"]' ]
	# every key is named in qw(1)
	for k in ${describe//,/ } ${split//,/ }; do
		grep -q -w -- "$k" "$QW_SRCDIR/man/qw.1" || { echo "not in qw(1): $k"; false; }
	done
}

@test "qw --help lists every subcommand's options (split describe --verify)" {
	run -0 qw --help
	[[ "$output" == *"split describe FILE | --index ID SPLIT_ID [--verify]"* ]]
}
