//! What this runtime supports, as runtime-spec features.md describes it
//! (`husk features`, runc's `features` command).
//!
//! Every list names only what husk really honours: mount options that
//! `rootfs::options::parse` acts on (asked at run time, so the list follows
//! that module), the seccomp architectures a filter can hold on this host, the
//! filter flags this kernel takes, and `false` for what husk refuses
//! (AppArmor and SELinux labels, the systemd user-instance driver,
//! Intel RDT, net devices); checkpointing is reported enabled only where
//! CRIU works.

use std::collections::HashMap;
use std::str::FromStr;

use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext};
use oci_spec::runtime::{
    Apparmor, Arch, Cgroup, Features, IDMap, IntelRdt, LinuxFeature, LinuxNamespaceType,
    LinuxSeccompAction, MountExtensions, NetDevices, Seccomp, Selinux,
};

use crate::hooks::HookKind;
use crate::rootfs::options;
use crate::security::seccomp;
use crate::spec::OCI_VERSION;

/// runc's annotation saying whether `checkpoint`/`restore` work: `true`
/// only when CRIU is installed and its check of this kernel passes.
pub const ANNOTATION_CHECKPOINT_ENABLED: &str = "org.opencontainers.runc.checkpoint.enabled";
/// The libseccomp version linked in (runc's annotation).
pub const ANNOTATION_LIBSECCOMP_VERSION: &str = "io.github.seccomp.libseccomp.version";

/// Every mount option name runc knows, plus `tmpcopyup`; `features` lists
/// those `rootfs::options` acts on (anything else in a mount's `options` is
/// passed to the filesystem as data, or refused).
const MOUNT_OPTION_NAMES: &[&str] = &[
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// The mount options husk turns into mount flags, propagation or its own actions.
pub fn mount_options() -> Vec<String> {
    MOUNT_OPTION_NAMES
        .iter()
        .filter(|o| options::parse(&[o.to_string()]).is_ok_and(|p| p.data.is_empty()))
        .map(|o| o.to_string())
        .collect()
}

const HOOKS: &[HookKind] = &[
    HookKind::Prestart,
    HookKind::CreateRuntime,
    HookKind::CreateContainer,
    HookKind::StartContainer,
    HookKind::Poststart,
    HookKind::Poststop,
];

const NAMESPACES: &[LinuxNamespaceType] = &[
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::User,
    LinuxNamespaceType::Uts,
];

const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// Architecture names husk maps (the native one is implied, as in runc's list).
const ARCHS: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

/// seccomp filter flags husk knows, with the kernel flag bits to probe.
/// WAIT_KILLABLE_RECV is only accepted together with NEW_LISTENER.
const FILTER_FLAGS: &[(&str, libc::c_ulong)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", libc::SECCOMP_FILTER_FLAG_TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", libc::SECCOMP_FILTER_FLAG_LOG),
    (
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    ),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
    ),
];

/// The features document of this husk binary on this host.
pub fn features() -> Features {
    let mut f = Features::default();
    f.set_oci_version_min("1.0.0".into())
        .set_oci_version_max(OCI_VERSION.into())
        .set_hooks(Some(HOOKS.iter().map(|h| h.name().to_string()).collect()))
        .set_mount_options(Some(mount_options()))
        .set_linux(Some(linux()))
        .set_annotations(Some(HashMap::from([
            (
                ANNOTATION_CHECKPOINT_ENABLED.to_string(),
                crate::checkpoint::criu_check().is_ok().to_string(),
            ),
            (
                ANNOTATION_LIBSECCOMP_VERSION.to_string(),
                seccomp::library_version(),
            ),
        ])));
    f
}

fn linux() -> LinuxFeature {
    let mut caps: Vec<caps::Capability> = caps::all().into_iter().collect();
    caps.sort_by_key(|c| c.index());

    let mut cgroup = Cgroup::default();
    cgroup
        .set_v1(Some(true))
        .set_v2(Some(true))
        .set_systemd(Some(true))
        .set_systemd_user(Some(false))
        .set_rdma(Some(true));

    let mut apparmor = Apparmor::default();
    apparmor.set_enabled(Some(false));
    let mut selinux = Selinux::default();
    selinux.set_enabled(Some(false));
    let mut rdt = IntelRdt::default();
    rdt.set_enabled(Some(false));
    let mut idmap = IDMap::default();
    idmap.set_enabled(Some(true));
    let mut mounts = MountExtensions::default();
    mounts.set_idmap(Some(idmap));
    let mut net = NetDevices::default();
    net.set_enabled(Some(true));

    let mut l = LinuxFeature::default();
    l.set_namespaces(Some(NAMESPACES.to_vec()))
        .set_capabilities(Some(caps.iter().map(|c| c.to_string()).collect()))
        .set_cgroup(Some(cgroup))
        .set_seccomp(Some(seccomp_features()))
        .set_apparmor(Some(apparmor))
        .set_selinux(Some(selinux))
        .set_intel_rdt(Some(rdt))
        .set_mount_extensions(Some(mounts))
        .set_net_devices(Some(net));
    l
}

fn seccomp_features() -> Seccomp {
    use LinuxSeccompAction::*;
    let mut actions = vec![
        ScmpActAllow,
        ScmpActErrno,
        ScmpActKill,
        ScmpActKillProcess,
        ScmpActKillThread,
        ScmpActLog,
        ScmpActTrace,
        ScmpActTrap,
    ];
    // husk refuses SCMP_ACT_NOTIFY when libseccomp/the kernel cannot do it.
    if libseccomp::get_api() >= seccomp::NOTIFY_MIN_API {
        actions.push(ScmpActNotify);
    }
    let mut s = Seccomp::default();
    s.set_enabled(Some(true))
        .set_actions(Some(actions))
        .set_operators(Some(OPERATORS.iter().map(|o| o.to_string()).collect()))
        .set_archs(Some(supported_archs()))
        .set_known_flags(Some(
            FILTER_FLAGS.iter().map(|(n, _)| n.to_string()).collect(),
        ))
        .set_supported_flags(Some(
            FILTER_FLAGS
                .iter()
                .filter(|(_, bits)| seccomp::kernel_accepts_flags(*bits))
                .map(|(n, _)| n.to_string())
                .collect(),
        ));
    s
}

/// The architectures a filter can hold on this host: libseccomp knows them
/// and their byte order is the native one (husk refuses the others at
/// `create`, see `seccomp::compile`).
fn supported_archs() -> Vec<Arch> {
    let accepted = |name: &str| {
        let Ok(arch) = ScmpArch::from_str(name) else {
            return false;
        };
        ScmpFilterContext::new(ScmpAction::Allow).is_ok_and(|mut ctx| ctx.add_arch(arch).is_ok())
    };
    ARCHS
        .iter()
        .filter(|name| accepted(name))
        .filter_map(|name| serde_json::from_value(serde_json::Value::from(*name)).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options every container config uses are listed; data options are not.
    #[test]
    fn mount_options_are_the_ones_husk_acts_on() {
        let list = mount_options();
        for o in [
            "ro",
            "rw",
            "nosuid",
            "nodev",
            "noexec",
            "bind",
            "rbind",
            "rprivate",
            "tmpcopyup",
        ] {
            assert!(list.iter().any(|x| x == o), "{o} missing from {list:?}");
        }
        for o in ["acl", "noacl"] {
            assert!(!list.iter().any(|x| x == o), "{o} is filesystem data");
        }
    }

    #[test]
    fn document_shape() {
        let v = serde_json::to_value(features()).unwrap();
        assert_eq!(v["ociVersionMax"], OCI_VERSION);
        assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
        let ns = v["linux"]["namespaces"].as_array().unwrap();
        assert!(
            ns.contains(&"network".into()) && ns.contains(&"time".into()),
            "{ns:?}"
        );
        let caps = v["linux"]["capabilities"].as_array().unwrap();
        assert_eq!(caps[0], "CAP_CHOWN");
        assert!(caps.contains(&"CAP_SYS_ADMIN".into()));
        let sc = &v["linux"]["seccomp"];
        assert!(sc["actions"]
            .as_array()
            .unwrap()
            .contains(&"SCMP_ACT_ERRNO".into()));
        assert!(!sc["archs"].as_array().unwrap().is_empty(), "{sc}");
        assert_eq!(v["linux"]["cgroup"]["systemd"], true);
        assert_eq!(v["linux"]["cgroup"]["systemdUser"], false);
        assert_eq!(v["linux"]["mountExtensions"]["idmap"]["enabled"], true);
        let criu = crate::checkpoint::criu_check().is_ok().to_string();
        assert_eq!(
            v["annotations"][ANNOTATION_CHECKPOINT_ENABLED],
            criu.as_str()
        );
    }
}
