//! A cache of compiled seccomp programs in the state root.
//!
//! Container engines send the same large profile (300+ syscalls, three x86
//! architectures) with every container and every exec. libseccomp needs tens
//! of milliseconds to turn that into BPF, more than the rest of `create`. The
//! program depends only on the profile, the libseccomp version and the
//! kernel, so it is kept in `<root>/.seccomp-cache/` and reused.
//!
//! Safety of a hit: the file name is only a hash of the key; the file holds
//! the whole key (the profile as canonical JSON, the libseccomp version, the
//! kernel release), and a hit needs an exact byte match, so two profiles can
//! never share a program, whatever the hash does. The directory is 0700 in
//! the state root (root's, or the rootless user's own). The filter flags and
//! the listener are worked out anew every time, since they depend on the
//! running kernel's answers, not only on the profile.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;

use super::seccomp::{self, Filter, SeccompError};

/// Name of the cache directory inside the state root (a dot name: `list`
/// and the state code only look at directories holding a state.json).
pub const CACHE_DIR: &str = ".seccomp-cache";

/// Beyond this many programs the cache is emptied before the next is added:
/// a node runs a handful of distinct profiles, so this only bounds growth.
const MAX_ENTRIES: usize = 64;

/// Marks the file format; bump it when the layout or the key changes.
const MAGIC: &[u8] = b"husk-seccomp-cache-v1\n";

/// Compiled programs kept under one state root.
#[derive(Debug, Clone)]
pub struct FilterCache {
    dir: PathBuf,
}

impl FilterCache {
    /// The cache of the state root `root` (created on first store).
    pub fn in_root(root: &Path) -> Self {
        FilterCache {
            dir: root.join(CACHE_DIR),
        }
    }

    /// [`seccomp::compile`], served from the cache when this exact profile
    /// was compiled before by this libseccomp on this kernel. A cache that
    /// cannot be read or written only costs the compile.
    pub fn compile(&self, profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
        let Some(key) = cache_key(profile) else {
            return seccomp::compile(profile);
        };
        let path = self.dir.join(format!("{:016x}.bpf", hash(&key)));
        if let Some(program) = read_entry(&path, &key) {
            if let Some(filter) = seccomp::filter_from_cached(profile, &program)? {
                tracing::debug!(path = %path.display(), "seccomp program from the cache");
                return Ok(filter);
            }
        }
        let filter = seccomp::compile(profile)?;
        if let Err(e) = self.store(&path, &key, &filter.program_bytes()) {
            tracing::debug!(path = %path.display(), "seccomp cache not written: {e}");
        }
        Ok(filter)
    }

    fn store(&self, path: &Path, key: &[u8], program: &[u8]) -> std::io::Result<()> {
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        if fs::read_dir(&self.dir)?.count() >= MAX_ENTRIES {
            for entry in fs::read_dir(&self.dir)?.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
        // Written whole to a private name, then renamed: a reader sees the
        // old file, the new one, or none, never a part.
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        let written = file
            .write_all(MAGIC)
            .and_then(|_| file.write_all(&(key.len() as u64).to_le_bytes()))
            .and_then(|_| file.write_all(key))
            .and_then(|_| file.write_all(program))
            .and_then(|_| fs::rename(&tmp, path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }
}

/// Everything the program depends on, as bytes compared whole on a hit.
fn cache_key(profile: &LinuxSeccomp) -> Option<Vec<u8>> {
    let mut key = format!(
        "libseccomp {}\nkernel {}\narch {}\n",
        seccomp::library_version(),
        kernel_release()?,
        std::env::consts::ARCH
    )
    .into_bytes();
    // oci-spec serialises struct fields in declaration order: the same
    // profile always gives the same bytes.
    serde_json::to_writer(&mut key, profile).ok()?;
    Some(key)
}

fn kernel_release() -> Option<String> {
    let uts = nix::sys::utsname::uname().ok()?;
    Some(uts.release().to_string_lossy().into_owned())
}

fn hash(key: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// The program stored for exactly `key` in the file at `path`, if any.
fn read_entry(path: &Path, key: &[u8]) -> Option<Vec<u8>> {
    let data = fs::read(path).ok()?;
    let rest = data.strip_prefix(MAGIC)?;
    let (len, rest) = rest.split_at_checked(8)?;
    let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
    let (stored_key, program) = rest.split_at_checked(len)?;
    (stored_key == key).then(|| program.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(json).unwrap()
    }

    fn temp_root(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("husk-sc-cache-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_hit_returns_the_same_filter_as_a_compile() {
        let root = temp_root("hit");
        let cache = FilterCache::in_root(&root);
        let p = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]
        }));
        let first = cache.compile(&p).unwrap();
        let entries: Vec<_> = fs::read_dir(root.join(CACHE_DIR)).unwrap().collect();
        assert_eq!(entries.len(), 1, "one program stored");
        let second = cache.compile(&p).unwrap();
        assert_eq!(first, second);
        assert_eq!(second, seccomp::compile(&p).unwrap());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_stored_program_is_used_only_for_its_exact_key() {
        let root = temp_root("key");
        let cache = FilterCache::in_root(&root);
        let allow = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
        }));
        let deny = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]
        }));
        let a = cache.compile(&allow).unwrap();
        // Plant allow's program under deny's file name, as a hash collision
        // would: the key inside does not match, so deny is compiled anew.
        let key_allow = cache_key(&allow).unwrap();
        let key_deny = cache_key(&deny).unwrap();
        let planted = root
            .join(CACHE_DIR)
            .join(format!("{:016x}.bpf", hash(&key_deny)));
        fs::copy(
            root.join(CACHE_DIR)
                .join(format!("{:016x}.bpf", hash(&key_allow))),
            &planted,
        )
        .unwrap();
        let d = cache.compile(&deny).unwrap();
        assert_ne!(a, d);
        assert_eq!(d, seccomp::compile(&deny).unwrap());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn damaged_entries_are_recompiled() {
        let root = temp_root("damaged");
        let cache = FilterCache::in_root(&root);
        let p = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
        }));
        let good = cache.compile(&p).unwrap();
        let file = fs::read_dir(root.join(CACHE_DIR))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut data = fs::read(&file).unwrap();
        for cut in [0, 10, MAGIC.len() + 4, data.len() - 3] {
            fs::write(&file, &data[..cut]).unwrap();
            assert_eq!(cache.compile(&p).unwrap(), good, "cut at {cut}");
        }
        // A program whose length is not whole instructions is refused too.
        data.push(0);
        fs::write(&file, &data).unwrap();
        assert_eq!(cache.compile(&p).unwrap(), good);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn errors_are_never_cached() {
        let root = temp_root("errors");
        let cache = FilterCache::in_root(&root);
        let bad = profile(serde_json::json!({"defaultAction": "SCMP_ACT_NOTIFY"}));
        assert!(cache.compile(&bad).is_err());
        assert!(cache.compile(&bad).is_err());
        assert!(!root.join(CACHE_DIR).exists());
        fs::remove_dir_all(&root).unwrap();
    }
}
