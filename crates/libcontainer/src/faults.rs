//! Fault injection for the reliability tests: `HUSK_TEST_STOP_AT=<stage>`
//! makes the process that reaches `stage` die on the spot, as a SIGKILL or
//! an OOM kill would, with no cleanup of its own. Only debug builds read the
//! variable; in release builds [`stop_at`] is empty.
//!
//! Stages (each is one `faults::stop_at` line where it happens):
//!
//! | stage | process | where |
//! |---|---|---|
//! | `after-state-dir` | create | the state directory exists, nothing else |
//! | `after-clone` | create | the init exists, waiting for "proceed" |
//! | `after-cgroup` | create | the init is in its cgroup, limits set |
//! | `before-state-save` | create | the init reported ready; state.json not written |
//! | `after-state-save` | create | state.json written, `create` about to return |
//! | `init-before-mounts` | init | joined its namespaces, nothing mounted |
//! | `init-after-mounts` | init | the rootfs is mounted, before pivot_root |
//! | `init-after-ready` | init | reported ready, before waiting for `start` |
//! | `delete-after-kill` | delete | the init is dead; cgroup and state remain |
//! | `delete-before-remove` | delete | the cgroup is gone; state remains |

/// The environment variable that names the stage to die at (read by debug
/// builds only).
#[cfg(debug_assertions)]
pub const STOP_AT_VAR: &str = "HUSK_TEST_STOP_AT";

/// Die here if `HUSK_TEST_STOP_AT` names `stage` (debug builds only).
#[inline]
pub fn stop_at(stage: &str) {
    #[cfg(debug_assertions)]
    {
        if std::env::var_os(STOP_AT_VAR).is_some_and(|v| v == stage) {
            // SAFETY: kill and _exit on ourselves. A pid namespace's init
            // ignores SIGKILL from inside its namespace, hence the _exit.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
                libc::_exit(137);
            }
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = stage;
}
