//! The outbox worker: renders and builds planned mail once, stores the
//! bytes, sends, and records the attempts.
//!
//! It sends only what a flush has made durable, then marks it sent (a few
//! mails at a time, see `RECORD_EVERY`). A crash between the two resends
//! the same bytes with the same Message-ID, which receivers deduplicate;
//! it never sends two different messages. It works with the store, the
//! templates in use and the configuration, not with the desk: it decides
//! nothing.

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

/// How many attempts are recorded at once (one transaction, one flush).
/// A flush per mail made the outbox worker compete with intake for the
/// store (about a fifth of the daemon's CPU time while a burst came in,
/// benches/RESULTS.md); the price is that a crash may resend up to this
/// many mails, each with its stored bytes and Message-ID.
const RECORD_EVERY: usize = 16;

/// Makes attempts durable; a failure is logged (the mail may then be sent
/// again, never lost).
async fn record(mailer: &Mailer, attempts: Vec<(Entry, Entry)>) {
    if attempts.is_empty() {
        return;
    }
    let store = mailer.store.clone();
    let written = tokio::task::spawn_blocking(move || {
        store.update_outbox(&attempts)?;
        store.flush()
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
async fn build_due(mailer: &Mailer, due: Vec<(Entry, Vec<u8>)>) -> Vec<(Entry, Vec<u8>)> {
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
        store.update_outbox(&failed)?;
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

/// Sends due mail until `stop`. Woken early by `wake` when new mail is
/// committed, otherwise it looks again every second (retries come due by
/// the clock).
pub async fn run(
    mailer: Mailer,
    transport: Transport,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let policy = Policy {
        retry_base: mailer.config.outgoing.retry_base,
        max_age: mailer.config.outgoing.max_age,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let due = tokio::task::spawn_blocking({
            let store = mailer.store.clone();
            move || -> Result<_, crate::store::StoreError> {
                // Only what a flush made durable may leave the machine
                // (mail still staged with intake is not in the store yet).
                store.flush()?;
                store.due_outbox(Utc::now(), 32)
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
        let due = build_due(&mailer, due).await;
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
                record(&mailer, std::mem::take(&mut attempts)).await;
            }
            if stopping {
                return;
            }
        }
        record(&mailer, attempts).await;
        if !busy {
            tokio::select! {
                _ = wake.notified() => {},
                _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                _ = stop.changed() => return,
            }
        }
    }
}
