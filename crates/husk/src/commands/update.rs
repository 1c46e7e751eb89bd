//! `husk update [--resources FILE|-] [FLAGS] ID` (runc `update`).
//!
//! The new resources come from `--resources` (LinuxResources JSON from a
//! file, or from stdin for `-`, as podman and docker send them) and from the
//! flags, which override the JSON's fields. Memory values take runc's units
//! (`64m`, `1g`, `-1`). Intel RDT (`--l3-cache-schema`, `--mem-bw-schema`) is
//! refused: husk does not manage resctrl.

use std::io::Read;

use libcontainer::Runtime;
use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use super::CmdResult;
use crate::cli::UpdateArgs;

pub fn run(rt: &Runtime, a: &UpdateArgs) -> CmdResult {
    if a.l3_cache_schema.is_some() {
        return Err("--l3-cache-schema: Intel RDT/CAT is not supported by husk".into());
    }
    if a.mem_bw_schema.is_some() {
        return Err("--mem-bw-schema: Intel RDT/MBA is not supported by husk".into());
    }
    let resources = resources(a)?;
    rt.update(&a.id, &resources)?;
    Ok(0)
}

/// The JSON of `--resources` (if any) with the flags applied on top.
fn resources(a: &UpdateArgs) -> Result<LinuxResources, String> {
    let mut r: LinuxResources = match a.resources.as_deref() {
        None => LinuxResources::default(),
        Some(src) => {
            let mut text = String::new();
            let read = if src == "-" {
                std::io::stdin().read_to_string(&mut text)
            } else {
                std::fs::File::open(src).and_then(|mut f| f.read_to_string(&mut text))
            };
            read.map_err(|e| format!("--resources {src}: {e}"))?;
            serde_json::from_str(&text).map_err(|e| format!("--resources {src}: {e}"))?
        }
    };

    let mut memory = r.memory().unwrap_or_default();
    type Setter = fn(&mut LinuxMemory, Option<i64>);
    let fields: [(&str, &Option<String>, Setter); 5] = [
        ("memory", &a.memory, |m, v| {
            m.set_limit(v);
        }),
        ("memory-swap", &a.memory_swap, |m, v| {
            m.set_swap(v);
        }),
        ("memory-reservation", &a.memory_reservation, |m, v| {
            m.set_reservation(v);
        }),
        ("kernel-memory", &a.kernel_memory, |m, v| {
            m.set_kernel(v);
        }),
        ("kernel-memory-tcp", &a.kernel_memory_tcp, |m, v| {
            m.set_kernel_tcp(v);
        }),
    ];
    for (flag, value, set) in fields {
        if let Some(v) = value {
            let bytes = if v == "-1" {
                -1
            } else {
                ram_in_bytes(v).map_err(|e| format!("invalid value for {flag}: {e}"))?
            };
            set(&mut memory, Some(bytes));
        }
    }
    if memory != LinuxMemory::default() {
        r.set_memory(Some(memory));
    }

    let mut cpu = r.cpu().clone().unwrap_or_default();
    if let Some(v) = &a.cpu_share {
        cpu.set_shares(Some(parse_flag("cpu-share", v)?));
    }
    if let Some(v) = &a.cpu_period {
        cpu.set_period(Some(parse_flag("cpu-period", v)?));
    }
    if let Some(v) = &a.cpu_rt_period {
        cpu.set_realtime_period(Some(parse_flag("cpu-rt-period", v)?));
    }
    if let Some(v) = &a.cpu_quota {
        cpu.set_quota(Some(parse_flag("cpu-quota", v)?));
    }
    if let Some(v) = &a.cpu_rt_runtime {
        cpu.set_realtime_runtime(Some(parse_flag("cpu-rt-runtime", v)?));
    }
    if let Some(v) = &a.cpuset_cpus {
        cpu.set_cpus(Some(v.clone()));
    }
    if let Some(v) = &a.cpuset_mems {
        cpu.set_mems(Some(v.clone()));
    }
    if cpu != LinuxCpu::default() {
        r.set_cpu(Some(cpu));
    }

    if let Some(v) = &a.blkio_weight {
        let mut b = r.block_io().clone().unwrap_or_default();
        b.set_weight(Some(parse_flag("blkio-weight", v)?));
        r.set_block_io(Some(b));
    }
    if let Some(v) = &a.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(parse_flag("pids-limit", v)?);
        r.set_pids(Some(p));
    }
    Ok(r)
}

fn parse_flag<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.trim()
        .parse()
        .map_err(|e| format!("invalid value for {flag}: {v:?}: {e}"))
}

/// docker/go-units `RAMInBytes`, which runc uses: a number (fractions
/// allowed), an optional space, and an optional binary unit `b`, `k`, `m`,
/// `g`, `t`, `p` (optionally followed by `b` or `ib`), any case.
fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{s}'");
    let sep = s
        .rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')
        .ok_or_else(invalid)?;
    let (num, suffix) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = num.parse().map_err(|_| invalid())?;
    if size < 0.0 || !size.is_finite() {
        return Err(invalid());
    }
    let bad_suffix = || format!("invalid suffix: '{suffix}'");
    let sfx = suffix.to_ascii_lowercase();
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    if sfx.len() > 3 {
        return Err(bad_suffix());
    }
    let first = sfx.as_bytes()[0];
    if first == b'b' {
        return if sfx.len() == 1 {
            Ok(size as i64)
        } else {
            Err(bad_suffix())
        };
    }
    let power = match first {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        _ => return Err(bad_suffix()),
    };
    match sfx.len() {
        2 if &sfx[1..] != "b" => return Err(bad_suffix()),
        3 if &sfx[1..] != "ib" => return Err(bad_suffix()),
        _ => {}
    }
    Ok((size * 1024f64.powi(power)) as i64)
}

#[cfg(test)]
mod tests {
    use super::ram_in_bytes;

    #[test]
    fn runc_memory_units() {
        assert_eq!(ram_in_bytes("64m"), Ok(64 << 20));
        assert_eq!(ram_in_bytes("1g"), Ok(1 << 30));
        assert_eq!(ram_in_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(ram_in_bytes("96MB"), Ok(96 << 20));
        assert_eq!(ram_in_bytes("1.5k"), Ok(1536));
        assert_eq!(ram_in_bytes("1048576"), Ok(1 << 20));
        assert_eq!(ram_in_bytes("10 k"), Ok(10240));
        assert_eq!(ram_in_bytes("12b"), Ok(12));
        for bad in ["", "m", "64x", "64mbb", "64kb2", "-5m", "1kbb"] {
            assert!(ram_in_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
