#!/usr/bin/env bats
# qw-merge: the merge pipeline. Oracles: tests/merge-oracle.py (a model of
# the policies written from Quickwit's description) for split counts, jq
# over the input lines for documents and counts, the raw metastore file for
# states.
load helpers
load merge-helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
}

# make_index ID [merge policy YAML lines (indented 4)] [extra doc_mapping lines]
make_index() {
	make_ts_index "$1" "      output_format: rfc3339
    - name: msg
      type: text
      record: position
    - name: level
      type: text
      tokenizer: raw
      fast: true
${3:-}
  timestamp_field: ts
  tag_fields: [level]" "indexing_settings:
  merge_policy:
${2:-$DEFAULT_MERGE_POLICY}"
}

# append_batch FILE K N: N lines of batch K (RFC 3339 timestamps, so that
# qw-search prints them back as they were written).
append_batch() {
	awk -v k="$2" -v n="$3" 'BEGIN {
		split("INFO WARN ERROR", lv, " ")
		for (j = 1; j <= n; j++) {
			t = 1700000000 + k * 1000 + j
			printf("{\"ts\":\"%s\",\"msg\":\"batch%d line %d word%d\",\"level\":\"%s\",\"n\":%d}\n",
			       strftime("%Y-%m-%dT%H:%M:%SZ", t, 1), k, j, j % 7, lv[(j % 3) + 1], j)
		}
	}' >>"$1"
}

# cron_runs INDEX FILE RUNS N: RUNS cron-style qw-pipeline --once runs on a
# growing file, N new lines each.
cron_runs() {
	local k
	for k in $(seq 1 "$3"); do
		append_batch "$2" "$k" "$4"
		qw-pipeline --index "$1" --once --no-merge --quiet "$2" >/dev/null 2>&1
	done
}

published_docs_sorted() {
	jq -r '.splits[] | select(.split_state == "Published") | .metadata.num_docs' "$(meta "$1")" | sort -n
}

published_count() {
	jq '[.splits[] | select(.split_state == "Published")] | length' "$(meta "$1")"
}

# Every document qw-search returns, normalized and sorted (the multiset).
dump_docs() {
	qw-search --index "$1" -f ndjson -n 1000000 '*' | jq -cS . | sort
}

@test "qw-merge --help and --version; --index is required; an unknown index is 66" {
	run -0 qw-merge --help
	[[ $output == *"--once"* ]]
	run -0 qw-merge --version
	[[ $output == "qw-merge (qw) "* ]]
	run -64 --separate-stderr qw-merge --once
	[[ $stderr == *"--index is required"* ]]
	run -64 qw-merge --index abc extra
	run -66 --separate-stderr qw-merge --index no-such --once
	[[ $stderr == "qw-merge: "*"no-such"* ]]
}

@test "usage matches the man page synopsis and the completion" {
	for opt in $(qw-merge --help | grep -o -- '--[a-z-]*' | sort -u); do
		grep -q -- "Fl \\\\${opt#-}" "$QW_SRCDIR/man/qw-merge.1" || { echo "man: $opt"; false; }
		grep -q -- "$opt" "$QW_SRCDIR/completions/qw-merge" || { echo "completion: $opt"; false; }
	done
}

@test "cron runs then qw-merge --once: split counts as the policy says, every document once" {
	make_index cron
	cron_runs cron "$T/in.ndjson" 12 25
	[ "$(published_count cron)" -eq 12 ]
	expected=$(python3 "$QW_SRCDIR/tests/merge-oracle.py" <"$(meta cron)")
	before=$(dump_docs cron)
	# the input itself, as jq sees it
	diff <(echo "$before") <(jq -cS . "$T/in.ndjson" | sort)

	run -0 --separate-stderr qw-merge --index cron --once
	[ -n "$output" ]
	diff <(published_docs_sorted cron) <(echo "$expected")
	# exactly once: the multiset of documents is the input's
	diff <(dump_docs cron) <(jq -cS . "$T/in.ndjson" | sort)
	# sources are marked, the merged splits record their merges
	jq -e '[.splits[] | select(.split_state == "Published") | .metadata.num_merge_ops] | max >= 1' "$(meta cron)"
	jq -e '[.splits[] | select(.split_state == "MarkedForDeletion")] | length >= 5' "$(meta cron)"
	# a second run has nothing to do
	run -0 qw-merge --index cron --once
	[ -z "$output" ]
}

@test "queries answer the same before and after a merge (counts from jq)" {
	make_index queries
	cron_runs queries "$T/in.ndjson" 6 30
	declare -A q=(
		['msg:batch3']='select(.msg | test("batch3 "))'
		['msg:word2']='select(.msg | test("word2$"))'
		['level:ERROR']='select(.level == "ERROR")'
		['msg:"line 7"']='select(.msg | test(" line 7 "))'
		['n:[5 TO 9]']='select(.n >= 5 and .n <= 9)'
		['level:WARN AND msg:batch2']='select(.level == "WARN" and (.msg | test("batch2 ")))'
	)
	for query in "${!q[@]}"; do
		want=$(jq -c "${q[$query]}" "$T/in.ndjson" | wc -l)
		[ "$(qw-search --index queries -f count "$query")" -eq "$want" ] || { echo "before: $query"; false; }
		qw-search --index queries -f ndjson -n 100000 "$query" | jq -cS . | sort >"$T/before.$want"
	done
	run -0 qw-merge --index queries --once
	[ "$(published_count queries)" -lt 6 ]
	for query in "${!q[@]}"; do
		want=$(jq -c "${q[$query]}" "$T/in.ndjson" | wc -l)
		[ "$(qw-search --index queries -f count "$query")" -eq "$want" ] || { echo "after: $query"; false; }
		diff <(qw-search --index queries -f ndjson -n 100000 "$query" | jq -cS . | sort) \
			<(jq -c "${q[$query]}" "$T/in.ndjson" | jq -cS . | sort)
	done
	# time range pruning still right on merged splits
	want=$(jq -c 'select(.ts >= "2023-11-14T23:03:20Z" and .ts < "2023-11-14T23:20:00Z")' "$T/in.ndjson" | wc -l)
	[ "$(qw-search --index queries -f count --start-timestamp 2023-11-14T23:03:20Z \
		--end-timestamp 2023-11-14T23:20:00Z '*')" -eq "$want" ]
}

@test "the merged split's metadata: union of time ranges, tags, merge ops, sources" {
	make_index metadata
	cron_runs metadata "$T/in.ndjson" 3 10
	jq -c '[.splits[] | .metadata] | {start: (map(.time_range.start) | min),
		end: (map(.time_range.end) | max), tags: (map(.tags) | add | unique),
		ids: (map(.split_id) | sort)}' "$(meta metadata)" >"$T/want"
	run -0 qw-merge --index metadata --once
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	jq -c '[.splits[] | select(.split_state == "Published") | .metadata][0] |
		{start: .time_range.start, end: .time_range.end, tags: .tags, ids: .merged_from}' \
		"$(meta metadata)" >"$T/got"
	diff "$T/got" "$T/want"
	jq -e '[.splits[] | select(.split_state == "Published")][0].metadata |
		.num_merge_ops == 1 and .num_docs == 30' "$(meta metadata)"
}

@test "qw-merge --dry-run plans and changes nothing" {
	make_index dry
	cron_runs dry "$T/in.ndjson" 4 5
	cp "$(meta dry)" "$T/before.json"
	run -0 qw-merge --index dry --once --dry-run
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[[ $output == "- 20 "* ]]
	cmp "$T/before.json" "$(meta dry)"
}

@test "no_merge never merges; const_write_amplification stops at max_merge_ops" {
	make_index nomerge "    type: no_merge"
	cron_runs nomerge "$T/in.ndjson" 4 5
	run -0 qw-merge --index nomerge --once
	[ -z "$output" ]
	[ "$(published_count nomerge)" -eq 4 ]

	make_index cwa "    type: limit_merge
    merge_factor: 2
    max_merge_factor: 2
    max_merge_ops: 2"
	cron_runs cwa "$T/in2.ndjson" 9 4
	expected=$(python3 "$QW_SRCDIR/tests/merge-oracle.py" <"$(meta cwa)")
	run -0 qw-merge --index cwa --once
	diff <(published_docs_sorted cwa) <(echo "$expected")
	# nothing merged more than max_merge_ops times
	jq -e '[.splits[] | .metadata.num_merge_ops] | max == 2' "$(meta cwa)"
	diff <(dump_docs cwa) <(jq -cS . "$T/in2.ndjson" | sort)
}

@test "a split past maturation_period is never merged" {
	make_index mature "    type: stable_log
    merge_factor: 2
    max_merge_factor: 10
    maturation_period: 1s"
	cron_runs mature "$T/in.ndjson" 3 5
	# let every split pass its maturation period: poll the clock, bounded
	for _ in $(seq 100); do
		oldest=$(jq '[.splits[].metadata.create_timestamp] | max' "$(meta mature)")
		[ "$(date +%s)" -ge $((oldest + 1)) ] && break
		sleep 0.05
	done
	run -0 qw-merge --index mature --once
	[ -z "$output" ]
	[ "$(published_count mature)" -eq 3 ]
}

@test "an index with a field not stored merges: its postings are merged, not rebuilt from the doc store" {
	make_index unstored "" "    - name: secret
      type: text
      stored: false"
	cron_runs unstored "$T/in.ndjson" 4 5
	want=$(qw-search --index unstored -f count 'msg:word3')
	run -0 --separate-stderr qw-merge --index unstored --once
	[ "$(published_count unstored)" -eq 1 ]
	[ "$(qw-search --index unstored -f count 'msg:word3')" -eq "$want" ]
	diff <(dump_docs unstored) <(jq -cS . "$T/in.ndjson" | sort)
}

@test "qw gc removes merged sources after the grace period; searches still count right" {
	make_index gcm
	cron_runs gcm "$T/in.ndjson" 5 10
	run -0 qw-merge --index gcm --once
	marked=$(jq -r '.splits | to_entries[] | select(.value.split_state == "MarkedForDeletion") | .key' "$(meta gcm)" | sort)
	[ -n "$marked" ]
	# within the grace period the files stay (a search planned before the
	# merge can still read them)
	run -0 qw gc --index gcm
	for id in $marked; do [ -f "$QW_DATA_DIR/indexes/gcm/splits/$id.split" ]; done
	run -0 qw gc --index gcm --deletion-grace-period 0
	diff <(echo "$output" | awk '$2 == "marked_expired" {print $1}' | sort) <(echo "$marked")
	diff <(ls "$QW_DATA_DIR/indexes/gcm/splits" | sed 's/\.split$//' | sort) \
		<(jq -r '.splits | keys[]' "$(meta gcm)" | sort)
	[ "$(qw-search --index gcm -f count '*')" -eq 50 ]
}

# QW_MERGE_KILLS sets the number of kills (make chaos: 200).
@test "kill -9 of qw-merge at 20 random moments (seed 56): nothing lost, nothing twice" {
	make_index chaos "    type: stable_log
    merge_factor: 2
    max_merge_factor: 3"
	cron_runs chaos "$T/in.ndjson" 12 60
	total=$(wc -l <"$T/in.ndjson")
	cp -a "$QW_DATA_DIR" "$T/template"
	RANDOM=56
	killed=0
	for i in $(seq 1 "${QW_MERGE_KILLS:-20}"); do
		rm -rf "$QW_DATA_DIR"
		cp -a "$T/template" "$QW_DATA_DIR"
		qw-merge --index chaos --once >/dev/null 2>&1 &
		pid=$!
		# a random moment within the first 0.1 s (a whole run takes a
		# little longer; the count of real kills is checked below)
		sleep "0.$(printf '%03d' $((RANDOM % 100)))"
		kill -9 "$pid" 2>/dev/null || true
		st=0
		wait "$pid" 2>/dev/null || st=$?
		[ "$st" -ne 137 ] || killed=$((killed + 1))
		# at every moment: the published splits hold every document once
		[ "$(jq '[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add' \
			"$(meta chaos)")" -eq "$total" ] || { echo "kill $i: published docs"; false; }
		[ "$(qw-search --index chaos -f count '*')" -eq "$total" ] || { echo "kill $i: count"; false; }
		# gc removes the leftovers, a rerun finishes
		qw gc --index chaos --deletion-grace-period 0 >/dev/null
		qw-merge --index chaos --once >/dev/null
		diff <(dump_docs chaos) <(jq -cS . "$T/in.ndjson" | sort) || { echo "kill $i: docs"; false; }
		qw gc --index chaos --deletion-grace-period 0 >/dev/null
		diff <(ls "$QW_DATA_DIR/indexes/chaos/splits" | sed 's/\.split$//' | sort) \
			<(jq -r '.splits | keys[]' "$(meta chaos)" | sort) || { echo "kill $i: files"; false; }
		[ -z "$(ls "$QW_DATA_DIR/scratch" 2>/dev/null)" ] || { echo "kill $i: scratch"; false; }
	done
	echo "# $killed runs killed while merging" >&3
	[ "$killed" -ge $(("${QW_MERGE_KILLS:-20}" / 2)) ]
}

@test "searches in a loop during merges and gc never fail nor miscount" {
	make_index busy "    type: stable_log
    merge_factor: 2
    max_merge_factor: 2"
	cron_runs busy "$T/in.ndjson" 8 30
	total=$(wc -l <"$T/in.ndjson")
	(
		qw-merge --index busy --once >/dev/null 2>&1
		qw gc --index busy --deletion-grace-period 0 >/dev/null 2>&1
		touch "$T/done"
	) &
	bg=$!
	n=0
	while [ ! -f "$T/done" ] || [ "$n" -lt 3 ]; do
		got=$(qw-search --index busy -f count '*') || [ $? -eq 1 ]
		[ "$got" -eq "$total" ] || { echo "search $n: $got != $total"; false; }
		n=$((n + 1))
		[ "$n" -lt 2000 ]
	done
	wait "$bg"
}

@test "qw gc applies retention: splits older than the period are marked, then removed; recent ones stay" {
	make_ts_index ret "  timestamp_field: ts" "retention:
  period: 30 days
  schedule: daily"
	now=$(date +%s)
	# old batches (60 and 40 days ago), one at the edge (29 days), recent ones
	for age in 5184000 3456000 2505600 3600 60; do
		awk -v t=$((now - age)) 'BEGIN { for (j = 0; j < 10; j++)
			printf("{\"ts\":%d,\"age\":%d}\n", t + j, '"$age"') }' >>"$T/in.ndjson"
		qw-pipeline --index ret --once --no-merge --quiet "$T/in.ndjson" >/dev/null 2>&1
	done
	cutoff=$((now - 30 * 86400))
	want_marked=$(jq -r --argjson c "$cutoff" '.splits | to_entries[] |
		select(.value.metadata.time_range.end < $c) | .key' "$(meta ret)" | sort)
	[ "$(echo "$want_marked" | wc -l)" -eq 2 ]
	run -0 qw gc --index ret --dry-run
	diff <(echo "$output" | awk '$2 == "retention" {print $1}' | sort) <(echo "$want_marked")
	[ "$(published_count ret)" -eq 5 ]
	run -0 qw gc --index ret
	diff <(echo "$output" | awk '$2 == "retention" {print $1}' | sort) <(echo "$want_marked")
	diff <(jq -r '.splits | to_entries[] | select(.value.split_state == "MarkedForDeletion") | .key' \
		"$(meta ret)" | sort) <(echo "$want_marked")
	want=$(jq -c --argjson c "$cutoff" 'select(.ts >= $c)' "$T/in.ndjson" | wc -l)
	[ "$(qw-search --index ret -f count '*')" -eq "$want" ]
	run -0 qw gc --index ret --deletion-grace-period 0
	for id in $want_marked; do
		[ ! -e "$QW_DATA_DIR/indexes/ret/splits/$id.split" ]
		[[ $output == *"$id marked_expired"* ]]
	done
	[ "$(qw-search --index ret -f count '*')" -eq "$want" ]
}

@test "qw split mark-for-deletion: marked splits are not searched nor merged; a merge whose source was marked meanwhile is refused" {
	make_index marks
	cron_runs marks "$T/in.ndjson" 4 10
	ids=($(jq -r '.splits | keys[]' "$(meta marks)" | sort))
	run -64 qw split mark-for-deletion --index marks not-a-ulid
	run -66 qw split mark-for-deletion --index marks 01ARZ3NDEKTSV4RRFFQ69G5FAV
	[ "$(published_count marks)" -eq 4 ]
	# hold the merge of the four between its write and its publish
	touch "$T/hold"
	QW_TEST_MERGE_HOLD="$T/hold" qw-merge --index marks --once >"$T/merge.out" 2>"$T/merge.err" &
	pid=$!
	for _ in $(seq 1000); do [ -e "$T/hold.waiting" ] && break; sleep 0.01; done
	[ -e "$T/hold.waiting" ]
	run -0 qw split mark-for-deletion --index marks "${ids[0]}"
	[ "$output" = "${ids[0]} MarkedForDeletion" ]
	rm "$T/hold"
	wait "$pid"
	grep -q "merge publish refused: split '${ids[0]}' is MarkedForDeletion" "$T/merge.err" || \
		{ cat "$T/merge.err"; false; }
	# the replanned merge took the three others, the marked one stays out
	[ "$(published_count marks)" -eq 1 ]
	[ "$(jq -r '.splits[] | select(.split_state == "Published") | .metadata.merged_from | join(" ")' \
		"$(meta marks)")" = "${ids[1]} ${ids[2]} ${ids[3]}" ]
	# no file but the records' (the refused merge's file is gone)
	diff <(ls "$QW_DATA_DIR/indexes/marks/splits" | sed 's/\.split$//' | sort) \
		<(jq -r '.splits | keys[]' "$(meta marks)" | sort)
	# searches no longer read the marked split: its 10 documents (batch 1) are gone
	diff <(dump_docs marks) <(jq -cS 'select(.msg | test("^batch1 ") | not)' "$T/in.ndjson" | sort)
}

@test "qw index describe shows the merge state (counts from the metastore file)" {
	make_index desc
	cron_runs desc "$T/in.ndjson" 4 5
	qw-merge --index desc --once >/dev/null
	cron_runs desc "$T/in.ndjson" 1 5
	run -0 qw --format json index describe desc
	want=$(jq -c '[.splits[] | select(.split_state == "Published") | .metadata.num_merge_ops | tostring]
		| group_by(.) | map({(.[0]): length}) | add' -S "$(meta desc)")
	[ "$(echo "$output" | jq -cS .merge.splits_by_merge_ops)" = "$want" ]
	[ "$(echo "$output" | jq -r .merge.policy)" = stable_log ]
	[ "$(echo "$output" | jq '.merge.mature_splits + .merge.immature_splits')" -eq "$(published_count desc)" ]
	run -0 qw index describe desc
	[[ $output == *"Merge policy:"*"stable_log"* ]]
}

@test "qw-merge without --once picks up new splits as they come, and ends on SIGTERM" {
	make_index live
	cron_runs live "$T/in.ndjson" 2 5
	qw-merge --index live --interval 1 >"$T/merge.out" 2>"$T/merge.err" &
	pid=$!
	cron_runs live "$T/in.ndjson" 1 5
	# 3 splits: the policy merges them; poll the metastore, bounded
	for _ in $(seq 200); do
		[ "$(published_count live)" -eq 1 ] && break
		sleep 0.05
	done
	[ "$(published_count live)" -eq 1 ]
	cron_runs live "$T/in.ndjson" 2 5
	for _ in $(seq 200); do
		[ "$(jq '[.splits[] | select(.split_state == "Published")] | length' "$(meta live)")" -eq 1 ] &&
			[ "$(published_docs_sorted live)" -eq 25 ] && break
		sleep 0.05
	done
	[ "$(published_docs_sorted live)" -eq 25 ]
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/merge.err"; false; }
	[ "$(wc -l <"$T/merge.out")" -eq 2 ]
	diff <(dump_docs live) <(jq -cS . "$T/in.ndjson" | sort)
}

@test "qw-search --max-hits all streams one snapshot: a merge between two pages neither repeats nor drops a hit" {
	make_index snap "    type: stable_log
    merge_factor: 2
    max_merge_factor: 2"
	# two splits of 15 documents of 16 kB each: a page of 10 hits is more
	# than a pipe holds, so qw-search is still in its first page while the
	# merge runs
	for k in 1 2; do
		awk -v k="$k" 'BEGIN {
			pad = "x"; while (length(pad) < 16000) pad = pad pad
			for (j = 1; j <= 15; j++)
				print "{\"ts\":\"2024-01-01T00:00:" (j < 10 ? "0" : "") j "Z\",\"msg\":\"m\",\"level\":\"INFO\",\"n\":" \
				      ((k - 1) * 15 + j) ",\"pad\":\"" pad "\"}"
		}' >>"$T/in.ndjson"
		qw-pipeline --index snap --once --no-merge --quiet "$T/in.ndjson" >/dev/null 2>&1
	done
	[ "$(published_count snap)" -eq 2 ]
	mkfifo "$T/hits"
	# _doc order (split id, then doc): the merged split's new id sorts after
	# both sources, so a second page over it would repeat every hit
	QW_SEARCH_PAGE_HITS=10 qw-search --index snap --sort-by _doc --max-hits all --format ndjson '*' \
		>"$T/hits" 2>"$T/search.err" 3>&- &
	pid=$!
	exec 4<"$T/hits"
	IFS= read -r first <&4
	run -0 qw-merge --index snap --once
	[ "$(published_count snap)" -eq 1 ]
	{ printf '%s\n' "$first"; cat <&4; } | jq -r .n >"$T/got"
	exec 4<&-
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/search.err"; false; }
	# every document exactly once, in indexing order (the first split's, then the second's)
	diff "$T/got" <(seq 30)
}
