//! `husk delete [--force] ID`.

use libcontainer::Runtime;

use super::CmdResult;
use crate::cli::DeleteArgs;

pub fn run(rt: &Runtime, a: &DeleteArgs) -> CmdResult {
    rt.delete(&a.id, a.force)?;
    Ok(0)
}
