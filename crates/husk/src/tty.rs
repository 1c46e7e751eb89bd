//! The terminal for a foreground `husk run` whose process wants one and that
//! has no `--console-socket`: husk receives the pty master itself and relays
//! between it and its own stdio, as runc does.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};
use nix::unistd::Pid;

type BoxError = Box<dyn std::error::Error>;

/// A private unix socket the container's init sends the pty master to.
pub struct ConsoleSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    /// Listen on a fresh socket in the temp dir.
    pub fn new() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("husk-console-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        Ok(ConsoleSocket { path, listener })
    }

    /// Where `create` connects.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accept the init's connection and take the pty master out of its message.
    pub fn receive_master(&self) -> Result<OwnedFd, BoxError> {
        let (conn, _) = self.listener.accept()?;
        let mut name = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut name)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        for cmsg in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                if let Some(fd) = fds.first() {
                    // SAFETY: the kernel installed this descriptor for us.
                    return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
                }
            }
        }
        Err("the container sent no terminal over the console socket".into())
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Puts our terminal in raw mode and restores it when dropped.
struct RawMode(Option<Termios>);

impl RawMode {
    fn enter() -> Self {
        let stdin = std::io::stdin();
        match termios::tcgetattr(stdin.as_fd()) {
            Ok(orig) => {
                let mut raw = orig.clone();
                termios::cfmakeraw(&mut raw);
                let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
                RawMode(Some(orig))
            }
            Err(_) => RawMode(None), // not a terminal: nothing to change
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(orig) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, orig);
        }
    }
}

fn copy_winsize(master: RawFd) {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a pointer to a local winsize.
    unsafe {
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Relay stdin→pty and pty→stdout, forward signals to `init`, and return its
/// exit code once it has exited. `mask` holds the signals already blocked.
pub fn relay(
    master: OwnedFd,
    init: Pid,
    mask: &SigSet,
    reap: impl Fn(Pid) -> Result<Option<i32>, BoxError>,
) -> Result<i32, BoxError> {
    let _raw = RawMode::enter();
    copy_winsize(master.as_raw_fd());
    let sigfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC)?;
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = [0u8; 8192];
    let mut code = None;
    loop {
        if code.is_none() {
            code = reap(init)?;
        }
        if code.is_some() && !master_open {
            return Ok(code.unwrap_or(0));
        }
        let mut fds = vec![
            PollFd::new(sigfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(
                master.as_fd(),
                if master_open {
                    PollFlags::POLLIN
                } else {
                    PollFlags::empty()
                },
            ),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        // Once the process is gone, drain what the pty still holds, then stop.
        let timeout = if code.is_some() {
            PollTimeout::from(50u16)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) => return Ok(code.unwrap_or(0)),
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, master_ready, stdin_ready) = (ready(0), ready(1), ready(2));
        drop(fds);
        if sig_ready {
            if let Ok(Some(info)) = sigfd.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) => {}
                    Ok(Signal::SIGWINCH) => copy_winsize(master.as_raw_fd()),
                    Ok(sig) => {
                        let _ = kill(init, sig);
                    }
                    Err(_) => {}
                }
            }
        }
        if master_ready {
            match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                Ok(0) | Err(nix::Error::EIO) => master_open = false,
                Ok(n) => write_all(1, &buf[..n])?,
                Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if stdin_ready {
            match nix::unistd::read(0, &mut buf) {
                Ok(0) => stdin_open = false,
                Ok(n) => write_all(master.as_raw_fd(), &buf[..n])?,
                Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
                Err(_) => stdin_open = false,
            }
        }
    }
}

fn write_all(fd: RawFd, mut data: &[u8]) -> Result<(), BoxError> {
    while !data.is_empty() {
        // SAFETY: `fd` is open for the duration of the call.
        match nix::unistd::write(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, data) {
            Ok(n) => data = &data[n..],
            Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => continue,
            Err(nix::Error::EIO) => return Ok(()), // the pty's other side is gone
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
