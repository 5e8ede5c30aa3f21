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
use crate::decide::Mode;
use crate::desk::{Desk, Prepared};
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
    let started = Instant::now();
    let mut summary = Summary::default();
    let bar = match format {
        Format::Mbox => {
            let total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            progress_bar(opts.progress, total, "{bytes}/{total_bytes}")
        }
        Format::Maildir => progress_bar(opts.progress, 0, "{pos}/{len}"),
    };
    match backend {
        Backend::Local(desk) => pipelined(desk, format, path, opts, &bar, &mut summary)?,
        Backend::Remote(_) => {
            read_messages(format, path, &bar, |index, origin, raw| {
                let resp = backend.call(Request::Ingest {
                    inbox: opts.inbox.map(str::to_string),
                    origin,
                    import_status: Some(opts.status),
                    durable: false,
                    raw,
                })?;
                let outcome = match resp {
                    Response::Ingested(o) => o,
                    Response::Error { message, .. } => return Err(stopped(path, index, message)),
                    other => {
                        return Err(stopped(path, index, format!("unexpected answer {other:?}")))
                    }
                };
                count(&mut summary, &outcome);
                if summary.messages.is_multiple_of(opts.batch.max(1) as u64) {
                    flush(backend, path, index)?;
                }
                Ok(())
            })?;
        }
    }
    bar.finish_and_clear();
    flush(backend, path, summary.messages)?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.per_second = summary.messages as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}

/// With the store in this process, parsing and compression run on a second
/// thread while this one decides and stages: on two cores that nearly
/// doubles the rate, and the order of messages is kept.
fn pipelined(
    desk: &Desk,
    format: Format,
    path: &Path,
    opts: &Options<'_>,
    bar: &ProgressBar,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    let mode = Mode::Import {
        status: opts.status,
    };
    // Messages cross threads in chunks: one wake-up per message costs
    // more than the parsing it hands over.
    const CHUNK: usize = 32;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(u64, Prepared)>>(8);
        let reader = scope.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            // A closed channel means the store side stopped; its error is
            // the one reported.
            let closed = |index| stopped(path, index, "the store side stopped".into());
            read_messages(format, path, bar, |index, origin, raw| {
                chunk.push((index, desk.prepare(raw, origin)));
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    tx.send(full).map_err(|_| closed(index))?;
                }
                Ok(())
            })?;
            if !chunk.is_empty() {
                tx.send(chunk).map_err(|_| closed(0))?;
            }
            Ok(())
        });
        let mut store_result = Ok(());
        'chunks: for chunk in rx {
            for (index, prepared) in chunk {
                let outcome = match desk.ingest_prepared(prepared, opts.inbox, mode) {
                    Ok(o) => o,
                    Err(e) => {
                        store_result = Err(stopped(path, index, e.to_string()));
                        break 'chunks;
                    }
                };
                count(summary, &outcome);
                if summary.messages.is_multiple_of(opts.batch.max(1) as u64) {
                    if let Err(e) = desk.flush() {
                        store_result = Err(stopped(path, index, e.to_string()));
                        break 'chunks;
                    }
                }
            }
        }
        let read_result = reader
            .join()
            .unwrap_or_else(|_| Err(stopped(path, 0, "the reader thread panicked".into())));
        store_result.and(read_result)
    })
}

/// Calls `each` with every message of the mailbox, in order.
fn read_messages(
    format: Format,
    path: &Path,
    bar: &ProgressBar,
    mut each: impl FnMut(u64, String, Vec<u8>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let read_err = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    match format {
        Format::Mbox => {
            let file = File::open(path).map_err(read_err)?;
            let mut reader = MboxReader::new(BufReader::with_capacity(1 << 20, file));
            let mut index = 0u64;
            while let Some(raw) = reader.next() {
                let raw = raw.map_err(read_err)?;
                index += 1;
                each(index, format!("import:{}#{index}", path.display()), raw)?;
                bar.set_position(reader.position);
            }
        }
        Format::Maildir => {
            let md = Maildir::open(path).map_err(read_err)?;
            let files = md.all().map_err(read_err)?;
            bar.set_length(files.len() as u64);
            for (i, file) in files.iter().enumerate() {
                let raw = std::fs::read(file).map_err(|source| ImportError::Read {
                    path: file.clone(),
                    source,
                })?;
                each(i as u64 + 1, format!("import:{}", file.display()), raw)?;
                bar.inc(1);
            }
        }
    }
    Ok(())
}

fn count(summary: &mut Summary, outcome: &Outcome) {
    summary.messages += 1;
    match outcome {
        Outcome::Stored { created, .. } => {
            summary.stored += 1;
            summary.new_tickets += u64::from(*created);
        }
        Outcome::Duplicate { .. } => summary.duplicates += 1,
        Outcome::Quarantined { .. } => summary.quarantined += 1,
    }
}

fn stopped(path: &Path, index: u64, message: String) -> ImportError {
    ImportError::Store {
        path: path.to_path_buf(),
        index,
        message,
    }
}

fn flush(backend: &mut Backend, path: &Path, index: u64) -> Result<(), ImportError> {
    match backend.call(Request::Flush)? {
        Response::Flushed => Ok(()),
        Response::Error { message, .. } => Err(stopped(path, index, message)),
        other => Err(stopped(path, index, format!("unexpected answer {other:?}"))),
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
