//! `husk run`: create + start; in the foreground, wait for the container,
//! forward signals to it, delete it, and exit with its exit code.

use libcontainer::Runtime;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::CmdResult;
use crate::cli::RunArgs;

pub fn run(rt: &Runtime, a: &RunArgs) -> CmdResult {
    let opts = super::create::options(&a.create);
    if a.detach {
        rt.create(&opts)?;
        start_or_remove(rt, &opts.id)?;
        return Ok(0);
    }
    // A terminal wanted and no socket to send it to: husk takes the pty and relays.
    let console = if a.create.console_socket.is_none() && wants_terminal(&a.create.bundle) {
        Some(crate::tty::ConsoleSocket::new()?)
    } else {
        None
    };
    let mut opts = opts;
    if let Some(c) = &console {
        opts.console_socket = Some(c.path().to_path_buf());
    }
    // Block the signals we forward before the clone, so none is lost before the
    // wait loop; the init unblocks them for itself.
    let mask = SigSet::all();
    mask.thread_block()?;
    if !a.no_subreaper {
        nix::sys::prctl::set_child_subreaper(true)?;
    }
    let created = match rt.create(&opts) {
        Ok(c) => c,
        Err(e) => {
            let _ = mask.thread_unblock();
            return Err(e.into());
        }
    };
    let master = match console.as_ref().map(|c| c.receive_master()).transpose() {
        Ok(m) => m,
        Err(e) => {
            let _ = rt.delete(&opts.id, true);
            return Err(e);
        }
    };
    drop(console);
    start_or_remove(rt, &opts.id)?;
    let code = match master {
        Some(m) => crate::tty::relay(m, created.pid, &mask, reap)?,
        None => wait_forwarding(created.pid, &mask)?,
    };
    if !a.keep {
        rt.delete(&opts.id, true)?;
    }
    Ok(code)
}

fn start_or_remove(rt: &Runtime, id: &str) -> Result<(), Box<dyn std::error::Error>> {
    if let Err(e) = rt.start(id) {
        let _ = rt.delete(id, true);
        return Err(e.into());
    }
    Ok(())
}

fn wants_terminal(bundle: &std::path::Path) -> bool {
    std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
        .and_then(|v| v["process"]["terminal"].as_bool())
        .unwrap_or(false)
}

/// Forward every signal to `init` until it exits; reap the orphans we inherit
/// as subreaper (`run`) or our other children (`exec`).
pub(crate) fn wait_forwarding(init: Pid, mask: &SigSet) -> Result<i32, Box<dyn std::error::Error>> {
    loop {
        // The init may already be gone before the first signal arrives.
        if let Some(code) = reap(init)? {
            return Ok(code);
        }
        let sig = mask.wait()?;
        match sig {
            Signal::SIGCHLD => {}
            Signal::SIGWINCH | Signal::SIGURG => {}
            other => {
                let _ = kill(init, other);
            }
        }
    }
}

/// Reap every exited child; return the init's exit code if it was among them.
pub(crate) fn reap(init: Pid) -> Result<Option<i32>, Box<dyn std::error::Error>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == init => {
                return Ok(Some(128 + sig as i32))
            }
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(nix::Error::ECHILD) => return Ok(None),
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
