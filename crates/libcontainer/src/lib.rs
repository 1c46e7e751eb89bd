//! husk's container runtime library.
//!
//! It turns an OCI bundle into a running container and manages it through the
//! lifecycle the OCI runtime spec defines: create, start, state, kill, delete.
//! The `husk` binary is a thin command line over this crate's public API.
//!
//! ```no_run
//! use libcontainer::{CreateOptions, Runtime};
//!
//! let rt = Runtime::new("/run/husk");
//! let created = rt.create(&CreateOptions {
//!     id: "demo".into(),
//!     bundle: "/path/to/bundle".into(),
//!     ..Default::default()
//! })?;
//! rt.start("demo")?;
//! let code = libcontainer::container::wait_exit_code(created.pid)?;
//! rt.delete("demo", false)?;
//! println!("exit code {code}");
//! # Ok::<(), libcontainer::Error>(())
//! ```

pub mod cgroups;
pub mod container;
pub mod error;
pub mod exec;
pub mod faults;
pub mod features;
pub mod hooks;
pub mod netdev;
pub mod ops;
pub mod process;
mod recovery;
pub mod rootfs;
pub mod security;
pub mod spec;
pub mod state;

pub use container::{CreateOptions, Created, OciState, Runtime, Status};
pub use error::{Error, Result};
pub use exec::{ExecOptions, ExecProcess, Execed, ProcessOverrides};
pub use ops::{Event, EventKind};
