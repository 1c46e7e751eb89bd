#!/usr/bin/env bash
# The demo behind `make demo`: a busybox container through create, start,
# state and delete, showing what the container sees. Cleans up after itself.
set -euo pipefail
husk=$(realpath "${HUSK:-target/release/husk}")
work=$(mktemp -d /tmp/husk-demo.XXXXXX)
root="$work/state"
id="demo-$$"
cleanup() {
  "$husk" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# An absolute cgroup of its own: nothing lands inside the caller's cgroup.
HUSK=$husk CGROUPS_PATH="/husk-demo-$$" hack/make-bundle.sh "$work/bundle" sh -c \
  'echo "hostname: $(hostname)"; echo "id: $(id)"; echo "ps inside the container:"; ps -o pid,user,args; exit 3'

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step husk create --bundle "$work/bundle" "$id"
"$husk" --root "$root" create --bundle "$work/bundle" "$id" > "$work/out" 2>&1
step husk state "$id"
"$husk" --root "$root" state "$id"
step husk start "$id"
"$husk" --root "$root" start "$id"
# The container writes to the stdout it inherited from create; wait for it to finish.
for _ in $(seq 100); do
  [ "$("$husk" --root "$root" state "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = stopped ] && break
  sleep 0.05
done
cat "$work/out"
step husk state "$id"
"$husk" --root "$root" state "$id"
step husk delete "$id"
"$husk" --root "$root" delete "$id"
step husk run "$id" "(foreground: the exit code is the container's)"
set +e
"$husk" --root "$root" run --bundle "$work/bundle" "$id"
echo "exit code: $?"
