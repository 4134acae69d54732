#!/usr/bin/env bats
# qw-package: split files, their metadata, pass-through, refusals.
load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	S=$T/scratch
	ts_config "$T/cfg.yaml" pkg-idx "$TENANT_FIELDS
  tag_fields: [tenant]
  partition_key: tenant" "indexing_settings:
  split_num_docs_target: 40"
}

gen_docs() {
	awk -v n="$1" -v k="${2:-2}" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "{\"ts\":%d,\"tenant\":\"t%d\",\"msg\":\"hello %d\"}\n", 1600000000 + i, i % k, i
	}'
}

records() {
	tr -d '\036' <"$1" | grep '^{'
}

packaged() {
	records "$1" | jq -c 'select(.type == "packaged")'
}

@test "qw-package --help, --version and a usage error" {
	run --separate-stderr qw-package --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: qw-package"* ]]
	run --separate-stderr qw-package --version
	[ "$status" -eq 0 ]
	[[ "$output" == "qw-package (qw) "* ]]
	run --separate-stderr qw-package extra-arg
	[ "$status" -eq 64 ]
	[[ "$stderr" == "qw-package: "* ]]
}

@test "qw-index | qw-package makes one split file per split, with the right metadata" {
	gen_docs 100 >"$T/docs"
	echo 'not json' >>"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" |
		qw-package --index-config "$T/cfg.yaml" >"$T/out"
	packaged "$T/out" >"$T/pk"
	# oracle: valid lines of the input
	valid=$(jq -R 'fromjson? | select(type == "object")' "$T/docs" | jq -s length)
	[ "$(jq -s '[.[].splits[].metadata.num_docs] | add' "$T/pk")" -eq "$valid" ]
	[ "$(jq -s 'map(.num_docs) | add' "$T/pk")" -eq "$valid" ]
	[ "$(jq -s 'map(.docs_invalid) | add' "$T/pk")" -eq 1 ]
	# every split file exists, its size is the one announced, its name is its ULID
	jq -r '.splits[] | "\(.path) \(.size) \(.split_id)"' "$T/pk" >"$T/files"
	[ "$(wc -l <"$T/files")" -ge 2 ]
	while read -r path size id; do
		[ -f "$path" ]
		[ "$(stat -c %s "$path")" -eq "$size" ]
		[ "$(basename "$path")" = "$id.split" ]
		[[ "$id" =~ ^[0-9A-HJKMNP-TV-Z]{26}$ ]]
	done <"$T/files"
	# the serialized segment directories are gone
	[ -z "$(ls -d "$S"/seg-* 2>/dev/null)" ]
	# one tenant per split (partition_key: tenant), its tag, its doc count
	jq -c '.splits[].metadata | {tags, num_docs}' "$T/pk" >"$T/meta"
	for t in t0 t1; do
		want=$(jq -s "map(select(.tenant == \"$t\")) | length" <(jq -R 'fromjson? | select(type == "object")' "$T/docs"))
		got=$(jq -s "map(select(.tags | index(\"tenant:$t\"))) | map(.num_docs) | add" "$T/meta")
		[ "$got" -eq "$want" ]
	done
	# time range in seconds, index, maturity, split ids unique
	jq -s -e 'map(.splits[].metadata) | all(.index_id == "pkg-idx" and .time_range.start <= .time_range.end and (.maturity | type) == "object")' "$T/pk"
	[ "$(jq -r '.splits[].split_id' "$T/pk" | sort -u | wc -l)" -eq "$(wc -l <"$T/files")" ]
}

@test "qw-package writes split files to --scratch-dir when given" {
	gen_docs 10 >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" |
		qw-package --index-config "$T/cfg.yaml" --scratch-dir "$T/out-dir" >"$T/out"
	for p in $(packaged "$T/out" | jq -r '.splits[].path'); do
		[[ "$p" == "$T/out-dir/"*.split ]]
		[ -f "$p" ]
	done
}

@test "qw-package keeps the checkpoint delta, and packages a cut without splits" {
	{ gen_docs 3
	  printf '\036{"type":"checkpoint","source":"s1","partition":"/a","from":0,"to":120}\n'
	  printf '\036{"type":"commit"}\n'
	  echo 'bad line'
	  printf '\036{"type":"checkpoint","source":"s1","partition":"/a","from":120,"to":129}\n'
	  printf '\036{"type":"eof"}\n'; } >"$T/in"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/in" |
		qw-package --index-config "$T/cfg.yaml" >"$T/out"
	[ "$(records "$T/out" | jq -r .type | tr '\n' ' ')" = "packaged packaged eof " ]
	packaged "$T/out" >"$T/pk"
	[ "$(jq -c .checkpoint_delta "$T/pk" | tr '\n' ' ')" = '{"/a":{"from":0,"to":120}} {"/a":{"from":120,"to":129}} ' ]
	[ "$(jq '.splits | length' "$T/pk" | tail -1)" -eq 0 ]
	[ "$(jq -r .source "$T/pk" | sort -u)" = s1 ]
}

@test "qw-package passes other records through in order" {
	printf '\036{"type":"x1"}\n\n\036{"type":"eof","n":2}\n' >"$T/in"
	qw-package <"$T/in" >"$T/out"
	grep -v '^$' "$T/in" | cmp - "$T/out"
}

@test "qw-package, qw-upload and qw-publish refuse a document line, naming it, as qw-protocol(7) says" {
	printf '\036{"type":"x1"}\n\n{"a":1}\n' >"$T/in"
	for p in qw-package qw-upload qw-publish; do
		run --separate-stderr "$p" <"$T/in"
		[ "$status" -eq 65 ]
		[[ "$stderr" == "$p: line 3: a document where a control record was expected"* ]]
	done
	printf '\036[1]\n' >"$T/in"
	for p in qw-package qw-upload qw-publish; do
		run --separate-stderr "$p" <"$T/in"
		[ "$status" -eq 65 ]
		[[ "$stderr" == "$p: line 1: bad control record"* ]]
	done
}

@test "qw-package refuses a split record whose dir is not a qw-index segment, and leaves it alone" {
	mkdir -p "$T/precious"
	echo keep >"$T/precious/file"
	printf '\036{"type":"split","index":"pkg-idx","splits":[{"dir":"%s","num_docs":1}],"checkpoint_delta":{}}\n' "$T/precious" >"$T/in"
	run --separate-stderr qw-package <"$T/in"
	[ "$status" -eq 65 ]
	[[ "$stderr" == "qw-package: "*"precious"* ]]
	[ "$(cat "$T/precious/file")" = keep ]
}

@test "qw-package refuses a split record with a bad index id" {
	printf '\036{"type":"split","index":"../x","splits":[],"checkpoint_delta":{}}\n' >"$T/in"
	run --separate-stderr qw-package <"$T/in"
	[ "$status" -eq 65 ]
}

# An index in a fresh data dir, with "tok-new" as the current publish token
# of source s1 (written the way metastore.json documents it).
make_index_with_token() {
	setup_datadir
	qw index create --index-config "$T/cfg.yaml" >/dev/null
	m=$QW_DATA_DIR/indexes/pkg-idx/metastore.json
	[ -f "$m" ]
	jq '.publish_tokens.s1 = "tok-new"' "$m" >"$m.new"
	mv "$m.new" "$m"
}

@test "qw-index --index reads the config from the metastore, qw-package stamps the index_uid" {
	make_index_with_token
	gen_docs 20 >"$T/docs"
	qw-index --index pkg-idx --source s1 --publish-token tok-new <"$T/docs" >"$T/splits"
	# default scratch dir: under the data dir
	[[ "$(tr -d '\036' <"$T/splits" | jq -r '.splits[0].dir')" == "$QW_DATA_DIR/scratch/pkg-idx-"*/seg-* ]]
	qw-package --index pkg-idx <"$T/splits" >"$T/out"
	packaged "$T/out" >"$T/pk"
	[ "$(jq '[.splits[].metadata.num_docs] | add' "$T/pk")" -eq 20 ]
	uid=$(jq -r .index_uid "$QW_DATA_DIR/indexes/pkg-idx/metastore.json")
	[[ "$uid" == pkg-idx:* ]]
	[ "$(jq -r '.splits[].metadata.index_uid' "$T/pk" | sort -u)" = "$uid" ]
	[ "$(jq -r '.publish_token + " " + .source' "$T/pk")" = "tok-new s1" ]
}

@test "qw-package drops the splits of a dead generation (stale publish token)" {
	make_index_with_token
	gen_docs 20 >"$T/docs"
	qw-index --index pkg-idx --source s1 --publish-token tok-old --scratch-dir "$S" <"$T/docs" >"$T/splits"
	[ -n "$(ls -d "$S"/seg-*)" ]
	run --separate-stderr qw-package --index pkg-idx <"$T/splits"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == "qw-package: "*"tok-old"*"dead generation"* ]]
	# the serialized splits are removed, no split file is made
	[ -z "$(ls -d "$S"/seg-* 2>/dev/null)" ]
	[ -z "$(ls "$S"/*.split 2>/dev/null)" ]
}

@test "qw-package fences only with a metastore: without one the stale token goes through" {
	gen_docs 5 >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --source s1 --publish-token tok-old --scratch-dir "$S" <"$T/docs" |
		qw-package --index-config "$T/cfg.yaml" >"$T/out"
	[ "$(packaged "$T/out" | jq '[.splits[].metadata.num_docs] | add')" -eq 5 ]
}

@test "qw-parse | qw-index | qw-package on real Windows event logs: every doc in a split file" {
	require_shared_data
	zstd -dc "$QW_SHARED_DATA/otrf/otrf-windows-events.ndjson.zst" | head -1200 >"$T/otrf.ndjson"
	cat >"$T/otrf.yaml" <<'CFG'
version: 0.8
index_id: otrf
doc_mapping:
  mode: dynamic
indexing_settings:
  split_num_docs_target: 500
CFG
	qw-parse --index-config "$T/otrf.yaml" --source s1 --checkpoint-every 200 "$T/otrf.ndjson" 2>/dev/null |
		qw-index --index-config "$T/otrf.yaml" --scratch-dir "$S" --source s1 |
		qw-package --index-config "$T/otrf.yaml" >"$T/out"
	packaged "$T/out" >"$T/pk"
	# oracle: the JSON objects of the input, counted by jq
	want=$(jq -c 'select(type == "object")' "$T/otrf.ndjson" | wc -l)
	[ "$(jq -s '[.[].splits[].metadata.num_docs] | add' "$T/pk")" -eq "$want" ]
	# the deltas cover the whole file, contiguously
	jq -s -e --argjson size "$(wc -c <"$T/otrf.ndjson")" '
		[.[].checkpoint_delta[]] | .[0].from == 0 and .[-1].to == $size and
		(. as $d | all(range(1; length); $d[.].from == $d[. - 1].to))' "$T/pk"
	# every split file is there, and eof made it to the end of the chain
	for p in $(jq -r '.splits[].path' "$T/pk"); do [ -s "$p" ]; done
	[ "$(records "$T/out" | tail -1 | jq -r .type)" = eof ]
}

@test "qw-package with only --data-dir reads the index config of each record from the metastore" {
	make_index_with_token
	gen_docs 50 >"$T/docs"
	qw-index --index pkg-idx --source s1 --publish-token tok-new --scratch-dir "$S" <"$T/docs" |
		qw-package --data-dir "$QW_DATA_DIR" >"$T/out"
	packaged "$T/out" >"$T/pk"
	# split_num_docs_target is 40: a split of 40 docs or more is mature, a smaller one is not
	jq -s -e 'map(.splits[].metadata) | length >= 2 and
		all(if .num_docs >= 40 then .maturity.type == "mature"
		    else .maturity.type == "immature" and .maturity.maturation_period_millis == 172800000 end)' "$T/pk"
}
