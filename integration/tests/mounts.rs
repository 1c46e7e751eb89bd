//! config.md "Mounts" / "POSIX-platform Mounts" and config-linux.md
//! "Rootfs Mount Propagation", "Masked Paths", "Readonly Paths".

use integration::*;
use serde_json::json;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn mountinfo(sb: &Sandbox, b: &mut Bundle, mp: &str) -> MountInfo {
    let mi = sb.sh(b, "cat /proc/self/mountinfo");
    mountinfo_entry(&mi, mp).unwrap_or_else(|| panic!("{mp} not mounted:\n{mi}"))
}

/// A host directory `<sandbox>/<name>` containing `file` = "host-data".
fn host_src(sb: &Sandbox, name: &str) -> PathBuf {
    let p = sb.dir.join(name);
    fs::create_dir_all(&p).unwrap();
    fs::write(p.join("file"), "host-data").unwrap();
    p
}

/// config.md "Mounts": the runtime MUST mount entries in the listed order
/// (two tmpfs stacked on one destination: the last one is on top).
#[test]
fn mounts_in_listed_order() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/data");
    for size in ["1m", "2m", "3m"] {
        b.add_mount(json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": [format!("size={size}")] }));
    }
    let mi = mountinfo(&sb, &mut b, "/data");
    assert!(
        mi.has_option("size=3072k"),
        "top mount must be the last listed: {mi:?}"
    );
}

/// config.md "Mounts": a later mount may be nested in an earlier one, which
/// requires listed order (runc also creates the missing destination).
#[test]
fn nested_mounts_in_order() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.add_mount(json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"] }));
    b.add_mount(json!({ "destination": "/data/inner", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"] }));
    let mi = sb.sh(&mut b, "cat /proc/self/mountinfo");
    assert!(mountinfo_entry(&mi, "/data")
        .unwrap()
        .has_option("size=1024k"));
    assert!(mountinfo_entry(&mi, "/data/inner")
        .unwrap()
        .has_option("size=2048k"));
}

/// config.md "Mounts" (tmpfs): filesystem-specific options (size, mode)
/// and generic flags (nosuid, nodev, noexec, noatime) are applied.
#[test]
fn tmpfs_with_options() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    // /data is deliberately not pre-created: runc 1.1.5 chmods a tmpfs to the
    // mode of a pre-existing destination directory, overriding mode=.
    b.add_mount(json!({
        "destination": "/data", "type": "tmpfs", "source": "tmpfs",
        "options": ["size=4m", "mode=1770", "nosuid", "nodev", "noexec", "noatime"]
    }));
    let out = sb.sh(
        &mut b,
        "stat -c %a /data; grep ' /data ' /proc/self/mountinfo",
    );
    let (mode, line) = out.split_once('\n').unwrap();
    assert_eq!(mode, "1770");
    let mi = MountInfo::parse(line).unwrap();
    assert_eq!(mi.fstype, "tmpfs");
    for o in [
        "size=4096k",
        "mode=1770",
        "nosuid",
        "nodev",
        "noexec",
        "noatime",
        "rw",
    ] {
        assert!(mi.has_option(o), "missing {o}: {mi:?}");
    }
}

/// config.md "Mounts": unknown options SHOULD be passed to mount(2) as
/// filesystem-specific data (tmpfs nr_inodes here).
#[test]
fn filesystem_specific_options_passed_as_data() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/data");
    b.add_mount(json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["nr_inodes=1k", "uid=1234"] }));
    let mi = mountinfo(&sb, &mut b, "/data");
    assert!(
        mi.has_option("nr_inodes=1024") && mi.has_option("uid=1234"),
        "{mi:?}"
    );
}

/// config.md "Mounts" `ro` (MUST): a read-only tmpfs refuses writes.
#[test]
fn tmpfs_ro() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/data");
    b.add_mount(
        json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["ro"] }),
    );
    let out = sb.sh(&mut b, "touch /data/x 2>&1; true");
    assert!(out.contains("Read-only file system"), "{out}");
}

/// config.md "Mounts" `noexec` vs `exec` (MUST): binaries on a noexec mount
/// cannot be executed.
#[test]
fn noexec_prevents_execution() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/ne");
    b.mkdir("/ex");
    b.add_mount(json!({ "destination": "/ne", "type": "tmpfs", "source": "tmpfs", "options": ["size=8m", "noexec"] }));
    b.add_mount(json!({ "destination": "/ex", "type": "tmpfs", "source": "tmpfs", "options": ["size=8m", "exec"] }));
    let out = sb.sh(
        &mut b,
        "cp /bin/busybox /ne/true; cp /bin/busybox /ex/true; /ex/true && echo ex-ran; /ne/true 2>&1 || echo ne-failed",
    );
    assert!(out.starts_with("ex-ran"), "{out}");
    assert!(
        out.contains("Permission denied") && out.ends_with("ne-failed"),
        "{out}"
    );
}

/// config.md "Mounts" `nodev` vs `dev` (MUST): device nodes on a nodev mount
/// cannot be opened.
#[test]
fn nodev_prevents_device_access() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let caps = ["CAP_MKNOD", "CAP_DAC_OVERRIDE"];
    b.process()["capabilities"] = json!({ "bounding": caps, "effective": caps, "permitted": caps });
    b.mkdir("/nd");
    b.mkdir("/d");
    b.add_mount(
        json!({ "destination": "/nd", "type": "tmpfs", "source": "tmpfs", "options": ["nodev"] }),
    );
    b.add_mount(
        json!({ "destination": "/d", "type": "tmpfs", "source": "tmpfs", "options": ["dev"] }),
    );
    let out = sb.sh(
        &mut b,
        "mknod /nd/null c 1 3; mknod /d/null c 1 3; echo x > /d/null && echo dev-ok; (echo x > /nd/null) 2>&1 || echo nodev-denied",
    );
    assert!(out.starts_with("dev-ok"), "{out}");
    assert!(
        out.ends_with("nodev-denied") && out.contains("Permission denied"),
        "{out}"
    );
}

/// config.md "Mounts" `nosuid` (MUST): shown as a mount flag.
#[test]
fn nosuid_flag() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/data");
    b.add_mount(json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"] }));
    assert!(mountinfo(&sb, &mut b, "/data").has_option("nosuid"));
}

/// config.md "Mounts" `bind` (MUST): the host directory is visible and
/// writable at the destination.
#[test]
fn bind_mount_rw() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let src = host_src(&sb, "src");
    b.mkdir("/data");
    b.add_mount(
        json!({ "destination": "/data", "type": "none", "source": src, "options": ["bind"] }),
    );
    assert_eq!(
        sb.sh(&mut b, "cat /data/file; echo from-ctr > /data/new"),
        "host-data"
    );
    assert_eq!(read(src.join("new")), "from-ctr\n");
}

/// config.md "Mounts" `bind` + `ro`: read-only bind mount, host untouched.
#[test]
fn bind_mount_ro() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let src = host_src(&sb, "src");
    b.mkdir("/data");
    b.add_mount(json!({ "destination": "/data", "type": "bind", "source": src, "options": ["rbind", "ro"] }));
    let out = sb.sh(
        &mut b,
        "cat /data/file; echo; (echo x > /data/file) 2>&1; grep ' /data ' /proc/self/mountinfo",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "host-data");
    assert!(lines[1].contains("Read-only file system"), "{out}");
    assert!(
        MountInfo::parse(lines[2]).unwrap().has_option("ro"),
        "{out}"
    );
    assert_eq!(read(src.join("file")), "host-data");
}

/// config.md "Mounts" `bind`: a single file can be bind mounted.
#[test]
fn bind_mount_file() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let src = host_src(&sb, "src").join("file");
    b.write_file("/etc/injected", "");
    b.add_mount(json!({ "destination": "/etc/injected", "type": "bind", "source": src, "options": ["bind", "ro"] }));
    assert_eq!(sb.sh(&mut b, "cat /etc/injected"), "host-data");
}

/// config.md "Mounts" `bind` vs `rbind` (MUST): only rbind brings submounts.
#[test]
fn bind_vs_rbind_submounts() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let src = host_src(&sb, "src");
    let sub = src.join("sub");
    fs::create_dir_all(&sub).unwrap();
    host_mount(None, &sub, Some("tmpfs"), 0, Some("size=1m")).unwrap();
    fs::write(sub.join("inner"), "submount").unwrap();
    b.mkdir("/b");
    b.mkdir("/rb");
    b.add_mount(json!({ "destination": "/b", "type": "bind", "source": src, "options": ["bind"] }));
    b.add_mount(
        json!({ "destination": "/rb", "type": "bind", "source": src, "options": ["rbind"] }),
    );
    let out = sb.sh(&mut b, "ls /b/sub; echo ---; cat /rb/sub/inner");
    assert_eq!(out, "---\nsubmount");
}

/// Makes the sandbox dir a shared host mount and returns (bundle, shared
/// dir, host dir `src`) for a container that waits for `<shared>/go`, then
/// lists `ls_path` into `<shared>/ls`.
fn propagation_setup(sb: &Sandbox, ls_path: &str) -> (Bundle, PathBuf) {
    sb.make_dir_shared_mount();
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    let script = format!(
        "touch {s}/ready; {w}; ls {ls_path} > {s}/ls 2>&1; touch {s}/done",
        s = shared.display(),
        w = wait_file_sh(&shared.join("go"))
    );
    b.set_args(&["sh", "-c", &script]);
    (b, shared)
}

/// Starts the container, mounts a tmpfs (holding `from-host`) on the host at
/// `host_mp`, lets the container look, returns what it listed.
fn host_mount_then_list(
    sb: &Sandbox,
    b: &Bundle,
    shared: &std::path::Path,
    host_mp: &std::path::Path,
) -> String {
    let (id, _) = sb.create_ok(b);
    sb.start(&id).ok();
    wait_for_file(&shared.join("ready"), T);
    host_mount(None, host_mp, Some("tmpfs"), 0, Some("size=1m")).unwrap();
    fs::write(host_mp.join("from-host"), "").unwrap();
    fs::write(shared.join("go"), "").unwrap();
    wait_for_file(&shared.join("done"), T);
    read(shared.join("ls")).trim().to_string()
}

/// config.md "Mounts" propagation `rslave` (MUST): host mount events under
/// the source propagate into the container.
#[test]
fn bind_propagation_rslave_receives_host_mounts() {
    let sb = Sandbox::new();
    let (mut b, shared) = propagation_setup(&sb, "/data/sub");
    let src = host_src(&sb, "src");
    fs::create_dir_all(src.join("sub")).unwrap();
    b.mkdir("/data");
    b.add_mount(json!({ "destination": "/data", "type": "bind", "source": src, "options": ["rbind", "rslave"] }));
    assert_eq!(
        host_mount_then_list(&sb, &b, &shared, &src.join("sub")),
        "from-host"
    );
}

/// config.md "Mounts" propagation `rprivate` (MUST): host mount events do
/// not propagate into the container.
#[test]
fn bind_propagation_rprivate_isolated() {
    let sb = Sandbox::new();
    let (mut b, shared) = propagation_setup(&sb, "/data/sub");
    let src = host_src(&sb, "src");
    fs::create_dir_all(src.join("sub")).unwrap();
    b.mkdir("/data");
    b.add_mount(json!({ "destination": "/data", "type": "bind", "source": src, "options": ["rbind", "rprivate"] }));
    assert_eq!(host_mount_then_list(&sb, &b, &shared, &src.join("sub")), "");
}

/// config.md "Mounts" propagation `shared` / `private` / `unbindable`
/// (MUST): visible as the mount's propagation type.
#[test]
fn bind_propagation_flags_in_mountinfo() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let src = host_src(&sb, "src");
    for (dst, opt) in [
        ("/sh", "rshared"),
        ("/pr", "rprivate"),
        ("/ub", "runbindable"),
    ] {
        b.mkdir(dst);
        b.add_mount(
            json!({ "destination": dst, "type": "bind", "source": src, "options": ["rbind", opt] }),
        );
    }
    let mi = sb.sh(&mut b, "cat /proc/self/mountinfo");
    let e = |mp| mountinfo_entry(&mi, mp).unwrap();
    assert!(e("/sh").is_shared(), "{:?}", e("/sh"));
    let pr = e("/pr");
    assert!(
        !pr.is_shared() && !pr.is_slave() && !pr.is_unbindable(),
        "{pr:?}"
    );
    assert!(e("/ub").is_unbindable(), "{:?}", e("/ub"));
}

/// Makes the bundle's rootfs a shared mount point on the host, as it is
/// when an engine mounts an image (overlay) there.
fn rootfs_as_mount_point(b: &Bundle) {
    host_mount(Some(&b.rootfs()), &b.rootfs(), None, libc::MS_BIND, None).unwrap();
    host_mount(None, &b.rootfs(), None, libc::MS_SHARED, None).unwrap();
}

/// config-linux.md "Rootfs Mount Propagation" `slave`: the rootfs receives
/// mount events from the host.
#[test]
fn rootfs_propagation_slave() {
    if skip_on_runc("runc 1.1.5 makes the rootfs mount private (runc#5192, fixed in 1.5)") {
        return;
    }
    let sb = Sandbox::new();
    let (mut b, shared) = propagation_setup(&sb, "/mnt/hostmnt");
    rootfs_as_mount_point(&b);
    b.linux()["rootfsPropagation"] = json!("slave");
    let mp = b.mkdir("/mnt/hostmnt");
    assert_eq!(host_mount_then_list(&sb, &b, &shared, &mp), "from-host");
}

/// config-linux.md "Rootfs Mount Propagation" `private`: no mount events
/// from the host reach the rootfs.
#[test]
fn rootfs_propagation_private() {
    let sb = Sandbox::new();
    let (mut b, shared) = propagation_setup(&sb, "/mnt/hostmnt");
    rootfs_as_mount_point(&b);
    b.linux()["rootfsPropagation"] = json!("private");
    let mp = b.mkdir("/mnt/hostmnt");
    assert_eq!(host_mount_then_list(&sb, &b, &shared, &mp), "");
}

/// config-linux.md "Rootfs Mount Propagation" `shared`: the rootfs mount
/// belongs to a peer group.
#[test]
fn rootfs_propagation_shared() {
    if skip_on_runc("runc 1.1.5 leaves the rootfs mount private for `shared` (runc#1755)") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    rootfs_as_mount_point(&b);
    b.linux()["rootfsPropagation"] = json!("shared");
    let root = mountinfo(&sb, &mut b, "/");
    assert!(root.is_shared(), "{root:?}");
}

/// config-linux.md "Rootfs Mount Propagation" `unbindable`.
#[test]
fn rootfs_propagation_unbindable() {
    if skip_on_runc(
        "runc 1.1.5 makes the whole tree unbindable before bind-mounting the rootfs: EINVAL",
    ) {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.linux()["rootfsPropagation"] = json!("unbindable");
    let root = mountinfo(&sb, &mut b, "/");
    assert!(root.is_unbindable(), "{root:?}");
}

/// config-linux.md "Masked Paths": the default (runc spec) masked paths
/// that exist on this kernel read/list empty inside the container.
#[test]
fn masked_paths_default() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let masked: Vec<String> = b.config["linux"]["maskedPaths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut script = String::new();
    let mut checked = Vec::new();
    for p in &masked {
        let host = std::path::Path::new(p);
        if host.is_file() {
            script += &format!("echo {p} $(cat {p} 2>/dev/null | wc -c); ");
            checked.push(p.clone());
        } else if host.is_dir()
            && fs::read_dir(host)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        {
            script += &format!("echo {p} $(ls -A {p} | wc -l); ");
            checked.push(p.clone());
        }
    }
    assert!(
        !checked.is_empty(),
        "no default masked path exists on this host"
    );
    let out = sb.sh(&mut b, &script);
    for line in out.lines() {
        assert!(
            line.ends_with(" 0"),
            "masked path is readable: {line}\n{out}"
        );
    }
    assert_eq!(out.lines().count(), checked.len(), "{out}");
}

/// config-linux.md "Masked Paths": a masked file reads empty, a masked
/// directory lists empty and cannot be written; nonexistent paths are fine.
#[test]
fn masked_paths_custom() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.write_file("/etc/secret", "top-secret");
    b.write_file("/opt/secrets/key", "k");
    b.config["root"]["readonly"] = json!(false);
    b.linux()["maskedPaths"] = json!(["/etc/secret", "/opt/secrets", "/does/not/exist"]);
    let out = sb.sh(
        &mut b,
        "cat /etc/secret; echo \"[$(ls -A /opt/secrets)]\"; touch /opt/secrets/new 2>&1; true",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "[]", "{out}");
    assert!(lines[1].contains("Read-only file system"), "{out}");
    assert_eq!(
        read(b.rootfs().join("etc/secret")),
        "top-secret",
        "host file must be untouched"
    );
}

/// config-linux.md "Readonly Paths": writes under them fail while the rest
/// stays writable.
#[test]
fn readonly_paths() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/srv/ro");
    b.mkdir("/srv/rw");
    b.config["root"]["readonly"] = json!(false);
    b.linux()["readonlyPaths"] = json!(["/srv/ro", "/proc/sys"]);
    let out = sb.sh(
        &mut b,
        "touch /srv/rw/ok && echo rw-ok; touch /srv/ro/no 2>&1; (echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; cat /srv/rw/ok; true",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "rw-ok", "{out}");
    assert!(lines[1].contains("Read-only file system"), "{out}");
    assert!(lines[2].contains("Read-only file system"), "{out}");
    assert!(!b.rootfs().join("srv/ro/no").exists());
}

/// config.md "Mounts" `destination` (Linux): a relative destination MUST
/// be interpreted relative to "/".
#[test]
fn relative_destination() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/reldata");
    b.add_mount(json!({ "destination": "reldata", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"] }));
    assert!(mountinfo(&sb, &mut b, "/reldata").has_option("size=1024k"));
}

/// config.md "Mounts": mounts are made in the container's mount namespace
/// only; the host sees nothing under the rootfs.
#[test]
fn mounts_do_not_leak_to_host() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let (id, _) = sb.create_ok(&b);
    let host = read("/proc/self/mountinfo");
    let root = b.rootfs().to_string_lossy().into_owned();
    assert!(
        !host
            .lines()
            .filter_map(MountInfo::parse)
            .any(|m| m.mount_point.starts_with(&root)),
        "{id}: {host}"
    );
}
