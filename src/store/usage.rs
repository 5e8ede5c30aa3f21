//! How often the store is read and written. Every tree access goes
//! through [`Tree`], which counts it, so a benchmark can report store
//! operations per message and compare two versions of the desk fairly.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts of reads (point lookups and scans started) and writes (keys
/// written or removed in transactions), and of records read (each value a
/// lookup found or a scan yielded): reads say how many trips a command
/// makes, records how much it reads, which is what an O(page) listing
/// must keep independent of the number of tickets.
#[derive(Debug, Default)]
pub struct Usage {
    reads: AtomicU64,
    writes: AtomicU64,
    records: AtomicU64,
}

impl Usage {
    pub fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    pub fn wrote(&self, n: u64) {
        self.writes.fetch_add(n, Ordering::Relaxed);
    }

    fn record(&self) {
        self.records.fetch_add(1, Ordering::Relaxed);
    }

    /// Records read so far.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
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
        let v = self.inner.get(key);
        if matches!(v, Ok(Some(_))) {
            self.usage.record();
        }
        v
    }

    pub fn first(&self) -> sled::Result<Option<(sled::IVec, sled::IVec)>> {
        self.usage.read();
        self.usage.record();
        self.inner.first()
    }

    pub fn last(&self) -> sled::Result<Option<(sled::IVec, sled::IVec)>> {
        self.usage.read();
        self.usage.record();
        self.inner.last()
    }

    pub fn scan_prefix<P: AsRef<[u8]>>(&self, prefix: P) -> Iter {
        self.usage.read();
        self.counted(self.inner.scan_prefix(prefix))
    }

    pub fn range<K: AsRef<[u8]>, R: std::ops::RangeBounds<K>>(&self, range: R) -> Iter {
        self.usage.read();
        self.counted(self.inner.range(range))
    }

    pub fn iter(&self) -> Iter {
        self.usage.read();
        self.counted(self.inner.iter())
    }

    fn counted(&self, inner: sled::Iter) -> Iter {
        Iter {
            inner,
            usage: self.usage.clone(),
        }
    }
}

/// A scan whose records are counted as they are read.
pub struct Iter {
    inner: sled::Iter,
    usage: Arc<Usage>,
}

impl Iterator for Iter {
    type Item = sled::Result<(sled::IVec, sled::IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next()?;
        self.usage.record();
        Some(item)
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.inner.next_back()?;
        self.usage.record();
        Some(item)
    }
}

impl Deref for Tree {
    type Target = sled::Tree;

    fn deref(&self) -> &sled::Tree {
        &self.inner
    }
}

/// The logical size of one tree: what its records hold, before the
/// storage engine's own layout (see `examples/store_space.rs`).
#[derive(Debug, Clone, Default)]
pub struct Space {
    pub tree: String,
    pub records: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
}
