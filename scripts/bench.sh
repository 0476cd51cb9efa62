#!/usr/bin/env bash
# Scan benchmark: tollgate against ast-grep (and optionally semgrep) on the same real
# corpora (Debian's Go and Rust source packages), plus what a CI job of a monorepo pays.
#
#   scripts/bench.sh [-n RUNS] [-t TOOLS] [-b BASE] [WORKDIR]
#     RUNS     counted runs per command after one warm-up (default 5); medians reported
#     TOOLS    comma list of: tollgate,astgrep,semgrep (default tollgate,astgrep)
#     BASE     commit whose findings every finding must equal (default: the one in
#              scripts/bench/BASELINE; `none` skips the comparison)
#     WORKDIR  default $HOME/.cache/tollgate-bench (corpus, peers venv, results)
#
# What is timed, tools alternating run by run so that load hits them alike:
#   tollgate_L / astgrep_L   the three bench rules (benches/rules, benches/peers/astgrep)
#   library_L                tollgate with the whole embedded library, opt-in rules
#                            included (benches/all-rules.yml), against ast-grep's three rules
#   default_L                tollgate with the default library as a user gets it
#                            (benches/default-rules.yml: opt-in rules off)
#   review50 / review5000    `scan --base HEAD~1 --head HEAD` of a Go checkout whose last
#                            commit changes 50 / 5,000 files (what a CI review runs),
#                            whole library; review50_default: the default library
#   huge_*                   one generated 20 MB Go file: tollgate (whole library), ast-grep
#                            (one rule, from stdin: it skips such a file in a walk), and
#                            tree-sitter's parse alone (../shared/bench/parsefloor, when present)
# Then the finding comparison: BASE is built once (release, cached in WORKDIR/baseline),
# both binaries scan both corpora with the whole library, and any difference in findings,
# notices or unscanned files fails the script (exit 1) after the summary.
# Installs what it needs from package registries only: the corpus from Debian packages
# (scripts/bench/corpus.sh), ast-grep and semgrep from PyPI (scripts/bench/peers.sh),
# GNU time from Debian. Every timed command runs without network (`unshare -n`) when it can.
# Prints, and writes to WORKDIR/perf/tollgate-<stamp>/summary.md: wall time (median,
# min-max), CPU time and peak memory per command, and finding counts per rule.
set -euo pipefail
RUNS=5
TOOLS=tollgate,astgrep
BASE=""
while getopts "n:t:b:" o; do
  case $o in n) RUNS=$OPTARG ;; t) TOOLS=$OPTARG ;; b) BASE=$OPTARG ;; *) sed -n 2,26p "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
REPO=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$BASE" ] || BASE=$(cat "$REPO/scripts/bench/BASELINE")
WORK=${1:-$HOME/.cache/tollgate-bench}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
RES=$WORK/perf/tollgate-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RES"
has() { [[ ",$TOOLS," == *",$1,"* ]]; }
log() { echo "[bench] $*" >&2; }

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if [ ! -x /usr/bin/time ]; then $SUDO apt-get update -qq >/dev/null; $SUDO apt-get install -y -qq time >/dev/null; fi
bash "$REPO/scripts/bench/corpus.sh" "$WORK/corpus" > "$RES/corpus.txt"
if has astgrep || has semgrep; then bash "$REPO/scripts/bench/peers.sh" "$WORK/peers" > "$RES/peers.txt"; fi
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
if [ "$BASE" != none ]; then
  BASE=$(git -C "$REPO" rev-parse "$BASE^{commit}")
  OLD=$WORK/baseline/$BASE/tollgate
  if [ ! -x "$OLD" ]; then
    log "building the baseline $BASE (release, once)"
    rm -rf "$WORK/baseline/$BASE"; mkdir -p "$WORK/baseline/$BASE/src"
    git -C "$REPO" archive "$BASE" | tar -x -C "$WORK/baseline/$BASE/src"
    CARGO_TARGET_DIR=$TARGET cargo build -q --release --manifest-path "$WORK/baseline/$BASE/src/Cargo.toml"
    cp "$TARGET/release/tollgate" "$OLD.tmp" && mv "$OLD.tmp" "$OLD"
    rm -rf "$WORK/baseline/$BASE/src"
  fi
fi
log "building tollgate (release)"
cargo build -q --release --manifest-path "$REPO/Cargo.toml"
TG=$WORK/perf/tollgate-bin
cp "$TARGET/release/tollgate" "$TG.tmp" && mv "$TG.tmp" "$TG"
AG=$WORK/peers/bin/ast-grep
SG=$WORK/peers/bin/semgrep
C=$WORK/corpus
export SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off
NET=""
if unshare -n true 2>/dev/null; then NET="unshare -n"; fi

tollgate_cmd() { # lang dir out
  echo "$NET $TG scan -j 2 --no-default-rules --rules $REPO/benches/rules/$1 --format json --fail-on never $2 > $3 2>$3.err"
}
astgrep_cmd() { # lang dir out
  echo "$NET $AG scan -c $REPO/benches/peers/astgrep/sgconfig.yml --filter '^$1-' -j 2 --json=stream $2 > $3 2>$3.err"
}
semgrep_cmd() { # lang dir out
  echo "cd $2 && $NET $SG scan --metrics=off --disable-version-check --no-git-ignore -j 2 --max-target-bytes=0 --config $REPO/benches/peers/semgrep/$1.yml --json -o $3 . > $3.err 2>&1"
}

# The rules must agree on the fixtures before any timing means anything.
for l in go rust; do
  ( eval "$(tollgate_cmd $l "$REPO/benches/fixtures" "$RES/fixture_tollgate_$l.json")" )
  has astgrep && ( eval "$(astgrep_cmd $l "$REPO/benches/fixtures" "$RES/fixture_astgrep_$l.jsonl")" )
done

library_cmd() { # config dir out
  echo "$NET $TG scan -j 2 --config $REPO/benches/$1 --format json --fail-on never $2 > $3 2>$3.err"
}

# Inputs of a monorepo's CI job, made once per WORKDIR: checkouts of the Go corpus with
# 50 and 5,000 changed files (committed on top of the base, reviewed as CI does: --base
# HEAD~1 --head HEAD), and a 20 MB Go file.
review_repo() { # n
  local dir=$WORK/review-$1
  [ -f "$dir.committed" ] && return
  log "making $dir"
  rm -rf "$dir"; mkdir -p "$dir"; cp -r "$C/go/." "$dir/"
  git -C "$dir" init -q
  git -C "$dir" add -A
  git -C "$dir" -c user.name=bench -c user.email=bench@localhost commit -qm base
  find "$dir" -type f -name '*.go' -not -path '*/.git/*' | sort | awk -v n="$1" -v total="$(find "$dir" -type f -name '*.go' | wc -l)" \
    'NR % int(total / n) == 0 && count < n { print; count++ }' |
    while read -r f; do printf '\nfunc tollgateBenchChanged() { println("changed") }\n' >> "$f"; done
  git -C "$dir" add -A
  git -C "$dir" -c user.name=bench -c user.email=bench@localhost commit -qm change
  touch "$dir.committed"
}
review_repo 50
review_repo 5000
HUGE=$WORK/huge
if [ ! -f "$HUGE/huge.go" ]; then
  mkdir -p "$HUGE"
  python3 - "$HUGE/huge.go" <<'PY'
import sys
body = """
func read{i}(path string) ([]byte, error) {{
	f, err := os.Open(path)
	if err != nil {{
		return nil, fmt.Errorf("open %s: %v", path, err)
	}}
	defer f.Close()
	for i := 0; i < 3; i++ {{
		if err := step(i); err != nil {{
			return nil, err
		}}
	}}
	return io.ReadAll(f)
}}
"""
out = ["package huge\n\nimport (\n\t\"fmt\"\n\t\"io\"\n\t\"os\"\n)\n"]
size, i = len(out[0]), 0
while size < 20_000_000:
    part = body.format(i=i)
    out.append(part); size += len(part); i += 1
open(sys.argv[1], "w").write("".join(out))
PY
fi
PF=""
if [ -f "$REPO/../shared/bench/parsefloor/Cargo.toml" ]; then
  log "building parsefloor (release)"
  CARGO_TARGET_DIR=$WORK/parsefloor-target cargo build -q --release --locked \
    --manifest-path "$REPO/../shared/bench/parsefloor/Cargo.toml"
  PF=$WORK/parsefloor-target/release/parsefloor
fi

NAMES=(); CMDS=()
add() { NAMES+=("$1"); CMDS+=("$2"); echo "$1|$2" >> "$RES/commands.txt"; }
for l in go rust; do
  has tollgate && add "tollgate_$l" "$(tollgate_cmd $l "$C/$l" "$RES/tollgate_$l.json")"
  has tollgate && add "library_$l" "$(library_cmd all-rules.yml "$C/$l" "$RES/library_$l.json")"
  has tollgate && add "default_$l" "$(library_cmd default-rules.yml "$C/$l" "$RES/default_$l.json")"
  has astgrep && add "astgrep_$l" "$(astgrep_cmd $l "$C/$l" "$RES/astgrep_$l.jsonl")"
  has semgrep && add "semgrep_$l" "$(semgrep_cmd $l "$C/$l" "$RES/semgrep_$l.json")"
done
if has tollgate; then
  for n in 50 5000; do
    add "review$n" "cd $WORK/review-$n && $NET $TG scan -j 2 --config $REPO/benches/all-rules.yml --base HEAD~1 --head HEAD --format json --fail-on never > $RES/review$n.json 2>$RES/review$n.json.err"
  done
  add "review50_default" "cd $WORK/review-50 && $NET $TG scan -j 2 --config $REPO/benches/default-rules.yml --base HEAD~1 --head HEAD --format json --fail-on never > $RES/review50_default.json 2>$RES/review50_default.json.err"
  add "huge_tollgate" "$NET $TG scan -j 2 --config $REPO/benches/all-rules.yml --max-filesize 100000000 --file-timeout 600 --format json --fail-on never $HUGE/huge.go > $RES/huge_tollgate.json 2>$RES/huge_tollgate.json.err"
fi
# ast-grep skips a file this large in a walk; it reads one from stdin, one rule at a time:
# the first Go bench rule (os.Open without a deferred Close, an `inside` check on ancestors).
awk '/^---/{exit} {print}' "$REPO/benches/peers/astgrep/rules/go.yml" > "$HUGE/astgrep-rule.yml"
has astgrep && add "huge_astgrep" "$NET $AG scan --rule $HUGE/astgrep-rule.yml --stdin --json=stream < $HUGE/huge.go > $RES/huge_astgrep.jsonl 2>$RES/huge_astgrep.jsonl.err"
[ -n "$PF" ] && add "huge_parsefloor" "$PF parse go $HUGE 1 > $RES/huge_parsefloor.out"

# Tools alternate run by run (run 0 is a warm-up), so a burst of load on the machine
# falls on all of them rather than on one tool's block of runs.
for i in $(seq 0 "$RUNS"); do
  for k in "${!NAMES[@]}"; do
    name=${NAMES[$k]}
    log "run $i: $name"
    /usr/bin/time -f '%e %U %S %M' -o "$RES/time_$name.run" bash -c "${CMDS[$k]}" > /dev/null || log "$name run $i exited $? (kept)"
    [ "$i" = 0 ] || cat "$RES/time_$name.run" >> "$RES/time_$name.txt"
    rm -f "$RES/time_$name.run"
  done
done

# Every finding must equal the baseline's: both binaries, the whole library, both
# corpora, with a per-file budget no load can reach (a file over budget is a notice).
SAME=0
if [ "$BASE" != none ] && has tollgate; then
  for l in go rust; do
    for who in baseline new; do
      bin=$TG; [ $who = baseline ] && bin=$OLD
      out=$RES/same_${who}_$l.json
      [ $who = baseline ] && [ -f "$WORK/baseline/$BASE/findings_$l.json" ] && { cp "$WORK/baseline/$BASE/findings_$l.json" "$out"; continue; }
      log "findings of the $who on $l"
      (cd "$C" && $bin scan -j 2 --config "$REPO/benches/all-rules.yml" --file-timeout 600 --format json --fail-on never "$l" > "$out" 2> "$out.err")
      [ $who = baseline ] && cp "$out" "$WORK/baseline/$BASE/findings_$l.json"
    done
    python3 "$REPO/scripts/bench/same-findings.py" "$RES/same_baseline_$l.json" "$RES/same_new_$l.json" \
      | tee "$RES/same_$l.txt" || SAME=1
  done
fi

python3 "$REPO/scripts/bench/summarize.py" "$RES" "$C" | tee "$RES/summary.md"
if [ "$BASE" != none ] && has tollgate; then
  { echo; echo "finding sets against $BASE (whole library, both corpora):"; cat "$RES"/same_*.txt; } | tee -a "$RES/summary.md"
fi
log "results: $RES/summary.md"
if [ "$SAME" != 0 ]; then
  echo "[bench] FINDINGS DIFFER FROM THE BASELINE $BASE: see $RES/same_*.txt" >&2
  exit 1
fi
