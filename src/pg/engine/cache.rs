//! What a decision read, remembered while this node holds the write turn.
//!
//! Intake on PostgreSQL is bound by round trips, not CPU: a message costs
//! about five small reads (its Message-IDs, the sender's guard records,
//! the sender's tickets, the highest ticket number, a ticket), each a
//! round trip of a few hundred microseconds, where sled answers from
//! memory. While this node holds the turn, no other node can change what
//! those reads answer: every write of tickets, Message-IDs, customers and
//! guard records is made by a decision holding the turn (or, for an
//! erasure and a restore, under the same transaction lock as this node's
//! writes, which clear the cache). So what was read once stays true until
//! this node writes, and the batch's reads can be asked in a few
//! statements for all of its messages at once ([`PgEngine::prefetch`]).
//!
//! The cache exists only while the turn is held ([`PgEngine::enter`] to
//! [`PgEngine::leave`]) and is emptied by every write this node makes, so
//! it never answers from before a commit.

use std::collections::HashMap;

use super::{corrupt, failed, PgEngine, Result};
use crate::store::IdEntry;
use crate::ticket::Ticket;

/// One turn's reads. Absent keys are remembered too (`None`, or an
/// empty list): "no ticket answers this Message-ID" is the answer intake
/// asks for most.
#[derive(Default)]
pub(super) struct TurnCache {
    pub last_ticket: Option<u64>,
    /// Outgoing mail is queued only by decisions (under the turn).
    pub last_outbox: Option<u64>,
    pub ids: HashMap<String, Option<IdEntry>>,
    pub tickets: HashMap<u64, Option<Ticket>>,
    /// By (kind, lowercased address): the guard's JSON record.
    pub guards: HashMap<(&'static str, String), Option<String>>,
    /// By lowercased address: the tickets they asked, in number order.
    pub customers: HashMap<String, Vec<u64>>,
}

/// How many keys one prefetch statement takes at most; a batch asks for
/// a few hundred.
const PREFETCH_MAX: usize = 4096;

/// The cache and its generation: every start, stop and forget bumps the
/// generation, and an answer read from the database is remembered only
/// if the generation is still the one seen before the read. A read that
/// another thread began before this node's commit therefore cannot put
/// its answer, older than the commit, into the cache after it.
#[derive(Default)]
pub(super) struct Slot {
    generation: u64,
    turn: Option<TurnCache>,
}

impl PgEngine {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The remembered answer, or (on a miss) the generation to remember
    /// the database's answer under ([`PgEngine::remember`]).
    pub(super) fn recall<T>(
        &self,
        f: impl FnOnce(&TurnCache) -> Option<T>,
    ) -> std::result::Result<T, Option<u64>> {
        let slot = self.slot();
        match &slot.turn {
            Some(c) => f(c).ok_or(Some(slot.generation)),
            None => Err(None),
        }
    }

    /// Keeps what was read under `generation`, if nothing changed since.
    pub(super) fn remember(&self, generation: Option<u64>, f: impl FnOnce(&mut TurnCache)) {
        let mut slot = self.slot();
        if Some(slot.generation) != generation {
            return;
        }
        if let Some(c) = slot.turn.as_mut() {
            f(c);
        }
    }

    /// Starts remembering (the turn was taken) or stops (given back).
    pub(super) fn set_caching(&self, on: bool) {
        let mut slot = self.slot();
        slot.generation += 1;
        slot.turn = on.then(TurnCache::default);
    }

    /// Forgets what was read, keeping the cache on: this node wrote.
    pub(super) fn forget_reads(&self) {
        let mut slot = self.slot();
        slot.generation += 1;
        if let Some(c) = slot.turn.as_mut() {
            *c = TurnCache::default();
        }
    }

    /// Forgets what was read after a write made behind, keeping what it
    /// knows of the highest ticket number and outbox id: the batch's own
    /// highest ones, or the table's before it.
    pub(super) fn forget_reads_keeping_lasts(&self, ticket: u64, outbox: u64) {
        let mut slot = self.slot();
        slot.generation += 1;
        if let Some(c) = slot.turn.as_mut() {
            let last_ticket = c.last_ticket.map(|t| t.max(ticket));
            let last_outbox = c.last_outbox.map(|o| o.max(outbox));
            *c = TurnCache {
                last_ticket,
                last_outbox,
                ..TurnCache::default()
            };
        }
    }

    /// Reads what deciding the coming messages will ask, in four
    /// statements instead of a few per message: the index entries of
    /// `ids` (Message-ID keys), the guard records and tickets of
    /// `addresses` (lowercased), and the tickets those entries name.
    /// Only while this node holds the turn; otherwise nothing is kept.
    pub fn prefetch(&self, ids: &[String], addresses: &[String]) -> Result<()> {
        let what = "read ahead for a batch";
        let (generation, ids, addresses) = {
            let slot = self.slot();
            let Some(c) = &slot.turn else {
                return Ok(());
            };
            // Each key once: the lookups below join on these lists, so a
            // repeated address would repeat its tickets.
            let mut seen = std::collections::HashSet::new();
            let ids: Vec<String> = ids
                .iter()
                .filter(|k| !c.ids.contains_key(*k) && seen.insert(k.as_str()))
                .take(PREFETCH_MAX)
                .cloned()
                .collect();
            let mut seen = std::collections::HashSet::new();
            let addresses: Vec<String> = addresses
                .iter()
                .filter(|a| !c.customers.contains_key(*a) && seen.insert(a.as_str()))
                .take(PREFETCH_MAX)
                .cloned()
                .collect();
            (Some(slot.generation), ids, addresses)
        };
        if ids.is_empty() && addresses.is_empty() {
            return Ok(());
        }
        let id_keys: Vec<&[u8]> = ids.iter().map(|k| k.as_bytes()).collect();
        let emails: Vec<&[u8]> = addresses.iter().map(|a| a.as_bytes()).collect();
        // Not waiting for a batch being written behind: its changes are
        // merged into the answers below instead.
        let (id_rows, guard_rows, customer_rows) = self.rt.block_on(async {
            let client = self.client_now(what).await?;
            // Pipelined: the three go out before the first answer is in.
            //
            // The Message-ID and customer lookups are one index probe per
            // key, written so that the planner cannot choose otherwise
            // (`LIMIT 1` and `OFFSET 0` keep each lateral subquery from
            // being flattened into a join). With `key = ANY($1)` it
            // scanned the whole table for every batch until the table
            // held some 150,000 keys: the planner prices the few hundred
            // probes as uncached random reads. Those scans were a third
            // of the server's time in a 100k import (benches/RESULTS.md,
            // "session 11").
            let (by_key, by_email): (
                [&(dyn tokio_postgres::types::ToSql + Sync); 1],
                [&(dyn tokio_postgres::types::ToSql + Sync); 1],
            ) = ([&id_keys], [&emails]);
            //
            // The Message-IDs' rows come with the tickets they name (a
            // reply's ticket is read next), each once, in the same
            // statement: rows without a key are tickets.
            let (i, g, c) = tokio::join!(
                client.query(
                    "WITH m AS MATERIALIZED (SELECT m.key, m.kind, m.ticket \
                     FROM unnest($1::bytea[]) AS k(key) \
                     CROSS JOIN LATERAL (SELECT key, kind, ticket FROM msgids \
                     WHERE msgids.key = k.key LIMIT 1) AS m) \
                     SELECT key, kind, ticket, NULL::text FROM m \
                     UNION ALL \
                     SELECT NULL, NULL, t.number, t.record::text \
                     FROM (SELECT DISTINCT ticket FROM m) AS d \
                     CROSS JOIN LATERAL (SELECT number, record FROM tickets \
                     WHERE tickets.number = d.ticket LIMIT 1) AS t",
                    &by_key,
                ),
                client.query(
                    "SELECT kind, email, record::text FROM guard WHERE email = ANY($1)",
                    &by_email,
                ),
                client.query(
                    "SELECT c.email, c.ticket FROM unnest($1::bytea[]) AS k(email) \
                     CROSS JOIN LATERAL (SELECT email, ticket FROM customers \
                     WHERE customers.email = k.email OFFSET 0) AS c \
                     ORDER BY c.email, c.ticket",
                    &by_email,
                ),
            );
            Ok::<_, crate::store::StoreError>((
                i.map_err(failed(what))?,
                g.map_err(failed(what))?,
                c.map_err(failed(what))?,
            ))
        })?;

        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        let mut found_ids: HashMap<String, Option<IdEntry>> =
            ids.iter().map(|k| (k.clone(), None)).collect();
        let mut tickets: HashMap<u64, Option<Ticket>> = HashMap::new();
        for row in &id_rows {
            let key: Option<Vec<u8>> = row.try_get(0).map_err(failed(what))?;
            let kind: Option<String> = row.try_get(1).map_err(failed(what))?;
            let ticket: i64 = row.try_get(2).map_err(failed(what))?;
            let record: Option<String> = row.try_get(3).map_err(failed(what))?;
            if let Some(record) = record {
                let t: Ticket = serde_json::from_str(&record).map_err(corrupt("ticket"))?;
                tickets.insert(ticket.max(0).unsigned_abs(), Some(t));
                continue;
            }
            let (Some(key), Some(kind)) = (key, kind) else {
                continue;
            };
            if let Some(kind) = super::intake::kind_of(&kind) {
                // A ticket named but gone is remembered as gone.
                tickets.entry(ticket.max(0).unsigned_abs()).or_insert(None);
                found_ids.insert(
                    text(key),
                    Some(IdEntry {
                        kind,
                        ticket: ticket.max(0) as u64,
                    }),
                );
            }
        }
        let mut guards: HashMap<(&'static str, String), Option<String>> = HashMap::new();
        for a in &addresses {
            for kind in GUARD_KINDS {
                guards.insert((kind, a.clone()), None);
            }
        }
        for row in &guard_rows {
            let kind: String = row.try_get(0).map_err(failed(what))?;
            let email: Vec<u8> = row.try_get(1).map_err(failed(what))?;
            let record: String = row.try_get(2).map_err(failed(what))?;
            if let Some(kind) = GUARD_KINDS.iter().find(|k| **k == kind) {
                guards.insert((kind, text(email)), Some(record));
            }
        }
        let mut customers: HashMap<String, Vec<u64>> =
            addresses.iter().map(|a| (a.clone(), Vec::new())).collect();
        for row in &customer_rows {
            let email: Vec<u8> = row.try_get(0).map_err(failed(what))?;
            let ticket: i64 = row.try_get(1).map_err(failed(what))?;
            customers
                .entry(text(email))
                .or_default()
                .push(ticket.max(0) as u64);
        }

        // Completed with the batch being written behind, if any: the
        // same answers whether its commit landed before these reads or
        // not ([`super::behind`]).
        if let Some(o) = self.overlay() {
            for (key, entry) in found_ids.iter_mut() {
                *entry = o.id(key, *entry);
            }
            for (key, record) in guards.iter_mut() {
                *record = o.guard(key, record.take());
            }
            for (email, list) in customers.iter_mut() {
                o.customer(email, list);
            }
            for (n, t) in o.tickets() {
                tickets.insert(n, Some(t.clone()));
            }
        }

        self.remember(generation, |c| {
            c.ids.extend(found_ids);
            c.guards.extend(guards);
            c.customers.extend(customers);
            for (n, t) in tickets {
                c.tickets.entry(n).or_insert(t);
            }
        });
        Ok(())
    }
}

/// The guard record kinds intake reads per sender.
const GUARD_KINDS: [&str; 2] = ["mark", "sent"];
