#!/usr/bin/env bats
# Every program honours the same conventions: --version, --help, exit 64 on
# a bad option, a man page, and options that agree between --help, the man
# page and the bash completion.
load helpers

programs() {
	local p
	for p in "$QW_BUILDDIR"/bin/qw "$QW_BUILDDIR"/bin/qw-*; do
		[ -x "$p" ] && basename "$p"
	done
}

@test "the build produced the eight pipeline and front-end programs" {
	for p in qw qw-parse qw-index qw-package qw-upload qw-publish qw-pipeline qw-search; do
		[ -x "$QW_BUILDDIR/bin/$p" ]
	done
}

@test "every program answers --version with its name and the package version" {
	for p in $(programs); do
		run --separate-stderr "$p" --version
		[ "$status" -eq 0 ]
		[[ "$output" == "$p (qw) "* ]]
	done
}

@test "every program answers --help on stdout and exits 0" {
	for p in $(programs); do
		run --separate-stderr "$p" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"Usage: $p"* ]]
	done
}

@test "every program rejects an unknown option with exit 64 and a message on stderr" {
	for p in $(programs); do
		run --separate-stderr "$p" --no-such-option
		[ "$status" -eq 64 ]
		[ -z "$output" ]
		[[ "$stderr" == *"$p: "* ]]
	done
}

@test "every program has a man page and a bash completion" {
	for p in $(programs); do
		ls "$QW_SRCDIR"/man/"$p".[1-8] >/dev/null
		[ -f "$QW_SRCDIR/completions/$p" ]
	done
}

@test "every long option in --help is in the man page and in the bash completion" {
	local missing=""
	for p in $(programs); do
		man=$(ls "$QW_SRCDIR"/man/"$p".[1-8])
		comp="$QW_SRCDIR/completions/$p"
		# Read the man source as rendered text would show the options:
		# comments dropped, '\-' is '-', mdoc's "Fl -x" is "--x".
		mantext=$(sed '/^\.\\"/d; s/\\-/-/g; s/\\f[BIRP]//g; s/Fl -/--/g' "$man")
		for opt in $("$p" --help | grep -o -E -- '--[a-z][a-z0-9-]+' | sort -u); do
			grep -q -F -- "$opt" <<<"$mantext" || missing+=" $p:$opt(man)"
			grep -q -F -- "$opt" "$comp" || missing+=" $p:$opt(completion)"
		done
	done
	echo "missing:$missing"
	[ -z "$missing" ]
}
