//! Device nodes in the container's /dev: the defaults every container gets,
//! the config's `linux.devices`, and the standard /dev symlinks.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::AtFlags;
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, Gid, Uid};
use oci_spec::runtime::{LinuxDeviceType, Spec};

use super::resolve::{mkdir_all_in_root, relative};
use crate::error::{Context, Error, Result};

/// (path, major, minor): the devices config-linux.md "Default Devices" requires.
pub const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// Create the default devices (mode 0666, root-owned) unless the config lists them itself.
pub fn create_default(root: &OwnedFd, spec: &Spec, bind: bool) -> Result<()> {
    let configured = |p: &str| {
        spec.linux()
            .as_ref()
            .and_then(|l| l.devices().as_ref())
            .is_some_and(|d| d.iter().any(|d| d.path() == Path::new(p)))
    };
    for (path, major, minor) in DEFAULT_DEVICES {
        if configured(path) {
            continue;
        }
        let node = Node {
            kind: SFlag::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        make_node(root, Path::new(path), &node, bind)?;
    }
    Ok(())
}

/// Create every device in `linux.devices`.
pub fn create_configured(root: &OwnedFd, spec: &Spec, bind: bool) -> Result<()> {
    let Some(devices) = spec.linux().as_ref().and_then(|l| l.devices().as_ref()) else {
        return Ok(());
    };
    for (i, d) in devices.iter().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::Process(format!(
                    "linux.devices[{i}].type: \"a\" is only valid in cgroup device rules"
                )))
            }
        };
        let mode = d.file_mode().unwrap_or(0o666) & 0o7777;
        let node = Node {
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        make_node(root, d.path(), &node, bind).map_err(|e| {
            Error::Process(format!("linux.devices[{i}] ({}): {e}", d.path().display()))
        })?;
    }
    Ok(())
}

/// A device node as config-linux.md "Devices" describes it.
struct Node {
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

/// Create `path` inside `root`: mknod, or (in a user namespace, where mknod
/// is refused) a bind mount of the host's node at the same path. An existing
/// node of the same kind and number is kept; anything else there is an error
/// (config-linux.md: a conflicting file MUST be an error).
fn make_node(root: &OwnedFd, path: &Path, node: &Node, bind: bool) -> Result<()> {
    let rel = relative(path);
    let parent = rel.parent().unwrap_or(Path::new(""));
    let name = rel
        .file_name()
        .ok_or_else(|| Error::Process(format!("device path {} has no name", path.display())))?;
    let dir = mkdir_all_in_root(root, parent).ctx(|| format!("create {}", parent.display()))?;
    let want = makedev(node.major, node.minor);
    match nix::sys::stat::fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => {
            let same_kind = st.st_mode & libc::S_IFMT == node.kind.bits();
            let same_dev = node.kind == SFlag::S_IFIFO || st.st_rdev == want;
            if !(same_kind && same_dev) {
                return Err(Error::Process(format!(
                    "{} already exists and is not the requested device",
                    path.display()
                )));
            }
            if bind {
                return Ok(());
            }
        }
        Err(nix::Error::ENOENT) => {
            if bind {
                let target = super::resolve::create_file_in_root(root, path)
                    .ctx(|| format!("create {}", path.display()))?;
                return nix::mount::mount(
                    Some(path),
                    &super::resolve::fd_path(&target),
                    None::<&str>,
                    nix::mount::MsFlags::MS_BIND,
                    None::<&str>,
                )
                .ctx(|| format!("bind the host's {}", path.display()));
            }
            mknodat(
                Some(dir.as_raw_fd()),
                name,
                node.kind,
                Mode::from_bits_truncate(node.mode),
                want,
            )
            .ctx(|| format!("mknod {}", path.display()))?;
        }
        Err(e) => return Err(e).ctx(|| format!("stat {}", path.display())),
    }
    // mknod is subject to the umask; set the mode the config asked for.
    nix::sys::stat::fchmodat(
        Some(dir.as_raw_fd()),
        name,
        Mode::from_bits_truncate(node.mode),
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .or_else(|e| {
        if e == nix::Error::EOPNOTSUPP {
            Ok(())
        } else {
            Err(e)
        }
    })
    .ctx(|| format!("chmod {}", path.display()))?;
    fchownat(
        Some(dir.as_raw_fd()),
        name,
        Some(Uid::from_raw(node.uid)),
        Some(Gid::from_raw(node.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ctx(|| format!("chown {}", path.display()))
}

/// /dev/fd, /dev/std{in,out,err}, /dev/ptmx -> pts/ptmx, /dev/core.
pub fn create_links(root: &OwnedFd) -> Result<()> {
    let dev = mkdir_all_in_root(root, Path::new("/dev")).ctx(|| "open /dev".into())?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        if name == "ptmx" {
            let _ = nix::unistd::unlinkat(
                Some(dev.as_raw_fd()),
                name,
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            );
        }
        match nix::unistd::symlinkat(target, Some(dev.as_raw_fd()), name) {
            Ok(()) | Err(nix::Error::EEXIST) => {}
            Err(e) => return Err(e).ctx(|| format!("symlink /dev/{name}")),
        }
    }
    Ok(())
}
