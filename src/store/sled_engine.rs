//! The sled engine: the trees of the layout in [`super`] (module docs) and
//! the primitives of [`super::engine::Engine`] over them. Kept apart from
//! the facade so that a second engine (PostgreSQL) can stand beside it;
//! the name is not `sled` so that it does not shadow the crate. One file
//! per concept trait under `sled_engine/`; the outbox's is `outgoing` (as
//! the facade's), since `outbox` would shadow the crate's module here.

use super::*;

pub(super) mod backup;
mod claims;
mod customers;
mod guard;
mod health;
mod intake;
pub(super) mod listing;
mod messages;
mod outgoing;
mod privacy;
mod quarantine;
pub(super) mod rewrite;
mod shared;
mod timers;

/// Checked at build time: the engine has every primitive of the seam.
const _: fn() = || {
    fn engine<T: super::engine::Engine>() {}
    engine::<Sled>();
};

/// One sled database and its trees, one per kind of record.
pub(super) struct Sled {
    pub db: sled::Db,
    pub meta: usage::Tree,
    pub tickets: usage::Tree,
    pub messages: usage::Tree,
    pub msgids: usage::Tree,
    pub customers: usage::Tree,
    pub quarantine: usage::Tree,
    pub qraw: usage::Tree,
    pub cursors: usage::Tree,
    pub outbox: usage::Tree,
    pub outq: usage::Tree,
    pub notified: usage::Tree,
    pub timers: usage::Tree,
    pub ticket_timer: usage::Tree,
    pub ticket_index: usage::Tree,
    pub guard: usage::Tree,
    pub usage: std::sync::Arc<usage::Usage>,
    /// The first storage failure since opening; the daemon watches it.
    pub fault: std::sync::Arc<fault::Fault>,
    /// The mail dictionaries (kept in `meta`); replaced whole when one is
    /// trained. Sled-only: PostgreSQL packs without a dictionary.
    codec: std::sync::RwLock<std::sync::Arc<codec::Codec>>,
}

impl Sled {
    /// Opens (creating) the trees of an opened database.
    pub fn open_trees(db: sled::Db) -> Result<Sled> {
        let usage = std::sync::Arc::new(usage::Usage::default());
        let tree = |name: &str| {
            db.open_tree(name)
                .map(|t| usage::Tree::new(t, usage.clone()))
                .map_err(StoreError::io("open tree"))
        };
        Ok(Sled {
            meta: tree("meta")?,
            tickets: tree("tickets")?,
            messages: tree("messages")?,
            msgids: tree("msgids")?,
            customers: tree("customers")?,
            quarantine: tree("quarantine")?,
            qraw: tree("qraw")?,
            cursors: tree("cursors")?,
            outbox: tree("outbox")?,
            outq: tree("outq")?,
            notified: tree("notified")?,
            timers: tree("timers")?,
            ticket_timer: tree("ticket_timer")?,
            ticket_index: tree("ticket_index")?,
            guard: tree("guard")?,
            usage,
            fault: Default::default(),
            codec: Default::default(),
            db,
        })
    }

    /// How mail is packed now.
    pub fn codec(&self) -> std::sync::Arc<codec::Codec> {
        self.codec.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Packs new mail with these dictionaries from now on.
    pub fn set_codec(&self, codec: codec::Codec) {
        *self.codec.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(codec);
    }

    /// Like [`StoreError::io`], remembering a storage failure in
    /// [`Sled::fault`] on the way.
    pub fn io(&self, what: &'static str) -> impl FnOnce(sled::Error) -> StoreError + '_ {
        move |source| {
            if fails_storage(&source) {
                self.fault.record(&source);
            }
            StoreError::Io { what, source }
        }
    }
}

/// Whether a sled error means the storage itself failed (sled keeps an
/// I/O error for the life of the open database), not a missing tree or
/// an unsupported call.
fn fails_storage(error: &sled::Error) -> bool {
    matches!(
        error,
        sled::Error::Io(_) | sled::Error::Corruption { .. } | sled::Error::ReportableBug(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_storage_errors_count() {
        assert!(!fails_storage(&sled::Error::CollectionNotFound(
            sled::IVec::from("x")
        )));
        assert!(fails_storage(&sled::Error::Io(std::io::Error::other(
            "No space left on device",
        ))));
    }
}
