//! config-linux.md "Network Devices": host interfaces named in
//! `linux.netDevices` are moved into the container's network namespace,
//! renamed, given back their permanent global addresses and brought up.
//!
//! Everything goes through rtnetlink (NETLINK_ROUTE) with two sockets: one
//! in the runtime's network namespace and one created in the container's
//! (by a short-lived thread that enters it, so the runtime process itself
//! never changes namespace). Every entry is checked before any device moves:
//! the host device exists, and its new name is free in the container
//! namespace unless it is a `%d` template.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Errors moving network devices; each names the `linux.netDevices` entry.
#[derive(Debug, thiserror::Error)]
#[error("linux.netDevices.{device}: {what}")]
pub struct NetDeviceError {
    /// The host device name (the entry key).
    pub device: String,
    /// What went wrong.
    pub what: String,
}

fn err(device: &str, what: impl Into<String>) -> NetDeviceError {
    NetDeviceError {
        device: device.to_string(),
        what: what.into(),
    }
}

// rtnetlink numbers (linux/rtnetlink.h, linux/netlink.h, linux/if_link.h,
// linux/if_addr.h): stable kernel ABI.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 0x1;
const NLMSG_HDRLEN: usize = 16;
/// IFNAMSIZ - 1.
const IFNAME_MAX: usize = 15;

/// One rtnetlink socket.
struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

/// An address to carry across: the ifaddrmsg fields and the attributes
/// that describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    family: u8,
    prefixlen: u8,
    flags: u8,
    scope: u8,
    attrs: Vec<(u16, Vec<u8>)>,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn push_attr(buf: &mut Vec<u8>, typ: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&typ.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align4(buf.len()), 0);
}

/// The attributes in `data` (type with the nested/byte-order bits cleared).
fn parse_attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let typ = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            break;
        }
        out.push((typ, &data[4..len]));
        data = &data[align4(len).min(data.len())..];
    }
    out
}

/// ifinfomsg: family, pad, type, index, flags, change.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

fn name_bytes(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    v
}

impl Netlink {
    fn open() -> io::Result<Netlink> {
        // SAFETY: plain socket(2); the fd is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a new descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a zeroed sockaddr_nl is valid; pid 0 lets the kernel pick.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: addr is a valid sockaddr_nl of the given size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Netlink { fd, seq: 0 })
    }

    /// An rtnetlink socket in the network namespace `ns`: a thread enters
    /// the namespace and opens it there (a socket stays in the namespace it
    /// was made in); the calling thread never moves.
    fn open_in(ns: BorrowedFd<'_>) -> io::Result<Netlink> {
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(io::Error::from)?;
                Netlink::open()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
        })
    }

    /// Send one request and collect the payloads of the answers, until the
    /// acknowledgement (or the end of a dump). A negative ack is the error.
    fn request(&mut self, typ: u16, flags: u16, body: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut msg = Vec::with_capacity(NLMSG_HDRLEN + body.len());
        msg.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&typ.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        // SAFETY: msg is a valid buffer of msg.len() bytes.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: buf is a writable buffer of buf.len() bytes.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut data = &buf[..n as usize];
            while data.len() >= NLMSG_HDRLEN {
                let len = u32::from_ne_bytes(data[0..4].try_into().unwrap()) as usize;
                let mtype = u16::from_ne_bytes([data[4], data[5]]);
                let mseq = u32::from_ne_bytes(data[8..12].try_into().unwrap());
                if len < NLMSG_HDRLEN || len > data.len() {
                    return Err(io::Error::other("truncated netlink message"));
                }
                let payload = &data[NLMSG_HDRLEN..len];
                data = &data[align4(len).min(data.len())..];
                if mseq != seq {
                    continue;
                }
                match mtype {
                    NLMSG_ERROR => {
                        let code = payload
                            .get(0..4)
                            .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                            .unwrap_or(-libc::EIO);
                        return if code == 0 {
                            Ok(out)
                        } else {
                            Err(io::Error::from_raw_os_error(-code))
                        };
                    }
                    NLMSG_DONE => return Ok(out),
                    _ => out.push(payload.to_vec()),
                }
            }
        }
    }

    /// The index of the device called `name`, if there is one.
    fn link_index(&mut self, name: &str) -> io::Result<Option<i32>> {
        let mut body = ifinfomsg(0, 0, 0);
        push_attr(&mut body, IFLA_IFNAME, &name_bytes(name));
        match self.request(RTM_GETLINK, NLM_F_ACK, &body) {
            Ok(answers) => Ok(answers
                .first()
                .filter(|p| p.len() >= 16)
                .map(|p| i32::from_ne_bytes(p[4..8].try_into().unwrap()))),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The permanent addresses of global scope of device `index`.
    fn permanent_global_addresses(&mut self, index: i32) -> io::Result<Vec<Address>> {
        let body = vec![0u8; 8]; // ifaddrmsg, AF_UNSPEC: every family
        let mut out = Vec::new();
        for p in self.request(RTM_GETADDR, NLM_F_DUMP, &body)? {
            if p.len() < 8 {
                continue;
            }
            let ifindex = u32::from_ne_bytes(p[4..8].try_into().unwrap());
            let (family, prefixlen, flags8, scope) = (p[0], p[1], p[2], p[3]);
            if ifindex as i32 != index || scope != RT_SCOPE_UNIVERSE {
                continue;
            }
            let attrs = parse_attrs(&p[8..]);
            // IFA_FLAGS carries the full 32-bit flags when present.
            let flags = attrs
                .iter()
                .find(|(t, d)| *t == IFA_FLAGS && d.len() >= 4)
                .map(|(_, d)| u32::from_ne_bytes(d[0..4].try_into().unwrap()))
                .unwrap_or(flags8 as u32);
            if flags & IFA_F_PERMANENT == 0 {
                continue;
            }
            let keep = attrs
                .into_iter()
                .filter(|(t, _)| matches!(*t, IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST))
                .map(|(t, d)| (t, d.to_vec()))
                .collect();
            out.push(Address {
                family,
                prefixlen,
                flags: flags8,
                scope,
                attrs: keep,
            });
        }
        Ok(out)
    }

    fn move_to_namespace(&mut self, index: i32, ns: BorrowedFd<'_>) -> io::Result<()> {
        let mut body = ifinfomsg(index, 0, 0);
        push_attr(
            &mut body,
            IFLA_NET_NS_FD,
            &(ns.as_raw_fd() as u32).to_ne_bytes(),
        );
        self.request(RTM_NEWLINK, NLM_F_ACK, &body).map(drop)
    }

    fn rename(&mut self, index: i32, name: &str) -> io::Result<()> {
        let mut body = ifinfomsg(index, 0, 0);
        push_attr(&mut body, IFLA_IFNAME, &name_bytes(name));
        self.request(RTM_NEWLINK, NLM_F_ACK, &body).map(drop)
    }

    /// The device's name now (after a `%d` rename the kernel chose it).
    fn link_name(&mut self, index: i32) -> io::Result<String> {
        let body = ifinfomsg(index, 0, 0);
        let answers = self.request(RTM_GETLINK, NLM_F_ACK, &body)?;
        let p = answers
            .first()
            .filter(|p| p.len() >= 16)
            .ok_or_else(|| io::Error::other("no answer to RTM_GETLINK"))?;
        parse_attrs(&p[16..])
            .into_iter()
            .find(|(t, _)| *t == IFLA_IFNAME)
            .map(|(_, d)| {
                String::from_utf8_lossy(d.split(|b| *b == 0).next().unwrap_or_default())
                    .into_owned()
            })
            .ok_or_else(|| io::Error::other("RTM_GETLINK answer has no name"))
    }

    fn add_address(&mut self, index: i32, a: &Address) -> io::Result<()> {
        let mut body = vec![a.family, a.prefixlen, a.flags, a.scope];
        body.extend_from_slice(&(index as u32).to_ne_bytes());
        for (t, d) in &a.attrs {
            push_attr(&mut body, *t, d);
        }
        self.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &body)
            .map(drop)
    }

    fn set_up(&mut self, index: i32) -> io::Result<()> {
        let body = ifinfomsg(index, IFF_UP, IFF_UP);
        self.request(RTM_NEWLINK, NLM_F_ACK, &body).map(drop)
    }
}

/// The name a device gets in the container: `name`, or the host name.
fn target_name<'a>(host: &'a str, name: Option<&'a str>) -> &'a str {
    name.filter(|n| !n.is_empty()).unwrap_or(host)
}

/// A valid interface name (dev_valid_name): 1-15 bytes, not `.`/`..`, no
/// `/`, `:` or white space. `%d` is allowed when `template` is true.
pub fn check_name(name: &str, template: bool) -> Result<(), String> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(format!("{name:?} is not 1 to {IFNAME_MAX} bytes long"));
    }
    if name == "." || name == ".." {
        return Err(format!("{name:?} is not a valid interface name"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return Err(format!("{name:?} contains '/', ':' or white space"));
    }
    if name.contains('%') && !(template && name.matches('%').count() == 1 && name.contains("%d")) {
        return Err(format!(
            "{name:?}: '%' is only allowed as one \"%d\" template"
        ));
    }
    Ok(())
}

/// Move every device of `devices` (host name → name in the container) into
/// the network namespace `ns`, with its permanent global addresses, and
/// bring it up. All entries are checked before the first move.
pub fn move_devices(
    devices: &BTreeMap<String, Option<String>>,
    ns: BorrowedFd<'_>,
) -> Result<(), NetDeviceError> {
    let mut host = Netlink::open().map_err(|e| err("", format!("netlink socket: {e}")))?;
    let mut inside = Netlink::open_in(ns).map_err(|e| {
        err(
            "",
            format!("netlink socket in the container's network namespace: {e}"),
        )
    })?;

    // "The runtime MUST check if moving the network interface to the
    // container namespace is possible."
    let mut plan = Vec::new();
    let mut taken = HashSet::new();
    for (dev, name) in devices {
        let index = host
            .link_index(dev)
            .map_err(|e| err(dev, format!("look up the device: {e}")))?
            .ok_or_else(|| err(dev, "no such network device in the runtime's namespace"))?;
        let target = target_name(dev, name.as_deref());
        if !target.contains("%d") {
            if !taken.insert(target.to_string()) {
                return Err(err(
                    dev,
                    format!("another entry also moves a device to {target:?}"),
                ));
            }
            let exists = inside
                .link_index(target)
                .map_err(|e| err(dev, format!("look up {target:?} in the container: {e}")))?;
            if exists.is_some() {
                return Err(err(
                    dev,
                    format!("a device named {target:?} already exists in the container's network namespace"),
                ));
            }
        }
        let addresses = host
            .permanent_global_addresses(index)
            .map_err(|e| err(dev, format!("read its addresses: {e}")))?;
        plan.push((dev.as_str(), index, target, addresses));
    }

    for (dev, index, target, addresses) in plan {
        host.move_to_namespace(index, ns).map_err(|e| {
            err(
                dev,
                format!("move into the container's network namespace: {e}"),
            )
        })?;
        // The kernel keeps the index unless it is taken there: look it up again.
        let index = inside
            .link_index(dev)
            .map_err(|e| err(dev, format!("look up after the move: {e}")))?
            .ok_or_else(|| err(dev, "not found in the container's namespace after the move"))?;
        if target != dev {
            inside
                .rename(index, target)
                .map_err(|e| err(dev, format!("rename to {target:?}: {e}")))?;
        }
        let now = inside
            .link_name(index)
            .map_err(|e| err(dev, format!("read its name: {e}")))?;
        for a in &addresses {
            inside
                .add_address(index, a)
                .map_err(|e| err(dev, format!("restore an address on {now}: {e}")))?;
        }
        inside
            .set_up(index)
            .map_err(|e| err(dev, format!("set {now} up: {e}")))?;
        tracing::debug!("moved network device {dev} into the container as {now}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("eth0", false).is_ok());
        assert!(check_name("eth%d", true).is_ok());
        assert!(check_name("eth%d", false).is_err());
        assert!(check_name("a%d%d", true).is_err());
        assert!(check_name("a%s", true).is_err());
        assert!(check_name("", false).is_err());
        assert!(check_name("0123456789abcdef", false).is_err());
        assert!(check_name("a/b", false).is_err());
        assert!(check_name("a b", false).is_err());
        assert!(check_name("..", false).is_err());
    }

    #[test]
    fn attributes_round_trip() {
        let mut b = Vec::new();
        push_attr(&mut b, IFLA_IFNAME, &name_bytes("eth0"));
        push_attr(&mut b, IFA_FLAGS, &IFA_F_PERMANENT.to_ne_bytes());
        assert_eq!(b.len() % 4, 0);
        let a = parse_attrs(&b);
        assert_eq!(a[0], (IFLA_IFNAME, &b"eth0\0"[..]));
        assert_eq!(a[1].0, IFA_FLAGS);
    }

    #[test]
    fn target_defaults_to_the_host_name() {
        assert_eq!(target_name("veth1", None), "veth1");
        assert_eq!(target_name("veth1", Some("")), "veth1");
        assert_eq!(target_name("veth1", Some("eth0")), "eth0");
    }
}
