//! The container's terminal: a pty made inside the container's devpts whose
//! master goes to the caller over `--console-socket` (SCM_RIGHTS), as runc does.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::error::{Context, Result};

/// Make a pty, send its master over `socket`, and make the slave the calling
/// process's stdio and controlling terminal, and the container's /dev/console.
/// The slave is given to `uid` so a non-root process can use it.
pub fn setup(socket: &OwnedFd, uid: u32, size: Option<(u16, u16)>) -> Result<()> {
    setup_pty(socket, uid, size, true)
}

/// As [`setup`], for a process `exec` adds: /dev/console stays the init's.
pub fn setup_for_exec(socket: &OwnedFd, uid: u32, size: Option<(u16, u16)>) -> Result<()> {
    setup_pty(socket, uid, size, false)
}

fn setup_pty(
    socket: &OwnedFd,
    uid: u32,
    size: Option<(u16, u16)>,
    bind_console: bool,
) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .ctx(|| "open /dev/ptmx".into())?;
    if let Some((height, width)) = size {
        // process.consoleSize: the size the terminal starts with.
        let ws = libc::winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize from a live local.
        if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
            return Err(nix::Error::last()).ctx(|| "set process.consoleSize".into());
        }
    }
    grantpt(&master).ctx(|| "grantpt".into())?;
    unlockpt(&master).ctx(|| "unlockpt".into())?;
    let name = ptsname_r(&master).ctx(|| "ptsname".into())?;
    let slave = nix::fcntl::open(
        Path::new(&name),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("open {name}"))?;
    // SAFETY: open returned a new descriptor we own.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    nix::unistd::fchown(
        slave.as_raw_fd(),
        Some(nix::unistd::Uid::from_raw(uid)),
        None,
    )
    .ctx(|| format!("chown {name}"))?;

    // The slave must be a real pty (CVE-2025-52565: a spoofed /dev/pts entry).
    let st = nix::sys::stat::fstat(slave.as_raw_fd()).ctx(|| format!("stat {name}"))?;
    let pty_major = (136..=143).contains(&nix::sys::stat::major(st.st_rdev));
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || !pty_major {
        return Err(crate::error::Error::Process(format!(
            "{name} is not a pseudoterminal: refusing to use it"
        )));
    }
    if bind_console {
        // /dev/console in the container is the pty too: bound by descriptor onto a
        // target opened without following symlinks.
        let console = nix::fcntl::open(
            "/dev/console",
            OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_RDONLY,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        );
        if let Ok(console) = console {
            // SAFETY: open returned a new descriptor we own.
            let console = unsafe { OwnedFd::from_raw_fd(console) };
            let source = format!("/proc/self/fd/{}", slave.as_raw_fd());
            let target = format!("/proc/self/fd/{}", console.as_raw_fd());
            mount(
                Some(source.as_str()),
                target.as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .ctx(|| format!("bind {name} to /dev/console"))?;
        }
    }

    send_fd(socket.as_raw_fd(), master.as_raw_fd(), name.as_bytes())?;
    drop(master);

    for target in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), target).ctx(|| format!("dup pty to fd {target}"))?;
    }
    // SAFETY: TIOCSCTTY on our own stdin, which is the pty slave.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(nix::Error::last()).ctx(|| "make the pty the controlling terminal".into());
    }
    Ok(())
}

/// Send `fd` over the unix socket `socket` with `name` as the message body.
pub fn send_fd(socket: RawFd, fd: RawFd, name: &[u8]) -> Result<()> {
    let iov = [IoSlice::new(name)];
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(socket, &iov, &cmsg, MsgFlags::empty(), None)
        .ctx(|| "send the pty master over --console-socket".into())?;
    Ok(())
}
