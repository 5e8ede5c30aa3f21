//! Timers over `tickets.timer_due` (whole milliseconds since V2) with the
//! V2 claim columns; the intake write of a ticket ends its claim.

use chrono::{DateTime, Utc};

use super::{failed, PgEngine, Result};
use crate::store::engine::outbox::CLAIM_FOR;
use crate::store::engine::Timers;

impl Timers for PgEngine {
    /// One statement, as the outbox's claim: due tickets no other node
    /// holds are locked (`SKIP LOCKED`: not waited for) and claimed in the
    /// same transaction.
    fn claim_due_tickets(&self, now: DateTime<Utc>, limit: usize, node: &str) -> Result<Vec<u64>> {
        let what = "claim due tickets";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.rows(
            what,
            "WITH due AS (SELECT number FROM tickets \
               WHERE timer_due <= to_timestamp(0) + $1::bigint * interval '1 millisecond' \
               AND (timer_claim_until IS NULL OR timer_claim_until <= now() \
                    OR timer_claimed_by = $3) \
               ORDER BY timer_due, number LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE tickets t SET timer_claimed_by = $3, \
               timer_claim_until = now() + $4::bigint * interval '1 millisecond' \
             FROM due WHERE t.number = due.number \
             RETURNING t.number, floor(extract(epoch FROM t.timer_due) * 1000)::bigint",
            &[
                &now.timestamp_millis(),
                &limit,
                &node,
                &CLAIM_FOR.num_milliseconds(),
            ],
        )?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let number: i64 = row.try_get(0).map_err(failed(what))?;
            let due: Option<i64> = row.try_get(1).map_err(failed(what))?;
            claimed.push((due.unwrap_or(0), number.max(0) as u64));
        }
        // RETURNING has no order: the deadlines'.
        claimed.sort_unstable();
        Ok(claimed.into_iter().map(|(_, n)| n).collect())
    }
}
