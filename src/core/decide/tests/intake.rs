//! Intake's decisions: new tickets, replies, acknowledgements, the rules, and how a message finds its ticket.

use super::*;

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
    assert_eq!(d.record.as_ref().unwrap().seq, 0);
    assert_eq!(d.ticket.message_count, 1);
}

/// The first message's mood is kept on the ticket, read from what the
/// customer wrote (the stripped text), not from the quoted history; a
/// reply does not change it, and history is not read for it.
#[test]
fn new_ticket_keeps_the_first_messages_sentiment() {
    use crate::mail::sentiment::Sentiment;
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let mut c = ctx(&tags, &own, Mode::Live);
    assert_eq!(
        intake(&msg(""), &Threading::New, None, &[], &c)
            .ticket
            .sentiment,
        Some(Sentiment::Neutral)
    );
    c.stripped = "Third time I write. This is unacceptable, I want my money back!";
    let first = intake(&msg(""), &Threading::New, None, &[], &c).ticket;
    assert_eq!(first.sentiment, Some(Sentiment::Negative));
    c.stripped = "Thank you so much, great support!";
    let reply = intake(
        &msg("In-Reply-To: <p1@x>\r\n"),
        &Threading::Existing(7, ThreadReason::New),
        Some(first),
        &[],
        &c,
    );
    assert!(!reply.created);
    assert_eq!(reply.ticket.sentiment, Some(Sentiment::Negative));
    let c = ctx(
        &tags,
        &own,
        Mode::Import {
            status: Status::Closed,
        },
    );
    assert_eq!(
        intake(&msg(""), &Threading::New, None, &[], &c)
            .ticket
            .sentiment,
        None
    );
}

/// The mood the rules already read is kept, not read again.
#[test]
fn a_new_ticket_takes_the_mood_the_rules_read() {
    use crate::mail::sentiment::Sentiment;
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let rules = Classification {
        first_mood: crate::rules::Aside(Some(Sentiment::Positive)),
        ..Classification::default()
    };
    let mut c = ctx(&tags, &own, Mode::Live);
    c.rules = &rules;
    // The text alone would read negative: what the rules found wins.
    c.stripped = "This is unacceptable, I want my money back!";
    let t = intake(&msg(""), &Threading::New, None, &[], &c).ticket;
    assert_eq!(t.sentiment, Some(Sentiment::Positive));
}

#[test]
fn reply_reopens_and_remembers_unknown_references() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let c = ctx(&tags, &own, Mode::Live);
    let first = intake(&msg(""), &Threading::New, None, &[], &c).ticket;
    let mut resolved = first.clone();
    resolved.status = Status::Resolved;
    resolved.resolved_at = Some(now() - chrono::Duration::days(1));
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
    assert_eq!(d.ticket.reopened, 1, "reports count the reopening");
    assert_eq!(d.record.as_ref().unwrap().seq, 1);
    assert_eq!(d.remember_references, vec!["p0@x".to_string()]);
}

#[test]
fn closing_from_work_counts_as_resolving_and_reopening_is_counted() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let c = ctx(&tags, &own, Mode::Live);
    let mut t = intake(&msg(""), &Threading::New, None, &[], &c).ticket;
    set_status(&mut t, Status::Closed, now());
    assert_eq!(t.resolved_at, Some(now()));
    let later = now() + chrono::Duration::hours(1);
    set_status(&mut t, Status::Resolved, later);
    assert_eq!(t.resolved_at, Some(now()), "still finished since then");
    assert_eq!(t.reopened, 0);
    set_status(&mut t, Status::Open, later);
    set_status(&mut t, Status::Pending, later);
    assert_eq!(t.reopened, 1);
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
    assert_eq!(acks(&d).len(), 1);
    let n = acks(&d)[0];
    assert_eq!(n.template, "ack");
    // The queue's agents hear of it, each with a Reply-To of their own.
    let agents: Vec<_> = d.notices.iter().filter_map(|n| n.agent.clone()).collect();
    assert_eq!(agents, vec!["alice@desk.test", "bob@desk.test"]);
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
    assert!(acks(&auto).is_empty());
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
    assert!(acks(&intake(&msg(""), &Threading::New, None, &[], &off)).is_empty());
    let first = intake(&msg(""), &Threading::New, None, &[], &live).ticket;
    let t = Threading::Existing(
        7,
        ThreadReason::Reference {
            message_id: "x".into(),
        },
    );
    assert!(acks(&intake(&msg(""), &t, Some(first), &[], &live)).is_empty());
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
        assign: Some(crate::rules::Assign::Agent("alice@desk.test".into())),
        ..Classification::default()
    };
    let mut c = ctx(&tags, &own, Mode::Live);
    c.rules = &class;
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
    assert_eq!(d.record.as_ref().unwrap().rules, vec!["Billing"]);
    assert_eq!(d.notices[0].template, "ack_billing");

    let spam = Classification {
        spam: true,
        ..Classification::default()
    };
    c.rules = &spam;
    let d = intake(&msg(""), &Threading::New, None, &[], &c);
    assert!(
        d.ticket.spam && d.notices.is_empty(),
        "spam: no ack, no agent mail"
    );
    let quiet = Classification {
        ack: Some(Ack::Suppressed),
        ..Classification::default()
    };
    c.rules = &quiet;
    assert!(acks(&intake(&msg(""), &Threading::New, None, &[], &c)).is_empty());
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
fn the_address_a_message_was_delivered_to_is_the_desks() {
    let m = msg("Delivered-To: <Help+ACME-1.x@Desk.test>\r\n");
    let own = own_for(&OWN, &m);
    assert!(is_own(&own, "help@desk.test"));
    assert!(!is_own(&own, "dave@customer.test"));
}

#[test]
fn the_caps_are_read_only_when_a_customer_may_get_automatic_mail() {
    let m = msg("");
    let t = a_ticket();
    let customer = Author::Customer;
    assert!(!Decision::caps_for_mail(None, &customer, false, &m).is_empty());
    assert!(Decision::caps_for_mail(Some(&t), &customer, false, &m).is_empty());
    assert!(!Decision::caps_for_mail(Some(&t), &customer, true, &m).is_empty());
    let agent = Author::Agent {
        email: "alice@desk.test".into(),
        note_address: false,
    };
    assert!(!Decision::caps_for_mail(Some(&t), &agent, false, &m).is_empty());
}

#[test]
fn round_robin_takes_the_queues_agents_in_turn() {
    let evidence = |n| AssignEvidence {
        round_robin: n,
        ..AssignEvidence::default()
    };
    let rr = Some(crate::rules::Assign::RoundRobin);
    let (a, c) = assign::pick(rr.as_ref(), "general", &evidence(0), &CONFIG);
    assert_eq!(a.as_deref(), Some("alice@desk.test"));
    assert_eq!(c, vec![("round-robin/general".to_string(), 1)]);
    let (b, _) = assign::pick(rr.as_ref(), "general", &evidence(1), &CONFIG);
    assert_eq!(b.as_deref(), Some("bob@desk.test"));
    let (none, _) = assign::pick(rr.as_ref(), "nobody-here", &evidence(0), &CONFIG);
    assert_eq!(none, None);
    let lo = Some(crate::rules::Assign::LeastOpen);
    let load = AssignEvidence {
        open_load: std::collections::HashMap::from([("alice@desk.test".to_string(), 3)]),
        ..AssignEvidence::default()
    };
    let (least, _) = assign::pick(lo.as_ref(), "general", &load, &CONFIG);
    assert_eq!(least.as_deref(), Some("bob@desk.test"));
}

#[test]
fn a_message_linking_two_tickets_joins_the_younger_into_the_older() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let c = ctx(&tags, &own, Mode::Live);
    let older = intake(&msg(""), &Threading::New, None, &[], &c).ticket;
    let mut younger = older.clone();
    younger.number = 9;
    younger.reference = "ACME-9".into();
    younger.participants.push("erin@customer.test".into());
    younger.merged_from = vec![8];
    let m = msg("In-Reply-To: <p1@x>\r\n");
    let t = Threading::Existing(
        7,
        ThreadReason::ReferencedBy {
            message_id: "m@x".into(),
        },
    );
    let d = super::super::intake(
        super::super::Arrival {
            msg: &m,
            threading: &t,
            existing: Some(older),
            known_references: &["p1@x".to_string()],
            joins: vec![(younger, "p1@x".into())],
        },
        &c,
        &Thread::default(),
        &desk(),
    );
    assert!(!d.created);
    assert_eq!(d.ticket.number, 7);
    assert_eq!(
        d.ticket.merged_from,
        vec![9, 8],
        "earlier merges come along"
    );
    assert!(d.ticket.is_participant("erin@customer.test"));
    let joined = &d.also[0];
    assert_eq!(joined.merged_into, Some(7));
    assert_eq!(joined.status, Status::Closed);
    assert_eq!(joined.timer_due, None, "a joined ticket's clocks stop");
    let flags = &d.record.as_ref().unwrap().flags;
    assert!(
        flags
            .iter()
            .any(|f| f.starts_with("joined ACME-9 into ACME-7")),
        "{flags:?}"
    );
    assert_eq!(d.events.len(), 1);
}

#[test]
fn a_guard_placed_message_joins_nothing() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let c = ctx(&tags, &own, Mode::Live);
    let older = intake(&msg(""), &Threading::New, None, &[], &c).ticket;
    let mut younger = older.clone();
    younger.number = 9;
    let t = Threading::Existing(
        7,
        ThreadReason::Guard {
            why: "flood".into(),
        },
    );
    let d = super::super::intake(
        super::super::Arrival {
            msg: &msg(""),
            threading: &t,
            existing: Some(older),
            known_references: &[],
            joins: vec![(younger, "p1@x".into())],
        },
        &c,
        &Thread::default(),
        &desk(),
    );
    assert!(d.also.is_empty());
}
