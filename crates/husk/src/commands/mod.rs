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
    let rootless = rootless_mode(cli.global.rootless.as_deref())?;
    let rt = Runtime::new(state_root(cli.global.root.as_deref(), rootless))
        .with_rootless(rootless)
        .with_systemd_cgroup(cli.global.systemd_cgroup);
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
        Command::Validate(a) => validate::run(&rt, a),
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
    // runc's --systemd-cgroup: new containers get a systemd scope unit.
    if g.systemd_cgroup && rootless_mode(g.rootless.as_deref())? {
        return Err(
            "--systemd-cgroup: rootless containers (a systemd user instance) are not supported; \
             the systemd driver needs root and the system bus"
                .into(),
        );
    }
    Ok(())
}

/// `--rootless true|false|auto`; auto (the default) as runc decides it: not
/// root, or root in a user namespace, or XDG_RUNTIME_DIR set with a non-root euid.
fn rootless_mode(flag: Option<&str>) -> Result<bool, String> {
    match flag {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        None | Some("auto") => {
            let euid = nix::unistd::geteuid();
            Ok(!euid.is_root()
                || libcontainer::in_user_namespace()
                || (std::env::var_os("XDG_RUNTIME_DIR").is_some() && !euid.is_root()))
        }
        Some(v) => Err(format!("--rootless {v}: expected true, false or auto")),
    }
}

/// The state root: `--root`, else `$XDG_RUNTIME_DIR/husk` when rootless and
/// it is set, else /run/husk (runc's rule).
fn state_root(flag: Option<&std::path::Path>, rootless: bool) -> std::path::PathBuf {
    if let Some(r) = flag {
        return r.to_path_buf();
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| rootless && !d.is_empty()) {
        Some(dir) => std::path::Path::new(&dir).join("husk"),
        None => "/run/husk".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootless_flag_values() {
        assert_eq!(rootless_mode(Some("true")), Ok(true));
        assert_eq!(rootless_mode(Some("false")), Ok(false));
        assert!(rootless_mode(Some("maybe")).is_err());
    }

    #[test]
    fn state_root_rules() {
        let p = std::path::Path::new("/x");
        assert_eq!(state_root(Some(p), true), p);
        std::env::set_var("XDG_RUNTIME_DIR", "/run/user/1000");
        assert_eq!(
            state_root(None, true),
            std::path::Path::new("/run/user/1000/husk")
        );
        assert_eq!(state_root(None, false), std::path::Path::new("/run/husk"));
    }
}
