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
    /// Root directory for container state (tmpfs recommended). Default
    /// /run/husk, or $XDG_RUNTIME_DIR/husk in rootless mode.
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
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
    /// Rootless mode: true, false or auto (default: rootless when not root,
    /// in a user namespace, or with XDG_RUNTIME_DIR set and a non-root euid).
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
    /// Run a new process in a created or running container.
    Exec(Box<ExecArgs>),
    /// List containers.
    List(ListArgs),
    /// Write a default config.json into the bundle.
    Spec(SpecArgs),
    /// Check a bundle as `create` would, without creating anything; list every problem.
    Validate(ValidateArgs),
    /// Suspend every process in a container.
    Pause(IdArg),
    /// Resume the processes of a paused container.
    Resume(IdArg),
    /// List the processes of a container.
    Ps(PsArgs),
    /// Change a container's resource limits.
    Update(Box<UpdateArgs>),
    /// Print a container's resource usage and OOM events as JSON lines.
    Events(EventsArgs),
    /// Print the features this runtime supports as JSON.
    Features,
    /// Checkpoint a running container with CRIU.
    Checkpoint(Box<CheckpointArgs>),
    /// Restore a container from a checkpoint made with `checkpoint`.
    Restore(Box<RestoreArgs>),
}

/// Flags `checkpoint` and `restore` share (runc's names).
#[derive(Debug, Args)]
pub struct CriuArgs {
    /// Path for the criu image files (default: ./checkpoint).
    #[arg(long = "image-path")]
    pub image_path: Option<PathBuf>,
    /// Path for criu's work files and logs (default: the image path).
    #[arg(long = "work-path")]
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections.
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets.
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow shell jobs (a terminal whose master is outside the container).
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Handle file locks.
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// cgroups mode: soft (default), full, strict or ignore.
    #[arg(long = "manage-cgroups-mode")]
    pub manage_cgroups_mode: Option<String>,
    /// Create a namespace, but do not restore its properties (only `network`).
    #[arg(long = "empty-ns")]
    pub empty_ns: Vec<String>,
    /// Enable auto deduplication of memory images.
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Use userfaultfd to lazily restore memory pages.
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
}

/// `checkpoint` flags.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Flags shared with restore.
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Path of previous criu image files (a pre-dump), relative to the image path.
    #[arg(long = "parent-path")]
    pub parent_path: Option<PathBuf>,
    /// Leave the process running after checkpointing.
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// criu writes \0 to this fd once lazy-pages is ready (-1: none).
    #[arg(long = "status-fd", default_value_t = -1, allow_negative_numbers = true)]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server.
    #[arg(long = "page-server")]
    pub page_server: Option<String>,
    /// Dump the container's memory only, leaving it running.
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// Container id.
    pub id: String,
}

/// `restore` flags.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Flags shared with checkpoint.
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Unix socket that receives the master of the restored terminal.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Path to the bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Detach from the restored container's process.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Write the restored init's pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Do not become a subreaper for reparented processes.
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Do not use pivot_root (refused: CRIU sets up the root).
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// An LSM profile for the restore, TYPE:NAME (refused: husk applies no LSM labels).
    #[arg(long = "lsm-profile")]
    pub lsm_profile: Option<String>,
    /// An LSM mount context for the restore (refused: husk applies no LSM labels).
    #[arg(long = "lsm-mount-context")]
    pub lsm_mount_context: Option<String>,
    /// Container id for the restored container.
    pub id: String,
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

/// `exec` flags (runc's). Everything after the container id is the command,
/// flags included, as in runc.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Unix socket that receives the pty master (with --detach and a tty).
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Working directory in the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE); repeatable.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// UID[:GID] to run as.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional group id; repeatable.
    #[arg(short = 'g', long = "additional-gids", allow_hyphen_values = true)]
    pub additional_gids: Vec<String>,
    /// Path to a process.json (an OCI process object) describing the process.
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Detach from the process: return once it runs.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Write the process's pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// SELinux label for the process (refused: SELinux is not supported).
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile for the process (refused: AppArmor is not supported).
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability to the bounding, effective and permitted sets; repeatable.
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Pass N extra fds (3..3+N) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run in a sub-cgroup of the container's: [CONTROLLER[,CONTROLLER]:]PATH; repeatable.
    #[arg(long = "cgroup")]
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Container id, then the command and its arguments.
    #[arg(
        value_name = "ID [COMMAND [ARG...]]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
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

/// `ps` flags.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output format: table or json.
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    /// The container id, then options passed to ps(1) (default: -ef); as
    /// with runc, everything after the id goes to ps, `-f` included.
    #[arg(
        value_name = "ID [PS OPTIONS]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// `update` flags (runc's names).
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// LinuxResources JSON file, or `-` for stdin; flags override its fields.
    #[arg(short = 'r', long)]
    pub resources: Option<String>,
    /// Block I/O weight (10 to 1000).
    #[arg(long = "blkio-weight", allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// CPU CFS period (µs).
    #[arg(long = "cpu-period", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU CFS quota (µs per period).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU shares (relative weight).
    #[arg(
        long = "cpu-share",
        visible_alias = "cpu-shares",
        allow_hyphen_values = true
    )]
    pub cpu_share: Option<String>,
    /// CPU real-time period (µs).
    #[arg(long = "cpu-rt-period", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    /// CPU real-time runtime (µs per period).
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// CPUs to use (cpuset list).
    #[arg(long = "cpuset-cpus", allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use (cpuset list).
    #[arg(long = "cpuset-mems", allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (refused where the kernel ignores it).
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer limit (refused where the kernel ignores it).
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit (bytes, or with k/m/g/t/p; -1 for none).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of tasks (0 leaves it as is, -1 for no limit).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Intel RDT/CAT L3 cache schema (not supported).
    #[arg(long = "l3-cache-schema", allow_hyphen_values = true)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema (not supported).
    #[arg(long = "mem-bw-schema", allow_hyphen_values = true)]
    pub mem_bw_schema: Option<String>,
    /// Container id.
    pub id: String,
}

/// `events` flags.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Time between stats events (Go duration: 5s, 500ms, 1m30s).
    #[arg(long, default_value = "5s", allow_hyphen_values = true)]
    pub interval: String,
    /// Print the container's stats once, then exit.
    #[arg(long)]
    pub stats: bool,
    /// Container id.
    pub id: String,
}

/// `validate` flags.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Path to the bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
}
