#!/usr/bin/env bash
# Hostile inputs: how long (and how much memory) the release binary takes on
# each pathological input of the security issue, generated here, one case at
# a time. Each case must finish within a few seconds; the tests assert it
# generously in debug builds, this script measures it exactly.
#
#   scripts/hostile-bench.sh [-n RUNS] [WORKDIR]
#     RUNS     timed runs per case (default 3); the median is reported
#     WORKDIR  default $HOME/.cache/tollgate-bench/hostile
#
# Prints a Markdown table: case, what tollgate said about it (exit code), wall
# seconds (median, min-max) and peak memory. Needs GNU time (installed from
# Debian when missing) and python3 to generate the inputs.
set -euo pipefail
RUNS=3
while getopts "n:" o; do
  case $o in n) RUNS=$OPTARG ;; *) sed -n 2,14p "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$HOME/.cache/tollgate-bench/hostile}
rm -rf "$WORK" && mkdir -p "$WORK"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if [ ! -x /usr/bin/time ]; then $SUDO apt-get update -qq >/dev/null; $SUDO apt-get install -y -qq time >/dev/null; fi
cargo build -q --release --manifest-path "$REPO/Cargo.toml"
TG=$REPO/target/release/tollgate

# One folder per case, made by python3 (plain byte generation, no packages).
python3 - "$WORK" <<'EOF'
import os, sys
work = sys.argv[1]
def put(case, path, data):
    full = os.path.join(work, case, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
leak = "\tf, _ := os.Open(p)\n\t_ = f\n"
put("parens-200k", "a.go", "package p\nfunc f(p string) { x := " + "(" * 200_000 + "\n}\n")
put("one-function-2mb", "a.go", "package p\nfunc f(p string) {\n" + leak * (2_000_000 // len(leak)) + "}\n")
put("one-line-10mb", "a.go", "package p; func f(p string) { f, _ := os.Open(p); " + "x = x + 1; " * (10_000_000 // 11) + "}\n")
policy = "images:\n  environments:\n    prod:\n      deny_latest: true\n"
put("config-flow-200k", ".tollgate.yml", "exclude: " + "[" * 200_000 + "\n")
put("config-flow-200k", "a.go", "package p\n")
put("rules-flow-200k", "rules/r.yml", "id: t/x\nlanguage: go\nseverity: info\nmessage: m\nquery: " + "[" * 200_000 + "\n")
put("rules-flow-200k", "a.go", "package p\n")
put("manifest-flow-200k", ".tollgate.yml", policy)
put("manifest-flow-200k", "k8s/deploy.yaml", "apiVersion: v1\nkind: Pod\nspec: " + "[" * 200_000 + "\n")
images = "".join(f"      - name: c{i}\n        image: registry.example.com/app{i}:1.{i}.0\n" for i in range(40_000))
put("manifest-2mb", ".tollgate.yml", policy)
put("manifest-2mb", "k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n" + images)
put("from-line-1mb", ".tollgate.yml", policy)
put("from-line-1mb", "Dockerfile", "FROM " + "a" * 1_000_000 + ":1.0\n")
rule = "id: t/r{i}\nlanguage: go\nseverity: info\nmessage: m\nquery: ((identifier) @x (#eq? @x \"zz{i}\"))\n"
put("rules-5000-docs", "rules/many.yml", "---\n".join(rule.format(i=i) for i in range(5_000)))
put("rules-5000-docs", "a.go", "package p\nfunc f() { zz1() }\n")
match = "id: t/m{i}\nlanguage: go\nseverity: info\nmessage: m\nquery: ((identifier) @x (#match? @x \"^a+a+a+b{i}$\"))\n"
for k in range(10):  # 10,000 rules in files under the 1 MiB cap: the 1,000-rule cap applies
    put("rules-10k-match", f"rules/many{k}.yml", "---\n".join(match.format(i=k * 1000 + i) for i in range(1_000)))
put("rules-10k-match", "a.go", "package p\nfunc f() {\n" + "\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa()\n" * 2_000 + "}\n")
put("dev-zero-rules", "a.go", "package p\n")
EOF

# case | arguments after `tollgate`
cases=(
  "parens-200k|scan --fail-on never"
  "one-function-2mb|scan --fail-on never"
  "one-line-10mb|scan --fail-on never"
  "config-flow-200k|scan --fail-on never"
  "rules-flow-200k|scan --fail-on never --rules rules"
  "manifest-flow-200k|scan --fail-on never --env prod"
  "manifest-2mb|scan --fail-on never --env prod"
  "from-line-1mb|scan --fail-on never --env prod"
  "rules-5000-docs|scan --fail-on never --no-default-rules --rules rules"
  "rules-10k-match|scan --fail-on never --no-default-rules --rules rules"
  "dev-zero-rules|scan --fail-on never --rules /dev/zero"
)
echo "| case | exit | wall s (median) | wall min-max | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
for entry in "${cases[@]}"; do
  name=${entry%%|*}
  args=${entry#*|}
  walls=(); rss=0; code=0
  for _ in $(seq "$RUNS"); do
    # shellcheck disable=SC2086
    ( cd "$WORK/$name" && /usr/bin/time -f "%e %M" -o "$WORK/$name.time" \
        timeout 600 "$TG" $args >"$WORK/$name.out" 2>"$WORK/$name.err" ) && code=0 || code=$?
    read -r wall kb < <(tail -n 1 "$WORK/$name.time")
    walls+=("$wall")
    (( kb > rss )) && rss=$kb
  done
  sorted=$(printf '%s\n' "${walls[@]}" | sort -g)
  median=$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")
  echo "| $name | $code | $median | $(echo "$sorted" | head -n1)-$(echo "$sorted" | tail -n1) | $(( rss / 1024 )) |"
done
