//! The systemd cgroup driver (`--systemd-cgroup`), on pure cgroup v2 hosts.
//!
//! `linux.cgroupsPath` is `slice:prefix:name` (runc's form; empty means
//! `system.slice:husk:<id>`). The container gets a transient scope unit
//! `<prefix>-<name>.scope` in that slice, started over D-Bus
//! (`StartTransientUnit`, with `Delegate=yes` and the init's pid), so systemd
//! knows the cgroup is taken and never moves or limits processes in it.
//! Resources are set twice: as unit properties where systemd has one
//! (`SetUnitProperties`, runtime-only; they survive `systemctl daemon-reload`)
//! and in the cgroup files, through the v2 driver, for everything (exact
//! values, device rules as the eBPF program, the `unified` map). `destroy`
//! stops the unit. Joining (exec) writes `cgroup.procs` directly: the scope is
//! delegated.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use super::dbus::{Bus, Value};
use super::paths::{Hierarchy, Layout};
use super::v2::{self, V2Manager};
use super::{fs, CgroupError, CgroupState, Manager};

const SYSTEMD: &str = "org.freedesktop.systemd1";
const SYSTEMD_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a start or stop job may take (the VM here is software-emulated).
const JOB_TIMEOUT: Duration = Duration::from_secs(60);

/// The systemd driver: a scope unit and its cgroup directory.
#[derive(Debug, Clone)]
pub struct SystemdManager {
    unit: String,
    /// The slice the scope is started in.
    slice: String,
    v2: V2Manager,
}

fn dbus_error(what: &str, e: std::io::Error) -> CgroupError {
    CgroupError::Systemd(format!("{what}: {e}"))
}

impl SystemdManager {
    /// A manager for scope `unit` in `slice`, whose cgroup is `path`.
    pub fn new(unit: String, slice: String, path: PathBuf) -> Result<Self, CgroupError> {
        Ok(SystemdManager {
            unit,
            slice,
            v2: V2Manager::new(path)?,
        })
    }

    fn start_unit(&self, pid: i32) -> Result<(), CgroupError> {
        let mut bus = Bus::system().map_err(|e| dbus_error("connecting to systemd", e))?;
        watch_jobs(&mut bus)?;
        let mut props = vec![
            (
                "Description".to_string(),
                Value::Str(format!("husk container {}", self.unit)),
            ),
            ("Slice".into(), Value::Str(self.slice.clone())),
            ("Delegate".into(), Value::Bool(true)),
            ("PIDs".into(), Value::U32s(vec![pid as u32])),
            ("DefaultDependencies".into(), Value::Bool(false)),
        ];
        for accounting in [
            "MemoryAccounting",
            "CPUAccounting",
            "IOAccounting",
            "TasksAccounting",
        ] {
            props.push((accounting.into(), Value::Bool(true)));
        }
        let reply = bus
            .call(
                SYSTEMD,
                SYSTEMD_PATH,
                MANAGER,
                "StartTransientUnit",
                &[
                    Value::Str(self.unit.clone()),
                    Value::Str("replace".into()),
                    Value::Props(props),
                    Value::AuxUnits,
                ],
            )
            .map_err(|e| dbus_error(&format!("starting {}", self.unit), e))?;
        let job = reply.args.first().cloned().unwrap_or_default();
        wait_job(&mut bus, &job, &format!("starting {}", self.unit))?;
        if !self.v2.exists() {
            return Err(CgroupError::Systemd(format!(
                "{} started, but its cgroup {} does not exist (is the slice elsewhere?)",
                self.unit,
                self.v2.path().display()
            )));
        }
        Ok(())
    }
}

/// Subscribe to the Manager's JobRemoved signals (dbus-daemon routes
/// signals only to matching connections).
fn watch_jobs(bus: &mut Bus) -> Result<(), CgroupError> {
    bus.call(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "AddMatch",
        &[Value::Str(format!(
            "type='signal',sender='{SYSTEMD}',interface='{MANAGER}',member='JobRemoved',path='{SYSTEMD_PATH}'"
        ))],
    )
    .map(|_| ())
    .map_err(|e| dbus_error("subscribing to systemd job signals", e))
}

/// Wait for `job` to finish; anything but "done" is an error.
fn wait_job(bus: &mut Bus, job: &str, what: &str) -> Result<(), CgroupError> {
    // JobRemoved(u id, o job, s unit, s result)
    let m = bus
        .wait_signal("JobRemoved", JOB_TIMEOUT, |m| {
            m.args.get(1).map(String::as_str) == Some(job)
        })
        .map_err(|e| dbus_error(what, e))?;
    match m.args.get(3).map(String::as_str) {
        Some("done") => Ok(()),
        other => Err(CgroupError::Systemd(format!(
            "{what}: the job ended {:?}",
            other.unwrap_or("without a result")
        ))),
    }
}

impl Manager for SystemdManager {
    fn directories(&self) -> Vec<PathBuf> {
        vec![self.v2.path().to_path_buf()]
    }

    fn apply(&self, pid: i32) -> Result<(), CgroupError> {
        if self.v2.exists() {
            // The unit is running (exec): the delegated cgroup takes the pid directly.
            return fs::write_pid(self.v2.path(), pid);
        }
        self.start_unit(pid)
    }

    fn set(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let props = unit_properties(r);
        if !props.is_empty() {
            let mut bus = Bus::system().map_err(|e| dbus_error("connecting to systemd", e))?;
            bus.call(
                SYSTEMD,
                SYSTEMD_PATH,
                MANAGER,
                "SetUnitProperties",
                &[
                    Value::Str(self.unit.clone()),
                    Value::Bool(true),
                    Value::Props(props),
                ],
            )
            .map_err(|e| dbus_error(&format!("setting properties of {}", self.unit), e))?;
        }
        // Then the files, with the exact values (systemd rounds some) and
        // everything systemd has no property for.
        self.v2.set(r)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        self.v2.pids()
    }

    fn destroy_except(&self, keep: &[PathBuf]) -> Result<(), CgroupError> {
        // A transient scope is always the container's own; a kept directory
        // (one that existed before create) is never stopped or removed.
        if keep.iter().any(|k| k == self.v2.path()) {
            return Ok(());
        }
        if self.v2.exists() {
            // An emptied transient scope is usually gone already; stop it if not.
            let stopped = Bus::system().and_then(|mut bus| {
                let reply = bus.call(
                    SYSTEMD,
                    SYSTEMD_PATH,
                    MANAGER,
                    "StopUnit",
                    &[Value::Str(self.unit.clone()), Value::Str("replace".into())],
                );
                match reply {
                    Ok(reply) => {
                        let job = reply.args.first().cloned().unwrap_or_default();
                        // Subscribing after the call may miss a fast job; the cgroup
                        // removal below does not depend on it.
                        let _ = watch_jobs(&mut bus);
                        let _ = bus.wait_signal("JobRemoved", Duration::from_secs(5), |m| {
                            m.args.get(1) == Some(&job)
                        });
                        Ok(())
                    }
                    Err(e) if e.to_string().contains("NoSuchUnit") => Ok(()),
                    Err(e) => Err(e),
                }
            });
            if let Err(e) = stopped {
                tracing::warn!("stopping {}: {e}; removing its cgroup directly", self.unit);
            }
        }
        self.v2.destroy_except(keep)
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        self.v2.freeze()
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        self.v2.thaw()
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        self.v2.is_frozen()
    }

    fn exists(&self) -> bool {
        self.v2.exists()
    }

    fn state(&self) -> CgroupState {
        CgroupState::Systemd {
            unit: self.unit.clone(),
            slice: self.slice.clone(),
            path: self.v2.path().to_path_buf(),
        }
    }

    fn delegate_to(&self, uid: u32, gid: u32) -> Result<(), CgroupError> {
        self.v2.delegate_to(uid, gid)
    }
}

/// The unit properties systemd has for `r` (values it would refuse are left
/// to the file writes, which report them naming the field).
pub(crate) fn unit_properties(r: &LinuxResources) -> Vec<(String, Value)> {
    let mut props: Vec<(String, Value)> = Vec::new();
    let mut put = |name: &str, v: Value| props.push((name.to_string(), v));
    let max_or = |v: i64| if v < 0 { u64::MAX } else { v as u64 };
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit().filter(|&l| l != 0 && l >= -1) {
            put("MemoryMax", Value::U64(max_or(l)));
        }
        if let Some(l) = m.reservation().filter(|&l| l != 0 && l >= -1) {
            put("MemoryLow", Value::U64(max_or(l)));
        }
        if let Ok(Some(swap)) = v2::swap_v2(m.limit().filter(|&v| v != 0), m.swap()) {
            let v = if swap == "max" {
                Some(u64::MAX)
            } else {
                swap.parse().ok()
            };
            if let Some(v) = v {
                put("MemorySwapMax", Value::U64(v));
            }
        }
    }
    if let Some(cpu) = r.cpu() {
        if let Some(shares) = cpu.shares().filter(|&s| s != 0) {
            put(
                "CPUWeight",
                Value::U64(v2::cpu_shares_to_weight(shares).clamp(1, 10_000)),
            );
        }
        let period = cpu.period().filter(|&p| p != 0);
        if let Some(p) = period {
            put("CPUQuotaPeriodUSec", Value::U64(p));
        }
        if let Some(q) = cpu.quota().filter(|&q| q != 0) {
            put(
                "CPUQuotaPerSecUSec",
                Value::U64(quota_per_sec(q, period.unwrap_or(100_000))),
            );
        }
        if let Some(mask) = cpu.cpus().as_deref().and_then(list_to_mask) {
            put("AllowedCPUs", Value::Bytes(mask));
        }
        if let Some(mask) = cpu.mems().as_deref().and_then(list_to_mask) {
            put("AllowedMemoryNodes", Value::Bytes(mask));
        }
    }
    if let Some(p) = r.pids() {
        let limit = p.limit();
        put(
            "TasksMax",
            Value::U64(if limit <= 0 { u64::MAX } else { limit as u64 }),
        );
    }
    if let Some(w) = r
        .block_io()
        .as_ref()
        .and_then(|b| b.weight())
        .filter(|&w| w != 0)
    {
        put("IOWeight", Value::U64(v2::blkio_weight_to_io_weight(w)));
    }
    props
}

/// CPU time per second of wall time, as systemd's CPUQuotaPerSecUSec wants
/// it: rounded up to whole 10 ms (systemd's granularity, as runc does);
/// a negative quota is no limit.
pub(crate) fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota < 0 || period == 0 {
        return u64::MAX;
    }
    let per_sec = (quota as u64).saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// A cpuset list ("0-3,6") as the little-endian byte mask systemd's
/// AllowedCPUs takes; None for an empty or malformed list (the file write
/// reports those).
pub(crate) fn list_to_mask(list: &str) -> Option<Vec<u8>> {
    let list = list.trim();
    if list.is_empty() {
        return None;
    }
    let mut mask: Vec<u8> = Vec::new();
    for part in list.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let n = part.trim().parse::<usize>().ok()?;
                (n, n)
            }
        };
        if a > b || b >= 8192 {
            return None;
        }
        for bit in a..=b {
            if mask.len() <= bit / 8 {
                mask.resize(bit / 8 + 1, 0);
            }
            mask[bit / 8] |= 1 << (bit % 8);
        }
    }
    Some(mask)
}

/// A slice's cgroup path: `a-b.slice` is `/a.slice/a-b.slice`, `-.slice`
/// the root (systemd's nesting by dashes).
pub(crate) fn expand_slice(slice: &str) -> Result<String, String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(format!("{slice:?} is not a slice (must end in .slice)"));
    };
    if slice == "-.slice" {
        return Ok(String::new());
    }
    if stem.is_empty()
        || stem.starts_with('-')
        || stem.ends_with('-')
        || stem.contains("--")
        || stem.contains('/')
    {
        return Err(format!("{slice:?} is not a valid slice name"));
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push('/');
        path.push_str(&prefix);
        path.push_str(".slice");
    }
    Ok(path)
}

fn valid_unit_chars(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '\\' | '@'))
}

/// The state for a new container: `cgroups_path` is `slice:prefix:name` or
/// empty (`system.slice:husk:<id>`), as runc's systemd driver reads it.
pub(crate) fn plan(
    layout: &Layout,
    cgroups_path: Option<&str>,
    id: &str,
) -> Result<CgroupState, CgroupError> {
    let raw = cgroups_path.unwrap_or("");
    let invalid = |why: String| CgroupError::InvalidPath(raw.to_string(), why);
    let (slice, prefix, name) =
        if raw.is_empty() {
            ("", "husk", id)
        } else {
            match raw.split(':').collect::<Vec<_>>()[..] {
                [s, p, n] => (s, p, n),
                _ => return Err(invalid(
                    "the systemd cgroup driver (--systemd-cgroup) expects \"slice:prefix:name\""
                        .into(),
                )),
            }
        };
    if name.ends_with(".slice") {
        return Err(CgroupError::Unsupported(format!(
            "linux.cgroupsPath {raw:?}: a slice as the container's unit is not supported; \
             name a scope (\"slice:prefix:name\")"
        )));
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    if !valid_unit_chars(name) || (!prefix.is_empty() && !valid_unit_chars(prefix)) {
        return Err(invalid(format!(
            "{unit:?} is not a valid systemd unit name"
        )));
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let slice_path = expand_slice(slice).map_err(invalid)?;
    let h: &Hierarchy = match layout {
        Layout::V2(h) => h,
        Layout::V1 { .. } => {
            return Err(CgroupError::Unsupported(
                "--systemd-cgroup: the systemd cgroup driver needs a pure cgroup v2 host \
                 (this one has cgroup v1 hierarchies); use the cgroupfs driver"
                    .into(),
            ))
        }
    };
    let full = format!("{slice_path}/{unit}");
    let root = h.root.trim_end_matches('/');
    let inside = full
        .strip_prefix(root)
        .filter(|r| r.starts_with('/'))
        .ok_or_else(|| {
            invalid(format!(
                "{full} is outside the cgroup2 mount's root {}",
                h.root
            ))
        })?;
    Ok(CgroupState::Systemd {
        unit,
        slice: slice.to_string(),
        path: Path::new(&h.mount_point).join(inside.trim_start_matches('/')),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
    };

    #[test]
    fn slices_expand_by_dashes() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "");
        assert!(expand_slice("a--b.slice").is_err());
        assert!(expand_slice("a.scope").is_err());
        assert!(expand_slice("-a.slice").is_err());
    }

    fn v2_layout(root: &str) -> Layout {
        Layout::V2(Hierarchy {
            controllers: vec![],
            mount_point: "/sys/fs/cgroup".into(),
            root: root.into(),
        })
    }

    #[test]
    fn plan_names_the_scope_and_its_cgroup() {
        let s = plan(&v2_layout("/"), Some("machine-x.slice:husk:ctr1"), "id").unwrap();
        assert_eq!(
            s,
            CgroupState::Systemd {
                unit: "husk-ctr1.scope".into(),
                slice: "machine-x.slice".into(),
                path: "/sys/fs/cgroup/machine.slice/machine-x.slice/husk-ctr1.scope".into(),
            }
        );
        let s = plan(&v2_layout("/"), None, "abc").unwrap();
        assert_eq!(
            s,
            CgroupState::Systemd {
                unit: "husk-abc.scope".into(),
                slice: "system.slice".into(),
                path: "/sys/fs/cgroup/system.slice/husk-abc.scope".into(),
            }
        );
        let s = plan(&v2_layout("/"), Some(":docker:x"), "id").unwrap();
        assert!(matches!(s, CgroupState::Systemd { ref unit, .. } if unit == "docker-x.scope"));
        let s = plan(&v2_layout("/"), Some("system.slice::x"), "id").unwrap();
        assert!(matches!(s, CgroupState::Systemd { ref unit, .. } if unit == "x.scope"));
        // A cgroupns-style mount root.
        let s = plan(&v2_layout("/system.slice"), Some("system.slice:p:n"), "id").unwrap();
        assert!(
            matches!(s, CgroupState::Systemd { ref path, .. } if path == Path::new("/sys/fs/cgroup/p-n.scope"))
        );
        for bad in [
            "/abs/path",
            "a:b",
            "system.slice:p:n/x",
            "notaslice:p:n",
            "a:b:c:d",
        ] {
            assert!(plan(&v2_layout("/"), Some(bad), "id").is_err(), "{bad}");
        }
        assert!(plan(&v2_layout("/"), Some("system.slice:p:sub.slice"), "id").is_err());
        let v1 = Layout::V1 {
            hierarchies: vec![],
            unified: None,
        };
        let e = plan(&v1, None, "id").unwrap_err().to_string();
        assert!(e.contains("pure cgroup v2"), "{e}");
    }

    #[test]
    fn cpu_masks_and_quota() {
        assert_eq!(list_to_mask("0-3,6").unwrap(), vec![0b0100_1111]);
        assert_eq!(list_to_mask("9").unwrap(), vec![0, 0b10]);
        assert!(list_to_mask("").is_none());
        assert!(list_to_mask("3-1").is_none());
        assert!(list_to_mask("x").is_none());
        assert_eq!(quota_per_sec(50_000, 100_000), 500_000);
        assert_eq!(quota_per_sec(12_345, 100_000), 130_000);
        assert_eq!(quota_per_sec(-1, 100_000), u64::MAX);
    }

    #[test]
    fn properties_from_resources() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64i64 << 20)
                    .swap(96i64 << 20)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(50_000i64)
                    .period(100_000u64)
                    .cpus("0-1")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(-1i64).build().unwrap())
            .build()
            .unwrap();
        let props = unit_properties(&r);
        let get = |n: &str| props.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("MemoryMax"), Some(Value::U64(64 << 20)));
        assert_eq!(get("MemorySwapMax"), Some(Value::U64(32 << 20)));
        assert_eq!(get("CPUWeight"), Some(Value::U64(100)));
        assert_eq!(get("CPUQuotaPerSecUSec"), Some(Value::U64(500_000)));
        assert_eq!(get("CPUQuotaPeriodUSec"), Some(Value::U64(100_000)));
        assert_eq!(get("AllowedCPUs"), Some(Value::Bytes(vec![0b11])));
        assert_eq!(get("TasksMax"), Some(Value::U64(u64::MAX)));
        assert_eq!(get("MemoryLow"), None);
        assert!(unit_properties(&LinuxResources::default()).is_empty());
    }
}
