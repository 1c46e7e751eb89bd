//! Run a command in a container whose spec is built in Rust, collect what it
//! prints and its exit code, and delete it.
//!
//! `sudo cargo run -p libcontainer --example run` (needs root and a static
//! busybox: see examples/common/mod.rs).

mod common;

use std::io::Read;

use libcontainer::{CreateOptions, Stdio};

fn main() -> Result<(), common::BoxError> {
    let scratch = common::Scratch::new("run")?;
    let rt = &scratch.rt;
    let id = scratch.id("run");
    let spec = scratch.spec(
        &id,
        &["sh", "-c", "echo hello from $(hostname); id -u; exit 3"],
    );

    // The container's stdout is a pipe to us; stderr stays ours.
    let (mut output, stdout) = common::pipe()?;
    let stdio = Stdio {
        stdout: Some(stdout),
        ..Stdio::default()
    };
    let opts = CreateOptions::new(&id, scratch.bundle()).with_spec(spec);
    let created = rt.create_with_stdio(&opts, stdio)?;
    println!(
        "created {id}: init pid {}, {}",
        created.pid,
        rt.state(&id)?.status
    );
    rt.start(&id)?;

    let mut text = String::new();
    output.read_to_string(&mut text)?; // until the container exits
    let code = created.wait()?;
    println!("status after exit: {}", rt.state(&id)?.status);
    rt.delete(&id, false)?;

    print!("container printed:\n{text}");
    println!("exit code: {code}");
    common::check(text == format!("hello from {id}\n0\n"), "output")?;
    common::check(code == 3, "exit code 3")
}
