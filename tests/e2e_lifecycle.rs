//! Timers end to end with short durations: the survey reaches the
//! customer's mailbox, a click on a rating (a mail to its mailto address,
//! as a client sends it) and a plain "3 - took a while" reply are recorded;
//! a follow-up that comes due while the daemon is down is sent exactly once
//! after it restarts.

mod common;

use std::path::PathBuf;

use common::{
    empty_mailbox, imap_fetch, mailstack, smtplib_send, swaks_send, wait_until, Options, TestDesk,
};
use postdesk::mail::parse;

fn desk(stack: &serde_json::Value, user: &str, extra: &str) -> TestDesk {
    let maildir = PathBuf::from(stack["maildir_root"].as_str().unwrap())
        .join(format!("desk.test/{user}/Maildir"));
    TestDesk::with(Options {
        address: format!("{user}@desk.test"),
        inbox: Some(maildir),
        smtp_port: stack["smtp_port"].as_u64(),
        extra: format!(
            "[[agent]]\nemail = \"bob@desk.test\"\nname = \"Bob\"\nqueues = [\"general\"]\n\n[[queue]]\nname = \"general\"\n{extra}"
        ),
        ..Options::default()
    })
}

fn show(t: &TestDesk) -> serde_json::Value {
    let out = t.run(&["tickets", "show", "ACME-1", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

fn agent_command(t: &TestDesk, smtp: u64, desk_address: &str, command: &str, id: &str) {
    let signer = t.signer();
    let token = signer.agent_address(desk_address, "ACME-1", "bob@desk.test", false);
    swaks_send(
        smtp,
        "bob@desk.test",
        &token,
        &[
            "Subject: Re: [ACME-1]".to_string(),
            format!("Message-Id: <{id}>"),
        ],
        command,
    );
}

#[test]
fn a_survey_is_answered_by_a_click_and_by_a_reply() {
    let stack = mailstack();
    empty_mailbox(&stack, "erin@customer.test");
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let t = desk(&stack, "desk13", "[survey]\ndelay = \"1s\"\n");
    let _daemon = t.serve();
    smtplib_send(
        smtp,
        "erin@customer.test",
        "desk13@desk.test",
        "Invoice missing",
        "life-c1@customer.test",
        "",
    );
    wait_until(30, "the ticket", || {
        show(&t)["ticket"]["reference"] == "ACME-1"
    });
    agent_command(
        &t,
        smtp,
        "desk13@desk.test",
        "#status resolved",
        "life-a1@desk.test",
    );

    // Acknowledgement, resolved notice, survey.
    let got = imap_fetch(&stack, "erin@customer.test", 3, 40);
    let survey = got
        .iter()
        .map(|r| parse(r).unwrap())
        .find(|m| m.subject.contains("How did we do"))
        .expect("the survey arrived");
    let mailto = survey
        .text
        .split_whitespace()
        .find(|w| w.starts_with("mailto:") && w.contains(".s4."))
        .expect("a rating link")
        .trim_start_matches("mailto:")
        .to_string();
    let (address, query) = mailto.split_once('?').unwrap();
    let subject = query
        .trim_start_matches("subject=")
        .replace("%20", " ")
        .replace("%5B", "[")
        .replace("%5D", "]");
    // The click: the client opens a mail to that address and sends it.
    swaks_send(
        smtp,
        "erin@customer.test",
        address,
        &[
            format!("Subject: {subject}"),
            "Message-Id: <life-s1@customer.test>".to_string(),
        ],
        "Sent from the rating link.",
    );
    wait_until(30, "the score", || {
        show(&t)["ticket"]["survey"]["score"] == 4
    });

    // A plain reply with a number and a comment replaces it.
    swaks_send(
        smtp,
        "erin@customer.test",
        survey
            .reply_to
            .as_ref()
            .map(|p| p.email.as_str())
            .unwrap_or("desk13@desk.test"),
        &[
            format!("Subject: Re: {}", survey.subject),
            "Message-Id: <life-s2@customer.test>".to_string(),
            format!("In-Reply-To: <{}>", survey.message_id),
        ],
        "3 - took a while",
    );
    wait_until(30, "the new score", || {
        show(&t)["ticket"]["survey"]["score"] == 3
    });
    let v = show(&t);
    assert_eq!(v["ticket"]["survey"]["comment"], "took a while");
    assert_eq!(v["ticket"]["status"], "resolved");
    let thanks = imap_fetch(&stack, "erin@customer.test", 5, 30);
    assert!(
        thanks
            .iter()
            .filter(|r| String::from_utf8_lossy(r).contains("Thank"))
            .count()
            >= 1
    );
}

#[test]
fn a_follow_up_due_while_the_daemon_is_down_is_sent_once_after_restart() {
    let stack = mailstack();
    empty_mailbox(&stack, "frank@customer.test");
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let t = desk(
        &stack,
        "desk14",
        "[followup]\nremind_after = \"3s\"\nautoclose_after = \"1h\"\n",
    );
    let mut daemon = t.serve();
    smtplib_send(
        smtp,
        "frank@customer.test",
        "desk14@desk.test",
        "Where is my order",
        "life-f1@customer.test",
        "",
    );
    wait_until(30, "the ticket", || {
        show(&t)["ticket"]["reference"] == "ACME-1"
    });
    agent_command(
        &t,
        smtp,
        "desk14@desk.test",
        "Which order number?",
        "life-f2@desk.test",
    );
    wait_until(30, "pending", || show(&t)["ticket"]["status"] == "pending");
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    drop(daemon);
    std::thread::sleep(std::time::Duration::from_secs(4));
    let _again = t.serve();
    // Acknowledgement, Bob's question, and exactly one reminder.
    let got = imap_fetch(&stack, "frank@customer.test", 3, 30);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let got = if got.len() < 4 {
        imap_fetch(&stack, "frank@customer.test", 3, 5)
    } else {
        got
    };
    let reminders = got
        .iter()
        .filter(|r| String::from_utf8_lossy(r).contains("still waiting for your reply"))
        .count();
    assert_eq!(reminders, 1, "{} messages", got.len());
    assert_eq!(show(&t)["ticket"]["reminded"], true);
}

/// Every mail to the customer continues their own thread, whatever sent
/// it: the acknowledgement, an agent's status change, the follow-up
/// timer, an admin's `tickets set --status resolved`, and the survey. Read
/// back over IMAP, as the customer's mail client sees them.
#[test]
fn every_mail_to_the_customer_continues_their_thread() {
    let stack = mailstack();
    empty_mailbox(&stack, "cust17@customer.test");
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let t = desk(
        &stack,
        "desk17",
        "[followup]\nremind_after = \"2s\"\nautoclose_after = \"1h\"\n\n[survey]\ndelay = \"1s\"\n\n[status_notices]\npending = true\n",
    );
    let _daemon = t.serve();
    smtplib_send(
        smtp,
        "cust17@customer.test",
        "desk17@desk.test",
        "Printer on fire",
        "life-g1@customer.test",
        "",
    );
    wait_until(30, "the ticket", || {
        show(&t)["ticket"]["reference"] == "ACME-1"
    });
    agent_command(
        &t,
        smtp,
        "desk17@desk.test",
        "#status pending",
        "life-g2@desk.test",
    );
    // The status notice, then the follow-up two seconds later.
    imap_fetch(&stack, "cust17@customer.test", 3, 40);
    let out = t.run(&["tickets", "set", "ACME-1", "--status", "resolved"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Acknowledgement, pending notice, follow-up, resolved notice, survey.
    let got: Vec<_> = imap_fetch(&stack, "cust17@customer.test", 5, 40)
        .iter()
        .map(|r| parse(r).unwrap())
        .collect();
    assert_eq!(
        got.len(),
        5,
        "{:?}",
        got.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    for m in &got {
        assert_eq!(
            m.in_reply_to,
            vec!["life-g1@customer.test".to_string()],
            "In-Reply-To of {:?}",
            m.subject
        );
        assert_eq!(
            m.references,
            vec!["life-g1@customer.test".to_string()],
            "References of {:?}",
            m.subject
        );
    }
}
