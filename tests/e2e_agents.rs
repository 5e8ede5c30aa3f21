//! Agents by mail end to end: the agent gets the notification in their own
//! Dovecot mailbox, answers it with a real SMTP client the way a mail
//! client would (quoted text, attribution, signature, an attachment), and
//! the customer's mailbox, read with imaplib, gets only the agent's words,
//! from the support address, in the customer's thread. A forged agent and
//! an internal note never reach the customer.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{empty_mailbox, imap_fetch, mailstack, smtplib_send, wait_until, Options, TestDesk};
use postdesk::mail::parse;

fn swaks_raw(port: u64, from: &str, to: &str, raw: &str) {
    let mut child = Command::new("swaks")
        .args([
            "--server",
            &format!("127.0.0.1:{port}"),
            "--from",
            from,
            "--to",
            to,
        ])
        .args(["--data", "-", "--silent", "2"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("swaks runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(raw.as_bytes())
        .expect("write");
    assert!(child.wait().expect("swaks ends").success());
}

fn outbox_settled(t: &TestDesk) -> bool {
    let out = t.run(&["outbox", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .is_some_and(|a| a.iter().all(|e| e["state"] == "sent"))
}

fn message_count(t: &TestDesk) -> u64 {
    t.tickets_json()[0]["message_count"].as_u64().unwrap_or(0)
}

#[test]
fn an_agent_answers_from_a_mail_client_and_only_their_words_reach_the_customer() {
    let stack = mailstack();
    empty_mailbox(&stack, "alice@desk.test");
    empty_mailbox(&stack, "bob@desk.test");
    empty_mailbox(&stack, "carol@customer.test");
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let maildir =
        PathBuf::from(stack["maildir_root"].as_str().unwrap()).join("desk.test/helpdesk/Maildir");
    let t = TestDesk::with(Options {
        address: "helpdesk@desk.test".into(),
        inbox: Some(maildir),
        smtp_port: Some(smtp),
        extra: r#"
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
"#
        .into(),
        ..Options::default()
    });
    let _daemon = t.serve();

    smtplib_send(
        smtp,
        "carol@customer.test",
        "helpdesk@desk.test",
        "Printer on fire",
        "agents-c1@customer.test",
        "",
    );
    let notes = imap_fetch(&stack, "alice@desk.test", 1, 30);
    let note = parse(&notes[0]).unwrap();
    assert!(note.subject.contains("[ACME-1]"), "{}", note.subject);
    let token = note.reply_to.clone().unwrap().email;

    // Alice answers from Thunderbird: To the Reply-To, quoting, signed, with a file.
    let answer = format!(
        "From: Alice <alice@desk.test>\r\nTo: {token}\r\nSubject: Re: {subject}\r\nMessage-ID: <agents-a1@desk.test>\r\nIn-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Carol,\r\n\r\nplease unplug the printer; a technician comes at 3 pm.\r\n\r\nOn 22/11/2026 11:00, Test Desk wrote:\r\n> It is on fire.\r\n> Ticket ACME-1\r\n\r\n-- \r\nAlice Example\r\nSupport Engineer, +1 555 0100\r\n--b1\r\nContent-Type: application/pdf; name=\"checklist.pdf\"\r\nContent-Disposition: attachment; filename=\"checklist.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IK\r\n--b1--\r\n",
        subject = note.subject,
        nid = note.message_id,
    );
    swaks_raw(smtp, "alice@desk.test", &token, &answer);

    let got = imap_fetch(&stack, "carol@customer.test", 2, 30);
    let reply = got
        .iter()
        .map(|r| parse(r).unwrap())
        .find(|m| m.header("auto-submitted").is_none())
        .expect("the relayed answer");
    assert_eq!(reply.from.email, "helpdesk@desk.test");
    assert_eq!(reply.from.name.as_deref(), Some("Alice at Test Desk"));
    assert_eq!(reply.in_reply_to, vec!["agents-c1@customer.test"]);
    assert!(reply.subject.contains("[ACME-1]"));
    assert!(
        reply.text.contains("a technician comes at 3 pm"),
        "{}",
        reply.text
    );
    assert!(
        !reply.text.contains("It is on fire"),
        "quote relayed: {}",
        reply.text
    );
    assert!(
        !reply.text.contains("+1 555 0100"),
        "signature relayed: {}",
        reply.text
    );
    assert!(
        !String::from_utf8_lossy(&got[1]).contains("alice@desk.test"),
        "the agent's address leaked"
    );
    assert_eq!(reply.attachments.len(), 1);
    assert_eq!(reply.attachments[0].name, "checklist.pdf");
    assert_eq!(t.tickets_json()[0]["status"], "pending");

    // Eve forges Alice's From without the token: stored, never relayed.
    let before = message_count(&t);
    swaks_raw(
        smtp,
        "alice@desk.test",
        "helpdesk@desk.test",
        "From: Alice <alice@desk.test>\r\nTo: helpdesk@desk.test\r\nSubject: Re: [ACME-1] Printer on fire\r\nMessage-ID: <agents-forged@evil.test>\r\nReferences: <agents-c1@customer.test>\r\n\r\nPlease send us your card number to refund you.\r\n",
    );
    // An internal note through the token: to Bob, never to Carol.
    swaks_raw(
        smtp,
        "alice@desk.test",
        &token,
        &format!("From: Alice <alice@desk.test>\r\nTo: {token}\r\nSubject: Re: [ACME-1]\r\nMessage-ID: <agents-note@desk.test>\r\n\r\n#note\r\nCarol's printer is a fire hazard model; recall case.\r\n"),
    );
    wait_until(30, "both to be stored", || message_count(&t) == before + 2);
    wait_until(30, "the outbox to drain", || outbox_settled(&t));
    let bobs = imap_fetch(&stack, "bob@desk.test", 2, 30);
    assert!(bobs
        .iter()
        .any(|r| parse(r).unwrap().text.contains("recall case")));
    let carol = imap_fetch(&stack, "carol@customer.test", 2, 5);
    assert_eq!(
        carol.len(),
        2,
        "only the acknowledgement and Alice's answer"
    );
    for raw in &carol {
        let text = String::from_utf8_lossy(raw);
        assert!(
            !text.contains("card number") && !text.contains("recall case"),
            "{text}"
        );
    }
}

/// Two agents answer the same notification from their mail clients: the
/// customer's mailbox holds exactly one answer, the second agent's
/// mailbox the hold notice, and the agent's `#send` releases the held
/// answer to the customer as written.
#[test]
fn two_agents_answering_one_notification_reach_the_customer_once_until_send() {
    let stack = mailstack();
    for user in ["ann@desk.test", "ben@desk.test", "cora@customer.test"] {
        empty_mailbox(&stack, user);
    }
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let maildir =
        PathBuf::from(stack["maildir_root"].as_str().unwrap()).join("desk.test/collide/Maildir");
    let t = TestDesk::with(Options {
        address: "collide@desk.test".into(),
        inbox: Some(maildir),
        smtp_port: Some(smtp),
        extra: "[[agent]]\nemail = \"ann@desk.test\"\nname = \"Ann\"\nqueues = [\"general\"]\n\n[[agent]]\nemail = \"ben@desk.test\"\nname = \"Ben\"\nqueues = [\"general\"]\n\n[[queue]]\nname = \"general\"\n".into(),
        ..Options::default()
    });
    let _daemon = t.serve();
    smtplib_send(
        smtp,
        "cora@customer.test",
        "collide@desk.test",
        "Printer on fire",
        "collide-c1@customer.test",
        "",
    );
    let to_alice = parse(&imap_fetch(&stack, "ann@desk.test", 1, 30)[0]).unwrap();
    let to_bob = parse(&imap_fetch(&stack, "ben@desk.test", 1, 30)[0]).unwrap();
    let reply = |who: &str, to: &postdesk::mail::Inbound, id: &str, body: &str| {
        let token = to.reply_to.clone().unwrap().email;
        let raw = format!(
            "From: {who}\r\nTo: {token}\r\nSubject: Re: {subject}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\nOn 22/11/2026 11:00, Test Desk wrote:\r\n> It is on fire.\r\n",
            subject = to.subject,
            nid = to.message_id,
        );
        let from = who.rsplit('<').next().unwrap().trim_end_matches('>');
        swaks_raw(smtp, from, &token, &raw);
    };
    reply(
        "Ben <ben@desk.test>",
        &to_bob,
        "collide-b1@desk.test",
        "Hello Cora, unplug it now.",
    );
    let carol = imap_fetch(&stack, "cora@customer.test", 2, 30);
    assert!(carol
        .iter()
        .any(|r| parse(r).unwrap().text.contains("unplug it now")));
    reply(
        "Ann <ann@desk.test>",
        &to_alice,
        "collide-a1@desk.test",
        "Hello Cora, call the fire brigade.",
    );
    let alices = imap_fetch(&stack, "ann@desk.test", 2, 30);
    let hold = alices
        .iter()
        .map(|r| parse(r).unwrap())
        .find(|m| m.subject.contains("answer was held"))
        .expect("the hold notice in Ann's mailbox");
    assert!(hold.text.contains("Ben answered at"), "{}", hold.text);
    wait_until(30, "the outbox to drain", || outbox_settled(&t));
    let carol = imap_fetch(&stack, "cora@customer.test", 2, 5);
    assert_eq!(carol.len(), 2, "the acknowledgement and exactly one answer");
    assert!(!carol
        .iter()
        .any(|r| String::from_utf8_lossy(r).contains("fire brigade")));

    reply(
        "Ann <ann@desk.test>",
        &hold,
        "collide-a2@desk.test",
        "#send",
    );
    let carol = imap_fetch(&stack, "cora@customer.test", 3, 30);
    let answers: Vec<_> = carol
        .iter()
        .map(|r| parse(r).unwrap())
        .filter(|m| m.header("auto-submitted").is_none())
        .collect();
    assert_eq!(answers.len(), 2, "both answers now");
    assert!(answers
        .iter()
        .any(|m| m.text.contains("call the fire brigade")
            && !m.text.contains("#send")
            && m.in_reply_to == vec!["collide-c1@customer.test".to_string()]));
}

/// A German customer, answered with a canned answer and then told their
/// ticket is resolved: the acknowledgement, the macro's text and the
/// status notice all reach the customer's own mailbox in German, greeting
/// them by their given name, and none of the agent's commands travel with
/// the answer.
#[test]
fn a_german_customer_gets_german_mail_and_a_macro_answer_as_written() {
    let stack = mailstack();
    for user in ["ute@desk.test", "hans@customer.test"] {
        empty_mailbox(&stack, user);
    }
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let maildir =
        PathBuf::from(stack["maildir_root"].as_str().unwrap()).join("desk.test/sprache/Maildir");
    let t = TestDesk::with(Options {
        address: "sprache@desk.test".into(),
        inbox: Some(maildir),
        smtp_port: Some(smtp),
        extra: "[[agent]]\nemail = \"ute@desk.test\"\nname = \"Ute\"\nqueues = [\"general\"]\n\n[[queue]]\nname = \"general\"\n".into(),
        ..Options::default()
    });
    let _daemon = t.serve();
    swaks_raw(
        smtp,
        "hans@customer.test",
        "sprache@desk.test",
        "From: =?utf-8?q?M=C3=BCller=2C_Hans?= <hans@customer.test>\r\n\
         To: sprache@desk.test\r\n\
         Subject: Anmeldung geht nicht\r\n\
         Message-ID: <sprache-h1@customer.test>\r\n\
         Date: Sun, 06 Dec 2026 09:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Guten Tag,\r\n\r\n\
         seit gestern kann ich mich nicht mehr in mein Konto einloggen. Das Passwort\r\n\
         wird nicht akzeptiert, obwohl ich es ganz sicher richtig eingebe. Können Sie\r\n\
         mir bitte helfen?\r\n\r\n\
         Viele Grüße\r\nHans Müller\r\n",
    );
    let ack = parse(&imap_fetch(&stack, "hans@customer.test", 1, 30)[0]).unwrap();
    assert!(ack.text.contains("Hallo Hans,"), "{}", ack.text);
    assert!(
        ack.text.contains("vielen Dank für Ihre Nachricht"),
        "{}",
        ack.text
    );

    let note = parse(&imap_fetch(&stack, "ute@desk.test", 1, 30)[0]).unwrap();
    let token = note.reply_to.clone().unwrap().email;
    swaks_raw(
        smtp,
        "ute@desk.test",
        &token,
        &format!(
            "From: Ute <ute@desk.test>\r\nTo: {token}\r\nSubject: Re: {subject}\r\n\
             Message-ID: <sprache-u1@desk.test>\r\nIn-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\n\
             Date: Sun, 06 Dec 2026 09:10:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Wir sehen uns das gleich an.\r\n\r\n#macro thanks-waiting\r\n",
            subject = note.subject,
            nid = note.message_id,
        ),
    );
    let mails = imap_fetch(&stack, "hans@customer.test", 2, 30);
    let answer = mails
        .iter()
        .map(|r| parse(r).unwrap())
        .find(|m| m.text.contains("Vielen Dank für Ihre Geduld"))
        .expect("the German macro answer");
    assert!(
        answer.text.contains("Wir sehen uns das gleich an."),
        "the agent's own words above the macro stay: {}",
        answer.text
    );
    assert!(
        !answer.text.contains("#macro") && !answer.text.contains("ute@desk.test"),
        "{}",
        answer.text
    );

    let reference = t.tickets_json()[0]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let set = t.run(&["tickets", "set", &reference, "--status", "resolved"]);
    assert!(set.status.success(), "{set:?}");
    let mails: Vec<_> = imap_fetch(&stack, "hans@customer.test", 3, 30)
        .iter()
        .map(|r| parse(r).unwrap())
        .collect();
    let status = mails
        .iter()
        .find(|m| m.text.contains("als gelöst markiert"))
        .unwrap_or_else(|| panic!("the German status notice among {mails:#?}"));
    assert!(status.text.contains("Hallo Hans,"), "{}", status.text);
}
