//! What the examples share: a busybox-static root filesystem, a spec for it
//! built in code, and a scratch area (bundle and state root in a temporary
//! directory) that deletes its containers and itself when dropped, also when
//! an example fails or panics.
//!
//! The examples need root (namespaces, cgroups, mounts) and a static busybox
//! (`/bin/busybox` from Debian's busybox-static, or `$BUSYBOX`).

#![allow(dead_code)] // each example uses a different part

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::Runtime;

/// Any error an example reports.
pub type BoxError = Box<dyn std::error::Error>;

/// A temporary bundle (with a busybox rootfs) and state root.
pub struct Scratch {
    dir: PathBuf,
    /// The runtime, rooted in the scratch directory.
    pub rt: Runtime,
    ids: RefCell<Vec<String>>,
}

impl Scratch {
    /// A fresh scratch area for the example `name`.
    pub fn new(name: &str) -> Result<Scratch, BoxError> {
        if !is_root()? {
            return Err("this example runs containers: run it as root".into());
        }
        let dir = std::env::temp_dir().join(format!("husk-example-{name}-{}", std::process::id()));
        let scratch = Scratch {
            rt: Runtime::new(dir.join("state")),
            dir,
            ids: RefCell::new(Vec::new()),
        };
        // From here on, Drop cleans up whatever exists.
        busybox_rootfs(&scratch.bundle().join("rootfs"))?;
        Ok(scratch)
    }

    /// The bundle directory: `rootfs/` is in it.
    pub fn bundle(&self) -> &Path {
        &self.dir
    }

    /// A container id for this run, deleted (forcibly) when the scratch area goes.
    pub fn id(&self, name: &str) -> String {
        let id = format!("husk-example-{name}-{}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// oci-spec's default spec (runc's `spec`: its own namespaces, the usual
    /// mounts, a read-only rootfs) running `args`, with hostname `id` and the
    /// absolute cgroup path `/<id>`.
    pub fn spec(&self, id: &str, args: &[&str]) -> Spec {
        let mut spec = Spec::default();
        spec.set_hostname(Some(id.to_string()));
        let process = spec
            .process_mut()
            .as_mut()
            .expect("the default has a process");
        process.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
        let linux = spec.linux_mut().as_mut().expect("the default has linux");
        linux.set_cgroups_path(Some(PathBuf::from(format!("/{id}"))));
        spec
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            // Already deleted by the example when it got that far.
            let _ = self.rt.delete(id, true);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A connected pair: read the first, give the second to the container as
/// stdout or stderr. The reader sees end-of-file once every process holding
/// the other end has exited.
pub fn pipe() -> std::io::Result<(UnixStream, OwnedFd)> {
    let (reader, writer) = UnixStream::pair()?;
    Ok((reader, writer.into()))
}

/// Fail the example (non-zero exit) unless `ok`.
pub fn check(ok: bool, what: &str) -> Result<(), BoxError> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

fn is_root() -> std::io::Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0"))
}

/// A root filesystem with a static busybox and a link per applet (what
/// hack/make-bundle.sh makes).
fn busybox_rootfs(rootfs: &Path) -> Result<(), BoxError> {
    let busybox = std::env::var_os("BUSYBOX").unwrap_or_else(|| "/bin/busybox".into());
    if !Path::new(&busybox).exists() {
        return Err(format!(
            "{}: missing (apt-get install busybox-static, or set BUSYBOX)",
            Path::new(&busybox).display()
        )
        .into());
    }
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "root"] {
        std::fs::create_dir_all(rootfs.join(d))?;
    }
    std::fs::copy(&busybox, rootfs.join("bin/busybox"))?;
    let list = std::process::Command::new(&busybox)
        .arg("--list")
        .output()?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))?;
        }
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\n")?;
    Ok(())
}
