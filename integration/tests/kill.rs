//! runtime.md "Kill" and the runc CLI `kill` signal syntax.

use integration::*;
use std::path::PathBuf;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// A started container whose shell traps `sigs`, appending each received
/// signal name to `<shared>/got`; with `exit_on` it exits after that one.
fn trapping(sb: &Sandbox, sigs: &[&str], exit_on: Option<&str>) -> (String, PathBuf) {
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    let got = shared.join("got");
    let mut script = String::new();
    for s in sigs {
        let exit = if Some(*s) == exit_on { "; exit 0" } else { "" };
        script += &format!("trap 'echo {s} >> {}{exit}' {s}; ", got.display());
    }
    script += &format!(
        "touch {}; while true; do sleep 0.05; done",
        shared.join("ready").display()
    );
    b.set_args(&["sh", "-c", &script]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    wait_for_file(&shared.join("ready"), T);
    (id, got)
}

/// runtime.md "Kill": MUST send the specified signal to the container
/// process. runc CLI: the signal defaults to SIGTERM.
#[test]
fn kill_defaults_to_sigterm() {
    let sb = Sandbox::new();
    let (id, got) = trapping(&sb, &["TERM", "INT"], Some("TERM"));
    sb.cmd(&["kill", &id]).run().ok();
    sb.wait_status(&id, "stopped", T);
    assert_eq!(read(&got), "TERM\n");
}

/// runc CLI `kill`: a signal may be named with or without the SIG prefix,
/// or given as a number.
#[test]
fn kill_signal_name_forms() {
    let sb = Sandbox::new();
    let (id, got) = trapping(&sb, &["USR1", "USR2", "HUP"], None);
    let mut want = String::new();
    for (arg, name) in [
        ("SIGUSR1", "USR1"),
        ("USR2", "USR2"),
        ("1", "HUP"),
        ("10", "USR1"),
        ("sigusr2", "USR2"),
    ] {
        sb.kill(&id, arg).ok();
        want += &format!("{name}\n");
        assert!(
            wait_until(T, || read(&got) == want),
            "after kill {arg}: got {:?}, want {want:?}",
            read(&got)
        );
    }
    assert_eq!(sb.status(&id), "running");
}

/// runtime.md "Kill": SIGKILL stops the process; the status MUST then be
/// `stopped`.
#[test]
fn kill_sigkill_stops_container() {
    let sb = Sandbox::new();
    let (id, _) = trapping(&sb, &["TERM"], None);
    let pid = sb.pid_of(&id);
    sb.kill(&id, "KILL").ok();
    sb.wait_status(&id, "stopped", T);
    assert!(!pid_alive(pid));
}

/// runtime.md "Kill": a `created` container may be signalled; after SIGKILL
/// it is `stopped` and its program never ran.
#[test]
fn kill_created_container() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    b.set_args(&["sh", "-c", &format!("touch {}/ran", shared.display())]);
    let (id, _) = sb.create_ok(&b);
    sb.kill(&id, "SIGKILL").ok();
    sb.wait_status(&id, "stopped", T);
    assert!(!shared.join("ran").exists());
}

/// runtime.md "Kill": signalling a container that is neither created nor
/// running MUST generate an error and MUST have no effect.
#[test]
fn kill_stopped_container_fails() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    sb.kill(&id, "KILL")
        .err_mentions(&["not running", "stopped", "cannot"]);
    assert_eq!(sb.status(&id), "stopped");
    assert!(sb.state_entry_exists(&id));
}

/// runc CLI `kill`: an unknown signal name is an error and nothing is sent.
#[test]
fn kill_unknown_signal_fails() {
    let sb = Sandbox::new();
    let (id, got) = trapping(&sb, &["TERM", "USR1"], None);
    let pid = sb.pid_of(&id);
    for bad in ["SIGFOO", "FOO", "999", "-1"] {
        sb.kill(&id, bad).err_mentions(&["signal", "invalid"]);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read(&got), "", "no signal may be delivered");
    assert_eq!(sb.status(&id), "running");
    assert_eq!(sb.pid_of(&id), pid);
}

/// runtime.md "Kill": MUST generate an error if not given the container ID;
/// an unknown ID is an error too.
#[test]
fn kill_without_or_unknown_id_fails() {
    let sb = Sandbox::new();
    sb.cmd(&["kill"]).run().err();
    let id = sb.new_id();
    sb.kill(&id, "KILL")
        .err_mentions(&["does not exist", "not exist", "not found"]);
    assert!(!sb.state_entry_exists(&id));
}
