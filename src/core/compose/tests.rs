//! Unit tests of `compose.rs`.

use super::*;
use crate::decide::Notice;

fn config() -> Config {
    let text = r#"
[desk]
name = "Acme Support"
address = "support@desk.test"
ticket_prefix = "ACME"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]
"#;
    Config::from_toml_with_env(std::path::Path::new("t.toml"), text, Vec::new()).unwrap()
}

fn ticket() -> Ticket {
    serde_json::from_value(serde_json::json!({
        "number": 42, "reference": "ACME-42", "subject": "Printer \"on fire\" – ünïcode",
        "status": "open", "priority": "high", "category": "general", "queue": "general",
        "requester": {"name": "Carol Customer", "email": "carol@customer.test"},
        "participants": ["carol@customer.test"], "inbox": "main",
        "created": "2026-11-22T10:00:00Z", "updated": "2026-11-22T10:00:00Z",
        "message_count": 1
    }))
    .unwrap()
}

fn templates() -> Templates {
    Templates::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")).unwrap()
}

/// The mail with its MIME boundaries (random on each build) named in order.
fn unbound(mail: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(mail).into_owned();
    let boundaries: Vec<String> = text
        .split("boundary=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    for (i, b) in boundaries.iter().enumerate() {
        text = text.replace(b.as_str(), &format!("BOUNDARY{i}"));
    }
    text
}

/// What intake stores and the worker builds later is the mail that
/// composing at once would have built, byte for byte.
#[test]
fn a_planned_mail_builds_to_the_same_bytes_as_composing_at_once() {
    let (config, templates, ticket) = (config(), templates(), ticket());
    let signer = Signer::from_key([7; 32]);
    let now = ticket.created;
    let extras = Extras {
        message_subject: "Printer on fire".into(),
        eta: Some("within 4 hours".into()),
        history: vec![(
            "Carol <carol@customer.test>".into(),
            now,
            "It <b>burns</b>.".into(),
        )],
        ..Extras::default()
    };
    let mut ack = Notice::new_for(
        "ack",
        vec![ticket.requester.clone()],
        "m1@customer.test",
        build::Auto::Replied,
    );
    ack.text = "It is on fire.".into();
    ack.in_reply_to = Some("m1@customer.test".into());
    ack.references = vec!["m1@customer.test".into()];
    let mut notify = Notice::new_for(
        "agent_notify",
        vec![Person {
            name: Some("Alice".into()),
            email: "alice@desk.test".into(),
        }],
        "m1@customer.test",
        build::Auto::Generated,
    );
    notify.agent = Some("alice@desk.test".into());
    let mut plain = Notice::new_for(
        "command_error",
        vec![ticket.requester.clone()],
        "m2",
        build::Auto::Replied,
    );
    plain.plain = Some(("Not understood".into(), "Write `help`.".into()));
    for notice in [ack, notify, plain] {
        let (direct, bytes) = compose(
            &config, &signer, &templates, &notice, &ticket, &extras, 5, now,
        )
        .unwrap();
        let (entry, planned) = plan(&config, &signer, &notice, &ticket, &extras, 5, now);
        assert!(
            entry.planned && entry.subject.is_empty(),
            "{}",
            notice.template
        );
        let stored = serde_json::to_vec(&planned).unwrap();
        let planned: Planned = serde_json::from_slice(&stored).unwrap();
        let (built, later) = build_planned(&config, &templates, &entry, &planned, &[]).unwrap();
        assert_eq!(unbound(&later), unbound(&bytes));
        assert_eq!(built, direct, "{}", notice.template);
        assert!(!built.planned && built.size == bytes.len());
        assert!(built.subject.starts_with("[ACME-42]"), "{}", built.subject);
    }
}

/// A template that no longer exists when the worker builds the mail is an
/// error naming it, for the outbox to show.
#[test]
fn building_with_a_missing_template_says_which() {
    let (config, templates, ticket) = (config(), templates(), ticket());
    let signer = Signer::from_key([7; 32]);
    let notice = Notice::new_for(
        "gone",
        vec![ticket.requester.clone()],
        "m1",
        build::Auto::Replied,
    );
    let (entry, planned) = plan(
        &config,
        &signer,
        &notice,
        &ticket,
        &Extras::default(),
        1,
        ticket.created,
    );
    let err = build_planned(&config, &templates, &entry, &planned, &[]).unwrap_err();
    assert!(err.to_string().contains("template `gone`"), "{err}");
}

/// The customer's mail is in their language, agents' mail in the desk's;
/// the estimate and the dates follow, and agents see the customer's other
/// tickets but never another customer's.
#[test]
fn each_mail_is_planned_in_its_readers_language() {
    let (config, templates, mut ticket) = (config(), templates(), ticket());
    ticket.language = Some(crate::language::Language {
        code: "de".into(),
        by: crate::language::Source::Detected,
        at: ticket.created,
    });
    let signer = Signer::from_key([7; 32]);
    let now = ticket.created;
    let mut earlier = self::ticket();
    earlier.number = 7;
    earlier.reference = "ACME-7".into();
    earlier.status = crate::ticket::Status::Resolved;
    let mut stranger = self::ticket();
    stranger.number = 8;
    stranger.reference = "ACME-8".into();
    stranger.requester.email = "mallory@elsewhere.test".into();
    let extras = Extras {
        eta: Some("within 4 hours".into()),
        eta_by_language: [("de".to_string(), "innerhalb von 4 Stunden".to_string())].into(),
        customer_tickets: vec![earlier, stranger],
        organization: Some("Customer Inc".into()),
        ..Extras::default()
    };
    let ack = Notice::new_for(
        "ack",
        vec![ticket.requester.clone()],
        "m1@customer.test",
        build::Auto::Replied,
    );
    let (_, mail) = compose(&config, &signer, &templates, &ack, &ticket, &extras, 5, now).unwrap();
    let ack = crate::mail::parse(&mail).unwrap();
    assert!(ack.text.starts_with("Hallo Carol,"), "{}", ack.text);
    assert!(ack.text.contains("innerhalb von 4 Stunden"), "{}", ack.text);

    let mut notify = Notice::new_for(
        "agent_notify",
        vec![Person {
            name: Some("Alice".into()),
            email: "alice@desk.test".into(),
        }],
        "m1@customer.test",
        build::Auto::Generated,
    );
    notify.agent = Some("alice@desk.test".into());
    assert_eq!(mail_language(&notify, &ticket), None);
    let data = template_data(&config, &ticket, &notify, &extras);
    assert_eq!(data["eta"], "within 4 hours");
    assert_eq!(data["organization"], "Customer Inc");
    let listed: Vec<&str> = data["customer_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["ref"].as_str())
        .collect();
    assert_eq!(listed, vec!["ACME-7"], "never another customer's ticket");

    let mut followup = Notice::new_for(
        "followup",
        vec![ticket.requester.clone()],
        "timer",
        build::Auto::Generated,
    );
    followup.autoclose_on = Some(now);
    let data = template_data(&config, &ticket, &followup, &extras);
    assert_eq!(
        data["autoclose_on"],
        "Sonntag, 22. November 2026, 10:00 UTC"
    );
}
