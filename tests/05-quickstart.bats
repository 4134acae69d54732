#!/usr/bin/env bats
# The README's Quick start ends with examples/quickstart.sh: it must run from
# a built tree and print real results. Oracles: jq, grep and wc over the
# sample files in examples/.
load helpers

@test "examples/quickstart.sh indexes the samples and prints search results that match the raw data" {
	ex=$QW_SRCDIR/examples
	export QW_DATA_DIR=$BATS_TEST_TMPDIR/qwdata
	run --separate-stderr "$ex/quickstart.sh"
	echo "$output"
	echo "$stderr" >&2
	[ "$status" -eq 0 ]

	# every document of the samples is published (windows events without
	# @timestamp are rejected by the config: they go to the dead letter file)
	win_valid=$(zstd -dc "$ex/windows-events.ndjson.zst" | jq -c 'select(.["@timestamp"] != null)' | wc -l)
	win_all=$(zstd -dc "$ex/windows-events.ndjson.zst" | wc -l)
	docs=$(qw --format json index list | jq -c 'map({(.index_id): .num_published_docs}) | add')
	[ "$docs" = "$(jq -nc --argjson g "$(wc -l <"$ex/gharchive.ndjson")" \
		--argjson a "$(wc -l <"$ex/apache-access.log")" --argjson w "$win_valid" \
		'{apache: $a, gharchive: $g, "windows-events": $w}')" ]
	[ "$(wc -l <"$QW_DATA_DIR/rejected.ndjson")" -eq $((win_all - win_valid)) ]

	# the printed results, each right after its command line
	after() { grep -F -A"$2" -- "$1" <<<"$output" | tail -n +2; }
	[ "$(after "--query 'type:PushEvent'" 1)" = \
	  "$(jq -c 'select(.type == "PushEvent")' "$ex/gharchive.ndjson" | wc -l)" ]
	[ "$(after "GET /favicon.ico" 1)" = "$(grep -c '"GET /favicon.ico ' "$ex/apache-access.log")" ]
	# lsass events with EventID 10, newest first: two of them, from the raw data
	[ "$(after "Message:lsass AND EventID:10" 2)" = "$(zstd -dc "$ex/windows-events.ndjson.zst" |
		jq -c 'select(.["@timestamp"] != null and .EventID == 10 and ((.Message // "") | test("\\blsass\\b"; "i")))
			| {ts: .["@timestamp"], host: .Hostname}' | jq -sc 'sort_by(.ts) | reverse | .[:2][]')" ]
	[ "$(after '"hosts": {"terms"' 5)" = "$(zstd -dc "$ex/windows-events.ndjson.zst" |
		jq -r 'select(.["@timestamp"] != null) | .Hostname' | sort | uniq -c | sort -k1,1nr -k2 | head -5 |
		awk '{ printf "{\"key\":\"%s\",\"doc_count\":%d}\n", $2, $1 }')" ]

	# a second run starts over and prints the same
	first=$output
	run --separate-stderr "$ex/quickstart.sh"
	[ "$status" -eq 0 ]
	[ "$(grep -v -E 'split_ids|created at' <<<"$output")" = "$(grep -v -E 'split_ids|created at' <<<"$first")" ]
}
