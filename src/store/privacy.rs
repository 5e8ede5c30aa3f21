//! Privacy requests in the store: a person's erasure written as one
//! transaction ([`super::engine::Privacy`]), the record kept of it, and,
//! on engines that need it, the offline rewrite that leaves no old copy
//! of the erased bytes on disk (sled: `sled_engine::rewrite`).

use super::*;

/// What the desk keeps of an erasure: never the erased address itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasureRecord {
    pub pseudonym: String,
    pub at: DateTime<Utc>,
    /// Who asked for it: the OS user, or `--by`.
    pub by: String,
    pub tickets: usize,
    pub messages: usize,
    pub outgoing: usize,
    /// Queued mail that was cancelled (`--force`).
    pub cancelled: usize,
    pub quarantined: usize,
}

/// Everything an erasure writes, computed before its transaction.
#[derive(Debug)]
pub struct Erasure {
    /// Lower case.
    pub address: String,
    pub pseudonym: String,
    /// The tickets as they must stand.
    pub tickets: Vec<Ticket>,
    /// Message records as they must stand, each with the bytes to keep
    /// (empty when its body goes).
    pub messages: Vec<(MessageRecord, Vec<u8>)>,
    /// Outbox entries: as stored, and as they must stand (their mail goes).
    pub outbox: Vec<(outbox::Entry, outbox::Entry)>,
    /// Tickets whose Outlook conversation keys (which hold their subject)
    /// go from the Message-ID index.
    pub conversations_of: Vec<u64>,
    /// Quarantine entries that go.
    pub quarantine: Vec<String>,
    /// The pseudonym's mark: what the guards knew of the address, and a
    /// suppression without end, so no automatic mail goes to it.
    pub mark: bounce::Mark,
    pub record: ErasureRecord,
}

pub(crate) const ERASURE_PREFIX: &str = "erasure/";

impl Store {
    /// Writes an erasure in one transaction: tickets, message records and
    /// bytes, the customer and ticket indexes, the outbox and its queue,
    /// bounce marks and caps, notices given, quarantine entries, and the
    /// record of it ([`Privacy::apply_erasure`]). Writers are paused
    /// meanwhile, as for a backup, so the reads and the write see one
    /// moment of the store. A dictionary being trained is dropped: its
    /// samples may hold what is erased. On PostgreSQL the mail
    /// dictionaries are then replaced and the mail re-packed
    /// ([`Store::renew_dictionary`]); sled's offline rewrite does that.
    pub fn apply_erasure(&self, e: &Erasure) -> Result<()> {
        self.forget_training();
        {
            let _alone = self.writers.write().unwrap_or_else(|p| p.into_inner());
            self.engine().apply_erasure(e)?;
        }
        self.flush()?;
        self.renew_dictionary()
    }

    /// After an erasure: removes the old copies of what it changed from
    /// the engine's files, where the engine can while open (PostgreSQL:
    /// `VACUUM FULL`), and returns the records those files hold; `None`
    /// when only an offline rewrite can ([`Store::rewrite`], sled).
    pub fn reclaim_erased(&self) -> Result<Option<u64>> {
        self.engine().reclaim()
    }

    /// Every erasure recorded, oldest first.
    pub fn erasures(&self) -> Result<Vec<ErasureRecord>> {
        self.engine().erasures()
    }

    /// The latest erasure that gave this pseudonym, if one did.
    pub fn erasure(&self, pseudonym: &str) -> Result<Option<ErasureRecord>> {
        self.engine().erasure(pseudonym)
    }

    /// Rewrites the (closed) store in `state_dir/store` so that it holds
    /// its live records and nothing else (sled only: see
    /// [`super::engine::Privacy::reclaim`] and
    /// `sled_engine::rewrite`). Returns the records copied.
    pub fn rewrite(state_dir: &Path) -> std::io::Result<u64> {
        sled_engine::rewrite::rewrite(state_dir)
    }
}
