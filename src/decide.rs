//! The pure core of intake: given a parsed message, the threading choice and
//! the ticket it joins (if any), what the store must hold afterwards.
//!
//! No I/O, no clock, no randomness: everything comes in as arguments, so a
//! test can state any situation in a few lines and the shell can apply the
//! result in one transaction. Later issues extend [`Decision`] with outgoing
//! mail and timers; they are written in the same transaction.

use chrono::{DateTime, Utc};

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
}

/// A mail the desk decides to send. The shell renders it with the
/// template of that name and queues it in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub template: String,
    pub to: Vec<Person>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub auto: Auto,
    /// The Message-ID of what caused it: with the template and recipient
    /// it makes the outgoing Message-ID, so deciding twice queues one mail.
    pub cause: String,
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
    let (mut ticket, created, reason) = match (threading, existing) {
        (Threading::Existing(_, reason), Some(t)) => (t, false, reason.clone()),
        _ => (new_ticket(msg, ctx), true, ThreadReason::New),
    };

    let sender_is_participant = ticket.is_participant(&msg.from.email);
    if created || sender_is_participant {
        // People the customer copied may continue the ticket; the desk's own
        // addresses are never participants.
        for p in msg.to.iter().chain(msg.cc.iter()) {
            if !is_own(ctx.own_addresses, &p.email) {
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

    if !created && ctx.mode == Mode::Live {
        // A customer writing again means the desk owes an answer.
        if matches!(
            ticket.status,
            Status::Pending | Status::Resolved | Status::Closed
        ) {
            ticket.status = Status::Open;
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

    let (notices, ack_suppressed) = if created {
        match acknowledgement(msg, ctx) {
            Ok(n) => (vec![n], None),
            Err(why) => (Vec::new(), Some(why)),
        }
    } else {
        (Vec::new(), None)
    };

    Decision {
        ticket,
        created,
        record,
        remember_references,
        notices,
        ack_suppressed,
    }
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
    Ok(Notice {
        template: template.to_string(),
        to: vec![to],
        in_reply_to,
        references,
        auto: Auto::Replied,
        cause: msg.message_id.clone(),
    })
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
mod tests {
    use super::*;
    use crate::mail::parse;

    static NO_RULES: std::sync::LazyLock<Classification> =
        std::sync::LazyLock::new(Classification::default);

    fn ctx<'a>(tags: &'a TagMatcher, own: &'a [String], mode: Mode) -> Context<'a> {
        Context {
            prefix: "ACME",
            own_addresses: own,
            tags,
            default_category: "general",
            default_priority: Priority::Normal,
            inbox: "main",
            queue: "general",
            origin: "test",
            mode,
            next_number: 7,
            now: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            ack_template: Some("ack"),
            rules: &NO_RULES,
            assignee: None,
        }
    }

    fn msg(extra: &str) -> Inbound {
        let raw = format!(
            "From: Carol <carol@customer.test>\r\nTo: support@desk.test, Dave <dave@customer.test>\r\nCc: support+ACME-1.abc@desk.test\r\nSubject: Re: [ACME-3] Printer down\r\nMessage-ID: <m1@customer.test>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0000\r\n{extra}\r\nIt is on fire.\r\n"
        );
        parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn new_ticket_from_a_customer() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let c = ctx(&tags, &own, Mode::Live);
        let d = intake(&msg(""), &Threading::New, None, &[], &c);
        assert!(d.created);
        assert_eq!(d.ticket.reference, "ACME-7");
        assert_eq!(d.ticket.subject, "Printer down");
        assert_eq!(d.ticket.status, Status::New);
        assert_eq!(
            d.ticket.participants,
            vec!["carol@customer.test", "dave@customer.test"]
        );
        assert_eq!(d.record.seq, 0);
        assert_eq!(d.ticket.message_count, 1);
    }

    #[test]
    fn reply_reopens_and_remembers_unknown_references() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let c = ctx(&tags, &own, Mode::Live);
        let first = intake(&msg(""), &Threading::New, None, &[], &c).ticket;
        let mut resolved = first.clone();
        resolved.status = Status::Resolved;
        let m = msg("In-Reply-To: <p1@x>\r\nReferences: <p0@x> <p1@x>\r\n");
        let t = Threading::Existing(
            7,
            ThreadReason::Reference {
                message_id: "p1@x".into(),
            },
        );
        let d = intake(&m, &t, Some(resolved), &["p1@x".to_string()], &c);
        assert!(!d.created);
        assert_eq!(d.ticket.status, Status::Open);
        assert_eq!(d.record.seq, 1);
        assert_eq!(d.remember_references, vec!["p0@x".to_string()]);
    }

    #[test]
    fn import_keeps_history_dates_and_status() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let c = ctx(
            &tags,
            &own,
            Mode::Import {
                status: Status::Closed,
            },
        );
        let d = intake(&msg(""), &Threading::New, None, &[], &c);
        assert_eq!(d.ticket.status, Status::Closed);
        assert!(d.ticket.imported);
        assert_eq!(d.ticket.created.to_rfc3339(), "2026-11-21T09:00:00+00:00");
    }

    #[test]
    fn missing_ticket_falls_back_to_new_rather_than_losing_mail() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let c = ctx(&tags, &own, Mode::Live);
        let t = Threading::Existing(99, ThreadReason::New);
        assert!(intake(&msg(""), &t, None, &[], &c).created);
    }

    #[test]
    fn new_tickets_are_acknowledged_in_the_customers_thread() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let c = ctx(&tags, &own, Mode::Live);
        let d = intake(
            &msg("References: <r0@c>\r\n"),
            &Threading::New,
            None,
            &[],
            &c,
        );
        assert_eq!(d.notices.len(), 1);
        let n = &d.notices[0];
        assert_eq!(n.template, "ack");
        assert_eq!(n.to[0].email, "carol@customer.test");
        assert_eq!(n.in_reply_to.as_deref(), Some("m1@customer.test"));
        assert_eq!(n.references, vec!["r0@c", "m1@customer.test"]);
        assert_eq!(n.auto, Auto::Replied);
    }

    #[test]
    fn no_ack_for_automatic_mail_history_replies_or_when_off() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let live = ctx(&tags, &own, Mode::Live);
        let auto = intake(
            &msg("Auto-Submitted: auto-replied\r\n"),
            &Threading::New,
            None,
            &[],
            &live,
        );
        assert!(auto.notices.is_empty());
        assert!(auto.ack_suppressed.unwrap().contains("automatic"));
        let import = ctx(
            &tags,
            &own,
            Mode::Import {
                status: Status::Open,
            },
        );
        assert!(intake(&msg(""), &Threading::New, None, &[], &import)
            .notices
            .is_empty());
        let mut off = ctx(&tags, &own, Mode::Live);
        off.ack_template = None;
        assert!(intake(&msg(""), &Threading::New, None, &[], &off)
            .notices
            .is_empty());
        let first = intake(&msg(""), &Threading::New, None, &[], &live).ticket;
        let t = Threading::Existing(
            7,
            ThreadReason::Reference {
                message_id: "x".into(),
            },
        );
        assert!(intake(&msg(""), &t, Some(first), &[], &live)
            .notices
            .is_empty());
    }

    #[test]
    fn reply_to_wins_but_never_the_desk_itself() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let c = ctx(&tags, &own, Mode::Live);
        let d = intake(
            &msg("Reply-To: Carol Home <carol@home.test>\r\n"),
            &Threading::New,
            None,
            &[],
            &c,
        );
        assert_eq!(d.notices[0].to[0].email, "carol@home.test");
        let d = intake(
            &msg("Reply-To: support@desk.test\r\n"),
            &Threading::New,
            None,
            &[],
            &c,
        );
        assert_eq!(d.notices[0].to[0].email, "carol@customer.test");
    }

    #[test]
    fn rules_set_the_new_ticket_and_can_choose_or_suppress_the_ack() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let class = Classification {
            category: Some("billing".into()),
            priority: Some(Priority::Urgent),
            queue: Some("money".into()),
            tags: vec!["vip".into()],
            ack: Some(Ack::Template("ack_billing".into())),
            sla: Some("gold".into()),
            matched: vec!["Billing".into()],
            ..Classification::default()
        };
        let mut c = ctx(&tags, &own, Mode::Live);
        c.rules = &class;
        c.assignee = Some("alice@desk.test".into());
        let d = intake(&msg(""), &Threading::New, None, &[], &c);
        let t = &d.ticket;
        assert_eq!(
            (t.category.as_str(), t.priority, t.queue.as_str()),
            ("billing", Priority::Urgent, "money")
        );
        assert_eq!(t.assignee.as_deref(), Some("alice@desk.test"));
        assert_eq!(
            (t.tags.clone(), t.sla.clone()),
            (vec!["vip".to_string()], Some("gold".to_string()))
        );
        assert_eq!(t.matched_rules, vec!["Billing"]);
        assert_eq!(d.record.rules, vec!["Billing"]);
        assert_eq!(d.notices[0].template, "ack_billing");

        let spam = Classification {
            spam: true,
            ..Classification::default()
        };
        c.rules = &spam;
        let d = intake(&msg(""), &Threading::New, None, &[], &c);
        assert!(d.ticket.spam && d.notices.is_empty());
        let quiet = Classification {
            ack: Some(Ack::Suppressed),
            ..Classification::default()
        };
        c.rules = &quiet;
        assert!(intake(&msg(""), &Threading::New, None, &[], &c)
            .notices
            .is_empty());
    }

    #[test]
    fn reply_rules_only_raise_priority_and_add_tags() {
        let tags = TagMatcher::new("ACME");
        let own = vec!["support@desk.test".to_string()];
        let live = ctx(&tags, &own, Mode::Live);
        let mut urgent = intake(&msg(""), &Threading::New, None, &[], &live).ticket;
        urgent.priority = Priority::Urgent;
        let class = Classification {
            priority: Some(Priority::High),
            tags: vec!["still-broken".into()],
            matched: vec!["Still broken".into()],
            ..Classification::default()
        };
        let mut c = ctx(&tags, &own, Mode::Live);
        c.rules = &class;
        let t = Threading::Existing(
            7,
            ThreadReason::Reference {
                message_id: "x".into(),
            },
        );
        let d = intake(&msg(""), &t, Some(urgent.clone()), &[], &c);
        assert_eq!(d.ticket.priority, Priority::Urgent);
        assert_eq!(d.ticket.tags, vec!["still-broken"]);
        let mut normal = urgent;
        normal.priority = Priority::Normal;
        assert_eq!(
            intake(&msg(""), &t, Some(normal), &[], &c).ticket.priority,
            Priority::High
        );
    }

    #[test]
    fn own_addresses_with_tokens_are_own() {
        let own = vec!["support@desk.test".to_string()];
        assert!(is_own(&own, "Support+ACME-1.x@desk.test"));
        assert!(!is_own(&own, "carol@customer.test"));
    }
}
