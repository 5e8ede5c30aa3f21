//! `postdesk import`: bringing an old mailbox into the desk as history.
//!
//! Imported mail keeps its own dates and is never answered. Durability is
//! batched: one flush every `intake.batch` messages instead of one each,
//! which is what makes import fast. That is safe because an import can
//! always be run again: everything already stored is recognized by its
//! Message-ID (or content hash) and skipped, so a crash or a kill mid-way
//! costs at most one batch of work, never a lost or doubled message.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::api::{Outcome, Request, Response};
use crate::backend::{Backend, BackendError};
use crate::source::maildir::Maildir;
use crate::source::mbox::MboxReader;
use crate::ticket::Status;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("stopped at message {index} of {path}: {message}\n  hint: fix the cause and run the same import again; what is stored already is skipped")]
    Store {
        path: PathBuf,
        index: u64,
        message: String,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Format {
    Mbox,
    Maildir,
}

/// What an import did, printed at the end (and as JSON with `--json`).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub messages: u64,
    pub stored: u64,
    pub new_tickets: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub seconds: f64,
    pub per_second: f64,
}

pub struct Options<'a> {
    pub inbox: Option<&'a str>,
    pub status: Status,
    pub batch: usize,
    pub progress: bool,
}

pub fn run(
    backend: &mut Backend,
    format: Format,
    path: &Path,
    opts: &Options<'_>,
) -> Result<Summary, ImportError> {
    let read_err = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let started = Instant::now();
    let mut summary = Summary::default();
    match format {
        Format::Mbox => {
            let file = File::open(path).map_err(read_err)?;
            let total = file.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = progress_bar(opts.progress, total, "{bytes}/{total_bytes}");
            let mut reader = MboxReader::new(BufReader::with_capacity(1 << 20, file));
            let mut index = 0u64;
            while let Some(raw) = reader.next() {
                let raw = raw.map_err(read_err)?;
                index += 1;
                let origin = format!("import:{}#{index}", path.display());
                one(backend, raw, origin, opts, &mut summary, path, index)?;
                bar.set_position(reader.position);
            }
            bar.finish_and_clear();
        }
        Format::Maildir => {
            let md = Maildir::open(path).map_err(read_err)?;
            let files = md.all().map_err(read_err)?;
            let bar = progress_bar(opts.progress, files.len() as u64, "{pos}/{len}");
            for (i, file) in files.iter().enumerate() {
                let raw = std::fs::read(file).map_err(|source| ImportError::Read {
                    path: file.clone(),
                    source,
                })?;
                let origin = format!("import:{}", file.display());
                one(backend, raw, origin, opts, &mut summary, path, i as u64 + 1)?;
                bar.inc(1);
            }
            bar.finish_and_clear();
        }
    }
    flush(backend, path, summary.messages)?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.per_second = summary.messages as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}

fn one(
    backend: &mut Backend,
    raw: Vec<u8>,
    origin: String,
    opts: &Options<'_>,
    summary: &mut Summary,
    path: &Path,
    index: u64,
) -> Result<(), ImportError> {
    let resp = backend.call(Request::Ingest {
        inbox: opts.inbox.map(str::to_string),
        origin,
        import_status: Some(opts.status),
        durable: false,
        raw,
    })?;
    summary.messages += 1;
    match resp {
        Response::Ingested(Outcome::Stored { created, .. }) => {
            summary.stored += 1;
            summary.new_tickets += u64::from(created);
        }
        Response::Ingested(Outcome::Duplicate { .. }) => summary.duplicates += 1,
        Response::Ingested(Outcome::Quarantined { .. }) => summary.quarantined += 1,
        Response::Error { message, .. } => {
            return Err(ImportError::Store {
                path: path.to_path_buf(),
                index,
                message,
            })
        }
        other => {
            return Err(ImportError::Store {
                path: path.to_path_buf(),
                index,
                message: format!("unexpected answer {other:?}"),
            })
        }
    }
    if summary.messages.is_multiple_of(opts.batch.max(1) as u64) {
        flush(backend, path, index)?;
    }
    Ok(())
}

fn flush(backend: &mut Backend, path: &Path, index: u64) -> Result<(), ImportError> {
    match backend.call(Request::Flush)? {
        Response::Flushed => Ok(()),
        Response::Error { message, .. } => Err(ImportError::Store {
            path: path.to_path_buf(),
            index,
            message,
        }),
        other => Err(ImportError::Store {
            path: path.to_path_buf(),
            index,
            message: format!("unexpected answer {other:?}"),
        }),
    }
}

fn progress_bar(show: bool, total: u64, counts: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let template =
        format!("{{spinner}} importing [{{bar:40}}] {counts} ({{per_sec}}, eta {{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
