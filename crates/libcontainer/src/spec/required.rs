//! REQUIRED members checked on the raw JSON.
//!
//! The typed parser gives many members a default when they are absent (a
//! missing `uid` reads as 0, a missing device rule `allow` as false), so a
//! config that leaves out a REQUIRED value would be run with a value nobody
//! wrote. config.md "Valid values" makes such a config invalid; this module
//! finds every REQUIRED member that is absent, looking at the JSON text
//! itself, and reports it at its JSON path (`process.user.uid: is required`).
//!
//! Only objects that are present are looked at: an absent `process.user`
//! is the typed parser's business (it reports it, or the member is OPTIONAL).

use serde_json::Value;

use super::validate::Problem;

/// Where an object (or each element of an array of objects) lives, and the
/// members it must have.
struct Rule {
    /// Dotted path; a `[]` segment means "every element of this array".
    at: &'static str,
    /// Members that must be present.
    members: &'static [&'static str],
}

/// Every REQUIRED member of an object inside config.json that applies to a
/// Linux runtime (config.md, config-linux.md). Top-level members and
/// `root.path` are included too, for one consistent message.
const RULES: &[Rule] = &[
    // config.md
    Rule {
        at: "root",
        members: &["path"],
    },
    Rule {
        at: "mounts[]",
        members: &["destination"],
    },
    Rule {
        at: "process",
        members: &["cwd"],
    },
    Rule {
        at: "process.rlimits[]",
        members: &["type", "soft", "hard"],
    },
    Rule {
        at: "process.scheduler",
        members: &["policy"],
    },
    Rule {
        at: "process.ioPriority",
        members: &["class", "priority"],
    },
    Rule {
        at: "process.user",
        members: &["uid", "gid"],
    },
    Rule {
        at: "hooks.prestart[]",
        members: &["path"],
    },
    Rule {
        at: "hooks.createRuntime[]",
        members: &["path"],
    },
    Rule {
        at: "hooks.createContainer[]",
        members: &["path"],
    },
    Rule {
        at: "hooks.startContainer[]",
        members: &["path"],
    },
    Rule {
        at: "hooks.poststart[]",
        members: &["path"],
    },
    Rule {
        at: "hooks.poststop[]",
        members: &["path"],
    },
    // config-linux.md
    Rule {
        at: "linux.namespaces[]",
        members: &["type"],
    },
    Rule {
        at: "linux.uidMappings[]",
        members: &["containerID", "hostID", "size"],
    },
    Rule {
        at: "linux.gidMappings[]",
        members: &["containerID", "hostID", "size"],
    },
    Rule {
        at: "linux.devices[]",
        members: &["type", "path"],
    },
    Rule {
        at: "linux.resources.devices[]",
        members: &["allow"],
    },
    Rule {
        at: "linux.resources.blockIO.weightDevice[]",
        members: &["major", "minor"],
    },
    Rule {
        at: "linux.resources.blockIO.throttleReadBpsDevice[]",
        members: &["major", "minor", "rate"],
    },
    Rule {
        at: "linux.resources.blockIO.throttleWriteBpsDevice[]",
        members: &["major", "minor", "rate"],
    },
    Rule {
        at: "linux.resources.blockIO.throttleReadIOPSDevice[]",
        members: &["major", "minor", "rate"],
    },
    Rule {
        at: "linux.resources.blockIO.throttleWriteIOPSDevice[]",
        members: &["major", "minor", "rate"],
    },
    Rule {
        at: "linux.resources.hugepageLimits[]",
        members: &["pageSize", "limit"],
    },
    Rule {
        at: "linux.resources.network.priorities[]",
        members: &["name", "priority"],
    },
    Rule {
        at: "linux.memoryPolicy",
        members: &["mode"],
    },
    Rule {
        at: "linux.seccomp",
        members: &["defaultAction"],
    },
    Rule {
        at: "linux.seccomp.syscalls[]",
        members: &["names", "action"],
    },
    Rule {
        at: "linux.seccomp.syscalls[].args[]",
        members: &["index", "value", "op"],
    },
    Rule {
        at: "linux.personality",
        members: &["domain"],
    },
];

/// Every REQUIRED member missing from `config`, at its JSON path.
pub fn missing(config: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for rule in RULES {
        let segments: Vec<&str> = rule.at.split('.').collect();
        visit(config, &segments, String::new(), &mut |path, obj| {
            for member in rule.members {
                if obj.get(*member).is_none() {
                    out.push(Problem::new(format!("{path}.{member}"), "is required"));
                }
            }
        });
    }
    // config.md "Process" (lines 244-247): consoleSize is ignored unless
    // `terminal` is true, so only then are its members required.
    let terminal = config
        .pointer("/process/terminal")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if terminal {
        visit(
            config,
            &["process", "consoleSize"],
            String::new(),
            &mut |path, obj| {
                for member in ["height", "width"] {
                    if obj.get(member).is_none() {
                        out.push(Problem::new(format!("{path}.{member}"), "is required"));
                    }
                }
            },
        );
    }
    // config-linux.md "Devices" (line 137): major and minor, unless the type is p.
    visit(
        config,
        &["linux", "devices[]"],
        String::new(),
        &mut |path, obj| {
            if obj.get("type").and_then(Value::as_str) == Some("p") {
                return;
            }
            for member in ["major", "minor"] {
                if obj.get(member).is_none() {
                    out.push(Problem::new(
                        format!("{path}.{member}"),
                        "is required unless the type is \"p\"",
                    ));
                }
            }
        },
    );
    out
}

/// Call `f` with the path and value of every object found at `segments`.
/// Anything that is not an object (or array, for `[]`) where one is expected
/// is skipped: the typed parser reports wrong types.
fn visit(
    value: &Value,
    segments: &[&str],
    path: String,
    f: &mut dyn FnMut(&str, &serde_json::Map<String, Value>),
) {
    let Some((first, rest)) = segments.split_first() else {
        if let Value::Object(obj) = value {
            f(&path, obj);
        }
        return;
    };
    let (key, each) = match first.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (*first, false),
    };
    let Some(child) = value.as_object().and_then(|o| o.get(key)) else {
        return;
    };
    let child_path = if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    };
    if each {
        if let Value::Array(items) = child {
            for (i, item) in items.iter().enumerate() {
                visit(item, rest, format!("{child_path}[{i}]"), f);
            }
        }
    } else {
        visit(child, rest, child_path, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Value) -> Vec<String> {
        missing(&v).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn complete_config_has_nothing_missing() {
        let v = json!({
            "root": {"path": "rootfs"},
            "process": {"cwd": "/", "user": {"uid": 0, "gid": 0},
                        "rlimits": [{"type": "RLIMIT_CORE", "soft": 1, "hard": 2}]},
            "linux": {"devices": [{"type": "p", "path": "/dev/fifo"},
                                  {"type": "c", "path": "/dev/x", "major": 1, "minor": 3}],
                      "resources": {"devices": [{"allow": false}]}}
        });
        assert!(paths(v).is_empty());
    }

    #[test]
    fn missing_members_are_named_with_their_index() {
        let v = json!({
            "process": {"cwd": "/", "user": {"gid": 0},
                        "rlimits": [{"type": "RLIMIT_CORE", "soft": 1, "hard": 2},
                                    {"type": "RLIMIT_NOFILE", "hard": 2}],
                        "ioPriority": {"priority": 1}},
            "linux": {"devices": [{"type": "c", "path": "/dev/x", "minor": 3}],
                      "uidMappings": [{"hostID": 1, "size": 1}],
                      "resources": {"devices": [{"allow": true}, {"access": "rwm"}],
                                    "hugepageLimits": [{"pageSize": "2MB"}]},
                      "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO",
                                                "args": [{"index": 0, "op": "SCMP_CMP_EQ"}]}]}},
            "annotations": {}
        });
        let got = paths(v);
        for want in [
            "root",
            "process.user.uid",
            "process.rlimits[1].soft",
            "process.ioPriority.class",
            "linux.uidMappings[0].containerID",
            "linux.resources.devices[1].allow",
            "linux.resources.hugepageLimits[0].limit",
            "linux.seccomp.syscalls[0].args[0].value",
            "linux.devices[0].major",
        ] {
            if want == "root" {
                assert!(!got.iter().any(|g| g.starts_with("root")), "{got:?}");
                continue;
            }
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
        assert!(
            !got.iter().any(|g| g == "linux.devices[0].minor"),
            "{got:?}"
        );
        assert_eq!(got.len(), 8, "{got:?}");
    }

    #[test]
    fn console_size_members_only_matter_with_a_terminal() {
        let mut v = json!({"process": {"cwd": "/", "consoleSize": {"height": 10}}});
        assert!(paths(v.clone()).is_empty());
        v["process"]["terminal"] = json!(true);
        assert_eq!(paths(v), vec!["process.consoleSize.width"]);
    }

    #[test]
    fn wrong_shapes_are_left_to_the_typed_parser() {
        let v = json!({"process": {"cwd": "/", "user": 5, "rlimits": "x"}, "linux": []});
        assert!(paths(v).is_empty());
    }
}
