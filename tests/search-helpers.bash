# Shared by the qw-search tests (40-*.bats): load with `load search-helpers`
# after `load helpers`.

# The jq oracle: the default tokenizer as DESIGN.md says (split on what is
# not a letter or digit, lowercase; the queries use ASCII words), phrases
# as consecutive tokens, seconds of the timestamp.
JQ_PRELUDE='
def toks(f): (f // "") | if type == "string" then ascii_downcase | [scan("[\\p{L}\\p{N}]+")] else [] end;
def has_tok(f; w): any(toks(f)[]; . == w);
def has_prefix(f; p): any(toks(f)[]; startswith(p));
def phrase(f; ws): toks(f) as $t | (ws | length) as $n
	| any(range(0; ($t | length) - $n + 1); . as $i | all(range(0; $n); $t[$i + .] == ws[.]));
def secs: ."@timestamp" | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601;
'

# build_otrf DATADIR SAMPLE: every 50th line of the OTRF Windows event logs
# into SAMPLE (NDJSON, only documents with @timestamp, as the index keeps
# them) and into index "otrf" of DATADIR through the pipeline stages, as
# three splits (one per chunk of the input and source, as Quickwit makes
# one split per ingest call).
build_otrf() {
	local dir=$1 sample=$2 raw=$2.raw token i
	zstd -dc "$QW_SHARED_DATA/otrf/otrf-windows-events.ndjson.zst" | awk 'NR % 50 == 0' >"$raw"
	jq -c 'select(."@timestamp" != null)' "$raw" >"$sample"
	split -n l/3 -d "$raw" "$raw."
	QW_DATA_DIR=$dir qw index create --index-config "$QW_SRCDIR/tests/data/search/otrf.yaml" >/dev/null
	for i in 0 1 2; do
		token=$(QW_DATA_DIR=$dir qw-publish --new-token --index otrf --source "s$i")
		QW_DATA_DIR=$dir qw-index --index otrf --source "s$i" --publish-token "$token" <"$raw.0$i" |
			QW_DATA_DIR=$dir qw-package | QW_DATA_DIR=$dir qw-upload |
			QW_DATA_DIR=$dir qw-publish >/dev/null
	done
}

# oracle_count FILTER: documents of $SAMPLE for which the jq FILTER is true.
oracle_count() {
	jq -n "$JQ_PRELUDE [inputs | select($1)] | length" "$SAMPLE"
}

# check_queries: lines "QUERY<TAB>JQ FILTER" on stdin; every query's
# num_hits must equal the oracle's count (one jq pass for all filters).
# Prints the mismatches.
check_queries() {
	local q f i bad=0 prog=""
	local -a qs=() want=()
	while IFS=$'\t' read -r q f; do
		[ -z "$q" ] && continue
		qs+=("$q")
		prog+="${prog:+, }(map(select($f)) | length)"
	done
	mapfile -t want < <(jq -s "$JQ_PRELUDE . as \$d | \$d | $prog" "$SAMPLE")
	[ "${#want[@]}" -eq "${#qs[@]}" ] || { echo "oracle failed"; return 1; }
	for i in "${!qs[@]}"; do
		# exit 1: no hit, as grep
		got=$(qw-search --index otrf --format count --query "${qs[$i]}") || [ $? -eq 1 ] || { echo "FAILED: ${qs[$i]}"; bad=1; continue; }
		if [ "${want[$i]}" != "$got" ]; then
			echo "MISMATCH: '${qs[$i]}': qw $got, oracle ${want[$i]}"
			bad=1
		fi
	done
	echo "${#qs[@]} queries checked"
	return $bad
}

# The timestamp as "YYYY-MM-DDTHH:MM:SS.ffffff" (qw stores datetimes with
# as few sub-second digits as needed).
JQ_TSN='def tsn: capture("^(?<b>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") | .b + "." + ((.f // "") + "000000")[:6];'
