#!/usr/bin/env bats
# qw-search top-K by a fast field over many column blocks (of 128 values):
# blocks whose bounds rank after the K-th hit are skipped, so the hits must
# still be exactly the oracle's (python3 over the documents), ties included.
load helpers

setup_file() {
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	export DOCS="$BATS_FILE_TMPDIR/docs.ndjson"
	# 3000 docs in time order; v a pseudo-random small number (many ties),
	# u a random large one; w "b" on every 7th doc, "c" on one in 1000
	python3 - "$DOCS" <<'PY'
import json, sys
x = 12345
with open(sys.argv[1], "w") as out:
    for k in range(3000):
        x = (x * 1103515245 + 12345) % 2**31
        w = "a b" if k % 7 == 0 else "a"
        if k % 1000 == 999:
            w += " c"
        out.write(json.dumps({"ts": 1700000000 + k, "v": x % 50, "u": x, "w": w}) + "\n")
PY
	cat >"$BATS_FILE_TMPDIR/topk.yaml" <<'EOF'
version: 0.8
index_id: topk
doc_mapping:
  mode: strict
  field_mappings:
    - name: ts
      type: datetime
      input_formats: [unix_timestamp]
      fast: true
    - name: v
      type: i64
      fast: true
    - name: u
      type: u64
      fast: true
    - name: w
      type: text
  timestamp_field: ts
EOF
	qw index create --index-config "$BATS_FILE_TMPDIR/topk.yaml" >/dev/null
	t=$(qw-publish --new-token --index topk --source s)
	qw-index --index topk --source s --publish-token "$t" <"$DOCS" |
		qw-package | qw-upload | qw-publish >/dev/null
}

# oracle QUERY_WORD KEYS...: the first 10 docs with the word, sorted by the
# keys ("-v": v descending; "ts": ascending), as "v u ts" lines
oracle() {
	python3 - "$DOCS" "$@" <<'PY'
import json, sys
word, keys = sys.argv[2], sys.argv[3:]
docs = [d for d in map(json.loads, open(sys.argv[1])) if word in d["w"].split()]
for k in reversed(keys):
    docs.sort(key=lambda d: d[k.lstrip("-")], reverse=k.startswith("-"))
for d in docs[:10]:
    print(d["v"], d["u"], d["ts"])
PY
}

# got QUERY SORT: qw-search's first 10 hits as "v u ts" lines (its
# --sort-by: "v" descending, "-v" ascending, as Quickwit's sort_by)
got() {
	qw-search --index topk --query "w:$1" --sort-by "$2" --max-hits 10 --format ndjson |
		jq -r '"\(.v) \(.u) \(.ts | if type == "string" then fromdateiso8601 else . end)"'
}

@test "top-10 by a fast field, descending and ascending, ties broken by the next key, as the oracle" {
	diff <(got a v,-ts) <(oracle a -v ts)
	diff <(got a -v,ts) <(oracle a v -ts)
	diff <(got b v,ts) <(oracle b -v -ts)
	diff <(got a u) <(oracle a -u)
	diff <(got a -u) <(oracle a u)
	diff <(got c u) <(oracle c -u)
	diff <(got a ts) <(oracle a -ts)
	diff <(got b -ts) <(oracle b ts)
}
