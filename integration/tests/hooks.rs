//! config.md "POSIX-platform Hooks" and runtime.md "Lifecycle" steps 3-13.
//!
//! Hooks run host busybox (`/bin/busybox`, also present in the rootfs) and
//! write into a shared dir that has the same absolute path on the host and in
//! the container, so both runtime- and container-namespace hooks can log.

use integration::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);
const ALL: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// A hook running `sh -c script` with `HOOKVAR=hook-env` in its environment.
fn hook(script: &str) -> Value {
    json!({ "path": BUSYBOX, "args": ["sh", "-c", script], "env": ["HOOKVAR=hook-env"] })
}

/// Script recording, for hook `name`: its name in `<d>/log`, its stdin
/// (the state) in `<d>/<name>.state`, its mount/uts namespaces, and its env.
fn recorder(d: &Path, name: &str) -> String {
    format!(
        "echo {name} >> {d}/log; cat > {d}/{name}.state; readlink /proc/self/ns/mnt > {d}/{name}.mnt; \
         readlink /proc/self/ns/uts > {d}/{name}.uts; env > {d}/{name}.env",
        d = d.display()
    )
}

/// Bundle with every hook recording itself; the process logs "process"
/// then waits for `<d>/go`.
fn recording_bundle(sb: &Sandbox) -> (Bundle, PathBuf) {
    let mut b = sb.bundle(&[]);
    let d = sb.shared_dir(&mut b);
    let hooks: serde_json::Map<String, Value> = ALL
        .iter()
        .map(|h| (h.to_string(), json!([hook(&recorder(&d, h))])))
        .collect();
    b.config["hooks"] = Value::Object(hooks);
    b.set_args(&[
        "sh",
        "-c",
        &format!(
            "echo process >> {d}/log; {}",
            wait_file_sh(&d.join("go")),
            d = d.display()
        ),
    ]);
    (b, d)
}

fn log(d: &Path) -> Vec<String> {
    read(d.join("log")).lines().map(String::from).collect()
}

fn state_of(d: &Path, h: &str) -> Value {
    serde_json::from_str(&read(d.join(format!("{h}.state")))).unwrap_or_else(|e| {
        panic!(
            "{h} did not get JSON state on stdin ({e}): {:?}",
            read(d.join(format!("{h}.state")))
        )
    })
}

/// config.md "Hooks": prestart, createRuntime and createContainer MUST be
/// called, in that order, during `create`; startContainer and the user
/// program have not run yet.
#[test]
fn create_hooks_run_in_order_during_create() {
    let sb = Sandbox::new();
    let (b, d) = recording_bundle(&sb);
    sb.create_ok(&b);
    let l = log(&d);
    assert_eq!(
        &l[..3.min(l.len())],
        ["prestart", "createRuntime", "createContainer"]
    );
    assert!(
        !l.contains(&"startContainer".into()) && !l.contains(&"process".into()),
        "{l:?}"
    );
}

/// runtime.md "Lifecycle" 9: poststart hooks belong to `start`; `create`
/// MUST NOT run them.
#[test]
fn create_does_not_run_poststart() {
    if skip_on_runc("runc 1.1.5 runs poststart hooks during create (runc#1710)") {
        return;
    }
    let sb = Sandbox::new();
    let (b, d) = recording_bundle(&sb);
    sb.create_ok(&b);
    assert_eq!(log(&d), ["prestart", "createRuntime", "createContainer"]);
}

/// runtime.md "Lifecycle" 7-8: startContainer hooks MUST run during `start`
/// before the user program.
#[test]
fn start_container_hook_runs_before_program() {
    let sb = Sandbox::new();
    let (b, d) = recording_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    assert!(wait_until(T, || log(&d).contains(&"process".to_string())));
    let l = log(&d);
    let pos = |s: &str| {
        l.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} missing: {l:?}"))
    };
    assert!(
        pos("createContainer") < pos("startContainer") && pos("startContainer") < pos("process"),
        "{l:?}"
    );
}

/// config.md "Poststart": MUST be called after the user-specified process is
/// executed but before `start` returns (the hook sees the program running).
#[test]
fn poststart_hook_after_program_exec() {
    if skip_on_runc(
        "runc 1.1.5 runs poststart during create, before the program is executed (runc#1710)",
    ) {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "30"]);
    let d = sb.shared_dir(&mut b);
    let script = format!(
        "pid=$(sed 's/.*\"pid\": *\\([0-9]*\\).*/\\1/'); tr '\\0' ' ' < /proc/$pid/cmdline > {d}/cmdline",
        d = d.display()
    );
    b.config["hooks"] = json!({ "poststart": [hook(&script)] });
    let (id, _) = sb.create_ok(&b);
    assert!(!d.join("cmdline").exists(), "poststart ran during create");
    sb.start(&id).ok();
    assert_eq!(
        read(d.join("cmdline")),
        "sleep 30 ",
        "poststart must run after exec and before start returns"
    );
}

/// config.md "Poststart": poststart hooks have run when `start` returns.
#[test]
fn poststart_hook_done_when_start_returns() {
    let sb = Sandbox::new();
    let (b, d) = recording_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    assert!(log(&d).contains(&"poststart".to_string()), "{:?}", log(&d));
}

/// config.md "Poststop": MUST be called after the container is deleted but
/// before `delete` returns; not before.
#[test]
fn poststop_hook_runs_on_delete() {
    let sb = Sandbox::new();
    let (b, d) = recording_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    fs::write(d.join("go"), "").unwrap();
    sb.wait_status(&id, "stopped", T);
    assert!(
        !log(&d).contains(&"poststop".to_string()),
        "poststop ran before delete: {:?}",
        log(&d)
    );
    sb.delete(&id).ok();
    assert_eq!(log(&d).last().map(String::as_str), Some("poststop"));
    assert_eq!(state_of(&d, "poststop")["status"], "stopped");
}

/// config.md "Hooks": the state MUST be passed to hooks over stdin.
#[test]
fn hooks_receive_state_on_stdin() {
    let sb = Sandbox::new();
    let (b, d) = recording_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    fs::write(d.join("go"), "").unwrap();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    for h in ALL {
        let st = state_of(&d, h);
        assert_eq!(st["id"], id.as_str(), "{h}: {st}");
        assert_eq!(st["bundle"], b.abs_dir().as_str(), "{h}: {st}");
        assert!(
            st["ociVersion"].is_string() && st["status"].is_string(),
            "{h}: {st}"
        );
    }
    // runtime.md "State" pid: for runtime-namespace hooks, the host pid.
    let pid = state_of(&d, "createRuntime")["pid"]
        .as_i64()
        .expect("createRuntime state has a pid");
    assert!(pid > 1);
}

/// runtime.md "Lifecycle" 6-7 with config.md "Hooks" (state on stdin): the
/// poststart hooks get the state of the container `start` has just started,
/// `running` with the init's pid, even when the program (`true`) is already
/// gone by then (runtime-tools hooks_stdin checks this; crun alike).
#[test]
fn poststart_state_is_running_with_the_init_pid() {
    if skip_on_runc("runc 1.1.5 runs poststart hooks during create (runc#1710)") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let d = sb.shared_dir(&mut b);
    b.config["hooks"] = json!({ "poststart": [hook(&recorder(&d, "poststart"))] });
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    let st = state_of(&d, "poststart");
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(st["pid"].as_i64(), Some(pid as i64), "{st}");
}

/// config.md "Hooks": prestart, createRuntime, poststart and poststop MUST
/// run in the runtime namespace; createContainer and startContainer in the
/// container namespace.
#[test]
fn hooks_run_in_the_right_namespaces() {
    let sb = Sandbox::new();
    let (mut b, d) = recording_bundle(&sb);
    b.config["hostname"] = json!("hooked");
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    fs::write(d.join("go"), "").unwrap();
    sb.wait_status(&id, "stopped", T);
    let ctr_mnt = read(d.join("startContainer.mnt"));
    sb.delete(&id).ok();
    let (host_mnt, host_uts) = (ns_of("self", "mnt"), ns_of("self", "uts"));
    for h in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert_eq!(
            read(d.join(format!("{h}.mnt"))).trim(),
            host_mnt,
            "{h} mnt ns"
        );
        assert_eq!(
            read(d.join(format!("{h}.uts"))).trim(),
            host_uts,
            "{h} uts ns"
        );
    }
    for h in ["createContainer", "startContainer"] {
        assert_ne!(
            read(d.join(format!("{h}.mnt"))).trim(),
            host_mnt,
            "{h} mnt ns"
        );
        assert_ne!(
            read(d.join(format!("{h}.uts"))).trim(),
            host_uts,
            "{h} uts ns"
        );
    }
    assert_eq!(read(d.join("createContainer.mnt")), ctr_mnt);
}

/// config.md "Hooks" `args`/`env`: passed as execv argv and environ
/// (the runtime's own environment is not leaked into hooks).
#[test]
fn hook_args_and_env() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let d = sb.shared_dir(&mut b);
    let script = format!(
        "echo \"$0|$1|$2\" > {d}/args; env > {d}/env",
        d = d.display()
    );
    b.config["hooks"] = json!({ "createRuntime": [{
        "path": BUSYBOX, "args": ["sh", "-c", script, "zero", "one two"], "env": ["HOOKVAR=hook-env", "X=y=z"]
    }] });
    sb.create_ok(&b);
    assert_eq!(read(d.join("args")), "zero|one two|\n");
    let env = read(d.join("env"));
    assert!(
        env.lines().any(|l| l == "HOOKVAR=hook-env") && env.lines().any(|l| l == "X=y=z"),
        "{env}"
    );
    assert!(
        !env.contains(TAG_VAR),
        "runtime environment leaked into the hook: {env}"
    );
}

/// runtime.md "Lifecycle" 3-4: if a prestart/createRuntime hook fails the
/// runtime MUST generate an error and destroy the container.
#[test]
fn failing_create_hook_fails_create() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let sb = Sandbox::new();
        let mut b = sb.bundle(&["true"]);
        b.config["hooks"] = json!({ kind: [hook("echo hook-broke >&2; exit 3")] });
        let id = sb.new_id();
        let out = sb.create(&id, &b).err();
        sb.assert_nothing_left(&id, &out);
    }
}

/// runtime.md "Lifecycle" 3 + 12-13: after a failed create hook the
/// container is destroyed and the poststop hooks MUST still be invoked.
#[test]
fn failing_create_hook_runs_poststop() {
    if skip_on_runc("runc 1.1.5 does not run poststop hooks when create fails") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let d = sb.shared_dir(&mut b);
    b.config["hooks"] = json!({
        "createRuntime": [hook("exit 1")],
        "poststop": [hook(&format!("touch {}/poststop-ran", d.display()))]
    });
    let id = sb.new_id();
    let out = sb.create(&id, &b).err();
    assert!(d.join("poststop-ran").exists(), "poststop did not run");
    sb.assert_nothing_left(&id, &out);
}

/// Bundle whose startContainer hook fails; the program would touch
/// `<d>/program-ran`.
fn failing_start_container_bundle(sb: &Sandbox) -> (Bundle, PathBuf) {
    let mut b = sb.bundle(&[]);
    let d = sb.shared_dir(&mut b);
    b.set_args(&["sh", "-c", &format!("touch {}/program-ran", d.display())]);
    b.config["hooks"] = json!({ "startContainer": [hook("exit 1")] });
    (b, d)
}

/// runtime.md "Lifecycle" 7: if a startContainer hook fails, the container
/// MUST be stopped and the user program never runs.
#[test]
fn failing_start_container_hook_prevents_program() {
    let sb = Sandbox::new();
    let (b, d) = failing_start_container_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    let _ = sb.start(&id);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !d.join("program-ran").exists(),
        "user program ran despite the failed hook"
    );
    let st = sb.state(&id);
    if st.success() {
        let v: Value = serde_json::from_str(&st.stdout).unwrap();
        assert_eq!(v["status"], "stopped", "container must be stopped: {v}");
    }
}

/// runtime.md "Lifecycle" 7: if a startContainer hook fails, `start` MUST
/// generate an error.
#[test]
fn failing_start_container_hook_fails_start() {
    if skip_on_runc("runc 1.1.5 `start` succeeds; the hook fails later inside runc init") {
        return;
    }
    let sb = Sandbox::new();
    let (b, _) = failing_start_container_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).err();
}

/// runtime.md "Lifecycle" 9: if a poststart hook fails, `start` MUST
/// generate an error and the container MUST be stopped.
#[test]
fn failing_poststart_hook_stops_container() {
    if skip_on_runc("runc 1.1.5 runs poststart during create, so create fails instead (runc#1710)")
    {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "30"]);
    b.config["hooks"] = json!({ "poststart": [hook("exit 1")] });
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    sb.start(&id).err();
    assert!(
        wait_until(T, || !pid_alive(pid)),
        "container process must be stopped"
    );
}

/// config.md "Poststop" / runtime.md "Warnings": a failing poststop hook is
/// only a warning; delete still succeeds and removes the container.
#[test]
fn failing_poststop_hook_does_not_fail_delete() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.config["hooks"] = json!({ "poststop": [hook("exit 1")] });
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    assert!(!sb.state_entry_exists(&id));
    sb.state(&id).err();
}

/// runtime.md "Lifecycle" 13: after a failing poststop hook, the remaining
/// hooks MUST still run.
#[test]
fn failing_poststop_hook_remaining_hooks_run() {
    if skip_on_runc("runc 1.1.5 stops at the first failing poststop hook (runc#1765)") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let d = sb.shared_dir(&mut b);
    b.config["hooks"] =
        json!({ "poststop": [hook("exit 1"), hook(&format!("touch {}/second", d.display()))] });
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    assert!(
        d.join("second").exists(),
        "remaining poststop hooks MUST still run"
    );
}

/// config.md "Hooks" `timeout`: a hook exceeding it is aborted and the
/// operation fails (well before the hook would have finished).
#[test]
fn hook_timeout() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let mut h = hook("sleep 30");
    h["timeout"] = json!(1);
    b.config["hooks"] = json!({ "createRuntime": [h] });
    let id = sb.new_id();
    let t0 = Instant::now();
    let out = sb.create(&id, &b).err();
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "timeout not enforced ({:?})",
        t0.elapsed()
    );
    sb.assert_nothing_left(&id, &out);
}
