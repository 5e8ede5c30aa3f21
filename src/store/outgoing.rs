//! The outbox in the store: queued mail (built, or planned until the
//! worker builds it), its queue by due time, and the attempts recorded.

use super::*;

impl Store {
    /// A fresh outbox entry id (unique, increasing).
    ///
    /// Ids are dense (the last stored or staged id plus one), so the ids
    /// admins type into `outbox retry` stay small across restarts. Entries
    /// are never deleted, so an id is never given twice (a bounce that
    /// names an old id finds that mail, not a newer one).
    pub fn next_outbox_id(&self, staged: &Staged) -> Result<u64> {
        let stored = self.engine().last_outbox_id()?;
        let staged = staged.outbox.iter().map(|(e, _)| e.id).max().unwrap_or(0);
        Ok(stored.max(staged) + 1)
    }

    /// Queues one outgoing mail with the staged intakes. Its Message-ID is
    /// indexed as sent, so replies to it find the ticket. Mail to an
    /// agent is remembered with how many of the ticket's messages it had
    /// seen (`agent`'s second part): an answer to it that is older than
    /// the ticket's news is held (see [`Store::notification`]).
    pub fn stage_outgoing(
        &self,
        staged: &mut Staged,
        entry: outbox::Entry,
        ticket: Option<u64>,
        agent: Option<(&str, u32)>,
        bytes: &[u8],
    ) {
        if let Some((a, seen)) = agent {
            let value = match ticket {
                Some(t) => format!("{} {t} {seen}", a.to_ascii_lowercase()),
                None => a.to_ascii_lowercase(),
            };
            staged.notified.insert(entry.message_id.clone(), value);
        }
        if let Some(t) = ticket {
            staged.ids.insert(
                crate::mail::msgid::key(&entry.message_id),
                IdEntry {
                    kind: IdKind::Sent,
                    ticket: t,
                },
            );
        }
        let mail = bytes.to_vec();
        staged.bytes += 4 + mail.len();
        staged.outbox.push((entry, mail));
    }

    /// Mail waiting to be sent. A storage error reads as none (and is
    /// logged): the callers are gauges and status lines.
    pub fn outbox_len(&self) -> usize {
        self.engine().outbox_len().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot count the outbox queue");
            0
        })
    }

    /// Queued mail whose next attempt is due at `now`, soonest first.
    pub fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(outbox::Entry, Vec<u8>)>> {
        self.engine().due_outbox(now, limit)
    }

    /// Like [`Store::due_outbox`], claiming what it returns for `node`
    /// so that no other sender on the same database gets it until the
    /// attempt is recorded ([`Store::update_outbox`] with the entry no
    /// longer in flight) or the claim runs out
    /// ([`engine::outbox::CLAIM_FOR`]). For several `serve` nodes on one
    /// PostgreSQL database; on sled (one process) it is `due_outbox`.
    pub fn claim_due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        node: &str,
    ) -> Result<Vec<(outbox::Entry, Vec<u8>)>> {
        self.engine().claim_due(now, limit, node)
    }

    /// Every queued entry (without bytes), soonest due first: for the
    /// passes over the whole queue (start-up recovery, pulling every mail
    /// forward when the transport is back), which read only the queue,
    /// never the sent history.
    pub fn queued_outbox(&self) -> Result<Vec<outbox::Entry>> {
        self.engine().queued_outbox()
    }

    pub fn outbox_entry(&self, id: u64) -> Result<Option<(outbox::Entry, Vec<u8>)>> {
        self.engine().outbox_entry(id)
    }

    /// Every outbox entry (without bytes), oldest first.
    pub fn outbox_entries(&self) -> Result<Vec<outbox::Entry>> {
        self.engine().outbox_entries()
    }

    /// Replaces planned outbox entries by their built mails (entry and
    /// bytes), in one transaction, and returns the ids replaced. An entry
    /// changed meanwhile (requeued by an operator, say) is left as it is
    /// now: the worker builds it again from what is stored.
    pub fn store_built(&self, built: &[(outbox::Entry, Vec<u8>)]) -> Result<Vec<u64>> {
        if built.is_empty() {
            return Ok(Vec::new());
        }
        let _writing = self.writing();
        self.engine().store_built(built)
    }

    /// Records attempts (or manual requeues), all in one transaction: each
    /// entry's new state and its place in the queue. The bytes are not
    /// touched; an entry no longer stored is skipped.
    pub fn update_outbox(&self, changes: &[(outbox::Entry, outbox::Entry)]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let _writing = self.writing();
        self.engine().update_outbox(changes)
    }
}
