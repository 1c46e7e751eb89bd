#!/usr/bin/env bash
# Installs what building and testing husk needs on a fresh Debian 12 machine.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

pkgs=(
  build-essential pkg-config libseccomp-dev   # building (the seccomp crate links libseccomp)
  busybox-static                              # the demo and test rootfs
  iproute2 util-linux procps jq               # tests inspect namespaces, mounts, processes
  runc                                        # peer runtime, compared side by side in tests and docs
  criu                                        # checkpoint/restore (driven over its RPC, `criu swrk`)
  uidmap passwd                               # rootless tests: newuidmap/newgidmap, useradd with subordinate ids
)
if [ "${HUSK_CLIENT_DEPS:-0}" = 1 ]; then
  pkgs+=(podman conmon containerd buildah crun catatonit)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo is missing; install the Rust toolchain (rustup) first" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt >/dev/null 2>&1 || true
