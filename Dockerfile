# syntax=docker/dockerfile:1
# vip-agent container image.
#
# NEVER BUILT HERE: the machines this project is developed and tested on have a docker
# CLI but no container engine, so neither `docker build` nor the resulting image has been
# run. What ran instead, outside a container: `cargo xtask setup` (it found nothing to
# install on that machine, so its install paths were not exercised), `cargo build
# --release --locked -p vip-agent` (a binary needing only libc, libm and libgcc_s,
# all in distroless/cc; 15 MB stripped), that binary under exactly the container's capabilities
# (docs/privileges.md), and the manifests that run the image (scripts/check-manifests.sh).
# No image is published; registry.example/... in manifests/ and docs/ is a placeholder.
#
#   docker build -t registry.example/vip-agent:0.1.0 .
#
# Stage 1 builds the agent. The XDP object is compiled by vip-agent's build script with
# the nightly toolchain (rust-src, build-std) and bpf-linker on the nightly's own LLVM;
# `cargo xtask setup` installs exactly that, as it does for development and CI. The
# nightly is not pinned, so two builds on different days may differ.
#
# Stage 2 is distroless "cc" (glibc, libgcc, CA certificates; no shell, no package
# manager): the agent is one dynamically linked binary that needs nothing else. It runs
# as root (uid 0) because Linux gives added capabilities only to root processes; the
# generated manifests drop every capability except NET_ADMIN, NET_RAW, BPF and PERFMON
# and set readOnlyRootFilesystem, which this image is fine with: the agent writes only to
# the /sys/fs/bpf and /run/vip-agent hostPaths.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo xtask setup
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p vip-agent \
 && install -s -D -m 0755 target/release/vip-agent /out/vip-agent

FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/vip-agent /usr/local/bin/vip-agent
USER 0:0
ENTRYPOINT ["/usr/local/bin/vip-agent"]
CMD ["run"]
