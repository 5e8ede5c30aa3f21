//! Tickets by last update, a page at a time: what an admin lists by
//! (`tickets list`, the API), the cursor a page ends at, and the reads of
//! recent tickets and report summaries. Engine-neutral: each engine keeps
//! tickets ordered by last update (whole milliseconds) and number, in the
//! same transaction as the tickets (sled: the `ticket_index` tree, see
//! `sled_engine::listing`; PostgreSQL: the `tickets_*` indexes), and
//! answers through [`super::engine::Listing`].
//!
//! A page reads O(page), whatever the number of tickets. Filters beyond
//! what the engine's index answers (and `--search`) are checked on the
//! ticket itself ([`TicketQuery::matches`], so both engines agree on
//! them); a scan stops after [`SCAN_BUDGET`] candidates and hands back a
//! cursor, so no request reads the whole desk in one go.

use super::*;
use crate::report::Summary;
use crate::ticket::Status;

/// Index entries one request may pass over before it answers with what it
/// found and a cursor (sparse filters, `--search`).
pub const SCAN_BUDGET: usize = 5_000;
/// The most tickets one answer carries; the CLI asks again for more.
pub const MAX_PAGE: usize = 500;

/// What an admin lists tickets by (`tickets list`); every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketQuery {
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub queue: Option<String>,
    /// The requester's address, any case.
    #[serde(default)]
    pub requester: Option<String>,
    /// The assignee's address, any case.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Words in the subject or the requester (name or address), any case.
    #[serde(default)]
    pub search: Option<String>,
    /// Only tickets updated at or after this.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

impl TicketQuery {
    /// Whether a ticket answers the query.
    pub fn matches(&self, t: &Ticket) -> bool {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        self.status.is_none_or(|s| s == t.status)
            && self.queue.as_ref().is_none_or(|q| *q == t.queue)
            && self
                .requester
                .as_ref()
                .is_none_or(|r| same(r, &t.requester.email))
            && self
                .assignee
                .as_ref()
                .is_none_or(|a| t.assignee.as_deref().is_some_and(|x| same(a, x)))
            && self.since.is_none_or(|s| t.updated >= s)
            && self.search.as_ref().is_none_or(|words| {
                let words = words.to_lowercase();
                let words = words.trim();
                t.subject.to_lowercase().contains(words)
                    || t.requester.email.to_lowercase().contains(words)
                    || t.requester
                        .name
                        .as_ref()
                        .is_some_and(|n| n.to_lowercase().contains(words))
            })
    }
}

/// Where a page ends: the last update and number of its last ticket. As
/// text `MS-NUMBER`, which scripts pass back with `--after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub updated_ms: u64,
    pub ticket: u64,
}

impl Cursor {
    /// Where a ticket as it stands sorts.
    pub fn of(t: &Ticket) -> Cursor {
        Cursor {
            updated_ms: updated_ms(t),
            ticket: t.number,
        }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.updated_ms, self.ticket)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Cursor, String> {
        let bad =
            || format!("`{s}` is not a cursor (as printed after `next:`, e.g. 1764928800000-42)");
        let (ms, n) = s.trim().split_once('-').ok_or_else(bad)?;
        Ok(Cursor {
            updated_ms: ms.parse().map_err(|_| bad())?,
            ticket: n.parse().map_err(|_| bad())?,
        })
    }
}

/// One answer to a listing: tickets newest first, and where to go on from
/// when there may be more.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub tickets: Vec<Ticket>,
    pub next: Option<Cursor>,
}

/// A ticket's last update in whole milliseconds (floored), as listings
/// order and page by it.
pub fn updated_ms(t: &Ticket) -> u64 {
    t.updated.timestamp_millis().max(0) as u64
}

impl Store {
    /// Tickets answering `query`, newest update first, after `after`; at
    /// most `limit` (and [`MAX_PAGE`]), having passed over at most
    /// [`SCAN_BUDGET`] index entries. `next` is set when there may be more.
    pub fn ticket_page(
        &self,
        query: &TicketQuery,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.engine()
            .ticket_page(query, after, limit.clamp(1, MAX_PAGE))
    }

    /// Every ticket updated at or after `since`, newest first, through the
    /// last-update index: what is read grows with the desk's recent
    /// activity, not with its history. A ticket created since then was
    /// updated since then too, so this is where figures about recent
    /// tickets (the acknowledgement's estimate) look.
    pub fn tickets_updated_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Iterator<Item = Result<Ticket>> + '_ {
        self.engine().tickets_updated_since(since)
    }

    /// Calls `f` with the report summary of every ticket, in last-update
    /// order, one at a time, without holding the desk in memory: what
    /// reports (`stats`), the least-open recount and the metrics' gauges
    /// read instead of full tickets.
    pub fn for_each_summary(&self, mut f: impl FnMut(&Summary<'_>)) -> Result<()> {
        self.engine().for_each_summary(&mut f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_as_text() {
        let c = Cursor {
            updated_ms: 1_764_928_800_000,
            ticket: 42,
        };
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        assert!("42".parse::<Cursor>().is_err());
        assert!("x-1".parse::<Cursor>().is_err());
    }
}
