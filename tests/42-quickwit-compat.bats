#!/usr/bin/env bats
# Quickwit's own REST API scenarios (../shared/quickwit-scenarii), replayed
# with qw index create, the pipeline stages and qw-search by
# tests/quickwit-compat/run, which lists the cases it skips and why.
load helpers

@test "qw-search passes every Quickwit scenario step it can express (the runner lists the others)" {
	scen=${QW_SCENARII:-$QW_SRCDIR/../shared/quickwit-scenarii}
	if [ ! -d "$scen" ]; then
		[ "${CI:-}" != true ] || { echo "scenarios missing: $scen" >&2; return 1; }
		skip "Quickwit scenarios not available ($scen)"
	fi
	command -v python3 >/dev/null && python3 -c 'import yaml' || {
		[ "${CI:-}" != true ] || { echo "python3 with yaml is required" >&2; return 1; }
		skip "python3 with PyYAML not available"
	}
	QW_SCENARII=$scen run "$QW_SRCDIR/tests/quickwit-compat/run"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"# quickwit-compat: "*" passed, 0 failed"* ]]
}
