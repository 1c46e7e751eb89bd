#!/usr/bin/env bash
# hack/critest.sh CRITEST HUSK [RUNC]
#
# Runs the Kubernetes CRI validation suite (critest, from kubernetes-sigs/
# cri-tools, built by the reader outside this tree: see docs/CRITEST.md)
# against a private containerd whose CRI plugin has two runtime handlers,
# "runc" (BinaryName RUNC, default /usr/sbin/runc) and "husk" (BinaryName
# HUSK), both through containerd-shim-runc-v2.  critest runs once per
# handler, one after the other, against the same daemon; the per-test results
# land in $CRITEST_OUT (default target/critest): <handler>.xml (JUnit),
# <handler>.log (ginkgo -v output) and results.tsv (test, runc, husk).
#
# Nothing here reaches a registry: every image critest asks for is built from
# busybox-static (plus the stand-ins in hack/critest/) under the exact
# reference critest uses and imported with `ctr images import`.  Pods get no
# network device: a CNI plugin of our own (hack/critest/cni-lo) reports an
# eth0 with 127.0.0.2/32 and configures nothing (containerd 1.6 refuses a pod
# without an eth0 address), and containerd's loopback plugin brings `lo` up.
#
# Environment:
#   CRITEST_OUT       result directory (default target/critest)
#   CRITEST_HANDLERS  handlers to run, in order (default "runc husk")
#   CRITEST_FOCUS     extra -ginkgo.focus regex (default: all)
#   BUSYBOX           busybox for the images (default /bin/busybox, from
#                     busybox-static; a dynamic one is copied with its libraries)
#   KEEP_TMP=1        keep the temp dir (containerd.log, configs)
#
# Needs root, containerd 1.6+, ctr, containerd-shim-runc-v2, gcc with a
# static libc, busybox-static, ipcmk (util-linux), python3, /usr/lib/cni/loopback.
set -u

PROG=${0##*/}
if [ $# -lt 2 ]; then
  echo "usage: $PROG CRITEST HUSK [RUNC]" >&2
  exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
CRITEST=$1
HUSK=$(realpath -- "$2")
RUNC=${3:-/usr/sbin/runc}
OUT=$(realpath -m -- "${CRITEST_OUT:-target/critest}")
HANDLERS=${CRITEST_HANDLERS:-runc husk}
BB=${BUSYBOX:-/bin/busybox}

if [ ! -x "$CRITEST" ]; then
  echo "$PROG: critest not found at '$CRITEST'; build it from kubernetes-sigs/cri-tools (docs/CRITEST.md)" >&2
  exit 3
fi
# Upstream critest asks for the pod cgroup parent /test.slice when the runtime
# does not implement RuntimeConfig (containerd 1.6); containerd turns a parent
# ending in ".slice" into "test.slice:cri-containerd:ID", which both runtimes
# take as a path relative to their own cgroup (the shim's).  Refuse such a
# build unless told otherwise: see docs/CRITEST.md.
if grep -qa '/test.slice' "$CRITEST" && [ "${CRITEST_ALLOW_RELATIVE:-0}" != 1 ]; then
  echo "$PROG: $CRITEST uses the pod cgroup parent /test.slice, which puts the pods' cgroups below" >&2
  echo "$PROG: containerd's own cgroup; build it as docs/CRITEST.md says or set CRITEST_ALLOW_RELATIVE=1" >&2
  exit 3
fi
for f in "$HUSK" "$RUNC" "$BB" /usr/lib/cni/loopback; do
  [ -x "$f" ] || { echo "$PROG: $f is missing or not executable" >&2; exit 3; }
done
for tool in containerd ctr containerd-shim-runc-v2 gcc ipcmk ipcs python3 tar gzip sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$PROG: $tool not found in PATH" >&2; exit 3; }
done

# The pods' cgroups: critest asks for /test.slice as the pod cgroup parent
# when the runtime does not report a cgroup driver (containerd 1.6 does not);
# docs/CRITEST.md builds critest with /critest in place of upstream's /test.slice,
# which containerd would turn into a relative path ("test.slice:cri-containerd:ID").
CG_PARENT=/critest
SHM_BEFORE=$(ipcs -m | awk '$2 ~ /^[0-9]+$/ {print $2}' | sort)
RUN_DIR_CREATED=""; [ -d /run/containerd ] || RUN_DIR_CREATED=1
S_DIR_CREATED=""; [ -d /run/containerd/s ] || S_DIR_CREATED=1
CPID=""
D=$(mktemp -d /tmp/critest.XXXXXX) || exit 1
SOCK=$D/containerd.sock

remove_cgroup_tree() { # remove $CG_PARENT in every hierarchy, killing what is left (by pid)
  local dir sub p _
  for dir in /sys/fs/cgroup/*"$CG_PARENT" /sys/fs/cgroup"$CG_PARENT"; do
    [ -d "$dir" ] || continue
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      find "$dir" -depth -type d 2>/dev/null | while read -r sub; do
        [ -f "$sub/freezer.state" ] && echo THAWED > "$sub/freezer.state" 2>/dev/null
        for p in $(cat "$sub/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        rmdir "$sub" 2>/dev/null
      done
      [ -d "$dir" ] || break
      sleep 0.2
    done
  done
}

cleanup() {
  trap - EXIT INT TERM HUP
  local id p
  if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
    # every pod sandbox and container still known to the CRI plugin
    for id in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 20 ctr -a "$SOCK" -n k8s.io tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1
    done
    sleep 0.5
    for id in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 20 ctr -a "$SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1
    done
    kill -TERM "$CPID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CPID" 2>/dev/null
    wait "$CPID" 2>/dev/null
  fi
  # shims and containers of this run: their command lines name the temp dir
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$$" ] && continue
    if { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$D/"; then kill -9 "$p" 2>/dev/null; fi
  done
  # mounts below the temp dir (snapshots, sandbox shm, netns), deepest first
  awk -v d="$D/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
  remove_cgroup_tree
  # SysV shm segments the HostIpc tests made on the host (ipcmk -M 1048576)
  for id in $(ipcs -m | awk '$2 ~ /^[0-9]+$/ && $5 == 1048576 {print $2}' | sort); do
    printf '%s\n' "$SHM_BEFORE" | grep -qx "$id" || ipcrm -m "$id" 2>/dev/null
  done
  [ -n "$S_DIR_CREATED" ] && rmdir /run/containerd/s 2>/dev/null
  [ -n "$RUN_DIR_CREATED" ] && rmdir /run/containerd 2>/dev/null
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $D" >&2; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir -p "$D/root" "$D/state" "$D/tmp" "$D/runtime-root" "$D/cni/bin" "$D/cni/conf" "$D/img" "$OUT"

# ---------------------------------------------------------------- stand-ins
for p in pause nginx nonewprivs; do
  gcc -static -O2 -Wall -o "$D/img/$p" "$HERE/critest/$p.c" || exit 1
done

# ---------------------------------------------------------------- images
sha() { sha256sum "$1" | cut -d' ' -f1; }
# base_rootfs DIR: busybox-static with every applet, plus pgrep/ipcs stand-ins
base_rootfs() {
  local r=$1 a
  mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/usr/local/bin" "$r/etc" "$r/tmp" "$r/var/tmp" "$r/var/run" "$r/root" \
    "$r/home" "$r/proc" "$r/sys" "$r/dev" "$r/run"
  cp "$BB" "$r/bin/busybox"
  # hard links, not symlinks: a masked path (/dev/null bound over /bin/ls) must
  # not mask the busybox binary itself
  for a in $("$BB" --list); do [ "$a" = busybox ] || ln "$r/bin/busybox" "$r/bin/$a"; done
  # a dynamically linked busybox (Debian's "busybox" package, whose shell runs
  # commands through PATH, as the real busybox images do) brings its libraries
  local lib
  for lib in $(ldd "$BB" 2>/dev/null | grep -o '/[^ ]*'); do cp -L --parents "$lib" "$r"; done
  install -m 0755 "$HERE/critest/pgrep" "$r/bin/pgrep"
  install -m 0755 "$HERE/critest/ipcs" "$r/bin/ipcs"
  printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nwww-data:x:33:\nnobody:x:65534:\n' > "$r/etc/group"
  chmod 1777 "$r/tmp" "$r/var/tmp"
}
# oci_image DIR REPO TAG CONFIG_JSON_FRAGMENT: OCI archive of DIR imported as REPO:TAG
oci_image() {
  local r=$1 repo=$2 tag=$3 cfgfrag=$4 o w diffid lgz lsz cfg csz man msz
  o=$D/img/oci.$$; w=$D/img/work.$$
  rm -rf "$o" "$w"; mkdir -p "$o/blobs/sha256" "$w"
  tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$w/layer.tar" . || return 1
  diffid=$(sha "$w/layer.tar")
  gzip -n -c "$w/layer.tar" > "$w/layer.tar.gz"
  lgz=$(sha "$w/layer.tar.gz"); lsz=$(stat -c %s "$w/layer.tar.gz")
  mv "$w/layer.tar.gz" "$o/blobs/sha256/$lgz"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cfgfrag" "$diffid" > "$w/config.json"
  cfg=$(sha "$w/config.json"); csz=$(stat -c %s "$w/config.json")
  mv "$w/config.json" "$o/blobs/sha256/$cfg"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$cfg" "$csz" "$lgz" "$lsz" > "$w/manifest.json"
  man=$(sha "$w/manifest.json"); msz=$(stat -c %s "$w/manifest.json")
  mv "$w/manifest.json" "$o/blobs/sha256/$man"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man" "$msz" "$tag" > "$o/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$o/oci-layout"
  tar -C "$o" -cf "$w/image.tar" oci-layout index.json blobs || return 1
  ctr -a "$SOCK" -n k8s.io images import --base-name "$repo" "$w/image.tar" >/dev/null || return 1
  rm -rf "$o" "$w"
}

build_images() {
  local r=$D/img/rootfs
  E2E=registry.k8s.io/e2e-test-images
  STAGING=gcr.io/k8s-staging-cri-tools
  # busybox:1.29-2: the default test image
  rm -rf "$r"; base_rootfs "$r"
  oci_image "$r" $E2E/busybox 1.29-2 ',"Cmd":["sh"]' || return 1
  # the sandbox (pause) image, containerd's sandbox_image
  rm -rf "$r"; base_rootfs "$r"; install -m 0755 "$D/img/pause" "$r/pause"
  oci_image "$r" localhost/critest/pause 1 ',"Entrypoint":["/pause"]' || return 1
  # nginx:1.14-2 (port 80) and hostnet-nginx-amd64 (port 12003)
  local port name tag
  for port in 80 12003; do
    rm -rf "$r"; base_rootfs "$r"
    install -m 0755 "$D/img/nginx" "$r/usr/sbin/nginx"
    mkdir -p "$r/etc/nginx" "$r/usr/share/nginx/html"
    echo "$port" > "$r/etc/nginx/port"
    echo '<html><body>Welcome to nginx!</body></html>' > "$r/usr/share/nginx/html/index.html"
    if [ "$port" = 80 ]; then name=$E2E/nginx; tag=1.14-2; else name=$STAGING/hostnet-nginx-amd64; tag=latest; fi
    oci_image "$r" "$name" "$tag" ',"Cmd":["nginx","-g","daemon off;"],"ExposedPorts":{"'"$port"'/tcp":{}}' || return 1
  done
  # httpd:2.4.39-4: busybox httpd in the foreground on :80, logging the
  # "Command line: 'httpd -D FOREGROUND'" notice Apache's image starts with
  rm -rf "$r"; base_rootfs "$r"
  mkdir -p "$r/usr/local/apache2/htdocs"
  echo '<html><body><h1>It works!</h1></body></html>' > "$r/usr/local/apache2/htdocs/index.html"
  printf '%s\n' '#!/bin/sh' \
    "echo \"[core:notice] [pid \$\$] AH00094: Command line: 'httpd -D FOREGROUND'\" >&2" \
    'exec httpd -f -p 80 -h /usr/local/apache2/htdocs' > "$r/usr/local/bin/httpd-foreground"
  chmod 0755 "$r/usr/local/bin/httpd-foreground"
  oci_image "$r" $E2E/httpd 2.4.39-4 ',"Cmd":["httpd-foreground"]' || return 1
  # nonewprivs:1.3: a setuid-root program printing its effective uid
  rm -rf "$r"; base_rootfs "$r"
  install -m 4755 "$D/img/nonewprivs" "$r/usr/local/bin/nnp"
  oci_image "$r" $E2E/nonewprivs 1.3 ',"Cmd":["/usr/local/bin/nnp"]' || return 1
  # test-image-predefined-group: user 1000 in group 50000 (in /etc/group), USER 1000
  rm -rf "$r"; base_rootfs "$r"
  echo 'default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh' >> "$r/etc/passwd"
  printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >> "$r/etc/group"
  mkdir -p "$r/home/default-user"
  oci_image "$r" $STAGING/test-image-predefined-group latest ',"User":"1000","Cmd":["sh"]' || return 1
  rm -rf "$r"
}

# ---------------------------------------------------------------- containerd
install -m 0755 "$HERE/critest/cni-lo" "$D/cni/bin/critest-lo"
ln -s /usr/lib/cni/loopback "$D/cni/bin/loopback"
cat > "$D/cni/conf/10-critest-lo.conflist" <<EOF
{"cniVersion":"0.4.0","name":"critest-lo","plugins":[{"type":"critest-lo"}]}
EOF
cat > "$D/config.toml" <<EOF
version = 2
root = "$D/root"
state = "$D/state"
temp = "$D/tmp"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  level = "info"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$D/opt"
  [plugins."io.containerd.monitor.v1.cgroups"]
    no_prometheus = true
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "localhost/critest/pause:1"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    # root here lacks CAP_SYS_RESOURCE: the sandbox's oom_score_adj -998 cannot be set
    restrict_oom_score_adj = true
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$D/cni/bin"
      conf_dir = "$D/cni/conf"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      snapshotter = "overlayfs"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "$RUNC"
          Root = "$D/runtime-root/runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk.options]
          BinaryName = "$HUSK"
          Root = "$D/runtime-root/husk"
EOF
containerd --config "$D/config.toml" > "$D/containerd.log" 2>&1 < /dev/null &
CPID=$!
up=""
for _ in $(seq 1 150); do
  if ctr -a "$SOCK" version > /dev/null 2>&1; then up=1; break; fi
  kill -0 "$CPID" 2>/dev/null || break
  sleep 0.2
done
[ -n "$up" ] || { echo "$PROG: containerd did not come up:" >&2; tail -n 5 "$D/containerd.log" >&2; exit 1; }
build_images || { echo "$PROG: building/importing the test images failed" >&2; exit 1; }

# ---------------------------------------------------------------- critest
# Skipped for every handler: what this machine cannot give (docs/CRITEST.md).
SKIP='Image Manager'                                   # PullImage from a registry
SKIP+='|port mapping with only container port'         # pod IP reachable from the host (bridge)
SKIP+='|port mapping with host port and container port' # CNI portmap + routable pod IP
SKIP+='|when running multiple containers in a pod should support network' # pod IP from the host
SKIP+='|runtime should support portforward \[Conformance\]' # fetches http://<podIP>:80 first
rc=0
for h in $HANDLERS; do
  echo "== critest with runtime handler $h" >&2
  (cd "$D/tmp" && "$CRITEST" -runtime-endpoint "unix://$SOCK" -image-endpoint "unix://$SOCK" \
     -runtime-handler "$h" -ginkgo.skip "$SKIP" ${CRITEST_FOCUS:+-ginkgo.focus "$CRITEST_FOCUS"} \
     -ginkgo.v -ginkgo.no-color -ginkgo.junit-report "$OUT/$h.xml") > "$OUT/$h.log" 2>&1 || rc=1
  tail -n 3 "$OUT/$h.log" >&2
done
cp "$D/containerd.log" "$OUT/containerd.log"

# ---------------------------------------------------------------- compare
python3 - "$OUT" $HANDLERS <<'EOF'
import sys, xml.etree.ElementTree as ET
out, handlers = sys.argv[1], sys.argv[2:]
res = {}
for h in handlers:
    try:
        root = ET.parse(f"{out}/{h}.xml").getroot()
    except (OSError, ET.ParseError) as e:
        print(f"no JUnit report for {h}: {e}", file=sys.stderr)
        continue
    for tc in root.iter("testcase"):
        name = tc.get("name", "")
        if name.startswith("[BeforeSuite]") or name.startswith("[AfterSuite]") or name.startswith("[SynchronizedBeforeSuite]"):
            continue
        st = tc.get("status") or ("failed" if tc.find("failure") is not None or tc.find("error") is not None
                                  else "skipped" if tc.find("skipped") is not None else "passed")
        res.setdefault(name, {})[h] = st
with open(f"{out}/results.tsv", "w") as f:
    f.write("test\t" + "\t".join(handlers) + "\n")
    for name in sorted(res):
        f.write(name + "\t" + "\t".join(res[name].get(h, "-") for h in handlers) + "\n")
for h in handlers:
    c = {}
    for r in res.values():
        c[r.get(h, "-")] = c.get(r.get(h, "-"), 0) + 1
    print(f"{h}: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items())) + f" of {len(res)}")
if len(handlers) > 1:
    base = handlers[0]
    for name in sorted(res):
        r = res[name]
        if r.get(base) == "passed" and any(r.get(h) != "passed" for h in handlers[1:]):
            print("DIFF: " + name + " (" + ", ".join(f"{h} {r.get(h, '-')}" for h in handlers) + ")")
EOF
exit $rc
