//! Agents' mail: answers relayed or held, notes, commands, links, snoozes and macros.

use super::*;

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
    super::super::intake(
        super::super::Arrival {
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
