//! Where log lines go and how they look. Admins read them in three places:
//! a terminal (colours, timestamps), the systemd journal (which stamps and
//! levels each line itself), and log shippers (JSON).
//!
//! `auto` picks by where stderr goes: a terminal gets the human format;
//! stderr connected to the journal (systemd sets `JOURNAL_STREAM` to that
//! stream's device and inode, which we compare with our stderr, so a child
//! whose stderr was redirected elsewhere is not fooled) gets the journald
//! format; anything else (a file, a pipe) gets human lines without colour.
//! The journald format has no timestamp (the journal adds one) and starts
//! every line with a `<N>` syslog priority, which journald turns into the
//! entry's priority (`journalctl -p warning` works); continuation lines of a
//! multi-line message carry the same prefix, so a hint never lands as a
//! separate "info" entry.
//!
//! Secrets: no event of ours carries a password or token (only the names
//! of the variables and files holding them), and the `log` records of
//! dependencies are not bridged in (see Cargo.toml), so a wire trace of
//! IMAP LOGIN or SMTP AUTH cannot reach the log at any level.

use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Auto,
    Human,
    Json,
    Journald,
}

impl Format {
    /// What `auto` means here and now.
    pub fn resolve(self) -> Format {
        match self {
            Format::Auto if std::io::stderr().is_terminal() => Format::Human,
            Format::Auto if stderr_is_journal() => Format::Journald,
            Format::Auto => Format::Human,
            f => f,
        }
    }
}

/// Whether stderr is the stream systemd connected to the journal.
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(var) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = var.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    // /proc/self/fd/2 follows to the socket; its metadata is the stream's.
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// The syslog priority journald understands for a level.
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// When output may be coloured (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set (no-color.org).
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether stderr gets colour: `auto` colours a terminal unless
    /// `NO_COLOR` is set to anything non-empty, as the convention says.
    pub fn for_stderr(self) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Installs the subscriber. `POSTDESK_LOG` is an `EnvFilter` directive
/// (`debug`, `postdesk::source::imap=debug`); the daemon logs `info` by
/// default, commands only warnings.
pub fn init(format: Format, color: Color, daemon: bool) {
    let default = if daemon { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("POSTDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format.resolve() {
        Format::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        Format::Journald => builder
            .with_ansi(false)
            .event_format(Journald(
                format::format()
                    .without_time()
                    .with_ansi(false)
                    .with_level(false)
                    .with_target(false),
            ))
            .try_init(),
        _ => builder.with_ansi(color.for_stderr()).try_init(),
    };
}

/// Formats with the inner format, then prefixes every line with the
/// event's priority.
struct Journald<F>(F);

impl<S, N, F> FormatEvent<S, N> for Journald<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let prio = priority(event.metadata().level());
        for l in line.lines() {
            writeln!(writer, "<{prio}>{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_formats_are_kept_and_levels_map_to_syslog() {
        assert_eq!(Format::Json.resolve(), Format::Json);
        assert_eq!(Format::Journald.resolve(), Format::Journald);
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::TRACE), 7);
    }
}
