//! Checks that a path really is what the runtime is about to trust: the
//! container's /dev/null, a procfs file. An image (or a process racing with
//! us) can put a symlink or a different filesystem there; the runtime must
//! never write through it (CVE-2019-16884, CVE-2025-31133, CVE-2025-52565).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, major, minor, Mode};
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

use crate::error::{Context, Error, Result};

fn open_nofollow(path: &Path, flags: OFlag) -> Result<OwnedFd> {
    let fd = nix::fcntl::open(
        path,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", path.display()))?;
    // SAFETY: open returned a new descriptor that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// An `O_PATH` descriptor of `path`, checked to be the character device 1:3.
pub fn dev_null(path: &Path) -> Result<OwnedFd> {
    let fd = open_nofollow(path, OFlag::O_PATH)?;
    let st = fstat(fd.as_raw_fd()).ctx(|| format!("stat {}", path.display()))?;
    let is_null = st.st_mode & libc::S_IFMT == libc::S_IFCHR
        && major(st.st_rdev) == 1
        && minor(st.st_rdev) == 3;
    if !is_null {
        return Err(Error::Process(format!(
            "{} is not the null device (mode {:o}, device {}:{}): refusing to use it",
            path.display(),
            st.st_mode,
            major(st.st_rdev),
            minor(st.st_rdev)
        )));
    }
    Ok(fd)
}

/// Write `value` to a file that must be on procfs (a sysctl, oom_score_adj,
/// a uid_map): opened without following a final symlink, checked with
/// fstatfs, then written through that same descriptor.
pub fn write_proc(path: &Path, value: &str) -> Result<()> {
    let fd = open_nofollow(path, OFlag::O_WRONLY)?;
    let fs = fstatfs(&fd).ctx(|| format!("statfs {}", path.display()))?;
    if fs.filesystem_type() != PROC_SUPER_MAGIC {
        return Err(Error::Process(format!(
            "{} is not on procfs: refusing to write to it",
            path.display()
        )));
    }
    let n =
        nix::unistd::write(&fd, value.as_bytes()).ctx(|| format!("write {}", path.display()))?;
    if n != value.len() {
        return Err(Error::Process(format!("short write to {}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_device_is_recognised_and_files_are_not() {
        assert!(dev_null(Path::new("/dev/null")).is_ok());
        assert!(dev_null(Path::new("/dev/zero")).is_err());
        let tmp = std::env::temp_dir().join(format!("husk-verify-{}", std::process::id()));
        std::fs::write(&tmp, "x").unwrap();
        assert!(dev_null(&tmp).is_err());
        let link = tmp.with_extension("link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(
            dev_null(&link).is_err(),
            "a symlink to /dev/null must not pass"
        );
        std::fs::remove_file(&tmp).unwrap();
        std::fs::remove_file(&link).unwrap();
    }

    #[test]
    fn proc_writes_refuse_other_filesystems() {
        let tmp = std::env::temp_dir().join(format!("husk-verify-w-{}", std::process::id()));
        std::fs::write(&tmp, "").unwrap();
        assert!(write_proc(&tmp, "1").is_err());
        std::fs::remove_file(&tmp).unwrap();
        // Writing our own oom_score_adj's current value is harmless and allowed.
        let cur = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
        write_proc(Path::new("/proc/self/oom_score_adj"), cur.trim()).unwrap();
    }
}
