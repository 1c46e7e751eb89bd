//! Checks on a parsed config that the typed parser cannot make: versions,
//! paths, names and combinations. Every problem is reported with its JSON path.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// One thing wrong with a config, at a JSON path such as `process.args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in config.json, e.g. `linux.namespaces[2].type`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Every problem found in `spec`, whose relative paths are resolved against `bundle`.
pub fn validate(spec: &Spec, bundle: &Path) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    check_version(spec.version(), &mut p);
    check_root(spec, bundle, &mut p);
    check_process(spec, &mut p);
    check_mounts(spec, &mut p);
    check_linux(spec, &mut p);
    p.0
}

fn check_version(version: &str, p: &mut Problems) {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next().and_then(|m| m.parse::<u32>().ok());
    let minor = parts.next().and_then(|m| m.parse::<u32>().ok());
    match (major, minor) {
        (Some(1), Some(_)) => {}
        (Some(_), Some(_)) => p.add(
            "ociVersion",
            format!("unsupported version {version:?}: husk implements 1.x"),
        ),
        _ => p.add(
            "ociVersion",
            format!("{version:?} is not a semantic version"),
        ),
    }
}

fn check_root(spec: &Spec, bundle: &Path, p: &mut Problems) {
    let Some(root) = spec.root() else {
        p.add("root", "is required on Linux");
        return;
    };
    let path = root.path();
    if path.as_os_str().is_empty() {
        p.add("root.path", "is empty");
        return;
    }
    let full = if path.is_absolute() {
        path.clone()
    } else {
        bundle.join(path)
    };
    match std::fs::metadata(&full) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => p.add(
            "root.path",
            format!("{} is not a directory", full.display()),
        ),
        Err(e) => p.add("root.path", format!("{}: {e}", full.display())),
    }
}

fn check_process(spec: &Spec, p: &mut Problems) {
    let Some(process) = spec.process() else {
        return; // allowed at create; `start` refuses it (runtime.md "start")
    };
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => p.add("process.args", "must name the program to run"),
    }
    if !process.cwd().is_absolute() {
        p.add(
            "process.cwd",
            format!("{} must be an absolute path", process.cwd().display()),
        );
    }
    for (i, var) in process.env().iter().flatten().enumerate() {
        if !var.contains('=') || var.starts_with('=') {
            p.add(
                format!("process.env[{i}]"),
                format!("{var:?} is not KEY=VALUE"),
            );
        }
    }
    if let Some(rlimits) = process.rlimits() {
        let mut seen = HashSet::new();
        for (i, r) in rlimits.iter().enumerate() {
            if r.soft() > r.hard() {
                p.add(
                    format!("process.rlimits[{i}]"),
                    format!("soft limit {} is above hard limit {}", r.soft(), r.hard()),
                );
            }
            if !seen.insert(format!("{:?}", r.typ())) {
                p.add(format!("process.rlimits[{i}].type"), "is listed twice");
            }
        }
    }
    if let Some(caps) = process.capabilities() {
        // Unknown names are rejected by the typed parser already; nothing else to check here.
        let _ = caps;
    }
}

fn check_mounts(spec: &Spec, p: &mut Problems) {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            p.add(format!("mounts[{i}].destination"), "is empty");
        }
        if m.destination().components().any(|c| c.as_os_str() == "..") {
            p.add(
                format!("mounts[{i}].destination"),
                format!("{} must not contain \"..\"", m.destination().display()),
            );
        }
    }
}

fn check_linux(spec: &Spec, p: &mut Problems) {
    let Some(linux) = spec.linux() else {
        p.add("linux", "is required on Linux");
        return;
    };
    let mut seen = HashSet::new();
    let has = |t: LinuxNamespaceType| linux.namespaces().iter().flatten().any(|n| n.typ() == t);
    let has_uts = has(LinuxNamespaceType::Uts);
    let has_mount = has(LinuxNamespaceType::Mount);
    let has_user = has(LinuxNamespaceType::User);
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            p.add(
                format!("linux.namespaces[{i}].type"),
                format!("{:?} namespace is listed twice", ns.typ()),
            );
        }
        if let Some(path) = ns.path() {
            if !path.is_absolute() {
                p.add(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} must be absolute", path.display()),
                );
            } else if let Err(e) = std::fs::metadata(path) {
                p.add(
                    format!("linux.namespaces[{i}].path"),
                    format!("{}: {e}", path.display()),
                );
            }
        }
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has_uts {
        p.add("hostname", "needs a new UTS namespace (linux.namespaces)");
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has_uts {
        p.add("domainname", "needs a new UTS namespace (linux.namespaces)");
    }
    if !has_mount {
        // These would change the host's own mounts.
        if linux.masked_paths().as_ref().is_some_and(|m| !m.is_empty()) {
            p.add(
                "linux.maskedPaths",
                "needs a mount namespace (linux.namespaces)",
            );
        }
        if linux
            .readonly_paths()
            .as_ref()
            .is_some_and(|m| !m.is_empty())
        {
            p.add(
                "linux.readonlyPaths",
                "needs a mount namespace (linux.namespaces)",
            );
        }
        if spec
            .root()
            .as_ref()
            .is_some_and(|r| r.readonly() == Some(true))
        {
            p.add(
                "root.readonly",
                "needs a mount namespace (linux.namespaces)",
            );
        }
        if linux.rootfs_propagation().is_some() {
            p.add(
                "linux.rootfsPropagation",
                "needs a mount namespace (linux.namespaces)",
            );
        }
    }
    check_lsm(spec, p);
    if has_user {
        if linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
            p.add(
                "linux.uidMappings",
                "a new user namespace needs uid mappings",
            );
        }
        if linux.gid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
            p.add(
                "linux.gidMappings",
                "a new user namespace needs gid mappings",
            );
        }
    }
    if let Some(cg) = linux.cgroups_path() {
        if cg.components().any(|c| c.as_os_str() == "..") {
            p.add(
                "linux.cgroupsPath",
                format!("{} must not contain \"..\"", cg.display()),
            );
        }
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() {
            p.add(format!("linux.devices[{i}].path"), "must be absolute");
        }
    }
    if let Some(sysctl) = linux.sysctl() {
        for key in sysctl.keys() {
            if key.contains('/') && key.contains("..") {
                p.add(format!("linux.sysctl.{key}"), "is not a sysctl name");
            }
        }
    }
}

/// AppArmor and SELinux settings are applied only where the LSM is enabled;
/// elsewhere they are errors, never silently dropped.
fn check_lsm(spec: &Spec, p: &mut Problems) {
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim() == "Y");
    let selinux = Path::new("/sys/fs/selinux/enforce").exists();
    if let Some(process) = spec.process() {
        if process
            .apparmor_profile()
            .as_deref()
            .is_some_and(|a| !a.is_empty())
        {
            p.add(
                "process.apparmorProfile",
                if apparmor {
                    "AppArmor profiles are not supported by husk yet"
                } else {
                    "AppArmor is not enabled on this host"
                },
            );
        }
        if process
            .selinux_label()
            .as_deref()
            .is_some_and(|a| !a.is_empty())
        {
            p.add(
                "process.selinuxLabel",
                if selinux {
                    "SELinux labels are not supported by husk yet"
                } else {
                    "SELinux is not enabled on this host"
                },
            );
        }
    }
    if let Some(label) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref())
    {
        if !label.is_empty() {
            p.add(
                "linux.mountLabel",
                if selinux {
                    "SELinux labels are not supported by husk yet"
                } else {
                    "SELinux is not enabled on this host"
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "/"},
            "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}]},
            "hostname": "h"
        })
    }

    fn problems(v: serde_json::Value) -> Vec<String> {
        let spec: Spec = serde_json::from_value(v).unwrap();
        validate(&spec, Path::new("/"))
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn valid_config_has_no_problems() {
        assert!(problems(base()).is_empty());
    }

    #[test]
    fn each_problem_names_its_field() {
        let mut v = base();
        v["ociVersion"] = "2.0.0".into();
        v["process"]["cwd"] = "rel".into();
        v["process"]["args"] = serde_json::json!([]);
        v["process"]["env"] = serde_json::json!(["NOEQUALS"]);
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "mount"}]);
        v["root"]["path"] = "/no/such/rootfs".into();
        let got = problems(v);
        for want in [
            "ociVersion",
            "process.cwd",
            "process.args",
            "process.env[0]",
            "linux.namespaces[1].type",
            "root.path",
            "hostname",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
    }

    #[test]
    fn versions() {
        let mut p = Problems(Vec::new());
        for ok in ["1.0.0", "1.0.2-dev", "1.2.0", "1.3.0"] {
            check_version(ok, &mut p);
        }
        assert!(p.0.is_empty());
        check_version("0.9", &mut p);
        check_version("abc", &mut p);
        assert_eq!(p.0.len(), 2);
    }
}
