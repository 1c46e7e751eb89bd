//! The container's filesystem view, built inside its new mount namespace:
//! propagation, the config's mounts, /dev, pivot_root, masked and read-only
//! paths. Runs in the init only, before the user process exists.
//!
//! Every target inside the rootfs is resolved with `resolve` (never following
//! a symlink out of the root) and mounted through its descriptor.

pub mod devices;
pub mod options;
pub mod resolve;
pub mod verify;

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::{Mount, Spec};

use crate::error::{Context, Error, Result};
use resolve::{create_file_in_root, fd_path, mkdir_all_in_root, open_in_root};

const NONE: Option<&str> = None;

/// What the init needs to know to build the rootfs.
pub struct RootfsPlan<'a> {
    /// The validated config.
    pub spec: &'a Spec,
    /// Absolute rootfs path on the host.
    pub rootfs: &'a Path,
    /// The bundle (relative bind sources are resolved against it).
    pub bundle: &'a Path,
    /// `--no-pivot`: move the rootfs over `/` and chroot instead of pivot_root.
    pub no_pivot: bool,
    /// The container has its own cgroup namespace.
    pub cgroup_ns: bool,
    /// The container is in a user namespace: devices are bind-mounted, not made.
    pub user_ns: bool,
    /// Detached id-mapped trees the runtime made, by index in `mounts`.
    pub idmapped: &'a std::collections::HashMap<usize, OwnedFd>,
    /// The container has its own mount namespace. Without one (runc allows it)
    /// the mounts land in the caller's namespace: no propagation changes, no
    /// pivot_root, and `delete` unmounts what is left under the rootfs.
    pub mount_ns: bool,
}

/// Build the container's mounts under the rootfs (still seen from the host's root).
pub fn setup(plan: &RootfsPlan) -> Result<()> {
    if plan.mount_ns {
        prepare_root(plan)?;
    }
    let root: OwnedFd = fs::File::open(plan.rootfs)
        .ctx(|| format!("open rootfs {}", plan.rootfs.display()))?
        .into();
    for (i, m) in plan.spec.mounts().iter().flatten().enumerate() {
        mount_one(plan, &root, m, plan.idmapped.get(&i)).map_err(|e| {
            Error::Process(format!(
                "mounts[{i}] ({} on {}): {e}",
                m.typ().as_deref().unwrap_or("bind"),
                m.destination().display()
            ))
        })?;
    }
    // In a user namespace of its own, or one the runtime itself runs in
    // (rootless podman gives none in the config): no mknod, and no writable
    // cgroup hierarchies that are not the container's.
    let in_user_ns = plan.user_ns || crate::userns::in_user_namespace();
    if in_user_ns && plan.mount_ns {
        readonly_foreign_cgroups(plan.rootfs)?;
    }
    // As runc: unless /dev is bound in from the host, the runtime fills it.
    let dev_is_bound = plan
        .spec
        .mounts()
        .iter()
        .flatten()
        .any(|m| m.destination() == Path::new("/dev") && is_bind(m));
    if !dev_is_bound {
        devices::create_default(&root, plan.spec, in_user_ns)?;
    }
    devices::create_configured(&root, plan.spec, in_user_ns)?;
    if !dev_is_bound {
        devices::create_links(&root)?;
    }
    if let Some(cwd) = plan.spec.process().as_ref().map(|p| p.cwd()) {
        // runc creates a missing cwd; do it now, before the root may turn read-only.
        mkdir_all_in_root(&root, cwd).ctx(|| format!("create process.cwd {}", cwd.display()))?;
    }
    Ok(())
}

/// Make the rootfs a private-enough mount point for pivot_root.
fn prepare_root(plan: &RootfsPlan) -> Result<()> {
    let root_prop = rootfs_propagation(plan.spec)?;
    // Our mount events must never reach the host: "/" becomes rslave, or
    // exactly what linux.rootfsPropagation asks for (as runc does).
    // An unbindable "/" would refuse the rootfs bind below: that one is applied after pivot_root only.
    let flag = root_prop
        .filter(|p| !p.contains(MsFlags::MS_UNBINDABLE))
        .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    mount(NONE, "/", NONE, flag, NONE).ctx(|| "set the propagation of /".into())?;
    // After a recursive slave or private change no mount is shared, so the
    // rootfs's parent cannot be: only other propagations need mountinfo read.
    let none_shared =
        flag.contains(MsFlags::MS_REC) && flag.intersects(MsFlags::MS_SLAVE | MsFlags::MS_PRIVATE);
    if !none_shared {
        make_parent_mount_unshared(plan.rootfs)?;
    }
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(plan.rootfs),
        plan.rootfs,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("bind mount rootfs {}", plan.rootfs.display()))?;

    Ok(())
}

/// Switch to the container's root (pivot_root, or chroot with `--no-pivot`).
pub fn enter(plan: &RootfsPlan) -> Result<()> {
    let root_prop = rootfs_propagation(plan.spec)?;
    if !plan.mount_ns {
        nix::unistd::chroot(plan.rootfs).ctx(|| format!("chroot {}", plan.rootfs.display()))?;
        return nix::unistd::chdir("/").ctx(|| "chdir /".into());
    }
    if plan.no_pivot {
        move_root(plan.rootfs)?;
    } else {
        pivot_root(plan.rootfs)?;
    }
    if let Some(p) = root_prop {
        mount(NONE, "/", NONE, p, NONE)
            .ctx(|| "apply linux.rootfsPropagation to the new /".into())?;
    }
    Ok(())
}

fn rootfs_propagation(spec: &Spec) -> Result<Option<MsFlags>> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .map(|p| {
            options::propagation_flag(p).ok_or_else(|| {
                Error::Process(format!("linux.rootfsPropagation: unknown value {p:?}"))
            })
        })
        .transpose()
}

/// Unmount whatever is still mounted at or below `rootfs` in our mount
/// namespace, deepest first (for containers without a mount namespace).
pub fn unmount_below(rootfs: &Path) -> Result<()> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo".into())?;
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|mp| PathBuf::from(unescape_mountinfo(mp)))
        .filter(|mp| mp.starts_with(rootfs) && mp != rootfs)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        match umount2(&p, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
            Err(e) => return Err(e).ctx(|| format!("unmount {}", p.display())),
        }
    }
    Ok(())
}

/// After everything else in the rootfs is done: masked paths, read-only paths, read-only root.
pub fn finish(spec: &Spec) -> Result<()> {
    if let Some(linux) = spec.linux() {
        for p in linux.readonly_paths().iter().flatten() {
            readonly_path(Path::new(p))?;
        }
        for p in linux.masked_paths().iter().flatten() {
            mask_path(Path::new(p))?;
        }
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        let flags = current_flags(Path::new("/"))?;
        mount(
            NONE,
            "/",
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags,
            NONE,
        )
        .ctx(|| "remount / read-only (root.readonly)".into())?;
    }
    Ok(())
}

fn is_bind(m: &Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

fn mount_one(
    plan: &RootfsPlan,
    root: &OwnedFd,
    m: &Mount,
    idmapped: Option<&OwnedFd>,
) -> Result<()> {
    let opts = options::parse(m.options().as_deref().unwrap_or_default())
        .map_err(|e| Error::Process(e.to_string()))?;
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroups(plan, root, m, &opts);
    }
    let dest = m.destination();
    if opts.bind || typ == "bind" {
        let source = m.source().as_deref().unwrap_or(Path::new(""));
        let source = if source.is_absolute() {
            source.to_path_buf()
        } else {
            plan.bundle.join(source)
        };
        let meta = fs::metadata(&source).ctx(|| format!("bind source {}", source.display()))?;
        let target = if meta.is_dir() {
            mkdir_all_in_root(root, dest)
        } else {
            create_file_in_root(root, dest)
        }
        .ctx(|| format!("create mount point {}", dest.display()))?;
        let rec = opts.flags & MsFlags::MS_REC;
        match idmapped {
            // config.md "idmap": the runtime cloned and mapped the source already.
            Some(tree) => crate::userns::move_mount_to(tree, &target)?,
            None if opts.idmap.is_some() => {
                return Err(Error::Process(
                    "the runtime made no id-mapped tree for this mount".into(),
                ))
            }
            None => mount(
                Some(&source),
                &fd_path(&target),
                NONE,
                MsFlags::MS_BIND | rec,
                NONE,
            )
            .ctx(|| format!("bind {}", source.display()))?,
        }
        // The old descriptor names what the mount now covers: reopen to reach the mount.
        let top =
            open_in_root(root, dest, libc::O_PATH).ctx(|| format!("open {}", dest.display()))?;
        let target = fd_path(&top);
        let extra = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            // A bind mount takes no flags at first: they need a remount, which must
            // keep the flags the kernel has locked on the source.
            let keep = current_flags(&target)?;
            mount(
                NONE,
                &target,
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra | keep,
                NONE,
            )
            .ctx(|| "remount with the mount's options".into())?;
        }
        return propagate(&target, &opts.propagation);
    }

    if matches!(typ, "proc" | "sysfs") && resolve::is_symlink_in_root(root, dest) {
        // CVE-2019-19921: a symlink here would send procfs/sysfs wherever the image likes.
        return Err(Error::Process(format!(
            "{} is a symlink in the rootfs: refusing to mount {typ} over it",
            dest.display()
        )));
    }
    let target_fd =
        mkdir_all_in_root(root, dest).ctx(|| format!("create mount point {}", dest.display()))?;
    let target = fd_path(&target_fd);
    if opts.tmpcopyup && typ == "tmpfs" {
        return mount_tmpfs_copyup(root, &target_fd, m, &opts);
    }
    let mount_label = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().clone());
    let data = crate::security::lsm::with_mount_label(typ, &opts.data, mount_label.as_deref());
    let data = (!data.is_empty()).then_some(data.as_str());
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    mount(Some(&source), &target, Some(typ), opts.flags, data).ctx(|| "mount".into())?;
    if opts.propagation.is_empty() {
        return Ok(());
    }
    let top = open_in_root(root, dest, libc::O_PATH).ctx(|| format!("open {}", dest.display()))?;
    propagate(&fd_path(&top), &opts.propagation)
}

fn propagate(target: &Path, changes: &[MsFlags]) -> Result<()> {
    for flag in changes {
        mount(NONE, target, NONE, *flag, NONE).ctx(|| "change propagation".into())?;
    }
    Ok(())
}

/// A tmpfs that starts with a copy of what it covers (runc's `tmpcopyup`).
fn mount_tmpfs_copyup(
    root: &OwnedFd,
    below: &OwnedFd,
    m: &Mount,
    opts: &options::MountOptions,
) -> Result<()> {
    // `below` still names the directory the tmpfs is about to cover.
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    mount(
        Some("tmpfs"),
        &fd_path(below),
        Some("tmpfs"),
        opts.flags - MsFlags::MS_RDONLY,
        data,
    )
    .ctx(|| "mount tmpfs".into())?;
    let top = mkdir_all_in_root(root, m.destination()).ctx(|| "open the new tmpfs".into())?;
    let top = fd_path(&top);
    copy_tree(&fd_path(below), &top)
        .ctx(|| format!("tmpcopyup into {}", m.destination().display()))?;
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        // Per mount (MS_BIND), never the superblock: see mount_cgroups.
        mount(
            NONE,
            &top,
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | opts.flags,
            data,
        )
        .ctx(|| "remount tmpfs read-only".into())?;
    }
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let to = dst.join(entry.file_name());
        let ft = meta.file_type();
        if ft.is_dir() {
            fs::create_dir(&to)?;
            copy_tree(&entry.path(), &to)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &to)?;
        } else if ft.is_file() {
            fs::copy(entry.path(), &to)?;
        } else {
            continue; // devices, sockets, fifos are not copied
        }
        lchown(&to, Some(meta.uid()), Some(meta.gid()))?;
        if !ft.is_symlink() {
            fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode()))?;
        }
    }
    Ok(())
}

/// CVE-2023-25809: in a user namespace, every cgroup filesystem the
/// container can see (its cgroup mount, or host hierarchies that came in
/// with an `rbind` of /sys, whose `ro` covers only the top mount) is
/// read-only unless the container's root owns it (a delegated cgroup).
fn readonly_foreign_cgroups(rootfs: &Path) -> Result<()> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo".into())?;
    let cgroup_dir = rootfs.join("sys/fs/cgroup");
    let me = nix::unistd::geteuid().as_raw();
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mp), Some(opts), Some(fstype)) =
            (fields.get(4), fields.get(5), fields.get(sep + 1))
        else {
            continue;
        };
        let mp = PathBuf::from(unescape_mountinfo(mp));
        let is_cgroup = matches!(*fstype, "cgroup" | "cgroup2") && mp.starts_with(rootfs);
        if !(is_cgroup || mp.starts_with(&cgroup_dir)) {
            continue;
        }
        if opts.split(',').any(|o| o == "ro") {
            continue;
        }
        let owned = fs::metadata(&mp).is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == me
        });
        if owned {
            continue;
        }
        let keep = current_flags(&mp)?;
        mount(
            NONE,
            &mp,
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep,
            NONE,
        )
        .ctx(|| {
            format!(
                "remount {} read-only (a cgroup hierarchy the container does not own)",
                mp.display()
            )
        })?;
    }
    Ok(())
}

/// The mount flags the kernel reports for the mount at `path` that a
/// remount must repeat (it refuses to clear locked ones).
fn current_flags(path: &Path) -> Result<MsFlags> {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let st = statvfs(path).ctx(|| format!("statvfs {}", path.display()))?;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs_flag, ms_flag) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs_flag) {
            out |= ms_flag;
        }
    }
    Ok(out)
}

/// Make the mount that holds `path` private, as pivot_root refuses a new root
/// whose parent mount is shared.
fn make_parent_mount_unshared(path: &Path) -> Result<()> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo".into())?;
    // (mount point, shared?) of the deepest mount holding `path`.
    let mut best: Option<(PathBuf, bool)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mp) = fields.get(4) else { continue };
        let mp = PathBuf::from(unescape_mountinfo(mp));
        let shared = fields
            .iter()
            .skip(6)
            .take_while(|f| **f != "-")
            .any(|f| f.starts_with("shared:"));
        let deeper = best
            .as_ref()
            .is_none_or(|(b, _)| mp.as_os_str().len() >= b.as_os_str().len());
        if path.starts_with(&mp) && deeper {
            best = Some((mp, shared));
        }
    }
    match best {
        // pivot_root refuses a shared parent. Slave (not private) keeps the
        // host's mount events flowing in, for rootfsPropagation slave/shared.
        Some((parent, true)) => mount(NONE, &parent, NONE, MsFlags::MS_SLAVE, NONE)
            .ctx(|| format!("make {} a slave mount", parent.display())),
        _ => Ok(()),
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
pub(crate) fn unescape_mountinfo(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pivot_root(rootfs: &Path) -> Result<()> {
    let old: OwnedFd = fs::File::open("/").ctx(|| "open /".into())?.into();
    let new: OwnedFd = fs::File::open(rootfs).ctx(|| "open rootfs".into())?.into();
    nix::unistd::fchdir(new.as_raw_fd()).ctx(|| "chdir into rootfs".into())?;
    // pivot_root(".", ".") stacks the old root on top of the new one; we then
    // detach it from under us without needing a directory for it in the image.
    nix::unistd::pivot_root(".", ".").ctx(|| format!("pivot_root into {}", rootfs.display()))?;
    nix::unistd::fchdir(old.as_raw_fd()).ctx(|| "chdir to the old root".into())?;
    mount(NONE, ".", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE)
        .ctx(|| "make the old root rslave".into())?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "detach the old root".into())?;
    nix::unistd::chdir("/").ctx(|| "chdir /".into())?;
    Ok(())
}

fn move_root(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs).ctx(|| "chdir into rootfs".into())?;
    mount(Some(rootfs), "/", NONE, MsFlags::MS_MOVE, NONE)
        .ctx(|| "move rootfs to / (--no-pivot)".into())?;
    nix::unistd::chroot(".").ctx(|| "chroot into rootfs (--no-pivot)".into())?;
    nix::unistd::chdir("/").ctx(|| "chdir /".into())?;
    Ok(())
}

fn readonly_path(path: &Path) -> Result<()> {
    match mount(
        Some(path),
        path,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    ) {
        Ok(()) => {}
        Err(nix::Error::ENOENT) => return Ok(()),
        Err(e) => return Err(e).ctx(|| format!("linux.readonlyPaths: bind {}", path.display())),
    }
    let keep = current_flags(path)?;
    mount(
        NONE,
        path,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC | keep,
        NONE,
    )
    .ctx(|| format!("linux.readonlyPaths: remount {} read-only", path.display()))
}

fn mask_path(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx(|| format!("linux.maskedPaths: {}", path.display())),
    };
    let res = if meta.is_dir() {
        mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_RDONLY, NONE)
    } else {
        // Bind the verified null device through its descriptor, never by name.
        let null = verify::dev_null(Path::new("/dev/null"))?;
        mount(Some(&fd_path(&null)), path, NONE, MsFlags::MS_BIND, NONE)
    };
    match res {
        Ok(()) | Err(nix::Error::ENOENT) => Ok(()),
        Err(e) => Err(e).ctx(|| format!("linux.maskedPaths: mask {}", path.display())),
    }
}

/// The container's cgroup hierarchy at the mount's destination: a tmpfs with
/// one directory per v1 hierarchy (plus the v2 one on hybrid hosts), or the
/// v2 hierarchy itself on pure v2 hosts. With a cgroup namespace each
/// hierarchy is mounted fresh (the kernel roots it at the container's cgroup);
/// without one, the container's own cgroup directory is bound in.
fn mount_cgroups(
    plan: &RootfsPlan,
    root: &OwnedFd,
    m: &Mount,
    opts: &options::MountOptions,
) -> Result<()> {
    let dest = m.destination();
    let flags = opts.flags
        & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME);
    let hierarchies = host_cgroup_mounts()?;
    let own = own_cgroups()?;
    let target = mkdir_all_in_root(root, dest).ctx(|| format!("create {}", dest.display()))?;
    let mut target_path = fd_path(&target);
    let pure_v2 = hierarchies
        .iter()
        .any(|h| h.fstype == "cgroup2" && h.mount_point == Path::new("/sys/fs/cgroup"));
    let reopened;
    if pure_v2 {
        // Reach the target through its parent's descriptor: mount_hierarchy
        // remounts after binding, and a descriptor of the target itself would
        // still name the directory the bind now covers (EINVAL).
        let parent = dest.parent().unwrap_or(Path::new("/"));
        let parent_fd =
            mkdir_all_in_root(root, parent).ctx(|| format!("open {}", parent.display()))?;
        let name = dest.file_name().ok_or_else(|| {
            Error::Process(format!(
                "cgroup mount destination {} has no name",
                dest.display()
            ))
        })?;
        let via_parent = fd_path(&parent_fd).join(name);
        mount_hierarchy(plan, &via_parent, &hierarchies[0], &own, flags)?;
        reopened = mkdir_all_in_root(root, dest).ctx(|| format!("open {}", dest.display()))?;
        target_path = fd_path(&reopened);
    } else {
        mount(
            Some("tmpfs"),
            &target_path,
            Some("tmpfs"),
            flags,
            Some("mode=755"),
        )
        .ctx(|| "mount tmpfs for cgroups".into())?;
        // The descriptor still names the covered directory: open the tmpfs itself.
        reopened = mkdir_all_in_root(root, dest).ctx(|| format!("open {}", dest.display()))?;
        target_path = fd_path(&reopened);
        for h in hierarchies
            .iter()
            .filter(|h| h.mount_point.starts_with("/sys/fs/cgroup"))
        {
            let Some(name) = h.mount_point.file_name() else {
                continue;
            };
            let sub = target_path.join(name);
            fs::create_dir_all(&sub).ctx(|| format!("create {}", sub.display()))?;
            mount_hierarchy(plan, &sub, h, &own, flags)?;
            if opts.flags.contains(MsFlags::MS_RDONLY) {
                let keep = current_flags(&sub)?;
                mount(
                    NONE,
                    &sub,
                    NONE,
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep,
                    NONE,
                )
                .ctx(|| format!("remount {} read-only", sub.display()))?;
            }
        }
        // Co-mounted controllers (cpu,cpuacct) are reached by the single names too.
        for entry in fs::read_dir("/sys/fs/cgroup")
            .ctx(|| "read /sys/fs/cgroup".into())?
            .flatten()
        {
            if let Ok(link) = fs::read_link(entry.path()) {
                let _ = std::os::unix::fs::symlink(link, target_path.join(entry.file_name()));
            }
        }
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        // MS_BIND makes this a per-mount change. Without it the remount would
        // reconfigure the superblock, which on cgroup v2 is the host's own
        // /sys/fs/cgroup: it would turn read-only for the whole machine.
        let keep = current_flags(&target_path)?;
        mount(
            NONE,
            &target_path,
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep,
            NONE,
        )
        .ctx(|| "remount cgroup mount read-only".into())?;
    }
    Ok(())
}

fn mount_hierarchy(
    plan: &RootfsPlan,
    target: &Path,
    h: &HostCgroupMount,
    own: &[(String, String)],
    flags: MsFlags,
) -> Result<()> {
    if plan.cgroup_ns {
        let data = if h.fstype == "cgroup" {
            Some(h.options.as_str())
        } else {
            None
        };
        return mount(Some("cgroup"), target, Some(h.fstype.as_str()), flags, data)
            .ctx(|| format!("mount {} hierarchy {}", h.fstype, h.mount_point.display()));
    }
    // Which line of /proc/self/cgroup belongs to this hierarchy?
    let path = own
        .iter()
        .find(|(ctrls, _)| {
            if h.fstype == "cgroup2" {
                ctrls.is_empty()
            } else {
                ctrls
                    .split(',')
                    .any(|c| h.options.split(',').any(|o| o == c))
            }
        })
        .map(|(_, p)| p.trim_start_matches('/').to_string())
        .unwrap_or_default();
    let source = h.mount_point.join(&path);
    mount(
        Some(&source),
        target,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("bind cgroup {}", source.display()))?;
    let keep = current_flags(target)?;
    mount(
        NONE,
        target,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | keep,
        NONE,
    )
    .ctx(|| format!("remount cgroup {}", source.display()))
}

struct HostCgroupMount {
    mount_point: PathBuf,
    fstype: String,
    /// For v1: the controllers and `name=` option, comma-separated.
    options: String,
}

fn host_cgroup_mounts() -> Result<Vec<HostCgroupMount>> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo".into())?;
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split(' ');
        let (Some(fstype), Some(_src), Some(super_opts)) = (post.next(), post.next(), post.next())
        else {
            continue;
        };
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let Some(mp) = pre.split(' ').nth(4) else {
            continue;
        };
        let options = super_opts
            .split(',')
            .filter(|o| {
                !matches!(*o, "rw" | "ro")
                    && !o.contains("nsdelegate")
                    && !o.contains("recursiveprot")
            })
            .collect::<Vec<_>>()
            .join(",");
        out.push(HostCgroupMount {
            mount_point: PathBuf::from(unescape_mountinfo(mp)),
            fstype: fstype.to_string(),
            options,
        });
    }
    Ok(out)
}

/// (controllers, path) for each line of /proc/self/cgroup.
fn own_cgroups() -> Result<Vec<(String, String)>> {
    let data = fs::read_to_string("/proc/self/cgroup").ctx(|| "read /proc/self/cgroup".into())?;
    Ok(data
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect())
}

/// Write `linux.sysctl` through the container's /proc/sys.
pub fn apply_sysctl(spec: &Spec) -> Result<()> {
    let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    for (key, value) in sysctl {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        verify::write_proc(&path, value)
            .map_err(|e| Error::Process(format!("linux.sysctl {key}={value}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo(r"/a\040b\134c"), "/a b\\c");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }
}
