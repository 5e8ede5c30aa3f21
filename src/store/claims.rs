//! The outbox claims of several senders on one database, for the outbox
//! worker ([`crate::outbox`]): recovering what a node left in flight, and
//! recording attempts only while the claim is still this node's.

use super::*;

impl Store {
    /// Queued entries left in flight that no other node is sending now,
    /// claimed for `node`: each may have been sent, and is recovered
    /// ([`outbox::recover`]) before it is sent again. On sled (one
    /// process), every queued entry in flight.
    pub fn claim_in_flight_outbox(
        &self,
        now: DateTime<Utc>,
        node: &str,
    ) -> Result<Vec<outbox::Entry>> {
        self.engine().claim_in_flight(now, node)
    }

    /// [`Store::update_outbox`] for the entries whose claim is still
    /// `node`'s; an entry another node took over (this node's claim ran
    /// out) keeps the other's record. Returns the ids written.
    pub fn update_claimed_outbox(
        &self,
        changes: &[(outbox::Entry, outbox::Entry)],
        node: &str,
    ) -> Result<Vec<u64>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let _writing = self.writing();
        self.engine().update_claimed(changes, node)
    }

    /// [`Store::update_outbox`] for the entries still stored as read and
    /// not claimed by any node now: for passes over the queue that hold no
    /// claim. Returns the ids written.
    pub fn update_unchanged_outbox(
        &self,
        changes: &[(outbox::Entry, outbox::Entry)],
    ) -> Result<Vec<u64>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let _writing = self.writing();
        self.engine().update_unchanged(changes)
    }
}
