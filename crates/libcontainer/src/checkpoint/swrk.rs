//! One CRIU service worker: `criu swrk <fd>` started as our child with one
//! end of a `SOCK_SEQPACKET` socketpair; each packet is one protobuf
//! `criu_req` or `criu_resp`. CRIU may send notifications (`criu_resp` of
//! type NOTIFY, sometimes with a descriptor attached) before the final
//! answer; each is acknowledged before it goes on.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

use nix::sys::socket::{
    recvmsg, send, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use prost::Message;

use super::rpc::{Req, ReqType, Resp};
use super::CheckpointError;

/// The CRIU binary: `criu` from `PATH`, as runc runs it.
pub const CRIU: &str = "criu";

/// Responses are small; this leaves room for long error messages.
const MAX_PACKET: usize = 1 << 20;

pub(crate) struct Swrk {
    sock: OwnedFd,
    child: Child,
}

impl Swrk {
    /// Start `criu swrk`. `inherit` are descriptors of ours that CRIU must
    /// see at the same numbers (fds named by `inherit_fd`). With `stdio`
    /// CRIU inherits our fds 0-2 (a restore hands them to the restored
    /// process); otherwise they are /dev/null, so nothing CRIU prints (`criu
    /// check` says "Looks good.") mixes with the caller's output.
    pub(crate) fn start(inherit: &[RawFd], stdio: bool) -> Result<Swrk, CheckpointError> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| CheckpointError::Io {
            what: "create the socketpair for criu swrk".into(),
            source: e.into(),
        })?;
        let keep: Vec<RawFd> = inherit
            .iter()
            .copied()
            .chain([theirs.as_raw_fd()])
            .collect();
        let mut cmd = Command::new(CRIU);
        cmd.arg("swrk").arg(theirs.as_raw_fd().to_string());
        if !stdio {
            use std::process::Stdio;
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        // SAFETY: only fcntl(2), which is async-signal-safe, runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                for &fd in &keep {
                    let flags = libc::fcntl(fd, libc::F_GETFD);
                    if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                CheckpointError::Unavailable {
                    reason: format!("{CRIU} is not installed (not found in PATH)"),
                }
            } else {
                CheckpointError::Io {
                    what: format!("start {CRIU} swrk"),
                    source,
                }
            }
        })?;
        drop(theirs);
        Ok(Swrk { sock: ours, child })
    }

    /// The CRIU process's pid.
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn send(&self, req: &Req) -> Result<(), CheckpointError> {
        send(
            self.sock.as_raw_fd(),
            &req.encode_to_vec(),
            MsgFlags::empty(),
        )
        .map_err(|e| CheckpointError::Io {
            what: format!("send a request to {CRIU} swrk"),
            source: e.into(),
        })?;
        Ok(())
    }

    fn recv(&self) -> Result<(Resp, Option<OwnedFd>), CheckpointError> {
        let mut buf = vec![0u8; MAX_PACKET];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.sock.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => {
                    let mut fd = None;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            if let ControlMessageOwned::ScmRights(fds) = c {
                                for raw in fds {
                                    // SAFETY: SCM_RIGHTS gave us this new descriptor.
                                    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                                    fd.get_or_insert(owned);
                                }
                            }
                        }
                    }
                    break (msg.bytes, fd);
                }
                Err(nix::Error::EINTR) => continue,
                Err(e) => {
                    return Err(CheckpointError::Io {
                        what: format!("read the answer of {CRIU} swrk"),
                        source: e.into(),
                    })
                }
            }
        };
        if len == 0 {
            return Err(CheckpointError::Protocol(format!(
                "{CRIU} swrk closed the connection without an answer"
            )));
        }
        let resp = Resp::decode(&buf[..len]).map_err(|e| {
            CheckpointError::Protocol(format!("cannot decode the answer of {CRIU} swrk: {e}"))
        })?;
        Ok((resp, fd))
    }

    /// Send `req` and return CRIU's final answer. Each notification on the
    /// way goes to `on_notify(script, pid, fd)` and is acknowledged when it
    /// returns `Ok`. A failed answer becomes [`CheckpointError::Criu`], with
    /// the end of `log` (CRIU's log file for this request) in it.
    pub(crate) fn call(
        &self,
        req: &Req,
        log: Option<&Path>,
        mut on_notify: impl FnMut(&str, i32, Option<OwnedFd>) -> Result<(), crate::Error>,
    ) -> Result<Resp, crate::Error> {
        let what = ReqType::try_from(req.r#type)
            .map(|t| format!("{t:?}").to_lowercase())
            .unwrap_or_else(|_| "request".into());
        self.send(req)?;
        loop {
            let (resp, fd) = self.recv()?;
            if !resp.success {
                return Err(CheckpointError::Criu {
                    what,
                    errno: resp.cr_errno.unwrap_or(0),
                    message: resp.cr_errmsg.clone().unwrap_or_default(),
                    log: log.map(|p| p.to_path_buf()),
                    log_tail: log.map(log_errors).unwrap_or_default(),
                }
                .into());
            }
            if resp.r#type != ReqType::Notify as i32 {
                return Ok(resp);
            }
            let notify = resp.notify.unwrap_or_default();
            let script = notify.script.unwrap_or_default();
            tracing::debug!(script, "criu notification");
            on_notify(&script, notify.pid.unwrap_or(0), fd)?;
            self.send(&Req {
                r#type: ReqType::Notify as i32,
                notify_success: Some(true),
                ..Default::default()
            })?;
        }
    }

    /// Close our end and reap the CRIU process.
    pub(crate) fn finish(mut self) {
        let _ = nix::sys::socket::shutdown(self.sock.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        let _ = self.child.wait();
    }
}

impl Drop for Swrk {
    fn drop(&mut self) {
        // finish() already reaped it; otherwise (an early error) do not leave it behind.
        if let Ok(None) = self.child.try_wait() {
            let _ =
                nix::sys::socket::shutdown(self.sock.as_raw_fd(), nix::sys::socket::Shutdown::Both);
            let _ = self.child.wait();
        }
    }
}

/// The error lines at the end of a CRIU log (at most 10), for the error
/// message; CRIU's own answer says little more than "failed".
pub(crate) fn log_errors(path: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::new();
    };
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Error") || l.contains("Warn"))
        .collect();
    let tail = if lines.is_empty() {
        text.lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    } else {
        lines[lines.len().saturating_sub(10)..].to_vec()
    };
    tail.join("\n")
}
