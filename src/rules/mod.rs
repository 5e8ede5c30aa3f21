//! The rule file (`config/rules.toml`): categorize, prioritize and route
//! incoming mail. Pure: the caller reads nothing on our behalf except in
//! [`RuleSet::load`], and classifying never touches the store or the clock.
//!
//! # Public API
//!
//! ```text
//! Known { queues, agents, templates, sla_classes }      what values may name
//! Known::from_config(&Config, templates) -> Known
//!
//! RuleSet::load(path, &Known)        -> Result<RuleSet, RulesError>   reads the file
//! RuleSet::parse(path, text, &Known) -> Result<RuleSet, RulesError>   path only labels errors
//! RuleSet::empty() -> RuleSet
//! RuleSet::rule_count(&self) -> usize
//! RuleSet::classify(&self, &MessageView) -> Classification            the hot path
//! RuleSet::explain(&self, &MessageView)  -> Explanation               Display + Serialize
//!
//! RuleSet::reads_own_text(&self) -> bool      some rule tests `sentiment`
//!
//! ViewLists::of(&Inbound) -> ViewLists                                  to/cc/attachment names
//! MessageView::from_inbound(&Inbound, &ViewLists, inbox, own_text, new_customer, is_reply)
//! ```
//!
//! [`RuleSet`] is an `Arc` inside: clone it freely, share it across threads,
//! and swap in a new one on reload. A file with any problem yields no rule
//! set at all ([`RulesError::Invalid`] lists every problem with its line),
//! because half a rule file routes mail in ways nobody wrote.
//!
//! Defaults are not applied here: a [`Classification`] says only what the
//! rules said, so the caller can tell "no rule matched" from "a rule chose
//! the default" and fill category, priority and queue from the config.
//!
//! Speed: every regex of one field (subject, body, each header name...) is
//! compiled into one `RegexSet`, so a message scans each field once no matter
//! how many rules test it, and only when some rule reaching it needs that
//! field. The rule trees then read bits. Word boundaries (`\b`), in nearly
//! every admin's pattern, would send the regex crate to its slow engine on
//! non-ASCII text; `boundary` keeps them on the fast one, exactly. `explain`
//! runs the regexes as written, one by one, to show what matched; it is for
//! people, not for intake, and tests hold the two to the same answers.

mod boundary;
mod compile;
mod explain;
mod load;
mod parse;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::mail::Inbound;
use crate::ticket::Priority;

pub use explain::{ConditionTrace, DeskDefaults, Explanation, Outcome, RuleTrace};

/// The names rule values are checked against, taken from the desk's config
/// so a typo in a queue or agent fails at load time instead of stranding
/// tickets in a queue nobody watches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub queues: Vec<String>,
    pub agents: Vec<String>,
    /// Empty means "do not check template names" (the template directory may
    /// not be readable where rules are checked).
    pub templates: Vec<String>,
    pub sla_classes: Vec<String>,
}

impl Known {
    /// Queues, agents and SLA classes as `postdesk.toml` defines them; the
    /// template names come from the caller because they live on disk.
    pub fn from_config(cfg: &crate::config::Config, templates: Vec<String>) -> Known {
        Known {
            queues: cfg.queues.iter().map(|q| q.name.clone()).collect(),
            agents: cfg.agents.iter().map(|a| a.email.clone()).collect(),
            templates,
            sla_classes: cfg.sla.keys().cloned().collect(),
        }
    }
}

/// Why a rule file could not be used. Nothing is loaded when any problem is
/// found, so fix every line listed and load again.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rule file {} does not exist\n  hint: create it (config/rules.toml in the postdesk sources is a commented example) or point `[rules] file` in postdesk.toml at yours", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read rule file {}: {source}\n  hint: check the path in `[rules] file` and that postdesk may read it", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl RulesError {
    /// Every problem found, in file order (empty for read errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            RulesError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        out.push_str(&format!("{}:{p}\n", path.display()));
    }
    let n = problems.len();
    out.push_str(&format!(
        "{n} problem{} in {}; no rule was loaded, fix {} and load again",
        if n == 1 { "" } else { "s" },
        path.display(),
        if n == 1 { "it" } else { "them all" },
    ));
    out
}

/// One thing wrong in the rule file, where an editor can jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based, as editors count.
    pub line: usize,
    pub column: usize,
    /// `rule "Billing"`, `rule #3` for a rule without a usable name, or empty
    /// for problems outside any rule (syntax errors, top-level keys).
    pub rule: String,
    /// Dotted path of the offending key, e.g. `when.any[1].subject`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.rule.is_empty() {
            write!(f, "{}: ", self.rule)?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Who a matching rule hands the ticket to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assign {
    Agent(String),
    /// The queue's agents in turn.
    RoundRobin,
    /// The queue's agent with the fewest open tickets.
    LeastOpen,
}

impl fmt::Display for Assign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Assign::Agent(a) => f.write_str(a),
            Assign::RoundRobin => f.write_str("round-robin"),
            Assign::LeastOpen => f.write_str("least-open"),
        }
    }
}

/// The acknowledgement a new ticket gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ack {
    Template(String),
    /// `ack = false`: send none (e.g. for notifications nobody reads).
    Suppressed,
}

impl fmt::Display for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ack::Template(t) => write!(f, "template {t}"),
            Ack::Suppressed => f.write_str("none (suppressed)"),
        }
    }
}

/// What the rules decided for one message; `None` means no rule said, and
/// the caller applies its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub category: Option<String>,
    pub priority: Option<Priority>,
    pub queue: Option<String>,
    pub assign: Option<Assign>,
    /// Added by every matching rule, first occurrence kept.
    pub tags: Vec<String>,
    pub ack: Option<Ack>,
    /// Store it, mark it spam, never answer it.
    pub spam: bool,
    pub sla: Option<String>,
    /// Names of the rules that matched, in order.
    pub matched: Vec<String>,
    /// The message's mood, when a rule read it as a first message (not a
    /// reply): the intake keeps it on a new ticket instead of reading the
    /// text again, which costs more than all the rules together on long
    /// mail. Not an outcome of the rules, so never shown.
    #[serde(skip)]
    pub first_mood: Aside<crate::mail::sentiment::Sentiment>,
}

/// A message's mood read before it is classified (in intake's parallel
/// stage), with how it was read: as a first message (its subject counts)
/// or as a reply (it does not). Used only when the message is classified
/// as what it was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyMood {
    pub mood: crate::mail::sentiment::Sentiment,
    pub as_reply: bool,
}

impl EarlyMood {
    /// The mood, if it was read the way a message that `is_reply` is.
    pub fn as_read(self, is_reply: bool) -> Option<crate::mail::sentiment::Sentiment> {
        (self.as_reply == is_reply).then_some(self.mood)
    }
}

/// A value worked out on the way and handed on with a result it is not
/// part of: results that differ only in it are equal (the explaining path
/// and the fast path agree on what the rules decided, whichever of them
/// happened to read the mood).
#[derive(Debug, Clone, Copy)]
pub struct Aside<T>(pub Option<T>);

impl<T> Default for Aside<T> {
    fn default() -> Self {
        Aside(None)
    }
}

impl<T> PartialEq for Aside<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Aside<T> {}

/// What a rule sees of a message. Borrowed so classifying allocates almost
/// nothing; build one with [`MessageView::from_inbound`] or by hand in tests.
#[derive(Debug, Clone, Copy)]
pub struct MessageView<'a> {
    /// Sender address, lowercase.
    pub from: &'a str,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub subject: &'a str,
    pub body: &'a str,
    /// Lowercase names, decoded values, every occurrence.
    pub headers: &'a [(String, String)],
    /// Name of the `[[inbox]]` the message came through.
    pub inbox: &'a str,
    /// Attachment file names.
    pub attachments: &'a [String],
    /// Raw size in bytes.
    pub size: usize,
    /// The sender has no earlier ticket.
    pub new_customer: bool,
    /// The message continues an existing ticket (rules with `on = ["reply"]`).
    pub is_reply: bool,
    /// What the sender wrote in this message, quotes and signature
    /// stripped: the `sentiment` condition reads this (and the subject of
    /// a new message), so the history a reply quotes never counts. Empty
    /// when the caller did not strip the message.
    pub own_text: &'a str,
}

/// The lists a [`MessageView`] borrows that an [`Inbound`] does not hold as
/// plain strings. Build it once per message, next to the view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewLists {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub attachments: Vec<String>,
}

impl ViewLists {
    pub fn of(msg: &Inbound) -> ViewLists {
        ViewLists {
            to: msg.to.iter().map(|p| p.email.clone()).collect(),
            cc: msg.cc.iter().map(|p| p.email.clone()).collect(),
            attachments: msg.attachments.iter().map(|a| a.name.clone()).collect(),
        }
    }
}

impl<'a> MessageView<'a> {
    /// `own_text`: what the sender wrote, reply-stripped (see
    /// [`MessageView::own_text`]); `new_customer`: the sender has no
    /// earlier ticket; `is_reply`: the message joins an existing ticket
    /// (threading found one).
    pub fn from_inbound(
        msg: &'a Inbound,
        lists: &'a ViewLists,
        inbox: &'a str,
        own_text: &'a str,
        new_customer: bool,
        is_reply: bool,
    ) -> MessageView<'a> {
        MessageView {
            from: &msg.from.email,
            to: &lists.to,
            cc: &lists.cc,
            subject: &msg.subject,
            body: &msg.text,
            headers: &msg.headers,
            inbox,
            attachments: &lists.attachments,
            size: msg.size,
            new_customer,
            is_reply,
            own_text,
        }
    }
}

/// A compiled rule file. Cheap to clone (shared), `Send + Sync`.
#[derive(Clone)]
pub struct RuleSet {
    inner: Arc<compile::Compiled>,
}

/// Pattern hits of one message under one rule set (see
/// [`RuleSet::prescan`]).
pub struct Prescan {
    of: Arc<compile::Compiled>,
    hits: compile::Prescan,
}

impl fmt::Debug for Prescan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prescan").finish_non_exhaustive()
    }
}

/// The compiled sets are large and say nothing useful in a log line.
impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rule_count())
            .finish_non_exhaustive()
    }
}

impl RuleSet {
    /// No rules: every message keeps the caller's defaults.
    pub fn empty() -> RuleSet {
        RuleSet {
            inner: Arc::new(compile::Compiled::default()),
        }
    }

    /// Compiles rule-file text; `path` only names the file in problems.
    pub fn parse(path: &Path, text: &str, known: &Known) -> Result<RuleSet, RulesError> {
        let compiled = parse::parse(text, known).map_err(|problems| RulesError::Invalid {
            path: path.to_path_buf(),
            problems,
        })?;
        Ok(RuleSet {
            inner: Arc::new(compiled),
        })
    }

    pub fn rule_count(&self) -> usize {
        self.inner.rules.len()
    }

    /// Whether some rule tests `sentiment`, which reads the sender's own
    /// text: a caller that strips messages only when needed (bulk import)
    /// must strip them for this rule set.
    pub fn reads_own_text(&self) -> bool {
        self.inner.reads_own_text()
    }

    /// Names of the rules, in file order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.inner.rules.iter().map(|r| r.name.as_str())
    }

    /// Runs the rules over one message.
    pub fn classify(&self, view: &MessageView<'_>) -> Classification {
        self.inner.classify(view)
    }

    /// Scans the message's fields (all but `inbox`) for this rule set's
    /// patterns without deciding anything: the part of classifying that
    /// can run early, on another core. `new_customer`, `is_reply` and
    /// `inbox` in the view do not matter here.
    pub fn prescan(&self, view: &MessageView<'_>) -> Prescan {
        Prescan {
            of: Arc::clone(&self.inner),
            hits: self.inner.prescan(view),
        }
    }

    /// [`RuleSet::classify`] using a [`Prescan`]; one taken with another
    /// rule set (the file was reloaded in between) is ignored and the
    /// message scanned again, so the result is always this set's.
    /// `mood` is the message's mood when the caller read it already (it
    /// is used only if it was read as what `view` is: a reply or not).
    pub fn classify_prescanned(
        &self,
        view: &MessageView<'_>,
        pre: Option<Prescan>,
        mood: Option<EarlyMood>,
    ) -> Classification {
        let hits = pre
            .filter(|p| Arc::ptr_eq(&p.of, &self.inner))
            .map(|p| p.hits);
        let mood = mood.and_then(|m| m.as_read(view.is_reply));
        self.inner.classify_with(view, hits, mood)
    }

    /// Runs the rules and records why each did or did not match, for
    /// `postdesk rules test`. Slower than [`RuleSet::classify`], same result.
    pub fn explain(&self, view: &MessageView<'_>) -> Explanation {
        explain::explain(&self.inner, view)
    }
}

#[cfg(test)]
mod tests;
