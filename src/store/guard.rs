//! What the guards remember per address: bounce marks and the times
//! automatic mail went to it lately (see `[guard]`).

use super::*;

impl Store {
    /// What the desk knows of a bounced address, staged value first.
    pub fn mark(&self, staged: &Staged, email: &str) -> Result<Option<bounce::Mark>> {
        if let Some(m) = staged.marks.get(&email.trim().to_ascii_lowercase()) {
            return Ok(m.clone());
        }
        self.engine().mark(email)
    }

    /// Marks (or with `None` unmarks) an address with the staged intakes.
    pub fn stage_mark(&self, staged: &mut Staged, email: &str, mark: Option<bounce::Mark>) {
        staged.marks.insert(email.trim().to_ascii_lowercase(), mark);
    }

    /// Every marked address, in address order.
    pub fn marks(&self) -> Result<Vec<bounce::Mark>> {
        self.engine().marks()
    }

    /// When automatic mail last went to this address (what the caps still
    /// need), staged value first.
    pub fn auto_sent(&self, staged: &Staged, email: &str) -> Result<Vec<DateTime<Utc>>> {
        if let Some(t) = staged.auto_sent.get(&email.trim().to_ascii_lowercase()) {
            return Ok(t.clone());
        }
        self.engine().auto_sent(email)
    }

    /// Records automatic mail to an address, written in the same
    /// transaction as the outbox entries it counts: a crash can neither
    /// send uncounted mail nor count mail that was never queued.
    pub fn stage_auto_sent(&self, staged: &mut Staged, email: &str, times: Vec<DateTime<Utc>>) {
        staged
            .auto_sent
            .insert(email.trim().to_ascii_lowercase(), times);
    }
}
