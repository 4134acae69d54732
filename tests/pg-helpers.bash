# A private PostgreSQL cluster for the postgresql:// metastore tests:
# `load pg-helpers`, then start_pg (in setup or setup_file) and stop_pg
# (in teardown; outside bats, whose own traps must stay, start_pg sets an
# EXIT trap, so that a failing script never leaves a server behind). initdb and pg_ctl come from $QW_PG_BINDIR, else
# /usr/lib/postgresql/*/bin, else PATH. The cluster lives in a temp dir,
# owned by the postgres user when run as root (the server refuses to run as
# root: runuser -u postgres), listens only on a unix socket in that dir
# (port: a free one, which names the socket; start_pg_tls adds 127.0.0.1
# with TLS), trusts local connections.
# Absent, the tests skip, except in CI (CI=true) where that is a failure.
# Exports QW_TEST_PG_URI, a libpq URI of the cluster's "postgres" database.

find_pg_bindir() {
	local d
	if [ -n "${QW_PG_BINDIR:-}" ] && [ -x "$QW_PG_BINDIR/initdb" ]; then
		echo "$QW_PG_BINDIR"
		return 0
	fi
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	return 1
}

require_pg() {
	if ! PG_BINDIR=$(find_pg_bindir); then
		if [ "${CI:-}" = true ]; then
			echo "postgresql missing (apt-get install postgresql)" >&2
			return 1
		fi
		skip "postgresql not installed (apt-get install postgresql)"
	fi
}

# Run a PostgreSQL program as the cluster's owner.
pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_ctl_start() {
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
		-o "-k $PG_DIR -p $PG_PORT -c listen_addresses=${PG_LISTEN:-} -c fsync=off -c max_connections=60 ${PG_TLS_OPTS:-}" \
		start >/dev/null 3>&-
}

start_pg() {
	require_pg
	PG_DIR=$(mktemp -d /tmp/qw-pg.XXXXXX)
	chmod 755 "$PG_DIR"
	[ "$(id -u)" != 0 ] || chown postgres "$PG_DIR"
	PG_PORT=$(pg_free_port)
	pg_as_owner "$PG_BINDIR/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
		-E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
	[ -n "${BATS_VERSION:-}" ] || trap stop_pg EXIT
	[ -z "${PG_HBA_FIRST:-}" ] || pg_hba_prepend "$PG_HBA_FIRST"
	pg_ctl_start || { cat "$PG_DIR/log" >&2; return 1; }
	export QW_TEST_PG_URI="postgresql://postgres@/postgres?host=$PG_DIR&port=$PG_PORT"
}

# pg_hba_prepend LINE: LINE becomes the first rule of the cluster's
# pg_hba.conf (read at its next start, or at SELECT pg_reload_conf()).
pg_hba_prepend() {
	{ echo "$1"; cat "$PG_DIR/data/pg_hba.conf"; } >"$PG_DIR/hba.tmp" &&
		pg_as_owner cp "$PG_DIR/hba.tmp" "$PG_DIR/data/pg_hba.conf"
}

# start_pg_tls: start_pg, also listening on 127.0.0.1 with TLS only (a
# connection without it is rejected), its certificate for IP 127.0.0.1
# signed by a CA made here (tls_certs, helpers.bash). Exports PG_CA (that CA's certificate),
# PG_OTHER_CA (a CA that signed nothing of it) and QW_TEST_PG_TLS_URI
# (sslmode=verify-full against PG_CA).
start_pg_tls() {
	require_pg
	local d
	d=$(mktemp -d /tmp/qw-pg-tls.XXXXXX)
	PG_TLS_DIR=$d
	tls_certs "$d" || { echo "openssl could not make the test certificates" >&2; return 1; }
	chmod 600 "$d/server.key"
	[ "$(id -u)" != 0 ] || chown postgres "$d/server.key" "$d/server.pem"
	chmod 755 "$d"
	PG_LISTEN=127.0.0.1
	PG_TLS_OPTS="-c ssl=on -c ssl_cert_file=$d/server.pem -c ssl_key_file=$d/server.key"
	PG_HBA_FIRST="hostnossl all all all reject"
	start_pg || return 1
	export PG_CA=$d/ca.pem PG_OTHER_CA=$d/other-ca.pem
	export QW_TEST_PG_TLS_URI="postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=verify-full&sslrootcert=$PG_CA"
}

# Stop (fast: connections are cut) and start again, keeping the data.
restart_pg() {
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null
	pg_ctl_start
}

stop_pg() {
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop \
		>/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
	PG_DIR=
	[ -z "${PG_TLS_DIR:-}" ] || rm -rf "$PG_TLS_DIR"
	PG_TLS_DIR=
}
