//! runc's command line, flag for flag, as clap definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A runc-compatible OCI container runtime.
#[derive(Debug, Parser)]
#[command(name = "husk", disable_version_flag = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// The command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// runc's global flags.
#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Print the version.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Root directory for container state (tmpfs recommended).
    #[arg(long, default_value = "/run/husk", global = true)]
    pub root: PathBuf,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Log debug messages.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups (not supported yet: refused with an error).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (only false/auto as root are supported yet).
    #[arg(long = "rootless", id = "global_rootless")]
    pub rootless: Option<String>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `time="..." level=... msg="..."`
    Text,
    /// `{"level":"...","msg":"...","time":"..."}`
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container (it waits for `start`).
    Create(CreateArgs),
    /// Start the user process of a created container.
    Start(IdArg),
    /// Print the state of a container as JSON.
    State(IdArg),
    /// Send a signal to a container's init (default SIGTERM).
    Kill(KillArgs),
    /// Delete a container and everything it holds.
    Delete(DeleteArgs),
    /// Create and start a container, and wait for it unless --detach.
    Run(RunArgs),
    /// List containers.
    List(ListArgs),
    /// Write a default config.json into the bundle.
    Spec(SpecArgs),
}

/// Just an id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// Container id.
    pub id: String,
}

/// `create` flags (also used by `run`).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Path to the bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Write the init's pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (for ramdisk roots).
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra fds (3..3+N) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Container id.
    pub id: String,
}

/// `run` flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// create's flags.
    #[command(flatten)]
    pub create: CreateArgs,
    /// Do not wait: leave the container running.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Do not make husk a child subreaper.
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

/// `kill` flags.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process in the container.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Container id.
    pub id: String,
    /// Signal name (with or without SIG) or number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

/// `delete` flags.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill the container first if it is running.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Container id.
    pub id: String,
}

/// `list` flags.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// table or json.
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// Print only the ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `list` output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

/// `spec` flags.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Where to write config.json.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a container run by an unprivileged user.
    #[arg(long = "rootless", id = "spec_rootless")]
    pub rootless: bool,
}
