#!/usr/bin/env bash
# busybox-rootfs.sh DIR: a root filesystem in DIR with a static busybox and a
# link per applet: the rootfs of make-bundle.sh's bundles, and of the
# library's doctests and examples.
set -euo pipefail
dir=$1
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "busybox-rootfs: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"/{bin,proc,sys,dev,tmp,etc,root}
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/etc/passwd"
echo 'root:x:0:' > "$dir/etc/group"
