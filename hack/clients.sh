#!/usr/bin/env bash
# clients.sh HUSK [CLIENT...]: run the real-client checks from ../shared/clients
# (podman, containerd, docker, buildah) against HUSK and print a table
# client -> passed/failed. Exit status 1 if any check failed.
set -uo pipefail
husk=$(realpath "$1"); shift
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLIENTS_DIR:-$here/../shared/clients}
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(podman containerd docker buildah)
[ -d "$dir" ] || { echo "clients: $dir not found (the shared client checks)"; exit 1; }
logs=$(mktemp -d /tmp/husk-clients.XXXXXX)
# podman runs a runtime named husk with --root /run/husk; the compiled seccomp
# programs husk keeps there (.seccomp-cache) are removed again afterwards,
# with /run/husk itself, when this run made them.
state_root=/run/husk
had_root=0; [ -e "$state_root" ] && had_root=1
had_cache=0; [ -e "$state_root/.seccomp-cache" ] && had_cache=1
cleanup_state() {
  [ "$had_cache" = 1 ] || rm -rf "$state_root/.seccomp-cache"
  [ "$had_root" = 1 ] || rmdir "$state_root" 2>/dev/null || true
}
trap cleanup_state EXIT
declare -A res
total_p=0; total_f=0; start=$(date +%s)
for c in "${clients[@]}"; do
  t0=$(date +%s)
  "$dir/$c-check.sh" "$husk" > "$logs/$c.log" 2>&1
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$c.log" | tail -1)
  p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
  [ -n "$p" ] || { p=0; f=1; }
  res[$c]="$p $f $(( $(date +%s) - t0 ))"
  total_p=$((total_p + p)); total_f=$((total_f + f))
  grep '^not ok' "$logs/$c.log" | sed "s/^/  [$c] /" | cut -c1-240
done
printf '\n%-12s %7s %7s %6s\n' client passed failed secs
for c in "${clients[@]}"; do
  read -r p f s <<<"${res[$c]}"
  printf '%-12s %7s %7s %6s\n' "$c" "$p" "$f" "$s"
done
echo "logs: $logs ($(( $(date +%s) - start )) s in all)"
echo "clients: $total_p passed, $total_f failed"
[ "$total_f" = 0 ]
