//! Parsing config.json into the typed spec while collecting every type error,
//! not just the first.
//!
//! serde stops at the first value it cannot read. To list them all, the
//! offending value is cut out of a working copy of the JSON and the parse is
//! repeated; each error is reported at its path in the *original* document
//! (array indices are mapped back across the elements already cut out). The
//! spec that finally parses is incomplete and is only good for finding more
//! problems: it must never be used to create a container.

use std::collections::BTreeMap;

use oci_spec::runtime::Spec;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::validate::Problem;

/// How many values may be cut out before giving up on finding more problems.
const MAX_REPAIRS: usize = 64;

/// What parsing found.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The spec. When `problems` is not empty, it lacks the values listed in
    /// `dropped` (or is `None` if parsing could not go on at all).
    pub spec: Option<Spec>,
    /// Every value that could not be read, with its JSON path.
    pub problems: Vec<Problem>,
    /// JSON paths (in the original document) cut out to go on parsing.
    pub dropped: Vec<String>,
    /// For each array (by original path), the original indices cut out of it.
    removed: BTreeMap<String, Vec<usize>>,
}

impl Parsed {
    /// Map a path written against the repaired document (as a check on
    /// [`Parsed::spec`] reports it) back to the original document.
    pub fn original_path(&self, path: &str) -> String {
        let mut path = path.to_string();
        // Outer arrays first: an inner array's key holds the outer original index.
        let mut arrays: Vec<(&String, &Vec<usize>)> = self.removed.iter().collect();
        arrays.sort_by_key(|(k, _)| k.len());
        for (array, removed) in arrays {
            let Some(rest) = path.strip_prefix(array.as_str()) else {
                continue;
            };
            let Some(rest) = rest.strip_prefix('[') else {
                continue;
            };
            let Some((index, tail)) = rest.split_once(']') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            path = format!("{array}[{}]{tail}", original_index(index, removed));
        }
        path
    }

    /// True if `path` (original document) is, contains or is inside a dropped value.
    pub fn touches_dropped(&self, path: &str) -> bool {
        let within = |inner: &str, outer: &str| {
            inner == outer
                || inner
                    .strip_prefix(outer)
                    .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
        };
        self.dropped
            .iter()
            .any(|d| within(path, d) || within(d, path))
    }
}

/// Parse config.json text, collecting every problem.
pub fn parse_collect(data: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let original: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(e) => {
            out.problems
                .push(Problem::new("config.json", e.to_string()));
            return out;
        }
    };
    if !original.is_object() {
        out.problems.push(Problem::new(
            "config.json",
            "the top level must be a JSON object",
        ));
        return out;
    }
    // Names serde cannot report well (an unknown seccomp action fails inside
    // an enum with a message that names no field) are checked on the raw JSON.
    if let Some(seccomp) = original.get("linux").and_then(|l| l.get("seccomp")) {
        if let Err(e) = crate::security::seccomp::validate_raw(seccomp) {
            out.problems
                .push(Problem::from_text("linux.seccomp", &e.to_string()));
        }
    }
    // REQUIRED members the typed parser would quietly default (a missing
    // `uid` reads as 0): found on the raw JSON, before any default is taken.
    out.problems.extend(super::required::missing(&original));
    let mut work = original;
    // A capability name that is no capability at all (a typo such as
    // CAP_NET_ADMN) is an error naming it (issues 5 and 10): the config's
    // author asked for something that does not exist. A real capability this
    // machine cannot grant is dropped with a warning later (check.rs), as
    // config.md "Linux Process" asks. The names are cut out of the working
    // copy so that the typed parse goes on and finds every other problem.
    out.problems.extend(unknown_capabilities(&mut work));
    for _ in 0..MAX_REPAIRS {
        let err = match serde_path_to_error::deserialize::<_, Spec>(&work) {
            Ok(spec) => {
                out.spec = Some(spec);
                return out;
            }
            Err(e) => e,
        };
        let segments: Vec<Segment> = err.path().iter().cloned().collect();
        let orig = out.original_segments(&segments);
        let orig_path = format_path(&orig);
        let message = err.inner().to_string();
        let problem = match missing_field(&message) {
            // Name the missing field itself: "process.cwd: is required".
            Some(field) => Problem::new(join(&orig_path, field), "is required"),
            None => Problem::new(
                if orig_path.is_empty() {
                    "config.json".to_string()
                } else {
                    orig_path.clone()
                },
                reword(&orig_path, message),
            ),
        };
        // A required value we cut out ourselves shows up again as "missing":
        // it was reported already.
        let already = out.dropped.contains(&problem.path)
            || out.problems.iter().any(|p| p.path == problem.path);
        if !already {
            out.problems.push(problem);
        }
        if segments.is_empty() || !remove_at(&mut work, &segments) {
            return out;
        }
        if let (Some(Segment::Seq { .. }), Some(Segment::Seq { index })) =
            (segments.last(), orig.last())
        {
            let parent = format_path(&orig[..orig.len() - 1]);
            let list = out.removed.entry(parent).or_default();
            list.push(*index);
            list.sort_unstable();
        }
        out.dropped.push(orig_path);
    }
    out
}

impl Parsed {
    /// The segments of a path in the working copy, as they are in the original.
    fn original_segments(&self, segments: &[Segment]) -> Vec<Segment> {
        let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
        for seg in segments {
            let seg = match seg {
                Segment::Seq { index } => {
                    let array = format_path(&out);
                    let removed = self.removed.get(&array).map(Vec::as_slice).unwrap_or(&[]);
                    Segment::Seq {
                        index: original_index(*index, removed),
                    }
                }
                other => other.clone(),
            };
            out.push(seg);
        }
        out
    }
}

/// The original index of the element now at `index`, given the sorted
/// original indices already removed from its array.
fn original_index(index: usize, removed: &[usize]) -> usize {
    let mut orig = index;
    for r in removed {
        if *r <= orig {
            orig += 1;
        }
    }
    orig
}

/// Remove from `process.capabilities.*` every name that neither the typed
/// parser nor the capabilities library knows; one problem per such name.
/// Elements that are not strings are left for the typed parser.
fn unknown_capabilities(config: &mut Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(sets) = config
        .get_mut("process")
        .and_then(|p| p.get_mut("capabilities"))
        .and_then(Value::as_object_mut)
    else {
        return problems;
    };
    for (set, list) in sets.iter_mut() {
        let Value::Array(names) = list else { continue };
        let mut unknown = Vec::new();
        names.retain(|v| {
            let Some(name) = v.as_str() else { return true };
            if capability_is_known(name) {
                true
            } else {
                unknown.push(name.to_string());
                false
            }
        });
        for name in unknown {
            problems.push(Problem::new(
                format!("process.capabilities.{set}"),
                format!("unknown capability {name:?}"),
            ));
        }
    }
    problems
}

/// True if `name` is a capability both the spec types and the capabilities
/// library (which the init uses to set them) can name.
fn capability_is_known(name: &str) -> bool {
    let typed =
        serde_json::from_value::<oci_spec::runtime::Capability>(Value::String(name.to_string()))
            .is_ok();
    let full = if name.starts_with("CAP_") {
        name.to_string()
    } else {
        format!("CAP_{name}")
    };
    typed && full.parse::<caps::Capability>().is_ok()
}

/// `process.args[0]`, `linux.sysctl.net.ipv4.ip_forward`.
fn format_path(segments: &[Segment]) -> String {
    let mut s = String::new();
    for seg in segments {
        match seg {
            Segment::Seq { index } => s.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    s
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// oci-spec's own wording where it says less than it could.
fn reword(path: &str, message: String) -> String {
    // "no variant for CAP_TEST (converted to TEST)"
    if path.starts_with("process.capabilities.") {
        if let Some(rest) = message.strip_prefix("no variant for ") {
            let name = rest.split(" (").next().unwrap_or(rest);
            return format!("unknown capability {name:?}");
        }
    }
    message
}

/// serde's "missing field `cwd`" → `cwd`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
}

/// Cut the value at `segments` out of `root`. False if the path cannot be followed.
fn remove_at(root: &mut Value, segments: &[Segment]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut cur = root;
    for seg in parents {
        cur = match (seg, cur) {
            (Segment::Map { key }, Value::Object(map)) => match map.get_mut(key) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(items)) => match items.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Segment::Map { key }, Value::Object(map)) => map.remove(key).is_some(),
        (Segment::Seq { index }, Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}]}
        })
    }

    fn paths(v: &Value) -> Vec<String> {
        let p = parse_collect(&serde_json::to_vec(v).unwrap());
        p.problems.into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn valid_config_parses() {
        let p = parse_collect(&serde_json::to_vec(&base()).unwrap());
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert!(p.spec.is_some());
    }

    #[test]
    fn every_type_error_is_listed_at_its_original_path() {
        let mut v = base();
        v["linux"]["namespaces"] = json!([
            {"type": "bogus1"}, {"type": "mount"}, {"type": "bogus2"}, {"type": "uts"}
        ]);
        v["process"]["user"]["uid"] = json!(-1);
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]);
        let got = paths(&v);
        for want in [
            "linux.namespaces[0].type",
            "linux.namespaces[2].type",
            "process.user.uid",
            "process.rlimits[0].type",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
    }

    // oci-spec checks this format with `regex`, which husk's build serves
    // through regex-lite (crates/regex-lite-shim): the same answers.
    #[test]
    fn exec_cpu_affinity_format_is_checked() {
        for good in ["0", "0-3", "0-1,3", "1,3-5,7"] {
            let mut v = base();
            v["process"]["execCPUAffinity"] = json!({"initial": good, "final": good});
            assert!(paths(&v).is_empty(), "{good}: {:?}", paths(&v));
        }
        for bad in ["", "a", "1-", "-1", "1,,2", "1 2", "0-1,"] {
            let mut v = base();
            v["process"]["execCPUAffinity"] = json!({"initial": bad});
            assert_eq!(
                paths(&v),
                vec!["process.execCPUAffinity.initial".to_string()],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn missing_required_field_is_named() {
        let mut v = base();
        v["process"].as_object_mut().unwrap().remove("cwd");
        assert_eq!(paths(&v), vec!["process.cwd".to_string()]);
    }

    #[test]
    fn syntax_errors_and_shapes() {
        assert_eq!(
            parse_collect(b"{ \"ociVersion\": ").problems[0].path,
            "config.json"
        );
        assert_eq!(parse_collect(b"[]").problems[0].path, "config.json");
    }

    #[test]
    fn repaired_paths_map_back() {
        let mut v = base();
        v["mounts"] = json!([
            {"destination": 5}, {"destination": "/a"}, {"destination": "/b"}
        ]);
        let p = parse_collect(&serde_json::to_vec(&v).unwrap());
        assert_eq!(p.problems[0].path, "mounts[0].destination");
        assert!(p.spec.is_some());
        assert_eq!(
            p.original_path("mounts[1].destination"),
            "mounts[2].destination"
        );
        assert!(p.touches_dropped("mounts[0]"));
        assert!(p.touches_dropped("mounts"));
        assert!(!p.touches_dropped("mounts[1]"));
    }

    #[test]
    fn unknown_capabilities_are_errors_and_parsing_goes_on() {
        let mut v = base();
        v["process"]["capabilities"] =
            json!({"bounding": ["CAP_KILL", "CAP_TEST"], "effective": ["CAP_KILL"]});
        let p = parse_collect(&serde_json::to_vec(&v).unwrap());
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert_eq!(p.problems[0].path, "process.capabilities.bounding");
        assert!(
            p.problems[0].message.contains("CAP_TEST"),
            "{:?}",
            p.problems
        );
        let spec = p.spec.unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 1);
    }

    #[test]
    fn missing_required_values_are_not_defaulted() {
        let mut v = base();
        v["process"]["user"].as_object_mut().unwrap().remove("uid");
        v["linux"]["resources"] = json!({"devices": [{"access": "rwm"}]});
        let got = paths(&v);
        assert_eq!(
            got,
            vec![
                "process.user.uid".to_string(),
                "linux.resources.devices[0].allow".to_string()
            ]
        );
    }

    #[test]
    fn seccomp_names_are_reported_with_their_field() {
        let mut v = base();
        v["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_BOGUS"});
        let got = paths(&v);
        assert_eq!(got, vec!["linux.seccomp.defaultAction".to_string()]);
    }
}
