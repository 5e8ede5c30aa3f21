//! The desk: the store plus what the configuration says about it, and the
//! one place where a request turns into reads, a pure decision and a write.
//!
//! Both the daemon (for every source and for requests on its control socket)
//! and a command running without a daemon use this type, so they behave the
//! same by construction.

use std::sync::Mutex;

use chrono::Utc;

/// Staged bytes that force a write before the batch is full, so a batch of
/// huge messages does not become one huge transaction.
const MAX_STAGED_BYTES: usize = 16 * 1024 * 1024;

use crate::api::{Outcome, Request, Response, TicketView};
use crate::config::Config;
use crate::decide::{self, Context, Mode};
use crate::mail::subject::TagMatcher;
use crate::mail::{self, Inbound};
use crate::store::{IdKind, Staged, Store, StoreError};
use crate::thread::{self, Facts, Threading};
use crate::ticket::{self, Priority};
use crate::token::{Signer, TokenError};

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
}

/// A message parsed and compressed, ready for the store.
pub struct Prepared {
    raw: Vec<u8>,
    compressed: Vec<u8>,
    parsed: Result<Inbound, Rejected>,
    origin: String,
}

/// Why a message goes to the quarantine instead of a ticket.
struct Rejected {
    reason: String,
    not_mail: bool,
}

pub struct Desk {
    config: Config,
    store: Store,
    signer: Signer,
    tags: TagMatcher,
    own: Vec<String>,
    default_priority: Priority,
    /// Intakes decided but not yet written. Intake reads facts through it,
    /// decides, and stages; the lock serializes intakes so each sees all
    /// before it. Written as one transaction at [`Desk::flush`], or sooner
    /// when it grows past `intake.batch` messages or [`MAX_STAGED_BYTES`].
    staged: Mutex<Staged>,
}

impl Desk {
    /// Opens the store in the configured state directory, creating the
    /// directory (0750) and the token secret on first run.
    pub fn open(config: Config) -> Result<Desk, DeskError> {
        let dir = config.state_dir().to_path_buf();
        create_private_dir(&dir).map_err(|source| DeskError::StateDir {
            path: dir.display().to_string(),
            source,
        })?;
        let store = Store::open(&dir)?;
        let signer = Signer::load_or_create(&dir)?;
        let tags = TagMatcher::new(&config.desk.ticket_prefix);
        let own = config.own_addresses();
        let default_priority =
            Priority::parse(&config.desk.default_priority).unwrap_or(Priority::Normal);
        Ok(Desk {
            config,
            store,
            signer,
            tags,
            own,
            default_priority,
            staged: Mutex::new(Staged::default()),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Parses and stores one message (not yet flushed). Anything that is not
    /// a storable message goes to the quarantine; the only error is the
    /// store itself failing, which the caller must treat as "try later".
    pub fn ingest(
        &self,
        raw: &[u8],
        inbox: Option<&str>,
        origin: &str,
        mode: Mode,
    ) -> Result<Outcome, StoreError> {
        let prepared = self.prepare(raw.to_vec(), origin.to_string());
        self.ingest_prepared(prepared, inbox, mode)
    }

    /// The CPU half of intake: parsing and compression, with no store
    /// access, so a bulk import can run it on another core.
    pub fn prepare(&self, raw: Vec<u8>, origin: String) -> Prepared {
        let parsed = if raw.len() > self.config.intake.max_message_bytes {
            Err(Rejected {
                reason: format!(
                    "too large: {} bytes, intake.max_message_bytes is {}",
                    raw.len(),
                    self.config.intake.max_message_bytes
                ),
                not_mail: false,
            })
        } else {
            mail::parse(&raw).map_err(|e| Rejected {
                reason: e.to_string(),
                not_mail: e.is_not_mail(),
            })
        };
        let compressed = match parsed {
            Ok(_) => lz4_flex::compress_prepend_size(&raw),
            Err(_) => Vec::new(),
        };
        Prepared {
            raw,
            compressed,
            parsed,
            origin,
        }
    }

    /// The store half of intake, for a message from [`Desk::prepare`].
    pub fn ingest_prepared(
        &self,
        prepared: Prepared,
        inbox: Option<&str>,
        mode: Mode,
    ) -> Result<Outcome, StoreError> {
        let now = Utc::now();
        let origin = prepared.origin.as_str();
        let msg = match prepared.parsed {
            Ok(m) => m,
            Err(r) => return self.quarantine(&prepared.raw, r.reason, origin, r.not_mail),
        };
        let inbox = inbox
            .map(str::to_string)
            .or_else(|| self.config.inboxes.first().map(|i| i.name.clone()))
            .unwrap_or_else(|| "default".to_string());
        let queue = self.config.queue_for_inbox(&inbox);

        let mut staged = self.lock_staged();
        let facts = self.facts(&staged, &msg)?;
        let threading = thread::choose(&facts);
        let existing = match &threading {
            Threading::Duplicate(t) => {
                return Ok(Outcome::Duplicate {
                    ticket: self.reference(&staged, *t),
                })
            }
            Threading::Existing(t, _) => self.store.ticket(&staged, *t)?,
            Threading::New => None,
        };
        let known: Vec<String> = facts
            .known_references
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        let ctx = Context {
            prefix: &self.config.desk.ticket_prefix,
            own_addresses: &self.own,
            tags: &self.tags,
            default_category: &self.config.desk.default_category,
            default_priority: self.default_priority,
            inbox: &inbox,
            queue: &queue,
            origin,
            mode,
            next_number: self.store.next_ticket_number(&staged)?,
            now,
        };
        let decision = decide::intake(&msg, &threading, existing, &known, &ctx);
        self.store
            .stage(&mut staged, &decision, &prepared.compressed)?;
        if staged.len() >= self.config.intake.batch || staged.bytes() >= MAX_STAGED_BYTES {
            self.store.commit(&mut staged)?;
        }
        Ok(Outcome::Stored {
            ticket: decision.ticket.reference.clone(),
            created: decision.created,
            thread: decision.record.thread,
        })
    }

    fn lock_staged(&self) -> std::sync::MutexGuard<'_, Staged> {
        // A panic while staging cannot leave a half-applied write behind
        // (nothing is written before commit), so a poisoned lock is usable.
        self.staged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes everything staged and makes it durable. Sources are marked
    /// done only after this returns.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut staged = self.lock_staged();
        self.store.commit(&mut staged)?;
        drop(staged);
        self.store.flush()
    }

    /// Writes everything staged (not necessarily durable yet), so that
    /// queries see every message acknowledged so far.
    fn commit_staged(&self) -> Result<(), StoreError> {
        self.store.commit(&mut self.lock_staged())
    }

    fn quarantine(
        &self,
        raw: &[u8],
        reason: String,
        origin: &str,
        not_mail: bool,
    ) -> Result<Outcome, StoreError> {
        let entry = self.store.quarantine(raw, &reason, origin, Utc::now())?;
        tracing::warn!(id = %entry.id, %origin, %reason, "quarantined");
        Ok(Outcome::Quarantined {
            id: entry.id,
            reason,
            not_mail,
        })
    }

    /// Gathers what the store knows that bears on threading `msg`.
    fn facts(&self, staged: &Staged, msg: &Inbound) -> Result<Facts, StoreError> {
        let mut facts = Facts {
            tag_prefix: self.config.desk.ticket_prefix.clone(),
            ..Facts::default()
        };
        if let Some(entry) = self.store.lookup_id(staged, &msg.message_id)? {
            match entry.kind {
                IdKind::Stored | IdKind::Sent => {
                    facts.duplicate_of = Some(entry.ticket);
                    return Ok(facts);
                }
                IdKind::Referenced => {
                    facts.referenced_by = Some((msg.message_id.clone(), entry.ticket));
                }
            }
        }
        let prefix = &self.config.desk.ticket_prefix;
        for address in msg.all_recipients() {
            if let Some(n) = self.signer.verify_address(&self.own, prefix, address) {
                if self.store.ticket(staged, n)?.is_some() {
                    facts.token = Some((address.to_string(), n));
                    break;
                }
            }
        }
        // In-Reply-To names the direct parent; References nearest-last.
        let mut seen = std::collections::HashSet::new();
        let ids = msg
            .in_reply_to
            .iter()
            .chain(msg.references.iter().rev())
            .filter(|id| seen.insert(id.as_str()));
        for id in ids {
            if let Some(entry) = self.store.lookup_id(staged, id)? {
                facts.known_references.push((id.clone(), entry.ticket));
            }
        }
        for n in self.tags.numbers(&msg.subject) {
            if let Some(t) = self.store.ticket(staged, n)? {
                facts.tagged.push((n, t.is_participant(&msg.from.email)));
            }
        }
        Ok(facts)
    }

    fn reference(&self, staged: &Staged, number: u64) -> String {
        match self.store.ticket(staged, number) {
            Ok(Some(t)) => t.reference,
            _ => ticket::reference(&self.config.desk.ticket_prefix, number),
        }
    }

    fn find_ticket(&self, reference: &str) -> Result<Option<u64>, StoreError> {
        let Some(n) = ticket::parse_reference(&self.config.desk.ticket_prefix, reference) else {
            return Ok(None);
        };
        Ok(self.store.ticket(&Staged::default(), n)?.map(|t| t.number))
    }

    /// Answers one request: the single code path behind every command.
    pub fn handle(&self, req: Request) -> Response {
        match self.try_handle(req) {
            Ok(r) => r,
            Err(e) => Response::Error {
                message: e.to_string(),
                retry: true,
            },
        }
    }

    fn try_handle(&self, req: Request) -> Result<Response, StoreError> {
        Ok(match req {
            Request::Ping => Response::Pong {
                pid: std::process::id(),
            },
            Request::Ingest {
                inbox,
                origin,
                import_status,
                durable,
                raw,
            } => {
                let mode = match import_status {
                    Some(status) => Mode::Import { status },
                    None => Mode::Live,
                };
                let outcome = self.ingest(&raw, inbox.as_deref(), &origin, mode)?;
                if durable {
                    self.flush()?;
                }
                Response::Ingested(outcome)
            }
            Request::Flush => {
                self.flush()?;
                Response::Flushed
            }
            Request::ListTickets { status, queue } => {
                self.commit_staged()?;
                let mut out = Vec::new();
                for t in self.store.tickets() {
                    let t = t?;
                    if status.is_some_and(|s| s != t.status) {
                        continue;
                    }
                    if queue.as_ref().is_some_and(|q| *q != t.queue) {
                        continue;
                    }
                    out.push(t);
                }
                Response::Tickets(out)
            }
            Request::ShowTicket { reference } => {
                self.commit_staged()?;
                match self.find_ticket(&reference)? {
                    Some(n) => match self.store.ticket(&Staged::default(), n)? {
                        Some(ticket) => Response::Ticket(Box::new(TicketView {
                            messages: self
                                .store
                                .messages(n)?
                                .into_iter()
                                .map(|(mut record, raw)| {
                                    record.text = mail::parse(&raw).map(|m| m.text).unwrap_or_default();
                                    record
                                })
                                .collect(),
                            ticket,
                        })),
                        None => not_found(&reference),
                    },
                    None => not_found(&reference),
                }
            }
            Request::ListQuarantine => Response::Quarantine(self.store.quarantined()?),
            Request::ShowQuarantine { id } => match self.store.quarantined_entry(&id)? {
                Some((entry, raw)) => Response::QuarantineItem { entry, raw },
                None => Response::Error {
                    message: format!(
                        "no quarantine entry `{id}`\n  hint: `postdesk quarantine list` shows the ids"
                    ),
                    retry: false,
                },
            },
        })
    }
}

fn not_found(reference: &str) -> Response {
    Response::Error {
        message: format!("no ticket `{reference}`\n  hint: `postdesk tickets list` shows them"),
        retry: false,
    }
}

/// Creates a directory (and parents) readable only by the owner and group:
/// it holds the token secret and every customer's mail.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
}
