//! `husk ps [--format table|json] ID [PS OPTIONS...]` (runc `ps`).
//!
//! `json` prints the pids of the container's cgroup as a JSON array (what
//! containerd-shim reads); `table` runs ps(1) with the given options
//! (default `-ef`) and keeps the header and the lines of those pids.

use std::process::Command;

use libcontainer::Runtime;

use super::CmdResult;
use crate::cli::PsArgs;

pub fn run(rt: &Runtime, a: &PsArgs) -> CmdResult {
    if a.format != "table" && a.format != "json" {
        return Err("invalid format option".into());
    }
    let (id, ps_args) = a
        .args
        .split_first()
        .ok_or("ps: a container id is required")?;
    let pids = rt.processes(id)?;
    if a.format == "json" {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let ps_args: Vec<&str> = if ps_args.is_empty() {
        vec!["-ef"]
    } else {
        ps_args.iter().map(String::as_str).collect()
    };
    let out = Command::new("ps")
        .args(&ps_args)
        .output()
        .map_err(|e| format!("run ps: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "ps {}: {}: {}{}",
            ps_args.join(" "),
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    print!("{}", filter_table(&text, &pids)?);
    Ok(0)
}

/// The header line and the lines whose PID column is one of `pids`.
fn filter_table(text: &str, pids: &[i32]) -> Result<String, String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|t| t == "PID")
        .ok_or("couldn't find PID field in ps output")?;
    let mut out = format!("{header}\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let field = line.split_whitespace().nth(col).unwrap_or_default();
        let pid: i32 = field
            .parse()
            .map_err(|e| format!("unable to parse pid {field:?}: {e}"))?;
        if pids.contains(&pid) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_header_and_container_lines() {
        let ps = "UID   PID  PPID CMD\nroot    1     0 init\nroot  42     1 sleep 1000\n";
        assert_eq!(
            super::filter_table(ps, &[42]).unwrap(),
            "UID   PID  PPID CMD\nroot  42     1 sleep 1000\n"
        );
        assert!(super::filter_table("UID CMD\nroot x\n", &[1]).is_err());
    }
}
