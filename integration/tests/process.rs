//! config.md "Process", "POSIX process", "Linux Process", "User";
//! runtime-linux.md "File descriptors"; runc CLI `--preserve-fds`.
//!
//! Inside the container the configured process is pid 1, so `/proc/1/*`
//! shows exactly what the runtime set up before exec.

use integration::*;
use serde_json::json;
use std::fs;

/// /proc/1/status of the container process itself ("; true" keeps sh from
/// exec'ing cat, so pid 1 is still the process the runtime started).
fn proc1_status(sb: &Sandbox, b: &mut Bundle) -> String {
    sb.sh(b, "cat /proc/1/status; true")
}

fn hex(status: &str, key: &str) -> u64 {
    let v = status_field(status, key).unwrap_or_else(|| panic!("{key} missing in {status}"));
    u64::from_str_radix(&v, 16).unwrap()
}

/// config.md "Process" `args`: passed verbatim as argv (execvp semantics).
#[test]
fn args_are_passed_verbatim() {
    let sb = Sandbox::new();
    let b = sb.bundle(&[
        "sh",
        "-c",
        "printf '%s|' \"$0\" \"$@\"",
        "zero",
        "a b",
        "",
        "c*",
    ]);
    assert_eq!(sb.run_ok(&b), "zero|a b||c*|");
}

/// config.md "Process" `args`: args[0] is looked up like execvp's *file*,
/// using the container's PATH.
#[test]
fn args0_is_resolved_with_container_path() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["greet", "x"]);
    let p = b.write_file("/opt/tools/greet", "#!/bin/sh\necho greeted \"$1\"\n");
    fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    b.process()["env"] = json!(["PATH=/opt/tools:/bin"]);
    assert_eq!(sb.run_ok(&b), "greeted x");
}

/// config.md "Process" `env`: the process environment is exactly `env`
/// (the runtime's own environment does not leak in; runc adds HOME).
#[test]
fn env_is_exactly_configured() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let env = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c"];
    b.process()["env"] = json!(env);
    // "; true" keeps sh as pid 1 (no exec), so /proc/1/environ is what the runtime passed.
    b.set_args(&["sh", "-c", "tr '\\0' '\\n' < /proc/1/environ; true"]);
    let out = sb.run(&b).ok().stdout;
    let mut got: Vec<&str> = out.lines().filter(|l| !l.starts_with("HOME=")).collect();
    got.sort();
    let mut want = env.to_vec();
    want.sort();
    assert_eq!(got, want, "full environ: {out}");
}

/// config.md "Process" `cwd`: the working directory of the process.
#[test]
fn cwd_is_applied() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.mkdir("/srv/work dir");
    b.process()["cwd"] = json!("/srv/work dir");
    assert_eq!(
        sb.sh(&mut b, "pwd; readlink /proc/1/cwd"),
        "/srv/work dir\n/srv/work dir"
    );
}

/// config.md "User": uid and gid are applied (real, effective, saved, fs).
#[test]
fn user_uid_gid() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["user"] = json!({ "uid": 1000, "gid": 1001 });
    let st = proc1_status(&sb, &mut b);
    assert_eq!(
        status_field(&st, "Uid")
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["1000"; 4]
    );
    assert_eq!(
        status_field(&st, "Gid")
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["1001"; 4]
    );
}

/// config.md "User" `additionalGids`: added to the process's groups.
#[test]
fn user_additional_gids() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["user"] = json!({ "uid": 1000, "gid": 1000, "additionalGids": [5, 2000, 70000] });
    let st = proc1_status(&sb, &mut b);
    let mut groups: Vec<u32> = status_field(&st, "Groups")
        .unwrap()
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    groups.retain(|g| *g != 1000);
    groups.sort();
    assert_eq!(groups, [5, 2000, 70000]);
}

/// config.md "User": without additionalGids the process has no
/// supplementary groups of the runtime's (root's groups are not inherited).
#[test]
fn user_no_additional_gids() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["user"] = json!({ "uid": 1000, "gid": 1000 });
    let st = proc1_status(&sb, &mut b);
    let groups = status_field(&st, "Groups").unwrap_or_default();
    assert!(
        groups.split_whitespace().all(|g| g == "1000"),
        "Groups: {groups}"
    );
}

/// config.md "User" `umask`: applied to the process.
#[test]
fn user_umask() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["user"]["umask"] = json!(0o027);
    let out = sb.sh(
        &mut b,
        "umask; touch /dev/shm/f; mkdir /dev/shm/d; stat -c %a /dev/shm/f /dev/shm/d",
    );
    assert_eq!(out.lines().collect::<Vec<_>>(), ["0027", "640", "750"]);
}

/// config.md "POSIX process" `rlimits`: getrlimit MUST return the
/// configured soft and hard values.
#[test]
fn rlimits_are_applied() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["rlimits"] = json!([
        { "type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000 },
        { "type": "RLIMIT_CORE", "soft": 0, "hard": 4096 },
        { "type": "RLIMIT_MSGQUEUE", "soft": 1000, "hard": 2000 },
        { "type": "RLIMIT_NPROC", "soft": 333, "hard": 444 }
    ]);
    let out = sb.sh(&mut b, "ulimit -n; ulimit -Hn; cat /proc/1/limits; true");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["512", "1000"]);
    let limit = |name: &str| {
        let l = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {out}"));
        l[name.len()..]
            .split_whitespace()
            .take(2)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(limit("Max open files"), ["512", "1000"]);
    assert_eq!(limit("Max core file size"), ["0", "4096"]);
    assert_eq!(limit("Max msgqueue size"), ["1000", "2000"]);
    assert_eq!(limit("Max processes"), ["333", "444"]);
}

/// config.md "POSIX process" `rlimits`: the runtime MUST generate an error
/// for a type that cannot be mapped to a kernel interface.
#[test]
fn rlimit_unknown_type_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.process()["rlimits"] = json!([{ "type": "RLIMIT_BOGUS", "soft": 1, "hard": 1 }]);
    let id = sb.new_id();
    let out = sb.create(&id, &b).err_mentions(&["rlimit", "RLIMIT_BOGUS"]);
    sb.assert_nothing_left(&id, &out);
}

/// config.md "POSIX process" `rlimits`: duplicated entries with the same type
/// MUST generate an error.
#[test]
fn rlimit_duplicate_type_fails() {
    if skip_on_runc("runc 1.1.5 accepts duplicated rlimits (the last one wins)") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    // Decreasing values, so applying both would succeed without CAP_SYS_RESOURCE.
    b.process()["rlimits"] = json!([
        { "type": "RLIMIT_NOFILE", "soft": 200, "hard": 200 },
        { "type": "RLIMIT_NOFILE", "soft": 100, "hard": 100 }
    ]);
    let id = sb.new_id();
    let out = sb.create(&id, &b).err_mentions(&["rlimit", "duplicate"]);
    sb.assert_nothing_left(&id, &out);
}

/// config.md "Linux Process" `oomScoreAdj`: if set, the runtime MUST set
/// oom_score_adj to it. (Positive values only: lowering needs
/// CAP_SYS_RESOURCE, which CI lacks.)
#[test]
fn oom_score_adj_set() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["oomScoreAdj"] = json!(523);
    assert_eq!(sb.sh(&mut b, "cat /proc/1/oom_score_adj; true"), "523");
}

/// config.md "Linux Process" `oomScoreAdj`: if not set, the runtime MUST NOT
/// change oom_score_adj (the container inherits the caller's value).
#[test]
fn oom_score_adj_unset_is_inherited() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let mine = read("/proc/self/oom_score_adj").trim().to_string();
    assert_eq!(sb.sh(&mut b, "cat /proc/1/oom_score_adj; true"), mine);
}

/// config.md "Linux Process" `capabilities`: with the default (runc spec)
/// set the process has exactly those capabilities; nothing is added.
#[test]
fn capabilities_default_set_exactly() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let st = proc1_status(&sb, &mut b);
    let want = cap_mask(DEFAULT_CAPS);
    assert_eq!(hex(&st, "CapBnd"), want, "CapBnd");
    assert_eq!(hex(&st, "CapEff"), want, "CapEff");
    assert_eq!(hex(&st, "CapPrm"), want, "CapPrm");
    assert_eq!(hex(&st, "CapInh"), 0, "CapInh");
    assert_eq!(hex(&st, "CapAmb"), 0, "CapAmb");
}

/// config.md "Linux Process" `capabilities`: custom bounding, effective,
/// permitted and inheritable sets for root.
#[test]
fn capabilities_custom_root() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let set = ["CAP_CHOWN", "CAP_SETUID", "CAP_NET_RAW", "CAP_SYS_CHROOT"];
    b.process()["capabilities"] = json!({
        "bounding": set, "effective": set, "permitted": set, "inheritable": ["CAP_CHOWN"]
    });
    let st = proc1_status(&sb, &mut b);
    assert_eq!(hex(&st, "CapBnd"), cap_mask(&set));
    assert_eq!(hex(&st, "CapEff"), cap_mask(&set));
    assert_eq!(hex(&st, "CapPrm"), cap_mask(&set));
    assert_eq!(hex(&st, "CapInh"), cap_mask(&["CAP_CHOWN"]));
    assert_eq!(hex(&st, "CapAmb"), 0);
}

/// config.md "Linux Process" `capabilities`: ambient capabilities reach a
/// non-root process (which otherwise loses all capabilities on exec).
#[test]
fn capabilities_ambient_non_root() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let set = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    b.process()["user"] = json!({ "uid": 1000, "gid": 1000 });
    b.process()["capabilities"] = json!({
        "bounding": set, "effective": set, "permitted": set, "inheritable": set, "ambient": set
    });
    let st = proc1_status(&sb, &mut b);
    for key in ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(hex(&st, key), cap_mask(&set), "{key}");
    }
}

/// config.md "Linux Process" `capabilities`: a non-root process without
/// ambient capabilities ends up with empty effective/permitted sets.
#[test]
fn capabilities_non_root_without_ambient() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["user"] = json!({ "uid": 1000, "gid": 1000 });
    let st = proc1_status(&sb, &mut b);
    assert_eq!(hex(&st, "CapEff"), 0);
    assert_eq!(hex(&st, "CapPrm"), 0);
    assert_eq!(hex(&st, "CapBnd"), cap_mask(DEFAULT_CAPS));
}

/// config.md "Linux Process" `capabilities`: a dropped capability is really
/// gone (chown without CAP_CHOWN fails; with it, it works).
#[test]
fn capabilities_are_enforced() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let script = "touch /dev/shm/f && chown 123 /dev/shm/f && echo chowned || echo denied";
    let with = ["CAP_CHOWN"];
    assert_eq!(sb.sh(&mut b, script), "denied");
    b.process()["capabilities"] = json!({ "bounding": with, "effective": with, "permitted": with });
    assert_eq!(sb.sh(&mut b, script), "chowned");
}

/// config.md "Linux Process" `noNewPrivileges`: true sets no_new_privs.
#[test]
fn no_new_privileges_true() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    assert_eq!(
        status_field(&proc1_status(&sb, &mut b), "NoNewPrivs").as_deref(),
        Some("1")
    );
}

/// config.md "Linux Process" `noNewPrivileges`: false leaves it unset.
#[test]
fn no_new_privileges_false() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.process()["noNewPrivileges"] = json!(false);
    assert_eq!(
        status_field(&proc1_status(&sb, &mut b), "NoNewPrivs").as_deref(),
        Some("0")
    );
}

/// runtime-linux.md "File descriptors": by default only stdin, stdout and
/// stderr are open in the process, even if the runtime was given more.
#[test]
fn only_stdio_fds_are_open() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sh", "-c", "ls /proc/1/fd; true"]);
    let leak = sb.dir.join("leaked");
    fs::write(&leak, "x").unwrap();
    let id = sb.new_id();
    b.save();
    let out = sb
        .cmd(&["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .fd(5, open_read(&leak))
        .run()
        .ok();
    assert_eq!(out.lines(), ["0", "1", "2"]);
}

/// runc CLI `--preserve-fds N`: fds 3..3+N are passed to the process
/// (runtime-linux.md: the runtime MAY pass additional fds); later ones are not.
#[test]
fn preserve_fds() {
    let sb = Sandbox::new();
    let b = sb.bundle(&["sh", "-c", "cat <&3; cat <&4; echo; ls /proc/1/fd; true"]);
    let (f3, f4, f5) = (sb.dir.join("f3"), sb.dir.join("f4"), sb.dir.join("f5"));
    fs::write(&f3, "three").unwrap();
    fs::write(&f4, "four").unwrap();
    fs::write(&f5, "five").unwrap();
    let id = sb.new_id();
    b.save();
    let out = sb
        .cmd(&["run", "--preserve-fds", "2", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .fd(3, open_read(&f3))
        .fd(4, open_read(&f4))
        .fd(5, open_read(&f5))
        .run()
        .ok();
    assert_eq!(out.lines(), ["threefour", "0", "1", "2", "3", "4"]);
}

/// runtime.md "Start": MUST generate an error if `process` was not set
/// (runc already refuses at create); nothing may run.
#[test]
fn missing_process_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.config.as_object_mut().unwrap().remove("process");
    let id = sb.new_id();
    let create = sb.create(&id, &b);
    if create.success() {
        sb.start(&id).err();
    } else {
        create.err_mentions(&["process"]);
    }
}

/// config.md "Process" `terminal`: with `terminal: true` the process gets a
/// pseudoterminal as stdio (runc's `run` relays it when no --console-socket
/// is given). Line endings come back as CRLF from the pty.
#[test]
fn terminal_gives_a_pty_in_foreground_run() {
    if skip_on_runc("runc 1.1.5 `run` opens /dev/tty and fails without a controlling terminal") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[
        "sh",
        "-c",
        "tty; test -t 0 && test -t 1 && echo both-ttys; exit 4",
    ]);
    b.process()["terminal"] = json!(true);
    let out = sb.run(&b);
    assert_eq!(
        out.code, 4,
        "exit code must be the container's: {}",
        out.stderr
    );
    assert!(out.stdout.contains("/dev/pts/"), "{:?}", out.stdout);
    assert!(out.stdout.contains("both-ttys\r\n"), "{:?}", out.stdout);
}
