//! Where a container's cgroup goes: host layout detection and cgroupsPath resolution.
//!
//! Everything here is a pure function of text (mountinfo, /proc/self/cgroup,
//! the config), so it is unit-tested without root and without a particular host.
//! It decides paths; it never creates or writes anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{CgroupError, CgroupState};

/// The v1 controllers runc's cgroupfs driver joins, plus the systemd named
/// hierarchy. Other named hierarchies are not ours to join.
const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "rdma",
    "misc",
    "name=systemd",
];

/// Where pure cgroup v2 hosts mount the unified hierarchy.
const V2_ROOT: &str = "/sys/fs/cgroup";

/// The key of the hybrid host's cgroup2 directory in [`CgroupState::V1`].
pub(crate) const UNIFIED_KEY: &str = "unified";

/// One line of /proc/self/mountinfo, the fields this module needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountInfo {
    /// The directory of the filesystem that is mounted (field 4).
    pub root: String,
    /// Where it is mounted (field 5).
    pub mount_point: PathBuf,
    /// `cgroup`, `cgroup2`, `tmpfs`, ...
    pub fs_type: String,
    /// The per-superblock options; for cgroup v1 they name the controllers.
    pub super_options: String,
}

/// Parse /proc/self/mountinfo; malformed lines are skipped.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let fs_type = right.next()?;
            let _source = right.next()?;
            let super_options = right.next().unwrap_or("");
            Some(MountInfo {
                root: unescape_octal(left.get(3)?),
                mount_point: PathBuf::from(unescape_octal(left.get(4)?)),
                fs_type: fs_type.to_string(),
                super_options: super_options.to_string(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(b) = u8::try_from(v) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of /proc/<pid>/cgroup: `hierarchy-id:controller-list:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcCgroup {
    pub hierarchy_id: u32,
    /// Empty for the cgroup2 hierarchy.
    pub controllers: Vec<String>,
    pub path: String,
}

/// Parse /proc/self/cgroup; malformed lines are skipped.
pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<ProcCgroup> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let hierarchy_id = parts.next()?.parse().ok()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some(ProcCgroup {
                hierarchy_id,
                controllers: controllers
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// A mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// The v1 controllers bound to it (`["cpu", "cpuacct"]`, `["name=systemd"]`);
    /// empty for cgroup2.
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
    /// The cgroup the mount shows as its root (not `/` inside some containers).
    pub root: String,
}

/// The host's cgroup layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// /sys/fs/cgroup is a cgroup2 mount.
    V2(Hierarchy),
    /// v1 controllers, and on hybrid hosts a cgroup2 mount beside them.
    V1 {
        hierarchies: Vec<Hierarchy>,
        unified: Option<Hierarchy>,
    },
}

/// Tell pure v2 from v1/hybrid, as runc does: pure v2 iff /sys/fs/cgroup is cgroup2.
pub(crate) fn detect_layout(mounts: &[MountInfo]) -> Result<Layout, CgroupError> {
    let hierarchy = |m: &MountInfo, controllers: Vec<String>| Hierarchy {
        controllers,
        mount_point: m.mount_point.clone(),
        root: m.root.clone(),
    };
    // The last mount on a path is the visible one.
    if let Some(m) = mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == Path::new(V2_ROOT))
    {
        if m.fs_type == "cgroup2" {
            return Ok(Layout::V2(hierarchy(m, Vec::new())));
        }
    }
    let mut hierarchies: Vec<Hierarchy> = Vec::new();
    let mut unified = None;
    for m in mounts {
        match m.fs_type.as_str() {
            "cgroup" => {
                let controllers: Vec<String> = m
                    .super_options
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o))
                    .map(str::to_string)
                    .collect();
                // A hierarchy bind-mounted twice shows up twice; the first will do.
                if controllers.is_empty()
                    || hierarchies.iter().any(|h| h.controllers == controllers)
                {
                    continue;
                }
                hierarchies.push(hierarchy(m, controllers));
            }
            "cgroup2" if unified.is_none() => unified = Some(hierarchy(m, Vec::new())),
            _ => {}
        }
    }
    match (hierarchies.is_empty(), unified) {
        (true, None) => Err(CgroupError::Unsupported(
            "no cgroup filesystem is mounted".into(),
        )),
        // Only a cgroup2 mount, just not at /sys/fs/cgroup: still a v2 host.
        (true, Some(u)) => Ok(Layout::V2(u)),
        (false, unified) => Ok(Layout::V1 {
            hierarchies,
            unified,
        }),
    }
}

/// `linux.cgroupsPath` after validation: the path's components, and what they are relative to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InnerPath {
    /// Relative to the root of each hierarchy.
    Absolute(Vec<String>),
    /// Relative to the runtime's own cgroup.
    Relative(Vec<String>),
}

impl InnerPath {
    pub(crate) fn is_relative(&self) -> bool {
        matches!(self, InnerPath::Relative(_))
    }
}

/// Validate `linux.cgroupsPath` and normalize it lexically.
pub(crate) fn parse_cgroups_path(path: Option<&str>, id: &str) -> Result<InnerPath, CgroupError> {
    let raw = path.unwrap_or("");
    if raw.is_empty() {
        // runc 1.1 without a cgroupsPath: a cgroup named after the container,
        // below the runtime's own cgroup.
        if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
            return Err(CgroupError::InvalidPath(
                raw.to_string(),
                format!("no path given, and the container id {id:?} cannot name a cgroup"),
            ));
        }
        return Ok(InnerPath::Relative(vec![id.to_string()]));
    }
    if raw.contains('\0') {
        return Err(CgroupError::InvalidPath(
            raw.to_string(),
            "contains a NUL byte".into(),
        ));
    }
    let absolute = raw.starts_with('/');
    let mut parts: Vec<String> = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    let base = if absolute {
                        "the cgroup root"
                    } else {
                        "the runtime's own cgroup"
                    };
                    return Err(CgroupError::InvalidPath(
                        raw.to_string(),
                        format!("\"..\" climbs above {base}"),
                    ));
                }
            }
            c => parts.push(c.to_string()),
        }
    }
    if parts.is_empty() {
        // The hierarchy root, or the runtime's own cgroup: neither can be the
        // container's, since destroy removes it and set limits it.
        return Err(CgroupError::InvalidPath(
            raw.to_string(),
            "names no cgroup below its base (the hierarchy root or the runtime's own cgroup)"
                .into(),
        ));
    }
    Ok(if absolute {
        InnerPath::Absolute(parts)
    } else {
        InnerPath::Relative(parts)
    })
}

/// Decide the container's directory in every hierarchy of `layout`.
/// `own` is /proc/self/cgroup, needed only for relative paths.
pub(crate) fn plan(
    layout: &Layout,
    inner: &InnerPath,
    own: &[ProcCgroup],
) -> Result<CgroupState, CgroupError> {
    match layout {
        Layout::V2(h) => {
            let own_path = own
                .iter()
                .find(|l| l.hierarchy_id == 0 && l.controllers.is_empty());
            // Relative to the parent of the runtime's cgroup, as runc's fs2 driver:
            // the runtime's own cgroup holds processes, so no controller could be
            // enabled for a child of it (the "no internal processes" rule).
            let path = resolve(h, inner, own_path.map(|l| l.path.as_str()), true)?;
            Ok(CgroupState::V2 { path })
        }
        Layout::V1 {
            hierarchies,
            unified,
        } => {
            // runc treats a missing devices controller as fatal: without it the
            // container could open every device node of the host.
            if !hierarchies
                .iter()
                .any(|h| h.controllers.iter().any(|c| c == "devices"))
            {
                return Err(CgroupError::Unsupported(
                    "the devices cgroup controller is not mounted; refusing to create a container \
                     without device restrictions"
                        .into(),
                ));
            }
            let mut paths = BTreeMap::new();
            for h in hierarchies {
                let own_path = own
                    .iter()
                    .find(|l| l.controllers.iter().any(|c| h.controllers.contains(c)));
                let dir = resolve(h, inner, own_path.map(|l| l.path.as_str()), false)?;
                for c in &h.controllers {
                    paths.insert(c.clone(), dir.clone());
                }
            }
            if let Some(u) = unified {
                let own_path = own
                    .iter()
                    .find(|l| l.hierarchy_id == 0 && l.controllers.is_empty());
                let dir = resolve(u, inner, own_path.map(|l| l.path.as_str()), false)?;
                paths.insert(UNIFIED_KEY.to_string(), dir);
            }
            Ok(CgroupState::V1 { paths })
        }
    }
}

/// The container's directory in one hierarchy.
fn resolve(
    h: &Hierarchy,
    inner: &InnerPath,
    own: Option<&str>,
    own_parent: bool,
) -> Result<PathBuf, CgroupError> {
    let name = if h.controllers.is_empty() {
        "cgroup2".to_string()
    } else {
        h.controllers.join(",")
    };
    let mut dir = h.mount_point.clone();
    let parts = match inner {
        InnerPath::Absolute(parts) => parts,
        InnerPath::Relative(parts) => {
            let own = own.ok_or_else(|| {
                CgroupError::Unsupported(format!(
                    "/proc/self/cgroup has no line for the {name} hierarchy"
                ))
            })?;
            let outside = || {
                CgroupError::Unsupported(format!(
                    "the runtime's own {name} cgroup {own:?} is not visible below the mount at {} (root {:?}); \
                     use an absolute linux.cgroupsPath",
                    h.mount_point.display(),
                    h.root
                ))
            };
            // With a cgroup namespace the kernel shows cgroups outside it as "/..".
            let own_parts = normalize_absolute(own).ok_or_else(outside)?;
            let root_parts = normalize_absolute(&h.root).ok_or_else(outside)?;
            let mut rest = own_parts
                .strip_prefix(root_parts.as_slice())
                .ok_or_else(outside)?
                .to_vec();
            if own_parent {
                rest.pop();
            }
            dir.extend(rest);
            parts
        }
    };
    dir.extend(parts);
    Ok(dir)
}

/// Components of an absolute path, or None if it is not absolute or climbs above `/`.
fn normalize_absolute(p: &str) -> Option<Vec<String>> {
    if !p.starts_with('/') {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c.to_string()),
        }
    }
    Some(parts)
}

/// Whether a path from a state file is absolute and free of `.`/`..`, so that
/// removing it cannot reach outside what was planned.
pub(crate) fn is_clean_absolute(p: &Path) -> bool {
    use std::path::Component;
    // components() already drops inner "." components, which are harmless.
    p.is_absolute()
        && p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && p.components().count() > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    // This host's layout: v1 controllers, name=systemd, cgroup2 at /sys/fs/cgroup/unified.
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";
    const PURE_V2: &str = "\
22 1 0:21 / /sys rw - sysfs sysfs rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    const OWN_HYBRID: &str = "\
9:name=systemd:/user.slice/session-1.scope
4:memory:/process_api/b442
3:cpuset:/
2:cpu,cpuacct:/
5:devices:/
0::/user.slice/session-1.scope
";

    fn abs(p: &str) -> InnerPath {
        parse_cgroups_path(Some(p), "ctr").unwrap()
    }

    #[test]
    fn absolute_paths_are_normalized() {
        assert_eq!(
            abs("/a/b"),
            InnerPath::Absolute(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            abs("//a/./b/"),
            InnerPath::Absolute(vec!["a".into(), "b".into()])
        );
        assert_eq!(abs("/a/../b"), InnerPath::Absolute(vec!["b".into()]));
        assert_eq!(
            abs("a/b"),
            InnerPath::Relative(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn default_is_id_below_own_cgroup() {
        assert_eq!(
            parse_cgroups_path(None, "ctr").unwrap(),
            InnerPath::Relative(vec!["ctr".into()])
        );
        assert_eq!(
            parse_cgroups_path(Some(""), "ctr").unwrap(),
            InnerPath::Relative(vec!["ctr".into()])
        );
        assert!(matches!(
            parse_cgroups_path(None, "a/b"),
            Err(CgroupError::InvalidPath(..))
        ));
        assert!(matches!(
            parse_cgroups_path(None, ".."),
            Err(CgroupError::InvalidPath(..))
        ));
    }

    #[test]
    fn dotdot_escaping_is_rejected() {
        for p in [
            "/..",
            "/a/../..",
            "/../etc",
            "..",
            "a/../../b",
            "/",
            "/a/..",
            ".",
            "./",
        ] {
            let err = parse_cgroups_path(Some(p), "ctr").unwrap_err();
            assert!(matches!(err, CgroupError::InvalidPath(..)), "{p}: {err}");
        }
    }

    #[test]
    fn slice_prefix_name_is_a_relative_cgroupfs_path() {
        // Without --systemd-cgroup runc 1.1 takes "slice:prefix:name" as a
        // plain relative path (one directory with colons in its name), and
        // the spec allows any relative path. containerd's CRI plugin sends
        // this form whenever the pod's cgroup parent ends in ".slice", even
        // with the cgroupfs driver (critest does that: issue 14).
        assert_eq!(
            parse_cgroups_path(Some("test.slice:cri-containerd:abc"), "abc").unwrap(),
            InnerPath::Relative(vec!["test.slice:cri-containerd:abc".into()])
        );
        assert_eq!(
            parse_cgroups_path(Some("/a:b:c/d"), "x").unwrap(),
            InnerPath::Absolute(vec!["a:b:c".into(), "d".into()])
        );
    }

    #[test]
    fn mountinfo_parsing() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 7);
        assert_eq!(m[1].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m[1].super_options, "rw,cpu,cpuacct");
        let esc = parse_mountinfo("1 2 0:1 / /mnt/a\\040b rw - cgroup cgroup rw,memory\n");
        assert_eq!(esc[0].mount_point, Path::new("/mnt/a b"));
        // Optional fields before the separator.
        let opt = parse_mountinfo(PURE_V2);
        assert_eq!(opt[1].fs_type, "cgroup2");
    }

    #[test]
    fn layout_detection() {
        let hybrid = detect_layout(&parse_mountinfo(HYBRID)).unwrap();
        let Layout::V1 {
            hierarchies,
            unified,
        } = hybrid
        else {
            panic!("expected v1")
        };
        assert_eq!(hierarchies.len(), 5);
        assert_eq!(hierarchies[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(hierarchies[4].controllers, vec!["name=systemd"]);
        assert_eq!(
            unified.unwrap().mount_point,
            Path::new("/sys/fs/cgroup/unified")
        );
        let v2 = detect_layout(&parse_mountinfo(PURE_V2)).unwrap();
        assert!(matches!(v2, Layout::V2(ref h) if h.mount_point == Path::new("/sys/fs/cgroup")));
        assert!(detect_layout(&[]).is_err());
    }

    fn v1_paths(state: CgroupState) -> BTreeMap<String, PathBuf> {
        match state {
            CgroupState::V1 { paths } => paths,
            other => panic!("expected v1, got {other:?}"),
        }
    }

    #[test]
    fn plan_absolute_v1() {
        let layout = detect_layout(&parse_mountinfo(HYBRID)).unwrap();
        let paths = v1_paths(plan(&layout, &abs("/husk/ctr"), &[]).unwrap());
        assert_eq!(
            paths["cpu"],
            Path::new("/sys/fs/cgroup/cpu,cpuacct/husk/ctr")
        );
        assert_eq!(paths["cpuacct"], paths["cpu"]);
        assert_eq!(paths["memory"], Path::new("/sys/fs/cgroup/memory/husk/ctr"));
        assert_eq!(
            paths["name=systemd"],
            Path::new("/sys/fs/cgroup/systemd/husk/ctr")
        );
        assert_eq!(
            paths[UNIFIED_KEY],
            Path::new("/sys/fs/cgroup/unified/husk/ctr")
        );
    }

    #[test]
    fn plan_relative_v1_follows_own_cgroup() {
        let layout = detect_layout(&parse_mountinfo(HYBRID)).unwrap();
        let own = parse_proc_cgroup(OWN_HYBRID);
        let inner = parse_cgroups_path(None, "ctr").unwrap();
        let paths = v1_paths(plan(&layout, &inner, &own).unwrap());
        assert_eq!(
            paths["memory"],
            Path::new("/sys/fs/cgroup/memory/process_api/b442/ctr")
        );
        assert_eq!(paths["cpu"], Path::new("/sys/fs/cgroup/cpu,cpuacct/ctr"));
        assert_eq!(
            paths["name=systemd"],
            Path::new("/sys/fs/cgroup/systemd/user.slice/session-1.scope/ctr")
        );
        assert_eq!(
            paths[UNIFIED_KEY],
            Path::new("/sys/fs/cgroup/unified/user.slice/session-1.scope/ctr")
        );
    }

    #[test]
    fn plan_relative_respects_mount_root() {
        // Inside a container without a cgroup namespace: the mount shows /docker/x as its root.
        let mounts = "1 0 0:1 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                      2 0 0:2 /docker/x /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n";
        let layout = detect_layout(&parse_mountinfo(mounts)).unwrap();
        let own = parse_proc_cgroup("4:memory:/docker/x/sub\n5:devices:/docker/x\n");
        let paths = v1_paths(plan(&layout, &abs("a/b"), &own).unwrap());
        assert_eq!(paths["memory"], Path::new("/sys/fs/cgroup/memory/sub/a/b"));
        assert_eq!(paths["devices"], Path::new("/sys/fs/cgroup/devices/a/b"));
        // A cgroup outside the mount root (or outside the cgroup namespace) cannot be resolved.
        let own = parse_proc_cgroup("4:memory:/other\n5:devices:/..\n");
        assert!(plan(&layout, &abs("a"), &own).is_err());
    }

    #[test]
    fn plan_v2_uses_parent_of_own_cgroup_for_relative_paths() {
        let layout = detect_layout(&parse_mountinfo(PURE_V2)).unwrap();
        let own = parse_proc_cgroup("0::/user.slice/session-1.scope\n");
        let state = plan(&layout, &parse_cgroups_path(None, "ctr").unwrap(), &own).unwrap();
        assert_eq!(
            state,
            CgroupState::V2 {
                path: "/sys/fs/cgroup/user.slice/ctr".into()
            }
        );
        let state = plan(&layout, &abs("/machine/ctr"), &[]).unwrap();
        assert_eq!(
            state,
            CgroupState::V2 {
                path: "/sys/fs/cgroup/machine/ctr".into()
            }
        );
    }

    #[test]
    fn v1_without_devices_is_refused() {
        let mounts = "1 0 0:1 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let layout = detect_layout(&parse_mountinfo(mounts)).unwrap();
        let err = plan(&layout, &abs("/x"), &[]).unwrap_err();
        assert!(err.to_string().contains("devices"), "{err}");
    }

    #[test]
    fn clean_absolute() {
        assert!(is_clean_absolute(Path::new("/sys/fs/cgroup/memory/x")));
        assert!(!is_clean_absolute(Path::new("/sys/fs/cgroup/../x")));
        assert!(!is_clean_absolute(Path::new("relative")));
        assert!(!is_clean_absolute(Path::new("/")));
    }
}
