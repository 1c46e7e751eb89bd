//! Every check `create` makes on a bundle before anything exists (no state
//! directory, no cgroup, no process), in one place, so that `husk validate`
//! and `husk create` cannot disagree: read config.json (size-capped), parse it
//! collecting every type error, validate the values, and try what can be
//! tried without running anything: compile the seccomp filter, resolve the
//! cgroup path, look up capability names.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::parse::{parse_collect, Parsed};
use super::validate::{validate_with, Problem};
use super::{Bundle, ConfigError};
use crate::security::seccomp;
use crate::security::seccomp_cache::FilterCache;

/// The largest config.json husk reads. Real configs are a few KiB; a huge
/// one is a mistake or an attack on the runtime's memory.
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;

/// The id used to plan the cgroup when there is no container id yet (`validate`).
const PLACEHOLDER_ID: &str = "husk-validate";

/// A bundle that passed every check, with what the checks produced.
#[derive(Debug)]
pub struct Checked {
    /// The bundle and its config.
    pub bundle: Bundle,
    /// The compiled `linux.seccomp` filter, if the config has one.
    pub seccomp: Option<seccomp::Filter>,
    /// The cgroup manager the `linux.cgroupsPath` check built for the
    /// container's id (`None` without an id), so that `create` does not read
    /// the host's mounts a second time.
    pub cgroup: Option<Box<dyn crate::cgroups::Manager>>,
}

/// Every problem with the bundle in `dir`, one per JSON path (what `husk
/// validate` prints). Empty if `create` would accept it.
pub fn check_bundle(dir: &Path) -> Vec<Problem> {
    match load_checked(dir, None) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems(),
    }
}

/// Read and check the bundle in `dir` for the container `id` (`None`: no
/// container yet, as for `validate`). Any problem is an error; with several,
/// [`ConfigError::Invalid`] lists them all.
pub fn load_checked(dir: &Path, id: Option<&str>) -> Result<Checked, ConfigError> {
    load_checked_with(
        dir,
        &CheckOptions {
            id,
            ..CheckOptions::default()
        },
    )
}

/// How the bundle is going to be run, as far as the checks depend on it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions<'a> {
    /// The container's id (`None`: no container yet, as for `validate`).
    pub id: Option<&'a str>,
    /// The state root's compiled seccomp programs, to reuse and add to.
    pub seccomp_cache: Option<&'a FilterCache>,
    /// runc's `--systemd-cgroup`: `linux.cgroupsPath` is `slice:prefix:name`.
    pub systemd_cgroup: bool,
}

/// [`load_checked`] with every option.
pub fn load_checked_with(dir: &Path, opts: &CheckOptions) -> Result<Checked, ConfigError> {
    let path = dir.canonicalize().map_err(|source| ConfigError::Bundle {
        path: dir.to_path_buf(),
        source,
    })?;
    let config = path.join("config.json");
    let data = read_config(&config)?;
    check_data(path, config, &data, opts)
}

/// [`load_checked`] for a spec built in code: the same checks on the same
/// JSON a config.json holding it would have (`dir` is the bundle its
/// relative root path is resolved against).
pub fn check_spec(dir: &Path, spec: &Spec, opts: &CheckOptions) -> Result<Checked, ConfigError> {
    let path = dir.canonicalize().map_err(|source| ConfigError::Bundle {
        path: dir.to_path_buf(),
        source,
    })?;
    let config = path.join("config.json");
    let data = serde_json::to_vec(spec).map_err(|e| ConfigError::Parse {
        path: config.clone(),
        reason: e.to_string(),
    })?;
    check_data(path, config, &data, opts)
}

fn check_data(
    path: PathBuf,
    config: PathBuf,
    data: &[u8],
    opts: &CheckOptions,
) -> Result<Checked, ConfigError> {
    let CheckOptions {
        id,
        seccomp_cache: cache,
        systemd_cgroup,
    } = *opts;
    let parsed = parse_collect(data);
    if parsed.spec.is_none()
        && parsed.problems.len() == 1
        && parsed.problems[0].path == "config.json"
    {
        // Not JSON (or not an object): nothing else can be said.
        return Err(ConfigError::Parse {
            path: config,
            reason: parsed.problems[0].message.clone(),
        });
    }
    let mut problems = parsed.problems.clone();
    let Some(mut spec) = parsed.spec.clone() else {
        return Err(ConfigError::Invalid(problems));
    };
    let namespaces_known = !parsed
        .dropped
        .iter()
        .any(|d| d == "linux" || d.starts_with("linux.namespaces"));
    for p in validate_with(&spec, &path, namespaces_known) {
        add_mapped(&parsed, &mut problems, p);
    }
    let mut cgroup = None;
    if !problems.iter().any(|p| p.path == "linux.cgroupsPath") {
        match check_cgroups_path(&spec, id, systemd_cgroup) {
            Ok(manager) => cgroup = id.map(|_| manager),
            Err(p) => add_mapped(&parsed, &mut problems, p),
        }
    }
    let seccomp_parsed = !parsed.touches_dropped("linux.seccomp")
        && !problems.iter().any(|p| p.path.starts_with("linux.seccomp"));
    let filter = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) if seccomp_parsed => {
            match cache.map_or_else(|| seccomp::compile(s), |c| c.compile(s)) {
                Ok(f) => Some(f),
                Err(e) => {
                    add_mapped(
                        &parsed,
                        &mut problems,
                        Problem::from_text("linux.seccomp", &e.to_string()),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    drop_ungrantable_capabilities(&mut spec);
    let bundle = Bundle::from_checked(&path, spec);
    Ok(Checked {
        bundle,
        seccomp: filter,
        cgroup,
    })
}

/// A problem found on the (possibly repaired) spec, at its original path;
/// dropped unless it is about something that parsed.
fn add_mapped(parsed: &Parsed, problems: &mut Vec<Problem>, mut p: Problem) {
    p.path = parsed.original_path(&p.path);
    if parsed.touches_dropped(&p.path) {
        return;
    }
    if !problems.contains(&p) {
        problems.push(p);
    }
}

fn read_config(config: &PathBuf) -> Result<Vec<u8>, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: config.clone(),
        source,
    };
    // Looked at before it is opened: opening a fifo would block, a device
    // could be read forever.
    let not_regular = || {
        read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    };
    if !std::fs::metadata(config).map_err(read_err)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(config)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        // Replaced between the two looks.
        return Err(not_regular());
    }
    if meta.len() > MAX_CONFIG_SIZE {
        return Err(ConfigError::TooLarge {
            path: config.clone(),
            size: meta.len(),
        });
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut data)
        .map_err(read_err)?;
    if data.len() as u64 > MAX_CONFIG_SIZE {
        // It grew while we read it.
        return Err(ConfigError::TooLarge {
            path: config.clone(),
            size: data.len() as u64,
        });
    }
    Ok(data)
}

/// config.md "Linux Process" `capabilities`: a capability that cannot be
/// granted MUST be logged as a warning and SHOULD NOT fail the container.
/// What this runtime cannot grant is what is not in its own bounding set
/// (the init inherits that set; no capset can add to it) or what the running
/// kernel does not have: such names are taken out of every set, with a
/// warning naming them.
fn drop_ungrantable_capabilities(spec: &mut Spec) {
    let Some(process) = spec.process_mut().as_mut() else {
        return;
    };
    let Some(mut caps) = process.capabilities().clone() else {
        return;
    };
    let grantable = crate::security::capabilities::grantable();
    let mut dropped = std::collections::BTreeSet::new();
    let mut filter = |set: Option<std::collections::HashSet<oci_spec::runtime::Capability>>| {
        set.map(|list| {
            list.into_iter()
                .filter(|c| {
                    let ok = crate::security::capabilities::to_caps(c)
                        .is_some_and(|c| grantable.contains(&c));
                    if !ok {
                        dropped.insert(crate::security::capabilities::full_name(c));
                    }
                    ok
                })
                .collect()
        })
    };
    let bounding = filter(caps.bounding().clone());
    let effective = filter(caps.effective().clone());
    let permitted = filter(caps.permitted().clone());
    let inheritable = filter(caps.inheritable().clone());
    let ambient = filter(caps.ambient().clone());
    if dropped.is_empty() {
        return;
    }
    caps.set_bounding(bounding)
        .set_effective(effective)
        .set_permitted(permitted)
        .set_inheritable(inheritable)
        .set_ambient(ambient);
    let names: Vec<String> = dropped.into_iter().collect();
    tracing::warn!(
        "process.capabilities: ignoring capabilities this runtime cannot grant (not in its bounding set): {}",
        names.join(", ")
    );
    process.set_capabilities(Some(caps));
}

/// Plan the container's cgroup as `create` will (nothing is created).
fn check_cgroups_path(
    spec: &Spec,
    id: Option<&str>,
    systemd: bool,
) -> Result<Box<dyn crate::cgroups::Manager>, Problem> {
    let path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned());
    crate::cgroups::manager(path.as_deref(), id.unwrap_or(PLACEHOLDER_ID), systemd)
        .map_err(|e| Problem::new("linux.cgroupsPath", e.to_string()))
}

impl ConfigError {
    /// This error as problems with JSON paths, one per line of `husk validate`.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ConfigError::Bundle { path, source } => {
                vec![Problem::new(
                    "bundle",
                    format!("{}: {source}", path.display()),
                )]
            }
            ConfigError::Read { path, source } => vec![Problem::new(
                "config.json",
                format!("{}: {source}", path.display()),
            )],
            ConfigError::TooLarge { .. } | ConfigError::Parse { .. } => {
                vec![Problem::new("config.json", self.to_string())]
            }
            ConfigError::Invalid(list) => list.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct TempBundle(PathBuf);

    impl TempBundle {
        fn new(name: &str, config: &serde_json::Value) -> TempBundle {
            let dir =
                std::env::temp_dir().join(format!("husk-check-test-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("rootfs")).unwrap();
            fs::write(dir.join("config.json"), serde_json::to_vec(config).unwrap()).unwrap();
            TempBundle(dir)
        }
    }

    impl Drop for TempBundle {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {
                "namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "pid"}],
                "cgroupsPath": "/husk-check-test"
            },
            "hostname": "h"
        })
    }

    #[test]
    fn valid_bundle_has_no_problems() {
        let b = TempBundle::new("valid", &base());
        assert_eq!(check_bundle(&b.0), vec![]);
    }

    #[test]
    fn parse_and_value_problems_are_listed_together() {
        let mut v = base();
        v["process"]["cwd"] = "relative".into();
        v["mounts"] = serde_json::json!([
            {"destination": 7},
            {"destination": "/a/../../b", "type": "tmpfs"}
        ]);
        v["linux"]["cgroupsPath"] = "/a/../..".into();
        let b = TempBundle::new("many", &v);
        let got: Vec<String> = check_bundle(&b.0).into_iter().map(|p| p.path).collect();
        for want in [
            "process.cwd",
            "mounts[0].destination",
            "mounts[1].destination",
            "linux.cgroupsPath",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
    }

    #[test]
    fn namespace_dependent_checks_wait_for_the_namespaces_to_parse() {
        let mut v = base();
        // The UTS entry does not parse: "hostname needs UTS" would be a guess.
        v["linux"]["namespaces"][1]["type"] = "utsx".into();
        let b = TempBundle::new("nsparse", &v);
        let got: Vec<String> = check_bundle(&b.0).into_iter().map(|p| p.path).collect();
        assert_eq!(got, vec!["linux.namespaces[1].type".to_string()]);
    }

    #[test]
    fn seccomp_is_compiled() {
        let mut v = base();
        v["linux"]["seccomp"] = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]
        });
        let b = TempBundle::new("seccomp", &v);
        let got = check_bundle(&b.0);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].path.starts_with("linux.seccomp.syscalls[0]"),
            "{got:?}"
        );
    }

    #[test]
    fn oversized_and_odd_config_files() {
        let b = TempBundle::new("big", &base());
        let f = fs::File::create(b.0.join("config.json")).unwrap();
        f.set_len(MAX_CONFIG_SIZE + 1).unwrap();
        let got = check_bundle(&b.0);
        assert!(got[0].message.contains("larger than"), "{got:?}");
        fs::remove_file(b.0.join("config.json")).unwrap();
        fs::create_dir(b.0.join("config.json")).unwrap();
        assert_eq!(check_bundle(&b.0)[0].path, "config.json");
        assert_eq!(check_bundle(&b.0.join("nope"))[0].path, "bundle");
    }
}
