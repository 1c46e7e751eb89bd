//! `husk-docs man DIR` writes husk.8 and husk-<command>.8 man pages;
//! `husk-docs completions DIR` writes bash, zsh and fish completions. Both come
//! from the same clap definitions as the binary, so they never drift.

#[allow(dead_code)]
#[path = "../cli.rs"]
mod cli;

use std::path::Path;

use clap::CommandFactory;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (what, dir) = match args.as_slice() {
        [_, what, dir] => (what.as_str(), Path::new(dir)),
        _ => return Err("usage: husk-docs man|completions DIR".into()),
    };
    std::fs::create_dir_all(dir)?;
    let cmd = cli::Cli::command();
    match what {
        "man" => {
            write_man(&cmd, dir, "husk")?;
            for sub in cmd.get_subcommands() {
                let name = format!("husk-{}", sub.get_name());
                write_man(
                    &sub.clone()
                        .bin_name(name.clone())
                        .display_name(name.clone()),
                    dir,
                    &name,
                )?;
            }
        }
        "completions" => {
            use clap_complete::Shell;
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                clap_complete::generate_to(shell, &mut cmd.clone(), "husk", dir)?;
            }
        }
        other => return Err(format!("unknown output {other:?}: man or completions").into()),
    }
    Ok(())
}

fn write_man(cmd: &clap::Command, dir: &Path, name: &str) -> std::io::Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .section("8")
        .render(&mut out)?;
    std::fs::write(dir.join(format!("{name}.8")), out)
}
