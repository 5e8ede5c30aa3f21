//! The intake primitives over the V1 tables, and the one SQL transaction
//! that writes a staged set.

use chrono::{DateTime, Utc};

use super::{corrupt, failed, json_text, to_i64, PgEngine, Result};
use crate::bounce;
use crate::store::engine::Intake;
use crate::store::{IdEntry, IdKind, NoticeRecord, Staged, StoreError};
use crate::ticket::Ticket;

fn kind_of(s: &str) -> Option<IdKind> {
    Some(match s {
        "stored" => IdKind::Stored,
        "sent" => IdKind::Sent,
        "referenced" => IdKind::Referenced,
        "conversation" => IdKind::Conversation,
        _ => return None,
    })
}

impl Intake for PgEngine {
    fn id_entry(&self, key: &str) -> Result<Option<IdEntry>> {
        let rows = self.rows(
            "read the message-id index",
            "SELECT kind, ticket FROM msgids WHERE key = $1",
            &[&key.as_bytes()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let kind: String = row
            .try_get(0)
            .map_err(failed("read the message-id index"))?;
        let ticket: i64 = row
            .try_get(1)
            .map_err(failed("read the message-id index"))?;
        Ok(kind_of(&kind).map(|kind| IdEntry {
            kind,
            ticket: ticket.max(0) as u64,
        }))
    }

    /// Sled keeps a ticket's notification agent in the sent id's index
    /// entry, under the normalized id; the move writes every one as a
    /// `notified` row, so both spellings are looked up here.
    fn notified(&self, message_id: &str) -> Result<Option<String>> {
        let key = crate::mail::msgid::key(message_id);
        let rows = self.rows(
            "read notifications",
            "SELECT agent, ticket, seen FROM notified WHERE message_id = $1 OR message_id = $2 \
             ORDER BY message_id = $1 DESC LIMIT 1",
            &[&key.as_bytes(), &message_id.as_bytes()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let agent: String = row.try_get(0).map_err(failed("read notifications"))?;
        let ticket: Option<i64> = row.try_get(1).map_err(failed("read notifications"))?;
        let seen: Option<i64> = row.try_get(2).map_err(failed("read notifications"))?;
        Ok(Some(match ticket.zip(seen) {
            Some((t, n)) => format!("{agent} {t} {n}"),
            None => agent,
        }))
    }

    fn ticket(&self, number: u64) -> Result<Option<Ticket>> {
        let Ok(n) = i64::try_from(number) else {
            return Ok(None);
        };
        let record: Option<String> = self.one(
            "read a ticket",
            "SELECT record::text FROM tickets WHERE number = $1",
            &[&n],
        )?;
        record
            .map(|r| serde_json::from_str(&r).map_err(corrupt("ticket")))
            .transpose()
    }

    fn last_ticket(&self) -> Result<u64> {
        let n: Option<i64> = self.one(
            "read ticket numbers",
            "SELECT COALESCE(MAX(number), 0) FROM tickets",
            &[],
        )?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    fn last_outbox_id(&self) -> Result<u64> {
        let n: Option<i64> = self.one(
            "read outbox ids",
            "SELECT COALESCE(MAX(id), 0) FROM outbox",
            &[],
        )?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    fn counter(&self, name: &str) -> Result<Option<u64>> {
        Ok(self
            .meta(&format!("counter/{name}"))?
            .and_then(|v| Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))))
    }

    fn cursor(&self, source: &str) -> Result<Option<Vec<u8>>> {
        self.one(
            "read a cursor",
            "SELECT value FROM cursors WHERE source = $1",
            &[&source],
        )
    }

    fn notice(&self, notice: &str, email: &str) -> Result<Option<NoticeRecord>> {
        self.meta(&crate::store::notice_key(notice, email))?
            .map(|v| serde_json::from_slice(&v).map_err(corrupt("notice")))
            .transpose()
    }

    fn mark(&self, email: &str) -> Result<Option<bounce::Mark>> {
        self.guard("mark", email)?
            .map(|v| serde_json::from_str(&v).map_err(corrupt("address mark")))
            .transpose()
    }

    fn auto_sent(&self, email: &str) -> Result<Vec<DateTime<Utc>>> {
        let ms: Vec<i64> = match self.guard("sent", email)? {
            Some(v) => serde_json::from_str(&v).map_err(corrupt("automatic-mail count"))?,
            None => Vec::new(),
        };
        Ok(ms
            .into_iter()
            .filter_map(DateTime::from_timestamp_millis)
            .collect())
    }

    /// Deadlines are the tickets' `timer_due` column (indexed); times
    /// cross as whole milliseconds, as sled's keys hold them (floored), so
    /// both engines find the same tickets due at the same instant.
    fn due_tickets(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<u64>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.rows(
            "read timers",
            "SELECT number FROM tickets \
             WHERE timer_due < to_timestamp(0) + ($1::bigint + 1) * interval '1 millisecond' \
             ORDER BY timer_due, number LIMIT $2",
            &[&now.timestamp_millis(), &limit],
        )?;
        rows.iter()
            .map(|r| {
                r.try_get::<_, i64>(0)
                    .map(|n| n.max(0) as u64)
                    .map_err(failed("read timers"))
            })
            .collect()
    }

    fn next_timer(&self) -> Result<Option<DateTime<Utc>>> {
        let ms: Option<i64> = self.one(
            "read timers",
            "SELECT floor(extract(epoch FROM MIN(timer_due)) * 1000)::bigint FROM tickets",
            &[],
        )?;
        Ok(ms.and_then(DateTime::from_timestamp_millis))
    }

    /// One SQL transaction, all of the set or none of it. Commits of
    /// several nodes are serialized by a transaction-scoped advisory
    /// lock (cheap next to the writes; see src/store/ENGINE.md).
    fn write(&self, staged: &Staged) -> Result<()> {
        let what = "write a decision";
        let rows = Rows::of(staged)?;
        self.rt.block_on(async {
            let mut client =
                self.settings
                    .connection(&self.pool)
                    .await
                    .map_err(|e| StoreError::Pg {
                        what,
                        detail: e.to_string(),
                    })?;
            let tx = client.transaction().await.map_err(failed(what))?;
            rows.write(&tx).await.map_err(failed(what))?;
            tx.commit().await.map_err(failed(what))
        })
    }

    /// A committed transaction is durable (`synchronous_commit` on).
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// A staged set as the V1 tables take it, made before the transaction.
struct Rows<'a> {
    staged: &'a Staged,
    /// Tickets: number, status, queue, assignee, requester, created,
    /// updated, deadline (RFC 3339) and the record's JSON.
    tickets: Vec<TicketRow>,
    /// Messages with their mail unpacked: PostgreSQL compresses itself.
    messages: Vec<(i64, i64, String, Vec<u8>)>,
    outbox: Vec<OutboxRow>,
}

/// An outbox row: id, state, next attempt (RFC 3339), ticket reference,
/// the entry's JSON and its mail.
struct OutboxRow {
    id: i64,
    state: String,
    next_attempt: String,
    ticket: Option<String>,
    record: String,
    body: Vec<u8>,
}

struct TicketRow {
    number: i64,
    status: String,
    queue: String,
    assignee: Option<String>,
    requester: String,
    created: String,
    updated: String,
    timer_due: Option<String>,
    record: String,
    /// The report summary ([`crate::report::Summary::encode`], V3).
    summary: Vec<u8>,
    summary_of: Vec<u8>,
}

impl<'a> Rows<'a> {
    fn of(staged: &'a Staged) -> Result<Rows<'a>> {
        // The facade packs mail with the store's codec; a PostgreSQL
        // store has no trained dictionary, so a plain codec unpacks it.
        let codec = crate::store::codec::Codec::default();
        let unpack = |what: &'static str, mail: &[u8]| {
            codec.unpack_mail(mail).map_err(|e| StoreError::Corrupt {
                what,
                detail: e.to_string(),
            })
        };
        let mut tickets = Vec::with_capacity(staged.tickets.len());
        for t in staged.tickets.values() {
            let record = json_text("ticket", t)?;
            tickets.push(TicketRow {
                number: to_i64("ticket", t.number)?,
                status: t.status.to_string(),
                queue: t.queue.clone(),
                assignee: t.assignee.as_deref().map(|a| a.trim().to_lowercase()),
                requester: t.requester.email.trim().to_lowercase(),
                created: t.created.to_rfc3339(),
                updated: crate::pg::rows::updated_column(t.updated).to_rfc3339(),
                timer_due: t.timer_due.map(|d| d.to_rfc3339()),
                summary: crate::report::Summary::of(t).encode(),
                summary_of: crate::pg::rows::summary_of(record.as_bytes()),
                record,
            });
        }
        let mut messages = Vec::with_capacity(staged.messages.len());
        for m in &staged.messages {
            messages.push((
                to_i64("message", m.ticket)?,
                i64::from(m.seq),
                String::from_utf8_lossy(&m.json).into_owned(),
                unpack("message", &m.mail)?,
            ));
        }
        let mut outbox = Vec::with_capacity(staged.outbox.len());
        for (e, mail) in &staged.outbox {
            outbox.push(OutboxRow {
                id: to_i64("outbox entry", e.id)?,
                state: e.state.to_string(),
                next_attempt: e.next_attempt.to_rfc3339(),
                ticket: e.ticket.clone(),
                record: json_text("outbox entry", e)?,
                body: unpack("outbox entry", mail)?,
            });
        }
        Ok(Rows {
            staged,
            tickets,
            messages,
            outbox,
        })
    }

    /// The statements, in the transaction. One statement a row for now;
    /// batching with `unnest` is for when it is measured.
    async fn write(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        let s = self.staged;
        tx.execute("SELECT pg_advisory_xact_lock(20)", &[]).await?;
        for t in &self.tickets {
            tx.execute(
                "INSERT INTO tickets (number, status, queue, assignee, requester, created, \
                 updated, timer_due, record, summary, summary_of) VALUES ($1, $2, $3, $4, $5, \
                 $6::text::timestamptz, $7::text::timestamptz, $8::text::timestamptz, \
                 $9::text::json, $10, $11) \
                 ON CONFLICT (number) DO UPDATE SET status = EXCLUDED.status, \
                 queue = EXCLUDED.queue, assignee = EXCLUDED.assignee, \
                 requester = EXCLUDED.requester, created = EXCLUDED.created, \
                 updated = EXCLUDED.updated, timer_due = EXCLUDED.timer_due, \
                 record = EXCLUDED.record, summary = EXCLUDED.summary, \
                 summary_of = EXCLUDED.summary_of",
                &[
                    &t.number,
                    &t.status,
                    &t.queue,
                    &t.assignee,
                    &t.requester,
                    &t.created,
                    &t.updated,
                    &t.timer_due,
                    &t.record,
                    &t.summary,
                    &t.summary_of,
                ],
            )
            .await?;
        }
        for (ticket, seq, record, raw) in &self.messages {
            tx.execute(
                "INSERT INTO messages (ticket, seq, record, raw) VALUES ($1, $2, $3::text::json, $4)",
                &[ticket, seq, record, raw],
            )
            .await?;
        }
        for (key, entry) in &s.ids {
            let kind = match entry.kind {
                IdKind::Stored => "stored",
                IdKind::Sent => "sent",
                IdKind::Referenced => "referenced",
                IdKind::Conversation => "conversation",
            };
            // A staged mention or conversation never overwrites what the
            // index learned meanwhile; a stored or sent id does.
            let sql = if matches!(entry.kind, IdKind::Referenced | IdKind::Conversation) {
                "INSERT INTO msgids (key, kind, ticket) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
            } else {
                "INSERT INTO msgids (key, kind, ticket) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, ticket = EXCLUDED.ticket"
            };
            let ticket = i64::try_from(entry.ticket).unwrap_or(i64::MAX);
            tx.execute(sql, &[&key.as_bytes(), &kind, &ticket]).await?;
        }
        for (email, ticket) in &s.customers {
            let ticket = i64::try_from(*ticket).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO customers (email, ticket) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&email.as_bytes(), &ticket],
            )
            .await?;
        }
        for o in &self.outbox {
            tx.execute(
                "INSERT INTO outbox (id, state, next_attempt, ticket, record, body) \
                 VALUES ($1, $2, $3::text::timestamptz, $4, $5::text::json, $6)",
                &[
                    &o.id,
                    &o.state,
                    &o.next_attempt,
                    &o.ticket,
                    &o.record,
                    &o.body,
                ],
            )
            .await?;
        }
        let upsert_meta = "INSERT INTO meta (key, value) VALUES ($1, $2) \
                           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
        for (name, value) in &s.counters {
            let key = format!("counter/{name}");
            tx.execute(upsert_meta, &[&key.as_bytes(), &&value.to_be_bytes()[..]])
                .await?;
        }
        for (key, value) in &s.notices {
            tx.execute(upsert_meta, &[&key.as_bytes(), value]).await?;
        }
        for (source, value) in &s.cursors {
            tx.execute(
                "INSERT INTO cursors (source, value) VALUES ($1, $2) \
                 ON CONFLICT (source) DO UPDATE SET value = EXCLUDED.value",
                &[source, value],
            )
            .await?;
        }
        for (message_id, value) in &s.notified {
            // `agent`, or `agent ticket seen` (see Store::stage_outgoing).
            let mut words = value.split(' ');
            let agent = words.next().unwrap_or_default();
            let (ticket, seen): (Option<i64>, Option<i64>) = match (words.next(), words.next()) {
                (Some(t), Some(n)) => (t.parse().ok(), n.parse().ok()),
                _ => (None, None),
            };
            tx.execute(
                "INSERT INTO notified (message_id, agent, ticket, seen) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (message_id) DO UPDATE SET agent = EXCLUDED.agent, \
                 ticket = EXCLUDED.ticket, seen = EXCLUDED.seen",
                &[&message_id.as_bytes(), &agent, &ticket, &seen],
            )
            .await?;
        }
        for (email, mark) in &s.marks {
            match mark.as_ref().map(serde_json::to_string) {
                Some(Ok(record)) => {
                    tx.execute(
                        "INSERT INTO guard (kind, email, record) VALUES ('mark', $1, $2::text::json) \
                         ON CONFLICT (kind, email) DO UPDATE SET record = EXCLUDED.record",
                        &[&email.as_bytes(), &record],
                    )
                    .await?;
                }
                // A mark is plain data: it always serializes.
                Some(Err(_)) => {}
                None => {
                    tx.execute(
                        "DELETE FROM guard WHERE kind = 'mark' AND email = $1",
                        &[&email.as_bytes()],
                    )
                    .await?;
                }
            }
        }
        for (email, times) in &s.auto_sent {
            let ms: Vec<i64> = times.iter().map(|t| t.timestamp_millis()).collect();
            let record = serde_json::to_string(&ms).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO guard (kind, email, record) VALUES ('sent', $1, $2::text::json) \
                 ON CONFLICT (kind, email) DO UPDATE SET record = EXCLUDED.record",
                &[&email.as_bytes(), &record],
            )
            .await?;
        }
        Ok(())
    }
}
