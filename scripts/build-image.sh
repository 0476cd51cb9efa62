#!/usr/bin/env bash
# Builds the tollgate image from the current tree and prints its size.
#
#   scripts/build-image.sh [NAME]        (default NAME: localhost/tollgate:dev)
#
# Also builds the shell variant (the Dockerfile's `shell` stage, for GitLab
# CI's `script:`) as NAME-shell (localhost/tollgate:dev-shell), with Debian's
# static busybox.
#
# No Docker engine runs here and no base image can be pulled, so the static
# binary is compiled first, then buildah builds the Dockerfile's final stage
# (FROM scratch) from it: BINARY_FROM=dist takes dist/tollgate-linux-amd64
# from a build context that holds nothing else. Users' `docker build .`
# builds the same final stage from the `build` stage instead.
# Fails if the binary is not static or the image is over 20 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=${1:-localhost/tollgate:dev}
MAX_BYTES=${TOLLGATE_MAX_IMAGE_BYTES:-20000000}
TARGET=x86_64-unknown-linux-gnu
# Its own target dir: other RUSTFLAGS would rebuild the debug/test tree.
export CARGO_TARGET_DIR=${TOLLGATE_STATIC_TARGET_DIR:-$PWD/target/static}

bh() { buildah --storage-driver vfs "$@"; }

if ! command -v buildah >/dev/null; then
    echo "build-image: buildah is missing (apt-get install -y buildah)" >&2
    exit 1
fi

echo "build-image: compiling the static binary ($TARGET, +crt-static)" >&2
RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target "$TARGET" --bin tollgate
bin=$CARGO_TARGET_DIR/$TARGET/release/tollgate
if readelf -l "$bin" | grep -q 'program interpreter'; then
    echo "build-image: $bin is dynamically linked" >&2
    exit 1
fi

busybox=/bin/busybox
if ! [ -x "$busybox" ] || readelf -l "$busybox" | grep -q 'program interpreter'; then
    echo "build-image: a static busybox is needed at $busybox (apt-get install -y busybox-static)" >&2
    exit 1
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir "$context/dist"
cp "$bin" "$context/dist/tollgate-linux-amd64"
cp "$busybox" "$context/dist/busybox"
cp Dockerfile "$context/Dockerfile"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# NAME-shell: the tag gets "-shell" (a NAME without a tag gets ":shell").
case "${NAME##*/}" in
    *:*) shell_name=$NAME-shell ;;
    *) shell_name=$NAME:shell ;;
esac

status=0
for variant in final shell; do
    if [ "$variant" = final ]; then
        name=$NAME target=()
    else
        name=$shell_name target=(--target shell)
    fi
    bh bud --isolation chroot --quiet --layers --force-rm "${target[@]}" \
        --build-arg BINARY_FROM=dist --build-arg BUSYBOX_FROM=dist-busybox \
        --build-arg TARGETARCH=amd64 \
        --build-arg VERSION="$version" --build-arg REVISION="$revision" \
        -t "$name" "$context" >/dev/null
    # The image's size: its config and (uncompressed) layers, from the manifest.
    bytes=$(bh inspect --type image --format '{{.Manifest}}' "$name" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["config"]["size"] + sum(layer["size"] for layer in m["layers"]))')
    echo "image $name: $bytes bytes ($(python3 -c "print(round($bytes / 1e6, 1))") MB), limit $MAX_BYTES"
    if [ "$bytes" -gt "$MAX_BYTES" ]; then
        echo "build-image: $name is over the limit" >&2
        status=1
    fi
done
exit $status
