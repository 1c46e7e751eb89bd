//! `husk spec`: the same starting config.json as `runc spec`.

use std::path::Path;

use serde_json::{json, Value};

use super::CmdResult;
use crate::cli::SpecArgs;

pub fn run(a: &SpecArgs) -> CmdResult {
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(format!("File {} exists. Remove it first", path.display()).into());
    }
    if !a.bundle.is_dir() {
        return Err(format!("bundle {}: not a directory", a.bundle.display()).into());
    }
    let config = if a.rootless {
        rootless(default_config())
    } else {
        default_config()
    };
    write(&path, &config)?;
    Ok(0)
}

fn write(path: &Path, config: &Value) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::write(path, serde_json::to_string_pretty(config)? + "\n")
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(())
}

fn default_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": libcontainer::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "husk",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// runc's rootless changes: a user namespace mapping the caller, no network
/// namespace, /sys bound from the host, no device cgroup rules.
fn rootless(mut c: Value) -> Value {
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let linux = &mut c["linux"];
    linux["resources"] = json!({});
    linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    let ns = linux["namespaces"]
        .as_array_mut()
        .expect("namespaces is an array");
    ns.retain(|n| n["type"] != "network");
    ns.push(json!({"type": "user"}));
    let mounts = c["mounts"].as_array_mut().expect("mounts is an array");
    mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
    for m in mounts.iter_mut() {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
        if let Some(opts) = m["options"].as_array_mut() {
            opts.retain(|o| o != "gid=5");
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses_as_a_spec() {
        let spec: oci_spec::runtime::Spec = serde_json::from_value(default_config()).unwrap();
        assert_eq!(spec.hostname().as_deref(), Some("husk"));
        let rl: oci_spec::runtime::Spec =
            serde_json::from_value(rootless(default_config())).unwrap();
        let ns = rl.linux().as_ref().unwrap().namespaces().as_ref().unwrap();
        assert!(ns
            .iter()
            .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::User));
        assert!(!ns
            .iter()
            .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network));
    }
}
