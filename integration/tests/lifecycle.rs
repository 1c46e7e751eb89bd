//! runtime.md "Lifecycle", "Create", "Start", "Delete" (and `run`).

use integration::*;
use serde_json::json;
use std::fs;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// A bundle whose process appends "started" to `<shared>/marker`, then
/// blocks until `<shared>/go` exists. Returns (bundle, shared dir).
fn blocking_bundle(sb: &Sandbox) -> (Bundle, std::path::PathBuf) {
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    let script = format!(
        "echo started >> {m}; {w}; echo finished >> {m}",
        m = shared.join("marker").display(),
        w = wait_file_sh(&shared.join("go"))
    );
    b.set_args(&["sh", "-c", &script]);
    (b, shared)
}

/// runtime.md "Create": upon success the status MUST be `created`, and
/// `process.args` MUST NOT be applied until `start`.
#[test]
fn create_does_not_run_user_program() {
    let sb = Sandbox::new();
    let (b, shared) = blocking_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    assert_eq!(sb.status(&id), "created");
    let pid = sb.pid_of(&id);
    assert!(
        pid > 0 && pid_alive(pid),
        "created container must have a live process (pid {pid})"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !shared.join("marker").exists(),
        "user program ran before start"
    );
}

/// runtime.md "Create": all properties of config.json except `process` MUST
/// be applied by `create` (observed from the host before `start`).
#[test]
fn create_applies_config_before_start() {
    let sb = Sandbox::new();
    let (mut b, _) = blocking_bundle(&sb);
    b.config["hostname"] = json!("created-host");
    b.linux()["sysctl"] = json!({ "net.ipv4.ip_forward": "1" });
    b.mkdir("/data");
    b.add_mount(json!({ "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"] }));
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id).to_string();
    let mi = read(format!("/proc/{pid}/mountinfo"));
    let data = mountinfo_entry(&mi, "/data")
        .unwrap_or_else(|| panic!("/data not mounted at create:\n{mi}"));
    assert_eq!(data.fstype, "tmpfs");
    assert!(mountinfo_entry(&mi, "/proc").is_some(), "{mi}");
    let nsenter = |flag: &str, cmd: &[&str]| {
        let o = std::process::Command::new("nsenter")
            .args(["-t", &pid, flag])
            .args(cmd)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(nsenter("-u", &["hostname"]), "created-host");
    assert_eq!(
        nsenter("-n", &["cat", "/proc/sys/net/ipv4/ip_forward"]),
        "1"
    );
    assert_eq!(sb.status(&id), "created");
}

/// runtime.md "Start": MUST run the user-specified program; afterwards the
/// status is `running`; when it exits the status MUST be `stopped`.
#[test]
fn start_runs_user_program_then_stopped() {
    let sb = Sandbox::new();
    let (b, shared) = blocking_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    assert_eq!(wait_for_file(&shared.join("marker"), T).trim(), "started");
    assert_eq!(sb.status(&id), "running");
    fs::write(shared.join("go"), "").unwrap();
    sb.wait_status(&id, "stopped", T);
    assert_eq!(read(shared.join("marker")), "started\nfinished\n");
}

/// runtime.md "Start": the program runs with the process's stdio, which
/// `create` received (no terminal): output reaches the caller's stdout.
#[test]
fn start_output_goes_to_create_stdio() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sh", "-c", "echo out-line; echo err-line >&2"]);
    let (id, create) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    assert_eq!(create.stdout_now().trim(), "out-line");
    assert!(
        create.stderr_now().contains("err-line"),
        "stderr: {}",
        create.stderr_now()
    );
}

/// runtime.md "Lifecycle" step 2 / "Create": any change to config.json after
/// create MUST NOT affect the container.
#[test]
fn config_changes_after_create_have_no_effect() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    let out = shared.join("out");
    b.set_args(&[
        "sh",
        "-c",
        &format!("echo original $(hostname) > {}", out.display()),
    ]);
    let (id, _) = sb.create_ok(&b);
    b.set_args(&["sh", "-c", &format!("echo modified > {}", out.display())]);
    b.config["hostname"] = "changed".into();
    b.save();
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    assert_eq!(read(&out).trim(), "original husk");
}

/// runtime.md "Start": starting a container that is not `created` (here:
/// running) MUST generate an error and MUST have no effect on it.
#[test]
fn start_twice_fails_without_effect() {
    let sb = Sandbox::new();
    let (b, shared) = blocking_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    wait_for_file(&shared.join("marker"), T);
    let pid = sb.pid_of(&id);
    sb.start(&id)
        .err_mentions(&["running", "not in created", "cannot start", "state"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sb.status(&id), "running");
    assert_eq!(sb.pid_of(&id), pid);
    assert_eq!(
        read(shared.join("marker")),
        "started\n",
        "program must not run twice"
    );
}

/// runtime.md "Start": starting a `stopped` container MUST generate an error.
#[test]
fn start_stopped_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    b.set_args(&[
        "sh",
        "-c",
        &format!("echo ran >> {}", shared.join("m").display()),
    ]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.start(&id)
        .err_mentions(&["stopped", "not in created", "cannot start", "state"]);
    assert_eq!(sb.status(&id), "stopped");
    assert_eq!(read(shared.join("m")), "ran\n");
}

/// runtime.md "Delete": deleting a stopped container MUST delete the
/// resources created by `create`; afterwards the container does not exist.
#[test]
fn delete_stopped_removes_everything() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    sb.state(&id)
        .err_mentions(&["does not exist", "not exist", "not found"]);
    assert!(
        !sb.state_entry_exists(&id),
        "state entry still under --root"
    );
    assert!(!pid_alive(pid), "container process {pid} still alive");
    assert!(
        cgroup_dirs_for(&id).is_empty(),
        "cgroups remain: {:?}",
        cgroup_dirs_for(&id)
    );
    let list = sb.cmd(&["list", "-q"]).run().ok();
    assert!(
        !list.lines().contains(&id),
        "deleted container still listed: {list}"
    );
}

/// runtime.md "Delete": deleting a container that is not stopped (running)
/// MUST generate an error and MUST have no effect on it.
#[test]
fn delete_running_without_force_fails() {
    let sb = Sandbox::new();
    let (b, shared) = blocking_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    wait_for_file(&shared.join("marker"), T);
    let pid = sb.pid_of(&id);
    sb.delete(&id)
        .err_mentions(&["running", "not stopped", "force"]);
    assert_eq!(sb.status(&id), "running");
    assert!(pid_alive(pid));
    assert!(sb.state_entry_exists(&id));
}

/// runtime.md "Delete": deleting a `created` (not stopped) container MUST
/// generate an error and MUST have no effect on it.
#[test]
fn delete_created_without_force_fails() {
    if skip_on_runc("runc 1.1.5 `delete` kills and removes a created container") {
        return;
    }
    let sb = Sandbox::new();
    let (b, _) = blocking_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    sb.delete(&id).err();
    assert_eq!(sb.status(&id), "created");
    assert!(pid_alive(pid));
}

/// runc CLI `delete --force`: kills and deletes a running container
/// (runtime.md "Delete": resources created by `create` MUST be removed).
#[test]
fn delete_force_running() {
    let sb = Sandbox::new();
    let (b, shared) = blocking_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    wait_for_file(&shared.join("marker"), T);
    let pid = sb.pid_of(&id);
    sb.delete_force(&id).ok();
    assert!(
        wait_until(T, || !pid_alive(pid)),
        "process {pid} survived delete --force"
    );
    sb.state(&id).err();
    assert!(!sb.state_entry_exists(&id));
    assert!(cgroup_dirs_for(&id).is_empty());
}

/// runc CLI `delete --force` also removes a `created` container.
#[test]
fn delete_force_created() {
    let sb = Sandbox::new();
    let (b, shared) = blocking_bundle(&sb);
    let (id, _) = sb.create_ok(&b);
    let pid = sb.pid_of(&id);
    sb.delete_force(&id).ok();
    assert!(wait_until(T, || !pid_alive(pid)));
    sb.state(&id).err();
    assert!(
        !shared.join("marker").exists(),
        "user program must never have run"
    );
}

/// runtime.md "Delete": resources associated with the container but not
/// created by it (a bind-mount source and its files) MUST NOT be deleted.
#[test]
fn delete_keeps_foreign_resources() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    fs::write(shared.join("keep"), "precious").unwrap();
    b.set_args(&["sh", "-c", &format!("cat {}/keep", shared.display())]);
    let (id, create) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.delete(&id).ok();
    assert_eq!(create.stdout_now(), "precious");
    assert_eq!(read(shared.join("keep")), "precious");
    assert!(
        b.rootfs().join("bin/busybox").exists(),
        "rootfs content must survive delete"
    );
    assert!(b.config_path().exists(), "config.json must survive delete");
}

/// runtime.md "Delete": once deleted, the ID MAY be reused (husk: it can).
#[test]
fn id_reusable_after_delete() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let (id, _) = sb.create_ok(&b);
    sb.delete_force(&id).ok();
    sb.create(&id, &b).ok();
    assert_eq!(sb.status(&id), "created");
}

/// runc CLI `run`: create + start in the foreground; its exit code is the
/// container process's exit code.
#[test]
fn run_propagates_exit_code() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sh", "-c", "echo hello; exit 7"]);
    let out = sb.run(&b);
    assert_eq!(out.code, 7, "{out}");
    assert_eq!(out.stdout.trim(), "hello");
}

/// runc CLI `run` removes the container once it exits (no --detach).
#[test]
fn run_foreground_deletes_container() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let id = sb.new_id();
    b.save();
    sb.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run().ok();
    sb.state(&id).err();
    assert!(!sb.state_entry_exists(&id));
}

/// runc CLI `run --detach`: returns while the container keeps running.
#[test]
fn run_detach() {
    let sb = Sandbox::new();
    let (b, shared) = blocking_bundle(&sb);
    let id = sb.new_id();
    b.save();
    sb.cmd(&["run", "--detach", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run()
        .ok();
    assert_eq!(wait_for_file(&shared.join("marker"), T).trim(), "started");
    assert_eq!(sb.status(&id), "running");
    fs::write(shared.join("go"), "").unwrap();
    sb.wait_status(&id, "stopped", T);
}

/// runc CLI `create --pid-file`: the file holds the container process pid
/// (the same pid `state` reports).
#[test]
fn create_pid_file() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let id = sb.new_id();
    let pidfile = sb.dir.join("ctr.pid");
    b.save();
    sb.cmd(&["create", "--pid-file"])
        .arg(&pidfile)
        .arg("--bundle")
        .arg(&b.dir)
        .arg(&id)
        .run()
        .ok();
    let pid: i32 = read(&pidfile)
        .trim()
        .parse()
        .expect("pid file must contain a number");
    assert_eq!(pid, sb.pid_of(&id));
    assert!(pid_alive(pid));
}

/// runc CLI `run --detach --pid-file`.
#[test]
fn run_detach_pid_file() {
    let sb = Sandbox::new();
    let (b, _) = blocking_bundle(&sb);
    let id = sb.new_id();
    let pidfile = sb.dir.join("ctr.pid");
    b.save();
    sb.cmd(&["run", "-d", "--pid-file"])
        .arg(&pidfile)
        .arg("-b")
        .arg(&b.dir)
        .arg(&id)
        .run()
        .ok();
    let pid: i32 = read(&pidfile)
        .trim()
        .parse()
        .expect("pid file must contain a number");
    assert_eq!(pid, sb.pid_of(&id));
    assert_eq!(
        fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap()
            .trim(),
        "sh"
    );
}

/// runc CLI: the bundle defaults to the current directory.
#[test]
fn create_bundle_defaults_to_cwd() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    b.save();
    let id = sb.new_id();
    sb.cmd(&["create", &id]).cwd(&b.dir).run().ok();
    let st = sb.state_json(&id);
    assert_eq!(
        st["bundle"],
        b.dir.canonicalize().unwrap().to_str().unwrap()
    );
}
