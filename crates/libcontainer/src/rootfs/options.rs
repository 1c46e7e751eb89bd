//! Turning a mount's `options` list into mount(2) flags, propagation changes
//! and the filesystem-specific data string. Pure logic, tested without root.

use nix::mount::MsFlags;

/// A mount's options, sorted into what mount(2) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount call itself.
    pub flags: MsFlags,
    /// Propagation changes applied after mounting, in order.
    pub propagation: Vec<MsFlags>,
    /// Options passed to the filesystem (`mode=755,size=65536k`).
    pub data: String,
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// `tmpcopyup`: copy what the mount hides into the new tmpfs.
    pub tmpcopyup: bool,
    /// `idmap` (false: this mount only) or `ridmap` (true: every mount below
    /// too): the mount gets an id mapping (config.md "idmap").
    pub idmap: Option<bool>,
}

/// An option husk recognises but cannot honour yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mount option {0:?} is not supported yet")]
pub struct UnsupportedOption(pub String);

/// `MS_NOSYMFOLLOW` (Linux 5.10), which nix does not name.
const NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW);

/// Sort `options` into flags, propagation and data.
pub fn parse(options: &[String]) -> Result<MountOptions, UnsupportedOption> {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        propagation: Vec::new(),
        data: String::new(),
        bind: false,
        tmpcopyup: false,
        idmap: None,
    };
    let mut data = Vec::new();
    for opt in options {
        let (set, clear) = match opt.as_str() {
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
            "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
            "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
            "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
            "iversion" => (MsFlags::MS_I_VERSION, MsFlags::empty()),
            "noiversion" => (MsFlags::empty(), MsFlags::MS_I_VERSION),
            "nosymfollow" => (NOSYMFOLLOW, MsFlags::empty()),
            "symfollow" => (MsFlags::empty(), NOSYMFOLLOW),
            "bind" => {
                out.bind = true;
                (MsFlags::MS_BIND, MsFlags::empty())
            }
            "rbind" => {
                out.bind = true;
                (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty())
            }
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
            | "runbindable" => {
                out.propagation
                    .push(propagation_flag(opt).unwrap_or(MsFlags::empty()));
                continue;
            }
            "tmpcopyup" => {
                out.tmpcopyup = true;
                continue;
            }
            "idmap" => {
                out.idmap = Some(out.idmap == Some(true));
                continue;
            }
            "ridmap" => {
                out.idmap = Some(true);
                continue;
            }
            // `idmap=<mappings>` (crun's inline form) and recursive attributes.
            o if o.starts_with("idmap")
                || o.starts_with("ridmap")
                || (o.starts_with('r') && is_recursive_attr(&o[1..])) =>
            {
                return Err(UnsupportedOption(opt.clone()))
            }
            _ => {
                data.push(opt.as_str());
                continue;
            }
        };
        out.flags.insert(set);
        out.flags.remove(clear);
    }
    out.data = data.join(",");
    Ok(out)
}

fn is_recursive_attr(o: &str) -> bool {
    matches!(
        o,
        "ro" | "rw"
            | "nosuid"
            | "suid"
            | "nodev"
            | "dev"
            | "noexec"
            | "exec"
            | "atime"
            | "noatime"
            | "relatime"
            | "norelatime"
            | "strictatime"
            | "nostrictatime"
            | "diratime"
            | "nodiratime"
            | "nosymfollow"
            | "symfollow"
    )
}

/// The mount(2) flags for a propagation name (`rslave`, `shared`, ...).
pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> MountOptions {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_data_and_propagation_are_separated() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        let o = opts(&["rbind", "ro", "rslave"]);
        assert!(o.bind);
        assert_eq!(
            o.flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY
        );
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
    }

    #[test]
    fn later_options_win() {
        assert_eq!(opts(&["ro", "rw"]).flags, MsFlags::empty());
        assert_eq!(opts(&["rw", "ro"]).flags, MsFlags::MS_RDONLY);
    }

    #[test]
    fn iversion_and_symfollow_are_flags_not_data() {
        assert_eq!(opts(&["iversion"]).flags, MsFlags::MS_I_VERSION);
        assert_eq!(opts(&["iversion", "noiversion"]).flags, MsFlags::empty());
        assert_eq!(opts(&["nosymfollow"]).flags, NOSYMFOLLOW);
        assert_eq!(opts(&["nosymfollow", "symfollow"]).data, "");
    }

    #[test]
    fn unsupported_options_are_errors() {
        for o in ["idmap=uids=0-1-2", "rro", "rnosuid"] {
            assert!(parse(&[o.to_string()]).is_err(), "{o}");
        }
    }

    #[test]
    fn idmap_options_are_not_mount_data() {
        assert_eq!(opts(&["rbind", "idmap"]).idmap, Some(false));
        assert_eq!(opts(&["rbind", "ridmap"]).idmap, Some(true));
        assert_eq!(opts(&["ridmap", "idmap"]).idmap, Some(true));
        assert_eq!(opts(&["rbind", "idmap"]).data, "");
        assert_eq!(opts(&["rbind"]).idmap, None);
    }
}
