//! Tests against this host's real cgroups. They need root and skip (with a
//! message) without it.
//!
//! The v1 tests create `/husk-test-<pid>-<n>` in every hierarchy through the
//! factory, put a `sleep` child in it, and a guard kills the child (by pid)
//! and removes the cgroup even when an assertion fails. The v2 test drives the
//! v2 driver on the hybrid host's cgroup2 mount (/sys/fs/cgroup/unified): the
//! same kind of hierarchy a pure v2 host has, with fewer controllers. Tests that
//! change the cgroup2 root's subtree_control restore it on drop.

use std::path::{Path, PathBuf};

use super::paths::UNIFIED_KEY;
use super::{fs, CgroupState, Manager};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxHugepageLimitBuilder, LinuxMemoryBuilder, LinuxNetworkBuilder, LinuxPidsBuilder,
    LinuxResourcesBuilder,
};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

static COUNTER: AtomicUsize = AtomicUsize::new(0);
/// Serializes tests that change the cgroup2 root's subtree_control.
pub(crate) static UNIFIED_ROOT: Mutex<()> = Mutex::new(());

pub(crate) fn is_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipping: needs root");
    false
}

pub(crate) fn unique_name() -> String {
    format!(
        "husk-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A child process plus the cgroup it was put in; dropping it cleans both up.
pub(crate) struct Guard {
    pub manager: Box<dyn Manager>,
    pub child: Child,
}

impl Guard {
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.manager.thaw();
        // Only our own child, by pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Err(e) = self.manager.destroy() {
            eprintln!("cleanup: {e}");
        }
    }
}

/// Disables, on drop, the controllers a test enabled in a cgroup2 root's
/// subtree_control, so the host is left as it was even when a test fails.
pub(crate) struct RestoreSubtree {
    pub root: PathBuf,
    pub before: String,
}

impl RestoreSubtree {
    pub(crate) fn new(root: &Path) -> Self {
        let before = fs::read(root, "cgroup.subtree_control").expect("read cgroup.subtree_control");
        RestoreSubtree {
            root: root.to_path_buf(),
            before,
        }
    }
}

impl Drop for RestoreSubtree {
    fn drop(&mut self) {
        let now = fs::read(&self.root, "cgroup.subtree_control").unwrap_or_default();
        let added = now
            .split_whitespace()
            .filter(|c| !self.before.split_whitespace().any(|b| b == *c));
        for c in added {
            if let Err(e) = fs::write(&self.root, "cgroup.subtree_control", &format!("-{c}")) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Whether this host is pure cgroup v2 (no v1 hierarchies).
pub(crate) fn pure_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// [`setup`] for the tests of the v1 driver: `None`, with a message, on a
/// pure cgroup v2 host (where `root_tests::v2` covers the v2 driver).
fn setup_v1() -> Option<Guard> {
    if pure_v2() {
        eprintln!("skipping: a cgroup v1 driver test, and this host is pure cgroup v2");
        return None;
    }
    setup()
}

/// The host's manager (v1 here, v2 on a pure v2 host) for
/// `/husk-test-...` with a `sleep 30` child applied.
fn setup() -> Option<Guard> {
    if !is_root() {
        return None;
    }
    let path = format!("/{}", unique_name());
    let manager = crate::cgroups::manager(Some(&path), "unused", false).expect("manager");
    let child = Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let guard = Guard { manager, child };
    guard.manager.apply(guard.pid()).expect("apply");
    Some(guard)
}

fn v1_path(g: &Guard, controller: &str) -> PathBuf {
    match g.manager.state() {
        CgroupState::V1 { paths } => paths[controller].clone(),
        s => panic!("expected a v1 host, got {s:?}"),
    }
}

fn read(g: &Guard, controller: &str, file: &str) -> String {
    fs::read(&v1_path(g, controller), file).unwrap()
}

#[test]
fn apply_places_process_everywhere() {
    let Some(g) = setup_v1() else { return };
    let pid = g.pid();
    assert_eq!(g.manager.pids().unwrap(), vec![pid]);
    let CgroupState::V1 { paths } = g.manager.state() else {
        panic!()
    };
    for (controller, dir) in &paths {
        let procs = fs::read(dir, "cgroup.procs").unwrap();
        assert!(
            procs.lines().any(|l| l == pid.to_string()),
            "{controller}: {procs}"
        );
    }
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let name = paths["memory"]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        own.lines()
            .any(|l| l.contains(":memory:") && l.ends_with(&name)),
        "{own}"
    );
    // cpuset was seeded from the parent.
    assert!(!read(&g, "cpuset", "cpuset.cpus").is_empty());
    assert!(!read(&g, "cpuset", "cpuset.mems").is_empty());
    // apply is idempotent (exec joins the same way).
    g.manager.apply(pid).unwrap();
    assert!(g.manager.exists());
}

#[test]
fn memory_limits_and_update_ordering() {
    let Some(g) = setup_v1() else { return };
    let mem = |limit: i64, swap: i64| {
        let m = LinuxMemoryBuilder::default()
            .limit(limit)
            .swap(swap)
            .build()
            .unwrap();
        LinuxResourcesBuilder::default().memory(m).build().unwrap()
    };
    g.manager.set(&mem(64 << 20, 128 << 20)).unwrap();
    assert_eq!(
        read(&g, "memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        read(&g, "memory", "memory.memsw.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    // Raise both above the current memsw (needs memsw first) ...
    g.manager.set(&mem(256 << 20, 512 << 20)).unwrap();
    assert_eq!(
        read(&g, "memory", "memory.limit_in_bytes"),
        (256u64 << 20).to_string()
    );
    assert_eq!(
        read(&g, "memory", "memory.memsw.limit_in_bytes"),
        (512u64 << 20).to_string()
    );
    // ... and lower both below the current limit (needs limit first).
    g.manager.set(&mem(32 << 20, 32 << 20)).unwrap();
    assert_eq!(
        read(&g, "memory", "memory.limit_in_bytes"),
        (32u64 << 20).to_string()
    );
    assert_eq!(
        read(&g, "memory", "memory.memsw.limit_in_bytes"),
        (32u64 << 20).to_string()
    );

    let m = LinuxMemoryBuilder::default()
        .reservation(16i64 << 20)
        .swappiness(10u64)
        .disable_oom_killer(true)
        .kernel_tcp(64i64 << 20)
        .build()
        .unwrap();
    g.manager
        .set(&LinuxResourcesBuilder::default().memory(m).build().unwrap())
        .unwrap();
    assert_eq!(
        read(&g, "memory", "memory.soft_limit_in_bytes"),
        (16u64 << 20).to_string()
    );
    assert_eq!(read(&g, "memory", "memory.swappiness"), "10");
    assert!(read(&g, "memory", "memory.oom_control").contains("oom_kill_disable 1"));
    assert_eq!(
        read(&g, "memory", "memory.kmem.tcp.limit_in_bytes"),
        (64u64 << 20).to_string()
    );

    // Back to unlimited: swap follows.
    let m = LinuxMemoryBuilder::default().limit(-1i64).build().unwrap();
    g.manager
        .set(&LinuxResourcesBuilder::default().memory(m).build().unwrap())
        .unwrap();
    let unlimited = read(&g, "memory", "memory.limit_in_bytes")
        .parse::<u64>()
        .unwrap();
    assert!(unlimited > 1 << 60);
    assert_eq!(
        read(&g, "memory", "memory.memsw.limit_in_bytes"),
        unlimited.to_string()
    );

    // A limit above the current memsw without a new swap value is explained.
    g.manager.set(&mem(32 << 20, 32 << 20)).unwrap();
    let m = LinuxMemoryBuilder::default()
        .limit(64i64 << 20)
        .build()
        .unwrap();
    let e = g
        .manager
        .set(&LinuxResourcesBuilder::default().memory(m).build().unwrap())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("set linux.resources.memory.swap as well"),
        "{e}"
    );

    // swap below limit is refused before touching the kernel.
    let err = g.manager.set(&mem(64 << 20, 32 << 20)).unwrap_err();
    assert!(
        err.to_string().contains("linux.resources.memory.swap"),
        "{err}"
    );
}

#[test]
fn kernel_memory_that_the_kernel_ignores_is_an_error() {
    let Some(g) = setup_v1() else { return };
    let m = LinuxMemoryBuilder::default()
        .kernel(64i64 << 20)
        .build()
        .unwrap();
    match g
        .manager
        .set(&LinuxResourcesBuilder::default().memory(m).build().unwrap())
    {
        // Older kernels honour it.
        Ok(()) => assert_eq!(
            read(&g, "memory", "memory.kmem.limit_in_bytes"),
            (64u64 << 20).to_string()
        ),
        Err(e) => assert!(
            e.to_string().contains("linux.resources.memory.kernel"),
            "{e}"
        ),
    }
}

#[test]
fn pids_limit() {
    let Some(g) = setup_v1() else { return };
    let res = |l: i64| {
        LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(l).build().unwrap())
            .build()
            .unwrap()
    };
    g.manager.set(&res(10)).unwrap();
    assert_eq!(read(&g, "pids", "pids.max"), "10");
    g.manager.set(&res(0)).unwrap();
    assert_eq!(read(&g, "pids", "pids.max"), "0");
    g.manager.set(&res(-1)).unwrap();
    assert_eq!(read(&g, "pids", "pids.max"), "max");
}

#[test]
fn cpu_and_cpuset() {
    let Some(g) = setup_v1() else { return };
    let cpu = LinuxCpuBuilder::default()
        .shares(512u64)
        .quota(50_000i64)
        .period(100_000u64)
        .burst(1000u64)
        .cpus("0")
        .build()
        .unwrap();
    g.manager
        .set(&LinuxResourcesBuilder::default().cpu(cpu).build().unwrap())
        .unwrap();
    assert_eq!(read(&g, "cpu", "cpu.shares"), "512");
    assert_eq!(read(&g, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&g, "cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&g, "cpu", "cpu.cfs_burst_us"), "1000");
    assert_eq!(read(&g, "cpuset", "cpuset.cpus"), "0");
    // Shares the kernel would clamp are an error, not a surprise.
    let cpu = LinuxCpuBuilder::default().shares(1u64).build().unwrap();
    let err = g
        .manager
        .set(&LinuxResourcesBuilder::default().cpu(cpu).build().unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("linux.resources.cpu.shares"),
        "{err}"
    );
}

#[test]
fn devices_whitelist() {
    let Some(g) = setup_v1() else { return };
    let rule = |allow: bool,
                typ: LinuxDeviceType,
                major: Option<i64>,
                minor: Option<i64>,
                access: &str| {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(typ)
            .access(access);
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().unwrap()
    };
    let rules = vec![
        rule(false, LinuxDeviceType::A, None, None, "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(5), "rw"),
        rule(true, LinuxDeviceType::C, Some(136), None, "rwm"),
    ];
    g.manager
        .set(
            &LinuxResourcesBuilder::default()
                .devices(rules)
                .build()
                .unwrap(),
        )
        .unwrap();
    let list = read(&g, "devices", "devices.list");
    assert_eq!(list, "c 1:3 rwm\nc 1:5 rw\nc 136:* rwm");
}

#[test]
fn freeze_and_thaw() {
    let Some(g) = setup_v1() else { return };
    assert!(!g.manager.is_frozen().unwrap());
    g.manager.freeze().unwrap();
    assert!(g.manager.is_frozen().unwrap());
    assert_eq!(read(&g, "freezer", "freezer.state"), "FROZEN");
    g.manager.thaw().unwrap();
    assert!(!g.manager.is_frozen().unwrap());
}

#[test]
fn unavailable_fields_are_errors() {
    let Some(g) = setup_v1() else { return };
    let blkio = LinuxBlockIoBuilder::default()
        .weight(500u16)
        .build()
        .unwrap();
    let r = LinuxResourcesBuilder::default()
        .block_io(blkio)
        .build()
        .unwrap();
    match g.manager.set(&r) {
        // CFQ's blkio.weight, or BFQ's blkio.bfq.weight (this host).
        Ok(()) => {
            let blkio = v1_path(&g, "blkio");
            let file = if blkio.join("blkio.weight").exists() {
                "blkio.weight"
            } else {
                "blkio.bfq.weight"
            };
            assert!(read(&g, "blkio", file).contains("500"), "{file}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("linux.resources.blockIO.weight") && msg.contains("blkio.weight"),
                "{msg}"
            );
        }
    }
    // No CFQ leaf weights on Linux 5.0+: an error naming the field and the file.
    if !v1_path(&g, "blkio").join("blkio.leaf_weight").exists() {
        let blkio = LinuxBlockIoBuilder::default()
            .leaf_weight(500u16)
            .build()
            .unwrap();
        let e = g
            .manager
            .set(
                &LinuxResourcesBuilder::default()
                    .block_io(blkio)
                    .build()
                    .unwrap(),
            )
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("linux.resources.blockIO.leafWeight") && msg.contains("blkio.leaf_weight"),
            "{msg}"
        );
    }
    let net = LinuxNetworkBuilder::default()
        .class_id(0x100001u32)
        .build()
        .unwrap();
    let r = LinuxResourcesBuilder::default()
        .network(net)
        .build()
        .unwrap();
    if v1_has(&g, "net_cls") {
        g.manager.set(&r).unwrap();
    } else {
        let e = g.manager.set(&r).unwrap_err();
        assert!(
            e.to_string().contains("linux.resources.network.classID"),
            "{e}"
        );
    }
    let r = LinuxResourcesBuilder::default()
        .unified(std::collections::HashMap::from([(
            "memory.high".to_string(),
            "1M".to_string(),
        )]))
        .build()
        .unwrap();
    let e = g.manager.set(&r).unwrap_err();
    assert!(e.to_string().contains("linux.resources.unified"), "{e}");
    let cpu = LinuxCpuBuilder::default().cpus("").build().unwrap();
    g.manager
        .set(&LinuxResourcesBuilder::default().cpu(cpu).build().unwrap())
        .unwrap();
}

fn v1_has(g: &Guard, controller: &str) -> bool {
    matches!(g.manager.state(), CgroupState::V1 { paths } if paths.contains_key(controller))
}

#[test]
fn hugetlb_on_hybrid_unified_mount() {
    if !is_root() {
        return;
    }
    // Lock and snapshot the cgroup2 root before the cgroup exists, so the
    // guards drop in the right order: cgroup first, then the root's controllers.
    if pure_v2() {
        eprintln!("skipping: a hybrid-host test, and this host is pure cgroup v2");
        return;
    }
    let _lock = UNIFIED_ROOT.lock().unwrap_or_else(|e| e.into_inner());
    let _restore = RestoreSubtree::new(Path::new("/sys/fs/cgroup/unified"));
    let Some(g) = setup() else { return };
    if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
        || v1_has(&g, "hugetlb")
        || !v1_has(&g, UNIFIED_KEY)
    {
        eprintln!("skipping: no 2MB pages, no cgroup2 mount, or hugetlb on v1");
        return;
    }
    assert_eq!(v1_path(&g, UNIFIED_KEY).parent().unwrap(), _restore.root);
    let limit = LinuxHugepageLimitBuilder::default()
        .page_size("2MB")
        .limit(4i64 << 20)
        .build()
        .unwrap();
    let r = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![limit])
        .build()
        .unwrap();
    g.manager.set(&r).unwrap();
    assert_eq!(
        read(&g, UNIFIED_KEY, "hugetlb.2MB.max"),
        (4u64 << 20).to_string()
    );
    let bad = LinuxHugepageLimitBuilder::default()
        .page_size("3MB")
        .limit(1i64)
        .build()
        .unwrap();
    let r = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![bad])
        .build()
        .unwrap();
    let e = g.manager.set(&r).unwrap_err();
    assert!(e.to_string().contains("hugepageLimits[0].pageSize"), "{e}");
}

#[test]
fn state_round_trip_finds_same_cgroup() {
    let Some(g) = setup() else { return };
    let json = serde_json::to_string(&g.manager.state()).unwrap();
    let state: CgroupState = serde_json::from_str(&json).unwrap();
    let again = crate::cgroups::manager_from_state(&state).unwrap();
    assert_eq!(again.pids().unwrap(), vec![g.pid()]);
    assert_eq!(again.state(), g.manager.state());
}

#[test]
fn destroy_removes_every_directory() {
    let Some(mut g) = setup_v1() else { return };
    let CgroupState::V1 { paths } = g.manager.state() else {
        panic!()
    };
    // A sub-cgroup, as a container may create.
    std::fs::create_dir(paths["memory"].join("sub")).unwrap();
    let _ = g.child.kill();
    let _ = g.child.wait();
    g.manager.destroy().unwrap();
    for (c, p) in &paths {
        assert!(!p.exists(), "{c}: {} still exists", p.display());
    }
    assert!(!g.manager.exists());
    assert_eq!(g.manager.pids().unwrap(), Vec::<i32>::new());
    // Twice is fine.
    g.manager.destroy().unwrap();
}

/// The v2 driver on the cgroup2 mount.
mod v2 {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::super::fs;
    use super::super::v2::V2Manager;
    use super::{is_root, unique_name, Guard, RestoreSubtree, UNIFIED_ROOT};
    use oci_spec::runtime::{LinuxHugepageLimitBuilder, LinuxResourcesBuilder};

    const UNIFIED: &str = "/sys/fs/cgroup/unified";

    #[test]
    fn v2_driver_on_the_cgroup2_mount() {
        if !is_root() {
            return;
        }
        if !Path::new(UNIFIED).join("cgroup.controllers").exists() {
            eprintln!("skipping: no cgroup2 mount at {UNIFIED}");
            return;
        }
        // apply enables controllers in the root; give the root back what it had.
        let _lock = UNIFIED_ROOT.lock().unwrap_or_else(|e| e.into_inner());
        let root = Path::new(UNIFIED);
        let restore = RestoreSubtree::new(root);
        let before = restore.before.clone();

        let top = root.join(unique_name());
        let _top_cleanup = RemoveOnDrop(top.clone());
        let dir = top.join("nested");
        let manager = Box::new(V2Manager::new(dir.clone()).unwrap());
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let mut g = Guard { manager, child };
        let pid = g.pid();
        g.manager.apply(pid).unwrap();
        assert_eq!(g.manager.pids().unwrap(), vec![pid]);
        let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        assert!(
            own.lines()
                .any(|l| l.starts_with("0::") && l.ends_with("/nested")),
            "{own}"
        );

        // Freezing works without any controller.
        g.manager.freeze().unwrap();
        assert!(g.manager.is_frozen().unwrap());
        assert!(fs::read(&dir, "cgroup.events")
            .unwrap()
            .lines()
            .any(|l| l == "frozen 1"));
        g.manager.thaw().unwrap();
        assert!(!g.manager.is_frozen().unwrap());

        let available = fs::read(root, "cgroup.controllers").unwrap();
        if available.split_whitespace().any(|c| c == "hugetlb")
            && Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
        {
            let limit = LinuxHugepageLimitBuilder::default()
                .page_size("2MB")
                .limit(2i64 << 20)
                .build()
                .unwrap();
            let r = LinuxResourcesBuilder::default()
                .hugepage_limits(vec![limit])
                .unified(HashMap::from([(
                    "cgroup.max.descendants".to_string(),
                    "3".to_string(),
                )]))
                .build()
                .unwrap();
            g.manager.set(&r).unwrap();
            assert_eq!(
                fs::read(&dir, "hugetlb.2MB.max").unwrap(),
                (2u64 << 20).to_string()
            );
            assert_eq!(fs::read(&dir, "cgroup.max.descendants").unwrap(), "3");
        }

        let _ = g.child.kill();
        let _ = g.child.wait();
        g.manager.destroy().unwrap();
        assert!(!dir.exists());
        // The parent apply created as well.
        fs::remove_cgroup(&top).unwrap();
        assert!(!top.exists());
        drop(g);
        drop(_top_cleanup);
        drop(restore);
        assert_eq!(fs::read(root, "cgroup.subtree_control").unwrap(), before);
    }

    /// The cgroup2 mount: the whole hierarchy on a pure v2 host, the hybrid
    /// host's `unified` mount otherwise.
    fn cgroup2_root() -> Option<&'static Path> {
        ["/sys/fs/cgroup", UNIFIED]
            .into_iter()
            .map(Path::new)
            .find(|p| p.join("cgroup.controllers").exists())
    }

    /// Issue 4, v2 device control: the eBPF program really allows and denies
    /// opening /dev/null for a process in the cgroup, a new rule set replaces
    /// the old program (one stays attached), and v1 semantics hold (a later
    /// deny strips access, a final `allow a` opens everything).
    #[test]
    fn v2_device_rules_are_enforced_by_ebpf() {
        use std::io::{BufRead, BufReader, Write};
        use std::process::Stdio;

        use super::super::bpf::attached_device_programs;
        use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType};
        if !is_root() {
            return;
        }
        let Some(root) = cgroup2_root() else {
            eprintln!("skipping: no cgroup2 mount");
            return;
        };
        let dir = root.join(unique_name());
        std::fs::create_dir(&dir).unwrap();
        let _cleanup = RemoveOnDrop(dir.clone());
        let manager = Box::new(V2Manager::new(dir.clone()).unwrap());
        // One line in, one verdict out: can a fresh process open /dev/null for writing?
        let child = Command::new("sh")
            .arg("-c")
            .arg("while read x; do if echo >/dev/null; then echo yes; else echo no; fi; done")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut g = Guard { manager, child };
        fs::write_pid(&dir, g.pid()).unwrap();
        let mut stdin = g.child.stdin.take().unwrap();
        let mut stdout = BufReader::new(g.child.stdout.take().unwrap());
        let mut can_open = || {
            stdin.write_all(b"\n").unwrap();
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            match line.trim() {
                "yes" => true,
                "no" => false,
                other => panic!("child said {other:?}"),
            }
        };
        let rule = |allow: bool, typ, major: Option<i64>, minor: Option<i64>, access: &str| {
            let mut b = LinuxDeviceCgroupBuilder::default()
                .allow(allow)
                .typ(typ)
                .access(access);
            if let Some(m) = major {
                b = b.major(m);
            }
            if let Some(m) = minor {
                b = b.minor(m);
            }
            b.build().unwrap()
        };
        let set = |rules: Vec<LinuxDeviceCgroup>| {
            let r = LinuxResourcesBuilder::default()
                .devices(rules)
                .build()
                .unwrap();
            g.manager.set(&r).unwrap();
            let attached = attached_device_programs(&dir).unwrap();
            assert_eq!(attached.len(), 1, "old programs detached: {attached:?}");
        };
        use LinuxDeviceType::{A, C};
        assert!(can_open(), "no program yet");
        set(vec![
            rule(false, A, None, None, "rwm"),
            rule(true, C, Some(1), Some(3), "rwm"),
        ]);
        assert!(can_open(), "c 1:3 allowed");
        set(vec![rule(false, A, None, None, "rwm")]);
        assert!(!can_open(), "deny-all");
        set(vec![
            rule(false, A, None, None, "rwm"),
            rule(true, C, Some(1), None, "r"),
        ]);
        assert!(!can_open(), "only read allowed, write denied");
        set(vec![
            rule(true, A, None, None, "rwm"),
            rule(false, C, Some(1), Some(3), "w"),
        ]);
        assert!(!can_open(), "allow-all with c 1:3 w denied");
        set(vec![
            rule(false, C, Some(1), Some(3), "rwm"),
            rule(true, A, None, None, "rwm"),
        ]);
        assert!(can_open(), "ends in allow-all");
        drop(g);
    }

    /// Removes a cgroup on drop (the parent `apply` created above the container's).
    struct RemoveOnDrop(PathBuf);

    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            if let Err(e) = fs::remove_cgroup(&self.0) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}
