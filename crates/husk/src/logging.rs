//! runc-shaped logging: `--log FILE` and `--log-format text|json`, so
//! containerd-shim and conmon read husk's log as they read runc's.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FmtSpan, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{GlobalOpts, LogFormat};

/// Install the subscriber the global flags ask for.
pub fn init(g: &GlobalOpts) -> Result<(), String> {
    let level = if g.debug { Level::DEBUG } else { Level::WARN };
    let format = RuncFormat(g.log_format);
    // With --debug, each stage (the library's spans: check, cgroup, clone,
    // init, hooks, ...) also logs how long it took when it ends.
    let spans = if g.debug {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_span_events(spans)
        .event_format(format);
    match &g.log {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--log {}: {e}", path.display()))?;
            builder.with_writer(Mutex::new(file)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

/// Log a command's failure. With `--log` the message also goes to stderr in
/// plain text, as runc does, so a person running husk by hand sees it.
pub fn report_error(g: &GlobalOpts, e: &dyn fmt::Display) {
    tracing::error!("{e}");
    if g.log.is_some() {
        let _ = writeln!(std::io::stderr(), "{e}");
    }
}

struct RuncFormat(LogFormat);

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.add(field, format!("{value:?}"));
    }
}

impl Message {
    fn add(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.0.insert_str(0, &value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

impl<S, N> FormatEvent<S, N> for RuncFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut msg = Message::default();
        event.record(&mut msg);
        // A span's close event ("close time.busy=.. time.idle=.."): name the
        // stage, with its enclosing ones, e.g. "create/init: done, time.busy=..".
        if let Some(rest) = msg.0.strip_prefix("close ") {
            if let Some(scope) = ctx.event_scope() {
                let names: Vec<&str> = scope.from_root().map(|s| s.name()).collect();
                msg.0 = format!("{}: done, {rest}", names.join("/"));
            }
        }
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        let time = libcontainer::rfc3339_nano(std::time::SystemTime::now());
        match self.0 {
            LogFormat::Json => {
                let line = serde_json::json!({"level": level, "msg": msg.0, "time": time});
                writeln!(w, "{line}")
            }
            LogFormat::Text => {
                let quoted = serde_json::to_string(&msg.0).unwrap_or_default();
                writeln!(w, "time=\"{time}\" level={level} msg={quoted}")
            }
        }
    }
}
