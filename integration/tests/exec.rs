//! runc CLI `exec` (runc 1.1 semantics; the runtime spec does not define
//! exec): a new process in an existing container, in the init's namespaces
//! and cgroup, with the container's process settings changed by the flags,
//! or a whole `--process` file. Clients depend on it: containerd-shim and
//! conmon run `exec --process FILE --detach --pid-file FILE`, Kubernetes
//! probes and `docker exec` go through them.

use integration::*;
use serde_json::json;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

/// A started container whose init sleeps; returns its id and init pid.
fn running(sb: &Sandbox, b: &Bundle) -> (String, i32) {
    let (id, _) = sb.create_ok(b);
    sb.start(&id).ok();
    let pid = sb.pid_of(&id);
    (id, pid)
}

fn sleeper(sb: &Sandbox) -> (String, i32) {
    running(sb, &sb.bundle(&["sleep", "1000"]))
}

/// `exec [FLAGS...] ID ARGS...`
fn exec(sb: &Sandbox, flags: &[&str], id: &str, args: &[&str]) -> Output {
    sb.cmd(&["exec"]).args(flags).arg(id).args(args).run()
}

/// `exec --detach --pid-file F [FLAGS...] ID ARGS...`: the process's host pid.
fn exec_detached(sb: &Sandbox, flags: &[&str], id: &str, args: &[&str]) -> i32 {
    static N: AtomicUsize = AtomicUsize::new(0);
    let pid_file = sb
        .dir
        .join(format!("exec-{}.pid", N.fetch_add(1, Ordering::Relaxed)));
    let out = sb
        .cmd(&["exec", "--detach", "--pid-file"])
        .arg(&pid_file)
        .args(flags)
        .arg(id)
        .args(args)
        .run()
        .ok();
    let text = read(&pid_file);
    let pid: i32 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid file holds {text:?}: {out}"));
    sb.track_pid(pid);
    pid
}

fn status_of(pid: i32) -> String {
    read(format!("/proc/{pid}/status"))
}

/// `exec` in the foreground, asserting success: its stdout.
fn exec_out(sb: &Sandbox, flags: &[&str], id: &str, args: &[&str]) -> String {
    exec(sb, flags, id, args).ok().stdout
}

/// A hex mask (CapEff, ...) from a /proc status dump.
fn hex_field(status: &str, key: &str) -> u64 {
    let v = status_field(status, key).unwrap_or_else(|| panic!("{key} missing in {status}"));
    u64::from_str_radix(&v, 16).unwrap()
}

/// The numbers of a /proc status line (Uid, Gid, Groups).
fn id_field(status: &str, key: &str) -> Vec<u32> {
    let v = status_field(status, key).unwrap_or_else(|| panic!("{key} missing in {status}"));
    v.split_whitespace().map(|n| n.parse().unwrap()).collect()
}

/// A `--process` file holding `process`.
fn write_process(sb: &Sandbox, process: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let file = sb.dir.join(format!(
        "process-{}.json",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::write(&file, process).unwrap();
    file.to_string_lossy().into_owned()
}

/// runc `exec`: the process's stdout and stderr are the caller's, and in the
/// foreground the runtime exits with the process's exit code.
#[test]
fn output_and_exit_code() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let out = exec(
        &sb,
        &[],
        &id,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    assert_eq!(out.code, 3, "{out}");
    assert_eq!(out.stdout, "out\n");
    assert!(out.stderr.contains("err"), "{out}");
    assert_eq!(exec(&sb, &[], &id, &["true"]).code, 0);
}

/// runc `exec`: the process starts with no signal blocked and SIGPIPE at
/// its default action (`yes | head -1` must end `yes` by SIGPIPE).
#[test]
fn signals_start_unblocked_and_sigpipe_default() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let status = exec_out(&sb, &[], &id, &["cat", "/proc/self/status"]);
    assert_eq!(hex_field(&status, "SigBlk"), 0);
    assert_eq!(
        hex_field(&status, "SigIgn") & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE ignored"
    );
}

/// runc `exec` in the foreground: a process killed by signal N gives 128+N.
#[test]
fn killed_process_gives_128_plus_signal() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let out = exec(&sb, &[], &id, &["sh", "-c", "kill -9 $$"]);
    assert_eq!(out.code, 137, "{out}");
}

/// runc 1.1 `exec` refuses only stopped and paused containers: a `created`
/// one takes the process (its init still waits for `start`).
#[test]
fn exec_into_created_container() {
    let sb = Sandbox::new();
    let (id, _) = sb.create_ok(&sb.bundle(&["sleep", "1000"]));
    let out = exec(&sb, &[], &id, &["echo", "in-created"]).ok();
    assert_eq!(out.stdout, "in-created\n");
    assert_eq!(sb.status(&id), "created");
}

/// runc `exec` of a stopped container fails ("cannot exec in a stopped
/// container") and leaves the container as it was.
#[test]
fn exec_into_stopped_container_fails() {
    let sb = Sandbox::new();
    let (id, _) = sb.create_ok(&sb.bundle(&["true"]));
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    exec(&sb, &[], &id, &["true"]).err_mentions(&["stopped"]);
    assert_eq!(sb.status(&id), "stopped");
    sb.delete(&id).ok();
}

/// runc `exec` of an unknown id fails.
#[test]
fn exec_unknown_container_fails() {
    let sb = Sandbox::new();
    let id = sb.new_id();
    exec(&sb, &[], &id, &["true"]).err_mentions(&["not exist", "does not exist"]);
}

/// runc `exec` refuses a paused container unless --ignore-paused; with it
/// the process runs once the container is resumed.
#[test]
fn paused_container_needs_ignore_paused() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    sb.cmd(&["pause", &id]).run().ok();
    exec(&sb, &[], &id, &["true"]).err_mentions(&["paused"]);
    let out = std::thread::scope(|s| {
        let waiter = s.spawn(|| exec(&sb, &["--ignore-paused"], &id, &["echo", "thawed"]));
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            !waiter.is_finished(),
            "the process must stay frozen until resume"
        );
        sb.cmd(&["resume", &id]).run().ok();
        waiter.join().unwrap()
    });
    assert_eq!(out.ok().stdout, "thawed\n");
}

/// runc `exec`: a command that does not exist fails with Go's wording, which
/// containerd/docker/podman turn into exit code 127; the container keeps
/// running. runc's own exit code for a failed exec is 255.
#[test]
fn missing_executable_is_reported_with_runc_wording() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let out = exec(&sb, &[], &id, &["nosuch"]).err_mentions(&["executable file not found"]);
    assert_eq!(out.code, 255, "{out}");
    exec(&sb, &[], &id, &["/no/such/binary"]).err_mentions(&["no such file or directory"]);
    assert_eq!(sb.status(&id), "running");
    assert!(
        sb.stray_processes().is_empty(),
        "{:?}",
        sb.stray_processes()
    );
}

/// runc `exec` without a command and without --process fails ("process args
/// cannot be empty").
#[test]
fn exec_needs_a_command() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    exec(&sb, &[], &id, &[]).err_mentions(&["args"]);
}

/// runc `exec --env K=V`: appended to the container's env, replacing a
/// variable the config sets; the rest of the config's env is inherited and
/// nothing of the runtime's own environment leaks in.
#[test]
fn env_flag_appends_and_overrides() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let out = exec(
        &sb,
        &["-e", "FOO=bar baz", "-e", "TERM=dumb"],
        &id,
        &["env"],
    )
    .ok();
    let lines = out.lines();
    assert!(lines.contains(&"FOO=bar baz".to_string()), "{out}");
    assert!(lines.contains(&DEFAULT_PATH.to_string()), "{out}");
    let terms: Vec<_> = lines.iter().filter(|l| l.starts_with("TERM=")).collect();
    assert_eq!(terms, ["TERM=dumb"], "{out}");
    assert!(
        !out.stdout.contains(TAG_VAR),
        "runtime environment leaked: {out}"
    );
    exec(&sb, &["-e", "NOEQUALS"], &id, &["true"]).err();
}

/// runc `exec --cwd`: the working directory (an absolute path in the container).
#[test]
fn cwd_flag() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "1000"]);
    b.mkdir("/srv/work");
    let (id, _) = running(&sb, &b);
    assert_eq!(
        exec(&sb, &["--cwd", "/srv/work"], &id, &["pwd"])
            .ok()
            .stdout,
        "/srv/work\n"
    );
    exec(&sb, &["--cwd", "/no/such/dir"], &id, &["pwd"]).err();
    exec(&sb, &["--cwd", "relative"], &id, &["pwd"]).err();
}

/// runc `exec --user UID:GID` and `--additional-gids`: the ids the process
/// runs with; a user that is not a number is an error.
#[test]
fn user_and_additional_gids() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let out = exec_out(
        &sb,
        &["--user", "1000:1000"],
        &id,
        &["sh", "-c", "id -u; id -g"],
    );
    assert_eq!(out, "1000\n1000\n");
    let flags = ["-u", "1000:1001", "-g", "5", "-g", "2000"];
    let status = exec_out(&sb, &flags, &id, &["cat", "/proc/self/status"]);
    assert_eq!(id_field(&status, "Uid"), [1000; 4]);
    assert_eq!(id_field(&status, "Gid"), [1001; 4]);
    let mut groups = id_field(&status, "Groups");
    groups.sort();
    assert_eq!(groups, [5, 2000]);
    exec(&sb, &["--user", "nobody"], &id, &["true"]).err();
}

/// runc 1.1.5 `exec --cap`: the capability is added to the bounding,
/// effective and permitted sets (not inheritable or ambient), on top of the
/// container's.
#[test]
fn cap_flag_adds_a_capability() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let status = exec_out(
        &sb,
        &["--cap", "CAP_SYS_ADMIN"],
        &id,
        &["cat", "/proc/self/status"],
    );
    let mut want: Vec<&str> = DEFAULT_CAPS.to_vec();
    want.push("CAP_SYS_ADMIN");
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(hex_field(&status, key), cap_mask(&want), "{key}");
    }
    assert_eq!(hex_field(&status, "CapInh"), 0);
    assert_eq!(hex_field(&status, "CapAmb"), 0);
    let plain = exec_out(&sb, &[], &id, &["cat", "/proc/self/status"]);
    assert_eq!(
        hex_field(&plain, "CapEff"),
        cap_mask(DEFAULT_CAPS),
        "without --cap: the config's set"
    );
}

/// runc `exec`: the config's rlimits and noNewPrivileges apply to the
/// exec'd process too (`--no-new-privs` can only add it).
#[test]
fn config_rlimits_and_no_new_privs_apply() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "1000"]);
    b.process()["rlimits"] = json!([{ "type": "RLIMIT_NOFILE", "hard": 333, "soft": 222 }]);
    b.process()["noNewPrivileges"] = json!(false);
    let (id, _) = running(&sb, &b);
    let script = "ulimit -n; ulimit -Hn; cat /proc/self/status";
    let out = exec_out(&sb, &[], &id, &["sh", "-c", script]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "333", "hard limit");
    if !skip_on_runc(
        "runc 1.1.5 sometimes leaves RLIMIT_NOFILE's soft limit at the hard one (Go raises it)",
    ) {
        assert_eq!(lines[0], "222", "soft limit");
    }
    assert_eq!(id_field(&out, "NoNewPrivs"), [0]);
    let status = exec_out(&sb, &["--no-new-privs"], &id, &["cat", "/proc/self/status"]);
    assert_eq!(id_field(&status, "NoNewPrivs"), [1]);
}

/// runc `exec`: the container's seccomp profile filters the exec'd process.
#[test]
fn container_seccomp_profile_applies() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "1000"]);
    b.linux()["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 }]
    });
    let (id, _) = running(&sb, &b);
    let out = exec(
        &sb,
        &[],
        &id,
        &[
            "sh",
            "-c",
            "grep '^Seccomp:' /proc/self/status; mkdir /tmp/x",
        ],
    );
    assert_ne!(out.code, 0, "mkdir must be denied: {out}");
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");
    assert!(
        out.stderr.to_lowercase().contains("permission denied"),
        "{out}"
    );
}

/// runc `exec`: the process joins every namespace of the container's init
/// and its cgroup (compared on the host through /proc).
#[test]
fn joins_the_init_namespaces_and_cgroup() {
    let sb = Sandbox::new();
    let (id, init) = sleeper(&sb);
    let pid = exec_detached(&sb, &[], &id, &["sleep", "100"]);
    for ns in ["ipc", "uts", "net", "pid", "mnt", "cgroup", "user"] {
        assert_eq!(
            ns_of(&pid.to_string(), ns),
            ns_of(&init.to_string(), ns),
            "{ns} namespace"
        );
    }
    assert_eq!(
        read(format!("/proc/{pid}/cgroup")),
        read(format!("/proc/{init}/cgroup"))
    );
    assert_eq!(
        read(format!("/proc/{pid}/root/etc/passwd")),
        read(format!("/proc/{init}/root/etc/passwd"))
    );
    // Inside: the init is pid 1 of the same pid namespace, and cgroup paths match.
    let out = exec(&sb, &[], &id, &["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; [ \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" ] && echo same-cgroup"]).ok();
    assert_eq!(out.lines(), ["sleep 1000", "same-cgroup"]);
}

/// runc `exec --detach --pid-file`: returns once the process runs, with its
/// host pid in the file; no runtime process stays behind as its parent
/// (containerd-shim and conmon reap it as subreapers).
#[test]
fn detach_writes_pid_file_and_leaves_no_runtime_behind() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let pid = exec_detached(&sb, &[], &id, &["sleep", "100"]);
    assert!(pid_alive(pid), "the exec'd process must run");
    let cmdline = || read(format!("/proc/{pid}/cmdline"));
    if skip_on_runc("runc 1.1.5 writes the pid file before the process has exec'd") {
        wait_until(T, || cmdline() == "sleep\x00100\x00");
    }
    assert_eq!(
        cmdline(),
        "sleep\x00100\x00",
        "exec'd by the time the pid file exists"
    );
    let parent = proc_ppid(pid).unwrap();
    let rt = fs::canonicalize(runtime_path()).unwrap();
    assert_ne!(
        fs::read_link(format!("/proc/{parent}/exe")).ok(),
        Some(rt),
        "a runtime process is its parent"
    );
}

/// runc `exec --process FILE`: the whole process comes from the file (an OCI
/// `process` object); what it leaves out is not taken from the config,
/// except the capabilities.
#[test]
fn process_file() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "1000"]);
    b.mkdir("/work");
    let (id, _) = running(&sb, &b);
    let file = write_process(
        &sb,
        &json!({
            "args": ["sh", "-c", "echo $FOO; pwd; id -u"],
            "env": ["PATH=/bin", "FOO=from-file"],
            "cwd": "/work",
            "user": { "uid": 1000, "gid": 1000 }
        })
        .to_string(),
    );
    let out = exec_out(&sb, &["--process", &file], &id, &[]);
    assert_eq!(out, "from-file\n/work\n1000\n");
    // A long-running process from a file, so its /proc entry is still there to read.
    let file = write_process(
        &sb,
        &json!({
            "args": ["sleep", "100"],
            "env": ["PATH=/bin"],
            "cwd": "/work",
            "user": { "uid": 1000, "gid": 1000 }
        })
        .to_string(),
    );
    let pid = exec_detached(&sb, &["--process", &file], &id, &[]);
    // The container's capabilities (the file has none), which a non-root user drops at exec.
    assert_eq!(hex_field(&status_of(pid), "CapBnd"), cap_mask(DEFAULT_CAPS));
    assert_eq!(hex_field(&status_of(pid), "CapEff"), 0);
}

/// `exec --process FILE`: a field of the wrong type is an error naming its
/// JSON path, and nothing runs.
#[test]
fn bad_process_file_names_the_field() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let file = write_process(
        &sb,
        r#"{"args":["true"],"cwd":"/","user":{"uid":"x","gid":0}}"#,
    );
    exec(&sb, &["--process", &file], &id, &[]).err_mentions(&["uid"]);
    let file = write_process(&sb, "{not json");
    exec(&sb, &["--process", &file], &id, &[]).err();
}

/// husk: with --process the command comes from the file; arguments after
/// the id would be ignored by runc 1.1 and are refused instead.
#[test]
fn process_file_with_command_args_is_refused() {
    if skip_on_runc("runc 1.1.5 silently ignores the command when --process is given") {
        return;
    }
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let file = write_process(
        &sb,
        r#"{"args":["true"],"cwd":"/","user":{"uid":0,"gid":0}}"#,
    );
    exec(&sb, &["--process", &file], &id, &["echo"]).err_mentions(&["process"]);
}

/// runtime-linux.md "File descriptors" / runc `--preserve-fds N`: fds
/// 3..3+N reach the process; every other descriptor the runtime was given,
/// and every one of its own, is closed (looked at from the host, so the
/// shell's own descriptors do not get in the way).
#[test]
fn preserve_fds_and_closed_fds() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let data = sb.dir.join("data");
    fs::write(&data, "preserved\n").unwrap();
    let out = sb
        .cmd(&["exec", "--preserve-fds", "1", &id, "sh", "-c", "cat <&3"])
        .fd(3, open_read(&data))
        .run()
        .ok();
    assert_eq!(out.stdout, "preserved\n");
    let fds_of = |preserve: &str| {
        let pid_file = sb.dir.join(format!("fds-{preserve}.pid"));
        sb.cmd(&["exec", "--detach", "--preserve-fds", preserve, "--pid-file"])
            .arg(&pid_file)
            .args(&[&id, "sleep", "100"])
            .fd(3, open_read(&data))
            .fd(4, open_read(&data))
            .fd(7, open_read(&data))
            .run()
            .ok();
        let pid: i32 = read(&pid_file).trim().parse().unwrap();
        sb.track_pid(pid);
        let mut fds: Vec<(i32, String)> = fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .map(|e| {
                let fd = e.file_name().to_string_lossy().parse().unwrap();
                (
                    fd,
                    fs::read_link(e.path())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                )
            })
            .collect();
        fds.sort();
        fds
    };
    let fds = fds_of("2");
    let numbers: Vec<i32> = fds.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4], "{fds:?}");
    assert_eq!(fds[3].1, data.to_string_lossy());
    let numbers: Vec<i32> = fds_of("0").iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2], "only stdio may be open");
}

/// runc `exec -t --detach` needs --console-socket ("cannot allocate tty if
/// runc will detach without setting console socket").
#[test]
fn detached_tty_needs_console_socket() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    exec(&sb, &["--tty", "--detach"], &id, &["true"]).err_mentions(&["console"]);
    // And a console socket needs a tty.
    let sock = sb.dir.join("unused.sock");
    let _l = UnixListener::bind(&sock).unwrap();
    exec(
        &sb,
        &["--detach", "--console-socket", sock.to_str().unwrap()],
        &id,
        &["true"],
    )
    .err_mentions(&["console"]);
}

/// runc `exec -t --detach --console-socket S` (how conmon and containerd-shim
/// run `exec -t`): the pty master goes to S; the process has the slave as
/// its stdio and controlling terminal.
#[test]
fn tty_goes_to_console_socket() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let sock = sb.dir.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let script = "tty; test -t 0 && test -t 1 && echo both-ttys; sleep 1";
    exec_detached(
        &sb,
        &["--tty", "--console-socket", sock.to_str().unwrap()],
        &id,
        &["sh", "-c", script],
    );
    let master = receive_fd(&listener);
    let text = read_until(&master, "both-ttys", T);
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(text.contains("both-ttys\r\n"), "{text:?}");
}

/// runc `exec -t` in the foreground relays the pty through the runtime's
/// own stdio (CRLF line endings from the pty), and exits with the code.
#[test]
fn foreground_tty_is_relayed() {
    if skip_on_runc(
        "runc 1.1.5 opens /dev/tty for a foreground tty and fails without a controlling terminal",
    ) {
        return;
    }
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let out = exec(
        &sb,
        &["-t"],
        &id,
        &[
            "sh",
            "-c",
            "tty; test -t 0 && test -t 1 && echo both-ttys; exit 4",
        ],
    );
    assert_eq!(out.code, 4, "{out}");
    assert!(out.stdout.contains("/dev/pts/"), "{out}");
    assert!(out.stdout.contains("both-ttys\r\n"), "{out}");
}

/// runc `exec` in the foreground forwards the signals it receives to the
/// process.
#[test]
fn foreground_exec_forwards_signals() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let mut child = Command::new(runtime_path())
        .arg("--root")
        .arg(&sb.root)
        .args([
            "exec",
            &id,
            "sh",
            "-c",
            "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + T;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("exec did not end after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(lines.next().unwrap().unwrap(), "got-term");
    assert_eq!(status.code(), Some(9));
}

/// runc `exec --cgroup CONTROLLER:PATH` (v1) / `--cgroup PATH` (v2, one
/// hierarchy): the process runs in that sub-cgroup of the container's cgroup
/// (runc 1.1.5 needs it to exist: made here).
#[test]
fn cgroup_flag_joins_a_sub_cgroup() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let (prefix, flag, marker) = if v2 {
        ("/sys/fs/cgroup", "sub", "0::")
    } else {
        ("/sys/fs/cgroup/pids", "pids:sub", ":pids:")
    };
    let dir = cgroup_dirs_for(&id)
        .into_iter()
        .filter(|d| d.starts_with(prefix))
        .min_by_key(|d| d.components().count())
        .expect("the container has a cgroup");
    fs::create_dir(dir.join("sub")).unwrap();
    let out = exec(&sb, &["--cgroup", flag], &id, &["cat", "/proc/self/cgroup"]).ok();
    let line = out
        .lines()
        .into_iter()
        .find(|l| l.contains(marker))
        .unwrap();
    assert_eq!(line.rsplit(':').next(), Some("/sub"), "{out}");
    // A controller that does not exist (v1), or any controller prefix (v2).
    exec(&sb, &["--cgroup", "nosuch:sub"], &id, &["true"]).err();
    exec(&sb, &["--cgroup", "../escape"], &id, &["true"]).err();
}

/// husk extension of runc's `--cgroup PATH`: a missing sub-cgroup is created
/// (in every hierarchy); `delete` removes it with the container's.
#[test]
fn cgroup_flag_creates_a_missing_sub_cgroup() {
    if skip_on_runc("runc 1.1.5 only joins existing sub-cgroups") {
        return;
    }
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    let out = exec(
        &sb,
        &["--cgroup", "made/here"],
        &id,
        &["cat", "/proc/self/cgroup"],
    )
    .ok();
    for line in out.lines() {
        assert!(line.ends_with(":/made/here"), "{line} in {out}");
    }
}

/// runc `exec` into a container with a user namespace: the process is in
/// it, as the mapped root by default.
#[test]
fn user_namespace_container() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "1000"]);
    b.set_namespace("user", None);
    b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    // A cgroup mount needs privileges the mapped root lacks on a v1 host.
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/sys/fs/cgroup");
    let (id, init) = running(&sb, &b);
    let out = exec(
        &sb,
        &[],
        &id,
        &["sh", "-c", "id -u; cat /proc/self/uid_map"],
    )
    .ok();
    let lines = out.lines();
    assert_eq!(lines[0], "0");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    let pid = exec_detached(&sb, &["--user", "1000:1000"], &id, &["sleep", "100"]);
    assert_eq!(
        ns_of(&pid.to_string(), "user"),
        ns_of(&init.to_string(), "user")
    );
    assert_eq!(
        id_field(&status_of(pid), "Uid")[0],
        101000,
        "uid 1000 in the container is 101000 on the host"
    );
}

/// husk: a container with a time namespace (runc 1.1.5 has none): the
/// exec'd process is in the init's.
#[test]
fn time_namespace_container() {
    if skip_on_runc("runc 1.1.5 does not support time namespaces") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "1000"]);
    b.set_namespace("time", None);
    let (id, init) = running(&sb, &b);
    let pid = exec_detached(&sb, &[], &id, &["sleep", "100"]);
    assert_eq!(
        ns_of(&pid.to_string(), "time"),
        ns_of(&init.to_string(), "time")
    );
    assert_ne!(ns_of(&pid.to_string(), "time"), ns_of("self", "time"));
}

/// runc `exec` into a container without its own pid namespace: the process
/// stays in the init's (the host's) and still joins its cgroup.
#[test]
fn container_without_pid_namespace() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "1000"]);
    b.remove_namespace("pid");
    let (id, init) = running(&sb, &b);
    let pid = exec_detached(&sb, &[], &id, &["sleep", "100"]);
    assert_eq!(
        ns_of(&pid.to_string(), "pid"),
        ns_of(&init.to_string(), "pid")
    );
    assert_eq!(
        read(format!("/proc/{pid}/cgroup")),
        read(format!("/proc/{init}/cgroup"))
    );
}

/// CVE-2019-5736 through exec (`docker exec` of a program that is a symlink
/// to /proc/self/exe): the runtime's binary must not run in the container,
/// even with the host's libraries there to start it.
#[test]
fn exec_of_proc_self_exe_does_not_reach_the_runtime_binary() {
    if skip_on_runc(
        "runc 1.1.5 executes its sealed memfd copy of itself there (not writable, but it runs)",
    ) {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["sleep", "1000"]);
    std::os::unix::fs::symlink("/proc/self/exe", b.rootfs().join("pwn")).unwrap();
    for (host, inside) in [("/usr/lib", "/lib"), ("/usr/lib64", "/lib64")] {
        b.mkdir(inside);
        b.add_mount(json!({ "destination": inside, "type": "bind", "source": host, "options": ["rbind", "ro"] }));
    }
    let (id, _) = running(&sb, &b);
    let out = exec(&sb, &[], &id, &["/pwn", "--version"]);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        !all.contains("version") && !all.contains("Usage"),
        "the runtime binary ran inside the container: {all}"
    );
    assert_ne!(out.code, 0, "the exec through /proc/self/exe must fail");
}

/// runc `exec --apparmor` / `--process-label` on a host without AppArmor
/// and SELinux: an error, never silently ignored.
#[test]
fn lsm_flags_are_refused() {
    let sb = Sandbox::new();
    let (id, _) = sleeper(&sb);
    exec(&sb, &["--apparmor", "unconfined"], &id, &["true"]).err();
    exec(
        &sb,
        &["--process-label", "system_u:system_r:container_t:s0"],
        &id,
        &["true"],
    )
    .err();
}

/// runc: a container created with `--no-new-keyring` keeps the caller's
/// session keyring, in its exec'd processes too; otherwise both the init and
/// exec'd processes share the container's own `_ses.<id>` keyring.
#[test]
fn exec_follows_the_containers_keyring_choice() {
    let sb = Sandbox::new();
    for no_new_keyring in [false, true] {
        let mut b = sb.bundle(&["sleep", "1000"]);
        // /proc/keys is masked by default; the test needs to read it.
        b.config["linux"]["maskedPaths"] = json!([]);
        let id = sb.new_id();
        b.save_for(Some(&id));
        let mut create = sb.cmd(&["create"]);
        if no_new_keyring {
            create = create.arg("--no-new-keyring");
        }
        create.arg("--bundle").arg(&b.dir).arg(&id).run().ok();
        sb.start(&id).ok();
        let keys = exec_out(&sb, &[], &id, &["cat", "/proc/keys"]);
        let named = keys.contains(&format!("_ses.{id}"));
        assert_eq!(
            named, !no_new_keyring,
            "--no-new-keyring={no_new_keyring}: {keys}"
        );
        sb.delete_force(&id).ok();
    }
}
