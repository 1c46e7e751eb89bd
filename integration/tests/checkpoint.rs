//! Issue 11: `checkpoint` and `restore` with CRIU (runc's commands and flags).
//!
//! Each test that needs CRIU first asks `criu check`: where CRIU cannot work
//! on this kernel (e.g. a vdso it cannot parse) the test says so and skips;
//! with `HUSK_REQUIRE_CRIU=1` (`make test-criu`, in the cgroup v2 VM) such a
//! skip is a failure instead. The error-path tests need no working CRIU.

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use integration::*;
use serde_json::json;

/// Whether CRIU works here; prints why a test skips.
fn criu_usable(test: &str) -> bool {
    let out = Command::new("criu").arg("check").output();
    let reason = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr).into_owned();
            let first = text
                .lines()
                .find(|l| l.contains("Error"))
                .unwrap_or(text.trim())
                .to_string();
            format!("`criu check` fails on this kernel: {first}")
        }
        Err(e) => format!("criu is not installed: {e}"),
    };
    if std::env::var("HUSK_REQUIRE_CRIU").as_deref() == Ok("1") {
        panic!("{test}: HUSK_REQUIRE_CRIU=1 but CRIU is unusable: {reason}");
    }
    eprintln!("skipped {test}: CRIU is unusable on this machine ({reason})");
    false
}

/// A bundle whose container appends an ever-growing counter to
/// `<shared>/log`, one line per 100 ms (the counter lives only in the
/// shell's memory). `prelude` runs first.
fn counter_bundle(sb: &Sandbox, prelude: &str, target: &str) -> (Bundle, PathBuf) {
    let mut b = sb.bundle(&["true"]);
    let shared = sb.shared_dir(&mut b);
    let script = format!(
        "{prelude} i=0; while true; do i=$((i+1)); echo $i >> {s}/log; {target} sleep 0.1; done",
        s = shared.display()
    );
    b.set_args(&["sh", "-c", &script]);
    (b, shared)
}

/// Runs the runtime with pipes as stdio, as runc's checkpoint tests and
/// conmon do: CRIU cannot dump a descriptor of a file on a host mount the
/// container does not have (the harness's output files, /dev/null), while
/// pipes are recorded in descriptors.json and handed back on restore. The
/// pipes are kept in the sandbox's lifetime (leaked on purpose, per test).
fn with_pipes(sb: &Sandbox, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    use std::io::Read;
    let mut child = Command::new(runtime_path())
        .arg("--root")
        .arg(&sb.root)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "runtime {args:?} timed out");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = child.stderr.take().unwrap();
    // Non-blocking: the container may hold the write end.
    set_nonblocking(err.as_raw_fd());
    let mut text = String::new();
    let _ = err.read_to_string(&mut text);
    std::mem::forget(err);
    std::mem::forget(child.stdin.take());
    std::mem::forget(child.stdout.take());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{args:?}: {status}: {text}"))
    }
}

fn run_detached(sb: &Sandbox, b: &Bundle, id: &str, extra: &[&str]) {
    b.save_for(Some(id));
    let mut args: Vec<&std::ffi::OsStr> = vec!["run".as_ref(), "-d".as_ref(), "--bundle".as_ref()];
    args.push(b.dir.as_os_str());
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(id.as_ref());
    with_pipes(sb, &args).unwrap();
    sb.track_pid(sb.pid_of(id));
}

fn lines(path: &Path) -> Vec<u64> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[track_caller]
fn wait_lines(path: &Path, at_least: usize) {
    let ok = wait_until(Duration::from_secs(20), || lines(path).len() >= at_least);
    assert!(
        ok,
        "{} has fewer than {at_least} lines: {:?}",
        path.display(),
        lines(path)
    );
}

/// The log must be 1, 2, 3, ... with no restart and no repeat.
#[track_caller]
fn assert_consecutive(path: &Path) {
    let l = lines(path);
    for (i, v) in l.iter().enumerate() {
        assert_eq!(*v, i as u64 + 1, "counter did not continue: {l:?}");
    }
}

fn checkpoint(sb: &Sandbox, id: &str, images: &Path, extra: &[&str]) -> Output {
    sb.cmd(&["checkpoint", "--image-path"])
        .arg(images)
        .args(extra)
        .arg(id)
        .timeout(Duration::from_secs(120))
        .run()
}

/// `restore -d`, with the harness's output files as stdio (for the error cases).
fn restore(sb: &Sandbox, b: &Bundle, id: &str, images: &Path, extra: &[&str]) -> Output {
    sb.track_id(id);
    b.save_for(Some(id));
    let out = sb
        .cmd(&["restore", "-d", "--image-path"])
        .arg(images)
        .arg("--bundle")
        .arg(&b.dir)
        .args(extra)
        .arg(id)
        .timeout(Duration::from_secs(120))
        .run();
    if out.success() {
        sb.track_pid(sb.pid_of(id));
    }
    out
}

/// `restore -d` with pipes as stdio (so the container can be checkpointed again); panics on failure.
#[track_caller]
fn restore_ok(sb: &Sandbox, b: &Bundle, id: &str, images: &Path, extra: &[&str]) {
    sb.track_id(id);
    b.save_for(Some(id));
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["restore".as_ref(), "-d".as_ref(), "--image-path".as_ref()];
    args.push(images.as_os_str());
    args.push("--bundle".as_ref());
    args.push(b.dir.as_os_str());
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(id.as_ref());
    with_pipes(sb, &args).unwrap();
    sb.track_pid(sb.pid_of(id));
}

/// Issue 11: checkpoint stops the container (then `delete` removes it, as
/// podman does); restore brings it back, also under a new id, and its
/// in-memory counter goes on from where it stopped; state, kill and delete
/// work on the restored one.
#[test]
fn counter_continues_after_restore_also_under_a_new_id() {
    if !criu_usable("counter_continues_after_restore_also_under_a_new_id") {
        return;
    }
    let sb = Sandbox::new();
    let (b, shared) = counter_bundle(&sb, "", "");
    let log = shared.join("log");
    let id = sb.new_id();
    run_detached(&sb, &b, &id, &[]);
    wait_lines(&log, 3);
    let images = sb.dir.join("images1");
    checkpoint(&sb, &id, &images, &[]).ok();
    assert_eq!(sb.status(&id), "stopped");
    sb.delete(&id).ok();
    let stopped_at = lines(&log).len();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        lines(&log).len(),
        stopped_at,
        "still counting after checkpoint"
    );
    assert!(images.join("descriptors.json").exists());

    restore_ok(&sb, &b, &id, &images, &[]);
    assert_eq!(sb.status(&id), "running");
    wait_lines(&log, stopped_at + 3);
    assert_consecutive(&log);

    // Again, restored as another container.
    let images2 = sb.dir.join("images2");
    checkpoint(&sb, &id, &images2, &[]).ok();
    sb.delete(&id).ok();
    let stopped_at = lines(&log).len();
    let id2 = sb.new_id();
    restore_ok(&sb, &b, &id2, &images2, &[]);
    assert_eq!(sb.status(&id2), "running");
    wait_lines(&log, stopped_at + 3);
    assert_consecutive(&log);
    let pid = sb.pid_of(&id2);
    assert!(pid > 0 && pid_alive(pid));
    sb.kill(&id2, "KILL").ok();
    sb.wait_status(&id2, "stopped", Duration::from_secs(10));
    sb.delete(&id2).ok();
    assert!(!sb.state_entry_exists(&id2));
}

/// runc `checkpoint --leave-running`: the container keeps running (same
/// init) and keeps counting; the images restore as a second container.
#[test]
fn leave_running_keeps_the_container() {
    if !criu_usable("leave_running_keeps_the_container") {
        return;
    }
    let sb = Sandbox::new();
    let (b, shared) = counter_bundle(&sb, "", "");
    let log = shared.join("log");
    let id = sb.new_id();
    run_detached(&sb, &b, &id, &[]);
    wait_lines(&log, 2);
    let pid = sb.pid_of(&id);
    checkpoint(&sb, &id, &sb.dir.join("img"), &["--leave-running"]).ok();
    assert_eq!(sb.status(&id), "running");
    assert_eq!(sb.pid_of(&id), pid);
    let n = lines(&log).len();
    wait_lines(&log, n + 3);
    sb.delete_force(&id).ok();
}

/// runc `--shell-job` with a terminal: checkpoint a container whose pty
/// master is outside it; restore hands a new master to --console-socket,
/// the program keeps counting and writes to the new terminal.
#[test]
fn tty_container_round_trip_with_shell_job() {
    if !criu_usable("tty_container_round_trip_with_shell_job") {
        return;
    }
    let sb = Sandbox::new();
    let (mut b, shared) = counter_bundle(&sb, "", "echo tick-$i;");
    b.process()["terminal"] = json!(true);
    let log = shared.join("log");
    let id = sb.new_id();
    let sock = sb.dir.join("console1.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let accept = std::thread::spawn(move || receive_fd(&listener));
    run_detached(&sb, &b, &id, &["--console-socket", sock.to_str().unwrap()]);
    let master = accept.join().unwrap();
    assert!(read_until(&master, "tick-", Duration::from_secs(10)).contains("tick-"));
    wait_lines(&log, 2);
    checkpoint(&sb, &id, &sb.dir.join("img"), &["--shell-job"]).ok();
    sb.delete(&id).ok();
    drop(master);

    let sock2 = sb.dir.join("console2.sock");
    let listener2 = UnixListener::bind(&sock2).unwrap();
    let accept2 = std::thread::spawn(move || receive_fd(&listener2));
    let n = lines(&log).len();
    restore_ok(
        &sb,
        &b,
        &id,
        &sb.dir.join("img"),
        &["--shell-job", "--console-socket", sock2.to_str().unwrap()],
    );
    let master2 = accept2.join().unwrap();
    let want = format!("tick-{}", n + 2);
    let seen = read_until(&master2, &want, Duration::from_secs(20));
    assert!(seen.contains(&want), "new terminal got {seen:?}");
    assert_consecutive(&log);
    sb.delete_force(&id).ok();
}

/// An open file survives with its offset: the container reads a file in
/// its rootfs line by line through fd 3 and logs each line; after the round
/// trip it goes on with the next line.
#[test]
fn open_file_keeps_its_offset() {
    if !criu_usable("open_file_keeps_its_offset") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let shared = sb.shared_dir(&mut b);
    let numbers: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    b.write_file("/numbers", &numbers);
    let script = format!(
        "exec 3</numbers; while read -r n <&3; do echo $n >> {}/log; sleep 0.1; done",
        shared.display()
    );
    b.set_args(&["sh", "-c", &script]);
    let log = shared.join("log");
    let id = sb.new_id();
    run_detached(&sb, &b, &id, &[]);
    wait_lines(&log, 3);
    let img = sb.dir.join("img");
    checkpoint(&sb, &id, &img, &[]).ok();
    sb.delete(&id).ok();
    let n = lines(&log).len();
    restore_ok(&sb, &b, &id, &img, &[]);
    wait_lines(&log, n + 3);
    assert_consecutive(&log);
    sb.delete_force(&id).ok();
}

/// A bundle that may bring up loopback in its network namespace.
fn net_bundle(sb: &Sandbox, script: &str) -> (Bundle, PathBuf) {
    let mut b = sb.bundle(&["true"]);
    let shared = sb.shared_dir(&mut b);
    let mut caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    caps.push("CAP_NET_ADMIN");
    for set in ["bounding", "effective", "permitted"] {
        b.process()["capabilities"][set] = json!(caps);
    }
    let script = script.replace("SHARED", shared.to_str().unwrap());
    b.set_args(&["sh", "-c", &format!("ip link set lo up; {script}")]);
    (b, shared)
}

/// A listening TCP socket on loopback survives: after restore, a client in
/// the container (exec) still gets the server's answer.
#[test]
fn listening_tcp_socket_survives() {
    if !criu_usable("listening_tcp_socket_survives") {
        return;
    }
    let sb = Sandbox::new();
    let (b, shared) = net_bundle(
        &sb,
        "while true; do echo pong | nc -l -p 7777; done & \
         touch SHARED/up; while true; do sleep 1; done",
    );
    let id = sb.new_id();
    run_detached(&sb, &b, &id, &[]);
    wait_for_file(&shared.join("up"), Duration::from_secs(10));
    let ask = |id: &str| {
        sb.cmd(&[
            "exec",
            id,
            "sh",
            "-c",
            "sleep 0.3; nc -w 3 127.0.0.1 7777 </dev/null",
        ])
        .run()
    };
    // Wait until the server listens, then check it answers before and after.
    assert!(wait_until(Duration::from_secs(10), || ask(&id)
        .stdout
        .contains("pong")));
    let img = sb.dir.join("img");
    checkpoint(&sb, &id, &img, &[]).ok();
    sb.delete(&id).ok();
    restore_ok(&sb, &b, &id, &img, &[]);
    let out = ask(&id);
    assert!(
        out.stdout.contains("pong"),
        "no answer after restore: {out}"
    );
    sb.delete_force(&id).ok();
}

/// runc `--tcp-established`: a connected pair on loopback inside the
/// container keeps streaming across the round trip.
#[test]
fn established_tcp_connection_survives_with_tcp_established() {
    if !criu_usable("established_tcp_connection_survives_with_tcp_established") {
        return;
    }
    let sb = Sandbox::new();
    let (b, shared) = net_bundle(
        &sb,
        "sleep 100000 | nc -l -p 7778 > SHARED/log & sleep 0.5; \
         i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done | nc 127.0.0.1 7778",
    );
    let log = shared.join("log");
    let id = sb.new_id();
    run_detached(&sb, &b, &id, &[]);
    wait_lines(&log, 3);
    let img = sb.dir.join("img");
    let refused = checkpoint(&sb, &id, &img, &["--leave-running"]);
    assert!(
        !refused.success(),
        "an established connection was dumped without --tcp-established"
    );
    checkpoint(&sb, &id, &img, &["--tcp-established"]).ok();
    sb.delete(&id).ok();
    let n = lines(&log).len();
    restore_ok(&sb, &b, &id, &img, &["--tcp-established"]);
    wait_lines(&log, n + 3);
    assert_consecutive(&log);
    sb.delete_force(&id).ok();
}

/// Restore from a missing image directory: a clear error naming it, and
/// no state, process or cgroup left behind. (No CRIU needed.)
#[test]
fn restore_from_missing_images_is_a_clear_error() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "100"]);
    let id = sb.new_id();
    let missing = sb.dir.join("no-such-images");
    let out = restore(&sb, &b, &id, &missing, &[]).err();
    assert!(
        out.stderr.contains("no-such-images") && out.stderr.contains("No such file"),
        "{out}"
    );
    sb.assert_nothing_left(&id, &out);
}

/// Restore from a directory that is not a good checkpoint (garbage
/// descriptors.json; then garbage images): a clear error, nothing left.
#[test]
fn restore_from_corrupt_images_is_a_clear_error() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "100"]);
    let img = sb.dir.join("img");
    fs::create_dir_all(&img).unwrap();
    fs::write(img.join("descriptors.json"), "{ not json").unwrap();
    let id = sb.new_id();
    let out = restore(&sb, &b, &id, &img, &[]).err();
    assert!(out.stderr.contains("corrupt"), "{out}");
    sb.assert_nothing_left(&id, &out);

    fs::write(
        img.join("descriptors.json"),
        r#"["/dev/null","/dev/null","/dev/null"]"#,
    )
    .unwrap();
    fs::write(img.join("inventory.img"), b"\x00garbage, not a CRIU image").unwrap();
    let id = sb.new_id();
    let out = restore(&sb, &b, &id, &img, &[]).err();
    assert!(out.stderr.contains("criu restore failed"), "{out}");
    sb.assert_nothing_left(&id, &out);
}

/// `features` says checkpointing works exactly when CRIU does.
#[test]
fn features_reports_checkpoint_only_when_criu_works() {
    let sb = Sandbox::new();
    let usable = Command::new("criu")
        .arg("check")
        .output()
        .is_ok_and(|o| o.status.success());
    let out = sb.cmd(&["features"]).run().ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["annotations"]["org.opencontainers.runc.checkpoint.enabled"],
        usable.to_string()
    );
}

/// Checkpoint of a container that is not running is refused.
#[test]
fn checkpoint_of_a_created_container_is_refused() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "100"]);
    let (id, _) = sb.create_ok(&b);
    let out = checkpoint(&sb, &id, &sb.dir.join("img"), &[]).err();
    assert!(out.stderr.contains("not running"), "{out}");
    sb.delete_force(&id).ok();
}

/// runc's init reopens stdio that is the host's /dev/null as the
/// container's own /dev/null (CRIU cannot dump a descriptor on a host mount
/// the container lacks): fd 0 (the runtime's stdin is /dev/null here) is the
/// same file as the container's /dev/null. No CRIU needed.
#[test]
fn host_dev_null_stdin_becomes_the_containers_own() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let out = sb.sh(
        &mut b,
        "stat -L -c %d:%i /proc/self/fd/0; stat -L -c %d:%i /dev/null",
    );
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l.len(), 2, "{out}");
    assert_eq!(l[0], l[1], "fd 0 is not the container's /dev/null: {out}");
}
