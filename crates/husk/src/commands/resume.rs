//! `husk resume ID`: thaw a paused container (runc `resume`).

use libcontainer::Runtime;

use super::CmdResult;

pub fn run(rt: &Runtime, id: &str) -> CmdResult {
    rt.resume(id)?;
    Ok(0)
}
