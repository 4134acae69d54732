#!/usr/bin/env bats
# qw-parse and qw-pipeline: what is read again and what is not (stdin, FIFOs,
# --no-resume), stopping in long loops, directory walks, BOMs.
# Oracles: wc/awk/jq over the raw inputs, never the programs' own output.
load helpers

RS=$'\x1e'

docs() { grep -v "^$RS" "$1" || true; }
ndocs() { grep -vc "^$RS" "$1" || true; }
controls() { { grep "^$RS" "$1" || true; } | cut -c2-; }
# checkpoint records of a qw-parse output as "partition from to"
ckpts() { controls "$1" | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"'; }
# documents published in index $1
published() { jq '[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add // 0' \
	"$QW_DATA_DIR/indexes/$1/metastore.json"; }
# stored checkpoint of source "files" in index $1
stored() { jq -c '.checkpoints.files // {}' "$QW_DATA_DIR/indexes/$1/metastore.json"; }

setup() {
	T=$BATS_TEST_TMPDIR
	AUTH=$QW_SHARED_DATA/elastic-examples/auth.log
	LOGHUB=$QW_SHARED_DATA/loghub
	setup_datadir
}

teardown() {
	if [ -n "${PID:-}" ]; then
		kill -KILL "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
}

# index $1, dynamic mode
make_index() {
	printf 'version: 0.8\nindex_id: %s\ndoc_mapping:\n  mode: dynamic\n' "$1" >"$T/$1.yaml"
	qw index create --index-config "$T/$1.yaml" >/dev/null
}

# set the checkpoint of source "files" of index $1 to $2 (JSON object)
set_checkpoint() {
	local m=$QW_DATA_DIR/indexes/$1/metastore.json
	jq --argjson cp "$2" '.checkpoints.files = $cp' "$m" >"$m.new"
	mv "$m.new" "$m"
}

@test "qw-pipeline indexes every line of each stdin stream, whatever an earlier stream left in the checkpoint" {
	require_shared_data
	make_index sin
	head -n 100 "$AUTH" >"$T/s1"
	{ head -n 20 "$AUTH"; sed -n 500,700p "$AUTH"; } >"$T/s2"
	head -n 5 "$AUTH" >"$T/s3"
	qw-pipeline --index sin --once --quiet --format plain - <"$T/s1" >/dev/null
	[ "$(published sin)" -eq "$(wc -l <"$T/s1")" ]
	# a longer second stream (it used to skip the first stream's bytes and start mid-line)
	cat "$T/s2" | qw-pipeline --index sin --once --quiet --format plain - >/dev/null
	[ "$(published sin)" -eq "$(cat "$T/s1" "$T/s2" | wc -l)" ]
	# a shorter one (it used to fail: "cannot be reread")
	run -0 --separate-stderr sh -c 'cat "$1" | qw-pipeline --index sin --once --quiet --format plain -' sh "$T/s3"
	[ "$(published sin)" -eq "$(cat "$T/s1" "$T/s2" "$T/s3" | wc -l)" ]
	# every line is searchable, as many times as it was sent
	diff <(qw-search --index sin --format ndjson --max-hits 10000 '*' | jq -r .body | sort) \
	     <(cat "$T/s1" "$T/s2" "$T/s3" | sort)
	# the stored position counts the bytes of all the streams
	[ "$(stored sin)" = "{\"-\":$(cat "$T/s1" "$T/s2" "$T/s3" | wc -c)}" ]
}

@test "qw-pipeline warns that a FIFO given by name is not spooled, and reads it whole" {
	make_index sin
	mkfifo "$T/fifo"
	printf 'a\nbb\n' >"$T/fifo" 3>&- &
	writer=$!
	run -0 --separate-stderr qw-pipeline --index sin --once --quiet --format plain "$T/fifo"
	wait "$writer" # not a bare wait: bats's own timeout watcher is a job too
	[[ "$stderr" == *"'$T/fifo' is a FIFO: lines a failed generation read from it are lost; give it as stdin"* ]]
	[ "$(published sin)" = 2 ]
}

@test "qw-parse reads all of stdin and of a FIFO and counts their bytes on from the stored position" {
	make_index sin
	mkfifo "$T/fifo"
	set_checkpoint sin "{\"-\": 500, \"$T/fifo\": 7}"
	printf 'a\nbb\nccc\n' | qw-parse --index sin --format plain - >"$T/out"
	[ "$(docs "$T/out" | jq -r .body | tr '\n' ' ')" = "a bb ccc " ]
	[ "$(ckpts "$T/out")" = "- 500 $((500 + $(printf 'a\nbb\nccc\n' | wc -c)))" ]
	# a stream's checkpoint carries no head (it is never resumed)
	[ "$(controls "$T/out" | jq -c 'select(.type == "checkpoint") | has("head")')" = false ]
	# stdin redirected from a file is stdin too
	printf 'x\ny\n' >"$T/f"
	qw-parse --index sin --format plain - <"$T/f" >"$T/out"
	[ "$(ndocs "$T/out")" -eq 2 ]
	[ "$(ckpts "$T/out")" = "- 500 504" ]
	# a FIFO given by its path
	printf 'f1\nf2\n' >"$T/fifo" 3>&- &
	writer=$!
	qw-parse --index sin --format plain "$T/fifo" >"$T/out"
	wait "$writer"
	[ "$(docs "$T/out" | jq -r .body | tr '\n' ' ')" = "f1 f2 " ]
	[ "$(ckpts "$T/out")" = "$T/fifo 7 13" ]
	# stdin twice in one run: the second goes on where the first ended
	printf 'z\n' | qw-parse --index sin --format plain - - >"$T/out"
	[ "$(ckpts "$T/out")" = "- 500 502" ]
}

@test "qw-parse --no-resume reads files from the start as new partitions past the stored ones" {
	make_index res
	printf 'r1\nr2\nr3\n' >"$T/r.log"
	printf 'q1\n' >"$T/q.log"
	set_checkpoint res "{\"$T/r.log\": 9, \"$T/r.log#2\": 3}"
	run -0 --separate-stderr qw-parse --index res --no-resume --format plain "$T/r.log" "$T/q.log"
	printf '%s\n' "$output" >"$T/out"
	diff <(docs "$T/out" | jq -r .body) <(cat "$T/r.log" "$T/q.log")
	[ "$(ckpts "$T/out")" = "$T/r.log#3 0 9
$T/q.log 0 3" ]
	[[ "$stderr" == *"not resuming '$T/r.log' at 3 (--no-resume): reading it from the start as '$T/r.log#3'"* ]]
}

@test "qw-parse --no-resume-from ignores only the positions in its file (a restarted generation resumes its own)" {
	make_index res
	printf 'r1\nr2\nr3\n' >"$T/r.log"
	# the run started with r.log at 9; its first generation published r.log#1 up to 3
	printf '{"%s": 9}' "$T/r.log" >"$T/start.json"
	set_checkpoint res "{\"$T/r.log\": 9, \"$T/r.log#1\": 3}"
	qw-parse --index res --no-resume-from "$T/start.json" --format plain "$T/r.log" >"$T/out"
	[ "$(docs "$T/out" | jq -r .body | tr '\n' ' ')" = "r2 r3 " ]
	[ "$(ckpts "$T/out")" = "$T/r.log#1 3 9" ]
	# a checkpoint file that is not one
	printf '[1]' >"$T/bad.json"
	run -65 --separate-stderr qw-parse --index res --no-resume-from "$T/bad.json" "$T/r.log"
	[[ "$stderr" == *"qw-parse: cannot read checkpoint '$T/bad.json': not a JSON object"* ]]
	run -66 --separate-stderr qw-parse --index res --no-resume-from "$T/none.json" "$T/r.log"
	[[ "$stderr" == *"'$T/none.json'"* ]]
}

@test "--index-snapshot: qw-parse, qw-index and qw-package take the index from the file, never opening the metastore" {
	make_index res
	printf 'r1\nr2\nr3\n' >"$T/r.log"
	set_checkpoint res "{\"$T/r.log\": 3}"
	m=$QW_DATA_DIR/indexes/res/metastore.json
	# a snapshot whose checkpoint is further on than the metastore's
	jq --arg f "$T/r.log" '.splits = {} | .checkpoints.files = {($f): 6} |
		.index_uid = "res:01SNAPSH0T000000000000000"' "$m" >"$T/snap.json"
	# a metastore URI no backend takes: opening it would fail
	QW_METASTORE_URI=nowhere://x qw-parse --index res --index-snapshot "$T/snap.json" \
		--format plain "$T/r.log" >"$T/out"
	[ "$(docs "$T/out" | jq -r .body | tr '\n' ' ')" = "$(tail -c +7 "$T/r.log" | tr '\n' ' ')" ]
	[ "$(ckpts "$T/out")" = "$T/r.log 6 9" ]
	QW_METASTORE_URI=nowhere://x qw-index --index res --index-snapshot "$T/snap.json" \
		--scratch-dir "$T/s" --source files <"$T/out" |
		QW_METASTORE_URI=nowhere://x qw-package --index res --index-snapshot "$T/snap.json" \
		--scratch-dir "$T/s" >"$T/pk"
	# the packaged split carries the index_uid of the snapshot
	[ "$(controls "$T/pk" | jq -r 'select(.type == "packaged") | .splits[].metadata.index_uid')" = \
	  "res:01SNAPSH0T000000000000000" ]
	[ "$(controls "$T/pk" | jq -s '[.[] | select(.type == "packaged") | .splits[].metadata.num_docs] | add')" = 1 ]
	# a snapshot of another index, a missing one, one without --index
	jq '.index_config.index_id = "other"' "$T/snap.json" >"$T/other.json"
	for p in qw-parse qw-index qw-package; do
		in=()
		[ "$p" != qw-parse ] || in=("$T/r.log")   # qw-parse's inputs are arguments
		run -65 --separate-stderr "$p" --index res --index-snapshot "$T/other.json" "${in[@]}" </dev/null
		[[ "$stderr" == *"$p: '$T/other.json': a snapshot of index 'other', not of 'res'"* ]]
		run -66 --separate-stderr "$p" --index res --index-snapshot "$T/none.json" "${in[@]}" </dev/null
		[[ "$stderr" == *"$p: "*"'$T/none.json'"* ]]
		run -64 --separate-stderr "$p" --index-snapshot "$T/snap.json" "${in[@]}" </dev/null
		[[ "$stderr" == *"--index-snapshot needs --index"* ]]
	done
	printf '{"index_config": {}}' >"$T/bad.json"
	run -65 --separate-stderr qw-parse --index res --index-snapshot "$T/bad.json" "$T/r.log"
	[[ "$stderr" == *"'$T/bad.json': not a qw metastore file"* ]]
	printf '{"index_config": ' >"$T/cut.json"
	run -65 --separate-stderr qw-parse --index res --index-snapshot "$T/cut.json" "$T/r.log"
	[[ "$stderr" == *"'$T/cut.json': not an index snapshot (not valid JSON"* ]]
}

@test "qw-pipeline --no-resume indexes the files again, and a later run resumes after that" {
	require_shared_data
	make_index nor
	cp "$LOGHUB/Linux_2k.log" "$T/f.log"
	n=$(awk 'END { print NR }' "$T/f.log")
	size=$(stat -c %s "$T/f.log")
	qw-pipeline --index nor --once --quiet --format plain "$T/f.log" >/dev/null
	[ "$(published nor)" -eq "$n" ]
	run -0 --separate-stderr qw-pipeline --index nor --once --quiet --no-resume --format plain "$T/f.log"
	[ "$(published nor)" -eq $((2 * n)) ]
	[ "$(stored nor)" = "{\"$T/f.log\":$size,\"$T/f.log#1\":$size}" ]
	# no --no-resume: nothing new
	qw-pipeline --index nor --once --quiet --format plain "$T/f.log" >/dev/null
	[ "$(published nor)" -eq $((2 * n)) ]
	# its snapshot of the checkpoint went with its scratch directory
	[ -z "$(find "$QW_DATA_DIR" -name 'no-resume-checkpoint.json')" ]
}

# bytes read so far by process $1
rchar() { awk '/^rchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0; }

# wait up to 10 s (polling) for process $1 to exit; 1 if it is still there
gone_within_10s() {
	local i
	for i in $(seq 200); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

@test "qw-parse stops promptly on SIGTERM while it skips an endless line (/dev/zero)" {
	qw-parse --format plain /dev/zero >"$T/out" 2>"$T/err" 3>&- &
	PID=$!
	# well into the line: past the 10 MB limit, skipping
	for i in $(seq 200); do [ "$(rchar "$PID")" -gt 50000000 ] && break; sleep 0.05; done
	[ "$(rchar "$PID")" -gt 50000000 ]
	kill -TERM "$PID"
	gone_within_10s "$PID"
	st=0
	wait "$PID" || st=$?
	PID=
	[ "$st" -eq 0 ]
	# nothing was read as a line, and no checkpoint covers a part of the line
	[ "$(ndocs "$T/out")" -eq 0 ]
	[ -z "$(ckpts "$T/out")" ]
	[ "$(controls "$T/out" | jq -c '[.type, .docs_read]')" = '["eof",0]' ]
}

@test "qw-parse stopped in a long line of a file checkpoints the start of that line" {
	# a sparse file: one line, then 20 GB of NUL bytes without a newline
	printf 'first\n' >"$T/long.log"
	truncate -s 20G "$T/long.log"
	qw-parse --format plain "$T/long.log" >"$T/out" 2>"$T/err" 3>&- &
	PID=$!
	for i in $(seq 200); do [ "$(rchar "$PID")" -gt 50000000 ] && break; sleep 0.05; done
	[ "$(rchar "$PID")" -gt 50000000 ]
	kill -TERM "$PID"
	gone_within_10s "$PID"
	st=0
	wait "$PID" || st=$?
	PID=
	[ "$st" -eq 0 ]
	[ "$(docs "$T/out" | jq -r .body)" = first ]
	[ "$(ckpts "$T/out")" = "$T/long.log 0 6" ]
}

@test "qw-pipeline --once /dev/zero stops promptly on SIGTERM" {
	make_index zero
	qw-pipeline --index zero --once --quiet --format plain /dev/zero >"$T/out" 2>"$T/err" 3>&- &
	PID=$!
	for i in $(seq 200); do
		p=$(pgrep -P "$PID" -x qw-parse || true)
		[ -n "$p" ] && [ "$(rchar "$p")" -gt 50000000 ] && break
		sleep 0.05
	done
	[ -n "$p" ] && [ "$(rchar "$p")" -gt 50000000 ]
	kill -TERM "$PID"
	gone_within_10s "$PID"
	st=0
	wait "$PID" || st=$?
	PID=
	[ "$st" -eq 0 ]
	[ "$(published zero)" -eq 0 ]
}

@test "qw-parse walks a directory with a symlink loop once, and reads a file under two names once" {
	mkdir -p "$T/t/a/b"
	printf 'x1\nx2\n' >"$T/t/a/x.log"
	printf 'y1\n' >"$T/t/y.log"
	printf 'z1\n' >"$T/t/a/b/z.log"
	ln -s .. "$T/t/a/up"
	ln -s ../.. "$T/t/a/b/up2"
	ln -s ../y.log "$T/t/a/link.log"
	ln "$T/t/a/x.log" "$T/t/hard.log"
	run -0 --separate-stderr timeout 20 qw-parse --format plain "$T/t"
	printf '%s\n' "$output" >"$T/out"
	# each distinct file once: the oracle lists the regular files without following links
	diff <(docs "$T/out" | jq -r .body | sort) \
	     <({ find "$T/t" -type f -links 1 -exec cat {} +; cat "$T/t/a/x.log"; } | sort)
	[ "$(ckpts "$T/out" | wc -l)" -eq 3 ]
}

@test "qw-parse drops a UTF-8 byte order mark at the start of a file, before telling NDJSON from text" {
	printf '\357\273\277{"a":1}\n{"a":2}\n' >"$T/bom.ndjson"
	printf '\357\273\277hello\nworld\n' >"$T/bom.log"
	printf '{"a":3}\n\357\273\277{"a":4}\n' >"$T/mid.ndjson"
	qw-parse "$T/bom.ndjson" >"$T/out"
	[ "$(docs "$T/out" | jq -c .)" = "$(printf '{"a":1}\n{"a":2}')" ]
	[ "$(ckpts "$T/out")" = "$T/bom.ndjson 0 $(stat -c %s "$T/bom.ndjson")" ]
	qw-parse --format plain "$T/bom.log" >"$T/out"
	[ "$(docs "$T/out" | jq -r .body | tr '\n' ' ')" = "hello world " ]
	printf '\357\273\277{"a":5}\n' | qw-parse --format ndjson - >"$T/out"
	[ "$(docs "$T/out" | jq -c .a)" = 5 ]
	# only at the start of a file: elsewhere it is a bad line
	run --separate-stderr qw-parse --format ndjson "$T/mid.ndjson"
	[ "$(grep -v "^$RS" <<<"$output" | jq -c .a)" = 3 ]
	[[ "$stderr" == *"2 docs read, 1 valid, 1 invalid (not_json: 1)"* ]]
}

@test "a \\u0000 escape in a JSON string is a valid document, stored and searched with its NUL" {
	cat >"$T/nul.yaml" <<-'YAML'
	version: 0.8
	index_id: nul
	doc_mapping:
	  mode: dynamic
	  field_mappings:
	    - name: msg
	      type: text
	      tokenizer: default
	    - name: n
	      type: i64
	    - name: at
	      type: datetime
	      input_formats: [rfc3339]
	YAML
	qw index create --index-config "$T/nul.yaml" >/dev/null
	{
		printf '{"msg":"left\\u0000right","tag":"a\\u0000b","n":1}\n'
		printf '{"msg":"plain","deep":{"x":["\\u0000", 2]},"n":2}\n'
		printf '{"msg":"quote","tag":"\\"\\u00001","b":"\\\\\\u00002","n":3}\n'  # after an escaped quote
	} >"$T/good.ndjson"
	{
		printf '{"msg":"x","n":"4\\u00002"}\n'                   # not a number once the NUL is seen
		printf '{"msg":"x","at":"2020-06-10T02:50:56Z\\u0000junk"}\n'  # not a date
		printf '{"msg":"\\u0000123"}\n'                            # the shape of a big integer
	} >"$T/bad.ndjson"
	run -0 --separate-stderr qw-parse --index nul --dead-letter "$T/dl" "$T/good.ndjson" "$T/bad.ndjson"
	printf '%s\n' "$output" >"$T/out"
	# the documents as jq reads the input
	diff <(docs "$T/out" | jq -cS .) <(jq -cS . "$T/good.ndjson")
	[ "$(jq -r .reason "$T/dl" | tr '\n' ' ')" = "wrong_type bad_timestamp not_json " ]
	qw-pipeline --index nul --once --quiet "$T/good.ndjson" >/dev/null
	diff <(qw-search --index nul --format ndjson --max-hits 10 '*' | jq -cS . | sort) \
	     <(jq -cS . "$T/good.ndjson" | sort)
	# the NUL splits words for the default tokenizer
	[ "$(qw-search --index nul 'msg:right' | jq .num_hits)" -eq 1 ]
	[ "$(qw-search --index nul 'msg:left' | jq -c '.hits[0].tag')" = '"a\u0000b"' ]
}
