//! A corpus of broken bundles: the harness's default config with one thing
//! broken in each. runtime.md "Errors": a failing `create` MUST leave the
//! environment as if it had never been attempted; config.md "Valid values":
//! an invalid value MUST generate an error.
//!
//! For every case, `create` must exit non-zero with one error line on
//! stderr that names the field (its JSON path, or the field's name when the
//! failure is the kernel's), and leave nothing: no state entry under --root,
//! no cgroup named after the id, no mount under the bundle, no process. The
//! same corpus through `husk validate` must list the same field (except the
//! cases that depend on create's flags or only fail when the kernel is asked).
//!
//! Each case names the spec requirement or runc behaviour it checks. runc
//! 1.1.5 accepts some of these bundles (or fails only at `start`): those are
//! skipped on runc with the reason; for the rest, runc must fail and leave
//! nothing too, and its message is printed for the record (runc's messages
//! carry no JSON paths).

use integration::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

type Break = fn(&Sandbox, &mut Bundle);

struct Case {
    name: &'static str,
    /// The spec requirement or runc behaviour the case checks.
    rule: &'static str,
    /// The error must name one of these (a JSON path or a field's name).
    names: &'static [&'static str],
    /// `husk validate` reports it too.
    validate: bool,
    /// Why runc 1.1.5 is not held to this case, if it is not.
    runc: Option<&'static str>,
    brk: Break,
}

impl Case {
    fn new(
        name: &'static str,
        rule: &'static str,
        names: &'static [&'static str],
        brk: Break,
    ) -> Case {
        Case {
            name,
            rule,
            names,
            validate: true,
            runc: None,
            brk,
        }
    }

    /// A failure only `create` can find (it depends on create's flags, or
    /// the kernel refuses the value only when asked).
    fn create_only(mut self) -> Case {
        self.validate = false;
        self
    }

    fn runc_accepts(mut self, why: &'static str) -> Case {
        self.runc = Some(why);
        self
    }
}

/// Replace config.json with `text` (the harness then leaves it alone).
fn raw(b: &mut Bundle, text: &str) {
    b.write_config = false;
    fs::write(b.config_path(), text).unwrap();
}

fn push_ns(b: &mut Bundle, ns: Value) {
    b.linux()["namespaces"].as_array_mut().unwrap().push(ns);
}

fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().unwrap().remove(key);
}

fn seccomp(b: &mut Bundle, syscalls: Value) {
    b.linux()["seccomp"] = json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls });
}

/// A valid tmpfs mount at /mnt, as mounts[7] (the default config has 7).
fn tmpfs_mount(b: &mut Bundle, extra: Value) {
    let mut m = json!({ "destination": "/mnt", "type": "tmpfs", "source": "tmpfs" });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    b.add_mount(m);
}

fn corpus() -> Vec<Case> {
    vec![
        // ---------------------------------------------------------- the file
        Case::new("config_not_json", "config.md: config.json is JSON; runtime.md create MUST fail on an invalid config", &["config.json"],
            |_, b| raw(b, "{ \"ociVersion\": ")),
        Case::new("config_top_level_array", "config.md: the configuration is a JSON object", &["config.json"],
            |_, b| raw(b, "[]")),
        Case::new("config_over_16mib", "husk: a config.json over 16 MiB is refused before it is read into memory", &["config.json"],
            |_, b| {
                let mut data = serde_json::to_vec(&b.config).unwrap();
                data.resize(data.len() + (17 << 20), b' ');
                b.write_config = false;
                fs::write(b.config_path(), data).unwrap();
            }).runc_accepts("runc reads a config.json of any size"),
        Case::new("config_is_a_directory", "bundle.md: config.json is a file", &["config.json"],
            |_, b| { b.write_config = false; fs::create_dir(b.config_path()).unwrap(); }),
        Case::new("config_is_dev_zero", "husk: config.json must be a regular file (a device could be read forever)", &["config.json"],
            |_, b| { b.write_config = false; std::os::unix::fs::symlink("/dev/zero", b.config_path()).unwrap(); })
            .runc_accepts("runc 1.1.5 reads /dev/zero until it runs out of memory"),
        Case::new("config_is_a_fifo", "husk: config.json must be a regular file (opening a fifo would block forever)", &["config.json"],
            |_, b| {
                b.write_config = false;
                let c = std::ffi::CString::new(b.config_path().to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            })
            .runc_accepts("runc 1.1.5 blocks opening it"),
        Case::new("bundle_missing", "runtime.md create: the bundle MUST exist", &["bundle"],
            |_, b| { b.write_config = false; b.dir = b.dir.join("no-such-bundle"); }),
        // ---------------------------------------------------------- ociVersion
        Case::new("oci_version_missing", "config.md: ociVersion is REQUIRED", &["ociVersion"],
            |_, b| remove(&mut b.config, "ociVersion")).runc_accepts("runc 1.1.5 does not check ociVersion"),
        Case::new("oci_version_2", "config.md: ociVersion MUST be a version the runtime implements (1.x)", &["ociVersion"],
            |_, b| b.config["ociVersion"] = json!("2.0.0")).runc_accepts("runc 1.1.5 does not check ociVersion"),
        Case::new("oci_version_number", "config.md: ociVersion is a string", &["ociVersion"],
            |_, b| b.config["ociVersion"] = json!(1)),
        // ---------------------------------------------------------- root
        Case::new("root_missing", "config.md: root is REQUIRED on Linux", &["root"],
            |_, b| remove(&mut b.config, "root")),
        Case::new("root_path_empty", "config.md root.path: REQUIRED, a path to the root filesystem", &["root.path"],
            |_, b| b.config["root"]["path"] = json!("")),
        Case::new("root_path_missing_dir", "config.md root.path: a directory MUST exist at the path", &["root.path"],
            |_, b| b.config["root"]["path"] = json!("no-such-rootfs")),
        Case::new("root_path_is_file", "config.md root.path: the path names a directory", &["root.path"],
            |_, b| { fs::write(b.dir.join("rootfile"), "").unwrap(); b.config["root"]["path"] = json!("rootfile"); }),
        Case::new("root_path_number", "config.md root.path: a string", &["root.path"],
            |_, b| b.config["root"]["path"] = json!(42)),
        Case::new("root_readonly_string", "config.md root.readonly: a bool", &["root.readonly"],
            |_, b| b.config["root"]["readonly"] = json!("yes")),
        // ---------------------------------------------------------- process
        Case::new("args_empty", "config.md process.args: at least one entry is REQUIRED", &["process.args"],
            |_, b| b.set_args(&[])),
        Case::new("args_missing", "config.md process.args: REQUIRED", &["process.args"],
            |_, b| remove(b.process(), "args")),
        Case::new("args_first_empty", "config.md process.args: the first entry names the executable", &["process.args"],
            |_, b| b.set_args(&[""])),
        Case::new("args_not_array", "config.md process.args: an array of strings", &["process.args"],
            |_, b| b.process()["args"] = json!("true")),
        Case::new("args_with_nul", "execve(2): an argument cannot hold a NUL byte", &["process.args[1]"],
            |_, b| b.set_args(&["true", "a\u{0}b"])).runc_accepts("runc 1.1.5 fails only at start (execve)"),
        Case::new("cwd_relative", "config.md process.cwd: MUST be an absolute path", &["process.cwd"],
            |_, b| b.process()["cwd"] = json!("relative/dir")),
        Case::new("cwd_missing", "config.md process.cwd: REQUIRED", &["process.cwd"],
            |_, b| remove(b.process(), "cwd")),
        Case::new("env_without_equals", "config.md process.env: entries are KEY=VALUE (runc: missing '=')", &["process.env[2]"],
            |_, b| b.process()["env"].as_array_mut().unwrap().push(json!("NOEQUALS"))),
        Case::new("env_empty_name", "config.md process.env: KEY=VALUE (runc: name cannot be empty)", &["process.env[2]"],
            |_, b| b.process()["env"].as_array_mut().unwrap().push(json!("=value"))),
        Case::new("env_not_strings", "config.md process.env: an array of strings", &["process.env[0]"],
            |_, b| b.process()["env"] = json!([1])),
        Case::new("uid_negative", "config.md process.user.uid: a uint32", &["process.user.uid"],
            |_, b| b.process()["user"]["uid"] = json!(-1)),
        Case::new("uid_over_u32", "config.md process.user.uid: a uint32", &["process.user.uid"],
            |_, b| b.process()["user"]["uid"] = json!(4294967296u64)),
        Case::new("uid_is_minus_one", "setresuid(2): 4294967295 is (uid_t)-1, 'unchanged', never a user", &["process.user.uid"],
            |_, b| b.process()["user"]["uid"] = json!(4294967295u64)),
        Case::new("gid_is_minus_one", "setresgid(2): 4294967295 is (gid_t)-1, never a group", &["process.user.gid"],
            |_, b| b.process()["user"]["gid"] = json!(4294967295u64)),
        Case::new("additional_gid_negative", "config.md process.user.additionalGids: uint32s", &["process.user.additionalGids[0]"],
            |_, b| b.process()["user"]["additionalGids"] = json!([-5])),
        Case::new("rlimit_soft_above_hard", "setrlimit(2): soft MUST NOT exceed hard (EINVAL)", &["process.rlimits[0]"],
            |_, b| b.process()["rlimits"] = json!([{ "type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024 }])),
        Case::new("rlimit_unknown_type", "config.md process.rlimits: a type that maps to no kernel resource MUST be an error", &["process.rlimits[0].type"],
            |_, b| b.process()["rlimits"] = json!([{ "type": "RLIMIT_BOGUS", "soft": 1, "hard": 1 }])),
        Case::new("rlimit_duplicate", "config.md process.rlimits: duplicated types MUST be an error", &["process.rlimits[1].type"],
            |_, b| b.process()["rlimits"] = json!([
                { "type": "RLIMIT_NOFILE", "soft": 200, "hard": 200 },
                { "type": "RLIMIT_NOFILE", "soft": 100, "hard": 100 }
            ])).runc_accepts("runc 1.1.5 accepts duplicated rlimits (the last one wins)"),
        Case::new("rlimit_hard_negative", "config.md process.rlimits[].hard: a uint64", &["process.rlimits[0].hard"],
            |_, b| b.process()["rlimits"][0]["hard"] = json!(-1)),
        Case::new("capability_unknown", "runtime-tools process_capabilities_fail: an unknown capability (CAP_TEST) MUST be an error", &["process.capabilities.bounding"],
            |_, b| b.process()["capabilities"]["bounding"].as_array_mut().unwrap().push(json!("CAP_TEST")))
            .runc_accepts("runc 1.1.5 warns (ignoring unknown or unavailable capabilities) and goes on"),
        Case::new("capability_unknown_ambient", "config.md process.capabilities: names are capabilities(7) names", &["process.capabilities.ambient"],
            |_, b| b.process()["capabilities"]["ambient"] = json!(["CAP_NOPE"]))
            .runc_accepts("runc 1.1.5 warns (ignoring unknown or unavailable capabilities) and goes on"),
        Case::new("capability_not_string", "config.md process.capabilities: arrays of strings", &["process.capabilities.permitted[0]"],
            |_, b| b.process()["capabilities"]["permitted"] = json!([5])),
        Case::new("effective_not_permitted", "capset(2): effective MUST be a subset of permitted (runc fails in capset)", &["process.capabilities.effective"],
            |_, b| b.process()["capabilities"]["effective"].as_array_mut().unwrap().push(json!("CAP_SYS_ADMIN"))),
        Case::new("oom_score_adj_out_of_range", "proc(5) oom_score_adj: -1000..1000 (the kernel refuses 1001)", &["process.oomScoreAdj"],
            |_, b| b.process()["oomScoreAdj"] = json!(1001)),
        Case::new("terminal_without_console_socket", "runc: a terminal needs --console-socket when create detaches", &["process.terminal", "console"],
            |_, b| b.process()["terminal"] = json!(true)).create_only(),
        Case::new("no_new_privileges_string", "config.md process.noNewPrivileges: a bool", &["process.noNewPrivileges"],
            |_, b| b.process()["noNewPrivileges"] = json!("yes")),
        Case::new("process_not_object", "config.md process: an object", &["process"],
            |_, b| b.config["process"] = json!("true")),
        // ---------------------------------------------------------- hostname
        Case::new("hostname_too_long", "sethostname(2): at most HOST_NAME_MAX (64) bytes", &["hostname"],
            |_, b| b.config["hostname"] = json!("h".repeat(65))),
        Case::new("hostname_without_uts", "config.md hostname: needs a new UTS namespace (runc: unable to set hostname without a private UTS namespace)", &["hostname"],
            |_, b| b.remove_namespace("uts")),
        Case::new("domainname_too_long", "setdomainname(2): at most 64 bytes", &["domainname"],
            |_, b| b.config["domainname"] = json!("d".repeat(65)))
            .runc_accepts("runc 1.1.5 fails only when the init sets it, after create returned"),
        Case::new("hostname_number", "config.md hostname: a string", &["hostname"],
            |_, b| b.config["hostname"] = json!(5)),
        // ---------------------------------------------------------- mounts
        Case::new("mount_destination_escapes", "config.md mounts: the destination is inside the container; one climbing out with .. is refused", &["mounts[7].destination"],
            |_, b| tmpfs_mount(b, json!({ "destination": "../../../husk-escape" })))
            .runc_accepts("runc 1.1.5 resolves .. inside the rootfs (securejoin) and mounts there"),
        Case::new("mount_destination_dotdot", "husk: no .. in a mount destination at all", &["mounts[7].destination"],
            |_, b| tmpfs_mount(b, json!({ "destination": "/mnt/../tmp" })))
            .runc_accepts("runc 1.1.5 cleans the path"),
        Case::new("mount_destination_empty", "config.md mounts[].destination: REQUIRED, a path", &["mounts[7].destination"],
            |_, b| tmpfs_mount(b, json!({ "destination": "" }))),
        Case::new("mount_destination_missing", "config.md mounts[].destination: REQUIRED", &["mounts[7].destination"],
            |_, b| b.add_mount(json!({ "type": "tmpfs", "source": "tmpfs" }))),
        Case::new("mount_option_idmap", "config.md idmap: without mappings and without a user namespace an error MUST be returned", &["mounts[7].options"],
            |_, b| tmpfs_mount(b, json!({ "options": ["idmap"] }))),
        Case::new("mount_option_recursive_ro", "husk: recursive mount attributes (rro) are refused (not supported yet)", &["mounts[7].options[1]"],
            |_, b| tmpfs_mount(b, json!({ "options": ["nosuid", "rro"] })))
            .runc_accepts("runc 1.1.5 supports rro"),
        Case::new("mount_options_not_array", "config.md mounts[].options: an array of strings", &["mounts[7].options"],
            |_, b| tmpfs_mount(b, json!({ "options": "ro" }))),
        Case::new("bind_source_missing", "runtime.md lifecycle 2: a bind mount whose source does not exist cannot be made", &["mounts[7].source"],
            |sb, b| b.add_mount(json!({ "destination": "/mnt", "type": "bind", "source": sb.dir.join("nope"), "options": ["rbind"] }))),
        Case::new("bind_without_source", "config.md mounts[].source: a bind mount needs one", &["mounts[7].source"],
            |_, b| b.add_mount(json!({ "destination": "/mnt", "type": "bind", "options": ["rbind"] })))
            .runc_accepts("runc 1.1.5 bind-mounts the bundle directory (an empty source is relative to it)"),
        Case::new("mount_unknown_type", "runtime.md lifecycle 2: an unknown filesystem type (ENODEV) MUST fail create", &["mounts[7]"],
            |_, b| b.add_mount(json!({ "destination": "/mnt", "type": "huskbogusfs", "source": "none" }))).create_only(),
        Case::new("mounts_not_array", "config.md mounts: an array", &["mounts"],
            |_, b| b.config["mounts"] = json!({})),
        // ---------------------------------------------------------- hooks
        Case::new("hook_path_relative", "config.md hooks[].path: MUST be absolute", &["hooks.prestart[0].path"],
            |_, b| b.config["hooks"] = json!({ "prestart": [{ "path": "bin/true" }] })),
        Case::new("hook_path_missing", "config.md hooks: a createRuntime hook that cannot run MUST fail create", &["hooks.createRuntime[0].path"],
            |_, b| b.config["hooks"] = json!({ "createRuntime": [{ "path": "/no/such/hook" }] })),
        Case::new("hook_not_executable", "config.md hooks[].path: an executable (runs in the runtime namespace)", &["hooks.createRuntime[0].path"],
            |sb, b| {
                let p = sb.dir.join(format!("not-exec-{}", b.dir.file_name().unwrap().to_string_lossy()));
                fs::write(&p, "#!/bin/sh\n").unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
                b.config["hooks"] = json!({ "createRuntime": [{ "path": p }] });
            }),
        Case::new("poststop_hook_missing", "config.md hooks[].path: checked at create, not discovered at delete", &["hooks.poststop[0].path"],
            |_, b| b.config["hooks"] = json!({ "poststop": [{ "path": "/no/such/poststop" }] }))
            .runc_accepts("runc 1.1.5 only runs (and warns about) poststop hooks at delete"),
        Case::new("hook_timeout_zero", "config.md hooks[].timeout: MUST be greater than zero", &["hooks.createRuntime[0].timeout"],
            |_, b| b.config["hooks"] = json!({ "createRuntime": [{ "path": "/bin/true", "timeout": 0 }] })),
        Case::new("hook_path_field_missing", "config.md hooks[].path: REQUIRED", &["hooks.prestart[0].path"],
            |_, b| b.config["hooks"] = json!({ "prestart": [{ "args": ["x"] }] })),
        Case::new("hook_env_without_equals", "config.md hooks[].env: KEY=VALUE entries", &["hooks.createRuntime[0].env[0]"],
            |_, b| b.config["hooks"] = json!({ "createRuntime": [{ "path": "/bin/true", "env": ["NOEQUALS"] }] }))
            .runc_accepts("runc 1.1.5 passes the entry on"),
        Case::new("hooks_not_object", "config.md hooks: an object", &["hooks"],
            |_, b| b.config["hooks"] = json!("none")),
        // ---------------------------------------------------------- linux
        Case::new("linux_missing", "config.md platform: linux is REQUIRED for a Linux container", &["linux"],
            |_, b| remove(&mut b.config, "linux"))
            .runc_accepts("runc 1.1.5 would set the container up in the host's namespaces"),
        Case::new("namespace_unknown_type", "config-linux.md namespaces: an unknown type MUST be an error", &["linux.namespaces[6].type"],
            |_, b| push_ns(b, json!({ "type": "bogus" }))),
        Case::new("namespace_duplicate", "config-linux.md namespaces: duplicated types MUST be an error", &["linux.namespaces[6].type"],
            |_, b| push_ns(b, json!({ "type": "ipc" }))),
        Case::new("namespace_path_relative", "config-linux.md namespaces[].path: an absolute path to a namespace file", &["linux.namespaces[5].path"],
            |_, b| b.set_namespace("network", Some("netns/husk"))),
        Case::new("namespace_path_missing", "config-linux.md namespaces[].path: the file MUST exist (runtime.md: fail create)", &["linux.namespaces[5].path"],
            |_, b| b.set_namespace("network", Some("/run/netns/husk-no-such-netns"))),
        Case::new("namespace_path_not_a_namespace", "config-linux.md namespaces[].path: a namespace file, not any file", &["linux.namespaces[5].path"],
            |_, b| b.set_namespace("network", Some("/etc/hostname"))),
        Case::new("namespace_path_fifo", "config-linux.md namespaces[].path: a namespace file; a fifo there must not hang create", &["linux.namespaces[5].path"],
            |_, b| {
                let fifo = b.dir.join("netns-fifo");
                let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
                b.set_namespace("network", Some(fifo.to_str().unwrap()));
            })
            .runc_accepts("runc 1.1.5 blocks opening it"),
        Case::new("namespace_path_wrong_type", "config-linux.md namespaces[].path: a namespace of the entry's type (setns EINVAL)", &["linux.namespaces[5].path"],
            |_, b| b.set_namespace("network", Some("/proc/self/ns/ipc"))),
        Case::new("namespace_not_object", "config-linux.md namespaces: objects with a type", &["linux.namespaces[6]"],
            |_, b| push_ns(b, json!("pid"))),
        Case::new("user_ns_without_mappings", "config-linux.md user namespace mappings: a new user namespace needs them (runc: no uid mappings found)", &["linux.uidMappings"],
            |_, b| b.set_namespace("user", None)),
        Case::new("mappings_without_user_ns", "runc: user namespace mappings specified, but USER namespace isn't enabled", &["linux.uidMappings"],
            |_, b| {
                b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
                b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
            })
            .runc_accepts("runc 1.1.5 ignores the mappings"),
        Case::new("mappings_overlap", "user_namespaces(7): overlapping ranges are refused (EINVAL); issue 7: a clear error naming the entry", &["linux.uidMappings[1]"],
            |_, b| {
                b.set_namespace("user", None);
                b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 },
                                                  { "containerID": 1000, "hostID": 300000, "size": 10 }]);
                b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
            }),
        Case::new("mapping_out_of_range", "config-linux.md mappings: uint32 ids; a range past 2^32-2 is refused (issue 7: a clear error)", &["linux.gidMappings[0]"],
            |_, b| {
                b.set_namespace("user", None);
                b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
                b.linux()["gidMappings"] = json!([{ "containerID": 0, "hostID": 4294967000u64, "size": 65536 }]);
            }),
        Case::new("mount_mappings_without_gid", "config.md mounts[].uidMappings: MUST be specified along with gidMappings", &["mounts[7].gidMappings"],
            |s, b| {
                let src = s.dir.join("idmap-src");
                fs::create_dir_all(&src).unwrap();
                b.add_mount(json!({ "destination": "/mnt", "type": "bind", "source": src, "options": ["rbind", "idmap"],
                                    "uidMappings": [{ "containerID": 0, "hostID": 100000, "size": 65536 }] }));
            })
            .runc_accepts("runc 1.1.5 does not know mount mappings"),
        Case::new("mapping_size_string", "config-linux.md mappings[].size: a uint32", &["linux.uidMappings[0].size"],
            |_, b| {
                b.set_namespace("user", None);
                b.linux()["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": "all" }]);
            }),
        Case::new("time_offsets_without_time_ns", "config-linux.md timeOffsets: only with a new time namespace", &["linux.timeOffsets"],
            |_, b| b.linux()["timeOffsets"] = json!({ "monotonic": { "secs": 10 } }))
            .runc_accepts("runc 1.1.5 ignores timeOffsets"),
        Case::new("masked_paths_without_mount_ns", "runc: unable to restrict sys entries without a private MNT namespace", &["linux.maskedPaths"],
            |_, b| b.remove_namespace("mount")),
        Case::new("masked_path_relative", "config-linux.md maskedPaths: MUST be absolute paths", &["linux.maskedPaths[0]"],
            |_, b| b.linux()["maskedPaths"] = json!(["proc/kcore"]))
            .runc_accepts("runc 1.1.5 masks the path relative to /"),
        Case::new("readonly_paths_not_array", "config-linux.md readonlyPaths: an array of strings", &["linux.readonlyPaths"],
            |_, b| b.linux()["readonlyPaths"] = json!("/proc/sys")),
        Case::new("rootfs_propagation_bogus", "config-linux.md rootfsPropagation: one of the propagation names (runc: is not supported)", &["linux.rootfsPropagation"],
            |_, b| b.linux()["rootfsPropagation"] = json!("sideways")),
        Case::new("device_bad_type", "config-linux.md devices[].type: c, b, u or p", &["linux.devices[0].type"],
            |_, b| b.linux()["devices"] = json!([{ "path": "/dev/husk0", "type": "x", "major": 1, "minor": 3 }])),
        Case::new("device_type_a", "config-linux.md devices[].type: \"a\" is only for cgroup rules", &["linux.devices[0].type"],
            |_, b| b.linux()["devices"] = json!([{ "path": "/dev/husk0", "type": "a", "major": 1, "minor": 3 }])),
        Case::new("device_path_relative", "config-linux.md devices[].path: the full path in the container", &["linux.devices[0].path"],
            |_, b| b.linux()["devices"] = json!([{ "path": "dev/husk0", "type": "c", "major": 1, "minor": 3 }]))
            .runc_accepts("runc 1.1.5 creates the device relative to the rootfs"),
        Case::new("device_path_escapes", "config-linux.md devices[].path: inside the container; .. climbing out is refused", &["linux.devices[0].path"],
            |_, b| b.linux()["devices"] = json!([{ "path": "/dev/../../husk-escape", "type": "c", "major": 1, "minor": 3 }]))
            .runc_accepts("runc 1.1.5 resolves the path inside the rootfs"),
        Case::new("device_major_string", "config-linux.md devices[].major: an int64", &["linux.devices[0].major"],
            |_, b| b.linux()["devices"] = json!([{ "path": "/dev/husk0", "type": "c", "major": "1", "minor": 3 }])),
        Case::new("device_file_mode_too_big", "config-linux.md devices[].fileMode: permission bits only", &["linux.devices[0].fileMode"],
            |_, b| b.linux()["devices"] = json!([{ "path": "/dev/husk0", "type": "c", "major": 1, "minor": 3, "fileMode": 0o170666 }]))
            .runc_accepts("runc 1.1.5 masks the mode"),
        Case::new("device_uid_minus_one", "chown(2): 4294967295 is (uid_t)-1, 'unchanged'", &["linux.devices[0].uid"],
            |_, b| b.linux()["devices"] = json!([{ "path": "/dev/husk0", "type": "c", "major": 1, "minor": 3, "uid": 4294967295u64 }]))
            .runc_accepts("runc 1.1.5 passes -1 to chown, which keeps the owner"),
        Case::new("sysctl_host_global", "runc: a sysctl not in a separate kernel namespace (vm.*) is refused", &["linux.sysctl.vm.swappiness"],
            |_, b| b.linux()["sysctl"] = json!({ "vm.swappiness": "10" })),
        Case::new("sysctl_net_without_netns", "runc: net.* sysctls need a private network namespace", &["linux.sysctl.net.ipv4.ip_forward"],
            |_, b| { b.remove_namespace("network"); b.linux()["sysctl"] = json!({ "net.ipv4.ip_forward": host_ip_forward() }); }),
        Case::new("sysctl_net_in_host_netns", "runc: net.* sysctls are refused in the host's network namespace", &["linux.sysctl.net.ipv4.ip_forward"],
            |_, b| { b.set_namespace("network", Some("/proc/self/ns/net")); b.linux()["sysctl"] = json!({ "net.ipv4.ip_forward": host_ip_forward() }); }),
        Case::new("sysctl_ipc_without_ipcns", "runc: kernel.shm* sysctls need a private IPC namespace", &["linux.sysctl.kernel.shmmax"],
            |_, b| { b.remove_namespace("ipc"); b.linux()["sysctl"] = json!({ "kernel.shmmax": read("/proc/sys/kernel/shmmax").trim() }); }),
        Case::new("sysctl_mqueue_without_ipcns", "runc: fs.mqueue.* sysctls need a private IPC namespace", &["linux.sysctl.fs.mqueue.msg_max"],
            |_, b| { b.remove_namespace("ipc"); b.linux()["sysctl"] = json!({ "fs.mqueue.msg_max": read("/proc/sys/fs/mqueue/msg_max").trim() }); }),
        Case::new("sysctl_domainname_without_uts", "runc: kernel.domainname needs a private UTS namespace", &["linux.sysctl.kernel.domainname"],
            |_, b| { b.remove_namespace("uts"); remove(&mut b.config, "hostname"); b.linux()["sysctl"] = json!({ "kernel.domainname": "x" }); }),
        Case::new("sysctl_value_number", "config-linux.md sysctl: values are strings", &["linux.sysctl.net.ipv4.ip_forward"],
            |_, b| b.linux()["sysctl"] = json!({ "net.ipv4.ip_forward": 1 })),
        Case::new("sysctl_unknown", "config-linux.md sysctl: a parameter that does not exist cannot be applied: create MUST fail", &["husk_does_not_exist"],
            |_, b| b.linux()["sysctl"] = json!({ "net.ipv4.husk_does_not_exist": "1" })).create_only(),
        Case::new("cgroups_path_dotdot", "husk: cgroupsPath with .. is refused (it could name a cgroup outside the container's)", &["linux.cgroupsPath"],
            |_, b| b.linux()["cgroupsPath"] = json!("/husk-it-bad/../../husk-escape"))
            .runc_accepts("runc 1.1.5 cleans the path"),
        Case::new("cgroups_path_systemd_form", "husk: the systemd slice:prefix:name form needs the systemd driver (refused, not misread)", &["linux.cgroupsPath"],
            |_, b| b.linux()["cgroupsPath"] = json!("system.slice:husk:x"))
            .runc_accepts("runc 1.1.5's cgroupfs driver takes it as a relative path"),
        Case::new("cgroups_path_number", "config-linux.md cgroupsPath: a string", &["linux.cgroupsPath"],
            |_, b| b.linux()["cgroupsPath"] = json!(5)),
        Case::new("memory_limit_string", "config-linux.md resources.memory.limit: an int64", &["linux.resources.memory.limit"],
            |_, b| b.linux()["resources"]["memory"] = json!({ "limit": "1G" })),
        Case::new("memory_swap_below_limit", "runc: memory+swap limit should be >= memory limit", &["linux.resources.memory.swap"],
            |_, b| b.linux()["resources"]["memory"] = json!({ "limit": 268435456, "swap": 134217728 })),
        Case::new("cpu_shares_negative", "config-linux.md resources.cpu.shares: a uint64", &["linux.resources.cpu.shares"],
            |_, b| b.linux()["resources"]["cpu"] = json!({ "shares": -1 })),
        Case::new("device_rule_bad_type", "config-linux.md resources.devices[].type: a, c or b", &["linux.resources.devices[0].type"],
            |_, b| b.linux()["resources"]["devices"] = json!([{ "allow": true, "type": "z", "access": "rwm" }])),
        Case::new("seccomp_bad_default_action", "config-linux.md seccomp.defaultAction: one of the SCMP_ACT_* names", &["linux.seccomp.defaultAction"],
            |_, b| b.linux()["seccomp"] = json!({ "defaultAction": "SCMP_ACT_BOGUS" })),
        Case::new("seccomp_bad_arch", "config-linux.md seccomp.architectures: SCMP_ARCH_* names", &["linux.seccomp.architectures[0]"],
            |_, b| b.linux()["seccomp"] = json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"] })),
        Case::new("seccomp_bad_syscall_action", "config-linux.md seccomp.syscalls[].action: one of the SCMP_ACT_* names", &["linux.seccomp.syscalls[0].action"],
            |_, b| seccomp(b, json!([{ "names": ["getcwd"], "action": "SCMP_ACT_NOPE" }]))),
        Case::new("seccomp_bad_operator", "config-linux.md seccomp.syscalls[].args[].op: one of the SCMP_CMP_* names", &["linux.seccomp.syscalls[0].args[0].op"],
            |_, b| seccomp(b, json!([{ "names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "args": [{ "index": 0, "value": 1, "op": "SCMP_CMP_LIKE" }] }]))),
        Case::new("seccomp_arg_index_out_of_range", "seccomp(2): syscall arguments are numbered 0 to 5", &["linux.seccomp.syscalls[0]"],
            |_, b| seccomp(b, json!([{ "names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "args": [{ "index": 6, "value": 1, "op": "SCMP_CMP_EQ" }] }]))),
        Case::new("seccomp_errno_with_kill", "config-linux.md seccomp: errnoRet on an action without errno MUST be an error", &["linux.seccomp.syscalls[0]"],
            |_, b| seccomp(b, json!([{ "names": ["getcwd"], "action": "SCMP_ACT_KILL", "errnoRet": 1 }])))
            .runc_accepts("runc 1.1.5 ignores errnoRet there"),
        Case::new("seccomp_notify_default", "runc: SCMP_ACT_NOTIFY cannot be the default action", &["linux.seccomp.defaultAction"],
            |_, b| b.linux()["seccomp"] = json!({ "defaultAction": "SCMP_ACT_NOTIFY" })),
        Case::new("seccomp_names_empty", "config-linux.md seccomp.syscalls[].names: at least one name", &["linux.seccomp.syscalls[0]"],
            |_, b| seccomp(b, json!([{ "names": [], "action": "SCMP_ACT_ERRNO" }])))
            .runc_accepts("runc 1.1.5 skips the entry"),
        Case::new("mount_label_without_selinux", "husk: SELinux settings are refused where SELinux is off, never dropped", &["linux.mountLabel"],
            |_, b| b.linux()["mountLabel"] = json!("system_u:object_r:container_file_t:s0")),
        Case::new("linux_not_object", "config.md linux: an object", &["linux"],
            |_, b| {
                let mut c = b.config.clone();
                c["linux"] = json!("yes");
                raw(b, &c.to_string());
            }),
    ]
}

fn host_ip_forward() -> String {
    read("/proc/sys/net/ipv4/ip_forward").trim().to_string()
}

/// Host mounts at or below `dir`.
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().into_owned();
    read("/proc/self/mountinfo")
        .lines()
        .filter_map(MountInfo::parse)
        .map(|m| m.mount_point)
        .filter(|m| m == &prefix || m.starts_with(&format!("{prefix}/")))
        .collect()
}

static BUNDLES: AtomicUsize = AtomicUsize::new(0);

/// A bundle with the default config whose root.path is the absolute path of
/// `rootfs`, shared by every case: none writes to it, and copying busybox
/// for each case would cost more than the case.
fn case_bundle(sb: &Sandbox, rootfs: &Path) -> Bundle {
    let dir = sb
        .dir
        .join(format!("case{}", BUNDLES.fetch_add(1, Ordering::SeqCst)));
    fs::create_dir_all(&dir).unwrap();
    let mut config = default_config(&["true"]);
    config["root"]["path"] = json!(rootfs);
    Bundle {
        dir,
        config,
        write_config: true,
    }
}

/// `create` fails with one line naming the field and leaves nothing.
fn create_case(sb: &Sandbox, rootfs: &Path, c: &Case) {
    let mut b = case_bundle(sb, rootfs);
    (c.brk)(sb, &mut b);
    let id = sb.new_id();
    let out = sb.create(&id, &b).err();
    sb.assert_nothing_left(&id, &out);
    let mounts = mounts_under(&sb.dir);
    assert!(
        mounts.is_empty(),
        "mounts left under the sandbox: {mounts:?}: {out}"
    );
    if runtime_is_runc() {
        eprintln!("runc on {}: {}", c.name, out.stderr.trim());
        return;
    }
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line: {out}");
    assert!(
        c.names.iter().any(|n| out.stderr.contains(n)),
        "the error must name one of {:?}: {out}",
        c.names
    );
}

/// `husk validate` lists the field, exits 1, and creates nothing.
fn validate_case(sb: &Sandbox, rootfs: &Path, c: &Case) {
    let mut b = case_bundle(sb, rootfs);
    (c.brk)(sb, &mut b);
    b.save();
    let out = sb.cmd(&["validate", "--bundle"]).arg(&b.dir).run();
    assert_eq!(out.code, 1, "validate must exit 1: {out}");
    assert!(
        c.names.iter().any(|n| out.stdout.contains(n)),
        "validate must name one of {:?}: {out}",
        c.names
    );
    assert!(
        out.stdout.lines().all(|l| l.contains(": ")),
        "every line is `path: message`: {out}"
    );
    assert!(!sb.root.exists() || fs::read_dir(&sb.root).unwrap().next().is_none());
}

/// Runs `each` on the cases `pick` selects, collecting failures so one broken
/// case does not hide the others.
fn run_cases(pick: impl Fn(usize, &Case) -> bool, each: fn(&Sandbox, &Path, &Case)) {
    let sb = Sandbox::new();
    let rootfs = sb.bundle(&[]).rootfs();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (i, c) in corpus().iter().enumerate() {
        if !pick(i, c) {
            continue;
        }
        if let Some(why) = c.runc {
            if skip_on_runc(&format!("{}: {why}", c.name)) {
                continue;
            }
        }
        ran += 1;
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| each(&sb, &rootfs, c))) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{} ({}): {msg}", c.name, c.rule));
        }
    }
    eprintln!("{ran} cases run");
    assert!(
        failed.is_empty(),
        "{} cases failed:\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

/// The corpus is split four ways so the cases run on several test threads.
fn quarter(q: usize) -> impl Fn(usize, &Case) -> bool {
    move |i, _| i % 4 == q
}

#[test]
fn corpus_is_large_and_well_formed() {
    let cases = corpus();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    assert!(cases
        .iter()
        .all(|c| !c.rule.is_empty() && !c.names.is_empty()));
}

#[test]
fn create_fails_cleanly_1() {
    run_cases(quarter(0), create_case);
}

#[test]
fn create_fails_cleanly_2() {
    run_cases(quarter(1), create_case);
}

#[test]
fn create_fails_cleanly_3() {
    run_cases(quarter(2), create_case);
}

#[test]
fn create_fails_cleanly_4() {
    run_cases(quarter(3), create_case);
}

/// The same corpus through `husk validate`: the same field is named.
#[test]
fn validate_names_the_same_field() {
    if skip_on_runc("runc has no validate command") {
        return;
    }
    run_cases(|_, c| c.validate, validate_case);
}

/// A valid bundle: validate says so and exits 0; nothing is created.
#[test]
fn validate_accepts_the_default_bundle() {
    if skip_on_runc("runc has no validate command") {
        return;
    }
    let sb = Sandbox::new();
    let b = sb.bundle(&["true"]);
    b.save();
    let out = sb.cmd(&["validate", "-b"]).arg(&b.dir).run().ok();
    assert!(out.stdout.contains("config.json is valid"), "{out}");
    assert!(!sb.root.exists(), "validate must not create the state root");
}

/// Several problems at once: validate lists every one, one per line, and
/// create names them all on its one line.
#[test]
fn every_problem_is_listed_at_once() {
    if skip_on_runc("runc stops at the first problem") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.process()["cwd"] = json!("relative");
    b.process()["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("NOEQUALS"));
    b.process()["capabilities"]["bounding"]
        .as_array_mut()
        .unwrap()
        .push(json!("CAP_TEST"));
    b.process()["user"]["uid"] = json!(-1);
    b.config["hostname"] = json!("h".repeat(65));
    push_ns(&mut b, json!({ "type": "bogus" }));
    b.linux()["devices"] = json!([{ "path": "dev/x", "type": "c", "major": 1, "minor": 3 }]);
    tmpfs_mount(
        &mut b,
        json!({ "destination": "/a/../../b", "options": ["idmap"] }),
    );
    let want = [
        "process.cwd",
        "process.env[2]",
        "process.capabilities.bounding[3]",
        "process.user.uid",
        "hostname",
        "linux.namespaces[6].type",
        "linux.devices[0].path",
        "mounts[7].destination",
        "mounts[7].options",
    ];
    b.save();
    let v = sb.cmd(&["validate", "--bundle"]).arg(&b.dir).run();
    assert_eq!(v.code, 1, "{v}");
    for w in want {
        assert!(
            v.stdout.lines().any(|l| l.starts_with(&format!("{w}: "))),
            "validate must list {w}: {v}"
        );
    }
    let id = sb.new_id();
    let out = sb.create(&id, &b).err();
    sb.assert_nothing_left(&id, &out);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    for w in want {
        assert!(out.stderr.contains(w), "create must name {w}: {out}");
    }
}

/// Not a check: prints what runc does with each bundle it is excused from
/// (`RUNTIME=/usr/sbin/runc cargo test -p integration --test bad_bundles --
/// --ignored --nocapture`), to keep the reasons above honest. The bundles
/// that would hang runc or touch the host are not tried.
#[test]
#[ignore]
fn what_runc_does_with_the_excused_cases() {
    const UNSAFE: &[&str] = &[
        "config_is_dev_zero",
        "config_is_a_fifo",
        "namespace_path_fifo",
        "linux_missing",
    ];
    if !runtime_is_runc() {
        return;
    }
    let sb = Sandbox::new();
    let rootfs = sb.bundle(&[]).rootfs();
    for c in corpus().iter().filter(|c| c.runc.is_some()) {
        if UNSAFE.contains(&c.name) {
            eprintln!("{}: not tried", c.name);
            continue;
        }
        let mut b = case_bundle(&sb, &rootfs);
        (c.brk)(&sb, &mut b);
        let id = sb.new_id();
        let out = sb.create(&id, &b);
        let started = if out.success() {
            let st = sb.start(&id);
            format!("; start exit {}: {}", st.code, st.stderr.trim())
        } else {
            String::new()
        };
        eprintln!(
            "{}: create exit {}: {}{started}",
            c.name,
            out.code,
            out.stderr.trim()
        );
        if sb.state_entry_exists(&id) {
            sb.delete_force(&id);
        }
    }
}
