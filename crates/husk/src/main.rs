//! husk: a runc-compatible OCI container runtime. This binary only parses the
//! command line, calls `libcontainer` and prints; all the work is in the library.

mod cli;
mod commands;
mod logging;
mod signals;
mod tty;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(&cli.global) {
        eprintln!("husk: {e}");
        std::process::exit(1);
    }
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            logging::report_error(&cli.global, &e);
            1
        }
    };
    std::process::exit(code);
}
