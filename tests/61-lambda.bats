#!/usr/bin/env bats
# qw-lambda against a Lambda Runtime API emulator on loopback
# (tests/lambda-runtime-emulator.py) and, for s3:// splits, s3rver.
# Oracles: jq, awk and python over the documents sent and the events
# written here; never qw's own output. $QW_LAMBDA (default qw-lambda) is
# the program under test: `QW_LAMBDA=$PWD/lambda-build/bootstrap` runs the
# same tests on the static bootstrap of `make lambda`.
load helpers

LAMBDA=${QW_LAMBDA:-qw-lambda}

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/events" "$T/out" "$QW_DATA_DIR"
	export TMPDIR=$T QW_LAMBDA_INDEX_ID=
}

teardown() {
	if [ -n "${EMU_PID:-}" ]; then
		kill "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
	fi
	if [ -n "${PROXY_PID:-}" ]; then
		stop_fault_proxy
	fi
	if [ -n "${S3RVER_PID:-}" ]; then
		stop_s3rver
	fi
	if [ -n "${PG_DIR:-}" ]; then
		stop_pg
	fi
}

# start_emulator: serve $T/events; sets AWS_LAMBDA_RUNTIME_API.
start_emulator() {
	local i
	python3 "$QW_SRCDIR/tests/lambda-runtime-emulator.py" "$T/events" "$T/out" "$T/port" \
		2>"$T/emu.log" 3>&- &
	EMU_PID=$!
	for ((i = 0; i < 200; i++)); do
		[ -s "$T/port" ] && break
		kill -0 "$EMU_PID" 2>/dev/null || { cat "$T/emu.log"; return 1; }
		sleep 0.05
	done
	[ -s "$T/port" ] || { echo "the emulator did not start"; return 1; }
	export AWS_LAMBDA_RUNTIME_API=127.0.0.1:$(cat "$T/port")
}

# stop_emulator: stop it, its answers and port file gone (for a new start_emulator).
stop_emulator() {
	kill "$EMU_PID" 2>/dev/null || true
	wait "$EMU_PID" 2>/dev/null || true
	rm -rf "$T/out" "$T/port" && mkdir -p "$T/out"
}

# event NAME JSON: an invocation, handed out in NAME order.
event() {
	printf '%s' "$2" >"$T/events/$1.json"
}

# docs N: N documents {"n": i, "w": "word<i>", "pad": 300 x's}, independent of qw.
docs() {
	awk -v n="$1" 'BEGIN { p = sprintf("%300s", ""); gsub(/ /, "x", p);
		for (i = 1; i <= n; i++) printf "{\"n\":%d,\"w\":\"word%d\",\"pad\":\"%s\"}\n", i, i, p }'
}

# make_index ID [URI]: a dynamic index holding docs 300.
make_index() {
	local uri=""
	[ -z "${2:-}" ] || uri="index_uri: $2"$'\n'
	printf 'version: 0.8\nindex_id: %s\n%sdoc_mapping:\n  mode: dynamic\n' "$1" "$uri" >"$T/$1.yaml"
	qw index create --index-config "$T/$1.yaml" >/dev/null
	docs 300 >"$T/docs.ndjson"
	qw-pipeline --index "$1" --once --quiet "$T/docs.ndjson"
}

# body ID: the decoded body of proxy response ID (gunzipped when gzip).
body() {
	python3 - "$T/out/req-$1.response" <<'PY'
import base64, gzip, json, sys
r = json.load(open(sys.argv[1]))
b = r["body"]
if r.get("isBase64Encoded"):
    b = base64.b64decode(b)
    if r.get("headers", {}).get("content-encoding") == "gzip":
        b = gzip.decompress(b)
    b = b.decode()
sys.stdout.write(b)
PY
}

@test "every event kind is answered by one warm process: API Gateway v1, v2, function URL, direct" {
	make_index lam
	event 01 '{"resource":"/{proxy+}","path":"/api/v1/lam/search","httpMethod":"GET",
		"headers":{"Accept":"*/*"},"multiValueHeaders":{},"queryStringParameters":{"query":"w:word7"},
		"multiValueQueryStringParameters":{"query":["w:word7"],"max_hits":["3"]},
		"requestContext":{"stage":"prod","path":"/prod/api/v1/lam/search"},"body":null,"isBase64Encoded":false}'
	event 02 '{"version":"2.0","routeKey":"$default","rawPath":"/prod/api/v1/lam/search","rawQueryString":"",
		"headers":{"content-type":"application/json"},
		"requestContext":{"stage":"prod","domainName":"x.execute-api.us-east-1.amazonaws.com",
		"http":{"method":"POST","path":"/prod/api/v1/lam/search"}},
		"body":"{\"query\":\"n:>250\",\"max_hits\":0}","isBase64Encoded":false}'
	b64=$(printf '{"query":{"term":{"w":"word5"}}}' | base64 -w0)
	event 03 '{"version":"2.0","routeKey":"$default","rawPath":"/api/v1/_elastic/lam/_search",
		"rawQueryString":"","headers":{"content-type":"application/json"},
		"requestContext":{"stage":"$default","domainName":"abc.lambda-url.us-east-1.on.aws",
		"http":{"method":"POST","path":"/api/v1/_elastic/lam/_search"}},"body":"'"$b64"'","isBase64Encoded":true}'
	event 04 '{"version":"2.0","rawPath":"/api/v1/lam/search","rawQueryString":"query=w%3Aword9&max_hits=1",
		"headers":{"accept-encoding":"gzip"},"requestContext":{"stage":"$default",
		"domainName":"abc.lambda-url.us-east-1.on.aws","http":{"method":"GET"}}}'
	event 05 '{"index_id":"lam","query":"w:word3","max_hits":5}'
	event 06 '{"query":"n:<=10","max_hits":0}'
	start_emulator
	run --separate-stderr "$LAMBDA" --index lam --max-invocations 6
	echo "$stderr"
	[ "$status" -eq 0 ]
	# one process answered all six: six next, six responses, in order
	[ "$(grep -c 'GET .*/invocation/next' "$T/out/log")" = 6 ]
	[ "$(grep -c 'POST .*/response' "$T/out/log")" = 6 ]
	! grep -q REFUSED "$T/out/log"
	for i in 01 02 03 04 05 06; do [ -f "$T/out/req-$i.response" ]; done
	# v1: the hit is the document whose w is word7 (awk), statusCode 200
	jq -e '.statusCode == 200 and .isBase64Encoded == false' "$T/out/req-01.response"
	[ "$(body 01 | jq -c '[.num_hits, [.hits[].n]]')" = \
	  "[1,[$(awk -F'[:,]' '$4 == "\"word7\"" { print $2 }' "$T/docs.ndjson")]]" ]
	# v2 with a named stage: the count of n > 250 as awk counts it
	[ "$(body 02 | jq .num_hits)" = "$(awk -F'[:,]' '$2 > 250' "$T/docs.ndjson" | wc -l)" ]
	# function URL, base64 body, Elasticsearch route
	[ "$(body 03 | jq '.hits.total.value')" = 1 ]
	[ "$(body 03 | jq '.hits.hits[0]._source.n')" = 5 ]
	# small answers are not gzipped even when gzip is accepted
	jq -e '.isBase64Encoded == false and (.headers | has("content-encoding") | not)' "$T/out/req-04.response"
	[ "$(body 04 | jq -c '[.hits[].n]')" = "[9]" ]
	# direct invocations: the search response itself
	[ "$(jq -c '[.num_hits, [.hits[].n]]' "$T/out/req-05.response")" = "[1,[3]]" ]
	[ "$(jq .num_hits "$T/out/req-06.response")" = 10 ]
}

@test "a large answer is gzipped and base64-encoded when accepted, plain otherwise" {
	make_index lam
	for enc in gzip identity; do
		event "1-$enc" '{"version":"2.0","rawPath":"/api/v1/lam/search",
			"rawQueryString":"query=*&max_hits=300","headers":{"Accept-Encoding":"br, '"$enc"'"},
			"requestContext":{"http":{"method":"GET"}}}'
	done
	start_emulator
	run --separate-stderr "$LAMBDA" --max-invocations 2
	echo "$stderr"
	[ "$status" -eq 0 ]
	jq -e '.statusCode == 200 and .isBase64Encoded and .headers["content-encoding"] == "gzip"' \
		"$T/out/req-1-gzip.response"
	jq -e '.isBase64Encoded == false' "$T/out/req-1-identity.response"
	# the same 300 documents, as sent
	for enc in gzip identity; do
		[ "$(body "1-$enc" | jq -c '[.num_hits, ([.hits[].n] | sort == [range(1; 301)])]')" = "[300,true]" ]
	done
	# and the gzipped payload is the smaller one
	[ "$(wc -c <"$T/out/req-1-gzip.response")" -lt "$(wc -c <"$T/out/req-1-identity.response")" ]
}

@test "bad requests get 4xx proxy responses; malformed events go to the error route and the next is served" {
	make_index lam
	event 01 '{"httpMethod":"GET","path":"/api/v1/nosuch/search","queryStringParameters":{"query":"x"}}'
	event 02 'this is not JSON'
	event 03 '{"version":"2.0","rawPath":"/api/v1/lam/search","rawQueryString":"query=w:(",
		"requestContext":{"http":{"method":"GET"}}}'
	event 04 '[1, 2]'
	event 05 '{"httpMethod":"GET"}'
	event 06 '{"version":"2.0","rawPath":"/api/v1/lam/search","isBase64Encoded":true,"body":"@@@",
		"requestContext":{"http":{"method":"POST"}}}'
	event 07 '{"query":"w:word1"}'
	event 08 '{"index_id":"nosuch","query":"w:word1"}'
	event 09 '{"httpMethod":"DELETE","path":"/health/livez"}'
	event 10 '{"index_id":"lam","query":"w:word2"}'
	event 11 '{"version":"2.0","rawPath":"/prod","requestContext":{"stage":"prod","http":{"method":"GET"}}}'
	event 12 '{"version":"2.0","rawPath":"/api/v1/%6Cam/search","rawQueryString":"query=w:word4",
		"requestContext":{"http":{"method":"GET"}}}'
	event 13 '{"version":"2.0","rawPath":"/api/%zz","requestContext":{"http":{"method":"GET"}}}'
	start_emulator
	run --separate-stderr "$LAMBDA" --max-invocations 13
	echo "$stderr"
	[ "$status" -eq 0 ]
	jq -e '.statusCode == 404 and (.body | fromjson | .message | test("nosuch"))' "$T/out/req-01.response"
	jq -e '.statusCode == 400 and (.body | fromjson | .message | type == "string")' "$T/out/req-03.response"
	jq -e '.statusCode == 405' "$T/out/req-09.response"
	# the stage alone is the root; a path is percent-decoded as a URL's
	jq -e '.statusCode == 404' "$T/out/req-11.response"
	[ "$(body 12 | jq -c '[.hits[].n]')" = "[4]" ]
	for i in 02 04 05 06 07 13; do
		[ "$(cat "$T/out/req-$i.error-type")" = InvalidEvent ]
		jq -e '.errorType == "InvalidEvent" and (.errorMessage | startswith("event: "))' "$T/out/req-$i.error"
		[[ "$stderr" == *"qw-lambda: invocation req-$i: event: "* ]]
	done
	jq -e '.errorMessage | test("index_id")' "$T/out/req-07.error"
	# a direct search that fails is the invocation's error
	[ "$(cat "$T/out/req-08.error-type")" = SearchError ]
	jq -e '.errorType == "SearchError.404" and (.errorMessage | test("nosuch"))' "$T/out/req-08.error"
	# and the last one is still served, by the same process
	[ "$(jq -c '[.hits[].n]' "$T/out/req-10.response")" = "[2]" ]
	[ "$(grep -c 'GET .*/invocation/next' "$T/out/log")" = 13 ]
}

@test "an unusable configuration is posted to init/error and no invocation is taken" {
	event 01 '{"query":"*"}'
	start_emulator
	run --separate-stderr "$LAMBDA" --data-dir "$T/no/such/dir"
	[ "$status" -eq 66 ]
	[[ "$stderr" == "qw-lambda: data directory '$T/no/such/dir': "* ]]
	[ "$(cat "$T/out/init.error-type")" = Runtime.InitError ]
	jq -e '.errorType == "Runtime.InitError" and (.errorMessage | test("no/such/dir"))' "$T/out/init.error"
	! grep -q 'invocation/next' "$T/out/log"
}

@test "qw-lambda without a reachable Runtime API exits 69 (and 64 without one at all)" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	run --separate-stderr env AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port "$LAMBDA"
	[ "$status" -eq 69 ]
	[[ "$stderr" == "qw-lambda: lambda runtime: "*"/invocation/next: "* ]]
	run --separate-stderr env -u AWS_LAMBDA_RUNTIME_API "$LAMBDA"
	[ "$status" -eq 64 ]
	[[ "$stderr" == "qw-lambda: no Runtime API"* ]]
	# the emulator's 410 (no event left) ends the loop the same way
	start_emulator
	run --separate-stderr "$LAMBDA"
	[ "$status" -eq 69 ]
	[[ "$stderr" == *"HTTP 410"* ]]
}

@test "s3:// splits: searched through the function, the split cache in TMPDIR reused warm" {
	load s3-helpers
	start_s3rver
	export AWS_SESSION_TOKEN=lambda-session-token
	make_index lss "s3://$S3_BUCKET/idx/lss/"
	[ -z "$(find "$QW_DATA_DIR" -name '*.split')" ]
	event 01 '{"index_id":"lss","query":"w:word42","max_hits":1}'
	event 02 '{"version":"2.0","rawPath":"/api/v1/lss/search","rawQueryString":"query=n:%3C=100&max_hits=0",
		"requestContext":{"http":{"method":"GET"}}}'
	event 03 '{"index_id":"lss","query":"*","max_hits":0}'
	export QW_SPLIT_CACHE_DIR=$T/cache
	start_emulator
	run --separate-stderr "$LAMBDA" --max-invocations 3
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.hits[].n]' "$T/out/req-01.response")" = "[42]" ]
	[ "$(body 02 | jq .num_hits)" = "$(awk -F'[:,]' '$2 <= 100' "$T/docs.ndjson" | wc -l)" ]
	[ "$(jq .num_hits "$T/out/req-03.response")" = 300 ]
	# what was fetched stays in the cache for the next (warm) invocations
	[ -n "$(ls "$QW_SPLIT_CACHE_DIR")" ]
}

# warm_pair EVENT BETWEEN: two invocations of EVENT by one process, the
# second held back by the emulator until the command BETWEEN has run.
warm_pair() {
	local pid i
	event 01 "$1"
	event 02 "$1"
	touch "$T/events/.02.gate"
	start_emulator
	"$LAMBDA" --max-invocations 2 >"$T/lambda.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$T/out/req-01.response" ] && break
		sleep 0.05
	done
	$2
	rm "$T/events/.02.gate"
	wait "$pid" || { cat "$T/lambda.log"; return 1; }
}

# publish_between ID: two warm invocations counting index ID's docs, with
# 50 more docs published between them; the second must count them.
publish_between() {
	publish_more() {
		[ "$(jq .num_hits "$T/out/req-01.response")" = 300 ]
		docs 50 >"$T/more.ndjson"
		qw-pipeline --index "$IX" --once --quiet "$T/more.ndjson"
	}
	IX=$1 warm_pair "{\"index_id\":\"$1\",\"query\":\"*\",\"max_hits\":0}" publish_more
	[ "$(jq .num_hits "$T/out/req-02.response")" = 350 ]
}

# requests_between ID: $REQUESTS, the S3 requests the second of two
# identical warm invocations made, as the fault proxy counted them (rate 0:
# no fault).
requests_between() {
	count_first() {
		jq .requests "$FAULT_STATS" >"$T/requests-1"
		jq .get_bytes "$FAULT_STATS" >"$T/get-bytes-1"
		[ "$(cat "$T/requests-1")" -gt 0 ]   # the first went through the proxy
	}
	start_fault_proxy 1 0
	warm_pair "{\"index_id\":\"$1\",\"query\":\"w:word42\",\"max_hits\":1}" count_first
	[ "$(jq -c '[.hits[].n]' "$T/out/req-02.response")" = "[42]" ]
	REQUESTS=$(($(jq .requests "$FAULT_STATS") - $(cat "$T/requests-1")))
	GET_BYTES=$(($(jq .get_bytes "$FAULT_STATS") - $(cat "$T/get-bytes-1")))
}

@test "a warm invocation sees the splits published since the last one (file metastore)" {
	make_index lmf
	publish_between lmf
}

@test "a warm invocation sees the splits published since the last one (s3:// metastore and splits)" {
	load s3-helpers
	start_s3rver
	export QW_METASTORE_URI="s3://$S3_BUCKET/meta" QW_SPLIT_CACHE_DIR=$T/cache
	make_index lmw "s3://$S3_BUCKET/idx/lmw/"
	publish_between lmw
}

@test "a warm invocation re-reads nothing it has cached: no S3 request with a file metastore" {
	load s3-helpers
	start_s3rver
	export QW_SPLIT_CACHE_DIR=$T/cache
	make_index lwf "s3://$S3_BUCKET/idx/lwf/"
	requests_between lwf
	[ "$REQUESTS" = 0 ]
}

@test "a warm invocation with an s3:// metastore makes exactly one S3 request: the metastore's, answered 304 without a body" {
	load s3-helpers
	start_s3rver
	export QW_METASTORE_URI="s3://$S3_BUCKET/meta" QW_SPLIT_CACHE_DIR=$T/cache
	make_index lwm "s3://$S3_BUCKET/idx/lwm/"
	requests_between lwm
	[ "$REQUESTS" = 1 ]
	# the conditional GET (If-None-Match) of an unchanged document moves no byte
	[ "$GET_BYTES" = 0 ]
}

@test "a warm invocation without a split cache directory reads nothing again: the footer and ranges are in its memory" {
	load s3-helpers
	start_s3rver
	export QW_SPLIT_CACHE_DIR=
	make_index lwn "s3://$S3_BUCKET/idx/lwn/"
	requests_between lwn
	[ "$REQUESTS" = 0 ]
	[ -z "$(find "$T" -name '*.footer' -o -name '*.range')" ]
}

# two_split_index ID [URI]: index ID holding docs 300 and docs 50 in two
# splits, with a merge policy that merges those two.
two_split_index() {
	local uri=""
	[ -z "${2:-}" ] || uri="index_uri: $2"$'\n'
	printf 'version: 0.8\nindex_id: %s\n%sdoc_mapping:\n  mode: dynamic\n%s\n' \
		"$1" "$uri" 'indexing_settings:
  merge_policy:
    type: stable_log
    merge_factor: 2
    max_merge_factor: 2' >"$T/$1.yaml"
	qw index create --index-config "$T/$1.yaml" >/dev/null
	docs 300 >"$T/docs.ndjson"
	docs 50 >"$T/more.ndjson"
	qw-pipeline --index "$1" --once --quiet --no-merge "$T/docs.ndjson"
	qw-pipeline --index "$1" --once --quiet --no-merge "$T/more.ndjson"
}

# split_ids_in ID: the split ids of index ID's objects in the bucket.
split_ids_in() {
	s3rver_keys "idx/$1/" | sed -e 's|.*/||' -e 's|\.split$||' | LC_ALL=C sort | paste -sd' '
}

# searched_ids N: the split ids response N says it searched.
searched_ids() {
	jq -r '.stats.per_split[].split_id' "$T/out/req-$1.response" | LC_ALL=C sort | paste -sd' '
}

@test "a warm invocation searches the split merged since the last one, not the two merged away and removed (file metastore)" {
	two_split_index lwg
	local_ids() {
		ls "$QW_DATA_DIR/indexes/lwg/splits" | sed 's|\.split$||' | LC_ALL=C sort | paste -sd' '
	}
	before=$(local_ids)
	[ "$(wc -w <<<"$before")" = 2 ]
	merge_and_remove() {
		[ "$(searched_ids 01)" = "$before" ]
		qw-merge --index lwg --once >/dev/null
		qw-gc --index lwg --deletion-grace-period 0 >/dev/null
		[ "$(wc -w <<<"$(local_ids)")" = 1 ]
	}
	warm_pair '{"index_id":"lwg","query":"*","max_hits":0,"stats":true}' merge_and_remove
	[ "$(jq .num_hits "$T/out/req-01.response")" = 350 ]
	[ "$(jq .num_hits "$T/out/req-02.response")" = 350 ]
	[ "$(jq -c .errors "$T/out/req-02.response")" = "[]" ]
	[ "$(searched_ids 02)" = "$(local_ids)" ]
}

@test "a warm invocation does not search a split marked and removed since the last one, though its footer is in memory (s3:// metastore and splits)" {
	load s3-helpers
	start_s3rver
	export QW_METASTORE_URI="s3://$S3_BUCKET/meta" QW_SPLIT_CACHE_DIR=$T/cache
	two_split_index lwr "s3://$S3_BUCKET/idx/lwr/"
	before=$(split_ids_in lwr)
	[ "$(wc -w <<<"$before")" = 2 ]
	mark_and_remove() {
		[ "$(searched_ids 01)" = "$before" ]
		qw split mark-for-deletion --index lwr "${before%% *}" >/dev/null
		qw-gc --index lwr --deletion-grace-period 0 >/dev/null
		[ "$(split_ids_in lwr)" = "${before#* }" ]
	}
	warm_pair '{"index_id":"lwr","query":"*","max_hits":0,"stats":true}' mark_and_remove
	[ "$(jq .num_hits "$T/out/req-01.response")" = 350 ]
	[ "$(jq -c .errors "$T/out/req-02.response")" = "[]" ]
	[ "$(searched_ids 02)" = "${before#* }" ]
	# the documents of the split left, as the stored metastore document records them
	[ "$(jq .num_hits "$T/out/req-02.response")" = "$(jq -r --arg id "${before#* }" \
		'.splits[$id].metadata.num_docs' "$S3RVER_DIR/$S3_BUCKET/meta/lwr/metastore.json._S3rver_object")" ]
}

@test "a warm invocation does not search a split marked for deletion since the last one (file metastore)" {
	load s3-helpers
	start_s3rver
	export QW_SPLIT_CACHE_DIR=
	two_split_index lwd "s3://$S3_BUCKET/idx/lwd/"
	mark_one() {
		[ "$(jq .num_hits "$T/out/req-01.response")" = 350 ]
		# the split of 50 documents, as the metastore document records it
		qw split mark-for-deletion --index lwd "$(jq -r '.splits | to_entries[] |
			select(.value.metadata.num_docs == 50) | .key' "$QW_DATA_DIR/indexes/lwd/metastore.json")" >/dev/null
	}
	warm_pair '{"index_id":"lwd","query":"*","max_hits":0,"stats":true}' mark_one
	[ "$(jq .num_hits "$T/out/req-02.response")" = 300 ]
	[ "$(jq '.stats.per_split | length' "$T/out/req-02.response")" = 1 ]
}

@test "a warm invocation does not answer from the kept footers of an index deleted and created again at the same URI" {
	load s3-helpers
	start_s3rver
	export QW_SPLIT_CACHE_DIR=$T/cache
	make_index lwx "s3://$S3_BUCKET/idx/lwx/"
	recreate() {
		[ "$(jq .num_hits "$T/out/req-01.response")" = 300 ]
		qw index delete lwx --yes >/dev/null
		qw index create --index-config "$T/lwx.yaml" >/dev/null
		docs 120 >"$T/docs.ndjson"
		qw-pipeline --index lwx --once --quiet "$T/docs.ndjson"
	}
	warm_pair '{"index_id":"lwx","query":"*","max_hits":0,"stats":true}' recreate
	[ "$(jq .num_hits "$T/out/req-02.response")" = 120 ]
	[ "$(searched_ids 02)" = "$(split_ids_in lwx)" ]
}

@test "a warm invocation opens no new S3 connection: the metastore's and the splits' requests ride the first one's" {
	load s3-helpers
	start_s3rver
	# no copy kept, in /tmp or in memory: the second invocation reads the split again
	export QW_METASTORE_URI="s3://$S3_BUCKET/meta" QW_SPLIT_CACHE_DIR= QW_WARM_CACHE_MAX_BYTES=0
	make_index lwk "s3://$S3_BUCKET/idx/lwk/"
	count_first() { jq .connections "$FAULT_STATS" >"$T/connections-1"; }
	start_fault_proxy 1 0
	warm_pair '{"index_id":"lwk","query":"w:word42","max_hits":1}' count_first
	[ "$(jq -c '[.hits[].n]' "$T/out/req-02.response")" = "[42]" ]
	# the second invocation read the split again (no cache) on the same connection
	[ "$(jq .requests "$FAULT_STATS")" -gt 2 ]
	[ "$(jq .connections "$FAULT_STATS")" = "$(cat "$T/connections-1")" ]
}

@test "a kept S3 connection the server closed between two warm invocations is replaced" {
	load s3-helpers
	start_s3rver
	export QW_SPLIT_CACHE_DIR=
	make_index lwr "s3://$S3_BUCKET/idx/lwr/"
	restart_s3rver() {
		[ "$(jq -c '[.hits[].n]' "$T/out/req-01.response")" = "[42]" ]
		stop_s3rver
		start_s3rver "$S3_BUCKET" "$S3RVER_PORT"
	}
	warm_pair '{"index_id":"lwr","query":"w:word42","max_hits":1}' restart_s3rver
	[ "$(jq -c '[.hits[].n]' "$T/out/req-02.response")" = "[42]" ]
}

@test "the SAM template parses with CloudFormation's tags and names the documented resources" {
	tpl=$QW_SRCDIR/deploy/qw-lambda.yaml
	# YAML with the short-form intrinsics (!Ref, !Sub, !GetAtt) as tags
	python3 - "$tpl" <<'PY'
import sys, yaml
class L(yaml.SafeLoader): pass
L.add_multi_constructor("!", lambda loader, suffix, node: {suffix: loader.construct_scalar(node)
    if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node)
    if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)})
t = yaml.load(open(sys.argv[1]), Loader=L)
assert t["Transform"] == "AWS::Serverless-2016-10-31"
r = t["Resources"]
f = r["QwLambdaFunction"]["Properties"]
assert r["QwLambdaFunction"]["Type"] == "AWS::Serverless::Function"
assert r["QwLambdaRole"]["Type"] == "AWS::IAM::Role"
assert (f["Runtime"], f["Handler"], f["Architectures"]) == ("provided.al2023", "bootstrap", ["x86_64"])
assert f["FunctionUrlConfig"]["AuthType"] in ("NONE", "AWS_IAM")
assert f["Events"]["Search"]["Type"] == "HttpApi"
actions = sorted(s["Action"] for p in r["QwLambdaRole"]["Properties"]["Policies"]
                 for s in p["PolicyDocument"]["Statement"])
assert actions == ["s3:GetObject", "s3:ListBucket"], actions
# a postgresql:// metastore: its URI passed on, the VPC to reach it optional
env = f["Environment"]["Variables"]
assert env["QW_METASTORE_URI"] == {"If": ["HasMetastoreUri", {"Ref": "MetastoreUri"},
                                          {"Ref": "AWS::NoValue"}]}, env
assert f["VpcConfig"]["If"][0] == "InVpc" and set(f["VpcConfig"]["If"][1]) == \
    {"SubnetIds", "SecurityGroupIds"}
for c in ("InVpc", "HasMetastoreUri"):
    assert c in t["Conditions"], c
for p in ("MetastoreUri", "SubnetIds", "SecurityGroupIds"):
    assert p in t["Parameters"], p
# a remote metastore needs no data dir in the zip
assert env["QW_DATA_DIR"] == {"If": ["HasMetastoreUri", "/tmp", {"Ref": "DataDir"}]}, env
assert int(env["QW_METASTORE_RETRY_SECS"]) < t["Parameters"]["Timeout"]["Default"], env
PY
	# cfn-lint checks every resource type and property against
	# CloudFormation's and SAM's specifications, when it is installed
	if ! command -v cfn-lint >/dev/null; then
		skip "cfn-lint not installed: the template was only parsed"
	fi
	run cfn-lint "$tpl"
	echo "$output"
	[ "$status" -eq 0 ]
	# and it would see a misspelt property
	sed 's/MemorySize: !Ref MemorySize/MemorySise: !Ref MemorySize/' "$tpl" >"$T/bad.yaml"
	run cfn-lint "$T/bad.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *MemorySise* ]]
}

@test "make lambda's and make lambda-pg's zips each hold one static bootstrap at their root" {
	local n=0 zip
	for zip in "$QW_BUILDDIR/qw-lambda.zip" "$QW_BUILDDIR/qw-lambda-pg.zip"; do
		[ -f "$zip" ] || continue
		n=$((n + 1))
		[ "$(unzip -Z1 "$zip")" = bootstrap ]
		rm -rf "$T/z"
		unzip -q -d "$T/z" "$zip"
		[ -x "$T/z/bootstrap" ]
		readelf -h "$T/z/bootstrap" | grep -q 'Machine: *Advanced Micro Devices X86-64'
		# no interpreter, no needed library: nothing for Amazon Linux's glibc to resolve
		# (a negated pipeline never fails a bats test: hence the if)
		if readelf -d "$T/z/bootstrap" 2>/dev/null | grep -q NEEDED; then false; fi
		if readelf -l "$T/z/bootstrap" | grep -q INTERP; then false; fi
		run "$T/z/bootstrap" --version
		[[ "$output" == "qw-lambda (qw) "* ]]
	done
	[ "$n" -gt 0 ] || skip "neither zip built (make lambda lambda-pg)"
}

@test "s3:// over HTTPS: the certificate is checked against CURL_CA_BUNDLE, another CA is refused" {
	load s3-helpers
	require_s3rver
	command -v openssl >/dev/null || skip "no openssl command to make certificates with"
	tls_certs "$T/tls"
	S3_BUCKET=qw-tls S3RVER_DIR=$T/s3rver
	mkdir -p "$S3RVER_DIR"
	S3RVER_PORT=$(free_port)
	node "$S3RVER_BIN" -d "$S3RVER_DIR" -a 127.0.0.1 -p "$S3RVER_PORT" -s --configure-bucket "$S3_BUCKET" \
		--key "$T/tls/server.key" --cert "$T/tls/server.pem" >"$T/s3rver.log" 2>&1 3>&- &
	S3RVER_PID=$!
	for ((i = 0; i < 200; i++)); do
		curl -s -o /dev/null --cacert "$T/tls/ca.pem" "https://127.0.0.1:$S3RVER_PORT/" && break
		kill -0 "$S3RVER_PID" 2>/dev/null || { cat "$T/s3rver.log"; return 1; }
		sleep 0.1
	done
	[ "$i" -lt 200 ]
	# by name: the bootstrap's mbedTLS 2.28 matches a certificate's DNS names
	# only, not its IP addresses (S3's endpoints are names)
	export QW_S3_ENDPOINT=https://localhost:$S3RVER_PORT QW_S3_FORCE_PATH_STYLE_ACCESS=true
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
	export CURL_CA_BUNDLE=$T/tls/ca.pem
	make_index tls "s3://$S3_BUCKET/idx/tls/"
	event 01 '{"index_id":"tls","query":"w:word77","max_hits":1}'
	event 02 '{"index_id":"tls","query":"n:>200","max_hits":0}'
	start_emulator
	run --separate-stderr "$LAMBDA" --max-invocations 2
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.hits[].n]' "$T/out/req-01.response")" = "[77]" ]
	[ "$(jq .num_hits "$T/out/req-02.response")" = "$(awk -F'[:,]' '$2 > 200' "$T/docs.ndjson" | wc -l)" ]
	stop_emulator
	# a server whose certificate another CA signed: the search fails, loudly
	# (without the split cache, which would answer from what it kept)
	export QW_SPLIT_CACHE_DIR=
	CURL_CA_BUNDLE=$T/tls/other-ca.pem start_emulator
	CURL_CA_BUNDLE=$T/tls/other-ca.pem run --separate-stderr "$LAMBDA" --max-invocations 1
	echo "$stderr"
	[ ! -f "$T/out/req-01.response" ] || jq -e '.statusCode // 500 >= 500' "$T/out/req-01.response"
	[ -f "$T/out/req-01.response" ] || [ "$(cat "$T/out/req-01.error-type")" = SearchError ]
	! grep -q '"hits"' "$T/out/req-01".*
	grep -q -i 'certificate\|SSL\|TLS' "$T/out/req-01".*
}

@test "an s3:// metastore (QW_METASTORE_URI) with s3:// splits: a function with an empty data dir finds and searches the index" {
	load s3-helpers
	start_s3rver
	shared_metastore_search "s3://$S3_BUCKET/meta" "$LAMBDA"
	[ -n "$(s3rver_keys meta/lms/)" ]
	# a missing index names the s3:// metastore it was looked up in
	jq -e '.errorMessage | test("s3://")' "$T/out/req-03.error"
	# the function wrote nothing of the index to its own data dir
	[ -z "$(find "$T/lambda-data" -name metastore.json)" ]
}

# The bootstrap with libpq: qw-lambda-pg.zip's when $QW_LAMBDA_PG names it
# (CI), else the program under test.
LAMBDA_PG=${QW_LAMBDA_PG:-$LAMBDA}

# shared_metastore_search URI PROGRAM: index "lms" (s3:// splits, metastore
# URI; s3rver started) made by qw, then searched by PROGRAM as a function
# with an empty data dir; the answers are checked against awk over the
# documents.
shared_metastore_search() {
	QW_METASTORE_URI=$1 make_index lms "s3://$S3_BUCKET/idx/lms/"
	# nothing of the index on local disk: the metastore is the URI's
	[ -z "$(find "$QW_DATA_DIR" -name '*.split' -o -name metastore.json)" ]
	mkdir -p "$T/lambda-data"
	event 01 '{"index_id":"lms","query":"w:word123","max_hits":1}'
	event 02 '{"version":"2.0","rawPath":"/api/v1/lms/search","rawQueryString":"query=n:%3E=150&max_hits=0",
		"requestContext":{"http":{"method":"GET"}}}'
	event 03 '{"index_id":"nosuch","query":"*"}'
	event 04 '{"index_id":"lms","query":"*","max_hits":0}'
	start_emulator
	QW_METASTORE_URI=$1 QW_DATA_DIR=$T/lambda-data run --separate-stderr "$2" --max-invocations 4
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.hits[].n]' "$T/out/req-01.response")" = "[123]" ]
	[ "$(body 02 | jq .num_hits)" = "$(awk -F'[:,]' '$2 >= 150' "$T/docs.ndjson" | wc -l)" ]
	[ "$(cat "$T/out/req-03.error-type")" = SearchError ]
	jq -e '.errorMessage | test("nosuch")' "$T/out/req-03.error"
	[ "$(jq .num_hits "$T/out/req-04.response")" = "$(wc -l <"$T/docs.ndjson")" ]
}

@test "a postgresql:// metastore with s3:// splits: a function with an empty data dir finds and searches the index" {
	load pg-helpers
	load s3-helpers
	start_pg
	start_s3rver
	shared_metastore_search "$QW_TEST_PG_URI" "$LAMBDA_PG"
}

@test "a postgresql:// metastore over TLS: verify-full against the server's CA works, another CA is refused" {
	load pg-helpers
	load s3-helpers
	start_pg_tls
	start_s3rver
	shared_metastore_search "$QW_TEST_PG_TLS_URI" "$LAMBDA_PG"
	# the server takes no connection without TLS: the answers above came over it
	# (refused for good: 77, not retried)
	run -77 --separate-stderr env QW_METASTORE_RETRY_SECS=0 \
		QW_METASTORE_URI="postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
		qw index list
	[[ "$stderr" == *"no encryption"* ]]
	# a CA that did not sign the server's certificate: refused, said so
	stop_emulator
	rm -f "$T/events"/*
	event 05 '{"index_id":"lms","query":"*","max_hits":0}'
	start_emulator
	QW_METASTORE_RETRY_SECS=0 QW_METASTORE_URI="${QW_TEST_PG_TLS_URI%sslrootcert=*}sslrootcert=$PG_OTHER_CA" \
		QW_DATA_DIR=$T/lambda-data run --separate-stderr "$LAMBDA_PG" --max-invocations 1
	[ "$status" -eq 0 ]
	jq -e '.errorMessage | test("certificate verify failed")' "$T/out/req-05.error"
}

@test "qw-lambda.zip's bootstrap, without libpq, says which zip has it for a postgresql:// metastore" {
	[ -n "${QW_LAMBDA_PG:-}" ] && [ "$QW_LAMBDA_PG" != "$LAMBDA" ] ||
		skip "QW_LAMBDA and QW_LAMBDA_PG name one program (make lambda lambda-pg for both)"
	event 01 '{"index_id":"lpg","query":"*"}'
	start_emulator
	QW_METASTORE_URI="postgresql://postgres@127.0.0.1:1/postgres" run --separate-stderr "$LAMBDA" \
		--max-invocations 1
	[ "$status" -eq 0 ]
	jq -e '.errorMessage | test("qw-lambda-pg.zip")' "$T/out/req-01.error"
}
