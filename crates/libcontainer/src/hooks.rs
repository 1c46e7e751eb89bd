//! Running OCI hooks (config.md "POSIX-platform Hooks"): each hook gets the
//! container state as JSON on stdin, its own args and env, and an optional
//! timeout after which it is killed.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

/// Which hook list is being run, for messages.
#[derive(Debug, Clone, Copy)]
pub enum HookKind {
    /// `hooks.prestart` (deprecated, runs with createRuntime).
    Prestart,
    /// `hooks.createRuntime`.
    CreateRuntime,
    /// `hooks.createContainer`.
    CreateContainer,
    /// `hooks.startContainer`.
    StartContainer,
    /// `hooks.poststart`.
    Poststart,
    /// `hooks.poststop`.
    Poststop,
}

impl HookKind {
    /// The field name in config.json.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }
}

/// A hook that failed: which one and why.
#[derive(Debug, thiserror::Error)]
#[error("hooks.{kind}[{index}] ({path}): {reason}")]
pub struct HookError {
    /// The hook list.
    pub kind: &'static str,
    /// Position in the list.
    pub index: usize,
    /// The hook's path.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// Run every hook in `hooks` in order; stop at the first failure.
pub fn run_all(kind: HookKind, hooks: &[Hook], state_json: &str) -> Result<(), HookError> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, state_json).map_err(|reason| HookError {
            kind: kind.name(),
            index,
            path: hook.path().display().to_string(),
            reason,
        })?;
    }
    Ok(())
}

/// Run every hook, logging failures as warnings and going on (poststart, poststop).
pub fn run_all_warn(kind: HookKind, hooks: &[Hook], state_json: &str) {
    for (index, hook) in hooks.iter().enumerate() {
        if let Err(reason) = run_one(hook, state_json) {
            tracing::warn!(
                "hooks.{}[{index}] ({}) failed: {reason}",
                kind.name(),
                hook.path().display()
            );
        }
    }
}

fn run_one(hook: &Hook, state_json: &str) -> Result<(), String> {
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some((first, rest)) = args.split_first() {
            cmd.arg0(first).args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let deadline = hook
        .timeout()
        .map(|t| Instant::now() + Duration::from_secs(t.max(1) as u64));
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("timed out after {}s", hook.timeout().unwrap_or(0)));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let stderr = stderr.trim();
    Err(if stderr.is_empty() {
        format!("{status}")
    } else {
        format!("{status}: {stderr}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(v: serde_json::Value) -> Hook {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn hook_reads_state_and_sees_only_its_env() {
        let out = std::env::temp_dir().join(format!("husk-hook-{}", std::process::id()));
        let h = hook(serde_json::json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("cat > {0}; echo \"$FOO:$HOME\" >> {0}", out.display())],
            "env": ["FOO=bar"]
        }));
        run_all(HookKind::Prestart, &[h], "{\"id\":\"x\"}").unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got, "{\"id\":\"x\"}bar:\n");
        std::fs::remove_file(out).unwrap();
    }

    #[test]
    fn failure_and_timeout_name_the_hook() {
        let fail = hook(serde_json::json!({"path": "/bin/false"}));
        let e = run_all(HookKind::CreateRuntime, &[fail], "{}").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("hooks.createRuntime[0] (/bin/false)"),
            "{e}"
        );
        let slow =
            hook(serde_json::json!({"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}));
        let e = run_all(HookKind::Prestart, &[slow], "{}").unwrap_err();
        assert!(e.reason.contains("timed out"), "{e}");
    }
}
