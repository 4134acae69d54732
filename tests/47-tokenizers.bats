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
	# prefixes are normalized as tokens are (lowercase, ASCII folding), not split
	for p in CAF Café htt Pars XML_ ma; do
		want=$(python3 -c "
import json, sys; sys.path.insert(0, '$T'); import code as c
p = c.fold(sys.argv[1].lower())
print(sum(any(t is not None and t.startswith(p) for t in c.tokens(json.loads(l)['msg'])) for l in open('$T/gen.ndjson')))" "$p")
		got=$(qw-search --index gen-idx -q "msg:$p*" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "$p*: got $got, want $want" >&2; false; }
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

# Custom tokenizers, written from tantivy's definitions: regex (each match
# searched in the text after the previous one, stop at an empty one), ngram
# (by start, then length, in code points), simple (split on non
# alphanumerics), then the filters in order.
write_custom_oracle() {
	cat >"$T/custom.py" <<'PY'
import json, re, sys, unicodedata
def fold(s):
    d = unicodedata.normalize("NFKD", s)
    return "".join(c for c in d if unicodedata.category(c)[0] != "M")
def base(kind, arg, s):
    if kind == "regex":
        rx, out, rest = re.compile(arg), [], s
        while True:
            m = rx.search(rest)
            if not m or m.end() == m.start():
                return out
            out.append(m.group(0)); rest = rest[m.end():]
    if kind == "ngram":
        lo, hi, prefix = arg
        out = []
        for i in range(len(s)):
            for n in range(lo, hi + 1):
                if i + n <= len(s):
                    out.append(s[i:i + n])
            if prefix:
                break
        return out
    return [t for t in re.split(r"[^\w]|_", s) if t]
def tokens(kind, arg, filters, s):
    out = []
    for t in base(kind, arg, s):
        for f in filters:
            if t is None:
                break
            if f == "remove_long" and len(t.encode()) >= 255: t = None
            elif f == "lower_caser": t = t.lower()
            elif f == "ascii_folding": t = fold(t)
        out.append(t)
    return out
def count(path, field, kind, arg, filters, query):
    q = [t for t in tokens(kind, arg, filters, query) if t is not None]
    n = 0
    for line in open(path, encoding="utf-8"):
        t = tokens(kind, arg, filters, json.loads(line)[field])
        if kind == "ngram":
            # tantivy puts every gram at position 0: a query's grams must
            # all be there, in any order
            n += bool(q) and set(q) <= set(t)
        else:
            n += bool(q) and any(t[i:i + len(q)] == q for i in range(len(t) - len(q) + 1))
    return n
PY
}

@test "custom regex and simple tokenizers: counts match tantivy's definitions over OpenSSH logs" {
	require_shared_data
	write_custom_oracle
	python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    print(json.dumps({"re": line, "plain": line}))' "$QW_SHARED_DATA/loghub/OpenSSH_2k.log" >"$T/ssh.ndjson"
	cat >"$T/ssh.yaml" <<'EOF2'
version: 0.8
index_id: ssh-idx
doc_mapping:
  tokenizers:
    - name: ipwords
      type: regex
      pattern: "[0-9]+(?:\\.[0-9]+){3}|[A-Za-z]+"
      filters: [lower_caser]
    - name: plain
      type: simple
      filters: [remove_long, ascii_folding]
  field_mappings:
    - name: re
      type: text
      tokenizer: ipwords
      record: position
    - name: plain
      type: text
      tokenizer: plain
      record: position
EOF2
	qw index create --index-config "$T/ssh.yaml" >/dev/null
	qw-pipeline --index ssh-idx --once --quiet "$T/ssh.ndjson" >/dev/null 2>&1
	checked=0
	for q in sshd Failed failed password 173.234.31.186 root '"invalid user"' '"Failed password"' \
		pam_unix authentication 22 '"from 173.234.31.186"'; do
		for field in re plain; do
			if [ $field = re ]; then kind=regex arg='"[0-9]+(?:\\.[0-9]+){3}|[A-Za-z]+"' filters='["lower_caser"]'
			else kind=simple arg=None filters='["remove_long", "ascii_folding"]'; fi
			want=$(python3 -c "import sys; sys.path.insert(0, '$T'); import custom; print(custom.count('$T/ssh.ndjson', '$field', '$kind', $arg, $filters, sys.argv[1]))" "${q//\"/}")
			got=$(qw-search --index ssh-idx -q "$field:$q" | jq .num_hits)
			[ "$got" -eq "$want" ] || { echo "$field:$q: got $got, want $want" >&2; false; }
			[ "$want" -eq 0 ] || checked=$((checked + 1))
		done
	done
	[ "$checked" -ge 15 ]
}

@test "custom ngram tokenizer: counts match tantivy's NgramTokenizer (grams at position 0)" {
	write_custom_oracle
	python3 -c '
import json, random
random.seed(12)
words = ["Hello", "yellow", "Mellow", "héllo", "low", "owl", "bowling", "lo"]
for i in range(300):
    print(json.dumps({"g": random.choice(words) + random.choice(words), "p": random.choice(words)}, ensure_ascii=False))' >"$T/ng.ndjson"
	cat >"$T/ng.yaml" <<'EOF2'
version: 0.8
index_id: ng-idx
doc_mapping:
  tokenizers:
    - name: tri
      type: ngram
      min_gram: 2
      max_gram: 3
      filters: [lower_caser]
    - name: prefix
      type: ngram
      min_gram: 1
      max_gram: 4
      prefix_only: true
  field_mappings:
    - name: g
      type: text
      tokenizer: tri
      record: position
    - name: p
      type: text
      tokenizer: prefix
EOF2
	qw index create --index-config "$T/ng.yaml" >/dev/null
	qw-pipeline --index ng-idx --once --quiet "$T/ng.ndjson" >/dev/null 2>&1
	for q in ll ell llo ow owl ÉL él wb lowhello owlow; do
		want=$(python3 -c "import sys; sys.path.insert(0, '$T'); import custom; print(custom.count('$T/ng.ndjson', 'g', 'ngram', (2, 3, False), ['lower_caser'], sys.argv[1]))" "$q")
		got=$(qw-search --index ng-idx -q "g:$q" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "g:$q: got $got, want $want" >&2; false; }
		[ "$want" -gt 0 ] || { echo "g:$q: the oracle finds nothing" >&2; false; }
	done
	for q in H He Hel Hell y lo l o; do
		want=$(python3 -c "import sys; sys.path.insert(0, '$T'); import custom; print(custom.count('$T/ng.ndjson', 'p', 'ngram', (1, 4, True), [], sys.argv[1]))" "$q")
		got=$(qw-search --index ng-idx -q "p:$q" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "p:$q: got $got, want $want" >&2; false; }
	done
}

@test "custom tokenizer: snippets and phrases use the split's record of it" {
	printf '%s\n' '{"m":"Error: DiskFull on /dev/sda1"}' '{"m":"disk is full"}' >"$T/c.ndjson"
	cat >"$T/c.yaml" <<'EOF2'
version: 0.8
index_id: cs-idx
doc_mapping:
  tokenizers:
    - name: code
      type: source_code
      filters: [lower_caser]
  field_mappings:
    - name: m
      type: text
      tokenizer: code
      record: position
EOF2
	qw index create --index-config "$T/c.yaml" >/dev/null
	qw-pipeline --index cs-idx --once --quiet "$T/c.ndjson" >/dev/null 2>&1
	# "DiskFull" is the phrase "disk full"; "disk is full" is not
	run -0 qw-search --index cs-idx -q 'm:"disk full"'
	[ "$(jq .num_hits <<<"$output")" -eq 1 ]
	run -0 qw-search --index cs-idx -q 'm:disk'
	[ "$(jq .num_hits <<<"$output")" -eq 2 ]
	run -0 qw-search --index cs-idx -q 'm:DiskFull' --snippet-fields m
	[ "$(jq .num_hits <<<"$output")" -eq 1 ]
	# the highlighted byte ranges are the two tokens as cut in the text
	jq -e '.snippets[0].m[0] | contains("<b>Disk</b>") and contains("Full</b> on")' <<<"$output"
	run -0 qw-search --index cs-idx -q 'm:sda'
	[ "$(jq .num_hits <<<"$output")" -eq 1 ]
}

@test "custom tokenizer on the dynamic mapping: unmapped fields are tokenized by it" {
	write_custom_oracle
	python3 -c '
import json, random
random.seed(3)
words = ["Foo", "bar", "BAZ", "qux-Foo", "Bär", "x_y"]
for i in range(200):
    print(json.dumps({"free": " ".join(random.choice(words) for _ in range(3))}, ensure_ascii=False))' >"$T/dyn.ndjson"
	cat >"$T/dyn.yaml" <<'EOF2'
version: 0.8
index_id: dyn-idx
doc_mapping:
  mode: dynamic
  dynamic_mapping:
    tokenizer: folded
    record: position
  tokenizers:
    - name: folded
      type: simple
      filters: [lower_caser, ascii_folding]
EOF2
	qw index create --index-config "$T/dyn.yaml" >/dev/null
	qw-pipeline --index dyn-idx --once --quiet "$T/dyn.ndjson" >/dev/null 2>&1
	for q in foo FOO bar baz qux bär x y '"foo bar"' '"qux foo"'; do
		want=$(python3 -c "import sys; sys.path.insert(0, '$T'); import custom; print(custom.count('$T/dyn.ndjson', 'free', 'simple', None, ['lower_caser', 'ascii_folding'], sys.argv[1]))" "${q//\"/}")
		got=$(qw-search --index dyn-idx -q "free:$q" | jq .num_hits)
		[ "$got" -eq "$want" ] || { echo "free:$q: got $got, want $want" >&2; false; }
		[ "$want" -gt 0 ] || { echo "free:$q: the oracle finds nothing" >&2; false; }
	done
}

@test "custom stemmer filter: each language stems as Snowball's own examples, at index and query time" {
	# (word, stem) pairs from the Snowball pages of each language: a document
	# holds the word, the query is the other word of the same stem, and a
	# word of another stem must not match.
	cat >"$T/st.ndjson" <<'EOF2'
{"en":"The consignment was shipped","fr":"il parle continuellement","de":"die aufeinanderfolgenden Tage"}
{"en":"Knightly manners","fr":"une continuation","de":"kategorisch"}
{"en":"nothing here","fr":"rien","de":"nichts"}
EOF2
	cat >"$T/st.yaml" <<'EOF2'
version: 0.8
index_id: st-idx
doc_mapping:
  tokenizers:
    - name: en
      type: simple
      filters: [lower_caser, stemmer]
    - name: fr
      type: simple
      filters: [lower_caser, {type: stemmer, language: french}]
    - name: de
      type: simple
      filters: [lower_caser, {type: stemmer, language: German}]
  field_mappings:
    - {name: en, type: text, tokenizer: en, record: position}
    - {name: fr, type: text, tokenizer: fr, record: position}
    - {name: de, type: text, tokenizer: de, record: position}
EOF2
	qw index create --index-config "$T/st.yaml" >/dev/null
	qw-pipeline --index st-idx --once --quiet "$T/st.ndjson" >/dev/null 2>&1
	hits() { qw-search --index st-idx -q "$1" | jq .num_hits; }
	# english: consignment, consigned -> consign; knightly, knight -> knight
	[ "$(hits 'en:consigned')" -eq 1 ]
	[ "$(hits 'en:knight')" -eq 1 ]
	[ "$(hits 'en:"consigned was shipping"')" -eq 1 ]
	# french: continuellement -> continuel, continuation -> continu (two stems)
	[ "$(hits 'fr:continuel')" -eq 1 ]
	[ "$(hits 'fr:continue')" -eq 1 ]
	[ "$(hits 'fr:continuation')" -eq 1 ]
	# german: aufeinanderfolgenden, aufeinanderfolge -> aufeinanderfolg
	[ "$(hits 'de:aufeinanderfolge')" -eq 1 ]
	[ "$(hits 'de:kategorische')" -eq 1 ]
	[ "$(hits 'de:nicht')" -eq 1 ]
	[ "$(hits 'de:folgen')" -eq 0 ]
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
	create_bad '  tokenizers:
    - name: t
      type: multilang' 'doc_mapping.tokenizers[0].type: unsupported tokenizer type "multilang"'
	create_bad '  tokenizers:
    - name: t
      type: simple
      filters: [snowball]' 'doc_mapping.tokenizers[0].filters[0]: unknown filter "snowball"'
	create_bad '  tokenizers:
    - name: t
      type: simple
      filters: [{type: stemmer, language: latin}]' 'doc_mapping.tokenizers[0].filters[0].language: unsupported stemmer language "latin"'
	create_bad '  tokenizers:
    - name: t
      type: regex
      pattern: "(a"' 'doc_mapping.tokenizers[0].pattern: invalid regex at offset 2'
	create_bad '  tokenizers:
    - name: t
      type: ngram
      min_gram: 2
      max_gram: 3
      token_chars: [letter]' 'doc_mapping.tokenizers[0].token_chars: unknown key for a ngram tokenizer'
	create_bad '  tokenizers:
    - name: t
      type: ngram
      min_gram: 4
      max_gram: 3' 'doc_mapping.tokenizers[0].max_gram: max_gram 3 is less than min_gram 4'
	create_bad '  tokenizers:
    - name: default
      type: simple' 'doc_mapping.tokenizers[0].name: "default" is the name of a built-in tokenizer'
}
