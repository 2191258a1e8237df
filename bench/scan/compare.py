#!/usr/bin/env python3
"""The scan benchmark: `mcp-warden scan` and ferret-scan on the same generated tree, in the same run.

Generates the tree (bench/scan/gen_tree.py, deterministic) if needed, runs each tool once to warm
the page cache, then --runs times, and prints wall-clock times (min and median) side by side with
what each tool found: counts by severity, findings by rule, and which of the planted problems each
one reported. Usage (bench/run.sh calls it):

  compare.py --warden build/mcp-warden --node NODE --ferret bench/npm/node_modules/ferret-scan/bin/ferret.js
             [--tree /tmp/mcp-warden-scan-bench] [--files 100000] [--runs 5] [--budget 3.0]

Exit status 1 when mcp-warden's median is over --budget seconds.
"""
import argparse
import collections
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Planted problems (gen_tree.py), and how each tool's finding is recognised: (file suffix, rule regex).
PLANTED = [
    ("postmark-mcp@1.0.16 installed (MAL-2025-47604)", ("node_modules/postmark-mcp/package.json", r"malicious"),
     ("node_modules/postmark-mcp/", r".")),
    ("postmark-mcp@1.0.16 in package-lock.json", ("package-lock.json", r"malicious"), ("package-lock.json", r".")),
    ("Bcc: 'phan@giftshop.club' in postmark-mcp's index.js", ("node_modules/postmark-mcp/index.js", r"."),
     ("node_modules/postmark-mcp/index.js", r".")),
    ("npx -y postmark-mcp, no pinned version", (".mcp.json", r"unpinned"), (".mcp.json", r"UNPINNED")),
    ("plaintext token in .mcp.json env", (".mcp.json", r"plaintext_secret"), (".mcp.json", r"SECRET")),
    ("postrnark-mcp (look-alike of postmark-mcp)", (".cursor/mcp.json", r"confusable|typosquat|scope"),
     (".cursor/mcp.json", r"TYPO|SQUAT|CONFUS")),
    ("docker run --privileged --network host -v /:/host", (".cursor/mcp.json", r"privileged|host_network|host_mount"),
     (".cursor/mcp.json", r"PRIVILEG|DOCKER|HOST|ESCAPE")),
]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, runs, out_path):
    """Runs cmd once to warm up, then `runs` times; returns (wall times, CPU times, last stdout)."""
    times, cpu = [], []
    out = b""
    for i in range(runs + 1):
        c0 = children_cpu()
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode not in (0, 1):
            sys.exit(f"compare.py: {' '.join(cmd)} failed with status {p.returncode}: {p.stderr.decode()[-500:]}")
        if i > 0:
            times.append(dt)
            cpu.append(children_cpu() - c0)
        out = p.stdout
    if out_path:
        with open(out_path, "rb") as f:
            out = f.read()
    return times, cpu, out


def warden_findings(doc, tree):
    return [{"severity": f["severity"].upper(), "rule": f["rule"], "file": os.path.relpath(f["file"], tree), "line": f["line"]}
            for f in doc["findings"]]


def ferret_findings(doc, tree):
    return [{"severity": f.get("severity", "").upper(), "rule": f.get("ruleId", ""),
             "file": os.path.relpath(f.get("file", ""), tree), "line": f.get("line", 0)} for f in doc["findings"]]


def found(findings, file_suffix, rule_re):
    return any(f["file"].endswith(file_suffix) and re.search(rule_re, f["rule"], re.I) for f in findings)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warden", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--ferret", required=True)
    ap.add_argument("--tree", default="/tmp/mcp-warden-scan-bench")
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--budget", type=float, default=3.0)
    a = ap.parse_args()
    subprocess.run([sys.executable, os.path.join(HERE, "gen_tree.py"), a.tree, "--files", str(a.files)], check=True)
    nfiles = sum(len(fs) for _, _, fs in os.walk(a.tree))
    print(f"tree: {a.tree}, {nfiles} files")
    tmp = tempfile.mkdtemp(prefix="warden-scan-bench-")
    env_state = os.path.join(tmp, "state")  # an empty intel dir: the bundled feed only
    os.environ["MCP_WARDEN_STATE_DIR"] = env_state
    fjson = os.path.join(tmp, "ferret.json")
    tools = [
        ("mcp-warden scan", [a.warden, "scan", a.tree, "--format", "json"], None, warden_findings),
        ("ferret scan", [a.node, a.ferret, "scan", a.tree, "--format", "json", "-o", fjson], fjson, ferret_findings),
        ("ferret scan --thorough", [a.node, a.ferret, "scan", a.tree, "--thorough", "--format", "json", "-o", fjson], fjson,
         ferret_findings),
    ]
    results = []
    cpus = {}
    for name, cmd, out_path, parse in tools:
        times, cpu, out = timed(cmd, a.runs, out_path)
        doc = json.loads(out)
        results.append((name, times, parse(doc, a.tree), doc))
        cpus[name] = cpu

    print(f"\nmachine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(others' work on the same cores shows in wall time, not in CPU time); {a.runs} runs after a warm-up")
    print(f"{'tool':<26} {'wall min s':>10} {'wall med s':>10} {'cpu med s':>9} {'findings':>9}  by severity")
    for name, times, fs, _ in results:
        sev = collections.Counter(f["severity"] for f in fs)
        by = ", ".join(f"{k.lower()} {sev[k]}" for k in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO") if sev[k])
        print(f"{name:<26} {min(times):>10.3f} {statistics.median(times):>10.3f} {statistics.median(cpus[name]):>9.3f} "
              f"{len(fs):>9}  {by or '-'}")
    ferret_doc = results[1][3]
    print(f"(ferret-scan's own count of files it looked at: {ferret_doc.get('totalFiles')}; its README: it always "
          f"excludes node_modules)")
    w = results[0][3]
    print(f"(mcp-warden: {len(w['servers'])} servers in client configs, {w['packages']} packages)")

    print("\nplanted problem                                        " + "  ".join(f"{n:<22}" for n, *_ in results))
    for what, ours, theirs in PLANTED:
        row = []
        for i, (_, _, fs, _) in enumerate(results):
            suffix, rule = ours if i == 0 else theirs
            row.append("found" if found(fs, suffix, rule) else "-")
        print(f"{what:<54} " + "  ".join(f"{c:<22}" for c in row))

    for name, _, fs, _ in results:
        print(f"\n{name}: findings by rule")
        for (rule, sev), n in sorted(collections.Counter((f["rule"], f["severity"]) for f in fs).items()):
            files = sorted({f["file"] for f in fs if f["rule"] == rule})
            print(f"  {n:>4}  {sev.lower():<8} {rule:<40} {', '.join(files[:3])}{' ...' if len(files) > 3 else ''}")
    print("\n(the Bcc line is code, which neither scan reads: `mcp-warden diff postmark-mcp@1.0.15 postmark-mcp@1.0.16` "
          "is the tool that finds it)")
    med = statistics.median(results[0][1])
    print(f"\nmcp-warden scan median {med:.3f} s for {nfiles} files (budget {a.budget} s): "
          f"{'within' if med <= a.budget else 'OVER'} budget")
    return 0 if med <= a.budget else 1


if __name__ == "__main__":
    sys.exit(main())
