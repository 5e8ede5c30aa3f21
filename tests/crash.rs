//! Kill -9 in the middle of a 5,000-message import, more than once, then run
//! it to the end: every message is stored exactly once.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{mail, TestDesk};
use postdesk::store::Store;

const COUNT: usize = 5000;

fn corpus(path: &std::path::Path) {
    let mut data = Vec::new();
    for i in 0..COUNT {
        data.extend_from_slice(b"From x@customer.test Sun Nov 22 10:00:00 2026\n");
        // Every third message answers an earlier one, so threads span the
        // kill points.
        let extra = if i % 3 == 2 {
            format!(
                "In-Reply-To: <crash{}@c>\r\nReferences: <crash{}@c>\r\n",
                i / 2,
                i / 2
            )
        } else {
            String::new()
        };
        let body = format!(
            "message {i}\n{}",
            "lorem ipsum dolor sit amet ".repeat(20 + i % 40)
        );
        data.extend_from_slice(&mail(
            &format!("customer{}@customer.test", i % 300),
            &format!("Case {i}"),
            &format!("crash{i}@c"),
            &extra,
            &body,
        ));
        data.extend_from_slice(b"\n");
    }
    std::fs::write(path, data).unwrap();
}

/// How far an import has come: the sled store's bytes, or on PostgreSQL
/// the messages committed.
fn progress(t: &TestDesk, store_dir: &std::path::Path) -> u64 {
    match &t.database {
        None => store_bytes(store_dir),
        Some(db) => {
            let out = common::psql(&common::test_pg(), db, "SELECT count(*) FROM messages");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(0)
        }
    }
}

/// How much further each round goes before its kill.
fn step() -> u64 {
    match common::engine() {
        "postgres" => (COUNT / 8) as u64,
        _ => 400_000,
    }
}

fn store_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => store_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn kill_9_during_import_loses_and_doubles_nothing() {
    let t = TestDesk::new();
    let mbox = t.dir.path().join("big.mbox");
    corpus(&mbox);
    let store_dir = t.state_dir().join("store");

    let mut kills = 0;
    for round in 0..3u64 {
        let mut child = t
            .cmd()
            .args(["import", "mbox", mbox.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a different depth each round: once the store has grown
        // by a further slice since the last round.
        let target = progress(&t, &store_dir) + step() * (round + 1);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if progress(&t, &store_dir) >= target || Instant::now() > deadline {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait().unwrap();
    }
    assert!(
        kills >= 1,
        "the import finished before any kill; nothing was tested"
    );

    let done = t.run(&["import", "mbox", mbox.to_str().unwrap(), "--json"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(summary["messages"], COUNT);
    assert!(
        summary["duplicates"].as_u64().unwrap() > 0,
        "earlier rounds stored something"
    );

    let store = Store::open_config(&t.config()).unwrap();
    let mut ids = HashSet::new();
    let mut total = 0;
    let mut tickets = 0;
    for ticket in store.tickets() {
        let ticket = ticket.unwrap();
        tickets += 1;
        let messages = store.messages(ticket.number).unwrap();
        assert_eq!(
            messages.len() as u32,
            ticket.message_count,
            "{}",
            ticket.reference
        );
        for (m, raw) in messages {
            total += 1;
            assert!(
                ids.insert(m.message_id.clone()),
                "{} stored twice",
                m.message_id
            );
            assert!(!raw.is_empty(), "{} has its raw bytes", m.message_id);
        }
    }
    assert_eq!(total, COUNT, "every message stored exactly once");
    assert_eq!(ids.len(), COUNT);
    // Replies joined their parents: fewer tickets than messages.
    assert!(tickets < COUNT, "{tickets} tickets");
    eprintln!("{kills} kills, {tickets} tickets, {total} messages");
}
