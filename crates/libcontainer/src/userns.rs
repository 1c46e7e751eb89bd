//! User namespaces: checking id mappings, writing them for a new namespace
//! (directly, or through `newuidmap`/`newgidmap` when unprivileged, as runc
//! does), and the descriptors of id-mapped mounts (config.md "idmap").

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::runtime::LinuxIdMapping;

use crate::error::{Context, Error, ProcessError, Result};

/// The kernel's limit on lines in one uid_map/gid_map (user_namespaces(7)).
pub const MAX_MAP_LINES: usize = 340;

/// One mapping as plain numbers: (containerID, hostID, size).
pub type Map = (u32, u32, u32);

/// The mappings of a config field as plain numbers.
pub fn maps_of(m: Option<&Vec<LinuxIdMapping>>) -> Vec<Map> {
    m.into_iter()
        .flatten()
        .map(|m| (m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// What is wrong with a list of mappings, as user_namespaces(7) would refuse
/// it (EINVAL with no hint): empty ranges, ranges past 2^32-1, overlapping
/// ranges on either side, too many lines. Each problem names the entry it
/// is about (`None`: the whole list).
pub fn check_maps(maps: &[Map]) -> Vec<(Option<usize>, String)> {
    let mut out = Vec::new();
    if maps.len() > MAX_MAP_LINES {
        out.push((
            None,
            format!(
                "{} mappings: the kernel takes at most {MAX_MAP_LINES}",
                maps.len()
            ),
        ));
    }
    let end = |start: u32, size: u32| start as u64 + size as u64;
    for (i, &(c, h, s)) in maps.iter().enumerate() {
        if s == 0 {
            out.push((Some(i), "size is 0: the mapping maps nothing".into()));
            continue;
        }
        // The last id of a range must still be an id: at most 2^32 - 2 (-1 is "no id").
        for (what, start) in [("containerID", c), ("hostID", h)] {
            if end(start, s) > u32::MAX as u64 {
                out.push((
                    Some(i),
                    format!(
                        "{what} {start} + size {s} goes past the largest id {}",
                        u32::MAX - 1
                    ),
                ));
            }
        }
    }
    let overlap =
        |a: u32, sa: u32, b: u32, sb: u32| (a as u64) < end(b, sb) && (b as u64) < end(a, sa);
    for (i, &(c1, h1, s1)) in maps.iter().enumerate() {
        for (j, &(c2, h2, s2)) in maps.iter().enumerate().skip(i + 1) {
            if s1 == 0 || s2 == 0 {
                continue;
            }
            if overlap(c1, s1, c2, s2) {
                out.push((Some(j), format!("containerID range overlaps entry [{i}]")));
            }
            if overlap(h1, s1, h2, s2) {
                out.push((Some(j), format!("hostID range overlaps entry [{i}]")));
            }
        }
    }
    out
}

/// The text of a uid_map/gid_map file.
pub fn map_text(maps: &[Map]) -> String {
    maps.iter()
        .map(|(c, h, s)| format!("{c} {h} {s}\n"))
        .collect()
}

/// Parse the text of a uid_map/gid_map file.
pub fn parse_map_text(text: &str) -> Vec<Map> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (f.len() == 3).then(|| (f[0], f[1], f[2]))
        })
        .collect()
}

/// Whether an unprivileged caller can write these maps itself: one mapping of
/// exactly its own id (user_namespaces(7) "Defining user and group ID mappings").
pub fn is_self_map(maps: &[Map], own: u32) -> bool {
    matches!(maps, [(_, h, 1)] if *h == own)
}

/// Whether we may write any mapping ourselves: CAP_SETUID/CAP_SETGID in our
/// user namespace (root, in practice).
pub(crate) fn privileged() -> bool {
    caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETUID).unwrap_or(false)
        && caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETGID)
            .unwrap_or(false)
}

/// Find a helper (`newuidmap`) on PATH, as runc does.
fn find_helper(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

/// How the maps of a new user namespace get written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapWriter {
    /// We write /proc/<pid>/{uid,gid}_map ourselves.
    Direct,
    /// Through the setuid helper (`newuidmap`/`newgidmap`), which checks /etc/subuid.
    Helper,
}

/// Decide how one map file is written: privileged, or a self-mapping, is
/// written directly; anything else needs the helper, which must exist.
pub fn map_writer(maps: &[Map], own: u32, helper: &str) -> Result<MapWriter> {
    if privileged() || is_self_map(maps, own) {
        return Ok(MapWriter::Direct);
    }
    match find_helper(helper) {
        Some(_) => Ok(MapWriter::Helper),
        None => Err(ProcessError::IdMapping {
            field: if helper == "newuidmap" {
                "linux.uidMappings"
            } else {
                "linux.gidMappings"
            }
            .into(),
            reason: format!(
                "mapping {} as an unprivileged user (id {own}) needs {helper} \
                 on PATH (Debian/Ubuntu package uidmap) and a range in /etc/sub{}id, \
                 or a single mapping of id {own}",
                map_text(maps).trim_end().replace('\n', ", "),
                if helper == "newuidmap" { "u" } else { "g" }
            ),
        }
        .into()),
    }
}

/// Write the uid and gid maps of `pid`'s new user namespace (config-linux.md
/// "User namespace mappings"). An unprivileged gid self-mapping needs
/// setgroups denied first (the kernel's rule); the init then sees "deny" in
/// /proc/self/setgroups and does not call setgroups.
pub fn write_maps(pid: i32, uid: &[Map], gid: &[Map]) -> Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    let uid_how = map_writer(uid, euid, "newuidmap")?;
    let gid_how = map_writer(gid, egid, "newgidmap")?;
    if gid_how == MapWriter::Direct && !privileged() {
        fs::write(format!("/proc/{pid}/setgroups"), "deny")
            .ctx(|| format!("write \"deny\" to /proc/{pid}/setgroups"))?;
    }
    write_one(
        pid,
        "uid_map",
        "linux.uidMappings",
        uid,
        uid_how,
        "newuidmap",
    )?;
    write_one(
        pid,
        "gid_map",
        "linux.gidMappings",
        gid,
        gid_how,
        "newgidmap",
    )
}

fn write_one(
    pid: i32,
    file: &str,
    field: &str,
    maps: &[Map],
    how: MapWriter,
    helper: &str,
) -> Result<()> {
    let text = map_text(maps);
    match how {
        MapWriter::Direct => fs::write(format!("/proc/{pid}/{file}"), &text)
            .ctx(|| format!("{field}: write {text:?} to /proc/{pid}/{file}")),
        MapWriter::Helper => {
            let prog = find_helper(helper).unwrap_or_else(|| PathBuf::from(helper));
            let mut cmd = Command::new(&prog);
            cmd.arg(pid.to_string());
            for (c, h, s) in maps {
                cmd.args([c.to_string(), h.to_string(), s.to_string()]);
            }
            let out = cmd
                .output()
                .ctx(|| format!("{field}: run {}", prog.display()))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(ProcessError::IdMapping {
                    field: field.into(),
                    reason: format!(
                        "{} {pid} {}: {}",
                        prog.display(),
                        text.trim_end().replace('\n', " "),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                }
                .into())
            }
        }
    }
}

/// A user namespace with the given maps, for an id-mapped mount: a child
/// unshares it and waits; we write its maps and open its namespace file.
pub fn namespace_with_maps(uid: &[Map], gid: &[Map]) -> Result<OwnedFd> {
    let (rd, wr) = nix::unistd::pipe().ctx(|| "pipe".into())?;
    // SAFETY: the child only calls async-signal-safe functions (unshare, read, _exit).
    match unsafe { nix::unistd::fork() }.ctx(|| "fork the id-map helper".into())? {
        nix::unistd::ForkResult::Child => {
            drop(wr);
            let ok = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).is_ok();
            let mut b = [0u8; 1];
            // Wait until the parent has opened our namespace (or gave up).
            let _ = nix::unistd::read(rd.as_raw_fd(), &mut b);
            // SAFETY: _exit is always safe in a forked child.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(rd);
            let result = (|| {
                // Wait until the child is in its own user namespace.
                let mine = fs::read_link("/proc/self/ns/user").ctx(|| "read own userns".into())?;
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                loop {
                    match fs::read_link(format!("/proc/{child}/ns/user")) {
                        Ok(l) if l != mine => break,
                        _ if std::time::Instant::now() > deadline => {
                            return Err(Error::Process(
                                "the id-map helper did not create its user namespace".into(),
                            ))
                        }
                        _ => std::thread::sleep(std::time::Duration::from_millis(1)),
                    }
                }
                fs::write(format!("/proc/{child}/uid_map"), map_text(uid))
                    .ctx(|| format!("uidMappings {:?}", map_text(uid)))?;
                fs::write(format!("/proc/{child}/gid_map"), map_text(gid))
                    .ctx(|| format!("gidMappings {:?}", map_text(gid)))?;
                let f = fs::File::open(format!("/proc/{child}/ns/user"))
                    .ctx(|| "open the id-map user namespace".into())?;
                Ok(OwnedFd::from(f))
            })();
            drop(wr);
            let _ = nix::sys::wait::waitpid(child, None);
            result
        }
    }
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const AT_RECURSIVE: libc::c_uint = 0x8000;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached copy of the tree at `source` with an id mapping applied
/// (config.md "idmap"/"ridmap": `recursive` maps every mount below too),
/// ready to be attached with `move_mount`. Needs CAP_SYS_ADMIN over the
/// source's filesystem, so the runtime makes it outside the container.
pub fn idmapped_tree(
    source: &Path,
    rbind: bool,
    recursive: bool,
    userns: &OwnedFd,
) -> Result<OwnedFd> {
    let c = std::ffi::CString::new(source.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Process(format!("{} contains a NUL byte", source.display())))?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if rbind {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: a valid C string and flags; the result is a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(nix::Error::last()).ctx(|| format!("open_tree {}", source.display()));
    }
    // SAFETY: open_tree returned a new descriptor we own.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let empty = c"";
    let at = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: the struct is the kernel's mount_attr layout and outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            at,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(nix::Error::last()).ctx(|| {
            format!(
                "mount_setattr(MOUNT_ATTR_IDMAP) on {} (the filesystem must support id-mapped mounts)",
                source.display()
            )
        });
    }
    Ok(tree)
}

/// Attach a detached tree (from [`idmapped_tree`]) on the directory or file
/// `target` (an `O_PATH` descriptor resolved inside the rootfs).
pub fn move_mount_to(tree: &OwnedFd, target: &OwnedFd) -> Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    let empty = c"";
    // SAFETY: valid descriptors and C strings.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            target.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(nix::Error::last()).ctx(|| "move_mount the id-mapped tree".into());
    }
    Ok(())
}

/// The id-mapped trees of a new container's mounts (config.md "idmap"),
/// made by the runtime in the host's user namespace (mount_setattr needs
/// CAP_SYS_ADMIN over the source's filesystem): (index in `mounts`, tree).
/// `init` is the init's pid, whose user namespace maps mounts that give no
/// mappings of their own.
pub fn idmapped_trees(
    spec: &oci_spec::runtime::Spec,
    bundle: &Path,
    init: i32,
) -> Result<Vec<(usize, OwnedFd)>> {
    let mut out = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let at = |reason: String| -> Error {
            ProcessError::IdMappedMount {
                index: i,
                destination: m.destination().clone(),
                reason,
            }
            .into()
        };
        let opts = crate::rootfs::options::parse(m.options().as_deref().unwrap_or_default())
            .map_err(|e| at(e.to_string()))?;
        let uid = maps_of(m.uid_mappings().as_ref());
        let gid = maps_of(m.gid_mappings().as_ref());
        if opts.idmap.is_none() && uid.is_empty() && gid.is_empty() {
            continue;
        }
        if !privileged() || in_user_namespace() {
            // mount_setattr(MOUNT_ATTR_IDMAP) checks CAP_SYS_ADMIN in the
            // user namespace of the source's filesystem: the host's.
            return Err(at(
                "id-mapped mounts need CAP_SYS_ADMIN in the host's user namespace, \
                 which a rootless runtime does not have"
                    .into(),
            ));
        }
        let userns = if uid.is_empty() {
            fs::File::open(format!("/proc/{init}/ns/user"))
                .map(OwnedFd::from)
                .ctx(|| "open the container's user namespace".into())
        } else {
            namespace_with_maps(&uid, &gid)
        }
        .map_err(|e| at(e.to_string()))?;
        let source = m.source().as_deref().unwrap_or(Path::new(""));
        let source = if source.is_absolute() {
            source.to_path_buf()
        } else {
            bundle.join(source)
        };
        let rbind = opts.flags.contains(nix::mount::MsFlags::MS_REC);
        let tree = idmapped_tree(&source, rbind, opts.idmap == Some(true), &userns)
            .map_err(|e| at(e.to_string()))?;
        out.push((i, tree));
    }
    Ok(out)
}

/// Whether we run in a user namespace other than the host's (runc's check:
/// /proc/self/uid_map is not the identity map of every id).
pub fn in_user_namespace() -> bool {
    match fs::read_to_string("/proc/self/uid_map") {
        Ok(t) => parse_map_text(&t) != [(0, 0, u32::MAX)],
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_maps_pass() {
        assert!(check_maps(&[(0, 100000, 65536)]).is_empty());
        assert!(check_maps(&[(0, 1000, 1), (1, 100000, 65536)]).is_empty());
        assert!(check_maps(&[(0, 0, u32::MAX)]).is_empty());
    }

    #[test]
    fn bad_maps_are_named() {
        let e = check_maps(&[(0, 100000, 65536), (1000, 200000, 10)]);
        assert_eq!(
            e,
            [(Some(1), "containerID range overlaps entry [0]".to_string())]
        );
        let e = check_maps(&[(0, 100000, 10), (10, 100005, 10)]);
        assert_eq!(
            e,
            [(Some(1), "hostID range overlaps entry [0]".to_string())]
        );
        let e = check_maps(&[(0, 100000, 0)]);
        assert_eq!(e[0].0, Some(0));
        assert!(e[0].1.contains("size is 0"));
        let e = check_maps(&[(4294967000, 0, 1000)]);
        assert_eq!(e.len(), 1);
        assert!(e[0].1.contains("containerID 4294967000"), "{e:?}");
        let e = check_maps(&[(0, 4294967295, 1)]);
        assert!(e[0].1.contains("hostID"), "{e:?}");
        // The identity map of every id is fine (it ends at 2^32 - 2).
        assert!(check_maps(&[(0, 0, u32::MAX)]).is_empty());
        let many: Vec<Map> = (0..341).map(|i| (i, 100000 + i, 1)).collect();
        assert_eq!(check_maps(&many)[0].0, None);
    }

    #[test]
    fn self_maps() {
        assert!(is_self_map(&[(0, 1000, 1)], 1000));
        assert!(!is_self_map(&[(0, 1000, 2)], 1000));
        assert!(!is_self_map(&[(0, 1001, 1)], 1000));
        assert!(!is_self_map(&[(0, 1000, 1), (1, 100000, 10)], 1000));
    }

    #[test]
    fn map_text_round_trips() {
        let m = vec![(0, 1000, 1), (1, 100000, 65536)];
        assert_eq!(parse_map_text(&map_text(&m)), m);
        assert_eq!(
            parse_map_text("         0          0 4294967295\n"),
            [(0, 0, u32::MAX)]
        );
    }
}
