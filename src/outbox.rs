//! The outbox worker: renders and builds planned mail once, stores the
//! bytes, sends, and records the attempts.
//!
//! It sends only what a flush has made durable. Before a batch leaves it
//! marks the batch in flight (one transaction, one flush), and after it
//! records the results (another), so a crash re-sends at most the mails
//! that were in flight then, with the same bytes and Message-ID; at
//! start-up those count as possible sends, and a mail that may have been
//! sent [`MAX_UNCONFIRMED`] times is held for an admin instead of being
//! sent again. When the transport itself fails (the relay is down) the
//! worker stops sending and probes it with one mail at a time, on a
//! jittered backoff, logging one line when it goes down and one when it
//! is back; then every queued mail is due at once. It works with the
//! store, the templates in use and the configuration, not with the desk:
//! it decides nothing.
//!
//! Several `serve` nodes on one PostgreSQL database each run a worker:
//! each takes due mail by claiming it for its node
//! ([`Store::claim_due_outbox`]), and records marks and results only while
//! the claim is still its own ([`Store::update_claimed_outbox`]). A claim
//! that runs out (its node died mid-send) lets another node take the mail,
//! found in flight: that node counts it as a possible send first, as
//! start-up does, so [`MAX_UNCONFIRMED`] bounds the sends across nodes.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Notify};

use crate::config::Config;
pub use crate::core::outbox::*;
use crate::store::Store;
use crate::templates::Templates;
use crate::transport::Transport;

/// What the worker needs: the store, the templates in use (swapped whole
/// on reload), and the configuration.
#[derive(Clone)]
pub struct Mailer {
    pub store: Arc<Store>,
    pub templates: Arc<RwLock<Arc<Templates>>>,
    pub config: Arc<Config>,
}

impl Mailer {
    fn templates(&self) -> Arc<Templates> {
        self.templates
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// An outbox entry and the mail it sends, as it would be sent now: a
    /// mail not built yet is rendered with the templates in use (and not
    /// stored; the worker stores it before sending).
    pub fn outgoing(&self, id: u64) -> Result<Option<(Entry, Vec<u8>)>, MailError> {
        let Some((entry, stored)) = self.store.outbox_entry(id)? else {
            return Ok(None);
        };
        build(&self.config, &self.templates(), &self.store, entry, stored).map(Some)
    }
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
    config: &Config,
    templates: &Templates,
    store: &Store,
    entry: Entry,
    stored: Vec<u8>,
) -> Result<(Entry, Vec<u8>), MailError> {
    if !entry.planned {
        return Ok((entry, stored));
    }
    let plan: crate::compose::Planned =
        serde_json::from_slice(&stored).map_err(|e| MailError::Plan(e.to_string()))?;
    // A relayed answer carries the files of the agent's mail, read from
    // the stored message now rather than copied into the plan.
    let attachments = match plan.attachments_of() {
        Some((ticket, seq)) => match store.raw_message(ticket, seq)? {
            Some(raw) => crate::mail::attachments::parts(&raw, &config.intake.limits()),
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    Ok(crate::compose::build_planned(
        config,
        templates,
        &entry,
        &plan,
        &attachments,
    )?)
}

/// How many mails are marked in flight and sent as one batch. Each batch
/// costs two flushes (in flight, then the results): a flush per mail made
/// the worker compete with intake for the store (about a fifth of the
/// daemon's CPU time while a burst came in, benches/RESULTS.md). A crash
/// re-sends at most this many mails, each with its stored bytes and
/// Message-ID.
const BATCH: usize = 16;

/// A fraction in [0, 1) for the core's jitter. Without randomness (the
/// system refuses it) every wait is three quarters of its step: still
/// bounded, only no longer spread.
fn jitter() -> f64 {
    getrandom::u64()
        .map(|r| (r >> 11) as f64 / (1u64 << 53) as f64)
        .unwrap_or(0.5)
}

/// The node this worker claims mail for: one id per process, the one its
/// leases use too.
fn node() -> &'static str {
    &crate::pg::lease::this_node().id
}

/// Writes the changes of entries this node has claimed, durably (one
/// transaction, one flush), and returns the ids written: an entry whose
/// claim another node took over (this one's ran out) is not written, and
/// must not be sent by this node. A failure is logged and returns `None`.
async fn write_claimed(
    mailer: &Mailer,
    changes: Vec<(Entry, Entry)>,
    what: &'static str,
) -> Option<Vec<u64>> {
    if changes.is_empty() {
        return Some(Vec::new());
    }
    let store = mailer.store.clone();
    let written = tokio::task::spawn_blocking(move || {
        let ids = store.update_claimed_outbox(&changes, node())?;
        store.flush()?;
        let lost: Vec<u64> = changes
            .iter()
            .map(|(e, _)| e.id)
            .filter(|id| ids.binary_search(id).is_err())
            .collect();
        if !lost.is_empty() {
            tracing::warn!(ids = ?lost, "outbox: another node took over these mails (this node's claim ran out); leaving them to it");
        }
        Ok::<_, crate::store::StoreError>(ids)
    })
    .await;
    match written {
        Ok(Ok(ids)) => Some(ids),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "outbox: cannot record {what}");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "outbox: cannot record {what}");
            None
        }
    }
}

/// Start-up: the entries a previous run left in flight may have been sent.
/// Each counts as a possible send ([`recover`]); those at the bound are
/// held (failed) with a reason that says how to send them again. With
/// several nodes, only entries no other node is sending now are taken
/// (claimed); the rest are recovered by whoever claims them when their
/// claim runs out ([`recover_claimed`]).
async fn recover_in_flight(mailer: &Mailer) {
    let store = mailer.store.clone();
    let recovered = tokio::task::spawn_blocking(move || {
        let changes: Vec<(Entry, Entry)> = store
            .claim_in_flight_outbox(Utc::now(), node())?
            .into_iter()
            .map(|e| (e.clone(), recover(e)))
            .collect();
        let written = store.update_claimed_outbox(&changes, node())?;
        store.flush()?;
        Ok::<_, crate::store::StoreError>(
            changes
                .into_iter()
                .filter(|(e, _)| written.binary_search(&e.id).is_ok())
                .collect::<Vec<_>>(),
        )
    })
    .await;
    let changes = match recovered {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "outbox: cannot recover the mails in flight at the last stop");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "outbox: cannot recover the mails in flight at the last stop");
            return;
        }
    };
    report_recovered(&changes, "when postdesk stopped");
}

/// Logs recovered entries: how many are sent again, and which are held.
fn report_recovered(changes: &[(Entry, Entry)], when: &str) {
    let held: Vec<u64> = changes
        .iter()
        .filter(|(_, e)| e.state == State::Failed)
        .map(|(_, e)| e.id)
        .collect();
    let again = changes.len() - held.len();
    if again > 0 {
        tracing::warn!(
            "outbox: {again} mails were being sent {when}; sending them again (they may arrive twice)"
        );
    }
    if !held.is_empty() {
        crate::metrics::get().outbox_attempt("failed");
        tracing::error!(
            ids = ?held,
            "outbox: {} mails held: sent up to {MAX_UNCONFIRMED} times without confirmation; `postdesk outbox retry ID` sends one again",
            held.len()
        );
    }
}

/// Claims due mail for this node. An entry claimed while in flight was
/// being sent by a sender that stopped without recording the result (a
/// node that died, its claim run out; or this worker, when recording
/// failed): it is recovered ([`recover`], as at start-up) and not sent in
/// this pass; the next claim takes it again, counted. Runs on a blocking
/// thread.
fn claim_due(
    store: &Store,
    limit: usize,
) -> Result<Vec<(Entry, Vec<u8>)>, crate::store::StoreError> {
    // Only what a flush made durable may leave the machine (mail still
    // staged with intake is not in the store yet).
    store.flush()?;
    let (stuck, due): (Vec<_>, Vec<_>) = store
        .claim_due_outbox(Utc::now(), limit, node())?
        .into_iter()
        .partition(|(e, _)| e.in_flight);
    if !stuck.is_empty() {
        recover_claimed(store, stuck.into_iter().map(|(e, _)| e).collect())?;
    }
    Ok(due)
}

/// Records claimed in-flight entries as possible sends ([`recover`]).
fn recover_claimed(store: &Store, stuck: Vec<Entry>) -> Result<(), crate::store::StoreError> {
    let changes: Vec<(Entry, Entry)> = stuck.into_iter().map(|e| (e.clone(), recover(e))).collect();
    let written = store.update_claimed_outbox(&changes, node())?;
    store.flush()?;
    let changes: Vec<(Entry, Entry)> = changes
        .into_iter()
        .filter(|(e, _)| written.binary_search(&e.id).is_ok())
        .collect();
    report_recovered(&changes, "by a sender that stopped");
    Ok(())
}

/// The transport is back: every queued mail is due now (one store pass),
/// instead of each waiting out its own backoff. Returns how many wait.
async fn pull_forward(mailer: &Mailer) -> usize {
    let store = mailer.store.clone();
    let pulled = tokio::task::spawn_blocking(move || {
        let now = Utc::now();
        let changes: Vec<(Entry, Entry)> = store
            .queued_outbox()?
            .into_iter()
            .filter(|e| e.next_attempt > now)
            .map(|e| (e.clone(), pulled_forward(e, now)))
            .collect();
        // Another node may be sending or have recorded some of these
        // since they were read: those keep what is stored.
        store.update_unchanged_outbox(&changes)?;
        store.flush()?;
        Ok::<_, crate::store::StoreError>(store.outbox_len())
    })
    .await;
    match pulled {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "outbox: cannot bring queued mail forward; it follows its own backoff");
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "outbox: cannot bring queued mail forward; it follows its own backoff");
            0
        }
    }
}

/// While the transport is down: renders and stores up to 64 queued mails
/// that are only planned, so that when it is back only sending remains
/// (rendering is most of a mail's cost before it leaves).
async fn prebuild(mailer: &Mailer) {
    let store = mailer.store.clone();
    let planned = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for e in store
            .queued_outbox()?
            .into_iter()
            .filter(|e| e.planned)
            .take(64)
        {
            if let Some(mail) = store.outbox_entry(e.id)? {
                out.push(mail);
            }
        }
        Ok::<_, crate::store::StoreError>(out)
    })
    .await;
    if let Ok(Ok(planned)) = planned {
        if !planned.is_empty() {
            build_due(mailer, planned, false).await;
        }
    }
}

/// Whole seconds, for log lines a person reads.
fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// Renders and builds the due mails that are only planned, and stores
/// them built (one transaction, one flush) before any is sent, so a resend
/// after a crash is the same bytes. Returns what may be sent now: mail
/// that fails to build is marked failed with the reason (`postdesk outbox
/// retry` builds it again, with the templates of then). `claimed`: the
/// entries are this node's claims (else, read from the queue unclaimed, a
/// failure is recorded only on an entry unchanged and unclaimed since).
async fn build_due(
    mailer: &Mailer,
    due: Vec<(Entry, Vec<u8>)>,
    claimed: bool,
) -> Vec<(Entry, Vec<u8>)> {
    if due.iter().all(|(e, _)| !e.planned) {
        return due;
    }
    let mailer = mailer.clone();
    let built = tokio::task::spawn_blocking(move || {
        let templates = mailer.templates();
        let store = &mailer.store;
        let mut ready = Vec::with_capacity(due.len());
        let mut built = Vec::new();
        let mut failed = Vec::new();
        for (entry, plan) in due {
            if !entry.planned {
                ready.push((entry, plan));
                continue;
            }
            match build(&mailer.config, &templates, store, entry.clone(), plan) {
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
        let replaced = store.store_built(&built)?;
        if claimed {
            store.update_claimed_outbox(&failed, node())?;
        } else {
            store.update_unchanged_outbox(&failed)?;
        }
        store.flush()?;
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

/// Sends one batch: marks it in flight durably, sends until the transport
/// fails or `stop`, records every result (and returns the mails not tried
/// to the queue untouched), and follows the transport's state. Returns the
/// link after the batch and whether the worker is stopping.
async fn send_batch(
    mailer: &Mailer,
    transport: &Transport,
    batch: Vec<(Entry, Vec<u8>)>,
    mut link: Link,
    policy: &Policy,
    stop: &watch::Receiver<bool>,
) -> (Link, bool) {
    let marked: Vec<(Entry, Entry)> = batch
        .iter()
        .map(|(e, _)| (not_sent(e.clone()), start_send(e.clone())))
        .collect();
    let Some(mine) = write_claimed(mailer, marked, "the mails about to be sent").await else {
        return (link, *stop.borrow());
    };
    // Only what this node marked under its claim leaves from here.
    let (entries, bytes): (Vec<Entry>, Vec<Vec<u8>>) = batch
        .into_iter()
        .filter(|(e, _)| mine.binary_search(&e.id).is_ok())
        .map(|(e, b)| (start_send(e), b))
        .unzip();
    let mut changes = Vec::with_capacity(entries.len());
    let mut came_back = None;
    let mut stopping = false;
    let mut went_down = false;
    for (entry, bytes) in entries.into_iter().zip(bytes) {
        stopping = stopping || *stop.borrow();
        if stopping || went_down {
            changes.push((entry.clone(), not_sent(entry)));
            continue;
        }
        let result = transport
            .send(&entry.envelope_from, &entry.recipients, &bytes)
            .await;
        let now = Utc::now();
        let reach = result.as_ref().err().map(|e| e.reach);
        let (next, change) = link.after(reach, now, policy, jitter());
        match &result {
            Ok(()) => {
                tracing::info!(id = entry.id, kind = %entry.kind, to = ?entry.recipients, "sent")
            }
            // One line when it goes down (below), none per probe.
            Err(e) if e.reach == Reach::Transport => {
                tracing::debug!(id = entry.id, error = %e.message, "outbox: probe failed")
            }
            Err(e) => {
                tracing::warn!(id = entry.id, kind = %entry.kind, error = %e.message, permanent = e.permanent(), "send failed")
            }
        }
        match change {
            Some(LinkChange::WentDown) => {
                went_down = true;
                // The store is read off the async threads (a PostgreSQL
                // store blocks on a runtime of its own).
                let store = mailer.store.clone();
                let waiting = tokio::task::spawn_blocking(move || store.outbox_len())
                    .await
                    .unwrap_or(0);
                let error = result
                    .as_ref()
                    .err()
                    .map(|e| e.message.as_str())
                    .unwrap_or_default();
                tracing::warn!(
                    error,
                    "outbox: transport down; {waiting} mails wait, probing with one every {} or less",
                    human(policy.retry_max.min(PROBE_CAP))
                );
            }
            Some(LinkChange::CameBack { down_for }) => came_back = Some(down_for),
            None => went_down = went_down || reach == Some(Reach::Transport),
        }
        link = next;
        let updated = after_attempt(entry.clone(), result, now, policy, jitter());
        crate::metrics::get().outbox_attempt(match updated.state {
            State::Sent => "sent",
            State::Queued => "retry",
            State::Failed => "failed",
        });
        changes.push((entry, updated));
    }
    write_claimed(
        mailer,
        changes,
        "outbox attempts; those mails may be sent again",
    )
    .await;
    if let Some(down_for) = came_back {
        let waiting = pull_forward(mailer).await;
        tracing::info!(
            "outbox: transport back after {}, {waiting} mails waiting",
            human(down_for)
        );
    }
    (link, stopping)
}

/// Sends due mail until `stop`. Woken early by `wake` when new mail is
/// committed or an admin retries, otherwise it looks again every second
/// (retries come due by the clock). While the transport is down it sends
/// only probes: one mail when the link's backoff says so, or on a wake
/// once `retry_base` has passed since the last probe.
pub async fn run(
    mailer: Mailer,
    transport: Transport,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let policy = Policy {
        retry_base: mailer.config.outgoing.retry_base,
        retry_max: mailer.config.outgoing.retry_max,
        max_age: mailer.config.outgoing.max_age,
    };
    recover_in_flight(&mailer).await;
    let mut link = Link::Up;
    let mut last_probe = Utc::now();
    loop {
        if *stop.borrow() {
            return;
        }
        let limit = match link {
            Link::Up => BATCH,
            Link::Down { .. } if link.probe_due(Utc::now()) => 1,
            Link::Down { .. } => {
                prebuild(&mailer).await;
                0
            }
        };
        let mut busy = false;
        if limit > 0 {
            let due = tokio::task::spawn_blocking({
                let store = mailer.store.clone();
                move || claim_due(&store, limit)
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
            let due = build_due(&mailer, due, true).await;
            if due.is_empty() {
                // Nothing to probe with: whether the transport is back is
                // learnt with the next mail.
                link = Link::Up;
            } else {
                if limit == 1 {
                    last_probe = Utc::now();
                }
                let (next, stopping) =
                    send_batch(&mailer, &transport, due, link, &policy, &stop).await;
                if stopping {
                    return;
                }
                busy = next == Link::Up;
                link = next;
            }
        }
        if !busy {
            tokio::select! {
                _ = wake.notified() => {
                    if let Link::Down { next_probe, .. } = &mut link {
                        let early = last_probe
                            + chrono::Duration::from_std(policy.retry_base)
                                .unwrap_or_else(|_| chrono::Duration::seconds(30));
                        *next_probe = (*next_probe).min(early);
                    }
                },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                _ = stop.changed() => return,
            }
        }
    }
}
