# The tollgate image: one static binary on `scratch`, run as a non-root user.
#
#   docker build -t tollgate .          # compiles the binary in the `build` stage
#
# The last stage is what users get. Where the binary comes from is a build
# argument, so CI can put the binary it already compiled and tested into the
# very same final stage without pulling a base image:
#   BINARY_FROM=build  (default) compile it here, for the target platform;
#   BINARY_FROM=dist   take dist/tollgate-linux-$TARGETARCH from the context
#                      (the release workflow, scripts/build-image.sh).
#
# `--target shell` builds the variant for CI systems that run a shell script
# in the job's image (GitLab CI's `script:`): the same binary on
# /usr/local/bin, plus busybox's static shell and tools. BUSYBOX_FROM=dist
# takes dist/busybox (a static busybox) from the context instead of the image.
ARG BINARY_FROM=build
ARG BUSYBOX_FROM=docker.io/library/busybox:1.37-musl

FROM docker.io/library/rust:1.90-bookworm AS build
ARG TARGETARCH
WORKDIR /src
COPY . .
# Static glibc (no musl target needed): the binary runs with nothing beside it.
RUN case "${TARGETARCH:-amd64}" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported architecture: ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
    && RUSTFLAGS='-C target-feature=+crt-static' \
       cargo build --release --locked --target "$target" --bin tollgate \
    && cp "target/$target/release/tollgate" /tollgate

FROM scratch AS dist
ARG TARGETARCH
COPY dist/tollgate-linux-${TARGETARCH} /tollgate

FROM ${BINARY_FROM} AS binary

FROM scratch AS dist-busybox
COPY dist/busybox /bin/busybox

FROM ${BUSYBOX_FROM} AS busybox

# What both variants say about themselves.
FROM scratch AS base
ARG VERSION=dev
ARG REVISION=unknown
# The repository; the release workflow passes it.
ARG SOURCE=""
LABEL org.opencontainers.image.title="tollgate" \
      org.opencontainers.image.description="A CI gate: tree-sitter rules, image tag policy and review comments on the changed lines of a pull/merge request" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"

FROM base AS shell
COPY --from=busybox /bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY --from=binary /tollgate /usr/local/bin/tollgate
ENV PATH=/usr/local/bin:/bin
USER 65532:65532
CMD ["/bin/sh"]

FROM base
# TLS roots are compiled in (webpki-root-certs) and git is libgit2, in process:
# nothing else is needed.
COPY --from=binary /tollgate /tollgate
# A numeric user: scratch has no /etc/passwd. Checkouts owned by another user
# are read when the CI names them as its workspace (GITHUB_WORKSPACE,
# CI_PROJECT_DIR, WORKSPACE): the gate reads git, never runs it.
USER 65532:65532
ENTRYPOINT ["/tollgate"]
