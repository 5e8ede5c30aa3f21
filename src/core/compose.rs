//! Turning a decided [`Notice`] into an outbox entry: the template data, the
//! rendered text, the headers DESIGN.md promises, and the final bytes.
//!
//! This is where the desk's identity goes on every mail: From is always the
//! support address (an agent's own address never appears; a relayed answer
//! only names the agent in the display name), Reply-To carries the signed
//! ticket token (or, to an agent, the agent's own token), the subject
//! carries the tag, the threading headers continue the customer's own
//! thread, and the envelope sender is a signed bounce address naming the
//! outbox entry, so a bounce can be traced to its ticket and recipient.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::decide::Notice;
use crate::kb::Article;
use crate::mail::build::{self, Draft, Part};
use crate::outbox::{Entry, State};
use crate::templates::{
    self, format_time, AgentVars, Breach, CustomerVars, HistoryEntry, KindVars, MailData,
    MessageVars, Rating, Score, SupportVars, Templates, TicketSummary, TicketVars,
};
use crate::ticket::{Person, Ticket};
use crate::token::Signer;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("template `{template}`: {message}\n  hint: `postdesk check` renders every template; fix the one it names")]
    Template { template: String, message: String },
    #[error(transparent)]
    Build(#[from] build::BuildError),
}

/// What the templates may say about a ticket beyond the ticket and notice.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub message_subject: String,
    /// The estimate in the desk's default language.
    pub eta: Option<String>,
    /// The estimate in other languages, by code: mail in the customer's
    /// language takes its phrase from here (none: no estimate).
    pub eta_by_language: std::collections::BTreeMap<String, String>,
    /// For agent notifications: the customer's other tickets, open ones
    /// first, then the last few finished (see
    /// [`crate::templates::KindVars::AgentNotify`]).
    pub customer_tickets: Vec<Ticket>,
    /// For agent notifications: the customer's organisation.
    pub organization: Option<String>,
    pub other_tickets: Vec<Ticket>,
    pub articles: Vec<Article>,
    /// Earlier messages for agent notifications: (from, when, text).
    pub history: Vec<(String, DateTime<Utc>, String)>,
    /// Files carried by a relayed answer.
    pub attachments: Vec<Part>,
    /// The ticket's Reply-To, for surveys answered by a plain reply.
    pub reply_address: String,
}

fn agent_name(config: &Config, email: &str) -> String {
    config
        .agent(email)
        .and_then(|a| a.name.clone())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string())
}

/// The language a notice is written in: the ticket's language for mail
/// to the customer; `None` (the desk's default) for mail to agents and
/// the admin, whose language is the desk's.
pub fn mail_language<'a>(notice: &Notice, ticket: &'a Ticket) -> Option<&'a str> {
    let to_agents = notice.agent.is_some()
        || matches!(
            templates::kind_of(&notice.template),
            Some("agent_notify" | "escalation")
        );
    if to_agents {
        return None;
    }
    ticket.language.as_ref().map(|l| l.code.as_str())
}

fn summary(t: &Ticket) -> TicketSummary {
    TicketSummary {
        reference: t.reference.clone(),
        subject: t.subject.clone(),
        status: t.status.as_str().to_string(),
    }
}

/// The data every template gets (documented in README, "Templates"). The
/// agent is named, never addressed: customers must not learn agents' own
/// mail addresses.
pub fn template_data(config: &Config, ticket: &Ticket, notice: &Notice, extras: &Extras) -> Value {
    let agent = notice
        .on_behalf_of
        .as_deref()
        .or(ticket.assignee.as_deref())
        .and_then(|email| config.agent(email))
        .and_then(|a| a.name.clone())
        .map(|name| AgentVars { name });
    let extra = match templates::kind_of(&notice.template) {
        Some("agent_notify") => KindVars::AgentNotify {
            history: extras
                .history
                .iter()
                .map(|(from, when, text)| HistoryEntry {
                    from: from.clone(),
                    when: format_time(*when),
                    text: text.clone(),
                })
                .collect(),
            commands_help: crate::command::help(),
            note: notice.note_by.clone().map(|by| templates::NoteVars { by }),
            // Only this customer's own tickets: a ticket that names them
            // as requester and is not the one this mail is about.
            customer_tickets: extras
                .customer_tickets
                .iter()
                .filter(|t| {
                    t.number != ticket.number
                        && t.requester
                            .email
                            .eq_ignore_ascii_case(&ticket.requester.email)
                })
                .take(10)
                .map(summary)
                .collect(),
            organization: extras.organization.clone(),
        },
        Some("status") => {
            let (old, new) = notice
                .status_change
                .unwrap_or((ticket.status, ticket.status));
            KindVars::Status {
                old_status: old.as_str().to_string(),
                new_status: if notice.escalated {
                    "escalated".to_string()
                } else {
                    new.as_str().to_string()
                },
            }
        }
        Some("followup") => KindVars::Followup {
            // Inside a sentence of the customer's language: its words.
            autoclose_on: notice.autoclose_on.map(|t| {
                mail_language(notice, ticket)
                    .map_or_else(|| format_time(t), |lang| crate::eta::moment(t, lang))
            }),
        },
        Some("survey") => KindVars::Survey {
            ratings: notice
                .ratings
                .iter()
                .map(|(score, label, address)| Rating {
                    score: *score,
                    label: label.clone(),
                    mailto: format!(
                        "mailto:{address}?subject=Rating%20{score}%20%5B{}%5D",
                        ticket.reference
                    ),
                })
                .collect(),
            reply_address: extras.reply_address.clone(),
        },
        Some("survey_thanks") => {
            let (score, label) = notice.rating.clone().unwrap_or((0, String::new()));
            KindVars::SurveyThanks {
                rating: Score { score, label },
            }
        }
        Some("escalation") => {
            let (kind, due) = notice
                .breach
                .unwrap_or((crate::ticket::SlaKind::Resolution, ticket.updated));
            KindVars::Escalation {
                breach: Breach {
                    kind: kind.as_str().to_string(),
                    due: format_time(due),
                },
            }
        }
        _ => KindVars::None,
    };
    MailData {
        ticket: TicketVars::from_ticket(ticket),
        customer: CustomerVars::from_person(&ticket.requester),
        message: MessageVars {
            text: notice.text.clone(),
            subject: extras.message_subject.clone(),
        },
        agent,
        support: SupportVars {
            name: config.desk.name.clone(),
            address: config.desk.address.clone(),
        },
        eta: match mail_language(notice, ticket).filter(|l| *l != config.desk.language) {
            Some(lang) => extras.eta_by_language.get(lang).cloned(),
            None => extras.eta.clone(),
        },
        other_tickets: extras.other_tickets.iter().map(summary).collect(),
        articles: extras
            .articles
            .iter()
            .map(|a| templates::Article {
                title: a.title.clone(),
                url: a.url.clone(),
            })
            .collect(),
        extra,
    }
    .to_value()
}

/// A desk-level alert: what occasioned it, and what it says.
#[derive(Debug, Clone, Copy)]
pub struct Alert<'a> {
    pub cause: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Plans a desk-level alert for the admin, about the desk itself rather
/// than a ticket (an inbox that cannot log in, say), like any other mail.
/// `cause` names the occasion, so the same occasion decided twice is one
/// mail.
pub fn plan_alert(
    config: &Config,
    signer: &Signer,
    admin: &str,
    alert: &Alert<'_>,
    id: u64,
    now: DateTime<Utc>,
) -> (Entry, Planned) {
    let Alert {
        cause,
        subject,
        body,
    } = *alert;
    let address = &config.desk.address;
    let domain = address.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let message_id = build::message_id("system", "alert", cause, admin, domain);
    let envelope_from = if config.desk.plus_addressing {
        signer.bounce_address(address, id)
    } else {
        address.clone()
    };
    let subject = format!("[{}] {subject}", config.desk.name);
    let to = vec![crate::ticket::Person {
        name: None,
        email: admin.to_string(),
    }];
    let entry = Entry {
        id,
        ticket: None,
        kind: "alert".to_string(),
        message_id,
        envelope_from,
        recipients: vec![admin.to_string()],
        subject: subject.clone(),
        size: 0,
        created: now,
        state: State::Queued,
        attempts: 0,
        next_attempt: now,
        last_error: None,
        sent_at: None,
        planned: true,
        in_flight: false,
        unconfirmed: 0,
    };
    let planned = Planned {
        plain: Some((subject, body.to_string())),
        data: Value::Null,
        inbox: String::new(),
        lang: None,
        tag: String::new(),
        from_name: config.desk.name.clone(),
        reply_to: None,
        to,
        cc: Vec::new(),
        in_reply_to: None,
        references: Vec::new(),
        auto: build::Auto::Generated,
        attachments_of: None,
        macro_answer: None,
    };
    (entry, planned)
}

/// A notice decided but not yet built into a mail: everything the outbox
/// worker needs to render and build it before its first attempt. Intake
/// stores only this (rendering and building were a fifth of its work in
/// the IMAP benchmark), and a template that fails leaves the mail in the
/// outbox, failed with the reason, to be retried once the template is
/// fixed, instead of never being queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    /// Desk-written text instead of a template: (subject, body).
    plain: Option<(String, String)>,
    /// The templates' data, as of the decision.
    data: Value,
    /// The inbox whose template set applies.
    inbox: String,
    /// The language it is written in (ISO 639-1); `None`: the desk's
    /// default. Plans queued before languages existed read `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lang: Option<String>,
    /// `[ACME-42]`, put in front of the subject unless the template did.
    tag: String,
    from_name: String,
    reply_to: Option<String>,
    to: Vec<Person>,
    cc: Vec<Person>,
    in_reply_to: Option<String>,
    references: Vec<String>,
    auto: build::Auto,
    /// The stored message (ticket, seq) whose attachments the mail
    /// carries (a relayed answer): taken from the store when it is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments_of: Option<(u64, u32)>,
    /// A macro answering too: (its name, the agent's words below it); the
    /// data's `message.text` is their words above it. Rendered by the
    /// worker with the same data, so the customer's mail is whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    macro_answer: Option<(String, String)>,
}

impl Planned {
    /// The stored message whose attachments this mail carries.
    pub fn attachments_of(&self) -> Option<(u64, u32)> {
        self.attachments_of
    }
}

/// Plans one notice: its outbox entry (`id`, Message-ID, envelope,
/// recipients) and what building it needs, without rendering anything.
pub fn plan(
    config: &Config,
    signer: &Signer,
    notice: &Notice,
    ticket: &Ticket,
    extras: &Extras,
    id: u64,
    now: DateTime<Utc>,
) -> (Entry, Planned) {
    let data = match &notice.plain {
        Some(_) => Value::Null,
        None => template_data(config, ticket, notice, extras),
    };
    let address = &config.desk.address;
    let message_id = notice.message_id(&ticket.reference, config);
    let reply_to = match (&notice.agent, config.desk.plus_addressing) {
        (Some(agent), true) => Some(signer.agent_address(address, &ticket.reference, agent, false)),
        (None, true) => Some(signer.reply_address(address, &ticket.reference)),
        (_, false) => None,
    };
    let envelope_from = if config.desk.plus_addressing {
        signer.bounce_address(address, id)
    } else {
        address.clone()
    };
    let from_name = match &notice.on_behalf_of {
        Some(agent) => config
            .agent_mail
            .display_name
            .replace("{agent}", &agent_name(config, agent))
            .replace("{desk}", &config.desk.name),
        None => config.desk.name.clone(),
    };
    let entry = Entry {
        id,
        ticket: Some(ticket.reference.clone()),
        kind: notice.template.clone(),
        message_id,
        envelope_from,
        recipients: notice
            .to
            .iter()
            .chain(notice.cc.iter())
            .map(|p| p.email.clone())
            .collect(),
        subject: String::new(),
        size: 0,
        created: now,
        state: State::Queued,
        attempts: 0,
        next_attempt: now,
        last_error: None,
        sent_at: None,
        planned: true,
        in_flight: false,
        unconfirmed: 0,
    };
    let planned = Planned {
        plain: notice.plain.clone(),
        data,
        inbox: ticket.inbox.clone(),
        lang: mail_language(notice, ticket).map(str::to_string),
        tag: format!("[{}]", ticket.reference),
        from_name,
        reply_to,
        to: notice.to.clone(),
        cc: notice.cc.clone(),
        in_reply_to: notice.in_reply_to.clone(),
        references: notice.references.clone(),
        auto: notice.auto,
        attachments_of: notice.attachments_of,
        macro_answer: notice.macro_answer.clone(),
    };
    (entry, planned)
}

/// Renders and builds a planned mail with the templates in use now: the
/// entry as built (subject and size known) and the mail's bytes. Its Date
/// is when it was queued.
pub fn build_planned(
    config: &Config,
    templates: &Templates,
    entry: &Entry,
    planned: &Planned,
    attachments: &[Part],
) -> Result<(Entry, Vec<u8>), ComposeError> {
    let (subject, text, html, headers) = match &planned.plain {
        Some((subject, body)) => (subject.clone(), body.clone(), None, Vec::new()),
        None => {
            let data = with_macro(templates, planned)?;
            let r = templates
                .render_in(
                    &entry.kind,
                    Some(&planned.inbox),
                    planned.lang.as_deref(),
                    &data,
                )
                .map_err(|e| ComposeError::Template {
                    template: entry.kind.clone(),
                    message: e.to_string(),
                })?;
            (r.subject, r.text, r.html, r.headers)
        }
    };
    let subject = if planned.tag.is_empty() || subject.contains(&planned.tag) {
        subject
    } else {
        format!("{} {subject}", planned.tag)
    };
    let address = &config.desk.address;
    let bytes = build::build(&Draft {
        from_name: &planned.from_name,
        from_address: address,
        reply_to: planned.reply_to.as_deref(),
        to: &planned.to,
        cc: &planned.cc,
        subject: &subject,
        text: &text,
        html: html.as_deref(),
        message_id: &entry.message_id,
        in_reply_to: planned.in_reply_to.as_deref(),
        references: &planned.references,
        auto: planned.auto,
        loop_marker: address,
        extra_headers: &headers,
        attachments,
        date: entry.created,
    })?;
    let built = Entry {
        subject,
        size: bytes.len(),
        planned: false,
        ..entry.clone()
    };
    Ok((built, bytes))
}

/// The planned data with a macro's text put into `message.text` between
/// the agent's words above and below it.
fn with_macro(templates: &Templates, planned: &Planned) -> Result<Value, ComposeError> {
    let Some((name, below)) = &planned.macro_answer else {
        return Ok(planned.data.clone());
    };
    let text = templates
        .render_macro_in(
            name,
            Some(&planned.inbox),
            planned.lang.as_deref(),
            &planned.data,
        )
        .map_err(|e| ComposeError::Template {
            template: format!("macros/{name}"),
            message: e.to_string(),
        })?;
    let mut data = planned.data.clone();
    let above = data["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    let whole: Vec<&str> = [above.as_str(), text.as_str(), below.trim()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(m) = data.get_mut("message").and_then(Value::as_object_mut) {
        m.insert("text".into(), Value::from(whole.join("\n\n")));
    }
    Ok(data)
}

/// Plans, renders and builds one notice at once, as the outbox worker
/// would (previews and tests). `id` is the outbox entry id it would have.
#[allow(clippy::too_many_arguments)]
pub fn compose(
    config: &Config,
    signer: &Signer,
    templates: &Templates,
    notice: &Notice,
    ticket: &Ticket,
    extras: &Extras,
    id: u64,
    now: DateTime<Utc>,
) -> Result<(Entry, Vec<u8>), ComposeError> {
    let (entry, planned) = plan(config, signer, notice, ticket, extras, id, now);
    build_planned(config, templates, &entry, &planned, &extras.attachments)
}

#[cfg(test)]
mod tests;
