//! The pure cgroup v2 driver.
//!
//! The container has one directory in the unified hierarchy. `apply` creates
//! it and enables, in every ancestor below the mount, the controllers the
//! parent offers (as runc does: which ones `set` will need is not known yet,
//! and once the container's cgroup holds processes its parent's
//! subtree_control is the only place left to do it). The OCI resources are
//! v1-shaped; this module converts them as runc does. Device rules become an
//! eBPF program attached to the container's cgroup (`bpf.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxNetwork,
    LinuxResources,
};

use super::paths::is_clean_absolute;
use super::{bpf, devices, fs, v1, CgroupError, CgroupState, Manager};

/// The v2 driver: the container's one directory.
#[derive(Debug, Clone)]
pub struct V2Manager {
    path: PathBuf,
}

impl V2Manager {
    /// A manager for the directory `path` (see [`CgroupState::V2`]); it must
    /// be absolute and free of `..`.
    pub fn new(path: PathBuf) -> Result<Self, CgroupError> {
        if !is_clean_absolute(&path) {
            return Err(CgroupError::Unsupported(format!(
                "cgroup v2 state: {} is not a clean absolute path",
                path.display()
            )));
        }
        Ok(V2Manager { path })
    }

    /// The container's cgroup directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn set_cpuset(&self, cpu: &LinuxCpu) -> Result<(), CgroupError> {
        if let Some(cpus) = cpu.cpus().as_deref().filter(|s| !s.is_empty()) {
            fs::write_field("linux.resources.cpu.cpus", &self.path, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = cpu.mems().as_deref().filter(|s| !s.is_empty()) {
            fs::write_field("linux.resources.cpu.mems", &self.path, "cpuset.mems", mems)?;
        }
        Ok(())
    }

    /// Device rules become an eBPF program attached to the cgroup, replacing
    /// the one a previous `set` attached (see `bpf.rs`). Always enforced:
    /// a kernel that refuses the program fails `set`.
    fn set_devices(&self, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
        let rules = devices::rules_from_spec(rules)?;
        bpf::apply_device_rules(&self.path, &rules)
    }

    fn set_memory(&self, m: &LinuxMemory) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.memory";
        let dir = &self.path;
        let invalid = |name: &str, reason: &str| CgroupError::InvalidValue {
            field: format!("{F}.{name}"),
            reason: reason.to_string(),
        };
        if m.kernel().is_some() {
            return Err(invalid(
                "kernel",
                "kernel memory limits do not exist on cgroup v2",
            ));
        }
        if m.kernel_tcp().is_some() {
            return Err(invalid(
                "kernelTCP",
                "kernel TCP memory limits do not exist on cgroup v2",
            ));
        }
        if m.swappiness().is_some() {
            return Err(invalid(
                "swappiness",
                "cgroup v2 has no per-cgroup swappiness",
            ));
        }
        if m.disable_oom_killer() == Some(true) {
            return Err(invalid(
                "disableOOMKiller",
                "cgroup v2 cannot disable the OOM killer for a cgroup",
            ));
        }
        if m.use_hierarchy() == Some(false) {
            return Err(invalid("useHierarchy", "cgroup v2 is always hierarchical"));
        }
        // 0 means "not set" for these, as in runc.
        let limit = m.limit().filter(|&v| v != 0);
        let reservation = m.reservation().filter(|&v| v != 0);
        for (name, v) in [
            ("limit", limit),
            ("reservation", reservation),
            ("swap", m.swap()),
        ] {
            if let Some(v) = v.filter(|&v| v < -1) {
                return Err(invalid(name, &format!("{v} is negative")));
            }
        }
        if m.check_before_update() == Some(true) {
            if let Some(l) = limit.filter(|&l| l > 0) {
                let usage = fs::read_u64(dir, "memory.current")?;
                if usage > l as u64 {
                    return Err(invalid(
                        "limit",
                        &format!("{l} is below the current usage {usage} (checkBeforeUpdate)"),
                    ));
                }
            }
        }
        if let Some(swap) = swap_v2(limit, m.swap())? {
            if dir.join("memory.swap.max").exists() {
                fs::write(dir, "memory.swap.max", &swap)?;
            } else if swap == "0" {
                // Without swap accounting nothing can forbid swap; runc carries on too.
                tracing::warn!(
                    "{F}.swap: no memory.swap.max in {} (no swap accounting); swap is not limited",
                    dir.display()
                );
            } else if swap != "max" {
                return Err(CgroupError::NotAvailable {
                    field: format!("{F}.swap"),
                    path: dir.join("memory.swap.max"),
                });
            }
        }
        if let Some(l) = limit {
            fs::write_field(&format!("{F}.limit"), dir, "memory.max", &max_or_number(l))?;
        }
        if let Some(r) = reservation {
            fs::write_field(
                &format!("{F}.reservation"),
                dir,
                "memory.low",
                &max_or_number(r),
            )?;
        }
        Ok(())
    }

    fn set_cpu(&self, c: &LinuxCpu) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.cpu";
        let dir = &self.path;
        if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
            let name = if c.realtime_runtime().is_some() {
                "realtimeRuntime"
            } else {
                "realtimePeriod"
            };
            return Err(CgroupError::InvalidValue {
                field: format!("{F}.{name}"),
                reason: "cgroup v2 has no real-time group scheduling".into(),
            });
        }
        if let Some(s) = c.shares().filter(|&v| v != 0) {
            fs::write_field(
                &format!("{F}.shares"),
                dir,
                "cpu.weight",
                &cpu_shares_to_weight(s).to_string(),
            )?;
        }
        // 0 means "not set", as in runc.
        let quota = c.quota().filter(|&v| v != 0);
        let period = c.period().filter(|&v| v != 0);
        let current = if quota.is_none() && period.is_some() {
            Some(fs::read(dir, "cpu.max")?)
        } else {
            None
        };
        let cpu_max = cpu_max_value(quota, period, current.as_deref());
        // A larger burst can be refused (EINVAL) until the new quota is in.
        let mut burst_later = None;
        if let Some(b) = c.burst() {
            match fs::write_field(&format!("{F}.burst"), dir, "cpu.max.burst", &b.to_string()) {
                Err(e) if cpu_max.is_some() && fs::errno(&e) == Some(libc::EINVAL) => {
                    burst_later = Some(b)
                }
                other => other?,
            }
        }
        if let Some(v) = cpu_max {
            let name = if quota.is_some() { "quota" } else { "period" };
            fs::write_field(&format!("{F}.{name}"), dir, "cpu.max", &v)?;
        }
        if let Some(b) = burst_later {
            fs::write(dir, "cpu.max.burst", &b.to_string())?;
        }
        if let Some(i) = c.idle() {
            fs::write_field(&format!("{F}.idle"), dir, "cpu.idle", &i.to_string())?;
        }
        Ok(())
    }

    fn set_io(&self, b: &LinuxBlockIo) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.blockIO";
        let dir = &self.path;
        // 0 means "not set" for the weights, as in runc (Docker sends weight 0).
        if b.leaf_weight().is_some_and(|w| w != 0) {
            return Err(CgroupError::InvalidValue {
                field: format!("{F}.leafWeight"),
                reason: "cgroup v2 has no leaf weights".into(),
            });
        }
        // BFQ takes v1-style weights directly; otherwise io.weight, converted.
        let bfq = dir.join("io.bfq.weight").exists();
        if let Some(w) = b.weight().filter(|w| *w != 0) {
            if bfq {
                fs::write(dir, "io.bfq.weight", &w.to_string())?;
            } else {
                fs::write_field(
                    &format!("{F}.weight"),
                    dir,
                    "io.weight",
                    &blkio_weight_to_io_weight(w).to_string(),
                )?;
            }
        }
        // Per-device BFQ weights arrived in Linux 5.4; older BFQ shows a bare number.
        let bfq_per_device = bfq
            && fs::read(dir, "io.bfq.weight")?
                .trim()
                .parse::<u64>()
                .is_err();
        for (i, wd) in b.weight_device().iter().flatten().enumerate() {
            if wd.leaf_weight().is_some() {
                return Err(CgroupError::InvalidValue {
                    field: format!("{F}.weightDevice[{i}].leafWeight"),
                    reason: "cgroup v2 has no leaf weights".into(),
                });
            }
            let Some(w) = wd.weight() else { continue };
            let field = format!("{F}.weightDevice[{i}].weight");
            let dev = format!("{}:{}", wd.major(), wd.minor());
            if bfq_per_device {
                fs::write(dir, "io.bfq.weight", &format!("{dev} {w}"))?;
            } else {
                fs::write_field(
                    &field,
                    dir,
                    "io.weight",
                    &format!("{dev} {}", blkio_weight_to_io_weight(w)),
                )?;
            }
        }
        let throttles = [
            (
                "throttleReadBpsDevice",
                "rbps",
                b.throttle_read_bps_device(),
            ),
            (
                "throttleWriteBpsDevice",
                "wbps",
                b.throttle_write_bps_device(),
            ),
            (
                "throttleReadIOPSDevice",
                "riops",
                b.throttle_read_iops_device(),
            ),
            (
                "throttleWriteIOPSDevice",
                "wiops",
                b.throttle_write_iops_device(),
            ),
        ];
        for (name, key, list) in throttles {
            for (i, t) in list.iter().flatten().enumerate() {
                let value = format!("{}:{} {key}={}", t.major(), t.minor(), t.rate());
                fs::write_field(&format!("{F}.{name}[{i}]"), dir, "io.max", &value)?;
            }
        }
        Ok(())
    }

    fn set_network(&self, n: &LinuxNetwork) -> Result<(), CgroupError> {
        let reason = "cgroup v2 has no net_cls/net_prio controllers (use eBPF or tc instead)";
        if n.class_id().is_some() {
            return Err(CgroupError::InvalidValue {
                field: "linux.resources.network.classID".into(),
                reason: reason.into(),
            });
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(CgroupError::InvalidValue {
                field: "linux.resources.network.priorities".into(),
                reason: reason.into(),
            });
        }
        Ok(())
    }

    fn set_unified(&self, unified: &HashMap<String, String>) -> Result<(), CgroupError> {
        // Sorted, so that errors and effects do not depend on hash order.
        let mut keys: Vec<&String> = unified.keys().collect();
        keys.sort();
        for key in keys {
            let field = format!("linux.resources.unified.{key}");
            check_unified_key(key).map_err(|reason| CgroupError::InvalidValue {
                field: field.clone(),
                reason,
            })?;
            // Multi-line values (io.max for several devices) take one write per line.
            for line in unified[key].lines().filter(|l| !l.trim().is_empty()) {
                fs::write_field(&field, &self.path, key, line)?;
            }
        }
        Ok(())
    }

    /// Write cgroup.freeze and wait for cgroup.events to agree.
    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let dir = &self.path;
        if !dir.join("cgroup.freeze").exists() {
            if !frozen {
                return Ok(()); // Nothing can be frozen without it.
            }
            return Err(CgroupError::Unsupported(format!(
                "{} does not exist (Linux < 5.2): cannot freeze",
                dir.join("cgroup.freeze").display()
            )));
        }
        let want = if frozen { "1" } else { "0" };
        fs::write(dir, "cgroup.freeze", want)?;
        let wanted_line = format!("frozen {want}");
        // Up to 10s: freezing waits for every task to reach a safe point.
        for _ in 0..1000 {
            if fs::read(dir, "cgroup.events")?
                .lines()
                .any(|l| l == wanted_line)
            {
                return Ok(());
            }
            sleep(Duration::from_millis(10));
        }
        if frozen {
            // Do not leave it half frozen.
            let _ = fs::write(dir, "cgroup.freeze", "0");
        }
        Err(CgroupError::Timeout {
            path: dir.join("cgroup.events"),
            what: wanted_line,
        })
    }
}

impl Manager for V2Manager {
    fn apply(&self, pid: i32) -> Result<(), CgroupError> {
        let chain = fs::create_cgroup(&self.path)?;
        for level in &chain[..chain.len() - 1] {
            if may_enable_controllers(level)? {
                enable_all_controllers(level)?;
            }
        }
        fs::write_pid(&self.path, pid)
    }

    fn set(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(cpu) = r.cpu() {
            self.set_cpuset(cpu)?;
        }
        if let Some(rules) = r.devices() {
            self.set_devices(rules)?;
        }
        if let Some(m) = r.memory() {
            self.set_memory(m)?;
        }
        if let Some(cpu) = r.cpu() {
            self.set_cpu(cpu)?;
        }
        if let Some(p) = r.pids() {
            fs::write_field(
                "linux.resources.pids.limit",
                &self.path,
                "pids.max",
                &v1::pids_max(p.limit()),
            )?;
        }
        if let Some(b) = r.block_io() {
            self.set_io(b)?;
        }
        if let Some(limits) = r.hugepage_limits().as_deref().filter(|l| !l.is_empty()) {
            v1::check_hugepage_sizes(limits)?;
            write_hugetlb_v2(&self.path, limits)?;
        }
        if let Some(n) = r.network() {
            self.set_network(n)?;
        }
        if let Some(rdma) = r.rdma() {
            v1::write_rdma(&self.path, rdma)?;
        }
        // Last, so that explicit unified keys win over converted fields.
        if let Some(u) = r.unified() {
            self.set_unified(u)?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        fs::procs_recursive(&self.path)
    }

    fn destroy_except(&self, keep: &[PathBuf]) -> Result<(), CgroupError> {
        if keep.contains(&self.path) {
            return Ok(());
        }
        fs::remove_cgroup(&self.path)
    }

    fn directories(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        if !self.path.join("cgroup.freeze").exists() {
            return Ok(false);
        }
        Ok(fs::read(&self.path, "cgroup.freeze")?.trim() == "1")
    }

    fn exists(&self) -> bool {
        self.path.exists()
    }

    fn state(&self) -> CgroupState {
        CgroupState::V2 {
            path: self.path.clone(),
        }
    }

    fn delegate_to(&self, uid: u32, gid: u32) -> Result<(), CgroupError> {
        // The kernel's list of files a delegatee may write; the documented
        // three where the kernel is too old to have it.
        let listed = std::fs::read_to_string("/sys/kernel/cgroup/delegate")
            .unwrap_or_else(|_| "cgroup.procs\ncgroup.subtree_control\ncgroup.threads\n".into());
        let chown = |path: &Path| {
            nix::unistd::chown(
                path,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .map_err(|e| CgroupError::Io {
                path: path.to_path_buf(),
                source: e.into(),
            })
        };
        chown(&self.path)?;
        for name in listed.split_whitespace().filter(|n| !n.contains('/')) {
            let file = self.path.join(name);
            // A listed file this cgroup lacks (its controller is off) is fine.
            if file.exists() {
                chown(&file)?;
            }
        }
        Ok(())
    }
}

/// Whether `apply` may enable controllers for `level`'s children. Not when
/// `level` is a non-root cgroup holding processes of its own: the kernel
/// refuses domain controllers there (EBUSY, no internal processes) but
/// accepts the threaded ones (cpu, cpuset, pids), which make `level` a thread
/// root whose new children then refuse every process (EOPNOTSUPP). That is
/// `exec --cgroup SUB`: SUB is made below the container's cgroup, which holds
/// the init. Only the root cgroup (the one without `cgroup.type`) may mix.
fn may_enable_controllers(level: &Path) -> Result<bool, CgroupError> {
    if !level.join("cgroup.type").exists() {
        return Ok(true);
    }
    Ok(fs::read(level, "cgroup.procs")?.trim().is_empty())
}

/// Enable for `level`'s children every controller `level` has. Failures are
/// tolerated (a controller may be unavailable to delegated or populated
/// cgroups); `set` then fails naming the missing file if it is needed.
fn enable_all_controllers(level: &Path) -> Result<(), CgroupError> {
    let available = fs::read(level, "cgroup.controllers")?;
    let enabled = fs::read(level, "cgroup.subtree_control")?;
    let missing: Vec<&str> = available
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
    if fs::write(level, "cgroup.subtree_control", &all.join(" ")).is_err() {
        for c in missing {
            if let Err(e) = fs::write(level, "cgroup.subtree_control", &format!("+{c}")) {
                tracing::debug!("{e}");
            }
        }
    }
    Ok(())
}

/// hugetlb.<size>.max (and the reservation limit where the kernel has it).
pub(crate) fn write_hugetlb_v2(
    dir: &Path,
    limits: &[LinuxHugepageLimit],
) -> Result<(), CgroupError> {
    for (i, l) in limits.iter().enumerate() {
        let prefix = format!("hugetlb.{}", l.page_size());
        let value = max_or_number(l.limit());
        fs::write_field(
            &format!("linux.resources.hugepageLimits[{i}]"),
            dir,
            &format!("{prefix}.max"),
            &value,
        )?;
        let rsvd = format!("{prefix}.rsvd.max");
        if dir.join(&rsvd).exists() {
            fs::write(dir, &rsvd, &value)?;
        }
    }
    Ok(())
}

/// v2 spells "no limit" as `max`; OCI (from v1) as -1.
fn max_or_number(v: i64) -> String {
    if v == -1 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// cpu.shares (v1, 2..=262144, default 1024) to cpu.weight (v2, 1..=10000,
/// default 100), with runc's current conversion: a quadratic in log2(shares)
/// through the minimum, default and maximum of both ranges. The linear map
/// runc used before sent the default 1024 shares to weight 39.
pub fn cpu_shares_to_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        262_144.. => 10_000,
        _ => {
            let l = (shares as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

/// blkio.weight (10..=1000) to io.weight (1..=10000), linearly, as runc.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// The value for memory.swap.max, if any. OCI's swap is memory+swap (a v1
/// notion); v2 limits swap alone, so the memory limit is subtracted, with
/// runc's special cases. 0 means unset for both inputs.
pub fn swap_v2(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>, CgroupError> {
    let field = "linux.resources.memory.swap";
    let memory = limit.unwrap_or(0);
    let swap = swap.unwrap_or(0);
    let value = match (memory, swap) {
        // Unlimited memory, swap unspecified: unlimited swap too, as v1 would.
        (-1, 0) => -1,
        (_, 0) => return Ok(None),
        (_, -1) => -1,
        // Unlimited memory: the swap figure has nothing to be subtracted from.
        (-1, s) => s,
        (0, _) => {
            return Err(CgroupError::InvalidValue {
                field: field.into(),
                reason: "a swap limit needs a memory limit on cgroup v2 (swap is memory+swap)"
                    .into(),
            })
        }
        (m, s) if s < m => {
            return Err(CgroupError::InvalidValue {
                field: field.into(),
                reason: format!("memory+swap {s} is below the memory limit {m}"),
            })
        }
        (m, s) => s - m,
    };
    Ok(Some(max_or_number(value)))
}

/// The value for cpu.max ("$QUOTA $PERIOD"). A quota alone is written alone
/// (the kernel keeps the period); a period alone keeps the current quota.
pub fn cpu_max_value(
    quota: Option<i64>,
    period: Option<u64>,
    current: Option<&str>,
) -> Option<String> {
    let quota_str = |q: i64| {
        if q > 0 {
            q.to_string()
        } else {
            "max".to_string()
        }
    };
    match (quota, period) {
        (None, None) => None,
        (Some(q), Some(p)) => Some(format!("{} {p}", quota_str(q))),
        (Some(q), None) => Some(quota_str(q)),
        (None, Some(p)) => {
            let q = current
                .and_then(|c| c.split_whitespace().next())
                .unwrap_or("max");
            Some(format!("{q} {p}"))
        }
    }
}

/// A unified key must name a file in the cgroup directory: `controller.knob`.
fn check_unified_key(key: &str) -> Result<(), String> {
    if key.contains('/') || key.contains('\0') {
        return Err("must be a file name, without \"/\"".into());
    }
    match key.split_once('.') {
        Some((controller, knob)) if !controller.is_empty() && !knob.is_empty() => Ok(()),
        _ => Err("must have the form <controller>.<knob>".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder,
        LinuxResourcesBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
    };

    #[test]
    fn shares_to_weight() {
        // runc's table: out of range, min, just above min, default, just below max, max.
        assert_eq!(cpu_shares_to_weight(0), 0);
        assert_eq!(cpu_shares_to_weight(1), 1);
        assert_eq!(cpu_shares_to_weight(2), 1);
        assert_eq!(cpu_shares_to_weight(3), 2);
        assert_eq!(cpu_shares_to_weight(1024), 100);
        assert_eq!(cpu_shares_to_weight(262_143), 10_000);
        assert_eq!(cpu_shares_to_weight(262_144), 10_000);
        assert_eq!(cpu_shares_to_weight(1 << 20), 10_000);
        // Monotonic across the range.
        let mut last = 0;
        for s in 2..=262_144 {
            let w = cpu_shares_to_weight(s);
            assert!(w >= last && (1..=10_000).contains(&w), "{s} -> {w}");
            last = w;
        }
    }

    #[test]
    fn blkio_weight_conversion() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(blkio_weight_to_io_weight(500), 1 + 490 * 9999 / 990);
    }

    #[test]
    fn swap_computation() {
        let mib = 1i64 << 20;
        assert_eq!(swap_v2(None, None).unwrap(), None);
        assert_eq!(swap_v2(Some(100 * mib), None).unwrap(), None);
        assert_eq!(swap_v2(Some(-1), None).unwrap().as_deref(), Some("max"));
        assert_eq!(
            swap_v2(Some(100 * mib), Some(-1)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(
            swap_v2(Some(100 * mib), Some(300 * mib)).unwrap(),
            Some((200 * mib).to_string())
        );
        // swap == limit: no swap at all.
        assert_eq!(
            swap_v2(Some(100 * mib), Some(100 * mib))
                .unwrap()
                .as_deref(),
            Some("0")
        );
        assert_eq!(
            swap_v2(Some(-1), Some(300 * mib)).unwrap(),
            Some((300 * mib).to_string())
        );
        assert!(swap_v2(None, Some(300 * mib)).is_err());
        assert!(swap_v2(Some(300 * mib), Some(100 * mib)).is_err());
    }

    #[test]
    fn cpu_max() {
        assert_eq!(cpu_max_value(None, None, None), None);
        assert_eq!(
            cpu_max_value(Some(50_000), Some(100_000), None).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            cpu_max_value(Some(-1), Some(100_000), None).as_deref(),
            Some("max 100000")
        );
        assert_eq!(
            cpu_max_value(Some(20_000), None, None).as_deref(),
            Some("20000")
        );
        assert_eq!(
            cpu_max_value(None, Some(50_000), Some("20000 100000")).as_deref(),
            Some("20000 50000")
        );
        assert_eq!(
            cpu_max_value(None, Some(50_000), Some("max 100000")).as_deref(),
            Some("max 50000")
        );
    }

    #[test]
    fn unified_keys() {
        assert!(check_unified_key("memory.high").is_ok());
        assert!(check_unified_key("cgroup.max.descendants").is_ok());
        assert!(check_unified_key("../memory.max").is_err());
        assert!(check_unified_key("memory").is_err());
        assert!(check_unified_key(".max").is_err());
    }

    /// A stand-in cgroup directory on a plain filesystem: files exist as the
    /// kernel would offer them, so `set` can be checked without a v2 host.
    struct FakeCgroup(PathBuf);

    impl FakeCgroup {
        fn new(files: &[&str]) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "husk-v2-fake-{}-{}",
                std::process::id(),
                super::super::root_tests::unique_name()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            for f in files {
                std::fs::write(dir.join(f), "").unwrap();
            }
            FakeCgroup(dir)
        }
        fn read(&self, f: &str) -> String {
            std::fs::read_to_string(self.0.join(f)).unwrap()
        }
    }

    impl Drop for FakeCgroup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn controllers_are_not_enabled_below_a_populated_cgroup() {
        // The root mixes processes and controllers.
        let root = FakeCgroup::new(&["cgroup.procs"]);
        std::fs::write(root.0.join("cgroup.procs"), "1\n").unwrap();
        assert!(may_enable_controllers(&root.0).unwrap());
        // Any other cgroup only while it holds no process itself.
        let level = FakeCgroup::new(&["cgroup.type", "cgroup.procs"]);
        assert!(may_enable_controllers(&level.0).unwrap());
        std::fs::write(level.0.join("cgroup.procs"), "4242\n").unwrap();
        assert!(!may_enable_controllers(&level.0).unwrap());
    }

    /// `exec --cgroup SUB` into a running container on cgroup v2: SUB is made
    /// below a cgroup that holds a process and must still take one (on a
    /// pure v2 host this failed with EOPNOTSUPP: the container's cgroup had
    /// become a thread root). Runs on whichever cgroup2 mount this host has.
    #[test]
    fn sub_cgroup_of_a_populated_cgroup_takes_a_process() {
        use super::super::root_tests::{is_root, unique_name, Guard, RestoreSubtree, UNIFIED_ROOT};
        use std::process::Command;
        if !is_root() {
            return;
        }
        let Some(mount) = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
            .into_iter()
            .map(Path::new)
            .find(|m| m.join("cgroup.controllers").exists())
        else {
            eprintln!("skipping: no cgroup2 mount");
            return;
        };
        let _lock = UNIFIED_ROOT.lock().unwrap_or_else(|e| e.into_inner());
        let _restore = RestoreSubtree::new(mount);
        let top = mount.join(unique_name());
        let spawn = || Command::new("sleep").arg("30").spawn().unwrap();
        let container = Guard {
            manager: Box::new(V2Manager::new(top.clone()).unwrap()),
            child: spawn(),
        };
        container.manager.apply(container.pid()).unwrap();
        let exec = Guard {
            manager: Box::new(V2Manager::new(top.join("made/here")).unwrap()),
            child: spawn(),
        };
        exec.manager.apply(exec.pid()).unwrap();
        assert_eq!(exec.manager.pids().unwrap(), vec![exec.pid()]);
        assert_eq!(fs::read(&top, "cgroup.subtree_control").unwrap(), "");
        assert_eq!(fs::read(&top, "cgroup.type").unwrap(), "domain");
        drop(exec);
        drop(container);
        assert!(!top.exists());
    }

    #[test]
    fn set_maps_resources_to_v2_files() {
        let fake = FakeCgroup::new(&[
            "memory.max",
            "memory.low",
            "memory.swap.max",
            "cpu.weight",
            "cpu.max",
            "cpu.max.burst",
            "cpuset.cpus",
            "cpuset.mems",
            "pids.max",
            "io.weight",
            "io.max",
            "memory.high",
        ]);
        let m = V2Manager::new(fake.0.clone()).unwrap();
        let mib = 1i64 << 20;
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 * mib)
                    .swap(96 * mib)
                    .reservation(32 * mib)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(50_000i64)
                    .period(100_000u64)
                    .burst(1_000u64)
                    .cpus("0-1")
                    .mems("0")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(-1i64).build().unwrap())
            .block_io(
                LinuxBlockIoBuilder::default()
                    .weight(1000u16)
                    .throttle_read_bps_device(vec![LinuxThrottleDeviceBuilder::default()
                        .major(8i64)
                        .minor(0i64)
                        .rate(1_048_576u64)
                        .build()
                        .unwrap()])
                    .build()
                    .unwrap(),
            )
            .unified(HashMap::from([(
                "memory.high".to_string(),
                "50M".to_string(),
            )]))
            .build()
            .unwrap();
        m.set(&r).unwrap();
        assert_eq!(fake.read("memory.max"), (64 * mib).to_string());
        assert_eq!(fake.read("memory.swap.max"), (32 * mib).to_string());
        assert_eq!(fake.read("memory.low"), (32 * mib).to_string());
        assert_eq!(fake.read("cpu.weight"), "100");
        assert_eq!(fake.read("cpu.max"), "50000 100000");
        assert_eq!(fake.read("cpu.max.burst"), "1000");
        assert_eq!(fake.read("cpuset.cpus"), "0-1");
        assert_eq!(fake.read("cpuset.mems"), "0");
        assert_eq!(fake.read("pids.max"), "max");
        assert_eq!(fake.read("io.weight"), "10000");
        assert_eq!(fake.read("io.max"), "8:0 rbps=1048576");
        assert_eq!(fake.read("memory.high"), "50M");
    }

    #[test]
    fn set_rejects_what_v2_cannot_do() {
        let fake = FakeCgroup::new(&["memory.max", "cpu.max", "io.weight"]);
        let m = V2Manager::new(fake.0.clone()).unwrap();
        let cases = [
            (
                LinuxResourcesBuilder::default()
                    .memory(
                        LinuxMemoryBuilder::default()
                            .kernel(1i64 << 20)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
                "linux.resources.memory.kernel",
            ),
            (
                LinuxResourcesBuilder::default()
                    .memory(
                        LinuxMemoryBuilder::default()
                            .swappiness(10u64)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
                "linux.resources.memory.swappiness",
            ),
            (
                LinuxResourcesBuilder::default()
                    .cpu(
                        LinuxCpuBuilder::default()
                            .realtime_runtime(1000i64)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
                "linux.resources.cpu.realtimeRuntime",
            ),
            (
                LinuxResourcesBuilder::default()
                    .block_io(
                        LinuxBlockIoBuilder::default()
                            .weight_device(vec![LinuxWeightDeviceBuilder::default()
                                .major(8i64)
                                .minor(0i64)
                                .leaf_weight(100u16)
                                .build()
                                .unwrap()])
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
                "linux.resources.blockIO.weightDevice[0].leafWeight",
            ),
            (
                LinuxResourcesBuilder::default()
                    .pids(LinuxPidsBuilder::default().limit(5i64).build().unwrap())
                    .build()
                    .unwrap(),
                "linux.resources.pids.limit",
            ),
            (
                LinuxResourcesBuilder::default()
                    .unified(HashMap::from([("../etc".to_string(), "x".to_string())]))
                    .build()
                    .unwrap(),
                "linux.resources.unified.../etc",
            ),
        ];
        for (r, field) in cases {
            let err = m.set(&r).unwrap_err();
            assert!(err.to_string().starts_with(field), "{field}: {err}");
        }
    }

    #[test]
    fn period_alone_keeps_quota() {
        let fake = FakeCgroup::new(&["cpu.max"]);
        std::fs::write(fake.0.join("cpu.max"), "20000 100000\n").unwrap();
        let m = V2Manager::new(fake.0.clone()).unwrap();
        let r = LinuxResourcesBuilder::default()
            .cpu(
                LinuxCpuBuilder::default()
                    .period(50_000u64)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        m.set(&r).unwrap();
        assert_eq!(fake.read("cpu.max"), "20000 50000");
    }
}
