#!/usr/bin/env python3
"""Check a Prometheus text exposition file (format 0.0.4) written by qw:
every sample has HELP and TYPE lines before it, names match the metric
name grammar, labels are well quoted, values are floats, no series twice.
Prints the samples as JSON lines {"name", "labels", "value"} on success;
exits 1 with the reason otherwise."""
import json
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r'^(' + NAME + r')(\{(?:' + LABEL + r')(?:,' + LABEL + r')*\})? (\S+)$')


def fail(n, msg):
    print("line %d: %s" % (n, msg), file=sys.stderr)
    sys.exit(1)


def main(path):
    helps, types, seen = {}, {}, set()
    text = open(path, encoding="utf-8").read()
    if not text.endswith("\n"):
        fail(0, "no final newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]) or parts[2] in helps:
                fail(n, "bad or repeated HELP")
            helps[parts[2]] = parts[3]
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "untyped") \
                    or parts[2] in types:
                fail(n, "bad or repeated TYPE")
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#") or not line:
            fail(n, "unexpected line")
        m = SAMPLE.match(line)
        if not m:
            fail(n, "not a sample: %r" % line)
        name = m.group(1)
        if name not in helps or name not in types:
            fail(n, "sample before its HELP and TYPE: " + name)
        if not name.startswith("qw_"):
            fail(n, "no qw_ prefix: " + name)
        labels = dict(re.findall(LABEL, m.group(2) or ""))
        value = float(m.group(m.lastindex))
        if types[name] == "counter" and (not name.endswith("_total") or value < 0):
            fail(n, "counter not named _total or negative: " + name)
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            fail(n, "series twice: " + line)
        seen.add(key)
        print(json.dumps({"name": name, "labels": labels, "value": value}))


main(sys.argv[1])
