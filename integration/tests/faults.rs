//! Fault injection: a runtime or init process that dies at any point must not
//! leave what the runtime cannot clean up. runtime.md "Errors": a failed
//! operation leaves the environment as if it had never been attempted; and
//! whatever a killed `create` or `delete` left, `delete --force ID` removes.
//!
//! husk's debug builds honour `HUSK_TEST_STOP_AT=<stage>` (see
//! crates/libcontainer/src/faults.rs): the process that reaches the stage
//! dies on the spot (SIGKILL; `_exit` for the init, which a SIGKILL from
//! inside its pid namespace cannot reach), with no cleanup of its own.
//! After each: `list` works, `delete --force ID` (or plain `delete` once the
//! container is stopped) succeeds, and then nothing is left: no state entry,
//! no cgroup, no mount, no process.

use integration::*;
use serde_json::json;
use std::time::Duration;

const VAR: &str = "HUSK_TEST_STOP_AT";
const RUNC: &str = "fault injection is a hook of husk's debug builds";

/// Host mounts at or below the sandbox dir.
fn mounts_under(sb: &Sandbox) -> Vec<String> {
    let prefix = sb.dir.to_string_lossy().into_owned();
    read("/proc/self/mountinfo")
        .lines()
        .filter_map(MountInfo::parse)
        .map(|m| m.mount_point)
        .filter(|m| m.starts_with(&format!("{prefix}/")))
        .collect()
}

fn create_dying_at(sb: &Sandbox, b: &Bundle, id: &str, stage: &str) -> Output {
    sb.track_id(id);
    b.save_for(Some(id));
    sb.cmd(&["create", "--bundle"])
        .arg(&b.dir)
        .arg(id)
        .env(VAR, stage)
        .run()
}

/// `list` must work and print valid JSON whatever was left.
#[track_caller]
fn list_works(sb: &Sandbox) -> serde_json::Value {
    let out = sb.cmd(&["list", "--format", "json"]).run().ok();
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("list JSON ({e}): {out}"))
}

/// The final cleanup and the leak checks.
#[track_caller]
fn cleaned_up(sb: &Sandbox, id: &str, out: &Output) {
    sb.assert_nothing_left(id, out);
    let m = mounts_under(sb);
    assert!(m.is_empty(), "mounts left: {m:?}");
    let list = list_works(sb);
    assert_eq!(list, json!([]), "list after cleanup");
}

/// The create process is killed before state.json exists: the id is not a
/// container (`state` says so, `list` skips it) but `delete --force` removes
/// whatever the create had made (state dir, cgroup, the init if it still
/// waits, mounts) and the id can be used again.
fn parent_dies_before_state(stage: &str, mount_ns: bool) {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    if !mount_ns {
        without_mount_ns(&mut b);
    }
    let id = sb.new_id();
    let out = create_dying_at(&sb, &b, &id, stage);
    assert_eq!(
        out.code, 137,
        "create must have been killed at {stage}: {out}"
    );
    assert!(
        !sb.state(&id).success(),
        "no state.json: not a container yet"
    );
    let list = list_works(&sb);
    assert_eq!(list, json!([]), "list skips the unfinished entry");
    let table = sb.cmd(&["list"]).run().ok();
    assert!(
        table.stderr.contains(&format!("delete --force {id}")),
        "list tells what to do with the leftovers: {table}"
    );
    // The id stays taken until the leftovers are deleted.
    sb.create(&id, &b).err_mentions(&["already exists"]);
    let del = sb.delete_force(&id).ok();
    cleaned_up(&sb, &id, &del);
    // The id can be used again.
    sb.create(&id, &b).ok();
    sb.pid_of(&id);
    let del = sb.delete_force(&id).ok();
    cleaned_up(&sb, &id, &del);
}

/// Drops the mount namespace (and what needs it): the init then mounts in
/// the runtime's namespace, below the rootfs.
fn without_mount_ns(b: &mut Bundle) {
    b.remove_namespace("mount");
    let linux = b.linux().as_object_mut().unwrap();
    linux.remove("maskedPaths");
    linux.remove("readonlyPaths");
    b.config["root"]["readonly"] = json!(false);
    b.config["mounts"] = json!([
        { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"] }
    ]);
}

#[test]
fn create_killed_after_state_dir() {
    parent_dies_before_state("after-state-dir", true);
}

#[test]
fn create_killed_after_clone() {
    parent_dies_before_state("after-clone", true);
}

#[test]
fn create_killed_after_cgroup() {
    parent_dies_before_state("after-cgroup", true);
}

/// The init is ready and waits on the exec fifo when its parent dies: an
/// orphan nobody would know about without the create's record.
#[test]
fn create_killed_before_state_save() {
    parent_dies_before_state("before-state-save", true);
}

/// As above, without a mount namespace: the init's mounts are in the
/// runtime's namespace, below the rootfs, and must be taken down too.
#[test]
fn create_killed_before_state_save_without_mount_ns() {
    parent_dies_before_state("before-state-save", false);
}

/// The create process dies after writing state.json: the container is
/// complete and behaves like any created container.
#[test]
fn create_killed_after_state_save() {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let id = sb.new_id();
    let out = create_dying_at(&sb, &b, &id, "after-state-save");
    assert_eq!(out.code, 137, "{out}");
    assert_eq!(sb.status(&id), "created");
    sb.pid_of(&id);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", Duration::from_secs(10));
    let del = sb.delete(&id).ok();
    cleaned_up(&sb, &id, &del);
}

/// The init dies during its setup: create fails like for any setup error
/// (its parent cleans up), with one error line, and leaves nothing.
fn init_dies_during_setup(stage: &str) {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let id = sb.new_id();
    let out = create_dying_at(&sb, &b, &id, stage).err();
    assert_ne!(
        out.code, 137,
        "the create process itself must survive: {out}"
    );
    assert!(out.stderr.contains("init"), "{out}");
    cleaned_up(&sb, &id, &out);
}

#[test]
fn init_dies_before_mounts() {
    init_dies_during_setup("init-before-mounts");
}

#[test]
fn init_dies_after_mounts() {
    init_dies_during_setup("init-after-mounts");
}

/// The init dies after reporting ready, before `start`: create succeeds,
/// the container reports `stopped` (runtime.md "State": the process has
/// exited), `start` refuses it, and a plain `delete` removes it.
#[test]
fn init_dies_after_ready() {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let id = sb.new_id();
    create_dying_at(&sb, &b, &id, "init-after-ready").ok();
    sb.wait_status(&id, "stopped", Duration::from_secs(10));
    assert_eq!(sb.state_json(&id)["pid"], 0);
    let list = list_works(&sb);
    assert_eq!(list[0]["status"], "stopped", "{list}");
    sb.start(&id).err_mentions(&["stopped", "exited"]);
    let del = sb.delete(&id).ok();
    cleaned_up(&sb, &id, &del);
}

/// `delete --force` is killed once the init is dead, or once the cgroup is
/// gone: the container is `stopped`, `list` works, and `delete` finishes.
fn delete_dies_at(stage: &str) {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "60"]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    let out = sb.cmd(&["delete", "--force", &id]).env(VAR, stage).run();
    assert_eq!(
        out.code, 137,
        "delete must have been killed at {stage}: {out}"
    );
    assert_eq!(sb.status(&id), "stopped");
    list_works(&sb);
    let del = sb.delete(&id).ok();
    cleaned_up(&sb, &id, &del);
}

#[test]
fn delete_killed_after_kill() {
    delete_dies_at("delete-after-kill");
}

#[test]
fn delete_killed_before_remove() {
    delete_dies_at("delete-before-remove");
}

/// A stage name the runtime never reaches changes nothing (and release
/// builds ignore the variable altogether).
#[test]
fn unknown_stage_is_harmless() {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let id = sb.new_id();
    create_dying_at(&sb, &b, &id, "no-such-stage").ok();
    sb.pid_of(&id);
    let del = sb.delete_force(&id).ok();
    cleaned_up(&sb, &id, &del);
}
