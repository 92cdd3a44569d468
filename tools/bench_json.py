#!/usr/bin/python3
"""tools/bench.sh's figures as JSON (var/bench/latest.json).

    bench_json.py OUT_DIR KEY=VALUE...

Reads OUT_DIR/rows.tsv (one line per table row: name, path, req/s, p50
ms, p99 ms, ceiling, ratio, cpu us/request, cpu ratio, load, baseline
ratio; "-" or empty for none), OUT_DIR/notes.txt and the text sections
events.md, cache.txt, provisioning.txt, collect.md and mail.md when they
exist, and writes
OUT_DIR/latest.json with the KEY=VALUE pairs (numbers where they parse)
at the top level, under "rows" one object per row and under "events",
"cache", "provisioning", "usage_collection" and "mail" the sections'
lines.  Keys with a dot
(worker_rss_kb.start=123) make a nested object.
"""
import datetime
import json
import os
import sys


def value(v):
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return None if v in ("", "-") else v


def main():
    out = sys.argv[1]
    doc = {"when": datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")}
    for pair in sys.argv[2:]:
        key, _, v = pair.partition("=")
        if v == "":
            continue
        where = doc
        *parents, last = key.split(".")
        for p in parents:
            where = where.setdefault(p, {})
        where[last] = value(v)
    keys = ("name", "path", "rps", "p50_ms", "p99_ms", "ceiling", "ratio",
            "cpu_us_per_request", "cpu_ratio", "load1", "baseline_ratio")
    rows = []
    with open(os.path.join(out, "rows.tsv"), encoding="utf-8") as f:
        for line in f:
            cells = line.rstrip("\n").split("\t")
            row = dict(zip(keys, (value(c) for c in cells)))
            row["name"], row["path"] = cells[0], cells[1]
            rows.append(row)
    doc["rows"] = rows
    notes = os.path.join(out, "notes.txt")
    doc["notes"] = [n for n in open(notes, encoding="utf-8").read()
                    .splitlines() if n] if os.path.exists(notes) else []
    for key, name in (("events", "events.md"), ("cache", "cache.txt"),
                      ("provisioning", "provisioning.txt"),
                      ("usage_collection", "collect.md"),
                      ("mail", "mail.md")):
        path = os.path.join(out, name)
        if os.path.exists(path):
            doc[key] = [line for line in open(path, encoding="utf-8")
                        .read().splitlines() if line.strip()]
    with open(os.path.join(out, "latest.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
