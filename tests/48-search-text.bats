#!/usr/bin/env bats
# qw-search --format text: hits as lines, aggregations as tables, a
# histogram on a terminal (under tmux). Over apache_logs indexed with the
# apache_combined pattern kept in the index config; oracles in Python.
load helpers

setup_file() {
	[ -d "$QW_SHARED_DATA" ] || return 0
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	cat >"$BATS_FILE_TMPDIR/web.yaml" <<-'YAML'
	version: 0.8
	index_id: web
	doc_mapping:
	  mode: lenient
	  field_mappings:
	    - {name: timestamp, type: datetime, input_formats: ["%d/%b/%Y:%H:%M:%S %z"], fast: true}
	    - {name: client_ip, type: ip, fast: true}
	    - {name: status, type: u64, fast: true}
	    - {name: bytes, type: u64, fast: true}
	    - {name: path, type: text, tokenizer: raw}
	    - {name: body, type: text}
	  timestamp_field: timestamp
	indexing_settings:
	  plain_text:
	    pattern: apache_combined
	YAML
	qw index create --index-config "$BATS_FILE_TMPDIR/web.yaml" >/dev/null
	qw-pipeline --index web --once --quiet "$QW_SHARED_DATA/elastic-examples/apache_logs" >/dev/null
}

setup() {
	require_shared_data
	T=$BATS_TEST_TMPDIR
	LOG=$QW_SHARED_DATA/elastic-examples/apache_logs
}

# python3 - PROGRAM: run PROGRAM with `rows`, the parsed lines of apache_logs
oracle() {
	python3 -c '
import re, sys, datetime, collections
rx = re.compile(r"^(\S+) \S+ \S+ \[([^\]]+)\] \"(?:[A-Z]+ (\S+)[^\"]*|[^\"]*)\" (\d{3}) (\d+|-)")
rows = []
for line in open(sys.argv[1], encoding="ascii"):
    m = rx.match(line)
    t = datetime.datetime.strptime(m.group(2), "%d/%b/%Y:%H:%M:%S %z").astimezone(datetime.timezone.utc)
    rows.append(dict(ip=m.group(1), ts=t, path=m.group(3), status=int(m.group(4)), line=line.rstrip("\n")))
exec(sys.argv[2])' "$LOG" "$1"
}

@test "--format text --fields: one line per hit, the timestamp then the fields" {
	run -0 --separate-stderr qw-search --index web --format text --fields client_ip,status,path \
		--max-hits 10000 'status:404'
	[ -z "$stderr" ]
	sort <<<"$output" >"$T/got"
	oracle 'for r in rows:
    if r["status"] == 404:
        print(r["ts"].strftime("%Y-%m-%dT%H:%M:%SZ"), r["ip"], r["status"], r["path"] or "-")' | sort >"$T/want"
	[ "$(wc -l <"$T/want")" -gt 100 ]
	diff "$T/want" "$T/got"
}

@test "--format text without --fields shows the body; a missing field is -; zero hits exit 1" {
	run -0 --separate-stderr qw-search --index web --format text --max-hits 10000 'status:206'
	cut -d' ' -f2- <<<"$output" | sort >"$T/got"
	oracle 'for r in rows:
    if r["status"] == 206:
        print(r["line"])' | sort >"$T/want"
	[ -s "$T/want" ]
	diff "$T/want" "$T/got"
	run -0 --separate-stderr qw-search --index web --format text --fields nosuch --max-hits 1 'status:206'
	[[ "$output" == *" -" ]]
	[[ "$stderr" == "qw-search: 1 of "*" hits written (from offset 0): --max-hits and --start-offset give others" ]]
	run -1 --separate-stderr qw-search --index web --format text 'status:999'
	[ -z "$output" ] && [ -z "$stderr" ]
	run -64 --separate-stderr qw-search --index web --fields status 'status:200'
	[ "$stderr" = "qw-search: --fields is for --format text" ]
}

@test "--format text: a terms aggregation as a table of keys and counts" {
	run -0 --separate-stderr qw-search --index web --format text --max-hits 0 \
		--aggs '{"by_status": {"terms": {"field": "status", "size": 100}}}'
	[ "$(head -2 <<<"$output" | tr -s ' ')" = "by_status (terms)
key doc_count" ]
	# --max-hits 0 asked for no hit: no note that hits were left out
	[ -z "$stderr" ]
	tail -n +3 <<<"$output" | awk '{ print $1, $2 }' | sort >"$T/got"
	oracle 'c = collections.Counter(r["status"] for r in rows)
for k, n in c.items(): print(k, n)' | sort >"$T/want"
	diff "$T/want" "$T/got"
}

@test "a date_histogram on a terminal gets bars, in a pipe none (tmux)" {
	command -v tmux >/dev/null || { [ "${CI:-}" != true ] || false; skip "tmux not installed"; }
	aggs='{"days": {"date_histogram": {"field": "timestamp", "fixed_interval": "1d"}}}'
	run -0 --separate-stderr qw-search --index web --format text --max-hits 0 --aggs "$aggs"
	[[ "$output" != *$'\xe2\x96\x88'* ]]
	# the oracle: days and counts, and the bar lengths ceil(40 * n / max)
	oracle 'c = collections.Counter(r["ts"].strftime("%Y-%m-%dT00:00:00Z") for r in rows)
m = max(c.values())
for k in sorted(c): print(k, c[k], -(-40 * c[k] // m))' >"$T/want"
	[ "$(tail -n +3 <<<"$output" | awk '{ print $1, $2 }')" = "$(awk '{ print $1, $2 }' "$T/want")" ]
	sock=$T/tmux.sock
	# the pane is the terminal; tmux wait-for says when the search is done
	tmux -S "$sock" new-session -d -x 200 -y 50 \
		"qw-search --index web --format text --max-hits 0 --aggs '$aggs'; tmux -S '$sock' wait-for -S searched; sleep 60" 3>&-
	timeout 60 tmux -S "$sock" wait-for searched
	tmux -S "$sock" capture-pane -p -t 0 >"$T/screen"
	tmux -S "$sock" kill-server
	python3 -c '
import sys
for line in open(sys.argv[1], encoding="utf-8"):
    f = line.split()
    if len(f) >= 2 and f[0].endswith("T00:00:00Z"):
        print(f[0], f[1], len(f[2]) if len(f) > 2 and set(f[2]) == {"\u2588"} else 0)' "$T/screen" >"$T/bars"
	diff "$T/want" "$T/bars"
}
