//! `husk validate [--bundle DIR]`: run every check `create` runs on a bundle,
//! without creating anything, and list every problem, one `path: message`
//! per line. Exit 1 if there is any.

use super::CmdResult;
use crate::cli::ValidateArgs;

pub fn run(a: &ValidateArgs) -> CmdResult {
    let problems = libcontainer::check_bundle(&a.bundle);
    if problems.is_empty() {
        println!("{}: config.json is valid", a.bundle.display());
        return Ok(0);
    }
    for p in &problems {
        // One line each, whatever the message holds.
        println!("{}", p.to_string().replace('\n', " "));
    }
    Ok(1)
}
