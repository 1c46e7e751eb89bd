//! Resolving paths inside the container's root without ever leaving it.
//!
//! A rootfs comes from an image and may hold hostile symlinks (`/proc ->
//! /host/etc`). Every mount target and device node is therefore found with
//! `openat2(RESOLVE_IN_ROOT)`, which treats the rootfs as `/` for every
//! symlink and `..` on the way, and then used through its file descriptor
//! (`/proc/self/fd/N`), so nothing can be swapped in between.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::Mode;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// Open `path` (relative to `root`, as if `root` were `/`) with `flags`.
pub fn open_in_root(root: &OwnedFd, path: &Path, flags: i32) -> nix::Result<OwnedFd> {
    let rel = relative(path);
    let target = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    let c = CString::new(target.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    loop {
        // SAFETY: `how` and `c` outlive the call; the kernel only reads them.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel just gave us this descriptor.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        match Errno::last() {
            Errno::EINTR | Errno::EAGAIN => continue,
            e => return Err(e),
        }
    }
}

/// `path` without its leading `/` and without `.` components.
pub fn relative(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect()
}

/// Create every missing directory of `path` inside `root` (mode 0755) and
/// return an `O_PATH` descriptor of the last one.
pub fn mkdir_all_in_root(root: &OwnedFd, path: &Path) -> nix::Result<OwnedFd> {
    mkdir_all_depth(root, path, 0)
}

fn mkdir_all_depth(root: &OwnedFd, path: &Path, depth: u32) -> nix::Result<OwnedFd> {
    // The kernel's own limit on nested symlinks.
    if depth > 40 {
        return Err(Errno::ELOOP);
    }
    let rel = relative(path);
    let mut dir = open_in_root(root, Path::new("."), libc::O_PATH | libc::O_DIRECTORY)?;
    let mut done = PathBuf::new();
    for comp in rel.components() {
        done.push(comp);
        match open_in_root(root, &done, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => dir = fd,
            Err(Errno::ENOENT) => {
                match nix::sys::stat::mkdirat(
                    Some(dir.as_raw_fd()),
                    comp.as_os_str(),
                    Mode::from_bits_truncate(0o755),
                ) {
                    Ok(()) => {}
                    Err(Errno::EEXIST) => {
                        // A dangling symlink: create what it points to, inside the root.
                        if let Ok(target) =
                            nix::fcntl::readlinkat(Some(dir.as_raw_fd()), comp.as_os_str())
                        {
                            let target = Path::new(&target);
                            let parent = done.parent().unwrap_or(Path::new(""));
                            let resolved = if target.is_absolute() {
                                target.to_path_buf()
                            } else {
                                parent.join(target)
                            };
                            mkdir_all_depth(root, &resolved, depth + 1)?;
                        }
                    }
                    Err(e) => return Err(e),
                }
                dir = open_in_root(root, &done, libc::O_PATH | libc::O_DIRECTORY)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(dir)
}

/// Make sure a regular file exists at `path` inside `root` (creating its
/// parents) and return an `O_PATH` descriptor of it. Used for bind mounts of
/// files and for device nodes bound over.
pub fn create_file_in_root(root: &OwnedFd, path: &Path) -> nix::Result<OwnedFd> {
    match open_in_root(root, path, libc::O_PATH) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let rel = relative(path);
    let parent = rel.parent().unwrap_or(Path::new(""));
    let name = rel.file_name().ok_or(Errno::EINVAL)?;
    // An O_PATH descriptor is a valid directory for the *at calls.
    let dir = mkdir_all_in_root(root, parent)?;
    let fd = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::OFlag::O_CREAT
            | nix::fcntl::OFlag::O_WRONLY
            | nix::fcntl::OFlag::O_CLOEXEC
            | nix::fcntl::OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o644),
    )?;
    // SAFETY: openat returned a fresh descriptor that we own.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    open_in_root(root, path, libc::O_PATH)
}

/// Whether the last component of `path` inside `root` is a symlink
/// (the components before it are resolved inside the root as usual).
pub fn is_symlink_in_root(root: &OwnedFd, path: &Path) -> bool {
    open_in_root(root, path, libc::O_PATH | libc::O_NOFOLLOW)
        .ok()
        .and_then(|fd| nix::sys::stat::fstat(fd.as_raw_fd()).ok())
        .is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// The `/proc/self/fd/N` path through which a descriptor is used as a mount target.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn open_dir(p: &Path) -> OwnedFd {
        std::fs::File::open(p).unwrap().into()
    }

    #[test]
    fn symlinks_cannot_leave_the_root() {
        let base = std::env::temp_dir().join(format!("husk-resolve-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        // An absolute symlink pointing outside, and a relative one climbing out.
        symlink("/", root.join("abs")).unwrap();
        symlink("../../outside", root.join("rel")).unwrap();
        let rootfd = open_dir(&root);

        let made = mkdir_all_in_root(&rootfd, Path::new("/abs/newdir")).unwrap();
        drop(made);
        assert!(
            root.join("newdir").is_dir(),
            "abs symlink must resolve inside the root"
        );
        mkdir_all_in_root(&rootfd, Path::new("rel/x")).unwrap();
        assert!(root.join("x").is_dir() || root.join("outside/x").is_dir());
        assert!(
            !base.join("outside/x").exists(),
            "relative symlink escaped the root"
        );
        create_file_in_root(&rootfd, Path::new("/etc/../etc/hosts")).unwrap();
        assert!(root.join("etc/hosts").is_file());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn relative_strips_root_and_dots() {
        assert_eq!(relative(Path::new("/a/./b/")), PathBuf::from("a/b"));
        assert_eq!(relative(Path::new("/")), PathBuf::new());
    }
}
