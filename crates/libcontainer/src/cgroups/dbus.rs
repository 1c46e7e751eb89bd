//! A minimal synchronous D-Bus client for the systemd cgroup driver: one
//! Unix socket to the system bus, EXTERNAL authentication, and just the
//! marshalling that systemd's Manager calls need (little-endian, types
//! `y b u t s o g a ( ) v`). No threads and no async runtime, so it can run
//! in the short-lived `create` parent.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The system bus socket when `DBUS_SYSTEM_BUS_ADDRESS` does not say otherwise.
const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// A value in a method call's arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Bool(bool),
    U64(u64),
    /// `au`
    U32s(Vec<u32>),
    /// `ay`
    Bytes(Vec<u8>),
    /// `a(sv)`: properties.
    Props(Vec<(String, Value)>),
    /// `a(sa(sv))`: auxiliary units (always empty here).
    AuxUnits,
}

impl Value {
    fn signature(&self) -> &'static str {
        match self {
            Value::Str(_) => "s",
            Value::Bool(_) => "b",
            Value::U64(_) => "t",
            Value::U32s(_) => "au",
            Value::Bytes(_) => "ay",
            Value::Props(_) => "a(sv)",
            Value::AuxUnits => "a(sa(sv))",
        }
    }
}

/// A little-endian D-Bus marshaller; offsets count from the message start.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    fn sig(&mut self, s: &str) {
        self.u8(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array: `body` writes the elements; `elem_align` is their alignment.
    fn array(&mut self, elem_align: usize, body: impl FnOnce(&mut Writer)) {
        self.u32(0);
        let len_at = self.buf.len() - 4;
        self.align(elem_align);
        let start = self.buf.len();
        body(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Str(s) => self.str(s),
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::U64(n) => self.u64(*n),
            Value::U32s(list) => self.array(4, |w| list.iter().for_each(|n| w.u32(*n))),
            Value::Bytes(bytes) => self.array(1, |w| w.buf.extend_from_slice(bytes)),
            Value::Props(props) => self.array(8, |w| {
                for (name, value) in props {
                    w.align(8);
                    w.str(name);
                    w.sig(value.signature());
                    w.value(value);
                }
            }),
            Value::AuxUnits => self.array(8, |_| {}),
        }
    }
}

/// Header field codes.
const PATH: u8 = 1;
const INTERFACE: u8 = 2;
const MEMBER: u8 = 3;
const ERROR_NAME: u8 = 4;
const REPLY_SERIAL: u8 = 5;
const DESTINATION: u8 = 6;
const SIGNATURE: u8 = 8;

/// Message types.
const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const SIGNAL: u8 = 4;

/// One method call, marshalled.
pub(crate) fn method_call(
    serial: u32,
    destination: &str,
    path: &str,
    interface: &str,
    member: &str,
    args: &[Value],
) -> Vec<u8> {
    let mut body = Writer::default();
    for a in args {
        body.value(a);
    }
    let signature: String = args.iter().map(Value::signature).collect();
    let mut w = Writer::default();
    w.u8(b'l');
    w.u8(METHOD_CALL);
    w.u8(0);
    w.u8(1);
    w.u32(body.buf.len() as u32);
    w.u32(serial);
    let fields: Vec<(u8, &str, &str)> = [
        (PATH, "o", path),
        (INTERFACE, "s", interface),
        (MEMBER, "s", member),
        (DESTINATION, "s", destination),
    ]
    .into_iter()
    .chain((!signature.is_empty()).then_some((SIGNATURE, "g", signature.as_str())))
    .collect();
    w.array(8, |w| {
        for (code, sig, value) in fields {
            w.align(8);
            w.u8(code);
            w.sig(sig);
            if sig == "g" {
                w.sig(value);
            } else {
                w.str(value);
            }
        }
    });
    w.align(8);
    w.buf.extend_from_slice(&body.buf);
    w.buf
}

/// An incoming message: its type, the header fields this client uses, and
/// the body's leading string, object path and u32 arguments in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Message {
    pub kind: u8,
    pub reply_serial: Option<u32>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    /// Body arguments of type s, o, g (as text) and u (as decimal text),
    /// up to the first of any other type.
    pub args: Vec<String>,
}

/// A cursor over a received message (little-endian only).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bad() -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, "malformed D-Bus message")
    }
    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        let s = self.buf.get(self.pos..self.pos + n).ok_or_else(Self::bad)?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        self.align(4);
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn str(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        self.take(1)?;
        Ok(s)
    }
    fn sig(&mut self) -> io::Result<String> {
        let n = self.u8()? as usize;
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        self.take(1)?;
        Ok(s)
    }
}

/// Parse one complete message (as [`message_len`] delimited it).
pub(crate) fn parse(buf: &[u8]) -> io::Result<Message> {
    if buf.len() < 16 || buf[0] != b'l' {
        return Err(Reader::bad());
    }
    let mut r = Reader { buf, pos: 16 };
    let fields_len = u32::from_le_bytes(buf[12..16].try_into().unwrap()) as usize;
    let end = 16 + fields_len;
    let mut m = Message {
        kind: buf[1],
        ..Default::default()
    };
    let mut signature = String::new();
    while r.pos < end {
        r.align(8);
        let code = r.u8()?;
        let sig = r.sig()?;
        let text = match sig.as_str() {
            "s" | "o" => r.str()?,
            "g" => r.sig()?,
            "u" => r.u32()?.to_string(),
            _ => return Err(Reader::bad()),
        };
        match code {
            MEMBER => m.member = Some(text),
            ERROR_NAME => m.error_name = Some(text),
            REPLY_SERIAL => m.reply_serial = text.parse().ok(),
            SIGNATURE => signature = text,
            _ => {}
        }
    }
    r.align(8);
    // Body offsets are relative to its start, which is 8-aligned: same alignment.
    for c in signature.chars() {
        let arg = match c {
            's' | 'o' => r.str()?,
            'g' => r.sig()?,
            'u' => r.u32()?.to_string(),
            _ => break,
        };
        m.args.push(arg);
    }
    Ok(m)
}

/// The full length of the message whose first 16 bytes are `head`.
fn message_len(head: &[u8; 16]) -> io::Result<usize> {
    if head[0] != b'l' {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "big-endian D-Bus message (not supported)",
        ));
    }
    let body = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
    let fields = u32::from_le_bytes(head[12..16].try_into().unwrap()) as usize;
    Ok((16 + fields).div_ceil(8) * 8 + body)
}

/// A connection to the system bus.
pub(crate) struct Bus {
    stream: BufReader<UnixStream>,
    serial: u32,
    /// Signals read while waiting for a reply, for [`Bus::wait_signal`].
    pending: Vec<Message>,
}

impl Bus {
    /// Connect to the system bus, authenticate as this process's uid and say Hello.
    pub(crate) fn system() -> io::Result<Bus> {
        let path = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
            .ok()
            .and_then(|a| {
                a.strip_prefix("unix:path=")
                    .map(|p| p.split(',').next().unwrap_or(p).to_string())
            })
            .unwrap_or_else(|| SYSTEM_BUS.to_string());
        let stream = UnixStream::connect(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("connecting to the system bus {path}: {e}"),
            )
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut bus = Bus {
            stream: BufReader::new(stream),
            serial: 0,
            pending: Vec::new(),
        };
        let uid = nix::unistd::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        bus.stream
            .get_mut()
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let mut line = String::new();
        bus.stream.read_line(&mut line)?;
        if !line.starts_with("OK ") {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "system bus refused EXTERNAL authentication: {}",
                    line.trim()
                ),
            ));
        }
        bus.stream.get_mut().write_all(b"BEGIN\r\n")?;
        bus.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &[],
        )?;
        Ok(bus)
    }

    fn read_message(&mut self) -> io::Result<Message> {
        let mut head = [0u8; 16];
        self.stream.read_exact(&mut head)?;
        let len = message_len(&head)?;
        let mut buf = head.to_vec();
        buf.resize(len, 0);
        self.stream.read_exact(&mut buf[16..])?;
        parse(&buf)
    }

    /// Call a method and wait for its reply; a D-Bus error becomes an
    /// `io::Error` whose text starts with the error name.
    pub(crate) fn call(
        &mut self,
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Value],
    ) -> io::Result<Message> {
        self.serial += 1;
        let serial = self.serial;
        let msg = method_call(serial, destination, path, interface, member, args);
        self.stream.get_mut().write_all(&msg)?;
        loop {
            let m = self.read_message()?;
            match m.kind {
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m),
                ERROR if m.reply_serial == Some(serial) => {
                    return Err(io::Error::other(format!(
                        "{}: {}",
                        m.error_name.as_deref().unwrap_or("error"),
                        m.args.first().map(String::as_str).unwrap_or("")
                    )))
                }
                SIGNAL => self.pending.push(m),
                _ => {}
            }
        }
    }

    /// Wait until a signal `member` arrives for which `matches` holds, or `timeout`.
    pub(crate) fn wait_signal(
        &mut self,
        member: &str,
        timeout: Duration,
        matches: impl Fn(&Message) -> bool,
    ) -> io::Result<Message> {
        let is_it =
            |m: &Message| m.kind == SIGNAL && m.member.as_deref() == Some(member) && matches(m);
        if let Some(i) = self.pending.iter().position(is_it) {
            return Ok(self.pending.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no {member} signal within {timeout:?}"),
                ));
            }
            self.stream.get_ref().set_read_timeout(Some(left))?;
            let m = self.read_message()?;
            if is_it(&m) {
                return Ok(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_call_bytes() {
        // Hello: header only, as dbus-daemon expects it.
        let m = method_call(
            1,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &[],
        );
        assert_eq!(&m[..4], b"l\x01\x00\x01");
        assert_eq!(
            u32::from_le_bytes(m[4..8].try_into().unwrap()),
            0,
            "no body"
        );
        assert_eq!(
            u32::from_le_bytes(m[8..12].try_into().unwrap()),
            1,
            "serial"
        );
        assert_eq!(m.len() % 8, 0);
        assert_eq!(message_len(&m[..16].try_into().unwrap()).unwrap(), m.len());
        // Field 1 (path): code, signature "o", length-prefixed string.
        assert_eq!(&m[16..20], b"\x01\x01o\x00");
        assert_eq!(u32::from_le_bytes(m[20..24].try_into().unwrap()), 21);
        assert_eq!(&m[24..45], b"/org/freedesktop/DBus");
    }

    #[test]
    fn properties_are_aligned() {
        let m = method_call(
            7,
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
            &[
                Value::Str("x.scope".into()),
                Value::Str("replace".into()),
                Value::Props(vec![
                    ("Delegate".into(), Value::Bool(true)),
                    ("PIDs".into(), Value::U32s(vec![42])),
                    ("MemoryMax".into(), Value::U64(1 << 20)),
                    ("AllowedCPUs".into(), Value::Bytes(vec![0b101])),
                ]),
                Value::AuxUnits,
            ],
        );
        let total = message_len(&m[..16].try_into().unwrap()).unwrap();
        assert_eq!(total, m.len());
        let fields_len = u32::from_le_bytes(m[12..16].try_into().unwrap()) as usize;
        let body = &m[(16 + fields_len).div_ceil(8) * 8..];
        // "x.scope", then "replace" at offset 12.
        assert_eq!(u32::from_le_bytes(body[0..4].try_into().unwrap()), 7);
        assert_eq!(&body[4..12], b"x.scope\0");
        assert_eq!(u32::from_le_bytes(body[12..16].try_into().unwrap()), 7);
        assert_eq!(&body[16..24], b"replace\0");
        // The a(sv) length at 24, its first struct 8-aligned at 32.
        assert_eq!(&body[32..36], &8u32.to_le_bytes());
        assert_eq!(&body[36..45], b"Delegate\0");
        assert_eq!(&body[45..48], b"\x01b\0");
        assert_eq!(&body[48..52], &1u32.to_le_bytes());
        // The signature field names every argument.
        let sig_at = m.windows(13).position(|w| w == b"ssa(sv)a(sa(s").unwrap();
        assert!(sig_at < 16 + fields_len);
    }

    #[test]
    fn parse_reply_and_error() {
        // A method return to serial 3 carrying an object path, built with the writer.
        let mut w = Writer::default();
        w.u8(b'l');
        w.u8(METHOD_RETURN);
        w.u8(0);
        w.u8(1);
        let mut body = Writer::default();
        body.str("/org/freedesktop/systemd1/job/9");
        w.u32(body.buf.len() as u32);
        w.u32(5);
        w.array(8, |w| {
            w.align(8);
            w.u8(REPLY_SERIAL);
            w.sig("u");
            w.u32(3);
            w.align(8);
            w.u8(SIGNATURE);
            w.sig("g");
            w.sig("o");
        });
        w.align(8);
        w.buf.extend_from_slice(&body.buf);
        let m = parse(&w.buf).unwrap();
        assert_eq!(m.kind, METHOD_RETURN);
        assert_eq!(m.reply_serial, Some(3));
        assert_eq!(m.args, vec!["/org/freedesktop/systemd1/job/9"]);
        assert!(parse(&w.buf[..10]).is_err());
    }
}
