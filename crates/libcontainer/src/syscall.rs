//! The seam between the lifecycle logic and the host: the few system calls
//! and `/proc` reads that decide a container's status and carry `kill`,
//! `pause` and `resume`. [`Runtime`](crate::Runtime) holds one; the real one
//! ([`Host`]) talks to the kernel, and the unit tests below swap in a double
//! that records what would have been done, so the status rules and the
//! signal paths are tested without root, processes or cgroups.

use std::fmt::Debug;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::cgroups::{self, CgroupError, CgroupState, Manager};

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Field 3: `R`, `S`, `Z`, `X`, ...
    pub state: char,
    /// Field 22: when it started, in clock ticks since boot.
    pub start_time: u64,
}

/// The host operations the lifecycle logic needs.
pub(crate) trait Syscall: Debug + Send + Sync {
    /// kill(2).
    fn kill(&self, pid: Pid, signal: Signal) -> nix::Result<()>;
    /// `/proc/<pid>/stat`, or `None` when there is no such process.
    fn proc_stat(&self, pid: i32) -> Option<ProcStat>;
    /// The cgroup manager of an existing container.
    fn cgroup(&self, state: &CgroupState) -> Result<Box<dyn Manager>, CgroupError>;
}

/// The real host.
#[derive(Debug, Default)]
pub(crate) struct Host;

impl Syscall for Host {
    fn kill(&self, pid: Pid, signal: Signal) -> nix::Result<()> {
        nix::sys::signal::kill(pid, signal)
    }

    fn proc_stat(&self, pid: i32) -> Option<ProcStat> {
        parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    fn cgroup(&self, state: &CgroupState) -> Result<Box<dyn Manager>, CgroupError> {
        cgroups::manager_from_state(state)
    }
}

/// Fields 3 and 22 of a `/proc/<pid>/stat` line. The command name may hold
/// spaces and parentheses: the fields are counted after the last `)`.
pub(crate) fn parse_stat(stat: &str) -> Option<ProcStat> {
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

#[cfg(test)]
pub(crate) mod double {
    //! A host in memory: processes are a table, signals and cgroup writes a log.

    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Mutex};

    use oci_spec::runtime::LinuxResources;

    use super::*;

    /// What the double saw, in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Call {
        Kill(i32, Signal),
        Freeze,
        Thaw,
        Destroy,
    }

    #[derive(Debug, Default)]
    pub struct World {
        pub procs: HashMap<i32, ProcStat>,
        pub cgroup_pids: Vec<i32>,
        pub frozen: bool,
        pub calls: Vec<Call>,
        /// kill(2) on a pid not in `procs` is ESRCH, as on the host.
        pub kill_error: Option<nix::Error>,
    }

    #[derive(Debug, Default, Clone)]
    pub struct FakeHost(pub Arc<Mutex<World>>);

    impl FakeHost {
        pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
            self.0.lock().unwrap()
        }
        pub fn calls(&self) -> Vec<Call> {
            self.world().calls.clone()
        }
    }

    impl Syscall for FakeHost {
        fn kill(&self, pid: Pid, signal: Signal) -> nix::Result<()> {
            let mut w = self.world();
            w.calls.push(Call::Kill(pid.as_raw(), signal));
            if let Some(e) = w.kill_error {
                return Err(e);
            }
            if !w.procs.contains_key(&pid.as_raw()) {
                return Err(nix::Error::ESRCH);
            }
            if signal == Signal::SIGKILL && !w.frozen {
                // Dies at once, and is reaped by whoever waits for it.
                w.procs.remove(&pid.as_raw());
                w.cgroup_pids.retain(|p| *p != pid.as_raw());
            }
            Ok(())
        }

        fn proc_stat(&self, pid: i32) -> Option<ProcStat> {
            self.world().procs.get(&pid).copied()
        }

        fn cgroup(&self, _state: &CgroupState) -> Result<Box<dyn Manager>, CgroupError> {
            Ok(Box::new(FakeCgroup(self.clone())))
        }
    }

    #[derive(Debug)]
    struct FakeCgroup(FakeHost);

    impl Manager for FakeCgroup {
        fn apply(&self, _pid: i32) -> Result<(), CgroupError> {
            Ok(())
        }
        fn set(&self, _resources: &LinuxResources) -> Result<(), CgroupError> {
            Ok(())
        }
        fn pids(&self) -> Result<Vec<i32>, CgroupError> {
            Ok(self.0.world().cgroup_pids.clone())
        }
        fn destroy_except(&self, _keep: &[std::path::PathBuf]) -> Result<(), CgroupError> {
            self.0.world().calls.push(Call::Destroy);
            Ok(())
        }
        fn directories(&self) -> Vec<std::path::PathBuf> {
            Vec::new()
        }
        fn freeze(&self) -> Result<(), CgroupError> {
            let mut w = self.0.world();
            w.frozen = true;
            w.calls.push(Call::Freeze);
            Ok(())
        }
        fn thaw(&self) -> Result<(), CgroupError> {
            let mut w = self.0.world();
            w.frozen = false;
            w.calls.push(Call::Thaw);
            // What a SIGKILL sent while frozen was waiting for.
            Ok(())
        }
        fn is_frozen(&self) -> Result<bool, CgroupError> {
            Ok(self.0.world().frozen)
        }
        fn exists(&self) -> bool {
            true
        }
        fn state(&self) -> CgroupState {
            CgroupState::V1 {
                paths: BTreeMap::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_the_command_name() {
        let line =
            "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                start_time: 987654
            })
        );
        assert_eq!(parse_stat("4242 (sh) Z"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn host_reads_our_own_stat() {
        let me = Host.proc_stat(std::process::id() as i32).unwrap();
        assert!(matches!(me.state, 'R' | 'S'), "{me:?}");
        assert!(me.start_time > 0);
    }
}
