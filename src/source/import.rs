//! `postdesk import`: bringing an old mailbox into the desk as history.
//!
//! Imported mail keeps its own dates and is never answered. Durability is
//! batched by the rule in [`super::batch`]: one flush every `intake.batch`
//! messages instead of one each, which is what makes import fast. That is safe because an import can
//! always be run again: everything already stored is recognized by its
//! Message-ID (or content hash) and skipped, so a crash or a kill mid-way
//! costs at most two batches of work (one committing while the next is
//! decided, on PostgreSQL), never a lost or doubled message.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::batch::{self, BackendSinkError, Sink, Stored, ToBackend, ToDesk};
use super::maildir::Maildir;
use super::mbox::MboxReader;
use crate::api::Outcome;
use crate::backend::{Backend, BackendError};
use crate::decide::Mode;
use crate::desk::Desk;
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
    let reading = Reading {
        format,
        path,
        batch: opts.batch,
        bar: &bar,
    };
    if let Backend::Local(desk) = backend {
        let desk: &Desk = desk;
        let sink = ToDesk {
            desk,
            inbox: opts.inbox,
            mode: Mode::Import {
                status: opts.status,
            },
        };
        // Each batch is decided while the one before it commits (on
        // PostgreSQL; see Store::write_behind): nothing here is marked
        // done at a source, so a batch need not be durable before the next.
        let behind = desk.store().write_behind();
        let imported = pipelined(
            sink,
            |raw, origin| desk.prepare(raw, origin),
            |index, e| stopped(path, index, e.to_string()),
            &reading,
            &mut summary,
        );
        let settled = behind.finish();
        imported?;
        settled.map_err(|e| {
            stopped(
                path,
                summary.messages,
                format!("the last batches were not stored: {e}"),
            )
        })?;
    } else {
        let sink = ToBackend {
            backend,
            inbox: opts.inbox.map(str::to_string),
            import_status: Some(opts.status),
            durable_each: false,
            one_by_one: false,
        };
        pipelined(
            sink,
            |raw, origin| (origin, raw),
            |index, e| match e {
                BackendSinkError::Backend(e) => ImportError::Backend(e),
                other => stopped(path, index, other.to_string()),
            },
            &reading,
            &mut summary,
        )?;
    }
    bar.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.per_second = summary.messages as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}

/// What is read, and how often it is made durable.
struct Reading<'a> {
    format: Format,
    path: &'a Path,
    batch: usize,
    bar: &'a ProgressBar,
}

/// Reading and preparing run on a second thread while this one stores:
/// with the store in this process, parsing and compression are half the
/// work, so on two cores that nearly doubles the rate; through the
/// daemon, reading overlaps the round trips, one a batch
/// ([`batch::run_held`], [`crate::api::Request::IngestBatch`]). The
/// order of messages is kept. Every `batch` messages go through the rule
/// in [`batch`], which flushes once per batch.
fn pipelined<S: Sink>(
    mut sink: S,
    prepare: impl Fn(Vec<u8>, String) -> S::Message + Sync,
    fail: impl Fn(u64, S::Error) -> ImportError,
    reading: &Reading<'_>,
    summary: &mut Summary,
) -> Result<(), ImportError>
where
    S::Message: Send,
{
    let Reading {
        format,
        path,
        batch,
        bar,
    } = *reading;
    // Messages cross threads in chunks: one wake-up per message costs
    // more than the parsing it hands over. A chunk also ends at
    // `CHUNK_BYTES` of mail, so what waits in the channel is bounded in
    // bytes, not only in messages: an archive of large mails holds at most
    // `8 * CHUNK_BYTES` (plus one message larger than that) between the
    // threads, whatever its size.
    const CHUNK: usize = 32;
    const CHUNK_BYTES: usize = 1 << 20;
    const BATCH_BYTES: usize = 32 << 20;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(u64, usize, S::Message)>>(8);
        let prepare = &prepare;
        let reader = scope.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut chunk_bytes = 0;
            // A closed channel means the store side stopped; its error is
            // the one reported.
            let closed = |index| stopped(path, index, "the store side stopped".into());
            read_messages(format, path, bar, |index, origin, raw| {
                chunk_bytes += raw.len();
                let size = raw.len();
                chunk.push((index, size, prepare(raw, origin)));
                if chunk.len() == CHUNK || chunk_bytes >= CHUNK_BYTES {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    chunk_bytes = 0;
                    tx.send(full).map_err(|_| closed(index))?;
                }
                Ok(())
            })?;
            if !chunk.is_empty() {
                tx.send(chunk).map_err(|_| closed(0))?;
            }
            Ok(())
        });
        let mut messages = rx.into_iter().flatten().peekable();
        let mut counted = Counted { summary, last: 0 };
        let mut store_result = Ok(());
        while messages.peek().is_some() {
            // A batch is held whole, so that the store can read ahead for
            // it: at most `batch` messages and `BATCH_BYTES` of mail (plus
            // one message larger than that).
            let mut taken = Vec::new();
            let mut bytes = 0;
            while taken.len() < batch.max(1) && bytes < BATCH_BYTES {
                let Some((index, size, message)) = messages.next() else {
                    break;
                };
                bytes += size;
                taken.push((index, message));
            }
            sink.read_ahead(&taken.iter().map(|(_, m)| m).collect::<Vec<_>>());
            match batch::run_held(&mut sink, &mut counted, taken) {
                Ok(Stored {
                    refused: Some((index, e)),
                    ..
                }) => {
                    store_result = Err(fail(index, e));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    store_result = Err(fail(counted.last, e));
                    break;
                }
            }
        }
        // Unblocks the reader if the store side stopped early.
        drop(messages);
        let read_result = reader
            .join()
            .unwrap_or_else(|_| Err(stopped(path, 0, "the reader thread panicked".into())));
        store_result.and(read_result)
    })
}

/// An import's side of the batch rule: an archive is history, nothing in
/// it is marked done, so the only work is counting.
struct Counted<'a> {
    summary: &'a mut Summary,
    /// The last message stored, which a failed flush is reported at.
    last: u64,
}

impl batch::Source for Counted<'_> {
    /// The message's position in the mailbox, from 1.
    type Key = u64;

    fn stored(&mut self, index: &u64, outcome: &Outcome) {
        self.last = *index;
        count(self.summary, outcome);
    }

    fn mark_done(&mut self, _done: Vec<(u64, Outcome)>) {}
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
