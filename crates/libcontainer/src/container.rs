//! The lifecycle operations of runtime.md: create, start, state, kill,
//! delete, list. A [`Runtime`] is a state root; every operation names a
//! container by id, takes its lock, works and releases it.
//!
//! Process model: `create` clones the init straight into its new namespaces,
//! does the outside work (cgroup, id maps, createRuntime hooks) while the init
//! waits on the channel, records the state once the init reports ready and
//! returns. The init then blocks on the exec fifo until `start` reads it. No
//! process of ours stays behind.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nix::sched::CloneFlags;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceType, LinuxNamespaceType, LinuxResources, Spec,
};
use serde::Serialize;

use crate::cgroups;
use crate::error::{Context, Error, ProcessError, Result};
use crate::hooks::{self, HookKind};
use crate::process::channel::{self, FromInit, ToInit};
use crate::process::clone::{clone_process, Forked};
use crate::process::init::{self, clone_flag, InitContext};
use crate::security::seccomp;
use crate::security::seccomp_cache::FilterCache;
use crate::spec::{Bundle, OCI_VERSION};
use crate::state::{rfc3339_nano, ContainerDir, ContainerState, Operation, StateError, StateRoot};
use crate::syscall::{Host, Syscall};

/// A container's status, as runtime.md defines it (plus runc's `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created.
    Creating,
    /// Created; the user process has not been started.
    Created,
    /// The user process runs.
    Running,
    /// Frozen in its cgroup.
    Paused,
    /// The process has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// The state runtime.md "State" defines, with runc's extra fields, as `husk state` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// Spec version of this state.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Init pid on the host; 0 once stopped.
    pub pid: i32,
    /// Current status.
    pub status: Status,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path (runc).
    pub rootfs: PathBuf,
    /// Creation time (runc).
    pub created: String,
    /// Annotations from config.json.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    /// Owner of the container (runc).
    pub owner: String,
}

/// How to create a container (runc's `create` flags, plus a spec built in code).
///
/// ```
/// # use libcontainer::CreateOptions;
/// // From a bundle on disk: <bundle>/config.json.
/// let from_disk = CreateOptions::new("web", "/var/lib/bundles/web");
/// // From a spec built in code: no config.json is read.
/// let from_code = CreateOptions::new("job", "/tmp/job")
///     .with_spec(oci_spec::runtime::Spec::default());
/// assert!(from_disk.spec.is_none() && from_code.spec.is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Container id (letters, digits, `_ + - .`).
    pub id: String,
    /// Bundle directory. Without [`spec`](Self::spec), `config.json` is read
    /// from it; with one, a relative `root.path` is resolved against it. It
    /// is the bundle [`OciState::bundle`] and the hooks report either way.
    pub bundle: PathBuf,
    /// A spec built in code, used instead of `<bundle>/config.json`. It goes
    /// through exactly the checks a config.json holding it would.
    pub spec: Option<Box<Spec>>,
    /// Unix socket that receives the pty master when `process.terminal` is true.
    pub console_socket: Option<PathBuf>,
    /// File to write the init's pid to.
    pub pid_file: Option<PathBuf>,
    /// Use chroot after moving the rootfs instead of pivot_root.
    pub no_pivot: bool,
    /// Do not give the container its own session keyring.
    pub no_new_keyring: bool,
    /// Pass fds 3..3+N to the container process.
    pub preserve_fds: u32,
}

impl CreateOptions {
    /// Options for container `id` from the bundle directory `bundle`; the
    /// other fields are runc's defaults.
    pub fn new(id: impl Into<String>, bundle: impl Into<PathBuf>) -> Self {
        CreateOptions {
            id: id.into(),
            bundle: bundle.into(),
            ..Default::default()
        }
    }

    /// Use `spec` instead of `<bundle>/config.json`.
    pub fn with_spec(mut self, spec: Spec) -> Self {
        self.spec = Some(Box::new(spec));
        self
    }
}

/// A container that `create` made. Dropping it does nothing to the container.
#[derive(Debug)]
pub struct Created {
    /// Container id.
    pub id: String,
    /// Host pid of the init. It is a child of the calling process, so the
    /// caller reaps it: [`Created::wait`], or its own `waitpid`. Until then
    /// an exited init is a zombie, which [`Runtime::state`] reports `stopped`.
    pub pid: Pid,
}

impl Created {
    /// Wait for the container's init to exit and return its exit code
    /// (128 + the signal number if a signal ended it, as a shell reports it).
    pub fn wait(&self) -> Result<i32> {
        wait_exit_code(self.pid)
    }
}

/// The standard streams of a new container process: each one given is the
/// process's fd 0, 1 or 2; each `None` is inherited from the caller. The
/// runtime closes its copies once the process has them, so the read end of
/// a pipe given as `stdout` sees end-of-file when the process exits.
///
/// Ignored for a process with a terminal (`process.terminal`): it gets the pty.
#[derive(Debug, Default)]
pub struct Stdio {
    /// fd 0.
    pub stdin: Option<OwnedFd>,
    /// fd 1.
    pub stdout: Option<OwnedFd>,
    /// fd 2.
    pub stderr: Option<OwnedFd>,
}

impl Stdio {
    /// All three inherited from the caller (what [`Runtime::create`] and
    /// [`Runtime::exec`] use).
    pub fn inherit() -> Self {
        Stdio::default()
    }

    /// Move the given descriptors to `min` or above (close-on-exec), clear of
    /// fds 0-2 and of the preserved range, so the child's `dup2`s cannot
    /// overwrite one another.
    pub(crate) fn raised(self, min: RawFd) -> Result<Stdio> {
        let up = |fd: Option<OwnedFd>| fd.map(|fd| raise_fd(fd, min)).transpose();
        Ok(Stdio {
            stdin: up(self.stdin)?,
            stdout: up(self.stdout)?,
            stderr: up(self.stderr)?,
        })
    }

    /// In the child, right after the clone: put the streams in place.
    pub(crate) fn install(&self) -> Result<()> {
        for (fd, target) in [(&self.stdin, 0), (&self.stdout, 1), (&self.stderr, 2)] {
            if let Some(fd) = fd {
                nix::unistd::dup2(fd.as_raw_fd(), target)
                    .ctx(|| format!("dup2 the given stdio onto fd {target}"))?;
            }
        }
        Ok(())
    }
}

/// A state root and the operations on the containers in it.
///
/// A `Runtime` holds no open files and no global state: any number may
/// exist, for the same or different roots, in any threads. Operations on one
/// container are serialised by a lock file in its state directory, also
/// against other processes (e.g. the `husk` binary) using the same root.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub(crate) root: StateRoot,
    pub(crate) sys: Arc<dyn Syscall>,
    /// Rootless mode (`--rootless`): cgroups that cannot be written are
    /// skipped with a warning instead of failing create, unless the config
    /// asks for limits; no device cgroup rules.
    pub(crate) rootless: bool,
    /// runc's `--systemd-cgroup`: new containers get a systemd scope unit.
    pub(crate) systemd_cgroup: bool,
}

impl Runtime {
    /// Containers live under `root` (e.g. `/run/husk`), created (mode 0700)
    /// when the first container is.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime {
            root: StateRoot::new(root),
            sys: Arc::new(Host),
            rootless: false,
            systemd_cgroup: false,
        }
    }

    /// The same runtime in rootless mode (or not): a cgroup that cannot be
    /// written is skipped with a warning instead of failing `create`, unless
    /// the config asks for limits; no device cgroup rules.
    pub fn with_rootless(mut self, rootless: bool) -> Self {
        self.rootless = rootless;
        self
    }

    /// The same runtime with the systemd cgroup driver (runc's global
    /// `--systemd-cgroup`) for the containers it creates (and the bundles it
    /// checks): `linux.cgroupsPath` is then `slice:prefix:name` (empty: a
    /// scope `husk-<id>.scope` in system.slice), on pure cgroup v2 hosts
    /// with systemd; elsewhere `create` fails saying so. Existing containers
    /// keep the driver recorded in their state, whatever this says.
    pub fn with_systemd_cgroup(mut self, systemd: bool) -> Self {
        self.systemd_cgroup = systemd;
        self
    }

    /// Every problem with the bundle in `dir` for this runtime's settings,
    /// one per JSON path (what `husk validate` prints). Empty if
    /// [`create`](Self::create) would accept it.
    pub fn check_bundle(&self, dir: &std::path::Path) -> Vec<crate::Problem> {
        let opts = crate::spec::CheckOptions {
            systemd_cgroup: self.systemd_cgroup,
            ..Default::default()
        };
        match crate::spec::load_checked_with(dir, &opts) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems(),
        }
    }

    /// A runtime whose host operations go to `sys` (the unit tests' double).
    #[cfg(test)]
    pub(crate) fn with_syscall(root: impl Into<PathBuf>, sys: Arc<dyn Syscall>) -> Self {
        Runtime {
            root: StateRoot::new(root),
            sys,
            rootless: false,
            systemd_cgroup: false,
        }
    }

    /// runtime.md "create": build the container from `opts.bundle` (or
    /// `opts.spec`) and leave it `created`: its init waits in its namespaces
    /// and cgroup until [`start`](Self::start). Its stdio is the caller's.
    pub fn create(&self, opts: &CreateOptions) -> Result<Created> {
        self.create_with_stdio(opts, Stdio::inherit())
    }

    /// [`create`](Self::create), with the init's stdin, stdout and stderr
    /// (and so the container program's) given by `stdio`.
    #[tracing::instrument(name = "create", level = "debug", skip_all, fields(id = %opts.id))]
    pub fn create_with_stdio(&self, opts: &CreateOptions, stdio: Stdio) -> Result<Created> {
        crate::state::validate_id(&opts.id)?;
        // Every config check runs here, before anything exists; `husk validate` runs the same.
        let crate::spec::Checked {
            bundle,
            seccomp: filter,
            cgroup,
        } = tracing::debug_span!("check").in_scope(|| {
            let cache = FilterCache::in_root(self.root.path());
            let check = crate::spec::CheckOptions {
                id: Some(&opts.id),
                seccomp_cache: Some(&cache),
                systemd_cgroup: self.systemd_cgroup,
            };
            match &opts.spec {
                Some(spec) => crate::spec::check_spec(&opts.bundle, spec, &check),
                None => crate::spec::load_checked_with(&opts.bundle, &check),
            }
        })?;
        let dir = self.root.create(&opts.id)?;
        crate::faults::stop_at("after-state-dir");
        match self.create_in(&dir, &bundle, opts, filter, cgroup, stdio) {
            Ok(created) => Ok(created),
            Err(e) => {
                let _ = dir.remove();
                Err(e)
            }
        }
    }

    /// runtime.md "start": run the user program of a `created` container.
    /// Returns once it is exec'd (and the poststart hooks ran).
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn start(&self, id: &str) -> Result<()> {
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        match self.status_of(&dir, &state) {
            Status::Created => {}
            status => return Err(wrong_status(id, Operation::Start, status)),
        }
        if state.config.process().is_none() {
            return Err(ProcessError::NoProcess { id: id.into() }.into());
        }
        self.release_init(&dir, &state)?;
        if let Some(list) = state
            .config
            .hooks()
            .as_ref()
            .and_then(|h| h.poststart().as_ref())
        {
            // The state of the container the start operation just started:
            // `running`, with the init's pid, even if a short program (`true`)
            // has already exited by the time the hooks run (crun alike).
            let mut started = self.oci_state(&dir, &state);
            started.status = Status::Running;
            started.pid = state.pid;
            let json = state_json(&started);
            // runtime.md "Lifecycle" 9: a failed poststart hook is an error and stops the container.
            if let Err(e) = hooks::run_all(HookKind::Poststart, list, &json) {
                let _ = self.kill_and_wait(&state);
                return Err(ProcessError::Hook(e).into());
            }
        }
        Ok(())
    }

    /// runtime.md "state": the container's state, its status derived from
    /// the live process and cgroup.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn state(&self, id: &str) -> Result<OciState> {
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        Ok(self.oci_state(&dir, &state))
    }

    /// runtime.md "kill": send `signal` to the init, or with `all` to every
    /// process in the container's cgroup. SIGKILL also thaws a paused
    /// container (a frozen task cannot act on it).
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<()> {
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        let status = self.status_of(&dir, &state);
        if all && state.cgroup_skipped {
            // No cgroup to list: the init, whose pid namespace goes with it.
            if status != Status::Stopped {
                signal::kill(Pid::from_raw(state.pid), signal)
                    .ctx(|| format!("send {signal} to container {id} (pid {})", state.pid))?;
            }
            return Ok(());
        }
        if all {
            let cg = self.cgroup_of(&state)?;
            for pid in cg.pids()? {
                // One may exit between the listing and the signal.
                let _ = self.sys.kill(Pid::from_raw(pid), signal);
            }
            if signal == Signal::SIGKILL {
                self.thaw_if_frozen(&state);
            }
            return Ok(());
        }
        if status == Status::Stopped {
            return Err(wrong_status(id, Operation::Kill, status));
        }
        self.sys
            .kill(Pid::from_raw(state.pid), signal)
            .ctx(|| format!("send {signal} to container {id} (pid {})", state.pid))?;
        if signal == Signal::SIGKILL && status == Status::Paused {
            self.thaw_if_frozen(&state);
        }
        Ok(())
    }

    /// runtime.md "delete": remove a stopped (or, with `force`, any)
    /// container: its cgroup, its state, and (outside a mount namespace of
    /// its own) its mounts; then the poststop hooks.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let dir = match self.root.open(id) {
            // No state.json: a create at work, or one that died (recovery.rs).
            Err(StateError::NotFound(_)) if force => {
                return match crate::recovery::delete_unfinished(&self.root, id)? {
                    crate::recovery::Outcome::Removed => Ok(()),
                    crate::recovery::Outcome::Changed => self.delete(id, force),
                };
            }
            dir => dir?,
        };
        let state = dir.load()?;
        let status = self.status_of(&dir, &state);
        match status {
            Status::Stopped => {}
            // runtime.md "delete": anything not stopped is an error without --force
            // (runc 1.1 also deletes `created` containers; the spec does not).
            _ if force => {
                self.kill_and_wait(&state)?;
                crate::faults::stop_at("delete-after-kill");
            }
            s => return Err(wrong_status(id, Operation::Delete, s)),
        }
        self.destroy(dir, &state)
    }

    /// runc `list`: the state of every container under the root.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn list(&self) -> Result<Vec<OciState>> {
        let mut out = Vec::new();
        crate::recovery::warn_abandoned(&self.root);
        for id in self.root.list()? {
            match self.state(&id) {
                Ok(s) => out.push(s),
                Err(Error::State(StateError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The state root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    fn create_in(
        &self,
        dir: &ContainerDir,
        bundle: &Bundle,
        opts: &CreateOptions,
        filter: Option<seccomp::Filter>,
        cgroup: Option<Box<dyn cgroups::Manager>>,
        stdio: Stdio,
    ) -> Result<Created> {
        create_in(
            self.sys.as_ref(),
            dir,
            bundle,
            opts,
            filter,
            cgroup,
            stdio,
            self.rootless,
            self.systemd_cgroup,
        )
    }

    pub(crate) fn status_of(&self, dir: &ContainerDir, state: &ContainerState) -> Status {
        status_of(self.sys.as_ref(), dir, state)
    }

    pub(crate) fn init_alive(&self, state: &ContainerState) -> bool {
        init_alive(self.sys.as_ref(), state)
    }

    pub(crate) fn cgroup_of(&self, state: &ContainerState) -> Result<Box<dyn cgroups::Manager>> {
        cgroup_of(self.sys.as_ref(), state)
    }

    fn oci_state(&self, dir: &ContainerDir, state: &ContainerState) -> OciState {
        oci_state(self.sys.as_ref(), dir, state)
    }

    fn release_init(&self, dir: &ContainerDir, state: &ContainerState) -> Result<()> {
        release_init(self.sys.as_ref(), dir, state)
    }

    fn kill_and_wait(&self, state: &ContainerState) -> Result<()> {
        kill_and_wait(self.sys.as_ref(), state)
    }

    fn thaw_if_frozen(&self, state: &ContainerState) {
        thaw_if_frozen(self.sys.as_ref(), state)
    }

    fn destroy(&self, dir: ContainerDir, state: &ContainerState) -> Result<()> {
        destroy(self.sys.as_ref(), dir, state)
    }

    /// Make sure the init of a container CRIU has just stopped is gone.
    pub(crate) fn ensure_stopped(&self, state: &ContainerState) -> Result<()> {
        self.kill_and_wait(state)
    }
}

/// `id` cannot do `op` in `status`.
pub(crate) fn wrong_status(id: &str, operation: Operation, status: Status) -> Error {
    StateError::WrongStatus {
        id: id.into(),
        operation,
        status,
    }
    .into()
}

// The runtime's settings come in as plain flags: this is `Runtime::create_in`
// minus `self`, kept free so the unit tests can drive it with a fake host.
#[allow(clippy::too_many_arguments)]
fn create_in(
    sys: &dyn Syscall,
    dir: &ContainerDir,
    bundle: &Bundle,
    opts: &CreateOptions,
    filter: Option<seccomp::Filter>,
    cgroup: Option<Box<dyn cgroups::Manager>>,
    stdio: Stdio,
    rootless: bool,
    systemd_cgroup: bool,
) -> Result<Created> {
    let prepare = tracing::debug_span!("prepare").entered();
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref();
    let namespaces = linux
        .and_then(|l| l.namespaces().as_ref())
        .cloned()
        .unwrap_or_default();
    // Our own descriptors go above the range --preserve-fds hands to the container.
    let min_fd = 3 + opts.preserve_fds as RawFd;

    let fifo = dir.fifo_path();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .ctx(|| format!("mkfifo {}", fifo.display()))?;
    // Not subject to the umask: a non-root container user must be able to open it for writing.
    fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))
        .ctx(|| format!("chmod {}", fifo.display()))?;
    let fifo_fd = raise_fd(open_path(&fifo)?, min_fd)?;
    let stdio = stdio.raised(min_fd)?;

    let console_socket = match (
        &opts.console_socket,
        spec.process().as_ref().and_then(|p| p.terminal()),
    ) {
        (Some(path), _) => Some(raise_fd(connect_console(path)?, min_fd)?),
        (None, Some(true)) => return Err(ProcessError::ConsoleSocketRequired.into()),
        _ => None,
    };

    let mut flags = CloneFlags::empty();
    let mut join = Vec::new();
    let mut new_cgroup_ns = false;
    for ns in &namespaces {
        let kind = clone_flag(ns.typ());
        match ns.path() {
            Some(path) => {
                let fd = raise_fd(open_ns(path, ns.typ())?, min_fd)?;
                join.push((fd, kind));
            }
            None if ns.typ() == LinuxNamespaceType::Cgroup => new_cgroup_ns = true,
            None => flags |= kind,
        }
    }
    // A user namespace joined by path is entered before anything is created
    // (clone_in_user_ns), so the new namespaces belong to it; the init joins
    // the others with its privileges there.
    let join_user = join
        .iter()
        .position(|(_, k)| *k == CloneFlags::CLONE_NEWUSER)
        .map(|i| join.remove(i).0);
    let user_ns = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User);
    let mount_ns = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Mount);

    // PID and time namespaces apply to children only: join or create them here,
    // in the short-lived parent, so the clone lands in them.
    let time_bit = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
    for (fd, kind) in join
        .iter()
        .filter(|(_, k)| *k == CloneFlags::CLONE_NEWPID || *k == time_bit)
    {
        nix::sched::setns(fd, *kind).ctx(|| format!("join {kind:?} namespace"))?;
    }
    join.retain(|(_, k)| *k != CloneFlags::CLONE_NEWPID && *k != time_bit);
    // Created before the clone (they apply to children only): by us, or with a
    // joined user namespace by the process that joined it, so it owns them.
    let early = flags & (CloneFlags::CLONE_NEWPID | time_bit);
    if join_user.is_none() && flags.contains(time_bit) {
        flags.remove(time_bit);
        nix::sched::unshare(time_bit).ctx(|| "create the time namespace".into())?;
        write_time_offsets(spec)?;
    }

    // Normally the one the config check built (it read the host's mounts).
    let cgroup = match cgroup {
        Some(manager) => manager,
        None => cgroups::manager(
            linux
                .and_then(|l| l.cgroups_path().as_ref())
                .and_then(|p| p.to_str()),
            &opts.id,
            systemd_cgroup,
        )?,
    };
    // runtime.md "Delete": what the container did not create is not deleted
    // with it; a cgroup that is already there is joined, and kept.
    let cgroup_preexisting = cgroup.existing_directories();
    // Before anything exists outside the state dir, so that `delete --force`
    // can undo a create killed from here on (recovery.rs).
    let unfinished = crate::recovery::Unfinished {
        pid: 0,
        pid_start_time: 0,
        cgroup: cgroup.state(),
        cgroup_preexisting: cgroup_preexisting.clone(),
        rootfs: bundle.rootfs.clone(),
        mount_ns,
    };
    unfinished.note(dir)?;
    // config-linux.md "Seccomp": an unreachable listenerPath is an error at create.
    let agent = match linux
        .and_then(|l| l.seccomp().as_ref())
        .and_then(|s| s.listener_path().as_ref())
    {
        Some(path) => Some(
            std::os::unix::net::UnixStream::connect(path)
                .ctx(|| format!("linux.seccomp.listenerPath {}", path.display()))?,
        ),
        None => None,
    };
    let (parent_end, init_end) = channel::pair().map_err(ProcessError::from)?;

    drop(prepare);
    let span = tracing::debug_span!("clone").entered();
    // SAFETY: the runtime is single-threaded here, and the child ends in
    // init::run, which never returns.
    let forked = match &join_user {
        Some(userns) => unsafe { clone_in_user_ns(userns, early, flags, spec) }?,
        None => unsafe { clone_process(flags.bits()) }.ctx(|| "clone the container init".into())?,
    };
    let pid = match forked {
        Forked::Child => {
            dir.forget_lock_in_child();
            drop(parent_end);
            if let Err(e) = stdio.install() {
                // The parent reads this once it has sent `Proceed`.
                let _ = init_end.send_to_parent(&FromInit::Failed(e.to_string()));
                // SAFETY: _exit skips destructors that belong to the parent's copy.
                unsafe { libc::_exit(1) }
            }
            init::run(InitContext {
                id: &opts.id,
                spec,
                rootfs: &bundle.rootfs,
                bundle: &bundle.path,
                channel: init_end,
                fifo: fifo_fd,
                released: None,
                console_socket,
                preserve_fds: opts.preserve_fds as i32,
                join,
                new_cgroup_ns,
                mount_ns,
                no_pivot: opts.no_pivot,
                no_new_keyring: opts.no_new_keyring,
                seccomp: filter,
                setgroups_allowed: true,
                user_ns,
            })
        }
        Forked::Parent(pid) => pid,
    };
    drop(init_end);
    drop(console_socket);
    drop(fifo_fd);
    drop(stdio);
    drop(span);

    // runtime.md "Lifecycle" 3-5: a failure here stops and destroys the
    // container, then the poststop hooks run.
    let abort = |e: Error| -> Error {
        let _ = signal::kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        let _ = cgroup.destroy_except(&cgroup_preexisting);
        if !mount_ns {
            let _ = crate::rootfs::unmount_below(&bundle.rootfs);
        }
        if let Some(list) = spec.hooks().as_ref().and_then(|h| h.poststop().as_ref()) {
            let json = serde_json::json!({
                "ociVersion": OCI_VERSION, "id": opts.id, "status": "stopped",
                "pid": 0, "bundle": bundle.path,
                "annotations": spec.annotations().clone().unwrap_or_default(),
            });
            hooks::run_all_warn(HookKind::Poststop, list, &json.to_string());
        }
        e
    };
    let mut state = ContainerState {
        oci_version: OCI_VERSION.into(),
        id: opts.id.clone(),
        pid: pid.as_raw(),
        pid_start_time: 0,
        bundle: bundle.path.clone(),
        rootfs: bundle.rootfs.clone(),
        created: rfc3339_nano(SystemTime::now()),
        owner: owner_name(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup: None,
        cgroup_preexisting: cgroup_preexisting.clone(),
        config: spec.clone(),
        no_new_keyring: opts.no_new_keyring,
        cgroup_skipped: false,
    };
    let mut cgroup_skipped = false;
    let mut outside = || -> Result<()> {
        crate::faults::stop_at("after-clone");
        crate::recovery::Unfinished {
            pid: pid.as_raw(),
            pid_start_time: start_time(sys, pid.as_raw()).unwrap_or(0),
            ..unfinished.clone()
        }
        .note(dir)?;
        if flags.contains(CloneFlags::CLONE_NEWUSER) {
            let l = spec.linux().as_ref();
            crate::userns::write_maps(
                pid.as_raw(),
                &crate::userns::maps_of(l.and_then(|l| l.uid_mappings().as_ref())),
                &crate::userns::maps_of(l.and_then(|l| l.gid_mappings().as_ref())),
            )?;
        }
        for (i, tree) in crate::userns::idmapped_trees(spec, &bundle.path, pid.as_raw())? {
            parent_end
                .send_mount_fd(i as u32, tree.as_raw_fd())
                .map_err(ProcessError::from)?;
        }
        tracing::debug_span!("cgroup").in_scope(|| -> Result<()> {
            if rootless {
                cgroup_skipped = !apply_rootless(cgroup.as_ref(), pid, spec)?;
            } else {
                cgroup.apply(pid.as_raw())?;
                cgroup.set(&resources_with_default_devices(spec))?;
                if let Some((uid, gid)) = crate::cgroups::delegation_owner(spec) {
                    cgroup.delegate_to(uid, gid)?;
                }
            }
            Ok(())
        })?;
        crate::faults::stop_at("after-cgroup");
        move_net_devices(spec, pid)?;
        let _init = tracing::debug_span!("init", pid = pid.as_raw()).entered();
        parent_end
            .send_to_init(ToInit::Proceed)
            .map_err(ProcessError::from)?;
        loop {
            match parent_end.recv_from_init_with_fd() {
                Ok((FromInit::Ready, _)) => return Ok(()),
                Ok((FromInit::SeccompListener, Some(listener))) => {
                    if let Some(agent) = &agent {
                        let state = AgentState {
                            id: &opts.id,
                            status: "creating",
                            pid,
                            bundle: &bundle.path,
                        };
                        send_seccomp_state(agent, &listener, spec, &state)?;
                    }
                }
                Ok((FromInit::SeccompListener, None)) => {
                    return Err(ProcessError::NoSeccompListener.into())
                }
                Ok((FromInit::RunCreateRuntimeHooks, _)) => {
                    // prestart runs after create's step 2 (runtime.md: "created");
                    // createRuntime keeps runc's "creating".
                    let json = |status: &str| {
                        serde_json::json!({
                            "ociVersion": OCI_VERSION, "id": opts.id, "status": status,
                            "pid": pid.as_raw(), "bundle": bundle.path,
                            "annotations": state.annotations,
                        })
                        .to_string()
                    };
                    let hooks = spec.hooks().as_ref();
                    for (kind, list, json) in [
                        (
                            HookKind::Prestart,
                            hooks.and_then(|h| h.prestart().as_ref()),
                            json("created"),
                        ),
                        (
                            HookKind::CreateRuntime,
                            hooks.and_then(|h| h.create_runtime().as_ref()),
                            json("creating"),
                        ),
                    ] {
                        if let Some(list) = list {
                            let _hooks =
                                tracing::debug_span!("hooks", kind = kind.name()).entered();
                            hooks::run_all(kind, list, &json).map_err(ProcessError::from)?;
                        }
                    }
                    parent_end
                        .send_to_init(ToInit::HooksDone)
                        .map_err(ProcessError::from)?;
                }
                Ok((FromInit::Failed(message), _)) => {
                    return Err(ProcessError::Init { message }.into())
                }
                Err(channel) => {
                    let status = waitpid(pid, None).ok();
                    return Err(ProcessError::InitDied {
                        channel,
                        status: format!("{status:?}"),
                    }
                    .into());
                }
            }
        }
    };
    outside().map_err(abort)?;
    crate::faults::stop_at("before-state-save");
    state.pid_start_time = start_time(sys, pid.as_raw()).unwrap_or(0);
    state.cgroup = Some(cgroup.state());
    state.cgroup_skipped = cgroup_skipped;
    tracing::debug_span!("save")
        .in_scope(|| dir.save(&state))
        .map_err(|e| abort(e.into()))?;
    crate::recovery::finished(dir);
    crate::faults::stop_at("after-state-save");
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid.as_raw()).map_err(abort)?;
    }
    Ok(Created {
        id: opts.id.clone(),
        pid,
    })
}

/// config-linux.md "Network Devices": before the init goes on, move the
/// configured host devices into its network namespace (the one named by
/// path, which the init joins next, or the one it was cloned into).
fn move_net_devices(spec: &Spec, pid: Pid) -> Result<()> {
    let Some(linux) = spec.linux().as_ref() else {
        return Ok(());
    };
    let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let path = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .and_then(|n| n.path().clone())
        .unwrap_or_else(|| PathBuf::from(format!("/proc/{}/ns/net", pid.as_raw())));
    let ns = fs::File::open(&path).map_err(|source| Error::Io {
        context: format!("open network namespace {}", path.display()),
        source,
    })?;
    let devices: std::collections::BTreeMap<String, Option<String>> = devices
        .iter()
        .map(|(k, v)| (k.clone(), v.name().clone()))
        .collect();
    crate::netdev::move_devices(&devices, std::os::fd::AsFd::as_fd(&ns))?;
    Ok(())
}

/// Rootless cgroups: the container's cgroup when we may make it (a
/// delegated hierarchy), else none, with a warning; no device rules (they
/// need privileges a rootless runtime lacks). Limits the config asks for are
/// an error when there is no cgroup to hold them. Returns whether the cgroup
/// is used.
fn apply_rootless(cgroup: &dyn cgroups::Manager, pid: Pid, spec: &Spec) -> Result<bool> {
    let mut res = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    res.set_devices(None);
    let limits = resource_fields_set(&res);
    let denied = |e: &cgroups::CgroupError| {
        let mut src: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                return matches!(
                    io.raw_os_error(),
                    Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
                );
            }
            src = s.source();
        }
        false
    };
    match cgroup.apply(pid.as_raw()) {
        Ok(()) => {
            cgroup.set(&res)?;
            Ok(true)
        }
        Err(e) if denied(&e) => {
            // Whatever part of it we could make goes again.
            let _ = cgroup.destroy();
            if !limits.is_empty() {
                return Err(cgroups::CgroupError::Unsupported(format!(
                    "{}: a rootless container cannot have these limits without a cgroup \
                     it may write ({e}); delegate one to this user (cgroup v2 and a \
                     systemd user session) or remove them",
                    limits.join(", ")
                ))
                .into());
            }
            tracing::warn!("rootless: no cgroup for the container ({e})");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The `linux.resources` fields that are set, as JSON paths.
pub(crate) fn resource_fields_set(res: &LinuxResources) -> Vec<String> {
    let v = serde_json::to_value(res).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            let empty = v.is_null()
                || v.as_array().is_some_and(|a| a.is_empty())
                || v.as_object()
                    .is_some_and(|o| o.values().all(|x| x.is_null()));
            if !empty {
                out.push(format!("linux.resources.{k}"));
            }
        }
    }
    out
}

/// The cgroup manager of an existing container.
fn cgroup_of(sys: &dyn Syscall, state: &ContainerState) -> Result<Box<dyn cgroups::Manager>> {
    if state.cgroup_skipped {
        // Rootless, and no cgroup it may write was delegated.
        return Err(ProcessError::NoCgroup {
            id: state.id.clone(),
        }
        .into());
    }
    match &state.cgroup {
        Some(cg) => Ok(sys.cgroup(cg)?),
        None => Err(ProcessError::NoCgroup {
            id: state.id.clone(),
        }
        .into()),
    }
}

/// What the seccomp agent is told about the process whose listener it gets.
pub(crate) struct AgentState<'a> {
    pub id: &'a str,
    /// "creating" for the init, "running" for an exec'd process.
    pub status: &'a str,
    /// The process the listener belongs to.
    pub pid: Pid,
    pub bundle: &'a Path,
}

/// Hand the seccomp notify listener to the agent: the container state as JSON
/// with the listener attached (config-linux.md "Seccomp", runtime.md "State").
pub(crate) fn send_seccomp_state(
    agent: &std::os::unix::net::UnixStream,
    listener: &OwnedFd,
    spec: &Spec,
    st: &AgentState,
) -> Result<()> {
    let AgentState {
        id,
        status,
        pid,
        bundle,
    } = *st;
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let msg = serde_json::json!({
        "ociVersion": OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid.as_raw(),
        "metadata": seccomp.and_then(|s| s.listener_metadata().clone()).unwrap_or_default(),
        "state": {
            "ociVersion": OCI_VERSION, "id": id, "status": status,
            "pid": pid.as_raw(), "bundle": bundle,
            "annotations": spec.annotations().clone().unwrap_or_default(),
        },
    })
    .to_string();
    crate::process::console::send_fd(agent.as_raw_fd(), listener.as_raw_fd(), msg.as_bytes())
        .map_err(|e| ProcessError::SeccompAgent(Box::new(e)))?;
    // One state per connection: close our end so the agent sees the end of it.
    let _ = agent.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// Open a file with O_PATH (no permission needed, nothing triggered).
fn open_path(path: &Path) -> Result<OwnedFd> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path)
        .ctx(|| format!("open {}", path.display()))?;
    Ok(f.into())
}

/// Move `fd` to a number >= `min` (close-on-exec), keeping it clear of --preserve-fds.
fn raise_fd(fd: OwnedFd, min: RawFd) -> Result<OwnedFd> {
    if fd.as_raw_fd() >= min {
        return Ok(fd);
    }
    let new = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(min))
        .ctx(|| "dup descriptor".into())?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

pub(crate) fn connect_console(path: &Path) -> Result<OwnedFd> {
    let sock = std::os::unix::net::UnixStream::connect(path)
        .ctx(|| format!("connect to --console-socket {}", path.display()))?;
    Ok(sock.into())
}

/// Open a namespace file and check it is a namespace of the expected type.
fn open_ns(path: &Path, typ: LinuxNamespaceType) -> Result<OwnedFd> {
    crate::spec::open_namespace(path, typ).map_err(|reason| {
        ProcessError::Namespace {
            path: path.to_path_buf(),
            reason,
        }
        .into()
    })
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    fs::write("/proc/self/timens_offsets", &text)
        .ctx(|| format!("linux.timeOffsets: write {text:?}"))
}

/// Clone the init with a user namespace joined by path: an intermediate
/// process joins it, creates the pid and time namespaces (`early`) so that
/// the user namespace owns them, and clones the init as our child
/// (CLONE_PARENT) with the other new namespaces, then exits.
///
/// # Safety
/// As [`clone_process`]: single-threaded, and the child side must end in
/// `execve` or `_exit`.
unsafe fn clone_in_user_ns(
    userns: &OwnedFd,
    early: CloneFlags,
    flags: CloneFlags,
    spec: &Spec,
) -> Result<Forked> {
    let time_bit = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
    crate::process::clone::clone_through(
        || {
            nix::sched::setns(userns, CloneFlags::CLONE_NEWUSER)
                .ctx(|| "join the user namespace (linux.namespaces)".into())?;
            if !early.is_empty() {
                nix::sched::unshare(early).ctx(|| format!("create the {early:?} namespaces"))?;
            }
            if early.contains(time_bit) {
                write_time_offsets(spec)?;
            }
            Ok(())
        },
        (flags - early).bits(),
    )
}

/// runc's rule: the config's device rules, then the devices every container
/// may use (config-linux.md "Default Devices" plus ptys and tun), then each
/// device the config creates.
pub(crate) fn resources_with_default_devices(spec: &Spec) -> LinuxResources {
    let linux = spec.linux().as_ref();
    let mut res = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let mut rules: Vec<LinuxDeviceCgroup> = res.devices().clone().unwrap_or_default();
    let rule = |typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true)
            .set_typ(Some(typ))
            .set_major(major)
            .set_minor(minor)
            .set_access(Some(access.into()));
        r
    };
    use LinuxDeviceType::{B, C};
    rules.push(rule(C, None, None, "m"));
    rules.push(rule(B, None, None, "m"));
    for (_, major, minor) in crate::rootfs::devices::DEFAULT_DEVICES {
        rules.push(rule(C, Some(major as i64), Some(minor as i64), "rwm"));
    }
    rules.push(rule(C, Some(136), None, "rwm")); // /dev/pts/*
    rules.push(rule(C, Some(5), Some(2), "rwm")); // /dev/ptmx
    rules.push(rule(C, Some(5), Some(1), "rwm")); // /dev/console
    rules.push(rule(C, Some(10), Some(200), "rwm")); // /dev/net/tun
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        let typ = match d.typ() {
            LinuxDeviceType::U => C,
            LinuxDeviceType::P => continue, // fifos are not governed by the device cgroup
            t => t,
        };
        rules.push(rule(typ, Some(d.major()), Some(d.minor()), "rwm"));
    }
    res.set_devices(Some(rules));
    res
}

pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    // Written beside the target and renamed, so a reader never sees it empty.
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.husk-tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("pid")
    ));
    let mut f = fs::File::create(&tmp).ctx(|| format!("--pid-file {}", tmp.display()))?;
    f.write_all(pid.to_string().as_bytes())
        .ctx(|| format!("--pid-file {}", tmp.display()))?;
    drop(f);
    fs::rename(&tmp, path).ctx(|| format!("--pid-file {}", path.display()))
}

fn owner_name() -> String {
    // runc reports the state dir owner's name in `list` and "" in `state`; keep "" here.
    String::new()
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
fn start_time(sys: &dyn Syscall, pid: i32) -> Option<u64> {
    sys.proc_stat(pid).map(|s| s.start_time)
}

/// Is the recorded init still alive (and still the same process)?
fn init_alive(sys: &dyn Syscall, state: &ContainerState) -> bool {
    if state.pid <= 0 {
        return false;
    }
    match sys.proc_stat(state.pid) {
        None => false,
        Some(s) if matches!(s.state, 'Z' | 'X') => false,
        Some(s) => s.start_time == state.pid_start_time,
    }
}

/// runtime.md "State": the status is derived, never stored.
fn status_of(sys: &dyn Syscall, dir: &ContainerDir, state: &ContainerState) -> Status {
    if !init_alive(sys, state) {
        return Status::Stopped;
    }
    // Frozen wins over created, as in runc: `pause` also freezes a created container.
    if let Ok(cg) = cgroup_of(sys, state) {
        if cg.is_frozen().unwrap_or(false) {
            return Status::Paused;
        }
    }
    if dir.fifo_path().exists() {
        return Status::Created;
    }
    Status::Running
}

fn oci_state(sys: &dyn Syscall, dir: &ContainerDir, state: &ContainerState) -> OciState {
    let status = status_of(sys, dir, state);
    OciState {
        oci_version: state.oci_version.clone(),
        id: state.id.clone(),
        pid: if status == Status::Stopped {
            0
        } else {
            state.pid
        },
        status,
        bundle: state.bundle.clone(),
        rootfs: state.rootfs.clone(),
        created: state.created.clone(),
        annotations: state.annotations.clone(),
        owner: state.owner.clone(),
    }
}

/// The state as hooks and `husk state` print it.
fn state_json(state: &OciState) -> String {
    serde_json::to_string(state).unwrap_or_default()
}

/// Open the exec fifo and read the init's byte: that lets it `execve`.
fn release_init(sys: &dyn Syscall, dir: &ContainerDir, state: &ContainerState) -> Result<()> {
    let path = dir.fifo_path();
    // Non-blocking open never waits; then poll, checking that the init is alive,
    // so a dead init cannot hang `start`.
    let fifo = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .ctx(|| format!("open exec fifo {}", path.display()))?;
    let mut pfd = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(&fifo),
        nix::poll::PollFlags::POLLIN,
    )];
    loop {
        match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::Error::EINTR) => {
                if !init_alive(sys, state) {
                    return Err(ProcessError::InitExited {
                        id: state.id.clone(),
                    }
                    .into());
                }
            }
            Ok(_) => break,
            Err(e) => return Err(e).ctx(|| "poll exec fifo".into()),
        }
    }
    let mut buf = [0u8; 1];
    let n = nix::unistd::read(fifo.as_raw_fd(), &mut buf).ctx(|| "read exec fifo".into())?;
    fs::remove_file(&path).ctx(|| format!("remove {}", path.display()))?;
    if n == 0 {
        return Err(ProcessError::InitExited {
            id: state.id.clone(),
        }
        .into());
    }
    // The init keeps its end open until execve closes it; anything it writes
    // before that is the reason it failed (a startContainer hook, seccomp, exec).
    let mut why = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::Error::EINTR) => {
                if !init_alive(sys, state) {
                    break;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => return Err(e).ctx(|| "poll exec fifo".into()),
        }
        match nix::unistd::read(fifo.as_raw_fd(), &mut chunk) {
            Ok(0) => break,
            Ok(n) => why.extend_from_slice(&chunk[..n]),
            Err(nix::Error::EAGAIN) | Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).ctx(|| "read exec fifo".into()),
        }
    }
    if !why.is_empty() {
        return Err(ProcessError::Init {
            message: String::from_utf8_lossy(&why).into_owned(),
        }
        .into());
    }
    Ok(())
}

/// A cgroup v1 task frozen by `pause` does not act on SIGKILL until thawed
/// (runc thaws too); call after sending it.
fn thaw_if_frozen(sys: &dyn Syscall, state: &ContainerState) {
    if let Ok(cg) = cgroup_of(sys, state) {
        if cg.is_frozen().unwrap_or(false) {
            if let Err(e) = cg.thaw() {
                tracing::warn!("thaw container {} after SIGKILL: {e}", state.id);
            }
        }
    }
}

/// SIGKILL the init and wait (it is not our child) until it is gone.
fn kill_and_wait(sys: &dyn Syscall, state: &ContainerState) -> Result<()> {
    if !init_alive(sys, state) {
        return Ok(());
    }
    let pid = Pid::from_raw(state.pid);
    // Without its own pid namespace the init's death does not take the other
    // processes with it: kill the whole cgroup.
    let own_pidns = state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Pid && n.path().is_none())
        });
    if !own_pidns {
        if let Ok(cg) = cgroup_of(sys, state) {
            let _ = cg.freeze();
            for p in cg.pids().unwrap_or_default() {
                let _ = sys.kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            let _ = cg.thaw();
        }
    }
    let _ = sys.kill(pid, Signal::SIGKILL);
    thaw_if_frozen(sys, state);
    let deadline = Instant::now() + Duration::from_secs(10);
    while init_alive(sys, state) {
        // Reap it if it happens to be our child (husk run).
        let _ = waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        if Instant::now() > deadline {
            return Err(ProcessError::DidNotDie {
                id: state.id.clone(),
                pid: state.pid,
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// Remove everything the container had: cgroup, state; then poststop hooks.
fn destroy(sys: &dyn Syscall, dir: ContainerDir, state: &ContainerState) -> Result<()> {
    if !state.cgroup_skipped {
        cgroup_of(sys, state)?.destroy_except(&state.cgroup_preexisting)?;
    }
    crate::faults::stop_at("delete-before-remove");
    let own_mount_ns = state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Mount));
    if !own_mount_ns {
        // Its mounts were made in our namespace: take them down with it.
        crate::rootfs::unmount_below(&state.rootfs)?;
    }
    let json = state_json(&OciState {
        status: Status::Stopped,
        ..oci_state(sys, &dir, state)
    });
    dir.remove()?;
    if let Some(list) = state
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststop().as_ref())
    {
        hooks::run_all_warn(HookKind::Poststop, list, &json);
    }
    Ok(())
}

/// Wait for our child `pid` (an init or an exec'd process) and turn its end into an exit code.
pub(crate) fn wait_exit_code(pid: Pid) -> Result<i32> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) => continue,
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).ctx(|| format!("wait for pid {pid}")),
        }
    }
}

#[cfg(test)]
mod rootless_tests {
    use super::*;

    #[test]
    fn resource_fields_set_names_only_what_is_set() {
        let res: LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 1024}, "pids": {"limit": 5}, "devices": [],
            "cpu": {}
        }))
        .unwrap();
        assert_eq!(
            resource_fields_set(&res),
            ["linux.resources.memory", "linux.resources.pids"]
        );
        assert!(resource_fields_set(&LinuxResources::default()).is_empty());
    }
}
