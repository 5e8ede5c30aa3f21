//! Turning a decided [`Notice`] into an outbox entry: the template data, the
//! rendered text, the headers DESIGN.md promises, and the final bytes.
//!
//! This is where the desk's identity goes on every mail: From is always the
//! support address (an agent's own address never appears), Reply-To carries
//! the signed ticket token, the subject carries the tag, the threading
//! headers continue the customer's own thread, and the envelope sender is a
//! signed bounce address naming the outbox entry, so a bounce can be traced
//! to its ticket and recipient.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::Config;
use crate::decide::Notice;
use crate::kb::Article;
use crate::mail::build::{self, Draft};
use crate::outbox::{Entry, State};
use crate::templates::{
    self, AgentVars, CustomerVars, KindVars, MailData, MessageVars, SupportVars, Templates,
    TicketSummary, TicketVars,
};
use crate::ticket::Ticket;
use crate::token::Signer;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("template `{template}`: {message}\n  hint: `postdesk check` renders every template; fix the one it names")]
    Template { template: String, message: String },
    #[error(transparent)]
    Build(#[from] build::BuildError),
}

/// What the templates may say about a ticket, beyond the ticket itself.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The new text of the message that caused this mail.
    pub message_text: String,
    pub message_subject: String,
    pub eta: Option<String>,
    pub other_tickets: Vec<Ticket>,
    pub articles: Vec<Article>,
}

/// The data every template gets (documented in README, "Templates"). The
/// agent is named only when assigned, and never by address: customers must
/// not learn agents' own mail addresses.
pub fn template_data(config: &Config, ticket: &Ticket, extras: &Extras) -> Value {
    let agent = ticket.assignee.as_ref().and_then(|email| {
        config
            .agents
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
            .and_then(|a| a.name.clone())
            .map(|name| AgentVars { name })
    });
    MailData {
        ticket: TicketVars::from_ticket(ticket),
        customer: CustomerVars::from_person(&ticket.requester),
        message: MessageVars {
            text: extras.message_text.clone(),
            subject: extras.message_subject.clone(),
        },
        agent,
        support: SupportVars {
            name: config.desk.name.clone(),
            address: config.desk.address.clone(),
        },
        eta: extras.eta.clone(),
        other_tickets: extras
            .other_tickets
            .iter()
            .map(|t| TicketSummary {
                reference: t.reference.clone(),
                subject: t.subject.clone(),
                status: t.status.as_str().to_string(),
            })
            .collect(),
        articles: extras
            .articles
            .iter()
            .map(|a| templates::Article {
                title: a.title.clone(),
                url: a.url.clone(),
            })
            .collect(),
        extra: KindVars::None,
    }
    .to_value()
}

/// Renders and builds one notice. `id` is the outbox entry id it will have.
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
    let data = template_data(config, ticket, extras);
    let rendered = templates
        .render(&notice.template, Some(&ticket.inbox), &data)
        .map_err(|e| ComposeError::Template {
            template: notice.template.clone(),
            message: e.to_string(),
        })?;
    let tag = format!("[{}]", ticket.reference);
    let subject = if rendered.subject.contains(&tag) {
        rendered.subject.clone()
    } else {
        format!("{tag} {}", rendered.subject)
    };
    let address = &config.desk.address;
    let domain = address.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let first = notice
        .to
        .first()
        .map(|p| p.email.as_str())
        .unwrap_or_default();
    let message_id = build::message_id(
        &ticket.reference,
        &notice.template,
        &notice.cause,
        first,
        domain,
    );
    let (reply_to, envelope_from) = if config.desk.plus_addressing {
        (
            Some(signer.reply_address(address, &ticket.reference)),
            signer.bounce_address(address, id),
        )
    } else {
        (None, address.clone())
    };
    let bytes = build::build(&Draft {
        from_name: &config.desk.name,
        from_address: address,
        reply_to: reply_to.as_deref(),
        to: &notice.to,
        cc: &[],
        subject: &subject,
        text: &rendered.text,
        html: rendered.html.as_deref(),
        message_id: &message_id,
        in_reply_to: notice.in_reply_to.as_deref(),
        references: &notice.references,
        auto: notice.auto,
        loop_marker: address,
        extra_headers: &rendered.headers,
        date: now,
    })?;
    let entry = Entry {
        id,
        ticket: Some(ticket.reference.clone()),
        kind: notice.template.clone(),
        message_id,
        envelope_from,
        recipients: notice.to.iter().map(|p| p.email.clone()).collect(),
        subject,
        size: bytes.len(),
        created: now,
        state: State::Queued,
        attempts: 0,
        next_attempt: now,
        last_error: None,
        sent_at: None,
    };
    Ok((entry, bytes))
}
