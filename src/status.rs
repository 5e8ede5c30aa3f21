//! What `postdesk status` reports: each source's connection, last success,
//! last error, messages handed over and position. Sources update their own
//! entry; the daemon answers from memory, so status works even when a
//! source is stuck.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InboxState {
    pub name: String,
    pub kind: String,
    pub connected: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub processed: u64,
    /// The source's own description of its position (UIDVALIDITY/UID).
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// False when no daemon runs (then inboxes are not being read).
    pub daemon: bool,
    pub pid: u32,
    pub inboxes: Vec<InboxState>,
    pub outbox_queued: usize,
    pub tickets: usize,
    pub quarantined: usize,
    /// Where `/metrics` answers, when the listener is on.
    #[serde(default)]
    pub metrics: Option<String>,
    /// Why the daemon cannot take mail now (its storage fails), if so.
    #[serde(default)]
    pub stuck: Option<String>,
}

/// Every source's state, by inbox name.
#[derive(Debug, Default)]
pub struct Sources {
    inner: Mutex<BTreeMap<String, InboxState>>,
}

impl Sources {
    /// Changes one inbox's entry, creating it on first use.
    pub fn update(&self, name: &str, kind: &str, f: impl FnOnce(&mut InboxState)) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(name.to_string()).or_insert_with(|| InboxState {
            name: name.to_string(),
            kind: kind.to_string(),
            ..InboxState::default()
        });
        f(e);
    }

    pub fn success(&self, name: &str, kind: &str, handed_over: u64) {
        self.update(name, kind, |e| {
            e.connected = true;
            e.last_success = Some(Utc::now());
            e.processed += handed_over;
        });
    }

    pub fn failure(&self, name: &str, kind: &str, error: &str) {
        self.update(name, kind, |e| {
            e.connected = false;
            e.last_error = Some(error.to_string());
            e.last_error_at = Some(Utc::now());
        });
    }

    pub fn snapshot(&self) -> Vec<InboxState> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}
