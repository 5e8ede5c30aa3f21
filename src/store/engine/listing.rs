//! Tickets a page at a time, recent tickets, and the report summaries.
//!
//! The facade clamps what a caller asks ([`crate::store::listing`]); an
//! engine answers from stored tickets in the one order both engines keep:
//! last update (whole milliseconds) newest first, then number, highest
//! first.

use chrono::{DateTime, Utc};

use crate::report::Summary;
use crate::store::{Cursor, Page, Result, TicketQuery};
use crate::ticket::Ticket;

/// Listing primitives over stored tickets.
pub trait Listing {
    /// Tickets answering `query`, newest update first, strictly after
    /// `after`; at most `limit` (already clamped to 1..=[`MAX_PAGE`]),
    /// having passed over at most [`SCAN_BUDGET`] candidates. `next` is
    /// the last candidate passed over when there may be more.
    ///
    /// [`MAX_PAGE`]: crate::store::listing::MAX_PAGE
    /// [`SCAN_BUDGET`]: crate::store::listing::SCAN_BUDGET
    fn ticket_page(&self, query: &TicketQuery, after: Option<Cursor>, limit: usize)
        -> Result<Page>;

    /// Every ticket updated at or after `since` (to the millisecond),
    /// newest first, read lazily: what is read grows with the desk's
    /// recent activity, not with its history.
    fn tickets_updated_since(
        &self,
        since: DateTime<Utc>,
    ) -> Box<dyn Iterator<Item = Result<Ticket>> + '_>;

    /// Calls `f` with the report summary of every ticket, one at a time,
    /// in bounded memory, in no order a caller may rely on (sled hands them
    /// oldest update first, PostgreSQL in its table's order): every reader
    /// is a fold that any order gives the same answer.
    fn for_each_summary(&self, f: &mut dyn FnMut(&Summary<'_>)) -> Result<()>;
}
