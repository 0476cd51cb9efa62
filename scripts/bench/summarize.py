#!/usr/bin/env python3
"""Summarize a scripts/bench.sh run: timing medians and per-rule finding agreement.

usage: summarize.py RESULTS_DIR CORPUS_DIR
Findings agree when they have the same rule (tollgate's `bench/` prefix and
semgrep's config-path prefix removed), file and start line.
"""
import collections, glob, json, os, statistics, sys

res, corpus = sys.argv[1], sys.argv[2]


def norm(path, root):
    p = os.path.realpath(path if os.path.isabs(path) else os.path.join(root, path))
    return os.path.relpath(p, os.path.realpath(root))


def load_tollgate(path, root):
    d = json.load(open(path))
    return [(f["rule"].split("/")[-1], norm(f["path"], os.getcwd()), f["line"]) for f in d["findings"]]


def load_astgrep(path, root):
    txt = open(path).read().strip()
    items = json.loads(txt) if txt.startswith("[") else [json.loads(l) for l in txt.splitlines() if l.strip()]
    return [(r["ruleId"], norm(r["file"], os.getcwd()), r["range"]["start"]["line"] + 1) for r in items]


def load_semgrep(path, root):
    d = json.load(open(path))
    return [(r["check_id"].split(".")[-1], norm(r["path"], root), r["start"]["line"]) for r in d["results"]]


def rel(findings, root):
    base = os.path.realpath(root)
    out = collections.defaultdict(collections.Counter)
    for rule, path, line in findings:
        p = os.path.realpath(path if os.path.isabs(path) else os.path.join(os.getcwd(), path))
        out[rule][(os.path.relpath(p, base) if p.startswith(base) else path, line)] += 1
    return out


print("| command | wall s (median) | wall min-max | cpu s (median) | peak RSS MiB | runs |")
print("|---|---:|---:|---:|---:|---:|")
medians = {}
for f in sorted(glob.glob(f"{res}/time_*.txt")):
    name = os.path.basename(f)[5:-4]
    runs = [list(map(float, l.split())) for l in open(f) if l.strip()]
    if not runs:
        continue
    wall = [r[0] for r in runs]
    cpu = [r[1] + r[2] for r in runs]
    rss = [r[3] / 1024 for r in runs]
    medians[name] = statistics.median(wall)
    print(f"| {name} | {statistics.median(wall):.2f} | {min(wall):.2f}-{max(wall):.2f} | "
          f"{statistics.median(cpu):.2f} | {statistics.median(rss):.0f} | {len(runs)} |")
def walls(name):
    path = f"{res}/time_{name}.txt"
    return [float(l.split()[0]) for l in open(path) if l.strip()] if os.path.exists(path) else []


def paired(name, other):
    """Median of the run-by-run ratios: the tools alternate, so run i of each
    saw the same moment of the machine's load."""
    pairs = list(zip(walls(name), walls(other)))
    return statistics.median(x / y for x, y in pairs) if pairs else None


for lang in ("go", "rust"):
    t, a = medians.get(f"tollgate_{lang}"), medians.get(f"astgrep_{lang}")
    if t and a:
        print(f"\n{lang}: tollgate wall time = {t / a:.2f} x ast-grep's")
    for name, what in (("library", "the whole library"), ("default", "the default library")):
        lib = medians.get(f"{name}_{lang}")
        if lib and a:
            print(f"{lang}: tollgate with {what}, wall time = {lib / a:.2f} x ast-grep's three rules"
                  f" (median of run-by-run ratios {paired(f'{name}_{lang}', f'astgrep_{lang}'):.2f})")

loaders = {"tollgate": (load_tollgate, "json"), "astgrep": (load_astgrep, "jsonl"), "semgrep": (load_semgrep, "json")}
for prefix, root in (("fixture_", None), ("", corpus)):
    for lang in ("go", "rust"):
        base = root and os.path.join(root, lang)
        found = {}
        for tool, (load, ext) in loaders.items():
            path = f"{res}/{prefix}{tool}_{lang}.{ext}"
            if os.path.exists(path):
                found[tool] = rel(load(path, base or os.getcwd()), base or os.getcwd())
        if "tollgate" not in found:
            continue
        print(f"\nfindings per rule, {'fixtures' if prefix else 'corpus'} {lang}:\n```")
        tools = list(found)
        print(f"{'rule':26}" + "".join(f"{t:>10}" for t in tools) + "  differences vs tollgate")
        for rule in sorted(set().union(*[set(v) for v in found.values()])):
            counts = "".join(f"{sum(found[t][rule].values()):>10}" for t in tools)
            diffs = []
            for t in tools[1:]:
                only_t = found["tollgate"][rule] - found[t][rule]
                only_o = found[t][rule] - found["tollgate"][rule]
                if only_t or only_o:
                    diffs.append(f"{t}: +{sum(only_t.values())}/-{sum(only_o.values())}")
                    for (p, l) in sorted(only_t)[:3]:
                        diffs.append(f"only tollgate {p}:{l}")
                    for (p, l) in sorted(only_o)[:3]:
                        diffs.append(f"only {t} {p}:{l}")
            print(f"{rule:26}{counts}  {'; '.join(diffs) or 'same'}")
        print("```")
