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
    /// claim of another node (a node silent for two lease TTLs holds none,
    /// [`crate::pg::Settings::silent_ms`]) are locked (skipping rows a claimer holds
    /// this instant) and claimed for `node`.
    fn claim_in_flight(&self, _now: DateTime<Utc>, node: &str) -> Result<Vec<Entry>> {
        let what = "claim outgoing mail left in flight";
        let rows = self.rows(
            what,
            "WITH stuck AS (SELECT id FROM outbox WHERE state = 'queued' \
               AND coalesce((record->>'in_flight')::bool, false) \
               AND (claim_until IS NULL OR claim_until <= now() OR claimed_by = $1 \
               OR EXISTS (SELECT 1 FROM nodes n WHERE n.id = outbox.claimed_by \
               AND n.seen < now() - $3::bigint * interval '1 millisecond')) \
               FOR UPDATE SKIP LOCKED) \
             UPDATE outbox o SET claimed_by = $1, \
               claim_until = now() + $2::bigint * interval '1 millisecond' \
             FROM stuck WHERE o.id = stuck.id \
             RETURNING o.record::text",
            &[
                &node,
                &CLAIM_FOR.num_milliseconds(),
                &self.settings.silent_ms(),
            ],
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
        self.update_where(
            "outbox update under a claim",
            changes,
            "outbox.claimed_by = $7",
            Some(node),
        )
    }

    /// `update_outbox`'s one statement, on the rows whose record is still
    /// the one read (compared as `jsonb`) and that no live claim holds.
    fn update_unchanged(&self, changes: &[(Entry, Entry)]) -> Result<Vec<u64>> {
        self.update_where(
            "outbox update of unchanged mail",
            changes,
            "outbox.record::jsonb = u.old::jsonb \
             AND (outbox.claim_until IS NULL OR outbox.claim_until <= now())",
            None,
        )
    }
}

impl PgEngine {
    /// `update_outbox`'s statement with a further condition on each row
    /// (`$7` is `node`, when given; `u.old` the record as read).
    fn update_where(
        &self,
        what: &'static str,
        changes: &[(Entry, Entry)],
        condition: &str,
        node: Option<&str>,
    ) -> Result<Vec<u64>> {
        let mut last: std::collections::BTreeMap<u64, (&Entry, &Entry)> = Default::default();
        for (old, new) in changes {
            last.insert(new.id, (old, new));
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
        let mut olds = Vec::with_capacity(last.len());
        for (old, e) in last.values() {
            ids.push(to_i64("outbox entry", e.id)?);
            states.push(e.state.to_string());
            due.push(e.next_attempt.timestamp_millis());
            tickets.push(e.ticket.as_deref().map(column_text));
            records.push(json_text("outbox entry", e)?);
            in_flight.push(e.in_flight);
            olds.push(json_text("outbox entry", old)?);
        }
        let sql = format!(
            "UPDATE outbox SET state = u.state, \
               next_attempt = to_timestamp(0) + u.due * interval '1 millisecond', \
               ticket = u.ticket, record = u.record::json, \
               claimed_by = CASE WHEN u.in_flight THEN outbox.claimed_by END, \
               claim_until = CASE WHEN u.in_flight THEN outbox.claim_until END \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
               $6::bool[], {old}) AS u(id, state, due, ticket, record, in_flight, old) \
             WHERE outbox.id = u.id AND {condition} \
             RETURNING outbox.id",
            old = if node.is_some() {
                "$8::text[]"
            } else {
                "$7::text[]"
            },
        );
        let rows = match node {
            Some(node) => self.rows(
                what,
                &sql,
                &[
                    &ids, &states, &due, &tickets, &records, &in_flight, &node, &olds,
                ],
            )?,
            None => self.rows(
                what,
                &sql,
                &[&ids, &states, &due, &tickets, &records, &in_flight, &olds],
            )?,
        };
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
