//! Claims on PostgreSQL: the outbox rows' `claimed_by` / `claim_until`
//! (schema V2) decide which node may recover or record an entry.

use chrono::{DateTime, Utc};

use super::{corrupt, failed, json_text, to_i64, PgEngine, Result};
use crate::outbox::Entry;
use crate::store::engine::outbox::CLAIM_FOR;
use crate::store::engine::Claims;

/// Text beside a record is for finding it: PostgreSQL's text cannot hold
/// NUL (as in [`crate::pg::rows`]).
fn column_text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

impl Claims for PgEngine {
    /// One statement, as `claim_due`: in-flight queued rows with no live
    /// claim of another node are locked (skipping rows a claimer holds
    /// this instant) and claimed for `node`.
    fn claim_in_flight(&self, _now: DateTime<Utc>, node: &str) -> Result<Vec<Entry>> {
        let what = "claim outgoing mail left in flight";
        let rows = self.rows(
            what,
            "WITH stuck AS (SELECT id FROM outbox WHERE state = 'queued' \
               AND coalesce((record->>'in_flight')::bool, false) \
               AND (claim_until IS NULL OR claim_until <= now() OR claimed_by = $1) \
               FOR UPDATE SKIP LOCKED) \
             UPDATE outbox o SET claimed_by = $1, \
               claim_until = now() + $2::bigint * interval '1 millisecond' \
             FROM stuck WHERE o.id = stuck.id \
             RETURNING o.record::text",
            &[&node, &CLAIM_FOR.num_milliseconds()],
        )?;
        let mut out = rows
            .iter()
            .map(|r| {
                let record: String = r.try_get(0).map_err(failed(what))?;
                serde_json::from_str::<Entry>(&record).map_err(corrupt("outbox entry"))
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|e| (e.next_attempt.timestamp_millis(), e.id));
        Ok(out)
    }

    /// `update_outbox`'s one statement, on the rows `node` still holds:
    /// a row another node claimed since is not written.
    fn update_claimed(&self, changes: &[(Entry, Entry)], node: &str) -> Result<Vec<u64>> {
        let what = "outbox update under a claim";
        let mut last: std::collections::BTreeMap<u64, &Entry> = Default::default();
        for (_, new) in changes {
            last.insert(new.id, new);
        }
        if last.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(last.len());
        let mut states = Vec::with_capacity(last.len());
        let mut due = Vec::with_capacity(last.len());
        let mut tickets = Vec::with_capacity(last.len());
        let mut records = Vec::with_capacity(last.len());
        let mut in_flight = Vec::with_capacity(last.len());
        for e in last.values() {
            ids.push(to_i64("outbox entry", e.id)?);
            states.push(e.state.to_string());
            due.push(e.next_attempt.timestamp_millis());
            tickets.push(e.ticket.as_deref().map(column_text));
            records.push(json_text("outbox entry", e)?);
            in_flight.push(e.in_flight);
        }
        let rows = self.rows(
            what,
            "UPDATE outbox SET state = u.state, \
               next_attempt = to_timestamp(0) + u.due * interval '1 millisecond', \
               ticket = u.ticket, record = u.record::json, \
               claimed_by = CASE WHEN u.in_flight THEN outbox.claimed_by END, \
               claim_until = CASE WHEN u.in_flight THEN outbox.claim_until END \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
               $6::bool[]) AS u(id, state, due, ticket, record, in_flight) \
             WHERE outbox.id = u.id AND outbox.claimed_by = $7 \
             RETURNING outbox.id",
            &[&ids, &states, &due, &tickets, &records, &in_flight, &node],
        )?;
        let mut written = rows
            .iter()
            .map(|r| {
                let id: i64 = r.try_get(0).map_err(failed(what))?;
                Ok(u64::try_from(id).unwrap_or_default())
            })
            .collect::<Result<Vec<u64>>>()?;
        written.sort_unstable();
        Ok(written)
    }
}
