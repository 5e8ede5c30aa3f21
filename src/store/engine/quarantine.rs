//! The quarantine's primitives: mail that could not become a ticket
//! message, kept once per content with its arrival count.
//!
//! Mail crosses this seam raw, as it arrived.

use crate::store::{QuarantineEntry, Result};

pub trait Quarantine {
    /// Keeps `fresh` and its mail under `fresh.id`, or, when that content
    /// is kept already, counts one more arrival of it (the first reason,
    /// origin and time stay). One transaction; on an engine several nodes
    /// share, two arrivals at once are both counted. Returns the entry as
    /// now stored.
    fn quarantine(&self, fresh: &QuarantineEntry, mail: &[u8]) -> Result<QuarantineEntry>;

    /// Every kept entry, in no particular order (the facade sorts).
    fn quarantined(&self) -> Result<Vec<QuarantineEntry>>;

    /// A kept entry and its mail as stored (empty if the mail is missing).
    fn quarantined_entry(&self, id: &str) -> Result<Option<(QuarantineEntry, Vec<u8>)>>;

    /// How many entries are kept.
    fn quarantine_len(&self) -> Result<usize>;
}
