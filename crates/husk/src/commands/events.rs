//! `husk events [--stats] [--interval DUR] ID` (runc `events`): one JSON
//! object per line, `{"type":"stats","id":…,"data":{…}}` or
//! `{"type":"oom","id":…}`. `--stats` prints one stats event and exits;
//! otherwise stats come every interval until the container stops.

use std::io::Write;
use std::time::Duration;

use libcontainer::{Event, EventKind, Runtime};

use super::CmdResult;
use crate::cli::EventsArgs;

pub fn run(rt: &Runtime, a: &EventsArgs) -> CmdResult {
    let interval = parse_duration(&a.interval)
        .map_err(|e| format!("invalid value {:?} for flag --interval: {e}", a.interval))?;
    if interval.is_zero() {
        return Err("duration interval must be greater than 0".into());
    }
    if a.stats {
        let data = rt.stats(&a.id)?;
        print_event(&Event {
            kind: EventKind::Stats,
            id: a.id.clone(),
            data: Some(data),
        })?;
        return Ok(0);
    }
    match rt.events(&a.id, interval, print_event) {
        // The reader went away (`events ID | head -1`): nothing left to do.
        Err(libcontainer::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(0)
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok(0),
    }
}

/// One line per event, flushed at once so a reader on a pipe sees it.
fn print_event(e: &Event) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, e)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers, each with a
/// unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `1m30s`, `1.5h`, `0`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        total += value * nanos_per;
        rest = &rest[unit_len..];
    }
    if neg && total > 0.0 {
        // A negative interval is refused by the caller like a zero one.
        return Ok(Duration::ZERO);
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("-1s"), Ok(Duration::ZERO));
        for bad in ["", "5", "5x", "s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
