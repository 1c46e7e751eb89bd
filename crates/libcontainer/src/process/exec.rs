//! The child half of `exec`: a process cloned from the runtime that enters an
//! existing container and becomes the program `exec` was asked to run.
//!
//! Order: the container's cgroup first (before anything of the user's runs),
//! then its namespaces (the user namespace first, so the others are joined
//! with its privileges; the mount namespace last, so nothing resolves paths in
//! the container before the other joins are done; pid and time were joined by
//! the parent, as they only apply to children) → the namespace's root
//! credentials → a session of its own → the terminal → what the init does
//! last too (rlimits, cwd, user, capabilities, no_new_privs, seccomp) →
//! execve. Nothing here may print: errors go back over the channel, whose
//! close-on-exec end tells the parent by its end-of-file that execve happened.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::Process;

use super::channel::{Channel, FromInit};
use super::init::{self, Never};
use crate::cgroups::Manager;
use crate::error::{Context, Error, Result};
use crate::security::seccomp;

/// Everything the exec'd process needs, prepared by the parent before the clone.
pub struct ExecContext<'a> {
    /// Container id (names the session keyring).
    pub id: &'a str,
    /// The container was created with `--no-new-keyring`: keep the caller's.
    pub no_new_keyring: bool,
    /// The process to run, complete (the parent merged config and flags).
    pub process: &'a Process,
    /// The child's end of the channel (close-on-exec).
    pub channel: Channel,
    /// The cgroup to join: the container's, or a sub-cgroup of it
    /// (`--cgroup`); none for a rootless container without one.
    pub cgroup: Option<&'a dyn Manager>,
    /// Namespaces of the container's init still to join, in join order.
    pub join: Vec<(OwnedFd, CloneFlags)>,
    /// The container has a user namespace: become its root after joining.
    pub user_ns: bool,
    /// setgroups is allowed (false in a user namespace with setgroups denied).
    pub setgroups_allowed: bool,
    /// The container has no mount namespace of its own: chroot here instead.
    pub chroot: Option<&'a Path>,
    /// Connected `--console-socket`, when the process wants a terminal.
    pub console_socket: Option<OwnedFd>,
    /// `--preserve-fds`: fds 3..3+N stay open across exec.
    pub preserve_fds: i32,
    /// The container's compiled seccomp filter, if it has one.
    pub seccomp: Option<seccomp::Filter>,
}

/// Run the exec'd process. Never returns: it ends in `execve` or `_exit`.
pub fn run(ctx: ExecContext) -> ! {
    init::reset_signals();
    let mut ctx = ctx;
    let err = match enter_and_exec(&mut ctx) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = ctx
        .channel
        .send_to_parent(&FromInit::Failed(err.to_string()));
    // SAFETY: _exit skips destructors that belong to the parent's copy.
    unsafe { libc::_exit(1) }
}

fn enter_and_exec(ctx: &mut ExecContext) -> Result<Never> {
    // Pid 0 is "the writer": right whatever pid namespace we are in.
    if let Some(cg) = ctx.cgroup {
        cg.apply(0)?;
    }
    for (fd, kind) in &ctx.join {
        nix::sched::setns(fd, *kind).ctx(|| format!("join the container's {kind:?} namespace"))?;
    }
    if ctx.user_ns {
        // Still "host root" by uid, which may have no mapping in there.
        let (root, root_gid) = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
        nix::unistd::setresgid(root_gid, root_gid, root_gid)
            .ctx(|| "setgid 0 in the user namespace".into())?;
        nix::unistd::setresuid(root, root, root).ctx(|| "setuid 0 in the user namespace".into())?;
    }
    if let Some(root) = ctx.chroot {
        nix::unistd::chroot(root).ctx(|| format!("chroot {}", root.display()))?;
        nix::unistd::chdir("/").ctx(|| "chdir /".into())?;
    }
    // Not the caller's session, terminal or job control (runc's setsid too).
    nix::unistd::setsid().ctx(|| "setsid".into())?;
    if !ctx.no_new_keyring {
        init::join_session_keyring(ctx.id)?;
    }

    let process = ctx.process;
    let user = process.user();
    match ctx.console_socket.take() {
        Some(socket) => {
            let size = process
                .console_size()
                .map(|b| (b.height() as u16, b.width() as u16));
            super::console::setup_for_exec(&socket, user.uid(), size)?;
        }
        None if process.terminal() == Some(true) => {
            return Err(Error::Process(
                "process.terminal is true but no --console-socket was given".into(),
            ))
        }
        None if user.uid() != 0 => init::fix_stdio_owner(user.uid(), user.gid()),
        None => {}
    }
    let mut ready = init::prepare_exec(process, ctx.seccomp.take(), ctx.setgroups_allowed)?;
    if let Some(listener) = ready.take_listener()? {
        // config-linux.md "Seccomp": the agent gets this process's listener
        // too (its notifications would otherwise go nowhere).
        ctx.channel
            .send_listener_to_parent(std::os::fd::AsRawFd::as_raw_fd(&listener))
            .map_err(|e| Error::Process(format!("exec: send the seccomp listener: {e}")))?;
    }
    ready.exec(ctx.preserve_fds)
}
