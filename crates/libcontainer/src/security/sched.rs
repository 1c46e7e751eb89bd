//! Process attributes that are one system call each: the CPU scheduler
//! (`process.scheduler`), the I/O priority (`process.ioPriority`), the
//! execution domain (`linux.personality`) and the NUMA memory policy
//! (`linux.memoryPolicy`). Each error names its config field.

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, MemoryPolicyFlagType, MemoryPolicyModeType,
    Scheduler,
};

use super::SecurityError;

fn sys_err(field: &str, what: &str) -> SecurityError {
    SecurityError::Attribute(format!(
        "{field}: {what}: {}",
        std::io::Error::last_os_error()
    ))
}

/// The kernel's `struct sched_attr` (sched_setattr(2)).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// Apply `process.scheduler` to the calling process with sched_setattr(2).
pub fn apply_scheduler(s: &Scheduler) -> Result<(), SecurityError> {
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0).max(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    };
    // SAFETY: sched_setattr reads a live, correctly sized struct.
    if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) } != 0 {
        return Err(sys_err("process.scheduler", "sched_setattr"));
    }
    Ok(())
}

/// Apply `process.ioPriority` with ioprio_set(2).
pub fn apply_io_priority(p: &LinuxIOPriority) -> Result<(), SecurityError> {
    let class: i64 = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&p.priority()) {
        return Err(SecurityError::Attribute(format!(
            "process.ioPriority.priority: {} is not in 0..7",
            p.priority()
        )));
    }
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    let value = (class << 13) | p.priority();
    // SAFETY: plain syscall on the calling process.
    if unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) } != 0 {
        return Err(sys_err("process.ioPriority", "ioprio_set"));
    }
    Ok(())
}

/// Apply `linux.personality` with personality(2). Only the execution domain
/// is defined by the spec; flags are refused rather than ignored.
pub fn apply_personality(p: &LinuxPersonality) -> Result<(), SecurityError> {
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(SecurityError::Attribute(
            "linux.personality.flags: no flags are defined; refusing to ignore them".into(),
        ));
    }
    let domain: libc::c_ulong = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    // SAFETY: personality only sets a process attribute.
    if unsafe { libc::personality(domain) } == -1 {
        return Err(sys_err("linux.personality", "personality"));
    }
    Ok(())
}

/// Parse a node list such as `0-3,7` into a bitmask of `u64` words.
pub fn parse_nodes(list: &str) -> Result<Vec<u64>, String> {
    let mut mask = vec![0u64; 1];
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let lo: usize = lo
            .parse()
            .map_err(|_| format!("{part:?} is not a node or range"))?;
        let hi: usize = hi
            .parse()
            .map_err(|_| format!("{part:?} is not a node or range"))?;
        if lo > hi || hi >= 4096 {
            return Err(format!("{part:?} is not a valid node range"));
        }
        for n in lo..=hi {
            if mask.len() <= n / 64 {
                mask.resize(n / 64 + 1, 0);
            }
            mask[n / 64] |= 1 << (n % 64);
        }
    }
    Ok(mask)
}

/// Apply `linux.memoryPolicy` with set_mempolicy(2).
pub fn apply_memory_policy(m: &LinuxMemoryPolicy) -> Result<(), SecurityError> {
    let mut mode: libc::c_int = match m.mode() {
        MemoryPolicyModeType::MpolDefault => 0,
        MemoryPolicyModeType::MpolPreferred => 1,
        MemoryPolicyModeType::MpolBind => 2,
        MemoryPolicyModeType::MpolInterleave => 3,
        MemoryPolicyModeType::MpolLocal => 4,
        MemoryPolicyModeType::MpolPreferredMany => 5,
        MemoryPolicyModeType::MpolWeightedInterleave => 6,
    };
    for f in m.flags().iter().flatten() {
        mode |= match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        };
    }
    let mask = parse_nodes(m.nodes().as_deref().unwrap_or(""))
        .map_err(|e| SecurityError::Attribute(format!("linux.memoryPolicy.nodes: {e}")))?;
    let empty = mask.iter().all(|w| *w == 0);
    let (ptr, maxnode) = if empty {
        (std::ptr::null(), 0)
    } else {
        (mask.as_ptr(), (mask.len() * 64 + 1) as libc::c_ulong)
    };
    // SAFETY: the mask outlives the call and maxnode matches its size in bits.
    if unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) } != 0 {
        return Err(sys_err("linux.memoryPolicy", "set_mempolicy"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists() {
        assert_eq!(parse_nodes("0-3,7").unwrap(), vec![0b1000_1111]);
        assert_eq!(parse_nodes("64").unwrap(), vec![0, 1]);
        assert_eq!(parse_nodes("").unwrap(), vec![0]);
        assert!(parse_nodes("3-1").is_err());
        assert!(parse_nodes("x").is_err());
    }
}
