//! Write-behind: an import decides its next batch while the server
//! commits the last one.
//!
//! An import on PostgreSQL works in turns: this process decides a batch
//! while the server waits, then the server writes it while this process
//! waits (100,000 small mails: about 7.5 s of client time and 7 s of
//! server time, taken one after the other). With write-behind the batch's
//! transaction runs on the turn's connection in the background, and the
//! next batch is read ahead and decided meanwhile.
//!
//! Why the answers stay the same:
//! - This node keeps the write turn from one batch to the next while a
//!   batch is being written, so no other node decides in between, as
//!   when the batches are written one by one.
//! - The read-ahead for the next batch runs on another connection and may
//!   see the database before or after the commit. It is completed by the
//!   batch being written ([`Overlay`]): its tickets, Message-ID entries,
//!   customers and guard records, merged as its SQL does (a stored or
//!   sent Message-ID overwrites, a mention does not; customers only add).
//!   The merge gives the same answer whether or not the commit has
//!   landed, so the race does not matter.
//! - Every other read waits for the commit first ([`PgEngine::client`]),
//!   as does every write, so nothing reads around the batch.
//! - A batch that fails makes the next write fail with its error; the
//!   batch decided on top of it is never written.
//!
//! What it costs: a kill may lose two batches of an import's work instead
//! of one; an import can always be run again, and what is stored is
//! skipped. The turn goes back to other nodes at least every
//! [`TURN_AT_MOST`]: one batch is then written in the foreground.
//!
//! Only an import asks for it ([`crate::store::Store::write_behind`]): a
//! source that marks mail done at its end must see each batch durable
//! first, and the daemon's sources do.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::intake::{transact, Rows};
use super::{PgEngine, Result};
use crate::store::engine::Intake;
use crate::store::{IdEntry, IdKind, Staged, StoreError};
use crate::ticket::Ticket;

/// How long write-behind keeps the write turn before it lets other nodes
/// have it once.
const TURN_AT_MOST: Duration = Duration::from_secs(1);

type Task = tokio::task::JoinHandle<(Option<deadpool_postgres::Object>, Result<()>)>;

/// The batch being written behind, and what it changed.
#[derive(Default)]
pub(super) struct Behind {
    on: bool,
    task: Option<Task>,
    /// The last batch written behind: committed, or being committed.
    overlay: Option<Arc<Overlay>>,
    /// How a batch written behind failed, until a write or the end of
    /// write-behind reports it.
    failed: Option<StoreError>,
    /// Since when write-behind has kept the turn.
    since: Option<Instant>,
}

/// What a batch written behind changed, in the form the read-ahead's
/// answers take.
#[derive(Default)]
pub(super) struct Overlay {
    /// Message-ID keys, with whether the entry overwrites the table's
    /// (stored, sent) or only fills a gap (a mention, a conversation).
    ids: HashMap<String, (IdEntry, bool)>,
    tickets: HashMap<u64, Ticket>,
    /// By address as written: the tickets added.
    customers: HashMap<String, Vec<u64>>,
    /// By (kind, address as written): the record's JSON, or `None` for
    /// one deleted.
    guards: HashMap<(&'static str, String), Option<String>>,
}

impl Overlay {
    fn of(staged: &Staged) -> Overlay {
        let mut o = Overlay {
            ids: staged
                .ids
                .iter()
                .map(|(k, e)| {
                    let strong = matches!(e.kind, IdKind::Stored | IdKind::Sent);
                    (k.clone(), (*e, strong))
                })
                .collect(),
            tickets: staged.tickets.clone(),
            ..Overlay::default()
        };
        for (email, ticket) in &staged.customers {
            o.customers.entry(email.clone()).or_default().push(*ticket);
        }
        for (email, mark) in &staged.marks {
            // As the write does: a mark that cannot be encoded is skipped.
            match mark.as_ref().map(serde_json::to_string) {
                Some(Ok(record)) => {
                    o.guards.insert(("mark", email.clone()), Some(record));
                }
                Some(Err(_)) => {}
                None => {
                    o.guards.insert(("mark", email.clone()), None);
                }
            }
        }
        for (email, times) in &staged.auto_sent {
            let ms: Vec<i64> = times.iter().map(|t| t.timestamp_millis()).collect();
            let record = serde_json::to_string(&ms).unwrap_or_else(|_| "[]".into());
            o.guards.insert(("sent", email.clone()), Some(record));
        }
        o
    }

    /// A Message-ID's entry, given the table's answer.
    pub(super) fn id(&self, key: &str, table: Option<IdEntry>) -> Option<IdEntry> {
        match self.ids.get(key) {
            Some((entry, true)) => Some(*entry),
            Some((entry, false)) => table.or(Some(*entry)),
            None => table,
        }
    }

    /// A guard record, given the table's answer.
    pub(super) fn guard(
        &self,
        key: &(&'static str, String),
        table: Option<String>,
    ) -> Option<String> {
        match self.guards.get(key) {
            Some(record) => record.clone(),
            None => table,
        }
    }

    /// An address's tickets, given the table's, in number order.
    pub(super) fn customer(&self, email: &str, tickets: &mut Vec<u64>) {
        if let Some(added) = self.customers.get(email) {
            tickets.extend(added);
            tickets.sort_unstable();
            tickets.dedup();
        }
    }

    /// The tickets the batch wrote, as it wrote them.
    pub(super) fn tickets(&self) -> impl Iterator<Item = (u64, &Ticket)> {
        self.tickets.iter().map(|(n, t)| (*n, t))
    }
}

/// The turn's connection while a batch is written on it. Dropped without
/// being handed back (the task was cancelled or panicked), it closes
/// rather than go back to the pool still holding the turn's lock.
struct Lent(Option<deadpool_postgres::Object>);

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

impl PgEngine {
    fn behind(&self) -> std::sync::MutexGuard<'_, Behind> {
        self.behind.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Turns write-behind on, or off: off waits for the batch still being
    /// written, gives the turn back and says how the batch ended.
    pub fn write_behind(&self, on: bool) -> Result<()> {
        if on {
            self.behind().on = true;
            return Ok(());
        }
        let settled = self.settle();
        {
            let mut b = self.behind();
            b.on = false;
            b.overlay = None;
            b.since = None;
        }
        if self.turn.is_held() {
            self.leave();
        }
        settled
    }

    /// Whether commits return before their batch is written (the store's
    /// commit then hands the staged set over whole).
    pub fn writes_behind(&self) -> bool {
        self.behind().on
    }

    /// Whether a batch is being written behind: the turn is this node's,
    /// on the connection the batch holds.
    pub(super) fn turn_lent(&self) -> bool {
        self.behind().task.is_some()
    }

    /// The batch last written behind, while write-behind is on.
    pub(super) fn overlay(&self) -> Option<Arc<Overlay>> {
        let b = self.behind();
        b.on.then(|| b.overlay.clone()).flatten()
    }

    /// Waits for the batch being written behind, if any, and returns its
    /// failure (once: here or at the next write).
    pub(super) fn settle(&self) -> Result<()> {
        if self.turn_lent() {
            self.rt.block_on(self.settle_async());
        }
        match self.behind().failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// [`PgEngine::settle`] for async callers; a failure is kept for the
    /// next write.
    pub(super) async fn settle_async(&self) {
        let task = self.behind().task.take();
        let Some(task) = task else {
            return;
        };
        let written = match task.await {
            Ok((Some(client), written)) => {
                self.turn.restore(client);
                written
            }
            Ok((None, written)) => written,
            Err(e) => Err(StoreError::Unreachable(format!(
                "the batch written behind stopped: {e}"
            ))),
        };
        if let Err(e) = self.written(written, true) {
            self.behind().failed = Some(e);
        }
    }

    /// Writes `staged` on the turn's connection in the background, after
    /// the batch before it, and returns at once; the next write or
    /// [`PgEngine::write_behind`]`(false)` says how it ended.
    pub fn write_staged_behind(&self, staged: Staged) -> Result<()> {
        self.settle()?;
        let long = self
            .behind()
            .since
            .is_some_and(|t| t.elapsed() >= TURN_AT_MOST);
        if long || !staged.entered || !self.turn.is_held() || self.fault.failure().is_some() {
            // In the foreground, as without write-behind: the turn goes
            // back when the decision leaves, and a lost turn or a fault
            // is reported the usual way.
            self.behind().since = None;
            return self.write(&staged);
        }
        let Some(client) = self.turn.lend() else {
            return Err(self.unwritable("the write turn was lost in mid-decision"));
        };
        let overlay = Overlay::of(&staged);
        let last_ticket = staged.tickets.keys().max().copied().unwrap_or(0);
        let last_outbox = staged.outbox.iter().map(|(e, _)| e.id).max().unwrap_or(0);
        let at = self.settings.describe();
        let task = self.rt.spawn(async move {
            let mut lent = Lent(Some(client));
            let written = match (lent.0.as_mut(), Rows::of(&staged)) {
                (Some(client), Ok(rows)) => transact(client, &at, &staged.fences, &rows).await,
                (_, Err(e)) => Err(e),
                (None, _) => Err(StoreError::Unreachable(
                    "the write turn was lost before the write".into(),
                )),
            };
            (lent.0.take(), written)
        });
        // As after any write, what was read may be old; the highest ticket
        // number and outbox id are known, and no other node can move them
        // while this one keeps the turn.
        self.forget_reads_keeping_lasts(last_ticket, last_outbox);
        let mut b = self.behind();
        b.task = Some(task);
        b.overlay = Some(Arc::new(overlay));
        b.since.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// A write in the foreground: the overlay of the batch before it no
    /// longer describes what the tables hold last.
    pub(super) fn overlay_outdated(&self) {
        self.behind().overlay = None;
    }
}
