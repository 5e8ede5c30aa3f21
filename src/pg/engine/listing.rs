//! [`Listing`] over the `tickets` table and its `tickets_*` indexes
//! (`updated DESC, number DESC`, alone and after status, queue, assignee
//! or requester).
//!
//! Pages are keyset pages: `WHERE (updated, number) < (cursor)` in index
//! order, never OFFSET. `updated` is kept in whole milliseconds (V3), as
//! the cursor (`MS-NUMBER`) and sled's index keys hold it, so both engines
//! order tickets updated in the same millisecond by number, and a cursor
//! from one page names exactly where the next starts. Every filter that
//! is a column is a condition of the statement; the ticket is then
//! checked by [`TicketQuery::matches`] (the exact `since`, and
//! `--search`, whose case folding is Rust's), so both engines agree on
//! what answers.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

use super::{corrupt, failed, records, PgEngine, Result};
use crate::pg::rows::Value;
use crate::report::Summary;
use crate::store::engine::Listing;
use crate::store::listing::SCAN_BUDGET;
use crate::store::{Cursor, Page, StoreError, TicketQuery};
use crate::ticket::Ticket;

/// Rows per round trip when more than a page may be passed over
/// (`--search`) or when iterating.
const BATCH: usize = 500;

/// Summaries read per round trip: ~100 bytes each, so a batch is about
/// 400 KB, and a million tickets take 250 round trips instead of 2,000.
const SUMMARY_BATCH: usize = 4096;

/// A millisecond count as a `timestamptz` expression of parameter `$n`:
/// integer arithmetic, exact, and computed once (the index is used).
fn ms_param(n: usize) -> String {
    format!("(to_timestamp(0) + ${n}::bigint * interval '1 millisecond')")
}

fn ms(c: u64) -> i64 {
    i64::try_from(c).unwrap_or(i64::MAX)
}

/// The text columns cannot hold NUL: a value with one is looked up as the
/// move and the writer store it (U+FFFD).
fn column_text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

/// A statement over `tickets`, newest update first: the query's column
/// filters, from `since` (to the millisecond) and after a cursor.
#[derive(Clone, Default)]
struct Select {
    conditions: Vec<String>,
    params: Vec<Value>,
}

impl Select {
    fn param(&mut self, v: Value) -> usize {
        self.params.push(v);
        self.params.len()
    }

    fn of(query: &TicketQuery) -> Select {
        let mut s = Select::default();
        if let Some(st) = query.status {
            let n = s.param(Value::Text(st.as_str().to_string()));
            s.conditions.push(format!("status = ${n}"));
        }
        if let Some(q) = &query.queue {
            let n = s.param(Value::Text(column_text(q)));
            s.conditions.push(format!("queue = ${n}"));
        }
        // The columns are lowercased addresses (Unicode); the query's
        // ASCII-case-insensitive match is checked on the ticket after.
        if let Some(a) = &query.assignee {
            let n = s.param(Value::Text(column_text(&a.trim().to_lowercase())));
            s.conditions.push(format!("assignee = ${n}"));
        }
        if let Some(r) = &query.requester {
            let n = s.param(Value::Text(column_text(&r.trim().to_lowercase())));
            s.conditions.push(format!("requester = ${n}"));
        }
        if let Some(since) = query.since {
            s.since(since);
        }
        s
    }

    fn since(&mut self, since: DateTime<Utc>) {
        let n = self.param(Value::Int(since.timestamp_millis().max(0)));
        self.conditions.push(format!("updated >= {}", ms_param(n)));
    }

    /// The statement for the rows after `after`, at most `limit`, and its
    /// parameters.
    fn sql(&self, after: Option<Cursor>, limit: usize) -> (String, Vec<Value>) {
        let mut s = self.clone();
        if let Some(c) = after {
            let at = ms_param(s.param(Value::Int(ms(c.updated_ms))));
            let n = s.param(Value::Int(ms(c.ticket)));
            s.conditions
                .push(format!("(updated, number) < ({at}, ${n})"));
        }
        let lim = s.param(Value::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        let filter = if s.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", s.conditions.join(" AND "))
        };
        (
            format!(
                "SELECT record::text FROM tickets {filter} \
                 ORDER BY updated DESC, number DESC LIMIT ${lim}"
            ),
            s.params,
        )
    }
}

impl PgEngine {
    /// The tickets of a [`Select`] after `after`, at most `limit`.
    fn select(&self, select: &Select, after: Option<Cursor>, limit: usize) -> Result<Vec<Ticket>> {
        let (sql, params) = select.sql(after, limit);
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        records(
            "list tickets",
            "ticket",
            &self.rows("list tickets", &sql, &refs)?,
        )
    }
}

impl Listing for PgEngine {
    /// Batches in index order; each row passed over counts against the
    /// scan budget, as each index entry does on sled (fewer rows are
    /// passed over here: every column filter is the statement's).
    fn ticket_page(
        &self,
        query: &TicketQuery,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let select = Select::of(query);
        // Without `--search` nearly every row answers: a page and one
        // more (which says whether to hand back a cursor) is one trip.
        let batch = if query.search.is_some() {
            BATCH
        } else {
            limit + 1
        };
        let mut page = Page::default();
        let mut scanned = 0usize;
        let mut last = after;
        loop {
            let want = batch.min(SCAN_BUDGET + 1 - scanned.min(SCAN_BUDGET));
            let rows = self.select(&select, last, want)?;
            let got = rows.len();
            for t in rows {
                if page.tickets.len() >= limit || scanned >= SCAN_BUDGET {
                    // This row is one more: hand back where the page ends.
                    page.next = last;
                    return Ok(page);
                }
                scanned += 1;
                last = Some(Cursor::of(&t));
                if query.matches(&t) {
                    page.tickets.push(t);
                }
            }
            if got < want {
                return Ok(page);
            }
        }
    }

    fn tickets_updated_since(
        &self,
        since: DateTime<Utc>,
    ) -> Box<dyn Iterator<Item = Result<Ticket>> + '_> {
        let mut select = Select::default();
        select.since(since);
        Box::new(Recent {
            engine: self,
            select,
            after: None,
            buffer: VecDeque::new(),
            done: false,
        })
    }

    /// The stored summaries (the `summary` column, V3), read through a
    /// server-side cursor (a portal in a read-only transaction),
    /// [`SUMMARY_BATCH`] rows at a time: memory stays bounded by a batch
    /// whatever the desk's size, and the rows are one snapshot. In the
    /// table's order: every reader folds in any order, and sorting a
    /// million rows by update would cost more than reading them. A summary
    /// that is not the record's (a writer that did not give one, a row
    /// from before V3: the V5 trigger drops a summary whose `summary_of`
    /// is not the record's hash as the row is written, so reading costs no
    /// hashing) or that this build cannot read is computed from the
    /// record, so a report never fails, skips a ticket or reads a stale
    /// summary.
    fn for_each_summary(&self, f: &mut dyn FnMut(&Summary<'_>)) -> Result<()> {
        let what = "read report summaries";
        self.rt.block_on(async {
            let mut client =
                self.settings
                    .connection(&self.pool)
                    .await
                    .map_err(|e| StoreError::Pg {
                        what,
                        detail: e.to_string(),
                    })?;
            let tx = client
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(failed(what))?;
            let statement = tx
                .prepare(
                    "SELECT number, summary, \
                     CASE WHEN summary IS NULL THEN record::text END \
                     FROM tickets",
                )
                .await
                .map_err(failed(what))?;
            // A summary this build cannot read is rare (a newer writer's):
            // those tickets' records are read after the scan, a batch at a
            // time, so the scan's callback needs no query of its own.
            let mut unreadable: Vec<i64> = Vec::new();
            crate::pg::portal::for_each_row(
                &tx,
                &statement,
                &[],
                SUMMARY_BATCH,
                failed(what),
                |row| {
                    let stored: Option<&[u8]> = row.try_get(1).map_err(failed(what))?;
                    match stored.map(Summary::decode) {
                        Some(Ok(s)) => f(&s),
                        Some(Err(_)) => unreadable.push(row.try_get(0).map_err(failed(what))?),
                        None => {
                            let json: Option<&str> = row.try_get(2).map_err(failed(what))?;
                            if let Some(json) = json {
                                let t: Ticket =
                                    serde_json::from_str(json).map_err(corrupt("ticket"))?;
                                f(&Summary::of(&t));
                            }
                        }
                    }
                    Ok(())
                },
            )
            .await?;
            for numbers in unreadable.chunks(SUMMARY_BATCH) {
                let rows = tx
                    .query(
                        "SELECT record::text FROM tickets WHERE number = ANY($1)",
                        &[&numbers],
                    )
                    .await
                    .map_err(failed(what))?;
                for t in records::<Ticket>(what, "ticket", &rows)? {
                    f(&Summary::of(&t));
                }
            }
            tx.commit().await.map_err(failed(what))
        })
    }
}

/// [`Listing::tickets_updated_since`]: keyset batches, newest first.
struct Recent<'a> {
    engine: &'a PgEngine,
    select: Select,
    after: Option<Cursor>,
    buffer: VecDeque<Ticket>,
    done: bool,
}

impl Iterator for Recent<'_> {
    type Item = Result<Ticket>;

    fn next(&mut self) -> Option<Result<Ticket>> {
        if self.buffer.is_empty() && !self.done {
            match self.engine.select(&self.select, self.after, BATCH) {
                Ok(batch) => {
                    self.done = batch.len() < BATCH;
                    self.after = batch.last().map(Cursor::of).or(self.after);
                    self.buffer.extend(batch);
                }
                Err(e) => {
                    // One error, then the end: a reader does not loop on it.
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}
