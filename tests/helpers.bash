# Shared by every bats file: load with `load helpers`.
bats_require_minimum_version 1.5.0

# The programs under test come first in PATH (the harness sets it; this keeps
# `bats tests/x.bats` from a checkout working too).
QW_SRCDIR=${QW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
QW_BUILDDIR=${QW_BUILDDIR:-$QW_SRCDIR}
PATH="$QW_BUILDDIR/bin:$PATH"
QW_SHARED_DATA=${QW_SHARED_DATA:-$QW_SRCDIR/../shared/data}
export QW_SRCDIR QW_BUILDDIR QW_SHARED_DATA PATH

# Tests that need ../shared/data skip when it is absent, except in CI
# where a missing folder is a failure.
require_shared_data() {
	if [ ! -d "$QW_SHARED_DATA" ]; then
		if [ "${CI:-}" = true ]; then
			echo "shared data folder missing: $QW_SHARED_DATA" >&2
			return 1
		fi
		skip "shared data not available ($QW_SHARED_DATA)"
	fi
}

# A fresh data dir per test.
setup_datadir() {
	export QW_DATA_DIR="$BATS_TEST_TMPDIR/qwdata"
}

# ts_config FILE ID FIELDS [MORE]: an index config in FILE with a dynamic
# doc mapping whose first field is a fast datetime ts, then FIELDS (the rest
# of the ts entry, more field_mappings entries and doc_mapping keys, indented
# as in the file) and MORE (top-level sections).
ts_config() {
	cat >"$1" <<EOF
version: 0.8
index_id: $2
doc_mapping:
  mode: dynamic
  field_mappings:
    - name: ts
      type: datetime
      fast: true
$3
${4:-}
EOF
}

# FIELDS for ts_config: ts in unix seconds (its timestamp field), a raw
# tenant and a text msg, the documents of the indexer and packager tests.
TENANT_FIELDS='      input_formats: [unix_timestamp]
    - name: tenant
      type: text
      tokenizer: raw
    - name: msg
      type: text
  timestamp_field: ts'

# The metastore file of index ID (the file backend's).
meta() {
	echo "$QW_DATA_DIR/indexes/$1/metastore.json"
}

# tls_certs DIR: a CA and a certificate for 127.0.0.1 and localhost it
# signed (DIR/ca.pem, DIR/server.pem, DIR/server.key), and a second CA
# that signed nothing here (DIR/other-ca.pem).
tls_certs() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=qw-test-ca -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=qw-other-ca -keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
	[ -s "$d/server.pem" ]
}
