//! AppArmor profiles and SELinux labels. Both take effect at `execve`: the
//! runtime writes the profile or label for the next exec into the process's
//! procfs attribute file, through a descriptor checked to be on procfs
//! (CVE-2025-52881), right before exec. Where the LSM is not enabled, a
//! config that asks for it is refused at `create` (spec/validate.rs).

use std::path::Path;

use super::SecurityError;
use crate::rootfs::verify::write_proc;

/// Whether AppArmor is enabled on this host.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim() == "Y")
}

/// Whether SELinux is enabled on this host.
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// Ask AppArmor to confine the next exec'd program with `profile`.
pub fn apply_apparmor(profile: &str) -> Result<(), SecurityError> {
    // The LSM-specific file first (kernels with stacking), then the shared one.
    let path = if Path::new("/proc/self/attr/apparmor/exec").exists() {
        Path::new("/proc/self/attr/apparmor/exec")
    } else {
        Path::new("/proc/self/attr/exec")
    };
    write_proc(path, &format!("exec {profile}"))
        .map_err(|e| SecurityError::Attribute(format!("process.apparmorProfile {profile:?}: {e}")))
}

/// Ask SELinux to run the next exec'd program with `label`.
pub fn apply_selinux(label: &str) -> Result<(), SecurityError> {
    write_proc(Path::new("/proc/self/attr/exec"), label)
        .map_err(|e| SecurityError::Attribute(format!("process.selinuxLabel {label:?}: {e}")))
}

/// The mount data for a filesystem that takes an SELinux context, with
/// `linux.mountLabel` added (`context="..."`), as runc does for tmpfs-like mounts.
pub fn with_mount_label(fstype: &str, data: &str, label: Option<&str>) -> String {
    let takes_context = matches!(fstype, "tmpfs" | "devpts" | "mqueue" | "shm" | "ramfs");
    match label.filter(|l| !l.is_empty() && takes_context) {
        Some(l) if data.is_empty() => format!("context=\"{l}\""),
        Some(l) => format!("{data},context=\"{l}\""),
        None => data.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_label_goes_only_to_filesystems_that_take_it() {
        let l = Some("system_u:object_r:container_file_t:s0");
        assert_eq!(
            with_mount_label("tmpfs", "size=1m", l),
            "size=1m,context=\"system_u:object_r:container_file_t:s0\""
        );
        assert_eq!(with_mount_label("proc", "", l), "");
        assert_eq!(with_mount_label("tmpfs", "mode=755", None), "mode=755");
    }
}
