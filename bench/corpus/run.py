#!/usr/bin/env python3
"""Quality and speed of `mcp-warden check-tools` on the public corpora (see LABELS.md).

For each corpus: every source file becomes one MCP document (its tools, prompts and resources, as a
server would list them), checked with `check-tools --format json`; an item counts as flagged when
its highest finding is at or above the threshold (default: medium, check-tools' --fail-on default).
Prints precision, recall and false-positive rate on the attack/benign labels, the flag rate on the
excluded classes, every false positive and false negative, and tools/s on a >= 20k-item document.

Usage: run.py [--binary PATH] [--corpora DIR] [--threshold SEV] [--copies N] [--show N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SEVERITIES = ["info", "low", "medium", "high", "critical"]
CORPORA = ["msb", "mcpsecbench", "cisco-mcp-scanner"]
TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array", "dict": "object"}


def to_item(r, suffix=""):
    name = r["name"] + suffix
    if r["component"] == "prompt":
        return "prompts", {"name": name, "description": r["description"],
                           "arguments": [{"name": p["name"]} for p in r["parameters"]]}
    if r["component"] == "resource":
        return "resources", {"uri": r.get("resource_uri") or f"resource://{name}", "name": name,
                             "description": r["description"]}
    props = {}
    for p in r["parameters"]:
        ann = (p.get("annotation") or "").split("[")[0]
        props[p["name"]] = {"type": TYPES.get(ann, "string")}
    return "tools", {"name": name, "description": r["description"],
                     "inputSchema": {"type": "object", "properties": props}}


def check(binary, doc, extra=()):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        path = f.name
    try:
        t0 = time.perf_counter()
        p = subprocess.run([binary, "check-tools", "--format", "json", *extra, path], capture_output=True, text=True)
        check.seconds = time.perf_counter() - t0  # the command alone, not this script's JSON work
        if p.returncode not in (0, 1):
            sys.exit(f"check-tools failed ({p.returncode}): {p.stderr.strip()}")
        return json.loads(p.stdout), p.stderr
    finally:
        os.unlink(path)


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.environ.get("WARDEN_BIN", os.path.join(REPO, "build", "mcp-warden")))
    ap.add_argument("--corpora", default=os.path.join(REPO, "..", "shared", "corpora"))
    ap.add_argument("--threshold", default="medium", choices=SEVERITIES)
    ap.add_argument("--copies", type=int, default=25, help="corpus copies in the speed document")
    ap.add_argument("--show", type=int, default=20, help="false positives/negatives listed per corpus")
    ap.add_argument("--labels", default=os.path.join(HERE, "labels.jsonl"))
    args = ap.parse_args()
    thr = SEVERITIES.index(args.threshold)

    if not os.path.exists(args.labels):
        # labels.jsonl is generated from the corpus data alone (labels.py, LABELS.md), not committed.
        subprocess.run([sys.executable, os.path.join(HERE, "labels.py"), args.corpora], check=True)
    labels = defaultdict(dict)
    with open(args.labels, encoding="utf-8") as f:
        for line in f:
            x = json.loads(line)
            labels[x["corpus"]][x["line"]] = x

    all_rows = []
    print(f"binary: {args.binary}\ncorpora: {os.path.abspath(args.corpora)}\nthreshold: {args.threshold}\n")
    for corpus in CORPORA:
        with open(os.path.join(args.corpora, corpus, "tools.jsonl"), encoding="utf-8") as f:
            rows = [json.loads(l) for l in f if l.strip()]
        all_rows += rows
        # One document per source file, as its server would list it. A server never lists two items
        # of one name: where an extracted file repeats a name (MSB's attack.py holds every variant),
        # the repeat starts a new document.
        by_file = defaultdict(list)
        for i, r in enumerate(rows, start=1):
            lab = labels[corpus].get(i)
            if not lab or lab["name"] != r["name"]:
                sys.exit(f"{corpus}:{i}: labels.jsonl is out of date (run labels.py)")
            k = 0
            while any(x["name"] == r["name"] and x["component"] == r["component"] for _, x in by_file[(r["source_path"], k)]):
                k += 1
            by_file[(r["source_path"], k)].append((i, r))
        results = {}  # line -> (max severity index or -1, rules)
        for _, items in sorted(by_file.items()):
            doc, where = defaultdict(list), []
            for i, r in items:
                key, item = to_item(r)
                where.append((f"{key}[{len(doc[key])}]", i))
                doc[key].append(item)
            rep, _ = check(args.binary, doc)
            by_path = {it["path"]: it for it in rep["items"]}
            for path, i in where:
                it = by_path[path]
                sev = max((SEVERITIES.index(f["severity"]) for f in it["findings"]), default=-1)
                results[i] = (sev, sorted({f["rule"] for f in it["findings"] if SEVERITIES.index(f["severity"]) >= thr}))
        counts = defaultdict(lambda: [0, 0])  # label -> [flagged, total]
        fps, fns = [], []
        for i, r in enumerate(rows, start=1):
            lab = labels[corpus][i]["label"]
            flagged = results[i][0] >= thr
            counts[lab][0] += flagged
            counts[lab][1] += 1
            if lab == "benign" and flagged:
                fps.append(f"    FP {corpus}:{i} {r['name']}: {', '.join(results[i][1])}")
            if lab == "attack" and not flagged:
                fns.append(f"    FN {corpus}:{i} {r['name']}: {labels[corpus][i]['why'][:100]}")
        tp, pos = counts["attack"]
        fp, neg = counts["benign"]
        print(f"== {corpus}: {len(rows)} rows; attack {pos}, benign {neg}, not_visible {counts['not_visible'][1]}, "
              f"declared {counts['declared'][1]}, excluded {counts['excluded'][1]}")
        print(f"   precision {ratio(tp, tp + fp):.3f}  recall {ratio(tp, pos):.3f} ({tp}/{pos})  "
              f"FPR {ratio(fp, neg):.3f} ({fp}/{neg})")
        for lab in ("not_visible", "declared"):
            if counts[lab][1]:
                print(f"   flagged {lab}: {counts[lab][0]}/{counts[lab][1]} ({ratio(*counts[lab]):.3f})")
        for lines in (fps, fns):
            for line in lines[:args.show]:
                print(line)
            if len(lines) > args.show:
                print(f"    ... and {len(lines) - args.show} more (--show N)")
        print()

    # Speed: every row of every corpus, `copies` times, in one document (names made unique).
    doc = defaultdict(list)
    for c in range(args.copies):
        for r in all_rows:
            key, item = to_item(r, f"_{c}")
            doc[key].append(item)
    n = sum(len(v) for v in doc.values())
    _, stderr = check(args.binary, doc, ["--stats"])
    wall = check.seconds
    print(f"== speed: {n} items in one document")
    print(f"   {stderr.strip()}")
    print(f"   whole command (read, parse, scan, JSON out): {wall:.2f} s, {n / wall:.0f} items/s")


if __name__ == "__main__":
    main()
