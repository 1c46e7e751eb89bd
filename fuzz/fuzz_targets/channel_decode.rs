//! Any packet on the parent<->init channel: decoding must never panic, and a
//! failure text comes through as sent (lossy UTF-8).
#![no_main]

use std::sync::OnceLock;

use libcontainer::fuzzing::{self as channel, Channel, FromInit};
use libfuzzer_sys::fuzz_target;

fn pair() -> &'static (Channel, Channel) {
    static PAIR: OnceLock<(Channel, Channel)> = OnceLock::new();
    PAIR.get_or_init(|| channel::pair().expect("socketpair"))
}

fn send_raw(fd: i32, data: &[u8]) -> bool {
    // SAFETY: send on a socket we own, from a live buffer.
    let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL) };
    n == data.len() as isize
}

fuzz_target!(|data: &[u8]| {
    // An empty packet reads as end-of-file (the peer closed): nothing to decode.
    if data.is_empty() || data.len() > 60 * 1024 {
        return;
    }
    let (parent, init) = pair();
    assert!(send_raw(init.as_raw_fd(), data));
    match parent.recv_from_init() {
        Ok(FromInit::Failed(text)) => {
            assert_eq!(data[0], b'f');
            assert_eq!(text, String::from_utf8_lossy(&data[1..]));
        }
        Ok(_) => assert_eq!(data.len(), 1),
        Err(_) => {}
    }
    assert!(send_raw(parent.as_raw_fd(), data));
    let _ = init.recv_from_parent();
});
