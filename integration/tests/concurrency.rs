//! Many runtime processes on one --root at once. runtime.md "Create": an id
//! in use MUST be an error and MUST NOT create a new container; "Query
//! State"/`list` must work while other commands change the root. Each
//! runtime process is spawned from its own test thread.
//!
//! While the creates and deletes run, watcher threads call `list` and `state`
//! and read every state.json directly: the commands must never fail and the
//! files must always parse (they are written with a rename). At the end
//! everything is deleted and nothing is left (the sandbox guard checks state
//! entries, processes, cgroups and mounts).

use integration::*;
use serde_json::Value;
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

const IDS: usize = 5;
const ATTEMPTS: usize = 100;

/// Watches the root until `stop`: `list` (table and JSON) and `state` must
/// succeed, state.json files must parse. Returns the problems seen and how
/// many checks ran.
fn watch(sb: &Sandbox, ids: &[String], stop: &AtomicBool) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut checks = 0;
    while !stop.load(Ordering::SeqCst) {
        let out = sb.cmd(&["list", "--format", "json"]).run();
        checks += 1;
        if !out.success() {
            problems.push(format!("list failed: {out}"));
        } else if serde_json::from_str::<Value>(out.stdout.trim()).is_err() {
            problems.push(format!("list printed invalid JSON: {out}"));
        }
        let out = sb.cmd(&["list", "-q"]).run();
        if !out.success() {
            problems.push(format!("list -q failed: {out}"));
        }
        for id in ids {
            // A state.json is whole or absent, never half-written.
            match fs::read(sb.root.join(id).join("state.json")) {
                Ok(data) => {
                    checks += 1;
                    if serde_json::from_slice::<Value>(&data).is_err() {
                        problems.push(format!("{id}/state.json does not parse: {data:?}"));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => problems.push(format!("read {id}/state.json: {e}")),
            }
        }
        let id = &ids[checks % ids.len()];
        let out = sb.state(id);
        if out.success() {
            if serde_json::from_str::<Value>(&out.stdout).is_err() {
                problems.push(format!("state printed invalid JSON: {out}"));
            }
        } else if !out.stderr.contains("not exist") {
            problems.push(format!(
                "state failed for a reason other than absence: {out}"
            ));
        }
    }
    (problems, checks)
}

/// Runs `op(i)` for every attempt on its own thread, all at once, while two
/// watchers run; returns the outputs in attempt order.
fn storm(sb: &Sandbox, ids: &[String], op: impl Fn(usize) -> Output + Sync) -> Vec<Output> {
    let stop = AtomicBool::new(false);
    let outputs: Mutex<Vec<Option<Output>>> = Mutex::new(vec![None; ATTEMPTS]);
    let ready = AtomicUsize::new(0);
    let watched = thread::scope(|s| {
        let watchers: Vec<_> = (0..2).map(|_| s.spawn(|| watch(sb, ids, &stop))).collect();
        let workers: Vec<_> = (0..ATTEMPTS)
            .map(|i| {
                let (op, outputs, ready) = (&op, &outputs, &ready);
                s.spawn(move || {
                    // Start together, so the attempts on one id really collide.
                    ready.fetch_add(1, Ordering::SeqCst);
                    while ready.load(Ordering::SeqCst) < ATTEMPTS {
                        thread::sleep(Duration::from_millis(1));
                    }
                    let out = op(i);
                    outputs.lock().unwrap()[i] = Some(out);
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        watchers
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut checks = 0;
    for (problems, n) in watched {
        assert!(problems.is_empty(), "while the storm ran: {problems:#?}");
        checks += n;
    }
    assert!(checks > 0, "the watchers never ran");
    outputs
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|o| o.unwrap())
        .collect()
}

/// runc 1.1.5 is not safe here, so these tests run for husk only: under
/// colliding creates a losing runc create can fail with "unable to store init
/// state" and leave its cgroup behind, `delete --force` of a missing
/// container succeeds, and `list`/`state` fail when a delete removes an entry
/// they are reading.
const RUNC: &str =
    "runc 1.1.5 leaks cgroups and fails list/state under colliding creates and deletes";

/// `IDS` fresh ids, each with a bundle of its own (its own cgroupsPath) that
/// shares one rootfs; returns the ids.
fn bundles(sb: &Sandbox) -> Vec<String> {
    let b = sb.bundle(&["sleep", "60"]);
    let ids: Vec<String> = (0..IDS).map(|_| sb.new_id()).collect();
    for id in &ids {
        let mut config = b.config.clone();
        config["linux"]["cgroupsPath"] = format!("/{id}").into();
        config["root"]["path"] = b.rootfs().to_string_lossy().into_owned().into();
        let dir = bundle_of(sb, id);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.json"), config.to_string()).unwrap();
    }
    ids
}

fn bundle_of(sb: &Sandbox, id: &str) -> std::path::PathBuf {
    sb.dir.join(format!("bundle-{id}"))
}

fn create(sb: &Sandbox, id: &str) -> Output {
    sb.cmd(&["create", "--bundle"])
        .arg(bundle_of(sb, id))
        .arg(id)
        .timeout(Duration::from_secs(60))
        .run()
}

fn delete_force(sb: &Sandbox, id: &str) -> Output {
    sb.cmd(&["delete", "--force", id])
        .timeout(Duration::from_secs(60))
        .run()
}

/// Deletes whatever is left and checks nothing remains of any id.
fn delete_all(sb: &Sandbox, ids: &[String]) {
    for id in ids {
        if sb.state_entry_exists(id) {
            sb.pid_of(id);
            delete_force(sb, id).ok();
        }
        assert!(!sb.state_entry_exists(id), "{id} is still in the root");
        assert!(cgroup_dirs_for(id).is_empty(), "{id}: cgroup left");
    }
    let list = sb.cmd(&["list", "-q"]).run().ok();
    assert_eq!(list.stdout.trim(), "", "{list}");
}

/// 100 simultaneous creates over 5 ids: exactly one winner per id, every
/// other attempt says "already exists" and changes nothing; then 100
/// simultaneous `delete --force` over the same ids: exactly one winner per
/// id, the others say it does not exist; then nothing is left.
#[test]
fn colliding_creates_and_deletes() {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let ids = bundles(&sb);
    let creates = storm(&sb, &ids, |i| create(&sb, &ids[i % IDS]));
    for (k, id) in ids.iter().enumerate() {
        let mine: Vec<&Output> = creates.iter().skip(k).step_by(IDS).collect();
        let winners = mine.iter().filter(|o| o.success()).count();
        assert_eq!(winners, 1, "{id}: {winners} creates succeeded: {mine:#?}");
        for o in mine.iter().filter(|o| !o.success()) {
            assert!(!o.timed_out, "{o}");
            assert!(
                o.stderr.contains("already exists"),
                "a losing create must say the id already exists: {o}"
            );
        }
        assert_eq!(sb.status(id), "created");
        sb.pid_of(id);
    }
    let list = sb.cmd(&["list", "-q"]).run().ok();
    let mut listed: Vec<&str> = list.stdout.lines().collect();
    listed.sort();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(listed, want, "list after the creates: {list}");

    let deletes = storm(&sb, &ids, |i| delete_force(&sb, &ids[i % IDS]));
    for (k, id) in ids.iter().enumerate() {
        let mine: Vec<&Output> = deletes.iter().skip(k).step_by(IDS).collect();
        let winners = mine.iter().filter(|o| o.success()).count();
        assert_eq!(winners, 1, "{id}: {winners} deletes succeeded: {mine:#?}");
        for o in mine.iter().filter(|o| !o.success()) {
            assert!(!o.timed_out, "{o}");
            assert!(o.stderr.contains("not exist"), "{o}");
        }
    }
    delete_all(&sb, &ids);
}

/// Creates and force-deletes interleaved over the same ids: every create
/// either wins or says "already exists", every delete either wins or says
/// "does not exist", the watchers never see a failure, and a final delete
/// leaves nothing.
#[test]
fn interleaved_creates_and_deletes() {
    if skip_on_runc(RUNC) {
        return;
    }
    let sb = Sandbox::new();
    let ids = bundles(&sb);
    let outs = storm(&sb, &ids, |i| {
        let id = &ids[i % IDS];
        // Two creates for every delete on each id; all start at once, so the
        // order they reach the root in is the scheduler's.
        if (i / IDS) % 3 == 2 {
            delete_force(&sb, id)
        } else {
            create(&sb, id)
        }
    });
    let mut creates_won = 0;
    for o in &outs {
        assert!(!o.timed_out, "{o}");
        let is_create = o.cmdline.contains(" create ");
        if o.success() {
            creates_won += usize::from(is_create);
            continue;
        }
        let expected = if is_create {
            "already exists"
        } else {
            "not exist"
        };
        assert!(o.stderr.contains(expected), "expected {expected:?}: {o}");
    }
    assert!(
        creates_won >= IDS,
        "at least one create per id must win ({creates_won} won)"
    );
    delete_all(&sb, &ids);
}
