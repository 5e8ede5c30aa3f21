//! Unit tests of `decide.rs`.

use super::*;
use crate::mail::parse;

static NO_RULES: std::sync::LazyLock<Classification> =
    std::sync::LazyLock::new(Classification::default);
static CUSTOMER: Author = Author::Customer;
static CONFIG: std::sync::LazyLock<Config> = std::sync::LazyLock::new(|| {
    let text = r#"
[desk]
name = "Acme Support"
address = "support@desk.test"
ticket_prefix = "ACME"
admin = "admin@desk.test"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]
[[agent]]
email = "bob@desk.test"
queues = ["general"]
"#;
    Config::from_toml_with_env(std::path::Path::new("t.toml"), text, Vec::new()).unwrap()
});

static OWN: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| vec!["support@desk.test".to_string()]);
static CALENDARS: std::sync::LazyLock<Calendars> = std::sync::LazyLock::new(Calendars::new);

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn desk() -> Desk<'static> {
    Desk {
        config: &CONFIG,
        calendars: &CALENDARS,
        own: &OWN,
        now: now(),
    }
}

/// The intake decision with an empty thread and the test desk.
fn intake(
    msg: &Inbound,
    threading: &Threading,
    existing: Option<Ticket>,
    known: &[String],
    ctx: &Context<'_>,
) -> Decision {
    super::intake(
        super::Arrival {
            msg,
            threading,
            existing,
            known_references: known,
            joins: Vec::new(),
        },
        ctx,
        &Thread::default(),
        &desk(),
    )
}

fn ctx<'a>(tags: &'a TagMatcher, _own: &'a [String], mode: Mode) -> Context<'a> {
    Context {
        prefix: "ACME",
        tags,
        default_category: "general",
        default_priority: Priority::Normal,
        inbox: "main",
        queue: "general",
        origin: "test",
        mode,
        next_number: 7,
        ack_template: Some("ack"),
        rules: &NO_RULES,
        assign: AssignEvidence::default(),
        author: &CUSTOMER,
        stripped: "It is on fire.",
        survey_answer: None,
        bounced: None,
        flood: None,
        merge_target: None,
        link_targets: Vec::new(),
        macros: Vec::new(),
        answering: None,
        languages: &[],
        remembered_language: None,
        detected_language: None,
        automatic: None,
    }
}

fn msg(extra: &str) -> Inbound {
    let raw = format!(
            "From: Carol <carol@customer.test>\r\nTo: support@desk.test, Dave <dave@customer.test>\r\nCc: support+ACME-1.abc@desk.test\r\nSubject: Re: [ACME-3] Printer down\r\nMessage-ID: <m1@customer.test>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0000\r\n{extra}\r\nIt is on fire.\r\n"
        );
    parse(raw.as_bytes()).unwrap()
}

fn acks(d: &Decision) -> Vec<&Notice> {
    d.notices
        .iter()
        .filter(|n| n.template.starts_with("ack"))
        .collect()
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

fn resolved(c: &Context<'_>) -> Ticket {
    let mut t = intake(&msg(""), &Threading::New, None, &[], c).ticket;
    t.status = Status::Resolved;
    t.resolved_at = Some(now() - chrono::Duration::hours(1));
    t
}

fn by_reference() -> Threading {
    Threading::Existing(
        7,
        ThreadReason::Reference {
            message_id: "x".into(),
        },
    )
}

#[test]
fn automatic_mail_is_stored_but_answers_and_reopens_nothing() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let c = ctx(&tags, &own, Mode::Live);
    for extra in [
        "Auto-Submitted: auto-replied\r\n",
        "Precedence: bulk\r\n",
        "X-Loop: support@desk.test\r\n",
    ] {
        let d = intake(&msg(extra), &by_reference(), Some(resolved(&c)), &[], &c);
        assert_eq!(d.ticket.status, Status::Resolved, "{extra}");
        assert!(d.notices.is_empty(), "{extra}: {:?}", d.notices);
        assert!(d.quiet.is_some(), "{extra}");
        assert!(
            d.record
                .as_ref()
                .unwrap()
                .flags
                .iter()
                .any(|f| f.contains("stored, not answered")),
            "{extra}"
        );
    }
    // The same reply from a person reopens it and tells the agents.
    let d = intake(&msg(""), &by_reference(), Some(resolved(&c)), &[], &c);
    assert_eq!(d.ticket.status, Status::Open);
    assert!(!d.notices.is_empty() && d.quiet.is_none());
}

#[test]
fn the_desks_own_mail_and_floods_open_quiet_tickets() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let c = ctx(&tags, &own, Mode::Live);
    let raw = "From: support@desk.test\r\nTo: support@desk.test\r\nSubject: x\r\nMessage-ID: <l@desk.test>\r\n\r\nloop\r\n";
    let d = intake(
        &parse(raw.as_bytes()).unwrap(),
        &Threading::New,
        None,
        &[],
        &c,
    );
    assert!(d.notices.is_empty());
    assert!(d
        .ack_suppressed
        .unwrap()
        .contains("the desk's own mail came back"));

    let mut c = ctx(&tags, &own, Mode::Live);
    c.flood = Some("carol is over the new-ticket limit (20 in 1h)".into());
    let mut open = resolved(&c);
    open.status = Status::Open;
    let d = intake(&msg(""), &by_reference(), Some(open), &[], &c);
    assert!(d.notices.is_empty(), "a flood notifies nobody");
    assert!(d.record.as_ref().unwrap().flags[0].contains("new-ticket limit"));
}

#[test]
fn an_agents_out_of_office_is_never_relayed() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let agent = Author::Agent {
        email: "alice@desk.test".into(),
        note_address: false,
    };
    let mut c = ctx(&tags, &own, Mode::Live);
    let mut open = resolved(&c);
    open.status = Status::Open;
    c.author = &agent;
    c.stripped = "I am away until Monday.";
    let raw = "From: alice@desk.test\r\nTo: support@desk.test\r\nSubject: Automatic reply: [ACME-7] Printer down\r\nMessage-ID: <oof@desk.test>\r\n\r\nI am away until Monday.\r\n";
    let d = intake(
        &parse(raw.as_bytes()).unwrap(),
        &by_reference(),
        Some(open),
        &[],
        &c,
    );
    assert!(d.notices.is_empty(), "{:?}", d.notices);
    assert!(d.record.as_ref().unwrap().internal);
    assert_eq!(d.ticket.status, Status::Open);
}

#[test]
fn spam_replies_are_kept_quiet() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let spam = Classification {
        spam: true,
        ..Classification::default()
    };
    let mut c = ctx(&tags, &own, Mode::Live);
    let t = resolved(&c);
    c.rules = &spam;
    let d = intake(
        &msg("X-Spam-Flag: YES\r\n"),
        &by_reference(),
        Some(t),
        &[],
        &c,
    );
    assert!(d.notices.is_empty());
    assert_eq!(d.ticket.status, Status::Resolved);
    assert!(d.quiet.unwrap().contains("spam"));
}

fn recipient(address: &str, severity: crate::bounce::Severity) -> crate::bounce::Recipient {
    crate::bounce::Recipient {
        address: address.into(),
        severity,
        status: Some("5.1.1".into()),
        diagnostic: Some("no such user".into()),
    }
}

#[test]
fn hard_bounces_mark_the_address_and_tell_the_agents_not_the_customer() {
    use crate::bounce::Severity;
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let mut c = ctx(&tags, &own, Mode::Live);
    let t = resolved(&c);
    c.bounced = Some(Bounced {
        traced: "envelope token of outbox mail 3".into(),
        kind: Some("ack".into()),
        recipients: vec![(recipient("carol@customer.test", Severity::Hard), None)],
    });
    let dsn = "From: MAILER-DAEMON@mx.test\r\nTo: support+bounce.3.x@desk.test\r\nSubject: Undelivered Mail\r\nMessage-ID: <b1@mx.test>\r\n\r\nreport\r\n";
    let d = intake(
        &parse(dsn.as_bytes()).unwrap(),
        &by_reference(),
        Some(t.clone()),
        &[],
        &c,
    );
    assert_eq!(d.ticket.status, Status::Resolved);
    assert_eq!(d.marks.len(), 1);
    assert_eq!(d.marks[0].address, "carol@customer.test");
    assert!(d.marks[0].suppressed(now()));
    let to: Vec<_> = d.notices.iter().map(|n| n.to[0].email.as_str()).collect();
    assert_eq!(to, vec!["alice@desk.test", "bob@desk.test"]);
    assert!(d
        .notices
        .iter()
        .all(|n| n.plain.as_ref().unwrap().0.contains("bounced")));
    assert!(d
        .record
        .as_ref()
        .unwrap()
        .flags
        .iter()
        .any(|f| f.contains("ack to carol@customer.test hard bounce 5.1.1")));

    // Soft bounces, delays and successes are noted, nobody is told.
    for sev in [Severity::Soft, Severity::Delayed, Severity::Delivered] {
        c.bounced = Some(Bounced {
            traced: "x".into(),
            kind: None,
            recipients: vec![(recipient("carol@customer.test", sev), None)],
        });
        let d = intake(
            &parse(dsn.as_bytes()).unwrap(),
            &by_reference(),
            Some(t.clone()),
            &[],
            &c,
        );
        assert!(d.notices.is_empty(), "{sev:?}");
        assert_eq!(d.marks.len(), usize::from(sev == Severity::Soft), "{sev:?}");
        assert!(d.marks.iter().all(|m| !m.suppressed(now())));
    }
    // An agent's own address bouncing is marked, but answered with no
    // more internal mail (which would bounce again).
    c.bounced = Some(Bounced {
        traced: "x".into(),
        kind: Some("agent_notify".into()),
        recipients: vec![(recipient("alice@desk.test", Severity::Hard), None)],
    });
    let d = intake(
        &parse(dsn.as_bytes()).unwrap(),
        &by_reference(),
        Some(t),
        &[],
        &c,
    );
    assert!(d.notices.is_empty());
    assert_eq!(d.marks.len(), 1);
}

#[test]
fn caps_and_bounce_holds_apply_to_automatic_mail_to_customers_only() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let c = ctx(&tags, &own, Mode::Live);
    let fresh = || intake(&msg(""), &Threading::New, None, &[], &c).notices;
    // Nothing sent lately: the ack and both agent notices go.
    let mut n = fresh();
    let mut sent = std::collections::HashMap::new();
    assert!(limit(&mut n, &mut sent, &CONFIG, &own, now()).is_empty());
    assert_eq!(n.len(), 3);
    assert_eq!(sent["carol@customer.test"].times, vec![now()]);
    assert!(!sent.contains_key("alice@desk.test"));
    // Five in the last ten minutes: the ack is held, agents still hear.
    let recent: Vec<_> = (1..=5)
        .map(|i| now() - chrono::Duration::minutes(i))
        .collect();
    let mut sent = std::collections::HashMap::from([(
        "carol@customer.test".to_string(),
        Sent {
            times: recent,
            mark: None,
        },
    )]);
    let mut n = fresh();
    let held = limit(&mut n, &mut sent, &CONFIG, &own, now());
    assert_eq!(held.len(), 1);
    assert!(held[0].contains("over the limit of automatic mail to one address (5 in 10m)"));
    assert!(n.iter().all(|n| n.template == "agent_notify"));
    // A hard-bounced address gets no automatic mail until the hold ends.
    let r = recipient("carol@customer.test", crate::bounce::Severity::Hard);
    let mark =
        crate::bounce::Mark::after(None, &r, None, now(), std::time::Duration::from_secs(3600));
    let mut sent = std::collections::HashMap::from([(
        "carol@customer.test".to_string(),
        Sent {
            times: Vec::new(),
            mark: Some(mark),
        },
    )]);
    let mut n = fresh();
    let held = limit(&mut n, &mut sent, &CONFIG, &own, now());
    assert!(held[0].contains("hard-bounced (5.1.1)"), "{held:?}");
    let mut n = fresh();
    let later = now() + chrono::Duration::hours(2);
    assert!(limit(&mut n, &mut sent, &CONFIG, &own, later).is_empty());
}

#[test]
fn own_addresses_with_tokens_are_own() {
    let own = vec!["support@desk.test".to_string()];
    assert!(is_own(&own, "Support+ACME-1.x@desk.test"));
    assert!(!is_own(&own, "carol@customer.test"));
}

/// A ticket as intake leaves it, for the decisions that follow.
fn a_ticket() -> Ticket {
    let tags = TagMatcher::new("ACME");
    let c = ctx(&tags, &OWN, Mode::Live);
    intake(&msg(""), &Threading::New, None, &[], &c).ticket
}

fn thread_of(ids: &[&str]) -> Thread {
    Thread {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        sent: std::collections::HashMap::from([(
            "carol@customer.test".to_string(),
            Sent::default(),
        )]),
    }
}

fn request(commands: Vec<Command>) -> Request {
    Request {
        commands,
        merge_target: None,
        merge_asked: None,
        link_targets: Vec::new(),
        macros: Vec::new(),
        languages: vec!["en".into(), "de".into(), "fr".into()],
    }
}

#[test]
fn an_admins_status_change_settles_the_lifecycle_and_tells_the_customer_in_their_thread() {
    let t = a_ticket();
    let d = decide(
        Event::Request {
            ticket: Box::new(t.clone()),
            request: request(vec![Command::Status(Status::Pending)]),
        },
        &thread_of(&["m1@customer.test"]),
        &desk(),
    );
    assert_eq!(d.ticket.status, Status::Pending);
    assert_eq!(
        d.ticket.pending_since,
        Some(now()),
        "the follow-up clock runs"
    );
    assert!(d.ticket.timer_due.is_some());
    assert!(d.notices.is_empty(), "pending notices are off by default");

    let d = decide(
        Event::Request {
            ticket: Box::new(t),
            request: request(vec![Command::Status(Status::Resolved)]),
        },
        &thread_of(&["m0@customer.test", "m1@customer.test"]),
        &desk(),
    );
    assert_eq!(d.ticket.resolved_at, Some(now()));
    assert_eq!(d.notices.len(), 1);
    let n = &d.notices[0];
    assert_eq!(n.template, "status");
    assert_eq!(n.in_reply_to.as_deref(), Some("m1@customer.test"));
    assert_eq!(n.references, vec!["m0@customer.test", "m1@customer.test"]);
    assert_eq!(d.sent.len(), 1, "the caps count the notice");
}

#[test]
fn a_request_with_an_unknown_assignee_changes_nothing() {
    let t = a_ticket();
    let d = decide(
        Event::Request {
            ticket: Box::new(t.clone()),
            request: request(vec![
                Command::Priority(Priority::High),
                Command::Assign("carol@example.com".into()),
            ]),
        },
        &Thread::default(),
        &desk(),
    );
    assert_eq!(d.ticket, t);
    assert_eq!(d.refused.len(), 1);
    assert!(
        d.refused[0].contains("alice@desk.test, bob@desk.test"),
        "{:?}",
        d.refused
    );
}

#[test]
fn a_merge_closes_one_ticket_into_the_other() {
    let t = a_ticket();
    let mut into = t.clone();
    into.number = 3;
    into.reference = "ACME-3".into();
    let d = decide(
        Event::Request {
            ticket: Box::new(t),
            request: Request {
                commands: vec![Command::Merge("ACME-3".into())],
                merge_target: Some(into),
                merge_asked: Some("ACME-3".into()),
                link_targets: Vec::new(),
                macros: Vec::new(),
                languages: Vec::new(),
            },
        },
        &Thread::default(),
        &desk(),
    );
    assert_eq!(d.ticket.merged_into, Some(3));
    assert_eq!(d.ticket.status, Status::Closed);
    assert_eq!(d.ticket.timer_due, None, "a merged ticket has no timers");
    assert_eq!(d.also[0].merged_from, vec![7]);
}

#[test]
fn timer_mail_continues_the_thread_and_the_survey_knows_its_message_id() {
    let mut t = a_ticket();
    set_status(&mut t, Status::Resolved, now() - chrono::Duration::days(1));
    let d = decide(
        Event::Timer {
            ticket: Box::new(t),
            due: Due {
                survey_addresses: vec![(1, "support+s1@desk.test".into())],
            },
        },
        &thread_of(&["m1@customer.test"]),
        &desk(),
    );
    let survey = d
        .notices
        .iter()
        .find(|n| n.template == "survey")
        .expect("a survey");
    assert_eq!(survey.in_reply_to.as_deref(), Some("m1@customer.test"));
    let id = d.ticket.survey.as_ref().map(|s| s.message_id.clone());
    assert_eq!(id, Some(survey.message_id("ACME-7", &CONFIG)));
}

#[test]
fn a_campaign_notice_is_held_like_any_automatic_mail() {
    let t = a_ticket();
    let campaign = Campaign {
        template: "notice_outage".into(),
        id: "outage-1".into(),
        to: t.requester.clone(),
    };
    let mut thread = thread_of(&["m1@customer.test"]);
    let d = decide(
        Event::Notice {
            ticket: Box::new(t.clone()),
            campaign: campaign.clone(),
        },
        &thread,
        &desk(),
    );
    assert_eq!(d.notices.len(), 1);
    assert_eq!(
        d.notices[0].in_reply_to.as_deref(),
        Some("m1@customer.test")
    );
    if let Some(s) = thread.sent.get_mut("carol@customer.test") {
        s.times = (1..=5)
            .map(|i| now() - chrono::Duration::minutes(i))
            .collect();
    }
    let d = decide(
        Event::Notice {
            ticket: Box::new(t),
            campaign,
        },
        &thread,
        &desk(),
    );
    assert!(d.notices.is_empty());
    assert!(d.events[0].contains("over the limit"), "{:?}", d.events);
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
    let d = super::intake(
        super::Arrival {
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
    let d = super::intake(
        super::Arrival {
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

/// Ticket 7 with Carol's first message (seq 0), open, and an agent's
/// answer to it as `agent` writes it, answering a notification that had
/// seen `seen` messages.
fn agent_answer(
    agent: &str,
    id: &str,
    stripped: &str,
    answering: Option<Answering>,
    ticket: Ticket,
) -> Decision {
    agent_answer_with(agent, id, stripped, answering, ticket, Vec::new())
}

fn agent_answer_with(
    agent: &str,
    id: &str,
    stripped: &str,
    answering: Option<Answering>,
    ticket: Ticket,
    macros: Vec<crate::command::Macro>,
) -> Decision {
    let tags = TagMatcher::new("ACME");
    let author = Author::Agent {
        email: agent.into(),
        note_address: false,
    };
    let mut c = ctx(&tags, &OWN, Mode::Live);
    c.author = &author;
    c.stripped = stripped;
    c.answering = answering;
    c.macros = macros;
    let raw = format!(
        "From: {agent}\r\nTo: support@desk.test\r\nSubject: Re: [ACME-7] Printer down\r\nMessage-ID: <{id}>\r\n\r\n{stripped}\r\n"
    );
    super::intake(
        super::Arrival {
            msg: &parse(raw.as_bytes()).unwrap(),
            threading: &by_reference(),
            existing: Some(ticket),
            known_references: &[],
            joins: Vec::new(),
        },
        &c,
        &thread_of(&["m1@customer.test"]),
        &desk(),
    )
}

fn kinds(d: &Decision) -> Vec<(String, String)> {
    d.notices
        .iter()
        .map(|n| (n.template.clone(), n.to[0].email.clone()))
        .collect()
}

#[test]
fn an_answer_to_a_current_notification_is_relayed() {
    let t = a_ticket();
    let answering = Answering {
        seen: 1,
        since: Vec::new(),
    };
    let d = agent_answer(
        "alice@desk.test",
        "a1@desk.test",
        "Unplug it.",
        Some(answering),
        t,
    );
    assert_eq!(
        kinds(&d),
        vec![("reply".to_string(), "carol@customer.test".to_string())]
    );
    assert!(d.ticket.held.is_empty());
    assert!(d.record.as_ref().unwrap().relayed);
}

#[test]
fn a_second_agents_answer_to_the_same_notification_is_held_then_sent() {
    let t = a_ticket();
    // Bob answers the notification that saw Carol's message.
    let seen_one = || Answering {
        seen: 1,
        since: Vec::new(),
    };
    let bob = agent_answer(
        "bob@desk.test",
        "b1@desk.test",
        "Unplug it.",
        Some(seen_one()),
        t,
    );
    assert_eq!(kinds(&bob)[0].0, "reply");
    let bob_record = bob.record.clone().unwrap();
    // Alice answers the same notification afterwards.
    let since = Answering {
        seen: 1,
        since: vec![(bob_record, "Unplug it.".to_string())],
    };
    let alice = agent_answer(
        "alice@desk.test",
        "a1@desk.test",
        "#priority high\nCall the fire brigade.",
        Some(since),
        bob.ticket,
    );
    assert_eq!(
        kinds(&alice),
        vec![("agent_notify".to_string(), "alice@desk.test".to_string())],
        "the customer gets nothing; Alice gets the hold notice"
    );
    assert_eq!(
        alice.ticket.priority,
        Priority::High,
        "commands still apply"
    );
    let notice = &alice.notices[0];
    assert_eq!(
        notice.agent.as_deref(),
        Some("alice@desk.test"),
        "her token"
    );
    let (subject, body) = notice.plain.clone().unwrap();
    assert!(subject.contains("held"), "{subject}");
    assert!(
        body.contains("bob@desk.test answered at 10:00: \"Unplug it.\""),
        "{body}"
    );
    assert!(body.contains("| Call the fire brigade."), "{body}");
    assert!(body.contains("#send"), "{body}");
    assert_eq!(alice.ticket.held.len(), 1);
    let held = &alice.ticket.held[0];
    assert_eq!(held.text, "Call the fire brigade.");
    assert_eq!(held.seq, 2);
    assert_eq!(held.expires, now() + chrono::Duration::days(1));
    assert!(!alice.record.as_ref().unwrap().relayed);
    assert_eq!(alice.ticket.agent_replies, 1, "only Bob's answer counts");

    // `#send` in reply to the hold notice releases it as written, with the
    // Message-ID it would have had and the held mail's files.
    let fresh = Answering {
        seen: 3,
        since: Vec::new(),
    };
    let send = agent_answer(
        "alice@desk.test",
        "a2@desk.test",
        "#send",
        Some(fresh),
        alice.ticket,
    );
    assert_eq!(
        kinds(&send),
        vec![("reply".to_string(), "carol@customer.test".to_string())]
    );
    let relay = &send.notices[0];
    assert_eq!(relay.text, "Call the fire brigade.");
    assert_eq!(relay.cause, "a1@desk.test");
    assert_eq!(relay.attachments_of, Some((7, 2)));
    assert_eq!(relay.on_behalf_of.as_deref(), Some("alice@desk.test"));
    assert!(send.ticket.held.is_empty());
    assert_eq!(send.ticket.agent_replies, 2);
    assert!(send.record.as_ref().unwrap().relayed);

    // Nothing left to send: an error back to Alice, nothing to Carol.
    let again = agent_answer(
        "alice@desk.test",
        "a3@desk.test",
        "#send",
        None,
        send.ticket,
    );
    assert_eq!(
        kinds(&again),
        vec![("agent_notify".to_string(), "alice@desk.test".to_string())]
    );
    assert!(again.notices[0]
        .plain
        .as_ref()
        .unwrap()
        .1
        .contains("no held answer"));
}

#[test]
fn a_newer_customer_message_holds_an_answer_but_not_a_note_or_the_agents_own() {
    let t = a_ticket();
    let tags = TagMatcher::new("ACME");
    let c = ctx(&tags, &OWN, Mode::Live);
    let carol = intake(
        &msg("In-Reply-To: <m0@customer.test>\r\n"),
        &by_reference(),
        Some(t),
        &[],
        &c,
    );
    let record = carol.record.clone().unwrap();
    let since = || Answering {
        seen: 1,
        since: vec![(record.clone(), "Never mind, it is out.".to_string())],
    };
    let held = agent_answer(
        "alice@desk.test",
        "a1@desk.test",
        "Evacuate!",
        Some(since()),
        carol.ticket.clone(),
    );
    let body = held.notices[0].plain.clone().unwrap().1;
    assert!(
        body.contains("the customer wrote at 10:00: \"Never mind, it is out.\""),
        "{body}"
    );

    let note = agent_answer(
        "alice@desk.test",
        "a2@desk.test",
        "#note\nIt is out.",
        Some(since()),
        carol.ticket.clone(),
    );
    assert!(note.ticket.held.is_empty());
    assert!(note
        .notices
        .iter()
        .all(|n| n.template == "agent_notify" && n.plain.is_none()));

    let commands = agent_answer(
        "alice@desk.test",
        "a3@desk.test",
        "#status resolved",
        Some(since()),
        carol.ticket.clone(),
    );
    assert!(commands.ticket.held.is_empty());
    assert_eq!(commands.ticket.status, Status::Resolved);

    // An answer that names no notification is never held.
    let unknown = agent_answer(
        "alice@desk.test",
        "a4@desk.test",
        "Evacuate!",
        None,
        carol.ticket,
    );
    assert_eq!(kinds(&unknown)[0].0, "reply");
}

#[test]
fn a_held_answer_expires() {
    let mut t = a_ticket();
    t.held.push(crate::ticket::Held {
        agent: "alice@desk.test".into(),
        message_id: "a1@desk.test".into(),
        seq: 1,
        at: now() - chrono::Duration::days(2),
        expires: now() - chrono::Duration::days(1),
        text: "Old news.".into(),
        macro_answer: None,
    });
    let d = agent_answer("alice@desk.test", "a2@desk.test", "#send", None, t);
    assert!(d.ticket.held.is_empty(), "gone");
    assert!(d.notices.iter().all(|n| n.template != "reply"));
    assert!(d.notices[0].plain.as_ref().unwrap().1.contains("#send"));
}

#[test]
fn a_command_mail_gets_one_transcript_when_a_line_fails() {
    let d = agent_answer(
        "alice@desk.test",
        "a1@desk.test",
        "#priority high\n#assign nobody@x.test\n#status someday\n#send\nHello Carol.",
        None,
        a_ticket(),
    );
    let back: Vec<&Notice> = d.notices.iter().filter(|n| n.plain.is_some()).collect();
    assert_eq!(back.len(), 1, "one transcript: {:?}", kinds(&d));
    let (subject, body) = back[0].plain.clone().unwrap();
    assert!(subject.contains("3 of 4 commands"), "{subject}");
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    let at = |l: &str| {
        lines
            .iter()
            .position(|x| x.starts_with(&format!("{l}: ")))
            .unwrap_or_else(|| panic!("{l}: {body}"))
    };
    assert_eq!(lines[at("#priority high")], "#priority high: done");
    assert!(lines[at("#assign nobody@x.test")]
        .starts_with("#assign nobody@x.test: NOT DONE: not an agent of this desk; the agents are"));
    assert!(lines[at("#status someday")].contains("NOT DONE: status is one of"));
    assert!(lines[at("#send")].contains("NOT DONE: you have no held answer"));
    assert!(at("#priority high") < at("#assign nobody@x.test"));
    assert!(at("#assign nobody@x.test") < at("#status someday"));
    assert_eq!(d.ticket.priority, Priority::High);
    assert_eq!(kinds(&d).iter().filter(|(k, _)| k == "reply").count(), 1);

    // Nothing failed: no transcript, unless the desk always wants one.
    let quiet = agent_answer(
        "alice@desk.test",
        "a2@desk.test",
        "#priority high",
        None,
        a_ticket(),
    );
    assert!(
        quiet.notices.iter().all(|n| n.plain.is_none()),
        "{:?}",
        kinds(&quiet)
    );
}

#[test]
fn a_link_names_each_ticket_on_the_other_and_due_and_time_are_kept() {
    let t = a_ticket();
    let mut other = t.clone();
    other.number = 3;
    other.reference = "ACME-3".into();
    let mut r = request(vec![
        Command::Link("acme-3".into()),
        Command::Due(crate::command::DueDate::Next(chrono::Weekday::Fri)),
        Command::Time("admin@desk.test".into(), 25),
        Command::Time("admin@desk.test".into(), 5),
    ]);
    r.link_targets = vec![("acme-3".into(), other)];
    let d = decide(
        Event::Request {
            ticket: Box::new(t.clone()),
            request: r,
        },
        &Thread::default(),
        &desk(),
    );
    assert!(d.refused.is_empty(), "{:?}", d.refused);
    assert_eq!(d.ticket.links, vec!["ACME-3".to_string()]);
    assert_eq!(d.also.len(), 1);
    assert_eq!(d.also[0].links, vec!["ACME-7".to_string()]);
    // 2026-11-22 is a Sunday: the next Friday is the 27th.
    assert_eq!(
        d.ticket.due.map(|d| d.to_string()).as_deref(),
        Some("2026-11-27")
    );
    assert_eq!(d.ticket.time_worked.get("admin@desk.test"), Some(&30));

    // A link to nothing is refused, and nothing changes.
    let d = decide(
        Event::Request {
            ticket: Box::new(t),
            request: request(vec![Command::Link("ACME-99".into())]),
        },
        &Thread::default(),
        &desk(),
    );
    assert!(d.refused[0].contains("no such ticket"), "{:?}", d.refused);
    assert!(d.ticket.links.is_empty());
}

fn macros() -> Vec<crate::command::Macro> {
    vec![crate::command::Macro {
        name: "need-more-info".into(),
        commands: vec!["priority low".into(), "tag waiting".into()],
    }]
}

#[test]
fn a_snooze_is_pending_without_reminders_and_wakes_the_assignee_at_its_time() {
    let mut t = a_ticket();
    t.assignee = Some("alice@desk.test".into());
    let d = agent_answer("alice@desk.test", "s1@desk.test", "#snooze 3d", None, t);
    let at = now() + chrono::Duration::days(3);
    assert_eq!(d.ticket.status, Status::Pending);
    assert_eq!(d.ticket.snoozed_until, Some(at));
    // The only deadline is the wake: no follow-up, no auto-close.
    assert_eq!(
        crate::lifecycle::next_due(
            &{
                let mut x = d.ticket.clone();
                x.sla_due.clear();
                x
            },
            &CONFIG
        ),
        Some(at)
    );
    assert!(
        d.notices.iter().all(|n| n.template != "status"),
        "{:?}",
        kinds(&d)
    );

    // Long past the follow-up and auto-close times, before the wake: nothing.
    let mut asleep = d.ticket.clone();
    asleep.sla_due.clear();
    let early = Desk {
        now: at - chrono::Duration::seconds(1),
        ..desk()
    };
    let quiet = decide(
        Event::Timer {
            ticket: Box::new(asleep.clone()),
            due: Due::default(),
        },
        &Thread::default(),
        &early,
    );
    assert_eq!(quiet.ticket.status, Status::Pending);
    assert!(quiet.notices.is_empty(), "{:?}", kinds(&quiet));

    // At its time: open again, and the assignee is told, once.
    let late = Desk { now: at, ..desk() };
    let woke = decide(
        Event::Timer {
            ticket: Box::new(asleep.clone()),
            due: Due::default(),
        },
        &Thread::default(),
        &late,
    );
    assert_eq!(woke.ticket.status, Status::Open);
    assert_eq!(woke.ticket.snoozed_until, None);
    assert_eq!(
        kinds(&woke),
        vec![("agent_notify".to_string(), "alice@desk.test".to_string())]
    );
    assert!(woke.notices[0].plain.as_ref().unwrap().0.contains("awake"));

    // Unassigned: the queue's agents, as for a new ticket.
    asleep.assignee = None;
    let woke = decide(
        Event::Timer {
            ticket: Box::new(asleep),
            due: Due::default(),
        },
        &Thread::default(),
        &late,
    );
    let to: Vec<String> = woke.notices.iter().map(|n| n.to[0].email.clone()).collect();
    assert_eq!(to, vec!["alice@desk.test", "bob@desk.test"]);

    // The customer writing ends the snooze: open, no wake left.
    let tags = TagMatcher::new("ACME");
    let c = ctx(&tags, &OWN, Mode::Live);
    let wrote = intake(&msg(""), &by_reference(), Some(d.ticket.clone()), &[], &c);
    assert_eq!(
        (wrote.ticket.status, wrote.ticket.snoozed_until),
        (Status::Open, None)
    );

    // `off` wakes it now; a snooze into the past is refused.
    let d2 = decide(
        Event::Request {
            ticket: Box::new(d.ticket.clone()),
            request: request(vec![Command::Snooze(crate::command::Snooze::Off)]),
        },
        &Thread::default(),
        &desk(),
    );
    assert_eq!(
        (d2.ticket.status, d2.ticket.snoozed_until),
        (Status::Open, None)
    );
    let past = crate::command::parse("snooze", &["until", "2026-11-01"], "").unwrap();
    let d3 = decide(
        Event::Request {
            ticket: Box::new(a_ticket()),
            request: request(vec![past]),
        },
        &Thread::default(),
        &desk(),
    );
    assert!(d3.refused[0].contains("passed"), "{:?}", d3.refused);
}

#[test]
fn snooze_until_a_weekday_and_time_is_in_the_desks_time_zone() {
    use crate::command::{parse, Command as C};
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    // 2026-11-22 10:00 UTC is a Sunday, 11:00 in Berlin.
    let at = |words: &[&str]| match parse("snooze", words, "") {
        Ok(C::Snooze(s)) => s.wake_at(now(), tz).map(|t| t.to_rfc3339()),
        other => panic!("{words:?}: {other:?}"),
    };
    assert_eq!(
        at(&["until", "monday", "9:00"]).as_deref(),
        Some("2026-11-23T08:00:00+00:00")
    );
    assert_eq!(
        at(&["until", "monday"]).as_deref(),
        Some("2026-11-23T08:00:00+00:00")
    );
    assert_eq!(
        at(&["until", "sunday", "10:00"]).as_deref(),
        Some("2026-11-29T09:00:00+00:00"),
        "past today: next week"
    );
    assert_eq!(
        at(&["until", "12:30"]).as_deref(),
        Some("2026-11-22T11:30:00+00:00")
    );
    assert_eq!(
        at(&["until", "tomorrow", "8:15"]).as_deref(),
        Some("2026-11-23T07:15:00+00:00")
    );
    assert_eq!(at(&["2s"]).as_deref(), Some("2026-11-22T10:00:02+00:00"));
    assert_eq!(at(&["1w"]).as_deref(), Some("2026-11-29T10:00:00+00:00"));
    for bad in [
        &["3"][..],
        &["until"],
        &["until", "someday"],
        &["2y"],
        &["until", "9:00", "10:00"],
    ] {
        assert!(parse("snooze", bad, "").is_err(), "{bad:?}");
    }
}

#[test]
fn a_macro_answers_with_the_agents_words_above_it_and_applies_its_fields() {
    let d = agent_answer_with(
        "alice@desk.test",
        "m1@desk.test",
        "Hi Carol, sorry for the trouble.\n#macro need-more-info\nAlice",
        None,
        a_ticket(),
        macros(),
    );
    let reply = d
        .notices
        .iter()
        .find(|n| n.template == "reply")
        .expect("a reply");
    assert_eq!(reply.text, "Hi Carol, sorry for the trouble.");
    assert_eq!(
        reply.macro_answer,
        Some(("need-more-info".into(), "Alice".into()))
    );
    assert_eq!(d.ticket.priority, Priority::Low);
    assert!(d.ticket.tags.contains(&"waiting".to_string()));
    assert_eq!(
        d.ticket.status,
        Status::Pending,
        "an answer waits on the customer"
    );
    assert!(
        d.notices.iter().all(|n| n.plain.is_none()),
        "no transcript: all done"
    );

    // Among the commands at the top: the macro's text comes first.
    let d = agent_answer_with(
        "alice@desk.test",
        "m2@desk.test",
        "#macro need-more-info\n\nThanks!",
        None,
        a_ticket(),
        macros(),
    );
    let reply = d
        .notices
        .iter()
        .find(|n| n.template == "reply")
        .expect("a reply");
    assert_eq!(reply.text, "");
    assert_eq!(
        reply.macro_answer,
        Some(("need-more-info".into(), "Thanks!".into()))
    );

    // The same from the command line.
    let mut r = request(vec![Command::Macro("need-more-info".into())]);
    r.macros = macros();
    let d = decide(
        Event::Request {
            ticket: Box::new(a_ticket()),
            request: r,
        },
        &thread_of(&["m1@customer.test"]),
        &desk(),
    );
    assert!(d.refused.is_empty(), "{:?}", d.refused);
    assert_eq!(
        kinds(&d),
        vec![("reply".to_string(), "carol@customer.test".to_string())]
    );
    assert_eq!(
        d.notices[0].macro_answer,
        Some(("need-more-info".into(), String::new()))
    );
    assert_eq!(d.ticket.status, Status::Pending);
}

#[test]
fn an_unknown_macro_is_refused_and_nothing_is_sent() {
    let d = agent_answer_with(
        "alice@desk.test",
        "m3@desk.test",
        "Hello,\n#macro no-such-thing",
        None,
        a_ticket(),
        macros(),
    );
    assert!(
        d.notices.iter().all(|n| n.template != "reply"),
        "{:?}",
        kinds(&d)
    );
    let transcript = d
        .notices
        .iter()
        .find_map(|n| n.plain.clone())
        .expect("a transcript");
    assert!(
        transcript.1.contains("#macro no-such-thing: NOT DONE"),
        "{}",
        transcript.1
    );
    assert!(
        transcript.1.contains("the macros are need-more-info"),
        "{}",
        transcript.1
    );
    // A macro whose front matter cannot apply is refused whole.
    let bad = vec![crate::command::Macro {
        name: "x".into(),
        commands: vec!["assign nobody@x.test".into(), "priority low".into()],
    }];
    let d = agent_answer_with(
        "alice@desk.test",
        "m4@desk.test",
        "#macro x",
        None,
        a_ticket(),
        bad,
    );
    assert!(d.notices.iter().all(|n| n.template != "reply"));
    assert_eq!(d.ticket.priority, Priority::Normal);
    // Two macros in one answer: refused, nothing sent.
    let d = agent_answer_with(
        "alice@desk.test",
        "m5@desk.test",
        "Hi\n#macro need-more-info\n#macro need-more-info",
        None,
        a_ticket(),
        macros(),
    );
    assert!(
        d.notices.iter().all(|n| n.template != "reply"),
        "{:?}",
        kinds(&d)
    );
    let mut r = request(vec![Command::Macro("nope".into())]);
    r.macros = macros();
    let d = decide(
        Event::Request {
            ticket: Box::new(a_ticket()),
            request: r,
        },
        &Thread::default(),
        &desk(),
    );
    assert!(d.refused[0].contains("no such macro"), "{:?}", d.refused);
}

fn german_msg(extra: &str) -> Inbound {
    let raw = format!(
        "From: \"Müller, Hans\" <hans@kunde.test>\r\nTo: support@desk.test\r\nSubject: Rechnung\r\nMessage-ID: <g1@kunde.test>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0000\r\n{extra}\r\nGuten Tag, ich kann meine Rechnung nicht herunterladen.\r\n"
    );
    parse(raw.as_bytes()).unwrap()
}

const GERMAN_TEXT: &str = "Guten Tag, ich kann meine Rechnung für März nicht herunterladen. Der Link zeigt nur eine Fehlermeldung an. Können Sie mir die Rechnung bitte schicken?";

#[test]
fn a_new_tickets_language_is_chosen_from_the_customers_own_mail() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let languages = vec!["en".to_string(), "de".to_string(), "fr".to_string()];
    let mut c = ctx(&tags, &own, Mode::Live);
    c.languages = &languages;
    c.stripped = GERMAN_TEXT;
    let d = intake(&german_msg(""), &Threading::New, None, &[], &c);
    let l = d.ticket.language.expect("chosen");
    assert_eq!(
        (l.code.as_str(), l.by),
        ("de", crate::language::Source::Detected)
    );
    assert_eq!(l.at, now());

    // The header outranks the words; what is remembered outranks both.
    let d = intake(
        &german_msg("Content-Language: fr\r\n"),
        &Threading::New,
        None,
        &[],
        &c,
    );
    assert_eq!(d.ticket.language.map(|l| l.code).as_deref(), Some("fr"));
    let remembered = crate::language::Language {
        code: "en".into(),
        by: crate::language::Source::Agent,
        at: now() - chrono::Duration::days(30),
    };
    c.remembered_language = Some(remembered.clone());
    let d = intake(
        &german_msg("Content-Language: fr\r\n"),
        &Threading::New,
        None,
        &[],
        &c,
    );
    assert_eq!(d.ticket.language, Some(remembered), "kept as it was chosen");

    // Too little text: nothing chosen, nothing remembered.
    c.remembered_language = None;
    c.stripped = "Hilfe!";
    let d = intake(&german_msg(""), &Threading::New, None, &[], &c);
    assert_eq!(d.ticket.language, None);
}

#[test]
fn lang_is_one_command_for_agents_and_admins_and_only_for_languages_with_templates() {
    let d = decide(
        Event::Request {
            ticket: Box::new(a_ticket()),
            request: request(vec![Command::Lang("fr".into())]),
        },
        &Thread::default(),
        &desk(),
    );
    let l = d.ticket.language.expect("set");
    assert_eq!(
        (l.code.as_str(), l.by),
        ("fr", crate::language::Source::Admin)
    );
    let d = decide(
        Event::Request {
            ticket: Box::new(a_ticket()),
            request: request(vec![Command::Lang("es".into())]),
        },
        &Thread::default(),
        &desk(),
    );
    assert_eq!(d.ticket.language, None);
    assert!(d.refused[0].contains("en, de, fr"), "{:?}", d.refused);
    assert_eq!(
        crate::command::parse("lang", &["de-AT"], "a@d"),
        Ok(Command::Lang("de".into()))
    );
    assert!(crate::command::parse("lang", &["german"], "a@d").is_err());
}

#[test]
fn a_late_replys_new_ticket_keeps_the_customers_language() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let languages = vec!["en".to_string(), "de".to_string(), "fr".to_string()];
    let mut c = ctx(&tags, &own, Mode::Live);
    c.languages = &languages;
    c.stripped = GERMAN_TEXT;
    let mut closed = intake(&german_msg(""), &Threading::New, None, &[], &c).ticket;
    closed.status = Status::Closed;
    closed.resolved_at = Some(now() - chrono::Duration::days(60));
    closed.language = Some(crate::language::Language {
        code: "fr".into(),
        by: crate::language::Source::Agent,
        at: now() - chrono::Duration::days(61),
    });
    let m = german_msg("In-Reply-To: <g1@kunde.test>\r\n");
    let t = Threading::Existing(
        7,
        ThreadReason::Reference {
            message_id: "g1@kunde.test".into(),
        },
    );
    c.next_number = 8;
    let d = intake(&m, &t, Some(closed), &[], &c);
    assert!(d.created && d.ticket.follows.as_deref() == Some("ACME-7"));
    assert_eq!(d.ticket.language.map(|l| l.code).as_deref(), Some("fr"));
}
