#!/usr/bin/env bats
# qw-serve over HTTP on a loopback port picked by the kernel (port 0 and
# --port-file). Oracles: jq and awk over the raw documents sent, the data
# dir's files; never qw's own output.
load helpers

GH=$QW_SRCDIR/examples/gharchive.ndjson

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
}

teardown() {
	if [ -n "${SERVE_PID:-}" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
		kill -TERM "$SERVE_PID"
		wait "$SERVE_PID" || true
	fi
}

# start_server [OPTION]... : qw-serve in the background; sets URL and SERVE_PID.
start_server() {
	rm -f "$T/port"
	qw-serve --listen 127.0.0.1:0 --port-file "$T/port" "$@" 2>"$T/serve.log" 3>&- &
	SERVE_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$T/port" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.log"; return 1; }
		sleep 0.05
	done
	[ -s "$T/port" ] || { echo "qw-serve did not write its port file"; return 1; }
	URL="http://127.0.0.1:$(cat "$T/port")"
}

# req METHOD PATH [CURL ARG]... : body in $T/body, status in $status_code.
req() {
	local method=$1 path=$2
	shift 2
	status_code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$method" "$@" "$URL$path")
}

create_gharchive() {
	req POST /api/v1/indexes -H 'Content-Type: application/yaml' \
		--data-binary @"$QW_SRCDIR/examples/gharchive.yaml"
	[ "$status_code" = 200 ] || { cat "$T/body"; return 1; }
}

@test "qw-serve answers the health checks, 404 for an unknown route and 405 for a bad method" {
	start_server
	req GET /health/livez
	[ "$status_code" = 200 ] && [ "$(jq . "$T/body")" = true ]
	req GET /health/readyz
	[ "$status_code" = 200 ]
	req GET /api/v1/no/such/route
	[ "$status_code" = 404 ]
	jq -e '.message | test("route")' "$T/body"
	req DELETE /health/livez
	[ "$status_code" = 405 ]
	jq -e '.message | type == "string"' "$T/body"
}

@test "qw-serve refuses a bad --listen with exit 64 and an address in use with exit 69" {
	run --separate-stderr qw-serve --listen nonsense
	[ "$status" -eq 64 ]
	[[ "$stderr" == "qw-serve: --listen"* ]]
	run --separate-stderr qw-serve --listen 10.1.2.3.4:80
	[ "$status" -eq 64 ]
	start_server
	run --separate-stderr timeout 20 qw-serve --listen "127.0.0.1:$(cat "$T/port")"
	[ "$status" -eq 69 ]
	[[ "$stderr" == *"qw-serve: cannot listen on 127.0.0.1:"* ]]
}

@test "indexes: create from YAML and JSON, list, describe, refuse a duplicate, delete" {
	start_server
	create_gharchive
	jq -e '.index_config.index_id == "gharchive" and (.index_uid | startswith("gharchive:"))' "$T/body"
	req POST /api/v1/indexes -H 'Content-Type: application/json' \
		-d '{"version":"0.8","index_id":"other","doc_mapping":{"field_mappings":[{"name":"body","type":"text"}]}}'
	[ "$status_code" = 200 ]
	# the metastore files are the oracle of what exists
	[ -f "$QW_DATA_DIR/indexes/other/metastore.json" ]
	req GET /api/v1/indexes
	[ "$status_code" = 200 ]
	[ "$(jq -r '[.[].index_config.index_id] | sort | join(",")' "$T/body")" = \
		"$(cd "$QW_DATA_DIR/indexes" && ls -d */ | tr -d / | sort | paste -sd,)" ]
	req GET /api/v1/indexes/other
	[ "$status_code" = 200 ]
	jq -e '.index_config.doc_mapping.field_mappings[0].name == "body"' "$T/body"
	req POST /api/v1/indexes -H 'Content-Type: application/yaml' \
		--data-binary @"$QW_SRCDIR/examples/gharchive.yaml"
	[ "$status_code" = 400 ]
	jq -e '.message | test("exist")' "$T/body"
	req POST /api/v1/indexes -d '{"version":"0.8"'
	[ "$status_code" = 400 ]
	req GET /api/v1/indexes/..%2Fetc
	[ "$status_code" = 400 ]
	req DELETE /api/v1/indexes/other
	[ "$status_code" = 200 ]
	[ ! -e "$QW_DATA_DIR/indexes/other/metastore.json" ]
	req GET /api/v1/indexes/other
	[ "$status_code" = 404 ]
	jq -e '.message | test("other")' "$T/body"
}

@test "ingest with commit=force is searchable at once, and GET and POST search agree with jq" {
	start_server
	create_gharchive
	req POST '/api/v1/gharchive/ingest?commit=force' --data-binary @"$GH"
	[ "$status_code" = 200 ] || { cat "$T/body" "$T/serve.log"; false; }
	[ "$(jq .num_docs_for_processing "$T/body")" -eq "$(grep -c . "$GH")" ]
	req GET '/api/v1/gharchive/search?query=type:PushEvent&max_hits=0'
	[ "$status_code" = 200 ]
	[ "$(jq .num_hits "$T/body")" -eq "$(jq -s '[.[] | select(.type == "PushEvent")] | length' "$GH")" ]
	# POST, sorted ascending on the timestamp: the first ids as jq sorts them
	req POST /api/v1/gharchive/search -H 'Content-Type: application/json' \
		-d '{"query": "type:IssuesEvent OR type:ForkEvent", "max_hits": 3, "sort_by": "-created_at"}'
	[ "$status_code" = 200 ]
	[ "$(jq -c '[.hits[].id]' "$T/body")" = \
		"$(jq -sc '[.[] | select(.type == "IssuesEvent" or .type == "ForkEvent")] | sort_by(.created_at, .id) | [.[:3][].id]' "$GH")" ]
	req GET '/api/v1/gharchive/search?query=type:IssuesEvent+OR+type:ForkEvent&max_hits=3&sort_by=-created_at'
	[ "$(jq -c '[.hits[].id]' "$T/body")" = \
		"$(jq -sc '[.[] | select(.type == "IssuesEvent" or .type == "ForkEvent")] | sort_by(.created_at, .id) | [.[:3][].id]' "$GH")" ]
	# bad requests are 400 with a message, an unknown index 404
	req GET '/api/v1/gharchive/search?query=type:&max_hits=1'
	[ "$status_code" = 400 ]
	jq -e '.message | length > 0' "$T/body"
	req GET '/api/v1/gharchive/search?max_hits=lots'
	[ "$status_code" = 400 ]
	req GET '/api/v1/gharchive/search?no_such_param=1'
	[ "$status_code" = 400 ]
	req GET '/api/v1/nosuchindex/search?query=*'
	[ "$status_code" = 404 ]
	# stats=true: what the query read, the split files as the bound
	req GET '/api/v1/gharchive/search?query=type:PushEvent&max_hits=1&stats=true'
	[ "$status_code" = 200 ]
	[ "$(jq .stats.local.splits "$T/body")" = "$(find "$QW_DATA_DIR" -name '*.split' | wc -l)" ]
	[ "$(jq .stats.bytes "$T/body")" -gt 0 ]
	[ "$(jq .stats.bytes "$T/body")" -le "$(find "$QW_DATA_DIR" -name '*.split' -printf '%s\n' | awk '{ s += $1 } END { print s }')" ]
	req POST /api/v1/gharchive/search -H 'Content-Type: application/json' -d '{"query": "*", "stats": false}'
	[ "$(jq 'has("stats")' "$T/body")" = false ]
	req GET '/api/v1/gharchive/search?stats=maybe'
	[ "$status_code" = 400 ]
}

@test "hits come back with the numbers as sent: a u64 above INT64_MAX as digits, reals in their shortest form" {
	# the oracle is the document's own text: python3 checks the values and
	# that each number token of the input appears as it was written
	printf '%s\n' '{"n": 18446744073709551615, "f": 18.048, "g": 0.1, "m": "bignum"}' >"$T/docs.ndjson"
	printf 'version: 0.8\nindex_id: numbers\ndoc_mapping:\n  mode: dynamic\n' >"$T/numbers.yaml"
	qw index create --index-config "$T/numbers.yaml"
	qw-pipeline --index numbers --once --quiet "$T/docs.ndjson"
	check() { # FILE JQ_PATH_TO_THE_DOC
		python3 - "$1" "$2" "$T/docs.ndjson" <<'PY'
import json, re, sys
body = open(sys.argv[1]).read()
doc = json.loads(body)
for k in sys.argv[2].split("."):
    doc = doc[int(k)] if k.isdigit() else doc[k]
want = json.loads(open(sys.argv[3]).readline())
assert doc == want, (doc, want)
for tok in ("18446744073709551615", "18.048", "0.1"):
    assert re.search(r"[:\[,]" + re.escape(tok) + r"[,}\]]", body), (tok, body)
PY
	}
	qw-search -i numbers 'm:bignum' >"$T/cli.json"
	check "$T/cli.json" hits.0
	start_server
	req GET '/api/v1/numbers/search?query=m:bignum'
	[ "$status_code" = 200 ]
	check "$T/body" hits.0
	req POST /api/v1/_elastic/numbers/_search -H 'Content-Type: application/json' -d '{"query": {"match_all": {}}}'
	[ "$status_code" = 200 ]
	check "$T/body" hits.hits.0._source
}

@test "ingest: every acknowledged document is indexed exactly once, also under concurrent ingests" {
	start_server --threads 8
	req POST /api/v1/indexes -d '{"version":"0.8","index_id":"seq","doc_mapping":{"field_mappings":[{"name":"n","type":"u64","fast":true},{"name":"w","type":"text","tokenizer":"raw"}]}}'
	[ "$status_code" = 200 ]
	pids=()
	for w in 1 2 3 4 5 6 7 8; do
		awk -v w="$w" 'BEGIN { for (i = 0; i < 50; i++) printf "{\"n\": %d, \"w\": \"w%d\"}\n", w * 1000 + i, w }' >"$T/in$w"
		curl -s -o "$T/out$w" -w '%{http_code}' -XPOST "$URL/api/v1/seq/ingest?commit=force" \
			--data-binary @"$T/in$w" >"$T/code$w" 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	for w in 1 2 3 4 5 6 7 8; do
		[ "$(cat "$T/code$w")" = 200 ] || { cat "$T/out$w"; false; }
	done
	req GET '/api/v1/seq/search?query=*&max_hits=1000&sort_by=-n'
	[ "$(jq .num_hits "$T/body")" -eq 400 ]
	[ "$(jq -c '[.hits[].n]' "$T/body")" = "$(cat "$T"/in? | jq -sc '[.[].n] | sort')" ]
	# the write-ahead file holds every body, whole
	[ "$(sort "$QW_DATA_DIR/ingest/seq.ndjson" | md5sum)" = "$(cat "$T"/in? | sort | md5sum)" ]
	# a restarted server indexes nothing twice
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	start_server
	printf '{"n": 1, "w": "again"}\n' >"$T/one"
	req POST '/api/v1/seq/ingest?commit=force' --data-binary @"$T/one"
	[ "$status_code" = 200 ]
	req GET '/api/v1/seq/search?query=*&max_hits=0'
	[ "$(jq .num_hits "$T/body")" -eq 401 ]
	# clear forgets the documents and the write-ahead file
	req PUT /api/v1/indexes/seq/clear
	[ "$status_code" = 200 ]
	[ ! -e "$QW_DATA_DIR/ingest/seq.ndjson" ]
	req POST '/api/v1/seq/ingest?commit=force' --data-binary @"$T/one"
	[ "$status_code" = 200 ] || { cat "$T/body" "$T/serve.log"; false; }
	req GET '/api/v1/seq/search?query=*&max_hits=0'
	[ "$(jq .num_hits "$T/body")" -eq 1 ] || { cat "$T/body" "$T/serve.log"; false; }
}

@test "ingest is NDJSON only: a line that is not JSON is an invalid document, the JSON lines keep their fields" {
	start_server
	req POST /api/v1/indexes -d '{"version":"0.8","index_id":"ndjson","doc_mapping":{"mode":"dynamic"}}'
	[ "$status_code" = 200 ]
	{
		echo 'not json at all'
		awk 'BEGIN { for (i = 0; i < 20; i++) printf "{\"uid\": \"u%d\", \"n\": %d}\n", i, i }'
	} >"$T/mixed"
	req POST '/api/v1/ndjson/ingest?commit=force' --data-binary @"$T/mixed"
	[ "$status_code" = 200 ] || { cat "$T/body"; false; }
	req GET '/api/v1/ndjson/search?query=*&max_hits=100'
	# every hit is one of the JSON lines, with its fields (not a text body)
	[ "$(jq -cS '[.hits[]] | sort_by(.n)' "$T/body")" = \
		"$(grep '^{' "$T/mixed" | jq -scS 'sort_by(.n)')" ]
}

@test "ingest after a crash that cut a body: the torn end stays one invalid line, the next body is indexed whole" {
	start_server
	req POST /api/v1/indexes -d '{"version":"0.8","index_id":"torn","doc_mapping":{"mode":"dynamic"}}'
	[ "$status_code" = 200 ]
	printf '{"uid": "a1", "n": 1}\n' >"$T/first"
	req POST '/api/v1/torn/ingest?commit=force' --data-binary @"$T/first"
	[ "$status_code" = 200 ]
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	# what a crash in the middle of a write() leaves: a body without its end
	printf '{"uid": "lost", "n": 2, "w": "cut he' >>"$QW_DATA_DIR/ingest/torn.ndjson"
	start_server
	awk 'BEGIN { for (i = 3; i < 13; i++) printf "{\"uid\": \"b%d\", \"n\": %d}\n", i, i }' >"$T/next"
	req POST '/api/v1/torn/ingest?commit=force' --data-binary @"$T/next"
	[ "$status_code" = 200 ]
	req GET '/api/v1/torn/search?query=*&max_hits=100'
	[ "$(jq -cS '[.hits[]] | sort_by(.n)' "$T/body")" = "$(cat "$T/first" "$T/next" | jq -scS 'sort_by(.n)')" ]
}

@test "ingest refuses an unknown index (404), a bad commit mode (400), a body over the limit (413)" {
	start_server --max-body-size 1000
	req POST '/api/v1/nope/ingest' --data-binary '{"a":1}'
	[ "$status_code" = 404 ]
	create_gharchive
	req POST '/api/v1/gharchive/ingest?commit=sometimes' --data-binary '{"a":1}'
	[ "$status_code" = 400 ]
	head -c 5000 "$GH" >"$T/big"
	req POST '/api/v1/gharchive/ingest' --data-binary @"$T/big"
	[ "$status_code" = 413 ]
	jq -e '.message | test("1000")' "$T/body"
	[ ! -e "$QW_DATA_DIR/ingest/gharchive.ndjson" ]
}

@test "qw-serve exits 0 on SIGTERM after the request in flight is answered" {
	start_server
	create_gharchive
	curl -s -o "$T/ingest.out" -w '%{http_code}' -XPOST "$URL/api/v1/gharchive/ingest?commit=force" \
		--data-binary @"$GH" >"$T/ingest.code" 3>&- &
	curl_pid=$!
	# wait until the request is in flight: its body is on disk
	for ((i = 0; i < 200; i++)); do
		[ -s "$QW_DATA_DIR/ingest/gharchive.ndjson" ] && break
		sleep 0.05
	done
	kill -TERM "$SERVE_PID"
	st=0
	wait "$SERVE_PID" || st=$?
	[ "$st" -eq 0 ]
	wait "$curl_pid"
	[ "$(cat "$T/ingest.code")" = 200 ]
	grep -q 'stopping' "$T/serve.log"
	run qw-search --index gharchive --max-hits 0 --format count
	[ "$output" -eq "$(grep -c . "$GH")" ]
}

@test "elastic: / and _cluster/health answer" {
	start_server
	req GET /api/v1/_elastic
	[ "$status_code" = 200 ]
	jq -e '.version.number | type == "string"' "$T/body"
	req GET /api/v1/_elastic/_cluster/health
	[ "$status_code" = 200 ]
	jq -e '.status == "green"' "$T/body"
}

@test "Quickwit's own REST API scenarii pass against qw-serve, but for the files listed as skipped" {
	scenarii=${QW_SCENARII:-$QW_SRCDIR/../shared/quickwit-scenarii}
	if [ ! -d "$scenarii" ]; then
		[ "${CI:-}" != true ] || { echo "scenarii folder missing: $scenarii" >&2; return 1; }
		skip "quickwit scenarii not available ($scenarii)"
	fi
	run "$QW_SRCDIR/tests/quickwit-scenarii-serve" --scenarii "$scenarii"
	echo "$output" | grep -v '^skip' | sed 's/^/# /' >&3 || true
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^([0-9]+)\ passed,\ 0\ failed ]]
	# the suite ran for real: at least the Quickwit search API folder
	[ "${BASH_REMATCH[1]}" -ge 100 ]
}

# es_count DSL JQ_FILTER : _search with the DSL gives jq's count over the raw docs.
es_count() {
	req POST /api/v1/_elastic/gharchive/_search -H 'Content-Type: application/json' \
		-d "{\"size\": 0, \"track_total_hits\": true, \"query\": $1}"
	[ "$status_code" = 200 ] || { echo "$1: $status_code $(cat "$T/body")"; return 1; }
	got=$(jq .hits.total.value "$T/body")
	want=$(jq -s "[.[] | select($2)] | length" "$GH")
	[ "$got" = "$want" ] || { echo "$1: got $got, jq says $want"; return 1; }
}

@test "elastic: _search with the query DSL counts what jq counts over the raw documents" {
	start_server
	create_gharchive
	req POST '/api/v1/gharchive/ingest?commit=force' --data-binary @"$GH"
	[ "$status_code" = 200 ]
	es_count '{"match_all": {}}' 'true'
	es_count '{"match_none": {}}' 'false'
	es_count '{"term": {"type": "PushEvent"}}' '.type == "PushEvent"'
	es_count '{"terms": {"type": ["PushEvent", "ForkEvent"]}}' '.type == "PushEvent" or .type == "ForkEvent"'
	es_count '{"match": {"type": {"query": "IssuesEvent"}}}' '.type == "IssuesEvent"'
	es_count '{"exists": {"field": "payload.forkee"}}' '.payload.forkee != null'
	es_count '{"prefix": {"actor.login": "d"}}' '.actor.login | startswith("d")'
	es_count '{"wildcard": {"repo.name": {"value": "*android*"}}}' '.repo.name | test("android")'
	es_count '{"range": {"actor.id": {"gte": 1000000, "lt": 5000000}}}' '.actor.id >= 1000000 and .actor.id < 5000000'
	es_count '{"bool": {"must": {"term": {"type": "PushEvent"}}, "must_not": [{"range": {"actor.id": {"gt": 3000000}}}]}}' \
		'.type == "PushEvent" and (.actor.id > 3000000 | not)'
	es_count '{"bool": {"should": [{"term": {"type": "WatchEvent"}}, {"term": {"type": "CreateEvent"}}]}}' \
		'.type == "WatchEvent" or .type == "CreateEvent"'
	es_count '{"bool": {"filter": [{"term": {"public": true}}], "must_not": {"term": {"type": "PushEvent"}}}}' \
		'.public == true and .type != "PushEvent"'
	es_count '{"query_string": {"query": "type:PushEvent AND actor.login:d*"}}' \
		'.type == "PushEvent" and (.actor.login | startswith("d"))'
	# term/terms are raw terms, not analyzed: on a default-tokenized field
	# the original case of a word matches nothing, its lowercase does
	es_count '{"term": {"payload.description": "Journal"}}' 'false'
	es_count '{"term": {"payload.description": "journal"}}' \
		'(.payload.description // "") | ascii_downcase | [scan("[a-z0-9]+")] | index("journal") != null'
	es_count '{"term": {"type": {"value": "pushEVENT", "case_insensitive": true}}}' '.type == "PushEvent"'
	es_count '{"prefix": {"type": {"value": "push", "case_insensitive": true}}}' '.type | ascii_downcase | startswith("push")'
	es_count '{"prefix": {"type": {"value": "push"}}}' '.type | startswith("push")'
	es_count '{"regexp": {"type": "Pu.*"}}' '.type | test("^Pu.*$")'
	es_count '{"match_phrase_prefix": {"payload.description": "a fo"}}' \
		'(.payload.description // "") | ascii_downcase | test("(^|[^a-z0-9])a fo")'
	# lenient: a field below a bool field is no field, it matches nothing
	es_count '{"query_string": {"query": "PushEvent", "fields": ["type", "public.nope"], "lenient": true}}' \
		'.type == "PushEvent"'
	req POST /api/v1/_elastic/gharchive/_search -d \
		'{"query": {"query_string": {"query": "PushEvent", "fields": ["type", "public.nope"]}}}'
	[ "$status_code" = 400 ]
	# a field name that is no name is refused, not dropped (dropping it
	# would search other fields than asked)
	req POST /api/v1/_elastic/gharchive/_search -d \
		'{"query": {"query_string": {"query": "PushEvent", "fields": ["type", 7]}}}'
	[ "$status_code" = 400 ]
	jq -e '.error.reason | test("fields\\[1\\]")' "$T/body"
	req POST /api/v1/_elastic/gharchive/_search -d \
		'{"query": {"query_string": {"query": "PushEvent", "default_field": ""}}}'
	[ "$status_code" = 400 ]
	jq -e '.error.reason | test("empty field name")' "$T/body"
	# what has no exact translation is refused, not approximated
	req POST /api/v1/_elastic/gharchive/_search -d '{"query": {"fuzzy": {"type": "Pu"}}}'
	[ "$status_code" = 400 ]
	jq -e '.error.reason | test("fuzzy")' "$T/body"
	jq -e '.status == 400' "$T/body"
}

@test "elastic: size/from/sort/_source page as jq sorts, _count and _msearch agree, _bulk indexes" {
	start_server
	create_gharchive
	req POST '/api/v1/gharchive/ingest?commit=force' --data-binary @"$GH"
	req POST /api/v1/_elastic/gharchive/_search -d \
		'{"size": 4, "from": 2, "sort": [{"actor.id": {"order": "asc"}}], "_source": ["id", "actor.id"], "query": {"term": {"type": "PushEvent"}}}'
	[ "$status_code" = 200 ]
	[ "$(jq -c '[.hits.hits[]._source]' "$T/body")" = \
		"$(jq -sc '[.[] | select(.type == "PushEvent")] | sort_by(.actor.id) | [.[2:6][] | {id, actor: {id: .actor.id}}]' "$GH")" ]
	# the last hit's sort value pages on with search_after
	after=$(jq -c '.hits.hits[-1].sort' "$T/body")
	req POST /api/v1/_elastic/gharchive/_search -d \
		"{\"size\": 3, \"sort\": [{\"actor.id\": \"asc\"}], \"search_after\": $after, \"query\": {\"term\": {\"type\": \"PushEvent\"}}}"
	[ "$(jq -c '[.hits.hits[]._source.id]' "$T/body")" = \
		"$(jq -sc '[.[] | select(.type == "PushEvent")] | sort_by(.actor.id) | [.[6:9][].id]' "$GH")" ]
	# track_total_hits in the URL wins over the body's: false, a cap, true
	n=$(jq -s '[.[] | select(.type == "PushEvent")] | length' "$GH")
	req POST '/api/v1/_elastic/gharchive/_search?track_total_hits=false' -d \
		'{"size": 0, "track_total_hits": true, "query": {"term": {"type": "PushEvent"}}}'
	jq -e '.hits | has("total") | not' "$T/body"
	req POST '/api/v1/_elastic/gharchive/_search?track_total_hits=3' -d \
		'{"size": 0, "track_total_hits": false, "query": {"term": {"type": "PushEvent"}}}'
	[ "$n" -gt 3 ]
	jq -e '.hits.total == {"value": 3, "relation": "gte"}' "$T/body"
	req POST '/api/v1/_elastic/gharchive/_search?track_total_hits=true' -d \
		'{"size": 0, "track_total_hits": false, "query": {"term": {"type": "PushEvent"}}}'
	jq -e --argjson n "$n" '.hits.total == {"value": $n, "relation": "eq"}' "$T/body"
	req GET '/api/v1/_elastic/gharchive/_count' -d '{"query": {"term": {"type": "ForkEvent"}}}'
	[ "$(jq .count "$T/body")" = "$(jq -s '[.[] | select(.type == "ForkEvent")] | length' "$GH")" ]
	printf '{"index": "gharchive"}\n{"size": 0, "track_total_hits": true, "query": {"term": {"type": "WatchEvent"}}}\n{"index": "nope"}\n{"query": {"match_all": {}}}\n' >"$T/ms"
	req POST /api/v1/_elastic/_msearch --data-binary @"$T/ms"
	[ "$(jq '.responses[0].hits.total.value' "$T/body")" = "$(jq -s '[.[] | select(.type == "WatchEvent")] | length' "$GH")" ]
	[ "$(jq '.responses[1].status' "$T/body")" = 404 ]
	# _bulk: create and index actions, an unknown index fails its items only
	{
		printf '{"index": {"_index": "gharchive"}}\n{"id": "b1", "type": "BulkEvent", "created_at": "2015-01-01T00:00:00Z"}\n'
		printf '{"create": {"_index": "nope"}}\n{"id": "b2"}\n'
		printf '{"create": {"_index": "gharchive"}}\n{"id": "b3", "type": "BulkEvent", "created_at": "2015-01-01T00:00:01Z"}\n'
	} | gzip >"$T/bulk.gz"
	req POST '/api/v1/_elastic/_bulk?refresh=true' -H 'Content-Encoding: gzip' --data-binary @"$T/bulk.gz"
	[ "$status_code" = 200 ]
	jq -e '.errors == true and [.items[] | to_entries[0].value.status] == [201, 404, 201]' "$T/body"
	req GET '/api/v1/gharchive/search?query=type:BulkEvent&max_hits=0'
	[ "$(jq .num_hits "$T/body")" -eq 2 ]
	req POST /api/v1/_elastic/_bulk -d $'{"delete": {"_index": "gharchive"}}\n'
	[ "$status_code" = 400 ]
}

@test "elastic: a scroll returns every document once, its pages those of from/size; bad scrolls are refused" {
	start_server
	create_gharchive
	req POST '/api/v1/gharchive/ingest?commit=force' --data-binary @"$GH"
	q='{"size": 7, "sort": [{"actor.id": {"order": "desc"}}], "query": {"match_all": {}}}'
	req POST '/api/v1/_elastic/gharchive/_search?scroll=1m' -H 'Content-Type: application/json' -d "$q"
	[ "$status_code" = 200 ]
	sid=$(jq -r ._scroll_id "$T/body")
	[ ${#sid} -gt 4 ]
	jq -c '[.hits.hits[]._source.id]' "$T/body" >"$T/scrolled"
	n=$(jq -s length "$GH")
	local page=1
	for ((page = 1; page * 7 < n + 7; page++)); do
		# the same page by from/size
		req POST /api/v1/_elastic/gharchive/_search -d \
			"{\"from\": $((page * 7 - 7)), \"size\": 7, \"sort\": [{\"actor.id\": {\"order\": \"desc\"}}]}"
		[ "$(jq -c '[.hits.hits[]._source.id]' "$T/body")" = "$(sed -n "${page}p" "$T/scrolled")" ]
		if ((page % 2)); then
			req POST /api/v1/_elastic/_search/scroll -d "{\"scroll\": \"1m\", \"scroll_id\": \"$sid\"}"
		else
			req GET "/api/v1/_elastic/_search/scroll?scroll=1m&scroll_id=$sid"
		fi
		[ "$status_code" = 200 ]
		[ "$(jq -r ._scroll_id "$T/body")" = "$sid" ]
		jq -c '[.hits.hits[]._source.id]' "$T/body" >>"$T/scrolled"
	done
	# past the end: empty pages; together: every document exactly once
	[ "$(tail -1 "$T/scrolled")" = "[]" ]
	[ "$(jq -sc 'add | sort' "$T/scrolled")" = "$(jq -sc '[.[].id] | sort' "$GH")" ]
	# the pages of a scroll are those of its first page's splits: a document
	# published meanwhile that ranks first neither shifts the next pages
	# (which would repeat a hit) nor appears
	req POST '/api/v1/_elastic/gharchive/_search?scroll=1m' -d "$q"
	sid=$(jq -r ._scroll_id "$T/body")
	jq -c '[.hits.hits[]._source.id]' "$T/body" >"$T/scrolled"
	head -1 "$GH" | jq -c '.id = "late" | .actor.id = 2000000000' >"$T/late.ndjson"
	req POST '/api/v1/gharchive/ingest?commit=force' --data-binary @"$T/late.ndjson"
	[ "$status_code" = 200 ]
	req POST /api/v1/_elastic/gharchive/_search -d "$q"
	[ "$(jq -r '.hits.hits[0]._source.id' "$T/body")" = late ]
	for ((page = 1; page * 7 < n + 7; page++)); do
		req POST /api/v1/_elastic/_search/scroll -d "{\"scroll_id\": \"$sid\"}"
		[ "$status_code" = 200 ]
		jq -c '[.hits.hits[]._source.id]' "$T/body" >>"$T/scrolled"
	done
	[ "$(jq -sc 'add | sort' "$T/scrolled")" = "$(jq -sc '[.[].id] | sort' "$GH")" ]
	req POST '/api/v1/_elastic/gharchive/_search?scroll=31m' -d "$q"
	[ "$status_code" = 400 ]
	jq -e '.error.reason | test("1800")' "$T/body"
	req POST '/api/v1/_elastic/gharchive/_search?scroll=1m&allow_partial_search_results=false' -d "$q"
	[ "$status_code" = 400 ]
	req POST /api/v1/_elastic/_search/scroll -d '{"scroll_id": "00000000000000000000000000000000"}'
	[ "$status_code" = 404 ]
	req POST /api/v1/_elastic/_search/scroll -d '{}'
	[ "$status_code" = 400 ]
	# over no index (ignore_unavailable): a scroll of empty pages
	req POST '/api/v1/_elastic/nope/_search?scroll=1m&ignore_unavailable=true' -d '{"size": 2}'
	[ "$status_code" = 200 ]
	sid=$(jq -r ._scroll_id "$T/body")
	req POST /api/v1/_elastic/_search/scroll -d "{\"scroll_id\": \"$sid\"}"
	[ "$status_code" = 200 ]
	jq -e '.hits.hits == [] and .hits.total.value == 0' "$T/body"
}

@test "templates: create, list, get, update, delete; _bulk creates a missing index from the matching template and refuses bad documents one by one" {
	start_server
	tpl='{"version": "0.8", "template_id": "logs", "index_id_patterns": ["logs-*", "-logs-x*"], "priority": 2,
	      "doc_mapping": {"mode": "dynamic", "field_mappings": [{"name": "ts", "type": "datetime", "fast": true}], "timestamp_field": "ts"}}'
	req POST /api/v1/templates -H 'Content-Type: application/json' -d "$tpl"
	[ "$status_code" = 200 ] || { cat "$T/body"; false; }
	req POST /api/v1/templates -H 'Content-Type: application/json' -d "$tpl"
	[ "$status_code" = 400 ]
	req POST /api/v1/templates -d '{"version": "0.8", "template_id": "bad", "index_id_patterns": ["b-*"], "doc_mapping": {"field_mappings": [{"name": "x", "type": "nope"}]}}'
	[ "$status_code" = 400 ]
	req POST /api/v1/templates -d '{"version": "0.8", "template_id": "bad", "index_id_patterns": []}'
	[ "$status_code" = 400 ]
	req GET /api/v1/templates
	jq -e '[.[].template_id] == ["logs"]' "$T/body"
	req PUT /api/v1/templates/logs -d "$(jq -c '.priority = 3' <<<"$tpl")"
	[ "$status_code" = 200 ]
	req GET /api/v1/templates/logs
	jq -e '.priority == 3 and .index_id_patterns == ["logs-*", "-logs-x*"]' "$T/body"
	req PUT /api/v1/templates/other -d "$tpl"
	[ "$status_code" = 400 ]
	{
		printf '{"index": {"_index": "logs-a"}}\n{"ts": "2015-01-01T00:00:00Z", "m": "one"}\n'
		printf '{"index": {"_index": "logs-a"}}\n{"ts": "not a date", "m": "two"}\n'
		printf '{"create": {"_index": "logs-a"}}\n{"ts": "2015-01-01T00:00:02Z", "m": "three"}\n'
		printf '{"index": {"_index": "logs-x1"}}\n{"ts": "2015-01-01T00:00:03Z"}\n'
	} >"$T/bulk"
	req POST '/api/v1/_elastic/_bulk?refresh=true' --data-binary @"$T/bulk"
	[ "$status_code" = 200 ]
	jq -e '.errors == true and [.items[] | to_entries[0].value.status] == [201, 400, 201, 404]' "$T/body"
	jq -e '.items[1].index.error.type == "document_parsing_exception" and (.items[1].index.error.reason | test("ts"))' "$T/body"
	req GET /api/v1/indexes/logs-a/describe
	[ "$status_code" = 200 ]
	req GET '/api/v1/logs-a/search?query=*&max_hits=10'
	jq -e '.num_hits == 2 and ([.hits[].m] | sort) == ["one", "three"]' "$T/body"
	req DELETE /api/v1/templates/logs
	[ "$status_code" = 200 ]
	req GET /api/v1/templates/logs
	[ "$status_code" = 404 ]
	req DELETE /api/v1/templates/logs
	[ "$status_code" = 404 ]
	req GET /api/v1/templates/a%20b
	[ "$status_code" = 400 ]
}
