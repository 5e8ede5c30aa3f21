//! Privacy requests in storage: an erasure written as one transaction,
//! and the records kept of erasures.

use crate::store::{Erasure, ErasureRecord, Result};

/// Erasures as stored.
pub trait Privacy {
    /// Writes an erasure as one transaction: tickets, message records and
    /// bytes, the customer index (under the pseudonym), the outbox entries
    /// (as they stand when written, scrubbed, without their mail), bounce
    /// marks and caps and notices given (under the pseudonym), quarantine
    /// entries (gone), the Outlook conversation keys of the tickets (gone:
    /// they hold the subject), and the record of it. All or nothing.
    fn apply_erasure(&self, e: &Erasure) -> Result<()>;

    /// Every erasure recorded, oldest first.
    fn erasures(&self) -> Result<Vec<ErasureRecord>>;

    /// The latest erasure that gave this pseudonym (any case), if one did.
    fn erasure(&self, pseudonym: &str) -> Result<Option<ErasureRecord>>;

    /// After [`Privacy::apply_erasure`]: removes from the engine's files
    /// the old copies of what it changed, where the engine can while it
    /// is open, and says how many records the rewritten files hold.
    /// `None`: it cannot, and they stay until the store is closed and
    /// rewritten offline ([`crate::store::Store::rewrite`]), which the
    /// caller then runs.
    fn reclaim(&self) -> Result<Option<u64>>;
}
