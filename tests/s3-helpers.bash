# s3rver for the s3:// tests: `load s3-helpers`, then start_s3rver in
# setup and stop_s3rver in teardown. s3rver (npm s3rver@3.7.1) is found as
# $QW_S3RVER, on PATH, under $QW_S3RVER_PREFIX (default
# ~/.cache/qw-s3rver, where `npm install --prefix ~/.cache/qw-s3rver
# s3rver@3.7.1` puts it) or in npm's global root. Absent, the tests skip,
# except in CI (CI=true) where that is a failure.

find_s3rver() {
	local prefix=${QW_S3RVER_PREFIX:-$HOME/.cache/qw-s3rver} root
	if [ -n "${QW_S3RVER:-}" ] && [ -x "$QW_S3RVER" ]; then
		echo "$QW_S3RVER"
	elif command -v s3rver >/dev/null 2>&1; then
		command -v s3rver
	elif [ -x "$prefix/node_modules/.bin/s3rver" ]; then
		echo "$prefix/node_modules/.bin/s3rver"
	elif command -v npm >/dev/null 2>&1 && root=$(npm root -g 2>/dev/null) &&
		[ -f "$root/s3rver/bin/s3rver.js" ]; then
		echo "$root/s3rver/bin/s3rver.js"
	else
		return 1
	fi
}

require_s3rver() {
	if ! command -v node >/dev/null 2>&1 || ! S3RVER_BIN=$(find_s3rver); then
		if [ "${CI:-}" = true ]; then
			echo "s3rver or nodejs missing (npm install -g s3rver@3.7.1)" >&2
			return 1
		fi
		skip "s3rver not installed (npm install --prefix ~/.cache/qw-s3rver s3rver@3.7.1)"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Start s3rver with bucket $1 (default qw-test) on loopback port $2 (default
# a free one) and point the S3 client at it. Waits (bounded, 20 s) until it
# answers.
start_s3rver() {
	local bucket=${1:-qw-test} i
	require_s3rver
	S3_BUCKET=$bucket
	S3RVER_DIR="$BATS_TEST_TMPDIR/s3rver"
	mkdir -p "$S3RVER_DIR"
	S3RVER_PORT=${2:-$(free_port)}
	node "$S3RVER_BIN" -d "$S3RVER_DIR" -a 127.0.0.1 -p "$S3RVER_PORT" -s \
		--configure-bucket "$bucket" >"$BATS_TEST_TMPDIR/s3rver.log" 2>&1 3>&- &
	S3RVER_PID=$!
	for ((i = 0; i < 200; i++)); do
		if curl -s -o /dev/null "http://127.0.0.1:$S3RVER_PORT/" 2>/dev/null; then
			break
		fi
		kill -0 "$S3RVER_PID" 2>/dev/null || { cat "$BATS_TEST_TMPDIR/s3rver.log" >&2; return 1; }
		sleep 0.1
	done
	[ "$i" -lt 200 ] || { echo "s3rver did not answer on port $S3RVER_PORT" >&2; return 1; }
	export QW_S3_ENDPOINT="http://127.0.0.1:$S3RVER_PORT"
	export QW_S3_FORCE_PATH_STYLE_ACCESS=true
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
	export S3_BUCKET S3RVER_DIR S3RVER_PORT
}

stop_s3rver() {
	if [ -n "${S3RVER_PID:-}" ]; then
		kill "$S3RVER_PID" 2>/dev/null || true
		wait "$S3RVER_PID" 2>/dev/null || true
		S3RVER_PID=
	fi
}

# Keys in the bucket under prefix $1, one a line, sorted, listed by s3rver's
# own files (an oracle independent of qw's S3 client).
s3rver_keys() {
	local prefix=${1:-}
	(cd "$S3RVER_DIR/$S3_BUCKET" 2>/dev/null && find . -name '*._S3rver_object' |
		sed -e 's|^\./||' -e 's|\._S3rver_object$||' | grep "^$prefix" | LC_ALL=C sort) || true
}

# Put the fault-injecting proxy (tests/s3-fault-proxy.py) between qw and
# s3rver: start_fault_proxy SEED RATE [DELAY_MS]. Its counts go to $FAULT_STATS.
start_fault_proxy() {
	local i
	FAULT_STATS="$BATS_TEST_TMPDIR/faults.json"
	rm -f "$BATS_TEST_TMPDIR/proxy.port"
	python3 "$QW_SRCDIR/tests/s3-fault-proxy.py" --upstream "$S3RVER_PORT" \
		--port-file "$BATS_TEST_TMPDIR/proxy.port" --seed "$1" --rate "$2" --delay-ms "${3:-0}" \
		--stats "$FAULT_STATS" >"$BATS_TEST_TMPDIR/proxy.log" 2>&1 3>&- &
	PROXY_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$BATS_TEST_TMPDIR/proxy.port" ] && break
		kill -0 "$PROXY_PID" 2>/dev/null || { cat "$BATS_TEST_TMPDIR/proxy.log" >&2; return 1; }
		sleep 0.1
	done
	[ -s "$BATS_TEST_TMPDIR/proxy.port" ] || { echo "the fault proxy did not start" >&2; return 1; }
	export QW_S3_ENDPOINT="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/proxy.port")"
	export FAULT_STATS
}

stop_fault_proxy() {
	if [ -n "${PROXY_PID:-}" ]; then
		kill "$PROXY_PID" 2>/dev/null || true
		wait "$PROXY_PID" 2>/dev/null || true
		PROXY_PID=
		export QW_S3_ENDPOINT="http://127.0.0.1:$S3RVER_PORT"
	fi
}
