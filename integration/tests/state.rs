//! runtime.md "State" and "Query State", plus the runc CLI `list`.

use integration::*;
use serde_json::{json, Value};
use std::fs;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// A container that blocks until `<shared>/go` exists.
fn blocking(sb: &Sandbox) -> (Bundle, std::path::PathBuf) {
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    b.set_args(&["sh", "-c", &wait_file_sh(&shared.join("go"))]);
    (b, shared)
}

/// runtime.md "State": ociVersion, id, status, pid, bundle (absolute) and
/// annotations as configured; runc also reports rootfs, created and owner.
#[test]
fn state_has_required_fields() {
    let sb = Sandbox::new();
    let (mut b, _) = blocking(&sb);
    b.config["annotations"] = json!({ "com.example.key": "value", "org.husk.empty": "" });
    let (id, _) = sb.create_ok(&b);
    let st = sb.state_json(&id);
    assert!(
        st["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "ociVersion: {st}"
    );
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().expect("pid is REQUIRED when created");
    assert!(pid > 0);
    let bundle = st["bundle"].as_str().expect("bundle is REQUIRED");
    assert!(bundle.starts_with('/'), "bundle must be absolute: {bundle}");
    assert_eq!(
        fs::canonicalize(bundle).unwrap(),
        fs::canonicalize(&b.dir).unwrap()
    );
    assert_eq!(st["annotations"], b.config["annotations"]);
    // runc's extra (MAY) properties, kept for drop-in compatibility.
    assert_eq!(
        fs::canonicalize(st["rootfs"].as_str().expect("runc reports rootfs")).unwrap(),
        fs::canonicalize(b.rootfs()).unwrap()
    );
    let created = st["created"].as_str().expect("runc reports created");
    assert!(
        created.len() >= 20 && created.contains('T'),
        "created must be RFC 3339: {created}"
    );
    assert!(st.get("owner").is_some(), "runc reports owner: {st}");
}

/// runtime.md "State": bundle is the absolute path even when create was given
/// a relative one.
#[test]
fn state_bundle_is_absolute_for_relative_bundle() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    b.save();
    let id = sb.new_id();
    let rel = b.dir.file_name().unwrap().to_owned();
    sb.cmd(&["create", "--bundle"])
        .arg(&rel)
        .arg(&id)
        .cwd(&sb.dir)
        .run()
        .ok();
    let st = sb.state_json(&id);
    assert_eq!(st["bundle"], b.abs_dir().as_str());
}

/// runtime.md "State": annotations MAY be absent or an empty map when none
/// were configured.
#[test]
fn state_without_annotations() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let (id, _) = sb.create_ok(&b);
    let st = sb.state_json(&id);
    match st.get("annotations") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => assert!(m.is_empty(), "{st}"),
        Some(other) => panic!("annotations must be a map: {other}"),
    }
}

/// runtime.md "State": pid is the container process as seen by the host;
/// once running it is the user program (here busybox sleep).
#[test]
fn state_pid_is_container_process() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "30"]);
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    assert_ne!(
        ns_of(&pid.to_string(), "pid"),
        ns_of("self", "pid"),
        "pid must be in the container pid ns"
    );
    assert_ne!(ns_of(&pid.to_string(), "mnt"), ns_of("self", "mnt"));
    sb.start(&id).ok();
    assert_eq!(
        sb.pid_of(&id),
        pid,
        "start must not change the container pid"
    );
    let cmdline_ok = wait_until(T, || {
        read(format!("/proc/{pid}/cmdline")) == "sleep\x0030\x00"
    });
    assert!(
        cmdline_ok,
        "cmdline: {:?}",
        read(format!("/proc/{pid}/cmdline"))
    );
}

/// runtime.md "State" status values: created -> running -> stopped.
#[test]
fn status_transitions() {
    let sb = Sandbox::new();
    let (b, shared) = blocking(&sb);
    let (id, _) = sb.create_ok(&b);
    assert_eq!(sb.status(&id), "created");
    sb.start(&id).ok();
    assert_eq!(sb.status(&id), "running");
    fs::write(shared.join("go"), "").unwrap();
    sb.wait_status(&id, "stopped", T);
    let st = sb.state_json(&id);
    assert_eq!(st["id"], id.as_str());
    if let Some(pid) = st["pid"].as_i64() {
        assert!(
            pid == 0 || !pid_alive(pid as i32),
            "stopped container's pid {pid} is alive"
        );
    }
}

/// runtime.md "Kill"/"State": when the process stops for any reason
/// (crash by signal), the status MUST be `stopped`. (No pid namespace here:
/// a pid-namespace init ignores signals it has no handler for.)
#[test]
fn status_stopped_after_crash() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sh", "-c", "kill -SEGV $$; sleep 5"]);
    b.remove_namespace("pid");
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
}

/// runtime.md "Query State": querying a container that does not exist MUST
/// generate an error.
#[test]
fn state_of_unknown_container_fails() {
    let sb = Sandbox::new();
    let id = sb.new_id();
    let out = sb
        .state(&id)
        .err_mentions(&["does not exist", "not exist", "not found"]);
    assert!(
        out.stdout.trim().is_empty(),
        "no state may be printed: {out}"
    );
}

/// runtime.md "Query State": MUST generate an error if not given an ID.
#[test]
fn state_without_id_fails() {
    let sb = Sandbox::new();
    sb.cmd(&["state"]).run().err();
}

/// runc CLI `list`: default table, `--format json` and `-q`.
#[test]
fn list_formats() {
    let sb = Sandbox::new();
    let (b, _) = blocking(&sb);
    let (a, _) = sb.create_ok(&b);
    let (c, _) = sb.create_ok(&b);
    sb.start(&c).ok();

    let quiet = sb.cmd(&["list", "-q"]).run().ok();
    let mut ids = quiet.lines();
    ids.sort();
    let mut want = vec![a.clone(), c.clone()];
    want.sort();
    assert_eq!(ids, want);

    let js = sb.cmd(&["list", "--format", "json"]).run().ok();
    let v: Value = serde_json::from_str(&js.stdout).unwrap_or_else(|e| panic!("{e}: {js}"));
    let arr = v.as_array().expect("list --format json prints an array");
    assert_eq!(arr.len(), 2);
    for (id, status) in [(&a, "created"), (&c, "running")] {
        let e = arr
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} missing: {v}"));
        assert_eq!(e["status"], status);
        assert_eq!(e["pid"].as_i64().unwrap() as i32, sb.pid_of(id));
        assert_eq!(e["bundle"], b.abs_dir().as_str());
        assert!(
            e.get("created").is_some() && e.get("rootfs").is_some(),
            "{e}"
        );
    }

    let table = sb.cmd(&["list"]).run().ok();
    let header = table.stdout.lines().next().unwrap_or_default().to_string();
    for col in ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"] {
        assert!(header.contains(col), "table header lacks {col}: {table}");
    }
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with(&a) && l.contains("created")),
        "{table}"
    );
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with(&c) && l.contains("running")),
        "{table}"
    );
}

/// runc CLI `list -q` on an empty --root prints nothing and succeeds.
#[test]
fn list_empty() {
    let sb = Sandbox::new();
    let out = sb.cmd(&["list", "-q"]).run().ok();
    assert_eq!(out.stdout.trim(), "");
}
