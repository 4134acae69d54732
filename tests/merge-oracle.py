#!/usr/bin/env python3
"""Independent model of the stable_log and const_write_amplification merge
policies (written from Quickwit's description, not from qw's C code), for
tests/56-merge.bats.

Input on stdin: the metastore JSON of an index. Arguments: none.
It replays merges on the Published splits until the policy has nothing to
merge (a merged split: docs summed, time end the max, merge ops + 1, new)
and prints the sorted num_docs of the splits that should be left, one per
line.
"""
import json
import sys
import time


def is_mature(mp, target, s, now):
    if mp["type"] == "no_merge":
        return True
    if s["docs"] >= target:
        return True
    if mp["type"] in ("limit_merge", "const_write_amplification") and \
            s["ops"] >= mp.get("max_merge_ops", 4):
        return True
    return now - s["created"] >= mp["maturation_s"]


def stable_log(mp, target, group):
    def key(s):
        # newest end first, no time range last, then docs, then id
        return (0 if s["end"] is not None else 1,
                -(s["end"] or 0), s["docs"], s["id"])
    group = sorted(group, key=key)
    if len(group) < 2:
        return []
    levels = []
    start = 0
    cap = max(group[0]["docs"] * 3, mp["min_level_num_docs"])
    for i, s in enumerate(group):
        if s["docs"] >= cap:
            levels.append((start, i))
            start = i
            cap = 3 * s["docs"]
    levels.append((start, len(group)))

    def size(run):
        if len(run) <= 1:
            return "small"
        if len(run) >= mp["max_merge_factor"]:
            return "full"
        if sum(s["docs"] for s in run) >= target:
            return "full"
        if len(run) < mp["merge_factor"]:
            return "small"
        return "ok"

    ops = []
    for lo, hi in reversed(levels):
        b = hi
        for k in range(hi - 1, lo - 1, -1):
            if size(group[b:hi]) == "full":
                break
            b = k
        if size(group[b:hi]) != "small":
            ops.append(group[b:hi])
    return ops


def cwa(mp, target, group):
    ops = []
    by_ops = {}
    for s in group:
        by_ops.setdefault(s["ops"], []).append(s)
    for lvl in by_ops.values():
        lvl.sort(key=lambda s: (s["created"], s["id"]))
        while True:
            take, docs = [], 0
            for s in lvl[:mp["max_merge_factor"]]:
                take.append(s)
                docs += s["docs"]
                if docs >= target:
                    break
            if len(take) < 2 or (docs < target and len(take) < mp["merge_factor"]):
                break
            ops.append(take)
            lvl = lvl[len(take):]
    return ops


def duration_s(text):
    """'48h', '2days', '30s', '1 hour'... as seconds (humantime units)."""
    import re
    units = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
             "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
             "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
             "d": 86400, "day": 86400, "days": 86400}
    total = 0
    for num, unit in re.findall(r"(\d+)\s*([a-z]+)", text):
        total += int(num) * units[unit]
    return total


def main():
    doc = json.load(sys.stdin)
    ix = doc["index_config"]["indexing_settings"]
    target = ix["split_num_docs_target"]
    raw = ix["merge_policy"]
    mp = {
        "type": raw.get("type", "stable_log"),
        "merge_factor": raw.get("merge_factor", 10),
        "max_merge_factor": raw.get("max_merge_factor", 12),
        "min_level_num_docs": raw.get("min_level_num_docs", 100000),
        "max_merge_ops": raw.get("max_merge_ops", 4),
    }
    mp["maturation_s"] = duration_s(str(raw.get("maturation_period", "48h")))
    now = int(time.time())
    splits = []
    for sid, rec in doc["splits"].items():
        if rec["split_state"] != "Published":
            continue
        m = rec["metadata"]
        tr = m.get("time_range")
        splits.append({"id": sid, "docs": m["num_docs"], "ops": m.get("num_merge_ops", 0),
                       "created": m.get("create_timestamp", 0),
                       "end": tr["end"] if tr else None,
                       "part": m.get("partition_id", 0)})
    seq = 0
    while True:
        live = [s for s in splits if not is_mature(mp, target, s, now)]
        groups = {}
        for s in live:
            groups.setdefault(s["part"], []).append(s)
        ops = []
        for g in groups.values():
            if mp["type"] == "stable_log":
                ops += stable_log(mp, target, g)
            elif mp["type"] != "no_merge":
                ops += cwa(mp, target, g)
        if not ops:
            break
        for op in ops:
            ids = {s["id"] for s in op}
            splits = [s for s in splits if s["id"] not in ids]
            ends = [s["end"] for s in op if s["end"] is not None]
            seq += 1
            splits.append({"id": "~%06d" % seq, "docs": sum(s["docs"] for s in op),
                           "ops": max(s["ops"] for s in op) + 1, "created": now,
                           "end": max(ends) if ends else None, "part": op[0]["part"]})
    for d in sorted(s["docs"] for s in splits):
        print(d)


main()
