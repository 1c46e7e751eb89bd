#!/usr/bin/env bash
# podman-checkpoint.sh HUSK: `podman container checkpoint` / `restore` with
# --runtime HUSK on a simple counter container. Rootful podman with a private
# store, runroot, tmpdir and config in a temp dir (as ../shared/clients does);
# the image is a busybox-static rootfs `podman import`ed. Meant for the pure
# cgroup v2 VM (`make podman-checkpoint`), where CRIU works.
set -euo pipefail
RT=$(realpath "$1")
D=$(mktemp -d /tmp/pcr.XXXXXX)
PG=(--root "$D/root" --runroot "$D/runroot" --tmpdir "$D/tmp" --storage-driver overlay
    --runtime "$RT" --cgroup-manager cgroupfs --events-backend file)
pm() { timeout -k 10 120 podman "${PG[@]}" "$@" </dev/null; }
cleanup() {
  pm rm -a -f -t 0 >/dev/null 2>&1 || true
  rm -rf "$D" 2>/dev/null || true
}
trap cleanup EXIT
mkdir -p "$D/root" "$D/runroot" "$D/tmp" "$D/net"
cat > "$D/containers.conf" <<CONF
[containers]
netns = "none"
log_driver = "k8s-file"
[network]
network_config_dir = "$D/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$D/events.log"
lock_type = "file"
tmp_dir = "$D/tmp"
static_dir = "$D/root/libpod"
volume_path = "$D/root/volumes"
runtime_supports_json = ["crun", "runc", "$(basename "$RT")"]
CONF
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/root"\nrunroot = "%s/runroot"\n' "$D" "$D" > "$D/storage.conf"
printf 'unqualified-search-registries = []\n' > "$D/registries.conf"
export CONTAINERS_CONF=$D/containers.conf CONTAINERS_STORAGE_CONF=$D/storage.conf \
  CONTAINERS_REGISTRIES_CONF=$D/registries.conf

r=$D/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/run"
cp /bin/busybox "$r/bin/busybox"
for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
tar -C "$r" -cf "$D/rootfs.tar" .
pm import "$D/rootfs.tar" localhost/pcr-busybox:latest >/dev/null

pm run -d --pull=never --network none --name pcr localhost/pcr-busybox:latest \
  sh -c 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.2; done' >/dev/null
sleep 2
before=$(pm logs pcr | tail -1)
echo "before checkpoint: counter at $before"
pm container checkpoint pcr
echo "after checkpoint: $(pm inspect --format '{{.State.Status}}' pcr)"
pm container restore pcr
sleep 2
after=$(pm logs pcr | tail -1)
status=$(pm inspect --format '{{.State.Status}}' pcr)
echo "after restore: $status, counter at $after"
seq_ok=$(pm logs pcr | awk '{ if ($1 != NR) bad=1 } END { print bad ? "no" : "yes" }')
echo "log is 1..$after without restart: $seq_ok"
[ "$status" = running ] && [ "$after" -gt "$before" ] && [ "$seq_ok" = yes ]
echo "podman checkpoint/restore with husk: ok"
