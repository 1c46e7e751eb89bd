//! runtime.md "Errors": a failing operation MUST generate an error and
//! leave the environment as if it had never been attempted. Each test checks
//! the exit code, that stderr names the problem, and that nothing is left
//! (no state entry, no process, no cgroup).

use integration::*;
use serde_json::json;
use std::fs;

/// Creates `b` under a fresh id, expecting failure mentioning one of
/// `needles`, and checks nothing was left behind.
#[track_caller]
fn create_fails(sb: &Sandbox, b: &Bundle, needles: &[&str]) -> Output {
    let id = sb.new_id();
    let out = sb.create(&id, b).err_mentions(needles);
    sb.assert_nothing_left(&id, &out);
    out
}

/// runtime.md "Create": MUST generate an error if the bundle does not exist.
#[test]
fn missing_bundle() {
    let sb = Sandbox::new();
    let id = sb.new_id();
    let out = sb
        .cmd(&["create", "--bundle"])
        .arg(sb.dir.join("no-such-bundle"))
        .arg(&id)
        .run();
    let out = out.err_mentions(&["no such file", "not exist", "not found"]);
    sb.assert_nothing_left(&id, &out);
}

/// runtime.md "Create": a bundle without config.json is an error.
#[test]
fn missing_config_json() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.write_config = false;
    create_fails(&sb, &b, &["config.json"]);
}

/// runtime.md "Create": an unparsable config.json is an error.
#[test]
fn invalid_json() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.write_config = false;
    fs::write(b.config_path(), "{ \"ociVersion\": \"1.0.2\", ").unwrap();
    create_fails(&sb, &b, &["json", "parse", "unexpected end", "eof"]);
}

/// runtime.md "Create": config.json that is valid JSON but of the wrong
/// shape (process.args is a string) is an error.
#[test]
fn wrong_json_types() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.process()["args"] = json!("sh -c true");
    create_fails(
        &sb,
        &b,
        &["json", "args", "invalid type", "cannot unmarshal"],
    );
}

/// config.md "Specification version": a config for an unsupported major
/// version (2.0.0) MUST be rejected (config.md "Valid values").
#[test]
fn unsupported_oci_version() {
    if skip_on_runc("runc 1.1.5 does not check ociVersion") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.config["ociVersion"] = json!("2.0.0");
    create_fails(&sb, &b, &["version", "2.0.0"]);
}

/// config.md "Specification version": ociVersion MUST be SemVer.
#[test]
fn invalid_oci_version() {
    if skip_on_runc("runc 1.1.5 does not check ociVersion") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.config["ociVersion"] = json!("not-a-version");
    create_fails(&sb, &b, &["version"]);
}

/// config.md "Root" `path`: a directory MUST exist at the path.
#[test]
fn missing_rootfs() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.config["root"]["path"] = json!("no-such-rootfs");
    create_fails(&sb, &b, &["rootfs", "no such file", "not exist"]);
}

/// config.md "Root" `path`: a file instead of a directory is an error.
#[test]
fn rootfs_is_a_file() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    fs::write(b.dir.join("rootfile"), "").unwrap();
    b.config["root"]["path"] = json!("rootfile");
    create_fails(&sb, &b, &["rootfs", "directory", "not a dir"]);
}

/// runtime.md "Start"/"Delete"/"Kill"/"Query State": operating on a
/// container that does not exist MUST generate an error.
#[test]
fn unknown_id() {
    let sb = Sandbox::new();
    let id = sb.new_id();
    for op in [
        vec!["state", &id],
        vec!["start", &id],
        vec!["kill", &id, "KILL"],
        vec!["delete", &id],
    ] {
        let out = sb
            .cmd(&op)
            .run()
            .err_mentions(&["does not exist", "not exist", "not found"]);
        assert!(!sb.state_entry_exists(&id), "{out}");
    }
}

/// runtime.md "Create"/"Start"/"Delete": MUST generate an error when not
/// given the container ID (create: nor the bundle).
#[test]
fn missing_id() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    b.save();
    for op in [
        &["create", "--bundle", b.abs_dir().as_str()][..],
        &["start"],
        &["delete"],
        &["delete", "--force"],
    ] {
        sb.cmd(op).run().err();
    }
    let list = sb.cmd(&["list", "-q"]).run().ok();
    assert_eq!(
        list.stdout.trim(),
        "",
        "nothing may have been created: {list}"
    );
}

/// runtime.md "Create": if the ID is already in use the runtime MUST
/// generate an error and MUST NOT create a new container; the existing one
/// is unaffected.
#[test]
fn duplicate_id() {
    let sb = Sandbox::new();
    let first = sb.bundle(&["sleep", "30"]);
    let (id, _) = sb.create_ok(&first);
    let pid = sb.pid_of(&id);
    let mut second = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut second);
    second.set_args(&[
        "sh",
        "-c",
        &format!("touch {}/second-ran", shared.display()),
    ]);
    let out = sb
        .create(&id, &second)
        .err_mentions(&["exists", "already", "in use"]);
    let st = sb.state_json(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"].as_i64(), Some(pid as i64));
    assert_eq!(st["bundle"], first.abs_dir().as_str());
    assert!(
        sb.stray_processes().is_empty(),
        "the failed create left processes: {:?}: {out}",
        sb.stray_processes()
    );
    sb.start(&id).ok();
    assert_eq!(sb.status(&id), "running");
    assert!(!shared.join("second-ran").exists());
}

/// runtime.md "Create": an ID that "is not valid in any other way" MUST be
/// rejected, and nothing may be created (not even outside --root).
#[test]
fn invalid_ids() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    for bad in ["a/b", "..", ".", "../escape", "with space", "semi;colon"] {
        let out = sb.create(bad, &b).err_mentions(&["invalid"]);
        assert!(
            !sb.root.join("a").exists() && !sb.dir.join("escape").exists(),
            "{bad}: {out}"
        );
        assert!(
            sb.stray_processes().is_empty(),
            "{bad}: processes left: {out}"
        );
    }
    let list = sb.cmd(&["list", "-q"]).run().ok();
    assert_eq!(list.stdout.trim(), "", "{list}");
}

/// runtime.md "Create": if the process cannot be set up (executable
/// missing) the runtime MUST generate an error (runc does so at create).
#[test]
fn missing_executable_absolute() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["/bin/no-such-program", "arg"]);
    create_fails(
        &sb,
        &b,
        &["no such file or directory", "executable file not found"],
    );
}

/// As above, with PATH lookup of args[0].
#[test]
fn missing_executable_in_path() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["no-such-program"]);
    create_fails(
        &sb,
        &b,
        &["executable file not found", "no such file or directory"],
    );
}

/// config.md "Process" `args`: at least one entry is REQUIRED.
#[test]
fn empty_args() {
    let sb = Sandbox::new();
    let b = sb.bundle(&[]);
    create_fails(&sb, &b, &["args"]);
}

/// config.md "Process" `cwd`: MUST be an absolute path.
#[test]
fn relative_cwd() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.process()["cwd"] = json!("relative/dir");
    create_fails(&sb, &b, &["cwd", "absolute"]);
}

/// runtime.md "Lifecycle" step 2: if the runtime cannot create the
/// environment (unknown filesystem type) it MUST generate an error.
#[test]
fn unknown_mount_type() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.add_mount(json!({ "destination": "/mnt", "type": "huskbogusfs", "source": "none" }));
    create_fails(&sb, &b, &["mount", "no such device", "huskbogusfs"]);
}

/// runtime.md "Lifecycle" step 2: a bind mount whose source does not exist
/// cannot be created: error.
#[test]
fn bind_source_missing() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.add_mount(json!({ "destination": "/mnt", "type": "bind", "source": sb.dir.join("nope"), "options": ["rbind"] }));
    create_fails(&sb, &b, &["no such file", "not exist", "mount"]);
}
