//! The typed channel between the runtime (parent) and the container's init.
//!
//! A `SOCK_SEQPACKET` socketpair: every message is one packet, so there is no
//! framing to get wrong, and a peer that dies shows up as end-of-file. Each
//! message is a one-byte tag followed by an optional UTF-8 payload.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType};

/// Messages the parent sends to the init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToInit {
    /// The parent has done its outside work (cgroup, id maps); go on.
    Proceed,
    /// The hooks the init asked for have run.
    HooksDone,
    /// The id-mapped tree for `mounts[i]`, sent as SCM_RIGHTS with the
    /// message (before `Proceed`): the runtime makes it outside the container.
    MountFd(u32),
}

/// Messages the init sends to the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromInit {
    /// The runtime environment exists; run `prestart` and `createRuntime` hooks now.
    RunCreateRuntimeHooks,
    /// Setup is complete; the init now waits on the exec fifo.
    Ready,
    /// The seccomp notify listener, passed as SCM_RIGHTS with the message, for
    /// the parent to hand to the agent at `linux.seccomp.listenerPath`.
    SeccompListener,
    /// Setup failed; the text says why. The init exits after sending it.
    Failed(String),
}

const MAX_PACKET: usize = 64 * 1024;

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Errors on the channel.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The peer closed its end (it exited).
    #[error("the other side of the init channel closed")]
    Closed,
    /// A packet that is not a known message.
    #[error("unexpected message on the init channel: {0:?}")]
    Unexpected(Vec<u8>),
    /// The socket call failed.
    #[error("init channel: {0}")]
    Sys(#[from] nix::Error),
}

/// A connected pair: (parent end, init end). Both are close-on-exec.
pub fn pair() -> Result<(Channel, Channel), ChannelError> {
    let (a, b) = socket::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    fn send_raw(&self, tag: u8, payload: &[u8]) -> Result<(), ChannelError> {
        let mut buf = Vec::with_capacity(1 + payload.len());
        buf.push(tag);
        buf.extend_from_slice(&payload[..payload.len().min(MAX_PACKET - 1)]);
        loop {
            match socket::send(self.fd.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL) {
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => continue,
                Err(nix::Error::EPIPE) | Err(nix::Error::ECONNRESET) => {
                    return Err(ChannelError::Closed)
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    #[cfg(any(test, feature = "internals"))]
    fn recv_raw(&self) -> Result<Vec<u8>, ChannelError> {
        self.recv_raw_fd().map(|(buf, _)| buf)
    }

    /// One packet and the descriptor that came with it, if any.
    fn recv_raw_fd(&self) -> Result<(Vec<u8>, Option<OwnedFd>), ChannelError> {
        use std::io::IoSliceMut;
        use std::os::fd::FromRawFd;
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = match socket::recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => m,
                Err(nix::Error::EINTR) => continue,
                Err(nix::Error::ECONNRESET) => return Err(ChannelError::Closed),
                Err(e) => return Err(e.into()),
            };
            let n = msg.bytes;
            let mut fd = None;
            for c in msg.cmsgs()? {
                if let socket::ControlMessageOwned::ScmRights(fds) = c {
                    for raw in fds {
                        // SAFETY: the kernel installed these descriptors for us.
                        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                        fd.get_or_insert(owned);
                    }
                }
            }
            if n == 0 {
                return Err(ChannelError::Closed);
            }
            buf.truncate(n);
            return Ok((buf, fd));
        }
    }

    /// Init side: send the seccomp listener to the parent.
    pub fn send_listener_to_parent(
        &self,
        listener: std::os::fd::RawFd,
    ) -> Result<(), ChannelError> {
        self.send_with_fd(b"s", listener)
    }

    /// One packet with a descriptor attached.
    fn send_with_fd(&self, data: &[u8], fd: std::os::fd::RawFd) -> Result<(), ChannelError> {
        use std::io::IoSlice;
        let iov = [IoSlice::new(data)];
        let fds = [fd];
        let cmsg = [socket::ControlMessage::ScmRights(&fds)];
        loop {
            match socket::sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                &cmsg,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => continue,
                Err(nix::Error::EPIPE) | Err(nix::Error::ECONNRESET) => {
                    return Err(ChannelError::Closed)
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Parent side: the init's next message and the descriptor sent with it.
    pub fn recv_from_init_with_fd(&self) -> Result<(FromInit, Option<OwnedFd>), ChannelError> {
        let (buf, fd) = self.recv_raw_fd()?;
        Ok((decode_from_init(buf)?, fd))
    }

    /// Parent side: send a message to the init.
    pub fn send_to_init(&self, msg: ToInit) -> Result<(), ChannelError> {
        match msg {
            ToInit::Proceed => self.send_raw(b'P', &[]),
            ToInit::HooksDone => self.send_raw(b'H', &[]),
            ToInit::MountFd(i) => self.send_raw(b'M', &i.to_le_bytes()),
        }
    }

    /// Parent side: send the id-mapped tree of `mounts[index]`.
    pub fn send_mount_fd(&self, index: u32, fd: std::os::fd::RawFd) -> Result<(), ChannelError> {
        self.send_with_fd(&[&[b'M'][..], &index.to_le_bytes()].concat(), fd)
    }

    /// Init side: wait for the parent's next message.
    pub fn recv_from_parent(&self) -> Result<ToInit, ChannelError> {
        self.recv_from_parent_with_fd().map(|(m, _)| m)
    }

    /// Init side: the parent's next message and the descriptor sent with it.
    pub fn recv_from_parent_with_fd(&self) -> Result<(ToInit, Option<OwnedFd>), ChannelError> {
        let (buf, fd) = self.recv_raw_fd()?;
        let msg = match buf.as_slice() {
            [b'P'] => ToInit::Proceed,
            [b'H'] => ToInit::HooksDone,
            [b'M', a, b, c, d] => ToInit::MountFd(u32::from_le_bytes([*a, *b, *c, *d])),
            _ => return Err(ChannelError::Unexpected(buf)),
        };
        Ok((msg, fd))
    }

    /// Init side: send a message to the parent.
    pub fn send_to_parent(&self, msg: &FromInit) -> Result<(), ChannelError> {
        match msg {
            FromInit::RunCreateRuntimeHooks => self.send_raw(b'h', &[]),
            FromInit::Ready => self.send_raw(b'r', &[]),
            FromInit::Failed(text) => self.send_raw(b'f', text.as_bytes()),
            FromInit::SeccompListener => self.send_raw(b's', &[]),
        }
    }

    /// Parent side: wait for the init's next message (the tests' and the
    /// fuzz target's shorthand; the runtime itself takes descriptors too).
    #[cfg(any(test, feature = "internals"))]
    pub fn recv_from_init(&self) -> Result<FromInit, ChannelError> {
        decode_from_init(self.recv_raw()?)
    }

    /// The raw descriptor (to keep it clear of preserved fds).
    #[cfg(feature = "internals")]
    pub fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

fn decode_from_init(buf: Vec<u8>) -> Result<FromInit, ChannelError> {
    match buf.split_first() {
        Some((b'h', [])) => Ok(FromInit::RunCreateRuntimeHooks),
        Some((b'r', [])) => Ok(FromInit::Ready),
        Some((b's', [])) => Ok(FromInit::SeccompListener),
        Some((b'f', text)) => Ok(FromInit::Failed(String::from_utf8_lossy(text).into_owned())),
        _ => Err(ChannelError::Unexpected(buf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (parent, init) = pair().unwrap();
        parent.send_to_init(ToInit::Proceed).unwrap();
        assert_eq!(init.recv_from_parent().unwrap(), ToInit::Proceed);
        init.send_to_parent(&FromInit::Failed("mount /proc: EPERM".into()))
            .unwrap();
        init.send_to_parent(&FromInit::Ready).unwrap();
        assert_eq!(
            parent.recv_from_init().unwrap(),
            FromInit::Failed("mount /proc: EPERM".into())
        );
        assert_eq!(parent.recv_from_init().unwrap(), FromInit::Ready);
        let (r, w) = nix::unistd::pipe().unwrap();
        parent.send_mount_fd(7, r.as_raw_fd()).unwrap();
        let (msg, fd) = init.recv_from_parent_with_fd().unwrap();
        assert_eq!(msg, ToInit::MountFd(7));
        assert!(fd.is_some());
        drop(w);
        drop(init);
        assert!(matches!(parent.recv_from_init(), Err(ChannelError::Closed)));
    }
}
