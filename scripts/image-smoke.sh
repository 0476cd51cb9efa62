#!/usr/bin/env bash
# Runs the image that scripts/build-image.sh built, as CI users run it:
#   1. `tollgate --version`;
#   2. `tollgate scan` of a small repository with a finding (exit 1, the finding);
#   3. `tollgate review --no-post` of a pull request on a stand-in GitHub API
#      whose host name, api.github.test, is in no hosts file: the static
#      binary resolves it through DNS (a stand-in server on 127.0.0.1:53,
#      the container's only nameserver),
#      reads the pull request, and writes its JSON report. The checkout is
#      owned by root and the image runs as 65532: the workspace the CI names
#      (GITHUB_WORKSPACE here) is read all the same.
#
#   4. the shell variant (NAME-shell): a GitLab-style `sh -c` script that runs
#      `tollgate` from PATH.
#
#   scripts/image-smoke.sh [NAME]        (default NAME: localhost/tollgate:dev)
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=${1:-localhost/tollgate:dev}
bh() { buildah --storage-driver vfs "$@"; }
fail() { echo "image-smoke: $*" >&2; exit 1; }

work=$(mktemp -d)
container=""
review_container=""
shell_container=""
fake=""
cleanup() {
    [ -n "$fake" ] && kill "$fake" 2>/dev/null
    [ -n "$container" ] && bh rm "$container" >/dev/null
    [ -n "$review_container" ] && bh rm "$review_container" >/dev/null
    [ -n "$shell_container" ] && bh rm "$shell_container" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
container=$(bh from --quiet "$NAME")
in_image() { bh run --isolation chroot "$@"; }

# 1. Start-up.
version=$(in_image "$container" -- /tollgate --version)
[[ $version == "tollgate "* ]] || fail "--version printed: $version"
echo "image-smoke: --version: $version"

# A repository: main.go on main, then a branch that leaks an opened file.
repo=$work/repo
mkdir -p "$repo"
g() { git -C "$repo" -c user.name=smoke -c user.email=smoke@example.com "$@"; }
g init -q -b main
printf 'package main\n\nimport "os"\n\nfunc main() {}\n' >"$repo/main.go"
g add main.go && g commit -qm base
g checkout -qb feature
cat >>"$repo/main.go" <<'GO'

func leak(p string) {
	g, _ := os.Open(p)
	_ = g.Name()
}
GO
g commit -qam feature
head=$(g rev-parse HEAD)
base=$(g rev-parse main)

# 2. A scan with a finding: exit 1.
set +e
in_image --volume "$repo:/repo:ro" --workingdir /repo "$container" -- \
    /tollgate scan --format json --fail-on warning >"$work/scan.json" 2>"$work/scan.err"
code=$?
set -e
[ "$code" = 1 ] || fail "scan exited $code, expected 1: $(cat "$work/scan.err")"
python3 - "$work/scan.json" <<'PY' || fail "scan found nothing: $(cat "$work/scan.json")"
import json, sys
findings = json.load(open(sys.argv[1]))["findings"]
assert any(f["path"] == "main.go" for f in findings), findings
print(f"image-smoke: scan: {len(findings)} finding(s), first {findings[0]['rule']}")
PY

# 3. review --no-post against the stand-in API, by host name.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 scripts/smoke/fake_forge.py --http-port "$port" --dns-port 53 \
    --head "$head" --base "$base" --seconds 300 --log "$work/forge.log" &
fake=$!
for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.1
done
mkdir -p "$work/out"
chmod 777 "$work/out"
# A container whose /etc/resolv.conf names only the stand-in DNS server (a
# volume over /etc/resolv.conf does not reliably win over buildah's own).
review_container=$(bh from --quiet --dns 127.0.0.1 --dns-option timeout:2 --dns-option attempts:1 "$NAME")
set +e
in_image --volume "$repo:/repo:ro" --volume "$work/out:/out" \
    --workingdir /repo \
    --env GITHUB_API_URL="http://api.github.test:$port" --env GITHUB_TOKEN=smoke-token \
    --env GITHUB_WORKSPACE=/repo \
    "$review_container" -- \
    /tollgate review --no-post --repo acme/app --pr 7 --fail-on never \
    --output-dir /out --report json=tollgate.json >"$work/review.out" 2>&1
code=$?
set -e
[ "$code" = 0 ] || fail "review exited $code: $(cat "$work/review.out" "$work/forge.log")"
grep -q '^DNS api.github.test$' "$work/forge.log" ||
    fail "the host name was not resolved through DNS: $(cat "$work/forge.log")"
grep -q "^GET /repos/acme/app/pulls/7 host=api.github.test:$port$" "$work/forge.log" ||
    fail "the pull request was not read by host name: $(cat "$work/forge.log")"
python3 - "$work/out/tollgate.json" <<'PY' || fail "bad review report: $(cat "$work/review.out" "$work/forge.log")"
import json, sys
report = json.load(open(sys.argv[1]))
assert report["review"]["pull_request"] == 7, report.get("review")
assert any(f["path"] == "main.go" for f in report["findings"]), report["findings"]
print(f"image-smoke: review --no-post: resolved api.github.test, {len(report['findings'])} finding(s) on PR 7")
PY
# 4. The shell variant, as a GitLab job's script runs in it.
case "${NAME##*/}" in
    *:*) shell_name=$NAME-shell ;;
    *) shell_name=$NAME:shell ;;
esac
shell_container=$(bh from --quiet "$shell_name")
out=$(in_image --volume "$repo:/repo:ro" --env CI_PROJECT_DIR=/repo "$shell_container" -- \
    sh -c 'cd "$CI_PROJECT_DIR" && tollgate --version && tollgate scan --fail-on never | tail -n 1')
[[ $out == "tollgate "*"1 finding"* ]] || fail "the shell variant's script printed: $out"
echo "image-smoke: $shell_name: sh -c script ran tollgate from PATH"
echo "image-smoke: ok"
