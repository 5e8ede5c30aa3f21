//! The PostgreSQL engine behind [`crate::store::engine::Engine`]: the
//! same primitives as the sled engine, over the V1 tables
//! (`migrations/V1__initial.sql`), which a move from sled
//! ([`super::copy`]) fills in the same shapes.
//!
//! Started (issue 20): the reads intake needs. `write` (one SQL
//! transaction per staged set) is next; see NOTES-engine.md.
//!
//! The trait is synchronous and the client async: the engine owns a
//! small runtime and blocks on it inside each primitive. Callers are
//! blocking threads (the daemon reaches the store through
//! `spawn_blocking`); blocking on a runtime's own worker would panic.

use chrono::{DateTime, Utc};

use super::{PgError, Settings};
use crate::bounce;
use crate::store::engine::Engine;
use crate::store::{IdEntry, IdKind, NoticeRecord, Staged, StoreError};
use crate::ticket::Ticket;

type Result<T> = std::result::Result<T, StoreError>;

pub struct PgEngine {
    settings: Settings,
    pool: deadpool_postgres::Pool,
    /// Drives the connections; one worker, as the callers block anyway.
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgEngine({})", self.settings.describe())
    }
}

fn failed(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::Pg {
        what,
        detail: super::detail(&e),
    }
}

fn corrupt(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    }
}

impl PgEngine {
    /// Connects and checks that the database has a schema this build
    /// knows (`postdesk migrate` makes it).
    pub fn connect(settings: &Settings) -> std::result::Result<PgEngine, PgError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postdesk-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError::Other {
                at: settings.describe(),
                message: format!("cannot start the PostgreSQL client: {e}"),
            })?;
        let pool = rt.block_on(async { settings.pool() })?;
        let engine = PgEngine {
            settings: settings.clone(),
            pool,
            rt,
        };
        engine.rt.block_on(async {
            let client = engine.settings.connection(&engine.pool).await?;
            super::schema::check(&client, &engine.settings.describe()).await
        })?;
        Ok(engine)
    }

    /// Runs one query on a pooled connection and returns its rows.
    fn rows(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        self.rt.block_on(async {
            let client =
                self.settings
                    .connection(&self.pool)
                    .await
                    .map_err(|e| StoreError::Pg {
                        what,
                        detail: e.to_string(),
                    })?;
            client.query(sql, params).await.map_err(failed(what))
        })
    }

    /// The first column of the first row, if any.
    fn one<T>(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<T>>
    where
        T: for<'a> tokio_postgres::types::FromSql<'a>,
    {
        match self.rows(what, sql, params)?.first() {
            Some(row) => row.try_get(0).map_err(failed(what)),
            None => Ok(None),
        }
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.one(
            "read meta",
            "SELECT value FROM meta WHERE key = $1",
            &[&key.as_bytes()],
        )
    }

    fn guard(&self, kind: &str, email: &str) -> Result<Option<String>> {
        let email = email.trim().to_ascii_lowercase();
        self.one(
            "read address guards",
            "SELECT record::text FROM guard WHERE kind = $1 AND email = $2",
            &[&kind, &email.as_bytes()],
        )
    }
}

fn kind_of(s: &str) -> Option<IdKind> {
    Some(match s {
        "stored" => IdKind::Stored,
        "sent" => IdKind::Sent,
        "referenced" => IdKind::Referenced,
        "conversation" => IdKind::Conversation,
        _ => return None,
    })
}

impl Engine for PgEngine {
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
    /// cross as milliseconds, as sled's keys hold them.
    fn due_tickets(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<u64>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.rows(
            "read timers",
            "SELECT number FROM tickets \
             WHERE timer_due <= to_timestamp($1::bigint / 1000.0) \
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
            "SELECT (extract(epoch FROM MIN(timer_due)) * 1000)::bigint FROM tickets",
            &[],
        )?;
        Ok(ms.and_then(DateTime::from_timestamp_millis))
    }

    fn write(&self, _staged: &Staged) -> Result<()> {
        Err(StoreError::Pg {
            what: "write a decision",
            detail: "not written yet: the PostgreSQL engine reads only (issue 20)".into(),
        })
    }

    /// A committed transaction is durable (`synchronous_commit` on).
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}
