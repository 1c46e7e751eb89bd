//! Create a container with a memory limit, make it use some memory, and read
//! its resource usage the way `husk events --stats` does.
//!
//! `sudo cargo run -p libcontainer --example memory_stats` (needs root and a
//! static busybox: see examples/common/mod.rs).

mod common;

use std::time::{Duration, Instant};

use libcontainer::oci_spec::runtime::{LinuxMemoryBuilder, LinuxResourcesBuilder};
use libcontainer::{CreateOptions, Signal};

const LIMIT: i64 = 64 << 20;
const FILL: u64 = 16 << 20;

fn main() -> Result<(), common::BoxError> {
    let scratch = common::Scratch::new("memory")?;
    let rt = &scratch.rt;
    let id = scratch.id("memory");
    // 16 MiB in a tmpfs (charged to the container's memory cgroup), then wait.
    let fill = format!("head -c {FILL} /dev/zero > /dev/shm/fill && exec sleep 300");
    let mut spec = scratch.spec(&id, &["sh", "-c", &fill]);
    let resources = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(LIMIT).build()?)
        .build()?;
    let linux = spec.linux_mut().as_mut().expect("the default has linux");
    linux.set_resources(Some(resources));

    let created = rt.create(&CreateOptions::new(&id, scratch.bundle()).with_spec(spec))?;
    rt.start(&id)?;

    // Poll until the file is written.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let stats = rt.stats(&id)?;
        if stats.memory.usage.usage >= FILL || Instant::now() > deadline {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mem = &stats.memory.usage;
    println!(
        "memory: {} KiB used of a {} KiB limit (max {} KiB, limit hit {} times); {} tasks",
        mem.usage >> 10,
        mem.limit >> 10,
        mem.max >> 10,
        mem.failcnt,
        stats.pids.current
    );

    rt.kill(&id, Signal::SIGKILL, false)?;
    let code = created.wait()?;
    rt.delete(&id, false)?;
    println!("killed: exit code {code}");

    common::check(mem.limit == LIMIT as u64, "the limit is the spec's")?;
    common::check(mem.usage >= FILL, "usage counts the 16 MiB file")?;
    common::check(stats.pids.current >= 1, "the container's tasks are counted")?;
    common::check(code == 128 + 9, "SIGKILL ends it")
}
