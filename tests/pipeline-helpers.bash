# Shared by the qw-upload / qw-publish / qw-pipeline / qw-gc tests
# (50-54): load with `load pipeline-helpers` after `load helpers`.

# A dynamic-mode index; extra indexing settings may follow as YAML lines.
# make_index ID [split_num_docs_target] [commit_timeout_secs]
make_index() {
	cat >"$BATS_TEST_TMPDIR/$1.yaml" <<EOF2
version: 0.8
index_id: $1
doc_mapping:
  mode: dynamic
indexing_settings:
  commit_timeout_secs: ${3:-60}
  split_num_docs_target: ${2:-10000000}
EOF2
	qw index create --index-config "$BATS_TEST_TMPDIR/$1.yaml" >/dev/null
}

# The control records of a file as compact JSON, without the separator.
records() {
	tr -d '\036' <"$1" | grep '^{' | jq -c .
}

# make_packaged INDEX SOURCE TOKEN N OUT: N fake split files in
# $BATS_TEST_TMPDIR/scratch and N packaged records (split i has 10+i docs
# and covers bytes [100*i, 100*(i+1)) of partition /in.log) in OUT.
# The split ids are written to $BATS_TEST_TMPDIR/ids, one per line.
make_packaged() {
	local index=$1 source=$2 token=$3 n=$4 out=$5 i id
	local scratch=$BATS_TEST_TMPDIR/scratch
	mkdir -p "$scratch"
	: >"$out"
	: >"$BATS_TEST_TMPDIR/ids"
	for i in $(seq 0 $((n - 1))); do
		id=$(printf '01JTEST%019d' "$i")
		echo "$id" >>"$BATS_TEST_TMPDIR/ids"
		head -c $((1000 + i)) /dev/urandom >"$scratch/$id.split"
		cp "$scratch/$id.split" "$scratch/$id.orig"
		printf '\036%s\n' "$(jq -cn --arg id "$id" --arg p "$scratch/$id.split" \
			--arg t "$token" --arg ix "$index" --arg s "$source" \
			--argjson n $((10 + i)) --argjson f $((100 * i)) --argjson to $((100 * (i + 1))) \
			'{type:"packaged",index:$ix,source:$s,publish_token:$t,
			  splits:[{split_id:$id,path:$p,size:1000,metadata:{split_id:$id,num_docs:$n}}],
			  checkpoint_delta:{"/in.log":{from:$f,to:$to}}}')" >>"$out"
	done
}

# State of every split: "ID STATE" lines, sorted.
split_states() {
	jq -r '.splits | to_entries[] | "\(.key) \(.value.split_state)"' "$(meta "$1")" | sort
}

# Sum of num_docs over the Published splits of an index (from the raw
# metastore file, not from any qw counter).
published_docs() {
	jq '[.splits[] | select(.split_state == "Published") | .metadata.num_docs] | add // 0' "$(meta "$1")"
}

count_state() {
	jq --arg s "$2" '[.splits[] | select(.split_state == $s)] | length' "$(meta "$1")"
}

# checkpoint INDEX SOURCE PARTITION: stored position (0 when none)
checkpoint() {
	jq --arg s "$2" --arg p "$3" '.checkpoints[$s][$p] // 0' "$(meta "$1")"
}

# Valid NDJSON documents of a file: lines that parse as a JSON object.
valid_lines() {
	jq -R -c 'fromjson? | select(type == "object")' "$1" | wc -l
}

# wait_until TIMEOUT_S CMD...: poll a condition (bounded), 0 when it held.
wait_until() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		if "$@" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "condition never held: $*" >&2
	return 1
}

# The pid of stage NAME among the children of pipeline PID.
stage_pid() {
	local c
	for c in $(pgrep -P "$1"); do
		if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$2" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

status_field() {
	jq -e ".$2" "$1" 2>/dev/null
}

# status_at_least FILE FIELD N
status_at_least() {
	local v
	v=$(jq -e ".$2" "$1" 2>/dev/null) || return 1
	[ "$v" -ge "$3" ]
}

# otrf_slice N OUT: the first N lines of the Windows event logs.
otrf_slice() {
	zstd -dc "$QW_SHARED_DATA/otrf/otrf-windows-events.ndjson.zst" | head -n "$1" >"$2"
}

# docs_are INDEX N: the published documents number N (for wait_until)
docs_are() {
	[ "$(published_docs "$1")" = "$2" ]
}

# status_is FILE STATE
status_is() {
	[ "$(jq -r .state "$1" 2>/dev/null)" = "$2" ]
}

# docs_at_least INDEX N: at least N published documents (for wait_until)
docs_at_least() {
	[ "$(published_docs "$1")" -ge "$2" ]
}

# staged_at_least INDEX N: at least N splits of INDEX are Staged (for wait_until)
staged_at_least() {
	[ "$(count_state "$1" Staged)" -ge "$2" ]
}

# no_zombies PID: no child of PID is a zombie (for wait_until)
no_zombies() {
	! ps -o stat= --ppid "$1" | grep -q Z
}

# read_to_end PIPELINE_PID STAGE FILE: the stage's file position on FILE is
# its size (from /proc/PID/fdinfo; for wait_until)
read_to_end() {
	local pid fd
	pid=$(stage_pid "$1" "$2") || return 1
	for fd in /proc/"$pid"/fd/*; do
		[ "$(readlink "$fd")" = "$3" ] || continue
		[ "$(awk '/^pos:/ {print $2}' "/proc/$pid/fdinfo/${fd##*/}")" = "$(stat -c %s "$3")" ] &&
			return 0
	done
	return 1
}
