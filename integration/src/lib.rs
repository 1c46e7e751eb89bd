//! Helpers shared by the conformance tests.
//!
//! Every test builds a [`Sandbox`]: a private temp dir under `/tmp`, a private
//! runtime state dir (`--root`), unique container ids, and a `Drop` guard that
//! force-deletes every container the test created and then checks that the
//! runtime left nothing behind (state entries, processes, cgroups, mounts).
//!
//! Bundles are made from busybox-static and a default `config.json` that is
//! equivalent to `runc spec` (minus the terminal). Tests mutate
//! [`Bundle::config`] (a `serde_json::Value`) before the container is created.
//!
//! Environment:
//! * `RUNTIME`: the runtime binary (default `<workspace>/target/debug/husk`).
//!   Develop/validate with `RUNTIME=/usr/sbin/runc cargo test -p integration`.
//! * `HUSK_IT_RUNC_QUIRKS=1|0`: force/disable the runc detection used by
//!   [`skip_on_runc`] (tests where runc 1.1.5 deviates from the spec).
//! * `HUSK_IT_VERBOSE=1`: print every runtime invocation and its output.
//!
//! Must run as root. Container processes see `/proc/1` = the configured
//! process (pid namespace), so tests usually `run` a `sh -c` script and
//! check its stdout.

use serde_json::{json, Value};
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Where busybox-static lives on the host.
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked into every rootfs (all point at `/bin/busybox`).
pub const APPLETS: &[&str] = &[
    "sh", "echo", "cat", "ls", "id", "hostname", "ps", "sleep", "mount", "umount", "readlink",
    "stat", "grep", "test", "[", "true", "false", "env", "pwd", "touch", "mkdir", "rm", "cp",
    "mknod", "head", "tail", "tr", "cut", "wc", "sort", "uname", "kill", "ip", "ipcs", "df",
    "printf", "dd", "chmod", "ln", "sysctl", "nproc", "date", "seq", "awk", "sed", "which",
    "basename", "dirname", "yes", "timeout", "nsenter", "unshare",
];

/// Default timeout for one runtime invocation.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(15);

/// Set in the environment of every runtime invocation (value
/// `<sandbox>.<n>`) so processes it spawns can be traced back to a sandbox
/// (see [`Sandbox::sandbox_processes`]). It must never show up in a
/// container's or hook's environment.
pub const TAG_VAR: &str = "HUSK_IT_TAG";

static SANDBOX_COUNTER: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------
// Runtime binary
// ---------------------------------------------------------------------------

/// Path of the runtime under test: `$RUNTIME` or `<workspace>/target/debug/husk`.
pub fn runtime_path() -> PathBuf {
    if let Some(p) = std::env::var_os("RUNTIME") {
        if !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("debug")
        .join("husk")
}

/// True when the runtime under test is runc (detected from `--version`).
/// `HUSK_IT_RUNC_QUIRKS=1|0` overrides the detection.
pub fn runtime_is_runc() -> bool {
    static IS_RUNC: OnceLock<bool> = OnceLock::new();
    *IS_RUNC.get_or_init(|| {
        if let Ok(v) = std::env::var("HUSK_IT_RUNC_QUIRKS") {
            return v == "1";
        }
        let name = fs::canonicalize(runtime_path()).unwrap_or_else(|_| runtime_path());
        if name
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("husk"))
        {
            return false;
        }
        let out = Command::new(runtime_path()).arg("--version").output();
        match out {
            Ok(o) => {
                let s = String::from_utf8_lossy(&o.stdout).to_lowercase();
                s.starts_with("runc version") && !s.contains("husk")
            }
            Err(_) => false,
        }
    })
}

/// For tests where runc 1.1.5 is known to deviate from the spec: returns true
/// (and prints why) when the runtime under test is runc, so the test can
/// `return` early. husk must follow the spec, so these run for husk.
pub fn skip_on_runc(reason: &str) -> bool {
    if runtime_is_runc() {
        eprintln!("SKIP (runc deviates from the spec): {reason}");
        true
    } else {
        false
    }
}

/// Panics with a clear message unless we run as root.
pub fn require_root() {
    if unsafe { libc::geteuid() } != 0 {
        panic!(
            "the integration suite creates real containers and must run as root \
             (e.g. `sudo -E cargo test -p integration`)"
        );
    }
}

// ---------------------------------------------------------------------------
// Default config (equivalent to `runc spec`, terminal off)
// ---------------------------------------------------------------------------

/// The capabilities `runc spec` grants.
pub const DEFAULT_CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// The PATH every default config sets.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A config.json equivalent to `runc spec`, with `process.terminal` false,
/// the given `args`, and a cgroup namespace.
pub fn default_config(args: &[&str]) -> Value {
    let caps = json!(DEFAULT_CAPS);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": [DEFAULT_PATH, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps
            },
            "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "husk",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] },
            { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
              "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] }
        ],
        "linux": {
            "resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
            "namespaces": [
                { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// Builds a busybox rootfs at `rootfs`.
pub fn make_rootfs(rootfs: &Path) {
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    // A copy, not a hard link: a misbehaving runtime must not be able to
    // chown/chmod/overwrite the host's busybox through the rootfs.
    let bb = rootfs.join("bin/busybox");
    fs::copy(BUSYBOX, &bb)
        .unwrap_or_else(|e| panic!("copy {BUSYBOX}: {e} (install busybox-static)"));
    for a in APPLETS {
        symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
    )
    .unwrap();
}

// ---------------------------------------------------------------------------
// Bundle
// ---------------------------------------------------------------------------

/// An OCI bundle on disk: `dir/rootfs` plus `config` (written to
/// `dir/config.json` when the container is created, unless `write_config` is
/// false).
pub struct Bundle {
    pub dir: PathBuf,
    pub config: Value,
    pub write_config: bool,
}

impl Bundle {
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// The bundle's canonical absolute path, as `state` must report it.
    pub fn abs_dir(&self) -> String {
        fs::canonicalize(&self.dir)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// Writes `config` to `config.json` (no-op when `write_config` is false).
    pub fn save(&self) {
        self.save_for(None);
    }

    /// Writes `config.json` for container `id`: without a `cgroupsPath` of its
    /// own the container gets the absolute `/<id>`, so test cgroups sit at the
    /// top of each hierarchy (never below the runner's own cgroup, which on
    /// the CI machine belongs to the machine) and carry the id the leak check
    /// looks for.
    pub fn save_for(&self, id: Option<&str>) {
        if self.write_config {
            let mut config = self.config.clone();
            if let (Some(id), Some(linux)) = (id, config.get_mut("linux")) {
                if linux.get("cgroupsPath").is_none() && id.starts_with("husk-it-") {
                    linux["cgroupsPath"] = Value::from(format!("/{id}"));
                }
            }
            fs::write(
                self.config_path(),
                serde_json::to_vec_pretty(&config).unwrap(),
            )
            .unwrap();
        }
    }

    pub fn process(&mut self) -> &mut Value {
        &mut self.config["process"]
    }

    pub fn linux(&mut self) -> &mut Value {
        &mut self.config["linux"]
    }

    pub fn set_args(&mut self, args: &[&str]) {
        self.config["process"]["args"] = json!(args);
    }

    pub fn add_mount(&mut self, m: Value) {
        self.config["mounts"].as_array_mut().unwrap().push(m);
    }

    pub fn remove_namespace(&mut self, ty: &str) {
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != ty);
    }

    /// Adds (or replaces) a namespace entry, optionally joining `path`.
    pub fn set_namespace(&mut self, ty: &str, path: Option<&str>) {
        self.remove_namespace(ty);
        let mut ns = json!({ "type": ty });
        if let Some(p) = path {
            ns["path"] = json!(p);
        }
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(ns);
    }

    /// Creates a directory inside the rootfs (path as seen in the container).
    pub fn mkdir(&self, path: &str) -> PathBuf {
        let p = self.rootfs().join(path.trim_start_matches('/'));
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// Writes a file inside the rootfs (path as seen in the container).
    pub fn write_file(&self, path: &str, content: &str) -> PathBuf {
        let p = self.rootfs().join(path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        p
    }
}

// ---------------------------------------------------------------------------
// Output of one runtime invocation
// ---------------------------------------------------------------------------

/// Result of one runtime invocation. stdout/stderr were redirected to files
/// (the container inherits them on `create`/`run`), so they can be re-read
/// later with [`Output::stdout_now`] once the container has written more.
#[derive(Debug, Clone)]
pub struct Output {
    pub cmdline: String,
    /// Exit code; 128+N if killed by signal N; -1 on timeout.
    pub code: i32,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    /// Value of [`TAG_VAR`] given to this invocation.
    pub tag: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == 0 && !self.timed_out
    }

    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(self.success(), "runtime invocation failed: {self}");
        self
    }

    /// Asserts a non-zero exit (not a timeout) and returns self.
    #[track_caller]
    pub fn err(self) -> Self {
        assert!(!self.timed_out, "runtime invocation timed out: {self}");
        assert_ne!(
            self.code, 0,
            "runtime invocation unexpectedly succeeded: {self}"
        );
        self
    }

    /// Asserts the invocation failed and stderr mentions (case-insensitively)
    /// at least one of `needles`.
    #[track_caller]
    pub fn err_mentions(self, needles: &[&str]) -> Self {
        let s = self.err();
        let low = s.stderr.to_lowercase();
        assert!(
            needles.iter().any(|n| low.contains(&n.to_lowercase())),
            "expected stderr to mention one of {needles:?}: {s}"
        );
        s
    }

    /// Current content of the stdout file (the container may still be writing).
    pub fn stdout_now(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// Current content of the stderr file.
    pub fn stderr_now(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// stdout lines, trimmed.
    pub fn lines(&self) -> Vec<String> {
        self.stdout.lines().map(|l| l.trim().to_string()).collect()
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\n  $ {}\n  exit code: {}{}\n  stdout: {:?}\n  stderr: {:?}",
            self.cmdline,
            self.code,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.stdout,
            self.stderr
        )
    }
}

// ---------------------------------------------------------------------------
// Invocation builder
// ---------------------------------------------------------------------------

/// One runtime invocation: `RUNTIME --root <sandbox root> <args...>`.
pub struct Invocation<'a> {
    sb: &'a Sandbox,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    fds: Vec<(RawFd, File)>,
    timeout: Duration,
    with_root: bool,
    env: Vec<(String, String)>,
}

impl<'a> Invocation<'a> {
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, a: &[S]) -> Self {
        self.args.extend(a.iter().map(|s| s.as_ref().to_owned()));
        self
    }

    /// Working directory of the runtime process.
    pub fn cwd(mut self, p: impl AsRef<Path>) -> Self {
        self.cwd = Some(p.as_ref().to_owned());
        self
    }

    /// Passes `file` to the runtime as file descriptor `target`.
    pub fn fd(mut self, target: RawFd, file: File) -> Self {
        self.fds.push((target, file));
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Do not pass `--root` (for commands such as `spec`).
    pub fn without_root(mut self) -> Self {
        self.with_root = false;
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn run(self) -> Output {
        let n = self.sb.next();
        let io_dir = self.sb.dir.join("io");
        fs::create_dir_all(&io_dir).unwrap();
        let stdout_path = io_dir.join(format!("{n}.out"));
        let stderr_path = io_dir.join(format!("{n}.err"));
        let tag = format!("{}.{n}", self.sb.tag);

        let mut cmd = Command::new(runtime_path());
        if self.with_root {
            cmd.arg("--root").arg(&self.sb.root);
        }
        cmd.args(&self.args);
        let cmdline = format!(
            "{} {}",
            runtime_path().display(),
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        cmd.stdin(Stdio::null())
            .stdout(File::create(&stdout_path).unwrap())
            .stderr(File::create(&stderr_path).unwrap())
            .env(TAG_VAR, &tag);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(c) = &self.cwd {
            cmd.current_dir(c);
        }
        let pairs: Vec<(RawFd, RawFd)> =
            self.fds.iter().map(|(t, f)| (*t, f.as_raw_fd())).collect();
        if !pairs.is_empty() {
            // SAFETY: only async-signal-safe calls (dup2/fcntl) between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    for &(target, src) in &pairs {
                        if target == src {
                            let fl = libc::fcntl(src, libc::F_GETFD);
                            libc::fcntl(src, libc::F_SETFD, fl & !libc::FD_CLOEXEC);
                        } else if libc::dup2(src, target) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot execute runtime {}: {e}", runtime_path().display()));
        drop(self.fds);
        let deadline = Instant::now() + self.timeout;
        let mut timed_out = false;
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if Instant::now() > deadline {
                timed_out = true;
                let _ = child.kill(); // by pid: only the runtime process we spawned
                let _ = child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(5));
        };
        let code = match status {
            Some(st) => st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)),
            None => -1,
        };
        let out = Output {
            cmdline,
            code,
            timed_out,
            stdout: fs::read_to_string(&stdout_path).unwrap_or_default(),
            stderr: fs::read_to_string(&stderr_path).unwrap_or_default(),
            stdout_path,
            stderr_path,
            tag,
        };
        if std::env::var_os("HUSK_IT_VERBOSE").is_some() {
            eprintln!("{out}");
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Sandbox: one per test, cleans up on drop
// ---------------------------------------------------------------------------

/// Per-test environment and cleanup guard.
pub struct Sandbox {
    /// Private temp dir `/tmp/husk-it-<pid>-<n>`.
    pub dir: PathBuf,
    /// Runtime state dir passed as `--root`.
    pub root: PathBuf,
    tag: String,
    counter: AtomicUsize,
    ids: Mutex<Vec<String>>,
    pids: Mutex<Vec<(i32, u64)>>,
    netns: Mutex<Vec<String>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        require_root();
        let rt = runtime_path();
        assert!(
            rt.exists(),
            "runtime binary {} does not exist: build husk (`cargo build -p husk`) or set RUNTIME=/path/to/runtime",
            rt.display()
        );
        assert!(
            Path::new(BUSYBOX).exists(),
            "{BUSYBOX} is missing: install busybox-static"
        );
        let n = SANDBOX_COUNTER.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = PathBuf::from(format!("/tmp/husk-it-{pid}-{n:04}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Sandbox {
            root: dir.join("state"),
            dir,
            tag: format!("{pid}-{n:04}"),
            counter: AtomicUsize::new(0),
            ids: Mutex::new(Vec::new()),
            pids: Mutex::new(Vec::new()),
            netns: Mutex::new(Vec::new()),
        }
    }

    fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }

    /// A fresh container id, unique on this host (`husk-it-<pid>-<n>-<k>`).
    /// It is remembered so the guard force-deletes it.
    pub fn new_id(&self) -> String {
        let id = format!("husk-it-{}-{:04}", self.tag, self.next());
        self.track_id(&id);
        id
    }

    /// Remembers an id so the cleanup guard deletes it. Ids that are not a
    /// plain file name (tests feed "a/b", "..") are never tracked, so the
    /// guard cannot be tricked into touching paths outside `--root`.
    pub fn track_id(&self, id: &str) {
        if !is_plain_id(id) {
            return;
        }
        let mut ids = self.ids.lock().unwrap();
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }

    /// Remembers a container pid so the guard can make sure it is gone.
    pub fn track_pid(&self, pid: i32) {
        if let Some(st) = proc_starttime(pid) {
            let mut pids = self.pids.lock().unwrap();
            if !pids.contains(&(pid, st)) {
                pids.push((pid, st));
            }
        }
    }

    /// A new bundle directory with a busybox rootfs and the default config.
    pub fn bundle(&self, args: &[&str]) -> Bundle {
        let dir = self.dir.join(format!("bundle{}", self.next()));
        fs::create_dir_all(&dir).unwrap();
        make_rootfs(&dir.join("rootfs"));
        Bundle {
            dir,
            config: default_config(args),
            write_config: true,
        }
    }

    /// A host directory bind-mounted (rw) into the container at the *same*
    /// absolute path, so host, hooks and container can all use one path.
    pub fn shared_dir(&self, b: &mut Bundle) -> PathBuf {
        let p = self.dir.join(format!("shared{}", self.next()));
        fs::create_dir_all(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o777)).unwrap();
        b.mkdir(p.to_str().unwrap());
        b.add_mount(json!({
            "destination": p, "type": "bind", "source": p, "options": ["rbind", "rw"]
        }));
        p
    }

    /// Starts building a runtime invocation.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Invocation<'_> {
        Invocation {
            sb: self,
            args: args.iter().map(|s| s.as_ref().to_owned()).collect(),
            cwd: None,
            fds: Vec::new(),
            timeout: CMD_TIMEOUT,
            with_root: true,
            env: Vec::new(),
        }
    }

    /// Creates one container per case (a default `true` bundle changed by
    /// the case's function) and returns the names of the cases `create`
    /// accepted; for each refused one, asserts that nothing was left.
    #[track_caller]
    pub fn configs_create_accepts(&self, cases: &[ConfigCase]) -> Vec<&'static str> {
        let mut accepted = Vec::new();
        for (what, mutate) in cases {
            let mut b = self.bundle(&["true"]);
            mutate(&mut b);
            let id = self.new_id();
            let out = self.create(&id, &b);
            if out.success() {
                accepted.push(*what);
            } else {
                self.assert_nothing_left(&id, &out);
            }
        }
        accepted
    }

    /// `create --bundle <b> <id>` (writes config.json first).
    pub fn create(&self, id: &str, b: &Bundle) -> Output {
        self.track_id(id);
        b.save_for(Some(id));
        self.cmd(&["create", "--bundle"]).arg(&b.dir).arg(id).run()
    }

    /// Creates a container with a fresh id, asserting success; returns the id
    /// and the create output (its stdout/stderr files receive the
    /// container's stdio).
    #[track_caller]
    pub fn create_ok(&self, b: &Bundle) -> (String, Output) {
        let id = self.new_id();
        let out = self.create(&id, b).ok();
        let _ = self.pid_of(&id);
        (id, out)
    }

    pub fn start(&self, id: &str) -> Output {
        self.cmd(&["start", id]).run()
    }

    pub fn state(&self, id: &str) -> Output {
        self.cmd(&["state", id]).run()
    }

    /// Parsed `state` JSON (asserts success). Records the pid for cleanup.
    #[track_caller]
    pub fn state_json(&self, id: &str) -> Value {
        let out = self.state(id).ok();
        let v: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("state output is not JSON ({e}): {out}"));
        if let Some(pid) = v["pid"].as_i64() {
            if pid > 0 {
                self.track_pid(pid as i32);
            }
        }
        v
    }

    #[track_caller]
    pub fn status(&self, id: &str) -> String {
        self.state_json(id)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The container pid from `state`.
    #[track_caller]
    pub fn pid_of(&self, id: &str) -> i32 {
        self.state_json(id)["pid"]
            .as_i64()
            .expect("state has no pid") as i32
    }

    pub fn kill(&self, id: &str, sig: &str) -> Output {
        self.cmd(&["kill", id, sig]).run()
    }

    pub fn delete(&self, id: &str) -> Output {
        self.cmd(&["delete", id]).run()
    }

    pub fn delete_force(&self, id: &str) -> Output {
        self.cmd(&["delete", "--force", id]).run()
    }

    /// Foreground `run --bundle <b> <id>` with a fresh id; the container's
    /// stdout/stderr end up in the output; the exit code is the container's.
    pub fn run(&self, b: &Bundle) -> Output {
        let id = self.new_id();
        b.save_for(Some(&id));
        self.cmd(&["run", "--bundle"]).arg(&b.dir).arg(&id).run()
    }

    /// `run` and assert that the container exited 0; returns trimmed stdout.
    #[track_caller]
    pub fn run_ok(&self, b: &Bundle) -> String {
        self.run(b).ok().stdout.trim().to_string()
    }

    /// Runs `sh -c script` in a container made from `b` (its args are
    /// replaced), asserting success; returns trimmed stdout.
    #[track_caller]
    pub fn sh(&self, b: &mut Bundle, script: &str) -> String {
        b.set_args(&["sh", "-c", script]);
        self.run_ok(b)
    }

    /// Polls `state` until `status` matches, panicking after `timeout`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.status(id);
            if s == status {
                return;
            }
            if Instant::now() > deadline {
                panic!("container {id} did not reach status {status:?} within {timeout:?} (last: {s:?})");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// True if the runtime keeps a state entry for `id` under `--root`.
    pub fn state_entry_exists(&self, id: &str) -> bool {
        is_plain_id(id) && self.root.join(id).exists()
    }

    /// Live processes that belong to this sandbox: anything (but the test
    /// process itself) that carries one of our invocation tags in its
    /// environment, mentions the sandbox dir in its environment, has its
    /// cwd/root/an open fd under the sandbox dir (all runtime invocations get
    /// their stdio from files there), or sits in a cgroup named after one of
    /// our container ids.
    pub fn sandbox_processes(&self) -> Vec<i32> {
        let tag = format!("{TAG_VAR}={}.", self.tag);
        let dir = self.dir.to_string_lossy().into_owned();
        let id_prefix = format!("husk-it-{}-", self.tag);
        let me = std::process::id() as i32;
        // A sibling test thread's child between fork and exec is a copy of this
        // test binary holding our open files: not a leftover of the runtime.
        let my_exe = fs::read_link("/proc/self/exe").ok();
        let under = |l: &Path| {
            let l = l.to_string_lossy();
            l == dir || l.starts_with(&format!("{dir}/"))
        };
        let mut found = Vec::new();
        let Ok(rd) = fs::read_dir("/proc") else {
            return found;
        };
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if pid == me || !pid_alive(pid) {
                continue;
            }
            if my_exe.is_some() && fs::read_link(format!("/proc/{pid}/exe")).ok() == my_exe {
                continue;
            }
            let env = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let hit = env.split(|b| *b == 0).any(|kv| {
                kv.starts_with(tag.as_bytes()) || kv.windows(dir.len()).any(|w| w == dir.as_bytes())
            }) || ["cwd", "root"].iter().any(|l| {
                fs::read_link(format!("/proc/{pid}/{l}"))
                    .map(|t| under(&t))
                    .unwrap_or(false)
            }) || fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|fds| {
                    fds.flatten()
                        .any(|fd| fs::read_link(fd.path()).map(|t| under(&t)).unwrap_or(false))
                })
                .unwrap_or(false)
                || read(format!("/proc/{pid}/cgroup")).contains(&id_prefix);
            if hit {
                found.push(pid);
            }
        }
        found
    }

    /// [`Self::sandbox_processes`] minus the container processes the test saw
    /// through `state`, their descendants and their ancestors (a runtime may
    /// keep a per-container monitor process as the container's parent).
    pub fn stray_processes(&self) -> Vec<i32> {
        let known: Vec<i32> = self
            .pids
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, st)| proc_starttime(*p) == Some(*st))
            .map(|(p, _)| *p)
            .collect();
        let known_ancestors: Vec<i32> = known.iter().flat_map(|k| ancestors(*k)).collect();
        self.sandbox_processes()
            .into_iter()
            .filter(|p| {
                !known_ancestors.contains(p) && !ancestors(*p).iter().any(|a| known.contains(a))
            })
            .collect()
    }
}

/// `pid` and its ancestors (up to pid 1).
pub fn ancestors(pid: i32) -> Vec<i32> {
    let mut v = vec![pid];
    let mut cur = pid;
    for _ in 0..64 {
        let Some(pp) = proc_ppid(cur) else { break };
        if pp <= 1 {
            break;
        }
        v.push(pp);
        cur = pp;
    }
    v
}

/// Parent pid from /proc/pid/stat.
pub fn proc_ppid(pid: i32) -> Option<i32> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

impl Sandbox {
    /// Asserts that a failed operation left nothing behind: no state entry
    /// for `id`, no process spawned by that invocation, no cgroup named
    /// after `id`.
    #[track_caller]
    pub fn assert_nothing_left(&self, id: &str, out: &Output) {
        assert!(
            !self.state_entry_exists(id),
            "state entry {} left behind after failed operation: {out}",
            self.root.join(id).display()
        );
        let st = self.state(id);
        assert!(
            !st.success(),
            "`state {id}` still succeeds after a failed create: {st}"
        );
        // Give a dying runtime child a moment before calling it a leak.
        let ok = wait_until(Duration::from_secs(2), || self.stray_processes().is_empty());
        assert!(
            ok,
            "processes left behind by the failed operation: {:?}: {out}",
            self.stray_processes()
        );
        let cg = cgroup_dirs_for(id);
        assert!(cg.is_empty(), "cgroups left behind for {id}: {cg:?}");
    }

    /// Creates a named network namespace with `ip netns add` (deleted by the
    /// guard). Returns its path (`/run/netns/<name>`).
    pub fn add_netns(&self) -> PathBuf {
        let name = format!("husk-it-{}-{}", self.tag, self.next());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip netns add");
        assert!(st.success(), "ip netns add {name} failed");
        self.netns.lock().unwrap().push(name.clone());
        PathBuf::from("/run/netns").join(name)
    }

    /// Makes `self.dir` a shared mount point on the host (bind-mounted onto
    /// itself), so mount propagation can be observed. Undone by the guard.
    pub fn make_dir_shared_mount(&self) {
        host_mount(Some(&self.dir), &self.dir, None, libc::MS_BIND, None).unwrap();
        host_mount(None, &self.dir, None, libc::MS_SHARED, None).unwrap();
    }

    fn cleanup(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        let ids = self.ids.lock().unwrap().clone();
        for id in &ids {
            if self.state_entry_exists(id) {
                let out = self
                    .cmd(&["delete", "--force", id])
                    .timeout(Duration::from_secs(20))
                    .run();
                if !out.success() {
                    problems.push(format!("`delete --force {id}` failed: {out}"));
                }
            }
        }
        for id in &ids {
            if self.state_entry_exists(id) {
                problems.push(format!("state entry for {id} remains after delete --force"));
                let _ = fs::remove_dir_all(self.root.join(id));
            }
        }
        // Container processes we saw (pid + start time, so no pid-reuse accidents).
        let pids = self.pids.lock().unwrap().clone();
        for (pid, start) in pids {
            if pid_alive(pid) && proc_starttime(pid) == Some(start) {
                problems.push(format!(
                    "container process {pid} still alive after delete --force"
                ));
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        // Runtime/init processes spawned by this sandbox's invocations.
        if !self.sandbox_processes().is_empty() {
            let ok = wait_until(Duration::from_secs(2), || {
                self.sandbox_processes().is_empty()
            });
            if !ok {
                let left = self.sandbox_processes();
                problems.push(format!("runtime processes left behind: {left:?}"));
                for pid in left {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        for id in &ids {
            let dirs = cgroup_dirs_for(id);
            if !dirs.is_empty() {
                problems.push(format!("cgroups left behind for {id}: {dirs:?}"));
                remove_cgroups(&dirs);
            }
        }
        for name in self.netns.lock().unwrap().drain(..) {
            let _ = Command::new("ip").args(["netns", "delete", &name]).status();
        }
        unmount_under(&self.dir);
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            if e.kind() != io::ErrorKind::NotFound {
                problems.push(format!("cannot remove {}: {e}", self.dir.display()));
            }
        }
        problems
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let problems = self.cleanup();
        if !problems.is_empty() {
            if thread::panicking() {
                eprintln!("cleanup problems: {problems:#?}");
            } else {
                panic!("the runtime left resources behind: {problems:#?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Host-side helpers
// ---------------------------------------------------------------------------

/// True if `id` is a single, normal path component.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains('/') && !id.contains('\0')
}

/// Removes these (empty) directories, in order, when dropped, also when the
/// test fails: for cgroups a test makes on the host itself. Declare it after
/// the [`Sandbox`], so that it runs before the sandbox's leak check.
pub struct RemoveDirs(pub Vec<PathBuf>);

impl Drop for RemoveDirs {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Polls `f` every 20ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `path` exists (panics after `timeout`).
#[track_caller]
pub fn wait_for_file(path: &Path, timeout: Duration) -> String {
    if !wait_until(timeout, || path.exists()) {
        panic!("{} did not appear within {timeout:?}", path.display());
    }
    // Let the writer finish its line.
    thread::sleep(Duration::from_millis(30));
    fs::read_to_string(path).unwrap_or_default()
}

/// True if `pid` exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => match s.rfind(')') {
            Some(i) => !matches!(
                s[i + 1..].trim_start().chars().next(),
                Some('Z') | Some('X')
            ),
            None => false,
        },
        Err(_) => false,
    }
}

/// Start time (field 22 of /proc/pid/stat) to guard against pid reuse.
pub fn proc_starttime(pid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// `readlink /proc/<pid>/ns/<ns>` (e.g. "net:[4026531840]").
pub fn ns_of(pid: &str, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parses a `/proc/<pid>/status` capability hex mask.
pub fn cap_mask(names: &[&str]) -> u64 {
    names.iter().fold(0, |m, n| m | (1u64 << cap_number(n)))
}

/// Capability number from its name (capabilities(7)).
pub fn cap_number(name: &str) -> u32 {
    const CAPS: &[&str] = &[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    CAPS.iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("unknown capability {name}")) as u32
}

/// Value of a `Key:\tvalue` line from a /proc status dump.
pub fn status_field(status: &str, key: &str) -> Option<String> {
    status.lines().find_map(|l| {
        l.strip_prefix(&format!("{key}:"))
            .map(|v| v.trim().to_string())
    })
}

/// The `/proc/<pid>/mountinfo` entry mounted at `mount_point` (the topmost,
/// i.e. last, one if several are stacked there).
pub fn mountinfo_entry(mountinfo: &str, mount_point: &str) -> Option<MountInfo> {
    mountinfo
        .lines()
        .rev()
        .filter_map(MountInfo::parse)
        .find(|m| m.mount_point == mount_point)
}

/// One parsed mountinfo line.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub mount_point: String,
    pub options: Vec<String>,
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: Vec<String>,
}

impl MountInfo {
    pub fn parse(line: &str) -> Option<MountInfo> {
        let (left, right) = line.split_once(" - ")?;
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        Some(MountInfo {
            mount_point: unescape_mount(l.get(4)?),
            options: l.get(5)?.split(',').map(String::from).collect(),
            optional: l
                .get(6..)
                .unwrap_or(&[])
                .iter()
                .map(|s| s.to_string())
                .collect(),
            fstype: r.first()?.to_string(),
            source: r.get(1).map(|s| s.to_string()).unwrap_or_default(),
            super_options: r
                .get(2)
                .map(|s| s.split(',').map(String::from).collect())
                .unwrap_or_default(),
        })
    }

    pub fn has_option(&self, o: &str) -> bool {
        self.options.iter().any(|x| x == o) || self.super_options.iter().any(|x| x == o)
    }

    pub fn is_shared(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("shared:"))
    }

    pub fn is_slave(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("master:"))
    }

    pub fn is_unbindable(&self) -> bool {
        self.optional.iter().any(|o| o == "unbindable")
    }
}

fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `mount(2)` on the host.
pub fn host_mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap();
    let src = source.map(c);
    let tgt = c(target);
    let ty = fstype.map(|t| CString::new(t).unwrap());
    let dat = data.map(|d| CString::new(d).unwrap());
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            tgt.as_ptr(),
            ty.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            dat.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr() as *const libc::c_void),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Lazily unmounts every host mount at or below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let prefix = dir.to_string_lossy().into_owned();
    for _ in 0..20 {
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mps: Vec<String> = info
            .lines()
            .filter_map(MountInfo::parse)
            .map(|m| m.mount_point)
            .filter(|m| m == &prefix || m.starts_with(&format!("{prefix}/")))
            .collect();
        if mps.is_empty() {
            return;
        }
        mps.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mps {
            let c = CString::new(m).unwrap();
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Cgroup directories (any hierarchy under /sys/fs/cgroup, depth <= 5) whose
/// name contains `id`. Ids are unique, fixed-width strings, so this finds the
/// cgroups a runtime made for that container whatever naming scheme it uses.
pub fn cgroup_dirs_for(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: usize, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            let p = e.path();
            if e.file_name().to_string_lossy().contains(id) {
                out.push(p.clone());
            }
            walk(&p, id, depth - 1, out);
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 6, &mut out);
    out
}

/// Kills what is left in these (test-owned) cgroups and removes them.
fn remove_cgroups(dirs: &[PathBuf]) {
    let mut dirs = dirs.to_vec();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in &dirs {
        if let Ok(procs) = fs::read_to_string(d.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    for d in &dirs {
        wait_until(Duration::from_secs(2), || {
            fs::remove_dir(d).is_ok() || !d.exists()
        });
    }
}

/// Opens a host file for reading (to hand to the runtime with
/// [`Invocation::fd`], which dup2()s it without O_CLOEXEC).
pub fn open_read(p: &Path) -> File {
    File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
}

/// Reads a host file to string, "" if missing.
pub fn read(p: impl AsRef<Path>) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// Shell snippet that blocks until `path` exists (busybox sleep takes fractions).
pub fn wait_file_sh(path: &Path) -> String {
    format!("while [ ! -e {} ]; do sleep 0.05; done", path.display())
}

/// Receives one message and the descriptors passed with it.
pub fn recv_with_fds(conn: &std::os::unix::net::UnixStream) -> (Vec<u8>, Vec<i32>) {
    let mut buf = vec![0u8; 65536];
    let mut cbuf = vec![0u8; 256];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.len();
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
    let mut fds = Vec::new();
    let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !c.is_null() {
        let h = unsafe { &*c };
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
            let data = unsafe { libc::CMSG_DATA(c) } as *const i32;
            let count = (h.cmsg_len as usize - unsafe { libc::CMSG_LEN(0) } as usize) / 4;
            for i in 0..count {
                fds.push(unsafe { *data.add(i) });
            }
        }
        c = unsafe { libc::CMSG_NXTHDR(&msg, c) };
    }
    buf.truncate(n as usize);
    (buf, fds)
}

/// Accepts one connection on `listener` and returns the descriptor it
/// carried (SCM_RIGHTS), e.g. a pty master sent to a `--console-socket`.
pub fn receive_fd(listener: &std::os::unix::net::UnixListener) -> File {
    let (conn, _) = listener.accept().unwrap();
    let (_, fds) = recv_with_fds(&conn);
    let fd = *fds
        .first()
        .expect("no descriptor was sent over the console socket");
    // SAFETY: the descriptor was just received and is ours alone.
    unsafe { <File as std::os::unix::io::FromRawFd>::from_raw_fd(fd) }
}

/// Makes reads from `fd` return at once when there is nothing to read.
pub fn set_nonblocking(fd: RawFd) {
    // SAFETY: plain fcntl on a descriptor the caller owns.
    unsafe {
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        )
    };
}

/// What `master` yields until `needle` appears or `timeout` passes.
pub fn read_until(master: &File, needle: &str, timeout: Duration) -> String {
    let fd = master.as_raw_fd();
    set_nonblocking(fd);
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while Instant::now() < deadline && !String::from_utf8_lossy(&out).contains(needle) {
        let mut buf = [0u8; 1024];
        // SAFETY: read into a local buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            out.extend_from_slice(&buf[..n as usize]);
        } else {
            thread::sleep(Duration::from_millis(20));
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A named change to a default bundle, for [`Sandbox::configs_create_accepts`].
pub type ConfigCase = (&'static str, fn(&mut Bundle));
