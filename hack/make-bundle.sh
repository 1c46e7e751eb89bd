#!/usr/bin/env bash
# make-bundle.sh DIR [ARGS...]: a bundle in DIR with a busybox-static rootfs and
# a config.json from `husk spec`, terminal off, running ARGS (default: sh).
# CGROUPS_PATH=/abs/path sets linux.cgroupsPath (default: none, i.e. the
# runtime's default, relative to its own cgroup).
set -euo pipefail
dir=$1; shift
husk=${HUSK:-target/release/husk}
"$(dirname "$0")/busybox-rootfs.sh" "$dir/rootfs"
"$husk" spec --bundle "$dir"
args_json=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:] or ["sh"]))' "$@")
python3 - "$dir/config.json" "$args_json" <<'PY'
import json, os, sys
path, args = sys.argv[1], json.loads(sys.argv[2])
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = args
if os.environ.get("CGROUPS_PATH"):
    c["linux"]["cgroupsPath"] = os.environ["CGROUPS_PATH"]
json.dump(c, open(path, "w"), indent=2)
PY
