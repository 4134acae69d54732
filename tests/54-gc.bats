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

@test "qw-gc removes splits marked for deletion once the deletion grace period is over" {
	old=$(sed -n 2p "$BATS_TEST_TMPDIR/ids")
	new=$(sed -n 3p "$BATS_TEST_TMPDIR/ids")
	now=$(date +%s)
	# (a fixture: mark two splits by hand, one an hour ago, one now)
	jq --arg o "$old" --arg n "$new" --argjson now "$now" '
		.splits[$o].split_state = "MarkedForDeletion" | .splits[$o].update_timestamp = ($now - 3600) |
		.splits[$n].split_state = "MarkedForDeletion" | .splits[$n].update_timestamp = $now' \
		"$(meta gc-idx)" >"$BATS_TEST_TMPDIR/m" && mv "$BATS_TEST_TMPDIR/m" "$(meta gc-idx)"
	run -0 qw-gc --index gc-idx --deletion-grace-period 600
	[ "$output" = "$old marked_expired" ]
	[ ! -e "$SPLITS/$old.split" ]
	[ -e "$SPLITS/$new.split" ]
	diff <(split_states gc-idx) <({ sed -n 1p "$BATS_TEST_TMPDIR/ids" | sed 's/$/ Published/'
		echo "$new MarkedForDeletion"; } | sort)
}

@test "qw-gc removes an orphan split file after the deletion grace period" {
	id=01JGC0000000000000000000XZ
	echo junk >"$SPLITS/$id.split"
	run -0 qw-gc --index gc-idx --deletion-grace-period 0
	[ "$output" = "$id orphan_file" ]
	[ ! -e "$SPLITS/$id.split" ]
	[ "$(ls "$SPLITS" | wc -l)" = 3 ]
}

@test "qw-gc removes the temp files of atomic writes that died, and nothing that only looks like one" {
	id=$(sed -n 1p "$BATS_TEST_TMPDIR/ids")
	ix=$QW_DATA_DIR/indexes/gc-idx
	for f in "$SPLITS/$id.split.tmp-AbC123xyZ0" "$ix/metastore.json.tmp-0123456789"; do
		echo partial >"$f"
		touch -d '1 hour ago' "$f"
	done
	# a fresh temp (a writer may be running), and names that are not temps of ours
	echo partial >"$SPLITS/$id.split.tmp-fresh00000"
	for f in "$SPLITS/$id.split.tmp-short" "$SPLITS/notulid.split.tmp-AbC123xyZ0" "$ix/other.tmp-0123456789"; do
		echo user >"$f"
		touch -d '1 hour ago' "$f"
	done
	run -0 qw-gc --index gc-idx --deletion-grace-period 600 --dry-run
	[ "$(echo "$output" | grep -c ' stale_temp$')" = 2 ]
	[ -e "$SPLITS/$id.split.tmp-AbC123xyZ0" ]
	run -0 qw-gc --index gc-idx --deletion-grace-period 600
	diff <(echo "$output" | grep ' stale_temp$' | sort) \
	     <(printf '%s stale_temp\n' "$SPLITS/$id.split.tmp-AbC123xyZ0" "$ix/metastore.json.tmp-0123456789" | sort)
	[ ! -e "$SPLITS/$id.split.tmp-AbC123xyZ0" ]
	[ ! -e "$ix/metastore.json.tmp-0123456789" ]
	[ -e "$SPLITS/$id.split.tmp-fresh00000" ]
	[ -e "$SPLITS/$id.split.tmp-short" ]
	[ -e "$SPLITS/notulid.split.tmp-AbC123xyZ0" ]
	[ -e "$ix/other.tmp-0123456789" ]
	[ -e "$SPLITS/$id.split" ]
}

teardown() {
	if [ -n "${LIVE:-}" ] && kill -0 "$LIVE" 2>/dev/null; then
		kill -KILL "$LIVE" 2>/dev/null || true
	fi
}

@test "qw-gc removes the scratch dir of a killed pipeline, not the one of a live pipeline" {
	make_index gc-dead
	make_index gc-live
	printf '{"a":1}\n' >"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index gc-dead --follow --quiet --status-file "$BATS_TEST_TMPDIR/dead.json" \
		"$BATS_TEST_TMPDIR/in.ndjson" >/dev/null 2>&1 3>&- &
	dead=$!
	wait_until 60 status_is "$BATS_TEST_TMPDIR/dead.json" running
	kill -KILL "$dead"
	wait "$dead" || true
	qw-pipeline --index gc-live --follow --quiet --status-file "$BATS_TEST_TMPDIR/live.json" \
		"$BATS_TEST_TMPDIR/in.ndjson" >/dev/null 2>&1 3>&- &
	LIVE=$!
	wait_until 60 status_is "$BATS_TEST_TMPDIR/live.json" running
	ls "$QW_DATA_DIR/scratch" >"$BATS_TEST_TMPDIR/before"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/before")" = 2 ]
	# a dir without a lock file (not a pipeline's, or from before locks): by age
	mkdir "$QW_DATA_DIR/scratch/01JGC0000000000000000000SC"
	touch -d '1 hour ago' "$QW_DATA_DIR/scratch/01JGC0000000000000000000SC"
	run -0 qw-gc --index gc-dead --dry-run
	[ "$(echo "$output" | grep -c ' dead_pipeline$')" = 2 ]
	[ "$(ls "$QW_DATA_DIR/scratch" | wc -l)" = 3 ]
	run -0 qw-gc --index gc-dead
	gone=$(echo "$output" | awk '$2 == "dead_pipeline" {print $1}' | sort)
	[ "$(echo "$gone" | wc -l)" = 2 ]
	echo "$gone" | grep -qx 01JGC0000000000000000000SC
	# what is left is the live pipeline's dir, and it still runs
	left=$(ls "$QW_DATA_DIR/scratch")
	[ "$(echo "$left" | wc -l)" = 1 ]
	[ -e "$QW_DATA_DIR/scratch/$left/lock" ]
	kill -0 "$LIVE"
	kill -TERM "$LIVE"
	wait "$LIVE"
	# a pipeline that exits removes its own
	[ -z "$(ls -A "$QW_DATA_DIR/scratch")" ]
}

# Run qw-gc on a copy of the data dir inside a tiny tmpfs filled to the
# last block (a private mount namespace: needs root and unshare). Leaves
# before.json/after.json (the metastore), before.ls/after.ls (the splits),
# after-index.ls (the index dir),
# out and err in $BATS_TEST_TMPDIR; returns qw-gc's status.
gc_on_full_disk() {
	if ! unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs "$1"' _ "$BATS_TEST_TMPDIR" 2>/dev/null; then
		skip "cannot mount a tmpfs in a private mount namespace (needs root and unshare)"
	fi
	mkdir "$BATS_TEST_TMPDIR/full"
	unshare -m bash -c '
		set -e
		mnt=$1 t=$2; shift 2
		mount -t tmpfs -o size=4m tmpfs "$mnt"
		cp -a "$QW_DATA_DIR"/. "$mnt"/
		dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null || true
		! echo x 2>/dev/null >"$mnt/probe"
		[ ! -s "$mnt/probe" ]
		cp "$mnt/indexes/gc-idx/metastore.json" "$t/before.json"
		ls "$mnt/indexes/gc-idx/splits" >"$t/before.ls"
		rc=0
		qw-gc --data-dir "$mnt" "$@" >"$t/out" 2>"$t/err" || rc=$?
		cp "$mnt/indexes/gc-idx/metastore.json" "$t/after.json"
		ls -A "$mnt/indexes/gc-idx/splits" >"$t/after.ls"
		ls -A "$mnt/indexes/gc-idx" >"$t/after-index.ls"
		exit $rc' _ "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR" "$@"
}

@test "qw-gc with nothing to remove runs on a full disk and writes nothing" {
	run -0 gc_on_full_disk --index gc-idx
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	cmp "$BATS_TEST_TMPDIR/before.json" "$BATS_TEST_TMPDIR/after.json"
}

@test "qw-gc that must write on a full disk says so, exits 74 and loses nothing" {
	qw-publish --new-token --index gc-idx --source s1 >/dev/null
	run -74 gc_on_full_disk --index gc-idx
	grep -q "^qw-gc: .*No space left on device" "$BATS_TEST_TMPDIR/err"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" = 1 ]
	cmp "$BATS_TEST_TMPDIR/before.json" "$BATS_TEST_TMPDIR/after.json"
	# every split file is still there, and no temp file is left behind
	diff "$BATS_TEST_TMPDIR/after.ls" "$BATS_TEST_TMPDIR/before.ls"
	! grep -q 'tmp' "$BATS_TEST_TMPDIR/after-index.ls"
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
