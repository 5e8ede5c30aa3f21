//! The desk: the store plus what the configuration says about it, and the
//! one place where a request turns into reads, a pure decision and a write.
//!
//! Both the daemon (for every source and for requests on its control socket)
//! and a command running without a daemon use this type, so they behave the
//! same by construction.
//!
//! This file holds intake (prepare, then decide and stage, then flush);
//! `requests.rs` answers the command line, `notices.rs` renders and caps the
//! mail the desk queues, and `timers.rs` fires due deadlines.

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
use crate::rules::{Assign, Classification, Known, MessageView, RuleSet, RulesError, ViewLists};
use crate::store::{IdKind, Staged, Store, StoreError};
use crate::templates::Templates;
use crate::thread::{self, Facts, Threading};
use crate::ticket::{self, Priority};
use crate::token::{Signer, TokenError};

mod notices;
mod requests;
mod timers;

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
    compressed: Vec<u8>,
    parsed: Result<Inbound, Rejected>,
    origin: String,
    /// Live mail's extra early work, when [`Desk::prepare_live`] did it.
    live: Option<Early>,
}

/// The parts of live intake that depend only on the message, done with
/// the parsing, off the serial store path: what the author wrote (quotes
/// and signature stripped) and the rules' pattern scan.
struct Early {
    stripped: String,
    scan: Option<crate::rules::Prescan>,
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
    /// Swapped whole on reload, so a render never sees half a set.
    templates: RwLock<Arc<Templates>>,
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
        let templates = Templates::load(&config.templates.dir)
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
            templates: RwLock::new(Arc::new(templates)),
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

    /// A source's position, as last staged or stored.
    pub fn cursor(&self, source: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.cursor(&self.lock_staged(), source)
    }

    /// Moves a source's position with the intakes staged so far; it becomes
    /// durable with them at the next [`Desk::flush`].
    pub fn stage_cursor(&self, source: &str, value: &[u8]) {
        self.store
            .stage_cursor(&mut self.lock_staged(), source, value);
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
        let templates = Templates::load(&self.config.templates.dir).map_err(|e| e.to_string())?;
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

    /// What the rules say about a message, with whether the sender is new
    /// and whether it continues a ticket.
    fn classify(
        &self,
        staged: &Staged,
        msg: &Inbound,
        inbox: &str,
        is_reply: bool,
        scan: Option<crate::rules::Prescan>,
    ) -> Result<Classification, StoreError> {
        let rules = self.rules();
        if rules.rule_count() == 0 {
            return Ok(Classification::default());
        }
        let new_customer = self.store.tickets_of_customer(&msg.from.email)?.is_empty()
            && !staged.has_ticket_of(&msg.from.email);
        let lists = ViewLists::of(msg);
        let view = MessageView::from_inbound(msg, &lists, inbox, new_customer, is_reply);
        Ok(rules.classify_prescanned(&view, scan))
    }

    /// The agent a rule's `assign` names. Round-robin takes the queue's
    /// agents in config order, its position kept in the store; least-open
    /// takes the agent of the queue with the fewest open tickets.
    fn resolve_assign(
        &self,
        staged: &mut Staged,
        assign: Option<&Assign>,
        queue: &str,
    ) -> Result<Option<String>, StoreError> {
        let agents: Vec<&str> = self
            .config
            .agents
            .iter()
            .filter(|a| a.queues.iter().any(|q| q == queue))
            .map(|a| a.email.as_str())
            .collect();
        Ok(match assign {
            None => None,
            Some(Assign::Agent(a)) => Some(a.clone()),
            Some(_) if agents.is_empty() => {
                tracing::warn!(%queue, "a rule assigns within a queue that has no agents");
                None
            }
            Some(Assign::RoundRobin) => {
                let name = format!("round-robin/{queue}");
                let n = self.store.counter(staged, &name)?;
                self.store.stage_counter(staged, &name, n + 1);
                Some(agents[(n % agents.len() as u64) as usize].to_string())
            }
            Some(Assign::LeastOpen) => {
                let mut cache = self.open_load.lock().unwrap_or_else(|p| p.into_inner());
                if cache
                    .as_ref()
                    .is_none_or(|(at, _)| at.elapsed() >= HISTORY_TTL)
                {
                    let mut load = HashMap::new();
                    for t in self.store.tickets().flatten() {
                        if let (Some(a), false) = (
                            &t.assignee,
                            matches!(t.status, ticket::Status::Resolved | ticket::Status::Closed),
                        ) {
                            *load.entry(a.to_ascii_lowercase()).or_insert(0) += 1;
                        }
                    }
                    *cache = Some((Instant::now(), load));
                }
                let load = cache.as_mut().map(|(_, l)| l);
                let pick = agents
                    .iter()
                    .min_by_key(|a| {
                        load.as_ref()
                            .and_then(|l| l.get(&a.to_ascii_lowercase()).copied())
                            .unwrap_or(0)
                    })
                    .map(|a| a.to_string());
                if let (Some(p), Some(l)) = (&pick, load) {
                    *l.entry(p.to_ascii_lowercase()).or_insert(0) += 1;
                }
                pick
            }
        })
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
        let parsed = mail::parse_with(&raw, &self.config.intake.limits()).map_err(|e| Rejected {
            reason: e.to_string(),
            not_mail: e.is_not_mail(),
        });
        let compressed = match parsed {
            Ok(_) => lz4_flex::compress_prepend_size(&raw),
            Err(_) => Vec::new(),
        };
        Prepared {
            raw,
            compressed,
            parsed,
            origin,
            live: None,
        }
    }

    /// [`Desk::prepare`] for mail that will be answered: also strips the
    /// quotes and scans the rules' patterns, so a source can do that
    /// beside the store work of the previous batch (see
    /// [`crate::source::imap`]). The result is the same as without it.
    pub fn prepare_live(&self, raw: Vec<u8>, origin: String) -> Prepared {
        let mut p = self.prepare(raw, origin);
        if let Ok(msg) = &p.parsed {
            let rules = self.rules();
            let scan = (rules.rule_count() > 0).then(|| {
                let lists = ViewLists::of(msg);
                rules.prescan(&MessageView::from_inbound(msg, &lists, "", false, false))
            });
            p.live = Some(Early {
                stripped: author_text(msg, &p.raw),
                scan,
            });
        }
        p
    }

    /// The store half of intake, for a message from [`Desk::prepare`].
    pub fn ingest_prepared(
        &self,
        prepared: Prepared,
        inbox: Option<&str>,
        mode: Mode,
    ) -> Result<Outcome, StoreError> {
        self.ingest_prepared_at(prepared, inbox, mode, Utc::now())
    }

    /// [`Desk::ingest`] as if the message arrived at `now`: tests and
    /// benchmarks build a desk's history on a clock of their own (reports
    /// measure times between arrivals), as `run_timers` takes its `now`.
    pub fn ingest_at(
        &self,
        raw: &[u8],
        inbox: Option<&str>,
        origin: &str,
        mode: Mode,
        now: chrono::DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let prepared = self.prepare(raw.to_vec(), origin.to_string());
        self.ingest_prepared_at(prepared, inbox, mode, now)
    }

    fn ingest_prepared_at(
        &self,
        prepared: Prepared,
        inbox: Option<&str>,
        mode: Mode,
        now: chrono::DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
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
        let mut threading = thread::choose(&facts);
        if let Threading::Duplicate(t) = &threading {
            if self
                .store
                .lookup_id(&staged, &msg.message_id)?
                .map(|e| e.kind)
                == Some(IdKind::Sent)
            {
                tracing::warn!(
                    message_id = %msg.message_id,
                    "the desk's own mail came back (a Message-ID it sent); ignored"
                );
            }
            return Ok(Outcome::Duplicate {
                ticket: self.reference(&staged, *t),
            });
        }
        // A delivery report belongs with the mail that bounced, whatever
        // its headers say; a sender over the new-ticket limit is kept to
        // the tickets they have.
        let mut bounced = None;
        let mut flood = None;
        if mode == Mode::Live {
            if let Some((n, b)) = self.trace_bounce(&staged, &msg, &prepared.raw)? {
                threading = Threading::Existing(
                    n,
                    ticket::ThreadReason::Guard {
                        why: format!("delivery report ({})", b.traced),
                    },
                );
                bounced = Some(b);
            } else if threading == Threading::New {
                if let Some((n, why)) = self.over_new_ticket_limit(&staged, &msg, now)? {
                    threading =
                        Threading::Existing(n, ticket::ThreadReason::Guard { why: why.clone() });
                    flood = Some(why);
                }
            }
        }
        let existing = match &threading {
            Threading::Existing(t, _) => self.follow_merges(&staged, *t)?,
            Threading::Duplicate(_) | Threading::New => None,
        };
        let author = self.author(&staged, &msg, existing.as_ref())?;
        let old = existing.clone();
        // Stripping costs a pass over the text: only live mail needs it
        // (history is never answered).
        let (early_stripped, scan) = match prepared.live {
            Some(e) => (Some(e.stripped), e.scan),
            None => (None, None),
        };
        let stripped = match (mode, &author) {
            (Mode::Live, Author::Agent { .. }) => agent_text(&msg, &prepared.raw),
            (Mode::Live, Author::Customer) => {
                early_stripped.unwrap_or_else(|| author_text(&msg, &prepared.raw))
            }
            (Mode::Live, _) if mail::subject::is_forward(&msg.subject) => {
                reply_text(&msg, &prepared.raw).text
            }
            (Mode::Live, _) => early_stripped.unwrap_or_else(|| author_text(&msg, &prepared.raw)),
            (Mode::Import { .. }, _) => String::new(),
        };
        let thread_ids = match (&author, &existing) {
            (Author::Agent { .. }, Some(t)) => self.customer_thread(t)?,
            _ => Vec::new(),
        };
        let known: Vec<String> = facts
            .known_references
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        let classification = self.classify(&staged, &msg, &inbox, existing.is_some(), scan)?;
        let target_queue = match &existing {
            Some(t) => classification
                .queue
                .clone()
                .unwrap_or_else(|| t.queue.clone()),
            None => classification
                .queue
                .clone()
                .unwrap_or_else(|| queue.clone()),
        };
        let assignee =
            self.resolve_assign(&mut staged, classification.assign.as_ref(), &target_queue)?;
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
            ack_template: self
                .config
                .ack
                .enabled
                .then_some(self.config.ack.template.as_str()),
            rules: &classification,
            assignee,
            author: &author,
            stripped: &stripped,
            config: &self.config,
            thread_ids: &thread_ids,
            survey_answer: self.survey_answer(&msg, old.as_ref(), &stripped),
            bounced,
            flood,
        };
        let mut decision = decide::intake(&msg, &threading, existing, &known, &ctx);
        decision
            .record
            .flags
            .extend(msg.cuts.iter().map(|c| format!("not all read: {c}")));
        if let Some(target) = decision.merge_into.take() {
            self.merge(&mut staged, &mut decision, &target, &msg)?;
        }
        let held = self.limit_notices(&mut staged, &mut decision.notices, now)?;
        if !held.is_empty() {
            if decision.created
                && !decision
                    .notices
                    .iter()
                    .any(|n| n.template.starts_with("ack"))
            {
                decision
                    .ack_suppressed
                    .get_or_insert_with(|| held[0].clone());
            }
            decision.record.flags.extend(held);
        }
        for m in &decision.marks {
            self.store
                .stage_mark(&mut staged, &m.address, Some(m.clone()));
        }
        let event = if decision.quiet.is_some() {
            // Automatic mail moves no clock: a ticket it opens has no SLA
            // and a ticket it joins keeps the plan it had.
            crate::lifecycle::Event::Other
        } else if decision.created {
            crate::lifecycle::Event::Created
        } else if decision.notices.iter().any(|n| n.template == "reply") {
            crate::lifecycle::Event::AgentAnswered
        } else if matches!(decision.record.author, Author::Customer) {
            crate::lifecycle::Event::CustomerWrote
        } else {
            crate::lifecycle::Event::Other
        };
        let before = if decision.created { None } else { old.as_ref() };
        crate::lifecycle::settle(
            &mut decision.ticket,
            before,
            event,
            now,
            &self.config,
            &self.calendars,
        );
        self.store
            .stage(&mut staged, &decision, &prepared.compressed)?;
        if let Some(why) = &decision.ack_suppressed {
            tracing::info!(ticket = %decision.ticket.reference, reason = %why, "no acknowledgement");
        }
        self.queue_notices(&mut staged, &decision, &msg, &prepared.raw, now)?;
        if staged.len() >= self.config.intake.batch || staged.bytes() >= MAX_STAGED_BYTES {
            self.store.commit(&mut staged)?;
        }
        Ok(Outcome::Stored {
            ticket: decision.ticket.reference.clone(),
            created: decision.created,
            thread: decision.record.thread,
        })
    }

    /// A delivery report traced to mail the desk sent: through the signed
    /// envelope address (VERP) first, else through the returned mail's
    /// Message-ID. Plain-text reports count only from a machine sender,
    /// so a customer's question about a bounce is not read as one.
    fn trace_bounce(
        &self,
        staged: &Staged,
        msg: &Inbound,
        raw: &[u8],
    ) -> Result<Option<(u64, decide::Bounced)>, StoreError> {
        let token = msg
            .all_recipients()
            .find_map(|a| self.signer.verify_bounce(&self.own, a));
        if token.is_none()
            && !crate::bounce::looks_like(msg.header("content-type"), &msg.from.email, &msg.subject)
        {
            return Ok(None);
        }
        let Some(report) = crate::bounce::parse(raw) else {
            return Ok(None);
        };
        if !report.standard && crate::guard::automatic_reason(msg).is_none() {
            return Ok(None);
        }
        let prefix = &self.config.desk.ticket_prefix;
        let mut traced = None;
        if let Some(id) = token {
            if let Some((entry, _)) = self.store.outbox_entry(id)? {
                let n = entry
                    .ticket
                    .as_deref()
                    .and_then(|r| ticket::parse_reference(prefix, r));
                if let Some(n) = n {
                    traced = Some((
                        n,
                        format!("envelope token of outbox mail {id}"),
                        Some(entry.kind.clone()),
                        Some(entry.recipients.clone()),
                    ));
                }
            }
        }
        if traced.is_none() {
            if let Some(id) = &report.original_message_id {
                if let Some(e) = self.store.lookup_id(staged, id)? {
                    if e.kind == IdKind::Sent {
                        traced = Some((e.ticket, format!("returned mail <{id}>"), None, None));
                    }
                }
            }
        }
        let Some((n, how, kind, sent_to)) = traced else {
            return Ok(None);
        };
        if self.store.ticket(staged, n)?.is_none() {
            return Ok(None);
        }
        let mut recipients = Vec::new();
        for r in report.recipients {
            // Words of a plain-text report name many addresses; only those
            // the mail went to count. A standard report names its own.
            let known = sent_to
                .as_ref()
                .is_none_or(|to| to.iter().any(|t| t.eq_ignore_ascii_case(&r.address)));
            if report.standard || known {
                let mark = self.store.mark(staged, &r.address)?;
                recipients.push((r, mark));
            }
        }
        Ok(Some((
            n,
            decide::Bounced {
                traced: how,
                kind,
                recipients,
            },
        )))
    }

    /// The sender's newest ticket, when they have opened as many tickets
    /// as `guard.new_tickets_per_sender` allows within its window. Agents
    /// and the desk itself are never limited.
    fn over_new_ticket_limit(
        &self,
        staged: &Staged,
        msg: &Inbound,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let email = &msg.from.email;
        if self.config.agent(email).is_some() || decide::is_own(&self.own, email) {
            return Ok(None);
        }
        let limit = self.config.guard.new_tickets_per_sender;
        let mut numbers = self.store.tickets_of_customer(email)?;
        numbers.extend(staged.tickets_of(email));
        numbers.sort_unstable();
        numbers.dedup();
        let recent = numbers.iter().rev().take(limit.count as usize + 1);
        let mut created = Vec::new();
        let mut newest = None;
        for n in recent {
            if let Some(t) = self.store.ticket(staged, *n)? {
                newest = newest.or(Some(t.number));
                created.push(t.created);
            }
        }
        match (crate::caps::check(&created, &[limit], now), newest) {
            (Err(l), Some(n)) => Ok(Some((
                n,
                format!("{email} is over the new-ticket limit ({l}): joined their newest ticket"),
            ))),
            _ => Ok(None),
        }
    }

    /// The ticket a message joins, following merges (a few hops at most).
    fn follow_merges(
        &self,
        staged: &Staged,
        number: u64,
    ) -> Result<Option<ticket::Ticket>, StoreError> {
        let mut t = self.store.ticket(staged, number)?;
        for _ in 0..8 {
            match t.as_ref().and_then(|t| t.merged_into) {
                Some(next) => t = self.store.ticket(staged, next)?,
                None => break,
            }
        }
        Ok(t)
    }

    /// A survey answer in `msg`: a rating address in the recipients, or a
    /// reply to the survey mail that starts with a score.
    fn survey_answer(
        &self,
        msg: &Inbound,
        ticket: Option<&ticket::Ticket>,
        stripped: &str,
    ) -> Option<(u32, Option<String>)> {
        let survey = ticket?.survey.as_ref()?;
        let labels = self.config.survey.labels();
        let prefix = &self.config.desk.ticket_prefix;
        let token_score = msg.all_recipients().find_map(|a| {
            self.signer
                .verify_survey_address(&self.own, prefix, a)
                .map(|(_, s)| s)
        });
        let answers_survey =
            !survey.message_id.is_empty() && msg.in_reply_to.contains(&survey.message_id);
        if token_score.is_none() && !answers_survey {
            return None;
        }
        let token_score = token_score.filter(|s| (1..=labels.len() as u32).contains(s));
        crate::lifecycle::survey_answer(token_score, stripped, &labels)
    }

    /// Weighs who wrote `msg`: see [`crate::agent`].
    fn author(
        &self,
        staged: &Staged,
        msg: &Inbound,
        existing: Option<&ticket::Ticket>,
    ) -> Result<Author, StoreError> {
        let agent = self.config.agent(&msg.from.email).map(|a| a.email.as_str());
        let mut token_agent = None;
        let mut answered = None;
        if agent.is_some() {
            let prefix = &self.config.desk.ticket_prefix;
            for address in msg.all_recipients() {
                if let Some((_, tag, note)) =
                    self.signer.verify_agent_address(&self.own, prefix, address)
                {
                    token_agent = self
                        .config
                        .agents
                        .iter()
                        .find(|a| Signer::agent_tag(&a.email) == tag)
                        .map(|a| (a.email.as_str(), note));
                    break;
                }
            }
            for id in msg.in_reply_to.iter().chain(msg.references.iter()) {
                if let Some(a) = self.store.notified_agent(staged, id)? {
                    answered = self.config.agent(&a).map(|a| a.email.as_str());
                    if answered.is_some() {
                        break;
                    }
                }
            }
        }
        let policy = &self.config.agent_mail;
        let authenticated = policy.require_authentication.then(|| {
            crate::agent::authenticated(
                msg.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                &policy.trusted_servers,
            )
        });
        let evidence = crate::agent::Evidence {
            agent,
            token_agent,
            answered_notification_of: answered,
            authenticated,
            participant: existing.is_none_or(|t| t.is_participant(&msg.from.email)),
        };
        Ok(crate::agent::author(&msg.from.email, &evidence))
    }

    /// Message-IDs of the customer mail in a ticket, oldest first.
    fn customer_thread(&self, t: &ticket::Ticket) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for n in std::iter::once(t.number).chain(t.merged_from.iter().copied()) {
            for r in self.store.message_records(n)? {
                if matches!(r.author, Author::Customer)
                    && !r.message_id.ends_with(".postdesk.invalid")
                {
                    ids.push(r.message_id);
                }
            }
        }
        // Long threads: the first and the most recent ids are what clients use.
        if ids.len() > 20 {
            let tail = ids.split_off(ids.len() - 19);
            ids.truncate(1);
            ids.extend(tail);
        }
        Ok(ids)
    }

    /// `#merge REF`: this ticket goes into REF, which gains its thread and
    /// participants. A bad target is reported to the agent instead.
    fn merge(
        &self,
        staged: &mut Staged,
        decision: &mut decide::Decision,
        target: &str,
        msg: &Inbound,
    ) -> Result<(), StoreError> {
        let found = match ticket::parse_reference(&self.config.desk.ticket_prefix, target) {
            Some(n) => self.follow_merges(staged, n)?,
            None => None,
        };
        match found {
            Some(mut into) if into.number != decision.ticket.number => {
                merge_tickets(&mut decision.ticket, &mut into);
                self.store.stage_ticket(staged, &into);
            }
            _ => {
                if let Author::Agent { email, .. } = &decision.record.author {
                    decision.notices.push(decide::command_errors(
                        msg,
                        &decision.ticket,
                        email,
                        &[format!(
                            "#merge {target}: no such ticket (or it is this one)"
                        )],
                    ));
                }
            }
        }
        Ok(())
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
        let queued_mail = staged.has_outgoing();
        self.store.commit(&mut staged)?;
        drop(staged);
        self.store.flush()?;
        if queued_mail {
            self.outbox_wake.notify_one();
        }
        Ok(())
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
            let n = self
                .signer
                .verify_address(&self.own, prefix, address)
                .or_else(|| {
                    self.signer
                        .verify_agent_address(&self.own, prefix, address)
                        .map(|(n, _, _)| n)
                })
                .or_else(|| {
                    self.signer
                        .verify_survey_address(&self.own, prefix, address)
                        .map(|(n, _)| n)
                });
            if let Some(n) = n {
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
}

impl Desk {}

/// Joins `from` into `into`: `from` is closed and points at `into`, which
/// gains its participants and shows its messages.
pub fn merge_tickets(from: &mut ticket::Ticket, into: &mut ticket::Ticket) {
    from.merged_into = Some(into.number);
    from.status = ticket::Status::Closed;
    if !into.merged_from.contains(&from.number) {
        into.merged_from.push(from.number);
    }
    for p in from.participants.clone() {
        into.add_participant(&p);
    }
    for t in from.tags.clone() {
        if !into.tags.contains(&t) {
            into.tags.push(t);
        }
    }
}

/// What the author of `msg` wrote, without quotes and signature: what
/// agents read in notifications. A forward keeps the mail it forwards
/// (a customer's "see below" is about what is below).
fn author_text(msg: &Inbound, raw: &[u8]) -> String {
    crate::mail::quote::strip_message(msg, raw).0.text
}

/// What the author of `msg` wrote, stripped as a reply whatever its
/// subject: for anything not from a customer, so that an agent who
/// forwards a notification (internal notes, their own token) never has it
/// relayed.
fn reply_text(msg: &Inbound, raw: &[u8]) -> crate::mail::quote::Stripped {
    crate::mail::quote::strip_message_as(msg, raw, crate::mail::quote::Kind::Reply).0
}

/// What an agent wrote for the customer: stripped as a reply, and nothing
/// when nothing of theirs survived. The stripper then keeps the quote (or
/// the signature) rather than return nothing, which for a customer's mail
/// is right and for an agent's would relay the notification they answered
/// (internal notes, their token) or their own signature.
fn agent_text(msg: &Inbound, raw: &[u8]) -> String {
    let stripped = reply_text(msg, raw);
    if stripped.cuts.iter().any(|c| !c.is_cut()) {
        String::new()
    } else {
        stripped.text
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
