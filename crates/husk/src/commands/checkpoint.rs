//! `husk checkpoint`: runc's flags onto [`libcontainer::CheckpointOptions`].

use std::path::PathBuf;

use libcontainer::oci_spec::runtime::LinuxNamespaceType;
use libcontainer::{CheckpointOptions, ManageCgroupsMode, Runtime};

use super::CmdResult;
use crate::cli::{CheckpointArgs, CriuArgs};

pub fn run(rt: &Runtime, a: &CheckpointArgs) -> CmdResult {
    let c = &a.criu;
    let opts = CheckpointOptions {
        image_path: image_path(c)?,
        work_path: c.work_path.clone(),
        parent_path: a.parent_path.clone(),
        leave_running: a.leave_running,
        tcp_established: c.tcp_established,
        ext_unix_sk: c.ext_unix_sk,
        shell_job: c.shell_job,
        lazy_pages: c.lazy_pages,
        status_fd: (a.status_fd >= 0).then_some(a.status_fd),
        page_server: a.page_server.clone(),
        file_locks: c.file_locks,
        pre_dump: a.pre_dump,
        manage_cgroups_mode: cgroups_mode(c)?,
        empty_ns: empty_ns(c)?,
        auto_dedup: c.auto_dedup,
    };
    rt.checkpoint(&a.id, &opts)?;
    Ok(0)
}

/// runc's default: `checkpoint` in the current directory.
pub(super) fn image_path(c: &CriuArgs) -> Result<PathBuf, std::io::Error> {
    match &c.image_path {
        Some(p) => Ok(p.clone()),
        None => Ok(std::env::current_dir()?.join("checkpoint")),
    }
}

pub(super) fn cgroups_mode(
    c: &CriuArgs,
) -> Result<Option<ManageCgroupsMode>, libcontainer::CheckpointError> {
    c.manage_cgroups_mode.as_deref().map(str::parse).transpose()
}

/// runc's namespace names (`network`, `pid`, ...); the library says which it can leave empty.
pub(super) fn empty_ns(c: &CriuArgs) -> Result<Vec<LinuxNamespaceType>, String> {
    c.empty_ns
        .iter()
        .map(|n| {
            serde_json::from_value(serde_json::Value::String(n.clone()))
                .map_err(|_| format!("--empty-ns: namespace {n:?} is not supported"))
        })
        .collect()
}
