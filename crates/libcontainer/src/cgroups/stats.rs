//! A container's resource usage, read from its cgroup, for `events`.
//!
//! The types serialize to the JSON runc's `events` prints (runc's
//! `types.Stats`): the same field names, and the same zero values left out
//! (runc's `omitempty`), so tools that parse runc's output parse husk's.
//! Values come from the v1 controllers' files or, on pure v2, from the one
//! directory's `cpu.stat`, `memory.*`, `io.stat`, ... converted as runc does.
//!
//! This module only reads. The one write is [`OomWatch`] registering an
//! eventfd in the v1 memory cgroup's `cgroup.event_control`, which changes no
//! limit. A controller that is not mounted, or a file this kernel lacks, is
//! reported as zero, as runc does; a file that exists but cannot be parsed is
//! an error naming it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::paths::UNIFIED_KEY;
use super::{fs, CgroupError, CgroupState};

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Everything `events` reports about a container (runc's `types.Stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// CPU time used and throttling.
    pub cpu: Cpu,
    /// The cpuset the container may use.
    pub cpuset: CpuSet,
    /// Memory use and limits.
    pub memory: Memory,
    /// Number of tasks and their limit.
    pub pids: Pids,
    /// Block I/O counters.
    pub blkio: Blkio,
    /// Huge page use, by page size (`2MB`, `1GB`).
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// Intel RDT: husk does not manage it, so always empty.
    pub intel_rdt: IntelRdt,
    /// Always `null`: husk manages no network interfaces (runc reports
    /// none either for a container made from an OCI config).
    pub network_interfaces: Option<Vec<serde_json::Value>>,
}

/// CPU statistics (`cpu` in runc's JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cpu {
    /// Time used.
    pub usage: CpuUsage,
    /// CFS throttling.
    pub throttling: Throttling,
}

/// CPU time, in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuUsage {
    /// Total CPU time.
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    /// Total per CPU.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// Kernel-mode time per CPU.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    /// User-mode time per CPU.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    /// Kernel-mode time.
    pub kernel: u64,
    /// User-mode time.
    pub user: u64,
}

/// CFS bandwidth throttling.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    /// Enforcement periods that elapsed.
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Time throttled, in nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

/// The cpuset (v1 `cpuset.*` files).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuSet {
    /// CPUs the container may run on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    /// `cpuset.cpu_exclusive`.
    pub cpu_exclusive: u64,
    /// Memory nodes the container may use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    /// `cpuset.mem_hardwall`.
    pub mem_hardwall: u64,
    /// `cpuset.mem_exclusive`.
    pub mem_exclusive: u64,
    /// `cpuset.memory_migrate`.
    pub memory_migrate: u64,
    /// `cpuset.memory_spread_page`.
    pub memory_spread_page: u64,
    /// `cpuset.memory_spread_slab`.
    pub memory_spread_slab: u64,
    /// `cpuset.memory_pressure`.
    pub memory_pressure: u64,
    /// `cpuset.sched_load_balance`.
    pub sched_load_balance: u64,
    /// `cpuset.sched_relax_domain_level`.
    pub sched_relax_domain_level: i64,
}

/// One memory counter with its limit, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryEntry {
    /// The limit (`u64::MAX`-ish when unlimited, as the kernel reports it).
    pub limit: u64,
    /// Current use.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Highest use seen.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// How often the limit was hit.
    pub failcnt: u64,
}

/// Memory statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Memory {
    /// Page cache.
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    /// Memory.
    pub usage: MemoryEntry,
    /// Memory plus swap (v1 `memsw`; on v2 the sum, as runc reports it).
    pub swap: MemoryEntry,
    /// Kernel memory (v1 only).
    pub kernel: MemoryEntry,
    /// Kernel TCP buffers (v1 only).
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// Every counter of `memory.stat`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// Task counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pids {
    /// Tasks in the cgroup.
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// The limit; 0 when there is none.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// One block I/O counter line (`8:0 Read 4096`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlkioEntry {
    /// Device major number.
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    /// Device minor number.
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The counter.
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

/// Block I/O statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    /// Bytes transferred.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// Requests served.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    /// Requests queued (runc's JSON name lacks the `d`).
    #[serde(rename = "ioQueueRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_queued_recursive: Vec<BlkioEntry>,
    /// Time spent serving requests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_time_recursive: Vec<BlkioEntry>,
    /// Time requests waited.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    /// Requests merged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_merged_recursive: Vec<BlkioEntry>,
    /// Disk time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_time_recursive: Vec<BlkioEntry>,
    /// Sectors transferred.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sectors_recursive: Vec<BlkioEntry>,
}

/// Huge page use for one page size.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hugetlb {
    /// Bytes in use.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Highest use seen.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// How often the limit was hit.
    pub failcnt: u64,
}

/// Intel RDT statistics: husk does not manage resctrl, so this stays `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntelRdt {}

/// Read the statistics of the cgroup `state` names.
pub fn read(state: &CgroupState) -> Result<Stats, CgroupError> {
    match state {
        CgroupState::V1 { paths } => read_v1(paths),
        CgroupState::V2 { path } | CgroupState::Systemd { path, .. } => read_v2(path),
    }
}

// ---------------------------------------------------------------------------
// File helpers: a missing file is None (controller or knob absent), anything
// else unreadable or unparsable is an error naming the file.
// ---------------------------------------------------------------------------

fn read_opt(dir: &Path, file: &str) -> Result<Option<String>, CgroupError> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Io { path, source }),
    }
}

fn parse_err(dir: &Path, file: &str, content: &str) -> CgroupError {
    CgroupError::Parse {
        path: dir.join(file),
        content: content.to_string(),
    }
}

/// A number file; `max` (v2 for "no limit") reads as `max_as`; missing is 0.
fn num(dir: &Path, file: &str, max_as: u64) -> Result<u64, CgroupError> {
    let Some(text) = read_opt(dir, file)? else {
        return Ok(0);
    };
    match text.trim() {
        "max" => Ok(max_as),
        t => t.parse().map_err(|_| parse_err(dir, file, &text)),
    }
}

/// A signed number file; missing is 0.
fn num_i64(dir: &Path, file: &str) -> Result<i64, CgroupError> {
    let Some(text) = read_opt(dir, file)? else {
        return Ok(0);
    };
    text.trim().parse().map_err(|_| parse_err(dir, file, &text))
}

/// A flat keyed file (`key value` per line: memory.stat, cpu.stat, ...).
fn keyed(dir: &Path, file: &str) -> Result<BTreeMap<String, u64>, CgroupError> {
    let Some(text) = read_opt(dir, file)? else {
        return Ok(BTreeMap::new());
    };
    parse_keyed(&text).ok_or_else(|| parse_err(dir, file, &text))
}

fn parse_keyed(text: &str) -> Option<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (k, v) = line.trim().split_once(' ')?;
        out.insert(k.to_string(), v.trim().parse().ok()?);
    }
    Some(out)
}

/// A cpuset list (`0-3,8`) as the numbers it names.
fn parse_list(text: &str) -> Option<Vec<u16>> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

fn list(dir: &Path, file: &str) -> Result<Vec<u16>, CgroupError> {
    let Some(text) = read_opt(dir, file)? else {
        return Ok(Vec::new());
    };
    parse_list(&text).ok_or_else(|| parse_err(dir, file, &text))
}

/// Whitespace-separated numbers (cpuacct.usage_percpu).
fn numbers(dir: &Path, file: &str) -> Result<Vec<u64>, CgroupError> {
    let Some(text) = read_opt(dir, file)? else {
        return Ok(Vec::new());
    };
    text.split_whitespace()
        .map(|n| n.parse().map_err(|_| parse_err(dir, file, &text)))
        .collect()
}

/// Clock ticks per second, the unit of cpuacct.stat.
fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .unwrap_or(100) as u64
}

// ---------------------------------------------------------------------------
// cgroup v1
// ---------------------------------------------------------------------------

fn read_v1(paths: &BTreeMap<String, PathBuf>) -> Result<Stats, CgroupError> {
    let dir = |c: &str| paths.get(c).map(PathBuf::as_path);
    let mut s = Stats::default();
    if let Some(d) = dir("cpuacct") {
        cpuacct_v1(d, &mut s.cpu.usage)?;
    }
    if let Some(d) = dir("cpu") {
        let stat = keyed(d, "cpu.stat")?;
        s.cpu.throttling = Throttling {
            periods: stat.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: stat.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: stat.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(d) = dir("cpuset") {
        s.cpuset = cpuset_v1(d)?;
    }
    if let Some(d) = dir("memory") {
        s.memory = memory_v1(d)?;
    }
    if let Some(d) = dir("pids") {
        s.pids = Pids {
            current: num(d, "pids.current", 0)?,
            limit: num(d, "pids.max", 0)?,
        };
    }
    if let Some(d) = dir("blkio") {
        s.blkio = blkio_v1(d)?;
    }
    match (dir("hugetlb"), dir(UNIFIED_KEY)) {
        (Some(d), _) => s.hugetlb = hugetlb_v1(d)?,
        // Hybrid hosts may have hugetlb on the cgroup2 mount only.
        (None, Some(d)) => s.hugetlb = hugetlb_v2(d)?,
        (None, None) => {}
    }
    Ok(s)
}

fn cpuacct_v1(d: &Path, u: &mut CpuUsage) -> Result<(), CgroupError> {
    u.total = num(d, "cpuacct.usage", 0)?;
    u.percpu = numbers(d, "cpuacct.usage_percpu")?;
    // `cpu user system` header, then one line per CPU, in nanoseconds.
    if let Some(text) = read_opt(d, "cpuacct.usage_all")? {
        for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(user), Some(sys)) = (
                cols.get(1).and_then(|v| v.parse().ok()),
                cols.get(2).and_then(|v| v.parse().ok()),
            ) else {
                return Err(parse_err(d, "cpuacct.usage_all", &text));
            };
            u.percpu_user.push(user);
            u.percpu_kernel.push(sys);
        }
    }
    let stat = keyed(d, "cpuacct.stat")?;
    let ns = |ticks: u64| ticks.saturating_mul(1_000_000_000) / clock_ticks();
    u.user = ns(stat.get("user").copied().unwrap_or(0));
    u.kernel = ns(stat.get("system").copied().unwrap_or(0));
    Ok(())
}

fn cpuset_v1(d: &Path) -> Result<CpuSet, CgroupError> {
    Ok(CpuSet {
        cpus: list(d, "cpuset.cpus")?,
        cpu_exclusive: num(d, "cpuset.cpu_exclusive", 0)?,
        mems: list(d, "cpuset.mems")?,
        mem_hardwall: num(d, "cpuset.mem_hardwall", 0)?,
        mem_exclusive: num(d, "cpuset.mem_exclusive", 0)?,
        memory_migrate: num(d, "cpuset.memory_migrate", 0)?,
        memory_spread_page: num(d, "cpuset.memory_spread_page", 0)?,
        memory_spread_slab: num(d, "cpuset.memory_spread_slab", 0)?,
        memory_pressure: num(d, "cpuset.memory_pressure", 0)?,
        sched_load_balance: num(d, "cpuset.sched_load_balance", 0)?,
        sched_relax_domain_level: num_i64(d, "cpuset.sched_relax_domain_level")?,
    })
}

fn memory_v1(d: &Path) -> Result<Memory, CgroupError> {
    let entry = |prefix: &str| -> Result<MemoryEntry, CgroupError> {
        Ok(MemoryEntry {
            limit: num(d, &format!("{prefix}.limit_in_bytes"), 0)?,
            usage: num(d, &format!("{prefix}.usage_in_bytes"), 0)?,
            max: num(d, &format!("{prefix}.max_usage_in_bytes"), 0)?,
            failcnt: num(d, &format!("{prefix}.failcnt"), 0)?,
        })
    };
    let raw = keyed(d, "memory.stat")?;
    Ok(Memory {
        cache: raw.get("cache").copied().unwrap_or(0),
        usage: entry("memory")?,
        swap: entry("memory.memsw")?,
        kernel: entry("memory.kmem")?,
        kernel_tcp: entry("memory.kmem.tcp")?,
        raw,
    })
}

/// `8:0 Read 4096` lines (and a `Total N` line, skipped as runc does).
fn parse_blkio(text: &str) -> Option<Vec<BlkioEntry>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&"Total") {
            continue;
        }
        let (major, minor) = f.first()?.split_once(':')?;
        let (op, value) = match f.len() {
            2 => ("", f[1]),
            3 => (f[1], f[2]),
            _ => return None,
        };
        out.push(BlkioEntry {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
            op: op.to_string(),
            value: value.parse().ok()?,
        });
    }
    Some(out)
}

fn blkio_v1(d: &Path) -> Result<Blkio, CgroupError> {
    // The first file that exists and has entries: CFQ's, BFQ's, then the
    // throttle policy's (the only one left on modern kernels).
    let get = |files: &[&str]| -> Result<Vec<BlkioEntry>, CgroupError> {
        for f in files {
            if let Some(text) = read_opt(d, f)? {
                let entries = parse_blkio(&text).ok_or_else(|| parse_err(d, f, &text))?;
                if !entries.is_empty() {
                    return Ok(entries);
                }
            }
        }
        Ok(Vec::new())
    };
    Ok(Blkio {
        io_service_bytes_recursive: get(&[
            "blkio.io_service_bytes_recursive",
            "blkio.bfq.io_service_bytes_recursive",
            "blkio.throttle.io_service_bytes_recursive",
        ])?,
        io_serviced_recursive: get(&[
            "blkio.io_serviced_recursive",
            "blkio.bfq.io_serviced_recursive",
            "blkio.throttle.io_serviced_recursive",
        ])?,
        io_queued_recursive: get(&["blkio.io_queued_recursive"])?,
        io_service_time_recursive: get(&["blkio.io_service_time_recursive"])?,
        io_wait_time_recursive: get(&["blkio.io_wait_time_recursive"])?,
        io_merged_recursive: get(&["blkio.io_merged_recursive"])?,
        io_time_recursive: get(&["blkio.time_recursive"])?,
        sectors_recursive: get(&["blkio.sectors_recursive"])?,
    })
}

/// Page sizes of `hugetlb.<size>.<suffix>` files in `d`.
fn hugetlb_sizes(d: &Path, suffix: &str) -> Result<Vec<String>, CgroupError> {
    let entries = match std::fs::read_dir(d) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Io {
                path: d.to_path_buf(),
                source,
            })
        }
    };
    let mut sizes: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            n.strip_prefix("hugetlb.")
                .and_then(|r| r.strip_suffix(suffix))
                .filter(|s| !s.contains('.'))
                .map(String::from)
        })
        .collect();
    sizes.sort();
    Ok(sizes)
}

fn hugetlb_v1(d: &Path) -> Result<BTreeMap<String, Hugetlb>, CgroupError> {
    let mut out = BTreeMap::new();
    for size in hugetlb_sizes(d, ".usage_in_bytes")? {
        let h = Hugetlb {
            usage: num(d, &format!("hugetlb.{size}.usage_in_bytes"), 0)?,
            max: num(d, &format!("hugetlb.{size}.max_usage_in_bytes"), 0)?,
            failcnt: num(d, &format!("hugetlb.{size}.failcnt"), 0)?,
        };
        out.insert(size, h);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// cgroup v2
// ---------------------------------------------------------------------------

fn read_v2(d: &Path) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    let cpu = keyed(d, "cpu.stat")?;
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0).saturating_mul(1000);
    s.cpu.usage.total = us("usage_usec");
    s.cpu.usage.user = us("user_usec");
    s.cpu.usage.kernel = us("system_usec");
    s.cpu.throttling = Throttling {
        periods: cpu.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: us("throttled_usec"),
    };
    s.cpuset.cpus = list(d, "cpuset.cpus.effective")?;
    s.cpuset.mems = list(d, "cpuset.mems.effective")?;
    s.memory = memory_v2(d)?;
    s.pids = Pids {
        current: num(d, "pids.current", 0)?,
        limit: num(d, "pids.max", 0)?,
    };
    s.blkio = io_v2(d)?;
    s.hugetlb = hugetlb_v2(d)?;
    Ok(s)
}

fn memory_v2(d: &Path) -> Result<Memory, CgroupError> {
    let raw = keyed(d, "memory.stat")?;
    let events = keyed(d, "memory.events")?;
    let usage = MemoryEntry {
        limit: num(d, "memory.max", u64::MAX)?,
        usage: num(d, "memory.current", 0)?,
        max: num(d, "memory.peak", 0)?,
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    // v2 counts swap alone; runc reports memory+swap, as v1's memsw did.
    let swap_limit = num(d, "memory.swap.max", u64::MAX)?;
    let swap = MemoryEntry {
        limit: if swap_limit == u64::MAX || usage.limit == u64::MAX {
            u64::MAX
        } else {
            swap_limit.saturating_add(usage.limit)
        },
        usage: num(d, "memory.swap.current", 0)?.saturating_add(usage.usage),
        max: 0,
        failcnt: keyed(d, "memory.swap.events")?
            .get("max")
            .copied()
            .unwrap_or(0),
    };
    Ok(Memory {
        cache: raw.get("file").copied().unwrap_or(0),
        usage,
        swap,
        kernel: MemoryEntry::default(),
        kernel_tcp: MemoryEntry::default(),
        raw,
    })
}

/// io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per device.
fn parse_io_stat(text: &str) -> Option<(Vec<BlkioEntry>, Vec<BlkioEntry>)> {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        let (major, minor) = fields.next()?.split_once(':')?;
        let (major, minor): (u64, u64) = (major.parse().ok()?, minor.parse().ok()?);
        for kv in fields {
            let (k, v) = kv.split_once('=')?;
            let value: u64 = v.parse().ok()?;
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "dbytes" => (&mut bytes, "Discard"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                "dios" => (&mut ios, "Discard"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    Some((bytes, ios))
}

fn io_v2(d: &Path) -> Result<Blkio, CgroupError> {
    let Some(text) = read_opt(d, "io.stat")? else {
        return Ok(Blkio::default());
    };
    let (bytes, ios) = parse_io_stat(&text).ok_or_else(|| parse_err(d, "io.stat", &text))?;
    Ok(Blkio {
        io_service_bytes_recursive: bytes,
        io_serviced_recursive: ios,
        ..Blkio::default()
    })
}

fn hugetlb_v2(d: &Path) -> Result<BTreeMap<String, Hugetlb>, CgroupError> {
    let mut out = BTreeMap::new();
    for size in hugetlb_sizes(d, ".current")? {
        let h = Hugetlb {
            usage: num(d, &format!("hugetlb.{size}.current"), 0)?,
            max: 0,
            failcnt: keyed(d, &format!("hugetlb.{size}.events"))?
                .get("max")
                .copied()
                .unwrap_or(0),
        };
        out.insert(size, h);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// OOM notification
// ---------------------------------------------------------------------------

/// Waits for OOM events in a container's memory cgroup: on v1 an eventfd
/// registered on `memory.oom_control` (as runc does), on v2 the `oom_kill`
/// counter of `memory.events`, checked whenever [`OomWatch::wait`] returns.
#[derive(Debug)]
pub struct OomWatch {
    how: Watch,
}

#[derive(Debug)]
enum Watch {
    /// The eventfd, and `memory.oom_control` kept open: the registration
    /// lasts as long as both are open.
    V1 {
        eventfd: OwnedFd,
        _control: File,
    },
    V2 {
        dir: PathBuf,
        seen: u64,
    },
    /// No memory controller: never any event.
    Nothing,
}

impl OomWatch {
    /// Start watching the memory cgroup of `state`.
    pub fn new(state: &CgroupState) -> Result<OomWatch, CgroupError> {
        let how = match state {
            CgroupState::V1 { paths } => match paths.get("memory") {
                Some(dir) => register_v1(dir)?,
                None => Watch::Nothing,
            },
            CgroupState::V2 { path } | CgroupState::Systemd { path, .. } => Watch::V2 {
                seen: oom_kills_v2(path)?,
                dir: path.clone(),
            },
        };
        Ok(OomWatch { how })
    }

    /// Wait up to `timeout`; the number of OOM events since the last call.
    /// On v1 the kernel also wakes the eventfd when the cgroup is removed:
    /// callers check that the container still exists before reporting.
    pub fn wait(&mut self, timeout: Duration) -> Result<u64, CgroupError> {
        match &mut self.how {
            Watch::V1 { eventfd, .. } => {
                let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
                let mut pfd = [nix::poll::PollFd::new(
                    eventfd.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )];
                match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(ms)) {
                    Ok(0) | Err(nix::Error::EINTR) => Ok(0),
                    Ok(_) => {
                        let mut buf = [0u8; 8];
                        match nix::unistd::read(eventfd.as_raw_fd(), &mut buf) {
                            Ok(8) => Ok(u64::from_ne_bytes(buf)),
                            Ok(_) | Err(nix::Error::EAGAIN) | Err(nix::Error::EINTR) => Ok(0),
                            Err(e) => Err(eventfd_err("read", e)),
                        }
                    }
                    Err(e) => Err(eventfd_err("poll", e)),
                }
            }
            Watch::V2 { dir, seen } => {
                std::thread::sleep(timeout);
                let now = oom_kills_v2(dir)?;
                let new = now.saturating_sub(*seen);
                *seen = now;
                Ok(new)
            }
            Watch::Nothing => {
                std::thread::sleep(timeout);
                Ok(0)
            }
        }
    }
}

fn eventfd_err(what: &str, e: nix::Error) -> CgroupError {
    CgroupError::Io {
        path: PathBuf::from(format!("eventfd ({what})")),
        source: std::io::Error::from(e),
    }
}

fn register_v1(dir: &Path) -> Result<Watch, CgroupError> {
    let control_path = dir.join("memory.oom_control");
    let control = File::open(&control_path).map_err(|source| CgroupError::Io {
        path: control_path,
        source,
    })?;
    // SAFETY: eventfd(2) with valid flags; the result is checked and owned below.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if raw < 0 {
        return Err(eventfd_err("create", nix::Error::last()));
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let eventfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let line = format!("{} {}", eventfd.as_raw_fd(), control.as_raw_fd());
    fs::write(dir, "cgroup.event_control", &line)?;
    Ok(Watch::V1 {
        eventfd,
        _control: control,
    })
}

fn oom_kills_v2(dir: &Path) -> Result<u64, CgroupError> {
    Ok(keyed(dir, "memory.events")?
        .get("oom_kill")
        .copied()
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str, files: &[(&str, &str)]) -> Dir {
            let p = std::env::temp_dir().join(format!("husk-stats-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            for (f, c) in files {
                std::fs::write(p.join(f), c).unwrap();
            }
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn lists_and_keyed_files() {
        assert_eq!(parse_list("0-2,5\n"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_list(""), Some(vec![]));
        assert_eq!(parse_list("3-1"), None);
        let k = parse_keyed("cache 4096\nrss 8192\n").unwrap();
        assert_eq!(k["rss"], 8192);
        assert!(parse_keyed("cache x").is_none());
    }

    #[test]
    fn blkio_lines() {
        let e = parse_blkio("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].major, e[0].minor, e[0].op.as_str(), e[0].value),
            (8, 0, "Read", 4096)
        );
        let (bytes, ios) =
            parse_io_stat("8:16 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n").unwrap();
        assert_eq!(bytes.len(), 3);
        assert_eq!(ios[1].value, 2);
    }

    /// The JSON keys and omitted zeros of runc's `types.Stats`.
    #[test]
    fn json_shape_matches_runc() {
        let mut s = Stats::default();
        s.memory.usage = MemoryEntry {
            limit: 100,
            usage: 50,
            max: 0,
            failcnt: 0,
        };
        s.pids.current = 2;
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["memory"]["usage"],
            serde_json::json!({"limit": 100, "usage": 50, "failcnt": 0})
        );
        assert_eq!(
            v["memory"]["kernelTCP"],
            serde_json::json!({"limit": 0, "failcnt": 0})
        );
        assert_eq!(v["pids"], serde_json::json!({"current": 2}));
        assert_eq!(
            v["cpu"],
            serde_json::json!({"usage": {"kernel": 0, "user": 0}, "throttling": {}})
        );
        assert_eq!(v["blkio"], serde_json::json!({}));
        assert_eq!(v["intel_rdt"], serde_json::json!({}));
        assert!(v["network_interfaces"].is_null());
        assert_eq!(v["cpuset"]["sched_relax_domain_level"], 0);
    }

    #[test]
    fn v1_files() {
        let mem = Dir::new(
            "v1mem",
            &[
                ("memory.usage_in_bytes", "4096\n"),
                ("memory.max_usage_in_bytes", "8192\n"),
                ("memory.limit_in_bytes", "67108864\n"),
                ("memory.failcnt", "3\n"),
                ("memory.stat", "cache 12\nrss 34\n"),
            ],
        );
        let cpu = Dir::new(
            "v1cpu",
            &[
                ("cpuacct.usage", "1000\n"),
                ("cpuacct.usage_percpu", "600 400 \n"),
                (
                    "cpuacct.usage_all",
                    "cpu user system\n0 500 100\n1 300 100\n",
                ),
                ("cpuacct.stat", "user 1\nsystem 2\n"),
                (
                    "cpu.stat",
                    "nr_periods 5\nnr_throttled 1\nthrottled_time 77\n",
                ),
            ],
        );
        let pids = Dir::new("v1pids", &[("pids.current", "2\n"), ("pids.max", "max\n")]);
        let paths = BTreeMap::from([
            ("memory".to_string(), mem.0.clone()),
            ("cpu".to_string(), cpu.0.clone()),
            ("cpuacct".to_string(), cpu.0.clone()),
            ("pids".to_string(), pids.0.clone()),
        ]);
        let s = read(&CgroupState::V1 { paths }).unwrap();
        assert_eq!(s.memory.usage.usage, 4096);
        assert_eq!(s.memory.usage.max, 8192);
        assert_eq!(s.memory.usage.limit, 64 << 20);
        assert_eq!(s.memory.usage.failcnt, 3);
        assert_eq!(s.memory.cache, 12);
        assert_eq!(
            s.memory.swap,
            MemoryEntry::default(),
            "no memsw files: zero"
        );
        assert_eq!(s.cpu.usage.total, 1000);
        assert_eq!(s.cpu.usage.percpu, vec![600, 400]);
        assert_eq!(s.cpu.usage.percpu_user, vec![500, 300]);
        assert_eq!(s.cpu.usage.percpu_kernel, vec![100, 100]);
        assert_eq!(s.cpu.usage.kernel, 2_000_000_000 / clock_ticks());
        assert_eq!(s.cpu.throttling.throttled_time, 77);
        assert_eq!(
            s.pids,
            Pids {
                current: 2,
                limit: 0
            }
        );
    }

    #[test]
    fn v2_files() {
        let d = Dir::new(
            "v2",
            &[
                ("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"),
                ("memory.current", "4096\n"),
                ("memory.max", "max\n"),
                ("memory.swap.current", "0\n"),
                ("memory.swap.max", "max\n"),
                ("memory.events", "low 0\nhigh 0\nmax 1\noom 0\noom_kill 0\n"),
                ("memory.stat", "anon 4096\nfile 8\n"),
                ("pids.current", "1\n"),
                ("pids.max", "20\n"),
                ("io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"),
                ("hugetlb.2MB.current", "0\n"),
                ("hugetlb.2MB.events", "max 0\n"),
            ],
        );
        let s = read(&CgroupState::V2 { path: d.0.clone() }).unwrap();
        assert_eq!(s.cpu.usage.total, 10_000);
        assert_eq!(s.cpu.usage.kernel, 4_000);
        assert_eq!(s.memory.usage.limit, u64::MAX);
        assert_eq!(s.memory.usage.failcnt, 1);
        assert_eq!(s.memory.swap.usage, 4096);
        assert_eq!(s.memory.cache, 8);
        assert_eq!(
            s.pids,
            Pids {
                current: 1,
                limit: 20
            }
        );
        assert_eq!(s.blkio.io_serviced_recursive.len(), 3);
        assert!(s.hugetlb.contains_key("2MB"));
    }

    #[test]
    fn unparsable_file_is_an_error_naming_it() {
        let d = Dir::new("bad", &[("pids.current", "lots\n")]);
        let err = read(&CgroupState::V2 { path: d.0.clone() }).unwrap_err();
        assert!(err.to_string().contains("pids.current"), "{err}");
    }
}
