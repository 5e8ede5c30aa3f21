//! Backup and restore: every tree written to a portable stream and read
//! back into an empty store.

use super::engine::Backup as _;
use super::*;

impl Store {
    /// Writes every tree to `out` in the backup format (see
    /// [`crate::backup`]) while writes are paused, and returns the number
    /// of records per tree. Trees are found by name, so a tree added later
    /// is backed up without a change here.
    pub fn export(&self, out: &mut dyn std::io::Write) -> std::io::Result<BTreeMap<String, u64>> {
        let _alone = self.writers.write().unwrap_or_else(|p| p.into_inner());
        let mut counts = BTreeMap::new();
        out.write_all(EXPORT_MAGIC)?;
        for name in self.sled.db.tree_names() {
            let tree = self
                .sled
                .db
                .open_tree(&name)
                .map_err(std::io::Error::other)?;
            put(out, b'T', &name)?;
            let mut n = 0u64;
            for item in tree.iter() {
                let (k, v) = item.map_err(std::io::Error::other)?;
                put(out, b'K', &k)?;
                put(out, b'V', &v)?;
                n += 1;
            }
            out.write_all(b"E")?;
            out.write_all(&n.to_be_bytes())?;
            counts.insert(String::from_utf8_lossy(&name).into_owned(), n);
        }
        out.write_all(b"Z")?;
        Ok(counts)
    }

    /// Builds a store in `dir` (which must not hold one) from an export,
    /// and returns the records per tree as they now stand in it.
    pub fn import(
        dir: &Path,
        input: &mut dyn std::io::Read,
    ) -> std::io::Result<BTreeMap<String, u64>> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let db = sled::Config::new()
            .path(dir)
            .create_new(true)
            .open()
            .map_err(std::io::Error::other)?;
        let mut magic = [0u8; EXPORT_MAGIC.len()];
        input.read_exact(&mut magic)?;
        if magic != EXPORT_MAGIC {
            return Err(bad("not a postdesk store export"));
        }
        loop {
            match take_tag(input)? {
                b'Z' => break,
                b'T' => {}
                _ => return Err(bad("damaged export: expected a tree")),
            }
            let name = take_bytes(input)?;
            let tree = db.open_tree(&name).map_err(std::io::Error::other)?;
            let mut batch = sled::Batch::default();
            let mut pending = 0usize;
            let mut n = 0u64;
            loop {
                match take_tag(input)? {
                    b'K' => {}
                    b'E' => break,
                    _ => return Err(bad("damaged export: expected a record")),
                }
                let k = take_bytes(input)?;
                if take_tag(input)? != b'V' {
                    return Err(bad("damaged export: a key without its value"));
                }
                let v = take_bytes(input)?;
                pending += k.len() + v.len();
                batch.insert(k, v);
                n += 1;
                if pending > 8 << 20 {
                    tree.apply_batch(std::mem::take(&mut batch))
                        .map_err(std::io::Error::other)?;
                    pending = 0;
                }
            }
            tree.apply_batch(batch).map_err(std::io::Error::other)?;
            let mut count = [0u8; 8];
            input.read_exact(&mut count)?;
            if u64::from_be_bytes(count) != n {
                return Err(bad("damaged export: a tree's record count does not match"));
            }
        }
        // Outbox ids follow the last entry in the outbox tree, restored
        // with it: nothing else to move.
        db.flush().map_err(std::io::Error::other)?;
        let mut counts = BTreeMap::new();
        for name in db.tree_names() {
            let tree = db.open_tree(&name).map_err(std::io::Error::other)?;
            counts.insert(
                String::from_utf8_lossy(&name).into_owned(),
                tree.len() as u64,
            );
        }
        Ok(counts)
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
    /// tickets. Changes nothing.
    pub fn verify(&self) -> Verified {
        const MAX_PROBLEMS: usize = 100;
        let mut v = Verified::default();
        let note = |v: &mut Verified, p: String| {
            if v.problems.len() < MAX_PROBLEMS {
                v.problems.push(p);
            }
        };
        let walk = |v: &mut Verified, name: &str, tree: &usage::Tree, check: &Check<'_>| {
            let mut n = 0u64;
            for item in tree.iter() {
                match item {
                    Ok((k, val)) => {
                        n += 1;
                        if let Err(e) = check(&k, &val) {
                            note(v, format!("{name} {}: {e}", key_text(&k)));
                        }
                    }
                    Err(e) => {
                        note(v, format!("{name}: cannot read past record {n}: {e}"));
                        break;
                    }
                }
            }
            v.read.insert(name.to_string(), n);
        };
        walk(&mut v, "tickets", &self.sled.tickets, &|k, val| {
            let t: Ticket = from_packed("ticket", val).map_err(|e| e.to_string())?;
            match be_u64(k) {
                Some(n) if n == t.number => Ok(()),
                _ => Err(format!("is filed under another number than #{}", t.number)),
            }
        });
        walk(&mut v, "messages", &self.sled.messages, &|_, val| {
            self.decode_message(val)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        walk(&mut v, "message ids", &self.sled.msgids, &|_, val| {
            IdEntry::decode(val)
                .map(|_| ())
                .ok_or_else(|| "is not an index entry".to_string())
        });
        walk(&mut v, "outbox", &self.sled.outbox, &|_, val| {
            decode_with_blob::<crate::outbox::Entry>("outbox entry", &self.codec(), val)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        walk(&mut v, "quarantine", &self.sled.quarantine, &|_, val| {
            // Plain JSON, not a record-and-blob value.
            from_packed::<QuarantineEntry>("quarantine entry", val)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        let mut index_problems = Vec::new();
        let n = self
            .sled
            .verify_ticket_index(&mut |p| index_problems.push(p));
        for p in index_problems {
            note(&mut v, p);
        }
        v.read.insert("ticket index".into(), n);
        v
    }
}

/// How one record of a tree is checked: its key and value, or why not.
type Check<'a> = dyn Fn(&[u8], &[u8]) -> std::result::Result<(), String> + 'a;

/// A key as an admin can read it: a number when it is one.
fn key_text(k: &[u8]) -> String {
    match (k.len(), be_u64(k)) {
        (8, Some(n)) => format!("#{n}"),
        _ => String::from_utf8_lossy(k).into_owned(),
    }
}

impl Store {
    /// Every live record as a portable record ([`portable::Record`]), one
    /// at a time, while writes are paused: the same records whichever
    /// engine holds the desk ([`super::engine::Backup`]).
    pub fn export_records(&self, mut f: impl FnMut(portable::Record) -> Result<()>) -> Result<()> {
        let _alone = self.writers.write().unwrap_or_else(|p| p.into_inner());
        self.sled.export_records(&mut f)
    }

    /// Builds a store in `dir` (which must hold none) from portable
    /// records, its indexes included, durably; returns the records
    /// written.
    pub fn import_records(
        dir: &Path,
        mut next: impl FnMut() -> Result<Option<portable::Record>>,
    ) -> Result<u64> {
        let store = Store::open(dir)?;
        let written = store.sled.import_records(&mut next)?;
        store.flush()?;
        store.write_mark(dir)?;
        Ok(written)
    }
}
