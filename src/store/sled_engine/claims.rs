//! Claims on sled: one process opens the store and runs one sender, so
//! every entry is this sender's.

use super::*;
use crate::outbox::Entry;
use crate::store::engine::{Claims, Outbox};

impl Claims for Sled {
    fn claim_in_flight(&self, _now: DateTime<Utc>, _node: &str) -> Result<Vec<Entry>> {
        Ok(self
            .queued_outbox()?
            .into_iter()
            .filter(|e| e.in_flight)
            .collect())
    }

    fn update_claimed(&self, changes: &[(Entry, Entry)], _node: &str) -> Result<Vec<u64>> {
        self.update_unchanged(changes)
    }

    fn update_unchanged(&self, changes: &[(Entry, Entry)]) -> Result<Vec<u64>> {
        let mut ids = Vec::with_capacity(changes.len());
        for (old, _) in changes {
            if self
                .outbox
                .contains_key(old.id.to_be_bytes())
                .map_err(self.io("read outbox"))?
            {
                ids.push(old.id);
            }
        }
        self.update_outbox(changes)?;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}
