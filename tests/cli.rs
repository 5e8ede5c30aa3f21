//! The command line as admins and MTAs use it: the same answers with and
//! without a running daemon, sysexits for pipe delivery, import reruns.

mod common;

use common::{deliver, mail, wait_until, Options, TestDesk};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the same pipe deliveries and queries, returning what they printed.
fn deliveries(t: &TestDesk, tag: &str) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let first = mail(
        "carol@customer.test",
        "Printer",
        &format!("{tag}1@c"),
        "",
        "broken",
    );
    let reply = mail(
        "carol@customer.test",
        "Re: Printer",
        &format!("{tag}2@c"),
        &format!("In-Reply-To: <{tag}1@c>\r\n"),
        "still broken",
    );
    for raw in [&first, &reply, &first] {
        let o = t.pipe(raw);
        out.push((o.status.code().unwrap_or(-1), stdout(&o)));
    }
    let garbage = t.pipe(b"\x00\x01\x02 not mail at all");
    out.push((garbage.status.code().unwrap_or(-1), String::new()));
    out
}

#[test]
fn ingest_behaves_the_same_with_and_without_a_daemon() {
    let alone = TestDesk::new();
    let without = deliveries(&alone, "a");

    let served = TestDesk::new();
    let daemon = served.serve();
    let with = deliveries(&served, "a");

    assert_eq!(without, with);
    assert_eq!(without[0].0, 0);
    assert!(
        without[0].1.contains("stored in ACME-1 (new)"),
        "{}",
        without[0].1
    );
    assert!(
        without[1].1.contains("stored in ACME-1 ("),
        "{}",
        without[1].1
    );
    assert!(
        without[2].1.contains("already stored in ACME-1"),
        "{}",
        without[2].1
    );
    assert_eq!(without[3].0, 65, "not mail exits EX_DATAERR");

    // Queries agree too, and the garbage is in quarantine either way.
    for t in [&alone, &served] {
        let tickets = t.tickets_json();
        assert_eq!(tickets.as_array().unwrap().len(), 1);
        assert_eq!(tickets[0]["message_count"], 2);
        let q = t.run(&["quarantine", "list", "--json"]);
        let q: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
        assert_eq!(q.as_array().unwrap().len(), 1);
        assert!(q[0]["reason"].as_str().unwrap().contains("not mail"));
    }
    drop(daemon);
}

#[test]
fn ingest_exits_75_when_the_store_is_unavailable() {
    let t = TestDesk::new();
    // Another process holds the store and answers no socket; on a shared
    // store, the database does not answer.
    let _holder = match common::engine() {
        "postgres" => {
            std::fs::write(
                t.dir.path().join("database.url"),
                "postgres://postdesk:none@127.0.0.1:9/postdesk",
            )
            .unwrap();
            None
        }
        _ => Some(postdesk::desk::Desk::open(t.config()).unwrap()),
    };
    let o = t.pipe(&mail("carol@customer.test", "x", "busy@c", "", "b"));
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains("try again"), "{}", stderr(&o));
}

#[test]
fn serve_moves_maildir_mail_only_after_storing_it() {
    let t = TestDesk::new();
    let mut daemon = t.serve();
    let new = t.inbox().join("new");
    deliver(
        &t.inbox(),
        "1.msg",
        &mail("carol@customer.test", "Printer", "md1@c", "", "x"),
    );
    deliver(&t.inbox(), "2.msg", b"\x00garbage");
    wait_until(20, "maildir processed", || {
        std::fs::read_dir(&new).unwrap().count() == 0
    });
    let cur: Vec<String> = std::fs::read_dir(t.inbox().join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cur.len(), 2, "{cur:?}");
    assert!(cur.iter().all(|n| n.ends_with(":2,S")));
    assert_eq!(t.tickets_json().as_array().unwrap().len(), 1);
    let status = daemon.terminate();
    assert!(status.success(), "graceful stop exits 0");
    assert!(
        !t.state_dir().join("control.sock").exists(),
        "socket removed on stop"
    );
    // The store opens directly after the daemon is gone.
    let show = t.run(&["tickets", "show", "ACME-1"]);
    assert!(stdout(&show).contains("Printer"), "{}", stdout(&show));
}

#[test]
fn import_mbox_twice_stores_each_message_once() {
    let t = TestDesk::new();
    let mbox = t.dir.path().join("old.mbox");
    let mut data = Vec::new();
    for i in 0..50 {
        // Body lines starting with "From " arrive escaped, as mbox writers do.
        data.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
        let extra = if i % 5 == 4 {
            format!("In-Reply-To: <imp{}@c>\r\n", i - 1)
        } else {
            String::new()
        };
        data.extend_from_slice(&mail(
            "dave@customer.test",
            &format!("Old {i}"),
            &format!("imp{i}@c"),
            &extra,
            ">From the archive\n>>From quoted",
        ));
        data.extend_from_slice(b"\n");
    }
    std::fs::write(&mbox, &data).unwrap();
    let first = t.run(&[
        "import",
        "mbox",
        mbox.to_str().unwrap(),
        "--status",
        "closed",
        "--json",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let s: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(s["messages"], 50);
    assert_eq!(s["stored"], 50);
    assert_eq!(s["new_tickets"], 40);
    let again = t.run(&["import", "mbox", mbox.to_str().unwrap(), "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(s["duplicates"], 50);
    assert_eq!(s["stored"], 0);
    let tickets = t.tickets_json();
    assert!(tickets
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "closed" && t["imported"] == true));
    let show = t.run(&["tickets", "show", "ACME-1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert!(v["messages"][0]["text"]
        .as_str()
        .unwrap()
        .contains("From the archive\n>From quoted"));
    // Imported mail keeps its own date.
    assert!(v["ticket"]["created"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-22T10:00:00"));
}

/// An mbox whose conversations cross batches of four: replies to the
/// message before, references back and ahead, the same message twice in
/// a row, and one entry that is not mail at all.
fn crossing_history() -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..60 {
        data.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
        if i == 17 {
            data.extend_from_slice(b"\x00\x01 not a mail at all\n\n");
            continue;
        }
        let threading = match i % 6 {
            1 => format!("In-Reply-To: <hist{}@c>\r\n", i - 1),
            4 => format!("References: <hist{}@c>\r\n", i + 1),
            5 => format!("References: <hist{}@c>\r\n", i.max(5) - 5),
            _ => String::new(),
        };
        let one = mail(
            &format!("c{}@customer.test", i % 7),
            &format!("Case {}", i / 2),
            &format!("hist{i}@c"),
            &threading,
            "What became of my order?",
        );
        data.extend_from_slice(&one);
        data.extend_from_slice(b"\n");
        if i % 13 == 3 {
            data.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
            data.extend_from_slice(&one);
            data.extend_from_slice(b"\n");
        }
    }
    data
}

/// An import while `serve` runs goes through its control socket, a batch
/// a request: it must make the desk an import without a daemon makes,
/// ticket for ticket, and a second run must find every message stored.
#[test]
fn an_import_through_a_running_daemon_makes_the_desk_one_without_it_makes() {
    let alone = TestDesk::new();
    let served = TestDesk::new();
    let mbox = alone.dir.path().join("history.mbox");
    std::fs::write(&mbox, crossing_history()).unwrap();
    let mbox = mbox.to_str().unwrap();
    let summary = |t: &TestDesk| {
        let o = t.run(&["import", "mbox", mbox, "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let counts = s.as_object_mut().unwrap();
        counts.remove("seconds");
        counts.remove("per_second");
        s
    };
    alone.in_batches_of(4);
    served.in_batches_of(4);
    let without = summary(&alone);
    let mut daemon = served.serve();
    let through = summary(&served);
    assert_eq!(through, without);
    assert_eq!(without["messages"], 65);
    assert_eq!(without["quarantined"], 1);
    assert_eq!(without["duplicates"], 5);
    let again = summary(&served);
    assert_eq!(again["duplicates"], 64, "{again}");
    assert_eq!(again["quarantined"], 1, "{again}");
    // Read while the daemon runs, through its socket, like the import.
    let tickets = served.tickets_json();
    let count = tickets.as_array().unwrap().len();
    for n in 1..=count {
        let reference = format!("ACME-{n}");
        let show = |t: &TestDesk| {
            let o = t.run(&["tickets", "show", &reference, "--json"]);
            assert!(o.status.success(), "{}", stderr(&o));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let ids: Vec<_> = v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["message_id"].clone())
                .collect();
            (
                v["ticket"]["subject"].clone(),
                v["ticket"]["status"].clone(),
                ids,
            )
        };
        assert_eq!(show(&served), show(&alone), "{reference}");
    }
    assert_eq!(tickets, alone.tickets_json());
    assert!(daemon.terminate().success());
}

#[test]
fn import_of_large_mails_keeps_every_message_once_and_in_order() {
    // Messages of 300 KB cross the reader's 1 MiB chunk limit every few
    // messages, so chunks end on bytes as well as on counts.
    let t = TestDesk::new();
    let mbox = t.dir.path().join("big.mbox");
    let line = "the attachment text goes on and on, line after line of it\n";
    let body = line.repeat(300 * 1024 / line.len());
    let mut data = Vec::new();
    for i in 0..12 {
        data.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
        data.extend_from_slice(&mail(
            "erin@customer.test",
            &format!("Big {i}"),
            &format!("big{i}@c"),
            "",
            &body,
        ));
        data.extend_from_slice(b"\n");
    }
    std::fs::write(&mbox, &data).unwrap();
    let o = t.run(&["import", "mbox", mbox.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["messages"], 12);
    assert_eq!(s["stored"], 12);
    assert_eq!(s["new_tickets"], 12);
    for i in 0..12 {
        let show = t.run(&["tickets", "show", &format!("ACME-{}", i + 1), "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
        assert_eq!(
            v["ticket"]["subject"],
            format!("Big {i}"),
            "ticket {}",
            i + 1
        );
    }
}

#[test]
fn import_of_a_file_that_is_not_an_mbox_fails_clearly() {
    let t = TestDesk::new();
    let f = t.dir.path().join("notes.txt");
    std::fs::write(&f, "hello\nworld\n").unwrap();
    let o = t.run(&["import", "mbox", f.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not an mbox"), "{}", stderr(&o));
}

#[test]
fn check_names_the_bad_line() {
    let t = TestDesk::new();
    let mut text = std::fs::read_to_string(&t.config_path).unwrap();
    text.push_str("\n[survey]\nscale = \"1-5\"\ndelayy = \"1h\"\n");
    std::fs::write(&t.config_path, text.clone()).unwrap();
    let o = t.run(&["check"]);
    assert_eq!(o.status.code(), Some(78));
    let line = text.lines().position(|l| l.starts_with("delayy")).unwrap() + 1;
    assert!(
        stderr(&o).contains(&format!("postdesk.toml:{line}:")),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("delayy"), "{}", stderr(&o));
}

#[test]
fn check_looks_at_imap_inboxes_without_connecting() {
    let imap = |extra: &str| {
        format!(
            "\n[[inbox]]\nname = \"mail\"\nkind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"support\"\n{extra}\n"
        )
    };
    // A CA file that is not a certificate stops every connect: an error.
    let t = TestDesk::with(Options {
        extra: imap("password_env = \"POSTDESK_TEST_UNSET_PW\"\nca_file = \"/dev/null\""),
        ..Options::default()
    });
    let o = t.run(&["check"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("inbox `mail`") && stderr(&o).contains("/dev/null"),
        "{}",
        stderr(&o)
    );
    // A password the daemon may have and this shell has not: a warning.
    assert!(
        stderr(&o).contains("POSTDESK_TEST_UNSET_PW"),
        "{}",
        stderr(&o)
    );
    // Clear text to a remote server is refused outright.
    let t = TestDesk::with(Options {
        extra: imap("password_env = \"P\"\ntls = \"none\""),
        ..Options::default()
    });
    let o = t.run(&["check"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("clear text"), "{}", stderr(&o));
    // A good one passes, with the warning only.
    let t = TestDesk::with(Options {
        extra: imap("password_env = \"POSTDESK_TEST_UNSET_PW\""),
        ..Options::default()
    });
    let o = t.run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn show_of_an_unknown_ticket_says_how_to_find_one() {
    let t = TestDesk::new();
    let o = t.run(&["tickets", "show", "ACME-99"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("tickets list"), "{}", stderr(&o));
}

#[test]
fn admins_set_and_merge_tickets_from_the_command_line() {
    let t = TestDesk::with(common::Options {
        extra: "[[queue]]\nname = \"billing\"\n".into(),
        ..common::Options::default()
    });
    t.pipe(&mail("carol@customer.test", "First", "adm1@c", "", "one"));
    t.pipe(&mail("carol@customer.test", "Second", "adm2@c", "", "two"));
    let o = t.run(&[
        "tickets",
        "set",
        "ACME-1",
        "--status",
        "pending",
        "--priority",
        "high",
        "--queue",
        "billing",
        "--tag",
        "vip",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&t.run(&["tickets", "show", "ACME-1", "--json"]).stdout).unwrap();
    assert_eq!(v["ticket"]["status"], "pending");
    assert_eq!(v["ticket"]["priority"], "high");
    assert_eq!(v["ticket"]["queue"], "billing");
    assert_eq!(v["ticket"]["tags"], serde_json::json!(["vip"]));
    let nowhere = t.run(&["tickets", "set", "ACME-1", "--queue", "billng"]);
    assert_eq!(nowhere.status.code(), Some(1));
    assert!(
        stderr(&nowhere).contains("the queues are billing, general"),
        "{}",
        stderr(&nowhere)
    );
    let bad = t.run(&["tickets", "set", "ACME-1", "--priority", "whenever"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("priority is one of"),
        "{}",
        stderr(&bad)
    );

    let o = t.run(&["tickets", "merge", "ACME-2", "ACME-1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&t.run(&["tickets", "show", "ACME-1", "--json"]).stdout).unwrap();
    assert_eq!(v["messages"].as_array().unwrap().len(), 2, "one thread");
    assert_eq!(v["ticket"]["merged_from"], serde_json::json!([2]));
    let v: serde_json::Value =
        serde_json::from_slice(&t.run(&["tickets", "show", "ACME-2", "--json"]).stdout).unwrap();
    assert_eq!(v["ticket"]["status"], "closed");
}
