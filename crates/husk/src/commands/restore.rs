//! `husk restore`: runc's flags onto [`libcontainer::RestoreOptions`]. In
//! the foreground (no `--detach`) husk waits for the restored container as
//! `run` does, forwarding signals, then deletes it.

use libcontainer::{RestoreOptions, Runtime};
use nix::sys::signal::SigSet;

use super::checkpoint::{cgroups_mode, empty_ns, image_path};
use super::CmdResult;
use crate::cli::RestoreArgs;

pub fn run(rt: &Runtime, a: &RestoreArgs) -> CmdResult {
    if a.lsm_profile.is_some() || a.lsm_mount_context.is_some() {
        return Err("--lsm-profile/--lsm-mount-context: husk does not apply LSM labels".into());
    }
    let c = &a.criu;
    let opts = RestoreOptions {
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        image_path: image_path(c)?,
        work_path: c.work_path.clone(),
        tcp_established: c.tcp_established,
        ext_unix_sk: c.ext_unix_sk,
        shell_job: c.shell_job,
        file_locks: c.file_locks,
        manage_cgroups_mode: cgroups_mode(c)?,
        console_socket: a.console_socket.clone(),
        pid_file: a.pid_file.clone(),
        no_pivot: a.no_pivot,
        lazy_pages: c.lazy_pages,
        empty_ns: empty_ns(c)?,
        auto_dedup: c.auto_dedup,
    };
    if a.detach {
        // The restored init is our child; exiting hands it to our subreaper.
        rt.restore(&opts)?;
        return Ok(0);
    }
    // As `run`: block the signals we forward before the process exists.
    let mask = SigSet::all();
    mask.thread_block()?;
    if !a.no_subreaper {
        nix::sys::prctl::set_child_subreaper(true)?;
    }
    let restored = match rt.restore(&opts) {
        Ok(r) => r,
        Err(e) => {
            let _ = mask.thread_unblock();
            return Err(e.into());
        }
    };
    let code = super::run::wait_forwarding(restored.pid, &mask)?;
    rt.delete(&a.id, true)?;
    Ok(code)
}
