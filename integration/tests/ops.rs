//! runc's commands beyond runtime.md's lifecycle: `pause`, `resume`, `ps`,
//! `update`, `events`, `features`. The reference is runc's behaviour (its
//! `man runc-<command>` pages and libcontainer), and features.md for
//! `features`. Works on cgroup v1 (incl. hybrid) and v2 hosts.

use integration::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The host directory of container `id`'s cgroup for `controller` (the
/// harness gives every test container the absolute cgroupsPath `/<id>`).
fn cg_dir(controller: &str, id: &str) -> PathBuf {
    if cgroup_v2() {
        PathBuf::from("/sys/fs/cgroup").join(id)
    } else {
        PathBuf::from("/sys/fs/cgroup").join(controller).join(id)
    }
}

/// Whether the container's cgroup is frozen, read from the kernel's file.
fn frozen_on_host(id: &str) -> bool {
    if cgroup_v2() {
        read(cg_dir("", id).join("cgroup.freeze")).trim() == "1"
    } else {
        read(cg_dir("freezer", id).join("freezer.state")).trim() == "FROZEN"
    }
}

/// The memory limit file on the host and inside the container.
fn memory_limit_file() -> &'static str {
    if cgroup_v2() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    }
}

/// A started container whose shell bumps a counter in `<shared>/count`
/// every 20 ms, and the shared directory.
fn counting(sb: &Sandbox) -> (String, PathBuf) {
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    let count = shared.join("count");
    let script = format!(
        "i=0; while true; do i=$((i+1)); echo $i > {c}.tmp; mv {c}.tmp {c}; sleep 0.02; done",
        c = count.display()
    );
    b.set_args(&["sh", "-c", &script]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    wait_for_file(&count, T);
    (id, shared)
}

fn counter(shared: &Path) -> u64 {
    read(shared.join("count")).trim().parse().unwrap_or(0)
}

/// A started `sleep 1000` container.
fn sleeping(sb: &Sandbox) -> (String, i32) {
    let b = sb.bundle(&["sleep", "1000"]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    let pid = sb.pid_of(&id);
    (id, pid)
}

/// A container whose process has exited (status `stopped`).
fn stopped(sb: &Sandbox) -> String {
    let b = sb.bundle(&["true"]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    sb.wait_status(&id, "stopped", T);
    id
}

// ---------------------------------------------------------------------------
// pause / resume
// ---------------------------------------------------------------------------

/// runc `pause`: "suspends all processes inside the container" (the cgroup
/// freezer); `state` then reports `paused`, and the processes make no
/// progress. runc `resume` thaws them: `running` again, and they go on.
#[test]
fn pause_freezes_and_resume_thaws() {
    let sb = Sandbox::new();
    let (id, shared) = counting(&sb);
    sb.cmd(&["pause", &id]).run().ok();
    assert_eq!(sb.status(&id), "paused");
    assert!(
        frozen_on_host(&id),
        "the kernel does not report the cgroup frozen"
    );
    let before = counter(&shared);
    thread::sleep(Duration::from_millis(400));
    assert_eq!(
        counter(&shared),
        before,
        "the counter advanced while paused"
    );

    sb.cmd(&["resume", &id]).run().ok();
    assert_eq!(sb.status(&id), "running");
    assert!(
        !frozen_on_host(&id),
        "the cgroup is still frozen after resume"
    );
    assert!(
        wait_until(T, || counter(&shared) > before + 2),
        "the counter did not advance after resume"
    );
}

/// runc libcontainer `Pause`: only a running or created container can be
/// paused, otherwise "container not running"; `Resume` of a container that is
/// not paused fails with "container not paused".
#[test]
fn pause_and_resume_need_the_right_status() {
    let sb = Sandbox::new();
    let gone = stopped(&sb);
    sb.cmd(&["pause", &gone])
        .run()
        .err_mentions(&["not running"]);
    sb.cmd(&["resume", &gone])
        .run()
        .err_mentions(&["not paused"]);

    let (id, _) = sleeping(&sb);
    sb.cmd(&["resume", &id]).run().err_mentions(&["not paused"]);
    sb.cmd(&["pause", &id]).run().ok();
    sb.cmd(&["pause", &id]).run().err_mentions(&["not running"]);
    sb.cmd(&["resume", &id]).run().ok();
    assert_eq!(sb.status(&id), "running");
}

/// runc libcontainer `Pause` accepts a created container too; `state`
/// reports it `paused` until `resume` brings it back to `created`, and
/// `start` of a paused container is refused.
#[test]
fn pause_of_a_created_container() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sleep", "1000"]);
    let (id, _) = sb.create_ok(&b);
    sb.cmd(&["pause", &id]).run().ok();
    assert_eq!(sb.status(&id), "paused");
    sb.start(&id).err();
    sb.cmd(&["resume", &id]).run().ok();
    assert_eq!(sb.status(&id), "created");
    sb.start(&id).ok();
    assert_eq!(sb.status(&id), "running");
}

/// runc thaws a paused container it sends SIGKILL to (a frozen v1 task acts
/// on the signal only once thawed): `kill ID KILL` stops a paused container,
/// and `delete --force` removes one.
#[test]
fn sigkill_and_delete_force_reach_a_paused_container() {
    let sb = Sandbox::new();
    let (id, pid) = sleeping(&sb);
    sb.cmd(&["pause", &id]).run().ok();
    sb.kill(&id, "KILL").ok();
    sb.wait_status(&id, "stopped", T);
    assert!(!pid_alive(pid));
    sb.delete(&id).ok();

    let (id, pid) = sleeping(&sb);
    sb.cmd(&["pause", &id]).run().ok();
    sb.delete_force(&id).ok();
    assert!(wait_until(T, || !pid_alive(pid)), "pid {pid} survived");
    assert!(!sb.state_entry_exists(&id));
}

// ---------------------------------------------------------------------------
// ps
// ---------------------------------------------------------------------------

/// runc `ps --format json ID` prints the pids of the container's cgroup as a
/// JSON array (containerd-shim's `task ps` and docker's `top` read it).
#[test]
fn ps_json_lists_the_init_pid() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.set_args(&["sh", "-c", "sleep 1000 & sleep 1000"]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    let pid = sb.pid_of(&id);
    let mut pids = Vec::new();
    let ok = wait_until(T, || {
        let out = sb.cmd(&["ps", "--format", "json", &id]).run().ok();
        let v: Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
        pids = v
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(|p| p.as_i64().expect("pids are numbers"))
            .collect();
        pids.len() == 2
    });
    assert!(ok, "expected the init and its child, got {pids:?}");
    assert!(
        pids.contains(&(pid as i64)),
        "init pid {pid} not in {pids:?}"
    );
    let out = sb.cmd(&["ps", "-f", "json", &id]).run().ok();
    assert!(out.stdout.contains(&pid.to_string()), "{out}");
}

/// runc `ps ID [ps options]`: ps(1)'s header and the lines of the
/// container's processes only (default options `-ef`).
#[test]
fn ps_table_filters_ps_output() {
    let sb = Sandbox::new();
    let (id, pid) = sleeping(&sb);
    let out = sb.cmd(&["ps", &id]).run().ok();
    let lines = out.lines();
    assert!(lines[0].contains("PID"), "no header: {out}");
    assert_eq!(lines.len(), 2, "expected header + the init: {out}");
    assert!(
        lines[1].split_whitespace().any(|f| f == pid.to_string()),
        "{out}"
    );
    assert!(lines[1].contains("sleep 1000"), "{out}");

    let out = sb.cmd(&["ps", &id, "-o", "pid,comm"]).run().ok();
    assert_eq!(
        out.lines(),
        vec!["PID COMMAND".to_string(), format!("{pid} sleep")],
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------

/// A started container that, each time `<shared>/go` appears, writes its
/// view of the memory limit (its own cgroup, through the cgroup namespace)
/// to `<shared>/limit` and removes `go`.
fn limit_reporter(sb: &Sandbox) -> (String, PathBuf) {
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    let inside = if cgroup_v2() {
        "/sys/fs/cgroup/memory.max"
    } else {
        "/sys/fs/cgroup/memory/memory.limit_in_bytes"
    };
    let script = format!(
        "while true; do if [ -e {s}/go ]; then cat {inside} > {s}/limit.tmp; \
         mv {s}/limit.tmp {s}/limit; rm {s}/go; fi; sleep 0.02; done",
        s = shared.display()
    );
    b.set_args(&["sh", "-c", &script]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    (id, shared)
}

fn limit_inside(shared: &Path) -> String {
    let _ = fs::remove_file(shared.join("limit"));
    fs::write(shared.join("go"), "").unwrap();
    wait_for_file(&shared.join("limit"), T).trim().to_string()
}

/// runc `update --memory`: the new limit is written to the container's
/// memory cgroup (memory value strings take units: `64m`); the container sees
/// it in its own cgroup through its cgroup namespace.
#[test]
fn update_memory_limit_host_and_inside() {
    let sb = Sandbox::new();
    let (id, shared) = limit_reporter(&sb);
    let file = cg_dir("memory", &id).join(memory_limit_file());
    sb.cmd(&["update", "--memory", "64m", &id]).run().ok();
    assert_eq!(read(&file).trim(), "67108864");
    assert_eq!(limit_inside(&shared), "67108864");

    sb.cmd(&["update", "--memory", "96m", "--memory-swap", "-1", &id])
        .run()
        .ok();
    assert_eq!(read(&file).trim(), "100663296");
    assert_eq!(limit_inside(&shared), "100663296");
}

/// runc `update --pids-limit`: written to pids.max; a later update of
/// another resource leaves it in place.
#[test]
fn update_pids_limit() {
    let sb = Sandbox::new();
    let (id, _) = sleeping(&sb);
    let file = cg_dir("pids", &id).join("pids.max");
    sb.cmd(&["update", "--pids-limit", "10", &id]).run().ok();
    assert_eq!(read(&file).trim(), "10");
    sb.cmd(&["update", "--memory", "128m", &id]).run().ok();
    assert_eq!(
        read(&file).trim(),
        "10",
        "pids.max changed by a memory update"
    );
    sb.cmd(&["update", "--pids-limit", "-1", &id]).run().ok();
    assert_eq!(read(&file).trim(), "max");
}

/// runc `update --resources -` reads the LinuxResources JSON from stdin (what
/// docker sends through containerd-shim); zero values mean "unchanged".
#[test]
fn update_resources_from_stdin() {
    let sb = Sandbox::new();
    let (id, _) = sleeping(&sb);
    let json_path = sb.dir.join("resources.json");
    fs::write(
        &json_path,
        json!({
            "memory": {"limit": 50331648, "reservation": 0, "swap": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
            "blockIO": {"weight": 0},
            "pids": {"limit": 7}
        })
        .to_string(),
    )
    .unwrap();
    sb.cmd(&["update", "--resources", "-", &id])
        .fd(0, open_read(&json_path))
        .run()
        .ok();
    assert_eq!(
        read(cg_dir("memory", &id).join(memory_limit_file())).trim(),
        "50331648"
    );
    assert_eq!(read(cg_dir("pids", &id).join("pids.max")).trim(), "7");
}

/// runc `update --resources FILE` (what podman passes) and `--cpu-quota` /
/// `--cpu-period` land in the CFS bandwidth files.
#[test]
fn update_resources_from_file_and_cpu_flags() {
    let sb = Sandbox::new();
    let (id, _) = sleeping(&sb);
    let json_path = sb.dir.join("resources.json");
    fs::write(&json_path, r#"{"memory": {"limit": 33554432}}"#).unwrap();
    sb.cmd(&["update", "-r"])
        .arg(&json_path)
        .arg(&id)
        .run()
        .ok();
    assert_eq!(
        read(cg_dir("memory", &id).join(memory_limit_file())).trim(),
        "33554432"
    );
    sb.cmd(&[
        "update",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "50000",
        &id,
    ])
    .run()
    .ok();
    if cgroup_v2() {
        assert_eq!(
            read(cg_dir("cpu", &id).join("cpu.max")).trim(),
            "50000 100000"
        );
    } else {
        assert_eq!(
            read(cg_dir("cpu", &id).join("cpu.cfs_quota_us")).trim(),
            "50000"
        );
        assert_eq!(
            read(cg_dir("cpu", &id).join("cpu.cfs_period_us")).trim(),
            "100000"
        );
    }
}

/// runc libcontainer `Set`: a stopped container cannot be updated ("container
/// not running"); an unknown id is an error; a memory value that is not a
/// size is refused.
#[test]
fn update_errors() {
    let sb = Sandbox::new();
    let gone = stopped(&sb);
    sb.cmd(&["update", "--memory", "64m", &gone])
        .run()
        .err_mentions(&["not running"]);
    let (id, _) = sleeping(&sb);
    let file = cg_dir("memory", &id).join(memory_limit_file());
    let before = read(&file);
    sb.cmd(&["update", "--memory", "lots", &id])
        .run()
        .err_mentions(&["invalid"]);
    assert_eq!(read(&file), before, "a refused update changed the limit");
}

/// runc `update --l3-cache-schema` / `--mem-bw-schema` need Intel RDT; on a
/// host without resctrl (and always with husk) they are an error, never
/// silently dropped.
#[test]
fn update_intel_rdt_flags_are_refused() {
    if Path::new("/sys/fs/resctrl/schemata").exists() {
        eprintln!("SKIP: this host has resctrl mounted");
        return;
    }
    let sb = Sandbox::new();
    let (id, _) = sleeping(&sb);
    sb.cmd(&["update", "--l3-cache-schema", "L3:0=f", &id])
        .run()
        .err_mentions(&["rdt", "l3"]);
    sb.cmd(&["update", "--mem-bw-schema", "MB:0=50", &id])
        .run()
        .err_mentions(&["rdt", "mem"]);
}

// ---------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------

/// runc `events --stats`: one `{"type":"stats","id":ID,"data":{…}}` object
/// with the cgroup's numbers under runc's field names (memory.usage.usage,
/// pids.current, cpu.usage.total), then exit.
#[test]
fn events_stats_reports_usage() {
    let sb = Sandbox::new();
    let (id, _) = sleeping(&sb);
    let out = sb.cmd(&["events", "--stats", &id]).run().ok();
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "one event expected: {out}");
    let v: Value = serde_json::from_str(&lines[0]).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], id.as_str());
    let d = &v["data"];
    assert!(
        d["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{d}"
    );
    assert!(
        d["memory"]["usage"]["limit"].as_u64().unwrap_or(0) > 0,
        "{d}"
    );
    assert!(d["pids"]["current"].as_u64().unwrap_or(0) >= 1, "{d}");
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0, "{d}");
}

/// runc `events` (no --stats): a stats event every `--interval` until the
/// container is gone; `events` of a stopped container is an error.
#[test]
fn events_stream_until_the_container_is_gone() {
    let sb = Sandbox::new();
    // Stopped by a kill after a while rather than by itself: under a slow
    // (emulated) machine `events` may start late, and would then find the
    // container already stopped.
    let b = sb.bundle(&["sleep", "100"]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    let out = thread::scope(|s| {
        let events = s.spawn(|| {
            sb.cmd(&["events", "--interval", "200ms", &id])
                .timeout(Duration::from_secs(30))
                .run()
        });
        // Enough for three 200 ms samples even where starting husk takes
        // about 2 s (debug build in the emulated VM, tests in parallel).
        thread::sleep(Duration::from_secs(5));
        sb.kill(&id, "KILL").ok();
        sb.wait_status(&id, "stopped", T);
        // runc's stream ends once the cgroup is removed.
        sb.delete(&id).ok();
        events.join().unwrap()
    });
    let out = out.ok();
    let stats: Vec<Value> = out
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {out}")))
        .collect();
    assert!(
        stats.len() >= 3,
        "expected a stats event every 200ms: {out}"
    );
    assert!(
        stats
            .iter()
            .all(|e| e["type"] == "stats" && e["id"] == id.as_str()),
        "{out}"
    );

    let gone = stopped(&sb);
    sb.cmd(&["events", "--stats", &gone])
        .run()
        .err_mentions(&["not running"]);
}

/// runc `events` reports `{"type":"oom","id":ID}` when the container's memory
/// cgroup runs out of memory.
#[test]
fn events_report_oom() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let shared = sb.shared_dir(&mut b);
    // No swap to fall back on: the limit covers memory+swap.
    b.linux()["resources"]["memory"] = json!({"limit": 16777216, "swap": 16777216});
    // An OOM kill every 0.2 s until the test has seen one reported: however
    // late `events` starts watching (a slow, emulated VM), a later one reaches it.
    let script = format!(
        "while [ ! -e {s}/stop ]; do dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 0.2; done; \
         sleep 1000",
        s = shared.display()
    );
    b.set_args(&["sh", "-c", &script]);
    let (id, _) = sb.create_ok(&b);
    sb.start(&id).ok();
    let events_out = sb.dir.join("events.out");
    let oom = json!({"type": "oom", "id": id});
    let saw_oom = || {
        read(&events_out)
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).ok().as_ref() == Some(&oom))
    };
    let (seen, out) = thread::scope(|s| {
        let events = s.spawn(|| {
            sb.cmd(&["events", "--interval", "60s", &id])
                .fd(1, fs::File::create(&events_out).unwrap())
                .timeout(Duration::from_secs(90))
                .run()
        });
        let seen = wait_until(Duration::from_secs(60), saw_oom);
        fs::write(shared.join("stop"), "").unwrap();
        sb.kill(&id, "KILL").ok();
        sb.wait_status(&id, "stopped", T);
        sb.delete(&id).ok();
        (seen, events.join().unwrap())
    });
    out.ok();
    assert!(seen, "no oom event: {}", read(&events_out));
}

// ---------------------------------------------------------------------------
// every command: unknown ids
// ---------------------------------------------------------------------------

/// runc: every command that names a container fails when it does not exist.
#[test]
fn unknown_id_is_an_error() {
    let sb = Sandbox::new();
    let id = sb.new_id();
    for args in [
        vec!["pause", id.as_str()],
        vec!["resume", id.as_str()],
        vec!["ps", id.as_str()],
        vec!["ps", "--format", "json", id.as_str()],
        vec!["update", "--memory", "64m", id.as_str()],
        vec!["events", "--stats", id.as_str()],
    ] {
        sb.cmd(&args).run().err_mentions(&["does not exist"]);
    }
}

// ---------------------------------------------------------------------------
// features
// ---------------------------------------------------------------------------

/// features.md: `features` prints a JSON document with the OCI versions, the
/// known hooks and mount options, and under `linux` the namespaces,
/// capabilities, cgroup drivers and seccomp actions/operators/architectures.
#[test]
fn features_document() {
    let sb = Sandbox::new();
    let out = sb.cmd(&["features"]).run().ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert!(
        v["ociVersionMax"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    let has = |list: &Value, item: &str| {
        list.as_array()
            .unwrap_or_else(|| panic!("not a list: {list}"))
            .iter()
            .any(|x| x == item)
    };
    for hook in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert!(has(&v["hooks"], hook), "hooks lack {hook}: {v}");
    }
    for opt in ["ro", "nosuid", "rbind", "rprivate"] {
        assert!(has(&v["mountOptions"], opt), "mountOptions lack {opt}");
    }
    let l = &v["linux"];
    for ns in ["pid", "network", "mount", "ipc", "uts", "user", "cgroup"] {
        assert!(has(&l["namespaces"], ns), "namespaces lack {ns}: {l}");
    }
    assert!(has(&l["capabilities"], "CAP_SYS_ADMIN"), "{l}");
    assert_eq!(l["cgroup"]["v1"], true);
    assert_eq!(l["seccomp"]["enabled"], true);
    for a in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"] {
        assert!(has(&l["seccomp"]["actions"], a), "seccomp actions lack {a}");
    }
    assert!(has(&l["seccomp"]["operators"], "SCMP_CMP_EQ"));
    assert!(!l["seccomp"]["archs"].as_array().unwrap().is_empty());
}
