//! Automatic mail, floods, spam and bounces: stored, never answered, held by the caps.

use super::*;

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
