//! File operations on cgroupfs shared by the drivers.
//!
//! Every error names the file or directory. Writes never create files: a
//! missing knob is an error, never a new regular file.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};

use super::CgroupError;

/// Read a host file such as /proc/self/mountinfo.
pub(crate) fn read_host_file(path: &str) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Io {
        path: path.into(),
        source,
    })
}

/// The contents of `dir/file`, without the trailing newline.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    match fs::read_to_string(&path) {
        Ok(s) => Ok(s.trim_end_matches('\n').to_string()),
        Err(source) => Err(CgroupError::Io { path, source }),
    }
}

/// `dir/file` as an unsigned number (as the v1 `*_in_bytes` files hold).
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let content = read(dir, file)?;
    content.trim().parse().map_err(|_| CgroupError::Parse {
        path: dir.join(file),
        content,
    })
}

/// Write `value` to `dir/file` in one write(2), as cgroupfs expects.
pub(crate) fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    // O_TRUNC is a no-op on cgroupfs and keeps a plain-file stand-in (unit tests) honest.
    let result = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    result.map_err(|source| CgroupError::Write {
        path,
        value: value.to_string(),
        source,
    })
}

/// Write `value` to `dir/file` for config field `field`; a missing file is
/// reported as the field not being available on this host.
pub(crate) fn write_field(
    field: &str,
    dir: &Path,
    file: &str,
    value: &str,
) -> Result<(), CgroupError> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(CgroupError::NotAvailable {
            field: field.to_string(),
            path,
        });
    }
    write(dir, file, value).map_err(|e| CgroupError::Field {
        field: field.to_string(),
        source: Box::new(e),
    })
}

/// The errno of a failed cgroup operation, to react to EINVAL, EBUSY, ...
pub(crate) fn errno(err: &CgroupError) -> Option<i32> {
    match err {
        CgroupError::Io { source, .. }
        | CgroupError::Write { source, .. }
        | CgroupError::Create { source, .. }
        | CgroupError::Remove { source, .. } => source.raw_os_error(),
        CgroupError::Field { source, .. } => errno(source),
        _ => None,
    }
}

/// Move `pid` into the cgroup at `dir`.
pub(crate) fn write_pid(dir: &Path, pid: i32) -> Result<(), CgroupError> {
    let mut tries = 0;
    loop {
        match write(dir, "cgroup.procs", &pid.to_string()) {
            // EINVAL: the task may still be in TASK_NEW (just forked); the
            // kernel refuses to move it until it is fully set up.
            Err(e) if errno(&e) == Some(libc::EINVAL) && tries < 5 => {
                tries += 1;
                sleep(Duration::from_millis(30));
            }
            other => return other,
        }
    }
}

/// The pids in `dir/cgroup.procs` and in every sub-cgroup of `dir`. A
/// missing `dir` (already removed) has none.
pub(crate) fn procs_recursive(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    let path = dir.join("cgroup.procs");
    let content = match fs::read_to_string(&path) {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(pids),
        Err(source) => return Err(CgroupError::Io { path, source }),
    };
    for line in content.lines().filter(|l| !l.is_empty()) {
        let pid = line.trim().parse().map_err(|_| CgroupError::Parse {
            path: path.clone(),
            content: line.into(),
        })?;
        pids.push(pid);
    }
    for sub in subdirs(dir)? {
        pids.extend(procs_recursive(&sub)?);
    }
    Ok(pids)
}

/// The directories in `dir`, i.e. its sub-cgroups. A vanished `dir` has none.
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Io {
                path: dir.into(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CgroupError::Io {
            path: dir.into(),
            source,
        })?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Whether `path` is on a cgroup filesystem (v1 or v2); a path that does not
/// exist yet counts as one, since it is about to be created there.
fn on_cgroupfs(path: &Path) -> Result<bool, CgroupError> {
    match statfs(path) {
        Ok(st) => Ok(st.filesystem_type() == CGROUP_SUPER_MAGIC
            || st.filesystem_type() == CGROUP2_SUPER_MAGIC),
        Err(nix::errno::Errno::ENOENT) => Ok(true),
        Err(e) => Err(CgroupError::Io {
            path: path.into(),
            source: e.into(),
        }),
    }
}

/// The directories from the hierarchy's mount point down to `dir` (which may
/// not exist yet), found by walking up while the parent is still cgroupfs.
/// Fails if the top of that chain is not an existing cgroup mount, so a bogus
/// path (say, from a damaged state file) never makes us create or remove
/// directories elsewhere.
pub(crate) fn cgroup_chain(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut chain = vec![dir.to_path_buf()];
    let mut current = dir;
    while let Some(parent) = current.parent() {
        if !on_cgroupfs(parent)? {
            break;
        }
        chain.push(parent.to_path_buf());
        current = parent;
    }
    chain.reverse();
    let top = &chain[0];
    let is_mount = top.exists() && on_cgroupfs(top)? && top != dir;
    if !is_mount {
        return Err(CgroupError::Unsupported(format!(
            "{} is not below a mounted cgroup hierarchy",
            dir.display()
        )));
    }
    Ok(chain)
}

/// Create `dir` and any missing parents inside its hierarchy.
pub(crate) fn create_cgroup(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let chain = cgroup_chain(dir)?;
    for level in &chain[1..] {
        match fs::create_dir(level) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(CgroupError::Create {
                    path: level.clone(),
                    source,
                })
            }
        }
    }
    Ok(chain)
}

/// Remove the cgroup at `dir` and its sub-cgroups. Missing is fine.
pub(crate) fn remove_cgroup(dir: &Path) -> Result<(), CgroupError> {
    if !dir.exists() {
        return Ok(());
    }
    // Never recurse through a directory that is not cgroupfs: rmdir only
    // removes empty directories, but even those are not ours elsewhere.
    cgroup_chain(dir)?;
    remove_tree(dir)
}

fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    // Fast path: no sub-cgroups and no processes.
    if rmdir(dir, false)? {
        return Ok(());
    }
    for sub in subdirs(dir)? {
        remove_tree(&sub)?;
    }
    if rmdir(dir, true)? {
        return Ok(());
    }
    Err(CgroupError::Remove {
        path: dir.into(),
        source: std::io::Error::from_raw_os_error(libc::EBUSY),
    })
}

/// rmdir(2) that treats ENOENT as done. Returns false on EBUSY (and, when
/// asked to retry, only after ~1s of retries: processes that were just
/// killed take a moment to leave the cgroup).
fn rmdir(dir: &Path, retry: bool) -> Result<bool, CgroupError> {
    let mut delay = Duration::from_millis(1);
    let mut tries = if retry { 10 } else { 0 };
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(true),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    || e.raw_os_error() == Some(libc::ENOTEMPTY) =>
            {
                if tries == 0 {
                    return Ok(false);
                }
                tries -= 1;
                sleep(delay);
                delay *= 2;
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.into(),
                    source,
                })
            }
        }
    }
}

/// Make `controller` available to the children of every ancestor of `dir`
/// in a cgroup2 hierarchy, by adding it to their `cgroup.subtree_control`.
pub(crate) fn enable_v2_controller(
    dir: &Path,
    controller: &str,
    field: &str,
) -> Result<(), CgroupError> {
    let chain = cgroup_chain(dir)?;
    for level in &chain[..chain.len() - 1] {
        let enabled = read(level, "cgroup.subtree_control")?;
        if enabled.split_whitespace().any(|c| c == controller) {
            continue;
        }
        let available = read(level, "cgroup.controllers")?;
        if !available.split_whitespace().any(|c| c == controller) {
            return Err(CgroupError::NoController {
                field: field.to_string(),
                controller: format!(
                    "{controller} (not in {})",
                    level.join("cgroup.controllers").display()
                ),
            });
        }
        write(level, "cgroup.subtree_control", &format!("+{controller}"))?;
    }
    Ok(())
}

/// The huge page sizes of this host in cgroup notation (`2MB`, `1GB`).
pub(crate) fn hugepage_sizes() -> Result<Vec<String>, CgroupError> {
    const DIR: &str = "/sys/kernel/mm/hugepages";
    let entries = match fs::read_dir(DIR) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Io {
                path: DIR.into(),
                source,
            })
        }
    };
    Ok(entries
        .filter_map(|e| e.ok())
        .filter_map(|e| hugepage_dir_to_size(&e.file_name().to_string_lossy()))
        .collect())
}

/// `hugepages-2048kB` → `2MB`, as the hugetlb controller names its files.
pub(crate) fn hugepage_dir_to_size(name: &str) -> Option<String> {
    let kb: u64 = name
        .strip_prefix("hugepages-")?
        .strip_suffix("kB")?
        .parse()
        .ok()?;
    Some(match kb {
        kb if kb >= 1 << 20 && kb % (1 << 20) == 0 => format!("{}GB", kb >> 20),
        kb if kb >= 1 << 10 && kb % (1 << 10) == 0 => format!("{}MB", kb >> 10),
        kb => format!("{kb}KB"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugepage_names() {
        assert_eq!(
            hugepage_dir_to_size("hugepages-2048kB").as_deref(),
            Some("2MB")
        );
        assert_eq!(
            hugepage_dir_to_size("hugepages-1048576kB").as_deref(),
            Some("1GB")
        );
        assert_eq!(
            hugepage_dir_to_size("hugepages-64kB").as_deref(),
            Some("64KB")
        );
        assert_eq!(
            hugepage_dir_to_size("hugepages-32768kB").as_deref(),
            Some("32MB")
        );
        assert_eq!(hugepage_dir_to_size("nonsense"), None);
    }

    #[test]
    fn chain_refuses_paths_outside_cgroupfs() {
        let err = cgroup_chain(Path::new("/tmp/not-a-cgroup/x")).unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported(_)), "{err}");
        assert!(remove_cgroup(Path::new("/tmp")).is_err());
    }
}
