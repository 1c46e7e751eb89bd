#!/usr/bin/env bash
# Behind `make examples`: libcontainer's examples and its crate-level
# doctest, run for real (root, a static busybox). Each example checks what it
# prints and cleans up after itself; this script checks that nothing is left.
set -euo pipefail
cargo=${CARGO:-cargo}
[ "$(id -u)" = 0 ] || { echo "examples: needs root" >&2; exit 1; }
work=$(mktemp -d /tmp/husk-examples.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$cargo" build -p libcontainer --examples
for example in run memory_stats exec_output; do
  echo "== example $example"
  "target/debug/examples/$example"
done

echo "== crate-level doctest (runs a container)"
hack/busybox-rootfs.sh "$work/rootfs"
HUSK_EXAMPLE_ROOTFS="$work/rootfs" "$cargo" test -p libcontainer --doc -- --test-threads=1

# Nothing left behind: containers, cgroups, scratch directories, mounts.
left=$(ls -d /sys/fs/cgroup/*/husk-example-* /sys/fs/cgroup/*/husk-doctest \
  /tmp/husk-example-* /tmp/husk-doctest-* /run/husk-doctest/doctest 2>/dev/null || true)
left+=$(grep -E 'husk-(example|doctest)' /proc/self/mountinfo || true)
if [ -n "$left" ]; then
  echo "examples: left behind:" >&2
  echo "$left" >&2
  exit 1
fi
echo "examples: all passed, nothing left behind"
