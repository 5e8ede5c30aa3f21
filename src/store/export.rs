//! Backup and restore: the store as a stream (the backup format, sled's
//! trees by name: `sled_engine::backup`) and as portable records, the
//! same whichever engine holds the desk ([`super::engine::Backup`]); and
//! the check of every record (`postdesk check --store`).

use super::*;

impl Store {
    /// Writes every tree to `out` in the backup format (see
    /// [`crate::backup`]) while writes are paused, and returns the number
    /// of records per tree (sled's own layout: `sled_engine::backup`).
    pub fn export(&self, out: &mut dyn std::io::Write) -> std::io::Result<BTreeMap<String, u64>> {
        let _alone = self.writers.write().unwrap_or_else(|p| p.into_inner());
        match self.sled() {
            Some(s) => s.export_trees(out),
            None => Err(std::io::Error::other(
                "this backup format holds sled's trees; a PostgreSQL desk is backed up with its records (or pg_dump)",
            )),
        }
    }

    /// Builds a store in `dir` (which must not hold one) from an export,
    /// and returns the records per tree as they now stand in it.
    pub fn import(
        dir: &Path,
        input: &mut dyn std::io::Read,
    ) -> std::io::Result<BTreeMap<String, u64>> {
        sled_engine::backup::import_trees(dir, input)
    }
}

pub(super) const EXPORT_MAGIC: &[u8] = b"postdesk-store-export 1\n";

pub(super) fn put(out: &mut dyn std::io::Write, tag: u8, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&[tag])?;
    out.write_all(&(bytes.len() as u32).to_be_bytes())?;
    out.write_all(bytes)
}

pub(super) fn take_tag(input: &mut dyn std::io::Read) -> std::io::Result<u8> {
    let mut t = [0u8; 1];
    input.read_exact(&mut t)?;
    Ok(t[0])
}

pub(super) fn take_bytes(input: &mut dyn std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    // A damaged length must not allocate gigabytes before failing.
    let mut buf = Vec::with_capacity(len.min(1 << 20));
    (&mut *input).take(len as u64).read_to_end(&mut buf)?;
    if buf.len() != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "export cut short",
        ));
    }
    Ok(buf)
}

/// What `postdesk check --store` found: how many records of each kind
/// were read, and every one that could not be.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Verified {
    pub read: BTreeMap<String, u64>,
    pub problems: Vec<String>,
}

impl Store {
    /// Reads every ticket, message (with its compressed bytes), Message-ID
    /// index entry, outbox entry and quarantine record, and says which
    /// cannot be read; checks that the ticket indexes agree with the
    /// tickets. Changes nothing. (sled: `sled_engine::backup`.)
    pub fn verify(&self) -> Verified {
        match self.sled() {
            Some(s) => s.verify(),
            // PostgreSQL checks its own pages and keeps its indexes; what
            // can be damaged is a row postdesk cannot read back as a
            // record: every row is read as a backup reads it, counted by
            // kind (named as sled's trees).
            None => match portable::stream::tally(|f| self.export_records(f)) {
                Ok(t) => Verified {
                    read: t.counts(),
                    problems: Vec::new(),
                },
                Err(e) => Verified {
                    read: BTreeMap::new(),
                    problems: vec![e.to_string()],
                },
            },
        }
    }
}

impl Store {
    /// Every live record as a portable record ([`portable::Record`]), one
    /// at a time, while writes are paused: the same records whichever
    /// engine holds the desk ([`super::engine::Backup`]).
    pub fn export_records(&self, mut f: impl FnMut(portable::Record) -> Result<()>) -> Result<()> {
        let _alone = self.writers.write().unwrap_or_else(|p| p.into_inner());
        self.engine().export_records(&mut f)
    }

    /// Builds a store in `dir` (which must hold none) from portable
    /// records, its indexes included, durably; returns the records
    /// written.
    pub fn import_records(
        dir: &Path,
        mut next: impl FnMut() -> Result<Option<portable::Record>>,
    ) -> Result<u64> {
        let store = Store::open(dir)?;
        let written = store.engine().import_records(&mut next)?;
        store.flush()?;
        store.write_mark(dir)?;
        Ok(written)
    }
}
