//! postdesk: a support desk that runs entirely over email.
//!
//! The shape (see DESIGN.md): sources hand raw bytes to the [`desk`], which
//! parses them ([`mail`]), gathers what the [`store`] knows, lets the pure
//! core ([`thread`], [`decide`]) choose, and writes the result in one
//! transaction. Commands reach the desk through a [`backend`]: the running
//! daemon's [`control`] socket, or the store opened directly.

pub mod agent;
pub mod api;
pub mod backend;
pub mod backup;
pub mod bounce;
pub mod calendar;
pub mod caps;
pub mod cli;
pub mod command;
pub mod compose;
pub mod config;
pub mod control;
pub mod daemon;
pub mod decide;
pub mod desk;
pub mod eta;
pub mod fuzzing;
pub mod guard;
pub mod kb;
pub mod lifecycle;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod report;
pub mod rules;
pub mod source;
/// Imports moved under [`source`]; the old path keeps working.
pub use source::import;
pub mod status;
pub mod store;
pub mod systemd;
pub mod templates;
pub mod thread;
pub mod ticket;
pub mod token;
pub mod transport;
