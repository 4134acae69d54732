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

# ---------------------------------------------------------------- index_uri

# uri_config ID URI: a dynamic index config with that index_uri.
uri_config() {
	cat >"$T/$1.yaml" <<EOF2
version: 0.8
index_id: $1
index_uri: $2
doc_mapping:
  mode: dynamic
EOF2
}

# ndjson N: N documents {"n": i, "w": "word<i>"}, independent of qw.
ndjson() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"n\":%d,\"w\":\"word%d\"}\n", i, i }'
}

@test "an index_uri whose scheme is not implemented is refused at index create, naming the key" {
	for uri in azure://c/x gs://b/x ram:///x; do
		scheme=${uri%%://*}
		uri_config idx-s "$uri"
		run --separate-stderr -65 qw index create --index-config "$T/idx-s.yaml"
		[ -z "$output" ]
		[ "$stderr" = "qw: '$T/idx-s.yaml': index_uri: scheme '$scheme' is not supported yet" ]
		[ ! -e "$QW_DATA_DIR/indexes/idx-s" ]
	done
	uri_config idx-s relative/dir
	run --separate-stderr -65 qw index create --index-config "$T/idx-s.yaml"
	[[ "$stderr" == *"index_uri: 'relative/dir' is not an absolute path" ]]
	uri_config idx-s "file://$T/a/../b"
	run --separate-stderr -65 qw index create --index-config "$T/idx-s.yaml"
	[[ "$stderr" == *"index_uri: "*"'..'"* ]]
	[ ! -e "$QW_DATA_DIR/indexes/idx-s" ]
}

@test "a file:// index_uri is honoured by the pipeline, search, split list, gc, clear and delete" {
	mkdir "$T/elsewhere"
	echo keep >"$T/elsewhere/user-file"
	uri_config idx-u "file://$T/elsewhere/"
	run -0 qw index create --index-config "$T/idx-u.yaml"
	[ "$output" = "Index 'idx-u' created at file://$T/elsewhere" ]
	[ "$(qw index describe idx-u --format json | jq -r .index_uri)" = "file://$T/elsewhere" ]
	ndjson 250 >"$T/in.ndjson"
	qw-pipeline --index idx-u --once --quiet "$T/in.ndjson"
	# the split files are there, none in the data dir
	ls "$T/elsewhere" | grep '\.split$' >"$T/files"
	[ -s "$T/files" ]
	[ -z "$(find "$QW_DATA_DIR" -name '*.split')" ]
	diff <(qw split list --index idx-u --format json | jq -r '.[].split_id + ".split"' | sort) "$T/files"
	# search reads them: counts against awk over the input
	[ "$(qw-search --index idx-u --format count)" = "$(wc -l <"$T/in.ndjson")" ]
	[ "$(qw-search --index idx-u --format count 'n:>200')" = \
	  "$(awk -F'[:,]' '$2 > 200' "$T/in.ndjson" | wc -l)" ]
	# describe sums the sizes of the files there
	[ "$(qw index describe idx-u --format json | jq .size_published_splits)" = \
	  "$(cd "$T/elsewhere" && cat $(cat "$T/files") | wc -c)" ]
	# gc looks there for orphans
	orphan=01JGC0000000000000000000XZ
	echo junk >"$T/elsewhere/$orphan.split"
	run -0 qw-gc --index idx-u --deletion-grace-period 0
	[ "$output" = "$orphan orphan_file" ]
	[ ! -e "$T/elsewhere/$orphan.split" ]
	# clear removes the files there, and only them
	run -0 qw index clear idx-u --yes
	[ -z "$(ls "$T/elsewhere" | grep '\.split$')" ]
	[ "$(qw-search --index idx-u --format count)" = 0 ]
	[ "$(cat "$T/elsewhere/user-file")" = keep ]
	# delete too
	qw-pipeline --index idx-u --once --quiet "$T/in.ndjson"
	[ -n "$(ls "$T/elsewhere" | grep '\.split$')" ]
	run -0 qw index delete idx-u --yes
	[ -z "$(ls "$T/elsewhere" | grep '\.split$')" ]
	[ "$(cat "$T/elsewhere/user-file")" = keep ]
	[ ! -e "$QW_DATA_DIR/indexes/idx-u" ]
}

@test "a plain absolute index_uri means file://, and --overwrite removes the old index's files there" {
	uri_config idx-p "$T/plain"
	run -0 qw index create --index-config "$T/idx-p.yaml"
	[ "$output" = "Index 'idx-p' created at file://$T/plain" ]
	ndjson 10 >"$T/in.ndjson"
	qw-pipeline --index idx-p --once --quiet "$T/in.ndjson"
	[ -n "$(ls "$T/plain" | grep '\.split$')" ]
	uri_config idx-p "$T/plain2"
	run -0 qw index create --overwrite --index-config "$T/idx-p.yaml"
	[ -z "$(ls "$T/plain" | grep '\.split$')" ]
}

@test "an index without index_uri goes under the default index root, the option before the environment" {
	cat >"$T/r.yaml" <<'EOF2'
version: 0.8
index_id: idx-r
doc_mapping:
  mode: dynamic
EOF2
	sed 's/idx-r/idx-o/' "$T/r.yaml" >"$T/o.yaml"
	export QW_DEFAULT_INDEX_ROOT_URI="file://$T/root/"
	run -0 qw index create --index-config "$T/r.yaml"
	[ "$output" = "Index 'idx-r' created at file://$T/root/idx-r" ]
	run -0 qw index create --index-config "$T/o.yaml" --default-index-root-uri "$T/opt"
	[ "$output" = "Index 'idx-o' created at file://$T/opt/idx-o" ]
	ndjson 5 >"$T/in.ndjson"
	qw-pipeline --index idx-r --once --quiet "$T/in.ndjson"
	[ -n "$(ls "$T/root/idx-r" | grep '\.split$')" ]
	[ "$(qw-search --index idx-r --format count)" = 5 ]
	# a config's own index_uri wins over the default root
	uri_config idx-c "file://$T/own"
	run -0 qw index create --index-config "$T/idx-c.yaml"
	[ "$output" = "Index 'idx-c' created at file://$T/own" ]
	run --separate-stderr -65 env QW_DEFAULT_INDEX_ROOT_URI=gs://b/r qw index create --index-config "$T/o.yaml" --overwrite
	[ "$stderr" = "qw: QW_DEFAULT_INDEX_ROOT_URI: scheme 'gs' is not supported yet" ]
	run --separate-stderr -65 qw index create --index-config "$T/o.yaml" --overwrite --default-index-root-uri gs://b/r
	[ "$stderr" = "qw: --default-index-root-uri: scheme 'gs' is not supported yet" ]
}
