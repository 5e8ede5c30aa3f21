//! Where mail comes from:
//!
//! - [`imap`]: one task per IMAP inbox, in the daemon;
//! - [`maildir`]: a local Maildir watched by the daemon;
//! - [`pipe`]: `postdesk ingest`, an MTA handing over one message at a time;
//! - [`import`]: `postdesk import`, an old mbox ([`mbox`]) or Maildir
//!   brought in as history.
//!
//! The rule they share, so that a crash anywhere loses nothing and doubles
//! nothing: store the batch, stage the cursor with it, flush, and only then
//! mark the messages done at their origin. It is written once, in
//! [`batch`]; a source only says what storing, its cursor and marking done
//! mean for it.

mod backoff;
pub mod batch;
pub mod imap;
pub mod import;
pub mod maildir;
pub mod mbox;
pub mod pipe;
