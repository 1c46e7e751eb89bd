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

const T: Duration = Duration::from_secs(10);

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
