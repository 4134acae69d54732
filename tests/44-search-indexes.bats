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
    - name: g
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
		printf "{\"n\":%d,\"g\":%d,\"w\":\"%s\",\"only_a\":\"t%d\"}\n", i * 3, i % 5, (i % 4 == 0 ? "alpha" : i % 4 == 1 ? "beta" : i % 4 == 2 ? "gamma" : "delta"), i % 3 }' >"$t/a.ndjson"
	awk 'BEGIN { for (i = 1; i <= 200; i++)
		printf "{\"n\":%d,\"g\":%d,\"w\":\"%s\",\"only_b\":\"t%d\"}\n", i * 3 + 1, i % 7, (i % 2 ? "alpha" : "beta"), i % 3 }' >"$t/b.ndjson"
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
	run -1 qw-search --index 'nomatch-*' --format count
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

# page_all ARGS...: every hit of the search, page by page through the
# response's search_after, as "g n" lines in the order given.
page_all() {
	local after='' out
	while :; do
		if [ -n "$after" ]; then
			out=$(qw-search "$@" -n 37 --search-after "$after")
		else
			out=$(qw-search "$@" -n 37)
		fi
		[ "$(jq '.hits | length' <<<"$out")" -gt 0 ] || break
		[ "$(jq .num_hits <<<"$out")" = "$TOTAL" ]
		jq -r '.hits[] | "\(.g // "null") \(.n)"' <<<"$out"
		after=$(jq -c .search_after <<<"$out")
	done
}

@test "search_after pages through every hit exactly once, in order, on a unique key" {
	TOTAL=$(oracle true "$T/a.ndjson" "$T/b.ndjson" "$T/c.ndjson")
	page_all --index '*' --sort-by -n >"$T/pages"
	diff <(awk '{print $2}' "$T/pages") <(cat "$T"/[abc].ndjson | jq .n | sort -n)
	page_all --index '*' --sort-by n >"$T/pages"
	diff <(awk '{print $2}' "$T/pages") <(cat "$T"/[abc].ndjson | jq .n | sort -rn)
}

@test "search_after pages through ties and docs without a value exactly once" {
	TOTAL=$(oracle true "$T/a.ndjson" "$T/b.ndjson" "$T/c.ndjson")
	page_all --index '*' --sort-by g >"$T/pages"
	# each doc once
	diff <(awk '{print $2}' "$T/pages" | sort -n) <(cat "$T"/[abc].ndjson | jq .n | sort -n)
	# in order: g descending, the docs without g last
	diff <(awk '{print $1}' "$T/pages") \
	     <({ cat "$T"/[ab].ndjson | jq .g | sort -rn; jq -r '.g // "null"' "$T/c.ndjson"; })
	# the default order (no sort field: split, then doc) as well
	TOTAL=$(oracle true "$T/a.ndjson" "$T/b.ndjson")
	page_all --index 'logs-*' >"$T/pages"
	diff <(awk '{print $2}' "$T/pages" | sort -n) <(cat "$T"/[ab].ndjson | jq .n | sort -n)
}

@test "search_after with sort values only, as Quickwit, returns what ranks strictly after them" {
	run -0 qw-search --index 'logs-*' --sort-by -n --search-after '[300]' -n 1000
	[ "$(echo "$output" | jq '.hits | length')" = "$(cat "$T"/[ab].ndjson | jq 'select(.n > 300)' | jq -s length)" ]
	[ "$(echo "$output" | jq '[.hits[].n] | min')" = "$(cat "$T"/[ab].ndjson | jq -s '[.[].n | select(. > 300)] | min')" ]
	[ "$(echo "$output" | jq .num_hits)" = "$(oracle true "$T/a.ndjson" "$T/b.ndjson")" ]
	# ties on the value are skipped without a tie breaker
	run -0 qw-search --index logs-a --sort-by g --search-after '[2]' -n 1000
	[ "$(echo "$output" | jq '.hits | length')" = "$(jq 'select(.g < 2)' "$T/a.ndjson" | jq -s length)" ]
}

@test "a bad search_after is a usage error that says what was expected" {
	run --separate-stderr -64 qw-search --index logs-a --sort-by n --search-after '{'
	[[ "$stderr" == "qw-search: --search-after: "* ]]
	run --separate-stderr -64 qw-search --index logs-a --sort-by n --search-after '[1, 2, 3]'
	[[ "$stderr" == *"expected 1 sort value(s)"* ]]
	run --separate-stderr -64 qw-search --index logs-a --sort-by n --search-after '["x"]'
	[[ "$stderr" == *"element 0: expected a number or null"* ]]
	run --separate-stderr -64 qw-search --index logs-a --sort-by n --search-after '[1, "nosplit:3"]'
	[[ "$stderr" == *"SPLIT_ID:DOC"* ]]
}
