//! [`Privacy`] over the tables: an erasure as one SQL transaction, the
//! records in `erasures`.
//!
//! PostgreSQL keeps the old versions of updated and deleted rows (dead
//! tuples, and their TOASTed mail) in the table files until VACUUM prunes
//! them, and a plain `VACUUM` (autovacuum's) only makes their space
//! reusable: the bytes stay until overwritten. So once the erasure is
//! written, and the mail dictionary replaced and every row re-packed by
//! the facade ([`super::dictionaries`], schema V8), [`Privacy::reclaim`]
//! runs `VACUUM (FULL, ANALYZE)` on the tables those write: each is
//! copied with its live rows only and the old files are emptied, the
//! counterpart of sled's offline rewrite; ANALYZE replaces the planner's
//! statistics of them, whose most common values may be the person's
//! address. It first waits for every snapshot older than the erasure to
//! end, since VACUUM FULL keeps what one may still see
//! ([`wait_for_older_snapshots`]). It holds an exclusive lock on each
//! table while it copies it, so every node's intake waits meanwhile (on
//! sled the daemon pauses intake for its rewrite too). What it does not
//! reach: the old statistics rows stay in the `pg_statistic` catalog as
//! dead tuples until autovacuum prunes it (postdesk does not own it), the
//! WAL holds the old rows until its segments are recycled, and base
//! backups and WAL archives until they expire.

use tokio_postgres::types::ToSql;

use super::{corrupt, failed, PgEngine, Result};
use crate::store::engine::Privacy;
use crate::store::{Erasure, ErasureRecord, StoreError};

/// The tables an erasure, or the re-pack after it, changes rows of: what
/// [`Privacy::reclaim`] rewrites. `erasures` only gains rows; `cursors`,
/// `nodes`, `leases` and `lease_takings` hold no one's mail.
const RECLAIMED: [&str; 11] = [
    "tickets",
    "messages",
    "msgids",
    "customers",
    "outbox",
    "guard",
    "notified",
    "quarantine",
    "quarantine_raw",
    "meta",
    "mail_dicts",
];

/// How long [`Privacy::reclaim`] waits for transactions older than the
/// erasure to end: as long as a statement waits for a lock.
const OLDER_SNAPSHOTS_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until no other session of this database (nor a replication slot
/// or a standby's feedback) holds a snapshot older than now, that is,
/// from before the erasure and the re-pack committed. `VACUUM FULL` copies
/// every row version such a snapshot may still see, the erased ones among
/// them; autovacuum's ANALYZE right after an import is one. Gives up
/// after [`OLDER_SNAPSHOTS_WAIT`], naming who holds them.
async fn wait_for_older_snapshots(
    client: &tokio_postgres::Client,
    what: &'static str,
) -> Result<()> {
    let now: String = client
        .query_one("SELECT pg_snapshot_xmax(pg_current_snapshot())::text", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(failed(what))?;
    let deadline = std::time::Instant::now() + OLDER_SNAPSHOTS_WAIT;
    loop {
        let holders: Vec<String> = client
            .query(
                "SELECT COALESCE(backend_type, 'session') || ' ' || pid FROM pg_stat_activity \
                 WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL \
                 AND (datname = current_database() OR datname IS NULL) \
                 AND age(backend_xmin) > age($1::text::xid8::xid) \
                 UNION ALL SELECT 'replication slot ' || slot_name FROM pg_replication_slots \
                 WHERE xmin IS NOT NULL AND age(xmin) > age($1::text::xid8::xid)",
                &[&now],
            )
            .await
            .map_err(failed(what))?
            .iter()
            .filter_map(|r| r.try_get(0).ok())
            .collect();
        if holders.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(StoreError::Pg {
                what,
                detail: format!(
                    "{} still see the rows from before the erasure, and VACUUM FULL would keep them",
                    holders.join(", ")
                ),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The text columns cannot hold NUL; the record beside them does.
fn column_text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

fn number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_json<T: serde::Serialize>(what: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(corrupt(what))
}

/// The bytes after `notice/NAME/` when a `meta` key is a notice given to
/// `address`: the notice's name.
fn notice_name<'a>(key: &'a [u8], address: &str) -> Option<&'a [u8]> {
    key.strip_prefix(b"notice/")?
        .strip_suffix(format!("/{address}").as_bytes())
}

impl Privacy for PgEngine {
    /// One SQL transaction, after intake's advisory lock (so no decision
    /// commits in between), arrays through `unnest` rather than a
    /// statement a row. The outbox rows are locked and read inside it:
    /// the worker may have moved one since the erasure was planned.
    fn apply_erasure(&self, e: &Erasure) -> Result<()> {
        let what = "write an erasure";
        // Tickets as their columns: number, status, queue, assignee,
        // requester, created, updated (whole ms), deadline, record.
        let mut t_number = Vec::new();
        let mut t_status = Vec::new();
        let mut t_queue = Vec::new();
        let mut t_assignee: Vec<Option<String>> = Vec::new();
        let mut t_requester = Vec::new();
        let mut t_created = Vec::new();
        let mut t_updated = Vec::new();
        let mut t_due: Vec<Option<String>> = Vec::new();
        let mut t_record = Vec::new();
        let mut t_summary = Vec::new();
        let mut t_summary_of = Vec::new();
        for t in &e.tickets {
            t_number.push(number(t.number));
            t_status.push(t.status.as_str().to_string());
            t_queue.push(column_text(&t.queue));
            t_assignee.push(
                t.assignee
                    .as_deref()
                    .map(|a| column_text(&a.trim().to_lowercase())),
            );
            t_requester.push(column_text(&t.requester.email.trim().to_lowercase()));
            t_created.push(t.created.to_rfc3339());
            t_updated.push(crate::pg::rows::updated_column(t.updated).to_rfc3339());
            t_due.push(t.timer_due.map(|d| d.to_rfc3339()));
            let record = to_json("ticket", t)?;
            t_summary_of.push(crate::pg::rows::summary_of(record.as_bytes()));
            t_record.push(record);
            t_summary.push(crate::report::Summary::of(t).encode());
        }
        let (mut m_ticket, mut m_seq, mut m_record, mut m_raw, mut m_dict) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let codec = self.codec();
        for (m, raw) in &e.messages {
            m_ticket.push(number(m.ticket));
            m_seq.push(i64::from(m.seq));
            m_record.push(to_json("message", m)?);
            // Packed as intake packs (schema V6, V8); the re-pack that
            // follows the erasure moves them to the new dictionary.
            let (packed, dict) = crate::pg::mail::pack(&codec, raw);
            m_raw.push(packed);
            m_dict.push(dict);
        }
        // As the guard and notice keys hold addresses (the customer index
        // holds them as the erasure gives them).
        let address = e.address.trim().to_ascii_lowercase();
        let pseudonym = e.pseudonym.trim().to_ascii_lowercase();
        let mark = to_json("address mark", &e.mark)?;
        let record = to_json("erasure record", &e.record)?;
        let conversations: Vec<i64> = e.conversations_of.iter().map(|n| number(*n)).collect();
        let quarantine: Vec<Vec<u8>> = e
            .quarantine
            .iter()
            .map(|id| id.as_bytes().to_vec())
            .collect();
        let outbox_ids: Vec<i64> = e.outbox.iter().map(|(_, new)| number(new.id)).collect();

        let done = self.rt.block_on(async {
            let mut client =
                self.settings
                    .connection(&self.pool)
                    .await
                    .map_err(|err| StoreError::Pg {
                        what,
                        detail: err.to_string(),
                    })?;
            let tx = client.transaction().await.map_err(failed(what))?;
            tx.execute("SELECT pg_advisory_xact_lock(20)", &[])
                .await
                .map_err(failed(what))?;
            let tickets: [&(dyn ToSql + Sync); 11] = [
                &t_number,
                &t_status,
                &t_queue,
                &t_assignee,
                &t_requester,
                &t_created,
                &t_updated,
                &t_due,
                &t_record,
                &t_summary,
                &t_summary_of,
            ];
            tx.execute(
                "INSERT INTO tickets (number, status, queue, assignee, requester, created, \
                     updated, timer_due, record, summary, summary_of) \
                     SELECT n, s, q, a, r, c::timestamptz, u::timestamptz, \
                     date_trunc('milliseconds', d::timestamptz), j::json, m, o \
                     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                     $6::text[], $7::text[], $8::text[], $9::text[], $10::bytea[], \
                     $11::bytea[]) AS x(n, s, q, a, r, c, u, d, j, m, o) \
                     ON CONFLICT (number) DO UPDATE SET status = EXCLUDED.status, \
                     queue = EXCLUDED.queue, assignee = EXCLUDED.assignee, \
                     requester = EXCLUDED.requester, created = EXCLUDED.created, \
                     updated = EXCLUDED.updated, timer_due = EXCLUDED.timer_due, \
                     record = EXCLUDED.record, summary = EXCLUDED.summary, \
                     summary_of = EXCLUDED.summary_of",
                &tickets,
            )
            .await
            .map_err(failed(what))?;
            tx.execute(
                "INSERT INTO messages (ticket, seq, record, raw, packed, dict) \
                 SELECT t, s, j::json, r, true, d FROM unnest($1::bigint[], $2::bigint[], \
                 $3::text[], $4::bytea[], $5::bigint[]) AS x(t, s, j, r, d) \
                 ON CONFLICT (ticket, seq) DO UPDATE SET record = EXCLUDED.record, \
                 raw = EXCLUDED.raw, packed = EXCLUDED.packed, dict = EXCLUDED.dict",
                &[&m_ticket, &m_seq, &m_record, &m_raw, &m_dict],
            )
            .await
            .map_err(failed(what))?;
            // The customer index, under the pseudonym from now on.
            tx.execute(
                "INSERT INTO customers (email, ticket) SELECT $2, ticket FROM customers \
                 WHERE email = $1 ON CONFLICT DO NOTHING",
                &[&e.address.as_bytes(), &e.pseudonym.as_bytes()],
            )
            .await
            .map_err(failed(what))?;
            tx.execute(
                "DELETE FROM customers WHERE email = $1",
                &[&e.address.as_bytes()],
            )
            .await
            .map_err(failed(what))?;
            // Outbox entries as they stand now, scrubbed; their mail goes.
            let current = tx
                .query(
                    "SELECT id, record::text FROM outbox WHERE id = ANY($1) FOR UPDATE",
                    &[&outbox_ids],
                )
                .await
                .map_err(failed(what))?;
            let mut stood = std::collections::HashMap::new();
            for row in &current {
                let id: i64 = row.try_get(0).map_err(failed(what))?;
                let json: String = row.try_get(1).map_err(failed(what))?;
                if let Ok(entry) = serde_json::from_str::<crate::outbox::Entry>(&json) {
                    stood.insert(id, entry);
                }
            }
            let (mut o_id, mut o_state, mut o_next, mut o_ticket, mut o_record) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (_, planned) in &e.outbox {
                let id = number(planned.id);
                let entry = match stood.remove(&id) {
                    Some(mut current) => {
                        crate::privacy::scrub_entry(&mut current, &e.address, &e.pseudonym);
                        current
                    }
                    None => planned.clone(),
                };
                o_id.push(id);
                o_state.push(entry.state.to_string());
                o_next.push(entry.next_attempt.to_rfc3339());
                o_ticket.push(entry.ticket.as_deref().map(column_text));
                o_record.push(to_json("outbox entry", &entry)?);
            }
            tx.execute(
                "INSERT INTO outbox (id, state, next_attempt, ticket, record, body, packed) \
                 SELECT i, s, n::timestamptz, t, j::json, '\\x'::bytea, false \
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) \
                 AS x(i, s, n, t, j) \
                 ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, \
                 next_attempt = EXCLUDED.next_attempt, ticket = EXCLUDED.ticket, \
                 record = EXCLUDED.record, body = EXCLUDED.body, packed = EXCLUDED.packed",
                &[&o_id, &o_state, &o_next, &o_ticket, &o_record],
            )
            .await
            .map_err(failed(what))?;
            // Bounce mark and caps: kept (the numbers), under the pseudonym.
            tx.execute(
                "DELETE FROM guard WHERE kind = 'mark' AND email = $1",
                &[&address.as_bytes()],
            )
            .await
            .map_err(failed(what))?;
            tx.execute(
                "INSERT INTO guard (kind, email, record) VALUES ('mark', $1, $2::text::json) \
                 ON CONFLICT (kind, email) DO UPDATE SET record = EXCLUDED.record",
                &[&pseudonym.as_bytes(), &mark],
            )
            .await
            .map_err(failed(what))?;
            tx.execute(
                "INSERT INTO guard (kind, email, record) SELECT 'sent', $2, record FROM guard \
                 WHERE kind = 'sent' AND email = $1 \
                 ON CONFLICT (kind, email) DO UPDATE SET record = EXCLUDED.record",
                &[&address.as_bytes(), &pseudonym.as_bytes()],
            )
            .await
            .map_err(failed(what))?;
            tx.execute(
                "DELETE FROM guard WHERE kind = 'sent' AND email = $1",
                &[&address.as_bytes()],
            )
            .await
            .map_err(failed(what))?;
            for table in ["quarantine", "quarantine_raw"] {
                let sql = format!("DELETE FROM {table} WHERE id = ANY($1)");
                tx.execute(&sql, &[&quarantine])
                    .await
                    .map_err(failed(what))?;
            }
            // Notices given to them (`notice/NAME/ADDRESS` in meta): a
            // range of the key, the address matched here.
            let notices = tx
                .query(
                    "SELECT key, value FROM meta WHERE key >= $1 AND key < $2",
                    &[&&b"notice/"[..], &&b"notice0"[..]],
                )
                .await
                .map_err(failed(what))?;
            let (mut old_keys, mut new_keys, mut values) = (Vec::new(), Vec::new(), Vec::new());
            for row in &notices {
                let key: Vec<u8> = row.try_get(0).map_err(failed(what))?;
                let value: Vec<u8> = row.try_get(1).map_err(failed(what))?;
                if let Some(name) = notice_name(&key, &address) {
                    let name = String::from_utf8_lossy(name);
                    new_keys.push(crate::store::notice_key(&name, &pseudonym).into_bytes());
                    values.push(value);
                    old_keys.push(key);
                }
            }
            tx.execute("DELETE FROM meta WHERE key = ANY($1)", &[&old_keys])
                .await
                .map_err(failed(what))?;
            tx.execute(
                "INSERT INTO meta (key, value) SELECT k, v FROM unnest($1::bytea[], $2::bytea[]) \
                 AS x(k, v) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&new_keys, &values],
            )
            .await
            .map_err(failed(what))?;
            // Outlook conversation keys name the subject: they go.
            tx.execute(
                "DELETE FROM msgids WHERE kind = 'conversation' AND ticket = ANY($1)",
                &[&conversations],
            )
            .await
            .map_err(failed(what))?;
            tx.execute(
                "INSERT INTO erasures (pseudonym, at, record) \
                 VALUES ($1, $2::text::timestamptz, $3::text::json) \
                 ON CONFLICT (pseudonym, at) DO UPDATE SET record = EXCLUDED.record",
                &[&e.pseudonym, &e.record.at.to_rfc3339(), &record],
            )
            .await
            .map_err(failed(what))?;
            tx.commit().await.map_err(failed(what))
        });
        // What this node's turn had read may be old now.
        self.forget_reads();
        done
    }

    fn reclaim(&self) -> Result<Option<u64>> {
        let what = "rewrite the tables after an erasure (VACUUM FULL)";
        let held = self.rt.block_on(async {
            let client = self.client(what).await?;
            wait_for_older_snapshots(&client, what).await?;
            // One statement, outside a transaction (VACUUM cannot run in
            // one); the table names are this file's constants.
            client
                .batch_execute(&format!("VACUUM (FULL, ANALYZE) {}", RECLAIMED.join(", ")))
                .await
                .map_err(failed(what))?;
            let tables: Vec<&str> = RECLAIMED.to_vec();
            let row = client
                .query_one(
                    "SELECT COALESCE(sum(GREATEST(reltuples, 0)), 0)::bigint FROM pg_class \
                     WHERE oid = ANY($1::text[]::regclass[])",
                    &[&tables],
                )
                .await
                .map_err(failed(what))?;
            row.try_get::<_, i64>(0).map_err(failed(what))
        })?;
        Ok(Some(u64::try_from(held).unwrap_or(0)))
    }

    fn erasures(&self) -> Result<Vec<ErasureRecord>> {
        self.rows(
            "read erasures",
            "SELECT record::text FROM erasures ORDER BY at, pseudonym COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|row| {
            let json: String = row.try_get(0).map_err(failed("read erasures"))?;
            serde_json::from_str(&json).map_err(corrupt("erasure record"))
        })
        .collect()
    }

    fn erasure(&self, pseudonym: &str) -> Result<Option<ErasureRecord>> {
        let pseudonym = pseudonym.trim().to_ascii_lowercase();
        let json: Option<String> = self.one(
            "read erasures",
            "SELECT record::text FROM erasures WHERE pseudonym = $1 ORDER BY at DESC LIMIT 1",
            &[&pseudonym],
        )?;
        json.map(|j| serde_json::from_str(&j).map_err(corrupt("erasure record")))
            .transpose()
    }
}
