//! Runtime escapes known for runc, reproduced against the runtime: each test
//! sets up the attack and checks that it fails without harming the host.
//! (SECURITY: the threat is a hostile image or container process.)

use integration::*;
use serde_json::json;
use std::fs;
use std::os::unix::fs::symlink;

/// CVE-2019-19921 / CVE-2019-16884: a rootfs whose /proc is a symlink must not
/// get procfs mounted wherever the symlink points; create fails and leaves nothing.
#[test]
fn symlinked_proc_is_refused() {
    if skip_on_runc("runc 1.1.5 follows the symlink inside the rootfs and mounts proc on /etc") {
        return;
    }
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let proc_dir = b.rootfs().join("proc");
    fs::remove_dir_all(&proc_dir).unwrap();
    symlink("etc", &proc_dir).unwrap();
    let id = sb.new_id();
    let out = sb.create(&id, &b).err_mentions(&["symlink"]);
    sb.assert_nothing_left(&id, &out);
    assert!(
        fs::read_dir(b.rootfs().join("etc"))
            .unwrap()
            .all(|e| e.unwrap().file_name() != "cpuinfo"),
        "procfs was mounted through the symlink"
    );
}

/// CVE-2025-31133: masking a path binds /dev/null over it. If the image
/// replaced /dev/null (here: a symlink to a procfs file), the runtime must
/// refuse rather than bind a writable procfs file over the masked path.
#[test]
fn fake_dev_null_is_refused() {
    if skip_on_runc("runc 1.1.5 predates the CVE-2025-31133 fix") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    // /dev comes from the image (no tmpfs), with a hostile "null".
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"));
    let dev = b.mkdir("/dev");
    symlink("/proc/sys/kernel/core_pattern", dev.join("null")).unwrap();
    let id = sb.new_id();
    let out = sb
        .create(&id, &b)
        .err_mentions(&["null", "not the requested device"]);
    sb.assert_nothing_left(&id, &out);
}

/// CVE-2019-16884 class: sysctl values are written only to procfs. A config
/// that hides /proc/sys behind a bind mount of an ordinary directory must not
/// have the runtime write "sysctl" values into that directory's files.
#[test]
fn sysctl_writes_only_go_to_procfs() {
    if skip_on_runc("runc 1.1.5 writes the sysctl through whatever is mounted at /proc/sys") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let fake = sb.shared_dir(&mut b);
    fs::create_dir_all(fake.join("kernel")).unwrap();
    fs::write(fake.join("kernel/domainname"), "untouched").unwrap();
    b.add_mount(json!({
        "destination": "/proc/sys", "type": "bind", "source": fake, "options": ["rbind"]
    }));
    b.config["linux"]["sysctl"] = json!({ "kernel.domainname": "pwned" });
    // readonlyPaths would cover /proc/sys again; keep the fake one visible.
    b.config["linux"]["readonlyPaths"] = json!([]);
    let id = sb.new_id();
    let out = sb.create(&id, &b).err_mentions(&["procfs"]);
    sb.assert_nothing_left(&id, &out);
    assert_eq!(
        fs::read_to_string(fake.join("kernel/domainname")).unwrap(),
        "untouched"
    );
}

/// CVE-2024-21626: a cwd through /proc/self/fd/N must never land the process
/// in a host directory via a descriptor leaked from the runtime.
#[test]
fn cwd_through_leaked_fd_is_not_outside() {
    let sb = Sandbox::new();
    for fd in 3..9 {
        let mut b = sb.bundle(&["sh", "-c", "pwd; ls /proc/self/fd"]);
        b.process()["cwd"] = json!(format!("/proc/self/fd/{fd}"));
        let out = sb.run(&b);
        if out.success() {
            // Whatever it resolved to, it must be a directory of the container.
            let pwd = out.stdout.lines().next().unwrap_or("").to_string();
            assert!(
                !pwd.contains("unreachable")
                    && !pwd.contains("/sys/fs/cgroup")
                    && !pwd.contains("husk-it"),
                "cwd {pwd:?} for fd {fd} points outside the container"
            );
        }
    }
}

/// CVE-2024-21626: no descriptor of the runtime survives into the container:
/// only stdio is open in the user process.
#[test]
fn only_stdio_reaches_the_process() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    // "; true" keeps sh as pid 1 (it would exec ls otherwise), so /proc/1/fd
    // lists the descriptors the runtime handed over, not those ls opens.
    let out = sb.sh(&mut b, "ls /proc/1/fd; true");
    let fds: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2"], "leaked descriptors: {out}");
}

/// CVE-2019-5736: a container program that is a symlink to /proc/self/exe
/// must not get the runtime's own binary executed inside the container
/// (from where its processes could open it for writing once the runtime exits).
#[test]
fn proc_self_exe_does_not_reach_the_runtime_binary() {
    if skip_on_runc(
        "runc 1.1.5 executes its sealed memfd copy of itself there (not writable, but it runs)",
    ) {
        return;
    }
    assert_proc_self_exe_is_not_the_runtime(|_| {});
}

/// CVE-2019-5736 when the profile denies `execveat`, the call husk normally
/// enters its sealed trampoline with: it is then entered through `execve` of
/// /proc/self/fd/N, so /proc/self/exe still names the sealed memfd, never
/// the runtime binary; an ordinary program still runs.
#[test]
fn proc_self_exe_is_protected_when_execveat_is_denied() {
    if skip_on_runc("runc 1.1.5 executes its sealed memfd copy of itself there") {
        return;
    }
    let deny_execveat = |b: &mut Bundle| {
        b.linux()["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{ "names": ["execveat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }]
        });
    };
    assert_proc_self_exe_is_not_the_runtime(deny_execveat);
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    deny_execveat(&mut b);
    assert_eq!(sb.sh(&mut b, "echo ran"), "ran");
}

/// Runs `/pwn --version`, where /pwn is a symlink to /proc/self/exe, in a
/// bundle changed by `configure`, and checks the runtime binary did not run.
fn assert_proc_self_exe_is_not_the_runtime(configure: impl Fn(&mut Bundle)) {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["/pwn", "--version"]);
    configure(&mut b);
    symlink("/proc/self/exe", b.rootfs().join("pwn")).unwrap();
    // Give the image the runtime's shared libraries, as a glibc-based image has,
    // so the binary could really start in there if the kernel were handed it.
    copy_shared_libraries(&runtime_path(), &b.rootfs());
    let out = sb.run(&b);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        !all.contains("version") && !all.contains("Usage"),
        "the runtime binary ran inside the container: {all}"
    );
    assert_ne!(out.code, 0, "the exec through /proc/self/exe must fail");
}

/// Copies the dynamic loader and libraries `binary` needs (per ldd) into
/// `rootfs` at the same paths.
fn copy_shared_libraries(binary: &std::path::Path, rootfs: &std::path::Path) {
    let out = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(std::path::PathBuf::from);
        if let Some(path) = path {
            let dst = rootfs.join(path.strip_prefix("/").unwrap());
            fs::create_dir_all(dst.parent().unwrap()).unwrap();
            fs::copy(&path, &dst).unwrap();
        }
    }
}

/// CVE-2021-30465 / CVE-2024-45310: a mount destination that passes through a
/// symlink in the image pointing at a host path must be created and mounted
/// inside the rootfs, never on the host.
#[test]
fn mount_destination_through_symlink_stays_inside() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    // A host directory the image's symlink names by its absolute host path.
    let host = sb.dir.join("host-target");
    fs::create_dir_all(&host).unwrap();
    symlink(&host, b.rootfs().join("escape")).unwrap();
    b.add_mount(json!({
        "destination": "/escape/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]
    }));
    let out = sb.sh(&mut b, "touch /escape/sub/written && ls /escape/sub");
    assert_eq!(out, "written");
    assert!(
        !host.join("sub").exists(),
        "the runtime created the mount point on the host: {}",
        host.join("sub").display()
    );
    // Inside the rootfs the symlink resolves as if the rootfs were `/`.
    let inside = b.rootfs().join(host.strip_prefix("/").unwrap()).join("sub");
    assert!(inside.is_dir(), "mount point not created inside the rootfs");
}

/// CVE-2025-52565: /dev/console is bound to the container's pty only after
/// checking it; an image whose /dev/console is a symlink into procfs must not
/// get the pty mounted over that procfs file (which would also defeat the
/// masking of it).
#[test]
fn dev_console_symlink_is_not_followed() {
    if skip_on_runc("runc 1.1.5 `run` with a terminal needs its own controlling tty") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[
        "sh",
        "-c",
        "grep -c core_pattern /proc/self/mountinfo; true",
    ]);
    // /dev comes from the image (no tmpfs) but ptys still come from devpts.
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/dev");
    let dev = b.mkdir("/dev");
    fs::create_dir_all(dev.join("pts")).unwrap();
    symlink("/proc/sys/kernel/core_pattern", dev.join("console")).unwrap();
    b.process()["terminal"] = json!(true);
    let out = sb.run(&b);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout.trim(),
        "0",
        "something was mounted over core_pattern through /dev/console: {out}"
    );
}

/// CVE-2021-43784: runc's parent packed config values into length-prefixed
/// netlink attributes with a 16-bit length; a value over 64 KiB wrapped it,
/// and its bytes were read as further attributes (namespace paths to join,
/// for one). husk never serialises the config to the init (the clone copies
/// it), and its channel carries one tagged message per SEQPACKET packet. The
/// attack's shape: values far over 64 KiB whose bytes look like framing and
/// like a host namespace path; the container must get them intact and still
/// be in its own namespaces.
#[test]
fn oversized_crafted_values_do_not_confuse_the_init() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    // Bytes that a length-prefixed reader could take for tags and a path.
    let crafted = "\u{1}P\u{0}/proc/1/ns/net\u{2}H".replace('\u{0}', "-");
    let big: String = crafted.repeat(100_000 / crafted.len() + 1);
    let env = b.process()["env"].as_array_mut().unwrap();
    for i in 0..3 {
        env.push(json!(format!("BIG{i}={big}")));
    }
    b.config["annotations"] = json!({ "org.example.big": big.repeat(2) });
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let out = sb.sh(
        &mut b,
        "echo ${#BIG0} ${#BIG1} ${#BIG2}; readlink /proc/self/ns/net; echo pid $$",
    );
    let lines: Vec<&str> = out.lines().collect();
    let len = big.chars().count().to_string();
    assert_eq!(
        lines[0],
        format!("{len} {len} {len}"),
        "values changed: {out}"
    );
    assert_ne!(
        lines[1],
        host_net.to_string_lossy(),
        "the container joined the host's network namespace: {out}"
    );
    assert_eq!(lines[2], "pid 1", "not in its own pid namespace: {out}");
}
