//! Issue 7: user namespaces (config-linux.md "Namespaces" `user`, "User
//! namespace mappings"), id-mapped mounts (config.md "idmap"/"ridmap") and
//! rootless containers.
//!
//! Rootfs ownership: the busybox rootfs stays owned by host root (the spec:
//! the runtime SHOULD NOT chown referenced filesystems). Inside a mapped
//! namespace it shows as the overflow id and is still readable and
//! executable, which is all these containers need; what they write goes to
//! bind mounts the tests own.

use integration::*;
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

// Generous: the machine is shared and often loaded.
const T: Duration = Duration::from_secs(30);

/// A bundle with a new user namespace mapping 0 → 100000 (65536 ids), without
/// the cgroup mount (mounting the host's v1 hierarchies needs privileges the
/// mapped root lacks, as with runc).
fn mapped_bundle(sb: &Sandbox, args: &[&str]) -> Bundle {
    let mut b = sb.bundle(args);
    b.set_namespace("user", None);
    b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
    b
}

/// Start `b` running `script` then blocking until `<shared>/go` exists;
/// returns (id, host pid) once `<shared>/ready` exists.
fn started(sb: &Sandbox, b: &mut Bundle, shared: &Path, script: &str) -> (String, i32) {
    b.set_args(&[
        "sh",
        "-c",
        &format!(
            "{script}; touch {s}/ready; {w}",
            s = shared.display(),
            w = wait_file_sh(&shared.join("go"))
        ),
    ]);
    let (id, _) = sb.create_ok(b);
    sb.start(&id).ok();
    wait_for_file(&shared.join("ready"), T);
    let pid = sb.pid_of(&id);
    (id, pid)
}

fn host_uid_gid(pid: i32) -> (String, String) {
    let st = read(format!("/proc/{pid}/status"));
    let first = |k: &str| {
        status_field(&st, k)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    (first("Uid"), first("Gid"))
}

/// config-linux.md "User namespace mappings" (issue 7, as root): container
/// root is uid 0 inside, the host sees uid 100000, and a file it creates on
/// a bind mount belongs to 100000 on the host.
#[test]
fn mapped_root_is_unprivileged_on_the_host() {
    let sb = Sandbox::new();
    let mut b = mapped_bundle(&sb, &[]);
    let shared = sb.shared_dir(&mut b);
    let s = shared.display();
    let (id, pid) = started(
        &sb,
        &mut b,
        &shared,
        &format!("id -u > {s}/uid; id -g > {s}/gid; touch {s}/made"),
    );
    assert_eq!(read(shared.join("uid")).trim(), "0");
    assert_eq!(read(shared.join("gid")).trim(), "0");
    assert_eq!(host_uid_gid(pid), ("100000".into(), "100000".into()));
    let meta = std::fs::metadata(shared.join("made")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (100000, 100000));
    assert_ne!(ns_of(&pid.to_string(), "user"), ns_of("self", "user"));
    sb.delete_force(&id).ok();
}

/// config-linux.md "Namespaces" `path` for `user`: the container is placed in
/// the joined user namespace, and the namespaces it creates belong to it (so
/// its root can mount /proc in its new pid and mount namespaces).
#[test]
fn join_user_namespace_by_path() {
    let sb = Sandbox::new();
    let mut holder = mapped_bundle(&sb, &[]);
    let hshared = sb.shared_dir(&mut holder);
    let (hid, hpid) = started(&sb, &mut holder, &hshared, "true");

    let mut b = sb.bundle(&[]);
    let userns = format!("/proc/{hpid}/ns/user");
    b.set_namespace("user", Some(&userns));
    // The joined namespace's own maps (runc 1.1.5 insists on them; husk checks they match).
    b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup" && m["type"] != "sysfs");
    let shared = sb.shared_dir(&mut b);
    let s = shared.display();
    let (id, pid) = started(
        &sb,
        &mut b,
        &shared,
        &format!(
            "id -u > {s}/uid; readlink /proc/self/ns/pid > {s}/pidns; \
             cat /proc/1/cmdline > {s}/one; touch {s}/made"
        ),
    );
    assert_eq!(
        ns_of(&pid.to_string(), "user"),
        ns_of(&hpid.to_string(), "user")
    );
    assert_eq!(read(shared.join("uid")).trim(), "0");
    assert_eq!(host_uid_gid(pid).0, "100000");
    // Its own pid namespace, with /proc mounted for it: pid 1 is its sh.
    assert_ne!(read(shared.join("pidns")), ns_of(&hpid.to_string(), "pid"));
    assert!(read(shared.join("one")).starts_with("sh"));
    assert_eq!(
        std::fs::metadata(shared.join("made")).unwrap().uid(),
        100000
    );
    sb.delete_force(&id).ok();
    sb.delete_force(&hid).ok();
}

/// A joined user namespace keeps its maps: mappings in the config that differ
/// from them are an error (runc's rule), not silently dropped.
#[test]
fn joined_user_namespace_with_other_mappings_fails() {
    if skip_on_runc("runc 1.1.5 ignores mappings of a joined user namespace") {
        return;
    }
    let sb = Sandbox::new();
    let mut holder = mapped_bundle(&sb, &[]);
    let hshared = sb.shared_dir(&mut holder);
    let (hid, hpid) = started(&sb, &mut holder, &hshared, "true");
    let mut b = sb.bundle(&["true"]);
    b.set_namespace("user", Some(&format!("/proc/{hpid}/ns/user")));
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup" && m["type"] != "sysfs");
    b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 300000, "size": 65536 }]);
    let id = sb.new_id();
    let out = sb
        .create(&id, &b)
        .err_mentions(&["linux.uidMappings", "joined user namespace"]);
    sb.assert_nothing_left(&id, &out);
    // The same mappings are fine, and so are none (they are the namespace's).
    b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let (id, _) = sb.create_ok(&b);
    sb.delete_force(&id).ok();
    b.linux().as_object_mut().unwrap().remove("uidMappings");
    let (id, _) = sb.create_ok(&b);
    sb.delete_force(&id).ok();
    sb.delete_force(&hid).ok();
}

/// A host directory with one file owned by `uid:uid`, and the file's path.
fn owned_source(sb: &Sandbox, name: &str, uid: u32) -> std::path::PathBuf {
    let src = sb.dir.join(name);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "x").unwrap();
    std::os::unix::fs::chown(src.join("f"), Some(uid), Some(uid)).unwrap();
    std::os::unix::fs::chown(&src, Some(uid), Some(uid)).unwrap();
    src
}

/// config.md "idmap" with the mount's own uidMappings/gidMappings (issue 7):
/// a host file of uid 1000 on an id-mapped bind mount appears as uid 0 in a
/// container whose root is host uid 100000, and what the container creates
/// there lands on disk as 1000. Without idmap the same file is the overflow id.
#[test]
fn idmapped_bind_mount_shows_host_1000_as_root() {
    if skip_on_runc("runc 1.1.5 has no id-mapped mounts") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = mapped_bundle(&sb, &[]);
    let src = owned_source(&sb, "idsrc", 1000);
    // Mount user namespace: id 1000 there is host 100000 (the container's 0).
    let map = json!([{ "containerID": 1000, "hostID": 100000, "size": 1 }]);
    b.mkdir("/idm");
    b.mkdir("/plain");
    b.add_mount(
        json!({ "destination": "/idm", "type": "bind", "source": src,
        "options": ["rbind", "idmap"], "uidMappings": map, "gidMappings": map }),
    );
    b.add_mount(
        json!({ "destination": "/plain", "type": "bind", "source": src,
        "options": ["rbind"] }),
    );
    b.set_args(&[
        "sh",
        "-c",
        "stat -c %u:%g /idm/f; stat -c %u:%g /plain/f; touch /idm/new && echo made",
    ]);
    let out = sb.run_ok(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["0:0", "65534:65534", "made"], "{out}");
    let meta = std::fs::metadata(src.join("new")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
}

/// config.md "idmap" without mappings: the runtime MAY use the container's
/// user namespace mapping (husk does): host root's files show as root inside.
#[test]
fn idmap_without_mappings_uses_the_container_user_namespace() {
    if skip_on_runc("runc 1.1.5 has no id-mapped mounts") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = mapped_bundle(&sb, &[]);
    let src = owned_source(&sb, "idsrc", 0);
    b.mkdir("/idm");
    b.add_mount(
        json!({ "destination": "/idm", "type": "bind", "source": src,
        "options": ["bind", "ridmap"] }),
    );
    b.set_args(&[
        "sh",
        "-c",
        "stat -c %u:%g /idm/f; touch /idm/new && echo made",
    ]);
    assert_eq!(sb.run_ok(&b), "0:0\nmade");
    let meta = std::fs::metadata(src.join("new")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
}

// ---------------------------------------------------------------------------
// Rootless (issue 7): an unprivileged user the test creates runs husk.
// ---------------------------------------------------------------------------

static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// useradd/userdel lock /etc/passwd: one at a time in this binary.
static USERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A user made for one test (with the subordinate id range useradd gives it),
/// deleted again on drop, also when the test fails.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
    /// First subordinate uid/gid and the count.
    sub: (u32, u32),
}

impl TestUser {
    fn new(tag: &str) -> TestUser {
        let name = format!("hk{}{tag}", std::process::id());
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::process::Command::new("userdel").arg(&name).output();
        let out = std::process::Command::new("useradd")
            .args([
                "-M",
                "-s",
                "/bin/sh",
                "-K",
                "SUB_UID_COUNT=65536",
                "-K",
                "SUB_GID_COUNT=65536",
            ])
            .arg(&name)
            .output()
            .expect("useradd (package passwd)");
        assert!(out.status.success(), "useradd {name}: {out:?}");
        let id = |flag: &str| -> u32 {
            let o = std::process::Command::new("id")
                .args([flag, &name])
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
        };
        let mut user = TestUser {
            uid: id("-u"),
            gid: id("-g"),
            name,
            sub: (0, 0),
        };
        let line = read("/etc/subuid")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{}:", user.name)).map(String::from))
            .expect("useradd gave the user no /etc/subuid range");
        let (start, count) = line.split_once(':').unwrap();
        user.sub = (start.parse().unwrap(), count.parse().unwrap());
        user
    }

    /// A directory owned by the user (mode 0700 unless `shared`).
    fn dir(&self, sb: &Sandbox, name: &str) -> std::path::PathBuf {
        let d = sb.dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::os::unix::fs::chown(&d, Some(self.uid), Some(self.gid)).unwrap();
        d
    }

    /// Run husk as this user in `cwd` with XDG_RUNTIME_DIR=`xdg` and PATH=`path`
    /// (no --root: the rootless default must be used). Exit code, stdout, stderr.
    fn husk(&self, cwd: &Path, xdg: &Path, path: &str, args: &[&str]) -> (i32, String, String) {
        let mut full = vec![runtime_path().to_string_lossy().into_owned()];
        full.extend(args.iter().map(|a| a.to_string()));
        self.run(cwd, xdg, path, &full)
    }

    /// Run `argv` (under `timeout 30`) as this user, as [`TestUser::husk`] does;
    /// `$HUSK` names the runtime.
    fn run(&self, cwd: &Path, xdg: &Path, path: &str, argv: &[String]) -> (i32, String, String) {
        use std::os::unix::process::CommandExt;
        let args = argv;
        // Files, not pipes: a created container keeps create's stdio open.
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (o, e) = (
            xdg.with_extension(format!("{n}.out")),
            xdg.with_extension(format!("{n}.err")),
        );
        let status = std::process::Command::new("/usr/bin/timeout")
            .arg("30")
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("HUSK", runtime_path())
            .env("PATH", path)
            .env("XDG_RUNTIME_DIR", xdg)
            .env("HOME", cwd)
            .uid(self.uid)
            .gid(self.gid)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&o).unwrap())
            .stderr(std::fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        let r = (status.code().unwrap_or(-1), read(&o), read(&e));
        if std::env::var_os("HUSK_IT_VERBOSE").is_some() {
            eprintln!("as {}: {args:?} -> {r:?}", self.name);
        }
        r
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // A failed test may leave the user's containers running: kill them
        // (by pid: only processes of this throw-away user), then the user.
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<i32>().ok())
            else {
                continue;
            };
            let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let uid = status_field(&st, "Uid").and_then(|u| {
                u.split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<u32>().ok())
            });
            if uid == Some(self.uid) {
                // SAFETY: kill(2) with a pid and a signal number.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::process::Command::new("userdel")
            .arg(&self.name)
            .output();
    }
}

const USER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// `husk spec --rootless` run by the user in a bundle it owns, then `f`
/// changes the config.
fn rootless_bundle(
    sb: &Sandbox,
    u: &TestUser,
    xdg: &Path,
    f: impl FnOnce(&mut serde_json::Value),
) -> std::path::PathBuf {
    let b = sb.bundle(&[]);
    std::os::unix::fs::chown(&b.dir, Some(u.uid), Some(u.gid)).unwrap();
    let (code, _, err) = u.husk(&b.dir, xdg, USER_PATH, &["spec", "--rootless"]);
    assert_eq!(code, 0, "spec --rootless: {err}");
    let path = b.dir.join("config.json");
    let mut c: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    c["process"]["terminal"] = json!(false);
    f(&mut c);
    std::fs::write(&path, c.to_string()).unwrap();
    b.dir.clone()
}

/// Issue 7, rootless: `spec --rootless` gives a config an unprivileged user
/// can run (without newuidmap: the one self-mapping is written directly,
/// setgroups denied); create/start/state/list work in $XDG_RUNTIME_DIR/husk;
/// delete removes everything.
#[test]
fn rootless_lifecycle_without_newuidmap() {
    if skip_on_runc("runc's rootless default root is $XDG_RUNTIME_DIR/runc") {
        return;
    }
    let sb = Sandbox::new();
    let u = TestUser::new("a");
    let xdg = u.dir(&sb, "xdg");
    std::fs::set_permissions(&xdg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let bundle = rootless_bundle(&sb, &u, &xdg, |c| {
        c["process"]["args"] = json!([
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map /proc/self/setgroups; exec sleep 1000"
        ]);
    });
    // No newuidmap on PATH at all: the self-mapping needs none.
    let path = "/nonexistent";
    let (code, _, err) = u.husk(&bundle, &xdg, path, &["create", "rl"]);
    assert_eq!(code, 0, "create: {err}");
    let state_dir = xdg.join("husk").join("rl");
    assert!(
        state_dir.join("state.json").exists(),
        "state lives in $XDG_RUNTIME_DIR/husk"
    );
    let (code, out, err) = u.husk(&bundle, &xdg, path, &["state", "rl"]);
    assert_eq!(code, 0, "state: {err}");
    let st: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().unwrap() as i32;
    sb.track_pid(pid);
    assert_eq!(host_uid_gid(pid).0, u.uid.to_string());
    let (code, out, _) = u.husk(&bundle, &xdg, path, &["list", "-q"]);
    assert_eq!((code, out.trim()), (0, "rl"));
    let (code, _, err) = u.husk(&bundle, &xdg, path, &["start", "rl"]);
    assert_eq!(code, 0, "start: {err}");
    let (_, out, _) = u.husk(&bundle, &xdg, path, &["state", "rl"]);
    assert!(out.contains("\"running\""), "{out}");
    // exec joins its namespaces (no cgroup to join); devices are host binds.
    let (code, out, err) = u.husk(
        &bundle,
        &xdg,
        path,
        &[
            "exec",
            "rl",
            "sh",
            "-c",
            "id -u; echo x > /dev/null && head -c 4 /dev/zero | wc -c",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "0\n4\n"), "exec: {err}");
    // Without a cgroup there is nothing to freeze: a clear error, not a crash.
    let (code, _, err) = u.husk(&bundle, &xdg, path, &["pause", "rl"]);
    assert!(code != 0 && err.contains("no cgroup"), "pause: {err}");
    let (code, _, err) = u.husk(&bundle, &xdg, path, &["kill", "rl", "KILL"]);
    assert_eq!(code, 0, "kill: {err}");
    assert!(
        wait_until(T, || !pid_alive(pid)),
        "init {pid} survived SIGKILL"
    );
    let (code, _, err) = u.husk(&bundle, &xdg, path, &["delete", "rl"]);
    assert_eq!(code, 0, "delete: {err}");
    assert!(!state_dir.exists(), "delete left {}", state_dir.display());
    let (_, out, _) = u.husk(&bundle, &xdg, path, &["list", "-q"]);
    assert_eq!(out.trim(), "");
    assert!(
        cgroup_dirs_for("rl").is_empty(),
        "{:?}",
        cgroup_dirs_for("rl")
    );
}

/// Issue 7, rootless with newuidmap/newgidmap: several mappings (the user
/// and its /etc/subuid range); `husk run` works, setgroups stays allowed.
/// Without the helpers on PATH the same config is a clear error.
#[test]
fn rootless_run_with_newuidmap() {
    if skip_on_runc("runc uses its own rootless root") {
        return;
    }
    let sb = Sandbox::new();
    let u = TestUser::new("b");
    let xdg = u.dir(&sb, "xdg");
    let (s, n) = u.sub;
    let bundle = rootless_bundle(&sb, &u, &xdg, |c| {
        c["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": u.uid, "size": 1 },
                                           { "containerID": 1, "hostID": s, "size": n }]);
        c["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": u.gid, "size": 1 },
                                           { "containerID": 1, "hostID": s, "size": n }]);
        c["process"]["user"]["additionalGids"] = json!([5]);
        c["process"]["args"] = json!([
            "sh",
            "-c",
            "id -u; id -G; cat /proc/self/setgroups; wc -l < /proc/self/uid_map"
        ]);
    });
    assert!(
        Path::new("/usr/bin/newuidmap").exists(),
        "install the uidmap package"
    );
    let (code, out, err) = u.husk(&bundle, &xdg, USER_PATH, &["run", "rl2"]);
    assert_eq!(code, 0, "run: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["0", "0 5", "allow", "2"], "{out}");
    assert!(!xdg.join("husk/rl2").exists());

    let (code, _, err) = u.husk(&bundle, &xdg, "/nonexistent", &["run", "rl3"]);
    assert_ne!(code, 0);
    assert!(err.contains("newuidmap"), "{err}");
    assert!(!xdg.join("husk/rl3").exists());
}

/// CVE-2023-25809 (issue 5): a rootless container whose /sys is an `rbind`
/// of the host's with `ro` (what `spec --rootless` writes) must not get a
/// writable cgroup hierarchy, even where the user owns a cgroup on the host.
#[test]
fn rootless_sys_fs_cgroup_is_read_only_when_not_owned() {
    if skip_on_runc("needs a rootless run as a test user") {
        return;
    }
    let sb = Sandbox::new();
    let u = TestUser::new("c");
    let xdg = u.dir(&sb, "xdg");
    // A cgroup the user owns on the host (as a delegated one would be).
    let owned = cgroup2_root().join(format!("husk-it-cve-{}", std::process::id()));
    std::fs::create_dir(&owned).unwrap();
    let _rm = RemoveDirs(vec![owned.join("sub"), owned.clone()]);
    std::os::unix::fs::chown(&owned, Some(u.uid), Some(u.gid)).unwrap();
    let inside = owned.strip_prefix("/").unwrap().display().to_string();
    let bundle = rootless_bundle(&sb, &u, &xdg, |c| {
        c["process"]["args"] = json!([
            "sh",
            "-c",
            format!(
                "stat -c %u /{inside}; mkdir /{inside}/sub && echo WROTE; \
             grep -c ' /sys/fs/cgroup[^ ]* rw' /proc/self/mountinfo"
            )
        ]);
    });
    let (code, out, err) = u.husk(&bundle, &xdg, USER_PATH, &["run", "cve"]);
    assert!(
        !owned.join("sub").exists(),
        "the container wrote to the host's cgroup: {out} {err}"
    );
    assert!(!out.contains("WROTE"), "{out}");
    assert!(err.contains("Read-only file system"), "{err}");
    // The user's directory is there (shown as the container's root), just not writable.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["0", "0"], "no cgroup mount may stay rw: {out}");
    assert_eq!(code, 1);
}

/// Issue 7, bad input: a rootless config asking for cgroup limits it cannot
/// have (no writable cgroup on this v1 host) is a clear error naming them,
/// and nothing is left behind.
#[test]
fn rootless_cgroup_limits_without_a_cgroup_fail() {
    if skip_on_runc("needs a rootless run as a test user") {
        return;
    }
    let sb = Sandbox::new();
    let u = TestUser::new("d");
    let xdg = u.dir(&sb, "xdg");
    let bundle = rootless_bundle(&sb, &u, &xdg, |c| {
        c["linux"]["resources"] =
            json!({ "memory": { "limit": 67108864 }, "pids": { "limit": 10 } });
        c["process"]["args"] = json!(["true"]);
    });
    let (code, _, err) = u.husk(&bundle, &xdg, USER_PATH, &["create", "lim"]);
    assert_ne!(code, 0);
    for w in ["linux.resources.memory", "linux.resources.pids", "rootless"] {
        assert!(err.contains(w), "{w} missing from {err}");
    }
    assert!(!xdg.join("husk/lim").exists());
    assert!(cgroup_dirs_for("lim").is_empty());
}

/// The host's cgroup2 mount: /sys/fs/cgroup (pure v2) or its `unified` (hybrid).
fn cgroup2_root() -> std::path::PathBuf {
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "/sys/fs/cgroup".into()
    } else {
        "/sys/fs/cgroup/unified".into()
    }
}

/// Issue 7, rootless on cgroup v2 with a delegated cgroup (as systemd
/// delegates `user@UID.service`): the container gets its cgroup under it, and
/// its limits are applied. Runs where the host is pure v2 (the cgroup v2 VM).
#[test]
fn rootless_delegated_cgroup_is_used() {
    if skip_on_runc("needs a rootless run as a test user") {
        return;
    }
    if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        eprintln!("SKIP: cgroup delegation needs a pure cgroup v2 host");
        return;
    }
    let sb = Sandbox::new();
    let u = TestUser::new("e");
    let xdg = u.dir(&sb, "xdg");
    // The delegated cgroup: owned by the user, the pids controller enabled for
    // its children, husk itself in a leaf of it (moving a process needs write
    // access to the common ancestor's cgroup.procs).
    let deleg = Path::new("/sys/fs/cgroup").join(format!("husk-it-deleg-{}", std::process::id()));
    std::fs::create_dir(&deleg).unwrap();
    let _rm = RemoveDirs(vec![deleg.join("ctr"), deleg.join("runner"), deleg.clone()]);
    std::fs::create_dir(deleg.join("runner")).unwrap();
    std::fs::write(deleg.join("cgroup.subtree_control"), "+pids").unwrap();
    for f in [
        "",
        "cgroup.procs",
        "cgroup.subtree_control",
        "runner",
        "runner/cgroup.procs",
    ] {
        std::os::unix::fs::chown(deleg.join(f), Some(u.uid), Some(u.gid)).unwrap();
    }
    let name = deleg.file_name().unwrap().to_string_lossy().into_owned();
    let bundle = rootless_bundle(&sb, &u, &xdg, |c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{name}/ctr"));
        c["linux"]["resources"] = json!({ "pids": { "limit": 42 } });
        // /sys is the host's (rbind): read the container's cgroup there.
        c["process"]["args"] = json!([
            "sh",
            "-c",
            format!(
            "cat /sys/fs/cgroup/{name}/ctr/pids.max; wc -l < /sys/fs/cgroup/{name}/ctr/cgroup.procs"
        )
        ]);
    });
    let o = xdg.with_extension("deleg.out");
    let e = xdg.with_extension("deleg.err");
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {runner}/cgroup.procs && exec setpriv --reuid {uid} --regid {gid} --clear-groups \
             env -i PATH={USER_PATH} XDG_RUNTIME_DIR={xdg} {husk} run deleg",
            runner = deleg.join("runner").display(),
            uid = u.uid,
            gid = u.gid,
            xdg = xdg.display(),
            husk = runtime_path().display()
        ))
        .current_dir(&bundle)
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .status()
        .unwrap();
    let (out, err) = (read(&o), read(&e));
    assert!(status.success(), "{out} {err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines, ["42", "1"], "{out} {err}");
    assert!(!err.contains("no cgroup"), "{err}");
    // Removed again by run's delete.
    assert!(!deleg.join("ctr").exists());
}

/// Issue 7, rootless podman's model: husk itself runs as root of a user
/// namespace (`unshare -r`: `--rootless auto` detects it) and the config has
/// no user namespace of its own. Devices are bound from the host (mknod is
/// not allowed there), exec joins the container's pid namespace without
/// having to return to its own, and the state is in $XDG_RUNTIME_DIR/husk.
#[test]
fn runtime_inside_a_user_namespace() {
    if skip_on_runc("needs a rootless run as a test user") {
        return;
    }
    let sb = Sandbox::new();
    let u = TestUser::new("f");
    let xdg = u.dir(&sb, "xdg");
    let bundle = rootless_bundle(&sb, &u, &xdg, |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "user");
        let l = c["linux"].as_object_mut().unwrap();
        l.remove("uidMappings");
        l.remove("gidMappings");
        c["process"]["args"] = json!(["sleep", "1000"]);
    });
    let script = "$HUSK create c1 && $HUSK start c1 && ls $XDG_RUNTIME_DIR/husk && \
        $HUSK exec c1 sh -c 'echo x > /dev/null && id -u && cat /proc/1/cmdline' && echo; \
        $HUSK kill c1 KILL; $HUSK delete --force c1 && ls $XDG_RUNTIME_DIR/husk";
    let argv: Vec<String> = [
        "/usr/bin/unshare",
        "--user",
        "--map-root-user",
        "/bin/sh",
        "-c",
        script,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, out, err) = u.run(&bundle, &xdg, USER_PATH, &argv);
    assert_eq!(code, 0, "{out} {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["c1", "0", "sleep\u{0}1000\u{0}"], "{out} {err}");
}

/// Issue 7, bad input: an id-mapped mount in a rootless container cannot be
/// made (mount_setattr needs CAP_SYS_ADMIN in the host's user namespace): a
/// clear error naming the mount, and nothing left.
#[test]
fn rootless_idmapped_mount_is_a_clear_error() {
    if skip_on_runc("needs a rootless run as a test user") {
        return;
    }
    let sb = Sandbox::new();
    let u = TestUser::new("g");
    let xdg = u.dir(&sb, "xdg");
    let src = u.dir(&sb, "src");
    let bundle = rootless_bundle(&sb, &u, &xdg, |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt", "type": "bind", "source": src, "options": ["rbind", "idmap"]
        }));
        c["process"]["args"] = json!(["true"]);
    });
    let (code, _, err) = u.husk(&bundle, &xdg, USER_PATH, &["run", "idm"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("mounts[") && err.contains("id-mapped mounts need CAP_SYS_ADMIN"),
        "{err}"
    );
    assert!(!xdg.join("husk/idm").exists());
}
