//! Cleaning up after a `create` that died halfway (SIGKILL, an OOM kill, a
//! crash) and so never ran its own cleanup.
//!
//! Before `create` makes anything outside the state directory, it records
//! what it is about to make in `<root>/<id>/creating.json` (the cgroup, the
//! rootfs, later the init's pid); once state.json is written the record is
//! removed. A directory without state.json is then either a create at work
//! (it holds the directory's lock) or a dead one's leftovers: `delete
//! --force` kills what the record names, removes the cgroup and the mounts,
//! and the directory; `list` skips such entries and warns about dead ones.
//! Hooks are not run for a create that never finished.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::cgroups::{self, CgroupState};
use crate::error::{Context, ProcessError, Result};
use crate::state::{ContainerDir, StateError, StateRoot};

const RECORD: &str = "creating.json";

/// What a create has made, or is about to make, outside the state directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unfinished {
    /// The init's host pid; 0 until the clone.
    pub pid: i32,
    /// Its start time (field 22 of /proc/PID/stat), to tell it from a recycled pid.
    pub pid_start_time: u64,
    /// The container's cgroup, which is created after the clone.
    pub cgroup: CgroupState,
    /// Its directories that existed before create: never removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_preexisting: Vec<std::path::PathBuf>,
    /// The rootfs: without a mount namespace the init mounts below it in ours.
    pub rootfs: PathBuf,
    /// Whether the init has a mount namespace of its own.
    pub mount_ns: bool,
}

impl Unfinished {
    /// Record this in `dir`, atomically (temp file + rename).
    pub(crate) fn note(&self, dir: &ContainerDir) -> Result<()> {
        let tmp = dir.path.join(".creating.json.tmp");
        let data = serde_json::to_vec(self).map_err(|e| StateError::Corrupt {
            id: dir.id.clone(),
            path: tmp.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&tmp, data).ctx(|| format!("write {}", tmp.display()))?;
        let dst = dir.path.join(RECORD);
        fs::rename(&tmp, &dst).ctx(|| format!("write {}", dst.display()))
    }
}

/// The create finished: state.json says everything from now on.
pub(crate) fn finished(dir: &ContainerDir) {
    let _ = fs::remove_file(dir.path.join(RECORD));
}

/// What `delete --force` found for an id without state.json.
pub(crate) enum Outcome {
    /// The leftovers of a dead create were removed.
    Removed,
    /// The entry changed while we waited for its lock (the create finished,
    /// or failed and removed it): look it up again.
    Changed,
}

/// `delete --force` of an id whose directory has no state.json. Waits for a
/// create still at work (its lock); then, if state.json exists, the caller
/// deletes the container as usual; otherwise the create died, and what it
/// recorded is taken down with the directory.
pub(crate) fn delete_unfinished(root: &StateRoot, id: &str) -> Result<Outcome> {
    let dir = root.open_unfinished(id)?;
    if !dir.is_current() || dir.has_state() {
        // The create we waited for failed and removed its directory (perhaps
        // a new create of the id made another), or it finished: either way
        // the caller looks again.
        return Ok(Outcome::Changed);
    }
    if let Some(rec) = read_record(&dir) {
        take_down(id, &rec)?;
    }
    dir.remove()?;
    Ok(Outcome::Removed)
}

fn read_record(dir: &ContainerDir) -> Option<Unfinished> {
    let data = fs::read(dir.path.join(RECORD)).ok()?;
    match serde_json::from_slice(&data) {
        Ok(rec) => Some(rec),
        Err(e) => {
            tracing::warn!("{}: {e}; removing the directory only", dir.path.display());
            None
        }
    }
}

/// Kill the init and everything in the cgroup, remove the cgroup and the
/// mounts made in our namespace.
fn take_down(id: &str, rec: &Unfinished) -> Result<()> {
    let cgroup = cgroups::manager_from_state(&rec.cgroup)?;
    let init = (rec.pid > 0 && alive(rec.pid, rec.pid_start_time)).then(|| Pid::from_raw(rec.pid));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = init {
            let _ = signal::kill(pid, Signal::SIGKILL);
        }
        let pids = if cgroup.exists() {
            cgroup.pids().unwrap_or_default()
        } else {
            Vec::new()
        };
        if !pids.is_empty() {
            // Frozen, nothing can fork while we kill.
            let _ = cgroup.freeze();
            for p in &pids {
                let _ = signal::kill(Pid::from_raw(*p), Signal::SIGKILL);
            }
            let _ = cgroup.thaw();
        }
        let init_gone = init.is_none_or(|p| !alive(p.as_raw(), rec.pid_start_time));
        if init_gone && pids.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return Err(ProcessError::DidNotDie {
                id: id.into(),
                pid: rec.pid,
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cgroup.destroy_except(&rec.cgroup_preexisting)?;
    if !rec.mount_ns {
        crate::rootfs::unmount_below(&rec.rootfs)?;
    }
    Ok(())
}

/// Is `pid` alive (not a zombie) and still the process that started at `start`?
fn alive(pid: i32, start: u64) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return false;
    };
    let mut fields = rest.split(' ');
    let state = fields.next().unwrap_or("X");
    state != "Z" && state != "X" && fields.nth(18).and_then(|s| s.parse().ok()) == Some(start)
}

/// Warn about directories a dead create left (for `list`).
pub(crate) fn warn_abandoned(root: &StateRoot) {
    for id in root.abandoned() {
        tracing::warn!(
            "{id}: a create of this id was interrupted before it finished; \
             `delete --force {id}` removes what it left"
        );
    }
}
