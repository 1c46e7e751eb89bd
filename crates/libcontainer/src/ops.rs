//! runc's operations on an existing container beyond runtime.md's lifecycle:
//! `pause`, `resume`, `ps`, `update` and `events` (a second `impl Runtime`).
//!
//! Like the lifecycle, each one opens the container under its lock. The ones
//! that change something (`pause`, `resume`, `update`) hold it until they are
//! done; `events` lets go as soon as it knows where the cgroup is, so a
//! stream never blocks `delete`. Everything goes through the container's
//! cgroup [`Manager`](crate::cgroups::Manager); `update` also records the new
//! resources in state.json so a later `update` starts from them.

use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;
use serde::Serialize;
use serde_json::Value;

use crate::cgroups::stats::{self, OomWatch, Stats};
use crate::container::{wrong_status, Runtime, Status};
use crate::error::{Error, OpsError, ProcessError, Result};
use crate::state::{ContainerState, Operation};

/// What an `events` line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// Resource usage (`data` holds it).
    Stats,
    /// The memory cgroup ran out of memory.
    Oom,
}

impl EventKind {
    /// The name in the JSON `type` field.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Stats => "stats",
            EventKind::Oom => "oom",
        }
    }
}

/// One line of `events` output: runc's `{"type":…,"id":…,"data":…}`.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// Container id.
    pub id: String,
    /// The statistics, for `stats` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Stats>,
}

/// How often `events` checks that the container is still there between stats.
const LIVENESS_CHECK: Duration = Duration::from_millis(200);

impl Runtime {
    /// runc `pause`: freeze every process of a running (or created) container.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn pause(&self, id: &str) -> Result<()> {
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        match self.status_of(&dir, &state) {
            Status::Running | Status::Created => {}
            status => return Err(wrong_status(id, Operation::Pause, status)),
        }
        self.cgroup_of(&state)?.freeze()?;
        Ok(())
    }

    /// runc `resume`: thaw a paused container.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn resume(&self, id: &str) -> Result<()> {
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        match self.status_of(&dir, &state) {
            Status::Paused => {}
            status => return Err(wrong_status(id, Operation::Resume, status)),
        }
        self.cgroup_of(&state)?.thaw()?;
        Ok(())
    }

    /// runc `ps`: the host pids of every process in the container's cgroup.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn processes(&self, id: &str) -> Result<Vec<i32>> {
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        Ok(self.cgroup_of(&state)?.pids()?)
    }

    /// runc `update`: apply `resources` to a running, paused or created
    /// container and record them in its state.
    ///
    /// runc's rules: a zero (or empty) memory, CPU, blkio weight or pids
    /// value means "leave as is"; device rules are never changed (containerd
    /// sends the whole `linux.resources`, devices included). Every other field
    /// that is set is applied or refused with an error naming it. When the
    /// cgroup refuses a value, the recorded resources are written back.
    #[tracing::instrument(level = "debug", skip(self, resources))]
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<()> {
        let dir = self.root.open(id)?;
        let mut state = dir.load()?;
        let status = self.status_of(&dir, &state);
        if status == Status::Stopped {
            return Err(wrong_status(id, Operation::Update, status));
        }
        let change = changed_resources(resources)?;
        tracing::debug!(?change, "update {id}");
        let cg = self.cgroup_of(&state)?;
        let old = recorded_resources(&state);
        if let Err(e) = cg.set(&change) {
            let mut back = old;
            back.set_devices(None);
            if let Err(e2) = cg.set(&back) {
                tracing::warn!(
                    "update {id}: putting back the recorded resources failed too ({e2}); \
                     the cgroup and state.json may disagree"
                );
            }
            return Err(e.into());
        }
        let merged = merge_resources(&old, &change)?;
        state
            .config
            .linux_mut()
            .get_or_insert_with(Default::default)
            .set_resources(Some(merged));
        dir.save(&state)?;
        Ok(())
    }

    /// runc `events --stats`: the container's current resource usage.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn stats(&self, id: &str) -> Result<Stats> {
        let state = self.live_state(id)?;
        Ok(stats::read(cgroup_state(&state)?)?)
    }

    /// runc `events`: hand `emit` a `stats` event every `interval` and an
    /// `oom` event whenever the memory cgroup runs out of memory, until the
    /// container's init exits or its cgroup is removed. A failed statistics
    /// read is logged and skipped, as in runc; a failing `emit` ends the
    /// stream with [`Error::Io`].
    #[tracing::instrument(level = "debug", skip(self, emit))]
    pub fn events(
        &self,
        id: &str,
        interval: Duration,
        mut emit: impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<()> {
        if interval.is_zero() {
            return Err(OpsError::ZeroInterval.into());
        }
        let state = self.live_state(id)?;
        let cg_state = cgroup_state(&state)?;
        let cg = self.cgroup_of(&state)?;
        let mut oom = OomWatch::new(cg_state)?;
        let mut send = |kind, data| {
            let event = Event {
                kind,
                id: id.to_string(),
                data,
            };
            emit(&event).map_err(|source| Error::Io {
                context: format!("write {} event", kind.name()),
                source,
            })
        };
        let mut next = Instant::now() + interval;
        loop {
            let wait = next
                .saturating_duration_since(Instant::now())
                .min(LIVENESS_CHECK);
            let ooms = oom.wait(wait)?;
            // The v1 eventfd also fires when the cgroup goes away: no OOM then.
            if !cg.exists() {
                return Ok(());
            }
            if ooms > 0 {
                send(EventKind::Oom, None)?;
            }
            if !self.init_alive(&state) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= next {
                match stats::read(cg_state) {
                    Ok(s) => send(EventKind::Stats, Some(s))?,
                    Err(e) => tracing::error!("events {id}: {e}"),
                }
                next += interval;
                if next < now {
                    next = now + interval;
                }
            }
        }
    }

    /// The state of a container that has not stopped (the lock is released on return).
    fn live_state(&self, id: &str) -> Result<ContainerState> {
        let dir = self.root.open(id)?;
        let state = dir.load()?;
        let status = self.status_of(&dir, &state);
        if status == Status::Stopped {
            return Err(wrong_status(id, Operation::Stats, status));
        }
        Ok(state)
    }
}

fn cgroup_state(state: &ContainerState) -> Result<&crate::cgroups::CgroupState> {
    state.cgroup.as_ref().ok_or_else(|| {
        ProcessError::NoCgroup {
            id: state.id.clone(),
        }
        .into()
    })
}

fn recorded_resources(state: &ContainerState) -> LinuxResources {
    state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default()
}

fn to_json(r: &LinuxResources) -> Result<Value> {
    Ok(serde_json::to_value(r).map_err(OpsError::from)?)
}

fn from_json(v: Value) -> Result<LinuxResources> {
    Ok(serde_json::from_value(v).map_err(OpsError::from)?)
}

/// Fields where runc's `update` reads zero (or "") as "unchanged".
const ZERO_MEANS_UNCHANGED: &[(&str, &[&str])] = &[
    (
        "memory",
        &["limit", "reservation", "swap", "kernel", "kernelTCP"],
    ),
    (
        "cpu",
        &[
            "shares",
            "quota",
            "period",
            "realtimeRuntime",
            "realtimePeriod",
            "cpus",
            "mems",
        ],
    ),
    ("blockIO", &["weight"]),
    ("pids", &["limit"]),
];

/// The part of an update request that changes something.
fn changed_resources(r: &LinuxResources) -> Result<LinuxResources> {
    let mut v = to_json(r)?;
    let Some(top) = v.as_object_mut() else {
        return from_json(v);
    };
    if top.remove("devices").is_some() {
        tracing::debug!("update: linux.resources.devices is never changed by update (as runc)");
    }
    for (section, keys) in ZERO_MEANS_UNCHANGED {
        let Some(obj) = top.get_mut(*section).and_then(Value::as_object_mut) else {
            continue;
        };
        for key in *keys {
            let unchanged = match obj.get(*key) {
                Some(Value::Number(n)) => n.as_i64() == Some(0) || n.as_u64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if unchanged {
                obj.remove(*key);
            }
        }
        if obj.is_empty() {
            top.remove(*section);
        }
    }
    from_json(v)
}

/// `old` with every field `change` sets replaced (lists are replaced whole).
fn merge_resources(old: &LinuxResources, change: &LinuxResources) -> Result<LinuxResources> {
    let mut base = to_json(old)?;
    merge(&mut base, to_json(change)?);
    from_json(base)
}

fn merge(base: &mut Value, change: Value) {
    match (base, change) {
        (Value::Object(b), Value::Object(c)) => {
            for (k, v) in c {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, c) => *b = c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(v: Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    /// runc update.go: zero values leave the current setting alone, devices are skipped.
    #[test]
    fn zero_values_and_devices_are_not_changes() {
        let docker = res(json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": 104857600, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0,
                    "realtimePeriod": 0, "cpus": "", "mems": ""},
            "blockIO": {"weight": 0},
            "pids": {"limit": 0}
        }));
        let c = to_json(&changed_resources(&docker).unwrap()).unwrap();
        assert_eq!(c, json!({"memory": {"limit": 104857600}}));
        let pids = res(json!({"pids": {"limit": -1}, "memory": {"swappiness": 0}}));
        let c = to_json(&changed_resources(&pids).unwrap()).unwrap();
        assert_eq!(
            c,
            json!({"pids": {"limit": -1}, "memory": {"swappiness": 0}})
        );
    }

    #[test]
    fn merge_keeps_what_the_update_does_not_name() {
        let old = res(json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": 1000, "swap": 2000},
            "pids": {"limit": 5}
        }));
        let change = res(json!({"memory": {"limit": 3000}, "cpu": {"shares": 512}}));
        let m = to_json(&merge_resources(&old, &change).unwrap()).unwrap();
        assert_eq!(m["memory"], json!({"limit": 3000, "swap": 2000}));
        assert_eq!(m["pids"], json!({"limit": 5}));
        assert_eq!(m["cpu"], json!({"shares": 512}));
        assert_eq!(m["devices"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn event_json() {
        let e = Event {
            kind: EventKind::Oom,
            id: "c1".into(),
            data: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"oom","id":"c1"}"#
        );
    }
}
