# Shared by the qw-merge, delete task and janitor tests (56-59): load with
# `load merge-helpers` after `load helpers`.

# The merge policy of the merge tests that name none (YAML, indented 4).
DEFAULT_MERGE_POLICY='    type: stable_log
    merge_factor: 3
    max_merge_factor: 5'

# make_ts_index ID FIELDS [MORE]: create index ID from
# $BATS_TEST_TMPDIR/ID.yaml: a dynamic doc mapping whose first field is a
# fast datetime ts, then FIELDS (the rest of the ts entry, more
# field_mappings entries and doc_mapping keys, indented as in the file)
# and MORE (top-level sections).
make_ts_index() {
	ts_config "$BATS_TEST_TMPDIR/$1.yaml" "$1" "$2" "${3:-}"
	qw index create --index-config "$BATS_TEST_TMPDIR/$1.yaml" >/dev/null
}
