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

@test "every man page formats without a groff warning" {
	if ! command -v groff >/dev/null; then
		[ "${CI:-}" != true ] || { echo "groff is required in CI" >&2; return 1; }
		skip "groff not installed"
	fi
	for m in "$QW_SRCDIR"/man/*.[1-8]; do
		run --separate-stderr env LC_ALL=C groff -mandoc -ww -z -Tutf8 "$m"
		[ "$status" -eq 0 ] || { echo "$m: exit $status"; false; }
		[ -z "$stderr" ] || { echo "$m: $stderr"; false; }
	done
	# and each one has the sections a reader looks for
	for m in "$QW_SRCDIR"/man/*.[1-8]; do
		for s in NAME DESCRIPTION; do
			grep -q "^\.Sh $s" "$m" || grep -q "^\.SH $s" "$m" || { echo "$m: no $s"; false; }
		done
	done
}

# A copy of configure with what it needs to start (it stops at the first
# missing dependency, before it reads Makefile.in).
configure_copy() {
	C=$BATS_TEST_TMPDIR/conf
	mkdir -p "$C/src/src" "$C/build"
	cp "$QW_SRCDIR/configure" "$C/src/"
	cp -R "$QW_SRCDIR/build-aux" "$C/src/"
	cp "$QW_SRCDIR/src/qw.c" "$C/src/src/"
	# a pkg-config that does not know the module named in $QW_NO_PKG
	cat >"$C/pkg-config" <<'EOS'
#!/bin/sh
for a; do
	case $a in "$QW_NO_PKG" | "$QW_NO_PKG "*) exit 1 ;; esac
done
exec pkg-config "$@"
EOS
	chmod +x "$C/pkg-config"
}

@test "configure stops at a missing dependency and names the Debian package to install" {
	command -v pkg-config >/dev/null
	configure_copy
	for dep in jansson:libjansson-dev libzstd:libzstd-dev libarchive:libarchive-dev yaml-0.1:libyaml-dev; do
		run --separate-stderr env -C "$C/build" QW_NO_PKG="${dep%%:*}" PKG_CONFIG="$C/pkg-config" \
			"$C/src/configure"
		[ "$status" -ne 0 ] || { echo "configure passed without ${dep%%:*}"; false; }
		echo "$stderr"
		[[ "$stderr" == *"configure: error: ${dep%%:*} "*"not found: install the Debian package ${dep#*:} "* ]]
	done
	# without pkg-config itself, the package to install is pkg-config
	run --separate-stderr env -C "$C/build" PKG_CONFIG=/nonexistent/pkg-config "$C/src/configure"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"configure: error: pkg-config not found: install the Debian package pkg-config "* ]]
}

@test "make install puts programs, man pages and completions in place; the installed qw runs qw-NAME" {
	D=$BATS_TEST_TMPDIR/dest
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$QW_BUILDDIR" install DESTDIR="$D"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	bindir=$(dirname "$(find "$D" -path '*/bin/qw' -type f)")
	prefix=${bindir%/bin}
	for p in $(programs); do
		[ -x "$bindir/$p" ] || { echo "not installed: $p"; false; }
		[ -f "$prefix/share/bash-completion/completions/$p" ] || { echo "no completion: $p"; false; }
	done
	for m in "$QW_SRCDIR"/man/*.[1-8]; do
		m=${m##*/}
		[ -f "$prefix/share/man/man${m##*.}/$m" ] || { echo "man page not installed: $m"; false; }
	done
	# the installed qw runs qw-NAME from its own directory, with nothing of
	# qw on PATH (PATH must not reach the build tree)
	run --separate-stderr env PATH=/usr/bin:/bin "$bindir/qw" parse --version
	[ "$status" -eq 0 ]
	[[ "$output" == "qw-parse (qw) "* ]]
	run --separate-stderr env PATH=/usr/bin:/bin QW_DATA_DIR="$BATS_TEST_TMPDIR/qwdata" \
		"$bindir/qw" search --index nope --query '*'
	[ "$status" -eq 66 ]
	[[ "$stderr" == "qw-search: "* ]]
	# called by name through a symlink on PATH, it still finds its programs
	mkdir "$BATS_TEST_TMPDIR/links"
	ln -s "$bindir/qw" "$BATS_TEST_TMPDIR/links/qw"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/links:/usr/bin:/bin" qw package --version
	[ "$status" -eq 0 ]
	[[ "$output" == "qw-package (qw) "* ]]
	# and make uninstall removes every file it installed
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$QW_BUILDDIR" uninstall DESTDIR="$D"
	[ "$status" -eq 0 ]
	[ -z "$(find "$D" -type f)" ]
}

# awk over the sources, against src/lib/LAYERS: every library file sits in a
# listed folder, and includes only its own folder's headers and those of the
# folders listed before it, always by their folder path.
layer_violations() {
	awk '
		FNR == NR { if ($0 !~ /^#/ && NF) rank[$1] = ++n; next }
		FNR == 1 {
			split(FILENAME, part, "/"); self = part[length(part) - 1]
			if (!(self in rank)) print FILENAME ": not in a folder of src/lib/LAYERS"
		}
		/^#include "/ {
			inc = $2; gsub(/"/, "", inc)
			if (split(inc, p, "/") != 2 || !(p[1] in rank))
				print FILENAME ": includes " inc " without its layer folder"
			else if (rank[p[1]] > rank[self])
				print FILENAME ": includes " inc ", of a higher layer"
		}
	' "$1/LAYERS" "$1"/*/*.[ch]
}

@test "src/lib: every file is in a layer folder and never includes a higher layer" {
	run layer_violations "$QW_SRCDIR/src/lib"
	[ "$status" -eq 0 ]
	[ -z "$output" ] || { echo "$output"; false; }
	# the check itself can fail: a base file that includes a search header
	local fake="$BATS_TEST_TMPDIR/lib"
	mkdir -p "$fake/base" "$fake/search"
	cp "$QW_SRCDIR/src/lib/LAYERS" "$fake/"
	printf '#include "search/query.h"\n' >"$fake/base/x.c"
	printf '#include "base/buf.h"\n#include "buf.h"\n' >"$fake/search/y.c"
	run layer_violations "$fake"
	[[ "$output" == *"base/x.c: includes search/query.h, of a higher layer"* ]]
	[[ "$output" == *"search/y.c: includes buf.h without its layer folder"* ]]
	[[ "$output" != *"base/buf.h"* ]]
}
