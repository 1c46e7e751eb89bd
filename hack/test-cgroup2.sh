#!/usr/bin/env bash
# make test-cgroup2: the cgroup part of the test suite in a throw-away pure
# cgroup v2 VM (../shared/vm/cgroup2-vm.sh; this checkout is shared at the
# same path, host binaries run as they are):
#   - libcontainer's cgroup unit and root tests (cgroups::),
#   - integration/tests/linux_cgroups.rs (cgroupsPath, limits, device rules),
#   - integration/tests/ops.rs (pause/resume, ps, update, events, oom),
#   - the --cgroup tests of integration/tests/exec.rs and the cgroup tests of
#     integration/tests/spec_linux.rs (cgroupsPath rules, cgroup ownership,
#     device rule order),
#   - then, in a second VM booted with systemd as PID 1 (--systemd),
#     integration/tests/systemd.rs (the --systemd-cgroup driver).
# The test binaries are built here first, so nothing is compiled in the
# (software-emulated) guest.
# Usage: hack/test-cgroup2.sh [RUNTIME]   (default: target/debug/husk)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
VM=${CGROUP2_VM:-../shared/vm/cgroup2-vm.sh}
RUNTIME=$(realpath "${1:-target/debug/husk}")

executables() {
    "$CARGO" test --no-run --message-format=json "$@" 2>/dev/null |
        grep -o '"executable":"[^"]*"' | cut -d'"' -f4
}
unit=$(executables -p libcontainer --lib)
cgroups=$(executables -p integration --test linux_cgroups)
ops=$(executables -p integration --test ops)
exec=$(executables -p integration --test exec)
spec_linux=$(executables -p integration --test spec_linux)
systemd=$(executables -p integration --test systemd)
for b in "$unit" "$cgroups" "$ops" "$exec" "$spec_linux" "$systemd"; do
    [ -x "$b" ] || { echo "test-cgroup2: no test binary ($b)" >&2; exit 1; }
done

start=$(date +%s)
rc=0
"$VM" --timeout 1800 -e RUNTIME="$RUNTIME" "
set -u
fail=0
grep -qw cgroup2 /proc/mounts && [ -e /sys/fs/cgroup/cgroup.controllers ] || { echo 'not pure cgroup v2' >&2; exit 1; }
$unit cgroups:: --test-threads=2 || fail=1
$cgroups --test-threads=2 || fail=1
$ops --test-threads=2 || fail=1
$exec cgroup --test-threads=2 || fail=1
$spec_linux cgroup device_rules --test-threads=2 || fail=1
exit \$fail" || rc=$?
echo "test-cgroup2: exit $rc after $(($(date +%s) - start)) s in the VM"
start=$(date +%s)
src=0
"$VM" --systemd --timeout 1800 -e RUNTIME="$RUNTIME" "
[ -d /run/systemd/system ] && [ -e /sys/fs/cgroup/cgroup.controllers ] || { echo 'no systemd on cgroup v2' >&2; exit 1; }
$systemd --test-threads=2" || src=$?
echo "test-cgroup2: systemd VM: exit $src after $(($(date +%s) - start)) s"
[ "$rc" -eq 0 ] && [ "$src" -eq 0 ]
