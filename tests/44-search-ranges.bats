#!/usr/bin/env bats
# qw-search numeric ranges at and past the limits of i64, u64 and f64
# (fast and indexed-only fields), against an exact python3 oracle.
load helpers

DATA=$BATS_TEST_DIRNAME/data/search

setup_file() {
	export QW_DATA_DIR="$BATS_FILE_TMPDIR/qwdata"
	export DOCS="$BATS_FILE_TMPDIR/ranges.ndjson"
	python3 - "$DOCS" <<'PY'
import json, sys
ivals = [-2**63, -2**63 + 1, -10**18, -5, -1, 0, 1, 2, 3, 4, 5, 10**18, 2**63 - 2, 2**63 - 1]
uvals = [0, 1, 2, 3, 5, 10**18, 10**19, 2**63, 2**64 - 2, 2**64 - 1]
ips = ["0.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.0", "255.255.255.255",
       "::", "::1", "::2", "2001:db8::1", "2001:db8::ffff", "2001:db8::1:0",
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]
with open(sys.argv[1], "w") as out:
    for k in range(max(len(ivals), len(uvals))):
        d = {"ts": "2024-01-01T00:00:%02dZ" % k}
        if k < len(ivals):
            d["i"] = d["ii"] = ivals[k]
            d["f"] = float(ivals[k]) / 3
        if k < len(ips):
            d["ip"] = d["ipi"] = ips[k]
        if k < len(uvals):
            d["u"] = d["ui"] = uvals[k]
        out.write(json.dumps(d) + "\n")
PY
	qw index create --index-config "$DATA/ranges.yaml" >/dev/null
	t=$(qw-publish --new-token --index ranges --source s)
	qw-index --index ranges --source s --publish-token "$t" <"$DOCS" |
		qw-package | qw-upload | qw-publish >/dev/null
}

# check FIELD LOWER LOWER_INCL UPPER UPPER_INCL ("*" unbounded): the range
# query's count against python3's exact comparison of the stored integers.
check() {
	local q lb rb want got
	lb=$([ "$3" = 1 ] && echo '[' || echo '{')
	rb=$([ "$5" = 1 ] && echo ']' || echo '}')
	q="$1:$lb$2 TO $4$rb"
	want=$(python3 - "$DOCS" "$1" "$2" "$3" "$4" "$5" <<'PY'
import json, sys
from fractions import Fraction
path, field, lo, li, hi, hinc = sys.argv[1:]
def ok(v):
    if lo != "*":
        b = Fraction(lo)
        if v < b or (li == "0" and v == b):
            return False
    if hi != "*":
        b = Fraction(hi)
        if v > b or (hinc == "0" and v == b):
            return False
    return True
n = 0
for line in open(path):
    d = json.loads(line)
    if field in d and ok(Fraction(d[field])):
        n += 1
print(n)
PY
)
	got=$(qw-search --index ranges --format count --query "$q") || [ $? -eq 1 ]
	[ "$got" = "$want" ] || { echo "MISMATCH: '$q': qw $got, oracle $want"; return 1; }
}

@test "qw-search: integer ranges with bounds past the i64 and u64 limits are clamped" {
	for fld in i ii u ui; do
		check $fld '*' 1 1e19 0
		check $fld '*' 1 -1e19 1
		check $fld -1e30 1 1e30 1
		check $fld -5 1 1e25 1
		check $fld 1e19 0 '*' 1
		check $fld -1e19 0 '*' 1
		check $fld 1e25 1 '*' 1
		check $fld '*' 1 -1e25 1
		check $fld -9223372036854775808 0 9223372036854775807 0
		check $fld 9223372036854775807 1 1.8446744073709551615e19 1
		check $fld 18446744073709551615 1 '*' 1
		check $fld 18446744073709551615 0 '*' 1
		check $fld -1 0 5 0
		check $fld 1.0 0 3.0 0
		check $fld 1.5 0 4.5 0
		check $fld 1.5 1 4.5 1
		check $fld -0.5 1 0.5 1
	done
}

@test "qw-search: the comparison forms clamp as the ranges do" {
	[ "$(qw-search --index ranges --format count --query 'u:<1e19')" = \
	  "$(jq -s '[.[] | select(.u != null and .u < 10000000000000000000)] | length' "$DOCS")" ]
	[ "$(qw-search --index ranges --format count --query 'i:>-1e30')" = \
	  "$(jq -s '[.[] | select(.i != null)] | length' "$DOCS")" ]
	[ "$(qw-search --index ranges --format count --query 'i:>=1e19')" = 0 ]
	[ "$(qw-search --index ranges --format count --query 'u:<=-1')" = 0 ]
}

@test "qw-search: f64 ranges with huge bounds" {
	[ "$(qw-search --index ranges --format count --query 'f:[-1e30 TO 1e30]')" = \
	  "$(jq -s '[.[] | select(.f != null)] | length' "$DOCS")" ]
	[ "$(qw-search --index ranges --format count --query 'f:[-1e400 TO 1e400]')" = \
	  "$(jq -s '[.[] | select(.f != null)] | length' "$DOCS")" ]
	[ "$(qw-search --index ranges --format count --query 'f:>0')" = \
	  "$(jq -s '[.[] | select(.f != null and .f > 0)] | length' "$DOCS")" ]
}

@test "qw-search: datetime ranges with numeric bounds past every datetime" {
	n=$(wc -l <"$DOCS")
	[ "$(qw-search --index ranges --format count --query 'ts:[-1e30 TO 1e30]')" = "$n" ]
	[ "$(qw-search --index ranges --format count --query 'ts:>-1e30')" = "$n" ]
	[ "$(qw-search --index ranges --format count --query 'ts:>1e30')" = 0 ]
	[ "$(qw-search --index ranges --format count --query 'ts:<-1e30')" = 0 ]
}

# ipcount LOWER LOWER_INCL UPPER UPPER_INCL: documents whose ip is in the
# range, by python3's ipaddress (IPv4 as IPv4-mapped IPv6, as stored).
ipcount() {
	python3 - "$DOCS" "$@" <<'PY'
import ipaddress, json, sys
path, lo, li, hi, hinc = sys.argv[1:]
def v6(s):
    a = ipaddress.ip_address(s)
    return int(ipaddress.IPv6Address("::ffff:" + s)) if a.version == 4 else int(a)
n = 0
for line in open(path):
    d = json.loads(line)
    if "ip" not in d:
        continue
    v = v6(d["ip"])
    if lo != "*" and (v < v6(lo) or (li == "0" and v == v6(lo))):
        continue
    if hi != "*" and (v > v6(hi) or (hinc == "0" and v == v6(hi))):
        continue
    n += 1
print(n)
PY
}

@test "qw-search: ip ranges respect exclusive bounds (IPv4, IPv6, first and last address)" {
	local fld lo li hi hinc lb rb q want got
	while read -r lo li hi hinc; do
		lb=$([ "$li" = 1 ] && echo '[' || echo '{')
		rb=$([ "$hinc" = 1 ] && echo ']' || echo '}')
		want=$(ipcount "$lo" "$li" "$hi" "$hinc")
		for fld in ip ipi; do
			q="$fld:$lb$lo TO $hi$rb"
			got=$(qw-search --index ranges --format count --query "$q") || [ $? -eq 1 ]
			[ "$got" = "$want" ] || { echo "MISMATCH: '$q': qw $got, oracle $want"; return 1; }
		done
	done <<'R'
10.0.0.1 0 10.0.0.2 0
10.0.0.1 0 10.0.0.3 0
10.0.0.1 1 10.0.0.3 0
10.0.0.1 0 10.0.0.3 1
0.0.0.0 0 255.255.255.255 0
:: 0 ::2 1
:: 1 ::2 0
2001:db8::1 0 2001:db8::1:0 0
2001:db8::ffff 0 * 1
* 1 ::1 0
ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 0 * 1
* 1 :: 0
R
	for fld in ip ipi; do
		[ "$(qw-search --index ranges --format count --query "$fld:<10.0.0.2")" = "$(ipcount '*' 1 10.0.0.2 0)" ]
		[ "$(qw-search --index ranges --format count --query "$fld:>10.0.0.2")" = "$(ipcount 10.0.0.2 0 '*' 1)" ]
		[ "$(qw-search --index ranges --format count --query "$fld:>=10.0.0.2")" = "$(ipcount 10.0.0.2 1 '*' 1)" ]
	done
}

# dtcount LOWER LOWER_INCL UPPER UPPER_INCL: documents whose ts, truncated
# to the fast column's precision (seconds) as are the bounds, is in the range.
dtcount() {
	python3 - "$DOCS" "$@" <<'PY'
import json, sys
from datetime import datetime
path, lo, li, hi, hinc = sys.argv[1:]
def secs(s):
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() // 1)
n = 0
for line in open(path):
    v = secs(json.loads(line)["ts"])
    if lo != "*" and (v < secs(lo) or (li == "0" and v == secs(lo))):
        continue
    if hi != "*" and (v > secs(hi) or (hinc == "0" and v == secs(hi))):
        continue
    n += 1
print(n)
PY
}

@test "qw-search: datetime exclusive bounds exclude the bound's second on a seconds fast column" {
	local lo li hi hinc lb rb q want got
	while read -r lo li hi hinc; do
		lb=$([ "$li" = 1 ] && echo '[' || echo '{')
		rb=$([ "$hinc" = 1 ] && echo ']' || echo '}')
		q="ts:$lb$lo TO $hi$rb"
		want=$(dtcount "$lo" "$li" "$hi" "$hinc")
		got=$(qw-search --index ranges --format count --query "$q") || [ $? -eq 1 ]
		[ "$got" = "$want" ] || { echo "MISMATCH: '$q': qw $got, oracle $want"; return 1; }
	done <<'R'
2024-01-01T00:00:00Z 0 * 1
2024-01-01T00:00:05Z 0 * 1
2024-01-01T00:00:05Z 1 * 1
2024-01-01T00:00:05Z 0 2024-01-01T00:00:08Z 0
2024-01-01T00:00:05Z 1 2024-01-01T00:00:08Z 1
2024-01-01T00:00:05.000001Z 0 2024-01-01T00:00:08.999999Z 0
2024-01-01T00:00:05.5Z 1 2024-01-01T00:00:08.5Z 1
* 1 2024-01-01T00:00:03Z 0
R
	[ "$(qw-search --index ranges --format count --query 'ts:>2024-01-01T00:00:05Z')" = "$(dtcount 2024-01-01T00:00:05Z 0 '*' 1)" ]
	[ "$(qw-search --index ranges --format count --query 'ts:<2024-01-01T00:00:05Z')" = "$(dtcount '*' 1 2024-01-01T00:00:05Z 0)" ]
}
