//! The mark beside a sled store (`store.mark`): what it held durably at
//! its last clean stop or checkpoint, so that a store sled opens damaged
//! (truncated, overwritten) is refused instead of taken for a new one.

use super::*;

/// What the store held durably at its last clean stop or at the daemon's
/// last checkpoint (`store.mark` beside it; `closed` is when).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Mark {
    created: String,
    closed: String,
    pub(super) last_ticket: u64,
    pub(super) last_outbox: u64,
}

impl Mark {
    pub(super) fn read(dir: &Path) -> Option<Mark> {
        let text = std::fs::read(dir.join("store.mark")).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

/// sled reads a truncated or garbled log up to the damage and opens
/// what it found, silently: a store cut to nothing opens empty. The mark
/// beside the store (written at creation and at each clean close) says
/// what it held, so such a store is refused instead of being taken for a
/// new one and written over.
pub(super) fn check_against(s: &sled_engine::Sled, path: &Path, mark: &Option<Mark>) -> Result<()> {
    use engine::Intake as _;
    let Some(mark) = mark else {
        return Ok(());
    };
    let damaged = |detail: String| {
        Err(StoreError::Damaged {
            path: path.to_path_buf(),
            detail,
        })
    };
    if s.layout_version()?.is_none() {
        return damaged(format!(
            "it was created {} but opens empty (its files were truncated or overwritten)",
            mark.created
        ));
    }
    let (tickets, outbox) = (s.last_ticket()?, s.last_outbox_id()?);
    if tickets < mark.last_ticket || outbox < mark.last_outbox {
        return damaged(format!(
            "it holds tickets up to #{tickets} and outgoing mail up to #{outbox}, but held #{} and #{} at {} (its last clean stop or checkpoint)",
            mark.last_ticket, mark.last_outbox, mark.closed
        ));
    }
    Ok(())
}

impl Store {
    /// Records what the store holds now, beside it (see
    /// [`check_against`]). Called at creation and after the last
    /// flush of a clean shutdown.
    pub fn write_mark(&self, dir: &Path) -> Result<()> {
        if self.sled().is_none() {
            // A database server guards its own files.
            return Ok(());
        }
        let (last_ticket, last_outbox) = (
            self.engine().last_ticket()?,
            self.engine().last_outbox_id()?,
        );
        self.put_mark(dir, last_ticket, last_outbox)
    }

    /// Flushes, then marks what was stored before the flush began: keys
    /// only grow, so the mark never claims more than is durable, and
    /// damage to what was written since the last clean stop is noticed
    /// too. The daemon does this every minute.
    pub fn checkpoint_mark(&self, dir: &Path) -> Result<()> {
        if self.sled().is_none() {
            return Ok(());
        }
        let (last_ticket, last_outbox) = (
            self.engine().last_ticket()?,
            self.engine().last_outbox_id()?,
        );
        self.flush()?;
        self.put_mark(dir, last_ticket, last_outbox)
    }

    fn put_mark(&self, dir: &Path, last_ticket: u64, last_outbox: u64) -> Result<()> {
        let now = Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let mark = Mark {
            created: Mark::read(dir).map_or_else(|| now.clone(), |m| m.created),
            closed: now,
            last_ticket,
            last_outbox,
        };
        let tmp = dir.join("store.mark.tmp");
        let written = std::fs::write(&tmp, json(&mark))
            .and_then(|()| std::fs::rename(&tmp, dir.join("store.mark")));
        if let Err(e) = written {
            // The mark guards against damage; not having one is no damage.
            tracing::warn!(error = %e, "cannot write store.mark beside the store");
        }
        Ok(())
    }
}
