//! Control groups: one `Manager` trait, one implementation per driver.
//!
//! This module owns everything under /sys/fs/cgroup that belongs to a container:
//! it creates the container's cgroup, moves the init into it, writes
//! `linux.resources`, lists its processes, freezes it and removes it on delete.
//! It never touches a cgroup it did not create (beyond creating missing parents,
//! seeding empty cpusets and enabling controllers in parents, as runc does), and
//! never changes the host's cgroup mounts.
//!
//! Layout:
//! - `paths`: reading mountinfo and /proc/self/cgroup, and turning
//!   `linux.cgroupsPath` into one directory per hierarchy (runc's cgroupfs rules).
//! - `fs`: the few file operations every driver needs, with errors naming the file.
//! - `devices`: device rules in the kernel's v1 text form, and replayed as v1 would.
//! - `bpf`: the v2 device filter, an eBPF program assembled from those rules.
//! - `v1`: cgroup v1 and hybrid hosts (v1 controllers plus a cgroup2 mount).
//! - `v2`: pure cgroup v2 hosts.
//! - `systemd`: the systemd driver (`--systemd-cgroup`): a transient scope
//!   unit per container, over D-Bus (`dbus`: a small synchronous client).
//! - `stats`: reading usage for `events` (runc's JSON shape) and OOM notification.
//! - `root_tests` (tests only): both drivers against this host's real cgroups.
//!
//! A later process (`delete`, `kill --all`, `pause`) finds the same cgroup
//! through [`CgroupState`]: store `manager.state()` in the container's state
//! file and rebuild the manager with [`manager_from_state`]. No re-detection
//! and no re-resolution of a relative path happens then, so a `delete` run from
//! another cgroup still finds the container's directories.

mod bpf;
mod dbus;
mod devices;
mod fs;
mod paths;
#[cfg(test)]
mod root_tests;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

/// Errors from cgroup management. Each names the file, field or controller involved.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Reading a cgroup file, or inspecting a cgroup directory, failed.
    #[error("cgroup {path}: {source}")]
    Io {
        /// The cgroup file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a value into a cgroup file failed.
    #[error("cgroup: writing {value:?} to {path}: {source}")]
    Write {
        /// The cgroup file.
        path: PathBuf,
        /// What was written.
        value: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Creating a cgroup directory failed.
    #[error("cgroup: creating {path}: {source}")]
    Create {
        /// The cgroup directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Removing a cgroup directory failed.
    #[error("cgroup: removing {path}: {source}")]
    Remove {
        /// The cgroup directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A resource is set in the config but the file that would carry it does
    /// not exist: the controller is not mounted or this kernel lacks the knob.
    #[error("{field} is set, but {path} does not exist (controller not mounted or not supported by this kernel)")]
    NotAvailable {
        /// The config field, as a JSON path (`linux.resources.blockIO.weight`).
        field: String,
        /// The file that would have been written.
        path: PathBuf,
    },
    /// A resource is set in the config but its controller is not available.
    #[error("{field} is set, but the {controller} cgroup controller is not available")]
    NoController {
        /// The config field, as a JSON path.
        field: String,
        /// The controller that would carry it.
        controller: String,
    },
    /// The kernel refused the value of a config field.
    #[error("{field}: {source}")]
    Field {
        /// The config field, as a JSON path.
        field: String,
        /// The failed write, naming the file.
        #[source]
        source: Box<CgroupError>,
    },
    /// A resource value is not acceptable.
    #[error("{field}: {reason}")]
    InvalidValue {
        /// The config field, as a JSON path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A cgroup file holds something this module cannot parse.
    #[error("cgroup {path}: cannot parse {content:?}")]
    Parse {
        /// The cgroup file.
        path: PathBuf,
        /// What it held.
        content: String,
    },
    /// The kernel did not reach the requested state in time (freezer).
    #[error("cgroup {path}: timed out waiting for {what}")]
    Timeout {
        /// The cgroup file that was polled.
        path: PathBuf,
        /// The state that was awaited.
        what: String,
    },
    /// A bpf(2) call for the cgroup v2 device filter failed.
    #[error("cgroup {path}: {op}: {source}")]
    Bpf {
        /// What was being done (loading, attaching, ...).
        op: String,
        /// The cgroup directory.
        path: PathBuf,
        /// The underlying error (for a rejected program, with the verifier's log).
        #[source]
        source: std::io::Error,
    },
    /// systemd (over D-Bus) refused or failed a request of the systemd driver.
    #[error("systemd cgroup driver: {0}")]
    Systemd(String),
    /// The configuration asks for something this driver cannot do.
    #[error("cgroup: {0}")]
    Unsupported(String),
    /// The cgroupsPath in the config is not acceptable.
    #[error("invalid linux.cgroupsPath {0:?}: {1}")]
    InvalidPath(String, String),
}

/// What every cgroup driver offers the lifecycle code.
///
/// The order of use is `apply(init pid)` then `set(resources)`; `exec` calls
/// `apply(pid)` again for the new process (it is idempotent). `destroy` needs
/// the cgroup to be empty: kill and reap the processes first.
pub trait Manager: std::fmt::Debug + Send + Sync {
    /// Create the container's cgroup (if missing) and move `pid` into it.
    fn apply(&self, pid: i32) -> Result<(), CgroupError>;
    /// Write `linux.resources` into the container's cgroup. Every field that is
    /// set is applied or rejected with an error naming it; none is ignored.
    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// The pids of every process in the container's cgroup and its sub-cgroups.
    /// An already removed cgroup has no processes.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Remove everything of the container's cgroup (no directory kept).
    fn destroy(&self) -> Result<(), CgroupError> {
        self.destroy_except(&[])
    }
    /// Remove the container's cgroup (and sub-cgroups) in every hierarchy;
    /// processes must be gone already. Missing directories are not an error.
    /// The directories in `keep` (and what is below them) are left alone:
    /// cgroups that existed before the container was created are not its to
    /// remove (runtime.md "Delete").
    fn destroy_except(&self, keep: &[PathBuf]) -> Result<(), CgroupError>;
    /// Every directory of the container's cgroup (one per hierarchy on v1).
    fn directories(&self) -> Vec<PathBuf>;
    /// Those of [`Manager::directories`] that exist now: called before
    /// `apply`, the cgroups the container joins rather than creates.
    fn existing_directories(&self) -> Vec<PathBuf> {
        self.directories()
            .into_iter()
            .filter(|d| d.is_dir())
            .collect()
    }
    /// Freeze every process in the cgroup; returns once the kernel reports
    /// the cgroup frozen (`pause`).
    fn freeze(&self) -> Result<(), CgroupError>;
    /// Thaw the cgroup; returns once the kernel reports it thawed (`resume`).
    fn thaw(&self) -> Result<(), CgroupError>;
    /// Whether the cgroup is frozen (`state` reports "paused" then).
    fn is_frozen(&self) -> Result<bool, CgroupError>;
    /// Whether the container's cgroup directory exists.
    fn exists(&self) -> bool;
    /// What a later process needs to find this cgroup again: store it in the
    /// state file and pass it to [`manager_from_state`].
    fn state(&self) -> CgroupState;
    /// Hand the cgroup to host user `uid` and group `gid` (see
    /// [`delegation_owner`]): on cgroup v2 the directory and the files the
    /// kernel lists as delegatable; nothing on v1, where the spec asks for no change.
    fn delegate_to(&self, _uid: u32, _gid: u32) -> Result<(), CgroupError> {
        Ok(())
    }
}

/// config-linux.md "Cgroup ownership": who the container's cgroup is handed
/// to, if anyone: the host uid and gid that `process.user.uid`/`gid` map to
/// (through `linux.uidMappings`/`gidMappings` with a new user namespace,
/// unchanged without one), but only for a container with a new cgroup
/// namespace whose `mounts` mount `cgroup` at /sys/fs/cgroup without `ro`.
/// A user namespace joined by path (no mappings in the config) is not
/// handed anything. Whether the host is v2 is the driver's concern
/// ([`Manager::delegate_to`]: v1 never changes owners).
pub fn delegation_owner(spec: &oci_spec::runtime::Spec) -> Option<(u32, u32)> {
    use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType};
    let linux = spec.linux().as_ref()?;
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    let new_cgroupns = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Cgroup && n.path().is_none());
    if !new_cgroupns {
        return None;
    }
    let rw_cgroup_mount = spec.mounts().iter().flatten().any(|m| {
        m.destination() == std::path::Path::new("/sys/fs/cgroup")
            && m.source().as_deref() == Some(std::path::Path::new("cgroup"))
            && !m.options().iter().flatten().any(|o| o == "ro")
    });
    if !rw_cgroup_mount {
        return None;
    }
    let user = spec.process().as_ref().map(|p| p.user());
    let (uid, gid) = user.map_or((0, 0), |u| (u.uid(), u.gid()));
    if !namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User)
    {
        return Some((uid, gid));
    }
    let map = |maps: &Option<Vec<LinuxIdMapping>>, id: u32| {
        maps.iter().flatten().find_map(|m| {
            let offset = id.checked_sub(m.container_id())?;
            (offset < m.size()).then(|| m.host_id() + offset)
        })
    };
    Some((
        map(linux.uid_mappings(), uid)?,
        map(linux.gid_mappings(), gid)?,
    ))
}

/// Where a container's cgroup lives, in a form the state file can store.
///
/// Serialized as `{"driver":"v1","paths":{"memory":"/sys/fs/cgroup/memory/x",..}}`,
/// `{"driver":"v2","path":"/sys/fs/cgroup/x"}` or
/// `{"driver":"systemd","unit":"husk-x.scope","slice":"system.slice","path":...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "driver", rename_all = "lowercase")]
pub enum CgroupState {
    /// cgroup v1 or hybrid: the container's directory in each hierarchy, keyed
    /// by controller (`cpu`, `memory`, `name=systemd`, ...; co-mounted
    /// controllers share a directory) and `unified` for the cgroup2 mount of a
    /// hybrid host.
    V1 {
        /// Controller → container directory.
        paths: BTreeMap<String, PathBuf>,
    },
    /// Pure cgroup v2: the container's one directory.
    V2 {
        /// The container directory.
        path: PathBuf,
    },
    /// The systemd driver on pure cgroup v2: a transient scope unit.
    Systemd {
        /// The scope unit (`husk-<id>.scope`).
        unit: String,
        /// The slice it was started in.
        slice: String,
        /// Its cgroup directory.
        path: PathBuf,
    },
}

/// Rebuild the manager of an existing container from its stored [`CgroupState`].
pub fn manager_from_state(state: &CgroupState) -> Result<Box<dyn Manager>, CgroupError> {
    match state {
        CgroupState::V1 { paths } => Ok(Box::new(v1::V1Manager::new(paths.clone())?)),
        CgroupState::V2 { path } => Ok(Box::new(v2::V2Manager::new(path.clone())?)),
        CgroupState::Systemd { unit, slice, path } => Ok(Box::new(systemd::SystemdManager::new(
            unit.clone(),
            slice.clone(),
            path.clone(),
        )?)),
    }
}

/// The manager for a new container, with the driver this host needs.
///
/// `cgroups_path` is `linux.cgroupsPath` and follows runc's cgroupfs driver:
/// an absolute path is taken relative to the root of each hierarchy; a
/// relative path relative to the runtime's own cgroup (on pure v2, to the
/// parent of it, as runc does, since the runtime's own cgroup usually holds
/// processes and could not have controllers enabled for children); none or an
/// empty one means the relative path `<id>`, which is runc 1.1's default. `..`
/// components that would climb above that base are rejected. With
/// `systemd` (runc's `--systemd-cgroup`), the path is systemd's
/// `slice:prefix:name` (empty: a scope `husk-<id>.scope` in system.slice),
/// on pure cgroup v2 hosts with systemd; elsewhere this fails saying so.
/// Without it, as in runc without `--systemd-cgroup`, that form is just a
/// relative path (one directory whose name has colons).
pub fn manager(
    cgroups_path: Option<&str>,
    id: &str,
    systemd: bool,
) -> Result<Box<dyn Manager>, CgroupError> {
    let mountinfo = fs::read_host_file("/proc/self/mountinfo")?;
    let layout = paths::detect_layout(&paths::parse_mountinfo(&mountinfo))?;
    if systemd {
        let state = systemd::plan(&layout, cgroups_path, id)?;
        tracing::debug!(?state, "systemd scope for container {id}");
        return manager_from_state(&state);
    }
    let inner = paths::parse_cgroups_path(cgroups_path, id)?;
    // /proc/self/cgroup matters only for relative paths; read it only then.
    let own = if inner.is_relative() {
        paths::parse_proc_cgroup(&fs::read_host_file("/proc/self/cgroup")?)
    } else {
        Vec::new()
    };
    let state = paths::plan(&layout, &inner, &own)?;
    tracing::debug!(?state, "cgroup paths for container {id}");
    manager_from_state(&state)
}

#[cfg(test)]
mod tests {
    use super::delegation_owner;
    use oci_spec::runtime::Spec;

    fn spec(namespaces: &str, mount_options: &str, uid: u32) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
                "process":{{"cwd":"/","args":["sh"],"user":{{"uid":{uid},"gid":0}}}},
                "mounts":[{{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup",
                            "options":[{mount_options}]}}],
                "linux":{{"namespaces":[{namespaces}],
                          "uidMappings":[{{"containerID":0,"hostID":100000,"size":65536}}],
                          "gidMappings":[{{"containerID":0,"hostID":100000,"size":65536}}]}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn delegation_needs_a_new_cgroupns_and_a_writable_cgroup_mount() {
        let both = r#"{"type":"user"},{"type":"cgroup"},{"type":"mount"}"#;
        assert_eq!(
            delegation_owner(&spec(both, r#""nosuid""#, 0)),
            Some((100000, 100000))
        );
        // The owner is the host uid of process.user.uid.
        assert_eq!(
            delegation_owner(&spec(both, "", 1000)),
            Some((101000, 100000))
        );
        // Unmapped user: nobody to hand it to.
        assert_eq!(delegation_owner(&spec(both, "", 70000)), None);
        assert_eq!(delegation_owner(&spec(both, r#""nosuid","ro""#, 0)), None);
        let no_cgroupns = r#"{"type":"user"},{"type":"mount"}"#;
        assert_eq!(delegation_owner(&spec(no_cgroupns, "", 0)), None);
        let joined = r#"{"type":"user"},{"type":"cgroup","path":"/proc/1/ns/cgroup"}"#;
        assert_eq!(delegation_owner(&spec(joined, "", 0)), None);
        // Without a user namespace the ids are the host's.
        let no_userns = r#"{"type":"cgroup"},{"type":"mount"}"#;
        assert_eq!(
            delegation_owner(&spec(no_userns, "", 1000)),
            Some((1000, 0))
        );
    }
}
