//! End to end on the real mail stack, the way a deployment runs: customers
//! send with real SMTP clients (python's smtplib, swaks) to Postfix, which
//! hands the mail to Dovecot over LMTP into the support user's Maildir, which
//! `postdesk serve` watches. Needs `tests/mailstack/start.sh` (tests/run.sh
//! starts it).

mod common;

use std::path::PathBuf;

use common::{mailstack, smtplib_send, swaks_send, wait_until, TestDesk};

fn ticket_with_subject(t: &TestDesk, subject: &str) -> Option<serde_json::Value> {
    t.tickets_json()
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["subject"] == subject)
        .cloned()
}

#[test]
fn customer_mail_through_postfix_and_dovecot_becomes_a_ticket() {
    let stack = mailstack();
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let maildir =
        PathBuf::from(stack["maildir_root"].as_str().unwrap()).join("desk.test/support/Maildir");
    let t = TestDesk::with_inbox_path(Some(&maildir));
    let _daemon = t.serve();

    let nonce = format!("{}", std::process::id());
    let subject = format!("Printer broken {nonce}");
    let first_id = format!("e2e-first-{nonce}@customer.test");
    smtplib_send(
        smtp,
        "carol@customer.test",
        "support@desk.test",
        &subject,
        &first_id,
        "",
    );
    wait_until(30, "the ticket to appear", || {
        ticket_with_subject(&t, &subject).is_some()
    });
    let ticket = ticket_with_subject(&t, &subject).unwrap();
    let reference = ticket["reference"].as_str().unwrap().to_string();
    assert_eq!(ticket["requester"]["email"], "carol@customer.test");
    assert_eq!(ticket["status"], "new");

    // The customer replies from another client, threading by References.
    swaks_send(
        smtp,
        "carol@customer.test",
        "support@desk.test",
        &[
            format!("Subject: Re: {subject}"),
            format!("Message-Id: <e2e-second-{nonce}@customer.test>"),
            format!("In-Reply-To: <{first_id}>"),
            format!("References: <{first_id}>"),
        ],
        "Any news?",
    );
    // A colleague writes to the signed reply address only: Postfix and
    // Dovecot keep the plus address in Delivered-To, which threads it.
    let signer = t.signer();
    let reply_to = signer.reply_address("support@desk.test", &reference);
    swaks_send(
        smtp,
        "dave@customer.test",
        &reply_to,
        &[
            "Subject: completely different words".to_string(),
            format!("Message-Id: <e2e-third-{nonce}@customer.test>"),
        ],
        "Same printer here.",
    );
    wait_until(30, "both replies to join the ticket", || {
        ticket_with_subject(&t, &subject).is_some_and(|x| x["message_count"] == 3)
    });
    let show = t.run(&["tickets", "show", &reference, "--json"]);
    let view: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let mut reasons: Vec<&str> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["thread"]["by"].as_str().unwrap())
        .collect();
    // The two replies travel through Postfix independently: either order.
    reasons[1..].sort();
    assert_eq!(reasons, ["new", "reference", "token"]);
    assert!(view["messages"][0]["text"]
        .as_str()
        .unwrap()
        .contains("floor 3"));

    // Everything delivered was moved out of new/ once stored.
    wait_until(10, "new/ to be empty", || {
        std::fs::read_dir(maildir.join("new")).unwrap().count() == 0
    });
}
