#!/usr/bin/env bats
# The file metastore on s3:// (one metastore.json per index under the
# URI) against s3rver on a loopback port (tests/s3-helpers.bash).
# Oracles: the contract suite's call sequence, the object read back with
# curl and jq, the input lines.

load helpers
load s3-helpers

setup() {
	T=$BATS_TEST_TMPDIR
	setup_datadir
	start_s3rver
}

teardown() {
	stop_fault_proxy
	stop_s3rver
}

@test "the metastore contract suite passes on the s3:// file metastore" {
	run "$QW_BUILDDIR/tests/unit/metastore_contract_test" "s3://$S3_BUCKET/contract"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep '^not ok' <<<"$output")" ]
	grep -q '^1\.\.' <<<"$output"
}

@test "the contract suite passes on the s3:// file metastore through 503 SlowDown, 500, resets and lost answers" {
	start_fault_proxy 5 0.3
	export QW_S3_MAX_RETRY_MS=5000
	run "$QW_BUILDDIR/tests/unit/metastore_contract_test" "s3://$S3_BUCKET/faulty"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep '^not ok' <<<"$output")" ]
	cat "$FAULT_STATS"
	jq -e '.slowdown + .internal + .reset + .lost >= 3' "$FAULT_STATS"
}

@test "one metastore.json per index under the URI; a searcher with only the bucket sees everything" {
	export QW_METASTORE_URI="s3://$S3_BUCKET/meta"
	cat >"$T/s3idx.yaml" <<EOF2
version: 0.8
index_id: s3idx
index_uri: s3://$S3_BUCKET/splits/s3idx
doc_mapping:
  mode: dynamic
EOF2
	qw index create --index-config "$T/s3idx.yaml" >/dev/null
	seq 1 300 | awk '{printf "{\"n\":%d}\n", $1}' >"$T/in.ndjson"
	qw-pipeline --index s3idx --once --quiet --no-merge --backoff-initial 0.1 "$T/in.ndjson"
	# the object is there, whole JSON, with the published splits
	curl -sf "$QW_S3_ENDPOINT/$S3_BUCKET/meta/s3idx/metastore.json" >"$T/meta.json"
	[ "$(jq '[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add' "$T/meta.json")" = 300 ]
	[ ! -e "$QW_DATA_DIR/indexes/s3idx/metastore.json" ]
	# another machine: a fresh data dir, only the bucket
	export QW_DATA_DIR="$T/other"
	qw index list | awk 'NR > 1 { print $1 }' | grep -qx s3idx
	diff <(qw-search --index s3idx --format ndjson --max-hits 1000 '*' | jq -r .n | sort -n) <(seq 1 300)
	run -0 qw index delete --index s3idx --yes
	run -22 curl -sf "$QW_S3_ENDPOINT/$S3_BUCKET/meta/s3idx/metastore.json"
	run -66 qw index describe --index s3idx
}

@test "an index missing from an s3:// metastore is named with the metastore, not the data dir" {
	run -66 --separate-stderr qw-search --metastore-uri "s3://$S3_BUCKET/none" --index nosuch --query '*'
	[[ $stderr == "qw-search: index 'nosuch' does not exist in metastore 's3://$S3_BUCKET/none'"* ]]
	[[ $stderr == *"--metastore-uri or QW_METASTORE_URI chooses another"* ]]
	[[ $stderr != *"data dir"* ]]
}
