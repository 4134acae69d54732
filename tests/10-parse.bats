#!/usr/bin/env bats
# qw-parse: sources, formats, codecs, doc mapping, dead letters, records.
# Oracles: awk/jq/wc over the raw inputs, never qw-parse's own output.
load helpers

RS=$'\x1e'

# documents (lines that are not control records) of a qw-parse output file
docs() { grep -v "^$RS" "$1" || true; }
# control records without the RS byte
controls() { { grep "^$RS" "$1" || true; } | cut -c2-; }
# every line of a text file, CR stripped, final line terminated
lines() { awk '{ sub(/\r$/, ""); print }' "$@"; }

setup() {
	T=$BATS_TEST_TMPDIR
	LOGHUB=$QW_SHARED_DATA/loghub
}

@test "qw-parse turns each line of a plain log into a body document (CRLF, no final newline)" {
	require_shared_data
	for f in Apache_2k.log HDFS_2k.log Proxifier_2k.log; do
		run --separate-stderr qw-parse --format plain "$LOGHUB/$f"
		[ "$status" -eq 0 ]
		printf '%s\n' "$output" >"$T/out"
		diff <(docs "$T/out" | jq -r .body) <(lines "$LOGHUB/$f")
		[ "$(docs "$T/out" | jq -r 'keys | join(",")' | sort -u)" = body ]
	done
}

@test "qw-parse ends a file with a checkpoint from 0 to its size and an eof record with counters" {
	require_shared_data
	qw-parse "$LOGHUB/Apache_2k.log" >"$T/out" 2>"$T/err"
	size=$(stat -c %s "$LOGHUB/Apache_2k.log")
	run controls "$T/out"
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -c . <<<"${lines[0]}")" = "{\"type\":\"checkpoint\",\"source\":\"files\",\"partition\":\"$LOGHUB/Apache_2k.log\",\"from\":0,\"to\":$size}" ]
	[ "$(jq -c '[.type, .docs_read, .docs_valid, .docs_invalid]' <<<"${lines[1]}")" = '["eof",2000,2000,0]' ]
	grep -q 'qw-parse: 2000 docs read, 2000 valid, 0 invalid' "$T/err"
}

@test "qw-parse passes NDJSON documents through unchanged (gharchive, otrf)" {
	require_shared_data
	qw-parse "$QW_SHARED_DATA/gharchive/gharchive-2015-02-01-100events.ndjson" >"$T/out"
	diff <(docs "$T/out" | jq -cS .) <(jq -cS . "$QW_SHARED_DATA/gharchive/gharchive-2015-02-01-100events.ndjson")
	zstd -dc "$QW_SHARED_DATA/otrf/otrf-windows-events.ndjson.zst" | head -n 3000 >"$T/otrf.ndjson"
	qw-parse --format ndjson "$T/otrf.ndjson" >"$T/out2"
	diff <(docs "$T/out2" | jq -cS .) <(grep -v '^[[:space:]]*$' "$T/otrf.ndjson" | jq -cS .)
	# canonical form is compact: one line per document, no spaces after separators
	[ "$(docs "$T/out2" | wc -l)" -eq "$(grep -cv '^[[:space:]]*$' "$T/otrf.ndjson")" ]
}

@test "qw-parse reads gzip, zstd, xz and bzip2 files by content, same documents and positions" {
	require_shared_data
	cp "$LOGHUB/Spark_2k.log" "$T/a.log"
	head -n 50 "$QW_SHARED_DATA/gharchive/gharchive-2015-02-01-100events.ndjson" >"$T/b.ndjson"
	for f in a.log b.ndjson; do
		size=$(stat -c %s "$T/$f")
		qw-parse "$T/$f" >"$T/$f.plain.out"
		gzip -c "$T/$f" >"$T/$f.gz"
		zstd -q -c "$T/$f" >"$T/$f.zst"
		xz -c "$T/$f" >"$T/$f.xz"
		bzip2 -c "$T/$f" >"$T/$f.data"   # no telling name: detection is by content
		for c in gz zst xz data; do
			qw-parse "$T/$f.$c" >"$T/$f.$c.out"
			diff <(docs "$T/$f.$c.out") <(docs "$T/$f.plain.out")
			[ "$(controls "$T/$f.$c.out" | jq -r 'select(.type == "checkpoint") | "\(.from) \(.to) \(.partition)"')" = "0 $size $T/$f.$c" ]
		done
	done
	[ "$(docs "$T/a.log.gz.out" | wc -l)" -eq 2000 ]
}

@test "qw-parse reads every entry of tar, tar.gz and zip archives as its own partition" {
	require_shared_data
	mkdir -p "$T/d/sub"
	head -n 10 "$LOGHUB/Linux_2k.log" >"$T/d/one.log"
	head -n 7 "$QW_SHARED_DATA/gharchive/gharchive-2015-02-01-100events.ndjson" >"$T/d/sub/two.ndjson"
	(cd "$T/d" && tar cf "$T/x.tar" one.log sub/two.ndjson && tar czf "$T/x.tgz" one.log sub/two.ndjson &&
		zip -q "$T/x.zip" one.log sub/two.ndjson)
	expected() { lines "$T/d/one.log" | jq -cR '{body: .}' | jq -cS .; jq -cS . "$T/d/sub/two.ndjson"; }
	for a in x.tar x.tgz x.zip; do
		qw-parse "$T/$a" >"$T/$a.out"
		diff <(docs "$T/$a.out" | jq -cS .) <(expected)
		run controls "$T/$a.out"
		[ "$(jq -r 'select(.type == "checkpoint") | "\(.partition) \(.to)"' <<<"$output")" = \
		  "$T/$a!one.log $(stat -c %s "$T/d/one.log")
$T/$a!sub/two.ndjson $(stat -c %s "$T/d/sub/two.ndjson")" ]
	done
}

@test "qw-parse walks directories recursively in sorted order and reads stdin as '-'" {
	mkdir -p "$T/d/b" "$T/d/a"
	printf 'x1\nx2\n' >"$T/d/b/z.log"
	printf 'y1\n' >"$T/d/a/y.log"
	printf 'w1\n' >"$T/d/c.log"
	printf 's1\ns2\n' | qw-parse --format plain "$T/d" - >"$T/out"
	[ "$(docs "$T/out" | jq -r .body | tr '\n' ' ')" = "y1 x1 x2 w1 s1 s2 " ]
	[ "$(controls "$T/out" | jq -r 'select(.type == "checkpoint") | .partition' | tr '\n' ' ')" = \
	  "$T/d/a/y.log $T/d/b/z.log $T/d/c.log - " ]
}

@test "qw-parse keeps plain lines with invalid UTF-8 and NUL bytes, as U+FFFD" {
	printf 'a\377b\000c\r\nok\n' >"$T/bad.log"
	qw-parse --format plain "$T/bad.log" >"$T/out"
	[ "$(docs "$T/out" | jq -r .body)" = "$(printf 'a\357\277\275b\357\277\275c\nok')" ]
}

@test "qw-parse expands globs and reports a missing input with exit 66 while reading the others" {
	printf '{"a":1}\n' >"$T/1.ndjson"
	printf '{"a":2}\n' >"$T/2.ndjson"
	run --separate-stderr qw-parse "$T/missing.log" "$T/*.ndjson"
	[ "$status" -eq 66 ]
	[[ "$stderr" == *"qw-parse: cannot open '$T/missing.log': No such file or directory"* ]]
	[ "$(grep -v "^$RS" <<<"$output" | jq -c .a | tr '\n' ' ')" = "1 2 " ]
	run --separate-stderr qw-parse "$T/nothing-*.log"
	[ "$status" -eq 66 ]
	[[ "$stderr" == *"no file matches"* ]]
}

@test "qw-parse counts bad lines by reason and writes each to the dead-letter file" {
	long=$(head -c 60000 /dev/zero | tr '\0' 'x')
	deep=$(printf '{"a":%.0s' $(seq 10000))
	{
		printf '{"ok":1}\n'
		printf 'not json\n'
		printf '[1,2]\n'
		printf '{"s":"\xff\xfe"}\n'
		printf '{"n":"a\0b"}\n'
		printf '{"long":"%s"}\n' "$long"
		printf '%s\n' "$deep"
		printf '{"ok":2}'
	} >"$T/in.ndjson"
	run --separate-stderr qw-parse --format ndjson --max-line-bytes 55000 --dead-letter "$T/dl" "$T/in.ndjson"
	[ "$status" -eq 0 ]
	[ "$(grep -v "^$RS" <<<"$output" | jq -c .ok | tr '\n' ' ')" = "1 2 " ]
	eof=$(grep "^$RS" <<<"$output" | cut -c2- | jq -c 'select(.type == "eof")')
	[ "$(jq -c '[.docs_read, .docs_valid, .docs_invalid]' <<<"$eof")" = "[8,2,6]" ]
	[ "$(jq -c .invalid_by_reason <<<"$eof" | jq -cS .)" = '{"not_json":3,"not_object":1,"too_deep":1,"too_long":1}' ]
	# one dead letter per bad line, in order, with the byte offset where the line starts
	[ "$(wc -l <"$T/dl")" -eq 6 ]
	offsets=$(LC_ALL=C awk 'BEGIN { o = 0 } { print o; o += length($0) + 1 }' "$T/in.ndjson" | sed -n '2,7p' | tr '\n' ' ')
	[ "$(jq -r .position "$T/dl" | tr '\n' ' ')" = "$offsets" ]
	[ "$(jq -r .reason "$T/dl" | tr '\n' ' ')" = "not_json not_object not_json not_json too_long too_deep " ]
	[ "$(sed -n 1p "$T/dl" | jq -r .line)" = "not json" ]
	[ "$(sed -n 2p "$T/dl" | jq -r .line)" = "[1,2]" ]
	[ "$(sed -n 5p "$T/dl" | jq -r '.line | length')" -eq 1024 ]
	[ "$(jq -r '.source + " " + .partition' "$T/dl" | sort -u)" = "files $T/in.ndjson" ]
	[[ "$stderr" == *"8 docs read, 2 valid, 6 invalid"* ]]
}

@test "qw-parse drops a line far over --max-line-bytes with bounded memory and the right position" {
	{
		printf '{"a":1}\n'
		head -c 3000000 /dev/zero | tr '\0' 'y'
		printf '\n{"a":2}\n'
		head -c 700000 /dev/zero | tr '\0' 'z'
	} >"$T/big.ndjson"
	run --separate-stderr qw-parse --max-line-bytes 1000 --dead-letter "$T/dl" "$T/big.ndjson"
	[ "$status" -eq 0 ]
	[ "$(grep -v "^$RS" <<<"$output" | jq -c .a | tr '\n' ' ')" = "1 2 " ]
	[ "$(jq -r '"\(.reason) \(.position) \(.line | length)"' "$T/dl" | tr '\n' ' ')" = "too_long 8 1024 too_long 3000017 1024 " ]
	[ "$(grep "^$RS" <<<"$output" | cut -c2- | jq -r 'select(.type == "checkpoint") | .to')" -eq "$(stat -c %s "$T/big.ndjson")" ]
}

@test "qw-parse keeps what it read before the end of a truncated gzip file and exits 74" {
	require_shared_data
	gzip -c "$LOGHUB/Zookeeper_2k.log" >"$T/full.gz"
	head -c 20000 "$T/full.gz" >"$T/cut.gz"
	run --separate-stderr qw-parse --format plain "$T/cut.gz"
	[ "$status" -eq 74 ]
	[[ "$stderr" == *"'$T/cut.gz'"*"offset"* ]]
	printf '%s\n' "$output" >"$T/out"
	n=$(docs "$T/out" | wc -l)
	[ "$n" -gt 100 ]
	diff <(docs "$T/out" | jq -r .body) <(lines "$LOGHUB/Zookeeper_2k.log" | head -n "$n")
	# the checkpoint covers exactly the whole lines that were read
	to=$(controls "$T/out" | jq -r 'select(.type == "checkpoint") | .to')
	[ "$to" -eq "$(head -n "$n" "$LOGHUB/Zookeeper_2k.log" | wc -c)" ]
	# the same for zstd (read without libarchive) and xz
	for c in "zstd -q -c" "xz -c"; do
		$c "$LOGHUB/Zookeeper_2k.log" >"$T/full.c"
		head -c "$(( $(stat -c %s "$T/full.c") / 2 ))" "$T/full.c" >"$T/cut.c"
		run --separate-stderr qw-parse --format plain "$T/cut.c"
		[ "$status" -eq 74 ]
		[[ "$stderr" == *"'$T/cut.c'"*"offset"* ]]
		printf '%s\n' "$output" >"$T/out"
		n=$(docs "$T/out" | wc -l)
		[ "$n" -lt 2000 ]
		diff <(docs "$T/out" | jq -r .body) <(lines "$LOGHUB/Zookeeper_2k.log" | head -n "$n")
	done
}

@test "qw-parse emits contiguous checkpoints at least every N lines" {
	require_shared_data
	qw-parse --checkpoint-every 300 "$LOGHUB/OpenSSH_2k.log" >"$T/out"
	controls "$T/out" | jq -r 'select(.type == "checkpoint") | "\(.from) \(.to)"' >"$T/cp"
	[ "$(wc -l <"$T/cp")" -eq 7 ]
	awk -v size="$(stat -c %s "$LOGHUB/OpenSSH_2k.log")" '
		NR == 1 && $1 != 0 { exit 1 }
		NR > 1 && $1 != prev { exit 1 }
		{ prev = $2 }
		END { if (prev != size) exit 1 }' "$T/cp"
	# the first checkpoint ends after exactly 300 lines
	[ "$(head -n 1 "$T/cp" | cut -d' ' -f2)" -eq "$(head -n 300 "$LOGHUB/OpenSSH_2k.log" | wc -c)" ]
}

@test "qw-parse puts the leading timestamp of a plain line into the timestamp field" {
	require_shared_data
	cat >"$T/cfg.yaml" <<-'YAML'
	version: 0.8
	index_id: hadoop
	doc_mapping:
	  mode: strict
	  timestamp_field: ts
	  field_mappings:
	    - name: ts
	      type: datetime
	      fast: true
	      input_formats: ["%Y-%m-%d %H:%M:%S,%f"]
	    - name: body
	      type: text
	YAML
	qw-parse --index-config "$T/cfg.yaml" --format plain "$LOGHUB/Hadoop_2k.log" >"$T/out"
	# oracle: the first two words of the line, ',mmm' as a fraction without trailing zeros
	awk '{ print $1 "T" $2 }' "$LOGHUB/Hadoop_2k.log" |
		sed -E 's/,([0-9]*[1-9])0*$/.\1Z/; s/,0+$/Z/' >"$T/want"
	diff <(docs "$T/out" | jq -r .ts) "$T/want"
	diff <(docs "$T/out" | jq -r .body) <(lines "$LOGHUB/Hadoop_2k.log")
}

@test "qw-parse applies a strict mapping: unknown fields, wrong types and missing timestamps are dead letters" {
	cat >"$T/cfg.json" <<-'JSON'
	{"version": "0.8", "index_id": "app", "doc_mapping": {"mode": "strict", "timestamp_field": "ts",
	 "field_mappings": [{"name": "ts", "type": "datetime", "fast": true},
	                    {"name": "status", "type": "u64"}, {"name": "msg", "type": "text"}]}}
	JSON
	cat >"$T/in.ndjson" <<-'EOF'
	{"ts": 1591757456, "status": "200", "msg": "ok"}
	{"ts": "2020-06-10T02:50:56.537+00:00", "status": 404}
	{"ts": 1591757456, "other": 1}
	{"status": 1}
	{"ts": "soon"}
	{"ts": 1591757456, "status": -5}
	EOF
	run --separate-stderr qw-parse --index-config "$T/cfg.json" --dead-letter "$T/dl" "$T/in.ndjson"
	[ "$status" -eq 0 ]
	[ "$(grep -v "^$RS" <<<"$output")" = '{"ts":"2020-06-10T02:50:56Z","status":200,"msg":"ok"}
{"ts":"2020-06-10T02:50:56.537Z","status":404}' ]
	[ "$(jq -r .reason "$T/dl" | tr '\n' ' ')" = "unknown_field missing_timestamp bad_timestamp wrong_type " ]
	[[ "$(sed -n 1p "$T/dl" | jq -r .message)" == *"'other'"* ]]
}

@test "qw-parse rejects bad options and a missing config" {
	run --separate-stderr qw-parse --format xml x
	[ "$status" -eq 64 ]
	run --separate-stderr qw-parse
	[ "$status" -eq 64 ]
	run --separate-stderr qw-parse --index-config "$BATS_TEST_TMPDIR/none.yaml" x
	[ "$status" -eq 66 ]
	run --separate-stderr qw-parse --checkpoint-every 0 x
	[ "$status" -eq 64 ]
}

# Poll a condition for up to 10 s (no sleeps as synchronization).
wait_for() {
	local i
	for i in $(seq 200); do
		eval "$1" && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $1" >&2
	return 1
}

ndocs() { grep -vc "^$RS" "$1" || true; }

teardown() {
	if [ -n "${PARSE_PID:-}" ]; then
		kill -TERM "$PARSE_PID" 2>/dev/null || true
		wait "$PARSE_PID" 2>/dev/null || true
	fi
}

@test "qw-parse --follow reads growing files, new files, rotation and truncation; SIGUSR1 commits, SIGTERM ends" {
	cd "$T"
	printf 'a1\na2\n' >app.log
	qw-parse --format plain --follow 'app*.log' >out 2>err 3>&- &
	PARSE_PID=$!
	wait_for '[ "$(ndocs out)" -eq 2 ]'
	printf 'a3\npart' >>app.log
	wait_for '[ "$(ndocs out)" -eq 3 ]'
	printf 'ial\n' >>app.log          # a line is read only once its newline is there
	wait_for '[ "$(ndocs out)" -eq 4 ]'
	mv app.log app.log.1              # rotation: the old file's tail is still read
	printf 'a4\n' >>app.log.1
	wait_for '[ "$(ndocs out)" -eq 5 ]'
	printf 'b1\n' >app.log            # ... and the new file is a new partition
	wait_for '[ "$(ndocs out)" -eq 6 ]'
	printf 'n1\nn2\n' >app2.log       # a new file that matches the glob
	wait_for '[ "$(ndocs out)" -eq 8 ]'
	: >app2.log                       # truncation
	printf 'n3\n' >>app2.log
	wait_for '[ "$(ndocs out)" -eq 9 ]'
	kill -USR1 "$PARSE_PID"
	wait_for 'controls out | grep -q commit'
	kill -TERM "$PARSE_PID"
	wait "$PARSE_PID"
	PARSE_PID=
	[ "$(docs out | jq -r .body | tr '\n' ' ')" = "a1 a2 a3 partial a4 b1 n1 n2 n3 " ]
	controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"' >cp
	[ "$(cat cp)" = "$T/app.log 0 6
$T/app.log 6 9
$T/app.log 9 17
$T/app.log 17 20
$T/app.log#1 0 3
$T/app2.log 0 6
$T/app2.log#1 0 3" ]
	[ "$(controls out | tail -n 1 | jq -c '[.type, .docs_read]')" = '["eof",9]' ]
}

# A metastore with index "res" whose checkpoint for source "files" is $1 (JSON object).
make_index_with_checkpoint() {
	cat >"$T/res.yaml" <<-'YAML'
	version: 0.8
	index_id: res
	doc_mapping:
	  mode: dynamic
	YAML
	qw index create --index-config "$T/res.yaml" >/dev/null
	m=$QW_DATA_DIR/indexes/res/metastore.json
	jq --argjson cp "$1" '.checkpoints.files = $cp' "$m" >"$m.new"
	mv "$m.new" "$m"
}

@test "qw-parse --index resumes each partition after its checkpoint, and reads a shrunk file as new" {
	require_shared_data
	setup_datadir
	cp "$LOGHUB/Linux_2k.log" "$T/a.log"
	head -n 50 "$LOGHUB/Mac_2k.log" >"$T/b.log"
	gzip -c "$LOGHUB/HDFS_2k.log" >"$T/c.log.gz"
	at_a=$(head -n 1234 "$T/a.log" | wc -c)
	at_c=$(head -n 700 "$LOGHUB/HDFS_2k.log" | wc -c)
	make_index_with_checkpoint "{\"$T/a.log\": $at_a, \"$T/b.log\": 999999999, \"$T/c.log.gz\": $at_c}"
	run --separate-stderr qw-parse --index res --format plain "$T/a.log" "$T/b.log" "$T/c.log.gz"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/out"
	diff <(docs "$T/out" | jq -r .body) <(lines "$T/a.log" | tail -n +1235; lines "$T/b.log"; lines "$LOGHUB/HDFS_2k.log" | tail -n +701)
	[[ "$stderr" == *"'$T/b.log' is shorter than its checkpoint"* ]]
	controls "$T/out" | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"' >"$T/cp"
	[ "$(cat "$T/cp")" = "$T/a.log $at_a $(stat -c %s "$T/a.log")
$T/b.log#1 0 $(stat -c %s "$T/b.log")
$T/c.log.gz $at_c $(gzip -dc "$T/c.log.gz" | wc -c)" ]
	# --no-resume reads everything again
	qw-parse --index res --no-resume --format plain "$T/a.log" >"$T/out2"
	[ "$(ndocs "$T/out2")" -eq 2000 ]
}

@test "qw-parse resumes the latest rotation of a file" {
	setup_datadir
	printf 'r1\nr2\nr3\n' >"$T/r.log"
	make_index_with_checkpoint "{\"$T/r.log\": 9, \"$T/r.log#2\": 3}"
	qw-parse --index res "$T/r.log" >"$T/out"
	[ "$(docs "$T/out" | jq -r .body | tr '\n' ' ')" = "r2 r3 " ]
	[ "$(controls "$T/out" | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"')" = "$T/r.log#2 3 9" ]
}
