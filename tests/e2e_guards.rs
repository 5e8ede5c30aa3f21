//! Loop, flood and bounce guards end to end, on the real stack: two desks
//! acknowledging each other, an autoresponder that answers everything, and
//! a delivery report Postfix itself writes for an address that does not
//! exist. Each test has its own desk mailboxes (desk15, desk16, guards1,
//! guards2) and customers (autoresponder, dave, cust5).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{empty_mailbox, imap_fetch, mailstack, smtplib_send, wait_until, Options, TestDesk};
use postdesk::mail::parse;

fn maildir(stack: &serde_json::Value, domain: &str, user: &str) -> PathBuf {
    PathBuf::from(stack["maildir_root"].as_str().unwrap()).join(format!("{domain}/{user}/Maildir"))
}

fn desk(stack: &serde_json::Value, user: &str, extra: &str) -> TestDesk {
    TestDesk::with(Options {
        address: format!("{user}@desk.test"),
        inbox: Some(maildir(stack, "desk.test", user)),
        smtp_port: stack["smtp_port"].as_u64(),
        extra: extra.to_string(),
        ..Options::default()
    })
}

fn json(t: &TestDesk, args: &[&str]) -> serde_json::Value {
    let out = t.run(args);
    assert!(
        out.status.success(),
        "postdesk {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json output is JSON")
}

fn outbox(t: &TestDesk) -> Vec<serde_json::Value> {
    json(t, &["outbox", "list", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

fn to(e: &serde_json::Value, address: &str) -> bool {
    e["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str() == Some(address))
}

fn messages(t: &TestDesk, reference: &str) -> Vec<serde_json::Value> {
    json(t, &["tickets", "show", reference, "--json"])["messages"]
        .as_array()
        .unwrap()
        .clone()
}

fn flags(m: &serde_json::Value) -> String {
    m["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn two_desks_acknowledging_each_other_send_one_mail_each_way() {
    let stack = mailstack();
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let a = desk(&stack, "desk15", "");
    let b = desk(&stack, "desk16", "");
    // Two companies' desks, two prefixes. (With the same prefix, A's
    // acknowledgement tagged [ACME-1] may join B's own ACME-1, whose
    // requester is A, by the subject-tag rule; still one mail each way,
    // but the ticket count below would depend on arrival order.)
    let config = std::fs::read_to_string(&b.config_path).unwrap();
    std::fs::write(
        &b.config_path,
        config.replace("ticket_prefix = \"ACME\"", "ticket_prefix = \"BETA\""),
    )
    .unwrap();
    let _da = a.serve();
    let _db = b.serve();
    let pid = std::process::id();
    // Someone at each desk writes to the other as a customer would.
    smtplib_send(
        smtp,
        "desk16@desk.test",
        "desk15@desk.test",
        "Question from desk 16",
        &format!("two-desks-b-{pid}@desk.test"),
        "",
    );
    smtplib_send(
        smtp,
        "desk15@desk.test",
        "desk16@desk.test",
        "Question from desk 15",
        &format!("two-desks-a-{pid}@desk.test"),
        "",
    );
    // Each gets the question and the other's acknowledgement.
    for t in [&a, &b] {
        wait_until(60, "both mails to reach each desk", || {
            t.tickets_json().as_array().unwrap().len() == 2
        });
        wait_until(60, "the acknowledgement to leave", || {
            outbox(t).iter().all(|e| e["state"] == "sent")
        });
    }
    for (t, other) in [(&a, "desk16@desk.test"), (&b, "desk15@desk.test")] {
        let sent: Vec<_> = outbox(t).into_iter().filter(|e| to(e, other)).collect();
        assert_eq!(
            sent.len(),
            1,
            "exactly one automatic mail each way: {sent:?}"
        );
        assert_eq!(sent[0]["kind"], "ack");
        // The question and the other desk's acknowledgement, in either
        // order: only the acknowledgement is automatic.
        let tickets = t.tickets_json();
        let mut automatic = 0;
        for ticket in tickets.as_array().unwrap() {
            let m = messages(t, ticket["reference"].as_str().unwrap());
            let f = flags(&m[0]);
            if f.contains("automatic mail (Auto-Submitted: auto-replied)") {
                automatic += 1;
            } else {
                assert!(f.is_empty(), "{f}");
            }
        }
        assert_eq!(automatic, 1);
    }
}

#[test]
fn an_autoresponder_that_answers_everything_is_bounded_by_the_caps() {
    let stack = mailstack();
    let smtp = stack["smtp_port"].as_u64().unwrap();
    // The default caps: 5 automatic mails per address in 10 minutes.
    let t = desk(&stack, "guards1", "");
    let _d = t.serve();
    let robot = "autoresponder@customer.test";
    let responder = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/autoresponder.py"
        ))
        .arg(maildir(&stack, "customer.test", "autoresponder"))
        .arg(smtp.to_string())
        .arg(robot)
        .args(["--max", "30", "--idle", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs the autoresponder");
    smtplib_send(
        smtp,
        robot,
        "guards1@desk.test",
        "Hello desk",
        &format!("robot-first-{}@customer.test", std::process::id()),
        "",
    );
    // The loop ends by itself: the responder stops 10 s after its last
    // answer, which is bounded by the desk's caps.
    let out = responder.wait_with_output().expect("autoresponder ends");
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.contains("done: 5 answered"), "{log}");
    wait_until(30, "the last answer to be stored", || {
        t.tickets_json().as_array().unwrap().len() == 6
    });
    let acks: Vec<_> = outbox(&t).into_iter().filter(|e| to(e, robot)).collect();
    assert_eq!(acks.len(), 5, "{acks:?}");
    let tickets = t.tickets_json();
    let last = tickets[5]["reference"].as_str().unwrap().to_string();
    let f = flags(&messages(&t, &last)[0]);
    assert!(
        f.contains("over the limit of automatic mail to one address (5 in 10m)"),
        "{f}"
    );
    // `tickets show` prints the reason for an admin.
    let shown = String::from_utf8_lossy(&t.run(&["tickets", "show", &last]).stdout).to_string();
    assert!(
        shown.contains("not sent: ack to autoresponder@customer.test"),
        "{shown}"
    );
}

#[test]
fn a_real_bounce_is_traced_to_its_ticket_and_the_address_marked() {
    let stack = mailstack();
    empty_mailbox(&stack, "dave@customer.test");
    let smtp = stack["smtp_port"].as_u64().unwrap();
    // dave is the queue's agent: he hears of the bounce; the customer's
    // address does not exist on the stack, so Postfix returns a DSN.
    let t = desk(
        &stack,
        "guards2",
        "[[agent]]\nemail = \"dave@customer.test\"\nname = \"Dave\"\nqueues = [\"general\"]\n",
    );
    let mut daemon = t.serve();
    let ghost = "nobody-guards@customer.test";
    smtplib_send(
        smtp,
        ghost,
        "guards2@desk.test",
        "Please call me back",
        &format!("ghost-{}@customer.test", std::process::id()),
        "",
    );
    wait_until(60, "the bounce to be stored on the ticket", || {
        let tickets = t.tickets_json();
        tickets.as_array().unwrap().len() == 1 && tickets[0]["message_count"] == 2
    });
    let m = messages(&t, "ACME-1");
    assert_eq!(m[1]["from"]["email"], "mailer-daemon@mail.desk.test");
    let thread = m[1]["thread"].to_string();
    assert!(thread.contains("envelope token of outbox mail"), "{thread}");
    let f = flags(&m[1]);
    assert!(
        f.contains(&format!("ack to {ghost} hard bounce 5.1.1")),
        "{f}"
    );
    assert!(f.contains(&format!("{ghost} marked")), "{f}");
    // The ticket stays as it was: a bounce is not the customer writing.
    assert_eq!(t.tickets_json()[0]["status"], "new");

    // The agent is told, by internal mail; the customer is not.
    let got = imap_fetch(&stack, "dave@customer.test", 2, 60);
    let notice = got
        .iter()
        .map(|raw| parse(raw).unwrap())
        .find(|m| m.subject.contains("bounced"))
        .expect("a bounce notice for dave");
    assert!(notice
        .subject
        .contains(&format!("[ACME-1] mail to {ghost} bounced")));
    assert!(notice.text.contains("5.1.1"), "{}", notice.text);
    assert_eq!(notice.to[0].email, "dave@customer.test");

    // Marked, through the daemon...
    let marks = json(&t, &["addresses", "list", "--json"]);
    assert_eq!(marks[0]["address"], ghost);
    assert_eq!(marks[0]["last"], "hard");
    assert_eq!(marks[0]["hard_bounces"], 1);
    assert_eq!(marks[0]["ticket"], "ACME-1");
    assert!(marks[0]["suppressed_until"].is_string());

    // ...and held: the next mail from that address gets no acknowledgement.
    smtplib_send(
        smtp,
        ghost,
        "guards2@desk.test",
        "Still waiting",
        &format!("ghost2-{}@customer.test", std::process::id()),
        "",
    );
    wait_until(60, "the second mail", || {
        t.tickets_json().as_array().unwrap().len() == 2
    });
    let f = flags(&messages(&t, "ACME-2")[0]);
    assert!(
        f.contains(&format!(
            "not sent: ack to {ghost}: the address hard-bounced (5.1.1)"
        )),
        "{f}"
    );

    // Without the daemon the same listing, and clearing the mark works.
    daemon.terminate();
    let text = String::from_utf8_lossy(&t.run(&["addresses", "list"]).stdout).to_string();
    assert!(
        text.contains(ghost) && text.contains("hard bounce"),
        "{text}"
    );
    let cleared = json(&t, &["addresses", "clear", ghost, "--json"]);
    assert_eq!(cleared[0]["address"], ghost);
    assert_eq!(
        json(&t, &["addresses", "list", "--json"]),
        serde_json::json!([])
    );
    let again = t.run(&["addresses", "clear", ghost]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not marked"));
}
