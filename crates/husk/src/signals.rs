//! Signal names and numbers as `kill` accepts them, and forwarding for `run`.

use nix::sys::signal::Signal;

/// Parse `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse(raw: &str) -> Result<Signal, String> {
    if let Ok(n) = raw.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| format!("unknown signal \"{raw}\""));
    }
    let upper = raw.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>()
        .map_err(|_| format!("unknown signal \"{raw}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("KILL"), Ok(Signal::SIGKILL));
        assert_eq!(parse("sigterm"), Ok(Signal::SIGTERM));
        assert_eq!(parse("SIGUSR1"), Ok(Signal::SIGUSR1));
        assert_eq!(parse("9"), Ok(Signal::SIGKILL));
        assert!(parse("FOO").is_err());
        assert!(parse("999").is_err());
    }
}
