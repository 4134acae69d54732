#!/usr/bin/env bats
# Datetimes as users write them: ISO 8601 with a space and comma fractions,
# year-less syslog dates with rollover, zones, unknown directives refused.
# Oracles: Python's datetime over the raw files.
load helpers

RS=$'\x1e'

docs() { grep -v "^$RS" "$1" || true; }

setup() {
	T=$BATS_TEST_TMPDIR
	LOGHUB=$QW_SHARED_DATA/loghub
	EX=$QW_SHARED_DATA/elastic-examples
}

config() { # config FORMAT [PATTERN]
	cat >"$T/c.yaml" <<-YAML
	version: 0.8
	index_id: dates
	doc_mapping:
	  field_mappings:
	    - {name: timestamp, type: datetime, input_formats: ["$1"], fast: true, fast_precision: milliseconds}
	  timestamp_field: timestamp
	YAML
}

@test "iso8601 at the start of Hadoop and Zookeeper lines keeps the time of day and the comma millis" {
	require_shared_data
	config iso8601
	for f in Hadoop Zookeeper; do
		run -0 --separate-stderr qw-parse -c "$T/c.yaml" "$LOGHUB/${f}_2k.log"
		printf '%s\n' "$output" >"$T/out"
		docs "$T/out" | jq -r .timestamp >"$T/got"
		python3 - "$LOGHUB/${f}_2k.log" >"$T/want" <<-'PY'
		import sys, datetime
		for line in open(sys.argv[1], encoding="ascii"):
		    if not line.strip():
		        continue
		    t = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
		    s = t.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
		    print(s + "Z")
		PY
		[ "$(wc -l <"$T/want")" -eq 2000 ]
		diff "$T/want" "$T/got"
	done
}

@test "year-less syslog dates: this year, or last year when more than a day ahead (OpenSSH's Dec 10, auth.log)" {
	require_shared_data
	config '%b %e %H:%M:%S'
	for f in "$LOGHUB/OpenSSH_2k.log" "$EX/auth.log" "$LOGHUB/Mac_2k.log"; do
		run -0 --separate-stderr qw-parse -c "$T/c.yaml" -p syslog_rfc3164 "$f"
		printf '%s\n' "$output" >"$T/out"
		docs "$T/out" | jq -r .timestamp >"$T/got"
		python3 - "$f" >"$T/want" <<-'PY'
		import sys, datetime, re
		now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
		for line in open(sys.argv[1], encoding="ascii", errors="replace"):
		    if not line.strip():
		        continue
		    m = re.match(r"([A-Z][a-z]{2}) +(\d+) (\d\d:\d\d:\d\d)", line)
		    t = datetime.datetime.strptime("%d %s %s %s" % (now.year, m.group(1), m.group(2), m.group(3)), "%Y %b %d %H:%M:%S")
		    if t > now + datetime.timedelta(days=1):
		        t = t.replace(year=now.year - 1)
		    print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
		PY
		diff "$T/want" "$T/got"
	done
}

@test "an unknown strptime directive is refused at qw index create with the key path (exit 65)" {
	export QW_DATA_DIR=$T/qwdata
	config '%Y-%m-%d %Q'
	run -65 --separate-stderr qw index create --index-config "$T/c.yaml"
	[[ "$stderr" == *"doc_mapping.field_mappings[0].input_formats[0]: date format \"%Y-%m-%d %Q\": unknown directive %Q"* ]]
	config '%Y-%m-%d %'
	run -65 --separate-stderr qw index create --index-config "$T/c.yaml"
	[[ "$stderr" == *"input_formats[0]: date format \"%Y-%m-%d %\" ends with a lone %"* ]]
	[ ! -e "$QW_DATA_DIR/indexes/dates" ]
}

@test "%z and %Z: offsets and zone names, no zone is UTC" {
	config '%Y-%m-%d %H:%M:%S %Z'
	printf '%s\n' '2026-03-27 14:00:00 CET x' '2026-03-27 08:00:00 EST y' '2026-03-27 13:00:00 UTC z' \
		'2026-03-27 15:30:00 +02:30 w' >"$T/in"
	run -0 --separate-stderr qw-parse -c "$T/c.yaml" "$T/in"
	[ "$(docs <(printf '%s\n' "$output") | jq -r .timestamp | sort -u)" = 2026-03-27T13:00:00Z ]
	config '%Y-%m-%d %H:%M:%S'
	run -0 --separate-stderr qw-parse -c "$T/c.yaml" <(echo '2026-03-27 13:00:00 no zone')
	[ "$(docs <(printf '%s\n' "$output") | jq -r .timestamp)" = 2026-03-27T13:00:00Z ]
}

@test "an integer in nanoseconds keeps its nanoseconds: stored as RFC 3339 to the nanosecond, shown back as given" {
	cat >"$T/ns.yaml" <<-YAML
	version: 0.8
	index_id: nanos
	doc_mapping:
	  field_mappings:
	    - {name: t, type: datetime, input_formats: [unix_timestamp], output_format: unix_timestamp_nanos, fast: true}
	    - {name: n, type: u64}
	  timestamp_field: t
	YAML
	# after and before 1970, a microsecond's worth and less
	printf '%s\n' '{"t":1420898400000000001,"n":1}' '{"t":-1420898400000000001,"n":2}' \
		'{"t":1420898400123456789,"n":3}' '{"t":1420898400123456,"n":4}' >"$T/in.ndjson"
	run -0 --separate-stderr qw-parse -c "$T/ns.yaml" "$T/in.ndjson"
	docs <(printf '%s\n' "$output") | jq -r .t >"$T/got"
	python3 - "$T/in.ndjson" >"$T/want" <<-'PY'
	import datetime, json, sys
	for line in open(sys.argv[1]):
	    v = json.loads(line)["t"]
	    ns = v if abs(v) >= 10**17 else v * 1000  # nanoseconds, else microseconds
	    s, frac = divmod(ns, 10**9)
	    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=s)
	    digits = ("%09d" % frac).rstrip("0")
	    print(t.strftime("%Y-%m-%dT%H:%M:%S") + ("." + digits if digits else "") + "Z")
	PY
	diff "$T/want" "$T/got"
	# end to end: a hit shows the integer as it was sent
	export QW_DATA_DIR=$T/qwdata
	qw index create --index-config "$T/ns.yaml" >/dev/null
	qw-pipeline --index nanos --once --quiet "$T/in.ndjson"
	run -0 qw-search --index nanos --format ndjson --max-hits 10 '*'
	# (python: jq's numbers are doubles) the instant in nanoseconds, as sent or from microseconds
	python3 -c 'import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    print(d["n"], d["t"] if abs(d["t"]) >= 10**17 else d["t"] * 1000)' "$T/in.ndjson" | sort >"$T/want"
	printf '%s\n' "$output" | python3 -c 'import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(d["n"], d["t"])' | sort >"$T/got"
	diff "$T/want" "$T/got"
}
