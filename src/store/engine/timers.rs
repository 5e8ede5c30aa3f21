//! Ticket deadlines for several nodes: intake's [`super::Intake::due_tickets`]
//! reads what is due; a node that runs the timers claims them, so that two
//! nodes never run one ticket's timers at once.

use chrono::{DateTime, Utc};

use crate::store::Result;

pub trait Timers {
    /// Like [`super::Intake::due_tickets`], but each ticket returned is
    /// claimed by `node` until the ticket is next written (its new
    /// deadline ends the claim) or [`super::outbox::CLAIM_FOR`] passes,
    /// and tickets another node holds a live claim on are skipped. A node
    /// may take its own claims again. On an engine only one process
    /// opens, this is `due_tickets`.
    fn claim_due_tickets(&self, now: DateTime<Utc>, limit: usize, node: &str) -> Result<Vec<u64>>;
}
