//! Capabilities: the five sets exactly as configured, nothing added
//! implicitly (CVE-2022-29162: runc once filled the inheritable set).

use std::collections::HashSet;
use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::LinuxCapabilities;

use super::SecurityError;

/// The five sets, parsed and checked.
#[derive(Debug, Default, Clone)]
pub struct CapabilitySets {
    /// Bounding set.
    pub bounding: CapsHashSet,
    /// Effective set.
    pub effective: CapsHashSet,
    /// Permitted set.
    pub permitted: CapsHashSet,
    /// Inheritable set.
    pub inheritable: CapsHashSet,
    /// Ambient set.
    pub ambient: CapsHashSet,
}

/// Names the running kernel does not know are dropped (with a warning) rather
/// than failing, as runc does; names no kernel knows are errors.
pub fn parse(caps: &LinuxCapabilities) -> Result<CapabilitySets, SecurityError> {
    let supported = caps::runtime::thread_all_supported();
    let conv = |set: &'static str, list: &Option<HashSet<oci_spec::runtime::Capability>>| {
        let mut out = CapsHashSet::new();
        for c in list.iter().flatten() {
            let name = c.to_string();
            let name = if name.starts_with("CAP_") {
                name
            } else {
                format!("CAP_{name}")
            };
            let cap =
                Capability::from_str(&name).map_err(|_| SecurityError::UnknownCapability {
                    set,
                    name: name.clone(),
                })?;
            if supported.contains(&cap) {
                out.insert(cap);
            } else {
                tracing::warn!(
                    "process.capabilities.{set}: {name} is not supported by this kernel; dropped"
                );
            }
        }
        Ok::<_, SecurityError>(out)
    };
    Ok(CapabilitySets {
        bounding: conv("bounding", caps.bounding())?,
        effective: conv("effective", caps.effective())?,
        permitted: conv("permitted", caps.permitted())?,
        inheritable: conv("inheritable", caps.inheritable())?,
        ambient: conv("ambient", caps.ambient())?,
    })
}

/// The `CAP_` name of a capability as the spec types spell it.
pub fn full_name(c: &oci_spec::runtime::Capability) -> String {
    let name = c.to_string();
    if name.starts_with("CAP_") {
        name
    } else {
        format!("CAP_{name}")
    }
}

/// The capabilities library's value for a spec capability, if it has one.
pub fn to_caps(c: &oci_spec::runtime::Capability) -> Option<Capability> {
    Capability::from_str(&full_name(c)).ok()
}

/// What a container started by this process can be given: the running
/// kernel's capabilities that are in this process's bounding set (a child
/// cannot gain one its parent's bounding set lacks). If the bounding set
/// cannot be read, every capability the kernel has.
pub fn grantable() -> CapsHashSet {
    let supported = caps::runtime::thread_all_supported();
    match caps::read(None, CapSet::Bounding) {
        Ok(bounding) => supported.intersection(&bounding).copied().collect(),
        Err(_) => supported,
    }
}

/// Drop from the bounding set everything not in `sets.bounding`. Needs
/// CAP_SETPCAP, so it runs before the user switch.
pub fn apply_bounding(sets: &CapabilitySets) -> Result<(), SecurityError> {
    for cap in caps::runtime::thread_all_supported() {
        if !sets.bounding.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| {
                SecurityError::Capabilities(format!("drop {cap} from bounding set: {e}"))
            })?;
        }
    }
    Ok(())
}

/// Set permitted, inheritable and effective, then raise the ambient ones.
/// Runs after the user switch (with PR_SET_KEEPCAPS set across it).
pub fn apply_sets(sets: &CapabilitySets) -> Result<(), SecurityError> {
    let set = |which: CapSet, value: &CapsHashSet, name: &str| {
        caps::set(None, which, value)
            .map_err(|e| SecurityError::Capabilities(format!("set {name}: {e}")))
    };
    // Permitted first: effective and inheritable must be subsets of it (or of bounding).
    let mut perm_plus_eff = sets.permitted.clone();
    // Effective beyond permitted would fail in capset; the kernel rule is that
    // effective ⊆ permitted, so such a config is an error, as in runc.
    if let Some(extra) = sets.effective.difference(&sets.permitted).next() {
        return Err(SecurityError::Capabilities(format!(
            "{extra} is in effective but not in permitted"
        )));
    }
    perm_plus_eff.extend(sets.effective.iter().copied());
    set(CapSet::Inheritable, &sets.inheritable, "inheritable")?;
    set(CapSet::Effective, &sets.effective, "effective")?;
    set(CapSet::Permitted, &perm_plus_eff, "permitted")?;
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| SecurityError::Capabilities(format!("clear ambient: {e}")))?;
    for cap in &sets.ambient {
        // The kernel only allows ambient caps that are permitted and inheritable;
        // others are skipped as runc does.
        if sets.permitted.contains(cap) && sets.inheritable.contains(cap) {
            caps::raise(None, CapSet::Ambient, *cap)
                .map_err(|e| SecurityError::Capabilities(format!("raise ambient {cap}: {e}")))?;
        } else {
            tracing::warn!("process.capabilities.ambient: {cap} is not both permitted and inheritable; skipped");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_sets_apart() {
        let caps: LinuxCapabilities = serde_json::from_value(serde_json::json!({
            "bounding": ["CAP_KILL", "CAP_CHOWN"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_KILL"]
        }))
        .unwrap();
        let sets = parse(&caps).unwrap();
        assert_eq!(sets.bounding.len(), 2);
        assert!(sets.effective.contains(&Capability::CAP_KILL));
        assert!(
            sets.inheritable.is_empty(),
            "nothing may be added implicitly"
        );
        assert!(sets.ambient.is_empty());
    }
}
