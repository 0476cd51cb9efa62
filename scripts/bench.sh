#!/usr/bin/env bash
# Scan benchmark: tollgate against ast-grep (and optionally semgrep) with rules of the
# same meaning on the same real corpora (Debian's Go and Rust source packages).
#
#   scripts/bench.sh [-n RUNS] [-t TOOLS] [WORKDIR]
#     RUNS     counted runs per command after one warm-up (default 5); medians reported
#     TOOLS    comma list of: tollgate,astgrep,semgrep (default tollgate,astgrep)
#     WORKDIR  default $HOME/.cache/tollgate-bench (corpus, peers venv, results)
#
# Installs what it needs from package registries only: the corpus from Debian packages
# (scripts/bench/corpus.sh), ast-grep and semgrep from PyPI (scripts/bench/peers.sh),
# GNU time from Debian. Every timed command runs without network (`unshare -n`) when it can.
# Prints, and writes to WORKDIR/perf/tollgate-<stamp>/summary.md: wall time (median,
# min-max), CPU time and peak memory per tool and corpus, and finding counts per rule.
# Run nothing else on the machine meanwhile.
set -euo pipefail
RUNS=5
TOOLS=tollgate,astgrep
while getopts "n:t:" o; do
  case $o in n) RUNS=$OPTARG ;; t) TOOLS=$OPTARG ;; *) sed -n 2,16p "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
REPO=$(cd "$(dirname "$0")/.." && pwd)
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
log "building tollgate (release)"
cargo build -q --release --manifest-path "$REPO/Cargo.toml"
TG=$REPO/target/release/tollgate
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

measure() { # name command
  local name=$1 cmd=$2 i
  log "$name: $cmd"
  : > "$RES/time_$name.txt"
  for i in $(seq 0 "$RUNS"); do
    /usr/bin/time -f '%e %U %S %M' -o "$RES/time_$name.run" bash -c "$cmd" > /dev/null || log "$name run $i exited $? (kept)"
    [ "$i" = 0 ] || cat "$RES/time_$name.run" >> "$RES/time_$name.txt"
  done
  rm -f "$RES/time_$name.run"
  echo "$name|$cmd" >> "$RES/commands.txt"
}

for l in go rust; do
  # Interleave the tools run by run would be fairer on a noisy machine; medians of
  # back-to-back runs in one script invocation are what we record.
  has tollgate && measure "tollgate_$l" "$(tollgate_cmd $l "$C/$l" "$RES/tollgate_$l.json")"
  has astgrep && measure "astgrep_$l" "$(astgrep_cmd $l "$C/$l" "$RES/astgrep_$l.jsonl")"
  has semgrep && measure "semgrep_$l" "$(semgrep_cmd $l "$C/$l" "$RES/semgrep_$l.json")"
done

python3 "$REPO/scripts/bench/summarize.py" "$RES" "$C" | tee "$RES/summary.md"
log "results: $RES/summary.md"
