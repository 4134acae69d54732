#!/usr/bin/env bats
# qw-search --snippet-fields over real data (OTRF sample, 3 splits): each
# hit's snippets against a python implementation of tantivy's snippet
# generator (fragments of at most 150 bytes, best score, earliest among
# equals, <b> highlights, HTML escaping) run on the hit's own text.
load helpers
load search-helpers

setup_file() {
	require_shared_data
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	export SAMPLE="$BATS_FILE_TMPDIR/sample.ndjson"
	build_otrf "$QW_DATA_DIR" "$SAMPLE"
	# the same documents as one split, so that the oracle knows each term's document frequency
	sed -e 's/^index_id: otrf/index_id: one/' -e 's/split_num_docs_target: .*/split_num_docs_target: 1000000/' \
		"$QW_SRCDIR/tests/data/search/otrf.yaml" >"$BATS_FILE_TMPDIR/one.yaml"
	qw index create --index-config "$BATS_FILE_TMPDIR/one.yaml" >/dev/null
	token=$(qw-publish --new-token --index one --source s)
	qw-index --index one --source s --publish-token "$token" <"$SAMPLE" | qw-package | qw-upload | qw-publish >/dev/null
}

setup() {
	require_shared_data
}

# stdin: the response; $1: field, $2: the query's terms (lowercase,
# comma-separated); $3 (optional): the NDJSON of the only split, for each
# term's weight 1 / (1 + document frequency) (else every term weighs 1)
SNIPPET_PY='
import json, re, sys
field, terms = sys.argv[1], set(sys.argv[2].split(","))
def toks(t):
	return [m.group().lower() for m in re.finditer(r"[^\W_]+", t) if len(m.group().encode()) < 255]
weight = dict.fromkeys(terms, 1.0)
if len(sys.argv) > 3:
	docs = [json.loads(l) for l in open(sys.argv[3])]
	for w in terms:
		df = sum(1 for d in docs if isinstance(d.get(field), str) and w in toks(d[field]))
		weight[w] = 1.0 / (1.0 + df)
def esc(s):
	return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;").replace("\x27", "&#x27;")
def snippet(text, mx=150):
	b = text.encode()
	best, cur = None, [0, 0, 0, []]
	for m in re.finditer(r"[^\W_]+", text):
		f, t = len(text[:m.start()].encode()), len(text[:m.end()].encode())
		if t - f >= 255:
			continue
		if t - cur[0] > mx:
			if cur[2] > 0 and (best is None or cur[2] > best[2]):
				best = cur
			cur = [f, 0, 0, []]
		cur[1] = t
		if m.group().lower() in terms:
			cur[2] += weight[m.group().lower()]
			cur[3].append((f, t))
	if cur[2] > 0 and (best is None or cur[2] > best[2]):
		best = cur
	if best is None:
		return None
	out, at = "", best[0]
	for f, t in best[3]:
		out += esc(b[at:f].decode()) + "<b>" + esc(b[f:t].decode()) + "</b>"
		at = t
	return out + esc(b[at:best[1]].decode())
r = json.load(sys.stdin)
assert len(r["snippets"]) == len(r["hits"]) and len(r["hits"]) > 0, (len(r["snippets"]), len(r["hits"]))
bold = 0
for h, s in zip(r["hits"], r["snippets"]):
	v = h.get(field)
	vals = v if isinstance(v, list) else ([v] if isinstance(v, str) else [])
	want = [x for x in (snippet(t) for t in vals) if x is not None]
	assert s == {field: want}, (s, want)
	bold += sum(w.count("<b>") for w in want)
assert bold >= len(r["hits"]), bold
print(len(r["hits"]), "hits checked")
'

@test "snippets of one-term queries match tantivy's generator on each hit's text" {
	local q
	for q in logon process registry 'handle' svchost; do
		run -0 qw-search --index otrf -n 40 --query "Message:$q" --snippet-fields Message
		echo "$output" | python3 -c "$SNIPPET_PY" Message "$q"
	done
}

@test "snippets of several terms weigh each by its document frequency, as tantivy" {
	run -0 qw-search --index one -n 40 --query 'Message:"logon process"' --snippet-fields Message
	echo "$output" | python3 -c "$SNIPPET_PY" Message logon,process "$SAMPLE"
	run -0 qw-search --index one -n 40 --query 'Message:account OR Message:handle OR Message:zzznotthere' --snippet-fields Message
	echo "$output" | python3 -c "$SNIPPET_PY" Message account,handle,zzznotthere "$SAMPLE"
}

@test "snippets highlight the unfielded terms of the default search field" {
	run -0 qw-search --index otrf -n 30 --query 'registry' --snippet-fields Message
	echo "$output" | python3 -c "$SNIPPET_PY" Message registry
}

@test "snippets follow the hits: one object per hit, in order, with start offset and sort" {
	run -0 qw-search --index otrf -n 7 --start-offset 5 --sort-by -EventID --query 'Message:object' --snippet-fields Message
	echo "$output" | python3 -c "$SNIPPET_PY" Message object
	[ "$(echo "$output" | jq '.snippets | length')" = 7 ]
}

@test "a hit that matched on another field has no snippet for the field; without --snippet-fields no snippets" {
	run -0 qw-search --index otrf -n 5 --query 'EventID:4624' --snippet-fields Message
	[ "$(echo "$output" | jq -c '[.snippets[].Message] | unique')" = '[[]]' ]
	[ "$(echo "$output" | jq '.hits | length')" = 5 ]
	run -0 qw-search --index otrf -n 5 --query 'Message:logon'
	[ "$(echo "$output" | jq 'has("snippets")')" = false ]
}

@test "snippet fields that are not stored, indexed text fields are errors" {
	run -65 --separate-stderr qw-search --index otrf --query 'Message:logon' --snippet-fields EventID
	[ "$stderr" = "qw-search: snippet_fields: field 'EventID' of index 'otrf' is not a text field" ]
	run -65 --separate-stderr qw-search --index otrf --query 'Message:logon' --snippet-fields Message,NoSuchField
	[ "$stderr" = "qw-search: snippet_fields: field 'NoSuchField' of index 'otrf' is not a text field" ]
}
