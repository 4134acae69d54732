#!/bin/bash
# chaos.sh: index a slice of the otrf Windows event logs with qw-pipeline
# while killing random stages with SIGKILL, then check exactly-once with
# an oracle that does not trust qw's counters: the multiset of published
# documents (dumped by qw-search, sorted) equals the multiset of valid
# input lines, and the checkpoint equals the file size.
#
# usage: chaos.sh [--kills N] [--seed S] [--mb MB] [--split-docs N]
#                 [--kill-pipeline] [--two] [--dir DIR]
# --kill-pipeline also kills qw-pipeline itself (and checks it did);
# --two starts two pipelines on the source at each start (the loser must
# exit 75) and now and then a third with --takeover (the fenced one must
# exit 75).
# Needs qw-* in PATH and QW_SHARED_DATA (../shared/data) for the input.
set -euo pipefail

kills_wanted=20 seed=42 mb=20 split_docs=200 kill_pipeline=0 two=0 dir=
while [ $# -gt 0 ]; do
	case $1 in
	--kills) kills_wanted=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--mb) mb=$2; shift 2 ;;
	--split-docs) split_docs=$2; shift 2 ;;
	--kill-pipeline) kill_pipeline=1; shift ;;
	--two) two=1; shift ;;
	--dir) dir=$2; shift 2 ;;
	*) echo "usage: chaos.sh [--kills N] [--seed S] [--mb MB] [--split-docs N] [--kill-pipeline] [--two] [--dir DIR]" >&2; exit 64 ;;
	esac
done
data=${QW_SHARED_DATA:-$(dirname "$0")/../../shared/data}
src=$data/otrf/otrf-windows-events.ndjson.zst
[ -r "$src" ] || { echo "chaos: missing $src" >&2; exit 66; }
if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/qw-chaos.XXXXXX")
	trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
export QW_DATA_DIR=$dir/qwdata
export QW_TIME_SCALE=${QW_TIME_SCALE:-4}
RANDOM=$seed
log() { echo "chaos: $*" >&2; }
# a command that makes the script fail says so (set -e alone is silent)
trap 'st_=$?; log "line $LINENO: \"$BASH_COMMAND\" failed with status $st_"' ERR

# whole lines only
(set +o pipefail; zstd -dc "$src" 2>/dev/null | head -c $((mb * 1000000)) | sed '$d' >"$dir/slice.ndjson")
cp "$dir/slice.ndjson" "$dir/in.ndjson"
cat >"$dir/cfg.yaml" <<EOC
version: 0.8
index_id: chaos
doc_mapping:
  mode: dynamic
indexing_settings:
  commit_timeout_secs: 5
  split_num_docs_target: $split_docs
EOC
qw index create --index-config "$dir/cfg.yaml" >/dev/null

pipe_pid=
start1() {
	QW_TEST_UPLOAD_DELAY_MS=${QW_TEST_UPLOAD_DELAY_MS:-30} qw-pipeline --index chaos --once --quiet --checkpoint-every "$split_docs" \
		--max-concurrent-uploads 1 --backoff-initial 0.05 --backoff-max 0.4 \
		--max-restarts 100000 --stall-timeout 120 --status-file "$dir/status.json" \
		"$@" "$dir/in.ndjson" >/dev/null 2>>"$dir/pipeline.err" 3>&- &
	pipe_pid=$!
}

# A pipeline that lost the source (refused, or fenced) must end with 75,
# or 0 when it was done before it could see it.
lost() {
	local rc=0
	wait "$1" || rc=$?
	if [ "$rc" != 75 ] && [ "$rc" != 0 ]; then
		log "a pipeline that lost the source exited with $rc, not 75"
		tail -20 "$dir/pipeline.err" >&2
		exit 1
	fi
}

refused=0 takeovers=0
start() {
	local a b i
	start1
	[ "$two" = 1 ] || return 0
	# a rival on the same source at once: one of the two is refused
	a=$pipe_pid
	start1
	b=$pipe_pid
	for ((i = 0; i < 6000; i++)); do
		kill -0 "$a" 2>/dev/null && kill -0 "$b" 2>/dev/null || break
		sleep 0.01
	done
	if ! kill -0 "$a" 2>/dev/null; then
		lost "$a"
		pipe_pid=$b
	else
		lost "$b"
		pipe_pid=$a
	fi
	refused=$((refused + 1))
}

published() {
	jq '[.splits[] | select(.split_state == "Published")] | length' \
		"$QW_DATA_DIR/indexes/chaos/metastore.json" 2>/dev/null || echo 0
}

# wait for the pipeline to end; it must end well
finish() {
	local rc=0
	wait "$pipe_pid" || rc=$?
	if [ "$rc" != 0 ]; then
		log "qw-pipeline exited with $rc"
		tail -20 "$dir/pipeline.err" >&2
		exit 1
	fi
}

start
kills=0 restarts_of_pipeline=0 idle_kills=0 last_published=0 rounds=1
while [ "$kills" -lt "$kills_wanted" ]; do
	# The pipeline finished before all the kills: append a tenth of the
	# slice again (the multiset oracle counts every copy) and index what
	# was appended, as a cron job does.
	if ! kill -0 "$pipe_pid" 2>/dev/null; then
		finish
		rounds=$((rounds + 1))
		log "the pipeline ended after $kills kills: appending a tenth of the slice (round $rounds)"
		head -n $(($(wc -l <"$dir/slice.ndjson") / 10 + 1)) "$dir/slice.ndjson" >>"$dir/in.ndjson"
		start
	fi
	# at most two kills in a row without progress (a new published
	# split), so the run always ends
	if [ "$(published)" -le "$last_published" ]; then
		idle_kills=$((idle_kills + 1))
	else
		idle_kills=0
	fi
	if [ "$idle_kills" -ge 2 ]; then
		for ((i = 0; i < 3000; i++)); do
			[ "$(published)" -gt "$last_published" ] && break
			kill -0 "$pipe_pid" 2>/dev/null || break
			sleep 0.05
		done
		idle_kills=0
	fi
	kill -0 "$pipe_pid" 2>/dev/null || continue
	# then a random moment later, a random victim
	sleep "$(printf '0.%02d' $((RANDOM % 50)))"
	last_published=$(published)
	# its stages only: under the sanitizers a child may also be LSan's
	# tracer, which holds the pipeline ptrace-stopped while it checks for
	# leaks at exit; killed then, it leaves the pipeline stopped for good
	victims=()
	for c in $(pgrep -x -P "$pipe_pid" 'qw-(parse|index|package|upload|publish|merge)' || true); do
		victims+=("$c")
	done
	# (one of them surely by half of the kills, one takeover by a third)
	if [ "$kill_pipeline" = 1 ] && { [ $((RANDOM % 10)) = 0 ] ||
		{ [ "$restarts_of_pipeline" = 0 ] && [ "$kills" -ge $((kills_wanted / 2)) ]; }; }; then
		victims=("$pipe_pid")
	fi
	if [ "$two" = 1 ] && { [ $((RANDOM % 5)) = 1 ] ||
		{ [ "$takeovers" = 0 ] && [ "$kills" -ge $((kills_wanted / 3)) ]; }; }; then
		# another pipeline takes the source over: the old one exits 75
		old=$pipe_pid
		start1 --takeover
		lost "$old"
		takeovers=$((takeovers + 1))
		log "takeover $takeovers: $pipe_pid fenced $old"
		continue
	fi
	[ ${#victims[@]} -gt 0 ] || continue
	v=${victims[$((RANDOM % ${#victims[@]}))]}
	name=$(cat "/proc/$v/comm" 2>/dev/null || echo gone)
	if kill -KILL "$v" 2>/dev/null; then
		kills=$((kills + 1))
		log "kill $kills: $name ($v)"
	fi
	if [ "$v" = "$pipe_pid" ]; then
		wait "$pipe_pid" 2>/dev/null || true
		# its stages die with it (PR_SET_PDEATHSIG); start a new one
		restarts_of_pipeline=$((restarts_of_pipeline + 1))
		start
	fi
done
log "$kills kills ($restarts_of_pipeline of qw-pipeline itself, $rounds rounds, $refused rivals refused, $takeovers takeovers); waiting for the end"
finish

# the oracle
fail=0
size=$(stat -c %s "$dir/in.ndjson")
pos=$(jq --arg p "$dir/in.ndjson" '.checkpoints.files[$p] // 0' "$QW_DATA_DIR/indexes/chaos/metastore.json")
if [ "$pos" != "$size" ]; then
	log "checkpoint $pos != file size $size"
	fail=1
fi
jq -R -c 'fromjson? | select(type == "object")' "$dir/in.ndjson" | jq -cS . | sort >"$dir/expected"
n=$(wc -l <"$dir/expected")
qw-search --index chaos --format ndjson --max-hits $((n + 1000)) '*' | jq -cS . | sort >"$dir/actual"
if ! cmp -s "$dir/expected" "$dir/actual"; then
	log "published documents differ from the input: expected $n, got $(wc -l <"$dir/actual")"
	log "missing: $(comm -23 "$dir/expected" "$dir/actual" | wc -l), extra: $(comm -13 "$dir/expected" "$dir/actual" | wc -l)"
	fail=1
fi
if [ "$kill_pipeline" = 1 ] && [ "$restarts_of_pipeline" = 0 ]; then
	log "--kill-pipeline but qw-pipeline itself was never killed"
	fail=1
fi
if [ "$two" = 1 ] && { [ "$refused" = 0 ] || [ "$takeovers" = 0 ]; }; then
	log "--two but $refused rivals refused and $takeovers takeovers"
	fail=1
fi
if [ "$kills" -lt "$kills_wanted" ]; then
	log "only $kills kills before the end (wanted $kills_wanted)"
	fail=1
fi
# what dead generations staged is garbage
qw gc --index chaos >/dev/null
staged=$(jq '[.splits[] | select(.split_state == "Staged")] | length' "$QW_DATA_DIR/indexes/chaos/metastore.json")
if [ "$staged" != 0 ]; then
	log "$staged staged splits left after gc"
	fail=1
fi
# and so are the scratch dirs of killed pipelines (the last one removed its own)
scratch=$(find "$QW_DATA_DIR/scratch" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
if [ "$scratch" != 0 ]; then
	log "$scratch scratch dirs left after gc"
	fail=1
fi
[ "$fail" = 0 ] && log "ok: $n documents published exactly once through $kills kills ($rounds rounds)"
exit "$fail"
