//! The quarantine: mail that could not be made into a ticket message, kept
//! whole with the reason, once per content.

use super::*;

impl Store {
    /// Keeps bytes that could not become a ticket message. Keyed by content,
    /// so the same bytes arriving again (a rerun import, an MTA retry) are
    /// one entry with an arrival count, not a second copy.
    pub fn quarantine(
        &self,
        raw: &[u8],
        reason: &str,
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<QuarantineEntry> {
        let digest = Sha256::digest(raw);
        let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let existing: Option<QuarantineEntry> = self
            .sled
            .quarantine
            .get(id.as_bytes())
            .map_err(self.io("read quarantine"))?
            .map(|v| from_json("quarantine entry", &v))
            .transpose()?;
        let entry = match existing {
            Some(mut e) => {
                e.arrivals += 1;
                e
            }
            None => QuarantineEntry {
                id: id.clone(),
                reason: reason.to_string(),
                origin: origin.to_string(),
                received: now,
                size: raw.len(),
                arrivals: 1,
            },
        };
        let val = json(&entry);
        let compressed = self.codec().pack_mail(raw);
        let _writing = self.writing();
        (&*self.sled.quarantine, &*self.sled.qraw)
            .transaction(|(q, qr)| {
                q.insert(id.as_bytes(), val.as_slice())?;
                qr.insert(id.as_bytes(), compressed.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(source) => self.io("quarantine transaction")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "quarantine transaction",
                    detail: "aborted".into(),
                },
            })?;
        Ok(entry)
    }

    pub fn quarantined(&self) -> Result<Vec<QuarantineEntry>> {
        let mut all: Vec<QuarantineEntry> = self
            .sled
            .quarantine
            .iter()
            .map(|r| {
                let (_, v) = r.map_err(self.io("read quarantine"))?;
                from_json("quarantine entry", &v)
            })
            .collect::<Result<_>>()?;
        all.sort_by(|a, b| a.received.cmp(&b.received).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub fn quarantined_entry(&self, id: &str) -> Result<Option<(QuarantineEntry, Vec<u8>)>> {
        let Some(v) = self
            .sled
            .quarantine
            .get(id.as_bytes())
            .map_err(self.io("read quarantine"))?
        else {
            return Ok(None);
        };
        let entry: QuarantineEntry = from_json("quarantine entry", &v)?;
        let raw = self
            .sled
            .qraw
            .get(id.as_bytes())
            .map_err(self.io("read quarantine"))?
            // As before the codec: bytes that do not unpack are shown as
            // they are stored.
            .map(|v| self.codec().unpack_mail(&v).unwrap_or_else(|_| v.to_vec()))
            .unwrap_or_default();
        Ok(Some((entry, raw)))
    }

    /// Messages kept in the quarantine.
    pub fn quarantine_len(&self) -> usize {
        self.sled.quarantine.len()
    }
}
