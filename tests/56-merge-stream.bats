#!/usr/bin/env bats
# qw-merge's executor merges splits section by section (split_merge.h):
# every query of a list (term, phrase, range, aggregations, sort by the
# timestamp, scores) answers the same before and after a merge, and as jq
# and python3 say over the input lines; fields that are not stored merge
# too; delete tasks drop documents in the merge; doc store blocks are
# copied as stored.
load helpers
load merge-helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
}

make_index() {
	make_ts_index "$1" "      output_format: unix_timestamp_secs
    - name: msg
      type: text
      record: position
      fieldnorms: true
    - name: level
      type: text
      tokenizer: raw
      fast: true
    - name: n
      type: i64
      fast: true
    - name: secret
      type: text
      stored: false
  timestamp_field: ts
  tag_fields: [level]" "indexing_settings:
  merge_policy:
    type: stable_log
    merge_factor: 3
    max_merge_factor: 10"
}

# runs INDEX RUNS N: RUNS cron-style runs of N new lines each (batch k, line j).
runs() {
	local k
	for k in $(seq 1 "$2"); do
		awk -v k="$k" -v n="$3" 'BEGIN {
			split("INFO WARN ERROR DEBUG", lv, " ")
			for (j = 1; j <= n; j++)
				printf("{\"ts\":%d,\"msg\":\"batch%d line %d word%d alpha%s\",\"level\":\"%s\",\"n\":%d,\"secret\":\"s%d\"}\n",
				       1700000000 + k * 1000 + j, k, j, j % 7, (j % 3 ? "" : " alpha"),
				       lv[(j % 4) + 1], j * k - 400, j % 5)
		}' >>"$T/in.ndjson"
		qw-pipeline --index "$1" --once --no-merge --quiet "$T/in.ndjson" >/dev/null 2>&1
	done
}

published() {
	jq -r '.splits | to_entries[] | select(.value.split_state == "Published") | .key' "$(meta "$1")"
}

QUERIES=(
	'msg:batch2'
	'msg:word3'
	'msg:"line 7 word0"'
	'level:ERROR'
	'n:[10 TO 200]'
	'n:<0 AND level:WARN'
	'secret:s3'
	'secret:s1 AND msg:batch3'
	'*'
)
AGGS='{"lv":{"terms":{"field":"level"}},"st":{"stats":{"field":"n"}},"h":{"histogram":{"field":"n","interval":100}}}'

# answers INDEX FILE: every query's full answer (hits sorted by score, then
# by the timestamp; aggregations), without timings and split ids.
answers() {
	local q
	for q in "${QUERIES[@]}"; do
		echo "== $q"
		qw-search --index "$1" -n 30 "$q" | jq -cS 'del(.elapsed_time_micros, .search_after)'
		qw-search --index "$1" -n 30 -s ts "$q" | jq -cS 'del(.elapsed_time_micros, .search_after)'
		qw-search --index "$1" -n 0 -a "$AGGS" "$q" | jq -cS '.aggregations'
	done >"$2"
}

# check_oracle INDEX INPUT: counts, aggregations and the timestamp order as
# jq sees the input lines.
check_oracle() {
	local q want
	declare -A jqf=(
		['msg:batch2']='select(.msg | test("^batch2 "))'
		['msg:word3']='select(.msg | test(" word3( |$)"))'
		['msg:"line 7 word0"']='select(.msg | test(" line 7 word0"))'
		['level:ERROR']='select(.level == "ERROR")'
		['n:[10 TO 200]']='select(.n >= 10 and .n <= 200)'
		['n:<0 AND level:WARN']='select(.n < 0 and .level == "WARN")'
		['secret:s3']='select(.secret == "s3")'
		['secret:s1 AND msg:batch3']='select(.secret == "s1" and (.msg | test("^batch3 ")))'
		['*']='.'
	)
	for q in "${QUERIES[@]}"; do
		want=$(jq -c "${jqf[$q]}" "$2" | wc -l)
		[ "$(qw-search --index "$1" -f count "$q")" -eq "$want" ] || { echo "count: $q"; return 1; }
		# sort by the timestamp: the newest 30, as jq orders them
		diff <(qw-search --index "$1" -n 30 -s ts -f ndjson "$q" | jq -r .ts) \
			<(jq -r "${jqf[$q]} | .ts" "$2" | sort -rn | head -30) || { echo "sort: $q"; return 1; }
		diff <(qw-search --index "$1" -n 0 -a "$AGGS" "$q" | jq -cS '.aggregations.lv.buckets | map({(.key): .doc_count}) | add // {}') \
			<(jq -s -cS "map(${jqf[$q]}) | group_by(.level) | map({(.[0].level): length}) | add // {}" "$2") ||
			{ echo "terms agg: $q"; return 1; }
		diff <(qw-search --index "$1" -n 0 -a "$AGGS" "$q" | jq -c '.aggregations.st | [.count, .min, .max, .sum]') \
			<(jq -s -c "map(${jqf[$q]} | .n) | [length, min, max, (add // 0)]" "$2") ||
			{ echo "stats agg: $q"; return 1; }
	done
	# the histogram as python3 computes it over the input
	diff <(qw-search --index "$1" -n 0 -a "$AGGS" '*' | jq -c '.aggregations.h.buckets | map([(.key | floor), .doc_count])') \
		<(python3 -c '
import json, sys, collections
c = collections.Counter((json.loads(l)["n"] // 100) * 100 for l in open(sys.argv[1]))
lo, hi = min(c), max(c)
print(json.dumps([[k, c.get(k, 0)] for k in range(lo, hi + 1, 100)], separators=(",", ":")))' "$2")
}

@test "a streamed merge answers every query as before and as jq says, a field not stored included" {
	make_index smq
	runs smq 6 250
	check_oracle smq "$T/in.ndjson"
	answers smq "$T/before"
	run -0 --separate-stderr qw-merge --index smq --once --verbose
	# merged section by section: no fallback to indexing the stored documents
	[[ $stderr != *"again"* ]]
	[ "$(published smq | wc -l)" -lt 6 ]
	jq -e '[.splits[] | select(.split_state == "Published") | .metadata.num_merge_ops] | max >= 1' "$(meta smq)"
	answers smq "$T/after"
	diff "$T/before" "$T/after"
	check_oracle smq "$T/in.ndjson"
	# every document once: stored fields as the input's (secret is not stored)
	diff <(qw-search --index smq -f ndjson -n 100000 '*' | jq -cS . | sort) \
		<(jq -cS 'del(.secret)' "$T/in.ndjson" | sort)
}

@test "doc store blocks of a merge without deletes are copied as stored" {
	make_index cpq
	runs cpq 4 200
	ids=$(published cpq)
	sum=0
	for id in $ids; do
		s=$(qw split describe --index cpq "$id" | awk '$1 == "docstore" {print $3}')
		sum=$((sum + s))
	done
	run -0 qw-merge --index cpq --once
	[ "$(published cpq | wc -l)" -eq 1 ]
	merged=$(published cpq)
	[ "$(qw split describe --index cpq "$merged" | awk '$1 == "docstore" {print $3}')" -eq "$sum" ]
	run -0 qw split describe --verify --index cpq "$merged"
}

@test "delete tasks: the merge drops the documents, ids compacted; every query as jq says without them" {
	make_index dmq
	runs dmq 5 200
	run -0 qw delete-task create --index dmq --query 'level:ERROR OR secret:s2'
	jq -c 'select(.level != "ERROR" and .secret != "s2")' "$T/in.ndjson" >"$T/kept.ndjson"
	answers dmq "$T/before"
	run -0 --separate-stderr qw-merge --index dmq --once
	[[ $stderr != *"again"* ]]
	jq -e --argjson n "$(wc -l <"$T/kept.ndjson")" \
		'[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add == $n' "$(meta dmq)"
	check_oracle dmq "$T/kept.ndjson"
	# scores may move (BM25 statistics lose the deleted documents), the rest does not
	answers dmq "$T/after"
	diff <(grep -v '"hits"' "$T/before") <(grep -v '"hits"' "$T/after")
	diff <(qw-search --index dmq -f ndjson -n 100000 '*' | jq -cS . | sort) \
		<(jq -cS 'del(.secret)' "$T/kept.ndjson" | sort)
	for id in $(published dmq); do qw split describe --verify --index dmq "$id" >/dev/null; done
}
