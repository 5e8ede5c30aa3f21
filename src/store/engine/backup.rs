//! A whole store as portable records ([`crate::store::portable::Record`]):
//! what a backup, a move between engines, or a comparison of two engines
//! reads and writes, the same records whichever engine holds them.

use crate::store::portable::Record;
use crate::store::Result;

/// Every record of a store out, and into an empty one.
pub trait Backup {
    /// Calls `f` with every live record the store holds, one at a time,
    /// in bounded memory. Derived indexes (the listing and deadline
    /// indexes, the outbox queue) are not records: an engine that imports
    /// builds its own. The facade pauses writers meanwhile, so the records
    /// are one moment of the desk. An error of `f` ends the export.
    fn export_records(&self, f: &mut dyn FnMut(Record) -> Result<()>) -> Result<()>;

    /// Writes the records `next` hands out, until it says `None`, into
    /// this store, which must hold no records; builds the derived indexes.
    /// Returns the records written. Notifications whose agent an engine
    /// keeps in the index entry of the sent mail come after that entry.
    fn import_records(&self, next: &mut dyn FnMut() -> Result<Option<Record>>) -> Result<u64>;

    /// Like [`Backup::import_records`], but into a store that may hold
    /// records: they are replaced, atomically, so an import that fails
    /// (or that `next` refuses, say at the end of a stream that does not
    /// match its manifest) leaves them as they were. An engine that cannot
    /// (sled, whose restore builds a new store beside the old one and
    /// moves the old aside: `backup::restore`) imports into an empty
    /// store only.
    fn replace_records(&self, next: &mut dyn FnMut() -> Result<Option<Record>>) -> Result<u64> {
        self.import_records(next)
    }
}
