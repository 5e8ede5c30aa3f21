//! The desk: the store plus what the configuration says about it, and the
//! one place where a request turns into reads, a pure decision and a write.
//!
//! Both the daemon (for every source and for requests on its control socket)
//! and a command running without a daemon use this type, so they behave the
//! same by construction.

use std::sync::Mutex;

use chrono::Utc;

use crate::api::{Outcome, Request, Response, TicketView};
use crate::config::Config;
use crate::decide::{self, Context, Mode};
use crate::mail::subject::TagMatcher;
use crate::mail::{self, Inbound};
use crate::store::{IdKind, Store, StoreError};
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

pub struct Desk {
    config: Config,
    store: Store,
    signer: Signer,
    tags: TagMatcher,
    own: Vec<String>,
    default_priority: Priority,
    /// Intake reads facts, decides, then writes: serializing intakes makes
    /// the reads consistent with the write without holding a sled
    /// transaction across the decision.
    write: Mutex<()>,
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
            write: Mutex::new(()),
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
        let now = Utc::now();
        if raw.len() > self.config.intake.max_message_bytes {
            let reason = format!(
                "too large: {} bytes, intake.max_message_bytes is {}",
                raw.len(),
                self.config.intake.max_message_bytes
            );
            return self.quarantine(raw, reason, origin, false);
        }
        let msg = match mail::parse(raw) {
            Ok(m) => m,
            Err(e) => {
                let not_mail = e.is_not_mail();
                return self.quarantine(raw, e.to_string(), origin, not_mail);
            }
        };
        let inbox = inbox
            .map(str::to_string)
            .or_else(|| self.config.inboxes.first().map(|i| i.name.clone()))
            .unwrap_or_else(|| "default".to_string());
        let queue = self.config.queue_for_inbox(&inbox);

        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let facts = self.facts(&msg)?;
        let threading = thread::choose(&facts);
        let existing = match &threading {
            Threading::Duplicate(t) => {
                return Ok(Outcome::Duplicate {
                    ticket: self.reference(*t),
                })
            }
            Threading::Existing(t, _) => self.store.ticket(*t)?,
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
            next_number: self.store.next_ticket_number()?,
            now,
        };
        let decision = decide::intake(&msg, &threading, existing, &known, &ctx);
        self.store.commit_intake(&decision, raw)?;
        Ok(Outcome::Stored {
            ticket: decision.ticket.reference.clone(),
            created: decision.created,
            thread: decision.record.thread,
        })
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
    fn facts(&self, msg: &Inbound) -> Result<Facts, StoreError> {
        let mut facts = Facts {
            tag_prefix: self.config.desk.ticket_prefix.clone(),
            ..Facts::default()
        };
        if let Some(entry) = self.store.lookup_id(&msg.message_id)? {
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
                if self.store.ticket(n)?.is_some() {
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
            if let Some(entry) = self.store.lookup_id(id)? {
                facts.known_references.push((id.clone(), entry.ticket));
            }
        }
        for n in self.tags.numbers(&msg.subject) {
            if let Some(t) = self.store.ticket(n)? {
                facts.tagged.push((n, t.is_participant(&msg.from.email)));
            }
        }
        Ok(facts)
    }

    fn reference(&self, number: u64) -> String {
        match self.store.ticket(number) {
            Ok(Some(t)) => t.reference,
            _ => ticket::reference(&self.config.desk.ticket_prefix, number),
        }
    }

    fn find_ticket(&self, reference: &str) -> Result<Option<u64>, StoreError> {
        let Some(n) = ticket::parse_reference(&self.config.desk.ticket_prefix, reference) else {
            return Ok(None);
        };
        Ok(self.store.ticket(n)?.map(|t| t.number))
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
                    self.store.flush()?;
                }
                Response::Ingested(outcome)
            }
            Request::Flush => {
                self.store.flush()?;
                Response::Flushed
            }
            Request::ListTickets { status, queue } => {
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
            Request::ShowTicket { reference } => match self.find_ticket(&reference)? {
                Some(n) => match self.store.ticket(n)? {
                    Some(ticket) => Response::Ticket(Box::new(TicketView {
                        messages: self.store.messages(n)?,
                        ticket,
                    })),
                    None => not_found(&reference),
                },
                None => not_found(&reference),
            },
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
