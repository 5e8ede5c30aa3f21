//! Delivery by an MTA: `postdesk ingest` reads one message from stdin (or
//! one per file named) and tells the MTA by its exit status what became
//! of it. Exit 0 is this source's "mark done": the MTA forgets the
//! message, so it comes only after the flush (the rule in
//! [`super::batch`]). Everything goes through the [`Backend`], so the
//! running daemon stores it when there is one.
//!
//! The exit statuses are the sysexits.h codes MTAs act on: 0 stored
//! (also already stored, or kept in quarantine); 65 not mail at all,
//! though the bytes are still quarantined; 75 the store is unavailable
//! and the MTA keeps the message and retries, which loses nothing where
//! any other failure would bounce it.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::batch::{self, BackendSinkError, ToBackend};
use crate::api::{Outcome, Response};
use crate::backend::{Backend, BackendError};
use crate::config::Config;

/// The message was not mail; its bytes are in the quarantine.
pub const EX_DATAERR: u8 = 65;
/// The desk refused the message for good (a bug, not a busy store).
pub const EX_SOFTWARE: u8 = 70;
/// Try again later: nothing was lost.
pub const EX_TEMPFAIL: u8 = 75;

#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    /// Neither a daemon nor the store itself could be reached.
    #[error("{0}")]
    Connect(BackendError),
    #[error("cannot read the message from stdin: {0}")]
    Stdin(std::io::Error),
    #[error("cannot read {}: {source}", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", .path.display())]
    Refused {
        path: PathBuf,
        message: String,
        retry: bool,
    },
    #[error("unexpected answer {0:?}")]
    Unexpected(Box<Response>),
    #[error("{}: {source}", .path.display())]
    Backend { path: PathBuf, source: BackendError },
}

impl PipeError {
    /// What the MTA is told. A file named on the command line that cannot
    /// be read is an admin's mistake, not a delivery: the usual exit 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            PipeError::Refused { retry: false, .. } => EX_SOFTWARE,
            PipeError::File { .. } => 1,
            _ => EX_TEMPFAIL,
        }
    }
}

/// Stores each of `files` (`-` or none: stdin) in order, each made
/// durable before `delivered` is told and the next one is read. Returns
/// the exit status; an error stops at the message it names, those before
/// it stay stored.
pub fn run(
    config: Config,
    files: Vec<PathBuf>,
    inbox: Option<String>,
    delivered: impl FnMut(&Path, &Outcome),
) -> Result<u8, PipeError> {
    let mut backend = Backend::connect(config).map_err(PipeError::Connect)?;
    let inputs = if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files
    };
    let mut sink = ToBackend {
        backend: &mut backend,
        inbox,
        import_status: None,
        // One message per batch: the daemon flushes before it answers,
        // one round trip instead of two.
        durable_each: true,
        one_by_one: false,
    };
    let mut done = Delivered { delivered, code: 0 };
    for path in inputs {
        let message = read(&path)?;
        let stored = batch::run(&mut sink, &mut done, [(path.clone(), message)]);
        let error = match stored {
            Ok(s) => match s.refused {
                Some((_, e)) => e,
                None => continue,
            },
            Err(e) => e,
        };
        return Err(match error {
            BackendSinkError::Refused { message, retry } => PipeError::Refused {
                path,
                message,
                retry,
            },
            BackendSinkError::Unexpected(r) => PipeError::Unexpected(r),
            BackendSinkError::Backend(source) => PipeError::Backend { path, source },
            // The pipe has no cursor; should that change, the MTA retries.
            e @ BackendSinkError::NoCursor => PipeError::Refused {
                path,
                message: e.to_string(),
                retry: true,
            },
        });
    }
    Ok(done.code)
}

/// One message as (origin, bytes).
fn read(path: &Path) -> Result<(String, Vec<u8>), PipeError> {
    if path.as_os_str() == "-" {
        let mut raw = Vec::new();
        std::io::stdin()
            .read_to_end(&mut raw)
            .map_err(PipeError::Stdin)?;
        return Ok(("pipe:stdin".to_string(), raw));
    }
    let raw = std::fs::read(path).map_err(|source| PipeError::File {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((format!("file:{}", path.display()), raw))
}

/// The pipe's side of the batch rule: a durable message is reported, and
/// one that was not mail sets the exit status the MTA sees.
struct Delivered<F> {
    delivered: F,
    code: u8,
}

impl<F: FnMut(&Path, &Outcome)> batch::Source for Delivered<F> {
    type Key = PathBuf;

    fn mark_done(&mut self, done: Vec<(PathBuf, Outcome)>) {
        for (path, outcome) in done {
            (self.delivered)(&path, &outcome);
            if let Outcome::Quarantined { not_mail: true, .. } = outcome {
                self.code = EX_DATAERR;
            }
        }
    }
}
