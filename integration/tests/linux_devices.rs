//! config-linux.md "Devices", "Default Devices"; runtime-linux.md "Dev
//! symbolic links".

use integration::*;
use serde_json::json;

/// `stat -c '%F %t:%T %a %u %g'` lines for the given paths (major/minor hex).
fn stat_devs(sb: &Sandbox, b: &mut Bundle, paths: &[&str]) -> Vec<String> {
    let script: String = paths
        .iter()
        .map(|p| format!("stat -c '%F %t:%T %a %u %g' {p}; "))
        .collect();
    sb.sh(b, &script).lines().map(String::from).collect()
}

/// config-linux.md "Default Devices": the runtime MUST supply /dev/null,
/// zero, full, random, urandom and tty as the right character devices.
#[test]
fn default_devices_exist() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let devs = [
        ("/dev/null", "1:3"),
        ("/dev/zero", "1:5"),
        ("/dev/full", "1:7"),
        ("/dev/random", "1:8"),
        ("/dev/urandom", "1:9"),
        ("/dev/tty", "5:0"),
    ];
    let out = stat_devs(&sb, &mut b, &devs.map(|d| d.0));
    for (i, (path, nums)) in devs.iter().enumerate() {
        assert!(
            out[i].starts_with(&format!("character special file {nums} ")),
            "{path}: {}",
            out[i]
        );
    }
}

/// config-linux.md "Default Devices": the default devices work (and the
/// default device cgroup rules let them be used).
#[test]
fn default_devices_usable() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let out = sb.sh(
        &mut b,
        "echo x > /dev/null && echo null-ok; head -c 5 /dev/zero | wc -c; head -c 7 /dev/urandom | wc -c; \
         head -c 3 /dev/random | wc -c; (echo x > /dev/full) 2>&1; true",
    );
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(&lines[..4], ["null-ok", "5", "7", "3"], "{out}");
    assert!(lines[4].contains("No space left on device"), "{out}");
}

/// config-linux.md "Default Devices" `/dev/ptmx`: a bind mount or symlink of
/// the container's /dev/pts/ptmx.
#[test]
fn dev_ptmx() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let out = sb.sh(&mut b, "readlink /dev/ptmx; stat -L -c '%F %t:%T' /dev/ptmx; stat -c '%d %i' /dev/pts/ptmx; stat -L -c '%d %i' /dev/ptmx");
    let lines: Vec<&str> = out.lines().collect();
    if lines.len() == 5 {
        assert!(
            lines[0] == "pts/ptmx" || lines[0] == "/dev/pts/ptmx",
            "{out}"
        );
    }
    let n = lines.len();
    assert_eq!(lines[n - 3], "character special file 5:2", "{out}");
    assert_eq!(
        lines[n - 2],
        lines[n - 1],
        "/dev/ptmx must be the container's /dev/pts/ptmx: {out}"
    );
}

/// runtime-linux.md "Dev symbolic links": /dev/fd, /dev/stdin, /dev/stdout,
/// /dev/stderr MUST be symlinks to /proc/self/fd{,/0,/1,/2}.
/// (`>>`: the harness captures stdout in a file, which `>` would truncate when
/// the runtime hands the container its own stdio, as crun and husk do.)
#[test]
fn dev_symlinks() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    let out = sb.sh(
        &mut b,
        "for l in fd stdin stdout stderr; do readlink /dev/$l; done; echo via-stdout >> /dev/stdout",
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "/proc/self/fd",
            "/proc/self/fd/0",
            "/proc/self/fd/1",
            "/proc/self/fd/2",
            "via-stdout"
        ]
    );
}

/// config-linux.md "Devices": a character device with fileMode, uid and gid.
#[test]
fn linux_devices_char() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.linux()["devices"] = json!([
        { "path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001 }
    ]);
    let out = stat_devs(&sb, &mut b, &["/dev/mynull"]);
    assert_eq!(out, ["character special file 1:3 640 1000 1001"]);
}

/// config-linux.md "Devices": block device and fifo (`p`, no major/minor).
#[test]
fn linux_devices_block_and_fifo() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.linux()["devices"] = json!([
        { "path": "/dev/myblk", "type": "b", "major": 7, "minor": 42, "fileMode": 0o600, "uid": 0, "gid": 0 },
        { "path": "/dev/myfifo", "type": "p", "fileMode": 0o666 }
    ]);
    let out = stat_devs(&sb, &mut b, &["/dev/myblk", "/dev/myfifo"]);
    assert_eq!(out[0], "block special file 7:2a 600 0 0");
    assert!(out[1].starts_with("fifo "), "{}", out[1]);
}

/// config-linux.md "Devices" `path`: MAY be outside /dev; the device is
/// usable there.
#[test]
fn linux_devices_outside_dev() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.linux()["devices"] = json!([
        { "path": "/srv/devices/zero2", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666 }
    ]);
    let out = sb.sh(
        &mut b,
        "stat -c '%F %t:%T' /srv/devices/zero2; head -c 9 /srv/devices/zero2 | wc -c",
    );
    assert_eq!(
        out.lines().map(str::trim).collect::<Vec<_>>(),
        ["character special file 1:5", "9"]
    );
}

/// config-linux.md "Devices" `path`: if a file that does not match the
/// device already exists there, the runtime MUST generate an error.
#[test]
fn linux_devices_conflicting_file_fails() {
    if skip_on_runc("runc 1.1.5 silently keeps an existing file at a device path") {
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.write_file("/srv/conflict", "regular file");
    b.linux()["devices"] =
        json!([{ "path": "/srv/conflict", "type": "c", "major": 1, "minor": 3 }]);
    let id = sb.new_id();
    let out = sb.create(&id, &b).err();
    sb.assert_nothing_left(&id, &out);
}

/// config-linux.md "Devices" `type`: an invalid type is an error
/// (config.md "Valid values").
#[test]
fn linux_devices_invalid_type_fails() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&["true"]);
    b.linux()["devices"] = json!([{ "path": "/dev/bad", "type": "x", "major": 1, "minor": 3 }]);
    let id = sb.new_id();
    let out = sb.create(&id, &b).err_mentions(&["device", "type"]);
    sb.assert_nothing_left(&id, &out);
}

/// podman sends `fileMode` with the file-type bits of the device
/// (0o20666 for a character device), as Go's os.FileMode does; runc accepts
/// it and so must we. The node gets the permission bits.
#[test]
fn linux_devices_file_mode_with_type_bits() {
    let sb = Sandbox::new();
    let mut b = sb.bundle(&[]);
    b.linux()["devices"] = json!([
        { "path": "/dev/podnull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o20666 }
    ]);
    let out = sb.sh(&mut b, "stat -c '%a %t:%T' /dev/podnull");
    assert_eq!(out, "666 1:3");
}
