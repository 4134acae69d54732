#!/usr/bin/env bats
# qw-index: commit triggers, partitions, checkpoint delta, bad input.
load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	S=$T/scratch
}

# write_cfg FILE [split_num_docs_target] [commit_timeout_secs] [extra doc_mapping lines] [heap]
write_cfg() {
	ts_config "$1" test-idx "$TENANT_FIELDS
${4:-}" "indexing_settings:
  commit_timeout_secs: ${3:-60}
  split_num_docs_target: ${2:-10000000}
  resources:
    heap_size: ${5:-100MB}"
}

# gen_docs N [number of tenants] [first]: valid documents, one per line
gen_docs() {
	awk -v n="$1" -v k="${2:-3}" -v f="${3:-0}" 'BEGIN {
		for (i = f; i < f + n; i++)
			printf "{\"ts\":%d,\"tenant\":\"t%d\",\"msg\":\"hello world number %d\"}\n", 1600000000 + i, i % k, i
	}'
}

# The control records of a file, without the record separator.
records() {
	tr -d '\036' <"$1" | grep '^{'
}

# split_records FILE: one compact split record per line
split_records() {
	records "$1" | jq -c 'select(.type == "split")'
}

# wait_for FILE JQ_CONDITION: poll (bounded) until a record satisfies it
wait_for() {
	local i
	for i in $(seq 1 400); do
		if records "$1" 2>/dev/null | jq -s -e "any(.[]; $2)" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	echo "timed out waiting for $2 in $1:" >&2
	cat "$1" >&2
	return 1
}

# start_indexer ARGS...: qw-index reading the fifo $T/in, writing $T/out
start_indexer() {
	mkfifo "$T/in"
	qw-index "$@" <"$T/in" >"$T/out" 2>"$T/err" 3>&- &
	IX_PID=$!
	exec 4>"$T/in"
}

stop_indexer() {
	exec 4>&-
	wait "$IX_PID"
}

@test "qw-index --help, --version and a usage error" {
	run --separate-stderr qw-index --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: qw-index"* ]]
	run --separate-stderr qw-index --version
	[ "$status" -eq 0 ]
	[[ "$output" == "qw-index (qw) "* ]]
	run --separate-stderr qw-index
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"--index"* ]]
	run --separate-stderr qw-index --index-config x --drain-ms nope
	[ "$status" -eq 64 ]
}

@test "qw-index fails with 66 on a missing config file and 65 on a bad one" {
	run --separate-stderr qw-index --index-config "$T/none.yaml"
	[ "$status" -eq 66 ]
	[[ "$stderr" == "qw-index: "* ]]
	printf 'version: 0.8\nindex_id: x1x\ndoc_mapping: {mode: nope}\n' >"$T/bad.yaml"
	run --separate-stderr qw-index --index-config "$T/bad.yaml"
	[ "$status" -eq 65 ]
}

@test "qw-index cuts at end of input with trigger no_more_docs and every valid doc" {
	write_cfg "$T/cfg.yaml"
	gen_docs 57 >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" >"$T/out"
	split_records "$T/out" >"$T/splits"
	[ "$(wc -l <"$T/splits")" -eq 1 ]
	[ "$(jq -r .trigger "$T/splits")" = no_more_docs ]
	[ "$(jq .num_docs "$T/splits")" -eq "$(wc -l <"$T/docs")" ]
	[ "$(jq '[.splits[].num_docs] | add' "$T/splits")" -eq 57 ]
	[ "$(jq -r .index "$T/splits")" = test-idx ]
	# the time range is the min and max of ts, in microseconds
	[ "$(jq '.splits[0].time_range.start' "$T/splits")" -eq "$(jq -s 'map(.ts) | min * 1000000' "$T/docs")" ]
	[ "$(jq '.splits[0].time_range.end' "$T/splits")" -eq "$(jq -s 'map(.ts) | max * 1000000' "$T/docs")" ]
	# the serialized split is in its own directory under the scratch dir
	dir=$(jq -r '.splits[0].dir' "$T/splits")
	[[ "$dir" == "$S/seg-"* ]]
	[ -f "$dir/segment.json" ]
}

@test "qw-index passes eof through after the last split record, then exits" {
	write_cfg "$T/cfg.yaml"
	{ gen_docs 5; printf '\036{"type":"eof","docs_read":5}\n'; gen_docs 3 3 100; } >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" >"$T/out"
	records "$T/out" | jq -r .type >"$T/types"
	[ "$(cat "$T/types" | tr '\n' ' ')" = "split eof " ]
	# the documents after eof are not read
	[ "$(split_records "$T/out" | jq .num_docs)" -eq 5 ]
	[ "$(records "$T/out" | jq -r 'select(.type == "eof") | .docs_read')" -eq 5 ]
}

@test "qw-index cuts every split_num_docs_target documents (trigger num_docs)" {
	write_cfg "$T/cfg.yaml" 10
	gen_docs 35 >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" >"$T/out"
	split_records "$T/out" >"$T/splits"
	[ "$(jq -r .trigger "$T/splits" | tr '\n' ' ')" = "num_docs num_docs num_docs no_more_docs " ]
	[ "$(jq .num_docs "$T/splits" | tr '\n' ' ')" = "10 10 10 5 " ]
	[ "$(jq -s 'map(.num_docs) | add' "$T/splits")" -eq "$(wc -l <"$T/docs")" ]
}

@test "qw-index cuts when the segments reach heap_size (trigger memory)" {
	write_cfg "$T/cfg.yaml" 10000000 60 "" 1MB
	# many distinct terms so that the in-memory index grows
	awk 'BEGIN { srand(7); for (i = 0; i < 1500; i++) {
		printf "{\"ts\":%d,\"tenant\":\"t%d\",\"msg\":\"", 1600000000 + i, i
		for (j = 0; j < 12; j++) printf "w%x ", int(rand() * 1000000000)
		printf "\"}\n" } }' >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" >"$T/out"
	split_records "$T/out" >"$T/splits"
	[ "$(jq -r 'select(.trigger == "memory") | .trigger' "$T/splits" | wc -l)" -ge 1 ]
	[ "$(jq -s 'map(.num_docs) | add' "$T/splits")" -eq 1500 ]
}

@test "qw-index cuts commit_timeout_secs after the first doc (trigger timeout, scaled clock)" {
	write_cfg "$T/cfg.yaml" 10000000 30
	# 30 s at 1000x is 30 ms of real time
	QW_TIME_SCALE=1000 start_indexer --index-config "$T/cfg.yaml" --scratch-dir "$S" --drain-ms 0
	gen_docs 4 >&4
	wait_for "$T/out" '.type == "split" and .trigger == "timeout"'
	stop_indexer
	split_records "$T/out" >"$T/splits"
	[ "$(head -1 "$T/splits" | jq .num_docs)" -eq 4 ]
	# nothing left for end of input: no second record
	[ "$(wc -l <"$T/splits")" -eq 1 ]
}

@test "qw-index cuts on a commit record (trigger force) and drops the record" {
	write_cfg "$T/cfg.yaml"
	{ gen_docs 6; printf '\036{"type":"commit"}\n'; gen_docs 4 3 10; } >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" >"$T/out"
	split_records "$T/out" >"$T/splits"
	[ "$(jq -r .trigger "$T/splits" | tr '\n' ' ')" = "force no_more_docs " ]
	[ "$(jq .num_docs "$T/splits" | tr '\n' ' ')" = "6 4 " ]
	[ "$(records "$T/out" | jq -r 'select(.type == "commit")' | wc -l)" -eq 0 ]
}

@test "qw-index cuts on SIGUSR1 (trigger force)" {
	write_cfg "$T/cfg.yaml"
	start_indexer --index-config "$T/cfg.yaml" --scratch-dir "$S" --drain-ms 0
	gen_docs 7 >&4
	# an unknown record comes back once the documents before it are indexed
	printf '\036{"type":"ping"}\n' >&4
	wait_for "$T/out" '.type == "ping"'
	kill -USR1 "$IX_PID"
	wait_for "$T/out" '.type == "split" and .trigger == "force"'
	stop_indexer
	[ "$(split_records "$T/out" | jq .num_docs)" -eq 7 ]
}

@test "qw-index cuts when input is idle with documents waiting (trigger drained)" {
	write_cfg "$T/cfg.yaml"
	start_indexer --index-config "$T/cfg.yaml" --scratch-dir "$S" --drain-ms 100
	gen_docs 9 >&4
	wait_for "$T/out" '.type == "split" and .trigger == "drained"'
	gen_docs 2 3 50 >&4
	stop_indexer
	split_records "$T/out" >"$T/splits"
	[ "$(jq .num_docs "$T/splits" | head -1)" -eq 9 ]
	[ "$(jq -s 'map(.num_docs) | add' "$T/splits")" -eq 11 ]
}

@test "qw-index routes partitions beyond max_num_partitions to the overflow partition" {
	write_cfg "$T/cfg.yaml" 10000000 60 '  partition_key: tenant
  max_num_partitions: 3'
	gen_docs 100 7 >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" >"$T/out"
	split_records "$T/out" >"$T/splits"
	[ "$(jq '.splits | length' "$T/splits")" -eq 4 ]
	# the first 3 tenants seen (t0 t1 t2) have their own split; t3..t6 share the other one
	other=$(jq '.splits[] | select(.partition_id == 3264326757911759461) | .num_docs' "$T/splits")
	[ "$other" -eq "$(jq -s 'map(select(.tenant != "t0" and .tenant != "t1" and .tenant != "t2")) | length' "$T/docs")" ]
	[ "$(jq '[.splits[].partition_id] | unique | length' "$T/splits")" -eq 4 ]
	[ "$(jq '[.splits[].num_docs] | add' "$T/splits")" -eq 100 ]
}

@test "qw-index with hash_mod(tenant, 2) makes at most 2 partitions" {
	write_cfg "$T/cfg.yaml" 10000000 60 '  partition_key: hash_mod(tenant, 2)'
	gen_docs 60 20 >"$T/docs"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/docs" >"$T/out"
	split_records "$T/out" >"$T/splits"
	[ "$(jq '.splits | length' "$T/splits")" -le 2 ]
	[ "$(jq '[.splits[].num_docs] | add' "$T/splits")" -eq 60 ]
}

@test "qw-index carries the checkpoint delta exactly across cuts" {
	write_cfg "$T/cfg.yaml" 7
	# two source partitions, positions advance by the line lengths
	awk 'BEGIN { pa = 0; pb = 0;
		for (i = 0; i < 40; i++) {
			line = sprintf("{\"ts\":%d,\"msg\":\"m%d\"}", 1600000000 + i, i)
			print line
			if (i % 2) { printf "\036{\"type\":\"checkpoint\",\"source\":\"s1\",\"partition\":\"/a\",\"from\":%d,\"to\":%d}\n", pa, pa + length(line) + 1; pa += length(line) + 1 }
			else { printf "\036{\"type\":\"checkpoint\",\"source\":\"s1\",\"partition\":\"/b\",\"from\":%d,\"to\":%d}\n", pb, pb + length(line) + 1; pb += length(line) + 1 }
		} }' >"$T/in"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/in" >"$T/out"
	split_records "$T/out" >"$T/splits"
	# oracle: the checkpoint records fed
	records "$T/in" | jq -s 'map(select(.type == "checkpoint")) | group_by(.partition) | map({key: .[0].partition, value: (map(.to - .from) | add)}) | from_entries' >"$T/want"
	jq -s 'map(.checkpoint_delta | to_entries[]) | group_by(.key) | map({key: .[0].key, value: (map(.value.to - .value.from) | add)}) | from_entries' "$T/splits" >"$T/got"
	diff "$T/want" "$T/got"
	# contiguous: each delta of a partition starts where the previous one ended
	jq -s -e '[.[].checkpoint_delta["/a"] | select(.)] | . as $d | all(range(1; length); $d[.].from == $d[. - 1].to)' "$T/splits"
	[ "$(jq -r .source "$T/splits" | sort -u)" = s1 ]
	[ "$(jq -s 'map(.num_docs) | add' "$T/splits")" -eq 40 ]
}

@test "qw-index refuses a checkpoint that jumps over positions (exit 65)" {
	write_cfg "$T/cfg.yaml"
	{ gen_docs 2
	  printf '\036{"type":"checkpoint","source":"s","partition":"/a","from":0,"to":10}\n'
	  printf '\036{"type":"checkpoint","source":"s","partition":"/a","from":20,"to":30}\n'; } >"$T/in"
	run --separate-stderr qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/in"
	[ "$status" -eq 65 ]
	[[ "$stderr" == "qw-index: "*"/a"* ]]
}

@test "qw-index counts invalid lines and goes on" {
	write_cfg "$T/cfg.yaml"
	{ gen_docs 5; echo 'not json'; echo '{"msg":"no timestamp"}'; echo '[1,2]'
	  echo '{"ts":"yesterday"}'; printf '\036{not a record\n'; gen_docs 4 3 10; } >"$T/in"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/in" >"$T/out"
	split_records "$T/out" >"$T/splits"
	# oracle: lines that jq reads as objects with a number ts
	valid=$(tr -d '\036' <"$T/in" | jq -R 'fromjson? | select(type == "object" and (.ts | type) == "number")' | jq -s length)
	[ "$(jq .num_docs "$T/splits")" -eq "$valid" ]
	[ "$(jq .docs_invalid "$T/splits")" -eq $(($(wc -l <"$T/in") - valid)) ]
}

@test "qw-index passes unknown control records through in order" {
	write_cfg "$T/cfg.yaml" 3
	{ gen_docs 2; printf '\036{"type":"x1"}\n'; gen_docs 2 3 5; printf '\036{"type":"x2","k":[1]}\n'; } >"$T/in"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" <"$T/in" >"$T/out"
	[ "$(records "$T/out" | jq -r .type | tr '\n' ' ')" = "x1 split x2 split " ]
	records "$T/out" | grep -qx '{"type":"x2","k":\[1\]}'
}

@test "qw-index writes source and publish token given as options" {
	write_cfg "$T/cfg.yaml"
	gen_docs 3 | qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" --source src-a --publish-token tok-9 >"$T/out"
	[ "$(split_records "$T/out" | jq -r '.source + " " + .publish_token')" = "src-a tok-9" ]
}

@test "qw-index with a source holds a cut until a checkpoint covers its documents" {
	write_cfg "$T/cfg.yaml" 3
	gen_docs 10 >"$T/docs"
	b5=$(head -5 "$T/docs" | wc -c)
	b10=$(wc -c <"$T/docs")
	{ head -5 "$T/docs"
	  printf '\036{"type":"checkpoint","source":"s1","partition":"/f","from":0,"to":%d}\n' "$b5"
	  tail -5 "$T/docs"
	  printf '\036{"type":"checkpoint","source":"s1","partition":"/f","from":%d,"to":%d}\n' "$b5" "$b10"
	  printf '\036{"type":"eof"}\n'; } >"$T/in"
	qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" --source s1 <"$T/in" >"$T/out"
	split_records "$T/out" >"$T/splits"
	# the target (3) is reached at docs 3 and 8, the cuts wait for the checkpoints
	[ "$(jq .num_docs "$T/splits" | tr '\n' ' ')" = "5 5 " ]
	[ "$(jq -r .trigger "$T/splits" | tr '\n' ' ')" = "num_docs num_docs " ]
	[ "$(jq -c '.checkpoint_delta["/f"]' "$T/splits" | tr '\n' ' ')" = "{\"from\":0,\"to\":$b5} {\"from\":$b5,\"to\":$b10} " ]
}

@test "qw-index and qw-package: --help, man page and bash completion list the same options" {
	for p in qw-index qw-package; do
		qw_help=$("$p" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
		man_opts=$(grep -o 'Fl \\-[a-z][a-z-]*' "$QW_SRCDIR/man/$p.1" | sed 's/Fl \\-/--/' | sort -u)
		comp=$(grep -o -- '--[a-z][a-z-]*' "$QW_SRCDIR/completions/$p" | sort -u)
		[ -n "$qw_help" ]
		[ "$qw_help" = "$man_opts" ]
		[ "$qw_help" = "$comp" ]
	done
}

@test "qw-index refuses a partition_key it cannot parse (exit 65)" {
	write_cfg "$T/cfg.yaml" 10 60 '  partition_key: hash_mod(tenant)'
	run --separate-stderr qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" </dev/null
	[ "$status" -eq 65 ]
	[[ "$stderr" == "qw-index: "*"partition_key"* ]]
}

# Linear-cost regressions (issue 11). These bound CPU time with `ulimit -t`,
# never wall time: the limits sit far above the linear cost (a few CPU
# seconds under the sanitizers) and far below the quadratic cost the old
# code paid (a per-key rescan of the object's keys or of the field
# mappings: about 75 CPU s for 200k fields, 50 s for 50k mappings), so a
# loaded machine cannot make them fail and a quadratic regression cannot
# pass.
@test "qw-index indexes one document of 200k dynamic fields in linear time (ulimit -t 20)" {
	printf 'version: 0.8\nindex_id: wide-idx\ndoc_mapping:\n  mode: dynamic\n' >"$T/cfg.yaml"
	python3 -c 'import json; print(json.dumps({"f%d" % i: "v%d" % i for i in range(200000)}))' >"$T/doc"
	run --separate-stderr bash -c 'ulimit -t 20; exec qw-index --index-config "$1" --scratch-dir "$2" <"$3" >"$4"' \
		_ "$T/cfg.yaml" "$S" "$T/doc" "$T/out"
	[ "$status" -eq 0 ]
	split_records "$T/out" >"$T/splits"
	[ "$(jq .num_docs "$T/splits")" -eq 1 ]
	dir=$(jq -r '.splits[0].dir' "$T/splits")
	[ "$(jq .num_fields "$dir/segment.json")" -eq "$(jq 'keys | length' "$T/doc")" ]
}

@test "qw-index reads a config of 50k field mappings and maps a document of them in linear time (ulimit -t 10)" {
	python3 -c '
import json
print(json.dumps({"version": "0.8", "index_id": "wide-cfg", "doc_mapping": {"mode": "strict",
    "field_mappings": [{"name": "f%d" % i, "type": "text", "tokenizer": "raw"} for i in range(50000)]}}))' >"$T/cfg.json"
	python3 -c '
print("version: 0.8\nindex_id: wide-cfg\ndoc_mapping:\n  mode: strict\n  field_mappings:")
for i in range(50000):
    print("    - name: f%d\n      type: text\n      tokenizer: raw" % i)' >"$T/cfg.yaml"
	python3 -c 'import json; print(json.dumps({"f%d" % i: "v%d" % i for i in range(0, 50000, 1)}))' >"$T/doc"
	for c in "$T/cfg.json" "$T/cfg.yaml"; do
		rm -rf "$S"
		run --separate-stderr bash -c 'ulimit -t 10; exec qw-index --index-config "$1" --scratch-dir "$2" <"$3" >"$4"' \
			_ "$c" "$S" "$T/doc" "$T/out"
		[ "$status" -eq 0 ]
		split_records "$T/out" >"$T/splits"
		[ "$(jq .num_docs "$T/splits")" -eq 1 ]
		[ "$(jq .docs_invalid "$T/splits")" -eq 0 ]
		dir=$(jq -r '.splits[0].dir' "$T/splits")
		[ "$(jq .num_fields "$dir/segment.json")" -eq "$(jq 'keys | length' "$T/doc")" ]
	done
	# a duplicate name among them is still found, with its index
	python3 -c '
import json
f = [{"name": "f%d" % i, "type": "text"} for i in range(50000)]
f[40000]["name"] = "f123"
print(json.dumps({"version": "0.8", "index_id": "wide-cfg", "doc_mapping": {"field_mappings": f}}))' >"$T/dup.json"
	run --separate-stderr bash -c 'ulimit -t 10; exec qw-index --index-config "$1" </dev/null' _ "$T/dup.json"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *'field_mappings[40000].name: duplicate field name "f123"'* ]]
}

# expected_sizes N T: the split sizes "T T ... rest " of N documents cut every T
expected_sizes() {
	awk -v n="$1" -v t="$2" 'BEGIN { while (n > 0) { printf "%d ", (n < t ? n : t); n -= t } }'
}

@test "qw-parse | qw-index cut at split_num_docs_target below --checkpoint-every, over files and invalid lines" {
	write_cfg "$T/cfg.yaml" 300
	# two files of valid documents with invalid lines among them
	gen_docs 1234 3 0 | awk '{ print } NR % 97 == 0 { print "not json" }' >"$T/a.ndjson"
	gen_docs 1266 3 5000 | awk '{ print } NR % 101 == 0 { print "{\"ts\": \"nope\"}" }' >"$T/b.ndjson"
	valid=$(cat "$T/a.ndjson" "$T/b.ndjson" | jq -R 'fromjson? | select(.ts | type == "number")' | jq -s length)
	[ "$valid" -eq 2500 ]
	qw-parse --index-config "$T/cfg.yaml" "$T/a.ndjson" "$T/b.ndjson" 2>/dev/null |
		qw-index --index-config "$T/cfg.yaml" --scratch-dir "$S" --source files --drain-ms 0 >"$T/out"
	split_records "$T/out" >"$T/splits"
	[ "$(jq -r '.splits[].num_docs' "$T/splits" | tr '\n' ' ')" = "$(expected_sizes "$valid" 300)" ]
	[ "$(jq -r .trigger "$T/splits" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" = "no_more_docs:1 num_docs:8 " ]
}

@test "qw-pipeline with split_num_docs_target 70 publishes ceil(N/70) splits of 70 documents" {
	export QW_DATA_DIR=$T/qwdata
	write_cfg "$T/cfg.yaml" 70
	qw index create --index-config "$T/cfg.yaml" >/dev/null
	gen_docs 1000 >"$T/in.ndjson"
	n=$(jq -s length "$T/in.ndjson")
	run -0 --separate-stderr qw-pipeline --index test-idx --once --quiet --drain-ms 0 "$T/in.ndjson"
	m=$QW_DATA_DIR/indexes/test-idx/metastore.json
	[ "$(jq '[.splits[] | select(.split_state == "Published")] | length' "$m")" -eq $(( (n + 69) / 70 )) ]
	[ "$(jq -r '[.splits[] | .metadata.num_docs] | sort | reverse | .[]' "$m" | tr '\n' ' ')" = "$(expected_sizes "$n" 70)" ]
}

# An index of bytes fields (base64 and hex input), numbers with
# output_format: string and store_document_size, from documents written
# by python3; the oracles are python3 and jq over the same documents.
bytes_index() {
	export QW_DATA_DIR=$T/qwdata
	cat >"$T/bytes.yaml" <<'EOF2'
version: 0.8
index_id: bytes-idx
doc_mapping:
  mode: strict
  store_document_size: true
  field_mappings:
    - name: id
      type: u64
      output_format: string
    - name: b64
      type: bytes
      output_format: hex
    - name: hx
      type: bytes
      input_format: hex
    - name: plain
      type: bytes
    - name: r
      type: f64
      output_format: string
    - name: pad
      type: text
EOF2
	qw index create --index-config "$T/bytes.yaml" >/dev/null
	python3 -c '
import base64, json
for i in range(40):
    b = bytes([i % 25, (i * 7) % 256, 255 - i % 25])
    print(json.dumps({"id": i, "b64": base64.b64encode(b).decode(), "hx": b.hex().upper() if i % 2 else b.hex(),
                      "plain": base64.b64encode(b"x" * (i % 5)).decode(), "r": i + 0.25,
                      "pad": "y" * (i * 3)}, separators=(",", ":")))' >"$T/bytes.ndjson"
	qw-pipeline --index bytes-idx --once --quiet "$T/bytes.ndjson" >/dev/null 2>&1
}

@test "bytes fields are found by value in their input_format, base64 or hex" {
	bytes_index
	for i in 3 17 30; do
		v=$(jq -r --argjson i $i 'select(.id == $i) | .b64' "$T/bytes.ndjson")
		want=$(jq -r --arg v "$v" 'select(.b64 == $v) | .id' "$T/bytes.ndjson" | sort -n | tr '\n' ' ')
		[ -n "$want" ]
		got=$(qw-search --index bytes-idx -q "b64:$v" --max-hits 100 | jq -r '.hits[].id' | sort -n | tr '\n' ' ')
		[ "$got" = "$want" ]
		# hex in either case names the same bytes
		h=$(python3 -c "import base64, sys; print(base64.b64decode(sys.argv[1]).hex())" "$v")
		got=$(qw-search --index bytes-idx -q "hx:$h" --max-hits 100 | jq -r '.hits[].id' | sort -n | tr '\n' ' ')
		[ "$got" = "$want" ]
		got=$(qw-search --index bytes-idx -q "hx:${h^^}" --max-hits 100 | jq -r '.hits[].id' | sort -n | tr '\n' ' ')
		[ "$got" = "$want" ]
	done
	# the empty value and padding-free base64
	want=$(jq -r 'select(.plain == "eHh4") | .id' "$T/bytes.ndjson" | wc -l)
	[ "$want" -gt 0 ]
	[ "$(qw-search --index bytes-idx -q 'plain:eHh4' | jq .num_hits)" -eq "$want" ]
	want=$(jq -r 'select(.plain == "eA==") | .id' "$T/bytes.ndjson" | wc -l)
	[ "$(qw-search --index bytes-idx -q 'plain:eA' | jq .num_hits)" -eq "$want" ]
	# a value that does not decode is an error naming the field and the format
	run --separate-stderr qw-search --index bytes-idx -q 'hx:abc'
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"cannot parse 'abc' as bytes for field 'hx' (hex)"* ]]
	run --separate-stderr qw-search --index bytes-idx -q 'b64:a.b'
	[ "$status" -eq 65 ]
}

@test "hits show bytes in their output_format and numbers with output_format: string as strings" {
	bytes_index
	qw-search --index bytes-idx -q '*' --max-hits 100 | jq -c '.hits[]' | sort >"$T/got"
	python3 -c '
import base64, json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    d["id"] = str(d["id"])
    d["r"] = repr(d["r"])
    d["b64"] = base64.b64decode(d["b64"]).hex()
    d["hx"] = base64.b64encode(bytes.fromhex(d["hx"])).decode()
    print(json.dumps(d, separators=(",", ":")))' "$T/bytes.ndjson" | jq -c . | sort >"$T/want"
	diff "$T/want" "$T/got"
}

@test "store_document_size gives every document its _doc_length for aggregations, ranges and sorts" {
	bytes_index
	sum=$(LC_ALL=C awk '{ s += length($0) } END { print s }' "$T/bytes.ndjson")
	max=$(LC_ALL=C awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/bytes.ndjson")
	out=$(qw-search --index bytes-idx -q '*' --aggs '{"s":{"sum":{"field":"_doc_length"}},"m":{"max":{"field":"_doc_length"}}}')
	[ "$(echo "$out" | jq .aggregations.s.value)" -eq "$sum" ]
	[ "$(echo "$out" | jq .aggregations.m.value)" -eq "$max" ]
	want=$(LC_ALL=C awk 'length($0) >= 100' "$T/bytes.ndjson" | wc -l)
	[ "$want" -gt 0 ]
	[ "$(qw-search --index bytes-idx -q '_doc_length:>=100' | jq .num_hits)" -eq "$want" ]
	longest=$(LC_ALL=C awk -v m="$max" 'length($0) == m' "$T/bytes.ndjson" | jq -r .id)
	[ "$(qw-search --index bytes-idx -q '*' --sort-by _doc_length --max-hits 1 | jq -r '.hits[0].id')" = "$longest" ]
	# without store_document_size, the field does not exist
	sed -i '/store_document_size/d; s/bytes-idx/bytes-two/' "$T/bytes.yaml"
	qw index create --index-config "$T/bytes.yaml" >/dev/null
	run --separate-stderr qw-search --index bytes-two -q '*' --aggs '{"s":{"sum":{"field":"_doc_length"}}}'
	[ "$status" -eq 65 ]
}

# Words and their Porter2 stems from the Snowball English sample vocabulary
# (the oracle; qw stems with libstemmer).
@test "en_stem: a query word finds every document with a word of the same stem" {
	export QW_DATA_DIR=$T/qwdata
	printf 'version: 0.8\nindex_id: stem-idx\ndoc_mapping:\n  field_mappings:\n    - name: msg\n      type: text\n      tokenizer: en_stem\n      record: position\nsearch_settings:\n  default_search_fields: [msg]\n' >"$T/stem.yaml"
	qw index create --index-config "$T/stem.yaml" >/dev/null
	python3 -c '
import json, random
random.seed(7)
words = ["consolation", "consolations", "Console", "consoled", "consoles", "consoling",
         "consolingly", "consols", "consign", "consigned", "consigning", "consignment",
         "conspiracy", "conspirator", "conspirators", "conspire", "conspired", "constable",
         "happy", "the", "a"]
for i in range(300):
    print(json.dumps({"msg": " ".join(random.choice(words) for _ in range(4))}))' >"$T/stem.ndjson"
	qw-pipeline --index stem-idx --once --quiet "$T/stem.ndjson" >/dev/null 2>&1
	# stem group -> its words, lowercased
	count() {
		python3 -c '
import json, re, sys
group = set(sys.argv[2].split())
n = 0
for line in open(sys.argv[1]):
    toks = re.findall(r"\w+", json.loads(line)["msg"].lower())
    n += any(t in group for t in toks)
print(n)' "$T/stem.ndjson" "$1"
	}
	consol="consolation consolations console consoled consoles consoling consolingly consols"
	consign="consign consigned consigning consignment"
	conspir="conspirator conspirators conspire conspired"
	for q in consoled CONSOLATIONS consols; do
		[ "$(qw-search --index stem-idx -q "msg:$q" | jq .num_hits)" -eq "$(count "$consol")" ]
	done
	[ "$(qw-search --index stem-idx -q "consignment" | jq .num_hits)" -eq "$(count "$consign")" ]
	[ "$(qw-search --index stem-idx -q "msg:conspiring" | jq .num_hits)" -eq "$(count "$conspir")" ]
	# conspiracy stems to conspiraci, apart from conspir
	[ "$(qw-search --index stem-idx -q "msg:conspiracy" | jq .num_hits)" -eq "$(count conspiracy)" ]
	# a phrase of stems
	want=$(python3 -c '
import json, re, sys
c = {"consolation", "consolations", "console", "consoled", "consoles", "consoling", "consolingly", "consols"}
g = {"consign", "consigned", "consigning", "consignment"}
n = 0
for line in open(sys.argv[1]):
    t = re.findall(r"\w+", json.loads(line)["msg"].lower())
    n += any(t[i] in c and t[i + 1] in g for i in range(len(t) - 1))
print(n)' "$T/stem.ndjson")
	[ "$want" -gt 0 ]
	[ "$(qw-search --index stem-idx -q 'msg:"consoling consigned"' | jq .num_hits)" -eq "$want" ]
}

@test "chinese_compatible: every CJK ideograph is a term, other runs of letters and digits too" {
	export QW_DATA_DIR=$T/qwdata
	printf 'version: 0.8\nindex_id: zh-idx\ndoc_mapping:\n  field_mappings:\n    - name: msg\n      type: text\n      tokenizer: chinese_compatible\n      record: position\n' >"$T/zh.yaml"
	qw index create --index-config "$T/zh.yaml" >/dev/null
	python3 -c '
import json, random
random.seed(11)
parts = ["你好", "世界", "日志", "搜索引擎", "Hello", "world42", "ÉTÉ", "-", " ", "错误ERROR", "数据"]
for i in range(300):
    print(json.dumps({"msg": "".join(random.choice(parts) for _ in range(5))}, ensure_ascii=False))' >"$T/zh.ndjson"
	qw-pipeline --index zh-idx --once --quiet "$T/zh.ndjson" >/dev/null 2>&1
	# Quickwit's ChineseTokenizer, in python: CJK ideographs alone, runs of other alphanumerics
	cat >"$T/zh.py" <<'PY'
import json, sys
def cjk(c):
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or
            0x20000 <= o <= 0x2A6DF or 0x2A700 <= o <= 0x2CEAF or 0x2F800 <= o <= 0x2FA1F)
def tokens(s):
    out, cur = [], ""
    for c in s:
        if cjk(c) or not c.isalnum():
            if cur: out.append(cur.lower()); cur = ""
            if cjk(c): out.append(c)
        else:
            cur += c
    if cur: out.append(cur.lower())
    return out
q = tokens(sys.argv[2])
n = 0
for line in open(sys.argv[1]):
    t = tokens(json.loads(line)["msg"])
    n += any(t[i:i + len(q)] == q for i in range(len(t)))
print(n)
PY
	for q in 你 界 world42 été error 搜索 错误error; do
		want=$(python3 "$T/zh.py" "$T/zh.ndjson" "$q")
		got=$(qw-search --index zh-idx -q "msg:\"$q\"" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "$q: got $got, want $want" >&2; false; }
	done
}

@test "concatenate fields index the values of their fields (and of unmapped ones) with their own tokenizer" {
	export QW_DATA_DIR=$T/qwdata
	cat >"$T/concat.yaml" <<'EOF2'
version: 0.8
index_id: concat-idx
doc_mapping:
  mode: dynamic
  field_mappings:
    - name: t
      type: text
      tokenizer: raw
    - name: n
      type: i64
    - name: b
      type: bool
    - name: j
      type: json
    - name: o
      type: object
      field_mappings:
        - name: x
          type: text
    - name: other
      type: text
    - name: c_raw
      type: concatenate
      concatenate_fields: [t, n, b, j, o]
      tokenizer: raw
      include_dynamic_fields: true
    - name: c_def
      type: concatenate
      concatenate_fields: [t, n, o.x]
      tokenizer: default
EOF2
	qw index create --index-config "$T/concat.yaml" >/dev/null
	python3 -c '
import json, random
random.seed(5)
words = ["Alpha-Beta", "gamma", "42", "true", "Delta epsilon"]
for i in range(200):
    d = {}
    if random.random() < .5: d["t"] = random.choice(words)
    if random.random() < .5: d["n"] = random.choice([42, -7, 1000])
    if random.random() < .3: d["b"] = random.choice([True, False])
    if random.random() < .3: d["j"] = {"k": random.choice(["gamma", "zeta"]), "v": random.choice([42, 2.5, False])}
    if random.random() < .3: d["o"] = {"x": random.choice(words)}
    if random.random() < .3: d["other"] = "gamma"
    if random.random() < .3: d["dyn"] = random.choice(["gamma", 42, "omega"])
    print(json.dumps(d))' >"$T/concat.ndjson"
	qw-pipeline --index concat-idx --once --quiet "$T/concat.ndjson" >/dev/null 2>&1
	cat >"$T/concat.py" <<'PY'
import json, re, sys
def text(v):
    if isinstance(v, bool): return ["true" if v else "false"]
    if isinstance(v, dict): return [t for x in v.values() for t in text(x)]
    if isinstance(v, list): return [t for x in v for t in text(x)]
    return [str(v) if not isinstance(v, float) else repr(v)]
field, q = sys.argv[2], sys.argv[3]
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if field == "c_raw":
        vals = [t for k in ("t", "n", "b", "j", "o", "dyn") if k in d for t in text(d[k])]
        n += q in vals
    else:
        vals = [t for k in ("t", "n") if k in d for t in text(d[k])] + (text(d["o"]["x"]) if "o" in d else [])
        toks = [w.lower() for v in vals for w in re.findall(r"[^\W_]+", v)]
        n += q.lower() in toks
print(n)
PY
	for q in Alpha-Beta gamma 42 true false -7 2.5 zeta omega Delta; do
		want=$(python3 "$T/concat.py" "$T/concat.ndjson" c_raw "$q")
		got=$(qw-search --index concat-idx -q "c_raw:\"$q\"" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "c_raw:$q: got $got, want $want" >&2; false; }
	done
	for q in alpha beta gamma 42 epsilon 1000 zeta omega; do
		want=$(python3 "$T/concat.py" "$T/concat.ndjson" c_def "$q")
		got=$(qw-search --index concat-idx -q "c_def:$q" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "c_def:$q: got $got, want $want" >&2; false; }
	done
	# hits hold the documents as given: no concatenate field in them
	[ "$(qw-search --index concat-idx -q '*' --max-hits 1000 | jq '[.hits[] | select(has("c_raw") or has("c_def"))] | length')" -eq 0 ]
	# a name that is no field is refused with its key path
	sed 's/concatenate_fields: \[t, n, o.x\]/concatenate_fields: [t, nope]/; s/concat-idx/concat-two/' "$T/concat.yaml" >"$T/bad.yaml"
	run --separate-stderr qw index create --index-config "$T/bad.yaml"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *'concatenate_fields[1]: unknown field "nope"'* ]]
}

@test "text values repeated from one document to the next index the same terms, positions and fast values as new ones" {
	# segment.c replays the last value's term ids when a field's text repeats:
	# runs of equal values (and equal values twice in one array) must give
	# what tokenizing each afresh gives (oracle: Python over the documents)
	export QW_DATA_DIR=$T/qwdata
	printf 'version: 0.8\nindex_id: rep-idx\ndoc_mapping:\n  field_mappings:\n    - name: msg\n      type: array<text>\n      record: position\n    - name: agent\n      type: text\n      tokenizer: raw\n      fast: true\n' >"$T/rep.yaml"
	qw index create --index-config "$T/rep.yaml" >/dev/null
	python3 -c '
import json, random
random.seed(11)
words = ["red", "green", "blue", "fox", "dog", "the"]
vals = [" ".join(random.choice(words) for _ in range(random.randint(1, 5))) for _ in range(12)]
agents = ["Mozilla/5.0 A", "curl/7", "Mozilla/5.0 B", "Go-http"]
v, a = vals[0], agents[0]
for i in range(600):
    if random.random() < 0.3: v = random.choice(vals)
    if random.random() < 0.3: a = random.choice(agents)
    msg = [v] if random.random() < 0.7 else [v, v] if random.random() < 0.5 else [v, random.choice(vals)]
    print(json.dumps({"msg": msg, "agent": a}))' >"$T/rep.ndjson"
	qw-pipeline --index rep-idx --once --quiet "$T/rep.ndjson" >/dev/null 2>&1
	oracle() {
		python3 -c '
import json, sys
a, b = sys.argv[2], sys.argv[3]
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if b == "-":
        n += d["agent"] == a
    elif a == "-":
        n += any(b in v.split() for v in d["msg"])
    else:
        n += any(any(t[i] == a and t[i + 1] == b for i in range(len(t) - 1)) for t in (v.split() for v in d["msg"]))
print(n)' "$T/rep.ndjson" "$1" "$2"
	}
	for w in red fox the; do
		want=$(oracle - "$w")
		[ "$want" -gt 0 ]
		[ "$(qw-search --index rep-idx -q "msg:$w" | jq .num_hits)" -eq "$want" ]
	done
	checked=0
	for p in "red fox" "the dog" "blue the" "fox red" "green blue"; do
		set -- $p
		want=$(oracle "$1" "$2")
		[ "$(qw-search --index rep-idx -q "msg:\"$1 $2\"" | jq .num_hits)" -eq "$want" ]
		[ "$want" -eq 0 ] || checked=$((checked + 1))
	done
	[ "$checked" -ge 2 ]
	got=$(qw-search --index rep-idx -q '*' --max-hits 0 --aggs '{"a":{"terms":{"field":"agent","size":10}}}' |
		jq -r '.aggregations.a.buckets[] | "\(.key) \(.doc_count)"' | sort)
	want=$(python3 -c '
import json, sys, collections
c = collections.Counter(json.loads(l)["agent"] for l in open(sys.argv[1]))
for k, v in sorted(c.items()): print(k, v)' "$T/rep.ndjson" | sort)
	[ "$got" = "$want" ]
}
