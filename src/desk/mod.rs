//! The desk: the store plus what the configuration says about it, and the
//! one place where a request turns into reads, a pure decision and a write.
//!
//! Both the daemon (for every source and for requests on its control socket)
//! and a command running without a daemon use this type, so they behave the
//! same by construction.
//!
//! Every event takes one path: gather what the core needs (`gather.rs`),
//! let [`crate::decide`] decide, write the decision in one transaction
//! (`write.rs`). `intake.rs` does it for mail, `timers.rs` for due
//! deadlines, `requests.rs` for the command line; `notices.rs` reads what
//! the templates of queued mail show. This file holds the desk's state and
//! its reload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;

/// Staged bytes that force a write before the batch is full, so a batch of
/// huge messages does not become one huge transaction.
const MAX_STAGED_BYTES: usize = 16 * 1024 * 1024;

use crate::agent::Author;
use crate::api::{Outcome, Preview, Request, Response, TicketView};
use crate::compose::{self, Extras};
use crate::config::Config;
use crate::decide::{self, Context, Mode};
use crate::kb::{Kb, KbError};
use crate::mail::subject::TagMatcher;
use crate::mail::{self, Inbound};
use crate::outbox;
use crate::rules::{Classification, Known, MessageView, RuleSet, RulesError, ViewLists};
use crate::store::{IdKind, Staged, Store, StoreError};
use crate::templates::Templates;
use crate::thread::{self, Facts, Threading};
use crate::ticket::{self, Priority};
use crate::token::{Signer, TokenError};

mod campaign;
mod customers;
pub use customers::MAX_PAGE as CUSTOMERS_PAGE;
mod gather;
mod intake;
mod notices;
mod privacy;
mod requests;
mod timers;
mod write;

use intake::{agent_text, author_text};

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
    #[error("templates: {0}")]
    Templates(String),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Kb(#[from] KbError),
}

/// A message parsed and compressed, ready for the store.
pub struct Prepared {
    raw: Vec<u8>,
    /// The mail packed by the store's codec (both engines keep it packed,
    /// with the desk's mail dictionary once one is trained); `None` when
    /// the mail was rejected (quarantine keeps `raw`).
    compressed: Option<Vec<u8>>,
    parsed: Result<Inbound, Rejected>,
    origin: String,
    /// Live mail's extra early work, when [`Desk::prepare_live`] did it.
    live: Option<Early>,
}

/// The parts of live intake that depend only on the message, done with
/// the parsing, off the serial store path: what the author wrote (quotes
/// and signature stripped), the rules' pattern scan, and the mood: of
/// mail that answers nothing read as a first message (a new ticket keeps
/// it, and the rules may ask for it), of mail that answers something read
/// as a reply when a rule asks for the mood.
struct Early {
    stripped: String,
    scan: Option<crate::rules::Prescan>,
    mood: Option<crate::rules::EarlyMood>,
    /// What the guard says of the message (the bounce check and the
    /// decision ask); taken by the store half.
    guard: Option<Option<crate::guard::Automatic>>,
    /// The language detected in it, for mail that answers nothing when
    /// the desk writes more than one language and the language may be
    /// chosen from the text (see [`Desk::prepare_live`]).
    language: Option<Option<&'static str>>,
}

/// Why a message goes to the quarantine instead of a ticket.
struct Rejected {
    reason: String,
    not_mail: bool,
}

pub struct Desk {
    config: Arc<Config>,
    store: Arc<Store>,
    signer: Signer,
    /// Every ticket prefix the desk has had, the current one first.
    prefixes: Vec<String>,
    tags: TagMatcher,
    own: Vec<String>,
    default_priority: Priority,
    /// Intakes decided but not yet written. Intake reads facts through it,
    /// decides, and stages; the lock serializes intakes so each sees all
    /// before it. Written as one transaction at [`Desk::flush`], or sooner
    /// when it grows past `intake.batch` messages or [`MAX_STAGED_BYTES`].
    staged: Mutex<Staged>,
    /// Swapped whole on reload, so a render never sees half a set; shared
    /// with the outbox worker.
    templates: Arc<RwLock<Arc<Templates>>>,
    /// Swapped whole on reload, like the templates.
    rules: RwLock<RuleSet>,
    /// Live state of every source, kept by the sources themselves.
    sources: crate::status::Sources,
    /// The compiled `[calendar.NAME]` tables, for SLA deadlines.
    calendars: crate::lifecycle::Calendars,
    /// Open tickets per agent for `assign = "least-open"`, recounted now
    /// and then and kept current between recounts by our own assignments.
    open_load: Mutex<Option<(Instant, HashMap<String, usize>)>>,
    /// The self-service articles; reloaded with the rules and templates.
    kb: RwLock<Option<Arc<Kb>>>,
    /// Woken after a flush that queued mail.
    outbox_wake: Arc<tokio::sync::Notify>,
    /// First-response times by (queue, priority), recomputed now and then.
    history: Mutex<Option<(Instant, ResponseTimes)>>,
}

/// First-response durations by (queue, priority).
type ResponseTimes = HashMap<(String, String), Vec<Duration>>;

/// How long the first-response history is reused before it is recomputed.
const HISTORY_TTL: Duration = Duration::from_secs(600);
/// How far back the first-response history looks.
const HISTORY_DAYS: i64 = 30;

impl Desk {
    /// Opens the store in the configured state directory, creating the
    /// directory (0750) and the token secret on first run.
    pub fn open(config: Config) -> Result<Desk, DeskError> {
        let dir = config.state_dir().to_path_buf();
        create_private_dir(&dir).map_err(|source| DeskError::StateDir {
            path: dir.display().to_string(),
            source,
        })?;
        let templates = Templates::load_for(&config.templates.dir, &config.desk.language)
            .map_err(|e| DeskError::Templates(e.to_string()))?;
        let kb = config.kb.file.as_deref().map(Kb::load).transpose()?;
        let rules = RuleSet::load(
            &config.rules.file,
            &Known::from_config(&config, templates.names()),
        )?;
        let mut calendars = crate::lifecycle::Calendars::new();
        for (name, c) in &config.calendar {
            let cal = crate::calendar::Calendar::from_config(name, c)
                .map_err(|e| DeskError::Templates(e.to_string()))?;
            calendars.insert(name.clone(), cal);
        }
        let store = Store::open_config(&config)?;
        let signer = match config.store.kind {
            crate::config::StoreKind::Sled => Signer::load_or_create(&dir)?,
            // Every node signs and checks reply addresses with the one
            // secret the database holds (a move from sled brings the
            // desk's own; the first node of a new desk makes it).
            crate::config::StoreKind::Postgres => {
                let fresh = Signer::new_secret()?;
                let kept = store.shared_or_insert(crate::pg::copy::SECRET_KEY, fresh.as_bytes())?;
                Signer::from_secret(
                    &String::from_utf8_lossy(&kept),
                    "the database's token secret",
                )?
            }
        };
        // The current prefix first: it is tried first everywhere.
        let mut prefixes = store.prefixes(&config.desk.ticket_prefix)?;
        prefixes.reverse();
        let tags = TagMatcher::any(&prefixes);
        let own = config.own_addresses();
        let default_priority =
            Priority::parse(&config.desk.default_priority).unwrap_or(Priority::Normal);
        Ok(Desk {
            prefixes,
            config: Arc::new(config),
            store: Arc::new(store),
            signer,
            tags,
            own,
            default_priority,
            staged: Mutex::new(Staged::default()),
            templates: Arc::new(RwLock::new(Arc::new(templates))),
            rules: RwLock::new(rules),
            open_load: Mutex::new(None),
            sources: crate::status::Sources::default(),
            calendars,
            kb: RwLock::new(kb.map(Arc::new)),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            history: Mutex::new(None),
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

    /// The first answer of `f` for any of the desk's ticket prefixes, the
    /// current one first: references and tokens from before a prefix
    /// change keep working.
    fn any_prefix<T>(&self, f: impl Fn(&str) -> Option<T>) -> Option<T> {
        self.prefixes.iter().find_map(|p| f(p))
    }

    /// What the outbox worker needs: the store, the templates in use and
    /// the configuration.
    pub fn mailer(&self) -> outbox::Mailer {
        outbox::Mailer {
            store: self.store.clone(),
            templates: self.templates.clone(),
            config: self.config.clone(),
        }
    }

    /// A source's position, as last staged or stored.
    pub fn cursor(&self, source: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.cursor(&*self.lock_staged()?, source)
    }

    /// Moves a source's position with the intakes staged so far; it becomes
    /// durable with them at the next [`Desk::flush`].
    pub fn stage_cursor(&self, source: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store
            .stage_cursor(&mut *self.lock_staged()?, source, value);
        Ok(())
    }

    /// Where each source stands, for `postdesk status`.
    pub fn sources(&self) -> &crate::status::Sources {
        &self.sources
    }

    /// Notified whenever a flush made newly queued mail durable.
    pub fn outbox_wake(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_wake.clone()
    }

    pub fn templates(&self) -> Arc<Templates> {
        self.templates
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn rules(&self) -> RuleSet {
        self.rules
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn kb(&self) -> Option<Arc<Kb>> {
        self.kb
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Loads and checks the templates, the rule file and the knowledge
    /// base again, and swaps them in only if all are good: a bad edit is
    /// reported with its file and line and the old set stays live.
    pub fn reload(&self) -> Result<(usize, usize), String> {
        let templates = Templates::load_for(&self.config.templates.dir, &self.config.desk.language)
            .map_err(|e| e.to_string())?;
        templates.check().map_err(|e| e.to_string())?;
        let rules = RuleSet::load(
            &self.config.rules.file,
            &Known::from_config(&self.config, templates.names()),
        )
        .map_err(|e| e.to_string())?;
        let kb = self
            .config
            .kb
            .file
            .as_deref()
            .map(Kb::load)
            .transpose()
            .map_err(|e| e.to_string())?;
        let counts = (templates.names().len(), rules.rule_count());
        *self.templates.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(templates);
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = rules;
        *self.kb.write().unwrap_or_else(|p| p.into_inner()) = kb.map(Arc::new);
        Ok(counts)
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
