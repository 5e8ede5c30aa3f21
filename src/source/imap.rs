//! IMAP intake: one task per `[[inbox]] kind = "imap"`, each with its own
//! connection, so a slow or broken mailbox never holds up the others.
//!
//! Exactly-once, the way a crash can't break it:
//! 1. new UIDs are fetched in batches with `BODY.PEEK[]` (which leaves
//!    \Seen alone, so a crash before the flush leaves the server as it was);
//! 2. each batch is stored, and the inbox's cursor (UIDVALIDITY, highest
//!    stored UID) is staged after its messages, so both land in the same
//!    store transaction, which the flush makes durable;
//! 3. only then is `after` applied on the server (flag, move or delete).
//!
//! Steps 2 and 3 are the rule every source shares, in [`super::batch`].
//!
//! A crash between 2 and 3 leaves messages on the server that the store
//! already holds: in `seen` mode the cursor remembers how far `after` got
//! and the gap is redone on the next connect; in `move`/`delete` mode every
//! message still in the folder is fetched again, recognized by its
//! Message-ID, and then moved or deleted. A changed UIDVALIDITY makes every UID
//! meaningless, so the folder is read again from the start; Message-ID
//! dedupe in the desk turns that into no-ops, never into doubles.
//!
//! Between checks the task waits in IDLE when the server offers it (new
//! mail is seen within about a second) and renews it every `poll`, which
//! doubles as the check that the connection is still alive; without IDLE
//! it polls. Any error drops the connection and reconnects with
//! exponential backoff and jitter. Fetching the next batch overlaps with
//! storing the previous one, so the network and the disk work at once.

mod auth;
mod commands;
mod conn;
mod cursor;
mod folder;
mod settings;
mod uidset;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use auth::{run_token_command, xoauth2_response, Credential};
pub use cursor::Cursor;
pub use folder::utf7;
pub use settings::{After, Auth, Settings, SettingsError, Tls};

use super::backoff::Backoff;
use super::batch::{self, ToDesk};
use crate::config::Inbox;
use crate::decide::Mode;
use crate::desk::{Desk, Prepared};
use commands::{Imap, Wake};

/// The kind shown by `postdesk status`.
const KIND: &str = "imap";

/// The first reconnect comes quickly (a server restart takes seconds);
/// later ones spread out to this.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Authentication failures in a row before the admin gets a mail: one
/// refusal can be a server hiccup, three in a row are a wrong secret.
const AUTH_ALERT_AFTER: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("{0}\n  hint: fix the secret named in [[inbox]] (password_env, password_file, oauth2_token_command or oauth2_token_file)")]
    Credential(String),
    #[error("cannot connect to {addr}: {source}\n  hint: check host and port in [[inbox]] and that the IMAP server is up")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS with {addr} failed: {reason}\n  hint: {}", tls_hint(.reason))]
    Tls { addr: String, reason: String },
    #[error("cannot use ca_file {path}: {reason}\n  hint: ca_file must hold the PEM certificate of the CA that signed the server's certificate")]
    CaFile { path: PathBuf, reason: String },
    #[error("authentication failed: the server refused {mechanism} for {user}: {reason}\n  hint: check the password (password_env / password_file) or the OAuth2 token, and that this account may use IMAP")]
    Auth {
        user: String,
        mechanism: String,
        reason: String,
    },
    #[error("cannot open folder `{folder}`: {reason}\n  hint: check `folder` in [[inbox]]")]
    Folder { folder: String, reason: String },
    #[error("the server answered {status} to {command}: {text}")]
    Command {
        command: String,
        status: &'static str,
        text: String,
    },
    #[error("IMAP: {0}")]
    Protocol(String),
    #[error("{0}; nothing after it was marked done on the server, it is fetched again")]
    Store(String),
}

fn tls_hint(reason: &str) -> &'static str {
    if reason.to_ascii_lowercase().contains("certificate") {
        "the server's certificate is not trusted or does not name this host; for a private CA set ca_file to its PEM certificate"
    } else {
        "check that `tls` matches the port (implicit: 993, starttls: 143)"
    }
}

impl ImapError {
    /// The server said no to our credentials: retrying soon will not help,
    /// and repeated attempts can lock the account.
    pub fn is_auth(&self) -> bool {
        matches!(self, ImapError::Auth { .. } | ImapError::Credential(_))
    }
}

/// What `postdesk check` can tell about an IMAP inbox without connecting:
/// (errors, warnings). A CA file that does not load stops the inbox on
/// every connect, so it is an error; a missing password is only a warning,
/// because the daemon may run with another environment (systemd's
/// `EnvironmentFile`) or as a user that may read what this one may not.
/// The token command is not run: it may have side effects.
pub fn check_settings(s: &Settings) -> (Vec<String>, Vec<String>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let name = &s.name;
    if let Some(ca) = &s.ca_file {
        if let Err(e) = conn::tls_config(Some(ca)) {
            errors.push(format!("inbox `{name}`: {e}"));
        }
    }
    match &s.auth {
        Auth::Password { env: Some(var), .. } if std::env::var_os(var).is_none() => {
            warnings.push(format!(
                "inbox `{name}`: password_env = \"{var}\" is not set in this environment; \
                 make sure the daemon's environment sets it"
            ));
        }
        Auth::Password {
            file: Some(file), ..
        }
        | Auth::TokenFile(file) => {
            if let Err(e) = std::fs::metadata(file) {
                warnings.push(format!(
                    "inbox `{name}`: cannot read {}: {e}; the daemon's user must be able to",
                    file.display()
                ));
            }
        }
        _ => {}
    }
    (errors, warnings)
}

/// Serves one IMAP inbox until `stop` turns true. Never returns early on
/// an error: it reports it (log and `postdesk status`) and tries again.
pub async fn run(desk: Arc<Desk>, inbox: Inbox, mut stop: watch::Receiver<bool>) {
    let name = inbox.name.clone();
    let settings = match Settings::from_inbox(&inbox, desk.config().intake.batch) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(inbox = %name, "{e}; this inbox is not read until the config is fixed");
            desk.sources().failure(&name, KIND, &e.to_string());
            let _ = stop.wait_for(|s| *s).await;
            return;
        }
    };
    desk.sources().update(&name, KIND, |_| {});
    let mut backoff = Backoff::new(BACKOFF_BASE, BACKOFF_CAP);
    // When the current run of authentication failures began, and whether
    // the admin has been told about it.
    let mut auth_streak: Option<(chrono::DateTime<chrono::Utc>, bool)> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let error = match session(&desk, &settings, &mut stop, &mut backoff).await {
            Ok(()) => return,
            Err(e) => e,
        };
        if backoff.failures() == 0 {
            // The session had connected (a reset backoff) before it failed.
            auth_streak = None;
        }
        let wait = backoff.next();
        let mut message = error.to_string();
        if error.is_auth() && backoff.failures() > 1 {
            message.push_str(&format!("\n  ({} failures in a row)", backoff.failures()));
        }
        if error.is_auth() {
            tracing::error!(inbox = %name, retry_in = ?wait, "{message}");
            let (since, told) = auth_streak.get_or_insert((chrono::Utc::now(), false));
            if !*told && backoff.failures() >= AUTH_ALERT_AFTER {
                *told = true;
                alert_auth(&desk, &settings, *since, backoff.failures(), &message).await;
            }
        } else {
            tracing::warn!(inbox = %name, retry_in = ?wait, "{message}");
        }
        desk.sources().failure(&name, KIND, &message);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Tells the admin by mail that an inbox cannot log in: until someone
/// fixes the password or token, its mail waits on the server unread by the
/// desk, and a log line alone is easy to miss.
async fn alert_auth(
    desk: &Arc<Desk>,
    s: &Settings,
    since: chrono::DateTime<chrono::Utc>,
    failures: u32,
    error: &str,
) {
    let cause = format!("imap-auth:{}:{}", s.name, since.to_rfc3339());
    let subject = format!("inbox `{}` cannot log in", s.name);
    let body = format!(
        "postdesk cannot log in to the IMAP inbox `{name}` ({user} at {host}:{port}).\n\
         It has failed {failures} times in a row since {since}.\n\n\
         The last error:\n{error}\n\n\
         Until this is fixed, mail to this inbox stays on the server and gets no\n\
         ticket and no acknowledgement; nothing is lost. postdesk keeps retrying\n\
         (every few minutes at most) and picks the mail up as soon as it can log in.\n\
         Other inboxes are not affected.\n\n\
         What to do: check the password or OAuth2 token named in [[inbox]] `{name}`\n\
         of the config (password_env, password_file, oauth2_token_command or\n\
         oauth2_token_file), and that the account may use IMAP. `postdesk status`\n\
         shows the inbox's state. This is the only mail about this run of failures.\n",
        name = s.name,
        user = s.username,
        host = s.host,
        port = s.port,
        since = since.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    let job = {
        let desk = desk.clone();
        move || desk.alert_admin(&cause, &subject, &body)
    };
    match tokio::task::spawn_blocking(job).await {
        Ok(Ok(true)) => {
            tracing::info!(inbox = %s.name, "told the admin by mail that this inbox cannot log in")
        }
        Ok(Ok(false)) => tracing::warn!(
            inbox = %s.name,
            "no desk.admin is configured, so nobody is told by mail that this inbox cannot log in"
        ),
        Ok(Err(e)) => tracing::error!(inbox = %s.name, "cannot queue the alert mail: {e}"),
        Err(e) => tracing::error!(inbox = %s.name, "the alert task failed: {e}"),
    }
}

/// One connection, from connect to LOGOUT (on stop) or the first error.
async fn session(
    desk: &Arc<Desk>,
    s: &Settings,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Result<(), ImapError> {
    let session = tokio::select! {
        r = conn::open(s) => r?,
        _ = stop.wait_for(|s| *s) => return Ok(()),
    };
    let mut imap = Imap::new(session).await?;
    if let After::Move(target) = &s.after {
        if imap.create(target).await? {
            tracing::info!(inbox = %s.name, folder = %target, "created the folder for handled mail");
        }
    }
    let mut uid_validity = imap.select(&s.folder).await?;
    let mut cursor = load_cursor(desk, s, uid_validity).await?;
    let use_idle = match (s.idle, imap.caps.idle) {
        (Some(false), _) => false,
        (_, true) => true,
        (Some(true), false) => {
            tracing::warn!(inbox = %s.name, "idle = true but the server does not offer IDLE; polling every {:?}", s.poll);
            false
        }
        (None, false) => false,
    };
    tracing::info!(
        inbox = %s.name,
        server = %format!("{}:{}", s.host, s.port),
        folder = %s.folder,
        idle = use_idle,
        position = %cursor.describe(),
        "IMAP inbox connected"
    );
    desk.sources().update(&s.name, KIND, |e| {
        e.connected = true;
        e.cursor = Some(cursor.describe());
    });
    backoff.reset();

    redo_interrupted_after(desk, s, &mut imap, &mut cursor).await?;
    loop {
        imap.take_saw_new();
        let fresh = match s.after.removes() {
            true => search(&mut imap, s, 1).await?,
            false => match cursor.stored.checked_add(1) {
                Some(from) => search(&mut imap, s, from).await?,
                None => Vec::new(),
            },
        };
        // In move/delete mode everything still in the folder is taken,
        // also below the cursor: such a message is either stored and only
        // its `after` is missing (a crash, a failed move: the desk knows it
        // by Message-ID), or one that was skipped while flagged \Deleted
        // or \Seen; marking it done unread could lose it.
        let handed = intake(desk, s, &mut imap, &mut cursor, &fresh, stop).await?;
        desk.sources().success(&s.name, KIND, handed);
        if *stop.borrow() {
            break;
        }
        // More may have come meanwhile. Without progress (a message the
        // server lists but will not hand out) wait as usual rather than
        // spin on it.
        if handed > 0 || imap.take_saw_new() {
            continue;
        }
        let wake = if use_idle {
            imap.idle(s.idle_period(), stop).await?
        } else {
            tokio::select! {
                _ = tokio::time::sleep(s.poll) => Wake::Timeout,
                _ = stop.wait_for(|s| *s) => Wake::Stop,
            }
        };
        if wake == Wake::Stop {
            break;
        }
        if wake == Wake::Timeout {
            // The safety-net check. A folder deleted and recreated while
            // selected can go on showing its old self to this session
            // (Dovecot does, even to STATUS); selecting it again shows
            // what is there now.
            let now = imap.select(&s.folder).await?;
            if now != uid_validity {
                uid_validity = now;
                cursor = load_cursor(desk, s, uid_validity).await?;
                desk.sources().update(&s.name, KIND, |e| {
                    e.cursor = Some(cursor.describe());
                });
            }
        }
    }
    tracing::info!(inbox = %s.name, "logging out");
    imap.logout().await;
    Ok(())
}

/// The criteria for mail not handed over yet, from UID `from` on.
fn criteria(s: &Settings, from: u32) -> String {
    let mut q = format!("UID {from}:*");
    if !s.process_seen {
        q.push_str(" UNSEEN");
    }
    // A message someone flagged \Deleted is on its way out by their
    // decision (and our own COPY + \Deleted leaves such messages when the
    // server cannot expunge by UID).
    q.push_str(" UNDELETED");
    q
}

async fn search(imap: &mut Imap, s: &Settings, from: u32) -> Result<Vec<u32>, ImapError> {
    let found = imap.search(&criteria(s, from)).await?;
    Ok(uidset::at_least(found, from))
}

/// The stored cursor if it belongs to this UIDVALIDITY, else a new start.
async fn load_cursor(
    desk: &Arc<Desk>,
    s: &Settings,
    uid_validity: u32,
) -> Result<Cursor, ImapError> {
    let key = s.cursor_key();
    let bytes = {
        let desk = desk.clone();
        tokio::task::spawn_blocking(move || desk.cursor(&key))
            .await
            .map_err(|e| ImapError::Store(format!("reading the cursor failed: {e}")))?
            .map_err(|e| ImapError::Store(format!("reading the cursor failed: {e}")))?
    };
    let Some(bytes) = bytes else {
        return Ok(Cursor::start(uid_validity));
    };
    match Cursor::decode(&bytes) {
        Some(c) if c.uid_validity == uid_validity => Ok(c),
        Some(c) => {
            tracing::warn!(
                inbox = %s.name,
                folder = %s.folder,
                old = c.uid_validity,
                new = uid_validity,
                "the folder's UIDVALIDITY changed (recreated or restored): reading every message again; those already stored are recognized by Message-ID and not doubled"
            );
            Ok(Cursor::start(uid_validity))
        }
        None => {
            tracing::warn!(inbox = %s.name, "unreadable cursor in the store; reading the folder from the start (stored messages are not doubled)");
            Ok(Cursor::start(uid_validity))
        }
    }
}

/// `seen` mode: messages stored before a crash whose \Seen never reached
/// the server get it now.
async fn redo_interrupted_after(
    desk: &Arc<Desk>,
    s: &Settings,
    imap: &mut Imap,
    cursor: &mut Cursor,
) -> Result<(), ImapError> {
    if s.after.removes() || cursor.done >= cursor.stored {
        return Ok(());
    }
    let from = cursor.done + 1;
    let found = imap
        .search(&format!("UID {from}:{}", cursor.stored))
        .await?;
    let uids: Vec<u32> = uidset::at_least(found, from)
        .into_iter()
        .filter(|u| *u <= cursor.stored)
        .collect();
    tracing::info!(inbox = %s.name, messages = uids.len(), "applying `after` to messages stored before an interruption");
    for chunk in uids.chunks(s.batch) {
        apply_after(imap, s, chunk).await?;
    }
    cursor.done = cursor.stored;
    stage_cursor(desk, s, *cursor).await
}

async fn stage_cursor(desk: &Arc<Desk>, s: &Settings, cursor: Cursor) -> Result<(), ImapError> {
    let desk = desk.clone();
    let key = s.cursor_key();
    tokio::task::spawn_blocking(move || desk.stage_cursor(&key, &cursor.encode()))
        .await
        .map_err(|e| ImapError::Store(format!("staging the cursor failed: {e}")))?
        .map_err(|e| ImapError::Store(format!("staging the cursor failed: {e}")))
}

/// What storing one batch came to.
struct Batch {
    /// Stored durably: these may be marked done on the server.
    marked: Vec<u32>,
    /// The cursor made durable with them, if the flush succeeded.
    cursor: Option<Cursor>,
    error: Option<String>,
}

/// A fetched batch: the highest UID asked for, when it arrived (for the
/// latency metric), and the messages by UID.
type Fetched = (u32, std::time::Instant, Vec<(u32, Vec<u8>)>);
/// The same batch parsed.
type Parsed = (u32, std::time::Instant, Vec<(u32, Prepared)>);

/// Batches between two stages of the intake pipeline: enough that no
/// stage waits for another, few enough to bound memory.
const PIPELINE_DEPTH: usize = 1;

/// Fetches and stores `uids` batch by batch, as a pipeline of three
/// stages that work at once: this task fetches batch k+2 from the server
/// while a thread parses batch k+1 and another stores batch k (only the
/// store touches the desk's shared state, so batches are stored in
/// order). Batches come back here once durable, to be marked done on the
/// server between fetches.
///
/// A store error stops the store stage at once: no later batch may be
/// stored past a message that was not (its cursor would skip it). Every
/// exit waits for the stages to finish, so a later session never races
/// this one for the cursor.
async fn intake(
    desk: &Arc<Desk>,
    s: &Settings,
    imap: &mut Imap,
    cursor: &mut Cursor,
    uids: &[u32],
    stop: &watch::Receiver<bool>,
) -> Result<u64, ImapError> {
    if uids.is_empty() {
        return Ok(0);
    }
    let (to_parse, parse_rx) = tokio::sync::mpsc::channel::<Fetched>(PIPELINE_DEPTH);
    let (to_store, store_rx) = std::sync::mpsc::sync_channel::<Parsed>(PIPELINE_DEPTH);
    let (stored_tx, mut stored) = tokio::sync::mpsc::unbounded_channel::<Batch>();
    let parser = {
        let desk = desk.clone();
        let name = s.name.clone();
        let uid_validity = cursor.uid_validity;
        tokio::task::spawn_blocking(move || {
            parse_stage(&desk, &name, uid_validity, parse_rx, to_store)
        })
    };
    let storer = {
        let desk = desk.clone();
        let name = s.name.clone();
        let key = s.cursor_key();
        let base = *cursor;
        tokio::task::spawn_blocking(move || {
            store_stage(&desk, &name, &key, base, store_rx, stored_tx)
        })
    };
    let mut handed = 0u64;
    let mut outcome = Ok(());
    let mut planned = std::collections::VecDeque::new();
    let mut rest = uids;
    loop {
        if planned.is_empty() {
            if rest.is_empty() {
                break;
            }
            // Sizes first (a cheap command), so batches can be cut by bytes.
            let (window, tail) = rest.split_at(rest.len().min(s.batch.saturating_mul(8)));
            rest = tail;
            match imap.sizes(window).await {
                Ok(sizes) => planned.extend(plan_batches(window, &sizes, s.batch, s.batch_bytes)),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        let Some(chunk) = planned.pop_front() else {
            break;
        };
        let chunk = chunk.as_slice();
        // Mark done what became durable meanwhile.
        while let Ok(batch) = stored.try_recv() {
            if let Err(e) = finish_batch(desk, s, imap, cursor, batch, &mut handed).await {
                outcome = Err(e);
                break;
            }
        }
        if outcome.is_err() {
            break;
        }
        let asked = std::time::Instant::now();
        let messages = match imap.fetch(chunk).await {
            Ok(m) => m,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        };
        let fetched = std::time::Instant::now();
        tracing::debug!(inbox = %s.name, messages = messages.len(), took = ?fetched - asked, "fetched a batch");
        if messages.len() < chunk.len() {
            tracing::info!(
                inbox = %s.name,
                missing = chunk.len() - messages.len(),
                "some messages were removed from the folder before they could be fetched"
            );
        }
        let last = chunk.iter().copied().max().unwrap_or(cursor.stored);
        if to_parse.send((last, fetched, messages)).await.is_err() {
            // The later stages stopped: a store error, reported below.
            break;
        }
        if *stop.borrow() {
            // Finish the batches in hand, take no more.
            break;
        }
    }
    drop(to_parse);
    // Every batch handed over reaches the store (or the store stage stops
    // at an error) before this session ends.
    while let Some(batch) = stored.recv().await {
        if outcome.is_ok() {
            if let Err(e) = finish_batch(desk, s, imap, cursor, batch, &mut handed).await {
                outcome = Err(e);
            }
        } else if let Some(c) = batch.cursor {
            // Durable, but not marked done on the server: the next session
            // does that (see `redo_interrupted_after`).
            cursor.stored = cursor.stored.max(c.stored);
        }
    }
    for stage in [parser, storer] {
        if let Err(e) = stage.await {
            outcome = outcome.and(Err(ImapError::Store(format!(
                "an intake stage failed: {e}"
            ))));
        }
    }
    outcome.map(|()| handed)
}

/// Cuts `uids` (ascending) into batches of at most `count` messages and
/// `bytes` bytes by the sizes the server reported; a message larger than
/// `bytes` goes alone, and one the server did not report (expunged
/// meanwhile) counts as empty.
fn plan_batches(uids: &[u32], sizes: &[(u32, u32)], count: usize, bytes: usize) -> Vec<Vec<u32>> {
    let size: std::collections::HashMap<u32, usize> =
        sizes.iter().map(|&(u, n)| (u, n as usize)).collect();
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut current_bytes = 0usize;
    for &uid in uids {
        let n = size.get(&uid).copied().unwrap_or(0);
        if !current.is_empty()
            && (current.len() >= count.max(1) || current_bytes.saturating_add(n) > bytes)
        {
            out.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(uid);
        current_bytes = current_bytes.saturating_add(n);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The parse stage: runs until the fetch stage closes its channel or the
/// store stage stops taking batches.
fn parse_stage(
    desk: &Desk,
    inbox: &str,
    uid_validity: u32,
    mut rx: tokio::sync::mpsc::Receiver<Fetched>,
    tx: std::sync::mpsc::SyncSender<Parsed>,
) {
    while let Some((last, fetched, messages)) = rx.blocking_recv() {
        let t = std::time::Instant::now();
        let prepared = prepare_batch(desk, inbox, uid_validity, messages);
        tracing::debug!(%inbox, messages = prepared.len(), took = ?t.elapsed(), "parsed a batch");
        if tx.send((last, fetched, prepared)).is_err() {
            return;
        }
    }
}

/// The store stage: stores batches in order, each with the cursor after
/// it, and stops at the first batch that did not become durable whole.
fn store_stage(
    desk: &Desk,
    inbox: &str,
    key: &str,
    mut base: Cursor,
    rx: std::sync::mpsc::Receiver<Parsed>,
    tx: tokio::sync::mpsc::UnboundedSender<Batch>,
) {
    for (last, fetched, messages) in rx {
        let t = std::time::Instant::now();
        let batch = store_batch(desk, inbox, key, base, last, messages, fetched);
        tracing::debug!(%inbox, messages = batch.marked.len(), took = ?t.elapsed(), "stored and flushed a batch");
        let whole = batch.error.is_none() && batch.cursor.is_some();
        if let Some(c) = batch.cursor {
            base = c;
        }
        if tx.send(batch).is_err() || !whole {
            return;
        }
    }
}

/// The CPU half of intake (parsing, compression), which needs no store
/// access and so runs beside the previous batch's store half.
fn prepare_batch(
    desk: &Desk,
    inbox: &str,
    uid_validity: u32,
    messages: Vec<(u32, Vec<u8>)>,
) -> Vec<(u32, Prepared)> {
    messages
        .into_iter()
        .map(|(uid, raw)| {
            let origin = format!("imap:{inbox}:{uid_validity}:{uid}");
            (uid, desk.prepare_live(raw, origin))
        })
        .collect()
}

/// Runs on a blocking thread: one batch through the rule in
/// [`super::batch`].
fn store_batch(
    desk: &Desk,
    inbox: &str,
    key: &str,
    base: Cursor,
    last: u32,
    messages: Vec<(u32, Prepared)>,
    fetched: std::time::Instant,
) -> Batch {
    let mut sink = ToDesk {
        desk,
        inbox: Some(inbox),
        mode: Mode::Live,
    };
    let mut handover = Handover {
        inbox,
        key,
        base,
        last,
        fetched,
        counts: (0, 0, 0),
        cursor: base,
        marked: Vec::new(),
    };
    batch::Sink::read_ahead(
        &mut sink,
        &messages.iter().map(|(_, m)| m).collect::<Vec<_>>(),
    );
    match batch::run(&mut sink, &mut handover, messages) {
        Ok(stored) => Batch {
            marked: handover.marked,
            cursor: Some(handover.cursor),
            error: stored
                .refused
                .map(|(uid, e)| format!("storing UID {uid} failed: {e}")),
        },
        Err(e) => Batch {
            marked: Vec::new(),
            cursor: None,
            error: Some(format!("flushing the store failed: {e}")),
        },
    }
}

/// One IMAP batch's side of the rule. The connection belongs to the fetch
/// task, so marking done here is handing the durable UIDs over; `after`
/// is applied to them between fetches (see `finish_batch`).
struct Handover<'a> {
    inbox: &'a str,
    key: &'a str,
    /// The cursor before this batch.
    base: Cursor,
    /// The highest UID asked for in this batch.
    last: u32,
    fetched: std::time::Instant,
    /// New, duplicate and quarantined messages, for the log.
    counts: (u32, u32, u32),
    /// The cursor staged with the batch.
    cursor: Cursor,
    marked: Vec<u32>,
}

impl batch::Source for Handover<'_> {
    type Key = u32;

    fn stored(&mut self, uid: &u32, outcome: &crate::api::Outcome) {
        match outcome {
            crate::api::Outcome::Duplicate { .. } => self.counts.1 += 1,
            crate::api::Outcome::Quarantined { .. } => self.counts.2 += 1,
            _ => self.counts.0 += 1,
        }
        tracing::debug!(inbox = %self.inbox, uid, ?outcome, "ingested");
    }

    /// Up to the last UID asked for, which also passes UIDs expunged
    /// before they could be fetched; or to just before a refused one.
    fn cursor(&mut self, refused: Option<&u32>) -> Option<(String, Vec<u8>)> {
        let stored_up_to = refused.map_or(self.last, |uid| uid.saturating_sub(1));
        self.cursor = Cursor {
            stored: stored_up_to.max(self.base.stored),
            ..self.base
        };
        Some((self.key.to_string(), self.cursor.encode()))
    }

    fn taken(&self, _uid: &u32) -> Option<(&str, std::time::Instant)> {
        Some((self.inbox, self.fetched))
    }

    fn mark_done(&mut self, done: Vec<(u32, crate::api::Outcome)>) {
        let (new, duplicates, quarantined) = self.counts;
        tracing::info!(inbox = %self.inbox, new, duplicates, quarantined, position = %self.cursor.describe(), "stored a batch");
        self.marked = done.into_iter().map(|(uid, _)| uid).collect();
    }
}

/// Marks a stored batch's messages done on the server and counts them.
async fn finish_batch(
    desk: &Arc<Desk>,
    s: &Settings,
    imap: &mut Imap,
    cursor: &mut Cursor,
    batch: Batch,
    handed: &mut u64,
) -> Result<(), ImapError> {
    if let Some(c) = batch.cursor {
        *cursor = Cursor {
            done: cursor.done,
            ..c
        };
    }
    let t = std::time::Instant::now();
    apply_after(imap, s, &batch.marked).await?;
    tracing::debug!(inbox = %s.name, messages = batch.marked.len(), took = ?t.elapsed(), "marked a batch done on the server");
    if batch.cursor.is_some() {
        // Written with the next batch or flush; if that never comes, the
        // next connect applies `after` once more, which changes nothing.
        cursor.done = cursor.stored;
        stage_cursor(desk, s, *cursor).await?;
    }
    desk.sources()
        .update(&s.name, KIND, |e| e.cursor = Some(cursor.describe()));
    match batch.error {
        Some(e) => Err(ImapError::Store(e)),
        None => {
            *handed += batch.marked.len() as u64;
            Ok(())
        }
    }
}

/// Applies `after` to messages that are durably stored.
async fn apply_after(imap: &mut Imap, s: &Settings, uids: &[u32]) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    match &s.after {
        After::Seen => imap.add_flags(uids, "\\Seen").await,
        After::Move(target) if imap.caps.uid_move => imap.uid_move(uids, target).await,
        After::Move(target) => {
            imap.uid_copy(uids, target).await?;
            imap.add_flags(uids, "\\Deleted").await?;
            expunge_ours(imap, s, uids).await
        }
        After::Delete => {
            imap.add_flags(uids, "\\Deleted").await?;
            expunge_ours(imap, s, uids).await
        }
    }
}

/// Expunges our messages and no one else's: by UID where the server can
/// (UIDPLUS); otherwise a plain EXPUNGE only while no other message is
/// flagged \Deleted — else ours stay flagged (and are skipped) until some
/// client expunges.
async fn expunge_ours(imap: &mut Imap, s: &Settings, uids: &[u32]) -> Result<(), ImapError> {
    if imap.caps.uidplus {
        return imap.uid_expunge(uids).await;
    }
    let flagged = imap.search("DELETED").await?;
    let ours: std::collections::HashSet<u32> = uids.iter().copied().collect();
    if flagged.iter().all(|u| ours.contains(u)) {
        imap.expunge().await
    } else {
        tracing::warn!(
            inbox = %s.name,
            "the server has no UIDPLUS and another client's messages are flagged \\Deleted: ours stay flagged until the next EXPUNGE"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Settings {
        let text = format!(
            "name = \"s\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword_env = \"P\"\n{extra}"
        );
        let inbox: Inbox = toml::from_str(&text).unwrap();
        Settings::from_inbox(&inbox, 10).unwrap()
    }

    #[test]
    fn batches_are_cut_by_count_and_by_bytes() {
        let uids: Vec<u32> = (1..=7).collect();
        let sizes: Vec<(u32, u32)> = uids.iter().map(|&u| (u, 100)).collect();
        // By count.
        assert_eq!(
            plan_batches(&uids, &sizes, 3, usize::MAX),
            vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]
        );
        // By bytes: 250 bytes hold two messages of 100.
        assert_eq!(
            plan_batches(&uids, &sizes, 10, 250),
            vec![vec![1, 2], vec![3, 4], vec![5, 6], vec![7]]
        );
        // A message larger than the bound goes alone; one without a size
        // (expunged meanwhile) counts as empty.
        let sizes = vec![(1, 100), (2, 5000), (3, 100), (5, 100)];
        assert_eq!(
            plan_batches(&[1, 2, 3, 4, 5], &sizes, 10, 250),
            vec![vec![1], vec![2], vec![3, 4, 5]]
        );
        assert!(plan_batches(&[], &[], 10, 250).is_empty());
    }

    #[test]
    fn search_criteria_follow_the_settings() {
        assert_eq!(criteria(&settings(""), 7), "UID 7:* UNDELETED");
        assert_eq!(
            criteria(&settings("process_seen = false"), 1),
            "UID 1:* UNSEEN UNDELETED"
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = ImapError::Tls {
            addr: "h:993".into(),
            reason: "invalid peer certificate: UnknownIssuer".into(),
        };
        assert!(e.to_string().contains("set ca_file"), "{e}");
        let e = ImapError::Tls {
            addr: "h:993".into(),
            reason: "received corrupt message".into(),
        };
        assert!(e.to_string().contains("implicit: 993"), "{e}");
        let e = ImapError::Auth {
            user: "u".into(),
            mechanism: "LOGIN".into(),
            reason: "[AUTHENTICATIONFAILED] Authentication failed.".into(),
        };
        assert!(e.is_auth());
        assert!(e.to_string().starts_with("authentication failed"), "{e}");
    }
}
