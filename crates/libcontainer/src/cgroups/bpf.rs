//! cgroup v2 device control: an eBPF program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE`, assembled here from the device rules and
//! attached to the container's cgroup with `bpf(2)`.
//!
//! cgroup v2 has no devices files; the kernel asks every program attached to
//! the cgroup (and its ancestors) whether an access to a device node is
//! allowed. The program sees `struct bpf_cgroup_dev_ctx { u32 access_type;
//! u32 major; u32 minor; }` (access in the high 16 bits of `access_type`, the
//! device type in the low 16) and returns 1 to allow, 0 to deny.
//!
//! The rules mean what they mean on v1: [`devices::emulate`] replays them the
//! way the v1 devices controller does (a type `a` rule resets to allow-all or
//! deny-all, later rules add or remove exceptions), and the program checks the
//! resulting exceptions. Then the same `linux.resources.devices` list allows
//! the same opens and mknods on both hierarchies, as in runc.
//!
//! The program is attached with `BPF_F_ALLOW_MULTI`; a new rule set (a second
//! `set`) attaches its program first and then detaches the ones that were
//! there, so the cgroup is never without a filter.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::devices::{DeviceRule, Emulated};
use super::CgroupError;

/// One eBPF instruction, as `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst_reg in the low nibble, src_reg in the high nibble.
    regs: u8,
    off: i16,
    imm: i32,
}

// Instruction classes, sizes, modes, operations and sources (linux/bpf_common.h, linux/bpf.h).
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04;
const BPF_JMP: u8 = 0x05;
const BPF_JMP32: u8 = 0x06;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_MOV: u8 = 0xb0;
const BPF_JEQ: u8 = 0x10;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

// The device program's context (linux/bpf.h).
const BPF_DEVCG_ACC_MKNOD: i32 = 1;
const BPF_DEVCG_ACC_READ: i32 = 2;
const BPF_DEVCG_ACC_WRITE: i32 = 4;
const BPF_DEVCG_DEV_BLOCK: i32 = 1;
const BPF_DEVCG_DEV_CHAR: i32 = 2;

// Registers the program uses: r1 is the context on entry, then a scratch.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2; // device type
const R3: u8 = 3; // requested access
const R4: u8 = 4; // major
const R5: u8 = 5; // minor

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }
    #[cfg(test)]
    fn dst(&self) -> usize {
        (self.regs & 0x0f) as usize
    }
    #[cfg(test)]
    fn src(&self) -> usize {
        (self.regs >> 4) as usize
    }
    /// dst = *(u32 *)(src + off)
    fn load_u32(dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
    }
    /// dst = imm (64-bit move)
    fn mov_imm(dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
    }
    /// dst = src (32-bit move, zero-extends)
    fn mov32_reg(dst: u8, src: u8) -> Self {
        Insn::new(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
    }
    /// dst &= imm (32-bit)
    fn and32_imm(dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
    }
    /// dst >>= imm (32-bit, logical)
    fn rsh32_imm(dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
    }
    /// if (u32)dst != imm goto +off
    fn jne32_imm(dst: u8, imm: i32, off: i16) -> Self {
        Insn::new(BPF_JMP32 | BPF_JNE | BPF_K, dst, 0, off, imm)
    }
    /// if (u32)dst == imm goto +off
    fn jeq32_imm(dst: u8, imm: i32, off: i16) -> Self {
        Insn::new(BPF_JMP32 | BPF_JEQ | BPF_K, dst, 0, off, imm)
    }
    fn exit() -> Self {
        Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
    }
}

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |bits, c| {
        bits | match c {
            'r' => BPF_DEVCG_ACC_READ,
            'w' => BPF_DEVCG_ACC_WRITE,
            'm' => BPF_DEVCG_ACC_MKNOD,
            _ => 0,
        }
    })
}

/// The device program for `rules` (validated, in config order).
///
/// Layout: a prologue loads type, access, major and minor into r2..r5; then
/// one block per exception that jumps to the next block on any mismatch and
/// otherwise returns the exception's verdict; the last block returns the
/// default verdict. In deny-by-default mode an exception matches when it
/// grants every requested access bit (as v1's `match_exception`); in
/// allow-by-default mode when it names any of them (v1's
/// `match_exception_partial`).
pub(crate) fn device_program(rules: &[DeviceRule]) -> Vec<Insn> {
    let Emulated {
        default_allow,
        exceptions,
    } = super::devices::emulate(rules);
    let mut prog = vec![
        Insn::load_u32(R2, R1, 0),
        Insn::and32_imm(R2, 0xffff),
        Insn::load_u32(R3, R1, 0),
        Insn::rsh32_imm(R3, 16),
        Insn::load_u32(R4, R1, 4),
        Insn::load_u32(R5, R1, 8),
    ];
    let verdict = i32::from(!default_allow);
    for ex in &exceptions {
        let mut checks: Vec<Insn> = Vec::new();
        let ty = if ex.kind == 'b' {
            BPF_DEVCG_DEV_BLOCK
        } else {
            BPF_DEVCG_DEV_CHAR
        };
        // Offsets are filled in below, once the block's length is known.
        checks.push(Insn::jne32_imm(R2, ty, 0));
        let bits = access_bits(&ex.access);
        if bits != 7 || default_allow {
            checks.push(Insn::mov32_reg(R1, R3));
            if default_allow {
                // Any requested bit named by the rule: a match.
                checks.push(Insn::and32_imm(R1, bits));
                checks.push(Insn::jeq32_imm(R1, 0, 0));
            } else {
                // A requested bit the rule does not grant: no match.
                checks.push(Insn::and32_imm(R1, !bits & 7));
                checks.push(Insn::jne32_imm(R1, 0, 0));
            }
        }
        if let Some(major) = ex.major {
            checks.push(Insn::jne32_imm(R4, major as u32 as i32, 0));
        }
        if let Some(minor) = ex.minor {
            checks.push(Insn::jne32_imm(R5, minor as u32 as i32, 0));
        }
        let len = checks.len() + 2;
        for (i, insn) in checks.iter_mut().enumerate() {
            if insn.code & 0x07 == BPF_JMP32 {
                // Jump past the rest of this block: to the next block's first insn.
                insn.off = (len - i - 1) as i16;
            }
        }
        prog.extend(checks);
        prog.push(Insn::mov_imm(R0, verdict));
        prog.push(Insn::exit());
    }
    prog.push(Insn::mov_imm(R0, i32::from(default_allow)));
    prog.push(Insn::exit());
    prog
}

// bpf(2) commands, program and attach types, flags (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The leading fields of `union bpf_attr` for BPF_PROG_LOAD.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for BPF_PROG_ATTACH / BPF_PROG_DETACH.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// `union bpf_attr` for BPF_PROG_QUERY.
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

/// `union bpf_attr` for BPF_PROG_GET_FD_BY_ID.
#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: attr is a live, initialized repr(C) prefix of union bpf_attr of
    // the given size; the kernel zero-extends what it does not receive.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn bpf_error(op: &str, cgroup: &Path, source: io::Error) -> CgroupError {
    CgroupError::Bpf {
        op: op.to_string(),
        path: cgroup.to_path_buf(),
        source,
    }
}

/// Load `prog` into the kernel. On a verifier rejection the error carries
/// the verifier's log.
fn load(prog: &[Insn], cgroup: &Path) -> Result<OwnedFd, CgroupError> {
    let license = b"Apache\0";
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"husk_device");
    let attempt = |log: &mut [u8]| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: prog.len() as u32,
            insns: prog.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: u32::from(!log.is_empty()),
            log_size: log.len() as u32,
            log_buf: if log.is_empty() {
                0
            } else {
                log.as_mut_ptr() as u64
            },
            prog_name: name,
            ..Default::default()
        };
        bpf(BPF_PROG_LOAD, &mut attr)
    };
    let fd = match attempt(&mut []) {
        Ok(fd) => fd,
        Err(e)
            if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EINVAL) =>
        {
            // Retry once with the verifier log, so the error says why.
            let mut log = vec![0u8; 64 * 1024];
            let again = attempt(&mut log);
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            match again {
                Ok(fd) => fd,
                Err(e2) => {
                    return Err(bpf_error(
                        "loading the device program",
                        cgroup,
                        io::Error::new(e2.kind(), format!("{e2}; verifier: {text}")),
                    ))
                }
            }
        }
        Err(e) => return Err(bpf_error("loading the device program", cgroup, e)),
    };
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn open_cgroup(cgroup: &Path) -> Result<OwnedFd, CgroupError> {
    let dir = std::fs::File::open(cgroup).map_err(|source| CgroupError::Io {
        path: cgroup.to_path_buf(),
        source,
    })?;
    Ok(dir.into())
}

/// The ids of the device programs attached directly to the cgroup.
fn query(cgroup_fd: &OwnedFd, cgroup: &Path) -> Result<Vec<u32>, CgroupError> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: cgroup_fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                ids = vec![0u32; attr.prog_cnt as usize];
            }
            Err(e) => return Err(bpf_error("querying device programs", cgroup, e)),
        }
    }
}

fn attach_cmd(
    cmd: libc::c_long,
    cgroup_fd: &OwnedFd,
    prog_fd: &OwnedFd,
    flags: u32,
) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup_fd.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
    };
    bpf(cmd, &mut attr).map(|_| ())
}

/// The ids of the device programs attached directly to the cgroup directory `cgroup`.
#[cfg(test)]
pub(crate) fn attached_device_programs(cgroup: &Path) -> Result<Vec<u32>, CgroupError> {
    query(&open_cgroup(cgroup)?, cgroup)
}

/// Enforce `rules` on the cgroup directory `cgroup`: load their program,
/// attach it, then detach the device programs that were attached before.
pub(crate) fn apply_device_rules(cgroup: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let prog = device_program(rules);
    let cgroup_fd = open_cgroup(cgroup)?;
    let old = query(&cgroup_fd, cgroup)?;
    let prog_fd = load(&prog, cgroup)?;
    attach_cmd(BPF_PROG_ATTACH, &cgroup_fd, &prog_fd, BPF_F_ALLOW_MULTI)
        .map_err(|e| bpf_error("attaching the device program", cgroup, e))?;
    for id in old {
        let mut attr = GetFdAttr {
            prog_id: id,
            ..Default::default()
        };
        let fd = match bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) {
            // SAFETY: a new descriptor we own.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd as RawFd) },
            // Detached meanwhile.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(bpf_error("opening an old device program", cgroup, e)),
        };
        match attach_cmd(BPF_PROG_DETACH, &cgroup_fd, &fd, 0) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(bpf_error("detaching the old device program", cgroup, e)),
        }
    }
    Ok(())
}

/// A small interpreter for the instructions [`device_program`] emits, so
/// the program's verdicts can be tested without loading it.
#[cfg(test)]
pub(crate) fn run(prog: &[Insn], access_type: u32, major: u32, minor: u32) -> u64 {
    let ctx = [access_type, major, minor];
    let mut reg = [0u64; 11];
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 100_000, "program does not terminate");
        let insn = prog.get(pc).expect("pc ran off the end of the program");
        let (d, s) = (insn.dst(), insn.src());
        pc += 1;
        match insn.code {
            c if c == BPF_LDX | BPF_W | BPF_MEM => {
                assert_eq!(s, R1 as usize, "loads only from the context");
                assert_eq!(insn.off % 4, 0);
                reg[d] = u64::from(ctx[(insn.off / 4) as usize]);
            }
            c if c == BPF_ALU64 | BPF_MOV | BPF_K => reg[d] = insn.imm as i64 as u64,
            c if c == BPF_ALU | BPF_MOV | BPF_X => reg[d] = reg[s] & 0xffff_ffff,
            c if c == BPF_ALU | BPF_AND | BPF_K => {
                reg[d] = (reg[d] as u32 & insn.imm as u32) as u64
            }
            c if c == BPF_ALU | BPF_RSH | BPF_K => reg[d] = ((reg[d] as u32) >> insn.imm) as u64,
            c if c == BPF_JMP32 | BPF_JNE | BPF_K => {
                if reg[d] as u32 != insn.imm as u32 {
                    pc = (pc as i64 + i64::from(insn.off)) as usize;
                }
            }
            c if c == BPF_JMP32 | BPF_JEQ | BPF_K => {
                if reg[d] as u32 == insn.imm as u32 {
                    pc = (pc as i64 + i64::from(insn.off)) as usize;
                }
            }
            c if c == BPF_JMP | BPF_EXIT => return reg[R0 as usize],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(
        allow: bool,
        kind: char,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.into(),
        }
    }

    const CHAR: u32 = BPF_DEVCG_DEV_CHAR as u32;
    const BLOCK: u32 = BPF_DEVCG_DEV_BLOCK as u32;
    const R: u32 = BPF_DEVCG_ACC_READ as u32;
    const W: u32 = BPF_DEVCG_ACC_WRITE as u32;
    const M: u32 = BPF_DEVCG_ACC_MKNOD as u32;

    fn allowed(prog: &[Insn], ty: u32, acc: u32, major: u32, minor: u32) -> bool {
        match run(prog, (acc << 16) | ty, major, minor) {
            0 => false,
            1 => true,
            v => panic!("verdict {v}"),
        }
    }

    #[test]
    fn instruction_encoding() {
        // The exact bytes the kernel sees for a few instructions.
        let bytes = |i: Insn| -> [u8; 8] {
            // SAFETY: Insn is repr(C), 8 bytes, no padding.
            unsafe { std::mem::transmute(i) }
        };
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(
            bytes(Insn::load_u32(R4, R1, 4)),
            [0x61, 0x14, 4, 0, 0, 0, 0, 0]
        );
        assert_eq!(bytes(Insn::mov_imm(R0, 1)), [0xb7, 0x00, 0, 0, 1, 0, 0, 0]);
        assert_eq!(
            bytes(Insn::jne32_imm(R2, 2, 3)),
            [0x56, 0x02, 3, 0, 2, 0, 0, 0]
        );
        assert_eq!(bytes(Insn::exit()), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            bytes(Insn::rsh32_imm(R3, 16)),
            [0x74, 0x03, 0, 0, 16, 0, 0, 0]
        );
    }

    #[test]
    fn empty_list_denies_everything() {
        let prog = device_program(&[]);
        assert_eq!(
            prog.len(),
            8,
            "prologue and the default verdict only: {prog:?}"
        );
        assert!(!allowed(&prog, CHAR, R, 1, 3));
        assert!(!allowed(&prog, BLOCK, M, 8, 0));
    }

    #[test]
    fn allow_list_with_exact_and_wildcard_numbers() {
        let prog = device_program(&[
            r(false, 'a', None, None, "rwm"),
            r(true, 'c', Some(1), Some(3), "rwm"),
            r(true, 'c', Some(136), None, "rw"),
            r(true, 'b', None, None, "m"),
            r(true, 'c', None, Some(7), "r"),
        ]);
        assert!(allowed(&prog, CHAR, R | W, 1, 3));
        assert!(allowed(&prog, CHAR, M, 1, 3));
        assert!(!allowed(&prog, CHAR, R, 1, 5));
        assert!(!allowed(&prog, BLOCK, R, 1, 3), "type must match");
        assert!(allowed(&prog, CHAR, W, 136, 42));
        assert!(!allowed(&prog, CHAR, M, 136, 42), "m not granted");
        assert!(
            !allowed(&prog, CHAR, R | M, 136, 0),
            "every requested bit must be granted"
        );
        assert!(allowed(&prog, BLOCK, M, 8, 1));
        assert!(!allowed(&prog, BLOCK, R, 8, 1));
        assert!(allowed(&prog, CHAR, R, 99, 7));
        assert!(!allowed(&prog, CHAR, W, 99, 7));
    }

    #[test]
    fn deny_list_after_allow_all() {
        let prog = device_program(&[
            r(true, 'a', None, None, "rwm"),
            r(false, 'c', Some(1), Some(3), "w"),
            r(false, 'b', Some(8), None, "rwm"),
        ]);
        assert!(allowed(&prog, CHAR, R, 1, 3));
        assert!(!allowed(&prog, CHAR, W, 1, 3));
        assert!(
            !allowed(&prog, CHAR, R | W, 1, 3),
            "a partly denied request is denied"
        );
        assert!(!allowed(&prog, BLOCK, M, 8, 16));
        assert!(allowed(&prog, BLOCK, M, 9, 16));
        assert!(allowed(&prog, CHAR, R | W | M, 4, 1));
    }

    #[test]
    fn later_wildcard_resets_earlier_rules() {
        // Ends in deny-all: nothing, whatever came before.
        let prog = device_program(&[
            r(true, 'c', Some(1), Some(3), "rwm"),
            r(false, 'a', None, None, "rwm"),
        ]);
        assert!(!allowed(&prog, CHAR, R, 1, 3));
        // Ends in allow-all: everything.
        let prog = device_program(&[
            r(false, 'c', Some(1), Some(3), "rwm"),
            r(true, 'a', None, None, "rwm"),
        ]);
        assert!(allowed(&prog, CHAR, R, 1, 3));
    }

    #[test]
    fn deny_after_allow_removes_access_as_v1() {
        // Whitelist: a deny strips access from an exception with the same numbers.
        let prog = device_program(&[
            r(true, 'c', Some(1), Some(3), "rwm"),
            r(false, 'c', Some(1), Some(3), "w"),
        ]);
        assert!(allowed(&prog, CHAR, R, 1, 3));
        assert!(!allowed(&prog, CHAR, W, 1, 3));
        // Rules for the same device merge their access.
        let prog = device_program(&[
            r(true, 'c', Some(1), Some(3), "r"),
            r(true, 'c', Some(1), Some(3), "w"),
        ]);
        assert!(allowed(&prog, CHAR, R | W, 1, 3));
    }

    #[test]
    fn numbers_above_i32_fit_the_32_bit_compare() {
        let prog = device_program(&[r(true, 'c', Some(0xffff_fff0), None, "r")]);
        assert!(allowed(&prog, CHAR, R, 0xffff_fff0, 0));
        assert!(!allowed(&prog, CHAR, R, 0x7fff_fff0, 0));
    }

    fn access_str(acc: u32) -> String {
        let mut s = String::new();
        for (bit, c) in [(R, 'r'), (W, 'w'), (M, 'm')] {
            if acc & bit != 0 {
                s.push(c);
            }
        }
        s
    }

    #[test]
    fn program_agrees_with_the_v1_emulation_everywhere() {
        // Exhaustive over a small space of devices and accesses, for a few
        // rule lists: the program's verdict equals the emulator's.
        let lists = vec![
            vec![
                r(false, 'a', None, None, "rwm"),
                r(true, 'c', None, None, "m"),
                r(true, 'b', None, None, "m"),
                r(true, 'c', Some(1), Some(3), "rwm"),
                r(true, 'c', Some(2), None, "rw"),
                r(false, 'c', Some(2), None, "w"),
            ],
            vec![
                r(true, 'a', None, None, "rwm"),
                r(false, 'c', None, Some(1), "m"),
                r(false, 'b', Some(1), Some(1), "r"),
                r(true, 'b', Some(1), Some(1), "r"),
            ],
            vec![
                r(true, 'c', Some(1), None, "r"),
                r(true, 'c', None, Some(3), "w"),
            ],
        ];
        for rules in lists {
            let prog = device_program(&rules);
            let emu = super::super::devices::emulate(&rules);
            for ty in ['b', 'c'] {
                for major in 0..4u32 {
                    for minor in 0..4u32 {
                        for acc in 1..8u32 {
                            let bpf_ty = if ty == 'b' { BLOCK } else { CHAR };
                            assert_eq!(
                                allowed(&prog, bpf_ty, acc, major, minor),
                                emu.allows(ty, major.into(), minor.into(), &access_str(acc)),
                                "{rules:?}: {ty} {major}:{minor} access {acc}"
                            );
                        }
                    }
                }
            }
        }
    }
}
