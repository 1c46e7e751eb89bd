//! The state directory: `<root>/<id>/state.json`, the exec fifo beside it, and
//! the lock that serialises commands on one container.
//!
//! The file is written atomically (temp file + rename) so a reader never sees a
//! half-written state, and every command that changes a container holds an
//! exclusive `flock` on the container's directory while it works.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::container::Status;

/// The name of the exec fifo inside a container's state directory.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";

/// Errors about container ids and the state directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The id has characters or a shape that cannot name a directory safely.
    #[error("invalid container id {0:?}: {1}")]
    InvalidId(String, &'static str),
    /// `create` was given an id that exists.
    #[error("container with id {0:?} already exists")]
    Exists(String),
    /// No container has this id.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// The operation is not allowed in the container's current status.
    #[error("{}", wrong_status(.id, *.operation, *.status))]
    WrongStatus {
        /// Container id.
        id: String,
        /// What was asked.
        operation: Operation,
        /// The status the container is in.
        status: Status,
    },
    /// The state file is unreadable or corrupt.
    #[error("state of container {id:?} at {path}: {reason}")]
    Corrupt {
        /// Container id.
        id: String,
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the state directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// An operation on an existing container, as [`StateError::WrongStatus`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `start`.
    Start,
    /// `kill`.
    Kill,
    /// `delete` without `force`.
    Delete,
    /// `exec`.
    Exec,
    /// `pause`.
    Pause,
    /// `resume`.
    Resume,
    /// `update`.
    Update,
    /// `stats` and `events`.
    Stats,
    /// `checkpoint`.
    Checkpoint,
}

/// runc's wording for each refusal (clients match on some of it).
fn wrong_status(id: &str, op: Operation, status: Status) -> String {
    match (op, status) {
        (Operation::Start, Status::Stopped) => {
            format!("cannot start a container that has stopped: {id}")
        }
        (Operation::Start, s) => format!("cannot start an already {s} container: {id}"),
        (Operation::Delete, s) => format!("cannot delete container {id} that is not stopped: {s}"),
        (Operation::Exec, Status::Paused) => {
            "cannot exec in a paused container (use --ignore-paused to override)".into()
        }
        (Operation::Exec, s) => format!("cannot exec in a {s} container"),
        (Operation::Resume, _) => "container not paused".into(),
        (Operation::Stats, _) => format!("container with id {id} is not running"),
        (Operation::Kill | Operation::Pause | Operation::Update | Operation::Checkpoint, _) => {
            "container not running".into()
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Check that an id can be used as a directory name: runc's rules (letters,
/// digits, `_ + - .`), and never `.`/`..` or anything with a path separator.
pub fn validate_id(id: &str) -> Result<(), StateError> {
    if id.is_empty() {
        return Err(StateError::InvalidId(id.into(), "it is empty"));
    }
    if id == "." || id == ".." {
        return Err(StateError::InvalidId(id.into(), "it is a relative path"));
    }
    if id.len() > 1024 {
        return Err(StateError::InvalidId(
            id.into(),
            "it is longer than 1024 bytes",
        ));
    }
    let ok = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if !ok {
        return Err(StateError::InvalidId(
            id.into(),
            "only letters, digits and _ + - . are allowed",
        ));
    }
    Ok(())
}

/// What the runtime records about a container; `status` is not stored but
/// derived from the live process each time (see [`crate::container`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    /// The OCI runtime spec version of the state format.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Host pid of the container's init.
    pub pid: i32,
    /// The init's start time (field 22 of /proc/PID/stat), to tell it from a recycled pid.
    pub pid_start_time: u64,
    /// Absolute path of the bundle.
    pub bundle: PathBuf,
    /// Absolute path of the root filesystem.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339 with nanoseconds, UTC.
    pub created: String,
    /// Name of the user that created the container (runc reports "" for root).
    pub owner: String,
    /// The config's annotations.
    pub annotations: HashMap<String, String>,
    /// Where the container's cgroup is, as the cgroup driver needs it later.
    pub cgroup: Option<crate::cgroups::CgroupState>,
    /// The cgroup directories that existed before `create` (the container
    /// joined them): `delete` leaves them in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_preexisting: Vec<PathBuf>,
    /// The config.json the container was created from (hooks and process are read from it later).
    pub config: oci_spec::runtime::Spec,
    /// Created with `--no-new-keyring`: `exec` then keeps the caller's keyring too.
    #[serde(default)]
    pub no_new_keyring: bool,
    /// Rootless and the cgroup was not writable: the container has none
    /// (`exec` joins none, `kill --all` signals the init, which takes its pid
    /// namespace with it).
    #[serde(default)]
    pub cgroup_skipped: bool,
}

/// The runtime's state root, e.g. `/run/husk`.
#[derive(Debug, Clone)]
pub struct StateRoot {
    root: PathBuf,
}

/// A locked container directory. The lock is released when this is dropped.
#[derive(Debug)]
pub struct ContainerDir {
    /// `<root>/<id>`.
    pub path: PathBuf,
    /// The container id.
    pub id: String,
    _lock: OwnedFd,
}

impl StateRoot {
    /// Use `root` as the state root; it is created (mode 0700) on first use.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateRoot { root: root.into() }
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn dir_of(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Make a new, locked directory for `id`; fails if the id is taken.
    ///
    /// The directory appears under its name already locked: it is made under
    /// a temporary name, locked, and renamed without replacing anything. So
    /// no other command can find it unlocked and without a state, which
    /// `delete --force` takes for the leftovers of a create that died.
    pub fn create(&self, id: &str) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(io_err(&self.root))?;
        let path = self.dir_of(id);
        if path.exists() {
            return Err(StateError::Exists(id.into()));
        }
        self.sweep_temporaries();
        let tmp = self.root.join(temporary_name(std::process::id()));
        fs::DirBuilder::new()
            .mode(0o711)
            .create(&tmp)
            .map_err(io_err(&tmp))?;
        let mut dir = match lock_dir(&tmp, id) {
            Ok(dir) => dir,
            Err(e) => {
                let _ = fs::remove_dir(&tmp);
                return Err(e);
            }
        };
        let renamed = nix::fcntl::renameat2(
            None,
            &tmp,
            None,
            &path,
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        );
        match renamed {
            Ok(()) => {
                dir.path = path;
                Ok(dir)
            }
            Err(nix::Error::EEXIST) => {
                let _ = fs::remove_dir(&tmp);
                Err(StateError::Exists(id.into()))
            }
            Err(nix::Error::EINVAL) => {
                // This filesystem has no RENAME_NOREPLACE: plain mkdir, then lock.
                drop(dir);
                let _ = fs::remove_dir(&tmp);
                match fs::DirBuilder::new().mode(0o711).create(&path) {
                    Ok(()) => lock_dir(&path, id),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Err(StateError::Exists(id.into()))
                    }
                    Err(e) => Err(io_err(&path)(e)),
                }
            }
            Err(e) => {
                let _ = fs::remove_dir(&tmp);
                Err(io_err(&path)(e.into()))
            }
        }
    }

    /// Remove the temporary directories of creates that died before renaming
    /// theirs: their pid (in the name) is gone, or is ours (a recycled pid).
    fn sweep_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return;
        };
        let me = std::process::id();
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(TEMPORARY_PREFIX))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me || !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = fs::remove_dir(e.path());
            }
        }
    }

    /// Lock the existing directory of `id`.
    pub fn open(&self, id: &str) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        let path = self.dir_of(id);
        if !path.join(STATE_FILE).exists() {
            return Err(StateError::NotFound(id.into()));
        }
        let dir = lock_dir(&path, id)?;
        // It may have been deleted while we waited for the lock.
        if !path.join(STATE_FILE).exists() {
            return Err(StateError::NotFound(id.into()));
        }
        Ok(dir)
    }

    /// Lock the directory of `id` whether or not it holds a state.json: a
    /// create may have died before writing one (see `crate::recovery`).
    pub fn open_unfinished(&self, id: &str) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        lock_dir(&self.dir_of(id), id)
    }

    /// Entries without a state.json that no process holds locked: left by a
    /// create that died before it finished (one still working holds the lock).
    pub fn abandoned(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| !e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|id| validate_id(id).is_ok() && !is_locked(&self.dir_of(id)))
            .collect();
        ids.sort();
        ids
    }

    /// Ids of every container under the root, sorted.
    pub fn list(&self) -> Result<Vec<String>, StateError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.root)(e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

fn lock_dir(path: &Path, id: &str) -> Result<ContainerDir, StateError> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StateError::NotFound(id.into())
            } else {
                io_err(path)(e)
            }
        })?;
    let fd: OwnedFd = file.into();
    // SAFETY: flock on a descriptor we own.
    while unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(io_err(path)(e));
        }
    }
    Ok(ContainerDir {
        path: path.to_path_buf(),
        id: id.to_string(),
        _lock: fd,
    })
}

/// A create makes its directory as `.new:<pid>` before renaming it: hidden,
/// short (whatever the id's length), and with a `:`, which no id can hold.
const TEMPORARY_PREFIX: &str = ".new:";

fn temporary_name(pid: u32) -> String {
    format!("{TEMPORARY_PREFIX}{pid}")
}

/// True if some process holds the lock on `path` (or it cannot be checked).
fn is_locked(path: &Path) -> bool {
    let Ok(file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
    else {
        return true;
    };
    // SAFETY: flock on a descriptor we own; closing it (drop) releases the lock.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) != 0 }
}

impl ContainerDir {
    /// True if the directory we hold locked is still the one at our path
    /// (not removed, nor replaced by a new create of the same id).
    pub fn is_current(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(at_path) = fs::metadata(&self.path) else {
            return false;
        };
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fstat fills `st` on success; it is read only then.
        if unsafe { libc::fstat(self._lock.as_raw_fd(), st.as_mut_ptr()) } != 0 {
            return false;
        }
        // SAFETY: fstat succeeded.
        let st = unsafe { st.assume_init() };
        at_path.dev() == st.st_dev && at_path.ino() == st.st_ino
    }

    /// True once state.json has been written (a create that died may not have).
    pub fn has_state(&self) -> bool {
        self.path.join(STATE_FILE).exists()
    }

    /// Close our copy of the lock in a cloned child. flock belongs to the open
    /// file, which the clone shares: the child would otherwise hold the lock
    /// until it execs.
    pub fn forget_lock_in_child(&self) {
        let _ = nix::unistd::close(self._lock.as_raw_fd());
    }

    /// Path of the exec fifo.
    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    /// Write the state atomically.
    pub fn save(&self, state: &ContainerState) -> Result<(), StateError> {
        let tmp = self.path.join(".state.json.tmp");
        let data = serde_json::to_vec(state).map_err(|e| StateError::Corrupt {
            id: self.id.clone(),
            path: tmp.clone(),
            reason: e.to_string(),
        })?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(&data).map_err(io_err(&tmp))?;
        // No fsync: the state dir lives on tmpfs (/run) and is meaningless after a reboot.
        drop(f);
        let dst = self.path.join(STATE_FILE);
        fs::rename(&tmp, &dst).map_err(io_err(&dst))
    }

    /// Read the state.
    pub fn load(&self) -> Result<ContainerState, StateError> {
        let path = self.path.join(STATE_FILE);
        let data = fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StateError::NotFound(self.id.clone())
            } else {
                io_err(&path)(e)
            }
        })?;
        serde_json::from_slice(&data).map_err(|e| StateError::Corrupt {
            id: self.id.clone(),
            path,
            reason: e.to_string(),
        })
    }

    /// Remove the directory and everything in it.
    pub fn remove(self) -> Result<(), StateError> {
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&self.path)(e)),
        }
    }
}

/// Format a time as RFC 3339 with nanoseconds in UTC, as Go's `time.RFC3339Nano` does.
pub fn rfc3339_nano(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, day) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    let nanos = d.subsec_nanos();
    if nanos != 0 {
        // Go trims trailing zeros from the fraction.
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_3+x").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b", "a\0b"] {
            assert!(validate_id(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(rfc3339_nano(t), "2023-11-14T22:13:20.12Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_nano(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn create_sweeps_temporaries_of_dead_creates() {
        let tmp = std::env::temp_dir().join(format!("husk-state-sweep-{}", std::process::id()));
        let root = StateRoot::new(&tmp);
        fs::create_dir_all(&tmp).unwrap();
        // pid_max is at most 2^22: this pid cannot exist.
        let dead = tmp.join(temporary_name(1 << 23));
        let mine = tmp.join(temporary_name(std::process::id()));
        fs::create_dir(&dead).unwrap();
        fs::create_dir(&mine).unwrap();
        let dir = root.create("c1").unwrap();
        assert!(!dead.exists() && !mine.exists());
        assert!(!dir.has_state());
        assert_eq!(
            root.abandoned(),
            Vec::<String>::new(),
            "locked: a create at work"
        );
        drop(dir);
        assert_eq!(root.abandoned(), vec!["c1".to_string()]);
        fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn create_lock_save_load_remove() {
        let tmp = std::env::temp_dir().join(format!("husk-state-test-{}", std::process::id()));
        let root = StateRoot::new(&tmp);
        let dir = root.create("c1").unwrap();
        assert!(matches!(root.create("c1"), Err(StateError::Exists(_))));
        let state = ContainerState {
            oci_version: "1.2.0".into(),
            id: "c1".into(),
            pid: 1,
            pid_start_time: 2,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: rfc3339_nano(UNIX_EPOCH),
            owner: String::new(),
            annotations: HashMap::new(),
            cgroup: None,
            cgroup_preexisting: Vec::new(),
            cgroup_skipped: false,
            config: Default::default(),
            no_new_keyring: false,
        };
        dir.save(&state).unwrap();
        assert_eq!(dir.load().unwrap().pid_start_time, 2);
        assert_eq!(root.list().unwrap(), vec!["c1".to_string()]);
        dir.remove().unwrap();
        assert!(matches!(root.open("c1"), Err(StateError::NotFound(_))));
        fs::remove_dir_all(&tmp).unwrap();
    }
}
