//! seccomp: turns `linux.seccomp` from an OCI config into a seccomp BPF filter
//! and loads it into the container's init process.
//!
//! This module owns everything between the typed `LinuxSeccomp` of oci-spec and
//! the `seccomp(2)` call: mapping the spec's action, architecture, operator and
//! flag names, runc's rules where the spec is silent, the errors that name the
//! offending config field, and the load itself. It does not own
//! `no_new_privs` (that is `process.noNewPrivileges`, set by the caller) nor
//! the seccomp agent protocol (`listenerPath`): it only hands back the
//! listener fd.
//!
//! The work is split in two phases:
//!
//! * [`compile`] runs libseccomp: it resolves syscall names, builds the rules
//!   and exports the finished BPF program into a plain `Vec`. Every config
//!   error surfaces here, so the runtime can call it at `create` time in the
//!   parent, before any container process exists.
//! * [`Filter::load`] is a single `seccomp(2)` system call with that program.
//!   It allocates nothing and takes no lock, so it is safe right before
//!   `execve` and even in a child forked from a multi-threaded parent.
//!
//! Exporting the program instead of calling `seccomp_load(3)` is a deliberate
//! choice: the flags (`SECCOMP_FILTER_FLAG_*`) are then ours to pass, which
//! lets us support `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` with libseccomp
//! 2.5, and the listener fd comes straight from the kernel's return value.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::mem::size_of;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
    ScmpVersion,
};
use nix::errno::Errno;
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

/// A Linux syscall takes at most six arguments (index 0 to 5).
const MAX_SYSCALL_ARGS: usize = 6;

/// The kernel refuses programs longer than this (`BPF_MAXINSNS`).
const BPF_MAXINSNS: usize = 4096;

/// Above this many syscall names runc asks libseccomp for a binary-tree
/// filter. libseccomp up to 2.5.4 misbehaves when that optimisation is on and
/// there are no rules, so small profiles keep the default linear layout.
const BINARY_TREE_THRESHOLD: usize = 32;

/// The errno that `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` carry when the config
/// gives none (spec: "If not specified its default value is EPERM").
const DEFAULT_ERRNO_RET: u32 = libc::EPERM as u32;

/// libseccomp API level that supports `SCMP_ACT_NOTIFY` (libseccomp >= 2.5.0
/// and Linux >= 5.7 for the flags it needs).
pub(crate) const NOTIFY_MIN_API: u32 = 6;

// `seccomp(2)` operation and flags, from <linux/seccomp.h>, as the `c_ulong`
// that libc declares the flags with and `libc::syscall` passes on.
const SET_MODE_FILTER: libc::c_ulong = libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong;
const FLAG_TSYNC: libc::c_ulong = libc::SECCOMP_FILTER_FLAG_TSYNC;
const FLAG_LOG: libc::c_ulong = libc::SECCOMP_FILTER_FLAG_LOG;
const FLAG_SPEC_ALLOW: libc::c_ulong = libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
const FLAG_NEW_LISTENER: libc::c_ulong = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
const FLAG_TSYNC_ESRCH: libc::c_ulong = libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
const FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;

/// Names the spec allows, quoted in errors about unknown values.
const ACTION_NAMES: &str = "SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, \
     SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY";
const ARCH_NAMES: &str = "SCMP_ARCH_NATIVE, SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, \
     SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, \
     SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, \
     SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, \
     SCMP_ARCH_RISCV64, SCMP_ARCH_LOONGARCH64, SCMP_ARCH_M68K, SCMP_ARCH_SH, SCMP_ARCH_SHEB";
const FLAG_NAMES: &str = "SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, \
     SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
const OPERATOR_NAMES: &str = "SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, \
     SCMP_CMP_GT, SCMP_CMP_MASKED_EQ";

/// Everything that can be wrong with `linux.seccomp` or with loading it.
/// Config errors carry `field`, the JSON path of the offending value
/// (`linux.seccomp.syscalls[3].action`), so the user can find it.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// A string is not one of the names the spec allows (checked before parsing).
    #[error("{field}: unknown {kind} {value:?} (expected one of: {expected})")]
    UnknownName {
        /// JSON path of the offending value.
        field: String,
        /// What kind of name it should be.
        kind: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },

    /// A value has the wrong JSON type (checked before parsing).
    #[error("{field}: expected {expected}")]
    WrongType {
        /// JSON path of the offending value.
        field: String,
        /// What is allowed.
        expected: &'static str,
    },

    /// The spec: "When the action doesn't support an errno, the runtime MUST
    /// print and error and fail." (crun does; runc silently ignores it.)
    #[error(
        "{field}: an errno return code is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, \
         not with {action}"
    )]
    ErrnoRetNotAllowed {
        /// JSON path of the offending value.
        field: String,
        /// The action.
        action: LinuxSeccompAction,
    },

    /// The kernel keeps only 16 bits of an action's data.
    #[error(
        "{field}: {value} is out of range (the errno or trace value is 16 bits, at most 65535)"
    )]
    ErrnoRetOutOfRange {
        /// JSON path of the offending value.
        field: String,
        /// The value given.
        value: u32,
    },

    /// The spec: "This field MUST NOT be set if `listenerPath` is not set."
    #[error("{field}: listenerMetadata is set but listenerPath is not")]
    MetadataWithoutListener {
        /// JSON path of the offending value.
        field: String,
    },

    /// A syscall rule names no syscall.
    #[error("{field}: the list of syscall names is empty; it must name at least one syscall")]
    EmptyNames {
        /// JSON path of the offending value.
        field: String,
    },

    /// A syscall argument index above 5.
    #[error(
        "{field}: argument index {index} is out of range (syscall arguments are numbered 0 to 5)"
    )]
    ArgIndexOutOfRange {
        /// JSON path of the offending value.
        field: String,
        /// The argument index given.
        index: usize,
    },

    /// As in runc: with NOTIFY as default action, every syscall the runtime
    /// makes after loading (reporting the listener fd, execve) would wait for
    /// an agent that cannot have the listener yet.
    #[error(
        "{field}: SCMP_ACT_NOTIFY cannot be the default action: the runtime's own syscalls \
         after loading the filter would wait for a seccomp agent that does not have the \
         listener yet"
    )]
    NotifyAsDefault {
        /// JSON path of the offending value.
        field: String,
    },

    /// As in runc: the init reports the listener fd with `write`, which would
    /// then block forever waiting for the agent.
    #[error(
        "{field}: SCMP_ACT_NOTIFY cannot be used for the write syscall: the runtime needs \
         write to hand the listener fd over, and would wait forever"
    )]
    NotifyOnWrite {
        /// JSON path of the offending value.
        field: String,
    },

    /// This libseccomp or kernel cannot do the action.
    #[error("{field}: {action} is not supported here: {reason}")]
    ActionUnsupported {
        /// JSON path of the offending value.
        field: String,
        /// The action.
        action: LinuxSeccompAction,
        /// Why not.
        reason: String,
    },

    /// An architecture cannot be added to the filter.
    #[error("{field}: architecture {arch} cannot be added to the filter ({reason}): {source}")]
    ArchUnsupported {
        /// JSON path of the offending value.
        field: String,
        /// The architecture.
        arch: Arch,
        /// Why not.
        reason: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// This kernel lacks a filter flag.
    #[error("{field}: {flag} is not supported by this kernel")]
    FlagUnsupported {
        /// JSON path of the offending value.
        field: String,
        /// The flag.
        flag: LinuxSeccompFilterFlag,
    },

    /// libseccomp refused a rule.
    #[error("{field}: adding the rule for syscall {syscall:?} failed: {source}")]
    AddRule {
        /// JSON path of the offending value.
        field: String,
        /// The syscall name.
        syscall: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// libseccomp could not create the filter.
    #[error("linux.seccomp.defaultAction: creating a filter with default action {action} failed: {source}")]
    CreateFilter {
        /// The action.
        action: LinuxSeccompAction,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// The compiled program could not be exported.
    #[error("exporting the compiled seccomp program failed: {0}")]
    Export(String),

    /// The compiled program is longer than the kernel accepts.
    #[error(
        "linux.seccomp: the compiled filter has {len} BPF instructions, more than the kernel's \
         limit of {BPF_MAXINSNS}; use fewer rules or architectures"
    )]
    ProgramTooLong {
        /// The program's length.
        len: usize,
    },

    /// seccomp(2) refused the filter.
    #[error("loading the seccomp filter failed: {errno}{hint}", hint = load_hint(*.errno))]
    Load {
        /// What seccomp(2) returned.
        errno: Errno,
    },

    /// With `SECCOMP_FILTER_FLAG_TSYNC` the kernel installs nothing and
    /// returns the id of a thread it could not move to the new filter.
    #[error("loading the seccomp filter failed: SECCOMP_FILTER_FLAG_TSYNC could not synchronise thread {tid}")]
    TsyncFailed {
        /// The thread id.
        tid: libc::c_long,
    },
}

fn load_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EACCES => " (the process needs no_new_privs set or CAP_SYS_ADMIN)",
        Errno::EINVAL => " (a filter flag or the program was refused by this kernel)",
        _ => "",
    }
}

/// One classic-BPF instruction, laid out as the kernel's `struct sock_filter`.
/// Our own type so that `Filter` can derive `Debug`/`PartialEq` (libc's only
/// has them with its `extra_traits` feature).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BpfInstruction {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

const _: () = assert!(size_of::<BpfInstruction>() == size_of::<libc::sock_filter>());

/// A compiled seccomp filter: the BPF program and the `seccomp(2)` flags to
/// load it with. Plain data: it can be built in the parent and used in a
/// forked child, and it holds no libseccomp state.
#[derive(Clone, PartialEq, Eq)]
pub struct Filter {
    program: Vec<BpfInstruction>,
    flags: libc::c_ulong,
    listener: bool,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The program itself is hundreds of opaque instructions; its size and
        // the flags are what help when reading a log.
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("listener", &self.listener)
            .finish()
    }
}

impl Filter {
    /// Whether [`Filter::load`] will return a notify listener fd, that is,
    /// whether the config uses `SCMP_ACT_NOTIFY`.
    pub fn needs_listener(&self) -> bool {
        self.listener
    }

    /// Installs the filter on the calling thread (on all threads of the
    /// process when `SECCOMP_FILTER_FLAG_TSYNC` was asked for).
    ///
    /// The caller must already have `no_new_privs` set
    /// (`prctl(PR_SET_NO_NEW_PRIVS)`, from `process.noNewPrivileges`) or hold
    /// `CAP_SYS_ADMIN` in its user namespace; otherwise the kernel refuses
    /// with `EACCES`. This function never sets `no_new_privs` itself, since
    /// that is the config's decision.
    ///
    /// Returns the notify listener fd when the config uses `SCMP_ACT_NOTIFY`
    /// ([`Filter::needs_listener`]), else `None`. The fd is close-on-exec
    /// (the kernel creates it so) and the caller owns it: it is meant to be
    /// passed to the parent / seccomp agent and then closed.
    ///
    /// This is one system call: it allocates nothing and takes no lock, so it
    /// is async-signal-safe. It is meant to run in the init process right
    /// before `execve`. From the moment it succeeds every syscall is filtered,
    /// so the caller should make as few syscalls as possible before `execve`,
    /// and avoid allocating (the allocator may call `brk`/`mmap`). The profile
    /// is applied to `execve` itself too: a profile that denies `execve` makes
    /// the container fail to start, which is what the config asked for.
    pub fn load(self) -> Result<Option<RawFd>, SeccompError> {
        let Filter {
            program,
            flags,
            listener,
        } = self;

        let prog = libc::sock_fprog {
            // compile() refused programs longer than BPF_MAXINSNS, so this fits.
            len: program.len() as libc::c_ushort,
            filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
        };
        // SAFETY: `prog` points at `program`, which lives until the end of
        // this function and has the layout of `struct sock_filter` (checked
        // at compile time above). The kernel copies the program during the
        // call and keeps no pointer to it.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if ret < 0 {
            return Err(SeccompError::Load {
                errno: Errno::last(),
            });
        }
        if ret > 0 && !listener {
            // Only TSYNC returns a positive value without a listener, and
            // then the filter was not installed.
            return Err(SeccompError::TsyncFailed { tid: ret });
        }

        // The filter is now in force. Freeing the program could make the
        // allocator shrink the heap with brk/madvise, syscalls the profile
        // may deny (or kill for). The process is about to execve, which
        // releases the memory anyway, so leave it be.
        std::mem::forget(program);

        Ok(listener.then_some(ret as RawFd))
    }
}

impl Filter {
    /// The program as `struct sock_filter` bytes (for the cache).
    pub(crate) fn program_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.program.len() * size_of::<BpfInstruction>());
        for insn in &self.program {
            out.extend_from_slice(&insn.code.to_ne_bytes());
            out.push(insn.jt);
            out.push(insn.jf);
            out.extend_from_slice(&insn.k.to_ne_bytes());
        }
        out
    }
}

/// A filter for `profile` around a program that [`compile`] made for the
/// very same profile earlier (the cache checked that). The flags and the
/// listener are worked out anew, as `compile` does. `None` if the bytes are
/// not a plausible program.
pub(crate) fn filter_from_cached(
    profile: &LinuxSeccomp,
    bytes: &[u8],
) -> Result<Option<Filter>, SeccompError> {
    const INSN: usize = size_of::<BpfInstruction>();
    if bytes.is_empty() || !bytes.len().is_multiple_of(INSN) || bytes.len() / INSN > BPF_MAXINSNS {
        return Ok(None);
    }
    let program = decode_program(bytes);
    let listener = notify_listener_needed(profile);
    if listener {
        check_notify_supported(syscall_entries(profile))?;
    }
    let flags = filter_flags(profile.flags().as_deref(), listener, kernel_accepts_flags)?;
    Ok(Some(Filter {
        program,
        flags,
        listener,
    }))
}

/// Whether `linux.seccomp` asks for `SCMP_ACT_NOTIFY` anywhere, i.e. whether
/// loading it yields a listener fd to hand to the agent at `listenerPath`.
pub fn notify_listener_needed(seccomp: &LinuxSeccomp) -> bool {
    seccomp.default_action() == LinuxSeccompAction::ScmpActNotify
        || syscall_entries(seccomp)
            .iter()
            .any(|entry| entry.action() == LinuxSeccompAction::ScmpActNotify)
}

/// The version of the libseccomp linked in, e.g. `2.5.4` (for `--version`).
pub fn library_version() -> String {
    match ScmpVersion::current() {
        Ok(v) => format!("{}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "unknown".into(),
    }
}

/// Builds the filter that `linux.seccomp` describes, without loading it.
///
/// Follows config-linux.md "Seccomp", and runc where the spec is silent:
/// * the native architecture is always in the filter; `architectures` adds
///   more (for 32-bit compat syscalls, say);
/// * `SCMP_ACT_ERRNO` / `SCMP_ACT_TRACE` return `EPERM` unless `errnoRet` /
///   `defaultErrnoRet` says otherwise; `SCMP_ACT_KILL` kills the thread;
/// * a syscall name libseccomp does not know (a syscall newer than the
///   library, or a typo) is skipped with a debug log, as it may be valid on
///   another kernel;
/// * a rule whose action equals the default action is skipped (libseccomp
///   refuses it, and it changes nothing);
/// * the `args` of one entry form one rule (all must match) unless two of
///   them test the same argument index; then each becomes its own rule (any
///   may match). See [`group_conditions`];
/// * with no `flags` key at all, `SECCOMP_FILTER_FLAG_SPEC_ALLOW` is used
///   when the kernel has it (as runc and crun do); `"flags": []` means none.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let default_spec_action = seccomp.default_action();
    if default_spec_action == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::NotifyAsDefault {
            field: "linux.seccomp.defaultAction".into(),
        });
    }
    let default_action = translate_action(
        default_spec_action,
        seccomp.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;

    if seccomp.listener_metadata().is_some() && seccomp.listener_path().is_none() {
        return Err(SeccompError::MetadataWithoutListener {
            field: "linux.seccomp.listenerMetadata".into(),
        });
    }

    let entries = syscall_entries(seccomp);
    let listener = notify_listener_needed(seccomp);
    if listener {
        check_notify_supported(entries)?;
    }

    let mut ctx =
        ScmpFilterContext::new(default_action).map_err(|source| SeccompError::CreateFilter {
            action: default_spec_action,
            source,
        })?;

    // The native architecture is already in a new context; adding it (or
    // any arch twice) again is a no-op in the libseccomp crate.
    for (i, arch) in seccomp
        .architectures()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        ctx.add_arch(scmp_arch(*arch))
            .map_err(|source| SeccompError::ArchUnsupported {
                field: format!("linux.seccomp.architectures[{i}]"),
                arch: *arch,
                reason: arch_failure_reason(&source),
                source,
            })?;
    }

    let name_count: usize = entries.iter().map(|entry| entry.names().len()).sum();
    if name_count > BINARY_TREE_THRESHOLD {
        if let Err(err) = ctx.set_ctl_optimize(2) {
            // Only makes the filter slower on very old libseccomp.
            tracing::debug!("seccomp binary tree optimisation not available: {err}");
        }
    }

    for (i, entry) in entries.iter().enumerate() {
        add_entry(&mut ctx, i, entry, default_action)?;
    }

    let flags = filter_flags(seccomp.flags().as_deref(), listener, kernel_accepts_flags)?;
    let program = export_program(&ctx)?;
    if program.len() > BPF_MAXINSNS {
        return Err(SeccompError::ProgramTooLong { len: program.len() });
    }
    Ok(Filter {
        program,
        flags,
        listener,
    })
}

/// Checks the names in a raw `linux.seccomp` JSON object (actions,
/// architectures, flags, operators) and reports the first unknown one with
/// its field path.
///
/// oci-spec's typed `LinuxSeccomp` cannot hold an unknown name: deserializing
/// fails first, with a serde message that names no field. Call this on the
/// raw `linux.seccomp` value, before or after a failed typed parse, to give
/// the user an error such as
/// `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
/// Missing required fields and other shapes are left to the deserializer.
pub fn validate_raw(seccomp: &serde_json::Value) -> Result<(), SeccompError> {
    check_name::<LinuxSeccompAction>(
        seccomp.get("defaultAction"),
        "linux.seccomp.defaultAction".into(),
        "action",
        ACTION_NAMES,
    )?;
    for (i, arch) in raw_array(seccomp.get("architectures"), "linux.seccomp.architectures")? {
        check_name::<Arch>(
            Some(arch),
            format!("linux.seccomp.architectures[{i}]"),
            "architecture",
            ARCH_NAMES,
        )?;
    }
    for (i, flag) in raw_array(seccomp.get("flags"), "linux.seccomp.flags")? {
        check_name::<LinuxSeccompFilterFlag>(
            Some(flag),
            format!("linux.seccomp.flags[{i}]"),
            "flag",
            FLAG_NAMES,
        )?;
    }
    for (i, entry) in raw_array(seccomp.get("syscalls"), "linux.seccomp.syscalls")? {
        let field = format!("linux.seccomp.syscalls[{i}]");
        check_name::<LinuxSeccompAction>(
            entry.get("action"),
            format!("{field}.action"),
            "action",
            ACTION_NAMES,
        )?;
        for (j, arg) in raw_array(entry.get("args"), &format!("{field}.args"))? {
            check_name::<LinuxSeccompOperator>(
                arg.get("op"),
                format!("{field}.args[{j}].op"),
                "operator",
                OPERATOR_NAMES,
            )?;
        }
    }
    Ok(())
}

fn raw_array<'a>(
    value: Option<&'a serde_json::Value>,
    field: &str,
) -> Result<impl Iterator<Item = (usize, &'a serde_json::Value)>, SeccompError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok([].iter().enumerate()),
        Some(serde_json::Value::Array(items)) => Ok(items.iter().enumerate()),
        Some(_) => Err(SeccompError::WrongType {
            field: field.into(),
            expected: "an array",
        }),
    }
}

/// Parses `value` the way the typed deserializer would, so that "known" here
/// means exactly what oci-spec accepts.
fn check_name<T: serde::de::DeserializeOwned>(
    value: Option<&serde_json::Value>,
    field: String,
    kind: &'static str,
    expected: &'static str,
) -> Result<(), SeccompError> {
    match value {
        None => Ok(()),
        Some(serde_json::Value::String(name)) => {
            match serde_json::from_value::<T>(serde_json::Value::String(name.clone())) {
                Ok(_) => Ok(()),
                Err(_) => Err(SeccompError::UnknownName {
                    field,
                    kind,
                    value: name.clone(),
                    expected,
                }),
            }
        }
        Some(_) => Err(SeccompError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn syscall_entries(seccomp: &LinuxSeccomp) -> &[LinuxSyscall] {
    seccomp.syscalls().as_deref().unwrap_or_default()
}

/// Adds the rules of `linux.seccomp.syscalls[index]`.
fn add_entry(
    ctx: &mut ScmpFilterContext,
    index: usize,
    entry: &LinuxSyscall,
    default_action: ScmpAction,
) -> Result<(), SeccompError> {
    let field = format!("linux.seccomp.syscalls[{index}]");
    if entry.names().is_empty() {
        return Err(SeccompError::EmptyNames {
            field: format!("{field}.names"),
        });
    }
    let action = translate_action(
        entry.action(),
        entry.errno_ret(),
        &format!("{field}.errnoRet"),
    )?;
    if action == ScmpAction::Notify {
        if let Some(k) = entry.names().iter().position(|name| name == "write") {
            return Err(SeccompError::NotifyOnWrite {
                field: format!("{field}.names[{k}]"),
            });
        }
    }

    // Arguments are checked even when the rule turns out to be redundant, so
    // a broken config is reported whatever the default action is.
    let args = entry.args().as_deref().unwrap_or_default();
    let comparators = args
        .iter()
        .enumerate()
        .map(|(j, arg)| comparator(arg, &format!("{field}.args[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;

    if action == default_action {
        tracing::debug!(
            "{field}: action {} is the default action, rule for {:?} skipped",
            entry.action(),
            entry.names()
        );
        return Ok(());
    }

    let rules = group_conditions(args);
    for (k, name) in entry.names().iter().enumerate() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            // Probably newer than this libseccomp; the profile may be shared
            // with newer systems, so this is not an error (runc does the same).
            tracing::debug!("{field}.names[{k}]: unknown seccomp syscall {name:?} ignored");
            continue;
        };
        for rule in &rules {
            let conditions: Vec<ScmpArgCompare> = rule.iter().map(|&j| comparators[j]).collect();
            ctx.add_rule_conditional(action, syscall, &conditions)
                .map_err(|source| SeccompError::AddRule {
                    field: format!("{field}.names[{k}]"),
                    syscall: name.clone(),
                    source,
                })?;
        }
    }
    Ok(())
}

/// Splits the `args` of one syscall entry into the rules to add, each rule a
/// list of positions in `args` whose conditions must all hold.
///
/// libseccomp ANDs the conditions of one rule, and a rule cannot test the
/// same argument twice. So, as in runc: if every condition tests a different
/// argument index, they form a single rule (all must match); as soon as two
/// test the same index, *every* condition becomes a rule of its own (any one
/// matching is enough). The latter is how profiles express "arg0 is A or B",
/// e.g. Docker's `personality` entries.
///
/// No args gives one rule with no condition (the syscall always matches).
fn group_conditions(args: &[LinuxSeccompArg]) -> Vec<Vec<usize>> {
    let repeats_an_index = args.iter().enumerate().any(|(j, arg)| {
        args[..j]
            .iter()
            .any(|earlier| earlier.index() == arg.index())
    });
    if repeats_an_index {
        (0..args.len()).map(|j| vec![j]).collect()
    } else {
        vec![(0..args.len()).collect()]
    }
}

/// Translates one `args` entry into a libseccomp comparison.
fn comparator(arg: &LinuxSeccompArg, field: &str) -> Result<ScmpArgCompare, SeccompError> {
    let index = arg.index();
    if index >= MAX_SYSCALL_ARGS {
        return Err(SeccompError::ArgIndexOutOfRange {
            field: format!("{field}.index"),
            index,
        });
    }
    // For SCMP_CMP_MASKED_EQ `value` is the mask and `valueTwo` what the
    // masked argument must equal (libseccomp's datum_a/datum_b order, which
    // runc and crun pass through: Docker's clone rule relies on it). The
    // other operators compare with `value`; `valueTwo` means nothing to them.
    let (op, datum) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        LinuxSeccompOperator::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    // `index` < 6, so the cast is lossless.
    Ok(ScmpArgCompare::new(index as u32, op, datum))
}

/// Maps a spec action (plus its optional `errnoRet`) to libseccomp's.
/// `errno_field` names the `errnoRet` / `defaultErrnoRet` field for errors.
fn translate_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    errno_field: &str,
) -> Result<ScmpAction, SeccompError> {
    let action_data = || -> Result<u16, SeccompError> {
        let value = errno_ret.unwrap_or(DEFAULT_ERRNO_RET);
        u16::try_from(value).map_err(|_| SeccompError::ErrnoRetOutOfRange {
            field: errno_field.into(),
            value,
        })
    };
    let translated = match action {
        LinuxSeccompAction::ScmpActErrno => return Ok(ScmpAction::Errno(action_data()?.into())),
        LinuxSeccompAction::ScmpActTrace => return Ok(ScmpAction::Trace(action_data()?)),
        // SCMP_ACT_KILL predates KILL_PROCESS and has always killed the
        // thread only; runc and libseccomp keep that meaning.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    };
    if errno_ret.is_some() {
        return Err(SeccompError::ErrnoRetNotAllowed {
            field: errno_field.into(),
            action,
        });
    }
    Ok(translated)
}

/// NOTIFY needs libseccomp API level 6; without it libseccomp would refuse
/// the rule with a bare EINVAL, so say what is missing instead.
fn check_notify_supported(entries: &[LinuxSyscall]) -> Result<(), SeccompError> {
    let api = libseccomp::get_api();
    if api >= NOTIFY_MIN_API {
        return Ok(());
    }
    let index = entries
        .iter()
        .position(|entry| entry.action() == LinuxSeccompAction::ScmpActNotify)
        .unwrap_or_default();
    Err(SeccompError::ActionUnsupported {
        field: format!("linux.seccomp.syscalls[{index}].action"),
        action: LinuxSeccompAction::ScmpActNotify,
        reason: format!(
            "libseccomp {} reports API level {api} on this kernel, and SCMP_ACT_NOTIFY needs \
             {NOTIFY_MIN_API} (libseccomp >= 2.5.0 and Linux >= 5.7)",
            library_version()
        ),
    })
}

/// Computes the `seccomp(2)` flags. `kernel_accepts` says whether the running
/// kernel takes a flag combination (a parameter so tests need no particular
/// kernel).
fn filter_flags(
    requested: Option<&[LinuxSeccompFilterFlag]>,
    listener: bool,
    kernel_accepts: impl Fn(libc::c_ulong) -> bool,
) -> Result<libc::c_ulong, SeccompError> {
    let listener_flag = if listener { FLAG_NEW_LISTENER } else { 0 };

    let Some(requested) = requested else {
        // No `flags` key at all: like runc and crun, drop the Speculative
        // Store Bypass mitigation that loading a filter would otherwise turn
        // on, as it is costly and the workload did not ask for it. Only when
        // the kernel knows the flag; older kernels simply don't get it.
        let spec_allow = FLAG_SPEC_ALLOW | listener_flag;
        return Ok(if kernel_accepts(spec_allow) {
            spec_allow
        } else {
            listener_flag
        });
    };

    let mut flags = listener_flag;
    for (i, &flag) in requested.iter().enumerate() {
        let bits = match flag {
            // With a listener the kernel only takes TSYNC together with
            // TSYNC_ESRCH: success returns the listener fd, so a thread that
            // failed to synchronise could not be reported by its id.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync if listener => {
                FLAG_TSYNC | FLAG_TSYNC_ESRCH
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            // It only changes how a notifying syscall waits, and the kernel
            // refuses it without a listener.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if listener => {
                FLAG_WAIT_KILLABLE_RECV
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                tracing::debug!(
                    "linux.seccomp.flags[{i}]: {flag} ignored: no rule uses SCMP_ACT_NOTIFY"
                );
                continue;
            }
        };
        if !kernel_accepts(bits | listener_flag) {
            return Err(SeccompError::FlagUnsupported {
                field: format!("linux.seccomp.flags[{i}]"),
                flag,
            });
        }
        flags |= bits;
    }
    Ok(flags)
}

/// Asks the kernel whether it knows `flags`, without installing anything:
/// `seccomp(SECCOMP_SET_MODE_FILTER)` checks the flags before it reads the
/// program, so with a NULL program it fails with EINVAL for unknown flags
/// and EFAULT for known ones. Any other answer (seccomp itself missing or
/// denied) is left for `load` to report.
pub(crate) fn kernel_accepts_flags(flags: libc::c_ulong) -> bool {
    // SAFETY: the NULL program pointer is only handed to the kernel, which
    // rejects it with EFAULT; nothing is dereferenced or installed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && Errno::last() != Errno::EINVAL
}

/// Lets libseccomp generate the BPF program and reads it back. libseccomp
/// 2.5 can only write it to a file descriptor, so an anonymous memory file
/// stands in (a pipe could fill up and block on large profiles).
fn export_program(ctx: &ScmpFilterContext) -> Result<Vec<BpfInstruction>, SeccompError> {
    let export_err =
        |what: &str, err: &dyn std::error::Error| SeccompError::Export(format!("{what}: {err}"));

    // SAFETY: a valid NUL-terminated name and flags; the result is checked.
    let raw = unsafe { libc::memfd_create(c"husk-seccomp-bpf".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(export_err("memfd_create", &std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a fresh fd that nothing else owns.
    let mut file = File::from(unsafe { OwnedFd::from_raw_fd(raw) });

    ctx.export_bpf(&file)
        .map_err(|err| export_err("seccomp_export_bpf", &err))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|err| export_err("reading the program back", &err))?;

    const INSN: usize = size_of::<BpfInstruction>();
    if !bytes.len().is_multiple_of(INSN) {
        return Err(SeccompError::Export(format!(
            "libseccomp wrote {} bytes, not a whole number of {INSN}-byte instructions",
            bytes.len()
        )));
    }
    Ok(decode_program(&bytes))
}

/// `struct sock_filter`s in host byte order (as libseccomp writes them and
/// the cache stores them) to instructions; a trailing partial one is ignored
/// (callers check the length first).
fn decode_program(bytes: &[u8]) -> Vec<BpfInstruction> {
    bytes
        .chunks_exact(size_of::<BpfInstruction>())
        .map(|insn| BpfInstruction {
            code: u16::from_ne_bytes([insn[0], insn[1]]),
            jt: insn[2],
            jf: insn[3],
            k: u32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]),
        })
        .collect()
}

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// libseccomp's errno for a failed `seccomp_arch_add`, in words.
fn arch_failure_reason(err: &libseccomp::error::SeccompError) -> String {
    match err.errno() {
        // One BPF program cannot serve both byte orders, so libseccomp
        // refuses e.g. s390x in a filter whose native arch is x86_64.
        Some(libseccomp::error::SeccompErrno::EDOM) => {
            "its byte order differs from the native architecture's".into()
        }
        _ => format!("not supported by libseccomp {}", library_version()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).expect("test profile parses")
    }

    fn arg(index: usize, value: u64, op: LinuxSeccompOperator) -> LinuxSeccompArg {
        oci_spec::runtime::LinuxSeccompArgBuilder::default()
            .index(index)
            .value(value)
            .op(op)
            .build()
            .unwrap()
    }

    /// A cut-down Docker default profile: default ERRNO, compat
    /// architectures, plain allow rules, `personality` with repeated
    /// indexes (OR), `clone` with MASKED_EQ, `clone3` with its own errno.
    const DOCKER_LIKE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["accept", "accept4", "read", "write", "openat", "close", "execve",
                       "exit_group", "futex", "mmap", "brk", "rt_sigreturn", "getpid"],
             "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"},
                      {"index": 1, "value": 64, "op": "SCMP_CMP_LT"}]},
            {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["reboot"], "action": "SCMP_ACT_LOG"}
        ]
    }"#;

    #[test]
    fn docker_like_profile_compiles() {
        let seccomp = parse(DOCKER_LIKE);
        let filter = compile(&seccomp).expect("compiles");
        assert!(!filter.needs_listener());
        assert!(!notify_listener_needed(&seccomp));
        // Three architectures worth of rules: clearly more than a stub.
        assert!(filter.program.len() > 50, "{filter:?}");
        assert!(filter.program.len() <= BPF_MAXINSNS);
        assert_eq!(filter.flags & FLAG_NEW_LISTENER, 0);
    }

    #[test]
    fn every_action_and_operator_compiles() {
        let filter = compile(&parse(
            r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_KILL"},
                {"names": ["getppid"], "action": "SCMP_ACT_KILL_THREAD"},
                {"names": ["getuid"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["getgid"], "action": "SCMP_ACT_TRAP"},
                {"names": ["geteuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["getegid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
                {"names": ["getpgid"], "action": "SCMP_ACT_LOG"},
                {"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "args": [
                    {"index": 0, "value": 1, "op": "SCMP_CMP_NE"},
                    {"index": 1, "value": 2, "op": "SCMP_CMP_LT"},
                    {"index": 2, "value": 3, "op": "SCMP_CMP_LE"}]},
                {"names": ["mmap"], "action": "SCMP_ACT_ERRNO", "args": [
                    {"index": 0, "value": 4, "op": "SCMP_CMP_EQ"},
                    {"index": 1, "value": 5, "op": "SCMP_CMP_GE"},
                    {"index": 2, "value": 6, "op": "SCMP_CMP_GT"},
                    {"index": 5, "value": 255, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]
        }"#,
        ))
        .expect("compiles");
        assert!(filter.needs_listener());
        assert_ne!(filter.flags & FLAG_NEW_LISTENER, 0);
    }

    /// Compiles and returns the program only, for comparing two profiles.
    fn program(json: &str) -> Vec<BpfInstruction> {
        compile(&parse(json)).expect("compiles").program
    }

    #[test]
    fn unknown_syscall_is_skipped() {
        let with_unknown = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "syscalls": [
                {"names": ["no_such_syscall_husk", "getpid"], "action": "SCMP_ACT_ERRNO"}]}"#,
        );
        let without = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}"#,
        );
        assert_eq!(with_unknown, without);
    }

    #[test]
    fn rule_with_default_action_is_skipped() {
        // ERRNO with the default EPERM equals the default action: no rule.
        let redundant = program(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}"#,
        );
        let empty = program(r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#);
        assert_eq!(redundant, empty);
        // A different errno is a different action, so that rule stays.
        let other_errno = program(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
        );
        assert_ne!(other_errno, empty);
    }

    #[test]
    fn kill_is_kill_thread() {
        assert_eq!(
            program(r#"{"defaultAction": "SCMP_ACT_KILL"}"#),
            program(r#"{"defaultAction": "SCMP_ACT_KILL_THREAD"}"#)
        );
    }

    #[test]
    fn unknown_names_in_raw_config_name_the_field() {
        let raw: serde_json::Value = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["getppid"], "action": "SCMP_ACT_EXPLODE"}]}"#,
        )
        .unwrap();
        let err = validate_raw(&raw).unwrap_err();
        assert!(
            matches!(&err, SeccompError::UnknownName { field, value, .. }
                if field == "linux.seccomp.syscalls[1].action" && value == "SCMP_ACT_EXPLODE"),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with("linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_EXPLODE\""));
        // The typed parse refuses it too, just without a field name.
        assert!(serde_json::from_value::<LinuxSeccomp>(raw).is_err());

        let cases = [
            (
                r#"{"defaultAction": "ALLOW"}"#,
                "linux.seccomp.defaultAction",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_Z80"]}"#,
                "linux.seccomp.architectures[1]",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}"#,
                "linux.seccomp.flags[0]",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"],
                   "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
                "linux.seccomp.syscalls[0].args[0].op",
            ),
            (r#"{"defaultAction": 3}"#, "linux.seccomp.defaultAction"),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": "SECCOMP_FILTER_FLAG_LOG"}"#,
                "linux.seccomp.flags",
            ),
        ];
        for (json, want) in cases {
            let raw: serde_json::Value = serde_json::from_str(json).unwrap();
            let err = validate_raw(&raw).expect_err(json);
            assert!(err.to_string().starts_with(&format!("{want}: ")), "{err}");
        }

        validate_raw(&serde_json::from_str(DOCKER_LIKE).unwrap()).expect("all names known");
    }

    #[test]
    fn every_spec_name_is_known() {
        // Each list from the spec, and where its names go in a config.
        let places = [
            (ACTION_NAMES, r#"{"defaultAction": "NAME"}"#),
            (
                ARCH_NAMES,
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["NAME"]}"#,
            ),
            (
                FLAG_NAMES,
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["NAME"]}"#,
            ),
            (
                OPERATOR_NAMES,
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"],
                    "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "NAME"}]}]}"#,
            ),
        ];
        for (names, template) in places {
            for name in names.split(", ") {
                let raw: serde_json::Value =
                    serde_json::from_str(&template.replace("NAME", name)).unwrap();
                validate_raw(&raw).unwrap_or_else(|err| panic!("{name}: {err}"));
                serde_json::from_value::<LinuxSeccomp>(raw)
                    .unwrap_or_else(|err| panic!("{name}: {err}"));
            }
        }
    }

    #[test]
    fn errno_ret_on_other_actions_is_refused() {
        let err = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["getppid"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.seccomp.syscalls[1].errnoRet: an errno return code is only allowed with \
             SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not with SCMP_ACT_KILL"
        );

        let err = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}"#,
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.seccomp.defaultErrnoRet: "),
            "{err}"
        );

        let err = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 65536}]}"#,
        ))
        .unwrap_err();
        assert!(
            matches!(&err, SeccompError::ErrnoRetOutOfRange { field, value: 65536 }
                if field == "linux.seccomp.syscalls[0].errnoRet"),
            "{err}"
        );
    }

    #[test]
    fn malformed_entries_name_the_field() {
        let err = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": [], "action": "SCMP_ACT_ERRNO"}]}"#,
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.seccomp.syscalls[0].names: "),
            "{err}"
        );

        let err = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"},
                          {"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        ))
        .unwrap_err();
        assert!(
            matches!(&err, SeccompError::ArgIndexOutOfRange { field, index: 6 }
                if field == "linux.seccomp.syscalls[1].args[1].index"),
            "{err}"
        );
    }

    #[test]
    fn notify_rules_follow_runc() {
        let err = compile(&parse(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#)).unwrap_err();
        assert!(matches!(err, SeccompError::NotifyAsDefault { .. }), "{err}");

        let seccomp = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(notify_listener_needed(&seccomp));
        let err = compile(&seccomp).unwrap_err();
        assert!(
            matches!(&err, SeccompError::NotifyOnWrite { field }
                if field == "linux.seccomp.syscalls[0].names[1]"),
            "{err}"
        );

        assert!(!notify_listener_needed(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"}]}"#
        )));
    }

    #[test]
    fn architectures_are_added_or_refused_by_name() {
        compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures":
                ["SCMP_ARCH_NATIVE", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                 "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_RISCV64", "SCMP_ARCH_PPC64LE",
                 "SCMP_ARCH_X86"],
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}"#,
        ))
        .expect("common architectures, with a duplicate, compile");

        // One filter cannot hold both byte orders.
        if cfg!(target_endian = "little") {
            let err = compile(&parse(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_S390X"]}"#,
            ))
            .unwrap_err();
            assert!(
                err.to_string().starts_with(
                    "linux.seccomp.architectures[0]: architecture SCMP_ARCH_S390X cannot be \
                     added to the filter (its byte order differs"
                ),
                "{err}"
            );
        }

        // LoongArch came with libseccomp 2.6; older ones must refuse it by name.
        let loong = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures":
                ["SCMP_ARCH_X86", "SCMP_ARCH_LOONGARCH64"]}"#,
        ));
        let v = ScmpVersion::current().unwrap();
        if (v.major, v.minor) < (2, 6) {
            let err = loong.unwrap_err();
            assert!(
                err.to_string().starts_with(
                    "linux.seccomp.architectures[1]: architecture SCMP_ARCH_LOONGARCH64"
                ),
                "{err}"
            );
        } else {
            loong.expect("libseccomp >= 2.6 knows loongarch64");
        }
    }

    #[test]
    fn listener_metadata_needs_listener_path() {
        let err = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}"#,
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.seccomp.listenerMetadata: "),
            "{err}"
        );
        compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
                "listenerMetadata": "x"}"#,
        ))
        .expect("metadata with a path is fine");
    }

    #[test]
    fn grouping_same_index_is_or_different_is_and() {
        use LinuxSeccompOperator::*;
        assert_eq!(group_conditions(&[]), vec![Vec::<usize>::new()]);
        assert_eq!(group_conditions(&[arg(0, 1, ScmpCmpEq)]), vec![vec![0]]);
        // Different indexes: one rule, all conditions ANDed.
        assert_eq!(
            group_conditions(&[
                arg(0, 1, ScmpCmpEq),
                arg(2, 3, ScmpCmpGt),
                arg(1, 0, ScmpCmpNe)
            ]),
            vec![vec![0, 1, 2]]
        );
        // Same index twice: every condition is its own rule (ORed).
        assert_eq!(
            group_conditions(&[arg(0, 8, ScmpCmpEq), arg(0, 9, ScmpCmpEq)]),
            vec![vec![0], vec![1]]
        );
        // Mixed: as in runc, one repeat splits everything, including the
        // condition on index 1.
        assert_eq!(
            group_conditions(&[
                arg(1, 5, ScmpCmpEq),
                arg(0, 8, ScmpCmpEq),
                arg(0, 9, ScmpCmpEq)
            ]),
            vec![vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn masked_eq_uses_value_as_mask() {
        let masked = oci_spec::runtime::LinuxSeccompArgBuilder::default()
            .index(0usize)
            .value(0xff00u64)
            .value_two(0x1200u64)
            .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
            .build()
            .unwrap();
        assert_eq!(
            comparator(&masked, "f").unwrap(),
            ScmpArgCompare::new(0, ScmpCompareOp::MaskedEqual(0xff00), 0x1200)
        );
        // valueTwo means nothing to the other operators.
        let eq = oci_spec::runtime::LinuxSeccompArgBuilder::default()
            .index(0usize)
            .value(0xff00u64)
            .value_two(0x1200u64)
            .op(LinuxSeccompOperator::ScmpCmpEq)
            .build()
            .unwrap();
        assert_eq!(
            comparator(&eq, "f").unwrap(),
            ScmpArgCompare::new(0, ScmpCompareOp::Equal, 0xff00)
        );
    }

    #[test]
    fn flags_map_to_seccomp_bits() {
        use LinuxSeccompFilterFlag::*;
        let any = |_: libc::c_ulong| true;
        let none = |_: libc::c_ulong| false;

        // No key: SPEC_ALLOW when the kernel has it.
        assert_eq!(filter_flags(None, false, any).unwrap(), FLAG_SPEC_ALLOW);
        assert_eq!(filter_flags(None, false, none).unwrap(), 0);
        assert_eq!(
            filter_flags(None, true, any).unwrap(),
            FLAG_SPEC_ALLOW | FLAG_NEW_LISTENER
        );
        // An explicit empty list means no flags.
        assert_eq!(filter_flags(Some(&[]), false, any).unwrap(), 0);

        assert_eq!(
            filter_flags(
                Some(&[
                    SeccompFilterFlagTsync,
                    SeccompFilterFlagLog,
                    SeccompFilterFlagSpecAllow
                ]),
                false,
                any
            )
            .unwrap(),
            FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW
        );
        // With a listener, TSYNC needs TSYNC_ESRCH and WAIT_KILLABLE_RECV applies.
        assert_eq!(
            filter_flags(
                Some(&[SeccompFilterFlagTsync, SeccompFilterFlagWaitKillableRecv]),
                true,
                any
            )
            .unwrap(),
            FLAG_NEW_LISTENER | FLAG_TSYNC | FLAG_TSYNC_ESRCH | FLAG_WAIT_KILLABLE_RECV
        );
        // Without one, WAIT_KILLABLE_RECV is meaningless and dropped.
        assert_eq!(
            filter_flags(Some(&[SeccompFilterFlagWaitKillableRecv]), false, any).unwrap(),
            0
        );

        // A flag the kernel does not know is an error naming it.
        let no_log = |bits: libc::c_ulong| bits & FLAG_LOG == 0;
        let err = filter_flags(
            Some(&[SeccompFilterFlagSpecAllow, SeccompFilterFlagLog]),
            false,
            no_log,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_LOG is not supported by this kernel"
        );

        // The running kernel (>= 4.17 on any CI we use) knows these.
        assert!(kernel_accepts_flags(
            FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW
        ));
        assert!(!kernel_accepts_flags(1 << 31));
    }

    /// Runs `child` in a forked process and returns its exit status.
    /// `child` must stick to async-signal-safe calls: the test harness is
    /// multi-threaded, so the forked copy may not allocate.
    fn in_child(child: impl FnOnce() -> i32) -> i32 {
        use nix::sys::wait::{waitpid, WaitStatus};
        use nix::unistd::{fork, ForkResult};

        // SAFETY: the child only runs `child`, which promises to be
        // async-signal-safe, then `_exit`s without unwinding or running
        // destructors.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let code = child();
                // SAFETY: _exit is always safe to call.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => match waitpid(child, None).expect("waitpid") {
                WaitStatus::Exited(_, code) => code,
                other => panic!("child did not exit normally: {other:?}"),
            },
        }
    }

    fn errno() -> i32 {
        Errno::last_raw()
    }

    fn set_no_new_privs() -> bool {
        // SAFETY: plain prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 }
    }

    /// Exit codes the children below use for their setup steps.
    const NNP_FAILED: i32 = 90;
    const LOAD_FAILED: i32 = 91;

    #[test]
    fn loaded_filter_returns_eacces_for_mkdir() {
        let filter = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
        ))
        .unwrap();
        let path = std::env::temp_dir().join(format!("husk-seccomp-test-{}", std::process::id()));
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();

        let code = in_child(move || {
            if !set_no_new_privs() {
                return NNP_FAILED;
            }
            if filter.load().is_err() {
                return LOAD_FAILED;
            }
            // SAFETY: a valid C string; mkdir is async-signal-safe.
            let ret = unsafe { libc::mkdir(c_path.as_ptr(), 0o700) };
            match (ret, errno()) {
                (-1, libc::EACCES) => 0,
                (0, _) => 1,
                _ => 2,
            }
        });
        let _ = std::fs::remove_dir(&path);
        assert_eq!(
            code, 0,
            "mkdir was not answered with EACCES (1: it succeeded)"
        );
    }

    #[test]
    fn loaded_filter_applies_argument_rules() {
        // close(fd) on fds that are not open answers EBADF unless a rule
        // turns it into EACCES; dup3 tests AND across two indexes.
        let filter = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "syscalls": [
                {"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                 "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_EQ"},
                          {"index": 0, "value": 1001, "op": "SCMP_CMP_EQ"}]},
                {"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                 "args": [{"index": 0, "value": 65280, "valueTwo": 4608, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                 "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_EQ"},
                          {"index": 1, "value": 1001, "op": "SCMP_CMP_EQ"}]}]}"#,
        ))
        .unwrap();

        let code = in_child(move || {
            if !set_no_new_privs() {
                return NNP_FAILED;
            }
            if filter.load().is_err() {
                return LOAD_FAILED;
            }
            // Each returns the call's errno, or 0 if it succeeded.
            let close = |fd: libc::c_long| {
                // SAFETY: closing fds that are not open only returns EBADF.
                match unsafe { libc::syscall(libc::SYS_close, fd) } {
                    -1 => errno(),
                    _ => 0,
                }
            };
            let dup3 = |old: libc::c_long, new: libc::c_long| {
                // SAFETY: `old` is not open, so nothing is duplicated.
                match unsafe { libc::syscall(libc::SYS_dup3, old, new, 0) } {
                    -1 => errno(),
                    _ => 0,
                }
            };
            let expectations = [
                (close(1000), libc::EACCES), // same index: either value matches
                (close(1001), libc::EACCES),
                (close(1002), libc::EBADF),
                (close(0x1234), libc::EACCES), // (fd & 0xff00) == 0x1200
                (close(0x1334), libc::EBADF),
                (dup3(1000, 1001), libc::EACCES), // different indexes: both must match
                (dup3(1000, 1002), libc::EBADF),
                (dup3(1003, 1001), libc::EBADF),
            ];
            match expectations.iter().position(|(got, want)| got != want) {
                None => 0,
                Some(i) => 10 + i as i32,
            }
        });
        assert_eq!(code, 0, "expectation {} failed", code - 10);
    }

    #[test]
    fn loaded_large_allow_list_denies_the_rest() {
        // More than BINARY_TREE_THRESHOLD names, so libseccomp builds its
        // binary-tree layout; check the kernel still sees the right answers.
        let names = [
            "read",
            "write",
            "close",
            "fstat",
            "lseek",
            "mmap",
            "mprotect",
            "munmap",
            "brk",
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigreturn",
            "ioctl",
            "pread64",
            "pwrite64",
            "readv",
            "writev",
            "sched_yield",
            "mremap",
            "msync",
            "mincore",
            "madvise",
            "dup",
            "nanosleep",
            "getpid",
            "getppid",
            "socket",
            "connect",
            "accept",
            "sendto",
            "recvfrom",
            "exit",
            "exit_group",
            "wait4",
            "kill",
            "uname",
            "fcntl",
            "flock",
            "fsync",
            "getcwd",
            "futex",
            "openat",
            "newfstatat",
            "clock_gettime",
        ];
        assert!(names.len() > BINARY_TREE_THRESHOLD);
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {{"names": {names:?}, "action": "SCMP_ACT_ALLOW"}}]}}"#
        );
        let filter = compile(&parse(&json)).unwrap();

        let code = in_child(move || {
            if !set_no_new_privs() {
                return NNP_FAILED;
            }
            if filter.load().is_err() {
                return LOAD_FAILED;
            }
            // SAFETY: getppid and getuid take no arguments and cannot fail.
            let allowed = unsafe { libc::syscall(libc::SYS_getppid) };
            // SAFETY: as above; here the filter answers instead.
            let denied = unsafe { libc::syscall(libc::SYS_getuid) };
            match (allowed > 0, denied, errno()) {
                (true, -1, libc::EPERM) => 0,
                (false, ..) => 1,
                _ => 2,
            }
        });
        assert_eq!(code, 0, "1: getppid was denied, 2: getuid was allowed");
    }

    #[test]
    fn loading_with_notify_returns_a_cloexec_listener() {
        if libseccomp::get_api() < NOTIFY_MIN_API {
            eprintln!("skipped: libseccomp API level below {NOTIFY_MIN_API}");
            return;
        }
        let filter = compile(&parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        ))
        .unwrap();
        assert!(filter.needs_listener());

        let code = in_child(move || {
            if !set_no_new_privs() {
                return NNP_FAILED;
            }
            let fd = match filter.load() {
                Ok(Some(fd)) => fd,
                Ok(None) => return 1,
                Err(_) => return LOAD_FAILED,
            };
            // SAFETY: F_GETFD on an fd we own.
            let fd_flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            if fd_flags < 0 || fd_flags & libc::FD_CLOEXEC == 0 {
                return 2;
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn load_error_explains_missing_privilege() {
        let err = SeccompError::Load {
            errno: Errno::EACCES,
        };
        assert_eq!(
            err.to_string(),
            "loading the seccomp filter failed: EACCES: Permission denied \
             (the process needs no_new_privs set or CAP_SYS_ADMIN)"
        );
    }
}
