//! `linux.resources.devices` as device-cgroup rules.
//!
//! Validates the config's rules and renders them in the kernel's v1 text form
//! (`c 1:3 rwm`), and replays them as the v1 controller would ([`emulate`])
//! for the v2 eBPF program (`bpf.rs`).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::CgroupError;

/// One validated rule. `None` for major/minor means any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub allow: bool,
    /// `a` (every device), `b` or `c`.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// A non-empty subset of `rwm`.
    pub access: String,
}

impl DeviceRule {
    /// The rule every list starts from: nothing is allowed.
    pub(crate) fn deny_all() -> Self {
        DeviceRule {
            allow: false,
            kind: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        }
    }

    /// Whether this rule names every device. The kernel treats any `a` rule
    /// that way, whatever its numbers and access say.
    pub(crate) fn is_wildcard(&self) -> bool {
        self.kind == 'a'
    }

    /// The v1 file this rule is written to.
    pub(crate) fn v1_file(&self) -> &'static str {
        if self.allow {
            "devices.allow"
        } else {
            "devices.deny"
        }
    }

    /// The v1 text form: `a` for a wildcard (which resets the cgroup to
    /// allow-all or deny-all), else `c 1:3 rwm` with `*` for any number.
    pub(crate) fn v1_string(&self) -> String {
        if self.is_wildcard() {
            return "a".into();
        }
        let num = |n: Option<i64>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

/// Validate the config's rules; errors name `linux.resources.devices[i]`.
pub(crate) fn rules_from_spec(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>, CgroupError> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule_from_spec(i, r))
        .collect()
}

fn rule_from_spec(i: usize, r: &LinuxDeviceCgroup) -> Result<DeviceRule, CgroupError> {
    let field = |f: &str| format!("linux.resources.devices[{i}].{f}");
    let kind = match r.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C => 'c',
        // runc accepts only a, b and c in cgroup rules: "u" and "p" are device
        // node types (linux.devices), and FIFOs are not device-cgroup objects.
        other => {
            return Err(CgroupError::InvalidValue {
                field: field("type"),
                reason: format!(
                    "{:?} is not a device cgroup type (use \"a\", \"b\" or \"c\")",
                    other.as_str()
                ),
            })
        }
    };
    // -1 is how runc spells "any"; anything more negative is a mistake.
    let number = |name: &str, n: Option<i64>| match n {
        None | Some(-1) => Ok(None),
        Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok(Some(n)),
        Some(n) => Err(CgroupError::InvalidValue {
            field: field(name),
            reason: format!("{n} is not a device number"),
        }),
    };
    let major = number("major", r.major())?;
    let minor = number("minor", r.minor())?;
    let access = r.access().clone().unwrap_or_default();
    if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(CgroupError::InvalidValue {
            field: field("access"),
            reason: format!("{access:?} must be a non-empty combination of r, w and m"),
        });
    }
    let rule = DeviceRule {
        allow: r.allow(),
        kind,
        major,
        minor,
        access,
    };
    if rule.is_wildcard() && (major.is_some() || minor.is_some() || rule.access.len() < 3) {
        tracing::warn!(
            "linux.resources.devices[{i}]: a rule of type \"a\" applies to every device with rwm access; \
             its major/minor/access are ignored by the kernel"
        );
    }
    Ok(rule)
}

/// The rules to write to a v1 devices cgroup, in order. As in runc, the
/// requested state is built on deny-all, so a list not starting with a
/// deny-all rule gets one; a later `allow a` turns it into a deny-list.
pub(crate) fn v1_sequence(rules: &[DeviceRule]) -> Vec<DeviceRule> {
    let mut seq = Vec::with_capacity(rules.len() + 1);
    if !rules.first().is_some_and(|r| r.is_wildcard() && !r.allow) {
        seq.push(DeviceRule::deny_all());
    }
    seq.extend(rules.iter().cloned());
    seq
}

/// What a v1 devices cgroup holds after a list of rules: a default verdict
/// and the exceptions to it (each with the opposite verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Emulated {
    /// Allow-by-default ("blacklist") or deny-by-default ("whitelist").
    pub default_allow: bool,
    /// Distinct (type, major, minor) exceptions; `kind` is `b` or `c`.
    pub exceptions: Vec<DeviceRule>,
}

/// The access letters of `a` that are not in `b` (or, with `union`, of either), in `rwm` order.
fn access_set(a: &str, b: &str, union: bool) -> String {
    "rwm"
        .chars()
        .filter(|c| {
            if union {
                a.contains(*c) || b.contains(*c)
            } else {
                a.contains(*c) && !b.contains(*c)
            }
        })
        .collect()
}

/// Replay `rules` as the kernel's v1 devices controller does, starting from
/// deny-all (as [`v1_sequence`] does): a type `a` rule resets the default and
/// drops every exception; a rule agreeing with the default removes its access
/// from the exception with exactly its type and numbers; any other rule adds
/// an exception (merging access into one with the same type and numbers).
pub(crate) fn emulate(rules: &[DeviceRule]) -> Emulated {
    let mut state = Emulated {
        default_allow: false,
        exceptions: Vec::new(),
    };
    for rule in rules {
        if rule.is_wildcard() {
            state.default_allow = rule.allow;
            state.exceptions.clear();
            continue;
        }
        let same = state
            .exceptions
            .iter()
            .position(|e| e.kind == rule.kind && e.major == rule.major && e.minor == rule.minor);
        if rule.allow == state.default_allow {
            if let Some(i) = same {
                let left = access_set(&state.exceptions[i].access, &rule.access, false);
                if left.is_empty() {
                    state.exceptions.remove(i);
                } else {
                    state.exceptions[i].access = left;
                }
            }
        } else if let Some(i) = same {
            state.exceptions[i].access =
                access_set(&state.exceptions[i].access, &rule.access, true);
        } else {
            let mut ex = rule.clone();
            ex.access = access_set(&rule.access, "", true);
            state.exceptions.push(ex);
        }
    }
    state
}

impl Emulated {
    /// Whether an access (letters of `rwm`) to device `kind major:minor` is
    /// allowed, by the kernel's v1 rules: deny-by-default needs one exception
    /// granting every requested letter; allow-by-default denies when any
    /// exception names any requested letter.
    #[cfg(test)]
    pub(crate) fn allows(&self, kind: char, major: i64, minor: i64, access: &str) -> bool {
        let matching = self.exceptions.iter().filter(|e| {
            e.kind == kind
                && e.major.is_none_or(|m| m == major)
                && e.minor.is_none_or(|m| m == minor)
        });
        let mut matching = matching;
        if self.default_allow {
            !matching.any(|e| access.chars().any(|c| e.access.contains(c)))
        } else {
            matching.any(|e| access.chars().all(|c| e.access.contains(c)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn rule(
        allow: bool,
        typ: Option<LinuxDeviceType>,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    #[test]
    fn formatting() {
        let rules = rules_from_spec(&[
            rule(false, None, None, None, "rwm"),
            rule(true, Some(LinuxDeviceType::C), Some(1), Some(3), "rwm"),
            rule(true, Some(LinuxDeviceType::C), Some(136), None, "rw"),
            rule(true, Some(LinuxDeviceType::B), Some(-1), Some(-1), "m"),
        ])
        .unwrap();
        let text: Vec<(String, &str)> =
            rules.iter().map(|r| (r.v1_string(), r.v1_file())).collect();
        assert_eq!(
            text,
            vec![
                ("a".to_string(), "devices.deny"),
                ("c 1:3 rwm".to_string(), "devices.allow"),
                ("c 136:* rw".to_string(), "devices.allow"),
                ("b *:* m".to_string(), "devices.allow"),
            ]
        );
    }

    #[test]
    fn sequence_starts_from_deny_all() {
        let allow_null =
            rules_from_spec(&[rule(true, Some(LinuxDeviceType::C), Some(1), Some(3), "rw")])
                .unwrap();
        let seq = v1_sequence(&allow_null);
        assert_eq!(seq.len(), 2);
        assert_eq!(
            (seq[0].v1_file(), seq[0].v1_string().as_str()),
            ("devices.deny", "a")
        );
        // Already starting with deny-all: no duplicate.
        let rules = rules_from_spec(&[
            rule(false, None, None, None, "rwm"),
            rule(true, None, None, None, "rwm"),
        ])
        .unwrap();
        let seq = v1_sequence(&rules);
        assert_eq!(seq, rules);
        assert_eq!(
            (seq[1].v1_file(), seq[1].v1_string().as_str()),
            ("devices.allow", "a")
        );
        assert_eq!(v1_sequence(&[]), vec![DeviceRule::deny_all()]);
    }

    #[test]
    fn invalid_rules_name_the_field() {
        let err = rules_from_spec(&[rule(
            true,
            Some(LinuxDeviceType::C),
            Some(1),
            Some(3),
            "rwx",
        )])
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.resources.devices[0].access"),
            "{err}"
        );
        let err = rules_from_spec(&[
            rule(true, Some(LinuxDeviceType::C), Some(1), Some(3), "r"),
            rule(true, Some(LinuxDeviceType::P), None, None, "r"),
        ])
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.resources.devices[1].type"),
            "{err}"
        );
        let err = rules_from_spec(&[rule(true, Some(LinuxDeviceType::C), Some(-2), None, "r")])
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.resources.devices[0].major"),
            "{err}"
        );
        let no_access = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .build()
            .unwrap();
        assert!(rules_from_spec(&[no_access]).is_err());
    }
}
