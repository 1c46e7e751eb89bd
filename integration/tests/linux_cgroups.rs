//! config-linux.md "Control groups" (`cgroupsPath`) and a few resources.
//! Works on cgroup v1 (incl. hybrid) and v2 hosts.

use integration::*;
use serde_json::json;
use std::path::PathBuf;

fn cgroup_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Host directory of `path` (an absolute cgroupsPath) for `controller`.
fn cgroup_dir(controller: &str, path: &str) -> PathBuf {
    let rel = path.trim_start_matches('/');
    if cgroup_v2() {
        PathBuf::from("/sys/fs/cgroup").join(rel)
    } else {
        PathBuf::from("/sys/fs/cgroup").join(controller).join(rel)
    }
}

/// A `sleep 30` container with an absolute cgroupsPath naming its id.
fn with_cgroups_path(sb: &Sandbox, resources: serde_json::Value) -> (String, String, i32) {
    let mut b = sb.bundle(&["sleep", "30"]);
    let id = sb.new_id();
    let path = format!("/{id}-cg");
    b.linux()["cgroupsPath"] = json!(path);
    b.linux()["resources"] = resources;
    sb.create(&id, &b).ok();
    let pid = sb.pid_of(&id);
    (id, path, pid)
}

/// config-linux.md "Control groups": an absolute cgroupsPath MUST be taken
/// relative to the cgroups mount point; the container process is placed
/// there and the cgroup is removed on delete.
#[test]
fn cgroups_path_absolute() {
    let sb = Sandbox::new();
    let (id, path, pid) = with_cgroups_path(
        &sb,
        json!({ "devices": [{ "allow": false, "access": "rwm" }] }),
    );
    let dir = cgroup_dir("pids", &path);
    let procs = read(dir.join("cgroup.procs"));
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "pid {pid} not in {}: {procs:?}",
        dir.display()
    );
    let own = read(format!("/proc/{pid}/cgroup"));
    assert!(
        own.lines().any(|l| l.ends_with(&format!(":{path}"))),
        "{own}"
    );
    sb.delete_force(&id).ok();
    assert!(!dir.exists(), "{} survived delete", dir.display());
}

/// config-linux.md "PIDs": `limit` is written to pids.max.
#[test]
fn pids_limit() {
    let sb = Sandbox::new();
    let (_, path, _) = with_cgroups_path(&sb, json!({ "pids": { "limit": 42 } }));
    assert_eq!(
        read(cgroup_dir("pids", &path).join("pids.max")).trim(),
        "42"
    );
}

/// config-linux.md "Memory": `limit` is applied to the memory cgroup.
#[test]
fn memory_limit() {
    let sb = Sandbox::new();
    let (_, path, _) = with_cgroups_path(&sb, json!({ "memory": { "limit": 67108864 } }));
    let dir = cgroup_dir("memory", &path);
    let file = if cgroup_v2() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    };
    assert_eq!(read(dir.join(file)).trim(), "67108864");
}

/// config-linux.md "Allowed Device Cgroup": with the default deny-all rule
/// only the default devices are usable; a device node the config did not
/// allow cannot be opened even by root with CAP_MKNOD.
#[test]
fn device_cgroup_denies_unlisted_devices() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let caps = ["CAP_MKNOD", "CAP_DAC_OVERRIDE"];
    b.process()["capabilities"] = json!({ "bounding": caps, "effective": caps, "permitted": caps });
    b.mkdir("/scratch");
    b.add_mount(json!({ "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["dev"] }));
    let out = sb.sh(
        &mut b,
        "mknod /scratch/mem c 1 1 2>&1; head -c 1 /scratch/mem 2>&1 >/dev/null; true",
    );
    assert!(
        out.contains("Operation not permitted") || out.contains("Permission denied"),
        "{out}"
    );
}

/// A container that makes a /dev/kmsg node (c 1:11, not a default device) in
/// a tmpfs and reports whether it can open it for writing (an O_WRONLY open
/// of /dev/kmsg needs no other privilege and writes nothing), under the
/// given `linux.resources.devices`.
fn kmsg_open_for_write(devices: serde_json::Value) -> String {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let caps = ["CAP_MKNOD", "CAP_DAC_OVERRIDE"];
    b.process()["capabilities"] = json!({ "bounding": caps, "effective": caps, "permitted": caps });
    b.mkdir("/scratch");
    b.add_mount(json!({ "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["dev"] }));
    b.linux()["resources"] = json!({ "devices": devices });
    let out = sb.sh(
        &mut b,
        "mknod /scratch/kmsg c 1 11 && [ -c /scratch/kmsg ] || echo mknod-failed; \
         if true 2>&1 > /scratch/kmsg; then echo open-ok; else echo open-denied; fi",
    );
    assert!(!out.contains("mknod-failed"), "{out}");
    out
}

/// config-linux.md "Allowed Device Cgroup" (issue 4: enforced on v1 by the
/// devices controller, on v2 by the eBPF program): an allow rule for a device
/// permits opening it with the access it grants.
#[test]
fn device_allow_rule_permits_open() {
    let out = kmsg_open_for_write(json!([
        { "allow": false, "access": "rwm" },
        { "allow": true, "type": "c", "major": 1, "minor": 11, "access": "w" }
    ]));
    assert!(out.contains("open-ok"), "{out}");
}

/// config-linux.md "Allowed Device Cgroup": access the rules do not grant is
/// denied (read-only rule, write open), as is a device that no rule lists.
#[test]
fn device_rules_deny_ungranted_access() {
    let out = kmsg_open_for_write(json!([
        { "allow": false, "access": "rwm" },
        { "allow": true, "type": "c", "major": 1, "minor": -1, "access": "r" }
    ]));
    assert!(out.contains("open-denied"), "{out}");
    let out = kmsg_open_for_write(json!([{ "allow": false, "access": "rwm" }]));
    assert!(out.contains("open-denied"), "{out}");
}

/// config-linux.md "Allowed Device Cgroup": after an allow-all rule, a deny
/// rule for one device makes opening it fail, while the rest stays usable.
/// (Not `m`: the runtime's default rules allow mknod of every device.)
#[test]
fn device_deny_rule_after_allow_all() {
    let out = kmsg_open_for_write(json!([
        { "allow": true, "access": "rwm" },
        { "allow": false, "type": "c", "major": 1, "minor": 11, "access": "rw" }
    ]));
    assert!(out.contains("open-denied"), "{out}");
    let out = kmsg_open_for_write(json!([
        { "allow": true, "access": "rwm" },
        { "allow": false, "type": "c", "major": 1, "minor": 12, "access": "rw" }
    ]));
    assert!(out.contains("open-ok"), "{out}");
}

/// config-linux.md "Cgroup Ownership" (issue 4; runc 1.2 does the same): on
/// cgroup v2, with a new user and cgroup namespace and a read-write cgroup
/// mount, the container's root owns its cgroup and can make sub-cgroups;
/// with a read-only mount the cgroup stays the host's (unmapped: nobody).
#[test]
fn cgroup_v2_is_delegated_to_the_container_root() {
    if !cgroup_v2() {
        eprintln!("skipping: cgroup ownership is a cgroup v2 feature (make test-cgroup2 runs it)");
        return;
    }
    if skip_on_runc("runc 1.1.5 predates cgroup ownership (runc 1.2)") {
        return;
    }
    let sb = Sandbox::new();
    let owner_inside = |options: serde_json::Value| {
        let mut b = sb.bundle(&[]);
        b.set_namespace("user", None);
        b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
        b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
        for m in b.config["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/sys/fs/cgroup" {
                m["options"] = options.clone();
            }
        }
        sb.sh(
            &mut b,
            "stat -c %u /sys/fs/cgroup; mkdir /sys/fs/cgroup/sub 2>/dev/null && echo made; rmdir /sys/fs/cgroup/sub 2>/dev/null; true",
        )
    };
    let out = owner_inside(json!(["nosuid", "noexec", "nodev"]));
    assert_eq!(out.lines().collect::<Vec<_>>(), ["0", "made"], "{out}");
    let out = owner_inside(json!(["nosuid", "noexec", "nodev", "ro"]));
    assert_eq!(out.lines().next(), Some("65534"), "{out}");
    assert!(!out.contains("made"), "{out}");
}
