#!/usr/bin/env bats
# qw-search query syntax: phrase prefix, regex terms, field grouping, term
# sets as given, values of the wrong type, empty queries and queries that
# start with '-', each against a python3 oracle over the generated documents
# (words are lower-case ASCII separated by spaces: the default tokenizer's
# tokens are the words).
load helpers

DATA=$BATS_TEST_DIRNAME/data/search

setup_file() {
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	export DOCS="$BATS_FILE_TMPDIR/qsyntax.ndjson"
	python3 - "$DOCS" <<'PY'
import json, random, sys
random.seed(12)
words = ["alpha", "beta", "gamma", "delta", "hello", "help", "helm", "thanks", "for", "your",
         "contribution", "world"]
# more than 50 terms with the prefix "contrib", each after "thanks for your" somewhere
contribs = ["contrib%03d" % k for k in range(80)] + ["contribution", "contributor", "contrib"]
ips = ["10.0.0.1", "10.0.0.2", "192.168.1.7", "::1", "2001:db8::1", "2001:db8::ffff"]
with open(sys.argv[1], "w") as out:
    for k in range(400):
        toks = [random.choice(words) for _ in range(random.randint(1, 8))]
        if k % 3 == 0:
            at = random.randint(0, len(toks))
            toks[at:at] = ["thanks", "for", "your", contribs[(k // 3) % len(contribs)]]
        if k % 7 == 0:
            toks.append(random.choice(contribs))
        d = {"ts": "2024-01-01T00:%02d:%02dZ" % (k // 60, k % 60), "msg": " ".join(toks),
             "tag": random.choice(["HELLO", "hello", "World", "x/y"]), "n": k % 13,
             "i": (k % 9) - 4, "ip": random.choice(ips), "b": k % 2 == 0}
        out.write(json.dumps(d) + "\n")
PY
	qw index create --index-config "$DATA/qsyntax.yaml" >/dev/null
	t=$(qw-publish --new-token --index qsyntax --source s)
	qw-index --index qsyntax --source s --publish-token "$t" <"$DOCS" |
		qw-package | qw-upload | qw-publish >/dev/null
	# one split: the phrase prefix expansions below are those of one dictionary
	qw index describe qsyntax | grep -q '^Number of published splits: *1$'
}

count() {
	# exit 1 is no hit (as grep): the count, 0, is still printed
	qw-search --index qsyntax --format count --query "$1" || [ $? -eq 1 ]
}

# oracle EXPR: documents d (with toks = the words of d["msg"]) for which the
# python expression is true.
oracle() {
	python3 - "$DOCS" "$1" <<'PY'
import json, re, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
terms = sorted({t for d in docs for t in d["msg"].split()})
def phrase(toks, words):
    return any(toks[i:i + len(words)] == words for i in range(len(toks) - len(words) + 1))
def phrase_prefix(toks, words, limit=50):
    exp = [t for t in terms if t.startswith(words[-1])][:limit]
    return any(phrase(toks, words[:-1] + [e]) for e in exp)
n = 0
for d in docs:
    toks = d["msg"].split()
    if eval(sys.argv[2]):
        n += 1
print(n)
PY
}

@test "qw-search: a phrase prefix expands its last term to the first 50 terms of the dictionary" {
	want=$(oracle 'phrase_prefix(toks, ["thanks", "for", "your", "contrib"])')
	unlimited=$(oracle 'phrase_prefix(toks, ["thanks", "for", "your", "contrib"], 10**6)')
	# the data has more than 50 expansions that would match: the limit shows
	[ "$want" -lt "$unlimited" ]
	[ "$(count 'msg:"thanks for your contrib"*')" = "$want" ]
	[ "$(count '"thanks for your contrib"*')" = "$want" ]
	[ "$(count 'msg:"your contrib05"*')" = "$(oracle 'phrase_prefix(toks, ["your", "contrib05"])')" ]
	[ "$(count 'msg:"thanks for"*')" = "$(oracle 'phrase_prefix(toks, ["thanks", "for"])')" ]
	[ "$(count 'msg:"thanks for your nothing"*')" = 0 ]
	# expansions read as one union: several of them in one doc, a last term
	# that is also an earlier token, a prefix that is a whole term
	for q in 'hello hel' 'help he' 'your c' 'for y' 'alpha a' 'hello help helm' 'world w' 'contribution c'; do
		want=$(oracle "phrase_prefix(toks, \"$q\".split())")
		got=$(count "msg:\"$q\"*")
		[ "$got" = "$want" ] || { echo "msg:\"$q\"*: got $got, want $want" >&2; false; }
	done
}

@test "qw-search: a phrase prefix of one term is a prefix query without limit" {
	want=$(oracle 'any(t.startswith("contrib") for t in toks)')
	[ "$want" -gt 50 ]
	[ "$(count 'msg:"contrib"*')" = "$want" ]
	[ "$(count 'msg:contrib*')" = "$want" ]
}

@test "qw-search: a phrase prefix is lowercased by the field's tokenizer, its last term too" {
	[ "$(count 'msg:"Thanks FOR Your Contrib"*')" = "$(oracle 'phrase_prefix(toks, ["thanks", "for", "your", "contrib"])')" ]
}

@test "qw-search: a regex matches whole dictionary terms (anchored at both ends)" {
	for re in 'hel.*' 'el.*' 'hel' 'h(e|a)l+[op]' 'contrib0[0-4][0-9]' 'contrib.+' '.*o.*' 'alph' \
		'hel?p' 'helm*' 'he{1}l.*' 'hel|alp.*' 'x?hel.*' 'hel+o' 'contrib07\d' 'worl\w'; do
		want=$(oracle "any(re.fullmatch(r'$re', t) for t in toks)")
		got=$(count "msg:/$re/")
		[ "$got" = "$want" ] || { echo "regex /$re/: $got, oracle $want"; false; }
	done
	[ "$(count 'msg:/el.*/')" = 0 ]
}

@test "qw-search: a regex combines with other clauses, NOT and boosts" {
	[ "$(count 'msg:/hel.*/ AND NOT msg:help')" = "$(oracle 'any(re.fullmatch(r"hel.*", t) for t in toks) and "help" not in toks')" ]
	[ "$(count 'msg:/hel.*/^3 OR msg:alpha')" = "$(oracle 'any(re.fullmatch(r"hel.*", t) for t in toks) or "alpha" in toks')" ]
	[ "$(count 'tag:/[A-Z]+/')" = "$(python3 -c 'import json,re,sys; print(sum(1 for l in open(sys.argv[1]) if re.fullmatch("[A-Z]+", json.loads(l)["tag"])))' "$DOCS")" ]
	[ "$(count 'tag:/x\/y/')" = "$(jq -s '[.[] | select(.tag == "x/y")] | length' "$DOCS")" ]
}

@test "qw-search: a regex that does not compile is an error with its position" {
	run --separate-stderr -65 qw-search --index qsyntax --query 'msg:/a(b/'
	[[ "$stderr" == *"query: col 9: invalid regex 'a(b'"* ]]
	run --separate-stderr -65 qw-search --index qsyntax --query 'msg:alpha OR msg:/[z-a]/'
	[[ "$stderr" == *"col "*"invalid regex '[z-a]'"* ]]
	run --separate-stderr -65 qw-search --index qsyntax --query 'n:/1.*/'
	[[ "$stderr" == *"regex on field 'n' which is a u64 field"* ]]
}

@test "qw-search: a value that is not of the field's type is an error with its column and the type" {
	while IFS='|' read -r q want; do
		run --separate-stderr -65 qw-search --index qsyntax --query "$q"
		[[ "$stderr" == *"query: col $want"* ]] || { echo "$q: $stderr"; false; }
	done <<'EOF_Q'
n:abc|3: 'abc' is not a valid u64 for field 'n'
i:1x|3: '1x' is not a valid i64 for field 'i'
ts:yesterday|4: 'yesterday' is not a valid datetime for field 'ts'
ip:300.1.1.1|4: '300.1.1.1' is not a valid ip for field 'ip'
ip:2001:db8::g|4: '2001:db8::g' is not a valid ip for field 'ip'
b:maybe|3: 'maybe' is not a valid bool for field 'b'
n:[1 TO abc]|9: 'abc' is not a valid u64 for field 'n'
n:{abc TO 5]|4: 'abc' is not a valid u64 for field 'n'
n:>=x|5: 'x' is not a valid u64 for field 'n'
ts:[2024-01-01T00:00:00Z TO tomorrow]|29: 'tomorrow' is not a valid datetime for field 'ts'
ip:[10.0.0.1 TO 10.0.0.256]|17: '10.0.0.256' is not a valid ip for field 'ip'
n:IN [1 x]|9: 'x' is not a valid u64 for field 'n'
ip:IN [::1 nope]|12: 'nope' is not a valid ip for field 'ip'
msg:alpha AND n:(1 OR two)|23: 'two' is not a valid u64 for field 'n'
EOF_Q
}

@test "qw-search: numbers that are no value of the type match nothing, exactly" {
	[ "$(count 'n:1.5')" = 0 ]
	[ "$(count 'n:-1')" = 0 ]
	[ "$(count 'n:[1.5 TO 3]')" = "$(jq -s '[.[] | select(.n >= 2 and .n <= 3)] | length' "$DOCS")" ]
	[ "$(count 'i:>-2.5')" = "$(jq -s '[.[] | select(.i > -2.5)] | length' "$DOCS")" ]
}

@test "qw-search: ipv4 and ipv6 terms and sets" {
	[ "$(count 'ip:2001:db8::1')" = "$(jq -s '[.[] | select(.ip == "2001:db8::1")] | length' "$DOCS")" ]
	[ "$(count 'ip:IN [::1 10.0.0.1 2001:db8::ffff]')" = \
	  "$(jq -s '[.[] | select(.ip == "::1" or .ip == "10.0.0.1" or .ip == "2001:db8::ffff")] | length' "$DOCS")" ]
	[ "$(count 'ip:IN []')" = 0 ]
}

@test "qw-search: field grouping applies the field to every clause of the group" {
	[ "$(count 'msg:(alpha OR beta)')" = "$(oracle '"alpha" in toks or "beta" in toks')" ]
	[ "$(count 'msg:(alpha beta)')" = "$(oracle '"alpha" in toks and "beta" in toks')" ]
	[ "$(count 'msg:(alpha AND beta)')" = "$(oracle '"alpha" in toks and "beta" in toks')" ]
	[ "$(count 'msg:(alpha -beta)')" = "$(oracle '"alpha" in toks and "beta" not in toks')" ]
	[ "$(count 'NOT msg:(alpha OR beta)')" = "$(oracle '"alpha" not in toks and "beta" not in toks')" ]
	[ "$(count 'msg:(alpha OR beta)^3')" = "$(oracle '"alpha" in toks or "beta" in toks')" ]
	[ "$(count 'msg:(alpha^2 OR "thanks for")')" = "$(oracle '"alpha" in toks or phrase(toks, ["thanks", "for"])')" ]
	[ "$(count 'msg:(hel* OR /gam+a/) AND n:(1 OR 2)')" = \
	  "$(oracle '(any(t.startswith("hel") for t in toks) or "gamma" in toks) and d["n"] in (1, 2)')" ]
	[ "$(count 'n:([1 TO 3] OR >11)')" = "$(jq -s '[.[] | select((.n >= 1 and .n <= 3) or .n > 11)] | length' "$DOCS")" ]
}

@test "qw-search: IN sets match text terms as given, not lowercased" {
	[ "$(count 'tag:IN [HELLO]')" = "$(jq -s '[.[] | select(.tag == "HELLO")] | length' "$DOCS")" ]
	[ "$(count 'tag:IN [hello World]')" = "$(jq -s '[.[] | select(.tag == "hello" or .tag == "World")] | length' "$DOCS")" ]
	# msg is lowercased when indexed: an upper-case set value matches no term
	[ "$(count 'msg:IN [HELLO]')" = 0 ]
	[ "$(count 'msg:IN [hello alpha]')" = "$(oracle '"hello" in toks or "alpha" in toks')" ]
	# a term query is tokenized: HELLO finds hello
	[ "$(count 'msg:HELLO')" = "$(oracle '"hello" in toks')" ]
}

@test "qw-search: an empty and a blank query both match every document" {
	n=$(wc -l <"$DOCS")
	[ "$(count '')" = "$n" ]
	[ "$(count '   ')" = "$n" ]
	[ "$(qw-search --index qsyntax --format count)" = "$n" ]
	[ "$(qw-search --index qsyntax --format count ' ')" = "$n" ]
}

@test "qw-search: a query starting with '-' is a query after -q, --query or --, never options" {
	want=$(jq -s '[.[] | select(.n != 5)] | length' "$DOCS")
	[ "$(qw-search --index qsyntax --format count -q -n:5)" = "$want" ]
	[ "$(qw-search --index qsyntax --format count --query -n:5)" = "$want" ]
	[ "$(qw-search --index qsyntax --format count --query=-n:5)" = "$want" ]
	[ "$(qw-search --index qsyntax --format count -- -n:5)" = "$want" ]
	[ "$(qw-search --index qsyntax --format count -q-n:5)" = "$want" ]
	# as an operand getopt would read -s "tatus:200" or -n ":5": refused, not misread
	run --separate-stderr -64 qw-search --index qsyntax --format count -n:5
	[[ "$stderr" == *"'-n:5' would be read as options"* ]]
	run --separate-stderr -64 qw-search --index qsyntax -status:200
	[[ "$stderr" == *"'-status:200' would be read as options"* ]]
}

@test "qw-search: IN without a field says it needs one" {
	run --separate-stderr -65 qw-search --index qsyntax --query 'IN [a b]'
	[[ "$stderr" == *"query: col 1: a set 'IN [...]' needs a field: write field:IN [a b]"* ]]
}
