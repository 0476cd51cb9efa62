#!/usr/bin/env bash
# Real-code measurement of the rule library (rules/SCORECARD.md is judged from its output).
#
#   scripts/realworld.sh [WORKDIR]     (default $HOME/.cache/tollgate-realworld)
#
# Assembles, from package registries only, a corpus of real code at pinned versions:
#   WORKDIR/rust/<crate>-<version>/   the crates of scripts/realworld/Cargo.toml (serde, regex,
#                                     tokio, hyper, clap, rayon, reqwest) and their own sub-crates
#                                     (clap_builder, regex-automata, ...), from `cargo vendor`
#                                     (the full vendor tree stays in WORKDIR/vendor)
#   WORKDIR/go/<package>_<version>/   the Go source of Debian golang-*-dev packages
#                                     (`apt-get download` + `dpkg -x`: nothing is installed)
# then scans each with every rule, opt-in ones included (a config that opts them all in),
# writes WORKDIR/results/<lang>.json and prints, per rule: findings, findings per 1,000
# files of that language, and whether the rule is on by default; then the totals.
# Set TOLLGATE=path/to/binary to skip the release build. Needs cargo, apt-get and dpkg
# (Debian or Ubuntu; root or sudo for `apt-get update`), python3. Idempotent: a second run
# reuses the corpus. Judge new findings with scripts/realworld/sample.py, then
# scripts/realworld/scorecard.py WORKDIR prints the tables of rules/SCORECARD.md.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$HOME/.cache/tollgate-realworld}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[realworld] $*" >&2; }

# Debian packages that ship Go source under /usr/share/gocode/src, pinned.
GO_PACKAGES=(
  golang-golang-x-net-dev=1:0.7.0+dfsg-1
  golang-github-spf13-cobra-dev=1.6.1-1
  golang-github-gorilla-mux-dev=1.8.0-1
  golang-github-prometheus-client-golang-dev=1.14.0-3
  golang-github-gin-gonic-gin-dev=1.8.1-1
  golang-github-go-sql-driver-mysql-dev=1.5.0-2
  golang-github-sirupsen-logrus-dev=1.9.0-1
  golang-github-gorilla-websocket-dev=1.5.0-2
  golang-github-spf13-viper-dev=1.10.1-1
)
# The named crates' families: vendored crates whose name starts with one of these are scanned.
RUST_FAMILIES='^(serde|regex|tokio|hyper|clap|rayon|reqwest)([-_].*)?-[0-9]'

rust_corpus() {
  local stamp="$WORK/rust/.corpus-stamp" want
  want=$(sha256sum "$REPO/scripts/realworld/Cargo.lock" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "rust corpus up to date"
    return
  fi
  log "vendoring the crates of scripts/realworld/Cargo.lock"
  rm -rf "$WORK/vendor" "$WORK/rust"
  # --locked: the versions are the lock file's, never re-resolved.
  (cd "$REPO/scripts/realworld" && cargo vendor -q --locked --versioned-dirs "$WORK/vendor" >/dev/null)
  mkdir -p "$WORK/rust"
  for dir in "$WORK/vendor"/*/; do
    name=$(basename "$dir")
    if [[ $name =~ $RUST_FAMILIES ]]; then cp -r "$dir" "$WORK/rust/$name"; fi
  done
  echo "$want" > "$stamp"
}

go_corpus() {
  local spec pkg ver dir deb
  mkdir -p "$WORK/debs" "$WORK/go"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
  for spec in "${GO_PACKAGES[@]}"; do
    pkg=${spec%%=*}
    ver=${spec#*=}
    dir="$WORK/go/${pkg}_${ver#*:}"
    [ -d "$dir" ] && continue
    log "downloading $pkg=$ver"
    (cd "$WORK/debs" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1 || apt-get download "$pkg=$ver")
    deb=$(ls "$WORK/debs/${pkg}"_*.deb | head -1)
    rm -rf "$dir.tmp"
    dpkg -x "$deb" "$dir.tmp"
    # Symlinks in these packages point into other packages or duplicate a tree: drop them.
    find "$dir.tmp" -type l -delete
    mv "$dir.tmp/usr/share/gocode/src" "$dir"
    rm -rf "$dir.tmp"
  done
}

rust_corpus
go_corpus

if [ -z "${TOLLGATE:-}" ]; then
  log "building tollgate (release)"
  cargo build -q --release --manifest-path "$REPO/Cargo.toml"
  TOLLGATE=${CARGO_TARGET_DIR:-$REPO/target}/release/tollgate
fi

mkdir -p "$WORK/results"
# Every rule runs, opt-in ones too: the measurement decides which ones are on by default.
printf 'rules:\n  opt_in: ["*"]\n' > "$WORK/results/all-rules.yml"
"$TOLLGATE" rules list --format json > "$WORK/results/rules.json"

count_files() { find "$WORK/$1" -type f -name "*.$2" | wc -l; }
echo "corpus: $WORK"
echo "rust crates scanned: $(find "$WORK/rust" -mindepth 1 -maxdepth 1 -type d | wc -l) of $(find "$WORK/vendor" -mindepth 1 -maxdepth 1 -type d | wc -l) vendored"
for lang in rust go; do
  ext=$([ "$lang" = rust ] && echo rs || echo go)
  files=$(count_files "$lang" "$ext")
  log "scanning $lang ($files files)"
  (cd "$WORK" && "$TOLLGATE" scan --config "$WORK/results/all-rules.yml" --format json \
    --fail-on never --no-fail-on-skipped -j 2 "$lang") > "$WORK/results/$lang.json"
  python3 - "$WORK/results/$lang.json" "$WORK/results/rules.json" "$lang" "$files" <<'EOF'
import collections, json, sys
report, rules, lang, files = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], int(sys.argv[4])
counts = collections.Counter(f["rule"] for f in report["findings"])
opt_in = {r["id"]: r.get("opt_in", False) for r in rules}
print(f"\n{lang}: {files} .{'rs' if lang == 'rust' else 'go'} files, {report['summary']['files_parsed']} parsed")
print(f"{'rule':44} {'findings':>8} {'/1k files':>9}  default")
for rule in sorted((r for r in opt_in if r.startswith(lang + "/")), key=lambda r: (-counts[r], r)):
    print(f"{rule:44} {counts[rule]:8} {1000 * counts[rule] / files:9.1f}  {'opt-in' if opt_in[rule] else 'yes'}")
default = sum(n for r, n in counts.items() if not opt_in.get(r))
print(f"{'total (all rules)':44} {sum(counts.values()):8} {1000 * sum(counts.values()) / files:9.1f}")
print(f"{'total (default rules)':44} {default:8} {1000 * default / files:9.1f}")
EOF
done
