//! The in-process work on `create`'s hot path, without the syscalls that
//! dominate a real container start: reading and checking config.json, the
//! seccomp filter compilation and the mount option parsing.
//! `cargo bench -p libcontainer` (or `make bench`).

use std::fs;
use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use libcontainer::internals::{
    compile_seccomp, load_checked, parse_collect, parse_mount_options, relative, validate,
    FilterCache,
};
use libcontainer::oci_spec::runtime::{LinuxSeccomp, Spec};
use libseccomp::ScmpSyscall;

/// A config like `husk spec`'s (oci-spec's default: the usual mounts,
/// namespaces, masked and read-only paths), as JSON bytes.
fn default_config() -> Vec<u8> {
    serde_json::to_vec_pretty(&Spec::default()).expect("serialise the default spec")
}

/// A profile shaped like the container engines' default ones: every syscall
/// the machine's libseccomp knows allowed by name in one rule, plus a few
/// rules with argument conditions; anything else fails with EPERM.
fn engine_like_seccomp() -> LinuxSeccomp {
    let names: Vec<String> = (0..460)
        .filter_map(|nr| ScmpSyscall::from(nr).get_name().ok())
        .filter(|name| name != "personality" && name != "clone")
        .collect();
    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": names, "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288u64, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0}]}
        ]
    });
    serde_json::from_value(profile).expect("the profile is a LinuxSeccomp")
}

fn config_parse_and_validate(c: &mut Criterion) {
    let data = default_config();
    let bundle = Path::new("/nonexistent-bundle");
    c.bench_function("config: parse config.json", |b| {
        b.iter(|| black_box(parse_collect(black_box(&data))))
    });
    let parsed = parse_collect(&data);
    let spec = parsed.spec.expect("the default config parses");
    c.bench_function("config: validate", |b| {
        b.iter(|| black_box(validate(black_box(&spec), bundle)))
    });
}

/// The whole check `create` runs before it clones: read config.json from a
/// bundle, parse, validate, compile the seccomp filter.
fn bundle_load_checked(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("husk-bench-{}", std::process::id()));
    fs::create_dir_all(dir.join("rootfs")).expect("bundle dir");
    let mut spec = Spec::default();
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(Some(engine_like_seccomp()));
    }
    fs::write(dir.join("config.json"), serde_json::to_vec(&spec).unwrap()).expect("config");
    c.bench_function("config: load_checked bundle (with seccomp)", |b| {
        b.iter(|| black_box(load_checked(&dir, Some("bench")).expect("bundle checks")))
    });
    let _ = fs::remove_dir_all(&dir);
}

fn seccomp_compile(c: &mut Criterion) {
    let profile = engine_like_seccomp();
    c.bench_function("seccomp: compile engine-like profile", |b| {
        b.iter(|| black_box(compile_seccomp(black_box(&profile)).expect("compiles")))
    });
    // What create and exec do: the state root's cache of compiled programs
    // (every call after the first is a hit).
    let root = std::env::temp_dir().join(format!("husk-bench-root-{}", std::process::id()));
    fs::create_dir_all(&root).expect("state root");
    let cache = FilterCache::in_root(&root);
    c.bench_function("seccomp: engine-like profile from the cache", |b| {
        b.iter(|| black_box(cache.compile(black_box(&profile)).expect("compiles")))
    });
    let _ = fs::remove_dir_all(&root);
}

/// The pure half of the mount plan: each mount's options to flags and data,
/// and its destination made relative to the rootfs.
fn mount_plan(c: &mut Criterion) {
    let spec = Spec::default();
    let mounts = spec.mounts().clone().unwrap_or_default();
    c.bench_function(
        "mounts: options and destinations of the default mounts",
        |b| {
            b.iter(|| {
                for m in &mounts {
                    let options = m.options().clone().unwrap_or_default();
                    black_box(parse_mount_options(&options).ok());
                    black_box(relative(m.destination()));
                }
            })
        },
    );
}

criterion_group!(
    benches,
    config_parse_and_validate,
    bundle_load_checked,
    seccomp_compile,
    mount_plan
);
criterion_main!(benches);
