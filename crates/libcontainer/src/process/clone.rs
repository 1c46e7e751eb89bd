//! Creating the container's init: one `clone3` (or `clone` where a seccomp
//! profile hides clone3) with every new namespace in its flags.
//!
//! The child gets a copy of the parent's memory, like `fork`, so the validated
//! config crosses to it without being serialised. The caller must be
//! single-threaded: only the calling thread exists in the child.

use nix::unistd::Pid;

/// Which side of the clone we are on.
pub enum Forked {
    /// In the parent; the child's pid (in the parent's pid namespace).
    Parent(Pid),
    /// In the child.
    Child,
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Clone the calling process with `flags` (CLONE_NEW* bits, CLONE_PARENT).
///
/// # Safety
/// The process must be single-threaded, and the child must finish with
/// `execve` or `_exit` (never return into code that assumes it is the parent).
pub unsafe fn clone_process(flags: libc::c_int) -> nix::Result<Forked> {
    let mut args = CloneArgs {
        flags: flags as u64,
        // clone3 refuses an exit signal with CLONE_PARENT: the child then
        // inherits ours (SIGCHLD) for the parent it shares with us.
        exit_signal: if flags & libc::CLONE_PARENT != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        ..Default::default()
    };
    let ret = libc::syscall(
        libc::SYS_clone3,
        &mut args as *mut CloneArgs,
        std::mem::size_of::<CloneArgs>(),
    );
    let ret = if ret == -1 && nix::errno::Errno::last() == nix::errno::Errno::ENOSYS {
        // clone(2) with a null stack behaves like fork: the child runs on a copy of our stack.
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    } else {
        ret
    };
    match ret {
        -1 => Err(nix::errno::Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// Clone through an intermediate process: it runs `prepare` (join a user
/// namespace, then the namespaces that apply to children), clones the real
/// child with `flags` as *our* child (CLONE_PARENT) and exits. For what a
/// process cannot do to itself and undo: entering a user namespace.
/// Returns the child's pid as we see it.
///
/// # Safety
/// As [`clone_process`].
pub unsafe fn clone_through(
    prepare: impl FnOnce() -> crate::error::Result<()>,
    flags: libc::c_int,
) -> crate::error::Result<Forked> {
    use crate::error::Context;
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ctx(|| "pipe".into())?;
    match clone_process(0).ctx(|| "clone the namespace joiner".into())? {
        Forked::Child => {
            drop(rd);
            let r = prepare().and_then(|()| {
                clone_process(flags | libc::CLONE_PARENT)
                    .ctx(|| "clone the container process".into())
            });
            let (code, msg) = match r {
                Ok(Forked::Child) => {
                    drop(wr);
                    return Ok(Forked::Child);
                }
                Ok(Forked::Parent(_)) => (0, String::new()),
                Err(e) => (1, e.to_string()),
            };
            let _ = nix::unistd::write(&wr, msg.as_bytes());
            libc::_exit(code)
        }
        Forked::Parent(mid) => {
            drop(wr);
            let mut why = String::new();
            let _ = std::io::Read::read_to_string(&mut std::fs::File::from(rd), &mut why);
            let _ = nix::sys::wait::waitpid(mid, None);
            if !why.is_empty() {
                return Err(crate::error::ProcessError::Joiner { message: why }.into());
            }
            // Its pid as we see it (the joiner may sit in another pid
            // namespace): our only child now that the joiner is reaped.
            let tid = nix::unistd::gettid();
            let kids = std::fs::read_to_string(format!("/proc/self/task/{tid}/children"))
                .ctx(|| "read our children".into())?;
            let kids: Vec<i32> = kids
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            match kids[..] {
                [pid] => Ok(Forked::Parent(Pid::from_raw(pid))),
                _ => Err(crate::error::ProcessError::Joiner {
                    message: format!("cannot tell the new process among our children {kids:?}"),
                }
                .into()),
            }
        }
    }
}
