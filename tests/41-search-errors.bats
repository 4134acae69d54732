#!/usr/bin/env bats
# qw-search on a small hand-made index: field types (json, object, ip,
# bool, output_format), usage and query errors, partial results.
load helpers

DATA=$BATS_TEST_DIRNAME/data/search

setup_file() {
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	qw index create --index-config "$DATA/small.yaml" >/dev/null
	for i in a b; do
		t=$(qw-publish --new-token --index small --source "$i")
		qw-index --index small --source "$i" --publish-token "$t" <"$DATA/small-$i.ndjson" |
			qw-package | qw-upload | qw-publish >/dev/null
	done
}

# count QUERY: num_hits of QUERY over index small.
count() {
	# exit 1 is no hit (as grep): the count, 0, is still printed
	qw-search --index small --format count --query "$1" || [ $? -eq 1 ]
}

# oracle FILTER: documents of both inputs for which the jq FILTER is true.
oracle() {
	cat "$DATA"/small-*.ndjson | jq -n "[inputs | select($1)] | length"
}

@test "qw-search --help, --version, and usage errors exit 64" {
	run -0 --separate-stderr qw-search --help
	[[ $output == "Usage: qw-search"* ]]
	run -0 --separate-stderr qw-search --version
	[[ $output == "qw-search (qw) "* ]]
	run -64 --separate-stderr qw-search --bogus
	[[ $stderr == *"Usage: qw-search"* ]]
	[ -z "$output" ]
	run -64 --separate-stderr qw-search --query x
	[[ $stderr == "qw-search: no index given"* ]]
	run -64 --separate-stderr qw-search --index small --format yaml
	[[ $stderr == "qw-search: --format: "* ]]
	run -64 --separate-stderr qw-search --index small --max-hits many
	[[ $stderr == "qw-search: "* ]]
}

@test "qw-search: an unknown index exits 66" {
	run -66 --separate-stderr qw-search --index nosuchindex
	[[ $stderr == "qw-search: "*"nosuchindex"* ]]
}

@test "qw-search: a malformed query exits 65 with the column and what was expected" {
	run -65 --separate-stderr qw-search --index small --query 'status:[200 TO 300'
	[ "$stderr" = "qw-search: query: col 19: expected ']' or '}'" ]
	[ -z "$output" ]
	run -65 --separate-stderr qw-search --index small --query 'title:hello OR'
	[ "$stderr" = "qw-search: query: col 15: expected a term" ]
	run -65 --separate-stderr qw-search --index small --query '(title:a'
	[ "$stderr" = "qw-search: query: col 9: expected ')'" ]
	run -65 --separate-stderr qw-search --index small --query 'title:"open'
	[ "$stderr" = "qw-search: query: col 7: expected '\"' to close the phrase" ]
}

@test "qw-search: unknown field, phrase without positions, no default field: exit 65" {
	run -65 --separate-stderr qw-search --index small --query 'nope:x'
	[ "$stderr" = "qw-search: query: col 1: unknown field 'nope' in index 'small'" ]
	run -65 --separate-stderr qw-search --index small --query 'title:x AND body:"brown dog"'
	[[ $stderr == "qw-search: query: col 13: phrase query on field 'body'"* ]]
	run -65 --separate-stderr qw-search --index small --query 'hello'
	[[ $stderr == "qw-search: query: col 1: no field given and index 'small' has no default_search_fields" ]]
	run -65 --separate-stderr qw-search --index small --aggs '{"b": {"terms": {"field": "body"}}}'
	[[ $stderr == "qw-search: aggs: field 'body' of index 'small' is not a fast field" ]]
	run -65 --separate-stderr qw-search --index small --aggs '{"b": '
	[[ $stderr == "qw-search: --aggs: "* ]]
}

@test "qw-search --search-field gives unfielded terms their fields" {
	run -0 qw-search --index small --format count --search-field title,body --query 'brown OR hello'
	[ "$output" = "$(oracle '(.title + " " + .body) | ascii_downcase | test("\\b(brown|hello)\\b")')" ]
}

@test "qw-search: json sub-fields, object fields, ip, bool and i64 values" {
	[ "$(count 'attrs.color:red')" = "$(oracle '.attrs.color == "red"')" ]
	[ "$(count 'attrs.size:3')" = "$(oracle '.attrs.size == 3')" ]
	[ "$(count 'attrs:*')" = "$(oracle '.attrs != null')" ]
	[ "$(count 'obj.name:Alpha')" = "$(oracle '.obj.name == "Alpha"')" ]
	[ "$(count 'obj.name:alpha')" = "$(oracle '.obj.name == "alpha"')" ]
	[ "$(count 'obj:*')" = "$(oracle '.obj != null')" ]
	[ "$(count 'ip:10.0.0.1')" = "$(oracle '.ip == "10.0.0.1"')" ]
	[ "$(count 'ip:[10.0.0.0 TO 10.255.255.255]')" = "$(oracle '.ip | startswith("10.")')" ]
	[ "$(count 'ok:true')" = "$(oracle '.ok == true')" ]
	[ "$(count 'ok:false AND status:200')" = "$(oracle '.ok == false and .status == 200')" ]
	[ "$(count 'status:>200')" = "$(oracle '.status > 200')" ]
	[ "$(count 'title:"hello world"')" = 1 ]
	[ "$(count 'title:"world hello"')" = 0 ]
}

@test "qw-search: exists on an object with many sub-paths, empty objects, nulls and arrays" {
	export QW_DATA_DIR="$BATS_TEST_TMPDIR/wide"
	in=$BATS_TEST_TMPDIR/wide.ndjson
	# doc 1 gives 'wide' 100 sub-paths; the later docs' values sort after them
	jq -nc '{id: 1, wide: ([range(100)] | map({key: "k\(1000 + .)", value: "v"}) | from_entries)}' >"$in"
	cat >>"$in" <<-'EOF'
		{"id":2,"wide":{"zz":"late","a":null}}
		{"id":3,"wide":{}}
		{"id":4,"wide":{"k1000":null}}
		{"id":5,"wide":{"zarr":[]}}
		{"id":6,"wide":{"zdeep":{"x":false}}}
		{"id":7}
		{"id":8,"wide":{"zlist":[null,3]}}
		{"id":9,"wide":{"zobjs":[{"q":null}]}}
		{"id":10,"wide":{"zobjs":[{"q":"r"}]}}
	EOF
	printf 'version: 0.8\nindex_id: wide\ndoc_mapping:\n  mode: dynamic\n' >"$BATS_TEST_TMPDIR/wide.yaml"
	qw index create --index-config "$BATS_TEST_TMPDIR/wide.yaml" >/dev/null
	t=$(qw-publish --new-token --index wide --source w)
	qw-index --index wide --source w --publish-token "$t" <"$in" | qw-package | qw-upload | qw-publish >/dev/null
	# a path exists in a doc when a non-null leaf is at or below it
	run -0 qw-search --index wide --format ndjson --max-hits 100 --query 'wide:*'
	[ "$(echo "$output" | jq -s -c 'map(.id) | sort')" = \
	  "$(jq -s -c 'map(select([.wide | .. | scalars | select(. != null)] | length > 0) | .id)' "$in")" ]
	run -0 qw-search --index wide --format count --query 'wide.zobjs:*'
	[ "$output" = "$(jq -s '[.[] | select(.wide.zobjs[0].q? != null)] | length' "$in")" ]
}

@test "qw-search prints datetimes in the field's output_format" {
	run -0 qw-search --index small --query 'title:"hello world"'
	[ "$(echo "$output" | jq -c '.hits[0] | [.seen, .ts]')" = '[1704067200500,"2024-01-01T00:00:00Z"]' ]
}

@test "qw-search reports an unreadable split in errors, searches the others and exits 74" {
	cp -r "$QW_DATA_DIR" "$BATS_TEST_TMPDIR/copy"
	export QW_DATA_DIR="$BATS_TEST_TMPDIR/copy"
	bad=$(jq -r '.splits | to_entries[] | select(.value.metadata.tags | index("status:500")) | .key' "$QW_DATA_DIR/indexes/small/metastore.json")
	f="$QW_DATA_DIR/indexes/small/splits/$bad.split"
	head -c 100 "$f" >"$f.tmp" && mv "$f.tmp" "$f"
	run -74 --separate-stderr qw-search --index small
	[ "$(echo "$output" | jq .num_hits)" = "$(oracle '.status != 500')" ]
	[ "$(echo "$output" | jq '.errors | length')" = 1 ]
	[[ $(echo "$output" | jq -r '.errors[0]') == *"$bad"* ]]
	[[ $stderr == *"results are partial"* ]]
	# a query on the tag field skips the broken split without opening it
	run -0 qw-search --index small --query status:200 --format count
	[ "$output" = "$(oracle '.status == 200')" ]
}

@test "qw-search searches several indexes at once" {
	cp -r "$QW_DATA_DIR" "$BATS_TEST_TMPDIR/copy"
	export QW_DATA_DIR="$BATS_TEST_TMPDIR/copy"
	sed 's/index_id: small/index_id: small2/' "$DATA/small.yaml" >"$BATS_TEST_TMPDIR/small2.yaml"
	qw index create --index-config "$BATS_TEST_TMPDIR/small2.yaml" >/dev/null
	t=$(qw-publish --new-token --index small2 --source a)
	qw-index --index small2 --source a --publish-token "$t" <"$DATA/small-a.ndjson" |
		qw-package | qw-upload | qw-publish >/dev/null
	run -0 qw-search --index small,small2 --format count --query 'attrs.color:red'
	[ "$output" = "$(( $(oracle '.attrs.color == "red"') + $(jq -n '[inputs | select(.attrs.color == "red")] | length' "$DATA/small-a.ndjson") ))" ]
	run -0 qw-search --index small --index small2 --sort-by -ts --max-hits 5
	[ "$(echo "$output" | jq -c '[.hits[].ts]')" = '["2024-01-01T00:00:00Z","2024-01-01T00:00:00Z","2024-01-02T00:00:00Z","2024-01-02T00:00:00Z","2024-02-01T00:00:00Z"]' ]
}

@test "a split file replaced by another valid split is refused by qw-search and qw split describe --verify (both ids)" {
	cp -r "$QW_DATA_DIR" "$BATS_TEST_TMPDIR/copy"
	export QW_DATA_DIR="$BATS_TEST_TMPDIR/copy"
	mapfile -t ids < <(jq -r '.splits | keys[]' "$QW_DATA_DIR/indexes/small/metastore.json")
	[ "${#ids[@]}" -ge 2 ]
	d="$QW_DATA_DIR/indexes/small/splits"
	cp "$d/${ids[0]}.split" "$d/${ids[1]}.split"
	run -65 --separate-stderr qw split describe --index small "${ids[1]}" --verify
	[[ $stderr == *"${ids[0]}"* && $stderr == *"${ids[1]}"* ]]
	run -0 qw split describe --index small "${ids[0]}" --verify
	# qw-search serves the other splits: partial results, exit 74 as for any unreadable split
	run -74 --separate-stderr qw-search --index small
	echo "$stderr"
	[[ $(echo "$output" | jq -r '.errors[0]') == *"${ids[0]}"*"${ids[1]}"* || $(echo "$output" | jq -r '.errors[0]') == *"${ids[1]}"*"${ids[0]}"* ]]
}

@test "messages say what was wrong and what to do: unquoted words, a date, an unknown index" {
	run -64 --separate-stderr qw-search --index small failed password
	[ "$stderr" = "qw-search: the query is one argument: quote its words, as in 'failed password'" ]
	run -64 --separate-stderr qw-search --index small --query x y
	[ "$stderr" = "qw-search: a query given twice (--query and 'y')" ]
	run -64 --separate-stderr qw-search --index small --start-timestamp 2024-01 x
	[ "$stderr" = "qw-search: --start-timestamp '2024-01': expected unix seconds, a date (2026-03-27) or an RFC 3339 datetime (2026-03-27T13:00:00Z)" ]
	# a date alone is its midnight UTC: the count is jq's over the inputs
	run -0 qw-search --index small --format count --start-timestamp 2024-01-02 --query '*'
	[ "$output" = "$(oracle '.ts >= "2024-01-02"')" ]
	run -66 --separate-stderr qw-search --index nosuch-idx x
	[ "$stderr" = "qw-search: index 'nosuch-idx' does not exist in data dir '$QW_DATA_DIR' (qw index list shows its indexes; --data-dir or QW_DATA_DIR chooses another)" ]
}

@test "zero hits exit 1 for count and ndjson, as grep (json keeps Quickwit's 0); ndjson says when it left hits out" {
	run -1 --separate-stderr qw-search --index small --format count --query 'title:zzznothere'
	[ "$output" = 0 ] && [ -z "$stderr" ]
	run -1 --separate-stderr qw-search --index small --format ndjson --query 'title:zzznothere'
	[ -z "$output" ] && [ -z "$stderr" ]
	run -0 --separate-stderr qw-search --index small --query 'title:zzznothere'
	[ "$(jq .num_hits <<<"$output")" = 0 ]
	total=$(oracle true)
	[ "$total" -gt 2 ]
	run -0 --separate-stderr qw-search --index small --format ndjson --max-hits 2 --query '*'
	[ "$(wc -l <<<"$output")" = 2 ]
	[ "$stderr" = "qw-search: 2 of $total hits written (from offset 0): --max-hits and --start-offset give others" ]
	run -0 --separate-stderr qw-search --index small --format ndjson --max-hits 1000 --query '*'
	[ "$(wc -l <<<"$output")" = "$total" ] && [ -z "$stderr" ]
}

@test "qw-search --sort-by _doc is indexing order (split, then document), -_doc its reverse, and search_after follows both" {
	# oracle: the splits were published a then b (ULIDs in that order), each
	# in its file's line order
	cat "$DATA/small-a.ndjson" "$DATA/small-b.ndjson" | jq -r .ts >"$BATS_TEST_TMPDIR/want"
	run -0 --separate-stderr qw-search --index small --sort-by _doc --max-hits 100 --format ndjson
	diff <(printf '%s\n' "$output" | jq -r .ts) "$BATS_TEST_TMPDIR/want"
	run -0 --separate-stderr qw-search --index small --sort-by -_doc --max-hits 100 --format ndjson
	diff <(printf '%s\n' "$output" | jq -r .ts) <(tac "$BATS_TEST_TMPDIR/want")
	# page by page with search_after: the same order, nothing twice
	local after="" got="" page
	for _ in 1 2 3 4; do
		page=$(qw-search --index small --sort-by -_doc --max-hits 1 ${after:+--search-after "$after"})
		[ "$(jq '.hits | length' <<<"$page")" -eq 1 ] || break
		got+="$(jq -r '.hits[0].ts' <<<"$page")"$'\n'
		after=$(jq -c '.search_after' <<<"$page")
	done
	echo "pages: $got"
	diff <(printf '%s' "$got") <(tac "$BATS_TEST_TMPDIR/want")
}
