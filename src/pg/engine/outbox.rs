//! The outbox primitives over the `outbox` table: queued entries by the
//! `outbox_due` index (next attempt in whole milliseconds, then id, as
//! sled's `outq` orders them), mail in `body` as `packed` says (schema
//! V7, [`crate::pg::mail`]), and claims for several senders (schema V2).

use chrono::{DateTime, Utc};

use super::{failed, json_text, record, records, to_i64, PgEngine, Result};
use crate::outbox::Entry;
use crate::pg::decode;
use crate::store::engine::outbox::{still_planned, Outbox, CLAIM_FOR};
use crate::store::StoreError;

/// The due condition on `$1` (the caller's now, in milliseconds): due
/// times are whole milliseconds (V2), so this is sled's `..=now` range.
const DUE: &str = "state = 'queued' \
                   AND next_attempt <= to_timestamp(0) + $1::bigint * interval '1 millisecond'";

/// An entry's record (column 0) and its mail (column 1, as `packed`,
/// column 2, says: schema V7).
fn with_body(what: &'static str, row: &tokio_postgres::Row) -> Result<(Entry, Vec<u8>)> {
    let body: Vec<u8> = row.try_get(1).map_err(failed(what))?;
    let packed: bool = row.try_get(2).map_err(failed(what))?;
    let body = crate::pg::mail::unpack(&crate::pg::mail::plain(), body, packed).map_err(|e| {
        StoreError::Corrupt {
            what: "outbox mail",
            detail: e.to_string(),
        }
    })?;
    Ok((record(what, KIND, row)?, body))
}

/// What an unreadable record is said to be.
const KIND: &str = "outbox entry";

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Text beside a record is for finding it: PostgreSQL's text cannot hold
/// NUL (as in [`crate::pg::rows`]).
fn column_text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

impl Outbox for PgEngine {
    fn outbox_len(&self) -> Result<usize> {
        let n: Option<i64> = self.one(
            "count the outbox queue",
            "SELECT count(*) FROM outbox WHERE state = 'queued'",
            &[],
        )?;
        Ok(usize::try_from(n.unwrap_or(0)).unwrap_or(0))
    }

    fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<(Entry, Vec<u8>)>> {
        let what = "read the outbox queue";
        let sql = format!(
            "SELECT record::text, body, packed FROM outbox WHERE {DUE} \
             ORDER BY next_attempt, id LIMIT $2"
        );
        self.rows(what, &sql, &[&now.timestamp_millis(), &limit_of(limit)])?
            .iter()
            .map(|r| with_body(what, r))
            .collect()
    }

    /// One statement: the due entries no other node holds a live claim on
    /// are locked, skipping any another claimer has locked this instant
    /// (`SKIP LOCKED`), and marked claimed by `node` in the same
    /// transaction. A claimer that finds a row already locked skips it; one
    /// that gets it after the other committed sees the new claim and drops
    /// it. A node may take its own claims again (a batch it did not send),
    /// and those of a node silent for two lease TTLs (dead: a live node
    /// says so every third of its lease TTL; 30 s by default,
    /// [`crate::pg::Settings::silent_ms`]), so a dead node's mail waits
    /// seconds, not its claim's 15 minutes.
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        node: &str,
    ) -> Result<Vec<(Entry, Vec<u8>)>> {
        let what = "claim due outgoing mail";
        let sql = format!(
            "WITH due AS (SELECT id FROM outbox WHERE {DUE} \
               AND (claim_until IS NULL OR claim_until <= now() OR claimed_by = $3 \
               OR EXISTS (SELECT 1 FROM nodes n WHERE n.id = outbox.claimed_by \
               AND n.seen < now() - $5::bigint * interval '1 millisecond')) \
               ORDER BY next_attempt, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox o SET claimed_by = $3, \
               claim_until = now() + $4::bigint * interval '1 millisecond' \
             FROM due WHERE o.id = due.id \
             RETURNING o.record::text, o.body, o.packed, o.id"
        );
        let mut claimed = self
            .rows(
                what,
                &sql,
                &[
                    &now.timestamp_millis(),
                    &limit_of(limit),
                    &node,
                    &CLAIM_FOR.num_milliseconds(),
                    &self.settings.silent_ms(),
                ],
            )?
            .iter()
            .map(|r| with_body(what, r))
            .collect::<Result<Vec<_>>>()?;
        // RETURNING has no order: the queue's.
        claimed.sort_by_key(|(e, _)| (e.next_attempt.timestamp_millis(), e.id));
        Ok(claimed)
    }

    fn queued_outbox(&self) -> Result<Vec<Entry>> {
        let what = "read the outbox queue";
        let rows = self.rows(
            what,
            "SELECT record::text FROM outbox WHERE state = 'queued' ORDER BY next_attempt, id",
            &[],
        )?;
        records(what, KIND, &rows)
    }

    fn outbox_entry(&self, id: u64) -> Result<Option<(Entry, Vec<u8>)>> {
        let what = "read the outbox";
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        self.rows(
            what,
            "SELECT record::text, body, packed FROM outbox WHERE id = $1",
            &[&id],
        )?
        .first()
        .map(|r| with_body(what, r))
        .transpose()
    }

    fn outbox_entries(&self) -> Result<Vec<Entry>> {
        let what = "read the outbox";
        let rows = self.rows(what, "SELECT record::text FROM outbox ORDER BY id", &[])?;
        records(what, KIND, &rows)
    }

    /// The stored entries are locked and checked ([`still_planned`]) and
    /// the built ones written in one transaction, one statement for all.
    fn store_built(&self, built: &[(Entry, Vec<u8>)]) -> Result<Vec<u64>> {
        let what = "store built mail";
        if built.is_empty() {
            return Ok(Vec::new());
        }
        let ids = built
            .iter()
            .map(|(e, _)| to_i64("outbox entry", e.id))
            .collect::<Result<Vec<i64>>>()?;
        let records = built
            .iter()
            .map(|(e, _)| json_text("outbox entry", e))
            .collect::<Result<Vec<String>>>()?;
        self.rt.block_on(async {
            let mut client = self.client(what).await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let rows = tx
                .query(
                    "SELECT id, record::text FROM outbox WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                    &[&ids],
                )
                .await
                .map_err(failed(what))?;
            // An unreadable stored entry is not replaced, as on sled.
            let stored: std::collections::HashMap<i64, Entry> =
                decode::each(&rows, |(id, record): (i64, &str)| {
                    serde_json::from_str::<Entry>(record).ok().map(|e| (id, e))
                })
                .map_err(failed(what))?
                .into_iter()
                .flatten()
                .collect();
            let (mut up_ids, mut up_records, mut up_bodies) = (Vec::new(), Vec::new(), Vec::new());
            let mut replaced = Vec::new();
            for (((e, body), id), record) in built.iter().zip(&ids).zip(&records) {
                if stored.get(id).is_some_and(|s| still_planned(s, e)) {
                    up_ids.push(*id);
                    up_records.push(record.as_str());
                    up_bodies.push(crate::pg::mail::pack(&crate::pg::mail::plain(), body).0);
                    replaced.push(e.id);
                }
            }
            if !up_ids.is_empty() {
                tx.execute(
                    "UPDATE outbox SET record = u.record::json, body = u.body, packed = true \
                     FROM unnest($1::bigint[], $2::text[], $3::bytea[]) AS u(id, record, body) \
                     WHERE outbox.id = u.id",
                    &[&up_ids, &up_records, &up_bodies],
                )
                .await
                .map_err(failed(what))?;
            }
            tx.commit().await.map_err(failed(what))?;
            Ok(replaced)
        })
    }

    /// One statement for all the changes (the last of several for one id
    /// wins, as on sled). The mail is not touched. The claim ends unless
    /// the entry is now in flight: its sender marks it so before sending
    /// and must keep it until the result is recorded.
    fn update_outbox(&self, changes: &[(Entry, Entry)]) -> Result<()> {
        let what = "outbox update";
        let mut last: std::collections::BTreeMap<u64, &Entry> = Default::default();
        for (_, new) in changes {
            last.insert(new.id, new);
        }
        if last.is_empty() {
            return Ok(());
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
        self.rows(
            what,
            "UPDATE outbox SET state = u.state, \
               next_attempt = to_timestamp(0) + u.due * interval '1 millisecond', \
               ticket = u.ticket, record = u.record::json, \
               claimed_by = CASE WHEN u.in_flight THEN outbox.claimed_by END, \
               claim_until = CASE WHEN u.in_flight THEN outbox.claim_until END \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
               $6::bool[]) AS u(id, state, due, ticket, record, in_flight) \
             WHERE outbox.id = u.id",
            &[&ids, &states, &due, &tickets, &records, &in_flight],
        )?;
        Ok(())
    }
}
