//! runtime.md statements the other files leave open: the shape of the state
//! in every status, and steps 3-13 of the lifecycle when a hook fails
//! (the container is stopped and destroyed, and the poststop hooks run).
//! Each test names the runtime.md line it checks (see docs/CONFORMANCE.md).

use integration::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// A hook running `sh -c script` with the host's busybox.
fn hook(script: &str) -> Value {
    json!({ "path": BUSYBOX, "args": ["sh", "-c", script] })
}

/// A hook that appends `name` to `<d>/log`.
fn logging_hook(d: &Path, name: &str) -> Value {
    hook(&format!("echo {name} >> {}/log", d.display()))
}

fn log(d: &Path) -> Vec<String> {
    read(d.join("log")).lines().map(String::from).collect()
}

/// Checks one `state` document against runtime.md "State" and
/// schema/state-schema.json, for a container in `status`.
#[track_caller]
fn check_state_shape(st: &Value, id: &str, status: &str, bundle: &str) {
    let obj = st.as_object().expect("state is a JSON object");
    let ver = obj["ociVersion"].as_str().expect("ociVersion is a string");
    let nums: Vec<&str> = ver.split(['-', '+']).next().unwrap().split('.').collect();
    assert!(
        nums.len() == 3 && nums.iter().all(|n| n.parse::<u64>().is_ok()) && nums[0] == "1",
        "ociVersion {ver:?} is not a 1.x SemVer"
    );
    assert_eq!(obj["id"], id, "{st}");
    assert_eq!(obj["status"], status, "{st}");
    assert_eq!(obj["bundle"], bundle, "{st}");
    match obj.get("pid") {
        Some(Value::Number(n)) => assert!(n.as_i64().is_some_and(|p| p >= 0), "{st}"),
        None if status == "stopped" => {}
        other => panic!("pid must be an integer >= 0 (REQUIRED when {status}): {other:?}"),
    }
    if matches!(status, "created" | "running") {
        let pid = obj["pid"].as_i64().unwrap();
        assert!(
            pid > 0 && pid_alive(pid as i32),
            "pid {pid} must be the live container process"
        );
    }
    match obj.get("annotations") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                assert!(!k.is_empty() && v.is_string(), "annotation {k:?}: {v}");
            }
        }
        Some(other) => panic!("annotations must be a map: {other}"),
    }
}

/// runtime.md "State" (lines 12-35): in every status the state carries
/// ociVersion (SemVer), id, status, bundle (absolute), pid (REQUIRED while
/// created or running) and annotations as a string map, as the JSON schema
/// says; `status` takes only the defined values.
#[test]
fn state_matches_schema_in_every_status() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    b.set_args(&["sh", "-c", &wait_file_sh(&shared.join("go"))]);
    b.config["annotations"] = json!({ "org.example.k": "v" });
    let (id, _) = sb.create_ok(&b);
    let bundle = b.abs_dir();
    check_state_shape(&sb.state_json(&id), &id, "created", &bundle);
    sb.start(&id).ok();
    check_state_shape(&sb.state_json(&id), &id, "running", &bundle);
    fs::write(shared.join("go"), "").unwrap();
    sb.wait_status(&id, "stopped", T);
    check_state_shape(&sb.state_json(&id), &id, "stopped", &bundle);
}

/// runtime.md "State" `id` (line 14): unique across the containers of the
/// runtime: two containers of one bundle get distinct ids and distinct
/// processes, and each operation acts on its own container only.
#[test]
fn operations_act_on_the_named_container_only() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "30"]);
    let (a, _) = sb.create_ok(&b);
    let (c, _) = sb.create_ok(&b);
    assert_ne!(sb.pid_of(&a), sb.pid_of(&c));
    sb.start(&a).ok();
    assert_eq!(sb.status(&a), "running");
    assert_eq!(sb.status(&c), "created");
    sb.kill(&a, "KILL").ok();
    sb.wait_status(&a, "stopped", T);
    assert_eq!(sb.status(&c), "created");
    sb.delete(&a).ok();
    assert_eq!(sb.status(&c), "created");
}

/// A bundle whose `kind` hooks are [ok-1, failing, ok-2] (the failing one
/// exits 1), plus (unless `kind` is poststop) a logging poststop hook. The program would log "program".
fn failing_hook_bundle(sb: &Sandbox, kind: &str) -> (Bundle, PathBuf) {
    let mut b = sb.bundle(&[]);
    let d = sb.shared_dir(&mut b);
    b.set_args(&["sh", "-c", &format!("echo program >> {}/log", d.display())]);
    let failing = hook(&format!("echo {kind}-fail >> {}/log; exit 1", d.display()));
    let list = json!([
        logging_hook(&d, &format!("{kind}-1")),
        failing,
        logging_hook(&d, &format!("{kind}-2"))
    ]);
    b.config["hooks"] = if kind == "poststop" {
        json!({ "poststop": list })
    } else {
        json!({ kind: list, "poststop": [logging_hook(&d, "poststop")] })
    };
    (b, d)
}

/// runtime.md "Lifecycle" 3 and 5 (lines 63, 67): a failing prestart or
/// createContainer hook is an error; the remaining hooks of that kind do not
/// run, the container is stopped and destroyed (step 12: nothing is left)
/// and the poststop hooks run (step 13).
/// (createRuntime: hooks.rs `failing_create_hook_runs_poststop`.)
#[test]
fn failing_create_hooks_destroy_container_and_run_poststop() {
    if skip_on_runc("runc 1.1.5 does not run poststop hooks when create fails") {
        return;
    }
    for kind in ["prestart", "createContainer"] {
        let sb = Sandbox::new();
        let (b, d) = failing_hook_bundle(&sb, kind);
        let id = sb.new_id();
        let out = sb.create(&id, &b).err();
        let want = [
            format!("{kind}-1"),
            format!("{kind}-fail"),
            "poststop".into(),
        ];
        assert_eq!(log(&d), want, "{kind}: {out}");
        sb.assert_nothing_left(&id, &out);
    }
}

/// runtime.md "Lifecycle" 7 (line 70): a failing startContainer hook is an
/// error, the program never runs, the container is stopped; continuing at
/// step 12, it is destroyed and the poststop hooks run exactly once (by the
/// time `delete` returns, if the runtime kept the stopped container).
#[test]
fn failing_start_container_hook_leads_to_poststop() {
    if skip_on_runc("runc 1.1.5 `start` succeeds; the hook fails later inside runc init") {
        return;
    }
    let sb = Sandbox::new();
    let (b, d) = failing_hook_bundle(&sb, "startContainer");
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    sb.start(&id).err();
    assert!(wait_until(T, || !pid_alive(pid)), "container not stopped");
    if sb.state_entry_exists(&id) {
        assert_eq!(sb.status(&id), "stopped");
        sb.delete(&id).ok();
    }
    assert_eq!(
        log(&d),
        ["startContainer-1", "startContainer-fail", "poststop"],
        "the program must not run; poststop must run once"
    );
    assert!(
        cgroup_dirs_for(&id).is_empty(),
        "{:?}",
        cgroup_dirs_for(&id)
    );
}

/// runtime.md "Lifecycle" 9 (line 73, spec 1.3): a failing poststart hook is
/// an error, the container is stopped, and (step 12-13) destroying it runs
/// the poststop hooks.
#[test]
fn failing_poststart_hook_leads_to_poststop() {
    if skip_on_runc("runc 1.1.5 runs poststart during create (runc#1710)") {
        return;
    }
    let sb = Sandbox::new();
    let (mut b, d) = failing_hook_bundle(&sb, "poststart");
    b.set_args(&[
        "sh",
        "-c",
        &format!("echo program >> {}/log; sleep 30", d.display()),
    ]);
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    sb.start(&id).err();
    assert!(wait_until(T, || !pid_alive(pid)), "container not stopped");
    if sb.state_entry_exists(&id) {
        assert_eq!(sb.status(&id), "stopped");
        sb.delete(&id).ok();
    }
    let l = log(&d);
    assert_eq!(l.iter().filter(|x| *x == "poststop").count(), 1, "{l:?}");
    assert!(
        !l.contains(&"poststart-2".to_string()),
        "hooks after the failing one must not run: {l:?}"
    );
}

/// runtime.md "Lifecycle" 13 and "Warnings" (lines 79, 89): a failing
/// poststop hook is logged as a warning (here: a warning line naming the
/// hook in --log), and the operation continues: later hooks run and delete
/// succeeds.
#[test]
fn failing_poststop_hook_is_a_logged_warning() {
    if skip_on_runc("runc 1.1.5 stops at the first failing poststop hook (runc#1765)") {
        return;
    }
    let sb = Sandbox::new();
    let (b, d) = failing_hook_bundle(&sb, "poststop");
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    let logfile = sb.dir.join("delete.log");
    sb.cmd(&["--log"])
        .arg(&logfile)
        .args(&["delete", &id])
        .run()
        .ok();
    assert!(!sb.state_entry_exists(&id));
    let l = log(&d);
    assert!(
        l.ends_with(&[
            "poststop-1".into(),
            "poststop-fail".into(),
            "poststop-2".into()
        ]),
        "{l:?}"
    );
    let text = read(&logfile);
    assert!(
        text.lines()
            .any(|x| x.contains("level=warning") && x.contains("poststop")),
        "no warning about the failed poststop hook in --log: {text:?}"
    );
}

/// runtime.md "Errors" (line 84): a failed `start` (the container is
/// running) leaves the container as it was; a failed `kill` (unknown signal)
/// and a failed `delete` (not stopped) do too.
#[test]
fn failed_operations_leave_the_container_unchanged() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "30"]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    let before = sb.state_json(&id);
    sb.start(&id).err();
    sb.kill(&id, "NOSUCHSIGNAL").err();
    sb.delete(&id).err();
    assert_eq!(sb.state_json(&id), before);
    assert!(pid_alive(sb.pid_of(&id)));
}

/// runtime.md "Delete" (line 144): resources associated with the container
/// but not created by it MUST NOT be deleted: a cgroup that existed before
/// `create` (named by cgroupsPath) survives `delete`.
#[test]
fn delete_keeps_a_cgroup_it_did_not_create() {
    if skip_on_runc("runc 1.1.5 removes the pre-existing cgroup too") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let id = sb.new_id();
    let name = format!("{id}-pre");
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let pre = if v2 {
        PathBuf::from(format!("/sys/fs/cgroup/{name}"))
    } else {
        PathBuf::from(format!("/sys/fs/cgroup/pids/{name}"))
    };
    fs::create_dir(&pre).unwrap();
    // Our own cleanup, also on failure (before the sandbox's leak check,
    // which would report the pre-made cgroup).
    let _pre = RemoveDirs(vec![pre.clone()]);
    b.linux()["cgroupsPath"] = json!(format!("/{name}"));
    sb.create(&id, &b).ok();
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    let kept = pre.is_dir();
    assert!(
        kept,
        "{} was created before the container and deleted with it",
        pre.display()
    );
}
