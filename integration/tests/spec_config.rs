//! config.md statements the other files leave open: REQUIRED properties,
//! the Linux mount option table (every MUST option, the SHOULD ones applied
//! or refused), idmapped mounts, consoleSize, capabilities that cannot be
//! granted, scheduler/ioPriority, hook paths/order/timing and annotations.
//! Each test names the config.md statement it checks (see docs/CONFORMANCE.md).
//!
//! Tests marked `#[ignore]` check a statement husk does not meet yet; they
//! are reported in docs/CONFORMANCE.md and run with `--ignored`.

use integration::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// Creates `b` under a fresh id, expects an error, and checks that nothing
/// was left behind (runtime.md "Errors").
#[track_caller]
fn create_fails(sb: &Sandbox, b: &Bundle) -> Output {
    let id = sb.new_id();
    let out = sb.create(&id, b).err();
    sb.assert_nothing_left(&id, &out);
    out
}

/// Removes the property at `path` (dot-separated, numbers index arrays).
fn remove(config: &mut Value, path: &str) {
    let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
    let mut v = config;
    for p in parent.split('.').filter(|p| !p.is_empty()) {
        v = match p.parse::<usize>() {
            Ok(i) => &mut v[i],
            Err(_) => &mut v[p],
        };
    }
    v.as_object_mut()
        .unwrap_or_else(|| panic!("{path}: parent is not an object"))
        .remove(last)
        .unwrap_or_else(|| panic!("{path} is not in the config"));
}

/// A hook running `sh -c script` with the host's busybox.
fn hook(script: &str) -> Value {
    json!({ "path": BUSYBOX, "args": ["sh", "-c", script] })
}

// ---------------------------------------------------------------------------
// REQUIRED properties (config.md "Valid values": MUST generate an error)
// ---------------------------------------------------------------------------

/// Configs each missing one REQUIRED property: (description, mutation).
type Case = ConfigCase;

fn required_cases() -> Vec<Case> {
    vec![
        ("root (REQUIRED on Linux)", |b| {
            remove(&mut b.config, "root")
        }),
        ("root.path", |b| remove(&mut b.config, "root.path")),
        ("mounts[].destination", |b| {
            b.add_mount(json!({ "type": "tmpfs", "source": "tmpfs" }))
        }),
        ("process.cwd", |b| remove(&mut b.config, "process.cwd")),
        ("process.rlimits[].type", |b| {
            b.process()["rlimits"] = json!([{ "soft": 10, "hard": 10 }])
        }),
        ("process.scheduler.policy", |b| {
            b.process()["scheduler"] = json!({ "nice": 1 })
        }),
        ("hooks.*[].path", |b| {
            b.config["hooks"] = json!({ "createRuntime": [{ "args": ["true"] }] })
        }),
        ("annotations (a map)", |b| {
            b.config["annotations"] = json!(["a"])
        }),
    ]
}

/// config.md "Root" (lines 33, 35), "Mounts" `destination` (70), "Process"
/// `cwd` (248), "POSIX process" rlimit `type` (264), "Linux Process"
/// scheduler `policy` (310), "POSIX-platform Hooks" `path` (555, 565): a
/// config without one of these REQUIRED properties is invalid, so create
/// MUST fail (config.md "Valid values") and leave nothing behind. So is one
/// whose annotations are not a map ("Annotations", line 720).
#[test]
fn missing_required_properties_fail() {
    let sb = Sandbox::new();
    for (what, mutate) in required_cases() {
        if runtime_is_runc() && what == "process.scheduler.policy" {
            eprintln!("runc 1.1.5 ignores process.scheduler: skipping {what}");
            continue;
        }
        let mut b = sb.bundle(&["true"]);
        mutate(&mut b);
        let out = create_fails(&sb, &b);
        eprintln!("{what}: {}", out.stderr.trim());
    }
}

/// config.md "Specification version" (line 17): `ociVersion` is REQUIRED.
#[test]
fn missing_oci_version_fails() {
    if skip_on_runc("runc 1.1.5 does not check ociVersion") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    remove(&mut b.config, "ociVersion");
    create_fails(&sb, &b).err_mentions(&["ociVersion", "version"]);
}

/// config.md "User" (lines 370-371) `uid`/`gid`, "POSIX process" (272,
/// 274) rlimit `soft`/`hard`,
/// "Linux Process" (341) ioPriority `class`: REQUIRED, so a config without
/// them is invalid and create MUST fail. husk fills in a default instead.
#[test]
#[ignore = "husk bug (reported): the typed parser defaults uid, gid, rlimit soft/hard and ioPriority.class"]
fn missing_required_values_with_defaults_fail() {
    if skip_on_runc("runc 1.1.5 fills in the defaults too") {
        return;
    }
    let sb = Sandbox::new();
    let cases: Vec<Case> = vec![
        ("process.user.uid", |b| {
            remove(&mut b.config, "process.user.uid")
        }),
        ("process.user.gid", |b| {
            remove(&mut b.config, "process.user.gid")
        }),
        ("process.rlimits[].hard", |b| {
            b.process()["rlimits"] = json!([{ "type": "RLIMIT_CORE", "soft": 0 }])
        }),
        ("process.rlimits[].soft", |b| {
            b.process()["rlimits"] = json!([{ "type": "RLIMIT_CORE", "hard": 10 }])
        }),
        ("process.ioPriority.class", |b| {
            b.process()["ioPriority"] = json!({ "priority": 1 })
        }),
    ];
    let accepted = sb.configs_create_accepts(&cases);
    assert!(
        accepted.is_empty(),
        "missing, yet create succeeded: {accepted:?}"
    );
}

// ---------------------------------------------------------------------------
// Mounts: the Linux mount option table
// ---------------------------------------------------------------------------

/// (options, check on the resulting mount)
type OptCase = (&'static [&'static str], fn(&MountInfo) -> bool);

/// config.md "Linux mount options" (lines 91-161): every MUST option is
/// implemented with mount(8)'s meaning. Each is applied to a tmpfs, mostly
/// after its opposite so that both directions are seen in mountinfo
/// (ro/nosuid/nodev/noexec/noatime/bind/rbind/propagation: mounts.rs).
#[test]
fn linux_must_mount_options() {
    let cases: &[OptCase] = &[
        (&["defaults"], |m| {
            m.has_option("rw") && !m.has_option("nosuid") && !m.has_option("noexec")
        }),
        (&["ro", "rw"], |m| m.options.contains(&"rw".into())),
        (&["nosuid", "suid"], |m| !m.has_option("nosuid")),
        (&["nodev", "dev"], |m| !m.has_option("nodev")),
        (&["noexec", "exec"], |m| !m.has_option("noexec")),
        (&["noatime", "atime"], |m| !m.has_option("noatime")),
        (&["nodiratime"], |m| m.has_option("nodiratime")),
        (&["nodiratime", "diratime"], |m| !m.has_option("nodiratime")),
        (&["relatime"], |m| m.has_option("relatime")),
        (&["norelatime"], |m| !m.has_option("noatime")),
        (&["strictatime"], |m| {
            !m.has_option("relatime") && !m.has_option("noatime")
        }),
        (&["strictatime", "nostrictatime"], |m| {
            m.has_option("relatime")
        }),
        (&["sync"], |m| m.super_options.contains(&"sync".into())),
        (&["sync", "async"], |m| {
            !m.super_options.contains(&"sync".into())
        }),
        (&["dirsync"], |m| {
            m.super_options.contains(&"dirsync".into())
        }),
        (&["lazytime"], |m| {
            m.super_options.contains(&"lazytime".into())
        }),
        (&["lazytime", "nolazytime"], |m| {
            !m.super_options.contains(&"lazytime".into())
        }),
        (&["iversion"], |m| m.fstype == "tmpfs"),
        (&["noiversion"], |m| m.fstype == "tmpfs"),
        (&["silent"], |m| m.fstype == "tmpfs"),
        (&["loud"], |m| m.fstype == "tmpfs"),
    ];
    let cases: Vec<&OptCase> = cases
        .iter()
        .filter(|(opts, _)| {
            let skip = runtime_is_runc() && opts.contains(&"defaults");
            if skip {
                eprintln!(
                    "SKIP {opts:?}: runc 1.1.5 passes `defaults` to mount(2) as data (EINVAL)"
                );
            }
            !skip
        })
        .collect();
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    for (i, (opts, _)) in cases.iter().enumerate() {
        b.add_mount(json!({ "destination": format!("/opt/m{i}"), "type": "tmpfs", "source": "tmpfs", "options": opts }));
    }
    let mi = sb.sh(&mut b, "cat /proc/self/mountinfo");
    for (i, (opts, check)) in cases.iter().enumerate() {
        let m = mountinfo_entry(&mi, &format!("/opt/m{i}"))
            .unwrap_or_else(|| panic!("{opts:?}: not mounted\n{mi}"));
        assert!(check(&m), "{opts:?} not applied: {m:?}");
    }
}

/// config.md "Linux mount options" `remount` (line 124): a later entry with
/// `remount` changes the mount an earlier entry made at that destination
/// (here: makes it read-only) instead of stacking a new one.
#[test]
fn remount_option_changes_existing_mount() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.add_mount(json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"] }));
    b.add_mount(json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro"] }));
    let out = sb.sh(
        &mut b,
        "grep -c ' /data ' /proc/self/mountinfo; grep ' /data ' /proc/self/mountinfo; touch /data/x 2>&1; true",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "1",
        "remount must not stack a second mount: {out}"
    );
    let m = MountInfo::parse(lines[1]).unwrap();
    assert!(m.has_option("ro") && m.has_option("size=1024k"), "{m:?}");
    assert!(lines[2].contains("Read-only file system"), "{out}");
}

/// config.md "Linux mount options" `shared`, `slave`, `private`,
/// `unbindable` (lines 118, 145, 147, 153; the r* forms: mounts.rs): the
/// bind mount gets that propagation type.
#[test]
fn non_recursive_propagation_options() {
    let sb = Sandbox::new();
    sb.make_dir_shared_mount();
    let mut b = sb.bundle(&[]);
    let src = sb.dir.join("src");
    fs::create_dir_all(&src).unwrap();
    for (dst, opt) in [
        ("/sh", "shared"),
        ("/sl", "slave"),
        ("/pr", "private"),
        ("/ub", "unbindable"),
    ] {
        b.add_mount(
            json!({ "destination": dst, "type": "bind", "source": src, "options": ["bind", opt] }),
        );
    }
    let mi = sb.sh(&mut b, "cat /proc/self/mountinfo");
    let e = |mp: &str| mountinfo_entry(&mi, mp).unwrap_or_else(|| panic!("{mp}:\n{mi}"));
    assert!(e("/sh").is_shared(), "{:?}", e("/sh"));
    assert!(
        e("/sl").is_slave() && !e("/sl").is_shared(),
        "{:?}",
        e("/sl")
    );
    let pr = e("/pr");
    assert!(
        !pr.is_shared() && !pr.is_slave() && !pr.is_unbindable(),
        "{pr:?}"
    );
    assert!(e("/ub").is_unbindable(), "{:?}", e("/ub"));
}

/// config.md "Linux mount options" `nosymfollow`/`symfollow` (lines 117,
/// 150; SHOULD): symlinks on a nosymfollow mount are not followed; a later
/// `symfollow` undoes it.
#[test]
fn nosymfollow_option() {
    if skip_on_runc("runc 1.1.5 passes symfollow to mount(2) as data") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.add_mount(json!({ "destination": "/nf", "type": "tmpfs", "source": "tmpfs", "options": ["nosymfollow"] }));
    b.add_mount(json!({ "destination": "/sf", "type": "tmpfs", "source": "tmpfs", "options": ["nosymfollow", "symfollow"] }));
    let out = sb.sh(
        &mut b,
        "for d in /nf /sf; do echo x > $d/f; ln -s f $d/l; cat $d/l 2>&1; done; grep -E ' /(nf|sf) ' /proc/self/mountinfo",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("Too many levels of symbolic links"),
        "{out}"
    );
    assert_eq!(lines[1], "x", "{out}");
    assert!(
        MountInfo::parse(lines[2])
            .unwrap()
            .has_option("nosymfollow"),
        "{out}"
    );
    assert!(
        !MountInfo::parse(lines[3])
            .unwrap()
            .has_option("nosymfollow"),
        "{out}"
    );
}

/// Host dir `<sb>/rsrc` with two tmpfs submounts: `plain` (no flags) and
/// `flagged` (nosuid, nodev, noexec, noatime, nodiratime, nosymfollow, ro).
fn recursive_source(sb: &Sandbox) -> PathBuf {
    let src = sb.dir.join("rsrc");
    for sub in ["plain", "flagged"] {
        fs::create_dir_all(src.join(sub)).unwrap();
    }
    host_mount(None, &src.join("plain"), Some("tmpfs"), 0, Some("size=1m")).unwrap();
    let flags = libc::MS_NOSUID
        | libc::MS_NODEV
        | libc::MS_NOEXEC
        | libc::MS_NOATIME
        | libc::MS_NODIRATIME
        | libc::MS_NOSYMFOLLOW
        | libc::MS_RDONLY;
    host_mount(
        None,
        &src.join("flagged"),
        Some("tmpfs"),
        flags,
        Some("size=1m"),
    )
    .unwrap();
    src
}

/// (option, submount that shows the effect, check)
type RecCase = (&'static str, &'static str, fn(&MountInfo) -> bool);

/// config.md "Linux mount options" recursive forms (lines 119-142, SHOULD):
/// with `rbind`, each r-option is applied to the submounts too; a runtime
/// that does not implement one MUST NOT ignore it silently (runtime.md
/// "Create": it cannot apply the property, so create fails).
#[test]
fn recursive_mount_options_applied_or_refused() {
    if skip_on_runc("runc 1.1.5 applies only some recursive options, and ignores the rest") {
        return;
    }
    let cases: &[RecCase] = &[
        ("rro", "plain", |m| m.options.contains(&"ro".into())),
        ("rrw", "flagged", |m| m.options.contains(&"rw".into())),
        ("rnosuid", "plain", |m| m.has_option("nosuid")),
        ("rsuid", "flagged", |m| !m.has_option("nosuid")),
        ("rnodev", "plain", |m| m.has_option("nodev")),
        ("rdev", "flagged", |m| !m.has_option("nodev")),
        ("rnoexec", "plain", |m| m.has_option("noexec")),
        ("rexec", "flagged", |m| !m.has_option("noexec")),
        ("rnoatime", "plain", |m| m.has_option("noatime")),
        ("ratime", "flagged", |m| !m.has_option("noatime")),
        ("rnodiratime", "plain", |m| m.has_option("nodiratime")),
        ("rdiratime", "flagged", |m| !m.has_option("nodiratime")),
        ("rrelatime", "flagged", |m| m.has_option("relatime")),
        ("rnorelatime", "plain", |_| true),
        ("rstrictatime", "flagged", |m| {
            !m.has_option("noatime") && !m.has_option("relatime")
        }),
        ("rnostrictatime", "plain", |_| true),
        ("rnosymfollow", "plain", |m| m.has_option("nosymfollow")),
        ("rsymfollow", "flagged", |m| !m.has_option("nosymfollow")),
    ];
    let sb = Sandbox::new();
    let src = recursive_source(&sb);
    for (opt, sub, check) in cases {
        let mut b = sb.bundle(&["true"]);
        b.add_mount(json!({ "destination": "/data", "type": "bind", "source": src, "options": ["rbind", opt] }));
        let id = sb.new_id();
        let out = sb.create(&id, &b);
        if !out.success() {
            let out = out.err_mentions(&[*opt]);
            sb.assert_nothing_left(&id, &out);
            eprintln!("{opt}: refused: {}", out.stderr.trim());
            continue;
        }
        let mi = read(format!("/proc/{}/mountinfo", sb.pid_of(&id)));
        let m = mountinfo_entry(&mi, &format!("/data/{sub}"))
            .unwrap_or_else(|| panic!("{opt}: /data/{sub} not mounted:\n{mi}"));
        assert!(
            check(&m),
            "{opt} accepted but not applied to /data/{sub}: {m:?}"
        );
        sb.delete_force(&id).ok();
    }
}

/// config.md "Linux mount options" `idmap` (line 154) and "POSIX-platform
/// Mounts" `uidMappings`/`gidMappings` (lines 189-197): the bind mount is
/// idmapped with the given mappings (a host file owned by 1000 shows as 0),
/// or, where the runtime cannot do that, create fails: never a plain mount.
#[test]
fn idmap_mount_applied_or_refused() {
    if skip_on_runc("runc 1.1.5 ignores idmap and the mount mappings") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let src = sb.dir.join("idsrc");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "x").unwrap();
    std::os::unix::fs::chown(src.join("f"), Some(1000), Some(1000)).unwrap();
    // runc's reading: containerID is the id on the source filesystem, hostID
    // the id the mount shows it as (the mapping of the mount's user namespace).
    let map = json!([{ "containerID": 1000, "hostID": 0, "size": 1 }]);
    b.add_mount(
        json!({ "destination": "/idm", "type": "bind", "source": src,
        "options": ["bind", "idmap"], "uidMappings": map, "gidMappings": map }),
    );
    b.set_args(&["stat", "-c", "%u:%g", "/idm/f"]);
    let id = sb.new_id();
    b.save_for(Some(&id));
    let out = sb.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run();
    if out.success() {
        assert_eq!(out.stdout.trim(), "0:0", "idmap accepted but not applied");
    } else {
        let out = out.err_mentions(&["idmap"]);
        sb.assert_nothing_left(&id, &out);
    }
}

/// config.md "POSIX-platform Mounts" (lines 192, 197): a mount's
/// uidMappings MUST come with gidMappings (and the reverse).
#[test]
fn mount_mappings_must_come_in_pairs() {
    if skip_on_runc("runc 1.1.5 ignores the mount mappings") {
        return;
    }
    let sb = Sandbox::new();
    let map = json!([{ "containerID": 0, "hostID": 1000, "size": 1 }]);
    for key in ["uidMappings", "gidMappings"] {
        let mut b = sb.bundle(&["true"]);
        let mut m = json!({ "destination": "/idm", "type": "bind", "source": sb.dir, "options": ["rbind", "idmap"] });
        m[key] = map.clone();
        b.add_mount(m);
        create_fails(&sb, &b);
    }
}

// ---------------------------------------------------------------------------
// Process
// ---------------------------------------------------------------------------

/// config.md "Process" `consoleSize` (line 245): ignored when `terminal` is
/// false: no pty, the process gets the caller's stdio and runs normally.
#[test]
fn console_size_ignored_without_terminal() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["consoleSize"] = json!({ "height": 33, "width": 77 });
    let out = sb.sh(
        &mut b,
        "test -t 0 || test -t 1 && echo tty || echo no-tty; readlink /proc/self/fd/1",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "no-tty", "{out}");
    assert!(!lines[1].starts_with("/dev/pts"), "{out}");
}

/// config.md "Linux Process" `capabilities` (lines 289-290): a capability
/// the kernel does not know is logged as a warning and the container still
/// runs (runtime-tools' process_capabilities_fail predates this text).
#[test]
#[ignore = "husk bug (reported): an unknown capability name fails config parsing"]
fn unknown_capability_is_a_warning() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let caps = ["CAP_KILL", "CAP_HUSK_UNKNOWN"];
    b.process()["capabilities"] = json!({ "bounding": caps, "effective": caps, "permitted": caps });
    let id = sb.new_id();
    b.save_for(Some(&id));
    let out = sb.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run().ok();
    assert!(out.stderr.contains("CAP_HUSK_UNKNOWN"), "no warning: {out}");
}

/// config.md "Linux Process" `capabilities` (lines 289-290): a capability
/// that cannot be granted (not in the runtime's own bounding set: this
/// machine lacks CAP_SYS_RESOURCE) MUST be logged as a warning and SHOULD
/// NOT fail the container; the process runs without it.
#[test]
#[ignore = "husk bug (reported): capset fails with EPERM instead of dropping with a warning"]
fn ungrantable_capability_is_a_warning() {
    if skip_on_runc("runc 1.1.5 fails with EPERM too") {
        return;
    }
    let mut bounding = 0u64;
    let status = read("/proc/self/status");
    if let Some(v) = status_field(&status, "CapBnd") {
        bounding = u64::from_str_radix(&v, 16).unwrap();
    }
    let cap = "CAP_SYS_RESOURCE";
    if bounding & (1 << cap_number(cap)) != 0 {
        eprintln!("this host can grant {cap}: nothing to check");
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let caps = ["CAP_KILL", cap];
    b.process()["capabilities"] = json!({ "bounding": caps, "effective": caps, "permitted": caps });
    b.set_args(&["sh", "-c", "grep CapEff /proc/1/status; true"]);
    let id = sb.new_id();
    b.save_for(Some(&id));
    let out = sb.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run().ok();
    let eff = u64::from_str_radix(out.stdout.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(eff, cap_mask(&["CAP_KILL"]), "{out}");
    assert!(out.stderr.contains(cap), "no warning: {out}");
}

/// config.md "Linux Process" `scheduler` (line 310) with runtime.md
/// "Create" (line 116): the policy is applied (SCHED_BATCH is 3 in
/// /proc/1/stat's policy field), or create fails: never ignored.
#[test]
fn scheduler_applied_or_refused() {
    if skip_on_runc("runc 1.1.5 ignores process.scheduler") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sh", "-c", "cut -d' ' -f41 /proc/1/stat; true"]);
    b.process()["scheduler"] = json!({ "policy": "SCHED_BATCH" });
    let id = sb.new_id();
    b.save_for(Some(&id));
    let out = sb.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run();
    if out.success() {
        assert_eq!(
            out.stdout.trim(),
            "3",
            "SCHED_BATCH accepted but not applied"
        );
    } else {
        sb.assert_nothing_left(&id, &out);
    }
}

/// config.md "Linux Process" `ioPriority` (lines 341-342) with runtime.md
/// "Create" (line 116): the I/O class is applied (ionice shows idle), or
/// create fails: never ignored.
#[test]
fn io_priority_applied_or_refused() {
    if skip_on_runc("runc 1.1.5 ignores process.ioPriority") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sh", "-c", "ionice -p 1; true"]);
    b.process()["ioPriority"] = json!({ "class": "IOPRIO_CLASS_IDLE", "priority": 7 });
    let id = sb.new_id();
    b.save_for(Some(&id));
    let out = sb.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run();
    if out.success() {
        assert!(out.stdout.contains("idle"), "{out}");
    } else {
        sb.assert_nothing_left(&id, &out);
    }
}

// ---------------------------------------------------------------------------
// Hooks
// ---------------------------------------------------------------------------

/// config.md "POSIX-platform Hooks" `path` (lines 556, 566): MUST be
/// absolute; a relative path is an error.
#[test]
fn hook_path_must_be_absolute() {
    let sb = Sandbox::new();
    for kind in ["prestart", "createRuntime", "poststart"] {
        let mut b = sb.bundle(&["true"]);
        b.config["hooks"] = json!({ kind: [{ "path": "bin/busybox", "args": ["true"] }] });
        let id = sb.new_id();
        let out = sb.create(&id, &b);
        if kind == "poststart" && out.success() {
            // Checked at start by some runtimes; it must fail there at the latest.
            sb.start(&id).err();
            continue;
        }
        let out = out.err();
        sb.assert_nothing_left(&id, &out);
    }
}

/// config.md "POSIX-platform Hooks" `timeout` (lines 560, 570): if set it
/// MUST be greater than zero; 0 is an invalid value.
#[test]
fn hook_timeout_zero_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let mut h = hook("true");
    h["timeout"] = json!(0);
    b.config["hooks"] = json!({ "createRuntime": [h] });
    create_fails(&sb, &b);
}

/// config.md "POSIX-platform Hooks" (line 591): hooks MUST be called in the
/// listed order, within each kind.
#[test]
fn hooks_of_one_kind_run_in_listed_order() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let d = sb.shared_dir(&mut b);
    b.set_args(&["true"]);
    let kinds = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    let mut hooks = serde_json::Map::new();
    for k in kinds {
        let list: Vec<Value> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| hook(&format!("echo {k}-{n} >> {}/log", d.display())))
            .collect();
        hooks.insert(k.into(), Value::Array(list));
    }
    b.config["hooks"] = Value::Object(hooks);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    let log = read(d.join("log"));
    let want: Vec<String> = kinds
        .iter()
        .flat_map(|k| ["a", "b", "c", "d"].map(|n| format!("{k}-{n}")))
        .collect();
    let got: Vec<&str> = log.lines().collect();
    for k in kinds {
        let mine: Vec<&str> = got
            .iter()
            .copied()
            .filter(|l| l.starts_with(&format!("{k}-")))
            .collect();
        let wanted: Vec<&str> = want
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with(&format!("{k}-")))
            .collect();
        assert_eq!(mine, wanted, "{k} hooks out of order: {got:?}");
    }
}

/// config.md "POSIX-platform Hooks" (lines 561-588, 602, 609, 621, 633, 641,
/// 649): prestart, createRuntime, createContainer, poststart and poststop
/// paths resolve in the runtime namespace (a program that exists only on
/// the host); startContainer paths resolve in the container namespace (a
/// program that exists only in the rootfs).
#[test]
fn hook_paths_resolve_in_the_right_namespace() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let d = sb.shared_dir(&mut b);
    // Only on the host: a copy of busybox at a path the rootfs lacks.
    let host_bin = sb.dir.join("host-only-busybox");
    fs::copy(BUSYBOX, &host_bin).unwrap();
    // Only in the container: busybox at /ctr-only/busybox.
    b.mkdir("/ctr-only");
    fs::copy(BUSYBOX, b.rootfs().join("ctr-only/busybox")).unwrap();
    assert!(!Path::new("/ctr-only/busybox").exists());
    let rec = |k: &str, path: &Path| json!({ "path": path, "args": ["sh", "-c", format!("echo {k} >> {}/log", d.display())] });
    let mut hooks = serde_json::Map::new();
    for k in [
        "prestart",
        "createRuntime",
        "createContainer",
        "poststart",
        "poststop",
    ] {
        hooks.insert(k.into(), json!([rec(k, &host_bin)]));
    }
    hooks.insert(
        "startContainer".into(),
        json!([rec("startContainer", Path::new("/ctr-only/busybox"))]),
    );
    b.config["hooks"] = Value::Object(hooks);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    let log = read(d.join("log"));
    for k in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(log.lines().any(|l| l == k), "{k} did not run: {log:?}");
    }
}

/// config.md "Prestart", "CreateRuntime Hooks", "CreateContainer Hooks"
/// (lines 596, 607, 618): these run during create after the environment
/// (here: a tmpfs mount) exists but before pivot_root: the container's
/// mount table still shows the mount under the rootfs' host path.
#[test]
fn create_hooks_run_after_mounts_before_pivot_root() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let d = sb.shared_dir(&mut b);
    b.add_mount(json!({ "destination": "/hookcheck", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"] }));
    let rootfs = fs::canonicalize(b.rootfs()).unwrap();
    let probe = |k: &str, mountinfo: &str| {
        hook(&format!(
            "{mountinfo} | grep -q ' {r}/hookcheck ' && echo {k}-before-pivot >> {d}/log || echo {k}-no >> {d}/log",
            r = rootfs.display(),
            d = d.display()
        ))
    };
    // Runtime-namespace hooks read the container process's table (pid from
    // the state on stdin); createContainer runs in the container's mount ns.
    let by_pid = "pid=$(sed 's/.*\"pid\": *\\([0-9]*\\).*/\\1/'); cat /proc/$pid/mountinfo";
    b.config["hooks"] = json!({
        "prestart": [probe("prestart", by_pid)],
        "createRuntime": [probe("createRuntime", by_pid)],
        "createContainer": [probe("createContainer", "cat /proc/self/mountinfo")]
    });
    sb.create_ok(&b);
    assert_eq!(
        read(d.join("log")).lines().collect::<Vec<_>>(),
        [
            "prestart-before-pivot",
            "createRuntime-before-pivot",
            "createContainer-before-pivot"
        ]
    );
}

/// config.md "Poststop" (line 646): called after the container is deleted:
/// when the hook runs the container process and its cgroup are gone.
#[test]
fn poststop_runs_after_the_container_is_gone() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "30"]);
    let d = sb.shared_dir(&mut b);
    let id = sb.new_id();
    let cg = format!("/sys/fs/cgroup/pids/{id}");
    let cg = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        format!("/sys/fs/cgroup/{id}")
    } else {
        cg
    };
    b.config["hooks"] = json!({ "poststop": [hook(&format!(
        "test -d {cg} && echo cgroup-present >> {d}/log || echo cgroup-gone >> {d}/log",
        d = d.display()
    ))] });
    sb.create(&id, &b).ok();
    assert!(Path::new(&cg).is_dir(), "{cg} is not the container cgroup");
    sb.start(&id).ok();
    sb.kill(&id, "KILL").ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    assert_eq!(read(d.join("log")).trim(), "cgroup-gone");
}

// ---------------------------------------------------------------------------
// Annotations
// ---------------------------------------------------------------------------

/// config.md "Annotations" (line 744): values MUST be strings; a number is
/// an invalid value and create fails.
#[test]
fn annotation_values_must_be_strings() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.config["annotations"] = json!({ "org.example.n": 1 });
    create_fails(&sb, &b);
}

/// config.md "Annotations" (line 724): keys MUST NOT be empty; an empty key
/// is an invalid value and create fails.
#[test]
#[ignore = "husk bug (reported): an empty annotation key is accepted"]
fn annotation_key_must_not_be_empty() {
    if skip_on_runc("runc 1.1.5 accepts an empty annotation key") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.config["annotations"] = json!({ "": "x" });
    create_fails(&sb, &b);
}

/// config.md "POSIX-platform Mounts" `uidMappings`/`gidMappings` (lines
/// 189-197) with runtime.md "Create" (line 116): mappings given without the
/// `idmap` option are still a property of the mount: applied, or create
/// fails; never silently dropped.
#[test]
fn mount_mappings_without_idmap_option_are_not_ignored() {
    if skip_on_runc("runc 1.1.5 ignores the mount mappings") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let src = sb.dir.join("idsrc");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "x").unwrap();
    std::os::unix::fs::chown(src.join("f"), Some(1000), Some(1000)).unwrap();
    let map = json!([{ "containerID": 1000, "hostID": 0, "size": 1 }]);
    b.add_mount(
        json!({ "destination": "/idm", "type": "bind", "source": src,
        "options": ["rbind"], "uidMappings": map, "gidMappings": map }),
    );
    b.set_args(&["stat", "-c", "%u:%g", "/idm/f"]);
    let id = sb.new_id();
    b.save_for(Some(&id));
    let out = sb.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run();
    if out.success() {
        assert_eq!(
            out.stdout.trim(),
            "0:0",
            "mappings accepted but not applied"
        );
    } else {
        sb.assert_nothing_left(&id, &out);
    }
}
