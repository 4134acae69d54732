#!/bin/sh
# The README's first command ends here: index the sample logs with
# qw-pipeline --once, then run a few searches and print the results.
# Run from the top of a built checkout.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/bin:$PATH"
export QW_DATA_DIR="${QW_DATA_DIR:-$top/qwdata}"
cd "$top"

# Print a command as typed, then run it.
run() { printf '\n\033[1m$ %s\033[0m\n' "$1"; eval "$1"; }

for name in gharchive apache windows-events; do
	qw index delete "$name" --yes >/dev/null 2>&1 || true
	run "qw index create --index-config examples/$name.yaml"
done

run 'qw-pipeline --index gharchive --once --quiet examples/gharchive.ndjson'
run 'qw-pipeline --index apache --once --quiet --format plain examples/apache-access.log'
run 'qw-pipeline --index windows-events --once --quiet --dead-letter "$QW_DATA_DIR/rejected.ndjson" examples/windows-events.ndjson.zst'
run 'qw index list'

run "qw-search --index gharchive --query 'type:PushEvent' --max-hits 3 | jq -c '.num_hits, .hits[].repo.name'"
run "qw-search --index apache --query '\"GET /favicon.ico\"' --format count"
run "qw-search --index windows-events --query 'Message:lsass AND EventID:10' --max-hits 2 --format ndjson | jq -c '{ts: .\"@timestamp\", host: .Hostname}'"
run "qw-search --index windows-events --query '*' --max-hits 0 --aggs '{\"hosts\": {\"terms\": {\"field\": \"Hostname\", \"size\": 5}}}' | jq -c '.aggregations.hosts.buckets[]'"
