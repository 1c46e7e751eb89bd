//! config-linux.md "Sysctl".

use integration::*;
use serde_json::json;

/// config-linux.md "Sysctl": a network sysctl is applied in the container's
/// new network namespace, and only there.
#[test]
fn sysctl_ip_forward_in_new_netns() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let host_before = read("/proc/sys/net/ipv4/ip_forward");
    let want = if host_before.trim() == "1" { "0" } else { "1" };
    b.linux()["sysctl"] = json!({ "net.ipv4.ip_forward": want });
    assert_eq!(sb.sh(&mut b, "cat /proc/sys/net/ipv4/ip_forward"), want);
    assert_eq!(
        read("/proc/sys/net/ipv4/ip_forward"),
        host_before,
        "host value changed"
    );
}

/// config-linux.md "Sysctl": an IPC sysctl is applied in the new IPC
/// namespace, and only there; several entries are all applied.
#[test]
fn sysctl_ipc_in_new_ipcns() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let host_shmmax = read("/proc/sys/kernel/shmmax");
    let host_msgmax = read("/proc/sys/kernel/msgmax");
    b.linux()["sysctl"] = json!({ "kernel.shmmax": "12345678", "kernel.msgmax": "4321" });
    let out = sb.sh(
        &mut b,
        "cat /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax",
    );
    assert_eq!(out, "12345678\n4321");
    assert_eq!(read("/proc/sys/kernel/shmmax"), host_shmmax);
    assert_eq!(read("/proc/sys/kernel/msgmax"), host_msgmax);
}

/// config-linux.md "Sysctl" with the slash notation of sysctl(8)
/// (net/ipv4/ip_forward) — accepted by runc as well.
#[test]
fn sysctl_slash_notation() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.linux()["sysctl"] = json!({ "net/ipv4/tcp_syncookies": "0" });
    assert_eq!(sb.sh(&mut b, "cat /proc/sys/net/ipv4/tcp_syncookies"), "0");
}

/// config-linux.md "Sysctl": a parameter that does not exist cannot be
/// applied, so create MUST fail (runtime.md "Create") and leave nothing.
#[test]
fn sysctl_unknown_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.linux()["sysctl"] = json!({ "net.ipv4.husk_does_not_exist": "1" });
    let id = sb.new_id();
    let out = sb
        .create(&id, &b)
        .err_mentions(&["sysctl", "husk_does_not_exist", "no such file"]);
    sb.assert_nothing_left(&id, &out);
}
