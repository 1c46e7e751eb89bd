//! CVE-2019-5736: the container must never be able to run, and so open, the
//! husk binary through `/proc/self/exe`.
//!
//! husk does not re-exec itself: the init is a clone of the runtime, so until
//! the user program is exec'd, `/proc/self/exe` of the init *is* the host's
//! husk binary. If the container's program were a symlink or `#!` script
//! pointing at `/proc/self/exe`, the kernel would start the host binary inside
//! the container, whose processes could then open it for writing once husk
//! exits. So the init never execs the user program itself: it execs a
//! 158-byte trampoline from a sealed memfd, which execs the program. Any
//! `/proc/self/exe` the kernel resolves on the way names the sealed memfd.
//! This costs one memfd and one extra execve of a tiny static image, instead
//! of copying the whole runtime binary on every start as runc 1.1 does.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};

/// x86_64 ELF: `execve(argv[1], &argv[2], envp)`, then `exit(127)` if that fails.
#[cfg(all(target_arch = "x86_64", not(feature = "bench-unprotected-exec")))]
const TRAMPOLINE: &[u8] = &[
    // ELF header: 64-bit, little endian, ET_EXEC, x86-64, entry 0x400078, one program header.
    0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, //
    0x02, 0x00, 0x3e, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x40, 0, 0, 0, 0, 0, //
    0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 0x40, 0x00, 0x38, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0, //
    // PT_LOAD, R+X, the whole file at 0x400000.
    0x01, 0, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
    0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, //
    0x9e, 0, 0, 0, 0, 0, 0, 0, 0x9e, 0, 0, 0, 0, 0, 0, 0, //
    0, 0x10, 0, 0, 0, 0, 0, 0, //
    0x48, 0x8b, 0x7c, 0x24, 0x10, // mov rdi, [rsp+16]        ; argv[1]: the program
    0x48, 0x8d, 0x74, 0x24, 0x18, // lea rsi, [rsp+24]        ; &argv[2]: its argv
    0x48, 0x8b, 0x0c, 0x24, //       mov rcx, [rsp]           ; argc
    0x48, 0x8d, 0x54, 0xcc, 0x10, // lea rdx, [rsp+rcx*8+16]  ; envp
    0xb8, 0x3b, 0, 0, 0, //          mov eax, 59 (execve)
    0x0f, 0x05, //                   syscall
    0xbf, 0x7f, 0, 0, 0, //          mov edi, 127
    0xb8, 0x3c, 0, 0, 0, //          mov eax, 60 (exit)
    0x0f, 0x05, //                   syscall
];

/// A sealed memfd holding the trampoline, made before seccomp and capability
/// changes (which might forbid memfd_create). `None` where there is no
/// trampoline for this architecture, or in a build with the
/// `bench-unprotected-exec` feature (benchmarks only: `make bench-exe-protection`
/// measures what the protection costs by comparing against such a build).
pub fn prepare() -> nix::Result<Option<OwnedFd>> {
    #[cfg(all(target_arch = "x86_64", not(feature = "bench-unprotected-exec")))]
    {
        const MFD_EXEC: libc::c_uint = 0x10;
        let name = c"husk-exec";
        let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        // SAFETY: memfd_create with a valid C string; newer kernels want MFD_EXEC said aloud.
        let mut fd = unsafe { libc::memfd_create(name.as_ptr(), base | MFD_EXEC) };
        if fd < 0 && nix::Error::last() == nix::Error::EINVAL {
            fd = unsafe { libc::memfd_create(name.as_ptr(), base) };
        }
        if fd < 0 {
            return Err(nix::Error::last());
        }
        // SAFETY: memfd_create returned a new descriptor we own.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let mut written = 0;
        while written < TRAMPOLINE.len() {
            written += nix::unistd::write(&fd, &TRAMPOLINE[written..])?;
        }
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: fcntl on our descriptor.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(nix::Error::last());
        }
        Ok(Some(fd))
    }
    #[cfg(any(not(target_arch = "x86_64"), feature = "bench-unprotected-exec"))]
    Ok(None)
}

/// Why the program could not be exec'd.
#[derive(Debug)]
pub enum ExecFailure {
    /// The exec failed (the program, or the trampoline, could not be run).
    Exec(nix::Error),
    /// Neither way into the sealed trampoline worked; executing the program
    /// directly would let it reach the husk binary, so husk does not.
    Unprotected {
        /// What `execveat` of the memfd said.
        execveat: nix::Error,
        /// What `execve` of `/proc/self/fd/N` said.
        proc_fd: nix::Error,
    },
}

/// Exec `program` with `argv` and `envp` through the trampoline when there is
/// one. Returns only on failure.
///
/// The trampoline is reached with `execveat(fd, "", AT_EMPTY_PATH)`; where
/// that is refused (a seccomp profile that allows `execve` but not
/// `execveat`, or a kernel without it), with `execve("/proc/self/fd/N")`,
/// which the kernel resolves to the same sealed memfd. If both fail the
/// program is not run: a plain `execve` from the init, a clone of husk,
/// would hand `/proc/self/exe` (the host binary) to the container.
pub fn exec(
    trampoline: Option<&OwnedFd>,
    program: &CStr,
    argv: &[CString],
    envp: &[CString],
) -> ExecFailure {
    let Some(fd) = trampoline else {
        return ExecFailure::Exec(nix::unistd::execve(program, argv, envp).unwrap_err());
    };
    let mut targv: Vec<*const libc::c_char> = Vec::with_capacity(argv.len() + 3);
    targv.push(c"husk-exec".as_ptr());
    targv.push(program.as_ptr());
    targv.extend(argv.iter().map(|a| a.as_ptr()));
    targv.push(std::ptr::null());
    let mut tenv: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    tenv.push(std::ptr::null());
    // SAFETY: NUL-terminated arrays of pointers into live CStrings.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            targv.as_ptr(),
            tenv.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    let execveat = nix::Error::last();
    if !matches!(
        execveat,
        nix::Error::EPERM | nix::Error::ENOSYS | nix::Error::EACCES
    ) {
        return ExecFailure::Exec(execveat);
    }
    let Ok(path) = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
        return ExecFailure::Exec(nix::Error::EINVAL);
    };
    // SAFETY: as above; the path is a live CString.
    unsafe { libc::execve(path.as_ptr(), targv.as_ptr(), tenv.as_ptr()) };
    ExecFailure::Unprotected {
        execveat,
        proc_fd: nix::Error::last(),
    }
}
