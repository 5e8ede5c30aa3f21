//! Telling systemd where the daemon stands (`Type=notify`): READY once every
//! source, the control socket and the metrics listener are up, a one-line
//! STATUS that `systemctl status postdesk` shows, RELOADING around a SIGHUP,
//! STOPPING at a drain, and WATCHDOG pings when the unit asks for them.
//!
//! Every call is a no-op without `NOTIFY_SOCKET` (a terminal, a test), and a
//! failure to notify is logged, never fatal: the desk works without systemd.

use sd_notify::NotifyState;

use crate::desk::Desk;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager (NOTIFY_SOCKET)");
    }
}

pub fn ready() {
    send(&[NotifyState::Ready]);
}

pub fn reloading() {
    send(&[NotifyState::Reloading]);
}

pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("draining: finishing the batch in hand"),
    ]);
}

/// Feeds the watchdog, if the unit set `WatchdogSec` (systemd then passes
/// `WATCHDOG_USEC`). Called from the timer loop, so a daemon whose loop is
/// stuck stops feeding it and is restarted.
pub fn watchdog() {
    if sd_notify::watchdog_enabled().is_some() {
        send(&[NotifyState::Watchdog]);
    }
}

/// The STATUS line while the store is being reopened, so that `systemctl
/// status postdesk` says why intake is paused.
pub fn stuck(why: &str) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        send(&[NotifyState::Status(&format!("stuck: {why}"))]);
    }
}

/// The STATUS line, sent only when it changes.
#[derive(Default)]
pub struct Status {
    last: String,
}

impl Status {
    /// Whether a STATUS line is wanted at all (the unit is
    /// `Type=notify`): [`status_line`] reads the store, so a caller on an
    /// async thread makes it on a blocking one only when this says so.
    pub fn wanted() -> bool {
        std::env::var_os("NOTIFY_SOCKET").is_some()
    }

    /// Sends `line` ([`status_line`]) if it differs from the last one.
    pub fn update(&mut self, line: String) {
        if !Self::wanted() {
            return;
        }
        if line != self.last {
            send(&[NotifyState::Status(&line)]);
            self.last = line;
        }
    }
}

/// "2/2 inboxes connected, 3 mail queued" — or which inbox is down.
/// Reads the store (the queue's length): call it off the async threads,
/// where a PostgreSQL store blocks on its own runtime.
pub fn status_line(desk: &Desk) -> String {
    let sources = desk.sources().snapshot();
    let total = desk.config().inboxes.len();
    let down: Vec<&str> = sources
        .iter()
        .filter(|s| !s.connected && s.last_error.is_some())
        .map(|s| s.name.as_str())
        .collect();
    let mut line = format!(
        "{}/{total} inboxes connected, {} mail queued",
        sources.iter().filter(|s| s.connected).count(),
        desk.store().outbox_len()
    );
    if !down.is_empty() {
        line.push_str(&format!("; not connected: {}", down.join(", ")));
    }
    line
}
