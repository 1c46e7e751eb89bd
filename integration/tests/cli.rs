//! runc-compatible CLI commands that are not spec operations: `spec`.

use integration::*;
use serde_json::{json, Value};
use std::fs;

fn load(p: &std::path::Path) -> Value {
    serde_json::from_str(&read(p)).unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
}

fn ns_types(cfg: &Value) -> Vec<String> {
    cfg["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect()
}

/// runc CLI `spec`: writes a config.json (in the cwd) that follows the spec
/// and is a usable starting point (it runs a busybox bundle).
#[test]
fn spec_writes_usable_config() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    fs::remove_file(b.config_path()).ok();
    sb.cmd(&["spec"]).without_root().cwd(&b.dir).run().ok();
    let cfg = load(&b.config_path());
    let ver = cfg["ociVersion"].as_str().expect("ociVersion");
    assert!(ver.starts_with("1."), "ociVersion {ver}");
    assert_eq!(cfg["root"]["path"], "rootfs");
    assert_eq!(cfg["process"]["args"], json!(["sh"]));
    assert_eq!(cfg["process"]["cwd"], "/");
    assert!(cfg["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["destination"] == "/proc" && m["type"] == "proc"));
    let ns = ns_types(&cfg);
    for t in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(ns.contains(&t.to_string()), "{t} namespace missing: {ns:?}");
    }
    // Make it non-interactive and run it.
    b.config = cfg;
    b.process()["terminal"] = json!(false);
    b.set_args(&["sh", "-c", "echo spec-works"]);
    assert_eq!(sb.run_ok(&b), "spec-works");
}

/// runc CLI `spec --bundle <dir>`: writes into that directory.
#[test]
fn spec_bundle_flag() {
    let sb = Sandbox::new();
    let dir = sb.dir.join("specdir");
    fs::create_dir_all(&dir).unwrap();
    sb.cmd(&["spec", "--bundle"])
        .arg(&dir)
        .without_root()
        .run()
        .ok();
    load(&dir.join("config.json"));
}

/// runc CLI `spec --rootless`: a user namespace mapping the caller's uid/gid
/// to container root.
#[test]
fn spec_rootless() {
    let sb = Sandbox::new();
    let dir = sb.dir.join("specdir");
    fs::create_dir_all(&dir).unwrap();
    sb.cmd(&["spec", "--rootless"])
        .cwd(&dir)
        .without_root()
        .run()
        .ok();
    let cfg = load(&dir.join("config.json"));
    assert!(ns_types(&cfg).contains(&"user".to_string()), "{cfg}");
    let uid = unsafe { libc::geteuid() } as u64;
    let gid = unsafe { libc::getegid() } as u64;
    let um = &cfg["linux"]["uidMappings"][0];
    let gm = &cfg["linux"]["gidMappings"][0];
    assert_eq!(
        (
            um["containerID"].as_u64(),
            um["hostID"].as_u64(),
            um["size"].as_u64()
        ),
        (Some(0), Some(uid), Some(1))
    );
    assert_eq!(
        (
            gm["containerID"].as_u64(),
            gm["hostID"].as_u64(),
            gm["size"].as_u64()
        ),
        (Some(0), Some(gid), Some(1))
    );
    assert!(
        !ns_types(&cfg).contains(&"network".to_string()),
        "rootless spec shares the host network"
    );
}

/// runc CLI `spec`: refuses to overwrite an existing config.json.
#[test]
fn spec_does_not_overwrite() {
    let sb = Sandbox::new();
    let dir = sb.dir.join("specdir");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("config.json"), "precious").unwrap();
    sb.cmd(&["spec"])
        .cwd(&dir)
        .without_root()
        .run()
        .err_mentions(&["exists"]);
    assert_eq!(read(dir.join("config.json")), "precious");
}
