#!/usr/bin/env bats
# qw-search aggregations over real data (OTRF Windows event logs, 1/50
# sample, 3 splits) against jq and python3 oracles on the raw NDJSON:
# missing, keyed, extended_stats, terms ordered by a sub-aggregation,
# multi_terms, composite paging, and errors for what is not supported.
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

@test "a terms aggregation over a query with no hit has no bucket (no qsort of an empty array)" {
	[ "$(oracle_count 'has_tok(.Message; "zzzznotthere")')" = 0 ]
	run -0 qw-search --index otrf --max-hits 0 --query Message:zzzznotthere --aggs '{"c": {"terms": {"field": "Channel"}}}'
	[ "$(echo "$output" | jq -c '.aggregations.c')" = '{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[]}' ]
	run -0 qw-search --index otrf --max-hits 0 --query Message:zzzznotthere --aggs '{"m": {"multi_terms": {"terms": [{"field": "Channel"}, {"field": "EventID"}]}}}'
	[ "$(echo "$output" | jq -c '.aggregations.m.buckets')" = '[]' ]
}

@test "a terms aggregation over a field no document has gives no bucket" {
	[ "$(jq -s '[.[] | select(has("NoSuchField"))] | length' "$SAMPLE")" = 0 ]
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"c": {"terms": {"field": "NoSuchField"}}}'
	[ "$(echo "$output" | jq -c '.aggregations.c.buckets')" = '[]' ]
}

@test "terms missing counts the documents without the field into the given key" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"c": {"terms": {"field": "Channel", "size": 100, "missing": "N/A"}}}'
	got=$(echo "$output" | jq -c '[.aggregations.c.buckets[] | [.key, .doc_count]]')
	want=$(jq -sc 'map(.Channel // "N/A") | group_by(.) | map([.[0], length]) | sort_by([-.[1], .[0]])' "$SAMPLE")
	[ "$got" = "$want" ]
	[ "$(echo "$want" | jq -c 'map(select(.[0] == "N/A")) | .[0][1]')" -gt 0 ]
	# a number into a numeric field joins the bucket of that value
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"e": {"terms": {"field": "EventID", "size": 200, "missing": 4624}}}'
	got=$(echo "$output" | jq -c '[.aggregations.e.buckets[] | [.key, .doc_count]]')
	want=$(jq -sc 'map(.EventID // 4624) | group_by(.) | map([.[0], length]) | sort_by([-.[1], .[0]])' "$SAMPLE")
	[ "$got" = "$want" ]
}

@test "metric missing is the value of the documents without the field" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"a": {"avg": {"field": "EventID", "missing": 100000}}, "s": {"stats": {"field": "EventID", "missing": -1}}}'
	echo "$output" | python3 -c '
import json, sys
out = json.load(sys.stdin)["aggregations"]
docs = [json.loads(l) for l in open(sys.argv[1])]
a = [d.get("EventID", 100000) for d in docs]
s = [d.get("EventID", -1) for d in docs]
assert abs(out["a"]["value"] - sum(a) / len(a)) < 1e-6, (out["a"], sum(a) / len(a))
assert out["s"]["count"] == len(s) and out["s"]["min"] == min(s) and out["s"]["sum"] == sum(s), out["s"]
' "$SAMPLE"
}

@test "extended_stats matches python statistics (population variance, as Elasticsearch) with sigma bounds" {
	run -0 qw-search --index otrf --max-hits 0 --query 'Channel:Security' --aggs '{"x": {"extended_stats": {"field": "EventID", "sigma": 1.5}}}'
	echo "$output" | python3 -c '
import json, math, statistics as st, sys
x = json.load(sys.stdin)["aggregations"]["x"]
v = [d["EventID"] for d in map(json.loads, open(sys.argv[1])) if d.get("Channel") == "Security" and "EventID" in d]
assert len(v) > 10 and x["count"] == len(v), x
m, pv, sv = st.mean(v), st.pvariance(v), st.variance(v)
def close(a, b): return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
checks = {"avg": m, "sum": sum(v), "min": min(v), "max": max(v), "sum_of_squares": sum(i * i for i in v),
	"variance": pv, "variance_population": pv, "variance_sampling": sv,
	"std_deviation": math.sqrt(pv), "std_deviation_population": math.sqrt(pv), "std_deviation_sampling": math.sqrt(sv)}
for k, want in checks.items():
	assert close(x[k], want), (k, x[k], want)
b = x["std_deviation_bounds"]
assert close(b["upper"], m + 1.5 * math.sqrt(pv)) and close(b["lower"], m - 1.5 * math.sqrt(pv)), b
assert close(b["upper_sampling"], m + 1.5 * math.sqrt(sv)) and close(b["lower_sampling"], m - 1.5 * math.sqrt(sv)), b
' "$SAMPLE"
}

@test "terms ordered by a sub-aggregation metric match the oracle" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"c": {"terms": {"field": "Channel", "size": 5, "order": {"m.value": "desc"}}, "aggs": {"m": {"max": {"field": "EventID"}}}}, "d": {"terms": {"field": "Channel", "size": 4, "order": {"s.avg": "asc"}}, "aggs": {"s": {"stats": {"field": "EventID"}}}}}'
	got=$(echo "$output" | jq -c '[.aggregations.c.buckets[] | [.key, .doc_count, .m.value]]')
	want=$(jq -sc 'map(select(.Channel != null)) | group_by(.Channel) | map([.[0].Channel, length, ([.[].EventID | select(. != null)] | max)]) | sort_by([-.[2], -.[1], .[0]]) | .[:5]' "$SAMPLE")
	[ "$(echo "$got" | jq -c 'map(.[0:2])')" = "$(echo "$want" | jq -c 'map(.[0:2])')" ]
	got=$(echo "$output" | jq -c '[.aggregations.d.buckets[] | .key]')
	want=$(jq -sc 'map(select(.Channel != null)) | group_by(.Channel) | map([.[0].Channel, length, ([.[].EventID | select(. != null)] | add / length)]) | sort_by([.[2], -.[1], .[0]]) | .[:4] | map(.[0])' "$SAMPLE")
	[ "$got" = "$want" ]
	# _count ascending is the least frequent first, over all buckets (no per-split cut)
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"c": {"terms": {"field": "Channel", "size": 3, "order": {"_count": "asc"}}}}'
	got=$(echo "$output" | jq -c '[.aggregations.c.buckets[] | [.key, .doc_count]]')
	want=$(jq -sc 'map(select(.Channel != null)) | group_by(.Channel) | map([.[0].Channel, length]) | sort_by([.[1], .[0]]) | .[:3]' "$SAMPLE")
	[ "$got" = "$want" ]
}

@test "multi_terms counts every combination like the oracle" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"m": {"multi_terms": {"terms": [{"field": "Channel"}, {"field": "EventID"}], "size": 15}}}'
	got=$(echo "$output" | jq -c '[.aggregations.m.buckets[] | [.key, .key_as_string, .doc_count]]')
	want=$(jq -sc 'map(select(.Channel != null and .EventID != null) | [.Channel, .EventID]) | group_by(.) | map([.[0], "\(.[0][0])|\(.[0][1])", length]) | sort_by([-.[2], .[0]]) | .[:15]' "$SAMPLE")
	[ "$got" = "$want" ]
	other=$(jq -sc 'map(select(.Channel != null and .EventID != null) | [.Channel, .EventID]) | group_by(.) | map(length) | sort | reverse | .[15:] | add // 0' "$SAMPLE")
	[ "$(echo "$output" | jq .aggregations.m.sum_other_doc_count)" = "$other" ]
}

@test "composite paging with after_key covers every bucket exactly once, in key order" {
	local after='' page all="$BATS_TEST_TMPDIR/pages" n=0
	: >"$all"
	while :; do
		page=$(qw-search --index otrf --max-hits 0 --aggs '{"c": {"composite": {"size": 7, "sources": [{"ch": {"terms": {"field": "Channel", "missing_bucket": true}}}, {"ev": {"terms": {"field": "EventID", "order": "desc"}}}]'"$after"'}}}')
		[ "$(echo "$page" | jq '.aggregations.c.buckets | length')" -le 7 ]
		[ "$(echo "$page" | jq '.aggregations.c.buckets | length')" -gt 0 ] || break
		echo "$page" | jq -c '.aggregations.c.buckets[] | [.key.ch, .key.ev, .doc_count]' >>"$all"
		after=", \"after\": $(echo "$page" | jq -c .aggregations.c.after_key)"
		n=$((n + 1))
		[ "$n" -lt 100 ]
	done
	[ "$n" -gt 3 ]
	got=$(jq -sc . "$all")
	want=$(jq -sc 'map(select(.EventID != null) | [.Channel, -.EventID]) | group_by(.) | map([.[0][0], -.[0][1], length])' "$SAMPLE")
	[ "$got" = "$want" ]
}

@test "composite with a histogram source and a sub-aggregation matches the oracle" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"c": {"composite": {"size": 1000, "sources": [{"e": {"histogram": {"field": "EventID", "interval": 1000}}}]}, "aggs": {"n": {"value_count": {"field": "EventID"}}}}}'
	got=$(echo "$output" | jq -c '[.aggregations.c.buckets[] | [.key.e, .doc_count, .n.value]]')
	want=$(jq -sc 'map(select(.EventID != null) | (.EventID / 1000 | floor) * 1000) | group_by(.) | map([.[0], length, length])' "$SAMPLE")
	[ "$got" = "$want" ]
}

@test "keyed histogram, date_histogram and range give buckets by key" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"h": {"histogram": {"field": "EventID", "interval": 1000, "min_doc_count": 1, "keyed": true}}, "r": {"range": {"field": "EventID", "keyed": true, "ranges": [{"to": 100}, {"from": 100, "to": 5000, "key": "mid"}, {"from": 5000}]}}, "d": {"date_histogram": {"field": "@timestamp", "fixed_interval": "3650d", "keyed": true}}}'
	got=$(echo "$output" | jq -c '.aggregations.h.buckets | to_entries | map([.key, .value.doc_count])')
	want=$(jq -sc 'map(select(.EventID != null) | (.EventID / 1000 | floor) * 1000) | group_by(.) | map([(.[0] | tostring), length])' "$SAMPLE")
	[ "$got" = "$want" ]
	got=$(echo "$output" | jq -c '.aggregations.r.buckets | [."*-100.0".doc_count, .mid.doc_count, ."5000.0-*".doc_count]')
	want=$(jq -sc 'map(.EventID | select(. != null)) | [(map(select(. < 100)) | length), (map(select(. >= 100 and . < 5000)) | length), (map(select(. >= 5000)) | length)]' "$SAMPLE")
	[ "$got" = "$want" ]
	got=$(echo "$output" | jq -c '.aggregations.d.buckets | [to_entries[] | select(.key == .value.key_as_string) | .value.doc_count] | add')
	[ "$got" = "$(wc -l <"$SAMPLE")" ]
}

@test "an unknown or unsupported aggregation option is an error naming it" {
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"c": {"terms": {"field": "Channel", "include": "Sec.*"}}}'
	[ "$stderr" = "qw-search: aggs.c.terms: unsupported option 'include'" ]
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"c": {"date_histogram": {"field": "@timestamp", "calendar_interval": "month"}}}'
	[ "$stderr" = 'qw-search: aggs.c.date_histogram.calendar_interval: calendar intervals are not supported; use fixed_interval with a duration ("1d", "7d", "1h")' ]
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"c": {"geohash_grid": {"field": "x"}}}'
	[ "$stderr" = "qw-search: aggs.c: unknown aggregation type 'geohash_grid'" ]
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"c": {"terms": {"field": "Channel", "order": {"m": "desc"}}, "aggs": {"m": {"terms": {"field": "Hostname"}}}}}'
	[[ $stderr == "qw-search: aggs.c.terms.order: 'm' is not a single-value or stats metric aggregation" ]]
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"c": {"composite": {"sources": [{"a": {"terms": {"field": "Channel"}}}], "after": {"a": "x", "b": 1}}}}'
	[ "$stderr" = "qw-search: aggs.c.composite.after: expected a value for each source" ]
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"c": {"multi_terms": {"terms": [{"field": "Channel"}, {"field": "Message"}]}}}'
	[ "$stderr" = "qw-search: aggs: field 'Message' of index 'otrf' is not a fast field" ]
}

# ms since the epoch of an RFC 3339 timestamp, in python (for the top_hits oracle)
TS_PY='
import calendar, json, re, sys
def ms(t):
	m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z$", t)
	secs = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
	return secs * 1000 + int(((m.group(7) or "") + "000000")[:6]) / 1000
docs = [json.loads(l) for l in open(sys.argv[1])]
out = json.load(sys.stdin)["aggregations"]
'

@test "top_hits in terms buckets: the newest documents of each bucket, as a python sort, with their docvalue_fields" {
	run -0 qw-search --index otrf --max-hits 0 --aggs '{"c": {"terms": {"field": "Channel", "size": 3}, "aggs": {"t": {"top_hits": {"size": 4, "sort": [{"@timestamp": {"order": "desc"}}], "docvalue_fields": ["@timestamp", "EventID", "Hostname"]}}}}}'
	echo "$output" | python3 -c "$TS_PY"'
buckets = out["c"]["buckets"]
assert len(buckets) == 3
for b in buckets:
	mine = [d for d in docs if d.get("Channel") == b["key"]]
	want = sorted((ms(d["@timestamp"]) for d in mine), reverse=True)[:4]
	got = [h["sort"][0] for h in b["t"]["hits"]]
	assert len(got) == len(want) and all(abs(g - w) < 1e-3 for g, w in zip(got, want)), (b["key"], got, want)
	for h in b["t"]["hits"]:
		dv = h["docvalue_fields"]
		assert any(abs(ms(d["@timestamp"]) - h["sort"][0]) < 1e-3 and d.get("EventID") == dv["EventID"]
			and d.get("Hostname") == dv["Hostname"] and abs(ms(dv["@timestamp"]) - h["sort"][0]) < 1e-3
			for d in mine), (b["key"], h)
' "$SAMPLE"
}

@test "top_hits with two sort fields, ascending, and from skips the first hits" {
	run -0 qw-search --index otrf --max-hits 0 --query 'EventID:*' --aggs '{"x": {"top_hits": {"size": 5, "from": 3, "sort": [{"EventID": "asc"}, {"@timestamp": "desc"}]}}}'
	echo "$output" | python3 -c "$TS_PY"'
want = sorted(([d["EventID"], ms(d["@timestamp"])] for d in docs if "EventID" in d), key=lambda k: (k[0], -k[1]))[3:8]
got = [h["sort"] for h in out["x"]["hits"]]
assert len(got) == 5 and all(g[0] == w[0] and abs(g[1] - w[1]) < 1e-3 for g, w in zip(got, want)), (got, want)
' "$SAMPLE"
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"x": {"top_hits": {"_source": ["Channel"]}}}'
	[ "$stderr" = "qw-search: aggs.x.top_hits: unsupported option '_source'" ]
	run -65 --separate-stderr qw-search --index otrf --max-hits 0 --aggs '{"x": {"top_hits": {"docvalue_fields": ["Message"]}}}'
	[ "$stderr" = "qw-search: aggs: field 'Message' of index 'otrf' is not a fast field" ]
}

@test "an unknown field is an error even after 64 aggregated fields" {
	export QW_DATA_DIR=$BATS_TEST_TMPDIR/small
	qw index create --index-config "$QW_SRCDIR/tests/data/search/small.yaml" >/dev/null
	aggs=$(python3 -c 'import json; a = {f"s{i}": {"value_count": {"field": "status"}} for i in range(70)}; a["z"] = {"sum": {"field": "nope"}}; print(json.dumps(a))')
	run -65 --separate-stderr qw-search --index small --max-hits 0 --aggs "$aggs"
	[ "$stderr" = "qw-search: aggs: unknown field 'nope' in index 'small'" ]
}
