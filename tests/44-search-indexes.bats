#!/usr/bin/env bats
# qw-search over several indexes: index id patterns and comma lists as
# Quickwit resolves them, fields that exist in some of the indexes only,
# and search_after paging. Every count comes from awk/jq over the input.
load helpers

setup_file() {
	export QW_DATA_DIR=$BATS_FILE_TMPDIR/data
	local t=$BATS_FILE_TMPDIR id
	for id in logs-a logs-b; do
		cat >"$t/$id.yaml" <<EOF2
version: 0.8
index_id: $id
doc_mapping:
  mode: strict
  field_mappings:
    - name: n
      type: u64
      fast: true
    - name: w
      type: text
    - name: only_${id#logs-}
      type: text
      tokenizer: raw
      fast: true
EOF2
		qw index create --index-config "$t/$id.yaml" >/dev/null
	done
	cat >"$t/other-c.yaml" <<'EOF2'
version: 0.8
index_id: other-c
doc_mapping:
  mode: dynamic
EOF2
	qw index create --index-config "$t/other-c.yaml" >/dev/null
	# n unique over all indexes; w one of four words; only_X one of three tags
	awk 'BEGIN { for (i = 1; i <= 300; i++)
		printf "{\"n\":%d,\"w\":\"%s\",\"only_a\":\"t%d\"}\n", i * 3, (i % 4 == 0 ? "alpha" : i % 4 == 1 ? "beta" : i % 4 == 2 ? "gamma" : "delta"), i % 3 }' >"$t/a.ndjson"
	awk 'BEGIN { for (i = 1; i <= 200; i++)
		printf "{\"n\":%d,\"w\":\"%s\",\"only_b\":\"t%d\"}\n", i * 3 + 1, (i % 2 ? "alpha" : "beta"), i % 3 }' >"$t/b.ndjson"
	awk 'BEGIN { for (i = 1; i <= 100; i++)
		printf "{\"n\":%d,\"w\":\"alpha\"}\n", i * 3 + 2 }' >"$t/c.ndjson"
	qw-pipeline --index logs-a --once --quiet "$t/a.ndjson"
	qw-pipeline --index logs-b --once --quiet "$t/b.ndjson"
	qw-pipeline --index other-c --once --quiet "$t/c.ndjson"
}

setup() {
	T=$BATS_FILE_TMPDIR
}

# count_of FILE...: documents in the inputs, by jq filter $FILTER (default: all)
oracle() {
	local filter=$1; shift
	cat "$@" | jq -c "select($filter)" | wc -l
}

@test "a wildcard pattern searches every index it matches" {
	[ "$(qw-search --index 'logs-*' --format count)" = "$(oracle true "$T/a.ndjson" "$T/b.ndjson")" ]
	[ "$(qw-search --index '*-a' --format count)" = "$(oracle true "$T/a.ndjson")" ]
	[ "$(qw-search --index '*' --format count 'w:alpha')" = \
	  "$(oracle '.w == "alpha"' "$T/a.ndjson" "$T/b.ndjson" "$T/c.ndjson")" ]
}

@test "comma-separated lists mix ids and patterns, each index counted once" {
	[ "$(qw-search --index 'logs-*,other-c' --format count)" = \
	  "$(oracle true "$T/a.ndjson" "$T/b.ndjson" "$T/c.ndjson")" ]
	[ "$(qw-search --index 'logs-a,logs-*' --index logs-a --format count)" = \
	  "$(oracle true "$T/a.ndjson" "$T/b.ndjson")" ]
}

@test "an exclusion pattern removes what it matches" {
	[ "$(qw-search --index '*,-other-*' --format count)" = "$(oracle true "$T/a.ndjson" "$T/b.ndjson")" ]
	[ "$(qw-search --index 'logs-*,-logs-b' --format count)" = "$(oracle true "$T/a.ndjson")" ]
}

@test "a pattern that matches nothing is no error, an unknown id is" {
	run -0 qw-search --index 'nomatch-*' --format count
	[ "$output" = 0 ]
	[ "$(qw-search --index 'nomatch-*,logs-b' --format count)" = "$(oracle true "$T/b.ndjson")" ]
	run -0 qw-search --index 'nomatch-*'
	[ "$(echo "$output" | jq -c '[.num_hits, .hits]')" = '[0,[]]' ]
	run --separate-stderr -66 qw-search --index 'nomatch-*,nosuch' --format count
	[[ "$stderr" == *"'nosuch'"* ]]
}

@test "invalid patterns are usage errors that quote the pattern" {
	run --separate-stderr -64 qw-search --index 'logs-**' --format count
	[[ "$stderr" == "qw-search: invalid index pattern 'logs-**': "* ]]
	run --separate-stderr -64 qw-search --index '*/x' --format count
	[[ "$stderr" == "qw-search: invalid index pattern '*/x': "* ]]
	run --separate-stderr -64 qw-search --index '-logs-*' --format count
	[[ "$stderr" == *"only exclusions"* ]]
}

@test "a field of some of the indexes only matches nothing in the others" {
	[ "$(qw-search --index logs-a,logs-b --format count 'only_a:t1')" = \
	  "$(oracle '.only_a == "t1"' "$T/a.ndjson")" ]
	[ "$(qw-search --index 'logs-*' --format count 'only_b:t2 OR w:gamma')" = \
	  "$(oracle '.only_b == "t2" or .w == "gamma"' "$T/a.ndjson" "$T/b.ndjson")" ]
	[ "$(qw-search --index 'logs-*' --format count 'NOT only_b:t2')" = \
	  "$(oracle '.only_b != "t2"' "$T/a.ndjson" "$T/b.ndjson")" ]
	# aggregations on it too
	run -0 qw-search --index 'logs-*' -n 0 --aggs '{"t":{"terms":{"field":"only_b"}}}'
	diff <(echo "$output" | jq -r '.aggregations.t.buckets[] | "\(.key) \(.doc_count)"' | sort) \
	     <(jq -r '.only_b' "$T/b.ndjson" | sort | uniq -c | awk '{print $2, $1}')
}

@test "a field of none of the indexes is still an error" {
	run --separate-stderr -65 qw-search --index 'logs-*' --format count 'nowhere:x'
	[[ "$stderr" == *"unknown field 'nowhere'"* ]]
	run --separate-stderr -65 qw-search --index 'logs-*' -n 0 --aggs '{"t":{"terms":{"field":"nowhere"}}}'
	[[ "$stderr" == *"unknown field 'nowhere'"* ]]
	run --separate-stderr -65 qw-search --index logs-b --format count 'only_a:t1'
	[[ "$stderr" == *"unknown field 'only_a' in index 'logs-b'"* ]]
}
