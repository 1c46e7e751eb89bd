//! config-linux.md "Namespaces", "User namespace mappings", "Offset for
//! Time Namespace".

use integration::*;
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// (kernel ns name, OCI type)
const NS: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("net", "network"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("mnt", "mount"),
    ("cgroup", "cgroup"),
];

/// `readlink /proc/self/ns/<n>` for each name, one per line, from inside.
fn ns_inside(sb: &Sandbox, b: &mut Bundle, names: &[&str]) -> Vec<String> {
    let script: String = names
        .iter()
        .map(|n| format!("readlink /proc/self/ns/{n}; "))
        .collect();
    sb.sh(b, &script).lines().map(String::from).collect()
}

/// A running container blocking on `<shared>/go`; returns (id, pid).
fn blocking_container(sb: &Sandbox, b: &mut Bundle) -> (String, i32) {
    let shared = sb.shared_dir(b);
    b.set_args(&[
        "sh",
        "-c",
        &format!(
            "touch {s}/ready; {w}",
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

/// config-linux.md "Namespaces": without `path` the runtime MUST create a new
/// namespace of each listed type.
#[test]
fn listed_namespaces_are_new() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let names: Vec<&str> = NS.iter().map(|(k, _)| *k).collect();
    let inside = ns_inside(&sb, &mut b, &names);
    for (i, n) in names.iter().enumerate() {
        assert_ne!(inside[i], ns_of("self", n), "{n} namespace must be new");
    }
}

/// config-linux.md "Namespaces": a type not listed MUST be inherited from
/// the runtime's namespace.
#[test]
fn unlisted_namespaces_are_inherited() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    for (_, ty) in NS.iter().filter(|(k, _)| *k != "mnt") {
        b.remove_namespace(ty);
    }
    b.config.as_object_mut().unwrap().remove("hostname");
    let names = ["pid", "net", "ipc", "uts", "cgroup"];
    let inside = ns_inside(&sb, &mut b, &names);
    for (i, n) in names.iter().enumerate() {
        assert_eq!(
            inside[i],
            ns_of("self", n),
            "{n} namespace must be the runtime's"
        );
    }
}

/// config-linux.md "Namespaces" `pid`: the process is pid 1 and sees only
/// the container's processes.
#[test]
fn pid_namespace_isolates_processes() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let out = sb.sh(&mut b, "echo $$; ls /proc | grep -c '^[0-9]'");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    let n: u32 = lines[1].parse().unwrap();
    assert!(n <= 3, "container sees {n} processes");
}

/// config-linux.md "Namespaces" `network`: its own network stack (only a
/// loopback device).
#[test]
fn network_namespace_has_only_loopback() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let out = sb.sh(&mut b, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    assert_eq!(out, "lo");
}

/// config-linux.md "Namespaces" `cgroup`: the container's cgroups appear as
/// the root of the hierarchy.
#[test]
fn cgroup_namespace_hides_host_paths() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let out = sb.sh(&mut b, "cat /proc/self/cgroup");
    for l in out.lines() {
        assert!(l.ends_with(":/"), "cgroup path not virtualised: {l}\n{out}");
    }
}

/// config-linux.md "Namespaces": without a cgroup namespace the container
/// sees its real cgroup path (sanity check for the test above).
#[test]
fn no_cgroup_namespace_shows_host_paths() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.remove_namespace("cgroup");
    let out = sb.sh(&mut b, "cat /proc/self/cgroup");
    assert!(out.lines().any(|l| !l.ends_with(":/")), "{out}");
}

/// config-linux.md "Namespaces" `path`: the runtime MUST place the process
/// in the namespace at `path` (a named netns from `ip netns add`), and MUST
/// NOT delete it with the container (runtime.md "Delete").
#[test]
fn join_named_network_namespace() {
    let sb = Sandbox::new();
    let netns = sb.add_netns();
    let ino = std::fs::metadata(&netns).unwrap().ino();
    let mut b = sb.bundle(&[]);
    b.set_namespace("network", Some(netns.to_str().unwrap()));
    let (id, pid) = blocking_container(&sb, &mut b);
    assert_eq!(ns_of(&pid.to_string(), "net"), format!("net:[{ino}]"));
    sb.delete_force(&id).ok();
    assert_eq!(
        std::fs::metadata(&netns).unwrap().ino(),
        ino,
        "the joined netns must survive delete"
    );
}

/// config-linux.md "Namespaces" `path`: joining another container's uts,
/// ipc, network and pid namespaces through /proc/<pid>/ns/*.
#[test]
fn join_other_container_namespaces() {
    let sb = Sandbox::new();
    let mut a = sb.bundle(&[]);
    a.config["hostname"] = json!("container-a");
    let (_, apid) = blocking_container(&sb, &mut a);

    let mut b = sb.bundle(&[]);
    b.config.as_object_mut().unwrap().remove("hostname");
    for (k, ty) in [
        ("uts", "uts"),
        ("ipc", "ipc"),
        ("net", "network"),
        ("pid", "pid"),
    ] {
        b.set_namespace(ty, Some(&format!("/proc/{apid}/ns/{k}")));
    }
    let out = sb.sh(&mut b, "hostname; for n in uts ipc net; do readlink /proc/self/ns/$n; done; cat /proc/1/cmdline | tr '\\0' ' '");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "container-a");
    assert_eq!(lines[1], ns_of(&apid.to_string(), "uts"));
    assert_eq!(lines[2], ns_of(&apid.to_string(), "ipc"));
    assert_eq!(lines[3], ns_of(&apid.to_string(), "net"));
    assert!(
        lines[4].starts_with("sh -c touch"),
        "pid 1 must be container A's process: {out}"
    );
}

/// config-linux.md "Namespaces" `path`: MUST generate an error if `path` is
/// not a namespace of type `type`.
#[test]
fn namespace_path_of_wrong_type_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.set_namespace("network", Some("/proc/self/ns/uts"));
    let id = sb.new_id();
    let out = sb.create(&id, &b).err();
    sb.assert_nothing_left(&id, &out);
}

/// config-linux.md "Namespaces" `path`: a path that is not a namespace at
/// all is an error.
#[test]
fn namespace_path_not_a_namespace_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let bogus = sb.dir.join("not-a-netns");
    std::fs::write(&bogus, "").unwrap();
    b.set_namespace("network", Some(bogus.to_str().unwrap()));
    let id = sb.new_id();
    let out = sb.create(&id, &b).err();
    sb.assert_nothing_left(&id, &out);
}

/// config-linux.md "Namespaces": duplicated types MUST generate an error.
#[test]
fn duplicate_namespace_type_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.linux()["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "ipc" }));
    let id = sb.new_id();
    let out = sb
        .create(&id, &b)
        .err_mentions(&["duplicate", "ipc", "namespace"]);
    sb.assert_nothing_left(&id, &out);
}

/// config-linux.md "Namespaces": an unknown type is an invalid value
/// (config.md "Valid values": MUST generate an error).
#[test]
fn unknown_namespace_type_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.set_namespace("bogus", None);
    let id = sb.new_id();
    let out = sb.create(&id, &b).err_mentions(&["namespace", "bogus"]);
    sb.assert_nothing_left(&id, &out);
}

/// config-linux.md "Namespaces" `user` + "User namespace mappings": uid/gid
/// maps are written; container root is an unprivileged host uid.
#[test]
fn user_namespace_with_mappings() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.set_namespace("user", None);
    b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 200000, "size": 65536 }]);
    // sysfs/cgroup need privileges over the host's network/cgroup namespaces.
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
    let (id, pid) = blocking_container(&sb, &mut b);
    let st = read(format!("/proc/{pid}/status"));
    assert_eq!(
        status_field(&st, "Uid").unwrap().split_whitespace().next(),
        Some("100000")
    );
    assert_eq!(
        status_field(&st, "Gid").unwrap().split_whitespace().next(),
        Some("200000")
    );
    let uid_map: Vec<String> = read(format!("/proc/{pid}/uid_map"))
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(uid_map, ["0", "100000", "65536"]);
    let gid_map: Vec<String> = read(format!("/proc/{pid}/gid_map"))
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(gid_map, ["0", "200000", "65536"]);
    assert_ne!(ns_of(&pid.to_string(), "user"), ns_of("self", "user"));
    sb.delete_force(&id).ok();
}

/// config-linux.md "Namespaces" `time` + "Offset for Time Namespace": the
/// clocks are offset by `timeOffsets`.
#[test]
fn time_namespace_offsets() {
    if skip_on_runc("runc 1.1.5 does not support time namespaces") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.set_namespace("time", None);
    b.linux()["timeOffsets"] = json!({
        "monotonic": { "secs": 864000, "nanosecs": 0 },
        "boottime": { "secs": 1728000, "nanosecs": 0 }
    });
    let out = sb.sh(
        &mut b,
        "cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time",
    );
    let lines: Vec<&str> = out.lines().collect();
    let offsets: Vec<Vec<&str>> = lines[..2]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(offsets.contains(&vec!["monotonic", "864000", "0"]), "{out}");
    assert!(offsets.contains(&vec!["boottime", "1728000", "0"]), "{out}");
    let uptime: u64 = lines[2].parse().unwrap();
    assert!(
        uptime >= 1728000,
        "uptime inside {uptime} must include the boottime offset"
    );
    assert_ne!(lines[3], ns_of("self", "time"));
}
