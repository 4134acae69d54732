#!/usr/bin/env bats
# s3:// storage against s3rver on a loopback port (tests/s3-helpers.bash).

load helpers
load s3-helpers

setup() {
	start_s3rver
}

teardown() {
	stop_fault_proxy
	stop_s3rver
}

@test "the S3 client puts, gets ranges, lists, deletes and uploads multipart against s3rver" {
	export S3_TEST_TMPDIR=$BATS_TEST_TMPDIR
	# 5 MiB parts so that an 11 MiB file is a 3-part upload
	export QW_S3_MULTIPART_THRESHOLD=1 QW_S3_PART_SIZE=5242880
	run "$QW_BUILDDIR/tests/unit/s3_test"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep '^not ok' <<<"$output")" ]
	[ -z "$(grep 'live tests not run' <<<"$output")" ]
	# the server's own files agree with what the client wrote
	[ "$(s3rver_keys t/)" = "$(printf 't/big\nt/two')" ]
	cmp <(head -c 0 /dev/null) "$S3RVER_DIR/$S3_BUCKET/t/two._S3rver_object"
}

# s3_index ID: a dynamic index whose splits go to s3://$S3_BUCKET/idx/ID.
s3_index() {
	printf 'version: 0.8\nindex_id: %s\nindex_uri: s3://%s/idx/%s/\ndoc_mapping:\n  mode: dynamic\n' \
		"$1" "$S3_BUCKET" "$1" >"$BATS_TEST_TMPDIR/$1.yaml"
	qw index create --index-config "$BATS_TEST_TMPDIR/$1.yaml"
}

# ndjson N: N documents {"n": i, "w": "word<i>"}, independent of qw.
ndjson() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"n\":%d,\"w\":\"word%d\"}\n", i, i }'
}

# The bucket's split objects of index $1, as "<split_id>" lines, sorted.
bucket_splits() {
	s3rver_keys "idx/$1/" | sed -e "s|^idx/$1/||" -e 's|\.split$||'
}

published() {
	qw split list --index "$1" --format json |
		jq -r '.[] | select(.split_state == "Published") | .split_id' | LC_ALL=C sort
}

@test "an s3:// index_uri is accepted, normalised and refused when its bucket name is invalid" {
	setup_datadir
	run -0 s3_index s3a
	[ "$output" = "Index 's3a' created at s3://$S3_BUCKET/idx/s3a" ]
	[ "$(qw index describe s3a --format json | jq -r .index_uri)" = "s3://$S3_BUCKET/idx/s3a" ]
	printf 'version: 0.8\nindex_id: s3b\nindex_uri: s3://Bad_Bucket/x\ndoc_mapping:\n  mode: dynamic\n' \
		>"$BATS_TEST_TMPDIR/b.yaml"
	run --separate-stderr -65 qw index create --index-config "$BATS_TEST_TMPDIR/b.yaml"
	[[ "$stderr" == *"index_uri: "*"invalid bucket name 'Bad_Bucket'"* ]]
}

@test "splits of an s3:// index go to the bucket, search reads them there, delete removes them" {
	setup_datadir
	s3_index s3i
	ndjson 300 >"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index s3i --once --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index s3i --once --quiet "$BATS_TEST_TMPDIR/in.ndjson" 2>/dev/null || true
	# no split file on local disk; the bucket holds exactly the published splits
	[ -z "$(find "$QW_DATA_DIR" -name '*.split')" ]
	[ -n "$(bucket_splits s3i)" ]
	diff <(bucket_splits s3i) <(published s3i)
	# search answers like awk over the input (each document once)
	[ "$(qw-search --index s3i --format count)" = "$(wc -l <"$BATS_TEST_TMPDIR/in.ndjson")" ]
	[ "$(qw-search --index s3i --format count 'n:>250')" = \
	  "$(awk -F'[:,]' '$2 > 250' "$BATS_TEST_TMPDIR/in.ndjson" | wc -l)" ]
	[ "$(qw-search --index s3i --format count 'w:word7')" = 1 ]
	run -0 qw index delete s3i --yes
	[ -z "$(bucket_splits s3i)" ]
}

# footer_len OBJECT: the footer length a split file's trailer says (its
# last 40 bytes: footer_len u64 LE first), read with od, not with qw.
footer_len() {
	tail -c 40 "$1" | od -An -t u8 -N 8 | tr -d ' '
}

@test "QW_SPLIT_CACHE_DIR keeps the footer of each s3:// split searched; the next process opens it without a request" {
	setup_datadir
	s3_index s3c
	ndjson 3000 >"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index s3c --once --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	id=$(published s3c)
	obj="$S3RVER_DIR/$S3_BUCKET/idx/s3c/$id.split._S3rver_object"
	size=$(stat -c %s "$obj")
	export QW_SPLIT_CACHE_DIR=$BATS_TEST_TMPDIR/cache
	start_fault_proxy 1 0
	[ "$(qw-search --index s3c --format count 'w:word5')" = 1 ]
	cold=$(jq .requests "$FAULT_STATS")
	# the copy is named by split id and size and holds the object's footer
	[ "$(ls "$QW_SPLIT_CACHE_DIR" | grep '\.footer$')" = "$id-$size.footer" ]
	cmp "$QW_SPLIT_CACHE_DIR/$id-$size.footer" <(tail -c "$(footer_len "$obj")" "$obj")
	# the next process asks the server for the postings only
	[ "$(qw-search --index s3c --format count 'w:word6')" = 1 ]
	warm=$(($(jq .requests "$FAULT_STATS") - cold))
	echo "cold $cold warm $warm" >>"${S3_FIGURES:-/dev/null}"
	[ "$warm" -lt "$cold" ]
	[ "$warm" -le 2 ]
	# a count of everything needs nothing but the footer: no request at all
	before=$(jq .requests "$FAULT_STATS")
	[ "$(qw-search --index s3c --format count)" = 3000 ]
	[ "$(jq .requests "$FAULT_STATS")" = "$before" ]
	# the ranges read are kept too ("<id>-<size>-<off>-<len>.range": the
	# object's bytes there, then 4 bytes of CRC32C): the same query again
	# asks the server nothing
	ranges=$(ls "$QW_SPLIT_CACHE_DIR" | grep '\.range$')
	[ -n "$ranges" ]
	for r in $ranges; do
		IFS=- read -r _ rsize off len <<<"${r%.range}"
		[ "$rsize" = "$size" ]
		[ "$(stat -c %s "$QW_SPLIT_CACHE_DIR/$r")" = $((len + 4)) ]
		cmp <(head -c "$len" "$QW_SPLIT_CACHE_DIR/$r") <(tail -c +$((off + 1)) "$obj" | head -c "$len")
	done
	before=$(jq .requests "$FAULT_STATS")
	[ "$(qw-search --index s3c --format count 'w:word6')" = 1 ]
	[ "$(jq .requests "$FAULT_STATS")" = "$before" ]
	# a damaged range copy is not trusted either: read again, right answer
	for r in $ranges; do
		printf 'garbage' | dd of="$QW_SPLIT_CACHE_DIR/$r" conv=notrunc status=none
	done
	[ "$(qw-search --index s3c --format count 'w:word6')" = 1 ]
	[ "$(jq .requests "$FAULT_STATS")" -gt "$before" ]
	# a damaged copy is not trusted: read again, right answer, copy repaired
	printf 'garbage' >"$QW_SPLIT_CACHE_DIR/$id-$size.footer"
	[ "$(qw-search --index s3c --format count 'w:word7')" = 1 ]
	cmp "$QW_SPLIT_CACHE_DIR/$id-$size.footer" <(tail -c "$(footer_len "$obj")" "$obj")
	# without the cache directory nothing is kept
	rm -r "$QW_SPLIT_CACHE_DIR"
	run -0 env -u QW_SPLIT_CACHE_DIR qw-search --index s3c --format count 'w:word8'
	[ ! -e "$QW_SPLIT_CACHE_DIR" ]
}

@test "the footer cache evicts least recently used copies past QW_SPLIT_CACHE_MAX_BYTES and is shared by concurrent processes" {
	setup_datadir
	s3_index s3e
	ndjson 100 >"$BATS_TEST_TMPDIR/a.ndjson"
	ndjson 200 >"$BATS_TEST_TMPDIR/b.ndjson"
	qw-pipeline --index s3e --once --quiet "$BATS_TEST_TMPDIR/a.ndjson"
	qw-pipeline --index s3e --once --quiet "$BATS_TEST_TMPDIR/b.ndjson"
	[ "$(published s3e | wc -l)" = 2 ]
	# room for one copy only; a file that is no copy of ours stays
	export QW_SPLIT_CACHE_DIR=$BATS_TEST_TMPDIR/cache QW_SPLIT_CACHE_MAX_BYTES=1
	mkdir -p "$QW_SPLIT_CACHE_DIR"
	echo mine >"$QW_SPLIT_CACHE_DIR/notes.txt"
	[ "$(qw-search --index s3e --format count)" = 300 ]
	[ "$(ls "$QW_SPLIT_CACHE_DIR" | grep -c '\.footer$')" -le 1 ]
	[ "$(cat "$QW_SPLIT_CACHE_DIR/notes.txt")" = mine ]
	QW_SPLIT_CACHE_MAX_BYTES=lots run -64 qw-search --index s3e --format count
	[[ "$output" == *"QW_SPLIT_CACHE_MAX_BYTES: 'lots' is not a byte count"* ]]
	unset QW_SPLIT_CACHE_MAX_BYTES
	rm -r "$QW_SPLIT_CACHE_DIR"
	# four processes at once on an empty cache: each answers right, and the
	# copies left are whole (the objects' footers), no temp file stays
	for i in 1 2 3 4; do
		qw-search --index s3e --format count 'w:word50' >"$BATS_TEST_TMPDIR/out.$i" 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	for i in 1 2 3 4; do [ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = 2 ]; done
	[ "$(ls "$QW_SPLIT_CACHE_DIR" | grep -c '\.footer$')" = 2 ]
	[ "$(ls "$QW_SPLIT_CACHE_DIR" | grep -c -v '\.footer$\|\.range$')" = 0 ]
	for id in $(published s3e); do
		obj="$S3RVER_DIR/$S3_BUCKET/idx/s3e/$id.split._S3rver_object"
		cmp "$QW_SPLIT_CACHE_DIR/$id-$(stat -c %s "$obj").footer" \
			<(tail -c "$(footer_len "$obj")" "$obj")
	done
}

@test "qw-search --stats: the requests and bytes it reports are those the server answered, per split and in total" {
	setup_datadir
	s3_index s3s
	for i in 1 2 3; do
		ndjson $((i * 500)) >"$BATS_TEST_TMPDIR/$i.ndjson"
		qw-pipeline --index s3s --once --quiet "$BATS_TEST_TMPDIR/$i.ndjson"
	done
	[ "$(published s3s | wc -l)" = 3 ]
	start_fault_proxy 1 0
	qw-search --index s3s --stats --max-hits 5 'w:word77' >"$BATS_TEST_TMPDIR/r.json"
	# the proxy writes its counts just after answering: wait until it has
	# seen as many requests as qw says (more would be a failure below)
	wait_stats requests "$(jq .stats.requests "$BATS_TEST_TMPDIR/r.json")"
	jq -c .stats "$BATS_TEST_TMPDIR/r.json" >>"${S3_FIGURES:-/dev/null}"
	[ "$(jq .num_hits "$BATS_TEST_TMPDIR/r.json")" = 3 ]
	# the proxy's counts are the oracle: every request and answered byte
	[ "$(jq .stats.s3.requests "$BATS_TEST_TMPDIR/r.json")" = "$(jq .requests "$FAULT_STATS")" ]
	[ "$(jq .stats.s3.bytes "$BATS_TEST_TMPDIR/r.json")" = "$(jq .get_bytes "$FAULT_STATS")" ]
	[ "$(jq .stats.requests "$BATS_TEST_TMPDIR/r.json")" = "$(jq .requests "$FAULT_STATS")" ]
	[ "$(jq '.stats.s3.splits' "$BATS_TEST_TMPDIR/r.json")" = 3 ]
	[ "$(jq '.stats.local.splits' "$BATS_TEST_TMPDIR/r.json")" = 0 ]
	# per split: the three published splits, summing to the totals
	diff <(jq -r '.stats.per_split[].split_id' "$BATS_TEST_TMPDIR/r.json" | LC_ALL=C sort) <(published s3s)
	[ "$(jq '[.stats.per_split[].bytes] | add' "$BATS_TEST_TMPDIR/r.json")" = \
	  "$(jq .stats.bytes "$BATS_TEST_TMPDIR/r.json")" ]
	# with faults, retries are counted too; only curl's own resend of a
	# request whose kept-alive connection was reset before any answer is
	# not seen by qw, so the proxy may count up to one more per reset or lost answer
	stop_fault_proxy
	start_fault_proxy 11 0.3
	qw-search --index s3s --stats --format count 'w:word77' 2>"$BATS_TEST_TMPDIR/stats.json" >"$BATS_TEST_TMPDIR/n"
	[ "$(cat "$BATS_TEST_TMPDIR/n")" = 3 ]
	wait_stats requests "$(jq .requests "$BATS_TEST_TMPDIR/stats.json")"
	cat "$FAULT_STATS" "$BATS_TEST_TMPDIR/stats.json"
	faults=$(jq '.slowdown + .internal + .reset + .lost' "$FAULT_STATS")
	echo "faults $faults, $(cat "$BATS_TEST_TMPDIR/stats.json")" >>"${S3_FIGURES:-/dev/null}"
	[ "$faults" -gt 0 ]
	got=$(jq .requests "$BATS_TEST_TMPDIR/stats.json")
	[ "$got" -gt "$(jq '.requests - .slowdown - .internal - .reset - .lost' "$FAULT_STATS")" ]
	[ "$got" -le "$(jq .requests "$FAULT_STATS")" ]
	[ "$got" -ge "$(jq '.requests - .reset - .lost' "$FAULT_STATS")" ]
	# error answers' bodies count as bytes read too
	[ "$(jq .bytes "$BATS_TEST_TMPDIR/stats.json")" -ge "$(jq .get_bytes "$FAULT_STATS")" ]
}

@test "qw-search --stats on a local index: reads and bytes bounded by the split files" {
	setup_datadir
	qw index create --index-config <(printf 'version: 0.8\nindex_id: loc\ndoc_mapping:\n  mode: dynamic\n')
	awk 'BEGIN { srand(5); for (i = 1; i <= 30000; i++)
		printf "{\"n\":%d,\"w\":\"word%d\",\"t\":\"%x %x %x\"}\n", i, i, rand() * 2^31, rand() * 2^31, rand() * 2^31 }' \
		>"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index loc --once --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	size=$(find "$QW_DATA_DIR" -name '*.split' -printf '%s\n' | awk '{ s += $1 } END { print s }')
	qw-search --index loc --stats --format count 'w:word5' 2>"$BATS_TEST_TMPDIR/st" >/dev/null
	[ "$(jq .local.splits "$BATS_TEST_TMPDIR/st")" = 1 ]
	[ "$(jq .s3.splits "$BATS_TEST_TMPDIR/st")" = 0 ]
	[ "$(jq .local.requests "$BATS_TEST_TMPDIR/st")" -ge 2 ]
	[ "$(jq .local.bytes "$BATS_TEST_TMPDIR/st")" -gt 0 ]
	[ "$(jq .local.bytes "$BATS_TEST_TMPDIR/st")" -lt $((size / 2)) ]
	# without --stats the response has none
	[ "$(qw-search --index loc 'w:word5' | jq 'has("stats")')" = false ]
}

@test "splits on s3:// are read in parallel over reused connections" {
	setup_datadir
	s3_index s3p
	for i in 1 2 3 4 5 6; do
		ndjson 200 >"$BATS_TEST_TMPDIR/$i.ndjson"
		qw-pipeline --index s3p --once --quiet "$BATS_TEST_TMPDIR/$i.ndjson"
	done
	[ "$(published s3p | wc -l)" = 6 ]
	# one thread: every split's requests go over one kept-alive connection
	start_fault_proxy 1 0
	[ "$(qw-search --index s3p --threads 1 --format count 'w:word9')" = 6 ]
	wait_stats requests 12
	jq -c . "$FAULT_STATS" >>"${S3_FIGURES:-/dev/null}"
	[ "$(jq .connections "$FAULT_STATS")" = 1 ]
	stop_fault_proxy
	# by default several splits at once: with each answer held 300 ms, the
	# proxy sees requests overlap, and connections stay fewer than requests
	start_fault_proxy 1 0 300
	[ "$(qw-search --index s3p --format count 'w:word9')" = 6 ]
	wait_stats requests 12
	jq -c . "$FAULT_STATS" >>"${S3_FIGURES:-/dev/null}"
	[ "$(jq .max_inflight "$FAULT_STATS")" -ge 2 ]
	[ "$(jq .connections "$FAULT_STATS")" -le 8 ]
	[ "$(jq .connections "$FAULT_STATS")" -lt "$(jq .requests "$FAULT_STATS")" ]
}

@test "qw-merge on an s3:// index uploads the merged split to the bucket; gc then leaves only it" {
	setup_datadir
	cat >"$BATS_TEST_TMPDIR/s3m.yaml" <<EOF
version: 0.8
index_id: s3m
index_uri: s3://$S3_BUCKET/idx/s3m/
doc_mapping:
  mode: dynamic
indexing_settings:
  merge_policy:
    type: stable_log
    merge_factor: 2
    max_merge_factor: 10
EOF
	qw index create --index-config "$BATS_TEST_TMPDIR/s3m.yaml"
	# three cron-style runs over a growing file: three splits
	: >"$BATS_TEST_TMPDIR/in.ndjson"
	for k in 0 1 2; do
		ndjson 40 | sed "s/word/w${k}x/" >>"$BATS_TEST_TMPDIR/in.ndjson"
		qw-pipeline --index s3m --once --no-merge --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	done
	[ "$(published s3m | wc -l)" -eq 3 ]
	cd "$BATS_TEST_TMPDIR"
	run -0 qw-merge --index s3m --once
	[ -n "$output" ]
	# nothing written to a local path named after the URI, no local split
	[ -z "$(find "$BATS_TEST_TMPDIR" "$QW_DATA_DIR" -name 's3:*')" ]
	[ -z "$(find "$BATS_TEST_TMPDIR" "$QW_DATA_DIR" -name '*.split')" ]
	[ "$(published s3m | wc -l)" -eq 1 ]
	run -0 qw-gc --index s3m --deletion-grace-period 0
	diff <(bucket_splits s3m) <(published s3m)
	# every document once, read from the merged object (oracle: the input)
	[ "$(qw-search --index s3m --format count)" = "$(wc -l <"$BATS_TEST_TMPDIR/in.ndjson")" ]
	[ "$(qw-search --index s3m --format count 'w:w1x7')" = \
	  "$(grep -c '"w1x7"' "$BATS_TEST_TMPDIR/in.ndjson")" ]
}

@test "qw-gc deletes the objects of removed splits from the bucket" {
	setup_datadir
	s3_index s3g
	ndjson 50 >"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index s3g --once --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	old=$(published s3g)
	[ -n "$old" ]
	# mark the split for deletion an hour ago (a fixture, as tests/54-gc.bats)
	meta=$QW_DATA_DIR/indexes/s3g/metastore.json
	jq --arg o "$old" --argjson now "$(date +%s)" '
		.splits[$o].split_state = "MarkedForDeletion" | .splits[$o].update_timestamp = ($now - 3600)' \
		"$meta" >"$BATS_TEST_TMPDIR/m" && mv "$BATS_TEST_TMPDIR/m" "$meta"
	run -0 qw-gc --index s3g --deletion-grace-period 600
	[ "$output" = "$old marked_expired" ]
	[ -z "$(bucket_splits s3g)" ]
}

@test "indexing and searching through 503 SlowDown, 500, resets and lost answers gives every document exactly once" {
	setup_datadir
	s3_index s3f
	start_fault_proxy 7 0.3
	export QW_S3_MAX_RETRY_MS=5000
	for f in a b c d e; do
		awk -v f=$f 'BEGIN { for (i = 1; i <= 150; i++) printf "{\"n\":%d,\"f\":\"%s\",\"w\":\"w%s%d\"}\n", i, f, f, i }' \
			>"$BATS_TEST_TMPDIR/$f.ndjson"
		qw-pipeline --index s3f --once --quiet "$BATS_TEST_TMPDIR/$f.ndjson"
	done
	# faults were injected
	cat "$FAULT_STATS"
	jq -e '.slowdown + .internal + .reset + .lost >= 3' "$FAULT_STATS"
	# every document once: counts against awk over the inputs, searched through the faults
	cat "$BATS_TEST_TMPDIR"/[a-e].ndjson >"$BATS_TEST_TMPDIR/all"
	[ "$(qw-search --index s3f --format count)" = "$(wc -l <"$BATS_TEST_TMPDIR/all")" ]
	[ "$(qw-search --index s3f --format count 'f:b')" = "$(grep -c '"f":"b"' "$BATS_TEST_TMPDIR/all")" ]
	[ "$(qw-search --index s3f --format count 'w:wb77')" = 1 ]
	[ "$(qw-search --index s3f --format count 'n:>100')" = \
	  "$(awk -F'[:,]' '$2 > 100' "$BATS_TEST_TMPDIR/all" | wc -l)" ]
	# the bucket holds exactly the published splits (listed by s3rver's files)
	diff <(bucket_splits s3f) <(published s3f)
}

@test "multipart uploads through faults: every document once, each object whole" {
	setup_datadir
	s3_index s3m
	start_fault_proxy 5 0.3
	# every split is a multipart upload (initiate, part, complete: each may fail)
	export QW_S3_MAX_RETRY_MS=5000 QW_S3_MULTIPART_THRESHOLD=1
	for f in a b c d e; do
		awk -v f=$f 'BEGIN { for (i = 1; i <= 150; i++) printf "{\"n\":%d,\"f\":\"%s\"}\n", i, f }' \
			>"$BATS_TEST_TMPDIR/$f.ndjson"
		qw-pipeline --index s3m --once --quiet "$BATS_TEST_TMPDIR/$f.ndjson"
	done
	cat "$FAULT_STATS"
	jq -e '.slowdown + .internal + .reset + .lost >= 3' "$FAULT_STATS"
	[ "$(qw-search --index s3m --format count)" = 750 ]
	[ "$(qw-search --index s3m --format count 'f:c')" = 150 ]
	diff <(bucket_splits s3m) <(published s3m)
	# each object has the size its record says (s3rver's file, not qw's client)
	qw split list --index s3m --format json | jq -r '.[] | "\(.split_id) \(.size_bytes)"' |
		while read -r id size; do
			[ "$(stat -c %s "$S3RVER_DIR/$S3_BUCKET/idx/s3m/$id.split._S3rver_object")" = "$size" ] || exit 1
		done
}

@test "past the retry bounds the error names the bucket, key and the fault, and the search fails rather than answer short" {
	setup_datadir
	s3_index s3x
	ndjson 20 >"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index s3x --once --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	id=$(published s3x)
	start_fault_proxy 3 1.0
	run --separate-stderr env QW_S3_MAX_ATTEMPTS=3 qw-search --index s3x --format count
	echo "$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"s3 "[A-Z]*" s3://$S3_BUCKET/idx/s3x/$id.split: "*"(3 attempts)"* ]]
}

# s3_put_raw KEY: an object put with curl's own SigV4 signing (not qw's client).
s3_put_raw() {
	echo junk | curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:S3RVER" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T - \
		"http://127.0.0.1:$S3RVER_PORT/$S3_BUCKET/$1"
}

@test "qw-gc finds orphan split objects in the bucket, and only those under the index prefix" {
	setup_datadir
	s3_index s3o
	ndjson 30 >"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index s3o --once --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	orphan=01JGC0000000000000000000XZ
	s3_put_raw "idx/s3o/$orphan.split"
	s3_put_raw "idx/s3o/notes.txt"
	s3_put_raw "idx/s3o/deeper/$orphan.split"
	[ "$(s3rver_keys idx/s3o/ | wc -l)" = 4 ]
	# within the grace period it stays
	run -0 qw-gc --index s3o --deletion-grace-period 3600
	[ -z "$output" ]
	run -0 qw-gc --index s3o --deletion-grace-period 0
	[ "$output" = "$orphan orphan_file" ]
	diff <(bucket_splits s3o) <(printf '%s\n' "$(published s3o)" "deeper/$orphan" "notes.txt" | LC_ALL=C sort)
}

# wait_stats KEY MIN: until the proxy's count KEY reaches MIN (bounded, 10 s):
# it writes its counts just after answering.
wait_stats() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(jq ".$1" "$FAULT_STATS" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "a selective query on an s3:// split reads a small part of it by range GETs" {
	setup_datadir
	s3_index s3r
	awk 'BEGIN { srand(5); for (i = 1; i <= 30000; i++)
		printf "{\"n\":%d,\"w\":\"word%d\",\"t\":\"%x %x %x\"}\n", i, i, rand() * 2^31, rand() * 2^31, rand() * 2^31 }' \
		>"$BATS_TEST_TMPDIR/in.ndjson"
	qw-pipeline --index s3r --once --quiet "$BATS_TEST_TMPDIR/in.ndjson"
	id=$(published s3r)
	size=$(stat -c %s "$S3RVER_DIR/$S3_BUCKET/idx/s3r/$id.split._S3rver_object")
	start_fault_proxy 1 0
	[ "$(qw-search --index s3r --format count 'w:word12345')" = 1 ]
	wait_stats gets 2
	echo "split: $size bytes; proxy: $(cat "$FAULT_STATS")" >>"${S3_FIGURES:-/dev/null}"
	# far less than the split, in a few requests (measured by the proxy)
	[ "$(jq .get_bytes "$FAULT_STATS")" -lt $((size / 4)) ]
	[ "$(jq .requests "$FAULT_STATS")" -le 8 ]
	# the hit's document comes back whole, by ranges too
	qw-search --index s3r --query 'w:word777' --format ndjson >"$BATS_TEST_TMPDIR/hit"
	diff <(jq -c . "$BATS_TEST_TMPDIR/hit") <(sed -n 777p "$BATS_TEST_TMPDIR/in.ndjson" | jq -c .)
}
