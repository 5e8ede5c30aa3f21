//! The pure core: every decision postdesk makes, and nothing else.
//!
//! Every change to a ticket is decided here ([`decide`]), from an event and
//! the evidence the shell gathered, and comes back as data for the shell to
//! write. These modules do no I/O and read no clock: no tokio, no sled, no
//! `std::fs`, no `std::net`, no `Utc::now()`; `now` is an argument. A CI
//! check (`.ci/core-is-pure`) keeps it so. That is what makes nearly all
//! of postdesk's behaviour testable in a few lines without a disk, a
//! server or a wait, and what lets the admin's command line, an agent's
//! mail and a timer share one decision.
//!
//! Beside the decision: threading ([`thread`]), the lifecycle and its
//! timers ([`lifecycle`], business-hours [`calendar`]s, the
//! acknowledgement's [`eta`]), the guards ([`guard`], [`caps`]), who wrote
//! a message ([`agent`]), the commands ([`command`]), the mail a decision
//! sends as plans ([`compose`]) and the outbox's records ([`outbox`]).
//! The pure helpers the core reads mail and rules with live in
//! [`crate::mail`], [`crate::rules`] and [`crate::templates`], and the same
//! check covers them (but for the files that load them from disk).

pub mod agent;
pub mod calendar;
pub mod caps;
pub mod command;
pub mod compose;
pub mod decide;
pub mod eta;
pub mod greeting;
pub mod guard;
pub mod language;
pub mod lifecycle;
pub mod outbox;
pub mod privacy;
pub mod thread;
pub mod ticket;
