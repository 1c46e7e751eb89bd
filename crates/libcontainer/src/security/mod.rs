//! What limits the container's process: seccomp, capabilities, rlimits,
//! the user it runs as and no_new_privs. Each is applied in the init, in the
//! order the kernel needs (see `process::init`).

pub mod capabilities;
pub mod lsm;
pub mod rlimits;
pub mod sched;
pub mod seccomp;
pub mod seccomp_cache;
pub mod user;

/// Errors applying process restrictions. Each names the config field.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A capability name that is not a Linux capability.
    #[error("process.capabilities.{set}: unknown capability {name:?}")]
    UnknownCapability {
        /// The set (bounding, effective, ...).
        set: &'static str,
        /// The name as written.
        name: String,
    },
    /// Setting a capability set failed.
    #[error("process.capabilities: {0}")]
    Capabilities(String),
    /// An rlimit the kernel refused.
    #[error("process.rlimits: {0}")]
    Rlimit(String),
    /// The user or groups could not be set.
    #[error("process.user: {0}")]
    User(String),
    /// oom_score_adj could not be written.
    #[error("process.oomScoreAdj: {0}")]
    OomScoreAdj(String),
    /// A scheduler, I/O priority, personality or memory policy the kernel refused.
    #[error("{0}")]
    Attribute(String),
    /// no_new_privs could not be set.
    #[error("process.noNewPrivileges: {0}")]
    NoNewPrivileges(nix::Error),
}
