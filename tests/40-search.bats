#!/usr/bin/env bats
# qw-search over real data (OTRF Windows event logs, 1/50 sample, 3 splits):
# num_hits, top hits and aggregations against a jq oracle on the raw NDJSON.
load helpers
load search-helpers

setup_file() {
	require_shared_data
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	export SAMPLE="$BATS_FILE_TMPDIR/sample.ndjson"
	build_otrf "$QW_DATA_DIR" "$SAMPLE"
}

setup() {
	require_shared_data
}

@test "the index holds every sampled document with a timestamp, in several splits" {
	[ "$(jq '[.splits[] | select(.split_state == "Published")] | length' "$QW_DATA_DIR/indexes/otrf/metastore.json")" -ge 2 ]
	run -0 qw-search --index otrf --format count
	[ "$output" = "$(wc -l <"$SAMPLE")" ]
}

@test "qw-search: terms on text, raw, numeric and dynamic fields match the oracle" {
	run check_queries <<'Q'
failed	has_tok(.Message; "failed")
Message:logon	has_tok(.Message; "logon")
Message:LOGON	has_tok(.Message; "logon")
sysmain	has_tok(.Message; "sysmain")
Message:imageloaded	has_tok(.Message; "imageloaded")
Channel:Security	.Channel == "Security"
Channel:security	.Channel == "security"
Hostname:WORKSTATION5	.Hostname == "WORKSTATION5"
EventID:4624	.EventID == 4624
EventID:7	.EventID == 7
ProcessId:6196	.ProcessId == "6196" or .ProcessId == 6196
Message:zzzznotthere	false
CommandLine:exe	has_tok(.CommandLine; "exe")
Q
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "qw-search: AND, OR, NOT, + and - and implicit AND match the oracle" {
	run check_queries <<'Q'
Channel:Security AND EventID:4624	.Channel == "Security" and .EventID == 4624
Channel:Security OR Channel:security	.Channel == "Security" or .Channel == "security"
EventID:4624 -Hostname:WORKSTATION5	.EventID == 4624 and .Hostname != "WORKSTATION5"
NOT Channel:Security	.Channel != "Security"
(EventID:4624 OR EventID:4625) AND NOT failed	(.EventID == 4624 or .EventID == 4625) and (has_tok(.Message; "failed") | not)
+imageloaded +signed	has_tok(.Message; "imageloaded") and has_tok(.Message; "signed")
imageloaded signed	has_tok(.Message; "imageloaded") and has_tok(.Message; "signed")
Channel:Security AND (logon OR process)	.Channel == "Security" and (has_tok(.Message; "logon") or has_tok(.Message; "process"))
logon OR process AND failed	has_tok(.Message; "logon") or (has_tok(.Message; "process") and has_tok(.Message; "failed"))
-EventID:4624 AND NOT EventID:7	.EventID != 4624 and .EventID != 7
Q
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "qw-search: phrases on a field with positions match the oracle" {
	run check_queries <<'Q'
Message:"image loaded"	phrase(.Message; ["image", "loaded"])
"process create"	phrase(.Message; ["process", "create"])
Message:"loaded image"	phrase(.Message; ["loaded", "image"])
"an account was successfully logged on"	phrase(.Message; ["an", "account", "was", "successfully", "logged", "on"])
Message:"Logon-Type"	phrase(.Message; ["logon", "type"])
Q
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "qw-search: ranges on numbers, datetimes and raw text match the oracle" {
	run check_queries <<'Q'
EventID:[4600 TO 4700]	.EventID != null and .EventID >= 4600 and .EventID <= 4700
EventID:{4624 TO 4688}	.EventID != null and .EventID > 4624 and .EventID < 4688
EventID:>=5000	.EventID != null and .EventID >= 5000
EventID:<10	.EventID != null and .EventID < 10
EventID:[* TO 3]	.EventID != null and .EventID <= 3
@timestamp:[2020-01-01T00:00:00Z TO 2021-01-01T00:00:00Z}	secs >= 1577836800 and secs < 1609459200
@timestamp:>=2022-01-01T00:00:00Z	secs >= 1640995200
@timestamp:<2019-06-01T00:00:00Z	secs < 1559347200
Hostname:[MXS01 TO WORKSTATION5]	.Hostname != null and .Hostname >= "MXS01" and .Hostname <= "WORKSTATION5"
Q
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "qw-search: prefixes, sets, exists and match-all match the oracle" {
	run check_queries <<'Q'
Message:logo*	has_prefix(.Message; "logo")
Hostname:WORKSTATION*	(.Hostname // "") | startswith("WORKSTATION")
sys*	has_prefix(.Message; "sys")
EventID:IN [4624 4625 4688]	.EventID == 4624 or .EventID == 4625 or .EventID == 4688
Channel:IN [Security security]	.Channel == "Security" or .Channel == "security"
Message:IN [logon sysmain]	has_tok(.Message; "logon") or has_tok(.Message; "sysmain")
Hostname:*	.Hostname != null
ProcessId:*	.ProcessId != null
NOT EventID:*	.EventID == null
*	true
Q
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "qw-search returns the 10 newest hits by default, sorted by the timestamp field" {
	run -0 qw-search --index otrf --max-hits 10 --query logon
	got=$(echo "$output" | jq -c "$JQ_TSN"' [.hits[]."@timestamp" | tsn]')
	want=$(jq -sc "$JQ_PRELUDE $JQ_TSN"' [.[] | select(has_tok(.Message; "logon"))] | sort_by(."@timestamp" | tsn) | reverse | [.[:10][]."@timestamp" | tsn]' "$SAMPLE")
	[ "$got" = "$want" ]
	[ "$(echo "$output" | jq .num_hits)" = "$(oracle_count 'has_tok(.Message; "logon")')" ]
}

@test "qw-search --sort-by -EventID,@timestamp pages through the hits in order" {
	want=$(jq -sc "$JQ_TSN"' [.[] | select(.Channel == "Security")] | sort_by([.EventID, (."@timestamp" | tsn | explode | map(-.))]) | [.[5:12][] | [.EventID, (."@timestamp" | tsn)]]' "$SAMPLE")
	run -0 --separate-stderr qw-search --index otrf --query Channel:Security --sort-by=-EventID,@timestamp --start-offset 5 --max-hits 7 --format ndjson
	got=$(echo "$output" | jq -sc "$JQ_TSN"' [.[] | [.EventID, (."@timestamp" | tsn)]]')
	[ "$got" = "$want" ]
}

@test "qw-search --start-timestamp and --end-timestamp keep [start, end)" {
	run -0 qw-search --index otrf --format count --start-timestamp 1590000000 --end-timestamp 2020-07-01T00:00:00Z
	[ "$output" = "$(oracle_count 'secs >= 1590000000 and secs < 1593561600')" ]
	run -0 qw-search --index otrf --format count --query EventID:4624 --start-timestamp 1600000000
	[ "$output" = "$(oracle_count '.EventID == 4624 and secs >= 1600000000')" ]
}

@test "qw-search terms aggregation counts like the oracle" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"ch": {"terms": {"field": "Channel", "size": 5}}}'
	got=$(echo "$output" | jq -c '[.aggregations.ch.buckets[] | [.key, .doc_count]]')
	want=$(jq -sc '[.[] | select(.Channel != null)] | group_by(.Channel) | map([.[0].Channel, length]) | sort_by([-.[1], .[0]]) | .[:5]' "$SAMPLE")
	[ "$got" = "$want" ]
	other=$(jq -sc '[.[] | select(.Channel != null)] | group_by(.Channel) | map(length) | sort | reverse | .[5:] | add // 0' "$SAMPLE")
	[ "$(echo "$output" | jq .aggregations.ch.sum_other_doc_count)" = "$other" ]
	[ "$(echo "$output" | jq '.hits | length')" = 0 ]
}

@test "qw-search date_histogram and stats aggregations match the oracle" {
	run -0 qw-search --index otrf --max-hits 0 --query EventID:* --aggs '{"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "30d", "min_doc_count": 1}}, "s": {"stats": {"field": "EventID"}}}'
	got=$(echo "$output" | jq -c '[.aggregations.h.buckets[] | [.key, .doc_count]]')
	want=$(jq -sc "$JQ_PRELUDE"' [.[] | select(.EventID != null) | ((secs * 1000 + ((."@timestamp" | capture("\\.(?<ms>[0-9]{3})").ms // "0") | tonumber)) / 2592000000 | floor) * 2592000000] | group_by(.) | map([.[0], length])' "$SAMPLE")
	[ "$got" = "$want" ]
	got=$(echo "$output" | jq -c '.aggregations.s | [.count, .min, .max, .sum]')
	want=$(jq -sc '[.[] | .EventID | select(. != null)] | [length, min, max, add]' "$SAMPLE")
	[ "$got" = "$want" ]
}

@test "qw-search date_histogram with hundreds of buckets matches the oracle" {
	local day=86400000 minute=60000
	# more buckets than the first hash table holds: the output step once hung
	run -0 timeout 120 qw-search --index otrf --max-hits 0 --aggs '{"d": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1d"}}, "m": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 1}}}'
	for agg in d:$day m:$minute; do
		got=$(echo "$output" | jq -c "[.aggregations.${agg%%:*}.buckets[] | select(.doc_count > 0) | [.key, .doc_count]]")
		want=$(jq -sc "$JQ_PRELUDE"' [.[] | ((secs * 1000 + ((."@timestamp" | capture("\\.(?<ms>[0-9]{3})").ms // "0") | tonumber)) / '"${agg#*:}"' | floor) * '"${agg#*:}"'] | group_by(.) | map([.[0], length])' "$SAMPLE")
		[ "$got" = "$want" ]
	done
	[ "$(echo "$want" | jq length)" -gt 64 ]
	# 1d: every day from the first to the last, empty ones included
	got=$(echo "$output" | jq '.aggregations.d.buckets | length')
	want=$(echo "$output" | jq "[.aggregations.d.buckets[] | select(.doc_count > 0) | .key] | (.[-1] - .[0]) / $day + 1")
	[ "$got" = "$want" ]
	[ "$got" -gt 64 ]
}

@test "qw-search --format ndjson prints one stored document per line" {
	run -0 --separate-stderr qw-search --index otrf --query 'EventID:4624' --max-hits 3 --format ndjson
	[ "$(echo "$output" | wc -l)" = 3 ]
	echo "$output" | jq -se 'all(.EventID == 4624)' >/dev/null
}

@test "qw-search: a closed stdout ends it quietly by SIGPIPE (141) or, SIGPIPE ignored, is reported once (74)" {
	n=$(wc -l <"$SAMPLE")
	# more than a pipe buffer of hits, so the writes after head exits fail
	[ "$(wc -c <"$SAMPLE")" -gt 1000000 ]
	bash -c 'qw-search --index otrf --max-hits "$1" --format ndjson 2>"$2" | head -1 >/dev/null; echo "${PIPESTATUS[0]}" >"$3"' _ "$n" "$BATS_TEST_TMPDIR/err" "$BATS_TEST_TMPDIR/st"
	[ "$(cat "$BATS_TEST_TMPDIR/st")" = 141 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	bash -c 'trap "" PIPE; qw-search --index otrf --max-hits "$1" --format ndjson 2>"$2" | head -1 >/dev/null; echo "${PIPESTATUS[0]}" >"$3"' _ "$n" "$BATS_TEST_TMPDIR/err" "$BATS_TEST_TMPDIR/st"
	[ "$(cat "$BATS_TEST_TMPDIR/st")" = 74 ]
	cat "$BATS_TEST_TMPDIR/err"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" = 1 ]
	grep -q "^qw-search: cannot write the response: Broken pipe$" "$BATS_TEST_TMPDIR/err"
}

@test "qw-search --format ndjson writes each hit as it is fetched, before the last document is read" {
	command -v strace >/dev/null || { [ "${CI:-}" != true ] || false; skip "strace not installed"; }
	strace -o /dev/null true 2>/dev/null || skip "ptrace not permitted here"
	n=$(wc -l <"$SAMPLE")
	# the order of system calls: the first write to stdout must come before
	# the last read of a split file (all reads came first when the hits were
	# printed only once every document was loaded)
	# (LeakSanitizer cannot run under ptrace)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -e trace=pread64,write -o "$BATS_TEST_TMPDIR/trace" \
		qw-search --index otrf --max-hits "$n" --format ndjson >"$BATS_TEST_TMPDIR/out"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq "$n" ]
	first_write=$(grep -n 'write(1, ' "$BATS_TEST_TMPDIR/trace" | head -1 | cut -d: -f1)
	last_read=$(grep -n 'pread64(' "$BATS_TEST_TMPDIR/trace" | tail -1 | cut -d: -f1)
	[ -n "$first_write" ] && [ -n "$last_read" ]
	[ "$first_write" -lt "$last_read" ]
}

# --max-hits all pages internally with search_after: small pages
# (QW_SEARCH_PAGE_HITS) make many page boundaries over the sample, some
# between hits with equal sort values (the split id and doc tie breaker).
@test "qw-search --max-hits all --format ndjson: exactly the documents jq selects, newest first, over many pages" {
	want_n=$(oracle_count 'has_tok(.Message; "logon")')
	[ "$want_n" -gt 60 ]
	QW_SEARCH_PAGE_HITS=7 run -0 --separate-stderr qw-search --index otrf --query logon --max-hits all --format ndjson
	[ -z "$stderr" ]
	# multiset equal: every selected document once, nothing else
	echo "$output" | jq -cS . | sort >"$BATS_TEST_TMPDIR/got"
	jq -cS "$JQ_PRELUDE"' select(has_tok(.Message; "logon"))' "$SAMPLE" | sort >"$BATS_TEST_TMPDIR/want"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -eq "$want_n" ]
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# in the default order: the timestamp field, descending
	got=$(echo "$output" | jq -sc "$JQ_TSN"' [.[]."@timestamp" | tsn]')
	want=$(jq -sc "$JQ_PRELUDE $JQ_TSN"' [.[] | select(has_tok(.Message; "logon"))."@timestamp" | tsn] | sort | reverse' "$SAMPLE")
	[ "$got" = "$want" ]
}

@test "qw-search --max-hits all over every document with two sort keys and --start-offset, in pages of 13" {
	# documents without an EventID come last
	want=$(jq -sc "$JQ_TSN"' sort_by([(.EventID == null), .EventID, (."@timestamp" | tsn | explode | map(-.))]) | [.[5:][] | [.EventID, (."@timestamp" | tsn)]]' "$SAMPLE")
	QW_SEARCH_PAGE_HITS=13 run -0 --separate-stderr qw-search --index otrf --sort-by=-EventID,@timestamp --start-offset 5 --max-hits all --format ndjson
	[ -z "$stderr" ]
	got=$(echo "$output" | jq -sc "$JQ_TSN"' [.[] | [.EventID, (."@timestamp" | tsn)]]')
	[ "$got" = "$want" ]
	[ "$(echo "$output" | wc -l)" -eq $(($(wc -l <"$SAMPLE") - 5)) ]
}

@test "qw-search --max-hits all --format text: a line per hit; count; zero hits exit 1" {
	QW_SEARCH_PAGE_HITS=10 run -0 --separate-stderr qw-search --index otrf --query Channel:Security --max-hits all --format text
	[ -z "$stderr" ]
	[ "$(echo "$output" | wc -l)" -eq "$(oracle_count '.Channel == "Security"')" ]
	run -0 qw-search --index otrf --query Channel:Security --max-hits all --format count
	[ "$output" -eq "$(oracle_count '.Channel == "Security"')" ]
	QW_SEARCH_PAGE_HITS=10 run -1 --separate-stderr qw-search --index otrf --query Message:zzzznotthere --max-hits all --format ndjson
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "qw-search --max-hits all refuses --format json, --stats and a bad QW_SEARCH_PAGE_HITS (64)" {
	run -64 --separate-stderr qw-search --index otrf --max-hits all
	[ -z "$output" ]
	[[ "$stderr" == *"--max-hits all"*"--format ndjson"* ]]
	run -64 --separate-stderr qw-search --index otrf --max-hits all --format ndjson --stats
	[[ "$stderr" == *--stats* ]]
	QW_SEARCH_PAGE_HITS=0 run -64 --separate-stderr qw-search --index otrf --max-hits all --format ndjson
	[[ "$stderr" == *QW_SEARCH_PAGE_HITS* ]]
	run -64 --separate-stderr qw-search --index otrf --max-hits alll --format ndjson
}

@test "qw-search --max-hits all sorted by a key with many ties: every document once (the tie breaker across pages)" {
	QW_SEARCH_PAGE_HITS=13 run -0 --separate-stderr qw-search --index otrf --sort-by=-EventID --max-hits all --format ndjson
	[ -z "$stderr" ]
	echo "$output" | jq -cS . | sort >"$BATS_TEST_TMPDIR/got"
	jq -cS . "$SAMPLE" | sort >"$BATS_TEST_TMPDIR/want"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	got=$(echo "$output" | jq -sc '[.[].EventID]')
	want=$(jq -sc 'sort_by([(.EventID == null), .EventID]) | [.[].EventID]' "$SAMPLE")
	[ "$got" = "$want" ]
}
