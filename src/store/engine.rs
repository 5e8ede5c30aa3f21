//! The seam between the store's facade ([`super::Store`]) and where the
//! records are kept (sled today, PostgreSQL next: issue 20). The design and
//! what is still to move behind it: `src/store/ENGINE.md`.
//!
//! An engine answers from *stored* state only. What intake has decided but
//! not yet written is the facade's [`super::Staged`] set, read first by the
//! facade, so that rule is written once for every engine; the engine sees
//! a staged set only when it writes it, whole, as one transaction. That
//! one write is what keeps the invariants on every engine: a decision's
//! ticket, messages, outgoing mail, counters, caps and the source's cursor
//! are stored together or not at all.
//!
//! The trait is synchronous: the store is called from blocking threads
//! (the daemon reaches it through `spawn_blocking`), so an engine over an
//! async client blocks on its runtime inside each primitive.
//!
//! The trait is the sum of one trait per concept, each in its own file
//! under `engine/`, so that each concept's primitives (and their sled and
//! PostgreSQL implementations, in `sled_engine/` and `pg/engine/`) are
//! read and grown together.

mod backup;
mod claims;
mod customers;
mod guard;
mod health;
mod intake;
mod listing;
mod messages;
pub mod outbox;
mod privacy;
mod quarantine;
mod shared;
mod timers;

pub use backup::Backup;
pub use claims::Claims;
pub use customers::Customers;
pub use guard::Guard;
pub use health::Health;
pub use intake::Intake;
pub use listing::Listing;
pub use messages::Messages;
pub use outbox::Outbox;
pub use privacy::Privacy;
pub use quarantine::Quarantine;
pub use shared::Shared;
pub use timers::Timers;

/// Every primitive a store needs, on one engine.
pub trait Engine:
    Intake
    + Messages
    + Customers
    + Listing
    + Privacy
    + Backup
    + Outbox
    + Claims
    + Quarantine
    + Guard
    + Health
    + Timers
    + Shared
    + Send
    + Sync
{
}

impl<T> Engine for T where
    T: Intake
        + Messages
        + Customers
        + Listing
        + Privacy
        + Backup
        + Outbox
        + Claims
        + Quarantine
        + Guard
        + Health
        + Timers
        + Shared
        + Send
        + Sync
{
}
