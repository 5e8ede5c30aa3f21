//! The outbox claims a sender keeps while it sends: what several `serve`
//! nodes on one database need beyond [`super::Outbox::claim_due`] so that
//! each mail leaves once.
//!
//! A claim says which node may record an entry's attempt. A node that died
//! mid-send leaves its entries in flight under a claim that runs out
//! ([`super::outbox::CLAIM_FOR`]); the next claimer finds them in flight
//! and counts them as possibly sent (as start-up recovery does), so the
//! bound on unconfirmed sends holds across nodes. A node whose claim ran
//! out and was taken over must not overwrite the new holder's record: its
//! writes are refused, not applied.

use chrono::{DateTime, Utc};

use crate::outbox::Entry;
use crate::store::Result;

pub trait Claims {
    /// The queued entries left in flight that `node` may recover: those no
    /// other node holds a live claim on (at the database's `now` on
    /// PostgreSQL), claimed for `node` as [`super::Outbox::claim_due`]
    /// does. Without mail. On an engine only one process opens, every
    /// queued entry in flight.
    fn claim_in_flight(&self, now: DateTime<Utc>, node: &str) -> Result<Vec<Entry>>;

    /// [`super::Outbox::update_outbox`] for the entries `node` still holds
    /// the claim on (expired or not, as long as no other node took it);
    /// the others are left as they are. Returns the ids written. On an
    /// engine only one process opens, `update_outbox` of all.
    fn update_claimed(&self, changes: &[(Entry, Entry)], node: &str) -> Result<Vec<u64>>;

    /// [`super::Outbox::update_outbox`] for the entries still stored as
    /// `old` that no node holds a live claim on: a pass over the queue
    /// that no claim covers (bringing every mail forward when the
    /// transport is back) must not undo what a sender recorded after it
    /// read. Returns the ids written. On an engine only one process opens,
    /// `update_outbox` of all.
    fn update_unchanged(&self, changes: &[(Entry, Entry)]) -> Result<Vec<u64>>;
}
