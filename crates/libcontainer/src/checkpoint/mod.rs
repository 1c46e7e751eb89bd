//! runc's `checkpoint` and `restore`: CRIU driven through its RPC interface
//! (`criu swrk`, see [`swrk`]), with runc's choices for what is external to
//! the container.
//!
//! What a checkpoint declares external, and a restore maps back:
//! - bind mounts of the config (and, in a user namespace, the device nodes,
//!   which are bind mounts of the host's), named by their destination and
//!   restored from the bundle's sources;
//! - masked paths that are files (binds of `/dev/null`), named `/dev/null`;
//! - a network or pid namespace joined by path (`extRootNetNS`,
//!   `extRootPidNS`), which must exist again at restore;
//! - the init's stdio pipes (`descriptors.json` in the image directory, as
//!   runc writes it), which on restore become the restoring process's stdio.
//!
//! A restore reads the bundle like `create`, makes the state directory and the
//! cgroup (moving the CRIU process into it first so the tree lands there),
//! binds the rootfs to `<state>/criu-root` as CRIU's root, and records the
//! restored init like `create` would, so `state`, `kill` and `delete` work.

mod rpc;
mod swrk;

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::container::{self, Runtime, Status};
use crate::error::{Error, Result};
use crate::hooks::{self, HookKind};
use crate::spec::OCI_VERSION;
use crate::state::{rfc3339_nano, ContainerDir, ContainerState, Operation};
use rpc::{CgMode, CriuOpts, ExtMountMap, InheritFd, Req, ReqType};
use swrk::Swrk;

/// The file runc writes beside the images: the init's fds 0-2 as
/// `/proc/<pid>/fd/N` links read at checkpoint time (a JSON array of strings).
pub const DESCRIPTORS_FILE: &str = "descriptors.json";
const DUMP_LOG: &str = "dump.log";
const RESTORE_LOG: &str = "restore.log";
/// CRIU's log level in runc (4: debug), so a failure's log says why.
const LOG_LEVEL: i32 = 4;

/// Errors of `checkpoint` and `restore`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// CRIU cannot be used on this machine (not installed, or its check of
    /// the kernel fails).
    #[error("checkpoint/restore is not available: {reason}")]
    Unavailable {
        /// Why: CRIU's own words where it gave some.
        reason: String,
    },
    /// CRIU refused or failed the operation.
    #[error("criu {what} failed{}{}{}", errno_text(*.errno), msg_text(.message), log_text(.log.as_deref(), .log_tail))]
    Criu {
        /// The request: `dump`, `restore`, `predump`, `check`, ...
        what: String,
        /// CRIU's errno, 0 if it gave none.
        errno: i32,
        /// CRIU's message, if any.
        message: String,
        /// CRIU's log file for the request.
        log: Option<PathBuf>,
        /// The error lines at the end of that log.
        log_tail: String,
    },
    /// The image directory is missing or not a checkpoint.
    #[error("checkpoint image directory {path}: {reason}")]
    Image {
        /// The image directory (or the file in it).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The option or container setup cannot be checkpointed or restored.
    #[error("{0}")]
    Unsupported(String),
    /// CRIU answered something that is not its protocol.
    #[error("criu rpc: {0}")]
    Protocol(String),
    /// A local step (socket, directory, descriptor) failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn errno_text(errno: i32) -> String {
    if errno == 0 {
        String::new()
    } else {
        format!(" (errno {errno}: {})", nix::Error::from_raw(errno).desc())
    }
}

fn msg_text(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn log_text(log: Option<&Path>, tail: &str) -> String {
    match (log, tail.is_empty()) {
        (Some(log), false) => format!("; {}:\n{tail}", log.display()),
        (Some(log), true) => format!("; see {}", log.display()),
        (None, _) => String::new(),
    }
}

/// runc's `--manage-cgroups-mode`: what CRIU does with the container's
/// cgroups (see criu(8) `--manage-cgroups`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManageCgroupsMode {
    /// Restore properties only of cgroups CRIU creates (CRIU's default).
    Soft,
    /// Restore every property.
    Full,
    /// Fail if the cgroup layout differs.
    Strict,
    /// Leave cgroups alone.
    Ignore,
}

impl std::str::FromStr for ManageCgroupsMode {
    type Err = CheckpointError;
    fn from_str(s: &str) -> std::result::Result<Self, CheckpointError> {
        match s {
            "soft" => Ok(Self::Soft),
            "full" => Ok(Self::Full),
            "strict" => Ok(Self::Strict),
            "ignore" => Ok(Self::Ignore),
            _ => Err(CheckpointError::Unsupported(format!(
                "invalid --manage-cgroups-mode {s:?}: expected soft, full, strict or ignore"
            ))),
        }
    }
}

impl ManageCgroupsMode {
    fn rpc(self) -> i32 {
        (match self {
            Self::Soft => CgMode::Soft,
            Self::Full => CgMode::Full,
            Self::Strict => CgMode::Strict,
            Self::Ignore => CgMode::Ignore,
        }) as i32
    }
}

/// runc's `checkpoint` flags.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    /// Where CRIU writes the images (created, mode 0700, if missing).
    pub image_path: PathBuf,
    /// CRIU's work directory (its log goes there); the image directory if `None`.
    pub work_path: Option<PathBuf>,
    /// The images of a previous pre-dump, relative to `image_path` (CRIU's `--prev-images-dir`).
    pub parent_path: Option<PathBuf>,
    /// Leave the container running after the checkpoint.
    pub leave_running: bool,
    /// Checkpoint established TCP connections.
    pub tcp_established: bool,
    /// Allow external unix sockets.
    pub ext_unix_sk: bool,
    /// The container is a shell job: its terminal's master is outside.
    pub shell_job: bool,
    /// Leave memory pages to be fetched lazily by the restore (userfaultfd).
    pub lazy_pages: bool,
    /// With `lazy_pages`: a writable descriptor that gets a `\0` once the
    /// lazy-pages server is ready.
    pub status_fd: Option<RawFd>,
    /// Send the pages to a CRIU page server at `address:port`.
    pub page_server: Option<String>,
    /// Checkpoint file locks.
    pub file_locks: bool,
    /// Only dump the memory (an iterative migration's earlier pass); the
    /// container keeps running.
    pub pre_dump: bool,
    /// What CRIU does with cgroups.
    pub manage_cgroups_mode: Option<ManageCgroupsMode>,
    /// Namespaces to create empty on restore instead of restoring (runc:
    /// only the network namespace).
    pub empty_ns: Vec<LinuxNamespaceType>,
    /// Deduplicate pages against the parent images.
    pub auto_dedup: bool,
}

/// runc's `restore` flags (`--detach` and `--no-subreaper` are the caller's:
/// the restored init is the caller's child, see [`Restored`]).
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Container id for the restored container (need not be the checkpointed one's).
    pub id: String,
    /// Bundle whose `config.json` and rootfs the container is restored into.
    pub bundle: PathBuf,
    /// The images.
    pub image_path: PathBuf,
    /// CRIU's work directory (its log goes there); the image directory if `None`.
    pub work_path: Option<PathBuf>,
    /// Restore established TCP connections.
    pub tcp_established: bool,
    /// Allow external unix sockets.
    pub ext_unix_sk: bool,
    /// The container was checkpointed as a shell job; without a console
    /// socket its terminal becomes the caller's stdin.
    pub shell_job: bool,
    /// Restore file locks.
    pub file_locks: bool,
    /// What CRIU does with cgroups.
    pub manage_cgroups_mode: Option<ManageCgroupsMode>,
    /// Unix socket that receives the new pty master of a terminal whose
    /// master was outside the container.
    pub console_socket: Option<PathBuf>,
    /// File to write the restored init's pid to.
    pub pid_file: Option<PathBuf>,
    /// runc's `--no-pivot`: refused (CRIU sets up the restored root itself).
    pub no_pivot: bool,
    /// Fetch memory pages lazily (needs a `criu lazy-pages` daemon).
    pub lazy_pages: bool,
    /// Namespaces to create empty instead of restoring (runc: only network).
    pub empty_ns: Vec<LinuxNamespaceType>,
    /// Deduplicate pages.
    pub auto_dedup: bool,
}

/// A container that `restore` brought back.
#[derive(Debug)]
pub struct Restored {
    /// Container id.
    pub id: String,
    /// Host pid of the restored init, a child of the calling process (CRIU
    /// restores it as its sibling): reap it with [`Restored::wait`] or
    /// `waitpid`, or exit and leave it to the caller's subreaper.
    pub pid: Pid,
}

impl Restored {
    /// Wait for the restored init to exit and return its exit code (128 +
    /// the signal number if a signal ended it).
    pub fn wait(&self) -> Result<i32> {
        container::wait_exit_code(self.pid)
    }
}

/// Whether CRIU can checkpoint on this machine: its RPC `check` (the
/// kernel's features, as `criu check` tests them) succeeds. The error says
/// why not, e.g. the vdso of a kernel CRIU cannot parse.
pub fn criu_check() -> Result<()> {
    // CRIU wants an images directory (for its log) even for a check.
    let tmp = std::env::temp_dir().join(format!("husk-criu-check-{}", std::process::id()));
    let dir = make_dir(&tmp, "criu check directory")?;
    let log = tmp.join("check.log");
    let res = Swrk::start(&[], false)
        .map_err(Error::from)
        .and_then(|swrk| {
            let req = Req {
                r#type: ReqType::Check as i32,
                opts: Some(CriuOpts {
                    images_dir_fd: dir.as_raw_fd(),
                    log_file: Some("check.log".into()),
                    log_level: Some(LOG_LEVEL),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let res = swrk.call(&req, Some(&log), |_, _, _| Ok(()));
            swrk.finish();
            res
        });
    drop(dir);
    let _ = fs::remove_dir_all(&tmp);
    match res {
        Ok(_) => Ok(()),
        Err(Error::Checkpoint(CheckpointError::Criu {
            message, log_tail, ..
        })) => Err(CheckpointError::Unavailable {
            reason: format!(
                "`criu check` fails on this kernel{}{}",
                msg_text(&message),
                if log_tail.is_empty() {
                    String::new()
                } else {
                    format!(":\n{log_tail}")
                }
            ),
        }
        .into()),
        Err(e) => Err(e),
    }
}

/// Ask CRIU whether it supports the features set in `want`.
fn require_features(want: rpc::Features, flag: &str) -> Result<()> {
    let swrk = Swrk::start(&[], false)?;
    let req = Req {
        r#type: ReqType::FeatureCheck as i32,
        opts: Some(CriuOpts {
            images_dir_fd: -1,
            ..Default::default()
        }),
        features: Some(want.clone()),
        ..Default::default()
    };
    let res = swrk.call(&req, None, |_, _, _| Ok(()));
    swrk.finish();
    let have = res?.features.unwrap_or_default();
    let missing = (want.mem_track == Some(true) && have.mem_track != Some(true))
        || (want.lazy_pages == Some(true) && have.lazy_pages != Some(true));
    if missing {
        return Err(CheckpointError::Unavailable {
            reason: format!("{flag}: CRIU reports the kernel lacks what it needs"),
        }
        .into());
    }
    Ok(())
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| CheckpointError::Io { what, source }.into()
}

fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    Ok(fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)?
        .into())
}

/// `mkdir -m 0700` unless it exists, then open it.
fn make_dir(path: &Path, flag: &str) -> Result<OwnedFd> {
    match fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(format!("{flag} {}", path.display()))(e)),
    }
    open_dir(path).map_err(io(format!("{flag} {}", path.display())))
}

fn namespaces(spec: &Spec) -> Vec<oci_spec::runtime::LinuxNamespace> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
}

/// runc refuses checkpoint/restore in rootless mode too (CRIU needs root).
fn require_not_rootless(rt: &Runtime) -> Result<()> {
    if rt.rootless {
        return Err(CheckpointError::Unsupported(
            "checkpoint/restore is not supported in rootless mode".into(),
        )
        .into());
    }
    Ok(())
}

/// CRIU dumps and restores the container's mount namespace around its root:
/// a container sharing the host's cannot be checkpointed (runc: the same).
fn require_own_mount_ns(spec: &Spec) -> Result<()> {
    let own = namespaces(spec)
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Mount && n.path().is_none());
    if own {
        Ok(())
    } else {
        Err(CheckpointError::Unsupported(
            "checkpoint/restore needs a container with its own mount namespace".into(),
        )
        .into())
    }
}

fn empty_ns_bits(list: &[LinuxNamespaceType]) -> Result<Option<u32>> {
    let mut bits = 0u32;
    for ns in list {
        match ns {
            LinuxNamespaceType::Network => bits |= libc::CLONE_NEWNET as u32,
            other => {
                return Err(CheckpointError::Unsupported(format!(
                    "--empty-ns {other:?}: only the network namespace can be left empty"
                ))
                .into())
            }
        }
    }
    Ok((bits != 0).then_some(bits))
}

/// The key under which a namespace joined by path is external (runc's names).
fn external_ns_key(typ: LinuxNamespaceType) -> Option<(&'static str, &'static str)> {
    match typ {
        LinuxNamespaceType::Network => Some(("net", "extRootNetNS")),
        LinuxNamespaceType::Pid => Some(("pid", "extRootPidNS")),
        _ => None,
    }
}

fn is_bind(m: &oci_spec::runtime::Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

fn has_user_ns(spec: &Spec) -> bool {
    namespaces(spec)
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User)
}

/// Paths of the device nodes the container gets: bind mounts of the host's
/// in a user namespace (rootfs/devices.rs).
fn device_paths(spec: &Spec) -> Vec<String> {
    let mut paths: Vec<String> = crate::rootfs::devices::DEFAULT_DEVICES
        .iter()
        .map(|(p, _, _)| p.to_string())
        .collect();
    for d in spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        paths.push(d.path().to_string_lossy().into_owned());
    }
    paths
}

fn mount_dest(m: &oci_spec::runtime::Mount) -> String {
    m.destination().to_string_lossy().into_owned()
}

fn page_server(spec: &str) -> Result<rpc::PageServerInfo> {
    let bad = || {
        Error::from(CheckpointError::Unsupported(format!(
            "invalid --page-server {spec:?}: expected ADDRESS:PORT"
        )))
    };
    let (addr, port) = spec.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if addr.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok(rpc::PageServerInfo {
        address: Some(addr.trim_matches(['[', ']']).to_string()),
        port: Some(port as i32),
        ..Default::default()
    })
}

/// Unmounts and removes CRIU's root bind of the rootfs when dropped.
struct CriuRoot(PathBuf);

impl Drop for CriuRoot {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
        let _ = fs::remove_dir(&self.0);
    }
}

impl Runtime {
    /// runc `checkpoint`: dump the running (or paused) container `id` into
    /// `opts.image_path` with CRIU. Unless `leave_running` or `pre_dump`,
    /// CRIU stops the container, which is then `stopped` until
    /// [`delete`](Self::delete)d.
    #[tracing::instrument(level = "debug", skip(self, opts))]
    pub fn checkpoint(&self, id: &str, opts: &CheckpointOptions) -> Result<()> {
        require_not_rootless(self)?;
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        let status = self.status_of(&dir, &state);
        if !matches!(status, Status::Running | Status::Paused) {
            return Err(container::wrong_status(id, Operation::Checkpoint, status));
        }
        let spec = &state.config;
        require_own_mount_ns(spec)?;
        if opts.status_fd.is_some() && !opts.lazy_pages {
            return Err(CheckpointError::Unsupported(
                "--status-fd is only used with --lazy-pages".into(),
            )
            .into());
        }
        if let Some(fd) = opts.status_fd {
            // runc's check: a valid, writable descriptor.
            let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).map_err(|e| {
                CheckpointError::Unsupported(format!("invalid --status-fd {fd}: {e}"))
            })?;
            if flags & (libc::O_WRONLY | libc::O_RDWR) == 0 {
                return Err(CheckpointError::Unsupported(format!(
                    "invalid --status-fd {fd}: not writable"
                ))
                .into());
            }
        }
        if opts.pre_dump {
            require_features(
                rpc::Features {
                    mem_track: Some(true),
                    ..Default::default()
                },
                "--pre-dump",
            )?;
        }
        if opts.lazy_pages {
            require_features(
                rpc::Features {
                    lazy_pages: Some(true),
                    ..Default::default()
                },
                "--lazy-pages",
            )?;
        }
        let image_dir = make_dir(&opts.image_path, "--image-path")?;
        let work_dir = opts
            .work_path
            .as_deref()
            .map(|p| make_dir(p, "--work-path"))
            .transpose()?;
        let log = opts
            .work_path
            .as_deref()
            .unwrap_or(&opts.image_path)
            .join(DUMP_LOG);

        let mut criu = CriuOpts {
            images_dir_fd: image_dir.as_raw_fd(),
            pid: Some(state.pid),
            log_level: Some(LOG_LEVEL),
            log_file: Some(DUMP_LOG.into()),
            root: Some(state.rootfs.to_string_lossy().into_owned()),
            manage_cgroups: Some(true),
            manage_cgroups_mode: opts.manage_cgroups_mode.map(ManageCgroupsMode::rpc),
            notify_scripts: Some(true),
            shell_job: Some(opts.shell_job),
            leave_running: Some(opts.leave_running),
            tcp_established: Some(opts.tcp_established),
            ext_unix_sk: Some(opts.ext_unix_sk),
            file_locks: Some(opts.file_locks),
            empty_ns: empty_ns_bits(&opts.empty_ns)?,
            orphan_pts_master: Some(true),
            auto_dedup: Some(opts.auto_dedup),
            lazy_pages: Some(opts.lazy_pages),
            work_dir_fd: work_dir.as_ref().map(|d| d.as_raw_fd()),
            ps: opts.page_server.as_deref().map(page_server).transpose()?,
            ..Default::default()
        };
        if let Some(parent) = &opts.parent_path {
            criu.parent_img = Some(parent.to_string_lossy().into_owned());
            criu.track_mem = Some(true);
        }
        if opts.pre_dump {
            criu.track_mem = Some(true);
        }
        // Namespaces joined by path stay outside the images; restore needs them back.
        for ns in namespaces(spec) {
            if let (Some(path), Some((kind, key))) = (ns.path(), external_ns_key(ns.typ())) {
                let ino = fs::metadata(path)
                    .map_err(io(format!("namespace {}", path.display())))?
                    .ino();
                criu.external.push(format!("{kind}[{ino}]:{key}"));
            }
        }
        // CRIU freezes the whole cgroup at once (v1 freezer or cgroup.freeze).
        criu.freeze_cgroup = match &state.cgroup {
            Some(crate::cgroups::CgroupState::V2 { path })
            | Some(crate::cgroups::CgroupState::Systemd { path, .. }) => {
                Some(path.to_string_lossy().into_owned())
            }
            Some(crate::cgroups::CgroupState::V1 { paths }) => paths
                .get("freezer")
                .map(|p| p.to_string_lossy().into_owned()),
            None => None,
        };
        if !opts.pre_dump {
            self.external_mounts_for_dump(&state, &mut criu.ext_mnt)?;
            write_descriptors(&opts.image_path, state.pid)?;
        }

        let req = Req {
            r#type: if opts.pre_dump {
                ReqType::PreDump
            } else {
                ReqType::Dump
            } as i32,
            opts: Some(criu),
            ..Default::default()
        };
        let swrk = Swrk::start(&[], false)?;
        let mut status_fd = opts.status_fd;
        let res = swrk.call(&req, Some(&log), |script, _, _| {
            if script == "status-ready" {
                if let Some(fd) = status_fd.take() {
                    // The lazy-pages server is up: tell whoever waits on --status-fd.
                    let _ = nix::unistd::write(
                        // SAFETY: the caller gave us this open descriptor for this purpose.
                        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
                        &[0u8],
                    );
                }
            }
            Ok(())
        });
        swrk.finish();
        res?;
        drop(image_dir);
        if !(opts.leave_running || opts.pre_dump) {
            // CRIU has stopped the processes: the container is `stopped` and
            // waits for `delete` (runc removes it here, but its `delete
            // --force` of a missing container succeeds, which husk's does
            // not; clients such as podman call it after a checkpoint).
            self.ensure_stopped(&state)?;
        }
        Ok(())
    }

    fn external_mounts_for_dump(
        &self,
        state: &ContainerState,
        ext: &mut Vec<ExtMountMap>,
    ) -> Result<()> {
        let spec = &state.config;
        let mut add = |key: String, val: String| ext.push(ExtMountMap { key, val });
        for m in spec.mounts().iter().flatten() {
            if is_bind(m) {
                add(mount_dest(m), mount_dest(m));
            }
        }
        // Masked files are binds of /dev/null; masked directories are tmpfs mounts CRIU dumps.
        for p in spec
            .linux()
            .as_ref()
            .and_then(|l| l.masked_paths().as_ref())
            .into_iter()
            .flatten()
        {
            let inside = format!("/proc/{}/root/{}", state.pid, p.trim_start_matches('/'));
            match fs::metadata(&inside) {
                Ok(md) if !md.is_dir() => add(p.clone(), "/dev/null".into()),
                _ => {}
            }
        }
        if has_user_ns(spec) {
            for p in device_paths(spec) {
                add(p.clone(), p);
            }
        }
        Ok(())
    }

    /// runc `restore`: bring back the container checkpointed in
    /// `opts.image_path` as `opts.id`, from the bundle `opts.bundle`. On
    /// failure nothing of it is left behind.
    #[tracing::instrument(level = "debug", skip_all, fields(id = %opts.id))]
    pub fn restore(&self, opts: &RestoreOptions) -> Result<Restored> {
        crate::state::validate_id(&opts.id)?;
        require_not_rootless(self)?;
        if opts.no_pivot {
            return Err(CheckpointError::Unsupported(
                "--no-pivot: CRIU sets up the restored container's root itself; \
                 restoring without pivot_root is not supported"
                    .into(),
            )
            .into());
        }
        let cache = crate::security::seccomp_cache::FilterCache::in_root(self.root.path());
        let checked = crate::spec::load_checked_with(
            &opts.bundle,
            &crate::spec::CheckOptions {
                id: Some(&opts.id),
                seccomp_cache: Some(&cache),
                systemd_cgroup: self.systemd_cgroup,
            },
        )?;
        let bundle = checked.bundle;
        require_own_mount_ns(&bundle.spec)?;
        let empty_ns = empty_ns_bits(&opts.empty_ns)?;
        // The images must be there before anything is made.
        let image_dir = open_dir(&opts.image_path).map_err(|e| CheckpointError::Image {
            path: opts.image_path.clone(),
            reason: e.to_string(),
        })?;
        let descriptors = read_descriptors(&opts.image_path)?;
        let work_dir = opts
            .work_path
            .as_deref()
            .map(|p| make_dir(p, "--work-path"))
            .transpose()?;
        let log = opts
            .work_path
            .as_deref()
            .unwrap_or(&opts.image_path)
            .join(RESTORE_LOG);
        let console = opts
            .console_socket
            .as_deref()
            .map(container::connect_console)
            .transpose()?;

        let dir = self.root.create(&opts.id)?;
        let mut restored_pid = None;
        let res = self.restore_in(
            &dir,
            &bundle,
            opts,
            Prepared {
                image_dir,
                work_dir,
                log,
                descriptors,
                empty_ns,
                console,
            },
            &mut restored_pid,
        );
        match res {
            Ok(r) => Ok(r),
            Err(e) => {
                if let Some(pid) = restored_pid {
                    let _ = kill(pid, Signal::SIGKILL);
                    let _ = waitpid(pid, None);
                }
                let _ = dir.remove();
                Err(e)
            }
        }
    }

    fn restore_in(
        &self,
        dir: &ContainerDir,
        bundle: &crate::spec::Bundle,
        opts: &RestoreOptions,
        p: Prepared,
        restored_pid: &mut Option<Pid>,
    ) -> Result<Restored> {
        let spec = &bundle.spec;
        let linux = spec.linux().as_ref();
        let cgroup = crate::cgroups::manager(
            linux
                .and_then(|l| l.cgroups_path().as_ref())
                .and_then(|c| c.to_str()),
            &opts.id,
            self.systemd_cgroup,
        )?;
        // Cgroups that exist already are joined, not the container's own: a
        // failed restore and `delete` leave them (runtime.md "Delete").
        let cgroup_preexisting = cgroup.existing_directories();
        crate::recovery::Unfinished {
            pid: 0,
            pid_start_time: 0,
            cgroup: cgroup.state(),
            cgroup_preexisting: cgroup_preexisting.clone(),
            rootfs: bundle.rootfs.clone(),
            mount_ns: true,
        }
        .note(dir)?;
        let result = (|| -> Result<Restored> {
            let root = dir.path.join("criu-root");
            fs::DirBuilder::new()
                .mode(0o755)
                .create(&root)
                .map_err(io(format!("mkdir {}", root.display())))?;
            let root = CriuRoot(root);
            mount(
                Some(&bundle.rootfs),
                &root.0,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| CheckpointError::Io {
                what: format!("bind {} to {}", bundle.rootfs.display(), root.0.display()),
                source: e.into(),
            })?;

            let mut criu = CriuOpts {
                images_dir_fd: p.image_dir.as_raw_fd(),
                log_level: Some(LOG_LEVEL),
                log_file: Some(RESTORE_LOG.into()),
                rst_sibling: Some(true),
                root: Some(root.0.to_string_lossy().into_owned()),
                manage_cgroups: Some(true),
                manage_cgroups_mode: opts.manage_cgroups_mode.map(ManageCgroupsMode::rpc),
                notify_scripts: Some(true),
                shell_job: Some(opts.shell_job),
                ext_unix_sk: Some(opts.ext_unix_sk),
                tcp_established: Some(opts.tcp_established),
                file_locks: Some(opts.file_locks),
                empty_ns: p.empty_ns,
                orphan_pts_master: Some(p.console.is_some()),
                auto_dedup: Some(opts.auto_dedup),
                lazy_pages: Some(opts.lazy_pages),
                work_dir_fd: p.work_dir.as_ref().map(|d| d.as_raw_fd()),
                ..Default::default()
            };
            self.external_mounts_for_restore(bundle, &mut criu.ext_mnt);
            // Namespaces joined by path: hand CRIU the same ones again.
            let mut keep = Vec::new();
            let mut ns_files = Vec::new();
            for ns in namespaces(spec) {
                let (Some(path), Some((_, key))) = (ns.path(), external_ns_key(ns.typ())) else {
                    continue;
                };
                if ns.typ() == LinuxNamespaceType::Network && p.empty_ns.is_some() {
                    continue;
                }
                let f =
                    fs::File::open(path).map_err(io(format!("namespace {}", path.display())))?;
                criu.inherit_fd.push(InheritFd {
                    key: key.into(),
                    fd: f.as_raw_fd(),
                });
                keep.push(f.as_raw_fd());
                ns_files.push(f);
            }
            // The init's stdio pipes become ours (runc: the restoring process's stdio).
            for (fd, what) in p.descriptors.iter().enumerate().take(3) {
                if what.contains("pipe:") {
                    criu.inherit_fd.push(InheritFd {
                        key: what.clone(),
                        fd: fd as i32,
                    });
                }
            }

            let swrk = Swrk::start(&keep, true)?;
            // CRIU restores the tree into the cgroup it runs in, below cg_root.
            cgroup.apply(swrk.pid())?;
            cgroup.set(&container::resources_with_default_devices(spec))?;
            criu.cg_root = cgroup_roots(swrk.pid(), cgroup.state())?;
            let req = Req {
                r#type: ReqType::Restore as i32,
                opts: Some(criu),
                ..Default::default()
            };
            let res = swrk.call(&req, Some(&p.log), |script, pid, fd| {
                match script {
                    "setup-namespaces" => run_restore_hooks(spec, &opts.id, bundle, pid)?,
                    "post-restore" if pid > 0 => *restored_pid = Some(Pid::from_raw(pid)),
                    "orphan-pts-master" => {
                        let (Some(console), Some(master)) = (&p.console, fd) else {
                            return Err(CheckpointError::Protocol(
                                "criu sent a pty master without a console socket to send it to"
                                    .into(),
                            )
                            .into());
                        };
                        crate::process::console::send_fd(
                            console.as_raw_fd(),
                            master.as_raw_fd(),
                            b"orphan-pts-master",
                        )?;
                    }
                    _ => {}
                }
                Ok(())
            });
            swrk.finish();
            drop(ns_files);
            let resp = res?;
            let pid = resp
                .restore
                .map(|r| Pid::from_raw(r.pid))
                .or(*restored_pid)
                .ok_or_else(|| {
                    CheckpointError::Protocol("criu restore answered without a pid".into())
                })?;
            *restored_pid = Some(pid);
            drop(root);

            let state = ContainerState {
                oci_version: OCI_VERSION.into(),
                id: opts.id.clone(),
                pid: pid.as_raw(),
                pid_start_time: self
                    .sys
                    .proc_stat(pid.as_raw())
                    .map(|s| s.start_time)
                    .unwrap_or(0),
                bundle: bundle.path.clone(),
                rootfs: bundle.rootfs.clone(),
                created: rfc3339_nano(SystemTime::now()),
                owner: String::new(),
                annotations: spec.annotations().clone().unwrap_or_default(),
                cgroup: Some(cgroup.state()),
                cgroup_preexisting: cgroup_preexisting.clone(),
                cgroup_skipped: false,
                config: spec.clone(),
                no_new_keyring: false,
            };
            dir.save(&state)?;
            crate::recovery::finished(dir);
            if let Some(pid_file) = &opts.pid_file {
                container::write_pid_file(pid_file, pid.as_raw())?;
            }
            Ok(Restored {
                id: opts.id.clone(),
                pid,
            })
        })();
        if result.is_err() {
            if let Some(pid) = restored_pid.take() {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
            }
            let _ = cgroup.destroy_except(&cgroup_preexisting);
        }
        result
    }

    fn external_mounts_for_restore(
        &self,
        bundle: &crate::spec::Bundle,
        ext: &mut Vec<ExtMountMap>,
    ) {
        let spec = &bundle.spec;
        for m in spec.mounts().iter().flatten() {
            if is_bind(m) {
                let source = m.source().clone().unwrap_or_default();
                let source = if source.is_relative() {
                    bundle.path.join(source)
                } else {
                    source
                };
                ext.push(ExtMountMap {
                    key: mount_dest(m),
                    val: source.to_string_lossy().into_owned(),
                });
            }
        }
        let masked = spec
            .linux()
            .as_ref()
            .and_then(|l| l.masked_paths().as_ref())
            .is_some_and(|m| !m.is_empty());
        if masked {
            ext.push(ExtMountMap {
                key: "/dev/null".into(),
                val: "/dev/null".into(),
            });
        }
        if has_user_ns(spec) {
            for p in device_paths(spec) {
                ext.push(ExtMountMap {
                    key: p.clone(),
                    val: p,
                });
            }
        }
    }
}

/// What `restore` opened before the state directory existed.
struct Prepared {
    image_dir: OwnedFd,
    work_dir: Option<OwnedFd>,
    log: PathBuf,
    descriptors: Vec<String>,
    empty_ns: Option<u32>,
    console: Option<OwnedFd>,
}

/// runc runs the prestart and createRuntime hooks once CRIU has made the namespaces.
fn run_restore_hooks(spec: &Spec, id: &str, bundle: &crate::spec::Bundle, pid: i32) -> Result<()> {
    let Some(h) = spec.hooks().as_ref() else {
        return Ok(());
    };
    let json = serde_json::json!({
        "ociVersion": OCI_VERSION, "id": id, "status": "creating", "pid": pid,
        "bundle": bundle.path, "annotations": spec.annotations().clone().unwrap_or_default(),
    })
    .to_string();
    for (kind, list) in [
        (HookKind::Prestart, h.prestart().as_ref()),
        (HookKind::CreateRuntime, h.create_runtime().as_ref()),
    ] {
        if let Some(list) = list {
            hooks::run_all(kind, list, &json).map_err(crate::error::ProcessError::from)?;
        }
    }
    Ok(())
}

/// `cg_root` for CRIU: the container's cgroup, as the CRIU process (moved
/// into it) sees it in /proc/PID/cgroup: one entry per v1 hierarchy, or the
/// one v2 path.
fn cgroup_roots(pid: i32, state: crate::cgroups::CgroupState) -> Result<Vec<rpc::CgroupRoot>> {
    let path = format!("/proc/{pid}/cgroup");
    let text = fs::read_to_string(&path).map_err(io(format!("read {path}")))?;
    let v2 = matches!(state, crate::cgroups::CgroupState::V2 { .. });
    let mut roots = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(cg)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        match (ctrl.is_empty(), v2) {
            (true, true) => roots.push(rpc::CgroupRoot {
                ctrl: None,
                path: cg.into(),
            }),
            (false, false) => roots.push(rpc::CgroupRoot {
                ctrl: Some(ctrl.into()),
                path: cg.into(),
            }),
            _ => {}
        }
    }
    Ok(roots)
}

fn write_descriptors(image_path: &Path, pid: i32) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|fd| {
            fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "/dev/null".into())
        })
        .collect();
    let path = image_path.join(DESCRIPTORS_FILE);
    let json = serde_json::to_vec(&fds).map_err(|e| CheckpointError::Protocol(e.to_string()))?;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &json))
        .map_err(io(format!("write {}", path.display())))
}

fn read_descriptors(image_path: &Path) -> Result<Vec<String>> {
    let path = image_path.join(DESCRIPTORS_FILE);
    let data = fs::read(&path).map_err(|e| CheckpointError::Image {
        path: path.clone(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "missing: not a checkpoint made by `checkpoint`".into()
        } else {
            e.to_string()
        },
    })?;
    serde_json::from_slice(&data).map_err(|e| {
        CheckpointError::Image {
            path,
            reason: format!("corrupt: {e}"),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_server_address() {
        let ps = page_server("10.0.0.1:8000").unwrap();
        assert_eq!(ps.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(ps.port, Some(8000));
        assert_eq!(
            page_server("[::1]:27").unwrap().address.as_deref(),
            Some("::1")
        );
        for bad in ["host", ":80", "host:0", "host:x", "host:70000"] {
            assert!(page_server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn manage_cgroups_modes() {
        for (s, v) in [("soft", 3), ("full", 4), ("strict", 5), ("ignore", 0)] {
            assert_eq!(s.parse::<ManageCgroupsMode>().unwrap().rpc(), v);
        }
        assert!("props".parse::<ManageCgroupsMode>().is_err());
    }

    #[test]
    fn empty_ns_only_network() {
        assert_eq!(
            empty_ns_bits(&[LinuxNamespaceType::Network]).unwrap(),
            Some(libc::CLONE_NEWNET as u32)
        );
        assert_eq!(empty_ns_bits(&[]).unwrap(), None);
        assert!(empty_ns_bits(&[LinuxNamespaceType::Pid]).is_err());
    }

    #[test]
    fn descriptors_missing_or_corrupt_is_an_image_error() {
        let dir = std::env::temp_dir().join(format!("husk-desc-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let missing = read_descriptors(&dir).unwrap_err().to_string();
        assert!(missing.contains("missing"), "{missing}");
        fs::write(dir.join(DESCRIPTORS_FILE), "{not json").unwrap();
        let corrupt = read_descriptors(&dir).unwrap_err().to_string();
        fs::remove_dir_all(&dir).unwrap();
        assert!(corrupt.contains("corrupt"), "{corrupt}");
    }
}
