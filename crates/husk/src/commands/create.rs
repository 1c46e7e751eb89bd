//! `husk create`.

use libcontainer::{CreateOptions, Runtime};

use super::CmdResult;
use crate::cli::CreateArgs;

pub fn options(a: &CreateArgs) -> CreateOptions {
    CreateOptions {
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        console_socket: a.console_socket.clone(),
        pid_file: a.pid_file.clone(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        spec: None,
    }
}

pub fn run(rt: &Runtime, a: &CreateArgs) -> CmdResult {
    rt.create(&options(a))?;
    Ok(0)
}
