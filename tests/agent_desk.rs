//! The agents' desk by mail (issue 19): no collisions between agents'
//! answers, a transcript for command mail, and the commands beyond the
//! basics. Through the doors people use: customers' and agents' mail
//! piped into `postdesk ingest` while `postdesk serve` runs, admins'
//! `postdesk tickets set`, and the outcome read in the outgoing spool
//! (what the customer and the agents receive) and in `postdesk tickets
//! show --json`.

mod common;

use common::{mail, spool, wait_until, Options, TestDesk};
use postdesk::mail::Inbound;
use serde_json::Value;

const AGENTS: &str = r#"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]

[[agent]]
email = "bob@desk.test"
name = "Bob"
queues = ["general"]

[[queue]]
name = "general"
"#;

fn desk(extra: &str) -> TestDesk {
    TestDesk::with(Options {
        extra: format!("{AGENTS}\n{extra}"),
        ..Options::default()
    })
}

fn ok(out: std::process::Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "postdesk failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn show(t: &TestDesk, reference: &str) -> Value {
    serde_json::from_slice(&ok(t.run(&["tickets", "show", reference, "--json"])))
        .expect("tickets show --json is JSON")
}

fn to(m: &Inbound) -> Vec<String> {
    m.to.iter()
        .chain(m.cc.iter())
        .map(|p| p.email.clone())
        .collect()
}

/// The spool's mail to `who` whose text says `what`.
fn mail_to(t: &TestDesk, who: &str, what: &str) -> Vec<Inbound> {
    spool(t)
        .into_iter()
        .filter(|m| to(m).contains(&who.to_string()))
        .filter(|m| m.subject.contains(what) || m.text.contains(what))
        .collect()
}

fn wait_for(t: &TestDesk, who: &str, what: &str) -> Inbound {
    wait_until(30, &format!("mail to {who} saying {what:?}"), || {
        !mail_to(t, who, what).is_empty()
    });
    mail_to(t, who, what).remove(0)
}

/// An agent's answer to `to_mail` (a notification or a hold notice), as a
/// mail client writes it: to its Reply-To, In-Reply-To its Message-ID,
/// the text above the quote.
fn answer(t: &TestDesk, agent: &str, to_mail: &Inbound, id: &str, body: &str) {
    let to = to_mail.reply_to.as_ref().expect("a Reply-To").email.clone();
    let parent = &to_mail.message_id;
    let subject = &to_mail.subject;
    let raw = format!(
        "From: {agent}\r\nTo: {to}\r\nSubject: Re: {subject}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\nOn Sun, 22 Nov 2026, Test Desk wrote:\r\n> The printer is on fire.\r\n"
    );
    ok(t.pipe(raw.as_bytes()));
}

/// The answers the customer received (relayed replies, not the desk's
/// own acknowledgement).
fn answers_to_carol(t: &TestDesk) -> Vec<Inbound> {
    spool(t)
        .into_iter()
        .filter(|m| to(m).contains(&"carol@customer.test".to_string()))
        .filter(|m| m.from.name.as_deref().is_some_and(|n| n.contains(" at ")))
        .collect()
}

#[test]
fn two_agents_answer_one_notification_and_the_customer_gets_one_answer() {
    let t = desk("");
    let _daemon = t.serve();
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        "Printer on fire",
        "c1@customer.test",
        "",
        "The printer is on fire.",
    )));
    let to_alice = wait_for(&t, "alice@desk.test", "Printer on fire");
    let to_bob = wait_for(&t, "bob@desk.test", "Printer on fire");

    answer(
        &t,
        "Bob <bob@desk.test>",
        &to_bob,
        "b1@desk.test",
        "Hello Carol, Bob here: unplug it now.",
    );
    wait_for(&t, "carol@customer.test", "unplug it now");

    answer(
        &t,
        "Alice <alice@desk.test>",
        &to_alice,
        "a1@desk.test",
        "Hello Carol, Alice here: call the fire brigade.",
    );
    let hold = wait_for(&t, "alice@desk.test", "answer was held");
    assert!(hold.text.contains("Bob answered at"), "{}", hold.text);
    assert!(hold.text.contains("unplug it now"), "{}", hold.text);
    assert!(hold.text.contains("call the fire brigade"), "{}", hold.text);
    assert!(hold.text.contains("#send"), "{}", hold.text);
    let answers = answers_to_carol(&t);
    assert_eq!(answers.len(), 1, "the customer has exactly one answer");
    assert!(answers[0].text.contains("unplug it now"));
    let shown = show(&t, "ACME-1");
    let held = shown["ticket"]["held"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(held.len(), 1, "{shown}");
    assert_eq!(held[0]["agent"], "alice@desk.test");
    let text = String::from_utf8_lossy(&ok(t.run(&["tickets", "show", "ACME-1"]))).into_owned();
    assert!(
        text.contains("held answer  by alice@desk.test"),
        "tickets show lists the held answer:\n{text}"
    );

    // Alice releases it as written.
    answer(
        &t,
        "Alice <alice@desk.test>",
        &hold,
        "a2@desk.test",
        "#send",
    );
    wait_for(&t, "carol@customer.test", "call the fire brigade");
    let answers = answers_to_carol(&t);
    assert_eq!(answers.len(), 2, "now the customer has both answers");
    let released = answers
        .iter()
        .find(|m| m.text.contains("call the fire brigade"))
        .expect("released");
    assert!(!released.text.contains("#send"), "{}", released.text);
    assert_eq!(released.in_reply_to, vec!["c1@customer.test".to_string()]);
    let shown = show(&t, "ACME-1");
    assert!(shown["ticket"]["held"].is_null(), "{shown}");
    assert_eq!(shown["ticket"]["agent_replies"], 2);

    // A second #send has nothing to send: the agent is told, the customer
    // gets nothing more.
    answer(
        &t,
        "Alice <alice@desk.test>",
        &hold,
        "a3@desk.test",
        "#send",
    );
    wait_for(&t, "alice@desk.test", "no held answer");
    assert_eq!(answers_to_carol(&t).len(), 2);
}

#[test]
fn a_newer_customer_message_holds_an_answer_and_writing_again_sends() {
    let t = desk("");
    let _daemon = t.serve();
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        "Printer on fire",
        "c1@customer.test",
        "",
        "The printer is on fire.",
    )));
    let to_alice = wait_for(&t, "alice@desk.test", "Printer on fire");
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        "Re: [ACME-1] Printer on fire",
        "c2@customer.test",
        "In-Reply-To: <c1@customer.test>\r\n",
        "Never mind, the sprinklers put it out.",
    )));
    wait_for(&t, "alice@desk.test", "sprinklers");

    // Alice answers the first notification, not knowing.
    answer(
        &t,
        "Alice <alice@desk.test>",
        &to_alice,
        "a1@desk.test",
        "#priority high\nHello Carol, evacuate the building.",
    );
    let hold = wait_for(&t, "alice@desk.test", "answer was held");
    assert!(hold.text.contains("the customer wrote at"), "{}", hold.text);
    assert!(hold.text.contains("sprinklers put it out"), "{}", hold.text);
    assert!(answers_to_carol(&t).is_empty());
    let shown = show(&t, "ACME-1");
    assert_eq!(
        shown["ticket"]["priority"], "high",
        "commands are never held"
    );

    // She writes again, in reply to the hold notice: that goes out.
    answer(
        &t,
        "Alice <alice@desk.test>",
        &hold,
        "a2@desk.test",
        "Glad to hear it, Carol. We will send a technician.",
    );
    wait_for(&t, "carol@customer.test", "send a technician");
    let answers = answers_to_carol(&t);
    assert_eq!(answers.len(), 1, "only the new answer");
    // The first one is still held until it expires or is sent.
    let shown = show(&t, "ACME-1");
    assert_eq!(shown["ticket"]["held"].as_array().map(Vec::len), Some(1));
}

#[test]
fn notes_and_answers_to_current_notifications_are_never_held() {
    let t = desk("");
    let _daemon = t.serve();
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        "Printer on fire",
        "c1@customer.test",
        "",
        "The printer is on fire.",
    )));
    let to_alice = wait_for(&t, "alice@desk.test", "Printer on fire");
    let to_bob = wait_for(&t, "bob@desk.test", "Printer on fire");
    answer(
        &t,
        "Bob <bob@desk.test>",
        &to_bob,
        "b1@desk.test",
        "#note\nI think it is the fuser.",
    );
    wait_for(&t, "alice@desk.test", "the fuser");
    // A note is no answer: Alice's answer to the older notification goes out.
    answer(
        &t,
        "Alice <alice@desk.test>",
        &to_alice,
        "a1@desk.test",
        "Hello Carol, we replace the fuser.",
    );
    wait_for(&t, "carol@customer.test", "replace the fuser");
    // Bob's own later note on the old notification is never held either.
    answer(
        &t,
        "Bob <bob@desk.test>",
        &to_bob,
        "b2@desk.test",
        "#note\nordered the part",
    );
    wait_for(&t, "alice@desk.test", "ordered the part");
    assert!(mail_to(&t, "bob@desk.test", "answer was held").is_empty());
    assert!(mail_to(&t, "alice@desk.test", "answer was held").is_empty());
}

/// A new ticket from Carol; returns Alice's notification.
fn opened(t: &TestDesk) -> Inbound {
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        "Printer on fire",
        "c1@customer.test",
        "",
        "The printer is on fire.",
    )));
    wait_for(t, "alice@desk.test", "Printer on fire")
}

#[test]
fn a_command_mail_with_errors_gets_one_transcript_line_by_line() {
    let t = desk("");
    let _daemon = t.serve();
    let note = opened(&t);
    answer(
        &t,
        "Alice <alice@desk.test>",
        &note,
        "a1@desk.test",
        "#priority high\n#assign carol@example.com\n#frobnicate now\n#tag vip\nHello Carol, on it.",
    );
    let back = wait_for(&t, "alice@desk.test", "transcript");
    wait_for(&t, "carol@customer.test", "on it");
    let text = &back.text;
    assert!(back.subject.contains("2 of 4 commands"), "{}", back.subject);
    let order: Vec<usize> = [
        "#priority high",
        "#assign carol@example.com",
        "#frobnicate now",
        "#tag vip",
    ]
    .iter()
    .map(|l| text.find(l).unwrap_or_else(|| panic!("{l} in {text}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in order: {text}");
    assert_eq!(text.matches(": done").count(), 2, "{text}");
    assert!(
        text.contains("#assign carol@example.com: NOT DONE: not an agent"),
        "{text}"
    );
    assert!(
        text.contains("the agents are alice@desk.test, bob@desk.test"),
        "{text}"
    );
    assert!(text.contains("unknown command #frobnicate"), "{text}");
    // One mail for the whole mail, no separate error mails.
    let to_alice: Vec<Inbound> = spool(&t)
        .into_iter()
        .filter(|m| to(m) == vec!["alice@desk.test".to_string()])
        .collect();
    assert_eq!(to_alice.len(), 2, "the notification and one transcript");
    let shown = show(&t, "ACME-1");
    assert_eq!(shown["ticket"]["priority"], "high");
    assert_eq!(shown["ticket"]["tags"], serde_json::json!(["vip"]));
}

#[test]
fn a_command_mail_without_errors_gets_a_transcript_only_when_the_desk_says_always() {
    for (setting, wanted) in [
        ("", false),
        ("[agent_mail]\ntranscript = \"always\"\n", true),
    ] {
        let t = desk(setting);
        let _daemon = t.serve();
        let note = opened(&t);
        answer(
            &t,
            "Alice <alice@desk.test>",
            &note,
            "a1@desk.test",
            "#priority high\n#tag vip",
        );
        if wanted {
            let back = wait_for(&t, "alice@desk.test", "transcript");
            assert!(
                back.subject.contains("all 2 commands done"),
                "{}",
                back.subject
            );
            assert_eq!(back.text.matches(": done").count(), 2, "{}", back.text);
        } else {
            wait_until(30, "the change", || {
                show(&t, "ACME-1")["ticket"]["priority"] == "high"
            });
            // A later mail is processed after this one: when Bob's note
            // reached Alice, any transcript would have been queued too.
            answer(
                &t,
                "Bob <bob@desk.test>",
                &wait_for(&t, "bob@desk.test", "Printer on fire"),
                "b1@desk.test",
                "#note\nmarker",
            );
            wait_for(&t, "alice@desk.test", "marker");
            assert!(mail_to(&t, "alice@desk.test", "transcript").is_empty());
        }
    }
}

#[test]
fn due_link_and_time_by_mail_and_at_the_command_line() {
    let t = desk("");
    let _daemon = t.serve();
    let note = opened(&t);
    ok(t.pipe(&mail(
        "Dave <dave@customer.test>",
        "Scanner too",
        "d1@customer.test",
        "",
        "The scanner smokes.",
    )));
    wait_until(30, "ACME-2", || {
        show(&t, "ACME-2")["ticket"]["reference"] == "ACME-2"
    });
    answer(
        &t,
        "Alice <alice@desk.test>",
        &note,
        "a1@desk.test",
        "#due 2026-12-24\n#link ACME-2\n#time 25m\n#time 1h",
    );
    let one = show(&t, "ACME-1");
    assert_eq!(one["ticket"]["due"], "2026-12-24", "{one}");
    assert_eq!(one["ticket"]["links"], serde_json::json!(["ACME-2"]));
    assert_eq!(
        one["ticket"]["time_worked"],
        serde_json::json!({"alice@desk.test": 85})
    );
    let two = show(&t, "ACME-2");
    assert_eq!(
        two["ticket"]["links"],
        serde_json::json!(["ACME-1"]),
        "shown both ways"
    );

    // The same at the command line: the admin's time, a weekday's date.
    ok(t.run(&[
        "tickets", "set", "ACME-2", "--time", "10m", "--due", "friday",
    ]));
    let two = show(&t, "ACME-2");
    assert_eq!(
        two["ticket"]["time_worked"],
        serde_json::json!({"admin@desk.test": 10}),
        "{two}"
    );
    let due = chrono::NaiveDate::parse_from_str(two["ticket"]["due"].as_str().unwrap(), "%Y-%m-%d")
        .unwrap();
    assert_eq!(chrono::Datelike::weekday(&due), chrono::Weekday::Fri);
    let bad = t.run(&["tickets", "set", "ACME-2", "--link", "ACME-99"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such ticket"));

    // Shown in `tickets show` and `tickets list`, and in the next
    // notification to agents.
    let text = String::from_utf8_lossy(&ok(t.run(&["tickets", "show", "ACME-1"]))).into_owned();
    assert!(text.contains("due date     Thu 2026-12-24"), "{text}");
    assert!(text.contains("related      ACME-2"), "{text}");
    assert!(
        text.contains("time worked  1h25m (alice@desk.test 1h25m)"),
        "{text}"
    );
    let list = String::from_utf8_lossy(&ok(t.run(&["tickets", "list"]))).into_owned();
    assert!(list.contains("2026-12-24"), "{list}");
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        "Re: [ACME-1] Printer on fire",
        "c2@customer.test",
        "In-Reply-To: <c1@customer.test>\r\n",
        "Still burning.",
    )));
    let news = wait_for(&t, "alice@desk.test", "Still burning");
    assert!(
        news.text.contains("Due date:  Thu 24 Dec 2026"),
        "{}",
        news.text
    );
}
