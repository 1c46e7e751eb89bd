//! One short module per command: turn flags into a library call, print the result.

mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod restore;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;
mod validate;

use libcontainer::Runtime;

use crate::cli::{Cli, Command, GlobalOpts};

/// The error every command returns: already worded for the user.
pub type CmdResult = Result<i32, Box<dyn std::error::Error>>;

/// `husk --version`, in runc's layout.
pub fn version_text() -> String {
    format!(
        "husk version {}\ncommit: {}\nspec: {}\nlibseccomp: {}",
        env!("CARGO_PKG_VERSION"),
        env!("HUSK_COMMIT"),
        libcontainer::OCI_VERSION,
        libcontainer::libseccomp_version()
    )
}

/// Run the command the user asked for; the result is the process exit code.
pub fn dispatch(cli: &Cli) -> CmdResult {
    if cli.global.version {
        println!("{}", version_text());
        return Ok(0);
    }
    let Some(command) = &cli.command else {
        use clap::CommandFactory;
        Cli::command().print_help()?;
        return Ok(0);
    };
    check_unsupported_globals(&cli.global)?;
    let rt = Runtime::new(&cli.global.root);
    match command {
        Command::Create(a) => create::run(&rt, a),
        Command::Start(a) => start::run(&rt, &a.id),
        Command::State(a) => state::run(&rt, &a.id),
        Command::Kill(a) => kill::run(&rt, a),
        Command::Delete(a) => delete::run(&rt, a),
        Command::Run(a) => run::run(&rt, a),
        Command::Exec(a) => exec::run(&rt, &cli.global, a),
        Command::List(a) => list::run(&rt, a),
        Command::Spec(a) => spec::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Pause(a) => pause::run(&rt, &a.id),
        Command::Resume(a) => resume::run(&rt, &a.id),
        Command::Ps(a) => ps::run(&rt, a),
        Command::Update(a) => update::run(&rt, a),
        Command::Events(a) => events::run(&rt, a),
        Command::Features => features::run(),
        Command::Checkpoint(a) => checkpoint::run(&rt, a),
        Command::Restore(a) => restore::run(&rt, a),
    }
}

/// Flags runc has that husk does not implement yet fail loudly instead of being ignored.
fn check_unsupported_globals(g: &GlobalOpts) -> Result<(), String> {
    if g.systemd_cgroup {
        return Err("--systemd-cgroup: the systemd cgroup driver is not supported yet".into());
    }
    match g.rootless.as_deref() {
        None | Some("false") => {}
        Some("auto") if nix::unistd::geteuid().is_root() => {}
        Some(v) => {
            return Err(format!(
                "--rootless {v}: rootless containers are not supported yet"
            ))
        }
    }
    Ok(())
}
