#!/usr/bin/env python3
"""Fails loudly unless two `tollgate scan --format json` outputs hold the same
findings (every field, fingerprints included), notices and unscanned files.

    same-findings.py BASELINE.json NEW.json
"""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    key = lambda f: json.dumps(f, sort_keys=True)
    return {
        "findings": sorted(data["findings"], key=key),
        "notices": sorted(data.get("notices", []), key=key),
        "not_scanned": sorted(data.get("not_scanned", [])),
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = load(sys.argv[1]), load(sys.argv[2])
    differences = 0
    for part in ("findings", "notices", "not_scanned"):
        before = {json.dumps(x, sort_keys=True) for x in old[part]}
        after = {json.dumps(x, sort_keys=True) for x in new[part]}
        gone, added = sorted(before - after), sorted(after - before)
        for line in gone[:10]:
            print(f"- {part}: {line}")
        for line in added[:10]:
            print(f"+ {part}: {line}")
        if len(old[part]) != len(new[part]):
            print(f"  {part}: {len(old[part])} before, {len(new[part])} after")
        differences += len(gone) + len(added) + abs(len(old[part]) - len(new[part]))
    if differences:
        print(f"DIFFERENT: {sys.argv[2]} differs from the baseline {sys.argv[1]}")
        sys.exit(1)
    print(f"same: {len(new['findings'])} findings, {len(new['notices'])} notices")


if __name__ == "__main__":
    main()
