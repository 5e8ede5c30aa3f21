//! Where mail comes from. Each source hands raw bytes to the desk and marks a
//! message done at its origin only after the store has flushed it.

pub mod batch;
pub mod imap;
pub mod import;
pub mod maildir;
pub mod mbox;
pub mod pipe;
