#!/usr/bin/env bats
# The split file format: a split made by qw-index | qw-package reads back
# whole, and a truncated or corrupted split is refused with a data error
# (65), never a crash or a sanitizer report.
# Oracles: jq counts over the raw input; the digest of the intact file.
load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	SPLIT_TEST=$QW_BUILDDIR/tests/unit/split_test
	[ -x "$SPLIT_TEST" ] || { echo "missing $SPLIT_TEST (make check builds it)" >&2; return 1; }
}

# flip FILE OFFSET: xor the byte at OFFSET with 0x5a, in place
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 0x5a)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

no_sanitizer_report() {
	! grep -q -e Sanitizer -e 'runtime error' <<<"$1"
}

@test "qw-index | qw-package on Windows events gives a split that verifies and reads back whole" {
	cfg=$QW_SRCDIR/examples/windows-events.yaml
	zstd -dc "$QW_SRCDIR/examples/windows-events.ndjson.zst" >"$T/in.ndjson"
	want=$(jq -c 'select(has("@timestamp"))' "$T/in.ndjson" | wc -l)
	qw-index -c "$cfg" -s "$T/scratch" --drain-ms 0 <"$T/in.ndjson" >"$T/split.rec"
	qw-package -c "$cfg" <"$T/split.rec" >"$T/pk.rec"
	f=$(tr -d '\036' <"$T/pk.rec" | jq -r 'select(.type == "packaged") | .splits[].path')
	[ -f "$f" ]
	run --separate-stderr qw --format json split describe --verify "$f"
	[ "$status" -eq 0 ]
	[ "$(jq .metadata.num_docs <<<"$output")" -eq "$want" ]
	[ "$(jq .verified <<<"$output")" = true ]
	[ "$(jq '.sections | map(.size) | add' <<<"$output")" -eq "$(stat -c %s "$f")" ]
	# the Channel tags are the distinct Channel values (at most 1000)
	diff <(jq -r '.metadata.tags[] | select(startswith("Channel:"))' <<<"$output") \
		<(jq -r 'select(has("@timestamp")) | .Channel // empty' "$T/in.ndjson" | sort -u | sed 's/^/Channel:/' | LC_ALL=C sort)
	run --separate-stderr "$SPLIT_TEST" --digest "$f"
	[ "$status" -eq 0 ]
}

@test "every truncation of a split is refused with a data error" {
	"$SPLIT_TEST" --build 120 "$T/s.split"
	size=$(stat -c %s "$T/s.split")
	for cut in 0 1 39 40 41 $(seq 100 1499 "$size") $(seq $((size - 70)) 9 $((size - 1))); do
		[ "$cut" -lt "$size" ] || continue
		head -c "$cut" "$T/s.split" >"$T/cut.split"
		run --separate-stderr qw split describe "$T/cut.split"
		[ "$status" -eq 65 ] || { echo "cut at $cut: status $status: $stderr"; return 1; }
		no_sanitizer_report "$stderr"
	done
}

@test "a flipped byte anywhere gives a data error or the very same reading, never a crash" {
	"$SPLIT_TEST" --build 120 "$T/s.split"
	good=$("$SPLIT_TEST" --digest "$T/s.split")
	size=$(stat -c %s "$T/s.split")
	errors=0
	for at in $(seq 5 613 "$size") $(seq $((size - 60)) 13 $((size - 1))); do
		[ "$at" -lt "$size" ] || continue
		cp "$T/s.split" "$T/f.split"
		flip "$T/f.split" "$at"
		! cmp -s "$T/s.split" "$T/f.split"
		run --separate-stderr "$SPLIT_TEST" --digest "$T/f.split"
		no_sanitizer_report "$stderr"
		if [ "$status" -eq 0 ]; then
			[ "$output" = "$good" ] || { echo "flip at $at: wrong reading"; return 1; }
		else
			[ "$status" -eq 65 ] || { echo "flip at $at: status $status: $stderr"; return 1; }
			errors=$((errors + 1))
		fi
		# describe --verify checks every section checksum
		run --separate-stderr qw split describe --verify "$T/f.split"
		[ "$status" -eq 65 ] || { echo "verify missed the flip at $at"; return 1; }
	done
	[ "$errors" -gt 0 ]
}

@test "a file that is not a split is refused by name" {
	printf 'hello, this is not a split file at all, but it is long enough to hold a trailer\n' >"$T/x.split"
	run --separate-stderr qw split describe "$T/x.split"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"x.split"* ]]
	[[ "$stderr" == *"not a split"* ]]
}
