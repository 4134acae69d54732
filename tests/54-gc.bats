#!/usr/bin/env bats
# qw-gc: dead generations, expired staged splits, marked splits.
load helpers
load pipeline-helpers

setup() {
	setup_datadir
	make_index gc-idx
	OLD=$(qw-publish --new-token --index gc-idx --source s1)
	make_packaged gc-idx s1 "$OLD" 3 "$BATS_TEST_TMPDIR/packaged"
	qw-upload <"$BATS_TEST_TMPDIR/packaged" >"$BATS_TEST_TMPDIR/uploaded"
	# publish the first split only
	head -1 "$BATS_TEST_TMPDIR/uploaded" | qw-publish >/dev/null
	SPLITS=$QW_DATA_DIR/indexes/gc-idx/splits
}

@test "qw-gc keeps the staged splits of the live generation" {
	run -0 qw-gc --index gc-idx
	[ -z "$output" ]
	[ "$(split_states gc-idx | grep -c Staged)" = 2 ]
	[ "$(ls "$SPLITS" | wc -l)" = 3 ]
}

@test "qw-gc removes the staged splits of a dead generation, files and records" {
	qw-publish --new-token --index gc-idx --source s1 >/dev/null
	run -0 qw-gc --index gc-idx
	diff <(echo "$output" | sort) <(sed -n '2,3p' "$BATS_TEST_TMPDIR/ids" | sed 's/$/ dead_generation/')
	diff <(split_states gc-idx) <(sed -n 1p "$BATS_TEST_TMPDIR/ids" | sed 's/$/ Published/')
	diff <(ls "$SPLITS") <(sed -n 1p "$BATS_TEST_TMPDIR/ids" | sed 's/$/.split/')
}

@test "qw-gc --dry-run lists without removing" {
	qw-publish --new-token --index gc-idx --source s1 >/dev/null
	cp "$(meta gc-idx)" "$BATS_TEST_TMPDIR/before"
	run -0 qw-gc --index gc-idx --dry-run
	[ "$(echo "$output" | wc -l)" = 2 ]
	cmp "$BATS_TEST_TMPDIR/before" "$(meta gc-idx)"
	[ "$(ls "$SPLITS" | wc -l)" = 3 ]
}

@test "qw-gc removes staged splits older than the grace period" {
	run -0 qw-gc --index gc-idx --grace-period 0
	[ "$(echo "$output" | awk '{print $2}' | sort -u)" = staged_expired ]
	[ "$(split_states gc-idx | wc -l)" = 1 ]
}

@test "qw-gc removes an orphan split file after the deletion grace period" {
	id=01JGC0000000000000000000XZ
	echo junk >"$SPLITS/$id.split"
	run -0 qw-gc --index gc-idx --deletion-grace-period 0
	[ "$output" = "$id orphan_file" ]
	[ ! -e "$SPLITS/$id.split" ]
	[ "$(ls "$SPLITS" | wc -l)" = 3 ]
}

@test "qw-gc fails with 66 on an unknown index" {
	run -66 qw-gc --index no-such-index
}

@test "qw-gc needs --index" {
	run -64 qw-gc
}

@test "usage, man page and completion of qw-upload, qw-publish, qw-pipeline and qw-gc name the same options" {
	for p in qw-upload qw-publish qw-pipeline qw-gc; do
		usage=$("$p" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
		man=$(grep -o -- 'Fl \\-[a-z][a-z-]*' "$QW_SRCDIR/man/$p.1" | sed 's/Fl \\-/--/' | sort -u)
		comp=$(grep -o -- '--[a-z][a-z-]*' "$QW_SRCDIR/completions/$p" | sort -u)
		diff <(echo "$usage") <(echo "$man")
		diff <(echo "$usage") <(echo "$comp")
	done
}
