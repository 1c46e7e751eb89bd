//! `exec`: one more process in an existing container, as runc's `exec` runs
//! it. This is the parent's half: the status check, the process to run (a
//! `--process` file, or the container's own `process` changed by runc's
//! flags), the joins that only apply to children (pid, time), one clone, and
//! the wait for the child's word. The child's half is [`crate::process::exec`].
//!
//! As with `create`, nothing of ours stays behind and nothing is re-exec'd:
//! the child's end of the channel is close-on-exec, so end-of-file means the
//! program runs and a message means it failed, and why. With `detach` the
//! caller returns then, and the process is reparented to the caller's
//! subreaper (containerd-shim, conmon); otherwise the caller waits for its
//! child ([`Execed::wait`]).

use std::collections::BTreeMap;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{
    Capabilities, Capability, LinuxCapabilities, LinuxNamespaceType, Process, Spec, User,
};

use crate::cgroups::{self, CgroupState, Manager};
use crate::container::{
    connect_console, wait_exit_code, write_pid_file, wrong_status, Runtime, Status, Stdio,
};
use crate::error::{Context, Error, ExecError, ProcessError, Result, TtyMismatch};
use crate::process::channel::{self, ChannelError, FromInit};
use crate::process::clone::{clone_process, Forked};
use crate::process::exec::{self as child, ExecContext};
use crate::process::init::clone_flag;
use crate::security::seccomp_cache::FilterCache;
use crate::spec::Problem;
use crate::state::{ContainerState, Operation};

/// Where the process to run comes from.
#[derive(Debug, Clone)]
pub enum ExecProcess {
    /// A JSON file holding an OCI `process` object (`--process`).
    File(PathBuf),
    /// A complete process.
    Spec(Box<Process>),
    /// The container's own `process`, changed as runc's flags change it.
    Config(ProcessOverrides),
}

/// runc's `exec` flags that change the container's `process`.
#[derive(Debug, Clone, Default)]
pub struct ProcessOverrides {
    /// The program and its arguments (required).
    pub args: Vec<String>,
    /// `--cwd`.
    pub cwd: Option<PathBuf>,
    /// `--env K=V`: replaces K where the config sets it, else is appended.
    pub env: Vec<String>,
    /// `--user UID[:GID]`: the uid.
    pub uid: Option<u32>,
    /// `--user UID:GID`: the gid.
    pub gid: Option<u32>,
    /// `--additional-gids`: added to the config's.
    pub additional_gids: Vec<u32>,
    /// `--cap`: added to the bounding, effective and permitted sets (as runc 1.1.5).
    pub caps: Vec<String>,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
    /// `--tty`. As in runc, the config's `terminal` is not inherited.
    pub tty: bool,
}

/// How to exec (runc's `exec` flags).
///
/// ```
/// # use libcontainer::ExecOptions;
/// let opts = ExecOptions::new("web", ["cat", "/etc/hostname"]);
/// assert!(!opts.detach);
/// ```
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Container id.
    pub id: String,
    /// The process to run.
    pub process: ExecProcess,
    /// Unix socket that receives the pty master; needed exactly when the
    /// process has a terminal (husk's CLI passes its own in the foreground).
    pub console_socket: Option<PathBuf>,
    /// File to write the process's host pid to, once it runs.
    pub pid_file: Option<PathBuf>,
    /// Return once the program runs instead of leaving the caller to wait for it.
    pub detach: bool,
    /// Pass the caller's fds 3..3+N to the process.
    pub preserve_fds: u32,
    /// Allow a paused container (the process stays frozen until `resume`).
    pub ignore_paused: bool,
    /// runc's `--cgroup [CONTROLLER[,CONTROLLER]:]PATH`: run in this
    /// sub-cgroup of the container's cgroup, created when missing.
    pub sub_cgroups: Vec<String>,
}

impl ExecOptions {
    /// Run `args` in container `id` with the container's own process
    /// settings (user, env, cwd, capabilities), in the foreground, without a
    /// terminal: runc's `exec ID ARGS...`.
    pub fn new<I, S>(id: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecOptions {
            id: id.into(),
            process: ExecProcess::Config(ProcessOverrides {
                args: args.into_iter().map(Into::into).collect(),
                ..Default::default()
            }),
            console_socket: None,
            pid_file: None,
            detach: false,
            preserve_fds: 0,
            ignore_paused: false,
            sub_cgroups: Vec::new(),
        }
    }
}

/// A process `exec` started: a child of the calling process.
#[derive(Debug)]
pub struct Execed {
    /// Host pid.
    pub pid: Pid,
}

impl Execed {
    /// Wait for the process to exit and return its exit code (128 + the
    /// signal number if a signal ended it). Only for a process the caller
    /// has not detached from (it is the caller's child either way; with
    /// `detach` the caller usually leaves reaping to its subreaper).
    pub fn wait(&self) -> Result<i32> {
        wait_exit_code(self.pid)
    }
}

impl Runtime {
    /// runc's `exec`: run a new process in a `created` or `running` container
    /// (a `paused` one only with `ignore_paused`), in every namespace and the
    /// cgroup of its init, under the container's seccomp profile. Returns
    /// once the program is exec'd; any failure before that is an error with
    /// the child's reason, and leaves nothing behind. Its stdio is the caller's.
    pub fn exec(&self, opts: &ExecOptions) -> Result<Execed> {
        self.exec_with_stdio(opts, Stdio::inherit())
    }

    /// [`exec`](Self::exec), with the process's stdin, stdout and stderr
    /// given by `stdio` (e.g. the write end of a pipe to collect its output).
    #[tracing::instrument(name = "exec", level = "debug", skip_all, fields(id = %opts.id))]
    pub fn exec_with_stdio(&self, opts: &ExecOptions, stdio: Stdio) -> Result<Execed> {
        // Every fd we open must land above the preserved range; with all of
        // it open, the kernel hands out nothing lower.
        check_preserved_fds(opts.preserve_fds)?;
        let dir = self.root.open(&opts.id)?;
        let state = dir.load()?;
        let status = self.status_of(&dir, &state);
        match status {
            Status::Stopped => return Err(stopped(&opts.id)),
            Status::Paused if !opts.ignore_paused => {
                return Err(wrong_status(&opts.id, Operation::Exec, status))
            }
            _ => {}
        }
        let process = build_process(&state, &opts.process)?;
        check_terminal(&process, opts)?;
        let cgroup = if state.cgroup_skipped {
            if !opts.sub_cgroups.is_empty() {
                return Err(ExecError::SubCgroup {
                    arg: opts.sub_cgroups.join(" "),
                    reason: format!(
                        "container {} has no cgroup (rootless, cgroups not writable)",
                        opts.id
                    ),
                }
                .into());
            }
            None
        } else {
            Some(exec_cgroup(&state, &opts.sub_cgroups)?)
        };
        let filter = state
            .config
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(|profile| FilterCache::in_root(self.root.path()).compile(profile))
            .transpose()?;
        let console_socket = opts
            .console_socket
            .as_deref()
            .map(connect_console)
            .transpose()?;
        // The descriptors name the namespaces of whoever has the pid now:
        // check it is still the init once they are open.
        let ns = Namespaces::open(&state);
        if !self.init_alive(&state) {
            return Err(stopped(&opts.id));
        }
        let ns = ns?;
        let stdio = stdio.raised(3 + opts.preserve_fds as i32)?;
        let (parent_end, child_end) = channel::pair().map_err(ProcessError::from)?;
        let mut ns = ns;
        // Rootless: joining the pid namespace needs privileges we only have
        // inside the container's user namespace, which is one-way: an
        // intermediate joins it, then the pid/time ones, and clones the process.
        // Likewise when we run in a user namespace ourselves (rootless
        // podman): we could join the pid namespace, but never return to ours.
        let through_userns = (ns.user_ns && !crate::userns::privileged())
            || (!ns.for_children.is_empty() && crate::userns::in_user_namespace());
        let (restore, forked) = if through_userns {
            let userns = ns
                .join
                .iter()
                .position(|(_, k)| *k == CloneFlags::CLONE_NEWUSER)
                .map(|i| ns.join.remove(i).0);
            let for_children = std::mem::take(&mut ns.for_children);
            // SAFETY: as below.
            let forked = unsafe {
                crate::process::clone::clone_through(
                    || {
                        if let Some(userns) = &userns {
                            nix::sched::setns(userns, CloneFlags::CLONE_NEWUSER)
                                .ctx(|| "join the container's user namespace".into())?;
                        }
                        for (fd, kind) in &for_children {
                            nix::sched::setns(fd, *kind)
                                .ctx(|| format!("join the container's {kind:?} namespace"))?;
                        }
                        Ok(())
                    },
                    0,
                )
            };
            (Restore(Vec::new()), forked)
        } else {
            let restore = ns.join_for_children()?;
            // SAFETY: the runtime is single-threaded, and the child ends in
            // process::exec::run, which never returns.
            let forked = unsafe { clone_process(0) }.ctx(|| "clone the exec process".into());
            (restore, forked)
        };
        let pid = match forked {
            Ok(Forked::Child) => {
                dir.forget_lock_in_child();
                drop(parent_end);
                if let Err(e) = stdio.install() {
                    let _ = child_end.send_to_parent(&FromInit::Failed(e.to_string()));
                    // SAFETY: _exit skips destructors that belong to the parent's copy.
                    unsafe { libc::_exit(1) }
                }
                child::run(ExecContext {
                    id: &opts.id,
                    no_new_keyring: state.no_new_keyring,
                    process: &process,
                    channel: child_end,
                    cgroup: cgroup.as_deref(),
                    join: ns.join,
                    user_ns: ns.user_ns,
                    setgroups_allowed: ns.setgroups_allowed,
                    chroot: (!ns.mount_ns).then_some(state.rootfs.as_path()),
                    console_socket,
                    preserve_fds: opts.preserve_fds as i32,
                    seccomp: filter,
                })
            }
            Ok(Forked::Parent(pid)) => pid,
            Err(e) => {
                restore.restore()?;
                return Err(e);
            }
        };
        restore.restore()?;
        drop((child_end, console_socket, ns.join, stdio));
        if status == Status::Paused {
            // The child freezes as it joins the cgroup, until `resume`, which takes this lock.
            drop(dir);
        }
        let failed = |msg: String| -> Error {
            let _ = signal::kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            ExecError::Start(msg).into()
        };
        loop {
            match parent_end.recv_from_init_with_fd() {
                // execve closed the child's end: the program runs.
                Err(ChannelError::Closed) => break,
                Ok((FromInit::SeccompListener, Some(listener))) => {
                    // config-linux.md "Seccomp": one connection to the agent
                    // per listener; an unreachable agent is an error.
                    if let Err(e) = send_to_agent(&state, pid, &listener) {
                        return Err(failed(e.to_string()));
                    }
                }
                Ok((FromInit::Failed(msg), _)) => return Err(failed(msg)),
                Ok((other, _)) => {
                    return Err(failed(format!(
                        "unexpected {other:?} from the exec process"
                    )))
                }
                Err(e) => return Err(failed(e.to_string())),
            }
        }
        if let Some(path) = &opts.pid_file {
            // runc: a pid file that cannot be written ends the process.
            write_pid_file(path, pid.as_raw()).map_err(|e| failed(e.to_string()))?;
        }
        Ok(Execed { pid })
    }
}

/// The exec'd process's seccomp listener to the agent at the config's
/// `listenerPath`, with the container state (status "running").
fn send_to_agent(state: &ContainerState, pid: Pid, listener: &OwnedFd) -> Result<()> {
    let spec = &state.config;
    let Some(path) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .and_then(|s| s.listener_path().as_ref())
    else {
        // No agent configured: the listener is dropped, as for the init.
        return Ok(());
    };
    let agent = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        ExecError::Start(format!(
            "linux.seccomp.listenerPath {}: {e}",
            path.display()
        ))
    })?;
    let st = crate::container::AgentState {
        id: &state.id,
        status: "running",
        pid,
        bundle: &state.bundle,
    };
    crate::container::send_seccomp_state(&agent, listener, spec, &st)
}

fn stopped(id: &str) -> Error {
    wrong_status(id, Operation::Exec, Status::Stopped)
}

/// `--preserve-fds N`: fds 3..3+N must be open (they are the caller's).
fn check_preserved_fds(n: u32) -> Result<()> {
    for fd in 3..3 + n as i32 {
        if nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
            return Err(ExecError::PreservedFdNotOpen { count: n, fd }.into());
        }
    }
    Ok(())
}

/// The process to run, complete and checked.
fn build_process(state: &ContainerState, source: &ExecProcess) -> Result<Process> {
    let config = state.config.process().as_ref();
    let (mut process, origin) = match source {
        ExecProcess::File(path) => (
            from_file(read_process(path)?, config),
            format!("--process {}", path.display()),
        ),
        ExecProcess::Spec(p) => (from_file((**p).clone(), config), "process".into()),
        ExecProcess::Config(o) => {
            let base = config
                .cloned()
                .ok_or_else(|| ExecError::NoProcessInConfig {
                    id: state.id.clone(),
                })?;
            (with_overrides(base, o)?, "exec".into())
        }
    };
    // runc applies the container's oomScoreAdj to every process in it.
    process.set_oom_score_adj(config.and_then(|c| c.oom_score_adj()));
    // The environment as execve gets it in runc: one entry per name, the last value winning.
    let env = merge_env(Vec::new(), process.env().as_deref().unwrap_or_default());
    process.set_env(Some(env));
    let problems = check_process(&process, &state.config, &state.bundle);
    if !problems.is_empty() {
        return Err(ExecError::InvalidProcess { origin, problems }.into());
    }
    Ok(process)
}

/// Parse a `--process` file, naming the JSON path of a wrong field.
fn read_process(path: &Path) -> Result<Process> {
    let data = fs::read(path).ctx(|| format!("--process {}", path.display()))?;
    let bad = |reason: String| -> Error {
        ExecError::ProcessFile {
            path: path.to_path_buf(),
            reason,
        }
        .into()
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(&data).map_err(|e| bad(e.to_string()))?;
    let Some(object) = value.as_object_mut() else {
        return Err(bad("must hold a JSON object (an OCI process)".into()));
    };
    // runc's Go types make these optional: root (0:0), and an empty cwd
    // that the checks below refuse by name.
    object
        .entry("user")
        .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
    object.entry("cwd").or_insert_with(|| "".into());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        bad(if at == "." {
            e.inner().to_string()
        } else {
            format!("{at}: {}", e.inner())
        })
    })
}

/// runc's rules for a process given whole: what it leaves out comes from the
/// container for capabilities only (not rlimits, and noNewPrivileges is false).
fn from_file(mut process: Process, config: Option<&Process>) -> Process {
    if process.capabilities().is_none() {
        process.set_capabilities(config.and_then(|c| c.capabilities().clone()));
    }
    process
}

/// The container's process changed by runc's flags.
fn with_overrides(mut p: Process, o: &ProcessOverrides) -> Result<Process> {
    if o.args.is_empty() {
        return Err(ExecError::EmptyArgs.into());
    }
    p.set_args(Some(o.args.clone()));
    if let Some(cwd) = &o.cwd {
        if !cwd.is_absolute() {
            return Err(ExecError::RelativeCwd(cwd.clone()).into());
        }
        p.set_cwd(cwd.clone());
    }
    for var in &o.env {
        if var.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
            return Err(ExecError::BadEnv(var.clone()).into());
        }
    }
    let env = p.env().clone().unwrap_or_default();
    p.set_env(Some(merge_env(env, &o.env)));
    if !o.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_else(no_capabilities);
        for name in &o.caps {
            let cap: Capability = serde_json::from_value(name.as_str().into())
                .map_err(|_| ExecError::UnknownCapability(name.clone()))?;
            let add = |set: &Option<Capabilities>| {
                let mut set = set.clone().unwrap_or_default();
                set.insert(cap);
                Some(set)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
        }
        p.set_capabilities(Some(caps));
    }
    p.set_terminal(Some(o.tty));
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    let user: &mut User = p.user_mut();
    if let Some(uid) = o.uid {
        user.set_uid(uid);
    }
    if let Some(gid) = o.gid {
        user.set_gid(gid);
    }
    if !o.additional_gids.is_empty() {
        let mut gids = user.additional_gids().clone().unwrap_or_default();
        gids.extend(&o.additional_gids);
        user.set_additional_gids(Some(gids));
    }
    Ok(p)
}

/// Empty capability sets (oci-spec's default is runc spec's, not empty).
fn no_capabilities() -> LinuxCapabilities {
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(None)
        .set_effective(None)
        .set_permitted(None)
        .set_inheritable(None)
        .set_ambient(None);
    caps
}

/// `extra` set one by one into `env` as Go's os.Setenv does (runc's exec
/// environment): a name keeps its first place and takes its last value.
fn merge_env(mut env: Vec<String>, extra: &[String]) -> Vec<String> {
    for var in extra {
        let name = var.split('=').next().unwrap_or_default();
        match env.iter_mut().find(|e| e.split('=').next() == Some(name)) {
            Some(slot) => slot.clone_from(var),
            None => env.push(var.clone()),
        }
    }
    env
}

/// The config checks on the process, run on the container's config with
/// this process in it (so they see its namespaces and mappings), plus the
/// fields husk cannot apply: refused, never dropped.
fn check_process(process: &Process, config: &Spec, bundle: &Path) -> Vec<Problem> {
    let mut spec = config.clone();
    spec.set_process(Some(process.clone()))
        .set_mounts(None)
        .set_hooks(None);
    let mut problems: Vec<Problem> = crate::spec::validate(&spec, bundle)
        .into_iter()
        .filter(|p| p.path.starts_with("process.") || p.path == "process")
        .collect();
    if process.cwd().as_os_str().is_empty() {
        problems.retain(|p| p.path != "process.cwd");
        problems.push(Problem::new("process.cwd", "must not be empty"));
    }
    for (set, field) in [
        (process.io_priority().is_some(), "ioPriority"),
        (process.scheduler().is_some(), "scheduler"),
        (process.exec_cpu_affinity().is_some(), "execCPUAffinity"),
    ] {
        if set {
            problems.push(Problem::new(
                format!("process.{field}"),
                "is not supported by husk yet",
            ));
        }
    }
    problems
}

/// A terminal needs a socket to send the pty master to, and a socket a
/// terminal (runc's rules; in the foreground the caller passes its own, as
/// husk's CLI does to relay the tty).
fn check_terminal(process: &Process, opts: &ExecOptions) -> Result<()> {
    let mismatch = match (process.terminal() == Some(true), &opts.console_socket) {
        (true, None) if opts.detach => TtyMismatch::DetachedWithoutSocket,
        (true, None) => TtyMismatch::NoSocket,
        (false, Some(_)) => TtyMismatch::SocketWithoutTty,
        _ => return Ok(()),
    };
    Err(ExecError::Tty(mismatch).into())
}

/// The container's cgroup, or the sub-cgroup `--cgroup` names (runc's rules:
/// `PATH` for every hierarchy, or `CTRL[,CTRL]:PATH` per controller).
fn exec_cgroup(state: &ContainerState, args: &[String]) -> Result<Box<dyn Manager>> {
    let base = state
        .cgroup
        .as_ref()
        .ok_or_else(|| ProcessError::NoCgroup {
            id: state.id.clone(),
        })?;
    if args.is_empty() {
        return Ok(cgroups::manager_from_state(base)?);
    }
    let bad = |arg: &str, why: &str| -> Error {
        ExecError::SubCgroup {
            arg: arg.into(),
            reason: why.into(),
        }
        .into()
    };
    let mut subs: Vec<(Option<&str>, PathBuf, &str)> = Vec::new();
    for arg in args {
        let (controllers, path) = match arg.split(':').collect::<Vec<_>>()[..] {
            [path] if args.len() == 1 => (None, path),
            [_] => return Err(bad(arg, "several --cgroup need a CONTROLLER: prefix each")),
            [controllers, path] => (Some(controllers), path),
            _ => return Err(bad(arg, "not [CONTROLLER[,CONTROLLER]:]PATH")),
        };
        let sub = Path::new(path.trim_start_matches('/'));
        let clean = sub.components().all(|c| matches!(c, Component::Normal(_)));
        if sub.as_os_str().is_empty() || !clean {
            return Err(bad(
                arg,
                "PATH must name a sub-cgroup (relative, without ..)",
            ));
        }
        match controllers {
            None => subs.push((None, sub.to_path_buf(), arg)),
            Some(list) => {
                for c in list.split(',') {
                    subs.push((Some(c), sub.to_path_buf(), arg));
                }
            }
        }
    }
    let joined = match base {
        CgroupState::V1 { paths } => {
            let mut out = paths.clone();
            for (controller, sub, arg) in &subs {
                let targets: Vec<&String> = match controller {
                    None => paths.keys().collect(),
                    Some(c) => {
                        let dir = paths
                            .get(*c)
                            .ok_or_else(|| bad(arg, &format!("unknown controller {c:?}")))?;
                        // Co-mounted controllers share the directory: move them all.
                        paths
                            .iter()
                            .filter(|(_, d)| *d == dir)
                            .map(|(k, _)| k)
                            .collect()
                    }
                };
                for key in targets {
                    out.insert(key.clone(), paths[key].join(sub));
                }
            }
            CgroupState::V1 {
                paths: out.into_iter().collect::<BTreeMap<_, _>>(),
            }
        }
        CgroupState::V2 { path } | CgroupState::Systemd { path, .. } => match &subs[..] {
            [(None, sub, _)] => CgroupState::V2 {
                path: path.join(sub),
            },
            _ => {
                return Err(bad(
                    &args.join(" "),
                    "cgroup v2 has one hierarchy: give PATH without a controller",
                ))
            }
        },
    };
    Ok(cgroups::manager_from_state(&joined)?)
}

/// The init's namespaces, opened by `/proc/<init>/ns/<type>`.
struct Namespaces {
    /// Joined by the child, user first and mount last.
    join: Vec<(OwnedFd, CloneFlags)>,
    /// pid and time: they apply to children only, so the parent joins them.
    for_children: Vec<(OwnedFd, CloneFlags)>,
    user_ns: bool,
    setgroups_allowed: bool,
    mount_ns: bool,
}

impl Namespaces {
    fn open(state: &ContainerState) -> Result<Namespaces> {
        let listed = state
            .config
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_ref())
            .cloned()
            .unwrap_or_default();
        let mut ns = Namespaces {
            join: Vec::new(),
            for_children: Vec::new(),
            user_ns: false,
            // The init's user namespace, whichever it is (its own or ours).
            setgroups_allowed: fs::read_to_string(format!("/proc/{}/setgroups", state.pid))
                .map_or(true, |s| s.trim() != "deny"),
            mount_ns: false,
        };
        for typ in listed.iter().map(|n| n.typ()) {
            let path = format!("/proc/{}/ns/{typ}", state.pid);
            let fd: OwnedFd = fs::File::open(&path)
                .ctx(|| format!("open the container's {typ} namespace {path}"))?
                .into();
            let kind = clone_flag(typ);
            match typ {
                LinuxNamespaceType::Pid | LinuxNamespaceType::Time => {
                    ns.for_children.push((fd, kind))
                }
                // Joining the user namespace we are in is EINVAL.
                LinuxNamespaceType::User if same_file(&fd, "/proc/self/ns/user") => {}
                LinuxNamespaceType::User => {
                    ns.user_ns = true;
                    ns.join.push((fd, kind));
                }
                LinuxNamespaceType::Mount => {
                    ns.mount_ns = true;
                    ns.join.push((fd, kind));
                }
                _ => ns.join.push((fd, kind)),
            }
        }
        let rank = |k: &CloneFlags| match *k {
            CloneFlags::CLONE_NEWUSER => 0,
            CloneFlags::CLONE_NEWNS => 2,
            _ => 1,
        };
        ns.join.sort_by_key(|(_, k)| rank(k));
        Ok(ns)
    }

    /// Join the pid and time namespaces for our next child; the returned
    /// guard puts ours back, so a library caller's later children are not
    /// born in the container.
    fn join_for_children(&self) -> Result<Restore> {
        let mut own = Restore(Vec::new());
        for (fd, kind) in &self.for_children {
            let name = if *kind == CloneFlags::CLONE_NEWPID {
                "pid_for_children"
            } else {
                "time_for_children"
            };
            let joined = fs::File::open(format!("/proc/self/ns/{name}"))
                .ctx(|| format!("open /proc/self/ns/{name}"))
                .and_then(|mine| {
                    nix::sched::setns(fd, *kind)
                        .ctx(|| format!("join the container's {kind:?} namespace"))?;
                    Ok(mine)
                });
            match joined {
                Ok(mine) => own.0.push((mine.into(), *kind)),
                Err(e) => {
                    let _ = own.restore();
                    return Err(e);
                }
            }
        }
        Ok(own)
    }
}

/// Our own pid/time namespaces for children, to return to after the clone.
struct Restore(Vec<(OwnedFd, CloneFlags)>);

impl Restore {
    fn restore(self) -> Result<()> {
        for (fd, kind) in &self.0 {
            nix::sched::setns(fd, *kind).ctx(|| format!("return to our own {kind:?} namespace"))?;
        }
        Ok(())
    }
}

fn same_file(fd: &OwnedFd, path: &str) -> bool {
    let a = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(fd));
    match (a, fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.st_dev == b.dev() && a.st_ino == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_follows_go_setenv() {
        let env = merge_env(
            vec!["PATH=/bin".into(), "TERM=xterm".into()],
            &[
                "TERM=foo".into(),
                "NEW=1".into(),
                "PATH=/x".into(),
                "NEW=2".into(),
            ],
        );
        assert_eq!(env, ["PATH=/x", "TERM=foo", "NEW=2"]);
    }

    #[test]
    fn overrides_follow_runc() {
        let base: Process = serde_json::from_value(serde_json::json!({
            "args": ["sleep", "9"], "cwd": "/", "terminal": true,
            "user": {"uid": 0, "gid": 0, "additionalGids": [5]},
            "env": ["PATH=/bin"],
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL"]}
        }))
        .unwrap();
        let o = ProcessOverrides {
            args: vec!["id".into()],
            cwd: Some("/tmp".into()),
            env: vec!["A=1".into()],
            uid: Some(1000),
            gid: Some(1001),
            additional_gids: vec![7],
            caps: vec!["CAP_SYS_ADMIN".into()],
            no_new_privs: true,
            tty: false,
        };
        let p = with_overrides(base, &o).unwrap();
        assert_eq!(p.args().as_deref().unwrap(), ["id"]);
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!(p.terminal(), Some(false), "terminal is not inherited");
        assert_eq!(p.env().as_deref().unwrap(), ["PATH=/bin", "A=1"]);
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1001));
        assert_eq!(p.user().additional_gids().as_deref().unwrap(), [5, 7]);
        let caps = p.capabilities().as_ref().unwrap();
        for set in [caps.bounding(), caps.effective(), caps.permitted()] {
            assert!(set.as_ref().unwrap().contains(&Capability::SysAdmin));
        }
        assert!(caps.inheritable().is_none() && caps.ambient().is_none());
        assert_eq!(p.no_new_privileges(), Some(true));

        let bad = ProcessOverrides {
            args: vec!["x".into()],
            caps: vec!["CAP_NOPE".into()],
            ..Default::default()
        };
        let e = with_overrides(Process::default(), &bad).unwrap_err();
        assert_eq!(e.to_string(), "--cap CAP_NOPE: unknown capability");
        let empty = with_overrides(Process::default(), &ProcessOverrides::default());
        assert_eq!(
            empty.unwrap_err().to_string(),
            "process args cannot be empty"
        );
    }

    #[test]
    fn process_file_errors_name_the_field() {
        let dir = std::env::temp_dir().join(format!("husk-exec-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.json");
        fs::write(&file, r#"{"args":["true"],"cwd":"/","user":{"uid":"x"}}"#).unwrap();
        let e = read_process(&file).unwrap_err().to_string();
        assert!(e.contains("user.uid: invalid type"), "{e}");
        fs::write(&file, r#"["true"]"#).unwrap();
        assert!(read_process(&file)
            .unwrap_err()
            .to_string()
            .contains("JSON object"));
        fs::write(&file, r#"{"args":["true"]}"#).unwrap();
        let p = read_process(&file).unwrap();
        assert_eq!((p.user().uid(), p.cwd().as_os_str().is_empty()), (0, true));
        assert!(
            p.capabilities().is_none(),
            "absent capabilities come from the container"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn namespace_names_are_procs() {
        assert_eq!(LinuxNamespaceType::Network.to_string(), "net");
        assert_eq!(LinuxNamespaceType::Mount.to_string(), "mnt");
        assert_eq!(LinuxNamespaceType::Cgroup.to_string(), "cgroup");
    }
}
