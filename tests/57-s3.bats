#!/usr/bin/env bats
# s3:// storage against s3rver on a loopback port (tests/s3-helpers.bash).

load helpers
load s3-helpers

setup() {
	start_s3rver
}

teardown() {
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
