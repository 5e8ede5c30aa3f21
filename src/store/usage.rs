//! How often the store is read and written. Every tree access goes
//! through [`Tree`], which counts it, so a benchmark can report store
//! operations per message and compare two versions of the desk fairly.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts of reads (point lookups and scans started) and writes (keys
/// written or removed in transactions).
#[derive(Debug, Default)]
pub struct Usage {
    reads: AtomicU64,
    writes: AtomicU64,
}

impl Usage {
    pub fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    pub fn wrote(&self, n: u64) {
        self.writes.fetch_add(n, Ordering::Relaxed);
    }

    /// (reads, writes) so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }
}

/// A sled tree whose reads are counted.
#[derive(Clone)]
pub struct Tree {
    inner: sled::Tree,
    usage: Arc<Usage>,
}

impl Tree {
    pub fn new(inner: sled::Tree, usage: Arc<Usage>) -> Tree {
        Tree { inner, usage }
    }

    pub fn get<K: AsRef<[u8]>>(&self, key: K) -> sled::Result<Option<sled::IVec>> {
        self.usage.read();
        self.inner.get(key)
    }

    pub fn first(&self) -> sled::Result<Option<(sled::IVec, sled::IVec)>> {
        self.usage.read();
        self.inner.first()
    }

    pub fn last(&self) -> sled::Result<Option<(sled::IVec, sled::IVec)>> {
        self.usage.read();
        self.inner.last()
    }

    pub fn scan_prefix<P: AsRef<[u8]>>(&self, prefix: P) -> sled::Iter {
        self.usage.read();
        self.inner.scan_prefix(prefix)
    }

    pub fn range<K: AsRef<[u8]>, R: std::ops::RangeBounds<K>>(&self, range: R) -> sled::Iter {
        self.usage.read();
        self.inner.range(range)
    }

    pub fn iter(&self) -> sled::Iter {
        self.usage.read();
        self.inner.iter()
    }
}

impl Deref for Tree {
    type Target = sled::Tree;

    fn deref(&self) -> &sled::Tree {
        &self.inner
    }
}
