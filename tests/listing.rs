//! `tickets list` as admins and scripts use it: the newest 50 by last
//! update, filters, pages with a cursor, `--all --json` as JSON lines; the
//! same answers with and without the daemon; and the indexes behind it
//! consistent after `serve` is killed -9 during intake.

mod common;

use std::time::{Duration, Instant};

use common::{deliver, wait_until, TestDesk};
use serde_json::Value;

const MESSAGES: usize = 120;

/// A message of `from` at `minute` minutes past a fixed moment.
fn message(i: usize, from: &str, subject: &str, minute: i64) -> Vec<u8> {
    let date = chrono::DateTime::from_timestamp(1_795_000_000 + minute * 60, 0)
        .expect("a date")
        .to_rfc2822();
    format!(
        "From: {from}\r\nTo: support@desk.test\r\nSubject: {subject}\r\nMessage-ID: <list{i}@c>\r\nDate: {date}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody {i}\r\n"
    )
    .into_bytes()
}

/// A desk with MESSAGES imported tickets: 13 requesters, every fifth about
/// an invoice, dates out of number order.
fn desk() -> TestDesk {
    let t = TestDesk::new();
    let mut mbox = Vec::new();
    for i in 0..MESSAGES {
        let subject = if i % 5 == 0 {
            format!("Invoice {i} wrong")
        } else {
            format!("Case {i}")
        };
        mbox.extend_from_slice(b"From x@customer.test Sun Nov 22 10:00:00 2026\n");
        mbox.extend_from_slice(&message(
            i,
            &format!("customer{}@customer.test", i % 13),
            &subject,
            ((i * 37) % MESSAGES) as i64,
        ));
        mbox.extend_from_slice(b"\n");
    }
    let path = t.dir.path().join("list.mbox");
    std::fs::write(&path, mbox).expect("mbox");
    let o = t.run(&["import", "mbox", path.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t
}

fn run(t: &TestDesk, args: &[&str]) -> (String, String) {
    let o = t.run(args);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "{args:?}: {err}");
    (out, err)
}

/// `--all --json`: one ticket per line.
fn lines(t: &TestDesk, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["tickets", "list", "--all", "--json"];
    all.extend_from_slice(args);
    run(t, &all)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn numbers(v: &[Value]) -> Vec<u64> {
    v.iter()
        .map(|t| t["number"].as_u64().expect("number"))
        .collect()
}

fn next_cursor(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("next: "))
        .map(str::to_string)
}

/// What the listing commands print, every one of them.
fn answers(t: &TestDesk) -> Vec<(String, String)> {
    [
        &["tickets", "list"][..],
        &["tickets", "list", "--json"],
        &["tickets", "list", "--limit", "7", "--json"],
        &["tickets", "list", "--all", "--json"],
        &[
            "tickets",
            "list",
            "--all",
            "--requester",
            "CUSTOMER3@customer.test",
        ],
        &["tickets", "list", "--all", "--search", "invoice", "--json"],
        &["tickets", "list", "--status", "pending", "--json"],
        &["tickets", "list", "--queue", "general", "--limit", "60"],
        &[
            "tickets",
            "list",
            "--since",
            "2026-11-18T12:00:00Z",
            "--all",
        ],
    ]
    .iter()
    .map(|args| run(t, args))
    .collect()
}

#[test]
fn tickets_list_pages_by_last_update_filters_and_answers_the_same_with_the_daemon() {
    let t = desk();
    let o = t.run(&["tickets", "set", "ACME-9", "--status", "pending"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let all = lines(&t, &[]);
    assert_eq!(all.len(), MESSAGES, "one ticket per message");
    let updated: Vec<&str> = all.iter().map(|t| t["updated"].as_str().unwrap()).collect();
    assert!(
        updated.windows(2).all(|w| w[0] >= w[1]),
        "newest update first: {updated:?}"
    );
    assert_eq!(numbers(&all)[0], 9, "the ticket just changed is the newest");

    // The newest 50 by default, and where to go on.
    let (text, err) = run(&t, &["tickets", "list"]);
    assert_eq!(text.lines().count(), 51, "a header and 50 tickets: {text}");
    assert!(
        text.lines().nth(1).unwrap().starts_with("ACME-9 "),
        "{text}"
    );
    assert!(next_cursor(&err).is_some(), "{err}");
    let (json, _) = run(&t, &["tickets", "list", "--json"]);
    let page: Vec<Value> = serde_json::from_str(&json).expect("an array");
    assert_eq!(numbers(&page), numbers(&all)[..50]);

    // A script pages with the cursor and reads every ticket once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["tickets", "list", "--limit", "17", "--json"];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let (out, err) = run(&t, &args);
        let page: Vec<Value> = serde_json::from_str(&out).expect("an array");
        seen.extend(numbers(&page));
        after = next_cursor(&err);
        if after.is_none() {
            break;
        }
    }
    assert_eq!(seen, numbers(&all));

    // Filters answer what a full scan answers.
    let of = |keep: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        numbers(&all.iter().filter(|t| keep(t)).cloned().collect::<Vec<_>>())
    };
    assert_eq!(
        numbers(&lines(&t, &["--requester", "Customer3@CUSTOMER.test"])),
        of(&|t| t["requester"]["email"] == "customer3@customer.test")
    );
    let invoices = numbers(&lines(&t, &["--search", "INVOICE"]));
    assert_eq!(invoices.len(), MESSAGES / 5);
    assert_eq!(
        invoices,
        of(&|t| t["subject"].as_str().unwrap().starts_with("Invoice"))
    );
    assert_eq!(numbers(&lines(&t, &["--status", "pending"])), vec![9]);
    let since = "2026-11-18T12:00:00Z";
    assert_eq!(
        numbers(&lines(&t, &["--since", since])),
        of(
            &|t| chrono::DateTime::parse_from_rfc3339(t["updated"].as_str().unwrap()).unwrap()
                >= chrono::DateTime::parse_from_rfc3339(since).unwrap()
        )
    );
    assert!(run(&t, &["tickets", "list", "--search", "nothing like it"])
        .0
        .contains("no tickets"));
    let bad = t.run(&["tickets", "list", "--after", "yesterday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a cursor"));

    // The daemon answers the same.
    let alone = answers(&t);
    let _daemon = t.serve();
    assert_eq!(answers(&t), alone);
    assert_eq!(lines(&t, &[]), all);
}

/// The indexes are written in the ticket's transaction: a daemon killed
/// -9 in the middle of intake leaves them saying what the tickets say
/// (`check --store` compares each ticket's keys and its report summary).
#[test]
fn the_ticket_indexes_survive_kill_9_during_intake() {
    let t = TestDesk::new();
    let inbox = t.inbox();
    for d in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(inbox.join(d)).expect("maildir");
    }
    let n = 400;
    for i in 0..n {
        // Every fourth answers an earlier one: tickets change as well as
        // appear.
        let mut raw = message(
            i,
            &format!("c{}@customer.test", i % 17),
            &format!("Case {i}"),
            i as i64,
        );
        if i % 4 == 3 {
            let head = format!("In-Reply-To: <list{}@c>\r\n", i - 2);
            raw.splice(0..0, head.into_bytes());
        }
        deliver(&inbox, &format!("{i}.mail"), &raw);
    }
    let mut daemon = t.serve();
    let taken = || {
        n - std::fs::read_dir(inbox.join("new"))
            .map(|d| d.count())
            .unwrap_or(n)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while taken() < 60 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    daemon.child.kill().expect("kill -9");
    daemon.child.wait().expect("reaped");
    let taken_at_kill = taken();
    assert!(taken_at_kill > 0, "intake never started");

    // What is stored is listed, and only that; the check agrees.
    wait_until(20, "the store to open", || {
        t.run(&["check", "--store"]).status.success()
    });
    let listed = lines(&t, &[]);
    let store = postdesk::store::Store::open_config(&t.config()).expect("store opens");
    let mut scanned: Vec<postdesk::ticket::Ticket> =
        store.tickets().map(|t| t.expect("a ticket")).collect();
    drop(store);
    // The index orders by the millisecond, then the number.
    scanned.sort_by_key(|t| std::cmp::Reverse((t.updated.timestamp_millis(), t.number)));
    assert!(!scanned.is_empty());
    assert_eq!(
        numbers(&listed),
        scanned.iter().map(|t| t.number).collect::<Vec<_>>()
    );
    let o = t.run(&["check", "--store", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["store"]["problems"], serde_json::json!([]), "{v}");
    assert!(v["store"]["read"]["tickets"].as_u64().unwrap() > 0, "{v}");
    if common::engine() == "sled" {
        // Sled's own listing index, read entry by entry (PostgreSQL's
        // are SQL indexes it keeps itself).
        assert!(v["store"]["read"]["ticket index"].as_u64().unwrap() > 0);
    }

    // Intake goes on where it stopped; the indexes still agree.
    let _daemon = t.serve();
    wait_until(60, "the rest of the mail", || taken() == n);
    drop(_daemon);
    wait_until(20, "the store to close", || {
        t.run(&["check", "--store"]).status.success()
    });
    let o = t.run(&["check", "--store", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["store"]["problems"], serde_json::json!([]), "{v}");
    assert_eq!(lines(&t, &[]).len(), n - n / 4);
}
