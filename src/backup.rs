//! `postdesk backup DIR` and `postdesk restore DIR`.
//!
//! A backup is a directory of three files:
//! - `store.pdx`: every record of the desk as a record stream
//!   ([`crate::store::portable::stream`], format 2), the same from either
//!   engine, so a desk kept in PostgreSQL restores into sled and the other
//!   way round; written while the store pauses its writes, so it is one
//!   moment of the desk even while `serve` takes mail. Format 1 backups
//!   (sled's trees, [`crate::store::Store::export`]) still restore;
//! - `secret`: the key that signs reply tokens. Without it, replies to mail
//!   sent before the restore no longer thread by token;
//! - `manifest.json`: what is in it (schema version, records and a digest
//!   per kind, tickets, size, SHA-256 of `store.pdx`), written last: a
//!   directory without a manifest is an unfinished backup.
//!
//! With a daemon running, the daemon writes the backup (it holds the store);
//! without one, the command does. Restore is offline only: it refuses while
//! a daemon runs, refuses to replace a store without `--force` (and then
//! moves the old one aside rather than deleting it), checks the checksum
//! before touching anything, builds the new store beside the old and checks
//! its record counts (and, format 2, each kind's digest, read back from
//! the new store) against the manifest before moving it into place.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::engine::Backup;
use crate::store::portable::stream::{self, StreamError, Tallies};
use crate::store::portable::Record;
use crate::store::{Store, StoreError, SCHEMA_VERSION};
use crate::token::SECRET_FILE;

pub const MANIFEST: &str = "manifest.json";
pub const EXPORT: &str = "store.pdx";
/// The backup layout this build writes (and the newest it reads): 2 is
/// the record stream; 1, sled's trees, is still read.
pub const FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub schema_version: u32,
    pub postdesk_version: String,
    pub created: DateTime<Utc>,
    pub tickets: u64,
    /// Records per kind (format 2; kinds are named after the sled trees
    /// that hold them) or per store tree (format 1).
    pub trees: BTreeMap<String, u64>,
    /// Format 2: each kind's order-free digest
    /// ([`stream::Tallies::digests`]), checked on restore against what the
    /// restored store holds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digests: BTreeMap<String, String>,
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
    // A shared store keeps the secret in the database, not in a node's
    // state directory.
    let kept = store
        .engine()
        .shared(crate::pg::copy::SECRET_KEY)
        .map_err(|e| BackupError::Invalid(dir.to_path_buf(), e.to_string()))?;
    write_with(state_dir, dir, kept, |f| store.export_records(f))
}

/// Writes a backup of what `export` hands out (every record of one desk,
/// as [`Backup::export_records`] does on either engine) into `dir`.
pub fn write_from(
    state_dir: &Path,
    dir: &Path,
    export: impl FnOnce(&mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError>,
) -> Result<Manifest, BackupError> {
    write_with(state_dir, dir, None, export)
}

/// [`write_from`], with the token secret given (a shared store's) or
/// else read from `state_dir`.
fn write_with(
    state_dir: &Path,
    dir: &Path,
    secret: Option<Vec<u8>>,
    export: impl FnOnce(&mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError>,
) -> Result<Manifest, BackupError> {
    let kept_secret = secret;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(BackupError::NotEmpty(dir.to_path_buf()));
        }
    }
    crate::desk::create_private_dir(dir).map_err(io(dir))?;
    let export_path = dir.join(EXPORT);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&export_path)
        .map_err(io(&export_path))?;
    let out = Hashing {
        inner: BufWriter::new(file),
        hash: Sha256::new(),
        bytes: 0,
    };
    let invalid =
        |e: &dyn std::fmt::Display| BackupError::Invalid(export_path.clone(), e.to_string());
    let mut writer = stream::Writer::new(out).map_err(|e| invalid(&e))?;
    let mut failed: Option<StreamError> = None;
    export(&mut |r| match writer.write(&r) {
        Ok(()) => Ok(()),
        Err(e) => {
            let detail = e.to_string();
            failed = Some(e);
            // Ends the export: the backup cannot be whole.
            Err(StoreError::Corrupt {
                what: "backup stream",
                detail,
            })
        }
    })
    .map_err(|e| match failed.take() {
        Some(StreamError::Io(source)) => BackupError::Io {
            path: export_path.clone(),
            source,
        },
        _ => invalid(&e),
    })?;
    let (mut out, tallies) = writer.finish().map_err(|e| invalid(&e))?;
    out.flush().map_err(io(&export_path))?;
    let Hashing {
        inner, hash, bytes, ..
    } = out;
    let file = inner.into_inner().map_err(|e| BackupError::Io {
        path: export_path.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io(&export_path))?;
    let trees = tallies.counts();
    let digests = tallies.digests();

    let secret_src = state_dir.join(SECRET_FILE);
    let read = match kept_secret {
        Some(bytes) => Ok(bytes),
        None => std::fs::read(&secret_src),
    };
    let secret = match read {
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
        digests,
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
    // Format 2 builds a state directory (`building/store`), format 1 the
    // store itself.
    let built = if manifest.format >= 2 {
        build_from_records(&building, &mut input, &manifest, &export)?;
        building.join("store")
    } else {
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
        building.clone()
    };
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
    std::fs::rename(&built, &store_dir).map_err(io(&built))?;
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(io(&building))?;
    }
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
    // The restored store opens and reads as this build expects (this
    // process has just closed it).
    let store = Store::reopen(state_dir)
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

fn store_invalid(path: &Path) -> impl Fn(StoreError) -> BackupError + '_ {
    move |e| BackupError::Invalid(path.to_path_buf(), e.to_string())
}

fn stream_invalid(path: &Path) -> impl Fn(StreamError) -> BackupError + '_ {
    move |e| BackupError::Invalid(path.to_path_buf(), e.to_string())
}

/// Whether `got` (read from the stream, or from the restored store) is
/// what the manifest says: the same records per kind and, when the
/// manifest has them, the same digests.
fn check_tallies(
    manifest: &Manifest,
    got: &Tallies,
    when: &str,
    path: &Path,
) -> Result<(), BackupError> {
    let counts = got.counts();
    let kinds: std::collections::BTreeSet<&String> =
        manifest.trees.keys().chain(counts.keys()).collect();
    for kind in kinds {
        let (want, have) = (
            manifest.trees.get(kind).copied().unwrap_or(0),
            counts.get(kind).copied().unwrap_or(0),
        );
        if want != have {
            return Err(BackupError::Invalid(
                path.to_path_buf(),
                format!("{have} `{kind}` records {when}, the backup says {want}; the old store was left in place"),
            ));
        }
    }
    if !manifest.digests.is_empty() {
        let digests = got.digests();
        for (kind, want) in &manifest.digests {
            if digests.get(kind) != Some(want) {
                return Err(BackupError::Invalid(
                    path.to_path_buf(),
                    format!("the `{kind}` records {when} differ from the backup's (digest); the old store was left in place"),
                ));
            }
        }
    }
    Ok(())
}

/// Builds a sled store in the state directory `building` from a record
/// stream and checks it: the stream against the manifest, then every
/// record the new store holds, read back.
fn build_from_records(
    building: &Path,
    input: &mut dyn Read,
    manifest: &Manifest,
    export: &Path,
) -> Result<(), BackupError> {
    let mut reader = stream::Reader::new(input).map_err(stream_invalid(export))?;
    Store::import_records(building, || {
        reader.next_record().map_err(|e| StoreError::Corrupt {
            what: "backup record",
            detail: e.to_string(),
        })
    })
    .map_err(store_invalid(export))?;
    check_tallies(manifest, reader.tallies(), "in the backup", export)?;
    // Just written and closed by this process.
    let store = Store::reopen(building).map_err(store_invalid(building))?;
    let held = stream::tally(|f| store.export_records(f)).map_err(stream_invalid(building))?;
    check_tallies(manifest, &held, "after the restore", building)
}

/// Restores the backup in `dir` into the database `store` keeps (a shared
/// store), the token secret included, checked as [`restore_into`] does.
/// A database that holds records is replaced only with `force`, and what
/// it held is first written as a backup into
/// `state_dir/before-restore-TIME`, as [`restore`] keeps a sled store
/// aside; that copy is dropped when the restore is refused (the import
/// is one transaction: the records stay) or there was nothing to keep.
pub fn restore_database(
    store: &Store,
    state_dir: &Path,
    dir: &Path,
    force: bool,
) -> Result<Manifest, BackupError> {
    // A damaged backup is refused before anything is touched.
    verify(dir)?;
    let aside = state_dir.join(format!(
        "before-restore-{}",
        Utc::now().format("%Y%m%dT%H%M%S")
    ));
    let kept = force
        && write(store, state_dir, &aside)?
            .trees
            .values()
            .any(|n| *n > 0);
    let restored = restore_into(store.engine(), dir, force);
    if force && (restored.is_err() || !kept) {
        std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
    }
    let manifest = restored?;
    // The secret goes where every node reads it.
    if let Ok(secret) = std::fs::read(dir.join(SECRET_FILE)) {
        store
            .engine()
            .set_shared(crate::pg::copy::SECRET_KEY, &secret)
            .map_err(store_invalid(dir))?;
    }
    Ok(manifest)
}

/// Restores the records of the backup in `dir` into `engine`, which must
/// hold none (a fresh PostgreSQL database, say: `postdesk migrate` makes
/// its schema), and checks them as [`restore`] does: the stream against
/// the manifest, then what the engine holds, read back. The token secret
/// is not the engine's: copy `dir/secret` into each node's state
/// directory. Format 1 backups (sled's trees) restore into sled only.
///
/// With `replace`, the records the engine holds are replaced, in the
/// import's one transaction ([`Backup::replace_records`]): a refused
/// backup leaves them.
pub fn restore_into(
    engine: &dyn Backup,
    dir: &Path,
    replace: bool,
) -> Result<Manifest, BackupError> {
    let manifest = verify(dir)?;
    let export = dir.join(EXPORT);
    if manifest.format < 2 {
        return Err(BackupError::Invalid(
            dir.to_path_buf(),
            "a format 1 backup holds sled's trees: restore it into a sled desk, then move that with `postdesk migrate --from sled`".into(),
        ));
    }
    let input = BufReader::new(std::fs::File::open(&export).map_err(io(&export))?);
    let mut reader = stream::Reader::new(input).map_err(stream_invalid(&export))?;
    // The stream is checked against the manifest at its end, before the
    // import commits: a refused backup leaves the database as it was
    // (the import is one transaction), as a refused sled restore leaves
    // the old store in place.
    let mut refused = None;
    let mut next = || {
        let next = reader.next_record().map_err(|e| StoreError::Corrupt {
            what: "backup record",
            detail: e.to_string(),
        })?;
        if next.is_none() {
            if let Err(e) = check_tallies(&manifest, reader.tallies(), "in the backup", &export) {
                let detail = e.to_string();
                refused = Some(e);
                return Err(StoreError::Corrupt {
                    what: "backup",
                    detail,
                });
            }
        }
        Ok(next)
    };
    let imported = if replace {
        engine.replace_records(&mut next)
    } else {
        engine.import_records(&mut next)
    };
    if let Some(e) = refused {
        return Err(e);
    }
    imported.map_err(store_invalid(&export))?;
    let held = stream::tally(|f| engine.export_records(f)).map_err(stream_invalid(&export))?;
    check_tallies(&manifest, &held, "after the restore", &export)?;
    Ok(manifest)
}
