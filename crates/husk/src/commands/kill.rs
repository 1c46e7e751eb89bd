//! `husk kill [--all] ID [SIGNAL]`.

use libcontainer::Runtime;

use super::CmdResult;
use crate::cli::KillArgs;

pub fn run(rt: &Runtime, a: &KillArgs) -> CmdResult {
    let signal = crate::signals::parse(&a.signal)?;
    rt.kill(&a.id, signal, a.all)?;
    Ok(0)
}
