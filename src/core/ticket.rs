//! Tickets and the messages in them: the records the store keeps and the CLI
//! shows. Plain data; the decisions that change them live in `decide`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a ticket stands. `pending` means waiting on the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Pending,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A person as a mail header names them. Emails are kept lowercased so that
/// `Carol@Example.com` and `carol@example.com` are one participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: String,
}

impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) if !n.is_empty() => write!(f, "{n} <{}>", self.email),
            _ => f.write_str(&self.email),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub number: u64,
    /// `ACME-42`: the prefix is kept with the ticket so a later change of
    /// `desk.ticket_prefix` does not rename history.
    pub reference: String,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub category: String,
    pub queue: String,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub requester: Person,
    /// Everyone who may continue this ticket by mail (requester and CCs).
    pub participants: Vec<String>,
    pub inbox: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub message_count: u32,
    /// Brought in by `import`: history, so nothing was or will be answered.
    #[serde(default)]
    pub imported: bool,
    /// When an agent first answered; the desk's recent record of these
    /// makes the acknowledgement's estimate honest.
    #[serde(default)]
    pub first_response: Option<DateTime<Utc>>,
    /// A rule said spam: kept, never answered.
    #[serde(default)]
    pub spam: bool,
    /// The named SLA class a rule chose; else the priority's.
    #[serde(default)]
    pub sla: Option<String>,
    /// Every rule that matched any of its messages, first match first.
    #[serde(default)]
    pub matched_rules: Vec<String>,
    /// When it was last resolved: a customer's reply within
    /// `agent_mail.reopen_window` of this reopens it.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Merged into this ticket; mail for it goes there.
    #[serde(default)]
    pub merged_into: Option<u64>,
    /// Tickets merged into this one; their messages show with it.
    #[serde(default)]
    pub merged_from: Vec<u64>,
    /// The closed ticket a customer wrote to, which this one continues.
    #[serde(default)]
    pub follows: Option<String>,
    /// Since when the ticket waits on the customer (status pending).
    #[serde(default)]
    pub pending_since: Option<DateTime<Utc>>,
    /// The follow-up reminder for this pending period went out.
    #[serde(default)]
    pub reminded: bool,
    /// Resolved by the desk because the customer stayed silent.
    #[serde(default)]
    pub autoclosed: bool,
    #[serde(default)]
    pub survey: Option<SurveyState>,
    /// The SLA targets still running.
    #[serde(default)]
    pub sla_due: Vec<SlaDue>,
    /// When the next timer of this ticket comes due (kept in the store's
    /// timer index; derived from the fields above).
    #[serde(default)]
    pub timer_due: Option<DateTime<Utc>>,
    /// Answers relayed to the customer. With `reopened` it tells a ticket
    /// solved at first contact from one that took a conversation.
    /// Tickets stored before this was kept read 0 (see `report`).
    #[serde(default)]
    pub agent_replies: u32,
    /// How often it went from resolved or closed back to work.
    #[serde(default)]
    pub reopened: u32,
    /// SLA targets that were missed, kept after the running target is gone
    /// so reports can say whether the desk kept its promise.
    #[serde(default)]
    pub sla_breaches: Vec<SlaKind>,
    /// Agents' answers held back because the ticket moved on after the
    /// notification they answered (see [`crate::decide`]'s collisions):
    /// each waits for its agent's `#send` until it expires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<Held>,
    /// The date an agent said it must be done by (`#due`): shown to
    /// agents, not a timer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<chrono::NaiveDate>,
    /// Related tickets (`#link`), by reference; each side names the other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// Minutes worked on it, per agent (`#time`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub time_worked: std::collections::BTreeMap<String, u32>,
    /// While pending by `#snooze`: when it wakes (opens again and its
    /// agents are told). No follow-up reminders or auto-close meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The language the desk writes to the customer in, and how it was
    /// chosen (see [`crate::language`]); `None`: the desk's default, as
    /// nothing said otherwise yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<crate::language::Language>,
    /// The mood of the message that opened it, as the rule file's
    /// `sentiment` condition reads it (see [`crate::mail::sentiment`]):
    /// what reports count to show how many customers arrive angry. `None`
    /// for imported history and tickets opened before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<crate::mail::sentiment::Sentiment>,
}

/// An agent's answer that was not sent: something newer happened on the
/// ticket after the notification it answers. Kept as written, so `#send`
/// relays exactly what the agent wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Held {
    pub agent: String,
    /// The held mail: its Message-ID makes the relay's, so releasing it
    /// twice queues one mail; its seq names its stored attachments.
    pub message_id: String,
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    /// The answer for the customer, commands removed.
    pub text: String,
    /// A macro in the answer: (its name, the words below it); `text` is
    /// the words above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macro_answer: Option<(String, String)>,
}

/// A satisfaction survey: sent, and perhaps answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyState {
    pub sent_at: DateTime<Utc>,
    pub message_id: String,
    #[serde(default)]
    pub score: Option<u32>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub answered_at: Option<DateTime<Utc>>,
}

/// Which SLA target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaKind {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl SlaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaKind::FirstResponse => "first_response",
            SlaKind::NextResponse => "next_response",
            SlaKind::Resolution => "resolution",
        }
    }
}

/// One running SLA target: when it started, when it is due, and what was
/// already done about it (so a restart never warns or escalates twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaDue {
    pub kind: SlaKind,
    pub started: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    #[serde(default)]
    pub warned: bool,
    #[serde(default)]
    pub breached: bool,
}

impl Ticket {
    pub fn is_participant(&self, email: &str) -> bool {
        self.participants
            .iter()
            .any(|p| p.eq_ignore_ascii_case(email))
    }

    pub fn add_participant(&mut self, email: &str) {
        if !email.is_empty() && !self.is_participant(email) {
            self.participants.push(email.to_ascii_lowercase());
        }
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// How a message found its ticket, kept so `tickets show` can say why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum ThreadReason {
    /// Opened a new ticket.
    New,
    /// The signed token in a recipient address.
    Token { address: String },
    /// `In-Reply-To`/`References` named a message of the ticket.
    Reference { message_id: String },
    /// An earlier message of the ticket referenced this one (it arrived late).
    ReferencedBy { message_id: String },
    /// `[PREFIX-N]` in the subject, from a participant.
    SubjectTag { tag: String },
    /// The Outlook conversation (Thread-Index and topic) of a message that
    /// names no parent, from a participant.
    Conversation,
    /// A guard placed it: a delivery report traced to the mail that
    /// bounced, or a sender over the new-ticket limit.
    Guard { why: String },
}

impl fmt::Display for ThreadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadReason::New => f.write_str("new ticket"),
            ThreadReason::Token { address } => write!(f, "signed token in {address}"),
            ThreadReason::Reference { message_id } => write!(f, "reply to <{message_id}>"),
            ThreadReason::ReferencedBy { message_id } => {
                write!(f, "parent of <{message_id}>, which arrived first")
            }
            ThreadReason::SubjectTag { tag } => write!(f, "subject tag {tag} from a participant"),
            ThreadReason::Conversation => {
                f.write_str("Outlook conversation (Thread-Index and topic) from a participant")
            }
            ThreadReason::Guard { why } => f.write_str(why),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// One message of a ticket, with what a reader needs; the raw bytes are kept
/// beside it in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub ticket: u64,
    pub seq: u32,
    pub direction: Direction,
    pub message_id: String,
    pub from: Option<Person>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub received: DateTime<Utc>,
    pub origin: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub size: usize,
    pub thread: ThreadReason,
    /// The rules that matched this message.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Who wrote it, as far as the desk could tell.
    #[serde(default)]
    pub author: crate::agent::Author,
    /// An agents-only note: never shown or sent to a customer.
    #[serde(default)]
    pub internal: bool,
    /// What a reader should know: unverified sender, outsider, ...
    #[serde(default)]
    pub flags: Vec<String>,
    /// An agent's answer this mail relayed to the customer (at once, or
    /// a held one its `#send` released).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub relayed: bool,
}

/// Formats a ticket reference as users see it: `ACME-42`.
pub fn reference(prefix: &str, number: u64) -> String {
    format!("{prefix}-{number}")
}

/// Reads `ACME-42`, `acme-42`, `[ACME-42]` or plain `42`.
pub fn parse_reference(prefix: &str, text: &str) -> Option<u64> {
    let t = text.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(n) = t.parse::<u64>() {
        return Some(n);
    }
    let (p, n) = t.rsplit_once('-')?;
    if p.eq_ignore_ascii_case(prefix) {
        n.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip() {
        assert_eq!(reference("ACME", 42), "ACME-42");
        assert_eq!(parse_reference("ACME", "acme-42"), Some(42));
        assert_eq!(parse_reference("ACME", "[ACME-7]"), Some(7));
        assert_eq!(parse_reference("ACME", "12"), Some(12));
        assert_eq!(parse_reference("ACME", "OTHER-12"), None);
    }

    #[test]
    fn status_parse_is_case_insensitive() {
        assert_eq!(Status::parse("Pending"), Some(Status::Pending));
        assert_eq!(Status::parse("nope"), None);
    }
}
