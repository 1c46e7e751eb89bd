//! `husk exec`: runc's flags to `Runtime::exec`. With `--detach` it returns
//! once the process runs; otherwise it waits for it, forwarding signals (and
//! relaying its tty when it has one and no `--console-socket`, as runc does),
//! and exits with its exit code. A failure exits 255 with "exec failed: …",
//! as runc's do.

use std::path::Path;

use libcontainer::{ExecOptions, ExecProcess, ProcessOverrides, Runtime};
use nix::sys::signal::SigSet;

use super::CmdResult;
use crate::cli::{ExecArgs, GlobalOpts};

type BoxError = Box<dyn std::error::Error>;

pub fn run(rt: &Runtime, g: &GlobalOpts, a: &ExecArgs) -> CmdResult {
    match exec(rt, a) {
        Ok(code) => Ok(code),
        Err(e) => {
            crate::logging::report_error(g, &format!("exec failed: {e}"));
            Ok(255)
        }
    }
}

fn exec(rt: &Runtime, a: &ExecArgs) -> Result<i32, BoxError> {
    let mut opts = options(a)?;
    if a.detach {
        rt.exec(&opts)?;
        return Ok(0);
    }
    let console = if a.console_socket.is_none() && wants_terminal(a) {
        Some(crate::tty::ConsoleSocket::new()?)
    } else {
        None
    };
    if let Some(c) = &console {
        opts.console_socket = Some(c.path().to_path_buf());
    }
    // Block the signals we forward before the clone, so none is lost before
    // the wait loop; the process unblocks them for itself.
    let mask = SigSet::all();
    mask.thread_block()?;
    let pid = match rt.exec(&opts) {
        Ok(execed) => execed.pid,
        Err(e) => {
            let _ = mask.thread_unblock();
            return Err(e.into());
        }
    };
    let code = match console {
        Some(c) => {
            let master = c.receive_master()?;
            drop(c);
            crate::tty::relay(master, pid, &mask, super::run::reap)?
        }
        None => super::run::wait_forwarding(pid, &mask)?,
    };
    Ok(code)
}

fn options(a: &ExecArgs) -> Result<ExecOptions, BoxError> {
    // Never parsed and ignored: husk applies no LSM label.
    if let Some(label) = &a.process_label {
        return Err(
            format!("--process-label {label:?}: SELinux labels are not supported by husk").into(),
        );
    }
    if let Some(profile) = &a.apparmor {
        return Err(
            format!("--apparmor {profile:?}: AppArmor profiles are not supported by husk").into(),
        );
    }
    if a.console_socket.is_some() && !a.detach {
        return Err(
            "--console-socket needs --detach (in the foreground husk relays the tty itself)".into(),
        );
    }
    let (id, command) = a.args.split_first().ok_or("exec needs a container id")?;
    let process = match &a.process {
        Some(path) => {
            if !command.is_empty() {
                return Err(format!(
                    "--process {}: the command comes from the process file; remove {command:?}",
                    path.display()
                )
                .into());
            }
            for (given, flag) in [
                (a.cwd.is_some(), "--cwd"),
                (!a.env.is_empty(), "--env"),
                (a.user.is_some(), "--user"),
                (!a.additional_gids.is_empty(), "--additional-gids"),
                (!a.cap.is_empty(), "--cap"),
                (a.no_new_privs, "--no-new-privs"),
            ] {
                if given {
                    return Err(format!(
                        "{flag} cannot be used with --process: set it in the process file"
                    )
                    .into());
                }
            }
            if a.tty && file_terminal(path) != Some(true) {
                return Err(format!(
                    "--tty: the --process file {} does not set \"terminal\": true",
                    path.display()
                )
                .into());
            }
            ExecProcess::File(path.clone())
        }
        None => {
            let (uid, gid) = match &a.user {
                Some(u) => parse_user(u).map(|(u, g)| (Some(u), g))?,
                None => (None, None),
            };
            ExecProcess::Config(ProcessOverrides {
                args: command.to_vec(),
                cwd: a.cwd.clone(),
                env: a.env.clone(),
                uid,
                gid,
                additional_gids: a
                    .additional_gids
                    .iter()
                    .map(|g| {
                        parse_id(g).ok_or_else(|| format!("--additional-gids {g}: not a group id"))
                    })
                    .collect::<Result<_, _>>()?,
                caps: a.cap.clone(),
                no_new_privs: a.no_new_privs,
                tty: a.tty,
            })
        }
    };
    Ok(ExecOptions {
        id: id.clone(),
        process,
        console_socket: a.console_socket.clone(),
        pid_file: a.pid_file.clone(),
        detach: a.detach,
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        sub_cgroups: a.cgroup.clone(),
    })
}

/// Whether the process gets a terminal: `--tty`, or the `--process` file says so.
fn wants_terminal(a: &ExecArgs) -> bool {
    a.tty || a.process.as_deref().and_then(file_terminal) == Some(true)
}

/// `terminal` in a process file (None when unreadable: the library reports that).
fn file_terminal(path: &Path) -> Option<bool> {
    let data = std::fs::read(path).ok()?;
    serde_json::from_slice::<serde_json::Value>(&data).ok()?["terminal"].as_bool()
}

/// runc's `--user UID[:GID]` (numbers only).
fn parse_user(user: &str) -> Result<(u32, Option<u32>), String> {
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let uid = parse_id(uid).ok_or_else(|| format!("--user {user}: uid {uid:?} is not a number"))?;
    let gid = gid
        .map(|g| parse_id(g).ok_or_else(|| format!("--user {user}: gid {g:?} is not a number")))
        .transpose()?;
    Ok((uid, gid))
}

/// A user or group id; (uid_t)-1 is none.
fn parse_id(s: &str) -> Option<u32> {
    s.parse().ok().filter(|n| *n != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_flag() {
        assert_eq!(parse_user("1000"), Ok((1000, None)));
        assert_eq!(parse_user("1000:1001"), Ok((1000, Some(1001))));
        for bad in ["abc", "1:abc", "1:", "-1", "4294967295"] {
            assert!(parse_user(bad).is_err(), "{bad}");
        }
    }
}
