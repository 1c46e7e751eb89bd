#!/usr/bin/env bash
# bench.sh HUSK [ARGS...]: husk side by side with the peer runtimes on this
# machine (../shared/bench/runtime-bench.sh), ratios against crun, measured in
# one run. ARGS go to runtime-bench.sh (e.g. -n 50, --only a,c).
# Installs runc and crun from Debian when missing; youki is added if on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
husk=$(realpath "$1"); shift
bench=${BENCH:-../shared/bench}
[ -x "$bench/runtime-bench.sh" ] || { echo "bench: $bench/runtime-bench.sh not found (set BENCH=dir)" >&2; exit 1; }

need=()
for p in runc crun jq time busybox-static util-linux gcc libc6-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

runtimes=(husk="$husk" runc="$(command -v runc)")
sizes=()
# crun 1.8 refuses a hybrid host whose cgroup2 mount holds controllers; the
# bench's C wrapper hides that mount from it (its README). Built here, in
# target/, from the bench's own source.
# (cgroup files report size 0, so read it rather than test -s.)
unified=/sys/fs/cgroup/unified/cgroup.controllers
if [ -n "$(cat "$unified" 2>/dev/null)" ]; then
  mkdir -p target/bench
  gcc -O2 -static -o target/bench/crun-nounified "$bench/crun-nounified.c"
  runtimes+=(crun="$PWD/target/bench/crun-nounified")
  sizes+=(--size crun="$(command -v crun)")
else
  runtimes+=(crun="$(command -v crun)")
fi
if command -v youki >/dev/null; then runtimes+=(youki="$(command -v youki)"); fi

mkdir -p target/bench
out=target/bench/bench-$(date -u +%Y%m%dT%H%M%SZ)
"$bench/runtime-bench.sh" --out "$out.tsv" "${sizes[@]}" "$@" "${runtimes[@]}" | tee "$out.txt"
echo "bench: results in $out.txt and $out.tsv"
