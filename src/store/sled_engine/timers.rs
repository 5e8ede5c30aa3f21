//! Timers over the `timers` index: one process, nothing to claim against.

use super::*;
use crate::store::engine::{Intake, Timers};

impl Timers for Sled {
    fn claim_due_tickets(&self, now: DateTime<Utc>, limit: usize, _node: &str) -> Result<Vec<u64>> {
        self.due_tickets(now, limit)
    }
}
