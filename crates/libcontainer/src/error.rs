//! The library's error type: one variant per concern, each wrapping that
//! module's own typed error so callers can match on what went wrong.

use crate::cgroups::CgroupError;
use crate::security::seccomp::SeccompError;
use crate::security::SecurityError;
use crate::spec::ConfigError;
use crate::state::StateError;

/// Anything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json or the bundle is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The state directory or a container's state is not what the operation needs.
    #[error(transparent)]
    State(#[from] StateError),
    /// cgroup management failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// The seccomp profile could not be compiled or loaded.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// Capabilities, rlimits or another process restriction failed.
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// `linux.netDevices` could not be moved into the container.
    #[error(transparent)]
    NetDevice(#[from] crate::netdev::NetDeviceError),
    /// Setting up or starting the container process failed.
    #[error("{0}")]
    Process(String),
    /// A system call failed; the string says which and on what.
    #[error("{context}: {source}")]
    Sys {
        /// What was being done.
        context: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// An I/O operation failed; the string says which and on what.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a description of the failed operation to a low-level error.
pub(crate) trait Context<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, nix::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Sys {
            context: context(),
            source,
        })
    }
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}
