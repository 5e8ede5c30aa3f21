//! The variables a template sees, as types.
//!
//! Templates are rendered from a `serde_json::Value`, but the value is meant to
//! be built from [`MailData`]: then the shape the desk sends, the shape
//! [`sample_data`] gives `check` and `templates preview`, and the table in the
//! module documentation cannot drift apart. Every optional value is an
//! `Option` that serializes as `null` rather than being left out, because
//! strict mode turns a missing name into an error and the convention for
//! template authors is "present but null" (see the module documentation).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::ticket::{Person, Ticket};

/// Everything one outgoing mail's templates can use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailData {
    pub ticket: TicketVars,
    pub customer: CustomerVars,
    /// The new text that caused this mail: the customer's message for `ack`
    /// and `agent_notify`, the agent's answer for `reply`; for timer-driven
    /// mail (follow-ups, surveys, escalations) the ticket's latest message.
    pub message: MessageVars,
    /// `None` when nobody is assigned or the agent has no display name: an
    /// agent's own address is never shown to customers in its place.
    pub agent: Option<AgentVars>,
    pub support: SupportVars,
    /// A phrase that completes "We aim to answer …": "within 4 hours",
    /// "by Tuesday morning". `None` when the desk makes no promise.
    pub eta: Option<String>,
    /// The customer's other open tickets, so one mail can say what is pending.
    pub other_tickets: Vec<TicketSummary>,
    /// Suggested self-service articles; the default `ack` shows three at most.
    pub articles: Vec<Article>,
    /// The variables only one kind of mail has.
    #[serde(flatten)]
    pub extra: KindVars,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketVars {
    /// `ACME-42`.
    #[serde(rename = "ref")]
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub category: String,
    pub queue: String,
    /// Human-readable, see [`format_time`].
    pub created: String,
    /// When the next SLA target falls due, human-readable; `None` without SLA.
    pub due: Option<String>,
    /// The due date an agent set (`#due`), `Fri 24 Dec 2026`; `None` unset.
    pub due_date: Option<String>,
    /// `[ACME-42]`, what threading looks for in a subject.
    pub tag: String,
}

impl TicketVars {
    /// Everything the ticket record itself knows, `due` included (the next
    /// SLA target that has not been missed yet): the real mail and
    /// `templates preview --ticket` take this one path.
    pub fn from_ticket(t: &Ticket) -> TicketVars {
        TicketVars {
            reference: t.reference.clone(),
            subject: t.subject.clone(),
            status: t.status.as_str().to_string(),
            priority: t.priority.as_str().to_string(),
            category: t.category.clone(),
            queue: t.queue.clone(),
            created: format_time(t.created),
            due: t
                .sla_due
                .iter()
                .filter(|d| !d.breached)
                .map(|d| d.due)
                .min()
                .map(format_time),
            due_date: t.due.map(|d| d.format("%a %-d %b %Y").to_string()),
            tag: format!("[{}]", t.reference),
        }
    }
}

/// Who wrote an internal note that an agent notification carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteVars {
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerVars {
    /// The display name, made one safe line; `None` when the mail carried
    /// none, or only an address (see [`crate::greeting::display_name`]).
    pub name: Option<String>,
    /// The given name to greet with ("Müller, Hans" → `Hans`); `None` for
    /// a role mailbox, a company, an address or no name: templates greet
    /// with `Hello{{#if customer.given_name}} {{customer.given_name}}{{/if}},`.
    pub given_name: Option<String>,
    pub email: String,
}

impl CustomerVars {
    pub fn from_person(p: &Person) -> CustomerVars {
        CustomerVars {
            name: crate::greeting::display_name(p.name.as_deref()),
            given_name: crate::greeting::given_name(p.name.as_deref(), &p.email),
            email: p.email.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageVars {
    /// Plain text, quotes already removed by the caller.
    pub text: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentVars {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupportVars {
    /// `desk.name`.
    pub name: String,
    /// `desk.address`.
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketSummary {
    #[serde(rename = "ref")]
    pub reference: String,
    pub subject: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Article {
    pub title: String,
    pub url: String,
}

/// One choice in a survey: the score, its words, and a `mailto:` link that
/// sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    pub score: u32,
    pub label: String,
    pub mailto: String,
}

/// The rating a customer gave, for `survey_thanks`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub score: u32,
    pub label: String,
}

/// An earlier message of the ticket, for agents (never sent to customers, so
/// `from` may carry an address).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub from: String,
    pub when: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// `first_response`, `next_response` or `resolution`.
    pub kind: String,
    /// When it was due, human-readable.
    pub due: String,
}

/// Variables that only one kind of mail has. Serialized flat, beside the
/// common ones, so templates write `{{new_status}}`, not `{{extra.new_status}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum KindVars {
    /// `ack`, `reply`, `autoclose`, and names that are no kind.
    None,
    Status {
        old_status: String,
        new_status: String,
    },
    Followup {
        /// When the ticket will be closed if the customer stays silent;
        /// `None` when auto-close is off.
        autoclose_on: Option<String>,
    },
    Survey {
        ratings: Vec<Rating>,
        /// The address a free-text answer goes to (the tokened Reply-To).
        reply_address: String,
    },
    SurveyThanks {
        rating: Score,
    },
    AgentNotify {
        /// Earlier messages, oldest first, without `message`; empty for a new
        /// ticket.
        history: Vec<HistoryEntry>,
        /// How to answer and which commands an agent's reply may carry.
        commands_help: String,
        /// Set when the mail is another agent's internal note, not a
        /// message from the customer.
        note: Option<NoteVars>,
        /// The customer's other tickets: open ones first, newest first,
        /// then the last few resolved or closed; at most ten.
        customer_tickets: Vec<TicketSummary>,
        /// The customer's organisation (`[[organization]]` naming their
        /// domain, else the domain); `None` without one.
        organization: Option<String>,
    },
    Escalation {
        breach: Breach,
    },
}

impl MailData {
    /// The value templates are rendered from.
    pub fn to_value(&self) -> Value {
        // Serializing plain structs with string keys into a `Value` cannot
        // fail; `Null` would surface as strict-mode errors, not as bad mail.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Realistic data with every variable present and set, for `name`'s kind
    /// (see [`super::kind_of`]).
    pub fn sample(name: &str) -> MailData {
        let kind = super::kind_of(name);
        let reply = kind == Some("reply");
        MailData {
            ticket: TicketVars {
                reference: "ACME-42".into(),
                subject: "Cannot download my March invoice".into(),
                status: match kind {
                    Some("followup") => "pending",
                    Some("autoclose" | "survey" | "survey_thanks") => "resolved",
                    Some("status") => "resolved",
                    _ => "open",
                }
                .into(),
                priority: "normal".into(),
                category: "billing".into(),
                queue: "billing".into(),
                created: "Mon 2 Nov 2026, 09:14 UTC".into(),
                due: Some("Mon 2 Nov 2026, 13:14 UTC".into()),
                due_date: Some("Fri 6 Nov 2026".into()),
                tag: "[ACME-42]".into(),
            },
            customer: CustomerVars {
                name: Some("Carol Diaz".into()),
                given_name: Some("Carol".into()),
                email: "carol@example.net".into(),
            },
            message: if reply {
                MessageVars {
                    text: "Hi Carol,\n\nSorry about that: the link had expired. I have attached \
                           the March invoice (INV-2026-03) to this mail, and the download \
                           works again from your account page.\n\nBest,\nAlice"
                        .into(),
                    subject: "Re: [ACME-42] Cannot download my March invoice".into(),
                }
            } else {
                MessageVars {
                    text: "Hello,\n\nthe download link for invoice INV-2026-03 gives me an \
                           error page. Could you send me the invoice?\n\nThanks,\nCarol"
                        .into(),
                    subject: "Cannot download my March invoice".into(),
                }
            },
            agent: Some(AgentVars {
                name: "Alice".into(),
            }),
            support: SupportVars {
                name: "Acme Support".into(),
                address: "support@example.com".into(),
            },
            eta: Some("within 4 hours".into()),
            other_tickets: vec![TicketSummary {
                reference: "ACME-39".into(),
                subject: "Change of billing address".into(),
                status: "pending".into(),
            }],
            articles: vec![
                Article {
                    title: "Where to find your invoices".into(),
                    url: "https://help.example.com/invoices".into(),
                },
                Article {
                    title: "Updating your billing details".into(),
                    url: "https://help.example.com/billing-details".into(),
                },
                Article {
                    title: "Refunds and credit notes".into(),
                    url: "https://help.example.com/refunds".into(),
                },
            ],
            extra: sample_extra(kind),
        }
    }
}

fn sample_extra(kind: Option<&str>) -> KindVars {
    let token = "support+ACME-42.k3f9x2@example.com";
    match kind {
        Some("status") => KindVars::Status {
            old_status: "open".into(),
            new_status: "resolved".into(),
        },
        Some("followup") => KindVars::Followup {
            autoclose_on: Some("Tue 10 Nov 2026".into()),
        },
        Some("survey") => KindVars::Survey {
            ratings: SURVEY_LABELS
                .iter()
                .zip(1u32..)
                .map(|(label, score)| Rating {
                    score,
                    label: (*label).into(),
                    mailto: format!("mailto:{token}?subject=Rating%20{score}%20%5BACME-42%5D"),
                })
                .collect(),
            reply_address: token.into(),
        },
        Some("survey_thanks") => KindVars::SurveyThanks {
            rating: Score {
                score: 4,
                label: "Good".into(),
            },
        },
        Some("agent_notify") => KindVars::AgentNotify {
            history: vec![HistoryEntry {
                from: "Carol Diaz <carol@example.net>".into(),
                when: "Fri 30 Oct 2026, 16:40 UTC".into(),
                text: "Hello, where can I find my invoices?".into(),
            }],
            commands_help: crate::command::help(),
            note: Some(NoteVars {
                by: "bob@example.com".into(),
            }),
            customer_tickets: vec![
                TicketSummary {
                    reference: "ACME-39".into(),
                    subject: "Change of billing address".into(),
                    status: "pending".into(),
                },
                TicketSummary {
                    reference: "ACME-17".into(),
                    subject: "Invoice sent twice".into(),
                    status: "resolved".into(),
                },
            ],
            organization: Some("Example Networks".into()),
        },
        Some("escalation") => KindVars::Escalation {
            breach: Breach {
                kind: "first_response".into(),
                due: "Mon 2 Nov 2026, 13:14 UTC".into(),
            },
        },
        _ => KindVars::None,
    }
}

const SURVEY_LABELS: [&str; 5] = ["Very poor", "Poor", "Fair", "Good", "Excellent"];

/// Sample data for a template name, as a value: what `check` renders every
/// template with and what `templates preview NAME` shows without a ticket.
/// Every variable of the name's kind is present and not null.
pub fn sample_data(name: &str) -> Value {
    MailData::sample(name).to_value()
}

/// [`sample_data`] as mail in language `lang` would have it: the
/// estimate and the auto-close date in that language's words
/// (`templates preview NAME --lang de`).
pub fn sample_data_in(name: &str, lang: &str) -> Value {
    let mut d = MailData::sample(name);
    d.eta = crate::eta::words(crate::eta::Phrase::Hours(4), lang);
    if let KindVars::Followup {
        autoclose_on: Some(on),
    } = &mut d.extra
    {
        if let Ok(t) = DateTime::parse_from_rfc3339("2026-11-10T09:14:00Z") {
            *on = crate::eta::moment(t.with_timezone(&Utc), lang);
        }
    }
    d.to_value()
}

/// How times appear in mail: `Tue 3 Nov 2026, 14:05 UTC`. One fixed,
/// unambiguous form, because the desk does not know the reader's locale.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%a %-d %b %Y, %H:%M UTC").to_string()
}

/// Values that may be null (or, for lists, empty) in real mail. `check`
/// renders each template with each of them switched off and on, so a
/// misspelling inside `{{#if eta}}…{{else}}…{{/if}}` is found in both branches.
pub(crate) const OPTIONAL: &[&str] = &[
    "ticket.due",
    "ticket.due_date",
    "customer.name",
    "customer.given_name",
    "agent",
    "eta",
    "other_tickets",
    "articles",
    "autoclose_on",
    "history",
    "ratings",
    "note",
    "customer_tickets",
    "organization",
];

/// Values that templates branch on with `eq`/`lt`: `check` renders once with
/// each so every branch of the default `status`, `escalation` and
/// `survey_thanks` wording is exercised.
pub(crate) fn branch_values() -> Vec<(&'static str, Vec<Value>)> {
    let strs = |v: &[&str]| v.iter().map(|s| Value::from(*s)).collect::<Vec<_>>();
    vec![
        (
            "new_status",
            strs(&["new", "open", "pending", "resolved", "closed", "escalated"]),
        ),
        (
            "old_status",
            strs(&["new", "open", "pending", "resolved", "closed"]),
        ),
        (
            "breach.kind",
            strs(&["first_response", "next_response", "resolution"]),
        ),
        ("rating.score", (1..=5).map(Value::from).collect()),
        (
            "ticket.status",
            strs(&["new", "open", "pending", "resolved", "closed"]),
        ),
        (
            "ticket.priority",
            strs(&["low", "normal", "high", "urgent"]),
        ),
    ]
}

/// The data with every [`OPTIONAL`] value off: null, or an empty list.
pub(crate) fn all_off(full: &Value) -> Value {
    let mut v = full.clone();
    for path in OPTIONAL {
        switch_off(&mut v, path);
    }
    v
}

/// Sets `path` to null (or `[]` for a list); false when it is not there.
pub(crate) fn switch_off(v: &mut Value, path: &str) -> bool {
    match lookup_mut(v, path) {
        Some(slot) => {
            *slot = if slot.is_array() {
                Value::Array(Vec::new())
            } else {
                Value::Null
            };
            true
        }
        None => false,
    }
}

pub(crate) fn lookup_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.')
        .try_fold(v, |cur, seg| cur.as_object_mut()?.get_mut(seg))
}

pub(crate) fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |cur, seg| cur.as_object()?.get(seg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::KINDS;

    #[test]
    fn optional_values_serialize_as_null_not_absent() {
        let mut d = MailData::sample("ack");
        d.eta = None;
        d.agent = None;
        let v = d.to_value();
        assert_eq!(v.get("eta"), Some(&Value::Null));
        assert_eq!(v.get("agent"), Some(&Value::Null));
    }

    #[test]
    fn every_optional_path_exists_for_some_kind_and_is_set() {
        for path in OPTIONAL {
            let found = KINDS.iter().any(|k| {
                let v = sample_data(k);
                matches!(lookup(&v, path), Some(x) if !x.is_null() && x != &Value::Array(vec![]))
            });
            assert!(found, "{path} is in no sample, or always null/empty");
        }
    }

    #[test]
    fn kind_variables_are_flat_and_only_in_their_kind() {
        let status = sample_data("status");
        assert_eq!(status["new_status"], "resolved");
        assert!(sample_data("ack").get("new_status").is_none());
        assert!(sample_data("survey")["ratings"].as_array().is_some());
        assert!(sample_data("agent_notify")["commands_help"].is_string());
        assert!(sample_data("escalation")["breach"]["due"].is_string());
        assert!(sample_data("survey_thanks")["rating"]["score"].is_number());
        assert!(sample_data("followup")["autoclose_on"].is_string());
    }

    #[test]
    fn extra_names_take_their_kind_sample() {
        assert_eq!(sample_data("status_vip")["new_status"], "resolved");
        assert!(sample_data("welcome").get("ticket").is_some());
    }

    #[test]
    fn times_read_the_same_everywhere() {
        let t = DateTime::parse_from_rfc3339("2026-11-03T14:05:09Z").map(|t| t.with_timezone(&Utc));
        assert_eq!(
            t.map(format_time).ok().as_deref(),
            Some("Tue 3 Nov 2026, 14:05 UTC")
        );
    }

    #[test]
    fn switching_off_makes_lists_empty_and_values_null() {
        let off = all_off(&sample_data("agent_notify"));
        assert_eq!(off["history"], Value::Array(vec![]));
        assert_eq!(off["ticket"]["due"], Value::Null);
        assert_eq!(off["agent"], Value::Null);
    }
}
