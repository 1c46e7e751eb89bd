//! `relative()`, which turns a container path into one below the root for
//! openat2(RESOLVE_IN_ROOT): never absolute, only normal and `..` parts.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use libcontainer::fuzzing::relative;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new(OsStr::from_bytes(data));
    let rel = relative(path);
    assert!(!rel.is_absolute(), "{path:?} -> {rel:?}");
    assert!(
        rel.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::ParentDir)),
        "{path:?} -> {rel:?}"
    );
    // Idempotent.
    assert_eq!(relative(&rel), rel);
});
