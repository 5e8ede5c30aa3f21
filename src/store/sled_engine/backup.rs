//! [`Backup`] over the sled trees: each tree read in key order and
//! decoded by [`portable::decode_records`]; records written back in the
//! layout of [`crate::store`], in batches, then the derived trees
//! (`ticket_index`, `timers`, `outq`) built from them.

use super::*;
use crate::store::engine::{Backup, Intake as _};
use crate::store::export::{put, take_bytes, take_tag, Verified, EXPORT_MAGIC};
use crate::store::portable::{self, Record};
use crate::store::privacy::ERASURE_PREFIX;

/// Bytes a batch of the import holds before it is applied.
const BATCH_BYTES: usize = 8 << 20;

impl Backup for Sled {
    fn export_records(&self, f: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        let codec = self.codec();
        for name in self.db.tree_names() {
            let tree = self
                .db
                .open_tree(&name)
                .map_err(self.io("open a tree to export"))?;
            let name = String::from_utf8_lossy(&name).into_owned();
            for item in tree.iter() {
                let (k, v) = item.map_err(self.io("export"))?;
                for record in portable::decode_records(&name, &k, &v, &codec)? {
                    f(record)?;
                }
            }
        }
        Ok(())
    }

    fn import_records(&self, next: &mut dyn FnMut() -> Result<Option<Record>>) -> Result<u64> {
        if self.last_ticket()? != 0 || !self.customers.is_empty() || !self.outbox.is_empty() {
            return Err(StoreError::Corrupt {
                what: "import",
                detail: "the store already holds records".into(),
            });
        }
        let codec = self.codec();
        let mut batches: std::collections::BTreeMap<&'static str, sled::Batch> = Default::default();
        let mut pending = 0usize;
        // The index entries in the batches not yet applied (a batch cannot
        // be read).
        let mut pending_ids: std::collections::HashMap<Vec<u8>, IdEntry> = Default::default();
        let mut written = 0u64;
        while let Some(record) = next()? {
            let (tree, key, value): (&'static str, Vec<u8>, Vec<u8>) = match record {
                Record::Ticket(t) => {
                    if let Some(d) = t.timer_due {
                        let due = d.timestamp_millis().max(0) as u64;
                        batches
                            .entry("timers")
                            .or_default()
                            .insert(&timer_key(due, t.number)[..], &[][..]);
                    }
                    (
                        "tickets",
                        t.number.to_be_bytes().to_vec(),
                        codec::pack_record(&json(&t)),
                    )
                }
                Record::Message {
                    ticket,
                    seq,
                    record,
                    raw,
                } => (
                    "messages",
                    message_key(ticket, seq).to_vec(),
                    with_blob(&json(&record), &codec.pack_mail(&raw)),
                ),
                Record::MessageId { key, entry } => {
                    pending_ids.insert(key.clone(), entry);
                    ("msgids", key, entry.encode().to_vec())
                }
                Record::Customer { email, ticket } => {
                    let mut k = email;
                    k.push(0);
                    k.extend_from_slice(&ticket.to_be_bytes());
                    ("customers", k, Vec::new())
                }
                Record::Quarantine { id, entry } => ("quarantine", id, json(&entry)),
                Record::QuarantineRaw { id, raw } => ("qraw", id, codec.pack_mail(&raw)),
                Record::Cursor { source, value } => ("cursors", source.into_bytes(), value),
                Record::Outbox { entry, body } => {
                    if entry.state == outbox::State::Queued {
                        batches
                            .entry("outq")
                            .or_default()
                            .insert(&queue_key(&entry)[..], &[][..]);
                    }
                    (
                        "outbox",
                        entry.id.to_be_bytes().to_vec(),
                        with_blob(&json(&entry), &codec.pack_mail(&body)),
                    )
                }
                Record::Notified {
                    message_id,
                    agent,
                    seen,
                } => {
                    let value = match seen {
                        Some((t, n)) => format!("{agent} {t} {n}"),
                        None => agent,
                    };
                    // As intake writes it: in the index entry of the sent
                    // mail when there is one (written before: the entry
                    // came first), else on its own.
                    let sent = match pending_ids.get(&message_id) {
                        Some(e) => Some(*e),
                        None => self
                            .msgids
                            .get(&message_id)
                            .map_err(self.io("read message-id index"))?
                            .and_then(|v| IdEntry::decode(&v)),
                    };
                    match sent {
                        Some(entry) if entry.kind == IdKind::Sent => {
                            let mut v = entry.encode().to_vec();
                            v.extend_from_slice(value.as_bytes());
                            ("msgids", message_id, v)
                        }
                        _ => ("notified", message_id, value.into_bytes()),
                    }
                }
                Record::Guard {
                    kind,
                    email,
                    record,
                } => {
                    let mut k = kind.into_bytes();
                    k.push(0);
                    k.extend_from_slice(&email);
                    ("guard", k, json(&record))
                }
                Record::Erasure(e) => (
                    "meta",
                    format!(
                        "{ERASURE_PREFIX}{}/{:020}",
                        e.pseudonym,
                        e.at.timestamp_millis().max(0)
                    )
                    .into_bytes(),
                    json(&e),
                ),
                Record::Meta { key, value } => ("meta", key, value),
            };
            pending += key.len() + value.len();
            batches.entry(tree).or_default().insert(key, value);
            written += 1;
            if pending > BATCH_BYTES {
                self.apply_batches(&mut batches)?;
                pending_ids.clear();
                pending = 0;
            }
        }
        self.apply_batches(&mut batches)?;
        self.build_ticket_index()?;
        Ok(written)
    }
}

impl Sled {
    fn apply_batches(
        &self,
        batches: &mut std::collections::BTreeMap<&'static str, sled::Batch>,
    ) -> Result<()> {
        for (tree, batch) in std::mem::take(batches) {
            let tree = match tree {
                "tickets" => &self.tickets,
                "messages" => &self.messages,
                "msgids" => &self.msgids,
                "customers" => &self.customers,
                "quarantine" => &self.quarantine,
                "qraw" => &self.qraw,
                "cursors" => &self.cursors,
                "outbox" => &self.outbox,
                "outq" => &self.outq,
                "notified" => &self.notified,
                "timers" => &self.timers,
                "guard" => &self.guard,
                "meta" => &self.meta,
                other => {
                    return Err(StoreError::Corrupt {
                        what: "import",
                        detail: format!("no tree {other}"),
                    })
                }
            };
            tree.apply_batch(batch).map_err(self.io("import"))?;
        }
        Ok(())
    }
}

/// The backup format ([`crate::backup`]): every tree by name, record by
/// record, framed by `export`'s tags.
impl Sled {
    /// Writes every tree to `out` in the backup format (see
    /// [`crate::backup`]; the facade pauses writes), and returns the number
    /// of records per tree. Trees are found by name, so a tree added later
    /// is backed up without a change here.
    pub(crate) fn export_trees(
        &self,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<BTreeMap<String, u64>> {
        let mut counts = BTreeMap::new();
        out.write_all(EXPORT_MAGIC)?;
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name).map_err(std::io::Error::other)?;
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

    /// Reads every ticket, message (with its compressed bytes), Message-ID
    /// index entry, outbox entry and quarantine record, and says which
    /// cannot be read; checks that the ticket indexes agree with the
    /// tickets. Changes nothing.
    pub(crate) fn verify(&self) -> Verified {
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
        walk(&mut v, "tickets", &self.tickets, &|k, val| {
            let t: Ticket = from_packed("ticket", val).map_err(|e| e.to_string())?;
            match be_u64(k) {
                Some(n) if n == t.number => Ok(()),
                _ => Err(format!("is filed under another number than #{}", t.number)),
            }
        });
        walk(&mut v, "messages", &self.messages, &|_, val| {
            decode_with_blob::<MessageRecord>("message", &self.codec(), val)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        walk(&mut v, "message ids", &self.msgids, &|_, val| {
            IdEntry::decode(val)
                .map(|_| ())
                .ok_or_else(|| "is not an index entry".to_string())
        });
        walk(&mut v, "outbox", &self.outbox, &|_, val| {
            decode_with_blob::<crate::outbox::Entry>("outbox entry", &self.codec(), val)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        walk(&mut v, "quarantine", &self.quarantine, &|_, val| {
            // Plain JSON, not a record-and-blob value.
            from_packed::<QuarantineEntry>("quarantine entry", val)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        let mut index_problems = Vec::new();
        let n = self.verify_ticket_index(&mut |p| index_problems.push(p));
        for p in index_problems {
            note(&mut v, p);
        }
        v.read.insert("ticket index".into(), n);
        v
    }
}

/// Builds a store in `dir` (which must not hold one) from an export,
/// and returns the records per tree as they now stand in it.
pub(crate) fn import_trees(
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

/// How one record of a tree is checked: its key and value, or why not.
type Check<'a> = dyn Fn(&[u8], &[u8]) -> std::result::Result<(), String> + 'a;

/// A key as an admin can read it: a number when it is one.
fn key_text(k: &[u8]) -> String {
    match (k.len(), be_u64(k)) {
        (8, Some(n)) => format!("#{n}"),
        _ => String::from_utf8_lossy(k).into_owned(),
    }
}
