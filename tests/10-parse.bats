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

# head_of FILE N: the "head" of a checkpoint at position N of FILE (its
# uncompressed bytes): "<n>:<FNV-1a 64 of the first n bytes>", n = min(1024, N).
# An independent implementation, in Python.
head_of() {
	python3 -c '
import sys
d = open(sys.argv[1], "rb").read()[:min(1024, int(sys.argv[2]))]
h = 0xcbf29ce484222325
for b in d:
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%d:%016x" % (len(d), h))' "$1" "$2"
}

# head_ino FILE N [PART]: the head qw-parse writes for a regular file PART
# (default FILE) whose first bytes are FILE's: the head, then ":<inode>".
head_ino() {
	echo "$(head_of "$1" "$2"):$(stat -c %i "${3:-$1}")"
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
	[ "$(jq -c . <<<"${lines[0]}")" = "{\"type\":\"checkpoint\",\"source\":\"files\",\"partition\":\"$LOGHUB/Apache_2k.log\",\"from\":0,\"to\":$size,\"head\":\"$(head_ino "$LOGHUB/Apache_2k.log" "$size")\"}" ]
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

@test "integers over int64 go through qw-parse and qw-pipeline as u64 values found by term and range" {
	setup_datadir
	cd "$T"
	cat >cfg.yaml <<-'YAML'
	version: 0.8
	index_id: big
	doc_mapping:
	  mode: dynamic
	  field_mappings:
	    - name: id
	      type: u64
	      fast: true
	YAML
	# ids 18446744073709551615 (uint64 max) down by 7, dyn 9223372036854775808 (int64 max + 1) up by 1;
	# every 50th id is 18446744073709551616 (over uint64: a dead letter). Digits built as text (awk
	# numbers are doubles).
	awk 'BEGIN { for (n = 0; n < 300; n++) {
		id = n % 50 == 49 ? "18446744073709551616" : sprintf("184467440737095%05d", 51615 - 7 * n)
		printf "{\"id\": %s, \"n\": %d, \"dyn\": 92233720368547%05d}\n", id, n, 75808 + n } }' >in.ndjson
	grep -v 18446744073709551616 in.ndjson >valid.ndjson
	[ "$(wc -l <valid.ndjson)" -eq 294 ]
	run -0 --separate-stderr qw-parse --index-config cfg.yaml --dead-letter dl in.ndjson
	printf '%s\n' "$output" >out
	# the exact digits, compared as text (jq reads big integers as doubles)
	diff <(docs out | grep -o '"id":[0-9]*,"n":[0-9]*,"dyn":[0-9]*') \
		<(sed 's/ //g; s/[{}]//g' valid.ndjson)
	[ "$(jq -r .reason dl | sort | uniq -c | awk '{ print $1, $2 }')" = "6 wrong_type" ]
	qw index create --index-config cfg.yaml >/dev/null
	run -0 qw-pipeline --index big --once --quiet in.ndjson
	hits() { qw-search --index big --query "$1" --max-hits 0 | jq .num_hits; }
	# oracles: awk over the digits of the valid lines (equal prefixes: compare the last 5 digits)
	last5() { grep -o "\"$1\": [0-9]*" valid.ndjson | awk '{ print substr($2, length($2) - 4) + 0 }'; }
	[ "$(hits 'id:18446744073709551615')" -eq "$(grep -c '"id": 18446744073709551615,' valid.ndjson)" ]
	[ "$(hits 'id:18446744073709551615')" -eq 1 ]
	[ "$(hits 'id:18446744073709551608')" -eq "$(grep -c '"id": 18446744073709551608,' valid.ndjson)" ]
	[ "$(hits 'id:18446744073709551609')" -eq 0 ]
	[ "$(hits 'id:[18446744073709550000 TO 18446744073709551615]')" -eq \
	  "$(last5 id | awk '$1 >= 50000' | wc -l)" ]
	[ "$(hits 'id:>18446744073709550000')" -eq "$(last5 id | awk '$1 > 50000' | wc -l)" ]
	[ "$(hits 'id:>9223372036854775807')" -eq 294 ]
	[ "$(hits 'dyn:9223372036854775900')" -eq "$(grep -c '"dyn": 9223372036854775900}' valid.ndjson)" ]
	[ "$(hits 'dyn:[9223372036854776000 TO *]')" -eq "$(last5 dyn | awk '$1 >= 76000' | wc -l)" ]
	[ "$(hits 'dyn:[9223372036854776000 TO *]')" -gt 0 ]
	# the hits print the stored digits exactly, in both output formats
	diff <(qw-search --index big --query '*' --max-hits 1000 --sort-by=-n --format ndjson |
		grep -o '"id":[0-9]*,"n":[0-9]*,"dyn":[0-9]*') <(sed 's/ //g; s/[{}]//g' valid.ndjson)
	[ "$(qw-search --index big --query 'id:18446744073709551615' | grep -o '"hits":\[[^]]*\]')" = \
	  '"hits":[{"id":18446744073709551615,"n":0,"dyn":9223372036854775808}]' ]
}

@test "qw-parse rejects a timestamp outside the years 0000-9999, so that every document it writes maps again" {
	cat >"$T/cfg.json" <<-'JSON'
	{"version": "0.8", "index_id": "app", "doc_mapping": {"mode": "dynamic", "timestamp_field": "ts",
	 "field_mappings": [{"name": "ts", "type": "datetime", "fast": true,
	                     "input_formats": ["rfc3339", "unix_timestamp"]}]}}
	JSON
	cat >"$T/in.ndjson" <<-'EOF'
	{"ts":544444444444444444440.0,"b":false}
	{"ts":253402300800000000000.0}
	{"ts":253402300799000000000.0}
	{"ts":"9999-12-31T23:00:00-05:00"}
	{"ts":"0000-01-01T00:00:00Z"}
	{"ts":1591757456}
	EOF
	run --separate-stderr qw-parse --index-config "$T/cfg.json" --dead-letter "$T/dl" "$T/in.ndjson"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/out"
	[ "$(jq -r .reason "$T/dl" | tr '\n' ' ')" = "bad_timestamp bad_timestamp bad_timestamp " ]
	[ "$(jq -r .position "$T/dl" | tr '\n' ' ')" = \
	  "$(awk 'NR == 1 || NR == 2 || NR == 4 { printf "%d ", o } { o += length($0) + 1 }' "$T/in.ndjson")" ]
	[ "$(docs "$T/out" | jq -r .ts | cut -c1-4 | tr '\n' ' ')" = "9999 0000 2020 " ]
	# what qw-parse wrote is valid for the same mapping (qw-index maps it again)
	docs "$T/out" >"$T/again.ndjson"
	run --separate-stderr qw-parse --index-config "$T/cfg.json" "$T/again.ndjson"
	[ "$status" -eq 0 ]
	[ "$(docs <(printf '%s\n' "$output") | wc -l)" -eq 3 ]
	[[ "$stderr" == *"3 docs read, 3 valid, 0 invalid"* ]]
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

# A metastore with index "res" whose checkpoint for source "files" is $1 (JSON
# object), with the heads $2 (JSON object, optional).
make_index_with_checkpoint() {
	cat >"$T/res.yaml" <<-'YAML'
	version: 0.8
	index_id: res
	doc_mapping:
	  mode: dynamic
	YAML
	qw index create --index-config "$T/res.yaml" >/dev/null
	m=$QW_DATA_DIR/indexes/res/metastore.json
	jq --argjson cp "$1" --argjson h "${2:-null}" \
		'.checkpoints.files = $cp | if $h then .checkpoint_heads.files = $h else . end' "$m" >"$m.new"
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

@test "qw-parse --index reads a file whose first bytes changed (copy-truncate, as long or longer) as new" {
	require_shared_data
	setup_datadir
	cd "$T"
	printf 'old1\nold2\nold3\n' >a.log                  # 15 bytes, checkpointed at its end
	printf 'x1\nx2\n' >b.log                            # checkpointed at 6, then only grows
	cp "$LOGHUB/Linux_2k.log" big.log                   # checkpointed after 1000 lines
	gzip -c "$LOGHUB/HDFS_2k.log" >c.gz                 # checkpointed after 700 lines
	at_big=$(head -n 1000 big.log | wc -c)
	at_c=$(head -n 700 "$LOGHUB/HDFS_2k.log" | wc -c)
	make_index_with_checkpoint \
		"{\"$T/a.log\": 15, \"$T/b.log\": 6, \"$T/big.log\": $at_big, \"$T/c.gz\": $at_c}" \
		"{\"$T/a.log\": \"$(head_of a.log 15)\", \"$T/b.log\": \"$(head_of b.log 6)\",
		  \"$T/big.log\": \"$(head_of big.log "$at_big")\", \"$T/c.gz\": \"$(head_of "$LOGHUB/HDFS_2k.log" "$at_c")\"}"
	printf 'new1\nnew2\nnew3\nnew4\n' >a.log            # rewritten, longer than its checkpoint
	printf 'x3\n' >>b.log
	printf 'X' | dd of=big.log bs=1 seek=500 conv=notrunc status=none   # one byte changed, same size
	gzip -c "$LOGHUB/Zookeeper_2k.log" >c.gz           # another file, longer than the checkpoint
	run --separate-stderr qw-parse --index res --format plain a.log b.log big.log c.gz
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >out
	diff <(docs out | jq -r .body) <(printf 'new1\nnew2\nnew3\nnew4\nx3\n'; lines big.log; lines "$LOGHUB/Zookeeper_2k.log")
	for f in a.log big.log c.gz; do
		[[ "$stderr" == *"qw-parse: the first bytes of '$f' changed since its checkpoint: reading it as a new file '$T/$f#1'"* ]]
	done
	[[ "$stderr" != *"'b.log'"* ]]
	controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to) \(.head)"' >cp
	zk=$(stat -c %s "$LOGHUB/Zookeeper_2k.log")
	[ "$(cat cp)" = "$T/a.log#1 0 20 $(head_ino a.log 20)
$T/b.log 6 9 $(head_ino b.log 9)
$T/big.log#1 0 $(stat -c %s big.log) $(head_ino big.log 9999)
$T/c.gz#1 0 $zk $(head_ino "$LOGHUB/Zookeeper_2k.log" "$zk" c.gz)" ]
}

@test "qw-parse --index reads a compressed file shorter than its checkpoint from 0 again" {
	require_shared_data
	setup_datadir
	cd "$T"
	head -n 100 "$LOGHUB/HDFS_2k.log" >short.log
	xz -c short.log >s.xz
	zstd -q -c short.log >s.zst
	big=$(stat -c %s "$LOGHUB/HDFS_2k.log")
	make_index_with_checkpoint "{\"$T/s.xz\": $big, \"$T/s.zst\": $big}" \
		"{\"$T/s.xz\": \"$(head_of short.log 1024)\", \"$T/s.zst\": \"$(head_of short.log 1024)\"}"
	run --separate-stderr qw-parse --index res --format plain s.xz s.zst
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >out
	diff <(docs out | jq -r .body) <(lines short.log short.log)
	[[ "$stderr" == *"'s.xz' is shorter than its checkpoint ($big bytes): reading it as a new file '$T/s.xz#1'"* ]]
	[[ "$stderr" == *"'s.zst' is shorter than its checkpoint ($big bytes): reading it as a new file '$T/s.zst#1'"* ]]
	[ "$(controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"' | tr '\n' ' ')" = \
	  "$T/s.xz#1 0 $(stat -c %s short.log) $T/s.zst#1 0 $(stat -c %s short.log) " ]
}

@test "the head of a checkpoint is published with its position; a rotated file is then a new partition" {
	require_shared_data
	setup_datadir
	cd "$T"
	cat >cfg.yaml <<-'YAML'
	version: 0.8
	index_id: rot
	doc_mapping:
	  mode: dynamic
	YAML
	qw index create --index-config cfg.yaml >/dev/null
	m=$QW_DATA_DIR/indexes/rot/metastore.json
	cp "$LOGHUB/Linux_2k.log" f.log
	run -0 qw-pipeline --index rot --once --quiet --format plain f.log
	size=$(stat -c %s f.log)
	[ "$(jq -c --arg p "$T/f.log" '[.checkpoints.files[$p], .checkpoint_heads.files[$p]]' "$m")" = \
	  "[$size,\"$(head_ino f.log "$size")\"]" ]
	# copy-truncate rotation: the new content is longer than the old one
	cp "$LOGHUB/Mac_2k.log" f.log
	[ "$(stat -c %s f.log)" -gt "$size" ]
	run -0 --separate-stderr qw-pipeline --index rot --once --format plain f.log
	[[ "$stderr" == *"the first bytes of 'f.log' changed since its checkpoint"* ]]
	[ "$(jq -c --arg p "$T/f.log" '.checkpoints.files | [.[$p], .[$p + "#1"]]' "$m")" = \
	  "[$size,$(stat -c %s f.log)]" ]
	[ "$(jq '[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add' "$m")" -eq 4000 ]
	# the same file again: nothing new
	run -0 --separate-stderr qw-pipeline --index rot --once --quiet --format plain f.log
	[[ "$stderr" != *"changed"* ]]
	[ "$(jq '[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add' "$m")" -eq 4000 ]
}

# wait_long COND: poll a condition for up to 30 s (the end of a rotated file
# takes ~5 s of idleness to be read).
wait_long() {
	local i
	for i in $(seq 600); do
		eval "$1" && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $1" >&2
	return 1
}

@test "qw-parse --follow reads what is written to a rotated file after the new one appeared, once" {
	cd "$T"
	printf 'a1\n' >app.log
	# the glob also matches the rotated name: it must not be read a second time
	qw-parse --format plain --follow 'app.log*' >out 2>err 3>&- &
	PARSE_PID=$!
	wait_for '[ "$(ndocs out)" -eq 1 ]'
	mv app.log app.log.1
	printf 'b1\n' >app.log                 # the new file
	wait_for '[ "$(ndocs out)" -eq 2 ]'
	printf 'a2\n' >>app.log.1              # the writer still had the old file open
	wait_for '[ "$(ndocs out)" -eq 3 ]'
	printf 'a3 without newline' >>app.log.1
	printf 'b2\n' >>app.log
	wait_for '[ "$(ndocs out)" -eq 4 ]'
	# once the rotated file is idle, its unterminated last line is read too
	wait_long '[ "$(ndocs out)" -eq 5 ]'
	printf 'a4\n' >>app.log.1              # too late: the rotated file is closed
	printf 'b3\n' >>app.log
	wait_for '[ "$(ndocs out)" -eq 6 ]'
	# the next rotation: every file moves one name up, the closed one is not read again
	mv app.log.1 app.log.2
	mv app.log app.log.1
	printf 'c1\n' >app.log
	wait_for '[ "$(ndocs out)" -eq 7 ]'
	printf 'b4\n' >>app.log.1
	wait_for '[ "$(ndocs out)" -eq 8 ]'
	kill -TERM "$PARSE_PID"
	wait "$PARSE_PID"
	PARSE_PID=
	[ "$(docs out | jq -r .body | tr '\n' ' ')" = "a1 b1 a2 b2 a3 without newline b3 c1 b4 " ]
	controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"' >cp
	[ "$(cat cp)" = "$T/app.log 0 3
$T/app.log#1 0 3
$T/app.log 3 6
$T/app.log#1 3 6
$T/app.log 6 24
$T/app.log#1 6 9
$T/app.log#2 0 3
$T/app.log#1 9 12" ]
}

@test "qw-parse --follow notices a file rewritten in place (copy-truncate without a visible truncation)" {
	cd "$T"
	printf 'c1\nc2\n' >ct.log
	qw-parse --format plain --follow ct.log >out 2>err 3>&- &
	PARSE_PID=$!
	wait_for '[ "$(ndocs out)" -eq 2 ]'
	# new first bytes over the old ones, then more: the size never goes down
	printf 'D1\nD2\n' | dd of=ct.log conv=notrunc status=none
	printf 'D3\n' >>ct.log
	wait_for '[ "$(ndocs out)" -eq 5 ]'
	kill -TERM "$PARSE_PID"
	wait "$PARSE_PID"
	PARSE_PID=
	[ "$(docs out | jq -r .body | tr '\n' ' ')" = "c1 c2 D1 D2 D3 " ]
	controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to) \(.head)"' >cp
	printf 'c1\nc2\n' >old
	[ "$(head -n 1 cp)" = "$T/ct.log 0 6 $(head_ino old 6 ct.log)" ]
	[ "$(grep -c "^$T/ct.log " cp)" -eq 1 ]
	[ "$(grep "^$T/ct.log#1 " cp | head -n 1 | cut -d' ' -f2)" -eq 0 ]
	[ "$(tail -n 1 cp | cut -d' ' -f1,3,4)" = "$T/ct.log#1 9 $(head_ino ct.log 9)" ]
}

# open_and_asleep PID FILE: process PID has FILE open and is sleeping.
open_and_asleep() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = "$2" ] || continue
		[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = S ]
		return
	done
	return 1
}

@test "qw-parse --follow keeps the head a resumed file had when opened: a later rewrite in place is a new file" {
	setup_datadir
	cd "$T"
	seq -f 'first version, line %g' 1 20 >rw.log
	size=$(stat -c %s rw.log)
	make_index_with_checkpoint "{\"$T/rw.log\": $size}"      # no head: published by an older qw-parse
	qw-parse --index res --format plain --follow rw.log >out 2>err 3>&- &
	PARSE_PID=$!
	# it has the file open and sleeps between polls: the file was resumed
	wait_for 'open_and_asleep "$PARSE_PID" "$T/rw.log"'
	# rewritten in place (same inode, never shorter), then more lines
	seq -f 'second version, line %g' 1 20 | dd of=rw.log conv=notrunc status=none
	echo 'appended' >>rw.log
	wait_for '[ "$(ndocs out)" -ge 21 ]'
	kill -TERM "$PARSE_PID"
	wait "$PARSE_PID"
	PARSE_PID=
	diff <(docs out | jq -r .body) <(cat rw.log)
	controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to) \(.head)"' >cp
	[ "$(cat cp)" = "$T/rw.log#1 0 $(stat -c %s rw.log) $(head_ino rw.log 1024)" ]
}

@test "qw-parse flushes before waiting on a pipe, commits on SIGUSR1 and stops on SIGTERM while stdin is idle" {
	cd "$T"
	mkfifo in
	qw-parse --format plain - <in >out 2>err 3>&- 4>&- &
	PARSE_PID=$!
	exec 4>in
	printf 'l1\nl2\n' >&4
	wait_for '[ "$(ndocs out)" -eq 2 ]'    # no more input yet: the documents are out
	kill -USR1 "$PARSE_PID"
	wait_for 'controls out | grep -q commit'
	printf 'l3\n' >&4
	wait_for '[ "$(ndocs out)" -eq 3 ]'
	kill -TERM "$PARSE_PID"
	wait "$PARSE_PID"
	PARSE_PID=
	exec 4>&-
	[ "$(docs out | jq -r .body | tr '\n' ' ')" = "l1 l2 l3 " ]
	[ "$(controls out | jq -c '[.type, .from, .to]' | tr '\n' ' ')" = \
	  '["checkpoint",0,6] ["commit",null,null] ["checkpoint",6,9] ["eof",null,null] ' ]
}

@test "qw-parse reads a 100 MB line with bounded memory (default --max-line-bytes)" {
	[ -x /usr/bin/time ] || skip "no /usr/bin/time"
	{
		printf '{"a":1}\n'
		head -c 100000000 /dev/zero | tr '\0' 'y'
		printf '\n{"a":2}\n'
	} >"$T/huge.ndjson"
	/usr/bin/time -f %M -o "$T/rss" qw-parse --dead-letter "$T/dl" "$T/huge.ndjson" >"$T/out" 2>"$T/err"
	[ "$(docs "$T/out" | jq -c .a | tr '\n' ' ')" = "1 2 " ]
	[ "$(jq -r '"\(.reason) \(.position)"' "$T/dl")" = "too_long 8" ]
	[ "$(controls "$T/out" | jq -r 'select(.type == "checkpoint") | .to')" -eq "$(stat -c %s "$T/huge.ndjson")" ]
	# peak memory well under the line's size (the limit is 10 MB)
	[ "$(tail -n 1 "$T/rss")" -lt 80000 ]
	rm -f "$T/huge.ndjson"
}

@test "qw-parse reports an unreadable file and a vanished one, and reads the others" {
	cd "$T"
	printf '{"a":1}\n' >1.ndjson
	ln -s "$T/gone/x" 2.ndjson               # expanded by the glob, gone when opened
	printf '{"a":3}\n' >3.ndjson
	run --separate-stderr qw-parse /proc/self/mem "$T/*.ndjson"
	[ "$status" -eq 74 ]
	[[ "$stderr" == *"qw-parse: cannot read '/proc/self/mem': Input/output error"* ]]
	[[ "$stderr" == *"qw-parse: cannot open '$T/2.ndjson': No such file or directory"* ]]
	[ "$(grep -v "^$RS" <<<"$output" | jq -c .a | tr '\n' ' ')" = "1 3 " ]
	[ "$(grep "^$RS" <<<"$output" | cut -c2- | jq -r 'select(.type == "eof") | .docs_valid')" -eq 2 ]
}

@test "qw-parse resumed after a kill at a random point gives exactly the missing documents" {
	require_shared_data
	setup_datadir
	cd "$T"
	cp "$LOGHUB/OpenStack_2k.log" in.log
	gzip -c in.log >in.gz
	make_index_with_checkpoint '{}'
	m=$QW_DATA_DIR/indexes/res/metastore.json
	lines in.log >want
	RANDOM=${QW_TEST_SEED:-1729}   # the cut points are reproducible; set QW_TEST_SEED for others
	for f in in.log in.gz in.log in.gz; do
		# the whole output, to pick a random point in it
		full=$(qw-parse --format plain --checkpoint-every 37 "$f" | wc -c)
		cut=$(( (RANDOM * 32768 + RANDOM) % full + 1 ))
		jq --argjson cp '{}' '.checkpoints.files = $cp | .checkpoint_heads.files = $cp' "$m" >m.new && mv m.new "$m"
		# the reader goes away after $cut bytes: qw-parse dies of SIGPIPE there
		{ qw-parse --index res --format plain --checkpoint-every 37 "$f" 2>/dev/null || true; } | head -c "$cut" >part
		# what would have been published: the documents before the last whole
		# checkpoint record (the cut may fall inside a record: not one of those)
		head -n "$(tr -dc '\n' <part | wc -c)" part >whole
		last=$(grep -n "^$RS" whole | grep '"checkpoint"' | tail -n 1 | cut -d: -f1)
		to=0
		if [ -n "$last" ]; then
			to=$(sed -n "${last}p" part | cut -c2- | jq -r .to)
			head -n "$last" part >covered
		else
			: >covered
		fi
		if [ "$to" -gt 0 ]; then
			jq --arg p "$T/$f" --argjson to "$to" --arg h "$(head_of in.log "$to")" \
				'.checkpoints.files[$p] = $to | .checkpoint_heads.files[$p] = $h' "$m" >m.new && mv m.new "$m"
		fi
		qw-parse --index res --format plain --checkpoint-every 37 "$f" >rest 2>err
		# the covered documents, then the resumed ones: every line once, in order
		diff <(docs covered | jq -r .body; docs rest | jq -r .body) want
		if [ "$to" -gt 0 ]; then
			[ "$(controls rest | jq -r 'select(.type == "checkpoint") | .from' | head -n 1)" -eq "$to" ]
		fi
		[[ "$(cat err)" != *"new file"* ]]
	done
}

@test "qw-parse --source names the source of checkpoints and dead letters, and resumes from it" {
	setup_datadir
	cd "$T"
	printf 'x\n{"a":1}\n{"a":2}\n' >s.ndjson
	make_index_with_checkpoint "{\"$T/s.ndjson\": 2}"     # the checkpoint of source "files"
	qw-parse --source other --dead-letter dl --format ndjson s.ndjson >out 2>/dev/null
	[ "$(controls out | jq -r 'select(.type == "checkpoint") | .source')" = other ]
	[ "$(jq -r .source dl)" = other ]
	m=$QW_DATA_DIR/indexes/res/metastore.json
	jq --arg p "$T/s.ndjson" '.checkpoints.other = {($p): 10}' "$m" >m.new && mv m.new "$m"
	qw-parse --index res --source other --format ndjson s.ndjson >out2 2>/dev/null
	[ "$(docs out2)" = '{"a":2}' ]
	qw-parse --index res --format ndjson s.ndjson >out3 2>/dev/null
	[ "$(docs out3 | jq -c .a | tr '\n' ' ')" = "1 2 " ]
}

@test "qw-parse --follow reads a compressed file that appears in a followed directory once, to its end" {
	cd "$T"
	mkdir d
	printf 'p1\n' >d/a.log
	qw-parse --format plain --follow d >out 2>err 3>&- &
	PARSE_PID=$!
	wait_for '[ "$(ndocs out)" -eq 1 ]'
	printf 'z1\nz2\nz3 no newline' | gzip -c >tmp.gz
	mv tmp.gz d/b.gz                      # appears whole, under its final name
	wait_for '[ "$(ndocs out)" -eq 4 ]'
	printf 'p2\n' >>d/a.log
	wait_for '[ "$(ndocs out)" -eq 5 ]'
	kill -TERM "$PARSE_PID"
	wait "$PARSE_PID"
	PARSE_PID=
	[ "$(docs out | jq -r .body | tr '\n' ' ')" = "p1 z1 z2 z3 no newline p2 " ]
	[ "$(controls out | jq -r 'select(.type == "checkpoint" and .partition == "'"$T"'/d/b.gz") | "\(.from) \(.to)"')" = "0 $(printf 'z1\nz2\nz3 no newline' | wc -c)" ]
}

@test "qw-parse --index resumes a file renamed since its checkpoint as its old partition, not a copy of a file still there" {
	require_shared_data
	setup_datadir
	cd "$T"
	cp "$LOGHUB/Linux_2k.log" app.log
	cp "$LOGHUB/Mac_2k.log" big.log
	at=$(head -n 1500 app.log | wc -c)
	at_big=$(head -n 1000 big.log | wc -c)
	make_index_with_checkpoint "{\"$T/app.log\": $at, \"$T/big.log\": $at_big}" \
		"{\"$T/app.log\": \"$(head_of app.log "$at")\", \"$T/big.log\": \"$(head_of big.log "$at_big")\"}"
	mv app.log app.log.1                  # rotated by rename while qw-parse was not running
	printf 'new1\nnew2\n' >app.log         # ... and a new file at the path
	cp big.log a-copy.log                 # a copy of a file that is still there
	run --separate-stderr qw-parse --index res --format plain "$T/a-copy.log" "$T/app.log*" "$T/big.log"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >out
	diff <(docs out | jq -r .body) <(lines a-copy.log; printf 'new1\nnew2\n'; lines app.log.1 | tail -n +1501; lines big.log | tail -n +1001)
	[[ "$stderr" == *"qw-parse: '$T/app.log.1' starts as '$T/app.log' did (renamed): resuming it at $at"* ]]
	controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"' >cp
	[ "$(cat cp)" = "$T/a-copy.log 0 $(stat -c %s a-copy.log)
$T/app.log#1 0 10
$T/app.log $at $(stat -c %s app.log.1)
$T/big.log $at_big $(stat -c %s big.log)" ]
}

@test "qw-parse --index resumes numbered rotations (app.log -> app.log.1 -> app.log.2) instead of reading them again" {
	setup_datadir
	cd "$T"
	seq -f 'older rotation, line %g' 1 150 >app.log.1
	seq -f 'current file, line %g' 1 150 >app.log
	s1=$(stat -c %s app.log.1)
	s0=$(stat -c %s app.log)
	make_index_with_checkpoint "{\"$T/app.log\": $s0, \"$T/app.log.1\": $s1}" \
		"{\"$T/app.log\": \"$(head_of app.log "$s0")\", \"$T/app.log.1\": \"$(head_of app.log.1 "$s1")\"}"
	echo 'written before the rotation' >>app.log
	mv app.log.1 app.log.2                # logrotate: every file moves one number up
	mv app.log app.log.1
	printf 'new1\nnew2\n' >app.log
	run --separate-stderr qw-parse --index res --format plain "$T/app.log*"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >out
	diff <(docs out | jq -r .body) <(printf 'new1\nnew2\nwritten before the rotation\n')
	[[ "$stderr" == *"qw-parse: '$T/app.log.1' starts as '$T/app.log' did (renamed): resuming it at $s0"* ]]
	[[ "$stderr" == *"qw-parse: '$T/app.log.2' starts as '$T/app.log.1' did (renamed): resuming it at $s1"* ]]
	controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"' >cp
	[ "$(cat cp)" = "$T/app.log#1 0 10
$T/app.log $s0 $(stat -c %s app.log.1)" ]
}

# store_checkpoints OUT: make the index "res" with the last checkpoint of each
# partition in the qw-parse output OUT (positions and heads as qw-parse wrote them).
store_checkpoints() {
	local c
	c=$(controls "$1" | jq -s 'map(select(.type == "checkpoint")) | map({(.partition): .})| add')
	make_index_with_checkpoint "$(jq -c 'map_values(.to)' <<<"$c")" "$(jq -c 'map_values(.head)' <<<"$c")"
}

# fixed_header: 1440 bytes that start every file of a log (more than a head).
fixed_header() {
	seq -f 'FIXED HEADER LINE %04g' 1 60
}

@test "qw-parse --index does not resume a new file that only starts as a deleted checkpointed one did" {
	setup_datadir
	cd "$T"
	{ fixed_header; seq -f 'run one, line %g' 1 50; } >run-1.log
	qw-parse --format plain run-1.log >first
	store_checkpoints first
	{ fixed_header; seq -f 'run two, line %g' 1 100; } >run-2.log    # longer than run-1.log
	rm run-1.log
	run --separate-stderr qw-parse --index res --format plain "$T/run-*.log"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >out
	diff <(docs out | jq -r .body) run-2.log
	[[ "$stderr" != *"renamed"* ]]
	[ "$(controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"')" = \
	  "$T/run-2.log 0 $(stat -c %s run-2.log)" ]
}

@test "qw-parse --index follows numbered rotations of files that all start with the same header (by inode)" {
	setup_datadir
	cd "$T"
	{ fixed_header; seq -f 'older rotation, line %g' 1 50; } >app.log.1
	{ fixed_header; seq -f 'current file, line %g' 1 150; } >app.log
	qw-parse --format plain "$T/app.log*" >first
	store_checkpoints first
	s0=$(stat -c %s app.log)
	s1=$(stat -c %s app.log.1)
	echo 'written before the rotation' >>app.log
	mv app.log.1 app.log.2
	mv app.log app.log.1
	{ fixed_header; printf 'new1\nnew2\n'; } >app.log
	run --separate-stderr qw-parse --index res --format plain "$T/app.log*"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >out
	diff <(docs out | jq -r .body) <(cat app.log; echo 'written before the rotation')
	[[ "$stderr" == *"qw-parse: '$T/app.log.1' starts as '$T/app.log' did (renamed): resuming it at $s0"* ]]
	[[ "$stderr" == *"qw-parse: '$T/app.log.2' starts as '$T/app.log.1' did (renamed): resuming it at $s1"* ]]
	[ "$(controls out | jq -r 'select(.type == "checkpoint") | "\(.partition) \(.from) \(.to)"')" = \
	  "$T/app.log#1 0 $(stat -c %s app.log)
$T/app.log $s0 $(stat -c %s app.log.1)" ]
}

# The process $1 runs qw-parse, has its SIGTERM handler installed and sleeps.
term_caught_and_asleep() {
	local c s
	[ "$(basename "$(readlink "/proc/$1/exe")")" = qw-parse ] || return 1
	c=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	s=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$c" ] && (( 0x$c & 0x4000 )) && [ "$s" = S ]
}

@test "qw-parse stops on SIGTERM while it waits for the first bytes of stdin" {
	cd "$T"
	mkfifo in
	qw-parse - <in >out 2>err 3>&- 4>&- &
	PARSE_PID=$!
	exec 4>in                              # a writer that never writes
	wait_for 'term_caught_and_asleep "$PARSE_PID"'
	kill -TERM "$PARSE_PID"
	st=0
	wait "$PARSE_PID" || st=$?
	PARSE_PID=
	exec 4>&-
	[ "$st" -eq 0 ]
	[ "$(controls out | jq -c '[.type, .docs_read]')" = '["eof",0]' ]
}
