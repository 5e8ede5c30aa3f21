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

/// How far a failed send reaches: the one mail, or every mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The transport itself is unusable (connection refused, timeout,
    /// TLS, 421 or an authentication failure): every other mail would
    /// fail the same way, so the worker stops and probes instead of
    /// spending one connection and one log line per mail.
    Transport,
    /// This mail was refused for now (4xx to its sender, recipients or
    /// data): it waits by its own backoff, the others go on.
    Temporary,
    /// This mail was refused for good (5xx): it is marked failed.
    Permanent,
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub reach: Reach,
    pub message: String,
}

impl SendError {
    pub fn permanent(&self) -> bool {
        self.reach == Reach::Permanent
    }
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
    /// The longest wait between two attempts of a mail
    /// (`outgoing.retry_max`).
    pub retry_max: Duration,
    pub max_age: Duration,
}

/// How many sends of one mail may end without a recorded result (the
/// daemon died meanwhile) before it is held for an admin: each may have
/// reached the customer, so a crash loop must not send it without bound.
pub const MAX_UNCONFIRMED: u32 = 3;

/// The longest wait between two probes of a transport that is down,
/// whatever `retry_max` says: the queue must start draining within 30 s
/// of the relay's return after an outage of any length (the probe's wait,
/// then sending what queued up), and one refused connection every 10 s
/// costs nothing (the jitter only shortens it).
pub const PROBE_CAP: Duration = Duration::from_secs(10);

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
    /// A send has begun and its result is not recorded yet. Written
    /// durably before the mail leaves, so an entry found so at start-up
    /// is one the daemon may have sent before it died.
    #[serde(default)]
    pub in_flight: bool,
    /// Sends that ended without a recorded result (found in flight at
    /// start-up): each may have reached the recipient, so the count is
    /// how many times it may have been sent again. Shown by `outbox list`;
    /// at [`MAX_UNCONFIRMED`] the mail is held until `outbox retry`.
    #[serde(default)]
    pub unconfirmed: u32,
}

/// The wait before the next attempt after `failures` failures: `base`
/// (30 s by default) doubling up to `max`, like an MTA's queue.
pub fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(max)
}

/// `step` shortened by up to half by `jitter` (a fraction in [0, 1) the
/// shell draws), so mails and desks that failed together do not retry in
/// lock-step. Never longer than `step`, so caps hold.
pub fn jittered(step: Duration, jitter: f64) -> Duration {
    let j = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    step.mul_f64(1.0 - 0.5 * j)
}

fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1))
}

/// The entry about to be sent: in flight until its result is recorded.
pub fn start_send(mut e: Entry) -> Entry {
    e.in_flight = true;
    e
}

/// The entry back in the queue without an attempt (its batch stopped
/// before it: the transport went down, or the daemon is stopping).
pub fn not_sent(mut e: Entry) -> Entry {
    e.in_flight = false;
    e
}

/// The entry after one attempt ended with `result` at `now`. `jitter` is
/// a fraction in [0, 1) drawn by the shell. A failure of the transport
/// leaves the mail at the head of the queue (its `next_attempt` is kept):
/// the worker probes with it on the transport's schedule, not the mail's.
pub fn after_attempt(
    mut e: Entry,
    result: Result<(), SendError>,
    now: DateTime<Utc>,
    policy: &Policy,
    jitter: f64,
) -> Entry {
    e.attempts += 1;
    e.in_flight = false;
    match result {
        Ok(()) => {
            e.state = State::Sent;
            e.sent_at = Some(now);
            e.last_error = None;
        }
        Err(err) => {
            let age = (now - e.created).to_std().unwrap_or_default();
            e.last_error = Some(err.message.clone());
            if err.reach == Reach::Permanent || age >= policy.max_age {
                e.state = State::Failed;
            } else if err.reach == Reach::Temporary {
                let step = backoff(policy.retry_base, policy.retry_max, e.attempts);
                e.next_attempt = later(now, jittered(step, jitter));
            }
        }
    }
    e
}

/// An entry found in flight at start-up: the daemon died during its send,
/// which may have reached the recipient. It is sent again, unless that
/// would make [`MAX_UNCONFIRMED`] possible sends: then it is held (failed)
/// for an admin, so a crash loop cannot send it without bound.
pub fn recover(mut e: Entry) -> Entry {
    if !e.in_flight {
        return e;
    }
    e.in_flight = false;
    e.unconfirmed += 1;
    if e.unconfirmed >= MAX_UNCONFIRMED {
        e.state = State::Failed;
        e.last_error = Some(format!(
            "sent up to {} times without confirmation; `postdesk outbox retry {}` sends it again",
            e.unconfirmed, e.id
        ));
    } else {
        e.last_error = Some(format!(
            "postdesk stopped during a send ({} so far); it may have arrived, sending again",
            e.unconfirmed
        ));
    }
    e
}

/// A queued entry due at `now` at the latest: the transport is back, and
/// nothing waits on a backoff it no longer needs.
pub fn pulled_forward(mut e: Entry, now: DateTime<Utc>) -> Entry {
    if e.state == State::Queued && e.next_attempt > now {
        e.next_attempt = now;
    }
    e
}

/// An entry an admin asked to send again now (`outbox retry`): queued,
/// due now, with a fresh age and a fresh allowance of unconfirmed sends.
pub fn requeued(mut e: Entry, now: DateTime<Utc>) -> Entry {
    e.state = State::Queued;
    e.next_attempt = now;
    e.created = now;
    e.in_flight = false;
    e.unconfirmed = 0;
    e
}

/// What the worker knows of its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Up,
    /// Down since `since`; `probes` have failed; the next is due at
    /// `next_probe`.
    Down {
        since: DateTime<Utc>,
        probes: u32,
        next_probe: DateTime<Utc>,
    },
}

/// What a probe or a send changed about the transport: the worker logs
/// one line for each, not one per mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChange {
    WentDown,
    CameBack { down_for: Duration },
}

impl Link {
    /// The link after a send ended at `now`, and the change, if any. Any
    /// answer about the mail itself (sent, or refused per mail) proves the
    /// transport works.
    pub fn after(
        self,
        reach: Option<Reach>,
        now: DateTime<Utc>,
        policy: &Policy,
        jitter: f64,
    ) -> (Link, Option<LinkChange>) {
        match (self, reach) {
            (Link::Up, Some(Reach::Transport)) => (
                Link::Down {
                    since: now,
                    probes: 1,
                    next_probe: later(now, probe_wait(policy, 1, jitter)),
                },
                Some(LinkChange::WentDown),
            ),
            (Link::Down { since, probes, .. }, Some(Reach::Transport)) => (
                Link::Down {
                    since,
                    probes: probes + 1,
                    next_probe: later(now, probe_wait(policy, probes + 1, jitter)),
                },
                None,
            ),
            (Link::Down { since, .. }, _) => (
                Link::Up,
                Some(LinkChange::CameBack {
                    down_for: (now - since).to_std().unwrap_or_default(),
                }),
            ),
            (Link::Up, _) => (Link::Up, None),
        }
    }

    /// Whether a probe is due at `now` (always, while up).
    pub fn probe_due(&self, now: DateTime<Utc>) -> bool {
        match self {
            Link::Up => true,
            Link::Down { next_probe, .. } => *next_probe <= now,
        }
    }
}

/// The wait after the `probes`th failed probe: the mail backoff, capped at
/// `retry_max` and at [`PROBE_CAP`], jittered.
pub fn probe_wait(policy: &Policy, probes: u32, jitter: f64) -> Duration {
    let cap = policy.retry_max.min(PROBE_CAP);
    jittered(backoff(policy.retry_base, cap, probes), jitter)
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
            in_flight: false,
            unconfirmed: 0,
        }
    }

    const POLICY: Policy = Policy {
        retry_base: Duration::from_secs(30),
        retry_max: Duration::from_secs(300),
        max_age: Duration::from_secs(3600),
    };

    fn err(reach: Reach, message: &str) -> Result<(), SendError> {
        Err(SendError {
            reach,
            message: message.into(),
        })
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Duration::from_secs(30);
        let max = Duration::from_secs(300);
        assert_eq!(backoff(b, max, 1), Duration::from_secs(30));
        assert_eq!(backoff(b, max, 2), Duration::from_secs(60));
        assert_eq!(backoff(b, max, 4), Duration::from_secs(240));
        assert_eq!(backoff(b, max, 5), Duration::from_secs(300));
        assert_eq!(backoff(b, max, 30), Duration::from_secs(300));
    }

    #[test]
    fn jitter_only_shortens() {
        let s = Duration::from_secs(100);
        assert_eq!(jittered(s, 0.0), s);
        assert_eq!(jittered(s, 0.5), Duration::from_secs(75));
        assert!(jittered(s, 0.999) >= Duration::from_secs(50));
        assert_eq!(jittered(s, f64::NAN), s);
        assert_eq!(jittered(s, 7.0), Duration::from_secs(50));
    }

    #[test]
    fn attempts_retry_then_fail_with_age_or_permanence() {
        let e = entry();
        let now = e.created + chrono::Duration::seconds(5);
        let temp = || err(Reach::Temporary, "450 mailbox busy");
        let r = after_attempt(e.clone(), temp(), now, &POLICY, 0.0);
        assert_eq!(r.state, State::Queued);
        assert_eq!(r.next_attempt, now + chrono::Duration::seconds(30));
        let r = after_attempt(e.clone(), temp(), now, &POLICY, 0.5);
        assert_eq!(
            r.next_attempt,
            now + chrono::Duration::seconds(22) + chrono::Duration::milliseconds(500)
        );
        let old = e.created + chrono::Duration::hours(2);
        assert_eq!(
            after_attempt(e.clone(), temp(), old, &POLICY, 0.0).state,
            State::Failed
        );
        let perm = err(Reach::Permanent, "550 no such user");
        assert_eq!(
            after_attempt(e.clone(), perm, now, &POLICY, 0.0).state,
            State::Failed
        );
        let ok = after_attempt(start_send(e), Ok(()), now, &POLICY, 0.0);
        assert_eq!(
            (ok.state, ok.sent_at, ok.attempts, ok.in_flight),
            (State::Sent, Some(now), 1, false)
        );
    }

    #[test]
    fn a_transport_failure_keeps_the_mail_at_the_head() {
        let e = entry();
        let now = e.created + chrono::Duration::seconds(5);
        let r = after_attempt(
            start_send(e.clone()),
            err(Reach::Transport, "connection refused"),
            now,
            &POLICY,
            0.3,
        );
        assert_eq!(
            (r.state, r.next_attempt, r.attempts, r.in_flight),
            (State::Queued, e.next_attempt, 1, false)
        );
        assert_eq!(r.last_error.as_deref(), Some("connection refused"));
    }

    #[test]
    fn crashes_during_sends_are_bounded() {
        let mut e = entry();
        for n in 1..MAX_UNCONFIRMED {
            e = recover(start_send(e));
            assert_eq!(
                (e.state, e.unconfirmed, e.in_flight),
                (State::Queued, n, false)
            );
        }
        e = recover(start_send(e));
        assert_eq!(e.state, State::Failed);
        assert_eq!(e.unconfirmed, MAX_UNCONFIRMED);
        assert!(e
            .last_error
            .as_deref()
            .is_some_and(|m| m.contains("sent up to 3 times without confirmation")
                && m.contains("outbox retry 1")));
        // Not in flight: nothing happened to it.
        assert_eq!(recover(entry()), entry());
        // An admin's retry gives a fresh allowance.
        let now = e.created + chrono::Duration::hours(5);
        let again = requeued(e, now);
        assert_eq!(
            (again.state, again.unconfirmed, again.next_attempt),
            (State::Queued, 0, now)
        );
    }

    #[test]
    fn the_link_goes_down_once_probes_back_off_and_comes_back_once() {
        let t0 = entry().created;
        let policy = Policy {
            retry_base: Duration::from_secs(1),
            ..POLICY
        };
        let (l, c) = Link::Up.after(Some(Reach::Transport), t0, &policy, 0.0);
        assert_eq!(c, Some(LinkChange::WentDown));
        assert!(!l.probe_due(t0));
        assert!(l.probe_due(t0 + chrono::Duration::seconds(1)));
        let mut link = l;
        let mut waits = Vec::new();
        let mut now = t0;
        for _ in 0..10 {
            let Link::Down { next_probe, .. } = link else {
                panic!("still down")
            };
            waits.push((next_probe - now).num_seconds());
            now = next_probe;
            let (l, c) = link.after(Some(Reach::Transport), now, &policy, 0.0);
            assert_eq!(c, None, "no change logged while it stays down");
            link = l;
        }
        assert_eq!(waits, vec![1, 2, 4, 8, 10, 10, 10, 10, 10, 10]);
        let back = now + chrono::Duration::seconds(3);
        let (l, c) = link.after(None, back, &policy, 0.0);
        assert_eq!(l, Link::Up);
        assert_eq!(
            c,
            Some(LinkChange::CameBack {
                down_for: (back - t0).to_std().unwrap()
            })
        );
        // A per-mail refusal is an answer too: the transport works.
        let (l, c) = link.after(Some(Reach::Permanent), back, &policy, 0.0);
        assert!(l == Link::Up && matches!(c, Some(LinkChange::CameBack { .. })));
        // A lower retry_max caps probes too; jitter never lengthens them.
        let short = Policy {
            retry_max: Duration::from_secs(5),
            ..policy
        };
        assert_eq!(probe_wait(&short, 10, 0.0), Duration::from_secs(5));
        assert!(probe_wait(&policy, 10, 0.99) <= PROBE_CAP);
    }

    #[test]
    fn pulling_forward_touches_only_later_queued_mail() {
        let e = entry();
        let now = e.created + chrono::Duration::seconds(5);
        let later_one = Entry {
            next_attempt: now + chrono::Duration::seconds(60),
            ..e.clone()
        };
        assert_eq!(pulled_forward(later_one, now).next_attempt, now);
        assert_eq!(pulled_forward(e.clone(), now).next_attempt, e.next_attempt);
        let sent = Entry {
            state: State::Sent,
            next_attempt: now + chrono::Duration::seconds(60),
            ..e
        };
        assert_eq!(pulled_forward(sent.clone(), now), sent);
    }
}
