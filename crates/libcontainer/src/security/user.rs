//! Switching to the configured user: groups, gid, uid, umask.

use nix::unistd::{Gid, Uid};
use oci_spec::runtime::User;

use super::SecurityError;

/// Set additional groups, gid and uid (in that order: after setuid we could no longer
/// change groups). `setgroups_allowed` is false in a user namespace whose
/// setgroups file says deny.
pub fn switch(user: &User, setgroups_allowed: bool) -> Result<(), SecurityError> {
    let gids: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    if setgroups_allowed {
        nix::unistd::setgroups(&gids)
            .map_err(|e| SecurityError::User(format!("setgroups {gids:?}: {e}")))?;
    } else if !gids.is_empty() {
        return Err(SecurityError::User(
            "additionalGids cannot be set: setgroups is denied in this user namespace".into(),
        ));
    }
    let gid = Gid::from_raw(user.gid());
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| SecurityError::User(format!("setgid {gid}: {e}")))?;
    let uid = Uid::from_raw(user.uid());
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| SecurityError::User(format!("setuid {uid}: {e}")))?;
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}
