//! [`Messages`] over the `tickets` and `messages` tables.

use std::collections::VecDeque;

use super::{corrupt, failed, PgEngine, Result};
use crate::store::engine::Messages;
use crate::ticket::{MessageRecord, Ticket};

/// Tickets read per round trip when iterating over all of them.
const TICKET_BATCH: i64 = 500;

impl PgEngine {
    /// A ticket's messages by sequence, with or without their bytes.
    fn message_rows(&self, ticket: u64, with_raw: bool) -> Result<Vec<tokio_postgres::Row>> {
        let Ok(n) = i64::try_from(ticket) else {
            return Ok(Vec::new());
        };
        let sql = if with_raw {
            "SELECT record::text, raw, packed FROM messages WHERE ticket = $1 ORDER BY seq"
        } else {
            "SELECT record::text FROM messages WHERE ticket = $1 ORDER BY seq"
        };
        self.rows("read messages", sql, &[&n])
    }
}

impl PgEngine {
    /// The mail of a row read as `raw, packed` from column `at` on.
    fn mail(&self, row: &tokio_postgres::Row, at: usize) -> Result<Vec<u8>> {
        let raw: Vec<u8> = row.try_get(at).map_err(failed("read messages"))?;
        let packed: bool = row.try_get(at + 1).map_err(failed("read messages"))?;
        self.unpack(raw, packed)
    }
}

fn record(row: &tokio_postgres::Row) -> Result<MessageRecord> {
    let json: String = row.try_get(0).map_err(failed("read messages"))?;
    serde_json::from_str(&json).map_err(corrupt("message"))
}

impl Messages for PgEngine {
    fn messages(&self, ticket: u64) -> Result<Vec<(MessageRecord, Vec<u8>)>> {
        self.message_rows(ticket, true)?
            .iter()
            .map(|row| Ok((record(row)?, self.mail(row, 1)?)))
            .collect()
    }

    fn message_records(&self, ticket: u64) -> Result<Vec<MessageRecord>> {
        self.message_rows(ticket, false)?
            .iter()
            .map(record)
            .collect()
    }

    fn raw_message(&self, ticket: u64, seq: u32) -> Result<Option<Vec<u8>>> {
        let Ok(n) = i64::try_from(ticket) else {
            return Ok(None);
        };
        self.rows(
            "read a message",
            "SELECT raw, packed FROM messages WHERE ticket = $1 AND seq = $2",
            &[&n, &i64::from(seq)],
        )?
        .first()
        .map(|row| self.mail(row, 0))
        .transpose()
    }

    /// Keyset pages by number, [`TICKET_BATCH`] at a time: one round trip
    /// a batch, memory bounded by a batch, and no connection held between
    /// batches (a slow reader does not pin one of the pool's).
    fn tickets(&self) -> Box<dyn Iterator<Item = Result<Ticket>> + '_> {
        Box::new(TicketPages {
            engine: self,
            after: 0,
            buffer: VecDeque::new(),
            done: false,
        })
    }

    fn ticket_count(&self) -> Result<u64> {
        let n: Option<i64> = self.one("count tickets", "SELECT count(*) FROM tickets", &[])?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }
}

struct TicketPages<'a> {
    engine: &'a PgEngine,
    /// The last number read.
    after: i64,
    buffer: VecDeque<Ticket>,
    done: bool,
}

impl TicketPages<'_> {
    fn fill(&mut self) -> Result<()> {
        let rows = self.engine.rows(
            "read tickets",
            "SELECT number, record::text FROM tickets WHERE number > $1 ORDER BY number LIMIT $2",
            &[&self.after, &TICKET_BATCH],
        )?;
        self.done = (rows.len() as i64) < TICKET_BATCH;
        for row in &rows {
            self.after = row.try_get(0).map_err(failed("read tickets"))?;
            let json: String = row.try_get(1).map_err(failed("read tickets"))?;
            self.buffer
                .push_back(serde_json::from_str(&json).map_err(corrupt("ticket"))?);
        }
        Ok(())
    }
}

impl Iterator for TicketPages<'_> {
    type Item = Result<Ticket>;

    fn next(&mut self) -> Option<Result<Ticket>> {
        if self.buffer.is_empty() && !self.done {
            if let Err(e) = self.fill() {
                // One error, then the end: a reader does not loop on it.
                self.done = true;
                self.buffer.clear();
                return Some(Err(e));
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}
