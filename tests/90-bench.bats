#!/usr/bin/env bats
# bench/: the data generator (bench/lib/gen-data) and bench/run's options.
# The bench itself runs from .ci/run (bench/run --quick), not here.

load helpers

gen=$QW_SRCDIR/bench/lib/gen-data

# A small source tree shaped like ../shared/data: three events with
# @timestamp (one on 29 February), one without, and a Hadoop log with CRLF,
# a line without timestamp and no final newline.
make_src() {
	src=$BATS_TEST_TMPDIR/src
	mkdir -p "$src/otrf" "$src/loghub"
	cat > "$src/base.ndjson" <<'EOF'
{"@timestamp":"2019-05-18T20:36:46.254Z","Message":"a","UtcTime":"2019-05-18 20:36:46"}
{"TimeCreated":"2020-10-18 10:56:18.799","Message":"no timestamp"}
{"@timestamp":"2020-02-29T01:00:00.000Z","Message":"leap day"}
{"@timestamp":"2022-08-18T05:36:44.372Z","Message":"c"}
EOF
	zstd -q -c "$src/base.ndjson" > "$src/otrf/otrf-windows-events.ndjson.zst"
	printf '2015-10-18 18:01:47,978 INFO first\r\n  continuation\r\n2015-10-18 18:10:55,202 WARN last' \
		> "$src/loghub/Hadoop_2k.log"
	# the three valid lines, as gen-data keeps them
	grep -F '"@timestamp":"' "$src/base.ndjson" > "$src/valid.ndjson"
	base_bytes=$(stat -c %s "$src/valid.ndjson")
}

@test "gen-data repeats the events with @timestamp, each copy 4 years later" {
	make_src
	out=$BATS_TEST_TMPDIR/out
	run "$gen" "$src" "$out" $((3 * base_bytes))
	[ "$status" -eq 0 ]
	grep -qx 'copies=3' "$out/data.env"
	grep -qx 'shift_years=4' "$out/data.env"
	[ "$(wc -l < "$out/otrf.ndjson")" -eq 9 ]
	# oracle: jq moves the year of every valid line by 4k for copy k
	expected=$(for k in 0 1 2; do
		jq -c --argjson k "$k" '.["@timestamp"] |= ((.[0:4] | tonumber + 4 * $k | tostring) + .[4:])' "$src/valid.ndjson"
	done)
	[ "$(jq -c . "$out/otrf.ndjson")" = "$expected" ]
	# every shifted timestamp is still a valid date (29 February of 2024 and 2028)
	jq -r '.["@timestamp"] | .[0:19] + "Z" | fromdateiso8601' "$out/otrf.ndjson" > /dev/null
	[ "$(grep -c '"@timestamp":"2028-02-29T' "$out/otrf.ndjson")" -eq 1 ]
	# the .zst file holds the same bytes
	cmp <(zstd -dcq "$out/otrf.ndjson.zst") "$out/otrf.ndjson"
}

@test "gen-data cuts one copy at a line boundary when the size is smaller" {
	make_src
	out=$BATS_TEST_TMPDIR/out
	run "$gen" "$src" "$out" $((base_bytes - 5))
	[ "$status" -eq 0 ]
	grep -qx 'copies=1' "$out/data.env"
	cmp "$out/otrf.ndjson" <(head -n 2 "$src/valid.ndjson")
}

@test "gen-data dates each copy of the Hadoop log one day later, without CR" {
	make_src
	out=$BATS_TEST_TMPDIR/out
	run "$gen" "$src" "$out" 4000
	[ "$status" -eq 0 ]
	! grep -q $'\r' "$out/hadoop.log"
	n=$(( $(wc -l < "$out/hadoop.log") / 3 ))
	[ "$n" -ge 2 ]
	[ "$(wc -l < "$out/hadoop.log")" -eq $((3 * n)) ]
	for ((k = 0; k < n; k++)); do
		d=$(date -ud "2015-10-18 + $k days" +%F)
		[ "$(sed -n "$((3 * k + 1))p" "$out/hadoop.log")" = "$d 18:01:47,978 INFO first" ]
		[ "$(sed -n "$((3 * k + 2))p" "$out/hadoop.log")" = "  continuation" ]
		[ "$(sed -n "$((3 * k + 3))p" "$out/hadoop.log")" = "$d 18:10:55,202 WARN last" ]
	done
}

@test "gen-data gives the same bytes on a second run and keeps them for the same size" {
	make_src
	"$gen" "$src" "$BATS_TEST_TMPDIR/a" $((2 * base_bytes))
	"$gen" "$src" "$BATS_TEST_TMPDIR/b" $((2 * base_bytes))
	cmp "$BATS_TEST_TMPDIR/a/otrf.ndjson" "$BATS_TEST_TMPDIR/b/otrf.ndjson"
	cmp "$BATS_TEST_TMPDIR/a/hadoop.log" "$BATS_TEST_TMPDIR/b/hadoop.log"
	touch -d '2000-01-01' "$BATS_TEST_TMPDIR/a/otrf.ndjson"
	"$gen" "$src" "$BATS_TEST_TMPDIR/a" $((2 * base_bytes))
	[ "$(stat -c %Y "$BATS_TEST_TMPDIR/a/otrf.ndjson")" -lt 1000000000 ]
}

@test "bench/run --help prints its usage on stdout and exits 0" {
	run --separate-stderr "$QW_SRCDIR/bench/run" --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Usage: bench/run "* ]]
	[ -z "$stderr" ]
}

@test "bench/run rejects an unknown option and a bad size with exit 64" {
	run --separate-stderr "$QW_SRCDIR/bench/run" --frobnicate
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"Usage: bench/run"* ]]
	run --separate-stderr "$QW_SRCDIR/bench/run" --size 12X
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"bad --size"* ]]
}
