//! A local Maildir (the embedded default inbox, or one an MTA or Dovecot
//! delivers into). New mail sits in `new/`; a message is moved to `cur/`
//! with the Seen flag only after it is durably stored (the rule in
//! [`super::batch`]), so a crash in between means it is read again and
//! recognized as a duplicate, never lost.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::backoff::Backoff;
use super::batch::{self, ToDesk};
use crate::api::Outcome;
use crate::decide::Mode;
use crate::desk::{Desk, Prepared};
use crate::store::StoreError;

/// The kind shown by `postdesk status`.
const KIND: &str = "maildir";

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot list {}/new: {source}", .root.display())]
    List { root: PathBuf, source: io::Error },
    #[error("flush failed, nothing marked done: {0}")]
    Flush(StoreError),
    #[error("store failed on {}: {source}", .path.display())]
    Store { path: PathBuf, source: StoreError },
}

#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// Opens a Maildir, creating `new`, `cur` and `tmp` if missing so an
    /// admin can start the daemon before the first delivery.
    pub fn open(root: &Path) -> io::Result<Maildir> {
        for sub in ["new", "cur", "tmp"] {
            fs::create_dir_all(root.join(sub))?;
        }
        Ok(Maildir {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Up to `limit` messages waiting in `new/`, oldest name first (Maildir
    /// names start with the delivery time).
    pub fn pending(&self, limit: usize) -> io::Result<Vec<PathBuf>> {
        let mut names = list_files(&self.root.join("new"))?;
        names.sort();
        names.truncate(limit);
        Ok(names)
    }

    /// Moves a stored message to `cur/` with the Seen flag.
    pub fn mark_done(&self, path: &Path) -> io::Result<()> {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "maildir file name is not UTF-8",
            ));
        };
        let target = if name.contains(":2,") {
            name.to_string()
        } else {
            format!("{name}:2,S")
        };
        fs::rename(path, self.root.join("cur").join(target))
    }

    /// Every message in `new/` and `cur/`, for import.
    pub fn all(&self) -> io::Result<Vec<PathBuf>> {
        let mut all = list_files(&self.root.join("cur"))?;
        all.extend(list_files(&self.root.join("new"))?);
        all.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        Ok(all)
    }
}

fn list_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        // Dot files are editors' and tools' temporaries, never messages.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_file() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Scans that keep failing (the store unreachable, the directory gone)
/// are retried at most this far apart: a database back after a restart is
/// noticed within a minute, and the log gets one line a minute, not one a
/// poll.
const FAILING_CAP: Duration = Duration::from_secs(60);

/// Scans `new/` every `poll`, or at once again while there is more; after
/// a failed scan, at growing intervals from `poll` up to [`FAILING_CAP`].
pub async fn watch(
    desk: Arc<Desk>,
    md: Maildir,
    inbox: String,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(poll, FAILING_CAP.max(poll));
    loop {
        if *stop.borrow() {
            return;
        }
        let scan = tokio::task::spawn_blocking({
            let (desk, md, inbox) = (desk.clone(), md.clone(), inbox.clone());
            move || scan_once(&desk, &md, &inbox)
        })
        .await;
        let wait = match scan {
            Ok(Ok(n)) => {
                desk.sources().success(&inbox, KIND, n as u64);
                if backoff.failures() > 0 {
                    tracing::info!(%inbox, failures = backoff.failures(), "maildir scan works again");
                    backoff.reset();
                }
                (n < desk.config().intake.batch).then_some(poll)
            }
            Ok(Err(e)) => {
                let wait = backoff.next();
                tracing::error!(%inbox, error = %e, failures = backoff.failures(), retry_in = ?wait, "maildir scan failed; will retry");
                desk.sources().failure(&inbox, KIND, &e.to_string());
                Some(wait)
            }
            Err(e) => {
                let wait = backoff.next();
                tracing::error!(%inbox, error = %e, failures = backoff.failures(), retry_in = ?wait, "maildir scan task failed; will retry");
                Some(wait)
            }
        };
        if let Some(wait) = wait {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {},
                _ = stop.changed() => return,
            }
        }
    }
}

/// One batch of up to `intake.batch` messages from `new/`, through the
/// rule in [`batch`]. Returns how many files were taken. A message whose
/// file cannot be read is left in place and reported.
pub fn scan_once(desk: &Desk, md: &Maildir, inbox: &str) -> Result<usize, ScanError> {
    let files = md
        .pending(desk.config().intake.batch)
        .map_err(|source| ScanError::List {
            root: md.root().to_path_buf(),
            source,
        })?;
    let mut sink = ToDesk {
        desk,
        inbox: Some(inbox),
        mode: Mode::Live,
    };
    if desk.store().reads_ahead() {
        return scan_ahead(desk, md, inbox, &files, &mut sink);
    }
    // Read lazily, one file ahead of the store at most: a refused message
    // leaves the files after it unread.
    let messages = files
        .iter()
        .filter_map(|path| read_prepared(desk, inbox, path).map(|(_, message)| message));
    let stored =
        batch::run(&mut sink, &mut Scan { md, inbox }, messages).map_err(ScanError::Flush)?;
    match stored.refused {
        Some(((path, _), source)) => Err(ScanError::Store { path, source }),
        None => Ok(files.len()),
    }
}

/// At most this much mail is read ahead of the store in one scan.
const AHEAD_BYTES: usize = 32 << 20;

/// [`scan_once`] for a store that reads over the network (PostgreSQL):
/// the batch is read and parsed whole first, up to [`AHEAD_BYTES`] of
/// mail, so the store can ask for what deciding it needs in a few
/// statements ([`Desk::read_ahead`]) instead of a few round trips per
/// message. Files past the bound wait for the next scan.
fn scan_ahead(
    desk: &Desk,
    md: &Maildir,
    inbox: &str,
    files: &[PathBuf],
    sink: &mut ToDesk<'_>,
) -> Result<usize, ScanError> {
    let mut messages = Vec::new();
    let mut bytes = 0;
    let mut considered = 0;
    for path in files {
        if bytes >= AHEAD_BYTES {
            break;
        }
        considered += 1;
        if let Some((size, message)) = read_prepared(desk, inbox, path) {
            bytes += size;
            messages.push(message);
        }
    }
    batch::Sink::read_ahead(sink, &messages.iter().map(|(_, m)| m).collect::<Vec<_>>());
    let stored = batch::run(sink, &mut Scan { md, inbox }, messages).map_err(ScanError::Flush)?;
    match stored.refused {
        Some(((path, _), source)) => Err(ScanError::Store { path, source }),
        None => Ok(considered),
    }
}

/// Reads one file from `new/` and prepares it, keyed by its path and when
/// it was taken (for the latency metric), with its size in bytes (for
/// [`AHEAD_BYTES`]). A file that cannot be read is reported and left in
/// place for the next scan: `None`. Shared by both scans so they name and
/// prepare a message the same way.
fn read_prepared(desk: &Desk, inbox: &str, path: &Path) -> Option<(usize, (Taken, Prepared))> {
    let taken = Instant::now();
    match fs::read(path) {
        Ok(raw) => {
            let size = raw.len();
            let origin = format!("maildir:{inbox}:{}", path.display());
            Some((
                size,
                ((path.to_path_buf(), taken), desk.prepare(raw, origin)),
            ))
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read message; left in place");
            None
        }
    }
}

/// A message's file, and when it was taken (for the latency metric).
type Taken = (PathBuf, Instant);

/// One scan's side of the batch rule.
struct Scan<'a> {
    md: &'a Maildir,
    inbox: &'a str,
}

impl batch::Source for Scan<'_> {
    type Key = Taken;

    fn stored(&mut self, _key: &Self::Key, outcome: &Outcome) {
        tracing::info!(inbox = %self.inbox, ?outcome, "ingested");
    }

    fn taken(&self, key: &Self::Key) -> Option<(&str, Instant)> {
        Some((self.inbox, key.1))
    }

    fn mark_done(&mut self, done: Vec<(Self::Key, Outcome)>) {
        for ((path, _), _) in done {
            if let Err(e) = self.md.mark_done(&path) {
                // Stored and durable; if it stays in new/ it is read again
                // and recognized as a duplicate.
                tracing::warn!(path = %path.display(), error = %e, "cannot move to cur/");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_then_done() {
        let dir = tempfile::tempdir().unwrap();
        let md = Maildir::open(dir.path()).unwrap();
        fs::write(dir.path().join("new/2.b"), "x").unwrap();
        fs::write(dir.path().join("new/1.a"), "x").unwrap();
        fs::write(dir.path().join("new/.hidden"), "x").unwrap();
        let p = md.pending(10).unwrap();
        assert_eq!(p.len(), 2);
        assert!(p[0].ends_with("1.a"));
        md.mark_done(&p[0]).unwrap();
        assert!(dir.path().join("cur/1.a:2,S").exists());
        assert_eq!(md.pending(10).unwrap().len(), 1);
        assert_eq!(md.all().unwrap().len(), 2);
    }
}
