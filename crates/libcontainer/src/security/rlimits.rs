//! process.rlimits and process.oomScoreAdj.

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use super::SecurityError;

fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Set every rlimit; raising a hard limit needs CAP_SYS_RESOURCE, which the error says.
pub fn apply(rlimits: &[PosixRlimit]) -> Result<(), SecurityError> {
    for r in rlimits {
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: plain syscall with a valid pointer to a local struct.
        if unsafe { libc::setrlimit(resource(r.typ()), &lim) } != 0 {
            let err = std::io::Error::last_os_error();
            let hint = if err.raw_os_error() == Some(libc::EPERM) {
                " (raising a hard limit needs CAP_SYS_RESOURCE, which this runtime lacks)"
            } else {
                ""
            };
            return Err(SecurityError::Rlimit(format!(
                "setrlimit {:?} soft={} hard={}: {err}{hint}",
                r.typ(),
                r.soft(),
                r.hard()
            )));
        }
    }
    Ok(())
}

/// Write /proc/self/oom_score_adj; lowering it needs CAP_SYS_RESOURCE.
pub fn apply_oom_score_adj(value: i32) -> Result<(), SecurityError> {
    let path = std::path::Path::new("/proc/self/oom_score_adj");
    crate::rootfs::verify::write_proc(path, &value.to_string()).map_err(|e| {
        let text = e.to_string();
        let hint = if text.contains("EACCES") || text.contains("EPERM") {
            " (a value below the current one needs CAP_SYS_RESOURCE, which this runtime lacks)"
        } else {
            ""
        };
        SecurityError::OomScoreAdj(format!("{value}: {text}{hint}"))
    })
}
