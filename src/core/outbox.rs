//! The outbox's records: every mail postdesk sends waits here until a
//! transport has accepted it.
//!
//! Plain data beside the core: an entry, its state, and what an attempt
//! does to it (the backoff). Entries are written in the same store
//! transaction as the change that caused them, so a ticket never exists
//! without its acknowledgement queued and an acknowledgement never exists
//! for a message that was not stored. They are queued as a plan
//! ([`crate::compose::Planned`]): rendering and building a mail costs more
//! than deciding it, and intake should not wait for that. Before a mail's
//! first attempt the worker ([`crate::outbox`]) builds it and stores the final bytes, so
//! every attempt sends the same bytes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

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
