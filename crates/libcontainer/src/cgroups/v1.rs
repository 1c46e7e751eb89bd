//! The cgroup v1 driver, for v1 and hybrid hosts.
//!
//! The container has one directory per mounted hierarchy (and, on hybrid
//! hosts, one in the cgroup2 mount beside them, so tools that look there find
//! it, as with runc). This module writes v1 knobs only; it never touches a
//! hierarchy root or a cgroup outside the container's directories, except to
//! create missing parents, seed their empty cpusets, and enable hugetlb in the
//! cgroup2 parents when huge page limits are set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxNetwork,
    LinuxRdma, LinuxResources,
};

use super::paths::{is_clean_absolute, UNIFIED_KEY};
use super::{devices, fs, CgroupError, CgroupState, Manager};

/// Hierarchies in the order runc's fs driver visits them; `apply` and `pids`
/// follow it so that cpuset is populated before anything else.
const ORDER: &[&str] = &[
    "cpuset",
    "devices",
    "memory",
    "cpu",
    "cpuacct",
    "pids",
    "blkio",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "freezer",
    "rdma",
    "misc",
    "name=systemd",
    UNIFIED_KEY,
];

/// The v1 driver: the container's directory in each hierarchy.
#[derive(Debug, Clone)]
pub struct V1Manager {
    /// Controller → directory; co-mounted controllers share one.
    paths: BTreeMap<String, PathBuf>,
}

impl V1Manager {
    /// A manager for the given directories (see [`CgroupState::V1`]). Paths
    /// must be absolute and free of `..`.
    pub fn new(paths: BTreeMap<String, PathBuf>) -> Result<Self, CgroupError> {
        if paths.is_empty() {
            return Err(CgroupError::Unsupported(
                "cgroup v1 state names no hierarchy".into(),
            ));
        }
        if let Some((c, p)) = paths.iter().find(|(_, p)| !is_clean_absolute(p)) {
            return Err(CgroupError::Unsupported(format!(
                "cgroup v1 state: {c} path {} is not a clean absolute path",
                p.display()
            )));
        }
        Ok(V1Manager { paths })
    }

    /// The container's directory for `controller`, if that hierarchy is mounted.
    pub fn path(&self, controller: &str) -> Option<&Path> {
        self.paths.get(controller).map(PathBuf::as_path)
    }

    /// The directory for `controller`, or an error naming the config field that needs it.
    fn need(&self, controller: &str, field: &str) -> Result<&Path, CgroupError> {
        self.path(controller)
            .ok_or_else(|| CgroupError::NoController {
                field: field.to_string(),
                controller: controller.to_string(),
            })
    }

    /// Each directory once, hierarchies in runc's order.
    fn dirs(&self) -> Vec<&Path> {
        let mut seen = BTreeSet::new();
        let known = ORDER.iter().filter_map(|c| self.paths.get(*c));
        let others = self
            .paths
            .iter()
            .filter(|(c, _)| !ORDER.contains(&c.as_str()))
            .map(|(_, p)| p);
        known
            .chain(others)
            .filter(|p| seen.insert(p.as_path()))
            .map(PathBuf::as_path)
            .collect()
    }

    fn set_cpuset(&self, cpu: &LinuxCpu) -> Result<(), CgroupError> {
        let cpus = cpu.cpus().as_deref().filter(|s| !s.is_empty());
        let mems = cpu.mems().as_deref().filter(|s| !s.is_empty());
        if let Some(cpus) = cpus {
            let dir = self.need("cpuset", "linux.resources.cpu.cpus")?;
            fs::write_field("linux.resources.cpu.cpus", dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = mems {
            let dir = self.need("cpuset", "linux.resources.cpu.mems")?;
            fs::write_field("linux.resources.cpu.mems", dir, "cpuset.mems", mems)?;
        }
        Ok(())
    }

    fn set_devices(&self, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
        let rules = devices::rules_from_spec(rules)?;
        let dir = self.need("devices", "linux.resources.devices")?;
        // Known gap: on a running container (update) this passes through
        // deny-all for a moment; runc computes a minimal transition instead.
        for rule in devices::v1_sequence(&rules) {
            fs::write(dir, rule.v1_file(), &rule.v1_string())?;
        }
        Ok(())
    }

    fn set_memory(&self, m: &LinuxMemory) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.memory";
        // 0 means "not set" for these, as in runc.
        let limit = m.limit().filter(|&v| v != 0);
        let mut swap = m.swap().filter(|&v| v != 0);
        let reservation = m.reservation().filter(|&v| v != 0);
        let anything = limit.is_some()
            || swap.is_some()
            || reservation.is_some()
            || m.kernel().is_some()
            || m.kernel_tcp().is_some()
            || m.swappiness().is_some()
            || m.disable_oom_killer().is_some()
            || m.use_hierarchy().is_some();
        if !anything {
            return Ok(());
        }
        let dir = self.need("memory", F)?;
        check_memory_values(limit, swap)?;

        if m.check_before_update() == Some(true) {
            if let Some(l) = limit.filter(|&l| l > 0) {
                let usage = fs::read_u64(dir, "memory.usage_in_bytes")?;
                if usage > l as u64 {
                    return Err(CgroupError::InvalidValue {
                        field: format!("{F}.limit"),
                        reason: format!(
                            "{l} is below the current usage {usage} (checkBeforeUpdate)"
                        ),
                    });
                }
            }
        }

        const MEMSW: &str = "memory.memsw.limit_in_bytes";
        let have_memsw = dir.join(MEMSW).exists();
        // Unlimited memory with swap unspecified means unlimited swap too (runc).
        if limit == Some(-1) && swap.is_none() && have_memsw {
            swap = Some(-1);
        }
        if let Some(s) = swap {
            if !have_memsw {
                if s != -1 {
                    return Err(CgroupError::NotAvailable {
                        field: format!("{F}.swap"),
                        path: dir.join(MEMSW),
                    });
                }
                // Without swap accounting swap is not limited at all: -1 is already the state.
                swap = None;
            }
        }
        match (limit, swap) {
            (Some(l), Some(s)) => {
                let current_memsw = fs::read_u64(dir, MEMSW)?;
                if swap_first(l, s, current_memsw) {
                    fs::write(dir, MEMSW, &s.to_string())?;
                    write_memory_limit(dir, l)?;
                } else {
                    write_memory_limit(dir, l)?;
                    fs::write(dir, MEMSW, &s.to_string())?;
                }
            }
            (Some(l), None) => {
                // The kernel keeps limit <= memsw; with no new memsw given, a
                // limit above the current one can only fail (EINVAL). Say why.
                if have_memsw && l > 0 {
                    let current_memsw = fs::read_u64(dir, MEMSW)?;
                    if l as u64 > current_memsw {
                        return Err(CgroupError::InvalidValue {
                            field: format!("{F}.limit"),
                            reason: format!(
                                "{l} exceeds the current memory+swap limit {current_memsw};                                  set {F}.swap as well"
                            ),
                        });
                    }
                }
                write_memory_limit(dir, l)?
            }
            (None, Some(s)) => fs::write(dir, MEMSW, &s.to_string())?,
            (None, None) => {}
        }
        if let Some(r) = reservation {
            fs::write(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
        }
        if let Some(k) = m.kernel() {
            write_verified(&format!("{F}.kernel"), dir, "memory.kmem.limit_in_bytes", k)?;
        }
        if let Some(k) = m.kernel_tcp() {
            write_verified(
                &format!("{F}.kernelTCP"),
                dir,
                "memory.kmem.tcp.limit_in_bytes",
                k,
            )?;
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                return Err(CgroupError::InvalidValue {
                    field: format!("{F}.swappiness"),
                    reason: format!("{s} is outside 0..=100"),
                });
            }
            fs::write_field(
                &format!("{F}.swappiness"),
                dir,
                "memory.swappiness",
                &s.to_string(),
            )?;
        }
        if let Some(d) = m.disable_oom_killer() {
            let v = if d { "1" } else { "0" };
            fs::write_field(
                &format!("{F}.disableOOMKiller"),
                dir,
                "memory.oom_control",
                v,
            )?;
        }
        if let Some(h) = m.use_hierarchy() {
            let v = if h { "1" } else { "0" };
            fs::write_field(&format!("{F}.useHierarchy"), dir, "memory.use_hierarchy", v)?;
        }
        Ok(())
    }

    fn set_cpu(&self, c: &LinuxCpu) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.cpu";
        // 0 means "not set" for these, as in runc.
        let shares = c.shares().filter(|&v| v != 0);
        let quota = c.quota().filter(|&v| v != 0);
        let period = c.period().filter(|&v| v != 0);
        let rt_runtime = c.realtime_runtime().filter(|&v| v != 0);
        let rt_period = c.realtime_period().filter(|&v| v != 0);
        let burst = c.burst();
        let idle = c.idle();
        if shares.is_none()
            && quota.is_none()
            && period.is_none()
            && rt_runtime.is_none()
            && rt_period.is_none()
            && burst.is_none()
            && idle.is_none()
        {
            return Ok(());
        }
        let dir = self.need("cpu", F)?;

        if let Some(s) = shares {
            fs::write_field(&format!("{F}.shares"), dir, "cpu.shares", &s.to_string())?;
            // The kernel clamps silently; say so instead of running with another value.
            let got = fs::read_u64(dir, "cpu.shares")?;
            if got != s {
                return Err(CgroupError::InvalidValue {
                    field: format!("{F}.shares"),
                    reason: format!("the kernel clamped {s} to {got} (allowed: 2..=262144)"),
                });
            }
        }

        // Period, burst and quota constrain each other against the parent's
        // quota, so a new period or burst can be refused (EINVAL) until the new
        // quota is in: retry those after the quota.
        let retry_period = write_maybe_later(
            &format!("{F}.period"),
            dir,
            "cpu.cfs_period_us",
            period,
            quota.is_some(),
        )?;
        let retry_burst = write_maybe_later(
            &format!("{F}.burst"),
            dir,
            "cpu.cfs_burst_us",
            burst,
            quota.is_some(),
        )?;
        if let Some(q) = quota {
            fs::write_field(
                &format!("{F}.quota"),
                dir,
                "cpu.cfs_quota_us",
                &q.to_string(),
            )?;
        }
        if let Some(p) = retry_period {
            fs::write(dir, "cpu.cfs_period_us", &p.to_string())?;
        }
        if let Some(b) = retry_burst {
            fs::write(dir, "cpu.cfs_burst_us", &b.to_string())?;
        }

        // Real-time: the period may be refused until the runtime fits it.
        let retry_rt = write_maybe_later(
            &format!("{F}.realtimePeriod"),
            dir,
            "cpu.rt_period_us",
            rt_period,
            rt_runtime.is_some(),
        )?;
        if let Some(r) = rt_runtime {
            fs::write_field(
                &format!("{F}.realtimeRuntime"),
                dir,
                "cpu.rt_runtime_us",
                &r.to_string(),
            )?;
        }
        if let Some(p) = retry_rt {
            fs::write(dir, "cpu.rt_period_us", &p.to_string())?;
        }

        // Last: an idle cgroup refuses cpu.shares writes.
        if let Some(i) = idle {
            fs::write_field(&format!("{F}.idle"), dir, "cpu.idle", &i.to_string())?;
        }
        Ok(())
    }

    fn set_pids(&self, limit: i64) -> Result<(), CgroupError> {
        let dir = self.need("pids", "linux.resources.pids.limit")?;
        fs::write_field(
            "linux.resources.pids.limit",
            dir,
            "pids.max",
            &pids_max(limit),
        )
    }

    fn set_blkio(&self, b: &LinuxBlockIo) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.blockIO";
        let throttles = [
            (
                "throttleReadBpsDevice",
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "throttleWriteBpsDevice",
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "throttleReadIOPSDevice",
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "throttleWriteIOPSDevice",
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        // 0 means "not set" for the weights, as in runc (Docker sends weight 0).
        let weight = b.weight().filter(|w| *w != 0);
        let leaf_weight = b.leaf_weight().filter(|w| *w != 0);
        if weight.is_none()
            && leaf_weight.is_none()
            && empty(b.weight_device())
            && throttles.iter().all(|(_, _, t)| empty(t))
        {
            return Ok(());
        }
        let dir = self.need("blkio", F)?;
        // CFQ's blkio.weight is gone since Linux 5.0; BFQ offers blkio.bfq.weight instead.
        let weight_file =
            if dir.join("blkio.weight").exists() || !dir.join("blkio.bfq.weight").exists() {
                ("blkio.weight", "blkio.weight_device")
            } else {
                ("blkio.bfq.weight", "blkio.bfq.weight_device")
            };
        if let Some(w) = weight {
            fs::write_field(&format!("{F}.weight"), dir, weight_file.0, &w.to_string())?;
        }
        if let Some(w) = leaf_weight {
            fs::write_field(
                &format!("{F}.leafWeight"),
                dir,
                "blkio.leaf_weight",
                &w.to_string(),
            )?;
        }
        for (i, wd) in b.weight_device().iter().flatten().enumerate() {
            let dev = format!("{}:{}", wd.major(), wd.minor());
            if let Some(w) = wd.weight() {
                let field = format!("{F}.weightDevice[{i}].weight");
                fs::write_field(&field, dir, weight_file.1, &format!("{dev} {w}"))?;
            }
            if let Some(w) = wd.leaf_weight() {
                let field = format!("{F}.weightDevice[{i}].leafWeight");
                fs::write_field(
                    &field,
                    dir,
                    "blkio.leaf_weight_device",
                    &format!("{dev} {w}"),
                )?;
            }
        }
        for (name, file, list) in throttles {
            for (i, t) in list.iter().flatten().enumerate() {
                let value = format!("{}:{} {}", t.major(), t.minor(), t.rate());
                fs::write_field(&format!("{F}.{name}[{i}]"), dir, file, &value)?;
            }
        }
        Ok(())
    }

    fn set_hugetlb(&self, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.hugepageLimits";
        if limits.is_empty() {
            return Ok(());
        }
        check_hugepage_sizes(limits)?;
        if let Some(dir) = self.path("hugetlb") {
            for (i, l) in limits.iter().enumerate() {
                let prefix = format!("hugetlb.{}", l.page_size());
                let value = l.limit().to_string();
                fs::write_field(
                    &format!("{F}[{i}]"),
                    dir,
                    &format!("{prefix}.limit_in_bytes"),
                    &value,
                )?;
                // Limit reservations too where the kernel has them (5.7+), as runc does.
                let rsvd = format!("{prefix}.rsvd.limit_in_bytes");
                if dir.join(&rsvd).exists() {
                    fs::write(dir, &rsvd, &value)?;
                }
            }
            return Ok(());
        }
        // Hybrid hosts (like systemd's default before v2) may leave hugetlb to
        // the cgroup2 mount; the container has a directory there too.
        let Some(dir) = self.path(UNIFIED_KEY) else {
            return Err(CgroupError::NoController {
                field: F.into(),
                controller: "hugetlb".into(),
            });
        };
        fs::enable_v2_controller(dir, "hugetlb", F)?;
        super::v2::write_hugetlb_v2(dir, limits)
    }

    fn set_network(&self, n: &LinuxNetwork) -> Result<(), CgroupError> {
        const F: &str = "linux.resources.network";
        if let Some(id) = n.class_id() {
            let dir = self.need("net_cls", &format!("{F}.classID"))?;
            fs::write_field(
                &format!("{F}.classID"),
                dir,
                "net_cls.classid",
                &id.to_string(),
            )?;
        }
        let priorities = n.priorities().as_deref().unwrap_or_default();
        if !priorities.is_empty() {
            let dir = self.need("net_prio", &format!("{F}.priorities"))?;
            for (i, p) in priorities.iter().enumerate() {
                let value = format!("{} {}", p.name(), p.priority());
                fs::write_field(
                    &format!("{F}.priorities[{i}]"),
                    dir,
                    "net_prio.ifpriomap",
                    &value,
                )?;
            }
        }
        Ok(())
    }

    fn set_rdma(
        &self,
        rdma: &std::collections::HashMap<String, LinuxRdma>,
    ) -> Result<(), CgroupError> {
        if rdma.is_empty() {
            return Ok(());
        }
        let dir = self.need("rdma", "linux.resources.rdma")?;
        write_rdma(dir, rdma)
    }

    fn freezer(&self) -> Result<&Path, CgroupError> {
        self.path("freezer").ok_or_else(|| {
            CgroupError::Unsupported("the freezer cgroup controller is not mounted".into())
        })
    }
}

impl Manager for V1Manager {
    fn apply(&self, pid: i32) -> Result<(), CgroupError> {
        let cpuset = self.path("cpuset");
        for dir in self.dirs() {
            let chain = fs::create_cgroup(dir)?;
            if Some(dir) == cpuset {
                // A v1 cpuset cgroup starts with empty cpus/mems, and a task
                // cannot join it then (ENOSPC): inherit them level by level.
                for pair in chain.windows(2) {
                    copy_cpuset_if_empty(&pair[0], &pair[1])?;
                }
            }
            fs::write_pid(dir, pid)?;
        }
        Ok(())
    }

    fn set(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::Unsupported(
                "linux.resources.unified is set, but this host uses cgroup v1; unified keys need cgroup v2".into(),
            ));
        }
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
            self.set_pids(p.limit())?;
        }
        if let Some(b) = r.block_io() {
            self.set_blkio(b)?;
        }
        if let Some(h) = r.hugepage_limits() {
            self.set_hugetlb(h)?;
        }
        if let Some(n) = r.network() {
            self.set_network(n)?;
        }
        if let Some(rdma) = r.rdma() {
            self.set_rdma(rdma)?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        // Any hierarchy lists the same processes; prefer those every v1 host has.
        let dir = ["pids", "freezer", "devices", "memory", "cpu"]
            .iter()
            .find_map(|c| self.path(c))
            .or_else(|| self.dirs().first().copied());
        match dir {
            Some(dir) => fs::procs_recursive(dir),
            None => Ok(Vec::new()),
        }
    }

    fn destroy_except(&self, keep: &[PathBuf]) -> Result<(), CgroupError> {
        // Try every hierarchy before reporting, so one busy directory does not
        // leave the others behind.
        let mut first_err = None;
        for dir in self.dirs() {
            if keep.iter().any(|k| k == dir) {
                continue;
            }
            if let Err(e) = fs::remove_cgroup(dir) {
                tracing::warn!("{e}");
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        let dir = self.freezer()?;
        let result = freeze_v1(dir);
        if result.is_err() {
            // A cgroup left FREEZING is worse than a failed pause.
            let _ = fs::write(dir, "freezer.state", "THAWED");
        }
        result
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        let dir = self.freezer()?;
        for _ in 0..1000 {
            fs::write(dir, "freezer.state", "THAWED")?;
            if fs::read(dir, "freezer.state")? == "THAWED" {
                return Ok(());
            }
            sleep(Duration::from_millis(1));
        }
        Err(CgroupError::Timeout {
            path: dir.join("freezer.state"),
            what: "THAWED".into(),
        })
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        let dir = self.freezer()?;
        Ok(fs::read(dir, "freezer.state")? == "FROZEN")
    }

    fn exists(&self) -> bool {
        self.dirs().iter().any(|d| d.exists())
    }

    fn directories(&self) -> Vec<PathBuf> {
        self.dirs().into_iter().map(Path::to_path_buf).collect()
    }

    fn state(&self) -> CgroupState {
        CgroupState::V1 {
            paths: self.paths.clone(),
        }
    }
}

/// The v1 freezer may sit in FREEZING while new tasks keep arriving (fork,
/// exec joining); runc found that rewriting FROZEN, with an occasional thaw
/// and short pause, gets it there. Up to ~1000 attempts.
fn freeze_v1(dir: &Path) -> Result<(), CgroupError> {
    for i in 0..1000 {
        if i % 50 == 49 {
            fs::write(dir, "freezer.state", "THAWED")?;
            sleep(Duration::from_millis(10));
        }
        fs::write(dir, "freezer.state", "FROZEN")?;
        if i % 25 == 24 {
            sleep(Duration::from_micros(10));
        }
        match fs::read(dir, "freezer.state")?.as_str() {
            "FROZEN" => return Ok(()),
            "FREEZING" => continue,
            other => {
                return Err(CgroupError::Parse {
                    path: dir.join("freezer.state"),
                    content: other.to_string(),
                });
            }
        }
    }
    Err(CgroupError::Timeout {
        path: dir.join("freezer.state"),
        what: "FROZEN".into(),
    })
}

/// Whether an optional list is absent or empty.
fn empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

/// Give `child` its parent's cpus/mems if it has none.
fn copy_cpuset_if_empty(parent: &Path, child: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if fs::read(child, file)?.trim().is_empty() {
            let value = fs::read(parent, file)?;
            fs::write(child, file, &value)?;
        }
    }
    Ok(())
}

/// Limits the kernel would refuse anyway, caught with the field's name.
fn check_memory_values(limit: Option<i64>, swap: Option<i64>) -> Result<(), CgroupError> {
    const F: &str = "linux.resources.memory";
    for (name, v) in [("limit", limit), ("swap", swap)] {
        if let Some(v) = v.filter(|&v| v < -1) {
            return Err(CgroupError::InvalidValue {
                field: format!("{F}.{name}"),
                reason: format!("{v} is negative"),
            });
        }
    }
    match (limit, swap) {
        (Some(l), Some(s)) if l > 0 && s > 0 && s < l => Err(CgroupError::InvalidValue {
            field: format!("{F}.swap"),
            reason: format!("memory+swap {s} is below the memory limit {l}"),
        }),
        (Some(-1), Some(s)) if s > 0 => Err(CgroupError::InvalidValue {
            field: format!("{F}.swap"),
            reason: format!("memory+swap {s} is finite while the memory limit is unlimited"),
        }),
        _ => Ok(()),
    }
}

/// Whether memory.memsw.limit_in_bytes must be written before
/// memory.limit_in_bytes. The kernel insists on limit <= memsw after every
/// write: raising memsw first is safe when the new limit would exceed the
/// current memsw; otherwise the limit goes first (it fits under the current
/// memsw, and the new memsw is >= the new limit).
pub(crate) fn swap_first(new_limit: i64, new_swap: i64, current_memsw: u64) -> bool {
    new_swap == -1 || new_limit == -1 || new_limit as u64 > current_memsw
}

/// Write memory.limit_in_bytes, explaining the kernel's EBUSY.
fn write_memory_limit(dir: &Path, limit: i64) -> Result<(), CgroupError> {
    match fs::write(dir, "memory.limit_in_bytes", &limit.to_string()) {
        Err(e) if fs::errno(&e) == Some(libc::EBUSY) => {
            let usage = fs::read_u64(dir, "memory.usage_in_bytes").unwrap_or(0);
            Err(CgroupError::InvalidValue {
                field: "linux.resources.memory.limit".into(),
                reason: format!(
                    "the kernel cannot reclaim memory below {limit} (current usage {usage})"
                ),
            })
        }
        other => other,
    }
}

/// Write a memory knob and read it back: since Linux 5.16-ish the kmem limit
/// files accept writes and ignore them, which must not pass for success.
fn write_verified(field: &str, dir: &Path, file: &str, value: i64) -> Result<(), CgroupError> {
    fs::write_field(field, dir, file, &value.to_string())?;
    if value < 0 {
        return Ok(());
    }
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as u64;
    let want = value as u64 / page * page;
    let got = fs::read_u64(dir, file)?;
    if got != want {
        return Err(CgroupError::InvalidValue {
            field: field.to_string(),
            reason: format!(
                "this kernel accepted {value} in {} but does not apply it (reads back {got}); kernel memory limits are not supported here",
                dir.join(file).display()
            ),
        });
    }
    Ok(())
}

/// Write `value` to `file` now; if the kernel refuses with EINVAL and
/// `retry_possible`, return it to be written again later instead of failing.
fn write_maybe_later<T: ToString + Copy>(
    field: &str,
    dir: &Path,
    file: &str,
    value: Option<T>,
    retry_possible: bool,
) -> Result<Option<T>, CgroupError> {
    let Some(v) = value else { return Ok(None) };
    match fs::write_field(field, dir, file, &v.to_string()) {
        Ok(()) => Ok(None),
        Err(e) if retry_possible && fs::errno(&e) == Some(libc::EINVAL) => Ok(Some(v)),
        Err(e) => Err(e),
    }
}

/// `pids.max` for `linux.resources.pids.limit`: negative means no limit.
/// Zero is a real limit (config-linux.md "PIDs", spec 1.3: the kernel takes
/// 0 and runtimes SHOULD too; current runc no longer reads it as "max").
/// `update` keeps runc's "zero means unchanged" rule before it gets here.
pub(crate) fn pids_max(limit: i64) -> String {
    if limit >= 0 {
        limit.to_string()
    } else {
        "max".into()
    }
}

/// Page sizes must exist on this host, and limits must be sizes or -1.
pub(crate) fn check_hugepage_sizes(limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    let sizes = fs::hugepage_sizes()?;
    for (i, l) in limits.iter().enumerate() {
        if !sizes.iter().any(|s| s == l.page_size()) {
            return Err(CgroupError::InvalidValue {
                field: format!("linux.resources.hugepageLimits[{i}].pageSize"),
                reason: format!(
                    "{:?} is not a huge page size of this host (have: {})",
                    l.page_size(),
                    sizes.join(", ")
                ),
            });
        }
        if l.limit() < -1 {
            return Err(CgroupError::InvalidValue {
                field: format!("linux.resources.hugepageLimits[{i}].limit"),
                reason: format!("{} is negative", l.limit()),
            });
        }
    }
    Ok(())
}

/// rdma.max takes one line per device, naming only the limits that are set.
pub(crate) fn write_rdma(
    dir: &Path,
    rdma: &std::collections::HashMap<String, LinuxRdma>,
) -> Result<(), CgroupError> {
    for (device, limits) in rdma {
        let mut line = device.clone();
        if let Some(h) = limits.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = limits.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        if line.len() > device.len() {
            fs::write_field(
                &format!("linux.resources.rdma.{device}"),
                dir,
                "rdma.max",
                &line,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memsw_order() {
        // Fresh cgroup: memsw unlimited, limit first is fine.
        assert!(!swap_first(64 << 20, 128 << 20, u64::MAX >> 1));
        // Raising both above the current memsw: memsw first.
        assert!(swap_first(256 << 20, 512 << 20, 128 << 20));
        // Lowering both: limit first.
        assert!(!swap_first(32 << 20, 32 << 20, 128 << 20));
        // Unlimited swap can always go first.
        assert!(swap_first(64 << 20, -1, 128 << 20));
        assert!(swap_first(-1, -1, 128 << 20));
    }

    #[test]
    fn memory_value_checks() {
        assert!(check_memory_values(Some(100), Some(50)).is_err());
        assert!(check_memory_values(Some(-1), Some(50)).is_err());
        assert!(check_memory_values(Some(-2), None).is_err());
        assert!(check_memory_values(Some(100), Some(100)).is_ok());
        assert!(check_memory_values(Some(100), Some(-1)).is_ok());
        assert!(check_memory_values(None, Some(100)).is_ok());
        let err = check_memory_values(Some(100), Some(50)).unwrap_err();
        assert!(
            err.to_string().starts_with("linux.resources.memory.swap"),
            "{err}"
        );
    }

    #[test]
    fn pids_limit_values() {
        assert_eq!(pids_max(10), "10");
        assert_eq!(pids_max(0), "0");
        assert_eq!(pids_max(-1), "max");
    }

    #[test]
    fn state_round_trip() {
        let mut paths = BTreeMap::new();
        paths.insert(
            "memory".to_string(),
            PathBuf::from("/sys/fs/cgroup/memory/x"),
        );
        paths.insert(
            UNIFIED_KEY.to_string(),
            PathBuf::from("/sys/fs/cgroup/unified/x"),
        );
        let m = V1Manager::new(paths).unwrap();
        let json = serde_json::to_string(&m.state()).unwrap();
        assert!(json.starts_with(r#"{"driver":"v1","paths":{"#), "{json}");
        let back: CgroupState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m.state());
        let bad = BTreeMap::from([(
            "memory".to_string(),
            PathBuf::from("/sys/fs/cgroup/memory/../x"),
        )]);
        assert!(V1Manager::new(bad).is_err());
    }
}
