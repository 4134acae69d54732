#!/usr/bin/env bats
# Tokenizers of the index config: source_code_default against a python
# implementation of Quickwit's CodeTokenizer over real logs, and the
# refusal (exit 65, with the key path) of what qw does not implement.
load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	export QW_DATA_DIR=$T/qwdata
}

# Quickwit's source_code_default, written from its definition: CodeTokenizer
# (character classes uppercase letter / other letter / number / delimiter),
# then remove_long (255 bytes), lowercase, ASCII folding.
write_code_oracle() {
	cat >"$T/code.py" <<'PY'
import json, sys, unicodedata
def cls(c):
    cat = unicodedata.category(c)
    if cat[0] == "L":
        return "U" if c.isupper() else "L"
    return "N" if cat[0] == "N" else None
def fold(s):
    d = unicodedata.normalize("NFKD", s)
    return "".join(c for c in d if unicodedata.category(c)[0] != "M")
def tokens(s):
    out, cur, kind = [], "", None
    def flush(t):
        # a dropped long token keeps its position
        out.append(None if len(t.encode()) >= 255 else fold(t.lower()))
    for c in s:
        k = cls(c)
        if k is None:
            if cur: flush(cur)
            cur, kind = "", None
        elif not cur:
            cur, kind = c, k
        elif kind == k:
            cur += c
        elif kind == "U" and k == "L":
            if len(cur) == 1:
                cur += c
            else:
                flush(cur[:-1]); cur = cur[-1] + c
            kind = "L"
        else:
            flush(cur); cur, kind = c, k
    if cur: flush(cur)
    return out
def count(path, query):
    q = [t for t in tokens(query) if t is not None]
    n = 0
    for line in open(path, encoding="utf-8"):
        t = tokens(json.loads(line)["msg"])
        n += any(t[i:i + len(q)] == q for i in range(len(t) - len(q) + 1))
    return n
if __name__ == "__main__":
    print(count(sys.argv[1], sys.argv[2]))
PY
}

create_index() { # NAME TOKENIZER_YAML_LINES
	printf 'version: 0.8\nindex_id: %s\ndoc_mapping:\n  field_mappings:\n    - name: msg\n      type: text\n%s\n' "$1" "$2" >"$T/$1.yaml"
	qw index create --index-config "$T/$1.yaml" >/dev/null
}

@test "source_code_default: term and phrase counts match Quickwit's CodeTokenizer over Hadoop logs" {
	require_shared_data
	write_code_oracle
	python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    print(json.dumps({"msg": line.rstrip("\n")}))' "$QW_SHARED_DATA/loghub/Hadoop_2k.log" >"$T/hadoop.ndjson"
	create_index code-idx '      tokenizer: source_code_default
      record: position'
	qw-pipeline --index code-idx --once --quiet "$T/hadoop.ndjson" >/dev/null 2>&1
	checked=0
	for q in master app MRAppMaster mr RMContainerAllocator container attempt appattempt_1445144423722 \
		1445144423722 TaskAttemptImpl impl YARN_AM_RM_TOKEN rm token mapreduce.v2 v2 2 \
		'"app master"' '"container allocator"' HTTPServer Café; do
		want=$(python3 "$T/code.py" "$T/hadoop.ndjson" "${q//\"/}")
		got=$(qw-search --index code-idx -q "msg:$q" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "$q: got $got, want $want" >&2; false; }
		[ "$want" -eq 0 ] || checked=$((checked + 1))
	done
	# most of these terms occur: the test compares real counts, not zeros
	[ "$checked" -ge 15 ]
}

@test "source_code_default: camelCase, acronyms, digits and accents on generated data" {
	write_code_oracle
	python3 -c '
import json, random
random.seed(47)
parts = ["getHTTPResponse", "snake_case_name", "XMLParser2", "Café", "CAFÉ_LATTE", "x86_64",
         "parseJSONValue", "MAX_RETRY", "iOS", "ABCa", "été", " ", ".", "-", "/"]
for i in range(400):
    print(json.dumps({"msg": "".join(random.choice(parts) for _ in range(4))}, ensure_ascii=False))' >"$T/gen.ndjson"
	create_index gen-idx '      tokenizer: source_code_default
      record: position'
	qw-pipeline --index gen-idx --once --quiet "$T/gen.ndjson" >/dev/null 2>&1
	for q in http response get snake case xml parser 2 cafe café latte x 86 64 json \
		max retry i os ab ca ete '"http response"' '"xml parser 2"' '"cafe latte"'; do
		want=$(python3 "$T/code.py" "$T/gen.ndjson" "${q//\"/}")
		got=$(qw-search --index gen-idx -q "msg:$q" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "$q: got $got, want $want" >&2; false; }
		[ "$want" -gt 0 ] || { echo "$q: the oracle finds nothing" >&2; false; }
	done
}

@test "source_code_default: snippets highlight the camelCase parts a query matched" {
	printf '%s\n' '{"msg":"call getHTTPResponse now"}' '{"msg":"nothing here"}' >"$T/s.ndjson"
	create_index snip-idx '      tokenizer: source_code_default
      record: position'
	qw-pipeline --index snip-idx --once --quiet "$T/s.ndjson" >/dev/null 2>&1
	run -0 qw-search --index snip-idx -q 'msg:response' --snippet-fields msg
	[ "$(jq .num_hits <<<"$output")" -eq 1 ]
	jq -e '.snippets[0].msg[0] | contains("<b>Response</b>")' <<<"$output"
}

@test "qw index create refuses tokenizers it does not implement, with the key path" {
	create_bad() {
		printf 'version: 0.8\nindex_id: bad\ndoc_mapping:\n%s\n' "$1" >"$T/bad.yaml"
		run -65 qw index create --index-config "$T/bad.yaml"
		[[ "$output" == *"$2"* ]] || { echo "want '$2' in: $output" >&2; false; }
	}
	create_bad '  field_mappings:
    - name: msg
      type: text
      tokenizer: source_code_with_hex' 'doc_mapping.field_mappings[0].tokenizer: unsupported tokenizer "source_code_with_hex"'
	create_bad '  field_mappings:
    - name: msg
      type: text
      tokenizer: multilang' 'doc_mapping.field_mappings[0].tokenizer: unsupported tokenizer "multilang"'
	create_bad '  field_mappings:
    - name: msg
      type: text
      tokenizer: nope' 'doc_mapping.field_mappings[0].tokenizer: unknown tokenizer "nope"'
}
