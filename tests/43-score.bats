#!/usr/bin/env bats
# qw-search --sort-by _score: BM25 as tantivy computes it (k1 1.2, b 0.75,
# per split statistics), checked against an awk oracle. Index "scores" maps
# body with fieldnorms: true (each doc's length counts); "scores-nonorms"
# leaves it out, Quickwit's default: tantivy then takes a length of 1 for
# every doc, the average length still being total tokens / docs.
load helpers

DATA=$BATS_TEST_DIRNAME/data/score

setup_file() {
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	for idx in scores scores-nonorms; do
		cfg=$DATA/score.yaml
		[ "$idx" = scores ] || cfg=$DATA/score-nonorms.yaml
		qw index create --index-config "$cfg" >/dev/null
		t=$(qw-publish --new-token --index "$idx" --source s1)
		{ cat "$DATA/docs.ndjson"; printf '\036{"type":"eof"}\n'; } |
			qw-index --index "$idx" --source s1 --publish-token "$t" |
			qw-package | qw-upload | qw-publish >/dev/null
	done
}

# oracle MODE TERM...: ids of the docs ranked by BM25 over body (MODE or:
# docs with any term, and: docs with every term), best first, ties by id;
# with ORDER=asc, worst first (ties still by id); with NORMS=no, every doc's
# length is 1 (the average stays total tokens / docs).
# A TERM^W weighs that term's score by W (a boost).
# Tokens: lowercased runs of letters and digits, as the default tokenizer.
oracle() {
	local mode=$1 keys=-k1,1gr
	shift
	[ "${ORDER:-}" = asc ] && keys=-k1,1g
	jq -r '[.id, .body] | @tsv' "$DATA/docs.ndjson" |
		awk -F'\t' -v mode="$mode" -v q="$*" -v norms="${NORMS:-yes}" '
		{
			id[NR] = $1; s = tolower($2); gsub(/[^a-z0-9]+/, " ", s)
			n = split(s, w, " "); len[NR] = norms == "no" ? 1 : n; total += n
			for (i = 1; i <= n; i++) { tf[NR, w[i]]++; if (tf[NR, w[i]] == 1) df[w[i]]++ }
		}
		END {
			N = NR; avg = total / N; nq = split(q, qt, " ")
			for (d = 1; d <= N; d++) {
				sc = 0; hits = 0
				for (k = 1; k <= nq; k++) {
					t = qt[k]; wt = 1
					if (index(t, "^")) { split(t, tw, "^"); t = tw[1]; wt = tw[2] }
					f = tf[d, t]
					if (!f) continue
					hits++
					idf = log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
					sc += wt * idf * 2.2 * f / (f + 1.2 * (0.25 + 0.75 * len[d] / avg))
				}
				if ((mode == "or" && hits > 0) || (mode == "and" && hits == nq))
					printf "%.6f %d\n", sc, id[d]
			}
		}' | sort "$keys" -k2,2n | awk '{ print $2 }' | paste -sd' '
}

ranked() {
	qw-search --index "${INDEX:-scores}" --query "$1" --sort-by "${2:-_score}" --format ndjson |
		jq -r .id | paste -sd' '
}

@test "qw-search --sort-by _score ranks one term by BM25 with field norms" {
	want=$(oracle or fox)
	[ "$want" = "1 6 0 8 7 2" ]     # the oracle itself: tf and length matter
	[ "$(ranked fox)" = "$want" ]
	[ "$(ranked body:dog)" = "$(oracle or dog)" ]
}

@test "qw-search --sort-by _score adds the scores of OR and AND clauses" {
	[ "$(ranked 'fox OR dog')" = "$(oracle or fox dog)" ]
	[ "$(ranked 'fox AND dog')" = "$(oracle and fox dog)" ]
	[ "$(ranked 'brown OR dog OR fox')" = "$(oracle or brown dog fox)" ]
	# a NOT clause filters without scoring
	[ "$(ranked 'dog AND NOT brown')" = "$(oracle or dog | tr ' ' '\n' | grep -vx -e 0 -e 4 -e 7 | paste -sd' ')" ]
}

@test "qw-search --sort-by -_score ranks the other way" {
	[ "$(ranked 'fox OR dog' -_score)" = "$(ORDER=asc oracle or fox dog)" ]
	[ "$(ranked fox -_score)" = "$(ORDER=asc oracle or fox)" ]
}

@test "qw-search --sort-by _score without fieldnorms takes every doc's length as 1" {
	export INDEX=scores-nonorms NORMS=no
	want=$(oracle or fox)
	[ "$want" = "1 0 2 6 7 8" ]     # the oracle itself: only tf matters
	[ "$want" != "$(NORMS=yes oracle or fox)" ]
	[ "$(ranked fox)" = "$want" ]
	[ "$(ranked body:dog)" = "$(oracle or dog)" ]
	[ "$(ranked 'fox OR dog')" = "$(oracle or fox dog)" ]
	[ "$(ranked 'fox AND dog')" = "$(oracle and fox dog)" ]
	[ "$(ranked 'brown OR dog OR fox')" = "$(oracle or brown dog fox)" ]
	[ "$(ranked 'fox OR dog' -_score)" = "$(ORDER=asc oracle or fox dog)" ]
}

@test "qw-search: a boost scales its clause's score and never changes the hits" {
	[ "$(ranked 'fox^3 OR dog')" = "$(oracle or fox^3 dog)" ]
	[ "$(oracle or fox^3 dog)" != "$(oracle or fox dog)" ]   # the oracle itself: the boost matters
	[ "$(ranked 'fox OR dog^0.5')" = "$(oracle or fox dog^0.5)" ]
	[ "$(ranked 'body:fox^2')" = "$(oracle or fox)" ]
	[ "$(ranked '(fox)^2 AND dog^1.5')" = "$(oracle and fox^2 dog^1.5)" ]
	[ "$(qw-search --index scores --format count --query 'body:fox^2')" = \
	  "$(jq -s '[.[] | select(.body | ascii_downcase | test("\\bfox\\b"))] | length' "$DATA/docs.ndjson")" ]
	[ "$(qw-search --index scores --format count --query '(quick OR lazy)^2 -dog^3')" = \
	  "$(jq -s '[.[] | .body | ascii_downcase | select(test("\\b(quick|lazy)\\b") and (test("\\bdog\\b") | not))] | length' "$DATA/docs.ndjson")" ]
	run -65 --separate-stderr qw-search --index scores --query 'fox^1.2.3'
	[[ $stderr == *"col 5"*"expected a number after '^'"* ]]
}
