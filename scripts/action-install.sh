#!/usr/bin/env bash
# The action's install step (action.yml): puts the released static binary for
# this runner in $RUNNER_TEMP and sets the step output `path`.
#
# The release is the one of the action's own checkout ($GITHUB_ACTION_PATH,
# the version in its Cargo.toml), or TOLLGATE_VERSION; the repository is the
# action's own (a fork downloads its own releases). The binary's SHA-256 must
# match the release's checksum file. Without a release for that version (a
# branch of a fork, say), it builds the checkout with cargo: slower, and said.
set -euo pipefail

fail() { echo "::error title=tollgate::$*"; exit 1; }

[ "${RUNNER_OS:-Linux}" = Linux ] || fail "the tollgate action runs on Linux runners (this one is ${RUNNER_OS})"
case "${RUNNER_ARCH:-X64}" in
    X64) arch=x86_64 ;;
    ARM64) arch=aarch64 ;;
    *) fail "no tollgate release for the runner architecture ${RUNNER_ARCH}" ;;
esac

action_path=${GITHUB_ACTION_PATH:?the action path is unset}
version=${TOLLGATE_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' "$action_path/Cargo.toml" | head -n1)}
version=${version#v}
[[ $version =~ ^[0-9A-Za-z.+-]+$ ]] || fail "not a version: ${version}"
# The action's repository: github.action_repository (passed by action.yml),
# else the runner's variable, else the checkout's place (…/_actions/OWNER/REPO/REF).
repository=${TOLLGATE_ACTION_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}
if [ -z "$repository" ]; then
    repository=$(basename "$(dirname "$(dirname "$action_path")")")/$(basename "$(dirname "$action_path")")
fi
[[ $repository =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || fail "not a repository: ${repository}"

dest=${RUNNER_TEMP:-/tmp}/tollgate-$version-$arch
mkdir -p "$dest"
asset=tollgate-$arch-unknown-linux-gnu
url=${GITHUB_SERVER_URL:-https://github.com}/$repository/releases/download/v$version/$asset
if curl -fsSL --retry 3 -o "$dest/$asset" "$url" && curl -fsSL --retry 3 -o "$dest/$asset.sha256" "$url.sha256"; then
    (cd "$dest" && sha256sum --check --strict "$asset.sha256") ||
        fail "the checksum of $url does not match its .sha256"
    mv "$dest/$asset" "$dest/tollgate"
    chmod +x "$dest/tollgate"
else
    echo "::warning title=tollgate::no release v$version of $repository for $arch; building the action's checkout with cargo (minutes). Use a release tag, e.g. uses: $repository@v$version, to start in seconds."
    cargo install --locked --quiet --path "$action_path" --root "$dest/cargo" --bin tollgate
    mv "$dest/cargo/bin/tollgate" "$dest/tollgate"
fi
"$dest/tollgate" --version
echo "path=$dest/tollgate" >>"$GITHUB_OUTPUT"
