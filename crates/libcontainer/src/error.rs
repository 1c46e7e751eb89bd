//! The library's error type: one variant per concern, each wrapping that
//! concern's own typed error so callers can match on what went wrong.

use std::path::PathBuf;

use crate::cgroups::CgroupError;
use crate::checkpoint::CheckpointError;
use crate::hooks::HookError;
use crate::process::channel::ChannelError;
use crate::security::seccomp::SeccompError;
use crate::security::SecurityError;
use crate::spec::ConfigError;
use crate::spec::Problem;
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
    /// Creating, starting or stopping the container's processes failed.
    #[error(transparent)]
    Lifecycle(#[from] ProcessError),
    /// `exec` was asked for something it cannot do, or its process failed to start.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// `update`, `events` or `stats` was given an unusable argument.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// `checkpoint` or `restore` failed, or CRIU is not usable.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A step inside the container's init or an exec'd process failed. Only
    /// that process itself (after the clone, before `execve`) makes this
    /// error: it sends the text to the runtime, which reports it as
    /// [`ProcessError::Init`] (`create`, `start`) or [`ExecError::Start`].
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

/// Errors about the container's own processes: the init that `create`
/// clones, `start` releases, `kill` signals and `delete` stops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// `process.terminal` is true and no console socket was given.
    #[error("process.terminal is true: --console-socket is required")]
    ConsoleSocketRequired,
    /// `start` of a container whose config has no `process`.
    #[error("cannot start container {id}: config.json has no process")]
    NoProcess {
        /// Container id.
        id: String,
    },
    /// The init exited before `start` could release it.
    #[error("cannot start container {id}: its init process has exited")]
    InitExited {
        /// Container id.
        id: String,
    },
    /// The init reported why it could not get to `execve` (the text crosses
    /// the process boundary, so it is all there is).
    #[error("{message}")]
    Init {
        /// The init's reason.
        message: String,
    },
    /// The init died before it reported ready or a failure.
    #[error("container init exited before it was ready ({channel}; {status})")]
    InitDied {
        /// What the channel said.
        channel: ChannelError,
        /// How it ended, as waitpid(2) reported it.
        status: String,
    },
    /// The parent↔init channel failed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// An OCI hook failed (prestart, createRuntime, poststart).
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The init announced a seccomp listener and sent no descriptor.
    #[error("init sent no seccomp listener")]
    NoSeccompListener,
    /// The seccomp listener could not be handed to the agent at `linux.seccomp.listenerPath`.
    #[error("linux.seccomp.listenerPath: {0}")]
    SeccompAgent(#[source] Box<Error>),
    /// A namespace in `linux.namespaces` cannot be joined.
    #[error("linux.namespaces: {reason}")]
    Namespace {
        /// The namespace file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The container's state records no cgroup.
    #[error("container {id} has no cgroup recorded")]
    NoCgroup {
        /// Container id.
        id: String,
    },
    /// The init did not go away after SIGKILL.
    #[error("container {id} (pid {pid}) did not die after SIGKILL")]
    DidNotDie {
        /// Container id.
        id: String,
        /// Host pid of the init.
        pid: i32,
    },
    /// The uid/gid maps of the new user namespace cannot be written.
    #[error("{field}: {reason}")]
    IdMapping {
        /// `linux.uidMappings` or `linux.gidMappings`.
        field: String,
        /// Why (e.g. newuidmap missing or refusing).
        reason: String,
    },
    /// An id-mapped mount (config.md "idmap") cannot be made.
    #[error("mounts[{index}] ({destination}): {reason}")]
    IdMappedMount {
        /// Index in `mounts`.
        index: usize,
        /// The mount's destination.
        destination: PathBuf,
        /// Why.
        reason: String,
    },
    /// The process that joins a user namespace and clones the container's
    /// process (for a joined user namespace, and rootless `exec`) failed; the
    /// text is its own.
    #[error("{message}")]
    Joiner {
        /// Its reason.
        message: String,
    },
}

/// Errors from `exec`: its options, the process it would run, and that
/// process failing before `execve`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// `preserve_fds` names a descriptor the caller does not have open.
    #[error("--preserve-fds {count}: fd {fd} is not open")]
    PreservedFdNotOpen {
        /// `preserve_fds`.
        count: u32,
        /// The first missing descriptor.
        fd: i32,
    },
    /// [`ExecProcess::Config`](crate::ExecProcess::Config) on a container without a `process`.
    #[error("container {id} has no process in its config: use --process")]
    NoProcessInConfig {
        /// Container id.
        id: String,
    },
    /// The process fails the config checks (each problem names its field).
    #[error("{origin}: {}", .problems.iter().map(|p| {
        let field = p.path.strip_prefix("process.").unwrap_or(&p.path);
        format!("{field}: {}", p.message)
    }).collect::<Vec<_>>().join("; "))]
    InvalidProcess {
        /// Where the process came from (`--process FILE`, `process`, `exec`).
        origin: String,
        /// Every problem.
        problems: Vec<Problem>,
    },
    /// A `--process` file cannot be read or parsed.
    #[error("--process {}: {reason}", .path.display())]
    ProcessFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// [`ProcessOverrides::args`](crate::ProcessOverrides::args) is empty.
    #[error("process args cannot be empty")]
    EmptyArgs,
    /// [`ProcessOverrides::cwd`](crate::ProcessOverrides::cwd) is relative.
    #[error("--cwd {}: must be an absolute path", .0.display())]
    RelativeCwd(PathBuf),
    /// An [`ProcessOverrides::env`](crate::ProcessOverrides::env) entry is not `KEY=VALUE`.
    #[error("--env {0:?}: not KEY=VALUE")]
    BadEnv(String),
    /// A [`ProcessOverrides::caps`](crate::ProcessOverrides::caps) entry is not a capability.
    #[error("--cap {0}: unknown capability")]
    UnknownCapability(String),
    /// A terminal and a console socket do not go together as given.
    #[error("{}", match .0 {
        TtyMismatch::DetachedWithoutSocket => "cannot allocate a tty when detached without --console-socket",
        TtyMismatch::NoSocket => "a tty needs a console socket to send the pty to",
        TtyMismatch::SocketWithoutTty => "--console-socket is given but the process has no tty (--tty or process.terminal)",
    })]
    Tty(TtyMismatch),
    /// A [`ExecOptions::sub_cgroups`](crate::ExecOptions::sub_cgroups) entry is not usable.
    #[error("--cgroup {arg}: {reason}")]
    SubCgroup {
        /// The entry.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The process failed before `execve`; the reason is its own.
    #[error("unable to start container process: {0}")]
    Start(String),
}

/// How a terminal and a console socket disagree (see [`ExecError::Tty`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtyMismatch {
    /// A tty with `detach` and no console socket.
    DetachedWithoutSocket,
    /// A tty in the foreground with no console socket.
    NoSocket,
    /// A console socket for a process without a tty.
    SocketWithoutTty,
}

/// Errors in the arguments of `update`, `events` and `stats`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// `events` with a zero interval.
    #[error("duration interval must be greater than 0")]
    ZeroInterval,
    /// The resources to apply cannot be merged with the recorded ones.
    #[error("linux.resources: {0}")]
    Resources(#[from] serde_json::Error),
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
