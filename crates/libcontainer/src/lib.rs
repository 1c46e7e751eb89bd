#![deny(missing_docs)]
//! husk's container runtime library: run OCI containers from Rust, without
//! shelling out to a runtime binary.
//!
//! A [`Runtime`] is a state directory (like runc's `--root`); every
//! operation names a container by id. Build a container from a bundle on
//! disk or from an [`oci_spec::runtime::Spec`] built in code
//! ([`CreateOptions`]), then drive it through the lifecycle of the OCI
//! runtime spec and runc's extensions:
//!
//! | operation | method |
//! |---|---|
//! | create, start, state, kill, delete, list | [`Runtime::create`], [`Runtime::start`], [`Runtime::state`], [`Runtime::kill`], [`Runtime::delete`], [`Runtime::list`] |
//! | exec | [`Runtime::exec`] with [`ExecOptions`] |
//! | pause, resume | [`Runtime::pause`], [`Runtime::resume`] |
//! | update, ps | [`Runtime::update`], [`Runtime::processes`] |
//! | stats, events | [`Runtime::stats`], [`Runtime::events`] |
//! | checkpoint, restore (CRIU) | [`Runtime::checkpoint`] with [`CheckpointOptions`], [`Runtime::restore`] with [`RestoreOptions`] |
//!
//! The `husk` command line is a thin layer over exactly this API.
//!
//! # Example: run a container built in code
//!
//! ```
//! use libcontainer::{CreateOptions, Runtime};
//! use oci_spec::runtime::{RootBuilder, Spec};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // Runs for real as root with HUSK_EXAMPLE_ROOTFS set (`make examples`
//! # // does both); elsewhere it only compiles and returns.
//! # let Some(rootfs) = std::env::var_os("HUSK_EXAMPLE_ROOTFS") else { return Ok(()) };
//! # if !nix::unistd::geteuid().is_root() { return Ok(()); }
//! # let bundle = std::env::temp_dir().join(format!("husk-doctest-{}", std::process::id()));
//! # struct Cleanup(std::path::PathBuf); // also when the example fails
//! # impl Drop for Cleanup {
//! #     fn drop(&mut self) {
//! #         let _ = std::fs::remove_dir_all(&self.0);
//! #         let _ = std::fs::remove_dir("/run/husk-doctest");
//! #     }
//! # }
//! # let _cleanup = Cleanup(bundle.clone());
//! # std::fs::create_dir_all(&bundle)?;
//!
//! // oci-spec's default is runc's `spec`: namespaces, mounts, capabilities.
//! let mut spec = Spec::default();
//! spec.set_hostname(Some("doctest".into()));
//! spec.set_root(Some(RootBuilder::default().path(rootfs).readonly(true).build()?));
//! let process = spec.process_mut().as_mut().unwrap();
//! process.set_args(Some(vec!["sh".into(), "-c".into(), "exit 7".into()]));
//! let linux = spec.linux_mut().as_mut().unwrap();
//! linux.set_cgroups_path(Some("/husk-doctest".into())); // always an absolute one
//!
//! let rt = Runtime::new("/run/husk-doctest");
//! let created = rt.create(&CreateOptions::new("doctest", &bundle).with_spec(spec))?;
//! let ran = rt.start("doctest").and_then(|()| created.wait());
//! rt.delete("doctest", true)?; // also after a failed start
//! assert_eq!(ran?, 7);
//! # Ok(())
//! # }
//! ```
//!
//! `crates/libcontainer/examples/` has complete programs: `run` (the
//! above, with output), `memory_stats` (a memory limit and the container's
//! usage) and `exec_output` (exec into a running container and collect the
//! output).
//!
//! # Processes and threads
//!
//! `create` and `exec` clone the new process from the calling one, so it is
//! the caller's child: reap it ([`Created::wait`], [`Execed::wait`], or your
//! own `waitpid`). Nothing of the library stays behind in between: no
//! thread, no helper process, no global state. Calls on one container are
//! serialised by a lock file in its state directory.
//!
//! The clone copies only the calling thread, as `fork` does, and the child
//! runs this library's code (which allocates) until it `execve`s. In a
//! program with other threads that is the usual hazard of `fork` without
//! `exec`: a lock another thread held at that instant (the allocator's,
//! say) stays held in the child, which could then hang before it reports
//! back. Call `create` and `exec` from a single-threaded process (a small
//! helper process, like the examples) when that matters.
//!
//! # Errors
//!
//! Every fallible call returns [`Error`], which says which concern failed and
//! wraps that concern's own enum: [`ConfigError`] (the bundle or spec),
//! [`StateError`] (ids, the state directory, the container's status),
//! [`CgroupError`], [`SeccompError`], [`SecurityError`], [`ProcessError`]
//! (the container's processes), [`ExecError`], [`OpsError`] and
//! [`CheckpointError`].
//!
//! # Logging
//!
//! The library never prints: it emits [`tracing`] events and one span per
//! lifecycle stage (`create` with `check`, `clone`, `cgroup`, `init` and
//! `hooks` inside it, `start`, `kill`, `exec`, `pause`, ...). Install a
//! subscriber to see them.

mod cgroups;
mod checkpoint;
mod container;
mod error;
mod exec;
mod faults;
pub mod features;
mod hooks;
#[cfg(test)]
mod lifecycle_tests;
mod netdev;
mod ops;
mod process;
mod recovery;
mod rootfs;
mod security;
mod spec;
mod state;
mod syscall;
mod userns;

pub use cgroups::CgroupError;
pub use checkpoint::{
    criu_check, CheckpointError, CheckpointOptions, ManageCgroupsMode, RestoreOptions, Restored,
    DESCRIPTORS_FILE,
};
pub use container::{CreateOptions, Created, OciState, Runtime, Status, Stdio};
pub use error::{Error, ExecError, OpsError, ProcessError, Result, TtyMismatch};
pub use exec::{ExecOptions, ExecProcess, Execed, ProcessOverrides};
pub use hooks::HookError;
pub use netdev::NetDeviceError;
pub use ops::{Event, EventKind};
pub use process::channel::ChannelError;
pub use security::seccomp::SeccompError;
pub use security::SecurityError;
pub use spec::{check_bundle, ConfigError, Problem, MAX_CONFIG_SIZE, OCI_VERSION};
pub use state::{rfc3339_nano, Operation, StateError};

// The foreign types the API uses, so callers need no matching versions of their own.
pub use nix::sys::signal::Signal;
pub use nix::unistd::Pid;
pub use oci_spec;

/// Resource usage of a container, as [`Runtime::stats`] and
/// [`Runtime::events`] report it (runc's `events` JSON shape).
pub mod stats {
    pub use crate::cgroups::stats::{
        Blkio, BlkioEntry, Cpu, CpuSet, CpuUsage, Hugetlb, IntelRdt, Memory, MemoryEntry, Pids,
        Stats, Throttling,
    };
}

/// Whether this process runs in a user namespace other than the host's
/// (`/proc/self/uid_map` is not the identity map): part of runc's rootless
/// detection, which `--rootless auto` follows.
pub fn in_user_namespace() -> bool {
    userns::in_user_namespace()
}

/// The version of the libseccomp this library is linked with, e.g. `2.5.4`.
pub fn libseccomp_version() -> String {
    security::seccomp::library_version()
}

/// Internals the fuzz targets in `fuzz/` and the benchmarks in `benches/`
/// drive directly (feature `internals`). Not part of the API: no
/// documentation, no stability, not for other uses.
#[cfg(feature = "internals")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod internals {
    pub use crate::process::channel::{pair, Channel, FromInit};
    pub use crate::rootfs::options::parse as parse_mount_options;
    pub use crate::rootfs::resolve::relative;
    pub use crate::security::seccomp::compile as compile_seccomp;
    pub use crate::security::seccomp_cache::FilterCache;
    pub use crate::spec::{load_checked, parse_collect, validate};
}
