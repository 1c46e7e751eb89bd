#!/usr/bin/env bash
# Checks that libcontainer works as a dependency of a project outside this
# workspace: a new cargo project in a temporary directory depends on it by
# path, takes examples/run.rs (and examples/common/) as its main.rs, builds
# offline against the workspace's Cargo.lock, and runs it: a real container
# (root, a static busybox). Run by `make library-consumer` and `make test`.
set -euo pipefail
cargo=${CARGO:-cargo}
[ "$(id -u)" = 0 ] || { echo "library-consumer: needs root" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/husk-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "husk-consumer"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
libcontainer = { path = "$repo/crates/libcontainer" }

[workspace]
TOML
cp "$repo/crates/libcontainer/examples/run.rs" "$work/src/main.rs"
cp -r "$repo/crates/libcontainer/examples/common" "$work/src/common"
# The same versions the workspace is tested with (cargo drops what is unused).
cp "$repo/Cargo.lock" "$work/Cargo.lock"

# Its own target dir (kept between runs under target/, so only the first
# run builds the dependencies); nothing of the workspace's build is reused.
target="$repo/target/library-consumer"
( cd "$work" && "$cargo" build --offline --quiet --target-dir "$target" )
"$target/debug/husk-consumer"
echo "library-consumer: a project outside the workspace ran a container through libcontainer"
