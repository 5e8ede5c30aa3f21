//! Outgoing mail end to end: acknowledgements leave through Postfix, arrive
//! in the customer's Dovecot mailbox and are read back with imaplib, as a
//! customer's client would. Each test has its own desk and customer
//! mailboxes; tests that stop Postfix run a private stack.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use common::{
    deliver, empty_mailbox, imap_fetch, mail, mailstack, smtplib_send, wait_until, Options, Stack,
    TestDesk,
};
use postdesk::mail::parse;

fn desk_for(stack: &serde_json::Value, n: u32, smtp_port: u64) -> TestDesk {
    let maildir = PathBuf::from(stack["maildir_root"].as_str().unwrap())
        .join(format!("desk.test/desk{n}/Maildir"));
    TestDesk::with(Options {
        address: format!("desk{n}@desk.test"),
        inbox: Some(maildir),
        smtp_port: Some(smtp_port),
        ..Options::default()
    })
}

fn outbox(t: &TestDesk) -> Vec<serde_json::Value> {
    let out = t.run(&["outbox", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn acknowledgement_reaches_the_customer_and_the_reply_threads_back() {
    let stack = mailstack();
    empty_mailbox(&stack, "cust1@customer.test");
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let t = desk_for(&stack, 1, smtp);
    let _daemon = t.serve();

    let first_id = format!("ack-first-{}@customer.test", std::process::id());
    smtplib_send(
        smtp,
        "cust1@customer.test",
        "desk1@desk.test",
        "Printer on fire",
        &first_id,
        "",
    );
    let got = imap_fetch(&stack, "cust1@customer.test", 1, 30);
    let ack = parse(&got[0]).unwrap();
    let tickets = t.tickets_json();
    let reference = tickets[0]["reference"].as_str().unwrap().to_string();

    assert!(
        ack.subject.contains(&format!("[{reference}]")),
        "{}",
        ack.subject
    );
    assert!(ack.subject.contains("Printer on fire"), "{}", ack.subject);
    assert_eq!(ack.in_reply_to, vec![first_id.clone()]);
    assert_eq!(ack.header("auto-submitted"), Some("auto-replied"));
    assert_eq!(ack.from.email, "desk1@desk.test");
    assert_eq!(ack.from.name.as_deref(), Some("Test Desk"));
    let reply_to = ack.reply_to.clone().unwrap().email;
    assert!(
        reply_to.starts_with(&format!("desk1+{}.", reference.to_lowercase())),
        "{reply_to}"
    );
    assert!(ack.text.contains(&reference), "{}", ack.text);
    assert!(
        ack.text.contains("within 4 hours"),
        "the SLA's ETA: {}",
        ack.text
    );
    assert!(
        !ack.text.contains("{{") && !ack.text.contains("}}"),
        "{}",
        ack.text
    );

    // The customer answers the acknowledgement as a mail client does: to the
    // Reply-To, "Re:" subject, quoted text, In-Reply-To and References.
    let reply = format!(
        "From: Carol Customer <cust1@customer.test>\r\nTo: {reply_to}\r\nSubject: Re: {subject}\r\nMessage-ID: <ack-reply-{pid}@customer.test>\r\nIn-Reply-To: <{ack_id}>\r\nReferences: <{first_id}> <{ack_id}>\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\n\r\nIt is still burning.\r\n\r\nOn Sun, 22 Nov 2026, Test Desk wrote:\r\n> {quoted}\r\n",
        subject = ack.subject,
        pid = std::process::id(),
        ack_id = ack.message_id,
        quoted = ack.text.lines().next().unwrap_or_default(),
    );
    let out = std::process::Command::new("swaks")
        .args([
            "--server",
            &format!("127.0.0.1:{smtp}"),
            "--from",
            "cust1@customer.test",
            "--to",
            &reply_to,
        ])
        .args(["--data", "-", "--silent", "2"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(reply.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    wait_until(30, "the reply to join the ticket", || {
        t.tickets_json()[0]["message_count"] == 2
    });
    assert_eq!(t.tickets_json().as_array().unwrap().len(), 1);
    // The reply is not acknowledged again.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(outbox(&t).len(), 1);
}

#[test]
fn customer_text_in_templates_stays_literal() {
    let stack = mailstack();
    empty_mailbox(&stack, "cust2@customer.test");
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let t = desk_for(&stack, 2, smtp);
    let _daemon = t.serve();
    let subject = "{{ticket.ref}} <b>bold</b> & {{#each x}}";
    smtplib_send(
        smtp,
        "cust2@customer.test",
        "desk2@desk.test",
        subject,
        "lit@customer.test",
        "",
    );
    let got = imap_fetch(&stack, "cust2@customer.test", 1, 30);
    let ack = parse(&got[0]).unwrap();
    assert!(ack.subject.ends_with(subject), "{}", ack.subject);
    assert!(
        !ack.text.contains("ACME-1 <b>"),
        "the subject was not evaluated as a template"
    );
    // In the HTML alternative the customer's markup is escaped, never live.
    use mail_parser::MimeHeaders;
    let parsed = mail_parser::MessageParser::default()
        .parse(&got[0])
        .unwrap();
    let html = parsed
        .parts
        .iter()
        .find(|p| {
            p.content_type()
                .is_some_and(|c| c.subtype() == Some("html"))
        })
        .and_then(|p| p.text_contents())
        .expect("the acknowledgement has an HTML alternative")
        .to_string();
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>bold</b>"), "{html}");
}

#[test]
fn postfix_down_loses_nothing_and_delivers_after_it_returns() {
    let stack = Stack::start("outgoing-down", 12000);
    let smtp = stack.port("smtp_port");
    let t = desk_for(&stack.info, 3, smtp);
    stack.postfix("stop");
    let _daemon = t.serve();
    let inbox =
        PathBuf::from(stack.info["maildir_root"].as_str().unwrap()).join("desk.test/desk3/Maildir");
    for i in 0..3 {
        let raw = mail(
            "cust3@customer.test",
            &format!("Down {i}"),
            &format!("down{i}@c"),
            "",
            "hello",
        );
        deliver(&inbox, &format!("down{i}.eml"), &raw);
    }
    wait_until(30, "three tickets", || {
        t.tickets_json().as_array().unwrap().len() == 3
    });
    // The relay being down is learnt from one mail; the others wait for
    // the probes without an attempt of their own.
    wait_until(30, "a failed attempt to be recorded", || {
        let o = outbox(&t);
        o.iter().all(|e| e["state"] == "queued")
            && o.iter().any(|e| e["attempts"].as_u64().unwrap() >= 1)
    });
    stack.postfix("start");
    wait_until(60, "every acknowledgement to be sent", || {
        outbox(&t).iter().all(|e| e["state"] == "sent")
    });
    let got = imap_fetch(&stack.info, "cust3@customer.test", 3, 30);
    assert_eq!(got.len(), 3);
}

#[test]
fn kill_9_while_acknowledgements_are_sent_doubles_no_message_id() {
    const N: usize = 200;
    let stack = Stack::start("outgoing-kill", 13000);
    let smtp = stack.port("smtp_port");
    let inbox =
        PathBuf::from(stack.info["maildir_root"].as_str().unwrap()).join("desk.test/desk4/Maildir");
    // One customer opening 200 tickets at once is a flood to the guards;
    // here it is load, so their caps are lifted.
    let t = TestDesk::with(Options {
        address: "desk4@desk.test".into(),
        inbox: Some(inbox.clone()),
        smtp_port: Some(smtp),
        extra: "[guard]\nauto_mail_limits = []\nnew_tickets_per_sender = \"1000/1h\"\n".into(),
        ..Options::default()
    });
    for i in 0..N {
        let raw = mail(
            "cust4@customer.test",
            &format!("Case {i}"),
            &format!("kill{i}@c"),
            "",
            "hello",
        );
        deliver(&inbox, &format!("kill{i:03}.eml"), &raw);
    }
    let mut daemon = t.serve();
    // Kill once some mail has gone out and some has not.
    wait_until(60, "some acknowledgements to be sent", || {
        std::fs::read_dir(stack.dir.join("mail/customer.test/cust4/Maildir/new"))
            .map(|d| d.count() >= 20)
            .unwrap_or(false)
    });
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    drop(daemon);
    let _again = t.serve();
    wait_until(120, "all acknowledgements to be sent", || {
        let o = outbox(&t);
        o.len() == N && o.iter().all(|e| e["state"] == "sent")
    });
    let got = imap_fetch(&stack.info, "cust4@customer.test", N, 60);
    let mut ids_by_ticket: HashMap<String, HashSet<String>> = HashMap::new();
    for raw in &got {
        let m = parse(raw).unwrap();
        let tag = m.subject.split(']').next().unwrap_or_default().to_string();
        ids_by_ticket.entry(tag).or_default().insert(m.message_id);
    }
    assert_eq!(
        ids_by_ticket.len(),
        N,
        "every ticket's acknowledgement arrived"
    );
    for (tag, ids) in ids_by_ticket {
        assert_eq!(
            ids.len(),
            1,
            "{tag} arrived with two different Message-IDs: {ids:?}"
        );
    }
}
