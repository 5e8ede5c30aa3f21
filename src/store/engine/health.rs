//! Whether the storage works, and what it holds in numbers: what the
//! daemon watches and `status`, metrics and backups report.
//!
//! Some of it only means something on sled (its sticky I/O failure, its
//! trees' sizes, its read counters): those are methods with defaults an
//! engine without them keeps. The damage check against `store.mark` and
//! the sled layout's own migrations are not here: they are part of
//! opening a sled store ([`crate::store::Store::open`]).

use crate::store::{fault, usage, Result};

pub trait Health {
    /// Writes one small record and makes it durable: whether the storage
    /// takes writes now (after a failure, before intake resumes).
    fn probe(&self) -> Result<()>;

    /// The first storage failure since opening, which the daemon answers
    /// by reopening the store. sled keeps an I/O error for the life of
    /// the open database; an engine whose failures pass (a server that
    /// comes back) never records one.
    fn fault(&self) -> &fault::Fault {
        static NEVER: std::sync::LazyLock<fault::Fault> =
            std::sync::LazyLock::new(fault::Fault::default);
        &NEVER
    }

    /// The logical size of each part of the storage (a full scan: for
    /// measurements). None where the engine has its own tools (psql).
    fn space(&self) -> Result<Vec<usage::Space>> {
        Ok(Vec::new())
    }

    /// (reads, writes) since opening, for benchmarks; zero where the
    /// engine does not count.
    fn usage(&self) -> (u64, u64) {
        (0, 0)
    }
}
