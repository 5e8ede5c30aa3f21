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
    /// On a shared PostgreSQL store: every node and which inboxes each
    /// holds, as the database says (not only the daemon on this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
}

/// The nodes serving one database and their inbox leases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub nodes: Vec<crate::pg::lease::NodeRow>,
    pub leases: Vec<crate::pg::lease::LeaseRow>,
    /// The day's last takeovers of an inbox from a node whose lease ran
    /// out, newest first.
    #[serde(default)]
    pub takeovers: Vec<crate::pg::lease::Takeover>,
    /// How long a node may stay silent before its leases may be taken.
    pub lease_ttl_ms: u64,
}

impl Cluster {
    /// Nodes heard from within the lease TTL: the ones serving now.
    pub fn live_nodes(&self) -> impl Iterator<Item = &crate::pg::lease::NodeRow> {
        let ttl = i64::try_from(self.lease_ttl_ms).unwrap_or(i64::MAX);
        self.nodes.iter().filter(move |n| n.seen_ms_ago <= ttl)
    }

    /// The node holding an inbox's lease now, if one does.
    pub fn holder(&self, inbox: &str) -> Option<&str> {
        let name = crate::pg::lease::inbox_lease(inbox);
        self.leases
            .iter()
            .find(|l| l.name == name && l.expires_in_ms > 0)
            .and_then(|l| l.holder.as_deref())
    }
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
