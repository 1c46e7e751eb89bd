//! Checks on a parsed config that the typed parser cannot make: versions,
//! paths, names, ranges and combinations, and what the host must provide
//! (the rootfs, namespace files, hook programs, bind sources). Every problem
//! is reported with its JSON path, and all of them are reported, not the
//! first: `husk validate` lists them, `create` refuses to start on any.
//!
//! Nothing here changes the host: files are looked at, never created.

use std::collections::HashSet;
use std::fmt;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path};

use oci_spec::runtime::{Hook, LinuxNamespace, LinuxNamespaceType, Spec};

/// One thing wrong with a config, at a JSON path such as `process.args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in config.json, e.g. `linux.namespaces[2].type`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A problem from an error text that may start with its own JSON path
    /// (`linux.seccomp.syscalls[3].action: unknown action ...`, as the
    /// seccomp module words them); otherwise it is put at `default_path`.
    pub fn from_text(default_path: &str, text: &str) -> Problem {
        let top = default_path.split(['.', '[']).next().unwrap_or_default();
        if let Some((path, message)) = text.split_once(": ") {
            let looks_like_path = path.starts_with(top)
                && !path.contains(' ')
                && path
                    .split(['.', '['])
                    .next()
                    .is_some_and(|first| first == top);
            if looks_like_path {
                return Problem::new(path, message);
            }
        }
        Problem::new(default_path, text)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The longest host name the kernel takes (HOST_NAME_MAX).
const HOST_NAME_MAX: usize = 64;

/// `(uid_t)-1`: means "no change" to setresuid, so it can never be a user.
const INVALID_ID: u32 = u32::MAX;

struct Problems {
    list: Vec<Problem>,
    /// False when some namespace entries did not parse: checks that depend on
    /// which namespaces the container has would then be guesses.
    namespaces_known: bool,
}

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem::new(path, message));
    }
}

/// Every problem found in `spec`, whose relative paths are resolved against `bundle`.
pub fn validate(spec: &Spec, bundle: &Path) -> Vec<Problem> {
    validate_with(spec, bundle, true)
}

/// As [`validate`]; with `namespaces_known` false, the checks that depend on
/// the set of namespaces are skipped (some entries did not parse).
pub(crate) fn validate_with(spec: &Spec, bundle: &Path, namespaces_known: bool) -> Vec<Problem> {
    let mut p = Problems {
        list: Vec::new(),
        namespaces_known,
    };
    check_version(spec.version(), &mut p);
    check_root(spec, bundle, &mut p);
    check_process(spec, &mut p);
    check_names(spec, &mut p);
    check_mounts(spec, bundle, &mut p);
    check_hooks(spec, &mut p);
    check_linux(spec, &mut p);
    p.list
}

fn check_version(version: &str, p: &mut Problems) {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next().and_then(|m| m.parse::<u32>().ok());
    let minor = parts.next().and_then(|m| m.parse::<u32>().ok());
    match (major, minor) {
        (Some(1), Some(_)) => {}
        (Some(_), Some(_)) => p.add(
            "ociVersion",
            format!("unsupported version {version:?}: husk implements 1.x"),
        ),
        _ => p.add(
            "ociVersion",
            format!("{version:?} is not a semantic version"),
        ),
    }
}

fn check_root(spec: &Spec, bundle: &Path, p: &mut Problems) {
    let Some(root) = spec.root() else {
        p.add("root", "is required on Linux");
        return;
    };
    let path = root.path();
    if path.as_os_str().is_empty() {
        p.add("root.path", "is empty");
        return;
    }
    let full = if path.is_absolute() {
        path.clone()
    } else {
        bundle.join(path)
    };
    match std::fs::metadata(&full) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => p.add(
            "root.path",
            format!("rootfs {} is not a directory", full.display()),
        ),
        Err(e) => p.add("root.path", format!("rootfs {}: {e}", full.display())),
    }
}

fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

fn check_process(spec: &Spec, p: &mut Problems) {
    let Some(process) = spec.process() else {
        return; // allowed at create; `start` refuses it (runtime.md "start")
    };
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {
            for (i, a) in args.iter().enumerate() {
                if has_nul(a) {
                    p.add(format!("process.args[{i}]"), "contains a NUL byte");
                }
            }
        }
        _ => p.add("process.args", "must name the program to run"),
    }
    let cwd = process.cwd();
    if !cwd.is_absolute() {
        p.add(
            "process.cwd",
            format!("{} must be an absolute path", cwd.display()),
        );
    } else if has_nul(&cwd.to_string_lossy()) {
        p.add("process.cwd", "contains a NUL byte");
    }
    for (i, var) in process.env().iter().flatten().enumerate() {
        if !var.contains('=') || var.starts_with('=') || has_nul(var) {
            p.add(
                format!("process.env[{i}]"),
                format!("{var:?} is not KEY=VALUE"),
            );
        }
    }
    if let Some(rlimits) = process.rlimits() {
        let mut seen = HashSet::new();
        for (i, r) in rlimits.iter().enumerate() {
            if r.soft() > r.hard() {
                p.add(
                    format!("process.rlimits[{i}]"),
                    format!("soft limit {} is above hard limit {}", r.soft(), r.hard()),
                );
            }
            if !seen.insert(r.typ().to_string()) {
                p.add(
                    format!("process.rlimits[{i}].type"),
                    format!("duplicate rlimit {}: it is listed twice", r.typ()),
                );
            }
        }
    }
    let user = process.user();
    if user.uid() == INVALID_ID {
        p.add(
            "process.user.uid",
            "4294967295 is (uid_t)-1, which cannot be a user",
        );
    }
    if user.gid() == INVALID_ID {
        p.add(
            "process.user.gid",
            "4294967295 is (gid_t)-1, which cannot be a group",
        );
    }
    for (i, g) in user.additional_gids().iter().flatten().enumerate() {
        if *g == INVALID_ID {
            p.add(
                format!("process.user.additionalGids[{i}]"),
                "4294967295 is (gid_t)-1, which cannot be a group",
            );
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            p.add(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            );
        }
    }
    if let Some(caps) = process.capabilities() {
        // The kernel's rule (capset(2)): effective must be a subset of permitted.
        let permitted = caps.permitted().clone().unwrap_or_default();
        let mut extra: Vec<String> = caps
            .effective()
            .iter()
            .flatten()
            .filter(|c| !permitted.contains(c))
            .map(|c| c.to_string())
            .collect();
        extra.sort();
        if !extra.is_empty() {
            p.add(
                "process.capabilities.effective",
                format!("{} not in process.capabilities.permitted", extra.join(", ")),
            );
        }
    }
}

fn check_names(spec: &Spec, p: &mut Problems) {
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        let Some(v) = value.as_deref() else { continue };
        if v.len() > HOST_NAME_MAX {
            p.add(
                field,
                format!(
                    "is {} bytes long; the kernel takes at most {HOST_NAME_MAX}",
                    v.len()
                ),
            );
        } else if has_nul(v) {
            p.add(field, "contains a NUL byte");
        }
    }
}

/// True if `path` climbs above where it starts (`a/../../b`), so that joined
/// to a root it would name something outside it.
fn escapes(path: &Path) -> bool {
    let mut depth: i32 = 0;
    for c in path.components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

fn check_mounts(spec: &Spec, bundle: &Path, p: &mut Problems) {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let dest = m.destination();
        if dest.as_os_str().is_empty() {
            p.add(format!("mounts[{i}].destination"), "is empty");
        } else if dest.components().any(|c| c == Component::ParentDir) {
            // runc joins a relative destination to "/", which is accepted; a
            // ".." could leave the rootfs if the resolver were ever bypassed.
            p.add(
                format!("mounts[{i}].destination"),
                format!(
                    "{} must not contain \"..\"{}",
                    dest.display(),
                    if escapes(dest) {
                        " (it climbs out of the container's root)"
                    } else {
                        ""
                    }
                ),
            );
        }
        let options = m.options().clone().unwrap_or_default();
        let parsed = match crate::rootfs::options::parse(&options) {
            Ok(o) => Some(o),
            Err(e) => {
                let at = options.iter().position(|o| *o == e.0).unwrap_or(0);
                p.add(format!("mounts[{i}].options[{at}]"), e.to_string());
                None
            }
        };
        let typ = m.typ().as_deref().unwrap_or("");
        let bind = typ == "bind" || parsed.as_ref().is_some_and(|o| o.bind);
        check_idmap(spec, i, m, bind, parsed.as_ref().and_then(|o| o.idmap), p);
        if bind {
            match m.source() {
                None => p.add(format!("mounts[{i}].source"), "a bind mount needs a source"),
                Some(src) => {
                    let full = if src.is_absolute() {
                        src.clone()
                    } else {
                        bundle.join(src)
                    };
                    if let Err(e) = std::fs::metadata(&full) {
                        p.add(
                            format!("mounts[{i}].source"),
                            format!("bind source {}: {e}", full.display()),
                        );
                    }
                }
            }
        }
    }
}

/// config.md "Mounts" `uidMappings`/`gidMappings` and the "idmap"/"ridmap"
/// options: both mappings or neither, each valid; without them the
/// container's user namespace supplies the mapping, so one is needed.
fn check_idmap(
    spec: &Spec,
    i: usize,
    m: &oci_spec::runtime::Mount,
    bind: bool,
    idmap: Option<bool>,
    p: &mut Problems,
) {
    let uid = crate::userns::maps_of(m.uid_mappings().as_ref());
    let gid = crate::userns::maps_of(m.gid_mappings().as_ref());
    let mapped = !uid.is_empty() || !gid.is_empty();
    if !mapped && idmap.is_none() {
        return;
    }
    for (field, maps) in [("uidMappings", &uid), ("gidMappings", &gid)] {
        if mapped && maps.is_empty() {
            p.add(
                format!("mounts[{i}].{field}"),
                "is required with the other mapping (config.md: both or neither)",
            );
        }
        for (j, problem) in crate::userns::check_maps(maps) {
            match j {
                Some(j) => p.add(format!("mounts[{i}].{field}[{j}]"), problem),
                None => p.add(format!("mounts[{i}].{field}"), problem),
            }
        }
    }
    if !bind {
        // mount_setattr(MOUNT_ATTR_IDMAP) needs a detached tree: open_tree of a bind source.
        p.add(
            format!("mounts[{i}]"),
            "id-mapped mounts are supported for bind mounts only",
        );
    }
    let user_ns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::User));
    if !mapped && !user_ns {
        p.add(
            format!("mounts[{i}].options"),
            "\"idmap\" without uidMappings/gidMappings takes the container's user namespace mapping, \
             and the container has no user namespace",
        );
    }
}

/// config.md "POSIX-platform Hooks": `path` MUST be absolute; `timeout` MUST
/// be greater than zero. Hooks that run in the runtime's namespace must exist
/// now; startContainer hooks resolve inside the container, so only their
/// form is checked.
fn check_hooks(spec: &Spec, p: &mut Problems) {
    let Some(hooks) = spec.hooks() else { return };
    let kinds: [(&str, &Option<Vec<Hook>>, bool); 6] = [
        ("prestart", hooks.prestart(), true),
        ("createRuntime", hooks.create_runtime(), true),
        ("createContainer", hooks.create_container(), true),
        ("startContainer", hooks.start_container(), false),
        ("poststart", hooks.poststart(), true),
        ("poststop", hooks.poststop(), true),
    ];
    for (kind, list, on_host) in kinds {
        for (i, h) in list.iter().flatten().enumerate() {
            let at = format!("hooks.{kind}[{i}]");
            let path = h.path();
            if !path.is_absolute() {
                p.add(
                    format!("{at}.path"),
                    format!("{} must be an absolute path", path.display()),
                );
            } else if on_host {
                match std::fs::metadata(path) {
                    Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {}
                    Ok(_) => p.add(
                        format!("{at}.path"),
                        format!("{} is not an executable file", path.display()),
                    ),
                    Err(e) => p.add(format!("{at}.path"), format!("{}: {e}", path.display())),
                }
            }
            if h.timeout().is_some_and(|t| t <= 0) {
                p.add(format!("{at}.timeout"), "must be greater than zero");
            }
            for (j, var) in h.env().iter().flatten().enumerate() {
                if !var.contains('=') || var.starts_with('=') {
                    p.add(
                        format!("{at}.env[{j}]"),
                        format!("{var:?} is not KEY=VALUE"),
                    );
                }
            }
        }
    }
}

/// The namespace file at `path`, opened and checked to be a namespace of type
/// `typ`. The error says what is wrong with it, without the field path.
pub fn open_namespace(path: &Path, typ: LinuxNamespaceType) -> Result<OwnedFd, String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    // nsfs files are regular files. Anything else is refused before it is
    // opened: opening a fifo would block, opening a device can act on it.
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a namespace file", path.display()));
    }
    let fd: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .into();
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: ioctl on a descriptor we own; no memory is passed.
    let got = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE) };
    if got < 0 {
        return Err(format!("{} is not a namespace file", path.display()));
    }
    if got != crate::process::init::clone_flag(typ).bits() {
        return Err(format!("{} is not a {typ} namespace", path.display()));
    }
    Ok(fd)
}

/// True if the namespace at `path` is the runtime's own (the host's) of `typ`.
fn is_own_namespace(path: &Path, typ: LinuxNamespaceType) -> bool {
    let own = format!("/proc/self/ns/{}", proc_ns_name(typ));
    match (std::fs::metadata(path), std::fs::metadata(own)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn proc_ns_name(typ: LinuxNamespaceType) -> &'static str {
    match typ {
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Time => "time",
    }
}

/// Which namespace a sysctl lives in, by runc's rules (libcontainer
/// configs/validate): IPC sysctls, `net.*`, and the UTS names. Anything else
/// is global to the host and is refused.
fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    // sysctl(8) also takes "net/ipv4/ip_forward".
    let key = key.replace('/', ".");
    if IPC.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

fn check_linux(spec: &Spec, p: &mut Problems) {
    let Some(linux) = spec.linux() else {
        p.add("linux", "is required on Linux");
        return;
    };
    let namespaces: &[LinuxNamespace] = linux.namespaces().as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            p.add(
                format!("linux.namespaces[{i}].type"),
                format!("duplicate {} namespace: it is listed twice", ns.typ()),
            );
        }
        if let Some(path) = ns.path() {
            if !path.is_absolute() {
                p.add(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} must be an absolute path", path.display()),
                );
            } else if let Err(e) = open_namespace(path, ns.typ()) {
                p.add(format!("linux.namespaces[{i}].path"), e);
            }
        }
    }
    if p.namespaces_known {
        check_namespace_needs(spec, namespaces, p);
    }
    check_lsm(spec, p);
    check_unsupported(spec, p);
    if let Some(cg) = linux.cgroups_path() {
        if cg.components().any(|c| c == Component::ParentDir) {
            p.add(
                "linux.cgroupsPath",
                format!("{} must not contain \"..\"", cg.display()),
            );
        }
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() {
            p.add(
                format!("linux.devices[{i}].path"),
                format!("{:?} must be an absolute path", d.path().display()),
            );
        } else if escapes(d.path()) || d.path().file_name().is_none() {
            p.add(
                format!("linux.devices[{i}].path"),
                format!("{} does not name a file", d.path().display()),
            );
        }
        if d.typ() == oci_spec::runtime::LinuxDeviceType::A {
            p.add(
                format!("linux.devices[{i}].type"),
                "\"a\" is only valid in cgroup device rules (linux.resources.devices)",
            );
        }
        // podman sends the file-type bits too (0o20666 for a char device), as
        // Go's os.FileMode does: accept them when they match the device type.
        if let Some(m) = d.file_mode() {
            let type_bits = m & 0o170000;
            let expected = match d.typ() {
                oci_spec::runtime::LinuxDeviceType::B => 0o060000,
                oci_spec::runtime::LinuxDeviceType::P => 0o010000,
                _ => 0o020000,
            };
            if m > 0o177777 || (type_bits != 0 && type_bits != expected) {
                p.add(
                    format!("linux.devices[{i}].fileMode"),
                    format!("{m:#o} is not a permission mode for this device type"),
                );
            }
        }
        for (field, id) in [("uid", d.uid()), ("gid", d.gid())] {
            if id == Some(INVALID_ID) {
                p.add(
                    format!("linux.devices[{i}].{field}"),
                    "4294967295 is (id_t)-1, which cannot own a file",
                );
            }
        }
    }
    for (field, list) in [
        ("maskedPaths", linux.masked_paths()),
        ("readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, path) in list.iter().flatten().enumerate() {
            if !path.starts_with('/') {
                p.add(
                    format!("linux.{field}[{i}]"),
                    format!("{path:?} must be an absolute path"),
                );
            }
        }
    }
    if let Some(prop) = linux.rootfs_propagation() {
        let ok = [
            "private",
            "rprivate",
            "slave",
            "rslave",
            "shared",
            "rshared",
            "unbindable",
            "runbindable",
        ];
        if !prop.is_empty() && !ok.contains(&prop.as_str()) {
            p.add(
                "linux.rootfsPropagation",
                format!("{prop:?} is not one of {}", ok.join(", ")),
            );
        }
    }
    if let Some(mem) = linux.resources().as_ref().and_then(|r| r.memory().as_ref()) {
        if let (Some(limit), Some(swap)) = (mem.limit(), mem.swap()) {
            if limit > 0 && swap > 0 && swap < limit {
                p.add(
                    "linux.resources.memory.swap",
                    format!("{swap} is below memory.limit {limit}: swap is memory plus swap"),
                );
            }
        }
    }
}

/// What needs which namespace: the UTS names, the mounts that would change
/// the host's own, the id mappings, the time offsets and the sysctls.
fn check_namespace_needs(spec: &Spec, namespaces: &[LinuxNamespace], p: &mut Problems) {
    let Some(linux) = spec.linux() else { return };
    let find = |t: LinuxNamespaceType| namespaces.iter().find(|n| n.typ() == t);
    let has = |t: LinuxNamespaceType| find(t).is_some();
    let has_uts = has(LinuxNamespaceType::Uts);
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has_uts {
        p.add("hostname", "needs a new UTS namespace (linux.namespaces)");
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has_uts {
        p.add("domainname", "needs a new UTS namespace (linux.namespaces)");
    }
    if !has(LinuxNamespaceType::Mount) {
        // These would change the host's own mounts.
        if linux.masked_paths().as_ref().is_some_and(|m| !m.is_empty()) {
            p.add(
                "linux.maskedPaths",
                "needs a mount namespace (linux.namespaces)",
            );
        }
        if linux
            .readonly_paths()
            .as_ref()
            .is_some_and(|m| !m.is_empty())
        {
            p.add(
                "linux.readonlyPaths",
                "needs a mount namespace (linux.namespaces)",
            );
        }
        if spec
            .root()
            .as_ref()
            .is_some_and(|r| r.readonly() == Some(true))
        {
            p.add(
                "root.readonly",
                "needs a mount namespace (linux.namespaces)",
            );
        }
        if linux.rootfs_propagation().is_some() {
            p.add(
                "linux.rootfsPropagation",
                "needs a mount namespace (linux.namespaces)",
            );
        }
    }
    let maps = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.as_ref().is_some_and(|m| !m.is_empty())
    };
    for (field, m) in [
        ("linux.uidMappings", linux.uid_mappings()),
        ("linux.gidMappings", linux.gid_mappings()),
    ] {
        for (i, problem) in crate::userns::check_maps(&crate::userns::maps_of(m.as_ref())) {
            match i {
                Some(i) => p.add(format!("{field}[{i}]"), problem),
                None => p.add(field, problem),
            }
        }
    }
    if find(LinuxNamespaceType::User).is_some_and(|n| n.path().is_some()) {
        // A joined user namespace has its maps already; init checks any given match them.
    } else if has(LinuxNamespaceType::User) {
        if !maps(linux.uid_mappings()) {
            p.add(
                "linux.uidMappings",
                "a new user namespace needs uid mappings",
            );
        }
        if !maps(linux.gid_mappings()) {
            p.add(
                "linux.gidMappings",
                "a new user namespace needs gid mappings",
            );
        }
    } else {
        // runc: "user namespace mappings specified, but USER namespace isn't enabled".
        for (field, m) in [
            ("linux.uidMappings", linux.uid_mappings()),
            ("linux.gidMappings", linux.gid_mappings()),
        ] {
            if maps(m) {
                p.add(field, "mappings need a user namespace (linux.namespaces)");
            }
        }
    }
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
        && find(LinuxNamespaceType::Time).is_none_or(|n| n.path().is_some())
    {
        p.add(
            "linux.timeOffsets",
            "needs a new time namespace (linux.namespaces)",
        );
    }
    let mut keys: Vec<&String> = linux.sysctl().iter().flatten().map(|(k, _)| k).collect();
    keys.sort();
    for key in keys {
        let at = format!("linux.sysctl.{key}");
        if key.is_empty() || key.contains("..") || key.starts_with(['.', '/']) {
            p.add(at, "is not a sysctl name");
            continue;
        }
        let Some(typ) = sysctl_namespace(key) else {
            p.add(
                at,
                "is not in a separate kernel namespace: setting it would change the host",
            );
            continue;
        };
        match find(typ) {
            None => p.add(
                at,
                format!("needs a new {typ} namespace (linux.namespaces): it would change the host's"),
            ),
            Some(ns) if ns.path().as_deref().is_some_and(|path| is_own_namespace(path, typ)) => p.add(
                at,
                format!("the {typ} namespace joined is the host's: setting it would change the host"),
            ),
            Some(_) => {}
        }
    }
}

/// Fields husk cannot honour yet: an error, never silently dropped.
fn check_unsupported(spec: &Spec, p: &mut Problems) {
    if let Some(linux) = spec.linux() {
        if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            p.add(
                "linux.netDevices",
                "moving network devices into the container is not supported yet",
            );
        }
        if linux.intel_rdt().is_some() {
            let why = if Path::new("/sys/fs/resctrl/schemata").exists() {
                "Intel RDT is not supported by husk yet"
            } else {
                "Intel RDT needs the resctrl filesystem, which this host does not have mounted"
            };
            p.add("linux.intelRdt", why);
        }
    }
}

/// AppArmor and SELinux settings are applied only where the LSM is enabled;
/// elsewhere they are errors, never silently dropped.
fn check_lsm(spec: &Spec, p: &mut Problems) {
    let apparmor = crate::security::lsm::apparmor_enabled();
    let selinux = crate::security::lsm::selinux_enabled();
    if let Some(process) = spec.process() {
        if !apparmor
            && process
                .apparmor_profile()
                .as_deref()
                .is_some_and(|a| !a.is_empty())
        {
            p.add(
                "process.apparmorProfile",
                "AppArmor is not enabled on this host",
            );
        }
        if !selinux
            && process
                .selinux_label()
                .as_deref()
                .is_some_and(|a| !a.is_empty())
        {
            p.add(
                "process.selinuxLabel",
                "SELinux is not enabled on this host",
            );
        }
    }
    if let Some(label) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref())
    {
        if !label.is_empty() && !selinux {
            p.add("linux.mountLabel", "SELinux is not enabled on this host");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "/"},
            "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]},
            "hostname": "h"
        })
    }

    fn problems(v: serde_json::Value) -> Vec<String> {
        let spec: Spec = serde_json::from_value(v).unwrap();
        validate(&spec, Path::new("/"))
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn valid_config_has_no_problems() {
        assert!(problems(base()).is_empty(), "{:?}", problems(base()));
    }

    #[test]
    fn each_problem_names_its_field() {
        let mut v = base();
        v["ociVersion"] = "2.0.0".into();
        v["process"]["cwd"] = "rel".into();
        v["process"]["args"] = serde_json::json!([]);
        v["process"]["env"] = serde_json::json!(["NOEQUALS"]);
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "mount"}]);
        v["root"]["path"] = "/no/such/rootfs".into();
        let got = problems(v);
        for want in [
            "ociVersion",
            "process.cwd",
            "process.args",
            "process.env[0]",
            "linux.namespaces[1].type",
            "root.path",
            "hostname",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
    }

    #[test]
    fn ranges_lengths_and_forms() {
        let mut v = base();
        v["process"]["user"]["uid"] = u32::MAX.into();
        v["process"]["user"]["additionalGids"] = serde_json::json!([5, u32::MAX]);
        v["process"]["oomScoreAdj"] = 1001.into();
        v["hostname"] = "h".repeat(65).into();
        v["mounts"] = serde_json::json!([
            {"destination": "../../etc", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]},
            {"destination": "/y", "type": "bind", "source": "/no/such/source"},
        ]);
        v["linux"]["devices"] = serde_json::json!([
            {"path": "dev/rel", "type": "c", "major": 1, "minor": 3},
            {"path": "/dev/any", "type": "a"},
        ]);
        v["linux"]["maskedPaths"] = serde_json::json!(["relative"]);
        v["linux"]["rootfsPropagation"] = "sideways".into();
        v["hooks"] = serde_json::json!({
            "prestart": [{"path": "relative/hook"}, {"path": "/no/such/hook"}],
            "poststop": [{"path": "/bin/sh", "timeout": 0}]
        });
        let got = problems(v);
        for want in [
            "process.user.uid",
            "process.user.additionalGids[1]",
            "process.oomScoreAdj",
            "hostname",
            "mounts[0].destination",
            "mounts[1]",
            "mounts[1].options",
            "mounts[2].source",
            "linux.devices[0].path",
            "linux.devices[1].type",
            "linux.maskedPaths[0]",
            "linux.rootfsPropagation",
            "hooks.prestart[0].path",
            "hooks.prestart[1].path",
            "hooks.poststop[0].timeout",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
    }

    #[test]
    fn id_mappings_and_idmapped_mounts() {
        let mut v = base();
        v["linux"]["namespaces"] =
            serde_json::json!([{"type": "mount"}, {"type": "user"}, {"type": "uts"}]);
        v["linux"]["uidMappings"] = serde_json::json!([
            {"containerID": 0, "hostID": 100000, "size": 65536},
            {"containerID": 0, "hostID": 1000, "size": 1}
        ]);
        v["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 0}]);
        let map = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 1}]);
        v["mounts"] = serde_json::json!([
            {"destination": "/a", "type": "bind", "source": "/", "options": ["rbind", "idmap"],
             "uidMappings": map},
            {"destination": "/b", "type": "bind", "source": "/", "options": ["rbind", "ridmap"]},
            {"destination": "/c", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
             "uidMappings": map, "gidMappings": map},
        ]);
        let got = problems(v.clone());
        assert_eq!(
            got,
            [
                "mounts[0].gidMappings",
                "mounts[2]",
                "linux.uidMappings[1]",
                "linux.gidMappings[0]"
            ],
            "{got:?}"
        );
        // Without a user namespace: the mappings have nowhere to go, and
        // "ridmap" without mappings has no mapping to use.
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "uts"}]);
        v["linux"].as_object_mut().unwrap().remove("gidMappings");
        let got = problems(v);
        assert!(got.contains(&"mounts[1].options".to_string()), "{got:?}");
        assert!(got.contains(&"linux.uidMappings".to_string()), "{got:?}");
    }

    #[test]
    fn sysctls_follow_runcs_namespace_rules() {
        let mut v = base();
        v["linux"]["sysctl"] = serde_json::json!({
            "kernel.shmmax": "1", "fs.mqueue.msg_max": "10", "kernel.domainname": "d",
            "net.ipv4.ip_forward": "1", "vm.swappiness": "1", "kernel/sem": "1 2 3 4"
        });
        let got = problems(v);
        assert_eq!(
            got,
            vec![
                "linux.sysctl.net.ipv4.ip_forward",
                "linux.sysctl.vm.swappiness"
            ]
        );
    }

    #[test]
    fn namespace_paths_are_checked() {
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([
            {"type": "mount"}, {"type": "uts"},
            {"type": "network", "path": "/proc/self/ns/ipc"},
            {"type": "ipc", "path": "/etc/hostname"},
            {"type": "pid", "path": "relative"},
        ]);
        let got = problems(v);
        for want in [
            "linux.namespaces[2].path",
            "linux.namespaces[3].path",
            "linux.namespaces[4].path",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
        let fd = open_namespace(Path::new("/proc/self/ns/net"), LinuxNamespaceType::Network);
        assert!(fd.is_ok());
        // A fifo would block an open for reading forever: refused unopened.
        let fifo = std::env::temp_dir().join(format!("husk-ns-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let r = open_namespace(&fifo, LinuxNamespaceType::Network);
        std::fs::remove_file(&fifo).unwrap();
        assert!(r.unwrap_err().contains("not a namespace file"));
    }

    #[test]
    fn problem_text_keeps_its_own_path() {
        let p = Problem::from_text(
            "linux.seccomp",
            "linux.seccomp.syscalls[3].action: unknown action",
        );
        assert_eq!(p.path, "linux.seccomp.syscalls[3].action");
        let p = Problem::from_text("linux.seccomp", "exporting failed: x");
        assert_eq!(p.path, "linux.seccomp");
    }

    #[test]
    fn versions() {
        let mut p = Problems {
            list: Vec::new(),
            namespaces_known: true,
        };
        for ok in ["1.0.0", "1.0.2-dev", "1.2.0", "1.3.0"] {
            check_version(ok, &mut p);
        }
        assert!(p.list.is_empty());
        check_version("0.9", &mut p);
        check_version("abc", &mut p);
        assert_eq!(p.list.len(), 2);
    }
}
