//! One decision path, tested through the doors users use: customers' and
//! agents' mail through `postdesk ingest` (as an MTA delivers it), admins
//! through `postdesk tickets set`, timers through `postdesk serve`, and the
//! outcome read where people see it: the mail in the outgoing spool, the
//! CLI's output. Each test here failed before the decision path was one.

mod common;

use std::collections::BTreeMap;

use common::{mail, spool, wait_until, Options, TestDesk};
use postdesk::mail::Inbound;
use serde_json::Value;

const AGENTS: &str = r#"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general", "billing"]

[[agent]]
email = "bob@desk.test"
name = "Bob"
queues = ["general", "billing"]

[[queue]]
name = "general"

[[queue]]
name = "billing"
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

fn outbox(t: &TestDesk) -> Vec<Value> {
    serde_json::from_slice::<Value>(&ok(t.run(&["outbox", "list", "--json"])))
        .expect("outbox list --json is JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A customer's first mail, piped in as an MTA would.
fn customer_writes(t: &TestDesk, id: &str, subject: &str) {
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        subject,
        id,
        "",
        "The printer is on fire.",
    )));
}

/// An agent's answer to their notification: to the agent's signed
/// address of the ticket, as the notification's Reply-To gives it.
fn agent_writes(t: &TestDesk, agent: &str, reference: &str, id: &str, body: &str) {
    let signer = t.signer();
    let to = signer.agent_address("support@desk.test", reference, agent, false);
    let raw = format!(
        "From: {agent}\r\nTo: {to}\r\nSubject: Re: [{reference}] help\r\nMessage-ID: <{id}>\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    ok(t.pipe(raw.as_bytes()));
}

fn to(m: &Inbound) -> Vec<String> {
    m.to.iter()
        .chain(m.cc.iter())
        .map(|p| p.email.clone())
        .collect()
}

/// The spool's mail to the customer whose subject says `what`.
fn customer_mail<'a>(all: &'a [Inbound], what: &str) -> Vec<&'a Inbound> {
    all.iter()
        .filter(|m| to(m).contains(&"carol@customer.test".to_string()))
        .filter(|m| m.subject.contains(what) || m.text.contains(what))
        .collect()
}

#[test]
fn tickets_set_pending_and_resolved_start_the_clocks_and_tell_the_customer_in_their_thread() {
    let t = desk(
        "[followup]\nremind_after = \"2s\"\nautoclose_after = \"1h\"\n\n[survey]\ndelay = \"1s\"\n",
    );
    let _daemon = t.serve();
    customer_writes(&t, "first@customer.test", "Printer on fire");
    ok(t.run(&["tickets", "set", "ACME-1", "--status", "pending"]));
    let ticket = &show(&t, "ACME-1")["ticket"];
    assert!(
        ticket["pending_since"].is_string(),
        "the follow-up clock runs: {ticket}"
    );
    wait_until(30, "the follow-up reminder", || {
        outbox(&t)
            .iter()
            .any(|e| e["kind"] == "followup" && e["state"] == "sent")
    });
    ok(t.run(&["tickets", "set", "ACME-1", "--status", "resolved"]));
    wait_until(30, "the status notice and the survey", || {
        let kinds: Vec<Value> = outbox(&t)
            .iter()
            .filter(|e| e["state"] == "sent")
            .map(|e| e["kind"].clone())
            .collect();
        kinds.contains(&Value::from("status")) && kinds.contains(&Value::from("survey"))
    });
    // Every mail to the customer continues their own thread.
    let all = spool(&t);
    let to_carol: Vec<&Inbound> = all
        .iter()
        .filter(|m| to(m).contains(&"carol@customer.test".to_string()))
        .collect();
    assert_eq!(to_carol.len(), 4, "ack, follow-up, status, survey");
    for m in to_carol {
        assert_eq!(
            m.in_reply_to,
            vec!["first@customer.test".to_string()],
            "{}: In-Reply-To",
            m.subject
        );
        assert!(
            m.references.contains(&"first@customer.test".to_string()),
            "{}: References {:?}",
            m.subject,
            m.references
        );
    }
}

/// The ticket as a comparison sees it: what a command changes, without
/// the times that differ between two runs.
fn shape(ticket: &Value) -> BTreeMap<&'static str, Value> {
    let mut m = BTreeMap::new();
    for k in [
        "status",
        "priority",
        "queue",
        "category",
        "assignee",
        "tags",
        "participants",
        "merged_into",
        "merged_from",
        "reopened",
        "due",
        "links",
    ] {
        m.insert(k, ticket[k].clone());
    }
    // Time worked is the agent's by mail and the admin's at the command
    // line: the minutes are the same.
    let minutes: u64 = ticket["time_worked"]
        .as_object()
        .map(|o| o.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    m.insert("time", Value::from(minutes));
    m.insert("pending", Value::from(ticket["pending_since"].is_string()));
    m.insert("resolved", Value::from(ticket["resolved_at"].is_string()));
    m.insert("timer", Value::from(ticket["timer_due"].is_string()));
    m.insert("snoozed", Value::from(ticket["snoozed_until"].is_string()));
    // The language is the agent's choice by mail and the admin's at the
    // command line: the code is the same.
    m.insert("language", ticket["language"]["code"].clone());
    m.insert("replies", ticket["agent_replies"].clone());
    let sla: Vec<Value> = ticket["sla_due"]
        .as_array()
        .map(|a| a.iter().map(|d| d["kind"].clone()).collect())
        .unwrap_or_default();
    m.insert("sla", Value::from(sla));
    m
}

/// What went out because of the command: kind and recipients, in order.
fn mail_after(t: &TestDesk, before: usize) -> Vec<(String, Vec<String>)> {
    outbox(t)
        .iter()
        .skip(before)
        .map(|e| {
            let to: Vec<String> = e["recipients"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (e["kind"].as_str().unwrap_or_default().to_string(), to)
        })
        .collect()
}

#[test]
fn every_command_does_the_same_by_mail_and_from_the_command_line() {
    // (the command as an agent writes it, as `tickets set` flags)
    let table: &[(&str, &[&str])] = &[
        ("#status pending", &["--status", "pending"]),
        ("#status resolved", &["--status", "resolved"]),
        ("#status closed", &["--status", "closed"]),
        ("#priority urgent", &["--priority", "urgent"]),
        ("#assign bob@desk.test", &["--assign", "bob@desk.test"]),
        ("#queue billing", &["--queue", "billing"]),
        ("#category refunds", &["--category", "refunds"]),
        ("#tag vip printer", &["--tag", "vip", "--tag", "printer"]),
        ("#untag vip", &["--untag", "vip"]),
        (
            "#cc add dave@customer.test",
            &["--cc", "add", "dave@customer.test"],
        ),
        (
            "#cc remove dave@customer.test",
            &["--cc", "remove", "dave@customer.test"],
        ),
        ("#merge ACME-1", &["--merge", "ACME-1"]),
        ("#due 2026-12-24", &["--due", "2026-12-24"]),
        ("#link ACME-1", &["--link", "ACME-1"]),
        ("#time 1h30m", &["--time", "1h30m"]),
        ("#snooze 3d", &["--snooze", "3d"]),
        (
            "#snooze until monday 9:00",
            &["--snooze", "until monday 9:00"],
        ),
        ("#macro need-more-info", &["--macro", "need-more-info"]),
        ("#macro password-reset", &["--macro", "password-reset"]),
        ("#lang fr", &["--lang", "fr"]),
    ];
    // Every command an admin may give is in the table.
    for spec in postdesk::command::COMMANDS.iter().filter(|s| s.admin) {
        assert!(
            table
                .iter()
                .any(|(m, _)| m.starts_with(&format!("#{} ", spec.name))),
            "#{} is not compared",
            spec.name
        );
    }
    let extra = "[status_notices]\npending = true\nclosed = true\n";
    for (by_mail, flags) in table {
        let setup = |t: &TestDesk| {
            customer_writes(t, "one@customer.test", "Printer on fire");
            customer_writes(t, "two@customer.test", "Scanner too");
            // A tag to remove and a participant to drop.
            ok(t.run(&[
                "tickets",
                "set",
                "ACME-2",
                "--tag",
                "vip",
                "--cc",
                "add",
                "dave@customer.test",
            ]));
        };
        let mailed = desk(extra);
        setup(&mailed);
        let before = outbox(&mailed).len();
        agent_writes(
            &mailed,
            "alice@desk.test",
            "ACME-2",
            "cmd@desk.test",
            by_mail,
        );
        let typed = desk(extra);
        setup(&typed);
        let before_typed = outbox(&typed).len();
        let mut args = vec!["tickets", "set", "ACME-2"];
        args.extend_from_slice(flags);
        ok(typed.run(&args));
        for reference in ["ACME-1", "ACME-2"] {
            assert_eq!(
                shape(&show(&mailed, reference)["ticket"]),
                shape(&show(&typed, reference)["ticket"]),
                "{by_mail}: {reference} differs between mail and the command line"
            );
        }
        assert_eq!(
            mail_after(&mailed, before),
            mail_after(&typed, before_typed),
            "{by_mail}: the mail it causes differs"
        );
    }
}

#[test]
fn an_unknown_assignee_is_refused_at_the_command_line_and_by_mail() {
    let t = desk("");
    customer_writes(&t, "first@customer.test", "Printer on fire");
    let out = t.run(&["tickets", "set", "ACME-1", "--assign", "carol@example.com"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not an agent")
            && err.contains("alice@desk.test")
            && err.contains("bob@desk.test"),
        "{err}"
    );
    assert!(show(&t, "ACME-1")["ticket"]["assignee"].is_null());

    agent_writes(
        &t,
        "alice@desk.test",
        "ACME-1",
        "typo@desk.test",
        "#assign carol@example.com\n#priority high",
    );
    let ticket = &show(&t, "ACME-1")["ticket"];
    assert!(ticket["assignee"].is_null(), "{ticket}");
    assert_eq!(ticket["priority"], "high", "the good line still applies");
    let errors: Vec<Value> = outbox(&t)
        .into_iter()
        .filter(|e| {
            e["kind"] == "agent_notify" && e["recipients"] == serde_json::json!(["alice@desk.test"])
        })
        .filter(|e| {
            e["subject"]
                .as_str()
                .is_some_and(|s| s.contains("not understood"))
        })
        .collect();
    assert_eq!(errors.len(), 1, "one error mail to the agent");

    // The customer's next message goes to no stranger.
    ok(t.pipe(&mail(
        "carol@customer.test",
        "Re: [ACME-1] Printer on fire",
        "second@customer.test",
        "In-Reply-To: <first@customer.test>\r\n",
        "Any news?",
    )));
    assert!(!outbox(&t)
        .iter()
        .any(|e| e["recipients"].to_string().contains("carol@example.com")));
}

#[test]
fn the_address_the_desk_got_the_mail_at_is_never_a_participant() {
    // The desk is help@desk.test; the mail came to an alias nobody told
    // it of, as README's demo fixture does.
    let t = TestDesk::with(Options {
        address: "help@desk.test".into(),
        extra: AGENTS.into(),
        ..Options::default()
    });
    ok(t.pipe(&mail(
        "Carol <carol@customer.test>",
        "Printer on fire",
        "first@customer.test",
        "",
        "Help",
    )));
    let participants = show(&t, "ACME-1")["ticket"]["participants"].clone();
    assert_eq!(participants, serde_json::json!(["carol@customer.test"]));

    // With Delivered-To the alias is known: copied people join, it does not.
    let raw = "Delivered-To: support@desk.test\r\nFrom: Erin <erin@customer.test>\r\nTo: support@desk.test\r\nCc: Frank <frank@customer.test>\r\nSubject: Scanner\r\nMessage-ID: <e1@customer.test>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nHi\r\n";
    ok(t.pipe(raw.as_bytes()));
    assert_eq!(
        show(&t, "ACME-2")["ticket"]["participants"],
        serde_json::json!(["erin@customer.test", "frank@customer.test"])
    );
    let signer = t.signer();
    let to = signer.agent_address("help@desk.test", "ACME-1", "alice@desk.test", false);
    ok(t.pipe(format!(
        "From: alice@desk.test\r\nTo: {to}\r\nSubject: Re: [ACME-1]\r\nMessage-ID: <a1@desk.test>\r\n\r\nIt is fixed.\r\n"
    ).as_bytes()));
    let reply: Vec<Value> = outbox(&t)
        .into_iter()
        .filter(|e| e["kind"] == "reply")
        .collect();
    assert_eq!(reply.len(), 1);
    assert_eq!(
        reply[0]["recipients"],
        serde_json::json!(["carol@customer.test"])
    );
}

#[test]
fn agents_read_the_due_time_and_a_note_reads_as_a_note() {
    let t = desk("");
    let _daemon = t.serve();
    customer_writes(&t, "first@customer.test", "Printer on fire");
    wait_until(30, "the notifications", || {
        spool(&t)
            .iter()
            .filter(|m| m.subject.contains("Printer on fire"))
            .count()
            >= 3
    });
    let all = spool(&t);
    let to_alice: Vec<&Inbound> = all
        .iter()
        .filter(|m| to(m) == vec!["alice@desk.test".to_string()])
        .collect();
    assert_eq!(to_alice.len(), 1);
    assert!(
        to_alice[0].text.contains("Due:"),
        "the SLA due time: {}",
        to_alice[0].text
    );

    agent_writes(
        &t,
        "alice@desk.test",
        "ACME-1",
        "note1@desk.test",
        "#note\nCustomer is on the old plan.",
    );
    wait_until(30, "bob's copy of the note", || {
        spool(&t)
            .iter()
            .any(|m| to(m) == vec!["bob@desk.test".to_string()] && m.text.contains("old plan"))
    });
    let all = spool(&t);
    let note = all
        .iter()
        .find(|m| to(m) == vec!["bob@desk.test".to_string()] && m.text.contains("old plan"))
        .expect("the note");
    assert!(
        note.text.contains("Internal note from alice@desk.test"),
        "{}",
        note.text
    );
    assert!(!note.text.contains("New message from"), "{}", note.text);
    assert!(
        customer_mail(&all, "old plan").is_empty(),
        "notes never reach the customer"
    );
}

#[test]
fn thanks_to_a_resolved_ticket_reopens_nothing_unless_the_desk_says_so() {
    for reopen in [false, true] {
        let t = desk(&format!("[agent_mail]\nreopen_on_thanks = {reopen}\n"));
        customer_writes(&t, "first@customer.test", "Printer on fire");
        ok(t.run(&["tickets", "set", "ACME-1", "--status", "resolved"]));
        let before = outbox(&t).len();
        ok(t.pipe(&mail(
            "carol@customer.test",
            "Re: [ACME-1] Printer on fire",
            "thanks@customer.test",
            "In-Reply-To: <first@customer.test>\r\n",
            "Thanks, that fixed it!\r\n\r\nCarol",
        )));
        let view = show(&t, "ACME-1");
        let notified = mail_after(&t, before)
            .iter()
            .filter(|(k, _)| k == "agent_notify")
            .count();
        if reopen {
            assert_eq!(view["ticket"]["status"], "open");
            assert_eq!(notified, 2, "both agents of the queue");
        } else {
            assert_eq!(view["ticket"]["status"], "resolved");
            assert_eq!(notified, 0);
            let last = view["messages"].as_array().and_then(|m| m.last()).cloned();
            let flags = last.map(|m| m["flags"].to_string()).unwrap_or_default();
            assert!(flags.contains("thanks only"), "{flags}");
        }
        // A question is no thanks.
        ok(t.pipe(&mail(
            "carol@customer.test",
            "Re: [ACME-1] Printer on fire",
            "question@customer.test",
            "In-Reply-To: <first@customer.test>\r\n",
            "Thanks! But why did it happen?",
        )));
        assert_eq!(show(&t, "ACME-1")["ticket"]["status"], "open");
    }
}

#[test]
fn a_snoozed_ticket_waits_without_reminders_and_wakes_at_its_time() {
    let t = desk("[followup]\nremind_after = \"1s\"\nautoclose_after = \"2s\"\n");
    let _daemon = t.serve();
    customer_writes(&t, "first@customer.test", "Printer on fire");
    ok(t.run(&["tickets", "set", "ACME-1", "--assign", "bob@desk.test"]));
    agent_writes(
        &t,
        "alice@desk.test",
        "ACME-1",
        "snooze@desk.test",
        "#snooze 4s",
    );
    let ticket = show(&t, "ACME-1")["ticket"].clone();
    assert_eq!(ticket["status"], "pending", "{ticket}");
    assert!(ticket["snoozed_until"].is_string(), "{ticket}");
    let shown = String::from_utf8_lossy(&ok(t.run(&["tickets", "show", "ACME-1"]))).to_string();
    assert!(shown.contains("snoozed      until"), "{shown}");
    let listed = String::from_utf8_lossy(&ok(t.run(&["tickets", "list"]))).to_string();
    assert!(listed.contains("snoozed"), "{listed}");

    wait_until(30, "the wake notice to the assignee", || {
        spool(&t)
            .iter()
            .any(|m| to(m) == vec!["bob@desk.test".to_string()] && m.subject.contains("awake"))
    });
    let ticket = show(&t, "ACME-1")["ticket"].clone();
    assert_eq!(ticket["status"], "open", "{ticket}");
    assert!(ticket["snoozed_until"].is_null(), "{ticket}");
    // Asleep past the follow-up and auto-close times: neither happened.
    let kinds: Vec<Value> = outbox(&t).iter().map(|e| e["kind"].clone()).collect();
    assert!(
        !kinds.contains(&Value::from("followup")) && !kinds.contains(&Value::from("autoclose")),
        "{kinds:?}"
    );
    // Told once: the assignee only, not the queue.
    let woke: Vec<Inbound> = spool(&t)
        .into_iter()
        .filter(|m| m.subject.contains("awake"))
        .collect();
    assert_eq!(woke.len(), 1);

    // `off` wakes a sleeping ticket at once.
    agent_writes(
        &t,
        "alice@desk.test",
        "ACME-1",
        "snooze2@desk.test",
        "#snooze 1w",
    );
    assert_eq!(show(&t, "ACME-1")["ticket"]["status"], "pending");
    ok(t.run(&["tickets", "set", "ACME-1", "--snooze", "off"]));
    let ticket = show(&t, "ACME-1")["ticket"].clone();
    assert_eq!(ticket["status"], "open", "{ticket}");
    assert!(ticket["snoozed_until"].is_null(), "{ticket}");
}

#[test]
fn a_macro_answer_reaches_the_customer_with_the_agents_words_around_it() {
    let t = desk("");
    let _daemon = t.serve();
    customer_writes(&t, "first@customer.test", "Printer on fire");
    agent_writes(
        &t,
        "alice@desk.test",
        "ACME-1",
        "macro@desk.test",
        "Hi Carol, sorry about the printer.\n\n#macro need-more-info\n\nBest, Alice",
    );
    wait_until(30, "the macro answer", || {
        !customer_mail(&spool(&t), "need a little more").is_empty()
    });
    let all = spool(&t);
    let answer = customer_mail(&all, "need a little more")[0];
    let text = &answer.text;
    let (above, macro_text, below) = (
        text.find("sorry about the printer")
            .expect("the agent's words above"),
        text.find("we need a little more from you")
            .expect("the macro"),
        text.find("Best, Alice").expect("the agent's words below"),
    );
    assert!(above < macro_text && macro_text < below, "{text}");
    // Rendered with the ticket's data.
    assert!(
        text.contains("\"Printer on fire\"") && text.contains("ACME-1"),
        "{text}"
    );
    assert!(
        !text.contains("#macro") && !text.contains("#status"),
        "{text}"
    );
    assert!(answer.subject.contains("[ACME-1]"), "{}", answer.subject);
    assert_eq!(show(&t, "ACME-1")["ticket"]["status"], "pending");

    // An unknown macro: refused in the transcript, nothing sent.
    agent_writes(
        &t,
        "alice@desk.test",
        "ACME-1",
        "macro2@desk.test",
        "Hello again,\n#macro no-such-macro",
    );
    wait_until(30, "the transcript", || {
        spool(&t).iter().any(|m| {
            to(m) == vec!["alice@desk.test".to_string()] && m.subject.contains("transcript")
        })
    });
    let all = spool(&t);
    let transcript = all
        .iter()
        .find(|m| m.subject.contains("transcript"))
        .expect("transcript");
    assert!(
        transcript.text.contains("#macro no-such-macro: NOT DONE")
            && transcript.text.contains("need-more-info"),
        "{}",
        transcript.text
    );
    assert!(
        customer_mail(&all, "Hello again").is_empty(),
        "nothing sent"
    );
    let out = t.run(&["tickets", "set", "ACME-1", "--macro", "no-such-macro"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such macro"));
}
