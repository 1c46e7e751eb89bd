#!/usr/bin/env bash
# stages.sh HUSK [N]: where the time of a container lifecycle goes, from
# husk's own `--debug` stage timings (each library span logs its duration
# when it ends). Runs N (default 30) create/start/wait/delete cycles of
# /bin/true with the bench's kind of bundle (busybox-static, read-only root,
# absolute cgroupsPath) and prints the median time of each stage, plus the
# whole of each command as seen from outside (process start and exit
# included). Bundle, state root and cgroup are temporary and removed.
set -euo pipefail
husk=$(realpath "$1"); n=${2:-30}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/husk-stages.XXXXXX)
cg=husk-stages-$$
cleanup() {
  "$husk" --root "$tmp/root" delete -f st >/dev/null 2>&1 || true
  for d in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do
    if [ -d "$d" ]; then rmdir "$d" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
CGROUPS_PATH=/$cg HUSK=$husk ./hack/make-bundle.sh "$tmp/bundle" /bin/true >/dev/null
python3 - "$husk" "$tmp" "$n" <<'PY'
import json, re, statistics, subprocess, sys, time
husk, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cfg = f"{tmp}/bundle/config.json"
c = json.load(open(cfg)); c["root"]["readonly"] = True; json.dump(c, open(cfg, "w"))
log = f"{tmp}/debug.log"
base = [husk, "--root", f"{tmp}/root", "--debug", "--log", log]
stages, whole = {}, {}
unit = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
def run(name, *args):
    t = time.perf_counter()
    subprocess.run(base + list(args), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    whole.setdefault(name, []).append((time.perf_counter() - t) * 1e3)
def version():
    t = time.perf_counter()
    subprocess.run([husk, "--version"], check=True, stdout=subprocess.DEVNULL)
    whole.setdefault("husk --version (process start and exit only)", []).append((time.perf_counter() - t) * 1e3)
for i in range(n):
    open(log, "w").close()
    run("create", "create", "--bundle", f"{tmp}/bundle", "st")
    run("start", "start", "st")
    t = time.perf_counter()
    while json.loads(subprocess.run([husk, "--root", f"{tmp}/root", "state", "st"],
                     capture_output=True, check=True).stdout)["status"] != "stopped":
        time.sleep(0.001)
    run("delete", "delete", "st")
    version()
    for line in open(log):
        m = re.search(r'msg="([^"]+): done, time.busy=([\d.]+)(\w+) time.idle=([\d.]+)(\w+)', line)
        if m:
            ms = float(m[2]) * unit[m[3]] + float(m[4]) * unit[m[5]]
            stages.setdefault(m[1], []).append(ms)
print(f"median of {n} cycles, ms (husk {husk})")
print("whole commands, timed from outside:")
for k, v in whole.items():
    print(f"  {statistics.median(v):7.2f}  {k}")
print("stages, from husk --debug (busy + idle of each span):")
for k, v in stages.items():
    print(f"  {statistics.median(v):7.2f}  {k}")
PY
