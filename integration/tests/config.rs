//! config.md: "Specification version", "Root", "Hostname", "Domainname",
//! "Annotations", "Extensibility".

use integration::*;
use serde_json::json;

/// config.md "Specification version": a 1.x ociVersion from an older minor
/// release (1.0.0) is accepted.
#[test]
fn oci_version_1_0_0_accepted() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["echo", "ok"]);
    b.config["ociVersion"] = json!("1.0.0");
    assert_eq!(sb.run_ok(&b), "ok");
}

/// config.md "Root" `path`: may be absolute instead of relative to the bundle.
#[test]
fn root_path_absolute() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["cat", "/marker"]);
    let other = sb.dir.join("elsewhere");
    make_rootfs(&other);
    std::fs::write(other.join("marker"), "absolute-root").unwrap();
    b.config["root"]["path"] = json!(other);
    assert_eq!(sb.run_ok(&b), "absolute-root");
}

/// config.md "Root" `readonly`: true => the root filesystem MUST be
/// read-only inside the container.
#[test]
fn root_readonly_true() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let out = sb.sh(
        &mut b,
        "touch /newfile 2>&1 && echo writable; cat /proc/self/mountinfo",
    );
    assert!(out.contains("Read-only file system"), "{out}");
    let mi = mountinfo_entry(&out, "/").expect("/ in mountinfo");
    assert!(mi.has_option("ro"), "{mi:?}");
    assert!(!b.rootfs().join("newfile").exists());
}

/// config.md "Root" `readonly`: false (the default) => writable root.
#[test]
fn root_readonly_false() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.config["root"]["readonly"] = json!(false);
    assert_eq!(
        sb.sh(&mut b, "echo data > /newfile && cat /newfile"),
        "data"
    );
    assert_eq!(read(b.rootfs().join("newfile")), "data\n");
}

/// config.md "Root": the container sees the bundle's rootfs as `/`.
#[test]
fn root_is_bundle_rootfs() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.write_file("/etc/bundle-id", "bundle-marker");
    let out = sb.sh(&mut b, "cat /etc/bundle-id; echo; ls /");
    let mut names: Vec<String> = std::fs::read_dir(b.rootfs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(out, format!("bundle-marker\n{}", names.join("\n")));
}

/// config.md "Hostname": the container's hostname in its UTS namespace.
#[test]
fn hostname_is_set() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.config["hostname"] = json!("mrsdalloway");
    assert_eq!(
        sb.sh(&mut b, "hostname; cat /proc/sys/kernel/hostname; uname -n"),
        "mrsdalloway\nmrsdalloway\nmrsdalloway"
    );
    let host = read("/proc/sys/kernel/hostname");
    assert_ne!(host.trim(), "mrsdalloway", "host hostname must not change");
}

/// config.md "Domainname": the container's domainname in its UTS namespace.
#[test]
fn domainname_is_set() {
    if skip_on_runc("runc 1.1.5 ignores `domainname`") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.config["domainname"] = json!("foobarbaz.test");
    assert_eq!(
        sb.sh(&mut b, "cat /proc/sys/kernel/domainname"),
        "foobarbaz.test"
    );
    assert_ne!(read("/proc/sys/kernel/domainname").trim(), "foobarbaz.test");
}

/// config.md "Annotations": reported unchanged in the state (runtime.md
/// "State" `annotations`), including empty values.
#[test]
fn annotations_round_trip() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    let ann = json!({ "com.example.gpu-cores": "2", "org.example.empty": "", "a.b/c": "x=y, z" });
    b.config["annotations"] = ann.clone();
    let (id, _) = sb.create_ok(&b);
    assert_eq!(sb.state_json(&id)["annotations"], ann);
}

/// config.md "Extensibility": runtimes MUST ignore unknown properties
/// (and not generate errors).
#[test]
fn unknown_properties_are_ignored() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["echo", "fine"]);
    b.config["com.example.extension"] = json!({ "nested": [1, 2, 3] });
    b.process()["com.example.flag"] = json!(true);
    b.linux()["com.example.linuxExtra"] = json!("x");
    b.config["root"]["com.example.rootExtra"] = json!(1);
    b.config["mounts"][0]["com.example.mountExtra"] = json!(null);
    assert_eq!(sb.run_ok(&b), "fine");
}

/// config.md "Default Filesystems" (config-linux.md): /proc, /sys, /dev/pts
/// and /dev/shm SHOULD be available with the right types.
#[test]
fn default_filesystems() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let mi = sb.sh(&mut b, "cat /proc/self/mountinfo");
    for (mp, ty) in [
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
    ] {
        let e = mountinfo_entry(&mi, mp).unwrap_or_else(|| panic!("{mp} not mounted:\n{mi}"));
        assert_eq!(e.fstype, ty, "{mp}");
    }
}
