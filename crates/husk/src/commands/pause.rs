//! `husk pause ID`: freeze every process of the container (runc `pause`).

use libcontainer::Runtime;

use super::CmdResult;

pub fn run(rt: &Runtime, id: &str) -> CmdResult {
    rt.pause(id)?;
    Ok(0)
}
