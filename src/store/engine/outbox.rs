//! The outbox's primitives: queued mail by due time, entries by id, the
//! two outbox writes that are not intake's (built mail, attempts), and
//! the claim that lets several senders share one queue.
//!
//! Mail crosses this seam raw, as it is sent; how it is kept (packed by
//! sled's codec, TOAST on PostgreSQL) is the engine's.

use chrono::{DateTime, Utc};

use crate::outbox::{Entry, State};
use crate::store::Result;

/// How long a claim keeps an entry from other senders. Longer than a
/// batch can take to send ([`crate::outbox`] sends a few at a time, each
/// bounded by the transport's timeouts); a sender that died holding a
/// claim delays its entries by at most this.
pub const CLAIM_FOR: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

pub trait Outbox {
    /// How many entries are queued (waiting to be sent).
    fn outbox_len(&self) -> Result<usize>;

    /// Queued entries whose next attempt is due at `now` (compared in
    /// whole milliseconds), soonest first, then by id, with their mail.
    /// A plain read: claims are not looked at.
    fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<(Entry, Vec<u8>)>>;

    /// Like [`Outbox::due_outbox`], but each entry returned is claimed by
    /// `node` until `now` + [`CLAIM_FOR`] (or its result is recorded, see
    /// [`Outbox::update_outbox`]), and entries another node holds a live
    /// claim on are skipped: two senders never get the same entry. On an
    /// engine only one process opens, this is `due_outbox`.
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        node: &str,
    ) -> Result<Vec<(Entry, Vec<u8>)>>;

    /// Every queued entry (without mail), in the order of `due_outbox`.
    fn queued_outbox(&self) -> Result<Vec<Entry>>;

    /// A stored entry and its mail (or, while planned, its JSON plan).
    fn outbox_entry(&self, id: u64) -> Result<Option<(Entry, Vec<u8>)>>;

    /// Every stored entry (without mail), by id.
    fn outbox_entries(&self) -> Result<Vec<Entry>>;

    /// Replaces planned entries by their built mails, in one transaction,
    /// where [`still_planned`] holds for the stored entry; returns the ids
    /// replaced.
    fn store_built(&self, built: &[(Entry, Vec<u8>)]) -> Result<Vec<u64>>;

    /// Records each entry's new state (`(old, new)`; the mail is kept), in
    /// one transaction; an entry not stored is skipped. A change that
    /// leaves the entry not in flight ends any claim on it.
    fn update_outbox(&self, changes: &[(Entry, Entry)]) -> Result<()>;
}

/// Whether a stored entry is still the planned one the worker built from:
/// one requeued or attempted meanwhile (by an operator, or another node)
/// is left as it is now and built again from what is stored.
pub fn still_planned(stored: &Entry, built: &Entry) -> bool {
    stored.planned
        && stored.state == State::Queued
        && stored.next_attempt == built.next_attempt
        && stored.attempts == built.attempts
}
