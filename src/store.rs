//! The sled store. The only module that knows sled: everything else speaks of
//! tickets, messages, Message-IDs, cursors, the quarantine and the outbox.
//!
//! Layout, one sled tree per kind of record:
//!
//! | tree        | key                          | value                         |
//! |-------------|------------------------------|-------------------------------|
//! | `meta`      | `schema_version`             | big-endian integer            |
//! | `meta`      | `zdict/` + id (u32 BE); `zdict_current` | a mail dictionary; the id new mail uses |
//! | `tickets`   | ticket number (u64 BE)       | packed JSON [`Ticket`]        |
//! | `messages`  | ticket (u64 BE) + seq (u32 BE) | record length (u32 BE), packed JSON [`MessageRecord`], packed original bytes |
//! | `msgids`    | Message-ID (as `msgid::key`: no brackets, lowercase), or an Outlook conversation key | kind (u8) + ticket (u64 BE), then for a notification to an agent what `notified` holds (schema 3) |
//! | `customers` | email, 0, ticket (u64 BE)    | empty                         |
//! | `quarantine`| content hash                 | JSON [`QuarantineEntry`]      |
//! | `qraw`      | content hash                 | packed mail bytes (older: LZ4) |
//! | `cursors`   | source name                  | source-defined bytes          |
//! | `outbox`    | entry id (u64 BE)            | record length (u32 BE), packed JSON [`outbox::Entry`], packed mail bytes (or, while `planned`, its JSON plan) |
//! | `outq`      | next attempt (ms, u64 BE) + id | empty: the queued entries by due time |
//! | `notified`  | Message-ID of an agent notification | the agent's address, then the ticket and how many of its messages it had seen; since schema 3 only for notifications with no ticket (the others are in `msgids`) |
//! | `timers`    | due time (ms, u64 BE) + ticket (u64 BE) | empty: tickets by next deadline |
//! | `ticket_timer` | ticket (u64 BE)           | no longer written (schema 3): the old deadline is read from the stored ticket |
//! | `ticket_index` | see [`listing`]: tickets by last update, status, queue, assignee, requester | the `u` keys: the ticket's report summary; the `#` records: the keys written; others empty |
//! | `guard`     | `mark`, 0, email             | JSON [`bounce::Mark`]: a bounced address |
//! | `guard`     | `sent`, 0, email             | JSON times (ms) of recent automatic mail to it |
//! | `meta`      | `erasure/` pseudonym `/` ms (20 digits) | JSON [`ErasureRecord`]: a person erased (see `privacy`) |
//!
//! Records are JSON so that adding a field is a `#[serde(default)]`, not a
//! migration. "Packed" is [`codec`]: zstd, with a dictionary of the
//! store's own JSON for records and one trained from the desk's mail for
//! mail; values older builds wrote (plain JSON, LZ4) still read. The
//! decoded text is not stored: it is derived from the raw bytes when shown.
//! The next ticket number is the highest stored one plus one.
//!
//! Durability: intakes are decided one by one into a [`Staged`] set, which
//! later intakes read through, and a staged set is written as one
//! multi-tree transaction. A crash therefore leaves each message either
//! wholly stored (record, raw bytes, index, ticket) or not at all. Grouping
//! matters for speed: sled pays two log-buffer writes per transaction, which
//! per message cost more than everything else together. A transaction is
//! durable only after [`Store::flush`]; sources are marked done only after
//! it.
//!
//! Here: opening, intake (staging and the transaction) and reading tickets
//! and messages. Beside it: `outgoing` (the outbox), `quarantine`, `guard`
//! (bounce marks and caps), `export` (backup and restore) and `privacy`
//! (erasure and the rewrite that follows it).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::bounce;
use crate::decide::Decision;
use crate::mail::msgid;
use crate::outbox;
use crate::ticket::{MessageRecord, Ticket};

mod claims;
pub mod codec;
mod dictionary;
mod staged;
use dictionary::{sample_units, training_samples, training_units};
pub use staged::{ReadAhead, Staged, StagedMessage, WriteBehind};
pub mod engine;
mod export;
pub mod fault;
pub use export::Verified;
mod guard;
pub mod listing;
mod mark;
pub use listing::{Cursor, Page, TicketQuery};
mod outgoing;
pub mod portable;
mod privacy;
pub use privacy::{Erasure, ErasureRecord};
mod quarantine;
mod sled_engine;
pub mod usage;

/// The layout this build reads and writes. 2: the ticket indexes
/// (`ticket_index`), built on first open of a version 1 store. 3: packed
/// values ([`codec`]) and no `ticket_timer`, emptied on first open; a
/// version 2 build must not write to such a store (it would index
/// deadlines the newer build no longer removes). 4: each ticket's report
/// summary as the value of its last-update index key, built (with the
/// indexes) on first open of an older store.
pub const SCHEMA_VERSION: u32 = 4;
const KEY_DICT_CURRENT: &[u8] = b"zdict_current";
const DICT_PREFIX: &[u8] = b"zdict/";
const KEY_SCHEMA: &[u8] = b"schema_version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store {path} is in use by another process{holder}\n  hint: a command that opened the store itself holds it for a moment; if it stays, stop that process")]
    Locked { path: PathBuf, holder: String },
    #[error("cannot open the store {path}: {source}\n  hint: check that desk.state_dir exists and is writable by this user")]
    Open { path: PathBuf, source: sled::Error },
    #[error("store {what} failed: {source}")]
    Io {
        what: &'static str,
        source: sled::Error,
    },
    #[error("the store holds a damaged {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("the store has schema version {found}, this postdesk understands up to {supported}\n  hint: run the newer postdesk that wrote it, or restore a backup")]
    TooNew { found: u32, supported: u32 },
    #[error("the PostgreSQL store failed to {what}: {detail}")]
    Pg { what: &'static str, detail: String },
    #[error("{}", with_retry_hint(.0))]
    Unreachable(String),
    #[error("this node no longer holds the lease of {0} (another node reads that inbox now); nothing was written\n  hint: the message is fetched again by the node that holds it")]
    LeaseLost(String),
    #[error("the store {path} is damaged: {detail}\n  hint: nothing was changed; stop postdesk, move {path} aside and `postdesk restore BACKUP_DIR` (see README, \"Backup and restore\")")]
    Damaged { path: PathBuf, detail: String },
    /// An import (a restore, a move) goes into an empty store only, so
    /// that what it leaves is exactly the backup's records.
    #[error("the database already holds a desk's records (in {0})\n  hint: add --force to replace them (a backup of them is written into the state directory's before-restore-* first), or restore into a new database (`postdesk migrate` makes its schema)")]
    NotEmpty(&'static str),
}

/// An unreachable database's error, with the hint to retry: as a hint
/// of its own, or, when the cause has one already (a connection error
/// names the URL's parts or the certificate to check), added to it, so
/// the message has one hint line, not two.
fn with_retry_hint(detail: &str) -> String {
    if detail.contains("\n  hint:") {
        format!("{detail}; or the database is down or restarting: try again in a moment")
    } else {
        format!("{detail}\n  hint: the database may be down or restarting; try again in a moment")
    }
}

impl StoreError {
    fn io(what: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
        move |source| StoreError::Io { what, source }
    }

    /// Whether the storage itself failed (a full disk, a failing device),
    /// as opposed to the store being busy, damaged or too new.
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            StoreError::Io {
                source: sled::Error::Io(_)
                    | sled::Error::Corruption { .. }
                    | sled::Error::ReportableBug(_),
                ..
            }
        )
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// What the Message-ID index knows of an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// A message with this id is stored.
    Stored,
    /// The desk sent mail with this id.
    Sent,
    /// Only mentioned in another message's references so far.
    Referenced,
    /// Not a Message-ID: an Outlook conversation (Thread-Index base and
    /// topic, see [`crate::thread::conversation_key`]) first seen in this
    /// ticket.
    Conversation,
}

/// An agent notification, as [`Store::notification`] finds it: the
/// agent, and the ticket and how many of its messages it had seen.
pub type Notified = (String, Option<(u64, u32)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdEntry {
    pub kind: IdKind,
    pub ticket: u64,
}

impl IdEntry {
    fn encode(self) -> [u8; 9] {
        let mut b = [0u8; 9];
        b[0] = match self.kind {
            IdKind::Stored => 1,
            IdKind::Sent => 2,
            IdKind::Referenced => 3,
            IdKind::Conversation => 4,
        };
        b[1..].copy_from_slice(&self.ticket.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<IdEntry> {
        let kind = match *b.first()? {
            1 => IdKind::Stored,
            2 => IdKind::Sent,
            3 => IdKind::Referenced,
            4 => IdKind::Conversation,
            _ => return None,
        };
        Some(IdEntry {
            kind,
            ticket: u64::from_be_bytes(b.get(1..9)?.try_into().ok()?),
        })
    }
}

/// A proactive notice given to one customer (`postdesk notify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub at: DateTime<Utc>,
    pub outbox_id: u64,
    pub ticket: String,
}

pub(crate) fn notice_key(notice: &str, email: &str) -> String {
    format!("notice/{notice}/{}", email.to_ascii_lowercase())
}

/// Mail that could not be made into a ticket message, kept with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    pub id: String,
    pub reason: String,
    pub origin: String,
    pub received: DateTime<Utc>,
    pub size: usize,
    /// How many times these same bytes arrived.
    pub arrivals: u32,
}

/// A mail dictionary being trained: its id and bytes, if there was enough.
type Training = std::thread::JoinHandle<Option<(u32, Vec<u8>)>>;

/// The engine a store keeps its records in: see [`engine`] for the seam.
/// An enum rather than a boxed trait object, so that what only sled has
/// (its layout version, mail dictionaries, damage mark) stays inherent to
/// it instead of growing the shared trait.
// One per open store, made once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Kept {
    Sled(sled_engine::Sled),
    Postgres(crate::pg::engine::PgEngine),
}

pub struct Store {
    /// Where the records are kept.
    kept: Kept,
    path: PathBuf,
    /// Writers hold it shared; a backup holds it alone, so the copy is one
    /// moment of the store (no ticket without its messages or outbox).
    writers: std::sync::RwLock<()>,
    /// What the store may hold to train a dictionary from, in
    /// [`training_units`]: what the last attempt found, and what was
    /// committed since. An attempt is made when it reaches
    /// [`codec::TRAIN_SAMPLES`], when it can succeed, not at every flush.
    train_due: std::sync::atomic::AtomicUsize,
    /// A dictionary being trained (see [`Store::maybe_train_dictionary`]).
    training: std::sync::Mutex<Option<Training>>,
    /// When this node last compared its PostgreSQL dictionaries with the
    /// table's ([`Store::refresh_shared_dictionaries`]).
    refreshed: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Drop for Store {
    /// A dictionary still being trained is waited for and kept: a one-shot
    /// import would otherwise close the store before its dictionary is
    /// done, and never have one. Training is bounded by
    /// [`codec::TRAIN_BYTES`]: seconds at most.
    fn drop(&mut self) {
        let training = self
            .training
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(Ok(Some((id, dict)))) = training.map(|t| t.join()) {
            if !self.codec().has_dictionary() {
                if let Err(e) = self.install_dictionary(id, &dict) {
                    tracing::warn!(error = %e, "cannot store a mail dictionary; mail is stored without one");
                }
            }
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

fn message_key(ticket: u64, seq: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&ticket.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn customer_key(email: &str, ticket: u64) -> Vec<u8> {
    let mut k = email.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&ticket.to_be_bytes());
    k
}

fn be_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

/// A record and a packed blob in one value: record length, the record
/// packed ([`codec::pack_record`]), blob.
fn with_blob(record: &[u8], compressed: &[u8]) -> Vec<u8> {
    let record = codec::pack_record(record);
    let record = record.as_slice();
    let mut value = Vec::with_capacity(4 + record.len() + compressed.len());
    value.extend_from_slice(&(record.len() as u32).to_be_bytes());
    value.extend_from_slice(record);
    value.extend_from_slice(compressed);
    value
}

/// The deadline (ms) of a stored ticket value, reading only that field.
fn stored_due(v: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Due {
        #[serde(default)]
        timer_due: Option<DateTime<Utc>>,
    }
    let json = codec::unpack_record(v).ok()?;
    let due: Due = serde_json::from_slice(&json).ok()?;
    due.timer_due.map(|d| d.timestamp_millis().max(0) as u64)
}

/// What a Message-ID index entry of sent mail says of the agent it
/// notified, if anything (see the layout).
fn notified_in_entry(v: &[u8]) -> Option<&str> {
    let rest = v.get(9..).filter(|r| !r.is_empty())?;
    (IdEntry::decode(v)?.kind == IdKind::Sent)
        .then(|| std::str::from_utf8(rest).ok())
        .flatten()
}

fn guard_key(kind: &str, email: &str) -> Vec<u8> {
    let mut k = kind.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(email.trim().to_ascii_lowercase().as_bytes());
    k
}

fn timer_key(due_ms: u64, ticket: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&due_ms.to_be_bytes());
    k[8..].copy_from_slice(&ticket.to_be_bytes());
    k
}

fn queue_key(e: &outbox::Entry) -> [u8; 16] {
    let mut k = [0u8; 16];
    let ms = e.next_attempt.timestamp_millis().max(0) as u64;
    k[..8].copy_from_slice(&ms.to_be_bytes());
    k[8..].copy_from_slice(&e.id.to_be_bytes());
    k
}

/// The record of a value written by [`with_blob`], without the blob.
fn record_of<T: for<'de> Deserialize<'de>>(what: &'static str, v: &[u8]) -> Result<T> {
    let len = v
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            what,
            detail: "shorter than its header".into(),
        })? as usize;
    let record = v.get(4..4 + len).ok_or_else(|| StoreError::Corrupt {
        what,
        detail: "record cut short".into(),
    })?;
    from_packed(what, record)
}

fn decode_with_blob<T: for<'de> Deserialize<'de>>(
    what: &'static str,
    codec: &codec::Codec,
    v: &[u8],
) -> Result<(T, Vec<u8>)> {
    let corrupt = |detail: String| StoreError::Corrupt { what, detail };
    let len = v
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| corrupt("shorter than its header".into()))? as usize;
    let record = v
        .get(4..4 + len)
        .ok_or_else(|| corrupt("record cut short".into()))?;
    let record: T = from_packed(what, record)?;
    let raw = codec
        .unpack_mail(&v[4 + len..])
        .map_err(|e| corrupt(e.to_string()))?;
    Ok((record, raw))
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// A record written packed ([`codec::pack_record`]) or as plain JSON.
fn from_packed<T: for<'de> Deserialize<'de>>(what: &'static str, b: &[u8]) -> Result<T> {
    let json = codec::unpack_record(b).map_err(|e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    })?;
    from_json(what, &json)
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &'static str, b: &[u8]) -> Result<T> {
    serde_json::from_slice(b).map_err(|e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    })
}

/// Who holds the store's lock, as the kernel's lock table says (Linux
/// `/proc/locks`): "pid 1234: postdesk stats". sled takes an flock on the
/// `db` file.
fn lock_holder(db: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(db).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    for line in locks.lines().filter(|l| !l.contains("->")) {
        // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(pid), Some(dev_ino)) = (f.get(4), f.get(5)) else {
            continue;
        };
        if dev_ino
            .rsplit(':')
            .next()
            .and_then(|i| i.parse::<u64>().ok())
            != Some(ino)
        {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .ok()
            .map(|c| {
                c.split(|b| *b == 0)
                    .filter(|p| !p.is_empty())
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|c| !c.is_empty());
        return Some(match cmd {
            Some(c) => format!("pid {pid}: {c}"),
            None => format!("pid {pid}"),
        });
    }
    None
}

/// Brings an older layout up to [`SCHEMA_VERSION`]. Version 1 is the
/// first; later versions add their steps here. A step is repeatable:
/// the version is written only after it is durable, so a crash in the
/// middle runs it again from the start.
fn migrate(s: &sled_engine::Sled) -> Result<()> {
    use engine::{Intake as _, Messages as _};
    match s.layout_version()? {
        None => {
            s.set_layout_version(SCHEMA_VERSION)?;
            s.flush()
        }
        Some(v) if v > SCHEMA_VERSION => Err(StoreError::TooNew {
            found: v,
            supported: SCHEMA_VERSION,
        }),
        Some(v) if v < SCHEMA_VERSION => {
            if v < 3 {
                // 3: deadlines are found from the stored tickets; the
                // ticket-to-deadline index goes.
                s.clear_legacy_timers()?;
            }
            tracing::info!(
                tickets = s.ticket_count()?,
                "building the ticket indexes and report summaries (schema {v} to {SCHEMA_VERSION})"
            );
            s.build_ticket_index()?;
            s.set_layout_version(SCHEMA_VERSION)?;
            s.flush()
        }
        Some(_) => Ok(()),
    }
}

impl Store {
    /// Opens the store `[store]` names: sled in `state_dir/store`, or the
    /// PostgreSQL database (migrated with `postdesk migrate`).
    pub fn open_config(config: &crate::config::Config) -> Result<Store> {
        match config.store.kind {
            crate::config::StoreKind::Sled => {
                Self::open_with_cache(config.state_dir(), config.store.cache)
            }
            crate::config::StoreKind::Postgres => {
                let settings = crate::pg::Settings::from_config(&config.store)
                    .map_err(|e| StoreError::Unreachable(e.to_string()))?;
                Self::open_postgres(&settings, config.state_dir())
            }
        }
    }

    /// Opens a desk's store in PostgreSQL; `dir` is the node's own state
    /// directory (its control socket), not where records are.
    pub fn open_postgres(settings: &crate::pg::Settings, dir: &Path) -> Result<Store> {
        let engine = crate::pg::engine::PgEngine::connect(settings)
            .map_err(|e| StoreError::Unreachable(e.to_string()))?;
        let store = Store {
            kept: Kept::Postgres(engine),
            path: dir.to_path_buf(),
            writers: std::sync::RwLock::new(()),
            // The first chance tries at once: the desk may hold enough.
            train_due: codec::TRAIN_SAMPLES.into(),
            training: Default::default(),
            refreshed: Default::default(),
        };
        store.finish_recode()?;
        Ok(store)
    }

    /// Opens (creating if needed) the store in `dir/store`, with the
    /// default cache (`[store] cache`).
    pub fn open(dir: &Path) -> Result<Store> {
        Self::open_with_cache(dir, crate::config::StoreConfig::default().cache)
    }

    /// [`Store::open`] of a store this process has just closed: sled lets
    /// go of its lock only when its flusher thread next wakes, so an
    /// immediate reopen can find the store "in use" by its own closed
    /// handle. Waits for that, up to 10 s; a lock still held then is
    /// another process's, and is reported as such.
    pub fn reopen(dir: &Path) -> Result<Store> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Self::open(dir) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// Opens the store with a page cache of at most `cache` bytes.
    pub fn open_with_cache(dir: &Path, cache: u64) -> Result<Store> {
        let path = dir.join("store");
        // A rewrite (after an erasure) that a crash cut short.
        sled_engine::rewrite::finish_rewrite(dir).map_err(|e| StoreError::Open {
            path: path.clone(),
            source: sled::Error::Io(e),
        })?;
        let mark = mark::Mark::read(dir);
        // sled recovers what it can of a damaged log and may panic on
        // what it cannot read: a panic here is a damaged store, said
        // plainly, not a backtrace.
        let opened = {
            let quiet = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let r = std::panic::catch_unwind(|| {
                sled::Config::new()
                    .path(&path)
                    // sled's own background flush stays on as a safety net; the
                    // durability points that matter are our explicit flushes.
                    .flush_every_ms(Some(1000))
                    .cache_capacity(cache)
                    .open()
            });
            std::panic::set_hook(quiet);
            r
        };
        let opened = opened.map_err(|panic| StoreError::Damaged {
            path: path.clone(),
            detail: format!(
                "the storage engine could not read it ({})",
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no detail".into())
            ),
        })?;
        let db = opened.map_err(|source| match &source {
            sled::Error::Io(e)
                if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock") =>
            {
                StoreError::Locked {
                    path: path.clone(),
                    holder: lock_holder(&path.join("db"))
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default(),
                }
            }
            _ => StoreError::Open {
                path: path.clone(),
                source,
            },
        })?;
        let sled = sled_engine::Sled::open_trees(db)?;
        mark::check_against(&sled, &path, &mark)?;
        migrate(&sled)?;
        let store = Store {
            kept: Kept::Sled(sled),
            writers: std::sync::RwLock::new(()),
            // The first chance tries at once: the store may hold enough.
            train_due: codec::TRAIN_SAMPLES.into(),
            training: Default::default(),
            refreshed: Default::default(),
            path,
        };
        store.load_codec()?;
        if mark.is_none() {
            store.write_mark(dir)?;
        }
        Ok(store)
    }

    /// Like [`StoreError::io`], remembering a storage failure in the
    /// store's [`fault::Fault`] on the way (sled's errors: only the sled
    /// parts of the facade meet them).
    fn io(&self, what: &'static str) -> impl FnOnce(sled::Error) -> StoreError + '_ {
        move |e| match self.sled() {
            Some(s) => s.io(what)(e),
            None => StoreError::io(what)(e),
        }
    }

    /// Whether (and how) the storage has failed since the store was opened.
    pub fn fault(&self) -> &fault::Fault {
        self.engine().fault()
    }

    /// Writes and flushes one small record: whether the storage takes
    /// writes now (after a failure, before intake resumes).
    pub fn probe(&self) -> Result<()> {
        self.engine().probe()
    }

    pub fn flush(&self) -> Result<()> {
        self.engine().flush()
    }

    /// What the index knows of a Message-ID, staged intakes first. Ids
    /// are indexed by [`msgid::key`] (no brackets or space, lowercase), so
    /// a gateway that rewrote an id's case still finds it. An index
    /// written before that held ids as they came: when the key misses, the
    /// id as given is tried too (one keyed read more, only on a miss).
    pub fn lookup_id(&self, staged: &Staged, message_id: &str) -> Result<Option<IdEntry>> {
        let key = msgid::key(message_id);
        if let Some(e) = staged.ids.get(&key) {
            return Ok(Some(*e));
        }
        match self.engine().id_entry(&key)? {
            Some(e) => Ok(Some(e)),
            None if key != message_id => self.engine().id_entry(message_id),
            None => Ok(None),
        }
    }

    /// A ticket as it stands, staged intakes included.
    pub fn ticket(&self, staged: &Staged, number: u64) -> Result<Option<Ticket>> {
        if let Some(t) = staged.tickets.get(&number) {
            return Ok(Some(t.clone()));
        }
        self.engine().ticket(number)
    }

    /// The number the next new ticket gets.
    pub fn next_ticket_number(&self, staged: &Staged) -> Result<u64> {
        let stored = self.engine().last_ticket()?;
        let staged = staged.tickets.keys().max().copied().unwrap_or(0);
        Ok(stored.max(staged) + 1)
    }

    /// Adds one intake decision to the staged set, with the message's
    /// bytes packed by [`Store::codec`]. Nothing is written yet.
    pub fn stage(&self, staged: &mut Staged, d: &Decision, compressed: &[u8]) -> Result<()> {
        let Some(record) = &d.record else {
            self.stage_ticket(staged, &d.ticket);
            return Ok(());
        };
        let record_json = json(record);
        staged.bytes += 4 + record_json.len() + compressed.len();
        staged.mail_bytes += record.size;
        staged.messages.push(StagedMessage {
            ticket: record.ticket,
            seq: record.seq,
            json: record_json,
            mail: compressed.to_vec(),
        });
        staged.ids.insert(
            msgid::key(&record.message_id),
            IdEntry {
                kind: IdKind::Stored,
                ticket: d.ticket.number,
            },
        );
        // What the message mentions but the desk has not seen, and its
        // Outlook conversation: the first ticket to name one keeps it.
        let remembered = d
            .remember_references
            .iter()
            .map(|id| (id, IdKind::Referenced))
            .chain(d.conversation.iter().map(|c| (c, IdKind::Conversation)));
        for (id, kind) in remembered {
            if self.lookup_id(staged, id)?.is_none() {
                staged.ids.insert(
                    msgid::key(id),
                    IdEntry {
                        kind,
                        ticket: d.ticket.number,
                    },
                );
            }
        }
        if d.created {
            staged
                .customers
                .push((d.ticket.requester.email.clone(), d.ticket.number));
        }
        staged.tickets.insert(d.ticket.number, d.ticket.clone());
        staged.count += 1;
        Ok(())
    }

    /// Tickets whose next deadline is at or before `now`, soonest first.
    pub fn due_tickets(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<u64>> {
        self.engine().due_tickets(now, limit)
    }

    /// Like [`Store::due_tickets`], claiming the tickets for `node` so
    /// that no other node on the same database runs their timers until a
    /// ticket is written again or the claim runs out. For several `serve`
    /// nodes on one PostgreSQL database; on sled it is `due_tickets`.
    pub fn claim_due_tickets(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        node: &str,
    ) -> Result<Vec<u64>> {
        self.engine().claim_due_tickets(now, limit, node)
    }

    /// The earliest deadline of any ticket.
    pub fn next_timer(&self) -> Result<Option<DateTime<Utc>>> {
        self.engine().next_timer()
    }

    /// The agent a notification with this Message-ID was sent to.
    pub fn notified_agent(&self, staged: &Staged, message_id: &str) -> Result<Option<String>> {
        Ok(self.notification(staged, message_id)?.map(|(a, _)| a))
    }

    /// The agent a notification with this Message-ID was sent to, and
    /// (for mail queued since this was kept) the ticket and how many of
    /// its messages the notification had seen.
    pub fn notification(&self, staged: &Staged, message_id: &str) -> Result<Option<Notified>> {
        let value = match staged.notified.get(message_id) {
            Some(v) => v.clone(),
            None => match self.engine().notified(message_id)? {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        let mut words = value.split(' ');
        let agent = words.next().unwrap_or_default().to_string();
        let seen = match (words.next(), words.next()) {
            (Some(t), Some(n)) => t.parse().ok().zip(n.parse().ok()),
            _ => None,
        };
        Ok(Some((agent, seen)))
    }

    /// Stages a ticket change that comes with no message of its own (the
    /// other side of a merge, an admin's `tickets set`).
    pub fn stage_ticket(&self, staged: &mut Staged, ticket: &Ticket) {
        staged.tickets.insert(ticket.number, ticket.clone());
        staged.extra_tickets.insert(ticket.number);
    }

    /// The records of a ticket's messages, without their bytes.
    pub fn message_records(&self, ticket: u64) -> Result<Vec<MessageRecord>> {
        self.engine().message_records(ticket)
    }

    /// A named counter (round-robin positions), staged value first.
    pub fn counter(&self, staged: &Staged, name: &str) -> Result<u64> {
        if let Some(v) = staged.counters.get(name) {
            return Ok(*v);
        }
        Ok(self.engine().counter(name)?.unwrap_or(0))
    }

    /// Sets a counter, written with the staged intakes.
    pub fn stage_counter(&self, staged: &mut Staged, name: &str, value: u64) {
        staged.counters.insert(name.to_string(), value);
    }

    /// The record of proactive notice `notice` given to `email`, if it was
    /// (staged ones included).
    pub fn notice_given(
        &self,
        staged: &Staged,
        notice: &str,
        email: &str,
    ) -> Result<Option<NoticeRecord>> {
        let key = notice_key(notice, email);
        if let Some((_, v)) = staged.notices.iter().find(|(k, _)| *k == key) {
            return from_json("notice", v).map(Some);
        }
        self.engine().notice(notice, email)
    }

    /// Records that `email` was given notice `notice`, written in the same
    /// transaction as the mail queued for it, so a rerun never sends twice.
    pub fn stage_notice(
        &self,
        staged: &mut Staged,
        notice: &str,
        email: &str,
        record: &NoticeRecord,
    ) {
        staged
            .notices
            .push((notice_key(notice, email), json(record)));
    }

    /// Writes everything staged in one transaction and empties the set.
    pub fn commit(&self, staged: &mut Staged) -> Result<()> {
        if staged.is_empty() {
            return Ok(());
        }
        let _writing = self.writing();
        self.train_due.fetch_add(
            training_units(staged.count, staged.mail_bytes),
            std::sync::atomic::Ordering::Relaxed,
        );
        if let Kept::Postgres(p) = &self.kept {
            if p.writes_behind() {
                let entered = staged.entered;
                let written = p.write_staged_behind(std::mem::take(staged));
                staged.entered = entered;
                return written;
            }
        }
        self.engine().write(staged)?;
        *staged = Staged {
            entered: staged.entered,
            ..Staged::default()
        };
        Ok(())
    }

    /// Lets the caller decide its next batch while the last one is still
    /// being committed, until [`WriteBehind::finish`]: on PostgreSQL an
    /// import then keeps the client and the server busy at once
    /// ([`crate::pg::engine`]'s `behind` says why the answers stay the
    /// same). A commit then returns before its batch is durable, so only
    /// a caller that marks nothing done at a source may ask: an import,
    /// which can always be run again. Elsewhere it changes nothing.
    pub fn write_behind(&self) -> WriteBehind<'_> {
        let on = match &self.kept {
            Kept::Postgres(p) => p.write_behind(true).is_ok(),
            _ => false,
        };
        WriteBehind { store: self, on }
    }

    /// Takes the store's write turn for a decision, if `staged` does not
    /// hold it yet. Several processes writing one store (PostgreSQL nodes)
    /// decide one at a time, each from its first read to its commit, as
    /// one process's intakes already do under the desk's lock: that is
    /// what keeps ticket numbers, threading and timers exactly-once
    /// across nodes. A single-process engine needs nothing here.
    pub fn enter(&self, staged: &mut Staged) -> Result<()> {
        if !staged.entered {
            if let Kept::Postgres(p) = &self.kept {
                p.enter()?;
            }
            staged.entered = true;
        }
        Ok(())
    }

    /// Asks the engine at once for what `staged`'s hint names (see
    /// [`Staged::ahead`]), while the turn is held. Only PostgreSQL gains:
    /// its reads are round trips; sled's are in memory. A failed read
    /// ahead costs nothing but speed, so it is logged, not returned.
    pub fn read_ahead(&self, staged: &mut Staged) {
        let Some(ahead) = staged.ahead.take() else {
            return;
        };
        if let (Kept::Postgres(p), true) = (&self.kept, staged.entered) {
            if let Err(e) = p.prefetch(&ahead.ids, &ahead.addresses) {
                tracing::debug!(error = %e, "cannot read ahead for a batch; reading one by one");
            }
        }
    }

    /// Whether [`Store::read_ahead`] does anything here: a batch's hint is
    /// worth making only for an engine that reads over the network.
    pub fn reads_ahead(&self) -> bool {
        matches!(self.kept, Kept::Postgres(_))
    }

    /// The inbox leases this node holds (a shared store's daemon).
    pub fn set_leases(&self, holds: std::sync::Arc<crate::pg::lease::Holds>) {
        if let Kept::Postgres(p) = &self.kept {
            p.set_holds(holds);
        }
    }

    /// Notes that `staged` holds mail from `inbox` (see [`Staged`]).
    pub fn stage_inbox(&self, staged: &mut Staged, inbox: &str) {
        if !staged.inboxes.contains(inbox) {
            if let Kept::Postgres(p) = &self.kept {
                staged.fences.extend(p.hold(inbox));
            }
            staged.inboxes.insert(inbox.to_string());
        }
    }

    /// Gives the write turn back once nothing is left staged (a decision
    /// that wrote nothing, or after the commit).
    pub fn leave(&self, staged: &mut Staged) {
        if staged.entered && staged.is_empty() {
            if let Kept::Postgres(p) = &self.kept {
                p.leave();
            }
            staged.entered = false;
        }
    }

    /// Every ticket, in number order.
    pub fn tickets(&self) -> impl Iterator<Item = Result<Ticket>> + '_ {
        self.engine().tickets()
    }

    /// Every ticket counted, one by one: what a restore checks against its
    /// manifest. It reads every ticket (0.86 s at 600,000 on sled).
    pub fn ticket_count(&self) -> Result<u64> {
        self.engine().ticket_count()
    }

    /// How many tickets the desk has, read from the highest ticket number
    /// in O(log n), for `status`, which is asked often (and by
    /// monitoring). Tickets are never deleted (merged and erased ones stay
    /// as records) and numbers are handed out one after another from 1
    /// (the highest stored plus one), so the highest number is the count.
    pub fn ticket_total(&self) -> Result<u64> {
        self.engine().last_ticket()
    }

    /// The messages of a ticket, in arrival order, each with its original
    /// bytes. `text` is empty: it is derived from the bytes by the reader.
    pub fn messages(&self, ticket: u64) -> Result<Vec<(MessageRecord, Vec<u8>)>> {
        self.engine().messages(ticket)
    }

    /// The original bytes of one message, as they arrived.
    pub fn raw_message(&self, ticket: u64, seq: u32) -> Result<Option<Vec<u8>>> {
        self.engine().raw_message(ticket, seq)
    }

    /// Tickets a customer has opened, newest last.
    pub fn tickets_of_customer(&self, email: &str) -> Result<Vec<u64>> {
        self.engine().tickets_of_customer(email)
    }

    /// Customers in address order after `after`, at most `limit` of them,
    /// each with their ticket numbers. Reads the page, not the desk.
    pub fn customers_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u64>)>> {
        self.engine().customers_page(after, limit)
    }

    /// A source's position (what it has handed over), staged value first.
    pub fn cursor(&self, staged: &Staged, source: &str) -> Result<Option<Vec<u8>>> {
        if let Some(v) = staged.cursors.get(source) {
            return Ok(Some(v.clone()));
        }
        self.engine().cursor(source)
    }

    /// Moves a source's position, written in the same transaction as the
    /// messages staged before it: the position can never run ahead of
    /// what is stored.
    pub fn stage_cursor(&self, staged: &mut Staged, source: &str, value: &[u8]) {
        staged.cursors.insert(source.to_string(), value.to_vec());
    }

    /// Every ticket prefix the desk has used, oldest first, `current` last
    /// (recorded now if it is new): after a change of
    /// `desk.ticket_prefix`, references with an old prefix in subjects,
    /// reply tokens and admins' notes still name their tickets.
    pub fn prefixes(&self, current: &str) -> Result<Vec<String>> {
        let mut known: Vec<String> = match self.engine().shared("prefixes")? {
            Some(v) => from_json("ticket prefixes", &v)?,
            None => Vec::new(),
        };
        if !known.iter().any(|p| p.eq_ignore_ascii_case(current)) {
            known.push(current.to_string());
            self.engine().set_shared("prefixes", &json(&known))?;
        }
        Ok(known)
    }

    /// A desk-wide value, stored as `value` first if there is none: what
    /// every node of a shared store must agree on (the token secret).
    pub fn shared_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.engine().shared_or_insert(key, value)
    }

    /// The logical size of every tree (a full scan: for measurements).
    pub fn space(&self) -> Result<Vec<usage::Space>> {
        self.engine().space()
    }

    /// (reads, writes) of the store since it was opened; see [`usage`].
    pub fn usage(&self) -> (u64, u64) {
        self.engine().usage()
    }

    /// The engine behind the facade: what parity tests ask the same
    /// questions as another engine, primitive by primitive.
    pub fn engine(&self) -> &dyn engine::Engine {
        match &self.kept {
            Kept::Sled(s) => s,
            Kept::Postgres(p) => p,
        }
    }

    /// The sled engine, when the store is one: for what only sled has
    /// (its layout version, the mail dictionaries, the damage mark, the
    /// offline rewrite).
    fn sled(&self) -> Option<&sled_engine::Sled> {
        match &self.kept {
            Kept::Sled(s) => Some(s),
            Kept::Postgres(_) => None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.writers.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
