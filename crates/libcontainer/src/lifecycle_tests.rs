//! The lifecycle rules with the host swapped for [`FakeHost`]: how a status is
//! derived, which operations each status allows, and what `kill`, `pause`,
//! `resume` and `delete` do to processes and the cgroup. No root, no
//! processes, no cgroups: the state directory is a temporary directory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use nix::sys::signal::Signal;

use crate::cgroups::CgroupState;
use crate::state::{ContainerState, Operation, StateError, StateRoot};
use crate::syscall::double::{Call, FakeHost};
use crate::syscall::ProcStat;
use crate::{Error, Runtime, Status};

const PID: i32 = 4242;
const START: u64 = 777;
const ID: &str = "c1";

/// A state root in a temporary directory, removed on drop (also on failure).
struct Fixture {
    dir: PathBuf,
    rt: Runtime,
    host: FakeHost,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fixture {
    /// Container `c1` recorded with init `PID`, alive and running.
    fn new(name: &str) -> Fixture {
        let dir =
            std::env::temp_dir().join(format!("husk-lifecycle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let host = FakeHost::default();
        let rt = Runtime::with_syscall(&dir, Arc::new(host.clone()));
        let cdir = StateRoot::new(&dir).create(ID).unwrap();
        cdir.save(&ContainerState {
            oci_version: crate::OCI_VERSION.into(),
            id: ID.into(),
            pid: PID,
            pid_start_time: START,
            bundle: dir.clone(),
            rootfs: dir.join("rootfs"),
            created: "2026-01-01T00:00:00Z".into(),
            owner: String::new(),
            annotations: HashMap::new(),
            cgroup: Some(CgroupState::V2 {
                path: "/sys/fs/cgroup/never-touched".into(),
            }),
            // oci-spec's default: its own pid and mount namespaces.
            config: oci_spec::runtime::Spec::default(),
            no_new_keyring: false,
            cgroup_skipped: false,
        })
        .unwrap();
        drop(cdir);
        let f = Fixture { dir, rt, host };
        f.set_init(Some('S'), START);
        f.host.world().cgroup_pids = vec![PID];
        f
    }

    fn set_init(&self, state: Option<char>, start_time: u64) {
        let mut w = self.host.world();
        match state {
            Some(state) => w.procs.insert(PID, ProcStat { state, start_time }),
            None => w.procs.remove(&PID),
        };
    }

    fn fifo(&self) -> PathBuf {
        self.dir.join(ID).join(crate::state::EXEC_FIFO)
    }

    fn status(&self) -> Status {
        self.rt.state(ID).unwrap().status
    }
}

fn refused(e: Error) -> (Operation, Status) {
    match e {
        Error::State(StateError::WrongStatus {
            operation, status, ..
        }) => (operation, status),
        other => panic!("expected WrongStatus, got {other:?}"),
    }
}

/// runtime.md "State": status is derived from the live process (and runc's
/// `paused` from the freezer); a recycled pid is not the init.
#[test]
fn status_is_derived_from_process_fifo_and_freezer() {
    let f = Fixture::new("status");
    assert_eq!(f.status(), Status::Running);
    std::fs::write(f.fifo(), "").unwrap();
    assert_eq!(f.status(), Status::Created);
    f.host.world().frozen = true;
    assert_eq!(f.status(), Status::Paused, "frozen wins over created");
    f.host.world().frozen = false;
    std::fs::remove_file(f.fifo()).unwrap();

    for (state, start, why) in [
        (Some('Z'), START, "zombie"),
        (Some('X'), START, "dead"),
        (Some('S'), START + 1, "pid reused by another process"),
        (None, START, "gone"),
    ] {
        f.set_init(state, start);
        let s = f.rt.state(ID).unwrap();
        assert_eq!((s.status, s.pid), (Status::Stopped, 0), "{why}");
    }
}

/// runtime.md "kill": the signal goes to the init; a stopped container is
/// an error and nothing is signalled.
#[test]
fn kill_signals_the_init_only_while_it_lives() {
    let f = Fixture::new("kill");
    f.rt.kill(ID, Signal::SIGTERM, false).unwrap();
    assert_eq!(f.host.calls(), [Call::Kill(PID, Signal::SIGTERM)]);

    f.set_init(None, START);
    let e = f.rt.kill(ID, Signal::SIGTERM, false).unwrap_err();
    assert_eq!(refused(e), (Operation::Kill, Status::Stopped));
    assert_eq!(f.host.calls().len(), 1, "no signal to a stopped container");
}

/// A frozen (paused) task cannot act on SIGKILL until thawed: runc thaws
/// after sending it; other signals leave the container paused.
#[test]
fn sigkill_thaws_a_paused_container() {
    let f = Fixture::new("kill-paused");
    f.host.world().frozen = true;
    f.rt.kill(ID, Signal::SIGTERM, false).unwrap();
    assert_eq!(f.host.calls(), [Call::Kill(PID, Signal::SIGTERM)]);
    f.rt.kill(ID, Signal::SIGKILL, false).unwrap();
    assert_eq!(
        f.host.calls()[1..],
        [Call::Kill(PID, Signal::SIGKILL), Call::Thaw]
    );
}

/// runc `kill --all`: every process of the cgroup, even when the init is
/// gone; SIGKILL thaws a frozen cgroup.
#[test]
fn kill_all_reaches_every_process_in_the_cgroup() {
    let f = Fixture::new("kill-all");
    f.host.world().cgroup_pids = vec![PID, 10, 11];
    f.host.world().frozen = true;
    f.set_init(None, START);
    f.rt.kill(ID, Signal::SIGKILL, true).unwrap();
    assert_eq!(
        f.host.calls(),
        [
            Call::Kill(PID, Signal::SIGKILL),
            Call::Kill(10, Signal::SIGKILL),
            Call::Kill(11, Signal::SIGKILL),
            Call::Thaw
        ]
    );
}

/// A kill(2) failure on a live init is an error naming the container and pid.
#[test]
fn kill_failure_is_reported() {
    let f = Fixture::new("kill-eperm");
    f.host.world().kill_error = Some(nix::Error::EPERM);
    let e = f.rt.kill(ID, Signal::SIGTERM, false).unwrap_err();
    assert!(matches!(&e, Error::Sys { source, .. } if *source == nix::Error::EPERM));
    assert_eq!(
        e.to_string(),
        format!("send SIGTERM to container {ID} (pid {PID}): EPERM: Operation not permitted")
    );
}

/// runc `pause`/`resume`: pause needs running or created, resume paused.
#[test]
fn pause_and_resume_follow_the_status() {
    let f = Fixture::new("pause");
    let e = f.rt.resume(ID).unwrap_err();
    assert_eq!(refused(e), (Operation::Resume, Status::Running));
    f.rt.pause(ID).unwrap();
    assert_eq!(f.status(), Status::Paused);
    let e = f.rt.pause(ID).unwrap_err();
    assert_eq!(refused(e), (Operation::Pause, Status::Paused));
    f.rt.resume(ID).unwrap();
    assert_eq!(f.status(), Status::Running);
    assert_eq!(f.host.calls(), [Call::Freeze, Call::Thaw]);

    f.set_init(None, START);
    let e = f.rt.pause(ID).unwrap_err();
    assert_eq!(refused(e), (Operation::Pause, Status::Stopped));
    assert_eq!(e_text(&f, |rt| rt.pause(ID)), "container not running");
}

fn e_text(f: &Fixture, op: impl Fn(&Runtime) -> crate::Result<()>) -> String {
    op(&f.rt).unwrap_err().to_string()
}

/// runtime.md "delete": not stopped is an error without force, and nothing
/// is touched; with force the init is killed first, then the cgroup and the
/// state go.
#[test]
fn delete_needs_stopped_or_force() {
    let f = Fixture::new("delete");
    let e = f.rt.delete(ID, false).unwrap_err();
    assert_eq!(refused(e), (Operation::Delete, Status::Running));
    assert_eq!(
        e_text(&f, |rt| rt.delete(ID, false)),
        format!("cannot delete container {ID} that is not stopped: running")
    );
    assert!(f.host.calls().is_empty());
    assert!(f.dir.join(ID).exists());

    f.rt.delete(ID, true).unwrap();
    assert_eq!(
        f.host.calls(),
        [Call::Kill(PID, Signal::SIGKILL), Call::Destroy]
    );
    assert!(!f.dir.join(ID).exists(), "state directory removed");
    assert!(matches!(
        f.rt.state(ID),
        Err(Error::State(StateError::NotFound(_)))
    ));
}

/// A stopped container is deleted without signalling anything.
#[test]
fn delete_of_a_stopped_container_only_cleans_up() {
    let f = Fixture::new("delete-stopped");
    f.set_init(Some('Z'), START);
    f.rt.delete(ID, false).unwrap();
    assert_eq!(f.host.calls(), [Call::Destroy]);
}

/// runtime.md "start": only a created container starts.
#[test]
fn start_refuses_anything_but_created() {
    let f = Fixture::new("start");
    let e = f.rt.start(ID).unwrap_err();
    assert_eq!(refused(e), (Operation::Start, Status::Running));
    assert_eq!(
        e_text(&f, |rt| rt.start(ID)),
        format!("cannot start an already running container: {ID}")
    );
    f.set_init(None, START);
    assert_eq!(
        e_text(&f, |rt| rt.start(ID)),
        format!("cannot start a container that has stopped: {ID}")
    );
}

/// What embedding needs: a runtime shared across threads, errors that go
/// into `anyhow`/`Box<dyn Error + Send + Sync>`.
#[test]
fn api_types_are_thread_safe() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Runtime>();
    send_sync::<Error>();
    send_sync::<crate::CreateOptions>();
    send_sync::<crate::ExecOptions>();
    send_sync::<crate::Stdio>();
    send_sync::<crate::OciState>();
    send_sync::<crate::stats::Stats>();
}
