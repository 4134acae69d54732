#!/usr/bin/env bats
# Delete tasks: qw delete-task create/list, searches hiding the documents
# published before a task, merges and the delete pass of qw-merge dropping
# them. Oracles: jq over the input lines (what a task deletes is written
# here as a jq filter, independently of qw's query engine) and the raw
# metastore file.
load helpers
load merge-helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
}

# make_index ID [merge policy YAML lines, indented 4]
make_index() {
	make_ts_index "$1" "      output_format: unix_timestamp_secs
    - name: msg
      type: text
    - name: level
      type: text
      tokenizer: raw
      fast: true
  timestamp_field: ts" "search_settings:
  default_search_fields: [msg]
indexing_settings:
  merge_policy:
${2:-$DEFAULT_MERGE_POLICY}"
}

# batch K N: N lines of batch K, timestamps 1700000000 + K*1000 + j.
batch() {
	awk -v k="$1" -v n="$2" 'BEGIN {
		for (j = 1; j <= n; j++)
			printf("{\"ts\":%d,\"msg\":\"batch%d line%d w%d\",\"level\":\"%s\",\"n\":%d}\n",
			       1700000000 + k * 1000 + j, k, j, j % 5, (j % 3) ? "INFO" : "ERROR", j)
	}'
}

# index_batch INDEX K N: one split of batch K (also appended to $T/all).
index_batch() {
	batch "$2" "$3" >"$T/b$2"
	cat "$T/b$2" >>"$T/all"
	qw-pipeline --index "$1" --once --no-merge --quiet "$T/b$2" >/dev/null 2>&1
}

dump_docs() {
	qw-search --index "$1" -f ndjson -n 1000000 '*' | jq -cS . | sort
}

# The jq conditions of the tasks the tests create.
DEL_ERROR='(.level == "ERROR")'
DEL_W3_BATCH2='((.msg | test(" w3$")) and .ts >= 1700002000 and .ts < 1700003000)'

@test "qw delete-task create and list: Quickwit's shapes, opstamps 1, 2; errors" {
	make_index dt1
	run -0 --separate-stderr qw delete-task create --index dt1 --query 'level:ERROR'
	jq -e '.opstamp == 1 and (.create_timestamp | type) == "number"
	       and .delete_query.query == "level:ERROR" and .delete_query.start_timestamp == null
	       and .delete_query.end_timestamp == null and .delete_query.search_fields == ["msg"]
	       and (.delete_query.index_uid | startswith("dt1:"))' <<<"$output"
	run -0 qw delete-task create --index dt1 --query w3 --start-timestamp 1700002000 \
		--end-timestamp 1700003000
	jq -e '.opstamp == 2 and .delete_query.start_timestamp == 1700002000
	       and .delete_query.end_timestamp == 1700003000' <<<"$output"
	run -0 qw --format json delete-task list --index dt1
	jq -e 'map(.opstamp) == [1, 2]' <<<"$output"
	jq -e '.last_delete_opstamp == 2 and (.delete_tasks | length) == 2' "$(meta dt1)"
	run -0 qw delete-task list --index dt1
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[2]} == 2*w3* ]]
	# errors: nothing is recorded
	run -64 --separate-stderr qw delete-task create --index dt1
	[[ $stderr == *"--query"* ]]
	run -64 qw delete-task create --query x
	run -64 qw delete-task create --index dt1 --query x --start-timestamp soon
	run -64 qw delete-task create --index dt1 --query x --start-timestamp 5 --end-timestamp 5
	run -66 qw delete-task create --index no-such --query x
	run -65 --separate-stderr qw delete-task create --index dt1 --query 'level:(('
	[[ $stderr == "qw: "* ]]
	run -66 qw delete-task list --index no-such
	jq -e '.last_delete_opstamp == 2 and (.delete_tasks | length) == 2' "$(meta dt1)"
	run -0 qw delete-task --help
	[[ $output == *"delete-task create"* ]]
	# times as qw-search takes them: a date is its midnight UTC, RFC 3339 as it says
	run -0 qw --format json delete-task create --index dt1 --query w3 --start-timestamp 2023-11-14 \
		--end-timestamp 2023-11-14T22:30:00+01:00
	jq -e --argjson s "$(date -u -d 2023-11-14 +%s)" --argjson e "$(date -u -d 2023-11-14T21:30:00Z +%s)" \
		'.delete_query.start_timestamp == $s and .delete_query.end_timestamp == $e' <<<"$output"
	run -64 --separate-stderr qw delete-task create --index dt1 --query x --start-timestamp 2026-13-01
	[[ $stderr == *"--start-timestamp '2026-13-01': expected unix seconds, a date (2026-03-27) or an RFC 3339 datetime"* ]]
}

@test "a search hides the documents a task matches at once: counts, hits, aggregations" {
	make_index dt2
	for k in 1 2 3; do index_batch dt2 "$k" 60; done
	[ "$(qw-search --index dt2 -f count '*')" -eq 180 ]
	qw delete-task create --index dt2 --query 'level:ERROR' >/dev/null
	qw delete-task create --index dt2 --query 'w3' --start-timestamp 1700002000 \
		--end-timestamp 1700003000 >/dev/null
	jq -c "select($DEL_ERROR)" "$T/all" >"$T/del1"
	jq -c "select($DEL_W3_BATCH2)" "$T/all" >"$T/del2"
	[ -s "$T/del1" ] && [ -s "$T/del2" ]
	jq -c "select(($DEL_ERROR | not) and ($DEL_W3_BATCH2 | not))" "$T/all" >"$T/kept"
	want=$(wc -l <"$T/kept")
	[ "$want" -lt 180 ]
	[ "$(qw-search --index dt2 -f count '*')" -eq "$want" ]
	[ "$(qw-search --index dt2 -f count 'level:ERROR')" -eq 0 ]
	[ "$(qw-search --index dt2 -f count 'batch2 AND w3')" -eq 0 ]
	[ "$(qw-search --index dt2 -f count 'batch1 AND w3')" -eq \
	  "$(jq -c 'select(.level != "ERROR" and (.msg | test("^batch1 .* w3$")))' "$T/all" | wc -l)" ]
	diff <(dump_docs dt2) <(jq -cS . "$T/kept" | sort)
	# aggregations count only what is left
	qw-search --index dt2 -n 0 --aggs '{"l":{"terms":{"field":"level"}}}' '*' |
		jq -c '[.aggregations.l.buckets[] | {key, doc_count}] | sort_by(.key)' >"$T/aggs"
	jq -s -c 'group_by(.level) | map({key: .[0].level, doc_count: length}) | sort_by(.key)' \
		"$T/kept" | diff - "$T/aggs"
	# documents published after the task are kept, even those it matches
	index_batch dt2 4 30
	[ "$(qw-search --index dt2 -f count 'level:ERROR')" -eq \
	  "$(jq -c "select($DEL_ERROR)" "$T/b4" | wc -l)" ]
	[ "$(qw-search --index dt2 -f count '*')" -eq $((want + 30)) ]
	jq -e '[.splits[] | .metadata.delete_opstamp] | sort == [0, 0, 0, 2]' "$(meta dt2)"
	# qw index describe: the tasks and the splits they still concern
	run -0 qw --format json index describe dt2
	jq -e '.merge.delete_tasks == {"num_delete_tasks": 2, "last_delete_opstamp": 2,
	                               "splits_with_pending_deletes": 3}' <<<"$output"
	run -0 qw index describe dt2
	[[ $output == *"Delete tasks:"*"2 (last opstamp 2), pending on 3 splits"* ]]
}

@test "a merge drops the deleted documents; documents indexed after the task stay" {
	make_index dt3
	for k in 1 2; do index_batch dt3 "$k" 50; done
	qw delete-task create --index dt3 --query 'level:ERROR' >/dev/null
	index_batch dt3 3 50
	# kept: batches 1 and 2 without ERROR, and all of batch 3
	{ jq -c "select($DEL_ERROR | not)" "$T/b1" "$T/b2"; cat "$T/b3"; } >"$T/kept"
	diff <(dump_docs dt3) <(jq -cS . "$T/kept" | sort)
	run -0 --separate-stderr qw-merge --index dt3 --once
	[ "${#lines[@]}" -eq 1 ]
	jq -e --argjson n "$(wc -l <"$T/kept")" \
		'[.splits[] | select(.split_state == "Published")] | length == 1 and
		 .[0].metadata.num_docs == $n and .[0].metadata.delete_opstamp == 1' "$(meta dt3)"
	diff <(dump_docs dt3) <(jq -cS . "$T/kept" | sort)
	run -0 qw --format json index describe dt3
	jq -e '.merge.delete_tasks.splits_with_pending_deletes == 0' <<<"$output"
	# a task after the merge still hides from the merged split
	qw delete-task create --index dt3 --query 'batch3' >/dev/null
	jq -c 'select(.msg | test("^batch3 ") | not)' "$T/kept" >"$T/kept2"
	diff <(dump_docs dt3) <(jq -cS . "$T/kept2" | sort)
}

@test "the delete pass rewrites splits no merge touches: dropped, emptied, or only stamped" {
	make_index dt4 '    type: no_merge'
	for k in 1 2 3; do index_batch dt4 "$k" 40; done
	qw delete-task create --index dt4 --query 'batch2' >/dev/null          # all of split 2
	qw delete-task create --index dt4 --query 'batch3 AND w1' >/dev/null   # some of split 3
	qw delete-task create --index dt4 --query 'nothingmatches' >/dev/null  # nothing
	jq -c 'select((.msg | test("^batch2 ")) or (.msg | test("^batch3 .* w1$")) | not)' \
		"$T/all" >"$T/kept"
	diff <(dump_docs dt4) <(jq -cS . "$T/kept" | sort)
	id1=$(jq -r '.splits | to_entries[] | select(.value.metadata.time_range.start < 1700002000) | .key' "$(meta dt4)")
	run -0 --separate-stderr qw-merge --index dt4 --once --verbose
	[[ $stderr == *"2 delete rewrites"* ]]
	# split 1 is kept as it was, stamped; split 2 is gone, split 3 rewritten
	jq -e --arg id "$id1" '.splits[$id].split_state == "Published" and
	       .splits[$id].metadata.delete_opstamp == 3' "$(meta dt4)"
	jq -e '[.splits[] | select(.split_state == "Published")] | length == 2 and
	       all(.metadata.delete_opstamp == 3 and .metadata.num_merge_ops == 0)' "$(meta dt4)"
	jq -e '[.splits[] | select(.split_state == "MarkedForDeletion")] | length == 2' "$(meta dt4)"
	jq -e --argjson n "$(wc -l <"$T/kept")" \
		'[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add == $n' \
		"$(meta dt4)"
	diff <(dump_docs dt4) <(jq -cS . "$T/kept" | sort)
	# nothing left to do
	run -0 --separate-stderr qw-merge --index dt4 --once --verbose
	[[ $stderr == *"0 delete rewrites"* ]]
}

@test "an immature split no merge takes waits: still hidden, not rewritten" {
	make_index dt6
	for k in 1 2; do index_batch dt6 "$k" 40; done
	qw delete-task create --index dt6 --query 'level:ERROR' >/dev/null
	jq -c "select($DEL_ERROR | not)" "$T/all" >"$T/kept"
	cp "$(meta dt6)" "$T/before.json"
	run -0 --separate-stderr qw-merge --index dt6 --once --verbose
	[[ $stderr == *"0 merges, 0 delete rewrites"* ]]
	diff <(jq -S .splits "$T/before.json") <(jq -S .splits "$(meta dt6)")
	diff <(dump_docs dt6) <(jq -cS . "$T/kept" | sort)
	# the third split makes a merge of 3: it drops them
	index_batch dt6 3 40
	{ jq -c "select($DEL_ERROR | not)" "$T/b1" "$T/b2"; cat "$T/b3"; } >"$T/kept"
	run -0 qw-merge --index dt6 --once
	jq -e --argjson n "$(wc -l <"$T/kept")" \
		'[.splits[] | select(.split_state == "Published")] | length == 1 and
		 .[0].metadata.num_docs == $n' "$(meta dt6)"
	diff <(dump_docs dt6) <(jq -cS . "$T/kept" | sort)
}

@test "a kill -9 during the delete pass loses nothing and deletes everything it must" {
	make_index dt5 '    type: no_merge'
	for k in 1 2; do index_batch dt5 "$k" 40; done
	qw delete-task create --index dt5 --query 'level:ERROR' >/dev/null
	jq -c "select($DEL_ERROR | not)" "$T/all" >"$T/kept"
	# held between writing the rewritten split and publishing it, then killed
	hold=$T/hold
	touch "$hold"
	QW_TEST_MERGE_HOLD=$hold qw-merge --index dt5 --once 3>&- >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 1000); do [ -e "$hold.waiting" ] && break; sleep 0.01; done
	[ -e "$hold.waiting" ] || skip "test knobs not built"
	kill -9 "$pid"
	wait "$pid" || true
	rm -f "$hold"
	diff <(dump_docs dt5) <(jq -cS . "$T/kept" | sort)
	jq -e '[.splits[] | select(.split_state == "Published")] | length == 2' "$(meta dt5)"
	run -0 qw-merge --index dt5 --once
	diff <(dump_docs dt5) <(jq -cS . "$T/kept" | sort)
	jq -e '[.splits[] | select(.split_state == "Published") | .metadata.delete_opstamp] == [1, 1]' \
		"$(meta dt5)"
}

@test "qw-serve: POST and GET /api/v1/ID/delete-tasks; its search hides the documents" {
	make_index dtrest
	for k in 1 2; do index_batch dtrest "$k" 30; done
	qw-serve --listen 127.0.0.1:0 --port-file "$T/port" 2>"$T/serve.log" 3>&- &
	spid=$!
	for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
	[ -s "$T/port" ] || { kill "$spid"; cat "$T/serve.log"; false; }
	url="http://127.0.0.1:$(cat "$T/port")/api/v1/dtrest"
	code=$(curl -s -o "$T/r1" -w '%{http_code}' -XPOST "$url/delete-tasks" \
		-H 'Content-Type: application/json' \
		-d '{"query": "w3", "search_field": ["msg"], "start_timestamp": 1700002000}')
	code2=$(curl -s -o "$T/r2" -w '%{http_code}' -XPOST "$url/delete-tasks" \
		-H 'Content-Type: application/json' -d '{"query": "nosuchfield:(("}')
	code3=$(curl -s -o "$T/r3" -w '%{http_code}' -XPOST "$url/delete-tasks" \
		-H 'Content-Type: application/json' -d '{"search_field": "msg"}')
	curl -s "$url/delete-tasks" >"$T/list"
	curl -s "$url/search?query=*&max_hits=0" >"$T/search"
	kill -TERM "$spid"
	wait "$spid" || true
	[ "$code" = 200 ] || { cat "$T/r1"; false; }
	jq -e '.opstamp == 1 and .delete_query.start_timestamp == 1700002000 and
	       .delete_query.end_timestamp == null and .delete_query.search_fields == ["msg"]' "$T/r1"
	[ "$code2" = 400 ] && [ "$code3" = 400 ]
	jq -e 'length == 1 and .[0].opstamp == 1' "$T/list"
	want=$(jq -c 'select((.msg | test(" w3$")) and .ts >= 1700002000 | not)' "$T/all" | wc -l)
	[ "$want" -lt 60 ]
	jq -e --argjson n "$want" '.num_hits == $n' "$T/search"
}
