//! The intake primitives over the V1 tables, and the one SQL transaction
//! that writes a staged set.

use chrono::{DateTime, Utc};

use super::{corrupt, failed, json_text, to_i64, PgEngine, Result};
use crate::bounce;
use crate::store::engine::Intake;
use crate::store::{IdEntry, IdKind, NoticeRecord, Staged, StoreError};
use crate::ticket::Ticket;

pub(super) fn kind_of(s: &str) -> Option<IdKind> {
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
        let generation = match self.recall(|c| c.ids.get(key).copied()) {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let rows = self.rows(
            "read the message-id index",
            "SELECT kind, ticket FROM msgids WHERE key = $1",
            &[&key.as_bytes()],
        )?;
        let found = match rows.first() {
            None => None,
            Some(row) => {
                let kind: String = row
                    .try_get(0)
                    .map_err(failed("read the message-id index"))?;
                let ticket: i64 = row
                    .try_get(1)
                    .map_err(failed("read the message-id index"))?;
                kind_of(&kind).map(|kind| IdEntry {
                    kind,
                    ticket: ticket.max(0) as u64,
                })
            }
        };
        self.remember(generation, |c| {
            c.ids.insert(key.to_string(), found);
        });
        Ok(found)
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
        let generation = match self.recall(|c| c.tickets.get(&number).cloned()) {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let record: Option<String> = self.one(
            "read a ticket",
            "SELECT record::text FROM tickets WHERE number = $1",
            &[&n],
        )?;
        let found: Option<Ticket> = record
            .map(|r| serde_json::from_str(&r).map_err(corrupt("ticket")))
            .transpose()?;
        self.remember(generation, |c| {
            c.tickets.insert(number, found.clone());
        });
        Ok(found)
    }

    fn last_ticket(&self) -> Result<u64> {
        let generation = match self.recall(|c| c.last_ticket) {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let n: Option<i64> = self.one(
            "read ticket numbers",
            "SELECT COALESCE(MAX(number), 0) FROM tickets",
            &[],
        )?;
        let last = n.unwrap_or(0).max(0) as u64;
        self.remember(generation, |c| c.last_ticket = Some(last));
        Ok(last)
    }

    fn last_outbox_id(&self) -> Result<u64> {
        let generation = match self.recall(|c| c.last_outbox) {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let n: Option<i64> = self.one(
            "read outbox ids",
            "SELECT COALESCE(MAX(id), 0) FROM outbox",
            &[],
        )?;
        let last = n.unwrap_or(0).max(0) as u64;
        self.remember(generation, |c| c.last_outbox = Some(last));
        Ok(last)
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

    /// One SQL transaction, all of the set or none of it, on the
    /// connection that holds this node's write turn (taken here if the
    /// caller did not: a write outside a decision). Mail from an inbox
    /// this node reads under a lease is written only while the lease's
    /// fence is still this node's.
    fn write(&self, staged: &Staged) -> Result<()> {
        // A batch still committing behind this one goes first: its
        // connection is the turn's, and its failure is this write's.
        self.settle()?;
        if let Some(f) = self.fault.failure() {
            return Err(StoreError::Unreachable(format!(
                "{}; the store is being reopened",
                f.error
            )));
        }
        // A decision made under the turn whose connection has since gone
        // (the server dropped it, and with it the lock): another node may
        // have decided meanwhile, so what it read is stale.
        if staged.entered && !self.turn.is_held() {
            return Err(self.unwritable("the write turn was lost in mid-decision"));
        }
        let rows = Rows::of(staged)?;
        // A write outside a decision takes the turn for itself; several
        // threads doing so at once take turns here first, or one would
        // find the turn held and write on the connection another lent.
        let _solo = (!staged.entered).then(|| self.solo.lock().unwrap_or_else(|p| p.into_inner()));
        let entered = !self.turn.is_held();
        if entered {
            self.enter()?;
        }
        let at = self.settings.describe();
        let written = self.rt.block_on(
            self.turn
                .with(async |client| transact(client, &at, &staged.fences, &rows).await),
        );
        // Whether it committed or not, what was read may be old now.
        self.forget_reads();
        self.overlay_outdated();
        if entered {
            self.leave();
        }
        let written = written.unwrap_or_else(|| {
            Err(StoreError::Unreachable(
                "the write turn was lost before the write".into(),
            ))
        });
        self.written(written, staged.entered)
    }

    /// A committed transaction is durable (`synchronous_commit` on).
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// What a batch packed with a deleted mail dictionary is refused as.
const STALE_DICTIONARY: &str = "mail packed with a deleted dictionary";

/// The one SQL transaction of a staged set, on the connection holding
/// the turn: the inboxes' lease fences are checked in it, then every row
/// is written, all or none.
pub(super) async fn transact(
    client: &mut deadpool_postgres::Object,
    at: &str,
    fences: &[crate::pg::lease::Hold],
    rows: &Rows<'_>,
) -> Result<()> {
    let what = "write a decision";
    let tx = client.transaction().await.map_err(failed(what))?;
    let lost = crate::pg::lease::lost(&*tx, at, fences)
        .await
        .map_err(|e| StoreError::Unreachable(e.to_string()))?;
    if let Some(h) = lost.first() {
        return Err(StoreError::LeaseLost(h.name.clone()));
    }
    if let Err(e) = rows.write(&tx).await {
        // The only foreign key a batch's rows meet (schema V9).
        if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
            return Err(StoreError::Corrupt {
                what: STALE_DICTIONARY,
                detail: e.to_string(),
            });
        }
        return Err(failed(what)(e));
    }
    tx.commit().await.map_err(failed(what))
}

impl PgEngine {
    /// What a staged set's transaction ended as, for its caller: a set
    /// that can never be written (its dictionary, lease or turn gone)
    /// makes the store unwritable until it is reopened.
    pub(super) fn written(&self, written: Result<()>, entered: bool) -> Result<()> {
        match written {
            // Packed by this node's codec with a dictionary an erasure's
            // re-pack has deleted since: reopening loads the current one,
            // and the mail is fetched and packed again.
            Err(StoreError::Corrupt { what, .. }) if what == STALE_DICTIONARY => Err(self
                .unwritable(
                    "the batch's mail was packed with a mail dictionary an erasure replaced",
                )),
            Err(StoreError::LeaseLost(inbox)) => {
                self.unwritable(&format!(
                    "the lease of {inbox} was lost under a staged batch"
                ));
                Err(StoreError::LeaseLost(inbox))
            }
            Err(e) if entered && !self.turn.is_held() => {
                Err(self.unwritable(&format!("the write turn was lost in mid-decision ({e})")))
            }
            other => other,
        }
    }
}

/// A staged set as the V1 tables take it, made before the transaction:
/// one array per column of the tables a batch writes many rows to, so
/// that each is one `INSERT … SELECT … FROM unnest(…)` (one round trip
/// for the batch, not one a row).
pub(super) struct Rows<'a> {
    staged: &'a Staged,
    tickets: TicketColumns,
    /// Messages with their mail packed ([`crate::pg::mail`]).
    messages: MessageColumns<'a>,
    /// Message-ID index entries that overwrite (stored, sent) and those
    /// that never do (a mention, a conversation).
    strong_ids: IdColumns,
    weak_ids: IdColumns,
    customers: (Vec<Vec<u8>>, Vec<i64>),
    outbox: OutboxColumns,
}

/// Tickets: number, status, queue, assignee, requester (both lowercased),
/// created, updated, deadline (RFC 3339) and the record's JSON.
#[derive(Default)]
struct TicketColumns {
    number: Vec<i64>,
    status: Vec<String>,
    queue: Vec<String>,
    assignee: Vec<Option<String>>,
    requester: Vec<String>,
    created: Vec<String>,
    updated: Vec<String>,
    timer_due: Vec<Option<String>>,
    record: Vec<String>,
    /// The report summaries ([`crate::report::Summary::encode`]) and the
    /// hashes of the records they were made from (V3).
    summary: Vec<Vec<u8>>,
    summary_of: Vec<Vec<u8>>,
}

#[derive(Default)]
struct MessageColumns<'a> {
    ticket: Vec<i64>,
    seq: Vec<i64>,
    record: Vec<String>,
    raw: Vec<&'a [u8]>,
    /// The dictionary each was packed with (schema V8).
    dict: Vec<Option<i64>>,
}

#[derive(Default)]
struct IdColumns {
    key: Vec<Vec<u8>>,
    kind: Vec<&'static str>,
    ticket: Vec<i64>,
}

/// Outbox rows: id, state, next attempt (RFC 3339), ticket reference, the
/// entry's JSON and its mail.
#[derive(Default)]
struct OutboxColumns {
    id: Vec<i64>,
    state: Vec<String>,
    next_attempt: Vec<String>,
    ticket: Vec<Option<String>>,
    record: Vec<String>,
    /// Packed ([`crate::pg::mail::pack`], schema V7).
    body: Vec<Vec<u8>>,
}

/// Text beside a record is for finding it: PostgreSQL's text cannot hold
/// NUL, which a hostile header can, so one becomes U+FFFD there (the
/// record keeps it), as the move from sled does ([`crate::pg::rows`]).
fn column(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

impl<'a> Rows<'a> {
    pub(super) fn of(staged: &'a Staged) -> Result<Rows<'a>> {
        let mut tickets = TicketColumns::default();
        for t in staged.tickets.values() {
            tickets.number.push(to_i64("ticket", t.number)?);
            tickets.status.push(t.status.to_string());
            tickets.queue.push(column(&t.queue));
            tickets.assignee.push(
                t.assignee
                    .as_deref()
                    .map(|a| column(&a.trim().to_lowercase())),
            );
            tickets
                .requester
                .push(column(&t.requester.email.trim().to_lowercase()));
            tickets.created.push(t.created.to_rfc3339());
            tickets
                .updated
                .push(crate::pg::rows::updated_column(t.updated).to_rfc3339());
            tickets.timer_due.push(t.timer_due.map(|d| d.to_rfc3339()));
            let record = json_text("ticket", t)?;
            tickets.summary.push(crate::report::Summary::of(t).encode());
            tickets
                .summary_of
                .push(crate::pg::rows::summary_of(record.as_bytes()));
            tickets.record.push(record);
        }
        let mut messages = MessageColumns::default();
        for m in &staged.messages {
            messages.ticket.push(to_i64("message", m.ticket)?);
            messages.seq.push(i64::from(m.seq));
            messages
                .record
                .push(String::from_utf8_lossy(&m.json).into_owned());
            messages.raw.push(&m.mail);
            messages.dict.push(crate::pg::mail::dict_of(&m.mail));
        }
        let (mut strong_ids, mut weak_ids) = (IdColumns::default(), IdColumns::default());
        for (key, entry) in &staged.ids {
            let (ids, kind) = match entry.kind {
                IdKind::Stored => (&mut strong_ids, "stored"),
                IdKind::Sent => (&mut strong_ids, "sent"),
                IdKind::Referenced => (&mut weak_ids, "referenced"),
                IdKind::Conversation => (&mut weak_ids, "conversation"),
            };
            ids.key.push(key.as_bytes().to_vec());
            ids.kind.push(kind);
            ids.ticket
                .push(to_i64("message-id index entry", entry.ticket)?);
        }
        let mut customers = (Vec::new(), Vec::new());
        for (email, ticket) in &staged.customers {
            customers.0.push(email.as_bytes().to_vec());
            customers.1.push(to_i64("customer", *ticket)?);
        }
        let mut outbox = OutboxColumns::default();
        for (e, mail) in &staged.outbox {
            outbox.id.push(to_i64("outbox entry", e.id)?);
            outbox.state.push(e.state.to_string());
            outbox.next_attempt.push(e.next_attempt.to_rfc3339());
            outbox.ticket.push(e.ticket.as_deref().map(column));
            outbox.record.push(json_text("outbox entry", e)?);
            outbox
                .body
                .push(crate::pg::mail::pack(&crate::pg::mail::plain(), mail).0);
        }
        Ok(Rows {
            staged,
            tickets,
            messages,
            strong_ids,
            weak_ids,
            customers,
            outbox,
        })
    }

    /// The statements, in the transaction: one per table for the tables a
    /// batch fills (tickets, messages, ids, customers, outbox), one a row
    /// for the few small values.
    async fn write(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        let s = self.staged;
        tx.execute("SELECT pg_advisory_xact_lock(20)", &[]).await?;
        let t = &self.tickets;
        if !t.number.is_empty() {
            // Writing a ticket ends any node's claim on its timers (V2).
            tx.execute(
                "INSERT INTO tickets (number, status, queue, assignee, requester, created, \
                 updated, timer_due, record, summary, summary_of) \
                 SELECT u.number, u.status, u.queue, u.assignee, u.requester, \
                 u.created::timestamptz, u.updated::timestamptz, \
                 date_trunc('milliseconds', u.timer_due::timestamptz), u.record::json, \
                 u.summary, u.summary_of \
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::bytea[], $11::bytea[]) \
                 AS u(number, status, queue, assignee, requester, created, updated, timer_due, \
                 record, summary, summary_of) \
                 ON CONFLICT (number) DO UPDATE SET status = EXCLUDED.status, \
                 queue = EXCLUDED.queue, assignee = EXCLUDED.assignee, \
                 requester = EXCLUDED.requester, created = EXCLUDED.created, \
                 updated = EXCLUDED.updated, timer_due = EXCLUDED.timer_due, \
                 record = EXCLUDED.record, summary = EXCLUDED.summary, \
                 summary_of = EXCLUDED.summary_of, timer_claimed_by = NULL, \
                 timer_claim_until = NULL",
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
        let m = &self.messages;
        if !m.ticket.is_empty() {
            tx.execute(
                "INSERT INTO messages (ticket, seq, record, raw, packed, dict) \
                 SELECT u.ticket, u.seq, u.record::json, u.raw, true, u.dict \
                 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bytea[], \
                 $5::bigint[]) AS u(ticket, seq, record, raw, dict)",
                &[&m.ticket, &m.seq, &m.record, &m.raw, &m.dict],
            )
            .await?;
        }
        // A staged mention or conversation never overwrites what the index
        // learned meanwhile; a stored or sent id does.
        for (ids, on_conflict) in [
            (
                &self.strong_ids,
                "ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, ticket = EXCLUDED.ticket",
            ),
            (&self.weak_ids, "ON CONFLICT DO NOTHING"),
        ] {
            if ids.key.is_empty() {
                continue;
            }
            tx.execute(
                &format!(
                    "INSERT INTO msgids (key, kind, ticket) \
                     SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[]) {on_conflict}"
                ),
                &[&ids.key, &ids.kind, &ids.ticket],
            )
            .await?;
        }
        if !self.customers.0.is_empty() {
            tx.execute(
                "INSERT INTO customers (email, ticket) \
                 SELECT * FROM unnest($1::bytea[], $2::bigint[]) ON CONFLICT DO NOTHING",
                &[&self.customers.0, &self.customers.1],
            )
            .await?;
        }
        let o = &self.outbox;
        if !o.id.is_empty() {
            tx.execute(
                "INSERT INTO outbox (id, state, next_attempt, ticket, record, body, packed) \
                 SELECT u.id, u.state, date_trunc('milliseconds', u.next_attempt::timestamptz), \
                 u.ticket, u.record::json, u.body, true \
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::bytea[]) AS u(id, state, next_attempt, ticket, record, body)",
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
        // One statement for all of a batch's notifications and one for its
        // automatic-mail times: a batch of acknowledgements has hundreds.
        if !s.notified.is_empty() {
            let mut ids: Vec<&[u8]> = Vec::with_capacity(s.notified.len());
            let mut agents: Vec<&str> = Vec::with_capacity(s.notified.len());
            let mut tickets: Vec<Option<i64>> = Vec::with_capacity(s.notified.len());
            let mut seens: Vec<Option<i64>> = Vec::with_capacity(s.notified.len());
            for (message_id, value) in &s.notified {
                // `agent`, or `agent ticket seen` (see Store::stage_outgoing).
                let mut words = value.split(' ');
                let agent = words.next().unwrap_or_default();
                let (ticket, seen): (Option<i64>, Option<i64>) = match (words.next(), words.next())
                {
                    (Some(t), Some(n)) => (t.parse().ok(), n.parse().ok()),
                    _ => (None, None),
                };
                ids.push(message_id.as_bytes());
                agents.push(agent);
                tickets.push(ticket);
                seens.push(seen);
            }
            tx.execute(
                "INSERT INTO notified (message_id, agent, ticket, seen) \
                 SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bigint[]) \
                 ON CONFLICT (message_id) DO UPDATE SET agent = EXCLUDED.agent, \
                 ticket = EXCLUDED.ticket, seen = EXCLUDED.seen",
                &[&ids, &agents, &tickets, &seens],
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
        if !s.auto_sent.is_empty() {
            let mut emails: Vec<&[u8]> = Vec::with_capacity(s.auto_sent.len());
            let mut records: Vec<String> = Vec::with_capacity(s.auto_sent.len());
            for (email, times) in &s.auto_sent {
                let ms: Vec<i64> = times.iter().map(|t| t.timestamp_millis()).collect();
                emails.push(email.as_bytes());
                records.push(serde_json::to_string(&ms).unwrap_or_else(|_| "[]".into()));
            }
            tx.execute(
                "INSERT INTO guard (kind, email, record) \
                 SELECT 'sent', u.email, u.record::json \
                 FROM unnest($1::bytea[], $2::text[]) AS u(email, record) \
                 ON CONFLICT (kind, email) DO UPDATE SET record = EXCLUDED.record",
                &[&emails, &records],
            )
            .await?;
        }
        Ok(())
    }
}
