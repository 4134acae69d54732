#!/usr/bin/env bats
load helpers

@test "every program answers --version with its name and the package version" {
	for p in qw qw-parse qw-index qw-package qw-upload qw-publish qw-pipeline qw-search; do
		run --separate-stderr "$p" --version
		[ "$status" -eq 0 ]
		[[ "$output" == "$p (qw) "* ]]
	done
}

@test "every program answers --help on stdout and exits 0" {
	for p in qw qw-parse qw-index qw-package qw-upload qw-publish qw-pipeline qw-search; do
		run --separate-stderr "$p" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"Usage: $p"* ]]
	done
}

@test "every program rejects an unknown option with exit 64 and a message on stderr" {
	for p in qw qw-parse qw-index qw-package qw-upload qw-publish qw-pipeline qw-search; do
		run --separate-stderr "$p" --no-such-option
		[ "$status" -eq 64 ]
		[ -z "$output" ]
		[[ "$stderr" == "$p: "* ]]
	done
}

@test "every program has a man page whose name matches" {
	for p in qw qw-parse qw-index qw-package qw-upload qw-publish qw-pipeline qw-search; do
		ls "$QW_SRCDIR"/man/"$p".[1-8] >/dev/null
	done
}
