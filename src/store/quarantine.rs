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
        let fresh = QuarantineEntry {
            id,
            reason: reason.to_string(),
            origin: origin.to_string(),
            received: now,
            size: raw.len(),
            arrivals: 1,
        };
        let _writing = self.writing();
        self.engine().quarantine(&fresh, raw)
    }

    /// Every kept entry, oldest first.
    pub fn quarantined(&self) -> Result<Vec<QuarantineEntry>> {
        let mut all = self.engine().quarantined()?;
        all.sort_by(|a, b| a.received.cmp(&b.received).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub fn quarantined_entry(&self, id: &str) -> Result<Option<(QuarantineEntry, Vec<u8>)>> {
        self.engine().quarantined_entry(id)
    }

    /// Messages kept in the quarantine. A storage error reads as none (and
    /// is logged): the callers are gauges and status lines.
    pub fn quarantine_len(&self) -> usize {
        self.engine().quarantine_len().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot count the quarantine");
            0
        })
    }
}
