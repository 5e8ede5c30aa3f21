//! postdesk: a support desk that runs entirely over email.
//!
//! The shape (see DESIGN.md, "one decision path"): every event (mail from a
//! [`source`], a due timer, an admin's request, an agent's command) reaches
//! the [`desk`], which gathers what the [`store`] knows, lets the pure
//! [`core`] decide ([`decide`]), and writes the decision in one
//! transaction; the [`outbox`] worker then builds and sends the mail it
//! planned. Commands reach the desk through a [`backend`]: the running
//! daemon's [`control`] socket, or the store opened directly.

pub mod api;
pub mod backend;
pub mod backup;
pub mod bounce;
pub mod cli;
pub mod config;
pub mod control;
pub mod core;
pub mod daemon;
pub mod desk;
pub mod fuzzing;
pub mod kb;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod pg;
pub mod report;
pub mod rules;
pub mod source;
/// Imports moved under [`source`]; the old path keeps working.
pub use source::import;
pub mod status;
pub mod store;
pub mod systemd;
pub mod templates;
pub mod token;
pub mod transport;

// The pure core, where every decision is made (see `core`); re-exported so
// its modules keep their short paths (`postdesk::decide`, `crate::ticket`).
pub use crate::core::{
    agent, calendar, caps, command, compose, decide, eta, greeting, guard, language, lifecycle,
    privacy, thread, ticket,
};
