//! Loading and checking config.json.
//!
//! Everything after this module works on a [`Bundle`]: a parsed spec whose
//! paths are absolute and whose values have been checked, so the init process
//! never meets a config problem it could have been told about at `create`.

mod validate;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

pub use validate::{validate, Problem};

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
    /// Read `<dir>/config.json`, resolve its paths and validate it.
    pub fn load(dir: &Path) -> Result<Bundle, ConfigError> {
        let path = dir.canonicalize().map_err(|source| ConfigError::Bundle {
            path: dir.to_path_buf(),
            source,
        })?;
        let config = path.join("config.json");
        let data = std::fs::read(&config).map_err(|source| ConfigError::Read {
            path: config.clone(),
            source,
        })?;
        let spec = parse(&data).map_err(|reason| ConfigError::Parse {
            path: config.clone(),
            reason,
        })?;
        Bundle::from_spec(&path, spec)
    }

    /// Use a spec built in code; `dir` is the bundle its relative root path is resolved against.
    pub fn from_spec(dir: &Path, spec: Spec) -> Result<Bundle, ConfigError> {
        let problems = validate(&spec, dir);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
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
        Ok(Bundle {
            path: dir.to_path_buf(),
            rootfs,
            spec,
        })
    }
}

/// Parse config.json text. The JSON is read twice: first untyped, to give a
/// clear message for the commonest mistakes, then into the typed spec.
pub fn parse(data: &[u8]) -> Result<Spec, String> {
    let value: serde_json::Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err("the top level must be a JSON object".into());
    }
    // Name the field a type error is in: "linux.devices[0].type: unknown variant ...".
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })
}
