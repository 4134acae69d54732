#!/usr/bin/env bats
# qw-parse --format regex / --pattern / --multiline-start and the index
# config's indexing_settings.plain_text: fields out of plain logs.
# Oracles: Python's re and datetime, awk, over the raw files.
load helpers

RS=$'\x1e'

docs() { grep -v "^$RS" "$1" || true; }
controls() { { grep "^$RS" "$1" || true; } | cut -c2-; }

setup() {
	T=$BATS_TEST_TMPDIR
	EX=$QW_SHARED_DATA/elastic-examples
	LOGHUB=$QW_SHARED_DATA/loghub
}

web_config() {
	cat >"$T/web.yaml" <<-'YAML'
	version: 0.8
	index_id: web
	doc_mapping:
	  mode: lenient
	  field_mappings:
	    - {name: timestamp, type: datetime, input_formats: ["%d/%b/%Y:%H:%M:%S %z"], fast: true}
	    - {name: client_ip, type: ip}
	    - {name: status, type: u64, fast: true}
	    - {name: bytes, type: u64}
	    - {name: method, type: text, tokenizer: raw}
	    - {name: body, type: text}
	  timestamp_field: timestamp
	YAML
}

syslog_config() {
	cat >"$T/sys.yaml" <<-YAML
	version: 0.8
	index_id: sys
	doc_mapping:
	  field_mappings:
	    - {name: timestamp, type: datetime, input_formats: ["%b %e %H:%M:%S"], fast: true}
	    - {name: host, type: text, tokenizer: raw, fast: true}
	    - {name: app, type: text, tokenizer: raw, fast: true}
	    - {name: pid, type: u64}
	  timestamp_field: timestamp
	$1
	YAML
}

@test "apache_combined: every line of apache_logs, status, bytes and timestamp as Python reads them" {
	require_shared_data
	web_config
	run -0 --separate-stderr qw-parse -c "$T/web.yaml" -f regex -p apache_combined -D "$T/dl" \
		"$EX/apache_logs"
	[ "$stderr" = "qw-parse: 10000 docs read, 10000 valid, 0 invalid" ]
	printf '%s\n' "$output" >"$T/out"
	docs "$T/out" | jq -r '[.timestamp, (.status|tostring), (.bytes // "-"|tostring), .client_ip] | join(" ")' >"$T/got"
	python3 - "$EX/apache_logs" >"$T/want" <<-'PY'
	import re, sys, datetime
	rx = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "[^"]*" (\d{3}) (\d+|-)')
	for line in open(sys.argv[1], encoding="ascii"):
	    m = rx.match(line)
	    t = datetime.datetime.strptime(m.group(2), "%d/%b/%Y:%H:%M:%S %z")
	    t = t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
	    print(t, int(m.group(3)), m.group(4), m.group(1))
	PY
	[ "$(wc -l <"$T/want")" -eq 10000 ]
	diff "$T/want" "$T/got"
	[ ! -s "$T/dl" ]
}

@test "nginx_combined and Apache's common format (no referrer nor agent) match too" {
	web_config
	printf '%s\n' '10.0.0.1 - bob [02/Dec/2026:04:59:59 +0100] "POST /api HTTP/2.0" 201 15' \
		'10.0.0.2 - - [02/Dec/2026:05:00:00 +0000] "-" 400 - "-" "-"' >"$T/in"
	run -0 --separate-stderr qw-parse -c "$T/web.yaml" -p nginx_combined "$T/in"
	[ "$(docs <(printf '%s\n' "$output") | jq -c '[.timestamp, .status, .bytes, .method]')" = \
	'["2026-12-02T03:59:59Z",201,15,"POST"]
["2026-12-02T05:00:00Z",400,null,null]' ]
}

@test "syslog_rfc3164 over auth.log: hosts, apps and pids as awk splits them, time of day kept" {
	require_shared_data
	syslog_config
	run -0 --separate-stderr qw-parse -c "$T/sys.yaml" -p syslog_rfc3164 -D "$T/dl" "$EX/auth.log"
	[ "$stderr" = "qw-parse: 7121 docs read, 7121 valid, 0 invalid" ]
	printf '%s\n' "$output" >"$T/out"
	docs "$T/out" | jq -r '[(.timestamp|.[5:19]), .host, .app, (.pid // "-"|tostring)] | join(" ")' >"$T/got"
	awk 'BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", m, " "); for (i = 1; i <= 12; i++) mo[m[i]] = sprintf("%02d", i) }
	{
		app = $5; pid = "-"
		sub(/:$/, "", app)
		if (match(app, /\[[0-9]+\]$/)) { pid = substr(app, RSTART + 1, RLENGTH - 2); app = substr(app, 1, RSTART - 1) }
		printf "%s-%02dT%s %s %s %s\n", mo[$1], $2, $3, $4, app, pid
	}' "$EX/auth.log" >"$T/want"
	diff "$T/want" "$T/got"
}

@test "syslog_rfc3164 over loghub OpenSSH (CRLF, no final newline): counts per pid as awk gives" {
	require_shared_data
	syslog_config
	run -0 --separate-stderr qw-parse -c "$T/sys.yaml" -p syslog_rfc3164 "$LOGHUB/OpenSSH_2k.log"
	[ "$stderr" = "qw-parse: 2000 docs read, 2000 valid, 0 invalid" ]
	printf '%s\n' "$output" >"$T/out"
	[ "$(docs "$T/out" | jq -r .pid | sort | uniq -c | sort -k2)" = \
	  "$(awk '{ sub(/\r$/, ""); p = $5; sub(/^[^[]*\[/, "", p); sub(/\]:$/, "", p); print p }' \
		"$LOGHUB/OpenSSH_2k.log" | sort | uniq -c | sort -k2)" ]
}

@test "syslog_rfc5424: the RFC's examples, nil values give no field" {
	cat >"$T/c.yaml" <<-'YAML'
	version: 0.8
	index_id: syslog5424
	doc_mapping:
	  field_mappings:
	    - {name: timestamp, type: datetime, input_formats: [rfc3339], fast: true}
	    - {name: priority, type: u64}
	  timestamp_field: timestamp
	YAML
	printf '%s\n' '<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - '"'"'su root'"'"' failed for lonvick on /dev/pts/8' \
		'<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It'"'"'s time to make the do-nuts.' \
		'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event' >"$T/in"
	run -0 --separate-stderr qw-parse -c "$T/c.yaml" -p syslog_rfc5424 "$T/in"
	docs <(printf '%s\n' "$output") | jq -c '[.timestamp, .priority, .host, .app, .procid, .msgid, .structured_data, .message]' >"$T/got"
	cat >"$T/want" <<-'EOF2'
	["2003-10-11T22:14:15.003Z",34,"mymachine.example.com","su",null,"ID47",null,"'su root' failed for lonvick on /dev/pts/8"]
	["2003-08-24T12:14:15.000003Z",165,"192.0.2.1","myproc","8710",null,null,"%% It's time to make the do-nuts."]
	["2003-10-11T22:14:15.003Z",165,"mymachine.example.com","evntslog",null,"ID47","[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]","An application event"]
	EOF2
	diff "$T/want" "$T/got"
}

@test "--pattern with a user regex: named groups typed by the mapping, lines it misses are no_match dead letters" {
	require_shared_data
	cat >"$T/c.yaml" <<-'YAML'
	version: 0.8
	index_id: hadoop
	doc_mapping:
	  field_mappings:
	    - {name: ts, type: datetime, input_formats: ["%Y-%m-%d %H:%M:%S,%f"], fast: true}
	    - {name: level, type: text, tokenizer: raw, fast: true}
	  timestamp_field: ts
	YAML
	# only the INFO and WARN lines match: the others are dead letters
	run -0 --separate-stderr qw-parse -c "$T/c.yaml" -D "$T/dl" \
		-p '^(?<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?<level>INFO|WARN) ' "$LOGHUB/Hadoop_2k.log"
	printf '%s\n' "$output" >"$T/out"
	read -r matched missed < <(python3 - "$LOGHUB/Hadoop_2k.log" <<-'PY'
	import re, sys
	rx = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARN) ')
	lines = open(sys.argv[1], encoding="ascii", newline="").read().split("\r\n")
	lines = [l for l in lines if l.strip()]
	n = sum(1 for l in lines if rx.match(l))
	print(n, len(lines) - n)
	PY
	)
	[ "$missed" -gt 0 ]
	[ "$stderr" = "qw-parse: 2000 docs read, $matched valid, $missed invalid (no_match: $missed)" ]
	[ "$(jq -r .reason "$T/dl" | sort -u)" = no_match ]
	[ "$(docs "$T/out" | jq -r .level | sort | uniq -c | awk '{print $2, $1}')" = \
	  "$(awk '{ sub(/\r$/, "") } $3 == "INFO" || $3 == "WARN" { print $3 }' "$LOGHUB/Hadoop_2k.log" | sort | uniq -c | awk '{print $2, $1}')" ]
	# the time of day and the millis are kept
	[ "$(docs "$T/out" | head -1 | jq -r .ts)" = 2015-10-18T18:01:47.978Z ]
}

@test "bad patterns are refused up front with the option named" {
	run -64 --separate-stderr qw-parse -p '(?<a>x' /dev/null
	[[ "$stderr" == "qw-parse: --pattern '(?<a>x': invalid regex at offset "* ]]
	run -64 --separate-stderr qw-parse -p 'x+' /dev/null
	[[ "$stderr" == *"no named group"* ]]
	run -64 --separate-stderr qw-parse -f regex /dev/null
	[[ "$stderr" == "qw-parse: --format regex needs --pattern"* ]]
	run -64 --separate-stderr qw-parse --multiline-start '[' /dev/null
	[[ "$stderr" == "qw-parse: --multiline-start '[': invalid regex"* ]]
}

@test "the index config keeps the pattern and multiline start (indexing_settings.plain_text)" {
	require_shared_data
	syslog_config 'indexing_settings:
  plain_text:
    pattern: syslog_rfc3164'
	run -0 --separate-stderr qw-parse -c "$T/sys.yaml" "$LOGHUB/OpenSSH_2k.log"
	[ "$(docs <(printf '%s\n' "$output") | jq -r .host | sort -u)" = LabSZ ]
	# qw index create stores it and qw-parse -i uses it
	export QW_DATA_DIR=$T/qwdata
	run -0 qw index create --index-config "$T/sys.yaml"
	[ "$(jq -r '.. | objects | .plain_text?.pattern // empty' "$QW_DATA_DIR/indexes/sys/metastore.json")" = syslog_rfc3164 ]
	run -0 --separate-stderr qw-parse -i sys "$LOGHUB/OpenSSH_2k.log"
	[ "$(docs <(printf '%s\n' "$output") | jq -r .app | sort -u)" = sshd ]
	# a pattern that does not compile is refused with its key path
	syslog_config 'indexing_settings:
  plain_text:
    pattern: "(?<a>"'
	run -65 --separate-stderr qw-parse -c "$T/sys.yaml" /dev/null
	[[ "$stderr" == *"indexing_settings.plain_text.pattern"*"invalid regex"* ]]
}

# a Java stack trace: the "at" and "Caused by" lines are not events
java_log() {
	cat <<-'EOF2'
	2015-10-18 18:01:47,978 INFO [main] started
	2015-10-18 18:01:48,001 ERROR [main] request failed
	java.lang.IllegalStateException: boom
		at org.example.Foo.bar(Foo.java:10)
		at org.example.Main.main(Main.java:5)
	Caused by: java.io.IOException: disk
		... 2 more
	2015-10-18 18:01:49,500 WARN [main] retrying
	2015-10-18 18:01:50,000 ERROR [main] last
		at org.example.Foo.baz(Foo.java:12)
	EOF2
}

@test "--multiline-start joins a stack trace to its event; checkpoints never cut one" {
	java_log >"$T/java.log"
	run -0 --separate-stderr qw-parse -n 1 --multiline-start '^\d{4}-\d\d-\d\d ' "$T/java.log"
	[ "$stderr" = "qw-parse: 4 docs read, 4 valid, 0 invalid" ]
	printf '%s\n' "$output" >"$T/out"
	# the events, as awk joins the lines that do not start with a date
	docs "$T/out" | jq -r .body >"$T/got"
	awk '/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { if (ev != "") print ev; ev = $0; next } { ev = ev "\n" $0 } END { print ev }' \
		"$T/java.log" >"$T/want"
	diff "$T/want" "$T/got"
	# every checkpoint ends at the start of an event (byte offsets by awk) or at the end
	awk '/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { print off } { off += length($0) + 1 } END { print off }' \
		"$T/java.log" | sort -u >"$T/starts"
	controls "$T/out" | jq -r 'select(.type == "checkpoint") | .to' | sort -u >"$T/tos"
	[ -s "$T/tos" ]
	comm -23 "$T/tos" "$T/starts" >"$T/bad"
	[ ! -s "$T/bad" ]
	# with a pattern, the fields come from the first line, the body is all of it
	cat >"$T/c.yaml" <<-'YAML'
	version: 0.8
	index_id: java
	doc_mapping:
	  field_mappings:
	    - {name: ts, type: datetime, input_formats: ["%Y-%m-%d %H:%M:%S,%f"], fast: true}
	    - {name: level, type: text, tokenizer: raw}
	    - {name: body, type: text}
	  timestamp_field: ts
	indexing_settings:
	  plain_text:
	    pattern: '^(?<ts>\S+ \S+) (?<level>[A-Z]+) '
	    multiline_start: '^\d{4}-\d\d-\d\d '
	YAML
	run -0 --separate-stderr qw-parse -c "$T/c.yaml" "$T/java.log"
	[ "$(docs <(printf '%s\n' "$output") | jq -c '[.ts, .level, (.body | split("\n") | length)]')" = \
	'["2015-10-18T18:01:47.978Z","INFO",1]
["2015-10-18T18:01:48.001Z","ERROR",6]
["2015-10-18T18:01:49.5Z","WARN",1]
["2015-10-18T18:01:50Z","ERROR",2]' ]
}

@test "qw-pipeline --pattern and --multiline-start reach qw-parse: counts per status as awk gives, a stack trace one event" {
	require_shared_data
	export QW_DATA_DIR=$T/qwdata
	web_config
	qw index create --index-config "$T/web.yaml" >/dev/null
	run -0 --separate-stderr qw-pipeline --index web --once --quiet --format regex --pattern apache_combined "$EX/apache_logs"
	[ -z "$output" ] && [ -z "$stderr" ]
	run -0 qw-search --index web --max-hits 0 --aggs '{"s":{"terms":{"field":"status","size":100}}}'
	jq -r '.aggregations.s.buckets[] | "\(.key) \(.doc_count)"' <<<"$output" | sort >"$T/got"
	awk '{ n[$9]++ } END { for (s in n) print s, n[s] }' "$EX/apache_logs" | sort >"$T/want"
	diff "$T/want" "$T/got"
	# a stack trace: its lines join the event they follow
	cat >"$T/java.yaml" <<-'YAML'
	version: 0.8
	index_id: java
	doc_mapping:
	  field_mappings:
	    - {name: body, type: text}
	YAML
	qw index create --index-config "$T/java.yaml" >/dev/null
	java_log >"$T/java.log"
	run -0 --separate-stderr qw-pipeline --index java --once --quiet --format plain --multiline-start '^\d{4}-' "$T/java.log"
	run -0 qw-search --index java --format count '*'
	[ "$output" -eq "$(grep -c '^[0-9]\{4\}-' "$T/java.log")" ]
	run -0 qw-search --index java --format count 'body:IOException'
	[ "$output" -eq 1 ]
}

@test "a pattern whose time group is not named as the timestamp field: one hint on the first line without a timestamp" {
	require_shared_data
	web_config
	sed -i 's/name: timestamp,/name: ts,/; s/timestamp_field: timestamp/timestamp_field: ts/' "$T/web.yaml"
	run -0 --separate-stderr qw-parse -c "$T/web.yaml" -f regex -p apache_combined "$EX/apache_logs"
	[ "$(grep -c 'pattern has no group named .ts.' <<<"$stderr")" -eq 1 ]
	[[ "$stderr" == *"name the time group (?<ts>...)"* ]]
	[[ "$stderr" == *"0 valid, $(wc -l <"$EX/apache_logs") invalid (missing_timestamp: "* ]]
	# named as the field: no hint; --quiet: none either
	web_config
	run -0 --separate-stderr qw-parse -c "$T/web.yaml" -f regex -p apache_combined "$EX/apache_logs"
	[[ "$stderr" != *"no group named"* ]]
	sed -i 's/name: timestamp,/name: ts,/; s/timestamp_field: timestamp/timestamp_field: ts/' "$T/web.yaml"
	run -0 --separate-stderr qw-parse -q -c "$T/web.yaml" -f regex -p apache_combined "$EX/apache_logs"
	[ -z "$stderr" ]
}
