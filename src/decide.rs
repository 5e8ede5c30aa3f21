//! The pure core of intake: given a parsed message, the threading choice and
//! the ticket it joins (if any), what the store must hold afterwards.
//!
//! No I/O, no clock, no randomness: everything comes in as arguments, so a
//! test can state any situation in a few lines and the shell can apply the
//! result in one transaction. Later issues extend [`Decision`] with outgoing
//! mail and timers; they are written in the same transaction.

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

    fn new(template: &str, to: Vec<Person>, cause: &str, auto: Auto) -> Notice {
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
        }
    }
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

/// What a traced delivery report does: flags for the record, marks for the
/// addresses, and for a hard bounce of mail to a customer a note to the
/// people on the ticket (never to the customer, and never about internal
/// mail, whose bounce would otherwise be answered with more internal mail).
fn bounce_effects(
    msg: &Inbound,
    ticket: &Ticket,
    ctx: &Context<'_>,
    b: &Bounced,
) -> (Vec<String>, Vec<crate::bounce::Mark>, Vec<Notice>) {
    use crate::bounce::{Mark, Severity};
    let mut flags = Vec::new();
    let mut marks = Vec::new();
    let mut hard = Vec::new();
    let kind = b.kind.as_deref().unwrap_or("mail");
    for (r, previous) in &b.recipients {
        let code = r
            .status
            .as_deref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default();
        let said = r
            .diagnostic
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        flags.push(format!(
            "delivery report: {kind} to {} {}{code}{said}",
            r.address,
            r.severity.as_str()
        ));
        if !r.severity.is_failure() {
            continue;
        }
        let internal = ctx.config.agent(&r.address).is_some()
            || ctx
                .config
                .desk
                .admin
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&r.address))
            || is_own(ctx.own_addresses, &r.address);
        let mark = Mark::after(
            previous.clone(),
            r,
            Some(&ticket.reference),
            ctx.now,
            ctx.config.guard.hard_bounce_suppress,
        );
        if r.severity == Severity::Hard {
            if let Some(until) = mark.suppressed_until {
                flags.push(format!(
                    "{} marked: no automatic mail to it until {}",
                    r.address,
                    until.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            if !internal {
                hard.push((r.clone(), mark.suppressed_until));
            }
        }
        marks.push(mark);
    }
    let mut notices = Vec::new();
    if !hard.is_empty() && ctx.mode == Mode::Live {
        let mut to = agents_to_notify(ticket, ctx, None, false);
        if to.is_empty() {
            if let Some(admin) = &ctx.config.desk.admin {
                to.push(Person {
                    name: None,
                    email: admin.clone(),
                });
            }
        }
        let lines: Vec<String> = hard
            .iter()
            .map(|(r, until)| {
                format!(
                    "  {}  {}{}\n    no automatic mail to it until {}",
                    r.address,
                    r.status.as_deref().unwrap_or("(no status code)"),
                    r.diagnostic
                        .as_deref()
                        .map(|d| format!(" {d}"))
                        .unwrap_or_default(),
                    until
                        .map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "-".into())
                )
            })
            .collect();
        let first = &hard[0].0.address;
        for p in to {
            let mut n = Notice::new(
                "agent_notify",
                vec![p.clone()],
                &format!("{}/bounce", msg.message_id),
                Auto::Generated,
            );
            if ctx.config.agent(&p.email).is_some() {
                n.agent = Some(p.email.clone());
            }
            n.plain = Some((
                format!("[{}] mail to {first} bounced", ticket.reference),
                format!(
                    "The {kind} sent for {} \"{}\" could not be delivered; the address does not work:\n\n{}\n\nThe report is stored on the ticket. Reach the customer another way to get a working address; `postdesk addresses clear ADDRESS` lifts the hold sooner, `postdesk addresses list` shows every marked address.\n",
                    ticket.reference,
                    ticket.subject,
                    lines.join("\n")
                ),
            ));
            notices.push(n);
        }
    }
    (flags, marks, notices)
}

/// A recipient of automatic mail the caps and bounce holds apply to: a
/// customer, not an agent, the admin or the desk.
fn capped_recipient(n: &Notice, email: &str, config: &Config, own: &[String]) -> bool {
    n.auto != Auto::No
        && n.agent.is_none()
        && n.plain.is_none()
        && config.agent(email).is_none()
        && !config
            .desk
            .admin
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(email))
        && !is_own(own, email)
}

/// What the caps know of one recipient: the times automatic mail went to
/// it lately, and its bounce mark.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub times: Vec<DateTime<Utc>>,
    pub mark: Option<crate::bounce::Mark>,
}

/// The recipients whose history [`limit`] needs.
pub fn capped_recipients(notices: &[Notice], config: &Config, own: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in notices {
        for p in n.to.iter().chain(n.cc.iter()) {
            let e = p.email.to_ascii_lowercase();
            if capped_recipient(n, &e, config, own) && !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

/// Holds back automatic mail to customers that is over a cap or goes to a
/// hard-bounced address. `sent` has what [`capped_recipients`] asked for
/// and is updated with what goes out; returns why each held mail was held.
pub fn limit(
    notices: &mut Vec<Notice>,
    sent: &mut std::collections::HashMap<String, Sent>,
    config: &Config,
    own: &[String],
    now: DateTime<Utc>,
) -> Vec<String> {
    let limits = &config.guard.auto_mail_limits;
    let mut held = Vec::new();
    notices.retain_mut(|n| {
        let mut keep = |p: &Person, n: &Notice| -> bool {
            let e = p.email.to_ascii_lowercase();
            if !capped_recipient(n, &e, config, own) {
                return true;
            }
            let s = sent.entry(e.clone()).or_default();
            if let Some(m) = s.mark.as_ref().filter(|m| m.suppressed(now)) {
                held.push(format!(
                    "not sent: {} to {e}: the address hard-bounced ({}); held until {}",
                    n.template,
                    m.status.as_deref().unwrap_or("no status"),
                    m.suppressed_until
                        .map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default()
                ));
                return false;
            }
            match crate::caps::check(&s.times, limits, now) {
                Ok(()) => {
                    s.times = crate::caps::record(std::mem::take(&mut s.times), limits, now);
                    true
                }
                Err(l) => {
                    held.push(format!(
                        "not sent: {} to {e}: over the limit of automatic mail to one address ({l})",
                        n.template
                    ));
                    false
                }
            }
        };
        let snapshot = n.clone();
        n.to.retain(|p| keep(p, &snapshot));
        n.cc.retain(|p| keep(p, &snapshot));
        !n.to.is_empty()
    });
    held
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

/// The agents who hear of this message: the assignee, or the queue's
/// agents while unassigned, as the queue's `notify` says; never the agent
/// who wrote it. Notes go to everyone on the ticket's queue.
fn agents_to_notify(
    ticket: &Ticket,
    ctx: &Context<'_>,
    author: Option<&str>,
    note: bool,
) -> Vec<Person> {
    let policy = ctx
        .config
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
            ctx.config
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
        let name = ctx.config.agent(&e).and_then(|a| a.name.clone());
        out.push(Person { name, email: e });
    }
    out
}

/// One `agent_notify` per agent, each with its own signed Reply-To.
fn agent_notices(
    msg: &Inbound,
    ticket: &Ticket,
    ctx: &Context<'_>,
    author: Option<&str>,
    text: &str,
    note: bool,
) -> Vec<Notice> {
    agents_to_notify(ticket, ctx, author, note)
        .into_iter()
        .map(|p| {
            let mut n = Notice::new(
                "agent_notify",
                vec![p.clone()],
                &msg.message_id,
                Auto::Generated,
            );
            n.agent = Some(p.email);
            n.text = if note {
                format!(
                    "Internal note from {}:\n\n{text}",
                    author.unwrap_or("an agent")
                )
            } else {
                text.to_string()
            };
            n
        })
        .collect()
}

/// An agent's answer, relayed to the customer under the desk's address and
/// in the customer's own thread.
fn relay(msg: &Inbound, ticket: &Ticket, ctx: &Context<'_>, agent: &str, body: &str) -> Notice {
    let mut n = Notice::new(
        "reply",
        vec![ticket.requester.clone()],
        &msg.message_id,
        Auto::No,
    );
    if ctx.config.agent_mail.cc_participants {
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
    n.in_reply_to = ctx.thread_ids.last().cloned();
    n.references = ctx.thread_ids.to_vec();
    n.text = body.to_string();
    n.on_behalf_of = Some(agent.to_string());
    n.attachments = true;
    n
}

pub(crate) fn command_errors(
    msg: &Inbound,
    ticket: &Ticket,
    agent: &str,
    errors: &[String],
) -> Notice {
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
    n.plain = Some((
        format!("[{}] some commands were not understood", ticket.reference),
        format!(
            "Your mail to {} was stored, but these lines were not applied:\n\n{}\n\n{}\n",
            ticket.reference,
            errors
                .iter()
                .map(|e| format!("  - {e}"))
                .collect::<Vec<_>>()
                .join("\n"),
            agent::HELP
        ),
    ));
    n
}

/// Tells an agent that their mail had nothing of their own to send.
fn nothing_sent(msg: &Inbound, ticket: &Ticket, agent: &str) -> Notice {
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
            agent::HELP
        ),
    ));
    n
}

fn admin_alert(
    msg: &Inbound,
    ticket: &Ticket,
    ctx: &Context<'_>,
    claimed: &str,
    why: &str,
) -> Option<Notice> {
    let admin = ctx.config.desk.admin.clone()?;
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

/// Tells the customer of a status change, when `[status_notices]` says so.
fn status_notice(msg: &Inbound, before: Status, t: &Ticket, ctx: &Context<'_>) -> Option<Notice> {
    let on = &ctx.config.status_notices;
    let wanted = before != t.status
        && match t.status {
            Status::Resolved => on.resolved,
            Status::Pending => on.pending,
            Status::Closed => on.closed,
            _ => false,
        };
    if !wanted || t.spam {
        return None;
    }
    let mut n = Notice::new(
        "status",
        vec![t.requester.clone()],
        &format!("{}/status/{}", msg.message_id, t.status),
        Auto::Generated,
    );
    n.status_change = Some((before, t.status));
    Some(n)
}

fn low_score_alert(
    msg: &Inbound,
    t: &Ticket,
    ctx: &Context<'_>,
    score: u32,
    label: &str,
    comment: Option<&str>,
) -> Vec<Notice> {
    let mut leads: Vec<Person> = ctx
        .config
        .queue_agents(&t.queue)
        .into_iter()
        .filter(|a| a.role.as_deref() == Some("lead"))
        .map(|a| Person {
            name: a.name.clone(),
            email: a.email.clone(),
        })
        .collect();
    if leads.is_empty() {
        if let Some(admin) = &ctx.config.desk.admin {
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
            if ctx.config.agent(&p.email).is_some() {
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
fn rejection(msg: &Inbound, ticket: &Ticket, ctx: &Context<'_>) -> Notice {
    let to = msg
        .reply_to
        .clone()
        .filter(|r| !is_own(ctx.own_addresses, &r.email))
        .unwrap_or_else(|| msg.from.clone());
    let mut n = Notice::new("status_closed", vec![to], &msg.message_id, Auto::Replied);
    n.in_reply_to = (!msg.message_id_synthetic).then(|| msg.message_id.clone());
    n.status_change = Some((ticket.status, ticket.status));
    n
}

/// The acknowledgement of a new ticket, or why there is none. Never for
/// history, never for automatic mail (answering an autoresponder starts a
/// loop), never to the desk itself.
fn acknowledgement(msg: &Inbound, ctx: &Context<'_>) -> Result<Notice, String> {
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
    if let Some(why) = crate::guard::automatic_reason(msg) {
        return Err(format!("automatic mail ({why})"));
    }
    let to = msg
        .reply_to
        .clone()
        .filter(|r| !is_own(ctx.own_addresses, &r.email))
        .unwrap_or_else(|| msg.from.clone());
    if is_own(ctx.own_addresses, &to.email) {
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
