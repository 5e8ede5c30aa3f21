//! The quarantine over `quarantine` (entries by content hash, as bytes)
//! and `quarantine_raw` (their mail, raw).

use super::{failed, json_text, record, records, PgEngine, Result};
use crate::store::engine::Quarantine;
use crate::store::QuarantineEntry;

/// What an unreadable record is said to be.
const KIND: &str = "quarantine entry";

impl Quarantine for PgEngine {
    /// The fresh entry is inserted unless the content is kept already
    /// (`ON CONFLICT DO NOTHING`: a second node inserting the same bytes
    /// at once waits for the first); then the kept one is locked and its
    /// count raised. Both arrivals count, whichever node saw them.
    fn quarantine(&self, fresh: &QuarantineEntry, mail: &[u8]) -> Result<QuarantineEntry> {
        let what = "quarantine a message";
        let id = fresh.id.as_bytes();
        let json = json_text(KIND, fresh)?;
        let received = fresh.received.to_rfc3339();
        self.rt.block_on(async {
            let mut client = self.client(what).await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let inserted = tx
                .query(
                    "INSERT INTO quarantine (id, received, record) \
                     VALUES ($1, $2::text::timestamptz, $3::text::json) \
                     ON CONFLICT (id) DO NOTHING RETURNING id",
                    &[&id, &received, &json],
                )
                .await
                .map_err(failed(what))?;
            let entry = if inserted.is_empty() {
                let rows = tx
                    .query(
                        "SELECT record::text FROM quarantine WHERE id = $1 FOR UPDATE",
                        &[&id],
                    )
                    .await
                    .map_err(failed(what))?;
                let mut kept = match rows.first() {
                    Some(row) => record(what, KIND, row)?,
                    // Not reachable: a conflict means the row is there,
                    // and nothing deletes quarantine rows.
                    None => fresh.clone(),
                };
                kept.arrivals = kept.arrivals.saturating_add(1);
                tx.execute(
                    "UPDATE quarantine SET record = $2::text::json WHERE id = $1",
                    &[&id, &json_text(KIND, &kept)?],
                )
                .await
                .map_err(failed(what))?;
                kept
            } else {
                fresh.clone()
            };
            tx.execute(
                "INSERT INTO quarantine_raw (id, raw) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET raw = EXCLUDED.raw",
                &[&id, &mail],
            )
            .await
            .map_err(failed(what))?;
            tx.commit().await.map_err(failed(what))?;
            Ok(entry)
        })
    }

    fn quarantined(&self) -> Result<Vec<QuarantineEntry>> {
        let what = "read quarantine";
        let rows = self.rows(what, "SELECT record::text FROM quarantine", &[])?;
        records(what, KIND, &rows)
    }

    fn quarantined_entry(&self, id: &str) -> Result<Option<(QuarantineEntry, Vec<u8>)>> {
        let what = "read quarantine";
        let rows = self.rows(
            what,
            "SELECT q.record::text, r.raw FROM quarantine q \
             LEFT JOIN quarantine_raw r ON r.id = q.id WHERE q.id = $1",
            &[&id.as_bytes()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let raw: Option<Vec<u8>> = row.try_get(1).map_err(failed(what))?;
        Ok(Some((record(what, KIND, row)?, raw.unwrap_or_default())))
    }

    fn quarantine_len(&self) -> Result<usize> {
        let n: Option<i64> = self.one(
            "count the quarantine",
            "SELECT count(*) FROM quarantine",
            &[],
        )?;
        Ok(usize::try_from(n.unwrap_or(0)).unwrap_or(0))
    }
}
