//! Guards through the command line, without the mail stack: a mail bomb
//! is held to a few tickets, and automatic mail moves no ticket and no SLA
//! clock. (The real-stack scenarios are in e2e_guards.rs.)

mod common;

use common::{mail, Options, TestDesk};

fn ingest(t: &TestDesk, raws: &[Vec<u8>]) {
    let dir = t.dir.path().join("mails");
    std::fs::create_dir_all(&dir).unwrap();
    let mut args = vec!["ingest".to_string()];
    for (i, raw) in raws.iter().enumerate() {
        let p = dir.join(format!("{i}-{}.eml", raws.len()));
        std::fs::write(&p, raw).unwrap();
        args.push(p.display().to_string());
    }
    let out = t.cmd().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn show(t: &TestDesk, reference: &str) -> serde_json::Value {
    let out = t.run(&["tickets", "show", reference, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_mail_bomb_opens_a_few_tickets_and_the_rest_joins_the_newest() {
    let t = TestDesk::with(Options {
        extra: "[guard]\nnew_tickets_per_sender = \"3/1h\"\n".into(),
        ..Options::default()
    });
    let bomb: Vec<Vec<u8>> = (0..12)
        .map(|i| {
            mail(
                "bomber@customer.test",
                &format!("Message number {i}"),
                &format!("bomb-{i}@customer.test"),
                "",
                "Hello again.",
            )
        })
        .collect();
    ingest(&t, &bomb);
    let tickets = t.tickets_json();
    assert_eq!(tickets.as_array().unwrap().len(), 3);
    let third = show(&t, "ACME-3");
    let messages = third["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 10);
    for m in &messages[1..] {
        let flags = m["flags"].to_string();
        assert!(
            flags.contains("over the new-ticket limit (3 in 1h)"),
            "{flags}"
        );
        assert!(m["thread"]
            .to_string()
            .contains("joined their newest ticket"));
    }
    // Three acknowledgements, nothing more to the bomber.
    let out = t.run(&["outbox", "list", "--json"]);
    let outbox: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let acks = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ack")
        .count();
    assert_eq!(acks, 3);
}

#[test]
fn an_out_of_office_reply_moves_no_ticket_and_no_clock() {
    let t = TestDesk::new();
    ingest(
        &t,
        &[mail(
            "carol@customer.test",
            "Printer down",
            "p1@customer.test",
            "",
            "Help.",
        )],
    );
    let before = show(&t, "ACME-1");
    assert!(!before["ticket"]["sla_due"].as_array().unwrap().is_empty());
    let out = t.run(&["tickets", "set", "ACME-1", "--status", "resolved"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oof = mail(
        "carol@customer.test",
        "Automatic reply: [ACME-1] Printer down",
        "oof1@customer.test",
        "In-Reply-To: <p1@customer.test>\r\n",
        "I am out of the office until Monday.",
    );
    ingest(&t, &[oof]);
    let after = show(&t, "ACME-1");
    assert_eq!(after["ticket"]["status"], "resolved");
    assert!(after["ticket"]["sla_due"].as_array().unwrap().is_empty());
    let flags = after["messages"][1]["flags"].to_string();
    assert!(flags.contains("out-of-office"), "{flags}");
    // Shown to an admin by `tickets show`.
    let text = String::from_utf8_lossy(&t.run(&["tickets", "show", "ACME-1"]).stdout).to_string();
    assert!(text.contains("flag: automatic mail (subject"), "{text}");
}
