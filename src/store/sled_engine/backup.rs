//! [`Backup`] over the sled trees: each tree read in key order and
//! decoded by [`portable::decode_records`]; records written back in the
//! layout of [`crate::store`], in batches, then the derived trees
//! (`ticket_index`, `timers`, `outq`) built from them.

use super::*;
use crate::store::engine::{Backup, Intake as _};
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
