//! config.json text → parse (collecting every problem) → validate. Must never
//! panic, and every problem must fit on one `path: message` line.
#![no_main]

use std::path::Path;

use libcontainer::fuzzing::{parse_collect, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_collect(data);
    for p in &parsed.problems {
        assert!(!p.path.is_empty(), "a problem without a path: {p:?}");
    }
    if let Some(spec) = &parsed.spec {
        // A bundle path that does not exist: nothing on the host is used.
        for p in validate(spec, Path::new("/nonexistent-husk-fuzz-bundle")) {
            let mapped = parsed.original_path(&p.path);
            assert!(!mapped.is_empty());
        }
    }
});
