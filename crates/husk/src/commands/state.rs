//! `husk state`: the runtime-spec state as indented JSON, as runc prints it.

use libcontainer::Runtime;

use super::CmdResult;

pub fn run(rt: &Runtime, id: &str) -> CmdResult {
    let state = rt.state(id)?;
    println!("{}", serde_json::to_string_pretty(&state)?);
    Ok(0)
}
