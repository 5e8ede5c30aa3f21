//! The quarantine over `quarantine` (JSON entries by content hash) and
//! `qraw` (their mail, packed by the engine's codec).

use super::*;
use crate::store::engine::Quarantine;

impl Quarantine for Sled {
    /// The count is read and written in the transaction, so it holds
    /// however the transaction is retried.
    fn quarantine(&self, fresh: &QuarantineEntry, mail: &[u8]) -> Result<QuarantineEntry> {
        let id = fresh.id.as_bytes();
        let mail = self.codec().pack_mail(mail);
        (&*self.quarantine, &*self.qraw)
            .transaction(|(q, qr)| {
                let entry = match q.get(id)? {
                    Some(v) => match serde_json::from_slice::<QuarantineEntry>(&v) {
                        Ok(mut e) => {
                            e.arrivals = e.arrivals.saturating_add(1);
                            e
                        }
                        Err(_) => return Err(ConflictableTransactionError::Abort(())),
                    },
                    None => fresh.clone(),
                };
                q.insert(id, json(&entry))?;
                qr.insert(id, mail.as_slice())?;
                Ok(entry)
            })
            .map_err(|e| match e {
                TransactionError::Storage(source) => self.io("quarantine transaction")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "quarantine entry",
                    detail: format!("the entry kept as {} does not read", fresh.id),
                },
            })
    }

    fn quarantined(&self) -> Result<Vec<QuarantineEntry>> {
        self.quarantine
            .iter()
            .map(|r| {
                let (_, v) = r.map_err(self.io("read quarantine"))?;
                from_json("quarantine entry", &v)
            })
            .collect()
    }

    fn quarantined_entry(&self, id: &str) -> Result<Option<(QuarantineEntry, Vec<u8>)>> {
        let Some(v) = self
            .quarantine
            .get(id.as_bytes())
            .map_err(self.io("read quarantine"))?
        else {
            return Ok(None);
        };
        let entry: QuarantineEntry = from_json("quarantine entry", &v)?;
        let mail = self
            .qraw
            .get(id.as_bytes())
            .map_err(self.io("read quarantine"))?
            // As before the codec: bytes that do not unpack are shown as
            // they are stored.
            .map(|v| self.codec().unpack_mail(&v).unwrap_or_else(|_| v.to_vec()))
            .unwrap_or_default();
        Ok(Some((entry, mail)))
    }

    fn quarantine_len(&self) -> Result<usize> {
        Ok(self.quarantine.len())
    }
}
