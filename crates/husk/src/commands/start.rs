//! `husk start`.

use libcontainer::Runtime;

use super::CmdResult;

pub fn run(rt: &Runtime, id: &str) -> CmdResult {
    rt.start(id)?;
    Ok(0)
}
