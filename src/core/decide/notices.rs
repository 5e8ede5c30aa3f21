//! The mail a decision queues: who is told what (acknowledgements, agents'
//! notifications, relayed answers, status notices, alerts), as [`Notice`]s
//! that `compose` turns into mail.

use super::*;

/// A mail the desk decides to send. The shell renders it with the
/// template of that name and queues it in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub template: String,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub auto: Auto,
    /// The Message-ID of what caused it: with the template and recipient
    /// it makes the outgoing Message-ID, so deciding twice queues one mail.
    pub cause: String,
    /// What the template shows as `message.text`.
    pub text: String,
    /// Addressed to this agent: its Reply-To carries the agent's token.
    pub agent: Option<String>,
    /// Relays this agent's answer (the From display name says so).
    pub on_behalf_of: Option<String>,
    /// Carries the attachments of the mail that caused it.
    pub attachments: bool,
    /// Desk-written text instead of a template: (subject, body). For
    /// operators' eyes only (command errors, alerts).
    pub plain: Option<(String, String)>,
    /// For `status` notices: (old, new).
    pub status_change: Option<(Status, Status)>,
    /// A `status` notice about an escalation rather than a status change.
    pub escalated: bool,
    /// For `followup`: when silence closes the ticket.
    pub autoclose_on: Option<DateTime<Utc>>,
    /// For `survey`: (score, label, mailto address), best first.
    pub ratings: Vec<(u32, String, String)>,
    /// For `survey_thanks`: (score, label).
    pub rating: Option<(u32, String)>,
    /// For `escalation`: which target, and when it was due.
    pub breach: Option<(crate::ticket::SlaKind, DateTime<Utc>)>,
    /// The stored message (ticket, seq) whose attachments this mail
    /// carries: the outbox worker takes them from the store when it
    /// builds the mail.
    pub attachments_of: Option<(u64, u32)>,
    /// For `agent_notify`: an internal note by this agent, not a message
    /// from the customer.
    pub note_by: Option<String>,
    /// For `reply`: a macro's text answers too, (macro name, the agent's
    /// words below it); `text` is their words above it. The outbox worker
    /// renders the macro with the ticket's data.
    pub macro_answer: Option<(String, String)>,
}

impl Notice {
    /// A notice of template `name` about `ticket` to its requester, for
    /// `templates preview`.
    pub fn preview(name: &str, ticket: &Ticket) -> Notice {
        Notice::new(
            name,
            vec![ticket.requester.clone()],
            "preview",
            Auto::Replied,
        )
    }

    /// A notice with everything else at its default.
    pub fn new_for(template: &str, to: Vec<Person>, cause: &str, auto: Auto) -> Notice {
        Notice::new(template, to, cause, auto)
    }

    pub(super) fn new(template: &str, to: Vec<Person>, cause: &str, auto: Auto) -> Notice {
        Notice {
            template: template.to_string(),
            to,
            cc: Vec::new(),
            in_reply_to: None,
            references: Vec::new(),
            auto,
            cause: cause.to_string(),
            text: String::new(),
            agent: None,
            on_behalf_of: None,
            attachments: false,
            plain: None,
            status_change: None,
            escalated: false,
            autoclose_on: None,
            ratings: Vec::new(),
            rating: None,
            breach: None,
            attachments_of: None,
            note_by: None,
            macro_answer: None,
        }
    }

    /// Makes this mail continue the customer's thread (their Message-IDs
    /// on the ticket, oldest first): In-Reply-To the newest, References
    /// the thread, cut as clients expect for long threads.
    pub fn continue_thread(&mut self, ids: &[String]) {
        let mut refs = ids.to_vec();
        if refs.len() > 20 {
            let tail = refs.split_off(refs.len() - 19);
            refs.truncate(1);
            refs.extend(tail);
        }
        self.in_reply_to = refs.last().cloned();
        self.references = refs;
    }

    /// The Message-ID this mail will have: derived from what it is about,
    /// its kind, its cause and its first recipient, so deciding the same
    /// thing twice queues one mail.
    pub fn message_id(&self, reference: &str, config: &Config) -> String {
        let domain = config
            .desk
            .address
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d);
        let first = self
            .to
            .first()
            .map(|p| p.email.as_str())
            .unwrap_or_default();
        crate::mail::build::message_id(reference, &self.template, &self.cause, first, domain)
    }
}

/// The agents who hear of this message: the assignee, or the queue's
/// agents while unassigned, as the queue's `notify` says; never the agent
/// who wrote it. Notes go to everyone on the ticket's queue.
pub(super) fn agents_to_notify(
    ticket: &Ticket,
    config: &Config,
    author: Option<&str>,
    note: bool,
) -> Vec<Person> {
    let policy = config
        .queues
        .iter()
        .find(|q| q.name == ticket.queue)
        .map_or("queue", |q| q.notify.as_str());
    let mut emails: Vec<String> = Vec::new();
    if let Some(a) = &ticket.assignee {
        emails.push(a.clone());
    }
    if note || (policy == "queue" && ticket.assignee.is_none()) {
        emails.extend(
            config
                .queue_agents(&ticket.queue)
                .iter()
                .map(|a| a.email.to_ascii_lowercase()),
        );
    }
    if policy == "none" && !note {
        emails.clear();
    }
    let mut out: Vec<Person> = Vec::new();
    for e in emails {
        if author.is_some_and(|a| a.eq_ignore_ascii_case(&e))
            || out.iter().any(|p| p.email.eq_ignore_ascii_case(&e))
        {
            continue;
        }
        let name = config.agent(&e).and_then(|a| a.name.clone());
        out.push(Person { name, email: e });
    }
    out
}

/// One `agent_notify` per agent, each with its own signed Reply-To.
pub(super) fn agent_notices(
    msg: &Inbound,
    ticket: &Ticket,
    config: &Config,
    author: Option<&str>,
    text: &str,
    note: bool,
) -> Vec<Notice> {
    agents_to_notify(ticket, config, author, note)
        .into_iter()
        .map(|p| {
            let mut n = Notice::new(
                "agent_notify",
                vec![p.clone()],
                &msg.message_id,
                Auto::Generated,
            );
            n.agent = Some(p.email);
            n.text = text.to_string();
            if note {
                n.note_by = Some(author.unwrap_or("an agent").to_string());
            }
            n
        })
        .collect()
}

/// An agent's answer, relayed to the customer under the desk's address and
/// in the customer's own thread.
pub(super) fn relay(
    msg: &Inbound,
    ticket: &Ticket,
    config: &Config,
    thread_ids: &[String],
    agent: &str,
    body: &str,
) -> Notice {
    relay_of(&msg.message_id, ticket, config, thread_ids, agent, body)
}

/// [`relay`] of the agent's mail with Message-ID `cause` (which makes the
/// relay's own, so relaying one answer twice queues one mail).
pub(super) fn relay_of(
    cause: &str,
    ticket: &Ticket,
    config: &Config,
    thread_ids: &[String],
    agent: &str,
    body: &str,
) -> Notice {
    let mut n = Notice::new("reply", vec![ticket.requester.clone()], cause, Auto::No);
    if config.agent_mail.cc_participants {
        n.cc = ticket
            .participants
            .iter()
            .filter(|p| !p.eq_ignore_ascii_case(&ticket.requester.email))
            .map(|p| Person {
                name: None,
                email: p.clone(),
            })
            .collect();
    }
    n.continue_thread(thread_ids);
    n.text = body.to_string();
    n.on_behalf_of = Some(agent.to_string());
    n.attachments = true;
    n
}

/// The transcript of an agent's command mail, as debbugs' control server
/// answers: one line per command line, in order, saying it was done or
/// why not and how to write it. `outcomes` are the parsed commands'
/// results, in order. Sent when a command failed (or always, when
/// `agent_mail.transcript = "always"`), one mail for the whole mail.
pub(crate) fn transcript(
    msg: &Inbound,
    ticket: &Ticket,
    agent: &str,
    lines: &[(String, Result<Command, String>)],
    outcomes: &[Result<(), String>],
) -> Notice {
    let mut results = outcomes.iter();
    let mut failed = 0;
    let shown: Vec<String> = lines
        .iter()
        .map(|(text, parsed)| {
            let outcome = match parsed {
                Err(e) => Err(e.clone()),
                Ok(_) => results.next().cloned().unwrap_or(Ok(())),
            };
            let text = crate::decide::collide::excerpt(text, 80);
            match outcome {
                Ok(()) => format!("  {text}: done"),
                Err(e) => {
                    failed += 1;
                    // The errors name their line; here the line is shown
                    // already.
                    let e = e
                        .strip_prefix(&format!("`{text}`: "))
                        .or_else(|| e.strip_prefix(&format!("{text}: ")))
                        .unwrap_or(&e);
                    format!("  {text}: NOT DONE: {e}")
                }
            }
        })
        .collect();
    let mut n = Notice::new(
        "agent_notify",
        vec![Person {
            name: None,
            email: agent.to_string(),
        }],
        &format!("{}/errors", msg.message_id),
        Auto::Generated,
    );
    n.agent = Some(agent.to_string());
    n.in_reply_to = (!msg.message_id_synthetic).then(|| msg.message_id.clone());
    let subject = if failed == 0 {
        format!(
            "[{}] transcript: all {} commands done",
            ticket.reference,
            lines.len()
        )
    } else {
        format!(
            "[{}] transcript: {failed} of {} commands not understood or not done",
            ticket.reference,
            lines.len()
        )
    };
    let after = if failed == 0 {
        String::new()
    } else {
        "\nThe lines NOT DONE changed nothing; the others were applied. Send the corrected lines again in a reply to this mail.\n".to_string()
    };
    n.plain = Some((
        subject,
        format!(
            "Your mail to {} was stored. Its commands, in order:\n\n{}\n{after}\n{}\n",
            ticket.reference,
            shown.join("\n"),
            crate::command::help()
        ),
    ));
    n
}

/// Tells an agent that their mail had nothing of their own to send.
pub(super) fn nothing_sent(msg: &Inbound, ticket: &Ticket, agent: &str) -> Notice {
    let mut n = Notice::new(
        "agent_notify",
        vec![Person {
            name: None,
            email: agent.to_string(),
        }],
        &format!("{}/empty", msg.message_id),
        Auto::Generated,
    );
    n.agent = Some(agent.to_string());
    n.in_reply_to = (!msg.message_id_synthetic).then(|| msg.message_id.clone());
    n.plain = Some((
        format!("[{}] nothing was sent", ticket.reference),
        format!(
            "Your mail to {} was stored, but it had no text of your own above the quoted text, so nothing was sent. Write your answer above the quote and send it again.\n\n{}\n",
            ticket.reference,
            crate::command::help()
        ),
    ));
    n
}

pub(super) fn admin_alert(
    msg: &Inbound,
    ticket: &Ticket,
    config: &Config,
    claimed: &str,
    why: &str,
) -> Option<Notice> {
    let admin = config.desk.admin.clone()?;
    let mut n = Notice::new(
        "agent_notify",
        vec![Person {
            name: None,
            email: admin,
        }],
        &format!("{}/unverified", msg.message_id),
        Auto::Generated,
    );
    n.plain = Some((
        format!("[{}] mail claiming to be from agent {claimed} was not relayed", ticket.reference),
        format!(
            "A message with From: {claimed} reached {} but {why}.\nIt was stored on the ticket and flagged; nothing was sent to the customer.\n\nMessage-ID: <{}>\nSubject: {}\n\nIf it was really the agent: they should answer the notification mail (its Reply-To carries their token).\n",
            ticket.reference, msg.message_id, msg.subject
        ),
    ));
    Some(n)
}

/// Tells the customer of a status change, when `[status_notices]` says
/// so, in their own thread. `cause` names what changed it (the agent's
/// mail, the admin's request), so the same change decided twice is one
/// mail.
pub(super) fn status_notice(
    cause: &str,
    before: Status,
    t: &Ticket,
    thread_ids: &[String],
    config: &Config,
) -> Option<Notice> {
    let on = &config.status_notices;
    let wanted = before != t.status
        && match t.status {
            Status::Resolved => on.resolved,
            Status::Pending => on.pending,
            Status::Closed => on.closed,
            _ => false,
        };
    // A snooze is the desk's own business (often waiting on someone
    // else): the customer is not told they are being waited on.
    if !wanted || t.spam || t.merged_into.is_some() || t.snoozed_until.is_some() {
        return None;
    }
    let mut n = Notice::new(
        "status",
        vec![t.requester.clone()],
        &format!("{cause}/status/{}", t.status),
        Auto::Generated,
    );
    n.status_change = Some((before, t.status));
    n.continue_thread(thread_ids);
    Some(n)
}

pub(super) fn low_score_alert(
    msg: &Inbound,
    t: &Ticket,
    config: &Config,
    score: u32,
    label: &str,
    comment: Option<&str>,
) -> Vec<Notice> {
    let mut leads: Vec<Person> = config
        .queue_agents(&t.queue)
        .into_iter()
        .filter(|a| a.role.as_deref() == Some("lead"))
        .map(|a| Person {
            name: a.name.clone(),
            email: a.email.clone(),
        })
        .collect();
    if leads.is_empty() {
        if let Some(admin) = &config.desk.admin {
            leads.push(Person {
                name: None,
                email: admin.clone(),
            });
        }
    }
    leads
        .into_iter()
        .map(|p| {
            let mut n = Notice::new(
                "agent_notify",
                vec![p.clone()],
                &format!("{}/low-score", msg.message_id),
                Auto::Generated,
            );
            if config.agent(&p.email).is_some() {
                n.agent = Some(p.email.clone());
            }
            n.plain = Some((
                format!(
                    "[{}] low satisfaction score: {score} ({label})",
                    t.reference
                ),
                format!(
                    "{} rated {} \"{}\" {score} ({label}).\n\nComment: {}\n",
                    t.requester,
                    t.reference,
                    t.subject,
                    comment.unwrap_or("(none)")
                ),
            ));
            n
        })
        .collect()
}

/// The notice for a reply to a closed ticket under the `reject` policy.
pub(super) fn rejection(msg: &Inbound, ticket: &Ticket, own: &[String]) -> Notice {
    let to = msg
        .reply_to
        .clone()
        .filter(|r| !is_own(own, &r.email))
        .unwrap_or_else(|| msg.from.clone());
    let mut n = Notice::new("status_closed", vec![to], &msg.message_id, Auto::Replied);
    n.in_reply_to = (!msg.message_id_synthetic).then(|| msg.message_id.clone());
    n.status_change = Some((ticket.status, ticket.status));
    n
}

/// The acknowledgement of a new ticket, or why there is none. Never for
/// history, never for automatic mail (answering an autoresponder starts a
/// loop), never to the desk itself.
/// `automatic` is the guard's reason when the message is automatic mail.
pub(super) fn acknowledgement(
    msg: &Inbound,
    ctx: &Context<'_>,
    own: &[String],
    automatic: Option<&str>,
) -> Result<Notice, String> {
    if let Mode::Import { .. } = ctx.mode {
        return Err("imported history is never answered".into());
    }
    if ctx.rules.spam {
        return Err("a rule marked it spam".into());
    }
    let template = match &ctx.rules.ack {
        Some(Ack::Suppressed) => return Err("a rule says no acknowledgement".into()),
        Some(Ack::Template(t)) => t.as_str(),
        None => match ctx.ack_template {
            Some(t) => t,
            None => return Err("acknowledgements are off ([ack] enabled = false)".into()),
        },
    };
    if let Some(why) = automatic {
        return Err(format!("automatic mail ({why})"));
    }
    let to = msg
        .reply_to
        .clone()
        .filter(|r| !is_own(own, &r.email))
        .unwrap_or_else(|| msg.from.clone());
    if is_own(own, &to.email) {
        return Err(format!("{} is the desk itself", to.email));
    }
    let (in_reply_to, mut references) = if msg.message_id_synthetic {
        (None, msg.references.clone())
    } else {
        let mut r = msg.references.clone();
        r.push(msg.message_id.clone());
        (Some(msg.message_id.clone()), r)
    };
    // Long threads: the first and the most recent ids are what clients use.
    if references.len() > 20 {
        let tail = references.split_off(references.len() - 19);
        references.truncate(1);
        references.extend(tail);
    }
    let mut n = Notice::new(template, vec![to], &msg.message_id, Auto::Replied);
    n.in_reply_to = in_reply_to;
    n.references = references;
    n.text = msg.text.clone();
    Ok(n)
}
