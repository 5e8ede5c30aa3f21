//! The outbox: every mail postdesk sends waits here until a transport has
//! accepted it.
//!
//! Entries are written in the same store transaction as the change that
//! caused them, so a ticket never exists without its acknowledgement queued
//! and an acknowledgement never exists for a message that was not stored.
//! Most are queued as a plan ([`crate::compose::Planned`]): rendering and
//! building a mail costs more than deciding it, and intake should not wait
//! for that. Before a mail's first attempt the worker builds it and stores
//! the final bytes, so every attempt sends the same bytes.
//!
//! The worker sends only what a flush has made durable, then marks it sent
//! (a few mails at a time, see `RECORD_EVERY`). A crash between the two
//! resends the same bytes with the same Message-ID, which receivers
//! deduplicate; it never sends two different messages.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use crate::desk::Desk;
use crate::transport::{SendError, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Queued,
    Sent,
    Failed,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            State::Queued => "queued",
            State::Sent => "sent",
            State::Failed => "failed",
        })
    }
}

/// How failed attempts are retried.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub retry_base: Duration,
    pub max_age: Duration,
}

/// One outgoing mail. Its bytes (or, until built, its plan) are stored
/// beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u64,
    /// The ticket it is about (`ACME-42`), if any.
    pub ticket: Option<String>,
    /// The template kind: ack, reply, followup, ...
    pub kind: String,
    pub message_id: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub size: usize,
    pub created: DateTime<Utc>,
    pub state: State,
    pub attempts: u32,
    pub next_attempt: DateTime<Utc>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    /// Not built yet: what is stored beside it is a
    /// [`crate::compose::Planned`], which the worker renders, builds and
    /// stores before the first attempt. Subject and size are known then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub planned: bool,
}

/// The wait before the next attempt after `failures` failures: `base`
/// (30 s by default) doubling up to an hour, like an MTA's queue.
pub fn backoff(base: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(Duration::from_secs(3600))
}

/// The entry after one attempt ended with `result` at `now`.
pub fn after_attempt(
    mut e: Entry,
    result: Result<(), SendError>,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Entry {
    e.attempts += 1;
    match result {
        Ok(()) => {
            e.state = State::Sent;
            e.sent_at = Some(now);
            e.last_error = None;
        }
        Err(err) => {
            let age = (now - e.created).to_std().unwrap_or_default();
            e.last_error = Some(err.message.clone());
            if err.permanent || age >= policy.max_age {
                e.state = State::Failed;
            } else {
                e.next_attempt = now
                    + chrono::Duration::from_std(backoff(policy.retry_base, e.attempts))
                        .unwrap_or_else(|_| chrono::Duration::hours(1));
            }
        }
    }
    e
}

/// Why an outbox entry's mail could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the planned mail cannot be read ({0}); it cannot be sent")]
    Plan(String),
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
}

/// The mail of an entry as stored: the bytes of a built one, or a planned
/// one rendered and built now with `templates` (the entry returned then has
/// its subject and size).
pub fn build(
    config: &crate::config::Config,
    templates: &crate::templates::Templates,
    entry: Entry,
    stored: Vec<u8>,
) -> Result<(Entry, Vec<u8>), MailError> {
    if !entry.planned {
        return Ok((entry, stored));
    }
    let plan: crate::compose::Planned =
        serde_json::from_slice(&stored).map_err(|e| MailError::Plan(e.to_string()))?;
    Ok(crate::compose::build_planned(
        config,
        templates,
        &entry,
        &plan,
        &[],
    )?)
}

/// How many attempts are recorded at once (one transaction, one flush).
/// A flush per mail made the outbox worker compete with intake for the
/// store (about a fifth of the daemon's CPU time while a burst came in,
/// benches/RESULTS.md); the price is that a crash may resend up to this
/// many mails, each with its stored bytes and Message-ID.
const RECORD_EVERY: usize = 16;

/// Makes attempts durable; a failure is logged (the mail may then be sent
/// again, never lost).
async fn record(desk: &Arc<Desk>, attempts: Vec<(Entry, Entry)>) {
    if attempts.is_empty() {
        return;
    }
    let desk = desk.clone();
    let written = tokio::task::spawn_blocking(move || {
        desk.store().update_outbox(&attempts)?;
        desk.store().flush()
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::error!("cannot record outbox attempts; those mails may be sent again");
    }
}

/// Renders and builds the due mails that are only planned, and stores
/// them built (one transaction, one flush) before any is sent, so a resend
/// after a crash is the same bytes. Returns what may be sent now: mail
/// that fails to build is marked failed with the reason (`postdesk outbox
/// retry` builds it again, with the templates of then).
async fn build_due(desk: &Arc<Desk>, due: Vec<(Entry, Vec<u8>)>) -> Vec<(Entry, Vec<u8>)> {
    if due.iter().all(|(e, _)| !e.planned) {
        return due;
    }
    let desk = desk.clone();
    let built = tokio::task::spawn_blocking(move || {
        let templates = desk.templates();
        let mut ready = Vec::with_capacity(due.len());
        let mut built = Vec::new();
        let mut failed = Vec::new();
        for (entry, plan) in due {
            if !entry.planned {
                ready.push((entry, plan));
                continue;
            }
            match build(desk.config(), &templates, entry.clone(), plan) {
                Ok(mail) => built.push(mail),
                Err(why) => {
                    let why = why.to_string();
                    tracing::error!(id = entry.id, kind = %entry.kind, error = %why, "mail not built");
                    crate::metrics::get().outbox_attempt("failed");
                    let failed_entry = Entry {
                        state: State::Failed,
                        last_error: Some(why),
                        ..entry.clone()
                    };
                    failed.push((entry, failed_entry));
                }
            }
        }
        let replaced = desk.store().store_built(&built)?;
        desk.store().update_outbox(&failed)?;
        desk.store().flush()?;
        ready.extend(built.into_iter().filter(|(e, _)| replaced.contains(&e.id)));
        ready.sort_by_key(|(e, _)| (e.next_attempt, e.id));
        Ok::<_, crate::store::StoreError>(ready)
    })
    .await;
    match built {
        Ok(Ok(ready)) => ready,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot store built mail; retrying");
            Vec::new()
        }
        Err(e) => {
            tracing::error!(error = %e, "building mail failed; retrying");
            Vec::new()
        }
    }
}

/// Sends due mail until `stop`. Woken early by `wake` when new mail is
/// committed, otherwise it looks again every second (retries come due by
/// the clock).
pub async fn run(
    desk: Arc<Desk>,
    transport: Transport,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let policy = Policy {
        retry_base: desk.config().outgoing.retry_base,
        max_age: desk.config().outgoing.max_age,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let due = tokio::task::spawn_blocking({
            let desk = desk.clone();
            move || -> Result<_, crate::store::StoreError> {
                // Only what a flush made durable may leave the machine.
                desk.flush()?;
                desk.store().due_outbox(Utc::now(), 32)
            }
        })
        .await;
        let due = match due {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the outbox; retrying");
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox task failed; retrying");
                Vec::new()
            }
        };
        let due = build_due(&desk, due).await;
        let busy = !due.is_empty();
        let mut attempts = Vec::new();
        for (entry, bytes) in due {
            let result = transport
                .send(&entry.envelope_from, &entry.recipients, &bytes)
                .await;
            match &result {
                Ok(()) => {
                    tracing::info!(id = entry.id, kind = %entry.kind, to = ?entry.recipients, "sent")
                }
                Err(e) => {
                    tracing::warn!(id = entry.id, kind = %entry.kind, error = %e.message, permanent = e.permanent, "send failed")
                }
            }
            let updated = after_attempt(entry.clone(), result, Utc::now(), &policy);
            crate::metrics::get().outbox_attempt(match updated.state {
                State::Sent => "sent",
                State::Queued => "retry",
                State::Failed => "failed",
            });
            attempts.push((entry, updated));
            let stopping = *stop.borrow();
            if attempts.len() >= RECORD_EVERY || stopping {
                record(&desk, std::mem::take(&mut attempts)).await;
            }
            if stopping {
                return;
            }
        }
        record(&desk, attempts).await;
        if !busy {
            tokio::select! {
                _ = wake.notified() => {},
                _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Entry {
            id: 1,
            ticket: Some("ACME-1".into()),
            kind: "ack".into(),
            message_id: "m@d".into(),
            envelope_from: "support@desk.test".into(),
            recipients: vec!["carol@customer.test".into()],
            subject: "s".into(),
            size: 10,
            created: t,
            state: State::Queued,
            attempts: 0,
            next_attempt: t,
            last_error: None,
            sent_at: None,
            planned: false,
        }
    }

    const POLICY: Policy = Policy {
        retry_base: Duration::from_secs(30),
        max_age: Duration::from_secs(3600),
    };

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let b = Duration::from_secs(30);
        assert_eq!(backoff(b, 1), Duration::from_secs(30));
        assert_eq!(backoff(b, 2), Duration::from_secs(60));
        assert_eq!(backoff(b, 5), Duration::from_secs(480));
        assert_eq!(backoff(b, 30), Duration::from_secs(3600));
    }

    #[test]
    fn attempts_retry_then_fail_with_age_or_permanence() {
        let e = entry();
        let now = e.created + chrono::Duration::seconds(5);
        let temp = || {
            Err(SendError {
                permanent: false,
                message: "421 try later".into(),
            })
        };
        let r = after_attempt(e.clone(), temp(), now, &POLICY);
        assert_eq!(r.state, State::Queued);
        assert_eq!(r.next_attempt, now + chrono::Duration::seconds(30));
        let old = e.created + chrono::Duration::hours(2);
        assert_eq!(
            after_attempt(e.clone(), temp(), old, &POLICY).state,
            State::Failed
        );
        let perm = Err(SendError {
            permanent: true,
            message: "550 no such user".into(),
        });
        assert_eq!(
            after_attempt(e.clone(), perm, now, &POLICY).state,
            State::Failed
        );
        let ok = after_attempt(e, Ok(()), now, &POLICY);
        assert_eq!(
            (ok.state, ok.sent_at, ok.attempts),
            (State::Sent, Some(now), 1)
        );
    }
}
