//! Health over sled: a probe record in `meta`, the sticky failure, the
//! trees' sizes and the read counters; and the sled-only layout version
//! that opening a store checks and migrates.

use super::*;
use crate::store::engine::Health;

impl Health for Sled {
    fn probe(&self) -> Result<()> {
        let now = chrono::Utc::now().timestamp().to_be_bytes();
        self.meta
            .insert("probe", &now[..])
            .map_err(self.io("write a probe"))?;
        self.db.flush().map_err(self.io("flush"))?;
        Ok(())
    }

    fn fault(&self) -> &fault::Fault {
        &self.fault
    }

    fn space(&self) -> Result<Vec<usage::Space>> {
        space(&self.db).map_err(self.io("measure the store"))
    }

    fn usage(&self) -> (u64, u64) {
        self.usage.counts()
    }
}

/// The layout's own version (`meta` `schema_version`): sled-only, read and
/// moved on by [`Store::open`], not part of the engine trait.
impl Sled {
    /// The stored layout version; `None` on a new (or emptied) store.
    pub fn layout_version(&self) -> Result<Option<u32>> {
        Ok(self
            .meta
            .get(KEY_SCHEMA)
            .map_err(self.io("read schema version"))?
            .and_then(|v| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))))
    }

    /// Records the layout version (made durable by the caller's flush).
    pub fn set_layout_version(&self, version: u32) -> Result<()> {
        self.meta
            .insert(KEY_SCHEMA, &version.to_be_bytes())
            .map_err(self.io("write schema version"))?;
        Ok(())
    }

    /// Drops the ticket-to-deadline index that layouts before 3 kept.
    pub fn clear_legacy_timers(&self) -> Result<()> {
        self.ticket_timer
            .clear()
            .map_err(self.io("clear the ticket-timer index"))
    }
}

/// [`usage::Space`] of every tree of `db`, by name.
fn space(db: &sled::Db) -> sled::Result<Vec<usage::Space>> {
    let mut names = db.tree_names();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut s = usage::Space {
            tree: String::from_utf8_lossy(&name).into_owned(),
            ..usage::Space::default()
        };
        for r in db.open_tree(&name)?.iter() {
            let (k, v) = r?;
            s.records += 1;
            s.key_bytes += k.len() as u64;
            s.value_bytes += v.len() as u64;
        }
        out.push(s);
    }
    Ok(out)
}
