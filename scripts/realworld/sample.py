#!/usr/bin/env python3
"""Prints a rule's findings from a realworld.sh run with the code around each, for judging.

    scripts/realworld/sample.py WORKDIR/results/LANG.json RULE WORKDIR [MAX_LINES_ABOVE]

Up to 25 findings (all when fewer; else a fixed-seed random sample, so a re-run shows the
same ones). Each is shown from the start of its enclosing function (or MAX_LINES_ABOVE lines
up, default 60) to 12 lines below; read the whole function in the corpus before a verdict.
"""
import json, random, re, sys
res, rule, root = sys.argv[1], sys.argv[2], sys.argv[3]
maxl = int(sys.argv[4]) if len(sys.argv) > 4 else 60
fs = [f for f in json.load(open(res))["findings"] if f["rule"] == rule]
fs.sort(key=lambda f: (f["path"], f["line"]))
sample = fs if len(fs) <= 25 else [fs[i] for i in sorted(random.Random(10).sample(range(len(fs)), 25))]
print(f"# {rule}: {len(fs)} findings, sample {len(sample)}")
for f in sample:
    lines = open(f"{root}/{f['path']}", errors="replace").read().split("\n")
    i = f["line"] - 1
    start = i
    while start > 0 and not re.match(r"\s*(pub(\(.*?\))? )?(async )?(unsafe )?(const )?(fn|func) ", lines[start]) and i - start < maxl:
        start -= 1
    end = min(len(lines), i + 12)
    print(f"\n=== {f['path']}:{f['line']}  {f['message'][:100]}")
    for n in range(start, end):
        print(f"{n+1:5}{'>' if n == i else ' '} {lines[n]}")
