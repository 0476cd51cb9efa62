#!/usr/bin/env python3
"""Per-rule table for rules/SCORECARD.md from a realworld.sh run and rules/scorecard.csv.

    scripts/realworld/scorecard.py WORKDIR [rules/scorecard.csv]

Precision = right / judged. The estimated false positives (noise) per 1,000 files of a
language extrapolate each default rule's sample to all its findings: findings x wrong/judged.
"""
import collections, csv, json, os, sys

work = sys.argv[1]
card = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../rules/scorecard.csv")
rules = {r["id"]: r for r in json.load(open(f"{work}/results/rules.json"))}
verdicts = collections.defaultdict(collections.Counter)
for row in csv.DictReader(open(card)):
    verdicts[row["rule"]][row["verdict"]] += 1

for lang, ext in (("rust", "rs"), ("go", "go")):
    report = json.load(open(f"{work}/results/{lang}.json"))
    files = sum(1 for d, _, fs in os.walk(f"{work}/{lang}") for f in fs if f.endswith("." + ext))
    counts = collections.Counter(f["rule"] for f in report["findings"])
    print(f"\n### {lang}: {files} files\n")
    print("| rule | findings | per 1k files | judged | right | wrong | noise | precision | decision |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    fp = noise = 0.0
    for rid in sorted((r for r in rules if r.startswith(lang + "/")), key=lambda r: (-counts[r], r)):
        n, v = counts[rid], verdicts[rid]
        judged = sum(v.values())
        default = not rules[rid].get("opt_in")
        if n == 0:
            status = "no hits on the corpus"
        elif judged == 0:
            status = "not yet measured"
        else:
            status = f"{100 * v['right'] / judged:.0f} %"
        if judged and default:
            fp += n * v["wrong"] / judged
            noise += n * v["noise"] / judged
        cells = [f"`{rid}`", n, f"{1000 * n / files:.1f}", judged or "", v["right"] if judged else "",
                 v["wrong"] if judged else "", v["noise"] if judged else "", status,
                 "default" if default else "opt-in"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print(f"\nDefault set, estimated from the judged samples: {1000 * fp / files:.1f} false positives "
          f"and {1000 * noise / files:.1f} noise per 1,000 {lang} files.")
