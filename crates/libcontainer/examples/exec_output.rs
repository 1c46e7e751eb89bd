//! Exec into a running container and collect the output and exit code of
//! each process, as `husk exec` (or `docker exec`) would show them.
//!
//! `sudo cargo run -p libcontainer --example exec_output` (needs root and a
//! static busybox: see examples/common/mod.rs).

mod common;

use std::io::Read;

use libcontainer::{CreateOptions, ExecOptions, Runtime, Signal, Stdio};

/// Run `args` in container `id`; its stdout and stderr, and its exit code.
fn exec(rt: &Runtime, id: &str, args: &[&str]) -> Result<(String, String, i32), common::BoxError> {
    let (mut out, stdout) = common::pipe()?;
    let (mut err, stderr) = common::pipe()?;
    let stdio = Stdio {
        stdout: Some(stdout),
        stderr: Some(stderr),
        ..Stdio::default()
    };
    let process = rt.exec_with_stdio(&ExecOptions::new(id, args.iter().copied()), stdio)?;
    // Small outputs: reading one after the other cannot fill a buffer.
    let (mut o, mut e) = (String::new(), String::new());
    out.read_to_string(&mut o)?;
    err.read_to_string(&mut e)?;
    Ok((o, e, process.wait()?))
}

fn main() -> Result<(), common::BoxError> {
    let scratch = common::Scratch::new("exec")?;
    let rt = &scratch.rt;
    let id = scratch.id("exec");
    let spec = scratch.spec(&id, &["sleep", "300"]);
    let created = rt.create(&CreateOptions::new(&id, scratch.bundle()).with_spec(spec))?;
    rt.start(&id)?;

    let (ps, _, code) = exec(rt, &id, &["ps", "-o", "pid,args"])?;
    print!("$ ps -o pid,args  (exit {code})\n{ps}");
    common::check(code == 0, "ps succeeds")?;
    common::check(
        ps.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep", "300"]),
        "the container's init is pid 1 in its namespace",
    )?;

    let (out, err, code) = exec(rt, &id, &["sh", "-c", "hostname; echo oops >&2; exit 4"])?;
    println!("$ sh -c 'hostname; echo oops >&2; exit 4'\nstdout: {out:?}\nstderr: {err:?}\nexit code: {code}");
    common::check(out == format!("{id}\n"), "stdout")?;
    common::check(err == "oops\n", "stderr")?;
    common::check(code == 4, "exit code")?;

    rt.kill(&id, Signal::SIGKILL, false)?;
    created.wait()?;
    rt.delete(&id, false)?;
    Ok(())
}
