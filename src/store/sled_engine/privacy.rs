//! [`Privacy`] over the sled trees: an erasure as one multi-tree
//! transaction, and the erasure records in `meta` (`erasure/` pseudonym
//! `/` ms). The offline rewrite that follows an erasure is
//! [`crate::store::Store::rewrite`].

use super::*;
use crate::store::engine::{Customers as _, Privacy};
use crate::store::privacy::ERASURE_PREFIX;
use crate::store::{Erasure, ErasureRecord};

impl Privacy for Sled {
    /// One multi-tree sled transaction; the outbox entries are read again
    /// inside it (the worker may have moved one since the erasure was
    /// planned).
    fn apply_erasure(&self, e: &Erasure) -> Result<()> {
        let tickets: Vec<([u8; 8], Vec<u8>)> = e
            .tickets
            .iter()
            .map(|t| (t.number.to_be_bytes(), json(t)))
            .collect();
        let reindex: Vec<listing::Reindex> = e.tickets.iter().map(listing::Reindex::of).collect();
        let codec = self.codec();
        let messages: Vec<([u8; 12], Vec<u8>)> = e
            .messages
            .iter()
            .map(|(m, raw)| {
                (
                    message_key(m.ticket, m.seq),
                    with_blob(&json(m), &codec.pack_mail(raw)),
                )
            })
            .collect();
        let no_mail = codec.pack_mail(b"");
        let outgoing: Vec<&outbox::Entry> = e.outbox.iter().map(|(_, new)| new).collect();
        // The customer index, under the pseudonym from now on.
        let moved_customers: Vec<(Vec<u8>, Vec<u8>)> = self
            .tickets_of_customer(&e.address)?
            .into_iter()
            .map(|n| (customer_key(&e.address, n), customer_key(&e.pseudonym, n)))
            .collect();
        // Bounce mark and caps: kept (the numbers), under the pseudonym.
        let mut guard_moves: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = vec![(
            guard_key("mark", &e.address),
            guard_key("mark", &e.pseudonym),
            json(&e.mark),
        )];
        if let Some(v) = self
            .guard
            .get(guard_key("sent", &e.address))
            .map_err(self.io("read automatic-mail counts"))?
        {
            guard_moves.push((
                guard_key("sent", &e.address),
                guard_key("sent", &e.pseudonym),
                v.to_vec(),
            ));
        }
        // Notices given to them: `notice/NAME/ADDRESS`.
        let suffix = format!("/{}", e.address);
        let mut meta_moves: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = Vec::new();
        for item in self.meta.scan_prefix(b"notice/") {
            let (k, v) = item.map_err(self.io("read notices"))?;
            if let Some(name) = k
                .strip_suffix(suffix.as_bytes())
                .and_then(|n| n.strip_prefix(b"notice/"))
            {
                let name = String::from_utf8_lossy(name);
                meta_moves.push((
                    k.to_vec(),
                    notice_key(&name, &e.pseudonym).into_bytes(),
                    v.to_vec(),
                ));
            }
        }
        // One record per erasure: a person who wrote again after one and
        // is erased again keeps both.
        let record_key = format!(
            "{ERASURE_PREFIX}{}/{:020}",
            e.pseudonym,
            e.record.at.timestamp_millis().max(0)
        );
        let record = json(&e.record);
        // Outlook conversation keys name the subject: they go.
        let mut conversations: Vec<Vec<u8>> = Vec::new();
        if !e.conversations_of.is_empty() {
            for item in self.msgids.iter() {
                let (k, v) = item.map_err(self.io("read message-id index"))?;
                if let Some(entry) = IdEntry::decode(&v) {
                    if entry.kind == IdKind::Conversation
                        && e.conversations_of.contains(&entry.ticket)
                    {
                        conversations.push(k.to_vec());
                    }
                }
            }
        }
        let trees = (
            &*self.tickets,
            &*self.messages,
            &*self.customers,
            &*self.outbox,
            &*self.outq,
            &*self.guard,
            &*self.quarantine,
            &*self.qraw,
            &*self.meta,
            &*self.ticket_index,
            &*self.msgids,
        );
        self.usage.wrote(
            (tickets.len() * 2
                + messages.len()
                + moved_customers.len() * 2
                + outgoing.len() * 2
                + guard_moves.len() * 2
                + e.quarantine.len() * 2
                + meta_moves.len() * 2
                + conversations.len()
                + 1) as u64,
        );
        trees
            .transaction(|(tt, mt, ct, ot, qt, gt, quar, qraw, meta, xt, it)| {
                for (k, v) in &tickets {
                    tt.insert(k, v.as_slice())?;
                }
                for r in &reindex {
                    r.apply(xt)?;
                }
                for (k, v) in &messages {
                    mt.insert(k, v.as_slice())?;
                }
                for (old, new) in &moved_customers {
                    ct.remove(old.as_slice())?;
                    ct.insert(new.as_slice(), &[])?;
                }
                // The worker may have moved an entry since it was read:
                // its queue key and state are taken as they stand now.
                for planned in &outgoing {
                    let key = planned.id.to_be_bytes();
                    let entry = match ot.get(key)? {
                        Some(v) => match record_of::<outbox::Entry>("outbox entry", &v) {
                            Ok(mut current) => {
                                qt.remove(&queue_key(&current))?;
                                crate::privacy::scrub_entry(&mut current, &e.address, &e.pseudonym);
                                current
                            }
                            Err(_) => (*planned).clone(),
                        },
                        None => (*planned).clone(),
                    };
                    ot.insert(&key, with_blob(&json(&entry), &no_mail))?;
                }
                for (old, new, v) in &guard_moves {
                    gt.remove(old.as_slice())?;
                    gt.insert(new.as_slice(), v.as_slice())?;
                }
                for id in &e.quarantine {
                    quar.remove(id.as_bytes())?;
                    qraw.remove(id.as_bytes())?;
                }
                for (old, new, v) in &meta_moves {
                    meta.remove(old.as_slice())?;
                    meta.insert(new.as_slice(), v.as_slice())?;
                }
                for k in &conversations {
                    it.remove(k.as_slice())?;
                }
                meta.insert(record_key.as_bytes(), record.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|err| match err {
                TransactionError::Storage(source) => self.io("erasure transaction")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "erasure transaction",
                    detail: "aborted".into(),
                },
            })?;
        Ok(())
    }

    /// Every erasure recorded, oldest first.
    fn erasures(&self) -> Result<Vec<ErasureRecord>> {
        let mut all: Vec<ErasureRecord> = self
            .meta
            .scan_prefix(ERASURE_PREFIX.as_bytes())
            .map(|r| {
                let (_, v) = r.map_err(self.io("read erasures"))?;
                from_json("erasure record", &v)
            })
            .collect::<Result<_>>()?;
        all.sort_by_key(|r| r.at);
        Ok(all)
    }

    /// The latest erasure that gave this pseudonym, if one did.
    fn erasure(&self, pseudonym: &str) -> Result<Option<ErasureRecord>> {
        let prefix = format!("{ERASURE_PREFIX}{}/", pseudonym.trim().to_ascii_lowercase());
        self.meta
            .scan_prefix(prefix.as_bytes())
            .last()
            .transpose()
            .map_err(self.io("read erasures"))?
            .map(|(_, v)| from_json("erasure record", &v))
            .transpose()
    }

    /// sled is log-structured: a removed or overwritten value stays in its
    /// old segment until the segment is reused, and nothing says when. Only
    /// the offline rewrite removes it.
    fn reclaim(&self) -> Result<Option<u64>> {
        Ok(None)
    }
}
