//! `postdesk backup DIR` and `postdesk restore DIR`.
//!
//! A backup is a directory of three files:
//! - `store.pdx`: every store tree, record by record (the format is
//!   [`crate::store::Store::export`]'s), written while the store pauses its
//!   writes, so it is one moment of the desk even while `serve` takes mail;
//! - `secret`: the key that signs reply tokens. Without it, replies to mail
//!   sent before the restore no longer thread by token;
//! - `manifest.json`: what is in it (schema version, records per tree,
//!   tickets, size, SHA-256 of `store.pdx`), written last: a directory
//!   without a manifest is an unfinished backup.
//!
//! With a daemon running, the daemon writes the backup (it holds the store);
//! without one, the command does. Restore is offline only: it refuses while
//! a daemon runs, refuses to replace a store without `--force` (and then
//! moves the old one aside rather than deleting it), checks the checksum
//! before touching anything, builds the new store beside the old and checks
//! its record counts against the manifest before moving it into place.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Store, SCHEMA_VERSION};
use crate::token::SECRET_FILE;

pub const MANIFEST: &str = "manifest.json";
pub const EXPORT: &str = "store.pdx";
/// The backup layout this build writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub schema_version: u32,
    pub postdesk_version: String,
    pub created: DateTime<Utc>,
    pub tickets: u64,
    /// Records per store tree.
    pub trees: BTreeMap<String, u64>,
    pub bytes: u64,
    pub sha256: String,
    /// Whether the token secret is in the backup.
    pub secret: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not empty\n  hint: give a new directory for each backup (e.g. named by date)")]
    NotEmpty(PathBuf),
    #[error("{0}: {1}")]
    Invalid(PathBuf, String),
    #[error("a daemon is running on {0}\n  hint: stop it first (systemctl stop postdesk); restore replaces the store under it")]
    DaemonRunning(PathBuf),
    #[error("{0} already holds a store (or a token secret)\n  hint: add --force to move them aside (into {0}/before-restore-*) and restore over them")]
    InUse(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Counts bytes and hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a backup of `store` (and the secret in `state_dir`) into `dir`,
/// which must be new or empty. The store must be flushed by the caller.
pub fn write(store: &Store, state_dir: &Path, dir: &Path) -> Result<Manifest, BackupError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(BackupError::NotEmpty(dir.to_path_buf()));
        }
    }
    crate::desk::create_private_dir(dir).map_err(io(dir))?;
    let export = dir.join(EXPORT);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&export)
        .map_err(io(&export))?;
    let mut out = Hashing {
        inner: BufWriter::new(file),
        hash: Sha256::new(),
        bytes: 0,
    };
    let trees = store.export(&mut out).map_err(io(&export))?;
    out.flush().map_err(io(&export))?;
    let Hashing {
        inner, hash, bytes, ..
    } = out;
    let file = inner.into_inner().map_err(|e| BackupError::Io {
        path: export.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io(&export))?;

    let secret_src = state_dir.join(SECRET_FILE);
    let secret = match std::fs::read(&secret_src) {
        Ok(bytes) => {
            write_private(&dir.join(SECRET_FILE), &bytes)?;
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io(&secret_src)(e)),
    };
    let manifest = Manifest {
        format: FORMAT,
        schema_version: SCHEMA_VERSION,
        postdesk_version: env!("CARGO_PKG_VERSION").to_string(),
        created: Utc::now(),
        tickets: trees.get("tickets").copied().unwrap_or(0),
        trees,
        bytes,
        sha256: hex(&hash.finalize()),
        secret,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Invalid(dir.to_path_buf(), e.to_string()))?;
    write_private(&dir.join(MANIFEST), &text)?;
    // The directory entry of the manifest is what makes the backup whole.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(manifest)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Reads and checks a backup's manifest and checksum.
pub fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let mpath = dir.join(MANIFEST);
    let text = std::fs::read(&mpath).map_err(io(&mpath))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        BackupError::Invalid(
            mpath.clone(),
            format!("not a postdesk backup manifest: {e}"),
        )
    })?;
    if manifest.format > FORMAT {
        return Err(BackupError::Invalid(
            mpath,
            format!(
                "backup format {} is newer than this postdesk understands ({FORMAT}); restore with the version that wrote it ({})",
                manifest.format, manifest.postdesk_version
            ),
        ));
    }
    if manifest.schema_version > SCHEMA_VERSION {
        return Err(BackupError::Invalid(
            mpath,
            format!(
                "the store in it has schema version {}, this postdesk reads up to {SCHEMA_VERSION}; restore with postdesk {} or newer",
                manifest.schema_version, manifest.postdesk_version
            ),
        ));
    }
    let export = dir.join(EXPORT);
    let mut f = BufReader::new(std::fs::File::open(&export).map_err(io(&export))?);
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(&export))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        bytes += n as u64;
    }
    if bytes != manifest.bytes || hex(&hash.finalize()) != manifest.sha256 {
        return Err(BackupError::Invalid(
            export,
            "does not match the checksum in manifest.json: the backup is damaged or incomplete"
                .into(),
        ));
    }
    if manifest.secret && !dir.join(SECRET_FILE).is_file() {
        return Err(BackupError::Invalid(
            dir.to_path_buf(),
            "the token secret named in manifest.json is missing".into(),
        ));
    }
    Ok(manifest)
}

/// Restores the backup in `dir` into `state_dir`. No daemon may be running
/// (the caller checks the socket; the store lock is the second guard).
pub fn restore(state_dir: &Path, dir: &Path, force: bool) -> Result<Manifest, BackupError> {
    let manifest = verify(dir)?;
    crate::desk::create_private_dir(state_dir).map_err(io(state_dir))?;
    let store_dir = state_dir.join("store");
    let secret = state_dir.join(SECRET_FILE);
    let occupied = store_dir.exists() || secret.exists();
    if occupied && !force {
        return Err(BackupError::InUse(state_dir.to_path_buf()));
    }
    if store_dir.exists() {
        // Opening it proves nobody holds it (sled's lock) before we move it.
        Store::open(state_dir)
            .map_err(|e| BackupError::Invalid(store_dir.clone(), e.to_string()))?;
    }
    let building = state_dir.join("store.restoring");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(io(&building))?;
    }
    let export = dir.join(EXPORT);
    let mut input = BufReader::new(std::fs::File::open(&export).map_err(io(&export))?);
    let counts = Store::import(&building, &mut input).map_err(io(&export))?;
    for (tree, n) in &manifest.trees {
        let got = counts.get(tree).copied().unwrap_or(0);
        if got != *n {
            return Err(BackupError::Invalid(
                export,
                format!("tree `{tree}` holds {got} records after the restore, the backup says {n}; the old store was left in place"),
            ));
        }
    }
    if occupied {
        let aside = state_dir.join(format!(
            "before-restore-{}",
            Utc::now().format("%Y%m%dT%H%M%S")
        ));
        std::fs::create_dir(&aside).map_err(io(&aside))?;
        for name in ["store", SECRET_FILE, "store.mark"] {
            let from = state_dir.join(name);
            if from.exists() {
                std::fs::rename(&from, aside.join(name)).map_err(io(&from))?;
            }
        }
    }
    std::fs::rename(&building, &store_dir).map_err(io(&building))?;
    // The mark described the store that was replaced; the restored one
    // gets its own when it is opened below.
    let mark = state_dir.join("store.mark");
    if mark.exists() {
        std::fs::remove_file(&mark).map_err(io(&mark))?;
    }
    if manifest.secret {
        let bytes = std::fs::read(dir.join(SECRET_FILE)).map_err(io(dir))?;
        write_private(&secret, &bytes)?;
    }
    // The restored store opens and reads as this build expects.
    let store = Store::open(state_dir)
        .map_err(|e| BackupError::Invalid(store_dir.clone(), e.to_string()))?;
    let tickets = store
        .ticket_count()
        .map_err(|e| BackupError::Invalid(store_dir.clone(), e.to_string()))?;
    if tickets != manifest.tickets {
        return Err(BackupError::Invalid(
            store_dir,
            format!(
                "holds {tickets} tickets after the restore, the backup says {}",
                manifest.tickets
            ),
        ));
    }
    Ok(manifest)
}
