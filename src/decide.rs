//! The pure core of intake: given a parsed message, the threading choice and
//! the ticket it joins (if any), what the store must hold afterwards.
//!
//! No I/O, no clock, no randomness: everything comes in as arguments, so a
//! test can state any situation in a few lines and the shell can apply the
//! result in one transaction: the ticket, the message's record, the mail it
//! causes and the timers it moves.
//!
//! Here: the decision for one message and the agents' commands. Beside it:
//! `notices` (who is told what), `holds` (automatic mail held back by the
//! caps and bounce marks) and `bounces` (what a traced delivery report
//! does).

use chrono::{DateTime, Utc};

use crate::agent::{self, Author};
use crate::config::Config;
use crate::guard;
use crate::mail::build::Auto;
use crate::mail::subject::{ticket_subject, TagMatcher};
use crate::mail::Inbound;
use crate::rules::{Ack, Classification};
use crate::thread::Threading;
use crate::ticket::{Direction, MessageRecord, Person, Priority, Status, ThreadReason, Ticket};

mod bounces;
mod holds;
mod notices;

use bounces::*;
pub use holds::{capped_recipients, limit, Sent};
pub(crate) use notices::command_errors;
pub use notices::Notice;
use notices::*;

/// Whether mail is live (someone waits for an answer) or history being
/// imported (nothing is answered, dates come from the mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Import { status: Status },
}

/// Everything about the desk and the arrival that a decision depends on.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub prefix: &'a str,
    pub own_addresses: &'a [String],
    pub tags: &'a TagMatcher,
    pub default_category: &'a str,
    pub default_priority: Priority,
    pub inbox: &'a str,
    pub queue: &'a str,
    pub origin: &'a str,
    pub mode: Mode,
    /// The number a new ticket would get.
    pub next_number: u64,
    pub now: DateTime<Utc>,
    /// The acknowledgement template the desk uses when no rule names one;
    /// `None` when acknowledgements are off.
    pub ack_template: Option<&'a str>,
    /// What the rule file said about this message.
    pub rules: &'a Classification,
    /// The agent a rule's `assign` resolved to (round-robin and least-open
    /// need the store, so the shell resolves them).
    pub assignee: Option<String>,
    /// Who wrote the message (the shell weighs the evidence).
    pub author: &'a Author,
    /// What the author wrote, without quoted text and signature.
    pub stripped: &'a str,
    /// Agents, queues and the agent-mail policy.
    pub config: &'a Config,
    /// Message-IDs of the ticket's customer mail, oldest first: a relayed
    /// answer continues the customer's own thread.
    pub thread_ids: &'a [String],
    /// A satisfaction survey answer: the score and the comment.
    pub survey_answer: Option<(u32, Option<String>)>,
    /// A delivery report the shell traced to mail the desk sent.
    pub bounced: Option<Bounced>,
    /// Why the shell put a would-be new ticket into the sender's newest
    /// one (the new-ticket limit), if it did.
    pub flood: Option<String>,
}

/// A delivery report traced to the desk's own mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounced {
    /// How it was traced, for the record.
    pub traced: String,
    /// The kind of mail that bounced (`ack`, `reply`, ...), when known.
    pub kind: Option<String>,
    /// The recipients it reports on, each with the address's mark so far.
    pub recipients: Vec<(crate::bounce::Recipient, Option<crate::bounce::Mark>)>,
}

/// What to write for one stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The ticket as it must be after this message.
    pub ticket: Ticket,
    pub created: bool,
    pub record: MessageRecord,
    /// Message-IDs this message mentions that the desk has never seen: kept
    /// pointing at this ticket so their message, arriving late, finds it.
    pub remember_references: Vec<String>,
    /// Mail to send because of this message.
    pub notices: Vec<Notice>,
    /// Why an acknowledgement was not sent for a new ticket, if it was not.
    pub ack_suppressed: Option<String>,
    /// An agent's `#merge REF`: merge this ticket into that one.
    pub merge_into: Option<String>,
    /// Why the message was kept quiet (automatic, own loop, flood, spam, a
    /// delivery report): stored, but it answers nothing, reopens nothing
    /// and moves no SLA clock.
    pub quiet: Option<String>,
    /// Addresses to mark because of a delivery report.
    pub marks: Vec<crate::bounce::Mark>,
}

/// Decides intake for a message that is not a duplicate. `existing` is the
/// ticket named by `threading` (the shell loads it); when the shell could not
/// find it, the message opens a new ticket rather than being lost.
pub fn intake(
    msg: &Inbound,
    threading: &Threading,
    existing: Option<Ticket>,
    known_references: &[String],
    ctx: &Context<'_>,
) -> Decision {
    let (mut ticket, mut created, mut reason) = match (threading, existing) {
        (Threading::Existing(_, reason), Some(t)) => (t, false, reason.clone()),
        _ => (new_ticket(msg, ctx), true, ThreadReason::New),
    };
    let live = ctx.mode == Mode::Live;
    let mut notices = Vec::new();
    let mut flags = Vec::new();
    let mut internal = false;
    let mut merge_into = None;
    let mut rejected = false;
    let mut marks = Vec::new();

    // The guards first: what they catch is stored and flagged, and answers
    // nothing. Order: the most specific reason wins the record.
    let quiet = if let Some(b) = &ctx.bounced {
        let (f, m, n) = bounce_effects(msg, &ticket, ctx, b);
        flags.extend(f);
        marks = m;
        notices.extend(n);
        Some(format!("delivery report ({})", b.traced))
    } else if let Some(why) = guard::own_loop_reason(msg, ctx.own_addresses) {
        Some(format!("the desk's own mail came back: {why}"))
    } else if let Some(why) = &ctx.flood {
        Some(why.clone())
    } else if let Some(why) = guard::automatic_reason(msg) {
        Some(format!("automatic mail ({why})"))
    } else if ctx.rules.spam && !created {
        Some("a rule marked it spam".to_string())
    } else {
        None
    };
    if let Some(why) = &quiet {
        flags.push(format!("{why}: stored, not answered"));
    }

    // A survey answer is recorded and thanked; it reopens the ticket only
    // when the comment asks for help.
    let survey = match (&ctx.survey_answer, ctx.author, created) {
        (Some(answer), Author::Customer, false) if ticket.survey.is_some() && quiet.is_none() => {
            Some(answer.clone())
        }
        _ => None,
    };
    if let Some((score, comment)) = &survey {
        let labels = ctx.config.survey.labels();
        let label = labels
            .get((*score as usize).saturating_sub(1))
            .cloned()
            .unwrap_or_else(|| score.to_string());
        if let Some(s) = ticket.survey.as_mut() {
            s.score = Some(*score);
            s.label = Some(label.clone());
            s.comment = comment.clone();
            s.answered_at = Some(ctx.now);
        }
        flags.push(format!("survey answer: {score} ({label})"));
        let mut thanks = Notice::new(
            "survey_thanks",
            vec![ticket.requester.clone()],
            &msg.message_id,
            Auto::Replied,
        );
        thanks.in_reply_to = (!msg.message_id_synthetic).then(|| msg.message_id.clone());
        thanks.rating = Some((*score, label.clone()));
        notices.push(thanks);
        if *score <= ctx.config.survey.low_score {
            notices.extend(low_score_alert(
                msg,
                &ticket,
                ctx,
                *score,
                &label,
                comment.as_deref(),
            ));
        }
    }
    let reopen_for_help = survey.as_ref().is_some_and(|(_, c)| {
        ctx.config.survey.reopen_on_help
            && c.as_deref().is_some_and(crate::lifecycle::asks_for_help)
    });

    // A customer writing to a closed ticket, or to a resolved one after
    // the reopen window, gets what the policy says.
    if !created
        && live
        && matches!(ctx.author, Author::Customer)
        && survey.is_none()
        && quiet.is_none()
    {
        match late_reply(&ticket, ctx) {
            Late::No => {}
            Late::Reopen => {}
            Late::NewTicket => {
                let old = ticket.reference.clone();
                ticket = new_ticket(msg, ctx);
                ticket.follows = Some(old);
                created = true;
                reason = ThreadReason::New;
            }
            Late::Reject => {
                rejected = true;
                flags.push(format!(
                    "arrived after the ticket was {}; the customer was asked to write anew",
                    ticket.status
                ));
                notices.push(rejection(msg, &ticket, ctx));
            }
        }
    }

    let sender_is_participant = ticket.is_participant(&msg.from.email);
    if (created || sender_is_participant) && matches!(ctx.author, Author::Customer) {
        // People the customer copied may continue the ticket; the desk's own
        // addresses and agents are never participants.
        for p in msg.to.iter().chain(msg.cc.iter()) {
            if !is_own(ctx.own_addresses, &p.email) && ctx.config.agent(&p.email).is_none() {
                ticket.add_participant(&p.email);
            }
        }
    }

    if !created {
        apply_reply_rules(&mut ticket, ctx);
    }
    for name in &ctx.rules.matched {
        if !ticket.matched_rules.contains(name) {
            ticket.matched_rules.push(name.clone());
        }
    }

    match ctx.author {
        // An agent's out-of-office answering a notification must not reach
        // the customer, nor run as commands: it stays an internal note.
        Author::Agent { .. } if quiet.is_some() => internal = true,
        _ if quiet.is_some() => {}
        Author::Agent {
            email,
            note_address,
        } if !created => {
            let before_status = ticket.status;
            let parsed = agent::parse_commands(ctx.stripped, email);
            internal = *note_address || parsed.commands.contains(&agent::Command::Note);
            for c in &parsed.commands {
                if let Some(target) = apply_command(&mut ticket, c, ctx.now) {
                    merge_into = Some(target);
                }
            }
            if !parsed.errors.is_empty() {
                notices.push(command_errors(msg, &ticket, email, &parsed.errors));
            }
            if parsed.body.is_empty() && parsed.commands.is_empty() && parsed.errors.is_empty() {
                // Nothing of the agent's own (a reply sent with only the
                // quote): nothing goes out, and the agent is told so.
                flags.push("nothing written above the quoted text; nothing sent".into());
                notices.push(nothing_sent(msg, &ticket, email));
            } else if parsed.body.is_empty() {
                // Commands only: the customer hears of a status change when
                // the desk is set to tell them.
                if let Some(n) = status_notice(msg, before_status, &ticket, ctx) {
                    notices.push(n);
                }
            } else if internal {
                flags.push("internal note".into());
                notices.extend(agent_notices(
                    msg,
                    &ticket,
                    ctx,
                    Some(email),
                    &parsed.body,
                    true,
                ));
            } else {
                notices.push(relay(msg, &ticket, ctx, email, &parsed.body));
                ticket.agent_replies += 1;
                if ticket.first_response.is_none() {
                    ticket.first_response = Some(ctx.now);
                }
                let status_commanded = parsed
                    .commands
                    .iter()
                    .any(|c| matches!(c, agent::Command::Status(_)));
                if !status_commanded {
                    set_status(&mut ticket, Status::Pending, ctx.now);
                }
            }
        }
        Author::Unverified { email, why } => {
            flags.push(format!("claims to be agent {email} but {why}; not relayed"));
            notices.extend(admin_alert(msg, &ticket, ctx, email, why));
        }
        Author::Outsider { email } => {
            flags.push(format!("{email} is not a participant of this ticket"));
            if live {
                notices.extend(agent_notices(msg, &ticket, ctx, None, ctx.stripped, false));
            }
        }
        Author::Customer if survey.is_some() && !reopen_for_help => {}
        Author::Customer | Author::Agent { .. } => {
            if !created && live && !rejected {
                // A customer writing again means the desk owes an answer.
                if matches!(
                    ticket.status,
                    Status::Pending | Status::Resolved | Status::Closed
                ) {
                    set_status(&mut ticket, Status::Open, ctx.now);
                }
            }
            if live && !ticket.spam && !rejected {
                notices.extend(agent_notices(msg, &ticket, ctx, None, ctx.stripped, false));
            }
        }
    }

    let received = match ctx.mode {
        Mode::Live => ctx.now,
        Mode::Import { .. } => msg.date.unwrap_or(ctx.now),
    };
    let seq = ticket.message_count;
    ticket.message_count += 1;
    if received > ticket.updated || created {
        ticket.updated = received;
    }

    let record = MessageRecord {
        ticket: ticket.number,
        seq,
        direction: Direction::Inbound,
        message_id: msg.message_id.clone(),
        from: Some(msg.from.clone()),
        to: msg.to.clone(),
        cc: msg.cc.clone(),
        subject: msg.subject.clone(),
        date: msg.date,
        received,
        origin: ctx.origin.to_string(),
        // Derived from the raw bytes when shown; storing it twice would
        // double the store and the write cost of every message.
        text: String::new(),
        attachments: msg.attachments.clone(),
        size: msg.size,
        thread: reason,
        rules: ctx.rules.matched.clone(),
        author: ctx.author.clone(),
        internal,
        flags,
    };

    let remember_references = msg
        .in_reply_to
        .iter()
        .chain(msg.references.iter())
        .filter(|id| **id != msg.message_id && !known_references.contains(id))
        .fold(Vec::new(), |mut acc: Vec<String>, id| {
            if !acc.contains(id) {
                acc.push(id.clone());
            }
            acc
        });

    let mut ack_suppressed = None;
    if let (true, Some(why)) = (created, &quiet) {
        ack_suppressed = Some(why.clone());
    } else if created && !matches!(ctx.author, Author::Customer) {
        ack_suppressed = Some("the sender is not a customer (agent or unverified)".into());
    } else if created {
        match acknowledgement(msg, ctx) {
            Ok(n) => notices.insert(0, n),
            Err(why) => ack_suppressed = Some(why),
        }
    }

    Decision {
        ticket,
        created,
        record,
        remember_references,
        notices,
        ack_suppressed,
        merge_into,
        quiet,
        marks,
    }
}

fn set_status(ticket: &mut Ticket, status: Status, now: DateTime<Utc>) {
    let finished = |s: Status| matches!(s, Status::Resolved | Status::Closed);
    // Closed straight from work counts as resolved then too: reports measure
    // resolution time to it, and the survey and reopen window start there.
    if finished(status) && !finished(ticket.status) {
        ticket.resolved_at = Some(now);
    }
    if finished(ticket.status) && !finished(status) {
        ticket.reopened += 1;
    }
    ticket.status = status;
}

enum Late {
    No,
    Reopen,
    NewTicket,
    Reject,
}

/// What a customer's reply to a finished ticket does: within the reopen
/// window a resolved ticket reopens; after it, or when closed, the policy.
fn late_reply(ticket: &Ticket, ctx: &Context<'_>) -> Late {
    let policy = &ctx.config.agent_mail;
    let within = ticket
        .resolved_at
        .is_some_and(|at| (ctx.now - at).to_std().unwrap_or_default() <= policy.reopen_window);
    match ticket.status {
        Status::Resolved if within => Late::Reopen,
        Status::Resolved | Status::Closed => match policy.after_window.as_str() {
            "reopen" => Late::Reopen,
            "reject" => Late::Reject,
            _ => Late::NewTicket,
        },
        _ => Late::No,
    }
}

/// Applies one command (an agent's by mail, or an admin's `tickets set`);
/// returns a merge target for the shell.
pub fn apply_command(
    ticket: &mut Ticket,
    c: &agent::Command,
    now: DateTime<Utc>,
) -> Option<String> {
    use agent::Command as C;
    match c {
        C::Status(s) => set_status(ticket, *s, now),
        C::Priority(p) => ticket.priority = *p,
        C::Assign(a) => ticket.assignee = Some(a.clone()),
        C::Queue(q) => ticket.queue = q.clone(),
        C::Category(cat) => ticket.category = cat.clone(),
        C::Tag(tags) => {
            for t in tags {
                if !ticket.tags.contains(t) {
                    ticket.tags.push(t.clone());
                }
            }
        }
        C::Untag(tags) => ticket.tags.retain(|t| !tags.contains(t)),
        C::CcAdd(a) => ticket.add_participant(a),
        C::CcRemove(a) => {
            if !a.eq_ignore_ascii_case(&ticket.requester.email) {
                ticket.participants.retain(|p| !p.eq_ignore_ascii_case(a));
            }
        }
        C::Merge(target) => return Some(target.clone()),
        C::Note => {}
    }
    None
}

/// What `on = ["reply"]` rules may change on an existing ticket. Priority
/// only goes up: a reply saying "still broken" must not calm an urgent
/// ticket down because a rule wrote `high`.
fn apply_reply_rules(ticket: &mut Ticket, ctx: &Context<'_>) {
    let r = ctx.rules;
    if let Some(p) = r.priority {
        ticket.priority = ticket.priority.max(p);
    }
    if let Some(c) = &r.category {
        ticket.category = c.clone();
    }
    if let Some(q) = &r.queue {
        ticket.queue = q.clone();
    }
    if let Some(a) = &ctx.assignee {
        ticket.assignee = Some(a.clone());
    }
    if let Some(s) = &r.sla {
        ticket.sla = Some(s.clone());
    }
    for t in &r.tags {
        if !ticket.tags.contains(t) {
            ticket.tags.push(t.clone());
        }
    }
}

fn new_ticket(msg: &Inbound, ctx: &Context<'_>) -> Ticket {
    let (status, when) = match ctx.mode {
        Mode::Live => (Status::New, ctx.now),
        Mode::Import { status } => (status, msg.date.unwrap_or(ctx.now)),
    };
    let mut ticket = Ticket {
        number: ctx.next_number,
        reference: crate::ticket::reference(ctx.prefix, ctx.next_number),
        subject: ticket_subject(ctx.tags, &msg.subject),
        status,
        priority: ctx.rules.priority.unwrap_or(ctx.default_priority),
        category: ctx
            .rules
            .category
            .clone()
            .unwrap_or_else(|| ctx.default_category.to_string()),
        queue: ctx
            .rules
            .queue
            .clone()
            .unwrap_or_else(|| ctx.queue.to_string()),
        assignee: ctx.assignee.clone(),
        tags: ctx.rules.tags.clone(),
        requester: msg.from.clone(),
        participants: Vec::new(),
        inbox: ctx.inbox.to_string(),
        created: when,
        updated: when,
        message_count: 0,
        imported: matches!(ctx.mode, Mode::Import { .. }),
        first_response: None,
        spam: ctx.rules.spam,
        sla: ctx.rules.sla.clone(),
        matched_rules: Vec::new(),
        resolved_at: None,
        merged_into: None,
        merged_from: Vec::new(),
        follows: None,
        pending_since: None,
        reminded: false,
        autoclosed: false,
        survey: None,
        sla_due: Vec::new(),
        timer_due: None,
        agent_replies: 0,
        reopened: 0,
        sla_breaches: Vec::new(),
    };
    ticket.add_participant(&msg.from.email);
    ticket
}

/// True for the desk's addresses, with or without a `+token`.
pub fn is_own(own: &[String], email: &str) -> bool {
    let email = email.to_ascii_lowercase();
    let base = match email.split_once('+') {
        Some((local, rest)) => match rest.rsplit_once('@') {
            Some((_, domain)) => format!("{local}@{domain}"),
            None => email.clone(),
        },
        None => email.clone(),
    };
    own.contains(&base)
}

#[cfg(test)]
mod tests;
