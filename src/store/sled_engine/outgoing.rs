//! The outbox primitives over the `outbox` tree (entries by id, with
//! their mail packed by the engine's codec) and `outq` (queued entries by
//! due time).

use super::*;
use crate::outbox::{Entry, State};
use crate::store::engine::outbox::{still_planned, Outbox};

/// The blob part of a [`with_blob`] value.
fn blob(v: &[u8]) -> &[u8] {
    let len = v
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0) as usize;
    v.get(4 + len..).unwrap_or_default()
}

impl Sled {
    /// The ids in the queue up to `end` (a [`queue_key`]), in its order.
    fn queued_ids(&self, end: Option<[u8; 16]>, limit: usize) -> Result<Vec<u64>> {
        let range = match end {
            Some(end) => self.outq.range(..=end),
            None => self.outq.range::<&[u8], _>(..),
        };
        let mut ids = Vec::new();
        for item in range.take(limit) {
            let (k, _) = item.map_err(self.io("read outbox queue"))?;
            if let Some(id) = k.get(8..).and_then(be_u64) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// A stored outbox value ([`with_blob`]): the entry and its mail,
    /// unpacked.
    fn split(&self, v: &[u8]) -> Result<(Entry, Vec<u8>)> {
        decode_with_blob("outbox entry", &self.codec(), v)
    }

    fn outbox_value(&self, id: u64) -> Result<Option<sled::IVec>> {
        self.outbox
            .get(id.to_be_bytes())
            .map_err(self.io("read outbox"))
    }
}

impl Outbox for Sled {
    fn outbox_len(&self) -> Result<usize> {
        Ok(self.outq.len())
    }

    fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<(Entry, Vec<u8>)>> {
        let mut end = [0xffu8; 16];
        end[..8].copy_from_slice(&(now.timestamp_millis().max(0) as u64).to_be_bytes());
        let mut out = Vec::new();
        for id in self.queued_ids(Some(end), limit)? {
            if let Some(v) = self.outbox_value(id)? {
                out.push(self.split(&v)?);
            }
        }
        Ok(out)
    }

    /// One process opens a sled store, and it has one sender: nothing to
    /// claim against.
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        _node: &str,
    ) -> Result<Vec<(Entry, Vec<u8>)>> {
        self.due_outbox(now, limit)
    }

    fn queued_outbox(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::with_capacity(self.outq.len());
        for id in self.queued_ids(None, usize::MAX)? {
            if let Some(v) = self.outbox_value(id)? {
                out.push(record_of::<Entry>("outbox entry", &v)?);
            }
        }
        Ok(out)
    }

    fn outbox_entry(&self, id: u64) -> Result<Option<(Entry, Vec<u8>)>> {
        self.outbox_value(id)?.map(|v| self.split(&v)).transpose()
    }

    fn outbox_entries(&self) -> Result<Vec<Entry>> {
        self.outbox
            .iter()
            .map(|r| {
                let (_, v) = r.map_err(self.io("read outbox"))?;
                record_of::<Entry>("outbox entry", &v)
            })
            .collect()
    }

    fn store_built(&self, built: &[(Entry, Vec<u8>)]) -> Result<Vec<u64>> {
        if built.is_empty() {
            return Ok(Vec::new());
        }
        let codec = self.codec();
        let values: Vec<(&Entry, Vec<u8>)> = built
            .iter()
            .map(|(e, mail)| (e, with_blob(&json(e), &codec.pack_mail(mail))))
            .collect();
        self.outbox
            .transaction(|t| {
                let mut replaced = Vec::new();
                for (e, value) in &values {
                    let key = e.id.to_be_bytes();
                    let Some(current) = t.get(key)? else {
                        continue;
                    };
                    let unchanged = record_of::<Entry>("outbox entry", &current)
                        .is_ok_and(|c| still_planned(&c, e));
                    if unchanged {
                        t.insert(&key, value.as_slice())?;
                        replaced.push(e.id);
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>(replaced)
            })
            .map_err(|e| match e {
                TransactionError::Storage(source) => self.io("store built mail")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "store built mail",
                    detail: "aborted".into(),
                },
            })
    }

    fn update_outbox(&self, changes: &[(Entry, Entry)]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut values = Vec::with_capacity(changes.len());
        for (old, new) in changes {
            let Some(current) = self.outbox_value(old.id)? else {
                continue;
            };
            values.push((old, new, with_blob(&json(new), blob(&current))));
        }
        (&*self.outbox, &*self.outq)
            .transaction(|(ot, qt)| {
                for (old, new, value) in &values {
                    ot.insert(&new.id.to_be_bytes(), value.as_slice())?;
                    qt.remove(&queue_key(old))?;
                    if new.state == State::Queued {
                        qt.insert(&queue_key(new), &[])?;
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(source) => self.io("outbox update")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "outbox update",
                    detail: "aborted".into(),
                },
            })
    }
}
