//! Loading and checking config.json.
//!
//! Everything after this module works on a [`Bundle`]: a parsed spec whose
//! paths are absolute and whose values have been checked, so the init process
//! never meets a config problem it could have been told about at `create`.
//!
//! - `parse`: config.json text to the typed spec, collecting every type error.
//! - `validate`: the values and what the host must provide, every problem.
//! - `check`: both plus the trial runs (seccomp, cgroup path): the one
//!   function `create` and `validate` share.

mod check;
mod parse;
mod required;
mod validate;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

#[cfg(feature = "internals")]
pub use check::load_checked;
pub use check::{
    check_bundle, check_spec, load_checked_with, CheckOptions, Checked, MAX_CONFIG_SIZE,
};
#[cfg(feature = "internals")]
pub use parse::parse_collect;
pub use validate::{open_namespace, validate, Problem};

/// The OCI runtime spec version husk implements and reports.
pub const OCI_VERSION: &str = "1.2.0";

/// Errors about the bundle or its config.json.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The bundle directory is missing or unreadable.
    #[error("bundle {path}: {source}")]
    Bundle {
        /// The bundle path as given.
        path: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: std::io::Error,
    },
    /// config.json is missing or unreadable.
    #[error("config.json {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// config.json is not valid JSON or does not match the spec's schema.
    #[error("config.json {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// config.json is larger than [`MAX_CONFIG_SIZE`].
    #[error("config.json {path}: {size} bytes is larger than the {max} bytes husk reads", max = MAX_CONFIG_SIZE)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// One or more fields have values the runtime cannot accept.
    #[error("{}", format_problems(.0))]
    Invalid(Vec<Problem>),
}

fn format_problems(problems: &[Problem]) -> String {
    let parts: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    parts.join("; ")
}

/// A bundle: its absolute path and its checked config.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute, canonical bundle directory.
    pub path: PathBuf,
    /// Absolute path of the root filesystem.
    pub rootfs: PathBuf,
    /// The parsed config.
    pub spec: Spec,
}

impl Bundle {
    /// A bundle from a spec that passed the checks.
    fn from_checked(dir: &Path, spec: Spec) -> Bundle {
        let root = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .unwrap_or_default();
        let rootfs = if root.is_absolute() {
            root
        } else {
            dir.join(root)
        };
        Bundle {
            path: dir.to_path_buf(),
            rootfs,
            spec,
        }
    }
}
