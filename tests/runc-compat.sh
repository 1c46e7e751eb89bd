#!/usr/bin/env bash
# runc-compat.sh HUSK [RUNC]: the same commands through husk and runc, side by
# side; what clients parse (state/list JSON keys, status values, exit codes)
# must match. Prints "N passed, N failed". Needs root and busybox-static.
set -uo pipefail
husk=$(realpath "$1"); runc=${2:-/usr/sbin/runc}
[ -x "$runc" ] || { echo "runc-compat: $runc missing (apt-get install runc)"; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/husk-compat.XXXXXX)
pass=0; fail=0
cleanup() {
  for rt in "$husk" "$runc"; do
    "$rt" --root "$work/state-$(basename "$rt")" delete --force "c-$$" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

check() { # name, expected, actual
  if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "ok - $1"
  else fail=$((fail+1)); echo "not ok - $1: runc gives '$2', husk gives '$3'"; fi
}

HUSK=$husk "$here/hack/make-bundle.sh" "$work/bundle" sleep 30 >/dev/null
# runc 1.1.5 refuses to run a bundle whose config it cannot parse fully; give both the same.
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["ociVersion"] = "1.0.2"
c["linux"]["cgroupsPath"] = "/husk-compat-" + str(__import__("os").getppid())
json.dump(c, open(sys.argv[1], "w"))
PY

declare -A out
for rt in "$runc" "$husk"; do
  n=$(basename "$rt"); root="$work/state-$n"
  r() { "$rt" --root "$root" "$@"; }
  r create --bundle "$work/bundle" "c-$$" </dev/null >/dev/null 2>&1
  out[$n.created]=$(r state "c-$$" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], sorted(d))')
  out[$n.list]=$(r list --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), sorted(d[0]), d[0]["status"])')
  out[$n.listq]=$(r list -q)
  r start "c-$$"
  out[$n.running]=$(r state "c-$$" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  r delete "c-$$" >/dev/null 2>&1; out[$n.delete_running]=$?
  r kill "c-$$" NOSUCHSIG >/dev/null 2>&1; out[$n.bad_signal]=$?
  r kill "c-$$" KILL; sleep 0.3
  out[$n.stopped]=$(r state "c-$$" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["pid"])')
  r kill "c-$$" TERM >/dev/null 2>&1; out[$n.kill_stopped]=$?
  r delete "c-$$"; out[$n.delete]=$?
  r state "c-$$" >/dev/null 2>&1; out[$n.state_gone]=$?
  r create --bundle "$work/nosuchbundle" "c-$$" >/dev/null 2>&1; out[$n.missing_bundle]=$?
  out[$n.left]=$(ls "$root" 2>/dev/null | wc -l)
done
h=$(basename "$husk"); c=$(basename "$runc")
for k in created list listq running delete_running bad_signal stopped kill_stopped delete state_gone missing_bundle left; do
  check "$k" "${out[$c.$k]}" "${out[$h.$k]}"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
