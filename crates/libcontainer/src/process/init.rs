//! The container's init: everything that happens inside the new namespaces
//! between the clone and the `execve` of the user's program.
//!
//! The order matters and is the kernel's, not ours to choose:
//! join namespaces → mounts → (createRuntime hooks in the parent) →
//! createContainer hooks → pivot_root → terminal → sysctl → masked/readonly
//! paths → rlimits → bounding set → user → capabilities → no_new_privs →
//! "ready" → wait on the exec fifo → startContainer hooks → seccomp → close
//! fds → execve. Nothing here may print: errors go back to the parent.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use super::channel::{Channel, FromInit, ToInit};
use crate::error::{Context, Error, Result};
use crate::hooks::{self, HookKind};
use crate::rootfs::{self, RootfsPlan};
use crate::security::{capabilities, rlimits, seccomp, user};

/// Everything the init needs, prepared by the parent before the clone.
pub struct InitContext<'a> {
    /// Container id (names the session keyring).
    pub id: &'a str,
    /// The validated config.
    pub spec: &'a Spec,
    /// Absolute rootfs path on the host.
    pub rootfs: &'a Path,
    /// Absolute bundle path.
    pub bundle: &'a Path,
    /// The init's end of the channel.
    pub channel: Channel,
    /// `O_PATH` descriptor of the exec fifo.
    pub fifo: OwnedFd,
    /// The fifo's write end once `start` has released us: a failure after that
    /// is reported through it, and exec closes it (close-on-exec) on success.
    pub released: Option<RawFd>,
    /// Connected `--console-socket`, when the process wants a terminal.
    pub console_socket: Option<OwnedFd>,
    /// `--preserve-fds`: fds 3..3+N stay open across exec.
    pub preserve_fds: i32,
    /// Namespaces to join by path, opened by the parent, in join order.
    pub join: Vec<(OwnedFd, CloneFlags)>,
    /// Create a cgroup namespace (after the parent placed us in our cgroup).
    pub new_cgroup_ns: bool,
    /// Whether we are in a new mount namespace.
    pub mount_ns: bool,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// The compiled seccomp filter, if any.
    pub seccomp: Option<seccomp::Filter>,
    /// setgroups is allowed (false in a user namespace with setgroups denied).
    pub setgroups_allowed: bool,
    /// The container has a user namespace (new or joined): become its root,
    /// and bind device nodes from the host since mknod is not allowed there.
    pub user_ns: bool,
}

/// Run the init. Never returns: it ends in `execve` or `_exit`.
pub fn run(ctx: InitContext) -> ! {
    reset_signals();
    let mut ctx = ctx;
    let err = match setup_and_exec(&mut ctx) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let text = err.to_string();
    if let Some(fd) = ctx.released {
        // `start` is reading the fifo until it closes: tell it why we stop.
        // SAFETY: the descriptor is open; it was stored just after we opened it.
        let _ = nix::unistd::write(
            unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
            text.as_bytes(),
        );
    } else if ctx
        .channel
        .send_to_parent(&FromInit::Failed(text.clone()))
        .is_err()
    {
        // Nobody listens any more; stderr is all that is left.
        let _ = nix::unistd::write(std::io::stderr(), format!("husk init: {text}\n").as_bytes());
    }
    // SAFETY: _exit is always safe; it skips destructors that belong to the parent's copy.
    unsafe { libc::_exit(1) }
}

pub(crate) enum Never {}

/// A user namespace joined by path keeps the maps it has: mappings in the
/// config must be exactly those (runc's rule), never silently different.
fn check_joined_user_ns(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let joined = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_some());
    if !joined {
        return Ok(());
    }
    for (field, file, maps) in [
        (
            "linux.uidMappings",
            "/proc/self/uid_map",
            linux.uid_mappings(),
        ),
        (
            "linux.gidMappings",
            "/proc/self/gid_map",
            linux.gid_mappings(),
        ),
    ] {
        let want = crate::userns::maps_of(maps.as_ref());
        if want.is_empty() {
            continue;
        }
        let have = crate::userns::parse_map_text(
            &std::fs::read_to_string(file).ctx(|| format!("read {file}"))?,
        );
        if want != have {
            return Err(Error::Process(format!(
                "{field} {want:?} differ from the joined user namespace's {have:?}"
            )));
        }
    }
    Ok(())
}

/// The container's program starts with no signal blocked (`husk run` and
/// `exec` block them to forward them) and SIGPIPE at its default: the Rust
/// runtime ignores it in husk, and an ignored signal stays ignored across execve.
pub(crate) fn reset_signals() {
    let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
    // SAFETY: restoring a default disposition installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

fn setup_and_exec(ctx: &mut InitContext) -> Result<Never> {
    // The id-mapped mount trees come first, each with its mount's index.
    let mut idmapped = std::collections::HashMap::new();
    loop {
        match ctx.channel.recv_from_parent_with_fd() {
            Ok((ToInit::Proceed, _)) => break,
            Ok((ToInit::MountFd(i), Some(fd))) => {
                idmapped.insert(i as usize, fd);
            }
            Ok((other, _)) => {
                return Err(Error::Process(format!(
                    "init: unexpected {other:?} from the runtime"
                )))
            }
            Err(e) => return Err(Error::Process(format!("init: {e}"))),
        }
    }
    for (fd, kind) in &ctx.join {
        nix::sched::setns(fd, *kind).ctx(|| format!("join {kind:?} namespace"))?;
    }
    if ctx.user_ns {
        // Our credentials still say "host root", which has no mapping in the
        // new namespace: become the namespace's root before touching files.
        let root = nix::unistd::Uid::from_raw(0);
        let root_gid = nix::unistd::Gid::from_raw(0);
        nix::unistd::setresgid(root_gid, root_gid, root_gid)
            .ctx(|| "setgid 0 in the user namespace".into())?;
        nix::unistd::setresuid(root, root, root).ctx(|| "setuid 0 in the user namespace".into())?;
    }
    if ctx.user_ns {
        check_joined_user_ns(ctx.spec)?;
    }
    // Denied when the maps were written without privilege (userns::write_maps),
    // or in the user namespace the runtime itself runs in (`unshare -r`).
    ctx.setgroups_allowed = std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() != "deny")
        .unwrap_or(true);
    if ctx.new_cgroup_ns {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .ctx(|| "create the cgroup namespace".into())?;
    }
    // A session of its own: the container must not share the caller's terminal or job control.
    nix::unistd::setsid().ctx(|| "setsid".into())?;
    if !ctx.no_new_keyring {
        join_session_keyring(ctx.id)?;
    }

    let spec = ctx.spec;
    let process = spec.process().as_ref();
    let hooks = spec.hooks().as_ref();
    let plan = RootfsPlan {
        spec,
        rootfs: ctx.rootfs,
        bundle: ctx.bundle,
        no_pivot: ctx.no_pivot,
        user_ns: ctx.user_ns,
        idmapped: &idmapped,
        mount_ns: ctx.mount_ns,
        cgroup_ns: ctx.new_cgroup_ns
            || ctx
                .join
                .iter()
                .any(|(_, k)| *k == CloneFlags::CLONE_NEWCGROUP),
    };
    crate::faults::stop_at("init-before-mounts");
    rootfs::setup(&plan)?;
    crate::faults::stop_at("init-after-mounts");
    let wants_runtime_hooks = hooks.is_some_and(|h| {
        h.prestart().as_ref().is_some_and(|v| !v.is_empty())
            || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
    });
    if wants_runtime_hooks {
        ctx.channel
            .send_to_parent(&FromInit::RunCreateRuntimeHooks)
            .map_err(|e| Error::Process(format!("init: {e}")))?;
        match ctx.channel.recv_from_parent() {
            Ok(ToInit::HooksDone) => {}
            Ok(other) => return Err(Error::Process(format!("init: unexpected {other:?}"))),
            Err(e) => return Err(Error::Process(format!("init: {e}"))),
        }
    }
    if let Some(list) = hooks.and_then(|h| h.create_container().as_ref()) {
        let state = creating_state_json(ctx.id, ctx.bundle, spec);
        hooks::run_all(HookKind::CreateContainer, list, &state)
            .map_err(|e| Error::Process(e.to_string()))?;
    }
    rootfs::enter(&plan)?;
    if ctx.mount_ns {
        reopen_dev_null()?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("hostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        set_domainname(d)?;
    }
    let uid = process.map(|p| p.user().uid()).unwrap_or(0);
    let gid = process.map(|p| p.user().gid()).unwrap_or(0);
    if process.and_then(|p| p.terminal()).unwrap_or(false) {
        let socket = ctx.console_socket.take().ok_or_else(|| {
            Error::Process("process.terminal is true but no --console-socket was given".into())
        })?;
        let size = process
            .and_then(|p| p.console_size())
            .map(|b| (b.height() as u16, b.width() as u16));
        super::console::setup(&socket, uid, size)?;
    } else if uid != 0 {
        fix_stdio_owner(uid, gid);
    }
    rootfs::apply_sysctl(spec)?;
    if let Some(linux) = spec.linux() {
        if let Some(p) = linux.personality() {
            crate::security::sched::apply_personality(p)?;
        }
        if let Some(m) = linux.memory_policy() {
            crate::security::sched::apply_memory_policy(m)?;
        }
    }
    rootfs::finish(spec)?;

    let Some(process) = process else {
        // No process: `start` will refuse; wait on the fifo like any container.
        ctx.channel
            .send_to_parent(&FromInit::Ready)
            .map_err(|e| Error::Process(format!("init: {e}")))?;
        ctx.released = Some(wait_for_start(&ctx.fifo)?);
        return Err(Error::Process("config has no process to start".into()));
    };
    let mut ready = prepare_exec(process, ctx.seccomp.take(), ctx.setgroups_allowed)?;
    if let Some(listener) = ready.take_listener()? {
        // config-linux.md "Seccomp": the parent hands it to the agent at listenerPath.
        ctx.channel
            .send_listener_to_parent(listener.as_raw_fd())
            .map_err(|e| Error::Process(format!("init: send the seccomp listener: {e}")))?;
    }

    catch_termination_signals();

    ctx.channel
        .send_to_parent(&FromInit::Ready)
        .map_err(|e| Error::Process(format!("init: {e}")))?;
    crate::faults::stop_at("init-after-ready");
    ctx.released = Some(wait_for_start(&ctx.fifo)?);

    if let Some(list) = hooks.and_then(|h| h.start_container().as_ref()) {
        let state = creating_state_json(ctx.id, ctx.bundle, spec);
        hooks::run_all(HookKind::StartContainer, list, &state)
            .map_err(|e| Error::Process(e.to_string()))?;
    }
    ready.exec(ctx.preserve_fds)
}

/// A container process that has done everything but its last steps before
/// `execve`; the init takes those only once `start` releases it.
pub(crate) struct ReadyToExec<'a> {
    args: &'a [String],
    env: Vec<String>,
    program: PathBuf,
    trampoline: Option<OwnedFd>,
    /// Still to be loaded, right before execve (no_new_privs is set).
    filter: Option<seccomp::Filter>,
    /// The seccomp notify listener, once a filter with SCMP_ACT_NOTIFY is loaded.
    listener: Option<OwnedFd>,
}

/// What the init and `exec` do inside the container once its root is in
/// place: rlimits and oom_score_adj, the environment, the working directory
/// and the program's path, the exec trampoline, then the bounding set, user,
/// capabilities and no_new_privs. Without no_new_privs, seccomp is loaded
/// here too, while CAP_SYS_ADMIN is still held.
pub(crate) fn prepare_exec(
    process: &Process,
    mut filter: Option<seccomp::Filter>,
    setgroups_allowed: bool,
) -> Result<ReadyToExec<'_>> {
    if let Some(rl) = process.rlimits() {
        rlimits::apply(rl)?;
    }
    if let Some(adj) = process.oom_score_adj() {
        rlimits::apply_oom_score_adj(adj)?;
    }
    // Before the capability drop: real-time policies need CAP_SYS_NICE.
    if let Some(s) = process.scheduler() {
        crate::security::sched::apply_scheduler(s)?;
    }
    if let Some(p) = process.io_priority() {
        crate::security::sched::apply_io_priority(p)?;
    }
    let caps = process
        .capabilities()
        .as_ref()
        .map(capabilities::parse)
        .transpose()?
        .unwrap_or_default();
    let no_new_privs = process.no_new_privileges().unwrap_or(false);
    // Resolve the program and enter cwd before any seccomp filter exists: the
    // profile may deny getcwd or stat, which the runtime itself needs here.
    let env = build_env(
        process.env().as_deref().unwrap_or_default(),
        process.user().uid(),
    );
    let args = process.args().as_deref().unwrap_or_default();
    change_dir(process.cwd())?;
    let program = find_executable(&args[0], &env)?;
    // AppArmor/SELinux take effect at execve; validation refused them where the LSM is off.
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        crate::security::lsm::apply_apparmor(profile)?;
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|l| !l.is_empty()) {
        crate::security::lsm::apply_selinux(label)?;
    }
    // Before seccomp and the capability drop, which could forbid memfd_create.
    let trampoline =
        super::trampoline::prepare().ctx(|| "prepare the exec trampoline (memfd)".into())?;
    let mut listener = None;
    if !no_new_privs {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which we
        // still have only now.
        if let Some(f) = filter.take() {
            listener = f.load()?.map(|fd| {
                // SAFETY: the kernel just returned this listener descriptor.
                unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
            });
        }
    }
    capabilities::apply_bounding(&caps)?;
    // Keep the permitted set across the switch to a non-root uid.
    nix::sys::prctl::set_keepcaps(true).ctx(|| "PR_SET_KEEPCAPS".into())?;
    user::switch(process.user(), setgroups_allowed)?;
    if process.user().umask().is_none() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    }
    nix::sys::prctl::set_keepcaps(false).ctx(|| "PR_SET_KEEPCAPS".into())?;
    capabilities::apply_sets(&caps)?;
    if no_new_privs {
        nix::sys::prctl::set_no_new_privs()
            .map_err(crate::security::SecurityError::NoNewPrivileges)?;
    }
    Ok(ReadyToExec {
        args,
        env,
        program,
        trampoline,
        filter,
        listener,
    })
}

impl ReadyToExec<'_> {
    /// The seccomp notify listener, loading the filter now if it has NOTIFY
    /// rules: the agent must get the listener while the parent still runs.
    pub(crate) fn take_listener(&mut self) -> Result<Option<OwnedFd>> {
        if self.filter.as_ref().is_some_and(|f| f.needs_listener()) {
            if let Some(f) = self.filter.take() {
                self.listener = f.load()?.map(|fd| {
                    // SAFETY: the kernel just returned this listener descriptor.
                    unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
                });
            }
        }
        Ok(self.listener.take())
    }

    /// Load the rest of seccomp, keep only stdio and the `preserve_fds`
    /// descriptors open across exec, and exec the program.
    pub(crate) fn exec(mut self, preserve_fds: i32) -> Result<Never> {
        if let Some(f) = self.filter.take() {
            f.load()?;
        }
        close_fds_on_exec(preserve_fds)?;
        exec_via(
            self.trampoline.as_ref(),
            &self.program,
            self.args,
            &self.env,
        )
    }
}

/// Block until `start` opens the fifo's other end, then tell it we are going.
/// The write end stays open (close-on-exec): `start` reads until it closes, so
/// it learns whether we reached `execve` or failed on the way.
fn wait_for_start(fifo: &OwnedFd) -> Result<RawFd> {
    // Re-open the O_PATH descriptor for writing: this blocks until a reader appears.
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    let fd = loop {
        match nix::fcntl::open(
            path.as_str(),
            nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other.ctx(|| "open the exec fifo".into())?,
        }
    };
    // SAFETY: `fd` was just opened and stays open until exec.
    nix::unistd::write(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, b"0")
        .ctx(|| "write the exec fifo".into())?;
    Ok(fd)
}

/// Until exec, the init is PID 1 of its namespace and ignores signals it has no
/// handler for; `kill` of a created container must still end it, as with runc.
fn catch_termination_signals() {
    extern "C" fn die(sig: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) }
    }
    for sig in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
    ] {
        // SAFETY: installing a handler that only calls _exit. execve resets it.
        unsafe { libc::signal(sig, die as *const () as libc::sighandler_t) };
    }
}

pub(crate) fn join_session_keyring(id: &str) -> Result<()> {
    let name = CString::new(format!("_ses.{id}"))
        .map_err(|_| Error::Process("container id has a NUL byte".into()))?;
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if r < 0 {
        let e = nix::Error::last();
        // Keyrings may be unavailable (e.g. blocked by a seccomp profile around us): go on as runc does.
        if e != nix::Error::ENOSYS && e != nix::Error::EPERM && e != nix::Error::EACCES {
            return Err(e).ctx(|| "create a session keyring".into());
        }
    }
    Ok(())
}

fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: pointer and length of a live buffer.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if r < 0 {
        return Err(nix::Error::last()).ctx(|| format!("domainname {name:?}"));
    }
    Ok(())
}

/// Give the container user its stdio (pipes from the caller), as runc does.
pub(crate) fn fix_stdio_owner(uid: u32, gid: u32) {
    for fd in 0..3 {
        if let Ok(st) = nix::sys::stat::fstat(fd) {
            // Leave /dev/null and other character devices of the host alone.
            if st.st_mode & libc::S_IFMT == libc::S_IFCHR {
                continue;
            }
            let _ = nix::unistd::fchown(fd, Some(uid.into()), Some(gid.into()));
        }
    }
}

/// The process env, plus HOME when missing (from /etc/passwd, else `/`), as runc does.
fn build_env(env: &[String], uid: u32) -> Vec<String> {
    let mut out: Vec<String> = env.to_vec();
    if !out.iter().any(|e| e.starts_with("HOME=")) {
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|p| {
                p.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid))
                        .then(|| f[5].to_string())
                })
            })
            .unwrap_or_else(|| "/".into());
        out.push(format!("HOME={home}"));
    }
    out
}

/// Find the program the way execvp would, with the container's PATH, and
/// report a missing one with runc's wording (clients map it to exit code 127).
fn find_executable(name: &str, env: &[String]) -> Result<PathBuf> {
    if name.contains('/') {
        return match std::fs::metadata(name) {
            Ok(m) if m.is_dir() => Err(Error::Process(format!("exec: \"{name}\": is a directory"))),
            Ok(_) => Ok(PathBuf::from(name)),
            Err(e) => Err(Error::Process(format!(
                "exec: \"{name}\": stat {name}: {}",
                lower_io_error(&e)
            ))),
        };
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        if let Ok(m) = std::fs::metadata(&candidate) {
            use std::os::unix::fs::PermissionsExt;
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(Error::Process(format!(
        "exec: \"{name}\": executable file not found in $PATH"
    )))
}

/// Go's lower-case errno text ("no such file or directory"), which clients match on.
fn lower_io_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::Error::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

/// chdir to cwd and make sure it is inside the container (CVE-2024-21626: a
/// leaked host descriptor must never become the working directory).
fn change_dir(cwd: &Path) -> Result<()> {
    nix::unistd::chdir(cwd).ctx(|| format!("process.cwd {}", cwd.display()))?;
    let now = nix::unistd::getcwd().ctx(|| "getcwd".into())?;
    if !now.is_absolute() || now.starts_with("(unreachable)") {
        return Err(Error::Process(format!(
            "process.cwd {} is outside the container",
            cwd.display()
        )));
    }
    Ok(())
}

/// Mark every descriptor but stdio and the preserved ones close-on-exec.
fn close_fds_on_exec(preserve: i32) -> Result<()> {
    let first = 3 + preserve.max(0) as u32;
    // SAFETY: close_range only changes descriptor flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r < 0 {
        // Older kernels: walk /proc/self/fd.
        for entry in std::fs::read_dir("/proc/self/fd")
            .ctx(|| "list /proc/self/fd".into())?
            .flatten()
        {
            if let Some(fd) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<RawFd>().ok())
            {
                if fd as u32 >= first {
                    let _ = nix::fcntl::fcntl(
                        fd,
                        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
                    );
                }
            }
        }
    }
    for fd in 3..first as RawFd {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .ctx(|| format!("--preserve-fds: fd {fd} is not open"))?;
    }
    Ok(())
}

/// Exec the user program, through the CVE-2019-5736 trampoline when given one.
pub(crate) fn exec_via(
    trampoline: Option<&OwnedFd>,
    program: &Path,
    args: &[String],
    env: &[String],
) -> Result<Never> {
    let to_c =
        |s: &str| CString::new(s).map_err(|_| Error::Process(format!("{s:?} contains a NUL byte")));
    let prog = to_c(&program.to_string_lossy())?;
    let argv = args.iter().map(|a| to_c(a)).collect::<Result<Vec<_>>>()?;
    let envp = env.iter().map(|e| to_c(e)).collect::<Result<Vec<_>>>()?;
    use super::trampoline::ExecFailure;
    Err(Error::Process(
        match super::trampoline::exec(trampoline, &prog, &argv, &envp) {
            ExecFailure::Exec(err) => {
                format!("exec: \"{}\": {}", args[0], err.desc().to_lowercase())
            }
            ExecFailure::Unprotected { execveat, proc_fd } => format!(
                "exec: \"{}\": refused to run it without the CVE-2019-5736 protection: \
                 execveat of the sealed trampoline failed ({}) and so did execve of \
                 /proc/self/fd ({}); the seccomp profile must allow execveat, or \
                 execve with /proc mounted",
                args[0],
                execveat.desc().to_lowercase(),
                proc_fd.desc().to_lowercase()
            ),
        },
    ))
}

/// The state hooks see while the container is being created.
fn creating_state_json(id: &str, bundle: &Path, spec: &Spec) -> String {
    serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "id": id,
        "status": "creating",
        "pid": nix::unistd::getpid().as_raw(),
        "bundle": bundle,
        "annotations": spec.annotations().clone().unwrap_or_default(),
    })
    .to_string()
}

/// Namespace type to clone flag.
pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// runc's choice: stdio that is the host's /dev/null (e.g. conmon's stdin)
/// is reopened as the container's own /dev/null, so no descriptor of the
/// init refers to a mount outside the container (CRIU cannot checkpoint one).
fn reopen_dev_null() -> Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let Ok(null) = crate::rootfs::verify::dev_null(std::path::Path::new("/dev/null")) else {
        return Ok(()); // no /dev/null of its own: nothing better to use
    };
    let own = nix::sys::stat::fstat(null.as_raw_fd()).ctx(|| "stat /dev/null".into())?;
    for fd in 0..3 {
        let Ok(st) = nix::sys::stat::fstat(fd) else {
            continue;
        };
        let is_null = st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == own.st_rdev;
        if !is_null || (st.st_dev == own.st_dev && st.st_ino == own.st_ino) {
            continue;
        }
        let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL)
            .ctx(|| format!("flags of fd {fd}"))?;
        let mode = nix::fcntl::OFlag::from_bits_truncate(flags & libc::O_ACCMODE);
        let path = format!("/proc/self/fd/{}", null.as_raw_fd());
        let raw = nix::fcntl::open(path.as_str(), mode, nix::sys::stat::Mode::empty())
            .ctx(|| format!("reopen /dev/null for fd {fd}"))?;
        // SAFETY: open returned a new descriptor we own.
        let new = unsafe { OwnedFd::from_raw_fd(raw) };
        nix::unistd::dup2(new.as_raw_fd(), fd).ctx(|| format!("dup2 /dev/null onto fd {fd}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_programs_use_runc_wording() {
        let env = vec!["PATH=/nonexistent".to_string()];
        let e = find_executable("nosuch", &env).unwrap_err().to_string();
        assert_eq!(e, "exec: \"nosuch\": executable file not found in $PATH");
        let e = find_executable("/no/such/binary", &env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "exec: \"/no/such/binary\": stat /no/such/binary: no such file or directory"
        );
        assert_eq!(
            find_executable("sh", &["PATH=/bin".into()]).unwrap(),
            PathBuf::from("/bin/sh")
        );
    }

    #[test]
    fn home_is_added_only_when_missing() {
        let env = build_env(&["HOME=/x".into()], 0);
        assert_eq!(env, vec!["HOME=/x".to_string()]);
        let env = build_env(&[], 4242);
        assert!(env.iter().any(|e| e.starts_with("HOME=")));
    }
}
