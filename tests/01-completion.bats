#!/usr/bin/env bats
# Bash completion for qw (completions/qw), driven the way bash drives it:
# COMP_WORDS/COMP_CWORD in, COMPREPLY out. Oracles: the data directory's
# folders (ls), the programs in bin/, and the man page's command list.
load helpers

setup() {
	setup_datadir
	T=$BATS_TEST_TMPDIR
	# shellcheck source=/dev/null
	source "$QW_SRCDIR/completions/qw"
	for id in app-logs web.access; do
		printf 'version: 0.8\nindex_id: %s\ndoc_mapping:\n  field_mappings:\n    - name: body\n      type: text\n' \
			"$id" >"$T/$id.yaml"
	done
}

# complete WORD... : the sorted candidates for the last word.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_qw
	if [ "${#COMPREPLY[@]}" -gt 0 ]; then
		printf '%s\n' "${COMPREPLY[@]}" | sort
	fi
}

@test "completion: index ids come from QW_DATA_DIR, --data-dir on the line, else ./qwdata" {
	qw index create --index-config "$T/app-logs.yaml" >/dev/null
	qw index create --index-config "$T/web.access.yaml" >/dev/null
	# a folder without metastore.json is not an index
	mkdir -p "$QW_DATA_DIR/indexes/not-an-index"
	expected=$(cd "$QW_DATA_DIR/indexes" && ls */metastore.json | sed 's,/.*,,' | sort)
	[ "$(printf '%s\n' "$expected" | wc -l)" -eq 2 ]

	for line in "index describe" "index delete" "index clear" "index describe --index" \
		"split list --index" "split describe --index"; do
		# shellcheck disable=SC2086
		[ "$(complete_line qw $line "")" = "$expected" ] || { echo "qw $line"; false; }
	done
	[ "$(complete_line qw index describe we)" = web.access ]

	# --data-dir on the line wins over QW_DATA_DIR, in its three spellings
	qw --data-dir "$T/other" index create --index-config "$T/app-logs.yaml" >/dev/null
	[ "$(complete_line qw --data-dir "$T/other" index describe "")" = app-logs ]
	[ "$(complete_line qw index describe --data-dir "$T/other" "")" = app-logs ]
	[ "$(complete_line qw --data-dir = "$T/other" index describe "")" = app-logs ]
	[ "$(complete_line qw "--data-dir=$T/other" index describe "")" = app-logs ]

	# without either, ./qwdata
	mkdir "$T/cwd"
	(cd "$T/cwd" && qw --data-dir qwdata index create --index-config "$T/web.access.yaml" >/dev/null)
	[ "$(cd "$T/cwd" && unset QW_DATA_DIR && complete_line qw index clear "")" = web.access ]
	# a data dir that does not exist completes nothing and prints no error
	run --separate-stderr complete_line qw --data-dir "$T/none" index describe ""
	[ "$status" -eq 0 ]
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "completion: commands, subcommands and their options" {
	# every qw-NAME program of the build is a command, beside index, split,
	# delete-task and help
	expected=$( (echo index; echo split; echo delete-task; echo help
		cd "$QW_BUILDDIR/bin" && ls qw-* | sed 's/^qw-//') | sort -u)
	[ "$(complete_line qw "")" = "$expected" ]
	[ "$(complete_line qw --data-dir /x "")" = "$expected" ]
	[ "$(complete_line qw --format json "")" = "$expected" ]
	[[ "$(complete_line qw --)" == *--data-dir*--format*--help*--version* ]]
	# the subcommands are the ones qw(1) documents
	[ "$(complete_line qw index "" | paste -sd' ')" = \
	  "$(sed -n 's/^\.It Cm index \([a-z]*\).*/\1/p' "$QW_SRCDIR/man/qw.1" | sort -u | paste -sd' ')" ]
	[ "$(complete_line qw split "" | paste -sd' ')" = \
	  "$(sed -n 's/^\.It Cm split \([a-z-]*\).*/\1/p' "$QW_SRCDIR/man/qw.1" | sort -u | paste -sd' ')" ]
	[ "$(complete_line qw delete-task "" | paste -sd' ')" = \
	  "$(sed -n 's/^\.It Cm delete-task \([a-z-]*\).*/\1/p' "$QW_SRCDIR/man/qw.1" | sort -u | paste -sd' ')" ]
	[ "$(complete_line qw delete-task create --q)" = --query ]
	[ "$(complete_line qw index create --)" = "$(printf '%s\n' --data-dir --default-index-root-uri --format --help --index-config --metastore-uri --overwrite)" ]
	[ "$(complete_line qw index delete --y)" = --yes ]
	[ "$(complete_line qw split list --index app-logs --state "")" = "$(printf '%s\n' marked published staged)" ]
	[ "$(complete_line qw --format "")" = "$(printf '%s\n' json table)" ]
}

@test "completion: qw pipeline status is qw's own, other qw pipeline words are qw-pipeline's" {
	# shellcheck source=/dev/null
	source "$QW_SRCDIR/completions/qw-pipeline"
	[ "$(complete_line qw pipeline sta)" = status ]
	[ "$(complete_line qw pipeline status --)" = "$(printf '%s\n' --data-dir --format --help --index --json --metastore-uri --source --status-file)" ]
	touch "$T/st.json"
	[ "$(complete_line qw pipeline status --status-file "$T/st")" = "$T/st.json" ]
	# --source: the sources whose status file is in the data dir for --index
	mkdir -p "$T/dd/pipelines/web"
	touch "$T/dd/pipelines/web/files.status.json" "$T/dd/pipelines/web/kafka.status.json"
	[ "$(complete_line qw --data-dir "$T/dd" pipeline status --index web --source "")" = "$(printf '%s\n' files kafka)" ]
	[ -z "$(complete_line qw --data-dir "$T/dd" pipeline status --index other --source "")" ]
	# the options of qw-pipeline (from its usage) still complete after qw pipeline
	[[ "$(complete_line qw pipeline --stat)" == --status-file ]]
	[[ "$(complete_line qw pipeline --once)" == --once ]]
}

@test "completion: qw NAME completes as qw-NAME" {
	# shellcheck source=/dev/null
	source "$QW_SRCDIR/completions/qw-search"
	[[ "$(complete_line qw search --q)" == --query ]]
	[[ "$(complete_line qw --data-dir /x search --max)" == --max-hits ]]
	# an unknown NAME falls back to file names
	touch "$T/somefile"
	[ "$(cd "$T" && complete_line qw no-such-cmd some)" = somefile ]
}

@test "completion: every qw-NAME completes --index from its --data-dir, and qw passes --data-dir on" {
	qw --data-dir "$T/d" index create --index-config "$T/app-logs.yaml" >/dev/null
	qw index create --index-config "$T/web.access.yaml" >/dev/null
	for f in "$QW_SRCDIR"/completions/qw-*; do
		p=${f##*/}
		# shellcheck source=/dev/null
		source "$f"
		fn=_${p//-/_}
		grep -q -- '--index' "$f" || continue
		for words in "--index" "--data-dir $T/d --index" "-d $T/d --index"; do
			# shellcheck disable=SC2206
			COMP_WORDS=("$p" $words "")
			COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
			COMPREPLY=()
			"$fn"
			want=web.access
			[[ $words != *"$T/d"* ]] || want=app-logs
			[ "${COMPREPLY[*]}" = "$want" ] || { echo "$p $words: '${COMPREPLY[*]}' (want $want)"; false; }
		done
	done
	source "$QW_SRCDIR/completions/qw-search"
	[ "$(complete_line qw --data-dir "$T/d" search --index "")" = app-logs ]
	[ "$(complete_line qw search --index "")" = web.access ]
}
