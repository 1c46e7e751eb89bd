//! features.md: the document `features` prints, checked against the spec
//! and against what the runtime then really accepts.
//! Each test names the features.md statement it checks (see docs/CONFORMANCE.md).

use integration::*;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::fs;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// The parsed output of `<runtime> features`.
fn features(sb: &Sandbox) -> Value {
    let out = sb.cmd(&["features"]).without_root().run().ok();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("features is not JSON ({e}): {out}"))
}

/// (major, minor, patch) of a SemVer string, pre-release/build cut off.
fn semver(v: &str) -> (u64, u64, u64) {
    let core = v.split(['-', '+']).next().unwrap();
    let n: Vec<u64> = core
        .split('.')
        .map(|x| x.parse().unwrap_or_else(|_| panic!("{v:?} is not SemVer")))
        .collect();
    assert_eq!(n.len(), 3, "{v:?} is not SemVer");
    (n[0], n[1], n[2])
}

/// features.md (lines 14-19): ociVersionMin and ociVersionMax are REQUIRED
/// SemVer strings, max is not below min, and a config.json carrying either
/// as its ociVersion MUST be accepted.
#[test]
fn oci_version_range_is_accepted() {
    let sb = Sandbox::new();
    let f = features(&sb);
    let min = f["ociVersionMin"]
        .as_str()
        .expect("ociVersionMin is REQUIRED");
    let max = f["ociVersionMax"]
        .as_str()
        .expect("ociVersionMax is REQUIRED");
    assert!(semver(max) >= semver(min), "max {max} < min {min}");
    for v in [min, max] {
        let mut b = sb.bundle(&["echo", "ran"]);
        b.config["ociVersion"] = json!(v);
        assert_eq!(sb.run_ok(&b), "ran", "ociVersion {v}");
    }
}

/// The properties features.md and features-linux.md define, per object.
fn defined_properties(path: &str) -> Option<&'static [&'static str]> {
    Some(match path {
        "" => &[
            "ociVersionMin",
            "ociVersionMax",
            "hooks",
            "mountOptions",
            "annotations",
            "potentiallyUnsafeConfigAnnotations",
            "linux",
        ],
        "linux" => &[
            "namespaces",
            "capabilities",
            "cgroup",
            "seccomp",
            "apparmor",
            "selinux",
            "intelRdt",
            "mountExtensions",
            "netDevices",
            "memoryPolicy",
        ],
        "linux.cgroup" => &["v1", "v2", "systemd", "systemdUser", "rdma"],
        "linux.seccomp" => &[
            "enabled",
            "actions",
            "operators",
            "archs",
            "knownFlags",
            "supportedFlags",
        ],
        "linux.apparmor" | "linux.selinux" | "linux.intelRdt" | "linux.netDevices" => &["enabled"],
        "linux.mountExtensions" => &["idmap"],
        "linux.mountExtensions.idmap" => &["enabled"],
        "linux.memoryPolicy" => &["modes", "flags"],
        // Free-form maps.
        "annotations" => return None,
        _ => &[],
    })
}

fn check_properties(v: &Map<String, Value>, path: &str, bad: &mut Vec<String>) {
    let Some(allowed) = defined_properties(path) else {
        return;
    };
    for (k, child) in v {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if !allowed.contains(&k.as_str()) {
            bad.push(p.clone());
        }
        if let Value::Object(m) = child {
            check_properties(m, &p, bad);
        }
    }
}

/// features.md (line 20): the document MUST NOT contain properties this
/// version of the spec does not define.
#[test]
fn only_defined_properties() {
    let sb = Sandbox::new();
    let f = features(&sb);
    let mut bad = Vec::new();
    check_properties(f.as_object().expect("an object"), "", &mut bad);
    assert!(bad.is_empty(), "undefined properties: {bad:?}");
}

/// features.md (line 10): null ("unknown") is not an empty value: the
/// lists the runtime knows about itself are real, non-empty lists.
#[test]
fn known_lists_are_not_empty() {
    let sb = Sandbox::new();
    let f = features(&sb);
    for p in [
        "/hooks",
        "/mountOptions",
        "/linux/namespaces",
        "/linux/capabilities",
    ] {
        let v = f.pointer(p).unwrap_or_else(|| panic!("{p} missing: {f}"));
        assert!(
            v.as_array().is_some_and(|a| !a.is_empty()),
            "{p} must be a non-empty list: {v}"
        );
    }
}

/// features.md (line 7, SHOULD): the document describes the binary, not the
/// moment: two runs (different cwd and environment) print the same thing.
#[test]
fn document_is_stable() {
    let sb = Sandbox::new();
    let a = sb.cmd(&["features"]).without_root().run().ok().stdout;
    let b = sb
        .cmd(&["features"])
        .without_root()
        .cwd("/")
        .env("LANG", "C")
        .run()
        .ok()
        .stdout;
    assert_eq!(a, b);
}

/// features.md (line 32): every hook listed MUST be supported: a config
/// with each of them runs each of them.
#[test]
fn listed_hooks_run() {
    let sb = Sandbox::new();
    let f = features(&sb);
    let hooks: Vec<String> = f["hooks"]
        .as_array()
        .expect("hooks")
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    let mut b = sb.bundle(&["true"]);
    let d = sb.shared_dir(&mut b);
    let mut cfg = Map::new();
    for h in &hooks {
        cfg.insert(
            h.clone(),
            json!([{ "path": BUSYBOX, "args": ["sh", "-c", format!("echo {h} >> {}/log", d.display())] }]),
        );
    }
    b.config["hooks"] = Value::Object(cfg);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    let ran: HashSet<String> = read(d.join("log")).lines().map(String::from).collect();
    for h in &hooks {
        assert!(ran.contains(h), "listed hook {h} did not run: {ran:?}");
    }
}

/// The mount a listed option is tried on: propagation and bind options on a
/// bind mount, the rest on a tmpfs (`remount` after a first tmpfs there).
fn mounts_for_option(o: &str, src: &std::path::Path) -> Vec<Value> {
    let bindish = o.contains("bind")
        || [
            "private",
            "shared",
            "slave",
            "unbindable",
            "rprivate",
            "rshared",
            "rslave",
        ]
        .contains(&o)
        || (o.starts_with('r') && o != "relatime" && o != "remount" && o != "ro" && o != "rw");
    if o == "remount" {
        return vec![
            json!({ "destination": "/opt/o", "type": "tmpfs", "source": "tmpfs" }),
            json!({ "destination": "/opt/o", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro"] }),
        ];
    }
    if bindish {
        let base = if o.contains("bind") { "" } else { "rbind" };
        let opts: Vec<&str> = [base, o].into_iter().filter(|x| !x.is_empty()).collect();
        return vec![
            json!({ "destination": "/opt/o", "type": "bind", "source": src, "options": opts }),
        ];
    }
    vec![json!({ "destination": "/opt/o", "type": "tmpfs", "source": "tmpfs", "options": [o] })]
}

/// features.md (line 49): every option in `mountOptions` MUST be recognized
/// in a config's mounts: a container with it is created.
#[test]
fn listed_mount_options_are_accepted() {
    let sb = Sandbox::new();
    let f = features(&sb);
    let src = sb.dir.join("msrc");
    fs::create_dir_all(&src).unwrap();
    // runc 1.1.5 lists these but refuses them (passed to mount(2) as data or
    // EINVAL/ENODEV from its mount code).
    let runc_refuses = [
        "defaults",
        "ratime",
        "rnostrictatime",
        "runbindable",
        "unbindable",
    ];
    let mut refused = Vec::new();
    for o in f["mountOptions"].as_array().expect("mountOptions") {
        let o = o.as_str().unwrap();
        if runtime_is_runc() && runc_refuses.contains(&o) {
            eprintln!("SKIP {o}: runc 1.1.5 lists it but refuses it");
            continue;
        }
        let mut b = sb.bundle(&["true"]);
        for m in mounts_for_option(o, &src) {
            b.add_mount(m);
        }
        let id = sb.new_id();
        let out = sb.create(&id, &b);
        if out.success() {
            sb.delete_force(&id).ok();
        } else {
            refused.push(format!("{o}: {}", out.stderr.trim()));
        }
    }
    assert!(refused.is_empty(), "listed but refused: {refused:#?}");
}

/// features.md (line 50, SHOULD NOT): `mountOptions` lists mount flags, not
/// filesystem-specific data options (no `key=value`, nothing like size/mode).
#[test]
fn mount_options_are_not_filesystem_specific() {
    let sb = Sandbox::new();
    let f = features(&sb);
    let fs_specific = [
        "size",
        "mode",
        "uid",
        "gid",
        "nr_inodes",
        "nr_blocks",
        "huge",
        "mpol",
        "inode64",
        "newinstance",
        "ptmxmode",
        "context",
        "errors",
        "noquota",
    ];
    for o in f["mountOptions"].as_array().expect("mountOptions") {
        let o = o.as_str().unwrap();
        assert!(
            !o.contains('=') && !fs_specific.contains(&o),
            "filesystem-specific option listed: {o}"
        );
    }
}

/// features.md (line 131): `annotations` follows config.md's annotations
/// rules: a map of non-empty string keys to string values.
#[test]
fn annotations_are_a_string_map() {
    let sb = Sandbox::new();
    let f = features(&sb);
    match f.get("annotations") {
        None => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                assert!(!k.is_empty() && v.is_string(), "{k:?}: {v}");
            }
        }
        Some(other) => panic!("annotations must be a map: {other}"),
    }
}
